// The fault suite (issue 9): the real CLI, and its Node transport on its own, against a
// raw-socket server (fault-server.mjs) that misbehaves on purpose, byte by byte, on 127.0.0.1.
// Every CLI case runs twice, `--json -vv` and human `-vv`, each against a fresh
// server, and asserts the exit code, every file's report, what the server stored (exactly once
// or not at all), and that no form of the password (raw, percent-encoded, Basic base64) and no
// raw control character appears in any output. Failure messages never quote the password
// either: they go through `shown()`, so a search of the test log for the canary finds nothing.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { getEventListeners } from "node:events";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";

import { nodeFetch, MAX_REPLY_BODY } from "../../bin/node-fetch.mjs";
import { faultServer, perRequest, sleep } from "./fault-server.mjs";
import { freePort, makeWheel, root } from "./servers.mjs";

const CLI = join(root, "bin/pypublish.mjs");
const corpus = join(root, "tests/fixtures/corpus");
const WHEEL = join(corpus, "six-1.16.0-py2.py3-none-any.whl");
const WHEEL2 = join(corpus, "pp_hatch_demo-1.2.3-py3-none-any.whl");
const SDIST = join(corpus, "pp_hatch_demo-1.2.3.tar.gz");
let BIG; // a 16 MiB wheel: more than loopback buffers hold while nobody reads
let BIG32; // 32 MiB, for a reader slow enough to outlast --timeout
let tmp;

const USER = "fault-user";
// The marker is unique to this file; the @ and / give the password distinct percent forms.
const MARKER = "Kx9canary";
const CANARY = `${MARKER}@pw/Zq`;

before(() => {
  tmp = mkdtempSync(join(tmpdir(), "faults-"));
  BIG = makeWheel(tmp, "bigfault", 16);
  BIG32 = makeWheel(tmp, "slowfault", 32);
});
after(() => rmSync(tmp, { recursive: true, force: true }));

const sha256 = (path) => createHash("sha256").update(readFileSync(path)).digest("hex");
const b64 = (s) => Buffer.from(s, "utf8").toString("base64");

/** Every form a password can leak in: raw, percent-encoded (two ways), Basic base64. */
function secretForms(user, password) {
  const forms = new Set([password, encodeURIComponent(password), b64(`${user}:${password}`)]);
  const u = new URL("http://h/");
  u.password = password;
  forms.add(u.password);
  if (password.length >= 8) forms.add(b64(password));
  return [...forms].filter((f) => f.length > 0);
}

/** Output made safe to quote in a failure message: secrets replaced, controls escaped. */
function shown(text, secrets = []) {
  let t = String(text);
  for (const s of [...secrets, ...secretForms(USER, CANARY), MARKER].sort((a, b) => b.length - a.length)) t = t.split(s).join("[SECRET]");
  t = t.length > 3000 ? `${t.slice(0, 3000)}…` : t;
  // JSON escapes C0 only; the test log must not drive the terminal either.
  return JSON.stringify(t).replace(/[\x7f-\x9f\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
const check = (cond, msg) => assert.ok(cond, msg);

// C0 (but tab and newline), DEL, C1, and the bidi overrides and isolates.
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/;

const cleanEnv = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !/^(TWINE_|PYPUBLISH_|UV_PUBLISH_|UV_TRUSTED|ACTIONS_ID_TOKEN|GITLAB_CI|CI_|PYPI_ID_TOKEN)/.test(k)),
);

/** Runs the CLI; `during(child, api)` may act while it runs (SIGINT). Killed after `limitMs`. */
function runCli(args, { env = {}, during, limitMs = 30_000 } = {}) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...cleanEnv, ...env, NO_COLOR: "1" }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let killed = false;
    let sigintAt;
    let exitAt;
    child.stdout.setEncoding("utf8").on("data", (d) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d) => (stderr += d));
    const killer = setTimeout(() => {
      killed = true;
      child.kill("SIGKILL");
    }, limitMs);
    child.on("exit", () => (exitAt = Date.now()));
    child.on("close", (code, signal) => {
      clearTimeout(killer);
      const json = [];
      const stray = [];
      for (const line of stdout.split("\n").filter((l) => l.trim())) {
        try {
          json.push(JSON.parse(line));
        } catch {
          stray.push(line);
        }
      }
      resolve({ code, signal, stdout, stderr, killed, json, stray, ms: Date.now() - started, afterSigint: sigintAt ? exitAt - sigintAt : undefined });
    });
    during?.(child, {
      sigint() {
        sigintAt = Date.now();
        child.kill("SIGINT");
      },
    });
  });
}

// -vv: the raw reply of every file, uploaded ones included. Each case scripts the upload's own
// exchange; the preflight GET has tests of its own (preflight.test.mjs), so it is off here.
const MODES = { json: ["--json", "-vv", "--no-preflight"], human: ["-vv", "--no-preflight"] };

/**
 * Runs one case in each mode against fresh servers. `script` serves the registry on 127.0.0.1;
 * `others` are more servers (`{ host, script }`, e.g. a trap on 127.0.0.2), reachable from the
 * scripts as `server.ctx.others`. `args(server, others)` gives the options after the mode's.
 */
async function drive({ script, others = [], files = [WHEEL], args, user = USER, password = CANARY, markers = [], env, during, limitMs, modes = ["json", "human"] }) {
  const runs = [];
  for (const mode of modes) {
    const extra = [];
    const srv = await faultServer(script);
    try {
      for (const o of others) extra.push(await faultServer(o.script ?? trapScript, { host: o.host ?? "127.0.0.1" }));
      srv.ctx = { others: extra };
      const base = args ? args(srv, extra) : ["--repository-url", srv.url, "-u", user, "-p", password, "--retries", "0"];
      const r = await runCli(["upload", ...MODES[mode], "--no-progress", ...base, ...files], { env, during: during && ((child, api) => during(child, api, srv, extra)), limitMs });
      runs.push({ mode, ...r, srv, others: extra, files, secrets: [...secretForms(user, password), ...markers] });
    } finally {
      await srv.stop();
      for (const e of extra) await e.stop();
    }
  }
  return runs;
}

/** Anything that reaches a trap is recorded and "stored", so a test can prove nothing did. */
const trapScript = perRequest(async (req, conn, server) => {
  await conn.readBody(req);
  if (req.method === "POST") server.store(req);
  conn.reply(req.method === "POST" ? 200 : 404, { "Content-Type": "text/plain" }, "trap");
});

/**
 * The assertions every case makes, per run: exit code, one report per file matching `reports`
 * (json) or an outcome line naming it (human), `stored` counts with the right bytes, no
 * secret, no control character, no stack trace, the CLI not killed.
 */
