// The release hook and the CORS relay (edge/) run for real: in workerd (npm), and the same
// hook module in Deno and Bun, publishing to pypiserver assets served over HTTP on 127.0.0.1
// (the development entry, whose PYPUBLISH_DEV_* settings allow that). The attacks of issue 12
// are in edge-security.test.mjs.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { request as httpRequest } from "node:http";
import { gzipSync, gunzipSync } from "node:zlib";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, readdirSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { root, venv, freePort, startPypiserver, startServer, startAssetServer, makeWheel, launchChromium } from "./servers.mjs";
import { SECRET, WEBHOOK_SECRET, DEV_LOCAL, startWorkerd, startHook, startRelay, rss, callHook, assetHost, fakeGithubApi, recordingProxy, formField } from "./edge-helpers.mjs";
import { serveWww } from "../../scripts/serve-www.mjs";
import { sign } from "../../edge/hook.js";

const corpus = join(root, "tests/fixtures/corpus");
const sha256File = (p) => createHash("sha256").update(readFileSync(p)).digest("hex");

function pipDownload(reg, dl, ...reqs) {
  return spawnSync(venv("python"), ["-m", "pip", "--isolated", "--disable-pip-version-check", "download", "--no-deps", "--index-url", reg.simple, "-d", dl, ...reqs], { encoding: "utf8" });
}

let work;
before(() => {
  work = mkdtempSync(join(tmpdir(), "edge-"));
});

let bigAsset;

for (const runtime of ["workerd", "deno", "bun"]) {
  test(`${runtime}: the hook publishes three assets (one of 300 MB) to pypiserver; pip gets the same bytes back`, async (t) => {
    bigAsset ??= makeWheel(work, "edge_big", 300, { random: true });
    const assets = {
      "six-1.16.0-py2.py3-none-any.whl": join(corpus, "six-1.16.0-py2.py3-none-any.whl"),
      "six-1.9.0.tar.gz": join(corpus, "six-1.9.0.tar.gz"),
      "edge_big-1.0-py3-none-any.whl": bigAsset,
    };
    const srv = await startAssetServer(assets);
    const reg = await startPypiserver({ user: "hook", password: "hook-pw-1" });
    const h = await startHook(runtime, { PYPUBLISH_REPOSITORY_URL: reg.url, PYPUBLISH_CHECK_URL: reg.simple, PYPUBLISH_USERNAME: "hook", PYPUBLISH_PASSWORD: "hook-pw-1", PYPUBLISH_HOOK_SECRET: SECRET, ...DEV_LOCAL });
    try {
      const idle = runtime === "workerd" ? rss(h.child.pid).now : 0;
      const files = Object.entries(assets).map(([name, path]) => ({ url: srv.base + name, sha256: sha256File(path) }));
      const r = await callHook(h.hook, { files });
      assert.equal(r.status, 200, JSON.stringify(r.json));
      assert.deepEqual(r.json.map((x) => x.status), ["uploaded", "uploaded", "uploaded"], JSON.stringify(r.json));
      const mem = rss(h.child.pid);
      // workerd runs as itself; npm's deno and bun entries may be launchers, so their RSS is not theirs.
      if (runtime === "workerd") t.diagnostic(`${runtime} RSS: idle ${idle.toFixed(0)} MiB, peak ${mem.peak.toFixed(0)} MiB (+${(mem.peak - idle).toFixed(0)} MiB) for a ${(statSync(bigAsset).size / 2 ** 20).toFixed(0)} MiB asset`);
      assert.ok(!JSON.stringify(r.json).includes("hook-pw-1"), "no credential in the reply");

      const dl = mkdtempSync(join(tmpdir(), "pip-edge-"));
      let p = pipDownload(reg, dl, "--only-binary", ":all:", "six==1.16.0", "edge_big==1.0");
      assert.equal(p.status, 0, p.stderr);
      p = pipDownload(reg, dl, "--no-binary", ":all:", "--no-build-isolation", "six==1.9.0");
      assert.equal(p.status, 0, p.stderr);
      for (const [name, path] of Object.entries(assets)) assert.equal(sha256File(join(dl, name)), sha256File(path), name);
      // The two small assets fit in PYPUBLISH_HOLD_BYTES: fetched once each, then hashed,
      // checked and sent from memory. The big one is not the first file sent (six's wheel is),
      // so all or nothing has it hashed and checked before the first byte, then fetched again
      // into its body; its metadata comes by range reads.
      const whole = (name) => srv.requests.filter((q) => q.url === `/${name}` && q.method === "GET" && !q.range).length;
      assert.deepEqual(Object.keys(assets).map(whole), [1, 1, 2], "held assets fetched once, the big one hashed first, then sent");
      const ranged = (name) => srv.requests.some((q) => q.url === `/${name}` && q.range && q.range !== "bytes=0-0");
      assert.deepEqual(Object.keys(assets).map(ranged), [false, false, true], "metadata by range reads only for the asset not held");
    } finally {
      await h.stop();
      await reg.stop();
      await srv.stop();
    }
  });
}

