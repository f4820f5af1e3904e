// A fetch for Node built on node:http(s). Node 20's built-in fetch buffers a whole request
// body in memory before it is sent (a 1000 MiB upload took 1.1 GB of RSS, see BENCHMARKS.md);
// piping into http.request keeps to the socket's pace. Only what publish() needs: no redirects
// followed (it asks for "manual"), AbortSignal honoured, no deadline of its own (publish()
// aborts through the signal when nothing moves).
//
// Registries are not trusted to speak HTTP well, so whatever answers becomes a reply rather
// than an exception: any status line (999, 99, a word), a reason phrase that `Response` would
// refuse, a header Node's parser rejects. Reply bodies are bounded, and a final reply that
// arrives while the body is still being sent is the outcome of the request.
import http from "node:http";
import https from "node:https";
import { release } from "./buffer-pool.mjs";

/** Reply bodies keep this much; the rest is dropped (a plain reply says `truncated: true`). */
export const MAX_REPLY_BODY = 1 << 20;
// Enough for a status line and Node's 16 KiB header limit, for replies Node's parser refuses.
const RAW_KEEP = 64 << 10;

// A body cannot be replayed on a fresh socket if a kept-alive one turns out to be stale, and
// an upload is long enough that a handshake per file costs nothing: bodies get their own.
const fresh = { "http:": new http.Agent({ keepAlive: false }), "https:": new https.Agent({ keepAlive: false }) };

const abortError = () => new DOMException("The operation was aborted.", "AbortError");
const fetchFailed = (cause) => Object.assign(new TypeError("fetch failed"), { cause });

/**
 * `fetch(request)` over node:http. Resolves when the reply's head arrives: to a `Response`
 * whose body streams (so publish() sees reply bytes move, and stops reading where it likes),
 * or, for a status outside 200-599 or a reason phrase `Response` refuses, to a plain reply
 * `{ status, statusText, headers: [name, value][], body: Uint8Array, truncated? }` read whole.
 * Either way no more than MAX_REPLY_BODY bytes of body are kept; the socket goes after that.
 */
export function nodeFetch(request) {
  return attempt(request, false);
}

function attempt(request, freshSocket) {
  return new Promise((resolve, reject) => {
    const signal = request.signal;
    if (signal?.aborted) return reject(abortError());
    const url = new URL(request.url);
    const mod = url.protocol === "https:" ? https : http;
    const hasBody = !!request.body;
    const options = { method: request.method, headers: Object.fromEntries(request.headers) };
    if (hasBody || freshSocket) options.agent = fresh[url.protocol];
    const req = mod.request(url, options);

    let settled = false;
    let released = false;
    let reader; // the request body's, while it is being sent
    let bodyAbort; // errors a reply body that is still streaming
    let socket;
    const raw = []; // what the socket delivered, for replies Node's parser refuses
    let rawLength = 0;
    const record = (chunk) => {
      if (rawLength < RAW_KEEP) raw.push(chunk.subarray(0, RAW_KEEP - rawLength));
      rawLength += chunk.length;
    };
    const onAbort = () => {
      stopBody(false);
      req.destroy(abortError());
      if (bodyAbort) return bodyAbort();
      finish(reject, abortError());
    };
    // With a reply in hand the web stream is cancelled, so the file is read no further. Without
    // one it is only let go: publish() owns it, and a cancel while it reads would look to it
    // like a source that ended early, a failure no retry can fix.
    function stopBody(cancel) {
      if (!reader) return;
      if (cancel) reader.cancel().catch(() => {});
      reader = undefined;
    }
    function release() {
      if (released) return;
      released = true;
      signal?.removeEventListener("abort", onAbort);
      socket?.removeListener("data", record);
    }
    // A streamed reply keeps listening for an abort until its body is done.
    function finish(settle, value, streaming = false) {
      if (settled) return;
      settled = true;
      if (!streaming) release();
      settle(value);
    }
    signal?.addEventListener("abort", onAbort, { once: true });

    req.on("socket", (s) => {
      socket = s;
      s.on("data", record);
    });
    req.on("error", (e) => {
      if (settled || req.res) return; // a reply already arrived: it is the outcome, not EPIPE
      if (signal?.aborted) return finish(reject, abortError());
      stopBody(false);
      if (typeof e?.code === "string" && e.code.startsWith("HPE_")) {
        // Our 'data' listener sees this chunk after Node's parser has thrown on it.
        return queueMicrotask(() => {
          const r = lenientReply(Buffer.concat(raw), e);
          if (r.error) finish(reject, r.error);
          else finish(resolve, r.reply);
        });
      }
      // A kept-alive socket the server had already closed: a request without a body is sent
      // again once, on a new connection, as browsers do.
      if (!hasBody && !freshSocket && req.reusedSocket && e?.code === "ECONNRESET") {
        release();
        settled = true;
        return attempt(request, true).then(resolve, reject);
      }
      finish(reject, e instanceof DOMException ? e : fetchFailed(e));
    });
    req.on("upgrade", (res, s) => {
      s.destroy();
      finish(resolve, reply(res.statusCode, res.statusMessage, res.rawHeaders, Buffer.alloc(0), false));
    });
    req.on("response", (res) => {
      // The server has decided: the rest of the body would only fill its buffers or hit EPIPE.
      stopBody(true);
      const streamed = streamedReply(req, res, release);
      if (streamed) {
        bodyAbort = streamed.abort;
        return finish(resolve, streamed.response, true);
      }
      const chunks = [];
      let kept = 0;
      let truncated = false;
      const done = () => {
        if (settled) return;
        if (signal?.aborted) return finish(reject, abortError());
        finish(resolve, reply(res.statusCode, res.statusMessage, res.rawHeaders, Buffer.concat(chunks, kept), truncated));
        if (truncated || !req.writableFinished) drop(req, res);
      };
      res.on("data", (c) => {
        if (truncated) return;
        const room = MAX_REPLY_BODY - kept;
        chunks.push(c.length > room ? c.subarray(0, room) : c);
        kept += Math.min(c.length, room);
        if (c.length > room) {
          // Status and headers are known and the prefix is kept; an endless body is not waited for.
          truncated = true;
          done();
        }
      });
      res.on("end", done);
      // Reset mid-body: the status and what came are still the server's answer.
      res.on("error", () => {
        truncated ||= !res.complete;
        done();
      });
      res.on("close", () => {
        truncated ||= !res.complete;
        done();
      });
    });

    if (hasBody) {
      reader = request.body.getReader();
      pump(req, reader, () => reader);
    } else {
      req.end();
    }
  });
}

