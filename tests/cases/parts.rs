//! The data path's parts one by one: digests, the form, the multipart plan, trusted
//! publishing's parsing.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use pypublish::auth::base64;
use pypublish::digest::{digest_bytes, Digester};
use pypublish::filename::DistFilename;
use pypublish::form::{safe_name, Field, Form};
use pypublish::metadata::Metadata;
use pypublish::multipart::{MultipartError, MultipartPlan};
use pypublish::oidc::{ambient_available, endpoint, parse_audience, parse_mint, supported, token_source, OidcError, TokenSource};
use pypublish::url::Url;

// Known answers: FIPS 180-2 (sha256 "abc"), RFC 1321 (md5 "abc"), and Python's
// hashlib.blake2b(b"abc", digest_size=32).
#[test]
fn digests_give_the_known_answers_for_abc_and_empty() {
    let d = digest_bytes(b"abc");
    assert_eq!(d.sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_eq!(d.md5, "900150983cd24fb0d6963f7d28e17f72");
    assert_eq!(d.blake2_256, "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319");
    let e = digest_bytes(b"");
    assert_eq!(e.sha256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert_eq!(e.md5, "d41d8cd98f00b204e9800998ecf8427e");
    assert_eq!(e.blake2_256, "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8");
}

#[test]
fn chunking_does_not_change_the_digests() {
    let data: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let mut d = Digester::new();
    for chunk in data.chunks(4093) {
        d.update(chunk);
    }
    assert_eq!(d.finish(), digest_bytes(&data));
}

#[test]
fn form_fields_follow_twine_with_our_two_additions() {
    let md = Metadata::parse(
        b"Metadata-Version: 2.1\nName: my_pkg\nVersion: 1.0\nKeywords: a,b , c\n\
          Project-URL: Home ,https://x\nClassifier: A\nClassifier: B\nLicense-File: LICENSE\n\nHello\n",
    )
    .unwrap();
    let file = DistFilename::parse("my_pkg-1.0-py3-none-any.whl").unwrap();
    let form = Form::new(&file, &md, &digest_bytes(b""));
    assert_eq!(form.get("name"), Some("my-pkg"));
    assert_eq!(form.get("keywords"), Some("a, b, c"));
    assert_eq!(form.get("project_urls"), Some("Home, https://x"));
    assert_eq!(form.get("description"), Some("Hello\n"));
    assert_eq!(form.get("requires_python"), Some(""));
    assert_eq!(form.get("license_file"), None, "License-File below 2.4 is dropped");
    assert_eq!(form.get("pyversion"), Some("py3"));
    assert_eq!(form.get("md5_digest"), Some("d41d8cd98f00b204e9800998ecf8427e"));
    let classifiers: Vec<_> = form.fields.iter().filter(|f| f.name == "classifiers").map(|f| &f.value).collect();
    assert_eq!(classifiers, ["A", "B"]);
    assert_eq!(safe_name("Foo_Bar--baz.qux"), "Foo-Bar-baz.qux", "twine's safe name");
}

#[test]
fn attestations_go_as_one_json_array() {
    let mut form = Form { fields: vec![] };
    form.add_attestations(&[r#"{"version": 1}"#.into(), r#"{"version": 1, "x": 2}"#.into()]).unwrap();
    let v: serde_json::Value = serde_json::from_str(form.get("attestations").unwrap()).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 2);
    assert!(form.add_attestations(&["[1]".into()]).is_err());
    assert!(form.add_attestations(&["{".into()]).is_err());
}

fn form(pairs: &[(&str, &str)]) -> Form {
    Form { fields: pairs.iter().map(|(n, v)| Field { name: n.to_string(), value: v.to_string() }).collect() }
}

#[test]
fn the_body_length_is_known_before_the_file_is_read() {
    let plan = MultipartPlan::new(&form(&[("a", "1"), ("description", "x\r\ny")]), "f-1.0.tar.gz", 1234, b"seed").unwrap();
    assert!(plan.boundary.len() >= 32);
    assert_eq!(plan.content_length(), plan.to_bytes(&[7; 1234]).len() as u64);
}

#[test]
fn the_boundary_never_occurs_in_a_value() {
    let first = MultipartPlan::new(&form(&[]), "f-1.0.tar.gz", 0, b"seed").unwrap().boundary;
    let hostile = form(&[("description", &format!("before --{first} after"))]);
    let plan = MultipartPlan::new(&hostile, "f-1.0.tar.gz", 0, b"seed").unwrap();
    assert_ne!(plan.boundary, first);
    assert!(!String::from_utf8_lossy(&plan.head).contains(&format!("{first}\r\n")));
}

#[test]
fn names_that_could_inject_headers_are_refused() {
    for (name, file) in [("a\r\nX-Evil: 1", "f.whl"), ("a\"b", "f.whl"), ("ok", "f\".whl"), ("ok", "f\n.whl"), ("ok", "f\0.whl")] {
        let e = MultipartPlan::new(&form(&[(name, "v")]), file, 0, b"s").unwrap_err();
        assert!(matches!(e, MultipartError::UnsafeName { .. }), "{name:?} {file:?}");
    }
}

#[test]
fn trailing_digest_fields_keep_the_planned_length() {
    let f = form(&[(":action", "file_upload"), ("sha256_digest", &"0".repeat(64)), ("name", "x"), ("md5_digest", &"0".repeat(32))]);
    let plan = MultipartPlan::with_trailing(&f, "x-1.tar.gz", 5, b"s", &["sha256_digest", "md5_digest"]).unwrap();
    assert_eq!(plan.trailing, ["sha256_digest", "md5_digest"]);
    assert!(!String::from_utf8_lossy(&plan.head).contains("sha256_digest"));
    let real = digest_bytes(b"hello");
    let tail = plan.tail_for(&real);
    assert_eq!(tail.len(), plan.tail.len());
    let text = String::from_utf8(tail).unwrap();
    assert!(text.contains(&real.sha256) && text.contains(&real.md5) && text.ends_with(&format!("--{}--\r\n", plan.boundary)));
}

fn jwt(claims: &str) -> String {
    let b = |s: &str| base64(s.as_bytes()).trim_end_matches('=').replace('+', "-").replace('/', "_");
    format!("{}.{}.c2lnbmF0dXJl", b(r#"{"alg":"RS256"}"#), b(claims))
}

#[test]
fn trusted_publishing_endpoints_and_token_sources_follow_the_ci() {
    let pypi = Url::parse("https://upload.pypi.org/legacy/").unwrap();
    assert_eq!(endpoint(&pypi, "audience").as_str(), "https://upload.pypi.org/_/oidc/audience");
    let gh = |k: &str| match k {
        "ACTIONS_ID_TOKEN_REQUEST_URL" => Some("https://token.actions.example/x?api-version=2.0".to_string()),
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN" => Some("req".to_string()),
        _ => None,
    };
    match token_source(&gh, &pypi, "pypi").unwrap() {
        TokenSource::GitHub { url, bearer } => {
            assert_eq!((url.as_str(), bearer.as_str()), ("https://token.actions.example/x?api-version=2.0&audience=pypi", "req"));
        }
        other => panic!("{other:?}"),
    }
    let insecure = |k: &str| match k {
        "ACTIONS_ID_TOKEN_REQUEST_URL" => Some("http://token.actions.example/x".to_string()),
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN" => Some("req".to_string()),
        _ => None,
    };
    assert!(matches!(token_source(&insecure, &pypi, "pypi"), Err(OidcError::NotHttps { .. })), "the request token never goes over http");
    let test_pypi = Url::parse("https://test.pypi.org/legacy/").unwrap();
    let gl = |k: &str| (k == "TESTPYPI_ID_TOKEN").then(|| "jwt".to_string());
    assert_eq!(token_source(&gl, &test_pypi, "testpypi").unwrap(), TokenSource::Ready("jwt".into()));
    let none = |_: &str| None;
    assert!(matches!(token_source(&none, &pypi, "pypi"), Err(OidcError::NoAmbientToken { .. })));
    let blank = |_: &str| Some(String::new());
    assert!(!ambient_available(&blank) && token_source(&blank, &pypi, "pypi").is_err());
    assert!(supported(&test_pypi) && !supported(&Url::parse("http://127.0.0.1:1/").unwrap()));
}

// Replies as warehouse/oidc/views.py sends them.
#[test]
fn a_mint_failure_shows_codes_and_claims_never_the_token() {
    let token = jwt(
        r#"{"sub":"repo:acme/demo:ref:refs/heads/main","repository":"acme/demo","repository_owner":"acme","job_workflow_ref":"acme/demo/.github/workflows/release.yml@refs/heads/main","ref":"refs/heads/main"}"#,
    );
    let body = r#"{"message":"Token request failed","errors":[{"code":"invalid-publisher","description":"valid token, but no corresponding publisher (Publisher with matching claims was not found)"}]}"#;
    let text = parse_mint(422, body, &token).unwrap_err().to_string();
    assert!(text.contains("invalid-publisher"), "{text}");
    assert!(text.contains("job_workflow_ref=acme/demo/.github/workflows/release.yml@refs/heads/main"), "{text}");
    assert!(!text.contains(&token) && !text.contains("c2lnbmF0dXJl"));
    assert_eq!(parse_mint(200, r#"{"success":true,"token":"pypi-abc","expires":1}"#, &token).unwrap(), "pypi-abc");
    assert_eq!(parse_audience(200, r#"{"audience":"pypi"}"#, "upload.pypi.org").unwrap(), "pypi");
    assert!(matches!(parse_audience(403, r#"{"message":"Trusted publishing functionality not enabled"}"#, "h"), Err(OidcError::NotOffered { .. })));
}
