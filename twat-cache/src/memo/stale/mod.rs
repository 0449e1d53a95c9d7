//! Stale-while-revalidate: `#[mcache(ttl = "1m", stale = "5m")]` (every attribute with a
//! `ttl` takes `stale`, and `stale_if_error`).
//!
//! # What is stored
//!
//! A cache with a `stale` window stores [`Fresh<V>`]: the value and the moment it stops
//! being fresh (`until_ms`, Unix milliseconds, so that it means the same after a restart
//! and in another process sharing the folder). The engine keeps each entry for
//! `ttl + stale` ([`CacheConfig::retention`]); within that, an entry past `until_ms` is
//! *stale*.
//!
//! For persistent engines `Fresh<V>` is a different type from `V`, so its type
//! fingerprint puts the entries in another key space ([`Namespace::typed`]): entries a
//! cache without `stale` wrote are never read as `Fresh<V>` (nor the other way round),
//! whatever their bytes happen to decode to.
//!
//! # A call
//!
//! - Fresh entry: returned (one clone or decode, plus a clock read).
//! - Stale entry: the caller tries to claim the key's refresh ([`Refreshes`]). Exactly one
//!   caller gets it and runs the body; every other caller gets the old value at once
//!   (a stale hit) and never waits. A success is stored fresh.
//! - No entry (or past `ttl + stale`): a plain miss, single-flight as everywhere
//!   ([`Flights`](super::flight::Flights), and the file engine's leases across processes).
//!
//! A refresh that fails — the body returns `Err` or panics — keeps the old entry
//! stale-servable and lets a later caller claim the refresh again. With `stale_if_error`
//! the refreshing caller also gets the old value (the panic is caught); without it, that
//! caller gets its `Err` (or the panic) as without a stale window.
//!
//! # Why separate memo types
//!
//! The memos of caches without `stale` ([`MemoryMemo`](super::MemoryMemo) and the others)
//! do none of this: the macro picks these types only when `stale` is given, so the hit
//! path of every other cache is exactly what it was. The stale memos key memory caches
//! by the encoded arguments ([`KeyBuf`](twat_cache_core::KeyBuf)) like the persistent
//! ones, so one algorithm ([`sync`], [`asynchronous`]) serves all of them. Misses take
//! the same leases as without `stale` (a file-engine folder's, the Redis engine's), so
//! processes and machines that miss one key at once compute it once. A refresh takes the
//! same lease without waiting ([`RefreshLease`](super::lease::RefreshLease)): a process
//! that finds it held by another (refreshing, or computing) serves the old value, so a
//! stale entry is refreshed once across the processes and machines sharing the store.
//!
//! [`CacheConfig::retention`]: twat_cache_core::CacheConfig::retention
//! [`Namespace::typed`]: twat_cache_core::Namespace::typed

mod asynchronous;
mod context;
mod memos;
mod refresh;
mod striped;
mod sync;
mod unwind;

pub use memos::{StaleAsyncMemo, StaleAsyncPersistentMemo, StaleMemoryMemo, StalePersistentMemo};
pub(crate) use sync::PersistentTable;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use twat_cache_core::{CacheConfig, Stats, StatsCounter};

use refresh::Refreshes;
use striped::StripedCount;

/// A stored value and the moment (Unix milliseconds) it stops being fresh.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Fresh<V> {
    until_ms: u64,
    value: V,
}

impl<V> Fresh<V> {
    fn is_fresh(&self, now_ms: u64) -> bool {
        now_ms < self.until_ms
    }
}

/// The current time in Unix milliseconds (0 before 1970, saturating far after).
fn now_ms() -> u64 {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO);
    u64::try_from(since_epoch.as_millis()).unwrap_or(u64::MAX)
}

/// Milliseconds in `duration`, saturating.
fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// What one stale cache shares between its calls: its rules, the refreshes running, and
/// the counters the engine does not keep (stale hits, keys that would not encode).
pub(super) struct Stale {
    name: String,
    /// How long a stored value is fresh (`None`: forever, only when the configuration
    /// fell back to the defaults).
    ttl: Option<Duration>,
    /// How long after `ttl` an entry is still served.
    window: Duration,
    if_error: bool,
    refreshes: Refreshes,
    /// Stale hits, counted per thread stripe (the stale path writes nothing shared).
    stale_hits: StripedCount,
    /// Errors the engine does not see (keys that would not encode).
    counters: StatsCounter,
}

impl Stale {
    /// The rules of `config`, for the cache registered as `name`.
    fn new(config: &CacheConfig, name: &str) -> Self {
        Self {
            name: name.to_owned(),
            ttl: config.ttl(),
            window: config.stale().unwrap_or(Duration::ZERO),
            if_error: config.stale_if_error(),
            refreshes: Refreshes::default(),
            stale_hits: StripedCount::default(),
            counters: StatsCounter::new(),
        }
    }

