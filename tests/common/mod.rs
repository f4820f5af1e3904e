//! Cases shared by the native tests and the wasm tests (Node and Chromium): malformed archives
//! built in memory, a virtual 1 GiB wheel, and recorded registry replies. (Each test binary
//! uses part of it: `#[allow(dead_code)]` is on the `mod common;` line.)

use std::io::{Cursor, Write};

use pypublish::archive::{ArchiveError, ReadAt};
use pypublish::http::Reply;
use pypublish::metadata::MetadataError;
use pypublish::response::{decode, Outcome, Sent};
use pypublish::Error;

/// The metadata of a tiny valid project named `demo` 1.0.
pub fn demo_metadata(name: &str, version: &str) -> Vec<u8> {
    format!("Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: A demo\n\nHello.\n").into_bytes()
}

/// A zip with the given `(path, bytes, deflate?)` members.
pub fn zip_with(members: &[(&str, &[u8], bool)]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (path, bytes, deflate) in members {
        let method = if *deflate { zip::CompressionMethod::Deflated } else { zip::CompressionMethod::Stored };
        let opts = zip::write::SimpleFileOptions::default().compression_method(method);
        w.start_file(*path, opts).unwrap();
        w.write_all(bytes).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// A `.tar.gz` with the given `(path, bytes)` regular files.
pub fn tar_gz_with(members: &[(&str, &[u8])]) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut b = tar::Builder::new(gz);
    for (path, bytes) in members {
        let mut h = tar::Header::new_gnu();
        h.set_size(bytes.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, path, *bytes).unwrap();
    }
    b.into_inner().unwrap().finish().unwrap()
}

/// An end of central directory record alone.
pub fn eocd(entries: u16, cd_size: u32, cd_offset: u32) -> Vec<u8> {
    let mut e = vec![0x50, 0x4b, 0x05, 0x06, 0, 0, 0, 0];
    e.extend_from_slice(&entries.to_le_bytes());
    e.extend_from_slice(&entries.to_le_bytes());
    e.extend_from_slice(&cd_size.to_le_bytes());
    e.extend_from_slice(&cd_offset.to_le_bytes());
    e.extend_from_slice(&0u16.to_le_bytes());
    e
}

/// A `.tar.gz` whose first entry is a GNU long-name header of `len` bytes.
pub fn tar_gz_long_name(len: usize) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut b = tar::Builder::new(gz);
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::GNULongName);
    h.set_path("././@LongLink").unwrap();
    h.set_size(len as u64);
    h.set_cksum();
    b.append(&h, &vec![b'a'; len][..]).unwrap();
    let md = demo_metadata("demo", "1.0");
    let mut h = tar::Header::new_gnu();
    h.set_size(md.len() as u64);
    h.set_cksum();
    b.append_data(&mut h, "demo-1.0/PKG-INFO", &md[..]).unwrap();
    b.into_inner().unwrap().finish().unwrap()
}

/// One malformed input: a file name, its bytes, and a check of the error it must give.
pub struct Malformed {
    pub label: &'static str,
    pub filename: String,
    pub bytes: Vec<u8>,
    pub expect: fn(&Error) -> bool,
}

