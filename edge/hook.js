// Release hook: an ES module worker that publishes distributions behind URLs to the one
// registry its environment names. The same module runs in workerd/Cloudflare Workers, Deno and
// Bun; each runtime's entry initialises the wasm package first (edge/workerd-entry.js,
// edge/serve.mjs). Two kinds of request, each with its own secret:
//
//   POST /publish  our JSON {"files": [{"url", "filename"?, "sha256"?}]}, with
//                  X-Pypublish-Timestamp: <Unix seconds> and
//                  X-Pypublish-Signature: sha256=<hex HMAC-SHA256(timestamp + "." + body, PYPUBLISH_HOOK_SECRET)>
//   POST /publish  a GitHub "release" webhook (action "published") for a repository in
//                  GITHUB_REPOSITORIES, with X-Hub-Signature-256 (GITHUB_WEBHOOK_SECRET): the
//                  release's dist assets, fetched from their API URLs only
//
// The threat model and every setting are in edge/README.md. Every asset is probed (allowed,
// sized) before publish() runs, and those that fit in PYPUBLISH_HOLD_BYTES are fetched once and
// held in memory, six requests at a time; publish() reads every file's metadata before it sends
// and checks each file's sha256 before its upload's closing boundary (all or nothing for a
// batch; a single asset is fetched once, hashed as it is sent); files already on the registry
// are reported as skipped (the index check), so a request received twice never uploads twice.
// The reply is the array of per-file reports.
import * as core from "../pkg/pypublish.js";
import { checkUrl, classifyHost, list, parseSize } from "./policy.js";
import { AssetError, HOST_HINT, assetSource, byteGate, holdAsset, refusal } from "./assets.js";

const MAX_BODY = 1 << 20;
const MAX_FILES = 32;
// Asset requests at once: Workers allow six open connections per invocation, and the engine
// reads six files at a time (src/batch.rs MAX_READING).
const AT_ONCE = 6;
const WINDOW_S = 300;
const DIST = /\.(whl|tar\.gz|zip)$/i;
const GITHUB_API = "https://api.github.com";
// GitHub's API answers an asset request with a redirect to one of these.
const GITHUB_STORAGE = ["*.githubusercontent.com"];
const DEV_VARS = ["PYPUBLISH_DEV_ALLOW_HTTP", "PYPUBLISH_DEV_ALLOW_PRIVATE", "PYPUBLISH_DEV_GITHUB_API"];
const SECRET_VARS = ["PYPUBLISH_PASSWORD", "PYPUBLISH_TOKEN", "PYPUBLISH_HOOK_SECRET", "GITHUB_WEBHOOK_SECRET", "GITHUB_TOKEN"];

class HookError extends Error {
  constructor(status, message, hint) {
    super(message);
    this.status = status;
    this.hint = hint;
  }
}

/** The settings' problems, each naming its variable (never its value). */
export class ConfigError extends Error {
  constructor(problems) {
    super(`the hook is misconfigured: ${problems.join("; ")}`);
    this.problems = problems;
  }
}

// ---------------------------------------------------------------------------------------------
// Strings that leave the hook

const b64 = (s) => btoa(String.fromCharCode(...new TextEncoder().encode(s)));

/** The secret values in `env`, and the forms an Authorization header would carry them in. */
function secretsOf(env) {
  const out = SECRET_VARS.map((k) => env[k]).filter((v) => typeof v === "string" && v.length > 0);
  if (env.PYPUBLISH_USERNAME && env.PYPUBLISH_PASSWORD) out.push(`${env.PYPUBLISH_USERNAME}:${env.PYPUBLISH_PASSWORD}`);
  return out;
}

/** Every string the hook sends goes through the core's one step: the secrets masked in every
 * encoding, control characters escaped. */
export function clean(text, secrets) {
  return core.sanitize(String(text), secrets);
}

const scrub = (v, secrets) =>
  typeof v === "string" ? clean(v, secrets) : Array.isArray(v) ? v.map((x) => scrub(x, secrets)) : v && typeof v === "object" ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, scrub(x, secrets)])) : v;

const reply = (status, value, secrets) => new Response(JSON.stringify(scrub(value, secrets), null, 1), { status, headers: { "content-type": "application/json", "cache-control": "no-store" } });

// ---------------------------------------------------------------------------------------------
// Configuration

const flag = (v) => v === "1" || v === "true";

