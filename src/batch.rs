//! The whole publish of a batch as one sans-IO state machine, in quinn-proto's shape: the
//! caller owns time, IO and bytes; the engine owns every decision.
//!
//! The shell calls [`Batch::poll`] until it returns `None`, performs each [`Action`] (read a
//! range, hash a file, make a request, wait), and feeds the result back (`on_read`,
//! `on_hashed`, `on_reply`, `on_no_reply`, `on_timer`, `cancel`). Each file ends in exactly one
//! [`Action::Report`], then [`Action::Done`] ends the batch. The clock, the randomness (a seed)
//! and every byte come from outside, so the native tests drive the engine through a simulated
//! registry deterministically and the same scenarios run in wasm.
//!
//! What it decides: every file's metadata is read and checked before anything is sent (a batch
//! with a broken file sends nothing); trusted publishing; wheels before sdists; whether and
//! where to look a file up in the simple index; when to hash (as the file is sent, ahead of
//! the upload, or every file but the first one sent first when sources may change between
//! reads; a file the index lists, only then); retries, redirects and conflicts (per
//! file, by [`crate::publish::Upload`]); which origin gets credentials; the dry run; cancelling.

use std::collections::{BTreeMap, VecDeque};

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::archive::{MetadataReader, Step};
use crate::auth::{self, Given, Resolved, ACCEPT};
use crate::checks::Finding;
use crate::digest::DigestSet;
use crate::filename::DistFilename;
use crate::form::Form;
use crate::http::{Body, Method, NoReply, Reply, Request};
use crate::mask::Secrets;
use crate::metadata::Metadata;
use crate::multipart::{MultipartPlan, TRAILING_FIELDS};
use crate::oidc::{self, Flow, FlowStep};
use crate::publish::{self, Policy, Upload};
use crate::registry::{self, GitLabJob, Registry};
use crate::report::{Kind, RawResponse, Report, Status, Surface};
use crate::response::Sent;
use crate::simple::{self, Existing, ACCEPT_SIMPLE};
use crate::url::Url;

/// Options as callers give them (the JS `PublishOptions`, the CLI's flags), before checking.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Options {
    /// The upload URL, possibly with `user:password@`.
    pub repository_url: Option<String>,
    /// Username.
    pub username: Option<String>,
    /// Password.
    pub password: Option<String>,
    /// A token (username `__token__`, or empty for Artifactory).
    pub token: Option<String>,
    /// Count files already there as skipped (a different file still fails).
    pub skip_existing: bool,
    /// A simple index to look files up in before sending.
    pub check_url: Option<String>,
    /// A CORS relay that forwards to the registry.
    pub relay_url: Option<String>,
    /// `auto`, `always` or `never`.
    pub trusted_publishing: Option<String>,
    /// Prepare and report; send nothing.
    pub dry_run: bool,
    /// Retries after network errors, 5xx, 408 and 429.
    pub retries: Option<f64>,
    /// Uploads at once.
    pub concurrency: Option<f64>,
    /// Keep the raw reply in each report.
    pub verbose: bool,
    /// Where the reports are shown.
    pub surface: Option<String>,
    /// Send the digest fields before the file even where the transport could hash while
    /// sending (for a registry that needs them first).
    pub digests_first: bool,
    /// Before the first byte, check with the cheapest request (or none) that the URL, the
    /// credentials and the permission are right.
    pub preflight: bool,
}

/// Which digests a transport can compute while it sends the file, so that they can follow the
/// file part and the file is read once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Trailing {
    /// None: the body is a Blob the runtime sends itself; digests go first.
    #[default]
    Off,
    /// sha256, blake2b-256 and md5.
    All,
}

/// Why options cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct InputError {
    /// What is wrong.
    pub message: String,
    /// What to do.
    pub hint: Option<String>,
}

fn input(message: impl Into<String>, hint: Option<&str>) -> InputError {
    InputError { message: message.into(), hint: hint.map(str::to_string) }
}

/// Checked options.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where to upload, and with what.
    pub creds: Resolved,
    /// An index to look files up in.
    pub check_url: Option<Url>,
    /// Skip files already there.
    pub skip_existing: bool,
    /// The CORS relay.
    pub relay: Option<Url>,
    /// Trusted publishing.
    pub trusted: oidc::Mode,
    /// Send nothing.
    pub dry_run: bool,
    /// Retry and redirect policy.
    pub policy: Policy,
    /// Uploads at once.
    pub concurrency: usize,
    /// Keep raw replies.
    pub verbose: bool,
    /// Where reports are shown.
    pub surface: Surface,
    /// The CI's environment (trusted publishing reads its token variables).
    pub env: Vec<(String, String)>,
    /// Digests the transport can compute while sending (set by the shell; `Off` with
    /// `digests_first`).
    pub trailing: Trailing,
    /// Probe the registry before sending.
    pub preflight: bool,
    /// The shell's clock when the batch starts, ms since the Unix epoch (a token's expiry).
    pub now_ms: u64,
}

impl Config {
    /// Checks options; `env` is the CI environment for trusted publishing.
    pub fn from_options(o: &Options, env: Vec<(String, String)>) -> Result<Config, InputError> {
        let url = o
            .repository_url
            .clone()
            .filter(|u| !u.trim().is_empty())
            .ok_or_else(|| input("the repository URL is required", Some("for PyPI use https://upload.pypi.org/legacy/")))?;
        let creds = auth::resolve(&Given { url, username: o.username.clone(), password: o.password.clone(), token: o.token.clone() })
            .map_err(|e| input(e.to_string(), None))?;
        let parse = |what: &str, v: &Option<String>| -> Result<Option<Url>, InputError> {
            match v.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
                None => Ok(None),
                Some(v) => Url::parse(v).map(Some).map_err(|e| input(format!("the {what}: {e}"), None)),
            }
        };
        let trusted = match o.trusted_publishing.as_deref() {
            None | Some("") => oidc::Mode::Auto,
            Some(m) => oidc::Mode::parse(m).ok_or_else(|| input("trusted publishing must be \"auto\", \"always\" or \"never\"", None))?,
        };
        let number = |what: &str, v: Option<f64>, default: f64, min: f64, max: f64| -> Result<f64, InputError> {
            match v {
                None => Ok(default),
                Some(n) if n.is_finite() && n >= min && n.fract() == 0.0 => Ok(n.min(max)),
                Some(_) => Err(input(format!("{what} must be a whole number of at least {min}"), None)),
            }
        };
        let retries = number("retries", o.retries, 3.0, 0.0, 20.0)? as u32;
        let concurrency = number("concurrency", o.concurrency, 1.0, 1.0, 16.0)? as usize;
        let surface = match o.surface.as_deref() {
            None => Surface::Api,
            Some(s) => Surface::parse(s).ok_or_else(|| input("surface must be api, cli, page or hook", None))?,
        };
        Ok(Config {
            creds,
            check_url: parse("check URL", &o.check_url)?,
            skip_existing: o.skip_existing,
            relay: parse("relay URL", &o.relay_url)?,
            trusted,
            dry_run: o.dry_run,
            policy: Policy { max_attempts: retries + 1, skip_existing: o.skip_existing || o.check_url.is_some(), ..Policy::default() },
            concurrency,
            verbose: o.verbose,
            surface,
            env,
            trailing: Trailing::Off,
            preflight: o.preflight,
            now_ms: 0,
        })
    }

    /// Sets the clock: the engine keeps no time of its own.
    pub fn at(mut self, now_ms: u64) -> Config {
        self.now_ms = now_ms;
        self
    }

    /// Lets digests follow the file where the transport can compute them while sending,
    /// unless the caller asked for digests first.
    pub fn with_trailing(mut self, trailing: Trailing, digests_first: bool) -> Config {
        self.trailing = if digests_first { Trailing::Off } else { trailing };
        self
    }
}

