// Running the edge workers (edge/) for the tests: workerd from npm, Deno and Bun, each in its own
// process group, with the hook's signing done the way a client does it.
import { spawn } from "node:child_process";
import { createServer, request as httpRequest } from "node:http";
import { connect } from "node:net";
import { once } from "node:events";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { root, freePort, startServer } from "./servers.mjs";
import { workerdConfig } from "../../edge/workerd-config.mjs";
import { signRequest } from "../../edge/hook.js";

export const SECRET = "hook-secret-for-tests";
export const WEBHOOK_SECRET = "github-webhook-secret-for-tests";
/** The development settings that let the hook reach test servers on 127.0.0.1 over HTTP. */
export const DEV_LOCAL = { PYPUBLISH_DEV_ALLOW_HTTP: "1", PYPUBLISH_DEV_ALLOW_PRIVATE: "1" };

export async function waitListening(url, child, what) {
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

export function spawnLogged(cmd, args, env) {
  // Its own process group: npm's launchers (deno) start the real binary as a child, which a
  // signal to the launcher alone would orphan, holding our pipes open.
  const child = spawn(cmd, args, { env: { ...process.env, NO_COLOR: "1", ...env }, stdio: ["ignore", "pipe", "pipe"], detached: true });
  const signal = (sig) => {
    try {
      process.kill(-child.pid, sig);
    } catch {}
  };
  child.stderrText = "";
  child.stdoutText = "";
  child.stderr.on("data", (d) => (child.stderrText += d));
  child.stdout.on("data", (d) => (child.stdoutText += d));
  child.exited = new Promise((r) => child.once("exit", (code) => r(code)));
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

/**
 * workerd serving the hook and the relay, configured by `env`. `dev` (default): the development
 * entry and a network that reaches 127.0.0.1; `dev: false`: the production entry, with
 * `network` "all" when the test needs a local registry.
 */
export async function startWorkerd(env, { dev = true, network } = {}) {
  const [hookPort, relayPort] = [await freePort(), await freePort()];
  const dir = join(root, "target/workerd");
  mkdirSync(dir, { recursive: true });
  const config = join(dir, `config-${hookPort}.capnp`);
  writeFileSync(config, workerdConfig({ hookPort, relayPort, dir, env, dev, network }));
  // The binary itself, not npm's Node launcher, so that its RSS is workerd's.
  const child = spawnLogged(join(root, "node_modules/@cloudflare/workerd-linux-64/bin/workerd"), ["serve", config], env);
  const hook = `http://127.0.0.1:${hookPort}/`;
  const relay = `http://127.0.0.1:${relayPort}/`;
  await waitListening(hook, child, "workerd");
  return { hook, relay, child, stop: child.stop };
}

/** The hook served by `runtime` (workerd, deno or bun) with `env`, the development entry unless `dev: false`. */
export async function startHook(runtime, env, { dev = true, network } = {}) {
  if (runtime === "workerd") return startWorkerd(env, { dev, network });
  const port = await freePort();
  const serve = [join(root, "edge/serve.mjs"), "hook", String(port), ...(dev ? ["--dev"] : [])];
  const args = runtime === "deno" ? ["run", "--quiet", "--allow-net", "--allow-read", "--allow-env", ...serve] : serve;
  const child = spawnLogged(join(root, "node_modules/.bin", runtime), args, env);
  const hook = `http://127.0.0.1:${port}/`;
  await waitListening(hook, child, runtime);
  return { hook, child, stop: child.stop };
}

/** Kernel's peak and current resident set of a process, in MiB. */
export function rss(pid) {
  const s = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (k) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(s)[1]) / 1024;
  return { peak: kb("VmHWM"), now: kb("VmRSS") };
}

/** The relay served by `runtime` (workerd, deno or bun) with `env`. */
export async function startRelay(runtime, env) {
  if (runtime === "workerd") return startWorkerd(env);
  const port = await freePort();
  const serve = [join(root, "edge/serve.mjs"), "relay", String(port)];
  const args = runtime === "deno" ? ["run", "--quiet", "--allow-net", "--allow-read", "--allow-env", ...serve] : serve;
  const child = spawnLogged(join(root, "node_modules/.bin", runtime), args, env);
  const relay = `http://127.0.0.1:${port}/`;
  await waitListening(relay, child, runtime);
  return { relay, child, stop: child.stop };
}

/** Posts our signed JSON; `timestamp`, `secret` and `headers` override the signing; `signal` ends the call. Returns the status, the JSON and the headers sent. */
export async function callHook(hook, body, { secret = SECRET, timestamp, headers = {}, signal } = {}) {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  const signed = await signRequest(secret, text, timestamp);
  const sent = { "content-type": "application/json", ...signed, ...headers };
  return post(hook, text, sent, { signal });
}

/**
 * Posts our signed JSON over a connection of its own and leaves it open; `goAway()` then drops
 * it with a TCP reset, as a client that gives up. A local workerd notices only a reset: after a
 * plain close (FIN) the client could still be reading, so it keeps working on the request.
 */
export async function abandonedCall(hook, body) {
  const text = JSON.stringify(body);
  const signed = await signRequest(SECRET, text);
  const u = new URL(hook);
  const socket = connect(Number(u.port), u.hostname);
  socket.on("error", () => {});
  await once(socket, "connect");
  const head = { host: u.host, "content-type": "application/json", ...signed, "content-length": Buffer.byteLength(text) };
  socket.write(`POST /publish HTTP/1.1\r\n${Object.entries(head).map(([k, v]) => `${k}: ${v}\r\n`).join("")}\r\n${text}`);
  let reply = "";
  socket.on("data", (d) => (reply += d));
  return { goAway: () => socket.resetAndDestroy(), reply: () => reply };
}

/** Posts `text` with exactly `headers` (a replay sends the same ones again). */
export async function post(hook, text, headers, { signal } = {}) {
  const r = await fetch(`${hook}publish`, { method: "POST", headers, body: text, signal });
  const raw = await r.text();
  let json;
  try {
    json = JSON.parse(raw);
  } catch {
    json = { raw };
  }
  return { status: r.status, json, text: raw, headers };
}

/**
 * Release assets as a host serves them (exact Content-Length, Range requests), recording every
 * request with its headers. `files` maps a name to bytes. Misbehaviour for the attack tests:
 * `changed(name, bytes)` gives the bytes of the full reads from the `changedFrom`-th on (1: a
 * host that serves other bytes than the range reads and the sha256 given; 2: one that changes
 * a file between the hash pass and the body pass); `rangePadding` bytes of junk follow every
 * range reply (a host that ignores the range's end), and `rangeBytesSent` records how many
 * bytes each range reply got into the socket before the client stopped reading.
 */
export async function assetHost(files, { changed, changedFrom = 2, rangePadding = 0 } = {}) {
  const requests = [];
  const rangeBytesSent = [];
  const fullReads = {};
  const server = createServer(async (req, res) => {
    requests.push({ method: req.method, url: req.url, headers: req.headers });
    const name = decodeURIComponent(req.url.slice(1));
    let bytes = files[name];
    if (bytes === undefined) return res.writeHead(404).end("no such asset");
    const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? "");
    if (!m) {
      if (req.method === "GET") fullReads[name] = (fullReads[name] ?? 0) + 1;
      if (fullReads[name] >= changedFrom && changed) bytes = changed(name, bytes);
      res.writeHead(200, { "content-length": bytes.length, "accept-ranges": "bytes" });
      return res.end(req.method === "HEAD" ? undefined : bytes);
    }
    const [s, e] = [Number(m[1]), Math.min(Number(m[2]), bytes.length - 1)];
    const body = Buffer.concat([bytes.subarray(s, e + 1), Buffer.alloc(rangePadding, 0x5a)]);
    res.writeHead(206, { "content-length": body.length, "content-range": `bytes ${s}-${e}/${bytes.length}`, "accept-ranges": "bytes" });
    if (!rangePadding) return res.end(body);
    // Written in pieces as the socket drains, so the count is what the client was willing to take.
    const record = { range: req.headers.range, sent: 0 };
    rangeBytesSent.push(record);
    let closed = false;
    res.on("close", () => (closed = true));
    for (let at = 0; at < body.length && !closed; at += 1 << 16) {
      const piece = body.subarray(at, at + (1 << 16));
      record.sent += piece.length;
      if (!res.write(piece)) await new Promise((r) => (res.once("drain", r), res.once("close", r)));
    }
    res.end();
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return {
    base: `http://127.0.0.1:${server.address().port}/`,
    requests,
    rangeBytesSent,
    stop: () => new Promise((r) => (server.closeAllConnections(), server.close(r))),
  };
}

/**
 * Release assets as a host serves them (exact Content-Length, Range requests), except where
 * `how(name, range, url)` (range null for a whole GET) says otherwise: "silent" sends nothing at all,
 * "stall" the reply's headers and its first 100 bytes, then nothing more; "break" the headers and
 * the first half, then resets the connection; "fail" answers 500.
 * The last path segment names the file, so a test can give each request a path of its own.
 * `requests` records each request; `held` each silent or stalled reply, with `closed` once the
 * client has let go of its connection.
 */
export async function stallingHost(files, how = () => null) {
  const requests = [];
  const held = [];
  const server = createServer((req, res) => {
    const name = decodeURIComponent(req.url.split("/").pop());
    const range = req.headers.range ?? null;
    requests.push({ url: req.url, name, range });
    const bytes = files[name];
    if (bytes === undefined) return res.writeHead(404).end("no such asset");
    const m = /^bytes=(\d+)-(\d+)$/.exec(range ?? "");
    const [s, e] = m ? [Number(m[1]), Math.min(Number(m[2]), bytes.length - 1)] : [0, bytes.length - 1];
    const kind = how(name, range, req.url);
    if (kind === "fail") return res.writeHead(500).end("broken");
    if (kind === "silent" || kind === "stall") {
      const rec = { url: req.url, name, range, kind, closed: false };
      held.push(rec);
      res.on("close", () => (rec.closed = true));
      if (kind === "silent") return;
    }
    res.writeHead(m ? 206 : 200, { "content-length": e - s + 1, "accept-ranges": "bytes", ...(m ? { "content-range": `bytes ${s}-${e}/${bytes.length}` } : {}) });
    if (kind === "stall") return res.write(bytes.subarray(s, Math.min(e + 1, s + 100)));
    if (kind === "break") return res.write(bytes.subarray(s, s + ((e - s + 1) >> 1)), () => setTimeout(() => res.destroy(), 50));
    res.end(bytes.subarray(s, e + 1));
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return {
    base: `http://127.0.0.1:${server.address().port}/`,
    requests,
    held,
    stop: () => new Promise((r) => (server.closeAllConnections(), server.close(r))),
  };
}

/** Waits until `cond()` holds, checking every 50 ms for at most `ms`; true if it came to hold. */
export async function eventually(cond, ms) {
  for (const end = Date.now() + ms; Date.now() < end; ) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return cond();
}

/**
 * A stand-in for api.github.com (the hook reaches it only through PYPUBLISH_DEV_GITHUB_API): a
 * release-asset API URL whose id is in `assets` answers with a redirect there, as GitHub's
 * answers with one to its storage.
 */
export async function fakeGithubApi(assets) {
  return startServer((req, res) => {
    const m = /^\/repos\/([^/]+\/[^/]+)\/releases\/assets\/(\d+)$/.exec(req.url);
    const to = m && assets[m[2]];
    if (!to || req.headers.accept !== "application/octet-stream") return res.writeHead(404, { "content-type": "application/json" }).end('{"message": "Not Found"}');
    res.writeHead(302, { location: to }).end();
  });
}

/** In front of `upstream`: forwards each request, recording what arrived and whether it ended. */
export async function recordingProxy(upstream) {
  const seen = [];
  const target = new URL(upstream);
  const server = createServer((req, res) => {
    const rec = { method: req.method, contentType: req.headers["content-type"] ?? "", chunks: [], complete: false };
    seen.push(rec);
    const up = httpRequest({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: { ...req.headers, host: target.host } }, (r) => {
      res.writeHead(r.statusCode, r.headers);
      r.pipe(res);
    });
    up.on("error", () => res.destroy());
    req.on("data", (c) => rec.chunks.push(c));
    req.on("end", () => (rec.complete = true));
    // A cut request is cut upstream too, as it would be without the proxy.
    req.on("close", () => rec.complete || up.destroy());
    req.pipe(up);
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${server.address().port}/`, seen, stop: () => new Promise((r) => (server.closeAllConnections(), server.close(r))) };
}

/** A multipart field's value in a recorded upload (`rec` from `recordingProxy`), and whether it follows the file part. */
export function formField(rec, name) {
  const body = Buffer.concat(rec.chunks).toString("latin1");
  const at = body.indexOf(`name="${name}"`);
  if (at < 0) return undefined;
  const start = body.indexOf("\r\n\r\n", at) + 4;
  return { value: body.slice(start, body.indexOf("\r\n--", start)), afterFile: at > body.indexOf('name="content"') };
}
