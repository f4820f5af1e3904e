// Issue 12: the release hook and the relays under attack, in workerd (npm) unless a test says
// otherwise. Each test drives the attack the issue found and checks that it fails: nothing is
// fetched from or sent to a host it must not reach, no secret leaves, the registry stores
// nothing it must not. Servers are real, on 127.0.0.1.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { createServer } from "node:http";
import { join } from "node:path";

import { root, freePort, startPypiserver, startServer, makeWheel } from "./servers.mjs";
import { SECRET, WEBHOOK_SECRET, DEV_LOCAL, startWorkerd, startHook, callHook, post, assetHost, fakeGithubApi, spawnLogged, recordingProxy, stallingHost, eventually, abandonedCall } from "./edge-helpers.mjs";
import { serveWww } from "../../scripts/serve-www.mjs";
import { workerdConfig } from "../../edge/workerd-config.mjs";
import { sign, signRequest } from "../../edge/hook.js";
import { checkUrl, classifyHost, parseSize } from "../../edge/policy.js";

const corpus = join(root, "tests/fixtures/corpus");
const WHEEL = "six-1.16.0-py2.py3-none-any.whl";
const SDIST = "six-1.9.0.tar.gz";
const bytesOf = (name) => readFileSync(join(corpus, name));
const sha256 = (b) => createHash("sha256").update(b).digest("hex");
const now = () => Math.floor(Date.now() / 1000);

/** The hook's settings for a registry `reg` ({ url, simple? }), plus `extra`. */
const hookEnv = (reg, extra = {}) => ({
  PYPUBLISH_REPOSITORY_URL: reg.url,
  PYPUBLISH_CHECK_URL: reg.simple ?? `${reg.url}simple/`,
  PYPUBLISH_USERNAME: reg.user ?? "u",
  PYPUBLISH_PASSWORD: reg.password ?? "registry-pw-9",
  PYPUBLISH_HOOK_SECRET: SECRET,
  ...extra,
});

/** A server that records every request and answers 404: what an attacker or an internal host sees. */
const listener = () => startServer((req, res) => res.writeHead(404).end("nothing here"));

// ---------------------------------------------------------------------------------------------
// Finding 1: the hook secret let anyone steal GITHUB_TOKEN.

test("workerd: a release webhook needs GITHUB_WEBHOOK_SECRET and an allowed repository; a forged one never sends GITHUB_TOKEN to a non-GitHub host", async () => {
  const TOKEN = "ghs_secret_github_token_for_tests";
  const attacker = await listener();
  const storage = await assetHost({ [WHEEL]: bytesOf(WHEEL) });
  // id 1: GitHub's redirect to its storage; id 666: an API whose redirect leads to the attacker.
  const api = await fakeGithubApi({ 1: storage.base + WHEEL, 666: `${attacker.url}${WHEEL}` });
  const reg = await startPypiserver({ user: "gh", password: "gh-pw-12" });
  const wd = await startWorkerd(hookEnv(reg, { GITHUB_WEBHOOK_SECRET: WEBHOOK_SECRET, GITHUB_REPOSITORIES: "octo/demo", GITHUB_TOKEN: TOKEN, PYPUBLISH_DEV_GITHUB_API: api.url, ...DEV_LOCAL }));
  const release = (assets, repo = "octo/demo") => JSON.stringify({ action: "published", repository: { full_name: repo }, release: { tag_name: "v1.16.0", assets } });
  const webhook = async (text, secret = WEBHOOK_SECRET) => post(wd.hook, text, { "content-type": "application/json", "x-github-event": "release", "x-hub-signature-256": await sign(secret, text) });
  const apiUrl = (id) => `${api.url}repos/octo/demo/releases/assets/${id}`;
  try {
    const toAttacker = release([{ id: 1, name: WHEEL, url: `${attacker.url}${WHEEL}`, browser_download_url: `${attacker.url}${WHEEL}` }]);
    // The secret for our JSON does not sign webhooks (one secret used to serve both).
    let r = await webhook(toAttacker, SECRET);
    assert.equal(r.status, 401, r.text);
    // Nor does X-GitHub-Event turn a JSON-signed request into a webhook.
    r = await callHook(wd.hook, toAttacker, { headers: { "x-github-event": "release" } });
    assert.equal(r.status, 400, r.text);
    // Signed with the webhook secret, for a repository the hook does not publish.
    r = await webhook(release([{ id: 1, name: WHEEL, url: apiUrl(1) }], "evil/repo"));
    assert.equal(r.status, 403, r.text);
    // Signed, allowed repository, but an asset URL that is not the release's own API URL.
    r = await webhook(toAttacker);
    assert.equal(r.status, 400, r.text);
    assert.match(r.json.error, /not the release's own asset API URL/);
    assert.equal(api.requests.length + storage.requests.length, 0, "nothing fetched for a refused webhook");

    // The API's own redirect to another host: followed without the token.
    r = await webhook(release([{ id: 666, name: WHEEL, url: apiUrl(666) }]));
    assert.equal(r.status, 502, r.text);
    assert.match(r.json.error, /assets\[0\] \(six-1\.16\.0-py2\.py3-none-any\.whl\) could not be fetched: HTTP 404/);
    assert.ok(attacker.requests.length > 0, "the redirect was followed");

    // JSON requests may name any allowed URL, but the token is never sent with one.
    r = await callHook(wd.hook, { files: [{ url: `${attacker.url}${WHEEL}` }] });
    assert.equal(r.status, 502, r.text);

    for (const q of attacker.requests) {
      assert.equal(q.headers.authorization, undefined, `${q.url}: no Authorization`);
      assert.ok(!JSON.stringify(q).includes(TOKEN), "the token never reaches the attacker");
    }

    // The genuine release: the token goes to the API, the bytes come from storage.
    r = await webhook(release([{ id: 1, name: WHEEL, url: apiUrl(1), size: bytesOf(WHEEL).length }]));
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.map((x) => x.status), ["uploaded"]);
    assert.ok(api.requests.every((q) => q.headers.authorization === `Bearer ${TOKEN}`));
    assert.ok(storage.requests.length > 0 && storage.requests.every((q) => q.headers.authorization === undefined));
    assert.ok(!r.text.includes(TOKEN) && !r.text.includes("gh-pw-12"));
  } finally {
    await wd.stop();
    await reg.stop();
    await api.stop();
    await storage.stop();
    await attacker.stop();
  }
});

