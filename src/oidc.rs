//! Trusted publishing (PyPI, TestPyPI): audience → the CI's OIDC token → a short-lived API token.
//!
//! Pure decisions and parsing; the shell makes the three requests. Tokens never appear in
//! errors: a failure shows PyPI's error codes and the JWT's claims, which must match the
//! publisher configured on PyPI.

use serde::Serialize;

use crate::http::{Body, Method, Reply, Request};
use crate::mask::Secrets;
use crate::registry::{detect, Registry};
use crate::url::Url;

/// When to use trusted publishing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// On PyPI/TestPyPI, in a CI that can issue tokens, when no credentials were given.
    Auto,
    /// Always (fail if it cannot be done).
    Always,
    /// Never.
    Never,
}

impl Mode {
    /// Parses `auto`, `always` or `never`.
    pub fn parse(s: &str) -> Option<Mode> {
        match s {
            "auto" => Some(Mode::Auto),
            "always" => Some(Mode::Always),
            "never" => Some(Mode::Never),
            _ => None,
        }
    }
}

/// Where the CI's OIDC token comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSource {
    /// GitHub Actions: GET this URL with `Authorization: bearer <request token>`.
    GitHub {
        /// `ACTIONS_ID_TOKEN_REQUEST_URL` with `&audience=…`.
        url: Url,
        /// `ACTIONS_ID_TOKEN_REQUEST_TOKEN`.
        bearer: String,
    },
    /// GitLab CI: the token is already in the environment (`id_tokens:`).
    Ready(String),
}

/// Why trusted publishing failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
pub enum OidcError {
    /// Nothing in the environment can issue a token.
    #[error("trusted publishing needs a CI that issues OIDC tokens: on GitHub Actions give the job `permissions: id-token: write` (not available to pull requests from forks); on GitLab CI declare `id_tokens: {var}: aud: {audience}`")]
    NoAmbientToken {
        /// The GitLab variable we looked for.
        var: String,
        /// The audience asked for.
        audience: String,
    },
    /// The registry does not do trusted publishing.
    #[error("{host} does not offer trusted publishing (HTTP {status} from its audience endpoint); use an API token")]
    NotOffered {
        /// Registry host.
        host: String,
        /// Status.
        status: u16,
    },
    /// The OIDC token would travel unencrypted.
    #[error("trusted publishing needs an https:// upload URL (and token endpoint); {url} is not, and the identity token must not travel unencrypted")]
    NotHttps {
        /// The offending URL.
        url: String,
    },
    /// A reply we could not read.
    #[error("unexpected reply from {what}: {detail}")]
    Unexpected {
        /// Which step.
        what: String,
        /// What was wrong.
        detail: String,
    },
    /// PyPI refused to mint a token.
    #[error("PyPI refused to mint a token ({}); the token's claims were: {}. {diagnosis}", errors.iter().map(|(c, d)| format!("{c}: {d}")).collect::<Vec<_>>().join("; "), claims.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", "))]
    MintRefused {
        /// `(code, description)` pairs from PyPI.
        errors: Vec<(String, String)>,
        /// Selected JWT claims (never the token).
        claims: Vec<(String, String)>,
        /// What PyPI compares, and which part usually differs.
        diagnosis: String,
    },
}

/// True when `url` is a registry that offers trusted publishing.
pub fn supported(url: &Url) -> bool {
    matches!(detect(url), Registry::Pypi | Registry::TestPypi)
}

/// `https://<upload host>/_/oidc/<path>`.
pub fn endpoint(upload: &Url, path: &str) -> Url {
    upload.with_path(&format!("/_/oidc/{path}"))
}

/// Reads `{"audience": "pypi"}`.
pub fn parse_audience(status: u16, body: &str, host: &str) -> Result<String, OidcError> {
    if status != 200 {
        return Err(OidcError::NotOffered { host: host.into(), status });
    }
    let v: serde_json::Value = serde_json::from_str(body).map_err(|e| unexpected("the audience endpoint", e))?;
    v.get("audience")
        .and_then(|a| a.as_str())
        .map(str::to_string)
        .ok_or_else(|| OidcError::Unexpected { what: "the audience endpoint".into(), detail: "no `audience` in the reply".into() })
}

/// Chooses the OIDC token source from the CI's environment.
pub fn token_source(env: &dyn Fn(&str) -> Option<String>, upload_url: &Url, audience: &str) -> Result<TokenSource, OidcError> {
    // An empty variable is an unset one (CI templates often export blanks).
    let env = |k: &str| env(k).filter(|v| !v.is_empty());
    if let (Some(url), Some(bearer)) = (env("ACTIONS_ID_TOKEN_REQUEST_URL"), env("ACTIONS_ID_TOKEN_REQUEST_TOKEN")) {
        let parsed = Url::parse(&url).map_err(|e| OidcError::Unexpected { what: "ACTIONS_ID_TOKEN_REQUEST_URL".into(), detail: e.to_string() })?;
        if !parsed.is_https() {
            return Err(OidcError::NotHttps { url: parsed.to_string() });
        }
        return Ok(TokenSource::GitHub { url: parsed.with_query_pair("audience", audience), bearer });
    }
    let var = if detect(upload_url) == Registry::TestPypi { "TESTPYPI_ID_TOKEN" } else { "PYPI_ID_TOKEN" };
    if let Some(t) = env(var).filter(|t| !t.is_empty()) {
        return Ok(TokenSource::Ready(t));
    }
    Err(OidcError::NoAmbientToken { var: var.into(), audience: audience.into() })
}

