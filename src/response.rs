//! Turning a registry's reply into an outcome: the server's own words plus the hint that fixes it.

use serde::Serialize;

use crate::digest::DigestSet;
use crate::http::Reply;
use crate::registry::{self, GitLabJob, Registry};
use crate::report::Kind;
use crate::url::Url;

/// The longest server message we keep (HTML error pages can be long).
pub const MAX_MESSAGE: usize = 1000;

/// What we sent, so the reply can be judged against it.
#[derive(Debug, Clone, Copy)]
pub struct Sent<'a> {
    /// The upload URL.
    pub url: &'a Url,
    /// The username, if any (never the password).
    pub username: Option<&'a str>,
    /// The file's digests.
    pub digests: Option<&'a DigestSet>,
    /// The GitLab CI job we run in, if any (a 404 is then explained against its project).
    pub job: Option<&'a GitLabJob>,
}

/// The decoded reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Decoded {
    /// What happened.
    pub outcome: Outcome,
    /// HTTP status.
    pub status: u16,
    /// The server's own words, when it said any.
    pub server_message: Option<String>,
    /// What to do about it.
    pub hint: Option<String>,
    /// Whether sending again can help.
    pub retryable: bool,
    /// Which registry we think answered.
    pub registry: Registry,
}

/// The result of one upload request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "status")]
pub enum Outcome {
    /// Stored.
    Uploaded,
    /// The name was taken; `identical` says whether by the same bytes, when we can tell.
    AlreadyExists {
        /// `Some(true)` same file, `Some(false)` different, `None` unknown.
        identical: Option<bool>,
    },
    /// Refused.
    Failed {
        /// Why.
        kind: Kind,
    },
}

/// Decodes a reply to an upload of the file described by `sent`.
pub fn decode(reply: &Reply, sent: &Sent<'_>) -> Decoded {
    let header = |name: &str| reply.header(name);
    let mut reg = registry::detect(sent.url);
    if reg == Registry::Unknown && reply.headers.iter().any(|(k, _)| k.to_ascii_lowercase().starts_with("x-devpi")) {
        reg = Registry::Devpi;
    }
    let message = server_message(reply, header("content-type").unwrap_or_default());
    let text = message.clone().unwrap_or_default();
    let lower = text.to_ascii_lowercase();
    // pypiserver is a bottle app: its errors come as bottle's page.
    let raw = String::from_utf8_lossy(&reply.body[..reply.body.len().min(4096)]).to_ascii_lowercase();
    if reg == Registry::Unknown && (raw.contains("you may start server with") || (raw.contains("sorry, the requested url") && raw.contains("caused an error")))
    {
        reg = Registry::Pypiserver;
    }
    let status = reply.status;
    let mut d = Decoded { outcome: Outcome::Uploaded, status, server_message: message, hint: None, retryable: false, registry: reg };
    let fail = |kind| Outcome::Failed { kind };
    if (200..300).contains(&status) {
        if looks_like_sign_in(&reply.body) {
            // A single sign-on proxy answered in the registry's place: nothing was stored.
            d.outcome = fail(Kind::Auth);
            d.hint = Some("a sign-in page answered instead of the registry (a single sign-on proxy in front of it?): the upload did not reach the registry; use the registry's own upload URL or credentials the proxy accepts".into());
            return d;
        }
        if lower.contains("upload of identical file") {
            d.outcome = Outcome::AlreadyExists { identical: Some(true) };
        }
        let path = sent.url.path().to_ascii_lowercase();
        if path.contains("simple") {
            d.hint =
                Some("the server said yes, but this URL looks like a simple (download) index, which may store nothing; use the registry's upload URL".into());
        }
        return d;
    }
    if let Some(identical) = conflict(reg, status, &lower, sent) {
        d.outcome = Outcome::AlreadyExists { identical };
        d.hint = Some(match identical {
            Some(true) => "the registry already has this exact file".into(),
            Some(false) => {
                "a different file with this name is already there; registries never let a name be reused: bump the version (or add a build tag to a wheel)"
                    .into()
            }
            None => "a file with this name is already there; use {skip-existing} to skip files that were uploaded before, or bump the version".into(),
        });
        return d;
    }
    let (kind, retryable) = match status {
        300..=399 => (Kind::Redirect, false),
        401 | 403 => (Kind::Auth, false),
        404 => (Kind::NotFound, false),
        405 => (Kind::WrongEndpoint, false),
        408 | 429 => (Kind::RateLimited, true),
        410 => (Kind::WrongEndpoint, false),
        413 => (Kind::TooLarge, false),
        400 | 409 | 411 | 422 => (Kind::Invalid, false),
        500..=599 => (Kind::Server, status != 501 && status != 505),
        _ => (Kind::Other, false),
    };
    let kind = if lower.contains("file too large") || lower.contains("file is too large") { Kind::TooLarge } else { kind };
    d.outcome = fail(kind);
    d.retryable = retryable;
    d.hint = hint(reg, status, &lower, sent);
    d
}