/// One file of the batch, as the shell describes it.
#[derive(Debug, Clone, Default)]
pub struct FileSpec {
    /// The distribution's file name.
    pub name: String,
    /// Its exact size.
    pub size: u64,
    /// True for a source that is read anew each time and may change between reads (a URL):
    /// what is sent is checked against what was hashed.
    pub changeable: bool,
    /// The sha256 the caller expects (lowercase hex); a file that hashes otherwise is not sent.
    pub expected_sha256: Option<String>,
    /// Digests computed before (an immutable `File` the page hashed): not hashed again.
    pub digests: Option<DigestSet>,
    /// PEP 740 attestations (JSON texts).
    pub attestations: Vec<String>,
}

/// What the shell should do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Read `len` bytes at `offset` of file `file`, then call [`Batch::on_read`].
    Read {
        /// File index.
        file: usize,
        /// Offset.
        offset: u64,
        /// Length (may run past the end; give what there is).
        len: u64,
    },
    /// Hash the whole file (sha256, md5, blake2b-256), here or in a worker, then call
    /// [`Batch::on_hashed`].
    Hash {
        /// File index.
        file: usize,
    },
    /// Make this request (never following redirects), then call [`Batch::on_reply`] or
    /// [`Batch::on_no_reply`] with `id`.
    Request {
        /// Identifies the reply.
        id: u64,
        /// The file it is for, if any (for progress output).
        file: Option<usize>,
        /// The request.
        request: Request,
    },
    /// Wait `ms`, then call [`Batch::on_timer`] with `id`.
    Wait {
        /// Identifies the timer.
        id: u64,
        /// Milliseconds.
        ms: u64,
        /// The file waiting, if any.
        file: Option<usize>,
        /// Why, for progress output (already masked).
        reason: String,
    },
    /// A file is finished; its report is masked and escaped.
    Report(Report),
    /// The batch is finished: every file has its report.
    Done,
}

enum St {
    Reading(Box<MetadataReader>),
    Valid,
    Invalid(Report),
    Hashing,
    Ready,
    Index { attempt: u32, url: Url, redirects: u32 },
    Sending(Box<Upload>),
    Verifying(Box<Upload>),
    Finished,
}

struct Entry {
    spec: FileSpec,
    warnings: Vec<String>,
    dist: Option<DistFilename>,
    metadata: Option<Metadata>,
    digests: Option<DigestSet>,
    plan: Option<MultipartPlan>,
    last_reply: Option<RawResponse>,
    /// The index listed the file before it was hashed: the verdict waits for its digests.
    found: Option<Existing>,
    /// Hashing reads cut half way so far (each is made again, as an upload is retried).
    hash_cuts: u32,
    state: St,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Validate,
    Trusted,
    Preflight,
    Prehash,
    Upload,
    Over,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pending {
    Trusted,
    Preflight,
    Index(usize),
    Hash(usize),
    Upload(usize),
    Verify(usize),
}

/// The order a batch is sent in, as indices into `filenames`: wheels first (an index never
/// shows a release with only an sdist that would build), each kind in the order given. One rule
/// for the engine and the shells that look ahead (the CLI reads the next file while one is stored).
pub fn send_order<S: AsRef<str>>(filenames: &[S]) -> Vec<usize> {
    // A partition, not a sort: the same stable order for ~4 KB less wasm.
    let (mut order, rest): (Vec<usize>, Vec<usize>) =
        (0..filenames.len()).partition(|&i| DistFilename::parse(filenames[i].as_ref()).is_ok_and(|d| d.is_wheel()));
    order.extend(rest);
    order
}

/// Files read at once while a batch is inspected, or hashed at once before it is sent (all or
/// nothing). Each read holds a buffer until it is answered, and in a browser or a Worker each is
/// a connection (six per host over HTTP/1.1; six open at once per Worker invocation): 2,000 small
/// wheels read all at once held 17 MiB of buffers at the peak (BENCHMARKS.md (f)).
pub const MAX_READING: usize = 6;

/// The engine. See the module documentation.
pub struct Batch {
    cfg: Config,
    files: Vec<Entry>,
    order: Vec<usize>,
    phase: Phase,
    out: VecDeque<Action>,
    pending: BTreeMap<u64, Pending>,
    timers: BTreeMap<u64, Pending>,
    next_id: u64,
    secrets: Secrets,
    flow: Option<Flow>,
    /// True when the credentials came from trusted publishing (the exchange was the probe).
    minted: bool,
    job: Option<GitLabJob>,
    seed: [u8; 32],
    draws: u64,
    /// All or nothing (a batch of sources that may change): every file but the lead was hashed
    /// and checked first, and nothing else starts before the lead's own body pass checked it.
    prehashed: bool,
    /// The lead file failed for its bytes (`Kind::Source`).
    lead_failed: bool,
    /// Files whose inspection (first read) or prehash waits for one of the [`MAX_READING`]
    /// places; they are already in `St::Reading` or `St::Hashing`, so the phase waits for them.
    queued: VecDeque<usize>,
    /// Inspections or prehashes under way.
    running: usize,
}

impl Batch {
    /// A batch of `files` under `cfg`; `seed` (32 random bytes from the shell) feeds jitter and
    /// multipart boundaries. Starts at once: poll for the first actions.
    pub fn new(cfg: Config, files: Vec<FileSpec>, seed: [u8; 32]) -> Result<Batch, InputError> {
        if files.is_empty() {
            return Err(input("no files to publish", Some("build with `python -m build`, then publish dist/*")));
        }
        let secrets = cfg.creds.secrets();
        let job = GitLabJob::from_env(&cfg.env);
        let mut b = Batch {
            cfg,
            files: Vec::new(),
            order: Vec::new(),
            phase: Phase::Validate,
            out: VecDeque::new(),
            pending: BTreeMap::new(),
            timers: BTreeMap::new(),
            next_id: 1,
            secrets,
            flow: None,
            minted: false,
            job,
            seed,
            draws: 0,
            prehashed: false,
            lead_failed: false,
            queued: VecDeque::new(),
            running: 0,
        };
        for (i, mut spec) in files.into_iter().enumerate() {
            // Digests given in uppercase are the same digests; malformed ones are refused by the check.
            spec.digests = spec.digests.map(|d| d.checked().unwrap_or(d));
            spec.expected_sha256 = spec.expected_sha256.map(|h| h.to_ascii_lowercase());
            let (dist, state) = match DistFilename::parse(&spec.name) {
                Ok(dist) => {
                    b.queued.push_back(i);
                    let reader = MetadataReader::new(&dist, spec.size);
                    (Some(dist), St::Reading(Box::new(reader)))
                }
                Err(e) => (None, St::Invalid(refused(&spec.name, Kind::Filename, &e.to_string()))),
            };
            let fresh =
                Entry { spec, warnings: Vec::new(), dist, metadata: None, digests: None, plan: None, last_reply: None, found: None, hash_cuts: 0, state };
            b.files.push(fresh);
        }
        b.start_queued();
        b.advance();
        Ok(b)
    }

