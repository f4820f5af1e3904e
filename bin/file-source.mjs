// The CLI's files, as publish() reads them. A file is a Blob (fs.openAsBlob: the engine reads
// metadata from slices of it) whose stream(), the body's read, goes through the reused 1 MiB
// buffers of bin/buffer-pool.mjs instead of Node's fresh 64 KiB Blob chunks. Fewer, larger
// chunks cut the CPU time spent between reading and the socket by a fifth (BENCHMARKS.md (b)).
import { closeSync, fstatSync, openAsBlob, openSync, readSync } from "node:fs";
import { stat } from "node:fs/promises";
import { CHUNK, lend, putBack, release, take } from "./buffer-pool.mjs";

// What openFile() learnt of each file it opened, for readAhead().
const opened = new WeakMap();

/** `path` as a Blob for publish(): metadata from its slices, its body read through reused buffers. */
export async function openFile(path) {
  const blob = await openAsBlob(path);
  // A file of one chunk gains nothing, and a batch of small ones would pay a stat and a
  // FileHandle each: they keep the Blob's own stream.
  if (blob.size < CHUNK) return blob;
  const { mtimeMs, ino, dev } = await stat(path);
  const f = { path, size: blob.size, mtimeMs, ino, dev };
  opened.set(blob, f);
  // An own property: the engine calls stream() on the object it was given.
  Object.defineProperty(blob, "stream", { value: () => pooledStream(f) });
  return blob;
}

// A body let go without a cancel (dropped by a fetch that failed early) still gives its
// descriptor back, when it is collected. A plain descriptor, not a FileHandle: Node warns on
// stderr about a FileHandle closed by the collector, and --json keeps stderr empty.
const closer = new FinalizationRegistry((fd) => {
  try {
    closeSync(fd);
  } catch {}
});

/**
 * The file as a stream of 1 MiB views of the pool's buffers. A buffer is read into again once
 * its readers are done with it (bin/buffer-pool.mjs); a reader that gives none back (the
 * engine hashing on this thread) leaves the pool to make new ones, as a Blob's stream gives
 * fresh chunks. Either way no chunk changes under its readers. Like a Blob's stream, it fails
 * when the file changed since it was opened: a body must be the file that was inspected.
 */
function pooledStream(f) {
  const { path } = f;
  let pos = 0;
  let fd = null;
  // Chunks read ahead of this body (readAhead()), sent first; taken at the first read.
  let pre = null;
  const shut = () => {
    if (pre) {
      for (const c of pre.chunks.splice(0)) release(c.buffer);
      // Its hashing, unless this body's hasher took it over (which leaves onDrop nothing to do).
      pre.hooks.onDrop?.();
      pre = null;
    }
    if (fd === null) return;
    closer.unregister(stream);
    const f = fd;
    fd = null;
    try {
      closeSync(f);
    } catch {}
  };
  const stream = new ReadableStream(
    {
      // Synchronous reads of one descriptor kept open: from the page cache they cost a third of
      // the CPU time of FileHandle calls, which each take a round trip through the thread pool.
      // Each read first checks the file is still the one inspected (same(): an atomic
      // replacement is another inode, even with the same size and mtime), and a
      // short read counts as a change: a file rewritten while it is sent fails at the next
      // read, before the closing boundary (a Blob's stream does the same).
      pull(ctrl) {
        if (pos === 0 && !pre) pre = claim(f);
        if (pre?.chunks.length) {
          const c = pre.chunks.shift();
          pos += c.length;
          // The socket is its reader now, as for a chunk read here.
          return ctrl.enqueue(c);
        }
        let chunk;
        try {
          if (fd === null) {
            fd = openSync(path, "r");
            closer.register(stream, fd, stream);
          }
          chunk = readChunk(fd, f, pos);
        } catch (e) {
          shut();
          throw e;
        }
        if (!chunk) {
          shut();
          ctrl.close();
          return onEnd?.(path);
        }
        pos += chunk.length;
        ctrl.enqueue(chunk);
      },
      cancel: shut,
    },
    // Read only on demand: the body stream above keeps its own chunk ahead.
    { highWaterMark: 0 },
  );
  return stream;
}