/// True for an HTML page with a sign-in form: what single sign-on proxies answer in a
/// registry's place, often with status 200.
pub fn looks_like_sign_in(body: &[u8]) -> bool {
    let head = &body[..body.len().min(64 * 1024)];
    let lower = String::from_utf8_lossy(head).to_ascii_lowercase();
    if !lower.contains("<html") && !lower.contains("<!doctype html") && !lower.contains("<form") {
        return false;
    }
    let password_field = lower.contains("type=\"password\"") || lower.contains("type='password'") || lower.contains("type=password");
    let sign_in_words = ["sign in", "sign-in", "signin", "log in", "login", "single sign-on", "sso"].iter().any(|w| lower.contains(w));
    password_field && (lower.contains("<form") || sign_in_words)
}

/// Recognizes "this name is taken" replies; returns whether the stored file is ours.
fn conflict(reg: Registry, status: u16, lower: &str, sent: &Sent<'_>) -> Option<Option<bool>> {
    if lower.contains("file already exists") {
        // PyPI names the stored file's blake2 hash: we can tell ours from another.
        let stored = lower.split("blake2_256 hash '").nth(1).and_then(|r| r.split('\'').next());
        let identical = match (stored, sent.digests) {
            (Some(h), Some(d)) => Some(h == d.blake2_256),
            _ => None,
        };
        return Some(identical);
    }
    let texts = [
        "already exists",
        "has already been taken",
        "does not allow updating assets",
        "cannot be updated",
        "not enough permissions to delete/overwrite",
        "not enough permissions to overwrite",
        "package file already exists",
        "file does exist already",
        "already contains file",
    ];
    let known = texts.iter().any(|t| lower.contains(t));
    let conflict_status = status == 409 && matches!(reg, Registry::CodeArtifact | Registry::Azure | Registry::Pypiserver | Registry::Devpi);
    (known || conflict_status).then_some(None)
}

