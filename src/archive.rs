//! Finding and reading the metadata member of a wheel or sdist through byte ranges.
//!
//! The reader is sans-IO: [`MetadataReader::step`] either finishes or names the byte range it
//! needs next, and the caller (a file, a `Blob`, a test's virtual file) supplies it. A wheel is
//! read from its central directory at the end, so inspecting a 1 GiB wheel costs kilobytes;
//! an sdist is read from the front until `PKG-INFO` turns up. Every read is bounded.

use std::cell::Cell;
use std::io::{self, Read, Seek, SeekFrom};
use std::rc::Rc;

use serde::Serialize;

use crate::filename::{normalize_name, DistFilename, DistKind, SdistFormat};

/// Largest metadata member we read (a long README inlined as the description fits easily).
pub const MAX_METADATA: u64 = 4 << 20;
/// Largest ratio of decompressed to compressed bytes we accept before calling it a bomb.
pub const MAX_RATIO: u64 = 100;
/// Bytes a member may inflate to before the ratio check applies (tiny files compress oddly).
const RATIO_SLACK: u64 = 1 << 20;
/// Most bytes a zip's central directory and metadata may cost to read.
pub const MAX_ZIP_READ: u64 = 64 << 20;
/// Most decompressed bytes scanned in an sdist looking for `PKG-INFO`.
pub const MAX_TAR_SCAN: u64 = 4 << 30;
/// Largest GNU long-name or pax header we read in an sdist.
pub const MAX_TAR_EXTENSION: u64 = 64 << 10;
/// The unit of a range request.
pub const BLOCK: u64 = 64 << 10;
/// A zip's end record sits within its last 64 KiB + 22 bytes (the comment is at most 65535).
const ZIP_TAIL: u64 = (64 << 10) + 22;

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
    #[error("{file} has more than one metadata file ({}); a distribution has exactly one: rebuild it from a clean tree", paths.join(", "))]
    MultipleMetadata {
        /// File name.
        file: String,
        /// The candidates.
        paths: Vec<String>,
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
    segments: Vec<(u64, Vec<u8>)>,
    bytes_read: u64,
    tar_block: u64,
}

impl MetadataReader {
    /// A reader for the distribution `file` whose bytes number `size`.
    pub fn new(file: &DistFilename, size: u64) -> Self {
        Self { file: file.clone(), size, segments: Vec::new(), bytes_read: 0, tar_block: BLOCK }
    }

