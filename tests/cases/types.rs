//! The TypeScript declarations the wasm package ships are checked against the Rust types that
//! produce the values, so they cannot drift (a `blake2256` where `.d.ts` says `blake2_256`).

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use std::collections::BTreeSet;

use pypublish::digest::digest_bytes;
use pypublish::report::{Kind, RawResponse, Report, Status};

const PUBLISH_TS: &str = include_str!("../../src/wasm/publish.rs");
const MOD_TS: &str = include_str!("../../src/wasm/mod.rs");

/// The body of `export interface NAME { ... }` (one level of braces).
fn interface<'a>(src: &'a str, name: &str) -> &'a str {
    let start = src.find(&format!("export interface {name} ")).unwrap_or_else(|| panic!("no interface {name}"));
    let open = start + src[start..].find('{').unwrap();
    let mut depth = 0;
    for (i, c) in src[open..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return &src[open + 1..open + i];
                }
            }
            _ => {}
        }
    }
    panic!("unclosed interface {name}")
}

/// The top-level field names of an interface body.
fn fields(body: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut depth = 0;
    let mut in_comment = false;
    for part in body.split(['\n', ';']) {
        let line = part.trim();
        if line.starts_with("/**") || in_comment {
            in_comment = !line.contains("*/");
            continue;
        }
        if depth == 0 {
            if let Some((name, _)) = line.split_once(':') {
                let name = name.trim().trim_end_matches('?');
                if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    out.insert(name.to_string());
                }
            }
        }
        depth += line.matches('{').count() as i32 - line.matches('}').count() as i32;
    }
    out
}

fn json_keys(v: &serde_json::Value) -> BTreeSet<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

#[test]
fn the_kind_union_is_every_kind_the_core_reports() {
    let line = PUBLISH_TS.lines().find(|l| l.starts_with("export type Kind =")).expect("a Kind union");
    let declared: BTreeSet<String> = line.split('"').skip(1).step_by(2).map(str::to_string).collect();
    let rust: BTreeSet<String> = Kind::ALL.iter().map(|k| serde_json::to_value(k).unwrap().as_str().unwrap().to_string()).collect();
    assert_eq!(declared, rust);
    for k in Kind::ALL {
        assert_eq!(serde_json::to_value(k).unwrap(), k.as_str(), "as_str agrees with serde");
    }
    assert!(MOD_TS.contains("kind: Kind;"), "PypublishError.kind is the same union");
}

#[test]
fn file_reports_have_exactly_the_declared_fields() {
    let full = Report {
        http_status: Some(400),
        server_message: Some("x".into()),
        hint: Some("x".into()),
        error: Some("x".into()),
        kind: Some(Kind::Invalid),
        sha256: Some("x".into()),
        verified: Some(false),
        response: Some(RawResponse { status: 400, status_text: "x".into(), headers: vec![], body: "x".into(), truncated: false }),
        project_url: Some("x".into()),
        warnings: vec!["x".into()],
        ..Report::new("f.whl", Status::Failed)
    };
    let v = serde_json::to_value(&full).unwrap();
    assert_eq!(json_keys(&v), fields(interface(PUBLISH_TS, "FileReport")));
    let raw = PUBLISH_TS.split("response?: {").nth(1).unwrap().split('}').next().unwrap();
    assert_eq!(json_keys(&v["response"]), fields(raw));
}

#[test]
fn digests_have_the_declared_names() {
    let v = serde_json::to_value(digest_bytes(b"x")).unwrap();
    assert_eq!(json_keys(&v), fields(interface(PUBLISH_TS, "Digests")));
    assert!(MOD_TS.contains("digests: Digests | null;"), "Inspection.digests is the same type");
}

#[test]
fn findings_have_the_declared_names() {
    let md = pypublish::metadata::Metadata::parse(b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\nClassifier: Nope :: Nope\n").unwrap();
    let f = pypublish::checks::check_metadata(&md);
    let v = serde_json::to_value(&f[0]).unwrap();
    assert_eq!(json_keys(&v), fields(interface(MOD_TS, "Finding")));
}