function expectRuns(runs, { code, reports = {}, stored = {}, markers = [MARKER], trapsEmpty = true }) {
  for (const run of runs) {
    const where = `[${run.mode}] stdout=${shown(run.stdout, run.secrets)} stderr=${shown(run.stderr, run.secrets)}`;
    check(!run.killed, `the CLI was still running after its time limit ${where}`);
    if (Array.isArray(code)) check(code.includes(run.code), `exit code ${run.code}, expected one of ${code} ${where}`);
    else check(run.code === code, `exit code ${run.code}, expected ${code} ${where}`);
    const out = run.stdout + run.stderr;
    for (const s of [...run.secrets, ...markers]) check(!out.includes(s), `a form of a password was printed (${run.secrets.indexOf(s) >= 0 ? `secret form #${run.secrets.indexOf(s)}` : "marker"}) ${where}`);
    check(!CONTROL.test(out), `a raw control character reached the terminal ${where}`);
    check(!/\n\s+at \S.*:\d+:\d+\)?\n/.test(`${run.stderr}\n`), `a stack trace was printed ${where}`);
    check(!/RangeError|EPIPE/.test(out), `a transport exception leaked ${where}`);

    const names = run.files.map((f) => basename(f));
    if (run.mode === "json") {
      check(run.stray.length === 0, `stdout has lines that are not JSON reports ${where}`);
      check(run.json.length === names.length, `${run.json.length} reports for ${names.length} files ${where}`);
      for (const name of names) {
        const rep = run.json.find((r) => r.filename === name);
        check(rep, `no report for ${name} ${where}`);
        const want = reports[name] ?? reports["*"];
        if (want && rep) matchReport(rep, want, `${name} ${where}`);
      }
    } else {
      for (const name of names) {
        const want = reports[name] ?? reports["*"];
        const esc = name.replace(/[.+]/g, "\\$&");
        check(new RegExp(esc).test(out), `${name} is not reported at all ${where}`);
        if (want?.status === "uploaded") check(new RegExp(`^uploaded\\s+${esc}`, "m").test(run.stdout), `${name} not shown as uploaded ${where}`);
        else check(!new RegExp(`^uploaded\\s+${esc}`, "m").test(out), `${name} shown as uploaded ${where}`);
      }
    }

    // What the registry stored: each expected file exactly as often as said, with our bytes.
    const want = Object.fromEntries(run.files.map((f) => [basename(f), 0]));
    Object.assign(want, stored);
    for (const [name, n] of Object.entries(want)) {
      const got = run.srv.stored.filter((s) => s.filename === name);
      check(got.length === n, `${name} stored ${got.length} times, expected ${n} [${run.mode}] ${where}`);
      const path = run.files.find((f) => basename(f) === name);
      for (const g of got) check(g.sha256 === sha256(path), `${name} stored with other bytes [${run.mode}]`);
    }
    check(run.srv.stored.every((s) => s.filename in want), `something unexpected was stored [${run.mode}]`);
    if (trapsEmpty) for (const o of run.others) check(o.connections === 0, `${o.origin} was connected to ${o.connections} times [${run.mode}] ${where}`);
    check(run.srv.errors.length === 0, `the fault script failed: ${run.srv.errors.map((e) => e.stack).join("; ")}`);
  }
}

/** `want`: exact values, arrays of allowed values, or regular expressions. */
function matchReport(rep, want, where) {
  for (const [k, v] of Object.entries(want)) {
    const got = rep[k];
    const ok = v instanceof RegExp ? typeof got === "string" && v.test(got) : Array.isArray(v) ? v.includes(got) : typeof v === "function" ? v(got) : got === v;
    check(ok, `report.${k} is ${shown(got)}, expected ${v instanceof RegExp || typeof v === "function" ? String(v) : JSON.stringify(v)} (${where})`);
  }
}

// --- registry scripts ---------------------------------------------------------------------

const TEXT = { "Content-Type": "text/plain; charset=utf-8" };

/** POSTs to `handler(req, conn, server, nthPost)`; any GET is a 404 (a project not there yet). */
const posts = (handler, { get } = {}) =>
  perRequest(async (req, conn, server) => {
    if (req.method !== "POST") {
      if (get) return get(req, conn, server);
      await conn.readBody(req);
      conn.reply(404, TEXT, "Not Found");
      return;
    }
    return handler(req, conn, server, server.posts().length);
  });

/** Reads the body; stores and says 200 when it came whole to /legacy/. */
async function accept(req, conn, server, extra = {}) {
  await conn.readBody(req);
  if (req.complete && req.path === "/legacy/") {
    server.store(req);
    conn.reply(200, { ...TEXT, ...extra }, "OK");
  } else {
    conn.reply(404, TEXT, "Not Found");
  }
}
const acceptAll = posts(accept);

/**
 * A reply, FIN at once, and the socket gone after `ms` (an RST, as the client is still sending).
 * An RST that overtakes a reply the client has not read yet destroys it in the client's kernel,
 * whatever the client: servers linger (nginx's lingering_close) so that it does not. The
 * default leaves a loaded machine time to read the reply; the transport test also closes at once.
 */
function replyAndClose(conn, status, headers, body, ms = 300) {
  conn.reply(status, { ...headers, Connection: "close" }, body);
  conn.closeAfter(ms);
  conn.hold();
}

const echoHead = (req) => `${req.head}\r\n\r\n(decoded: ${Buffer.from((req.headers.authorization ?? "").replace(/^Basic /, ""), "base64").toString("utf8")})`;

// --- the Node transport on its own ----------------------------------------------------------

/** A request as publish() makes it: a streamed body with an exact length. */
function streamRequest(url, size, { signal, onPull, onCancel } = {}) {
  let sent = 0;
  const body = new ReadableStream({
    pull(ctrl) {
      if (sent >= size) return ctrl.close();
      const n = Math.min(64 << 10, size - sent);
      sent += n;
      onPull?.(sent);
      ctrl.enqueue(new Uint8Array(n).fill(120));
    },
    cancel: () => onCancel?.(sent),
  });
  return new Request(url, { method: "POST", body, duplex: "half", signal, headers: { "Content-Type": "application/octet-stream", "Content-Length": String(size) } });
}
const get = (url, signal) => new Request(url, { method: "GET", signal });
const replyText = async (r) => Buffer.from((await readAll(r)).bytes).toString("latin1");
/** Everything a reply body gives before it ends or errors, and the error. */
async function readAll(r) {
  if (!(r instanceof Response)) return { bytes: r.body, truncated: !!r.truncated };
  const parts = [];
  const reader = r.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      parts.push(value);
    }
  } catch (error) {
    return { bytes: Buffer.concat(parts), error };
  }
  return { bytes: Buffer.concat(parts) };
}

