//! A dropped (cancelled) leader hands its key to a waiter: nobody hangs, nothing is poisoned.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use std::future::pending;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::{Semaphore, oneshot};
use twat_cache_async::AsyncCache;
use twat_cache_core::CacheConfig;

async fn until(condition: impl Fn() -> bool) {
    while !condition() {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

fn cache() -> Arc<AsyncCache<u64, u64>> {
    Arc::new(AsyncCache::new(&CacheConfig::default()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiter_takes_over_when_the_leader_is_dropped_by_select() {
    let cache = cache();
    let (cancel, cancelled) = oneshot::channel::<()>();
    let leader = {
        let cache = Arc::clone(&cache);
        tokio::spawn(async move {
            tokio::select! {
                value = cache.get_or_insert_with(1, pending::<u64>()) => Some(value),
                _ = cancelled => None,
            }
        })
    };
    until(|| cache.in_flight() == 1).await;
    let waiter_runs = Arc::new(AtomicUsize::new(0));
    let waiter = {
        let (cache, runs) = (Arc::clone(&cache), Arc::clone(&waiter_runs));
        tokio::spawn(async move {
            cache
                .get_or_insert_with(1, async move {
                    runs.fetch_add(1, Ordering::SeqCst);
                    7
                })
                .await
        })
    };
    until(|| cache.waiting() == 1).await;
    assert_eq!(
        waiter_runs.load(Ordering::SeqCst),
        0,
        "a waiter's body is not polled"
    );
    cancel.send(()).unwrap();
    assert_eq!(leader.await.unwrap(), None);
    assert_eq!(waiter.await.unwrap(), 7);
    assert_eq!(waiter_runs.load(Ordering::SeqCst), 1);
    assert_eq!(cache.get(&1), Some(7));
    assert_eq!((cache.in_flight(), cache.waiting()), (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_one_waiter_takes_over_and_the_rest_share_its_value() {
    let cache = cache();
    let leader = {
        let cache = Arc::clone(&cache);
        tokio::spawn(async move { cache.get_or_insert_with(1, pending::<u64>()).await })
    };
    until(|| cache.in_flight() == 1).await;
    let runs = Arc::new(AtomicUsize::new(0));
    let gate = Arc::new(Semaphore::new(0));
    let waiters: Vec<_> = (0..50_u64)
        .map(|i| {
            let (cache, runs, gate) = (Arc::clone(&cache), Arc::clone(&runs), Arc::clone(&gate));
            tokio::spawn(async move {
                cache
                    .get_or_insert_with(1, async move {
                        runs.fetch_add(1, Ordering::SeqCst);
                        gate.acquire().await.unwrap().forget();
                        100 + i
                    })
                    .await
            })
        })
        .collect();
    until(|| cache.waiting() == 50).await;
    leader.abort();
    assert!(leader.await.unwrap_err().is_cancelled());
    // One waiter leads now; the other 49 wait for it.
    until(|| runs.load(Ordering::SeqCst) == 1 && cache.waiting() == 49).await;
    gate.add_permits(1);
    let mut values = Vec::new();
    for waiter in waiters {
        values.push(waiter.await.unwrap());
    }
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    assert!(
        values.windows(2).all(|pair| pair[0] == pair[1]),
        "{values:?}"
    );
    assert_eq!(cache.get(&1), Some(values[0]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_cut_by_timeout_does_not_poison_the_key() {
    let cache = cache();
    let timed_out = tokio::time::timeout(
        Duration::from_millis(5),
        cache.get_or_insert_with(1, pending()),
    )
    .await;
    assert!(timed_out.is_err());
    assert_eq!(cache.in_flight(), 0);
    assert_eq!(cache.get_or_insert_with(1, async { 9 }).await, 9);
    assert_eq!(cache.get(&1), Some(9));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_waiter_leaves_the_others_alone() {
    let cache = cache();
    let gate = Arc::new(Semaphore::new(0));
    let leader = {
        let (cache, gate) = (Arc::clone(&cache), Arc::clone(&gate));
        tokio::spawn(async move {
            cache
                .get_or_insert_with(1, async move {
                    gate.acquire().await.unwrap().forget();
                    5
                })
                .await
        })
    };
    until(|| cache.in_flight() == 1).await;
    let doomed = {
        let cache = Arc::clone(&cache);
        tokio::spawn(async move { cache.get_or_insert_with(1, async { 0 }).await })
    };
    let patient = {
        let cache = Arc::clone(&cache);
        tokio::spawn(async move { cache.get_or_insert_with(1, async { 0 }).await })
    };
    until(|| cache.waiting() == 2).await;
    doomed.abort();
    assert!(doomed.await.unwrap_err().is_cancelled());
    assert_eq!(cache.waiting(), 1);
    gate.add_permits(1);
    assert_eq!(leader.await.unwrap(), 5);
    assert_eq!(patient.await.unwrap(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_cancellations_never_hang_or_poison() {
    // 16 tasks hammer 8 keys with bodies that sleep; a third of the calls are cut short
    // by a timeout. Whatever was cut, every key ends with no flight, no waiter, and a
    // value the next call serves.
    let cache = Arc::new(AsyncCache::<u64, u64>::new(
        &CacheConfig::builder().maxsize(4).build().unwrap(),
    ));
    let runs = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..16_u64)
        .map(|task| {
            let (cache, runs) = (Arc::clone(&cache), Arc::clone(&runs));
            tokio::spawn(async move {
                let mut state = 0x9e37_79b9_7f4a_7c15_u64 ^ task;
                for _ in 0..200 {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    let key = state % 8;
                    let runs = Arc::clone(&runs);
                    let call = cache.get_or_insert_with(key, async move {
                        runs.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_micros(200)).await;
                        key * 10
                    });
                    if state.is_multiple_of(3) {
                        let cut = Duration::from_micros(state % 300);
                        if let Ok(value) = tokio::time::timeout(cut, call).await {
                            assert_eq!(value, key * 10);
                        }
                    } else {
                        assert_eq!(call.await, key * 10);
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!((cache.in_flight(), cache.waiting()), (0, 0));
    let stats = cache.stats();
    assert_eq!(stats.hits + stats.misses, 16 * 200);
    assert!(runs.load(Ordering::SeqCst) as u64 <= stats.misses);
    for key in 0..8 {
        assert_eq!(
            cache.get_or_insert_with(key, async move { key * 10 }).await,
            key * 10
        );
    }
}
