// End-to-end tests of the wasm package in Node and of the CLI built on it (node:test).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { closeSync, openAsBlob, openSync, readFileSync, readSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync, writeSync, mkdtempSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";

import init, { inspect, planUpload } from "../../pkg/pypublish.js";
import { cli, makeWheel } from "./servers.mjs";

const root = new URL("../..", import.meta.url).pathname;
const corpus = join(root, "tests/fixtures/corpus");
const dists = readdirSync(corpus).filter((f) => /\.(whl|tar\.gz|zip)$/.test(f));
await init({ module_or_path: readFileSync(join(root, "pkg/pypublish_bg.wasm")) });

test("inspect reads every corpus file from an fs.openAsBlob Blob", async () => {
  assert.ok(dists.length >= 10);
  for (const name of dists) {
    const path = join(corpus, name);
    const r = await inspect(await openAsBlob(path), { filename: name });
    assert.equal(r.filename.raw, name);
    assert.equal(r.digests.sha256, createHash("sha256").update(readFileSync(path)).digest("hex"));
    assert.ok(r.form.some((f) => f.name === "name"), name);
  }
});

test("planUpload gives an exact Content-Length and a Blob body that matches it", async () => {
  const name = dists.find((n) => n.endsWith(".whl"));
  const file = await openAsBlob(join(corpus, name));
  const r = await inspect(file, { filename: name });
  const plan = planUpload(r.form, name, file.size);
  const body = new Blob([plan.head, file, plan.tail]);
  assert.equal(body.size, plan.contentLength);
  assert.ok(plan.boundary.length >= 32);
  assert.match(plan.contentType, /^multipart\/form-data; boundary=/);
  assert.throws(() => planUpload(r.form, 'evil"\r\nX: 1.whl', 1), (e) => e.kind === "multipart");
});

test("CLI inspect --json prints one object per file, and the human form shows the form fields", () => {
  const files = dists.slice(0, 3).map((n) => join(corpus, n));
  const out = execFileSync("node", [join(root, "bin/pypublish.mjs"), "inspect", "--json", ...files], { encoding: "utf8" });
  const lines = out.trim().split("\n").map((l) => JSON.parse(l));
  assert.equal(lines.length, 3);
  for (const l of lines) assert.equal(l.ok, true);
  const human = execFileSync("node", [join(root, "bin/pypublish.mjs"), "inspect", files[0]], { encoding: "utf8" });
  assert.match(human, /sha256_digest/);
});

test("CLI check fails with the reason for a bad file and 2 for usage errors", () => {
  const dir = mkdtempSync(join(tmpdir(), "pypublish-"));
  const bad = join(dir, "demo-1.0-py3-none-any.whl");
  writeFileSync(bad, "not a zip at all");
  const r = spawnSync("node", [join(root, "bin/pypublish.mjs"), "check", bad], { encoding: "utf8" });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /not a valid zip archive/);
  const u = spawnSync("node", [join(root, "bin/pypublish.mjs"), "frobnicate"], { encoding: "utf8" });
  assert.equal(u.status, 2);
  rmSync(dir, { recursive: true, force: true });
});

// ---------- the CLI as a person sees it: a terminal, colours, levels, hostile text ----------

