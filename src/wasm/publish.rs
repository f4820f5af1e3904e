//! `publish()`: performs the batch engine's actions (reads, hashes, requests, waits) with the
//! runtime's Blobs, streams, fetch and timers. Every decision is the engine's
//! ([`crate::batch`]); this file only moves bytes and converts values.

use std::rc::Rc;

use futures_util::future::{select, Either, LocalBoxFuture};
use futures_util::stream::{FuturesUnordered, StreamExt};
use js_sys::{Array, Function, Object, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortController, AbortSignal};

use super::source::{describe, name_of, Source};
use super::stream::StreamSource;
use super::transport::{fixed_length_streams, get, sleep, stream_bodies, Link, Transport};
use super::{get_random_values, input_error, js_error, progress, to_js};
use crate::batch::{Action, Batch, Config, FileSpec, Options, Trailing};
use crate::digest::DigestSet;
use crate::http::{NoReply, Reply};
use crate::report::{Kind, Report};

#[wasm_bindgen(typescript_custom_section)]
const TS_PUBLISH: &str = r#"
/** A file to publish: a `File`, a `Blob` with its distribution file name, or a stream source. */
export type PublishFile = File | { file: Blob; filename: string; attestations?: (string | object)[]; digests?: Digests } | StreamFile;
/** sha256, md5 and blake2b-256 in lowercase hex, and the length hashed. */
export interface Digests { sha256: string; md5: string; blake2_256: string; len: number }
/**
 * A file that is not a Blob (say, behind a URL in an edge function). Where the runtime can hash
 * a body as it sends it (Node, Bun, workerd), a single file, or the first one sent of a batch, is
 * read once, its digests after it; the others of a batch are read twice: once to hash them
 * before any upload (all or nothing), once into the request body. `size` must be exact; the
 * body stream stops before the end of the request if the bytes differ from `sha256` or from
 * what was hashed. `read(offset, length)` (for example
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
/** What a caller's `fetch` may resolve to besides a `Response`: any status line, 999 included. */
export interface PlainReply { status: number; statusText?: string; headers?: [string, string][] | Headers; body?: Uint8Array | string | null; truncated?: boolean }
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
  /** A CORS relay for registries without CORS headers: uploads go to `relayUrl?upstream=<url>`. */
  relayUrl?: string;
  /** Trusted publishing (PyPI, TestPyPI, https only): "auto" (default) when in a CI that issues OIDC tokens and no credentials were given. */
  trustedPublishing?: "auto" | "always" | "never";
  /** Environment variables for trusted publishing (ACTIONS_ID_TOKEN_REQUEST_URL, …, PYPI_ID_TOKEN). */
  env?: Record<string, string | undefined>;
  /** The fetch to use (default: the global one); it may resolve to a `PlainReply`. */
  fetch?: (request: Request) => Promise<Response | PlainReply>;
  /** Hash a file elsewhere (a worker); called with the entry of `files` as given. */
  hasher?: (file: PublishFile, onProgress: (done: number, total: number) => void) => Promise<Digests>;
  /**
   * Where a body is hashed as it is sent (Node, Bun), the hasher to use instead of the wasm one,
   * given the file's size: say, the runtime's native sha256 and md5 with this package's
   * `Blake2b256`, or a worker thread. `finish()` must give lowercase hex digests and the length
   * fed. A hasher elsewhere may answer `update()` with a promise when it is behind (the next
   * chunk is read once it settles) and `finish()` with one; a failure there (a thread that
   * ended) cuts that attempt, which is tried again. `cancel()`, where given, hears that the body
   * will not be finished (an early reply, an abort, a failed read). publish() never changes a
   * chunk; a source that reuses its buffers must not read into one before such a hasher is done
   * with it.
   */
  createHasher?: (size: number) => { update(chunk: Uint8Array): void | Promise<void>; finish(): Digests | Promise<Digests>; cancel?(): void };
  /** Prepare and report, send nothing. */
  dryRun?: boolean;
  /**
   * Send the digest fields before the file. By default, where the runtime streams the body
   * (Node, Bun; workerd for stream files), the file is hashed as it is sent and the digests
   * follow it: one read.
   */
  digestsFirst?: boolean;
  /**
   * Before the first byte, check the URL, the credentials and the permission with the cheapest
   * request (GitLab: the project's simple index; others: their index or upload URL; PyPI: none,
   * the token is read locally). A blocking finding fails every file with `kind: "preflight"`
   * and sends nothing; no reply is no finding (the upload goes ahead, with a warning), except in a
   * dry run. Default false here; the CLI, the page and the hook turn it on.
   */
  preflight?: boolean;
  /** Retries after network errors, stalls, 5xx, 408 and 429. Default 3. */
  retries?: number;
  /** Stall timeout: a request is abandoned when nothing moves for this long (no body bytes sent, no reply). Default 300000. */
  timeoutMs?: number;
  /** Uploads at once. Default 1. */
  concurrency?: number;
  /** Include the raw reply (credentials masked, control characters escaped) in each report. */
  verbose?: boolean;
  /** Where hints are shown, so they name its own controls. Default "api". */
  surface?: "api" | "cli" | "page" | "hook";
  signal?: AbortSignal;
  onProgress?: (p: { filename: string; phase: "hash" | "upload" | "wait"; done: number; total: number; reason?: string }) => void;
  /** Each file's report as soon as it is known, in the order of the array publish() resolves to. */
  onReport?: (report: FileReport) => void;
}
/** Why a file failed (or was not tried). */
export type Kind = "input" | "filename" | "archive" | "metadata" | "mismatch" | "multipart" | "source" | "auth" | "notFound" | "wrongEndpoint" | "invalid" | "conflict" | "tooLarge" | "redirect" | "rateLimited" | "server" | "network" | "timeout" | "other" | "notSent" | "cancelled" | "trustedPublishing" | "preflight" | "indexCheck";
/** What happened to one file. Every string is masked and has its control characters escaped. */
export interface FileReport {
  filename: string;
  status: "uploaded" | "skipped" | "failed";
  httpStatus?: number;
  serverMessage?: string;
  hint?: string;
  error?: string;
  kind?: Kind;
  sha256?: string;
  attempts: number;
  retryable: boolean;
  /** For a skip: false when "already there" could not be checked against this file. */
  verified?: boolean;
  response?: { status: number; statusText: string; headers: [string, string][]; body: string; truncated: boolean };
  /** Where the release can be seen (PyPI, TestPyPI, GitLab). */
  projectUrl?: string;
  /** What PyPI's checks found that does not stop the upload. */
  warnings?: string[];
}
"#;

