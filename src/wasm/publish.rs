//! `publish()`: the fetch transport around the core's per-file state machine.
//!
//! Every file's metadata is read and checked before anything is sent, so a batch with a broken
//! file sends nothing. Then each file is hashed (the next one while the current one uploads)
//! and sent as `Blob([head, file, tail])`, which keeps the file out of wasm memory.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Array, Function, Promise, Reflect, Uint8Array};
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::{future_to_promise, JsFuture};
use web_sys::{AbortController, AbortSignal, Blob};

use super::stream::{fixed_length_body, BodyFailure, BodySource};
use super::{js_error, progress, to_js, Source};
use crate::auth::{self, Given, Resolved, ACCEPT};
use crate::digest::DigestSet;
use crate::filename::DistFilename;
use crate::form::Form;
use crate::metadata::Metadata;
use crate::multipart::MultipartPlan;
use crate::publish::{check_reply, decide_existing, Action, Policy, Report, Status, Upload};
use crate::simple::{self, ACCEPT_SIMPLE};
use crate::response::{Reply, Sent};

#[wasm_bindgen(typescript_custom_section)]
const TS_PUBLISH: &str = r#"
/** A file to publish: a `File`, a `Blob` with its distribution file name, or a stream source. */
export type PublishFile = File | { file: Blob; filename: string; attestations?: (string | object)[] } | StreamFile;
/**
 * A file that is not a Blob (say, behind a URL in an edge function), read twice: once to hash
 * it, once into the request body. `size` must be exact; the body stream stops before the end
 * of the request if the bytes differ from what was hashed. `read(offset, length)` (for example
 * an HTTP Range request) lets the metadata be read without streaming the file; without it the
 * stream is opened again and skipped through.
 */
export interface StreamFile {
  filename: string;
  size: number;
  stream: () => ReadableStream<Uint8Array> | Response | Promise<ReadableStream<Uint8Array> | Response>;
  read?: (offset: number, length: number) => Promise<Uint8Array | ArrayBuffer>;
  /** The expected sha256; a file that hashes otherwise is not sent. */
  sha256?: string;
  attestations?: (string | object)[];
}
/** Options for `publish`. */
export interface PublishOptions {
  repositoryUrl: string;
  username?: string;
  password?: string;
  /** A token; the username becomes `__token__` (empty for Artifactory) unless given. */
  token?: string;
  files: PublishFile[];
  /** Count "already there" as skipped; a different file under the name still fails. */
  skipExisting?: boolean;
  /** A simple index to look files up in before sending (derived for known registries with skipExisting). */
  checkUrl?: string;
  /**
   * A CORS relay for registries that send no CORS headers (PyPI, TestPyPI, pypiserver): uploads
   * go to `relayUrl?upstream=<repositoryUrl>`, and the relay forwards them (see edge/relay.js).
   */
  relayUrl?: string;
  /** Trusted publishing (PyPI, TestPyPI): "auto" (default) when in a CI that issues OIDC tokens and no credentials were given. */
  trustedPublishing?: "auto" | "always" | "never";
  /** Environment variables for trusted publishing (ACTIONS_ID_TOKEN_REQUEST_URL, …, PYPI_ID_TOKEN); runtimes differ in how they expose them. */
  env?: Record<string, string | undefined>;
  /** The fetch to use (default: the global one); the Node CLI passes one that streams. */
  fetch?: (request: Request) => Promise<Response>;
  /** Prepare and report, send nothing. */
  dryRun?: boolean;
  /** Retries after network errors, 5xx, 408 and 429. Default 3. */
  retries?: number;
  /** Per-attempt timeout. Default 300000. */
  timeoutMs?: number;
  /** Uploads at once. Default 1. */
  concurrency?: number;
  /** Include the raw reply (credentials masked) in each report. */
  verbose?: boolean;
  signal?: AbortSignal;
  onProgress?: (p: { filename: string; phase: "hash" | "upload"; done: number; total: number }) => void;
}
/** What happened to one file. */
export interface FileReport {
  filename: string;
  status: "uploaded" | "skipped" | "failed";
  httpStatus?: number;
  serverMessage?: string;
  hint?: string;
  error?: string;
  kind?: string;
  sha256?: string;
  attempts: number;
  response?: { status: number; statusText: string; headers: [string, string][]; body: string };
  /** Where the release can be seen, for registries with such a page (PyPI, TestPyPI, GitLab). */
  projectUrl?: string;
}
"#;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = fetch)]
    fn global_fetch(request: &web_sys::Request) -> Promise;
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(cb: &Function, ms: f64) -> JsValue;
    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout(id: &JsValue);
}

