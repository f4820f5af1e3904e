// Serves the release hook or the CORS relay from Deno or Bun (the same modules workerd runs):
//   deno run --allow-net --allow-read --allow-env edge/serve.mjs hook|relay PORT
//   bun edge/serve.mjs hook|relay PORT
// The environment (PYPUBLISH_*, RELAY_*) is the process's.
import init from "../pkg/pypublish.js";
import hook from "./hook.js";
import relay from "./relay.js";

const isDeno = typeof Deno !== "undefined";
const args = isDeno ? Deno.args : process.argv.slice(2);
const [which, port] = args;
const worker = { hook, relay }[which];
if (!worker || !Number(port)) {
  console.error("usage: serve.mjs hook|relay PORT");
  isDeno ? Deno.exit(2) : process.exit(2);
}
const env = isDeno ? Deno.env.toObject() : { ...process.env };
if (which === "hook") {
  const wasm = new URL("../pkg/pypublish_bg.wasm", import.meta.url);
  await init({ module_or_path: isDeno ? await Deno.readFile(wasm) : await Bun.file(wasm).arrayBuffer() });
}
const fetch = (request) => worker.fetch(request, env);
// Exit on SIGTERM at once rather than wait for idle keep-alive connections to close.
if (isDeno) Deno.addSignalListener("SIGTERM", () => Deno.exit(0));
else process.on("SIGTERM", () => process.exit(0));
if (isDeno) Deno.serve({ hostname: "127.0.0.1", port: Number(port), onListen: () => console.log(`listening on ${port}`) }, fetch);
else {
  // Bun caps request bodies at 128 MiB by default; the relay streams bigger ones.
  Bun.serve({ hostname: "127.0.0.1", port: Number(port), maxRequestBodySize: 2 ** 40, idleTimeout: 255, fetch });
  console.log(`listening on ${port}`);
}
