//! Sources that are not Blobs — `{ filename, size, stream(), read?() }`, as an edge function has
//! for a file behind a URL — and the fixed-length request body built around a file.
//!
//! A stream source is read once where its digests may follow the file part (hashed as it is
//! sent), else twice: once to hash it, once into the body. The body stream counts the bytes
//! and hashes them, and errors *before the closing boundary* when the source gave more or
//! fewer bytes than its size, or bytes whose sha256 is not the one hashed before or given by
//! the caller: the registry then sees a broken request, never a wrong file.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use js_sys::{Function, Object, Promise, Reflect, Uint8Array};
use sha2::{Digest, Sha256};

use crate::digest::{DigestSet, Digester};
use crate::http::NoReply;
use crate::multipart::MultipartPlan;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::{future_to_promise, JsFuture};
use web_sys::{Blob, ReadableStream};

fn get(v: &JsValue, k: &str) -> JsValue {
    Reflect::get(v, &k.into()).unwrap_or(JsValue::UNDEFINED)
}

fn describe(v: &JsValue) -> String {
    v.dyn_ref::<js_sys::Error>().map(|e| String::from(e.message())).or_else(|| v.as_string()).unwrap_or_else(|| "the source failed without saying why".into())
}

/// Awaits `v` if it is a promise.
async fn settle(v: JsValue) -> Result<JsValue, String> {
    match v.dyn_into::<Promise>() {
        Ok(p) => JsFuture::from(p).await.map_err(|e| describe(&e)),
        Err(v) => Ok(v),
    }
}

/// Why a read of a source failed: its text, and whether the source says it changed (a DOM
/// `NotReadableError`: a browser's `File` changed on disk, the CLI's file rewritten), which no
/// second read can mend, unlike a download cut half way.
pub(crate) struct ReadError {
    text: String,
    changed: bool,
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl From<ReadError> for String {
    fn from(e: ReadError) -> String {
        e.text
    }
}

impl From<String> for ReadError {
    fn from(text: String) -> ReadError {
        ReadError { text, changed: false }
    }
}

impl ReadError {
    /// A failure no second read can mend (a source of another length than it said).
    pub(crate) fn lasting(text: String) -> ReadError {
        ReadError { text, changed: true }
    }

    /// Whether another read may do: a download cut, not a source that changed.
    pub(crate) fn transient(&self) -> bool {
        !self.changed
    }

    fn of(v: &JsValue) -> ReadError {
        let changed = get(v, "name").as_string().as_deref() == Some("NotReadableError");
        ReadError { text: describe(v), changed }
    }

    /// Why a body stopped over this error.
    fn stop(self, doing: &str) -> Stop {
        let why = format!("the file could not be {doing} while sending: {}", self.text);
        if self.changed {
            Stop::Source(why)
        } else {
            Stop::Unread(why)
        }
    }
}

/// Awaits a reader's promise, keeping what its rejection says.
async fn settle_read(v: Result<JsValue, JsValue>) -> Result<JsValue, ReadError> {
    match v.map_err(|e| ReadError::of(&e))?.dyn_into::<Promise>() {
        Ok(p) => JsFuture::from(p).await.map_err(|e| ReadError::of(&e)),
        Err(v) => Ok(v),
    }
}

/// Bytes from a chunk a stream or `read()` gave: a `Uint8Array`, another view, or an `ArrayBuffer`.
fn as_bytes(v: &JsValue) -> Result<Uint8Array, String> {
    if let Some(u) = v.dyn_ref::<Uint8Array>() {
        return Ok(u.clone());
    }
    if v.is_instance_of::<js_sys::ArrayBuffer>() {
        return Ok(Uint8Array::new(v));
    }
    let buffer = get(v, "buffer");
    if buffer.is_instance_of::<js_sys::ArrayBuffer>() {
        let offset = get(v, "byteOffset").as_f64().unwrap_or(0.0) as u32;
        let len = get(v, "byteLength").as_f64().unwrap_or(0.0) as u32;
        return Ok(Uint8Array::new_with_byte_offset_and_length(&buffer, offset, len));
    }
    Err("the source gave a chunk that is not bytes (expected Uint8Array chunks)".into())
}

/// A file known by its size and a function that opens it as a stream.
pub(crate) struct StreamSource {
    pub(crate) size: u64,
    open: Function,
    read: Option<Function>,
    /// The sha256 the caller expects; the hashing pass checks it.
    pub(crate) sha256: Option<String>,
}

impl StreamSource {
    /// Reads `{ size, stream, read?, sha256? }`; `None` when `v` does not have that shape.
    pub(crate) fn from_js(v: &JsValue) -> Option<Result<Self, String>> {
        let open = get(v, "stream").dyn_into::<Function>().ok()?;
        if v.is_instance_of::<Blob>() {
            return None;
        }
        let size = match get(v, "size").as_f64() {
            Some(n) if n >= 0.0 && n.fract() == 0.0 && n <= 9_007_199_254_740_991.0 => n as u64,
            _ => return Some(Err("a stream source needs `size`, its exact length in bytes".into())),
        };
        let sha256 = match get(v, "sha256").as_string() {
            Some(s) if s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()) => Some(s.to_ascii_lowercase()),
            Some(_) => return Some(Err("`sha256` must be 64 hexadecimal digits".into())),
            None => None,
        };
        Some(Ok(StreamSource { size, open, read: get(v, "read").dyn_into::<Function>().ok(), sha256 }))
    }

