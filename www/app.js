// The drag-and-drop page: a thin shell over the wasm package. Everything a registry reply
// means (messages, hints, retries) comes from the engine; this file only shows it.
import init, { inspect, publish } from "./pkg/pypublish.js";

const $ = (sel) => document.querySelector(sel);
const wasm = await init();
// For the benchmark (scripts/bench-page.mjs): how big wasm memory grew.
globalThis.pypublishDebug = { wasmMemoryBytes: () => wasm.memory.buffer.byteLength };

/** What the page serves next to itself: the demo registry, when run by scripts/start. */
const config = await fetch("config.json").then((r) => (r.ok ? r.json() : {})).catch(() => ({}));

const PRESETS = {
  demo: { url: config.demo ? new URL(config.demo.repositoryUrl, location.href).href : "", note: "The local pypiserver started by scripts/start; its user and password were printed in the terminal." },
  pypi: { url: "https://upload.pypi.org/legacy/", user: "__token__", cors: false, note: "PyPI sends no CORS headers: uploads from a page need a relay.", cred: "Use an API token (pypi-…); the username is __token__." },
  testpypi: { url: "https://test.pypi.org/legacy/", user: "__token__", cors: false, note: "TestPyPI sends no CORS headers: uploads from a page need a relay.", cred: "Use an API token from test.pypi.org; the username is __token__." },
  gitlab: { url: "", note: "Built from the instance and project: /api/v4/projects/<id or URL-encoded path>/packages/pypi.", cred: "A personal or project access token with api scope (any username), a deploy token, or gitlab-ci-token with a CI job token." },
  devpi: { url: "", note: "The index URL, for example https://devpi.example.com/user/index/.", cred: "Your devpi user and password." },
  custom: { url: "", note: "Any registry that speaks PyPI's legacy upload API." },
};

const rows = new Map(); // filename → { file, el, status, attestations }
let controller = null;
let cspBlocked = null;
document.addEventListener("securitypolicyviolation", (e) => (cspBlocked = e.blockedURI));

// ---------- settings ----------
const fields = ["preset", "gitlab-instance", "gitlab-project", "repository-url", "username", "password", "relay-url", "skip-existing"];
const STORE = "pypublish-settings";

function applyPreset(fromUser) {
  const name = $("#preset").value;
  const p = PRESETS[name];
  document.body.dataset.preset = name;
  if (fromUser) {
    $("#repository-url").value = p.url;
    $("#username").value = name === "demo" ? config.demo?.username ?? "" : p.user ?? "";
  }
  if (name === "gitlab") gitlabUrl();
  $("#repository-url").readOnly = name === "gitlab";
  $("#url-note").textContent = p.note ?? "";
  $("#cred-note").textContent = p.cred ?? "";
}

function gitlabUrl() {
  const instance = $("#gitlab-instance").value.trim().replace(/\/+$/, "");
  const project = $("#gitlab-project").value.trim().replace(/^\/+|\/+$/g, "");
  // A path must be URL-encoded as one segment (group%2Fproject): GitLab answers 404 otherwise.
  $("#repository-url").value = instance && project ? `${instance}/api/v4/projects/${encodeURIComponent(project)}/packages/pypi` : "";
}

function saveSettings() {
  if (!$("#remember").checked) return sessionStorage.removeItem(STORE);
  const v = Object.fromEntries(fields.map((id) => [id, $(`#${id}`).type === "checkbox" ? $(`#${id}`).checked : $(`#${id}`).value]));
  sessionStorage.setItem(STORE, JSON.stringify(v));
}

function loadSettings() {
  if (config.demo) $('#preset option[value="demo"]').hidden = false;
  $("#preset").value = config.demo ? "demo" : "pypi";
  applyPreset(true);
  const saved = JSON.parse(sessionStorage.getItem(STORE) ?? "null");
  if (!saved) return;
  for (const [id, v] of Object.entries(saved)) {
    const el = $(`#${id}`);
    if (el && el.type === "checkbox") el.checked = v;
    else if (el) el.value = v;
  }
  $("#remember").checked = true;
  applyPreset(false);
}

$("#settings").addEventListener("submit", (e) => e.preventDefault());
$("#preset").addEventListener("change", () => (applyPreset(true), saveSettings()));
for (const id of ["gitlab-instance", "gitlab-project"]) $(`#${id}`).addEventListener("input", gitlabUrl);
for (const id of fields) $(`#${id}`).addEventListener("change", saveSettings);
$("#remember").addEventListener("change", saveSettings);
loadSettings();

// ---------- files ----------
const dz = $("#dropzone");
dz.addEventListener("click", () => $("#file-input").click());
dz.addEventListener("keydown", (e) => {
  if (e.key === "Enter" || e.key === " ") (e.preventDefault(), $("#file-input").click());
});
for (const t of ["dragenter", "dragover"]) dz.addEventListener(t, (e) => (e.preventDefault(), dz.classList.add("over")));
dz.addEventListener("dragleave", () => dz.classList.remove("over"));
dz.addEventListener("drop", (e) => {
  e.preventDefault();
  dz.classList.remove("over");
  addFiles([...(e.dataTransfer?.files ?? [])]);
});
$("#file-input").addEventListener("change", (e) => {
  addFiles([...e.target.files]);
  e.target.value = "";
});
$("#clear").addEventListener("click", () => {
  rows.clear();
  $("#files").replaceChildren();
  $("#refused").replaceChildren();
  refresh();
});

