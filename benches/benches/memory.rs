//! The memory engine (its default exact LRU and its W-TinyLFU, rows "tinylfu") against a
//! plain `HashMap`, `cached`'s `#[cached]`, moka (its `sync` and `future` caches) and
//! quick_cache: hits (one and two threads) and misses, on a seeded workload of
//! 10 000 `u64` ids mapping to 32-byte `String`s, visited in random order (the shared
//! uniform stream of `benches/src/lib.rs`); and mixed traffic through a cache a tenth of
//! the key space, on the shared Zipf stream (`memory/zipf`).
//!
//! Our cache is driven as `#[mcache]` drives it: for a `u64` argument the key is the
//! argument tuple itself (`MemoryCache<(u64,), String>`, rows "u64 key"); for arguments
//! that are not primitive values it is their postcard bytes (`KeyBuf::encode(&(&id,))`,
//! encoded on every call, rows "KeyBuf"). The row "weighted + listener" is the same LRU
//! cache bounded by bytes (`CacheOptions::weigher(weigh_entry)`) with an eviction
//! listener: what those controls cost a hit (the rows without them must cost what they
//! did before the controls existed).
#![allow(
    missing_docs,
    reason = "criterion's macros generate undocumented items"
)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark fails loudly on a broken setup"
)]

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use cached::proc_macro::cached;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use twat_cache_benches::{uniform_keys, value, zipf_keys};
use twat_cache_core::{CacheConfig, KeyBuf, Policy};
use twat_cache_memory::{CacheOptions, MemoryCache};

const KEYS: usize = 10_000;

/// 10 000 distinct ids in a seeded random order (visited cyclically).
fn workload() -> Vec<u64> {
    uniform_keys(KEYS)
}

#[cached(max_size = 10_000)]
fn cached_hit(id: u64) -> String {
    value(id)
}

#[cached(max_size = 10_000)]
fn cached_miss(id: u64) -> String {
    value(id)
}

fn ours<K: std::hash::Hash + Eq + Clone + Send + Sync + 'static>(
    maxsize: u64,
) -> MemoryCache<K, String> {
    ours_with(maxsize, Policy::Lru)
}

fn ours_with<K: std::hash::Hash + Eq + Clone + Send + Sync + 'static>(
    maxsize: u64,
    policy: Policy,
) -> MemoryCache<K, String> {
    let config = CacheConfig::builder()
        .name("bench")
        .maxsize(maxsize)
        .policy(policy)
        .build()
        .unwrap();
    MemoryCache::new(&config)
}

#[inline]
fn ours_call(cache: &MemoryCache<KeyBuf, String>, id: u64) -> String {
    let key = KeyBuf::encode(&(&id,)).unwrap();
    cache.get_or_insert_with(key, || value(id))
}

#[inline]
fn ours_typed_call(cache: &MemoryCache<(u64,), String>, id: u64) -> String {
    cache.get_or_insert_with((id,), || value(id))
}

/// Everything warmed with the whole workload.
struct Contenders {
    ids: Vec<u64>,
    ours: MemoryCache<KeyBuf, String>,
    ours_typed: MemoryCache<(u64,), String>,
    ours_tiny: MemoryCache<(u64,), String>,
    ours_controls: MemoryCache<(u64,), String>,
    map: HashMap<u64, String>,
    moka_sync: moka::sync::Cache<u64, String>,
    moka: moka::future::Cache<u64, String>,
    quick: quick_cache::sync::Cache<u64, String>,
}

fn contenders() -> Contenders {
    let ids = workload();
    let ours_typed = ours(KEYS as u64);
    let ours_tiny = ours_with(KEYS as u64, Policy::TinyLfu);
    let ours = ours(KEYS as u64);
    let ours_controls = MemoryCache::with_options(
        &CacheConfig::builder()
            .name("bench")
            .maxsize(64 << 20)
            .build()
            .unwrap(),
        CacheOptions::new()
            .weigher(|key: &(u64,), value: &String| twat_cache_core::weigh_entry(key, value))
            .on_evict(|_, value, _| drop(black_box(value))),
    );
    let mut map = HashMap::new();
    let moka_sync = moka::sync::Cache::new(KEYS as u64);
    let moka = moka::future::Cache::new(KEYS as u64);
    let quick = quick_cache::sync::Cache::new(KEYS);
    for &id in &ids {
        ours_call(&ours, id);
        ours_typed_call(&ours_typed, id);
        ours_typed_call(&ours_tiny, id);
        ours_typed_call(&ours_controls, id);
        map.insert(id, value(id));
        cached_hit(id);
        moka_sync.insert(id, value(id));
        ready(moka.insert(id, value(id)));
        quick.insert(id, value(id));
    }
    moka_sync.run_pending_tasks();
    ready(moka.run_pending_tasks());
    assert_eq!(ours.len(), KEYS, "every key fits: hits only");
    assert_eq!(ours_tiny.len(), KEYS, "every key fits: hits only");
    assert_eq!(ours_controls.len(), KEYS, "every key fits: hits only");
    Contenders {
        ids,
        ours,
        ours_typed,
        ours_tiny,
        ours_controls,
        map,
        moka_sync,
        moka,
        quick,
    }
}

