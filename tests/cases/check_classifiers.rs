//! Trove classifiers against the vendored list PyPI checks.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use pypublish::checks::classifiers::*;
const LIST: &str = include_str!("../../src/checks/classifiers.txt");

#[test]
fn known_classifiers_at_every_depth() {
    for c in [
        "Development Status :: 5 - Production/Stable",
        "Environment :: Console :: Curses",
        "License :: OSI Approved :: MIT License",
        "Programming Language :: Python :: 3 :: Only",
        "Typing :: Typed",
        "License :: OSI Approved",
    ] {
        assert!(is_known(c), "{c}");
    }
    for c in ["Development Status", "Environment :: Curses", "License :: MIT", "Typing :: Typed :: More", "", "Topic"] {
        assert!(!is_known(c), "{c}");
    }
}

#[test]
fn unknown_private_and_deprecated_have_their_own_messages() {
    let f = check(&[
        "Programming Language :: Python :: 3",
        "Private :: Do Not Upload",
        "Natural Language :: Ukranian",
        "Programming language :: python :: 3",
        "Fuzzy :: Wuzzy",
    ]);
    let codes: Vec<_> = f.iter().map(|f| f.code).collect();
    assert_eq!(codes, ["classifier.private", "classifier.deprecated", "classifier.unknown", "classifier.unknown"]);
    assert!(f.iter().all(|f| f.blocking && f.field == "classifier"));
    assert!(f[1].message.contains("\"Natural Language :: Ukrainian\""), "{}", f[1].message);
    assert!(f[2].message.contains("did you mean \"Programming Language :: Python :: 3\""), "{}", f[2].message);
    assert!(!f[3].message.contains("did you mean"));
}

#[test]
fn many_classifiers_are_checked_in_one_pass() {
    let many: Vec<String> = (0..20_000).map(|i| format!("Topic :: Made Up :: {i}")).collect();
    let refs: Vec<&str> = many.iter().map(String::as_str).chain(std::iter::repeat_n("Typing :: Typed", 20_000)).collect();
    let f = check(&refs);
    assert_eq!(f.len(), 20_000);
    assert!(all().windows(2).all(|w| w[0] < w[1]));
}

#[test]
fn the_vendored_list_parses_into_every_classifier_once() {
    let mut path: Vec<&str> = Vec::new();
    let mut n = 0;
    for line in LIST.lines().filter(|l| !l.starts_with(['#', '!'])) {
        let level = line.bytes().take_while(|&b| b == b'\t').count();
        assert!(level <= path.len(), "{line:?} skips a level");
        path.truncate(level);
        let seg = &line[level..];
        path.push(seg.strip_suffix(" /").unwrap_or(seg));
        if !seg.ends_with(" /") {
            assert!(is_known(&path.join(" :: ")), "{}", path.join(" :: "));
            n += 1;
        }
    }
    let header: usize = LIST.lines().next().unwrap().split(": ").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
    assert_eq!(n, header);
    assert_ne!(list_version(), "unknown");
}
