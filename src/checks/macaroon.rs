//! PyPI API tokens decoded locally, so that a token for the wrong project or an expired one is
//! caught before any byte is sent (PyPI would answer 403 only after the whole file).
//!
//! A token is `pypi-` + base64url(macaroon), the macaroon in pymacaroons' binary format (v2,
//! or v1 for old tokens). Its first-party caveats are JSON as warehouse writes them
//! (`warehouse/macaroons/caveats`): `[tag, fields…]` with 0 = Expiration(expires_at,
//! not_before), 1 = ProjectName(normalized_names), 2 = ProjectID(project_ids),
//! 3 = RequestUser(user_id), 4 = OIDCProvider(oidc_provider_id); or the legacy mappings
//! `{"version": 1, "permissions": "user" | {"projects": [...]}}`, `{"exp", "nbf"}` and
//! `{"project_ids": [...]}`. The signature cannot be checked here (the key is PyPI's), so a
//! token that decodes may still be revoked; what is checked is what the caveats say.
//!
//! Sans-IO: the clock comes in as Unix seconds.

use serde::Serialize;
use serde_json::Value;

use super::Finding;
use crate::filename::normalize_name;

/// Longest token decoded; real ones are a few hundred bytes, OIDC-minted ones under 1 KiB.
pub const MAX_TOKEN_LEN: usize = 16 * 1024;

/// What a PyPI token's caveats say.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenInfo {
    /// Macaroon format: 1 or 2.
    pub format: u8,
    /// The macaroon's location (`pypi.org`, `test.pypi.org`).
    pub location: String,
    /// Normalized project names the token is limited to (intersection of all such caveats);
    /// `None` when it is not limited by name.
    pub projects: Option<Vec<String>>,
    /// Project ids the token is limited to (trusted-publishing tokens); not checkable here.
    pub project_ids: Option<Vec<String>>,
    /// The user id the token is bound to, when it is.
    pub user_id: Option<String>,
    /// A v1 token scoped to "the user" (all the user's projects).
    pub user_scoped: bool,
    /// The trusted publisher that minted it, when it did.
    pub oidc_provider_id: Option<String>,
    /// Not valid before this Unix time.
    pub not_before: Option<i64>,
    /// Not valid from this Unix time on.
    pub expires_at: Option<i64>,
    /// Caveats this decoder does not know (PyPI may refuse the token because of them).
    pub unknown_caveats: Vec<String>,
}

/// Why a string is not a decodable PyPI token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// No `pypi-` prefix: a password or another registry's token.
    #[error("it does not start with `pypi-`")]
    NotPypi,
    /// Longer than [`MAX_TOKEN_LEN`].
    #[error("it is longer than {MAX_TOKEN_LEN} characters")]
    TooLong,
    /// The base64 or the macaroon inside is malformed.
    #[error("{0}")]
    Malformed(&'static str),
}

/// Decodes a PyPI API token (`pypi-…`) into what its caveats say.
pub fn decode(token: &str) -> Result<TokenInfo, TokenError> {
    let token = token.trim();
    if token.len() > MAX_TOKEN_LEN {
        return Err(TokenError::TooLong);
    }
    let raw = match token.split_once('-') {
        Some(("pypi", rest)) if !rest.is_empty() => rest,
        _ => return Err(TokenError::NotPypi),
    };
    let bytes = crate::mask::base64_decode(raw).ok_or(TokenError::Malformed("its base64 is malformed"))?;
    let mac = match bytes.first() {
        Some(2) => parse_v2(&bytes[1..])?,
        Some(b'0'..=b'9' | b'a'..=b'f') => parse_v1(&bytes)?,
        _ => return Err(TokenError::Malformed("it is not a macaroon")),
    };
    let mut info = TokenInfo { format: mac.format, location: String::from_utf8_lossy(mac.location).into_owned(), ..Default::default() };
    for cav in mac.caveats {
        apply_caveat(&mut info, cav);
    }
    Ok(info)
}

