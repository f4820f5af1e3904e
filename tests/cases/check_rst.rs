//! The RST validator's rules, line by line.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use pypublish::checks::rst::*;

fn found(text: &str) -> Vec<(&'static str, Option<u32>)> {
    check(text).into_iter().map(|f| (f.code, f.line)).collect()
}

#[test]
fn each_broken_construct_is_found_on_its_line() {
    let cases: &[(&str, &str, u32)] = &[
        ("Title text\n=====\n\ntext\n", "rst.title-underline-short", 2),
        ("See `docs`_.\n", "rst.unknown-target", 1),
        ("a\n\nsome *emphasis\n", "rst.inline-unterminated", 3),
        ("one\ntwo\n    three\n", "rst.unexpected-indentation", 3),
        ("`a`_\n\n.. _a: http://x\n.. _a: http://y\n", "rst.duplicate-target", 4),
        ("x\n\n.. badge:: y\n", "rst.unknown-directive", 3),
        (".. raw:: html\n\n   <b>x</b>\n", "rst.raw", 1),
        (".. include:: other.rst\n", "rst.include", 1),
        ("- a\nb\n", "rst.unindent", 2),
        ("Use :func:`f`.\n", "rst.unknown-role", 1),
        ("x |y| z\n", "rst.undefined-substitution", 1),
        ("`a`__ `b`__\n\n__ http://x\n", "rst.anonymous-mismatch", 0),
    ];
    for (text, code, line) in cases {
        let f = check(text);
        let hit = f.iter().find(|f| f.code == *code);
        assert!(hit.is_some(), "{text:?}: expected {code}, got {f:?}");
        let hit = hit.unwrap();
        assert_eq!(hit.line.unwrap_or(0), *line, "{text:?}: {hit:?}");
        assert!(hit.blocking && hit.field == "description");
    }
}

#[test]
fn valid_constructs_render() {
    for text in [
        "Title\n=====\n\nText with *emphasis*, **strong**, ``code`` and a `link <https://x.y/>`_.\n",
        "- a\n- b\n\n1. one\n2. two\n\nterm\n   definition\n",
        ".. image:: https://x/y.svg\n   :target: https://x/\n\n|b|\n\n.. |b| image:: https://x/b.svg\n",
        ".. code-block:: python\n\n   print(1)\n\n.. note::\n\n   A note.\n",
        "Snake_case, __init__, 2*3*4, \"*\" and (*) are text.\n",
        "A [#]_ note.\n\n.. [#] The note.\n",
    ] {
        assert_eq!(found(text), vec![], "{text:?}");
    }
}

#[test]
fn blank_or_comment_only_descriptions_do_not_render() {
    for text in ["", "   \n\n", ".. just a comment\n", ".. |x| replace:: y\n"] {
        assert_eq!(found(text), vec![("rst.empty", None)], "{text:?}");
    }
}

#[test]
fn pathological_inputs_finish_in_linear_time() {
    // 256 KiB each: a quadratic path would need ~10^10 steps here and never finish.
    let mb = 1 << 18;
    let cases: Vec<String> = vec![
        "*a ".repeat(mb / 3),
        "`a ".repeat(mb / 3),
        "``a ".repeat(mb / 4),
        "|a ".repeat(mb / 3),
        "[a ".repeat(mb / 3),
        "a-".repeat(mb / 2),
        "a_ ".repeat(mb / 3),
        ":a:`".repeat(mb / 4),
        "- ".repeat(mb / 2),
        "----\n\n".repeat(mb / 6),
        ".. _a: http://x\n".repeat(mb / 16),
        "line\n".repeat(mb / 5),
        (0..700).map(|d| format!("{}x\n\n", " ".repeat(d))).collect(),
        format!("+{}+\n", "-+".repeat(mb / 4)),
        format!("{}\n", "=== ".repeat(mb / 4)),
        ".. |x| replace:: y\n\n|x| ".repeat(mb / 24),
    ];
    // Completing is the assertion; RST_TIMING=1 (natively) prints full against half.
    #[cfg(not(target_arch = "wasm32"))]
    if std::env::var_os("RST_TIMING").is_some() {
        for (k, text) in cases.iter().enumerate() {
            let t0 = std::time::Instant::now();
            let _ = check(text);
            let full = t0.elapsed();
            let t1 = std::time::Instant::now();
            let _ = check(&text[..text.len() / 2]);
            eprintln!("case {k}: full {full:?}, half {:?}", t1.elapsed());
        }
    }
    for text in &cases {
        let _ = check(text);
    }
    assert!(check(&"a".repeat(MAX_LEN + 1)).iter().any(|f| f.code == "rst.too-long"));
}

#[test]
fn mutated_corpus_never_panics() {
    #[cfg(not(target_arch = "wasm32"))]
    {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/readmes");
        let mut on_disk: Vec<String> =
            std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).filter(|n| n.ends_with(".rst")).collect();
        on_disk.sort();
        let embedded: Vec<&str> = super::readmes::READMES.iter().map(|(n, _)| *n).collect();
        assert_eq!(on_disk, embedded, "tests/cases/readmes.rs must list every corpus README");
    }
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let pieces = [
        "*", "`", "``", "_", "|", "::", ":", "[", "]_", "\n", "\n\n", "   ", "\t", "..", ".. ", "-", "=", "+", "é", "日", "\u{2014}", "\\", "<", ">", "#", "\r",
    ];
    for (_, text) in super::readmes::READMES {
        let chars: Vec<char> = text.chars().collect();
        for _ in 0..25 {
            let mut m = chars.clone();
            for _ in 0..(next() % 4 + 1) {
                let at = if m.is_empty() { 0 } else { (next() as usize) % m.len() };
                match next() % 3 {
                    0 => {
                        let p = pieces[(next() as usize) % pieces.len()];
                        m.splice(at..at, p.chars());
                    }
                    1 => {
                        let end = (at + (next() as usize) % 40).min(m.len());
                        m.drain(at..end);
                    }
                    _ => {
                        let end = (at + (next() as usize) % 80).min(m.len());
                        let dup: Vec<char> = m[at..end].to_vec();
                        m.splice(at..at, dup);
                    }
                }
            }
            let s: String = m.into_iter().collect();
            let _ = check(&s);
        }
    }
}