/// One file's report, as JS sees it.
#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
struct FileReport {
    filename: String,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    http_status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    server_message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    hint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sha256: Option<String>,
    attempts: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    response: Option<RawResponse>,
    #[serde(skip_serializing_if = "Option::is_none")]
    project_url: Option<String>,
}

#[derive(Serialize, Clone)]
#[serde(rename_all = "camelCase")]
struct RawResponse {
    status: u16,
    status_text: String,
    headers: Vec<(String, String)>,
    body: String,
}

struct Options {
    creds: Resolved,
    fetch: Option<Function>,
    trusted: crate::oidc::Mode,
    env: JsValue,
    skip_existing: bool,
    check_url: Option<String>,
    relay_url: Option<String>,
    dry_run: bool,
    retries: u32,
    timeout_ms: f64,
    concurrency: usize,
    verbose: bool,
    signal: Option<AbortSignal>,
    on_progress: Option<Function>,
}

struct Prepared {
    source: Source,
    attestations: Vec<String>,
    file: DistFilename,
    metadata: Metadata,
}

struct Shared {
    opts: Options,
    files: Vec<Prepared>,
    next: usize,
    digests: Vec<Option<Promise>>,
    results: Vec<Option<Result<DigestSet, String>>>,
    reports: Vec<Option<FileReport>>,
}

fn get(v: &JsValue, k: &str) -> JsValue {
    Reflect::get(v, &k.into()).unwrap_or(JsValue::UNDEFINED)
}

fn opt_string(v: &JsValue, k: &str) -> Result<Option<String>, JsValue> {
    let x = get(v, k);
    if x.is_undefined() || x.is_null() {
        return Ok(None);
    }
    x.as_string().map(Some).ok_or_else(|| js_error("input", &format!("options.{k} must be a string"), None))
}

fn opt_number(v: &JsValue, k: &str, default: f64, min: f64) -> Result<f64, JsValue> {
    let x = get(v, k);
    if x.is_undefined() || x.is_null() {
        return Ok(default);
    }
    match x.as_f64() {
        Some(n) if n.is_finite() && n >= min => Ok(n),
        _ => Err(js_error("input", &format!("options.{k} must be a number of at least {min}"), None)),
    }
}

impl Options {
    fn read(v: &JsValue) -> Result<Self, JsValue> {
        if !v.is_object() {
            return Err(js_error("input", "publish() takes an options object", None));
        }
        let url = opt_string(v, "repositoryUrl")?.ok_or_else(|| js_error("input", "options.repositoryUrl is required", Some("for PyPI use https://upload.pypi.org/legacy/")))?;
        let given = Given { url, username: opt_string(v, "username")?, password: opt_string(v, "password")?, token: opt_string(v, "token")? };
        let creds = auth::resolve(&given).map_err(|e| js_error("input", &e.to_string(), None))?;
        let trusted = match opt_string(v, "trustedPublishing")? {
            None => crate::oidc::Mode::Auto,
            Some(m) => crate::oidc::Mode::parse(&m).ok_or_else(|| js_error("input", "options.trustedPublishing must be \"auto\", \"always\" or \"never\"", None))?,
        };
        Ok(Options {
            creds,
            fetch: get(v, "fetch").dyn_into::<Function>().ok(),
            trusted,
            env: get(v, "env"),
            skip_existing: get(v, "skipExisting").as_bool().unwrap_or(false),
            check_url: opt_string(v, "checkUrl")?,
            relay_url: opt_string(v, "relayUrl")?,
            dry_run: get(v, "dryRun").as_bool().unwrap_or(false),
            retries: opt_number(v, "retries", 3.0, 0.0)?.min(20.0) as u32,
            timeout_ms: opt_number(v, "timeoutMs", 300_000.0, 1.0)?,
            concurrency: opt_number(v, "concurrency", 1.0, 1.0)?.min(16.0) as usize,
            verbose: get(v, "verbose").as_bool().unwrap_or(false),
            signal: get(v, "signal").dyn_into::<AbortSignal>().ok(),
            on_progress: get(v, "onProgress").dyn_into::<Function>().ok(),
        })
    }
}

