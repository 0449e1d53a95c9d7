//! The memory front: a byte-bounded map of recently used entries in front of fjall.
//!
//! A hot hit is served from here without touching the LSM tree: one sharded hash lookup
//! (`quick_cache`, which evicts with CLOCK-Pro, an LRU approximation that resists scans),
//! one reference-count increment and the value's decode. Entries hold the stored
//! envelope as a [`Slice`] shared with fjall's write path, so filling the front does not
//! copy the value.
//!
//! Coherence is by construction: fjall's folder lock makes this process the folder's only
//! writer, and every write, delete and fill of a key runs under that key's stripe lock in
//! the engine (see `engine.rs` and `stripes.rs`), so the front never holds a value the disk no longer has.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use fjall::Slice;
use twat_cache_core::envelope::HEADER_LEN;

/// Per-entry bookkeeping overhead counted against the front's byte budget.
const ENTRY_OVERHEAD: u64 = 64;

/// One entry of the front: the stored envelope, its expiry and when it was last used.
#[derive(Debug)]
pub(crate) struct FrontEntry {
    envelope: Slice,
    expires_at: u64,
    last_used: AtomicU64,
}

impl FrontEntry {
    /// An entry for an envelope whose header was already validated.
    pub(crate) fn new(envelope: Slice, expires_at: u64, last_used: u64) -> Self {
        Self {
            envelope,
            expires_at,
            last_used: AtomicU64::new(last_used),
        }
    }

    /// The payload (the envelope without its header).
    pub(crate) fn payload(&self) -> &[u8] {
        self.envelope.get(HEADER_LEN..).unwrap_or_default()
    }

    /// Unix milliseconds after which the entry is expired; 0 = never.
    pub(crate) const fn expires_at(&self) -> u64 {
        self.expires_at
    }

    /// Whether the entry is expired at `now_ms`.
    pub(crate) const fn is_expired_at(&self, now_ms: u64) -> bool {
        self.expires_at != 0 && now_ms >= self.expires_at
    }

    /// Records a use at `epoch` (a plain load-compare-store: no contended write when the
    /// epoch has not moved).
    pub(crate) fn touch(&self, epoch: u64) {
        if self.last_used.load(Ordering::Relaxed) != epoch {
            self.last_used.store(epoch, Ordering::Relaxed);
        }
    }

    /// The epoch of the last use.
    pub(crate) fn last_used(&self) -> u64 {
        self.last_used.load(Ordering::Relaxed)
    }
}

#[derive(Debug, Clone, Copy)]
struct FrontWeighter;

impl quick_cache::Weighter<Slice, Arc<FrontEntry>> for FrontWeighter {
    fn weight(&self, key: &Slice, value: &Arc<FrontEntry>) -> u64 {
        let bytes = key.len().saturating_add(value.envelope.len());
        u64::try_from(bytes)
            .unwrap_or(u64::MAX)
            .saturating_add(ENTRY_OVERHEAD)
    }
}

type FrontCache = quick_cache::sync::Cache<Slice, Arc<FrontEntry>, FrontWeighter>;

/// The byte-bounded front; a zero budget disables it.
pub(crate) struct Front {
    cache: Option<FrontCache>,
    budget_bytes: u64,
}

impl std::fmt::Debug for Front {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Front")
            .field("entries", &self.cache.as_ref().map_or(0, FrontCache::len))
            .field("bytes", &self.cache.as_ref().map_or(0, FrontCache::weight))
            .finish()
    }
}

impl Front {
    /// A front holding at most about `budget_bytes` of keys and values.
    pub(crate) fn new(budget_bytes: u64) -> Self {
        let cache = (budget_bytes > 0).then(|| {
            let estimated_items = usize::try_from(budget_bytes / 256)
                .unwrap_or(usize::MAX)
                .max(16);
            FrontCache::with_weighter(estimated_items, budget_bytes, FrontWeighter)
        });
        Self {
            cache,
            budget_bytes,
        }
    }

    /// Whether `extra` more bytes fit without evicting anything (used to warm the front
    /// while the index is built, so warming never pushes entries out).
    pub(crate) fn has_room(&self, extra: u64) -> bool {
        self.cache
            .as_ref()
            .is_some_and(|cache| cache.weight().saturating_add(extra) <= self.budget_bytes)
    }

    /// The entry under `key`, if the front holds it.
    #[inline]
    pub(crate) fn get(&self, key: &[u8]) -> Option<Arc<FrontEntry>> {
        self.cache.as_ref()?.get(key)
    }

    /// Holds `entry` under `key` (may evict other front entries; never touches the disk).
    pub(crate) fn insert(&self, key: Slice, entry: Arc<FrontEntry>) {
        if let Some(cache) = &self.cache {
            cache.insert(key, entry);
        }
    }

    /// Drops the entry under `key`.
    pub(crate) fn remove(&self, key: &[u8]) {
        if let Some(cache) = &self.cache {
            cache.remove(key);
        }
    }

    /// Drops every entry.
    pub(crate) fn clear(&self) {
        if let Some(cache) = &self.cache {
            cache.clear();
        }
    }

    /// Visits every held entry's key and last-use epoch.
    pub(crate) fn for_each_use(&self, mut visit: impl FnMut(&Slice, u64)) {
        if let Some(cache) = &self.cache {
            for (key, entry) in cache.iter() {
                visit(&key, entry.last_used());
            }
        }
    }
}
