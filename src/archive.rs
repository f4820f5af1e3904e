//! Finding and reading the metadata member of a wheel or sdist through byte ranges.
//!
//! The reader is sans-IO: [`MetadataReader::step`] either finishes or names the byte range it
//! needs next, and the caller (a file, a `Blob`, a test's virtual file) supplies it. A wheel is
//! read from its central directory at the end, so inspecting a 1 GiB wheel costs kilobytes;
//! an sdist is inflated and scanned as its bytes arrive, front to back, until `PKG-INFO`
//! turns up: each byte is decompressed once and only one block is held at a time.
//!
//! Archives come from anyone, so every read and every count is capped ([`Limits`]), each cap
//! with its own error. The caps sit far above what real distributions need (the largest
//! wheels on PyPI, torch and tensorflow among them, have tens of thousands of members and
//! central directories of a few MiB) and far below what would hurt a browser tab.

use std::cell::Cell;
use std::collections::HashSet;
use std::io::{self, Read, Seek, SeekFrom};

use serde::Serialize;

use crate::filename::{normalize_name, DistFilename, DistKind, SdistFormat};

/// Largest metadata member we read (a long README inlined as the description fits easily).
pub const MAX_METADATA: u64 = 4 << 20;
/// Largest ratio of decompressed to compressed bytes we accept before calling it a bomb.
pub const MAX_RATIO: u64 = 100;
/// Bytes a member may inflate to before the ratio check applies (tiny files compress oddly).
const RATIO_SLACK: u64 = 1 << 20;
/// Most bytes a zip's tail, central directory and metadata member may cost to read together.
pub const MAX_ZIP_READ: u64 = 64 << 20;
/// Most members a zip may list. torch and tensorflow wheels have tens of thousands; the zip
/// crate keeps about 300 bytes per member while it looks for the metadata, so this also caps
/// that index near 60 MB (1.2 M members cost 370 MB before this cap).
pub const MAX_ZIP_ENTRIES: u64 = 200_000;
/// Largest zip central directory we read. A torch wheel's is about 2 MiB; 200,000 members
/// with 100-byte names and zip64 extras would need about 30 MiB.
pub const MAX_CENTRAL_DIRECTORY: u64 = 32 << 20;
/// Most compressed bytes of an sdist read looking for `PKG-INFO`. Build backends put it at
/// the front (setuptools) or the back (hatchling, flit), so a whole sdist may have to be read;
/// PyPI's own file size limit is far below this.
pub const MAX_SDIST_READ: u64 = 4 << 30;
/// Most decompressed bytes scanned in an sdist looking for `PKG-INFO`.
pub const MAX_TAR_SCAN: u64 = 4 << 30;
/// Most tar entries scanned in an sdist. The largest sdists hold tens of thousands of files.
pub const MAX_TAR_ENTRIES: u64 = 1_000_000;
/// Most gzip members an sdist may be made of. Build tools write one; Python reads several,
/// so we do too, but an endless run of empty members would cost time and produce nothing.
pub const MAX_GZIP_MEMBERS: u64 = 1_000;
/// Largest gzip member header (name and comment included) we skip through.
pub const MAX_GZIP_HEADER: u64 = 64 << 10;
/// Largest GNU long-name or pax header we read in an sdist.
pub const MAX_TAR_EXTENSION: u64 = 64 << 10;
/// The unit of a range request.
pub const BLOCK: u64 = 64 << 10;
/// Largest range asked for while streaming an sdist (the block doubles up to it).
pub const MAX_TAR_BLOCK: u64 = 8 << 20;
/// A zip's end record sits within its last 64 KiB + 22 bytes (the comment is at most 65535).
pub const ZIP_TAIL: u64 = (64 << 10) + 22;
/// What reading the metadata member may cost after the central directory: its local header
/// (names and extras up to 64 KiB each) and its compressed bytes, in whole blocks.
const MEMBER_ALLOWANCE: u64 = MAX_METADATA + 8 * BLOCK;
/// The smallest central directory entry: a zip member costs at least this many bytes there.
const CENTRAL_ENTRY_MIN: u64 = 46;

/// The caps a [`MetadataReader`] applies; the default is the documented constants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// [`MAX_ZIP_ENTRIES`].
    pub zip_entries: u64,
    /// [`MAX_CENTRAL_DIRECTORY`].
    pub central_directory: u64,
    /// [`MAX_ZIP_READ`].
    pub zip_read: u64,
    /// [`MAX_SDIST_READ`].
    pub sdist_read: u64,
    /// [`MAX_TAR_SCAN`].
    pub tar_scan: u64,
    /// [`MAX_TAR_ENTRIES`].
    pub tar_entries: u64,
    /// [`MAX_GZIP_MEMBERS`].
    pub gzip_members: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            zip_entries: MAX_ZIP_ENTRIES,
            central_directory: MAX_CENTRAL_DIRECTORY,
            zip_read: MAX_ZIP_READ,
            sdist_read: MAX_SDIST_READ,
            tar_scan: MAX_TAR_SCAN,
            tar_entries: MAX_TAR_ENTRIES,
            gzip_members: MAX_GZIP_MEMBERS,
        }
    }
}