/// Publishes distributions; resolves to one report per file.
#[wasm_bindgen(unchecked_return_type = "FileReport[]")]
pub async fn publish(#[wasm_bindgen(unchecked_param_type = "PublishOptions")] options: JsValue) -> Result<JsValue, JsValue> {
    let mut opts = Options::read(&options)?;
    let files = get(&options, "files");
    if !Array::is_array(&files) {
        return Err(js_error("input", "options.files must be an array of File or { file, filename }", None));
    }
    let files: Array = files.unchecked_into();
    if files.length() == 0 {
        return Err(js_error("input", "options.files is empty: nothing to publish", Some("build with `python -m build`, then publish dist/*")));
    }

    let env = opts.env.clone();
    let lookup = move |k: &str| if env.is_object() { get(&env, k).as_string() } else { None };
    let use_trusted = match opts.trusted {
        crate::oidc::Mode::Never => false,
        crate::oidc::Mode::Always => true,
        crate::oidc::Mode::Auto => crate::oidc::supported(&opts.creds.url) && opts.creds.authorization().is_none() && crate::oidc::ambient_available(&lookup),
    };
    if use_trusted && !opts.dry_run {
        let token = trusted_token(opts.fetch.as_ref(), &opts.creds.url, &lookup, opts.timeout_ms, opts.signal.as_ref()).await.map_err(|e| {
            js_error("trustedPublishing", &format!("trusted publishing failed: {e}"), Some("or give a token with --token / PYPUBLISH_TOKEN, or turn it off with --trusted-publishing never"))
        })?;
        opts.creds = auth::resolve(&Given { url: opts.creds.url.clone(), token: Some(token), ..Given::default() }).map_err(|e| js_error("input", &e.to_string(), None))?;
    }

    // 1. Read and check every file's metadata (kilobytes each) before anything is sent.
    let mut prepared = Vec::new();
    let mut refused = Vec::new();
    for entry in files.iter() {
        let (source, name, attestations) = file_entry(&entry)?;
        match check_file(&source, &name).await {
            Ok((file, metadata)) => prepared.push(Prepared { source, attestations, file, metadata }),
            Err((kind, message)) => refused.push(FileReport {
                filename: name,
                status: "failed",
                error: Some(message),
                hint: crate::hint_for_kind(&kind).map(str::to_string),
                kind: Some(kind),
                ..Default::default()
            }),
        }
    }
    if !refused.is_empty() {
        let why = refused.iter().map(|r| r.filename.as_str()).collect::<Vec<_>>().join(", ");
        let mut reports = refused;
        for p in prepared {
            reports.push(FileReport {
                filename: p.file.raw,
                status: "failed",
                kind: Some("notSent".into()),
                error: Some(format!("not sent: the batch has invalid files ({why}); fix them and publish again, so a release is never half uploaded")),
                ..Default::default()
            });
        }
        return to_js(&reports).map_err(|e| js_error("input", &e.to_string(), None));
    }
    // Wheels first: an index never shows a release with only an sdist that would build.
    prepared.sort_by_key(|p| !p.file.is_wheel());

    // 2. Hash and upload, `concurrency` at a time, hashing one file ahead.
    let n = prepared.len();
    let workers = opts.concurrency.min(n);
    let shared = Rc::new(RefCell::new(Shared {
        opts,
        files: prepared,
        next: 0,
        digests: vec![None; n],
        results: vec![None; n],
        reports: (0..n).map(|_| None).collect(),
    }));
    let all = Array::new();
    for _ in 0..workers {
        let s = shared.clone();
        all.push(&future_to_promise(async move {
            worker(s).await;
            Ok(JsValue::UNDEFINED)
        }));
    }
    JsFuture::from(Promise::all(&all)).await?;
    let reports: Vec<FileReport> = shared.borrow_mut().reports.drain(..).flatten().collect();
    to_js(&reports).map_err(|e| js_error("input", &e.to_string(), None))
}

/// Audience → the CI's OIDC token → PyPI's mint-token: a short-lived API token.
async fn trusted_token(fetch: Option<&Function>, upload_url: &str, env: &dyn Fn(&str) -> Option<String>, timeout_ms: f64, signal: Option<&AbortSignal>) -> Result<String, crate::oidc::OidcError> {
    use crate::oidc::{self, OidcError};
    let net = |what: &str, e: SendError| OidcError::Unexpected {
        what: what.into(),
        detail: match e {
            SendError::Cancelled => "cancelled".into(),
            SendError::Network(d) | SendError::Source(d) => d,
        },
    };
    let host = crate::registry::url_parts(upload_url).host.to_string();
    let audience_url = oidc::endpoint(upload_url, "audience").unwrap_or_default();
    let get_json = |url: &str| gloo_net::http::RequestBuilder::new(url).method(gloo_net::http::Method::GET).header("Accept", "application/json");
    let r = request(fetch, get_json(&audience_url), None, timeout_ms, signal).await.map_err(|e| net("the audience endpoint", e))?;
    let audience = oidc::parse_audience(r.status, &r.body, &host)?;
    let jwt = match oidc::token_source(env, upload_url, &audience)? {
        oidc::TokenSource::Ready(t) => t,
        oidc::TokenSource::GitHub { url, bearer } => {
            let r = request(fetch, get_json(&url).header("Authorization", &format!("bearer {bearer}")), None, timeout_ms, signal)
                .await
                .map_err(|e| net("GitHub's token endpoint", e))?;
            oidc::parse_github_token(r.status, &r.body)?
        }
    };
    let mint_url = oidc::endpoint(upload_url, "mint-token").unwrap_or_default();
    let builder = gloo_net::http::RequestBuilder::new(&mint_url).method(gloo_net::http::Method::POST).header("Content-Type", "application/json");
    let r = request(fetch, builder, Some(BodyKind::Plain(JsValue::from_str(&oidc::mint_body(&jwt)))), timeout_ms, signal).await.map_err(|e| net("the mint-token endpoint", e))?;
    oidc::parse_mint(r.status, &r.body, &jwt)
}

