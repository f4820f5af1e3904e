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

#[cfg(test)]
mod tests {
    use super::*;

    fn md(text: &str) -> Metadata {
        Metadata::parse(text.as_bytes()).unwrap()
    }

    #[test]
    fn every_check_reports_with_its_own_code() {
        let m = md("Metadata-Version: 2.4\nName: demo\nVersion: 1.0\nLicense-Expression: MIT OR Nope\n\
                    Classifier: Private :: Do Not Upload\nRequires-Dist: requests >=> 2\nRequires-Python: >=3.8.*\n\
                    \nTitle\n=====\n\nSee `docs`_.\n");
        let codes: Vec<_> = check_metadata(&m).iter().map(|f| (f.code, f.field.clone(), f.line)).collect();
        assert_eq!(
            codes,
            [
                ("rst.unknown-target", "description".to_string(), Some(4)),
                ("classifier.private", "classifier".to_string(), None),
                ("license.expression", "license-expression".to_string(), None),
                ("requirement.syntax", "requires-dist".to_string(), None),
                ("requirement.python", "requires-python".to_string(), None),
            ]
        );
    }

    #[test]
    fn markdown_plain_and_empty_descriptions_are_not_checked_as_rst() {
        let broken = "Title\n===\n\n*unclosed\n";
        for ct in ["Description-Content-Type: text/markdown\n", "Description-Content-Type: text/plain\n"] {
            let m = md(&format!("Metadata-Version: 2.1\nName: x\nVersion: 1\n{ct}\n{broken}"));
            assert_eq!(check_description(&m), vec![], "{ct}");
        }
        let m = md(&format!("Metadata-Version: 2.1\nName: x\nVersion: 1\n\n{broken}"));
        assert_eq!(check_description(&m).iter().map(|f| (f.code, f.line)).collect::<Vec<_>>(), [("rst.inline-unterminated", Some(4))], "RST is the default");
        let m = md(&format!("Metadata-Version: 2.1\nName: x\nVersion: 1\nDescription-Content-Type: text/x-rst; charset=UTF-8\n\n{broken}"));
        assert!(!check_description(&m).is_empty());
        assert_eq!(check_description(&md("Metadata-Version: 2.1\nName: x\nVersion: 1\n")), vec![]);
    }
}
