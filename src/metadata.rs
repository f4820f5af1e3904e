//! Core metadata (`METADATA`, `PKG-INFO`): parsed the way twine 7 and PyPI read it.
//!
//! The parser follows Python's `email` module in its `compat32` policy, which is what
//! `packaging.metadata.parse_email` (and so twine and warehouse) use: a header's value is its
//! first line with leading blanks removed, then every continuation line verbatim. Matching that
//! byte for byte is what makes our form equal to twine's.

use serde::Serialize;

use crate::filename::{is_valid_name, normalize_name, DistFilename};
use crate::version;

/// The metadata versions that exist (2.0 never did).
pub const METADATA_VERSIONS: [&str; 9] = ["1.0", "1.1", "1.2", "2.1", "2.2", "2.3", "2.4", "2.5", "2.6"];

/// How a field is carried in the upload form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// One value.
    Single,
    /// One form part per value.
    Multi,
    /// One comma-separated value, split and re-joined with `", "`.
    Keywords,
    /// `Label, URL` pairs with unique labels.
    ProjectUrl,
}

/// One known metadata field.
#[derive(Debug, Clone, Copy)]
pub struct FieldSpec {
    /// Lowercase header name (`home-page`).
    pub header: &'static str,
    /// The upload form's field name; `None` for fields twine does not send.
    pub form: Option<&'static str>,
    /// How values are carried.
    pub shape: Shape,
    /// The metadata version that introduced the field.
    pub added: &'static str,
}

const fn f(header: &'static str, form: Option<&'static str>, shape: Shape, added: &'static str) -> FieldSpec {
    FieldSpec { header, form, shape, added }
}

use Shape::*;

/// Every field of core metadata 1.0 to 2.6, with the form name twine 7 sends it under.
pub const FIELDS: &[FieldSpec] = &[
    f("metadata-version", Some("metadata_version"), Single, "1.0"),
    f("name", Some("name"), Single, "1.0"),
    f("version", Some("version"), Single, "1.0"),
    f("platform", Some("platform"), Multi, "1.0"),
    f("supported-platform", Some("supported_platform"), Multi, "1.1"),
    f("summary", Some("summary"), Single, "1.0"),
    f("description", Some("description"), Single, "1.0"),
    f("description-content-type", Some("description_content_type"), Single, "2.1"),
    f("keywords", Some("keywords"), Keywords, "1.0"),
    f("home-page", Some("home_page"), Single, "1.0"),
    f("download-url", Some("download_url"), Single, "1.1"),
    f("author", Some("author"), Single, "1.0"),
    f("author-email", Some("author_email"), Single, "1.0"),
    f("maintainer", Some("maintainer"), Single, "1.2"),
    f("maintainer-email", Some("maintainer_email"), Single, "1.2"),
    f("license", Some("license"), Single, "1.0"),
    f("license-expression", Some("license_expression"), Single, "2.4"),
    f("license-file", Some("license_file"), Multi, "2.4"),
    f("classifier", Some("classifiers"), Multi, "1.1"),
    f("requires-dist", Some("requires_dist"), Multi, "1.2"),
    f("requires-python", Some("requires_python"), Single, "1.2"),
    f("requires-external", Some("requires_external"), Multi, "1.2"),
    f("project-url", Some("project_urls"), ProjectUrl, "1.2"),
    f("provides-extra", Some("provides_extra"), Multi, "2.1"),
    f("provides-dist", Some("provides_dist"), Multi, "1.2"),
    f("obsoletes-dist", Some("obsoletes_dist"), Multi, "1.2"),
    f("dynamic", Some("dynamic"), Multi, "2.2"),
    // twine 7 does not send the PEP 794 fields; neither do we, so that forms stay equal.
    f("import-name", None, Multi, "2.5"),
    f("import-namespace", None, Multi, "2.5"),
    f("requires", Some("requires"), Multi, "1.1"),
    f("provides", Some("provides"), Multi, "1.1"),
    f("obsoletes", Some("obsoletes"), Multi, "1.1"),
];

