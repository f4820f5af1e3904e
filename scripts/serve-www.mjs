#!/usr/bin/env node
// Serves the page (www/, and under /pkg/ its own wasm package, pkg-www/: the core with the
// release preview, which the npm package in pkg/ leaves out) on 127.0.0.1 with a strict
// Content-Security-Policy whose connect-src names only this origin and the origins given.
// With `registry`, /registry/* is a same-origin relay to that registry (request and reply
// bodies streamed, nothing logged), so the page can upload to a registry that sends no CORS
// headers. Used by scripts/start (the demo), the browser tests and the page benchmark.
//
//   node scripts/serve-www.mjs [--port N] [--registry URL] [--connect ORIGIN]...
import { createServer, request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { readFile } from "node:fs/promises";
import { extname, join, normalize, sep } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const TYPES = { ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".wasm": "application/wasm", ".json": "application/json", ".ts": "text/plain; charset=utf-8" };

/** The page's policy, with connect-src limited to `connect` (origins) and this origin. */
export function policy(connect, meta = false) {
  return [
    "default-src 'none'",
    "script-src 'self' 'wasm-unsafe-eval'",
    "style-src 'self'",
    "img-src 'self' data:",
    `connect-src ${["'self'", ...connect].join(" ")}`,
    "base-uri 'none'",
    "form-action 'none'",
    // Only a header can say this; a <meta> policy ignores it with a console warning.
    meta ? null : "frame-ancestors 'none'",
  ]
    .filter(Boolean)
    .join("; ");
}

/** The /config.json that makes the page's default registry the relayed one at /registry/. */
export function demoConfig({ username = "demo", simpleUrl }) {
  return { demo: { repositoryUrl: "/registry/", username, simpleUrl } };
}

/**
 * Starts the server. `config` is served as /config.json (the page reads its demo registry
 * there); `registry` is the upstream of /registry/. Resolves to `{ url, stop }`.
 */
export async function serveWww({ port = 0, registry, connect = [], config = {} } = {}) {
  const origins = connect.map((c) => new URL(c).origin);
  const csp = policy(origins);
  const server = createServer(async (req, res) => {
    const url = new URL(req.url, "http://x");
    if (registry && url.pathname.startsWith("/registry/")) {
      const target = relayTarget(registry, url);
      return target ? relay(req, res, target) : send(res, 400, "text/plain", "the demo relay forwards only to its registry\n");
    }
    if (req.method !== "GET" && req.method !== "HEAD") return res.writeHead(405, { allow: "GET, HEAD" }).end("method not allowed\n");
    let file;
    if (url.pathname === "/config.json") return send(res, 200, TYPES[".json"], JSON.stringify(config));
    if (url.pathname === "/" || url.pathname === "/index.html") file = join(root, "www/index.html");
    else if (url.pathname.startsWith("/pkg/")) file = join(root, "pkg-www", normalize(decodeURIComponent(url.pathname.slice(5))).replace(/^(\.\.[/\\])+/, ""));
    else file = join(root, "www", normalize(decodeURIComponent(url.pathname)).replace(/^(\.\.[/\\])+/, ""));
    if (!file.startsWith(join(root, "www") + sep) && !file.startsWith(join(root, "pkg-www") + sep)) return send(res, 404, "text/plain", "not found\n");
    let body;
    try {
      body = await readFile(file);
    } catch {
      return send(res, 404, "text/plain", "not found\n");
    }
    if (file.endsWith("index.html")) {
      // The header and the meta tag would both apply (the stricter wins): keep them equal.
      body = Buffer.from(body.toString("utf8").replace(/(http-equiv="Content-Security-Policy" content=")[^"]*/, `$1${policy(origins, true)}`));
    }
    send(res, 200, TYPES[extname(file)] ?? "application/octet-stream", body, req.method === "HEAD");
  });
  function send(res, status, type, body, head = false) {
    res.writeHead(status, {
      "content-type": type,
      "content-security-policy": csp,
      "x-content-type-options": "nosniff",
      "referrer-policy": "no-referrer",
      "cache-control": "no-store",
    });
    res.end(head ? undefined : body);
  }
  await new Promise((r, j) => server.once("error", j).listen(port, "127.0.0.1", r));
  const url = `http://127.0.0.1:${server.address().port}/`;
  return {
    url,
    stop: () => new Promise((r) => (server.closeAllConnections?.(), server.close(r))),
  };
}

/**
 * Where `/registry/<rest>` goes: `<rest>` under the registry's URL, or null when it would
 * leave it. The rest is appended as text, never resolved as a URL reference, since
 * `http://other/` or `//other/` would resolve to another host: the relay must not be an
 * open proxy that carries the page's Authorization anywhere.
 */
export function relayTarget(registry, url) {
  const base = new URL(registry);
  base.search = "";
  base.hash = "";
  const root = base.href.endsWith("/") ? base.href : `${base.href}/`;
  let target;
  try {
    target = new URL(root + url.pathname.slice("/registry/".length).replace(/^[/\\]+/, "") + url.search);
  } catch {
    return null;
  }
  return target.origin === base.origin && target.href.startsWith(root) ? target : null;
}

/** Forwards one request to the registry, bodies streamed both ways. */
function relay(req, res, target) {
  const headers = { ...req.headers, host: target.host };
  delete headers.origin;
  delete headers.referer;
  delete headers.cookie;
  const up = (target.protocol === "https:" ? httpsRequest : httpRequest)(target, { method: req.method, headers }, (r) => {
    res.writeHead(r.statusCode, r.statusMessage, r.headers);
    r.pipe(res);
  });
  up.on("error", (e) => {
    if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain" });
    res.end(`the demo relay could not reach the registry: ${e.code ?? e.message}\n`);
  });
  req.pipe(up);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const opt = { connect: [] };
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--port") opt.port = Number(args[++i]);
    else if (args[i] === "--registry") opt.registry = args[++i];
    else if (args[i] === "--connect") opt.connect.push(args[++i]);
    else {
      console.error(`usage: serve-www.mjs [--port N] [--registry URL] [--connect ORIGIN]...  (unknown: ${args[i]})`);
      process.exit(2);
    }
  }
  const s = await serveWww(opt);
  console.log(`serving the page at ${s.url}`);
}