for (const runtime of ["workerd", "deno", "bun"]) {
  test(`${runtime}: a single asset is fetched ${runtime === "deno" ? "twice (hashed, then sent)" : "once, hashed as it is sent with its digests after it"}; the registry gets the right digests and pip the same bytes`, async () => {
    const path = makeWheel(work, `edge_once_${runtime}`, 8, { random: true });
    const name = `edge_once_${runtime}-1.0-py3-none-any.whl`;
    const srv = await startAssetServer({ [name]: path });
    const reg = await startPypiserver({ user: "one", password: "one-pw-6" });
    const proxy = await recordingProxy(reg.url);
    // Streamed, not held in memory: the path of an asset too big to hold.
    const h = await startHook(runtime, { PYPUBLISH_REPOSITORY_URL: proxy.url, PYPUBLISH_CHECK_URL: reg.simple, PYPUBLISH_USERNAME: "one", PYPUBLISH_PASSWORD: "one-pw-6", PYPUBLISH_HOOK_SECRET: SECRET, PYPUBLISH_HOLD_BYTES: "0", ...DEV_LOCAL });
    try {
      const r = await callHook(h.hook, { files: [{ url: srv.base + name, sha256: sha256File(path) }] });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json[0].status, "uploaded", r.text);
      const gets = srv.requests.filter((q) => q.method === "GET");
      assert.equal(gets.filter((q) => !q.range).length, runtime === "deno" ? 2 : 1, "whole GETs of the asset");
      assert.ok(gets.some((q) => q.range), "the metadata by range reads");

      const [upload] = proxy.seen.filter((q) => q.method === "POST");
      assert.ok(upload.complete);
      const bytes = readFileSync(path);
      const blake2 = spawnSync(venv("python"), ["-c", "import hashlib, sys; print(hashlib.blake2b(open(sys.argv[1], 'rb').read(), digest_size=32).hexdigest())", path], { encoding: "utf8" }).stdout.trim();
      const want = { sha256_digest: sha256File(path), md5_digest: createHash("md5").update(bytes).digest("hex"), blake2_256_digest: blake2 };
      for (const [field, value] of Object.entries(want)) {
        const got = formField(upload, field);
        assert.equal(got?.value, value, field);
        assert.equal(got.afterFile, runtime !== "deno", `${field} ${runtime === "deno" ? "before" : "after"} the file`);
      }
      const dl = mkdtempSync(join(tmpdir(), "pip-once-"));
      const p = pipDownload(reg, dl, "--only-binary", ":all:", `edge_once_${runtime}==1.0`);
      assert.equal(p.status, 0, p.stderr);
      assert.equal(sha256File(join(dl, name)), sha256File(path));
    } finally {
      await h.stop();
      await proxy.stop();
      await reg.stop();
      await srv.stop();
    }
  });
}

