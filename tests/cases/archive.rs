//! Archives read through byte ranges: caps, hostile zips and sdists, Python's choices.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use std::io::{Read, Write};

use pypublish::archive::*;
use pypublish::filename::DistFilename;

/// gzip's FNAME flag (RFC 1952).
const FNAME: u8 = 8;

const MD: &[u8] = b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n";

fn file(name: &str) -> DistFilename {
    DistFilename::parse(name).unwrap()
}

/// Drives a reader over `read(offset, len)`; returns the outcome, bytes read and ranges asked.
fn drive(name: &str, size: u64, limits: Limits, mut read: impl FnMut(u64, u64) -> Vec<u8>) -> (Result<MetadataFile, ArchiveError>, u64, Vec<ByteRange>) {
    let mut reader = MetadataReader::with_limits(&file(name), size, limits);
    let mut ranges = Vec::new();
    loop {
        match reader.step() {
            Step::Done(r) => return (r, reader.bytes_read(), ranges),
            Step::Need(range) => {
                assert!(range.len > 0 && range.offset + range.len <= size, "{range:?} outside {size}");
                assert!(ranges.len() < 10_000, "no end in sight");
                ranges.push(range);
                reader.supply(range.offset, read(range.offset, range.len));
            }
        }
    }
}

fn drive_bytes(name: &str, bytes: &[u8], limits: Limits) -> (Result<MetadataFile, ArchiveError>, u64, Vec<ByteRange>) {
    drive(name, bytes.len() as u64, limits, |o, l| bytes[o as usize..(o + l) as usize].to_vec())
}

fn zip_with(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (path, bytes) in members {
        w.start_file(*path, zip::write::SimpleFileOptions::default()).unwrap();
        w.write_all(bytes).unwrap();
    }
    w.finish().unwrap().into_inner()
}

fn header(path: &str, size: usize, kind: tar::EntryType) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_size(size as u64);
    h.set_mode(0o644);
    h.set_path(path).unwrap();
    h.set_cksum();
    h
}

/// A `.tar.gz` of `(path, bytes)` regular files and `(header, bytes)` raw entries.
fn tar_gz(entries: &[(tar::Header, Vec<u8>)]) -> Vec<u8> {
    let mut b = tar::Builder::new(flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast()));
    for (h, data) in entries {
        b.append(h, &data[..]).unwrap();
    }
    b.into_inner().unwrap().finish().unwrap()
}

fn file_entry(path: &str, data: &[u8]) -> (tar::Header, Vec<u8>) {
    (header(path, data.len(), tar::EntryType::Regular), data.to_vec())
}

