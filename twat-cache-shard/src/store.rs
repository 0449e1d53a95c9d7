//! One shard's entries and its eviction policy — the single algorithm every front-end
//! (the shards of [`crate::PolicyStore`], under the memory and the async engine) uses.
//!
//! # Layout
//!
//! * `table`: the entries, packed in a `Vec` in the order they were stored and found
//!   through a `hashbrown::HashTable` of their positions, probed with the hash computed
//!   once by the cache (the same hash also picks the shard); see `table.rs` for why. An
//!   entry is only key, value, stamp and hash (48 bytes for a primitive key and a `String`
//!   value) unless the policy needs a frequency or the cache a TTL ([`Meta`]).
//! * `order`: a min-queue (`Order`, `order.rs`: a deque of in-order stamps beside a heap
//!   of late ones for LRU/FIFO, a binary heap for LFU) of `(primary, stamp, hash)`
//!   eviction keys, as *recorded* when they were last pushed. Hits only touch per-entry
//!   atomics under the shard's read lock; the queue catches up lazily at eviction time
//!   (see `Store::evict_one`).
//! * `expiry`: with a TTL, a min-heap of `(insert stamp, hash)`: since the TTL is global,
//!   insertion order is expiry order.
//! * `tiny`: for W-TinyLFU only, its segment queues, frequency sketch and hill climber
//!   (`tinylfu.rs`); its hits are LRU hits plus a use count in the entry.
//!
//! # Why no existing crate
//!
//! quick_cache (CLOCK-Pro) and moka (W-TinyLFU) approximate by design, so they
//! cannot evict in cachetools' exact LRU/LFU/FIFO order; `cached`'s `LruCache` is exact
//! but relinks a list under one lock on every hit. This store keeps hits read-only and
//! pays for order at eviction time instead.
//!
//! # Why the lazy heap gives the exact order
//!
//! (Exact stores, i.e. caches of one shard.) Every access takes a fresh stamp from the
//! shard's monotonic clock, so an entry's
//! eviction key — `stamp` for LRU and FIFO, `(frequency, stamp)` for LFU — only ever
//! grows, and no two entries share a stamp. The heap holds for each entry a key that is
//! `<=` its current one. Pop the smallest: if its recorded key is still current, it is
//! smaller than every other recorded key and therefore every current key — the exact
//! victim. Otherwise push it back with its current key and pop again. Each hit causes at
//! most one such re-push, so eviction is amortized `O(log n)`.
//!
//! In a shard of a larger cache, hits copy the clock instead of advancing it (only
//! writers advance it), so uses between two inserts tie; ties make the victim one of the
//! least recently used rather than the exact one, the documented approximation.
//!
//! Heap items find their entry by hash and recognise it by its current key (stamps are
//! unique within a shard, so a current key names one entry). An item that matches no
//! current key is either stale (its entry left: skipped) or behind (its entry was used
//! since: the entry's current key is pushed). Items pile up at most as fast as entries
//! are used and are compacted when the heap outgrows twice the table.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::hash::Hash;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::options::RemovalCause;
use crate::order::Order;
use crate::table::{Slot, Table};
use crate::tinylfu::{PENDING_MAX, QUEUED_MASK, Segment, Segmented, TinyLfu};

/// The policies (W-TinyLFU's queues and sketch live in `crate::tinylfu`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Lru,
    Lfu,
    Fifo,
    Random,
    TinyLfu,
    Unbounded,
}

impl Kind {
    /// Whether the policy keeps the `order` heap.
    const fn ordered(self) -> bool {
        matches!(self, Self::Lru | Self::Lfu | Self::Fifo)
    }
}

/// "Never expires".
const NEVER: u64 = u64::MAX;

/// The most entries W-TinyLFU sizes its segments and sketch for in a weighted cache (one
/// shard), whose bound is a weight (bytes, often millions) rather than an entry count:
/// 16 384 entries take a 128 KiB sketch. Its window and protected segments then count
/// entries of this estimate, not weight — a weighted W-TinyLFU is bounded by weight
/// exactly, its admission approximates.
const WEIGHTED_TINY_ENTRIES: usize = 1 << 14;

/// How a store is set up (the same for every shard of a cache).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Shape {
    pub(crate) kind: Kind,
    /// The bound: entries, or total weight when `weighted` (`None`: unbounded).
    pub(crate) capacity: Option<usize>,
    pub(crate) ttl: Option<Duration>,
    /// Entries carry a weight and `capacity` bounds their sum.
    pub(crate) weighted: bool,
    /// Entries may carry an expiry: the cache has a TTL or per-entry expiry.
    pub(crate) expiring: bool,
    /// Entries that leave are collected for the eviction listener.
    pub(crate) notify: bool,
}

/// An entry that left the store, for the eviction listener.
pub(crate) type Removed<K, V> = (K, V, RemovalCause);