/// Drives a moka future that completes without waiting (polled once, no runtime).
fn ready<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return output;
        }
    }
}

/// Runs `op` over the workload, cycling from a per-run start.
fn cycle<'a>(ids: &'a [u64], start: usize) -> impl Iterator<Item = u64> + 'a {
    ids.iter().copied().cycle().skip(start % ids.len())
}

fn hits(c: &mut Criterion) {
    let all = contenders();
    let ids = &all.ids;
    let mut group = c.benchmark_group("memory/hit");
    group.throughput(Throughput::Elements(1));

    let mut keys = cycle(ids, 0);
    group.bench_function("twat-cache-memory (u64 key, get_or_insert_with)", |b| {
        b.iter(|| ours_typed_call(&all.ours_typed, black_box(keys.next().unwrap_or(0))));
    });
    let mut keys = cycle(ids, 0);
    group.bench_function(
        "twat-cache-memory tinylfu (u64 key, get_or_insert_with)",
        |b| {
            b.iter(|| ours_typed_call(&all.ours_tiny, black_box(keys.next().unwrap_or(0))));
        },
    );
    let mut keys = cycle(ids, 0);
    group.bench_function(
        "twat-cache-memory weighted + listener (u64 key, get_or_insert_with)",
        |b| {
            b.iter(|| ours_typed_call(&all.ours_controls, black_box(keys.next().unwrap_or(0))));
        },
    );
    let mut keys = cycle(ids, 0);
    group.bench_function(
        "twat-cache-memory (KeyBuf encode + get_or_insert_with)",
        |b| {
            b.iter(|| ours_call(&all.ours, black_box(keys.next().unwrap_or(0))));
        },
    );
    let mut keys = cycle(ids, 0);
    group.bench_function("HashMap get + clone", |b| {
        b.iter(|| all.map.get(&black_box(keys.next().unwrap_or(0))).cloned());
    });
    let mut keys = cycle(ids, 0);
    group.bench_function("#[cached(max_size = 10_000)]", |b| {
        b.iter(|| cached_hit(black_box(keys.next().unwrap_or(0))));
    });
    let mut keys = cycle(ids, 0);
    group.bench_function("moka::sync get", |b| {
        b.iter(|| all.moka_sync.get(&black_box(keys.next().unwrap_or(0))));
    });
    let mut keys = cycle(ids, 0);
    group.bench_function("moka::future get (polled once)", |b| {
        b.iter(|| ready(all.moka.get(&black_box(keys.next().unwrap_or(0)))));
    });
    let mut keys = cycle(ids, 0);
    group.bench_function("quick_cache get", |b| {
        b.iter(|| all.quick.get(&black_box(keys.next().unwrap_or(0))));
    });
    group.finish();

    // Two threads, each doing `iters` hits from a different point of the workload; the
    // time is the wall time of both, so throughput reads as total ops/s.
    let mut group = c.benchmark_group("memory/hit-2-threads");
    group.throughput(Throughput::Elements(2));
    two_threads(&mut group, "twat-cache-memory (u64 key)", ids, |id| {
        black_box(ours_typed_call(&all.ours_typed, id));
    });
    two_threads(
        &mut group,
        "twat-cache-memory tinylfu (u64 key)",
        ids,
        |id| {
            black_box(ours_typed_call(&all.ours_tiny, id));
        },
    );
    two_threads(&mut group, "twat-cache-memory (KeyBuf)", ids, |id| {
        black_box(ours_call(&all.ours, id));
    });
    two_threads(&mut group, "#[cached(max_size = 10_000)]", ids, |id| {
        black_box(cached_hit(id));
    });
    two_threads(&mut group, "quick_cache get", ids, |id| {
        black_box(all.quick.get(&id));
    });
    two_threads(&mut group, "moka::future get (polled once)", ids, |id| {
        black_box(ready(all.moka.get(&id)));
    });
    group.finish();
}

