//! Cache statistics: [`StatsCounter`] (atomic, inside an engine) and [`Stats`] (a plain
//! snapshot handed to users).

use std::iter::Sum;
use std::ops::{Add, AddAssign};
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;

use crate::error::Error;

/// A snapshot of one cache's counters (or of several caches summed).
///
/// The struct is `#[non_exhaustive]` so counters can be added without a breaking
/// release: read its fields directly, and build one outside this crate (a test's
/// expected value, a [`ManagedCache`](crate::ManagedCache) of your own) with
/// [`Stats::new`] and the `with_*` setters. A pattern needs `..`.
///
/// ```
/// use twat_cache_core::Stats;
///
/// let stats = Stats::new().with_hits(3).with_misses(1);
/// assert_eq!(stats.hit_ratio(), 0.75);
/// assert_eq!(Stats::default().hit_ratio(), 0.0);
/// let Stats { hits, misses, .. } = stats;
/// assert_eq!((hits, misses), (3, 1));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
#[non_exhaustive]
// With the `serde` feature: every field by name; fields missing from the input (written
// by an older version) read as their defaults.
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default))]
pub struct Stats {
    /// Lookups that found a live entry — fresh, or stale within a `stale` window (those
    /// are counted in [`stale_hits`](Self::stale_hits) too).
    pub hits: u64,
    /// Lookups that found nothing (or an expired or undecodable entry).
    pub misses: u64,
    /// Entries stored.
    pub inserts: u64,
    /// Entries removed to respect `maxsize` or because they expired.
    pub evictions: u64,
    /// Cache failures that were absorbed (I/O, decode, lock, backend errors).
    pub errors: u64,
    /// Entries currently held.
    pub size: u64,
    /// The configured bound, if any, in the unit of [`weight`](Self::weight): entries for
    /// memory engines without a weigher, the weigher's unit (bytes for a size string) for
    /// weighted ones, bytes for disk/file.
    pub maxsize: Option<u64>,
    /// The total weight currently held, in the unit of [`maxsize`](Self::maxsize): equal
    /// to [`size`](Self::size) when every entry weighs one (memory engines without a
    /// weigher, Redis), the sum of the weigher's answers for weighted memory caches, the
    /// bytes stored for disk/file.
    pub weight: u64,
    /// Calls of a memoized function with a `stale` window answered at once with an
    /// expired entry's old value (while another caller recomputed it, or after the
    /// recomputation failed under `stale_if_error`). Each is also one of the
    /// [`hits`](Self::hits): `hits - stale_hits` calls got a fresh value. The caller that
    /// recomputes counts as a hit (it found the entry), not as a stale hit, and its new
    /// value as an insert.
    pub stale_hits: u64,
}

impl Stats {
    /// Every counter at zero and no bound: the same as [`Stats::default`], usable in
    /// `const` context.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            hits: 0,
            misses: 0,
            inserts: 0,
            evictions: 0,
            errors: 0,
            size: 0,
            maxsize: None,
            weight: 0,
            stale_hits: 0,
        }
    }

    /// These stats with [`hits`](Self::hits) set.
    #[must_use]
    pub const fn with_hits(mut self, hits: u64) -> Self {
        self.hits = hits;
        self
    }

    /// These stats with [`misses`](Self::misses) set.
    #[must_use]
    pub const fn with_misses(mut self, misses: u64) -> Self {
        self.misses = misses;
        self
    }

    /// These stats with [`inserts`](Self::inserts) set.
    #[must_use]
    pub const fn with_inserts(mut self, inserts: u64) -> Self {
        self.inserts = inserts;
        self
    }

    /// These stats with [`evictions`](Self::evictions) set.
    #[must_use]
    pub const fn with_evictions(mut self, evictions: u64) -> Self {
        self.evictions = evictions;
        self
    }

    /// These stats with [`errors`](Self::errors) set.
    #[must_use]
    pub const fn with_errors(mut self, errors: u64) -> Self {
        self.errors = errors;
        self
    }

    /// These stats with [`size`](Self::size) set (the weight is left as it is).
    #[must_use]
    pub const fn with_size(mut self, size: u64) -> Self {
        self.size = size;
        self
    }

    /// These stats with [`maxsize`](Self::maxsize) set (`None`: unbounded).
    #[must_use]
    pub const fn with_maxsize(mut self, maxsize: Option<u64>) -> Self {
        self.maxsize = maxsize;
        self
    }

    /// These stats with [`weight`](Self::weight) set.
    #[must_use]
    pub const fn with_weight(mut self, weight: u64) -> Self {
        self.weight = weight;
        self
    }

    /// These stats with [`stale_hits`](Self::stale_hits) set.
    #[must_use]
    pub const fn with_stale_hits(mut self, stale_hits: u64) -> Self {
        self.stale_hits = stale_hits;
        self
    }

    /// `hits / (hits + misses)`, or `0.0` before the first lookup.
    #[must_use]
    #[allow(
        clippy::cast_precision_loss,
        reason = "a ratio of counters; precision beyond 2^53 lookups does not matter"
    )]
    pub fn hit_ratio(&self) -> f64 {
        let lookups = self.hits.saturating_add(self.misses);
        if lookups == 0 {
            0.0
        } else {
            self.hits as f64 / lookups as f64
        }
    }
}

impl Add for Stats {
    type Output = Self;

    /// Sums counters; `maxsize` sums when both are bounded and is `None` otherwise.
    fn add(self, other: Self) -> Self {
        Self {
            hits: self.hits.saturating_add(other.hits),
            misses: self.misses.saturating_add(other.misses),
            inserts: self.inserts.saturating_add(other.inserts),
            evictions: self.evictions.saturating_add(other.evictions),
            errors: self.errors.saturating_add(other.errors),
            size: self.size.saturating_add(other.size),
            maxsize: match (self.maxsize, other.maxsize) {
                (Some(a), Some(b)) => Some(a.saturating_add(b)),
                _ => None,
            },
            weight: self.weight.saturating_add(other.weight),
            stale_hits: self.stale_hits.saturating_add(other.stale_hits),
        }
    }
}

