// Hashing beside the upload (issue 11): the CLI's worker thread (bin/hash-worker.mjs) and the
// page's Web Worker (www/hash-worker.js). Each test checks that the worker path is the one used
// and that the digests it gives are the bytes' own: sha256 and md5 from node:crypto, blake2b-256
// from Python's hashlib, and the request bodies parsed back by undici's multipart parser.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { createServer } from "node:http";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";

import { cli, makeWheel, startServer, launchChromium } from "./servers.mjs";
import { demoConfig, serveWww } from "../../scripts/serve-www.mjs";
import { workerHasher } from "../../bin/hash-worker.mjs";
import { CHUNK, freeBuffers, lend, putBack, release, take } from "../../bin/buffer-pool.mjs";
import init, { inspect } from "../../pkg/pypublish.js";

const work = mkdtempSync(join(tmpdir(), "pypublish-hashing-"));
after(() => rmSync(work, { recursive: true, force: true }));
before(async () => {
  await init({ module_or_path: readFileSync(new URL("../../pkg/pypublish_bg.wasm", import.meta.url)) });
});

/** The three digests of `bytes`, none of them from our code. */
function independent(bytes) {
  const py = spawnSync("python3", ["-c", "import hashlib, sys; print(hashlib.blake2b(sys.stdin.buffer.read(), digest_size=32).hexdigest())"], { input: bytes, encoding: "utf8" });
  assert.equal(py.status, 0, py.stderr);
  return {
    sha256: createHash("sha256").update(bytes).digest("hex"),
    md5: createHash("md5").update(bytes).digest("hex"),
    blake2_256: py.stdout.trim(),
  };
}

/** Fields of a recorded multipart request, in order, parsed by undici (not by our code). */
async function fields(rec) {
  const form = await new Response(rec.body, { headers: { "content-type": rec.headers["content-type"] } }).formData();
  return [...form.entries()];
}

/** A registry that takes every upload and has no index pages (so every file is "not there"). */
async function registry() {
  return startServer((req, res) => {
    if (req.method === "POST") return res.writeHead(200, { "content-type": "text/plain" }).end("OK");
    res.writeHead(404, { "content-type": "text/plain" }).end("Not Found");
  });
}

test("hash worker: by path in a worker thread, the digests equal node:crypto's, Python's blake2b and the package's inline inspect() of the same bytes", async () => {
  const hasher = workerHasher({ onHashed: (name, where) => seen.push([name, where]) });
  const seen = [];
  try {
    // Sizes around the worker's 1 MiB reads and its progress step.
    for (const size of [0, 1, (1 << 20) - 1, 1 << 20, 9 * (1 << 20) + 7]) {
      const bytes = randomBytes(size);
      const path = join(work, `f-${size}.bin`);
      writeFileSync(path, bytes);
      const progress = [];
      const blob = new Blob([bytes]);
      const got = await hasher({ file: blob, filename: basename(path), path }, (done, total) => progress.push([done, total]));
      const want = independent(bytes);
      assert.deepEqual({ sha256: got.sha256, md5: got.md5, blake2_256: got.blake2_256 }, want, `${size} bytes`);
      assert.equal(got.len, size);
      assert.deepEqual(progress.at(-1), [size, size], "progress ends at the size");
      assert.ok(progress.every(([d], i) => i === 0 || d >= progress[i - 1][0]), "progress never goes back");
      // The engine's own inline hashing of the same bytes (inspect() hashes a Blob on this thread).
      if (size > 0) {
        const wheel = makeWheel(work, `inline_${size}`, 1, { random: true });
        const wbytes = readFileSync(wheel);
        const viaWorker = await hasher({ file: new Blob([wbytes]), filename: basename(wheel), path: wheel });
        const inline = await inspect(new Blob([wbytes]), { filename: basename(wheel) });
        assert.deepEqual(viaWorker, inline.digests);
      }
    }
    assert.ok(seen.length > 0 && seen.every(([, where]) => where === "worker"), JSON.stringify(seen));
  } finally {
    hasher.close();
  }
});