fn hint(reg: Registry, status: u16, lower: &str, sent: &Sent<'_>) -> Option<String> {
    let user = sent.username.unwrap_or_default();
    let pypi_host = if reg == Registry::TestPypi { "test.pypi.org" } else { "pypi.org" };
    let s = |t: &str| Some(t.to_string());
    match (reg, status) {
        (Registry::Pypi | Registry::TestPypi, 403) if lower.contains("no longer supported") => Some(format!(
            "{pypi_host} accepts only API tokens or trusted publishing: create a token at https://{pypi_host}/manage/account/token/ and upload with username `__token__` and the token as the password"
        )),
        (Registry::Pypi | Registry::TestPypi, 403) if lower.contains("isn't allowed to upload") => s(
            "the token or account does not cover this project: a project-scoped token cannot create a new project (use an account-wide token for the first upload), and the account needs the Owner or Maintainer role",
        ),
        (Registry::Pypi | Registry::TestPypi, 403) if user.is_empty() => Some(format!(
            "{pypi_host} accepts API tokens only: use the username `__token__` and the token, starting with `pypi-`, as the password"
        )),
        (Registry::Pypi | Registry::TestPypi, 403) if user != "__token__" => Some(format!(
            "{pypi_host} accepts API tokens only: use the username `__token__` (not {user:?}) and the token, starting with `pypi-`, as the password"
        )),
        (Registry::Pypi | Registry::TestPypi, 403) => Some(format!(
            "the token was refused: check it was copied whole (it starts with `pypi-`), is not revoked, and belongs to {pypi_host} (PyPI and TestPyPI tokens are separate)"
        )),
        (Registry::Pypi | Registry::TestPypi, 400)
            if lower.contains("previously used by a file that has since been deleted") || lower.contains("filename has already been used") =>
        {
            s(
            "PyPI never lets a deleted file's name be used again: bump the version (or add a build tag to a wheel) and rebuild",
            )
        }
        (Registry::Pypi | Registry::TestPypi, 400) if lower.contains("project size too large") => s(
            "the project has used its total storage on PyPI: delete old releases or ask for more (https://docs.pypi.org/project-management/storage-limits/)",
        ),
        (Registry::Pypi | Registry::TestPypi, 400) if lower.contains("digest supplied does not match") => s(
            "the file PyPI received differs from the one hashed: it changed during the upload, or something in between altered it; upload it again",
        ),
        (Registry::Pypi | Registry::TestPypi, 400) if lower.contains("only one sdist") => s("this release already has an sdist: upload only wheels, or bump the version"),
        (Registry::Pypi | Registry::TestPypi, _) if lower.contains("file too large") => s(
            "ask for a larger file size limit for this project: https://docs.pypi.org/project-management/storage-limits/#requesting-a-file-size-limit-increase",
        ),
        (Registry::Pypi | Registry::TestPypi, 400)
            if ["start filename for", "filename '", "version in filename", "invalid file extension"].iter().any(|t| lower.contains(t)) =>
        {
            s(
                "the file name does not match the normalized project name and version; rebuild with a current build backend instead of renaming files",
            )
        }
        (Registry::Pypi | Registry::TestPypi, 400) => s("PyPI refused the metadata it names; fix that field in the project configuration and rebuild (`pypublish check` shows what will be sent)"),
        (Registry::Pypi | Registry::TestPypi, 405) => Some(format!(
            "this URL does not take uploads: use https://{}/legacy/",
            if reg == Registry::TestPypi { "test.pypi.org" } else { "upload.pypi.org" }
        )),
        (Registry::Pypi, 410) => s("pypi.python.org no longer takes uploads: use https://upload.pypi.org/legacy/"),
        (Registry::Pypi | Registry::TestPypi, 429) => s("PyPI limits how fast an account may create projects or upload; wait a while and try again"),
        (Registry::GitLab, _) if sent.url.path().contains("/api/v4/groups/") => s(
            "GitLab's group-level PyPI URLs are read-only: upload to https://<host>/api/v4/projects/<id>/packages/pypi",
        ),
        (Registry::GitLab, 404) => {
            let encoding = if gitlab_path_unencoded(sent.url) {
                " The project path in this URL is not URL-encoded: write `group%2Fproject`, or use the numeric project id."
            } else {
                ""
            };
            let ids = "check the project id or URL-encoded path (`group%2Fproject`) in the URL";
            let allow = "the target project must allow-list the job's project under Settings → CI/CD → Job token permissions";
            let target = registry::gitlab_project(sent.url).map(|(_, p)| p);
            if let (Some(job), Some(target), "gitlab-ci-token") = (sent.job, target, user) {
                return Some(if job.is_project(&target) {
                    format!("GitLab answers 404 to this job for its own project `{}`: check that the project's package registry is enabled (Settings → General → Visibility → Package registry) and that the URL ends in /projects/{}/packages/pypi.{encoding}", job.project_path, job.project_id)
                } else {
                    format!("this job's project `{}` may not publish to `{target}`: in `{target}`, add `{}` under Settings → CI/CD → Job token permissions (GitLab answers 404 rather than 403 to hide the project). If that is done, check the project id or path in the URL.{encoding}", job.project_path, job.project_path)
                });
            }
            Some(if user == "gitlab-ci-token" {
                format!("GitLab answers 404 when it hides a project from the caller. With CI_JOB_TOKEN this is most often a different project that has not allow-listed this job's project: in the target project, {}. Otherwise, {ids}, and that the job's user can see it.{encoding}", allow.trim_start_matches("the target project must "))
            } else {
                format!("GitLab answers 404 when the credentials cannot see the project: {ids}, and that the token's user is a member with the Developer role or higher. With CI_JOB_TOKEN, {allow}.{encoding}")
            })
        }
        (Registry::GitLab, 401) => s("GitLab refused the credentials: use a personal or project access token with scope `api`, a deploy token with `write_package_registry`, or in CI the username `gitlab-ci-token` with the password `$CI_JOB_TOKEN`"),
        (Registry::GitLab, 403) => s("the credentials can see the project but not publish to it: check the token's scope (`api` or `write_package_registry`), the user's role (Developer or higher) and protected package rules"),
        (Registry::Pypiserver, 401 | 403) => s("pypiserver checks uploads against its htpasswd file (`-P`): check the username and password"),
        (Registry::Devpi, 401) => s("devpi wants your devpi user and password (`devpi login` sets them up for devpi-client)"),
        (Registry::Devpi, 403) => s("this devpi user may not upload to the index: an index owner can allow it with `devpi index <user>/<index> acl_upload+=<you>`"),
        (Registry::Devpi, 404) => s("this devpi index cannot take uploads (a mirror, or no such index): upload to a stage index such as /<user>/dev/"),
        (Registry::Artifactory, 401) if user == "__token__" => s("Artifactory has no user `__token__`: use your JFrog username (or an empty username with an access token) and the token as the password"),
        (Registry::Artifactory, 401 | 403) => s("Artifactory refused the credentials or the deploy permission on this repository: use your JFrog username with an identity or access token as the password"),
        (Registry::Artifactory, 404) => s("Artifactory answers 404 for permission problems when 'hide unauthorized resources' is on: check the repository key in the URL and the user's deploy permission"),
        (Registry::CodeArtifact, 401 | 403) => s("CodeArtifact tokens last 12 hours: get a fresh one with `aws codeartifact get-authorization-token` and use the username `aws`"),
        (Registry::Azure, 401 | 403) => s("use a personal access token with the Packaging (Read & write) scope as the password"),
        (Registry::Azure, 404 | 405) => s("Azure Artifacts uploads go to https://pkgs.dev.azure.com/<org>/<project>/_packaging/<feed>/pypi/upload/ (not /simple/)"),
        (Registry::GoogleAr, 401 | 403) => s("use the username `oauth2accesstoken` with a fresh `gcloud auth print-access-token` (tokens last an hour); the account needs the Artifact Registry Writer role"),
        (Registry::Gitea, 401 | 403) => s("use a Gitea access token with package write permission as the password"),
        (Registry::Gitea, 400) if lower.contains("hash mismatch") => s("the registry computed another sha256 than we sent: the file changed during the upload; upload it again"),
        (Registry::Cloudsmith, 401 | 403) => s("use your Cloudsmith API key as the password"),
        (_, 401) => s("the registry wants credentials: give a username and password or token"),
        (_, 403) => s("the credentials were refused or may not upload here: check the username, password or token, and the account's permission on this repository"),
        (_, 404) => s("nothing takes uploads at this URL: check the repository URL (the upload URL, not the simple index)"),
        (_, 405) => s("this URL does not take uploads: it may be the simple (download) index; use the registry's upload URL"),
        (_, 411) => s("the server wants a Content-Length; pypublish sends one, so a proxy in between may be removing it"),
        (_, 413) => s("the file is larger than the registry or a proxy in front of it accepts"),
        (_, 408 | 429) => s("the registry is busy or timed out; try again later"),
        (_, 500..=599) => s("the registry failed to handle the upload; trying again later may help"),
        _ => None,
    }
}

