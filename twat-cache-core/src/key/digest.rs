//! Fixed-length, path-safe file names from key bytes.
//!
//! File names need fixed-length, path-safe strings: the [`Digest`] of the key bytes,
//! BLAKE3 when the cache is `secure` (the default: names reveal nothing and cannot be
//! steered into collisions) and xxh3-128 otherwise (several times faster, not
//! collision-resistant against an adversary).

use std::fmt;

/// Which hash names files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DigestAlgorithm {
    /// BLAKE3, 256 bits: collision-resistant (used when `secure = true`).
    Blake3,
    /// xxh3, 128 bits: fast, not collision-resistant against an adversary.
    Xxh3,
}

impl DigestAlgorithm {
    /// BLAKE3 when `secure`, xxh3-128 otherwise.
    #[must_use]
    pub const fn for_security(secure: bool) -> Self {
        if secure { Self::Blake3 } else { Self::Xxh3 }
    }
}

/// A fixed-length digest of key bytes, for file names.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Digest {
    bytes: [u8; 32],
    len: u8,
}

impl Digest {
    /// Hashes `bytes` with `algorithm`.
    ///
    /// ```
    /// use twat_cache_core::{Digest, DigestAlgorithm};
    ///
    /// let digest = Digest::of(b"key", DigestAlgorithm::Xxh3);
    /// assert_eq!(digest.as_bytes().len(), 16);
    /// assert_eq!(digest.to_hex().len(), 32);
    /// ```
    #[must_use]
    pub fn of(bytes: &[u8], algorithm: DigestAlgorithm) -> Self {
        match algorithm {
            DigestAlgorithm::Blake3 => Self {
                bytes: *blake3::hash(bytes).as_bytes(),
                len: 32,
            },
            DigestAlgorithm::Xxh3 => {
                let mut out = [0_u8; 32];
                let hash = xxhash_rust::xxh3::xxh3_128(bytes).to_be_bytes();
                out[..16].copy_from_slice(&hash);
                Self {
                    bytes: out,
                    len: 16,
                }
            }
        }
    }

    /// The digest bytes (32 for BLAKE3, 16 for xxh3-128).
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    /// The digest as lower-case hexadecimal, safe as a file name on every platform.
    #[must_use]
    pub fn to_hex(&self) -> String {
        // A table lookup per nibble: `write!("{:02x}")` per byte went through the
        // formatting machinery and cost a measurable share of a file-engine hit.
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut hex = String::with_capacity(usize::from(self.len) * 2);
        for &byte in self.as_bytes() {
            hex.push(char::from(DIGITS[usize::from(byte >> 4)]));
            hex.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
        }
        hex
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({})", self.to_hex())
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}
