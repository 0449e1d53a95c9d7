//! One shard's entries and its eviction policy — the single algorithm every front-end
//! ([`crate::MemoryCache`]'s shards) uses.
//!
//! # Layout
//!
//! * `table`: a `hashbrown::HashTable` of entries (key, value, hash, expiry, stamps),
//!   probed with the hash computed once by the cache (the same hash also picks the
//!   shard). One probe reaches the value: no index indirection on the hit path.
//! * `order`: a min-heap of `(primary, stamp, hash)` eviction keys, as *recorded* when
//!   they were last pushed. Hits only touch per-entry atomics under the shard's read lock;
//!   the heap catches up lazily at eviction time (see `Store::evict_one`).
//! * `expiry`: with a TTL, a min-heap of `(insert stamp, hash)`: since the TTL is global,
//!   insertion order is expiry order.
//!
//! # Why the lazy heap gives the exact order
//!
//! Every access takes a fresh stamp from the shard's monotonic clock, so an entry's
//! eviction key — `stamp` for LRU and FIFO, `(frequency, stamp)` for LFU — only ever
//! grows, and no two entries share a stamp. The heap holds for each entry a key that is
//! `<=` its current one. Pop the smallest: if its recorded key is still current, it is
//! smaller than every other recorded key and therefore every current key — the exact
//! victim. Otherwise push it back with its current key and pop again. Each hit causes at
//! most one such re-push, so eviction is amortized `O(log n)`.
//!
//! Heap items find their entry by hash and recognise it by its stamp (stamps are unique
//! within a shard), so items left behind by removals and updates are skipped, and
//! compacted away when they pile up.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use hashbrown::HashTable;

use crate::flight::Flights;

/// The native policies (TinyLFU is mini-moka's, see [`crate::tiny`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Lru,
    Lfu,
    Fifo,
    Random,
    Unbounded,
}

impl Kind {
    /// Whether the policy keeps the `order` heap.
    const fn ordered(self) -> bool {
        matches!(self, Self::Lru | Self::Lfu | Self::Fifo)
    }
}

/// The entry count of a sharded cache, alone on its cache line: only inserts and
/// removals touch it, never hits.
#[derive(Debug, Default)]
#[repr(align(128))]
pub(crate) struct SharedLen(pub(crate) AtomicUsize);

/// One entry.
struct Slot<K, V> {
    hash: u64,
    key: K,
    value: V,
    expires_at: Option<Instant>,
    /// Last access (LRU, LFU) or last write (FIFO); readers store it under the read lock.
    stamp: AtomicU64,
    /// Accesses while resident, counting the insert (LFU); readers bump it.
    frequency: AtomicU64,
    /// The eviction key this slot was last pushed to `order` with.
    recorded: (u64, u64),
    /// The write stamp of the last insert (validates `expiry` items).
    inserted: u64,
}

/// What a counted lookup found.
pub(crate) enum Found<V> {
    /// A live entry (the hit is counted).
    Hit(V),
    /// No entry.
    Missing,
    /// An entry whose TTL has passed; it should be removed under the write lock.
    Expired,
}

/// One shard: entries, policy state, counters and the single-flight table.
pub(crate) struct Store<K, V> {
    kind: Kind,
    /// `None` when unbounded.
    capacity: Option<usize>,
    /// Set when the cache is sharded: the entry count of every shard together, which
    /// `capacity` then bounds (each shard evicts its own victim when the total is full).
    shared_len: Option<Arc<SharedLen>>,
    ttl: Option<Duration>,
    table: HashTable<Slot<K, V>>,
    order: BinaryHeap<Reverse<(u64, u64, u64)>>,
    expiry: BinaryHeap<Reverse<(u64, u64)>>,
    /// Monotonic stamp source. Readers of LRU/LFU shards bump it on every hit, writers on
    /// every insert, so `hits = clock - write_stamps` for those policies (one atomic saved
    /// on the hit path).
    clock: AtomicU64,
    /// Stamps taken by writers (under the write lock).
    write_stamps: u64,
    /// Hits of policies whose hits do not take a stamp (FIFO, RR, unbounded).
    hits: AtomicU64,
    misses: AtomicU64,
    inserts: u64,
    evictions: u64,
    rng: u64,
    /// Computations running for keys of this shard.
    pub(crate) flights: Flights<K, V>,
}