function fmtSize(n) {
  const u = ["B", "KiB", "MiB", "GiB"];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) (n /= 1024), i++;
  return `${i ? n.toFixed(1) : n} ${u[i]}`;
}

function announce(text) {
  $("#announce").textContent = text;
}

function setStatus(row, status, label) {
  row.status = status;
  row.el.dataset.status = status;
  row.el.querySelector(".state").textContent = label ?? status;
}

function setText(row, sel, text) {
  const el = row.el.querySelector(sel);
  el.textContent = text ?? "";
  el.hidden = !text;
}

async function addFiles(files) {
  const attestations = files.filter((f) => f.name.endsWith(".publish.attestation"));
  for (const f of files) {
    if (attestations.includes(f)) continue;
    const lower = f.name.toLowerCase();
    if (!lower.endsWith(".whl") && !lower.endsWith(".tar.gz") && !lower.endsWith(".zip")) {
      refuse(f.name, "not a distribution: pypublish uploads wheels (.whl) and sdists (.tar.gz, or legacy .zip)");
      continue;
    }
    addRow(f, attestations.filter((a) => a.name === `${f.name}.publish.attestation`));
  }
  refresh();
}

function refuse(name, reason) {
  const li = document.createElement("li");
  li.dataset.refused = name;
  li.append(Object.assign(document.createElement("strong"), { textContent: name }), document.createTextNode(` — ${reason}`));
  $("#refused").append(li);
  announce(`${name} refused: ${reason}`);
}

async function addRow(file, attestations) {
  rows.get(file.name)?.el.remove();
  const el = $("#row-template").content.firstElementChild.cloneNode(true);
  el.dataset.file = file.name;
  const row = { file, el, status: "hashing", attestations };
  rows.set(file.name, row);
  el.querySelector(".name").textContent = file.name;
  el.querySelector(".size").textContent = fmtSize(file.size);
  el.querySelector(".attestations").textContent = attestations.length ? attestations.map((a) => a.name).join(", ") : "none";
  el.querySelector(".remove").setAttribute("aria-label", `Remove ${file.name}`);
  el.querySelector(".remove").addEventListener("click", () => {
    rows.delete(file.name);
    el.remove();
    refresh();
  });
  for (const s of [".message", ".hint", ".link"]) setText(row, s, "");
  $("#files").append(el);
  setStatus(row, "hashing", "hashing…");
  const bar = el.querySelector(".hash-progress");
  try {
    const info = await inspect(file, { onProgress: (p) => (bar.value = p.total ? p.done / p.total : 1) });
    if (rows.get(file.name) !== row) return;
    bar.value = 1;
    const k = info.filename.kind;
    el.querySelector(".kind").textContent = k.type;
    el.querySelector(".version").textContent = info.filename.version;
    el.querySelector(".type").textContent = k.type === "wheel" ? `wheel ${k.pythonTag} · ${k.abi.join(".")} · ${k.platform.join(".")}` : `sdist (${k.format})`;
    const sha = el.querySelector(".sha256");
    sha.textContent = info.digests.sha256;
    sha.title = info.digests.sha256;
    row.info = info;
    setText(row, ".message", info.metadata.summary ? `${info.metadata.name}: ${info.metadata.summary}` : info.metadata.name);
    setStatus(row, "ready");
  } catch (e) {
    if (rows.get(file.name) !== row) return;
    el.querySelector(".kind").textContent = "invalid";
    for (const f of [".version", ".type", ".sha256"]) el.querySelector(f).textContent = "—";
    setStatus(row, "invalid");
    setText(row, ".message", e.message);
    setText(row, ".hint", e.hint);
    announce(`${file.name} is invalid: ${e.message}`);
  }
  refresh();
}

function refresh() {
  const all = [...rows.values()];
  $("#empty").hidden = all.length > 0;
  const invalid = all.filter((r) => r.status === "invalid").length;
  const pending = all.filter((r) => r.status === "hashing").length;
  const ready = all.filter((r) => r.status === "ready" || r.status === "failed").length;
  const busy = controller !== null;
  $("#upload").disabled = busy || invalid > 0 || pending > 0 || ready === 0;
  $("#cancel").disabled = !busy;
  $("#summary").textContent = invalid
    ? `${invalid} invalid file${invalid > 1 ? "s" : ""}: remove ${invalid > 1 ? "them" : "it"} to upload the rest, so a release never goes up half-checked.`
    : pending
      ? "Reading files…"
      : busy
        ? "Uploading…"
        : "";
}

// ---------- upload ----------
$("#cancel").addEventListener("click", () => controller?.abort());
$("#upload").addEventListener("click", upload);

