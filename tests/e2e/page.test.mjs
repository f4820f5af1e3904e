// The drag-and-drop page in Debian's Chromium, driven by Playwright: real drops, real uploads
// to pypiserver through the page's same-origin relay, the decoded failures a person sees, and
// axe-core's accessibility rules on every state. Screenshots of each state, at 1280 and 375 px,
// go to target/test-artifacts/ (page-<state>-<width>.png), with axe's findings beside them.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { root, venv, cli, makeWheel, startPypiserver, startServer, launchChromium } from "./servers.mjs";
import { demoConfig, serveWww } from "../../scripts/serve-www.mjs";
import * as core from "../../pkg/pypublish.js";

const corpus = join(root, "tests/fixtures/corpus");
const artifacts = join(root, "target/test-artifacts");
mkdirSync(artifacts, { recursive: true });
const WHEEL = "pp_hatch_demo-1.2.3-py3-none-any.whl";
const SDIST = "pp_hatch_demo-1.2.3.tar.gz";
const AXE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
// The engine's options that these tests' expectations rest on arrive with the contract's
// helper exports (`surface`, `verified` skips, consistent invalid-file texts).
const CORE_API = typeof core.sanitize === "function";

let browser;
before(async () => {
  browser = await launchChromium();
});
after(async () => browser?.close());

async function open(url, { width = 1280, height = 900 } = {}) {
  const context = await browser.newContext({ viewport: { width, height }, permissions: ["clipboard-read", "clipboard-write"] });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.close = async () => context.close();
  await page.goto(url);
  await page.waitForSelector("html[data-ready]");
  return { page, errors };
}

/** Drops files on #dropzone with a real `drop` event whose DataTransfer carries File objects. */
async function drop(page, files) {
  const payload = files.map(({ name, bytes }) => ({ name, b64: Buffer.from(bytes).toString("base64") }));
  const dt = await page.evaluateHandle((items) => {
    const dt = new DataTransfer();
    for (const { name, b64 } of items) dt.items.add(new File([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], name));
    return dt;
  }, payload);
  await page.dispatchEvent("#dropzone", "dragenter", { dataTransfer: dt });
  await page.dispatchEvent("#dropzone", "dragover", { dataTransfer: dt });
  await page.dispatchEvent("#dropzone", "drop", { dataTransfer: dt });
}

const fromCorpus = (...names) => names.map((name) => ({ name, bytes: readFileSync(join(corpus, name)) }));
const row = (page, name) => page.locator(`[data-file="${name}"]`);
const statusOf = (page, name) => row(page, name).getAttribute("data-status");
async function waitStatus(page, name, statuses, timeout = 60_000) {
  await page.waitForSelector(statuses.map((s) => `[data-file="${name}"][data-status="${s}"]`).join(", "), { timeout });
  return statusOf(page, name);
}
const sha256 = (buf) => createHash("sha256").update(buf).digest("hex");

/** axe-core's serious and critical findings on the page as it is now (all findings saved beside the screenshots). */
async function axe(page, state) {
  // Evaluated through DevTools, which the page's CSP does not govern; a <script> tag would be refused.
  await page.evaluate(`${AXE}\n;undefined`);
  const result = await page.evaluate(() => globalThis.axe.run(document, { resultTypes: ["violations"] }));
  const found = result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(" ")) }));
  writeFileSync(join(artifacts, `axe-${state}.json`), JSON.stringify(found, null, 2));
  return found.filter((v) => v.impact === "serious" || v.impact === "critical");
}

/**
 * Screenshots the state at 1280 and at 375 px (full page), checks that nothing scrolls
 * sideways at 375 px, and runs axe at both widths. Returns to the original width.
 */
async function capture(page, state, { runAxe = true } = {}) {
  const original = page.viewportSize();
  for (const width of [1280, 375]) {
    await page.setViewportSize({ width, height: 900 });
    await page.screenshot({ path: join(artifacts, `page-${state}-${width}.png`), fullPage: true });
    if (width === 375) {
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(overflow <= 375, `${state}: at 375 px the page is ${overflow} px wide, so it scrolls sideways`);
    }
    if (runAxe) assert.deepEqual(await axe(page, `${state}-${width}`), [], `${state} at ${width} px: serious or critical axe violations`);
  }
  await page.setViewportSize(original);
}

// One demo setup (pypiserver behind the page's relay, as scripts/start runs it) for the tests
// that need a real registry; each test uploads files of its own.
let demo;
before(async () => {
  const reg = await startPypiserver({ user: "demo", password: "page-pw-1" });
  const www = await serveWww({ registry: reg.url, config: demoConfig({ simpleUrl: reg.simple }) });
  demo = { reg, www };
});
after(async () => {
  await demo?.www.stop();
  await demo?.reg.stop();
});

test("page: the empty page, the GitLab preset and the relay setting have no serious or critical axe violations at 1280 and 375 px", async () => {
  const { page, errors } = await open(demo.www.url);
  try {
    assert.equal(await page.inputValue("#repository-url"), `${demo.www.url}registry/`, "the demo registry is the default");
    // axe really runs here: an unlabelled field is caught (then removed again).
    await page.evaluate(() => document.querySelector("main").append(Object.assign(document.createElement("input"), { id: "axe-canary" })));
    assert.ok((await axe(page, "canary")).some((v) => v.id === "label"), "axe finds an unlabelled input");
    await page.evaluate(() => document.querySelector("#axe-canary").remove());
    await capture(page, "empty-demo");

    await page.selectOption("#preset", "gitlab");
    await page.fill("#gitlab-instance", "https://gitlab.example.com");
    await page.fill("#gitlab-project", "a-rather-long-group-name/with-a-subgroup/and-a-project-name-too");
    await page.locator("#gitlab-project").blur();
    await capture(page, "empty-gitlab");

    await page.selectOption("#preset", "pypi");
    await page.fill("#relay-url", "https://pypublish-relay.example-account.workers.dev/");
    await page.fill("#password", "pypi-AgEIcHlwaS5vcmcCJGFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6");
    await capture(page, "empty-relay");
    assert.deepEqual(errors, []);
  } finally {
    await page.close();
  }
});

