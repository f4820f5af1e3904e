// The CLI against real registries (pypiserver, devpi-server) and misbehaving servers, all on
// 127.0.0.1, started here. Scripted servers that count requests run without the preflight GET
// (it has tests of its own in preflight.test.mjs). What we upload is fetched back with pip and compared by sha256.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { cli, root, venv, startPypiserver, startDevpi, startServer } from "./servers.mjs";

const corpus = join(root, "tests/fixtures/corpus");
const dists = readdirSync(corpus).filter((f) => /\.(whl|tar\.gz|zip)$/.test(f)).sort();
const sha256 = (buf) => createHash("sha256").update(buf).digest("hex");
const localSha = (name) => sha256(readFileSync(join(corpus, name)));

/** The --json schema: one object per file with these fields and types, nothing else. */
function assertSchema(rep) {
  const allowed = { filename: "string", status: "string", httpStatus: "number", serverMessage: "string", hint: "string", error: "string", kind: "string", sha256: "string", attempts: "number", retryable: "boolean", verified: "boolean", response: "object", projectUrl: "string" };
  for (const [k, v] of Object.entries(rep)) assert.equal(typeof v, allowed[k], `field ${k} of ${JSON.stringify(rep)}`);
  assert.ok(["uploaded", "skipped", "failed"].includes(rep.status));
  assert.match(rep.sha256, /^[0-9a-f]{64}$/);
  if (rep.status === "failed") assert.ok(rep.hint || rep.error, "a failure says why");
}

const pip = (...args) => spawnSync(venv("python"), ["-m", "pip", "--isolated", "--disable-pip-version-check", ...args], { encoding: "utf8" });

/** Every file link of a PEP 503 simple page for `project`, resolved. */
async function simpleLinks(simple, project) {
  const page = `${simple}${project}/`;
  const html = await (await fetch(page)).text();
  return [...html.matchAll(/href="([^"]+)"/g)].map((m) => new URL(m[1].replace(/&amp;/g, "&"), page).href);
}

test("pypiserver: the whole corpus uploads, pip gets the same bytes back, and one installs and imports", async () => {
  const reg = await startPypiserver();
  try {
    const r = await cli(["upload", "--json", "--repository-url", reg.url, "-u", reg.user, "-p", reg.password, ...dists.map((d) => join(corpus, d))]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json.length, dists.length);
    for (const rep of r.json) {
      assert.equal(rep.status, "uploaded", JSON.stringify(rep));
      assert.equal(rep.sha256, localSha(rep.filename));
    }
    assert.ok(!r.stdout.includes(reg.password) && !r.stderr.includes(reg.password), "the password never shows");

    // Wheels: pip downloads each back from the simple index.
    const wheels = dists.filter((d) => d.endsWith(".whl"));
    const reqs = wheels.map((w) => `${w.split("-")[0]}==${w.split("-")[1]}`);
    const dl = mkdtempSync(join(tmpdir(), "pip-dl-"));
    const p = pip("download", "--no-deps", "--only-binary", ":all:", "--index-url", reg.simple, "-d", dl, ...reqs);
    assert.equal(p.status, 0, p.stdout + p.stderr);
    for (const w of wheels) assert.equal(sha256(readFileSync(join(dl, w))), localSha(w), w);

    // Sdists: pip downloads each too. pip prepares an sdist's metadata with its build backend
    // (setuptools, flit_core, hatchling, poetry-core, setuptools_scm are in .venv), offline.
    for (const s of dists.filter((d) => !d.endsWith(".whl"))) {
      const [, project, version] = s.match(/^(.+)-([^-]+?)\.(?:tar\.gz|zip)$/);
      const p = pip("download", "--no-deps", "--no-binary", ":all:", "--no-build-isolation", "--index-url", reg.simple, "-d", dl, `${project}==${version}`);
      assert.equal(p.status, 0, p.stdout + p.stderr);
      assert.equal(sha256(readFileSync(join(dl, s))), localSha(s), s);
    }

    const target = mkdtempSync(join(tmpdir(), "pip-target-"));
    const inst = pip("install", "--no-deps", "--index-url", reg.simple, "--target", target, "pp_setuptools_demo==0.1.0");
    assert.equal(inst.status, 0, inst.stdout + inst.stderr);
    const imp = spawnSync(venv("python"), ["-c", "import pp_setuptools_demo; print(pp_setuptools_demo.__name__)"], { env: { ...process.env, PYTHONPATH: target }, encoding: "utf8" });
    assert.equal(imp.stdout.trim(), "pp_setuptools_demo", imp.stderr);
  } finally {
    await reg.stop();
  }
});

