//! The in-memory index of one cache's entries: for every stored key, its size in bytes,
//! its expiry and when it was last used.
//!
//! The index is built by one scan of the keyspace when the cache opens and kept exact
//! afterwards — this process is the folder's only writer, because fjall locks the folder.
//! It answers, without touching the disk: "is this key stored at all?" (a miss costs a
//! hash lookup, not an LSM read), how many bytes the cache holds (for `maxsize`), which
//! entries have expired (for the background sweeper) and which entries were used least
//! recently (for eviction).
//!
//! Memory cost: the key bytes plus about 60 bytes per entry.

use std::collections::HashMap;

use fjall::Slice;

/// What the index knows about one stored entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Meta {
    /// Key length plus stored value length, in bytes.
    pub(crate) size: u64,
    /// Unix milliseconds after which the entry is expired; 0 = never.
    pub(crate) expires_at: u64,
    /// The cache's write epoch when the entry was last stored or read (0 = not used
    /// since the cache opened).
    pub(crate) last_used: u64,
}

impl Meta {
    /// Whether the entry is expired at `now_ms`.
    pub(crate) const fn is_expired_at(&self, now_ms: u64) -> bool {
        self.expires_at != 0 && now_ms >= self.expires_at
    }
}

/// Every entry of one cache, with byte and expiry totals.
#[derive(Debug, Default)]
pub(crate) struct Index {
    entries: HashMap<Slice, Meta, foldhash::fast::RandomState>,
    bytes: u64,
    expiring: usize,
}

impl Index {
    /// Number of entries.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Sum of the entries' sizes in bytes.
    pub(crate) const fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Whether any entry carries an expiry.
    pub(crate) const fn has_expiring(&self) -> bool {
        self.expiring > 0
    }

    /// The entry under `key`, for reading or touching.
    pub(crate) fn get_mut(&mut self, key: &[u8]) -> Option<&mut Meta> {
        self.entries.get_mut(key)
    }

    /// The entry under `key`.
    pub(crate) fn get(&self, key: &[u8]) -> Option<&Meta> {
        self.entries.get(key)
    }

    /// Records an entry, replacing any previous one under the same key.
    pub(crate) fn insert(&mut self, key: Slice, meta: Meta) {
        self.bytes = self.bytes.saturating_add(meta.size);
        if meta.expires_at != 0 {
            self.expiring += 1;
        }
        if let Some(old) = self.entries.insert(key, meta) {
            self.forget(&old);
        }
    }

    /// Forgets the entry under `key`, returning what was known about it.
    pub(crate) fn remove(&mut self, key: &[u8]) -> Option<Meta> {
        let old = self.entries.remove(key)?;
        self.forget(&old);
        Some(old)
    }

    fn forget(&mut self, old: &Meta) {
        self.bytes = self.bytes.saturating_sub(old.size);
        if old.expires_at != 0 {
            self.expiring = self.expiring.saturating_sub(1);
        }
    }

    /// Forgets every entry.
    pub(crate) fn clear(&mut self) {
        self.entries.clear();
        self.bytes = 0;
        self.expiring = 0;
    }

    /// The keys of every entry expired at `now_ms`.
    pub(crate) fn expired(&self, now_ms: u64) -> Vec<Slice> {
        if self.expiring == 0 {
            return Vec::new();
        }
        self.entries
            .iter()
            .filter(|(_, meta)| meta.is_expired_at(now_ms))
            .map(|(key, _)| key.clone())
            .collect()
    }

    /// The entries to remove so that at most `target_bytes` remain: every expired entry,
    /// then the least recently used ones (oldest `last_used` first; ties in any order).
    pub(crate) fn victims(&self, now_ms: u64, target_bytes: u64) -> Vec<Slice> {
        if self.bytes <= target_bytes && self.expired_count_hint(now_ms) == 0 {
            return Vec::new();
        }
        let mut candidates: Vec<(u64, &Slice, u64)> = self
            .entries
            .iter()
            .map(|(key, meta)| {
                // Expired entries sort before everything else.
                let order = if meta.is_expired_at(now_ms) {
                    0
                } else {
                    meta.last_used.saturating_add(1)
                };
                (order, key, meta.size)
            })
            .collect();
        candidates.sort_unstable_by_key(|&(order, _, _)| order);
        let mut remaining = self.bytes;
        let mut victims = Vec::new();
        for (order, key, size) in candidates {
            if order != 0 && remaining <= target_bytes {
                break;
            }
            remaining = remaining.saturating_sub(size);
            victims.push(key.clone());
        }
        victims
    }

    fn expired_count_hint(&self, now_ms: u64) -> usize {
        if self.expiring == 0 {
            0
        } else {
            self.entries
                .values()
                .filter(|meta| meta.is_expired_at(now_ms))
                .count()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(size: u64, expires_at: u64, last_used: u64) -> Meta {
        Meta {
            size,
            expires_at,
            last_used,
        }
    }

    #[test]
    fn totals_follow_inserts_and_removes() {
        let mut index = Index::default();
        index.insert(Slice::from(b"a"), meta(10, 0, 1));
        index.insert(Slice::from(b"b"), meta(20, 5, 2));
        index.insert(Slice::from(b"a"), meta(15, 0, 3));
        assert_eq!(index.len(), 2);
        assert_eq!(index.bytes(), 35);
        assert!(index.has_expiring());
        assert_eq!(index.remove(b"b").map(|m| m.size), Some(20));
        assert!(!index.has_expiring());
        assert_eq!(index.bytes(), 15);
        index.clear();
        assert_eq!((index.len(), index.bytes()), (0, 0));
    }

    #[test]
    fn victims_are_expired_then_oldest() {
        let mut index = Index::default();
        index.insert(Slice::from(b"old"), meta(10, 0, 1));
        index.insert(Slice::from(b"new"), meta(10, 0, 9));
        index.insert(Slice::from(b"mid"), meta(10, 0, 5));
        index.insert(Slice::from(b"dead"), meta(10, 100, 10));
        assert_eq!(index.expired(200), vec![Slice::from(b"dead")]);
        let victims = index.victims(200, 20);
        assert_eq!(victims, vec![Slice::from(b"dead"), Slice::from(b"old")]);
        // Nothing to do when under budget and nothing expired.
        assert!(index.victims(50, 100).is_empty());
    }
}