impl<K, V> Store<K, V>
where
    K: Eq,
    V: Clone,
{
    pub(crate) fn new(
        kind: Kind,
        capacity: Option<usize>,
        shared_len: Option<Arc<SharedLen>>,
        ttl: Option<Duration>,
        seed: u64,
    ) -> Self {
        let capacity = if kind == Kind::Unbounded {
            None
        } else {
            capacity
        };
        Self {
            kind,
            capacity,
            shared_len: capacity.and(shared_len),
            ttl,
            table: HashTable::new(),
            order: BinaryHeap::new(),
            expiry: BinaryHeap::new(),
            clock: AtomicU64::new(0),
            write_stamps: 0,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            inserts: 0,
            evictions: 0,
            // xorshift needs a non-zero state
            rng: seed | 1,
            flights: Flights::new(),
        }
    }

    #[inline]
    fn find(&self, hash: u64, key: &K) -> Option<&Slot<K, V>> {
        self.table
            .find(hash, |slot| slot.hash == hash && slot.key == *key)
    }

    /// The hit path (read lock): a clone of the live value, counting the hit and
    /// recording the access for the policy.
    #[inline]
    pub(crate) fn get(&self, hash: u64, key: &K) -> Found<V> {
        let Some(slot) = self.find(hash, key) else {
            return Found::Missing;
        };
        if slot.expires_at.is_some_and(|at| Instant::now() >= at) {
            return Found::Expired;
        }
        match self.kind {
            Kind::Lru => {
                // Relaxed is enough: the stamps are only compared under the write lock,
                // whose acquisition orders them after every reader's release.
                let stamp = self.clock.fetch_add(1, Ordering::Relaxed);
                slot.stamp.store(stamp, Ordering::Relaxed);
            }
            Kind::Lfu => {
                let stamp = self.clock.fetch_add(1, Ordering::Relaxed);
                slot.stamp.store(stamp, Ordering::Relaxed);
                slot.frequency.fetch_add(1, Ordering::Relaxed);
            }
            Kind::Fifo | Kind::Random | Kind::Unbounded => {
                self.hits.fetch_add(1, Ordering::Relaxed);
            }
        }
        Found::Hit(slot.value.clone())
    }

    /// A clone of the live value, counting nothing and leaving the order alone (used by
    /// single-flight re-checks under the write lock).
    pub(crate) fn peek(&self, hash: u64, key: &K) -> Option<V> {
        let slot = self.find(hash, key)?;
        if slot.expires_at.is_some_and(|at| Instant::now() >= at) {
            return None;
        }
        Some(slot.value.clone())
    }

    pub(crate) fn count_miss(&self) {
        self.misses.fetch_add(1, Ordering::Relaxed);
    }

    fn next_write_stamp(&mut self) -> u64 {
        self.write_stamps += 1;
        let clock = self.clock.get_mut();
        let stamp = *clock;
        *clock += 1;
        stamp
    }

    fn current_key(kind: Kind, slot: &Slot<K, V>) -> (u64, u64) {
        let stamp = slot.stamp.load(Ordering::Relaxed);
        match kind {
            Kind::Lfu => (slot.frequency.load(Ordering::Relaxed), stamp),
            _ => (0, stamp),
        }
    }

    /// Stores `value` under `key` (counts the insert). An existing key is updated and
    /// counts as an access (LRU, LFU) or a fresh insertion (FIFO), as in cachetools; a new
    /// key first drops expired entries and, when the cache is full, evicts per policy.
    pub(crate) fn insert(&mut self, hash: u64, key: K, value: V) {
        self.inserts += 1;
        let stamp = self.next_write_stamp();
        let now = self.ttl.map(|ttl| (Instant::now(), ttl));
        let expires_at = now.and_then(|(now, ttl)| now.checked_add(ttl));
        let kind = self.kind;
        if let Some(slot) = self
            .table
            .find_mut(hash, |slot| slot.hash == hash && slot.key == key)
        {
            slot.value = value;
            slot.expires_at = expires_at;
            slot.inserted = stamp;
            *slot.stamp.get_mut() = stamp;
            if kind == Kind::Lfu {
                *slot.frequency.get_mut() += 1;
            }
            // `order` catches up lazily: the recorded key is now smaller than the current
            // one, which `evict_one` handles.
            if self.ttl.is_some() {
                self.expiry.push(Reverse((stamp, hash)));
                self.compact_expiry();
            }
            return;
        }
        if let Some((now, _)) = now {
            self.purge_expired(now);
        }
        if let Some(capacity) = self.capacity {
            while self.total_len() >= capacity.max(1) {
                if !self.evict_one() {
                    break;
                }
                self.evictions += 1;
            }
        }
        let recorded = (u64::from(kind == Kind::Lfu), stamp);
        self.table.insert_unique(
            hash,
            Slot {
                hash,
                key,
                value,
                expires_at,
                stamp: AtomicU64::new(stamp),
                frequency: AtomicU64::new(1),
                recorded,
                inserted: stamp,
            },
            |slot| slot.hash,
        );
        if kind.ordered() {
            self.order.push(Reverse((recorded.0, recorded.1, hash)));
        }
        if self.ttl.is_some() {
            self.expiry.push(Reverse((stamp, hash)));
        }
        if let Some(shared) = &self.shared_len {
            shared.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The entry count `capacity` bounds: this shard's, or every shard's when sharded.
    fn total_len(&self) -> usize {
        self.shared_len
            .as_ref()
            .map_or(self.table.len(), |shared| shared.0.load(Ordering::Relaxed))
    }

    /// Removes the entry under `key`; `true` if there was a live one.
    pub(crate) fn remove(&mut self, hash: u64, key: &K) -> bool {
        let Ok(entry) = self
            .table
            .find_entry(hash, |slot| slot.hash == hash && slot.key == *key)
        else {
            return false;
        };
        let (slot, _) = entry.remove();
        self.removed_one();
        let live = slot.expires_at.is_none_or(|at| Instant::now() < at);
        if !live {
            // it had expired: its removal is an eviction, and the caller saw nothing
            self.evictions += 1;
        }
        live
    }

    /// Removes `key` if its entry has expired (counted as an eviction).
    pub(crate) fn remove_if_expired(&mut self, hash: u64, key: &K) {
        let now = Instant::now();
        if let Ok(entry) = self.table.find_entry(hash, |slot| {
            slot.hash == hash && slot.key == *key && slot.expires_at.is_some_and(|at| now >= at)
        }) {
            entry.remove();
            self.removed_one();
            self.evictions += 1;
        }
    }

    /// Drops every entry and resets the counters (running computations are kept: their
    /// callers still get their results).
    pub(crate) fn clear(&mut self) {
        if let Some(shared) = &self.shared_len {
            shared.0.fetch_sub(self.table.len(), Ordering::Relaxed);
        }
        self.table.clear();
        self.order.clear();
        self.expiry.clear();
        *self.clock.get_mut() = 0;
        self.write_stamps = 0;
        *self.hits.get_mut() = 0;
        *self.misses.get_mut() = 0;
        self.inserts = 0;
        self.evictions = 0;
    }

    pub(crate) fn len(&self) -> usize {
        self.table.len()
    }

    /// `(hits, misses, inserts, evictions)`.
    pub(crate) fn counters(&self) -> (u64, u64, u64, u64) {
        let stamped_hits = self
            .clock
            .load(Ordering::Relaxed)
            .saturating_sub(self.write_stamps);
        (
            self.hits.load(Ordering::Relaxed) + stamped_hits,
            self.misses.load(Ordering::Relaxed),
            self.inserts,
            self.evictions,
        )
    }

    /// Bookkeeping after an entry left the table.
    fn removed_one(&mut self) {
        if let Some(shared) = &self.shared_len {
            shared.0.fetch_sub(1, Ordering::Relaxed);
        }
        self.compact_order();
        self.compact_expiry();
    }

    /// Removes one entry per the policy; `false` if there was none to remove.
    fn evict_one(&mut self) -> bool {
        if self.table.is_empty() {
            return false;
        }
        match self.kind {
            Kind::Unbounded => false,
            Kind::Random => {
                self.rng ^= self.rng << 13;
                self.rng ^= self.rng >> 7;
                self.rng ^= self.rng << 17;
                // A random bucket, then the first occupied one from there: uniform enough
                // for random replacement, and no index to maintain.
                let buckets = self.table.num_buckets();
                let start = usize::try_from(self.rng).unwrap_or(0) % buckets.max(1);
                let occupied = (0..buckets)
                    .map(|step| (start + step) % buckets)
                    .find(|&index| self.table.get_bucket(index).is_some());
                let Some(index) = occupied else {
                    return false;
                };
                if let Ok(entry) = self.table.get_bucket_entry(index) {
                    entry.remove();
                    self.removed_one();
                    return true;
                }
                false
            }
            Kind::Lru | Kind::Lfu | Kind::Fifo => {
                let kind = self.kind;
                let mut rebuilt = false;
                loop {
                    let Some(Reverse((primary, stamp, hash))) = self.order.pop() else {
                        // Cannot happen (every entry has a valid item); recover anyway.
                        if rebuilt {
                            return false;
                        }
                        self.rebuild_order();
                        rebuilt = true;
                        continue;
                    };
                    let recorded = (primary, stamp);
                    let Ok(entry) = self
                        .table
                        .find_entry(hash, |slot| slot.hash == hash && slot.recorded == recorded)
                    else {
                        continue; // stale item
                    };
                    let current = Self::current_key(kind, entry.get());
                    if current != recorded {
                        entry.into_mut().recorded = current;
                        self.order.push(Reverse((current.0, current.1, hash)));
                        continue;
                    }
                    entry.remove();
                    self.removed_one();
                    return true;
                }
            }
        }
    }

    /// Removes every expired entry (counted as evictions).
    fn purge_expired(&mut self, now: Instant) {
        while let Some(&Reverse((inserted, hash))) = self.expiry.peek() {
            self.expiry.pop();
            let Ok(entry) = self
                .table
                .find_entry(hash, |slot| slot.hash == hash && slot.inserted == inserted)
            else {
                continue; // stale
            };
            if entry.get().expires_at.is_some_and(|at| now >= at) {
                entry.remove();
                self.removed_one();
                self.evictions += 1;
            } else {
                self.expiry.push(Reverse((inserted, hash)));
                break;
            }
        }
    }

    fn rebuild_order(&mut self) {
        let kind = self.kind;
        self.order.clear();
        for slot in &mut self.table {
            slot.recorded = Self::current_key(kind, slot);
            self.order
                .push(Reverse((slot.recorded.0, slot.recorded.1, slot.hash)));
        }
    }

    fn compact_order(&mut self) {
        if self.kind.ordered() && self.order.len() > 2 * self.table.len() + 64 {
            self.rebuild_order();
        }
    }

    fn compact_expiry(&mut self) {
        if self.ttl.is_some() && self.expiry.len() > 2 * self.table.len() + 64 {
            self.expiry = self
                .table
                .iter()
                .map(|slot| Reverse((slot.inserted, slot.hash)))
                .collect();
        }
    }
}