describe("node-fetch: the CLI's transport", { concurrency: 2 }, () => {
  test("statuses 999, 600, 99, 0 and a word each resolve to a reply with the server's words", async () => {
    for (const [line, status] of [["HTTP/1.1 999 Odd", 999], ["HTTP/1.1 600 Beyond", 600], ["HTTP/1.1 99 Early", 99], ["HTTP/1.1 0 Zero", 0], ["HTTP/1.1 abc Weird", 0], ["HTTP/1.1 1000 Big", 0]]) {
      const srv = await faultServer(perRequest(async (req, conn) => conn.reply(line, TEXT, "the words")));
      try {
        const r = await nodeFetch(get(srv.url));
        assert.equal(r.status, status, line);
        assert.ok(!(r instanceof Response), `${line}: a plain reply (Response cannot carry it)`);
        assert.equal(await replyText(r), "the words", line);
        assert.ok(r.headers.some(([k, v]) => k === "content-type" && v.startsWith("text/plain")), line);
        if (/abc|1000/.test(line)) assert.match(r.statusText, /^(abc Weird|1000 Big)$/, "an unreadable status keeps its words");
      } finally {
        await srv.stop();
      }
    }
  });

  test("a reason phrase or a header value with control characters resolves to a reply, not a TypeError", async () => {
    const srv = await faultServer(
      perRequest(async (req, conn) => {
        if (req.path === "/reason") conn.reply("HTTP/1.1 400 \x1b[2J\x07Bad", TEXT, "bad");
        else conn.reply(307, { Location: "/legacy/\x1b]0;x\x07/" }, "");
      }),
    );
    try {
      const a = await nodeFetch(get(`${srv.origin}/reason`));
      assert.equal(a.status, 400);
      assert.equal(a.statusText, "\x1b[2J\x07Bad", "the words are kept; escaping is the engine's job");
      const b = await nodeFetch(get(`${srv.origin}/loc`));
      assert.equal(b.status, 307);
      const loc = b instanceof Response ? b.headers.get("location") : b.headers.find(([k]) => k === "location")?.[1];
      assert.equal(loc, "/legacy/\x1b]0;x\x07/");
    } finally {
      await srv.stop();
    }
  });

  test("a reply that is not HTTP rejects with an error that shows its first bytes escaped", async () => {
    const srv = await faultServer(async (conn) => {
      await conn.readHead();
      conn.write("SSH-2.0-OpenSSH_9.2\x1b[2J\r\n");
    });
    try {
      await assert.rejects(nodeFetch(get(srv.url)), (e) => {
        assert.equal(e.name, "TypeError");
        assert.match(e.cause.message, /not HTTP: "SSH-2\.0-OpenSSH_9\.2\\x1b\[2J\\x0d\\x0a"/);
        return true;
      });
    } finally {
      await srv.stop();
    }
  });

  test("an endless chunked body: the status at once, 1 MiB of body, the socket dropped", async () => {
    const srv = await faultServer(endlessChunked(400));
    try {
      const t = Date.now();
      const r = await nodeFetch(streamRequest(srv.url, 1000));
      assert.equal(r.status, 400);
      const { bytes, error } = await readAll(r);
      assert.equal(error, undefined);
      assert.equal(bytes.length, MAX_REPLY_BODY, "the body stops at the bound");
      assert.ok(Date.now() - t < 10_000);
      await sleep(50);
      assert.equal(srv.sockets.size, 0, "the connection was dropped");
      // A status Response cannot carry is read whole, to the same bound, and says so.
      const odd = await faultServer(endlessChunked(999));
      try {
        const p = await nodeFetch(streamRequest(odd.url, 1000));
        assert.equal(p.status, 999);
        assert.equal(p.truncated, true);
        assert.equal(p.body.length, MAX_REPLY_BODY);
      } finally {
        await odd.stop();
      }
    } finally {
      await srv.stop();
    }
  });

  test("a 413 sent before an 8 MiB body is read, then a close, resolves to the 413 and stops the body", async () => {
    for (const ms of [0, 50]) {
      const srv = await faultServer(async (conn) => {
        await conn.readHead();
        replyAndClose(conn, 413, TEXT, "Request Entity Too Large: 1 MiB at most", ms);
      });
      try {
        let pulled = 0;
        let cancelled = false;
        const r = await nodeFetch(streamRequest(srv.url, 8 << 20, { onPull: (n) => (pulled = n), onCancel: () => (cancelled = true) }));
        assert.equal(r.status, 413, `close after ${ms} ms`);
        assert.equal(await replyText(r), "Request Entity Too Large: 1 MiB at most");
        await sleep(50);
        assert.ok(cancelled, "the request body was cancelled");
        assert.ok(pulled < 8 << 20, `the body stopped (${pulled} bytes pulled)`);
      } finally {
        await srv.stop();
      }
    }
  });

  test("a reset in the middle of a reply body keeps the status and what came, then errors the body", async () => {
    const srv = await faultServer(async (conn) => {
      const req = await conn.request();
      conn.write(`HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 5000\r\n\r\n${"half ".repeat(100)}`);
      await sleep(100);
      conn.reset();
      return req;
    });
    try {
      const r = await nodeFetch(streamRequest(srv.url, 100));
      assert.equal(r.status, 400);
      const { bytes, error } = await readAll(r);
      assert.match(Buffer.from(bytes).toString(), /^half half/, "what came is readable");
      assert.ok(error, "and the body says it was cut short");
    } finally {
      await srv.stop();
    }
  });

  test("AbortSignal: before the start, while sending, while waiting, while reading the reply; no listener left", async () => {
    const phases = {
      // Never reads the body.
      sending: async (conn) => {
        await conn.readHead();
        conn.hold();
      },
      // Reads it all, never answers.
      waiting: async (conn) => {
        await conn.request();
        conn.hold();
      },
      // Answers half a body.
      reading: async (conn) => {
        await conn.request();
        conn.write("HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\nstart");
        conn.hold();
      },
    };
    const ac0 = new AbortController();
    ac0.abort();
    await assert.rejects(nodeFetch(get("http://127.0.0.1:9/", ac0.signal)), { name: "AbortError" });
    for (const [phase, script] of Object.entries(phases)) {
      const srv = await faultServer(script);
      try {
        const ac = new AbortController();
        const size = phase === "sending" ? 16 << 20 : 1000;
        // A Request follows the given signal with one of its own: that one is what fetch sees.
        const request = streamRequest(srv.url, size, { signal: ac.signal });
        const p = nodeFetch(request);
        await sleep(300);
        assert.equal(getEventListeners(request.signal, "abort").length, 1, `${phase}: listening while in flight`);
        const t = Date.now();
        ac.abort();
        if (phase === "reading") {
          // The head had come: the promise holds the reply, and its body is what aborts.
          const r = await p;
          assert.equal(r.status, 200);
          const { error } = await readAll(r);
          assert.equal(error?.name, "AbortError", phase);
        } else {
          await assert.rejects(p, { name: "AbortError" }, phase);
        }
        assert.ok(Date.now() - t < 1000, `${phase}: rejected at once`);
        assert.equal(getEventListeners(request.signal, "abort").length, 0, `${phase}: no listener left`);
        // The script stopped reading: drain what was sent, to see the client's end of it.
        for (const s of srv.sockets) s.removeAllListeners("data").resume();
        await sleep(100);
        assert.equal(srv.sockets.size, 0, `${phase}: the connection was closed`);
      } finally {
        await srv.stop();
      }
    }
    // And after a normal reply.
    const srv = await faultServer(acceptAll);
    try {
      const ac = new AbortController();
      const request = streamRequest(srv.url, 10, { signal: ac.signal });
      const r = await nodeFetch(request);
      assert.equal(r.status, 200);
      assert.equal(getEventListeners(request.signal, "abort").length, 1, "the body can still be aborted");
      assert.equal(await r.text(), "OK");
      assert.equal(getEventListeners(request.signal, "abort").length, 0, "no listener left once the reply is read");
      const failed = get("http://127.0.0.1:9/", ac.signal);
      await assert.rejects(nodeFetch(failed), { name: "TypeError" });
      assert.equal(getEventListeners(failed.signal, "abort").length, 0, "no listener left after a refused connection");
    } finally {
      await srv.stop();
    }
  });

  test("a GET on a kept-alive socket the server dropped is sent once more on a new one; a POST never reuses one", async () => {
    const srv = await faultServer(async (conn, server) => {
      // First request on each connection is answered and the connection kept; a second is reset.
      const req = await conn.request();
      if (!req) return;
      req.answered = true;
      conn.reply(404, { ...TEXT, "Keep-Alive": "timeout=60" }, "Not Found");
      conn.hold();
      const next = await conn.readHead();
      if (next) conn.reset();
    });
    try {
      for (let i = 0; i < 3; i++) assert.equal((await nodeFetch(get(`${srv.origin}/simple/x/`))).status, 404);
      assert.equal(srv.requests.filter((r) => r.answered).length, 3, "every GET was answered");
      const before = srv.connections;
      for (let i = 0; i < 2; i++) assert.equal((await nodeFetch(streamRequest(srv.url, 100))).status, 404);
      assert.equal(srv.connections - before, 2, "each body went on its own connection");
      assert.ok(srv.requests.filter((r) => r.method === "POST").every((r) => r.answered), "no POST met a stale socket");
    } finally {
      await srv.stop();
    }
  });
});

/** Headers, then chunks for as long as the client reads. */
function endlessChunked(status, headers = TEXT) {
  return async (conn) => {
    const req = await conn.readHead();
    if (!req) return;
    conn.hold();
    // The request body is drained in the background, as a server that answers early would.
    (async () => {
      while ((await conn.readSome(req)).length > 0);
    })();
    const head = `HTTP/1.1 ${status} Whatever\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join("")}Transfer-Encoding: chunked\r\n\r\n`;
    conn.socket.write(head);
    const chunk = Buffer.from(`4000\r\n${"error! ".repeat(2340)}xxxx\r\n`);
    while (!conn.socket.destroyed) {
      if (!conn.socket.write(chunk)) await new Promise((r) => conn.socket.once("drain", r).once("close", r));
    }
  };
}

// --- the CLI against misbehaving registries -------------------------------------------------

const SIX = basename(WHEEL);
const HATCH = basename(WHEEL2);
const HATCH_SDIST = basename(SDIST);
const bigName = () => basename(BIG);
const until = async (cond, ms = 10_000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("the awaited state never came");
    await sleep(20);
  }
};
const auth = (srv, more = []) => ["--repository-url", srv.url, "-u", USER, "-p", CANARY, ...more];
const basic = (user, password) => `Basic ${b64(`${user}:${password}`)}`;
/** Per-run extra checks, with the run's safe description on failure. */
const each = (runs, fn) => runs.forEach((run) => fn(run, `[${run.mode}] stdout=${shown(run.stdout, run.secrets)} stderr=${shown(run.stderr, run.secrets)}`));