/// Why the metadata member could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArchiveError {
    /// Not a zip, or a damaged one.
    #[error("{file} is not a valid zip archive ({detail}); it may be truncated or damaged: rebuild it or download it again")]
    BadZip {
        /// File name.
        file: String,
        /// What the zip reader found.
        detail: String,
    },
    /// Not a gzip-compressed tar, or a damaged one.
    #[error("{file} is not a valid .tar.gz archive ({detail}); it may be truncated or damaged: rebuild it with `python -m build --sdist`")]
    BadTar {
        /// File name.
        file: String,
        /// What the tar or gzip reader found.
        detail: String,
    },
    /// No metadata member where the format puts it.
    #[error("{file} has no {wanted}; it is not a complete distribution: rebuild it with `python -m build`")]
    NoMetadata {
        /// File name.
        file: String,
        /// What was looked for.
        wanted: String,
    },
    /// More than one candidate metadata member.
    #[error("{file} has {count} metadata files ({}{}); a distribution has exactly one: rebuild it from a clean tree", paths.join(", "), if *count > paths.len() { ", …" } else { "" })]
    MultipleMetadata {
        /// File name.
        file: String,
        /// The first few candidates (a hostile archive may have thousands).
        paths: Vec<String>,
        /// How many there are.
        count: usize,
    },
    /// The archive lists one member name twice.
    #[error("{file} lists the member {member:?} more than once; rebuild it from a clean tree")]
    DuplicateMember {
        /// File name.
        file: String,
        /// A repeated name.
        member: String,
    },
    /// The `.dist-info` directory is named for another project.
    #[error("{file} holds {dir:?}, but the file name says project {expected:?}; the wheel was renamed or built wrongly")]
    DistInfoMismatch {
        /// File name.
        file: String,
        /// The directory found.
        dir: String,
        /// Normalized project name from the filename.
        expected: String,
    },
    /// An sdist with several top-level entries.
    #[error("{file} has more than one top-level entry ({first:?} and {other:?}); an sdist holds one `{{name}}-{{version}}/` directory")]
    TopLevel {
        /// File name.
        file: String,
        /// The first top-level name.
        first: String,
        /// Another one.
        other: String,
    },
    /// The metadata member is a link or directory.
    #[error("{file}: {member} is not a regular file")]
    NotAFile {
        /// File name.
        file: String,
        /// Member path.
        member: String,
    },
    /// The metadata member is larger than we read.
    #[error("{file}: {member} is {size} bytes, more than the {limit}-byte limit for metadata; shorten the long description")]
    MetadataTooLarge {
        /// File name.
        file: String,
        /// Member path.
        member: String,
        /// Its size (declared or found).
        size: u64,
        /// [`MAX_METADATA`].
        limit: u64,
    },
    /// Decompression would expand far beyond any real distribution: a decompression bomb.
    #[error("{file}: {member} expands {ratio}x or more when decompressed (limit {limit}x); refusing what looks like a decompression bomb")]
    CompressionBomb {
        /// File name.
        file: String,
        /// Member path, or the archive stream.
        member: String,
        /// Observed or declared ratio.
        ratio: u64,
        /// [`MAX_RATIO`].
        limit: u64,
    },
    /// Reading needed more bytes than any valid distribution would.
    #[error("{file}: reading its metadata needed more than {limit} bytes; the archive is malformed")]
    ReadBudget {
        /// File name.
        file: String,
        /// The budget.
        limit: u64,
    },
    /// The archive lists more members than [`Limits::zip_entries`] or [`Limits::tar_entries`].
    #[error("{file} has more than {limit} members ({entries} counted or declared); the largest distributions on PyPI have tens of thousands: leave generated or data files out of it, or split it into several projects")]
    TooManyEntries {
        /// File name.
        file: String,
        /// Members counted, or declared by the zip's end record.
        entries: u64,
        /// The cap.
        limit: u64,
    },
    /// The zip's central directory is larger than [`Limits::central_directory`].
    #[error("{file}: its zip central directory is {size} bytes, more than the {limit}-byte limit (large wheels need a few MiB); rebuild it, leaving out generated files and very long member names")]
    CentralDirectoryTooLarge {
        /// File name.
        file: String,
        /// The size the end record declares.
        size: u64,
        /// The cap.
        limit: u64,
    },
    /// `PKG-INFO` was not reached within [`Limits::sdist_read`] compressed bytes.
    #[error("{file}: no PKG-INFO within its first {limit} bytes; an sdist this large is refused: keep large data files out of the sdist (MANIFEST.in or the build backend's excludes) and rebuild it with `python -m build --sdist`")]
    SdistReadLimit {
        /// File name.
        file: String,
        /// The cap.
        limit: u64,
    },
    /// `PKG-INFO` was not reached within [`Limits::tar_scan`] decompressed bytes.
    #[error("{file}: no PKG-INFO within its first {limit} bytes once decompressed; keep large data files out of the sdist (MANIFEST.in or the build backend's excludes) and rebuild it with `python -m build --sdist`")]
    TarScanLimit {
        /// File name.
        file: String,
        /// The cap.
        limit: u64,
    },
    /// The `.tar.gz` is made of more than [`Limits::gzip_members`] gzip streams.
    #[error("{file} is made of more than {limit} concatenated gzip streams, where build tools write one; rebuild it with `python -m build --sdist`")]
    GzipMembers {
        /// File name.
        file: String,
        /// The cap.
        limit: u64,
    },
    /// The byte source failed.
    #[error("{file} could not be read: {detail}")]
    Source {
        /// File name.
        file: String,
        /// The source's message.
        detail: String,
    },
}

/// The metadata member's path and bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MetadataFile {
    /// Path inside the archive.
    pub path: String,
    /// Raw bytes.
    #[serde(skip)]
    pub bytes: Vec<u8>,
}

/// A byte range the reader needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ByteRange {
    /// Start offset.
    pub offset: u64,
    /// Length; may run to the end of the file.
    pub len: u64,
}

/// The reader's next move.
#[derive(Debug)]
pub enum Step {
    /// Supply this range with [`MetadataReader::supply`], then step again.
    Need(ByteRange),
    /// Finished.
    Done(Result<MetadataFile, ArchiveError>),
}

/// A random-access byte source of known size (a file, a buffer, a test's virtual file).
pub trait ReadAt {
    /// Total size in bytes.
    fn size(&self) -> u64;
    /// Reads `len` bytes at `offset` (fewer only at the end of the source).
    fn read_at(&mut self, offset: u64, len: u64) -> io::Result<Vec<u8>>;
}

impl ReadAt for &[u8] {
    fn size(&self) -> u64 {
        self.len() as u64
    }
    fn read_at(&mut self, offset: u64, len: u64) -> io::Result<Vec<u8>> {
        let start = (offset as usize).min(self.len());
        let end = (offset.saturating_add(len) as usize).min(self.len());
        Ok(self[start..end].to_vec())
    }
}

/// Finds and reads a distribution's metadata member, one range request at a time.
pub struct MetadataReader {
    file: DistFilename,
    size: u64,
    limits: Limits,
    bytes_read: u64,
    /// Zip only: the supplied bytes, merged into disjoint runs sorted by offset.
    segments: Vec<(u64, Vec<u8>)>,
    /// Zip only: the end record, once found and checked.
    zip_dir: Option<ZipDir>,
    /// Sdist (`.tar.gz`) only: the streaming state.
    tar: Option<Box<TarStream>>,
}

/// What a zip's end record says, after our checks.
#[derive(Debug, Clone, Copy)]
struct ZipDir {
    entries: u64,
    cd_offset: u64,
    cd_size: u64,
    /// Whether the directory was fetched and starts with a central directory header.
    fetched: bool,
    /// Where the end record's comment ends: the zip crate sees the file up to here, so that
    /// it picks the very end record we checked (bytes after it are ignored, as Python does).
    end: u64,
    /// Bytes the tail, the zip64 record and the directory cost; the member may add
    /// [`MEMBER_ALLOWANCE`].
    budget: u64,
}

