//! PyPI's own checks, run before the first byte is sent: each is a pure function over metadata
//! or strings that returns [`Finding`]s, so the CLI, the page and the engine's preflight can
//! show the same problems (with line numbers) and stop before an upload PyPI would refuse.

pub mod classifiers;
pub mod macaroon;
pub mod requirements;
pub mod rst;

use serde::Serialize;

use crate::metadata::Metadata;

/// One problem found before upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    /// Stable machine-readable code (`rst.unknown-target`, `classifier.unknown`, `token.expired`…).
    pub code: &'static str,
    /// The metadata field it is about (lowercase header name, `description`), or `token`.
    pub field: String,
    /// 1-based line inside the field's value, where that means something (the description).
    pub line: Option<u32>,
    /// What is wrong and what to do about it.
    pub message: String,
    /// PyPI would refuse the upload: the batch must stop before anything is sent.
    pub blocking: bool,
}

impl Finding {
    /// One line for people: the field, the line when there is one, and the message.
    pub fn describe(&self) -> String {
        match self.line {
            Some(l) => format!("{} (line {l}): {}", self.field, self.message),
            None => format!("{}: {}", self.field, self.message),
        }
    }

    pub(crate) fn new(code: &'static str, field: &str, line: Option<u32>, message: String, blocking: bool) -> Self {
        Finding { code, field: field.to_string(), line, message, blocking }
    }
}

/// Every metadata check PyPI runs on upload: the description renders, known classifiers, a
/// valid `License-Expression`, and requirement/specifier syntax.
pub fn check_metadata(md: &Metadata) -> Vec<Finding> {
    let mut out = Vec::new();
    out.extend(check_description(md));
    out.extend(classifiers::check(&md.get_all("classifier")));
    if let Some(expr) = md.get("license-expression") {
        out.extend(requirements::check_license_expression(expr));
    }
    out.extend(requirements::check(md));
    out
}

/// Checks that the description renders the way PyPI renders it. RST is the default when
/// `Description-Content-Type` is absent; Markdown and plain text always render.
pub fn check_description(md: &Metadata) -> Vec<Finding> {
    // Warehouse renders only a non-empty description (a blank one still fails to render).
    let Some(text) = md.raw_description().filter(|t| !t.is_empty()) else {
        return Vec::new();
    };
    let ctype = md.get("description-content-type").unwrap_or("text/x-rst");
    let main = ctype.split(';').next().unwrap_or_default().trim();
    if !main.eq_ignore_ascii_case("text/x-rst") {
        return Vec::new();
    }
    rst::check(text)
}
