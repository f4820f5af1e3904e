//! The bodies of the fuzz targets, shared by cargo-fuzz (`fuzz/fuzz_targets/*.rs`, nightly)
//! and by `tests/fuzz_replay.rs`, which replays every saved crash on stable `cargo test`.
//!
//! Each body takes raw bytes, decodes what it needs from them with [`Input`], runs one part of
//! the engine, and asserts what must hold for any input: no panic is the least of it. The
//! harness stays out of the crate so that none of it reaches the wasm build.
#![allow(dead_code)]

use pypublish::archive::{ArchiveError, ByteRange, MetadataFile, MetadataReader, Step, MAX_METADATA};
use pypublish::digest::digest_bytes;
use pypublish::filename::{is_valid_name, normalize_name, DistFilename, DistKind, SdistFormat};
use pypublish::form::Form;
use pypublish::http::Reply;
use pypublish::metadata::Metadata;
use pypublish::multipart::MultipartPlan;
use pypublish::response::{self, Sent};
use pypublish::{simple, version};

/// A target's body.
pub type Body = fn(&[u8]);

/// Every target: its name (the directory under `fuzz/regressions/`) and its body.
///
/// A target is added here, as `fuzz/fuzz_targets/<name>.rs` and as a `[[bin]]` in
/// `fuzz/Cargo.toml`.
pub const TARGETS: &[(&str, Body)] = &[
    ("filename", filename),
    ("metadata", metadata),
    ("archive", archive),
    ("response", response),
    ("simple", simple_index),
    ("redirect", redirect),
    ("checks", checks),
    ("token", token),
    ("preview", preview),
];

/// Structured values read off the front of fuzz bytes; an exhausted input reads as zeros.
pub struct Input<'a> {
    data: &'a [u8],
}

impl<'a> Input<'a> {
    /// Reads from `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Input { data }
    }
    /// One byte.
    pub fn byte(&mut self) -> u8 {
        self.take(1).first().copied().unwrap_or(0)
    }
    /// A little-endian u16.
    pub fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.byte(), self.byte()])
    }
    /// Up to `n` bytes.
    pub fn take(&mut self, n: usize) -> &'a [u8] {
        let (head, tail) = self.data.split_at(n.min(self.data.len()));
        self.data = tail;
        head
    }
    /// A string of up to 255 bytes, its length in the first byte (invalid UTF-8 replaced).
    pub fn string(&mut self) -> String {
        let n = self.byte() as usize;
        String::from_utf8_lossy(self.take(n)).into_owned()
    }
    /// Whatever is left.
    pub fn rest(&mut self) -> &'a [u8] {
        self.take(usize::MAX)
    }
}

/// A normalized PEP 440 version parses back to itself.
fn check_version(text: &str) {
    if let Some(v) = version::parse(text) {
        let norm = v.to_string();
        assert_eq!(version::parse(&norm).as_ref(), Some(&v), "{text:?} normalizes to {norm:?}, which parses differently");
        assert_eq!(version::normalize(&norm), norm);
    }
}

/// File names: whatever parses is a wheel or sdist name whose parts obey their own rules.
pub fn filename(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    check_version(text);
    let Ok(f) = DistFilename::parse(text) else { return };
    assert_eq!(f.raw, text);
    assert!(is_valid_name(&f.name), "{:?}", f.name);
    assert_eq!(f.normalized_name, normalize_name(&f.name));
    assert_eq!(normalize_name(&f.normalized_name), f.normalized_name, "normalizing twice changes {:?}", f.name);
    assert!(version::parse(&f.version).is_some(), "{:?}", f.version);
    check_version(&f.version);
    let lower = text.to_ascii_lowercase();
    match &f.kind {
        DistKind::Wheel(tags) => {
            assert!(lower.ends_with(".whl"));
            assert_eq!(f.pyversion(), tags.python_tag);
            assert!(!tags.python.is_empty() && !tags.abi.is_empty() && !tags.platform.is_empty());
        }
        DistKind::Sdist { format: SdistFormat::TarGz } => assert!(lower.ends_with(".tar.gz")),
        DistKind::Sdist { format: SdistFormat::Zip } => assert!(lower.ends_with(".zip")),
    }
    serde_json::to_string(&f).expect("serializes");
}