// ---------------------------------------------------------------------------------------------
// Finding 2: server-side request forgery.

test("workerd: loopback, private, link-local and metadata asset URLs are refused before anything is fetched, with the same reply whether the host exists or not", async () => {
  const internal = await listener();
  const dead = await freePort();
  const registry = await listener();
  // The production entry, on a network that could reach 127.0.0.1: the hook's own check refuses.
  const wd = await startWorkerd(hookEnv(registry), { dev: false, network: "all" });
  try {
    const p = internal.port;
    const refusedHosts = [
      `127.0.0.1:${p}`,
      `localhost:${p}`,
      `sub.localhost:${p}`,
      `[::1]:${p}`,
      `2130706433:${p}`,
      `0x7f.1:${p}`,
      `127.1:${p}`,
      `[::ffff:127.0.0.1]:${p}`,
      `[::ffff:7f00:1]:${p}`,
      `[64:ff9b::7f00:1]:${p}`,
      `vm:${p}`,
      `0.0.0.0:${p}`,
      "10.0.0.1",
      "172.16.5.4",
      "192.168.1.1",
      "100.64.0.1",
      "[fc00::1]",
      "[fe80::1]",
      "169.254.169.254",
      "[fd00:ec2::254]",
      "metadata.google.internal",
      "metadata",
      "printer.local",
      "db.internal",
    ];
    const replies = [];
    for (const host of refusedHosts) {
      const r = await callHook(wd.hook, { files: [{ url: `https://${host}/latest/${WHEEL}` }] });
      assert.equal(r.status, 400, `${host}: ${r.text}`);
      replies.push(r.text);
    }
    assert.equal(new Set(replies).size, 1, "one reply for every refused host");
    assert.match(replies[0], /files\[0\]: the URL is not on a host the hook fetches from/);
    // A live internal server and a closed port: nothing tells them apart.
    const live = await callHook(wd.hook, { files: [{ url: `https://127.0.0.1:${p}/${WHEEL}` }] });
    const gone = await callHook(wd.hook, { files: [{ url: `https://127.0.0.1:${dead}/${WHEEL}` }] });
    assert.equal(live.text, gone.text);
    // Plain HTTP needs a development setting, whatever the host.
    const http = await callHook(wd.hook, { files: [{ url: `http://127.0.0.1:${p}/${WHEEL}` }] });
    assert.equal(http.status, 400);
    assert.match(http.json.error, /is not an https URL/);
    // One refused URL in a batch: nothing of the batch is fetched.
    const mixed = await callHook(wd.hook, { files: [{ url: `https://files.pythonhosted.org/${SDIST}` }, { url: `https://169.254.169.254/${WHEEL}` }] });
    assert.equal(mixed.status, 400);
    assert.match(mixed.json.error, /^files\[1\]/);
    assert.equal(internal.requests.length, 0, "the internal host heard nothing");
    assert.equal(registry.requests.length, 0, "the registry heard nothing");
  } finally {
    await wd.stop();
    await internal.stop();
    await registry.stop();
  }
});

test("workerd: redirects are followed by hand, each hop checked: a hop outside PYPUBLISH_ASSET_HOSTS or to a metadata address is refused without contacting it", async () => {
  const other = await assetHost({ [WHEEL]: bytesOf(WHEEL) });
  const files = await assetHost({ [WHEEL]: bytesOf(WHEEL) });
  const otherPort = new URL(other.base).port;
  const redirector = await startServer((req, res) => {
    const to = {
      "/to-localhost": `http://localhost:${otherPort}/${WHEEL}`,
      "/to-metadata": `http://169.254.169.254/latest/meta-data/${WHEEL}`,
      "/to-userinfo": `http://user:pw@127.0.0.1:${otherPort}/${WHEEL}`,
      "/relative": `/../${WHEEL}`,
      "/loop": "/loop",
    }[req.url.replace(/\/[^/]*\.whl$/, "")];
    if (to) return res.writeHead(302, { location: to }).end();
    res.writeHead(307, { location: `${files.base}${WHEEL}` }).end();
  });
  const registry = await startServer((req, res) => res.writeHead(req.method === "POST" ? 200 : 404).end("OK"));
  // Development settings reach 127.0.0.1, but only the hosts listed.
  const wd = await startWorkerd(hookEnv(registry, { ...DEV_LOCAL, PYPUBLISH_ASSET_HOSTS: "127.0.0.1" }));
  try {
    const via = (path) => callHook(wd.hook, { files: [{ url: `${redirector.url}${path.slice(1)}/${WHEEL}` }] });
    const refused = [];
    for (const path of ["/to-localhost", "/to-metadata", "/to-userinfo"]) {
      const r = await via(path);
      assert.equal(r.status, 502, `${path}: ${r.text}`);
      refused.push(r.text);
    }
    assert.equal(new Set(refused).size, 1, "a refused hop is not described");
    assert.match(refused[0], /redirected to a URL the hook does not fetch from/);
    assert.ok(!refused[0].includes("169.254") && !refused[0].includes("localhost"));
    assert.equal(other.requests.length, 0, "the refused hop was never contacted");
    const loop = await via("/loop");
    assert.match(loop.json.error, /more than 5 redirects/);
    // An allowed chain (relative, then to another allowed port) works.
    const ok = await via("/relative");
    assert.equal(ok.status, 200, ok.text);
    assert.ok(files.requests.length > 0);
  } finally {
    await wd.stop();
    await registry.stop();
    await redirector.stop();
    await files.stop();
    await other.stop();
  }
});

test("workerd: the production config reaches public addresses only, so a name that resolves to loopback is refused by the network as well as by the hook", async () => {
  const internal = await listener();
  // The hook's own check switched off (development settings), the network left as in production.
  const wd = await startWorkerd(hookEnv({ url: "http://127.0.0.1:9/" }, DEV_LOCAL), { dev: true, network: "public" });
  try {
    const r = await callHook(wd.hook, { files: [{ url: `http://localhost:${internal.port}/${WHEEL}` }] });
    assert.equal(r.status, 502, r.text);
    assert.match(r.json.error, /could not be fetched \(network error\)$/);
    assert.equal(internal.requests.length, 0);
  } finally {
    await wd.stop();
    await internal.stop();
  }
});