test("pypiserver: a wrong password gives the decoded 403 and its hint, and nothing is uploaded", async () => {
  const reg = await startPypiserver();
  try {
    const files = dists.filter((d) => d.startsWith("pp_hatch")).map((d) => join(corpus, d));
    const r = await cli(["upload", "--repository-url", reg.url, "-u", reg.user, "-p", "wrong-password", ...files]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /HTTP 403/);
    assert.match(r.stderr, /server: Error: 403 Forbidden/);
    assert.match(r.stderr, /hint: .*htpasswd/);
    assert.ok(!r.stderr.includes("wrong-password"));
    assert.deepEqual(readdirSync(reg.packages), []);
  } finally {
    await reg.stop();
  }
});

test("pypiserver: a duplicate is a decoded 409; --skip-existing turns it into skipped", async () => {
  const reg = await startPypiserver();
  try {
    const file = join(corpus, "pp_poetry_demo-0.3.0-py3-none-any.whl");
    const auth = ["--repository-url", reg.url, "-u", reg.user, "-p", reg.password];
    const first = await cli(["upload", "--json", ...auth, file]);
    assert.equal(first.code, 0);
    assert.equal(first.json[0].status, "uploaded");
    const again = await cli(["upload", "--json", ...auth, file]);
    assert.equal(again.code, 1);
    assert.equal(again.json[0].status, "failed");
    assert.equal(again.json[0].httpStatus, 409);
    assert.equal(again.json[0].kind, "conflict");
    assert.match(again.json[0].serverMessage, /already exists/);
    const skip = await cli(["upload", "--json", "--skip-existing", ...auth, file]);
    assert.equal(skip.code, 0);
    assert.equal(skip.json[0].status, "skipped");
    for (const rep of [first.json[0], again.json[0], skip.json[0]]) assertSchema(rep);
    const human = await cli(["upload", "--skip-existing", ...auth, file]);
    assert.match(human.stdout, /^skipped   pp_poetry_demo-0.3.0-py3-none-any.whl/m);
    assert.doesNotMatch(human.stdout + human.stderr, /^uploaded/m, "never says uploaded for a skipped file");
  } finally {
    await reg.stop();
  }
});

test("skip-existing with a check URL: the same file is skipped unsent, a different one under the name fails unsent", async () => {
  const reg = await startPypiserver();
  try {
    const name = "pp_hatch_demo-1.2.3-py3-none-any.whl";
    const auth = ["--repository-url", reg.url, "-u", reg.user, "-p", reg.password, "--check-url", reg.simple];
    assert.equal((await cli(["upload", ...auth, join(corpus, name)])).code, 0);
    const same = await cli(["upload", "--json", "--skip-existing", ...auth, join(corpus, name)]);
    assert.equal(same.code, 0);
    assert.equal(same.json[0].status, "skipped");
    assert.match(same.json[0].hint, /same sha256/);
    assert.equal(same.json[0].attempts, 0, "nothing was sent");
    // The same name, other bytes: a copy with a zip comment.
    const dir = mkdtempSync(join(tmpdir(), "other-"));
    const copy = join(dir, name);
    const py = spawnSync(venv("python"), ["-c", `import zipfile,sys\nsrc=zipfile.ZipFile(sys.argv[1])\ndst=zipfile.ZipFile(sys.argv[2],'w')\n[dst.writestr(i, src.read(i)) for i in src.infolist()]\ndst.comment=b'other'\ndst.close()`, join(corpus, name), copy]);
    assert.equal(py.status, 0, String(py.stderr));
    const other = await cli(["upload", "--json", "--skip-existing", ...auth, copy]);
    assert.equal(other.code, 1);
    assert.equal(other.json[0].kind, "conflict");
    assert.match(other.json[0].hint, /different file/);
    assert.equal(other.json[0].attempts, 0);
  } finally {
    await reg.stop();
  }
});

