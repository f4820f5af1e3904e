// The 1 MiB buffers that files are read into for sending (bin/file-source.mjs). Each has
// readers: the socket, always (bin/node-fetch.mjs releases it once the socket has taken the
// chunk), and the hashing thread when it hashes the chunk in place (bin/hash-worker.mjs holds
// it until then). After its last reader a buffer is read into again. They are
// SharedArrayBuffers so that the hashing thread reads the same memory, without a copy.
// Fresh 1 MiB chunks instead would wait for the collector and cost tens of MiB.

/** The size of a buffer, and of the chunks read into it. */
export const CHUNK = 1 << 20;
// Kept for reuse: one being read, one queued in the body stream, two in the socket's hands and a
// few in the hashing thread's, for each upload at once.
const POOL = 16;
const free = [];
// How many readers each lent buffer still has.
const readers = new WeakMap();

/** A buffer to read into: a free one, or a new one. */
export const take = () => free.pop() ?? new SharedArrayBuffer(CHUNK);

/** `buffer` goes out as a chunk; the socket is its first reader. */
export const lend = (buffer) => void readers.set(buffer, 1);

/** The buffers free for reuse, for the tests: which ones came back, and none twice. */
export const freeBuffers = () => [...free];

/** `buffer` was not lent after all (nothing was read into it). */
export const putBack = (buffer) => void (free.length < POOL && free.push(buffer));

/** One more reader of `buffer`, if it is a lent one: false for any other buffer. */
export function hold(buffer) {
  const n = readers.get(buffer);
  if (!n) return false;
  readers.set(buffer, n + 1);
  return true;
}

/** A reader is done with `buffer` (any other buffer: nothing happens); the last one frees it. */
export function release(buffer) {
  const n = readers.get(buffer);
  if (!n) return;
  if (n > 1) return void readers.set(buffer, n - 1);
  readers.delete(buffer);
  putBack(buffer);
}
