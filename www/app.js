// The drag-and-drop page: a thin shell over the wasm package. Everything a registry reply
// means (messages, hints, retries) comes from the engine; this file only shows it.
import * as core from "./pkg/pypublish.js";

const { default: init, inspect, publish } = core;
// Only the page's own package (pkg-www/) has the release preview; served with pkg/, the page
// works without it.
const previewReleases = core.previewReleases;
const $ = (sel) => document.querySelector(sel);
await init();

// What every shell shows the same way comes from the core.
const { isDistributionName, describeDist, redactUrl } = core;
/** What the engine knows of a registry from its URL; nothing when it cannot tell (or cannot parse it). */
const registryFor = (url, kind) => {
  try {
    return core.registryFor(url, kind) ?? {};
  } catch {
    return {};
  }
};

/** What the page serves next to itself: the demo registry, when run by scripts/start. */
const config = await fetch("config.json").then((r) => (r.ok ? r.json() : {})).catch(() => ({}));

const PRESETS = {
  demo: { url: config.demo ? new URL(config.demo.repositoryUrl, location.href).href : "", note: "The local pypiserver started by scripts/start; its user and password were printed in the terminal." },
  pypi: { url: "https://upload.pypi.org/legacy/", index: "https://pypi.org/simple/", user: "__token__", note: "PyPI sends no CORS headers: uploads from a page need a relay.", cred: "Use an API token (pypi-…); the username is __token__." },
  testpypi: { url: "https://test.pypi.org/legacy/", index: "https://test.pypi.org/simple/", user: "__token__", note: "TestPyPI sends no CORS headers: uploads from a page need a relay.", cred: "Use an API token from test.pypi.org; the username is __token__." },
  gitlab: { url: "", note: "Built from the instance and project: /api/v4/projects/<id or URL-encoded path>/packages/pypi.", cred: "A personal or project access token with api scope (any username), a deploy token, or gitlab-ci-token with a CI job token." },
  devpi: { url: "", note: "The index URL, for example https://devpi.example.com/user/index/.", cred: "Your devpi user and password." },
  custom: { url: "", note: "Any registry that speaks PyPI's legacy upload API." },
};

const rows = new Map(); // filename → { file, el, status, attestations, info }
let controller = null;
let cspBlocked = null;
document.addEventListener("securitypolicyviolation", (e) => (cspBlocked = e.blockedURI));

// ---------- small helpers ----------

function fmtSize(n) {
  const u = ["B", "KiB", "MiB", "GiB"];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) (n /= 1024), i++;
  return `${i ? n.toFixed(1) : n} ${u[i]}`;
}

const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;

/** Appends one entry to the polite log: each file outcome is announced once, in order. */
function announce(text) {
  const log = $("#announce");
  log.append(Object.assign(document.createElement("p"), { textContent: text }));
  while (log.childElementCount > 50) log.firstElementChild.remove();
}

/**
 * Puts engine text into `el`: `code` in backticks and command-line flags become <code>, so a
 * flag never breaks across lines at its hyphens ("-" / "-skip-existing").
 */
