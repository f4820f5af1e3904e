// The drag-and-drop page in Debian's Chromium, driven by Playwright: real drops, real uploads
// to pypiserver through the page's same-origin relay, and the decoded failures a person sees.
// Screenshots of each state go to target/test-artifacts/.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { root, venv, startPypiserver, startServer, launchChromium } from "./servers.mjs";
import { demoConfig, serveWww } from "../../scripts/serve-www.mjs";

const corpus = join(root, "tests/fixtures/corpus");
const artifacts = join(root, "target/test-artifacts");
mkdirSync(artifacts, { recursive: true });
const WHEEL = "pp_hatch_demo-1.2.3-py3-none-any.whl";
const SDIST = "pp_hatch_demo-1.2.3.tar.gz";

let browser;
before(async () => {
  browser = await launchChromium();
});
after(async () => browser?.close());

async function open(url) {
  const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(url);
  await page.waitForFunction(() => globalThis.pypublishDebug !== undefined);
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

test("page: a dropped wheel and sdist upload to pypiserver through the demo relay, and pip installs the package", async () => {
  const reg = await startPypiserver({ user: "demo", password: "page-pw-1" });
  const www = await serveWww({ registry: reg.url, config: demoConfig({ simpleUrl: reg.simple }) });
  const { page, errors } = await open(www.url);
  try {
    assert.equal(await page.inputValue("#repository-url"), `${www.url}registry/`, "the demo registry is the default");
    await drop(page, [...fromCorpus(WHEEL, SDIST), { name: "notes.txt", bytes: Buffer.from("hi") }]);
    for (const f of [WHEEL, SDIST]) assert.equal(await waitStatus(page, f, ["ready", "invalid"]), "ready", f);
    assert.match(await page.locator('[data-refused="notes.txt"]').textContent(), /not a distribution/);
    assert.equal(await row(page, WHEEL).locator(".version").textContent(), "1.2.3");
    assert.match(await row(page, WHEEL).locator(".type").textContent(), /wheel py3 · none · any/);
    assert.match(await row(page, WHEEL).locator(".sha256").textContent(), /^[0-9a-f]{64}$/);

    await page.fill("#password", "page-pw-1");
    await page.click("#upload");
    for (const f of [WHEEL, SDIST]) assert.equal(await waitStatus(page, f, ["uploaded", "failed"]), "uploaded", await row(page, f).textContent());
    assert.equal(await row(page, WHEEL).locator(".upload-progress").evaluate((p) => p.value), 1);
    assert.match(await page.locator("#announce").textContent(), /2 uploaded/);
    await page.screenshot({ path: join(artifacts, "page-uploaded.png"), fullPage: true });

    const target = mkdtempSync(join(tmpdir(), "page-pip-"));
    const pip = spawnSync(venv("python"), ["-m", "pip", "--isolated", "--disable-pip-version-check", "install", "--no-deps", "--index-url", reg.simple, "--target", target, "pp_hatch_demo==1.2.3"], { encoding: "utf8" });
    assert.equal(pip.status, 0, pip.stdout + pip.stderr);
    const imp = spawnSync(venv("python"), ["-c", "import pp_hatch_demo; print(pp_hatch_demo.__name__)"], { env: { ...process.env, PYTHONPATH: target }, encoding: "utf8" });
    assert.equal(imp.stdout.trim(), "pp_hatch_demo", imp.stderr);
    assert.deepEqual(errors, []);
  } finally {
    await page.close();
    await www.stop();
    await reg.stop();
  }
});

test("page: a wrong password shows pypiserver's 403 and the htpasswd hint, with the raw reply masked", async () => {
  const reg = await startPypiserver({ user: "demo", password: "right-pw-2" });
  const www = await serveWww({ registry: reg.url, config: demoConfig({ simpleUrl: reg.simple }) });
  const { page } = await open(www.url);
  try {
    await drop(page, fromCorpus(WHEEL));
    await waitStatus(page, WHEEL, ["ready"]);
    await page.fill("#password", "wrong-pw-2");
    await page.click("#upload");
    assert.equal(await waitStatus(page, WHEEL, ["uploaded", "failed"]), "failed");
    assert.match(await row(page, WHEEL).locator(".message").textContent(), /HTTP 403/);
    assert.match(await row(page, WHEEL).locator(".hint").textContent(), /htpasswd/);
    const raw = await row(page, WHEEL).locator(".raw pre").textContent();
    assert.match(raw, /^HTTP 403/);
    assert.ok(!raw.includes("wrong-pw-2"), "no credential in the raw reply");
    await row(page, WHEEL).locator(".raw summary").click();
    await page.screenshot({ path: join(artifacts, "page-wrong-password.png"), fullPage: true });
  } finally {
    await page.close();
    await www.stop();
    await reg.stop();
  }
});

test("page: GitLab's 404 to gitlab-ci-token shows the job-token allowlist hint", async () => {
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
    assert.match(await row(page, WHEEL).locator(".message").textContent(), /HTTP 404 — 404 Not Found/);
    const hint = await row(page, WHEEL).locator(".hint").textContent();
    assert.match(hint, /allow-list/);
    assert.match(hint, /Job token permissions/);
    const post = gitlab.requests.find((r) => r.method === "POST");
    assert.equal(post.url, "/api/v4/projects/acme%2Ftools/packages/pypi");
    await page.screenshot({ path: join(artifacts, "page-gitlab-404.png"), fullPage: true });
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
    await page.screenshot({ path: join(artifacts, "page-no-cors.png"), fullPage: true });
  } finally {
    await page.close();
    await www.stop();
    await reg.stop();
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
    assert.match(await row(page, renamed.name).locator(".hint").textContent(), /rebuild the distribution with `python -m build`/);
    await waitStatus(page, WHEEL, ["ready"]);
    assert.ok(await page.isDisabled("#upload"), "no upload while a file is invalid");
    assert.match(await page.locator("#summary").textContent(), /invalid/);
    await page.screenshot({ path: join(artifacts, "page-invalid.png"), fullPage: true });

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

