//! One pass over the file's bytes feeding sha256, md5 and blake2b-256 from the same chunks.

use blake2::Blake2b256;
use md5::Md5;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The three digests being computed; feed chunks with [`Digester::update`].
#[derive(Clone, Default)]
pub struct Digester {
    sha256: Sha256,
    md5: Md5,
    blake2: Blake2b256,
    len: u64,
}

/// Finished digests in lowercase hex, as the upload form carries them (JS sees the same names:
/// `sha256`, `md5`, `blake2_256`, `len`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DigestSet {
    /// `sha256_digest`.
    pub sha256: String,
    /// `md5_digest`.
    pub md5: String,
    /// `blake2_256_digest`.
    pub blake2_256: String,
    /// How many bytes were hashed.
    pub len: u64,
}

impl DigestSet {
    /// The same digests in lowercase, when each is hex of its length; a caller's digests are
    /// compared with an index's and the bytes sent, which are lowercase.
    pub fn checked(&self) -> Option<DigestSet> {
        let hex = |s: &str, n: usize| (s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit())).then(|| s.to_ascii_lowercase());
        Some(DigestSet { sha256: hex(&self.sha256, 64)?, md5: hex(&self.md5, 32)?, blake2_256: hex(&self.blake2_256, 64)?, len: self.len })
    }

    /// Zeros of each digest's length: a stand-in while the real digests are computed during
    /// the upload (the body's length must be known before).
    pub fn placeholder() -> Self {
        DigestSet { sha256: "0".repeat(64), md5: "0".repeat(32), blake2_256: "0".repeat(64), len: 0 }
    }
}

impl Digester {
    /// A fresh set of hashers.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds one chunk to all three hashers.
    pub fn update(&mut self, chunk: &[u8]) {
        self.sha256.update(chunk);
        self.md5.update(chunk);
        self.blake2.update(chunk);
        self.len += chunk.len() as u64;
    }

    /// Bytes fed so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True before any byte was fed.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Finishes all three digests.
    pub fn finish(self) -> DigestSet {
        DigestSet { sha256: hex(&self.sha256.finalize()), md5: hex(&self.md5.finalize()), blake2_256: hex(&self.blake2.finalize()), len: self.len }
    }
}

/// Digests of a whole buffer.
pub fn digest_bytes(data: &[u8]) -> DigestSet {
    let mut d = Digester::new();
    d.update(data);
    d.finish()
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(HEX[(b >> 4) as usize] as char);
        s.push(HEX[(b & 15) as usize] as char);
    }
    s
}