test("edge: the generated workerd config allows private addresses only in the development (test) config", () => {
  const prod = workerdConfig({ hookPort: 1, relayPort: 2, env: {} });
  assert.match(prod, /allow = \["public"\]/);
  assert.doesNotMatch(prod, /"private"|"local"/);
  assert.match(prod, /edge\/workerd-entry\.js/);
  assert.doesNotMatch(prod, /dev-entry/);
  const dev = workerdConfig({ hookPort: 1, relayPort: 2, env: {}, dev: true });
  assert.match(dev, /allow = \["public", "private", "local"\]/);
  assert.match(dev, /edge\/workerd-dev-entry\.js/);
});

test("edge: the hook's workerd config and wrangler.toml set enable_request_signal, without which request.signal never fires in workerd", () => {
  for (const dev of [false, true]) {
    const hook = /const hook :Workerd\.Worker = \(([\s\S]*?)\n\);/.exec(workerdConfig({ hookPort: 1, relayPort: 2, env: {}, dev }))[1];
    assert.match(hook, /compatibilityFlags = \["enable_request_signal"\]/, dev ? "dev" : "production");
  }
  assert.match(readFileSync(join(root, "edge/wrangler.toml"), "utf8"), /^compatibility_flags = \["enable_request_signal"\]$/m);
});

test("edge: the URL policy's address classes (literal addresses in every spelling the URL parser accepts, and well-known names)", () => {
  const host = (u) => classifyHost(new URL(u).hostname);
  for (const [u, kind] of [
    ["https://8.8.8.8/", "public"],
    ["https://[2606:4700::1111]/", "public"],
    ["https://files.pythonhosted.org/", "public"],
    ["https://0177.0.0.1/", "loopback"],
    ["https://127.255.255.254/", "loopback"],
    ["https://[::ffff:10.1.2.3]/", "private"],
    ["https://[2002:c0a8:0101::]/", "private"],
    ["https://[::]/", "local"],
    ["https://169.254.1.1/", "linkLocal"],
    ["https://169.254.169.254/", "metadata"],
    ["https://[::ffff:169.254.169.254]/", "metadata"],
    ["https://METADATA.google.internal./", "metadata"],
    ["https://localhost./", "loopback"],
    ["https://intranet/", "local"],
  ])
    assert.equal(host(u), kind, u);
  const policy = { allowHttp: false, allowPrivate: false, hosts: ["files.example.org", "*.githubusercontent.com"] };
  assert.equal(checkUrl("https://files.example.org/a.whl", policy).ok, true);
  assert.equal(checkUrl("https://objects.githubusercontent.com/a", policy).ok, true);
  assert.equal(checkUrl("https://githubusercontent.com.evil.example/a", policy).reason, "host");
  assert.equal(checkUrl("https://evil.example/a", policy).reason, "host");
  assert.equal(checkUrl("http://files.example.org/a.whl", policy).reason, "scheme");
  assert.equal(checkUrl("https://u:p@files.example.org/a.whl", policy).reason, "userinfo");
  // Metadata stays refused even where private addresses are allowed.
  assert.equal(checkUrl("http://169.254.169.254/", { allowHttp: true, allowPrivate: true, hosts: null }).reason, "host");
});

// ---------------------------------------------------------------------------------------------
// Finding 3: replay.

test("workerd: a replayed request, a stale or future timestamp and a body-only signature are refused before anything is fetched; a new request for files already on the registry reports them skipped by the index check", async () => {
  const assets = await assetHost({ [WHEEL]: bytesOf(WHEEL) });
  const reg = await startPypiserver({ user: "rp", password: "rp-pw-3" });
  const wd = await startWorkerd(hookEnv(reg, { ...DEV_LOCAL, PYPUBLISH_USERNAME: "rp", PYPUBLISH_PASSWORD: "rp-pw-3" }));
  try {
    const body = JSON.stringify({ files: [{ url: assets.base + WHEEL, sha256: sha256(bytesOf(WHEEL)) }] });
    const first = await callHook(wd.hook, body);
    assert.equal(first.status, 200, first.text);
    assert.equal(first.json[0].status, "uploaded");
    const fetched = assets.requests.length;

    const replay = await post(wd.hook, body, first.headers);
    assert.equal(replay.status, 409, replay.text);
    assert.match(replay.json.error, /already received/);
    for (const timestamp of [now() - 301, now() + 301]) {
      const r = await callHook(wd.hook, body, { timestamp });
      assert.equal(r.status, 401, r.text);
      assert.match(r.json.error, /more than 5 minutes/);
    }
    // The old scheme (the body alone signed) is not accepted with any timestamp.
    const bodyOnly = await post(wd.hook, body, { "x-pypublish-timestamp": String(now()), "x-pypublish-signature": await sign(SECRET, body) });
    assert.equal(bodyOnly.status, 401);
    const noTime = await post(wd.hook, body, { "x-pypublish-signature": (await signRequest(SECRET, body))["x-pypublish-signature"] });
    assert.equal(noTime.status, 401);
    assert.equal(assets.requests.length, fetched, "nothing fetched for a refused request");

    // Another second, so another signature: a new request for the same files.
    const again = await callHook(wd.hook, body, { timestamp: Number(first.headers["x-pypublish-timestamp"]) - 2 });
    assert.equal(again.status, 200, again.text);
    assert.equal(again.json[0].status, "skipped");
    const wholeGets = (reqs) => reqs.filter((q) => q.method === "GET" && !q.headers.range).length;
    assert.equal(wholeGets(assets.requests.slice(0, fetched)), 1, "not in the index: read once, hashed as it was sent");
    assert.equal(wholeGets(assets.requests.slice(fetched)), 1, "in the index: read once, to compare its sha256");
    assert.match(again.json[0].hint, new RegExp(`already in ${reg.simple.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} with the same sha256`));
    assert.deepEqual(readdirSync(reg.packages), [WHEEL]);
  } finally {
    await wd.stop();
    await reg.stop();
    await assets.stop();
  }
});

// ---------------------------------------------------------------------------------------------
// Finding 4: the bytes sent must be the bytes hashed, in every runtime.

