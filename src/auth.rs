//! Credentials: where they come from, the `Authorization` header, and URLs without them.

pub use crate::mask::base64;
use crate::mask::Secrets;
use crate::registry::{detect, Registry};
use crate::url::{Url, UrlError};

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
    pub url: Url,
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
    #[error("the repository URL must start with https:// (or http:// for a local registry): {0}")]
    BadUrl(#[from] UrlError),
}

impl Resolved {
    /// The `Authorization` header value, when there are credentials.
    pub fn authorization(&self) -> Option<String> {
        let user = self.username.as_deref().unwrap_or_default();
        let pass = self.password.as_deref()?;
        Some(format!("Basic {}", base64(format!("{user}:{pass}").as_bytes())))
    }

    /// The password or token itself, for checks made here (a PyPI token's caveats are read
    /// locally); never for showing.
    pub fn secret(&self) -> Option<&str> {
        self.password.as_deref()
    }

    /// The secrets to mask in everything shown: the password or token and the header value.
    pub fn secrets(&self) -> Secrets {
        let mut s = Secrets::new();
        if let Some(p) = &self.password {
            s.add_basic(self.username.as_deref().unwrap_or_default(), p);
        }
        s
    }
}

/// Resolves credentials: URL userinfo is moved into the header; a token's username is
/// `__token__`, but empty for Artifactory (its access tokens want none).
pub fn resolve(given: &Given) -> Result<Resolved, AuthError> {
    let (url, info) = Url::parse_with_userinfo(&given.url)?;
    let (mut user, mut pass) = match info {
        Some(i) => (Some(i.username), i.password),
        None => (None, None),
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
            user = Some(if detect(&url) == Registry::Artifactory { String::new() } else { "__token__".into() });
        }
    }
    if pass.is_some() && user.is_none() {
        user = Some(String::new());
    }
    Ok(Resolved { url, username: user, password: pass })
}