/// Metadata through the form and the multipart plan: the body parses back into exactly the
/// form's fields and the file, so no value can add a header or a part.
pub fn metadata(data: &[u8]) {
    let (file_len, text) = match data.split_first() {
        Some((n, rest)) => (*n as usize, rest),
        None => return,
    };
    let Ok(md) = Metadata::parse(text) else { return };
    let _ = md.summary();
    let file = DistFilename::parse(&format!("{}-{}.tar.gz", md.name(), md.version()))
        .unwrap_or_else(|_| DistFilename::parse("demo-1.0-py3-none-any.whl").expect("a valid name"));
    let _ = md.check_filename(&file);
    let form = Form::new(&file, &md, &digest_bytes(text));
    // Field names are fixed and the file name was validated: framing cannot fail.
    let plan = MultipartPlan::new(&form, &file.raw, file_len as u64, text).expect("a plan for a parsed form");
    let content = vec![0xa5; file_len];
    let body = plan.to_bytes(&content);
    assert_eq!(body.len() as u64, plan.content_length());
    assert_eq!(plan.content_length(), plan.head.len() as u64 + file_len as u64 + plan.tail.len() as u64);
    let parts = parse_multipart(&body, &plan.boundary);
    assert_eq!(parts.len(), form.fields.len() + 1, "a value split or added a part");
    for (field, (headers, value)) in form.fields.iter().zip(&parts) {
        assert_eq!(*headers, format!("Content-Disposition: form-data; name=\"{}\"", field.name).as_bytes(), "headers of {:?}", field.name);
        assert_eq!(*value, field.value.as_bytes(), "value of {:?}", field.name);
    }
    let (headers, value) = parts.last().expect("the file part");
    let expected = format!("Content-Disposition: form-data; name=\"content\"; filename=\"{}\"\r\nContent-Type: application/octet-stream", file.raw);
    assert_eq!(*headers, expected.as_bytes());
    assert_eq!(*value, &content[..]);
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Splits a `multipart/form-data` body as a server would: `(headers, content)` per part.
fn parse_multipart<'a>(body: &'a [u8], boundary: &str) -> Vec<(&'a [u8], &'a [u8])> {
    let first = format!("--{boundary}");
    let delimiter = format!("\r\n--{boundary}");
    assert!(body.starts_with(first.as_bytes()), "the body starts with the boundary");
    let mut rest = &body[first.len()..];
    let mut parts = Vec::new();
    loop {
        if rest == b"--\r\n" {
            return parts;
        }
        assert!(rest.starts_with(b"\r\n"), "a delimiter is followed by CRLF");
        rest = &rest[2..];
        let end = find(rest, delimiter.as_bytes()).expect("every part is closed by a delimiter");
        let part = &rest[..end];
        rest = &rest[end + delimiter.len()..];
        let split = find(part, b"\r\n\r\n").expect("every part has a header block");
        parts.push((&part[..split], &part[split + 4..]));
    }
}

/// Project names the archive target may use, so that seeds from real projects get past the
/// `.dist-info` name check.
const NAMES: [&str; 8] = ["demo", "pp_hatch_demo", "pp_setuptools_demo", "pp_flit_demo", "pp_poetry_demo", "six", "entrypoints", "uuid"];

/// The range-driven metadata reader over a file made of the input: it asks only for bytes in
/// the file, never twice for one byte, and ends within its read budget. When the source
/// returns less than asked (as it may), the outcome is the same.
///
/// The first byte picks the format (bits 0-1: wheel, `.tar.gz`, legacy `.zip`), the project
/// name (bits 2-4) and the size of short reads for a second pass (bits 5-6: none, 61, 509 or
/// 4093 bytes). With bit 7 set, the next 5 bytes give a count of zero bytes that precede the
/// rest in a virtual file, so huge archives (a 1.2 M-member directory, 4 GiB offsets) can be
/// described by their tails.
pub fn archive(data: &[u8]) {
    let mut input = Input::new(data);
    let selector = input.byte();
    let pad = if selector & 0x80 != 0 {
        let b = input.take(5);
        b.iter().rev().fold(0u64, |acc, &x| acc << 8 | x as u64)
    } else {
        0
    };
    let bytes = input.rest();
    let name = NAMES[(selector as usize >> 2) & 7];
    let raw = match selector & 3 {
        1 => format!("{name}-1.0.tar.gz"),
        2 => format!("{name}-1.0.zip"),
        _ => format!("{name}-1.0-py3-none-any.whl"),
    };
    let file = DistFilename::parse(&raw).expect("a valid name");
    let whole = read_archive(&file, pad, bytes, u64::MAX);
    let short = match (selector >> 5) & 3 {
        0 => return,
        1 => 61,
        2 => 509,
        _ => 4093,
    };
    let chunked = read_archive(&file, pad, bytes, short);
    let budget = |r: &Result<MetadataFile, ArchiveError>| matches!(r, Err(ArchiveError::ReadBudget { .. } | ArchiveError::SdistReadLimit { .. }));
    if !budget(&whole) && !budget(&chunked) {
        assert_eq!(whole, chunked, "reads of {short} bytes changed the outcome");
    }
}