    /// Opens a fresh stream over the whole file; `stream()` may give a `ReadableStream` or a `Response`.
    /// With `reuse`, chunks land in one reused buffer where the stream allows (BYOB): each is
    /// valid only until the next read.
    pub(crate) async fn open_with(&self, reuse: bool) -> Result<Reader, String> {
        let stream = self.open_stream().await?;
        if reuse {
            if let Some(r) = Reader::byob(&stream) {
                return Ok(r);
            }
        }
        Reader::of(&stream)
    }

    /// The file as a `ReadableStream`.
    async fn open_stream(&self) -> Result<ReadableStream, String> {
        let v = self.open.call0(&JsValue::NULL).map_err(|e| describe(&e))?;
        let mut v = settle(v).await?;
        if v.is_instance_of::<web_sys::Response>() {
            let r: web_sys::Response = v.unchecked_into();
            if !r.ok() {
                return Err(format!("fetching it gave HTTP {} {}", r.status(), r.status_text()));
            }
            v = r.body().map(JsValue::from).ok_or("the response has no body")?;
        }
        v.dyn_into::<ReadableStream>().map_err(|_| "stream() must return a ReadableStream or a Response".to_string())
    }

    /// A stream whose chunks may be handed on.
    pub(crate) async fn open(&self) -> Result<Reader, String> {
        self.open_with(false).await
    }

    /// `len` bytes from `offset`: through `read()` when given, else by skipping through a stream.
    pub(crate) async fn read_range(&self, offset: u64, len: u64) -> Result<Uint8Array, String> {
        let end = offset.saturating_add(len).min(self.size);
        let want = end.saturating_sub(offset) as usize;
        if want == 0 {
            return Ok(Uint8Array::new_with_length(0));
        }
        if let Some(read) = &self.read {
            let v = read.call2(&JsValue::NULL, &(offset as f64).into(), &(want as f64).into()).map_err(|e| describe(&e))?;
            let bytes = as_bytes(&settle(v).await?)?;
            if bytes.length() as usize != want {
                return Err(format!("read({offset}, {want}) gave {} bytes", bytes.length()));
            }
            return Ok(bytes);
        }
        let reader = self.open().await?;
        let mut out = Vec::with_capacity(want);
        let mut pos = 0u64;
        while out.len() < want {
            let Some(chunk) = reader.next().await? else { break };
            let n = chunk.length() as u64;
            if pos + n > offset {
                let from = offset.saturating_sub(pos) as u32;
                let to = (end - pos).min(n) as u32;
                let at = out.len();
                out.resize(at + (to - from) as usize, 0);
                chunk.subarray(from, to).copy_to(&mut out[at..]);
            }
            pos += n;
        }
        reader.cancel();
        if out.len() < want {
            return Err(format!("the stream ended after {pos} bytes, short of its stated size of {} bytes", self.size));
        }
        Ok(Uint8Array::from(out.as_slice()))
    }
}

/// A stream reader, driven without web-sys's reader bindings: the default kind, or a BYOB one
/// reading into one buffer that goes back and forth. Runtimes that do not tell the collector
/// about network buffers (workerd) otherwise pile up every chunk read until a late GC.
pub(crate) struct Reader(JsValue, std::cell::RefCell<Option<Uint8Array>>);

impl Drop for Reader {
    /// A read dropped half way (a batch cancelled while a file was hashed, an attempt given up)
    /// lets its source go: a download's connection, a file's descriptor. After the end this
    /// does nothing.
    fn drop(&mut self) {
        self.cancel();
    }
}

const BYOB_CHUNK: u32 = 1 << 20;

impl Reader {
    fn of(stream: &ReadableStream) -> Result<Reader, String> {
        let get_reader = get(stream, "getReader").dyn_into::<Function>().map_err(|_| "the stream has no getReader()".to_string())?;
        get_reader.call0(stream).map(|r| Reader(r, None.into())).map_err(|e| format!("the stream could not be read: {}", describe(&e)))
    }

    /// A reader that reuses one buffer where the stream allows it (BYOB), else a default one.
    pub(crate) fn reusing(stream: &ReadableStream) -> Result<Reader, String> {
        match Reader::byob(stream) {
            Some(r) => Ok(r),
            None => Reader::of(stream),
        }
    }