    /// The next action to perform, or `None` until an event comes in.
    pub fn poll(&mut self) -> Option<Action> {
        self.out.pop_front()
    }

    /// The secrets to mask in anything the shell itself shows.
    pub fn secrets(&self) -> &Secrets {
        &self.secrets
    }

    /// True once [`Action::Done`] was queued.
    pub fn is_over(&self) -> bool {
        self.phase == Phase::Over
    }

    /// The file names, in the batch's order (for progress output).
    pub fn name(&self, file: usize) -> &str {
        self.files.get(file).map_or("", |f| f.spec.name.as_str())
    }

    /// The bytes a `Read` asked for (fewer at the end of the file), or why they could not be read.
    pub fn on_read(&mut self, file: usize, offset: u64, data: Result<Vec<u8>, String>) {
        let Some(e) = self.files.get_mut(file) else { return };
        let St::Reading(reader) = &mut e.state else { return };
        match data {
            Ok(d) if !d.is_empty() => {
                reader.supply(offset, d);
                self.step_reader(file);
            }
            Ok(_) => {
                e.state = St::Invalid(refused(&e.spec.name, Kind::Source, &format!("{} is shorter than its own directory says", e.spec.name)));
                self.running = self.running.saturating_sub(1);
            }
            Err(why) => {
                e.state = St::Invalid(refused(&e.spec.name, Kind::Source, &format!("{} could not be read: {why}", e.spec.name)));
                self.running = self.running.saturating_sub(1);
            }
        }
        self.start_queued();
        self.advance();
    }

    /// A hashing read of `file` was cut half way (a download its host broke off), not refused
    /// by a source that changed: it is made again after a back-off, as many times as an upload
    /// would be retried, before it counts as a failure. The file keeps its reading slot meanwhile.
    pub fn on_hash_cut(&mut self, file: usize, why: String) {
        let Some(e) = self.files.get_mut(file) else { return };
        if !matches!(e.state, St::Hashing) {
            return;
        }
        if e.hash_cuts + 1 >= self.cfg.policy.max_attempts {
            return self.on_hashed(file, Err(why));
        }
        e.hash_cuts += 1;
        let tries = e.hash_cuts;
        let ms = self.backoff_ms(tries);
        let id = self.id();
        self.timers.insert(id, Pending::Hash(file));
        let reason = self.secrets.clean(&format!("reading it to hash it was cut ({why}); attempt {} of {}", tries + 1, self.cfg.policy.max_attempts));
        self.out.push_back(Action::Wait { id, ms, file: Some(file), reason });
    }

    /// Half fixed, half random, doubling with each `attempt` up to the policy's longest wait.
    fn backoff_ms(&mut self, attempt: u32) -> u64 {
        let jitter = self.jitter();
        let base = self.cfg.policy.base_delay_ms.saturating_mul(1 << attempt.saturating_sub(1).min(10)).min(self.cfg.policy.max_delay_ms);
        base / 2 + (base as f64 / 2.0 * jitter) as u64
    }

    /// A file's digests, or why it could not be hashed.
    pub fn on_hashed(&mut self, file: usize, digests: Result<DigestSet, String>) {
        let Some(e) = self.files.get_mut(file) else { return };
        if !matches!(e.state, St::Hashing) {
            return;
        }
        if self.phase == Phase::Prehash {
            self.running = self.running.saturating_sub(1);
            self.start_queued();
        }
        let e = &mut self.files[file];
        let name = e.spec.name.clone();
        let failure = match digests.and_then(|d| d.checked().ok_or_else(|| "the hasher gave malformed digests".to_string())) {
            Ok(d) if d.len != e.spec.size => {
                Some(Report::failed(&name, Kind::Source, format!("{name} gave {} bytes, not its stated size of {}", d.len, e.spec.size)))
            }
            Ok(d) => match &e.spec.expected_sha256 {
                Some(want) if *want != d.sha256 => {
                    let mut r = Report::failed(&name, Kind::Source, format!("its sha256 is {}, not the {want} it was given with", d.sha256));
                    r.sha256 = Some(d.sha256);
                    Some(r)
                }
                _ => {
                    e.digests = Some(d);
                    e.state = St::Ready;
                    None
                }
            },
            Err(why) => Some(refused(&name, Kind::Source, &format!("{name} could not be read: {why}"))),
        };
        let found = self.files[file].found.take();
        match (failure, found) {
            (Some(r), _) => self.finish(file, r),
            (None, Some(existing)) => self.decide_existing(file, &existing),
            (None, None) => {}
        }
        self.advance();
    }

    /// The reply to request `id`.
    pub fn on_reply(&mut self, id: u64, reply: Reply) {
        let Some(p) = self.pending.remove(&id) else { return };
        match p {
            Pending::Trusted => {
                let step = self.flow.as_mut().map(|f| f.on_reply(&reply));
                self.trusted_step(step);
            }
            Pending::Preflight => self.preflight_reply(&reply),
            Pending::Index(file) => self.index_reply(file, &reply),
            // A timer's, never a request's.
            Pending::Hash(_) => {}
            Pending::Upload(file) => {
                self.files[file].last_reply = Some(raw_response(&reply));
                let jitter = self.jitter();
                let e = &mut self.files[file];
                let St::Sending(machine) = &mut e.state else { return };
                let action = machine.on_reply(&reply, self.cfg.creds.username.as_deref(), e.digests.as_ref(), jitter);
                self.upload_action(file, action);
            }
            Pending::Verify(file) => {
                // Without our digests (a body whose digest fields were to follow it, refused
                // before its end) whether the file there is ours is unknown, not "no".
                let identical = self.index_verdict(file, &reply).ok().and_then(|existing| match existing {
                    Existing::Present { sha256: Some(h) } => self.files[file].digests.as_ref().map(|d| d.sha256 == h),
                    _ => None,
                });
                let St::Verifying(machine) = &mut self.files[file].state else { return };
                let action = machine.on_verified(identical);
                self.upload_action(file, action);
            }
        }
        self.advance();
    }