/// Compares a token with the projects about to be uploaded at `now` (Unix seconds).
///
/// Blocking: a token limited to other projects (names both), an expired token. Warnings: a
/// token not valid yet (clocks differ), unknown caveats, and a password that is not a PyPI
/// token or does not decode (PyPI is the judge of those).
pub fn check_token(token: &str, projects: &[&str], now: i64) -> Vec<Finding> {
    let info = match decode(token) {
        Ok(info) => info,
        Err(TokenError::NotPypi) => {
            return vec![Finding::new(
                "token.not-pypi",
                "token",
                None,
                "the password is not a PyPI API token (they start with `pypi-`); PyPI accepts only API tokens (user `__token__`) or trusted publishing".into(),
                false,
            )]
        }
        Err(e) => {
            return vec![Finding::new(
                "token.undecodable",
                "token",
                None,
                format!("the PyPI token could not be decoded locally ({e}); check that it was copied whole"),
                false,
            )]
        }
    };
    check_info(&info, projects, now)
}

/// [`check_token`], plus whether the token was minted by the registry it is sent to: a
/// pypi.org token sent to test.pypi.org (or back) is refused as "Invalid or non-existent
/// authentication information". `host` is the upload URL's host (`upload.pypi.org`).
pub fn check_token_for(token: &str, host: &str, projects: &[&str], now: i64) -> Vec<Finding> {
    let mut out = check_token(token, projects, now);
    if let Ok(info) = decode(token) {
        let minted = info.location.trim().to_ascii_lowercase();
        let host = host.trim().to_ascii_lowercase();
        let site = host.strip_prefix("upload.").unwrap_or(&host);
        let known = |h: &str| matches!(h, "pypi.org" | "test.pypi.org");
        if known(&minted) && known(site) && minted != site {
            out.insert(
                0,
                Finding::new(
                    "token.wrong-registry",
                    "token",
                    None,
                    format!("the API token was created on {minted}, but the upload goes to {site}; {site} has its own accounts and tokens: create one at https://{site}/manage/account/token/"),
                    true,
                ),
            );
        }
    }
    out
}

/// [`check_token`] over an already decoded token.
pub fn check_info(info: &TokenInfo, projects: &[&str], now: i64) -> Vec<Finding> {
    let mut out = Vec::new();
    if let Some(allowed) = &info.projects {
        let mut seen = Vec::new();
        for p in projects {
            let norm = normalize_name(p);
            if !allowed.contains(&norm) && !seen.contains(&norm) {
                seen.push(norm.clone());
                let scope = if allowed.is_empty() { "no project".to_string() } else { allowed.iter().map(|a| format!("`{a}`")).collect::<Vec<_>>().join(", ") };
                out.push(Finding::new(
                    "token.wrong-project",
                    "token",
                    None,
                    format!(
                        "the API token is scoped to {scope}, not to `{norm}`; PyPI would answer 403. Create a token for `{norm}` (or an account-wide one for a first upload) at https://pypi.org/manage/account/token/"
                    ),
                    true,
                ));
            }
        }
    }
    if let Some(exp) = info.expires_at {
        if now >= exp {
            out.push(Finding::new(
                "token.expired",
                "token",
                None,
                format!("the API token expired at {} (this machine's clock says {}); mint or create a new one", utc(exp), utc(now)),
                true,
            ));
        }
    }
    if let Some(nbf) = info.not_before {
        if now < nbf {
            out.push(Finding::new(
                "token.not-yet-valid",
                "token",
                None,
                format!(
                    "the API token is valid only from {} and this machine's clock says {}; if the clock is right, wait or check the token",
                    utc(nbf),
                    utc(now)
                ),
                false,
            ));
        }
    }
    for c in &info.unknown_caveats {
        out.push(Finding::new(
            "token.unknown-caveat",
            "token",
            None,
            format!("the API token carries a restriction this tool does not know ({c}); PyPI may refuse it"),
            false,
        ));
    }
    out
}