    /// Bytes supplied so far.
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read
    }

    /// Runs as far as the supplied bytes allow.
    pub fn step(&mut self) -> Step {
        if self.is_zip() {
            // Locate and bound the central directory ourselves, then fetch it in one range:
            // the zip crate would otherwise trust the sizes it finds there.
            match self.zip_directory() {
                Err(e) => return Step::Done(Err(e)),
                Ok(Some(range)) => return self.request(range, MAX_ZIP_READ),
                Ok(None) => {}
            }
        }
        let missing = Cell::new(None);
        let bomb = Rc::new(Cell::new(None));
        let reader = CacheReader { segments: &self.segments, size: self.size, pos: 0, missing: &missing };
        let result = match &self.file.kind {
            DistKind::Wheel(_) | DistKind::Sdist { format: SdistFormat::Zip } => read_zip(&self.file, reader),
            DistKind::Sdist { format: SdistFormat::TarGz } => read_tar(&self.file, reader, bomb.clone()),
        };
        if let Some(ratio) = bomb.get() {
            return Step::Done(Err(ArchiveError::CompressionBomb {
                file: self.file.raw.clone(),
                member: "the compressed stream".into(),
                ratio,
                limit: MAX_RATIO,
            }));
        }
        let Some((pos, want)) = missing.get() else {
            return Step::Done(result);
        };
        let (budget, range) = if self.is_zip() {
            let range = if pos + want > self.size.saturating_sub(ZIP_TAIL) && !self.has(self.size.saturating_sub(1)) {
                let start = self.size.saturating_sub(ZIP_TAIL);
                ByteRange { offset: start, len: self.size - start }
            } else {
                ByteRange { offset: pos, len: want.max(BLOCK).min(self.size - pos) }
            };
            (MAX_ZIP_READ, range)
        } else {
            let len = want.max(self.tar_block).min(self.size - pos);
            self.tar_block = (self.tar_block * 2).min(8 << 20);
            (u64::MAX, ByteRange { offset: pos, len })
        };
        self.request(range, budget)
    }

    fn request(&self, range: ByteRange, budget: u64) -> Step {
        if self.bytes_read + range.len > budget {
            return Step::Done(Err(ArchiveError::ReadBudget { file: self.file.raw.clone(), limit: budget }));
        }
        Step::Need(range)
    }

    fn is_zip(&self) -> bool {
        !matches!(self.file.kind, DistKind::Sdist { format: SdistFormat::TarGz })
    }

    /// The bytes `[offset, offset + len)` when they were all supplied.
    fn bytes(&self, offset: u64, len: u64) -> Option<&[u8]> {
        self.segments.iter().find_map(|(o, d)| {
            let end = o + d.len() as u64;
            (*o <= offset && offset.checked_add(len)? <= end).then(|| &d[(offset - o) as usize..(offset - o + len) as usize])
        })
    }

    /// Finds the end of central directory record (and its zip64 form), checks the directory's
    /// size and entry count against the file, and asks for whatever of it is missing.
    fn zip_directory(&self) -> Result<Option<ByteRange>, ArchiveError> {
        let bad = |detail: &str| ArchiveError::BadZip { file: self.file.raw.clone(), detail: detail.into() };
        if self.size < 22 {
            return Err(bad("too short to be a zip: no end of central directory record"));
        }
        let tail_start = self.size.saturating_sub(ZIP_TAIL);
        let Some(tail) = self.bytes(tail_start, self.size - tail_start) else {
            return Ok(Some(ByteRange { offset: tail_start, len: self.size - tail_start }));
        };
        let u16_at = |b: &[u8], i: usize| u16::from_le_bytes([b[i], b[i + 1]]) as u64;
        let u32_at = |b: &[u8], i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]) as u64;
        let u64_at = |b: &[u8], i: usize| u64::from_le_bytes(b[i..i + 8].try_into().unwrap_or_default());
        let eocd = (0..=tail.len() - 22)
            .rev()
            .find(|&i| tail[i..i + 4] == [0x50, 0x4b, 0x05, 0x06] && i + 22 + u16_at(tail, i + 20) as usize == tail.len())
            .ok_or_else(|| bad("no end of central directory record; the file is truncated or not a zip"))?;
        let (mut entries, mut cd_size, mut cd_offset) = (u16_at(tail, eocd + 10), u32_at(tail, eocd + 12), u32_at(tail, eocd + 16));
        if entries == 0xffff || cd_size == 0xffff_ffff || cd_offset == 0xffff_ffff {
            let locator = eocd.checked_sub(20).filter(|&l| tail[l..l + 4] == [0x50, 0x4b, 0x06, 0x07]).ok_or_else(|| bad("zip64 locator missing"))?;
            let record_at = u64_at(tail, locator + 8);
            if record_at.checked_add(56).is_none_or(|end| end > self.size) {
                return Err(bad("zip64 end record points outside the file"));
            }
            let Some(rec) = self.bytes(record_at, 56) else {
                return Ok(Some(ByteRange { offset: record_at, len: 56 }));
            };
            if rec[0..4] != [0x50, 0x4b, 0x06, 0x06] || u64_at(rec, 4) != 44 {
                return Err(bad("unsupported zip64 end record (extensible data)"));
            }
            (entries, cd_size, cd_offset) = (u64_at(rec, 32), u64_at(rec, 40), u64_at(rec, 48));
        }
        if cd_size > MAX_ZIP_READ {
            return Err(ArchiveError::ReadBudget { file: self.file.raw.clone(), limit: MAX_ZIP_READ });
        }
        if cd_offset.checked_add(cd_size).is_none_or(|end| end > self.size) {
            return Err(bad("the central directory lies outside the file; it is truncated"));
        }
        if entries > cd_size / 46 + 1 {
            return Err(bad("the central directory claims more entries than it can hold"));
        }
        Ok(self.bytes(cd_offset, cd_size).is_none().then_some(ByteRange { offset: cd_offset, len: cd_size }))
    }

    /// Supplies bytes starting at `offset` (normally the range [`Step::Need`] asked for).
    pub fn supply(&mut self, offset: u64, data: Vec<u8>) {
        self.bytes_read += data.len() as u64;
        if data.is_empty() {
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

    fn has(&self, offset: u64) -> bool {
        self.segments.iter().any(|(o, d)| *o <= offset && offset < o + d.len() as u64)
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
                let data = source.read_at(range.offset, range.len).map_err(|e| ArchiveError::Source {
                    file: file.raw.clone(),
                    detail: e.to_string(),
                })?;
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
        for (o, d) in self.segments {
            let end = o + d.len() as u64;
            if *o <= self.pos && self.pos < end {
                let start = (self.pos - o) as usize;
                let n = buf.len().min(d.len() - start);
                buf[..n].copy_from_slice(&d[start..start + n]);
                self.pos += n as u64;
                return Ok(n);
            }
        }
        if self.missing.get().is_none() {
            self.missing.set(Some((self.pos, buf.len() as u64)));
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

fn read_zip(file: &DistFilename, reader: CacheReader<'_>) -> Result<MetadataFile, ArchiveError> {
    let raw = &file.raw;
    let bad = |e: zip::result::ZipError| ArchiveError::BadZip { file: raw.clone(), detail: e.to_string() };
    let mut archive = zip::ZipArchive::new(reader).map_err(bad)?;
    let names: Vec<String> = archive.file_names().map(|n| n.map(|n| n.into_owned())).collect::<Result<_, _>>().map_err(bad)?;
    if archive.has_duplicate_names() {
        let member = names.iter().find(|n| n.ends_with("METADATA") || n.ends_with("PKG-INFO")).cloned().unwrap_or_default();
        return Err(ArchiveError::DuplicateMember { file: raw.clone(), member });
    }
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
                paths: many.iter().map(|s| s.to_string()).collect(),
            })
        }
    };
    if file.is_wheel() {
        let dir = path.trim_end_matches("/METADATA");
        let stem = dir.trim_end_matches(".dist-info");
        let dist_name = stem.rsplit_once('-').map_or(stem, |(n, _)| n);
        if normalize_name(dist_name) != file.normalized_name {
            return Err(ArchiveError::DistInfoMismatch {
                file: raw.clone(),
                dir: dir.into(),
                expected: file.normalized_name.clone(),
            });
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
    let member = archive.by_index(index).map_err(bad)?;
    let mut bytes = Vec::with_capacity(size as usize);
    // Read one byte past the declared size: a member that inflates beyond it lies about itself.
    member.take(size + 1).read_to_end(&mut bytes).map_err(|e| bad(e.into()))?;
    if bytes.len() as u64 > size {
        return Err(bomb(raw, &path, MAX_RATIO + 1));
    }
    Ok(MetadataFile { path, bytes })
}

fn bomb(file: &str, member: &str, ratio: u64) -> ArchiveError {
    ArchiveError::CompressionBomb { file: file.into(), member: member.into(), ratio, limit: MAX_RATIO }
}

/// Counts compressed bytes read by the gzip decoder.
struct Counting<R> {
    inner: R,
    count: Rc<Cell<u64>>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
}

/// Stops decompression that expands beyond [`MAX_RATIO`] or [`MAX_TAR_SCAN`].
struct RatioGuard<R> {
    inner: R,
    compressed: Rc<Cell<u64>>,
    out: u64,
    tripped: Rc<Cell<Option<u64>>>,
}

impl<R: Read> Read for RatioGuard<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.out += n as u64;
        let compressed = self.compressed.get().max(1);
        if self.out > MAX_TAR_SCAN || (self.out > 4 * RATIO_SLACK && self.out / compressed > MAX_RATIO) {
            self.tripped.set(Some(self.out / compressed));
            return Err(io::Error::other("decompression ratio exceeded"));
        }
        Ok(n)
    }
}