test("page: the GitLab preset's read-only upload URL is shown whole and wrapped at 375 px, with a copy button", async () => {
  const { page } = await open(demo.www.url, { width: 375 });
  try {
    await page.selectOption("#preset", "gitlab");
    await page.fill("#gitlab-instance", "https://gitlab.example.com");
    await page.fill("#gitlab-project", "a-rather-long-group-name/with-a-subgroup/and-a-project-name-too");
    const url = "https://gitlab.example.com/api/v4/projects/a-rather-long-group-name%2Fwith-a-subgroup%2Fand-a-project-name-too/packages/pypi";
    assert.equal(await page.locator("#computed-url").textContent(), url);
    assert.ok(await page.locator("#repository-url").isHidden(), "no one-line input that cuts the URL off");
    const box = await page.locator("#computed-url").evaluate((el) => ({ scroll: el.scrollWidth, client: el.clientWidth, lines: Math.round(el.getBoundingClientRect().height / parseFloat(getComputedStyle(el).lineHeight || "16")) }));
    assert.ok(box.scroll <= box.client, `the URL overflows its box (${box.scroll} > ${box.client})`);
    await page.click("#computed-url-box .copy");
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), url);
  } finally {
    await page.close();
  }
});

test("page: a dropped wheel and sdist upload through the demo relay; a visible summary counts them with totals and time; pip installs the package", async () => {
  const { page, errors } = await open(demo.www.url);
  try {
    await drop(page, [...fromCorpus(WHEEL, SDIST), { name: "notes.txt", bytes: Buffer.from("hi") }]);
    for (const f of [WHEEL, SDIST]) assert.equal(await waitStatus(page, f, ["ready", "invalid"]), "ready", f);
    assert.match(await page.locator('[data-refused="notes.txt"]').textContent(), /not a distribution/);
    assert.equal(await row(page, WHEEL).locator(".version").textContent(), "1.2.3");
    assert.match(await row(page, WHEEL).locator(".type").textContent(), /wheel py3.*none.*any/);
    assert.match(await row(page, WHEEL).locator(".hash").textContent(), /^[0-9a-f]{64}$/);
    assert.ok(await page.locator("#result").isHidden(), "no result before an upload");
    await capture(page, "ready");

    await page.fill("#password", "page-pw-1");
    await page.click("#upload");
    for (const f of [WHEEL, SDIST]) assert.equal(await waitStatus(page, f, ["uploaded", "failed"]), "uploaded", await row(page, f).textContent());
    const result = page.locator("#result");
    assert.ok(await result.isVisible(), "the result is visible, not only announced");
    assert.equal(await result.locator('[data-count="uploaded"] strong').textContent(), "2");
    assert.equal(await result.locator('[data-count="skipped"] strong').textContent(), "0");
    assert.equal(await result.locator('[data-count="failed"] strong').textContent(), "0");
    const sizes = [WHEEL, SDIST].reduce((n, f) => n + readFileSync(join(corpus, f)).length, 0);
    const totals = await result.locator(".totals").textContent();
    assert.match(totals, /^2 files, [\d.]+ KiB, in \d+\.\d s, to http:\/\/127\.0\.0\.1:\d+\/registry\/$/);
    assert.equal(totals.match(/([\d.]+) KiB/)[1], (sizes / 1024).toFixed(1));
    assert.match(await row(page, WHEEL).locator(".link a").textContent(), /\/simple\/pp-hatch-demo\/$/);
    await capture(page, "uploaded");

    const target = mkdtempSync(join(tmpdir(), "page-pip-"));
    const pip = spawnSync(venv("python"), ["-m", "pip", "--isolated", "--disable-pip-version-check", "install", "--no-deps", "--index-url", demo.reg.simple, "--target", target, "pp_hatch_demo==1.2.3"], { encoding: "utf8" });
    assert.equal(pip.status, 0, pip.stdout + pip.stderr);
    const imp = spawnSync(venv("python"), ["-c", "import pp_hatch_demo; print(pp_hatch_demo.__name__)"], { env: { ...process.env, PYTHONPATH: target }, encoding: "utf8" });
    assert.equal(imp.stdout.trim(), "pp_hatch_demo", imp.stderr);
    assert.deepEqual(errors, []);
  } finally {
    await page.close();
  }
});

test("page: bars show only for the running step, and finished rows have none", async () => {
  // A registry that holds its reply until the test has looked at the row mid-upload.
  let release;
  const held = new Promise((r) => (release = r));
  const registry = await startServer(async (req, res) => {
    // The check before the upload (a GET of the index) is answered at once; the upload is held.
    if (req.method === "POST") await held;
    res.writeHead(200).end("OK");
  });
  const www = await serveWww({ registry: registry.url, config: demoConfig({ simpleUrl: `${registry.url}simple/` }) });
  const { page } = await open(www.url);
  try {
    const name = "pp_flit_demo-2.0.0b1-py3-none-any.whl";
    await drop(page, fromCorpus(name));
    await waitStatus(page, name, ["ready"]);
    assert.ok(await row(page, name).locator(".bars").isHidden(), "a hashed, ready row shows no bar");
    await page.fill("#password", "pw");
    await page.click("#upload");
    await waitStatus(page, name, ["uploading"]);
    await page.waitForFunction((n) => document.querySelector(`[data-file="${n}"] .upload-progress`).value === 1, name);
    assert.ok(await row(page, name).locator(".upload-bar").isVisible(), "the upload bar shows while the file is sent");
    assert.ok(await row(page, name).locator(".hash-bar").isHidden(), "the hashing bar is gone once hashing is done");
    await capture(page, "uploading");
    release();
    assert.equal(await waitStatus(page, name, ["uploaded", "failed"]), "uploaded");
    assert.ok(await row(page, name).locator(".bars").isHidden(), "a finished row has no bars");
    assert.equal(await page.locator(".file progress:visible").count(), 0);
  } finally {
    release();
    await page.close();
    await www.stop();
    await registry.stop();
  }
});