test("hash worker: an entry without a path is hashed on this thread from its Blob, with the same digests", async () => {
  const seen = [];
  const hasher = workerHasher({ onHashed: (name, where) => seen.push(where) });
  try {
    const bytes = randomBytes(3 * (1 << 20) + 5);
    const got = await hasher({ file: new Blob([bytes]), filename: "x.whl" }, () => {});
    assert.deepEqual({ sha256: got.sha256, md5: got.md5, blake2_256: got.blake2_256 }, independent(bytes));
    assert.deepEqual(seen, ["inline"]);
  } finally {
    hasher.close();
  }
});

test("hash worker: a file that cannot be read fails that file's hashing with the reason, and the worker goes on", async () => {
  const hasher = workerHasher();
  try {
    await assert.rejects(hasher({ file: new Blob([]), filename: "gone.whl", path: join(work, "no-such-file.whl") }), /ENOENT|no such file/);
    const bytes = randomBytes(1000);
    const path = join(work, "after.bin");
    writeFileSync(path, bytes);
    assert.equal((await hasher({ file: new Blob([bytes]), filename: "after.bin", path })).sha256, independent(bytes).sha256);
  } finally {
    hasher.close();
  }
});

test("hash worker: streaming() hashes a body's chunks as they are sent (sha256 and md5 in the thread, shared pool buffers read in place, others copied), with the bytes' digests; a held buffer is not reused, and a sender ahead of the thread is asked to wait", async () => {
  const core = await import("../../pkg/pypublish.js");
  const hasher = workerHasher({ core });
  try {
    const bytes = randomBytes(5 * CHUNK + 12345);
    const h = hasher.streaming();
    let waits = 0;
    for (let off = 0, i = 0; off < bytes.length; off += CHUNK, i++) {
      const part = bytes.subarray(off, off + CHUNK);
      let pending;
      if (i % 2 === 0) {
        // As bin/file-source.mjs sends a chunk: read into a pooled buffer, lent to the socket.
        const ab = take();
        new Uint8Array(ab).set(part);
        lend(ab);
        pending = h.update(new Uint8Array(ab, 0, part.length));
        release(ab); // the socket has taken it; the thread has not hashed it yet
        const next = take();
        assert.notEqual(next, ab, "a buffer the thread still reads is not read into again");
        putBack(next);
      } else {
        pending = h.update(new Uint8Array(part));
      }
      if (pending) {
        waits++;
        await pending;
      }
    }
    const d = await h.finish();
    assert.deepEqual({ sha256: d.sha256, md5: d.md5, blake2_256: d.blake2_256 }, independent(bytes));
    assert.equal(d.len, bytes.length);
    assert.ok(waits >= 1, "the sender waited for the thread at least once");
  } finally {
    hasher.close();
  }
});

test("hash worker: a body let go unfinished (cancel()) gives its buffers back; the next body's digests are its own bytes'", async () => {
  const core = await import("../../pkg/pypublish.js");
  const hasher = workerHasher({ core });
  try {
    const first = hasher.streaming();
    const ab = take();
    new Uint8Array(ab).fill(7);
    lend(ab);
    const pending = first.update(new Uint8Array(ab));
    release(ab); // the socket has taken it; the thread holds it until hashed
    first.cancel();
    await pending;
    assert.equal(take(), ab, "the cancelled body's buffer is read into again");
    const bytes = randomBytes(2 * CHUNK + 7);
    const second = hasher.streaming();
    for (let off = 0; off < bytes.length; off += CHUNK) await second.update(new Uint8Array(bytes.subarray(off, off + CHUNK)));
    const d = await second.finish();
    assert.deepEqual({ sha256: d.sha256, md5: d.md5, blake2_256: d.blake2_256 }, independent(bytes));
  } finally {
    hasher.close();
  }
});

test("hash worker: a body hashed as it is sent is not held up behind a whole file the thread is hashing (a listed file under --check-url)", async () => {
  const core = await import("../../pkg/pypublish.js");
  const hasher = workerHasher({ core });
  const path = join(work, "large.bin");
  writeFileSync(path, randomBytes(96 * CHUNK));
  try {
    const order = [];
    // The thread is in the whole file's loop once it reports progress (every 8 MiB).
    let inLoop;
    const looping = new Promise((ok) => (inLoop = ok));
    const whole = hasher({ file: new Blob([]), filename: "large.bin", path }, (done) => done > 0 && inLoop()).then(() => order.push("whole file"));
    await looping;
    const h = hasher.streaming();
    for (let i = 0; i < 3; i++) await h.update(new Uint8Array(CHUNK).fill(i));
    const body = h.finish().then(() => order.push("body"));
    await Promise.all([whole, body]);
    assert.deepEqual(order, ["body", "whole file"]);
  } finally {
    hasher.close();
  }
});