test("a check URL answering 401 is an auth failure, not absent, and nothing is uploaded", async () => {
  const srv = await startServer((req, res) => {
    if (req.method === "GET") res.writeHead(401, { "WWW-Authenticate": 'Basic realm="x"' }).end();
    else res.writeHead(200).end();
  });
  try {
    const r = await cli(["upload", "--json", "--no-preflight", "--skip-existing", "--check-url", `${srv.url}simple/`, "--repository-url", srv.url, "-u", "u", "-p", "pw-1234", join(corpus, "six-1.16.0-py2.py3-none-any.whl")]);
    assert.equal(r.code, 1);
    assert.equal(r.json[0].kind, "auth");
    assert.match(r.json[0].hint, /check URL/);
    assert.equal(srv.requests.filter((q) => q.method === "POST").length, 0);
    assert.equal(srv.requests[0].url, "/simple/six/");
    assert.ok(srv.requests[0].headers.authorization, "same origin: the check carries the credentials");
  } finally {
    await srv.stop();
  }
});

test("devpi-server: upload to a non-volatile index, identical re-upload is skipped, pip gets it back", async () => {
  const reg = await startDevpi();
  try {
    const files = ["pp_flit_demo-2.0.0b1-py3-none-any.whl", "pp_flit_demo-2.0.0b1.tar.gz", "Jinja2-2.11.3-py2.py3-none-any.whl"];
    const auth = ["--repository-url", reg.url, "-u", reg.user, "-p", reg.password];
    const r = await cli(["upload", "--json", ...auth, ...files.map((f) => join(corpus, f))]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.json.map((x) => x.status), ["uploaded", "uploaded", "uploaded"]);
    assert.deepEqual(r.json.map((x) => x.filename.endsWith(".whl")), [true, true, false], "wheels go first");
    const again = await cli(["upload", "--json", ...auth, join(corpus, files[0])]);
    assert.equal(again.code, 0);
    assert.equal(again.json[0].status, "skipped");
    assert.match(again.json[0].hint, /exact file/);
    const dl = mkdtempSync(join(tmpdir(), "pip-devpi-"));
    const p = pip("download", "--no-deps", "--only-binary", ":all:", "--index-url", reg.simple, "-d", dl, "Jinja2==2.11.3");
    assert.equal(p.status, 0, p.stdout + p.stderr);
    assert.equal(sha256(readFileSync(join(dl, files[2]))), localSha(files[2]));
    const bad = await cli(["upload", "--json", "--repository-url", reg.url, "-u", reg.user, "-p", "nope", join(corpus, "six-1.9.0.tar.gz")]);
    assert.equal(bad.code, 1);
    assert.equal(bad.json[0].httpStatus, 401);
    assert.match(bad.json[0].hint, /devpi/);
  } finally {
    await reg.stop();
  }
});

test("a server answering 503 twice, then 200: the file is uploaded exactly once, after three attempts", async () => {
  const stored = [];
  const srv = await startServer((req, res, n) => {
    if (n <= 2) {
      res.writeHead(503, { "Content-Type": "text/plain" }).end("busy, try later");
      return;
    }
    stored.push(req.body);
    res.writeHead(200).end();
  });
  try {
    const file = "pp_hatch_demo-1.2.3-py3-none-any.whl";
    const r = await cli(["upload", "--json", "--no-preflight", "--repository-url", srv.url, "-u", "u", "-p", "p4ssword", join(corpus, file)]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json[0].status, "uploaded");
    assert.equal(r.json[0].attempts, 3);
    assert.equal(srv.requests.length, 3);
    assert.equal(stored.length, 1);
    for (const q of srv.requests) assert.equal(Number(q.headers["content-length"]), q.body.length, "every attempt sends the whole body");
    assert.ok(stored[0].includes(readFileSync(join(corpus, file))), "the stored body carries the file");
  } finally {
    await srv.stop();
  }
});

