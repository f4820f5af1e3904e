//! Metadata as Python's `email` (compat32), packaging and twine read it.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use pypublish::metadata::*;

fn parse(s: &str) -> Result<Metadata, MetadataError> {
    Metadata::parse(s.as_bytes())
}

#[test]
fn continuation_lines_and_body_follow_email_compat32() {
    let md = parse(
        "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\nAuthor: one  \n  two\n\
         Classifier: A\nClassifier: B\n\nBody line\n\nmore\n",
    )
    .unwrap();
    assert_eq!(md.get("author"), Some("one  \n  two"));
    assert_eq!(md.get_all("classifier"), ["A", "B"]);
    assert_eq!(md.raw_description(), Some("Body line\n\nmore\n"));
}

#[test]
fn crlf_folded_values_keep_their_terminators_like_compat32() {
    let md = parse("Metadata-Version: 1.1\r\nName: x\r\nVersion: 1\r\nDescription: \r\n        a\r\n        b\r\n\r\n").unwrap();
    assert_eq!(md.get("name"), Some("x"));
    assert_eq!(md.raw_description(), Some("\r\n        a\r\n        b"));
    assert_eq!(md.description().as_deref(), Some("\na\nb"));
}

#[test]
fn odd_header_lines_are_handled_like_the_feedparser() {
    let md = parse("From someone\n: junk\n continuation before any header\nMetadata-Version: 2.1\nName: x\nVersion: 1\nSummary: a\rbody\n").unwrap();
    assert_eq!(md.get("summary"), Some("a"));
    assert_eq!(md.raw_description(), Some("body\n"));
    let e = parse("Metadata-Version: 2.1\r\r\nName: x\r\r\nVersion: 1\r\r\n").unwrap_err();
    assert_eq!(e, MetadataError::Missing("name"));
}

#[test]
fn values_packaging_refuses_are_refused() {
    for (extra, field) in [
        ("Summary: one\n  two\n", "summary"),
        ("Description-Content-Type: text/html\n", "description-content-type"),
        ("Description-Content-Type: text/markdown; charset=latin-1\n", "description-content-type"),
        ("Description-Content-Type: text/markdown; variant=Foo\n", "description-content-type"),
        ("Dynamic: Name\n", "dynamic"),
        ("Provides-Extra: -bad\n", "provides-extra"),
    ] {
        let text = format!("Metadata-Version: 2.2\nName: x\nVersion: 1\n{extra}");
        match parse(&text) {
            Err(MetadataError::Invalid { field: f, .. }) => assert_eq!(f, field, "{extra}"),
            other => panic!("{extra:?}: {other:?}"),
        }
    }
    parse("Metadata-Version: 2.2\nName: x\nVersion: 1\nDescription-Content-Type: text/markdown; charset=UTF-8; variant=GFM\n").unwrap();
}

#[test]
fn old_description_header_is_dedented_for_reading_but_sent_raw() {
    let md = parse("Metadata-Version: 1.0\nName: old\nVersion: 0.1\nDescription: Title\n        =====\n       |\n        text\n").unwrap();
    assert_eq!(md.raw_description(), Some("Title\n        =====\n       |\n        text"));
    assert_eq!(md.description().as_deref(), Some("Title\n=====\n\ntext"));
}

#[test]
fn field_newer_than_declared_version_is_refused_like_twine() {
    let e = parse("Metadata-Version: 1.0\nName: x\nVersion: 1\nClassifier: A\n").unwrap_err();
    assert_eq!(e.to_string().split(';').next().unwrap(), "classifier introduced in metadata version 1.1, not 1.0");
}

#[test]
fn license_file_below_2_4_is_dropped_not_refused() {
    let md = parse("Metadata-Version: 2.1\nName: x\nVersion: 1\nLicense-File: LICENSE\n").unwrap();
    assert_eq!(md.get("license-file"), Some("LICENSE"));
}

#[test]
fn each_defect_has_its_own_error() {
    type Case = (&'static str, fn(&MetadataError) -> bool);
    let cases: &[Case] = &[
        ("Name: x\nVersion: 1\n", |e| matches!(e, MetadataError::Missing("metadata-version"))),
        ("Metadata-Version: 2.0\nName: x\nVersion: 1\n", |e| matches!(e, MetadataError::BadMetadataVersion(_))),
        ("Metadata-Version: 2.1\nVersion: 1\n", |e| matches!(e, MetadataError::Missing("name"))),
        ("Metadata-Version: 2.1\nName: x\nVersion: one\n", |e| matches!(e, MetadataError::BadVersion(_))),
        ("Metadata-Version: 2.1\nName: -x\nVersion: 1\n", |e| matches!(e, MetadataError::BadName(_))),
        ("Metadata-Version: 2.1\nName: x\nVersion: 1\nSummary: a\nSummary: b\n", |e| matches!(e, MetadataError::Repeated(_))),
        ("Metadata-Version: 2.1\nName: x\nVersion: 1\nColour: red\n", |e| matches!(e, MetadataError::UnknownField(_))),
        ("Metadata-Version: 2.1\nName: x\nVersion: 1\nDescription: a\n\nbody\n", |e| matches!(e, MetadataError::DescriptionTwice)),
        ("Metadata-Version: 2.1\nName: x\nVersion: 1\nProject-URL: A, u\nProject-URL: A, v\n", |e| matches!(e, MetadataError::DuplicateUrlLabel(_))),
        ("Metadata-Version: 2.1\nName: x\nVersion: 1\nSummary: a\u{1b}b\n", |e| matches!(e, MetadataError::ControlCharacter { .. })),
    ];
    for (text, ok) in cases {
        let e = parse(text).unwrap_err();
        assert!(ok(&e), "{text:?} gave {e:?}");
    }
    let e = Metadata::parse(b"Metadata-Version: 2.1\nName: x\nSummary: caf\xe9\n").unwrap_err();
    assert_eq!(e, MetadataError::NotUtf8 { line: 3 });
}

#[test]
fn many_project_urls_are_checked_for_duplicate_labels_in_linear_time() {
    let head = "Metadata-Version: 2.1\nName: x\nVersion: 1\n";
    let urls: String = (0..130_000).map(|i| format!("Project-URL: L{i}, https://e/{i}\n")).collect();
    assert!(urls.len() > 4 << 20);
    let md = parse(&format!("{head}{urls}")).unwrap();
    assert_eq!(md.get_all("project-url").len(), 130_000);
    let e = parse(&format!("{head}{urls}Project-URL: L0 , https://again\n")).unwrap_err();
    assert_eq!(e, MetadataError::DuplicateUrlLabel("L0".into()));
}
