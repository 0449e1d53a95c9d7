//! Single-flight: one computation per key however many threads miss it at once; a
//! panicking or failing computation poisons nothing; other keys are never blocked.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Barrier};
use std::thread;

use twat_cache_core::{CacheConfig, Policy};
use twat_cache_memory::MemoryCache;

fn cache(policy: Policy) -> Arc<MemoryCache<u64, String>> {
    Arc::new(MemoryCache::new(
        &CacheConfig::builder()
            .maxsize(100)
            .policy(policy)
            .build()
            .unwrap(),
    ))
}

/// Spins until the cache has counted `n` misses (no timing involved).
fn wait_for_misses(cache: &MemoryCache<u64, String>, n: u64) {
    while cache.stats().misses < n {
        thread::yield_now();
    }
}

const POLICIES: [Policy; 6] = [
    Policy::Lru,
    Policy::Lfu,
    Policy::Fifo,
    Policy::Random,
    Policy::TinyLfu,
    Policy::Unbounded,
];

#[test]
fn concurrent_misses_of_one_key_compute_once() {
    for policy in POLICIES {
        let cache = cache(policy);
        let runs = Arc::new(AtomicUsize::new(0));
        let (started_tx, started_rx) = mpsc::channel();
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let release_rx = Arc::new(parking_lot::Mutex::new(release_rx));
        // The leader's computation blocks until every other thread is waiting on it.
        let threads = 8;
        let barrier = Arc::new(Barrier::new(threads));
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let (cache, runs, started_tx, release_rx, barrier) = (
                    Arc::clone(&cache),
                    Arc::clone(&runs),
                    started_tx.clone(),
                    Arc::clone(&release_rx),
                    Arc::clone(&barrier),
                );
                thread::spawn(move || {
                    barrier.wait();
                    cache.get_or_insert_with(7, || {
                        runs.fetch_add(1, Ordering::SeqCst);
                        started_tx.send(()).unwrap();
                        release_rx.lock().recv().unwrap();
                        "seven".to_owned()
                    })
                })
            })
            .collect();
        started_rx.recv().unwrap();
        // Every thread has missed (counted) while the value cannot exist yet, so each of
        // them is waiting on the leader's flight (or about to join it) when it finishes.
        wait_for_misses(&cache, threads as u64);
        release_tx.send(()).unwrap();
        for handle in handles {
            assert_eq!(handle.join().unwrap(), "seven", "{policy}");
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1, "{policy}");
        let stats = cache.stats();
        assert_eq!(stats.hits + stats.misses, threads as u64, "{policy}");
        assert_eq!(stats.inserts, 1, "{policy}");
    }
}

#[test]
fn other_keys_are_not_blocked_by_a_running_computation() {
    for policy in POLICIES {
        let cache = cache(policy);
        let (started_tx, started_rx) = mpsc::channel();
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let slow = {
            let cache = Arc::clone(&cache);
            thread::spawn(move || {
                cache.get_or_insert_with(1, || {
                    started_tx.send(()).unwrap();
                    release_rx.recv().unwrap();
                    "one".to_owned()
                })
            })
        };
        started_rx.recv().unwrap();
        // Key 1 is being computed and will not finish until we say so: if any of these
        // blocked on it, this test would hang.
        for key in 2..50 {
            assert_eq!(
                cache.get_or_insert_with(key, || key.to_string()),
                key.to_string()
            );
            assert_eq!(cache.get(&key), Some(key.to_string()), "{policy}");
            cache.insert(key + 1000, String::new());
            cache.remove(&(key + 1000));
        }
        let _ = cache.stats();
        let _ = cache.len();
        release_tx.send(()).unwrap();
        assert_eq!(slow.join().unwrap(), "one");
    }
}