test("publish: a hasher that fails beside the body (a hashing thread that ended) cuts that attempt and the file is sent again; one that keeps failing says so, as no changed file", async () => {
  const { publish } = await import("../../pkg/pypublish.js");
  const { nodeHasher } = await import("../../bin/hash-worker.mjs");
  const { nodeFetch } = await import("../../bin/node-fetch.mjs");
  const core = await import("../../pkg/pypublish.js");
  const [wheel] = wheels();
  const bytes = readFileSync(wheel);
  const run = async (failures) => {
    const reg = await registry();
    let made = 0;
    let cancelled = 0;
    const createHasher = () => {
      const h = nodeHasher(core);
      const broken = made++ < failures;
      return {
        update: (c) => (broken ? Promise.reject(new Error("the hashing thread ended (exit code 1)")) : h.update(c)),
        finish: () => h.finish(),
        cancel: () => void cancelled++,
      };
    };
    try {
      const [r] = await publish({ repositoryUrl: reg.url, username: "u", password: "p", fetch: nodeFetch, retries: 1, createHasher, files: [{ file: new Blob([bytes]), filename: basename(wheel) }] });
      return { r, posts: reg.requests.filter((q) => q.method === "POST"), cancelled };
    } finally {
      await reg.stop();
    }
  };
  const once = await run(1);
  assert.equal(once.r.status, "uploaded", JSON.stringify(once.r));
  assert.equal(once.r.attempts, 2);
  assert.equal(once.posts.length, 1, "one whole request");
  assert.ok(once.posts[0].body.includes(bytes), "the file went whole");
  assert.equal(once.cancelled, 1, "the failed attempt's hasher was let go");
  const always = await run(9);
  assert.equal(always.r.status, "failed", JSON.stringify(always.r));
  assert.equal(always.r.kind, "other");
  assert.match(always.r.error, /hashing beside the upload failed: the hashing thread ended/);
  assert.match(always.r.hint, /failed 2 times/);
  assert.equal(always.posts.length, 0, "no request reached its end");
});

test("publish: a body a reset dropped mid-upload (no cancel) is let go: its file and the hashing thread's share of it are released, so an idle thread does not keep Node alive", async () => {
  const [wheel] = wheels();
  // Takes 2 MiB of the body, then resets the connection.
  const server = createServer((req) => {
    let got = 0;
    req.on("data", (c) => {
      got += c.length;
      if (got > 2 * CHUNK) req.socket.destroy();
    });
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  const root = new URL("../../", import.meta.url).pathname;
  // publish() with the CLI's file source and hashing thread, and no close() at the end.
  const script = `
    import { readFileSync } from "node:fs";
    import init, * as core from "${root}pkg/pypublish.js";
    import { workerHasher } from "${root}bin/hash-worker.mjs";
    import { nodeFetch } from "${root}bin/node-fetch.mjs";
    import { openFile } from "${root}bin/file-source.mjs";
    await init({ module_or_path: readFileSync("${root}pkg/pypublish_bg.wasm") });
    const hasher = workerHasher({ core });
    const [r] = await core.publish({ repositoryUrl: process.env.URL, username: "u", password: "p", fetch: nodeFetch, retries: 0,
      createHasher: () => hasher.streaming(), files: [{ file: await openFile(process.env.FILE), filename: "${basename(wheel)}" }] });
    console.log(JSON.stringify(r));`;
  try {
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], { env: { ...process.env, URL: `http://127.0.0.1:${server.address().port}/`, FILE: wheel } });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    const timer = setTimeout(() => child.kill(), 20000);
    const code = await new Promise((ok) => child.on("exit", (c, sig) => ok(c ?? sig)));
    clearTimeout(timer);
    assert.equal(code, 0, `the process ended by itself (a thread still holding the body keeps it alive): ${out}${err}`);
    const r = JSON.parse(out.trim().split("\n").pop());
    assert.equal(r.status, "failed", out);
    assert.equal(r.kind, "network", out);
    assert.equal(err, "", "nothing on stderr (no descriptor closed by the collector)");
  } finally {
    await new Promise((ok) => (server.closeAllConnections(), server.close(ok)));
  }
});

