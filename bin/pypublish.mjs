#!/usr/bin/env node
// pypublish CLI (Node >= 20), a thin shell over the wasm package: arguments, environment,
// file globbing, .pypirc, and output. Every decision about files, forms and replies is made
// in the core; this file only words progress and outcomes for a terminal.
import { openAsBlob, readFileSync, readdirSync, statSync, existsSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { homedir } from "node:os";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { setFlagsFromString } from "node:v8";

import * as core from "../pkg/pypublish.js";
import { nodeFetch } from "./node-fetch.mjs";
import { CHUNK } from "./buffer-pool.mjs";
import { dropAhead, onBodyEnd, openFile, readAhead } from "./file-source.mjs";
import { nodeHasher, workerHasher } from "./hash-worker.mjs";

// At most this much of the next file is read ahead while the registry stores one: that many
// pooled 1 MiB buffers are held until sent, the memory of a batch's upload, not of one file's.
const READ_AHEAD = 16 * CHUNK;

const { default: init, inspect, planUpload, publish, sendOrder } = core;

const USAGE = `usage: pypublish upload [options] [FILES or globs, default dist/*]
       pypublish check [--online] FILES... validate distributions (--online: and the registry settings, sending nothing)
       pypublish inspect [--json] FILES... show metadata and the form an upload would send

upload options:
  --repository-url URL, --publish-url URL   upload URL (default https://upload.pypi.org/legacy/)
  -r, --repository NAME      a section of ~/.pypirc (pypi, testpypi, or your own)
  -u, --username USER        -p, --password PASS        -t, --token TOKEN
                             (a value that starts with "-": --password=-VALUE)
  --skip-existing            files already there count as skipped (a different file still fails)
  --check-url URL            a simple index to look each file up in (by sha256) before sending
  --trusted-publishing MODE  auto (default), always or never: PyPI/TestPyPI tokens from the CI's OIDC identity
  --dry-run                  prepare everything, send nothing (no request at all)
  --no-preflight             skip the check, before the first byte, that the URL, credentials and
                             permission are right (one GET, or none for PyPI)
  --digests-first            send the digest fields before the file (the file is then read twice)
  --retries N                retries after network errors, 5xx, 408, 429 (default 3)
  --timeout SECONDS          give up on an attempt after this long without progress (default 300)
  --concurrency N            uploads at once (default 1)
  --json                     one JSON object per file on stdout, nothing on stderr
  -q, --quiet                outcomes only: no progress, no summary
  -v, --verbose              also the target, each file's sha256 and attempts, and the raw reply
                             of every file not uploaded; -vv: the raw reply of every file
  --no-progress              no progress lines (they are only drawn on a terminal anyway)
output: colours only on a terminal, never with NO_COLOR set. Exit codes: 0 all uploaded or
  skipped, 1 any failed, 2 usage errors, 141 stdout closed early (e.g. | head).
environment: PYPUBLISH_REPOSITORY_URL, PYPUBLISH_USERNAME, PYPUBLISH_PASSWORD, PYPUBLISH_TOKEN,
  TWINE_REPOSITORY_URL, TWINE_USERNAME, TWINE_PASSWORD, UV_PUBLISH_URL, UV_PUBLISH_USERNAME,
  UV_PUBLISH_PASSWORD, UV_PUBLISH_TOKEN, PYPUBLISH_CHECK_URL, UV_PUBLISH_CHECK_URL,
  PYPUBLISH_TRUSTED_PUBLISHING, UV_TRUSTED_PUBLISHING, PYPIRC, NO_COLOR,
  PYPUBLISH_HASH_WORKER=0 (hash on the main thread, not in a worker thread; -vv shows where)`;

const OPTIONS = {
  "repository-url": { type: "string" },
  "publish-url": { type: "string" },
  repository: { type: "string", short: "r" },
  username: { type: "string", short: "u" },
  password: { type: "string", short: "p" },
  token: { type: "string", short: "t" },
  "skip-existing": { type: "boolean" },
  "check-url": { type: "string" },
  "trusted-publishing": { type: "string" },
  "dry-run": { type: "boolean" },
  "no-preflight": { type: "boolean" },
  "digests-first": { type: "boolean" },
  online: { type: "boolean" },
  retries: { type: "string" },
  timeout: { type: "string" },
  concurrency: { type: "string" },
  json: { type: "boolean" },
  quiet: { type: "boolean", short: "q" },
  verbose: { type: "boolean", short: "v", multiple: true },
  "no-progress": { type: "boolean" },
  help: { type: "boolean", short: "h" },
};

// twine's and uv's defaults for `-r pypi` / `-r testpypi` without a ~/.pypirc.
const KNOWN_REPOSITORIES = {
  pypi: "https://upload.pypi.org/legacy/",
  testpypi: "https://test.pypi.org/legacy/",
};

class UsageError extends Error {}

// The core masks credentials in everything it returns and escapes control characters; these
// come from it too, so every shell shows text, URLs and file kinds the same way.
const { sanitize, sanitizeBlock, redactUrl, isDistributionName, describeDist } = core;

// ---------- terminal output ----------

/** Every string the CLI prints that it did not write itself goes through one of these two. */
const clean = (text) => sanitize(String(text ?? ""));
const cleanBlock = (text) => sanitizeBlock(String(text ?? ""));

/** Colours for one stream: only on a terminal, and never with NO_COLOR (no-color.org) or TERM=dumb. */
function palette(stream) {
  const on = !!stream.isTTY && !process.env.NO_COLOR && process.env.TERM !== "dumb";
  const sgr = (code) => (text) => (on && text !== "" ? `\x1b[${code}m${text}\x1b[0m` : text);
  return { on, green: sgr(32), yellow: sgr(33), red: sgr(31), cyan: sgr(36), dim: sgr(2), bold: sgr(1) };
}

function fmtBytes(n) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) (n /= 1024), i++;
  return i === 0 ? `${n} B` : `${n.toFixed(1)} ${units[i]}`;
}

