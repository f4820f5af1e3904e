#!/usr/bin/env node
// pypublish CLI (Node >= 20), a thin shell over the wasm package: argument and environment
// handling, file globbing, .pypirc, and output. Every decision about files, forms and replies
// is made in the core.
import { openAsBlob, readFileSync, readdirSync, statSync, existsSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { homedir } from "node:os";
import { fileURLToPath } from "node:url";

import init, { inspect, planUpload, publish } from "../pkg/pypublish.js";
import { nodeFetch } from "./node-fetch.mjs";

const USAGE = `usage: pypublish upload [options] [FILES or globs, default dist/*]
       pypublish check FILES...            validate distributions without a network
       pypublish inspect [--json] FILES... show metadata and the form an upload would send

upload options:
  --repository-url URL, --publish-url URL   upload URL (default https://upload.pypi.org/legacy/)
  -r, --repository NAME      a section of ~/.pypirc (pypi, testpypi, or your own)
  -u, --username USER        -p, --password PASS        -t, --token TOKEN
  --skip-existing            files already there count as skipped (a different file still fails)
  --check-url URL            a simple index to look each file up in (by sha256) before sending
  --trusted-publishing MODE  auto (default), always or never: PyPI/TestPyPI tokens from the CI's OIDC identity
  --dry-run                  prepare everything, send nothing
  --retries N                retries after network errors, 5xx, 408, 429 (default 3)
  --timeout SECONDS          per attempt (default 300)
  --concurrency N            uploads at once (default 1)
  --json                     one JSON object per file on stdout
  --verbose                  include the raw reply (credentials masked)
  --no-progress              no progress bars
environment: PYPUBLISH_REPOSITORY_URL, PYPUBLISH_USERNAME, PYPUBLISH_PASSWORD, PYPUBLISH_TOKEN,
  TWINE_REPOSITORY_URL, TWINE_USERNAME, TWINE_PASSWORD, UV_PUBLISH_URL, UV_PUBLISH_USERNAME,
  UV_PUBLISH_PASSWORD, UV_PUBLISH_TOKEN, PYPUBLISH_CHECK_URL, PYPUBLISH_TRUSTED_PUBLISHING`;

const KNOWN_REPOSITORIES = {
  pypi: "https://upload.pypi.org/legacy/",
  testpypi: "https://test.pypi.org/legacy/",
};

class UsageError extends Error {}

function parseArgs(argv) {
  const opts = { files: [] };
  const takes = {
    "--repository-url": "repositoryUrl", "--publish-url": "repositoryUrl", "-r": "repository", "--repository": "repository",
    "-u": "username", "--username": "username", "-p": "password", "--password": "password", "-t": "token", "--token": "token",
    "--retries": "retries", "--timeout": "timeout", "--concurrency": "concurrency", "--check-url": "checkUrl",
    "--trusted-publishing": "trustedPublishing",
  };
  const flags = { "--skip-existing": "skipExisting", "--dry-run": "dryRun", "--json": "json", "--verbose": "verbose", "--no-progress": "noProgress", "-h": "help", "--help": "help" };
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i];
    let inline;
    if (a.startsWith("--") && a.includes("=")) [a, inline] = [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)];
    if (takes[a]) {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new UsageError(`${a} needs a value`);
      opts[takes[a]] = v;
    } else if (flags[a]) {
      opts[flags[a]] = true;
    } else if (a.startsWith("-") && a !== "-") {
      throw new UsageError(`unknown option ${a}`);
    } else {
      opts.files.push(a);
    }
  }
  for (const k of ["retries", "timeout", "concurrency"]) {
    if (opts[k] !== undefined) {
      const n = Number(opts[k]);
      if (!Number.isFinite(n) || n < (k === "retries" ? 0 : 1)) throw new UsageError(`--${k} takes a number, got ${opts[k]}`);
      opts[k] = n;
    }
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
    const matched = entries.filter((e) => re.test(e) && /\.(whl|tar\.gz|zip)$/i.test(e)).map((e) => join(dir, e)).filter((f) => statSync(f).isFile());
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

function progressPrinter(enabled) {
  if (!enabled) return undefined;
  let last = "";
  return ({ filename, phase, done, total }) => {
    const pct = total ? Math.floor((done / total) * 100) : 100;
    const width = 24;
    const bar = "#".repeat(Math.round((pct / 100) * width)).padEnd(width, ".");
    const line = `${phase === "hash" ? "hashing  " : "uploading"} ${filename} [${bar}] ${pct}%`;
    if (line !== last) process.stderr.write(`\r\x1b[2K${line}`);
    last = line;
  };
}

function outcomeLine(r) {
  if (r.status === "uploaded") return `uploaded  ${r.filename}`;
  if (r.status === "skipped") return `skipped   ${r.filename}${r.hint ? ` (${r.hint})` : r.serverMessage ? ` (${r.serverMessage})` : ""}`;
  const status = r.httpStatus ? `HTTP ${r.httpStatus}` : r.kind ?? "error";
  const parts = [`failed    ${r.filename}: ${status}`];
  if (r.serverMessage) parts.push(`  server: ${r.serverMessage}`);
  if (r.error) parts.push(`  error:  ${r.error}`);
  if (r.hint) parts.push(`  hint:   ${r.hint}`);
  return parts.join("\n");
}

async function upload(opts) {
  const s = settings(opts);
  const paths = expand(opts.files);
  const files = [];
  for (const p of paths) {
    // PEP 740: `<dist>.publish.attestation` beside the file goes along as `attestations`.
    const att = `${p}.publish.attestation`;
    const attestations = existsSync(att) ? [readFileSync(att, "utf8")] : [];
    files.push({ file: await openAsBlob(p), filename: basename(p), attestations });
  }
  const tty = process.stderr.isTTY && !opts.noProgress && !opts.json;
  const onProgress = progressPrinter(tty);
  if (!opts.json && !tty) console.error(`publishing ${files.length} file(s) to ${redact(s.repositoryUrl)}`);
  const ac = new AbortController();
  process.once("SIGINT", () => ac.abort());
  const reports = await publish({
    ...s,
    files,
    skipExisting: !!opts.skipExisting,
    checkUrl: opts.checkUrl ?? process.env.PYPUBLISH_CHECK_URL ?? process.env.UV_PUBLISH_CHECK_URL,
    dryRun: !!opts.dryRun,
    retries: opts.retries,
    timeoutMs: opts.timeout ? opts.timeout * 1000 : undefined,
    concurrency: opts.concurrency,
    trustedPublishing: opts.trustedPublishing ?? process.env.PYPUBLISH_TRUSTED_PUBLISHING ?? process.env.UV_TRUSTED_PUBLISHING,
    env: process.env,
    // Bun's fetch streams request bodies; Node 20's buffers them whole.
    fetch: process.versions.bun ? undefined : nodeFetch,
    verbose: !!opts.verbose,
    signal: ac.signal,
    onProgress,
  });
  if (tty) process.stderr.write("\r\x1b[2K");
  for (const r of reports) {
    if (opts.json) console.log(JSON.stringify(r));
    else {
      (r.status === "failed" ? console.error : console.log)(outcomeLine(r));
      if (opts.verbose && r.response) console.error(`  reply:  ${r.response.status} ${r.response.statusText}\n${r.response.body}`);
    }
  }
  return reports.some((r) => r.status === "failed") ? 1 : 0;
}

function redact(url) {
  return url.replace(/^([a-z]+:\/\/)[^/@]*@/i, "$1");
}

async function inspectOrCheck(cmd, opts) {
  let failed = 0;
  for (const path of expand(opts.files)) {
    try {
      const blob = await openAsBlob(path);
      const r = await inspect(blob, { filename: basename(path) });
      const plan = planUpload(r.form, r.filename.raw, r.size);
      if (opts.json) console.log(JSON.stringify({ file: path, ok: true, ...r, contentLength: plan.contentLength }));
      else if (cmd === "check") console.log(`ok      ${basename(path)}`);
      else console.log(describe(r, plan.contentLength));
    } catch (e) {
      failed++;
      const err = { kind: e.kind ?? "source", message: e.message ?? String(e), hint: e.hint };
      if (opts.json) console.log(JSON.stringify({ file: path, ok: false, error: err }));
      else console.error(`failed  ${basename(path)}: ${err.message}${err.hint ? `\n        hint: ${err.hint}` : ""}`);
    }
  }
  return failed ? 1 : 0;
}

function describe(r, contentLength) {
  const k = r.filename.kind;
  const kind = k.type === "wheel" ? `wheel ${k.pythonTag}-${k.abi.join(".")}-${k.platform.join(".")}` : `sdist (${k.format})`;
  const lines = [
    `${r.filename.raw}`,
    `  project   ${r.metadata.name} ${r.metadata.version}  (metadata ${r.metadata.metadataVersion}, ${r.metadataPath})`,
    `  type      ${kind}`,
    `  size      ${r.size} bytes; request body ${contentLength} bytes`,
    `  sha256    ${r.digests.sha256}`,
    `  form      ${r.form.length} fields:`,
  ];
  for (const { name, value } of r.form) {
    const v = value.replace(/\n/g, "\\n");
    lines.push(`    ${name.padEnd(26)} ${v.length > 70 ? `${v.slice(0, 67)}...` : v}`);
  }
  return lines.join("\n");
}

const [cmd, ...rest] = process.argv.slice(2);
try {
  const opts = parseArgs(rest);
  if (!["upload", "inspect", "check"].includes(cmd) || opts.help) {
    (opts.help || cmd === "--help" || cmd === "-h" ? console.log : console.error)(USAGE);
    process.exit(opts.help || cmd === "--help" || cmd === "-h" ? 0 : 2);
  }
  const here = dirname(fileURLToPath(import.meta.url));
  await init({ module_or_path: readFileSync(join(here, "../pkg/pypublish_bg.wasm")) });
  process.exitCode = cmd === "upload" ? await upload(opts) : await inspectOrCheck(cmd, opts);
} catch (e) {
  if (e?.kind === "trustedPublishing") {
    console.error(`pypublish: ${e.message}${e.hint ? `\nhint: ${e.hint}` : ""}`);
    process.exit(1);
  }
  if (e instanceof UsageError || e?.kind === "input") {
    console.error(`pypublish: ${e.message}${e.hint ? `\nhint: ${e.hint}` : ""}\n(pypublish --help for usage)`);
    process.exit(2);
  }
  console.error(`pypublish: ${e?.message ?? e}`);
  process.exit(1);
}
