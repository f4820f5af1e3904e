// Stream sources (`{ filename, size, stream(), read?() }`), as an edge function has for files
// behind URLs: published from Node's own fetch to a real pypiserver, and refused before or
// during sending when the bytes are not what they claim to be.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync, readdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";

import init, { publish } from "../../pkg/pypublish.js";
import { root, venv, startPypiserver, startServer, startAssetServer } from "./servers.mjs";

const corpus = join(root, "tests/fixtures/corpus");
const sha256 = (b) => createHash("sha256").update(b).digest("hex");
await init({ module_or_path: readFileSync(join(root, "pkg/pypublish_bg.wasm")) });

/** A StreamFile over HTTP: ranges for the metadata, a GET per pass. */
function urlFile(base, filename, size, extra = {}) {
  const url = base + encodeURIComponent(filename);
  return {
    filename,
    size,
    stream: () => fetch(url),
    read: async (offset, length) => new Uint8Array(await (await fetch(url, { headers: { range: `bytes=${offset}-${offset + length - 1}` } })).arrayBuffer()),
    ...extra,
  };
}

test("stream sources publish to pypiserver: pip gets the same bytes back, and upload progress reaches the total", async () => {
  const names = ["six-1.16.0-py2.py3-none-any.whl", "six-1.9.0.tar.gz"];
  const bytes = Object.fromEntries(names.map((n) => [n, readFileSync(join(corpus, n))]));
  const assets = await startAssetServer(bytes);
  const reg = await startPypiserver();
  try {
    const events = [];
    const files = names.map((n) => urlFile(assets.base, n, bytes[n].length, { sha256: sha256(bytes[n]) }));
    // Without read(): the metadata comes from skipping through a stream instead.
    delete files[1].read;
    const reports = await publish({ repositoryUrl: reg.url, username: reg.user, password: reg.password, files, onProgress: (p) => events.push(p) });
    assert.deepEqual(reports.map((r) => [r.filename, r.status]), names.map((n) => [n, "uploaded"]), JSON.stringify(reports));
    for (const r of reports) assert.equal(r.sha256, sha256(bytes[r.filename]));
    for (const n of names) {
      const up = events.filter((e) => e.filename === n && e.phase === "upload");
      assert.ok(up.length >= 3, `${n}: upload progress as bytes go out, not only start and end`);
      assert.equal(up.at(-1).done, up.at(-1).total);
      assert.ok(up.every((e, i) => i === 0 || e.done >= up[i - 1].done), "upload progress never goes back");
    }

    const dl = mkdtempSync(join(tmpdir(), "pip-stream-"));
    const pip = (...a) => spawnSync(venv("python"), ["-m", "pip", "--isolated", "--disable-pip-version-check", "download", "--no-deps", "--index-url", reg.simple, "-d", dl, ...a], { encoding: "utf8" });
    let p = pip("--only-binary", ":all:", "six==1.16.0");
    assert.equal(p.status, 0, p.stderr);
    p = pip("--no-binary", ":all:", "--no-build-isolation", "six==1.9.0");
    assert.equal(p.status, 0, p.stderr);
    for (const n of names) assert.equal(sha256(readFileSync(join(dl, n))), sha256(bytes[n]), n);
  } finally {
    await reg.stop();
    await assets.stop();
  }
});

test("with the digests first, a stream source that changes between hashing and sending is cut off before the request ends: nothing is stored", async () => {
  const name = "six-1.16.0-py2.py3-none-any.whl";
  const good = readFileSync(join(corpus, name));
  const evil = Buffer.from(good);
  evil[Math.floor(evil.length / 2)] ^= 0xff; // same length, one byte different
  // Range reads and the hashing pass see the real file; the third full GET (the body) does not.
  let full = 0;
  const assets = await startAssetServer({ [name]: good });
  const reg = await startPypiserver();
  try {
    const file = urlFile(assets.base, name, good.length);
    file.stream = async () => (++full === 1 ? fetch(assets.base + name) : new Response(evil));
    // Digests first (a registry that needs them so): hashed in one read, sent in another.
    const [r] = await publish({ repositoryUrl: reg.url, username: reg.user, password: reg.password, files: [file], retries: 2, digestsFirst: true });
    assert.equal(r.status, "failed", JSON.stringify(r));
    assert.equal(r.kind, "source");
    assert.match(r.error, /not the [0-9a-f]{64} that was hashed/);
    assert.equal(full, 2, "no retry for a source that changed");
    assert.deepEqual(readdirSync(reg.packages), [], "pypiserver stored nothing");
  } finally {
    await reg.stop();
    await assets.stop();
  }
});

