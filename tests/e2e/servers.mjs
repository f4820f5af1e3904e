// Real registries and small misbehaving servers on 127.0.0.1 for the end-to-end tests.
import { spawn, spawnSync } from "node:child_process";
import { createServer } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { createReadStream, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { chromium } from "playwright-core";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { root, venv, freePort, waitFor, stopper, startPypiserver } from "../../scripts/pypiserver.mjs";

// pypiserver lives beside the demo that also starts it; the tests import it from here.
export { root, venv, freePort, startPypiserver };

/** devpi-server with user alice and a non-volatile index alice/stable. */
export async function startDevpi({ user = "alice", password = "devpi-pw" } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "devpi-"));
  const serverdir = join(dir, "server");
  const clientdir = join(dir, "client");
  let r = spawnSync(venv("devpi-init"), ["--serverdir", serverdir, "--no-root-pypi"], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`devpi-init: ${r.stderr}`);
  const port = await freePort();
  const child = spawn(venv("devpi-server"), ["--serverdir", serverdir, "--host", "127.0.0.1", "--port", String(port)], { stdio: "ignore" });
  const base = `http://127.0.0.1:${port}`;
  await waitFor(`${base}/+api`, child, "devpi-server", 300);
  const devpi = (...args) => {
    const out = spawnSync(venv("devpi"), [...args, "--clientdir", clientdir], { encoding: "utf8" });
    if (out.status !== 0) throw new Error(`devpi ${args.join(" ")}: ${out.stdout}${out.stderr}`);
  };
  devpi("use", base);
  devpi("user", "-c", user, `password=${password}`, "email=alice@example.invalid");
  devpi("login", user, "--password", password);
  devpi("index", "-c", "stable", "volatile=False", "bases=");
  return { url: `${base}/${user}/stable/`, simple: `${base}/${user}/stable/+simple/`, user, password, stop: stopper(child) };
}

/** A plain HTTP server whose handler decides each reply; records every request. */
let tlsFiles;
/** A self-signed certificate for 127.0.0.1 (made once per run with openssl); give `ca` to
 * clients as NODE_EXTRA_CA_CERTS. */
export function testCertificate() {
  if (tlsFiles) return tlsFiles;
  const dir = mkdtempSync(join(tmpdir(), "pypublish-tls-"));
  const key = join(dir, "key.pem");
  const cert = join(dir, "cert.pem");
  const r = spawnSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`openssl could not make a test certificate: ${r.stderr}`);
  tlsFiles = { key: readFileSync(key), cert: readFileSync(cert), ca: cert };
  return tlsFiles;
}

/** A recording HTTP server on 127.0.0.1 (HTTPS with `{ tls: true }`, see testCertificate). */
export async function startServer(handler, { tls = false } = {}) {
  const requests = [];
  // Requests the client cut before their end, with what had arrived: never handled.
  const cut = [];
  const make = tls ? (h) => createHttpsServer({ key: testCertificate().key, cert: testCertificate().cert }, h) : createServer;
  const server = make(async (req, res) => {
    const chunks = [];
    try {
      for await (const c of req) chunks.push(c);
    } catch {
      return cut.push({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks) });
    }
    const rec = { method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks) };
    requests.push(rec);
    handler(rec, res, requests.length);
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address();
  return { url: `${tls ? "https" : "http"}://127.0.0.1:${port}/`, port, requests, cut, stop: () => new Promise((r) => { server.closeAllConnections?.(); server.close(r); }) };
}

/** Runs the CLI without blocking this process (servers here must keep answering). */
export function cli(args, env = {}) {
  return new Promise((resolve) => {
    const child = spawn("node", [join(root, "bin/pypublish.mjs"), ...args], { env: { ...process.env, ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("exit", (code) =>
      resolve({ code, stdout, stderr, json: args.includes("--json") && stdout.trim() ? stdout.trim().split("\n").map((l) => JSON.parse(l)) : [] }),
    );
  });
}

/**
 * Writes `<project>-1.0-py3-none-any.whl` in `dir` with a `mib` MiB stored payload (repeating
 * bytes, or random ones with `random`), streamed by Python's zipfile (zip64 when needed).
 */
export function makeWheel(dir, project, mib, { random = false } = {}) {
  const path = join(dir, `${project}-1.0-py3-none-any.whl`);
  const r = spawnSync(venv("python"), ["-c", `
import os, sys, zipfile
path, name, mib, rand = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == "1"
with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
    z.writestr(f"{name}-1.0.dist-info/METADATA", f"Metadata-Version: 2.1\\nName: {name}\\nVersion: 1.0\\n")
    z.writestr(f"{name}-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\\nGenerator: pypublish-tests\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n")
    z.writestr(f"{name}-1.0.dist-info/RECORD", "")
    with z.open(f"{name}/payload.bin", "w", force_zip64=True) as f:
        # Random: every MiB its own, so no two chunks of the file are alike.
        block = bytes(range(256)) * 4096
        for _ in range(mib):
            f.write(os.urandom(1 << 20) if rand else block)
`, path, project, String(mib), random ? "1" : "0"], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`making ${path}: ${r.stderr}`);
  return path;
}

/**
 * Static files for stream sources: `files` maps a name to a path or to bytes. HEAD, exact
 * Content-Length and Range requests, as release-asset hosts serve them; records each request.
 */
export async function startAssetServer(files) {
  const requests = [];
  const server = createServer((req, res) => {
    requests.push({ method: req.method, url: req.url, range: req.headers.range });
    const entry = files[decodeURIComponent(req.url.slice(1))];
    if (entry === undefined) return res.writeHead(404).end("no such asset");
    const size = typeof entry === "string" ? statSync(entry).size : entry.length;
    const send = (status, start, end, extra = {}) => {
      res.writeHead(status, { "content-length": end - start + 1, "accept-ranges": "bytes", ...extra });
      if (req.method === "HEAD") return res.end();
      if (typeof entry !== "string") return res.end(entry.subarray(start, end + 1));
      if (end < start) return res.end();
      createReadStream(entry, { start, end }).pipe(res);
    };
    const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? "");
    if (m) {
      const [s, e] = [Number(m[1]), Math.min(Number(m[2]), size - 1)];
      return send(206, s, e, { "content-range": `bytes ${s}-${e}/${size}` });
    }
    send(200, 0, size - 1);
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return { base: `http://127.0.0.1:${server.address().port}/`, requests, stop: () => new Promise((r) => server.close(r)) };
}

/** Debian's Chromium, headless, with the flags this closed network needs. */
export function launchChromium(extraArgs = []) {
  return chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", ...extraArgs],
  });
}

/**
 * Replaces the section of BENCHMARKS.md that starts with `heading` where it stands (a script
 * run alone keeps the file's order), or appends it.
 */
export function writeBenchSection(heading, text) {
  const path = join(root, "BENCHMARKS.md");
  const doc = readFileSync(path, "utf8");
  const at = doc.indexOf(heading);
  if (at >= 0) {
    const next = doc.indexOf("\n## ", at + heading.length);
    const body = text.endsWith("\n") ? text : `${text}\n`;
    return writeFileSync(path, doc.slice(0, at) + body + (next >= 0 ? `\n${doc.slice(next + 1)}` : ""));
  }
  writeFileSync(path, (doc.endsWith("\n\n") || doc === "" ? doc : doc.endsWith("\n") ? `${doc}\n` : `${doc}\n\n`) + text);
}
