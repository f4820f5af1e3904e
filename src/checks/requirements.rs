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
        return Some(Finding::new("requirement.syntax", field, None, format!("a {field} value is {} bytes long; it cannot be a requirement", value.len()), true));
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
        Err(e) => Some(Finding::new(
            "requirement.syntax",
            field,
            None,
            format!("{value:?} is not a valid PEP 508 requirement:\n{e}"),
            true,
        )),
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
        out.push(Finding::new(
            "license.case",
            "license-expression",
            None,
            format!("{value:?} is accepted, but SPDX spells it {fixed:?}"),
            false,
        ));
    }
    if !deprecated.is_empty() {
        out.push(Finding::new(
            "license.deprecated",
            "license-expression",
            None,
            format!("{} deprecated in the SPDX list (e.g. write `GPL-2.0-only` or `GPL-2.0-or-later` for `GPL-2.0`)", deprecated.iter().map(|d| format!("`{d}` is")).collect::<Vec<_>>().join(", ")),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn md(extra: &str) -> Metadata {
        Metadata::parse(format!("Metadata-Version: 2.4\nName: demo\nVersion: 1.0\n{extra}").as_bytes()).unwrap()
    }

    fn codes(f: &[Finding]) -> Vec<&'static str> {
        f.iter().map(|f| f.code).collect()
    }

    #[test]
    fn good_requirements_pass() {
        let m = md("Requires-Dist: requests[socks] (>=2.8.1,<3); python_version >= \"3.8\" and extra == 'net'\n\
                    Requires-Dist: tomli>=1.1.0; python_version < '3.11'\nRequires-Python: >=3.8, !=3.9.*\n\
                    Provides-Extra: net\nProvides-Dist: demo (==1.0)\nObsoletes-Dist: olddemo\n");
        assert_eq!(check(&m), vec![]);
    }

    #[test]
    fn bad_requirement_and_specifier_syntax_is_refused_with_the_parsers_words() {
        let m = md("Requires-Dist: requests >= 2.0 ; pyhton_version < '3'\nRequires-Dist: numpy >=> 1\n\
                    Requires-Dist: pkg @ https://example.com/pkg.whl\nRequires-Python: >=3.8.*\n");
        let f = check(&m);
        assert_eq!(codes(&f), ["requirement.syntax", "requirement.syntax", "requirement.direct-url", "requirement.python"], "{f:#?}");
        assert!(f.iter().all(|f| f.blocking));
        assert!(f[0].message.contains("pyhton_version"), "{}", f[0].message);
        assert!(f[3].message.contains(">=3.8.*"), "{}", f[3].message);
    }

    /// Strings packaging accepts or refuses (tests/fixtures/requirements/make_verdicts.py).
    #[test]
    fn verdicts_agree_with_packaging() {
        let v: serde_json::Value = serde_json::from_str(include_str!("../../tests/fixtures/requirements/packaging-verdicts.json")).unwrap();
        let mut wrong = Vec::new();
        for (value, ok) in v["requirements"].as_object().unwrap() {
            let ours = !matches!(check_requirement("requires-dist", value), Some(f) if f.blocking && f.code != "requirement.direct-url");
            if ours != ok.as_bool().unwrap() {
                wrong.push(format!("requirement {value:?}: packaging {ok}, ours {ours}"));
            }
        }
        for (value, ok) in v["specifiers"].as_object().unwrap() {
            let ours = check_requires_python(value).is_none();
            if ours != ok.as_bool().unwrap() {
                wrong.push(format!("specifier {value:?}: packaging {ok}, ours {ours}"));
            }
        }
        assert!(wrong.is_empty(), "{wrong:#?}");
    }

    #[test]
    fn license_expressions_as_packaging_judges_them() {
        for ok in ["MIT", "Apache-2.0 OR MIT", "(MIT AND BSD-3-Clause) OR Apache-2.0 WITH LLVM-exception", "LicenseRef-Proprietary", "GPL-3.0-or-later", "Apache-2.0+"] {
            assert_eq!(check_license_expression(ok), vec![], "{ok}");
        }
        for bad in ["", "MIT OR", "(MIT", "MIT)", "Use-it-after-midnight", "MIT WITH Nope-exception", "MIT/Apache-2.0", "DocumentRef-a:LicenseRef-b", "MIT AND AND BSD-2-Clause"] {
            let f = check_license_expression(bad);
            assert_eq!(codes(&f), ["license.expression"], "{bad}: {f:?}");
            assert!(f[0].blocking);
        }
        let f = check_license_expression("mit and (apache-2.0 or bsd-2-clause)");
        assert_eq!(codes(&f), ["license.case"]);
        assert!(f[0].message.contains("\"MIT AND (Apache-2.0 OR BSD-2-Clause)\""), "{}", f[0].message);
        assert!(!f[0].blocking);
        assert_eq!(codes(&check_license_expression("GPL-2.0")), ["license.deprecated"]);
        assert!(check_license_expression("Use-it-after-midnight")[0].message.contains("`Use-it-after-midnight` is not an SPDX license id"));
    }
}
