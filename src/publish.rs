//! Publishing one file as a small sans-IO state machine.
//!
//! The machine decides; the runtime acts. It asks for a request (`Send`), a pause (`Wait`), or
//! says it is done; the caller performs the request, reports the reply or the network error,
//! and supplies the randomness for jitter. The same machine runs in native tests and in wasm.

use serde::Serialize;

use crate::registry::redact_url;
use crate::response::{decode, Decoded, FailureKind, Outcome, Reply, Sent};
use crate::simple::Existing;

/// How hard to try.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// The first back-off delay.
    pub base_delay_ms: u64,
    /// The longest delay, `Retry-After` included.
    pub max_delay_ms: u64,
    /// Treat "already there" as skipped rather than failed (a different file still fails).
    pub skip_existing: bool,
    /// Same-origin redirects followed at most.
    pub max_redirects: u32,
}

impl Default for Policy {
    fn default() -> Self {
        Policy { max_attempts: 4, base_delay_ms: 1000, max_delay_ms: 30_000, skip_existing: false, max_redirects: 3 }
    }
}

/// What the runtime should do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send the body (rebuilt from the plan) to `url`.
    Send {
        /// Where to send it; may differ from the first URL after a same-origin redirect.
        url: String,
        /// 1 for the first attempt.
        attempt: u32,
    },
    /// Wait `ms`, then call [`Upload::resume`].
    Wait {
        /// Milliseconds.
        ms: u64,
        /// Why, for progress output.
        reason: String,
    },
    /// Finished.
    Done(Report),
}

/// The final state of one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Stored by this run.
    Uploaded,
    /// Already there; nothing needed.
    Skipped,
    /// Not stored.
    Failed,
}

/// The outcome of publishing one file, as reported to users.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// Uploaded, skipped or failed.
    pub status: Status,
    /// The last HTTP status, when there was a reply.
    pub http_status: Option<u16>,
    /// The server's own words.
    pub server_message: Option<String>,
    /// What to do about it.
    pub hint: Option<String>,
    /// Why it failed.
    pub kind: Option<FailureKind>,
    /// Requests sent.
    pub attempts: u32,
    /// Whether trying again later may help.
    pub retryable: bool,
    /// A transport error, when there was no reply.
    pub error: Option<String>,
}

/// The state of one file's upload.
#[derive(Debug, Clone)]
pub struct Upload {
    url: String,
    policy: Policy,
    attempt: u32,
    redirects: u32,
}

impl Upload {
    /// An upload of one file to `url`.
    pub fn new(url: &str, policy: Policy) -> Self {
        Upload { url: url.to_string(), policy, attempt: 0, redirects: 0 }
    }

    /// The first request.
    pub fn start(&mut self) -> Action {
        self.send()
    }

    /// Continues after a [`Action::Wait`].
    pub fn resume(&mut self) -> Action {
        self.send()
    }

    fn send(&mut self) -> Action {
        self.attempt += 1;
        Action::Send { url: self.url.clone(), attempt: self.attempt }
    }

    /// Decides after a reply. `jitter` is a random number in `[0, 1)` from the caller.
    pub fn on_reply(&mut self, reply: &Reply<'_>, sent: &Sent<'_>, jitter: f64) -> Action {
        let url = self.url.clone();
        let d = decode(reply, &Sent { url: &url, ..*sent });
        match d.outcome {
            Outcome::Uploaded => self.done(Status::Uploaded, &d),
            // Our earlier attempt may have been stored before its reply was lost: the same
            // hash after a retry is our own upload.
            Outcome::AlreadyExists { identical: Some(true) } if self.attempt > 1 => self.done(Status::Uploaded, &d),
            Outcome::AlreadyExists { identical: Some(true) } => self.skipped(&d, "the registry already has this exact file"),
            Outcome::AlreadyExists { identical: None } if self.policy.skip_existing => {
                self.skipped(&d, "a file with this name is already there (the registry does not say whether it is the same file); skipped as --skip-existing asks")
            }
            Outcome::AlreadyExists { .. } => {
                let mut r = self.report(Status::Failed, &d);
                r.kind = Some(FailureKind::Conflict);
                Action::Done(r)
            }
            Outcome::Failed { kind: FailureKind::Redirect } => self.redirect(reply, &d),
            Outcome::Failed { .. } if d.retryable && self.attempt < self.policy.max_attempts => {
                let retry_after = header(reply, "retry-after").and_then(|v| v.trim().parse::<u64>().ok());
                let ms = match retry_after {
                    Some(s) => s.saturating_mul(1000).min(self.policy.max_delay_ms),
                    None => self.backoff(jitter),
                };
                Action::Wait { ms, reason: format!("HTTP {} from the registry; attempt {} of {}", reply.status, self.attempt + 1, self.policy.max_attempts) }
            }
            Outcome::Failed { .. } => self.done(Status::Failed, &d),
        }
    }