function fmtDuration(s) {
  if (!Number.isFinite(s)) return "--:--";
  s = Math.max(0, Math.round(s));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

/** Shortens a file name in the middle so the version and tags at its end stay visible. */
function fit(name, width) {
  if (name.length <= width) return name.padEnd(width);
  const head = Math.ceil((width - 1) / 2);
  return `${name.slice(0, head)}…${name.slice(name.length - (width - 1 - head))}`;
}

/**
 * The live part of a terminal run, as uv draws it: one line per file being hashed or sent,
 * with bytes done of the total, the rate over the last seconds and the time left. Redrawn in
 * place; `clear()` removes it before the outcomes are printed.
 */
class ProgressBoard {
  constructor(stream, colors, concurrency) {
    this.stream = stream;
    this.c = colors;
    this.concurrency = concurrency;
    this.rows = new Map();
    this.drawn = 0;
    this.last = 0;
    this.pending = null;
    // Redraws during a stall, so the rate falls and the time left grows rather than freeze.
    this.ticker = setInterval(() => this.render(), 500);
    this.ticker.unref();
  }

  update({ filename, phase, done, total }) {
    const now = performance.now();
    let row = this.rows.get(filename);
    if (!row || row.phase !== phase) {
      if (phase === "upload") this.dropSent();
      row = { phase, start: now, samples: [], total, done: 0 };
      this.rows.delete(filename);
      this.rows.set(filename, row);
    }
    row.done = done;
    row.total = total;
    row.samples.push([now, done]);
    while (row.samples.length > 2 && now - row.samples[0][0] > 3000) row.samples.shift();
    if (done >= total) row.end ??= now;
    // At most ten redraws a second; a phase that ends is drawn at once.
    if (done >= total || now - this.last > 100) this.render();
    else this.pending ??= setTimeout(() => this.render(), 100);
  }

  /** Files sent earlier have had their reply by the time more uploads start than run at once. */
  dropSent() {
    const sent = [...this.rows].filter(([, r]) => r.phase === "upload" && r.end !== undefined);
    for (const [name] of sent.slice(0, Math.max(0, sent.length - this.concurrency + 1))) this.rows.delete(name);
  }

  line(name, r, cols, nameLen) {
    const now = performance.now();
    if (r.end !== undefined) {
      const secs = (r.end - r.start) / 1000;
      const [verb, tail] = r.phase === "hash" ? ["hashed   ", ""] : ["sent     ", ", waiting for the reply"];
      return `${verb} ${fit(name, Math.min(nameLen, Math.max(12, cols - 45)))}  ${fmtBytes(r.total)} in ${secs.toFixed(1)} s${tail}`;
    }
    const verb = r.phase === "hash" ? "hashing  " : "uploading";
    const [t0, d0] = r.samples[0];
    const span = (now - t0) / 1000;
    const rate = span > 0.05 ? (r.done - d0) / span : NaN;
    const eta = rate > 0 ? (r.total - r.done) / rate : NaN;
    const amount = `${fmtBytes(r.done)}/${fmtBytes(r.total)}`.padStart(19);
    const speed = (Number.isFinite(rate) ? `${fmtBytes(rate)}/s` : "--").padStart(11);
    const stats = `${amount} ${speed}  ETA ${fmtDuration(eta)}`;
    // What is left after the verb and the figures goes to the name first, then to a bar.
    const avail = cols - 1 - verb.length - 1 - stats.length - 2;
    const barWidth = avail >= nameLen + 12 ? Math.min(30, avail - nameLen - 1) : 0;
    const nameWidth = barWidth ? nameLen : Math.max(12, avail);
    const frac = r.total ? Math.min(1, r.done / r.total) : 1;
    const filled = Math.round(frac * barWidth);
    const bar = barWidth ? ` ${this.c.cyan("━".repeat(filled))}${this.c.dim("─".repeat(barWidth - filled))}` : "";
    return `${verb} ${fit(name, nameWidth)}${bar}  ${stats}`;
  }

  render() {
    clearTimeout(this.pending);
    this.pending = null;
    this.last = performance.now();
    // Nothing to draw and nothing to erase: no stray escape before the next printed line.
    if (!this.rows.size && !this.drawn) return;
    const cols = this.stream.columns || 80;
    const names = [...this.rows.keys()].map(clean);
    const nameLen = Math.max(...names.map((n) => n.length));
    const lines = [...this.rows.values()].map((r, i) => this.line(names[i], r, cols, nameLen));
    this.stream.write(`${this.drawn ? `\r\x1b[${this.drawn}A` : "\r"}\x1b[J${lines.map((l) => `${l}\n`).join("")}`);
    this.drawn = lines.length;
  }

  /** Takes the board off the screen until the next render(), to print a line above it. */
  hide() {
    if (this.drawn) this.stream.write(`\r\x1b[${this.drawn}A\x1b[J`);
    this.drawn = 0;
  }

  clear() {
    clearInterval(this.ticker);
    clearTimeout(this.pending);
    this.hide();
  }
}

// ---------- arguments and settings ----------

function parseCommandLine(argv) {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (e) {
    if (String(e.code).startsWith("ERR_PARSE_ARGS")) throw new UsageError(e.message);
    throw e;
  }
  const v = parsed.values;
  const [cmd, ...files] = parsed.positionals;
  if (v["repository-url"] !== undefined && v["publish-url"] !== undefined && v["repository-url"] !== v["publish-url"]) {
    throw new UsageError("--repository-url and --publish-url name the same setting: give one");
  }
  if (v.quiet && v.verbose) throw new UsageError("--quiet and --verbose contradict each other: give one");
  const opts = {
    cmd,
    files,
    repositoryUrl: v["repository-url"] ?? v["publish-url"],
    repository: v.repository,
    username: v.username,
    password: v.password,
    token: v.token,
    skipExisting: !!v["skip-existing"],
    checkUrl: v["check-url"],
    trustedPublishing: v["trusted-publishing"],
    dryRun: !!v["dry-run"],
    preflight: !v["no-preflight"],
    digestsFirst: !!v["digests-first"],
    online: !!v.online,
    json: !!v.json,
    noProgress: !!v["no-progress"],
    help: !!v.help,
    // 0 outcomes only, 1 default, 2 -v, 3 -vv.
    level: v.quiet ? 0 : 1 + (v.verbose?.length ?? 0),
  };
  for (const [k, min] of [["retries", 0], ["timeout", 1], ["concurrency", 1]]) {
    if (v[k] === undefined) continue;
    const n = Number(v[k]);
    if (v[k].trim() === "" || !Number.isFinite(n) || n < min) throw new UsageError(`--${k} takes a number of at least ${min}, got ${JSON.stringify(clean(v[k]))}`);
    opts[k] = n;
  }
  return opts;
}

// Shells expand globs; this covers quoted ones and Windows (`*` and `?` in the last part).
function expand(patterns) {
  const out = [];
  for (const p of patterns.length ? patterns : ["dist/*"]) {
    const name = basename(p);
    if (!/[*?]/.test(name)) {
      if (!existsSync(p)) throw new UsageError(`no such file: ${p}`);
      out.push(p);
      continue;
    }
    const dir = dirname(p);
    const re = new RegExp("^" + name.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".") + "$");
    let entries = [];
    try {
      entries = readdirSync(dir);
    } catch {
      throw new UsageError(`no files match ${p} (no directory ${dir})`);
    }
    // dist/* also holds attestations and signatures: only distributions are uploaded.
    const matched = entries.filter((e) => re.test(e) && isDistributionName(e)).map((e) => join(dir, e)).filter((f) => statSync(f).isFile());
    if (matched.length === 0) throw new UsageError(`no distributions match ${p}`);
    out.push(...matched.sort());
  }
  return [...new Set(out)];
}

function readPypirc(section) {
  const path = process.env.PYPIRC ?? join(homedir(), ".pypirc");
  let text;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    if (KNOWN_REPOSITORIES[section]) return { repository: KNOWN_REPOSITORIES[section] };
    throw new UsageError(`-r ${section}: no ${path} to read it from`);
  }
  const sections = {};
  let cur = null;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith("#") || line.startsWith(";")) continue;
    const m = line.match(/^\[(.+)\]$/);
    if (m) {
      cur = sections[m[1].trim()] = {};
    } else if (cur) {
      const i = line.search(/[:=]/);
      if (i > 0) cur[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
    }
  }
  const s = sections[section];
  if (!s) {
    if (KNOWN_REPOSITORIES[section]) return { repository: KNOWN_REPOSITORIES[section] };
    throw new UsageError(`-r ${section}: no [${section}] section in ${path}`);
  }
  return { repository: s.repository ?? KNOWN_REPOSITORIES[section], username: s.username, password: s.password };
}

