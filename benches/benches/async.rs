//! The async engine against `moka::future::Cache`: hits on a seeded workload of 10 000
//! `u64` ids mapping to 32-byte `String`s visited in random order, and the time to release
//! 1000 tasks awaiting one missing key.
//!
//! Hits are timed inside one `block_on` per sample (`iter_custom`), so the runtime's entry
//! cost is not part of the per-call number. Ours is measured with plain `u64` keys (as
//! moka) and with the key `#[acache]` builds, `KeyBuf::encode(&(&id,))`, encoded per call.
#![allow(
    missing_docs,
    reason = "criterion's macros generate undocumented items"
)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark fails loudly on a broken setup"
)]

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tokio::runtime::{Builder, Runtime};
use tokio::sync::Semaphore;
use twat_cache_async::AsyncCache;
use twat_cache_benches::{uniform_keys, value};
use twat_cache_core::{CacheConfig, KeyBuf};

const KEYS: usize = 10_000;
const AWAITERS: usize = 1000;

/// 10 000 distinct ids in a seeded random order (visited cyclically).
fn workload() -> Vec<u64> {
    uniform_keys(KEYS)
}

fn config() -> CacheConfig {
    CacheConfig::builder()
        .name("bench")
        .maxsize(KEYS as u64 * 2)
        .build()
        .unwrap()
}

fn current_thread() -> Runtime {
    Builder::new_current_thread().enable_all().build().unwrap()
}

