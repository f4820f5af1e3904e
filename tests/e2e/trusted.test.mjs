// Trusted publishing against replayed endpoints on 127.0.0.1. PyPI's OIDC endpoints cannot run
// here; their replies follow warehouse/oidc/views.py (audience: {"audience": ...}; mint-token:
// {"success", "token", "expires"} or 422 {"message": "Token request failed", "errors": [...]}).
// The GitHub endpoint follows the Actions OIDC contract ({"value": jwt}, `bearer` request token).
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";

import { cli, root, startServer, testCertificate } from "./servers.mjs";

const b64url = (s) => Buffer.from(s).toString("base64url");
const JWT = `${b64url('{"alg":"RS256"}')}.${b64url(JSON.stringify({ sub: "repo:acme/demo:ref:refs/heads/main", repository: "acme/demo", repository_owner: "acme", job_workflow_ref: "acme/demo/.github/workflows/release.yml@refs/heads/main", ref: "refs/heads/main" }))}.c2lnbmF0dXJlLXNlY3JldA`;
const MINTED = "pypi-minted-AgEIcHlwaS5vcmc";

// Trusted publishing refuses plain http (the identity token must not travel unencrypted), so
// the replayed endpoints speak TLS with a test certificate the CLI is told to trust.
async function fakes(mint) {
  const github = await startServer((req, res) => {
    const ok = req.headers.authorization === "bearer req-token" && req.url.includes("audience=pypi");
    res.writeHead(ok ? 200 : 403, { "Content-Type": "application/json" }).end(ok ? JSON.stringify({ value: JWT }) : "{}");
  }, { tls: true });
  const pypi = await startServer((req, res) => {
    if (req.url === "/_/oidc/audience") return res.writeHead(200, { "Content-Type": "application/json" }).end('{"audience":"pypi"}');
    if (req.url === "/_/oidc/mint-token") return mint(req, res);
    const expected = `Basic ${Buffer.from(`__token__:${MINTED}`).toString("base64")}`;
    res.writeHead(req.headers.authorization === expected ? 200 : 403).end();
  }, { tls: true });
  const env = {
    NODE_EXTRA_CA_CERTS: testCertificate().ca, ACTIONS_ID_TOKEN_REQUEST_URL: `${github.url}token?api-version=2.0`, ACTIONS_ID_TOKEN_REQUEST_TOKEN: "req-token", PYPUBLISH_USERNAME: "", PYPUBLISH_PASSWORD: "", TWINE_USERNAME: "", TWINE_PASSWORD: "" };
  return { github, pypi, env, stop: async () => { await github.stop(); await pypi.stop(); } };
}

const file = join(root, "tests/fixtures/corpus/six-1.16.0-py2.py3-none-any.whl");

test("trusted publishing: the OIDC token is exchanged for an API token that uploads; no token is printed", async () => {
  const f = await fakes((req, res) => {
    const ok = JSON.parse(req.body.toString()).token === JWT;
    res.writeHead(ok ? 200 : 422, { "Content-Type": "application/json" }).end(JSON.stringify({ success: true, token: MINTED, expires: 1900000000 }));
  });
  try {
    const r = await cli(["upload", "--json", "--trusted-publishing", "always", "--repository-url", `${f.pypi.url}legacy/`, file], f.env);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).status, "uploaded");
    assert.equal(f.github.requests.length, 1);
    assert.deepEqual(f.pypi.requests.map((q) => q.url), ["/_/oidc/audience", "/_/oidc/mint-token", "/legacy/"]);
    for (const secret of [JWT, MINTED, "req-token"]) assert.ok(!(r.stdout + r.stderr).includes(secret));
  } finally {
    await f.stop();
  }
});

test("trusted publishing: a refused mint shows PyPI's codes and the token's claims, never the token; nothing is uploaded", async () => {
  const f = await fakes((req, res) =>
    res.writeHead(422, { "Content-Type": "application/json" }).end(JSON.stringify({ message: "Token request failed", errors: [{ code: "invalid-publisher", description: "valid token, but no corresponding publisher (Publisher with matching claims was not found)" }] })),
  );
  try {
    const r = await cli(["upload", "--trusted-publishing", "always", "--repository-url", `${f.pypi.url}legacy/`, file], f.env);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /invalid-publisher/);
    assert.match(r.stderr, /repository=acme\/demo/);
    assert.match(r.stderr, /job_workflow_ref=acme\/demo\/.github\/workflows\/release.yml@refs\/heads\/main/);
    assert.ok(!r.stderr.includes(JWT) && !r.stderr.includes("c2lnbmF0dXJlLXNlY3JldA"));
    assert.equal(f.pypi.requests.filter((q) => q.url === "/legacy/").length, 0);
  } finally {
    await f.stop();
  }
});

test("trusted publishing always, outside a CI: a clear error naming what the job needs", async () => {
  const f = await fakes((req, res) => res.writeHead(500).end());
  try {
    const r = await cli(["upload", "--trusted-publishing", "always", "--repository-url", `${f.pypi.url}legacy/`, file], { ...f.env, ACTIONS_ID_TOKEN_REQUEST_URL: "", ACTIONS_ID_TOKEN_REQUEST_TOKEN: "" });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /id-token: write/);
    assert.match(r.stderr, /PYPI_ID_TOKEN/);
    assert.equal(f.pypi.requests.filter((q) => q.url === "/legacy/").length, 0);
  } finally {
    await f.stop();
  }
});

test("trusted publishing over plain http is refused before any token is asked for", async () => {
  const plain = await startServer((req, res) => res.writeHead(200, { "Content-Type": "application/json" }).end('{"audience":"pypi"}'));
  const f = await fakes((req, res) => res.writeHead(500).end());
  try {
    const r = await cli(["upload", "--trusted-publishing", "always", "--repository-url", `${plain.url}legacy/`, file], f.env);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /https:\/\//);
    assert.equal(plain.requests.length, 0, "not even the audience is asked for over http");
    assert.equal(f.github.requests.length, 0, "no identity token is minted");
  } finally {
    await plain.stop();
    await f.stop();
  }
});
