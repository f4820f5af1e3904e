//! pypublish: upload Python distributions to PyPI-compatible registries from anywhere `fetch` runs.
//!
//! The core (every module but `wasm`) is sans-IO: it takes bytes and facts and returns values
//! and decisions; the shells (wasm for browsers, edge runtimes and Node) do the reading and
//! sending. Data flows one way: filename → archive → metadata → digests → form → multipart →
//! (transport) → response.

pub mod archive;
pub mod auth;
pub mod checks;
pub mod digest;
pub mod filename;
pub mod form;
pub mod metadata;
pub mod multipart;
pub mod oidc;
pub mod publish;
pub mod registry;
pub mod response;
pub mod simple;
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
    /// A stable machine-readable kind, for JS and JSON output.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Filename(_) => "filename",
            Error::Archive(_) => "archive",
            Error::Metadata { source: MetadataError::NameMismatch { .. } | MetadataError::VersionMismatch { .. }, .. } => "mismatch",
            Error::Metadata { .. } => "metadata",
            Error::Multipart(_) => "multipart",
        }
    }
}

/// What to do about an error of `kind` (see [`Error::kind`]): every shell shows the same advice.
pub fn hint_for_kind(kind: &str) -> Option<&'static str> {
    Some(match kind {
        "filename" => "distribution file names are name-version(-build)-python-abi-platform.whl, name-version.tar.gz or a legacy name-version.zip",
        "metadata" => "fix the project's metadata (pyproject.toml) and rebuild with `python -m build`",
        "archive" | "mismatch" => "rebuild the distribution with `python -m build` rather than renaming or editing it: the file name, the archive and its metadata must agree",
        "source" => "choose the file again; it may have been moved or changed",
        _ => return None,
    })
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
    Ok(Inspection {
        filename: file.clone(),
        size,
        metadata_path: member.path.clone(),
        metadata: metadata.summary(),
        digests,
        form,
        metadata_bytes_read,
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
