//! Credentials: where they come from, the `Authorization` header, and URLs without them.

use crate::registry::{detect, percent_decode, Registry};

/// The `Accept` header that makes PyPI answer errors as JSON instead of hiding the text in the
/// reason phrase.
pub const ACCEPT: &str = "application/json;q=0.9, text/plain;q=0.8, text/html;q=0.7";

/// What the user gave, before resolution.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Given {
    /// The repository URL, possibly with `user:password@`.
    pub url: String,
    /// `--username`.
    pub username: Option<String>,
    /// `--password`.
    pub password: Option<String>,
    /// `--token`: a password whose username depends on the registry.
    pub token: Option<String>,
}

/// Resolved credentials and the URL with them removed.
#[derive(Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The URL to send to and to show: no credentials.
    pub url: String,
    /// The username, when there are credentials.
    pub username: Option<String>,
    password: Option<String>,
}

impl std::fmt::Debug for Resolved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resolved")
            .field("url", &self.url)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// Why credentials cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// Both a token and a password.
    #[error("give either a token or a password, not both")]
    TokenAndPassword,
    /// A URL that is not http(s).
    #[error("the repository URL must start with https:// (or http:// for a local registry); got {0:?}")]
    BadUrl(String),
}

impl Resolved {
    /// The `Authorization` header value, when there are credentials.
    pub fn authorization(&self) -> Option<String> {
        let user = self.username.as_deref().unwrap_or_default();
        let pass = self.password.as_deref()?;
        Some(format!("Basic {}", base64(format!("{user}:{pass}").as_bytes())))
    }

    /// Replaces every occurrence of the password in `text` (for raw responses and logs).
    pub fn mask(&self, text: &str) -> String {
        match self.password.as_deref() {
            Some(p) if p.len() >= 4 => text.replace(p, "********"),
            _ => text.to_string(),
        }
    }
}

/// Resolves credentials: URL userinfo is moved into the header; a token's username is
/// `__token__`, but empty for Artifactory (its access tokens want none).
pub fn resolve(given: &Given) -> Result<Resolved, AuthError> {
    let url = given.url.trim();
    let lower = url.to_ascii_lowercase();
    if !(lower.starts_with("https://") || lower.starts_with("http://")) {
        return Err(AuthError::BadUrl(crate::registry::redact_url(url)));
    }
    let (scheme, rest) = url.split_once("://").unwrap_or(("https", url));
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (mut user, mut pass, clean) = match rest[..end].rsplit_once('@') {
        Some((info, host)) => {
            let (u, p) = info.split_once(':').map_or((info, None), |(u, p)| (u, Some(p)));
            (Some(percent_decode(u)), p.map(percent_decode), format!("{scheme}://{host}{}", &rest[end..]))
        }
        None => (None, None, url.to_string()),
    };
    if given.token.is_some() && given.password.is_some() {
        return Err(AuthError::TokenAndPassword);
    }
    if let Some(u) = &given.username {
        user = Some(u.clone());
    }
    if let Some(p) = &given.password {
        pass = Some(p.clone());
    }
    if let Some(t) = &given.token {
        pass = Some(t.clone());
        if given.username.is_none() {
            user = Some(if detect(&clean) == Registry::Artifactory { String::new() } else { "__token__".into() });
        }
    }
    if pass.is_some() && user.is_none() {
        user = Some(String::new());
    }
    Ok(Resolved { url: clean, username: user, password: pass })
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

#[cfg(test)]
mod tests {
    use super::*;

    fn given(url: &str) -> Given {
        Given { url: url.into(), ..Given::default() }
    }

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        for (i, o) in [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foobar", "Zm9vYmFy")] {
            assert_eq!(base64(i.as_bytes()), o);
        }
    }

    #[test]
    fn url_credentials_move_into_the_header_and_leave_the_url() {
        let r = resolve(&given("https://me:p%40ss@upload.pypi.org/legacy/")).unwrap();
        assert_eq!(r.url, "https://upload.pypi.org/legacy/");
        assert_eq!(r.authorization().unwrap(), format!("Basic {}", base64(b"me:p@ss")));
        assert!(!format!("{r:?}").contains("p@ss"));
    }

    #[test]
    fn tokens_get_the_username_their_registry_wants() {
        let mut g = given("https://upload.pypi.org/legacy/");
        g.token = Some("pypi-abc".into());
        assert_eq!(resolve(&g).unwrap().username.as_deref(), Some("__token__"));
        g.url = "https://acme.jfrog.io/artifactory/api/pypi/local".into();
        assert_eq!(resolve(&g).unwrap().username.as_deref(), Some(""));
        g.password = Some("x".into());
        assert_eq!(resolve(&g).unwrap_err(), AuthError::TokenAndPassword);
        assert!(matches!(resolve(&given("ftp://x/")), Err(AuthError::BadUrl(_))));
    }

    #[test]
    fn mask_hides_the_password_in_raw_text() {
        let mut g = given("http://127.0.0.1/");
        g.username = Some("u".into());
        g.password = Some("hunter22".into());
        assert_eq!(resolve(&g).unwrap().mask("echo hunter22!"), "echo ********!");
    }
}