/// `YYYY-MM-DD HH:MM:SS UTC` without a date library (civil-from-days, proleptic Gregorian).
pub fn utc(t: i64) -> String {
    let (days, secs) = (t.div_euclid(86_400), t.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC", secs / 3600, secs / 60 % 60, secs % 60)
}

fn apply_caveat(info: &mut TokenInfo, cav: Caveat<'_>) {
    let shown = || String::from_utf8_lossy(cav.id).chars().take(80).collect::<String>();
    if cav.third_party {
        info.unknown_caveats.push(format!("third-party caveat {}", shown()));
        return;
    }
    let Ok(value) = serde_json::from_slice::<Value>(cav.id) else {
        info.unknown_caveats.push(shown());
        return;
    };
    let Some(arr) = adapt(value) else {
        info.unknown_caveats.push(shown());
        return;
    };
    let ok = match (arr.first().and_then(Value::as_i64), &arr[1.min(arr.len())..]) {
        (Some(0), [Value::Number(exp), Value::Number(nbf), ..]) => match (exp.as_i64(), nbf.as_i64()) {
            (Some(exp), Some(nbf)) => {
                info.expires_at = Some(info.expires_at.map_or(exp, |e| e.min(exp)));
                info.not_before = Some(info.not_before.map_or(nbf, |n| n.max(nbf)));
                true
            }
            _ => false,
        },
        (Some(1), [Value::Array(names), ..]) => match strings(names) {
            Some(names) => {
                // Every caveat must hold, so two name caveats leave the names in both.
                info.projects = Some(match info.projects.take() {
                    Some(prev) => prev.into_iter().filter(|p| names.contains(p)).collect(),
                    None => names,
                });
                true
            }
            None => false,
        },
        (Some(2), [Value::Array(ids), ..]) => match strings(ids) {
            Some(ids) => {
                info.project_ids = Some(ids);
                true
            }
            None => false,
        },
        (Some(3), [Value::String(user), ..]) => {
            info.user_id = Some(user.clone());
            true
        }
        (Some(4), [Value::String(p), ..]) => {
            info.oidc_provider_id = Some(p.clone());
            true
        }
        (Some(3), [Value::Null]) => {
            // The legacy `"permissions": "user"` form, adapted below without an id.
            info.user_scoped = true;
            true
        }
        _ => false,
    };
    if !ok {
        info.unknown_caveats.push(shown());
    }
}

/// Turns a caveat into warehouse's array form, adapting the legacy mappings as it does.
fn adapt(value: Value) -> Option<Vec<Value>> {
    match value {
        Value::Array(a) if !a.is_empty() => Some(a),
        Value::Object(m) => {
            if m.get("version").and_then(Value::as_i64) == Some(1) {
                return match m.get("permissions")? {
                    Value::String(s) if s == "user" => Some(vec![Value::from(3), Value::Null]),
                    Value::Object(p) => Some(vec![Value::from(1), p.get("projects")?.clone()]),
                    _ => None,
                };
            }
            if let (Some(exp), Some(nbf)) = (m.get("exp"), m.get("nbf")) {
                return Some(vec![Value::from(0), exp.clone(), nbf.clone()]);
            }
            Some(vec![Value::from(2), m.get("project_ids")?.clone()])
        }
        _ => None,
    }
}

fn strings(values: &[Value]) -> Option<Vec<String>> {
    values.iter().map(|v| v.as_str().map(str::to_string)).collect()
}

struct Caveat<'a> {
    id: &'a [u8],
    third_party: bool,
}

struct Macaroon<'a> {
    format: u8,
    location: &'a [u8],
    caveats: Vec<Caveat<'a>>,
}

const MALFORMED: TokenError = TokenError::Malformed("its macaroon is truncated or malformed");