impl MetadataReader {
    /// A reader for the distribution `file` whose bytes number `size`.
    pub fn new(file: &DistFilename, size: u64) -> Self {
        Self::with_limits(file, size, Limits::default())
    }

    /// A reader with other caps than the defaults (tests use small ones).
    pub fn with_limits(file: &DistFilename, size: u64, limits: Limits) -> Self {
        let tar = matches!(file.kind, DistKind::Sdist { format: SdistFormat::TarGz }).then(|| Box::new(TarStream::new(&file.raw, limits)));
        Self { file: file.clone(), size, limits, bytes_read: 0, segments: Vec::new(), zip_dir: None, tar }
    }

    /// Bytes supplied so far.
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read
    }

    /// The caps this reader applies.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Runs as far as the supplied bytes allow.
    pub fn step(&mut self) -> Step {
        if self.tar.is_some() {
            return self.step_tar();
        }
        // Locate and bound the central directory ourselves, then fetch it in one range:
        // the zip crate would otherwise trust the sizes it finds there.
        let dir = match self.zip_directory() {
            Err(e) => return Step::Done(Err(e)),
            Ok(Err(range)) => return self.request(range, self.limits.zip_read),
            Ok(Ok(dir)) => dir,
        };
        let missing = Cell::new(None);
        let member_end = Cell::new(None);
        let reader = CacheReader { segments: &self.segments, size: dir.end, pos: 0, missing: &missing };
        let directory = self.bytes(dir.cd_offset, dir.cd_size).unwrap_or_default();
        let result = read_zip(&self.file, reader, dir.entries, directory, &member_end);
        let Some((pos, want)) = missing.get() else {
            return Step::Done(result);
        };
        // Ask for the rest of the member at once: every step parses the directory again.
        let member = member_end.get().filter(|&end| end > pos).map_or(0, |end| end - pos);
        let range = ByteRange { offset: pos, len: want.max(BLOCK).max(member).min(dir.end - pos) };
        self.request(range, (dir.budget + MEMBER_ALLOWANCE).min(self.limits.zip_read))
    }

    fn request(&self, range: ByteRange, budget: u64) -> Step {
        if self.bytes_read.saturating_add(range.len) > budget {
            return Step::Done(Err(ArchiveError::ReadBudget { file: self.file.raw.clone(), limit: budget }));
        }
        Step::Need(range)
    }

    /// The bytes `[offset, offset + len)` when they were all supplied.
    fn bytes(&self, offset: u64, len: u64) -> Option<&[u8]> {
        let end = offset.checked_add(len)?;
        self.segments.iter().find_map(|(o, d)| {
            let start = offset.checked_sub(*o)? as usize;
            (end <= o + d.len() as u64).then(|| &d[start..start + len as usize])
        })
    }

    /// The bytes `[offset, offset + len)`, or the range from the first one missing to the end
    /// (a source may return less than asked; what it did return is not asked for again).
    fn have(&self, offset: u64, len: u64) -> Result<&[u8], ByteRange> {
        if let Some(b) = self.bytes(offset, len) {
            return Ok(b);
        }
        let mut first = offset;
        for (o, d) in &self.segments {
            if *o <= first && first < o + d.len() as u64 {
                first = o + d.len() as u64;
            }
        }
        Err(ByteRange { offset: first, len: (offset + len).saturating_sub(first) })
    }

    /// The checked central directory, or the range still to fetch for it.
    fn zip_directory(&mut self) -> Result<Result<ZipDir, ByteRange>, ArchiveError> {
        let dir = match self.zip_dir {
            Some(dir) => dir,
            None => match self.zip_end_record()? {
                Ok(dir) => *self.zip_dir.insert(dir),
                Err(range) => return Ok(Err(range)),
            },
        };
        if !dir.fetched {
            let cd = match self.have(dir.cd_offset, dir.cd_size) {
                Ok(cd) => cd,
                Err(range) => return Ok(Err(range)),
            };
            if dir.entries > 0 && cd[..4] != [0x50, 0x4b, 0x01, 0x02] {
                return Err(ArchiveError::BadZip {
                    file: self.file.raw.clone(),
                    detail: "no central directory where the end record says (data prepended to the zip?)".into(),
                });
            }
            self.zip_dir = Some(ZipDir { fetched: true, ..dir });
        }
        Ok(Ok(ZipDir { fetched: true, ..dir }))
    }

    /// Finds the end of central directory record (and its zip64 form) and checks the
    /// directory's size and entry count against the caps and the file, before any of the
    /// directory is read: `Ok(Err(range))` names what to fetch first.
    fn zip_end_record(&self) -> Result<Result<ZipDir, ByteRange>, ArchiveError> {
        let file = &self.file.raw;
        let bad = |detail: &str| ArchiveError::BadZip { file: file.clone(), detail: detail.into() };
        if self.size < 22 {
            return Err(bad("too short to be a zip: no end of central directory record"));
        }
        let tail_start = self.size.saturating_sub(ZIP_TAIL);
        let tail = match self.have(tail_start, self.size - tail_start) {
            Ok(tail) => tail,
            Err(range) => return Ok(Err(range)),
        };
        let u16_at = |b: &[u8], i: usize| u16::from_le_bytes([b[i], b[i + 1]]) as u64;
        let u32_at = |b: &[u8], i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]) as u64;
        let u64_at = |b: &[u8], i: usize| u64::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3], b[i + 4], b[i + 5], b[i + 6], b[i + 7]]);
        // The last signature, as Python's zipfile takes it; its comment must fit, as the zip
        // crate requires. Both readers then agree on the record, so we check what they read.
        let eocd = (0..=tail.len() - 22)
            .rev()
            .find(|&i| tail[i..i + 4] == [0x50, 0x4b, 0x05, 0x06])
            .ok_or_else(|| bad("no end of central directory record; the file is truncated or not a zip"))?;
        let end = eocd + 22 + u16_at(tail, eocd + 20) as usize;
        if end > tail.len() {
            return Err(bad("the end of central directory record's comment runs past the end of the file"));
        }
        let (mut entries, mut cd_size, mut cd_offset) = (u16_at(tail, eocd + 10), u32_at(tail, eocd + 12), u32_at(tail, eocd + 16));
        let mut one_disk = u16_at(tail, eocd + 4) == 0 && u16_at(tail, eocd + 6) == 0 && u16_at(tail, eocd + 8) == entries;
        // Where the directory must end: at the zip64 record when there is one, else here.
        let mut cd_limit = tail_start + eocd as u64;
        let mut budget = self.size - tail_start;
        if entries == 0xffff || cd_size == 0xffff_ffff || cd_offset == 0xffff_ffff {
            let locator = eocd.checked_sub(20).filter(|&l| tail[l..l + 4] == [0x50, 0x4b, 0x06, 0x07]).ok_or_else(|| bad("zip64 locator missing"))?;
            let record_at = u64_at(tail, locator + 8);
            // Python reads the zip64 record right before its locator, whatever the locator
            // says; we insist they agree.
            if record_at.checked_add(56) != Some(tail_start + locator as u64) {
                return Err(bad("the zip64 end record is not where its locator points"));
            }
            let rec = match self.have(record_at, 56) {
                Ok(rec) => rec,
                Err(range) => return Ok(Err(range)),
            };
            if rec[0..4] != [0x50, 0x4b, 0x06, 0x06] || u64_at(rec, 4) != 44 {
                return Err(bad("unsupported zip64 end record (extensible data)"));
            }
            one_disk = u32_at(rec, 16) == 0
                && u32_at(rec, 20) == 0
                && u64_at(rec, 24) == u64_at(rec, 32)
                && u32_at(tail, locator + 4) == 0
                && u32_at(tail, locator + 16) <= 1;
            (entries, cd_size, cd_offset) = (u64_at(rec, 32), u64_at(rec, 40), u64_at(rec, 48));
            cd_limit = record_at;
            budget += 56;
        }
        if !one_disk {
            return Err(bad("a multi-disk (split) zip; a wheel is one file"));
        }
        // Refuse by the declared numbers, before the zip crate builds an index of them.
        if entries > self.limits.zip_entries {
            return Err(ArchiveError::TooManyEntries { file: file.clone(), entries, limit: self.limits.zip_entries });
        }
        if cd_size > self.limits.zip_read {
            return Err(ArchiveError::ReadBudget { file: file.clone(), limit: self.limits.zip_read });
        }
        if cd_size > self.limits.central_directory {
            return Err(ArchiveError::CentralDirectoryTooLarge { file: file.clone(), size: cd_size, limit: self.limits.central_directory });
        }
        match cd_offset.checked_add(cd_size) {
            Some(e) if e > cd_limit => return Err(bad("the central directory lies outside the file; it is truncated")),
            None => return Err(bad("the central directory lies outside the file; it is truncated")),
            // Python would take the gap for data prepended to the zip and read the directory
            // elsewhere than the zip crate: refuse what two readers would read differently.
            Some(e) if e < cd_limit => return Err(bad("bytes between the central directory and its end record (data prepended to the zip?)")),
            Some(_) => {}
        }
        if entries > cd_size / CENTRAL_ENTRY_MIN {
            return Err(bad("the central directory claims more entries than it can hold"));
        }
        Ok(Ok(ZipDir { entries, cd_offset, cd_size, fetched: false, end: tail_start + end as u64, budget: budget + cd_size }))
    }

    /// Supplies bytes starting at `offset` (normally the range [`Step::Need`] asked for).
    pub fn supply(&mut self, offset: u64, mut data: Vec<u8>) {
        self.bytes_read = self.bytes_read.saturating_add(data.len() as u64);
        // Bytes past the end of the file do not exist; keeping them would let a source that
        // returns too much make offsets overflow.
        data.truncate(self.size.saturating_sub(offset).min(data.len() as u64) as usize);
        if data.is_empty() {
            return;
        }
        if let Some(tar) = &mut self.tar {
            tar.supply(offset, &data);
            return;
        }
        // Kept in order by inserting in place: a sort here cost the wasm package ~4 KB of code.
        let at = self.segments.partition_point(|(o, _)| *o <= offset);
        self.segments.insert(at, (offset, data));
        let mut merged: Vec<(u64, Vec<u8>)> = Vec::with_capacity(self.segments.len());
        for (o, d) in self.segments.drain(..) {
            if let Some((lo, ld)) = merged.last_mut() {
                let lend = *lo + ld.len() as u64;
                if o <= lend {
                    let skip = (lend - o) as usize;
                    if skip < d.len() {
                        ld.extend_from_slice(&d[skip..]);
                    }
                    continue;
                }
            }
            merged.push((o, d));
        }
        self.segments = merged;
    }

    fn step_tar(&mut self) -> Step {
        let (size, bytes_read, limit) = (self.size, self.bytes_read, self.limits.sdist_read);
        let Some(tar) = self.tar.as_deref_mut() else {
            return Step::Done(Err(ArchiveError::Source { file: self.file.raw.clone(), detail: "internal: no tar state".into() }));
        };
        if let Some(done) = &tar.done {
            return Step::Done(done.clone());
        }
        let input = std::mem::take(&mut tar.pending);
        let fed = tar.gunzip.feed(&input, &mut tar.scan);
        let result = match fed {
            Ok(Some(member)) => Some(Ok(member)),
            Err(e) => Some(Err(e)),
            Ok(None) if tar.next >= size => Some(Err(tar.gunzip.end(&tar.scan))),
            Ok(None) => None,
        };
        if let Some(result) = result {
            tar.done = Some(result.clone());
            return Step::Done(result);
        }
        let len = tar.block.min(size - tar.next);
        tar.block = (tar.block * 2).min(MAX_TAR_BLOCK);
        if bytes_read.saturating_add(len) > limit {
            let e = ArchiveError::SdistReadLimit { file: self.file.raw.clone(), limit };
            tar.done = Some(Err(e.clone()));
            return Step::Done(Err(e));
        }
        Step::Need(ByteRange { offset: tar.next, len })
    }
}

