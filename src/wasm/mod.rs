//! The JS boundary: the only module that knows about `JsValue`, Blobs and promises.
//!
//! Exports convert between JS values and the core's types and perform IO for it; decisions
//! are the core's. Failures become an `Error` carrying `kind`, `hint` and `retryable`, never a
//! panic, and every string that goes out has been masked and escaped by the core.

use js_sys::{Function, Object, Reflect, Uint8Array};
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::digest::Digester;
use crate::filename::DistFilename;
use crate::mask::{escape_block, Secrets};
use crate::report::Kind;
use crate::{finish_inspection, Error};

#[cfg(feature = "preview")]
mod preview;
mod publish;
mod source;
mod stream;
mod transport;
pub use publish::publish;
use source::{read_member, Source};

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
  digests: Digests | null;
  form: { name: string; value: string }[] | null;
  metadataBytesRead: number;
  /** What PyPI's own checks find (blocking ones would be refused), with line numbers in the description. */
  findings: Finding[];
}
/** One problem PyPI's checks find before upload. */
export interface Finding { code: string; field: string; line: number | null; message: string; blocking: boolean }
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
  kind: Kind;
  hint?: string;
  retryable: boolean;
}
/** What is known of a registry from its upload URL. */
export interface RegistryInfo { registry: string; uploadUrl: string; checkUrl?: string; browserCors: boolean }
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
        self.inner.as_mut().ok_or_else(|| js_error(Kind::Input, "update() after finish()", None))?.update(chunk);
        Ok(())
    }

    /// The three digests in lowercase hex, and the length.
    #[wasm_bindgen(unchecked_return_type = "Digests")]
    pub fn finish(&mut self) -> Result<JsValue, JsValue> {
        let d = self.inner.take().ok_or_else(|| js_error(Kind::Input, "finish() called twice", None))?;
        to_js(&d.finish()).map_err(|e| js_error(Kind::Input, &e.to_string(), None))
    }
}

/// Incremental blake2b-256 alone, for shells whose runtime has native sha256 and md5 but no
/// BLAKE2b-256 (Node): with `createHasher` they hash a body at twice our three-digest speed.
#[wasm_bindgen]
pub struct Blake2b256 {
    inner: Option<blake2::Blake2b256>,
}

#[wasm_bindgen]
impl Blake2b256 {
    /// A fresh hasher.
    #[wasm_bindgen(constructor)]
    #[allow(clippy::new_without_default)]
    pub fn new() -> Blake2b256 {
        use blake2::Digest;
        Blake2b256 { inner: Some(blake2::Blake2b256::new()) }
    }

    /// Feeds one chunk.
    pub fn update(&mut self, chunk: &[u8]) -> Result<(), JsValue> {
        use blake2::Digest;
        self.inner.as_mut().ok_or_else(|| js_error(Kind::Input, "update() after finish()", None))?.update(chunk);
        Ok(())
    }

    /// The digest in lowercase hex.
    pub fn finish(&mut self) -> Result<String, JsValue> {
        use blake2::Digest;
        let h = self.inner.take().ok_or_else(|| js_error(Kind::Input, "finish() called twice", None))?;
        Ok(crate::digest::hex(&h.finalize()))
    }
}

/// The package version.
#[wasm_bindgen(js_name = version)]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").into()
}

/// True for names that end like a distribution (`.whl`, `.tar.gz`, `.zip`); says nothing of
/// whether the rest of the name is valid.
#[wasm_bindgen(js_name = isDistributionName)]
pub fn is_distribution_name(name: &str) -> bool {
    crate::is_distribution_name(name)
}

/// A URL without its credentials, fit to show (WHATWG parsing, as fetch does).
#[wasm_bindgen(js_name = redactUrl)]
pub fn redact_url(url: &str) -> String {
    crate::mask::escape_line(&crate::url::redact(url))
}

/// One line fit to show: `secrets` masked (with their encoded forms), control characters escaped.
#[wasm_bindgen]
pub fn sanitize(text: &str, #[wasm_bindgen(unchecked_param_type = "string[] | undefined")] secrets: JsValue) -> String {
    secrets_of(&secrets).clean(text)
}

