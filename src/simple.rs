//! Skip-existing done right: look the file up in the registry's simple index and compare
//! sha256, rather than guess from the wording of a refusal.

use crate::url::{percent_decode, Url};

/// The `Accept` header for simple index pages: PEP 691 JSON first, PEP 503 HTML otherwise.
pub const ACCEPT_SIMPLE: &str = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.1";

/// What the simple index says about our file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Existing {
    /// Not listed.
    Absent,
    /// Listed; with the sha256 the index gives, when it gives one.
    Present {
        /// Lowercase hex, when known.
        sha256: Option<String>,
    },
}

/// The project page under a simple index URL (`…/simple/<normalized-name>/`).
pub fn project_url(index: &Url, normalized_name: &str) -> Url {
    index.with_path(&format!("{}/{normalized_name}/", index.path().trim_end_matches('/')))
}

/// The longest href a project page link is read for; file URLs are far shorter.
const MAX_HREF: usize = 4096;

fn floor_char_boundary(s: &str, max: usize) -> usize {
    if s.len() <= max {
        return s.len();
    }
    let mut i = max;
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Why a project page could not be read: the file's presence is unknown, never "absent".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Unreadable(pub String);

/// Finds `filename` in a project page (PEP 691 JSON or PEP 503 HTML).
pub fn find(body: &[u8], content_type: &str, filename: &str) -> Result<Existing, Unreadable> {
    let text = String::from_utf8_lossy(body);
    let ct = content_type.to_ascii_lowercase();
    if ct.contains("json") || text.trim_start().starts_with('{') {
        let v = serde_json::from_str::<serde_json::Value>(&text).map_err(|e| Unreadable(format!("the index page is not valid JSON ({e})")))?;
        let files = v.get("files").and_then(|f| f.as_array()).ok_or_else(|| Unreadable("the index page has no `files` list".into()))?;
        for f in files {
            if f.get("filename").and_then(|n| n.as_str()) == Some(filename) {
                let sha256 = f.get("hashes").and_then(|h| h.get("sha256")).and_then(|h| h.as_str()).map(str::to_ascii_lowercase);
                return Ok(Existing::Present { sha256 });
            }
        }
        return Ok(Existing::Absent);
    }
    if !(ct.contains("html") || ct.is_empty() || text.trim_start().starts_with('<')) {
        return Err(Unreadable(format!("the index answered {content_type:?}, not a PEP 691 or PEP 503 page")));
    }
    // PEP 503: <a href="…/filename#sha256=…">filename</a>; the name may be URL-encoded in href.
    let mut rest: &str = &text;
    while let Some(i) = rest.find("href=") {
        rest = &rest[i + 5..];
        let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'');
        let window = &rest[..floor_char_boundary(rest, MAX_HREF)];
        // The search goes on after what was read: every byte is looked at a bounded number of
        // times, however the page is made.
        let href = match quote {
            Some(q) => match window[1..].find(q) {
                Some(end) => {
                    rest = &rest[end + 2..];
                    &window[1..1 + end]
                }
                None => {
                    rest = &rest[window.len()..];
                    continue;
                }
            },
            None => {
                let end = window.find([' ', '>', '\t', '\n', '\r']).unwrap_or(window.len());
                rest = &rest[end..];
                &window[..end]
            }
        };
        let (path, fragment) = href.split_once('#').unwrap_or((href, ""));
        let last = path.split('?').next().unwrap_or_default().rsplit('/').next().unwrap_or_default();
        if percent_decode(last) == filename {
            let sha256 = fragment.split('&').find_map(|kv| kv.strip_prefix("sha256=")).map(str::to_ascii_lowercase);
            return Ok(Existing::Present { sha256 });
        }
    }
    Ok(Existing::Absent)
}