for (const runtime of ["workerd", "deno", "bun"]) {
  test(`${runtime}: a batch of small assets is fetched once each and stays all or nothing: a wrong sha256 among them sends nothing`, async () => {
    const assets = {
      "six-1.16.0-py2.py3-none-any.whl": join(corpus, "six-1.16.0-py2.py3-none-any.whl"),
      "six-1.9.0.tar.gz": join(corpus, "six-1.9.0.tar.gz"),
    };
    const srv = await startAssetServer(assets);
    const reg = await startPypiserver({ user: "held", password: "held-pw-8" });
    const proxy = await recordingProxy(reg.url);
    const h = await startHook(runtime, { PYPUBLISH_REPOSITORY_URL: proxy.url, PYPUBLISH_CHECK_URL: reg.simple, PYPUBLISH_USERNAME: "held", PYPUBLISH_PASSWORD: "held-pw-8", PYPUBLISH_HOOK_SECRET: SECRET, ...DEV_LOCAL });
    const names = Object.keys(assets);
    const files = (wrong) => names.map((n) => ({ url: srv.base + n, sha256: n === wrong ? "0".repeat(64) : sha256File(assets[n]) }));
    const wholeGets = () => names.map((n) => srv.requests.filter((q) => q.url === `/${n}` && q.method === "GET" && !q.range).length);
    try {
      // The sdist is not the first file sent (the wheel is): its wrong sha256 is found before
      // the wheel's first byte, from the bytes fetched once.
      let r = await callHook(h.hook, { files: files("six-1.9.0.tar.gz") });
      assert.equal(r.status, 502, r.text);
      assert.deepEqual(Object.fromEntries(r.json.map((x) => [x.filename, x.kind])), { "six-1.16.0-py2.py3-none-any.whl": "notSent", "six-1.9.0.tar.gz": "source" }, r.text);
      assert.equal(proxy.seen.filter((q) => q.method === "POST").length, 0, "nothing sent");
      assert.deepEqual(readdirSync(reg.packages), [], "nothing stored");
      assert.deepEqual(wholeGets(), [1, 1], "each fetched once");
      assert.ok(!srv.requests.some((q) => q.range && q.range !== "bytes=0-0"), "metadata read from memory, not by range requests");

      r = await callHook(h.hook, { files: files(null) });
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.json.map((x) => x.status), ["uploaded", "uploaded"], r.text);
      assert.deepEqual(wholeGets(), [2, 2], "once more each for the second request, and no more");
      const dl = mkdtempSync(join(tmpdir(), "pip-held-"));
      let p = pipDownload(reg, dl, "--only-binary", ":all:", "six==1.16.0");
      assert.equal(p.status, 0, p.stderr);
      p = pipDownload(reg, dl, "--no-binary", ":all:", "--no-build-isolation", "six==1.9.0");
      assert.equal(p.status, 0, p.stderr);
      for (const [name, path] of Object.entries(assets)) assert.equal(sha256File(join(dl, name)), sha256File(path), name);
    } finally {
      await h.stop();
      await proxy.stop();
      await reg.stop();
      await srv.stop();
    }
  });
}

test("workerd: PYPUBLISH_HOLD_BYTES goes to the smallest assets first, so that as many as possible are fetched once", async () => {
  // The budget would hold the 2 MiB wheel given first, or both small files: the small ones get
  // it. The big wheel is the first file sent, hashed as it goes out: one fetch as well.
  const bigPath = makeWheel(work, "edge_budget", 2, { random: true });
  const assets = {
    "edge_budget-1.0-py3-none-any.whl": bigPath,
    "six-1.16.0-py2.py3-none-any.whl": join(corpus, "six-1.16.0-py2.py3-none-any.whl"),
    "six-1.9.0.tar.gz": join(corpus, "six-1.9.0.tar.gz"),
  };
  const srv = await startAssetServer(assets);
  const reg = await startPypiserver({ user: "bud", password: "bud-pw-3" });
  const budget = statSync(bigPath).size + 1000;
  const h = await startHook("workerd", { PYPUBLISH_REPOSITORY_URL: reg.url, PYPUBLISH_CHECK_URL: reg.simple, PYPUBLISH_USERNAME: "bud", PYPUBLISH_PASSWORD: "bud-pw-3", PYPUBLISH_HOOK_SECRET: SECRET, PYPUBLISH_HOLD_BYTES: String(budget), ...DEV_LOCAL });
  try {
    const r = await callHook(h.hook, { files: Object.entries(assets).map(([name, path]) => ({ url: srv.base + name, sha256: sha256File(path) })) });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.map((x) => x.status), ["uploaded", "uploaded", "uploaded"], r.text);
    const whole = (name) => srv.requests.filter((q) => q.url === `/${name}` && q.method === "GET" && !q.range).length;
    assert.deepEqual(Object.keys(assets).map(whole), [1, 1, 1], "each asset fetched once");
  } finally {
    await h.stop();
    await reg.stop();
    await srv.stop();
  }
});

