//! Requirement, specifier and license-expression syntax, checked with maintained parsers
//! (`pep508_rs`/`pep440_rs` and `spdx`) where PyPI checks them with `packaging`.

use std::convert::Infallible;
use std::fmt;
use std::path::Path;
use std::str::FromStr;

use pep508_rs::pep440_rs::VersionSpecifiers;
use pep508_rs::{ExtraName, Pep508Url, Requirement, VersionOrUrl};
use spdx::{Expression, ParseMode};

use super::Finding;
use crate::metadata::Metadata;

/// Longest value parsed; a requirement longer than this is not a real one and parsing it
/// should not cost more than a bounded amount.
pub const MAX_VALUE_LEN: usize = 64 * 1024;

/// A direct reference kept as written: PyPI refuses them anyway, and not parsing URLs keeps
/// `url` and `regex` (pep508_rs' `VerbatimUrl`) out of the wasm.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct RawUrl(String);

impl fmt::Display for RawUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Pep508Url for RawUrl {
    type Err = Infallible;

    fn parse_url(url: &str, _working_dir: Option<&Path>) -> Result<Self, Self::Err> {
        Ok(RawUrl(url.to_string()))
    }
}

/// Checks `Requires-Dist`, `Provides-Dist`, `Obsoletes-Dist`, `Requires-Python` and
/// `Provides-Extra` as packaging and warehouse do on upload.
pub fn check(md: &Metadata) -> Vec<Finding> {
    let mut out = Vec::new();
    for field in ["requires-dist", "provides-dist", "obsoletes-dist"] {
        for value in md.get_all(field) {
            out.extend(check_requirement(field, value));
        }
    }
    if let Some(value) = md.get("requires-python") {
        out.extend(check_requires_python(value));
    }
    for value in md.get_all("provides-extra") {
        if let Err(e) = ExtraName::from_str(value) {
            out.push(Finding::new("requirement.extra", "provides-extra", None, format!("{value:?} is not a valid extra name: {e}"), true));
        }
    }
    out
}

/// One `Requires-Dist`-style value: PEP 508 syntax, and no direct (URL) reference, which PyPI
/// refuses ("Can't have direct dependency").
pub fn check_requirement(field: &str, value: &str) -> Option<Finding> {
    if value.len() > MAX_VALUE_LEN {
        return Some(Finding::new(
            "requirement.syntax",
            field,
            None,
            format!("a {field} value is {} bytes long; it cannot be a requirement", value.len()),
            true,
        ));
    }
    match Requirement::<RawUrl>::from_str(value).or_else(|e| match without_trailing_commas(value) {
        // packaging accepts an empty last item in a specifier list (`x>=1,`).
        Some(v) => Requirement::<RawUrl>::from_str(&v).map_err(|_| e),
        None => Err(e),
    }) {
        // pep440_rs has no arbitrary (non-version) `===` operands; packaging has: do not block.
        Err(_) if value.contains("===") => Some(Finding::new(
            "requirement.unchecked",
            field,
            None,
            format!("{value:?} uses `===`, which this tool cannot check; PyPI may still refuse it"),
            false,
        )),
        Err(e) => Some(Finding::new("requirement.syntax", field, None, format!("{value:?} is not a valid PEP 508 requirement:\n{e}"), true)),
        Ok(req) => match req.version_or_url {
            Some(VersionOrUrl::Url(url)) => Some(Finding::new(
                "requirement.direct-url",
                field,
                None,
                format!("{value:?} is a direct reference to {url}; PyPI refuses dependencies on URLs: depend on a released project instead"),
                true,
            )),
            _ => None,
        },
    }
}

/// `Requires-Python`: a PEP 440 specifier set.
pub fn check_requires_python(value: &str) -> Option<Finding> {
    if value.len() > MAX_VALUE_LEN {
        return Some(Finding::new("requirement.python", "requires-python", None, "Requires-Python is too long to be a specifier set".into(), true));
    }
    // packaging skips empty items (`>=3.8,`) and takes blank as "any version".
    let trimmed = without_trailing_commas(value).unwrap_or_else(|| value.to_string());
    if trimmed.trim().is_empty() {
        return None;
    }
    VersionSpecifiers::from_str(&trimmed).err().map(|e| {
        Finding::new("requirement.python", "requires-python", None, format!("{value:?} is not a valid version specifier set (e.g. `>=3.9`):\n{e}"), true)
    })
}