function settings(opts) {
  const env = process.env;
  const rc = opts.repository ? readPypirc(opts.repository) : {};
  const first = (...xs) => xs.find((x) => x !== undefined && x !== "");
  return {
    repositoryUrl: first(opts.repositoryUrl, rc.repository, env.PYPUBLISH_REPOSITORY_URL, env.TWINE_REPOSITORY_URL, env.UV_PUBLISH_URL, KNOWN_REPOSITORIES.pypi),
    username: first(opts.username, rc.username, env.PYPUBLISH_USERNAME, env.TWINE_USERNAME, env.UV_PUBLISH_USERNAME),
    password: first(opts.password, rc.password, env.PYPUBLISH_PASSWORD, env.TWINE_PASSWORD, env.UV_PUBLISH_PASSWORD),
    token: first(opts.token, env.PYPUBLISH_TOKEN, env.UV_PUBLISH_TOKEN),
  };
}

// ---------- upload ----------

function outcomeLines(r, size, out, err) {
  const [stream, text] = outcome(r, size, out, err);
  // What PyPI's checks found that does not stop the upload, under the file's line.
  const warnings = (r.warnings ?? []).map((w) => `  ${stream.c.yellow("warning:")} ${clean(w)}`);
  return [stream, [text, ...warnings].join("\n")];
}