describe("resets at every phase", { concurrency: 4 }, () => {
  test("reset on accept, every time: a network failure after each attempt, nothing stored", async () => {
    const runs = await drive({ script: (conn) => conn.reset(), args: (srv) => auth(srv, ["--retries", "1"]) });
    expectRuns(runs, { code: 1, reports: { [SIX]: { status: "failed", kind: "network", attempts: 2, error: /ECONNRESET|reset|hang up/i } } });
    each(runs, (r) => assert.equal(r.srv.connections, 2));
  });

  test("reset on accept once, then a normal reply: uploaded exactly once, on the second attempt", async () => {
    const runs = await drive({ script: (conn, server) => (conn.id === 1 ? conn.reset() : acceptAll(conn, server)), args: (srv) => auth(srv, ["--retries", "2"]) });
    expectRuns(runs, { code: 0, reports: { [SIX]: { status: "uploaded", attempts: 2 } }, stored: { [SIX]: 1 } });
  });

  test("reset while the request head arrives: retried, uploaded exactly once", async () => {
    const runs = await drive({
      script: async (conn, server) => {
        if (conn.id > 1) return acceptAll(conn, server);
        await conn.more();
        conn.reset();
      },
      args: (srv) => auth(srv, ["--retries", "2"]),
    });
    expectRuns(runs, { code: 0, reports: { [SIX]: { status: "uploaded", attempts: 2 } }, stored: { [SIX]: 1 } });
  });

  test("reset in the middle of the reply's headers (nothing stored): retried, uploaded exactly once", async () => {
    const runs = await drive({
      script: posts(async (req, conn, server, n) => {
        if (n > 1) return accept(req, conn, server);
        await conn.readBody(req);
        conn.write("HTTP/1.1 200 OK\r\nContent-Ty");
        await sleep(50);
        conn.reset();
      }),
      args: (srv) => auth(srv, ["--retries", "2"]),
    });
    expectRuns(runs, { code: 0, reports: { [SIX]: { status: "uploaded", attempts: 2 } }, stored: { [SIX]: 1 } });
  });

  test("reset in the middle of the request body: sent again whole, stored exactly once", async () => {
    const runs = await drive({
      script: posts(async (req, conn, server, n) => {
        if (n > 1) return accept(req, conn, server);
        await conn.readBody(req, { upTo: 4096 });
        conn.reset();
      }),
      args: (srv) => auth(srv, ["--retries", "2"]),
    });
    expectRuns(runs, { code: 0, reports: { [SIX]: { status: "uploaded", attempts: 2 } }, stored: { [SIX]: 1 } });
    each(runs, (r) => check(r.srv.posts()[1].complete, "the second attempt carried the whole body"));
  });

  test("reset after the whole body, the file stored: the retry's conflict naming our blake2 hash counts as uploaded", async () => {
    const runs = await drive({
      script: posts(async (req, conn, server, n) => {
        await conn.readBody(req);
        if (n === 1) {
          server.store(req);
          return conn.reset();
        }
        const msg = `File already exists ('${req.file.filename}', with blake2_256 hash '${req.fields.blake2_256_digest}'). See https://pypi.org/help/#file-name-reuse for more information.`;
        conn.reply(`HTTP/1.1 400 ${msg}`, { "Content-Type": "application/json" }, JSON.stringify({ message: msg, code: `400 ${msg}`, title: "Bad Request" }));
      }),
      args: (srv) => auth(srv, ["--retries", "2"]),
    });
    expectRuns(runs, { code: 0, reports: { [SIX]: { status: "uploaded", attempts: 2 } }, stored: { [SIX]: 1 } });
  });

  test("reset just after a whole 200: uploaded once, one attempt", async () => {
    const runs = await drive({
      script: posts(async (req, conn, server) => {
        await accept(req, conn, server);
        await sleep(20);
        conn.reset();
      }),
      args: (srv) => auth(srv, ["--retries", "2"]),
    });
    expectRuns(runs, { code: 0, reports: { [SIX]: { status: "uploaded", attempts: 1 } }, stored: { [SIX]: 1 } });
  });

  test("reset in the middle of an error reply's body: the 400 and its words are the outcome, no retry", async () => {
    const runs = await drive({
      script: posts(async (req, conn) => {
        await conn.readBody(req);
        conn.write("HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 2000\r\n\r\nInvalid distribution: the metadata is broken. ");
        await sleep(100);
        conn.reset();
      }),
      args: (srv) => auth(srv, ["--retries", "2"]),
    });
    expectRuns(runs, { code: 1, reports: { [SIX]: { status: "failed", httpStatus: 400, kind: "invalid", attempts: 1, serverMessage: /metadata is broken/ } } });
  });

  test("a close without a reply after the body: retried, uploaded exactly once", async () => {
    const runs = await drive({
      script: posts(async (req, conn, server, n) => {
        if (n > 1) return accept(req, conn, server);
        await conn.readBody(req);
        conn.end();
      }),
      args: (srv) => auth(srv, ["--retries", "1"]),
    });
    expectRuns(runs, { code: 0, reports: { [SIX]: { status: "uploaded", attempts: 2 } }, stored: { [SIX]: 1 } });
  });
});

describe("early replies, no reply, slow readers, stale keep-alive", { concurrency: 4 }, () => {
  test("413 before a 16 MiB body is read, then a close: HTTP 413 with the server's words, one attempt, no EPIPE", async () => {
    const runs = await drive({
      files: [BIG],
      script: posts(async (req, conn) => replyAndClose(conn, 413, TEXT, "Request Entity Too Large: uploads are limited to 1 MiB here")),
      args: (srv) => auth(srv, ["--retries", "2"]),
    });
    expectRuns(runs, { code: 1, reports: { [bigName()]: { status: "failed", httpStatus: 413, kind: "tooLarge", attempts: 1, serverMessage: /limited to 1 MiB/ } } });
    each(runs, (r, where) => check(r.srv.posts().length === 1 && /limited to 1 MiB/.test(r.stdout + r.stderr), `one POST, the words shown ${where}`));
  });

  test("401 before the body is read: HTTP 401 with the server's words, not retried", async () => {
    const runs = await drive({
      files: [BIG],
      script: posts(async (req, conn) => replyAndClose(conn, 401, { ...TEXT, "WWW-Authenticate": 'Basic realm="faults"' }, "Invalid or non-existent authentication information.")),
      args: (srv) => auth(srv, ["--retries", "2"]),
    });
    expectRuns(runs, { code: 1, reports: { [bigName()]: { status: "failed", httpStatus: 401, kind: "auth", attempts: 1, serverMessage: /non-existent authentication/ } } });
  });

  test("503 before the body is read, then a normal reply: retried, stored exactly once", async () => {
    const runs = await drive({
      files: [BIG],
      script: posts(async (req, conn, server, n) => (n > 1 ? accept(req, conn, server) : replyAndClose(conn, 503, TEXT, "down for maintenance"))),
      args: (srv) => auth(srv, ["--retries", "1"]),
    });
    expectRuns(runs, { code: 0, reports: { [bigName()]: { status: "uploaded", attempts: 2 } }, stored: { [bigName()]: 1 } });
  });

  test("no reply after the whole body: a timeout after --timeout, not uploaded, nothing stored", async () => {
    const runs = await drive({
      script: posts(async (req, conn) => {
        await conn.readBody(req);
        conn.hold();
        return "stop";
      }),
      args: (srv) => auth(srv, ["--retries", "0", "--timeout", "1"]),
      limitMs: 10_000,
    });
    expectRuns(runs, { code: 1, reports: { [SIX]: { status: "failed", kind: "timeout", attempts: 1 } } });
  });

  test("a server that never reads the body: a stall timeout, nothing stored", async () => {
    const runs = await drive({
      files: [BIG],
      script: posts(async (req, conn) => {
        conn.hold();
        return "stop";
      }),
      args: (srv) => auth(srv, ["--retries", "0", "--timeout", "1"]),
      limitMs: 10_000,
    });
    expectRuns(runs, { code: 1, reports: { [bigName()]: { status: "failed", kind: "timeout", attempts: 1 } } });
  });

  test("a server that stops reading after 1 MiB: a stall timeout, nothing stored", async () => {
    const runs = await drive({
      files: [BIG],
      script: posts(async (req, conn) => {
        await conn.readBody(req, { upTo: 1 << 20 });
        conn.hold();
        return "stop";
      }),
      args: (srv) => auth(srv, ["--retries", "0", "--timeout", "1"]),
      limitMs: 10_000,
    });
    expectRuns(runs, { code: 1, reports: { [bigName()]: { status: "failed", kind: "timeout", attempts: 1 } } });
  });

  // 10 MiB/s: the client sees its last bytes leave about 0.5 s before the server has read them
  // (loopback buffers hold ~5 MB), well inside --timeout 2; the whole body takes over 3 s.
  test("a slow reader whose bytes keep moving outlasts --timeout: uploaded once (a stall timeout, not a deadline)", async () => {
    const runs = await drive({
      files: [BIG32],
      script: posts(async (req, conn, server) => {
        await conn.readBody(req, { pace: { bytes: 1 << 20, ms: 100 } });
        req.readMs = Date.now() - req.at;
        server.store(req);
        conn.reply(200, TEXT, "OK");
      }),
      args: (srv) => auth(srv, ["--retries", "0", "--timeout", "2"]),
    });
    expectRuns(runs, { code: 0, reports: { [basename(BIG32)]: { status: "uploaded", attempts: 1 } }, stored: { [basename(BIG32)]: 1 } });
    // Only meaningful if the upload outlasted --timeout.
    each(runs, (r) => check(r.srv.posts()[0].readMs > 2500, `the body took ${r.srv.posts()[0].readMs} ms to read`));
  });

  test("a kept-alive connection the server drops between two uploads: each file stored once, one attempt each", async () => {
    const runs = await drive({
      files: [WHEEL, WHEEL2],
      script: async (conn, server) => {
        const req = await conn.request();
        if (!req) return;
        if (req.method === "POST" && req.complete) server.store(req);
        conn.reply(req.method === "POST" ? 200 : 404, TEXT, "OK");
        conn.hold();
        if (await conn.readHead()) conn.reset();
      },
      args: (srv) => auth(srv, ["--retries", "2"]),
    });
    expectRuns(runs, { code: 0, reports: { "*": { status: "uploaded", attempts: 1 } }, stored: { [SIX]: 1, [HATCH]: 1 } });
  });

  test("a kept-alive connection dropped before the second index lookup: both files looked up and stored once", async () => {
    const runs = await drive({
      files: [WHEEL, WHEEL2],
      script: async (conn, server) => {
        const req = await conn.request();
        if (!req) return;
        req.answered = true;
        if (req.method === "POST") {
          server.store(req);
          conn.reply(200, TEXT, "OK");
        } else {
          conn.reply(404, TEXT, "Not Found");
        }
        conn.hold();
        if (await conn.readHead()) conn.reset();
      },
      args: (srv) => auth(srv, ["--retries", "0", "--skip-existing", "--check-url", `${srv.origin}/simple/`]),
    });
    expectRuns(runs, { code: 0, reports: { "*": { status: "uploaded", attempts: 1 } }, stored: { [SIX]: 1, [HATCH]: 1 } });
    each(runs, (r) => assert.equal(r.srv.requests.filter((q) => q.method === "GET" && q.answered).length, 2, "both lookups answered"));
  });
});

