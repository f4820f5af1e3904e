//! pypublish: upload Python distributions to PyPI-compatible registries from anywhere `fetch` runs.
//!
//! The core (every module but `wasm`) is sans-IO: it takes bytes and facts and returns values
//! and decisions; the shells (wasm for browsers, edge runtimes and Node) do the reading and
//! sending. Data flows one way: filename → archive → metadata → digests → form → multipart →
//! (transport) → response.

pub mod archive;
pub mod auth;
pub mod batch;
pub mod checks;
pub mod digest;
pub mod filename;
pub mod form;
pub mod http;
pub mod mask;
pub mod metadata;
pub mod multipart;
pub mod oidc;
#[cfg(feature = "preview")]
pub mod preview;
pub mod publish;
pub mod registry;
pub mod report;
pub mod response;
pub mod simple;
pub mod url;
pub mod version;

#[cfg(target_arch = "wasm32")]
pub mod wasm;

use serde::Serialize;

use archive::{ArchiveError, MetadataFile, ReadAt};
use digest::{DigestSet, Digester};
use filename::{DistFilename, FilenameError};
use form::{Field, Form};
use metadata::{Metadata, MetadataError, MetadataSummary};
use multipart::MultipartError;

/// Size of the chunks fed to the digests.
pub const HASH_CHUNK: u64 = 1 << 20;

/// Any failure of the core, by layer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The file name is not a distribution's.
    #[error(transparent)]
    Filename(#[from] FilenameError),
    /// The archive could not be read.
    #[error(transparent)]
    Archive(#[from] ArchiveError),
    /// The metadata is invalid or does not match the file name.
    #[error("{file}: {source}")]
    Metadata {
        /// File name.
        file: String,
        /// What is wrong.
        source: MetadataError,
    },
    /// The body could not be framed.
    #[error(transparent)]
    Multipart(#[from] MultipartError),
}

impl Error {
    /// The kind JS and JSON output see.
    pub fn kind(&self) -> report::Kind {
        match self {
            Error::Filename(_) => report::Kind::Filename,
            Error::Archive(ArchiveError::Source { .. }) => report::Kind::Source,
            Error::Archive(_) => report::Kind::Archive,
            Error::Metadata { source: MetadataError::NameMismatch { .. } | MetadataError::VersionMismatch { .. }, .. } => report::Kind::Mismatch,
            Error::Metadata { .. } => report::Kind::Metadata,
            Error::Multipart(_) => report::Kind::Multipart,
        }
    }
}

/// What inspecting one distribution found: everything that would be sent, but the bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Inspection {
    /// The parsed file name.
    pub filename: DistFilename,
    /// The file's size in bytes.
    pub size: u64,
    /// Path of the metadata member inside the archive.
    pub metadata_path: String,
    /// The metadata people look at.
    pub metadata: MetadataSummary,
    /// Digests, when the file was hashed.
    pub digests: Option<DigestSet>,
    /// The upload form's text fields, when the file was hashed.
    pub form: Option<Vec<Field>>,
    /// Bytes read to find the metadata (hashing not counted).
    pub metadata_bytes_read: u64,
    /// What PyPI's own checks find in the metadata (`blocking` ones would be refused).
    pub findings: Vec<checks::Finding>,
}

/// Builds the inspection once the metadata member was read and (optionally) the file hashed.
pub fn finish_inspection(
    file: &DistFilename,
    size: u64,
    member: &MetadataFile,
    metadata_bytes_read: u64,
    digests: Option<DigestSet>,
) -> Result<Inspection, Error> {
    let wrap = |source| Error::Metadata { file: file.raw.clone(), source };
    let metadata = Metadata::parse(&member.bytes).map_err(wrap)?;
    metadata.check_filename(file).map_err(wrap)?;
    let form = digests.as_ref().map(|d| Form::new(file, &metadata, d).fields);
    let findings = checks::check_metadata(&metadata);
    Ok(Inspection {
        filename: file.clone(),
        size,
        metadata_path: member.path.clone(),
        metadata: metadata.summary(),
        digests,
        form,
        metadata_bytes_read,
        findings,
    })
}

/// Inspects the distribution `name` held by `source`; with `hash`, digests and form too.
pub fn inspect<S: ReadAt>(name: &str, source: &mut S, hash: bool) -> Result<Inspection, Error> {
    let file = DistFilename::parse(name)?;
    let (member, bytes_read) = archive::read_metadata(&file, source)?;
    let digests = if hash { Some(hash_source(&file, source)?) } else { None };
    finish_inspection(&file, source.size(), &member, bytes_read, digests)
}

fn source_error(file: &DistFilename, e: std::io::Error) -> Error {
    Error::Archive(ArchiveError::Source { file: file.raw.clone(), detail: e.to_string() })
}

/// Hashes a whole source in [`HASH_CHUNK`] pieces.
pub fn hash_source<S: ReadAt>(file: &DistFilename, source: &mut S) -> Result<DigestSet, Error> {
    let mut d = Digester::new();
    let size = source.size();
    while d.len() < size {
        let chunk = source.read_at(d.len(), HASH_CHUNK.min(size - d.len())).map_err(|e| source_error(file, e))?;
        if chunk.is_empty() {
            return Err(source_error(file, std::io::Error::other("the file shrank while it was being read")));
        }
        d.update(&chunk);
    }
    Ok(d.finish())
}

/// True for names that end like a distribution (`.whl`, `.tar.gz`, `.zip`, any case); says
/// nothing of whether the rest of the name is valid. Every shell filters `dist/*` with it.
pub fn is_distribution_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    [".whl", ".tar.gz", ".zip"].iter().any(|ext| lower.ends_with(ext) && lower.len() > ext.len())
}

/// "wheel py3-none-any", "wheel cp311-cp311-manylinux_2_17_x86_64 (build 1)" or "sdist (tar.gz)".
pub fn describe_dist(f: &DistFilename) -> String {
    match &f.kind {
        filename::DistKind::Wheel(t) => {
            let build = t.build.as_ref().map(|b| format!(" (build {b})")).unwrap_or_default();
            format!("wheel {}-{}-{}{build}", t.python_tag, t.abi.join("."), t.platform.join("."))
        }
        filename::DistKind::Sdist { format } => format!(
            "sdist ({})",
            match format {
                filename::SdistFormat::TarGz => "tar.gz",
                filename::SdistFormat::Zip => "zip",
            }
        ),
    }
}

/// What is known of a registry from its upload URL alone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RegistryInfo {
    /// The family (`pypi`, `gitlab`, … or `unknown`).
    pub registry: registry::Registry,
    /// The upload URL without credentials.
    pub upload_url: String,
    /// The simple index to check files against, when the layout tells it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub check_url: Option<String>,
    /// True when a page on another origin can upload there directly (CORS).
    pub browser_cors: bool,
}

/// Describes the registry behind `upload_url`; `known` names its family when the caller knows
/// it better than the URL tells (a self-hosted devpi, pypiserver or GitLab).
pub fn registry_info(upload_url: &str, known: Option<registry::Registry>) -> Result<RegistryInfo, url::UrlError> {
    let u = url::Url::parse(upload_url)?;
    let reg = known.unwrap_or_else(|| registry::detect(&u));
    Ok(RegistryInfo {
        registry: reg,
        upload_url: u.to_string(),
        check_url: registry::index_for(&u, reg).map(|c| c.to_string()),
        browser_cors: registry::browser_cors(reg),
    })
}
