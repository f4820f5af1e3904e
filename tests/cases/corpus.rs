//! The core over the corpus (embedded, so the same cases run in wasm), malformed inputs, a
//! virtual 1 GiB wheel and recorded registry replies.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use pypublish::filename::{DistKind, SdistFormat};

use crate::common;

/// tests/fixtures/corpus, embedded.
const CORPUS: &[(&str, &[u8])] = &[
    ("Jinja2-2.11.3-py2.py3-none-any.whl", include_bytes!("../fixtures/corpus/Jinja2-2.11.3-py2.py3-none-any.whl")),
    (
        "MarkupSafe-2.1.5-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        include_bytes!("../fixtures/corpus/MarkupSafe-2.1.5-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"),
    ),
    ("annotated_types-0.7.0-py3-none-any.whl", include_bytes!("../fixtures/corpus/annotated_types-0.7.0-py3-none-any.whl")),
    ("entrypoints-0.2.3-py2.py3-none-any.whl", include_bytes!("../fixtures/corpus/entrypoints-0.2.3-py2.py3-none-any.whl")),
    ("importlib_metadata-8.6.1-py3-none-any.whl", include_bytes!("../fixtures/corpus/importlib_metadata-8.6.1-py3-none-any.whl")),
    ("importlib_metadata-8.6.1.tar.gz", include_bytes!("../fixtures/corpus/importlib_metadata-8.6.1.tar.gz")),
    ("importlib_metadata-8.7.0.tar.gz", include_bytes!("../fixtures/corpus/importlib_metadata-8.7.0.tar.gz")),
    ("packaging-25.0-py3-none-any.whl", include_bytes!("../fixtures/corpus/packaging-25.0-py3-none-any.whl")),
    ("pp_flit_demo-2.0.0b1-py3-none-any.whl", include_bytes!("../fixtures/corpus/pp_flit_demo-2.0.0b1-py3-none-any.whl")),
    ("pp_flit_demo-2.0.0b1.tar.gz", include_bytes!("../fixtures/corpus/pp_flit_demo-2.0.0b1.tar.gz")),
    ("pp_hatch_demo-1.2.3-py3-none-any.whl", include_bytes!("../fixtures/corpus/pp_hatch_demo-1.2.3-py3-none-any.whl")),
    ("pp_hatch_demo-1.2.3.tar.gz", include_bytes!("../fixtures/corpus/pp_hatch_demo-1.2.3.tar.gz")),
    ("pp_poetry_demo-0.3.0-py3-none-any.whl", include_bytes!("../fixtures/corpus/pp_poetry_demo-0.3.0-py3-none-any.whl")),
    ("pp_poetry_demo-0.3.0.tar.gz", include_bytes!("../fixtures/corpus/pp_poetry_demo-0.3.0.tar.gz")),
    ("pp_setuptools_demo-0.1.0-py3-none-any.whl", include_bytes!("../fixtures/corpus/pp_setuptools_demo-0.1.0-py3-none-any.whl")),
    ("pp_setuptools_demo-0.1.0.tar.gz", include_bytes!("../fixtures/corpus/pp_setuptools_demo-0.1.0.tar.gz")),
    ("ptyprocess-0.5.2-py2.py3-none-any.whl", include_bytes!("../fixtures/corpus/ptyprocess-0.5.2-py2.py3-none-any.whl")),
    ("pyreadline-2.1.zip", include_bytes!("../fixtures/corpus/pyreadline-2.1.zip")),
    ("six-1.16.0-py2.py3-none-any.whl", include_bytes!("../fixtures/corpus/six-1.16.0-py2.py3-none-any.whl")),
    ("six-1.9.0.tar.gz", include_bytes!("../fixtures/corpus/six-1.9.0.tar.gz")),
    ("uuid-1.30.tar.gz", include_bytes!("../fixtures/corpus/uuid-1.30.tar.gz")),
];

const JINJA: &[u8] = include_bytes!("../fixtures/corpus/Jinja2-2.11.3-py2.py3-none-any.whl");

#[test]
fn every_corpus_file_is_inspected_with_matching_name_and_version() {
    #[cfg(not(target_arch = "wasm32"))]
    {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/corpus");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| pypublish::is_distribution_name(n))
            .collect();
        on_disk.sort();
        let embedded: Vec<String> = CORPUS.iter().map(|(n, _)| n.to_string()).collect();
        assert_eq!(on_disk, embedded, "tests/cases/corpus.rs must list every corpus file");
    }
    let mut versions = std::collections::BTreeSet::new();
    let (mut wheels, mut tars, mut zips) = (0, 0, 0);
    for (name, bytes) in CORPUS {
        let mut src: &[u8] = bytes;
        let ins = pypublish::inspect(name, &mut src, true).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(ins.filename.raw, *name);
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
            DistKind::Sdist { format: SdistFormat::TarGz } => tars += 1,
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
    assert_eq!(pypublish::describe_dist(&ins.filename), "wheel py2.py3-none-any");
}

#[test]
fn every_malformed_input_gets_its_own_clear_error() {
    assert!(common::check_malformed(JINJA) >= 15);
}

#[test]
fn a_1_gib_wheel_costs_at_most_256_kib_to_inspect() {
    use pypublish::archive::ReadAt;
    let mut wheel = common::VirtualWheel::new(1 << 30);
    assert!(wheel.size() > 1 << 30);
    let ins = pypublish::inspect("demo-1.0-py3-none-any.whl", &mut wheel, false).unwrap();
    assert_eq!(ins.metadata.name, "demo");
    assert!(wheel.bytes_read <= 256 << 10, "read {} bytes", wheel.bytes_read);
    assert_eq!(ins.metadata_bytes_read, wheel.bytes_read);
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
    assert!(common::check_replies(include_str!("../fixtures/replies.json")) >= 30);
}

#[test]
fn distribution_names_are_told_by_their_ending() {
    for n in ["a-1.whl", "a-1.tar.gz", "A-1.ZIP", "x.WHL"] {
        assert!(pypublish::is_distribution_name(n), "{n}");
    }
    for n in ["a-1.whl.publish.attestation", "a.tar", ".whl", "notes.txt", "a-1.tar.gz.asc"] {
        assert!(!pypublish::is_distribution_name(n), "{n}");
    }
    let sdist = pypublish::filename::DistFilename::parse("demo-1.0.tar.gz").unwrap();
    assert_eq!(pypublish::describe_dist(&sdist), "sdist (tar.gz)");
}