/// Why metadata cannot be used. Messages name the field and what to change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetadataError {
    /// Bytes that are not UTF-8.
    #[error("metadata is not valid UTF-8 (line {line}); core metadata must be UTF-8: rebuild the distribution with a current build backend")]
    NotUtf8 {
        /// 1-based line number of the first invalid byte.
        line: usize,
    },
    /// A control character inside a value.
    #[error("field {field:?} contains a control character (U+{code:04X}); remove it from the project's metadata and rebuild")]
    ControlCharacter {
        /// Header name, or `description` for the body.
        field: String,
        /// The code point.
        code: u32,
    },
    /// A header no metadata version defines.
    #[error("unrecognized or malformed field {0:?}; fix the build configuration that wrote it and rebuild")]
    UnknownField(String),
    /// A single-use field given more than once.
    #[error("field {0:?} appears more than once but may be given only once")]
    Repeated(String),
    /// The description given both as a header and as the body.
    #[error("the description is given twice, as a `Description` header and as the message body; keep one")]
    DescriptionTwice,
    /// Two `Project-URL`s with one label.
    #[error("`Project-URL` label {0:?} is used twice; labels must be unique")]
    DuplicateUrlLabel(String),
    /// A required field is absent or empty.
    #[error("required field {0:?} is missing")]
    Missing(&'static str),
    /// `Metadata-Version` is not one that exists.
    #[error("{0:?} is not a valid metadata version (expected one of 1.0, 1.1, 1.2, 2.1 to 2.6)")]
    BadMetadataVersion(String),
    /// A field used in a metadata version older than the field.
    #[error("{field} introduced in metadata version {added}, not {declared}; raise Metadata-Version or upgrade the build backend")]
    FieldTooNew {
        /// Header name, lowercase, as twine words it.
        field: &'static str,
        /// The version that introduced it.
        added: &'static str,
        /// The version the file declares.
        declared: String,
    },
    /// `Name` is not a valid project name.
    #[error("{0:?} is invalid for 'name': names use letters, digits, `.`, `_` and `-`")]
    BadName(String),
    /// A value packaging (and so twine and PyPI) refuses.
    #[error("{value:?} is invalid for {field:?}: {why}")]
    Invalid {
        /// Header name.
        field: &'static str,
        /// The value.
        value: String,
        /// The rule it breaks.
        why: String,
    },
    /// `Version` is not PEP 440.
    #[error("{0:?} is invalid for 'version': it is not a PEP 440 version")]
    BadVersion(String),
    /// The metadata's name differs from the filename's.
    #[error("the file is named for project {file:?} but its metadata says {metadata:?} (compared as {file_norm:?} and {meta_norm:?})")]
    NameMismatch {
        /// Name in the filename.
        file: String,
        /// Name in the metadata.
        metadata: String,
        /// Normalized filename name.
        file_norm: String,
        /// Normalized metadata name.
        meta_norm: String,
    },
    /// The metadata's version differs from the filename's.
    #[error("the file is named for version {file:?} but its metadata says {metadata:?}")]
    VersionMismatch {
        /// Version in the filename.
        file: String,
        /// Version in the metadata.
        metadata: String,
    },
}

/// Parsed core metadata: every header in file order, plus the description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata {
    /// `(index into FIELDS, value)` in file order, values as Python's `email` reads them.
    entries: Vec<(usize, String)>,
    /// The body after the headers, verbatim, when not empty.
    body: Option<String>,
}

impl Metadata {
    /// Parses and validates METADATA/PKG-INFO bytes as twine 7 would.
    pub fn parse(bytes: &[u8]) -> Result<Self, MetadataError> {
        let text =
            std::str::from_utf8(bytes).map_err(|e| MetadataError::NotUtf8 { line: 1 + bytes[..e.valid_up_to()].iter().filter(|&&b| b == b'\n').count() })?;
        let (headers, body) = split_headers(text);
        let mut entries = Vec::new();
        for (name, value) in headers {
            let lower = name.to_ascii_lowercase();
            let Some(idx) = FIELDS.iter().position(|s| s.header == lower) else {
                return Err(MetadataError::UnknownField(lower));
            };
            check_controls(&lower, &value)?;
            entries.push((idx, value));
        }
        let body = (!body.is_empty()).then(|| body.to_string());
        if let Some(b) = &body {
            check_controls("description", b)?;
        }
        let md = Metadata { entries, body };
        md.validate()?;
        Ok(md)
    }