    /// A BYOB reader, when the stream is a byte stream.
    fn byob(stream: &ReadableStream) -> Option<Reader> {
        let get_reader = get(stream, "getReader").dyn_into::<Function>().ok()?;
        let opts = Object::new();
        Reflect::set(&opts, &"mode".into(), &"byob".into()).ok()?;
        let r = get_reader.call1(stream, &opts).ok()?;
        Some(Reader(r, Some(Uint8Array::new_with_length(BYOB_CHUNK)).into()))
    }

    /// The next chunk, or `None` at the end.
    pub(crate) async fn next(&self) -> Result<Option<Uint8Array>, ReadError> {
        let read = get(&self.0, "read").dyn_into::<Function>().map_err(|_| "the reader has no read()".to_string())?;
        let buf = self.1.borrow_mut().take();
        let call = match &buf {
            Some(b) => read.call1(&self.0, b),
            None => read.call0(&self.0),
        };
        let r = settle_read(call).await?;
        let value = get(&r, "value");
        if buf.is_some() && !value.is_undefined() {
            // The same memory, handed back: the next read fills it again.
            let whole = Uint8Array::new(&get(&value, "buffer"));
            *self.1.borrow_mut() = Some(whole);
        }
        if get(&r, "done").as_bool().unwrap_or(false) {
            return Ok(None);
        }
        Ok(as_bytes(&value).map(Some)?)
    }

    /// Stops the stream; what the source does with that is its business.
    pub(crate) fn cancel(&self) {
        if let Ok(cancel) = get(&self.0, "cancel").dyn_into::<Function>() {
            if let Ok(p) = cancel.call0(&self.0) {
                // An unobserved rejection would be reported by the runtime as unhandled.
                observe(p);
            }
        }
    }
}

/// What goes between the multipart head and tail.
#[derive(Clone)]
pub(crate) enum BodySource {
    Blob(Blob),
    Stream(Rc<StreamSource>),
}

impl BodySource {
    async fn open(&self) -> Result<Reader, String> {
        match self {
            BodySource::Blob(b) => Reader::of(&b.stream()),
            BodySource::Stream(s) => s.open().await,
        }
    }
}

/// What the body hashes as it goes.
enum Hashing {
    /// Nothing (a Blob hashed before).
    Off,
    /// sha256 only, to check the bytes against what was hashed before.
    Verify(Sha256, String),
    /// All three digests, which then fill the trailing fields of the tail; with the sha256
    /// the bytes must have, when one is expected.
    Trailing(Box<Digester>, Option<String>),
    /// The same by the caller's hasher (`createHasher`): chunks go to it without a copy into
    /// wasm, and in Node its native sha256 and md5 take half the CPU time of ours.
    TrailingJs(JsValue, Option<String>),
}

/// Lets go of what a body that will not be finished holds: a caller's hasher hears it
/// (`cancel()`, where it has one: its buffers, its thread's state) and the source's reader is
/// cancelled (its file closed). Both calls are made outside the state's borrow, since either may
/// call back; a body whose state is borrowed (a cancel from inside a pull's call) is let go when
/// its `BodyStream` is dropped.
fn let_go(st: &RefCell<BodyState>) {
    let Ok(mut s) = st.try_borrow_mut() else { return };
    let hashing = std::mem::replace(&mut s.hashing, Hashing::Off);
    let reader = s.reader.take();
    drop(s);
    if let Hashing::TrailingJs(h, _) = hashing {
        if get(&h, "cancel").is_function() {
            let _ = call(&h, "cancel", &JsValue::UNDEFINED);
        }
    }
    if let Some(r) = reader {
        r.cancel();
    }
}

struct BodyState {
    source: BodySource,
    size: u64,
    head: Option<Vec<u8>>,
    plan: MultipartPlan,
    reader: Option<Rc<Reader>>,
    sent: u64,
    hashing: Hashing,
    buf: Vec<u8>,
    on_sent: Rc<dyn Fn(u64)>,
    digests: Rc<RefCell<Option<DigestSet>>>,
}

/// Why a body stream stopped itself, when it did: its source (other bytes, or unreadable) or the hasher beside it.
pub(crate) type BodyFailure = Rc<RefCell<Option<NoReply>>>;

/// The `pull` and `cancel` callbacks of a body stream's underlying source.
type SourceCallbacks = (Closure<dyn FnMut(JsValue) -> Promise>, Closure<dyn FnMut(JsValue)>);