/// Bytes that do not compress.
fn noise(len: usize) -> Vec<u8> {
    let mut x = 0x9e3779b97f4a7c15u64;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

#[test]
fn a_zip_declaring_more_members_than_the_cap_is_refused_before_its_directory_is_read() {
    // 1.2 M members cost the zip crate 370 MB of heap; the zip64 end record alone refuses it.
    let entries: u64 = 1_200_000;
    let cd_size = entries * 46;
    let mut tail = Vec::new();
    tail.extend_from_slice(&[0x50, 0x4b, 0x06, 0x06]);
    tail.extend_from_slice(&44u64.to_le_bytes());
    tail.extend_from_slice(&[45, 0, 45, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    for v in [entries, entries, cd_size, 0] {
        tail.extend_from_slice(&v.to_le_bytes());
    }
    tail.extend_from_slice(&[0x50, 0x4b, 0x06, 0x07, 0, 0, 0, 0]);
    tail.extend_from_slice(&cd_size.to_le_bytes());
    tail.extend_from_slice(&1u32.to_le_bytes());
    tail.extend_from_slice(&[0x50, 0x4b, 0x05, 0x06, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]);
    tail.extend_from_slice(&[0xff; 8]);
    tail.extend_from_slice(&[0, 0]);
    let size = cd_size + tail.len() as u64;
    let (r, read, _) = drive("demo-1.0-py3-none-any.whl", size, Limits::default(), |o, l| {
        (o..o + l).map(|p| if p >= cd_size { tail[(p - cd_size) as usize] } else { 0 }).collect()
    });
    assert_eq!(r, Err(ArchiveError::TooManyEntries { file: "demo-1.0-py3-none-any.whl".into(), entries, limit: MAX_ZIP_ENTRIES }));
    assert!(read <= ZIP_TAIL, "read {read}");
}

#[test]
fn a_zip_with_more_members_than_the_cap_is_refused_and_one_within_it_is_read() {
    let names: Vec<String> = (0..10).map(|i| format!("demo/m{i}.py")).collect();
    let mut members: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b""[..])).collect();
    members.push(("demo-1.0.dist-info/METADATA", MD));
    let wheel = zip_with(&members);
    let small = Limits { zip_entries: 10, ..Limits::default() };
    let (r, read, _) = drive_bytes("demo-1.0-py3-none-any.whl", &wheel, small);
    assert!(matches!(r, Err(ArchiveError::TooManyEntries { entries: 11, limit: 10, .. })), "{r:?}");
    assert!(read <= wheel.len() as u64);
    let (r, _, _) = drive_bytes("demo-1.0-py3-none-any.whl", &wheel, Limits { zip_entries: 11, ..small });
    assert_eq!(r.unwrap().bytes, MD);
}

#[test]
fn a_central_directory_over_its_cap_is_refused_before_it_is_read() {
    let mut wheel = vec![0u8; 300 << 10];
    wheel.extend(zip_with(&[("demo/a.py", b"x"), ("demo-1.0.dist-info/METADATA", MD)]));
    let limits = Limits { central_directory: 100, ..Limits::default() };
    let (r, read, ranges) = drive_bytes("demo-1.0-py3-none-any.whl", &wheel, limits);
    assert!(matches!(r, Err(ArchiveError::CentralDirectoryTooLarge { limit: 100, .. })), "{r:?}");
    assert_eq!(ranges.len(), 1, "only the tail was read");
    assert!(read <= ZIP_TAIL);
    assert!(r.unwrap_err().to_string().contains("central directory"));
}

#[test]
fn a_large_metadata_member_is_fetched_in_one_range() {
    // Every step parses the directory again, so the member must not come 64 KiB at a time.
    let mut md = MD.to_vec();
    md.extend(noise(3 << 20));
    let big = noise(1 << 20);
    let wheel = zip_with(&[("demo/big.bin", &big), ("demo-1.0.dist-info/METADATA", &md), ("demo/a.py", b"x")]);
    let (r, _, ranges) = drive_bytes("demo-1.0-py3-none-any.whl", &wheel, Limits::default());
    assert_eq!(r.unwrap().bytes, md);
    assert!(ranges.len() <= 3, "{ranges:?}");
}

#[test]
fn bytes_after_the_end_record_are_ignored_as_python_does() {
    let mut wheel = zip_with(&[("demo-1.0.dist-info/METADATA", MD)]);
    wheel.extend_from_slice(b"trailing junk");
    let (r, _, _) = drive_bytes("demo-1.0-py3-none-any.whl", &wheel, Limits::default());
    assert_eq!(r.unwrap().path, "demo-1.0.dist-info/METADATA");
}

#[test]
fn a_gap_before_the_end_record_is_refused_since_python_would_read_elsewhere() {
    let wheel = zip_with(&[("demo-1.0.dist-info/METADATA", MD)]);
    let eocd = wheel.len() - 22;
    let mut gapped = wheel[..eocd].to_vec();
    gapped.extend_from_slice(&[0; 7]);
    gapped.extend_from_slice(&wheel[eocd..]);
    let (r, _, _) = drive_bytes("demo-1.0-py3-none-any.whl", &gapped, Limits::default());
    assert!(matches!(&r, Err(ArchiveError::BadZip { detail, .. }) if detail.contains("between")), "{r:?}");
}

#[test]
fn a_member_listed_twice_is_named_in_the_error() {
    let wheel = zip_with(&[("demo-1.0.dist-info/METADATA", MD), ("demo-1.0.dist-info/METADATX", b"Name: evil\n")]);
    let needle = b"METADATX";
    let mut twice = wheel.clone();
    let mut i = 0;
    while let Some(at) = twice[i..].windows(needle.len()).position(|w| w == needle) {
        twice[i + at + 7] = b'A';
        i += at + 1;
    }
    let (r, _, _) = drive_bytes("demo-1.0-py3-none-any.whl", &twice, Limits::default());
    assert_eq!(r, Err(ArchiveError::DuplicateMember { file: "demo-1.0-py3-none-any.whl".into(), member: "demo-1.0.dist-info/METADATA".into() }));
}

#[test]
fn many_metadata_candidates_are_counted_not_all_listed() {
    let names: Vec<String> = (0..50).map(|i| format!("demo_{i}-1.0.dist-info/METADATA")).collect();
    let members: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), MD)).collect();
    let (r, _, _) = drive_bytes("demo-1.0-py3-none-any.whl", &zip_with(&members), Limits::default());
    let e = r.unwrap_err();
    assert!(matches!(&e, ArchiveError::MultipleMetadata { paths, count: 50, .. } if paths.len() == MAX_LISTED), "{e:?}");
    assert!(e.to_string().len() < 400, "{e}");
}

