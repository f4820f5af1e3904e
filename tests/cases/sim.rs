//! A simulated registry and network that drive the batch engine deterministically: every
//! action is performed at once, in order, against scripted servers, with a virtual clock.

use std::collections::{BTreeMap, VecDeque};

use pypublish::batch::{Action, Batch, Config, FileSpec, Options, Trailing};
use pypublish::digest::digest_bytes;
use pypublish::http::{Body, Method, NoReply, Reply, Request};
use pypublish::report::Report;

use crate::common::{demo_metadata, tar_gz_with, zip_with};

/// The simulated clock at the start of every run: 2026-11-26.
pub const NOW_MS: u64 = 1_795_651_200_000;

/// A distribution: its name and bytes.
#[derive(Clone)]
pub struct Dist {
    pub name: String,
    pub bytes: Vec<u8>,
    /// What every whole read after the first gives (a source that changed), if it differs.
    pub second_read: Option<Vec<u8>>,
    /// How many of its first hashing reads are cut half way (a download its host broke off).
    pub hash_cuts: u32,
}

/// A wheel of project `name` version `version`.
pub fn wheel(name: &str, version: &str) -> Dist {
    let md = demo_metadata(name, version);
    let bytes = zip_with(&[(&format!("{name}-{version}.dist-info/METADATA"), &md, true), (&format!("{name}/__init__.py"), b"x = 1\n", true)]);
    Dist { name: format!("{name}-{version}-py3-none-any.whl"), bytes, second_read: None, hash_cuts: 0 }
}

/// An sdist of project `name` version `version`.
pub fn sdist(name: &str, version: &str) -> Dist {
    let md = demo_metadata(name, version);
    let bytes = tar_gz_with(&[(&format!("{name}-{version}/PKG-INFO"), &md)]);
    Dist { name: format!("{name}-{version}.tar.gz"), bytes, second_read: None, hash_cuts: 0 }
}

/// A request as the server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: &'static str,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
    /// The multipart field `name`'s value.
    pub fn field(&self, name: &str) -> Option<String> {
        let text = String::from_utf8_lossy(&self.body);
        let marker = format!("name=\"{name}\"");
        let at = text.find(&marker)?;
        let rest = &text[at..];
        let start = rest.find("\r\n\r\n")? + 4;
        let end = rest[start..].find("\r\n--")? + start;
        Some(rest[start..end].to_string())
    }
    /// The file part's bytes.
    pub fn content(&self) -> Vec<u8> {
        let marker = b"name=\"content\"";
        let at = self.body.windows(marker.len()).position(|w| w == marker).unwrap();
        let start = at + self.body[at..].windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        let boundary = self.header("content-type").unwrap().split("boundary=").nth(1).unwrap().trim_matches('"');
        assert!(self.body.ends_with(format!("\r\n--{boundary}--\r\n").as_bytes()), "the body ends with its closing boundary");
        let delimiter = format!("\r\n--{boundary}");
        let end = start + self.body[start..].windows(delimiter.len()).position(|w| w == delimiter.as_bytes()).unwrap();
        self.body[start..end].to_vec()
    }
}

/// What a scripted server does with one request.
pub enum Answer {
    Reply(Reply),
    NoReply(NoReply),
}

/// A reply with a status, headers and body.
pub fn reply(status: u16, headers: &[(&str, &str)], body: &str) -> Answer {
    Answer::Reply(Reply {
        status,
        reason: String::new(),
        headers: headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        body: body.as_bytes().to_vec(),
        truncated: false,
        now_ms: 0,
    })
}

type Handler = Box<dyn FnMut(&Seen, &mut Store) -> Answer>;

/// Files a simulated registry stored: name → bytes.
#[derive(Default, Debug)]
pub struct Store {
    pub files: BTreeMap<String, Vec<u8>>,
}

/// The network: one scripted handler per origin (`http://host:port`).
pub struct Net {
    handlers: BTreeMap<String, Handler>,
    pub seen: Vec<Seen>,
    pub store: Store,
    pub clock_ms: u64,
    pub waits: Vec<u64>,
}

