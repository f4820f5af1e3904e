//! The one step every string passes before it leaves the engine: credentials masked, control
//! characters escaped.
//!
//! A registry may echo the request back (headers included), a proxy may paste the URL into its
//! error page, and a hostile server may send escape sequences that clear a terminal or print a
//! fake "uploaded" line. Reports, errors, hints and raw replies therefore go through
//! [`Secrets::clean`] (one line) or [`Secrets::clean_block`] (a raw body), whatever their source.

use std::fmt;
use std::fmt::Write as _;

/// What a masked secret is replaced with.
pub const MASK: &str = "********";

/// Secrets shorter than this are masked only where they stand apart from letters and digits.
pub const SHORT: usize = 4;

/// The secrets of one run, in every form they take on the wire.
#[derive(Clone, Default)]
pub struct Secrets {
    forms: Vec<String>,
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secrets({} forms)", self.forms.len())
    }
}

impl Secrets {
    /// No secrets yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// True when nothing is to be masked.
    pub fn is_empty(&self) -> bool {
        self.forms.is_empty()
    }

    /// Adds a secret (a password or token) of any length, and the forms a server may echo it
    /// in: percent-encoded as in a URL or a form, JSON-escaped, HTML-escaped.
    pub fn add(&mut self, secret: &str) {
        if secret.is_empty() {
            return;
        }
        let json = serde_json::to_string(secret).unwrap_or_default();
        let forms = [
            secret.to_string(),
            percent_encode(secret, false),
            percent_encode(secret, true),
            json.get(1..json.len().saturating_sub(1)).unwrap_or_default().to_string(),
            userinfo_encode(secret),
            secret.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#x27;"),
        ];
        for f in forms {
            self.push(f);
        }
    }

    /// Adds HTTP Basic credentials: the password's forms and the header's base64 value.
    pub fn add_basic(&mut self, username: &str, password: &str) {
        self.add(password);
        let b64 = base64(format!("{username}:{password}").as_bytes());
        self.push(b64.trim_end_matches('=').to_string());
        self.push(b64);
    }

    /// Adds every form of `other`.
    pub fn extend(&mut self, other: &Secrets) {
        for f in &other.forms {
            self.push(f.clone());
        }
    }

    fn push(&mut self, form: String) {
        if !form.is_empty() && !self.forms.contains(&form) {
            // Longest first: a longer form that contains a shorter one is masked whole. Inserted
            // in place (a sort here cost the wasm package ~4 KB of code).
            let at = self.forms.partition_point(|f| f.len() >= form.len());
            self.forms.insert(at, form);
        }
    }

    /// `text` with every occurrence of every form replaced by [`MASK`]. A form shorter than
    /// [`SHORT`] characters is masked wherever it stands apart from letters and digits: a
    /// one-letter password is hidden in `password=p` and `u:p@h`, and `py3` stays readable.
    pub fn mask(&self, text: &str) -> String {
        if self.forms.is_empty() {
            return text.to_string();
        }
        let alnum_at = |i: usize| text[i..].chars().next().is_some_and(|c| c.is_alphanumeric());
        let alnum_before = |i: usize| text[..i].chars().next_back().is_some_and(|c| c.is_alphanumeric());
        let mut spans: Vec<(usize, usize)> = Vec::new();
        for f in &self.forms {
            let short = f.chars().count() < SHORT;
            spans.extend(text.match_indices(f.as_str()).map(|(i, m)| (i, i + m.len())).filter(|&(i, j)| !short || !(alnum_before(i) || alnum_at(j))));
        }
        if spans.is_empty() {
            return text.to_string();
        }
        spans.sort_unstable();
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for (start, end) in spans {
            if end <= at {
                continue;
            }
            if start >= at {
                out.push_str(&text[at..start]);
                out.push_str(MASK);
            }
            at = end;
        }
        out.push_str(&text[at..]);
        out
    }

    /// One line for people: masked (URL userinfo too), with every control character escaped
    /// (newlines too).
    pub fn clean(&self, text: &str) -> String {
        escape_line(&mask_userinfo(&self.mask(text)))
    }

    /// A block for people (a raw reply body): masked (URL userinfo too), control characters
    /// escaped but `\n` and `\t` (CRLF line ends become `\n`).
    pub fn clean_block(&self, text: &str) -> String {
        escape_block(&mask_userinfo(&self.mask(text)))
    }
}

/// `text` with the userinfo of every URL in it masked (`https://u:p@h/` → `https://********@h/`),
/// whoever's credentials they are: a reply may carry someone's URL back, a redirect its own.
pub fn mask_userinfo(text: &str) -> String {
    if !text.contains("://") || !text.contains('@') {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (before, after) = rest.split_at(i + 3);
        out.push_str(before);
        // The authority ends where a path, query, fragment or the text around the URL begins.
        let end = after.find(|c: char| matches!(c, '/' | '\\' | '?' | '#' | '"' | '\'' | '<' | '>' | '`') || c.is_whitespace()).unwrap_or(after.len());
        match after[..end].rfind('@') {
            Some(at) => {
                out.push_str(MASK);
                out.push_str(&after[at..end]);
            }
            None => out.push_str(&after[..end]),
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// Characters that move the cursor, talk to the terminal or reorder text on screen.
fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{061C}' | '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}')
}

fn escape(c: char, out: &mut String) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
    }
}

/// `text` with every control or bidi character written as an escape (`\n`, `\u{1b}`).
pub fn escape_line(text: &str) -> String {
    if !text.chars().any(is_unsafe) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if is_unsafe(c) {
            escape(c, &mut out);
        } else {
            out.push(c);
        }
    }
    out
}

/// Like [`escape_line`] but keeps line breaks and tabs.
pub fn escape_block(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' | '\t' => out.push(c),
            c if is_unsafe(c) => escape(c, &mut out),
            c => out.push(c),
        }
    }
    out
}

/// The secret as the WHATWG parser writes it in a URL's userinfo.
fn userinfo_encode(s: &str) -> String {
    let Ok(mut u) = ::url::Url::parse("http://h/") else { return String::new() };
    if u.set_password(Some(s)).is_err() {
        return String::new();
    }
    u.password().unwrap_or_default().to_string()
}

/// Percent-encodes everything but unreserved characters; `plus` writes spaces as `+`, as
/// forms do.
fn percent_encode(s: &str, plus: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => out.push(b as char),
            b' ' if plus => out.push('+'),
            b => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}

/// base64 in either alphabet (standard or URL-safe), padding optional: as pymacaroons reads a
/// token and as a JWT's parts are written.
pub fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let s = s.trim_end_matches('=');
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' | b'+' => 62,
            b'_' | b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    // One leftover character (6 bits) cannot encode a byte.
    (bits < 6).then_some(out)
}

/// Standard base64 with padding.
pub fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |acc, (i, &b)| acc | (b as u32) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
