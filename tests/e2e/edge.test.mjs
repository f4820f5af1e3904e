// The release hook and the CORS relay (edge/) run for real: in workerd (npm), and the same
// hook module in Deno and Bun, publishing to pypiserver assets served over HTTP on 127.0.0.1.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { root, venv, freePort, startPypiserver, startServer, startAssetServer, makeWheel, launchChromium } from "./servers.mjs";
import { serveWww } from "../../scripts/serve-www.mjs";
import { workerdConfig } from "../../edge/workerd-config.mjs";
import { sign } from "../../edge/hook.js";

const corpus = join(root, "tests/fixtures/corpus");
const SECRET = "hook-secret-for-tests";
const sha256File = (p) => createHash("sha256").update(readFileSync(p)).digest("hex");

async function waitListening(url, child, what) {
  for (let i = 0; i < 150; i++) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}: ${child.stderrText}`);
    try {
      await (await fetch(url, { method: "OPTIONS" })).arrayBuffer();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`${what} did not come up at ${url}: ${child.stderrText}`);
}

function spawnLogged(cmd, args, env) {
  // Its own process group: npm's launchers (deno) start the real binary as a child, which a
  // signal to the launcher alone would orphan, holding our pipes open.
  const child = spawn(cmd, args, { env: { ...process.env, NO_COLOR: "1", ...env }, stdio: ["ignore", "pipe", "pipe"], detached: true });
  const signal = (sig) => {
    try {
      process.kill(-child.pid, sig);
    } catch {}
  };
  child.stderrText = "";
  child.stderr.on("data", (d) => (child.stderrText += d));
  child.stdout.on("data", () => {});
  // SIGTERM, then SIGKILL: a server that waits on idle keep-alive connections must not hang the run.
  child.stop = () =>
    new Promise((r) => {
      if (child.exitCode !== null || child.signalCode !== null) return r();
      const force = setTimeout(() => signal("SIGKILL"), 2000);
      child.once("exit", () => (clearTimeout(force), signal("SIGKILL"), r()));
      signal("SIGTERM");
    });
  return child;
}

/** workerd serving the hook and the relay, configured by `env`. */
async function startWorkerd(env) {
  const [hookPort, relayPort] = [await freePort(), await freePort()];
  const dir = join(root, "target/workerd");
  mkdirSync(dir, { recursive: true });
  const config = join(dir, `config-${hookPort}.capnp`);
  writeFileSync(config, workerdConfig({ hookPort, relayPort, dir, env }));
  // The binary itself, not npm's Node launcher, so that its RSS is workerd's.
  const child = spawnLogged(join(root, "node_modules/@cloudflare/workerd-linux-64/bin/workerd"), ["serve", config], env);
  const hook = `http://127.0.0.1:${hookPort}/`;
  const relay = `http://127.0.0.1:${relayPort}/`;
  await waitListening(hook, child, "workerd");
  return { hook, relay, child, stop: child.stop };
}

/** Kernel's peak and current resident set of a process, in MiB. */
function rss(pid) {
  const s = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (k) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(s)[1]) / 1024;
  return { peak: kb("VmHWM"), now: kb("VmRSS") };
}

async function callHook(hook, body, { signature, headers = {} } = {}) {
  const text = JSON.stringify(body);
  const r = await fetch(`${hook}publish`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-pypublish-signature": signature ?? (await sign(SECRET, text)), ...headers },
    body: text,
  });
  return { status: r.status, json: await r.json() };
}

function pipDownload(reg, dl, ...reqs) {
  return spawnSync(venv("python"), ["-m", "pip", "--isolated", "--disable-pip-version-check", "download", "--no-deps", "--index-url", reg.simple, "-d", dl, ...reqs], { encoding: "utf8" });
}

let work;
before(() => {
  work = mkdtempSync(join(tmpdir(), "edge-"));
});

/** The hook served by `runtime` (workerd, deno or bun) with `env`. */
async function startHook(runtime, env) {
  if (runtime === "workerd") return startWorkerd(env);
  const port = await freePort();
  const serve = [join(root, "edge/serve.mjs"), "hook", String(port)];
  const args = runtime === "deno" ? ["run", "--quiet", "--allow-net", "--allow-read", "--allow-env", ...serve] : serve;
  const child = spawnLogged(join(root, "node_modules/.bin", runtime), args, env);
  const hook = `http://127.0.0.1:${port}/`;
  await waitListening(hook, child, runtime);
  return { hook, child, stop: child.stop };
}

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
    const h = await startHook(runtime, { PYPUBLISH_REPOSITORY_URL: reg.url, PYPUBLISH_USERNAME: "hook", PYPUBLISH_PASSWORD: "hook-pw-1", PYPUBLISH_HOOK_SECRET: SECRET });
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
      // Metadata by range requests; the whole asset fetched exactly twice: hashed, then sent.
      const bigGets = srv.requests.filter((q) => q.url === "/edge_big-1.0-py3-none-any.whl" && q.method === "GET");
      assert.equal(bigGets.filter((q) => !q.range).length, 2, "streamed twice: once hashed, once sent");
    } finally {
      await h.stop();
      await reg.stop();
      await srv.stop();
    }
  });
}