test("workerd: a batch's assets are probed and fetched six at a time, and each is uploaded", async () => {
  const names = Array.from({ length: 8 }, (_, i) => `edge_lanes${i}`);
  const bytes = Object.fromEntries(names.map((n) => [`${n}-1.0-py3-none-any.whl`, readFileSync(makeWheel(work, n, 1))]));
  let open = 0;
  let most = 0;
  const seen = [];
  // Every reply waits 300 ms, so requests made at once overlap here.
  const srv = await startServer((req, res) => {
    const b = bytes[req.url.slice(1)];
    seen.push(req.headers.range ?? "whole");
    open += 1;
    most = Math.max(most, open);
    setTimeout(() => {
      open -= 1;
      if (!b) return res.writeHead(404).end();
      if (req.headers.range === "bytes=0-0") return res.writeHead(206, { "content-range": `bytes 0-0/${b.length}`, "content-length": 1 }).end(b.subarray(0, 1));
      res.writeHead(200, { "content-length": b.length }).end(b);
    }, 300);
  });
  const reg = await startPypiserver({ user: "ln", password: "ln-pw-2" });
  const h = await startHook("workerd", { PYPUBLISH_REPOSITORY_URL: reg.url, PYPUBLISH_CHECK_URL: reg.simple, PYPUBLISH_USERNAME: "ln", PYPUBLISH_PASSWORD: "ln-pw-2", PYPUBLISH_HOOK_SECRET: SECRET, ...DEV_LOCAL });
  try {
    const files = Object.entries(bytes).map(([name, b]) => ({ url: srv.url + name, sha256: createHash("sha256").update(b).digest("hex") }));
    const r = await callHook(h.hook, { files });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.map((x) => x.status), Array(8).fill("uploaded"), r.text);
    assert.equal(most, 6, "asset requests at once");
    assert.deepEqual([seen.filter((s) => s === "bytes=0-0").length, seen.filter((s) => s === "whole").length, seen.length], [8, 8, 16], "a probe and one whole GET each (all held)");
  } finally {
    await h.stop();
    await reg.stop();
    await srv.stop();
  }
});

