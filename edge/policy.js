// Which URLs the release hook may fetch, and the sizes its settings take. Pure functions, no
// I/O: the hook, its tests and the Deno/Bun launcher share them.
//
// The runtime resolves DNS, not this code: a public-looking name can still resolve to a private
// address. These checks stop literal addresses (in every spelling the URL parser accepts) and
// well-known internal names; the network layer has to stop the rest (workerd's network service
// with allow = ["public"] checks the resolved address; Cloudflare Workers cannot reach private
// networks at all; under Deno or Bun use PYPUBLISH_ASSET_HOSTS and egress rules).

/** `n` as an integer from its dotted IPv4 text, or null when `host` is not one. */
function ipv4(host) {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (!m) return null;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return null;
  return ((parts[0] << 24) >>> 0) + (parts[1] << 16) + (parts[2] << 8) + parts[3];
}

const v4 = (a, b, c, d) => ((a << 24) >>> 0) + (b << 16) + (c << 8) + d;
const within = (n, base, bits) => bits === 0 || n >>> (32 - bits) === base >>> (32 - bits);

// Cloud instance metadata services: refused even where private addresses are allowed (dev).
const METADATA_V4 = [v4(169, 254, 169, 254), v4(169, 254, 170, 2), v4(100, 100, 100, 200), v4(168, 63, 129, 16), v4(192, 0, 0, 192)];
const METADATA_NAMES = new Set(["metadata", "metadata.google.internal", "metadata.goog", "instance-data", "instance-data.ec2.internal", "metadata.azure.com", "metadata.packet.net"]);
// Names that only ever mean "this machine" or "this site".
const LOCAL_SUFFIXES = ["local", "internal", "localdomain", "home.arpa", "lan", "intranet", "corp", "private", "test", "invalid", "example"];

// Special-purpose IPv4 blocks (RFC 6890 and friends): none of them is a public web host.
const NON_PUBLIC_V4 = [
  [v4(0, 0, 0, 0), 8, "local"],
  [v4(10, 0, 0, 0), 8, "private"],
  [v4(100, 64, 0, 0), 10, "private"],
  [v4(127, 0, 0, 0), 8, "loopback"],
  [v4(169, 254, 0, 0), 16, "linkLocal"],
  [v4(172, 16, 0, 0), 12, "private"],
  [v4(192, 0, 0, 0), 24, "private"],
  [v4(192, 0, 2, 0), 24, "private"],
  [v4(192, 88, 99, 0), 24, "private"],
  [v4(192, 168, 0, 0), 16, "private"],
  [v4(198, 18, 0, 0), 15, "private"],
  [v4(198, 51, 100, 0), 24, "private"],
  [v4(203, 0, 113, 0), 24, "private"],
  [v4(224, 0, 0, 0), 4, "private"],
  [v4(240, 0, 0, 0), 4, "private"],
];

function classifyV4(n) {
  if (METADATA_V4.includes(n)) return "metadata";
  for (const [base, bits, kind] of NON_PUBLIC_V4) if (within(n, base, bits)) return kind;
  return "public";
}

