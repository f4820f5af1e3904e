// Real registries and small misbehaving servers on 127.0.0.1 for the end-to-end tests.
import { spawn, spawnSync } from "node:child_process";
import { createServer } from "node:http";
import { mkdtempSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import net from "node:net";

export const root = new URL("../..", import.meta.url).pathname;
export const venv = (bin) => join(root, ".venv/bin", bin);

export async function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function waitFor(url, child, what, tries = 150) {
  for (let i = 0; i < tries; i++) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}`);
    try {
      const r = await fetch(url);
      await r.arrayBuffer();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  throw new Error(`${what} did not come up at ${url}`);
}

function stopper(child) {
  return async () => {
    if (child.exitCode !== null) return;
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
  };
}

/** pypiserver with one htpasswd user; uploads need that user. */
export async function startPypiserver({ user = "alice", password = "s3cret-pw" } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "pypiserver-"));
  const pkgs = join(dir, "packages");
  mkdirSync(pkgs);
  const htpasswd = join(dir, "htpasswd");
  const r = spawnSync(venv("python"), ["-c", `from passlib.apache import HtpasswdFile as H; h=H(${JSON.stringify(htpasswd)}, new=True); h.set_password(${JSON.stringify(user)}, ${JSON.stringify(password)}); h.save()`]);
  if (r.status !== 0) throw new Error(`htpasswd: ${r.stderr}`);
  const port = await freePort();
  const child = spawn(venv("pypi-server"), ["run", "-i", "127.0.0.1", "-p", String(port), "-P", htpasswd, "-a", "update", pkgs], { stdio: "ignore" });
  const url = `http://127.0.0.1:${port}/`;
  await waitFor(url, child, "pypiserver");
  return { url, simple: `${url}simple/`, user, password, packages: pkgs, stop: stopper(child) };
}

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
export async function startServer(handler) {
  const requests = [];
  const server = createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const rec = { method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks) };
    requests.push(rec);
    handler(rec, res, requests.length);
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address();
  return { url: `http://127.0.0.1:${port}/`, port, requests, stop: () => new Promise((r) => server.close(r)) };
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
        block = os.urandom(1 << 20) if rand else bytes(range(256)) * 4096
        for _ in range(mib):
            f.write(block)
`, path, project, String(mib), random ? "1" : "0"], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`making ${path}: ${r.stderr}`);
  return path;
}