/// True when a GitLab URL carries `group/project` where `group%2Fproject` belongs.
fn gitlab_path_unencoded(url: &Url) -> bool {
    let path = url.path();
    path.split_once("/projects/").and_then(|(_, rest)| rest.split_once("/packages/")).is_some_and(|(project, _)| project.contains('/'))
}

/// Extracts the server's words: JSON `code`/`message`/`errors[]`/problem+json, text, HTML, reason.
pub fn server_message(reply: &Reply, content_type: &str) -> Option<String> {
    let body = String::from_utf8_lossy(&reply.body);
    let body = body.trim();
    let ct = content_type.to_ascii_lowercase();
    let from_body = if ct.contains("json") || body.starts_with('{') {
        json_message(body).or_else(|| (!body.is_empty()).then(|| body.to_string()))
    } else if ct.contains("html") || body.starts_with('<') {
        html_text(body)
    } else {
        (!body.is_empty()).then(|| body.to_string())
    };
    let reason = reply.reason.trim();
    let reason_specific = !reason.is_empty() && !is_standard_reason(reply.status, reason);
    let msg = match from_body {
        Some(b) if reason_specific && !b.contains(reason) => Some(format!("{reason}: {b}")),
        Some(b) => Some(b),
        None if !reason.is_empty() => Some(reason.to_string()),
        None => None,
    };
    // One line: line breaks in a server's words become spaces (the raw reply keeps them).
    msg.map(|m| truncate(&one_line(&m), MAX_MESSAGE))
}