test("workerd: a tampered signature, bad JSON, an unreachable or oversize asset each get a JSON error, and nothing is uploaded", async () => {
  const name = "six-1.16.0-py2.py3-none-any.whl";
  const srv = await startAssetServer({ [name]: join(corpus, name) });
  const registry = await startServer((req, res) => res.writeHead(200).end("OK"));
  const wd = await startWorkerd({ PYPUBLISH_REPOSITORY_URL: registry.url, PYPUBLISH_CHECK_URL: `${registry.url}simple/`, PYPUBLISH_USERNAME: "u", PYPUBLISH_PASSWORD: "pw-2", PYPUBLISH_HOOK_SECRET: SECRET, PYPUBLISH_MAX_ASSET_BYTES: "5000", ...DEV_LOCAL });
  try {
    const body = { files: [{ url: srv.base + name }] };
    const good = await callHook(wd.hook, body, { headers: { "x-pypublish-signature": "sha256=" + "0".repeat(64) } });
    assert.equal(good.status, 401);
    assert.match(good.json.error, /signature/);
    let r = await callHook(wd.hook, body, { secret: "another-secret-of-16+" });
    assert.equal(r.status, 401);
    r = await fetch(`${wd.hook}publish`, { method: "POST", body: JSON.stringify(body) });
    assert.equal(r.status, 401, "unsigned");
    assert.equal(srv.requests.length, 0, "a request with a bad signature fetches nothing");

    r = await callHook(wd.hook, "{not json");
    assert.equal(r.status, 400);
    assert.match(r.json.error, /not JSON/);

    r = await callHook(wd.hook, { files: [{ url: `${srv.base}missing-1.0-py3-none-any.whl` }] });
    assert.equal(r.status, 502);
    assert.match(r.json.error, /files\[0\] \(missing-1\.0-py3-none-any\.whl\) could not be fetched: HTTP 404/);

    r = await callHook(wd.hook, body);
    assert.equal(r.status, 413, JSON.stringify(r.json));
    assert.match(r.json.error, /over the hook's limit of 5000/);
    assert.equal(registry.requests.length, 0, "the registry heard nothing");
  } finally {
    await wd.stop();
    await registry.stop();
    await srv.stop();
  }
});

test("workerd relay: the page in Chromium uploads to pypiserver through it; other origins, upstreams and methods are refused", async () => {
  const reg = await startPypiserver({ user: "relay", password: "relay-pw-3" });
  const wwwPort = await freePort();
  const pageOrigin = `http://127.0.0.1:${wwwPort}`;
  const wd = await startWorkerd({ RELAY_ALLOWED_ORIGINS: pageOrigin, RELAY_UPSTREAMS: reg.url });
  const www = await serveWww({ port: wwwPort, connect: [wd.relay] });
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    await page.goto(www.url);
    await page.waitForSelector("html[data-ready]");
    await page.selectOption("#preset", "custom");
    await page.fill("#repository-url", reg.url);
    await page.fill("#relay-url", wd.relay);
    await page.fill("#username", "relay");
    await page.fill("#password", "relay-pw-3");
    const wheel = "pp_flit_demo-2.0.0b1-py3-none-any.whl";
    await page.setInputFiles("#file-input", join(corpus, wheel));
    await page.waitForSelector(`[data-file="${wheel}"][data-status="ready"]`);
    await page.click("#upload");
    await page.waitForSelector(`[data-file="${wheel}"][data-status="uploaded"], [data-file="${wheel}"][data-status="failed"]`, { timeout: 60_000 });
    assert.equal(await page.getAttribute(`[data-file="${wheel}"]`, "data-status"), "uploaded", await page.textContent(`[data-file="${wheel}"]`));
    assert.deepEqual(readdirSync(reg.packages), [wheel]);

    const to = (upstream) => `${wd.relay}?upstream=${encodeURIComponent(upstream)}`;
    let r = await fetch(to(reg.url), { method: "OPTIONS", headers: { origin: "http://evil.example", "access-control-request-method": "POST" } });
    assert.equal(r.status, 403);
    assert.equal(r.headers.get("access-control-allow-origin"), null);
    r = await fetch(to(reg.url), { method: "POST", headers: { origin: "http://evil.example", authorization: "Basic cmVsYXk6cmVsYXktcHctMw==" }, body: "x" });
    assert.equal(r.status, 403);
    const text = await r.text();
    assert.match(text, /this origin may not use this relay/);
    assert.ok(!text.includes("cmVsYXk6") && !text.includes("evil"), "nothing from the request is echoed");
    r = await fetch(to("https://example.com/upload/"), { method: "POST", headers: { origin: pageOrigin }, body: "x" });
    assert.equal(r.status, 403);
    assert.match((await r.json()).error, /this upstream is not one the relay forwards to/);
    r = await fetch(to(reg.url), { method: "PUT", headers: { origin: pageOrigin }, body: "x" });
    assert.equal(r.status, 405);
    // Reads of the registry's index (skip-existing, preflight) go through on the upload URL's
    // origin only, with the page's credentials and without a body.
    r = await fetch(to(`${reg.url}simple/pp-flit-demo/`), { headers: { origin: pageOrigin, authorization: "Basic cmVsYXk6cmVsYXktcHctMw==" } });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get("access-control-allow-origin"), pageOrigin);
    assert.match(await r.text(), new RegExp(wheel.replace(/\./g, "\\.")));
    r = await fetch(to("https://example.com/simple/"), { headers: { origin: pageOrigin } });
    assert.equal(r.status, 403);
    r = await fetch(to("http://user:pw@" + reg.url.slice("http://".length) + "simple/"), { headers: { origin: pageOrigin } });
    assert.equal(r.status, 403, "no credentials in a relayed URL");
    assert.deepEqual(readdirSync(reg.packages), [wheel], "nothing else reached the registry");
  } finally {
    await browser.close();
    await www.stop();
    await wd.stop();
    await reg.stop();
  }
});