function outcome(r, size, out, err) {
  const name = clean(r.filename);
  if (r.status === "uploaded") return [out, `${out.c.green("uploaded")}  ${name}${size !== undefined ? out.c.dim(`  ${fmtBytes(size)}`) : ""}`];
  if (r.status === "skipped") {
    const why = r.hint ?? r.serverMessage;
    // A name the registry has, not shown to be this file, is never a plain "skipped".
    const unverified = r.verified === false ? ` ${out.c.yellow("(not verified to be this file)")}` : "";
    return [out, `${out.c.yellow("skipped")}   ${name}${unverified}${why ? `: ${clean(why)}` : ""}`];
  }
  const status = r.httpStatus ? `HTTP ${r.httpStatus}` : clean(r.kind ?? "error");
  const lines = [`${err.c.red("failed")}    ${name}: ${status}`];
  // The server's own words, labelled as such: advice in them ("start server with --overwrite")
  // is addressed to whoever runs the registry, not to the uploader. Several lines stay several
  // lines, each indented under the label, so none can pass for an outcome line.
  if (r.serverMessage) lines.push(`  ${err.c.dim("server:")} ${cleanBlock(r.serverMessage).trim().split("\n").join("\n          ")}`);
  if (r.error) lines.push(`  ${err.c.dim("error:")}  ${clean(r.error)}`);
  if (r.hint) lines.push(`  ${err.c.dim("hint:")}   ${clean(r.hint)}`);
  return [err, lines.join("\n")];
}