function setRich(el, text) {
  el.replaceChildren();
  for (const part of String(text ?? "").split(/(`[^`\n]+`)/)) {
    if (!part) continue;
    if (part.startsWith("`") && part.endsWith("`") && part.length > 1) {
      const code = document.createElement("code");
      appendFlags(code, part.slice(1, -1));
      el.append(code);
    } else appendFlags(el, part);
  }
}

function appendFlags(el, text) {
  for (const part of text.split(/((?<![\w-])--?[A-Za-z][\w-]*)/)) {
    if (!part) continue;
    if (/^--?[A-Za-z]/.test(part)) el.append(Object.assign(document.createElement("code"), { textContent: part, className: "flag" }));
    else el.append(part);
  }
}

function originOf(u) {
  try {
    return new URL(u, location.href).origin;
  } catch {
    return "";
  }
}

async function copy(button, text, what) {
  try {
    await navigator.clipboard.writeText(text);
    button.textContent = "Copied";
    announce(`${what} copied`);
  } catch {
    button.textContent = "Select and copy";
  }
  setTimeout(() => (button.textContent = "Copy"), 2000);
}

// ---------- settings ----------

const fields = ["preset", "gitlab-instance", "gitlab-project", "repository-url", "username", "password", "relay-url", "skip-existing"];
const STORE = "pypublish-settings";
// The origin the credentials in the form were entered for; they never follow the URL elsewhere.
let credOrigin = "";

function repositoryUrl() {
  return $("#repository-url").value.trim();
}

function applyPreset(fromUser) {
  const name = $("#preset").value;
  const p = PRESETS[name];
  document.body.dataset.preset = name;
  if (fromUser) $("#repository-url").value = p.url;
  if (name === "gitlab") gitlabUrl();
  const computed = name === "gitlab";
  $("#repository-url").hidden = computed;
  $("#computed-url-box").hidden = !computed;
  $("#url-note").textContent = p.note ?? "";
  $("#cred-note").textContent = p.cred ?? "";
  urlChanged();
}

function gitlabUrl() {
  const instance = $("#gitlab-instance").value.trim().replace(/\/+$/, "");
  const project = $("#gitlab-project").value.trim().replace(/^\/+|\/+$/g, "");
  // A path must be URL-encoded as one segment (group%2Fproject): GitLab answers 404 otherwise.
  const url = instance && project ? `${instance}/api/v4/projects/${encodeURIComponent(project)}/packages/pypi` : "";
  $("#repository-url").value = url;
  $("#computed-url").textContent = url || "(fill in the instance and the project)";
  $("#computed-url-box").querySelector(".copy").hidden = !url;
}

/**
 * Whenever the upload URL's origin changes, the password is cleared and the username goes back
 * to the preset's: credentials typed for one registry must never go to another. Typing them
 * while no URL is set is fine: they belong to the first origin that appears.
 */
function urlChanged() {
  const origin = repositoryUrl() ? originOf(repositoryUrl()) : "";
  if (origin === credOrigin) return;
  if (credOrigin !== "") {
    const name = $("#preset").value;
    $("#password").value = "";
    $("#username").value = name === "demo" ? config.demo?.username ?? "" : PRESETS[name].user ?? "";
    if ($("#password").dataset.filled) announce("Password cleared: the upload URL now points to another registry.");
    saveSettings();
  }
  delete $("#password").dataset.filled;
  credOrigin = origin;
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
  if (!$("#username").value) $("#username").value = $("#preset").value === "demo" ? config.demo?.username ?? "" : PRESETS[$("#preset").value].user ?? "";
  const saved = JSON.parse(sessionStorage.getItem(STORE) ?? "null");
  if (!saved) return;
  for (const [id, v] of Object.entries(saved)) {
    const el = $(`#${id}`);
    if (el && el.type === "checkbox") el.checked = v;
    else if (el) el.value = v;
  }
  $("#remember").checked = true;
  // The saved credentials were saved with the saved URL: adopt its origin without clearing.
  credOrigin = "";
  applyPreset(false);
}

$("#settings").addEventListener("submit", (e) => e.preventDefault());
$("#preset").addEventListener("change", () => {
  applyPreset(true);
  if (!$("#username").value) $("#username").value = $("#preset").value === "demo" ? config.demo?.username ?? "" : PRESETS[$("#preset").value].user ?? "";
  saveSettings();
});
// The origin is compared when an edit is committed (change), not at every keystroke of a host name.
for (const id of ["gitlab-instance", "gitlab-project"]) {
  $(`#${id}`).addEventListener("input", gitlabUrl);
  $(`#${id}`).addEventListener("change", urlChanged);
}
$("#repository-url").addEventListener("change", urlChanged);
$("#password").addEventListener("input", () => ($("#password").dataset.filled = "1"));
for (const id of fields) $(`#${id}`).addEventListener("change", saveSettings);
$("#remember").addEventListener("change", saveSettings);
$("#computed-url-box .copy").addEventListener("click", (e) => copy(e.currentTarget, repositoryUrl(), "Upload URL"));
loadSettings();

// ---------- files ----------

/**
 * Inspects a File in www/hash-worker.js, off this thread: reading and hashing a large wheel
 * neither blocks the page nor grows its heap. Where a worker cannot start (no module workers,
 * a policy that forbids it), the inspection runs here instead. Resolves to the inspection and
 * where it ran ("worker" or "page").
 */
const inspectFile = (() => {
  let worker = null;
  let broken = typeof Worker !== "function";
  let nextId = 1;
  const waiting = new Map();
  const inline = async (file, onProgress) => ({ info: await inspect(file, { onProgress }), where: "page" });
  function start() {
    try {
      worker = new Worker(new URL("./hash-worker.js", import.meta.url), { type: "module" });
    } catch {
      broken = true;
      return;
    }
    worker.onmessage = ({ data: { id, progress, info, error } }) => {
      const w = waiting.get(id);
      if (!w) return;
      if (progress) return w.onProgress(progress);
      waiting.delete(id);
      if (error) w.reject(Object.assign(new Error(error.message), { kind: error.kind, hint: error.hint }));
      else w.resolve({ info, where: "worker" });
    };
    // A worker that failed to load: everything it was given runs here.
    worker.onerror = (e) => {
      e.preventDefault();
      broken = true;
      worker.terminate();
      worker = null;
      for (const w of waiting.values()) inline(w.file, w.onProgress).then(w.resolve, w.reject);
      waiting.clear();
    };
  }
  return (file, onProgress) => {
    if (!broken && !worker) start();
    if (broken) return inline(file, onProgress);
    const id = nextId++;
    return new Promise((resolve, reject) => {
      waiting.set(id, { file, onProgress, resolve, reject });
      worker.postMessage({ id, file });
    });
  };
})();

/** Counts each full read of a file for hashing on its row (`data-hash-passes`): one per file is the goal. */
function hashPass(row) {
  row.el.dataset.hashPasses = String(Number(row.el.dataset.hashPasses ?? 0) + 1);
}

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
  $("#result").hidden = true;
  refresh();
  dz.focus();
});