test("page: each file outcome is announced once in one polite log; rows have no live regions, so progress is never read out", async () => {
  const { page } = await open(demo.www.url);
  try {
    const files = ["pp_poetry_demo-0.3.0-py3-none-any.whl", "pp_poetry_demo-0.3.0.tar.gz"];
    await drop(page, fromCorpus(...files));
    for (const f of files) await waitStatus(page, f, ["ready"]);
    // Everything the log receives during the upload.
    await page.evaluate(() => {
      globalThis.__said = [];
      new MutationObserver((ms) => ms.forEach((m) => m.addedNodes.forEach((n) => globalThis.__said.push(n.textContent)))).observe(document.querySelector("#announce"), { childList: true });
    });
    await page.fill("#password", "page-pw-1");
    await page.click("#upload");
    for (const f of files) assert.equal(await waitStatus(page, f, ["uploaded", "failed"]), "uploaded");
    await page.waitForFunction(() => globalThis.__said.some((t) => t.startsWith("Done:")));
    const said = await page.evaluate(() => globalThis.__said);
    for (const f of files) assert.equal(said.filter((t) => t.includes(f)).length, 1, `one announcement for ${f}: ${JSON.stringify(said)}`);
    assert.ok(!said.some((t) => /\d+%/.test(t)), `no percentages announced: ${JSON.stringify(said)}`);
    const regions = await page.evaluate(() => [...document.querySelectorAll("[aria-live], [role=status], [role=log], [role=alert], output")].map((el) => el.id || el.className));
    assert.deepEqual(regions, ["announce"]);
    assert.equal(await page.getAttribute("#announce", "aria-live"), "polite");
  } finally {
    await page.close();
  }
});

test("page: long SHA-256s and links wrap inside their row at 375 px, and their copy buttons copy them", async () => {
  const { page } = await open(demo.www.url, { width: 375 });
  try {
    const name = "pp_setuptools_demo-0.1.0-py3-none-any.whl";
    await drop(page, fromCorpus(name));
    await waitStatus(page, name, ["ready"]);
    const hash = row(page, name).locator(".hash");
    const fits = (loc) => loc.evaluate((el) => el.scrollWidth <= el.clientWidth && getComputedStyle(el).textOverflow !== "ellipsis");
    assert.equal(await hash.textContent(), sha256(readFileSync(join(corpus, name))));
    assert.ok(await fits(hash), "the hash is shown whole");
    await row(page, name).locator(".sha256 .copy").click();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), sha256(readFileSync(join(corpus, name))));

    await page.fill("#password", "page-pw-1");
    await page.click("#upload");
    assert.equal(await waitStatus(page, name, ["uploaded", "failed"]), "uploaded");
    const link = row(page, name).locator(".link");
    assert.ok(await fits(link), "the link wraps inside the row");
    await link.locator(".copy").click();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), `${demo.reg.simple}pp-setuptools-demo/`);
    assert.ok((await page.evaluate(() => document.documentElement.scrollWidth)) <= 375);
  } finally {
    await page.close();
  }
});

test("page: removing a row by keyboard moves focus to the next row, then to the previous one, then to the drop zone", async () => {
  const { page } = await open(demo.www.url);
  try {
    const names = ["six-1.16.0-py2.py3-none-any.whl", "packaging-25.0-py3-none-any.whl", "annotated_types-0.7.0-py3-none-any.whl"];
    await drop(page, fromCorpus(...names));
    for (const n of names) await waitStatus(page, n, ["ready"]);
    const focused = () => page.evaluate(() => (document.activeElement.id ? `#${document.activeElement.id}` : document.activeElement.getAttribute("aria-label")));
    await row(page, names[1]).locator(".remove").focus();
    await page.keyboard.press("Enter");
    assert.equal(await focused(), `Remove ${names[2]}`, "the next row");
    await page.keyboard.press("Enter");
    assert.equal(await focused(), `Remove ${names[0]}`, "the last row gone: the previous one");
    await page.keyboard.press("Space");
    assert.equal(await focused(), "#dropzone", "the list is empty: the drop zone");
    assert.equal(await page.locator(".file").count(), 0);
  } finally {
    await page.close();
  }
});

test("page: a wrong password shows pypiserver's 403 and the htpasswd hint, with the raw reply masked", async () => {
  const { page } = await open(demo.www.url);
  try {
    const name = "ptyprocess-0.5.2-py2.py3-none-any.whl";
    await drop(page, fromCorpus(name));
    await waitStatus(page, name, ["ready"]);
    await page.fill("#password", "wrong-pw-2");
    await page.click("#upload");
    assert.equal(await waitStatus(page, name, ["uploaded", "failed"]), "failed");
    assert.match(await row(page, name).locator(".message").textContent(), /HTTP 403/);
    assert.match(await row(page, name).locator(".hint").textContent(), /htpasswd/);
    const raw = await row(page, name).locator(".raw pre").textContent();
    assert.match(raw, /^HTTP 403/);
    assert.ok(!raw.includes("wrong-pw-2"), "no credential in the raw reply");
    assert.equal(await page.locator('#result [data-count="failed"] strong').textContent(), "1");
    assert.equal(await page.getAttribute("#result", "data-outcome"), "failed");
    await row(page, name).locator(".raw summary").click();
    await capture(page, "failed-403");
  } finally {
    await page.close();
  }
});

test("page: pypiserver's conflict shows its own words labelled as the server's, apart from what to do", async () => {
  const name = "entrypoints-0.2.3-py2.py3-none-any.whl";
  const up = await cli(["upload", "--json", "--repository-url", demo.reg.url, "-u", "demo", "-p", "page-pw-1", join(corpus, name)]);
  assert.equal(up.json[0]?.status, "uploaded", up.stderr);
  const { page } = await open(demo.www.url);
  try {
    await drop(page, fromCorpus(name));
    await waitStatus(page, name, ["ready"]);
    await page.fill("#password", "page-pw-1");
    await page.click("#upload");
    assert.equal(await waitStatus(page, name, ["uploaded", "skipped", "failed"]), "failed");
    assert.match(await row(page, name).locator(".message").textContent(), /^HTTP 409/);
    assert.match(await row(page, name).locator(".server-label").textContent(), /in its own words.*whoever runs the server/);
    assert.match(await row(page, name).locator(".server-words").textContent(), /--overwrite/);
    assert.ok(!(await row(page, name).locator(".message").textContent()).includes("--overwrite"), "the server's advice is not the page's message");
    assert.ok(!(await row(page, name).locator(".hint").textContent()).includes("--overwrite"));
    await capture(page, "conflict");
  } finally {
    await page.close();
  }
});

test("page: the conflict hint names the page's Skip existing checkbox, not the CLI flag", { todo: CORE_API ? false : "waits for the core's surface: \"page\" option" }, async () => {
  const name = "importlib_metadata-8.6.1-py3-none-any.whl";
  const up = await cli(["upload", "--json", "--repository-url", demo.reg.url, "-u", "demo", "-p", "page-pw-1", join(corpus, name)]);
  assert.equal(up.json[0]?.status, "uploaded", up.stderr);
  const { page } = await open(demo.www.url);
  try {
    await drop(page, fromCorpus(name));
    await waitStatus(page, name, ["ready"]);
    await page.fill("#password", "page-pw-1");
    await page.click("#upload");
    assert.equal(await waitStatus(page, name, ["uploaded", "skipped", "failed"]), "failed");
    const hint = await row(page, name).locator(".hint").textContent();
    assert.ok(!hint.includes("--skip-existing"), hint);
    assert.match(hint, /Skip files the registry already has/);
  } finally {
    await page.close();
  }
});