#[test]
fn supplied_bytes_past_the_end_of_the_file_are_dropped_without_overflow() {
    let wheel = zip_with(&[("demo-1.0.dist-info/METADATA", MD)]);
    for name in ["demo-1.0-py3-none-any.whl", "demo-1.0.tar.gz"] {
        let mut reader = MetadataReader::new(&file(name), wheel.len() as u64);
        reader.supply(u64::MAX - 3, vec![1; 10]);
        reader.supply(wheel.len() as u64 - 2, vec![1; 10]);
        assert_eq!(reader.bytes_read(), 20);
        assert!(matches!(reader.step(), Step::Need(_) | Step::Done(_)));
    }
}

#[test]
fn an_sdist_is_inflated_once_front_to_back_in_bounded_blocks() {
    // hatchling and flit write PKG-INFO last: the whole sdist is read, each byte once.
    let sdist = tar_gz(&[file_entry("demo-1.0/data.bin", &noise(3 << 20)), file_entry("demo-1.0/PKG-INFO", MD)]);
    let (r, read, ranges) = drive_bytes("demo-1.0.tar.gz", &sdist, Limits::default());
    assert_eq!(r.unwrap(), MetadataFile { path: "demo-1.0/PKG-INFO".into(), bytes: MD.to_vec() });
    assert_eq!(read, sdist.len() as u64, "every byte read exactly once");
    let mut next = 0;
    for range in &ranges {
        assert_eq!(range.offset, next, "ranges follow each other: {ranges:?}");
        assert!(range.len <= MAX_TAR_BLOCK);
        next += range.len;
    }
}

#[test]
fn an_sdist_without_pkg_info_stops_at_its_read_budget() {
    let sdist = tar_gz(&[file_entry("demo-1.0/data.bin", &noise(1 << 20))]);
    let limits = Limits { sdist_read: 256 << 10, ..Limits::default() };
    let (r, read, _) = drive_bytes("demo-1.0.tar.gz", &sdist, limits);
    assert_eq!(r, Err(ArchiveError::SdistReadLimit { file: "demo-1.0.tar.gz".into(), limit: 256 << 10 }));
    assert!(read <= 256 << 10, "read {read}");
}

#[test]
fn an_sdist_scan_stops_at_its_decompressed_cap() {
    let sdist = tar_gz(&[file_entry("demo-1.0/data.bin", &noise(2 << 20)), file_entry("demo-1.0/PKG-INFO", MD)]);
    let limits = Limits { tar_scan: 1 << 20, ..Limits::default() };
    let (r, read, _) = drive_bytes("demo-1.0.tar.gz", &sdist, limits);
    assert_eq!(r, Err(ArchiveError::TarScanLimit { file: "demo-1.0.tar.gz".into(), limit: 1 << 20 }));
    assert!(read < sdist.len() as u64);
}