test("workerd: a tampered signature, bad JSON, an unreachable or oversize asset each get a JSON error, and nothing is uploaded", async () => {
  const name = "six-1.16.0-py2.py3-none-any.whl";
  const srv = await startAssetServer({ [name]: join(corpus, name) });
  const registry = await startServer((req, res) => res.writeHead(200).end("OK"));
  const wd = await startWorkerd({ PYPUBLISH_REPOSITORY_URL: registry.url, PYPUBLISH_USERNAME: "u", PYPUBLISH_PASSWORD: "pw-2", PYPUBLISH_HOOK_SECRET: SECRET, PYPUBLISH_MAX_ASSET_BYTES: "5000" });
  try {
    const body = { files: [{ url: srv.base + name }] };
    let r = await callHook(wd.hook, body, { signature: (await sign(SECRET, JSON.stringify(body))).replace(/.$/, (c) => (c === "0" ? "1" : "0")) });
    assert.equal(r.status, 401);
    assert.match(r.json.error, /signature/);
    r = await callHook(wd.hook, body, { signature: await sign("another-secret", JSON.stringify(body)) });
    assert.equal(r.status, 401);
    assert.equal(srv.requests.length, 0, "a request with a bad signature fetches nothing");

    const bad = "{not json";
    const raw = await fetch(`${wd.hook}publish`, { method: "POST", headers: { "x-pypublish-signature": await sign(SECRET, bad) }, body: bad });
    assert.equal(raw.status, 400);
    assert.match((await raw.json()).error, /not JSON/);

    r = await callHook(wd.hook, { files: [{ url: `${srv.base}missing-1.0-py3-none-any.whl` }] });
    assert.equal(r.status, 502);
    assert.match(r.json.error, /HTTP 404/);

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
  const wd = await startWorkerd({ RELAY_ALLOWED_ORIGINS: pageOrigin, RELAY_UPSTREAMS: reg.url, PYPUBLISH_HOOK_SECRET: SECRET, PYPUBLISH_REPOSITORY_URL: reg.url });
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
    assert.match(text, /origin http:\/\/evil\.example may not use this relay/);
    assert.ok(!text.includes("cmVsYXk6"), "credentials are never echoed");
    r = await fetch(to("https://example.com/upload/"), { method: "POST", headers: { origin: pageOrigin }, body: "x" });
    assert.equal(r.status, 403);
    assert.match((await r.json()).error, /upstream https:\/\/example\.com\/upload\/ is not allowed/);
    r = await fetch(to(reg.url), { method: "PUT", headers: { origin: pageOrigin }, body: "x" });
    assert.equal(r.status, 405);
    assert.deepEqual(readdirSync(reg.packages), [wheel], "nothing else reached the registry");
  } finally {
    await browser.close();
    await www.stop();
    await wd.stop();
    await reg.stop();
  }
});

for (const runtime of ["deno", "bun"]) {
  test(`${runtime}: the hook publishes a GitHub release's dist assets to pypiserver`, async () => {
    const names = ["pp_poetry_demo-0.3.0-py3-none-any.whl", "pp_poetry_demo-0.3.0.tar.gz"];
    const srv = await startAssetServer(Object.fromEntries(names.map((n) => [n, join(corpus, n)])));
    const reg = await startPypiserver({ user: "gh", password: `gh-pw-${runtime}` });
    const h = await startHook(runtime, { PYPUBLISH_REPOSITORY_URL: reg.url, PYPUBLISH_USERNAME: "gh", PYPUBLISH_PASSWORD: `gh-pw-${runtime}`, PYPUBLISH_HOOK_SECRET: SECRET });
    try {
      const hook = h.hook;
      const release = {
        action: "published",
        release: { tag_name: "v0.3.0", assets: [...names, "checksums.txt"].map((n) => ({ name: n, url: `https://api.github.invalid/assets/${n}`, browser_download_url: srv.base + n })) },
      };
      const text = JSON.stringify(release);
      const r = await fetch(`${hook}publish`, { method: "POST", headers: { "x-github-event": "release", "x-hub-signature-256": await sign(SECRET, text), "content-type": "application/json" }, body: text });
      const reports = await r.json();
      assert.equal(r.status, 200, JSON.stringify(reports));
      assert.deepEqual(reports.map((x) => [x.filename, x.status]), names.map((n) => [n, "uploaded"]));
      const dl = mkdtempSync(join(tmpdir(), `pip-${runtime}-`));
      let p = pipDownload(reg, dl, "--only-binary", ":all:", "pp_poetry_demo==0.3.0");
      assert.equal(p.status, 0, p.stderr);
      p = pipDownload(reg, dl, "--no-binary", ":all:", "--no-build-isolation", "pp_poetry_demo==0.3.0");
      assert.equal(p.status, 0, p.stderr);
      for (const n of names) assert.equal(sha256File(join(dl, n)), sha256File(join(corpus, n)), n);
    } finally {
      await h.stop();
      await reg.stop();
      await srv.stop();
    }
  });
}