/// What an entry carries besides key, value and stamp: nothing ([`Plain`]) or a
/// frequency and an expiry ([`Full`]), so that the common case stays small.
pub(crate) trait Meta: Segmented + Send + Sync {
    fn new(expires_at: u64, weight: u32) -> Self;
    /// The entry's weight (1 for entries that carry none: unweighted caches).
    fn weight(&self) -> u32;
    fn set_weight(&mut self, weight: u32);
    /// Uses while resident, counting the insert.
    fn frequency(&self) -> u64;
    /// One more use (hit path, under the read lock).
    fn bump_frequency(&self);
    /// One more use (under the write lock).
    fn bump_frequency_mut(&mut self);
    /// Nanoseconds since the shard's epoch, or [`NEVER`].
    fn expires_at(&self) -> u64;
    fn set_expires_at(&mut self, expires_at: u64);
}

/// No frequency, no expiry: zero-sized, so that the common entry stays small.
#[derive(Debug)]
pub(crate) struct Plain;

impl Meta for Plain {
    #[inline]
    fn new(_: u64, _: u32) -> Self {
        Self
    }
    #[inline]
    fn weight(&self) -> u32 {
        1
    }
    #[inline]
    fn set_weight(&mut self, _: u32) {}
    #[inline]
    fn frequency(&self) -> u64 {
        1
    }
    #[inline]
    fn bump_frequency(&self) {}
    #[inline]
    fn bump_frequency_mut(&mut self) {}
    #[inline]
    fn expires_at(&self) -> u64 {
        NEVER
    }
    #[inline]
    fn set_expires_at(&mut self, _: u64) {}
}

impl Segmented for Plain {}

/// A frequency (LFU), an expiry (TTL, per-entry expiry) and a weight (weigher).
#[derive(Debug)]
pub(crate) struct Full {
    frequency: AtomicU64,
    expires_at: u64,
    weight: u32,
}

impl Meta for Full {
    #[inline]
    fn new(expires_at: u64, weight: u32) -> Self {
        Self {
            frequency: AtomicU64::new(1),
            expires_at,
            weight,
        }
    }
    #[inline]
    fn weight(&self) -> u32 {
        self.weight
    }
    #[inline]
    fn set_weight(&mut self, weight: u32) {
        self.weight = weight;
    }
    #[inline]
    fn frequency(&self) -> u64 {
        self.frequency.load(Ordering::Relaxed)
    }
    #[inline]
    fn bump_frequency(&self) {
        self.frequency.fetch_add(1, Ordering::Relaxed);
    }
    #[inline]
    fn bump_frequency_mut(&mut self) {
        *self.frequency.get_mut() += 1;
    }
    #[inline]
    fn expires_at(&self) -> u64 {
        self.expires_at
    }
    #[inline]
    fn set_expires_at(&mut self, expires_at: u64) {
        self.expires_at = expires_at;
    }
}

impl Segmented for Full {}

/// An expiry and a weight a W-TinyLFU entry carries only when the cache has a TTL,
/// per-entry expiry or a weigher: none ([`NoExpiry`], zero-sized) or both ([`ExpiresAt`]).
pub(crate) trait Expiry: Send + Sync {
    fn new(expires_at: u64, weight: u32) -> Self;
    fn get(&self) -> u64;
    fn set(&mut self, expires_at: u64);
    fn weight(&self) -> u32;
    fn set_weight(&mut self, weight: u32);
}

/// No TTL: the entry never expires.
#[derive(Debug)]
pub(crate) struct NoExpiry;

impl Expiry for NoExpiry {
    #[inline]
    fn new(_: u64, _: u32) -> Self {
        Self
    }
    #[inline]
    fn weight(&self) -> u32 {
        1
    }
    #[inline]
    fn set_weight(&mut self, _: u32) {}
    #[inline]
    fn get(&self) -> u64 {
        NEVER
    }
    #[inline]
    fn set(&mut self, _: u64) {}
}

/// An expiry (nanoseconds since the shard's epoch, or [`NEVER`]) and a weight.
#[derive(Debug)]
pub(crate) struct ExpiresAt {
    at: u64,
    weight: u32,
}

impl Expiry for ExpiresAt {
    #[inline]
    fn new(at: u64, weight: u32) -> Self {
        Self { at, weight }
    }
    #[inline]
    fn get(&self) -> u64 {
        self.at
    }
    #[inline]
    fn set(&mut self, expires_at: u64) {
        self.at = expires_at;
    }
    #[inline]
    fn weight(&self) -> u32 {
        self.weight
    }
    #[inline]
    fn set_weight(&mut self, weight: u32) {
        self.weight = weight;
    }
}

