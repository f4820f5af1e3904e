//! Distribution file names.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use pypublish::filename::*;

#[test]
fn wheel_with_compressed_tag_sets_keeps_raw_name() {
    let f = DistFilename::parse("Jinja2-2.11.3-py2.py3-none-any.whl").unwrap();
    assert_eq!(f.raw, "Jinja2-2.11.3-py2.py3-none-any.whl");
    assert_eq!(f.normalized_name, "jinja2");
    assert_eq!(f.version, "2.11.3");
    assert_eq!(f.pyversion(), "py2.py3");
    let DistKind::Wheel(t) = &f.kind else { panic!() };
    assert_eq!(t.python, ["py2", "py3"]);
    let f = DistFilename::parse("numpy-2.0.0-1abc-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl").unwrap();
    let DistKind::Wheel(t) = &f.kind else { panic!() };
    assert_eq!(t.build.as_deref(), Some("1abc"));
    assert_eq!(t.platform, ["manylinux_2_17_x86_64", "manylinux2014_x86_64"]);
    assert_eq!(f.filetype(), "bdist_wheel");
}

#[test]
fn sdists_tar_gz_and_legacy_zip() {
    let f = DistFilename::parse("python-dateutil-2.8.2.tar.gz").unwrap();
    assert_eq!((f.name.as_str(), f.version.as_str()), ("python-dateutil", "2.8.2"));
    assert_eq!(f.normalized_name, "python-dateutil");
    assert_eq!(f.pyversion(), "source");
    let f = DistFilename::parse("Zope.Interface-3.6.1.zip").unwrap();
    assert_eq!(f.kind, DistKind::Sdist { format: SdistFormat::Zip });
    assert_eq!(f.normalized_name, "zope-interface");
}

#[test]
fn refuses_other_files_naming_the_accepted_forms() {
    for name in ["foo-1.0.tar.bz2", "foo-1.0.egg", "README.md", "foo-1.0-py3.exe"] {
        let e = DistFilename::parse(name).unwrap_err();
        assert!(matches!(e, FilenameError::UnknownKind(_)), "{name}: {e}");
        assert!(e.to_string().contains(".whl") && e.to_string().contains(".tar.gz"));
    }
}

#[test]
fn refuses_malformed_names_with_the_reason() {
    let cases = [
        ("foo-1.0-py3-none.whl", "5 or 6 parts"),
        ("foo-1.0-x-py3-none-any.whl", "build tag"),
        ("foo-notaversion-py3-none-any.whl", "PEP 440"),
        ("-1.0.tar.gz", "project name"),
        ("foo.tar.gz", "sdist name"),
        ("foo-1.0-py3--any.whl", "abi tag"),
        ("dist/foo-1.0.tar.gz", "is a path"),
        ("foo\n-1.0.tar.gz", "line break"),
        ("foo\u{7}-1.0.tar.gz", "control character"),
        ("foo\"-1.0.tar.gz", "double quote"),
        ("", "empty"),
    ];
    for (name, needle) in cases {
        let e = DistFilename::parse(name).unwrap_err().to_string();
        assert!(e.contains(needle), "{name:?}: {e}");
    }
}

#[test]
fn normalizes_names_per_pep_503() {
    assert_eq!(normalize_name("Foo.Bar__baz-QUX"), "foo-bar-baz-qux");
}