/// Reads the metadata member from a random-access source, answering the reader's requests;
/// also returns how many bytes that took.
pub fn read_metadata<S: ReadAt>(file: &DistFilename, source: &mut S) -> Result<(MetadataFile, u64), ArchiveError> {
    let mut reader = MetadataReader::new(file, source.size());
    loop {
        match reader.step() {
            Step::Done(result) => return result.map(|m| (m, reader.bytes_read())),
            Step::Need(range) => {
                let data = source.read_at(range.offset, range.len).map_err(|e| ArchiveError::Source { file: file.raw.clone(), detail: e.to_string() })?;
                if data.is_empty() {
                    return Err(ArchiveError::Source {
                        file: file.raw.clone(),
                        detail: format!("no bytes at offset {} (is the file still being written?)", range.offset),
                    });
                }
                reader.supply(range.offset, data);
            }
        }
    }
}

/// `Read + Seek` over the supplied segments; a read outside them records what is missing.
struct CacheReader<'a> {
    segments: &'a [(u64, Vec<u8>)],
    size: u64,
    pos: u64,
    missing: &'a Cell<Option<(u64, u64)>>,
}

impl Read for CacheReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.size || buf.is_empty() {
            return Ok(0);
        }
        let room = buf.len().min((self.size - self.pos).min(usize::MAX as u64) as usize);
        for (o, d) in self.segments {
            let end = o + d.len() as u64;
            if *o <= self.pos && self.pos < end {
                let start = (self.pos - o) as usize;
                let n = room.min(d.len() - start);
                buf[..n].copy_from_slice(&d[start..start + n]);
                self.pos += n as u64;
                return Ok(n);
            }
        }
        if self.missing.get().is_none() {
            self.missing.set(Some((self.pos, room as u64)));
        }
        Err(io::Error::other("byte range not loaded yet"))
    }
}