/** Two wheels of a few MiB, random bytes: the larger one is more chunks than the CLI keeps buffers (bin/file-source.mjs). */
function wheels() {
  const dir = mkdtempSync(join(work, "dist-"));
  return [makeWheel(dir, "hw_alpha", 9, { random: true }), makeWheel(dir, "hw_beta", 2, { random: true })];
}

/** Uploads with the CLI (-vv); every POST's digest fields checked against its bytes, and its bytes against the file's. */
async function upload(extra, env = {}, { reg: given, files = wheels() } = {}) {
  const reg = given ?? (await registry());
  try {
    const r = await cli(["upload", "-vv", "--no-progress", "--repository-url", reg.url, "-u", "u", "-p", "p", ...extra, ...files], env);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const posts = reg.requests.filter((q) => q.method === "POST");
    assert.equal(posts.length, files.length, r.stdout + r.stderr);
    const sent = [];
    for (const rec of posts) {
      const f = await fields(rec);
      const content = f.find(([k]) => k === "content")[1];
      const bytes = Buffer.from(await content.arrayBuffer());
      const get = (k) => f.find(([n]) => n === k)?.[1];
      assert.deepEqual({ sha256: get("sha256_digest"), md5: get("md5_digest"), blake2_256: get("blake2_256_digest") }, independent(bytes), `${content.name}: the digest fields are the bytes'`);
      const file = files.find((p) => basename(p) === content.name);
      assert.ok(bytes.equals(readFileSync(file)), `${content.name}: the registry got the file's bytes, no reused buffer overwritten before it was sent`);
      sent.push({ name: content.name, order: f.map(([k]) => k) });
    }
    return { out: r.stdout + r.stderr, sent };
  } finally {
    await reg.stop();
  }
}

const hashedLines = (out) => out.split("\n").filter((l) => l.includes("hashed:")).map((l) => l.trim());

test("CLI: with --digests-first every file is hashed in the worker thread (-vv says so), and the digest fields, sent before the file, are its bytes'", async () => {
  const { out, sent } = await upload(["--digests-first"]);
  assert.deepEqual(hashedLines(out), Array(2).fill("hashed: in a worker thread, before the upload"), out);
  for (const s of sent) assert.ok(s.order.indexOf("sha256_digest") < s.order.indexOf("content"), `${s.name}: digests first`);
});

