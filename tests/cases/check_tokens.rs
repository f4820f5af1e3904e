//! PyPI API tokens read locally: scope, expiry, registry.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use pypublish::checks::macaroon::*;
use serde_json::Value;

/// Builds a v2 token the way pymacaroons serializes one (see tests/fixtures/tokens/).
fn v2(location: &str, caveats: &[&str]) -> String {
    fn packet(out: &mut Vec<u8>, ft: u8, data: &[u8]) {
        out.push(ft);
        let mut n = data.len();
        while n >= 0x80 {
            out.push((n as u8 & 0x7f) | 0x80);
            n >>= 7;
        }
        out.push(n as u8);
        out.extend_from_slice(data);
    }
    let mut b = vec![2u8];
    packet(&mut b, 1, location.as_bytes());
    packet(&mut b, 2, b"5f1c4f32-0000-4000-8000-000000000001");
    b.push(0);
    for c in caveats {
        packet(&mut b, 2, c.as_bytes());
        b.push(0);
    }
    b.push(0);
    packet(&mut b, 6, &[7u8; 32]);
    format!("pypi-{}", b64url(&b))
}

fn b64url(b: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut s = String::new();
    for ch in b.chunks(3) {
        let n = ch.iter().enumerate().fold(0u32, |acc, (i, &x)| acc | u32::from(x) << (16 - 8 * i));
        for i in 0..=ch.len() {
            s.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    s
}

#[test]
fn scoped_token_for_another_project_blocks_and_names_both() {
    let t = v2("pypi.org", &[r#"[1,["other-proj"]]"#, r#"[2,["d8f0"]]"#]);
    let f = check_token(&t, &["My_Project"], 0);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].code, "token.wrong-project");
    assert!(f[0].blocking);
    assert!(f[0].message.contains("`other-proj`") && f[0].message.contains("`my-project`"), "{}", f[0].message);
    assert!(check_token(&t, &["Other.Proj"], 0).is_empty());
}

#[test]
fn expiry_and_not_before_come_from_the_clock_given() {
    let t = v2("pypi.org", &["[0,1700000900,1700000000]", r#"[4,"prov"]"#, r#"[2,["id"]]"#]);
    let info = decode(&t).unwrap();
    assert_eq!((info.not_before, info.expires_at), (Some(1_700_000_000), Some(1_700_000_900)));
    assert_eq!(info.oidc_provider_id.as_deref(), Some("prov"));
    assert!(check_token(&t, &["x"], 1_700_000_500).is_empty());
    let f = check_token(&t, &["x"], 1_700_000_900);
    assert_eq!((f[0].code, f[0].blocking), ("token.expired", true));
    assert!(f[0].message.contains("2023-11-14 22:28:20 UTC"), "{}", f[0].message);
    let f = check_token(&t, &["x"], 1_699_999_000);
    assert_eq!((f[0].code, f[0].blocking), ("token.not-yet-valid", false));
}

#[test]
fn legacy_caveats_are_adapted_like_warehouse() {
    let t = v2("pypi.org", &[r#"{"version":1,"permissions":{"projects":["a","b"]}}"#, r#"{"exp":20,"nbf":10}"#]);
    let info = decode(&t).unwrap();
    assert_eq!(info.projects, Some(vec!["a".into(), "b".into()]));
    assert_eq!(info.expires_at, Some(20));
    let t = v2("pypi.org", &[r#"{"version":1,"permissions":"user"}"#]);
    assert!(decode(&t).unwrap().user_scoped);
    assert!(check_token(&t, &["anything"], 0).is_empty());
}

#[test]
fn user_bound_and_unknown_caveats() {
    let t = v2("pypi.org", &[r#"[3,"u-1"]"#, r#"[9,"new"]"#]);
    let info = decode(&t).unwrap();
    assert_eq!(info.user_id.as_deref(), Some("u-1"));
    let f = check_token(&t, &["x"], 0);
    assert_eq!((f.len(), f[0].code, f[0].blocking), (1, "token.unknown-caveat", false));
}

#[test]
fn not_a_token_or_undecodable_is_only_a_warning() {
    for (t, code) in [
        ("hunter2", "token.not-pypi"),
        ("pypi-", "token.not-pypi"),
        ("pypi-!!!", "token.undecodable"),
        ("pypi-AgEI", "token.undecodable"),
        ("pypi-A", "token.undecodable"),
    ] {
        let f = check_token(t, &["x"], 0);
        assert_eq!((f.len(), f[0].code, f[0].blocking), (1, code, false), "{t}");
        assert!(!f[0].message.contains(t) || t == "pypi-", "token leaked into {}", f[0].message);
    }
}

#[test]
fn every_truncation_and_byte_flip_of_a_token_is_handled_without_panic() {
    let t = v2("pypi.org", &[r#"[1,["a"]]"#, "[0,2,1]"]);
    let raw = pypublish::mask::base64_decode(&t[5..]).unwrap();
    for cut in 0..raw.len() {
        let _ = check_token(&format!("pypi-{}", b64url(&raw[..cut])), &["a"], 0);
    }
    for i in 0..raw.len() {
        for flip in [0x01u8, 0x80, 0xff] {
            let mut m = raw.clone();
            m[i] ^= flip;
            let _ = check_token(&format!("pypi-{}", b64url(&m)), &["a"], 0);
        }
    }
}

/// Tokens minted by pymacaroons as warehouse mints them: tests/fixtures/tokens/make_vectors.py.
#[test]
fn pymacaroons_vectors() {
    let vectors: Vec<Value> = serde_json::from_str(include_str!("../../tests/fixtures/tokens/vectors.json")).unwrap();
    assert!(vectors.len() >= 10);
    for v in &vectors {
        let name = v["name"].as_str().unwrap();
        let token = v["token"].as_str().unwrap();
        let projects: Vec<&str> = v["projects"].as_array().unwrap().iter().map(|p| p.as_str().unwrap()).collect();
        let codes: Vec<&str> = v["codes"].as_array().unwrap().iter().map(|p| p.as_str().unwrap()).collect();
        let found = check_token(token, &projects, v["now"].as_i64().unwrap());
        assert_eq!(found.iter().map(|f| f.code).collect::<Vec<_>>(), codes, "{name}: {found:?}");
        let info = decode(token).unwrap();
        assert_eq!(info.location, if name.starts_with("test.pypi") { "test.pypi.org" } else { "pypi.org" }, "{name}");
        assert_eq!(info.format, if name.contains("format v1") { 1 } else { 2 }, "{name}");
    }
}

#[test]
fn a_token_from_the_other_registry_blocks() {
    let t = v2("pypi.org", &[r#"[1,["demo"]]"#]);
    let f = check_token_for(&t, "test.pypi.org", &["demo"], 0);
    assert_eq!((f.len(), f[0].code, f[0].blocking), (1, "token.wrong-registry", true));
    assert!(f[0].message.contains("created on pypi.org") && f[0].message.contains("goes to test.pypi.org"), "{}", f[0].message);
    assert!(check_token_for(&t, "upload.pypi.org", &["demo"], 0).is_empty());
    assert!(check_token_for(&t, "pypi.example.com", &["demo"], 0).is_empty());
    let t = v2("test.pypi.org", &[]);
    assert_eq!(check_token_for(&t, "upload.pypi.org", &["x"], 0)[0].code, "token.wrong-registry");
}

#[test]
fn utc_formats_known_instants() {
    assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
    assert_eq!(utc(951_782_400), "2000-02-29 00:00:00 UTC");
    assert_eq!(utc(-1), "1969-12-31 23:59:59 UTC");
}