/// One pass of the reader, each range answered with at most `short` bytes.
fn read_archive(file: &DistFilename, pad: u64, bytes: &[u8], short: u64) -> Result<MetadataFile, ArchiveError> {
    let size = pad + bytes.len() as u64;
    let mut reader = MetadataReader::new(file, size);
    let limits = reader.limits();
    let budget = if matches!(file.kind, DistKind::Sdist { format: SdistFormat::TarGz }) { limits.sdist_read } else { limits.zip_read };
    let mut supplied: Vec<ByteRange> = Vec::new();
    loop {
        let result = match reader.step() {
            Step::Done(result) => result,
            Step::Need(range) => {
                assert!(range.len > 0, "an empty range: {range:?}");
                assert!(range.offset.checked_add(range.len).is_some_and(|end| end <= size), "{range:?} beyond {size} bytes");
                let again = supplied.iter().any(|s| s.offset <= range.offset && range.offset < s.offset + s.len);
                assert!(!again, "{range:?} asks again for bytes already supplied: {supplied:?}");
                let len = range.len.min(short);
                supplied.push(ByteRange { offset: range.offset, len });
                let chunk: Vec<u8> = (range.offset..range.offset + len).map(|p| if p < pad { 0 } else { bytes[(p - pad) as usize] }).collect();
                reader.supply(range.offset, chunk);
                assert!(reader.bytes_read() <= budget, "read {} bytes, over the {budget}-byte budget", reader.bytes_read());
                continue;
            }
        };
        match &result {
            Ok(member) => {
                assert!(member.bytes.len() as u64 <= MAX_METADATA);
                let _ = Metadata::parse(&member.bytes);
            }
            Err(e) => assert!(!e.to_string().is_empty()),
        }
        return result;
    }
}

/// A registry reply decoded: any status, reason, headers and body give a bounded report.
///
/// Layout: status (u16), reason, a header count (0-7) and that many name/value strings, a URL
/// choice (a known registry, or a fuzzed string), a username choice, then the body.
pub fn response(data: &[u8]) {
    const URLS: [&str; 6] = [
        "https://upload.pypi.org/legacy/",
        "https://test.pypi.org/legacy/",
        "https://gitlab.example.com/api/v4/projects/1/packages/pypi",
        "http://127.0.0.1:8080/",
        "https://pkgs.dev.azure.com/o/p/_packaging/f/pypi/upload/",
        "https://example.jfrog.io/artifactory/api/pypi/pypi-local",
    ];
    let mut input = Input::new(data);
    let status = input.u16();
    let reason = input.string();
    let headers: Vec<(String, String)> = (0..input.byte() % 8).map(|_| (input.string(), input.string())).collect();
    let choice = input.byte() as usize;
    let url = URLS.get(choice).map_or_else(|| input.string(), |u| u.to_string());
    let username = match input.byte() % 3 {
        0 => None,
        1 => Some("__token__".to_string()),
        _ => Some(input.string()),
    };
    let body = input.rest();
    let digests = digest_bytes(b"");
    let reply = Reply { status, reason, headers, body: body.to_vec(), truncated: false, now_ms: 0 };
    let Ok(url) = pypublish::url::Url::parse(&url) else { return };
    let sent = Sent { url: &url, username: username.as_deref(), digests: Some(&digests), job: None };
    let d = response::decode(&reply, &sent);
    assert_eq!(d.status, status);
    if let Some(m) = &d.server_message {
        // MAX_MESSAGE bytes and an ellipsis.
        assert!(m.len() <= 1000 + '…'.len_utf8(), "{} bytes kept", m.len());
    }
    assert!(!d.retryable || matches!(d.outcome, response::Outcome::Failed { .. }), "{d:?}");
    serde_json::to_string(&d).expect("serializes");
    for ct in ["text/html", "application/json", "text/plain"] {
        if let Some(m) = response::server_message(&reply, ct) {
            assert!(m.len() <= 1000 + '…'.len_utf8());
        }
    }
}

/// A simple index page (PEP 691 JSON or PEP 503 HTML) searched for a file name.
///
/// Layout: a content-type choice, the file name, then the page.
pub fn simple_index(data: &[u8]) {
    let mut input = Input::new(data);
    let content_type = ["application/vnd.pypi.simple.v1+json", "text/html", "", "application/json"][input.byte() as usize % 4];
    let filename = input.string();
    let body = input.rest();
    if let Ok(simple::Existing::Present { sha256: Some(h) }) = simple::find(body, content_type, &filename) {
        assert_eq!(h, h.to_ascii_lowercase());
    }
}