/// What a W-TinyLFU entry carries, packed in one word: when it was queued in its
/// segment (the low 58 bits: a clock stamp; the clock would need 2^58 writes and hits,
/// nine years at a billion a second, to outgrow them), its segment (2 bits) and its uses
/// not yet in the sketch (the top 4 bits, see `crate::tinylfu`); and, with a TTL, its
/// expiry. 8 bytes without a TTL: an entry of a `u64` key and a `String` value takes 56.
///
/// Readers only touch the use count (a lossy load and store of the word: two racing
/// hits may count once); the rest is written under the shard's write lock, which no
/// reader holds meanwhile.
#[derive(Debug)]
pub(crate) struct Tiny<X> {
    word: AtomicU64,
    expiry: X,
}

/// The bits of [`Tiny`]'s word.
const SEGMENT_SHIFT: u32 = 58;
const PENDING_SHIFT: u32 = 60;
const PENDING_ONE: u64 = 1 << PENDING_SHIFT;

impl<X> Tiny<X> {
    #[inline]
    fn word(&self) -> u64 {
        self.word.load(Ordering::Relaxed)
    }
}

impl<X: Expiry> Meta for Tiny<X> {
    #[inline]
    fn new(expires_at: u64, weight: u32) -> Self {
        Self {
            word: AtomicU64::new(0),
            expiry: X::new(expires_at, weight),
        }
    }
    #[inline]
    fn weight(&self) -> u32 {
        self.expiry.weight()
    }
    #[inline]
    fn set_weight(&mut self, weight: u32) {
        self.expiry.set_weight(weight);
    }
    #[inline]
    fn frequency(&self) -> u64 {
        1
    }
    #[inline]
    fn bump_frequency(&self) {}
    #[inline]
    fn bump_frequency_mut(&mut self) {}
    #[inline]
    fn expires_at(&self) -> u64 {
        self.expiry.get()
    }
    #[inline]
    fn set_expires_at(&mut self, expires_at: u64) {
        self.expiry.set(expires_at);
    }
}

impl<X: Expiry> Segmented for Tiny<X> {
    #[inline]
    fn segment(&self) -> Segment {
        match (self.word() >> SEGMENT_SHIFT) & 3 {
            1 => Segment::Probation,
            2 => Segment::Protected,
            _ => Segment::Window,
        }
    }
    #[inline]
    fn set_segment(&mut self, segment: Segment) {
        let word = self.word.get_mut();
        *word = (*word & !(3 << SEGMENT_SHIFT)) | ((segment as u64) << SEGMENT_SHIFT);
    }
    #[inline]
    fn queued(&self) -> u64 {
        self.word() & QUEUED_MASK
    }
    #[inline]
    fn set_queued(&mut self, queued: u64) {
        let word = self.word.get_mut();
        *word = (*word & !QUEUED_MASK) | (queued & QUEUED_MASK);
    }
    #[inline]
    fn bump_pending(&self) {
        // Lossy on purpose (a plain load and store, no locked instruction); a saturated
        // entry writes nothing.
        let word = self.word();
        if word >> PENDING_SHIFT < u64::from(PENDING_MAX) {
            self.word.store(word + PENDING_ONE, Ordering::Relaxed);
        }
    }
    #[inline]
    fn pending(&self) -> u32 {
        // 4 bits
        u32::try_from(self.word() >> PENDING_SHIFT).unwrap_or(PENDING_MAX)
    }
    #[inline]
    fn take_pending(&self) -> u32 {
        let pending = self.pending();
        self.word
            .fetch_and(!(15 << PENDING_SHIFT), Ordering::Relaxed);
        pending
    }
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

/// The entry count of a sharded cache, alone on its cache line: only inserts and
/// removals touch it, never hits.
#[derive(Debug, Default)]
#[repr(align(128))]
pub(crate) struct SharedLen(pub(crate) AtomicUsize);

/// One shard: entries, policy state and counters.
///
/// `repr(C)` keeps the counters the hit path writes next to the lock word in front of
/// them, so a hit dirties one cache line of shard state, not two.
#[repr(C)]
pub(crate) struct Store<K, V, M> {
    /// Monotonic stamp source. Readers of LRU/LFU shards bump it on every hit, writers on
    /// every insert, so `hits = clock - write_stamps` for those policies (one atomic saved
    /// on the hit path).
    clock: AtomicU64,
    /// Hits of policies whose hits do not take a stamp (FIFO, RR, unbounded).
    hits: AtomicU64,
    misses: AtomicU64,
    kind: Kind,
    /// One shard holds the whole cache: hits take unique stamps and count themselves
    /// (exact order). Otherwise hits copy the clock, which only writers advance, and are
    /// counted by the caller in per-thread counters (see `Store::get`).
    exact: bool,
    /// `None` when unbounded; total weight when `weighted`.
    capacity: Option<usize>,
    weighted: bool,
    /// This shard's total weight (kept only when `weighted`).
    weight: u64,
    /// Entries may carry an expiry (a TTL, or per-entry expiry): `now` is read on writes.
    expiring: bool,
    /// Collect entries that leave into `removed` (the cache has a listener).
    notify: bool,
    /// Entries that left under the current write lock, handed to the listener after it
    /// is released (always empty without a listener: it never allocates then).
    removed: Vec<Removed<K, V>>,
    /// Set when the cache is sharded: the entry count (or weight) of every shard
    /// together, which `capacity` then bounds (each shard evicts its own victim when the
    /// total is full).
    shared_len: Option<Arc<SharedLen>>,
    /// This shard's part of `shared_len`: its entry count when last published. An insert
    /// that evicts one entry and adds one publishes nothing (see `Store::publish_len`).
    published_len: usize,
    ttl_nanos: Option<u64>,
    epoch: Instant,
    table: Table<K, V, M>,
    order: Order,
    expiry: BinaryHeap<Reverse<(u64, u64)>>,
    /// Stamps taken by writers (under the write lock).
    write_stamps: u64,
    inserts: u64,
    evictions: u64,
    /// The counters at the last [`Store::reset_counters`], subtracted from every reading.
    base: Counts,
    rng: u64,
    /// W-TinyLFU's queues, sketch and climber (`Kind::TinyLfu` only).
    tiny: Option<Box<TinyLfu>>,
}

/// A shard's `(hits, misses, inserts, evictions)`.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Counts {
    pub(crate) hits: u64,
    pub(crate) misses: u64,
    pub(crate) inserts: u64,
    pub(crate) evictions: u64,
}