const NULL_BODY = [204, 205, 304];

/**
 * A `Response` over `res` whose body is read as it is pulled, closed after MAX_REPLY_BODY
 * bytes (the socket dropped), errored if the reply is cut or aborted; null if `Response`
 * cannot carry this status line, or has no body to stream.
 */
function streamedReply(req, res, release) {
  const status = res.statusCode;
  if (status < 200 || status > 599 || NULL_BODY.includes(status)) return null;
  let ctrl;
  let kept = 0;
  let over = false;
  const end = (last) => {
    if (over) return;
    over = true;
    release();
    last?.();
  };
  const body = new ReadableStream({
    start: (c) => void (ctrl = c),
    pull: () => void res.resume(),
    cancel: () => {
      end();
      drop(req, res);
    },
  });
  let response;
  try {
    response = new Response(body, { status, statusText: res.statusMessage ?? "", headers: toHeaders(headerPairs(res.rawHeaders)) });
  } catch {
    return null; // a reason phrase or header `Response` refuses: the plain reply carries it
  }
  res.pause();
  res.on("data", (c) => {
    if (over) return;
    const part = c.subarray(0, MAX_REPLY_BODY - kept);
    kept += part.length;
    ctrl.enqueue(new Uint8Array(part));
    if (kept >= MAX_REPLY_BODY) {
      // The prefix is kept; an endless body is not waited for.
      end(() => ctrl.close());
      drop(req, res);
    } else if (ctrl.desiredSize <= 0) {
      res.pause();
    }
  });
  res.on("end", () => {
    end(() => ctrl.close());
    if (!req.writableFinished) drop(req, res);
  });
  const cut = () => end(() => ctrl.error(fetchFailed(new Error("the connection closed in the middle of the reply"))));
  res.on("error", cut);
  res.on("close", () => (res.complete ? end(() => ctrl.close()) : cut()));
  return {
    response,
    abort: () => {
      end(() => ctrl.error(abortError()));
      drop(req, res);
    },
  };
}

/** A request body not sent whole, or a reply body not read whole, leaves the socket unusable. */
function drop(req, res) {
  res.destroy();
  if (!req.writableFinished || !res.complete) req.destroy();
}

function headerPairs(rawHeaders) {
  const pairs = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) pairs.push([rawHeaders[i].toLowerCase(), rawHeaders[i + 1]]);
  return pairs;
}

function toHeaders(pairs) {
  const headers = new Headers();
  for (const [k, v] of pairs) headers.append(k, v);
  return headers;
}

/**
 * Writes the body while `current()` is still `body` (stopBody clears it). Each write waits for
 * a turn of the event loop's poll phase: a 413 that arrives with an RST right behind it is then
 * read before the next write can fail on that RST and take the socket, and the reply, with it.
 */
