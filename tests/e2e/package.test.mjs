// The npm package as users get it: `npm pack`, installed from the tarball into an empty
// directory (no network: it has no dependencies), then the CLI through npx under Node 20 and the
// module from Deno and Bun, against a real pypiserver.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { root, startPypiserver } from "./servers.mjs";

const corpus = join(root, "tests/fixtures/corpus");
const bin = (name) => join(root, "node_modules/.bin", name);
let dir;
let tarball;

const run = (cmd, args, opts = {}) => spawnSync(cmd, args, { encoding: "utf8", cwd: dir, ...opts, env: { ...process.env, npm_config_update_notifier: "false", ...opts.env } });

before(() => {
  const out = mkdtempSync(join(tmpdir(), "pypublish-pack-"));
  const pack = spawnSync("npm", ["pack", "--silent", "--pack-destination", out], { cwd: root, encoding: "utf8" });
  assert.equal(pack.status, 0, pack.stderr);
  tarball = join(out, pack.stdout.trim().split("\n").pop());
  dir = mkdtempSync(join(tmpdir(), "pypublish-user-"));
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "user", private: true, type: "module" }));
  const install = run("npm", ["install", "--offline", "--no-audit", "--no-fund", "--loglevel=error", tarball]);
  assert.equal(install.status, 0, install.stderr);
});


test("package: the tarball holds the built wasm package, its types, the CLI and the edge workers, and no sources or tests", () => {
  const list = spawnSync("tar", ["tzf", tarball], { encoding: "utf8" }).stdout.split("\n").map((l) => l.replace(/^package\//, ""));
  for (const f of ["pkg/pypublish.js", "pkg/pypublish_bg.wasm", "pkg/pypublish.d.ts", "bin/pypublish.mjs", "bin/node-fetch.mjs", "edge/hook.js", "edge/relay.js", "package.json", "README.md"]) {
    assert.ok(list.includes(f), `${f} is in the tarball`);
  }
  assert.ok(!list.some((f) => /^(src|tests|scripts|target|www)\//.test(f)), list.join("\n"));
});

test("package: installed in an empty directory, npx pypublish checks and uploads to pypiserver under Node 20", async () => {
  const reg = await startPypiserver();
  try {
    const wheel = join(corpus, "pp_hatch_demo-1.2.3-py3-none-any.whl");
    const check = run("npx", ["--no-install", "pypublish", "check", wheel]);
    assert.equal(check.status, 0, check.stderr);
    assert.match(check.stdout, /ok +pp_hatch_demo-1\.2\.3-py3-none-any\.whl/);
    const up = run("npx", ["--no-install", "pypublish", "upload", "--json", "--repository-url", reg.url, "-u", reg.user, "-p", reg.password, wheel]);
    assert.equal(up.status, 0, up.stderr);
    assert.equal(JSON.parse(up.stdout).status, "uploaded");
    assert.deepEqual(readdirSync(reg.packages), ["pp_hatch_demo-1.2.3-py3-none-any.whl"]);
  } finally {
    await reg.stop();
  }
});

for (const runtime of ["deno", "bun"]) {
  test(`package: the installed module imports and publishes under ${runtime}`, async () => {
    const reg = await startPypiserver();
    try {
      const script = join(dir, `publish-${runtime}.mjs`);
      writeFileSync(
        script,
        `import { readFileSync } from "node:fs";
import init, { publish } from "pypublish";
await init({ module_or_path: readFileSync(new URL(import.meta.resolve("pypublish/wasm"))) });
const [url, user, password, path] = ${runtime === "deno" ? "Deno.args" : "process.argv.slice(2)"};
const reports = await publish({ repositoryUrl: url, username: user, password, files: [{ file: new Blob([readFileSync(path)]), filename: path.split("/").pop() }] });
console.log(JSON.stringify(reports));
`,
      );
      const wheel = join(corpus, "six-1.16.0-py2.py3-none-any.whl");
      const args = runtime === "deno" ? ["run", "--quiet", "--allow-read", "--allow-net", "--allow-env", script] : [script];
      const r = run(bin(runtime), [...args, reg.url, reg.user, reg.password, wheel], { env: { DENO_NO_UPDATE_CHECK: "1" } });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(JSON.parse(r.stdout)[0].status, "uploaded", r.stdout);
      assert.deepEqual(readdirSync(reg.packages), ["six-1.16.0-py2.py3-none-any.whl"]);
    } finally {
      await reg.stop();
    }
  });
}