impl Seek for CacheReader<'_> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(d) => self.size.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        self.pos = target.ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before start"))?;
        Ok(self.pos)
    }
}

/// How many candidate paths an error lists.
/// Metadata candidates named in an error at most (the rest are counted).
pub const MAX_LISTED: usize = 5;

/// Reads the metadata member; `member_end` learns where its bytes end, as far as the central
/// directory tells (the local header's extra field may add a little).
fn read_zip(
    file: &DistFilename,
    reader: CacheReader<'_>,
    entries: u64,
    directory: &[u8],
    member_end: &Cell<Option<u64>>,
) -> Result<MetadataFile, ArchiveError> {
    let raw = &file.raw;
    let bad = |e: zip::result::ZipError| ArchiveError::BadZip { file: raw.clone(), detail: e.to_string() };
    // The directory starts where the end record says (checked in `zip_directory`): no
    // scanning for data prepended to the archive.
    let config = zip::read::Config { archive_offset: zip::read::ArchiveOffset::Known(0) };
    let mut archive = zip::ZipArchive::with_config(config, reader).map_err(bad)?;
    // The zip crate indexes members by name, keeping one of each: name the repeated one from
    // the directory itself.
    if archive.has_duplicate_names() {
        let member = repeated_name(directory).unwrap_or_default();
        return Err(ArchiveError::DuplicateMember { file: raw.clone(), member });
    }
    if archive.len() as u64 != entries {
        return Err(ArchiveError::BadZip {
            file: raw.clone(),
            detail: format!("the zip reader found {} members where the end record declares {entries}", archive.len()),
        });
    }
    let names: Vec<String> = archive.file_names().map(|n| n.map(|n| n.into_owned())).collect::<Result<_, _>>().map_err(bad)?;
    let (wanted, candidates): (String, Vec<&String>) = if file.is_wheel() {
        let c = names.iter().filter(|n| n.ends_with(".dist-info/METADATA") && n.matches('/').count() == 1).collect();
        ("`{name}-{version}.dist-info/METADATA`".into(), c)
    } else {
        let top = names.first().map(|n| n.split('/').next().unwrap_or_default().to_string()).unwrap_or_default();
        if let Some(other) = names.iter().map(|n| n.split('/').next().unwrap_or_default()).find(|t| *t != top) {
            return Err(ArchiveError::TopLevel { file: raw.clone(), first: top, other: other.into() });
        }
        let path = format!("{top}/PKG-INFO");
        let c = names.iter().filter(|n| **n == path).collect();
        (format!("`{path}`"), c)
    };
    let path = match candidates.as_slice() {
        [] => return Err(ArchiveError::NoMetadata { file: raw.clone(), wanted }),
        [one] => (*one).clone(),
        many => {
            return Err(ArchiveError::MultipleMetadata {
                file: raw.clone(),
                paths: many.iter().take(MAX_LISTED).map(|s| s.to_string()).collect(),
                count: many.len(),
            })
        }
    };
    if file.is_wheel() {
        let dir = path.trim_end_matches("/METADATA");
        let stem = dir.trim_end_matches(".dist-info");
        let dist_name = stem.rsplit_once('-').map_or(stem, |(n, _)| n);
        if normalize_name(dist_name) != file.normalized_name {
            return Err(ArchiveError::DistInfoMismatch { file: raw.clone(), dir: dir.into(), expected: file.normalized_name.clone() });
        }
    }
    let index = archive.index_for_name(&path).ok_or_else(|| ArchiveError::NoMetadata { file: raw.clone(), wanted: path.clone() })?;
    let entry = archive.by_index_data(index).map_err(bad)?;
    let (size, csize, is_file) = (entry.size(), entry.compressed_size(), entry.is_file());
    if !is_file {
        return Err(ArchiveError::NotAFile { file: raw.clone(), member: path });
    }
    if size > RATIO_SLACK && size / csize.max(1) > MAX_RATIO {
        return Err(bomb(raw, &path, size / csize.max(1)));
    }
    if size > MAX_METADATA {
        return Err(ArchiveError::MetadataTooLarge { file: raw.clone(), member: path, size, limit: MAX_METADATA });
    }
    // The local header: 30 bytes, the name, and an extra field, most often a timestamp or
    // zip64 sizes (a longer one costs one more range).
    let local = 30 + path.len() as u64 + 64;
    member_end.set(entry.header_start().checked_add(local).and_then(|h| h.checked_add(csize)));
    let member = archive.by_index(index).map_err(bad)?;
    let mut bytes = Vec::with_capacity(size as usize);
    // Read one byte past the declared size: a member that inflates beyond it lies about itself.
    member.take(size + 1).read_to_end(&mut bytes).map_err(|e| bad(e.into()))?;
    if bytes.len() as u64 > size {
        return Err(bomb(raw, &path, MAX_RATIO + 1));
    }
    Ok(MetadataFile { path, bytes })
}

/// The first member name a central directory lists twice (one pass, a set of names).
fn repeated_name(directory: &[u8]) -> Option<String> {
    let mut seen = HashSet::new();
    let mut rest = directory;
    while rest.len() >= 46 && rest[..4] == [0x50, 0x4b, 0x01, 0x02] {
        let len = |i: usize| u16::from_le_bytes([rest[i], rest[i + 1]]) as usize;
        let (name_len, total) = (len(28), 46 + len(28) + len(30) + len(32));
        let name = rest.get(46..46 + name_len)?;
        if !seen.insert(name) {
            return Some(String::from_utf8_lossy(name).into_owned());
        }
        rest = rest.get(total..)?;
    }
    None
}