fn two_threads(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    ids: &[u64],
    op: impl Fn(u64) + Sync,
) {
    group.bench_function(name, |b| {
        b.iter_custom(|iters| twat_cache_benches::two_threads(ids, iters, &op));
    });
}

fn misses(c: &mut Criterion) {
    // Every call is a new key in a full cache: compute + insert + evict.
    let mut group = c.benchmark_group("memory/miss");
    group.throughput(Throughput::Elements(1));
    let typed = ours(KEYS as u64);
    let next = AtomicU64::new(1 << 40);
    group.bench_function("twat-cache-memory (u64 key, get_or_insert_with)", |b| {
        b.iter(|| ours_typed_call(&typed, black_box(next.fetch_add(1, Ordering::Relaxed))));
    });
    let tiny = ours_with(KEYS as u64, Policy::TinyLfu);
    let next = AtomicU64::new(1 << 40);
    group.bench_function(
        "twat-cache-memory tinylfu (u64 key, get_or_insert_with)",
        |b| {
            b.iter(|| ours_typed_call(&tiny, black_box(next.fetch_add(1, Ordering::Relaxed))));
        },
    );
    let cache = ours(KEYS as u64);
    let next = AtomicU64::new(1 << 40);
    group.bench_function(
        "twat-cache-memory (KeyBuf encode + get_or_insert_with)",
        |b| {
            b.iter(|| ours_call(&cache, black_box(next.fetch_add(1, Ordering::Relaxed))));
        },
    );
    let next = AtomicU64::new(1 << 40);
    group.bench_function("#[cached(max_size = 10_000)]", |b| {
        b.iter(|| cached_miss(black_box(next.fetch_add(1, Ordering::Relaxed))));
    });
    let next = AtomicU64::new(1 << 40);
    group.bench_function("the computation alone", |b| {
        b.iter(|| value(black_box(next.fetch_add(1, Ordering::Relaxed))));
    });
    group.finish();
}

/// Skewed traffic through a bounded cache: each operation is `get_or_insert_with` on the
/// next request of a Zipf(0.9) stream over 100 000 keys, with room for 10 000 (10 %), so
/// the time per operation folds in how often each policy misses (a miss computes the
/// 32-byte value and inserts it). Every cache starts cold and stays warm across
/// iterations: criterion's many passes over the stream measure the steady state.
fn zipf(c: &mut Criterion) {
    const CAPACITY: usize = 10_000;
    let stream = zipf_keys(1_000_000, 100_000, 0.9);
    let mut group = c.benchmark_group("memory/zipf");
    group.throughput(Throughput::Elements(1));
    let typed = ours(CAPACITY as u64);
    let mut keys = cycle(&stream, 0);
    group.bench_function("twat-cache-memory LRU (u64 key)", |b| {
        b.iter(|| {
            let id = black_box(keys.next().unwrap_or(0));
            ours_typed_call(&typed, id)
        });
    });
    let tiny = ours_with(CAPACITY as u64, Policy::TinyLfu);
    let mut keys = cycle(&stream, 0);
    group.bench_function("twat-cache-memory tinylfu (u64 key)", |b| {
        b.iter(|| {
            let id = black_box(keys.next().unwrap_or(0));
            ours_typed_call(&tiny, id)
        });
    });
    let quick = quick_cache::sync::Cache::new(CAPACITY);
    let mut keys = cycle(&stream, 0);
    group.bench_function("quick_cache get_or_insert_with", |b| {
        b.iter(|| {
            let id = black_box(keys.next().unwrap_or(0));
            quick.get_or_insert_with(&id, || Ok::<_, ()>(value(id)))
        });
    });
    let moka = moka::future::Cache::new(CAPACITY as u64);
    let mut keys = cycle(&stream, 0);
    group.bench_function("moka::future get_with (polled once)", |b| {
        b.iter(|| {
            let id = black_box(keys.next().unwrap_or(0));
            ready(moka.get_with(id, async move { value(id) }))
        });
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = hits, misses, zipf
}
criterion_main!(benches);