/// A request body stream, its failure slot, and the callbacks it needs, which live exactly as
/// long as the request (dropping this after the request frees them; nothing is leaked).
pub(crate) struct BodyStream {
    /// The stream to send.
    pub(crate) stream: ReadableStream,
    /// Why the stream stopped itself, if it did.
    pub(crate) failure: BodyFailure,
    /// The digests of the bytes sent, when they were computed on the way (trailing fields).
    pub(crate) digests: Rc<RefCell<Option<DigestSet>>>,
    _callbacks: Option<SourceCallbacks>,
    /// The state behind the callbacks, let go when the request is done with the body.
    state: Option<Rc<RefCell<BodyState>>>,
    /// workerd's piped body: its writer and the source's reader while it is being read.
    piped: Option<Piped>,
}

/// What a piped body (workerd) holds while its task runs.
struct Piped {
    writer: JsValue,
    reader: Rc<RefCell<Option<Rc<SendReader>>>>,
}

impl Drop for BodyStream {
    /// A fetch may drop a body without cancelling it (a reset), or stop reading it when the
    /// registry answers early: its hasher and file are let go here, and a piped body's task,
    /// blocked on a write nobody reads, is stopped with its source (else its connection stays
    /// open). After a body that ended, there is nothing left to let go.
    fn drop(&mut self) {
        if let Some(st) = &self.state {
            let_go(st);
        }
        if let Some(p) = &self.piped {
            if let Some(r) = p.reader.borrow_mut().take() {
                r.cancel();
            }
            ignore_rejection(call(&p.writer, "abort", &js_sys::Error::new("the request is over").into()));
        }
    }
}

/// The plan's head, the file and its tail as one `ReadableStream` of exactly the planned
/// length. With `verify`, the bytes must also have that sha256 (the one hashed before, or the
/// one the caller gave); with trailing digest fields in the plan, the digests are computed on
/// the way and fill the tail. `on_sent` hears how many bytes after the head the fetch has
/// taken so far: the file's, then the tail's at the end.
pub(crate) fn fixed_length_body(
    plan: &MultipartPlan,
    source: BodySource,
    verify: Option<String>,
    create_hasher: Option<&Function>,
    on_sent: Box<dyn Fn(u64)>,
) -> Result<BodyStream, String> {
    let total = plan.content_length();
    let digests = Rc::new(RefCell::new(None));
    if let (BodySource::Stream(s), Ok(ctor)) = (&source, get(&js_sys::global(), "FixedLengthStream").dyn_into::<Function>()) {
        let (stream, failure, piped) = native_pipe_body(&ctor, plan, s.clone(), verify, digests.clone(), on_sent)?;
        return Ok(BodyStream { stream, failure, digests, _callbacks: None, state: None, piped: Some(piped) });
    }
    let hashing = match (verify, create_hasher) {
        (verify, Some(make)) if !plan.trailing.is_empty() => Hashing::TrailingJs(
            make.call1(&JsValue::NULL, &(plan.file_len as f64).into()).map_err(|e| format!("createHasher failed: {}", describe(&e)))?,
            verify,
        ),
        (verify, _) if !plan.trailing.is_empty() => Hashing::Trailing(Box::default(), verify),
        (Some(want), _) => Hashing::Verify(Sha256::new(), want),
        (None, _) => Hashing::Off,
    };
    let state = Rc::new(RefCell::new(BodyState {
        source,
        size: plan.file_len,
        head: Some(plan.head.clone()),
        plan: plan.clone(),
        reader: None,
        sent: 0,
        hashing,
        buf: Vec::new(),
        on_sent: Rc::from(on_sent),
        digests: digests.clone(),
    }));
    let failure: BodyFailure = Rc::new(RefCell::new(None));
    // Outside the state: a cancel may come while a pull holds it.
    let cancelled = Rc::new(Cell::new(false));
    let (st, fail, stopped) = (state.clone(), failure.clone(), cancelled.clone());
    let pull = Closure::<dyn FnMut(JsValue) -> Promise>::new(move |ctrl: JsValue| {
        let (st, fail, stopped) = (st.clone(), fail.clone(), stopped.clone());
        future_to_promise(async move {
            if let Err(msg) = pull_once(&st, &ctrl).await {
                let_go(&st);
                // After the fetch cancelled the body (a reset, an abort), a failing read is the
                // cancel's echo, not a source that changed: the attempt may still be retried.
                if !stopped.get() {
                    let _ = call(&ctrl, "error", &js_sys::Error::new(msg.text()).into());
                    *fail.borrow_mut() = msg.into_failure();
                }
            }
            Ok(JsValue::UNDEFINED)
        })
    });
    let st = state.clone();
    let cancel = Closure::<dyn FnMut(JsValue)>::new(move |_reason: JsValue| {
        cancelled.set(true);
        let_go(&st);
    });
    let underlying = Object::new();
    Reflect::set(&underlying, &"pull".into(), pull.as_ref()).map_err(|e| describe(&e))?;
    Reflect::set(&underlying, &"cancel".into(), cancel.as_ref()).map_err(|e| describe(&e))?;
    let stream = ReadableStream::new_with_underlying_source(&underlying).map_err(|e| format!("the runtime could not make a stream: {}", describe(&e)))?;
    Ok(BodyStream { stream: with_known_length(stream, total)?, failure, digests, _callbacks: Some((pull, cancel)), state: Some(state), piped: None })
}