test("page: with Skip existing, the demo's index (through the relay) tells the same file (skipped) from a different one under the same name (failed, nothing sent)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "page-same-name-"));
  const first = readFileSync(makeWheel(dir, "same_name_demo", 1, { random: true }));
  const other = readFileSync(makeWheel(dir, "same_name_demo", 1, { random: true }));
  const name = "same_name_demo-1.0-py3-none-any.whl";
  assert.notEqual(sha256(first), sha256(other));
  writeFileSync(join(dir, name), first);
  const up = await cli(["upload", "--json", "--repository-url", demo.reg.url, "-u", "demo", "-p", "page-pw-1", join(dir, name)]);
  assert.equal(up.json[0]?.status, "uploaded", up.stderr);
  const { page } = await open(demo.www.url);
  try {
    await page.check("#skip-existing");
    await page.fill("#password", "page-pw-1");
    await drop(page, [{ name, bytes: other }]);
    await waitStatus(page, name, ["ready"]);
    await page.click("#upload");
    assert.equal(await waitStatus(page, name, ["uploaded", "skipped", "failed"]), "failed", await row(page, name).textContent());
    assert.match(await row(page, name).locator(".hint").textContent(), /different file/);
    assert.equal(sha256(readFileSync(join(demo.reg.packages, name))), sha256(first), "the registry still holds the first file");
    await capture(page, "different-file");

    await page.click("#clear");
    await drop(page, [{ name, bytes: first }]);
    await waitStatus(page, name, ["ready"]);
    await page.click("#upload");
    assert.equal(await waitStatus(page, name, ["uploaded", "skipped", "failed"]), "skipped", await row(page, name).textContent());
    assert.equal(await row(page, name).getAttribute("data-verified"), "true");
    assert.match(await row(page, name).locator(".message").textContent(), /same sha256/i);
    await capture(page, "skipped");
  } finally {
    await page.close();
  }
});

test("page: a conflict that no index can verify is shown as 'exists, not verified', never as plain skipped", async () => {
  // A registry the engine cannot place (a custom URL, no index anywhere) answers that the name
  // is taken without saying by which bytes.
  const name = "pp_flit_demo-2.0.0b1.tar.gz";
  let pageOrigin = "";
  const registry = await startServer((req, res) => {
    const cors = { "access-control-allow-origin": pageOrigin, "access-control-allow-headers": "authorization, content-type, accept", "access-control-allow-methods": "GET, POST", vary: "Origin" };
    if (req.method === "OPTIONS") return res.writeHead(204, cors).end();
    if (req.method === "GET") return res.writeHead(404, cors).end("no index here");
    res.writeHead(409, { ...cors, "content-type": "text/plain" }).end(`${name} already exists`);
  });
  const www = await serveWww({ connect: [registry.url] });
  pageOrigin = new URL(www.url).origin;
  const { page } = await open(www.url);
  try {
    await page.selectOption("#preset", "custom");
    await page.fill("#repository-url", registry.url);
    await page.locator("#repository-url").blur();
    await page.fill("#username", "demo");
    await page.fill("#password", "page-pw-1");
    await page.check("#skip-existing");
    await drop(page, fromCorpus(name));
    await waitStatus(page, name, ["ready"]);
    await page.click("#upload");
    assert.equal(await waitStatus(page, name, ["uploaded", "skipped", "failed"]), "skipped");
    assert.equal(await row(page, name).getAttribute("data-verified"), "false");
    assert.equal(await row(page, name).locator(".state").textContent(), "exists, not verified");
    assert.match(await page.locator('#result [data-count="skipped"]').textContent(), /1 not verified/);
    assert.equal(await page.getAttribute("#result", "data-outcome"), "unverified");
    await capture(page, "unverified");
  } finally {
    await page.close();
    await www.stop();
    await registry.stop();
  }
});

test("page: with Skip existing, each preset looks the file up in its simple index (devpi +simple, GitLab /simple, PyPI's pypi.org/simple)", async () => {
  // One CORS-enabled registry plays devpi and GitLab; its index lists the file with our sha256.
  const name = "six-1.16.0-py2.py3-none-any.whl";
  const sha = sha256(readFileSync(join(corpus, name)));
  let pageOrigin = "";
  const index = JSON.stringify({ meta: { "api-version": "1.0" }, name: "six", files: [{ filename: name, url: name, hashes: { sha256: sha } }] });
  const registry = await startServer((req, res) => {
    const cors = { "access-control-allow-origin": pageOrigin, "access-control-allow-headers": "authorization, content-type, accept", "access-control-allow-methods": "GET, POST", vary: "Origin" };
    if (req.method === "OPTIONS") return res.writeHead(204, cors).end();
    if (req.method === "GET") return res.writeHead(200, { ...cors, "content-type": "application/vnd.pypi.simple.v1+json" }).end(index);
    res.writeHead(500, cors).end("no upload expected");
  });
  const www = await serveWww({ connect: [registry.url, "https://pypi.org", "https://upload.pypi.org"] });
  pageOrigin = new URL(www.url).origin;
  const { page } = await open(www.url);
  try {
    const pypiGets = [];
    await page.route("https://pypi.org/**", (route) => {
      pypiGets.push(route.request().url());
      route.fulfill({ status: 200, headers: { "content-type": "application/vnd.pypi.simple.v1+json", "access-control-allow-origin": "*" }, body: index });
    });
    await page.route("https://upload.pypi.org/**", (route) => route.fulfill({ status: 500, body: "no upload expected" }));
    await page.check("#skip-existing");
    await drop(page, fromCorpus(name));
    await waitStatus(page, name, ["ready"]);
    const run = async () => {
      await page.click("#upload");
      return waitStatus(page, name, ["uploaded", "skipped", "failed"]);
    };

    await page.selectOption("#preset", "devpi");
    await page.fill("#repository-url", `${registry.url}alice/stable/`);
    await page.locator("#repository-url").blur();
    await page.fill("#password", "devpi-pw");
    assert.equal(await run(), "skipped", await row(page, name).textContent());
    assert.equal(registry.requests.at(-1).url, "/alice/stable/+simple/six/");

    await page.click("#clear");
    await drop(page, fromCorpus(name));
    await waitStatus(page, name, ["ready"]);
    await page.selectOption("#preset", "gitlab");
    await page.fill("#gitlab-instance", registry.url);
    await page.fill("#gitlab-project", "acme/tools");
    await page.locator("#gitlab-project").blur();
    await page.fill("#password", "glpat-token");
    assert.equal(await run(), "skipped", await row(page, name).textContent());
    assert.equal(registry.requests.at(-1).url, "/api/v4/projects/acme%2Ftools/packages/pypi/simple/six/");

    await page.click("#clear");
    await drop(page, fromCorpus(name));
    await waitStatus(page, name, ["ready"]);
    await page.selectOption("#preset", "pypi");
    await page.fill("#password", "pypi-token");
    assert.equal(await run(), "skipped", await row(page, name).textContent());
    assert.deepEqual(pypiGets, ["https://pypi.org/simple/six/"]);
    assert.ok(!registry.requests.some((r) => r.method === "POST"), "nothing was uploaded anywhere");
  } finally {
    await page.close();
    await www.stop();
    await registry.stop();
  }
});