impl Net {
    pub fn new() -> Self {
        Net { handlers: BTreeMap::new(), seen: Vec::new(), store: Store::default(), clock_ms: 0, waits: Vec::new() }
    }
    /// Serves `origin` with `f`.
    pub fn serve(mut self, origin: &str, f: impl FnMut(&Seen, &mut Store) -> Answer + 'static) -> Self {
        self.handlers.insert(origin.to_string(), Box::new(f));
        self
    }
    /// Requests that reached `origin`.
    pub fn to(&self, origin: &str) -> Vec<&Seen> {
        self.seen.iter().filter(|s| s.url.starts_with(origin)).collect()
    }
    pub fn posts(&self) -> Vec<&Seen> {
        self.seen.iter().filter(|s| s.method == "POST").collect()
    }
}

/// A registry that stores what it is sent: 200 on a new file, `conflict` on a taken name.
pub fn registry(conflict: impl Fn(&str, &[u8], &[u8]) -> Answer + 'static) -> impl FnMut(&Seen, &mut Store) -> Answer {
    move |seen, store| {
        if seen.method != "POST" {
            return reply(404, &[], "not found");
        }
        let name = filename_of(seen);
        let content = seen.content();
        if let Some(old) = store.files.get(&name) {
            return conflict(&name, old, &content);
        }
        store.files.insert(name, content);
        reply(200, &[], "")
    }
}

pub fn filename_of(seen: &Seen) -> String {
    let text = String::from_utf8_lossy(&seen.body);
    let at = text.find("filename=\"").unwrap() + 10;
    text[at..].split('"').next().unwrap().to_string()
}

/// What happened.
pub struct Run {
    pub reports: Vec<Report>,
    pub net: Net,
    pub hashed: usize,
    /// Uploads whose digests followed the file part.
    pub trailing_sends: usize,
    /// Whole reads of each file (hashing passes and bodies sent), as an asset host counts GETs.
    pub whole_reads: Vec<usize>,
    /// The most metadata reads, and the most hashing passes, asked for and not yet answered.
    pub most_reads: usize,
    pub most_hashes: usize,
}

impl Run {
    pub fn report(&self, name: &str) -> &Report {
        self.reports.iter().find(|r| r.filename == name).unwrap_or_else(|| panic!("no report for {name}: {:?}", self.reports))
    }
}

/// Options with the repository URL set.
pub fn options(url: &str) -> Options {
    Options { repository_url: Some(url.into()), retries: Some(3.0), ..Options::default() }
}

/// When to cancel.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum CancelAt {
    Never,
    FirstWait,
}

/// Runs a batch to its end, over a transport that sends Blobs (digests first).
pub fn run(opts: Options, env: Vec<(String, String)>, dists: &[Dist], net: Net) -> Run {
    run_with(opts, env, dists, net, CancelAt::Never, |_| {})
}

/// Runs a batch, changing the file specs with `specs` first.
pub fn run_with(opts: Options, env: Vec<(String, String)>, dists: &[Dist], net: Net, cancel: CancelAt, specs: impl Fn(&mut Vec<FileSpec>)) -> Run {
    run_over(Trailing::Off, opts, env, dists, net, cancel, specs)
}