#[test]
fn an_sdist_with_more_entries_than_the_cap_is_refused() {
    let mut entries: Vec<_> = (0..100).map(|i| file_entry(&format!("demo-1.0/f{i}"), b"x")).collect();
    entries.push(file_entry("demo-1.0/PKG-INFO", MD));
    let sdist = tar_gz(&entries);
    let (r, _, _) = drive_bytes("demo-1.0.tar.gz", &sdist, Limits { tar_entries: 100, ..Limits::default() });
    assert!(matches!(r, Err(ArchiveError::TooManyEntries { entries: 101, limit: 100, .. })), "{r:?}");
    let (r, _, _) = drive_bytes("demo-1.0.tar.gz", &sdist, Limits { tar_entries: 101, ..Limits::default() });
    assert_eq!(r.unwrap().bytes, MD);
}

#[test]
fn an_sdist_of_endless_empty_gzip_members_is_refused() {
    let empty = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast()).finish().unwrap();
    let sdist = empty.repeat(5000);
    let (r, read, _) = drive_bytes("demo-1.0.tar.gz", &sdist, Limits::default());
    assert_eq!(r, Err(ArchiveError::GzipMembers { file: "demo-1.0.tar.gz".into(), limit: MAX_GZIP_MEMBERS }));
    assert!(read < sdist.len() as u64);
    // A few members, as some tools write, are read like Python reads them.
    let tar = tar_gz(&[file_entry("demo-1.0/PKG-INFO", MD)]);
    let mut plain = Vec::new();
    flate2::read::GzDecoder::new(&tar[..]).read_to_end(&mut plain).unwrap();
    let mut two = Vec::new();
    for half in [&plain[..700], &plain[700..]] {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(half).unwrap();
        two.extend(gz.finish().unwrap());
        two.extend_from_slice(&[0; 3]);
    }
    assert_eq!(drive_bytes("demo-1.0.tar.gz", &two, Limits::default()).0.unwrap().bytes, MD);
}

#[test]
fn a_gzip_header_with_an_endless_name_is_refused() {
    let mut sdist = vec![0x1f, 0x8b, 8, FNAME, 0, 0, 0, 0, 0, 3];
    sdist.extend(std::iter::repeat_n(b'a', 4 << 20));
    let (r, read, _) = drive_bytes("demo-1.0.tar.gz", &sdist, Limits::default());
    assert!(matches!(&r, Err(ArchiveError::BadTar { detail, .. }) if detail.contains("gzip header")), "{r:?}");
    assert!(read <= 4 * MAX_GZIP_HEADER, "read {read}");
}

#[test]
fn damaged_and_truncated_sdists_are_refused() {
    let sdist = tar_gz(&[file_entry("demo-1.0/setup.py", &noise(5000)), file_entry("demo-1.0/PKG-INFO", MD)]);
    let mut crc = sdist.clone();
    let at = crc.len() - 8;
    crc[at] ^= 1;
    let (r, _, _) = drive_bytes("demo-1.0.tar.gz", &crc, Limits::default());
    // PKG-INFO is whole before the trailer is read: the member is returned, as tarfile would.
    assert_eq!(r.unwrap().bytes, MD);
    // A damaged first member of two is caught at its trailer.
    let mut plain = Vec::new();
    flate2::read::GzDecoder::new(&sdist[..]).read_to_end(&mut plain).unwrap();
    let mut two = Vec::new();
    for half in [&plain[..1024], &plain[1024..]] {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(half).unwrap();
        let mut member = gz.finish().unwrap();
        if two.is_empty() {
            let at = member.len() - 8;
            member[at] ^= 1;
        }
        two.extend(member);
    }
    let (r, _, _) = drive_bytes("demo-1.0.tar.gz", &two, Limits::default());
    assert!(matches!(&r, Err(ArchiveError::BadTar { detail, .. }) if detail.contains("checksum")), "{r:?}");
    let (r, _, _) = drive_bytes("demo-1.0.tar.gz", &sdist[..sdist.len() / 2], Limits::default());
    assert!(matches!(&r, Err(ArchiveError::BadTar { detail, .. }) if detail.contains("truncated")), "{r:?}");
    let (r, _, _) = drive_bytes("demo-1.0.tar.gz", &[], Limits::default());
    assert!(matches!(&r, Err(ArchiveError::BadTar { detail, .. }) if detail.contains("empty")), "{r:?}");
}