/// Runs of whitespace that hold a line break become one space.
fn one_line(s: &str) -> String {
    if !s.contains(['\n', '\r']) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    for (i, line) in s.split(['\n', '\r']).map(str::trim).filter(|l| !l.is_empty()).enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(line);
    }
    out
}

fn json_message(body: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(body).ok()?;
    let str_of = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_string);
    // PyPI puts the real text in `code` ("400 File already exists ..."); `message` is the
    // reason phrase there, but the only text in GitLab's replies.
    if let Some(code) = str_of("code") {
        let code = code.trim();
        let stripped = code.split_once(' ').filter(|(n, _)| n.parse::<u16>().is_ok()).map_or(code, |(_, r)| r);
        return Some(stripped.to_string());
    }
    if let Some(errors) = v.get("errors").and_then(|e| e.as_array()) {
        let msgs: Vec<String> = errors
            .iter()
            .filter_map(|e| {
                e.get("message").or_else(|| e.get("description")).and_then(|m| m.as_str()).map(|m| match e.get("code").and_then(|c| c.as_str()) {
                    Some(c) => format!("{c}: {m}"),
                    None => m.to_string(),
                })
            })
            .collect();
        if !msgs.is_empty() {
            let head = str_of("message").map(|m| format!("{m}: ")).unwrap_or_default();
            return Some(format!("{head}{}", msgs.join("; ")));
        }
    }
    if let (Some(t), Some(d)) = (str_of("title"), str_of("detail")) {
        return Some(format!("{t}: {d}"));
    }
    match v.get("message") {
        Some(serde_json::Value::String(m)) => return Some(m.clone()),
        Some(other @ (serde_json::Value::Object(_) | serde_json::Value::Array(_))) => return Some(other.to_string()),
        _ => {}
    }
    str_of("error").or_else(|| str_of("detail")).or_else(|| str_of("title"))
}

/// Most bytes of markup-free text kept per HTML section: the message is cut to
/// [`MAX_MESSAGE`] anyway, so scanning a 1 MiB page further only costs time.
const MAX_HTML_TEXT: usize = 8 * MAX_MESSAGE;

