//! Publishing one file as a small sans-IO state machine.
//!
//! The machine decides; the runtime acts. It asks for a request (`Send`), a pause (`Wait`), or
//! says it is done; the caller performs the request, reports the reply or why there was none,
//! and supplies the randomness for jitter. The batch engine ([`crate::batch`]) runs one per
//! file.

use crate::digest::DigestSet;
use crate::http::{NoReply, Reply};
use crate::registry::{GitLabJob, Registry};
use crate::report::{Kind, Report, Status};
use crate::response::{decode, Decoded, Outcome, Sent};
use crate::url::Url;

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
        url: Url,
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
    /// The registry said the name is taken without saying by which bytes: look in the index
    /// before calling it skipped (see [`Upload::on_verified`]).
    Verify {
        /// The registry as recognised from its reply (pypiserver and devpi are known only so).
        registry: Registry,
    },
    /// Finished.
    Done(Report),
}

/// The state of one file's upload.
#[derive(Debug, Clone)]
pub struct Upload {
    job: Option<GitLabJob>,
    filename: String,
    url: Url,
    policy: Policy,
    attempt: u32,
    visited: Vec<Url>,
    pending_conflict: Option<Decoded>,
}

impl Upload {
    /// An upload of `filename` to `url`.
    pub fn new(filename: &str, url: &Url, policy: Policy) -> Self {
        Upload { job: None, filename: filename.to_string(), url: url.clone(), policy, attempt: 0, visited: vec![url.clone()], pending_conflict: None }
    }

    /// Explains replies against the GitLab CI job the upload runs in.
    pub fn in_job(mut self, job: Option<GitLabJob>) -> Self {
        self.job = job;
        self
    }

    /// Upload requests sent so far.
    pub fn attempts(&self) -> u32 {
        self.attempt
    }

