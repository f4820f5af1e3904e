//! Performs the engine's requests with `fetch` (or the caller's fetch, or XMLHttpRequest for
//! Blob uploads in browsers, whose upload progress fetch cannot report).
//!
//! Three rules hold on every path: redirects are never followed here (the engine judges them);
//! a request is abandoned when nothing moves for the stall timeout (no body bytes pulled, no
//! reply after the body, no reply bytes), not after a fixed deadline; a reply body is kept up
//! to [`MAX_REPLY_BODY`] and the rest dropped, its status kept.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use js_sys::{Array, Function, Promise, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortController, AbortSignal, Blob};

use super::source::Source;
use super::stream::{fixed_length_body, BodySource, Reader};
use crate::digest::DigestSet;
use crate::http::{Body, NoReply, Reply, Request, MAX_REPLY_BODY};
use crate::multipart::MultipartPlan;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = fetch)]
    fn global_fetch(request: &web_sys::Request) -> Promise;
    #[wasm_bindgen(js_name = setInterval)]
    fn set_interval(cb: &Function, ms: f64) -> JsValue;
    #[wasm_bindgen(js_name = clearInterval)]
    fn clear_interval(id: &JsValue);
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(cb: &Function, ms: f64) -> JsValue;
    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout(id: &JsValue);
}

pub(crate) fn get(v: &JsValue, k: &str) -> JsValue {
    Reflect::get(v, &k.into()).unwrap_or(JsValue::UNDEFINED)
}

/// How requests are made for one batch.
pub(crate) struct Transport {
    /// The caller's fetch, if any (the Node CLI passes one that streams bodies).
    pub(crate) fetch: Option<Function>,
    /// Milliseconds without progress after which a request is abandoned.
    pub(crate) stall_ms: f64,
    /// Aborted when the caller cancels.
    pub(crate) cancel: AbortSignal,
    /// Makes the hasher of a body whose digest fields follow the file (`createHasher`), when
    /// the caller has a faster one than wasm (Node's native sha256 and md5).
    pub(crate) create_hasher: Option<Function>,
}

/// Aborts a request when nothing has moved for the stall timeout.
struct Watchdog {
    last: Rc<Cell<f64>>,
    fired: Rc<Cell<bool>>,
    id: JsValue,
    _tick: Closure<dyn FnMut()>,
}

impl Watchdog {
    fn new(stall_ms: f64, controller: &AbortController) -> Watchdog {
        let last = Rc::new(Cell::new(js_sys::Date::now()));
        let fired = Rc::new(Cell::new(false));
        let (l, f, c) = (last.clone(), fired.clone(), controller.clone());
        let tick = Closure::<dyn FnMut()>::new(move || {
            if !f.get() && js_sys::Date::now() - l.get() >= stall_ms {
                f.set(true);
                c.abort();
            }
        });
        let id = set_interval(tick.as_ref().unchecked_ref(), (stall_ms / 4.0).clamp(10.0, 1000.0));
        Watchdog { last, fired, id, _tick: tick }
    }

    fn toucher(&self) -> impl Fn() + 'static {
        let last = self.last.clone();
        move || last.set(js_sys::Date::now())
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        clear_interval(&self.id);
    }
}

/// Aborts `controller` when `signal` aborts, for as long as the link lives (the listener goes
/// with it).
pub(crate) struct Link {
    signal: AbortSignal,
    abort: Closure<dyn FnMut()>,
}

impl Link {
    pub(crate) fn new(cancel: &AbortSignal, controller: &AbortController) -> Link {
        if cancel.aborted() {
            controller.abort();
        }
        let c = controller.clone();
        let abort = Closure::<dyn FnMut()>::new(move || c.abort());
        let _ = cancel.add_event_listener_with_callback("abort", abort.as_ref().unchecked_ref());
        Link { signal: cancel.clone(), abort }
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        let _ = self.signal.remove_event_listener_with_callback("abort", self.abort.as_ref().unchecked_ref());
    }
}