for (const runtime of ["workerd", "deno", "bun"]) {
  test(`${runtime} relay: a registry reply its upstream sent gzip-encoded reaches the page with headers that match its bytes`, async () => {
    const index = `<!DOCTYPE html><html><body>${Array.from({ length: 200 }, (_, i) => `<a href="/packages/six-1.${i}.0.tar.gz">six-1.${i}.0.tar.gz</a><br/>`).join("\n")}</body></html>\n`;
    const gz = gzipSync(index);
    // Gzip to every client that asks for it, as registries (and the CDNs before them) do.
    // workerd's fetch does not ask: it gets gzip all the same, as from a server that ignores the
    // question.
    const asked = (req) => runtime === "workerd" || /\bgzip\b/.test(req.headers["accept-encoding"] ?? "");
    const upstream = await startServer((req, res) => {
      if (asked(req)) return res.writeHead(200, { "content-type": "text/html", "content-encoding": "gzip", "content-length": gz.length }).end(gz);
      res.writeHead(200, { "content-type": "text/html", "content-length": Buffer.byteLength(index) }).end(index);
    });
    const page = "http://page.example";
    const r = await startRelay(runtime, { RELAY_ALLOWED_ORIGINS: page, RELAY_UPSTREAMS: `${upstream.url}legacy/` });
    const to = (u) => `${r.relay}?upstream=${encodeURIComponent(u)}`;
    // The raw reply: whatever the runtime did, its Content-Encoding and length describe its bytes.
    const raw = (u, method, encoding) =>
      new Promise((resolve, reject) => {
        const q = httpRequest(to(u), { method, headers: { origin: page, "accept-encoding": encoding, ...(method === "POST" ? { "content-type": "text/plain", "content-length": 1 } : {}) } }, (res) => {
          const chunks = [];
          res.on("data", (c) => chunks.push(c));
          res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
          res.on("error", reject);
        });
        q.on("error", reject);
        q.end(method === "POST" ? "x" : undefined);
      });
    try {
      // An index read (GET) and an upload's reply (POST) take the same way back.
      for (const [u, method] of [
        [`${upstream.url}simple/six/`, "GET"],
        [`${upstream.url}legacy/`, "POST"],
      ]) {
        const res = await fetch(to(u), { method, headers: { origin: page }, body: method === "POST" ? "x" : undefined });
        assert.equal(res.status, 200, `${method}`);
        assert.equal(await res.text(), index, `${method}: the page reads the index as the registry wrote it`);
        for (const encoding of ["gzip, deflate, br", "identity"]) {
          const q = await raw(u, method, encoding);
          assert.equal(q.status, 200);
          const body = q.headers["content-encoding"] === "gzip" ? gunzipSync(q.body) : q.body;
          assert.ok([undefined, "gzip"].includes(q.headers["content-encoding"]), `${method} ${encoding}: ${q.headers["content-encoding"]}`);
          assert.equal(body.toString(), index, `${method}, asking for ${encoding}: the bytes are what the headers say`);
          if (q.headers["content-length"] !== undefined) assert.equal(Number(q.headers["content-length"]), q.body.length, `${method} ${encoding}: Content-Length`);
        }
      }
      if (runtime !== "workerd") assert.ok(upstream.requests.every((q) => /\bgzip\b/.test(q.headers["accept-encoding"] ?? "")), "the runtime's fetch asked the upstream for gzip");
    } finally {
      await r.stop();
      await upstream.stop();
    }
  });
}