test("page: credentials are cleared whenever the upload URL's origin changes (presets, a typed URL, the GitLab instance), also in the tab's storage", async () => {
  const { page } = await open(demo.www.url);
  try {
    await page.check("#remember");
    await page.fill("#password", "demo-secret");
    await page.locator("#password").dispatchEvent("change");
    await page.selectOption("#preset", "pypi");
    assert.equal(await page.inputValue("#password"), "", "demo → PyPI");
    assert.equal(await page.inputValue("#username"), "__token__");
    assert.ok(!(await page.evaluate(() => sessionStorage.getItem("pypublish-settings"))).includes("demo-secret"));

    await page.fill("#password", "pypi-secret");
    await page.selectOption("#preset", "testpypi");
    assert.equal(await page.inputValue("#password"), "", "PyPI → TestPyPI");

    await page.selectOption("#preset", "custom");
    await page.fill("#repository-url", "https://registry.example.com/upload/");
    await page.locator("#repository-url").blur();
    await page.fill("#password", "custom-secret");
    await page.fill("#repository-url", "https://registry.example.com/other/path/");
    await page.locator("#repository-url").blur();
    assert.equal(await page.inputValue("#password"), "custom-secret", "same origin, other path: kept");
    await page.fill("#repository-url", "https://registry.example.com.evil.example/upload/");
    await page.locator("#repository-url").blur();
    assert.equal(await page.inputValue("#password"), "", "another host");

    await page.fill("#repository-url", "https://registry.example.com/upload/");
    await page.locator("#repository-url").blur();
    await page.fill("#password", "custom-secret");
    await page.fill("#repository-url", "https://registry.example.com:8443/upload/");
    await page.locator("#repository-url").blur();
    assert.equal(await page.inputValue("#password"), "", "another port");

    await page.selectOption("#preset", "gitlab");
    await page.fill("#gitlab-project", "acme/tools");
    await page.locator("#gitlab-project").blur();
    await page.fill("#password", "glpat-secret");
    await page.fill("#gitlab-project", "acme/other");
    await page.locator("#gitlab-project").blur();
    assert.equal(await page.inputValue("#password"), "glpat-secret", "another project on the same instance: kept");
    await page.fill("#gitlab-instance", "https://gitlab.evil.example");
    await page.locator("#gitlab-instance").blur();
    assert.equal(await page.inputValue("#password"), "", "another GitLab instance");
    const stored = await page.evaluate(() => sessionStorage.getItem("pypublish-settings"));
    for (const s of ["demo-secret", "pypi-secret", "custom-secret", "glpat-secret"]) assert.ok(!stored.includes(s), `${s} left in sessionStorage`);
  } finally {
    await page.close();
  }
});

test("page: an upload right after an uncommitted URL edit sends no credentials to the new origin", async () => {
  let pageOrigin = "";
  const other = await startServer((req, res) => {
    const cors = { "access-control-allow-origin": pageOrigin, "access-control-allow-headers": "authorization, content-type, accept", "access-control-allow-methods": "POST" };
    res.writeHead(req.method === "OPTIONS" ? 204 : 403, cors).end();
  });
  const www = await serveWww({ registry: demo.reg.url, config: demoConfig({ simpleUrl: demo.reg.simple }), connect: [other.url] });
  pageOrigin = new URL(www.url).origin;
  const { page } = await open(www.url);
  try {
    await drop(page, fromCorpus(WHEEL));
    await waitStatus(page, WHEEL, ["ready"]);
    await page.fill("#password", "for-the-demo-only");
    // The value changes without a change event, and Upload is pressed without a blur.
    await page.evaluate((url) => {
      document.querySelector("#repository-url").value = url;
      document.querySelector("#upload").click();
    }, `${other.url}legacy/`);
    await waitStatus(page, WHEEL, ["uploaded", "failed"]);
    assert.equal(await page.inputValue("#password"), "");
    // The check before the upload (a GET) is refused there, so nothing is POSTed; whatever
    // reached that origin carried no password of the demo's.
    const sent = other.requests.filter((r) => r.method !== "OPTIONS");
    assert.ok(sent.length >= 1, "the new origin was asked");
    for (const q of sent) {
      const auth = q.headers.authorization ?? "";
      assert.ok(!Buffer.from(auth.replace(/^Basic /, ""), "base64").toString().includes("for-the-demo-only"), "the demo's password went to another origin");
    }
  } finally {
    await page.close();
    await www.stop();
    await other.stop();
  }
});

