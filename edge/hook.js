// Release hook: an ES module worker that publishes distributions behind URLs. The same module
// runs in workerd/Cloudflare Workers, Deno and Bun; each runtime's entry initialises the wasm
// package first (edge/workerd-entry.js, edge/serve.mjs).
//
//   POST /publish   {"files": [{"url", "filename"?, "sha256"?}], "skip_existing"?: bool}
//                   signed with X-Pypublish-Signature: sha256=<HMAC-SHA256(body, PYPUBLISH_HOOK_SECRET)>
//   POST /publish   a GitHub "release" webhook (action "published"), signed with
//                   X-Hub-Signature-256 (the same secret): the release's dist assets
//
// The registry and its credentials come only from the environment: PYPUBLISH_REPOSITORY_URL,
// PYPUBLISH_USERNAME, PYPUBLISH_PASSWORD or PYPUBLISH_TOKEN. Optional: PYPUBLISH_MAX_ASSET_BYTES
// (default 2 GiB), GITHUB_TOKEN (to fetch assets of private repositories).
//
// Each asset is streamed twice, never buffered whole: once to hash it (and check a given
// sha256), once into the upload body through a fixed-length stream. The reply is the array
// of per-file reports (the CLI's --json objects).
import { publish } from "../pkg/pypublish.js";

const MAX_BODY = 1 << 20;
const DIST = /\.(whl|tar\.gz|zip)$/i;

class HookError extends Error {
  constructor(status, message, hint) {
    super(message);
    this.status = status;
    this.hint = hint;
  }
}

const reply = (status, value) => new Response(JSON.stringify(value, null, 1), { status, headers: { "content-type": "application/json" } });

/** Handles one request. */
export async function handle(request, env = {}) {
  try {
    const url = new URL(request.url);
    if (url.pathname !== "/publish") throw new HookError(404, `no such endpoint: ${url.pathname}`, "POST /publish");
    if (request.method !== "POST") throw new HookError(405, `method ${request.method} is not allowed`, "POST /publish");
    const secret = env.PYPUBLISH_HOOK_SECRET;
    if (!secret) throw new HookError(500, "the hook has no PYPUBLISH_HOOK_SECRET", "set the secret in the worker's environment");
    const repositoryUrl = env.PYPUBLISH_REPOSITORY_URL;
    if (!repositoryUrl) throw new HookError(500, "the hook has no PYPUBLISH_REPOSITORY_URL", "set the registry's upload URL in the worker's environment");

    const body = await readCapped(request);
    const github = request.headers.get("x-github-event");
    const signature = github !== null ? request.headers.get("x-hub-signature-256") : request.headers.get("x-pypublish-signature");
    if (!(await verify(secret, body, signature))) {
      throw new HookError(401, `bad or missing signature (${github !== null ? "X-Hub-Signature-256" : "X-Pypublish-Signature"})`, "sign the exact body with HMAC-SHA256 and the shared secret: sha256=<hex>");
    }
    let payload;
    try {
      payload = JSON.parse(new TextDecoder().decode(body));
    } catch (e) {
      throw new HookError(400, `the body is not JSON: ${e.message}`);
    }

    let wanted;
    let skipExisting = false;
    const auth = {};
    if (github !== null) {
      if (github === "ping") return reply(200, { ok: true, ping: true });
      if (github !== "release") return reply(202, { ignored: `event ${github}` });
      if (payload?.action !== "published") return reply(202, { ignored: `release action ${payload?.action}` });
      const assets = (payload.release?.assets ?? []).filter((a) => DIST.test(a?.name ?? ""));
      if (!assets.length) throw new HookError(422, "the release has no wheel or sdist assets", "attach the files of dist/ to the release");
      if (env.GITHUB_TOKEN) auth.authorization = `Bearer ${env.GITHUB_TOKEN}`;
      // With a token, the API URL serves private assets; without, the public download URL.
      wanted = assets.map((a) => ({ url: env.GITHUB_TOKEN ? a.url : a.browser_download_url, filename: a.name, github: Boolean(env.GITHUB_TOKEN) }));
    } else {
      if (!payload || !Array.isArray(payload.files) || payload.files.length === 0) throw new HookError(400, 'expected {"files": [{"url", "filename"?, "sha256"?}], "skip_existing"?}');
      skipExisting = payload.skip_existing === true;
      wanted = payload.files.map((f, i) => {
        if (!f || typeof f.url !== "string" || !/^https?:\/\//.test(f.url)) throw new HookError(400, `files[${i}].url must be an http(s) URL`);
        if (f.sha256 !== undefined && !/^[0-9a-fA-F]{64}$/.test(f.sha256)) throw new HookError(400, `files[${i}].sha256 must be 64 hex digits`);
        const filename = f.filename ?? decodeURIComponent(new URL(f.url).pathname.split("/").pop() ?? "");
        if (!DIST.test(filename)) throw new HookError(400, `files[${i}]: ${filename || "(no name)"} is not a wheel or sdist name`, "give filename when the URL does not end in it");
        return { url: f.url, filename, sha256: f.sha256?.toLowerCase() };
      });
    }

    // Every asset is reachable and within bounds before anything is sent.
    const max = Number(env.PYPUBLISH_MAX_ASSET_BYTES ?? 2 ** 31);
    const files = [];
    for (const w of wanted) files.push(await source(w, auth, max));

    const reports = await publish({
      repositoryUrl,
      username: env.PYPUBLISH_USERNAME,
      password: env.PYPUBLISH_PASSWORD,
      token: env.PYPUBLISH_TOKEN,
      trustedPublishing: "never",
      skipExisting,
      files,
    });
    return reply(reports.some((r) => r.status === "failed") ? 502 : 200, reports);
  } catch (e) {
    if (e instanceof HookError) return reply(e.status, { error: e.message, hint: e.hint });
    return reply(500, { error: `the hook failed: ${e?.message ?? e}`, kind: e?.kind, hint: e?.hint });
  }
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

const hex = (buf) => [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, "0")).join("");

/** Checks `sha256=<hex>` against HMAC-SHA256(body); WebCrypto's verify compares in constant time. */
async function verify(secret, body, header) {
  const m = /^sha256=([0-9a-f]{64})$/i.exec(header ?? "");
  if (!m) return false;
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["verify"]);
  const sig = new Uint8Array(m[1].match(/../g).map((h) => parseInt(h, 16)));
  return crypto.subtle.verify("HMAC", key, sig, body);
}