impl AddAssign for Stats {
    fn add_assign(&mut self, other: Self) {
        *self = *self + other;
    }
}

impl Sum for Stats {
    fn sum<I: Iterator<Item = Self>>(iter: I) -> Self {
        let mut iter = iter;
        let Some(first) = iter.next() else {
            return Self::default();
        };
        iter.fold(first, Add::add)
    }
}

/// Atomic counters an engine updates as it works, plus warn-once error reporting.
///
/// `size` is not tracked here: each engine knows its own size and passes it to
/// [`StatsCounter::snapshot`].
#[derive(Debug, Default)]
pub struct StatsCounter {
    hits: AtomicU64,
    misses: AtomicU64,
    inserts: AtomicU64,
    evictions: AtomicU64,
    errors: AtomicU64,
    stale_hits: AtomicU64,
    warned: Mutex<Vec<&'static str>>,
}

impl StatsCounter {
    /// Fresh counters at zero.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts one hit.
    #[inline]
    pub fn hit(&self) {
        self.hits.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one miss.
    #[inline]
    pub fn miss(&self) {
        self.misses.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one insert.
    #[inline]
    pub fn insert(&self) {
        self.inserts.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts `n` evictions.
    #[inline]
    pub fn evict(&self, n: u64) {
        self.evictions.fetch_add(n, Ordering::Relaxed);
    }

    /// Counts one stale hit (see [`Stats::stale_hits`]).
    #[inline]
    pub fn stale_hit(&self) {
        self.stale_hits.fetch_add(1, Ordering::Relaxed);
    }

    /// The stale hits counted so far: what [`Stats::stale_hits`] of the next snapshot
    /// reports.
    #[must_use]
    pub fn stale_hits(&self) -> u64 {
        self.stale_hits.load(Ordering::Relaxed)
    }

    /// Counts an absorbed error and logs it with `tracing::warn!` the first time this
    /// cache sees an error of its kind ([`Error::cause_label`]).
    pub fn error(&self, cache_name: &str, error: &Error) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        let label = error.cause_label();
        let first = {
            let mut warned = self.warned.lock();
            if warned.contains(&label) {
                false
            } else {
                warned.push(label);
                true
            }
        };
        if first {
            tracing::warn!(
                cache = cache_name,
                cause = label,
                error = %error,
                "twat-cache: cache error absorbed, the function's own result is returned \
                 (further errors of this kind are only counted)"
            );
        }
    }

    /// Counts an error that the caller has already reported in its own words.
    pub fn error_silently(&self) {
        self.errors.fetch_add(1, Ordering::Relaxed);
    }

    /// The errors counted so far: what [`Stats::errors`] of the next snapshot reports.
    ///
    /// ```
    /// use twat_cache_core::{Error, StatsCounter};
    ///
    /// let counter = StatsCounter::new();
    /// counter.error_silently();
    /// assert_eq!(counter.errors(), 1);
    /// ```
    #[must_use]
    pub fn errors(&self) -> u64 {
        self.errors.load(Ordering::Relaxed)
    }

    /// Resets every counter to zero (after a clear).
    pub fn reset(&self) {
        for counter in [
            &self.hits,
            &self.misses,
            &self.inserts,
            &self.evictions,
            &self.errors,
            &self.stale_hits,
        ] {
            counter.store(0, Ordering::Relaxed);
        }
    }

    /// A snapshot with the engine's current `size` and bound, every entry weighing one
    /// (`weight == size`; see [`snapshot_weighed`](Self::snapshot_weighed)).
    #[must_use]
    pub fn snapshot(&self, size: u64, maxsize: Option<u64>) -> Stats {
        self.snapshot_weighed(size, size, maxsize)
    }

    /// A snapshot with the engine's current `size` (entries), `weight` and bound, the
    /// last two in one unit (bytes for disk/file).
    #[must_use]
    pub fn snapshot_weighed(&self, size: u64, weight: u64, maxsize: Option<u64>) -> Stats {
        Stats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            inserts: self.inserts.load(Ordering::Relaxed),
            evictions: self.evictions.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
            size,
            maxsize,
            weight,
            stale_hits: self.stale_hits.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_snapshot() {
        let counter = StatsCounter::new();
        counter.hit();
        counter.hit();
        counter.miss();
        counter.insert();
        counter.evict(2);
        counter.stale_hit();
        counter.error("t", &Error::NoCacheRoot);
        counter.error("t", &Error::NoCacheRoot);
        let stats = counter.snapshot(5, Some(10));
        assert_eq!(
            stats,
            Stats {
                hits: 2,
                misses: 1,
                inserts: 1,
                evictions: 2,
                errors: 2,
                size: 5,
                maxsize: Some(10),
                weight: 5,
                stale_hits: 1,
            }
        );
        counter.reset();
        assert_eq!(counter.snapshot(0, None), Stats::default());
    }

    #[test]
    fn sums_keep_maxsize_only_when_all_bounded() {
        let bounded = Stats {
            hits: 1,
            maxsize: Some(10),
            ..Stats::default()
        };
        let unbounded = Stats {
            misses: 2,
            ..Stats::default()
        };
        assert_eq!((bounded + bounded).maxsize, Some(20));
        let total: Stats = [bounded, unbounded].into_iter().sum();
        assert_eq!(total.hits, 1);
        assert_eq!(total.misses, 2);
        assert_eq!(total.maxsize, None);
    }
}
