#![cfg(not(target_arch = "wasm32"))]
//! Native tests of the core over the corpus, malformed inputs, a virtual 1 GiB wheel and
//! recorded registry replies. The wasm tests run the same cases from `common`.

mod common;

use std::path::{Path, PathBuf};

use pypublish::filename::DistKind;

fn corpus() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/corpus");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/fixtures/corpus exists")
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy();
            n.ends_with(".whl") || n.ends_with(".tar.gz") || n.ends_with(".zip")
        })
        .collect();
    files.sort();
    files
}

const JINJA: &[u8] = include_bytes!("fixtures/corpus/Jinja2-2.11.3-py2.py3-none-any.whl");

#[test]
fn every_corpus_file_is_inspected_with_matching_name_and_version() {
    let files = corpus();
    assert!(files.len() >= 10, "corpus too small: {files:?}");
    let mut versions = std::collections::BTreeSet::new();
    let (mut wheels, mut tars, mut zips) = (0, 0, 0);
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(&path).unwrap();
        let mut src: &[u8] = &bytes;
        let ins = pypublish::inspect(&name, &mut src, true).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(ins.filename.raw, name);
        assert_eq!(ins.size, bytes.len() as u64);
        let d = ins.digests.as_ref().unwrap();
        assert_eq!(d.len, bytes.len() as u64);
        let form = ins.form.as_ref().unwrap();
        let field = |n: &str| form.iter().find(|f| f.name == n).map(|f| f.value.clone());
        assert_eq!(field("sha256_digest").as_deref(), Some(d.sha256.as_str()));
        assert_eq!(field("version").as_deref(), Some(ins.metadata.version.as_str()));
        versions.insert(ins.metadata.metadata_version.clone());
        match ins.filename.kind {
            DistKind::Wheel(_) => wheels += 1,
            DistKind::Sdist { format: pypublish::filename::SdistFormat::TarGz } => tars += 1,
            DistKind::Sdist { .. } => zips += 1,
        }
    }
    assert!(wheels > 0 && tars > 0 && zips > 0, "wheels {wheels}, tar.gz {tars}, zip {zips}");
    for v in ["1.0", "1.1", "1.2", "2.1", "2.2", "2.4"] {
        assert!(versions.contains(v), "no corpus file with Metadata-Version {v}: {versions:?}");
    }
}

#[test]
fn jinja2_keeps_its_raw_name_and_compressed_tags() {
    let mut src: &[u8] = JINJA;
    let ins = pypublish::inspect("Jinja2-2.11.3-py2.py3-none-any.whl", &mut src, true).unwrap();
    assert_eq!(ins.metadata_path, "Jinja2-2.11.3.dist-info/METADATA");
    assert_eq!(ins.metadata.name, "Jinja2");
    let form = ins.form.unwrap();
    assert!(form.iter().any(|f| f.name == "pyversion" && f.value == "py2.py3"));
    assert!(form.iter().any(|f| f.name == "filetype" && f.value == "bdist_wheel"));
}

#[test]
fn every_malformed_input_gets_its_own_clear_error() {
    assert!(common::check_malformed(JINJA) >= 15);
}

#[test]
fn a_1_gib_wheel_costs_at_most_256_kib_to_inspect() {
    let mut wheel = common::VirtualWheel::new(1 << 30);
    use pypublish::archive::ReadAt;
    assert!(wheel.size() > 1 << 30);
    let ins = pypublish::inspect("demo-1.0-py3-none-any.whl", &mut wheel, false).unwrap();
    assert_eq!(ins.metadata.name, "demo");
    assert!(wheel.bytes_read <= 256 << 10, "read {} bytes", wheel.bytes_read);
    assert_eq!(ins.metadata_bytes_read, wheel.bytes_read);
    eprintln!("1 GiB wheel: {} bytes read to find its metadata", wheel.bytes_read);
}

#[test]
fn a_wheel_with_20000_members_is_read_in_a_few_requests() {
    let md = common::demo_metadata("demo", "1.0");
    let names: Vec<String> = (0..20_000).map(|i| format!("demo/m{i}.py")).collect();
    let mut members: Vec<(&str, &[u8], bool)> = names.iter().map(|n| (n.as_str(), &b""[..], false)).collect();
    members.push(("demo-1.0.dist-info/METADATA", &md, true));
    let wheel = common::zip_with(&members);
    let mut src = common::CountingSource { data: &wheel, requests: 0, bytes: 0 };
    let ins = pypublish::inspect("demo-1.0-py3-none-any.whl", &mut src, false).unwrap();
    assert_eq!(ins.metadata.name, "demo");
    // The tail, the whole central directory at once, then the member: no re-reading per 64 KiB.
    assert!(src.requests <= 4, "{} requests", src.requests);
}

#[test]
fn recorded_replies_of_every_registry_decode_with_their_hints() {
    assert!(common::check_replies(include_str!("fixtures/replies.json")) >= 30);
}