fn file_entry(v: &JsValue) -> Result<(Source, String, Vec<String>), JsValue> {
    if let Some(f) = v.dyn_ref::<web_sys::File>() {
        return Ok((Source::Blob(f.clone().into()), f.name(), Vec::new()));
    }
    let name = get(v, "filename").as_string();
    let blob = match get(v, "file").dyn_into::<Blob>() {
        Ok(b) => Some(Source::Blob(b)),
        Err(_) => match super::stream::StreamSource::from_js(v) {
            Some(Ok(s)) => Some(Source::Stream(Rc::new(s))),
            Some(Err(e)) => return Err(js_error("input", &format!("{}: {e}", name.as_deref().unwrap_or("a file")), None)),
            None => None,
        },
    };
    let att = get(v, "attestations");
    let attestations: Vec<String> = if Array::is_array(&att) {
        Array::from(&att).iter().map(|a| a.as_string().or_else(|| js_sys::JSON::stringify(&a).ok().map(String::from)).unwrap_or_default()).collect()
    } else {
        Vec::new()
    };
    match (blob, name) {
        (Some(b), Some(n)) => Ok((b, n, attestations)),
        _ => Err(js_error("input", "each of options.files must be a File, { file: Blob, filename } or { filename, size, stream() }", None)),
    }
}

async fn check_file(source: &Source, name: &str) -> Result<(DistFilename, Metadata), (String, String)> {
    let core = |e: crate::Error| (e.kind().to_string(), e.to_string());
    let file = DistFilename::parse(name).map_err(|e| core(e.into()))?;
    let (member, _) = super::read_member(source, &file).await?;
    let wrap = |source| core(crate::Error::Metadata { file: name.to_string(), source });
    let metadata = Metadata::parse(&member.bytes).map_err(wrap)?;
    metadata.check_filename(&file).map_err(wrap)?;
    Ok((file, metadata))
}

/// Starts hashing file `i` unless it already started; returns its promise.
fn ensure_hash(shared: &Rc<RefCell<Shared>>, i: usize) -> Option<Promise> {
    let mut s = shared.borrow_mut();
    if i >= s.files.len() {
        return None;
    }
    if let Some(p) = &s.digests[i] {
        return Some(p.clone());
    }
    let source = s.files[i].source.clone();
    let name = s.files[i].file.raw.clone();
    let cb = s.opts.on_progress.clone();
    let sh = shared.clone();
    let p = future_to_promise(async move {
        let r = source.digest(&|done, total| progress(&cb, &name, "hash", done, total)).await;
        sh.borrow_mut().results[i] = Some(r);
        Ok(JsValue::UNDEFINED)
    });
    s.digests[i] = Some(p.clone());
    Some(p)
}

async fn worker(shared: Rc<RefCell<Shared>>) {
    loop {
        let i = {
            let mut s = shared.borrow_mut();
            if s.next >= s.files.len() {
                return;
            }
            s.next += 1;
            s.next - 1
        };
        let report = publish_one(&shared, i).await;
        shared.borrow_mut().reports[i] = Some(report);
    }
}