test("page: GitLab's 404 to gitlab-ci-token is found by the check before the upload: the job-token allowlist hint, and no file sent", async () => {
  // Replays GitLab's reply to a CI_JOB_TOKEN whose project is not allow-listed, with the CORS
  // headers GitLab's /api/* sends (source: tests/fixtures/replies.json, "gitlab job token not allow-listed").
  const replies = JSON.parse(readFileSync(join(root, "tests/fixtures/replies.json"), "utf8"));
  const rec = replies.find((r) => r.name === "gitlab job token not allow-listed");
  let pageOrigin = "";
  const gitlab = await startServer((req, res) => {
    const cors = { "access-control-allow-origin": pageOrigin, "access-control-allow-headers": "authorization, content-type, accept", "access-control-allow-methods": "POST", vary: "Origin" };
    if (req.method === "OPTIONS") return res.writeHead(204, cors).end();
    res.writeHead(rec.status, { ...cors, ...Object.fromEntries(rec.headers) }).end(rec.body);
  });
  const www = await serveWww({ connect: [gitlab.url] });
  pageOrigin = new URL(www.url).origin;
  const { page } = await open(www.url);
  try {
    await page.selectOption("#preset", "gitlab");
    await page.fill("#gitlab-instance", gitlab.url);
    await page.fill("#gitlab-project", "acme/tools");
    assert.equal(await page.inputValue("#repository-url"), `${gitlab.url}api/v4/projects/acme%2Ftools/packages/pypi`);
    await page.fill("#username", "gitlab-ci-token");
    await page.fill("#password", "glcbt-job-token-3");
    await drop(page, fromCorpus(WHEEL));
    await waitStatus(page, WHEEL, ["ready"]);
    await page.click("#upload");
    assert.equal(await waitStatus(page, WHEEL, ["uploaded", "failed"]), "failed");
    assert.match(await row(page, WHEEL).locator(".message").textContent(), /^HTTP 404/);
    assert.match(await row(page, WHEEL).locator(".server-words").textContent(), /404 Not Found/);
    const hint = await row(page, WHEEL).locator(".hint").textContent();
    assert.match(hint, /allow-list/);
    assert.match(hint, /Job token permissions/);
    // The preflight read the project's simple index with the same token, and stopped there.
    const probe = gitlab.requests.find((r) => r.method === "GET");
    assert.equal(probe?.url, "/api/v4/projects/acme%2Ftools/packages/pypi/simple/");
    assert.deepEqual(gitlab.requests.filter((r) => r.method === "POST"), [], "no file was sent");
    await capture(page, "gitlab-404");
  } finally {
    await page.close();
    await www.stop();
    await gitlab.stop();
  }
});

test("page: a registry that sends no CORS headers gets the CORS explanation and the relay advice", async () => {
  const reg = await startPypiserver({ user: "demo", password: "cors-pw-4" });
  const www = await serveWww({ connect: [reg.url] });
  const { page } = await open(www.url);
  try {
    await page.selectOption("#preset", "custom");
    await page.fill("#repository-url", reg.url);
    await page.fill("#username", "demo");
    await page.fill("#password", "cors-pw-4");
    await drop(page, fromCorpus(WHEEL));
    await waitStatus(page, WHEEL, ["ready"]);
    await page.click("#upload");
    assert.equal(await waitStatus(page, WHEEL, ["uploaded", "failed"]), "failed");
    assert.match(await row(page, WHEEL).locator(".message").textContent(), /CORS/);
    assert.match(await row(page, WHEEL).locator(".hint").textContent(), /Relay URL/);
    await capture(page, "no-cors");
  } finally {
    await page.close();
    await www.stop();
    await reg.stop();
  }
});

test("page: a command-line flag in a message never breaks across lines at its hyphens (the CSP hint's --connect at 375 px)", async () => {
  // The page was served for no registry: a custom URL elsewhere is blocked by its CSP.
  const www = await serveWww({});
  const { page } = await open(www.url, { width: 375 });
  try {
    await page.selectOption("#preset", "custom");
    await page.fill("#repository-url", "http://127.0.0.1:9/upload/");
    await drop(page, fromCorpus(WHEEL));
    await waitStatus(page, WHEEL, ["ready"]);
    await page.click("#upload");
    assert.equal(await waitStatus(page, WHEEL, ["uploaded", "failed"]), "failed");
    const flags = row(page, WHEEL).locator(".hint code.flag");
    assert.equal(await flags.first().textContent(), "--connect");
    for (const f of await flags.all()) assert.equal(await f.evaluate((el) => el.getClientRects().length), 1, `${await f.textContent()} is split across lines`);
    await capture(page, "csp-blocked");
  } finally {
    await page.close();
    await www.stop();
  }
});

test("page: a wheel whose metadata names another project is marked invalid and never sent", async () => {
  const registry = await startServer((req, res) => res.writeHead(200).end("OK"));
  const www = await serveWww({ registry: registry.url, config: demoConfig({ simpleUrl: `${registry.url}simple/` }) });
  const { page } = await open(www.url);
  try {
    // six's wheel under another project's name: the filename says "seven", METADATA says "six".
    const renamed = { name: "seven-1.16.0-py2.py3-none-any.whl", bytes: readFileSync(join(corpus, "six-1.16.0-py2.py3-none-any.whl")) };
    await drop(page, [renamed, ...fromCorpus(WHEEL)]);
    assert.equal(await waitStatus(page, renamed.name, ["ready", "invalid"]), "invalid");
    const msg = await row(page, renamed.name).locator(".message").textContent();
    assert.match(msg, /seven/);
    assert.match(msg, /six/);
    assert.match(await row(page, renamed.name).locator(".hint").textContent(), /rebuild the distribution with python -m build/);
    await waitStatus(page, WHEEL, ["ready"]);
    assert.ok(await page.isDisabled("#upload"), "no upload while a file is invalid");
    assert.match(await page.locator("#summary").textContent(), /invalid/);
    await capture(page, "invalid");

    await row(page, renamed.name).locator(".remove").click();
    await page.fill("#password", "pw-5");
    await page.click("#upload");
    assert.equal(await waitStatus(page, WHEEL, ["uploaded", "failed"]), "uploaded");
    const posts = registry.requests.filter((r) => r.method === "POST");
    assert.equal(posts.length, 1);
    assert.ok(posts[0].body.includes(Buffer.from(`filename="${WHEEL}"`)), "the remaining wheel was the one sent");
    assert.ok(!registry.requests.some((r) => r.body.includes(Buffer.from("seven"))), "the invalid wheel never left the page");
  } finally {
    await page.close();
    await www.stop();
    await registry.stop();
  }
});

test("page: an invalid row's message and its hint give the same advice", { todo: CORE_API ? false : "waits for the core's texts: the error says what is wrong, the hint what to do" }, async () => {
  const www = await serveWww({});
  const { page } = await open(www.url);
  try {
    // six 1.16.0's wheel renamed to 1.17.0: a version that disagrees with its metadata.
    const renamed = { name: "six-1.17.0-py2.py3-none-any.whl", bytes: readFileSync(join(corpus, "six-1.16.0-py2.py3-none-any.whl")) };
    await drop(page, [renamed]);
    assert.equal(await waitStatus(page, renamed.name, ["ready", "invalid"]), "invalid");
    const msg = await row(page, renamed.name).locator(".message").textContent();
    const hint = await row(page, renamed.name).locator(".hint").textContent();
    assert.match(msg, /1\.17\.0/);
    assert.ok(!(/rather than renaming/.test(hint) && /rename the file/.test(msg)), `message: ${msg}\nhint: ${hint}`);
  } finally {
    await page.close();
    await www.stop();
  }
});

