//! The JS boundary: the only module that knows about `JsValue`, Blobs and promises.
//!
//! It reads byte ranges from a `Blob`/`File` (never the whole file) or a `Uint8Array`, drives
//! the core's sans-IO reader, and hands JS plain objects. Failures become an `Error` carrying
//! `kind`, `hint` and `retryable`, never a panic.

use js_sys::{Function, Object, Reflect, Uint8Array};
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Blob, File};

use crate::archive::{MetadataFile, MetadataReader, Step};
use crate::digest::{DigestSet, Digester};
use crate::filename::DistFilename;
use crate::{finish_inspection, Error, HASH_CHUNK};

mod publish;
mod stream;
pub use publish::publish;

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &str = r#"
/** Options for `inspect`. */
export interface InspectOptions {
  /** The distribution's file name; required for bytes, defaults to `File.name`. */
  filename?: string;
  /** Compute digests and the upload form (reads the whole file). Default true. */
  hash?: boolean;
  /** Called as bytes are hashed. */
  onProgress?: (p: { filename: string; phase: "hash"; done: number; total: number }) => void;
}
/** Tags of a wheel, or the format of an sdist. */
export type DistKind =
  | { type: "wheel"; build: string | null; pythonTag: string; python: string[]; abi: string[]; platform: string[] }
  | { type: "sdist"; format: "tar.gz" | "zip" };
/** What `inspect` found. */
export interface Inspection {
  filename: { raw: string; name: string; normalizedName: string; version: string; kind: DistKind };
  size: number;
  metadataPath: string;
  metadata: {
    metadataVersion: string; name: string; version: string; summary: string | null;
    description: string | null; descriptionContentType: string | null; requiresPython: string | null;
    requiresDist: string[]; license: string | null; licenseExpression: string | null;
    author: string | null; authorEmail: string | null; classifiers: string[]; projectUrls: [string, string][];
  };
  digests: { sha256: string; md5: string; blake2_256: string; len: number } | null;
  form: { name: string; value: string }[] | null;
  metadataBytesRead: number;
}
/** A multipart body planned around a file: send `new Blob([head, file, tail])`. */
export interface UploadPlan {
  boundary: string;
  contentType: string;
  contentLength: number;
  head: Uint8Array;
  tail: Uint8Array;
}
/** Every error pypublish throws is an `Error` with these fields. */
export interface PypublishError extends Error {
  kind: "input" | "filename" | "archive" | "metadata" | "mismatch" | "multipart" | "source";
  hint?: string;
  retryable: boolean;
}
"#;

/// Incremental sha256, md5 and blake2b-256 for JS streams: feed chunks, then `finish()`.
#[wasm_bindgen]
pub struct Hasher {
    inner: Option<Digester>,
}

#[wasm_bindgen]
impl Hasher {
    /// A fresh hasher.
    #[wasm_bindgen(constructor)]
    #[allow(clippy::new_without_default)]
    pub fn new() -> Hasher {
        Hasher { inner: Some(Digester::new()) }
    }

    /// Feeds one chunk.
    pub fn update(&mut self, chunk: &[u8]) -> Result<(), JsValue> {
        self.inner.as_mut().ok_or_else(|| js_error("input", "update() after finish()", None))?.update(chunk);
        Ok(())
    }

    /// The three digests in lowercase hex, and the length.
    #[wasm_bindgen(unchecked_return_type = "{ sha256: string; md5: string; blake2_256: string; len: number }")]
    pub fn finish(&mut self) -> Result<JsValue, JsValue> {
        let d = self.inner.take().ok_or_else(|| js_error("input", "finish() called twice", None))?;
        to_js(&d.finish()).map_err(|e| js_error("input", &e.to_string(), None))
    }
}

/// The package version.
#[wasm_bindgen(js_name = version)]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").into()
}

/// Inspects a distribution given as a `Blob`/`File` or bytes.
#[wasm_bindgen(unchecked_return_type = "Inspection")]
pub async fn inspect(
    #[wasm_bindgen(unchecked_param_type = "Blob | File | Uint8Array | ArrayBuffer")] file: JsValue,
    #[wasm_bindgen(unchecked_param_type = "InspectOptions | undefined")] options: JsValue,
) -> Result<JsValue, JsValue> {
    let opts = Options::read(&options)?;
    let source = Source::from_js(&file)?;
    let name = match (opts.filename, file.dyn_ref::<File>(), Reflect::get(&file, &"filename".into()).ok().and_then(|v| v.as_string())) {
        (Some(n), _, _) => n,
        (None, Some(f), _) => f.name(),
        (None, None, Some(n)) => n,
        (None, None, None) => return Err(js_error("input", "inspect() was given bytes without a file name; pass { filename }", None)),
    };
    let dist = DistFilename::parse(&name).map_err(|e| core_error(&Error::from(e)))?;
    let size = source.size();
    let (member, bytes_read) = read_member(&source, &dist).await.map_err(|(kind, message)| js_error(&kind, &message, crate::hint_for_kind(&kind)))?;
    let digests = if opts.hash {
        let cb = opts.on_progress.clone();
        let report = move |done: u64, total: u64| progress(&cb, &name, "hash", done, total);
        Some(source.digest(&report).await.map_err(|e| source_error(&dist.raw, e))?)
    } else {
        None
    };
    let inspection = finish_inspection(&dist, size, &member, bytes_read, digests).map_err(|e| core_error(&e))?;
    to_js(&inspection).map_err(|e| js_error("input", &format!("could not convert the result: {e}"), None))
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = crypto, js_name = getRandomValues)]
    pub(crate) fn get_random_values(buf: &mut [u8]);
}

