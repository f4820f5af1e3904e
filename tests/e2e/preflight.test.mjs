// Preflight: before the first byte, one cheap request (or none, for PyPI) with the same
// credentials finds a wrong URL, wrong credentials or a missing permission. Real pypiserver and
// devpi-server on 127.0.0.1; GitLab replayed from its documented replies (a project the job's
// token may not see answers 404 {"message":"404 Not Found"}: lib/api/helpers.rb `not_found!`,
// reference/registries.md).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { cli, root, startDevpi, startPypiserver, startServer, venv } from "./servers.mjs";

const corpus = join(root, "tests/fixtures/corpus");
const wheel = join(corpus, "pp_hatch_demo-1.2.3-py3-none-any.whl");
const sdist = join(corpus, "pp_hatch_demo-1.2.3.tar.gz");
const JOB = { GITLAB_CI: "true", CI_PROJECT_ID: "42", CI_PROJECT_PATH: "acme/app", CI_SERVER_URL: "https://gitlab.example.com", CI_JOB_TOKEN: "glcbt-canary-job-token" };

test("preflight: a GitLab 404 for another project stops the batch before any POST, and the hint names both projects", async () => {
  const gitlab = await startServer((req, res) => res.writeHead(404, { "content-type": "application/json" }).end('{"message":"404 Not Found"}'));
  try {
    const url = `${gitlab.url}api/v4/projects/acme%2Fwheels/packages/pypi`;
    const r = await cli(["upload", "--json", "--repository-url", url, "-u", "gitlab-ci-token", "-p", JOB.CI_JOB_TOKEN, wheel, sdist], JOB);
    assert.equal(r.code, 1);
    assert.deepEqual(gitlab.requests.map((q) => `${q.method} ${q.url}`), ["GET /api/v4/projects/acme%2Fwheels/packages/pypi/simple/"], "one GET, no POST");
    for (const rep of r.json) {
      assert.equal(rep.kind, "preflight");
      assert.equal(rep.serverMessage, "404 Not Found");
      assert.match(rep.hint, /in `acme\/wheels`, add `acme\/app` under Settings → CI\/CD → Job token permissions/);
    }
    assert.ok(!r.stdout.includes(JOB.CI_JOB_TOKEN) && !r.stderr.includes(JOB.CI_JOB_TOKEN));
    const human = await cli(["upload", "--repository-url", url, "-u", "gitlab-ci-token", "-p", JOB.CI_JOB_TOKEN, wheel], JOB);
    assert.match(human.stderr, /failed +pp_hatch_demo-1\.2\.3-py3-none-any\.whl/);
    assert.match(human.stderr, /server: 404 Not Found/);
    assert.match(human.stderr, /hint: +this job's project `acme\/app` may not publish to `acme\/wheels`/);
  } finally {
    await gitlab.stop();
  }
});

test("preflight: --no-preflight skips it, and check --online runs it without sending a file", async () => {
  const gitlab = await startServer((req, res) => res.writeHead(404, { "content-type": "application/json" }).end('{"message":"404 Not Found"}'));
  try {
    const url = `${gitlab.url}api/v4/projects/acme%2Fwheels/packages/pypi`;
    const online = await cli(["check", "--online", "--repository-url", url, "-u", "gitlab-ci-token", "-p", JOB.CI_JOB_TOKEN, wheel], JOB);
    assert.equal(online.code, 1);
    assert.match(online.stderr, /Job token permissions/);
    assert.equal(gitlab.requests.filter((q) => q.method === "POST").length, 0);
    const skipped = await cli(["upload", "--json", "--no-preflight", "--retries", "0", "--repository-url", url, "-u", "gitlab-ci-token", "-p", JOB.CI_JOB_TOKEN, wheel], JOB);
    assert.equal(skipped.json[0].kind, "notFound", "the upload itself met the 404");
    assert.equal(gitlab.requests.at(-1).method, "POST");
  } finally {
    await gitlab.stop();
  }
});

test("preflight: a registry that does not answer fails check --online; an upload goes on to its own retries and says the check got no reply", async () => {
  // A port that was free a moment ago: nothing listens there.
  const closed = await startServer((req, res) => res.end());
  const url = `${closed.url}legacy/`;
  await closed.stop();
  const online = await cli(["check", "--online", "--json", "--repository-url", url, "-u", "u", "-p", "pw-offline-1", wheel]);
  assert.equal(online.code, 1, online.stderr);
  assert.match(online.stdout + online.stderr, /could not be reached/);
  const up = await cli(["upload", "--json", "--retries", "1", "--repository-url", url, "-u", "u", "-p", "pw-offline-1", wheel]);
  assert.equal(up.code, 1);
  assert.equal(up.json[0].kind, "network", JSON.stringify(up.json[0]));
  assert.equal(up.json[0].attempts, 2, "the upload was tried, with its retry");
  assert.ok(up.json[0].warnings.some((w) => /check before the upload got no reply/.test(w)), JSON.stringify(up.json[0].warnings));
});

test("preflight: a good configuration passes with one extra request, against pypiserver and devpi", async () => {
  const reg = await startPypiserver();
  const devpi = await startDevpi();
  // A recording relay in front of pypiserver counts what the CLI sends.
  const seen = [];
  const front = await startServer(async (req, res) => {
    seen.push(`${req.method} ${req.url}`);
    const r = await fetch(new URL(req.url, reg.url), { method: req.method, headers: { ...req.headers, host: new URL(reg.url).host }, body: req.method === "POST" ? req.body : undefined, redirect: "manual" });
    res.writeHead(r.status, Object.fromEntries(r.headers)).end(Buffer.from(await r.arrayBuffer()));
  });
  try {
    const r = await cli(["upload", "--json", "--repository-url", front.url, "-u", reg.user, "-p", reg.password, wheel]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json[0].status, "uploaded");
    assert.deepEqual(seen, ["GET /", "POST /"], "one extra request, before the upload");
    assert.deepEqual(readdirSync(reg.packages), ["pp_hatch_demo-1.2.3-py3-none-any.whl"]);

    const d = await cli(["upload", "--json", "--repository-url", devpi.url, "-u", devpi.user, "-p", devpi.password, wheel]);
    assert.equal(d.code, 0, d.stderr);
    assert.equal(d.json[0].status, "uploaded");
    const wrong = await cli(["upload", "--json", "--repository-url", devpi.url.replace("/stable/", "/nosuch/"), "-u", devpi.user, "-p", devpi.password, sdist]);
    assert.equal(wrong.code, 1);
    assert.equal(wrong.json[0].kind, "preflight");
    assert.equal(wrong.json[0].httpStatus, 404);
  } finally {
    await front.stop();
    await reg.stop();
    await devpi.stop();
  }
});

test("preflight: PyPI's rules are checked without a request (a password instead of a token)", async () => {
  const r = await cli(["upload", "--json", "--trusted-publishing", "never", "--repository-url", "https://upload.pypi.org/legacy/", "-u", "alice", "-p", "canary-pw-9", wheel]);
  assert.equal(r.code, 1);
  assert.equal(r.json[0].kind, "preflight");
  assert.match(r.json[0].hint, /__token__/);
  assert.ok(!r.stdout.includes("canary-pw-9"));
});

test("preflight: a PyPI token scoped to another project is refused before anything is sent", async () => {
  // A token minted by pymacaroons the way warehouse mints one, scoped to project "other"
  // (tests/fixtures/tokens/make_vectors.py); no request reaches upload.pypi.org.
  const vectors = JSON.parse(readFileSync(join(root, "tests/fixtures/tokens/vectors.json"), "utf8"));
  const token = vectors.find((v) => v.name === "project token, another project").token;
  const r = await cli(["upload", "--json", "--trusted-publishing", "never", "--repository-url", "https://upload.pypi.org/legacy/", "-t", token, wheel]);
  assert.equal(r.code, 1);
  assert.equal(r.json[0].kind, "preflight");
  assert.match(r.json[0].error, /scoped to `other`, not to `pp-hatch-demo`|scoped to `other`/);
  assert.ok(!(r.stdout + r.stderr).includes(token.slice(5, 40)), "never the token");
});

test("check: PyPI's own checks (RST description, classifiers, License-Expression, requirements) fail the file with their own messages and lines", async () => {
  const dir = mkdtempSync(join(tmpdir(), "checks-"));
  const metadata = [
    "Metadata-Version: 2.4",
    "Name: badmeta",
    "Version: 1.0",
    "License-Expression: MIT AND Nonsense-License",
    "Classifier: Programming Language :: Python :: 3",
    "Classifier: Topic :: Not A Real Topic",
    "Requires-Dist: requests (>=2.0",
    "",
    "Title",
    "===",
    "",
    "Text with *unterminated emphasis.",
    "",
  ].join("\n");
  const whl = join(dir, "badmeta-1.0-py3-none-any.whl");
  const py = spawnSync(venv("python"), ["-c", "import sys,zipfile\nz=zipfile.ZipFile(sys.argv[1],'w')\nz.writestr('badmeta-1.0.dist-info/METADATA', sys.argv[2])\nz.writestr('badmeta/__init__.py','')\nz.close()", whl, metadata]);
  assert.equal(py.status, 0, String(py.stderr));
  const r = await cli(["check", whl]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /failed +badmeta-1\.0-py3-none-any\.whl: PyPI would refuse it/);
  assert.match(r.stderr, /error: classifier: .*Topic :: Not A Real Topic/);
  assert.match(r.stderr, /error: license-expression: .*Nonsense-License/);
  assert.match(r.stderr, /error: requires-dist: /);
  assert.match(r.stderr, /error: description \(line 4\): /);
  const json = await cli(["check", "--json", whl]);
  const codes = JSON.parse(json.stdout).findings.filter((f) => f.blocking).map((f) => f.code);
  assert.ok(codes.length >= 4, codes.join(", "));
  assert.equal(new Set(codes).size, codes.length, "each problem has its own code");
});
