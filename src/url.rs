//! Every URL the engine parses, resolves, compares, redacts or shows, on the `url` crate.
//!
//! `fetch` parses URLs by the WHATWG URL Standard, and so does the `url` crate: a URL that we
//! judge same-origin is the URL fetch will contact. Hand-split URLs disagreed with fetch about
//! `http://a:1\@b:2/` (fetch contacts `a`) and `https:///host/` (fetch contacts `host`), which
//! let a hostile redirect take the credentials elsewhere. Credentials are split off at parse
//! time, so a [`Url`] can be shown, logged or compared without leaking them.

use std::fmt;

/// A parsed http(s) URL without credentials.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Url(::url::Url);

/// Credentials found in a URL's userinfo, percent-decoded.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Userinfo {
    /// The username (possibly empty).
    pub username: String,
    /// The password, when one was given.
    pub password: Option<String>,
}

impl fmt::Debug for Userinfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Userinfo").field("username", &self.username).field("password", &self.password.as_ref().map(|_| "<redacted>")).finish()
    }
}

/// Why a string is not a usable URL. Never carries the input's credentials.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    /// Not a URL at all (by the WHATWG rules fetch uses).
    #[error("{shown:?} is not a valid URL ({why})")]
    Invalid {
        /// The input with anything that may be credentials masked.
        shown: String,
        /// The parser's reason.
        why: String,
    },
    /// A URL, but not http or https.
    #[error("{shown:?} is not an http:// or https:// URL")]
    Scheme {
        /// The URL without credentials.
        shown: String,
    },
}

/// The origin of a URL as fetch compares it: scheme, host and port (default ports explicit).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Origin(::url::Origin);

impl Origin {
    /// `scheme://host:port`, for messages.
    pub fn show(&self) -> String {
        self.0.ascii_serialization()
    }
}

impl Url {
    /// Parses an http(s) URL and splits off its userinfo.
    pub fn parse_with_userinfo(input: &str) -> Result<(Url, Option<Userinfo>), UrlError> {
        let mut u = ::url::Url::parse(input.trim()).map_err(|e| UrlError::Invalid { shown: mask_unparsed(input), why: reason(e) })?;
        let info = take_userinfo(&mut u);
        if !matches!(u.scheme(), "http" | "https") {
            return Err(UrlError::Scheme { shown: u.to_string() });
        }
        Ok((Url(u), info))
    }

    /// Parses an http(s) URL; any userinfo is dropped (callers that want it use
    /// [`Url::parse_with_userinfo`]).
    pub fn parse(input: &str) -> Result<Url, UrlError> {
        Self::parse_with_userinfo(input).map(|(u, _)| u)
    }

    /// Resolves `reference` (a `Location` header, say) against this URL as fetch does. The
    /// second value says whether the reference carried credentials of its own, which are dropped.
    pub fn join(&self, reference: &str) -> Result<(Url, bool), UrlError> {
        let mut u = self.0.join(reference).map_err(|e| UrlError::Invalid { shown: mask_unparsed(reference), why: reason(e) })?;
        let had = take_userinfo(&mut u).is_some();
        if !matches!(u.scheme(), "http" | "https") {
            return Err(UrlError::Scheme { shown: u.to_string() });
        }
        Ok((Url(u), had))
    }

    /// The origin, as fetch compares them.
    pub fn origin(&self) -> Origin {
        Origin(self.0.origin())
    }

    /// True when both URLs have the same scheme, host and port.
    pub fn same_origin(&self, other: &Url) -> bool {
        self.origin() == other.origin()
    }

    /// The whole URL, credentials never included.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// `http` or `https`.
    pub fn scheme(&self) -> &str {
        self.0.scheme()
    }

    /// True for https.
    pub fn is_https(&self) -> bool {
        self.0.scheme() == "https"
    }

    /// The host as serialized (lowercase; IPv6 in brackets; IDNA in punycode).
    pub fn host(&self) -> &str {
        self.0.host_str().unwrap_or_default()
    }

    /// The path, percent-encoded as in the URL.
    pub fn path(&self) -> &str {
        self.0.path()
    }

    /// True when the host is a loopback address or `localhost` (where plain http is normal).
    pub fn is_local(&self) -> bool {
        match self.0.host() {
            Some(::url::Host::Ipv4(a)) => a.is_loopback(),
            Some(::url::Host::Ipv6(a)) => a.is_loopback(),
            Some(::url::Host::Domain(d)) => d == "localhost" || d.ends_with(".localhost"),
            None => false,
        }
    }

    /// This URL with another path (and no query or fragment).
    pub fn with_path(&self, path: &str) -> Url {
        let mut u = self.0.clone();
        u.set_path(path);
        u.set_query(None);
        u.set_fragment(None);
        Url(u)
    }

    /// This URL with `key=value` appended to its query, percent-encoded.
    pub fn with_query_pair(&self, key: &str, value: &str) -> Url {
        let mut u = self.0.clone();
        u.query_pairs_mut().append_pair(key, value);
        Url(u)
    }

    /// The path's segments, percent-decoded.
    pub fn segments(&self) -> Vec<String> {
        self.0.path_segments().map(|s| s.map(percent_decode).collect()).unwrap_or_default()
    }

    /// The path's segments as written (still percent-encoded).
    pub fn raw_segments(&self) -> Vec<&str> {
        self.0.path_segments().map(|s| s.collect()).unwrap_or_default()
    }
}

impl fmt::Display for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_str())
    }
}

impl fmt::Debug for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Url({})", self.0.as_str())
    }
}

fn take_userinfo(u: &mut ::url::Url) -> Option<Userinfo> {
    if u.username().is_empty() && u.password().is_none() {
        return None;
    }
    let info = Userinfo { username: percent_decode(u.username()), password: u.password().map(percent_decode) };
    // Only "cannot-be-a-base" URLs refuse these, and they have no userinfo to begin with.
    let _ = u.set_username("");
    let _ = u.set_password(None);
    Some(info)
}

/// The input of a URL that did not parse, with everything that could be userinfo masked: the
/// text between the scheme and the last `@` before the path, by any reading of the slashes.
/// The parser's reason, with the way out where there is one: the package carries no IDNA
/// mapping tables (they doubled its size), so a host with non-ASCII letters is refused.
fn reason(e: ::url::ParseError) -> String {
    match e {
        ::url::ParseError::IdnaError => "a host name with non-ASCII letters: give it in its punycode (xn--) form".to_string(),
        e => e.to_string(),
    }
}

fn mask_unparsed(input: &str) -> String {
    let input = input.trim();
    let Some(at) = input.rfind('@') else { return input.to_string() };
    let start = input.find(':').map_or(0, |c| c + 1);
    let start = start + input[start..].bytes().take_while(|b| matches!(b, b'/' | b'\\')).count();
    if start >= at {
        return format!("***{}", &input[at..]);
    }
    format!("{}***{}", &input[..start], &input[at..])
}

/// Shows any string that is meant to be a URL without credentials: parsed when it parses
/// (whatever its scheme), masked by [`mask_unparsed`] when it does not.
pub fn redact(input: &str) -> String {
    match ::url::Url::parse(input.trim()) {
        Ok(mut u) => {
            take_userinfo(&mut u);
            u.to_string()
        }
        Err(_) => mask_unparsed(input),
    }
}

/// Decodes `%XX` escapes (invalid ones are kept as they are).
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
