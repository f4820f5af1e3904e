// Fetching release assets for the hook: every hop of every request checked against the URL
// policy (redirects are followed here, by hand), GITHUB_TOKEN only on the first hop and only to
// a GitHub release-asset API URL, range replies read only as far as asked.
import { checkUrl } from "./policy.js";

const MAX_HOPS = 5;
// The hook's default PYPUBLISH_TIMEOUT, for callers that give no stall timeout.
const STALL_MS = 300_000;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** A failure the caller may see: `status`, a message naming the asset, a hint. */
export class AssetError extends Error {
  constructor(status, message, hint) {
    super(message);
    this.status = status;
    this.hint = hint;
  }
}

const URL_HINT = "check the asset URL (and GITHUB_TOKEN for private repositories)";

/** A fetch or body that failed in the network. The runtime's message can describe the network, so only the asset is named. */
const networkError = (label) => new AssetError(502, `${label} could not be fetched (network error)`, "check that the asset URL is reachable from the hook");

const STALL_HINT = "check that the asset host serves it at a reasonable speed, or raise PYPUBLISH_TIMEOUT";

export const HOST_HINT = "the hook fetches only https URLs on public hosts (and only hosts in PYPUBLISH_ASSET_HOSTS when that is set)";

/** Why a URL given in a request is refused, in words that say nothing about its host. */
export function refusal(reason) {
  return {
    notUrl: "is not a URL",
    scheme: "is not an https URL",
    userinfo: "has a user name or password in it; give credentials to the hook's environment instead",
    host: "is not on a host the hook fetches from",
  }[reason];
}

/**
 * Fetches `url` for the asset `label`, following redirects by hand: each hop is checked
 * against `ctx.policy` before it is contacted. `ctx.token` (GITHUB_TOKEN) goes only with the first
 * hop, and only when `ctx.isGithubAsset(url)` says it is a release-asset API URL of an allowed
 * repository: never to another host, never across a redirect.
 */
export async function fetchAsset(url, { label, headers = {}, ctx, signal }) {
  let current = url;
  for (let hop = 0; hop <= MAX_HOPS; hop++) {
    const verdict = checkUrl(current, ctx.policy, ctx.extraHosts);
    if (!verdict.ok) {
      // The first URL is the caller's own; a later one is where an asset server sent us, which
      // the caller may not know, so its kind is not told.
      if (hop === 0) throw new AssetError(400, `${label}: the URL ${refusal(verdict.reason)}`, HOST_HINT);
      throw new AssetError(502, `${label}: the asset's server redirected to a URL the hook does not fetch from`, HOST_HINT);
    }
    const h = new Headers(headers);
    // Identity: a decoded body would not have the length the server declared.
    h.set("accept-encoding", "identity");
    // GitHub's API refuses requests without a User-Agent.
    h.set("user-agent", "pypublish-hook");
    if (hop === 0 && ctx.isGithubAsset?.(current)) {
      // The asset's bytes (by a redirect to storage), not its JSON description.
      h.set("accept", "application/octet-stream");
      h.set("x-github-api-version", "2022-11-28");
      if (ctx.token) h.set("authorization", `Bearer ${ctx.token}`);
    }
    let r;
    try {
      // `signal` also ends the reading of the body.
      r = await fetch(verdict.url.href, { method: "GET", headers: h, redirect: "manual", signal });
    } catch {
      // A watchdog's reason names the asset and says why (stalled, cancelled).
      if (signal?.aborted && signal.reason instanceof AssetError) throw signal.reason;
      // The runtime's message can describe the network; an allowed host's failure needs no more.
      throw networkError(label);
    }
    if (!REDIRECTS.has(r.status)) return r;
    const location = r.headers.get("location");
    await r.body?.cancel().catch(() => {});
    if (!location) throw new AssetError(502, `${label}: the asset's server sent a redirect without a Location`);
    try {
      current = new URL(location, verdict.url).href;
    } catch {
      throw new AssetError(502, `${label}: the asset's server redirected to something that is not a URL`);
    }
  }
  throw new AssetError(502, `${label}: more than ${MAX_HOPS} redirects`);
}