for (const runtime of ["workerd", "deno", "bun"]) {
  // workerd and Bun read a single asset once, hashing it as it is sent: its bytes are checked
  // against the request's sha256. Deno hashes first (its fetch sends a stream body without a
  // Content-Length, so the digests cannot follow the file), then checks the body pass against
  // that hash. Either way the body is what differs, and it is cut.
  const once = runtime !== "deno";
  test(`${runtime}: an asset whose ${once ? "only read gives other bytes than its sha256 (of the same length)" : "second read gives other bytes of the same length"} is cut before the closing boundary; the registry stores nothing`, async () => {
    const wheel = readFileSync(makeWheel(mkdtempSync(join(tmpdir(), "edge-swap-")), `edge_swap_${runtime}`, 4));
    const name = `edge_swap_${runtime}-1.0-py3-none-any.whl`;
    const swapped = (n, b) => {
      const c = Buffer.from(b);
      c[c.length >> 1] ^= 0xff; // inside the stored payload: still a valid zip to a reader that does not check CRCs
      return c;
    };
    const assets = await assetHost({ [name]: wheel }, { changed: swapped, changedFrom: once ? 1 : 2 });
    const reg = await startPypiserver({ user: "sw", password: "sw-pw-4" });
    const proxy = await recordingProxy(reg.url);
    // Deno's case is about a second read, so its asset is streamed: one held in memory
    // (PYPUBLISH_HOLD_BYTES) is fetched once and cannot change between reads.
    const h = await startHook(runtime, hookEnv({ url: proxy.url, simple: reg.simple, user: "sw", password: "sw-pw-4" }, { ...DEV_LOCAL, ...(once ? {} : { PYPUBLISH_HOLD_BYTES: "0" }) }));
    try {
      const r = await callHook(h.hook, { files: [{ url: assets.base + name, sha256: sha256(wheel) }] });
      assert.equal(r.status, 502, r.text);
      assert.equal(r.json[0].status, "failed");
      assert.equal(r.json[0].kind, "source");
      assert.match(r.json[0].error, once ? new RegExp(`the bytes sent have sha256 ${sha256(swapped(name, wheel))}, not the expected ${sha256(wheel)}`) : /the source changed/);
      const whole = assets.requests.filter((q) => q.method === "GET" && !q.headers.range);
      assert.equal(whole.length, once ? 1 : 2, once ? "read once: hashed as it was sent" : "hashed, then sent");
      const uploads = proxy.seen.filter((q) => q.method === "POST");
      // workerd sends as it reads; Bun may hold a stream body back, and send none of a failed one.
      if (runtime !== "bun") assert.equal(uploads.length, 1, "the upload started");
      assert.ok(uploads.length <= 1, "not retried");
      for (const up of uploads) {
        const boundary = /boundary=("?)([^";]+)\1/.exec(up.contentType)[2];
        const received = Buffer.concat(up.chunks);
        if (runtime === "workerd") assert.ok(received.length > wheel.length / 2, "the request was under way");
        assert.ok(!received.includes(`--${boundary}--`), "no closing boundary");
        assert.equal(up.complete, false, "the request was cut");
      }
      assert.deepEqual(readdirSync(reg.packages), [], "the registry stores nothing");
    } finally {
      await h.stop();
      await proxy.stop();
      await reg.stop();
      await assets.stop();
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Finding 5: all or nothing.

test("workerd: all or nothing: a wrong sha256 on the file sent first cuts it before its closing boundary and nothing else is sent; on another file, nothing is sent at all", async () => {
  const assets = await assetHost({ [WHEEL]: bytesOf(WHEEL), [SDIST]: bytesOf(SDIST) });
  const reg = await startPypiserver({ user: "an", password: "an-pw-5" });
  const proxy = await recordingProxy(reg.url);
  const wd = await startWorkerd(hookEnv({ url: proxy.url, simple: reg.simple }, { ...DEV_LOCAL, PYPUBLISH_USERNAME: "an", PYPUBLISH_PASSWORD: "an-pw-5" }));
  try {
    // The wheel goes first (wheels before sdists) and is read once, checked as it is sent; the
    // sdist was hashed and checked before the wheel's first byte, and waits for the wheel's check.
    let r = await callHook(wd.hook, { files: [{ url: assets.base + SDIST, sha256: sha256(bytesOf(SDIST)) }, { url: assets.base + WHEEL, sha256: "0".repeat(64) }] });
    assert.equal(r.status, 502, r.text);
    const kinds = (reports) => Object.fromEntries(reports.map((x) => [x.filename, x.kind]));
    assert.deepEqual(kinds(r.json), { [SDIST]: "notSent", [WHEEL]: "source" }, r.text);
    let uploads = proxy.seen.filter((q) => q.method === "POST");
    assert.equal(uploads.length, 1, "only the wheel's upload started");
    assert.equal(uploads[0].complete, false, "and it was cut");
    assert.deepEqual(readdirSync(reg.packages), [], "nothing uploaded: a release is never half published");

    r = await callHook(wd.hook, { files: [{ url: assets.base + SDIST, sha256: "0".repeat(64) }, { url: assets.base + WHEEL, sha256: sha256(bytesOf(WHEEL)) }] });
    assert.equal(r.status, 502, r.text);
    assert.deepEqual(kinds(r.json), { [SDIST]: "source", [WHEEL]: "notSent" }, r.text);
    uploads = proxy.seen.filter((q) => q.method === "POST");
    assert.equal(uploads.length, 1, "no upload at all this time: the sdist was found wrong before the wheel's first byte");
    assert.deepEqual(readdirSync(reg.packages), []);
  } finally {
    await wd.stop();
    await proxy.stop();
    await reg.stop();
    await assets.stop();
  }
});

// ---------------------------------------------------------------------------------------------
// Finding 6: unbounded and unchecked input.

test("workerd: PYPUBLISH_MAX_ASSET_BYTES takes units: with \"2GiB\" an asset of 10^12 bytes is refused before a byte of it is read", async () => {
  const claims = await startServer((req, res) => {
    // A server that claims a terabyte; only a one-byte range may be asked of it.
    if (req.headers.range !== "bytes=0-0") return res.writeHead(500).end();
    res.writeHead(206, { "content-range": "bytes 0-0/1000000000000", "content-length": 1 }).end("P");
  });
  const registry = await listener();
  const wd = await startWorkerd(hookEnv(registry, { ...DEV_LOCAL, PYPUBLISH_MAX_ASSET_BYTES: "2GiB" }));
  try {
    const r = await callHook(wd.hook, { files: [{ url: `${claims.url}${WHEEL}` }] });
    assert.equal(r.status, 413, r.text);
    assert.match(r.json.error, /1000000000000 bytes, over the hook's limit of 2147483648/);
    assert.deepEqual(claims.requests.map((q) => q.headers.range), ["bytes=0-0"]);
    assert.equal(registry.requests.length, 0);
  } finally {
    await wd.stop();
    await claims.stop();
    await registry.stop();
  }
});

test("edge: sizes are read with units, and anything else is refused rather than read as no limit", () => {
  assert.equal(parseSize("2GiB"), 2 ** 31);
  assert.equal(parseSize("500MB"), 500e6);
  assert.equal(parseSize("1048576"), 1048576);
  assert.equal(parseSize("1.5 KiB"), 1536);
  for (const bad of ["2 gigs", "", "NaN", "-1", "0", "Infinity", "1e12", "9007199254740993"]) assert.equal(parseSize(bad), null, bad);
});

test("workerd, deno and bun: bad settings are refused at startup with errors that name them (and never their values)", async () => {
  const env = {
    PYPUBLISH_REPOSITORY_URL: "https://user:registry-pw-in-url@upload.example.org/legacy/",
    PYPUBLISH_PASSWORD: "a-password-only",
    PYPUBLISH_HOOK_SECRET: "tiny-secret",
    PYPUBLISH_MAX_ASSET_BYTES: "2 gigs",
    PYPUBLISH_TIMEOUT: "in-a-while-x9",
    PYPUBLISH_HOLD_BYTES: "lots-kept-x7",
    PYPUBLISH_DEV_ALLOW_PRIVATE: "1",
    GITHUB_TOKEN: "ghs_token_without_repositories",
  };
  const expected = [/PYPUBLISH_REPOSITORY_URL must not carry credentials/, /PYPUBLISH_CHECK_URL is not set/, /no registry credentials/, /PYPUBLISH_HOOK_SECRET is shorter than 16/, /PYPUBLISH_MAX_ASSET_BYTES must be a size/, /PYPUBLISH_TIMEOUT must be a number of seconds/, /PYPUBLISH_HOLD_BYTES must be a size/, /PYPUBLISH_DEV_ALLOW_PRIVATE is a development setting/, /GITHUB_TOKEN is set but GITHUB_REPOSITORIES is empty/];
  const values = ["registry-pw-in-url", "a-password-only", "ghs_token_without_repositories", "2 gigs", "in-a-while-x9", "lots-kept-x7"];
  const wd = await startWorkerd(env, { dev: false });
  try {
    const r = await callHook(wd.hook, { files: [] });
    assert.equal(r.status, 500, r.text);
    for (const e of expected) {
      assert.match(r.json.error, e);
      assert.match(wd.child.stderrText, e, "logged when workerd starts");
    }
    for (const v of values) assert.ok(!r.text.includes(v) && !wd.child.stderrText.includes(v), v);
  } finally {
    await wd.stop();
  }
  for (const runtime of ["deno", "bun"]) {
    const port = String(await freePort());
    const serve = [join(root, "edge/serve.mjs"), "hook", port];
    const child = spawnLogged(join(root, "node_modules/.bin", runtime), runtime === "deno" ? ["run", "--quiet", "--allow-net", "--allow-read", "--allow-env", ...serve] : serve, env);
    assert.equal(await child.exited, 2, `${runtime} exits: ${child.stderrText}`);
    for (const e of expected) assert.match(child.stderrText, e, runtime);
    for (const v of values) assert.ok(!child.stderrText.includes(v), v);
  }
});

test("workerd: a held asset whose whole GET is shorter than its probe said fails the request, naming it, before anything is uploaded", async () => {
  // The probe says the sdist's full size; its one whole GET (to hold it in memory) gives less.
  const assets = await assetHost({ [WHEEL]: bytesOf(WHEEL), [SDIST]: bytesOf(SDIST) }, { changed: (n, b) => (n === SDIST ? b.subarray(0, b.length - 100) : b), changedFrom: 1 });
  const registry = await listener();
  const wd = await startWorkerd(hookEnv(registry, DEV_LOCAL));
  try {
    const r = await callHook(wd.hook, { files: [{ url: assets.base + WHEEL }, { url: assets.base + SDIST }] });
    assert.equal(r.status, 502, r.text);
    assert.match(r.json.error, new RegExp(`files\\[1\\] \\(${SDIST.replaceAll(".", "\\.")}\\) could not be fetched: the server now gives \\d+ bytes, not the \\d+ it gave before`));
    assert.equal(registry.requests.length, 0, "nothing sent to the registry, not even the preflight");
  } finally {
    await wd.stop();
    await assets.stop();
    await registry.stop();
  }
});

test("workerd: a held asset whose body stalls, breaks off, or runs longer or shorter than its probe said fails the request with a 502 naming it; nothing is uploaded", async () => {
  const wheel = bytesOf(WHEEL);
  const half = wheel.subarray(0, wheel.length >> 1);
  let mode;
  // The probe gives the wheel's size; the whole GET then misbehaves as `mode` says. Without a
  // Content-Length (chunked) the hook can only count what arrives.
  const host = await startServer((req, res) => {
    if (req.headers.range === "bytes=0-0") return res.writeHead(206, { "content-range": `bytes 0-0/${wheel.length}`, "content-length": 1 }).end(wheel.subarray(0, 1));
    if (mode === "stall") return res.writeHead(200, { "content-length": wheel.length }).write(half);
    if (mode === "break") {
      res.writeHead(200, { "content-length": wheel.length }).write(half);
      return setTimeout(() => res.socket.destroy(), 50);
    }
    res.writeHead(200);
    res.end(mode === "longer" ? Buffer.concat([wheel, Buffer.alloc(10)]) : half);
  });
  const registry = await listener();
  const wd = await startWorkerd(hookEnv(registry, { ...DEV_LOCAL, PYPUBLISH_TIMEOUT: "2" }));
  try {
    const label = `files\\[0\\] \\(${WHEEL.replaceAll(".", "\\.")}\\)`;
    for (const [m, why] of [
      ["stall", "did not arrive within 2 s"],
      ["break", "could not be fetched \\(network error\\)"],
      ["longer", `the server sent more bytes, not the ${wheel.length} it gave before`],
      ["shorter", `the server sent ${half.length} bytes, not the ${wheel.length} it gave before`],
    ]) {
      mode = m;
      // A path of its own each time: the same signed body twice would be a replay (409).
      const r = await callHook(wd.hook, { files: [{ url: `${host.url}${m}/${WHEEL}` }] });
      assert.equal(r.status, 502, `${m}: ${r.text}`);
      assert.match(r.json.error, new RegExp(`^${label}:? ${why}$`), m);
    }
    assert.equal(registry.requests.length, 0, "nothing sent to the registry");
  } finally {
    await wd.stop();
    await host.stop();
    await registry.stop();
  }
});

test("workerd: the streamed assets' range reads hold no more at once than PYPUBLISH_HOLD_BYTES leaves: a read larger than that goes alone", async () => {
  const names = ["six-1.16.0-py2.py3-none-any.whl", "annotated_types-0.7.0-py3-none-any.whl", "importlib_metadata-8.6.1-py3-none-any.whl", "ptyprocess-0.5.2-py2.py3-none-any.whl", "packaging-25.0-py3-none-any.whl", "entrypoints-0.2.3-py2.py3-none-any.whl"];
  const files = Object.fromEntries(names.map((n) => [n, bytesOf(n)]));
  // Range replies wait 150 ms, so reads asked for together are seen together.
  let [inFlight, bytes, worst] = [0, 0, { n: 0, bytes: 0 }];
  const host = createServer((req, res) => {
    const bytesOfIt = files[decodeURIComponent(req.url.slice(1))];
    const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? "");
    if (!m) return res.writeHead(200, { "content-length": bytesOfIt.length }).end(bytesOfIt);
    const [s, e] = [Number(m[1]), Math.min(Number(m[2]), bytesOfIt.length - 1)];
    const asked = Number(m[2]) - s + 1;
    inFlight += 1;
    bytes += asked;
    if (inFlight > 1 && bytes > worst.bytes) worst = { n: inFlight, bytes };
    setTimeout(() => {
      inFlight -= 1;
      bytes -= asked;
      res.writeHead(206, { "content-length": e - s + 1, "content-range": `bytes ${s}-${e}/${bytesOfIt.length}` }).end(bytesOfIt.subarray(s, e + 1));
    }, asked > 1 ? 150 : 0);
  });
  await new Promise((r) => host.listen(0, "127.0.0.1", r));
  const base = `http://127.0.0.1:${host.address().port}/`;
  const reg = await startPypiserver({ user: "rb", password: "rb-pw-5" });
  let h;
  try {
    // 8 KiB: the smallest asset (9 KiB) is not held; all six are streamed.
    h = await startHook("workerd", hookEnv({ url: reg.url, simple: reg.simple, user: "rb", password: "rb-pw-5" }, { ...DEV_LOCAL, PYPUBLISH_HOLD_BYTES: "8KiB" }));
    const r = await callHook(h.hook, { files: names.map((n) => ({ url: `${base}${n}` })) });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.map((x) => x.status), names.map(() => "uploaded"), r.text);
    assert.ok(worst.bytes <= 8192, `${worst.n} range reads of ${worst.bytes} bytes in all were in flight at once`);
  } finally {
    await h?.stop();
    await reg.stop();
    await new Promise((r) => (host.closeAllConnections(), host.close(r)));
  }
});

test("workerd: range replies that run past the range are read only as far as asked, and the publish still works", async () => {
  const wheel = bytesOf(WHEEL);
  const padding = 64 * 2 ** 20;
  const assets = await assetHost({ [WHEEL]: wheel }, { rangePadding: padding });
  const reg = await startPypiserver({ user: "rg", password: "rg-pw-6" });
  // Streamed: a held asset (PYPUBLISH_HOLD_BYTES) is read whole once, with no range requests.
  const wd = await startWorkerd(hookEnv(reg, { ...DEV_LOCAL, PYPUBLISH_USERNAME: "rg", PYPUBLISH_PASSWORD: "rg-pw-6", PYPUBLISH_HOLD_BYTES: "0" }));
  try {
    const r = await callHook(wd.hook, { files: [{ url: assets.base + WHEEL }] });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json[0].status, "uploaded");
    assert.ok(assets.rangeBytesSent.length >= 2, "the metadata came by range requests");
    for (const q of assets.rangeBytesSent) assert.ok(q.sent < padding / 4, `${q.range}: ${q.sent} bytes went into the socket of a ${padding}-byte reply`);
    assert.deepEqual(readdirSync(reg.packages), [WHEEL]);
  } finally {
    await wd.stop();
    await reg.stop();
    await assets.stop();
  }
});

// ---------------------------------------------------------------------------------------------
// Review of the hook's asset reads: hosts that stop sending, clients that go away, a batch with
// one failure. Every asset request has PYPUBLISH_TIMEOUT without a byte and the client's
// presence; the bounds below are generous, the failures they catch took 30 s, 60 s or forever.

const SDIST_LABEL = `files\\[1\\] \\(${SDIST.replaceAll(".", "\\.")}\\)`;
const WHEEL_LABEL = `files\\[0\\] \\(${WHEEL.replaceAll(".", "\\.")}\\)`;

for (const runtime of ["workerd", "deno", "bun"]) {
  test(`${runtime}: an asset host that stops sending (the whole GET of a streamed asset, a range read, the probe) fails the request within PYPUBLISH_TIMEOUT with a 502 naming the asset; its connection is let go and nothing is uploaded`, async () => {
    // The path's first segment says which of the sdist's requests gets no more bytes.
    const host = await stallingHost({ [WHEEL]: bytesOf(WHEEL), [SDIST]: bytesOf(SDIST) }, (name, range, url) => {
      if (name !== SDIST) return null;
      const mode = url.split("/")[1];
      if (mode === "probe" && range === "bytes=0-0") return "silent";
      if (mode === "range" && range && range !== "bytes=0-0") return "stall";
      if (mode === "whole" && !range) return "stall";
      return null;
    });
    const reg = await startPypiserver({ user: "st", password: "st-pw-7" });
    const proxy = await recordingProxy(reg.url);
    // Streamed (PYPUBLISH_HOLD_BYTES=0): the core's hashing pass reads the sdist whole, before
    // the wheel (sent first) is uploaded.
    let h;
    try {
      h = await startHook(runtime, hookEnv({ url: proxy.url, simple: reg.simple, user: "st", password: "st-pw-7" }, { ...DEV_LOCAL, PYPUBLISH_HOLD_BYTES: "0", PYPUBLISH_TIMEOUT: "2" }));
      for (const mode of ["whole", "range", "probe"]) {
        const started = Date.now();
        const r = await callHook(h.hook, { files: [{ url: `${host.base}${mode}/${WHEEL}` }, { url: `${host.base}${mode}/${SDIST}` }] }, { signal: AbortSignal.timeout(40_000) });
        const took = Date.now() - started;
        assert.equal(r.status, 502, `${mode}: ${r.text}`);
        assert.match(r.text, new RegExp(`no bytes from ${SDIST_LABEL} for 2 s`), mode);
        assert.ok(took < 20_000, `${mode}: answered after ${took} ms`);
        assert.ok(host.held.some((q) => q.name === SDIST), `${mode}: the host held a reply back`);
        assert.ok(await eventually(() => host.held.every((q) => q.closed), 10_000), `${mode}: the hook let go of the stalled connection`);
      }
      assert.equal(proxy.seen.filter((q) => q.method === "POST").length, 0, "nothing uploaded");
      assert.deepEqual(readdirSync(reg.packages), []);
      assert.doesNotMatch(h.child.stderrText, /unhandled|uncaught/i);
    } finally {
      await h?.stop();
      await proxy.stop();
      await reg.stop();
      await host.stop();
    }
  });
}

for (const runtime of ["workerd", "deno", "bun"]) {
  test(`${runtime}: a streamed asset whose download breaks off while it is sent is fetched again and uploaded: a cut download is not a changed file (hashing or sending)`, async () => {
    let wholeGets = 0;
    // The first whole GET (the body's, read once) breaks off half way; the next one is whole.
    const host = await stallingHost({ [WHEEL]: bytesOf(WHEEL) }, (name, range) => (range ? null : ++wholeGets === 1 ? "break" : null));
    const reg = await startPypiserver({ user: "br", password: "br-pw-3" });
    let h;
    try {
      h = await startHook(runtime, hookEnv({ url: reg.url, simple: reg.simple, user: "br", password: "br-pw-3" }, { ...DEV_LOCAL, PYPUBLISH_HOLD_BYTES: "0" }));
      const r = await callHook(h.hook, { files: [{ url: `${host.base}${WHEEL}`, sha256: sha256(bytesOf(WHEEL)) }] }, { signal: AbortSignal.timeout(60_000) });
      assert.equal(r.status, 200, r.text);
      // Deno sends the digests first (src/wasm/publish.rs): the read cut is the hashing pass,
      // made again before the one upload; elsewhere it is the upload's own, read once.
      const once = runtime !== "deno";
      assert.deepEqual(r.json.map((x) => [x.status, x.attempts]), [["uploaded", once ? 2 : 1]], r.text);
      assert.equal(wholeGets, once ? 2 : 3, "the cut read made again, once");
      assert.equal(sha256(readFileSync(join(reg.packages, WHEEL))), sha256(bytesOf(WHEEL)), "the registry has the whole file");
    } finally {
      await h?.stop();
      await reg.stop();
      await host.stop();
    }
  });
}

for (const runtime of ["workerd", "deno", "bun"]) {
  test(`${runtime}: a client that goes away stops the hook's asset requests at once (a streamed asset's hashing read, probes, held downloads), not at PYPUBLISH_TIMEOUT`, async () => {
    const host = await stallingHost({ [WHEEL]: bytesOf(WHEEL), [SDIST]: bytesOf(SDIST) }, (name, range, url) => {
      const mode = url.split("/")[1];
      if (mode === "probing" && range === "bytes=0-0") return "silent";
      if (mode !== "probing" && !range) return "stall";
      return null;
    });
    const reg = await startPypiserver({ user: "ab", password: "ab-pw-5" });
    try {
      // held: both assets fit in PYPUBLISH_HOLD_BYTES; streamed: neither does.
      for (const [mode, hold] of [["streamed", "0"], ["probing", "16MiB"], ["held", "16MiB"]]) {
        const h = await startHook(runtime, hookEnv({ url: reg.url, simple: reg.simple, user: "ab", password: "ab-pw-5" }, { ...DEV_LOCAL, PYPUBLISH_HOLD_BYTES: hold, PYPUBLISH_TIMEOUT: "60" }));
        try {
          const call = await abandonedCall(h.hook, { files: [{ url: `${host.base}${mode}/${WHEEL}` }, { url: `${host.base}${mode}/${SDIST}` }] });
          const mine = () => host.held.filter((q) => q.url.startsWith(`/${mode}/`));
          // Both probes, both held downloads; the sdist's hashing read (Deno: the wheel's too).
          assert.ok(await eventually(() => mine().length >= (mode === "streamed" ? 1 : 2), 20_000), `${mode}: the hook's requests reached the host`);
          assert.equal(call.reply(), "", "the hook is still waiting on the host");
          call.goAway();
          assert.ok(await eventually(() => mine().every((q) => q.closed), 10_000), `${mode}: the hook let go of the asset connections (${mine().filter((q) => !q.closed).length} of ${mine().length} still open)`);
          if (mode === "probing") {
            await new Promise((r) => setTimeout(r, 1000));
            assert.ok(!host.requests.some((q) => q.url.startsWith("/probing/") && !q.range), "nothing downloaded after the client went away");
          }
          assert.doesNotMatch(h.child.stderrText, /unhandled|uncaught/i);
        } finally {
          await h.stop();
        }
      }
      assert.deepEqual(readdirSync(reg.packages), [], "nothing uploaded");
    } finally {
      await reg.stop();
      await host.stop();
    }
  });
}

test("workerd: in a batch, the first asset that fails stops its siblings: the reply names it at once, not the one still downloading when PYPUBLISH_TIMEOUT ran out", async () => {
  // The wheel (files[0]) stalls; the sdist (files[1]) fails: its download (both held) in one
  // request, its probe in the other.
  const host = await stallingHost({ [WHEEL]: bytesOf(WHEEL), [SDIST]: bytesOf(SDIST) }, (name, range, url) => {
    const mode = url.split("/")[1];
    if (name === WHEEL) return mode === "probes" ? (range === "bytes=0-0" ? "silent" : null) : range ? null : "stall";
    return (mode === "probes") === (range === "bytes=0-0") ? "fail" : null;
  });
  const registry = await listener();
  let wd;
  try {
    wd = await startWorkerd(hookEnv(registry, { ...DEV_LOCAL, PYPUBLISH_TIMEOUT: "30" }));
    for (const [mode, why] of [
      ["downloads", "could not be fetched: fetching it gave HTTP 500"],
      ["probes", "could not be fetched: HTTP 500"],
    ]) {
      const started = Date.now();
      const r = await callHook(wd.hook, { files: [{ url: `${host.base}${mode}/${WHEEL}` }, { url: `${host.base}${mode}/${SDIST}` }] }, { signal: AbortSignal.timeout(70_000) });
      const took = Date.now() - started;
      assert.equal(r.status, 502, `${mode}: ${r.text}`);
      assert.match(r.json.error, new RegExp(`^${SDIST_LABEL} ${why}$`), mode);
      assert.doesNotMatch(r.text, new RegExp(WHEEL_LABEL));
      assert.ok(took < 10_000, `${mode}: answered after ${took} ms`);
      assert.ok(await eventually(() => host.held.every((q) => q.closed), 10_000), `${mode}: the wheel's request was stopped`);
    }
    assert.equal(registry.requests.length, 0, "nothing sent to the registry");
  } finally {
    await wd?.stop();
    await host.stop();
    await registry.stop();
  }
});

// ---------------------------------------------------------------------------------------------
// Finding 7: the relay leaked its settings and credentials.

test("workerd relay: refusals and failures echo no settings, credentials or network error; the upstream's Access-Control-Allow-Credentials is dropped; RELAY_TOKEN is enforced", async () => {
  const upstream = await startServer((req, res) =>
    res.writeHead(200, { "access-control-allow-credentials": "true", "access-control-allow-origin": "*", "set-cookie": "s=1", "content-type": "text/plain" }).end("OK"),
  );
  const dead = await freePort();
  const page = "http://page.example";
  const RELAY_TOKEN = "relay-token-for-tests-0123";
  const good = `${upstream.url}legacy/`;
  const wd = await startWorkerd({ RELAY_ALLOWED_ORIGINS: page, RELAY_UPSTREAMS: `${good},https://pypi.internal.corp.example/legacy/,http://127.0.0.1:${dead}/legacy/`, RELAY_TOKEN });
  const to = (u, headers = {}) => fetch(`${wd.relay}?upstream=${encodeURIComponent(u)}`, { method: "POST", headers: { origin: page, authorization: "Basic dXNlcjpwYXNzd29yZA==", ...headers }, body: "x" });
  const withToken = { "x-relay-token": RELAY_TOKEN };
  try {
    let r = await to(good);
    assert.equal(r.status, 401, "no token");
    r = await to(good, { "x-relay-token": "wrong-token-for-tests-0123" });
    assert.equal(r.status, 401, "a wrong token");
    assert.equal(upstream.requests.length, 0);

    r = await to("https://other.example/legacy/", withToken);
    assert.equal(r.status, 403);
    let text = await r.text();
    assert.ok(!text.includes("internal.corp") && !text.includes(String(upstream.port)) && !text.includes(String(dead)), text);

    r = await to(`http://127.0.0.1:${dead}/legacy/`, withToken);
    assert.equal(r.status, 502);
    text = await r.text();
    assert.deepEqual(JSON.parse(text), { error: "the registry could not be reached", hint: "try again later; if it persists, tell the relay's operator" });

    r = await to(good, withToken);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get("access-control-allow-credentials"), null);
    assert.equal(r.headers.get("access-control-allow-origin"), page);
    assert.equal(r.headers.get("set-cookie"), null);
    assert.equal(upstream.requests.length, 1);
    assert.equal(upstream.requests[0].headers["x-relay-token"], undefined, "the token stays at the relay");
  } finally {
    await wd.stop();
  }
  // Credentials in the settings are refused, and not repeated in the refusal.
  const bad = await startWorkerd({ RELAY_ALLOWED_ORIGINS: page, RELAY_UPSTREAMS: "https://user:upstream-pw-7@pypi.internal.example/legacy/" });
  try {
    const r = await fetch(`${bad.relay}?upstream=x`, { method: "POST", headers: { origin: page }, body: "x" });
    assert.equal(r.status, 500);
    const text = await r.text();
    assert.match(text, /RELAY_UPSTREAMS must not carry credentials/);
    assert.ok(!text.includes("upstream-pw-7") && !text.includes("internal"));
  } finally {
    await bad.stop();
    await upstream.stop();
  }
});