    /// Request `id` got no reply.
    pub fn on_no_reply(&mut self, id: u64, why: NoReply) {
        let Some(p) = self.pending.remove(&id) else { return };
        // The caller's cancel, seen first by a request it cut: the whole batch stops, each file
        // told whether it may have reached the registry, and nothing more starts.
        if why == NoReply::Cancelled {
            return self.cancel();
        }
        let detail = |w: &NoReply| match w {
            NoReply::Network(d) | NoReply::Stalled(d) | NoReply::Source(d) | NoReply::Unread(d) | NoReply::Hasher(d) => d.clone(),
            NoReply::Cancelled => "cancelled".into(),
        };
        match p {
            Pending::Trusted => {
                let step = self.flow.as_mut().map(|f| f.on_no_reply(&detail(&why)));
                self.trusted_step(step);
            }
            Pending::Preflight => match why {
                NoReply::Cancelled => self.cancel(),
                // A check that sends nothing else (`check --online`) has only this to report.
                why if self.cfg.dry_run => {
                    let url = self.cfg.creds.url.to_string();
                    self.preflight_blocked(
                        Kind::Network,
                        None,
                        format!("the registry at {url} could not be reached ({})", detail(&why)),
                        "check the URL, the network and any proxy".into(),
                    );
                }
                // No reply is no finding: the uploads go ahead with their own retries, and a
                // registry that stays unreachable (or a page's CORS-less one) is told apart there.
                why => {
                    let note = format!("the check before the upload got no reply ({}); the upload went ahead", detail(&why));
                    for e in &mut self.files {
                        e.warnings.push(note.clone());
                    }
                    self.after_preflight();
                }
            },
            Pending::Hash(_) => {}
            Pending::Index(file) => {
                let retry = matches!(why, NoReply::Network(_) | NoReply::Stalled(_));
                self.index_failed(file, &format!("no reply ({})", detail(&why)), None, retry.then_some(None));
            }
            Pending::Upload(file) => {
                let jitter = self.jitter();
                let St::Sending(machine) = &mut self.files[file].state else { return };
                let action = machine.on_no_reply(&why, jitter);
                self.upload_action(file, action);
            }
            Pending::Verify(file) => {
                let St::Verifying(machine) = &mut self.files[file].state else { return };
                let action = machine.on_verified(None);
                self.upload_action(file, action);
            }
        }
        self.advance();
    }

    /// Timer `id` expired.
    pub fn on_timer(&mut self, id: u64) {
        let Some(p) = self.timers.remove(&id) else { return };
        match p {
            Pending::Upload(file) => {
                if let St::Sending(machine) = &mut self.files[file].state {
                    let action = machine.resume();
                    self.upload_action(file, action);
                }
            }
            Pending::Index(file) => {
                if let St::Index { attempt, .. } = self.files[file].state {
                    self.index_request(file, attempt + 1);
                }
            }
            Pending::Hash(file) => {
                if matches!(self.files[file].state, St::Hashing) {
                    self.out.push_back(Action::Hash { file });
                }
            }
            _ => {}
        }
        self.advance();
    }

    /// Cancels: every file not finished is reported at once (nothing waits for a timer or a
    /// reply), and the batch ends.
    pub fn cancel(&mut self) {
        if self.phase == Phase::Over {
            return;
        }
        self.pending.clear();
        self.timers.clear();
        self.queued.clear();
        self.running = 0;
        for i in 0..self.files.len() {
            let e = &self.files[i];
            let why = match e.state {
                St::Finished => continue,
                St::Sending(_) | St::Verifying(_) => "cancelled during the upload; the registry may or may not have stored it",
                _ => "cancelled before it was sent",
            };
            let attempts = if let St::Sending(m) | St::Verifying(m) = &e.state { m.attempts() } else { 0 };
            let r = Report { attempts, ..Report::failed(&e.spec.name, Kind::Cancelled, why) };
            self.finish(i, r);
        }
        self.phase = Phase::Over;
        self.out.push_back(Action::Done);
    }

    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    fn draw(&mut self) -> [u8; 32] {
        self.draws += 1;
        let mut h = Sha256::new();
        h.update(self.seed);
        h.update(self.draws.to_le_bytes());
        h.finalize().into()
    }

    fn jitter(&mut self) -> f64 {
        let b = self.draw();
        (u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) >> 11) as f64 / (1u64 << 53) as f64
    }

    fn step_reader(&mut self, file: usize) {
        let e = &mut self.files[file];
        let St::Reading(reader) = &mut e.state else { return };
        let step = reader.step();
        if matches!(step, Step::Done(_)) {
            self.running = self.running.saturating_sub(1);
        }
        match step {
            Step::Need(r) => self.out.push_back(Action::Read { file, offset: r.offset, len: r.len }),
            Step::Done(Err(err)) => {
                let err = crate::Error::from(err);
                e.state = St::Invalid(refused(&e.spec.name, err.kind(), &err.to_string()));
            }
            Step::Done(Ok(member)) => {
                e.state = match check(e, &member.bytes) {
                    Ok((md, warnings)) => {
                        e.metadata = Some(md);
                        e.warnings = warnings;
                        St::Valid
                    }
                    Err(r) => St::Invalid(*r),
                }
            }
        }
    }

    /// Moves the batch on as far as the states allow.
    fn advance(&mut self) {
        loop {
            let before = self.phase;
            match self.phase {
                Phase::Validate => self.after_validation(),
                Phase::Trusted | Phase::Preflight => {}
                Phase::Prehash => self.after_prehash(),
                Phase::Upload => self.schedule(),
                Phase::Over => {}
            }
            if self.phase == before {
                break;
            }
        }
    }

    /// Starts queued inspections or prehashes while fewer than [`MAX_READING`] run.
    fn start_queued(&mut self) {
        while self.running < MAX_READING {
            let Some(i) = self.queued.pop_front() else { break };
            self.running += 1;
            match self.files[i].state {
                St::Reading(_) => self.step_reader(i),
                St::Hashing => self.out.push_back(Action::Hash { file: i }),
                // Finished meanwhile (cancelled): nothing to start.
                _ => self.running -= 1,
            }
        }
    }

    /// True while an inspection or prehash is queued or under way: counted, not searched for,
    /// so that a batch of n files costs n steps, not n² (a phase ends on every event's check).
    fn readers_busy(&self) -> bool {
        self.running > 0 || !self.queued.is_empty()
    }

    fn after_validation(&mut self) {
        if self.readers_busy() {
            return;
        }
        if self.files.iter().any(|e| matches!(e.state, St::Invalid(_))) {
            let bad: Vec<String> = self.files.iter().filter(|e| matches!(e.state, St::Invalid(_))).map(|e| e.spec.name.clone()).collect();
            let why = format!("not sent: the batch has invalid files ({}); fix them and publish again, so a release is never half uploaded", bad.join(", "));
            for i in 0..self.files.len() {
                let r = match std::mem::replace(&mut self.files[i].state, St::Finished) {
                    St::Invalid(r) => r,
                    _ => Report::failed(&self.files[i].spec.name, Kind::NotSent, why.clone()),
                };
                self.finish(i, r);
            }
            return self.end();
        }
        let names: Vec<&str> = self.files.iter().map(|e| e.spec.name.as_str()).collect();
        self.order = send_order(&names);
        for e in &mut self.files {
            if let Some(d) = e.spec.digests.clone() {
                e.digests = Some(d);
                e.state = St::Ready;
            }
        }
        if self.use_trusted() {
            match Flow::new(&self.cfg.creds.url, self.cfg.env.clone()) {
                Ok(mut flow) => {
                    let step = flow.start();
                    self.flow = Some(flow);
                    self.phase = Phase::Trusted;
                    self.trusted_step(Some(step));
                }
                Err(e) => self.trusted_failed(&e.to_string()),
            }
            return;
        }
        self.after_credentials();
    }

    fn use_trusted(&self) -> bool {
        if self.cfg.dry_run {
            return false;
        }
        let env = |k: &str| self.cfg.env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        match self.cfg.trusted {
            oidc::Mode::Never => false,
            oidc::Mode::Always => true,
            oidc::Mode::Auto => oidc::supported(&self.cfg.creds.url) && self.cfg.creds.authorization().is_none() && oidc::ambient_available(&env),
        }
    }

