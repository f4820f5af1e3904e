//! Distribution filenames: what a wheel or sdist name says before any byte is read.

use serde::Serialize;

use crate::version;

const ACCEPTED: &str = "a wheel `{name}-{version}(-{build})?-{python}-{abi}-{platform}.whl`, \
an sdist `{name}-{version}.tar.gz`, or a legacy sdist `{name}-{version}.zip`";

/// Why a filename is not one we can upload.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilenameError {
    /// The name is empty.
    #[error("the file name is empty; expected {ACCEPTED}")]
    Empty,
    /// A path was given where a bare file name belongs.
    #[error("{0:?} is a path, not a file name; pass the file's own name (what follows the last `/`)")]
    Path(String),
    /// The name holds a control character or a quote, which no distribution name may contain.
    #[error("{name:?} contains {what} at character {index}; rename the file (distribution names use only letters, digits, `.`, `_`, `-` and `+`)")]
    ForbiddenCharacter {
        /// The name as given, debug-escaped in the message.
        name: String,
        /// What was found.
        what: &'static str,
        /// Its position, counted in characters.
        index: usize,
    },
    /// Not a wheel or an sdist.
    #[error("{0:?} is not a distribution we can upload; expected {ACCEPTED}")]
    UnknownKind(String),
    /// A wheel name with the wrong number of parts.
    #[error(
        "{0:?} is not a valid wheel name; expected `{{name}}-{{version}}(-{{build}})?-{{python}}-{{abi}}-{{platform}}.whl` (5 or 6 parts separated by `-`)"
    )]
    WheelParts(String),
    /// A part of the name is malformed.
    #[error("{file:?}: {part} {value:?} is not valid: {why}")]
    BadPart {
        /// The whole file name.
        file: String,
        /// Which part: project name, version, build tag, tag.
        part: &'static str,
        /// The offending text.
        value: String,
        /// What rule it breaks.
        why: &'static str,
    },
}

/// The type of distribution, with what its name encodes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum DistKind {
    /// A built distribution (`.whl`).
    Wheel(WheelTags),
    /// A source distribution.
    Sdist {
        /// `tar.gz` or the legacy `zip`.
        format: SdistFormat,
    },
}

/// The container format of an sdist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum SdistFormat {
    /// `.tar.gz`, the only format new sdists may use.
    #[serde(rename = "tar.gz")]
    TarGz,
    /// `.zip`, found on old projects.
    #[serde(rename = "zip")]
    Zip,
}

/// The compatibility tags of a wheel, with compressed tag sets split.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WheelTags {
    /// Optional build tag (starts with a digit).
    pub build: Option<String>,
    /// The python tag exactly as written (`py2.py3`): this is what `pyversion` carries.
    pub python_tag: String,
    /// Python tags, split on `.`.
    pub python: Vec<String>,
    /// ABI tags, split on `.`.
    pub abi: Vec<String>,
    /// Platform tags, split on `.`.
    pub platform: Vec<String>,
}

/// A parsed distribution filename.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DistFilename {
    /// The name exactly as given; this is what the upload carries.
    pub raw: String,
    /// The project name as spelled in the filename.
    pub name: String,
    /// The PEP 503 normalized project name.
    pub normalized_name: String,
    /// The version as spelled in the filename.
    pub version: String,
    /// What kind of distribution, with its tags.
    pub kind: DistKind,
}

impl DistFilename {
    /// Parses a bare file name such as `Jinja2-2.11.3-py2.py3-none-any.whl`.
    pub fn parse(raw: &str) -> Result<Self, FilenameError> {
        if raw.is_empty() {
            return Err(FilenameError::Empty);
        }
        for (index, c) in raw.chars().enumerate() {
            let what = match c {
                '\0' => "a NUL byte",
                '\r' | '\n' => "a line break",
                '"' => "a double quote",
                c if c.is_control() => "a control character",
                _ => continue,
            };
            return Err(FilenameError::ForbiddenCharacter { name: raw.into(), what, index });
        }
        if raw.contains(['/', '\\']) {
            return Err(FilenameError::Path(raw.into()));
        }
        let lower = raw.to_ascii_lowercase();
        if let Some(stem) = strip_suffix_len(raw, &lower, ".whl") {
            return parse_wheel(raw, stem);
        }
        for (ext, format) in [(".tar.gz", SdistFormat::TarGz), (".zip", SdistFormat::Zip)] {
            if let Some(stem) = strip_suffix_len(raw, &lower, ext) {
                return parse_sdist(raw, stem, format);
            }
        }
        Err(FilenameError::UnknownKind(raw.into()))
    }

