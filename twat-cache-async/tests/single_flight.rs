//! Concurrent awaiters of one missing key run its computation once and share the result.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::Semaphore;
use twat_cache_async::AsyncCache;
use twat_cache_core::CacheConfig;

fn cache<K, V>() -> Arc<AsyncCache<K, V>>
where
    K: std::hash::Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    Arc::new(AsyncCache::new(&CacheConfig::default()))
}

/// Polls `condition` until it holds (no timing assertion: it only paces the test).
async fn until(condition: impl Fn() -> bool) {
    while !condition() {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousand_awaiters_run_the_body_once() {
    let cache = cache::<u64, String>();
    let runs = Arc::new(AtomicUsize::new(0));
    let gate = Arc::new(Semaphore::new(0));
    let tasks: Vec<_> = (0..1000)
        .map(|_| {
            let (cache, runs, gate) = (Arc::clone(&cache), Arc::clone(&runs), Arc::clone(&gate));
            tokio::spawn(async move {
                cache
                    .get_or_insert_with(1, async move {
                        runs.fetch_add(1, Ordering::SeqCst);
                        gate.acquire().await.unwrap().forget();
                        "one".repeat(11)
                    })
                    .await
            })
        })
        .collect();
    // Every caller has arrived: one leads (its body started), 999 wait.
    until(|| runs.load(Ordering::SeqCst) == 1 && cache.waiting() == 999).await;
    assert_eq!(cache.in_flight(), 1);
    assert_eq!(
        cache.get(&1),
        None,
        "a key being computed is a miss for `get`"
    );
    gate.add_permits(1);
    for task in tasks {
        assert_eq!(task.await.unwrap(), "one".repeat(11));
    }
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    assert_eq!(cache.waiting(), 0);
    assert_eq!(cache.in_flight(), 0);
    let stats = cache.stats();
    assert_eq!(
        stats.misses, 1001,
        "1000 awaiters + one `get`, one miss each"
    );
    assert_eq!(stats.hits, 0);
    assert_eq!(stats.inserts, 1);
    assert_eq!(stats.size, 1);
    // Later calls are hits and never run their body.
    let value = cache
        .get_or_insert_with(1, async { unreachable!("cached") })
        .await;
    assert_eq!(value, "one".repeat(11));
    assert_eq!(cache.stats().hits, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_keys_proceed_while_one_is_computed() {
    let cache = cache::<u64, u64>();
    let gate = Arc::new(Semaphore::new(0));
    let slow = {
        let (cache, gate) = (Arc::clone(&cache), Arc::clone(&gate));
        tokio::spawn(async move {
            cache
                .get_or_insert_with(1, async move {
                    gate.acquire().await.unwrap().forget();
                    10
                })
                .await
        })
    };
    until(|| cache.in_flight() == 1).await;
    // Key 2 completes while key 1's body is still blocked.
    assert_eq!(cache.get_or_insert_with(2, async { 20 }).await, 20);
    assert_eq!(cache.get(&2), Some(20));
    assert_eq!(cache.in_flight(), 1);
    gate.add_permits(1);
    assert_eq!(slow.await.unwrap(), 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_reach_every_waiter_and_are_not_cached() {
    let cache = cache::<&'static str, u64>();
    let runs = Arc::new(AtomicUsize::new(0));
    let gate = Arc::new(Semaphore::new(0));
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let (cache, runs, gate) = (Arc::clone(&cache), Arc::clone(&runs), Arc::clone(&gate));
            tokio::spawn(async move {
                cache
                    .try_get_or_insert_with("k", async move {
                        runs.fetch_add(1, Ordering::SeqCst);
                        gate.acquire().await.unwrap().forget();
                        Err::<u64, String>("down".to_owned())
                    })
                    .await
            })
        })
        .collect();
    until(|| runs.load(Ordering::SeqCst) == 1 && cache.waiting() == 9).await;
    gate.add_permits(1);
    for task in tasks {
        assert_eq!(task.await.unwrap(), Err("down".to_owned()));
    }
    assert_eq!(
        runs.load(Ordering::SeqCst),
        1,
        "one computation, ten errors"
    );
    assert_eq!(cache.get(&"k"), None, "errors are not cached");
    assert_eq!(cache.stats().inserts, 0);
    // The next call computes again; Ok is cached.
    let ok: Result<u64, String> = cache.try_get_or_insert_with("k", async { Ok(5) }).await;
    assert_eq!(ok, Ok(5));
    assert_eq!(cache.get(&"k"), Some(5));
    let cached: Result<u64, String> = cache
        .try_get_or_insert_with("k", async { Err("not run".to_owned()) })
        .await;
    assert_eq!(cached, Ok(5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiter_that_cannot_take_the_error_runs_its_own_body() {
    let cache = cache::<u64, u64>();
    let gate = Arc::new(Semaphore::new(0));
    let leader = {
        let (cache, gate) = (Arc::clone(&cache), Arc::clone(&gate));
        tokio::spawn(async move {
            cache
                .try_get_or_insert_with(1, async move {
                    gate.acquire().await.unwrap().forget();
                    Err::<u64, &'static str>("failed")
                })
                .await
        })
    };
    until(|| cache.in_flight() == 1).await;
    let plain = {
        let cache = Arc::clone(&cache);
        tokio::spawn(async move { cache.get_or_insert_with(1, async { 3 }).await })
    };
    let other_error = {
        let cache = Arc::clone(&cache);
        tokio::spawn(async move {
            cache
                .try_get_or_insert_with(1, async { Ok::<u64, u8>(3) })
                .await
        })
    };
    until(|| cache.waiting() == 2).await;
    gate.add_permits(1);
    assert_eq!(leader.await.unwrap(), Err("failed"));
    assert_eq!(plain.await.unwrap(), 3);
    assert_eq!(other_error.await.unwrap(), Ok(3));
    assert_eq!(cache.get(&1), Some(3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiters_get_the_value_even_if_it_is_not_kept() {
    // maxsize 1 and a stream of other keys: the waiters still receive the flight's value.
    let config = CacheConfig::builder().maxsize(1).build().unwrap();
    let cache = Arc::new(AsyncCache::<u64, u64>::new(&config));
    let runs = Arc::new(AtomicUsize::new(0));
    let gate = Arc::new(Semaphore::new(0));
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (cache, runs, gate) = (Arc::clone(&cache), Arc::clone(&runs), Arc::clone(&gate));
            tokio::spawn(async move {
                cache
                    .get_or_insert_with(1, async move {
                        runs.fetch_add(1, Ordering::SeqCst);
                        gate.acquire().await.unwrap().forget();
                        11
                    })
                    .await
            })
        })
        .collect();
    until(|| runs.load(Ordering::SeqCst) == 1 && cache.waiting() == 19).await;
    gate.add_permits(1);
    for task in tasks {
        assert_eq!(task.await.unwrap(), 11);
    }
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn every_call_counts_one_hit_or_one_miss() {
    let cache = cache::<u64, u64>();
    assert_eq!(cache.get_or_insert_with(1, async { 1 }).await, 1);
    assert_eq!(cache.get_or_insert_with(1, async { 2 }).await, 1);
    let fallible: Result<u64, ()> = cache.try_get_or_insert_with(2, async { Ok(2) }).await;
    assert_eq!(fallible, Ok(2));
    assert_eq!(cache.get(&2), Some(2));
    assert_eq!(cache.get(&3), None);
    cache.insert(3, 3);
    assert!(cache.remove(&3));
    assert!(!cache.remove(&3));
    let stats = cache.stats();
    assert_eq!((stats.hits, stats.misses, stats.inserts), (2, 3, 3));
    assert_eq!(cache.len(), 2);
    cache.clear();
    assert!(cache.is_empty());
    assert_eq!(cache.stats().hits, 2, "`clear` keeps the counters");
    twat_cache_core::ManagedCache::clear(&*cache).unwrap();
    assert_eq!(cache.stats(), twat_cache_core::Stats::default());
}

#[test]
fn name_and_debug() {
    let named = AsyncCache::<u64, u64>::new(
        &CacheConfig::builder()
            .name("fetch")
            .maxsize(10)
            .build()
            .unwrap(),
    );
    assert_eq!(named.name(), "fetch");
    assert_eq!(twat_cache_core::ManagedCache::name(&named), "fetch");
    assert_eq!(named.stats().maxsize, Some(10));
    named.insert(12_345, 67_890);
    let debug = format!("{named:?}");
    assert!(debug.contains("fetch"));
    assert!(
        !debug.contains("12345") && !debug.contains("67890"),
        "no entries: {debug}"
    );
    let unnamed = AsyncCache::<u64, u64>::new(&CacheConfig::default());
    assert_eq!(unnamed.name(), "async");
    assert_eq!(unnamed.stats().maxsize, None);
}

#[test]
fn counters_are_exact_under_concurrent_hits() {
    let cache = AsyncCache::<u64, String>::new(&CacheConfig::default());
    for key in 0..100 {
        cache.insert(key, key.to_string());
    }
    std::thread::scope(|scope| {
        for thread in 0..4_u64 {
            let cache = &cache;
            scope.spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .build()
                    .unwrap();
                rt.block_on(async {
                    for i in 0..10_000_u64 {
                        let key = (i * 7 + thread) % 100;
                        let value = cache
                            .get_or_insert_with(key, async { unreachable!("all cached") })
                            .await;
                        assert_eq!(value, key.to_string());
                    }
                });
            });
        }
    });
    let stats = cache.stats();
    assert_eq!((stats.hits, stats.misses), (40_000, 0));
}