for (const runtime of ["workerd", "deno", "bun"]) {
  test(`${runtime}: the hook publishes a GitHub release's dist assets to pypiserver, GITHUB_TOKEN going to the API only`, async () => {
    const names = ["pp_poetry_demo-0.3.0-py3-none-any.whl", "pp_poetry_demo-0.3.0.tar.gz"];
    const srv = await assetHost(Object.fromEntries(names.map((n) => [n, readFileSync(join(corpus, n))])));
    const storageRequests = srv.requests;
    const api = await fakeGithubApi({ 11: srv.base + names[0], 12: srv.base + names[1] });
    const reg = await startPypiserver({ user: "gh", password: `gh-pw-${runtime}` });
    const token = `ghs_token_for_${runtime}_tests`;
    const h = await startHook(runtime, {
      PYPUBLISH_REPOSITORY_URL: reg.url,
      PYPUBLISH_CHECK_URL: reg.simple,
      PYPUBLISH_USERNAME: "gh",
      PYPUBLISH_PASSWORD: `gh-pw-${runtime}`,
      GITHUB_WEBHOOK_SECRET: WEBHOOK_SECRET,
      GITHUB_REPOSITORIES: "octo/demo",
      GITHUB_TOKEN: token,
      PYPUBLISH_DEV_GITHUB_API: api.url,
      ...DEV_LOCAL,
    });
    try {
      const asset = (name, id) => ({ id, name, state: "uploaded", size: statSync(join(corpus, name)).size, url: `${api.url}repos/octo/demo/releases/assets/${id}`, digest: `sha256:${sha256File(join(corpus, name))}` });
      const release = {
        action: "published",
        repository: { full_name: "octo/demo" },
        release: { tag_name: "v0.3.0", assets: [asset(names[0], 11), asset(names[1], 12), { id: 13, name: "checksums.txt", url: `${api.url}repos/octo/demo/releases/assets/13` }] },
      };
      const text = JSON.stringify(release);
      const r = await fetch(`${h.hook}publish`, { method: "POST", headers: { "x-github-event": "release", "x-hub-signature-256": await sign(WEBHOOK_SECRET, text), "content-type": "application/json" }, body: text });
      const reports = await r.json();
      assert.equal(r.status, 200, JSON.stringify(reports));
      assert.deepEqual(reports.map((x) => [x.filename, x.status]), names.map((n) => [n, "uploaded"]));
      assert.ok(api.requests.length > 0 && api.requests.every((q) => q.headers.authorization === `Bearer ${token}`), "the API got the token");
      assert.ok(storageRequests.length > 0, "the assets came from the API's redirects");
      assert.ok(storageRequests.every((q) => !q.headers.authorization && !JSON.stringify(q).includes(token)), "no token across the redirect");
      const dl = mkdtempSync(join(tmpdir(), `pip-${runtime}-`));
      let p = pipDownload(reg, dl, "--only-binary", ":all:", "pp_poetry_demo==0.3.0");
      assert.equal(p.status, 0, p.stderr);
      p = pipDownload(reg, dl, "--no-binary", ":all:", "--no-build-isolation", "pp_poetry_demo==0.3.0");
      assert.equal(p.status, 0, p.stderr);
      for (const n of names) assert.equal(sha256File(join(dl, n)), sha256File(join(corpus, n)), n);
    } finally {
      await h.stop();
      await reg.stop();
      await api.stop();
      await srv.stop();
    }
  });
}