/// The visible text of an HTML page: `<title>` first, then the body's text, collapsed.
///
/// Linear in the page: each section is found with one forward search, and text collection
/// stops after [`MAX_HTML_TEXT`] bytes.
fn html_text(html: &str) -> Option<String> {
    let lower = html.to_ascii_lowercase();
    // ASCII lowercasing keeps every byte offset, so offsets in `lower` are valid in `html`.
    let section = |tag: &str| {
        let start = lower.find(&format!("<{tag}"))?;
        let open_end = lower[start..].find('>')? + start + 1;
        let end = lower[open_end..].find(&format!("</{tag}")).map_or(html.len(), |e| e + open_end);
        Some(&html[open_end..end])
    };
    let title = section("title").map(strip_tags).filter(|t| !t.is_empty());
    // Error pages that put the message in <pre> (bottle, hence pypiserver) wrap it in
    // boilerplate; the <pre> alone is the server's own words.
    let pre = section("pre");
    if let Some(pre) = pre.map(strip_tags).filter(|p| !p.is_empty() && p != "None") {
        return Some(pre);
    }
    if pre.is_some() && lower.contains("caused an error") {
        return title;
    }
    let body = strip_tags(section("body").unwrap_or(html));
    match (title, body.is_empty()) {
        (Some(t), false) if body.contains(&t) => Some(body),
        (Some(t), false) => Some(format!("{t}: {body}")),
        (Some(t), true) => Some(t),
        (None, false) => Some(body),
        (None, true) => None,
    }
}

/// Text outside tags, entities decoded and whitespace collapsed; at most [`MAX_HTML_TEXT`] bytes.
fn strip_tags(s: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    // Inside <script> or <style> nothing is visible text: skipped up to their closing tag.
    let mut skip_until: Option<&str> = None;
    let mut tag = String::new();
    for (i, c) in s.char_indices() {
        if out.len() >= MAX_HTML_TEXT {
            break;
        }
        if let Some(end) = skip_until {
            if c == '<' && s[i..].get(..end.len()).is_some_and(|t| t.eq_ignore_ascii_case(end)) {
                skip_until = None;
                in_tag = true;
                tag.clear();
            }
            continue;
        }
        match c {
            '<' => {
                in_tag = true;
                tag.clear();
            }
            '>' if in_tag => {
                in_tag = false;
                let name = tag.trim_start().split(|c: char| c.is_whitespace() || c == '/').next().unwrap_or_default().to_ascii_lowercase();
                skip_until = match name.as_str() {
                    "script" => Some("</script"),
                    "style" => Some("</style"),
                    _ => None,
                };
                if !out.ends_with(' ') {
                    out.push(' ');
                }
            }
            c if in_tag => {
                if tag.len() < 16 {
                    tag.push(c);
                }
            }
            c if c.is_whitespace() => {
                if !out.ends_with(' ') {
                    out.push(' ');
                }
            }
            c => out.push(c),
        }
    }
    let out = decode_entities(&out);
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Longest character reference we decode, `&` and `;` included (`&#x10FFFF;` is 10 bytes).
const MAX_ENTITY: usize = 12;

/// Decodes the character references error pages use: named basics and numeric ones.
///
/// One pass; a reference is looked for only in the [`MAX_ENTITY`] bytes after each `&`, and
/// every slice ends at an ASCII `&` or `;`, so no slice can split a multi-byte character.
pub fn decode_entities(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let window = &rest.as_bytes()[..rest.len().min(MAX_ENTITY)];
        let decoded = window.iter().position(|&b| b == b';').and_then(|e| {
            let name = &rest[1..e];
            let c = match name {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "nbsp" => Some(' '),
                _ => name
                    .strip_prefix("#x")
                    .or_else(|| name.strip_prefix("#X"))
                    .and_then(|h| u32::from_str_radix(h, 16).ok())
                    .or_else(|| name.strip_prefix('#').and_then(|d| d.parse().ok()))
                    .and_then(char::from_u32),
            };
            c.map(|c| (c, e + 1))
        });
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn is_standard_reason(status: u16, reason: &str) -> bool {
    let standard = match status {
        200 => "OK",
        201 => "Created",
        301 => "Moved Permanently",
        302 => "Found",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        410 => "Gone",
        411 => "Length Required",
        413 => "Payload Too Large",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => return false,
    };
    reason.eq_ignore_ascii_case(standard) || (status == 413 && reason.eq_ignore_ascii_case("Request Entity Too Large"))
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

// Tests of the HTML text extraction only (the rest of this file has its own owner).
