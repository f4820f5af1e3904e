// A real pypiserver on 127.0.0.1, for the demo (scripts/demo.mjs) and the tests. It lives
// outside tests/ so the demo, which a fresh machine runs before any test tool is installed,
// imports nothing that needs Playwright or the test venv's other packages.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import net from "node:net";

export const root = fileURLToPath(new URL("..", import.meta.url));
export const venv = (bin) => join(root, ".venv/bin", bin);

/** A port nobody listens on right now (the OS picks it). */
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

/** Polls `url` until it answers, failing early if `child` exits. */
export async function waitFor(url, child, what, tries = 150) {
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

/** Stops a child by PID (SIGTERM) and resolves once it has exited. */
export function stopper(child) {
  return async () => {
    if (child.exitCode !== null) return;
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
  };
}

/**
 * pypiserver with one htpasswd user; uploads need that user. `stop()` removes what it stored
 * (tests and benchmarks upload up to a GiB each), unless `keep` (the demo tells its user where
 * the uploads are).
 */
export async function startPypiserver({ user = "alice", password = "s3cret-pw", keep = false } = {}) {
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
  const halt = stopper(child);
  const stop = async () => {
    await halt();
    if (!keep) rmSync(dir, { recursive: true, force: true });
  };
  return { url, simple: `${url}simple/`, user, password, packages: pkgs, stop };
}