function setStatus(row, status, label) {
  row.status = status;
  row.el.dataset.status = status;
  row.el.querySelector(".state").textContent = label ?? status;
}

function setText(row, sel, text) {
  const el = row.el.querySelector(sel);
  setRich(el, text);
  el.hidden = !text;
}

function clearOutcome(row) {
  for (const s of [".message", ".hint", ".link"]) setText(row, s, "");
  row.el.querySelector(".server").hidden = true;
  row.el.querySelector(".raw").hidden = true;
  delete row.el.dataset.verified;
}

async function addFiles(files) {
  const attestations = files.filter((f) => f.name.endsWith(".publish.attestation"));
  for (const f of files) {
    if (attestations.includes(f)) continue;
    if (!isDistributionName(f.name)) {
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

/** After a removal, focus goes to the next row's remove button, else the previous one's, else the drop zone. */
function removeRow(row) {
  const li = row.el;
  const neighbour = li.nextElementSibling ?? li.previousElementSibling;
  rows.delete(row.file.name);
  li.remove();
  refresh();
  (neighbour?.querySelector(".remove") ?? dz).focus();
  announce(`Removed ${row.file.name}`);
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
  el.querySelector(".remove").addEventListener("click", () => removeRow(row));
  clearOutcome(row);
  $("#files").append(el);
  setStatus(row, "hashing", "hashing…");
  const bar = el.querySelector(".hash-progress");
  try {
    hashPass(row);
    const { info, where } = await inspectFile(file, (p) => (bar.value = p.total ? p.done / p.total : 1));
    if (rows.get(file.name) !== row) return;
    el.dataset.inspectedIn = where;
    bar.value = 1;
    const k = info.filename.kind;
    el.querySelector(".kind").textContent = k.type;
    el.querySelector(".version").textContent = info.filename.version;
    el.querySelector(".type").textContent = describeDist(file.name, k);
    el.querySelector(".hash").textContent = info.digests.sha256;
    const copyButton = el.querySelector(".sha256 .copy");
    copyButton.hidden = false;
    copyButton.setAttribute("aria-label", `Copy the SHA-256 of ${file.name}`);
    copyButton.addEventListener("click", () => copy(copyButton, info.digests.sha256, `SHA-256 of ${file.name}`));
    row.info = info;
    setText(row, ".message", info.metadata.summary ? `${info.metadata.name}: ${info.metadata.summary}` : info.metadata.name);
    setStatus(row, "ready");
  } catch (e) {
    if (rows.get(file.name) !== row) return;
    el.querySelector(".kind").textContent = "invalid";
    for (const f of [".version", ".type", ".hash"]) el.querySelector(f).textContent = "—";
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
  // The list is the batch being sent: it changes only between uploads.
  $("#clear").disabled = busy;
  for (const b of document.querySelectorAll("#files .remove")) b.disabled = busy;
  if (!pending) updatePreview();
  const refused = [...document.querySelectorAll('#releases .release[data-state="blocking"]')].map((r) => r.dataset.release);
  $("#summary").textContent = invalid
    ? `${plural(invalid, "invalid file")}: remove ${invalid > 1 ? "them" : "it"} to upload the rest, so a release never goes up half-checked.`
    : pending
      ? "Reading files…"
      : busy
        ? "Uploading…"
        : refused.length
          ? `PyPI's checks would refuse ${refused.join(", ")}; the preview shows why, and nothing is sent while a file fails them.`
          : "";
}

// ---------- preview ----------

// The files the shown preview was built from; a new one is built only when they change.
let previewKey = "";
let previewRun = 0;

/** Builds the release preview (in the core) for every file that was read, once they all are. */
async function updatePreview() {
  const files = [...rows.values()].filter((r) => r.info);
  const key = files.map((r) => r.file.name).join("\n");
  if (!previewReleases || key === previewKey) return;
  previewKey = key;
  const run = ++previewRun;
  let releases = [];
  let error = "";
  try {
    if (files.length) releases = await previewReleases(files.map((r) => ({ file: r.file, filename: r.file.name, digests: r.info.digests })));
  } catch (e) {
    error = `The preview could not be built: ${e.message}`;
  }
  if (run !== previewRun) return;
  const errorEl = $("#preview-error");
  errorEl.textContent = error;
  errorEl.hidden = !error;
  $("#releases").replaceChildren(...releases.map((r, i) => releaseEl(r, i)));
  $("#preview").hidden = !releases.length && !error;
  // The summary beside Upload says which releases PyPI's checks would refuse.
  refresh();
}

const el = (tag, props = {}, ...children) => {
  const e = Object.assign(document.createElement(tag), props);
  e.append(...children);
  return e;
};

/** One release's panel. Text goes in as text; the description's HTML is the core's sanitised output. */
function releaseEl(rel, index) {
  const root = $("#release-template").content.firstElementChild.cloneNode(true);
  const q = (sel) => root.querySelector(sel);
  const id = `release-${index}`;
  root.dataset.release = `${rel.name} ${rel.version}`;
  q(".r-name").textContent = rel.name;
  q(".r-version").textContent = rel.version;
  const blocking = rel.findings.filter((f) => f.blocking).length;
  const state = q(".r-state");
  state.textContent = blocking ? `PyPI would refuse it: ${plural(blocking, "problem")}` : rel.findings.length ? plural(rel.findings.length, "warning") : "Ready for PyPI";
  root.dataset.state = blocking ? "blocking" : rel.findings.length ? "warning" : "ok";
  q(".r-summary").textContent = rel.summary ?? "No summary.";
  q(".r-summary").classList.toggle("missing", !rel.summary);

  // Problems: blocking ones first, each with its field and line; description lines link to
  // the line they point at, where the same problem is shown again.
  const d = rel.description;
  const lineId = (n) => `${id}-line-${n}`;
  const sorted = [...rel.findings].sort((a, b) => Number(b.blocking) - Number(a.blocking));
  q(".problems").append(
    ...sorted.map((f) => {
      const where = f.line && d.lines.length ? el("a", { href: `#${lineId(f.line)}`, textContent: `line ${f.line}` }) : f.line ? `line ${f.line}` : null;
      const li = el("li", { className: "problem" }, el("span", { className: `badge ${f.blocking ? "blocking" : "warning"}`, textContent: f.blocking ? "Blocks upload" : "Warning" }), ` ${f.field}`);
      li.dataset.code = f.code;
      if (where) li.append(", ", where);
      li.append(`: ${f.message}`);
      if (f.files.length < rel.files.length) li.append(el("span", { className: "in-files", textContent: ` (in ${f.files.join(", ")})` }));
      return li;
    }),
  );
  q(".r-problems").hidden = !rel.findings.length;
  q(".r-notes").append(...rel.notes.map((n) => el("li", { textContent: n })));
  q(".r-notes").hidden = !rel.notes.length;

  // The description.
  const FORMAT = { markdown: "Markdown", rst: "reStructuredText", text: "plain text" };
  const note = q(".r-desc-note");
  if (d.html !== null) {
    note.textContent = `Rendered from ${FORMAT[d.format]} (${d.contentType}) as PyPI renders it. Images are not loaded here: each shows as its description.`;
    // The only HTML the page inserts: ammonia's output, from the core.
    q(".readme").innerHTML = d.html;
  } else if (d.lines.length) {
    note.textContent = d.format === "rst" ? `PyPI would refuse this description: it does not render as reStructuredText (${d.contentType}). It is shown as text, with each problem at its line.` : `Too long to render here; shown as text.`;
    q(".readme").hidden = true;
    const byLine = new Map();
    for (const f of rel.findings) if (f.line && f.field === "description") byLine.set(f.line, [...(byLine.get(f.line) ?? []), f]);
    const src = q(".source");
    src.setAttribute("aria-label", `The description of ${rel.name}, line by line`);
    src.append(
      ...d.lines.map((text, i) => {
        const li = el("li", { id: lineId(i + 1), tabIndex: -1 }, el("code", { textContent: text || " " }));
        for (const f of byLine.get(i + 1) ?? []) {
          li.classList.add(f.blocking ? "has-blocking" : "has-warning");
          li.append(el("p", { className: `finding ${f.blocking ? "blocking" : "warning"}` }, el("strong", { textContent: `line ${i + 1}${f.blocking ? ", blocks upload" : ""}: ` }), f.message));
        }
        return li;
      }),
    );
    src.hidden = false;
  } else {
    note.textContent = "No description: PyPI will say the author has not provided one.";
    q(".readme").hidden = true;
  }

  // The sidebar: links, meta, classifiers.
  const links = q(".r-links");
  links.setAttribute("aria-label", `Project links of ${rel.name}`);
  links.append(
    ...rel.links.map((l) => {
      const li = el("li");
      if (l.href) li.append(el("a", { href: l.href, textContent: l.label, target: "_blank", rel: "nofollow noopener noreferrer" }), el("span", { className: "url", textContent: l.url }));
      else li.append(el("span", { className: "label", textContent: l.label }), el("span", { className: "url", textContent: `${l.url} (not a web address: PyPI shows it unlinked)` }));
      return li;
    }),
  );
  if (!rel.links.length) links.append(el("li", { className: "missing", textContent: "None given." }));
  const meta = q(".r-meta");
  for (const [label, value] of [["Requires-Python", rel.requiresPython ?? "not given"], ...rel.details.map((x) => [x.label, x.value])]) meta.append(el("div", {}, el("dt", { textContent: label }), el("dd", { textContent: value })));
  const cls = q(".r-classifiers");
  for (const g of rel.classifiers) cls.append(el("div", {}, el("dt", { textContent: g.group }), ...g.items.map((item) => el("dd", { textContent: item }))));
  if (!rel.classifiers.length) cls.append(el("div", {}, el("dd", { className: "missing", textContent: "None given." })));

  // The files, in upload order, with their digests.
  const table = q(".r-files");
  table.prepend(el("caption", { className: "visually-hidden", textContent: `Files of ${rel.name} ${rel.version}` }));
  q(".r-files tbody").append(
    ...rel.files.map((f) => {
      const digests = el("dl", { className: "digests" });
      if (f.digests) for (const [label, key] of [["SHA-256", "sha256"], ["BLAKE2b-256", "blake2_256"], ["MD5", "md5"]]) digests.append(el("div", {}, el("dt", { textContent: label }), el("dd", {}, el("code", { className: "hash", textContent: f.digests[key] }))));
      else digests.append(el("div", {}, el("dd", { textContent: "not hashed yet" })));
      const tr = el("tr", {}, el("td", { className: "f-name" }, f.filename), el("td", {}, f.kind), el("td", {}, fmtSize(f.size)), el("td", {}, digests));
      tr.dataset.previewFile = f.filename;
      for (const [i, label] of ["File", "Type", "Size", "Digests"].entries()) tr.children[i].dataset.label = label;
      return tr;
    }),
  );
  q(".r-from").textContent = `PyPI keeps the metadata of the first file uploaded: ${rel.metadataFrom}.`;
  return root;
}

// ---------- upload ----------

$("#cancel").addEventListener("click", () => controller?.abort());
$("#upload").addEventListener("click", upload);

/**
 * The simple index that tells whether a file is already there, for each preset that has one:
 * with it, a name the registry already has is compared by sha256, never taken on trust.
 */
// The presets whose family the URL alone does not tell (self-hosted): the core derives each
// one's simple index from its layout.
const PRESET_KIND = { demo: "pypiserver", devpi: "devpi", gitlab: "gitlab" };

function checkUrlFor(preset, url) {
  return registryFor(url, PRESET_KIND[preset]).checkUrl ?? PRESETS[preset]?.index;
}

async function upload() {
  // An edit not yet committed (no change event) still counts: never send to a new origin with old credentials.
  urlChanged();
  const raw = repositoryUrl();
  const repositoryUrlAbs = raw ? new URL(raw, location.href).href : "";
  if (!/^https?:/.test(repositoryUrlAbs)) {
    $("#summary").textContent = "Choose a registry: the upload URL is empty.";
    ($("#preset").value === "gitlab" ? $("#gitlab-project") : $("#repository-url")).focus();
    return;
  }
  const preset = $("#preset").value;
  const relayUrl = $("#relay-url").value.trim() || undefined;
  const skipExisting = $("#skip-existing").checked;
  const todo = [...rows.values()].filter((r) => r.status === "ready" || r.status === "failed");
  controller = new AbortController();
  cspBlocked = null;
  $("#result").hidden = true;
  refresh();
  for (const r of todo) {
    setStatus(r, "queued", "waiting");
    clearOutcome(r);
    r.el.querySelector(".upload-progress").value = 0;
  }
  announce(`Uploading ${plural(todo.length, "file")}`);
  const started = performance.now();
  let reports;
  try {
    reports = await publish({
      repositoryUrl: repositoryUrlAbs,
      relayUrl,
      username: $("#username").value || undefined,
      password: $("#password").value || undefined,
      files: await Promise.all(
        todo.map(async (r) => ({
          file: r.file,
          filename: r.file.name,
          // Hashed when the file was added, and a File cannot change since: not read again.
          digests: r.info?.digests,
          attestations: await Promise.all(r.attestations.map((a) => a.text())),
        })),
      ),
      skipExisting,
      checkUrl: skipExisting ? checkUrlFor(preset, repositoryUrlAbs) : undefined,
      surface: "page",
      // One cheap request with the same credentials finds a wrong URL, password or permission
      // (GitLab's job-token 404 among them) before any file is sent.
      preflight: true,
      retries: 2,
      verbose: true,
      signal: controller.signal,
      onProgress: ({ filename, phase, done, total }) => {
        const r = rows.get(filename);
        if (!r) return;
        const frac = total ? done / total : 1;
        if (phase === "upload") {
          const pct = Math.floor(frac * 100);
          if (r.status !== "uploading" || pct !== r.pct) setStatus(r, "uploading", pct === 100 ? "waiting for the reply" : `uploading ${pct}%`);
          r.pct = pct;
          r.el.querySelector(".upload-progress").value = frac;
        } else {
          // A pass starting: only for files whose inspection gave no digests.
          if (phase === "hash" && done === 0) hashPass(r);
          if (r.status !== "preparing") setStatus(r, "preparing", "hashing…");
          r.el.querySelector(".hash-progress").value = frac;
        }
      },
    });
  } catch (e) {
    reports = todo.map((r) => ({ filename: r.file.name, status: "failed", error: e.message, hint: e.hint, kind: e.kind }));
  }
  const seconds = (performance.now() - started) / 1000;
  controller = null;
  for (const rep of reports) show(rep, repositoryUrlAbs, relayUrl);
  summarize(reports, todo, seconds, repositoryUrlAbs);
  refresh();
  if (!$("#remember").checked) saveSettings();
}

/** The visible result: how many went up, were skipped or failed, how much and how long. */
function summarize(reports, todo, seconds, url) {
  const count = (s) => reports.filter((r) => r.status === s).length;
  const unverified = reports.filter((r) => r.status === "skipped" && !isVerifiedSkip(r)).length;
  const box = $("#result");
  for (const s of ["uploaded", "skipped", "failed"]) {
    const li = box.querySelector(`[data-count="${s}"]`);
    li.querySelector("strong").textContent = String(count(s));
    li.dataset.n = String(count(s));
  }
  const skippedLi = box.querySelector('[data-count="skipped"]');
  skippedLi.lastChild.textContent = unverified ? ` skipped (${unverified} not verified)` : " skipped";
  const bytes = todo.reduce((n, r) => n + r.file.size, 0);
  const where = redactUrl(url) || url;
  box.querySelector(".totals").textContent = `${plural(reports.length, "file")}, ${fmtSize(bytes)}, in ${seconds.toFixed(1)} s, to ${where}`;
  box.dataset.outcome = count("failed") ? "failed" : unverified ? "unverified" : "ok";
  box.hidden = false;
  box.scrollIntoView({ block: "nearest" });
  announce(`Done: ${count("uploaded")} uploaded, ${count("skipped")} skipped, ${count("failed")} failed, in ${seconds.toFixed(1)} seconds.`);
}

/**
 * A skip is verified when the index showed the same sha256. The engine's reports will say so
 * (`verified`); until they do, a skip that rests on a conflict reply (it has an HTTP status)
 * or on an index without hashes is not verified.
 */
function isVerifiedSkip(rep) {
  if (typeof rep.verified === "boolean") return rep.verified;
  return !rep.httpStatus && /same sha256/i.test(rep.hint ?? "");
}

/** A failure without an HTTP status, in a few words; the engine's error and hint say the rest. */
const HEADLINES = {
  conflict: "A different file with this name is already there",
  network: "No reply from the registry",
  timeout: "The registry stopped answering",
  cancelled: "Cancelled",
  notSent: "Not sent",
  indexCheck: "The registry's index could not be read",
  redirect: "Redirected",
};

const REGISTRY_NAMES = { pypi: "PyPI", testpypi: "TestPyPI", gitlab: "GitLab", devpi: "devpi", pypiserver: "pypiserver", artifactory: "Artifactory", nexus: "Nexus", codeartifact: "CodeArtifact", azure: "Azure Artifacts", gitea: "Gitea", cloudsmith: "Cloudsmith" };

function registryName(url) {
  const r = registryFor(url).registry;
  return REGISTRY_NAMES[r] ?? (r && r !== "unknown" ? r : "the registry");
}

function show(rep, repositoryUrl, relayUrl) {
  const r = rows.get(rep.filename);
  if (!r) return;
  clearOutcome(r);
  if (rep.status === "uploaded") {
    setStatus(r, "uploaded");
    r.el.querySelector(".upload-progress").value = 1;
    setText(r, ".message", "Uploaded.");
    const href = rep.projectUrl ?? (config.demo && $("#preset").value === "demo" ? `${config.demo.simpleUrl}${r.info?.filename.normalizedName ?? ""}/` : null);
    if (href) {
      const a = Object.assign(document.createElement("a"), { href, textContent: href, target: "_blank", rel: "noopener noreferrer" });
      const button = Object.assign(document.createElement("button"), { type: "button", className: "copy", textContent: "Copy" });
      button.setAttribute("aria-label", `Copy the link to ${rep.filename}`);
      button.addEventListener("click", () => copy(button, href, "Link"));
      const link = r.el.querySelector(".link");
      link.replaceChildren("View it at ", a, " ", button);
      link.hidden = false;
    }
    announce(`${rep.filename} uploaded.`);
    return;
  }
  if (rep.status === "skipped" && isVerifiedSkip(rep)) {
    setStatus(r, "skipped");
    r.el.dataset.verified = "true";
    setText(r, ".message", `Skipped: ${rep.hint ?? "the registry already has this exact file"}.`.replace(/\.\.$/, "."));
    announce(`${rep.filename} skipped: the registry already has this exact file.`);
    return;
  }
  if (rep.status === "skipped") {
    // Never a plain "skipped": the registry has a file of this name, and nothing showed it is this one.
    setStatus(r, "skipped", "exists, not verified");
    r.el.dataset.verified = "false";
    setText(r, ".message", "Not uploaded: the registry already has a file with this name, and no index could show that it is this file.");
    setServer(r, rep, repositoryUrl);
    setText(r, ".hint", "Check that the registry's copy is yours (its SHA‑256 must be the one above); if it is not, bump the version and rebuild. With a preset that has an index (the demo, devpi, GitLab, PyPI), the page compares SHA‑256s itself.");
    setRaw(r, rep);
    announce(`${rep.filename} not uploaded: a file with this name is already there, not verified to be the same.`);
    return;
  }
  setStatus(r, "failed");
  const cross = originOf(relayUrl ?? repositoryUrl) !== location.origin;
  const info = registryFor(repositoryUrl);
  const noCors = info.browserCors === false && !!info.registry && info.registry !== "unknown";
  if (cspBlocked && rep.kind === "network") {
    setText(r, ".message", `This page's Content-Security-Policy blocked the connection to ${originOf(repositoryUrl)}.`);
    setText(r, ".hint", "The page may only connect to the registries it was served for: serve it with `scripts/serve-www.mjs --connect <registry origin>`, or use the relay.");
  } else if (rep.kind === "network" && !rep.httpStatus && cross && !relayUrl) {
    setText(
      r,
      ".message",
      noCors
        ? `${originOf(repositoryUrl)} sends no CORS headers, so the browser hides its reply from this page: the upload cannot be made from here without a relay.`
        : `The browser could not read any reply from ${originOf(repositoryUrl)}: the request failed with a bare network error (TypeError). Registries that send no CORS headers (PyPI, TestPyPI, pypiserver) look exactly like this to a page — the browser hides their answer.`,
    );
    setText(r, ".hint", "Set a Relay URL (a pypublish relay, `edge/relay.js`, forwards the upload and adds the CORS headers), or upload with the CLI: `npx pypublish upload dist/*`. If the registry does allow CORS, check the URL and your network.");
  } else {
    const reason = rep.response?.statusText;
    const status = rep.httpStatus ? `HTTP ${rep.httpStatus}${reason ? ` ${reason}` : ""}` : HEADLINES[rep.kind] ?? "Not uploaded";
    setText(r, ".message", rep.error ? `${status}: ${rep.error}` : `${status}.`);
    setServer(r, rep, repositoryUrl);
    setText(r, ".hint", rep.hint);
  }
  setRaw(r, rep);
  announce(`${rep.filename} failed: ${r.el.querySelector(".message").textContent}`);
}

/** The server's own words, quoted and labelled as its: advice in them is for its operator. */
function setServer(r, rep, repositoryUrl) {
  if (!rep.serverMessage) return;
  const box = r.el.querySelector(".server");
  box.querySelector(".server-label").textContent = `Reply from ${registryName(repositoryUrl)}, in its own words (advice there is for whoever runs the server):`;
  // Verbatim, backticks and all; only a flag in it is kept on one line.
  const words = box.querySelector(".server-words");
  words.replaceChildren();
  appendFlags(words, rep.serverMessage);
  box.hidden = false;
}

function setRaw(r, rep) {
  if (!rep.response) return;
  const raw = r.el.querySelector(".raw");
  const res = rep.response;
  raw.querySelector("pre").textContent = `HTTP ${res.status} ${res.statusText}\n${res.headers.map(([k, v]) => `${k}: ${v}`).join("\n")}\n\n${res.body}`;
  raw.hidden = false;
}

// The page is ready for files: tests and the benchmark wait for this, not for a global.
document.documentElement.dataset.ready = "true";