/** POSTs to /legacy/ get `status` with `Location: where(server)`; the paths in `acceptAt` store. */
const redirecting = (status, where, { acceptAt = [] } = {}) =>
  posts(async (req, conn, server) => {
    await conn.readBody(req);
    if (acceptAt.includes(req.path) && req.complete) {
      server.store(req);
      return conn.reply(200, TEXT, "OK");
    }
    if (req.path === "/legacy/") return conn.reply(status, { ...TEXT, Location: typeof where === "function" ? where(server) : where }, "moved");
    conn.reply(404, TEXT, "Not Found");
  });

describe("redirects", { concurrency: 4 }, () => {
  test("307 to a relative path on the same origin: followed with the credentials, stored once there", async () => {
    const runs = await drive({ script: redirecting(307, "/upload/", { acceptAt: ["/upload/"] }) });
    expectRuns(runs, { code: 0, reports: { [SIX]: { status: "uploaded", attempts: 1 } }, stored: { [SIX]: 1 } });
    each(runs, (r) => {
      assert.deepEqual(r.srv.posts().map((q) => q.path), ["/legacy/", "/upload/"]);
      check(r.srv.posts()[1].headers.authorization === basic(USER, CANARY), "the same origin gets the credentials");
      assert.equal(r.srv.stored[0].path, "/upload/");
    });
  });

  test("308 to an absolute URL on the same origin: followed, stored once", async () => {
    const runs = await drive({ script: redirecting(308, (s) => `${s.origin}/v2/legacy/`, { acceptAt: ["/v2/legacy/"] }) });
    expectRuns(runs, { code: 0, reports: { [SIX]: { status: "uploaded", attempts: 1 } }, stored: { [SIX]: 1 } });
  });

  test("307 to ../upload/ resolves against the upload URL: followed, stored once", async () => {
    const runs = await drive({ script: redirecting(307, "../upload/", { acceptAt: ["/upload/"] }) });
    expectRuns(runs, { code: 0, reports: { [SIX]: { status: "uploaded", attempts: 1 } }, stored: { [SIX]: 1 } });
  });

  for (const status of [301, 302, 303]) {
    test(`${status} on the same origin is not followed (the POST would turn into a GET): a redirect failure naming the URL`, async () => {
      const runs = await drive({ script: redirecting(status, "/upload/", { acceptAt: ["/upload/"] }) });
      expectRuns(runs, { code: 1, reports: { [SIX]: { status: "failed", kind: "redirect", httpStatus: status } } });
      each(runs, (r, where) => {
        assert.equal(r.srv.posts().length, 1);
        check((r.stdout + r.stderr).includes(`${r.srv.origin}/upload/`), `the target is named ${where}`);
      });
    });
  }

  test("307 to another port: nothing reaches it; the failure names it", async () => {
    const runs = await drive({ others: [{}], script: redirecting(307, (s) => `${s.ctx.others[0].origin}/legacy/`) });
    expectRuns(runs, { code: 1, reports: { [SIX]: { status: "failed", kind: "redirect" } } });
    each(runs, (r, where) => check((r.stdout + r.stderr).includes(r.others[0].origin), `the other origin is named ${where}`));
  });

  test("307 to another host (127.0.0.2): nothing reaches it", async () => {
    const runs = await drive({ others: [{ host: "127.0.0.2" }], script: redirecting(307, (s) => `${s.ctx.others[0].origin}/legacy/`) });
    expectRuns(runs, { code: 1, reports: { [SIX]: { status: "failed", kind: "redirect" } } });
  });

  test("307 to http://127.0.0.2:P\\@127.0.0.1:P/legacy/: the host is 127.0.0.2, as fetch parses it, and nothing goes there", async () => {
    const runs = await drive({ others: [{ host: "127.0.0.2" }], script: redirecting(307, (s) => `http://127.0.0.2:${s.ctx.others[0].port}\\@127.0.0.1:${s.port}/legacy/`) });
    expectRuns(runs, { code: 1, reports: { [SIX]: { status: "failed", kind: "redirect" } } });
    each(runs, (r, where) => {
      assert.equal(r.srv.posts().length, 1);
      check((r.stdout + r.stderr).includes("127.0.0.2"), `the real host is named ${where}`);
    });
  });

  test("a protocol-relative Location (//127.0.0.2:P/legacy/): nothing reaches it", async () => {
    const runs = await drive({ others: [{ host: "127.0.0.2" }], script: redirecting(307, (s) => `//127.0.0.2:${s.ctx.others[0].port}/legacy/`) });
    expectRuns(runs, { code: 1, reports: { [SIX]: { status: "failed", kind: "redirect" } } });
  });

  test("a Location of \\\\127.0.0.2:P/legacy/ (backslashes: protocol-relative to fetch): nothing reaches 127.0.0.2", async () => {
    const runs = await drive({ others: [{ host: "127.0.0.2" }], script: redirecting(307, (s) => `\\\\127.0.0.2:${s.ctx.others[0].port}/legacy/`) });
    expectRuns(runs, { code: 1, reports: { [SIX]: { status: "failed", kind: "redirect" } } });
    each(runs, (r) => assert.equal(r.srv.posts().length, 1));
  });

  test("a repository URL with three slashes (http:///127.0.0.1:P/legacy/) means host 127.0.0.1, and a relative Location stays there", async () => {
    const runs = await drive({
      others: [{ host: "127.0.0.2" }],
      script: redirecting(307, "/upload/", { acceptAt: ["/upload/"] }),
      args: (srv) => ["--repository-url", `http:///127.0.0.1:${srv.port}/legacy/`, "-u", USER, "-p", CANARY, "--retries", "0"],
    });
    expectRuns(runs, { code: 0, reports: { [SIX]: { status: "uploaded" } }, stored: { [SIX]: 1 } });
    each(runs, (r) => assert.deepEqual(r.srv.posts().map((q) => q.path), ["/legacy/", "/upload/"]));
  });

  test("a redirect loop (/legacy/ → /b/ → /legacy/) is reported as a loop", async () => {
    const runs = await drive({
      script: posts(async (req, conn) => {
        await conn.readBody(req);
        conn.reply(307, { ...TEXT, Location: req.path === "/legacy/" ? "/b/" : "/legacy/" }, "moved");
      }),
    });
    expectRuns(runs, { code: 1, reports: { [SIX]: { status: "failed", kind: "redirect", hint: /loop/i } } });
    each(runs, (r) => check(r.srv.posts().length <= 6, `${r.srv.posts().length} POSTs`));
  });

  test("a 308 to itself is reported as a loop", async () => {
    const runs = await drive({ script: redirecting(308, (s) => s.url) });
    expectRuns(runs, { code: 1, reports: { [SIX]: { status: "failed", kind: "redirect", hint: /loop/i } } });
  });

  test("a Location with userinfo is not followed, and its password is never shown", async () => {
    const runs = await drive({ script: redirecting(307, (s) => `http://evil:Rd1rectPw@127.0.0.1:${s.port}/upload/`, { acceptAt: ["/upload/"] }), markers: ["Rd1rectPw"] });
    expectRuns(runs, { code: 1, reports: { [SIX]: { status: "failed", kind: "redirect" } } });
    each(runs, (r) => assert.equal(r.srv.posts().length, 1));
  });

  test("a Location with ESC and BEL: no control character reaches the terminal, nothing stored", async () => {
    const runs = await drive({ script: redirecting(307, "/legacy/\x1b]0;pwned\x07\x1b[2J/", { acceptAt: [] }) });
    expectRuns(runs, { code: 1, reports: { [SIX]: { status: "failed", kind: ["redirect", "notFound"] } } });
  });

  test("an empty Location: a redirect failure, not a crash or an endless loop", async () => {
    const runs = await drive({ script: redirecting(307, "") });
    expectRuns(runs, { code: 1, reports: { [SIX]: { status: "failed", kind: "redirect" } } });
    each(runs, (r) => check(r.srv.posts().length <= 6, `${r.srv.posts().length} POSTs`));
  });

  test("a 100 KiB Location to another host: nothing reaches it, no crash, and the output stays short", async () => {
    const runs = await drive({ others: [{ host: "127.0.0.2" }], script: redirecting(307, (s) => `${s.ctx.others[0].origin}/${"a".repeat(100 << 10)}`) });
    expectRuns(runs, { code: 1, reports: { [SIX]: { status: "failed", kind: "redirect" } } });
    each(runs, (r) => check(r.stdout.length + r.stderr.length < 16 << 10, `${r.stdout.length + r.stderr.length} characters of output`));
  });

  test("a Location to https on the same host and port (another origin) is not followed", async () => {
    const runs = await drive({ script: redirecting(307, (s) => `https://127.0.0.1:${s.port}/legacy/`) });
    expectRuns(runs, { code: 1, reports: { [SIX]: { status: "failed", kind: "redirect" } } });
    each(runs, (r) => assert.equal(r.srv.connections, 1));
  });

  for (const [what, loc] of [["file:", "file:///etc/passwd"], ["data:", "data:text/plain,uploaded"], ["javascript:", "javascript:alert(1)"]]) {
    test(`a Location to a ${what} URL is never followed`, async () => {
      const runs = await drive({ script: redirecting(308, loc) });
      expectRuns(runs, { code: 1, reports: { [SIX]: { status: "failed", kind: "redirect" } } });
      each(runs, (r) => assert.equal(r.srv.posts().length, 1));
    });
  }
});

