// The README's start command itself (scripts/start: the demo's bootstrap, the page's build, then
// scripts/demo.mjs) must print a working page URL, credentials and pip line, take an upload
// through the page's relay, and stop everything on Ctrl-C. scripts/test has built the packages
// and installed the tools, so here start only checks them.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { root, venv, cli } from "./servers.mjs";

test("demo: scripts/start prints the page, credentials and pip line; an upload through its relay installs; Ctrl-C stops both servers", async () => {
  // `exec` in scripts/start makes this pid the demo's own, so Ctrl-C reaches it.
  const child = spawn(join(root, "scripts/start"), ["--port", "0"], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (out += d));
  for (let i = 0; i < 600 && !out.includes("Ctrl-C stops"); i++) await new Promise((r) => setTimeout(r, 100));
  const page = /page:\s+(\S+)/.exec(out)?.[1];
  const password = /password:\s+(\S+)/.exec(out)?.[1];
  const index = /--index-url (\S+)/.exec(out)?.[1];
  assert.ok(page && password && index, out);
  try {
    const html = await (await fetch(page)).text();
    assert.match(html, /id="dropzone"/);
    const config = await (await fetch(`${page}config.json`)).json();
    assert.equal(config.demo.repositoryUrl, "/registry/");

    const wheel = join(root, "tests/fixtures/corpus/pp_setuptools_demo-0.1.0-py3-none-any.whl");
    const r = await cli(["upload", "--json", "--repository-url", `${page}registry/`, "-u", "demo", "-p", password, wheel]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json[0].status, "uploaded");
    const dl = mkdtempSync(join(tmpdir(), "demo-pip-"));
    const pip = spawnSync(venv("python"), ["-m", "pip", "--isolated", "--disable-pip-version-check", "download", "--no-deps", "--index-url", index, "-d", dl, "pp_setuptools_demo==0.1.0"], { encoding: "utf8" });
    assert.equal(pip.status, 0, pip.stderr);
    const sha = (p) => createHash("sha256").update(readFileSync(p)).digest("hex");
    assert.equal(sha(join(dl, "pp_setuptools_demo-0.1.0-py3-none-any.whl")), sha(wheel));
  } finally {
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGINT");
    assert.equal(await exited, 0);
  }
  await assert.rejects(fetch(page), "the page server stopped");
  await assert.rejects(fetch(index), "pypiserver stopped");
});
