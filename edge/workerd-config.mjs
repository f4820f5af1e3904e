// Writes a workerd config serving the release hook and the CORS relay on 127.0.0.1:
//   node edge/workerd-config.mjs --hook-port 8787 --relay-port 8788 [--dev] > pypublish.capnp
//   node_modules/.bin/workerd serve pypublish.capnp
// The variables (PYPUBLISH_*, GITHUB_*, RELAY_*) set in this environment become bindings read
// from workerd's own environment when it starts (no secret is written into the file): run
// workerd with the same variables set.
//
// The production config (the default) lets the workers reach public addresses only: workerd
// checks the address a name resolves to, which is the one defence against a public name that
// resolves to a private address. --dev (tests, local trials) serves the development entry,
// which honours PYPUBLISH_DEV_*, and lets the workers reach private and local addresses (a
// registry or asset server on 127.0.0.1). Never deploy a --dev config.
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(new URL(".", import.meta.url));
const HOOK_ENV = [
  "PYPUBLISH_REPOSITORY_URL",
  "PYPUBLISH_CHECK_URL",
  "PYPUBLISH_USERNAME",
  "PYPUBLISH_PASSWORD",
  "PYPUBLISH_TOKEN",
  "PYPUBLISH_HOOK_SECRET",
  "PYPUBLISH_MAX_ASSET_BYTES",
  "PYPUBLISH_HOLD_BYTES",
  "PYPUBLISH_ASSET_HOSTS",
  "PYPUBLISH_TIMEOUT",
  "GITHUB_WEBHOOK_SECRET",
  "GITHUB_REPOSITORIES",
  "GITHUB_TOKEN",
];
const DEV_ENV = ["PYPUBLISH_DEV_ALLOW_HTTP", "PYPUBLISH_DEV_ALLOW_PRIVATE", "PYPUBLISH_DEV_GITHUB_API"];
const RELAY_ENV = ["RELAY_ALLOWED_ORIGINS", "RELAY_UPSTREAMS", "RELAY_TOKEN"];
const NETWORKS = { public: `["public"]`, all: `["public", "private", "local"]` };
const str = (s) => JSON.stringify(String(s));

/**
 * The capnp text for a file written in `dir` (workerd's embed paths are relative to it).
 * `dev`: the development entry and its settings; `network`: "public" (default unless dev) or
 * "all" (tests that need a registry on 127.0.0.1 with the production entry).
 */
export function workerdConfig({ hookPort, relayPort, dir = process.cwd(), env = process.env, dev = false, network = dev ? "all" : "public", compatibilityDate = "2026-05-01" }) {
  // fromEnvironment: workerd reads the values when it starts, so no secret is written here.
  // The production entry refuses PYPUBLISH_DEV_*; passing them lets it say so.
  const bindings = (names) => names.filter((n) => env[n] !== undefined).map((n) => `(name = ${str(n)}, fromEnvironment = ${str(n)})`).join(",\n    ");
  const embed = (p) => `embed ${str(relative(dir, join(here, p)))}`;
  const entry = dev ? "workerd-dev-entry.js" : "workerd-entry.js";
  return `using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "hook", worker = .hook),
    (name = "relay", worker = .relay),
    (name = "internet", network = (allow = ${NETWORKS[network]}, tlsOptions = (trustBrowserCas = true))),
  ],
  sockets = [
    (name = "hook", address = "127.0.0.1:${hookPort}", http = (), service = "hook"),
    (name = "relay", address = "127.0.0.1:${relayPort}", http = (), service = "relay"),
  ],
);

const hook :Workerd.Worker = (
  modules = [
    (name = "edge/${entry}", esModule = ${embed(entry)}),
    (name = "edge/hook.js", esModule = ${embed("hook.js")}),
    (name = "edge/policy.js", esModule = ${embed("policy.js")}),
    (name = "edge/assets.js", esModule = ${embed("assets.js")}),
    (name = "pkg/pypublish.js", esModule = ${embed("../pkg/pypublish.js")}),
    (name = "pkg/pypublish_bg.wasm", wasm = ${embed("../pkg/pypublish_bg.wasm")}),
  ],
  compatibilityDate = ${str(compatibilityDate)},
  # request.signal fires when the client goes away only with this flag: the hook then stops
  # fetching assets and uploading.
  compatibilityFlags = ["enable_request_signal"],
  bindings = [
    ${bindings([...HOOK_ENV, ...DEV_ENV])}
  ],
  globalOutbound = "internet",
);

const relay :Workerd.Worker = (
  modules = [
    (name = "edge/relay.js", esModule = ${embed("relay.js")}),
  ],
  compatibilityDate = ${str(compatibilityDate)},
  bindings = [
    ${bindings(RELAY_ENV)}
  ],
  globalOutbound = "internet",
);
`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const a = process.argv.slice(2);
  const opt = (k, d) => (a.includes(k) ? Number(a[a.indexOf(k) + 1]) : d);
  process.stdout.write(workerdConfig({ hookPort: opt("--hook-port", 8787), relayPort: opt("--relay-port", 8788), dev: a.includes("--dev") }));
}