/** Reads exactly `length` bytes from the start of `body` (fewer if it ends), then cancels it. */
export async function readBounded(body, length) {
  if (!body) return new Uint8Array(0);
  let reader;
  try {
    reader = body.getReader({ mode: "byob" });
  } catch {
    reader = null;
  }
  let at = 0;
  try {
    if (reader) {
      // The reader fills only the space it is given: never more than asked.
      let buf = new ArrayBuffer(length);
      while (at < length) {
        const { value, done } = await reader.read(new Uint8Array(buf, at, length - at));
        if (value) buf = value.buffer;
        if (done) break;
        at += value.byteLength;
      }
      return new Uint8Array(buf, 0, at);
    }
    // No BYOB reader: at most one chunk beyond what was asked is held.
    reader = body.getReader();
    const out = new Uint8Array(length);
    while (at < length) {
      const { value, done } = await reader.read();
      if (done) break;
      const take = Math.min(value.byteLength, length - at);
      out.set(value.subarray(0, take), at);
      at += take;
    }
    return out.subarray(0, at);
  } finally {
    reader?.cancel().catch(() => {});
  }
}

/**
 * The life of one request for the asset `label`: `signal` is aborted, its reason an AssetError
 * naming the asset, when one of `signals` is (the client went away, a sibling of a batch failed,
 * holdAsset()'s deadline) or when nothing has arrived for `stallMs` (`touch()` with each reply
 * and chunk). Nothing else bounds a whole asset's read: the core's hashing pass reads it with no
 * watchdog of its own, and a host that stops sending would hold the request open for good.
 * `end()` clears the timer and the listeners: none outlives the request.
 */
function watchdog(label, stallMs, signals) {
  const ac = new AbortController();
  const live = signals.filter(Boolean);
  let timer;
  const end = () => {
    clearTimeout(timer);
    for (const s of live) s.removeEventListener("abort", cancelled);
  };
  const stop = (reason) => {
    end();
    if (!ac.signal.aborted) ac.abort(reason);
  };
  function cancelled() {
    stop(new AssetError(499, `${label}: the request was cancelled while it was fetched`));
  }
  const touch = () => {
    clearTimeout(timer);
    if (!ac.signal.aborted) timer = setTimeout(() => stop(new AssetError(502, `no bytes from ${label} for ${stallMs / 1000} s`, STALL_HINT)), stallMs);
  };
  for (const s of live) s.addEventListener("abort", cancelled);
  // A signal that fired before its listener was added would never call it.
  if (live.some((s) => s.aborted)) cancelled();
  else touch();
  return { signal: ac.signal, touch, end, stop };
}

/**
 * `body` as a byte stream that restarts `dog`'s stall timer with each chunk and errors with the
 * dog's reason when it fires. Where the body has a BYOB reader it reads into one buffer of ours,
 * handed back and forth, and each chunk is copied into the reader's own buffer: workerd keeps
 * chunks a default reader was given until a late GC (+170 MiB for a 300 MiB asset,
 * src/wasm/stream.rs). Handing the reader's own view to the body's reader instead fails in
 * workerd ("The underlying ArrayBuffer is not the correct length" when it is answered).
 */
function watched(body, dog, label) {
  if (!body) {
    dog.end();
    return body;
  }
  let reader;
  let byob = true;
  try {
    reader = body.getReader({ mode: "byob" });
  } catch {
    byob = false;
    reader = body.getReader();
  }
  let spare = null;
  let ctrl;
  let settled = false;
  const finish = () => {
    settled = true;
    dog.end();
    dog.signal.removeEventListener("abort", fired);
  };
  // The fetch's abort ends its body in every runtime we know; erroring here does not rely on it.
  function fired() {
    if (settled) return;
    finish();
    try {
      ctrl.error(dog.signal.reason);
    } catch {}
    reader.cancel(dog.signal.reason).catch(() => {});
  }
  dog.signal.addEventListener("abort", fired);
  const CHUNK = 1 << 16;
  return new ReadableStream(
    {
      type: "bytes",
      autoAllocateChunkSize: CHUNK,
      start(c) {
        ctrl = c;
      },
      async pull(c) {
        const req = c.byobRequest;
        let r;
        try {
          if (byob) {
            const want = req?.view.byteLength || CHUNK;
            if (!spare || spare.byteLength < want) spare = new ArrayBuffer(want);
            r = await reader.read(new Uint8Array(spare, 0, want));
            if (r.value) spare = r.value.buffer;
          } else {
            r = await reader.read();
          }
        } catch {
          if (settled) return;
          finish();
          // The runtime's message can describe the network.
          return c.error(networkError(label));
        }
        if (settled) return;
        if (r.done) {
          finish();
          c.close();
          // A pending BYOB read is answered only by a response, here of nothing.
          req?.respond(0);
          return;
        }
        dog.touch();
        if (req && r.value.byteLength <= req.view.byteLength) {
          req.view.set(r.value);
          req.respond(r.value.byteLength);
        } else {
          // Enqueueing takes the chunk's buffer: never our spare one.
          c.enqueue(byob ? r.value.slice() : r.value);
        }
      },
      cancel(reason) {
        if (settled) return;
        finish();
        // The fetch too, so that no runtime keeps the connection for a body nobody reads.
        dog.stop(reason);
        return reader.cancel(reason).catch(() => {});
      },
    },
    { highWaterMark: 0 },
  );
}