    /// Decides after a request that got no reply (connection refused, reset, timeout).
    pub fn on_network_error(&mut self, detail: &str, jitter: f64) -> Action {
        if self.attempt < self.policy.max_attempts {
            return Action::Wait {
                ms: self.backoff(jitter),
                reason: format!("{detail}; attempt {} of {}", self.attempt + 1, self.policy.max_attempts),
            };
        }
        Action::Done(Report {
            status: Status::Failed,
            http_status: None,
            server_message: None,
            hint: Some(format!(
                "no reply from {} after {} attempts: check the URL, the network and any proxy",
                redact_url(&self.url),
                self.attempt
            )),
            kind: Some(FailureKind::Network),
            attempts: self.attempt,
            retryable: true,
            error: Some(detail.to_string()),
        })
    }

    fn backoff(&self, jitter: f64) -> u64 {
        let exp = self.policy.base_delay_ms.saturating_mul(1u64 << (self.attempt.saturating_sub(1)).min(20));
        let cap = exp.min(self.policy.max_delay_ms);
        // Half fixed, half random: spreads retries of many clients without ever waiting 0.
        cap / 2 + (cap as f64 / 2.0 * jitter.clamp(0.0, 1.0)) as u64
    }

    fn redirect(&mut self, reply: &Reply<'_>, d: &Decoded) -> Action {
        let target = header(reply, "location").map(|loc| resolve(&self.url, loc));
        let replayable = matches!(reply.status, 307 | 308);
        match target {
            Some(t) if replayable && same_origin(&self.url, &t) && self.redirects < self.policy.max_redirects => {
                self.redirects += 1;
                self.url = t;
                // A redirect is not a failed attempt: the counter is for retries.
                self.attempt -= 1;
                self.send()
            }
            Some(t) => {
                let mut r = self.report(Status::Failed, d);
                r.hint = Some(if same_origin(&self.url, &t) {
                    format!("the registry redirects uploads to {}; use that URL as the repository URL", redact_url(&t))
                } else {
                    format!(
                        "the registry redirects to another host, {}; credentials are never sent there on a redirect: if you trust it, use that URL as the repository URL",
                        redact_url(&t)
                    )
                });
                Action::Done(r)
            }
            None => self.done(Status::Failed, d),
        }
    }

    fn skipped(&self, d: &Decoded, why: &str) -> Action {
        let mut r = self.report(Status::Skipped, d);
        r.hint = Some(why.to_string());
        r.retryable = false;
        Action::Done(r)
    }

    fn report(&self, status: Status, d: &Decoded) -> Report {
        Report {
            status,
            http_status: Some(d.status),
            server_message: d.server_message.clone(),
            hint: d.hint.clone(),
            kind: match d.outcome {
                Outcome::Failed { kind } => Some(kind),
                _ => None,
            },
            attempts: self.attempt,
            retryable: d.retryable,
            error: None,
        }
    }

    fn done(&self, status: Status, d: &Decoded) -> Action {
        let mut r = self.report(status, d);
        if status != Status::Failed {
            r.retryable = false;
        }
        Action::Done(r)
    }
}

/// Decides from a simple-index lookup whether to upload at all; `None` means send it.
pub fn decide_existing(existing: &Existing, sha256: &str, check_url: &str) -> Option<Report> {
    let report = |status, hint: String, kind| Report {
        status,
        http_status: None,
        server_message: None,
        hint: Some(hint),
        kind,
        attempts: 0,
        retryable: false,
        error: None,
    };
    match existing {
        Existing::Absent => None,
        Existing::Present { sha256: Some(h) } if h == sha256 => {
            Some(report(Status::Skipped, format!("already in {} with the same sha256", redact_url(check_url)), None))
        }
        Existing::Present { sha256: Some(h) } => Some(report(
            Status::Failed,
            format!(
                "a different file with this name is already in {} (sha256 {h}, ours {sha256}); registries never let a name be reused: bump the version",
                redact_url(check_url)
            ),
            Some(FailureKind::Conflict),
        )),
        Existing::Present { sha256: None } => Some(report(
            Status::Skipped,
            format!("already listed in {} (the index gives no sha256 to compare)", redact_url(check_url)),
            None,
        )),
    }
}

