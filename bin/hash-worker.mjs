// Hashing beside the upload, for the Node CLI. Imported on the main thread, this module gives
// `workerHasher()`, the `hasher` option of publish(): where the engine asks for a file's digests
// before its body (a file the index lists, a dry run, --digests-first, a registry that wants
// them first) the file is hashed in a worker thread, so the main thread keeps feeding the
// socket while the next file is read and hashed; and its `streaming()`, the `createHasher`
// option: a body whose digests follow the file is hashed chunk by chunk as it is sent, sha256
// and md5 in that thread, its first chunks maybe already hashed ahead (`readAhead()`: while the
// registry stored the file before it). Run as that thread, it hashes files by path through one reused buffer
// (one read per file, no garbage per chunk) and body chunks in place, in shared memory.
import { createHash } from "node:crypto";
import { closeSync, openSync, readFileSync, readSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Worker, isMainThread, parentPort, workerData } from "node:worker_threads";
import { hold, release } from "./buffer-pool.mjs";

const here = dirname(fileURLToPath(import.meta.url));
// 1 MiB reads: large enough that a read costs little beside hashing it, small enough for
// frequent progress and a flat memory.
const CHUNK = 1 << 20;
// Chunks of a body the thread may be behind on before the sender waits (MiB held in the pool).
const AHEAD = 2;

/**
 * The three digests with Node's native sha256 and md5 (OpenSSL: sha256 on the CPU's SHA
 * extensions) and the package's wasm blake2b-256, which Node lacks: about twice the speed of the
 * wasm three-digest `Hasher` (BENCHMARKS.md (a)). `core` is the initialised wasm package; where
 * it has no `Blake2b256`, its `Hasher` does all three. Same interface as `Hasher`: `update(chunk)`,
 * `finish()` → `{ sha256, md5, blake2_256, len }`; publish() takes it as `createHasher`.
 */
export function nodeHasher(core) {
  if (typeof core.Blake2b256 !== "function") return new core.Hasher();
  const sha256 = createHash("sha256");
  const md5 = createHash("md5");
  const blake2 = new core.Blake2b256();
  let len = 0;
  return {
    update(chunk) {
      sha256.update(chunk);
      md5.update(chunk);
      blake2.update(chunk);
      len += chunk.length;
    },
    finish: () => ({ sha256: sha256.digest("hex"), md5: md5.digest("hex"), blake2_256: blake2.finish(), len }),
  };
}

if (!isMainThread && workerData?.role === "pypublish-hash") {
  // The wasm package (for BLAKE2b) and a read buffer only once a whole file is asked for: the
  // thread's part of a body hashed as it is sent is Node's own sha256 and md5.
  let core;
  let buf;
  const ready = async () => {
    core ??= await import("../pkg/pypublish.js").then(async (m) => (await m.default({ module_or_path: readFileSync(join(here, "../pkg/pypublish_bg.wasm")) }), m));
    buf ??= Buffer.allocUnsafe(CHUNK);
  };
  // Bodies hashed as they are sent: their chunks arrive in order, shared with the main thread.
  const bodies = new Map();
  parentPort.on("message", ({ id, path, size, body, chunk, finish, drop }) => {
    if (body !== undefined) {
      // A body the engine let go (the registry answered before its end, an abort).
      if (drop) return void bodies.delete(body);
      try {
        let h = bodies.get(body);
        if (h === null) return;
        if (!h) bodies.set(body, (h = { sha256: createHash("sha256"), md5: createHash("md5") }));
        if (chunk) {
          h.sha256.update(chunk);
          h.md5.update(chunk);
          parentPort.postMessage({ body, hashed: true });
        }
        if (finish) {
          bodies.delete(body);
          parentPort.postMessage({ body, digests: { sha256: h.sha256.digest("hex"), md5: h.md5.digest("hex") } });
        }
      } catch (e) {
        // Its chunks already on the way are ignored until the main thread's drop.
        bodies.set(body, null);
        parentPort.postMessage({ body, error: String(e?.message ?? e) });
      }
      return;
    }
    // One file at a time (they share the read buffer), each yielding between chunks so that a
    // body being sent meanwhile is not held up behind a whole file.
    files = files.then(() => hashFile(id, path, size)).catch(() => {});
  });
  let files = Promise.resolve();
  async function hashFile(id, path, size) {
    try {
      await ready();
    } catch (e) {
      return parentPort.postMessage({ id, error: `the hashing thread could not load the package: ${e?.message ?? e}` });
    }
    let fd;
    try {
      fd = openSync(path, "r");
      const h = nodeHasher(core);
      let done = 0;
      let last = 0;
      for (;;) {
        const n = readSync(fd, buf, 0, CHUNK, null);
        if (n === 0) break;
        h.update(buf.subarray(0, n));
        done += n;
        // About every 8 MiB: progress for the terminal, without a message per chunk.
        if (done - last >= 8 * CHUNK) {
          parentPort.postMessage({ id, progress: done });
          last = done;
        }
        await new Promise((r) => setImmediate(r));
      }
      const digests = h.finish();
      // The engine compares len with the size it was given; a file that changed size is caught there.
      parentPort.postMessage({ id, digests, size });
    } catch (e) {
      parentPort.postMessage({ id, error: String(e?.message ?? e) });
    } finally {
      try {
        if (fd !== undefined) closeSync(fd);
      } catch {}
    }
  }
}

