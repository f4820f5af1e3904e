// A scriptable raw-socket HTTP server for the fault suite. Each test says what happens on every
// connection, byte by byte: read the head, read some of the body or none, answer with any bytes
// (a status line Node would refuse, an endless body), reset, or go silent. The socket is only
// read when the script asks, so a slow or absent reader shows as TCP back-pressure to the
// client, as a real one would. Every request is recorded with what arrived, and a script says
// what the server "stored", so a test can check that a file was stored exactly once or not at all.
import net from "node:net";
import { createHash } from "node:crypto";

/**
 * Starts a server on `host` (127.0.0.1, or 127.0.0.2 to prove nothing reaches another host).
 * `script(conn, server)` runs once per connection.
 */
export async function faultServer(script, { host = "127.0.0.1" } = {}) {
  const server = {
    requests: [],
    stored: [],
    connections: 0,
    sockets: new Set(),
    errors: [],
    /** Records `req`'s file as stored (the registry said yes to it). */
    store(req) {
      server.stored.push({ filename: req.file?.filename, sha256: req.file?.sha256, path: req.path });
    },
  };
  const srv = net.createServer((socket) => {
    server.connections++;
    server.sockets.add(socket);
    socket.on("close", () => server.sockets.delete(socket));
    socket.on("error", () => {});
    const conn = new Conn(socket, server);
    Promise.resolve()
      .then(() => script(conn, server))
      .catch((e) => server.errors.push(e))
      .finally(() => conn.settleAfterScript());
  });
  await new Promise((r) => srv.listen(0, host, r));
  server.port = srv.address().port;
  server.host = host;
  server.origin = `http://${host}:${server.port}`;
  server.url = `${server.origin}/legacy/`;
  server.posts = () => server.requests.filter((r) => r.method === "POST");
  server.stop = () =>
    new Promise((resolve) => {
      for (const s of server.sockets) s.destroy();
      srv.close(() => resolve());
    });
  return server;
}

/** One accepted connection, read only on demand. */
class Conn {
  constructor(socket, server) {
    this.socket = socket;
    this.server = server;
    this.buf = Buffer.alloc(0);
    this.ended = false;
    this.waiter = null;
    this.keep = false;
    this.id = server.connections;
    socket.pause();
    socket.on("data", (d) => {
      this.buf = Buffer.concat([this.buf, d]);
      socket.pause();
      this.wake();
    });
    const over = () => {
      this.ended = true;
      this.wake();
    };
    socket.on("end", over);
    socket.on("close", over);
  }