    /// The URL the next request goes to.
    pub fn url(&self) -> &Url {
        &self.url
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
    pub fn on_reply(&mut self, reply: &Reply, username: Option<&str>, digests: Option<&DigestSet>, jitter: f64) -> Action {
        let d = decode(reply, &Sent { url: &self.url, username, digests, job: self.job.as_ref() });
        match d.outcome {
            Outcome::Uploaded => self.done(Status::Uploaded, &d),
            // Our earlier attempt may have been stored before its reply was lost: the same
            // hash after a retry is our own upload.
            Outcome::AlreadyExists { identical: Some(true) } if self.attempt > 1 => self.done(Status::Uploaded, &d),
            Outcome::AlreadyExists { identical: Some(true) } => self.skipped(&d, "the registry already has this exact file", true),
            Outcome::AlreadyExists { identical: None } if self.policy.skip_existing || self.attempt > 1 => {
                let registry = d.registry;
                self.pending_conflict = Some(d);
                Action::Verify { registry }
            }
            Outcome::AlreadyExists { .. } => {
                let mut r = self.report(Status::Failed, &d);
                r.kind = Some(Kind::Conflict);
                Action::Done(r)
            }
            Outcome::Failed { kind: Kind::Redirect } => self.redirect(reply, &d),
            Outcome::Failed { .. } if d.retryable && self.attempt < self.policy.max_attempts => {
                let ms = match retry_after_ms(reply) {
                    Some(ms) => ms.min(self.policy.max_delay_ms),
                    None => self.backoff(jitter),
                };
                Action::Wait { ms, reason: format!("HTTP {} from the registry; attempt {} of {}", reply.status, self.attempt + 1, self.policy.max_attempts) }
            }
            Outcome::Failed { .. } => self.done(Status::Failed, &d),
        }
    }

    /// Decides after a [`Action::Verify`]: `Some(true)` the index lists our sha256,
    /// `Some(false)` another one, `None` it could not tell.
    pub fn on_verified(&mut self, identical: Option<bool>) -> Action {
        let Some(d) = self.pending_conflict.take() else {
            return Action::Done(Report::failed(&self.filename, Kind::Other, "internal: nothing to verify"));
        };
        match identical {
            Some(true) if self.attempt > 1 => self.done(Status::Uploaded, &d),
            Some(true) => self.skipped(&d, "the registry already has this exact file (same sha256 in its index)", true),
            Some(false) => {
                let mut r = self.report(Status::Failed, &d);
                r.kind = Some(Kind::Conflict);
                r.hint = Some("a different file with this name is already there (its sha256 in the index differs from ours); registries never let a name be reused: bump the version".into());
                Action::Done(r)
            }
            None if self.policy.skip_existing => self.skipped(
                &d,
                "a file with this name is already there, but the registry does not say whether it is this file and no index could confirm it: compare it yourself, or give {check-url}",
                false,
            ),
            None => {
                let mut r = self.report(Status::Failed, &d);
                r.kind = Some(Kind::Conflict);
                r.hint = Some("a file with this name appeared after an attempt whose reply was lost; the registry does not say whether it is ours: compare it, or give {check-url} so this can be checked".into());
                Action::Done(r)
            }
        }
    }

    /// Decides after a request that got no reply.
    pub fn on_no_reply(&mut self, why: &NoReply, jitter: f64) -> Action {
        let (kind, detail) = match why {
            NoReply::Cancelled => return Action::Done(self.no_reply_report(Kind::Cancelled, "cancelled during the upload", false)),
            NoReply::Source(d) => return Action::Done(self.no_reply_report(Kind::Source, &format!("not sent whole: {d}"), false)),
            NoReply::Network(d) => (Kind::Network, d),
            NoReply::Stalled(d) => (Kind::Timeout, d),
            NoReply::Unread(d) => (Kind::Source, d),
            NoReply::Hasher(d) => (Kind::Other, d),
        };
        if self.attempt < self.policy.max_attempts {
            return Action::Wait { ms: self.backoff(jitter), reason: format!("{detail}; attempt {} of {}", self.attempt + 1, self.policy.max_attempts) };
        }
        let mut r = self.no_reply_report(kind, detail, true);
        let times = if self.attempt == 1 { "once".to_string() } else { format!("{} times", self.attempt) };
        r.hint = Some(match kind {
            Kind::Timeout => {
                format!("no progress from {} for the stall timeout, {times}: a slow or stuck registry or proxy; try later or raise {{timeout}}", self.url)
            }
            Kind::Other => format!(
                "the hashing beside the upload failed {times}, so the file was never sent whole; nothing of it was kept (the CLI hashes on its main thread with PYPUBLISH_HASH_WORKER=0)"
            ),
            Kind::Source => format!(
                "reading the file failed {times} while it was sent, so it was never sent whole: a file on disk may have been moved, a download cut by its host; check it is still there and try again"
            ),
            _ => format!("no reply from {} ({times}): check the URL, the network and any proxy", self.url),
        });
        Action::Done(r)
    }

    fn no_reply_report(&self, kind: Kind, error: &str, retryable: bool) -> Report {
        Report { attempts: self.attempt, retryable, ..Report::failed(&self.filename, kind, error) }
    }

    fn backoff(&self, jitter: f64) -> u64 {
        let exp = self.policy.base_delay_ms.saturating_mul(1u64 << (self.attempt.saturating_sub(1)).min(20));
        let cap = exp.min(self.policy.max_delay_ms);
        // Half fixed, half random: spreads retries of many clients without ever waiting 0.
        cap / 2 + (cap as f64 / 2.0 * jitter.clamp(0.0, 1.0)) as u64
    }

    fn redirect(&mut self, reply: &Reply, d: &Decoded) -> Action {
        let fail = |this: &Self, hint: String| {
            let mut r = this.report(Status::Failed, d);
            r.hint = Some(hint);
            Action::Done(r)
        };
        let Some(location) = reply.header("location").filter(|l| !l.trim().is_empty()) else {
            return fail(self, "the registry answered with a redirect but named no place to go; check the repository URL".into());
        };
        let (target, had_userinfo) = match self.url.join(location) {
            Ok(t) => t,
            Err(e) => return fail(self, format!("the registry redirects to something that is not an http(s) URL ({e}); check the repository URL")),
        };
        if had_userinfo {
            return fail(self, format!("the registry redirects to {target} with credentials in the URL; such a redirect is never followed"));
        }
        if self.visited.contains(&target) {
            return fail(self, format!("redirect loop: {} leads back to {target}; the registry or a proxy in front of it is misconfigured", self.url));
        }
        let same_origin = self.url.same_origin(&target);
        let trailing_slash = same_origin && target.as_str().trim_end_matches('/') == self.url.as_str().trim_end_matches('/') && target.as_str().ends_with('/');
        if !same_origin {
            return fail(
                self,
                format!(
                    "the registry redirects to another origin, {target} (ours is {}); credentials and files are never sent there on a redirect: if you trust it, use that URL as {{repository-url}}",
                    self.url.origin().show()
                ),
            );
        }
        if !matches!(reply.status, 307 | 308) {
            // 301/302/303 turn a POST into a GET: following them would lose the file.
            return fail(
                self,
                if trailing_slash {
                    format!("the upload URL needs a trailing slash: use {target}")
                } else {
                    format!("the registry redirects uploads to {target} (HTTP {}); use that URL as {{repository-url}}", reply.status)
                },
            );
        }
        if self.visited.len() > self.policy.max_redirects as usize {
            return fail(self, format!("more than {} redirects; use the final URL, {target}, as {{repository-url}}", self.policy.max_redirects));
        }
        self.visited.push(target.clone());
        self.url = target;
        // A redirect is not a failed attempt: the counter is for retries.
        self.attempt -= 1;
        self.send()
    }

    fn skipped(&self, d: &Decoded, why: &str, verified: bool) -> Action {
        let mut r = self.report(Status::Skipped, d);
        r.hint = Some(why.to_string());
        r.retryable = false;
        r.verified = Some(verified);
        Action::Done(r)
    }

    fn report(&self, status: Status, d: &Decoded) -> Report {
        Report {
            http_status: Some(d.status),
            server_message: d.server_message.clone(),
            hint: d.hint.clone(),
            kind: match d.outcome {
                Outcome::Failed { kind } => Some(kind),
                _ => None,
            },
            attempts: self.attempt,
            retryable: d.retryable,
            ..Report::new(&self.filename, status)
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

/// `Retry-After` in milliseconds: delay-seconds, or an HTTP-date measured from the reply's own
/// `Date` (so clock skew between us and the server does not matter), else from our clock.
pub fn retry_after_ms(reply: &Reply) -> Option<u64> {
    let v = reply.header("retry-after")?.trim();
    if let Ok(s) = v.parse::<u64>() {
        return Some(s.saturating_mul(1000));
    }
    let at = http_date(v)?;
    let now = reply.header("date").and_then(http_date).unwrap_or(reply.now_ms / 1000);
    Some(at.saturating_sub(now).saturating_mul(1000))
}

/// Seconds since the Unix epoch of an HTTP-date (RFC 9110: IMF-fixdate, RFC 850, asctime).
pub fn http_date(s: &str) -> Option<u64> {
    let s = s.trim();
    let (_, rest) = s.split_once([',', ' '])?;
    let parts: Vec<&str> = rest.split([' ', '-']).filter(|p| !p.is_empty()).collect();
    let month = |m: &str| {
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
            .iter()
            .position(|x| m.eq_ignore_ascii_case(x))
            .map(|i| i as u64 + 1)
    };
    // IMF-fixdate and RFC 850: day month year time GMT; asctime: month day time year.
    let (day, mon, year, time) = if s.contains(',') {
        let year: u64 = parts.get(2)?.parse().ok()?;
        let year = if year < 100 {
            if year < 70 {
                2000 + year
            } else {
                1900 + year
            }
        } else {
            year
        };
        (parts.first()?.parse::<u64>().ok()?, month(parts.get(1)?)?, year, *parts.get(3)?)
    } else {
        (parts.get(1)?.parse::<u64>().ok()?, month(parts.first()?)?, parts.get(3)?.parse::<u64>().ok()?, *parts.get(2)?)
    };
    let mut t = time.split(':').map(|x| x.parse::<u64>().ok());
    let (h, m, sec) = (t.next()??, t.next()??, t.next()??);
    if !(1..=31).contains(&day) || h > 23 || m > 59 || sec > 60 || !(1970..=9999).contains(&year) {
        return None;
    }
    Some(days_from_civil(year, mon, day) * 86_400 + h * 3600 + m * 60 + sec)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: u64, m: u64, d: u64) -> u64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}