function originOf(u) {
  try {
    return new URL(u, location.href).origin;
  } catch {
    return "";
  }
}

async function upload() {
  const repositoryUrl = new URL($("#repository-url").value.trim() || "about:blank", location.href).href;
  if (!/^https?:/.test(repositoryUrl)) {
    $("#summary").textContent = "Choose a registry: the upload URL is empty.";
    $("#repository-url").focus();
    return;
  }
  const relayUrl = $("#relay-url").value.trim() || undefined;
  const todo = [...rows.values()].filter((r) => r.status === "ready" || r.status === "failed");
  controller = new AbortController();
  cspBlocked = null;
  refresh();
  for (const r of todo) {
    setStatus(r, "uploading", "waiting");
    for (const s of [".message", ".hint", ".link"]) setText(r, s, "");
    r.el.querySelector(".raw").hidden = true;
    r.el.querySelector(".upload-progress").value = 0;
  }
  announce(`Uploading ${todo.length} file${todo.length > 1 ? "s" : ""}`);
  let reports;
  try {
    reports = await publish({
      repositoryUrl,
      relayUrl,
      username: $("#username").value || undefined,
      password: $("#password").value || undefined,
      files: await Promise.all(
        todo.map(async (r) => (r.attestations.length ? { file: r.file, filename: r.file.name, attestations: await Promise.all(r.attestations.map((a) => a.text())) } : r.file)),
      ),
      skipExisting: $("#skip-existing").checked,
      retries: 2,
      verbose: true,
      signal: controller.signal,
      onProgress: ({ filename, phase, done, total }) => {
        const r = rows.get(filename);
        if (!r) return;
        if (phase === "upload") setStatus(r, "uploading", `uploading ${total ? Math.floor((done / total) * 100) : 0}%`);
        r.el.querySelector(phase === "hash" ? ".hash-progress" : ".upload-progress").value = total ? done / total : 1;
      },
    });
  } catch (e) {
    reports = todo.map((r) => ({ filename: r.file.name, status: "failed", error: e.message, hint: e.hint }));
  }
  controller = null;
  for (const rep of reports) show(rep, repositoryUrl, relayUrl);
  const counts = ["uploaded", "skipped", "failed"].map((s) => [s, reports.filter((r) => r.status === s).length]).filter(([, n]) => n);
  announce(counts.map(([s, n]) => `${n} ${s}`).join(", "));
  refresh();
  if (!$("#remember").checked) saveSettings();
}

function show(rep, repositoryUrl, relayUrl) {
  const r = rows.get(rep.filename);
  if (!r) return;
  setStatus(r, rep.status);
  if (rep.status === "uploaded") {
    r.el.querySelector(".upload-progress").value = 1;
    setText(r, ".message", "Uploaded.");
    const href = rep.projectUrl ?? (config.demo && $("#preset").value === "demo" ? `${config.demo.simpleUrl}${r.info?.filename.normalizedName ?? ""}/` : null);
    if (href) {
      const a = Object.assign(document.createElement("a"), { href, textContent: href, target: "_blank", rel: "noopener noreferrer" });
      const link = r.el.querySelector(".link");
      link.replaceChildren("View it at ", a);
      link.hidden = false;
    }
    return;
  }
  if (rep.status === "skipped") {
    setText(r, ".message", `Skipped: ${rep.hint ?? rep.serverMessage ?? "the registry already has this file"}`);
    return;
  }
  const cross = originOf(relayUrl ?? repositoryUrl) !== location.origin;
  if (cspBlocked && rep.kind === "network") {
    setText(r, ".message", `This page's Content-Security-Policy blocked the connection to ${originOf(repositoryUrl)}.`);
    setText(r, ".hint", "The page may only connect to the registries it was served for: serve it with scripts/serve-www.mjs --connect <registry origin>, or use the relay.");
  } else if (rep.kind === "network" && !rep.httpStatus && cross && !relayUrl) {
    setText(r, ".message", `The browser could not read any reply from ${originOf(repositoryUrl)}: the request failed with a bare network error (TypeError). Registries that send no CORS headers (PyPI, TestPyPI, pypiserver) look exactly like this to a page — the browser hides their answer.`);
    setText(r, ".hint", "Set a Relay URL (a pypublish relay, edge/relay.js, forwards the upload and adds the CORS headers), or upload with the CLI: npx pypublish upload dist/*. If the registry does allow CORS, check the URL and your network.");
  } else {
    const status = rep.httpStatus ? `HTTP ${rep.httpStatus}` : rep.kind ?? "error";
    setText(r, ".message", [status, rep.serverMessage, rep.error].filter(Boolean).join(" — "));
    setText(r, ".hint", rep.hint);
  }
  if (rep.response) {
    const raw = r.el.querySelector(".raw");
    const res = rep.response;
    raw.querySelector("pre").textContent = `HTTP ${res.status} ${res.statusText}\n${res.headers.map(([k, v]) => `${k}: ${v}`).join("\n")}\n\n${res.body}`;
    raw.hidden = false;
  }
  announce(`${rep.filename} failed: ${r.el.querySelector(".message").textContent}`);
}
