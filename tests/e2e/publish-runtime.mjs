// Publishes files with the wasm package from any runtime (run by Deno and Bun in the tests).
// usage: <runtime> publish-runtime.mjs URL USER PASSWORD FILE...; prints the reports as JSON.
import { readFileSync } from "node:fs";
import { basename } from "node:path";

import init, { publish } from "../../pkg/pypublish.js";

const args = typeof Deno !== "undefined" ? Deno.args : process.argv.slice(2);
const [repositoryUrl, username, password, ...paths] = args;
await init({ module_or_path: readFileSync(new URL("../../pkg/pypublish_bg.wasm", import.meta.url)) });
const files = paths.map((p) => ({ file: new Blob([readFileSync(p)]), filename: basename(p) }));
const reports = await publish({ repositoryUrl, username, password, files });
console.log(JSON.stringify(reports));