/**
 * The hook's settings from the worker's environment, checked as a whole; throws a ConfigError
 * listing every problem. `dev` (only the development entries pass it) lets PYPUBLISH_DEV_*
 * allow plain HTTP, private addresses and a stand-in for api.github.com; elsewhere their
 * presence is itself an error, so a production hook cannot be switched into that mode.
 */
export function hookConfig(env = {}, { dev = false } = {}) {
  const problems = [];
  const cfg = { secrets: secretsOf(env) };
  const set = (k) => typeof env[k] === "string" && env[k] !== "";

  for (const k of DEV_VARS) {
    if (!set(k)) continue;
    if (!dev) problems.push(`${k} is a development setting, read only by the development entries (edge/workerd-dev-entry.js, serve.mjs --dev); remove it`);
    else if (k !== "PYPUBLISH_DEV_GITHUB_API" && !/^(0|1|true|false)$/.test(env[k])) problems.push(`${k} must be 1 or 0`);
  }
  cfg.policy = { allowHttp: dev && flag(env.PYPUBLISH_DEV_ALLOW_HTTP), allowPrivate: dev && flag(env.PYPUBLISH_DEV_ALLOW_PRIVATE), hosts: null };
  cfg.githubApi = GITHUB_API;
  if (dev && set("PYPUBLISH_DEV_GITHUB_API")) {
    try {
      cfg.githubApi = new URL(env.PYPUBLISH_DEV_GITHUB_API).origin;
    } catch {
      problems.push("PYPUBLISH_DEV_GITHUB_API must be a URL");
    }
  }

  const url = (k, required) => {
    if (!set(k)) {
      if (required) problems.push(`${k} is not set`);
      return undefined;
    }
    let u;
    try {
      u = new URL(env[k]);
    } catch {
      problems.push(`${k} is not a URL`);
      return undefined;
    }
    // A registry beside the hook on this machine is the operator's choice; anywhere else,
    // plain http would carry the registry credential in the clear.
    const local = classifyHost(u.hostname) === "loopback";
    if (u.protocol !== "https:" && !(u.protocol === "http:" && (local || cfg.policy.allowHttp))) problems.push(`${k} must be an https URL (plain http only to this machine)`);
    else if (u.username || u.password) problems.push(`${k} must not carry credentials; use PYPUBLISH_TOKEN or PYPUBLISH_USERNAME and PYPUBLISH_PASSWORD`);
    return u.href;
  };
  cfg.repositoryUrl = url("PYPUBLISH_REPOSITORY_URL", true);
  cfg.checkUrl = url("PYPUBLISH_CHECK_URL", false);
  if (cfg.repositoryUrl && !cfg.checkUrl) {
    const known = Boolean(core.registryFor(cfg.repositoryUrl)?.checkUrl);
    if (!known) problems.push("PYPUBLISH_CHECK_URL is not set: give the registry's simple index (pypiserver: <root>/simple/), which the hook checks so that a request received twice never uploads twice");
  }

  cfg.username = env.PYPUBLISH_USERNAME || undefined;
  cfg.password = env.PYPUBLISH_PASSWORD || undefined;
  cfg.token = env.PYPUBLISH_TOKEN || undefined;
  if (cfg.token && (cfg.password || cfg.username)) problems.push("set either PYPUBLISH_TOKEN or PYPUBLISH_USERNAME and PYPUBLISH_PASSWORD, not both");
  else if (!cfg.token && !(cfg.username && cfg.password)) problems.push("no registry credentials: set PYPUBLISH_TOKEN, or PYPUBLISH_USERNAME and PYPUBLISH_PASSWORD");

  const secret = (k) => {
    if (!set(k)) return undefined;
    if (env[k].length < 16) problems.push(`${k} is shorter than 16 characters; use a random one (openssl rand -hex 32)`);
    return env[k];
  };
  cfg.hookSecret = secret("PYPUBLISH_HOOK_SECRET");
  cfg.webhookSecret = secret("GITHUB_WEBHOOK_SECRET");
  if (!set("PYPUBLISH_HOOK_SECRET") && !set("GITHUB_WEBHOOK_SECRET")) problems.push("neither PYPUBLISH_HOOK_SECRET (signed JSON requests) nor GITHUB_WEBHOOK_SECRET (GitHub release webhooks) is set");
  if (cfg.hookSecret && cfg.hookSecret === cfg.webhookSecret) problems.push("PYPUBLISH_HOOK_SECRET and GITHUB_WEBHOOK_SECRET must differ: a holder of one must not be able to forge the other kind of request");

  cfg.repositories = new Set(list(env.GITHUB_REPOSITORIES).map((r) => r.toLowerCase()));
  for (const r of cfg.repositories) if (!/^[a-z0-9-]+\/[a-z0-9._-]+$/.test(r)) problems.push("GITHUB_REPOSITORIES must list owner/repo names, comma-separated");
  if (cfg.webhookSecret && cfg.repositories.size === 0) problems.push("GITHUB_WEBHOOK_SECRET is set but GITHUB_REPOSITORIES is empty: name the repositories whose releases may be published");
  cfg.githubToken = env.GITHUB_TOKEN || undefined;
  if (cfg.githubToken && cfg.repositories.size === 0) problems.push("GITHUB_TOKEN is set but GITHUB_REPOSITORIES is empty: the token is only sent for those repositories' release assets");

  cfg.maxBytes = 2 ** 31;
  if (set("PYPUBLISH_MAX_ASSET_BYTES")) {
    cfg.maxBytes = parseSize(env.PYPUBLISH_MAX_ASSET_BYTES);
    if (cfg.maxBytes === null) problems.push('PYPUBLISH_MAX_ASSET_BYTES must be a size such as "2GiB", "500MB" or 1048576');
  }
  // Assets up to this many bytes in all are fetched once and kept in memory; larger ones are
  // read again for each pass (a batch's hashing, then its body).
  cfg.holdBytes = 16 * 2 ** 20;
  if (set("PYPUBLISH_HOLD_BYTES")) {
    cfg.holdBytes = /^\s*0+(\.0*)?\s*([kmgt]i?b|b)?\s*$/i.test(env.PYPUBLISH_HOLD_BYTES) ? 0 : parseSize(env.PYPUBLISH_HOLD_BYTES);
    if (cfg.holdBytes === null) problems.push('PYPUBLISH_HOLD_BYTES must be a size such as "16MiB" or 1048576, or 0 to keep no asset in memory');
  }
  // The stall timeout, in seconds: how long an upload or a registry request may go without
  // progress (hints for the hook name this variable).
  cfg.timeoutMs = 300_000;
  if (set("PYPUBLISH_TIMEOUT")) {
    const s = Number(env.PYPUBLISH_TIMEOUT);
    if (!Number.isFinite(s) || s < 1 || s > 3600) problems.push("PYPUBLISH_TIMEOUT must be a number of seconds from 1 to 3600");
    else cfg.timeoutMs = s * 1000;
  }
  if (set("PYPUBLISH_ASSET_HOSTS")) {
    cfg.policy.hosts = list(env.PYPUBLISH_ASSET_HOSTS).map((h) => h.toLowerCase());
    if (cfg.policy.hosts.some((h) => !/^(\*\.)?[a-z0-9-]+(\.[a-z0-9-]+)*$/.test(h))) problems.push("PYPUBLISH_ASSET_HOSTS must list host names (host.example or *.example), comma-separated, without scheme or port");
    if (cfg.policy.hosts.length === 0) problems.push("PYPUBLISH_ASSET_HOSTS is empty");
  }
  if (problems.length) throw new ConfigError(problems);
  return cfg;
}