/**
 * A stream source for `publish()` for one asset: its size from a one-byte range request (a HEAD
 * is no good for signed storage URLs), range reads when the server answers them with 206.
 * `wanted`: `{ url, filename, sha256?, size? }`; `label` names it in errors. Every request for
 * the asset, now and when publish() reads it, stops when `cancel` (the client's request signal)
 * fires and when no byte arrives for `stallMs` (PYPUBLISH_TIMEOUT); the probe also stops with
 * `signal` (its batch's). Range reads go through `reads` (a byteGate()), when given.
 */
export async function assetSource(wanted, { label, ctx, maxBytes, stallMs = STALL_MS, cancel, signal, reads }) {
  // A response's status and headers, and its body watched (cancel it to let go of the request).
  const get = async (headers, also) => {
    const dog = watchdog(label, stallMs, [cancel, also]);
    let r;
    try {
      r = await fetchAsset(wanted.url, { label, headers, ctx, signal: dog.signal });
    } catch (e) {
      dog.end();
      throw e;
    }
    dog.touch();
    return { status: r.status, ok: r.ok, headers: r.headers, body: watched(r.body, dog, label) };
  };
  const r = await get({ range: "bytes=0-0" }, signal);
  let size;
  let ranges = false;
  if (r.status === 206) {
    const m = /^bytes\s+0-0\/(\d+)$/i.exec(r.headers.get("content-range") ?? "");
    size = m ? Number(m[1]) : NaN;
    ranges = true;
  } else if (r.ok) {
    size = Number(r.headers.get("content-length") ?? NaN);
  } else {
    await r.body?.cancel().catch(() => {});
    throw new AssetError(502, `${label} could not be fetched: HTTP ${r.status}`, URL_HINT);
  }
  await r.body?.cancel().catch(() => {});
  if (!Number.isSafeInteger(size) || size <= 0) throw new AssetError(502, `${label}: the server gives no length for it`, "serve the asset with Content-Length, or Content-Range for range requests");
  if (size > maxBytes) throw new AssetError(413, `${label} is ${size} bytes, over the hook's limit of ${maxBytes}`, "raise PYPUBLISH_MAX_ASSET_BYTES or publish it with the CLI");
  if (wanted.size !== undefined && wanted.size !== size) throw new AssetError(502, `${label}: the server gives ${size} bytes, the release says ${wanted.size}`);
  const file = {
    filename: wanted.filename,
    size,
    sha256: wanted.sha256,
    // `signal`: holdAsset()'s; publish() gives none and cancels the body itself.
    stream: async (signal) => {
      const s = await get({}, signal);
      if (!s.ok) {
        await s.body?.cancel().catch(() => {});
        throw new Error(`fetching it gave HTTP ${s.status}`);
      }
      const declared = s.headers.get("content-length");
      if (declared !== null && Number(declared) !== size) {
        await s.body?.cancel().catch(() => {});
        throw new Error(`the server now gives ${declared} bytes, not the ${size} it gave before`);
      }
      return s.body;
    },
  };
  if (ranges) {
    const read = async (offset, length) => {
      const s = await get({ range: `bytes=${offset}-${offset + length - 1}` });
      const start = /^bytes\s+(\d+)-/i.exec(s.headers.get("content-range") ?? "");
      if (s.status !== 206 || (start && Number(start[1]) !== offset)) {
        await s.body?.cancel().catch(() => {});
        throw new Error(`a range request gave HTTP ${s.status}${start ? ` from byte ${start[1]}` : ""}, not bytes ${offset}-${offset + length - 1}`);
      }
      return readBounded(s.body, length);
    };
    file.read = (offset, length) => (reads ? reads.run(length, () => read(offset, length)) : read(offset, length));
  }
  return file;
}

