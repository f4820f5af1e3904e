// The fault suite (issue 9): the real CLI, and its Node transport on its own, against a
// raw-socket server (fault-server.mjs) that misbehaves on purpose, byte by byte, on 127.0.0.1.
// Every CLI case runs twice, `--json --verbose` and human `--verbose`, each against a fresh
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
import net from "node:net";
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
let tmp;

const USER = "fault-user";
// The marker is unique to this file; the @ and / give the password distinct percent forms.
const MARKER = "Kx9canary";
const CANARY = `${MARKER}@pw/Zq`;

before(() => {
  tmp = mkdtempSync(join(tmpdir(), "faults-"));
  BIG = makeWheel(tmp, "bigfault", 16);
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
  return JSON.stringify(t);
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

const MODES = { json: ["--json", "--verbose"], human: ["--verbose"] };

/**
 * Runs one case in each mode against fresh servers. `script` serves the registry on 127.0.0.1;
 * `others` are more servers (`{ host, script }`, e.g. a trap on 127.0.0.2), reachable from the
 * scripts as `server.ctx.others`. `args(server, others)` gives the options after the mode's.
 */
async function drive({ script, others = [], files = [WHEEL], args, user = USER, password = CANARY, env, during, limitMs, modes = ["json", "human"] }) {
  const runs = [];
  for (const mode of modes) {
    const extra = [];
    const srv = await faultServer(script);
    try {
      for (const o of others) extra.push(await faultServer(o.script ?? trapScript, { host: o.host ?? "127.0.0.1" }));
      srv.ctx = { others: extra };
      const base = args ? args(srv, extra) : ["--repository-url", srv.url, "-u", user, "-p", password, "--retries", "0"];
      const r = await runCli(["upload", ...MODES[mode], "--no-progress", ...base, ...files], { env, during: during && ((child, api) => during(child, api, srv, extra)), limitMs });
      runs.push({ mode, ...r, srv, others: extra, files, secrets: secretForms(user, password) });
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
    for (const s of [...run.secrets, ...markers]) check(!out.includes(s), `a form of the password was printed (${run.secrets.indexOf(s) >= 0 ? `secret form #${run.secrets.indexOf(s)}` : "marker"}) ${where}`);
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
    if (trapsEmpty) for (const o of run.others.filter((o) => o.host !== "127.0.0.1" || o.trap)) check(o.connections === 0, `${o.origin} was connected to ${o.connections} times [${run.mode}] ${where}`);
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

/** A reply then the socket gone: FIN at once, RST once `ms` passed (the client may still be sending). */
function replyAndClose(conn, status, headers, body, ms = 50) {
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
const replyText = async (r) => (r instanceof Response ? await r.text() : Buffer.from(r.body).toString("latin1"));

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

  test("an endless chunked body resolves promptly with the first 1 MiB, truncated, status kept", async () => {
    const srv = await faultServer(endlessChunked(400));
    try {
      const t = Date.now();
      const r = await nodeFetch(streamRequest(srv.url, 1000));
      assert.equal(r.status, 400);
      assert.equal(r.truncated, true);
      const body = r instanceof Response ? new Uint8Array(await r.arrayBuffer()) : r.body;
      assert.equal(body.length, MAX_REPLY_BODY);
      assert.ok(Date.now() - t < 10_000);
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

  test("a reset in the middle of a reply body keeps the status and what came, marked truncated", async () => {
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
      assert.equal(r.truncated, true);
      assert.match(await replyText(r), /^half half/);
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
        await assert.rejects(p, { name: "AbortError" }, phase);
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
      assert.equal(getEventListeners(request.signal, "abort").length, 0, "no listener left after a reply");
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
