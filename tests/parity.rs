//! Parity with twine 7 and an independent check of our multipart framing.
//!
//! A recording endpoint (tests/tools/recorder.py, parsing with the `multipart` package) runs on
//! 127.0.0.1. The real twine from the project's venv uploads every corpus file to it; then we
//! POST our own body for the same file. The fields the recorder parsed from our body must be
//! exactly the ones we meant, and as a multiset equal twine's but for our two documented
//! additions: `md5_digest`, and an empty `requires_python` when the metadata has none.
#![cfg(not(target_arch = "wasm32"))]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use pypublish::multipart::MultipartPlan;

struct Recorder {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Drop for Recorder {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn venv_bin(name: &str) -> PathBuf {
    let p = root().join(".venv/bin").join(name);
    assert!(p.exists(), "{} is missing: run scripts/bootstrap", p.display());
    p
}

fn start_recorder(tag: &str) -> Recorder {
    let dir = root().join("target/parity");
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join(format!("{tag}.jsonl"));
    let _ = std::fs::remove_file(&log);
    let mut child =
        Command::new(venv_bin("python")).arg(root().join("tests/tools/recorder.py")).arg(&log).stdout(Stdio::piped()).spawn().expect("start recorder");
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap()).read_line(&mut line).unwrap();
    let port = line.trim().parse().expect("recorder prints its port");
    Recorder { child, port, log }
}

fn records(log: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(log).unwrap_or_default().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn corpus() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("tests/fixtures/corpus"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.to_string_lossy();
            n.ends_with(".whl") || n.ends_with(".tar.gz") || n.ends_with(".zip")
        })
        .collect();
    files.sort();
    files
}

fn post(port: u16, plan: &MultipartPlan, file: &[u8]) -> u16 {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let head = format!(
        "POST / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        plan.content_type(),
        plan.content_length()
    );
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(&plan.head).unwrap();
    s.write_all(file).unwrap();
    s.write_all(&plan.tail).unwrap();
    let mut reply = String::new();
    s.read_to_string(&mut reply).unwrap();
    reply.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0)
}

fn pairs(v: &serde_json::Value) -> Vec<(String, String)> {
    v["fields"].as_array().unwrap().iter().map(|p| (p[0].as_str().unwrap().to_string(), p[1].as_str().unwrap().to_string())).collect()
}

/// False (with a message) when twine is not installed: a plain `cargo test` on a fresh clone
/// skips this test; `scripts/test` sets PYPUBLISH_REQUIRE_VENV=1 so that it always runs there.
fn twine_available() -> bool {
    if root().join(".venv/bin/twine").exists() {
        return true;
    }
    assert!(std::env::var_os("PYPUBLISH_REQUIRE_VENV").is_none(), ".venv/bin/twine is missing: run scripts/bootstrap");
    eprintln!(
        "SKIPPED our_form_equals_twines_for_every_corpus_file: .venv/bin/twine is missing (scripts/bootstrap installs it; scripts/test always runs this test)"
    );
    false
}