/// `value` without commas that end a specifier list (before `;`, `)` or the end), if it has any.
fn without_trailing_commas(value: &str) -> Option<String> {
    let mut out = String::with_capacity(value.len());
    let mut changed = false;
    for (i, c) in value.char_indices() {
        if c == ',' {
            let after = value[i + 1..].trim_start();
            if after.is_empty() || after.starts_with([';', ')']) {
                changed = true;
                continue;
            }
        }
        out.push(c);
    }
    changed.then_some(out)
}

/// `License-Expression` (PEP 639). Blocking where packaging (so PyPI) refuses it: unknown
/// license or exception ids, bad syntax, `DocumentRef-`; a warning where it is accepted but not
/// in canonical SPDX form (case, deprecated ids), with the form to write.
pub fn check_license_expression(value: &str) -> Vec<Finding> {
    let blocking = |msg: String| vec![Finding::new("license.expression", "license-expression", None, msg, true)];
    if value.trim().is_empty() {
        return blocking("License-Expression is empty; write an SPDX expression such as `MIT` or `Apache-2.0 OR MIT`".into());
    }
    if value.len() > 4096 {
        return blocking("License-Expression is longer than 4096 characters; it cannot be a license expression".into());
    }
    // packaging matches ids case-insensitively; SPDX (and the spdx crate) spell them exactly.
    // Respell each term as the SPDX list does, then let spdx judge the expression.
    let mut fixed = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(start) = rest.find(|c: char| !c.is_whitespace() && c != '(' && c != ')') {
        fixed.push_str(&rest[..start]);
        let tail = &rest[start..];
        let end = tail.find(|c: char| c.is_whitespace() || c == '(' || c == ')').unwrap_or(tail.len());
        let term = &tail[..end];
        if term.get(..11).is_some_and(|p| p.eq_ignore_ascii_case("documentref")) {
            return blocking(format!("{value:?}: `{term}` is not accepted by PyPI; only SPDX ids and `LicenseRef-` references are"));
        }
        fixed.push_str(&respell(term));
        rest = &tail[end..];
    }
    fixed.push_str(rest);
    let mode = ParseMode {
        allow_slash_as_or_operator: false,
        allow_imprecise_license_names: false,
        allow_postfix_plus_on_gpl: true,
        allow_deprecated: true,
        allow_unknown: false,
    };
    let expr = match Expression::parse_mode(&fixed, mode) {
        Ok(expr) => expr,
        Err(e) => {
            let at = &fixed[e.span.clone()];
            let why = match e.reason {
                spdx::error::Reason::UnknownLicense | spdx::error::Reason::UnknownTerm => {
                    format!("`{at}` is not an SPDX license id (see https://spdx.org/licenses/; use `LicenseRef-…` for others)")
                }
                spdx::error::Reason::UnknownException => format!("`{at}` is not an SPDX license exception id"),
                ref r => format!("{r} at `{at}`"),
            };
            return blocking(format!("{value:?} is not a valid license expression: {why}"));
        }
    };
    let deprecated: Vec<_> = expr.requirements().filter_map(|r| r.req.license.id()).filter(|id| id.is_deprecated()).map(|id| id.name).collect();
    let mut out = Vec::new();
    if fixed != value {
        out.push(Finding::new("license.case", "license-expression", None, format!("{value:?} is accepted, but SPDX spells it {fixed:?}"), false));
    }
    if !deprecated.is_empty() {
        out.push(Finding::new(
            "license.deprecated",
            "license-expression",
            None,
            format!(
                "{} deprecated in the SPDX list (e.g. write `GPL-2.0-only` or `GPL-2.0-or-later` for `GPL-2.0`)",
                deprecated.iter().map(|d| format!("`{d}` is")).collect::<Vec<_>>().join(", ")
            ),
            false,
        ));
    }
    out
}

/// The SPDX spelling of a term (license id, exception id or operator), else the term.
fn respell(term: &str) -> String {
    let (base, plus) = match term.strip_suffix('+') {
        Some(b) => (b, "+"),
        None => (term, ""),
    };
    if ["AND", "OR", "WITH"].iter().any(|op| op.eq_ignore_ascii_case(term)) {
        return term.to_ascii_uppercase();
    }
    if let Some(r) = base.get(..11).filter(|p| p.eq_ignore_ascii_case("licenseref-")) {
        return format!("LicenseRef-{}{plus}", &base[r.len()..]);
    }
    let lic = spdx::identifiers::LICENSES.iter().find(|l| l.name.eq_ignore_ascii_case(base)).map(|l| l.name);
    let exc = || spdx::identifiers::EXCEPTIONS.iter().find(|e| e.name.eq_ignore_ascii_case(base)).map(|e| e.name);
    match lic.or_else(exc) {
        Some(name) => format!("{name}{plus}"),
        None => term.to_string(),
    }
}