async fn publish_one(shared: &Rc<RefCell<Shared>>, i: usize) -> FileReport {
    let name = shared.borrow().files[i].file.raw.clone();
    let fail = |kind: &str, error: String| FileReport { filename: name.clone(), status: "failed", kind: Some(kind.into()), error: Some(error), ..Default::default() };
    if let Some(p) = ensure_hash(shared, i) {
        let _ = JsFuture::from(p).await;
    }
    // Hash the next file while this one uploads.
    let ahead = shared.borrow().next;
    ensure_hash(shared, ahead);
    let digests = match shared.borrow_mut().results[i].take() {
        Some(Ok(d)) => d,
        Some(Err(e)) => return fail("source", format!("{name} could not be read: {e}")),
        None => return fail("source", format!("{name} was not hashed")),
    };
    let (source, form) = {
        let s = shared.borrow();
        let p = &s.files[i];
        let mut form = Form::new(&p.file, &p.metadata, &digests);
        if let Err(e) = form.add_attestations(&p.attestations) {
            return fail("input", format!("{name}: {e}"));
        }
        (p.source.clone(), form)
    };
    let mut entropy = [0u8; 32];
    super::get_random_values(&mut entropy);
    let plan = match MultipartPlan::new(&form, &name, source.size(), &entropy) {
        Ok(p) => p,
        Err(e) => return fail("multipart", e.to_string()),
    };
    let (relay, project_url) = {
        let s = shared.borrow();
        let f = &s.files[i].file;
        (s.opts.relay_url.clone(), crate::registry::project_page(&s.opts.creds.url, &f.normalized_name, &f.version))
    };
    let (fetch, creds, policy, timeout_ms, signal, cb, verbose, dry_run, check_url, normalized) = {
        let s = shared.borrow();
        let o = &s.opts;
        let policy = Policy { max_attempts: o.retries + 1, skip_existing: o.skip_existing, ..Policy::default() };
        let check = o.check_url.clone().or_else(|| if o.skip_existing { simple::check_url_for(&o.creds.url) } else { None });
        (o.fetch.clone(), o.creds.clone(), policy, o.timeout_ms, o.signal.clone(), o.on_progress.clone(), o.verbose, o.dry_run, check, s.files[i].file.normalized_name.clone())
    };
    let mut base = FileReport { filename: name.clone(), sha256: Some(digests.sha256.clone()), project_url, ..Default::default() };
    if let Some(check) = check_url {
        let page = simple::project_url(&check, &normalized);
        // A check that cannot be made is no reason not to upload: the upload's reply decides.
        if let Ok(raw) = get_page(fetch.as_ref(), &page, &creds, timeout_ms, signal.as_ref()).await {
            let ct = raw.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("content-type")).map(|(_, v)| v.as_str()).unwrap_or_default();
            let decided = match check_reply(raw.status, ct, raw.body.as_bytes(), &name, &check) {
                Ok(existing) => decide_existing(&existing, &digests.sha256, &check),
                Err(r) => Some(r),
            };
            if let Some(r) = decided {
                return finish(base, r, None);
            }
        }
    }
    if dry_run {
        base.status = "skipped";
        base.hint = Some(format!("dry run: {} bytes would be sent to {}", plan.content_length(), creds.url));
        return base;
    }
    let body = match &source {
        Source::Blob(b) if !stream_bodies() => match build_body(&plan, b) {
            Ok(b) => Body::Blob(b),
            Err(e) => return fail("input", e),
        },
        Source::Blob(b) => Body::Stream { source: BodySource::Blob(b.clone()), verify: None },
        // Read a second time: what is sent must be what was hashed.
        Source::Stream(s) => Body::Stream { source: BodySource::Stream(s.clone()), verify: Some(digests.sha256.clone()) },
        Source::Bytes(_) => return fail("input", format!("{name}: bytes are not a publishable source; wrap them in a Blob")),
    };
    let on_sent = {
        let (cb, name, total) = (cb.clone(), name.clone(), plan.content_length());
        Rc::new(move |sent: u64| progress(&cb, &name, "upload", sent, total))
    };
    let mut machine = Upload::new(&creds.url, policy);
    let mut action = machine.start();
    let mut last_raw: Option<RawResponse> = None;
    loop {
        match action {
            Action::Done(r) => {
                if r.status == Status::Uploaded {
                    progress(&cb, &name, "upload", plan.content_length(), plan.content_length());
                }
                return finish(base, r, if verbose { last_raw } else { None });
            }
            Action::Wait { ms, .. } => {
                sleep(ms as f64).await;
                if signal.as_ref().is_some_and(|s| s.aborted()) {
                    return fail("cancelled", "cancelled before the upload finished".into());
                }
                action = machine.resume();
            }
            Action::Send { url, .. } => {
                if signal.as_ref().is_some_and(|s| s.aborted()) {
                    return fail("cancelled", "cancelled before the upload started".into());
                }
                progress(&cb, &name, "upload", 0, plan.content_length());
                let sent_digests = digests.clone();
                let sent = Sent { url: &url, username: creds.username.as_deref(), digests: Some(&sent_digests) };
                match send(fetch.as_ref(), relay.as_deref(), &url, &creds, &plan, &body, on_sent.clone(), timeout_ms, signal.as_ref()).await {
                    Ok(raw) => {
                        let reply = Reply { status: raw.status, reason: &raw.status_text, headers: &raw.headers, body: raw.body.as_bytes() };
                        action = machine.on_reply(&reply, &sent, js_sys::Math::random());
                        let mut masked = raw.clone();
                        masked.body = creds.mask(&masked.body);
                        last_raw = Some(masked);
                    }
                    Err(SendError::Cancelled) => return fail("cancelled", "cancelled during the upload".into()),
                    Err(SendError::Source(detail)) => return fail("source", format!("{name} was not sent whole: {detail}")),
                    Err(SendError::Network(detail)) => action = machine.on_network_error(&creds.mask(&detail), js_sys::Math::random()),
                }
            }
        }
    }
}