const HELD_CHUNK = 1 << 20;

/**
 * What one request's range reads may hold at once: `cap` bytes in flight, set once the held
 * assets have taken their share of PYPUBLISH_HOLD_BYTES. A read larger than what is left waits
 * to go alone. The engine reads six files at a time, and a hostile zip may ask for a 32 MiB
 * central directory: six such reads at once would be ~190 MiB, past the Workers limit.
 * First come, first served, so a large read is not starved by small ones.
 */
export function byteGate(cap) {
  let inFlight = 0;
  const waiting = [];
  const gate = { cap };
  const fits = (n) => inFlight === 0 || inFlight + n <= gate.cap;
  const wake = () => {
    while (waiting.length && fits(waiting[0].n)) {
      const w = waiting.shift();
      inFlight += w.n;
      w.go();
    }
  };
  gate.run = async (n, fn) => {
    if (!waiting.length && fits(n)) inFlight += n;
    else await new Promise((go) => waiting.push({ n, go }));
    try {
      return await fn();
    } finally {
      inFlight -= n;
      wake();
    }
  };
  return gate;
}

/**
 * `file` (from assetSource()) fetched whole, once, and served from memory from then on: its
 * metadata reads, its hashing and its body cost no more requests, and its bytes cannot change
 * between them. The engine still checks them against the given sha256 before the first upload
 * of a batch, as it does for any stream source. The server must send exactly the size it gave.
 */
export async function holdAsset(file, { label, timeoutMs, cancel, signal }) {
  // Held assets are kept whole in memory: beyond the stall watchdog of every asset request, the
  // whole download gets `timeoutMs` (PYPUBLISH_TIMEOUT) in all. It stops when the client goes
  // away (`cancel`, the request's signal) or its batch gives up (`signal`, another asset failed).
  const ac = new AbortController();
  const stop = () => ac.abort();
  const timer = setTimeout(stop, timeoutMs);
  const outer = [cancel, signal].filter(Boolean);
  for (const s of outer) s.addEventListener("abort", stop);
  // One that fired before its listener was added would never call it.
  if (outer.some((s) => s.aborted)) stop();
  let bytes;
  try {
    let body;
    try {
      body = await file.stream(ac.signal);
    } catch (e) {
      if (e instanceof AssetError || ac.signal.aborted) throw e;
      // stream()'s own words: an HTTP status or a changed length, nothing of the network.
      throw new AssetError(502, `${label} could not be fetched: ${e?.message ?? e}`, URL_HINT);
    }
    // One byte more than announced is read, to tell a longer body from an exact one.
    bytes = await readBounded(body, file.size + 1);
  } catch (e) {
    if (cancel?.aborted) throw new AssetError(499, `${label}: the request was cancelled while it was fetched`);
    if (signal?.aborted) throw new AssetError(499, `${label}: not fetched, another asset of the request failed`);
    if (ac.signal.aborted) throw new AssetError(502, `${label} did not arrive within ${timeoutMs / 1000} s`, STALL_HINT);
    if (e instanceof AssetError) throw e;
    throw networkError(label);
  } finally {
    clearTimeout(timer);
    for (const s of outer) s.removeEventListener("abort", stop);
  }
  if (bytes.byteLength !== file.size) throw new AssetError(502, `${label}: the server sent ${bytes.byteLength > file.size ? "more" : `${bytes.byteLength}`} bytes, not the ${file.size} it gave before`);
  return {
    filename: file.filename,
    size: file.size,
    sha256: file.sha256,
    // Copies, never views of the held bytes: a runtime that takes over a chunk's buffer once it
    // is written must not take the held bytes with it.
    stream: () => {
      let at = 0;
      return new ReadableStream(
        {
          pull(ctrl) {
            if (at >= bytes.byteLength) return ctrl.close();
            ctrl.enqueue(bytes.slice(at, at + HELD_CHUNK));
            at += HELD_CHUNK;
          },
        },
        { highWaterMark: 0 },
      );
    },
    read: async (offset, length) => bytes.slice(offset, offset + length),
  };
}
