//! Replays every input saved under `fuzz/regressions/<target>/` (crashes, timeouts and
//! out-of-memory cases that `scripts/fuzz` found, and the hostile inputs of issue 9) through
//! the same harness bodies the fuzz targets run, on stable, without libFuzzer.
#![cfg(not(target_arch = "wasm32"))]

#[path = "../fuzz/harness.rs"]
mod harness;

use std::path::{Path, PathBuf};

fn regressions() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/regressions")
}

/// Runs every file of one target; returns how many ran, failing with every file that panicked.
fn replay(target: &str) -> usize {
    replay_dir(target, &regressions().join(target))
}

fn replay_dir(target: &str, dir: &Path) -> usize {
    let (_, body) = harness::TARGETS.iter().find(|(name, _)| *name == target).expect("a known target");
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.expect("readable directory").path())
        .filter(|p| p.is_file() && !p.file_name().unwrap_or_default().to_string_lossy().starts_with('.'))
        .collect();
    files.sort();
    let mut failed = Vec::new();
    for path in &files {
        let data = std::fs::read(path).expect("readable regression file");
        if std::panic::catch_unwind(|| body(&data)).is_err() {
            failed.push(path.file_name().unwrap_or_default().to_string_lossy().into_owned());
        }
    }
    assert!(failed.is_empty(), "{target}: these regressions fail again: {failed:?}");
    files.len()
}

#[test]
fn every_regression_directory_belongs_to_a_target() {
    let known: Vec<&str> = harness::TARGETS.iter().map(|(name, _)| *name).collect();
    for entry in std::fs::read_dir(regressions()).expect("fuzz/regressions exists") {
        let path = entry.unwrap().path();
        if path.is_dir() {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            assert!(known.contains(&name.as_str()), "fuzz/regressions/{name} has no harness target, so it would never be replayed");
        }
    }
}

#[test]
fn filename_regressions_still_pass() {
    replay("filename");
}

#[test]
fn metadata_regressions_still_pass() {
    replay("metadata");
}

#[test]
fn archive_regressions_still_pass() {
    assert!(replay("archive") >= 1, "the hostile archives of issue 9 are kept here");
}

#[test]
fn response_regressions_still_pass() {
    assert!(replay("response") >= 1, "the HTML reply of issue 9 is kept here");
}

#[test]
fn simple_regressions_still_pass() {
    replay("simple");
}

#[test]
fn redirect_regressions_still_pass() {
    assert!(replay("redirect") >= 1, "the hostile Locations of issue 9 are kept here");
}

#[test]
fn checks_regressions_still_pass() {
    replay("checks");
}

#[test]
fn token_regressions_still_pass() {
    replay("token");
}

#[test]
fn preview_regressions_still_pass() {
    replay("preview");
}

#[test]
fn the_fuzz_seeds_hold_every_invariant() {
    // The seeds are real wheels, sdists, METADATA files and recorded replies: the harness's
    // assertions must hold on them, or the fuzzer would start from false alarms.
    let seeds = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds");
    for (target, _) in harness::TARGETS {
        assert!(replay_dir(target, &seeds.join(target)) >= 1, "no seeds for {target}");
    }
}