/**
 * A `hasher` for publish(): hashes `entry.path` in one worker thread (started on first use,
 * ended by `close()`), one file at a time in the order asked. An entry without a path (not a
 * file on disk) is hashed on this thread from its Blob. `onHashed(filename, where)` hears
 * where each file was hashed ("worker" or "inline"); `core`, the initialised package, gives
 * `streaming()` its BLAKE2b.
 */
export function workerHasher({ onHashed, core } = {}) {
  let worker = null;
  let nextId = 1;
  const waiting = new Map();
  // Bodies being hashed as they are sent (`streaming()`), by number.
  const bodies = new Map();
  // An idle worker must not keep the CLI alive; a busy one must (the upload may be waiting on it alone).
  const idle = () => waiting.size === 0 && bodies.size === 0 && worker?.unref();
  const start = () => {
    // Not the parent's Node options: one such as --input-type stops a thread started from a file.
    const self = new Worker(fileURLToPath(import.meta.url), { workerData: { role: "pypublish-hash" }, execArgv: [] });
    worker = self;
    self.on("message", ({ id, body, hashed, progress, digests, error }) => {
      if (body !== undefined) {
        const b = bodies.get(body);
        if (!b) return;
        if (hashed) return b.hashed();
        bodies.delete(body);
        idle();
        if (error === undefined) return b.done(digests);
        // The thread keeps a failed body's place until told: its chunks on the way are not new bodies.
        self.postMessage({ body, drop: true });
        return b.fail(new Error(error));
      }
      const w = waiting.get(id);
      if (!w) return;
      if (progress !== undefined) return w.onProgress?.(progress, w.size);
      waiting.delete(id);
      idle();
      if (error !== undefined) w.reject(new Error(error));
      else w.resolve(digests);
    });
    // Whatever ends this thread fails all it was doing, once; a thread started after it is not
    // touched by its late events.
    const fail = (e) => {
      if (worker !== self) return;
      worker = null;
      for (const w of waiting.values()) w.reject(e);
      waiting.clear();
      for (const b of bodies.values()) b.fail(e);
      bodies.clear();
    };
    self.on("error", fail);
    self.on("exit", (code) => fail(new Error(`the hashing thread ended (exit code ${code})`)));
  };
  const hasher = async (entry, onProgress) => {
    const filename = entry?.filename ?? entry?.name ?? "";
    if (typeof entry?.path !== "string") {
      onHashed?.(filename, "inline");
      return hashBlob(entry?.file ?? entry, onProgress);
    }
    if (!worker) start();
    const size = entry.file?.size ?? 0;
    const id = nextId++;
    onProgress?.(0, size);
    worker.ref();
    const digests = await new Promise((resolve, reject) => {
      waiting.set(id, { resolve, reject, onProgress, size });
      worker.postMessage({ id, path: entry.path, size });
    });
    onProgress?.(size, size);
    onHashed?.(filename, "worker");
    return digests;
  };
  /**
   * The hashing of one body's chunks (streaming(), readAhead()): sha256 and md5 in the worker
   * thread while this one sends them, BLAKE2b-256 (Node has none) here with the package's wasm
   * `Blake2b256` (`core`, initialised). A chunk in one of the pool's shared buffers is read there
   * in place (held until hashed); any other is copied. `update()` answers with a promise when the
   * thread is AHEAD chunks behind.
   */
  const body = () => {
    if (typeof core?.Blake2b256 !== "function") return nodeHasher(core);
    if (!worker) start();
    worker.ref();
    const body = nextId++;
    const blake2 = new core.Blake2b256();
    let len = 0;
    const held = []; // each chunk's pooled buffer, or null, in the order sent
    let behind = 0;
    // Everyone waiting for the thread to catch up: a read-ahead and, once it takes that over, its body.
    const wakes = [];
    let failed = null;
    let finished = null;
    const resume = () => {
      for (const w of wakes.splice(0)) w();
    };
    bodies.set(body, {
      hashed() {
        behind--;
        const b = held.shift();
        if (b) release(b);
        if (behind <= AHEAD) resume();
      },
      done: (d) => finished?.resolve(d),
      fail(e) {
        failed = e;
        for (const b of held.splice(0)) if (b) release(b);
        resume();
        finished?.reject(e);
      },
    });
    return {
      update(chunk) {
        if (failed) throw failed;
        const shared = chunk.buffer instanceof SharedArrayBuffer;
        const inPlace = shared && hold(chunk.buffer);
        held.push(inPlace ? chunk.buffer : null);
        // A shared buffer that is not the pool's could change under the thread: copy it.
        worker.postMessage({ body, chunk: shared && !inPlace ? chunk.slice() : chunk });
        blake2.update(chunk);
        len += chunk.length;
        if (++behind > AHEAD) return new Promise((resolve) => wakes.push(resolve));
      },
      // The engine lets the body go unfinished: its buffers and the thread's state go too.
      cancel() {
        if (!bodies.delete(body)) return;
        for (const b of held.splice(0)) if (b) release(b);
        worker?.postMessage({ body, drop: true });
        idle();
        resume();
      },
      finish() {
        if (failed) return Promise.reject(failed);
        const blake2_256 = blake2.finish();
        return new Promise((resolve, reject) => {
          finished = { resolve: ({ sha256, md5 }) => resolve({ sha256, md5, blake2_256, len }), reject };
          worker.postMessage({ body, finish: true });
        });
      },
    };
  };
  /** A `createHasher` hasher for publish(): a body's chunks hashed as they are sent (body() above). */
  hasher.streaming = () => {
    let h = null; // the hasher of this body's bytes: its own, or a read-ahead's it took over
    let ahead = null;
    let next = 0; // the read-ahead's next chunk, while its chunks come
    return {
      update(chunk) {
        if (!h) {
          const t = readAheadOf.get(chunk);
          if (t?.i === 0 && !t.ahead.taken) {
            // This body starts with chunks read ahead: their digests are under way already.
            t.ahead.taken = true;
            t.ahead.onTaken?.(t.ahead.bytes);
            ahead = t.ahead;
            h = ahead.h;
            next = 1;
            return;
          }
          h = body();
        }
        if (ahead && next < ahead.n) {
          // The chunks hashed ahead must come back in the order they were read, unchanged.
          const t = readAheadOf.get(chunk);
          if (t?.ahead !== ahead || t.i !== next) throw new Error("a body did not send the chunks read ahead of it in their order");
          next++;
          return;
        }
        return h.update(chunk);
      },
      cancel: () => h?.cancel?.(),
      finish: () => (h ??= body()).finish(),
    };
  };
  /**
   * A hasher for chunks read ahead of a body (bin/file-source.mjs readAhead()): `update(chunk)`
   * hashes them as a body's first chunks; the `streaming()` hasher that is then given those very
   * chunks, first and in order, takes the hashing over instead of hashing them again, and tells
   * `onTaken(bytes)`. Unless one has, `cancel()` lets it go.
   */
  hasher.readAhead = (onTaken) => {
    const ahead = { h: body(), n: 0, bytes: 0, taken: false, onTaken };
    return {
      update(chunk) {
        readAheadOf.set(chunk, { ahead, i: ahead.n++ });
        ahead.bytes += chunk.length;
        return ahead.h.update(chunk);
      },
      cancel() {
        if (ahead.taken) return;
        ahead.taken = true;
        ahead.h.cancel?.();
      },
    };
  };
  /** Starts the thread now, idle: a thread takes tens of milliseconds to start, better spent while files are inspected than by the first upload. */
  hasher.warm = () => {
    if (worker) return;
    start();
    idle();
  };
  hasher.close = () => {
    worker?.terminate();
    worker = null;
  };
  return hasher;
}

// Each chunk read ahead (hasher.readAhead()): whose it is and its place.
const readAheadOf = new WeakMap();

/** The same digests from a Blob on this thread. */
async function hashBlob(blob, onProgress) {
  const h = nodeHasher(await import("../pkg/pypublish.js"));
  let done = 0;
  onProgress?.(0, blob.size);
  for await (const chunk of blob.stream()) {
    h.update(chunk);
    done += chunk.length;
    onProgress?.(done, blob.size);
  }
  return h.finish();
}