/// Reads the check URL's reply: a 401/403 is an auth failure, never "absent".
pub fn check_reply(status: u16, content_type: &str, body: &[u8], filename: &str, check_url: &str) -> Result<Existing, Report> {
    match status {
        200..=299 => Ok(crate::simple::find(body, content_type, filename)),
        401 | 403 => Err(Report {
            status: Status::Failed,
            http_status: Some(status),
            server_message: None,
            hint: Some(format!(
                "the check URL {} refused the credentials (HTTP {status}), so whether the file exists is unknown; fix the credentials or the --check-url",
                redact_url(check_url)
            )),
            kind: Some(FailureKind::Auth),
            attempts: 0,
            retryable: false,
            error: None,
        }),
        // 404: no such project yet. Anything else: the upload's own reply will tell.
        _ => Ok(Existing::Absent),
    }
}

fn header<'a>(reply: &Reply<'a>, name: &str) -> Option<&'a str> {
    reply.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

/// `scheme://host:port` of a URL, lowercase, credentials dropped; default ports made explicit.
pub fn origin(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let scheme = scheme.to_ascii_lowercase();
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h).to_ascii_lowercase();
    let has_port = hostport.rsplit_once(':').is_some_and(|(_, p)| p.bytes().all(|b| b.is_ascii_digit()) && !p.is_empty()) && !hostport.ends_with(']');
    let hostport = if has_port {
        hostport
    } else {
        format!("{hostport}:{}", if scheme == "https" { 443 } else { 80 })
    };
    format!("{scheme}://{hostport}")
}

fn same_origin(a: &str, b: &str) -> bool {
    origin(a) == origin(b)
}

