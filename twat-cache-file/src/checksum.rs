//! The read-time integrity check: CRC-64/NVME over the whole content file.
//!
//! # Why not cacache's own check
//!
//! cacache re-hashes content on every read with the algorithm of its address. SHA-256
//! runs at ≈ 1 GB/s; xxh3-128 (what this crate addresses content with) at ≈ 30 GB/s
//! here, but only with the SSE2 code `xxhash-rust` picks at compile time — as slow as
//! `std::fs::read` itself, so a 1 MiB hit could not stay under 2× a plain read. CRC-64
//! from `crc-fast` picks PCLMULQDQ/VPCLMULQDQ at run time (≈ 58 GB/s here), detects
//! every burst error up to 64 bits and any other accidental damage with probability
//! 1 − 2⁻⁶⁴. Like xxh3 it is no defence against someone who can write the cache folder
//! on purpose; that is what `secure` (owner-only files) is for.

use crc_fast::{CrcAlgorithm, Digest};

/// A running CRC-64/NVME.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Checksum(Digest);

impl Checksum {
    pub(crate) fn new() -> Self {
        Self(Digest::new(CrcAlgorithm::Crc64Nvme))
    }

    pub(crate) fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    pub(crate) fn value(&self) -> u64 {
        self.0.finalize()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streaming_equals_one_shot_and_sees_one_flipped_bit() {
        let bytes: Vec<u8> = (0..10_000_u32)
            .map(|i| u8::try_from(i % 251).unwrap())
            .collect();
        let mut whole = Checksum::new();
        whole.update(&bytes);
        let mut parts = Checksum::new();
        for chunk in bytes.chunks(777) {
            parts.update(chunk);
        }
        assert_eq!(whole.value(), parts.value());
        let mut flipped = bytes.clone();
        flipped[5000] ^= 1;
        let mut other = Checksum::new();
        other.update(&flipped);
        assert_ne!(whole.value(), other.value());
    }
}
