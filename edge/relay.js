// CORS relay for registries that send no CORS headers (PyPI, TestPyPI, pypiserver), as an ES
// module worker (Cloudflare Workers/workerd, Deno, Bun). A page calls
//   POST <relay>/?upstream=<upload URL>
// with the multipart body and Authorization it would have sent to the registry; the relay
// checks the page's origin (and a token, when set) and the upstream against allowlists,
// forwards the body unbuffered, and returns the registry's reply with its own CORS headers.
//   GET <relay>/?upstream=<URL on an upload URL's origin>
// is forwarded the same way, without a body: the registry's simple index, which the page reads
// to skip files already there and to check its settings before uploading.
//
// Environment:
//   RELAY_ALLOWED_ORIGINS  comma-separated page origins (required; "*" is refused)
//   RELAY_UPSTREAMS        comma-separated upload URLs (default PyPI's and TestPyPI's)
//   RELAY_TOKEN            optional: requests must carry it in X-Relay-Token. An Origin header
//                          only stops browsers on other sites; any other client can send one.
//
// It never logs, and never echoes request headers, bodies, its settings or a network error's
// text: its replies are fixed strings, so nothing in them needs masking.

const DEFAULT_UPSTREAMS = ["https://upload.pypi.org/legacy/", "https://test.pypi.org/legacy/"];
const FORWARDED = ["content-type", "content-length", "authorization", "accept"];
const TOKEN_HEADER = "x-relay-token";

const list = (v) =>
  String(v ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);

/** The settings' problems, each naming its variable (never its value). */
export class ConfigError extends Error {
  constructor(problems) {
    super(`the relay is misconfigured: ${problems.join("; ")}`);
    this.problems = problems;
  }
}

function json(status, error, hint, headers = {}) {
  return new Response(JSON.stringify({ error, hint }), { status, headers: { "content-type": "application/json", "cache-control": "no-store", ...headers } });
}

/** The relay's settings from the worker's environment; throws a ConfigError listing every problem. */
export function relayConfig(env = {}) {
  const problems = [];
  const origins = list(env.RELAY_ALLOWED_ORIGINS).map((o) => o.replace(/\/+$/, ""));
  if (!origins.length) problems.push("RELAY_ALLOWED_ORIGINS is not set: list the page origins (https://host[:port]) that may use the relay");
  if (origins.includes("*")) problems.push('RELAY_ALLOWED_ORIGINS may not contain "*": the relay carries registry credentials');
  for (const o of origins) {
    if (o === "*") continue;
    let u;
    try {
      u = new URL(o);
    } catch {}
    if (!u || u.origin !== o) problems.push("RELAY_ALLOWED_ORIGINS must list origins: scheme://host[:port], no path");
  }
  const upstreams = env.RELAY_UPSTREAMS ? list(env.RELAY_UPSTREAMS) : DEFAULT_UPSTREAMS;
  for (const up of upstreams) {
    let u;
    try {
      u = new URL(up);
    } catch {}
    if (!u || !/^https?:$/.test(u.protocol)) problems.push("RELAY_UPSTREAMS must list http(s) upload URLs");
    else if (u.username || u.password) problems.push("RELAY_UPSTREAMS must not carry credentials: the page sends them");
  }
  const token = env.RELAY_TOKEN || undefined;
  if (token !== undefined && token.length < 16) problems.push("RELAY_TOKEN is shorter than 16 characters; use a random one (openssl rand -hex 32)");
  if (problems.length) throw new ConfigError([...new Set(problems)]);
  return { origins, upstreams, token };
}

/** True when both are URLs of one origin (scheme, host, port), as fetch parses them. */
function sameOrigin(a, b) {
  try {
    const [x, y] = [new URL(a), new URL(b)];
    return /^https?:$/.test(y.protocol) && !y.username && !y.password && x.origin === y.origin;
  } catch {
    return false;
  }
}

