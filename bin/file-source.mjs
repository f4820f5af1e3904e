// The CLI's files, as publish() reads them. A file is a Blob (fs.openAsBlob: the engine reads
// metadata from slices of it) whose stream(), the body's read, goes through the reused 1 MiB
// buffers of bin/buffer-pool.mjs instead of Node's fresh 64 KiB Blob chunks. Fewer, larger
// chunks cut the CPU time spent between reading and the socket by a fifth (BENCHMARKS.md (b)).
import { closeSync, fstatSync, openAsBlob, openSync, readSync } from "node:fs";
import { stat } from "node:fs/promises";
import { CHUNK, lend, putBack, take } from "./buffer-pool.mjs";

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
function pooledStream(path, size, mtimeMs) {
  let pos = 0;
  let fd = null;
  const shut = () => {
    if (fd === null) return;
    closer.unregister(stream);
    const f = fd;
    fd = null;
    try {
      closeSync(f);
    } catch {}
  };
  const changed = () => new Error(`${path} changed after it was opened (it was ${size} bytes); the upload stops before its end, so the registry keeps nothing of it`);
  const stream = new ReadableStream(
    {
      // Synchronous reads of one descriptor kept open: from the page cache they cost a third of
      // the CPU time of FileHandle calls, which each take a round trip through the thread pool.
      // Each read first checks the file is still the one inspected (size and mtime), and a
      // short read counts as a change: a file rewritten while it is sent fails at the next
      // read, before the closing boundary (a Blob's stream does the same).
      pull(ctrl) {
        const ab = take();
        let bytesRead = 0;
        try {
          if (fd === null) {
            fd = openSync(path, "r");
            closer.register(stream, fd, stream);
          }
          const now = fstatSync(fd);
          if (now.size !== size || now.mtimeMs !== mtimeMs) throw changed();
          // At the end, one byte more shows a file that grew.
          const want = Math.min(CHUNK, Math.max(0, size - pos)) || 1;
          bytesRead = readSync(fd, new Uint8Array(ab), 0, want, pos);
          // Fewer bytes before the end: cut short while being rewritten.
          if (bytesRead < want && pos + bytesRead < size) throw changed();
        } catch (e) {
          shut();
          putBack(ab);
          throw e;
        }
        if (bytesRead === 0) {
          shut();
          putBack(ab);
          return ctrl.close();
        }
        pos += bytesRead;
        lend(ab);
        ctrl.enqueue(new Uint8Array(ab, 0, bytesRead));
      },
      cancel: shut,
    },
    // Read only on demand: the body stream above keeps its own chunk ahead.
    { highWaterMark: 0 },
  );
  return stream;
}