/// workerd: head, the file and tail written into a `FixedLengthStream` (so the request has a
/// Content-Length), each file chunk also fed to a digest, and the digest compared with the
/// sha256 it must have before the tail (the closing boundary) is written. On any difference the
/// writable is aborted: the registry sees a cut request, never a changed file. With trailing
/// digest fields (the file read once), the chunks go to the wasm `Digester`, whose three
/// digests fill the tail (workerd's `DigestStream` has no BLAKE2); otherwise to the native
/// `crypto.DigestStream`, which checks the bytes against the sha256 hashed before.
///
/// Measured with a 300 MiB asset (scripts/bench-edge.mjs): chunks go through one reused BYOB
/// buffer, written to the body and to the digest, and the next read waits for both writes, so
/// memory stays flat; the wasm digests copy each chunk into one reused wasm buffer before the
/// write. Rejected: `pipeTo` alone (checks only the length); `tee()` into a DigestStream
/// (workerd buffers for the slower branch: +430 MiB); copying chunks from a default reader
/// (+170 MiB of garbage the collector reclaims late).
fn native_pipe_body(
    ctor: &Function,
    plan: &MultipartPlan,
    source: Rc<StreamSource>,
    verify: Option<String>,
    digests: Rc<RefCell<Option<DigestSet>>>,
    on_sent: Box<dyn Fn(u64)>,
) -> Result<(ReadableStream, BodyFailure, Piped), String> {
    let fixed = Reflect::construct(ctor, &js_sys::Array::of1(&(plan.content_length() as f64).into())).map_err(|e| describe(&e))?;
    let writable = get(&fixed, "writable");
    // The lock is held for the whole body, so an abort goes through this writer.
    let writer = call(&writable, "getWriter", &JsValue::UNDEFINED).map_err(|e| describe(&e))?;
    let failure: BodyFailure = Rc::new(RefCell::new(None));
    let reader: Rc<RefCell<Option<Rc<SendReader>>>> = Rc::new(RefCell::new(None));
    let piped = Piped { writer: writer.clone(), reader: reader.clone() };
    let (head, plan, fail) = (Uint8Array::from(plan.head.as_slice()), plan.clone(), failure.clone());
    wasm_bindgen_futures::spawn_local(async move {
        let run = async {
            // A write that fails is the request giving up on the body (a reset, an early
            // reply): the fetch says why. A read that fails is the source's, worth another
            // attempt; bytes that are not the file's are never worth one.
            let js = |e: JsValue| Stop::Request(describe(&e));
            let unread = |e: ReadError| e.stop("read");
            // The wasm digests and their one reused buffer, when the digests follow the file.
            let mut all = (!plan.trailing.is_empty()).then(|| (Digester::new(), Vec::<u8>::new()));
            let mut digest = match &verify {
                Some(_) if all.is_none() => Some(SendDigest::new()?),
                _ => None,
            };
            settle(call(&writer, "write", &head).map_err(js)?).await.map_err(Stop::Request)?;
            let r = Rc::new(SendReader::open(&source).await.map_err(|e| Stop::Unread(format!("the file could not be opened for sending: {e}")))?);
            *reader.borrow_mut() = Some(r.clone());
            let mut sent = 0u64;
            loop {
                let Some(chunk) = r.next(source.size - sent).await.map_err(unread)? else { break };
                sent += chunk.length() as u64;
                if sent > source.size {
                    return Err(format!("the source gave more than its {} bytes while sending", source.size).into());
                }
                if let Some((d, buf)) = &mut all {
                    buf.resize(chunk.length() as usize, 0);
                    chunk.copy_to(buf);
                    d.update(buf);
                }
                let written = call(&writer, "write", &chunk).map_err(js)?;
                // One wait for both writes; the chunk's buffer is read into again only after it.
                let both = match &mut digest {
                    Some(d) => Promise::all(&js_sys::Array::of2(&written, &d.update(&chunk)?)).into(),
                    None => written,
                };
                settle(both).await.map_err(Stop::Request)?;
                on_sent(sent);
            }
            if sent != source.size {
                return Err(format!("the source ended after {sent} of its {} bytes while sending", source.size).into());
            }
            let tail = match all {
                Some((d, _)) => {
                    let d = d.finish();
                    if let Some(want) = verify.as_ref().filter(|w| **w != d.sha256) {
                        return Err(format!("the bytes sent have sha256 {}, not the expected {want}", d.sha256).into());
                    }
                    let tail = plan.tail_for(&d);
                    *digests.borrow_mut() = Some(d);
                    tail
                }
                None => {
                    if let (Some(d), Some(want)) = (digest, &verify) {
                        let got = d.finish().await?;
                        if got != *want {
                            return Err(format!("the bytes sent have sha256 {got}, not the {want} that was hashed: the source changed").into());
                        }
                    }
                    plan.tail.clone()
                }
            };
            reader.borrow_mut().take();
            settle(call(&writer, "write", &Uint8Array::from(tail.as_slice())).map_err(js)?).await.map_err(Stop::Request)?;
            settle(call(&writer, "close", &JsValue::UNDEFINED).map_err(js)?).await.map_err(Stop::Request)?;
            on_sent(source.size + tail.len() as u64);
            Ok::<(), Stop>(())
        };
        if let Err(stop) = run.await {
            let r = reader.borrow_mut().take();
            if let Some(r) = r {
                r.cancel();
            }
            ignore_rejection(call(&writer, "abort", &js_sys::Error::new(stop.text()).into()));
            if let Some(why) = stop.into_failure() {
                *fail.borrow_mut() = Some(why);
            }
        }
    });
    let readable = get(&fixed, "readable").dyn_into::<ReadableStream>().map_err(|_| "FixedLengthStream gave no readable side".to_string())?;
    Ok((readable, failure, piped))
}