impl<K, V, M> Store<K, V, M>
where
    K: Hash + Eq,
    V: Clone,
    M: Meta,
{
    pub(crate) fn new(
        shape: Shape,
        shared_len: Option<Arc<SharedLen>>,
        seed: u64,
        shards: usize,
    ) -> Self {
        let Shape {
            kind,
            capacity,
            ttl,
            weighted,
            expiring,
            notify,
        } = shape;
        let capacity = if kind == Kind::Unbounded {
            None
        } else {
            capacity
        };
        let tiny = match (kind, capacity) {
            (Kind::TinyLfu, Some(total)) => {
                let entries = if weighted {
                    total.min(WEIGHTED_TINY_ENTRIES)
                } else {
                    total
                };
                Some(Box::new(TinyLfu::new(
                    entries.div_ceil(shards.max(1)),
                    entries,
                    seed,
                )))
            }
            _ => None,
        };
        Self {
            clock: AtomicU64::new(0),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            kind,
            exact: shared_len.is_none(),
            capacity,
            weighted,
            weight: 0,
            expiring: expiring || ttl.is_some(),
            notify,
            removed: Vec::new(),
            shared_len: capacity.and(shared_len),
            published_len: 0,
            ttl_nanos: ttl.map(|ttl| u64::try_from(ttl.as_nanos()).unwrap_or(NEVER - 1)),
            epoch: Instant::now(),
            table: Table::new(),
            order: Order::new(kind != Kind::Lfu),
            expiry: BinaryHeap::new(),
            write_stamps: 0,
            inserts: 0,
            evictions: 0,
            base: Counts::default(),
            // xorshift needs a non-zero state
            rng: seed | 1,
            tiny,
        }
    }

    /// Nanoseconds since this shard's epoch (only read when the cache has a TTL).
    fn now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(NEVER - 1)
    }

    #[inline]
    fn expired(&self, slot: &Slot<K, V, M>) -> bool {
        let at = slot.meta.expires_at();
        at != NEVER && self.now() >= at
    }

    #[inline]
    fn find(&self, hash: u64, key: &K) -> Option<&Slot<K, V, M>> {
        self.table.find(hash, |slot| slot.key == *key)
    }

    /// The hit path (read lock): a clone of the live value, recording the access for the
    /// policy.
    ///
    /// In an exact (single-shard) store the hit takes a fresh stamp from the clock — one
    /// atomic add that also counts the hit — or bumps `hits`. In a shard of a larger cache
    /// the hit writes nothing shared: it copies the clock (advanced only by inserts) into
    /// the entry's stamp, and only when that changes it; the caller counts the hit in a
    /// per-thread counter. Two threads hitting the same entries then do not bounce their
    /// cache lines; the price is that uses between two inserts of a shard tie, which the
    /// documented approximation of sharded caches allows.
    #[inline(always)]
    pub(crate) fn get(&self, hash: u64, key: &K) -> Found<V> {
        let Some(slot) = self.find(hash, key) else {
            return Found::Missing;
        };
        if self.expired(slot) {
            return Found::Expired;
        }
        match self.kind {
            Kind::Lru | Kind::Lfu | Kind::TinyLfu => {
                if self.exact {
                    // Relaxed is enough: the stamps are only compared under the write
                    // lock, whose acquisition orders them after every reader's release.
                    let stamp = self.clock.fetch_add(1, Ordering::Relaxed);
                    slot.stamp.store(stamp, Ordering::Relaxed);
                } else {
                    let now = self.clock.load(Ordering::Relaxed);
                    if slot.stamp.load(Ordering::Relaxed) != now {
                        slot.stamp.store(now, Ordering::Relaxed);
                    }
                }
                if self.kind == Kind::Lfu {
                    slot.meta.bump_frequency();
                }
                slot.meta.bump_pending();
            }
            Kind::Fifo | Kind::Random | Kind::Unbounded => {
                if self.exact {
                    self.hits.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        Found::Hit(slot.value.clone())
    }

    /// For single-flight: a clone of the live value, counting nothing and leaving the
    /// order untouched. An expired entry is `None` (the leader's store replaces it).
    pub(crate) fn peek(&self, hash: u64, key: &K) -> Option<V> {
        let slot = self.find(hash, key)?;
        (!self.expired(slot)).then(|| slot.value.clone())
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

    #[inline]
    fn current_key(kind: Kind, slot: &Slot<K, V, M>) -> (u64, u64) {
        let stamp = slot.stamp.load(Ordering::Relaxed);
        match kind {
            Kind::Lfu => (slot.meta.frequency(), stamp),
            _ => (0, stamp),
        }
    }

    /// Stores `value` under `key` (counts the insert). An existing key is updated and
    /// counts as an access (LRU, LFU) or a fresh insertion (FIFO), as in cachetools; a new
    /// key first drops expired entries and, when the cache is full, evicts per policy.
    ///
    /// `weight` is the entry's (ignored unless the store is weighted); `ttl` its own time
    /// to live, `None` for the cache's. An entry heavier than the whole bound, or with its
    /// own `ttl` in a store whose entries cannot expire, is not stored: the key's earlier
    /// value is removed and the entry counts as evicted.
    pub(crate) fn insert(
        &mut self,
        hash: u64,
        key: K,
        value: V,
        weight: u32,
        ttl: Option<Duration>,
    ) {
        let too_heavy = self.weighted
            && self
                .capacity
                .is_some_and(|capacity| u64::from(weight) > capacity as u64);
        if too_heavy || (ttl.is_some() && !self.expiring) {
            self.refuse(hash, key, value, too_heavy);
            return;
        }
        self.inserts += 1;
        let stamp = self.next_write_stamp();
        let now = self.expiring.then(|| self.now());
        let ttl_nanos = ttl
            .map(|ttl| u64::try_from(ttl.as_nanos()).unwrap_or(NEVER - 1))
            .or(self.ttl_nanos);
        let expires_at = match (now, ttl_nanos) {
            (Some(now), Some(ttl)) => now.saturating_add(ttl).min(NEVER - 1),
            _ => NEVER,
        };
        let kind = self.kind;
        if let Some(slot) = self.table.find_mut(hash, |slot| slot.key == key) {
            let old = std::mem::replace(&mut slot.value, value);
            let old_weight = slot.meta.weight();
            slot.meta.set_weight(weight);
            slot.meta.set_expires_at(expires_at);
            *slot.stamp.get_mut() = stamp;
            if kind == Kind::Lfu {
                slot.meta.bump_frequency_mut();
            }
            slot.meta.bump_pending();
            // `order` catches up lazily: the recorded key is now smaller than the current
            // one, which `evict_one` handles.
            if now.is_some() {
                self.expiry.push(Reverse((expires_at, hash)));
                self.compact_expiry();
            }
            if self.notify {
                self.removed.push((key, old, RemovalCause::Replaced));
            }
            if self.weighted {
                self.weight = self
                    .weight
                    .saturating_sub(u64::from(old_weight))
                    .saturating_add(u64::from(weight));
                // a heavier value may push the total over the bound
                self.make_room(0);
                self.publish_len();
            }
            return;
        }
        if let Some(now) = now {
            self.purge_expired(now);
        }
        if let Some(tiny) = self.tiny.as_deref_mut() {
            tiny.record_new_key(hash, &self.table);
        }
        self.make_room(if self.weighted {
            usize::try_from(weight).unwrap_or(usize::MAX)
        } else {
            1
        });
        let mut meta = M::new(expires_at, weight);
        meta.set_queued(stamp);
        let slot = Slot {
            key,
            value,
            stamp: AtomicU64::new(stamp),
            hash,
            meta,
        };
        let (primary, _) = Self::current_key(kind, &slot);
        if self.table.insert_unique(slot).is_err() {
            // A shard indexes at most `u32::MAX` entries: past that, values are not kept.
            self.publish_len();
            return;
        }
        if self.weighted {
            self.weight += u64::from(weight);
        }
        if kind.ordered() {
            self.order.push(primary, stamp, hash);
        }
        if let Some(tiny) = self.tiny.as_deref_mut() {
            tiny.admit_new(hash, stamp);
        }
        if now.is_some() {
            self.expiry.push(Reverse((expires_at, hash)));
        }
        self.publish_len();
    }

    /// Does not store an entry that cannot be kept (`too_heavy` for the bound, else with a
    /// time to live the store's entries cannot carry): the key's earlier value leaves
    /// ([`RemovalCause::Replaced`]) and the entry counts as evicted at once.
    #[cold]
    fn refuse(&mut self, hash: u64, key: K, value: V, too_heavy: bool) {
        if let Some(old) = self.table.remove(hash, |slot| slot.key == key) {
            self.forget(&old);
            self.removed_one();
            self.release(old, RemovalCause::Replaced);
            self.publish_len();
        }
        self.evictions += 1;
        if self.notify {
            let cause = if too_heavy {
                RemovalCause::Size
            } else {
                RemovalCause::Expired
            };
            self.removed.push((key, value, cause));
        }
    }

    /// Evicts per the policy until `incoming` more units (one entry, or its weight) fit
    /// under the bound, or nothing is left to evict in this shard (a sharded cache may
    /// then pass its bound until another shard's next insert).
    fn make_room(&mut self, incoming: usize) {
        let Some(capacity) = self.capacity else {
            return;
        };
        let capacity = if self.weighted {
            capacity
        } else {
            capacity.max(1)
        };
        while self.total_units().saturating_add(incoming) > capacity {
            if !self.evict_one() {
                break;
            }
            self.evictions += 1;
        }
    }

    /// What `capacity` bounds in this shard: its entries, or their total weight.
    #[inline]
    fn units(&self) -> usize {
        if self.weighted {
            usize::try_from(self.weight).unwrap_or(usize::MAX)
        } else {
            self.table.len()
        }
    }

    /// This shard's total weight, in `Stats::weight`'s unit (its entries when unweighted).
    pub(crate) fn weight(&self) -> u64 {
        self.units() as u64
    }

    /// Bookkeeping for an entry that left the table: its weight, and the listener's list.
    #[inline]
    fn release(&mut self, slot: Slot<K, V, M>, cause: RemovalCause) {
        if self.weighted {
            self.weight = self.weight.saturating_sub(u64::from(slot.meta.weight()));
        }
        if self.notify {
            self.removed.push((slot.key, slot.value, cause));
        }
    }

    /// The entries that left since the last call, for the listener (empty, without
    /// allocating, when the store has none).
    pub(crate) fn take_removed(&mut self) -> Vec<Removed<K, V>> {
        std::mem::take(&mut self.removed)
    }

    /// The units `capacity` bounds: this shard's, or every shard's when sharded.
    fn total_units(&self) -> usize {
        match &self.shared_len {
            None => self.units(),
            // Every shard's published count, with this shard's current count instead of
            // its published one.
            Some(shared) => {
                shared
                    .0
                    .load(Ordering::Relaxed)
                    .saturating_sub(self.published_len)
                    + self.units()
            }
        }
    }

    /// Brings `shared_len` up to date with this shard's entry count (or weight): one
    /// atomic when it changed since the last call, none when it did not (an insert into
    /// a full cache evicts one entry and adds one).
    fn publish_len(&mut self) {
        let Some(shared) = &self.shared_len else {
            return;
        };
        let len = self.units();
        if len > self.published_len {
            shared
                .0
                .fetch_add(len - self.published_len, Ordering::Relaxed);
        } else if len < self.published_len {
            shared
                .0
                .fetch_sub(self.published_len - len, Ordering::Relaxed);
        }
        self.published_len = len;
    }

    /// Removes the entry under `key`; `true` if there was a live one.
    pub(crate) fn remove(&mut self, hash: u64, key: &K) -> bool {
        let Some(slot) = self.table.remove(hash, |slot| slot.key == *key) else {
            return false;
        };
        self.forget(&slot);
        self.removed_one();
        let live = !self.expired(&slot);
        if live {
            self.release(slot, RemovalCause::Removed);
        } else {
            // it had expired: its removal is an eviction, and the caller saw nothing
            self.evictions += 1;
            self.release(slot, RemovalCause::Expired);
        }
        self.publish_len();
        live
    }

    /// Removes `key` if its entry has expired (counted as an eviction).
    pub(crate) fn remove_if_expired(&mut self, hash: u64, key: &K) {
        if !self.expiring {
            return;
        }
        let now = self.now();
        if let Some(slot) = self.table.remove(hash, |slot| {
            slot.key == *key && now >= slot.meta.expires_at()
        }) {
            self.forget(&slot);
            self.removed_one();
            self.release(slot, RemovalCause::Expired);
            self.publish_len();
            self.evictions += 1;
        }
    }

    /// Drops every entry; the counters go on (see [`Store::reset_counters`]). The clock
    /// keeps running, so stamps stay unique and the hit count derived from it stays
    /// right.
    pub(crate) fn clear(&mut self) {
        if self.notify {
            let removed = &mut self.removed;
            removed.extend(
                self.table
                    .drain()
                    .map(|slot| (slot.key, slot.value, RemovalCause::Cleared)),
            );
        } else {
            self.table.clear();
        }
        self.weight = 0;
        self.publish_len();
        self.order.clear();
        self.expiry.clear();
        if let Some(tiny) = self.tiny.as_deref_mut() {
            tiny.clear();
        }
    }

    /// Starts every counter from zero again (a new baseline: the clock that counts the
    /// hits of stamping policies cannot go back while entries hold its stamps).
    pub(crate) fn reset_counters(&mut self) {
        self.base = self.raw_counters();
    }

    /// Entries held, expired ones not yet removed included.
    pub(crate) fn len(&self) -> usize {
        self.table.len()
    }

    /// Entries held whose TTL has not passed (a scan, when the cache has a TTL).
    pub(crate) fn live_len(&self) -> usize {
        if !self.expiring {
            return self.table.len();
        }
        let now = self.now();
        self.table
            .iter()
            .filter(|slot| slot.meta.expires_at() > now)
            .count()
    }

    /// Keeps the live entries for which `keep` says `true`; removes the others
    /// ([`RemovalCause::Removed`], not evictions) and every expired entry
    /// ([`RemovalCause::Expired`], evictions). Returns how many live entries it removed.
    pub(crate) fn retain(&mut self, keep: &mut impl FnMut(&K, &V) -> bool) -> usize {
        let now = self.expiring.then(|| self.now());
        let mut removed = 0;
        let mut position = 0;
        while let Some(slot) = self.table.get(position) {
            let expired = now.is_some_and(|now| now >= slot.meta.expires_at());
            if !expired && keep(&slot.key, &slot.value) {
                position += 1;
                continue;
            }
            // the last entry moves into `position`: look at it next
            let Some(slot) = self.table.remove_at(position) else {
                break;
            };
            self.forget(&slot);
            if expired {
                self.evictions += 1;
                self.release(slot, RemovalCause::Expired);
            } else {
                removed += 1;
                self.release(slot, RemovalCause::Removed);
            }
        }
        self.removed_one();
        self.publish_len();
        removed
    }

    /// Appends a clone of every live entry to `out`, counting nothing and leaving the
    /// order untouched.
    pub(crate) fn snapshot_into(&self, out: &mut Vec<(K, V)>)
    where
        K: Clone,
    {
        let now = self.expiring.then(|| self.now());
        out.extend(
            self.table
                .iter()
                .filter(|slot| now.is_none_or(|now| now < slot.meta.expires_at()))
                .map(|slot| (slot.key.clone(), slot.value.clone())),
        );
    }

    /// The counters since creation or the last reset.
    pub(crate) fn counters(&self) -> Counts {
        let raw = self.raw_counters();
        Counts {
            hits: raw.hits.saturating_sub(self.base.hits),
            misses: raw.misses.saturating_sub(self.base.misses),
            inserts: raw.inserts.saturating_sub(self.base.inserts),
            evictions: raw.evictions.saturating_sub(self.base.evictions),
        }
    }

    /// The counters since creation.
    fn raw_counters(&self) -> Counts {
        let stamped_hits = self
            .clock
            .load(Ordering::Relaxed)
            .saturating_sub(self.write_stamps);
        Counts {
            hits: self.hits.load(Ordering::Relaxed) + stamped_hits,
            misses: self.misses.load(Ordering::Relaxed),
            inserts: self.inserts,
            evictions: self.evictions,
        }
    }

    /// Bookkeeping after an entry left the table (the public method that removed it
    /// publishes the new count, see `Store::publish_len`).
    fn removed_one(&mut self) {
        self.compact_order();
        self.compact_expiry();
        if let Some(tiny) = self.tiny.as_deref_mut() {
            tiny.compact(&self.table);
        }
    }

    /// Tells W-TinyLFU that `slot` left the table (by removal or expiry).
    fn forget(&mut self, slot: &Slot<K, V, M>) {
        if let Some(tiny) = self.tiny.as_deref_mut() {
            tiny.left(slot);
        }
    }

    /// Whether W-TinyLFU's hill climber wants the hit and miss totals.
    pub(crate) fn climb_due(&self) -> bool {
        self.tiny.as_deref().is_some_and(TinyLfu::climb_due)
    }

    /// Feeds W-TinyLFU's hill climber the cache's hit and miss totals since creation;
    /// `None` when the counts are this store's own (an exact store).
    pub(crate) fn climb(&mut self, totals: Option<(u64, u64)>) {
        let (hits, misses) = totals.unwrap_or_else(|| {
            let raw = self.raw_counters();
            (raw.hits, raw.misses)
        });
        if let Some(tiny) = self.tiny.as_deref_mut() {
            tiny.climb(hits, misses);
        }
    }

    /// Evicts one entry per W-TinyLFU; `false` if there was none.
    fn evict_tiny(&mut self) -> bool {
        let Some(tiny) = self.tiny.as_deref_mut() else {
            return false;
        };
        let clock = self.clock.get_mut();
        let write_stamps = &mut self.write_stamps;
        // Queue positions are fresh stamps of the clock, taken as writers take theirs.
        let mut fresh = || {
            *write_stamps += 1;
            let stamp = *clock;
            *clock += 1;
            stamp
        };
        let Some(evicted) = tiny.evict_one(&mut self.table, &mut fresh) else {
            return false;
        };
        self.removed_one();
        self.release(evicted, RemovalCause::Size);
        true
    }

    /// Removes one entry per the policy; `false` if there was none to remove.
    fn evict_one(&mut self) -> bool {
        if self.table.is_empty() {
            return false;
        }
        match self.kind {
            Kind::Unbounded => false,
            Kind::TinyLfu => self.evict_tiny(),
            Kind::Random => {
                self.rng ^= self.rng << 13;
                self.rng ^= self.rng >> 7;
                self.rng ^= self.rng << 17;
                // Entries are dense: a uniformly random position is a uniformly random
                // entry.
                let len = self.table.len() as u64;
                let position = usize::try_from(self.rng % len.max(1)).unwrap_or(0);
                let Some(evicted) = self.table.remove_at(position) else {
                    return false;
                };
                self.removed_one();
                self.release(evicted, RemovalCause::Size);
                true
            }
            Kind::Lru | Kind::Lfu | Kind::Fifo => {
                let mut rebuilt = false;
                loop {
                    let Some((primary, stamp, hash)) = self.order.pop() else {
                        // Cannot happen (every entry has an item); recover anyway.
                        if rebuilt {
                            return false;
                        }
                        self.rebuild_order();
                        rebuilt = true;
                        continue;
                    };
                    if self.evict_or_requeue(primary, stamp, hash) {
                        return true;
                    }
                }
            }
        }
    }

    /// Handles one popped `order` item: evicts its entry if the item is still its current
    /// key (`true`), else re-queues the entry under its current key (or drops a stale
    /// item).
    fn evict_or_requeue(&mut self, primary: u64, stamp: u64, hash: u64) -> bool {
        let kind = self.kind;
        let item = (primary, stamp);
        if let Some(evicted) = self.table.remove(hash, |slot| {
            slot.hash == hash && Self::current_key(kind, slot) == item
        }) {
            self.removed_one();
            self.release(evicted, RemovalCause::Size);
            return true;
        }
        // Behind: the entry was used since. (Stamps only grow, so its current key is
        // larger.) Stale: the entry left; nothing to push.
        let requeue = self
            .table
            .iter_hash(hash)
            .filter(|slot| slot.hash == hash)
            .map(|slot| Self::current_key(kind, slot))
            .find(|current| *current > item);
        if let Some(current) = requeue {
            self.order.push(current.0, current.1, hash);
        }
        false
    }

    /// Removes every expired entry (counted as evictions).
    fn purge_expired(&mut self, now: u64) {
        while let Some(&Reverse((expires_at, hash))) = self.expiry.peek() {
            if expires_at > now {
                break;
            }
            self.expiry.pop();
            if let Some(slot) = self.table.remove(hash, |slot| {
                slot.hash == hash && slot.meta.expires_at() == expires_at
            }) {
                self.forget(&slot);
                self.removed_one();
                self.release(slot, RemovalCause::Expired);
                self.evictions += 1;
            }
        }
    }

    fn rebuild_order(&mut self) {
        let kind = self.kind;
        self.order.clear();
        for slot in self.table.iter() {
            let (primary, stamp) = Self::current_key(kind, slot);
            self.order.push(primary, stamp, slot.hash);
        }
    }

    fn compact_order(&mut self) {
        if self.kind.ordered() && self.order.len() > 2 * self.table.len() + 64 {
            self.rebuild_order();
        }
    }

    fn compact_expiry(&mut self) {
        if self.expiring && self.expiry.len() > 2 * self.table.len() + 64 {
            self.expiry = self
                .table
                .iter()
                .map(|slot| Reverse((slot.meta.expires_at(), slot.hash)))
                .collect();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use twat_cache_core::KeyBuf;

    /// The entries of the common `#[mcache]` cases stay small (dense entries are the point
    /// of `Table`): a primitive-argument key and a `String` value take 48 bytes.
    #[test]
    fn plain_entries_are_small() {
        assert_eq!(std::mem::size_of::<Slot<(u64,), String, Plain>>(), 48);
        assert!(std::mem::size_of::<Slot<KeyBuf, String, Plain>>() <= 80);
        // W-TinyLFU's without a TTL: one word more
        assert_eq!(
            std::mem::size_of::<Slot<(u64,), String, Tiny<NoExpiry>>>(),
            56
        );
    }
}