test("a 308 to another port never receives the credentials; a same-origin 308 is followed", async () => {
  const other = await startServer((req, res) => res.writeHead(200).end());
  const redirecting = await startServer((req, res) => {
    if (req.url === "/legacy") res.writeHead(308, { Location: "/legacy/" }).end();
    else if (req.url === "/legacy/") res.writeHead(200).end();
    else res.writeHead(308, { Location: other.url }).end();
  });
  try {
    const file = join(corpus, "six-1.16.0-py2.py3-none-any.whl");
    const away = await cli(["upload", "--json", "--repository-url", `${redirecting.url}upload/`, "-u", "u", "-p", "top-secret", file]);
    assert.equal(away.code, 1);
    assert.equal(away.json[0].status, "failed");
    assert.equal(other.requests.length, 0, "nothing was sent to the other host");
    assert.ok(away.json[0].hint.includes(other.url), away.json[0].hint);
    const slash = await cli(["upload", "--json", "--repository-url", `${redirecting.url}legacy`, "-u", "u", "-p", "top-secret", file]);
    assert.equal(slash.code, 0, slash.stderr);
    assert.equal(slash.json[0].status, "uploaded");
    assert.deepEqual(redirecting.requests.slice(-2).map((q) => q.url), ["/legacy", "/legacy/"]);
  } finally {
    await redirecting.stop();
    await other.stop();
  }
});

test("usage errors exit 2; an unreachable registry fails with a clear error, nothing hangs", async () => {
  assert.equal((await cli(["upload", "--retries", "x"])).code, 2);
  assert.equal((await cli(["upload", "--bogus"])).code, 2);
  const r = await cli(["upload", "--json", "--retries", "0", "--repository-url", "http://127.0.0.1:9/", "-u", "u", "-p", "pw-secret", join(corpus, dists[0])]);
  assert.equal(r.code, 1);
  assert.equal(r.json[0].status, "failed");
  assert.match(r.json[0].error, /ECONNREFUSED|fetch failed/);
  assert.ok(!r.stdout.includes("pw-secret"));
});

for (const runtime of ["deno", "bun"]) {
  test(`the same publish runs in ${runtime}`, async () => {
    const reg = await startPypiserver();
    try {
      const files = ["pp_flit_demo-2.0.0b1-py3-none-any.whl", "pp_flit_demo-2.0.0b1.tar.gz"];
      const bin = join(root, "node_modules/.bin", runtime);
      const args = runtime === "deno" ? ["run", "--quiet", "--allow-read", "--allow-net", "--allow-env"] : [];
      const out = spawnSync(bin, [...args, join(root, "tests/e2e/publish-runtime.mjs"), reg.url, reg.user, reg.password, ...files.map((f) => join(corpus, f))], { encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
      assert.equal(out.status, 0, out.stderr);
      const reports = JSON.parse(out.stdout.trim().split("\n").pop());
      assert.deepEqual(reports.map((r) => r.status), ["uploaded", "uploaded"], out.stdout);
      for (const f of files) {
        const link = (await simpleLinks(reg.simple, "pp-flit-demo")).find((l) => l.endsWith(`/${f}`) || l.includes(`/${f}#`));
        assert.ok(link, `${f} listed`);
        assert.equal(sha256(Buffer.from(await (await fetch(link)).arrayBuffer())), localSha(f));
      }
    } finally {
      await reg.stop();
    }
  });
}

test("a <dist>.publish.attestation beside the file is sent as the attestations field", async () => {
  const srv = await startServer((req, res) => res.writeHead(200).end());
  try {
    const dir = mkdtempSync(join(tmpdir(), "att-"));
    const name = "six-1.16.0-py2.py3-none-any.whl";
    const copy = join(dir, name);
    writeFileSync(copy, readFileSync(join(corpus, name)));
    writeFileSync(`${copy}.publish.attestation`, JSON.stringify({ version: 1, verification_material: { certificate: "Zm9v" }, envelope: { statement: "YmFy", signature: "YmF6" } }));
    const r = await cli(["upload", "--json", "--no-preflight", "--repository-url", srv.url, "-u", "u", "-p", "pw-att", join(dir, "*")]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json.length, 1, "the attestation itself is not uploaded as a file");
    const body = srv.requests[0].body.toString("latin1");
    const m = body.match(/name="attestations"\r\n\r\n(.*)\r\n--/);
    assert.ok(m, "attestations field present");
    const list = JSON.parse(m[1]);
    assert.equal(list.length, 1);
    assert.equal(list[0].envelope.signature, "YmF6");
  } finally {
    await srv.stop();
  }
});