fn read_tar(file: &DistFilename, reader: CacheReader<'_>, tripped: Rc<Cell<Option<u64>>>) -> Result<MetadataFile, ArchiveError> {
    let raw = &file.raw;
    let bad = |e: io::Error| ArchiveError::BadTar { file: raw.clone(), detail: e.to_string() };
    let count = Rc::new(Cell::new(0));
    // Multi-member gzip is valid gzip (Python's tarfile reads it); `MultiGzDecoder` does too.
    let gz = flate2::read::MultiGzDecoder::new(Counting { inner: reader, count: count.clone() });
    let guard = RatioGuard { inner: gz, compressed: count, out: 0, tripped };
    let mut archive = tar::Archive::new(guard);
    let mut top: Option<String> = None;
    let mut long_path: Option<String> = None;
    // Raw mode: long-name and pax entries come to us, so we bound them before they are read.
    for entry in archive.entries().map_err(bad)?.raw(true) {
        let mut entry = entry.map_err(bad)?;
        let kind = entry.header().entry_type();
        let size = entry.size();
        if kind.is_gnu_longname() || kind.is_gnu_longlink() || kind.is_pax_local_extensions() || kind.is_pax_global_extensions() {
            if size > MAX_TAR_EXTENSION {
                return Err(ArchiveError::BadTar {
                    file: raw.clone(),
                    detail: format!("an extended header of {size} bytes (limit {MAX_TAR_EXTENSION})"),
                });
            }
            if kind.is_gnu_longname() {
                let mut name = Vec::new();
                (&mut entry).take(size).read_to_end(&mut name).map_err(bad)?;
                long_path = Some(String::from_utf8_lossy(name.split(|&b| b == 0).next().unwrap_or_default()).into_owned());
            } else if kind.is_pax_local_extensions() {
                if let Some(exts) = entry.pax_extensions().map_err(bad)? {
                    for ext in exts.flatten() {
                        if ext.key() == Ok("path") {
                            long_path = ext.value().ok().map(str::to_string);
                        }
                    }
                }
            }
            continue;
        }
        let path = long_path.take().unwrap_or_else(|| String::from_utf8_lossy(&entry.header().path_bytes()).into_owned());
        let path = path.trim_start_matches("./").to_string();
        if path.is_empty() {
            continue;
        }
        let first = path.split('/').next().unwrap_or_default().to_string();
        let top = top.get_or_insert_with(|| first.clone());
        if *top != first {
            return Err(ArchiveError::TopLevel { file: raw.clone(), first: top.clone(), other: first });
        }
        if path != format!("{top}/PKG-INFO") {
            continue;
        }
        if !kind.is_file() {
            return Err(ArchiveError::NotAFile { file: raw.clone(), member: path });
        }
        if size > MAX_METADATA {
            return Err(ArchiveError::MetadataTooLarge { file: raw.clone(), member: path, size, limit: MAX_METADATA });
        }
        let mut bytes = Vec::with_capacity(size as usize);
        (&mut entry).take(MAX_METADATA + 1).read_to_end(&mut bytes).map_err(bad)?;
        return Ok(MetadataFile { path, bytes });
    }
    Err(ArchiveError::NoMetadata {
        file: raw.clone(),
        wanted: format!("`{}/PKG-INFO`", top.unwrap_or_else(|| "{name}-{version}".into())),
    })
}