/// What came back from one of the shell's jobs.
enum Event {
    Read(usize, u64, Result<Vec<u8>, String>),
    Hashed(usize, Result<DigestSet, String>),
    HashCut(usize, String),
    Replied(u64, Option<usize>, Result<(Reply, Option<DigestSet>), NoReply>),
    Timer(u64),
    Cancelled,
}

/// Publishes distributions; resolves to one report per file.
#[wasm_bindgen(unchecked_return_type = "FileReport[]")]
pub async fn publish(#[wasm_bindgen(unchecked_param_type = "PublishOptions")] options: JsValue) -> Result<JsValue, JsValue> {
    if !options.is_object() {
        return Err(js_error(Kind::Input, "publish() takes an options object", None));
    }
    let core: Options = serde_wasm_bindgen::from_value(options.clone()).map_err(|e| {
        // serde quotes the value it refused: a password or token of the wrong type (a number
        // from a YAML file) must not come back in the message.
        let mut secrets = crate::mask::Secrets::new();
        for key in ["password", "token"] {
            let v = get(&options, key);
            if let Some(text) = v.as_string().or_else(|| v.as_f64().map(|n| n.to_string())) {
                secrets.add(&text);
            }
        }
        js_error(Kind::Input, &secrets.clean(&format!("options: {e}")), None)
    })?;
    let cfg = Config::from_options(&core, env(&get(&options, "env"))).map_err(|e| input_error(&e))?.at(js_sys::Date::now() as u64);
    let secrets = cfg.creds.secrets();
    let stall_ms = match get(&options, "timeoutMs").as_f64() {
        None => 300_000.0,
        Some(n) if n.is_finite() && n >= 1.0 => n,
        Some(_) => return Err(js_error(Kind::Input, "options.timeoutMs must be a number of milliseconds, at least 1", None)),
    };
    let files = get(&options, "files");
    if !Array::is_array(&files) {
        return Err(js_error(Kind::Input, "options.files must be an array of File, { file, filename } or { filename, size, stream() }", None));
    }
    let mut entries = Vec::new();
    let mut sources = Vec::new();
    let mut specs = Vec::new();
    for entry in Array::from(&files).iter() {
        let (source, spec) = file_entry(&entry).map_err(|m| js_error(Kind::Input, &secrets.clean(&m), None))?;
        entries.push(entry);
        sources.push(source);
        specs.push(spec);
    }
    // Node and Bun send our own body stream, which can hash the file as it goes: the digest
    // fields follow it and the file is read once. workerd can too for stream sources (its
    // FixedLengthStream body, with the wasm digests), not for Blobs, which it sends itself, as
    // browsers do. Deno sends a stream body chunked, without the Content-Length a body whose
    // digests follow must plan (measured, Deno 2.9): digests first there.
    let trailing =
        if stream_bodies() || (fixed_length_streams() && sources.iter().all(|s| matches!(s, Source::Stream(_)))) { Trailing::All } else { Trailing::Off };
    let cfg = cfg.with_trailing(trailing, core.digests_first);
    let mut seed = [0u8; 32];
    get_random_values(&mut seed);
    let batch = Batch::new(cfg, specs, seed).map_err(|e| input_error(&e))?;

    let controller = AbortController::new().map_err(|_| js_error(Kind::Input, "AbortController is not available", None))?;
    let user = get(&options, "signal").dyn_into::<AbortSignal>().ok();
    let follow = user.as_ref().map(|s| Link::new(s, &controller));
    let run = Run {
        transport: Rc::new(Transport {
            fetch: get(&options, "fetch").dyn_into::<Function>().ok(),
            stall_ms,
            cancel: controller.signal(),
            create_hasher: get(&options, "createHasher").dyn_into::<Function>().ok(),
        }),
        sources: Rc::new(sources),
        entries: Rc::new(entries),
        hasher: get(&options, "hasher").dyn_into::<Function>().ok(),
        on_progress: get(&options, "onProgress").dyn_into::<Function>().ok(),
        on_report: get(&options, "onReport").dyn_into::<Function>().ok(),
    };
    let reports = run.drive(batch, &controller.signal()).await;
    drop(follow);
    to_js(&reports).map_err(|e| js_error(Kind::Input, &e.to_string(), None))
}

