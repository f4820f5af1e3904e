// Benchmark (not a test): a 1 GiB generated wheel chosen in the page, in Debian's Chromium,
// inspected (in the page's Web Worker) and uploaded through the page's relay to a local sink
// that reads and discards the body. Samples, every 100 ms, the wasm memory and the JS heap of
// the page and of its worker, and reports the peaks and the hashing passes the row counted.
// Goals (issue 11): JS heap ≤ 64 MiB, wasm memory ≤ 32 MiB, one hashing pass per file. Writes
// section (d) of BENCHMARKS.md (run by scripts/bench, or alone: node scripts/bench-page.mjs
// after scripts/build-wasm).
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
  const peaks = { wasm: 0, heap: 0, workerWasm: 0, workerHeap: 0 };
  // The page's own module instance: the same URL imports the same module, and init() on an
  // initialised module returns its exports; the page sets no global for this. The same holds in
  // the worker's realm. Workers have no performance.memory: their heap comes from DevTools.
  const wasmOf = async (scope) => scope.evaluate(async () => (await (await import("/pkg/pypublish.js")).default()).memory.buffer.byteLength);
  const cdp = await browser.newBrowserCDPSession();
  let workerSession;
  let nextId = 1;
  const replies = new Map();
  cdp.on("Target.receivedMessageFromTarget", ({ message }) => {
    const m = JSON.parse(message);
    replies.get(m.id)?.(m.result);
  });
  const workerHeap = async () => {
    if (!workerSession) {
      const { targetInfos } = await cdp.send("Target.getTargets");
      const t = targetInfos.find((i) => i.type === "worker" && i.url.endsWith("/hash-worker.js"));
      if (!t) return 0;
      // The old (unflattened) protocol: Playwright's sessions cannot address a child session.
      workerSession = (await cdp.send("Target.attachToTarget", { targetId: t.targetId, flatten: false })).sessionId;
    }
    const id = nextId++;
    const got = new Promise((r) => replies.set(id, r));
    await cdp.send("Target.sendMessageToTarget", { sessionId: workerSession, message: JSON.stringify({ id, method: "Runtime.getHeapUsage" }) });
    const r = await got;
    replies.delete(id);
    return r?.usedSize ?? 0;
  };
  const sample = async () => {
    const m = await page.evaluate(async () => ({ wasm: (await (await import("/pkg/pypublish.js")).default()).memory.buffer.byteLength, heap: performance.memory.usedJSHeapSize }));
    peaks.wasm = Math.max(peaks.wasm, m.wasm);
    peaks.heap = Math.max(peaks.heap, m.heap);
    const w = page.workers().find((x) => x.url().endsWith("/hash-worker.js"));
    if (w) {
      peaks.workerWasm = Math.max(peaks.workerWasm, await wasmOf(w).catch(() => 0));
      peaks.workerHeap = Math.max(peaks.workerHeap, await workerHeap().catch(() => 0));
    }
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
  const passes = Number(await page.getAttribute(`[data-file="${name}"]`, "data-hash-passes"));
  const where = await page.getAttribute(`[data-file="${name}"]`, "data-inspected-in");
  result = { idle, peaks, passes, where, inspect: (t1 - t0) / 1000, upload: (t2 - t1) / 1000 };
} finally {
  await browser.close();
  await www.stop();
  sink.close();
  rmSync(work, { recursive: true, force: true });
}

const mib = (b) => (b / MiB).toFixed(1);
const heapPeak = Math.max(result.peaks.heap, result.peaks.workerHeap);
const wasmPeak = Math.max(result.peaks.wasm, result.peaks.workerWasm);
const met = (ok) => (ok ? "met" : "not met");
const section = [
  `## (d) The page: a ${mib(size)} MiB wheel chosen in Chromium, inspected and uploaded through the page's relay`,
  "",
  `Command: \`node scripts/bench-page.mjs\` (also run by \`scripts/bench\`). Chromium ${browser.version()}, samples every 100 ms. The sink read ${mib(received)} MiB of request body.`,
  "",
  "| | idle | peak |",
  "|---|---:|---:|",
  `| page: wasm memory (MiB) | ${mib(result.idle.wasm)} | ${mib(result.peaks.wasm)} |`,
  `| page: JS heap, usedJSHeapSize (MiB) | ${mib(result.idle.heap)} | ${mib(result.peaks.heap)} |`,
  `| hashing worker: wasm memory (MiB) | ${mib(result.idle.workerWasm)} | ${mib(result.peaks.workerWasm)} |`,
  `| hashing worker: JS heap, DevTools usedSize (MiB) | ${mib(result.idle.workerHeap)} | ${mib(result.peaks.workerHeap)} |`,
  "",
  `Inspect (metadata + three digests, in the ${result.where === "worker" ? "Web Worker" : "page itself"}) ${result.inspect.toFixed(1)} s; upload (publish given the inspection's digests, the body sent by XMLHttpRequest as a Blob) ${result.upload.toFixed(1)} s. Hashing passes over the file, as the row counts them: ${result.passes}.`,
  `Goals: JS heap ≤ 64 MiB (the larger of page and worker): ${mib(heapPeak)} MiB, ${met(heapPeak <= 64 * MiB)}; wasm memory ≤ 32 MiB: ${mib(wasmPeak)} MiB, ${met(wasmPeak <= 32 * MiB)}; one hashing pass per file: ${result.passes}, ${met(result.passes === 1)}.`,
  `The worker's inspect() reads the File through one reused buffer (a BYOB reader over \`file.stream()\`, which Chromium fills 128 KiB at a time) into the wasm hasher, and posts the inspection back; publish() takes its digests, so the page never reads the file for hashing, and the body goes as \`Blob([head, file, tail])\`, which neither wasm nor the JS heap holds.`,
  "",
].join("\n");
console.log(section);
writeBenchSection("## (d) The page", section);
