// The CLI's files, as publish() reads them. A file is a Blob (fs.openAsBlob: the engine reads
// metadata from slices of it) whose stream(), the body's read, goes through a few reused 1 MiB
// buffers instead of Node's 64 KiB Blob chunks. Fewer, larger chunks cut the CPU time spent
// between reading and the socket by a fifth (BENCHMARKS.md (b)); fresh 1 MiB chunks would wait
// for the collector and cost tens of MiB, so each buffer comes back once the socket has taken
// it (nodeFetch's write callback, through `recycle`) and is read into again.
import { open, stat } from "node:fs/promises";
import { openAsBlob } from "node:fs";
import { recycle } from "./node-fetch.mjs";

const CHUNK = 1 << 20;
// Buffers kept for reuse, by all files' streams: one being read, one queued in the body stream,
// two in the socket's hands, for each upload at once (--concurrency) up to this many.
const POOL = 16;
const free = [];
const give = (ab) => {
  if (free.length < POOL) free.push(ab);
};

/** `path` as a Blob for publish(): metadata from its slices, its body read through reused buffers. */
export async function openFile(path) {
  const blob = await openAsBlob(path);
  // A file of one chunk gains nothing, and a batch of small ones would pay a stat and a
  // FileHandle each: they keep the Blob's own stream.
  if (blob.size < CHUNK) return blob;
  const { mtimeMs } = await stat(path);
  // An own property: the engine calls stream() on the object it was given.
  Object.defineProperty(blob, "stream", { value: () => pooledStream(path, blob.size, mtimeMs) });
  return blob;
}

/**
 * The file as a stream of 1 MiB views. A buffer the socket has taken comes back (`recycle`) and
 * is read into again; a reader that gives none back (the engine hashing on this thread) gets a
 * fresh buffer for each chunk, as a Blob's stream would give it. Either way no chunk changes
 * under its reader. Like a Blob's stream, it fails when the file changed since it was opened:
 * a body must be the file that was inspected.
 */
function pooledStream(path, size, mtimeMs) {
  let fh;
  let pos = 0;
  const close = () => {
    const f = fh;
    fh = undefined;
    return f?.close().catch(() => {});
  };
  return new ReadableStream(
    {
      async start() {
        fh = await open(path, "r");
        const now = await fh.stat();
        if (now.size !== size || now.mtimeMs !== mtimeMs) {
          await close();
          throw new Error(`${path} changed after it was opened (it was ${size} bytes); nothing of the new content was sent`);
        }
      },
      async pull(ctrl) {
        // At the end, one byte more shows a file that grew.
        const want = Math.min(CHUNK, Math.max(0, size - pos)) || 1;
        const ab = free.pop() ?? new ArrayBuffer(CHUNK);
        const { bytesRead } = await fh.read(new Uint8Array(ab), 0, want, pos);
        if (bytesRead === 0) {
          give(ab);
          await close();
          return ctrl.close();
        }
        pos += bytesRead;
        recycle.set(ab, give);
        ctrl.enqueue(new Uint8Array(ab, 0, bytesRead));
      },
      cancel: close,
    },
    // Read only on demand: the body stream above keeps its own chunk ahead.
    { highWaterMark: 0 },
  );
}