    fn validate(&self) -> Result<(), MetadataError> {
        for (spec_idx, spec) in FIELDS.iter().enumerate() {
            let count = self.entries.iter().filter(|(i, _)| *i == spec_idx).count();
            if count > 1 && matches!(spec.shape, Single | Keywords) {
                return Err(MetadataError::Repeated(spec.header.into()));
            }
        }
        if self.body.is_some() && self.get("description").is_some() {
            return Err(MetadataError::DescriptionTwice);
        }
        // A set, not a list: 4 MiB of `Project-URL` lines took 101 s with a linear search.
        let mut labels = std::collections::HashSet::new();
        for url in self.get_all("project-url") {
            let (label, _) = split_project_url(url);
            if !labels.insert(label) {
                return Err(MetadataError::DuplicateUrlLabel(label.into()));
            }
        }
        let declared = self.get("metadata-version").ok_or(MetadataError::Missing("metadata-version"))?;
        let Some(age) = METADATA_VERSIONS.iter().position(|v| *v == declared) else {
            return Err(MetadataError::BadMetadataVersion(declared.into()));
        };
        for (i, _) in &self.entries {
            let spec = &FIELDS[*i];
            // twine drops License-File below 2.4 (setuptools wrote it into 2.1 files).
            if spec.header == "license-file" && age < 6 {
                continue;
            }
            let added = METADATA_VERSIONS.iter().position(|v| *v == spec.added).unwrap_or(0);
            if added > age {
                return Err(MetadataError::FieldTooNew { field: spec.header, added: spec.added, declared: declared.into() });
            }
        }
        if let Some(summary) = self.get("summary") {
            if summary.contains(['\n', '\r', '\u{0b}', '\u{0c}', '\u{1c}', '\u{1d}', '\u{1e}', '\u{85}', '\u{2028}', '\u{2029}']) {
                return Err(MetadataError::Invalid { field: "summary", value: summary.into(), why: "it must be a single line".into() });
            }
        }
        if let Some(ct) = self.get("description-content-type") {
            check_content_type(ct)?;
        }
        for d in self.get_all("dynamic") {
            let lower = d.to_ascii_lowercase();
            if matches!(lower.as_str(), "name" | "version" | "metadata-version") {
                return Err(MetadataError::Invalid { field: "dynamic", value: d.into(), why: "Name, Version and Metadata-Version cannot be dynamic".into() });
            }
            if !FIELDS.iter().any(|f| f.header == lower) {
                return Err(MetadataError::Invalid { field: "dynamic", value: d.into(), why: "it is not a metadata field".into() });
            }
        }
        for extra in self.get_all("provides-extra") {
            if !is_valid_name(extra) {
                return Err(MetadataError::Invalid {
                    field: "provides-extra",
                    value: extra.into(),
                    why: "extra names use letters, digits, `.`, `_` and `-`".into(),
                });
            }
        }
        let name = self.get("name").filter(|n| !n.is_empty()).ok_or(MetadataError::Missing("name"))?;
        if !is_valid_name(name) {
            return Err(MetadataError::BadName(name.into()));
        }
        let version = self.get("version").filter(|v| !v.is_empty()).ok_or(MetadataError::Missing("version"))?;
        if version::parse(version).is_none() {
            return Err(MetadataError::BadVersion(version.into()));
        }
        Ok(())
    }

    /// The first value of a header (lowercase name), as the file spells it.
    pub fn get(&self, header: &str) -> Option<&str> {
        self.entries.iter().find(|(i, _)| FIELDS[*i].header == header).map(|(_, v)| v.as_str())
    }

    /// Every value of a header (lowercase name), in file order.
    pub fn get_all(&self, header: &str) -> Vec<&str> {
        self.entries.iter().filter(|(i, _)| FIELDS[*i].header == header).map(|(_, v)| v.as_str()).collect()
    }

