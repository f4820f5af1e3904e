#!/usr/bin/env node
// pypublish CLI (Node >= 20) over the wasm package. For now: `inspect` and `check`, which show
// what an upload would send without touching the network.
import { openAsBlob, readFileSync, readdirSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import init, { inspect, planUpload } from "../pkg/pypublish.js";

const USAGE = `usage: pypublish inspect [--json] FILES...   show metadata and the form an upload would send
       pypublish check FILES...            validate distributions without a network
FILES defaults to dist/*`;

const here = dirname(fileURLToPath(import.meta.url));
await init({ module_or_path: readFileSync(join(here, "../pkg/pypublish_bg.wasm")) });

function expand(args) {
  if (args.length === 0) {
    try {
      return readdirSync("dist").map((f) => join("dist", f)).filter((f) => statSync(f).isFile());
    } catch {
      return [];
    }
  }
  return args;
}

async function inspectFile(path) {
  const blob = await openAsBlob(path);
  const result = await inspect(blob, { filename: basename(path) });
  const plan = planUpload(result.form, result.filename.raw, result.size);
  return { result, contentLength: plan.contentLength };
}

function show(path, { result: r, contentLength }) {
  const k = r.filename.kind;
  const kind = k.type === "wheel" ? `wheel ${k.pythonTag}-${k.abi.join(".")}-${k.platform.join(".")}` : `sdist (${k.format})`;
  const lines = [
    `${r.filename.raw}`,
    `  project   ${r.metadata.name} ${r.metadata.version}  (metadata ${r.metadata.metadataVersion}, ${r.metadataPath})`,
    `  type      ${kind}`,
    `  size      ${r.size} bytes; request body ${contentLength} bytes`,
    `  sha256    ${r.digests.sha256}`,
    `  form      ${r.form.length} fields:`,
  ];
  for (const { name, value } of r.form) {
    const v = value.length > 70 ? `${value.slice(0, 67).replace(/\n/g, "\\n")}...` : value.replace(/\n/g, "\\n");
    lines.push(`    ${name.padEnd(26)} ${v}`);
  }
  return lines.join("\n");
}

const [cmd, ...rest] = process.argv.slice(2);
const json = rest.includes("--json");
const files = expand(rest.filter((a) => a !== "--json"));
if (!["inspect", "check"].includes(cmd) || rest.includes("--help")) {
  console.error(USAGE);
  process.exit(cmd === "--help" || cmd === "-h" ? 0 : 2);
}
if (files.length === 0) {
  console.error(`pypublish ${cmd}: no files given and no dist/ directory\n${USAGE}`);
  process.exit(2);
}
let failed = 0;
for (const path of files) {
  try {
    const out = await inspectFile(path);
    if (json) console.log(JSON.stringify({ file: path, ok: true, ...out.result, contentLength: out.contentLength }));
    else if (cmd === "check") console.log(`ok      ${basename(path)}`);
    else console.log(show(path, out));
  } catch (e) {
    failed++;
    const err = { kind: e.kind ?? "source", message: e.message ?? String(e), hint: e.hint };
    if (json) console.log(JSON.stringify({ file: path, ok: false, error: err }));
    else console.error(`failed  ${basename(path)}: ${err.message}${err.hint ? `\n        hint: ${err.hint}` : ""}`);
  }
}
process.exit(failed ? 1 : 0);