fn bomb(file: &str, member: &str, ratio: u64) -> ArchiveError {
    ArchiveError::CompressionBomb { file: file.into(), member: member.into(), ratio, limit: MAX_RATIO }
}

/// An sdist being read front to back: supplied bytes are inflated and scanned at once and
/// then dropped, so each byte is decompressed once and memory stays at about one block.
struct TarStream {
    /// Offset of the first byte not yet received.
    next: u64,
    /// Received bytes not yet inflated.
    pending: Vec<u8>,
    /// The next range's length.
    block: u64,
    gunzip: Gunzip,
    scan: TarScan,
    /// The outcome, once there is one.
    done: Option<Result<MetadataFile, ArchiveError>>,
}

impl TarStream {
    fn new(file: &str, limits: Limits) -> Self {
        TarStream { next: 0, pending: Vec::new(), block: BLOCK, gunzip: Gunzip::new(file, limits), scan: TarScan::new(file, limits), done: None }
    }

    /// Keeps what continues the stream; bytes before it were seen, bytes after a gap are
    /// asked for again.
    fn supply(&mut self, offset: u64, data: &[u8]) {
        let end = offset + data.len() as u64;
        if offset <= self.next && end > self.next {
            self.pending.extend_from_slice(&data[(self.next - offset) as usize..]);
            self.next = end;
        }
    }
}

/// Where a gzip member's parse stands (RFC 1952).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Gz {
    /// Nothing read yet.
    Start,
    /// The 10 fixed header bytes.
    Fixed { n: usize },
    /// FEXTRA's 2 length bytes.
    ExtraLen { n: usize },
    /// FEXTRA's data.
    Extra { left: u64 },
    /// FNAME, up to its NUL.
    Name,
    /// FCOMMENT, up to its NUL.
    Comment,
    /// FHCRC's 2 bytes.
    HeaderCrc { left: u8 },
    /// The deflate stream.
    Body,
    /// CRC32 and ISIZE.
    Trailer { n: usize },
    /// After a whole member: zero padding, another member, or the end.
    Between,
}

/// A push-driven gzip reader (multi-member, as Python's `gzip` reads) over `flate2`'s inflater.
///
/// Written here rather than `flate2::read::MultiGzDecoder`, which pulls from a reader and
/// keeps a header's name and comment in memory at any length.
struct Gunzip {
    file: String,
    limits: Limits,
    state: Gz,
    header: [u8; 10],
    header_len: u64,
    inflate: flate2::Decompress,
    crc: flate2::Crc,
    member_out: u64,
    members: u64,
    /// Compressed bytes consumed, headers included.
    consumed: u64,
    /// Decompressed bytes produced.
    produced: u64,
    out: Vec<u8>,
}

const FEXTRA: u8 = 4;
const FNAME: u8 = 8;
const FCOMMENT: u8 = 16;
const FHCRC: u8 = 2;

impl Gunzip {
    fn new(file: &str, limits: Limits) -> Self {
        Gunzip {
            file: file.into(),
            limits,
            state: Gz::Start,
            header: [0; 10],
            header_len: 0,
            inflate: flate2::Decompress::new(false),
            crc: flate2::Crc::new(),
            member_out: 0,
            members: 0,
            consumed: 0,
            produced: 0,
            out: vec![0; 64 << 10],
        }
    }

    fn bad(&self, detail: impl Into<String>) -> ArchiveError {
        ArchiveError::BadTar { file: self.file.clone(), detail: detail.into() }
    }

    /// The header part that follows `done` (one of the flags, or 0 after the fixed bytes).
    fn after(&self, done: u8) -> Gz {
        let flags = self.header[3];
        let order = [(FEXTRA, Gz::ExtraLen { n: 0 }), (FNAME, Gz::Name), (FCOMMENT, Gz::Comment), (FHCRC, Gz::HeaderCrc { left: 2 })];
        let from = order.iter().position(|(f, _)| *f == done).map_or(0, |i| i + 1);
        order[from..].iter().find(|(f, _)| flags & f != 0).map_or(Gz::Body, |(_, s)| *s)
    }

    /// Inflates `input` into `scan`; `Ok(Some)` once the scan found the member.
    fn feed(&mut self, mut input: &[u8], scan: &mut TarScan) -> Result<Option<MetadataFile>, ArchiveError> {
        while !input.is_empty() {
            if self.state == Gz::Body {
                let (used, found) = self.inflate_some(input, scan)?;
                input = &input[used..];
                if found.is_some() {
                    return Ok(found);
                }
                continue;
            }
            let byte = input[0];
            input = &input[1..];
            self.consumed += 1;
            if !matches!(self.state, Gz::Start | Gz::Between | Gz::Trailer { .. }) {
                self.header_len += 1;
                if self.header_len > MAX_GZIP_HEADER {
                    return Err(self.bad(format!("a gzip header longer than {MAX_GZIP_HEADER} bytes")));
                }
            }
            self.state = match self.state {
                // Python skips zero padding after a member (tape blocks), not before the first.
                Gz::Between if byte == 0 => Gz::Between,
                Gz::Start | Gz::Between => {
                    self.members += 1;
                    if self.members > self.limits.gzip_members {
                        return Err(ArchiveError::GzipMembers { file: self.file.clone(), limit: self.limits.gzip_members });
                    }
                    self.header[0] = byte;
                    self.header_len = 1;
                    Gz::Fixed { n: 1 }
                }
                Gz::Fixed { n } => {
                    self.header[n] = byte;
                    if n + 1 < 10 {
                        Gz::Fixed { n: n + 1 }
                    } else if self.header[..2] != [0x1f, 0x8b] {
                        return Err(self.bad("not a gzip file"));
                    } else if self.header[2] != 8 {
                        return Err(self.bad("unknown gzip compression method"));
                    } else {
                        self.inflate.reset(false);
                        self.crc.reset();
                        self.member_out = 0;
                        self.after(0)
                    }
                }
                Gz::ExtraLen { n: 0 } => {
                    self.header[0] = byte;
                    Gz::ExtraLen { n: 1 }
                }
                Gz::ExtraLen { .. } => match u16::from_le_bytes([self.header[0], byte]) {
                    0 => self.after(FEXTRA),
                    len => Gz::Extra { left: len as u64 },
                },
                Gz::Extra { left: 1 } => self.after(FEXTRA),
                Gz::Extra { left } => Gz::Extra { left: left - 1 },
                Gz::Name if byte == 0 => self.after(FNAME),
                Gz::Comment if byte == 0 => self.after(FCOMMENT),
                s @ (Gz::Name | Gz::Comment) => s,
                Gz::HeaderCrc { left: 1 } => self.after(FHCRC),
                Gz::HeaderCrc { left } => Gz::HeaderCrc { left: left - 1 },
                Gz::Trailer { n } => {
                    self.header[n] = byte;
                    if n + 1 < 8 {
                        Gz::Trailer { n: n + 1 }
                    } else {
                        let crc = u32::from_le_bytes([self.header[0], self.header[1], self.header[2], self.header[3]]);
                        let len = u32::from_le_bytes([self.header[4], self.header[5], self.header[6], self.header[7]]);
                        if crc != self.crc.sum() || len != self.member_out as u32 {
                            return Err(self.bad("the gzip checksum does not match: the file is damaged"));
                        }
                        Gz::Between
                    }
                }
                Gz::Body => unreachable!("handled above"),
            };
        }
        Ok(None)
    }