/// Whether the environment looks able to issue a token (for `auto`).
pub fn ambient_available(env: &dyn Fn(&str) -> Option<String>) -> bool {
    let env = |k: &str| env(k).filter(|v| !v.is_empty());
    env("ACTIONS_ID_TOKEN_REQUEST_URL").is_some() || env("PYPI_ID_TOKEN").is_some() || env("TESTPYPI_ID_TOKEN").is_some()
}

/// Reads GitHub's `{"value": "<jwt>"}`.
pub fn parse_github_token(status: u16, body: &str) -> Result<String, OidcError> {
    if status != 200 {
        return Err(OidcError::Unexpected { what: "GitHub's token endpoint".into(), detail: format!("HTTP {status}") });
    }
    let v: serde_json::Value = serde_json::from_str(body).map_err(|e| unexpected("GitHub's token endpoint", e))?;
    v.get("value")
        .and_then(|a| a.as_str())
        .map(str::to_string)
        .ok_or_else(|| OidcError::Unexpected { what: "GitHub's token endpoint".into(), detail: "no `value` in the reply".into() })
}

/// The body of the mint-token request.
pub fn mint_body(jwt: &str) -> String {
    serde_json::json!({ "token": jwt }).to_string()
}

/// Reads the mint-token reply: the API token, or PyPI's error codes with the JWT's claims.
pub fn parse_mint(status: u16, body: &str, jwt: &str) -> Result<String, OidcError> {
    let v: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    if status == 200 {
        if let Some(t) = v.get("token").and_then(|t| t.as_str()) {
            return Ok(t.to_string());
        }
    }
    let mut errors: Vec<(String, String)> = v
        .get("errors")
        .and_then(|e| e.as_array())
        .map(|a| {
            a.iter()
                .map(|e| {
                    let s = |k| e.get(k).and_then(|x: &serde_json::Value| x.as_str()).unwrap_or_default().to_string();
                    (s("code"), s("description"))
                })
                .collect()
        })
        .unwrap_or_default();
    if errors.is_empty() {
        let m = v.get("message").and_then(|m| m.as_str()).map(str::to_string).unwrap_or_else(|| format!("HTTP {status}"));
        errors.push(("error".into(), m));
    }
    // PyPI may echo parts of the token in descriptions; never let the token through.
    for (_, d) in &mut errors {
        if !jwt.is_empty() {
            *d = d.replace(jwt, "<token>");
        }
    }
    let claims = claims(jwt);
    let diagnosis = diagnose(&claims);
    Err(OidcError::MintRefused { errors, claims, diagnosis })
}

/// The workflow file name in a `workflow_ref`/`job_workflow_ref` claim
/// (`owner/repo/.github/workflows/release.yml@refs/heads/main` → `release.yml`).
fn workflow_file(claim: &str) -> Option<&str> {
    let end = claim.find(".yml@").map(|i| i + 4).or_else(|| claim.find(".yaml@").map(|i| i + 5))?;
    let start = claim[..end].rfind('/').map_or(0, |i| i + 1);
    Some(&claim[start..end])
}

/// What PyPI matches a GitHub token on (warehouse `oidc/models/github.py`: the repository, its
/// owner, the workflow file named in `job_workflow_ref`, and the environment when the publisher
/// names one), and which of them usually differs.
pub fn diagnose(claims: &[(String, String)]) -> String {
    let get = |k: &str| claims.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let Some(job) = get("job_workflow_ref") else {
        return "They must match the trusted publisher configured for the project on PyPI (for GitLab: the project path, the CI file and the environment)"
            .into();
    };
    let job_file = workflow_file(job).unwrap_or(job);
    let repo = get("repository").unwrap_or("?");
    let env = get("environment").map_or("no environment".to_string(), |e| format!("environment `{e}`"));
    let mut out = format!("PyPI looks for a publisher with repository `{repo}`, workflow `{job_file}` (from job_workflow_ref) and {env}.");
    match get("workflow_ref").and_then(workflow_file) {
        Some(caller) if caller != job_file => out.push_str(&format!(
            " This job runs the reusable workflow `{job_file}`, called from `{caller}`: PyPI compares the publisher's workflow name with `{job_file}`, so the publisher must name that file (in `{}`'s repository settings on PyPI), not `{caller}`.",
            repo
        )),
        _ => out.push_str(" The part that usually differs is the workflow file name or the environment: a publisher configured with an environment accepts only jobs that declare `environment:` with that name."),
    }
    out
}

