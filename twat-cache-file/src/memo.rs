//! [`RecordMemo`]: the index records this process read or wrote lately, kept in memory so
//! that a hit does not open the index file.
//!
//! # Why it is safe to serve from a remembered record
//!
//! A record names its content by the content's own hash, and a hit checks the content
//! against the record it used (length, CRC-64, and the key digest every content file ends
//! with). So whatever record a hit uses, the bytes it returns are bytes some write stored
//! under this key — never another key's, never damaged ones. What a remembered record can
//! be is *stale*: another process may have rewritten or removed the key since. That
//! process removes the content the old record named as soon as it has replaced or
//! removed the record (evictions, `clear` and expiry remove content too), so the next hit
//! here finds the content gone and reads the index file again. Two cases remain where an
//! old record's content still exists: the moment between the other process's rename and
//! its removal of the old content, and an old content file it failed to remove. Both are
//! bounded by [`REVALIDATE_AFTER`]: a record older than that is read from disk again.
//!
//! The guarantee, then: a hit returns the newest value of the key as of at most
//! [`REVALIDATE_AFTER`] ago (at once for rewrites and removals that completed), and always
//! bytes that were stored under the key. A record past its own expiry is never used.
//!
//! # Bounds
//!
//! At most [`CAPACITY`] records (a few hundred bytes each) are kept; when full, the memo
//! starts over, which costs each key one read of its index file.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use twat_cache_core::Digest;

use crate::record::IndexRecord;

/// How long a remembered record is used before its index file is read again.
pub(crate) const REVALIDATE_AFTER: Duration = Duration::from_secs(1);
/// The most records kept.
pub(crate) const CAPACITY: usize = 4096;

/// A record as this process last read or wrote it.
#[derive(Debug)]
pub(crate) struct Remembered {
    /// The record.
    pub(crate) record: Arc<IndexRecord>,
    /// Where its content lives.
    pub(crate) content_path: PathBuf,
    /// When it was read from (or written to) the index file.
    read_at: Instant,
    /// When this process last stamped the entry's recency, in milliseconds after `read_at`.
    stamped_after_ms: AtomicU64,
}

impl Remembered {
    /// Whether the entry's recency stamp is at least `resolution` old (as far as this
    /// process stamped it); if so, records that it is being stamped now.
    pub(crate) fn stamp_due(&self, resolution: Duration) -> bool {
        let now_ms = millis(self.read_at.elapsed());
        let last = self.stamped_after_ms.load(Ordering::Relaxed);
        if now_ms.saturating_sub(last) < millis(resolution) && !resolution.is_zero() {
            return false;
        }
        self.stamped_after_ms.store(now_ms, Ordering::Relaxed);
        true
    }
}

/// Remembered records by key digest.
#[derive(Debug, Default)]
pub(crate) struct RecordMemo {
    records: Mutex<HashMap<Digest, Arc<Remembered>>>,
}

impl RecordMemo {
    /// The remembered record of `digest`, if it is recent enough to use and not expired.
    pub(crate) fn get(&self, digest: &Digest) -> Option<Arc<Remembered>> {
        let remembered = self.records.lock().get(digest).cloned()?;
        if remembered.read_at.elapsed() >= REVALIDATE_AFTER || remembered.record.header.is_expired()
        {
            return None;
        }
        Some(remembered)
    }

    /// Remembers `record` (just read from or written to the index file; its recency was
    /// just stamped) with its content at `content_path`.
    pub(crate) fn remember(&self, digest: Digest, record: Arc<IndexRecord>, content_path: PathBuf) {
        let remembered = Arc::new(Remembered {
            record,
            content_path,
            read_at: Instant::now(),
            stamped_after_ms: AtomicU64::new(0),
        });
        let mut records = self.records.lock();
        if records.len() >= CAPACITY && !records.contains_key(&digest) {
            records.clear();
        }
        records.insert(digest, remembered);
    }

    /// Forgets the record of `digest`.
    pub(crate) fn forget(&self, digest: &Digest) {
        self.records.lock().remove(digest);
    }

    /// Forgets every record.
    pub(crate) fn clear(&self) {
        self.records.lock().clear();
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]
    use super::*;
    use cacache::Integrity;
    use twat_cache_core::DigestAlgorithm;
    use twat_cache_core::envelope::{Flags, Header};

    fn record(expires_at: Option<u64>) -> Arc<IndexRecord> {
        Arc::new(IndexRecord {
            header: Header {
                flags: Flags::RAW,
                expires_at,
            },
            stored_len: 1,
            value_len: 1,
            owner: 1,
            checksum: 0,
            integrity: Integrity::from(b"x"),
        })
    }

    #[test]
    fn remembers_forgets_and_refuses_expired_records() {
        let memo = RecordMemo::default();
        let key = Digest::of(b"k", DigestAlgorithm::Xxh3);
        assert!(memo.get(&key).is_none());
        memo.remember(key, record(None), PathBuf::from("c"));
        assert!(memo.get(&key).is_some());
        memo.forget(&key);
        assert!(memo.get(&key).is_none());
        memo.remember(key, record(Some(1)), PathBuf::from("c"));
        assert!(memo.get(&key).is_none(), "expired in 1970");
    }

    #[test]
    fn stamps_are_due_once_per_resolution() {
        let memo = RecordMemo::default();
        let key = Digest::of(b"k", DigestAlgorithm::Xxh3);
        memo.remember(key, record(None), PathBuf::from("c"));
        let remembered = memo.get(&key).unwrap();
        assert!(
            !remembered.stamp_due(Duration::from_secs(60)),
            "stamped when read"
        );
        assert!(remembered.stamp_due(Duration::ZERO), "zero: every hit");
    }

    #[test]
    fn a_full_memo_starts_over() {
        let memo = RecordMemo::default();
        for i in 0..=CAPACITY as u64 {
            let key = Digest::of(&i.to_le_bytes(), DigestAlgorithm::Xxh3);
            memo.remember(key, record(None), PathBuf::from("c"));
        }
        assert_eq!(memo.records.lock().len(), 1);
    }
}
