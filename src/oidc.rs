//! Trusted publishing (PyPI, TestPyPI): audience → the CI's OIDC token → a short-lived API token.
//!
//! Pure decisions and parsing; the shell makes the three requests. Tokens never appear in
//! errors: a failure shows PyPI's error codes and the JWT's claims, which must match the
//! publisher configured on PyPI.

use serde::Serialize;

use crate::registry::{detect, Registry};

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
        url: String,
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
    /// A reply we could not read.
    #[error("unexpected reply from {what}: {detail}")]
    Unexpected {
        /// Which step.
        what: String,
        /// What was wrong.
        detail: String,
    },
    /// PyPI refused to mint a token.
    #[error("PyPI refused to mint a token ({}); the token's claims were: {}. They must match the trusted publisher configured for the project on PyPI (owner, repository, workflow file, environment)", errors.iter().map(|(c, d)| format!("{c}: {d}")).collect::<Vec<_>>().join("; "), claims.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", "))]
    MintRefused {
        /// `(code, description)` pairs from PyPI.
        errors: Vec<(String, String)>,
        /// Selected JWT claims (never the token).
        claims: Vec<(String, String)>,
    },
}

/// True when `url` is a registry that offers trusted publishing.
pub fn supported(url: &str) -> bool {
    matches!(detect(url), Registry::Pypi | Registry::TestPypi)
}

/// `https://<upload host>/_/oidc/<path>`.
pub fn endpoint(upload_url: &str, path: &str) -> Option<String> {
    let (scheme, rest) = upload_url.split_once("://")?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let host = rest[..end].rsplit_once('@').map_or(&rest[..end], |(_, h)| h);
    Some(format!("{scheme}://{host}/_/oidc/{path}"))
}

/// Reads `{"audience": "pypi"}`.
pub fn parse_audience(status: u16, body: &str, host: &str) -> Result<String, OidcError> {
    if status != 200 {
        return Err(OidcError::NotOffered { host: host.into(), status });
    }
    let v: serde_json::Value = serde_json::from_str(body).map_err(|e| unexpected("the audience endpoint", e))?;
    v.get("audience").and_then(|a| a.as_str()).map(str::to_string).ok_or_else(|| OidcError::Unexpected {
        what: "the audience endpoint".into(),
        detail: "no `audience` in the reply".into(),
    })
}

/// Chooses the OIDC token source from the CI's environment.
pub fn token_source(env: &dyn Fn(&str) -> Option<String>, upload_url: &str, audience: &str) -> Result<TokenSource, OidcError> {
    // An empty variable is an unset one (CI templates often export blanks).
    let env = |k: &str| env(k).filter(|v| !v.is_empty());
    if let (Some(url), Some(bearer)) = (env("ACTIONS_ID_TOKEN_REQUEST_URL"), env("ACTIONS_ID_TOKEN_REQUEST_TOKEN")) {
        let sep = if url.contains('?') { '&' } else { '?' };
        return Ok(TokenSource::GitHub { url: format!("{url}{sep}audience={audience}"), bearer });
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
    v.get("value").and_then(|a| a.as_str()).map(str::to_string).ok_or_else(|| OidcError::Unexpected {
        what: "GitHub's token endpoint".into(),
        detail: "no `value` in the reply".into(),
    })
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
    Err(OidcError::MintRefused { errors, claims: claims(jwt) })
}

/// The claims a person compares with the publisher settings on PyPI; never the signature.
pub fn claims(jwt: &str) -> Vec<(String, String)> {
    let Some(payload) = jwt.split('.').nth(1) else { return Vec::new() };
    let Some(bytes) = base64url_decode(payload) else { return Vec::new() };
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(&bytes) else { return Vec::new() };
    ["sub", "repository", "repository_owner", "job_workflow_ref", "ref", "environment", "project_path", "ci_config_ref_uri"]
        .iter()
        .filter_map(|k| v.get(*k).and_then(|x| x.as_str()).map(|x| (k.to_string(), x.to_string())))
        .collect()
}

fn base64url_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0);
    for c in s.bytes().filter(|&c| c != b'=') {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' | b'+' => 62,
            b'_' | b'/' => 63,
            _ => return None,
        } as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

fn unexpected(what: &str, e: impl std::fmt::Display) -> OidcError {
    OidcError::Unexpected { what: what.into(), detail: e.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::base64;

    fn jwt(claims: &str) -> String {
        let b = |s: &str| base64(s.as_bytes()).trim_end_matches('=').replace('+', "-").replace('/', "_");
        format!("{}.{}.c2lnbmF0dXJl", b(r#"{"alg":"RS256"}"#), b(claims))
    }

    #[test]
    fn endpoints_and_sources_follow_the_ci() {
        assert_eq!(endpoint("https://upload.pypi.org/legacy/", "audience").unwrap(), "https://upload.pypi.org/_/oidc/audience");
        let gh = |k: &str| match k {
            "ACTIONS_ID_TOKEN_REQUEST_URL" => Some("https://token.actions.example/x?api-version=2.0".to_string()),
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN" => Some("req".to_string()),
            _ => None,
        };
        assert_eq!(
            token_source(&gh, "https://upload.pypi.org/legacy/", "pypi").unwrap(),
            TokenSource::GitHub { url: "https://token.actions.example/x?api-version=2.0&audience=pypi".into(), bearer: "req".into() }
        );
        let gl = |k: &str| (k == "TESTPYPI_ID_TOKEN").then(|| "jwt".to_string());
        assert_eq!(token_source(&gl, "https://test.pypi.org/legacy/", "testpypi").unwrap(), TokenSource::Ready("jwt".into()));
        let none = |_: &str| None;
        assert!(matches!(token_source(&none, "https://upload.pypi.org/legacy/", "pypi"), Err(OidcError::NoAmbientToken { .. })));
        let blank = |_: &str| Some(String::new());
        assert!(!ambient_available(&blank) && token_source(&blank, "https://upload.pypi.org/legacy/", "pypi").is_err());
        assert!(supported("https://test.pypi.org/legacy/") && !supported("http://127.0.0.1:1/"));
    }

    // Replies as warehouse/oidc/views.py sends them.
    #[test]
    fn mint_failure_shows_codes_and_claims_never_the_token() {
        let token = jwt(r#"{"sub":"repo:acme/demo:ref:refs/heads/main","repository":"acme/demo","repository_owner":"acme","job_workflow_ref":"acme/demo/.github/workflows/release.yml@refs/heads/main","ref":"refs/heads/main"}"#);
        let body = r#"{"message":"Token request failed","errors":[{"code":"invalid-publisher","description":"valid token, but no corresponding publisher (Publisher with matching claims was not found)"}]}"#;
        let e = parse_mint(422, body, &token).unwrap_err();
        let text = e.to_string();
        assert!(text.contains("invalid-publisher"), "{text}");
        assert!(text.contains("job_workflow_ref=acme/demo/.github/workflows/release.yml@refs/heads/main"), "{text}");
        assert!(!text.contains(&token) && !text.contains("c2lnbmF0dXJl"));
        assert_eq!(parse_mint(200, r#"{"success":true,"token":"pypi-abc","expires":1}"#, &token).unwrap(), "pypi-abc");
        assert_eq!(parse_audience(200, r#"{"audience":"pypi"}"#, "upload.pypi.org").unwrap(), "pypi");
        assert!(matches!(parse_audience(403, r#"{"message":"Trusted publishing functionality not enabled"}"#, "h"), Err(OidcError::NotOffered { .. })));
    }
}
