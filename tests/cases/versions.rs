//! PEP 440 versions, as far as names and files need them.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use pypublish::version::*;

#[test]
fn normalizes_the_spellings_pep_440_allows() {
    for (raw, norm) in [
        ("1.0", "1.0"),
        ("v1.0", "1.0"),
        ("1.0-beta1", "1.0b1"),
        ("1.0.ALPHA.2", "1.0a2"),
        ("1.0c1", "1.0rc1"),
        ("1.0-1", "1.0.post1"),
        ("1.0.post", "1.0.post0"),
        ("1.0-dev3", "1.0.dev3"),
        ("1!2.0rc1.post2.dev3+Ubuntu-01", "1!2.0rc1.post2.dev3+ubuntu.1"),
        ("2.11.3", "2.11.3"),
        ("1.01.0010", "1.1.10"),
        ("99999999999999999999999999999999999999999", "99999999999999999999999999999999999999999"),
    ] {
        assert_eq!(normalize(raw), norm, "{raw}");
    }
}

#[test]
fn refuses_what_is_not_a_version() {
    for raw in ["", "abc", "1.0-", "1.0+", "1..0", "1.0 beta", "1.0+a!b"] {
        assert!(parse(raw).is_none(), "{raw:?} parsed");
    }
}
