// A fetch for Node built on node:http(s). Node 20's built-in fetch buffers a whole request
// body in memory before it is sent (a 1000 MiB upload took 1.1 GB of RSS, see BENCHMARKS.md);
// piping into http.request keeps to the socket's pace. Only what publish() needs: no redirects
// followed (it asks for "manual"), AbortSignal honoured, the reply body read whole.
import http from "node:http";
import https from "node:https";
import { Readable } from "node:stream";

export function nodeFetch(request) {
  return new Promise((resolve, reject) => {
    const url = new URL(request.url);
    const mod = url.protocol === "https:" ? https : http;
    const signal = request.signal;
    const req = mod.request(url, { method: request.method, headers: Object.fromEntries(request.headers) });
    const onAbort = () => req.destroy(new DOMException("The operation was aborted.", "AbortError"));
    const cleanup = () => signal?.removeEventListener("abort", onAbort);
    if (signal?.aborted) return reject(new DOMException("The operation was aborted.", "AbortError"));
    signal?.addEventListener("abort", onAbort, { once: true });
    req.on("error", (e) => {
      cleanup();
      reject(e instanceof DOMException ? e : Object.assign(new TypeError("fetch failed"), { cause: e }));
    });
    req.on("response", (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("error", (e) => {
        cleanup();
        reject(Object.assign(new TypeError("fetch failed"), { cause: e }));
      });
      res.on("end", () => {
        cleanup();
        const headers = new Headers();
        for (const [k, v] of Object.entries(res.headers)) headers.set(k, Array.isArray(v) ? v.join(", ") : String(v));
        const status = res.statusCode;
        const body = [204, 205, 304].includes(status) ? null : Buffer.concat(chunks);
        resolve(new Response(body, { status, statusText: res.statusMessage ?? "", headers }));
      });
    });
    if (request.body) Readable.fromWeb(request.body).on("error", (e) => req.destroy(e)).pipe(req);
    else req.end();
  });
}
