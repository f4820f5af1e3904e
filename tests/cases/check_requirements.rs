//! Requirements, specifiers and License-Expression as packaging and PyPI judge them.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use pypublish::checks::requirements::*;
use pypublish::checks::Finding;
use pypublish::metadata::Metadata;

fn md(extra: &str) -> Metadata {
    Metadata::parse(format!("Metadata-Version: 2.4\nName: demo\nVersion: 1.0\n{extra}").as_bytes()).unwrap()
}

fn codes(f: &[Finding]) -> Vec<&'static str> {
    f.iter().map(|f| f.code).collect()
}

#[test]
fn good_requirements_pass() {
    let m = md("Requires-Dist: requests[socks] (>=2.8.1,<3); python_version >= \"3.8\" and extra == 'net'\n\
                Requires-Dist: tomli>=1.1.0; python_version < '3.11'\nRequires-Python: >=3.8, !=3.9.*\n\
                Provides-Extra: net\nProvides-Dist: demo (==1.0)\nObsoletes-Dist: olddemo\n");
    assert_eq!(check(&m), vec![]);
}

#[test]
fn bad_requirement_and_specifier_syntax_is_refused_with_the_parsers_words() {
    let m = md("Requires-Dist: requests >= 2.0 ; pyhton_version < '3'\nRequires-Dist: numpy >=> 1\n\
                Requires-Dist: pkg @ https://example.com/pkg.whl\nRequires-Python: >=3.8.*\n");
    let f = check(&m);
    assert_eq!(codes(&f), ["requirement.syntax", "requirement.syntax", "requirement.direct-url", "requirement.python"], "{f:#?}");
    assert!(f.iter().all(|f| f.blocking));
    assert!(f[0].message.contains("pyhton_version"), "{}", f[0].message);
    assert!(f[3].message.contains(">=3.8.*"), "{}", f[3].message);
}

/// Strings packaging accepts or refuses (tests/fixtures/requirements/make_verdicts.py).
#[test]
fn verdicts_agree_with_packaging() {
    let v: serde_json::Value = serde_json::from_str(include_str!("../../tests/fixtures/requirements/packaging-verdicts.json")).unwrap();
    let mut wrong = Vec::new();
    for (value, ok) in v["requirements"].as_object().unwrap() {
        let ours = !matches!(check_requirement("requires-dist", value), Some(f) if f.blocking && f.code != "requirement.direct-url");
        if ours != ok.as_bool().unwrap() {
            wrong.push(format!("requirement {value:?}: packaging {ok}, ours {ours}"));
        }
    }
    for (value, ok) in v["specifiers"].as_object().unwrap() {
        let ours = check_requires_python(value).is_none();
        if ours != ok.as_bool().unwrap() {
            wrong.push(format!("specifier {value:?}: packaging {ok}, ours {ours}"));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn license_expressions_as_packaging_judges_them() {
    for ok in
        ["MIT", "Apache-2.0 OR MIT", "(MIT AND BSD-3-Clause) OR Apache-2.0 WITH LLVM-exception", "LicenseRef-Proprietary", "GPL-3.0-or-later", "Apache-2.0+"]
    {
        assert_eq!(check_license_expression(ok), vec![], "{ok}");
    }
    for bad in [
        "",
        "MIT OR",
        "(MIT",
        "MIT)",
        "Use-it-after-midnight",
        "MIT WITH Nope-exception",
        "MIT/Apache-2.0",
        "DocumentRef-a:LicenseRef-b",
        "MIT AND AND BSD-2-Clause",
    ] {
        let f = check_license_expression(bad);
        assert_eq!(codes(&f), ["license.expression"], "{bad}: {f:?}");
        assert!(f[0].blocking);
    }
    let f = check_license_expression("mit and (apache-2.0 or bsd-2-clause)");
    assert_eq!(codes(&f), ["license.case"]);
    assert!(f[0].message.contains("\"MIT AND (Apache-2.0 OR BSD-2-Clause)\""), "{}", f[0].message);
    assert!(!f[0].blocking);
    assert_eq!(codes(&check_license_expression("GPL-2.0")), ["license.deprecated"]);
    assert!(check_license_expression("Use-it-after-midnight")[0].message.contains("`Use-it-after-midnight` is not an SPDX license id"));
}

#[test]
fn a_bad_requirement_with_non_ascii_text_is_a_finding_not_a_crash() {
    // The parser's error spans once cut a multi-byte character in half, and a name ending in
    // `_` before more text failed an internal assertion: both trapped the wasm instance.
    for value in ["demo[extra é]", "demo[é]", "rëquests >= 1", "demo (>=1) ; python_version == 'é", "a[b.]", "demo- >=1"] {
        let f = check_requirement("Requires-Dist", value).unwrap_or_else(|| panic!("{value:?} should be refused"));
        assert_eq!(f.code, "requirement.syntax", "{value:?}: {f:?}");
        assert!(f.message.contains(value), "{value:?}: {}", f.message);
    }
    assert_eq!(check_requirement("Requires-Dist", "demo_ >=1"), None, "packaging accepts a name ending in `_`");
}