fn finish(mut base: FileReport, r: Report, raw: Option<RawResponse>) -> FileReport {
    base.status = match r.status {
        Status::Uploaded => "uploaded",
        Status::Skipped => "skipped",
        Status::Failed => "failed",
    };
    base.http_status = r.http_status;
    base.server_message = r.server_message;
    base.hint = r.hint;
    base.error = r.error;
    base.kind = r.kind.and_then(|k| serde_json::to_value(k).ok()).and_then(|v| v.as_str().map(str::to_string));
    base.attempts = r.attempts;
    base.response = raw;
    if base.status == "failed" {
        base.project_url = None;
    }
    base
}

fn build_body(plan: &MultipartPlan, blob: &Blob) -> Result<Blob, String> {
    let parts = Array::of3(&Uint8Array::from(plan.head.as_slice()), blob, &Uint8Array::from(plan.tail.as_slice()));
    let body = Blob::new_with_blob_sequence(&parts).map_err(|_| "the runtime could not build the request body".to_string())?;
    if body.size() as u64 != plan.content_length() {
        return Err(format!("the request body is {} bytes, expected {}: the file changed while being prepared", body.size(), plan.content_length()));
    }
    Ok(body)
}

enum SendError {
    Cancelled,
    Network(String),
    /// The body stream stopped itself: the file is not what was hashed. No retry can help.
    Source(String),
}

/// How a body goes out: a Blob the runtime streams itself, or our fixed-length stream.
enum Body {
    Blob(Blob),
    Stream { source: BodySource, verify: Option<String> },
}

async fn sleep(ms: f64) {
    let p = Promise::new(&mut |resolve, _| {
        set_timeout(&resolve, ms);
    });
    let _ = JsFuture::from(p).await;
}

/// True in Node and Bun, whose fetch reads a whole `Blob` body into memory before sending it
/// (undici's `writeBlob`): there the body goes as a stream with an explicit Content-Length,
/// which also lets us report upload progress. Browsers and Deno stream Blob bodies themselves.
fn stream_bodies() -> bool {
    let global = js_sys::global();
    if !get(&global, "Deno").is_undefined() {
        return false;
    }
    get(&get(&get(&global, "process"), "versions"), "node").is_string()
}

/// One POST with a per-attempt timeout and the user's cancellation, redirects not followed.
#[allow(clippy::too_many_arguments)]
async fn send(fetch: Option<&Function>, relay: Option<&str>, url: &str, creds: &Resolved, plan: &MultipartPlan, body: &Body, on_sent: Rc<dyn Fn(u64)>, timeout_ms: f64, user: Option<&AbortSignal>) -> Result<RawResponse, SendError> {
    // Through a relay the request goes there, naming the registry; the reply is the registry's.
    let target = match relay {
        Some(r) => format!("{r}{}upstream={}", if r.contains('?') { '&' } else { '?' }, String::from(js_sys::encode_uri_component(url))),
        None => url.to_string(),
    };
    let url = target.as_str();
    if let (Body::Blob(b), None, true) = (body, fetch, has_xhr()) {
        let mut headers = vec![("Accept".to_string(), ACCEPT.to_string()), ("Content-Type".to_string(), plan.content_type())];
        headers.extend(creds.authorization().map(|a| ("Authorization".to_string(), a)));
        return xhr_send(url, &headers, b, &on_sent, timeout_ms, user).await;
    }
    let mut builder = gloo_net::http::RequestBuilder::new(url)
        .method(gloo_net::http::Method::POST)
        .header("Accept", ACCEPT)
        .header("Content-Type", &plan.content_type());
    if let Some(a) = creds.authorization() {
        builder = builder.header("Authorization", &a);
    }
    let (source, verify) = match body {
        Body::Blob(b) => return request(fetch, builder, Some(BodyKind::Plain(b.clone().into())), timeout_ms, user).await,
        Body::Stream { source, verify } => (source, verify),
    };
    // A stream is read once: each attempt gets its own. Browsers drop Content-Length (they forbid it).
    builder = builder.header("Content-Length", &plan.content_length().to_string());
    let head = plan.head.len() as u64;
    let (stream, failure): (_, BodyFailure) =
        fixed_length_body(&plan.head, source.clone(), plan.file_len, &plan.tail, verify.clone(), Box::new(move |n| on_sent(head + n)))
            .map_err(SendError::Network)?;
    let result = request(fetch, builder, Some(BodyKind::Stream(stream)), timeout_ms, user).await;
    let why = failure.borrow_mut().take();
    match (result, why) {
        (Err(SendError::Network(_)), Some(why)) => Err(SendError::Source(why)),
        (r, _) => r,
    }
}