/// The sha256 of the bytes sent: workerd's native `crypto.DigestStream` (no copy into wasm,
/// native speed), or the wasm digest where a runtime has FixedLengthStream but no DigestStream.
enum SendDigest {
    Native { stream: JsValue, writer: JsValue },
    Wasm(Sha256, Vec<u8>),
}

impl SendDigest {
    fn new() -> Result<Self, String> {
        let crypto = get(&js_sys::global(), "crypto");
        if let Ok(ctor) = get(&crypto, "DigestStream").dyn_into::<Function>() {
            let stream = Reflect::construct(&ctor, &js_sys::Array::of1(&"SHA-256".into())).map_err(|e| describe(&e))?;
            let writer = call(&stream, "getWriter", &JsValue::UNDEFINED).map_err(|e| describe(&e))?;
            return Ok(SendDigest::Native { stream, writer });
        }
        Ok(SendDigest::Wasm(Sha256::new(), Vec::new()))
    }

    /// Feeds `chunk`; the promise settles once the digest has taken it.
    fn update(&mut self, chunk: &Uint8Array) -> Result<JsValue, String> {
        match self {
            SendDigest::Native { writer, .. } => call(writer, "write", chunk).map_err(|e| describe(&e)),
            SendDigest::Wasm(h, buf) => {
                buf.resize(chunk.length() as usize, 0);
                chunk.copy_to(buf);
                h.update(&buf[..]);
                Ok(JsValue::UNDEFINED)
            }
        }
    }

    async fn finish(self) -> Result<String, String> {
        match self {
            SendDigest::Native { stream, writer } => {
                settle(call(&writer, "close", &JsValue::UNDEFINED).map_err(|e| describe(&e))?).await?;
                let bytes = settle(get(&stream, "digest")).await?;
                let mut out = vec![0u8; 32];
                as_bytes(&bytes)?.copy_to(&mut out);
                Ok(crate::digest::hex(&out))
            }
            SendDigest::Wasm(h, _) => Ok(crate::digest::hex(&h.finalize())),
        }
    }
}

const SEND_CHUNK: u32 = 1 << 20;

/// The body pass's reader in workerd: BYOB into one reused 1 MiB buffer, with workerd's
/// `readAtLeast` filling it (a third of the reads, and of the pending promises the collector
/// keeps, against plain BYOB reads: -3 MiB peak for 300 MiB, measured); any other stream through
/// the generic reader.
enum SendReader {
    Byob { reader: JsValue, buf: RefCell<Option<Uint8Array>> },
    Other(Reader),
}

impl SendReader {
    async fn open(source: &StreamSource) -> Result<Self, String> {
        let stream = source.open_stream().await?;
        let get_reader = get(&stream, "getReader").dyn_into::<Function>().map_err(|_| "the stream has no getReader()".to_string())?;
        let opts = Object::new();
        let _ = Reflect::set(&opts, &"mode".into(), &"byob".into());
        match get_reader.call1(&stream, &opts) {
            Ok(reader) => Ok(SendReader::Byob { reader, buf: RefCell::new(Some(Uint8Array::new_with_length(SEND_CHUNK))) }),
            Err(_) => Reader::of(&stream).map(SendReader::Other),
        }
    }