describe("statuses and bodies", { concurrency: 4 }, () => {
  for (const [line, status] of [["HTTP/1.1 999 Odd Status", 999], ["HTTP/1.1 600 Beyond", 600], ["HTTP/1.1 99 Early", 99], ["HTTP/1.1 0 Zero", 0], ["HTTP/1.1 abc Weird", undefined]]) {
    test(`status line "${line}": a failed report with the server's words, exit 1, no crash`, async () => {
      const runs = await drive({
        script: posts(async (req, conn) => {
          await conn.readBody(req);
          conn.reply(line, TEXT, "the odd status body");
        }),
        args: (srv) => auth(srv, ["--retries", "1"]),
      });
      const want = { status: "failed", kind: "other", attempts: 1, serverMessage: /odd status body/ };
      if (status !== undefined) want.httpStatus = status;
      expectRuns(runs, { code: 1, reports: { [SIX]: want } });
    });
  }

  test("an HTML error page: its text, not its markup, is the server's message", async () => {
    const page = `<!DOCTYPE html><html><head><title>500 Internal Server Error</title><style>body{color:red}</style></head><body><h1>Internal Server Error</h1><p>The server encountered an internal error &amp; was unable to complete your request.</p><script>alert(1)</script></body></html>`;
    const runs = await drive({ script: posts(async (req, conn) => (await conn.readBody(req), conn.reply(500, { "Content-Type": "text/html" }, page))) });
    expectRuns(runs, { code: 1, reports: { [SIX]: { status: "failed", httpStatus: 500, kind: "server", serverMessage: /internal error & was unable/ } } });
    each(runs, (r) => r.json.forEach((rep) => check(!/<|alert\(1\)|color:red/.test(rep.serverMessage), `markup in ${shown(rep.serverMessage)}`)));
  });

  test("the HTML body that trapped decode_entities (&aaaaaaaaaa€) gives a report, not a crash", async () => {
    const runs = await drive({ script: posts(async (req, conn) => (await conn.readBody(req), conn.reply(400, { "Content-Type": "text/html" }, "<html><body>&aaaaaaaaaa€</body></html>"))) });
    expectRuns(runs, { code: 1, reports: { [SIX]: { status: "failed", httpStatus: 400, kind: "invalid" } } });
  });

  test("a JSON error body: its message is the server's message", async () => {
    const body = JSON.stringify({ message: "Invalid value for classifiers. Error: Classifier 'Frobnicate :: 1' is not a valid classifier." });
    const runs = await drive({ script: posts(async (req, conn) => (await conn.readBody(req), conn.reply(400, { "Content-Type": "application/json" }, body))) });
    expectRuns(runs, { code: 1, reports: { [SIX]: { status: "failed", httpStatus: 400, kind: "invalid", serverMessage: /Frobnicate :: 1/ } } });
  });

  test("an endless chunked error body: HTTP 400 is the outcome, no timeout, no retry", async () => {
    const runs = await drive({ script: endlessChunked(400), args: (srv) => auth(srv, ["--retries", "1", "--timeout", "5"]), limitMs: 20_000 });
    expectRuns(runs, { code: 1, reports: { [SIX]: { status: "failed", httpStatus: 400, kind: "invalid", attempts: 1, serverMessage: /error!/ } } });
  });

  test("a body that is not UTF-8: reported as text", async () => {
    const body = Buffer.concat([Buffer.from("Ung\xfcltige Datei \xff\xfe\x80 caf\xe9", "latin1")]);
    const runs = await drive({ script: posts(async (req, conn) => (await conn.readBody(req), conn.reply(400, { "Content-Type": "text/plain; charset=iso-8859-1" }, body))) });
    expectRuns(runs, { code: 1, reports: { [SIX]: { status: "failed", httpStatus: 400, serverMessage: /Ung.*ltige Datei/ } } });
  });

  test("ESC, BEL, CR, backspace, C1 and bidi overrides in the reason and body are escaped in every output; no fake 'uploaded' line", async () => {
    const utf8AsLatin1 = (s) => Buffer.from(s, "utf8").toString("latin1");
    const line = `HTTP/1.1 400 ${utf8AsLatin1("\x1b[2J\x07Bad \u202eRequest")}`;
    const body = `\x1b[2J\x1b[H\x1b]0;owned\x07\rfine\x08\x08\x08\x08 \u009b31m red \u202egnp.live\u202c \u2066iso\u2069\r\nuploaded  ${SIX}\n`;
    const runs = await drive({ script: posts(async (req, conn) => (await conn.readBody(req), conn.reply(line, TEXT, body))) });
    expectRuns(runs, { code: 1, reports: { [SIX]: { status: "failed", httpStatus: 400 } } });
  });

  test("a reply that echoes the request (Authorization) back: no form of the password in any output", async () => {
    const runs = await drive({ script: posts(async (req, conn) => (await conn.readBody(req), conn.reply(400, TEXT, echoHead(req)))) });
    expectRuns(runs, { code: 1, reports: { [SIX]: { status: "failed", httpStatus: 400, serverMessage: /Authorization/i } } });
  });

  test("a 200 that echoes the request: uploaded, and the raw reply in --verbose is masked", async () => {
    const runs = await drive({
      script: posts(async (req, conn, server) => {
        await conn.readBody(req);
        server.store(req);
        conn.reply(200, TEXT, echoHead(req));
      }),
    });
    expectRuns(runs, { code: 0, reports: { [SIX]: { status: "uploaded", response: (r) => typeof r === "object" && /Authorization/i.test(r.body) } }, stored: { [SIX]: 1 } });
  });

  test("reply headers that carry the credentials are masked in --json --verbose", async () => {
    const runs = await drive({
      script: posts(async (req, conn) => {
        await conn.readBody(req);
        const decoded = Buffer.from(req.headers.authorization.replace(/^Basic /, ""), "base64").toString("utf8");
        conn.reply(403, { ...TEXT, "X-Echo-Authorization": req.headers.authorization, "X-Echo-User": encodeURIComponent(decoded), "Set-Cookie": `session=${encodeURIComponent(decoded)}` }, "denied");
      }),
    });
    expectRuns(runs, { code: 1, reports: { [SIX]: { status: "failed", httpStatus: 403, kind: "auth", response: (r) => typeof r === "object" && r.headers.some(([k]) => k === "x-echo-authorization") } } });
  });

  test("a 200 with an HTML sign-in page (an SSO proxy) is not counted as uploaded", async () => {
    const page = `<!DOCTYPE html><html><head><title>Sign in - Corp SSO</title></head><body><form method="post" action="/sso/login"><label>Username <input name="username"></label><label>Password <input type="password" name="password"></label><button type="submit">Sign in</button></form></body></html>`;
    const runs = await drive({ script: posts(async (req, conn) => (await conn.readBody(req), conn.reply(200, { "Content-Type": "text/html; charset=utf-8" }, page))) });
    expectRuns(runs, { code: 1, reports: { [SIX]: { status: "failed", hint: /sign.?in|log.?in|SSO|single sign-on|proxy/i } } });
  });
});