fn has_xhr() -> bool {
    !get(&js_sys::global(), "XMLHttpRequest").is_undefined()
}

/// Browsers: one POST through XMLHttpRequest, whose `upload.onprogress` counts the bytes that
/// really left (fetch has no upload progress). XHR follows redirects itself: a reply from
/// another URL is reported as a 308 to it, for the state machine to judge.
async fn xhr_send(url: &str, headers: &[(String, String)], body: &Blob, on_sent: &Rc<dyn Fn(u64)>, timeout_ms: f64, user: Option<&AbortSignal>) -> Result<RawResponse, SendError> {
    use web_sys::{ProgressEvent, XmlHttpRequest};
    let failed = |e: JsValue| SendError::Network(describe_fetch_error(&e));
    let xhr = XmlHttpRequest::new().map_err(failed)?;
    xhr.open_with_async("POST", url, true).map_err(failed)?;
    for (k, v) in headers {
        xhr.set_request_header(k, v).map_err(failed)?;
    }
    xhr.set_timeout(timeout_ms.clamp(1.0, u32::MAX as f64) as u32);
    let on_sent = on_sent.clone();
    let progress = Closure::<dyn FnMut(ProgressEvent)>::new(move |e: ProgressEvent| on_sent(e.loaded() as u64));
    if let Ok(up) = xhr.upload() {
        up.set_onprogress(Some(progress.as_ref().unchecked_ref()));
    }
    let timed_out = Rc::new(std::cell::Cell::new(false));
    let t = timed_out.clone();
    let on_timeout = Closure::<dyn FnMut()>::new(move || t.set(true));
    xhr.set_ontimeout(Some(on_timeout.as_ref().unchecked_ref()));
    let x = xhr.clone();
    let abort = Closure::<dyn FnMut()>::new(move || {
        let _ = x.abort();
    });
    if let Some(s) = user {
        let _ = s.add_event_listener_with_callback("abort", abort.as_ref().unchecked_ref());
    }
    let x = xhr.clone();
    let ended = Promise::new(&mut |resolve, _| {
        x.set_onloadend(Some(&resolve));
    });
    xhr.send_with_opt_blob(Some(body)).map_err(failed)?;
    let _ = JsFuture::from(ended).await;
    if let Some(s) = user {
        let _ = s.remove_event_listener_with_callback("abort", abort.as_ref().unchecked_ref());
    }
    if user.is_some_and(|s| s.aborted()) {
        return Err(SendError::Cancelled);
    }
    if timed_out.get() {
        return Err(SendError::Network(format!("no reply within {} s", timeout_ms / 1000.0)));
    }
    let status = xhr.status().unwrap_or(0);
    if status == 0 {
        // The browser tells scripts nothing more, by design: refused, reset, or no CORS headers.
        return Err(SendError::Network("the browser got no readable reply (TypeError: network error or CORS)".into()));
    }
    let response_url = xhr.response_url();
    if !response_url.is_empty() && response_url != url {
        return Ok(RawResponse { status: 308, status_text: "followed by the browser".into(), headers: vec![("location".into(), response_url)], body: String::new() });
    }
    let headers = xhr
        .get_all_response_headers()
        .unwrap_or_default()
        .split("\r\n")
        .filter_map(|l| l.split_once(':').map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string())))
        .collect();
    let body = xhr.response_text().ok().flatten().unwrap_or_default();
    Ok(RawResponse { status, status_text: xhr.status_text().unwrap_or_default(), headers, body })
}

/// A request body: a plain value, or a stream that needs `duplex: "half"`.
enum BodyKind {
    Plain(JsValue),
    Stream(web_sys::ReadableStream),
}