    /// The next chunk, asking for at least `min(remaining, 1 MiB)` bytes; `None` at the end.
    async fn next(&self, remaining: u64) -> Result<Option<Uint8Array>, ReadError> {
        let (reader, cell) = match self {
            SendReader::Other(r) => return r.next().await,
            SendReader::Byob { reader, buf } => (reader, buf),
        };
        let buf = cell.borrow_mut().take().ok_or_else(|| "the body's buffer is in use".to_string())?;
        let at_least = get(reader, "readAtLeast").dyn_into::<Function>().ok();
        let min = remaining.clamp(1, SEND_CHUNK as u64) as f64;
        let call = match &at_least {
            Some(f) => f.call2(reader, &min.into(), &buf),
            None => call(reader, "read", &buf),
        };
        let r = settle_read(call).await?;
        let value = get(&r, "value");
        if !value.is_undefined() {
            *cell.borrow_mut() = Some(Uint8Array::new(&get(&value, "buffer")));
        }
        if get(&r, "done").as_bool().unwrap_or(false) {
            return Ok(None);
        }
        Ok(as_bytes(&value).map(Some)?)
    }

    fn cancel(&self) {
        match self {
            SendReader::Other(r) => r.cancel(),
            SendReader::Byob { reader, .. } => ignore_rejection(call(reader, "cancel", &JsValue::UNDEFINED)),
        }
    }
}

/// Drops a promise's rejection: an unobserved one would be reported by the runtime as unhandled.
fn ignore_rejection(p: Result<JsValue, JsValue>) {
    if let Ok(p) = p {
        observe(p);
    }
}

/// workerd sends a stream body chunked (or not at all to some hosts) unless it is a
/// `FixedLengthStream`'s readable side; elsewhere the Content-Length header does that job.
fn with_known_length(stream: ReadableStream, total: u64) -> Result<ReadableStream, String> {
    let Ok(ctor) = get(&js_sys::global(), "FixedLengthStream").dyn_into::<Function>() else {
        return Ok(stream);
    };
    let fixed = Reflect::construct(&ctor, &js_sys::Array::of1(&(total as f64).into())).map_err(|e| describe(&e))?;
    let piped = call(&stream, "pipeTo", &get(&fixed, "writable")).map_err(|e| describe(&e))?;
    // The readable side errors too; the fetch reports it.
    observe(piped);
    get(&fixed, "readable").dyn_into::<ReadableStream>().map_err(|_| "FixedLengthStream gave no readable side".to_string())
}

thread_local! {
    /// One shared no-op handler: a closure per promise would have to be leaked to outlive the
    /// call, and `new Function` is refused by the page's Content-Security-Policy.
    static NOOP: Closure<dyn FnMut(JsValue)> = Closure::new(|_| {});
}

/// Marks a promise's rejection as handled.
pub(crate) fn observe(p: JsValue) {
    if let Ok(p) = p.dyn_into::<Promise>() {
        NOOP.with(|noop| {
            let _ = p.catch(noop);
        });
    }
}

/// The caller's hasher's digests (what its `finish()` gave), checked: they are written into a
/// tail of planned length.
fn js_digests(v: JsValue, size: u64) -> Result<DigestSet, String> {
    let d: DigestSet = serde_wasm_bindgen::from_value(v).map_err(|e| format!("the hasher gave no digests ({e})"))?;
    // Lowercase hex, as createHasher's contract says: they go into the tail as given.
    d.checked().filter(|c| *c == d && c.len == size).ok_or_else(|| format!("the hasher gave malformed digests for {size} bytes"))
}

fn call(target: &JsValue, method: &str, arg: &JsValue) -> Result<JsValue, JsValue> {
    get(target, method).dyn_into::<Function>()?.call1(target, arg)
}

fn enqueue(ctrl: &JsValue, bytes: &[u8]) -> Result<(), String> {
    call(ctrl, "enqueue", &Uint8Array::from(bytes).into()).map(|_| ()).map_err(|e| describe(&e))
}

/// Counts and hashes a chunk read for the body; what the caller's hasher answered.
fn took_chunk(st: &Rc<RefCell<BodyState>>, chunk: &Uint8Array) -> Result<JsValue, Stop> {
    let mut s = st.borrow_mut();
    let n = chunk.length() as u64;
    s.sent += n;
    if s.sent > s.size {
        return Err(format!("the source gave more than its {} bytes while sending", s.size).into());
    }
    let js = match &s.hashing {
        Hashing::TrailingJs(h, _) => Some(h.clone()),
        _ => None,
    };
    if js.is_none() && !matches!(s.hashing, Hashing::Off) {
        let s = &mut *s;
        s.buf.resize(n as usize, 0);
        chunk.copy_to(&mut s.buf);
        match &mut s.hashing {
            Hashing::Verify(h, _) => h.update(&s.buf),
            Hashing::Trailing(d, _) => d.update(&s.buf),
            Hashing::Off | Hashing::TrailingJs(..) => {}
        }
    }
    let sent = s.sent;
    // The caller's hasher and progress callback run outside the borrow: either may call back
    // (a progress handler that aborts, which cancels this body).
    drop(s);
    let answer = match js {
        Some(h) => call(&h, "update", chunk).map_err(|e| Stop::hasher(describe(&e)))?,
        None => JsValue::UNDEFINED,
    };
    let on_sent = st.borrow().on_sent.clone();
    on_sent(sent);
    Ok(answer)
}