/// True in Node and Bun, whose fetch reads a whole `Blob` body into memory before sending it:
/// there the body goes as a stream with an explicit Content-Length, which also gives upload
/// progress. Browsers and Deno stream Blob bodies themselves.
pub(crate) fn stream_bodies() -> bool {
    let global = js_sys::global();
    get(&global, "Deno").is_undefined() && get(&get(&get(&global, "process"), "versions"), "node").is_string()
}

/// True in workerd (and Cloudflare Workers), which sends a stream body with a Content-Length
/// only as a `FixedLengthStream`'s readable side.
pub(crate) fn fixed_length_streams() -> bool {
    get(&js_sys::global(), "FixedLengthStream").is_function()
}

fn has_xhr() -> bool {
    !get(&js_sys::global(), "XMLHttpRequest").is_undefined()
}

impl Transport {
    /// Makes one request; `source` is the file of an upload body; `on_sent` hears how many
    /// body bytes have gone.
    pub(crate) async fn perform(&self, request: &Request, source: Option<&Source>, on_sent: Rc<dyn Fn(u64)>) -> Result<(Reply, Option<DigestSet>), NoReply> {
        if self.cancel.aborted() {
            return Err(NoReply::Cancelled);
        }
        let controller = AbortController::new().map_err(|_| NoReply::Network("AbortController is not available".into()))?;
        let _link = Link::new(&self.cancel, &controller);
        let watchdog = Watchdog::new(self.stall_ms, &controller);
        let touch = Rc::new(watchdog.toucher());
        let stalled = || NoReply::Stalled(format!("nothing moved for {} s", self.stall_ms / 1000.0));
        let outcome = self.attempt(request, source, on_sent, &controller, touch).await;
        match outcome {
            Ok(reply) => Ok(reply),
            Err(_) if self.cancel.aborted() => Err(NoReply::Cancelled),
            Err(_) if watchdog.fired.get() => Err(stalled()),
            Err(e) => Err(e),
        }
    }

    async fn attempt(
        &self,
        request: &Request,
        source: Option<&Source>,
        on_sent: Rc<dyn Fn(u64)>,
        controller: &AbortController,
        touch: Rc<dyn Fn()>,
    ) -> Result<(Reply, Option<DigestSet>), NoReply> {
        let sent = {
            let (touch, on_sent) = (touch.clone(), on_sent.clone());
            Rc::new(move |n: u64| {
                touch();
                on_sent(n);
            }) as Rc<dyn Fn(u64)>
        };
        let headers = web_sys::Headers::new().map_err(|e| NoReply::Network(describe_error(&e)))?;
        for (k, v) in &request.headers {
            headers.append(k, v).map_err(|e| NoReply::Network(describe_error(&e)))?;
        }
        let init = web_sys::RequestInit::new();
        init.set_method(request.method.as_str());
        init.set_redirect(web_sys::RequestRedirect::Manual);
        init.set_signal(Some(&controller.signal()));
        let mut body_stream = None;
        match &request.body {
            Body::Empty => {}
            Body::Text(t) => init.set_body(&JsValue::from_str(t)),
            Body::Upload { plan, verify_sha256, .. } => match source {
                Some(Source::Blob(blob)) if !stream_bodies() => {
                    let body = blob_body(plan, blob).map_err(NoReply::Source)?;
                    if self.fetch.is_none() && has_xhr() {
                        return xhr(request, &body, &sent, touch, controller).await.map(|r| (r, None));
                    }
                    init.set_body(&body);
                }
                Some(src) => {
                    let from = match src {
                        Source::Blob(b) => BodySource::Blob(b.clone()),
                        Source::Stream(s) => BodySource::Stream(s.clone()),
                        Source::Bytes(_) => return Err(NoReply::Source("bytes are not an upload source".into())),
                    };
                    let head = plan.head.len() as u64;
                    let s = sent.clone();
                    let body = fixed_length_body(plan, from, verify_sha256.clone(), self.create_hasher.as_ref(), Box::new(move |n| s(head + n)))
                        .map_err(NoReply::Network)?;
                    // Browsers forbid Content-Length and drop it; elsewhere it keeps the body unchunked.
                    let _ = headers.set("Content-Length", &plan.content_length().to_string());
                    init.set_body(&body.stream);
                    let _ = Reflect::set(&init, &"duplex".into(), &"half".into());
                    body_stream = Some(body);
                }
                None => return Err(NoReply::Source("the file to send is missing".into())),
            },
        }
        init.set_headers(&headers);
        let req = web_sys::Request::new_with_str_and_init(request.url.as_str(), &init).map_err(|e| NoReply::Network(describe_error(&e)))?;
        let promise = match &self.fetch {
            Some(f) => match f.call1(&JsValue::NULL, &req) {
                Ok(p) => p.dyn_into::<Promise>().unwrap_or_else(|v| Promise::resolve(&v)),
                Err(e) => Promise::reject(&e),
            },
            None => global_fetch(&req),
        };
        let result = JsFuture::from(promise).await;
        touch();
        let failure = body_stream.as_ref().and_then(|b| b.failure.borrow_mut().take());
        let value = match (result, failure) {
            (Err(_), Some(why)) => return Err(why),
            (Err(e), None) => return Err(NoReply::Network(describe_error(&e))),
            (Ok(v), _) => v,
        };
        let digests = body_stream.as_ref().and_then(|b| b.digests.borrow_mut().take());
        read_reply(&value, &*touch, self.stall_ms).await.map(|r| (r, digests))
    }
}