/// Every malformed input of the corpus; each must produce its own error, and none may panic.
pub fn malformed_cases(real_wheel: &[u8]) -> Vec<Malformed> {
    let md = demo_metadata("demo", "1.0");
    let whl = "demo-1.0-py3-none-any.whl".to_string();
    let module: &[u8] = b"print('hi')\n";
    let mut oversize = demo_metadata("demo", "1.0");
    oversize.extend(std::iter::repeat_n(b'x', (pypublish::archive::MAX_METADATA + 1) as usize));
    let zeros = vec![0u8; 8 << 20];
    vec![
        Malformed {
            label: "truncated zip",
            filename: "Jinja2-2.11.3-py2.py3-none-any.whl".into(),
            bytes: real_wheel[..real_wheel.len() / 2].to_vec(),
            expect: |e| matches!(e, Error::Archive(ArchiveError::BadZip { .. })),
        },
        Malformed {
            label: "empty wheel",
            filename: "demo-1.0-py3-none-any.whl".into(),
            bytes: Vec::new(),
            expect: |e| matches!(e, Error::Archive(ArchiveError::BadZip { .. })),
        },
        Malformed {
            label: "central directory larger than any wheel's",
            filename: whl.clone(),
            bytes: eocd(1, 100 << 20, 0),
            expect: |e| matches!(e, Error::Archive(ArchiveError::ReadBudget { .. })),
        },
        Malformed {
            label: "central directory claiming impossible entries",
            filename: whl.clone(),
            bytes: [vec![0u8; 46], eocd(60_000, 46, 0)].concat(),
            expect: |e| matches!(e, Error::Archive(ArchiveError::BadZip { .. })),
        },
        Malformed {
            label: "sdist with a huge long-name header",
            filename: "demo-1.0.tar.gz".into(),
            bytes: tar_gz_long_name(200 << 10),
            expect: |e| matches!(e, Error::Archive(ArchiveError::BadTar { .. })),
        },
        Malformed {
            label: "no METADATA",
            filename: whl.clone(),
            bytes: zip_with(&[("demo/__init__.py", module, true), ("demo-1.0.dist-info/RECORD", b"", true)]),
            expect: |e| matches!(e, Error::Archive(ArchiveError::NoMetadata { .. })),
        },
        Malformed {
            label: "two METADATA",
            filename: whl.clone(),
            bytes: zip_with(&[("demo-1.0.dist-info/METADATA", &md, true), ("demo_extra-1.0.dist-info/METADATA", &md, true)]),
            expect: |e| matches!(e, Error::Archive(ArchiveError::MultipleMetadata { .. })),
        },
        Malformed {
            label: "dist-info of another project",
            filename: whl.clone(),
            bytes: zip_with(&[("other-1.0.dist-info/METADATA", &md, true)]),
            expect: |e| matches!(e, Error::Archive(ArchiveError::DistInfoMismatch { .. })),
        },
        Malformed {
            label: "name mismatch",
            filename: whl.clone(),
            bytes: zip_with(&[("demo-1.0.dist-info/METADATA", &demo_metadata("other", "1.0"), true)]),
            expect: |e| matches!(e, Error::Metadata { source: MetadataError::NameMismatch { .. }, .. }),
        },
        Malformed {
            label: "version mismatch",
            filename: whl.clone(),
            bytes: zip_with(&[("demo-1.0.dist-info/METADATA", &demo_metadata("demo", "2.0"), true)]),
            expect: |e| matches!(e, Error::Metadata { source: MetadataError::VersionMismatch { .. }, .. }),
        },
        Malformed {
            label: "non-UTF-8 metadata",
            filename: whl.clone(),
            bytes: zip_with(&[("demo-1.0.dist-info/METADATA", b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\nAuthor: Jos\xe9\n", true)]),
            expect: |e| matches!(e, Error::Metadata { source: MetadataError::NotUtf8 { line: 4 }, .. }),
        },
        Malformed {
            label: "control character in a field",
            filename: whl.clone(),
            bytes: zip_with(&[("demo-1.0.dist-info/METADATA", b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\nSummary: a\x1b[31mred\n", true)]),
            expect: |e| matches!(e, Error::Metadata { source: MetadataError::ControlCharacter { .. }, .. }),
        },
        Malformed {
            label: "field newer than the metadata version",
            filename: whl.clone(),
            bytes: zip_with(&[("demo-1.0.dist-info/METADATA", b"Metadata-Version: 1.0\nName: demo\nVersion: 1.0\nClassifier: X\n", true)]),
            expect: |e| matches!(e, Error::Metadata { source: MetadataError::FieldTooNew { .. }, .. }),
        },
        Malformed {
            label: "oversize metadata",
            filename: whl.clone(),
            bytes: zip_with(&[("demo-1.0.dist-info/METADATA", &oversize, false)]),
            expect: |e| matches!(e, Error::Archive(ArchiveError::MetadataTooLarge { .. })),
        },
        Malformed {
            label: "decompression bomb in a wheel",
            filename: whl.clone(),
            bytes: zip_with(&[("demo-1.0.dist-info/METADATA", &zeros, true)]),
            expect: |e| matches!(e, Error::Archive(ArchiveError::CompressionBomb { .. })),
        },
        Malformed {
            label: "decompression bomb in an sdist",
            filename: "demo-1.0.tar.gz".into(),
            bytes: tar_gz_with(&[("demo-1.0/zeros.bin", &zeros), ("demo-1.0/PKG-INFO", &md)]),
            expect: |e| matches!(e, Error::Archive(ArchiveError::CompressionBomb { .. })),
        },
        Malformed {
            label: "sdist without PKG-INFO",
            filename: "demo-1.0.tar.gz".into(),
            bytes: tar_gz_with(&[("demo-1.0/setup.py", module)]),
            expect: |e| matches!(e, Error::Archive(ArchiveError::NoMetadata { .. })),
        },
        Malformed {
            label: "sdist with two top-level directories",
            filename: "demo-1.0.tar.gz".into(),
            bytes: tar_gz_with(&[("demo-1.0/setup.py", module), ("other/PKG-INFO", &md)]),
            expect: |e| matches!(e, Error::Archive(ArchiveError::TopLevel { .. })),
        },
        Malformed {
            label: "sdist that is not gzip",
            filename: "demo-1.0.tar.gz".into(),
            bytes: b"this is not a tarball at all, just text".repeat(10),
            expect: |e| matches!(e, Error::Archive(ArchiveError::BadTar { .. })),
        },
        Malformed {
            label: "control character in the file name",
            filename: "demo\u{1}-1.0-py3-none-any.whl".into(),
            bytes: zip_with(&[("demo-1.0.dist-info/METADATA", &md, true)]),
            expect: |e| matches!(e, Error::Filename(pypublish::filename::FilenameError::ForbiddenCharacter { .. })),
        },
    ]
}

/// Runs every malformed case through `inspect`; returns how many were checked.
pub fn check_malformed(real_wheel: &[u8]) -> usize {
    let cases = malformed_cases(real_wheel);
    let mut seen = Vec::new();
    for case in &cases {
        let mut src: &[u8] = &case.bytes;
        let err = pypublish::inspect(&case.filename, &mut src, true).expect_err(case.label);
        assert!((case.expect)(&err), "{}: wrong error: {err:?}", case.label);
        let message = err.to_string();
        assert!(message.len() > 20, "{}: message too thin: {message}", case.label);
        assert!(!seen.contains(&message), "{}: same message as another case: {message}", case.label);
        seen.push(message);
    }
    cases.len()
}

/// A wheel of `big` bytes that exists only as its small parts: a huge stored member first,
/// then METADATA, then the central directory. Counts the bytes read from it.
pub struct VirtualWheel {
    prefix: Vec<u8>,
    gap: u64,
    suffix: Vec<u8>,
    pub bytes_read: u64,
}

fn local_header(name: &str, crc: u32, size: u32) -> Vec<u8> {
    let mut h = Vec::new();
    h.extend_from_slice(&0x04034b50u32.to_le_bytes());
    h.extend_from_slice(&20u16.to_le_bytes()); // version needed
    h.extend_from_slice(&0u16.to_le_bytes()); // flags
    h.extend_from_slice(&0u16.to_le_bytes()); // stored
    h.extend_from_slice(&0u16.to_le_bytes()); // time
    h.extend_from_slice(&0x21u16.to_le_bytes()); // date 1980-01-01
    h.extend_from_slice(&crc.to_le_bytes());
    h.extend_from_slice(&size.to_le_bytes());
    h.extend_from_slice(&size.to_le_bytes());
    h.extend_from_slice(&(name.len() as u16).to_le_bytes());
    h.extend_from_slice(&0u16.to_le_bytes());
    h.extend_from_slice(name.as_bytes());
    h
}

fn central_entry(name: &str, crc: u32, size: u32, offset: u32) -> Vec<u8> {
    let mut h = Vec::new();
    h.extend_from_slice(&0x02014b50u32.to_le_bytes());
    h.extend_from_slice(&20u16.to_le_bytes()); // made by
    h.extend_from_slice(&20u16.to_le_bytes()); // needed
    h.extend_from_slice(&0u16.to_le_bytes());
    h.extend_from_slice(&0u16.to_le_bytes());
    h.extend_from_slice(&0u16.to_le_bytes());
    h.extend_from_slice(&0x21u16.to_le_bytes());
    h.extend_from_slice(&crc.to_le_bytes());
    h.extend_from_slice(&size.to_le_bytes());
    h.extend_from_slice(&size.to_le_bytes());
    h.extend_from_slice(&(name.len() as u16).to_le_bytes());
    h.extend_from_slice(&[0; 8]); // extra len, comment len, disk, internal attrs
    h.extend_from_slice(&(0o100644u32 << 16).to_le_bytes());
    h.extend_from_slice(&offset.to_le_bytes());
    h.extend_from_slice(name.as_bytes());
    h
}

impl VirtualWheel {
    /// A `demo-1.0-py3-none-any.whl` of about `big` bytes (below 4 GiB).
    pub fn new(big: u32) -> Self {
        let big_name = "demo/big.bin";
        let md_name = "demo-1.0.dist-info/METADATA";
        let md = demo_metadata("demo", "1.0");
        let mut crc = flate2::Crc::new();
        crc.update(&md);
        let md_crc = crc.sum();
        // The big member's CRC is never checked: nobody reads it.
        let prefix = local_header(big_name, 0, big);
        let md_offset = prefix.len() as u64 + big as u64;
        let mut suffix = local_header(md_name, md_crc, md.len() as u32);
        suffix.extend_from_slice(&md);
        let cd_offset = md_offset + suffix.len() as u64;
        let mut cd = central_entry(big_name, 0, big, 0);
        cd.extend(central_entry(md_name, md_crc, md.len() as u32, md_offset as u32));
        let mut eocd = Vec::new();
        eocd.extend_from_slice(&0x06054b50u32.to_le_bytes());
        eocd.extend_from_slice(&[0; 4]);
        eocd.extend_from_slice(&2u16.to_le_bytes());
        eocd.extend_from_slice(&2u16.to_le_bytes());
        eocd.extend_from_slice(&(cd.len() as u32).to_le_bytes());
        eocd.extend_from_slice(&(cd_offset as u32).to_le_bytes());
        eocd.extend_from_slice(&0u16.to_le_bytes());
        suffix.extend(cd);
        suffix.extend(eocd);
        VirtualWheel { prefix, gap: big as u64, suffix, bytes_read: 0 }
    }
}

impl ReadAt for VirtualWheel {
    fn size(&self) -> u64 {
        self.prefix.len() as u64 + self.gap + self.suffix.len() as u64
    }
    fn read_at(&mut self, offset: u64, len: u64) -> std::io::Result<Vec<u8>> {
        let end = offset.saturating_add(len).min(self.size());
        let mut out = Vec::with_capacity((end - offset.min(end)) as usize);
        let gap_start = self.prefix.len() as u64;
        let suffix_start = gap_start + self.gap;
        for pos in offset..end {
            out.push(if pos < gap_start {
                self.prefix[pos as usize]
            } else if pos < suffix_start {
                0
            } else {
                self.suffix[(pos - suffix_start) as usize]
            });
        }
        self.bytes_read += out.len() as u64;
        Ok(out)
    }
}

/// A recorded registry reply and what a user must be told about it.
#[derive(serde::Deserialize)]
pub struct RecordedReply {
    pub name: String,
    pub source: String,
    pub url: String,
    #[serde(default)]
    pub username: Option<String>,
    pub status: u16,
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub expect: Expect,
}

/// What decoding a recorded reply must give.
#[derive(serde::Deserialize)]
pub struct Expect {
    pub outcome: String,
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub identical: Option<bool>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub hint: Vec<String>,
    #[serde(default)]
    pub retryable: bool,
    #[serde(default)]
    pub registry: Option<String>,
}

/// The blake2 digest the recorded PyPI conflict reply names as "ours".
pub const OUR_BLAKE2: &str = "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8";

/// Decodes every recorded reply and checks outcome, message and hint; returns the count.
pub fn check_replies(json: &str) -> usize {
    let replies: Vec<RecordedReply> = serde_json::from_str(json).expect("replies.json parses");
    let digests = pypublish::digest::digest_bytes(b"");
    assert_eq!(digests.blake2_256, OUR_BLAKE2);
    for r in &replies {
        assert!(!r.source.is_empty(), "{}: recorded replies need a source", r.name);
        let reply =
            Reply { status: r.status, reason: r.reason.clone(), headers: r.headers.clone(), body: r.body.as_bytes().to_vec(), truncated: false, now_ms: 0 };
        let url = pypublish::url::Url::parse(&r.url).expect("recorded URL parses");
        let sent = Sent { url: &url, username: r.username.as_deref(), digests: Some(&digests), job: None };
        let d = decode(&reply, &sent);
        let (outcome, kind, identical) = match d.outcome {
            Outcome::Uploaded => ("uploaded", None, None),
            Outcome::AlreadyExists { identical } => ("exists", None, identical),
            Outcome::Failed { kind } => ("failed", Some(serde_json::to_value(kind).unwrap().as_str().unwrap().to_string()), None),
        };
        assert_eq!(outcome, r.expect.outcome, "{}: {d:?}", r.name);
        if r.expect.kind.is_some() {
            assert_eq!(kind, r.expect.kind, "{}: {d:?}", r.name);
        }
        assert_eq!(identical, r.expect.identical, "{}: {d:?}", r.name);
        if let Some(m) = &r.expect.message {
            assert_eq!(d.server_message.as_deref(), Some(m.as_str()), "{}", r.name);
        }
        let mut hint = d.hint.clone().unwrap_or_default();
        if (300..400).contains(&r.status) {
            // Redirects are the per-file machine's decision: a same-origin 307/308 is followed,
            // anything else fails with a hint naming where it leads.
            let mut up = pypublish::publish::Upload::new("f.whl", &url, pypublish::publish::Policy::default());
            up.start();
            match up.on_reply(&reply, r.username.as_deref(), Some(&digests), 0.0) {
                pypublish::publish::Action::Send { url: to, .. } => {
                    let location = reply.header("location").unwrap();
                    assert_eq!(to, url.join(location).unwrap().0, "{}: followed elsewhere", r.name);
                    continue;
                }
                pypublish::publish::Action::Done(rep) => hint = rep.hint.unwrap_or_default(),
                other => panic!("{}: {other:?}", r.name),
            }
        }
        for needle in &r.expect.hint {
            assert!(hint.contains(needle.as_str()), "{}: hint {hint:?} lacks {needle:?}", r.name);
        }
        assert_eq!(d.retryable, r.expect.retryable, "{}: {d:?}", r.name);
        if let Some(reg) = &r.expect.registry {
            assert_eq!(&serde_json::to_value(d.registry).unwrap(), reg, "{}", r.name);
        }
    }
    replies.len()
}

/// The JS boundary's cases (what JS sees from `inspect`), expanded into both the Node and the
/// Chromium test files so that the two runs cover the same ground.
#[allow(unused_macros)]
macro_rules! js_cases {
    () => {
        use wasm_bindgen::JsCast;
        use wasm_bindgen::JsValue;
        use wasm_bindgen_test::wasm_bindgen_test;

        const JINJA: &[u8] = include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/corpus/Jinja2-2.11.3-py2.py3-none-any.whl"));
        const HATCH_SDIST: &[u8] = include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/corpus/pp_hatch_demo-1.2.3.tar.gz"));

        fn get(v: &JsValue, path: &str) -> JsValue {
            path.split('.').fold(v.clone(), |acc, k| js_sys::Reflect::get(&acc, &k.into()).unwrap())
        }

        fn blob(bytes: &[u8]) -> web_sys::Blob {
            let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes));
            web_sys::Blob::new_with_u8_array_sequence(&parts).unwrap()
        }

        fn options(filename: &str) -> JsValue {
            let o = js_sys::Object::new();
            js_sys::Reflect::set(&o, &"filename".into(), &filename.into()).unwrap();
            o.into()
        }

        #[wasm_bindgen_test]
        async fn inspect_reads_a_blob_and_returns_a_plain_object() {
            let calls = js_sys::Array::new();
            let cb = js_sys::Function::new_with_args("p", "this.push(p.done)").bind0(&calls);
            let opts = options("Jinja2-2.11.3-py2.py3-none-any.whl");
            js_sys::Reflect::set(&opts, &"onProgress".into(), &cb).unwrap();
            let v = pypublish::wasm::inspect(blob(JINJA).into(), opts).await.unwrap();
            assert_eq!(get(&v, "filename.raw").as_string().unwrap(), "Jinja2-2.11.3-py2.py3-none-any.whl");
            assert_eq!(get(&v, "filename.kind.type").as_string().unwrap(), "wheel");
            assert_eq!(get(&v, "metadata.name").as_string().unwrap(), "Jinja2");
            assert_eq!(get(&v, "digests.sha256").as_string().unwrap(), pypublish::digest::digest_bytes(JINJA).sha256);
            assert!(js_sys::Array::is_array(&get(&v, "form")));
            assert!(calls.length() >= 1, "progress was reported");
            assert_eq!(calls.get(calls.length() - 1).as_f64().unwrap() as usize, JINJA.len());
        }

        #[wasm_bindgen_test]
        async fn inspect_reads_an_sdist_from_bytes() {
            let bytes = js_sys::Uint8Array::from(HATCH_SDIST);
            let v = pypublish::wasm::inspect(bytes.into(), options("pp_hatch_demo-1.2.3.tar.gz")).await.unwrap();
            assert_eq!(get(&v, "filename.kind.format").as_string().unwrap(), "tar.gz");
            assert_eq!(get(&v, "metadataPath").as_string().unwrap(), "pp_hatch_demo-1.2.3/PKG-INFO");
        }

        #[wasm_bindgen_test]
        async fn inspect_errors_are_errors_with_a_kind() {
            let md = common::demo_metadata("other", "1.0");
            let wheel = common::zip_with(&[("demo-1.0.dist-info/METADATA", &md, true)]);
            let err = pypublish::wasm::inspect(blob(&wheel).into(), options("demo-1.0-py3-none-any.whl")).await.unwrap_err();
            assert!(err.is_instance_of::<js_sys::Error>());
            assert_eq!(get(&err, "kind").as_string().unwrap(), "mismatch");
            assert_eq!(get(&err, "retryable").as_bool(), Some(false));
            let msg: String = err.unchecked_ref::<js_sys::Error>().message().into();
            assert!(msg.contains("\"other\""), "{msg}");
            let err = pypublish::wasm::inspect(JsValue::from_f64(3.0), JsValue::UNDEFINED).await.unwrap_err();
            assert_eq!(get(&err, "kind").as_string().unwrap(), "input");
        }

        fn publish_options(fetch: &js_sys::Function) -> js_sys::Object {
            let o = js_sys::Object::new();
            let set = |k: &str, v: &JsValue| js_sys::Reflect::set(&o, &k.into(), v).unwrap();
            set("repositoryUrl", &"https://alice:pw@registry.example/legacy/".into());
            set("retries", &0.into());
            set("fetch", fetch);
            let file = js_sys::Object::new();
            js_sys::Reflect::set(&file, &"file".into(), &blob(JINJA)).unwrap();
            js_sys::Reflect::set(&file, &"filename".into(), &"Jinja2-2.11.3-py2.py3-none-any.whl".into()).unwrap();
            set("files", &js_sys::Array::of1(&file));
            o
        }

        #[wasm_bindgen_test]
        async fn publish_turns_any_status_line_a_fetch_gives_into_a_report() {
            // A caller's fetch may answer with a plain reply: Response cannot carry status 999.
            let fetch = js_sys::Function::new_with_args("req", "return Promise.resolve({ status: 999, statusText: 'Odd', headers: [['content-type', 'text/plain']], body: 'echo ' + req.headers.get('authorization') + ' \\u001b[2J' })");
            let v = pypublish::wasm::publish(publish_options(&fetch).into()).await.unwrap();
            let r = js_sys::Array::from(&v).get(0);
            assert_eq!(get(&r, "status").as_string().unwrap(), "failed");
            assert_eq!(get(&r, "httpStatus").as_f64(), Some(999.0));
            let msg = get(&r, "serverMessage").as_string().unwrap();
            assert!(msg.contains("********") && !msg.contains("YWxpY2U6cHc="), "the echoed Basic value is masked: {msg}");
        }

        #[wasm_bindgen_test]
        async fn publish_reports_every_file_when_cancelled_before_it_starts() {
            let fetch = js_sys::Function::new_with_args("req", "return new Promise(() => {})");
            let o = publish_options(&fetch);
            let c = web_sys::AbortController::new().unwrap();
            c.abort();
            js_sys::Reflect::set(&o, &"signal".into(), &c.signal()).unwrap();
            let v = pypublish::wasm::publish(o.into()).await.unwrap();
            let r = js_sys::Array::from(&v).get(0);
            assert_eq!(get(&r, "kind").as_string().unwrap(), "cancelled");
        }

        #[wasm_bindgen_test]
        fn helpers_shells_share_come_from_the_core() {
            assert!(pypublish::wasm::is_distribution_name("a-1.0-py3-none-any.whl"));
            assert!(!pypublish::wasm::is_distribution_name("a-1.0-py3-none-any.whl.publish.attestation"));
            assert_eq!(pypublish::wasm::redact_url("https://u:p@ss@host/x"), "https://host/x");
            let secrets = js_sys::Array::of1(&"s3".into());
            assert_eq!(pypublish::wasm::sanitize("a s3 \u{1b}[2J", secrets.into()), "a ******** \\u{1b}[2J");
            assert_eq!(pypublish::wasm::describe_dist("demo-1.0.tar.gz").unwrap(), "sdist (tar.gz)");
        }
    };
}

/// A source over bytes that counts requests and bytes.
pub struct CountingSource<'a> {
    pub data: &'a [u8],
    pub requests: usize,
    pub bytes: u64,
}

impl ReadAt for CountingSource<'_> {
    fn size(&self) -> u64 {
        self.data.len() as u64
    }
    fn read_at(&mut self, offset: u64, len: u64) -> std::io::Result<Vec<u8>> {
        self.requests += 1;
        let mut d = self.data;
        let out = d.read_at(offset, len)?;
        self.bytes += out.len() as u64;
        Ok(out)
    }
}