describe("Retry-After, the index, concurrency", { concurrency: 4 }, () => {
  const busyThenOk = (status, retryAfter) =>
    posts(async (req, conn, server, n) => {
      if (n > 1) return accept(req, conn, server);
      await conn.readBody(req);
      conn.reply(status, { ...TEXT, "Retry-After": retryAfter() }, "busy, come back later");
      req.repliedAt = Date.now();
    });
  const gap = (r) => r.srv.posts()[1].at - r.srv.posts()[0].repliedAt;

  test("503 with Retry-After: 1, then 200: waits about a second, uploaded once on the second attempt", async () => {
    const runs = await drive({ script: busyThenOk(503, () => "1"), args: (srv) => auth(srv, ["--retries", "1"]) });
    expectRuns(runs, { code: 0, reports: { [SIX]: { status: "uploaded", attempts: 2 } }, stored: { [SIX]: 1 } });
    each(runs, (r) => check(gap(r) >= 900, `waited ${gap(r)} ms`));
  });

  test("429 with Retry-After as an HTTP-date 3 s ahead: waits until then, uploaded once", async () => {
    const runs = await drive({ script: busyThenOk(429, () => new Date(Date.now() + 3000).toUTCString()), args: (srv) => auth(srv, ["--retries", "1"]) });
    expectRuns(runs, { code: 0, reports: { [SIX]: { status: "uploaded", attempts: 2 } }, stored: { [SIX]: 1 } });
    // The date has whole seconds: the wait is between 2 and 3 s; back-off alone is at most 1 s.
    each(runs, (r) => check(gap(r) >= 1800, `waited ${gap(r)} ms`));
  });

  const lookup = (get) => posts(accept, { get });
  const checkArgs = (more = []) => (srv) => auth(srv, ["--retries", "0", "--skip-existing", "--check-url", `${srv.origin}/simple/`, ...more]);

  test("--check-url answering 500 is never taken as absent: nothing sent, an index-check failure", async () => {
    const runs = await drive({ script: lookup(async (req, conn) => conn.reply(500, TEXT, "index broken")), args: checkArgs() });
    expectRuns(runs, { code: 1, reports: { [SIX]: { status: "failed", kind: "indexCheck", attempts: 0 } } });
    each(runs, (r) => assert.equal(r.srv.posts().length, 0));
  });

  test("--check-url answering something that is not an index is never taken as absent", async () => {
    const runs = await drive({ script: lookup(async (req, conn) => conn.reply(200, { "Content-Type": "application/vnd.pypi.simple.v1+json" }, Buffer.from("\x00\xffgarbage{", "latin1"))), args: checkArgs() });
    expectRuns(runs, { code: 1, reports: { [SIX]: { status: "failed", kind: "indexCheck", attempts: 0 } } });
    each(runs, (r) => assert.equal(r.srv.posts().length, 0));
  });

  test("--check-url that never answers: a timeout, never taken as absent", async () => {
    const runs = await drive({ script: lookup(async (req, conn) => (conn.hold(), "stop")), args: checkArgs(["--timeout", "1"]), limitMs: 10_000 });
    expectRuns(runs, { code: 1, reports: { [SIX]: { status: "failed", kind: ["indexCheck", "timeout"], attempts: 0 } } });
    each(runs, (r) => assert.equal(r.srv.posts().length, 0));
  });

  test("--check-url with nothing listening: never taken as absent", async () => {
    const closed = await freePort();
    const runs = await drive({ script: acceptAll, args: (srv) => auth(srv, ["--retries", "0", "--skip-existing", "--check-url", `http://127.0.0.1:${closed}/simple/`]) });
    expectRuns(runs, { code: 1, reports: { [SIX]: { status: "failed", kind: ["indexCheck", "network"], attempts: 0 } } });
    each(runs, (r) => assert.equal(r.srv.posts().length, 0));
  });

  test("--check-url answering 404 (no such project yet): uploaded once", async () => {
    const runs = await drive({ script: acceptAll, args: checkArgs() });
    expectRuns(runs, { code: 0, reports: { [SIX]: { status: "uploaded", attempts: 1 } }, stored: { [SIX]: 1 } });
    each(runs, (r) => assert.equal(r.srv.requests[0].path, "/simple/six/"));
  });

  test("--check-url http://127.0.0.2:P\\@127.0.0.1:P/simple/: the lookup goes to 127.0.0.2, as fetch parses it, without the credentials", async () => {
    const runs = await drive({
      others: [{ host: "127.0.0.2" }],
      script: acceptAll,
      args: (srv, [trap]) => auth(srv, ["--retries", "0", "--skip-existing", "--check-url", `http://127.0.0.2:${trap.port}\\@127.0.0.1:${srv.port}/simple/`]),
    });
    expectRuns(runs, { code: 0, reports: { [SIX]: { status: "uploaded" } }, stored: { [SIX]: 1 }, trapsEmpty: false });
    each(runs, (r) => {
      check(r.others[0].requests.every((q) => !q.headers.authorization), "credentials went to 127.0.0.2");
      check(r.others[0].stored.length === 0, "nothing stored at 127.0.0.2");
      check(r.srv.requests.filter((q) => q.method === "GET").length === 0, "the lookup did not go to 127.0.0.1");
    });
  });

  test("--concurrency 2 sends two files at once; one refused, the other stored once, exit 1", async () => {
    const runs = await drive({
      files: [WHEEL, WHEEL2],
      script: posts(async (req, conn, server) => {
        const st = (server.state ??= { inflight: 0, max: 0 });
        st.inflight++;
        st.max = Math.max(st.max, st.inflight);
        await conn.readBody(req);
        const end = Date.now() + 2000;
        while (st.max < 2 && Date.now() < end) await sleep(20);
        st.inflight--;
        if (req.file.filename === SIX) return conn.reply(400, { "Content-Type": "application/json" }, JSON.stringify({ message: "Invalid version: refused by the faults suite" }));
        server.store(req);
        conn.reply(200, TEXT, "OK");
      }),
      args: (srv) => auth(srv, ["--retries", "0", "--concurrency", "2"]),
    });
    expectRuns(runs, { code: 1, reports: { [SIX]: { status: "failed", httpStatus: 400, kind: "invalid", serverMessage: /refused by the faults suite/ }, [HATCH]: { status: "uploaded", attempts: 1 } }, stored: { [HATCH]: 1 } });
    each(runs, (r) => assert.equal(r.srv.state.max, 2, "two uploads were in flight at once"));
  });

  test("--concurrency 2 with one connection reset mid-body: both stored exactly once", async () => {
    const runs = await drive({
      files: [WHEEL, WHEEL2],
      script: posts(async (req, conn, server, n) => {
        if (n > 1) return accept(req, conn, server);
        await conn.readBody(req, { upTo: 1024 });
        conn.reset();
      }),
      args: (srv) => auth(srv, ["--retries", "2", "--concurrency", "2"]),
    });
    expectRuns(runs, { code: 0, reports: { "*": { status: "uploaded" } }, stored: { [SIX]: 1, [HATCH]: 1 } });
    each(runs, (r) => r.mode === "json" && assert.equal(r.json.reduce((a, x) => a + x.attempts, 0), 3));
  });
});