/** Whether `now` (an fstat) is still the file `f` was when opened. */
const same = (now, f) => now.size === f.size && now.mtimeMs === f.mtimeMs && now.ino === f.ino && now.dev === f.dev;

/**
 * The chunk of opened file `f` at `pos`, read from `fd` into a pool buffer lent to its reader,
 * or null at the end. It throws when the file is no longer the one opened: another size, mtime
 * or inode, fewer bytes than it had before its end (cut short while rewritten), or one byte more
 * at its end (it grew).
 */
function readChunk(fd, f, pos) {
  const want = Math.min(CHUNK, Math.max(0, f.size - pos)) || 1;
  const ab = take();
  let n;
  try {
    if (!same(fstatSync(fd), f)) throw changed(f);
    n = readSync(fd, new Uint8Array(ab), 0, want, pos);
    if (n < want && pos + n < f.size) throw changed(f);
  } catch (e) {
    putBack(ab);
    throw e;
  }
  if (n === 0) {
    putBack(ab);
    return null;
  }
  lend(ab);
  return new Uint8Array(ab, 0, n);
}

/**
 * The error for a file that is no longer the one opened. Named as a browser names a changed
 * File's read error: the engine then does not read it again, as it would after a transient fault.
 */
const changed = (f) =>
  Object.assign(new Error(`${f.path} changed after it was opened (it was ${f.size} bytes); the upload stops before its end, so the registry keeps nothing of it`), { name: "NotReadableError" });

// ---------- reading the next file ahead ----------
// After a body's end the registry takes about as long again to store the upload, while the CLI
// waits with a core to spare. The next file's first chunks are read then, and hashed
// (bin/hash-worker.mjs, readAhead()); its body, once the engine opens it, sends them first and
// reads on from where they end. The file is still read once, and less of its hashing is left
// for while it is sent, on the cores the registry's receiving shares.

// The one file being read ahead: { f (openFile()'s record), chunks, hooks }.
let ahead = null;
let onEnd = null;

/** `fn(path)` hears each body stream of a file read to its end (the CLI starts a read-ahead there). */
export const onBodyEnd = (fn) => void (onEnd = fn);

/**
 * Reads the first chunks of `blob` (an openFile() Blob; up to `max` bytes) into pooled buffers,
 * one per turn of the event loop, each handed to `hooks.onChunk` as it is read (which may answer
 * with a promise: the next read waits for it). The file's body stream, opened later and the file
 * unchanged, starts with them. `hooks.onDrop()` is called when
 * they are let go: unsent (another read-ahead, dropAhead()), or once their body ends or is
 * cancelled (its hasher may have taken their hashing over by then).
 * Replaces any read-ahead before it.
 */
export function readAhead(blob, max, hooks) {
  const f = opened.get(blob);
  dropAhead();
  if (!f) return;
  const rec = { f, chunks: [], hooks };
  ahead = rec;
  (async () => {
    // After the turn that ended the last body: its tail and reply come first.
    await new Promise((r) => setImmediate(r));
    let fd;
    try {
      fd = openSync(f.path, "r");
      let pos = 0;
      while (ahead === rec && pos < Math.min(f.size, max)) {
        // A file that changed (readChunk() throws) is the body's own read to report: nothing is
        // read ahead of it.
        const chunk = readChunk(fd, f, pos);
        rec.chunks.push(chunk);
        pos += chunk.length;
        const wait = hooks.onChunk?.(chunk);
        if (wait) await wait;
        await new Promise((r) => setImmediate(r));
      }
    } catch {
      if (ahead === rec) dropAhead();
    } finally {
      try {
        if (fd !== undefined) closeSync(fd);
      } catch {}
    }
  })();
}

/** Lets go of the read-ahead, if any: its buffers back to the pool, its hooks told. */
export function dropAhead() {
  const rec = ahead;
  if (!rec) return;
  ahead = null;
  for (const c of rec.chunks.splice(0)) release(c.buffer);
  rec.hooks.onDrop?.();
}

/** The read-ahead of this opened file, for its body stream; null if there is none. */
function claim(f) {
  const rec = ahead;
  if (rec?.f !== f) return null;
  ahead = null;
  if (!rec.chunks.length) {
    rec.hooks.onDrop?.();
    return null;
  }
  return rec;
}
