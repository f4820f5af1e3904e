// Benchmark (not a test): a 1 GiB generated wheel chosen in the page, in Debian's Chromium,
// inspected and uploaded through the page's relay to a local sink that reads and discards the
// body. Samples the wasm memory size and the page's JS heap every 100 ms and reports the peaks.
// Goal: wasm memory ≤ 32 MiB. Writes section (d) of BENCHMARKS.md (run by scripts/bench, or
// alone: node scripts/bench-page.mjs after scripts/build-wasm).
import { createServer } from "node:http";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { makeWheel, launchChromium, writeBenchSection } from "../tests/e2e/servers.mjs";
import { demoConfig, serveWww } from "./serve-www.mjs";

const MiB = 2 ** 20;
const work = mkdtempSync(join(tmpdir(), "bench-page-"));
const big = makeWheel(work, "big_page", 1024);
const size = statSync(big).size;

let received = 0;
const sink = createServer((req, res) => {
  req.on("data", (c) => (received += c.length));
  req.on("end", () => res.writeHead(200, { "content-type": "text/plain" }).end("OK"));
});
await new Promise((r) => sink.listen(0, "127.0.0.1", r));
const sinkUrl = `http://127.0.0.1:${sink.address().port}/`;
const www = await serveWww({ registry: sinkUrl, config: demoConfig({ username: "bench", simpleUrl: `${sinkUrl}simple/` }) });
const browser = await launchChromium(["--enable-precise-memory-info"]);
let result;
try {
  const page = await browser.newPage();
  await page.goto(www.url);
  await page.waitForSelector("html[data-ready]");
  const peaks = { wasm: 0, heap: 0 };
  // The page's own module instance: the same URL imports the same module, and init() on an
  // initialised module returns its exports; the page sets no global for this.
  const sample = async () => {
    const m = await page.evaluate(async () => ({ wasm: (await (await import("/pkg/pypublish.js")).default()).memory.buffer.byteLength, heap: performance.memory.usedJSHeapSize }));
    peaks.wasm = Math.max(peaks.wasm, m.wasm);
    peaks.heap = Math.max(peaks.heap, m.heap);
  };
  await sample();
  const idle = { ...peaks };
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      await sample().catch(() => {});
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  const name = "big_page-1.0-py3-none-any.whl";
  const t0 = performance.now();
  await page.setInputFiles("#file-input", big);
  await page.waitForSelector(`[data-file="${name}"][data-status="ready"]`, { timeout: 600_000 });
  const t1 = performance.now();
  await page.fill("#password", "bench-pw");
  await page.click("#upload");
  await page.waitForSelector(`[data-file="${name}"][data-status="uploaded"], [data-file="${name}"][data-status="failed"]`, { timeout: 900_000 });
  const t2 = performance.now();
  sampling = false;
  await sampler;
  const status = await page.getAttribute(`[data-file="${name}"]`, "data-status");
  if (status !== "uploaded") throw new Error(`the upload failed: ${await page.textContent(`[data-file="${name}"]`)}`);
  result = { idle, peaks, inspect: (t1 - t0) / 1000, upload: (t2 - t1) / 1000 };
} finally {
  await browser.close();
  await www.stop();
  sink.close();
  rmSync(work, { recursive: true, force: true });
}

const mib = (b) => (b / MiB).toFixed(1);
const section = [
  `## (d) The page: a ${mib(size)} MiB wheel chosen in Chromium, inspected and uploaded through the page's relay`,
  "",
  `Command: \`node scripts/bench-page.mjs\` (also run by \`scripts/bench\`). Chromium ${browser.version()}, samples every 100 ms. The sink read ${mib(received)} MiB of request body.`,
  "",
  "| | idle | peak |",
  "|---|---:|---:|",
  `| wasm memory (MiB) | ${mib(result.idle.wasm)} | ${mib(result.peaks.wasm)} |`,
  `| page JS heap, usedJSHeapSize (MiB) | ${mib(result.idle.heap)} | ${mib(result.peaks.heap)} |`,
  "",
  `Inspect (metadata + three digests) ${result.inspect.toFixed(1)} s; upload (hashed again by publish, then sent by XMLHttpRequest with a Blob body) ${result.upload.toFixed(1)} s.`,
  `Goal: wasm memory ≤ 32 MiB: ${mib(result.peaks.wasm)} MiB, ${result.peaks.wasm <= 32 * MiB ? "met" : "not met"}. The file is read in 1 MiB slices into one reusable wasm buffer and sent as \`Blob([head, file, tail])\`, so wasm never holds it. The JS heap's peak is garbage, not the file: each \`blob.slice().arrayBuffer()\` makes a fresh 1 MiB buffer that waits for the collector (a BYOB reader over \`blob.stream()\` would reuse one).`,
  "",
].join("\n");
console.log(section);
writeBenchSection("## (d) The page", section);