const HASHED = {
  worker: "in a worker thread, before the upload",
  inline: "on the main thread, before the upload",
  sending: "while it was sent (the digest fields follow the file)",
};

function details(r, level, stream, hashedIn, readAhead) {
  const lines = [];
  if (level >= 3 && hashedIn) lines.push(`  ${stream.c.dim("hashed:")} ${HASHED[hashedIn]}`);
  if (level >= 3 && readAhead) lines.push(`  ${stream.c.dim("read ahead:")} its first ${fmtBytes(readAhead)}, hashed while the registry stored the file before it`);
  if (r.sha256) lines.push(`  ${stream.c.dim("sha256:")} ${clean(r.sha256)}`);
  if (r.attempts !== undefined) lines.push(`  ${stream.c.dim("attempts:")} ${r.attempts}`);
  if (r.projectUrl) lines.push(`  ${stream.c.dim("project:")} ${clean(r.projectUrl)}`);
  const raw = r.response && (level >= 3 || r.status !== "uploaded");
  if (raw) {
    const res = r.response;
    const head = [`HTTP ${res.status} ${res.statusText}`, ...(res.headers ?? []).map(([k, v]) => `${k}: ${v}`)].join("\n");
    const body = cleanBlock(`${head}\n\n${res.body ?? ""}`).replace(/^/gm, "    ");
    lines.push(`  ${stream.c.dim("reply (credentials masked):")}\n${body}`);
  }
  return lines.join("\n");
}