    /// The configuration the engine opens with: entries kept for `ttl + stale`.
    fn engine_config(config: &CacheConfig) -> CacheConfig {
        match config.retention() {
            Some(retention) => config
                .clone()
                .into_builder()
                .ttl(retention)
                .build()
                .unwrap_or_else(|_| config.clone()),
            None => config.clone(),
        }
    }

    /// `value`, fresh from now for `ttl`.
    fn fresh<V>(&self, value: V) -> Fresh<V> {
        let until_ms = self
            .ttl
            .map_or(u64::MAX, |ttl| now_ms().saturating_add(millis(ttl)));
        Fresh { until_ms, value }
    }

    /// When a refresh of the entry that stopped being fresh at `until_ms` can be
    /// forgotten: the end of that entry's stale window, after which nobody serves it.
    fn forget_after(&self, until_ms: u64) -> u64 {
        until_ms.saturating_add(millis(self.window))
    }

    /// Answers with a stale entry's value, counting a stale hit.
    fn serve<V>(&self, stale: Fresh<V>) -> V {
        self.stale_hits.add();
        stale.value
    }

    /// A refresh failed and `stale_if_error` serves the old value: says so, counts it.
    fn serve_after_failure<V>(&self, stale: Fresh<V>, failure: &str) -> V {
        tracing::warn!(
            cache = %self.name,
            failure,
            "twat-cache: recomputing a stale entry failed; serving the old value (stale_if_error)"
        );
        self.serve(stale)
    }

    /// Adds this cache's own counters to the engine's `stats`.
    fn add_to(&self, mut stats: Stats) -> Stats {
        stats.stale_hits = stats.stale_hits.saturating_add(self.stale_hits.total());
        stats.errors = stats.errors.saturating_add(self.counters.errors());
        stats
    }

    /// Zeroes this cache's own counters (with the engine's, on `clear`).
    fn reset(&self) {
        self.stale_hits.reset();
        self.counters.reset();
    }
}

/// What became of a refresh of a stale entry.
enum Refreshed<V, E> {
    /// The body returned a value: store it.
    Value(V),
    /// The body returned `Err` and the caller gets it (no `stale_if_error`).
    Failed(E),
    /// The body failed (what, in words) and `stale_if_error` serves the old value.
    ServeStale(&'static str),
}

impl<V, E> Refreshed<V, E> {
    /// A refresh's outcome, under `stale_if_error` or not. A panic caught (only under
    /// `stale_if_error`) arrives as `Err(())`.
    fn from_outcome(outcome: Result<Result<V, E>, ()>, if_error: bool) -> Self {
        match outcome {
            Ok(Ok(value)) => Self::Value(value),
            Ok(Err(_)) if if_error => Self::ServeStale("the function returned Err"),
            Ok(Err(err)) => Self::Failed(err),
            Err(()) => Self::ServeStale("the function panicked"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_until_ttl_then_stale() {
        let config = CacheConfig::builder()
            .ttl(Duration::from_secs(60))
            .stale(Duration::from_secs(300))
            .build()
            .unwrap();
        let stale = Stale::new(&config, "t");
        let now = now_ms();
        let fresh = stale.fresh(1_u8);
        assert!(fresh.is_fresh(now));
        assert!(!fresh.is_fresh(now + 61_000));
        assert_eq!(stale.forget_after(fresh.until_ms), fresh.until_ms + 300_000);
        assert_eq!(
            Stale::engine_config(&config).ttl(),
            Some(Duration::from_secs(360))
        );
    }

    #[test]
    fn without_a_ttl_values_stay_fresh() {
        let stale = Stale::new(&CacheConfig::default(), "t");
        assert!(stale.fresh(()).is_fresh(u64::MAX - 1));
        assert_eq!(
            Stale::engine_config(&CacheConfig::default()),
            CacheConfig::default()
        );
    }

    #[test]
    fn failures_are_served_stale_only_under_stale_if_error() {
        let failed: Result<Result<u8, &str>, ()> = Ok(Err("no"));
        assert!(matches!(
            Refreshed::from_outcome(failed, false),
            Refreshed::Failed("no")
        ));
        assert!(matches!(
            Refreshed::from_outcome(failed, true),
            Refreshed::ServeStale(_)
        ));
        assert!(matches!(
            Refreshed::<u8, ()>::from_outcome(Err(()), true),
            Refreshed::ServeStale(_)
        ));
        assert!(matches!(
            Refreshed::<u8, ()>::from_outcome(Ok(Ok(3)), false),
            Refreshed::Value(3)
        ));
    }
}