    fn trusted_step(&mut self, step: Option<FlowStep>) {
        if let Some(f) = &self.flow {
            self.secrets.extend(f.secrets());
        }
        match step {
            Some(FlowStep::Request(request)) => {
                let id = self.id();
                self.pending.insert(id, Pending::Trusted);
                self.out.push_back(Action::Request { id, file: None, request });
            }
            Some(FlowStep::Token(token)) => {
                let given = Given { url: self.cfg.creds.url.to_string(), token: Some(token), ..Given::default() };
                match auth::resolve(&given) {
                    Ok(c) => {
                        self.secrets.extend(&c.secrets());
                        self.cfg.creds = c;
                        self.minted = true;
                        self.after_credentials();
                    }
                    Err(e) => self.trusted_failed(&e.to_string()),
                }
            }
            Some(FlowStep::Failed(e)) => self.trusted_failed(&e.to_string()),
            None => self.trusted_failed("internal: no flow"),
        }
    }

    fn trusted_failed(&mut self, why: &str) {
        let error = format!("not sent: trusted publishing failed: {why}");
        for i in 0..self.files.len() {
            let mut r = Report::failed(&self.files[i].spec.name, Kind::TrustedPublishing, error.clone());
            r.hint = Some("or give a token with {token}, or turn trusted publishing off with {trusted-never}".into());
            self.finish(i, r);
        }
        self.end();
    }

    fn after_credentials(&mut self) {
        if self.cfg.preflight && !self.minted {
            self.phase = Phase::Preflight;
            return self.preflight();
        }
        self.after_preflight();
    }

    /// The cheapest check that the URL, the credentials and the permission are right, before
    /// any file is sent. PyPI and TestPyPI need no request (their tokens are read locally, and
    /// trusted publishing's exchange was the probe); GitLab answers its project's simple index
    /// with the same 401/403/404 an upload would get; other registries are asked for their
    /// index, or for the upload URL itself.
    fn preflight(&mut self) {
        let url = self.cfg.creds.url.clone();
        let reg = registry::detect(&url);
        if matches!(reg, Registry::Pypi | Registry::TestPypi) {
            return match self.pypi_credentials_finding(reg) {
                Some((error, hint)) => self.preflight_blocked(Kind::Preflight, None, error, hint),
                None => self.after_preflight(),
            };
        }
        let probe = registry::index_for(&url, reg).unwrap_or_else(|| url.clone());
        let same = probe.same_origin(&url);
        let mut headers = vec![("Accept".to_string(), "application/json, text/html;q=0.5".to_string())];
        if same {
            headers.extend(self.cfg.creds.authorization().map(|a| ("Authorization".to_string(), a)));
        }
        let target = match &self.cfg.relay {
            Some(relay) if same => relay.with_query_pair("upstream", probe.as_str()),
            _ => probe,
        };
        let id = self.id();
        self.pending.insert(id, Pending::Preflight);
        self.out.push_back(Action::Request { id, file: None, request: Request { method: Method::Get, url: target, headers, body: Body::Empty } });
    }

    /// PyPI refuses passwords, and a token scoped to other projects: both are known here.
    fn pypi_credentials_finding(&self, reg: Registry) -> Option<(String, String)> {
        let host = if reg == Registry::TestPypi { "test.pypi.org" } else { "pypi.org" };
        let user = self.cfg.creds.username.as_deref().unwrap_or_default();
        if self.cfg.creds.authorization().is_none() {
            return Some((
                format!("not sent: no credentials for {host}"),
                format!("give an API token with {{token}} (create one at https://{host}/manage/account/token/), or publish from a CI with trusted publishing"),
            ));
        }
        if user != "__token__" {
            return Some((
                format!("not sent: {host} accepts API tokens only, not the password of user {user:?}"),
                format!("use the username `__token__` and an API token (it starts with `pypi-`) as the password: https://{host}/manage/account/token/"),
            ));
        }
        // The token's own caveats: its project scope, its expiry, the registry it was made on.
        let token = self.cfg.creds.secret().unwrap_or_default();
        let names: Vec<&str> = self.files.iter().filter_map(|e| e.metadata.as_ref().map(|m| m.name())).collect();
        let blocking: Vec<String> = crate::checks::macaroon::check_token_for(token, self.cfg.creds.url.host(), &names, (self.cfg.now_ms / 1000) as i64)
            .into_iter()
            .filter(|f| f.blocking)
            .map(|f| f.message)
            .collect();
        if !blocking.is_empty() {
            return Some((format!("not sent: {}", blocking.join("; ")), format!("create a token for this project at https://{host}/manage/account/token/ (a project-scoped token cannot create a new project: the first upload needs an account-wide one)")));
        }
        None
    }

    fn preflight_reply(&mut self, reply: &Reply) {
        let url = self.cfg.creds.url.clone();
        let reg = registry::detect(&url);
        let sent = Sent { url: &url, username: self.cfg.creds.username.as_deref(), digests: None, job: self.job.as_ref() };
        let d = crate::response::decode(reply, &sent);
        // Refused credentials block everywhere. Absence (404) blocks where the registry is known
        // (by its URL, or devpi and pypiserver by their replies): an unknown server may take
        // POSTs at a URL it does not serve to GET. Anything else: the upload's reply speaks.
        let known = reg != Registry::Unknown || d.registry != Registry::Unknown;
        let blocking = matches!(reply.status, 401 | 403) || (known && matches!(reply.status, 404 | 410)) || crate::response::looks_like_sign_in(&reply.body);
        if !blocking {
            return self.after_preflight();
        }
        let hint = d.hint.clone().unwrap_or_else(|| "check the repository URL and the credentials".into());
        let error = format!("not sent: before the upload, the registry answered HTTP {} to a check with the same credentials", reply.status);
        self.preflight_blocked(Kind::Preflight, Some((reply.status, d.server_message)), error, hint);
    }

    fn preflight_blocked(&mut self, kind: Kind, reply: Option<(u16, Option<String>)>, error: String, hint: String) {
        for i in 0..self.files.len() {
            let mut r = Report::failed(&self.files[i].spec.name, kind, error.clone());
            r.hint = Some(hint.clone());
            if let Some((status, words)) = &reply {
                r.http_status = Some(*status);
                r.server_message = words.clone();
            }
            self.finish(i, r);
        }
        self.end();
    }

    fn after_preflight(&mut self) {
        // Sources that are read anew each time may change: with more than one file, every file
        // is hashed and checked before the first byte goes out, so a release is all or nothing.
        // The lead (the first file sent), where it is hashed as it is sent, is checked by its own
        // body pass instead, before its closing boundary; the others wait for that
        // (`lead_unverified`), and are not sent if it fails (`lead_cut`).
        let prehash = self.files.len() > 1 && self.files.iter().any(|e| e.spec.changeable);
        if self.cfg.dry_run {
            self.phase = Phase::Upload;
        } else if prehash {
            self.phase = Phase::Prehash;
            self.prehashed = true;
            for i in self.order.clone() {
                if matches!(self.files[i].state, St::Valid) && self.digests_first(i) {
                    self.files[i].state = St::Hashing;
                    self.queued.push_back(i);
                }
            }
            self.start_queued();
        } else {
            self.phase = Phase::Upload;
        }
    }