/// Like `sanitize`, but keeps line breaks and tabs (for a raw reply body).
#[wasm_bindgen(js_name = sanitizeBlock)]
pub fn sanitize_block(text: &str, #[wasm_bindgen(unchecked_param_type = "string[] | undefined")] secrets: JsValue) -> String {
    let s = secrets_of(&secrets);
    if s.is_empty() {
        escape_block(text)
    } else {
        s.clean_block(text)
    }
}

fn secrets_of(v: &JsValue) -> Secrets {
    let mut s = Secrets::new();
    if js_sys::Array::is_array(v) {
        for x in js_sys::Array::from(v).iter().filter_map(|x| x.as_string()) {
            s.add(&x);
        }
    }
    s
}

/// "wheel py3-none-any" or "sdist (tar.gz)" for a distribution file name.
#[wasm_bindgen(js_name = describeDist)]
pub fn describe_dist(filename: &str) -> Result<String, JsValue> {
    let f = DistFilename::parse(filename).map_err(|e| core_error(&Error::from(e)))?;
    Ok(crate::describe_dist(&f))
}

/// What is known of a registry from its upload URL (or from `kind`, when the caller knows the
/// family: "devpi", "pypiserver", "gitlab", …): the simple index to check files against, and
/// whether a page can reach it without a relay.
#[wasm_bindgen(js_name = registryFor, unchecked_return_type = "RegistryInfo")]
pub fn registry_for(url: &str, #[wasm_bindgen(unchecked_param_type = "string | undefined")] kind: JsValue) -> Result<JsValue, JsValue> {
    let known = match kind.as_string() {
        Some(k) => Some(
            serde_json::from_value(serde_json::Value::String(k.clone())).map_err(|_| js_error(Kind::Input, &format!("unknown registry kind {k:?}"), None))?,
        ),
        None => None,
    };
    let info = crate::registry_info(url, known).map_err(|e| js_error(Kind::Input, &e.to_string(), None))?;
    to_js(&info).map_err(|e| js_error(Kind::Input, &e.to_string(), None))
}

/// Inspects a distribution given as a `Blob`/`File` or bytes.
#[wasm_bindgen(unchecked_return_type = "Inspection")]
pub async fn inspect(
    #[wasm_bindgen(unchecked_param_type = "Blob | File | Uint8Array | ArrayBuffer")] file: JsValue,
    #[wasm_bindgen(unchecked_param_type = "InspectOptions | undefined")] options: JsValue,
) -> Result<JsValue, JsValue> {
    let get = |k: &str| if options.is_object() { Reflect::get(&options, &k.into()).unwrap_or(JsValue::UNDEFINED) } else { JsValue::UNDEFINED };
    let filename = match get("filename") {
        v if v.is_undefined() || v.is_null() => None,
        v => Some(v.as_string().ok_or_else(|| js_error(Kind::Input, "options.filename must be a string", None))?),
    };
    let hash = get("hash").as_bool().unwrap_or(true);
    let on_progress = get("onProgress").dyn_into::<Function>().ok();
    let source = Source::from_js(&file).map_err(|e| js_error(Kind::Input, &e, None))?;
    let name = filename
        .or_else(|| source::name_of(&file))
        .ok_or_else(|| js_error(Kind::Input, "inspect() was given bytes without a file name; pass { filename }", None))?;
    let dist = DistFilename::parse(&name).map_err(|e| core_error(&Error::from(e)))?;
    let size = source.size();
    let (member, bytes_read) = read_member(&source, &dist).await.map_err(|(kind, message)| js_error(kind, &message, kind.hint()))?;
    let digests = if hash {
        let report = move |done: u64, total: u64| progress(&on_progress, &name, "hash", done, total, None);
        Some(source.digest(&report).await.map_err(|e| js_error(Kind::Source, &format!("{} could not be read: {e}", dist.raw), Kind::Source.hint()))?)
    } else {
        None
    };
    let inspection = finish_inspection(&dist, size, &member, bytes_read, digests).map_err(|e| core_error(&e))?;
    to_js(&inspection).map_err(|e| js_error(Kind::Input, &format!("could not convert the result: {e}"), None))
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = crypto, js_name = getRandomValues)]
    pub(crate) fn get_random_values(buf: &mut [u8]);
}