async function upload(opts) {
  const s = settings(opts);
  const paths = expand(opts.files);
  const files = [];
  for (const p of paths) {
    // PEP 740: `<dist>.publish.attestation` beside the file goes along as `attestations`.
    const att = `${p}.publish.attestation`;
    const attestations = existsSync(att) ? [readFileSync(att, "utf8")] : [];
    // The path lets the hashing thread read the file itself.
    files.push({ file: await openFile(p), filename: basename(p), attestations, path: p });
  }
  const sizes = new Map(files.map((f) => [f.filename, f.file.size]));
  const out = { stream: process.stdout, c: palette(process.stdout) };
  const err = { stream: process.stderr, c: palette(process.stderr) };
  const level = opts.json ? 0 : opts.level;
  const board = process.stderr.isTTY && level >= 1 && !opts.noProgress && !opts.json ? new ProgressBoard(process.stderr, err.c, opts.concurrency ?? 1) : null;
  if (level >= 1) {
    const n = files.length;
    console.error(`${opts.dryRun ? "Dry run: would publish" : "Publishing"} ${n} file${n === 1 ? "" : "s"} to ${clean(redactUrl(s.repositoryUrl))}`);
  }
  const ac = new AbortController();
  process.once("SIGINT", () => ac.abort());
  // Where each file was hashed, for -vv: the worker says so; an engine that hashed on this
  // thread reported a "hash" phase; any other file sent was hashed on the way.
  const hashedIn = new Map();
  const hashPhase = new Set();
  const hasher = /^(0|off|false|no)$/i.test(process.env.PYPUBLISH_HASH_WORKER ?? "") ? undefined : workerHasher({ core, onHashed: (name, where) => hashedIn.set(name, where) });
  if (files.some((f) => f.file.size >= CHUNK)) hasher?.warm();
  // While the registry stores a file, the next one's first MiBs are read and hashed
  // (bin/file-source.mjs): only where bodies are hashed as they are sent (with the digests
  // first, the thread hashes the next file whole meanwhile), and one upload at a time (with
  // more, the next file's body may have started already).
  const readAheadOf = new Map();
  let trailing = false;
  // The engine's own order (wheels first). A file it skips costs only the reading ahead.
  const order = [...sendOrder(files.map((f) => f.filename))].map((i) => files[i]);
  if (hasher && (opts.concurrency ?? 1) === 1) {
    onBodyEnd((path) => {
      if (!trailing) return;
      const next = order.slice(order.findIndex((f) => f.path === path) + 1).find((f) => f.file.size >= CHUNK);
      if (!next) return;
      const h = hasher.readAhead((n) => readAheadOf.set(next.filename, n));
      readAhead(next.file, READ_AHEAD, { onChunk: h.update, onDrop: h.cancel });
    });
  }
  // Each outcome as soon as it is known, as twine prints each upload: a long batch, or a CI
  // log without the progress board, shows what is done while the rest goes on.
  const print = (r) => {
    if (opts.json) return console.log(JSON.stringify(r));
    const [to, text] = outcomeLines(r, sizes.get(r.filename), out, err);
    to.stream.write(`${text}\n`);
    if (level >= 2) {
      const where = hashedIn.get(r.filename) ?? (hashPhase.has(r.filename) ? "inline" : r.status === "uploaded" ? "sending" : undefined);
      const more = details(r, level, to, where, readAheadOf.get(r.filename));
      if (more) to.stream.write(`${more}\n`);
    }
  };
  let printed = 0;
  const started = performance.now();
  let reports;
  try {
    reports = await publish({
      ...s,
      files,
      surface: "cli",
      skipExisting: opts.skipExisting,
      checkUrl: opts.checkUrl ?? process.env.PYPUBLISH_CHECK_URL ?? process.env.UV_PUBLISH_CHECK_URL,
      dryRun: opts.dryRun,
      // A dry run makes no request at all, unless it is `check --online`'s preflight.
      preflight: opts.online || (opts.preflight && !opts.dryRun),
      digestsFirst: opts.digestsFirst,
      retries: opts.retries,
      timeoutMs: opts.timeout ? opts.timeout * 1000 : undefined,
      concurrency: opts.concurrency,
      trustedPublishing: opts.trustedPublishing ?? process.env.PYPUBLISH_TRUSTED_PUBLISHING ?? process.env.UV_TRUSTED_PUBLISHING,
      env: process.env,
      // Bun's fetch streams request bodies; Node 20's buffers them whole.
      fetch: process.versions.bun ? undefined : nodeFetch,
      verbose: opts.level >= 2,
      signal: ac.signal,
      hasher,
      // A file sent with its digests after it is hashed on the way, natively where Node can:
      // chunk by chunk in the worker thread as they are sent; a file of one chunk (where a
      // thread's messages cost more than they save: 500 small wheels took 1.1x the time) on
      // this one, as with PYPUBLISH_HASH_WORKER=0.
      createHasher: (size) => {
        if (!hasher || size < CHUNK) return nodeHasher(core);
        trailing = true;
        return hasher.streaming();
      },
      onProgress: (p) => {
        if (p.phase === "hash") hashPhase.add(p.filename);
        board?.update(p);
      },
      onReport: (r) => {
        board?.hide();
        board?.rows.delete(r.filename);
        print(r);
        printed += 1;
        // Files still under way come back under it.
        board?.render();
      },
    });
  } finally {
    board?.clear();
    onBodyEnd(null);
    dropAhead();
    hasher?.close();
  }
  const seconds = (performance.now() - started) / 1000;
  // The same reports in the same order: only those not printed yet (none, unless a callback was lost).
  for (const r of reports.slice(printed)) print(r);
  if (level >= 1) {
    const n = (st) => reports.filter((r) => r.status === st).length;
    const [up, sk, fa] = [n("uploaded"), n("skipped"), n("failed")];
    const unverified = reports.filter((r) => r.status === "skipped" && r.verified === false).length;
    const c = err.c;
    const paint = (k, f) => (k ? f : (x) => x);
    console.error(
      `${paint(up, c.green)(`${up} uploaded`)}, ${paint(sk, c.yellow)(`${sk} skipped${unverified ? ` (${unverified} not verified)` : ""}`)}, ${paint(fa, c.red)(`${fa} failed`)} in ${seconds.toFixed(1)} s${opts.dryRun ? " (dry run: nothing sent)" : ""}`,
    );
  }
  // As a shell reports a command stopped by Ctrl-C.
  if (ac.signal.aborted) return 130;
  return reports.some((r) => r.status === "failed") ? 1 : 0;
}