    /// Inflates from `input` until it is used up, the member ends or the scan is done;
    /// returns the bytes used.
    fn inflate_some(&mut self, input: &[u8], scan: &mut TarScan) -> Result<(usize, Option<MetadataFile>), ArchiveError> {
        let mut used = 0;
        loop {
            let (in_before, out_before) = (self.inflate.total_in(), self.inflate.total_out());
            // On an error, the bytes inflated before it are still scanned first: what the tar
            // scan finds there comes earlier in the stream, and so wins however the file was
            // split into ranges.
            let status = self.inflate.decompress(&input[used..], &mut self.out, flate2::FlushDecompress::None);
            let took = (self.inflate.total_in() - in_before) as usize;
            let made = (self.inflate.total_out() - out_before) as usize;
            used += took;
            self.consumed += took as u64;
            if made > 0 {
                let chunk = &self.out[..made];
                self.crc.update(chunk);
                self.member_out += made as u64;
                self.produced += made as u64;
                if self.produced > self.limits.tar_scan {
                    return Err(ArchiveError::TarScanLimit { file: self.file.clone(), limit: self.limits.tar_scan });
                }
                let ratio = self.produced / self.consumed.max(1);
                if self.produced > 4 * RATIO_SLACK && ratio > MAX_RATIO {
                    return Err(bomb(&self.file, "the compressed stream", ratio));
                }
                if let Some(found) = scan.push(chunk)? {
                    return Ok((used, Some(found)));
                }
            }
            let status = status.map_err(|e| ArchiveError::BadTar { file: self.file.clone(), detail: format!("corrupt deflate stream: {e}") })?;
            if status == flate2::Status::StreamEnd {
                self.state = Gz::Trailer { n: 0 };
                return Ok((used, None));
            }
            if took == 0 && made == 0 {
                if used < input.len() {
                    // Input left and no progress: stop rather than spin.
                    return Err(self.bad("the deflate stream stalled"));
                }
                return Ok((used, None));
            }
            if used == input.len() && made < self.out.len() {
                return Ok((used, None));
            }
        }
    }

    /// The outcome when the file ends before the scan found anything.
    fn end(&self, scan: &TarScan) -> ArchiveError {
        match self.state {
            Gz::Start => self.bad("the file is empty"),
            Gz::Between => scan.end(),
            _ => self.bad("the gzip stream is truncated"),
        }
    }
}

/// Path and size given by extension headers (pax or GNU) to the next member.
#[derive(Debug, Default, Clone)]
struct Ext {
    path: Option<String>,
    size: Option<u64>,
}

/// What the bytes being collected are.
#[derive(Debug)]
enum Collect {
    LongName,
    PaxLocal,
    PaxGlobal,
    Member(String),
}

/// Where the tar scan stands.
#[derive(Debug)]
enum Ts {
    /// Filling a 512-byte header block.
    Header,
    /// Filling a GNU sparse extension block; then the data.
    Sparse { data: u64 },
    /// Skipping data and padding.
    Skip { left: u64 },
    /// Keeping `want` bytes, then skipping `pad`.
    Collect { what: Collect, buf: Vec<u8>, want: usize, pad: u64 },
}

/// A push-driven scan of a tar stream for `{top}/PKG-INFO`, using `tar::Header` to read
/// headers. It follows what Python's `tarfile` (and so PyPI) does with GNU long names, pax
/// `path` and `size`, and GNU sparse headers, so that we read the member PyPI would.
struct TarScan {
    file: String,
    limits: Limits,
    state: Ts,
    block: [u8; 512],
    filled: usize,
    entries: u64,
    top: Option<String>,
    local: Ext,
    global: Ext,
}

impl TarScan {
    fn new(file: &str, limits: Limits) -> Self {
        TarScan {
            file: file.into(),
            limits,
            state: Ts::Header,
            block: [0; 512],
            filled: 0,
            entries: 0,
            top: None,
            local: Ext::default(),
            global: Ext::default(),
        }
    }

    fn bad(&self, detail: impl Into<String>) -> ArchiveError {
        ArchiveError::BadTar { file: self.file.clone(), detail: detail.into() }
    }

    fn no_metadata(&self) -> ArchiveError {
        let top = self.top.clone().unwrap_or_else(|| "{name}-{version}".into());
        ArchiveError::NoMetadata { file: self.file.clone(), wanted: format!("`{top}/PKG-INFO`") }
    }

    /// The outcome when the stream ends here.
    fn end(&self) -> ArchiveError {
        match self.state {
            // No end-of-archive blocks: tar readers take a clean end for one.
            Ts::Header if self.filled == 0 => self.no_metadata(),
            _ => self.bad("the tar stream is truncated"),
        }
    }

    /// Scans decompressed bytes; `Ok(Some)` with the metadata member once it is whole.
    fn push(&mut self, mut data: &[u8]) -> Result<Option<MetadataFile>, ArchiveError> {
        while !data.is_empty() {
            match &mut self.state {
                Ts::Header | Ts::Sparse { .. } => {
                    let n = (512 - self.filled).min(data.len());
                    self.block[self.filled..self.filled + n].copy_from_slice(&data[..n]);
                    self.filled += n;
                    data = &data[n..];
                    if self.filled < 512 {
                        continue;
                    }
                    self.filled = 0;
                    if let Ts::Sparse { data: left } = self.state {
                        // Byte 504 of a sparse extension block says whether another follows.
                        self.state = if self.block[504] != 0 { Ts::Sparse { data: left } } else { Ts::Skip { left } };
                        self.skip_empty();
                    } else if let Some(found) = self.header()? {
                        return Ok(Some(found));
                    }
                }
                Ts::Skip { left } => {
                    let n = (*left).min(data.len() as u64);
                    *left -= n;
                    data = &data[n as usize..];
                    self.skip_empty();
                }
                Ts::Collect { buf, want, .. } => {
                    let n = (*want - buf.len()).min(data.len());
                    buf.extend_from_slice(&data[..n]);
                    data = &data[n..];
                    if let Some(found) = self.collected()? {
                        return Ok(Some(found));
                    }
                }
            }
        }
        Ok(None)
    }

