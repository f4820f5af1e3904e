//! Skip-existing done right: look the file up in the registry's simple index and compare
//! sha256, rather than guess from the wording of a refusal.

use crate::registry::{detect, url_parts, Registry};

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

/// The simple index that belongs to an upload URL, where the registry's layout tells it.
pub fn check_url_for(upload_url: &str) -> Option<String> {
    let UrlParts2 { base, path } = split(upload_url)?;
    let trimmed = path.trim_end_matches('/');
    let url = match detect(upload_url) {
        Registry::Pypi => "https://pypi.org/simple/".to_string(),
        Registry::TestPypi => "https://test.pypi.org/simple/".to_string(),
        Registry::GitLab if trimmed.ends_with("/packages/pypi") && trimmed.contains("/projects/") => format!("{base}{trimmed}/simple/"),
        Registry::Gitea | Registry::Artifactory | Registry::CodeArtifact | Registry::GoogleAr | Registry::Nexus => format!("{base}{trimmed}/simple/"),
        Registry::Azure => format!("{base}{}/simple/", trimmed.strip_suffix("/upload").unwrap_or(trimmed)),
        _ => return None,
    };
    Some(url)
}

struct UrlParts2<'a> {
    base: String,
    path: &'a str,
}

fn split(url: &str) -> Option<UrlParts2<'_>> {
    let (scheme, rest) = url.split_once("://")?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let host = rest[..end].rsplit_once('@').map_or(&rest[..end], |(_, h)| h);
    let path = rest[end..].split(['?', '#']).next().unwrap_or_default();
    Some(UrlParts2 { base: format!("{scheme}://{host}"), path })
}

/// The project page under a simple index URL (`…/simple/<normalized-name>/`).
pub fn project_url(check_url: &str, normalized_name: &str) -> String {
    format!("{}/{normalized_name}/", check_url.trim_end_matches('/'))
}

/// Whether credentials may go to `check_url`: only to the upload URL's own origin.
pub fn same_origin(upload_url: &str, check_url: &str) -> bool {
    crate::publish::origin(upload_url) == crate::publish::origin(check_url) && !url_parts(check_url).host.is_empty()
}

/// Finds `filename` in a project page (PEP 691 JSON or PEP 503 HTML).
pub fn find(body: &[u8], content_type: &str, filename: &str) -> Existing {
    let text = String::from_utf8_lossy(body);
    if content_type.contains("json") || text.trim_start().starts_with('{') {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) else { return Existing::Absent };
        let files = v.get("files").and_then(|f| f.as_array()).cloned().unwrap_or_default();
        for f in files {
            if f.get("filename").and_then(|n| n.as_str()) == Some(filename) {
                let sha256 = f.get("hashes").and_then(|h| h.get("sha256")).and_then(|h| h.as_str()).map(str::to_ascii_lowercase);
                return Existing::Present { sha256 };
            }
        }
        return Existing::Absent;
    }
    // PEP 503: <a href="…/filename#sha256=…">filename</a>; the name may be URL-encoded in href.
    let mut rest: &str = &text;
    while let Some(i) = rest.find("href=") {
        rest = &rest[i + 5..];
        let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'');
        let href = match quote {
            Some(q) => rest[1..].split(q).next().unwrap_or_default(),
            None => rest.split([' ', '>']).next().unwrap_or_default(),
        };
        let (path, fragment) = href.split_once('#').unwrap_or((href, ""));
        let last = path.split('?').next().unwrap_or_default().rsplit('/').next().unwrap_or_default();
        if crate::registry::percent_decode(last) == filename {
            let sha256 = fragment.split('&').find_map(|kv| kv.strip_prefix("sha256=")).map(str::to_ascii_lowercase);
            return Existing::Present { sha256 };
        }
    }
    Existing::Absent
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_files_in_pep_691_json_and_pep_503_html() {
        let json = br#"{"meta":{"api-version":"1.1"},"name":"demo","files":[{"filename":"demo-1.0.tar.gz","url":"x","hashes":{"sha256":"ABC"}}]}"#;
        assert_eq!(find(json, "application/vnd.pypi.simple.v1+json", "demo-1.0.tar.gz"), Existing::Present { sha256: Some("abc".into()) });
        assert_eq!(find(json, "application/vnd.pypi.simple.v1+json", "demo-1.1.tar.gz"), Existing::Absent);
        let html = br#"<html><body><a href="../../packages/demo%2B1-1.0.tar.gz#sha256=def">demo+1-1.0.tar.gz</a><br>
            <a href='/p/demo-1.0-py3-none-any.whl'>demo-1.0-py3-none-any.whl</a></body></html>"#;
        assert_eq!(find(html, "text/html", "demo+1-1.0.tar.gz"), Existing::Present { sha256: Some("def".into()) });
        assert_eq!(find(html, "text/html", "demo-1.0-py3-none-any.whl"), Existing::Present { sha256: None });
        assert_eq!(find(html, "text/html", "other-1.0.tar.gz"), Existing::Absent);
    }

    #[test]
    fn derives_the_simple_index_of_known_registries() {
        assert_eq!(check_url_for("https://upload.pypi.org/legacy/").as_deref(), Some("https://pypi.org/simple/"));
        assert_eq!(
            check_url_for("https://gitlab.example.com/api/v4/projects/42/packages/pypi").as_deref(),
            Some("https://gitlab.example.com/api/v4/projects/42/packages/pypi/simple/")
        );
        assert_eq!(
            check_url_for("https://pkgs.dev.azure.com/o/p/_packaging/f/pypi/upload/").as_deref(),
            Some("https://pkgs.dev.azure.com/o/p/_packaging/f/pypi/simple/")
        );
        assert_eq!(check_url_for("http://127.0.0.1:8080/"), None);
        assert_eq!(project_url("https://pypi.org/simple/", "demo"), "https://pypi.org/simple/demo/");
        assert!(!same_origin("https://upload.pypi.org/legacy/", "https://pypi.org/simple/"));
        assert!(same_origin("http://u:p@127.0.0.1:8080/", "http://127.0.0.1:8080/simple/"));
    }
}