/** Signs a body the way the hook checks it (for clients and tests). */
export async function sign(secret, body) {
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return `sha256=${hex(await crypto.subtle.sign("HMAC", key, typeof body === "string" ? new TextEncoder().encode(body) : body))}`;
}

/** A stream source for one asset: its size from a HEAD, range reads when the server has them. */
async function source({ url, filename, sha256, github }, auth, max) {
  const headers = { ...auth, ...(github ? { accept: "application/octet-stream" } : {}) };
  let head;
  try {
    head = await fetch(url, { method: "HEAD", headers });
  } catch (e) {
    throw new HookError(502, `${filename} could not be fetched from ${url}: ${e?.message ?? e}`, "check that the asset URL is reachable from the worker");
  }
  if (!head.ok) throw new HookError(502, `${filename} could not be fetched from ${url}: HTTP ${head.status}`, "check the asset URL (and GITHUB_TOKEN for private repositories)");
  const size = Number(head.headers.get("content-length"));
  if (!Number.isSafeInteger(size) || size <= 0) throw new HookError(502, `${filename}: ${url} gives no Content-Length`, "serve the asset with its length");
  if (size > max) throw new HookError(413, `${filename} is ${size} bytes, over the hook's limit of ${max}`, "raise PYPUBLISH_MAX_ASSET_BYTES or publish it with the CLI");
  const get = (extra = {}) => fetch(head.url || url, { headers: { ...headers, ...extra } });
  const file = {
    filename,
    size,
    sha256,
    stream: async () => {
      const r = await get();
      if (!r.ok) throw new Error(`HTTP ${r.status} from ${url}`);
      return r.body;
    },
  };
  if (/\bbytes\b/i.test(head.headers.get("accept-ranges") ?? "")) {
    file.read = async (offset, length) => {
      const r = await get({ range: `bytes=${offset}-${offset + length - 1}` });
      if (r.status !== 206) {
        await r.body?.cancel();
        throw new Error(`HTTP ${r.status} to a range request for ${url}`);
      }
      return new Uint8Array(await r.arrayBuffer());
    };
  }
  return file;
}

export default { fetch: handle };
