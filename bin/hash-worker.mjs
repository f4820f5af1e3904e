// Hashing beside the upload, for the Node CLI. Imported on the main thread, this module gives
// `workerHasher()`, the `hasher` option of publish(): the engine asks for a file's digests
// before its body (an index lookup, a dry run, --digests-first, a registry that wants them
// first) and the file is hashed in a worker thread, so the main thread keeps feeding the socket
// while the next file is read and hashed. Run as that worker thread, it loads the wasm package
// and hashes files by path through one reused buffer: one read per file, no garbage per chunk.
import { createHash } from "node:crypto";
import { closeSync, openSync, readFileSync, readSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Worker, isMainThread, parentPort, workerData } from "node:worker_threads";

const here = dirname(fileURLToPath(import.meta.url));
// 1 MiB reads: large enough that a read costs little beside hashing it, small enough for
// frequent progress and a flat memory.
const CHUNK = 1 << 20;

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
  const core = await import("../pkg/pypublish.js");
  await core.default({ module_or_path: readFileSync(join(here, "../pkg/pypublish_bg.wasm")) });
  const buf = Buffer.allocUnsafe(CHUNK);
  parentPort.on("message", ({ id, path, size }) => {
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
      }
      const digests = h.finish();
      // The engine compares len with the size it was given; a file that changed size is caught there.
      parentPort.postMessage({ id, digests, size });
    } catch (e) {
      parentPort.postMessage({ id, error: String(e?.message ?? e) });
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  });
}

/**
 * A `hasher` for publish(): hashes `entry.path` in one worker thread (started on first use,
 * ended by `close()`), one file at a time in the order asked. An entry without a path (not a
 * file on disk) is hashed on this thread from its Blob. `onHashed(filename, where)` hears
 * where each file was hashed ("worker" or "inline").
 */
export function workerHasher({ onHashed } = {}) {
  let worker = null;
  let nextId = 1;
  const waiting = new Map();
  const start = () => {
    worker = new Worker(fileURLToPath(import.meta.url), { workerData: { role: "pypublish-hash" } });
    worker.on("message", ({ id, progress, digests, error }) => {
      const w = waiting.get(id);
      if (!w) return;
      if (progress !== undefined) return w.onProgress?.(progress, w.size);
      waiting.delete(id);
      // An idle worker must not keep the CLI alive; a busy one must (the upload may be waiting on it alone).
      if (waiting.size === 0) worker.unref();
      if (error !== undefined) w.reject(new Error(error));
      else w.resolve(digests);
    });
    const fail = (e) => {
      for (const w of waiting.values()) w.reject(e);
      waiting.clear();
      worker = null;
    };
    worker.on("error", fail);
    worker.on("exit", (code) => waiting.size && fail(new Error(`the hashing thread ended (exit code ${code})`)));
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
  hasher.close = () => {
    worker?.terminate();
    worker = null;
  };
  return hasher;
}

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