    /// `Metadata-Version` as declared.
    pub fn metadata_version(&self) -> &str {
        self.get("metadata-version").unwrap_or_default()
    }

    /// `Name` as written.
    pub fn name(&self) -> &str {
        self.get("name").unwrap_or_default()
    }

    /// `Version` as written.
    pub fn version(&self) -> &str {
        self.get("version").unwrap_or_default()
    }

    /// The description exactly as twine sends it: the body, or the raw `Description` header.
    pub fn raw_description(&self) -> Option<&str> {
        self.body.as_deref().or_else(|| self.get("description"))
    }

    /// The description for reading: old-style header continuation indentation removed.
    pub fn description(&self) -> Option<String> {
        if let Some(body) = &self.body {
            return Some(body.clone());
        }
        let raw = self.get("description")?;
        let mut lines = raw.split('\n').map(|l| l.trim_end_matches('\r'));
        let mut out = vec![lines.next().unwrap_or_default().to_string()];
        for line in lines {
            // setuptools wrote `\n` as `\n       |` (recent) or `\n        ` (old).
            let stripped = line.strip_prefix("       |").or_else(|| line.strip_prefix("        ")).unwrap_or(line.trim_start_matches([' ', '\t']));
            out.push(stripped.to_string());
        }
        Some(out.join("\n"))
    }

    /// Field entries in file order: `(spec, value)`.
    pub fn entries(&self) -> impl Iterator<Item = (&'static FieldSpec, &str)> {
        self.entries.iter().map(|(i, v)| (&FIELDS[*i], v.as_str()))
    }

    /// Checks the metadata's name and version against the filename's, after normalization.
    pub fn check_filename(&self, file: &DistFilename) -> Result<(), MetadataError> {
        let meta_norm = normalize_name(self.name());
        if meta_norm != file.normalized_name {
            return Err(MetadataError::NameMismatch {
                file: file.name.clone(),
                metadata: self.name().into(),
                file_norm: file.normalized_name.clone(),
                meta_norm,
            });
        }
        if version::normalize(self.version()) != version::normalize(&file.version) {
            return Err(MetadataError::VersionMismatch { file: file.version.clone(), metadata: self.version().into() });
        }
        Ok(())
    }

    /// A plain summary for display and for JS.
    pub fn summary(&self) -> MetadataSummary {
        let one = |h: &str| self.get(h).map(str::to_string);
        let all = |h: &str| self.get_all(h).into_iter().map(str::to_string).collect::<Vec<_>>();
        MetadataSummary {
            metadata_version: self.metadata_version().into(),
            name: self.name().into(),
            version: self.version().into(),
            summary: one("summary"),
            description: self.description(),
            description_content_type: one("description-content-type"),
            requires_python: one("requires-python"),
            requires_dist: all("requires-dist"),
            license: one("license"),
            license_expression: one("license-expression"),
            author: one("author"),
            author_email: one("author-email"),
            classifiers: all("classifier"),
            project_urls: self
                .get_all("project-url")
                .into_iter()
                .map(|u| {
                    let (l, u) = split_project_url(u);
                    (l.to_string(), u.to_string())
                })
                .collect(),
        }
    }
}

/// The metadata people look at, as a plain object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MetadataSummary {
    /// `Metadata-Version`.
    pub metadata_version: String,
    /// `Name` as written.
    pub name: String,
    /// `Version` as written.
    pub version: String,
    /// `Summary`.
    pub summary: Option<String>,
    /// The description, de-indented for reading.
    pub description: Option<String>,
    /// `Description-Content-Type`.
    pub description_content_type: Option<String>,
    /// `Requires-Python`.
    pub requires_python: Option<String>,
    /// `Requires-Dist` values.
    pub requires_dist: Vec<String>,
    /// `License`.
    pub license: Option<String>,
    /// `License-Expression`.
    pub license_expression: Option<String>,
    /// `Author`.
    pub author: Option<String>,
    /// `Author-email`.
    pub author_email: Option<String>,
    /// `Classifier` values.
    pub classifiers: Vec<String>,
    /// `Project-URL` as `(label, url)`.
    pub project_urls: Vec<(String, String)>,
}

