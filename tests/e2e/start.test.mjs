// The first run (scripts/start): the demo installs and imports only what it needs, so a fresh
// machine serves the page without the test tools (Chromium, Playwright, Deno, Bun, workerd, devpi).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

import { root } from "../../scripts/pypiserver.mjs";

/** Every module scripts/demo.mjs loads: relative imports followed, packages named. */
function importGraph(entry) {
  const seen = new Set();
  const packages = new Set();
  const visit = (file) => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(file, "utf8");
    for (const [, spec] of text.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+["']([^"']+)["']/gm)) {
      if (spec.startsWith(".")) visit(resolve(dirname(file), spec));
      else if (!spec.startsWith("node:")) packages.add(spec);
    }
  };
  visit(entry);
  return { files: [...seen].map((f) => f.slice(root.length)), packages: [...packages] };
}

test("start: the demo imports nothing from tests/ and no npm package, so Playwright need not be installed", () => {
  const { files, packages } = importGraph(join(root, "scripts/demo.mjs"));
  assert.ok(files.includes("scripts/pypiserver.mjs"), files.join(", "));
  assert.deepEqual(files.filter((f) => f.startsWith("tests/")), []);
  assert.deepEqual(packages, []);
});

test("start: scripts/start runs the demo's bootstrap, never the test tools'; scripts/bootstrap still runs both for scripts/test", () => {
  const start = readFileSync(join(root, "scripts/start"), "utf8");
  assert.match(start, /^"\$root\/scripts\/bootstrap-demo"/m);
  assert.doesNotMatch(start, /bootstrap(-test)?"?\s*$/m);
  const demo = readFileSync(join(root, "scripts/bootstrap-demo"), "utf8").replace(/^\s*#.*$/gm, "");
  for (const tool of ["chromium", "playwright", "deno", "bun", "workerd", "devpi", "twine", "requirements-test", "npm ci"]) assert.ok(!demo.toLowerCase().includes(tool), `bootstrap-demo installs ${tool}`);
  const all = readFileSync(join(root, "scripts/bootstrap"), "utf8");
  assert.match(all, /bootstrap-demo"/);
  assert.match(all, /bootstrap-test"/);
});

test("start: scripts/bootstrap-demo on a machine that has everything changes nothing and says nothing", () => {
  for (let i = 0; i < 2; i++) {
    const r = spawnSync(join(root, "scripts/bootstrap-demo"), [], { cwd: root, encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout + r.stderr, "", "nothing was missing, so nothing was installed");
  }
});