/** The eight 16-bit groups of an IPv6 address (as the URL parser prints it), or null. */
function ipv6(text) {
  let s = text;
  // A trailing dotted quad (the parser prints ::ffff:7f00:1, but be liberal).
  const dotted = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (dotted) {
    const n = ipv4(dotted[2]);
    if (n === null) return null;
    s = `${dotted[1]}${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const halves = s.split("::");
  if (halves.length > 2) return null;
  const part = (h) => (h === "" ? [] : h.split(":"));
  const [left, right] = [part(halves[0]), halves.length === 2 ? part(halves[1]) : []];
  const missing = 8 - left.length - right.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  const groups = [...left, ...Array(halves.length === 2 ? missing : 0).fill("0"), ...right];
  if (groups.some((g) => !/^[0-9a-f]{1,4}$/i.test(g))) return null;
  return groups.map((g) => parseInt(g, 16));
}

function classifyV6(g) {
  const embedded = (hi, lo) => classifyV4(((g[hi] << 16) >>> 0) + g[lo]);
  const zeros = (from, to) => g.slice(from, to).every((x) => x === 0);
  if (zeros(0, 8)) return "local";
  if (zeros(0, 7) && g[7] === 1) return "loopback";
  // IPv4-mapped, IPv4-compatible and NAT64 addresses reach the IPv4 address inside them.
  if (zeros(0, 5) && g[5] === 0xffff) return embedded(6, 7);
  if (zeros(0, 6)) return embedded(6, 7);
  if (g[0] === 0x64 && g[1] === 0xff9b && (zeros(2, 6) || g[2] === 1)) return embedded(6, 7);
  if (g[0] === 0x2002) return embedded(1, 2); // 6to4
  if (g[0] === 0xfd00 && g[1] === 0x0ec2 && zeros(2, 7) && g[7] === 0x254) return "metadata"; // AWS IMDS
  if ((g[0] & 0xfe00) === 0xfc00) return "private"; // unique local
  if ((g[0] & 0xffc0) === 0xfe80 || (g[0] & 0xffc0) === 0xfec0) return "linkLocal";
  if ((g[0] & 0xff00) === 0xff00) return "private"; // multicast
  if (g[0] === 0x2001 && (g[1] === 0 || g[1] === 0x0db8)) return "private"; // Teredo hides an address; documentation
  if (g[0] === 0x0100 && zeros(1, 4)) return "private"; // discard
  return "public";
}

/**
 * What a URL's hostname (as `new URL().hostname` gives it) points at: "public", "loopback",
 * "private", "linkLocal", "local" (unspecified or an intranet name) or "metadata".
 */
export function classifyHost(hostname) {
  const host = String(hostname).toLowerCase().replace(/\.$/, "");
  if (host.startsWith("[") && host.endsWith("]")) {
    const g = ipv6(host.slice(1, -1).replace(/%.*$/, ""));
    return g ? classifyV6(g) : "local";
  }
  const n = ipv4(host);
  if (n !== null) return classifyV4(n);
  // The URL parser turns every numeric spelling (0x7f.1, 2130706433, 127.1) into a dotted quad;
  // a name that still ends in a number is not one DNS would answer for the public web.
  if (/^[\d.]+$/.test(host) || /\.\d+$/.test(host)) return "local";
  if (METADATA_NAMES.has(host)) return "metadata";
  if (host === "localhost" || host.endsWith(".localhost")) return "loopback";
  if (!host.includes(".")) return "local"; // single-label names resolve through search domains
  if (LOCAL_SUFFIXES.some((s) => host === s || host.endsWith(`.${s}`))) return "local";
  return "public";
}

/** Whether `hostname` matches an allowlist entry: `host.example` exactly, `*.example` for its subdomains. */
export function hostMatches(hostname, entry) {
  const host = String(hostname).toLowerCase().replace(/\.$/, "");
  const e = entry.toLowerCase();
  return e.startsWith("*.") ? host.endsWith(e.slice(1)) && host.length > e.length - 1 : host === e;
}

/**
 * Checks one URL the hook is about to fetch. `policy`: `{ allowHttp, allowPrivate, hosts }`
 * (`hosts`: the allowlist or null), `extraHosts`: entries allowed besides the list (GitHub's,
 * in webhook mode). Returns `{ ok: true, url }` or `{ ok: false, reason }`, where `reason` is
 * "notUrl", "scheme", "userinfo" or "host"; "host" never says why, so that a refusal is the same
 * for every refused host.
 */
export function checkUrl(text, policy, extraHosts = []) {
  let url;
  try {
    url = new URL(text);
  } catch {
    return { ok: false, reason: "notUrl" };
  }
  if (!(url.protocol === "https:" || (url.protocol === "http:" && policy.allowHttp))) return { ok: false, reason: "scheme" };
  if (url.username || url.password) return { ok: false, reason: "userinfo" };
  const kind = classifyHost(url.hostname);
  if (kind === "metadata") return { ok: false, reason: "host" };
  if (kind !== "public" && !policy.allowPrivate) return { ok: false, reason: "host" };
  if (policy.hosts && ![...policy.hosts, ...extraHosts].some((e) => hostMatches(url.hostname, e))) return { ok: false, reason: "host" };
  return { ok: true, url };
}

const UNITS = { "": 1, b: 1, kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12, kib: 2 ** 10, mib: 2 ** 20, gib: 2 ** 30, tib: 2 ** 40 };

/** Bytes from "2GiB", "500MB", "1.5 GiB" or "1048576"; null for anything else (never NaN). */
export function parseSize(text) {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]i?b|b)?\s*$/i.exec(String(text ?? ""));
  if (!m) return null;
  const n = Math.floor(Number(m[1]) * UNITS[(m[2] ?? "").toLowerCase()]);
  return Number.isSafeInteger(n) && n > 0 ? n : null;
}

/** A comma-separated setting as a list of trimmed, non-empty entries. */
export const list = (v) =>
  String(v ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