/// The claims a person compares with the publisher settings on PyPI; never the signature.
pub fn claims(jwt: &str) -> Vec<(String, String)> {
    let Some(payload) = jwt.split('.').nth(1) else { return Vec::new() };
    let Some(bytes) = crate::mask::base64_decode(payload) else { return Vec::new() };
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(&bytes) else { return Vec::new() };
    ["sub", "repository", "repository_owner", "workflow_ref", "job_workflow_ref", "ref", "environment", "project_path", "ci_config_ref_uri"]
        .iter()
        .filter_map(|k| v.get(*k).and_then(|x| x.as_str()).map(|x| (k.to_string(), x.to_string())))
        .collect()
}

fn unexpected(what: &str, e: impl std::fmt::Display) -> OidcError {
    OidcError::Unexpected { what: what.into(), detail: e.to_string() }
}

/// Where a [`Flow`] stands.
#[derive(Debug, Clone, PartialEq, Eq)]
enum FlowState {
    Audience,
    GitHub,
    Mint { jwt: String },
    Over,
}

/// What the trusted-publishing flow needs next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlowStep {
    /// Make this request and hand the reply to [`Flow::on_reply`].
    Request(Request),
    /// The short-lived API token, for user `__token__`.
    Token(String),
    /// It cannot be done.
    Failed(OidcError),
}

/// Trusted publishing as a sans-IO flow: audience, the CI's identity token, mint-token.
#[derive(Debug, Clone)]
pub struct Flow {
    upload: Url,
    env: Vec<(String, String)>,
    state: FlowState,
    secrets: Secrets,
}

impl Flow {
    /// A flow for uploads to `upload`, reading the CI's variables from `env`. The token would
    /// travel in the clear over http, so only https URLs are accepted.
    pub fn new(upload: &Url, env: Vec<(String, String)>) -> Result<Flow, OidcError> {
        if !upload.is_https() {
            return Err(OidcError::NotHttps { url: upload.to_string() });
        }
        let mut secrets = Secrets::new();
        for (k, v) in &env {
            if matches!(k.as_str(), "ACTIONS_ID_TOKEN_REQUEST_TOKEN" | "PYPI_ID_TOKEN" | "TESTPYPI_ID_TOKEN") {
                secrets.add(v);
            }
        }
        Ok(Flow { upload: upload.clone(), env, state: FlowState::Audience, secrets })
    }

    /// Every token seen so far, to be masked wherever text leaves the engine.
    pub fn secrets(&self) -> &Secrets {
        &self.secrets
    }

    fn env(&self, k: &str) -> Option<String> {
        self.env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
    }

    /// The first request: the registry's audience.
    pub fn start(&mut self) -> FlowStep {
        self.state = FlowState::Audience;
        FlowStep::Request(get_json(endpoint(&self.upload, "audience"), None))
    }

    /// Takes the reply to the last request.
    pub fn on_reply(&mut self, reply: &Reply) -> FlowStep {
        let body = reply.text();
        let step = match std::mem::replace(&mut self.state, FlowState::Over) {
            FlowState::Audience => self.after_audience(reply.status, &body),
            FlowState::GitHub => parse_github_token(reply.status, &body).map(|jwt| self.mint(jwt)),
            FlowState::Mint { jwt } => parse_mint(reply.status, &body, &jwt).map(|t| {
                self.secrets.add(&t);
                FlowStep::Token(t)
            }),
            FlowState::Over => Err(OidcError::Unexpected { what: "trusted publishing".into(), detail: "a reply after the flow ended".into() }),
        };
        step.unwrap_or_else(FlowStep::Failed)
    }

    /// Takes a request that got no reply.
    pub fn on_no_reply(&mut self, detail: &str) -> FlowStep {
        let what = match self.state {
            FlowState::Audience => "the audience endpoint",
            FlowState::GitHub => "GitHub's token endpoint",
            _ => "the mint-token endpoint",
        };
        self.state = FlowState::Over;
        FlowStep::Failed(OidcError::Unexpected { what: what.into(), detail: detail.into() })
    }

    fn after_audience(&mut self, status: u16, body: &str) -> Result<FlowStep, OidcError> {
        let audience = parse_audience(status, body, self.upload.host())?;
        let env = |k: &str| self.env(k);
        match token_source(&env, &self.upload, &audience)? {
            TokenSource::Ready(jwt) => Ok(self.mint(jwt)),
            TokenSource::GitHub { url, bearer } => {
                self.state = FlowState::GitHub;
                Ok(FlowStep::Request(get_json(url, Some(format!("bearer {bearer}")))))
            }
        }
    }

    fn mint(&mut self, jwt: String) -> FlowStep {
        self.secrets.add(&jwt);
        let request = Request {
            method: Method::Post,
            url: endpoint(&self.upload, "mint-token"),
            headers: vec![("Content-Type".into(), "application/json".into()), ("Accept".into(), "application/json".into())],
            body: Body::Text(mint_body(&jwt)),
        };
        self.state = FlowState::Mint { jwt };
        FlowStep::Request(request)
    }
}

fn get_json(url: Url, authorization: Option<String>) -> Request {
    let mut headers = vec![("Accept".to_string(), "application/json".to_string())];
    headers.extend(authorization.map(|a| ("Authorization".to_string(), a)));
    Request { method: Method::Get, url, headers, body: Body::Empty }
}