test("a stream source shorter than its size, or with another sha256 than given, is refused before anything is sent when hashed first, and cut before its closing boundary when read once", async () => {
  const name = "six-1.16.0-py2.py3-none-any.whl";
  const good = readFileSync(join(corpus, name));
  const assets = await startAssetServer({ [name]: good });
  const srv = await startServer((req, res) => res.writeHead(200).end());
  const reg = await startPypiserver();
  try {
    const short = urlFile(assets.base, name, good.length + 10);
    delete short.read; // the stream is shorter than stated: the metadata read itself finds the end
    let [r] = await publish({ repositoryUrl: srv.url, username: "u", password: "pw-stream", files: [short] });
    assert.equal(r.status, "failed");
    assert.match(r.error, /could not be read|shorter|ended after/, r.error);

    const wrongSha = urlFile(assets.base, name, good.length, { sha256: "0".repeat(64) });
    [r] = await publish({ repositoryUrl: srv.url, username: "u", password: "pw-stream", files: [wrongSha], digestsFirst: true });
    assert.equal(r.status, "failed");
    assert.equal(r.kind, "source");
    assert.match(r.error, new RegExp(`its sha256 is ${sha256(good)}, not the 0{64}`));
    assert.equal(srv.requests.length, 0, "the registry heard nothing");

    // Read once, hashed as it is sent: the mismatch is found at the end of the file part.
    const before = assets.requests.filter((q) => !q.range).length;
    [r] = await publish({ repositoryUrl: reg.url, username: reg.user, password: reg.password, files: [wrongSha], retries: 2 });
    assert.equal(r.kind, "source", JSON.stringify(r));
    assert.match(r.error, new RegExp(`the bytes sent have sha256 ${sha256(good)}, not the expected 0{64}`));
    assert.equal(assets.requests.filter((q) => !q.range).length - before, 1, "one read, not retried");
    assert.deepEqual(readdirSync(reg.packages), [], "pypiserver stored nothing");
  } finally {
    await srv.stop();
    await reg.stop();
    await assets.stop();
  }
});

test("a download cut while it is sent is read again and uploaded; a source that says it changed (NotReadableError) is not read again", async () => {
  const name = "six-1.16.0-py2.py3-none-any.whl";
  const good = readFileSync(join(corpus, name));
  const assets = await startAssetServer({ [name]: good });
  const reg = await startPypiserver();
  /** Its whole read number `at` gives half the file, then fails with `error`; the others are whole. */
  const cutOnce = (error, at = 1) => {
    let reads = 0;
    const file = urlFile(assets.base, name, good.length, { sha256: sha256(good) });
    const whole = file.stream;
    file.stream = async () => {
      if (++reads !== at) return whole();
      const half = good.subarray(0, good.length >> 1);
      return new ReadableStream({
        start(c) {
          c.enqueue(new Uint8Array(half));
        },
        pull(c) {
          c.error(error());
        },
      });
    };
    return file;
  };
  try {
    // Read once (the digests after it), or hashed first and cut while sent.
    for (const digestsFirst of [false, true]) {
      const file = cutOnce(() => new TypeError("terminated: other side closed"), digestsFirst ? 2 : 1);
      const [r] = await publish({ repositoryUrl: reg.url, username: reg.user, password: reg.password, files: [file], digestsFirst, retries: 2, skipExisting: true });
      // The second run's 409 is its own file (the index has this sha256): uploaded, as after a lost reply.
      assert.deepEqual([r.status, r.attempts], ["uploaded", 2], `digestsFirst ${digestsFirst}: ${JSON.stringify(r)}`);
      assert.equal(r.sha256, sha256(good));
    }
    // Hashed first and cut while hashed: that read is made again, a second later.
    const [h] = await publish({ repositoryUrl: reg.url, username: reg.user, password: reg.password, files: [cutOnce(() => new TypeError("terminated"), 1)], digestsFirst: true, skipExisting: true });
    assert.equal(h.status, "skipped", JSON.stringify(h));
    assert.equal(h.sha256, sha256(good));
    assert.equal(sha256(readFileSync(join(reg.packages, name))), sha256(good), "pypiserver has the whole file");
    const changed = () => Object.assign(new Error("the file changed on disk"), { name: "NotReadableError" });
    const [r] = await publish({ repositoryUrl: reg.url, username: reg.user, password: reg.password, files: [cutOnce(changed)], retries: 2, skipExisting: true });
    assert.equal(r.status, "failed", JSON.stringify(r));
    assert.equal(r.kind, "source");
    assert.equal(r.attempts, 1, "not read again");
    assert.match(r.error, /the file changed on disk/);
  } finally {
    await reg.stop();
    await assets.stop();
  }
});

test("publish() refusing options of the wrong type never quotes a password or token given as a number (a PIN read from YAML)", async () => {
  for (const key of ["password", "token"]) {
    const err = await publish({ repositoryUrl: "http://127.0.0.1:9/", username: "u", [key]: 918273645, files: [] }).then(
      () => null,
      (e) => e,
    );
    assert.ok(err, `${key}: refused`);
    assert.equal(err.kind, "input");
    assert.match(err.message, /^options: .*invalid type/);
    assert.doesNotMatch(err.message, /918273645/, err.message);
  }
});
