#!/usr/bin/env node
// The local demo: pypiserver on 127.0.0.1 with a generated user and password, and the page
// served beside a same-origin relay to it. Prints the page URL, the credentials and the pip
// line that installs what is uploaded. Ctrl-C stops everything it started.
//
//   node scripts/demo.mjs [--port N]     (default 8000, or any free port if 8000 is taken)
import { randomBytes } from "node:crypto";
import { startPypiserver } from "./pypiserver.mjs";
import { demoConfig, serveWww } from "./serve-www.mjs";

const args = process.argv.slice(2);
const wanted = args[0] === "--port" ? Number(args[1]) : Number(process.env.PORT ?? 8000);
const user = "demo";
const password = randomBytes(12).toString("base64url");
const reg = await startPypiserver({ user, password, keep: true });
const config = demoConfig({ username: user, simpleUrl: reg.simple });
let page;
try {
  page = await serveWww({ port: wanted, registry: reg.url, config });
} catch (e) {
  if (e.code !== "EADDRINUSE") throw e;
  page = await serveWww({ port: 0, registry: reg.url, config });
}

console.log(`
pypublish demo
  page:      ${page.url}
  registry:  pypiserver at ${reg.url} (the page reaches it through ${page.url}registry/)
  username:  ${user}
  password:  ${password}

Drop wheels or sdists on the page, upload them, then install one with:
  pip install --index-url ${reg.simple} <project>

Ctrl-C stops the page and the registry (uploads live in ${reg.packages}).`);

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  await Promise.allSettled([page.stop(), reg.stop()]);
  process.exit(0);
}
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