fn multi_thread() -> Runtime {
    Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Times `iters` calls of `op` (cycling over `ids`) inside one `block_on`.
macro_rules! timed_hits {
    ($rt:expr, $ids:expr, $iters:expr, |$id:ident| $op:expr) => {{
        let ids = &$ids;
        $rt.block_on(async {
            let start = Instant::now();
            for &$id in ids.iter().cycle().take(usize::try_from($iters).unwrap()) {
                black_box($op);
            }
            start.elapsed()
        })
    }};
}

fn hits(c: &mut Criterion) {
    let ids = workload();
    let rt = current_thread();

    let ours_u64: AsyncCache<u64, String> = AsyncCache::new(&config());
    let ours_keybuf: AsyncCache<KeyBuf, String> = AsyncCache::new(&config());
    let moka: moka::future::Cache<u64, String> = moka::future::Cache::new(KEYS as u64 * 2);
    rt.block_on(async {
        for &id in &ids {
            ours_u64.insert(id, value(id));
            ours_keybuf.insert(KeyBuf::encode(&(&id,)).unwrap(), value(id));
            moka.insert(id, value(id)).await;
        }
        moka.run_pending_tasks().await;
    });
    assert_eq!(ours_u64.len(), KEYS);
    assert_eq!(moka.entry_count(), KEYS as u64);

    let mut group = c.benchmark_group("async_hit");
    group.throughput(Throughput::Elements(1));
    group.bench_function("moka_future_get", |b| {
        b.iter_custom(|iters| timed_hits!(rt, ids, iters, |id| moka.get(&id).await.unwrap()));
    });
    group.bench_function("moka_future_get_with", |b| {
        b.iter_custom(|iters| {
            timed_hits!(rt, ids, iters, |id| moka
                .get_with(id, async move { value(id) })
                .await)
        });
    });
    group.bench_function("ours_u64_get_or_insert_with", |b| {
        b.iter_custom(|iters| {
            timed_hits!(rt, ids, iters, |id| ours_u64
                .get_or_insert_with(id, async move { value(id) })
                .await)
        });
    });
    group.bench_function("ours_u64_get", |b| {
        b.iter_custom(|iters| timed_hits!(rt, ids, iters, |id| ours_u64.get(&id).unwrap()));
    });
    group.bench_function("ours_keybuf_get_or_insert_with", |b| {
        b.iter_custom(|iters| {
            timed_hits!(rt, ids, iters, |id| ours_keybuf
                .get_or_insert_with(KeyBuf::encode(&(&id,)).unwrap(), async move { value(id) })
                .await)
        });
    });
    // What the key costs by itself: the part of the line above that is not the cache.
    group.bench_function("keybuf_encode_alone", |b| {
        b.iter_custom(|iters| timed_hits!(rt, ids, iters, |id| KeyBuf::encode(&(&id,)).unwrap()));
    });
    group.finish();
}

/// Runs `op` over `ids` on two threads at once (each in its own current-thread runtime),
/// `iters` calls per thread, and returns the wall time: one iteration is a pair of calls,
/// one per thread (`Throughput::Elements(2)`), so a cache that scales shows the same time
/// per iteration as one thread's single call.
fn two_threads<Op, Fut>(ids: &[u64], iters: u64, op: Op) -> Duration
where
    Op: Fn(u64) -> Fut + Sync,
    Fut: Future,
{
    let barrier = std::sync::Barrier::new(3);
    let per_thread = usize::try_from(iters).unwrap();
    std::thread::scope(|scope| {
        for thread in 0..2 {
            let (barrier, op) = (&barrier, &op);
            scope.spawn(move || {
                let rt = current_thread();
                barrier.wait();
                rt.block_on(async {
                    let offset = thread * ids.len() / 2;
                    for &id in ids.iter().cycle().skip(offset).take(per_thread) {
                        black_box(op(id).await);
                    }
                });
                barrier.wait();
            });
        }
        barrier.wait();
        let start = Instant::now();
        barrier.wait();
        start.elapsed()
    })
}

fn hits_two_threads(c: &mut Criterion) {
    let ids = workload();
    let ours: AsyncCache<u64, String> = AsyncCache::new(&config());
    let moka: moka::future::Cache<u64, String> = moka::future::Cache::new(KEYS as u64 * 2);
    current_thread().block_on(async {
        for &id in &ids {
            ours.insert(id, value(id));
            moka.insert(id, value(id)).await;
        }
        moka.run_pending_tasks().await;
    });
    let mut group = c.benchmark_group("async_hit_two_threads");
    group.throughput(Throughput::Elements(2));
    group.bench_function("moka_future_get", |b| {
        b.iter_custom(|iters| {
            two_threads(&ids, iters, |id| {
                let moka = &moka;
                async move { moka.get(&id).await.unwrap() }
            })
        });
    });
    group.bench_function("ours_u64_get_or_insert_with", |b| {
        b.iter_custom(|iters| {
            two_threads(&ids, iters, |id| {
                ours.get_or_insert_with(id, async move { value(id) })
            })
        });
    });
    group.finish();
}

/// Spawns `AWAITERS` tasks running `call`, waits until `arrived` says they all wait, then
/// times from opening the gate to the last task's result.
fn release<F, Fut>(rt: &Runtime, call: F, arrived: impl Fn() -> bool) -> Duration
where
    F: Fn(Arc<Semaphore>) -> Fut,
    Fut: Future<Output = String> + Send + 'static,
{
    rt.block_on(async {
        let gate = Arc::new(Semaphore::new(0));
        let tasks: Vec<_> = (0..AWAITERS)
            .map(|_| tokio::spawn(call(Arc::clone(&gate))))
            .collect();
        while !arrived() {
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
        let start = Instant::now();
        gate.add_permits(AWAITERS);
        for task in tasks {
            black_box(task.await.unwrap());
        }
        start.elapsed()
    })
}

fn release_awaiters(c: &mut Criterion) {
    let rt = multi_thread();
    let mut group = c.benchmark_group("async_release_1000_awaiters");
    group.sample_size(10);
    group.throughput(Throughput::Elements(AWAITERS as u64));

    group.bench_function("ours", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let cache = Arc::new(AsyncCache::<u64, String>::new(&config()));
                let runs = Arc::new(AtomicUsize::new(0));
                let call = |gate: Arc<Semaphore>| {
                    let (cache, runs) = (Arc::clone(&cache), Arc::clone(&runs));
                    async move {
                        cache
                            .get_or_insert_with(1, async move {
                                runs.fetch_add(1, Ordering::SeqCst);
                                gate.acquire().await.unwrap().forget();
                                value(1)
                            })
                            .await
                    }
                };
                total += release(&rt, call, || {
                    runs.load(Ordering::SeqCst) == 1 && cache.waiting() == AWAITERS - 1
                });
                assert_eq!(runs.load(Ordering::SeqCst), 1, "the body ran once");
            }
            total
        });
    });

    // moka cannot say when its waiters have arrived: let them settle for 20 ms.
    group.bench_function("moka_future_get_with", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let cache: moka::future::Cache<u64, String> = moka::future::Cache::new(100);
                let runs = Arc::new(AtomicUsize::new(0));
                let settled = Instant::now();
                let call = |gate: Arc<Semaphore>| {
                    let (cache, runs) = (cache.clone(), Arc::clone(&runs));
                    async move {
                        cache
                            .get_with(1, async move {
                                runs.fetch_add(1, Ordering::SeqCst);
                                gate.acquire().await.unwrap().forget();
                                value(1)
                            })
                            .await
                    }
                };
                total += release(&rt, call, || {
                    runs.load(Ordering::SeqCst) == 1
                        && settled.elapsed() > Duration::from_millis(20)
                });
                assert_eq!(runs.load(Ordering::SeqCst), 1, "the body ran once");
            }
            total
        });
    });

    // The floor: 1000 tasks parked on a semaphore, released and joined, no cache at all.
    group.bench_function("tokio_semaphore_floor", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let parked = Arc::new(AtomicUsize::new(0));
                let call = |gate: Arc<Semaphore>| {
                    let parked = Arc::clone(&parked);
                    async move {
                        parked.fetch_add(1, Ordering::SeqCst);
                        gate.acquire().await.unwrap().forget();
                        value(1)
                    }
                };
                let settled = Instant::now();
                total += release(&rt, call, || {
                    parked.load(Ordering::SeqCst) == AWAITERS
                        && settled.elapsed() > Duration::from_millis(2)
                });
            }
            total
        });
    });
    group.finish();
}

criterion_group!(benches, hits, hits_two_threads, release_awaiters);
criterion_main!(benches);
