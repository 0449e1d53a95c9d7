//! [`Usage`]: what one cache holds in its folder — entries and the bytes they account
//! for — and its 29-byte encoding in the cache's ledger file (`ledger.rs`).
//!
//! ```text
//! offset  size  field
//! 0       4     magic b"TWCU"
//! 4       1     version (1)
//! 5       8     entries, LE
//! 13      8     bytes, LE
//! 21      8     xxh3-64 of bytes 0..21, LE
//! ```
//!
//! The trailing checksum makes a torn or garbled ledger a detected "unknown", which the
//! engine answers with an exact recount of the folder.

use xxhash_rust::xxh3::xxh3_64;

const MAGIC: [u8; 4] = *b"TWCU";
const VERSION: u8 = 1;
/// The length of an encoded [`Usage`].
pub(crate) const ENCODED_LEN: usize = 4 + 1 + 8 + 8 + 8;

/// Entries and bytes of one cache in its folder.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Usage {
    entries: u64,
    bytes: u64,
}

impl Usage {
    /// `entries` entries taking `bytes` bytes.
    pub(crate) const fn new(entries: u64, bytes: u64) -> Self {
        Self { entries, bytes }
    }

    /// The number of entries.
    pub(crate) const fn entries(&self) -> u64 {
        self.entries
    }

    /// The bytes the entries account for.
    pub(crate) const fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The usage once an entry of `added` bytes is written, replacing one of `replaced`
    /// bytes (`None` when the key was new).
    #[must_use]
    pub(crate) const fn after_write(self, added: u64, replaced: Option<u64>) -> Self {
        let (removed, new_entry) = match replaced {
            Some(replaced) => (replaced, 0),
            None => (0, 1),
        };
        Self {
            entries: self.entries.saturating_add(new_entry),
            bytes: self.bytes.saturating_add(added).saturating_sub(removed),
        }
    }

    /// The usage once an entry of `footprint` bytes is removed.
    #[must_use]
    pub(crate) const fn after_removal(self, footprint: u64) -> Self {
        Self {
            entries: self.entries.saturating_sub(1),
            bytes: self.bytes.saturating_sub(footprint),
        }
    }

    /// The larger of the two in each field: a count that is right both before and after a
    /// change (see `ledger.rs`: the ledger may overstate, never understate).
    #[must_use]
    pub(crate) fn max(self, other: Self) -> Self {
        Self {
            entries: self.entries.max(other.entries),
            bytes: self.bytes.max(other.bytes),
        }
    }

    /// The ledger bytes of this usage.
    pub(crate) fn encode(&self) -> [u8; ENCODED_LEN] {
        let mut bytes = [0_u8; ENCODED_LEN];
        bytes[..4].copy_from_slice(&MAGIC);
        bytes[4] = VERSION;
        bytes[5..13].copy_from_slice(&self.entries.to_le_bytes());
        bytes[13..21].copy_from_slice(&self.bytes.to_le_bytes());
        let checksum = xxh3_64(&bytes[..21]);
        bytes[21..].copy_from_slice(&checksum.to_le_bytes());
        bytes
    }

    /// Parses ledger bytes; `None` for anything but a whole, intact record of this version.
    pub(crate) fn decode(bytes: &[u8]) -> Option<Self> {
        let bytes: &[u8; ENCODED_LEN] = bytes.try_into().ok()?;
        let (body, checksum) = bytes.split_last_chunk::<8>()?;
        if xxh3_64(body) != u64::from_le_bytes(*checksum) {
            return None;
        }
        let (head, words) = body.split_first_chunk::<5>()?;
        if head[..4] != MAGIC || head[4] != VERSION {
            return None;
        }
        let (entries, bytes) = words.split_first_chunk::<8>()?;
        let bytes: &[u8; 8] = bytes.try_into().ok()?;
        Some(Self {
            entries: u64::from_le_bytes(*entries),
            bytes: u64::from_le_bytes(*bytes),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_and_removals_keep_the_totals() {
        let usage = Usage::new(1, 100).after_write(50, None);
        assert_eq!((usage.entries(), usage.bytes()), (2, 150));
        let usage = usage.after_write(70, Some(50));
        assert_eq!((usage.entries(), usage.bytes()), (2, 170));
        let usage = usage.after_removal(70).after_removal(1000).after_removal(1);
        assert_eq!(usage, Usage::default());
        assert_eq!(Usage::new(3, 10).max(Usage::new(2, 20)), Usage::new(3, 20));
    }

    #[test]
    fn the_encoding_round_trips_and_rejects_any_damage() {
        let usage = Usage::new(12, 345_678);
        let bytes = usage.encode();
        assert_eq!(Usage::decode(&bytes), Some(usage));
        for at in 0..bytes.len() {
            let mut garbled = bytes;
            garbled[at] ^= 0x10;
            assert_eq!(Usage::decode(&garbled), None, "flip at {at}");
            assert_eq!(Usage::decode(&bytes[..at]), None, "cut at {at}");
        }
        let mut longer = bytes.to_vec();
        longer.push(0);
        assert_eq!(Usage::decode(&longer), None);
    }
}
