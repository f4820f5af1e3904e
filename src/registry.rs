//! Which registry a URL points at, and URLs made safe to show.

use serde::Serialize;

/// A registry family whose replies we know how to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Registry {
    /// upload.pypi.org and the old pypi.python.org.
    Pypi,
    /// test.pypi.org.
    TestPypi,
    /// GitLab's project package registry.
    GitLab,
    /// pypiserver (known by its replies).
    Pypiserver,
    /// devpi-server (known by its headers).
    Devpi,
    /// Sonatype Nexus.
    Nexus,
    /// JFrog Artifactory.
    Artifactory,
    /// AWS CodeArtifact.
    CodeArtifact,
    /// Azure Artifacts.
    Azure,
    /// Google Artifact Registry.
    GoogleAr,
    /// Gitea or Forgejo.
    Gitea,
    /// Cloudsmith.
    Cloudsmith,
    /// Anything else.
    Unknown,
}

/// The parts of a URL we look at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlParts<'a> {
    /// Lowercase-insensitive host, without port or credentials.
    pub host: &'a str,
    /// Path, from the first `/` (query dropped).
    pub path: &'a str,
}

/// Splits `scheme://user:pass@host:port/path?query` into host and path.
pub fn url_parts(url: &str) -> UrlParts<'_> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let path = path.split(['?', '#']).next().unwrap_or("/");
    let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if hostport.starts_with('[') {
        hostport.split_inclusive(']').next().unwrap_or(hostport)
    } else {
        hostport.split(':').next().unwrap_or(hostport)
    };
    UrlParts { host, path }
}

/// The URL with any `user:password@` removed, safe to print.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..end].rsplit_once('@') {
        Some((_, host)) => format!("{scheme}://{host}{}", &rest[end..]),
        None => url.to_string(),
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

/// Guesses the registry from its upload URL.
pub fn detect(url: &str) -> Registry {
    let UrlParts { host, path } = url_parts(url);
    let host = host.to_ascii_lowercase();
    let path = path.to_ascii_lowercase();
    if host == "test.pypi.org" {
        Registry::TestPypi
    } else if matches!(host.as_str(), "upload.pypi.org" | "pypi.org" | "pypi.python.org" | "files.pythonhosted.org") {
        Registry::Pypi
    } else if path.contains("/api/v4/projects/") || path.contains("/api/v4/groups/") {
        Registry::GitLab
    } else if path.contains("/artifactory/") || path.contains("/api/pypi/") {
        Registry::Artifactory
    } else if host.contains(".codeartifact.") && host.ends_with(".amazonaws.com") {
        Registry::CodeArtifact
    } else if host == "pkgs.dev.azure.com" || host.ends_with(".pkgs.visualstudio.com") || path.contains("/_packaging/") {
        Registry::Azure
    } else if host.ends_with("-python.pkg.dev") {
        Registry::GoogleAr
    } else if path.contains("/api/packages/") && path.trim_end_matches('/').ends_with("/pypi") {
        Registry::Gitea
    } else if host == "python.cloudsmith.io" {
        Registry::Cloudsmith
    } else if path.starts_with("/repository/") {
        Registry::Nexus
    } else {
        Registry::Unknown
    }
}

/// The page where people see a release, for registries that have one (twine's "View at").
pub fn project_page(upload_url: &str, normalized_name: &str, version: &str) -> Option<String> {
    let origin = |u: &str| {
        let (scheme, rest) = u.split_once("://")?;
        let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
        Some(format!("{scheme}://{}", authority.rsplit_once('@').map_or(authority, |(_, h)| h)))
    };
    match detect(upload_url) {
        Registry::Pypi => Some(format!("https://pypi.org/project/{normalized_name}/{version}/")),
        Registry::TestPypi => Some(format!("https://test.pypi.org/project/{normalized_name}/{version}/")),
        Registry::GitLab => {
            let path = url_parts(upload_url).path;
            let (prefix, rest) = path.split_once("/api/v4/projects/")?;
            let project = percent_decode(rest.split('/').next()?);
            let base = format!("{}{prefix}", origin(upload_url)?);
            if project.is_empty() {
                None
            } else if project.bytes().all(|b| b.is_ascii_digit()) {
                // GitLab redirects /projects/:id to the project.
                Some(format!("{base}/projects/{project}"))
            } else {
                Some(format!("{base}/{project}/-/packages"))
            }
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_pages_for_registries_that_have_them() {
        assert_eq!(project_page("https://upload.pypi.org/legacy/", "pp-demo", "1.0").as_deref(), Some("https://pypi.org/project/pp-demo/1.0/"));
        assert_eq!(project_page("https://test.pypi.org/legacy/", "x", "2").as_deref(), Some("https://test.pypi.org/project/x/2/"));
        assert_eq!(
            project_page("https://tok:secret@gitlab.example.com/api/v4/projects/grp%2Fsub%2Fapp/packages/pypi", "app", "1").as_deref(),
            Some("https://gitlab.example.com/grp/sub/app/-/packages")
        );
        assert_eq!(project_page("https://git.example.com/gitlab/api/v4/projects/42/packages/pypi", "a", "1").as_deref(), Some("https://git.example.com/gitlab/projects/42"));
        assert_eq!(project_page("http://127.0.0.1:8080/", "a", "1"), None);
    }

    #[test]
    fn detects_each_registry_from_its_documented_url() {
        for (url, reg) in [
            ("https://upload.pypi.org/legacy/", Registry::Pypi),
            ("https://test.pypi.org/legacy/", Registry::TestPypi),
            ("https://gitlab.example.com/api/v4/projects/42/packages/pypi", Registry::GitLab),
            ("https://acme.jfrog.io/artifactory/api/pypi/pypi-local", Registry::Artifactory),
            ("https://dom-111122223333.d.codeartifact.us-east-1.amazonaws.com/pypi/repo/", Registry::CodeArtifact),
            ("https://pkgs.dev.azure.com/org/proj/_packaging/feed/pypi/upload/", Registry::Azure),
            ("https://europe-west1-python.pkg.dev/proj/repo/", Registry::GoogleAr),
            ("https://gitea.example.com/api/packages/owner/pypi", Registry::Gitea),
            ("https://python.cloudsmith.io/owner/repo/", Registry::Cloudsmith),
            ("https://nexus.example.com/repository/pypi-hosted/", Registry::Nexus),
            ("http://127.0.0.1:8080/", Registry::Unknown),
        ] {
            assert_eq!(detect(url), reg, "{url}");
        }
    }

    #[test]
    fn credentials_never_survive_redaction() {
        assert_eq!(redact_url("https://__token__:pypi-SECRET@upload.pypi.org/legacy/"), "https://upload.pypi.org/legacy/");
        assert_eq!(redact_url("http://u:p@h:1/x?y=@z"), "http://h:1/x?y=@z");
        assert_eq!(url_parts("http://u:p@h:1/x?y").host, "h");
        assert_eq!(url_parts("http://[::1]:8080/a").host, "[::1]");
    }
}