// ---------- inspect and check ----------

async function inspectOrCheck(cmd, opts) {
  let failed = 0;
  const out = palette(process.stdout);
  const err = palette(process.stderr);
  for (const path of expand(opts.files)) {
    try {
      const blob = await openAsBlob(path);
      const r = await inspect(blob, { filename: basename(path) });
      const plan = planUpload(r.form, r.filename.raw, r.size);
      // PyPI's own checks: a blocking finding is an upload PyPI would refuse.
      const blocking = r.findings.filter((f) => f.blocking);
      const where = (f) => `${clean(f.field)}${f.line ? ` (line ${f.line})` : ""}: ${clean(f.message)}`;
      if (blocking.length) failed++;
      if (opts.json) console.log(JSON.stringify({ file: path, ok: blocking.length === 0, ...r, contentLength: plan.contentLength }));
      else {
        if (cmd === "check") {
          const head = blocking.length ? err.red("failed") : out.green("ok");
          (blocking.length ? console.error : console.log)(`${head}${blocking.length ? "  " : "      "}${clean(basename(path))}${blocking.length ? ": PyPI would refuse it" : ""}`);
        } else console.log(describe(r, plan.contentLength));
        for (const f of r.findings) (f.blocking ? console.error : console.log)(`        ${f.blocking ? err.red("error:") : out.yellow("warning:")} ${where(f)}`);
      }
    } catch (e) {
      failed++;
      const error = { kind: e.kind ?? "source", message: e.message ?? String(e), hint: e.hint };
      if (opts.json) console.log(JSON.stringify({ file: path, ok: false, error }));
      else console.error(`${err.red("failed")}  ${clean(basename(path))}: ${clean(error.message)}${error.hint ? `\n        ${err.dim("hint:")} ${clean(error.hint)}` : ""}`);
    }
  }
  return failed ? 1 : 0;
}