/** Compares in time that depends only on the lengths, so a wrong token teaches nothing. */
function sameText(a, b) {
  const [x, y] = [new TextEncoder().encode(a), new TextEncoder().encode(b)];
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i % x.length] ?? 0) ^ (y[i % y.length] ?? 0);
  return diff === 0 && x.length === y.length;
}

/** Handles one request. */
export async function relay(request, env = {}) {
  let cfg;
  try {
    cfg = relayConfig(env);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    console.error(e.message);
    return json(500, e.message, "fix the worker's environment (edge/README.md lists every setting)");
  }
  const origin = request.headers.get("origin");
  if (origin === null || !cfg.origins.includes(origin)) {
    return json(403, origin === null ? "requests without an Origin header are refused" : "this origin may not use this relay", "the relay's operator lists the page origins it serves in RELAY_ALLOWED_ORIGINS", { vary: "Origin" });
  }
  const cors = { "access-control-allow-origin": origin, vary: "Origin" };
  if (request.method === "OPTIONS") {
    // Preflights carry no custom headers, so no token: they only say what the POST may send.
    return new Response(null, {
      status: 204,
      headers: { ...cors, "access-control-allow-methods": "GET, POST", "access-control-allow-headers": `authorization, content-type, accept, ${TOKEN_HEADER}`, "access-control-max-age": "600" },
    });
  }
  const get = request.method === "GET";
  if (!get && request.method !== "POST") return json(405, "only uploads (POST) and index reads (GET) are relayed", undefined, { ...cors, allow: "GET, POST, OPTIONS" });
  if (cfg.token !== undefined && !sameText(request.headers.get(TOKEN_HEADER) ?? "", cfg.token)) {
    return json(401, "this relay needs its token", `send it in the ${TOKEN_HEADER} header`, cors);
  }
  const upstream = new URL(request.url).searchParams.get("upstream");
  if (!upstream) return json(400, "no upstream: call <relay>?upstream=<upload URL>", undefined, cors);
  // Uploads go only to a listed upload URL; reads (no body) anywhere on a listed URL's origin,
  // where the registry keeps its index.
  if (get ? !cfg.upstreams.some((u) => sameOrigin(u, upstream)) : !cfg.upstreams.includes(upstream)) {
    return json(403, "this upstream is not one the relay forwards to", "the relay's operator lists the upload URLs it serves in RELAY_UPSTREAMS", cors);
  }
  const headers = new Headers();
  for (const h of get ? ["authorization", "accept"] : FORWARDED) {
    const v = request.headers.get(h);
    if (v !== null) headers.set(h, v);
  }
  let reply;
  try {
    reply = get ? await fetch(upstream, { method: "GET", headers, redirect: "manual" }) : await fetch(upstream, { method: "POST", headers, body: request.body, redirect: "manual", duplex: "half" });
  } catch {
    // The runtime's message can name hosts, addresses and credentials in URLs: not for the page.
    return json(502, "the registry could not be reached", "try again later; if it persists, tell the relay's operator", cors);
  }
  const out = new Headers(reply.headers);
  // The upstream's own CORS headers and cookies are not the relay's to pass on: with
  // Allow-Credentials a page could make the browser send the relay's cookies.
  for (const k of [...out.keys()]) if (k.startsWith("access-control-") || k === "set-cookie") out.delete(k);
  // Deno's and Bun's fetch hand the body over decoded: the upstream's Content-Encoding and
  // Content-Length would label plain bytes as gzip ("incorrect header check" in the page). The
  // runtime frames the body it sends, and compresses it where it does that, itself.
  for (const k of ["content-encoding", "content-length", "transfer-encoding"]) out.delete(k);
  for (const [k, v] of Object.entries(cors)) out.set(k, v);
  out.set("access-control-expose-headers", "location, retry-after, content-type");
  return new Response(reply.body, { status: reply.status, statusText: reply.statusText, headers: out });
}

export default { fetch: relay };
