//! The vocabulary every shell shares: what happened to a file, why, and what to do, worded for
//! the surface it is shown on.

use serde::{Deserialize, Serialize};

/// Why something failed (or, for `notSent`, why it was not tried). One enum for every layer,
/// serialised as the `kind` JS and `--json` see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Kind {
    /// The caller's options or files are unusable.
    Input,
    /// The file name is not a distribution's.
    Filename,
    /// The archive could not be read.
    Archive,
    /// The metadata is invalid (or PyPI would refuse it).
    Metadata,
    /// The file name, archive and metadata disagree.
    Mismatch,
    /// The body could not be framed.
    Multipart,
    /// The file could not be read, or changed while it was read.
    Source,
    /// Credentials missing, wrong, or without permission.
    Auth,
    /// Nothing (visible to us) at this URL.
    NotFound,
    /// The URL is not an upload endpoint.
    WrongEndpoint,
    /// The registry refused the file or its metadata.
    Invalid,
    /// A different file (or one we cannot tell apart) already has this name.
    Conflict,
    /// The file is too large for the registry.
    TooLarge,
    /// The registry redirected where we do not follow.
    Redirect,
    /// Too many requests; try later.
    RateLimited,
    /// The registry failed.
    Server,
    /// No reply: refused, reset, or (in a browser) blocked by CORS.
    Network,
    /// Nothing moved for longer than the stall timeout.
    Timeout,
    /// Anything else.
    Other,
    /// Not sent because another file of the batch failed before anything was sent.
    NotSent,
    /// The caller cancelled.
    Cancelled,
    /// Trusted publishing could not get a token.
    TrustedPublishing,
    /// The preflight request found a problem before anything was sent.
    Preflight,
    /// The simple index could not be read, so whether the file is there is unknown.
    IndexCheck,
}

impl Kind {
    /// The camelCase name, as serialised.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Input => "input",
            Kind::Filename => "filename",
            Kind::Archive => "archive",
            Kind::Metadata => "metadata",
            Kind::Mismatch => "mismatch",
            Kind::Multipart => "multipart",
            Kind::Source => "source",
            Kind::Auth => "auth",
            Kind::NotFound => "notFound",
            Kind::WrongEndpoint => "wrongEndpoint",
            Kind::Invalid => "invalid",
            Kind::Conflict => "conflict",
            Kind::TooLarge => "tooLarge",
            Kind::Redirect => "redirect",
            Kind::RateLimited => "rateLimited",
            Kind::Server => "server",
            Kind::Network => "network",
            Kind::Timeout => "timeout",
            Kind::Other => "other",
            Kind::NotSent => "notSent",
            Kind::Cancelled => "cancelled",
            Kind::TrustedPublishing => "trustedPublishing",
            Kind::Preflight => "preflight",
            Kind::IndexCheck => "indexCheck",
        }
    }

    /// Every kind, for the TypeScript union's test.
    pub const ALL: [Kind; 24] = [
        Kind::Input,
        Kind::Filename,
        Kind::Archive,
        Kind::Metadata,
        Kind::Mismatch,
        Kind::Multipart,
        Kind::Source,
        Kind::Auth,
        Kind::NotFound,
        Kind::WrongEndpoint,
        Kind::Invalid,
        Kind::Conflict,
        Kind::TooLarge,
        Kind::Redirect,
        Kind::RateLimited,
        Kind::Server,
        Kind::Network,
        Kind::Timeout,
        Kind::Other,
        Kind::NotSent,
        Kind::Cancelled,
        Kind::TrustedPublishing,
        Kind::Preflight,
        Kind::IndexCheck,
    ];

    /// Whether trying the same thing again later may help (a file that could not be read may
    /// be readable again; a malformed one never is).
    pub fn retryable(self) -> bool {
        matches!(self, Kind::Source | Kind::Network | Kind::Timeout | Kind::Server | Kind::RateLimited | Kind::IndexCheck)
    }

    /// What to do about a file refused before sending, the same on every surface.
    pub fn hint(self) -> Option<&'static str> {
        Some(match self {
            Kind::Filename => "distribution file names are name-version(-build)-python-abi-platform.whl, name-version.tar.gz or a legacy name-version.zip",
            Kind::Metadata => "fix the project's metadata (pyproject.toml) and rebuild with `python -m build`",
            Kind::Archive | Kind::Mismatch => {
                "rebuild the distribution with `python -m build` rather than renaming or editing it: the file name, the archive and its metadata must agree"
            }
            Kind::Source => "the file was moved or changed while it was read: leave it in place until the upload is done and run it again (on the page, choose the file again)",
            _ => return None,
        })
    }
}

