//! The upload form: the ordered `(name, value)` fields of the legacy upload API.
//!
//! Values are what twine 7 sends for the same file, plus two documented additions:
//! `md5_digest` (GitLab and Artifactory use it) and an empty `requires_python` when the metadata
//! has none (GitLab refuses the form without the field).

use serde::{Deserialize, Serialize};

use crate::digest::DigestSet;
use crate::filename::DistFilename;
use crate::metadata::{split_project_url, Metadata, Shape, METADATA_VERSIONS};

/// One text field of the form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Field {
    /// Form field name (`requires_dist`).
    pub name: String,
    /// Its value.
    pub value: String,
}

/// The text fields of one upload, in the order they are sent; the file part follows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Form {
    /// The fields.
    pub fields: Vec<Field>,
}

impl Form {
    /// Builds the form for `file` from its metadata and digests.
    pub fn new(file: &DistFilename, metadata: &Metadata, digests: &DigestSet) -> Self {
        let mut fields = Vec::new();
        let mut push = |name: &str, value: &str| fields.push(Field { name: name.into(), value: value.into() });
        push(":action", "file_upload");
        push("sha256_digest", &digests.sha256);
        push("blake2_256_digest", &digests.blake2_256);
        push("md5_digest", &digests.md5);
        push("protocol_version", "1");
        push("filetype", file.filetype());
        push("pyversion", file.pyversion());
        let age = METADATA_VERSIONS.iter().position(|v| *v == metadata.metadata_version()).unwrap_or(0);
        let mut saw_requires_python = false;
        let mut multi = Vec::new();
        for (spec, value) in metadata.entries() {
            let Some(form) = spec.form else { continue };
            match (spec.header, spec.shape) {
                // twine sends the safe name: runs of anything but [A-Za-z0-9.] become `-`.
                ("name", _) => push("name", &safe_name(value)),
                ("description", _) => {}
                ("license-file", _) if age < 6 => {}
                ("requires-python", _) => {
                    saw_requires_python = true;
                    push(form, value);
                }
                (_, Shape::Single) => push(form, value),
                (_, Shape::Keywords) => {
                    let words: Vec<&str> = value.split(',').map(str::trim).collect();
                    push(form, &words.join(", "));
                }
                (_, Shape::ProjectUrl) => {
                    let (label, url) = split_project_url(value);
                    multi.push((form, format!("{label}, {url}")));
                }
                (_, Shape::Multi) => multi.push((form, value.to_string())),
            }
        }
        if let Some(d) = metadata.raw_description() {
            push("description", d);
        }
        if !saw_requires_python {
            push("requires_python", "");
        }
        for (name, value) in multi {
            push(name, &value);
        }
        Form { fields }
    }

    /// Adds PEP 740 attestations (the contents of `<dist>.publish.attestation` files) as the
    /// `attestations` field: a JSON array of objects, as twine sends it.
    pub fn add_attestations(&mut self, attestations: &[String]) -> Result<(), String> {
        let mut list = Vec::new();
        for (i, text) in attestations.iter().enumerate() {
            let v: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("attestation {} is not JSON: {e}", i + 1))?;
            if !v.is_object() {
                return Err(format!("attestation {} is not a JSON object", i + 1));
            }
            list.push(v);
        }
        if !list.is_empty() {
            self.fields.push(Field { name: "attestations".into(), value: serde_json::Value::Array(list).to_string() });
        }
        Ok(())
    }

    /// The first value of field `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields.iter().find(|f| f.name == name).map(|f| f.value.as_str())
    }
}

/// twine's `_safe_name`: runs of characters other than `[A-Za-z0-9.]` become one `-`.
pub fn safe_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut in_run = false;
    for c in name.chars() {
        if c.is_ascii_alphanumeric() || c == '.' {
            out.push(c);
            in_run = false;
        } else if !in_run {
            out.push('-');
            in_run = true;
        }
    }
    out
}