#[test]
fn pax_paths_and_gnu_long_names_name_members_as_in_python() {
    let long_top = format!("demo-1.0-{}", "x".repeat(120));
    let mut b = tar::Builder::new(flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast()));
    for (path, data) in [(format!("{long_top}/a.py"), &b"x"[..]), (format!("{long_top}/PKG-INFO"), MD)] {
        b.append_data(&mut header("x", data.len(), tar::EntryType::Regular), path, data).unwrap();
    }
    let long = b.into_inner().unwrap().finish().unwrap();
    let (r, _, _) = drive_bytes("demo-1.0.tar.gz", &long, Limits::default());
    assert_eq!(r.unwrap().path, format!("{long_top}/PKG-INFO"));
    let record = |k: &str, v: &str| {
        let body = format!(" {k}={v}\n");
        let mut len = body.len() + 1;
        if (len.to_string() + &body).len() != len {
            len += 1;
        }
        format!("{len}{body}")
    };
    let pax = format!("{}{}", record("path", "demo-1.0/PKG-INFO"), record("size", &MD.len().to_string()));
    let mut named = header("demo-1.0/not-it", 0, tar::EntryType::Regular);
    named.set_cksum();
    let sdist =
        tar_gz(&[file_entry("demo-1.0/setup.py", b"x"), (header("PaxHeader", pax.len(), tar::EntryType::XHeader), pax.into_bytes()), (named, MD.to_vec())]);
    let (r, _, _) = drive_bytes("demo-1.0.tar.gz", &sdist, Limits::default());
    assert_eq!(r.unwrap(), MetadataFile { path: "demo-1.0/PKG-INFO".into(), bytes: MD.to_vec() });
}

#[test]
fn an_sdists_outcome_does_not_depend_on_how_its_bytes_are_split() {
    // Found by fuzzing (selector byte, then the file): a tar header with a bad checksum,
    // then corrupt deflate data that one inflate call reached together. Read whole, the
    // deflate error won; read in small ranges, the header did.
    let input = include_bytes!("../../fuzz/regressions/archive/sdist-outcome-depended-on-range-split-8ceb6c5e");
    let sdist = &input[1..];
    let mut outcomes = Vec::new();
    for short in [u64::MAX, 61, 509, 4093] {
        let (r, _, _) = drive("uuid-1.0.tar.gz", sdist.len() as u64, Limits::default(), |o, l| sdist[o as usize..(o + l.min(short)) as usize].to_vec());
        outcomes.push(r);
    }
    assert!(matches!(&outcomes[0], Err(ArchiveError::BadTar { detail, .. }) if detail.contains("checksum")), "{outcomes:?}");
    assert!(outcomes.iter().all(|o| *o == outcomes[0]), "{outcomes:?}");
}

#[test]
fn a_tar_header_with_a_bad_checksum_is_refused() {
    let mut plain = vec![0u8; 1024];
    plain[..512].copy_from_slice(header("demo-1.0/PKG-INFO", 0, tar::EntryType::Regular).as_bytes());
    plain[0] ^= 0x20;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&plain).unwrap();
    let (r, _, _) = drive_bytes("demo-1.0.tar.gz", &gz.finish().unwrap(), Limits::default());
    assert!(matches!(&r, Err(ArchiveError::BadTar { detail, .. }) if detail.contains("checksum")), "{r:?}");
}