function describe(r, contentLength) {
  const lines = [
    clean(r.filename.raw),
    `  project   ${clean(r.metadata.name)} ${clean(r.metadata.version)}  (metadata ${clean(r.metadata.metadataVersion)}, ${clean(r.metadataPath)})`,
    `  type      ${clean(describeDist(r.filename.raw, r.filename.kind))}`,
    `  size      ${r.size} bytes; request body ${contentLength} bytes`,
    `  sha256    ${r.digests.sha256}`,
    `  form      ${r.form.length} fields:`,
  ];
  for (const { name, value } of r.form) {
    const v = clean(value);
    lines.push(`    ${clean(name).padEnd(26)} ${v.length > 70 ? `${v.slice(0, 67)}...` : v}`);
  }
  return lines.join("\n");
}

// ---------- main ----------

// `pypublish check dist/* | head -1`: once the reader is gone there is no one to tell anything,
// so end at once, with the status a process killed by SIGPIPE has. Not during an upload
// (`pypublish upload dist/* | head -1`, `--json | grep -q`): a release cut half way is worse
// than lines nobody reads, so the batch goes on without that stream and ends with its own status.
let uploading = false;
const gone = new Set();
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (e) => {
    // After the first EPIPE, later writes fail too (a destroyed stream): the same reader gone.
    if (e.code !== "EPIPE" && !gone.has(stream)) throw e;
    gone.add(stream);
    if (!uploading) process.exit(141);
  });
}

// Garbage is freed only when V8 next collects its young generation, and letting that generation
// grow (V8's default) keeps tens of MiB of it alive: files over 1 MiB are sent through reused
// buffers (bin/file-source.mjs), but smaller ones stream as fresh 64 KiB Blob chunks, and each
// file leaves its plan and reports. Kept at its starting size, the generation is collected every
// few MiB: a batch of 500 small wheels peaked at ~98 MiB instead of ~114, at the same speed
// (BENCHMARKS.md (c), (f)). A growth factor, unlike the semi-space size, takes effect at run time.
setFlagsFromString("--semi-space-growth-factor=1");

// Loaded first: even a usage error's text goes through the core's escaping.
await init({ module_or_path: readFileSync(join(dirname(fileURLToPath(import.meta.url)), "../pkg/pypublish_bg.wasm")) });

try {
  const opts = parseCommandLine(process.argv.slice(2));
  if (opts.help || !["upload", "inspect", "check"].includes(opts.cmd)) {
    (opts.help ? console.log : console.error)(USAGE);
    process.exit(opts.help ? 0 : 2);
  }
  if (opts.cmd === "upload") {
    uploading = true;
    process.exitCode = await upload(opts);
  }
  else {
    process.exitCode = await inspectOrCheck(opts.cmd, opts);
    // check --online: the same preflight an upload makes, as a dry run: nothing is sent.
    if (opts.cmd === "check" && opts.online && process.exitCode === 0) process.exitCode = await upload({ ...opts, dryRun: true, preflight: true });
  }
} catch (e) {
  const hint = e?.hint ? `\nhint: ${clean(e.hint)}` : "";
  if (e?.kind === "trustedPublishing") {
    console.error(`pypublish: ${clean(e.message)}${hint}`);
    process.exit(1);
  }
  if (e instanceof UsageError || e?.kind === "input") {
    // Our own words (and parseArgs's, which span lines): only newlines survive.
    console.error(`pypublish: ${e instanceof UsageError ? cleanBlock(e.message) : clean(e.message)}${hint}\n(pypublish --help for usage)`);
    process.exit(2);
  }
  console.error(`pypublish: ${clean(e?.message ?? e)}`);
  process.exit(1);
}