#[test]
fn our_form_equals_twines_for_every_corpus_file() {
    if !twine_available() {
        return;
    }
    let files = corpus();
    assert!(!files.is_empty());
    let twine = start_recorder("twine");
    let status = Command::new(venv_bin("twine"))
        .args(["upload", "--disable-progress-bar", "--non-interactive", "-u", "parity", "-p", "not-a-secret"])
        .arg("--repository-url")
        .arg(format!("http://127.0.0.1:{}/", twine.port))
        .args(&files)
        .env("TWINE_NON_INTERACTIVE", "1")
        .stdout(Stdio::null())
        .status()
        .expect("run twine");
    assert!(status.success(), "twine upload failed");
    let twine_records = records(&twine.log);
    let by_file: HashMap<String, &serde_json::Value> = twine_records.iter().map(|r| (r["files"][0]["filename"].as_str().unwrap().to_string(), r)).collect();

    let ours = start_recorder("ours");
    for (i, path) in files.iter().enumerate() {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(path).unwrap();
        let mut src: &[u8] = &bytes;
        let ins = pypublish::inspect(&name, &mut src, true).unwrap_or_else(|e| panic!("{name}: {e}"));
        let form = pypublish::form::Form { fields: ins.form.clone().unwrap() };
        let plan = MultipartPlan::new(&form, &name, bytes.len() as u64, format!("seed-{i}").as_bytes()).unwrap();
        assert_eq!(post(ours.port, &plan, &bytes), 200, "{name}: recorder refused our body");
        let rec = records(&ours.log).pop().unwrap();
        assert!(rec.get("error").is_none(), "{name}: {}", rec["error"]);
        assert_eq!(rec["content_length"], rec["body_length"]);

        // The independent parser gives back exactly the fields we meant, in order.
        let meant: Vec<(String, String)> = form.fields.iter().map(|f| (f.name.clone(), f.value.clone())).collect();
        assert_eq!(pairs(&rec), meant, "{name}: fields changed on the wire");
        let file = &rec["files"][0];
        assert_eq!(file["name"], "content");
        assert_eq!(file["filename"], name.as_str());
        assert_eq!(file["content_type"], "application/octet-stream");
        assert_eq!(file["sha256"], ins.digests.as_ref().unwrap().sha256.as_str());
        assert_eq!(file["size"], bytes.len());

        // Equal to twine's as a multiset, but for the documented additions.
        let twine_rec = by_file.get(&name).unwrap_or_else(|| panic!("twine did not upload {name}"));
        let mut theirs = pairs(twine_rec);
        let mut mine = meant.clone();
        mine.retain(|(n, v)| n != "md5_digest" && !(n == "requires_python" && v.is_empty() && !theirs.iter().any(|(t, _)| t == "requires_python")));
        theirs.sort();
        mine.sort();
        assert_eq!(mine, theirs, "{name}: form differs from twine's");
        assert_eq!(twine_rec["files"][0]["sha256"], file["sha256"]);
    }
    eprintln!("twine parity: {} files", files.len());
}

#[test]
fn a_body_with_trailing_digests_parses_back_with_the_digests_of_the_bytes_sent() {
    if !twine_available() {
        return;
    }
    let ours = start_recorder("trailing");
    for (i, path) in corpus().iter().enumerate().take(6) {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(path).unwrap();
        let mut src: &[u8] = &bytes;
        let ins = pypublish::inspect(&name, &mut src, true).unwrap();
        let digests = ins.digests.clone().unwrap();
        // Planned before any byte is read, with placeholders; filled in once the file was sent.
        let mut placeholder_form = pypublish::form::Form { fields: ins.form.clone().unwrap() };
        for f in &mut placeholder_form.fields {
            if pypublish::multipart::TRAILING_FIELDS.contains(&f.name.as_str()) {
                f.value = "0".repeat(f.value.len());
            }
        }
        let plan =
            MultipartPlan::with_trailing(&placeholder_form, &name, bytes.len() as u64, format!("t-{i}").as_bytes(), &pypublish::multipart::TRAILING_FIELDS)
                .unwrap();
        let filled = MultipartPlan { tail: plan.tail_for(&digests), ..plan.clone() };
        assert_eq!(filled.content_length(), plan.content_length(), "the length was known up front");
        assert_eq!(post(ours.port, &filled, &bytes), 200, "{name}");
        let rec = records(&ours.log).pop().unwrap();
        assert!(rec.get("error").is_none(), "{name}: {}", rec["error"]);
        let order: Vec<&str> = rec["order"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
        let content_at = order.iter().position(|n| *n == "content").unwrap();
        assert_eq!(&order[content_at + 1..], ["sha256_digest", "blake2_256_digest", "md5_digest"], "{name}: digests follow the file");
        let field = |n: &str| pairs(&rec).into_iter().find(|(k, _)| k == n).map(|(_, v)| v).unwrap();
        assert_eq!(rec["files"][0]["sha256"], field("sha256_digest").as_str(), "{name}: the sha256 field is the sha256 of the file part");
        assert_eq!(field("blake2_256_digest"), digests.blake2_256);
        assert_eq!(field("md5_digest"), digests.md5);
        let mut sent: Vec<(String, String)> = pairs(&rec);
        let mut meant: Vec<(String, String)> = ins.form.clone().unwrap().into_iter().map(|f| (f.name, f.value)).collect();
        sent.sort();
        meant.sort();
        assert_eq!(sent, meant, "{name}: the same fields as the digests-first form");
    }
}