/// Plans the multipart body for `form` and a file of `fileLength` bytes named `filename`.
#[wasm_bindgen(js_name = planUpload, unchecked_return_type = "UploadPlan")]
pub fn plan_upload(
    #[wasm_bindgen(unchecked_param_type = "{ name: string; value: string }[]")] form: JsValue,
    filename: &str,
    #[wasm_bindgen(js_name = fileLength)] file_length: f64,
) -> Result<JsValue, JsValue> {
    let fields: Vec<crate::form::Field> = serde_wasm_bindgen::from_value(form)
        .map_err(|e| js_error("input", &format!("form must be an array of {{ name, value }}: {e}"), None))?;
    if !((0.0..=9_007_199_254_740_991.0).contains(&file_length) && file_length.fract() == 0.0) {
        return Err(js_error("input", "fileLength must be a whole number of bytes", None));
    }
    let mut entropy = [0u8; 32];
    get_random_values(&mut entropy);
    let plan = crate::multipart::MultipartPlan::new(&crate::form::Form { fields }, filename, file_length as u64, &entropy)
        .map_err(|e| core_error(&Error::from(e)))?;
    let out = Object::new();
    let set = |k: &str, v: &JsValue| Reflect::set(&out, &k.into(), v).map(|_| ());
    set("boundary", &plan.boundary.as_str().into())?;
    set("contentType", &plan.content_type().into())?;
    set("contentLength", &(plan.content_length() as f64).into())?;
    set("head", &Uint8Array::from(plan.head.as_slice()).into())?;
    set("tail", &Uint8Array::from(plan.tail.as_slice()).into())?;
    Ok(out.into())
}

/// Drives the core's range reader over a JS source; errors as `(kind, message)`.
pub(crate) async fn read_member(source: &Source, file: &DistFilename) -> Result<(MetadataFile, u64), (String, String)> {
    let mut reader = MetadataReader::new(file, source.size());
    loop {
        match reader.step() {
            Step::Done(r) => {
                let e = match r {
                    Ok(m) => return Ok((m, reader.bytes_read())),
                    Err(e) => Error::from(e),
                };
                return Err((e.kind().into(), e.to_string()));
            }
            Step::Need(range) => {
                let unreadable = |d: String| ("source".to_string(), format!("{} could not be read: {d}", file.raw));
                let data = source.read(range.offset, range.len).await.map_err(unreadable)?;
                if data.is_empty() {
                    return Err(unreadable("it is shorter than its own directory says".into()));
                }
                reader.supply(range.offset, data);
            }
        }
    }
}

/// Calls `onProgress`; a throwing callback must not abort the work it reports on.
pub(crate) fn progress(cb: &Option<Function>, filename: &str, phase: &str, done: u64, total: u64) {
    #[derive(Serialize)]
    struct P<'a> {
        filename: &'a str,
        phase: &'a str,
        done: u64,
        total: u64,
    }
    if let (Some(cb), Ok(v)) = (cb, to_js(&P { filename, phase, done, total })) {
        let _ = cb.call1(&JsValue::NULL, &v);
    }
}

struct Options {
    filename: Option<String>,
    hash: bool,
    on_progress: Option<Function>,
}

impl Options {
    fn read(v: &JsValue) -> Result<Self, JsValue> {
        if v.is_undefined() || v.is_null() {
            return Ok(Options { filename: None, hash: true, on_progress: None });
        }
        let get = |k: &str| Reflect::get(v, &JsValue::from_str(k)).unwrap_or(JsValue::UNDEFINED);
        let filename = get("filename");
        let filename = if filename.is_undefined() {
            None
        } else {
            Some(filename.as_string().ok_or_else(|| js_error("input", "options.filename must be a string", None))?)
        };
        let hash = get("hash").as_bool().unwrap_or(true);
        let on_progress = get("onProgress").dyn_into::<Function>().ok();
        Ok(Options { filename, hash, on_progress })
    }
}

/// Where a distribution's bytes come from.
#[derive(Clone)]
pub(crate) enum Source {
    Blob(Blob),
    Bytes(Uint8Array),
    Stream(std::rc::Rc<stream::StreamSource>),
}