async function pump(req, body, current) {
  try {
    for (;;) {
      const { done, value } = await body.read();
      if (current() !== body) return;
      if (done) return void req.end();
      // A pooled buffer (bin/buffer-pool.mjs) is read into again once the socket has taken it.
      req.write(value, () => release(value.buffer));
      await new Promise((r) => setImmediate(r));
      // Not write()'s answer: 'drain' may have come and gone during that turn.
      if (req.writableNeedDrain && current() === body) await drained(req);
      if (current() !== body || req.destroyed) return;
    }
  } catch (e) {
    // The body stream failed (a source that changed since it was hashed): so does the request.
    if (current() === body && !req.res) req.destroy(e);
  }
}

function drained(req) {
  return new Promise((resolve) => {
    const done = () => {
      req.off("drain", done).off("close", done);
      resolve();
    };
    req.on("drain", done).on("close", done);
  });
}

/** A reply read whole: a `Response` where the WHATWG constructor allows one, else the plain reply. */
function reply(status, statusText, rawHeaders, body, truncated) {
  const pairs = headerPairs(rawHeaders);
  if (status >= 200 && status <= 599) {
    try {
      const r = new Response(NULL_BODY.includes(status) ? null : body, { status, statusText: statusText ?? "", headers: toHeaders(pairs) });
      if (truncated) r.truncated = true;
      return r;
    } catch {
      // A reason phrase or header `Response` refuses: the plain reply carries it.
    }
  }
  const plain = { status, statusText: statusText ?? "", headers: pairs, body: new Uint8Array(body.buffer, body.byteOffset, body.length) };
  if (truncated) plain.truncated = true;
  return plain;
}

/**
 * A reply Node's parser refused (status 0, 99, 1000, a word; a control character in a header),
 * read leniently from the bytes received: `{ reply }`, or `{ error }` when they are not HTTP.
 */
function lenientReply(bytes, parseError) {
  const text = bytes.toString("latin1");
  const m = /^HTTP\/\d(?:\.\d)?[ \t]+([^ \t\r\n]*)[ \t]*([^\r\n]*)\r?\n/.exec(text);
  if (!m) {
    const shown = text.slice(0, 60).replace(/[^\x20-\x7e]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
    return { error: fetchFailed(Object.assign(new Error(`the reply is not HTTP: "${shown}"`), { code: parseError.code })) };
  }
  // Statuses are three digits; anything else is reported as 0, its words kept.
  const status = /^\d{1,3}$/.test(m[1]) ? Number(m[1]) : 0;
  const statusText = /^\d{1,3}$/.test(m[1]) ? m[2] : `${m[1]} ${m[2]}`.trim();
  // latin1 keeps one character per byte, so text offsets are byte offsets.
  const blank = /\r?\n\r?\n/.exec(text);
  const rawHeaders = [];
  let body = Buffer.alloc(0);
  let truncated = true;
  if (blank) {
    // Only a complete header block is believed: half a Location is worse than none.
    for (const line of text.slice(0, blank.index).split(/\r?\n/).slice(1)) {
      const i = line.indexOf(":");
      if (i > 0) rawHeaders.push(line.slice(0, i).trim(), line.slice(i + 1).trim());
    }
    body = bytes.subarray(blank.index + blank[0].length);
    const value = (name) => {
      const i = rawHeaders.findIndex((h, j) => j % 2 === 0 && h.toLowerCase() === name);
      return i < 0 ? undefined : rawHeaders[i + 1];
    };
    if (/chunked/i.test(value("transfer-encoding") ?? "")) [body, truncated] = dechunk(body);
    else if (value("content-length") !== undefined) truncated = body.length < Number(value("content-length"));
    else truncated = true; // delimited by the close, and Node has closed the socket
    if (body.length > MAX_REPLY_BODY) [body, truncated] = [body.subarray(0, MAX_REPLY_BODY), true];
    if (!truncated && value("content-length") !== undefined) body = body.subarray(0, Number(value("content-length")));
  }
  return { reply: reply(status, statusText, rawHeaders, body, truncated) };
}

/** The data of a chunked body as far as it goes; `[data, truncated]`. */
function dechunk(buf) {
  const out = [];
  let at = 0;
  for (;;) {
    const eol = buf.indexOf("\r\n", at);
    if (eol < 0) return [Buffer.concat(out), true];
    const size = parseInt(buf.subarray(at, eol).toString("latin1"), 16);
    if (!Number.isFinite(size)) return [Buffer.concat(out), true];
    if (size === 0) return [Buffer.concat(out), false];
    const start = eol + 2;
    out.push(buf.subarray(start, Math.min(start + size, buf.length)));
    if (start + size + 2 > buf.length) return [Buffer.concat(out), true];
    at = start + size + 2;
  }
}