/// The final state of one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Stored by this run.
    Uploaded,
    /// Already there; nothing needed.
    Skipped,
    /// Not stored.
    Failed,
}

/// A registry's reply as it is shown with `--verbose`: masked and escaped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RawResponse {
    /// HTTP status.
    pub status: u16,
    /// Reason phrase.
    pub status_text: String,
    /// Headers.
    pub headers: Vec<(String, String)>,
    /// The body (the first MiB at most).
    pub body: String,
    /// True when the body was longer than what was kept.
    pub truncated: bool,
}

/// What happened to one file, as every shell reports it. Built by the engine, whose strings
/// are masked and escaped before they leave it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// The file's name as given.
    pub filename: String,
    /// Uploaded, skipped or failed.
    pub status: Status,
    /// The last HTTP status, when there was a reply.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    /// The server's own words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_message: Option<String>,
    /// What to do about it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// What went wrong when there was no reply (or before any request).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<Kind>,
    /// The file's sha256, once hashed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Upload requests sent.
    pub attempts: u32,
    /// Whether trying again later may help.
    pub retryable: bool,
    /// For a skip: false when the registry's "already there" could not be checked against our
    /// file (no index to compare with).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verified: Option<bool>,
    /// The last raw reply, with `verbose`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<RawResponse>,
    /// Where the release can be seen (PyPI, TestPyPI, GitLab).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project_url: Option<String>,
    /// What PyPI's checks found that does not stop the upload (a deprecated classifier, a
    /// license id spelled in another case).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl Report {
    /// A report with only the status filled in.
    pub fn new(filename: &str, status: Status) -> Self {
        Report {
            filename: filename.to_string(),
            status,
            http_status: None,
            server_message: None,
            hint: None,
            error: None,
            kind: None,
            sha256: None,
            attempts: 0,
            retryable: false,
            verified: None,
            response: None,
            project_url: None,
            warnings: Vec::new(),
        }
    }

    /// A failure before any reply.
    pub fn failed(filename: &str, kind: Kind, error: impl Into<String>) -> Self {
        Report { kind: Some(kind), error: Some(error.into()), ..Report::new(filename, Status::Failed) }
    }
}

/// Where a hint is shown, so it can name that surface's own controls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Surface {
    /// The `publish()` API.
    #[default]
    Api,
    /// The command line.
    Cli,
    /// The drag-and-drop page.
    Page,
    /// The edge release hook.
    Hook,
}

/// Settings a hint may point to; each surface names them its own way.
const OPTIONS: &[(&str, [&str; 4])] = &[
    // key: [api, cli, page, hook]
    (
        "skip-existing",
        ["`skipExisting: true`", "--skip-existing", "“Skip files the registry already has”", "PYPUBLISH_CHECK_URL (the hook skips what that index lists)"],
    ),
    ("check-url", ["`checkUrl`", "--check-url", "the index URL", "PYPUBLISH_CHECK_URL"]),
    ("token", ["`token`", "--token (or PYPUBLISH_TOKEN)", "the “Password or token” field", "PYPUBLISH_TOKEN"]),
    (
        "credentials",
        [
            "`username`/`password` or `token`",
            "-u/-p or --token",
            "the username and password fields",
            "PYPUBLISH_USERNAME/PYPUBLISH_PASSWORD or PYPUBLISH_TOKEN",
        ],
    ),
    ("repository-url", ["`repositoryUrl`", "--repository-url", "the upload URL", "PYPUBLISH_REPOSITORY_URL"]),
    ("trusted-never", ["`trustedPublishing: \"never\"`", "--trusted-publishing never", "a token", "PYPUBLISH_TRUSTED_PUBLISHING=never"]),
    ("timeout", ["`timeoutMs`", "--timeout", "a steadier connection", "PYPUBLISH_TIMEOUT"]),
];

impl Surface {
    /// Parses `api`, `cli`, `page` or `hook`.
    pub fn parse(s: &str) -> Option<Surface> {
        Some(match s {
            "api" => Surface::Api,
            "cli" => Surface::Cli,
            "page" => Surface::Page,
            "hook" => Surface::Hook,
            _ => return None,
        })
    }

    /// Replaces `{skip-existing}`-style placeholders with this surface's name for the setting.
    pub fn render(self, text: &str) -> String {
        if !text.contains('{') {
            return text.to_string();
        }
        let i = self as usize;
        let mut out = text.to_string();
        for (key, names) in OPTIONS {
            let slot = format!("{{{key}}}");
            if out.contains(&slot) {
                out = out.replace(&slot, names[i]);
            }
        }
        out
    }
}