  wake() {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  /** Waits for more bytes; false once the client has gone. */
  async more() {
    if (this.ended) return false;
    const p = new Promise((r) => (this.waiter = r));
    this.socket.resume();
    await p;
    return true;
  }

  /** The next request's head, or null if the client closed (or sent garbage) first. */
  async readHead() {
    for (;;) {
      const end = this.buf.indexOf("\r\n\r\n");
      if (end >= 0) {
        const text = this.buf.subarray(0, end).toString("latin1");
        this.buf = this.buf.subarray(end + 4);
        const [line, ...lines] = text.split("\r\n");
        const [method, path] = line.split(" ");
        const headers = {};
        for (const l of lines) {
          const i = l.indexOf(":");
          if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
        }
        const req = { method, path, headers, head: text, bodyLength: 0, complete: false, at: Date.now(), conn: this.id };
        this.server.requests.push(req);
        return req;
      }
      if (!(await this.more())) return null;
    }
  }

  /** Up to `n` bytes of what is left of the current request body (at least one, unless it ended). */
  async readSome(req, n = 1 << 20) {
    const left = Number(req.headers["content-length"] ?? 0) - req.bodyLength;
    if (left <= 0) return Buffer.alloc(0);
    while (this.buf.length === 0) if (!(await this.more())) return Buffer.alloc(0);
    const take = Math.min(n, left, this.buf.length);
    const chunk = this.buf.subarray(0, take);
    this.buf = this.buf.subarray(take);
    req.bodyLength += take;
    (req.chunks ??= []).push(chunk);
    return chunk;
  }

  /**
   * Reads the rest of the body: all of it, or `upTo` bytes; `pace` = { bytes, ms } reads that
   * much at a time with a pause between (a slow reader). Parses the upload form when whole.
   */
  async readBody(req, { upTo = Infinity, pace } = {}) {
    const length = Number(req.headers["content-length"] ?? 0);
    while (req.bodyLength < Math.min(length, upTo)) {
      // A pace step reads its whole `bytes` (several socket chunks), then pauses.
      let want = Math.min(pace?.bytes ?? 1 << 20, Math.min(length, upTo) - req.bodyLength);
      while (want > 0) {
        const got = await this.readSome(req, want);
        if (got.length === 0) break;
        want -= got.length;
      }
      if (want > 0) break;
      if (pace) await sleep(pace.ms);
    }
    if (req.bodyLength === length) {
      req.complete = true;
      req.body = Buffer.concat(req.chunks ?? []);
      req.chunks = undefined;
      parseForm(req);
    }
    return req;
  }

  /** Head and whole body. */
  async request() {
    const req = await this.readHead();
    if (req) await this.readBody(req);
    return req;
  }

  write(bytes) {
    if (!this.socket.destroyed) this.socket.write(typeof bytes === "string" ? Buffer.from(bytes, "latin1") : bytes);
  }

  /**
   * A whole reply. `status` is a number or a raw status line; `body` a string (UTF-8) or bytes.
   * A Content-Length is added unless the headers carry one or a Transfer-Encoding.
   */
  reply(status, headers = {}, body = "") {
    const line = typeof status === "number" ? `HTTP/1.1 ${status} ${REASONS[status] ?? "Whatever"}` : status;
    const bytes = typeof body === "string" ? Buffer.from(body, "utf8") : body;
    const names = Object.keys(headers).map((k) => k.toLowerCase());
    const all = { ...headers };
    if (!names.includes("content-length") && !names.includes("transfer-encoding")) all["Content-Length"] = String(bytes.length);
    const head = `${line}\r\n${Object.entries(all).map(([k, v]) => `${k}: ${v}\r\n`).join("")}\r\n`;
    this.write(Buffer.concat([Buffer.from(head, "latin1"), bytes]));
  }

  /** Closes our side (FIN) and keeps the connection for reading. */
  end() {
    this.socket.end();
  }

  /** Sends an RST. */
  reset() {
    if (!this.socket.destroyed) this.socket.resetAndDestroy();
  }

  /** FIN now, the socket gone after `ms` (an RST if the client is still sending). */
  closeAfter(ms) {
    this.socket.end();
    setTimeout(() => this.socket.destroy(), ms).unref();
  }

  /** Keeps the connection open once the script returns (keep-alive, or a hang). */
  hold() {
    this.keep = true;
  }

  settleAfterScript() {
    if (!this.keep && !this.socket.destroyed) this.socket.end();
  }
}

/** Pulls the upload form's fields and file out of a multipart body (enough for our own requests). */
function parseForm(req) {
  const m = /boundary=("?)([^";]+)\1/.exec(req.headers["content-type"] ?? "");
  if (!m || !req.body) return;
  const delim = Buffer.from(`--${m[2]}`);
  req.fields = {};
  let at = req.body.indexOf(delim);
  while (at >= 0) {
    const start = at + delim.length;
    if (req.body.subarray(start, start + 2).toString() === "--") break;
    const next = req.body.indexOf(delim, start);
    if (next < 0) break;
    const part = req.body.subarray(start + 2, next - 2);
    const sep = part.indexOf("\r\n\r\n");
    const head = part.subarray(0, sep).toString("latin1");
    const value = part.subarray(sep + 4);
    const name = /name="([^"]*)"/.exec(head)?.[1];
    const filename = /filename="([^"]*)"/.exec(head)?.[1];
    if (filename !== undefined) req.file = { filename, size: value.length, sha256: createHash("sha256").update(value).digest("hex") };
    else if (name) req.fields[name] = value.toString("utf8");
    at = next;
  }
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const REASONS = {
  200: "OK", 201: "Created", 301: "Moved Permanently", 302: "Found", 303: "See Other", 307: "Temporary Redirect",
  308: "Permanent Redirect", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
  409: "Conflict", 413: "Payload Too Large", 429: "Too Many Requests", 500: "Internal Server Error",
  502: "Bad Gateway", 503: "Service Unavailable",
};

/**
 * Serves each request on each connection with `handler(req, conn, server, n)`: keep-alive, until
 * the handler returns "stop", closes our side, or leaves part of the body unread (what follows
 * is not a request head).
 */
export function perRequest(handler) {
  return async (conn, server) => {
    for (;;) {
      const req = await conn.readHead();
      if (!req) return;
      const n = server.requests.length;
      const r = await handler(req, conn, server, n);
      const unread = req.bodyLength < Number(req.headers["content-length"] ?? 0);
      if (r === "stop" || unread || conn.socket.destroyed || conn.socket.writableEnded || conn.ended) return;
    }
  };
}