#[test]
fn a_panicking_computation_does_not_poison_the_key() {
    for policy in POLICIES {
        let cache = cache(policy);
        let (started_tx, started_rx) = mpsc::channel();
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let leader = {
            let cache = Arc::clone(&cache);
            thread::spawn(move || {
                catch_unwind(AssertUnwindSafe(|| {
                    cache.get_or_insert_with(5, || {
                        started_tx.send(()).unwrap();
                        release_rx.recv().unwrap();
                        panic!("computation failed");
                    })
                }))
            })
        };
        started_rx.recv().unwrap();
        // A waiter joins the running flight, then the leader panics: the waiter takes
        // over and computes the value itself.
        let waiter = {
            let cache = Arc::clone(&cache);
            thread::spawn(move || cache.get_or_insert_with(5, || "five".to_owned()))
        };
        wait_for_misses(&cache, 2);
        release_tx.send(()).unwrap();
        assert!(
            leader.join().unwrap().is_err(),
            "the panic reaches its caller"
        );
        assert_eq!(waiter.join().unwrap(), "five", "{policy}");
        assert_eq!(cache.get(&5), Some("five".to_owned()), "{policy}");
        // and a panic with nobody waiting leaves the key usable too
        let again = catch_unwind(AssertUnwindSafe(|| {
            cache.get_or_insert_with(6, || panic!("again"))
        }));
        assert!(again.is_err());
        assert_eq!(cache.get_or_insert_with(6, || "six".to_owned()), "six");
    }
}

#[test]
fn errors_are_returned_not_cached_and_waiters_retry() {
    for policy in POLICIES {
        let cache = cache(policy);
        let failed: Result<String, &str> = cache.try_get_or_insert_with(3, || Err("boom"));
        assert_eq!(failed, Err("boom"));
        assert_eq!(cache.get(&3), None, "an error is not cached");

        let (started_tx, started_rx) = mpsc::channel();
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let leader = {
            let cache = Arc::clone(&cache);
            thread::spawn(move || {
                cache.try_get_or_insert_with(4, || {
                    started_tx.send(()).unwrap();
                    release_rx.recv().unwrap();
                    Err::<String, _>("leader failed")
                })
            })
        };
        started_rx.recv().unwrap();
        let waiter = {
            let cache = Arc::clone(&cache);
            thread::spawn(move || cache.try_get_or_insert_with(4, || Ok::<_, &str>("four".into())))
        };
        wait_for_misses(&cache, 3);
        release_tx.send(()).unwrap();
        assert_eq!(leader.join().unwrap(), Err("leader failed"));
        assert_eq!(waiter.join().unwrap(), Ok("four".to_owned()), "{policy}");
        assert_eq!(
            cache.try_get_or_insert_with(4, || Err("unused")),
            Ok("four".to_owned())
        );
    }
}

/// Threads missing the same keys in lockstep, with a computation of no duration, so that
/// leaders finish at every possible moment of the others' misses (between a miss and
/// joining the flight in particular): no key is ever computed twice while it stays in
/// the cache. Exact (one shard) and sharded caches.
#[test]
fn racing_misses_never_compute_a_finished_key_again() {
    for (maxsize, keys) in [(1_000_u64, 1_000_usize), (50_000, 20_000)] {
        let cache = Arc::new(MemoryCache::<u64, usize>::new(
            &CacheConfig::builder().maxsize(maxsize).build().unwrap(),
        ));
        let computed: Arc<Vec<AtomicUsize>> =
            Arc::new((0..keys).map(|_| AtomicUsize::new(0)).collect());
        let threads = 4;
        let barrier = Arc::new(Barrier::new(threads));
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let (cache, computed, barrier) = (
                    Arc::clone(&cache),
                    Arc::clone(&computed),
                    Arc::clone(&barrier),
                );
                thread::spawn(move || {
                    barrier.wait();
                    for key in 0..keys {
                        let value = cache.get_or_insert_with(key as u64, || {
                            computed[key].fetch_add(1, Ordering::Relaxed);
                            key * 2
                        });
                        assert_eq!(value, key * 2);
                    }
                })
            })
            .collect();
        for handle in handles {
            handle.join().unwrap();
        }
        let twice: Vec<usize> = (0..keys)
            .filter(|&key| computed[key].load(Ordering::Relaxed) != 1)
            .collect();
        assert!(
            twice.is_empty(),
            "maxsize {maxsize}: keys computed other than once: {twice:?}"
        );
        let stats = cache.stats();
        assert_eq!(stats.inserts, keys as u64, "maxsize {maxsize}");
        assert_eq!(
            stats.hits + stats.misses,
            (threads * keys) as u64,
            "maxsize {maxsize}"
        );
    }
}
