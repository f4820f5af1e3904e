//! Classifiers checked against the `trove-classifiers` list that warehouse uses, vendored in
//! `classifiers.txt` (refreshed by `scripts/refresh-classifiers`) as an outline: each segment
//! once, a tab per level, so the list costs ~13 KB in the wasm instead of ~36 KB.

use super::Finding;

const LIST: &str = include_str!("classifiers.txt");

/// The `trove-classifiers` version the vendored list comes from.
pub fn list_version() -> &'static str {
    LIST.lines().next().and_then(|l| l.strip_prefix("# trove-classifiers ")).and_then(|l| l.split(':').next()).unwrap_or("unknown")
}

/// Whether PyPI knows `classifier` (exactly as written; deprecated ones are not known).
pub fn is_known(classifier: &str) -> bool {
    let mut parts = classifier.split(" :: ");
    let Some(mut want) = parts.next() else { return false };
    let mut depth = 0;
    for line in LIST.lines().filter(|l| !l.starts_with(['#', '!'])) {
        let level = line.bytes().take_while(|&b| b == b'\t').count();
        if level < depth {
            // Left the subtree where the next segment had to be.
            return false;
        }
        if level > depth {
            continue;
        }
        let seg = &line[level..];
        let (name, category) = match seg.strip_suffix(" /") {
            Some(n) => (n, true),
            None => (seg, false),
        };
        if name == want {
            match parts.next() {
                None => return !category,
                Some(next) => {
                    want = next;
                    depth += 1;
                }
            }
        }
    }
    false
}

/// Every known classifier, sorted.
pub fn all() -> Vec<String> {
    let mut path: Vec<&str> = Vec::new();
    let mut out = Vec::new();
    for line in LIST.lines().filter(|l| !l.starts_with(['#', '!'])) {
        let level = line.bytes().take_while(|&b| b == b'\t').count();
        path.truncate(level);
        let seg = &line[level..];
        path.push(seg.strip_suffix(" /").unwrap_or(seg));
        if !seg.ends_with(" /") {
            out.push(path.join(" :: "));
        }
    }
    out.sort();
    out
}

/// The replacements of a deprecated classifier (possibly none), or `None` if not deprecated.
pub fn deprecated(classifier: &str) -> Option<Vec<&'static str>> {
    LIST.lines().filter_map(|l| l.strip_prefix('!')).find_map(|l| {
        let (old, new) = l.split_once(" =>")?;
        (old == classifier).then(|| new.split(" | ").map(str::trim).filter(|s| !s.is_empty()).collect())
    })
}

/// Checks `Classifier` values as warehouse does on upload: each must be in the list, and not
/// deprecated. `Private ::` classifiers are never in it: PyPI refuses them on purpose.
pub fn check(classifiers: &[&str]) -> Vec<Finding> {
    if classifiers.is_empty() {
        return Vec::new();
    }
    // One sorted list for the whole run, made at the first file with classifiers: many
    // classifiers cost O(n log n), not n scans of the outline, and a batch sorts it once.
    static KNOWN: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    let known = KNOWN.get_or_init(all);
    // Only an unknown classifier needs the list without case and spacing, for a suggestion.
    let mut squashed: Option<std::collections::BTreeMap<String, &String>> = None;
    let mut seen = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    for &c in classifiers {
        if !seen.insert(c) || known.binary_search_by(|k| k.as_str().cmp(c)).is_ok() {
            continue;
        }
        let (code, message) = if let Some(new) = deprecated(c) {
            let instead = if new.is_empty() {
                "remove it".to_string()
            } else {
                format!("use {} instead", new.iter().map(|n| format!("{n:?}")).collect::<Vec<_>>().join(" or "))
            };
            ("classifier.deprecated", format!("the classifier {c:?} is deprecated and PyPI refuses it: {instead}"))
        } else if c.trim_start().starts_with("Private ::") {
            (
                "classifier.private",
                format!("the classifier {c:?} marks the project as private: PyPI refuses every `Private ::` classifier so that such projects are never published; remove it only if this project is meant to be public"),
            )
        } else {
            let squashed = squashed.get_or_insert_with(|| known.iter().map(|k| (squash(k), k)).collect());
            let hint = squashed.get(&squash(c)).map(|s| format!(" (did you mean {s:?}?)")).unwrap_or_default();
            (
                "classifier.unknown",
                format!(
                    "{c:?} is not a valid classifier{hint}; PyPI accepts only those listed at https://pypi.org/classifiers/ (trove-classifiers {})",
                    list_version()
                ),
            )
        };
        out.push(Finding::new(code, "classifier", None, message, true));
    }
    out
}

/// A classifier without case or spacing around `::`, to suggest the known one for a slip.
fn squash(s: &str) -> String {
    s.split("::").map(|p| p.trim().to_ascii_lowercase()).collect::<Vec<_>>().join("::")
}