test("CLI: with --skip-existing and --check-url a file the index does not list is hashed while it is sent (one read); one it lists is hashed in the worker thread, then skipped", async () => {
  const reg = await registry();
  try {
    const { out } = await upload(["--skip-existing", "--check-url", `${reg.url}simple/`]);
    assert.deepEqual(hashedLines(out), Array(2).fill("hashed: while it was sent (the digest fields follow the file)"), out);
  } finally {
    await reg.stop();
  }
  const [alpha, beta] = wheels();
  const listed = createHash("sha256").update(readFileSync(alpha)).digest("hex");
  const index = await startServer((req, res) => {
    if (req.method === "POST") return res.writeHead(200, { "content-type": "text/plain" }).end("OK");
    if (req.url === "/simple/hw-alpha/") return res.writeHead(200, { "content-type": "text/html" }).end(`<a href="../../f/${basename(alpha)}#sha256=${listed}">${basename(alpha)}</a>`);
    res.writeHead(404, { "content-type": "text/plain" }).end("Not Found");
  });
  try {
    const r = await cli(["upload", "-vv", "--no-progress", "--repository-url", index.url, "-u", "u", "-p", "p", "--skip-existing", "--check-url", `${index.url}simple/`, alpha, beta]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const out = r.stdout + r.stderr;
    assert.match(out, /skipped\s+hw_alpha-1\.0-py3-none-any\.whl/, out);
    // Each outcome line is followed by its file's details, "hashed:" among them.
    const hashedOf = (name) => out.slice(out.indexOf(name)).split("\n").find((l) => l.includes("hashed:"))?.trim();
    assert.equal(hashedOf(basename(alpha)), "hashed: in a worker thread, before the upload", out);
    assert.equal(hashedOf(basename(beta)), "hashed: while it was sent (the digest fields follow the file)", out);
    const posts = index.requests.filter((q) => q.method === "POST");
    assert.equal(posts.length, 1, "only the file the index does not list is sent");
    assert.equal((await fields(posts[0])).find(([k]) => k === "content")[1].name, basename(beta));
  } finally {
    await index.stop();
  }
});

test("CLI: PYPUBLISH_HASH_WORKER=0 hashes on the main thread, with the same digest fields; by default the file is hashed while it is sent", async () => {
  const inline = await upload(["--digests-first"], { PYPUBLISH_HASH_WORKER: "0" });
  assert.deepEqual(hashedLines(inline.out), Array(2).fill("hashed: on the main thread, before the upload"), inline.out);
  const streamed = await upload([]);
  assert.deepEqual(hashedLines(streamed.out), Array(2).fill("hashed: while it was sent (the digest fields follow the file)"), streamed.out);
  for (const s of streamed.sent) assert.ok(s.order.indexOf("sha256_digest") > s.order.indexOf("content"), `${s.name}: digests after the file`);
});

/** A registry that answers each upload after `ms` (as pypiserver stores it), first calling `meanwhile(rec)`. */
function slowRegistry(ms, meanwhile) {
  return startServer(async (req, res) => {
    if (req.method !== "POST") return res.writeHead(404, { "content-type": "text/plain" }).end("Not Found");
    await new Promise((r) => setTimeout(r, ms));
    meanwhile?.(req);
    res.writeHead(200, { "content-type": "text/plain" }).end("OK");
  });
}

/** The "read ahead:" detail under a file's outcome line (-vv), if any. */
function readAheadOf(out, name) {
  const lines = out.slice(out.indexOf(`  ${name}`)).split("\n").slice(1);
  return lines.slice(0, lines.findIndex((l) => l.includes("sha256:"))).find((l) => l.includes("read ahead:"))?.trim();
}

/** An sdist of `mib` MiB of random bytes (gzip keeps them that size). */
function makeSdist(dir, project, mib) {
  const path = join(dir, `${project}-1.0.tar.gz`);
  const r = spawnSync("python3", ["-c", `
import io, os, sys, tarfile
path, name, mib = sys.argv[1], sys.argv[2], int(sys.argv[3])
with tarfile.open(path, "w:gz") as t:
    for member, data in ((f"{name}-1.0/PKG-INFO", f"Metadata-Version: 2.1\\nName: {name}\\nVersion: 1.0\\n".encode()), (f"{name}-1.0/payload.bin", os.urandom(mib << 20))):
        info = tarfile.TarInfo(member)
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
`, path, project, String(mib)], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  return path;
}

/** The MiB that -vv says were read ahead of `name`, or undefined. */
function readAheadMiB(out, name) {
  const line = readAheadOf(out, name);
  if (line === undefined) return undefined;
  const m = /^read ahead: its first (\d+\.\d) MiB, hashed while the registry stored the file before it$/.exec(line);
  assert.ok(m, line);
  return Number(m[1]);
}

test("CLI: while the registry stores a file, the next file the engine sends (wheels first) has its first MiBs (16 at most) read and hashed ahead, its body takes that hashing over (-vv says how much), and each file still goes whole, with its own bytes' digest fields", async () => {
  const dir = mkdtempSync(join(work, "ahead-"));
  // Given sdist first; the engine sends the wheels first. beta is over the 16 MiB read ahead.
  const [alpha, delta, beta] = [makeWheel(dir, "ra_alpha", 3, { random: true }), makeSdist(dir, "ra_delta", 2), makeWheel(dir, "ra_beta", 20, { random: true })];
  const reg = await slowRegistry(1000);
  const { out, sent } = await upload([], {}, { reg, files: [alpha, delta, beta] });
  assert.deepEqual(sent.map((s) => s.name), [alpha, beta, delta].map((f) => basename(f)), "wheels first");
  assert.equal(readAheadOf(out, basename(alpha)), undefined, out);
  const b = readAheadMiB(out, basename(beta));
  assert.ok(b > 0 && b <= 16, `beta, the next sent after alpha, was read ahead, 16 MiB at most: ${out}`);
  const d = readAheadMiB(out, basename(delta));
  assert.ok(d > 0 && d <= Math.ceil(statSync(delta).size / CHUNK), `delta, sent after beta: ${out}`);
  for (const s of sent) assert.ok(s.order.indexOf("sha256_digest") > s.order.indexOf("content"), `${s.name}: digests after the file`);
});

test("CLI: a file replaced (same size and mtime, another inode) after its first MiBs were read ahead fails as changed before its end: the registry stores none of it, old and new bytes never go as one file; the next file goes on", async () => {
  const dir = mkdtempSync(join(work, "ahead-"));
  const [alpha, beta, gamma] = [makeWheel(dir, "rc_alpha", 2, { random: true }), makeWheel(dir, "rc_beta", 20, { random: true }), makeWheel(dir, "rc_gamma", 2, { random: true })];
  // A whole second: the replacement can carry the very same mtime (as rsync -t, cp -p do).
  utimesSync(beta, 1700000000, 1700000000);
  // While alpha is stored, beta's first MiBs are read ahead; then beta is replaced.
  const reg = await slowRegistry(1000, (req) => {
    if (!req.body.includes(basename(alpha))) return;
    const next = `${beta}.new`;
    writeFileSync(next, randomBytes(statSync(beta).size));
    utimesSync(next, 1700000000, 1700000000);
    renameSync(next, beta);
  });
  try {
    const r = await cli(["upload", "-vv", "--no-progress", "--repository-url", reg.url, "-u", "u", "-p", "p", alpha, beta, gamma]);
    const out = r.stdout + r.stderr;
    assert.equal(r.code, 1, out);
    assert.match(out, /uploaded\s+rc_alpha/, out);
    assert.match(out, /failed\s+rc_beta-1\.0-py3-none-any\.whl/, out);
    assert.match(out, /rc_beta-1\.0-py3-none-any\.whl changed after it was opened/, out);
    assert.ok(readAheadMiB(out, basename(beta)) > 0, out);
    assert.match(out, /uploaded\s+rc_gamma/, out);
    const names = await Promise.all(reg.requests.filter((q) => q.method === "POST").map(async (q) => (await fields(q)).find(([k]) => k === "content")[1].name));
    assert.deepEqual(names, [basename(alpha), basename(gamma)], "no whole request for the changed file");
    assert.ok(reg.cut.some((q) => q.body.includes(basename(beta))), "its request was cut before the closing boundary");
  } finally {
    await reg.stop();
  }
});

test("CLI: a file whose upload is reset while chunks read ahead of it are still unsent is sent again from the disk, with its bytes' digest fields", async () => {
  const dir = mkdtempSync(join(work, "ahead-"));
  const files = [makeWheel(dir, "rr_alpha", 2, { random: true }), makeWheel(dir, "rr_beta", 20, { random: true })];
  const requests = [];
  let reset = false;
  // Stores each whole upload after a second; resets beta's first attempt 1 MiB in, long before
  // the end of what was read ahead of it.
  const server = createServer((req, res) => {
    const chunks = [];
    let got = 0;
    req.on("data", (c) => {
      chunks.push(c);
      got += c.length;
      if (!reset && got > CHUNK && Buffer.concat(chunks).subarray(0, 64 << 10).includes(basename(files[1]))) {
        reset = true;
        req.socket.destroy();
      }
    });
    req.on("end", () => {
      if (req.method !== "POST") return res.writeHead(404).end();
      requests.push({ headers: req.headers, body: Buffer.concat(chunks) });
      setTimeout(() => res.writeHead(200, { "content-type": "text/plain" }).end("OK"), 1000);
    });
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  try {
    const r = await cli(["upload", "-vv", "--no-progress", "--repository-url", `http://127.0.0.1:${server.address().port}/`, "-u", "u", "-p", "p", ...files]);
    const out = r.stdout + r.stderr;
    assert.equal(r.code, 0, out);
    assert.ok(readAheadMiB(out, basename(files[1])) > 1, out);
    assert.match(out.slice(out.indexOf(`  ${basename(files[1])}`)), /attempts: 2/, out);
    assert.equal(requests.length, 2);
    for (const [i, rec] of requests.entries()) {
      const f = await fields(rec);
      const bytes = Buffer.from(await f.find(([k]) => k === "content")[1].arrayBuffer());
      assert.ok(bytes.equals(readFileSync(files[i])), "the file's bytes");
      const get = (k) => f.find(([n]) => n === k)?.[1];
      assert.deepEqual({ sha256: get("sha256_digest"), md5: get("md5_digest"), blake2_256: get("blake2_256_digest") }, independent(bytes));
    }
  } finally {
    await new Promise((ok) => (server.closeAllConnections(), server.close(ok)));
  }
});

test("file source: chunks read ahead go back to the pool once let go, or once the body that sent them is done with them, each buffer once; a body sends them first, then reads on", async () => {
  const { openFile, readAhead, dropAhead } = await import("../../bin/file-source.mjs");
  const dir = mkdtempSync(join(work, "pool-"));
  const path = join(dir, "f.bin");
  const bytes = randomBytes(5 * CHUNK + 5);
  writeFileSync(path, bytes);
  const blob = await openFile(path);
  /** Reads ahead up to `mib` MiB; resolves with the chunks once all are read. */
  const ahead = (mib, hooks = {}) =>
    new Promise((done) => {
      const got = [];
      readAhead(blob, mib * CHUNK, {
        ...hooks,
        onChunk(c) {
          if (got.push(c) === mib) setImmediate(() => done(got));
        },
      });
    });
  /** The pool's free buffers: none twice. */
  const free = () => {
    const all = freeBuffers();
    assert.equal(new Set(all).size, all.length, "no buffer is twice in the pool");
    return all;
  };
  let dropped = 0;
  const first = await ahead(3, { onDrop: () => dropped++ });
  dropAhead();
  assert.equal(dropped, 1, "its hooks hear it let go");
  for (const c of first) assert.ok(free().includes(c.buffer), "a chunk let go unsent is back in the pool");
  const second = await ahead(3, { onDrop: () => dropped++ });
  const sent = [];
  for await (const c of blob.stream()) sent.push(c);
  assert.ok(Buffer.concat(sent).equals(bytes), "the body is the file: the chunks read ahead, then the rest");
  assert.ok(second.every((c, i) => sent[i] === c), "the very chunks read ahead, first");
  assert.equal(dropped, 2, "at the body's end their hooks are told (a hasher that took them over ignores it)");
  const pool = free();
  for (const c of second) assert.ok(!pool.includes(c.buffer), "not reused while the socket may still hold them");
  for (const c of sent) release(c.buffer); // as the socket does once it has taken each chunk
  const after = free();
  for (const c of second) assert.ok(after.includes(c.buffer), "back in the pool once sent");
});

test("hash worker: a body that starts with chunks read ahead takes their hashing over instead of hashing them again; chunks out of their order stop it", async () => {
  const core = await import("../../pkg/pypublish.js");
  const hasher = workerHasher({ core });
  try {
    const bytes = randomBytes(4 * CHUNK + 99);
    const parts = [0, 1, 2, 3, 4].map((i) => new Uint8Array(bytes.subarray(i * CHUNK, (i + 1) * CHUNK)));
    const taken = [];
    const ahead = hasher.readAhead((n) => taken.push(n));
    for (const c of parts.slice(0, 3)) await ahead.update(c);
    const body = hasher.streaming();
    for (const c of parts) await body.update(c);
    ahead.cancel(); // after the body took it over: nothing to let go
    const d = await body.finish();
    assert.deepEqual({ sha256: d.sha256, md5: d.md5, blake2_256: d.blake2_256 }, independent(bytes), "each byte hashed once, in order");
    assert.equal(d.len, bytes.length);
    assert.deepEqual(taken, [3 * CHUNK], "told once, with the bytes read ahead");
    const again = hasher.readAhead();
    const copies = parts.slice(0, 2).map((c) => new Uint8Array(c));
    for (const c of copies) await again.update(c);
    const wrong = hasher.streaming();
    await wrong.update(copies[0]);
    assert.throws(() => wrong.update(parts[1]), /did not send the chunks read ahead of it in their order/);
    wrong.cancel();
  } finally {
    hasher.close();
  }
});

test("publish: createHasher hashes a body whose digests follow the file (every byte, no wasm copy), and malformed digests stop the body before its tail", async () => {
  const { publish, Blake2b256 } = await import("../../pkg/pypublish.js");
  const { nodeHasher } = await import("../../bin/hash-worker.mjs");
  const { nodeFetch } = await import("../../bin/node-fetch.mjs");
  const core = await import("../../pkg/pypublish.js");
  assert.equal(typeof Blake2b256, "function", "the package exports Blake2b256");
  const [wheel] = wheels();
  const bytes = readFileSync(wheel);
  const want = independent(bytes);
  const run = async (createHasher) => {
    const reg = await registry();
    try {
      const [r] = await publish({ repositoryUrl: reg.url, username: "u", password: "p", fetch: nodeFetch, retries: 0, createHasher, files: [{ file: new Blob([bytes]), filename: basename(wheel) }] });
      // The server learns of a cut request a moment after the client gave up on it.
      for (let i = 0; i < 200 && !reg.cut.length && !reg.requests.some((q) => q.method === "POST"); i++) await new Promise((ok) => setTimeout(ok, 10));
      return { r, posts: reg.requests.filter((q) => q.method === "POST"), cut: reg.cut };
    } finally {
      await reg.stop();
    }
  };
  let fed = 0;
  const counted = () => {
    const h = nodeHasher(core);
    return { update: (c) => ((fed += c.length), h.update(c)), finish: () => h.finish() };
  };
  const ok = await run(counted);
  assert.equal(ok.r.status, "uploaded", JSON.stringify(ok.r));
  assert.equal(fed, bytes.length, "the hasher saw every byte of the file");
  const f = await fields(ok.posts[0]);
  const get = (k) => f.find(([n]) => n === k)?.[1];
  assert.deepEqual({ sha256: get("sha256_digest"), md5: get("md5_digest"), blake2_256: get("blake2_256_digest") }, want);
  assert.ok(f.findIndex(([k]) => k === "content") < f.findIndex(([k]) => k === "sha256_digest"), "digests after the file");
  const bad = await run(() => ({ update() {}, finish: () => ({ sha256: "A".repeat(64), md5: "0".repeat(32), blake2_256: "0".repeat(64), len: bytes.length }) }));
  assert.equal(bad.r.status, "failed");
  assert.match(bad.r.error ?? "", /malformed digests/);
  // The registry never saw a complete request: the body stopped before the closing boundary.
  assert.equal(bad.posts.length, 0, "no request reached its end");
  assert.equal(bad.cut.length, 1, "the one upload was cut");
  assert.ok(bad.cut[0].body.length > 0 && !bad.cut[0].body.toString("latin1").trimEnd().endsWith("--"), "no closing boundary was sent");
});

test("page: a dropped wheel is inspected in the Web Worker, and publish sends the inspection's digests without hashing it again", async () => {
  const reg = await registry();
  const www = await serveWww({ registry: reg.url, config: demoConfig({ simpleUrl: `${reg.url}simple/` }) });
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(www.url);
    await page.waitForSelector("html[data-ready]");
    const [wheel] = wheels();
    const name = basename(wheel);
    await page.setInputFiles("#file-input", wheel);
    const sel = `[data-file="${name}"]`;
    await page.waitForSelector(`${sel}[data-status="ready"]`, { timeout: 60_000 });
    assert.equal(await page.getAttribute(sel, "data-inspected-in"), "worker");
    assert.ok(page.workers().length >= 1, "a worker runs beside the page");
    const want = independent(readFileSync(wheel));
    assert.equal(await page.textContent(`${sel} .hash`), want.sha256);
    await page.fill("#password", "pw");
    await page.click("#upload");
    await page.waitForSelector(`${sel}[data-status="uploaded"], ${sel}[data-status="failed"]`, { timeout: 60_000 });
    assert.equal(await page.getAttribute(sel, "data-status"), "uploaded", await page.textContent(sel));
    assert.equal(await page.getAttribute(sel, "data-hash-passes"), "1", "hashed once: at inspection, not again by publish");
    const [post] = reg.requests.filter((q) => q.method === "POST");
    const f = await fields(post);
    const get = (k) => f.find(([n]) => n === k)?.[1];
    assert.deepEqual({ sha256: get("sha256_digest"), md5: get("md5_digest"), blake2_256: get("blake2_256_digest") }, want);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    await www.stop();
    await reg.stop();
  }
});