/// One upload's redirect decision, judged against the `url` crate (WHATWG, as fetch parses):
/// a redirect is followed only as a 307/308, to a URL of the same scheme, host and port as the
/// one it answered, never with userinfo, and never back to a URL already visited.
///
/// Layout: a base URL choice (or a fuzzed string), the status, then the `Location` value.
pub fn redirect(data: &[u8]) {
    const BASES: [&str; 5] = [
        "https://upload.pypi.org/legacy",
        "http://127.0.0.1:8080/legacy/",
        "https://gitlab.example.com/api/v4/projects/1/packages/pypi",
        "http://[::1]:9/a/b",
        "https:///host/x",
    ];
    let mut input = Input::new(data);
    let choice = input.byte() as usize;
    let base = BASES.get(choice % 8).map_or_else(|| input.string(), |u| u.to_string());
    let status = 300 + input.u16() % 10;
    let location = String::from_utf8_lossy(input.rest()).into_owned();
    let Ok(url) = pypublish::url::Url::parse(&base) else { return };
    let mut oracle_base = ::url::Url::parse(base.trim()).expect("our parse implies WHATWG's");
    // The configured URL's own userinfo becomes the Authorization header, never part of the URL
    // requests go to: compare against the URL without it.
    let _ = oracle_base.set_username("");
    let _ = oracle_base.set_password(None);
    let mut up = pypublish::publish::Upload::new("demo-1.0.tar.gz", &url, pypublish::publish::Policy::default());
    up.start();
    let reply = Reply { status, reason: String::new(), headers: vec![("Location".into(), location.clone())], body: Vec::new(), truncated: false, now_ms: 0 };
    match up.on_reply(&reply, Some("u"), None, 0.5) {
        pypublish::publish::Action::Send { url: to, .. } => {
            assert!(matches!(status, 307 | 308), "followed a {status}");
            let oracle = oracle_base.join(&location).expect("followed a Location WHATWG cannot resolve");
            assert!(oracle.username().is_empty() && oracle.password().is_none(), "followed a Location with userinfo");
            assert_eq!(oracle.origin(), oracle_base.origin(), "followed {location:?} to another origin");
            assert_eq!(to.as_str(), oracle.as_str(), "resolved {location:?} unlike WHATWG");
            assert_ne!(to.as_str(), oracle_base.as_str(), "followed a redirect to itself");
        }
        pypublish::publish::Action::Done(r) => assert_eq!(r.status, pypublish::report::Status::Failed),
        other => panic!("a redirect led to {other:?}"),
    }
}

/// PyPI's own checks over fuzzed metadata text and a fuzzed description: the RST validator,
/// classifiers, License-Expression and PEP 508 requirements. Every finding says what it is, and
/// its line lies inside the description.
///
/// Layout: a content-type choice, then METADATA text (headers, blank line, description).
pub fn checks(data: &[u8]) {
    let Some((choice, text)) = data.split_first() else { return };
    let ctype = ["", "text/x-rst", "text/markdown", "text/plain"][*choice as usize % 4];
    let mut md_text = "Metadata-Version: 2.4\nName: demo\nVersion: 1.0\n".to_string();
    if !ctype.is_empty() {
        md_text.push_str(&format!("Description-Content-Type: {ctype}\n"));
    }
    md_text.push_str(&String::from_utf8_lossy(text));
    if let Ok(md) = Metadata::parse(md_text.as_bytes()) {
        let lines = md
            .raw_description()
            .map_or(0, |d| d.matches(['\n', '\r', '\u{b}', '\u{c}', '\u{1c}', '\u{1d}', '\u{1e}', '\u{85}', '\u{2028}', '\u{2029}']).count() + 1)
            as u32;
        for f in pypublish::checks::check_metadata(&md) {
            assert!(!f.message.is_empty() && !f.code.is_empty());
            if f.field == "description" {
                assert!(f.line.is_none_or(|l| l >= 1 && l <= lines.max(1) + 1), "{f:?} beyond {lines} lines");
            }
        }
    }
    // The RST validator alone: whatever it finds stops the upload (PyPI renders or refuses),
    // on a line of the text.
    let raw = String::from_utf8_lossy(text);
    // Lines as docutils counts them (Python's str.splitlines), so findings agree with PyPI's.
    let lines = raw.matches(['\n', '\r', '\u{b}', '\u{c}', '\u{1c}', '\u{1d}', '\u{1e}', '\u{85}', '\u{2028}', '\u{2029}']).count() as u32 + 1;
    for f in pypublish::checks::rst::check(&raw) {
        assert!(f.blocking, "an RST finding that does not block: {f:?}");
        // docutils names the line after the last for what it expected and did not find
        // ("Literal block expected; none found."), and so do we.
        assert!(f.line.is_none_or(|l| l >= 1 && l <= lines + 1), "{f:?} beyond {lines} lines");
    }
}