    fn after_prehash(&mut self) {
        if self.readers_busy() {
            return;
        }
        if self.files.iter().any(|e| matches!(e.state, St::Finished)) {
            let bad: Vec<String> = self.files.iter().filter(|e| matches!(e.state, St::Finished)).map(|e| e.spec.name.clone()).collect();
            let why = format!("not sent: {} could not be verified; nothing of this release was uploaded", bad.join(", "));
            for i in 0..self.files.len() {
                if !matches!(self.files[i].state, St::Finished) {
                    let r = Report::failed(&self.files[i].spec.name, Kind::NotSent, why.clone());
                    self.finish(i, r);
                }
            }
            return self.end();
        }
        self.phase = Phase::Upload;
    }

    /// Starts what the concurrency allows: hashing one file ahead, uploads in order.
    fn schedule(&mut self) {
        if let Some(lead) = self.lead_cut() {
            let why = format!("not sent: {} could not be verified; nothing of this release was uploaded", self.files[lead].spec.name);
            for i in 0..self.files.len() {
                if matches!(self.files[i].state, St::Valid | St::Ready) {
                    self.finish(i, Report::failed(&self.files[i].spec.name, Kind::NotSent, why.clone()));
                }
            }
        }
        let held = self.lead_unverified();
        let active = self.files.iter().filter(|e| matches!(e.state, St::Index { .. } | St::Sending(_) | St::Verifying(_))).count();
        let hashing = self.files.iter().filter(|e| matches!(e.state, St::Hashing)).count();
        let ready = self.files.iter().filter(|e| matches!(e.state, St::Ready)).count();
        let mut slots = self.cfg.concurrency.saturating_sub(active);
        let mut hash_budget = (self.cfg.concurrency + 1).saturating_sub(ready + hashing + active).min(1usize.saturating_sub(hashing));
        for i in self.order.clone() {
            if held.is_some_and(|lead| lead != i) {
                continue;
            }
            match self.files[i].state {
                St::Ready if slots > 0 => {
                    slots -= 1;
                    self.begin(i);
                }
                // Hashed while it is sent: no separate read.
                St::Valid if !self.digests_first(i) => {
                    self.files[i].state = St::Ready;
                    if slots > 0 {
                        slots -= 1;
                        self.begin(i);
                    }
                }
                St::Valid if hash_budget > 0 => {
                    hash_budget -= 1;
                    self.files[i].state = St::Hashing;
                    self.out.push_back(Action::Hash { file: i });
                }
                _ => {}
            }
        }
        if self.files.iter().all(|e| matches!(e.state, St::Finished)) {
            self.end();
        }
    }

    fn end(&mut self) {
        if self.phase != Phase::Over {
            self.phase = Phase::Over;
            self.out.push_back(Action::Done);
        }
    }

    /// True when file `file` must be hashed before its body goes: the dry run reports the
    /// sha256, some transports cannot hash while sending and some registries need the digests
    /// first. A source read anew each time (a URL) is read once, hashed as it is sent and
    /// checked before its closing boundary, when it is the batch's lead (alone, or the first
    /// of an all-or-nothing batch); the others are hashed and checked whole before the lead's
    /// first byte, which costs them a second read. The index lookup needs no digests first:
    /// only a file it lists is hashed, to compare (`found`).
    fn digests_first(&self, file: usize) -> bool {
        self.cfg.trailing == Trailing::Off
            || self.cfg.dry_run
            || (self.files[file].spec.changeable && self.order.first() != Some(&file))
            || !registry::accepts_trailing_digests(registry::detect(&self.cfg.creds.url))
    }

    /// The lead of an all-or-nothing batch until it is finished: the others must not start
    /// before. Not only until its first body pass checked it: a retry reads the source anew,
    /// and may be cut, after others would have been uploaded.
    fn lead_unverified(&self) -> Option<usize> {
        let lead = *self.order.first()?;
        (self.prehashed && !matches!(self.files[lead].state, St::Finished)).then_some(lead)
    }

    /// The lead of an all-or-nothing batch when its bytes turned out not to be what they should
    /// (cut before its closing boundary, or hashed for the index and found wrong).
    fn lead_cut(&self) -> Option<usize> {
        let lead = *self.order.first()?;
        (self.prehashed && self.lead_failed).then_some(lead)
    }

    /// The digests of the bytes a body sent, reported by the shell before the reply (when they
    /// followed the file part). They are the file's digests from now on.
    pub fn on_body_digests(&mut self, file: usize, digests: DigestSet) {
        if let Some(e) = self.files.get_mut(file) {
            if e.digests.is_none() {
                e.digests = Some(digests);
            }
        }
    }

    /// The index to look files up in before sending: given, or known for the registry. A dry
    /// run makes no request at all.
    fn lookup_index(&self) -> Option<Url> {
        if self.cfg.dry_run {
            return None;
        }
        if let Some(u) = &self.cfg.check_url {
            return Some(u.clone());
        }
        if self.cfg.skip_existing {
            return registry::index_for(&self.cfg.creds.url, registry::detect(&self.cfg.creds.url));
        }
        None
    }

    fn begin(&mut self, file: usize) {
        if self.lookup_index().is_some() {
            self.index_request(file, 1);
        } else {
            self.send(file);
        }
    }

    /// The project's page in an index.
    fn index_page(&self, index: &Url, file: usize) -> Url {
        let name = self.files[file].dist.as_ref().map_or("", |d| d.normalized_name.as_str());
        simple::project_url(index, name)
    }

    /// A GET of a simple-index page; credentials only to the upload URL's own origin.
    fn index_get(&self, page: Url) -> Request {
        let same = page.same_origin(&self.cfg.creds.url);
        let mut headers = vec![("Accept".to_string(), ACCEPT_SIMPLE.to_string())];
        if same {
            headers.extend(self.cfg.creds.authorization().map(|a| ("Authorization".to_string(), a)));
        }
        let url = match &self.cfg.relay {
            Some(relay) if same => relay.with_query_pair("upstream", page.as_str()),
            _ => page,
        };
        Request { method: Method::Get, url, headers, body: Body::Empty }
    }

    fn index_request(&mut self, file: usize, attempt: u32) {
        let Some(index) = self.lookup_index() else { return self.send(file) };
        let page = self.index_page(&index, file);
        self.index_fetch(file, page, attempt, 0);
    }

    fn index_fetch(&mut self, file: usize, page: Url, attempt: u32, redirects: u32) {
        let request = self.index_get(page.clone());
        self.files[file].state = St::Index { attempt, url: page, redirects };
        let id = self.id();
        self.pending.insert(id, Pending::Index(file));
        self.out.push_back(Action::Request { id, file: Some(file), request });
    }