/// GETs a simple-index page; credentials go along only to the upload URL's own origin.
async fn get_page(fetch: Option<&Function>, url: &str, creds: &Resolved, timeout_ms: f64, user: Option<&AbortSignal>) -> Result<RawResponse, SendError> {
    let mut builder = gloo_net::http::RequestBuilder::new(url).method(gloo_net::http::Method::GET).header("Accept", ACCEPT_SIMPLE);
    if let Some(a) = creds.authorization().filter(|_| simple::same_origin(&creds.url, url)) {
        builder = builder.header("Authorization", &a);
    }
    request(fetch, builder, None, timeout_ms, user).await
}

async fn request(fetch: Option<&Function>, builder: gloo_net::http::RequestBuilder, body: Option<BodyKind>, timeout_ms: f64, user: Option<&AbortSignal>) -> Result<RawResponse, SendError> {
    let controller = AbortController::new().map_err(|_| SendError::Network("AbortController is not available".into()))?;
    let builder = builder.redirect(web_sys::RequestRedirect::Manual).abort_signal(Some(&controller.signal()));
    let request: web_sys::Request = match body {
        Some(BodyKind::Plain(b)) => builder.body(b).map_err(|e| SendError::Network(e.to_string()))?.into(),
        None => builder.build().map_err(|e| SendError::Network(e.to_string()))?.into(),
        Some(BodyKind::Stream(stream)) => {
            // gloo-net has no `duplex` setter: build the Request from its parts ourselves.
            let head: web_sys::Request = builder.build().map_err(|e| SendError::Network(e.to_string()))?.into();
            let init = web_sys::RequestInit::new();
            init.set_method(&head.method());
            init.set_headers(&head.headers());
            init.set_redirect(web_sys::RequestRedirect::Manual);
            init.set_signal(Some(&controller.signal()));
            init.set_body(&stream);
            let _ = Reflect::set(&init, &"duplex".into(), &"half".into());
            web_sys::Request::new_with_str_and_init(&head.url(), &init).map_err(|e| SendError::Network(describe_fetch_error(&e)))?
        }
    };
    let c = controller.clone();
    let abort = Closure::<dyn FnMut()>::new(move || c.abort());
    let timer = set_timeout(abort.as_ref().unchecked_ref(), timeout_ms);
    if let Some(s) = user {
        let _ = s.add_event_listener_with_callback("abort", abort.as_ref().unchecked_ref());
    }
    let promise = match fetch {
        Some(f) => match f.call1(&JsValue::NULL, &request) {
            Ok(p) => p.dyn_into::<Promise>().unwrap_or_else(|v| Promise::resolve(&v)),
            Err(e) => Promise::reject(&e),
        },
        None => global_fetch(&request),
    };
    let result = JsFuture::from(promise).await;
    clear_timeout(&timer);
    if let Some(s) = user {
        let _ = s.remove_event_listener_with_callback("abort", abort.as_ref().unchecked_ref());
    }
    let response: web_sys::Response = match result {
        Ok(r) => r.dyn_into().map_err(|_| SendError::Network("fetch returned something that is not a Response".into()))?,
        Err(e) => {
            if user.is_some_and(|s| s.aborted()) {
                return Err(SendError::Cancelled);
            }
            if controller.signal().aborted() {
                return Err(SendError::Network(format!("no reply within {} s", timeout_ms / 1000.0)));
            }
            return Err(SendError::Network(describe_fetch_error(&e)));
        }
    };
    if response.type_() == web_sys::ResponseType::Opaqueredirect {
        return Ok(RawResponse { status: 308, status_text: String::new(), headers: Vec::new(), body: String::new() });
    }
    let headers: Vec<(String, String)> = gloo_net::http::Headers::from_raw(response.headers()).entries().collect();
    let body = match response.array_buffer() {
        Ok(p) => match JsFuture::from(p).await {
            Ok(buf) => String::from_utf8_lossy(&Uint8Array::new(&buf).to_vec()).into_owned(),
            Err(_) => String::new(),
        },
        Err(_) => String::new(),
    };
    Ok(RawResponse { status: response.status(), status_text: response.status_text(), headers, body })
}

/// A fetch rejection in words: Node puts the reason (ECONNREFUSED…) in `cause`.
fn describe_fetch_error(e: &JsValue) -> String {
    let msg = |v: &JsValue| v.dyn_ref::<js_sys::Error>().map(|e| String::from(e.message())).or_else(|| v.as_string());
    let cause = get(e, "cause");
    let code = get(&cause, "code").as_string();
    match (msg(e), msg(&cause), code) {
        (Some(m), Some(c), Some(code)) => format!("{m}: {c} ({code})"),
        (Some(m), Some(c), None) => format!("{m}: {c}"),
        (Some(m), None, _) => m,
        _ => "the request failed without a reply".into(),
    }
}