/// Reads a v2 packet: `(field type, data)`; EOS (type 0) has no data.
fn packet_v2<'a>(data: &mut &'a [u8]) -> Result<(u64, &'a [u8]), TokenError> {
    let ft = uvarint(data)?;
    if ft == 0 {
        return Ok((0, &[]));
    }
    let len = usize::try_from(uvarint(data)?).map_err(|_| MALFORMED)?;
    if len > data.len() {
        return Err(MALFORMED);
    }
    let (payload, rest) = data.split_at(len);
    *data = rest;
    Ok((ft, payload))
}

fn uvarint(data: &mut &[u8]) -> Result<u64, TokenError> {
    let mut n = 0u64;
    for (i, &b) in data.iter().enumerate().take(10) {
        n |= u64::from(b & 0x7f) << (7 * i);
        if b < 0x80 {
            *data = &data[i + 1..];
            return Ok(n);
        }
    }
    Err(MALFORMED)
}

/// A section: packets in strictly increasing field order up to EOS.
fn section_v2<'a>(data: &mut &'a [u8]) -> Result<Vec<(u64, &'a [u8])>, TokenError> {
    let mut fields: Vec<(u64, &[u8])> = Vec::new();
    loop {
        if data.is_empty() {
            return Err(MALFORMED);
        }
        let (ft, payload) = packet_v2(data)?;
        if ft == 0 {
            return Ok(fields);
        }
        if fields.last().is_some_and(|(prev, _)| ft <= *prev) {
            return Err(MALFORMED);
        }
        fields.push((ft, payload));
    }
}

fn parse_v2(mut data: &[u8]) -> Result<Macaroon<'_>, TokenError> {
    const LOCATION: u64 = 1;
    const IDENTIFIER: u64 = 2;
    const VID: u64 = 4;
    const SIGNATURE: u64 = 6;
    let header = section_v2(&mut data)?;
    let location = match header.as_slice() {
        [(LOCATION, loc), (IDENTIFIER, _)] => loc,
        [(IDENTIFIER, _)] => &[][..],
        _ => return Err(TokenError::Malformed("its macaroon header is malformed")),
    };
    let mut caveats = Vec::new();
    loop {
        let section = section_v2(&mut data)?;
        match section.as_slice() {
            [] => break,
            [(IDENTIFIER, id)] => caveats.push(Caveat { id, third_party: false }),
            [(LOCATION, _), (IDENTIFIER, id), (VID, _)] | [(IDENTIFIER, id), (VID, _)] => caveats.push(Caveat { id, third_party: true }),
            _ => return Err(TokenError::Malformed("a caveat of its macaroon is malformed")),
        }
    }
    match packet_v2(&mut data)? {
        (SIGNATURE, _) => Ok(Macaroon { format: 2, location, caveats }),
        _ => Err(TokenError::Malformed("its macaroon has no signature")),
    }
}

/// v1: packets of 4 hex digits (the packet's whole length), `key value\n`.
fn parse_v1(mut data: &[u8]) -> Result<Macaroon<'_>, TokenError> {
    let mut mac = Macaroon { format: 1, location: &[], caveats: Vec::new() };
    let mut signed = false;
    while !data.is_empty() {
        let len = data
            .get(..4)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| usize::from_str_radix(h, 16).ok())
            .filter(|&n| n > 4 && n <= data.len())
            .ok_or(MALFORMED)?;
        let packet = &data[4..len];
        data = &data[len..];
        let sp = packet.iter().position(|&b| b == b' ').ok_or(MALFORMED)?;
        let (key, value) = (&packet[..sp], &packet[sp + 1..packet.len().saturating_sub(1).max(sp + 1)]);
        match key {
            b"location" => mac.location = value,
            b"identifier" => {}
            b"cid" => mac.caveats.push(Caveat { id: value, third_party: false }),
            b"vid" | b"cl" => mac.caveats.last_mut().ok_or(MALFORMED)?.third_party = true,
            b"signature" => signed = true,
            _ => return Err(MALFORMED),
        }
    }
    if signed {
        Ok(mac)
    } else {
        Err(TokenError::Malformed("its macaroon has no signature"))
    }
}