/// The CI environment, from a plain object of strings.
fn env(v: &JsValue) -> Vec<(String, String)> {
    if !v.is_object() {
        return Vec::new();
    }
    Object::entries(v.unchecked_ref())
        .iter()
        .filter_map(|pair| {
            let p = Array::from(&pair);
            Some((p.get(0).as_string()?, p.get(1).as_string()?))
        })
        .collect()
}

/// One entry of `options.files`: the bytes' source and what the engine needs to know of it.
fn file_entry(v: &JsValue) -> Result<(Source, FileSpec), String> {
    let name = name_of(v).ok_or("each of options.files needs a file name: a File, { file, filename } or { filename, size, stream() }")?;
    let (source, changeable, expected) = if v.is_instance_of::<web_sys::Blob>() {
        (Source::from_js(v)?, false, None)
    } else if let Ok(b) = get(v, "file").dyn_into::<web_sys::Blob>() {
        (Source::Blob(b), false, None)
    } else {
        match StreamSource::from_js(v) {
            Some(Ok(s)) => {
                let sha = s.sha256.clone();
                (Source::Stream(Rc::new(s)), true, sha)
            }
            Some(Err(e)) => return Err(format!("{name}: {e}")),
            None => return Err(format!("{name}: expected a File, {{ file: Blob, filename }} or {{ filename, size, stream() }}")),
        }
    };
    let att = get(v, "attestations");
    let attestations = if Array::is_array(&att) {
        Array::from(&att).iter().map(|a| a.as_string().or_else(|| js_sys::JSON::stringify(&a).ok().map(String::from)).unwrap_or_default()).collect()
    } else {
        Vec::new()
    };
    let digests = match get(v, "digests") {
        d if d.is_object() => Some(serde_wasm_bindgen::from_value::<DigestSet>(d).map_err(|e| format!("{name}: digests: {e}"))?),
        _ => None,
    };
    let spec = FileSpec { name, size: source.size(), changeable, expected_sha256: expected, digests, attestations };
    Ok((source, spec))
}

/// What the shell's jobs share.
struct Run {
    transport: Rc<Transport>,
    sources: Rc<Vec<Source>>,
    entries: Rc<Vec<JsValue>>,
    hasher: Option<Function>,
    on_progress: Option<Function>,
    on_report: Option<Function>,
}

impl Run {
    /// Performs the engine's actions until it is done; every file gets a report.
    async fn drive(&self, mut batch: Batch, cancel: &AbortSignal) -> Vec<Report> {
        let mut jobs: FuturesUnordered<LocalBoxFuture<'static, Event>> = FuturesUnordered::new();
        let mut reports = Vec::new();
        let mut cancelled: LocalBoxFuture<'static, ()> = Box::pin(wait_abort(cancel.clone()));
        loop {
            while let Some(action) = batch.poll() {
                match action {
                    Action::Report(r) => {
                        // A throwing callback must not stop the batch it reports on.
                        if let (Some(f), Ok(v)) = (&self.on_report, to_js(&r)) {
                            let _ = f.call1(&JsValue::NULL, &v);
                        }
                        reports.push(r)
                    }
                    Action::Done => return reports,
                    other => jobs.push(self.job(&batch, other)),
                }
            }
            // The cancel first: a request it cut is ready at the same time, and the batch, not
            // that one file, is what was cancelled.
            let next = match select(cancelled, jobs.next()).await {
                Either::Right((Some(ev), rest)) => {
                    cancelled = rest;
                    ev
                }
                Either::Right((None, rest)) => {
                    // No job runs and the engine waits for none: it cannot move on.
                    cancelled = rest;
                    batch.cancel();
                    continue;
                }
                Either::Left(((), _)) => {
                    cancelled = Box::pin(futures_util::future::pending());
                    Event::Cancelled
                }
            };
            match next {
                Event::Read(f, offset, r) => batch.on_read(f, offset, r),
                Event::Hashed(f, r) => batch.on_hashed(f, r),
                Event::HashCut(f, why) => batch.on_hash_cut(f, why),
                Event::Replied(id, file, Ok((reply, digests))) => {
                    if let (Some(f), Some(d)) = (file, digests) {
                        batch.on_body_digests(f, d);
                    }
                    batch.on_reply(id, reply)
                }
                Event::Replied(id, _, Err(why)) => batch.on_no_reply(id, why),
                Event::Timer(id) => batch.on_timer(id),
                Event::Cancelled => batch.cancel(),
            }
        }
    }

