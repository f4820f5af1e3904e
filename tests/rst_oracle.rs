//! The RST validator against its oracle: readme_renderer (PyPI's renderer) runs live from
//! .venv over every README in tests/fixtures/readmes/ (or `RST_ORACLE_DIR`), and our verdict
//! (renders / does not render) must equal its verdict on every one.
//!
//! Without .venv (a plain `cargo test` on a fresh clone) the test says so and passes;
//! scripts/test sets `RST_ORACLE_REQUIRED=1` so that a missing oracle fails there.
#![cfg(not(target_arch = "wasm32"))]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The venv's Python if it has readme_renderer, else why not.
fn oracle_python() -> Result<PathBuf, String> {
    let py = root().join(".venv/bin/python");
    if !py.exists() {
        return Err(format!("{} does not exist", py.display()));
    }
    let ok = Command::new(&py).args(["-c", "import readme_renderer.rst"]).status().map_err(|e| e.to_string())?;
    if !ok.success() {
        return Err("readme_renderer is not installed in .venv (scripts/requirements-test.txt)".into());
    }
    Ok(py)
}

#[test]
fn rst_validator_agrees_with_readme_renderer_on_every_corpus_readme() {
    let py = match oracle_python() {
        Ok(py) => py,
        Err(why) => {
            assert!(std::env::var_os("RST_ORACLE_REQUIRED").is_none(), "rst oracle required but unavailable: {why}");
            say(&format!("rst oracle: SKIPPED, {why}; run scripts/bootstrap to create .venv"));
            return;
        }
    };
    let dir = std::env::var_os("RST_ORACLE_DIR").map(PathBuf::from).unwrap_or_else(|| root().join("tests/fixtures/readmes"));
    let out = Command::new(py).arg(root().join("tests/tools/rst_oracle.py")).arg(&dir).output().expect("run the oracle");
    assert!(out.status.success(), "oracle failed: {}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let mut total = 0;
    let mut broken = 0;
    let mut disagree = Vec::new();
    // Where docutils stopped (its first message) and whether one of our findings is on that line.
    let (mut with_line, mut same_line) = (0, 0);
    let mut other_lines = Vec::new();
    for line in stdout.lines().skip(1) {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let file = v["file"].as_str().unwrap();
        let theirs = v["renders"].as_bool().unwrap();
        let text = std::fs::read_to_string(Path::new(&dir).join(file)).unwrap();
        let findings = pypublish::checks::rst::check(&text);
        let ours = findings.is_empty();
        total += 1;
        broken += usize::from(!theirs);
        let first_line = v["messages"]
            .as_array()
            .and_then(|m| m.first())
            .and_then(|m| m.as_str())
            .and_then(|m| m.strip_prefix("<string>:"))
            .and_then(|m| m.split(':').next())
            .and_then(|n| n.parse::<u32>().ok());
        if let Some(n) = first_line.filter(|_| !theirs) {
            with_line += 1;
            if findings.iter().any(|f| f.line == Some(n)) {
                same_line += 1;
            } else {
                other_lines.push(format!("{file}: docutils line {n}, ours {:?}", findings.iter().map(|f| f.line).collect::<Vec<_>>()));
            }
        }
        if ours != theirs {
            disagree.push(format!(
                "{file}: readme_renderer says {}, we say {}\n  theirs: {}\n  ours: {:?}",
                if theirs { "renders" } else { "does not render" },
                if ours { "renders" } else { "does not render" },
                v["messages"],
                findings.iter().map(|f| format!("{}: {}", f.line.unwrap_or(0), f.message)).collect::<Vec<_>>()
            ));
        }
    }
    assert!(disagree.is_empty(), "{} of {total} READMEs disagree:\n{}", disagree.len(), disagree.join("\n"));
    if std::env::var_os("RST_ORACLE_DIR").is_none() {
        assert!(total >= 40, "corpus too small: {total}");
        assert!(broken >= 20, "too few broken READMEs: {broken}");
    }
    if std::env::var_os("RST_ORACLE_LINES").is_some() {
        eprintln!("{}", other_lines.join("\n"));
    }
    say(&format!("rst oracle: {total} READMEs agree ({broken} that do not render; docutils' line found on {same_line} of {with_line})"));
}

/// Straight to stderr, past the test harness' capture, so `cargo test` shows the count.
fn say(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}