/// `Blob([head, file, tail])`, checked against the planned length.
fn blob_body(plan: &MultipartPlan, blob: &Blob) -> Result<Blob, String> {
    let parts = Array::of3(&Uint8Array::from(plan.head.as_slice()), blob, &Uint8Array::from(plan.tail.as_slice()));
    let body = Blob::new_with_blob_sequence(&parts).map_err(|_| "the runtime could not build the request body".to_string())?;
    if body.size() as u64 != plan.content_length() {
        return Err(format!("the request body is {} bytes, expected {}: the file changed after it was read", body.size(), plan.content_length()));
    }
    Ok(body)
}

/// A `Response`, or the plain reply a caller's fetch may give for any status line
/// (`{ status, statusText, headers, body, truncated? }`).
async fn read_reply(v: &JsValue, touch: &dyn Fn(), stall_ms: f64) -> Result<Reply, NoReply> {
    let now_ms = js_sys::Date::now() as u64;
    if let Some(r) = v.dyn_ref::<web_sys::Response>() {
        if r.type_() == web_sys::ResponseType::Opaqueredirect {
            return Ok(Reply { status: 308, reason: "redirect (the browser hides where to)".into(), now_ms, ..Reply::default() });
        }
        let headers = gloo_net::http::Headers::from_raw(r.headers()).entries().collect();
        let (body, truncated) = match r.body() {
            Some(stream) => read_bounded(&stream, touch, stall_ms).await,
            None => (Vec::new(), false),
        };
        return Ok(Reply { status: r.status(), reason: r.status_text(), headers, body, truncated, now_ms });
    }
    let status = get(v, "status")
        .as_f64()
        .filter(|s| (0.0..=65535.0).contains(s))
        .ok_or_else(|| NoReply::Network("fetch gave neither a Response nor a reply with a status".into()))?;
    let raw_headers = get(v, "headers");
    let mut headers = Vec::new();
    if let Some(h) = raw_headers.dyn_ref::<web_sys::Headers>() {
        headers = gloo_net::http::Headers::from_raw(h.clone()).entries().collect();
    } else if Array::is_array(&raw_headers) {
        for pair in Array::from(&raw_headers).iter() {
            let p = Array::from(&pair);
            if let (Some(k), Some(v)) = (p.get(0).as_string(), p.get(1).as_string()) {
                headers.push((k, v));
            }
        }
    }
    let b = get(v, "body");
    let mut body = if let Some(u) = b.dyn_ref::<Uint8Array>() { u.to_vec() } else { b.as_string().map(String::into_bytes).unwrap_or_default() };
    let mut truncated = get(v, "truncated").as_bool().unwrap_or(false);
    if body.len() > MAX_REPLY_BODY {
        body.truncate(MAX_REPLY_BODY);
        truncated = true;
    }
    Ok(Reply { status: status as u16, reason: get(v, "statusText").as_string().unwrap_or_default(), headers, body, truncated, now_ms })
}

