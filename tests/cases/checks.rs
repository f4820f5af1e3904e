//! PyPI's own checks before upload, as one report per file.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use pypublish::checks::*;
use pypublish::metadata::Metadata;

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
