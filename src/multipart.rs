//! The `multipart/form-data` body as a plan: head bytes, the file by length, tail bytes.
//!
//! The file is never copied here: shells send `Blob([head, file, tail])` or a fixed-length
//! stream, and the exact `Content-Length` is known before any file byte is read.

use sha2::{Digest, Sha256};

use crate::digest::{hex, DigestSet};
use crate::form::Form;

/// Why a body cannot be framed safely.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MultipartError {
    /// A name that would break the part headers (and so could inject a header).
    #[error("the {what} {value:?} contains {found}, which would break the multipart framing; rename it")]
    UnsafeName {
        /// `field name` or `file name`.
        what: &'static str,
        /// The offending text.
        value: String,
        /// What was found.
        found: &'static str,
    },
}

/// The digest fields that may follow the file part, hashed while the file is sent.
pub const TRAILING_FIELDS: [&str; 3] = ["sha256_digest", "blake2_256_digest", "md5_digest"];

/// A request body ready to send: `head`, then the file's bytes, then `tail`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MultipartPlan {
    /// The boundary (at least 32 characters, in no text value).
    pub boundary: String,
    /// Every text part and the file part's headers.
    pub head: Vec<u8>,
    /// Length of the file part's content.
    pub file_len: u64,
    /// The closing delimiter, preceded by the trailing digest fields when there are any (with
    /// placeholder values of the right length: see [`MultipartPlan::tail_for`]).
    pub tail: Vec<u8>,
    /// The digest fields in the tail, in order (empty when the digests come first).
    pub trailing: Vec<String>,
}

impl MultipartPlan {
    /// Plans the body for `form` and a file `filename` of `file_len` bytes.
    ///
    /// `entropy` comes from the caller (the core has no random source); the boundary is
    /// derived from it and re-derived until it occurs in no value.
    pub fn new(form: &Form, filename: &str, file_len: u64, entropy: &[u8]) -> Result<Self, MultipartError> {
        Self::with_trailing(form, filename, file_len, entropy, &[])
    }

    /// Like [`MultipartPlan::new`], but the form's fields named in `trailing` (digest fields)
    /// go after the file part, so a sender can hash the file while sending it: their values
    /// are hex of fixed length, so `Content-Length` is still known before the first byte.
    pub fn with_trailing(form: &Form, filename: &str, file_len: u64, entropy: &[u8], trailing: &[&str]) -> Result<Self, MultipartError> {
        for f in &form.fields {
            check_name("field name", &f.name)?;
        }
        check_name("file name", filename)?;
        let boundary = (0u32..)
            .map(|i| {
                let mut h = Sha256::new();
                h.update(entropy);
                h.update(i.to_le_bytes());
                format!("pypublish-{}", &hex(&h.finalize())[..40])
            })
            .find(|b| !form.fields.iter().any(|f| f.value.contains(b.as_str())) && !filename.contains(b.as_str()))
            .unwrap_or_default();
        let part = |out: &mut Vec<u8>, name: &str, value: &str| {
            out.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes());
            out.extend_from_slice(value.as_bytes());
            out.extend_from_slice(b"\r\n");
        };
        let (late, early): (Vec<_>, Vec<_>) = form.fields.iter().partition(|f| trailing.contains(&f.name.as_str()));
        let mut head = Vec::new();
        for f in early {
            part(&mut head, &f.name, &f.value);
        }
        head.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"content\"; filename=\"{filename}\"\r\n\
                 Content-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        let mut tail = b"\r\n".to_vec();
        for f in &late {
            part(&mut tail, &f.name, &f.value);
        }
        tail.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        let trailing = late.iter().map(|f| f.name.clone()).collect();
        Ok(MultipartPlan { boundary, head, file_len, tail, trailing })
    }

    /// The tail with the trailing digest fields set to `digests` (same length as planned).
    pub fn tail_for(&self, digests: &DigestSet) -> Vec<u8> {
        let mut tail = b"\r\n".to_vec();
        for name in &self.trailing {
            let value = match name.as_str() {
                "sha256_digest" => &digests.sha256,
                "blake2_256_digest" => &digests.blake2_256,
                _ => &digests.md5,
            };
            tail.extend_from_slice(format!("--{}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n", self.boundary).as_bytes());
        }
        tail.extend_from_slice(format!("--{}--\r\n", self.boundary).as_bytes());
        debug_assert_eq!(tail.len(), self.tail.len());
        tail
    }

    /// The exact `Content-Length` of the whole body.
    pub fn content_length(&self) -> u64 {
        self.head.len() as u64 + self.file_len + self.tail.len() as u64
    }

    /// The `Content-Type` header value.
    pub fn content_type(&self) -> String {
        format!("multipart/form-data; boundary={}", self.boundary)
    }

    /// The whole body for a file held in memory (tests and small files).
    pub fn to_bytes(&self, file: &[u8]) -> Vec<u8> {
        let mut body = Vec::with_capacity(self.content_length() as usize);
        body.extend_from_slice(&self.head);
        body.extend_from_slice(file);
        body.extend_from_slice(&self.tail);
        body
    }
}

fn check_name(what: &'static str, value: &str) -> Result<(), MultipartError> {
    let found = value.chars().find_map(|c| match c {
        '"' => Some("a double quote"),
        '\r' | '\n' => Some("a line break"),
        '\0' => Some("a NUL byte"),
        c if c.is_control() => Some("a control character"),
        _ => None,
    });
    match found {
        Some(found) => Err(MultipartError::UnsafeName { what, value: value.into(), found }),
        None => Ok(()),
    }
}