/// The order `publish()` sends `filenames` in, as indices: wheels first, each kind in the order given.
#[wasm_bindgen(js_name = sendOrder)]
pub fn send_order(filenames: Vec<String>) -> Vec<u32> {
    crate::batch::send_order(&filenames).into_iter().map(|i| i as u32).collect()
}

/// Plans the multipart body for `form` and a file of `fileLength` bytes named `filename`.
#[wasm_bindgen(js_name = planUpload, unchecked_return_type = "UploadPlan")]
pub fn plan_upload(
    #[wasm_bindgen(unchecked_param_type = "{ name: string; value: string }[]")] form: JsValue,
    filename: &str,
    #[wasm_bindgen(js_name = fileLength)] file_length: f64,
) -> Result<JsValue, JsValue> {
    let fields: Vec<crate::form::Field> =
        serde_wasm_bindgen::from_value(form).map_err(|e| js_error(Kind::Input, &format!("form must be an array of {{ name, value }}: {e}"), None))?;
    if !((0.0..=9_007_199_254_740_991.0).contains(&file_length) && file_length.fract() == 0.0) {
        return Err(js_error(Kind::Input, "fileLength must be a whole number of bytes", None));
    }
    let mut entropy = [0u8; 32];
    get_random_values(&mut entropy);
    let plan =
        crate::multipart::MultipartPlan::new(&crate::form::Form { fields }, filename, file_length as u64, &entropy).map_err(|e| core_error(&Error::from(e)))?;
    let out = Object::new();
    let set = |k: &str, v: &JsValue| Reflect::set(&out, &k.into(), v).map(|_| ());
    set("boundary", &plan.boundary.as_str().into())?;
    set("contentType", &plan.content_type().into())?;
    set("contentLength", &(plan.content_length() as f64).into())?;
    set("head", &Uint8Array::from(plan.head.as_slice()).into())?;
    set("tail", &Uint8Array::from(plan.tail.as_slice()).into())?;
    Ok(out.into())
}

/// Calls `onProgress`; a throwing callback must not abort the work it reports on.
pub(crate) fn progress(cb: &Option<Function>, filename: &str, phase: &str, done: u64, total: u64, reason: Option<&str>) {
    #[derive(Serialize)]
    struct P<'a> {
        filename: &'a str,
        phase: &'a str,
        done: u64,
        total: u64,
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<&'a str>,
    }
    if let (Some(cb), Ok(v)) = (cb, to_js(&P { filename, phase, done, total, reason })) {
        let _ = cb.call1(&JsValue::NULL, &v);
    }
}

pub(crate) fn to_js<T: Serialize>(v: &T) -> Result<JsValue, serde_wasm_bindgen::Error> {
    v.serialize(&serde_wasm_bindgen::Serializer::json_compatible())
}

fn core_error(e: &Error) -> JsValue {
    js_error(e.kind(), &e.to_string(), e.kind().hint())
}

pub(crate) fn input_error(e: &crate::batch::InputError) -> JsValue {
    js_error(Kind::Input, &e.message, e.hint.as_deref())
}

/// An `Error` with `kind`, `hint` and `retryable` set; its text escaped.
pub(crate) fn js_error(kind: Kind, message: &str, hint: Option<&str>) -> JsValue {
    let err = js_sys::Error::new(&crate::mask::escape_line(message));
    let obj: &Object = err.as_ref();
    let _ = Reflect::set(obj, &"kind".into(), &kind.as_str().into());
    if let Some(h) = hint {
        let _ = Reflect::set(obj, &"hint".into(), &crate::mask::escape_line(h).into());
    }
    let _ = Reflect::set(obj, &"retryable".into(), &kind.retryable().into());
    err.into()
}