    fn job(&self, batch: &Batch, action: Action) -> LocalBoxFuture<'static, Event> {
        let sources = self.sources.clone();
        let cb = self.on_progress.clone();
        match action {
            Action::Read { file, offset, len } => Box::pin(async move {
                let r = sources[file].read(offset, len).await;
                Event::Read(file, offset, r)
            }),
            Action::Hash { file } => {
                let name = batch.name(file).to_string();
                let hasher = self.hasher.clone();
                let entry = self.entries[file].clone();
                Box::pin(async move {
                    let on = move |done: u64, total: u64| progress(&cb, &name, "hash", done, total, None);
                    match hasher {
                        Some(h) => Event::Hashed(file, hash_elsewhere(&h, &entry, on).await),
                        // A read cut half way is the engine's to make again; a changed source is not.
                        None => match sources[file].digest(&on).await {
                            Err(e) if e.transient() => Event::HashCut(file, e.into()),
                            r => Event::Hashed(file, r.map_err(String::from)),
                        },
                    }
                })
            }
            Action::Request { id, file, request } => {
                let transport = self.transport.clone();
                let name = file.map(|f| batch.name(f).to_string()).unwrap_or_default();
                Box::pin(async move {
                    let source = file.and_then(|f| sources.get(f));
                    let total = match &request.body {
                        crate::http::Body::Upload { plan, .. } => plan.content_length(),
                        _ => 0,
                    };
                    let (cb2, name2) = (cb.clone(), name.clone());
                    let on_sent: Rc<dyn Fn(u64)> = Rc::new(move |n| progress(&cb2, &name2, "upload", n, total, None));
                    if total > 0 {
                        on_sent(0);
                    }
                    let r = transport.perform(&request, source, on_sent).await;
                    if total > 0 && r.as_ref().is_ok_and(|(reply, _)| (200..300).contains(&reply.status)) {
                        progress(&cb, &name, "upload", total, total, None);
                    }
                    Event::Replied(id, file, r)
                })
            }
            Action::Wait { id, ms, file, reason } => {
                let cancel = self.transport.cancel.clone();
                if let Some(f) = file {
                    progress(&cb, batch.name(f), "wait", 0, ms, Some(&reason));
                }
                Box::pin(async move {
                    sleep(ms as f64, &cancel).await;
                    Event::Timer(id)
                })
            }
            Action::Report(_) | Action::Done => Box::pin(async { Event::Cancelled }),
        }
    }
}

/// Hands the hashing of one file to the caller's `hasher` (a worker).
async fn hash_elsewhere(hasher: &Function, entry: &JsValue, on: impl Fn(u64, u64) + 'static) -> Result<DigestSet, String> {
    let on = Closure::<dyn Fn(f64, f64)>::new(move |done: f64, total: f64| on(done as u64, total as u64));
    let called = hasher.call2(&JsValue::NULL, entry, on.as_ref()).map_err(describe)?;
    let value = match called.dyn_into::<Promise>() {
        Ok(p) => JsFuture::from(p).await.map_err(describe)?,
        Err(v) => v,
    };
    serde_wasm_bindgen::from_value(value).map_err(|e| format!("the hasher gave no digests ({e})"))
}

/// Resolves when `signal` aborts (never, if it does not).
async fn wait_abort(signal: AbortSignal) {
    if signal.aborted() {
        return;
    }
    let mut listener: Option<Function> = None;
    let p = Promise::new(&mut |resolve, _| {
        let _ = signal.add_event_listener_with_callback("abort", &resolve);
        listener = Some(resolve);
    });
    let _ = JsFuture::from(p).await;
    if let Some(l) = listener {
        let _ = signal.remove_event_listener_with_callback("abort", &l);
    }
}