/// Resolves a `Location` against the URL it answered.
pub fn resolve(base: &str, location: &str) -> String {
    if location.contains("://") {
        return location.to_string();
    }
    let (scheme, rest) = base.split_once("://").unwrap_or(("http", base));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if let Some(path) = location.strip_prefix("//") {
        return format!("{scheme}://{path}");
    }
    if location.starts_with('/') {
        return format!("{scheme}://{authority}{location}");
    }
    let path = &rest[authority.len()..];
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let dir = path.rfind('/').map_or("/", |i| &path[..=i]);
    format!("{scheme}://{authority}{dir}{location}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::digest_bytes;

    fn reply<'a>(status: u16, headers: &'a [(String, String)], body: &'a str) -> Reply<'a> {
        Reply { status, reason: "", headers, body: body.as_bytes() }
    }

    fn h(k: &str, v: &str) -> Vec<(String, String)> {
        vec![(k.into(), v.into())]
    }

    #[test]
    fn two_503s_then_success_is_one_upload_after_three_attempts() {
        let d = digest_bytes(b"x");
        let sent = Sent { url: "", username: Some("u"), digests: Some(&d) };
        let mut up = Upload::new("http://127.0.0.1:9/", Policy::default());
        assert_eq!(up.start(), Action::Send { url: "http://127.0.0.1:9/".into(), attempt: 1 });
        let Action::Wait { ms, .. } = up.on_reply(&reply(503, &[], ""), &sent, 0.0) else { panic!() };
        assert_eq!(ms, 500);
        assert!(matches!(up.resume(), Action::Send { attempt: 2, .. }));
        let Action::Wait { ms, .. } = up.on_reply(&reply(503, &[], ""), &sent, 0.999) else { panic!() };
        assert!((1000..2000).contains(&ms), "{ms}");
        assert!(matches!(up.resume(), Action::Send { attempt: 3, .. }));
        let Action::Done(r) = up.on_reply(&reply(200, &[], ""), &sent, 0.5) else { panic!() };
        assert_eq!((r.status, r.attempts), (Status::Uploaded, 3));
    }

    #[test]
    fn retry_after_is_honoured_and_retries_are_bounded() {
        let sent = Sent::default();
        let mut up = Upload::new("https://r.example/up/", Policy { max_attempts: 2, ..Policy::default() });
        up.start();
        let hs = h("Retry-After", "7");
        assert!(matches!(up.on_reply(&reply(429, &hs, ""), &sent, 0.0), Action::Wait { ms: 7000, .. }));
        up.resume();
        let Action::Done(r) = up.on_reply(&reply(429, &hs, ""), &sent, 0.0) else { panic!() };
        assert_eq!((r.status, r.retryable, r.attempts), (Status::Failed, true, 2));
    }

    #[test]
    fn same_origin_308_is_followed_and_another_host_never_gets_the_body() {
        let sent = Sent::default();
        let mut up = Upload::new("https://upload.pypi.org/legacy", Policy::default());
        up.start();
        let loc = h("Location", "/legacy/");
        assert_eq!(up.on_reply(&reply(308, &loc, ""), &sent, 0.0), Action::Send { url: "https://upload.pypi.org/legacy/".into(), attempt: 1 });
        let away = h("Location", "https://evil.example:443/legacy/");
        let Action::Done(r) = up.on_reply(&reply(307, &away, ""), &sent, 0.0) else { panic!("followed a cross-host redirect") };
        assert_eq!(r.status, Status::Failed);
        assert!(r.hint.unwrap().contains("https://evil.example:443/legacy/"));
    }

    #[test]
    fn a_conflict_with_our_hash_after_a_retry_is_success_and_skip_existing_skips() {
        let d = digest_bytes(b"");
        let sent = Sent { url: "", username: Some("__token__"), digests: Some(&d) };
        let body = format!("{{\"code\": \"400 File already exists ('a-1.tar.gz', with blake2_256 hash '{}').\"}}", d.blake2_256);
        let json = h("Content-Type", "application/json");
        let mut up = Upload::new("https://upload.pypi.org/legacy/", Policy::default());
        up.start();
        up.on_reply(&reply(502, &[], ""), &sent, 0.0);
        up.resume();
        let Action::Done(r) = up.on_reply(&reply(400, &json, &body), &sent, 0.0) else { panic!() };
        assert_eq!(r.status, Status::Uploaded);

        let mut up = Upload::new("http://127.0.0.1:1/", Policy { skip_existing: true, ..Policy::default() });
        up.start();
        let Action::Done(r) = up.on_reply(&reply(409, &[], "Package 'a-1.tar.gz' already exists! You may start server with --overwrite option."), &sent, 0.0) else { panic!() };
        assert_eq!(r.status, Status::Skipped);

        let other = body.replace(&d.blake2_256, &"1".repeat(64));
        let mut up = Upload::new("https://upload.pypi.org/legacy/", Policy { skip_existing: true, ..Policy::default() });
        up.start();
        let Action::Done(r) = up.on_reply(&reply(400, &json, &other), &sent, 0.0) else { panic!() };
        assert_eq!((r.status, r.kind), (Status::Failed, Some(FailureKind::Conflict)), "a different file is never skipped");
    }

    #[test]
    fn network_errors_retry_then_fail_without_showing_credentials() {
        let mut up = Upload::new("https://user:secret@r.example/up/", Policy { max_attempts: 2, ..Policy::default() });
        up.start();
        assert!(matches!(up.on_network_error("connection refused", 0.0), Action::Wait { .. }));
        up.resume();
        let Action::Done(r) = up.on_network_error("connection refused", 0.0) else { panic!() };
        assert_eq!(r.status, Status::Failed);
        assert!(!format!("{r:?}").contains("secret"));
    }

    #[test]
    fn the_index_decides_before_anything_is_sent() {
        let url = "https://pypi.org/simple/";
        assert_eq!(decide_existing(&Existing::Absent, "aa", url), None);
        assert_eq!(decide_existing(&Existing::Present { sha256: Some("aa".into()) }, "aa", url).unwrap().status, Status::Skipped);
        let r = decide_existing(&Existing::Present { sha256: Some("bb".into()) }, "aa", url).unwrap();
        assert_eq!((r.status, r.kind), (Status::Failed, Some(FailureKind::Conflict)));
        assert_eq!(check_reply(404, "", b"", "f", url), Ok(Existing::Absent));
        assert_eq!(check_reply(403, "", b"", "f", url).unwrap_err().kind, Some(FailureKind::Auth));
    }

    #[test]
    fn locations_resolve_and_origins_compare_with_default_ports() {
        assert_eq!(resolve("https://h/a/b", "c/"), "https://h/a/c/");
        assert_eq!(resolve("https://h/a/b", "//g/x"), "https://g/x");
        assert!(same_origin("https://h/x", "https://H:443/y"));
        assert!(!same_origin("http://h:8080/", "http://h:8081/"));
    }
}