    /// `bdist_wheel` or `sdist`, the form's `filetype`.
    pub fn filetype(&self) -> &'static str {
        match self.kind {
            DistKind::Wheel(_) => "bdist_wheel",
            DistKind::Sdist { .. } => "sdist",
        }
    }

    /// The form's `pyversion`: the wheel's python tag, or `source` for an sdist.
    pub fn pyversion(&self) -> &str {
        match &self.kind {
            DistKind::Wheel(tags) => &tags.python_tag,
            DistKind::Sdist { .. } => "source",
        }
    }

    /// True for wheels.
    pub fn is_wheel(&self) -> bool {
        matches!(self.kind, DistKind::Wheel(_))
    }
}

fn strip_suffix_len<'a>(raw: &'a str, lower: &str, ext: &str) -> Option<&'a str> {
    lower.ends_with(ext).then(|| &raw[..raw.len() - ext.len()])
}

fn parse_wheel(raw: &str, stem: &str) -> Result<DistFilename, FilenameError> {
    let parts: Vec<&str> = stem.split('-').collect();
    let (name, version, build, py, abi, plat) = match parts.as_slice() {
        [n, v, p, a, pl] => (*n, *v, None, *p, *a, *pl),
        [n, v, b, p, a, pl] => (*n, *v, Some(*b), *p, *a, *pl),
        _ => return Err(FilenameError::WheelParts(raw.into())),
    };
    check_name(raw, name)?;
    check_version(raw, version)?;
    if let Some(b) = build {
        if !b.starts_with(|c: char| c.is_ascii_digit()) || !b.bytes().all(is_tag_byte) {
            return Err(bad(raw, "build tag", b, "it must start with a digit"));
        }
    }
    let split = |part: &'static str, value: &str| -> Result<Vec<String>, FilenameError> {
        let tags: Vec<String> = value.split('.').map(str::to_string).collect();
        if tags.iter().any(|t| t.is_empty() || !t.bytes().all(is_tag_byte)) {
            return Err(bad(raw, part, value, "tags are letters, digits and `_`, joined by `.`"));
        }
        Ok(tags)
    };
    let tags = WheelTags {
        build: build.map(str::to_string),
        python_tag: py.to_string(),
        python: split("python tag", py)?,
        abi: split("abi tag", abi)?,
        platform: split("platform tag", plat)?,
    };
    Ok(DistFilename { raw: raw.into(), name: name.into(), normalized_name: normalize_name(name), version: version.into(), kind: DistKind::Wheel(tags) })
}

fn parse_sdist(raw: &str, stem: &str, format: SdistFormat) -> Result<DistFilename, FilenameError> {
    // Legacy names may hold `-` in the project name (`python-dateutil-2.8.2.tar.gz`), never
    // in a version, so the version is what follows the last `-`.
    let Some((name, version)) = stem.rsplit_once('-') else {
        return Err(bad(raw, "sdist name", stem, "expected `{name}-{version}`"));
    };
    check_name(raw, name)?;
    check_version(raw, version)?;
    Ok(DistFilename { raw: raw.into(), name: name.into(), normalized_name: normalize_name(name), version: version.into(), kind: DistKind::Sdist { format } })
}

fn is_tag_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

fn check_name(raw: &str, name: &str) -> Result<(), FilenameError> {
    if !is_valid_name(name) {
        return Err(bad(raw, "project name", name, "names use letters, digits, `.`, `_` and `-`, and start and end with a letter or digit"));
    }
    Ok(())
}

fn check_version(raw: &str, version: &str) -> Result<(), FilenameError> {
    if version::parse(version).is_none() {
        return Err(bad(raw, "version", version, "it is not a PEP 440 version"));
    }
    Ok(())
}

fn bad(file: &str, part: &'static str, value: &str, why: &'static str) -> FilenameError {
    FilenameError::BadPart { file: file.into(), part, value: value.into(), why }
}

/// True when `name` is a valid project name (PEP 508: letters, digits, `.`, `_`, `-`).
pub fn is_valid_name(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter().all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-'))
}

/// PEP 503 normalization: lowercase, runs of `-`, `_`, `.` become one `-`.
pub fn normalize_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut in_run = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !in_run {
                out.push('-');
            }
            in_run = true;
        } else {
            out.push(c.to_ascii_lowercase());
            in_run = false;
        }
    }
    out
}