/// The first [`MAX_REPLY_BODY`] bytes of a reply body; the rest is not read. A body that
/// trickles (a byte now and then keeps the stall watchdog quiet) gets the stall timeout in all,
/// counted from the reply's head; what came by then is kept.
async fn read_bounded(stream: &web_sys::ReadableStream, touch: &dyn Fn(), stall_ms: f64) -> (Vec<u8>, bool) {
    let Ok(reader) = Reader::reusing(stream) else { return (Vec::new(), false) };
    let started = js_sys::Date::now();
    let mut out = Vec::new();
    loop {
        match reader.next().await {
            Ok(Some(chunk)) => {
                touch();
                if js_sys::Date::now() - started > stall_ms {
                    reader.cancel();
                    return (out, true);
                }
                let room = MAX_REPLY_BODY - out.len();
                let take = (chunk.length() as usize).min(room);
                let at = out.len();
                out.resize(at + take, 0);
                chunk.subarray(0, take as u32).copy_to(&mut out[at..]);
                if take < chunk.length() as usize || out.len() == MAX_REPLY_BODY {
                    reader.cancel();
                    return (out, true);
                }
            }
            // A reply cut short still has its status; what arrived is kept.
            Ok(None) | Err(_) => return (out, false),
        }
    }
}

/// Browsers: a Blob upload through XMLHttpRequest, whose `upload.onprogress` counts the bytes
/// that really left. XHR follows redirects itself: a reply from another URL is reported as a
/// 308 to it, for the engine to judge.
async fn xhr(request: &Request, body: &Blob, on_sent: &Rc<dyn Fn(u64)>, touch: Rc<dyn Fn()>, controller: &AbortController) -> Result<Reply, NoReply> {
    use web_sys::{ProgressEvent, XmlHttpRequest};
    let failed = |e: JsValue| NoReply::Network(describe_error(&e));
    let x = XmlHttpRequest::new().map_err(failed)?;
    x.open_with_async(request.method.as_str(), request.url.as_str(), true).map_err(failed)?;
    for (k, v) in &request.headers {
        x.set_request_header(k, v).map_err(failed)?;
    }
    let sent = on_sent.clone();
    let up = Closure::<dyn FnMut(ProgressEvent)>::new(move |e: ProgressEvent| sent(e.loaded() as u64));
    if let Ok(u) = x.upload() {
        u.set_onprogress(Some(up.as_ref().unchecked_ref()));
    }
    // An endless reply would be buffered whole by XHR: stop at the bound, keep what came.
    let kept: Rc<RefCell<Option<Reply>>> = Rc::new(RefCell::new(None));
    let (xc, k) = (x.clone(), kept.clone());
    let down = Closure::<dyn FnMut(ProgressEvent)>::new(move |e: ProgressEvent| {
        touch();
        if e.loaded() as usize > MAX_REPLY_BODY && k.borrow().is_none() {
            let mut r = snapshot(&xc);
            r.body.truncate(MAX_REPLY_BODY);
            r.truncated = true;
            *k.borrow_mut() = Some(r);
            let _ = xc.abort();
        }
    });
    x.set_onprogress(Some(down.as_ref().unchecked_ref()));
    let xa = x.clone();
    let abort = Closure::<dyn FnMut()>::new(move || {
        let _ = xa.abort();
    });
    let signal = controller.signal();
    let _ = signal.add_event_listener_with_callback("abort", abort.as_ref().unchecked_ref());
    let xl = x.clone();
    let ended = Promise::new(&mut |resolve, _| xl.set_onloadend(Some(&resolve)));
    let result = x.send_with_opt_blob(Some(body)).map_err(failed);
    if result.is_ok() {
        let _ = JsFuture::from(ended).await;
    }
    let _ = signal.remove_event_listener_with_callback("abort", abort.as_ref().unchecked_ref());
    x.set_onloadend(None);
    x.set_onprogress(None);
    if let Ok(u) = x.upload() {
        u.set_onprogress(None);
    }
    result?;
    if let Some(r) = kept.borrow_mut().take() {
        return Ok(r);
    }
    if signal.aborted() {
        return Err(NoReply::Network("aborted".into()));
    }
    let status = x.status().unwrap_or(0);
    if status == 0 {
        // The browser tells scripts nothing more, by design: refused, reset, or no CORS headers.
        return Err(NoReply::Network("the browser got no readable reply (TypeError: network error or CORS)".into()));
    }
    let response_url = x.response_url();
    if !response_url.is_empty() && response_url != request.url.as_str() {
        return Ok(Reply {
            status: 308,
            reason: "followed by the browser".into(),
            headers: vec![("location".into(), response_url)],
            now_ms: js_sys::Date::now() as u64,
            ..Reply::default()
        });
    }
    let mut r = snapshot(&x);
    if r.body.len() > MAX_REPLY_BODY {
        r.body.truncate(MAX_REPLY_BODY);
        r.truncated = true;
    }
    Ok(r)
}