    /// Reads an index page: present (with a sha256 or not), absent, or unknown (an error).
    fn index_verdict(&self, file: usize, reply: &Reply) -> Result<Existing, (String, Option<Kind>, bool)> {
        match reply.status {
            200..=299 => {
                if crate::response::looks_like_sign_in(&reply.body) {
                    return Err(("a sign-in page answered instead of the index".into(), Some(Kind::Auth), false));
                }
                let ct = reply.header("content-type").unwrap_or_default();
                simple::find(&reply.body, ct, &self.files[file].spec.name).map_err(|e| (e.0, None, false))
            }
            // No such project yet.
            404 | 410 => Ok(Existing::Absent),
            401 | 403 => Err((format!("it refused the credentials, HTTP {}", reply.status), Some(Kind::Auth), false)),
            408 | 429 | 500..=599 => Err((format!("HTTP {}", reply.status), None, true)),
            s => Err((format!("HTTP {s}"), None, false)),
        }
    }

    fn index_reply(&mut self, file: usize, reply: &Reply) {
        if let (300..=399, St::Index { attempt, url, redirects }) = (reply.status, &self.files[file].state) {
            let to = reply.header("location").and_then(|l| url.join(l).ok());
            match to {
                // The same index under another spelling of the path: follow it, a few times.
                Some((to, false)) if to.same_origin(url) && *redirects < 3 && &to != url => {
                    let (attempt, redirects) = (*attempt, *redirects + 1);
                    return self.index_fetch(file, to, attempt, redirects);
                }
                // pypiserver sends projects it does not host to its fallback index (PyPI):
                // the project is not on this registry.
                Some((to, false)) if !to.same_origin(url) => return self.decide_existing(file, &Existing::Absent),
                _ => return self.index_failed(file, &format!("HTTP {} with no usable Location", reply.status), None, None),
            }
        }
        match self.index_verdict(file, reply) {
            Ok(existing) => self.decide_existing(file, &existing),
            Err((why, kind, retry)) => {
                let wait = if retry { publish::retry_after_ms(reply) } else { None };
                self.index_failed(file, &why, kind, (retry || wait.is_some()).then_some(wait));
            }
        }
    }

    /// `retry`: worth another attempt, after the index's own `Retry-After` when it gave one.
    fn index_failed(&mut self, file: usize, why: &str, kind: Option<Kind>, retry: Option<Option<u64>>) {
        let St::Index { attempt, .. } = self.files[file].state else { return };
        if let (Some(after), true) = (retry, attempt < self.cfg.policy.max_attempts) {
            let ms = match after {
                Some(ms) => ms.min(self.cfg.policy.max_delay_ms),
                None => self.backoff_ms(attempt),
            };
            let id = self.id();
            self.timers.insert(id, Pending::Index(file));
            let reason = self.secrets.clean(&format!("the index did not answer ({why}); attempt {} of {}", attempt + 1, self.cfg.policy.max_attempts));
            self.out.push_back(Action::Wait { id, ms, file: Some(file), reason });
            return;
        }
        let index = self.lookup_index().map(|u| u.to_string()).unwrap_or_default();
        let name = self.files[file].spec.name.clone();
        let mut r = Report::failed(
            &name,
            kind.unwrap_or(Kind::IndexCheck),
            format!("not sent: the check URL {index} could not be read ({why}), so whether {name} is already there is unknown"),
        );
        r.hint = Some(if kind == Some(Kind::Auth) {
            format!("the check URL {index} refused the credentials: fix them, or point {{check-url}} at an index they can read")
        } else {
            format!("an unreadable check URL is never taken as \"not there\": try again later, fix {{check-url}} ({index}), or publish without skipping")
        });
        r.attempts = 0;
        self.finish(file, r);
    }

    fn decide_existing(&mut self, file: usize, existing: &Existing) {
        let index = self.lookup_index().map(|u| u.to_string()).unwrap_or_default();
        let e = &self.files[file];
        let ours = e.digests.as_ref().map(|d| d.sha256.clone()).unwrap_or_default();
        let name = e.spec.name.clone();
        if e.digests.is_none() && matches!(existing, Existing::Present { sha256: Some(_) }) {
            // Listed with a sha256: only now is the file read whole, to tell a skip from a
            // conflict. Listed without one, reading it could tell nothing.
            let e = &mut self.files[file];
            e.found = Some(existing.clone());
            e.state = St::Hashing;
            self.out.push_back(Action::Hash { file });
            return;
        }
        let r = match existing {
            Existing::Absent => return self.send(file),
            Existing::Present { sha256: Some(h) } if *h == ours => {
                Report { hint: Some(format!("already in {index} with the same sha256")), verified: Some(true), ..Report::new(&name, Status::Skipped) }
            }
            Existing::Present { sha256: Some(h) } => Report {
                hint: Some(format!(
                    "a different file with this name is already in {index} (sha256 {h}, ours {ours}); registries never let a name be reused: bump the version"
                )),
                kind: Some(Kind::Conflict),
                ..Report::new(&name, Status::Failed)
            },
            Existing::Present { sha256: None } => Report {
                hint: Some(format!("already listed in {index}, which gives no sha256 to compare: not sent, but not verified to be this file")),
                verified: Some(false),
                ..Report::new(&name, Status::Skipped)
            },
        };
        self.finish(file, r);
    }

    fn send(&mut self, file: usize) {
        let e = &self.files[file];
        let (Some(dist), Some(md)) = (&e.dist, &e.metadata) else {
            let r = Report::failed(&e.spec.name, Kind::Other, "internal: a file was sent before it was read");
            return self.finish(file, r);
        };
        // Without digests yet, the form carries placeholders of the right length and the
        // digest fields go after the file, filled in by the shell as it sends.
        let (trailing, placeholder): (&[&str], DigestSet) = match (&e.digests, self.cfg.trailing) {
            (Some(_), _) | (None, Trailing::Off) => (&[], DigestSet::default()),
            (None, Trailing::All) => (&TRAILING_FIELDS, DigestSet::placeholder()),
        };
        let d = e.digests.as_ref().unwrap_or(&placeholder);
        let mut form = Form::new(dist, md, d);
        if !trailing.is_empty() {
            form.fields.retain(|f| !TRAILING_FIELDS.contains(&f.name.as_str()) || trailing.contains(&f.name.as_str()));
        }
        if let Err(why) = form.add_attestations(&e.spec.attestations) {
            let r = Report::failed(&e.spec.name, Kind::Input, format!("{}: {why}", e.spec.name));
            return self.finish(file, r);
        }
        let entropy = self.draw();
        let e = &self.files[file];
        let plan = match MultipartPlan::with_trailing(&form, &e.spec.name, e.spec.size, &entropy, trailing) {
            Ok(p) => p,
            Err(why) => {
                let r = Report::failed(&e.spec.name, Kind::Multipart, why.to_string());
                return self.finish(file, r);
            }
        };
        if self.cfg.dry_run {
            let r = Report {
                hint: Some(format!("dry run: {} bytes would be sent to {}", plan.content_length(), self.cfg.creds.url)),
                ..Report::new(&e.spec.name, Status::Skipped)
            };
            return self.finish(file, r);
        }
        let mut machine = Upload::new(&e.spec.name, &self.cfg.creds.url, self.cfg.policy).in_job(self.job.clone());
        self.files[file].plan = Some(plan);
        let action = machine.start();
        self.files[file].state = St::Sending(Box::new(machine));
        self.upload_action(file, action);
    }

