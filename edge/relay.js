// CORS relay for registries that send no CORS headers (PyPI, TestPyPI, pypiserver), as an ES
// module worker (Cloudflare Workers/workerd, Deno, Bun). A page calls
//   POST <relay>/?upstream=<upload URL>
// with the multipart body and Authorization it would have sent to the registry; the relay
// checks the page's origin and the upstream against allowlists, forwards the body unbuffered,
// and returns the registry's reply with Access-Control-Allow-Origin added.
//
// Environment:
//   RELAY_ALLOWED_ORIGINS  comma-separated page origins (required; "*" is refused)
//   RELAY_UPSTREAMS        comma-separated upload URLs (default PyPI's and TestPyPI's)
//
// It never logs or echoes request headers or bodies: credentials pass through untouched.

const DEFAULT_UPSTREAMS = ["https://upload.pypi.org/legacy/", "https://test.pypi.org/legacy/"];
const FORWARDED = ["content-type", "content-length", "authorization", "accept"];

const list = (v) =>
  String(v ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);

function json(status, error, hint, headers = {}) {
  return new Response(JSON.stringify({ error, hint }), { status, headers: { "content-type": "application/json", ...headers } });
}

/** The relay's configuration from the worker's environment. */
export function relayConfig(env = {}) {
  const origins = list(env.RELAY_ALLOWED_ORIGINS).map((o) => o.replace(/\/+$/, ""));
  const upstreams = env.RELAY_UPSTREAMS ? list(env.RELAY_UPSTREAMS) : DEFAULT_UPSTREAMS;
  return { origins: origins.filter((o) => o !== "*"), upstreams };
}

/** Handles one request. */
export async function relay(request, env = {}) {
  const { origins, upstreams } = relayConfig(env);
  const origin = request.headers.get("origin");
  const allowed = origin !== null && origins.includes(origin);
  const cors = allowed ? { "access-control-allow-origin": origin, vary: "Origin" } : { vary: "Origin" };
  if (!allowed) {
    return json(403, origin ? `origin ${origin} may not use this relay` : "requests without an Origin header are refused", "add the page's origin to RELAY_ALLOWED_ORIGINS", { vary: "Origin" });
  }
  if (request.method === "OPTIONS") {
    return new Response(null, {
      status: 204,
      headers: { ...cors, "access-control-allow-methods": "POST", "access-control-allow-headers": "authorization, content-type, accept", "access-control-max-age": "600" },
    });
  }
  if (request.method !== "POST") return json(405, `method ${request.method} is not relayed; only POST uploads are`, undefined, { ...cors, allow: "POST, OPTIONS" });
  const upstream = new URL(request.url).searchParams.get("upstream");
  if (!upstream) return json(400, "no upstream: call <relay>?upstream=<upload URL>", undefined, cors);
  if (!upstreams.includes(upstream)) {
    return json(403, `upstream ${redact(upstream)} is not allowed`, `allowed: ${upstreams.join(", ")}; set RELAY_UPSTREAMS to change them`, cors);
  }
  const headers = new Headers();
  for (const h of FORWARDED) {
    const v = request.headers.get(h);
    if (v !== null) headers.set(h, v);
  }
  let reply;
  try {
    reply = await fetch(upstream, { method: "POST", headers, body: request.body, redirect: "manual", duplex: "half" });
  } catch (e) {
    return json(502, `the registry could not be reached: ${e?.message ?? e}`, "check RELAY_UPSTREAMS and the registry's status", cors);
  }
  const out = new Headers(reply.headers);
  for (const [k, v] of Object.entries(cors)) out.set(k, v);
  out.set("access-control-expose-headers", "location, retry-after, content-type");
  out.delete("set-cookie");
  return new Response(reply.body, { status: reply.status, statusText: reply.statusText, headers: out });
}

function redact(u) {
  try {
    const url = new URL(u);
    url.username = "";
    url.password = "";
    return url.href;
  } catch {
    return "(not a URL)";
  }
}

export default { fetch: relay };