const bin = join(root, "bin/pypublish.mjs");
const SGR = /\x1b\[[0-9;]*m/;

/** A registry that takes uploads; `hold` keeps each POST body unread until released. */
async function startRegistry({ hold = false, reply = (res) => res.writeHead(200, { "content-type": "text/plain" }).end("OK") } = {}) {
  let release;
  const released = new Promise((r) => (release = r));
  const posts = [];
  const server = createServer((req, res) => {
    if (req.method !== "POST") return res.writeHead(404).end("not found");
    let bytes = 0;
    const post = { bytes: 0 };
    posts.push(post);
    if (hold) {
      // Read nothing until the test has seen a progress line part-way: the sender's buffers
      // fill and its progress stops short of the total.
      req.pause();
      released.then(() => req.resume());
    }
    req.on("data", (c) => (post.bytes = bytes += c.length));
    req.on("end", () => reply(res));
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${server.address().port}/`, posts, release, stop: () => (release(), new Promise((r) => (server.closeAllConnections(), server.close(r)))) };
}

/**
 * Runs the CLI on a pseudo-terminal (util-linux `script`), 100 columns wide. `until(output)`
 * is called on every chunk of the terminal's output as it arrives.
 */
function onTerminal(args, { env = {}, until } = {}) {
  const quoted = [process.execPath, bin, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" ");
  const child = spawn("script", ["-q", "-e", "-c", `stty cols 100; exec ${quoted}`, "/dev/null"], { env: { ...process.env, TERM: "xterm-256color", ...env }, stdio: ["pipe", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (d) => {
    out += d;
    until?.(out);
  });
  child.stderr.on("data", (d) => (out += d));
  return new Promise((resolve) => child.on("exit", (code) => resolve({ code, out })));
}

const wheelDir = mkdtempSync(join(tmpdir(), "cli-tty-"));
const bigWheel = makeWheel(wheelDir, "tty_progress_demo", 24, { random: true });
const smallWheel = join(corpus, "six-1.16.0-py2.py3-none-any.whl");

test("CLI on a terminal: one progress line per file with bytes done of the size, rate and ETA, then the outcomes and a summary line", async () => {
  const reg = await startRegistry({ hold: true });
  try {
    const progress = /uploading +tty_progress_demo\S* +(?:[━─]+ +)?(\d+(?:\.\d)? (?:B|KiB|MiB))\/24\.0 MiB +(\d+(?:\.\d)? (?:B|KiB|MiB))\/s +ETA \d+:\d\d/;
    const r = await onTerminal(["upload", "--repository-url", reg.url, "-u", "u", "-p", "pw-tty-1", bigWheel, smallWheel], {
      until: (out) => {
        const m = progress.exec(out);
        if (m && m[1] !== "0 B") reg.release();
      },
    });
    assert.equal(r.code, 0, r.out);
    const m = progress.exec(r.out);
    assert.ok(m, `a progress line with bytes, rate and ETA:\n${r.out}`);
    assert.doesNotMatch(r.out, /hashing +tty_progress_demo/, "each file is read once: hashed while it is sent, digests after it");
    assert.match(r.out, /uploaded\S* +tty_progress_demo-1\.0-py3-none-any\.whl.*24\.0 MiB/);
    assert.match(r.out, /uploaded\S* +six-1\.16\.0-py2\.py3-none-any\.whl/);
    assert.match(r.out, /2 uploaded\S*, 0 skipped, 0 failed in \d+\.\d s/);
    assert.match(r.out, SGR, "colours on a terminal");
    // The progress block is redrawn in place: cursor up and erase, never a scrolling stream of bars.
    assert.match(r.out, /\x1b\[\d+A\x1b\[J/);
    assert.ok(!r.out.includes("pw-tty-1"));
  } finally {
    await reg.stop();
  }
});

test("CLI on a terminal: once the whole body is out, the file's line says it is waiting for the reply while the registry takes its time", async () => {
  let answer;
  const shown = new Promise((r) => (answer = r));
  // The reply waits until the terminal shows the wait (10 s at most).
  let why;
  const reg = await startRegistry({
    reply: async (res) => {
      why = await Promise.race([shown.then(() => "shown"), new Promise((r) => setTimeout(() => r("timed out"), 10_000))]);
      res.writeHead(200).end("OK");
    },
  });
  try {
    const waiting = /sent +tty_progress_demo\S* +24\.0 MiB in \d+\.\d s, waiting for the reply/;
    const r = await onTerminal(["upload", "--no-preflight", "--repository-url", reg.url, "-u", "u", "-p", "p", bigWheel], { until: (out) => waiting.test(out) && answer() });
    assert.equal(r.code, 0, r.out);
    const at = r.out.search(waiting);
    assert.ok(at >= 0, `the wait was shown:\n${r.out}`);
    assert.equal(why, "shown", "the wait was on the terminal before the registry answered");
  } finally {
    await reg.stop();
  }
});

test("CLI on a terminal honours NO_COLOR: progress and summary, but no colour codes", async () => {
  const reg = await startRegistry({ hold: true });
  try {
    const r = await onTerminal(["upload", "--repository-url", reg.url, "-u", "u", "-p", "p", bigWheel], { env: { NO_COLOR: "1" }, until: (out) => /uploading .*\/s +ETA/.test(out) && reg.release() });
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /uploading +tty_progress_demo.*\/24\.0 MiB .*\/s +ETA/);
    assert.match(r.out, /^1 uploaded, 0 skipped, 0 failed in \d+\.\d s/m);
    assert.doesNotMatch(r.out, SGR);
  } finally {
    await reg.stop();
  }
});

test("CLI --quiet on a terminal prints the outcomes only: no target line, no progress, no summary", async () => {
  const reg = await startRegistry();
  try {
    const r = await onTerminal(["upload", "-q", "--repository-url", reg.url, "-u", "u", "-p", "p", smallWheel]);
    assert.equal(r.code, 0, r.out);
    const lines = r.out.replace(SGR, "").split(/\r?\n/).filter(Boolean).map((l) => l.replace(/\x1b\[[0-9;]*m/g, ""));
    assert.deepEqual(lines, ["uploaded  six-1.16.0-py2.py3-none-any.whl  10.8 KiB"]);
  } finally {
    await reg.stop();
  }
});

test("CLI without a terminal draws no progress and no colours; -v adds the target, sha256 and the raw reply; --json stays machine-only", async () => {
  const reg = await startRegistry({ reply: (res) => res.writeHead(400, "Bad Request", { "content-type": "text/plain" }).end("400 Bad Request\n\nInvalid distribution file.") });
  try {
    let r = await cli(["upload", "--repository-url", reg.url, "-u", "u", "-p", "p", smallWheel]);
    assert.equal(r.code, 1);
    assert.doesNotMatch(r.stderr + r.stdout, /\x1b/);
    assert.match(r.stderr, /^Publishing 1 file to http:\/\/127\.0\.0\.1:\d+\/$/m);
    assert.match(r.stderr, /^failed    six-1\.16\.0-py2\.py3-none-any\.whl: HTTP 400\n  server: 400 Bad Request Invalid distribution file\.$/m);
    assert.match(r.stderr, /^0 uploaded, 0 skipped, 1 failed in \d+\.\d s$/m);
    assert.doesNotMatch(r.stderr, /reply \(credentials masked\)/);

    r = await cli(["upload", "-v", "--repository-url", reg.url, "-u", "u", "-p", "p", smallWheel]);
    assert.match(r.stderr, /sha256: 8abb2f1d/);
    assert.match(r.stderr, /reply \(credentials masked\):\n {4}HTTP 400 Bad Request\n/);
    assert.match(r.stderr, /^ {4}Invalid distribution file\.$/m);

    r = await cli(["upload", "--json", "--repository-url", reg.url, "-u", "u", "-p", "p", smallWheel]);
    assert.equal(r.stderr, "");
    assert.equal(r.json[0].status, "failed");
  } finally {
    await reg.stop();
  }
});

test("CLI escapes control characters in everything a server says: no escape sequence, carriage return or bell reaches the terminal", async () => {
  const evil = "bad\x1b[2J\x1b[1;1H\ruploaded  evil-1.0-py3-none-any.whl\x07\x08\x9b31m\u202e";
  const reg = await startRegistry({ reply: (res) => res.writeHead(400, { "content-type": "text/plain" }).end(`400 Bad Request\n\n${evil}`) });
  try {
    for (const args of [[], ["-v"], ["-vv"]]) {
      const r = await cli(["upload", ...args, "--repository-url", reg.url, "-u", "u", "-p", "p", smallWheel]);
      assert.equal(r.code, 1);
      const all = r.stdout + r.stderr;
      assert.doesNotMatch(all, /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202e]/, `raw control characters in ${JSON.stringify(all)}`);
      assert.doesNotMatch(all, /^uploaded/m, "no forged outcome line");
      // The server's words are shown, escaped, under their label (however the core splits lines).
      assert.match(r.stderr, /server: [^]*bad.*2J.*uploaded  evil/);
    }
  } finally {
    await reg.stop();
  }
});

test("CLI: a closed stdout ends the run quietly, with no EPIPE trace (pypublish check dist/* | head -1)", () => {
  const files = dists.map((n) => join(corpus, n));
  const piped = spawnSync("bash", ["-c", `set -o pipefail; '${process.execPath}' '${bin}' inspect "$@" | head -1`, "bash", ...files], { encoding: "utf8" });
  assert.equal(piped.stdout.split("\n").filter(Boolean).length, 1);
  assert.equal(piped.stderr, "");
  assert.ok([0, 141].includes(piped.status), `exit ${piped.status}`);
  // A reader that is gone before the first line: every write fails with EPIPE.
  const r = spawnSync("bash", ["-c", `exec 3>&1; '${process.execPath}' '${bin}' check "$@" | (exec 0<&-; true); echo "\${PIPESTATUS[0]}" >&3`, "bash", ...files], { encoding: "utf8" });
  assert.equal(r.stderr, "", "no stack trace");
  assert.equal(r.stdout.trim(), "141");
});

test("CLI: a reader gone mid-upload (upload dist/* | head -1, --json too) does not stop the batch: every file is uploaded and the status is the batch's", async () => {
  const dir = mkdtempSync(join(tmpdir(), "cli-epipe-"));
  const wheels = ["epipe_a", "epipe_b", "epipe_c", "epipe_d"].map((p) => makeWheel(dir, p, 1));
  // Each reply waits, so `head` has taken its line and gone before the next outcome is written.
  const registry = await startRegistry({ reply: (res) => setTimeout(() => res.writeHead(200, { "content-type": "text/plain" }).end("OK"), 300) });
  try {
    for (const json of [false, true]) {
      registry.posts.length = 0;
      const args = ["upload", "--no-progress", "--repository-url", registry.url, "-u", "u", "-p", "p", ...(json ? ["--json"] : [])];
      // Not spawnSync: the registry answers from this process.
      const child = spawn("bash", ["-c", `'${process.execPath}' '${bin}' "$@" | head -1; echo "\${PIPESTATUS[0]}" >&2`, "bash", ...args, ...wheels]);
      const r = { stdout: "", stderr: "" };
      child.stdout.on("data", (d) => (r.stdout += d));
      child.stderr.on("data", (d) => (r.stderr += d));
      await new Promise((done) => child.on("close", done));
      assert.equal(r.stdout.split("\n").filter(Boolean).length, 1, r.stdout);
      assert.equal(registry.posts.length, 4, `every file was sent (--json ${json}): ${r.stderr}`);
      assert.equal(r.stderr.trim().split("\n").at(-1), "0", r.stderr);
    }
  } finally {
    await registry.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("CLI shows URLs without their userinfo, parsed as fetch parses them (https://u:p@ss@host/ is host, not ss@host)", async () => {
  const r = await cli(["upload", "--dry-run", "--repository-url", "https://u:p@ss@registry.example/legacy/", smallWheel]);
  const all = r.stdout + r.stderr;
  assert.match(r.stderr, /Dry run: would publish 1 file to https:\/\/registry\.example\/legacy\//);
  assert.ok(!all.includes("ss@") && !all.includes("p@ss") && !all.includes("u:p"), all);
});

test("CLI options through node:util parseArgs: every option, alias and environment variable is still read; bad ones are usage errors (2)", async () => {
  const ok = async (args, env = {}) => {
    const r = await cli(["upload", "--dry-run", "--json", ...args, smallWheel], env);
    assert.equal(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
    return r.json[0].hint;
  };
  assert.match(await ok(["--repository-url", "https://one.example/"]), /one\.example/);
  assert.match(await ok(["--repository-url=https://two.example/"]), /two\.example/);
  assert.match(await ok(["--publish-url", "https://three.example/"]), /three\.example/);
  assert.match(await ok([], { PYPUBLISH_REPOSITORY_URL: "https://four.example/" }), /four\.example/);
  assert.match(await ok([], { TWINE_REPOSITORY_URL: "https://five.example/" }), /five\.example/);
  assert.match(await ok([], { UV_PUBLISH_URL: "https://six.example/" }), /six\.example/);
  const rc = join(mkdtempSync(join(tmpdir(), "pypirc-")), ".pypirc");
  writeFileSync(rc, "[mine]\nrepository = https://seven.example/\nusername = me\npassword = pw\n");
  assert.match(await ok(["-r", "mine"], { PYPIRC: rc }), /seven\.example/);
  assert.match(await ok(["--repository", "testpypi"], { PYPIRC: join(tmpdir(), "no-such-pypirc") }), /test\.pypi\.org/);
  await ok(["--repository-url", "https://x.example/", "-t", "c"]);
  await ok(["--repository-url", "https://x.example/", "-u", "a", "-p", "b", "--skip-existing", "--check-url", "https://x.example/simple/", "--trusted-publishing", "never", "--retries", "0", "--timeout", "5", "--concurrency", "2", "--no-progress", "-v", "-vv"]);
  await ok(["--repository-url", "https://x.example/", "--username=a", "--password=-starts-with-a-dash", "-q"]);
  await ok(["--repository-url", "https://x.example/", "--token=t"]);

  for (const [args, why] of [
    [["--frobnicate"], /Unknown option '--frobnicate'/],
    [["--retries", "many"], /--retries takes a number/],
    [["--timeout", "0"], /--timeout takes a number of at least 1/],
    [["-q", "-v"], /--quiet and --verbose/],
    [["--password"], /argument missing/],
    [["--repository-url", "https://a.example/", "--publish-url", "https://b.example/"], /give one/],
  ]) {
    const r = await cli(["upload", smallWheel, ...args]);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, why);
  }
  const help = await cli(["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--quiet/);
});

/** Flips one byte of `path` in place: the same size, other bytes, a new mtime. */
function flipByte(path, at) {
  const bytes = readFileSync(path);
  bytes[at < 0 ? bytes.length + at : at] ^= 0xff;
  writeFileSync(path, bytes);
}

/**
 * `upload --json` of `wheel` (with `args`) to a registry whose uploads complete unless cut;
 * `onRequest(req, res)` sees each request first and may answer it (true). Asserts the upload
 * failed because the file changed (the error matches `why`), and that no request reached its end.
 */
async function uploadOfAChangingFile(wheel, onRequest, { args = [], why = /changed after it was opened/ } = {}) {
  let completed = 0;
  const server = createServer((req, res) => {
    if (onRequest(req, res)) return;
    if (req.method !== "POST") return res.writeHead(405, { allow: "POST" }).end();
    req.on("data", () => {});
    req.on("end", () => {
      completed++;
      res.writeHead(200).end("OK");
    });
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  try {
    const url = `http://127.0.0.1:${server.address().port}/`;
    const r = await cli(["upload", "--json", "--retries", "0", ...args, "--repository-url", url, "-u", "u", "-p", "p", wheel]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.equal(r.json[0].status, "failed", r.stdout);
    assert.equal(r.json[0].kind, "source", r.stdout);
    assert.match(r.json[0].error, why);
    assert.equal(completed, 0, "no upload reached its end");
    return r;
  } finally {
    await new Promise((r) => (server.closeAllConnections(), server.close(r)));
  }
}

test("CLI: a file rewritten after it was opened (same size, other bytes) is not sent: that upload fails with the reason and no request reaches its end", async () => {
  const dir = mkdtempSync(join(tmpdir(), "cli-changed-"));
  const wheel = makeWheel(dir, "changed_demo", 3, { random: true });
  let gets = 0;
  try {
    await uploadOfAChangingFile(wheel, (req, res) => {
      if (req.method === "POST") return false;
      // The check before the first byte: the file was opened and inspected by now; it is
      // rewritten before the answer lets the upload start.
      gets++;
      flipByte(wheel, 1 << 20);
      return res.writeHead(405, { allow: "POST" }).end();
    });
    assert.equal(gets, 1, "the preflight ran once, before the body");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("CLI: a file rewritten while it is being sent stops its upload before the end: the registry never gets a whole request of mixed bytes", async () => {
  const dir = mkdtempSync(join(tmpdir(), "cli-torn-"));
  const wheel = makeWheel(dir, "torn_demo", 32, { random: true });
  let rewritten = false;
  try {
    const r = await uploadOfAChangingFile(wheel, (req) => {
      if (req.method !== "POST") return false;
      req.on("data", () => {
        if (!rewritten) {
          // The upload has begun: rewrite a byte near the end of the file (far more than the
          // socket buffers hold, so not yet read), then go on reading.
          rewritten = true;
          req.pause();
          flipByte(wheel, -4096);
          setTimeout(() => req.resume(), 50);
        }
      });
      return false;
    });
    assert.ok(rewritten, "the file was rewritten mid-upload");
    assert.equal(r.stderr, "", "--json keeps stderr empty (no warning about a file left open)");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("CLI --digests-first: a file rewritten in place with its old mtime while it is sent (cp -p, rsync --inplace) is cut before its end, never sent with digests of other bytes", async () => {
  const dir = mkdtempSync(join(tmpdir(), "cli-same-mtime-"));
  const wheel = makeWheel(dir, "same_mtime_demo", 32, { random: true });
  // Whole seconds, which utimesSync sets exactly (as a file system with coarse times keeps them).
  const MTIME = 1_700_000_000;
  utimesSync(wheel, MTIME, MTIME);
  let rewritten = false;
  try {
    await uploadOfAChangingFile(
      wheel,
      (req) => {
        if (req.method !== "POST") return false;
        req.on("data", () => {
          if (rewritten) return;
          // Hashed before the body (the digests go first): the bytes change now, size, inode
          // and mtime as they were, far beyond what the socket buffers hold.
          rewritten = true;
          req.pause();
          const fd = openSync(wheel, "r+");
          const at = statSync(wheel).size - 4096;
          const b = Buffer.alloc(1);
          readSync(fd, b, 0, 1, at);
          b[0] ^= 0xff;
          writeSync(fd, b, 0, 1, at);
          closeSync(fd);
          utimesSync(wheel, MTIME, MTIME);
          setTimeout(() => req.resume(), 50);
        });
        return false;
      },
      { args: ["--digests-first", "--no-preflight"], why: /not the [0-9a-f]{64} that was hashed/ },
    );
    assert.ok(rewritten, "the file was rewritten mid-upload");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("CLI: each file's outcome is printed as soon as it is known, before the next upload's reply (text and --json)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "as-known-"));
  const [first, second] = ["as_known_a", "as_known_b"].map((p) => makeWheel(dir, p, 1));
  const secondName = second.split("/").pop();
  for (const json of [false, true]) {
    let stdout = "";
    let release;
    const seen = new Promise((r) => (release = r));
    // The second upload's reply waits until the first file's outcome is on stdout (15 s at most).
    const registry = createServer((req, res) => {
      const chunks = [];
      req.on("data", (c) => chunks.push(c));
      req.on("end", async () => {
        if (req.method !== "POST") return res.writeHead(404).end("Not Found");
        const late = Buffer.concat(chunks).includes(`filename="${secondName}"`);
        const why = late ? await Promise.race([seen.then(() => "printed"), new Promise((r) => setTimeout(() => r("timed out"), 15_000))]) : "first";
        res.writeHead(200, { "x-why": why }).end("OK");
        if (late) registry.whySecond = why;
      });
    });
    await new Promise((r) => registry.listen(0, "127.0.0.1", r));
    try {
      const args = [join(root, "bin/pypublish.mjs"), "upload", "--no-progress", "--repository-url", `http://127.0.0.1:${registry.address().port}/`, "-u", "u", "-p", "p", ...(json ? ["--json"] : []), first, second];
      const child = spawn("node", args, { stdio: ["ignore", "pipe", "pipe"] });
      child.stdout.on("data", (d) => {
        stdout += d;
        if (stdout.includes("as_known_a-1.0-py3-none-any.whl")) release();
      });
      const code = await new Promise((r) => child.on("exit", r));
      assert.equal(code, 0, stdout);
      assert.equal(registry.whySecond, "printed", "the first outcome was out before the second upload was answered");
      const lines = stdout.trim().split("\n");
      if (json) assert.deepEqual(lines.map((l) => [JSON.parse(l).filename, JSON.parse(l).status]), [["as_known_a-1.0-py3-none-any.whl", "uploaded"], ["as_known_b-1.0-py3-none-any.whl", "uploaded"]]);
      else assert.deepEqual(lines.map((l) => l.split(/\s+/).slice(0, 2)), [["uploaded", "as_known_a-1.0-py3-none-any.whl"], ["uploaded", "as_known_b-1.0-py3-none-any.whl"]], stdout);
    } finally {
      await new Promise((r) => (registry.closeAllConnections(), registry.close(r)));
    }
  }
});
