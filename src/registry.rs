//! Which registry a URL points at, and what its layout tells: the simple index, the project page.

use serde::Serialize;

use crate::url::Url;

/// A registry family whose replies we know how to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
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

/// Guesses the registry from its upload URL.
pub fn detect(url: &Url) -> Registry {
    let host = url.host();
    let path = url.path().to_ascii_lowercase();
    if host == "test.pypi.org" {
        Registry::TestPypi
    } else if matches!(host, "upload.pypi.org" | "pypi.org" | "pypi.python.org" | "files.pythonhosted.org") {
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

/// The GitLab project in a project-level upload URL: `(prefix before /api/v4, id or path)`.
pub fn gitlab_project(url: &Url) -> Option<(String, String)> {
    let segs = url.raw_segments();
    let i = segs.windows(3).position(|w| w[0] == "api" && w[1] == "v4" && w[2] == "projects")?;
    let project = crate::url::percent_decode(segs.get(i + 3)?);
    if project.is_empty() {
        return None;
    }
    let prefix = segs[..i].iter().map(|s| format!("/{s}")).collect::<String>();
    Some((prefix, project))
}

/// The GitLab CI job the publish runs in, from its predefined variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitLabJob {
    /// `CI_PROJECT_ID`.
    pub project_id: String,
    /// `CI_PROJECT_PATH` (`group/project`).
    pub project_path: String,
}

impl GitLabJob {
    /// The job, when `CI_PROJECT_ID` and `CI_PROJECT_PATH` are set (with `GITLAB_CI`).
    pub fn from_env(env: &[(String, String)]) -> Option<GitLabJob> {
        let get = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).filter(|v| !v.is_empty());
        get("GITLAB_CI")?;
        Some(GitLabJob { project_id: get("CI_PROJECT_ID")?, project_path: get("CI_PROJECT_PATH")? })
    }

    /// True when `target` (an id or a path, as in an upload URL) is this job's own project.
    pub fn is_project(&self, target: &str) -> bool {
        target == self.project_id || target.eq_ignore_ascii_case(&self.project_path)
    }
}

/// The page where people see a release, for registries that have one (twine's "View at").
pub fn project_page(upload: &Url, registry: Registry, normalized_name: &str, version: &str) -> Option<String> {
    match registry {
        Registry::Pypi => Some(format!("https://pypi.org/project/{normalized_name}/{version}/")),
        Registry::TestPypi => Some(format!("https://test.pypi.org/project/{normalized_name}/{version}/")),
        Registry::GitLab => {
            let (prefix, project) = gitlab_project(upload)?;
            let base = upload.with_path(&format!("{prefix}/"));
            let base = base.as_str().trim_end_matches('/');
            if project.bytes().all(|b| b.is_ascii_digit()) {
                // GitLab redirects /projects/:id to the project.
                Some(format!("{base}/projects/{project}"))
            } else {
                Some(format!("{base}/{project}/-/packages"))
            }
        }
        _ => None,
    }
}

/// The simple index that belongs to an upload URL, where the registry's layout tells it.
pub fn index_for(upload: &Url, registry: Registry) -> Option<Url> {
    let path = upload.path().trim_end_matches('/');
    let url = match registry {
        Registry::Pypi => Url::parse("https://pypi.org/simple/").ok()?,
        Registry::TestPypi => Url::parse("https://test.pypi.org/simple/").ok()?,
        Registry::GitLab if path.ends_with("/packages/pypi") && gitlab_project(upload).is_some() => upload.with_path(&format!("{path}/simple/")),
        Registry::Gitea | Registry::Artifactory | Registry::CodeArtifact | Registry::GoogleAr | Registry::Nexus => upload.with_path(&format!("{path}/simple/")),
        Registry::Azure => upload.with_path(&format!("{}/simple/", path.strip_suffix("/upload").unwrap_or(path))),
        // Known from their replies: pypiserver serves /simple/ beside its upload root, devpi
        // `+simple/` under the index.
        Registry::Pypiserver => upload.with_path(&format!("{path}/simple/")),
        Registry::Devpi => upload.with_path(&format!("{path}/+simple/")),
        _ => return None,
    };
    Some(url)
}

/// True where the digest fields may follow the file part, so a streaming sender reads the file
/// once. Each of these parses the whole form before it looks at any field: warehouse
/// (`warehouse/forklift/legacy.py` `file_upload` reads WebOb's `request.POST`, then compares
/// every digest sent with its own), GitLab (workhorse `internal/upload/rewrite.go`
/// `rewriteFormFilesFromMultipart` copies text parts after the file unchanged, and Rails reads
/// the rebuilt form), Gitea (`routers/api/packages/pypi/pypi.go` `UploadPackageFile`, Go's
/// `FormFile` parses all), Nexus (`PyPiHostedHandlers.extractPayloads` loops over all parts);
/// pypiserver and devpi (both parse the whole body, measured live). Artifactory, CodeArtifact,
/// Azure, Google AR and Cloudsmith are closed: twine's order (digests first) there.
pub fn accepts_trailing_digests(registry: Registry) -> bool {
    !matches!(registry, Registry::Artifactory | Registry::CodeArtifact | Registry::Azure | Registry::GoogleAr | Registry::Cloudsmith)
}

/// True for registries whose browser APIs send CORS headers (a page can reach them directly).
pub fn browser_cors(registry: Registry) -> bool {
    matches!(registry, Registry::GitLab)
}
