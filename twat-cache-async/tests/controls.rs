//! The controls beside `CacheConfig` (`CacheOptions`), as the memory engine's: a weighted
//! cache never passes its bound and its listener hears every removal once with the right
//! cause (the shared driver `twat_cache_shard::model::replay_weighted`, for every
//! policy, memoizing lookups included); expiry per entry; `retain` and `iter`.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use twat_cache_async::{AsyncCache, CacheOptions, RemovalCause};
use twat_cache_core::{CacheConfig, Policy, Stats};
use twat_cache_shard::model::{Recorder, Subject, WeightedSubject, weighted_options};

fn config(policy: Policy, maxsize: u64) -> CacheConfig {
    CacheConfig::builder()
        .maxsize(maxsize)
        .policy(policy)
        .build()
        .unwrap()
}

/// Polls a future that never waits (no other caller computes its key) to completion.
fn ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut context = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return output;
        }
    }
}

/// A weighted, listened-to async cache as the shared driver sees it.
struct Weighted {
    cache: AsyncCache<u8, u32>,
    removed: Recorder<u8, u32>,
}

impl Subject for Weighted {
    fn get(&self, key: u8) -> Option<u32> {
        self.cache.get(&key)
    }
    fn insert(&self, key: u8, value: u32) {
        self.cache.insert(key, value);
    }
    fn remove(&self, key: u8) -> bool {
        self.cache.remove(&key)
    }
    fn get_or_insert(&self, key: u8, value: u32) -> u32 {
        ready(self.cache.get_or_insert_with(key, async move { value }))
    }
    fn len(&self) -> usize {
        self.cache.len()
    }
    fn stats(&self) -> Option<Stats> {
        Some(self.cache.stats())
    }
}

impl WeightedSubject for Weighted {
    fn entries(&self) -> Vec<(u8, u32)> {
        self.cache.iter().collect()
    }
    fn take_removed(&self) -> Vec<(u8, u32, RemovalCause)> {
        self.removed.take()
    }
}

twat_cache_shard::weighted_proptests!(|policy, bound| {
    let removed = Recorder::new();
    let options = weighted_options(&removed);
    Weighted {
        cache: AsyncCache::with_options(&config(policy, bound), options),
        removed,
    }
});

/// Expiry (the hook's and `insert_with_ttl`'s), a leader's stored value, `retain` and
/// clearing each reach the listener once, with their cause.
#[tokio::test]
async fn every_cause_is_reported_once() {
    let removed: Recorder<u8, u32> = Recorder::new();
    let cache = AsyncCache::with_options(
        &config(Policy::Lfu, 2),
        CacheOptions::new()
            .on_evict(removed.listener())
            .expire_after(|key: &u8, _: &u32| (*key == 9).then_some(Duration::from_millis(5))),
    );
    assert_eq!(cache.get_or_insert_with(1, async { 10 }).await, 10);
    cache.insert(1, 11); // Replaced
    cache.get_or_insert_with(9, async { 90 }).await; // expires after 5 ms
    cache.insert_with_ttl(4, 40, Duration::from_millis(5)); // LFU: evicts 9 (1 use, older)
    assert_eq!(
        removed.take(),
        [(1, 10, RemovalCause::Replaced), (9, 90, RemovalCause::Size)]
    );
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(cache.iter().collect::<Vec<_>>(), [(1, 11)]);
    assert_eq!(cache.invalidate_if(|key, _| *key == 1), 1); // Removed; 4 expired
    let mut heard = removed.take();
    heard.sort_unstable_by_key(|&(key, value, _)| (key, value));
    assert_eq!(
        heard,
        [
            (1, 11, RemovalCause::Removed),
            (4, 40, RemovalCause::Expired)
        ]
    );
    cache.insert(5, 50);
    cache.clear();
    assert_eq!(removed.take(), [(5, 50, RemovalCause::Cleared)]);
    // an entry heavier than the whole bound is refused, and counted
    let light = Recorder::new();
    let weighted = AsyncCache::with_options(
        &config(Policy::Lru, 8),
        CacheOptions::new()
            .weigher(|_: &u8, value: &String| u32::try_from(value.len()).unwrap())
            .on_evict(light.listener()),
    );
    let long = weighted
        .get_or_insert_with(1, async { "x".repeat(9) })
        .await;
    assert_eq!(long.len(), 9, "the caller still gets its value");
    assert_eq!(weighted.get(&1), None);
    assert_eq!(light.take(), [(1, "x".repeat(9), RemovalCause::Size)]);
    let stats = weighted.stats();
    assert_eq!(
        (stats.evictions, stats.weight, stats.maxsize),
        (1, 0, Some(8))
    );
}