/// Runs a batch over a transport that can hash while it sends (`trailing`).
pub fn run_over(
    trailing: Trailing,
    opts: Options,
    env: Vec<(String, String)>,
    dists: &[Dist],
    mut net: Net,
    cancel: CancelAt,
    specs: impl Fn(&mut Vec<FileSpec>),
) -> Run {
    let cfg = Config::from_options(&opts, env).expect("options").with_trailing(trailing, opts.digests_first).at(NOW_MS);
    let mut files: Vec<FileSpec> = dists.iter().map(|d| FileSpec { name: d.name.clone(), size: d.bytes.len() as u64, ..FileSpec::default() }).collect();
    specs(&mut files);
    let changeable: Vec<bool> = files.iter().map(|f| f.changeable).collect();
    let mut batch = Batch::new(cfg, files, [7; 32]).expect("batch");
    let mut reports = Vec::new();
    let mut hashed = 0;
    let mut whole_reads = vec![0usize; dists.len()];
    // A source that is read anew each time gives `second_read` from its second whole read on.
    let mut read_whole = |file: usize| {
        whole_reads[file] += 1;
        let d = &dists[file];
        match &d.second_read {
            Some(other) if changeable[file] && whole_reads[file] > 1 => other.clone(),
            _ => d.bytes.clone(),
        }
    };
    let mut steps = 0;
    let mut trailing_sends = 0;
    let mut cuts: Vec<u32> = dists.iter().map(|d| d.hash_cuts).collect();
    // Every action asked for so far, performed oldest first (the engine's own order), so that
    // what it asks for at once can be counted.
    let mut asked: VecDeque<Action> = VecDeque::new();
    let (mut most_reads, mut most_hashes) = (0, 0);
    loop {
        steps += 1;
        assert!(steps < 10_000, "the engine does not finish");
        while let Some(a) = batch.poll() {
            asked.push_back(a);
        }
        most_reads = most_reads.max(asked.iter().filter(|a| matches!(a, Action::Read { .. })).count());
        most_hashes = most_hashes.max(asked.iter().filter(|a| matches!(a, Action::Hash { .. })).count());
        let Some(action) = asked.pop_front() else { panic!("the engine stalled with no action and no Done") };
        match action {
            Action::Read { file, offset, len } => {
                let b = &dists[file].bytes;
                let start = (offset as usize).min(b.len());
                let end = (offset.saturating_add(len) as usize).min(b.len());
                batch.on_read(file, offset, Ok(b[start..end].to_vec()));
            }
            Action::Hash { file } => {
                hashed += 1;
                if cuts[file] > 0 {
                    cuts[file] -= 1;
                    batch.on_hash_cut(file, "terminated".into());
                    continue;
                }
                batch.on_hashed(file, Ok(digest_bytes(&read_whole(file))));
            }
            Action::Request { id, request, .. } => {
                let body = match &request.body {
                    Body::Empty => Vec::new(),
                    Body::Text(t) => t.as_bytes().to_vec(),
                    Body::Upload { file, plan, verify_sha256 } => {
                        let bytes = read_whole(*file);
                        let sent = digest_bytes(&bytes);
                        if let Some(want) = verify_sha256 {
                            if sent.sha256 != *want {
                                // The shell cuts the body before the closing boundary: nothing stored.
                                batch.on_no_reply(id, NoReply::Source("the bytes sent differ from those hashed".into()));
                                continue;
                            }
                        }
                        if plan.trailing.is_empty() {
                            plan.to_bytes(&bytes)
                        } else {
                            // Hashed as it is sent; the digests follow the file part.
                            trailing_sends += 1;
                            batch.on_body_digests(*file, sent.clone());
                            [plan.head.clone(), bytes.clone(), plan.tail_for(&sent)].concat()
                        }
                    }
                };
                let seen = Seen {
                    method: match request.method {
                        Method::Get => "GET",
                        Method::Post => "POST",
                    },
                    url: request.url.to_string(),
                    headers: request.headers.clone(),
                    body,
                };
                answer(&mut batch, &mut net, id, &request, seen);
            }
            Action::Wait { id, ms, .. } => {
                net.waits.push(ms);
                if cancel == CancelAt::FirstWait {
                    batch.cancel();
                    continue;
                }
                net.clock_ms += ms;
                batch.on_timer(id);
            }
            Action::Report(r) => reports.push(r),
            Action::Done => break,
        }
    }
    assert!(batch.poll().is_none() && asked.is_empty(), "actions after Done");
    assert_eq!(reports.len(), dists.len(), "one report per file: {reports:?}");
    Run { reports, net, hashed, trailing_sends, whole_reads, most_reads, most_hashes }
}

fn answer(batch: &mut Batch, net: &mut Net, id: u64, request: &Request, seen: Seen) {
    let origin = request.url.origin().show();
    net.seen.push(seen.clone());
    let result = match net.handlers.get_mut(&origin) {
        Some(h) => h(&seen, &mut net.store),
        None => Answer::NoReply(NoReply::Network(format!("connection refused ({origin})"))),
    };
    match result {
        Answer::Reply(mut r) => {
            r.now_ms = net.clock_ms;
            batch.on_reply(id, r)
        }
        Answer::NoReply(n) => batch.on_no_reply(id, n),
    }
}