fn snapshot(x: &web_sys::XmlHttpRequest) -> Reply {
    let headers = x
        .get_all_response_headers()
        .unwrap_or_default()
        .split("\r\n")
        .filter_map(|l| l.split_once(':').map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string())))
        .collect();
    let body = x.response_text().ok().flatten().unwrap_or_default().into_bytes();
    Reply { status: x.status().unwrap_or(0), reason: x.status_text().unwrap_or_default(), headers, body, truncated: false, now_ms: js_sys::Date::now() as u64 }
}

/// Resolves after `ms`, or at once when `cancel` aborts; the timer and listener go with it.
pub(crate) async fn sleep(ms: f64, cancel: &AbortSignal) {
    if cancel.aborted() {
        return;
    }
    let timer: Rc<Cell<Option<JsValue>>> = Rc::new(Cell::new(None));
    let t = timer.clone();
    let mut listener: Option<Function> = None;
    let p = Promise::new(&mut |resolve, _| {
        t.set(Some(set_timeout(&resolve, ms)));
        let _ = cancel.add_event_listener_with_callback("abort", &resolve);
        listener = Some(resolve);
    });
    // Also when the wait is dropped unfinished (a batch that ended): a pending timer would keep
    // Node running until it fires.
    let _timer = TimerGuard { id: timer, listener, cancel: cancel.clone() };
    let _ = JsFuture::from(p).await;
}

/// Clears a sleep's timer and its abort listener when the sleep ends or is dropped.
struct TimerGuard {
    id: Rc<Cell<Option<JsValue>>>,
    listener: Option<Function>,
    cancel: AbortSignal,
}

impl Drop for TimerGuard {
    fn drop(&mut self) {
        if let Some(id) = self.id.take() {
            clear_timeout(&id);
        }
        if let Some(l) = &self.listener {
            let _ = self.cancel.remove_event_listener_with_callback("abort", l);
        }
    }
}

/// A fetch rejection in words: Node puts the reason (ECONNREFUSED…) in `cause`.
pub(crate) fn describe_error(e: &JsValue) -> String {
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