impl Source {
    fn from_js(v: &JsValue) -> Result<Self, JsValue> {
        if let Some(b) = v.dyn_ref::<Blob>() {
            Ok(Source::Blob(b.clone()))
        } else if let Some(u) = v.dyn_ref::<Uint8Array>() {
            Ok(Source::Bytes(u.clone()))
        } else if v.is_instance_of::<js_sys::ArrayBuffer>() {
            Ok(Source::Bytes(Uint8Array::new(v)))
        } else if let Some(s) = stream::StreamSource::from_js(v) {
            s.map(|s| Source::Stream(std::rc::Rc::new(s))).map_err(|e| js_error("input", &e, None))
        } else {
            Err(js_error("input", "expected a Blob, File, Uint8Array, ArrayBuffer or { size, stream() }", None))
        }
    }

    pub(crate) fn size(&self) -> u64 {
        match self {
            Source::Blob(b) => b.size() as u64,
            Source::Bytes(u) => u.length() as u64,
            Source::Stream(s) => s.size,
        }
    }

    async fn slice(&self, offset: u64, len: u64) -> Result<Uint8Array, String> {
        let end = offset.saturating_add(len).min(self.size());
        match self {
            Source::Bytes(u) => Ok(u.subarray(offset as u32, end as u32)),
            Source::Blob(b) => {
                let part = b.slice_with_f64_and_f64(offset as f64, end as f64).map_err(describe)?;
                let buf = JsFuture::from(part.array_buffer()).await.map_err(describe)?;
                Ok(Uint8Array::new(&buf))
            }
            Source::Stream(s) => s.read_range(offset, len).await,
        }
    }

    pub(crate) async fn read(&self, offset: u64, len: u64) -> Result<Vec<u8>, String> {
        Ok(self.slice(offset, len).await?.to_vec())
    }

    /// Fills `buf` from `offset`, reusing the caller's buffer for every chunk.
    pub(crate) async fn read_into(&self, offset: u64, buf: &mut [u8]) -> Result<(), String> {
        let part = self.slice(offset, buf.len() as u64).await?;
        if part.length() as usize != buf.len() {
            return Err("the file changed size while it was being read".into());
        }
        part.copy_to(buf);
        Ok(())
    }

    /// sha256, md5 and blake2b-256 in one pass through one reusable buffer; `on(done, total)`
    /// hears the progress. A stream source must give exactly its size (and its sha256, if given).
    pub(crate) async fn digest(&self, on: &dyn Fn(u64, u64)) -> Result<DigestSet, String> {
        let size = self.size();
        let mut d = Digester::new();
        on(0, size);
        let Source::Stream(s) = self else {
            let mut buf = vec![0u8; HASH_CHUNK.min(size) as usize];
            while d.len() < size {
                let n = HASH_CHUNK.min(size - d.len()) as usize;
                self.read_into(d.len(), &mut buf[..n]).await?;
                d.update(&buf[..n]);
                on(d.len(), size);
            }
            return Ok(d.finish());
        };
        let reader = s.open_with(true).await?;
        let mut buf = Vec::new();
        while let Some(chunk) = reader.next().await? {
            if d.len() + chunk.length() as u64 > size {
                reader.cancel();
                return Err(format!("it is longer than its stated size of {size} bytes"));
            }
            buf.resize(chunk.length() as usize, 0);
            chunk.copy_to(&mut buf);
            d.update(&buf);
            on(d.len(), size);
        }
        if d.len() != size {
            return Err(format!("it ended after {} of its stated {size} bytes", d.len()));
        }
        let digests = d.finish();
        match &s.sha256 {
            Some(want) if *want != digests.sha256 => Err(format!("its sha256 is {}, not the {want} it was given with", digests.sha256)),
            _ => Ok(digests),
        }
    }
}

fn describe(v: JsValue) -> String {
    v.dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| v.as_string())
        .unwrap_or_else(|| "the runtime refused to read the file".into())
}

pub(crate) fn to_js<T: Serialize>(v: &T) -> Result<JsValue, serde_wasm_bindgen::Error> {
    v.serialize(&serde_wasm_bindgen::Serializer::json_compatible())
}

fn source_error(name: &str, detail: String) -> JsValue {
    js_error("source", &format!("{name} could not be read: {detail}"), crate::hint_for_kind("source"))
}

fn core_error(e: &Error) -> JsValue {
    js_error(e.kind(), &e.to_string(), crate::hint_for_kind(e.kind()))
}

/// An `Error` with `kind`, `hint` and `retryable` set.
pub(crate) fn js_error(kind: &str, message: &str, hint: Option<&str>) -> JsValue {
    let err = js_sys::Error::new(message);
    let obj: &Object = err.as_ref();
    let _ = Reflect::set(obj, &"kind".into(), &kind.into());
    if let Some(h) = hint {
        let _ = Reflect::set(obj, &"hint".into(), &h.into());
    }
    let _ = Reflect::set(obj, &"retryable".into(), &false.into());
    err.into()
}