/// A PyPI API token read locally: decoding any bytes never panics, and no finding repeats the
/// token (a finding is shown; the token must never be).
///
/// Layout: a project-name count, the names, then the token's text after `pypi-`.
pub fn token(data: &[u8]) {
    let mut input = Input::new(data);
    let names: Vec<String> = (0..input.byte() % 4).map(|_| input.string()).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let now = i64::from(input.u16()) * 100_000;
    let secret = String::from_utf8_lossy(input.rest()).into_owned();
    let token = format!("pypi-{secret}");
    let _ = pypublish::checks::macaroon::decode(&token);
    // A secret that looks like a token's base64 (long, no spaces, digits and capitals): our own
    // English could otherwise hold any fuzzed string of words.
    let token_like = secret.len() >= 20
        && !secret.contains(char::is_whitespace)
        && secret.contains(|c: char| c.is_ascii_digit())
        && secret.contains(|c: char| c.is_ascii_uppercase());
    for f in pypublish::checks::macaroon::check_token_for(&token, "upload.pypi.org", &names, now) {
        if token_like {
            assert!(!f.message.contains(&secret), "a finding repeats the token: {f:?}");
        }
    }
}

/// The release preview's description rendering (Markdown through pulldown-cmark, RST through
/// our renderer, both through ammonia): whatever the text, the HTML the page inserts carries
/// no script, no event handler, no `javascript:`/`data:` link and no image.
///
/// Layout: a content-type choice, then the description text.
pub fn preview(data: &[u8]) {
    let Some((choice, text)) = data.split_first() else { return };
    let text = String::from_utf8_lossy(text);
    let ctype = ["text/markdown", "text/markdown; variant=CommonMark", "text/x-rst", "text/plain"][*choice as usize % 4];
    let Ok(md) = Metadata::parse(format!("Metadata-Version: 2.1\nName: demo\nVersion: 1.0\nDescription-Content-Type: {ctype}\n\n{text}").as_bytes()) else {
        return;
    };
    let d = pypublish::preview::description(&md);
    let html = d.html.unwrap_or_default();
    let lower = html.to_ascii_lowercase();
    // Text is escaped (`&lt;script`), so a literal `<script` would be a tag.
    for tag in ["<script", "<style", "<iframe", "<img", "<object", "<embed", "<svg", "<form", "<base", "<meta", "<link"] {
        assert!(!lower.contains(tag), "{tag} in {html}");
    }
    for t in lower.split('<').skip(1) {
        let inside = t.split('>').next().unwrap_or_default();
        for (name, value) in attributes(inside) {
            assert!(!name.starts_with("on"), "an event handler in {html}");
            if name == "href" || name == "src" {
                // `http:cipt` is http's own (page-relative); what matters is that no other
                // scheme (javascript:, data:, vbscript:) gets through.
                assert!(
                    value.starts_with("http:") || value.starts_with("https:") || value.starts_with("mailto:") || value.starts_with('#'),
                    "a link to {value:?} in {html}"
                );
            }
        }
    }
}

/// The attributes of one tag's inside (`a href="x" rel=y`): names and values, quotes honoured.
fn attributes(inside: &str) -> Vec<(&str, &str)> {
    let mut out = Vec::new();
    let mut rest = inside.trim_start_matches(|c: char| !c.is_whitespace()).trim_start();
    while !rest.is_empty() {
        let name_end = rest.find(|c: char| c == '=' || c.is_whitespace()).unwrap_or(rest.len());
        let name = &rest[..name_end];
        rest = rest[name_end..].trim_start();
        let mut value = "";
        if let Some(after) = rest.strip_prefix('=') {
            let after = after.trim_start();
            let (v, r) = match after.chars().next() {
                Some(q @ ('"' | '\'')) => match after[1..].find(q) {
                    Some(end) => (&after[1..1 + end], &after[end + 2..]),
                    None => (&after[1..], ""),
                },
                _ => after.split_at(after.find(char::is_whitespace).unwrap_or(after.len())),
            };
            value = v;
            rest = r.trim_start();
        }
        if !name.is_empty() {
            out.push((name, value));
        }
    }
    out
}
