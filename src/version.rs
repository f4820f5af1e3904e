//! PEP 440 version parsing, just enough to normalize and validate versions.
//!
//! Filenames and metadata may spell one version differently (`1.0-beta1` vs `1.0b1`); comparing
//! the normalized forms is what PyPI does, so a mismatch we report is a real one.

/// A parsed PEP 440 version, kept as its normalized parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pep440 {
    epoch: String,
    release: Vec<String>,
    pre: Option<(&'static str, String)>,
    post: Option<String>,
    dev: Option<String>,
    local: Option<String>,
}

/// Parses `text` as a PEP 440 version; `None` when it is not one.
pub fn parse(text: &str) -> Option<Pep440> {
    let s = text.trim().to_ascii_lowercase();
    let mut p = Cursor { s: s.as_bytes(), i: 0 };
    p.eat(b'v');
    let mut epoch = "0".to_string();
    let save = p.i;
    if let Some(n) = p.number() {
        if p.eat(b'!') {
            epoch = n;
        } else {
            p.i = save;
        }
    }
    let mut release = vec![p.number()?];
    while p.peek() == Some(b'.') && p.peek_at(1).is_some_and(|c| c.is_ascii_digit()) {
        p.i += 1;
        release.push(p.number()?);
    }
    let mut pre = None;
    let save = p.i;
    p.separator();
    if let Some(label) = p.word(&[("alpha", "a"), ("beta", "b"), ("preview", "rc"), ("pre", "rc"), ("rc", "rc"), ("c", "rc"), ("a", "a"), ("b", "b")]) {
        p.separator();
        pre = Some((label, p.number().unwrap_or_else(zero)));
    } else {
        p.i = save;
    }
    let mut post = None;
    let save = p.i;
    if p.eat(b'-') && p.peek().is_some_and(|c| c.is_ascii_digit()) {
        post = p.number();
    } else {
        p.i = save;
        p.separator();
        if p.word(&[("post", "post"), ("rev", "post"), ("r", "post")]).is_some() {
            p.separator();
            post = Some(p.number().unwrap_or_else(zero));
        } else {
            p.i = save;
        }
    }
    let mut dev = None;
    let save = p.i;
    p.separator();
    if p.word(&[("dev", "dev")]).is_some() {
        p.separator();
        dev = Some(p.number().unwrap_or_else(zero));
    } else {
        p.i = save;
    }
    let mut local = None;
    if p.eat(b'+') {
        let rest = std::str::from_utf8(&p.s[p.i..]).ok()?;
        if rest.split(['.', '-', '_']).any(str::is_empty) {
            return None;
        }
        let parts: Vec<String> = rest
            .split(['.', '-', '_'])
            .map(|part| if part.bytes().all(|c| c.is_ascii_digit()) { part.trim_start_matches('0').to_string().max_zero() } else { part.to_string() })
            .collect();
        if parts.iter().any(|x| x.is_empty() || !x.bytes().all(|c| c.is_ascii_alphanumeric())) {
            return None;
        }
        local = Some(parts.join("."));
        p.i = p.s.len();
    }
    if p.i != p.s.len() {
        return None;
    }
    Some(Pep440 { epoch, release, pre, post, dev, local })
}

trait MaxZero {
    fn max_zero(self) -> String;
}

impl MaxZero for String {
    fn max_zero(self) -> String {
        if self.is_empty() {
            "0".into()
        } else {
            self
        }
    }
}

/// The normalized spelling of `text` when it is a PEP 440 version, else `text` as it is.
pub fn normalize(text: &str) -> String {
    parse(text).map(|v| v.to_string()).unwrap_or_else(|| text.to_string())
}

impl std::fmt::Display for Pep440 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.epoch != "0" {
            write!(f, "{}!", self.epoch)?;
        }
        f.write_str(&self.release.join("."))?;
        if let Some((label, n)) = &self.pre {
            write!(f, "{label}{n}")?;
        }
        if let Some(n) = &self.post {
            write!(f, ".post{n}")?;
        }
        if let Some(n) = &self.dev {
            write!(f, ".dev{n}")?;
        }
        if let Some(local) = &self.local {
            write!(f, "+{local}")?;
        }
        Ok(())
    }
}

fn zero() -> String {
    "0".to_string()
}

struct Cursor<'a> {
    s: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn peek_at(&self, k: usize) -> Option<u8> {
        self.s.get(self.i + k).copied()
    }
    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn separator(&mut self) {
        if matches!(self.peek(), Some(b'.' | b'-' | b'_')) {
            self.i += 1;
        }
    }
    /// A run of digits, leading zeros dropped; kept as text so no length overflows.
    fn number(&mut self) -> Option<String> {
        let start = self.i;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
        }
        if start == self.i {
            return None;
        }
        let digits = std::str::from_utf8(&self.s[start..self.i]).ok()?.trim_start_matches('0');
        Some(if digits.is_empty() { zero() } else { digits.to_string() })
    }
    fn word(&mut self, words: &[(&str, &'static str)]) -> Option<&'static str> {
        for (word, canon) in words {
            if self.s[self.i..].starts_with(word.as_bytes()) {
                self.i += word.len();
                return Some(canon);
            }
        }
        None
    }
}