test("page: no global is set for tests or benchmarks; readiness is an attribute on <html>", async () => {
  const { page } = await open(demo.www.url);
  try {
    const globals = await page.evaluate(() => Object.keys(globalThis).filter((k) => /pypublish/i.test(k)));
    assert.deepEqual(globals, []);
    assert.equal(await page.getAttribute("html", "data-ready"), "true");
    // What scripts/bench-page.mjs samples instead: the page's own module instance, by its URL
    // (the same module, already initialised: the wasm is not fetched again).
    const fetched = [];
    page.on("request", (r) => r.url().endsWith(".wasm") && fetched.push(r.url()));
    const bytes = await page.evaluate(async () => (await (await import("/pkg/pypublish.js")).default()).memory.buffer.byteLength);
    assert.ok(bytes >= 65536, `wasm memory ${bytes}`);
    assert.deepEqual(fetched, []);
  } finally {
    await page.close();
  }
});

/** A wheel and an sdist of `name` `version` whose METADATA / PKG-INFO is `metadata`, made with Python's zipfile and tarfile. */
function makeDists(name, version, metadata) {
  const dir = mkdtempSync(join(tmpdir(), "page-preview-"));
  const r = spawnSync(venv("python"), ["-c", `
import io, sys, tarfile, zipfile
out, name, version = sys.argv[1:4]
metadata = sys.stdin.read()
di = f"{name}-{version}.dist-info"
with zipfile.ZipFile(f"{out}/{name}-{version}-py3-none-any.whl", "w") as z:
    z.writestr(f"{name}/__init__.py", "")
    z.writestr(f"{di}/METADATA", metadata)
    z.writestr(f"{di}/WHEEL", "Wheel-Version: 1.0\\nGenerator: pypublish-tests\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n")
    z.writestr(f"{di}/RECORD", "")
with tarfile.open(f"{out}/{name}-{version}.tar.gz", "w:gz") as t:
    data = metadata.encode()
    info = tarfile.TarInfo(f"{name}-{version}/PKG-INFO")
    info.size = len(data)
    t.addfile(info, io.BytesIO(data))
`, dir, name, version], { input: metadata, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`making ${name}: ${r.stderr}`);
  return [`${name}-${version}-py3-none-any.whl`, `${name}-${version}.tar.gz`].map((f) => ({ name: f, bytes: readFileSync(join(dir, f)) }));
}

const PREVIEW_METADATA = `Metadata-Version: 2.1
Name: preview_demo
Version: 0.4.0
Summary: A demo of the release preview
Home-page: https://home.example.org/preview-demo
Download-URL: https://downloads.example.org/preview_demo-0.4.0.tar.gz
Project-URL: Source, https://git.example.org/preview-demo
Project-URL: Issue tracker, https://git.example.org/preview-demo/issues
Classifier: Development Status :: 4 - Beta
Classifier: License :: OSI Approved :: MIT License
Classifier: Programming Language :: Python :: 3
Classifier: Programming Language :: Python :: 3.12
Requires-Python: >=3.9
License: MIT
Author: Preview Tester
Keywords: preview,demo
Description-Content-Type: text/markdown

# Preview demo

Read [the documentation](https://docs.example.org/preview-demo/) first.

## Usage

\`\`\`python
import preview_demo
preview_demo.run()
\`\`\`

- fast
- small

[![Build status](https://ci.example.org/badge.svg)](https://ci.example.org/preview-demo)

<script>window.__pwned = 1</script>
<img src="x" onerror="window.__pwned = 2">
<a href="javascript:window.__pwned = 3">click</a> <a href="data:text/html,hi">data</a>
<div onmouseover="window.__pwned = 4" style="position:fixed;inset:0">covered</div>
`;

test("page: the release preview of a dropped wheel and sdist shows what PyPI will show: name, version, summary, the rendered description, links, classifiers, Requires-Python and the digests", async () => {
  const dists = makeDists("preview_demo", "0.4.0", PREVIEW_METADATA);
  const { page, errors } = await open(demo.www.url);
  try {
    assert.ok(await page.locator("#preview").isHidden(), "no preview before any file");
    await drop(page, dists);
    for (const f of dists) assert.equal(await waitStatus(page, f.name, ["ready", "invalid"]), "ready", f.name);
    const rel = page.locator('.release[data-release="preview_demo 0.4.0"]');
    await rel.waitFor();
    assert.equal(await page.locator(".release").count(), 1, "one release for the two files");
    assert.equal(await rel.getAttribute("open"), "", "the preview is open before Upload is pressed");
    assert.ok(await page.isEnabled("#upload"));
    assert.equal(await rel.locator(".r-name").textContent(), "preview_demo");
    assert.equal(await rel.locator(".r-version").textContent(), "0.4.0");
    assert.equal(await rel.locator(".r-summary").textContent(), "A demo of the release preview");
    assert.equal(await rel.locator(".r-state").textContent(), "Ready for PyPI");
    assert.equal(await page.locator("#summary").textContent(), "");

    // The description, rendered from Markdown and sanitised in the core.
    const readme = rel.locator(".readme");
    assert.equal(await readme.locator("h1").textContent(), "Preview demo");
    assert.equal(await readme.locator("h2").textContent(), "Usage");
    const doc = readme.locator('a:has-text("the documentation")');
    assert.equal(await doc.getAttribute("href"), "https://docs.example.org/preview-demo/");
    assert.equal(await doc.getAttribute("target"), "_blank");
    assert.match(await doc.getAttribute("rel"), /noopener/);
    assert.match(await readme.locator("pre code").textContent(), /import preview_demo/);
    assert.equal(await readme.locator("li").count(), 2);
    assert.match(await readme.locator(".image").textContent(), /Build status/, "an image shows as its alt text");
    const unsafe = await readme.evaluate((el) => ({
      scripts: el.querySelectorAll("script, img, iframe, style, [style]").length,
      handlers: [...el.querySelectorAll("*")].flatMap((n) => [...n.attributes].map((a) => a.name)).filter((a) => a.startsWith("on")).length,
      hrefs: [...el.querySelectorAll("a[href]")].map((a) => a.getAttribute("href")).filter((h) => !/^https?:/.test(h)),
    }));
    assert.deepEqual(unsafe, { scripts: 0, handlers: 0, hrefs: [] });
    assert.equal(await page.evaluate(() => window.__pwned), undefined);

    // The sidebar: project links, Requires-Python and meta, classifiers.
    const links = await rel.locator(".r-links a").evaluateAll((as) => as.map((a) => [a.textContent, a.getAttribute("href")]));
    assert.deepEqual(links, [
      ["Source", "https://git.example.org/preview-demo"],
      ["Issue tracker", "https://git.example.org/preview-demo/issues"],
      ["Homepage", "https://home.example.org/preview-demo"],
      ["Download", "https://downloads.example.org/preview_demo-0.4.0.tar.gz"],
    ]);
    const meta = await rel.locator(".r-meta > div").evaluateAll((ds) => ds.map((d) => [d.querySelector("dt").textContent, d.querySelector("dd").textContent]));
    assert.deepEqual(meta, [["Requires-Python", ">=3.9"], ["License", "MIT"], ["Author", "Preview Tester"], ["Keywords", "preview, demo"]]);
    const classifiers = await rel.locator(".r-classifiers > div").evaluateAll((ds) => ds.map((d) => [d.querySelector("dt").textContent, [...d.querySelectorAll("dd")].map((x) => x.textContent)]));
    assert.deepEqual(classifiers, [
      ["Development Status", ["4 - Beta"]],
      ["License", ["OSI Approved :: MIT License"]],
      ["Programming Language", ["Python :: 3", "Python :: 3.12"]],
    ]);

    // The files, wheel first (the upload order), with the digests of the bytes dropped.
    const files = await rel.locator(".r-files tbody tr").evaluateAll((trs) =>
      trs.map((tr) => ({ name: tr.dataset.previewFile, kind: tr.children[1].textContent, digests: Object.fromEntries([...tr.querySelectorAll(".digests > div")].map((d) => [d.querySelector("dt").textContent, d.querySelector("dd").textContent])) })),
    );
    assert.deepEqual(files.map((f) => [f.name, f.kind]), [["preview_demo-0.4.0-py3-none-any.whl", "wheel py3-none-any"], ["preview_demo-0.4.0.tar.gz", "sdist (tar.gz)"]]);
    for (const f of files) {
      const bytes = dists.find((d) => d.name === f.name).bytes;
      assert.equal(f.digests["SHA-256"], sha256(bytes), f.name);
      assert.equal(f.digests["MD5"], createHash("md5").update(bytes).digest("hex"), f.name);
      assert.match(f.digests["BLAKE2b-256"], /^[0-9a-f]{64}$/);
    }
    assert.match(await rel.locator(".r-from").textContent(), /preview_demo-0\.4\.0-py3-none-any\.whl/);
    await capture(page, "preview");

    // Keyboard: the panel closes and opens from its summary.
    await rel.locator("summary").focus();
    await page.keyboard.press("Enter");
    assert.equal(await rel.getAttribute("open"), null);
    await page.keyboard.press("Space");
    assert.equal(await rel.getAttribute("open"), "");
    // Removing a file updates the preview; clearing the list hides it.
    await row(page, dists[1].name).locator(".remove").click();
    await page.waitForFunction(() => document.querySelectorAll(".release .r-files tbody tr").length === 1);
    await page.click("#clear");
    await page.waitForSelector("#preview", { state: "hidden" });
    assert.deepEqual(errors, []);
  } finally {
    await page.close();
  }
});

test("page: an RST description that PyPI would refuse is previewed line by line, each problem at its line and marked as blocking", async () => {
  const metadata = `Metadata-Version: 2.1
Name: broken_rst_demo
Version: 1.0
Summary: Its README has a reference to a target that is not there
Classifier: Programming Language :: Python :: 3
Requires-Python: >=3.8

Broken demo
===========

See \`the docs\`_ for more.

Install it with pip.
`;
  const dists = makeDists("broken_rst_demo", "1.0", metadata);
  const { page, errors } = await open(demo.www.url);
  try {
    await drop(page, dists.slice(1));
    await waitStatus(page, dists[1].name, ["ready", "invalid"]);
    const rel = page.locator('.release[data-release="broken_rst_demo 1.0"]');
    await rel.waitFor();
    assert.equal(await rel.getAttribute("data-state"), "blocking");
    assert.match(await rel.locator(".r-state").textContent(), /PyPI would refuse it: 1 problem/);
    assert.match(await rel.locator(".r-desc-note").textContent(), /does not render as reStructuredText/);
    assert.ok(await rel.locator(".readme").isHidden(), "nothing is rendered that PyPI would not render");
    // The problem in the list, with its line, linked to the line.
    const problem = rel.locator(".problem");
    assert.equal(await problem.count(), 1);
    assert.equal(await problem.getAttribute("data-code"), "rst.unknown-target");
    assert.equal(await problem.locator(".badge").textContent(), "Blocks upload");
    assert.match(await problem.textContent(), /description, line 4: .*the docs/i);
    const href = await problem.locator("a").getAttribute("href");
    // And next to the line it points at.
    const lines = rel.locator(".source > li");
    assert.equal(await lines.count(), 6);
    const line4 = lines.nth(3);
    assert.equal(`#${await line4.getAttribute("id")}`, href);
    assert.equal(await line4.locator("code").textContent(), "See `the docs`_ for more.");
    assert.match(await line4.locator(".finding.blocking").textContent(), /^line 4, blocks upload: .*the docs/i);
    assert.equal(await rel.locator(".source .finding").count(), 1, "only the line with the problem carries it");
    assert.match(await page.locator("#summary").textContent(), /PyPI's checks would refuse broken_rst_demo 1\.0; the preview shows why/);
    await problem.locator("a").click();
    assert.equal(await page.evaluate(() => document.activeElement.id), href.slice(1), "following the link moves focus to the line");
    await capture(page, "preview-rst-problem");
    assert.deepEqual(errors, []);
  } finally {
    await page.close();
  }
});

// Every screenshot named above exists at both widths, for a person to look at.
after(() => {
  const shots = readdirSync(artifacts).filter((f) => f.startsWith("page-") && f.endsWith(".png"));
  for (const f of shots.filter((f) => f.endsWith("-1280.png"))) assert.ok(shots.includes(f.replace("-1280", "-375")), f);
});
