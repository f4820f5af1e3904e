// Serves the release hook or the CORS relay from Deno or Bun (the same modules workerd runs):
//   deno run --allow-net --allow-read --allow-env edge/serve.mjs hook|relay PORT [--dev]
//   bun edge/serve.mjs hook|relay PORT [--dev]
// The environment (PYPUBLISH_*, GITHUB_*, RELAY_*) is the process's. The settings are checked
// before the port is opened: a problem is printed and the process exits with status 2.
// --dev honours the hook's PYPUBLISH_DEV_* settings (tests, local trials); never in production.
import init from "../pkg/pypublish.js";
import { handle, hookConfig } from "./hook.js";
import { relay, relayConfig } from "./relay.js";

const isDeno = typeof Deno !== "undefined";
const exit = (code) => (isDeno ? Deno.exit(code) : process.exit(code));
const args = isDeno ? Deno.args : process.argv.slice(2);
const dev = args.includes("--dev");
const [which, port] = args.filter((a) => a !== "--dev");
if (!["hook", "relay"].includes(which) || !Number(port)) {
  console.error("usage: serve.mjs hook|relay PORT [--dev]");
  exit(2);
}
const env = isDeno ? Deno.env.toObject() : { ...process.env };
// The wasm package first: checking the hook's settings asks the core about the registry URL.
if (which === "hook") {
  const wasm = new URL("../pkg/pypublish_bg.wasm", import.meta.url);
  await init({ module_or_path: isDeno ? await Deno.readFile(wasm) : await Bun.file(wasm).arrayBuffer() });
}
try {
  if (which === "hook") hookConfig(env, { dev });
  else relayConfig(env);
} catch (e) {
  // The hook's and the relay's ConfigError both list their problems.
  if (!Array.isArray(e?.problems)) throw e;
  console.error(e.message);
  exit(2);
}
const fetch = which === "hook" ? (request) => handle(request, env, { dev }) : (request) => relay(request, env);
// Exit on SIGTERM at once rather than wait for idle keep-alive connections to close.
if (isDeno) Deno.addSignalListener("SIGTERM", () => Deno.exit(0));
else process.on("SIGTERM", () => process.exit(0));
if (isDeno) Deno.serve({ hostname: "127.0.0.1", port: Number(port), onListen: () => console.log(`listening on ${port}`) }, fetch);
else {
  // Bun caps request bodies at 128 MiB by default; the relay streams bigger ones.
  Bun.serve({ hostname: "127.0.0.1", port: Number(port), maxRequestBodySize: 2 ** 40, idleTimeout: 255, fetch });
  console.log(`listening on ${port}`);
}