/// Why a body stopped before its end: its source gave other bytes (sending it again would not
/// help), its source could not be read or the caller's hasher beside it failed (another attempt
/// may do), or the request stopped taking it (the fetch's own error says why).
enum Stop {
    Source(String),
    Unread(String),
    Hasher(String),
    Request(String),
}

impl Stop {
    fn text(&self) -> &str {
        match self {
            Stop::Source(why) | Stop::Unread(why) | Stop::Hasher(why) | Stop::Request(why) => why,
        }
    }

    /// What the request's failure slot gets: nothing when the request itself failed.
    fn into_failure(self) -> Option<NoReply> {
        match self {
            Stop::Source(why) => Some(NoReply::Source(why)),
            Stop::Unread(why) => Some(NoReply::Unread(why)),
            Stop::Hasher(why) => Some(NoReply::Hasher(why)),
            Stop::Request(_) => None,
        }
    }

    fn hasher(why: String) -> Stop {
        Stop::Hasher(format!("the hashing beside the upload failed: {why}"))
    }
}

impl From<String> for Stop {
    fn from(why: String) -> Stop {
        Stop::Source(why)
    }
}

async fn pull_once(st: &Rc<RefCell<BodyState>>, ctrl: &JsValue) -> Result<(), Stop> {
    let head = st.borrow_mut().head.take();
    if let Some(head) = head {
        let source = st.borrow().source.clone();
        let reader = source.open().await.map_err(|e| Stop::Unread(format!("the file could not be opened for sending: {e}")))?;
        st.borrow_mut().reader = Some(Rc::new(reader));
        return Ok(enqueue(ctrl, &head)?);
    }
    let Some(reader) = st.borrow().reader.clone() else {
        return Ok(());
    };
    match reader.next().await.map_err(|e| e.stop("read"))? {
        Some(chunk) => {
            // A hasher in another thread may ask for a pause (a promise) when it is behind: the
            // chunk still goes, the next read waits.
            let behind = took_chunk(st, &chunk)?;
            call(ctrl, "enqueue", &chunk).map_err(|e| describe(&e))?;
            settle(behind).await.map(|_| ()).map_err(Stop::hasher)
        }
        None => {
            let (hashing, size) = {
                let mut s = st.borrow_mut();
                if s.sent != s.size {
                    return Err(format!("the source ended after {} of its {} bytes while sending", s.sent, s.size).into());
                }
                (std::mem::replace(&mut s.hashing, Hashing::Off), s.size)
            };
            // A hasher in another thread answers `finish()` with a promise.
            let finished = match &hashing {
                Hashing::TrailingJs(h, _) => {
                    Some(settle(call(h, "finish", &JsValue::UNDEFINED).map_err(|e| Stop::hasher(describe(&e)))?).await.map_err(Stop::hasher)?)
                }
                _ => None,
            };
            let mut s = st.borrow_mut();
            let (got, want, digests) = match hashing {
                Hashing::Off => (None, None, None),
                Hashing::Verify(h, want) => (Some(crate::digest::hex(&h.finalize())), Some(want), None),
                Hashing::Trailing(d, want) => {
                    let d = d.finish();
                    (Some(d.sha256.clone()), want, Some(d))
                }
                Hashing::TrailingJs(_, want) => {
                    let d = js_digests(finished.unwrap_or_default(), size)?;
                    (Some(d.sha256.clone()), want, Some(d))
                }
            };
            if let (Some(got), Some(want)) = (&got, &want) {
                if got != want {
                    // Read once, the digests after it: the file was never hashed before.
                    return Err(match digests {
                        Some(_) => format!("the bytes sent have sha256 {got}, not the expected {want}"),
                        None => format!("the bytes sent have sha256 {got}, not the {want} that was hashed: the source changed"),
                    }
                    .into());
                }
            }
            s.reader = None;
            let tail = match &digests {
                Some(d) => s.plan.tail_for(d),
                None => s.plan.tail.clone(),
            };
            *s.digests.borrow_mut() = digests;
            let (on_sent, whole) = (s.on_sent.clone(), s.size + tail.len() as u64);
            drop(s);
            enqueue(ctrl, &tail)?;
            call(ctrl, "close", &JsValue::UNDEFINED).map_err(|e| describe(&e))?;
            // The whole body is out: a progress display turns to waiting for the reply.
            on_sent(whole);
            Ok(())
        }
    }
}