    fn upload_action(&mut self, file: usize, action: publish::Action) {
        match action {
            publish::Action::Send { url, .. } => {
                let e = &self.files[file];
                let Some(plan) = e.plan.clone() else { return };
                let mut headers = vec![("Accept".to_string(), ACCEPT.to_string()), ("Content-Type".to_string(), plan.content_type())];
                // The machine follows same-origin redirects only; credentials go nowhere else.
                if url.same_origin(&self.cfg.creds.url) {
                    headers.extend(self.cfg.creds.authorization().map(|a| ("Authorization".to_string(), a)));
                }
                let target = match &self.cfg.relay {
                    Some(relay) => relay.with_query_pair("upstream", url.as_str()),
                    None => url,
                };
                // A file read twice (hashed, then sent with its digests first) is checked as it is
                // sent, whatever its kind: a file on disk rewritten in place with its old mtime
                // (`cp -p`, `rsync --inplace`) passes every other check and would go up with
                // digests that are not its bytes'.
                let verify_sha256 = if e.spec.changeable || plan.trailing.is_empty() {
                    e.digests.as_ref().map(|d| d.sha256.clone()).or_else(|| e.spec.expected_sha256.clone())
                } else {
                    None
                };
                let request = Request { method: Method::Post, url: target, headers, body: Body::Upload { file, plan, verify_sha256 } };
                let id = self.id();
                self.pending.insert(id, Pending::Upload(file));
                self.out.push_back(Action::Request { id, file: Some(file), request });
            }
            publish::Action::Wait { ms, reason } => {
                let id = self.id();
                self.timers.insert(id, Pending::Upload(file));
                let reason = self.secrets.clean(&reason);
                self.out.push_back(Action::Wait { id, ms, file: Some(file), reason });
            }
            publish::Action::Verify { registry } => {
                let St::Sending(machine) = std::mem::replace(&mut self.files[file].state, St::Finished) else { return };
                self.files[file].state = St::Verifying(machine);
                let index =
                    self.cfg.check_url.clone().or_else(|| registry::index_for(&self.cfg.creds.url, pick(registry, registry::detect(&self.cfg.creds.url))));
                match index {
                    Some(index) => {
                        let request = self.index_get(self.index_page(&index, file));
                        let id = self.id();
                        self.pending.insert(id, Pending::Verify(file));
                        self.out.push_back(Action::Request { id, file: Some(file), request });
                    }
                    None => {
                        let St::Verifying(machine) = &mut self.files[file].state else { return };
                        let action = machine.on_verified(None);
                        self.upload_action(file, action);
                    }
                }
            }
            publish::Action::Done(r) => self.finish(file, r),
        }
    }

    /// Completes a file's report, masks and escapes it, and queues it.
    fn finish(&mut self, file: usize, mut r: Report) {
        if self.order.first() == Some(&file) && r.kind == Some(Kind::Source) {
            self.lead_failed = true;
        }
        let e = &mut self.files[file];
        e.state = St::Finished;
        if r.sha256.is_none() {
            r.sha256 = e.digests.as_ref().map(|d| d.sha256.clone());
        }
        if r.status == Status::Uploaded || r.status == Status::Skipped {
            if let Some(d) = &e.dist {
                let reg = registry::detect(&self.cfg.creds.url);
                r.project_url = registry::project_page(&self.cfg.creds.url, reg, &d.normalized_name, &d.version);
            }
        }
        if self.cfg.verbose && r.response.is_none() {
            r.response = e.last_reply.take();
        }
        if r.warnings.is_empty() {
            r.warnings = std::mem::take(&mut e.warnings);
        }
        if r.kind.is_some() && r.hint.is_none() {
            r.hint = r.kind.and_then(Kind::hint).map(str::to_string);
        }
        let r = clean_report(r, &self.secrets, self.cfg.surface);
        self.out.push_back(Action::Report(r));
        // A finished file needs none of this again; kept, a batch of 500 held every file's
        // metadata and multipart head (its description twice) until the end.
        let e = &mut self.files[file];
        e.metadata = None;
        e.plan = None;
        e.last_reply = None;
        e.spec.attestations = Vec::new();
    }
}

/// Reads and checks one file's metadata member, PyPI's own checks included; gives the metadata
/// and what PyPI would warn about.
fn check(e: &Entry, bytes: &[u8]) -> Result<(Metadata, Vec<String>), Box<Report>> {
    let name = &e.spec.name;
    let dist = e.dist.as_ref().ok_or_else(|| refused(name, Kind::Filename, "no file name"))?;
    let wrap = |source| crate::Error::Metadata { file: name.clone(), source };
    let md = Metadata::parse(bytes).map_err(|s| {
        let err = wrap(s);
        refused(name, err.kind(), &err.to_string())
    })?;
    md.check_filename(dist).map_err(|s| {
        let err = wrap(s);
        refused(name, err.kind(), &err.to_string())
    })?;
    // Attestations are checked with the metadata, so a broken one stops the batch before sending.
    let mut probe = Form { fields: Vec::new() };
    probe.add_attestations(&e.spec.attestations).map_err(|why| refused(name, Kind::Input, &format!("{name}: {why}")))?;
    if let Some(d) = &e.spec.digests {
        if d.checked().as_ref() != Some(d) || d.len != e.spec.size {
            return Err(Box::new(refused(name, Kind::Input, &format!("{name}: the digests given with it do not describe a file of {} bytes", e.spec.size))));
        }
    }
    let (blocking, warnings): (Vec<Finding>, Vec<Finding>) = crate::checks::check_metadata(&md).into_iter().partition(|f| f.blocking);
    if !blocking.is_empty() {
        let list: Vec<String> = blocking.iter().map(Finding::describe).collect();
        let mut r = refused(name, Kind::Metadata, &format!("{name}: PyPI would refuse its metadata: {}", list.join("; ")));
        r.warnings = warnings.iter().map(Finding::describe).collect();
        return Err(Box::new(r));
    }
    Ok((md, warnings.iter().map(Finding::describe).collect()))
}

fn refused(name: &str, kind: Kind, why: &str) -> Report {
    Report::failed(name, kind, why)
}

fn pick(from_reply: Registry, from_url: Registry) -> Registry {
    if from_reply == Registry::Unknown {
        from_url
    } else {
        from_reply
    }
}

fn raw_response(reply: &Reply) -> RawResponse {
    RawResponse { status: reply.status, status_text: reply.reason.clone(), headers: reply.headers.clone(), body: reply.text(), truncated: reply.truncated }
}

/// Masks and escapes every string of a report, and words its hint for the surface.
pub fn clean_report(mut r: Report, secrets: &Secrets, surface: Surface) -> Report {
    let line = |s: &mut Option<String>| {
        if let Some(v) = s {
            *v = secrets.clean(v);
        }
    };
    // The file's own name is the caller's, never a secret: escaped, not masked.
    r.filename = crate::mask::escape_line(&r.filename);
    r.hint = r.hint.map(|h| surface.render(&h));
    line(&mut r.hint);
    line(&mut r.server_message);
    line(&mut r.error);
    line(&mut r.project_url);
    r.warnings = r.warnings.iter().map(|w| secrets.clean(w)).collect();
    if let Some(raw) = &mut r.response {
        raw.status_text = secrets.clean(&raw.status_text);
        raw.headers = raw.headers.iter().map(|(k, v)| (secrets.clean(k), secrets.clean(v))).collect();
        raw.body = secrets.clean_block(&raw.body);
    }
    r
}
