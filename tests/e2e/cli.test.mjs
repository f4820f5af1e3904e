// End-to-end tests of the wasm package in Node and of the CLI built on it (node:test).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { openAsBlob, readFileSync, readdirSync, writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import init, { inspect, planUpload } from "../../pkg/pypublish.js";

const root = new URL("../..", import.meta.url).pathname;
const corpus = join(root, "tests/fixtures/corpus");
const dists = readdirSync(corpus).filter((f) => /\.(whl|tar\.gz|zip)$/.test(f));
await init({ module_or_path: readFileSync(join(root, "pkg/pypublish_bg.wasm")) });

test("inspect reads every corpus file from an fs.openAsBlob Blob", async () => {
  assert.ok(dists.length >= 10);
  for (const name of dists) {
    const path = join(corpus, name);
    const r = await inspect(await openAsBlob(path), { filename: name });
    assert.equal(r.filename.raw, name);
    assert.equal(r.digests.sha256, createHash("sha256").update(readFileSync(path)).digest("hex"));
    assert.ok(r.form.some((f) => f.name === "name"), name);
  }
});

test("planUpload gives an exact Content-Length and a Blob body that matches it", async () => {
  const name = dists.find((n) => n.endsWith(".whl"));
  const file = await openAsBlob(join(corpus, name));
  const r = await inspect(file, { filename: name });
  const plan = planUpload(r.form, name, file.size);
  const body = new Blob([plan.head, file, plan.tail]);
  assert.equal(body.size, plan.contentLength);
  assert.ok(plan.boundary.length >= 32);
  assert.match(plan.contentType, /^multipart\/form-data; boundary=/);
  assert.throws(() => planUpload(r.form, 'evil"\r\nX: 1.whl', 1), (e) => e.kind === "multipart");
});

test("CLI inspect --json prints one object per file, and the human form shows the form fields", () => {
  const files = dists.slice(0, 3).map((n) => join(corpus, n));
  const out = execFileSync("node", [join(root, "bin/pypublish.mjs"), "inspect", "--json", ...files], { encoding: "utf8" });
  const lines = out.trim().split("\n").map((l) => JSON.parse(l));
  assert.equal(lines.length, 3);
  for (const l of lines) assert.equal(l.ok, true);
  const human = execFileSync("node", [join(root, "bin/pypublish.mjs"), "inspect", files[0]], { encoding: "utf8" });
  assert.match(human, /sha256_digest/);
});

test("CLI check fails with the reason for a bad file and 2 for usage errors", () => {
  const dir = mkdtempSync(join(tmpdir(), "pypublish-"));
  const bad = join(dir, "demo-1.0-py3-none-any.whl");
  writeFileSync(bad, "not a zip at all");
  const r = spawnSync("node", [join(root, "bin/pypublish.mjs"), "check", bad], { encoding: "utf8" });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /not a valid zip archive/);
  const u = spawnSync("node", [join(root, "bin/pypublish.mjs"), "frobnicate"], { encoding: "utf8" });
  assert.equal(u.status, 2);
});