    fn skip_empty(&mut self) {
        if matches!(self.state, Ts::Skip { left: 0 }) {
            self.state = Ts::Header;
        }
    }

    /// Finishes a collection once all its bytes are in.
    fn collected(&mut self) -> Result<Option<MetadataFile>, ArchiveError> {
        let Ts::Collect { buf, want, pad, .. } = &self.state else { return Ok(None) };
        if buf.len() < *want {
            return Ok(None);
        }
        let pad = *pad;
        let Ts::Collect { what, buf, .. } = std::mem::replace(&mut self.state, Ts::Skip { left: pad }) else {
            return Ok(None);
        };
        self.skip_empty();
        match what {
            // The first extension to name the member wins, as in Python's tarfile.
            Collect::LongName => {
                let name = buf.split(|&b| b == 0).next().unwrap_or_default();
                self.local.path.get_or_insert_with(|| String::from_utf8_lossy(name).into_owned());
            }
            Collect::PaxLocal => parse_pax(&buf, &mut self.local),
            Collect::PaxGlobal => parse_pax(&buf, &mut self.global),
            Collect::Member(path) => return Ok(Some(MetadataFile { path, bytes: buf })),
        }
        Ok(None)
    }

    /// Reads the header block just filled.
    fn header(&mut self) -> Result<Option<MetadataFile>, ArchiveError> {
        if self.block.iter().all(|&b| b == 0) {
            // The end-of-archive marker: tar readers stop here.
            return Err(self.no_metadata());
        }
        let header = tar::Header::from_byte_slice(&self.block);
        let stored = header.cksum().map_err(|e| self.bad(e.to_string()))?;
        let field = 148..156;
        let unsigned: u32 = self.block.iter().enumerate().map(|(i, &b)| if field.contains(&i) { 32 } else { b as u32 }).sum();
        let signed: i64 = self.block.iter().enumerate().map(|(i, &b)| if field.contains(&i) { 32 } else { b as i8 as i64 }).sum();
        // Python accepts either sum; the tar crate only the unsigned one.
        if stored != unsigned && stored as i64 != signed {
            return Err(self.bad("archive header checksum mismatch"));
        }
        self.entries += 1;
        if self.entries > self.limits.tar_entries {
            return Err(ArchiveError::TooManyEntries { file: self.file.clone(), entries: self.entries, limit: self.limits.tar_entries });
        }
        let kind = header.entry_type();
        let mut size = header.entry_size().map_err(|e| self.bad(e.to_string()))?;
        let extension = kind.is_gnu_longname() || kind.is_gnu_longlink() || kind.is_pax_local_extensions() || kind.is_pax_global_extensions();
        if !extension {
            if let Some(s) = self.local.size.take() {
                size = s;
            }
        }
        let padded = size.checked_add(511).map(|s| s & !511).ok_or_else(|| self.bad("an entry size that overflows"))?;
        if extension {
            if size > MAX_TAR_EXTENSION {
                return Err(self.bad(format!("an extended header of {size} bytes (limit {MAX_TAR_EXTENSION})")));
            }
            let what = if kind.is_gnu_longname() {
                Collect::LongName
            } else if kind.is_pax_local_extensions() {
                Collect::PaxLocal
            } else if kind.is_pax_global_extensions() {
                Collect::PaxGlobal
            } else {
                self.state = Ts::Skip { left: padded };
                self.skip_empty();
                return Ok(None);
            };
            self.state = Ts::Collect { what, buf: Vec::with_capacity(size as usize), want: size as usize, pad: padded - size };
            return self.collected();
        }
        // A member: what the extensions said applies to it alone.
        let named = self.local.path.take().or_else(|| self.global.path.clone());
        self.local = Ext::default();
        let data = if kind.is_gnu_sparse() && self.block[482] != 0 { Ts::Sparse { data: padded } } else { Ts::Skip { left: padded } };
        let path = named.unwrap_or_else(|| String::from_utf8_lossy(&header.path_bytes()).into_owned());
        let path = path.trim_start_matches("./");
        let first = path.split('/').next().unwrap_or_default();
        let is_metadata = !path.is_empty() && {
            let top = self.top.get_or_insert_with(|| first.to_string());
            if top != first {
                return Err(ArchiveError::TopLevel { file: self.file.clone(), first: top.clone(), other: first.into() });
            }
            path.strip_prefix(top.as_str()) == Some("/PKG-INFO")
        };
        if !is_metadata {
            self.state = data;
            self.skip_empty();
            return Ok(None);
        }
        let path = path.to_string();
        if !kind.is_file() {
            return Err(ArchiveError::NotAFile { file: self.file.clone(), member: path });
        }
        if size > MAX_METADATA {
            return Err(ArchiveError::MetadataTooLarge { file: self.file.clone(), member: path, size, limit: MAX_METADATA });
        }
        self.state = Ts::Collect { what: Collect::Member(path), buf: Vec::with_capacity(size as usize), want: size as usize, pad: padded - size };
        self.collected()
    }
}

/// Reads `path` and `size` from pax records (`"<len> <key>=<value>\n"`), by their lengths as
/// Python does; a malformed record ends the parse, as there.
fn parse_pax(mut data: &[u8], into: &mut Ext) {
    while let Some(space) = data.iter().position(|&b| b == b' ') {
        let len = std::str::from_utf8(&data[..space]).ok().and_then(|n| n.parse::<usize>().ok());
        let Some(len) = len.filter(|&l| l > space + 1 && l <= data.len() && data[l - 1] == b'\n') else { return };
        let record = &data[space + 1..len - 1];
        let Some(eq) = record.iter().position(|&b| b == b'=') else { return };
        let (key, value) = (&record[..eq], &record[eq + 1..]);
        match key {
            b"path" => into.path = Some(String::from_utf8_lossy(value).into_owned()),
            b"size" => into.size = std::str::from_utf8(value).ok().and_then(|v| v.parse().ok()),
            _ => {}
        }
        data = &data[len..];
    }
}