/**
 * Logs the settings' problems when the worker starts (workerd has no way to refuse to start
 * from a module); each request then answers 500 with the same list until they are fixed.
 */
export function checkAtStartup(env, options) {
  try {
    hookConfig(env ?? {}, options);
    return true;
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    console.error(clean(e.message, secretsOf(env ?? {})));
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Signatures and freshness

const hex = (buf) => [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, "0")).join("");
const utf8 = (s) => new TextEncoder().encode(s);

async function hmacKey(secret, usage) {
  return crypto.subtle.importKey("raw", utf8(secret), { name: "HMAC", hash: "SHA-256" }, false, [usage]);
}

/** Checks `sha256=<hex>` against HMAC-SHA256(message); WebCrypto's verify compares in constant time. */
async function verify(secret, message, header) {
  const m = /^sha256=([0-9a-f]{64})$/i.exec(header ?? "");
  if (!m) return false;
  const sig = new Uint8Array(m[1].match(/../g).map((h) => parseInt(h, 16)));
  return crypto.subtle.verify("HMAC", await hmacKey(secret, "verify"), sig, message);
}

/** `sha256=<hex HMAC-SHA256(body)>`, the way GitHub signs webhooks (X-Hub-Signature-256). */
export async function sign(secret, body) {
  return `sha256=${hex(await crypto.subtle.sign("HMAC", await hmacKey(secret, "sign"), typeof body === "string" ? utf8(body) : body))}`;
}

/** The headers that make `body` a signed request for the hook, made at `timestamp` (Unix seconds). */
export async function signRequest(secret, body, timestamp = Math.floor(Date.now() / 1000)) {
  const bytes = typeof body === "string" ? utf8(body) : body;
  const message = new Uint8Array([...utf8(`${timestamp}.`), ...bytes]);
  return { "x-pypublish-timestamp": String(timestamp), "x-pypublish-signature": await sign(secret, message) };
}

// Signatures already honoured, kept for twice the freshness window: within one isolate a
// replay is refused before anything is fetched. Other isolates (and restarts) forget them; there
// the registry's index check reports the files as skipped instead.
const seen = new Map();
const SEEN_MAX = 10_000;

function firstSighting(signature, now) {
  for (const [k, expiry] of seen) {
    if (expiry > now) break;
    seen.delete(k);
  }
  if (seen.has(signature)) return false;
  if (seen.size >= SEEN_MAX) seen.delete(seen.keys().next().value);
  seen.set(signature, now + 2 * WINDOW_S * 1000);
  return true;
}

// ---------------------------------------------------------------------------------------------
// Requests

/** Handles one request; `dev` only from the development entries. */
export async function handle(request, env = {}, { dev = false } = {}) {
  const secrets = secretsOf(env);
  try {
    const url = new URL(request.url);
    if (url.pathname !== "/publish") throw new HookError(404, "no such endpoint", "POST /publish");
    if (request.method !== "POST") throw new HookError(405, `method ${request.method} is not allowed`, "POST /publish");
    let cfg;
    try {
      cfg = hookConfig(env, { dev });
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      console.error(clean(e.message, secrets));
      throw new HookError(500, e.message, "fix the worker's environment (edge/README.md lists every setting)");
    }
    const body = await readCapped(request);
    const hub = request.headers.get("x-hub-signature-256");
    const ours = request.headers.get("x-pypublish-signature");
    if (hub !== null && ours !== null) throw new HookError(400, "a request carries X-Hub-Signature-256 or X-Pypublish-Signature, not both");
    const job = hub !== null ? await webhookJob(request, body, hub, cfg) : ours !== null ? await jsonJob(request, body, ours, cfg) : null;
    if (job === null) throw new HookError(401, "the request is not signed", "sign it: X-Pypublish-Timestamp and X-Pypublish-Signature (edge/README.md), or configure the GitHub webhook with its secret");
    if (job.done) return reply(job.done[0], job.done[1], secrets);

    // Every asset allowed, reachable and within bounds before publish() starts.
    const ctx = {
      policy: cfg.policy,
      extraHosts: job.extraHosts,
      token: cfg.githubToken,
      isGithubAsset: (u) => githubAsset(u, cfg) !== null,
    };
    // Every asset request stops when the client goes away or no byte comes for PYPUBLISH_TIMEOUT.
    const reads = byteGate(0);
    const files = await atMost(AT_ONCE, job.wanted, (w, signal) => assetSource(w, { label: w.label, ctx, maxBytes: cfg.maxBytes, stallMs: cfg.timeoutMs, cancel: request.signal, signal, reads }));
    // Assets that fit in PYPUBLISH_HOLD_BYTES are fetched once each: a batch is hashed and
    // checked before its first upload (all or nothing), and a held asset serves that pass, its
    // metadata and its body from memory. The others are fetched again for each pass. Smallest
    // first, so that as many as possible are held; what is held at once stays within the budget.
    let room = cfg.holdBytes;
    const held = [];
    for (const i of files.map((_, i) => i).sort((a, b) => files[a].size - files[b].size)) {
      if (files[i].size > room) break;
      room -= files[i].size;
      held.push(i);
    }
    const kept = await atMost(AT_ONCE, held, (i, signal) => holdAsset(files[i], { label: job.wanted[i].label, timeoutMs: cfg.timeoutMs, cancel: request.signal, signal }));
    held.forEach((i, k) => (files[i] = kept[k]));
    // The streamed assets' range reads (their metadata) share what the held ones left.
    reads.cap = room;

    const reports = await core.publish({
      repositoryUrl: cfg.repositoryUrl,
      username: cfg.username,
      password: cfg.password,
      token: cfg.token,
      trustedPublishing: "never",
      // Always: what is already there is skipped, so a request received twice uploads once.
      skipExisting: true,
      checkUrl: cfg.checkUrl,
      surface: "hook",
      // One cheap request finds a wrong URL or token before any asset byte is uploaded.
      preflight: true,
      timeoutMs: cfg.timeoutMs,
      // A client that goes away cancels the publish: nothing more is fetched or sent.
      signal: request.signal,
      files,
    });
    return reply(reports.some((r) => r.status === "failed") ? 502 : 200, reports, secrets);
  } catch (e) {
    if (e instanceof HookError || e instanceof AssetError) return reply(e.status, { error: e.message, hint: e.hint }, secrets);
    return reply(500, { error: `the hook failed: ${e?.message ?? e}`, kind: e?.kind, hint: e?.hint }, secrets);
  }
}

/**
 * `fn(item, signal)` over `items`, no more than `n` at a time, started in order; the results in
 * order. The first failure aborts `signal`, so the jobs still running stop at once rather than
 * run to their timeout, and nothing more is started; once all started have settled, that first
 * failure is thrown: the others are its consequences (cancelled), or came later.
 */
async function atMost(n, items, fn) {
  const results = new Array(items.length);
  const batch = new AbortController();
  let failure;
  let next = 0;
  const lane = async () => {
    while (next < items.length && !batch.signal.aborted) {
      const i = next++;
      try {
        results[i] = await fn(items[i], batch.signal);
      } catch (e) {
        if (batch.signal.aborted) continue;
        failure = e;
        batch.abort();
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, lane));
  if (batch.signal.aborted) throw failure;
  return results;
}

async function readCapped(request) {
  const declared = Number(request.headers.get("content-length") ?? 0);
  if (declared > MAX_BODY) throw new HookError(413, `the request body is ${declared} bytes; at most ${MAX_BODY} are read`);
  const reader = request.body?.getReader();
  const parts = [];
  let n = 0;
  while (reader) {
    const { done, value } = await reader.read();
    if (done) break;
    n += value.byteLength;
    if (n > MAX_BODY) {
      await reader.cancel();
      throw new HookError(413, `the request body is over ${MAX_BODY} bytes`);
    }
    parts.push(value);
  }
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) out.set(p, (at += p.byteLength) - p.byteLength);
  return out;
}

function parseJson(body) {
  try {
    return JSON.parse(new TextDecoder().decode(body));
  } catch {
    throw new HookError(400, "the body is not JSON");
  }
}

/** `{ owner/repo, id }` when `u` is a release-asset API URL of an allowed repository, else null. */
function githubAsset(u, cfg) {
  let url;
  try {
    url = new URL(u);
  } catch {
    return null;
  }
  const m = /^\/repos\/([^/]+\/[^/]+)\/releases\/assets\/(\d+)$/.exec(url.pathname);
  if (url.origin !== cfg.githubApi || url.search || url.username || !m || !cfg.repositories.has(m[1].toLowerCase())) return null;
  return { repository: m[1].toLowerCase(), id: m[2] };
}

/** Our signed JSON: fresh, first seen, its URLs allowed. */
async function jsonJob(request, body, signature, cfg) {
  if (!cfg.hookSecret) throw new HookError(401, "this hook takes no signed JSON requests", "its operator has not set PYPUBLISH_HOOK_SECRET");
  const ts = request.headers.get("x-pypublish-timestamp") ?? "";
  if (!/^\d{1,12}$/.test(ts)) throw new HookError(401, "missing or malformed X-Pypublish-Timestamp", "send the Unix time in seconds, and sign timestamp + \".\" + body");
  const message = new Uint8Array([...utf8(`${ts}.`), ...body]);
  if (!(await verify(cfg.hookSecret, message, signature))) {
    throw new HookError(401, "bad signature (X-Pypublish-Signature)", 'sign timestamp + "." + the exact body with HMAC-SHA256 and PYPUBLISH_HOOK_SECRET: sha256=<hex>');
  }
  const now = Date.now();
  if (Math.abs(now / 1000 - Number(ts)) > WINDOW_S) throw new HookError(401, "the request's timestamp is more than 5 minutes from the hook's clock", "sign each request when it is sent; check the sender's clock");
  if (!firstSighting(signature.toLowerCase(), now)) throw new HookError(409, "this request was already received", "to publish again, send a new request (new timestamp); files already on the registry are reported as skipped");

  const payload = parseJson(body);
  if (!payload || !Array.isArray(payload.files) || payload.files.length === 0) throw new HookError(400, 'expected {"files": [{"url", "filename"?, "sha256"?}]}');
  if (payload.files.length > MAX_FILES) throw new HookError(400, `at most ${MAX_FILES} files per request`);
  const names = new Set();
  const wanted = payload.files.map((f, i) => {
    const at = `files[${i}]`;
    if (!f || typeof f.url !== "string") throw new HookError(400, `${at}.url must be a URL`);
    const verdict = checkUrl(f.url, cfg.policy);
    if (!verdict.ok) throw new HookError(400, `${at}: the URL ${refusal(verdict.reason)}`, HOST_HINT);
    if (f.sha256 !== undefined && !/^[0-9a-fA-F]{64}$/.test(f.sha256)) throw new HookError(400, `${at}.sha256 must be 64 hex digits`);
    if (f.filename !== undefined && typeof f.filename !== "string") throw new HookError(400, `${at}.filename must be a string`);
    let filename = f.filename;
    if (filename === undefined) {
      try {
        filename = decodeURIComponent(verdict.url.pathname.split("/").pop() ?? "");
      } catch {
        filename = "";
      }
    }
    if (!DIST.test(filename) || /[/\\\u0000-\u001f]/.test(filename)) throw new HookError(400, `${at}: the file name is not a wheel or sdist name`, "give filename when the URL does not end in it");
    if (names.has(filename)) throw new HookError(400, `${at}: ${filename} is named twice`);
    names.add(filename);
    return { url: verdict.url.href, filename, sha256: f.sha256?.toLowerCase(), label: `${at} (${filename})` };
  });
  return { wanted, extraHosts: [] };
}

/** A GitHub release webhook: its own secret, an allowed repository, assets by API URL only. */
async function webhookJob(request, body, signature, cfg) {
  if (!cfg.webhookSecret) throw new HookError(401, "this hook takes no GitHub webhooks", "its operator has not set GITHUB_WEBHOOK_SECRET");
  if (!(await verify(cfg.webhookSecret, body, signature))) throw new HookError(401, "bad signature (X-Hub-Signature-256)", "the webhook's secret must be the hook's GITHUB_WEBHOOK_SECRET");
  // GitHub's signature carries no time: a replay within the window is refused here, a later one
  // finds its files on the registry and skips them.
  if (!firstSighting(`gh:${signature.toLowerCase()}`, Date.now())) throw new HookError(409, "this webhook delivery was already received", "files already on the registry are reported as skipped; redeliver only after fixing a failure");
  const event = request.headers.get("x-github-event");
  if (event === "ping") return { done: [200, { ok: true, ping: true }] };
  if (event !== "release") return { done: [202, { ignored: "not a release event" }] };
  const payload = parseJson(body);
  if (payload?.action !== "published") return { done: [202, { ignored: "not a published release" }] };
  const repository = String(payload.repository?.full_name ?? "");
  if (!cfg.repositories.has(repository.toLowerCase())) throw new HookError(403, "the release's repository is not one this hook publishes", "its operator lists them in GITHUB_REPOSITORIES");
  const assets = Array.isArray(payload.release?.assets) ? payload.release.assets : [];
  const dists = assets.filter((a) => typeof a?.name === "string" && DIST.test(a.name) && (a.state === undefined || a.state === "uploaded"));
  if (!dists.length) throw new HookError(422, "the release has no wheel or sdist assets", "attach the files of dist/ to the release");
  if (dists.length > MAX_FILES) throw new HookError(400, `at most ${MAX_FILES} dist assets per release`);
  const wanted = dists.map((a, i) => {
    const at = `assets[${i}]`;
    if (!Number.isSafeInteger(a.id) || a.id <= 0 || /[/\\\u0000-\u001f]/.test(a.name)) throw new HookError(400, `${at}: not a release asset (id, name)`);
    // The URL is built from the allowed repository and the asset's id; a payload naming any
    // other URL is not GitHub's.
    const url = `${cfg.githubApi}/repos/${repository}/releases/assets/${a.id}`;
    if (a.url !== undefined && String(a.url).toLowerCase() !== url.toLowerCase()) throw new HookError(400, `${at} (${a.name}): its url is not the release's own asset API URL`);
    const digest = /^sha256:([0-9a-f]{64})$/i.exec(a.digest ?? "");
    return { url, filename: a.name, sha256: digest?.[1].toLowerCase(), size: Number.isSafeInteger(a.size) ? a.size : undefined, label: `${at} (${a.name})` };
  });
  return { wanted, extraHosts: [new URL(cfg.githubApi).hostname, ...GITHUB_STORAGE] };
}

export default { fetch: (request, env) => handle(request, env) };
