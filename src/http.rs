//! Requests the engine asks the shell to make, and the replies the shell hands back.
//!
//! The engine decides every header, credentials included, so that which origin receives them
//! is decided in one place; the shell only performs the request.

use crate::multipart::MultipartPlan;
use crate::url::Url;

/// The longest reply body the engine keeps; the shell drops the rest and says so.
pub const MAX_REPLY_BODY: usize = 1 << 20;

/// An HTTP method the engine uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// GET.
    Get,
    /// POST.
    Post,
}

impl Method {
    /// `GET` or `POST`.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
        }
    }
}

/// A request body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// None.
    Empty,
    /// Text (JSON for trusted publishing).
    Text(String),
    /// A multipart upload: head bytes, file `file` of the batch, tail bytes.
    Upload {
        /// Index of the file in the batch.
        file: usize,
        /// The framing around the file.
        plan: MultipartPlan,
        /// When set, the bytes sent must hash to this sha256, or the body is cut before the
        /// closing boundary (a source that may change between reads).
        verify_sha256: Option<String>,
    },
}

/// One request for the shell to make. Redirects are never followed by the shell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// GET or POST.
    pub method: Method,
    /// Where to; already through the relay when one is configured.
    pub url: Url,
    /// Every header to send, `Authorization` included when the engine decided so.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Body,
}

/// A reply as the shell received it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reply {
    /// The status as sent, any number (999 too).
    pub status: u16,
    /// Reason phrase; empty under HTTP/2.
    pub reason: String,
    /// Headers, names in any case.
    pub headers: Vec<(String, String)>,
    /// The body's first [`MAX_REPLY_BODY`] bytes.
    pub body: Vec<u8>,
    /// True when the body was longer than what was kept.
    pub truncated: bool,
    /// The shell's clock when the reply came, in ms since the Unix epoch (for `Retry-After`
    /// dates when the reply has no `Date`).
    pub now_ms: u64,
}

impl Reply {
    /// The first header of that name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Why a request got no reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoReply {
    /// Refused, reset, DNS, TLS, or (in a browser) CORS.
    Network(String),
    /// No bytes moved for the stall timeout.
    Stalled(String),
    /// The source gave other bytes than were hashed; the body was cut before its end.
    Source(String),
    /// The source could not be opened or read while sending (a download cut by its host, a
    /// file moved); the body was cut before its end. Another attempt reads it again, and a
    /// source that changed meanwhile is then caught by its digests.
    Unread(String),
    /// The hasher beside the body (a caller's, in another thread) failed; the body was cut
    /// before its end. Unlike a source that changed, another attempt may do.
    Hasher(String),
    /// The caller cancelled.
    Cancelled,
}
