// Benchmark (not a test): the release hook in workerd publishing one 300 MiB generated wheel,
// served by a local static server, to a local sink. Reports workerd's idle RSS and its peak
// (the kernel's VmHWM) and writes section (e) of BENCHMARKS.md. Goal: far below 128 MB above
// idle (the Workers memory limit). Run: scripts/build-wasm && node scripts/bench-edge.mjs
import { spawn } from "node:child_process";
import { createServer } from "node:http";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { workerdConfig } from "../edge/workerd-config.mjs";
import { sign } from "../edge/hook.js";
import { root, freePort, makeWheel, startAssetServer, writeBenchSection } from "../tests/e2e/servers.mjs";

const MiB = 2 ** 20;
const work = mkdtempSync(join(tmpdir(), "bench-edge-"));
const big = makeWheel(work, "edge_bench", 300, { random: true });
const size = statSync(big).size;
const assets = await startAssetServer({ "edge_bench-1.0-py3-none-any.whl": big });
let received = 0;
const sink = createServer((req, res) => {
  req.on("data", (c) => (received += c.length));
  req.on("end", () => res.end("OK"));
});
await new Promise((r) => sink.listen(0, "127.0.0.1", r));
const [hookPort, relayPort] = [await freePort(), await freePort()];
const dir = join(root, "target/workerd");
mkdirSync(dir, { recursive: true });
const env = { PYPUBLISH_REPOSITORY_URL: `http://127.0.0.1:${sink.address().port}/`, PYPUBLISH_USERNAME: "bench", PYPUBLISH_PASSWORD: "bench-pw", PYPUBLISH_HOOK_SECRET: "bench-secret" };
writeFileSync(join(dir, "bench.capnp"), workerdConfig({ hookPort, relayPort, dir, env }));
const wd = spawn(join(root, "node_modules/@cloudflare/workerd-linux-64/bin/workerd"), ["serve", join(dir, "bench.capnp")], { stdio: "ignore", env: { ...process.env, ...env } });
const status = () => readFileSync(`/proc/${wd.pid}/status`, "utf8");
const kb = (k) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(status())[1]) * 1024;
let idle;
for (let i = 0; i < 100; i++) {
  try {
    await (await fetch(`http://127.0.0.1:${hookPort}/`)).arrayBuffer();
    break;
  } catch {
    await new Promise((r) => setTimeout(r, 100));
  }
}
try {
  idle = kb("VmRSS");
  const body = JSON.stringify({ files: [{ url: `${assets.base}edge_bench-1.0-py3-none-any.whl` }] });
  const t = performance.now();
  const r = await fetch(`http://127.0.0.1:${hookPort}/publish`, { method: "POST", headers: { "x-pypublish-signature": await sign(env.PYPUBLISH_HOOK_SECRET, body) }, body });
  const reports = await r.json();
  if (r.status !== 200) throw new Error(`the hook answered ${r.status}: ${JSON.stringify(reports)}`);
  const secs = (performance.now() - t) / 1000;
  const peak = kb("VmHWM");
  const f = (b) => (b / MiB).toFixed(0);
  const section = [
    `## (e) The release hook in workerd: one ${f(size)} MiB asset, hashed and uploaded`,
    "",
    `Command: \`node scripts/bench-edge.mjs\` (also run by \`scripts/bench\`). workerd from npm, the hook fetching the asset from a local static server and posting to a local sink (${f(received)} MiB received) in ${secs.toFixed(1)} s.`,
    "",
    "| workerd process | RSS MiB |",
    "|---|---:|",
    `| idle, before the request | ${f(idle)} |`,
    `| peak (VmHWM) | ${f(peak)} (+${f(peak - idle)} over idle) |`,
    "",
    `Goal: far below 128 MB above idle: +${f(peak - idle)} MiB, ${peak - idle < 64 * MiB ? "met" : "not met"}. The hash pass reads through one reused BYOB buffer; the body pass pipes the asset's stream natively into a \`FixedLengthStream\` between the multipart head and tail, so no chunk goes through JS (reading the chunks in JS instead cost +170 MiB here: garbage that workerd's collector reclaimed late).`,
    "",
  ].join("\n");
  console.log(section);
  writeBenchSection("## (e) The release hook", section);
} finally {
  wd.kill();
  await assets.stop();
  sink.close();
  rmSync(work, { recursive: true, force: true });
}