// Alone, so that the time to exit measures the CLI and not a machine busy with other cases.
describe("cancellation", { concurrency: 1 }, () => {
  test("SIGINT while a file is being sent: exit within 2 s; the first file uploaded, the one in flight cancelled, the last not sent", async (t) => {
    const runs = await drive({
      files: [WHEEL, BIG, SDIST],
      script: posts(async (req, conn, server, n) => {
        if (n === 1) return accept(req, conn, server);
        await conn.readBody(req, { upTo: 1 << 20 });
        conn.hold();
        return "stop";
      }),
      args: (srv) => auth(srv, ["--retries", "2", "--timeout", "60"]),
      during: async (child, { sigint }, srv) => {
        await until(() => srv.posts().length === 2 && srv.posts()[1].bodyLength >= 1 << 20);
        sigint();
      },
      limitMs: 15_000,
    });
    // Exit 130, as a shell reports a command stopped by Ctrl-C; each file told what became of it.
    expectRuns(runs, {
      code: 130,
      reports: {
        [SIX]: { status: "uploaded" },
        [bigName()]: { status: "failed", kind: "cancelled", error: /may or may not have stored it/ },
        [HATCH_SDIST]: { status: "failed", kind: "cancelled", error: /cancelled before it was sent/ },
      },
      stored: { [SIX]: 1 },
    });
    each(runs, (r) => t.diagnostic(`[${r.mode}] exited ${r.afterSigint} ms after SIGINT`));
    each(runs, (r) => check(r.afterSigint < 2000, `exited ${r.afterSigint} ms after SIGINT`));
  });

  test("SIGINT during a Retry-After wait: exit within 2 s, every file reported, nothing stored", async (t) => {
    const runs = await drive({
      files: [WHEEL, SDIST],
      script: posts(async (req, conn) => {
        await conn.readBody(req);
        conn.reply(503, { ...TEXT, "Retry-After": "20" }, "busy");
        req.repliedAt = Date.now();
      }),
      args: (srv) => auth(srv, ["--retries", "3"]),
      during: async (child, { sigint }, srv) => {
        await until(() => srv.posts()[0]?.repliedAt);
        await sleep(300);
        sigint();
      },
      limitMs: 6000,
    });
    expectRuns(runs, { code: 130, reports: { [SIX]: { status: "failed", kind: "cancelled" }, [HATCH_SDIST]: { status: "failed", kind: "cancelled", error: /cancelled before it was sent/ } } });
    each(runs, (r) => t.diagnostic(`[${r.mode}] exited ${r.afterSigint} ms after SIGINT`));
    each(runs, (r) => check(r.afterSigint < 2000, `exited ${r.afterSigint} ms after SIGINT`));
  });
});

describe("credentials", { concurrency: 4 }, () => {
  const echo400 = posts(async (req, conn) => (await conn.readBody(req), conn.reply(400, TEXT, echoHead(req))));

  for (const [what, password] of [["1-character", "¤"], ["3-character", "Q^|"]]) {
    test(`a ${what} password echoed back is masked in every output`, async () => {
      const runs = await drive({ script: echo400, password, args: (srv) => ["--repository-url", srv.url, "-u", USER, "-p", password, "--retries", "0"] });
      expectRuns(runs, { code: 1, reports: { [SIX]: { status: "failed", httpStatus: 400 } }, markers: [] });
      each(runs, (r) => check(r.srv.posts()[0].headers.authorization === basic(USER, password), "the short password was sent"));
    });
  }

  test("http://u:p@ss@host/: user u, password p@ss… sent, and no part of it shown", async () => {
    const password = `Zp@ss-${MARKER}`;
    const runs = await drive({
      script: posts(async (req, conn, server) => {
        await conn.readBody(req);
        server.store(req);
        conn.reply(200, TEXT, echoHead(req));
      }),
      user: "u",
      password,
      args: (srv) => ["--repository-url", `http://u:${password}@127.0.0.1:${srv.port}/legacy/`, "--retries", "0"],
    });
    expectRuns(runs, { code: 0, reports: { [SIX]: { status: "uploaded" } }, stored: { [SIX]: 1 } });
    each(runs, (r) => check(r.srv.posts()[0].headers.authorization === basic("u", password), "the credentials as WHATWG splits them"));
  });

  test("http:/u:pw@host/ (one slash) is read as fetch reads it, and the password is never shown", async () => {
    const password = `P1sl-${MARKER}`;
    const runs = await drive({
      script: acceptAll,
      user: "u",
      password,
      args: (srv) => ["--repository-url", `http:/u:${password}@127.0.0.1:${srv.port}/legacy/`, "--retries", "0"],
    });
    expectRuns(runs, { code: 0, reports: { [SIX]: { status: "uploaded" } }, stored: { [SIX]: 1 } });
    each(runs, (r) => check(r.srv.posts()[0]?.headers.authorization === basic("u", password), "the credentials as WHATWG splits them"));
  });

  test("a token echoed back is masked, raw and as Basic __token__:…", async () => {
    const token = `pypi-${MARKER}AgEIcHlwaS5vcmcCJGZhdWx0cw`;
    const runs = await drive({ script: echo400, user: "__token__", password: token, args: (srv) => ["--repository-url", srv.url, "--token", token, "--retries", "0"] });
    expectRuns(runs, { code: 1, reports: { [SIX]: { status: "failed", httpStatus: 400 } } });
  });
});

test("pypublish check FILES | head -1 ends quietly: no EPIPE, no stack trace", async () => {
  const files = [WHEEL, WHEEL2, SDIST, ...["Jinja2-2.11.3-py2.py3-none-any.whl", "packaging-25.0-py3-none-any.whl", "six-1.9.0.tar.gz", "uuid-1.30.tar.gz", "pp_flit_demo-2.0.0b1.tar.gz", "pp_poetry_demo-0.3.0.tar.gz"].map((f) => join(corpus, f))];
  const quote = (s) => `'${s.replace(/'/g, "'\\''")}'`;
  const r = await new Promise((resolve) => {
    const child = spawn("bash", ["-c", `set -o pipefail; ${quote(process.execPath)} ${quote(CLI)} check ${files.map(quote).join(" ")} | head -1`], { env: cleanEnv });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
  assert.match(r.stdout, /^ok\s+\S+\n$/, "one line");
  assert.equal(r.stderr, "", "nothing on stderr");
  assert.ok([0, 141].includes(r.code), `exit ${r.code}: success, or the shell's SIGPIPE status`);
});