// ---------------------------------------------------------------------------------------------
// Finding 8: the demo relay was an open proxy.

test("demo relay (scripts/serve-www.mjs): forwards only to its one registry, under its path", async () => {
  const registry = await startServer((req, res) => res.writeHead(200).end("registry"));
  const other = await startServer((req, res) => res.writeHead(200).end("other"));
  const www = await serveWww({ registry: `${registry.url}root/` });
  try {
    const o = `127.0.0.1:${other.port}`;
    for (const path of [`registry/http://${o}/x`, `registry//${o}/x`, `registry/%2F%2F${o}/x`, `registry/http:%2F%2F${o}/x`, `registry/..%2F..%2Fadmin`, `registry/%2e%2e/admin`, `registry/\\\\${o}/x`]) {
      const r = await fetch(`${www.url}${path}`, { headers: { authorization: "Basic ZGVtbzpwdw==" } });
      await r.arrayBuffer();
      assert.ok(r.status === 404 || r.status === 400 || r.status === 200, `${path}: ${r.status}`);
    }
    assert.equal(other.requests.length, 0, "no other host was reached");
    assert.ok(registry.requests.every((q) => q.url.startsWith("/root/")), JSON.stringify(registry.requests.map((q) => q.url)));
    const r = await fetch(`${www.url}registry/simple/six/`);
    assert.equal(await r.text(), "registry");
    assert.equal(registry.requests.at(-1).url, "/root/simple/six/");
  } finally {
    await www.stop();
    await other.stop();
    await registry.stop();
  }
});