/// Checks `Description-Content-Type` as packaging does: a known type, UTF-8, a known variant.
fn check_content_type(value: &str) -> Result<(), MetadataError> {
    let invalid = |why: String| MetadataError::Invalid { field: "description-content-type", value: value.into(), why };
    let mut parts = value.split(';');
    let ctype = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
    if !matches!(ctype.as_str(), "text/plain" | "text/x-rst" | "text/markdown") {
        return Err(invalid("it must be text/plain, text/x-rst or text/markdown".into()));
    }
    for param in parts {
        let (k, v) = param.split_once('=').unwrap_or((param, ""));
        let (k, v) = (k.trim().to_ascii_lowercase(), v.trim().trim_matches('"'));
        if k == "charset" && !v.eq_ignore_ascii_case("utf-8") {
            return Err(invalid(format!("the only charset allowed is UTF-8, not {v:?}")));
        }
        if k == "variant" && ctype == "text/markdown" && !matches!(v, "GFM" | "CommonMark") {
            return Err(invalid(format!("Markdown variants are GFM and CommonMark, not {v:?}")));
        }
    }
    Ok(())
}

/// Splits `Label, URL` as packaging does: at the first comma, both sides trimmed.
pub fn split_project_url(value: &str) -> (&str, &str) {
    match value.split_once(',') {
        Some((l, u)) => (l.trim(), u.trim()),
        None => (value.trim(), ""),
    }
}

fn check_controls(field: &str, value: &str) -> Result<(), MetadataError> {
    match value.chars().find(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r')) {
        Some(c) => Err(MetadataError::ControlCharacter { field: field.into(), code: c as u32 }),
        None => Ok(()),
    }
}

/// Lines as Python's feedparser cracks them: on `\r\n`, `\r` or `\n`; `(content, with terminator)`.
fn crack_lines(text: &str) -> Vec<(&str, &str)> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let (mut start, mut i) = (0, 0);
    while i < b.len() {
        let term = match (b[i], b.get(i + 1)) {
            (b'\r', Some(b'\n')) => 2,
            (b'\r' | b'\n', _) => 1,
            _ => 0,
        };
        if term > 0 {
            out.push((&text[start..i], &text[start..i + term]));
            i += term;
            start = i;
        } else {
            i += 1;
        }
    }
    if start < b.len() {
        out.push((&text[start..], &text[start..]));
    }
    out
}

/// Splits RFC 822 text into `(name, value)` headers and the body, as Python's feedparser does.
///
/// Folded values keep their line terminators as they are (`\r\n` stays `\r\n`): that is what
/// `compat32` hands to twine, and so what it sends. Like the feedparser, it ignores `From `
/// envelope lines, lines with an empty header name, and continuation lines before any header.
fn split_headers(text: &str) -> (Vec<(&str, String)>, &str) {
    let mut headers: Vec<(&str, String)> = Vec::new();
    let mut offset = 0;
    for (content, line) in crack_lines(text) {
        if content.is_empty() {
            return (finish(headers), &text[offset + line.len()..]);
        }
        offset += line.len();
        if content.starts_with("From ") {
            continue;
        }
        if content.starts_with([' ', '\t']) {
            if let Some((_, value)) = headers.last_mut() {
                value.push_str(line);
            }
            continue;
        }
        match header_name(content) {
            Some("") => {}
            Some(name) => {
                let value = line[name.len() + 1..].trim_start_matches([' ', '\t']);
                headers.push((name, value.to_string()));
            }
            // A line that is neither header nor blank starts the body, as in `email`.
            None => return (finish(headers), &text[offset - line.len()..]),
        }
    }
    (finish(headers), "")
}

fn finish(mut headers: Vec<(&str, String)>) -> Vec<(&str, String)> {
    for (_, v) in &mut headers {
        let keep = v.trim_end_matches(['\r', '\n']).len();
        v.truncate(keep);
    }
    headers
}

fn header_name(line: &str) -> Option<&str> {
    let colon = line.find(':')?;
    let name = &line[..colon];
    name.bytes().all(|b| (0x21..=0x7e).contains(&b) && b != b':').then_some(name)
}
