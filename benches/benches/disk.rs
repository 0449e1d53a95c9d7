//! The disk engine against raw fjall 3 and `cached` 4's disk store (`RedbCache`, redb —
//! what `#[concurrent_cached(disk = true)]` uses) on the same machine, in one run:
//! 10 000 keys, 100-byte values.
//!
//! * `hit/ours_hot` — a recently used key (served by the memory front) vs
//!   `hit/fjall_memtable` — raw `Keyspace::get` + `to_vec` of an entry in the memtable.
//! * `hit/bcache_hot` — the same hot hit through `#[bcache]` (a memoized `fn(u64) ->
//!   String`): the key encoding, the facade's lookup and the decode a user's call pays.
//! * `hit/ours_cold` — the first read of each key after a restart (the cache is reopened
//!   every 10 000 reads, outside the timed part; entries were written to table files
//!   before closing; the open's index scan warms the memory front with what fits, so
//!   these are memory hits), `hit/ours_cold_front_off` — the same with no memory front
//!   (every hit a fjall read), vs `hit/fjall_flushed` — raw get + `to_vec` after the same reopen
//!   and one untimed scan (our open scans the keyspace to build its index, which warms
//!   fjall's block cache; the raw side gets the same warm cache).
//! * `miss_store/*` — a lookup that misses followed by a store of the computed value, vs a
//!   raw fjall insert, buffered (the default) and with `durable = true` (fsync per write;
//!   raw: `insert` + `persist(SyncData)`). Every 10 000 operations the keyspace is
//!   cleared outside the timed part, so each timed operation writes a new key.
//!
//! * `cached_redb_*` — `cached`'s disk store on the same keys and values, driven as its
//!   macro drives it: `cache_get`, and on a miss `cache_set_ref`. Hits: `cached_redb_hot`
//!   (an entry read before, in redb's page cache) and `cached_redb_cold` (the first read of
//!   each key after reopening, like `ours_cold`); reads without TTL or refresh take only a
//!   read transaction, so its durability setting does not affect them. Miss + store:
//!   `cached_redb_nosync` (`durable(false)`, commits with `Durability::None`) in the
//!   buffered group, and `cached_redb_default_fsync` (its default `durable(true)`, an
//!   fsync per write) in the durable group.
//!
//! The persistent caches of `#[bcache]` need a cache root chosen before they open, so the
//! bench re-runs itself with `TWAT_CACHE_DIR` pointing at a temporary folder (removed
//! afterwards).
//!
//! Run: `cargo bench -p twat-cache-benches --bench disk -- --warm-up-time 1
//! --measurement-time 3 'disk/hit/(ours_hot|bcache_hot|fjall_memtable)'`
//!
//! Our side is driven as `#[bcache]` drives it: typed key (`u64`, namespaced, encoded
//! per call), value a 100-byte `String` decoded per hit. Raw fjall uses 8-byte keys and
//! hands back `Vec<u8>`. `cached` keys by `u64::to_string` and stores values with
//! `rmp-serde`.
#![allow(
    missing_docs,
    reason = "criterion's macros generate undocumented items"
)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark fails loudly on a broken setup"
)]
#![allow(
    clippy::print_stderr,
    reason = "the interleaved durable ratio is reported on stderr"
)]

use std::cell::{Cell, RefCell};
use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use cached::{ConcurrentCached, RedbCache, SerializeCached};
use criterion::{Criterion, Throughput};
use fjall::{Database, Keyspace, KeyspaceCreateOptions, PersistMode};
use twat_cache::bcache;
use twat_cache_benches::uniform_keys;
use twat_cache_core::CacheConfig;
use twat_cache_disk::{DiskCache, DiskOptions};

const KEYS: usize = 10_000;

fn value(key: u64) -> String {
    format!("{key:0100}")
}

/// The user's side of `hit/bcache_hot`: the same key and value types as `ours_hot`.
#[bcache(folder = "disk_bench_bcache", name = "bench::bcache_hot")]
fn bcache_value(key: u64) -> String {
    value(key)
}

fn config(durable: bool) -> CacheConfig {
    CacheConfig::builder()
        .name("bench")
        .folder("disk_bench")
        .durable(durable)
        .build()
        .unwrap()
}

fn options(root: &Path) -> DiskOptions {
    DiskOptions {
        root: Some(root.to_path_buf()),
        ..DiskOptions::default()
    }
}

fn raw_open(path: &Path) -> (Database, Keyspace) {
    let database = Database::builder(path).open().unwrap();
    let keyspace = database
        .keyspace("bench", KeyspaceCreateOptions::default)
        .unwrap();
    (database, keyspace)
}

/// `cached`'s disk store in `dir`; `durable = true` is its default (fsync per write).
fn cached_open(dir: &Path, durable: bool) -> RedbCache<u64, String> {
    RedbCache::builder("bench")
        .disk_dir(dir)
        .durable(durable)
        .build()
        .unwrap()
}

/// One miss + store as `#[concurrent_cached(disk = true)]` does it.
fn cached_miss_store(cache: &RedbCache<u64, String>, key: u64) {
    if cache.cache_get(&key).unwrap().is_none() {
        cache.cache_set_ref(&key, &value(key)).unwrap();
    }
}

/// Runs `timed` over `iters` keys of `keys` in chunks of at most `keys.len()`, calling
/// `reset` (untimed) before each chunk; returns the timed total.
fn chunked(
    iters: u64,
    keys: &[u64],
    mut reset: impl FnMut(),
    mut timed: impl FnMut(&[u64]),
) -> Duration {
    let mut total = Duration::ZERO;
    let mut left = usize::try_from(iters).unwrap();
    while left > 0 {
        let chunk = left.min(keys.len());
        reset();
        let start = Instant::now();
        timed(&keys[..chunk]);
        total += start.elapsed();
        left -= chunk;
    }
    total
}

fn hits(c: &mut Criterion) {
    let keys = uniform_keys(KEYS);
    let mut group = c.benchmark_group("disk/hit");
    group.throughput(Throughput::Elements(1));

    // Hot: ours from the memory front, raw fjall from the memtable.
    let ours_root = tempfile::tempdir().unwrap();
    let cache = DiskCache::open_with(&config(false), options(ours_root.path())).unwrap();
    for &key in &keys {
        cache.set(&key, &value(key)).unwrap();
    }
    let mut cursor = keys.iter().cycle();
    group.bench_function("ours_hot", |b| {
        b.iter(|| {
            let key = cursor.next().unwrap();
            black_box(cache.get::<_, String>(key).unwrap().unwrap())
        });
    });
    cache.compact().unwrap();
    drop(cache);

    for &key in &keys {
        bcache_value(key);
    }
    let mut cursor = keys.iter().cycle();
    group.bench_function("bcache_hot", |b| {
        b.iter(|| {
            let key = cursor.next().unwrap();
            black_box(bcache_value(black_box(*key)))
        });
    });

    let raw_root = tempfile::tempdir().unwrap();
    let (database, keyspace) = raw_open(raw_root.path());
    for &key in &keys {
        keyspace
            .insert(key.to_be_bytes(), value(key).into_bytes())
            .unwrap();
    }
    let mut cursor = keys.iter().cycle();
    group.bench_function("fjall_memtable", |b| {
        b.iter(|| {
            let key = cursor.next().unwrap();
            black_box(keyspace.get(key.to_be_bytes()).unwrap().unwrap().to_vec())
        });
    });
    keyspace.rotate_memtable_and_wait().unwrap();
    drop((keyspace, database));

    // `cached`'s disk store: filled without fsync (then one durable flush), reopened with
    // its default settings for the reads.
    let cached_root = tempfile::tempdir().unwrap();
    let filler = cached_open(cached_root.path(), false);
    for &key in &keys {
        filler.cache_set_ref(&key, &value(key)).unwrap();
    }
    filler.flush().unwrap();
    drop(filler);
    let cached = cached_open(cached_root.path(), true);
    let mut cursor = keys.iter().cycle();
    group.bench_function("cached_redb_hot", |b| {
        b.iter(|| {
            let key = cursor.next().unwrap();
            black_box(cached.cache_get(key).unwrap().unwrap())
        });
    });
    drop(cached);

    // Cold: the first read of each key after reopening, from table files — with the
    // default memory front (warmed by the open's index scan) and without one (every
    // cold hit a fjall read).
    let cold_options = [
        ("ours_cold", options(ours_root.path())),
        (
            "ours_cold_front_off",
            DiskOptions {
                front_bytes: 0,
                ..options(ours_root.path())
            },
        ),
    ];
    for (id, cold_options) in &cold_options {
        group.bench_function(*id, |b| {
            b.iter_custom(|iters| {
                let cache = RefCell::new(None);
                chunked(
                    iters,
                    &keys,
                    || {
                        // Close first: the folder's lock must be free before reopening.
                        drop(cache.take());
                        let reopened =
                            DiskCache::open_with(&config(false), cold_options.clone()).unwrap();
                        cache.replace(Some(reopened));
                    },
                    |chunk| {
                        let cache = cache.borrow();
                        let cache = cache.as_ref().unwrap();
                        for &key in chunk {
                            black_box(cache.get::<_, String>(&key).unwrap().unwrap());
                        }
                    },
                )
            });
        });
    }
    group.bench_function("fjall_flushed", |b| {
        b.iter_custom(|iters| {
            let raw = RefCell::new(None);
            chunked(
                iters,
                &keys,
                || {
                    drop(raw.take());
                    let (database, keyspace) = raw_open(raw_root.path());
                    // Our open scans the keyspace once (building its index), which warms
                    // fjall's block cache; warm raw fjall the same way, untimed.
                    for guard in keyspace.iter() {
                        black_box(guard.into_inner().unwrap());
                    }
                    raw.replace(Some((database, keyspace)));
                },
                |chunk| {
                    let raw = raw.borrow();
                    let (_, keyspace) = raw.as_ref().unwrap();
                    for &key in chunk {
                        black_box(keyspace.get(key.to_be_bytes()).unwrap().unwrap().to_vec());
                    }
                },
            )
        });
    });
    group.bench_function("cached_redb_cold", |b| {
        b.iter_custom(|iters| {
            let cached = RefCell::new(None);
            chunked(
                iters,
                &keys,
                || {
                    // redb refuses a second open of the same file: close first.
                    drop(cached.take());
                    cached.replace(Some(cached_open(cached_root.path(), true)));
                },
                |chunk| {
                    let cached = cached.borrow();
                    let cached = cached.as_ref().unwrap();
                    for &key in chunk {
                        black_box(cached.cache_get(&key).unwrap().unwrap());
                    }
                },
            )
        });
    });
    group.finish();
}

fn miss_store(c: &mut Criterion) {
    let keys = uniform_keys(KEYS);
    let mut group = c.benchmark_group("disk/miss_store_buffered");
    group.throughput(Throughput::Elements(1));

    let ours_root = tempfile::tempdir().unwrap();
    let cache = DiskCache::open_with(&config(false), options(ours_root.path())).unwrap();
    group.bench_function("ours", |b| {
        b.iter_custom(|iters| {
            chunked(
                iters,
                &keys,
                || cache.clear().unwrap(),
                |chunk| {
                    for &key in chunk {
                        if cache.get::<_, String>(&key).unwrap().is_none() {
                            cache.set(&key, &value(key)).unwrap();
                        }
                    }
                },
            )
        });
    });
    drop(cache);

    let raw_root = tempfile::tempdir().unwrap();
    let (database, keyspace) = raw_open(raw_root.path());
    group.bench_function("fjall_insert", |b| {
        b.iter_custom(|iters| {
            chunked(
                iters,
                &keys,
                || keyspace.clear().unwrap(),
                |chunk| {
                    for &key in chunk {
                        keyspace
                            .insert(key.to_be_bytes(), value(key).into_bytes())
                            .unwrap();
                    }
                },
            )
        });
    });
    drop((keyspace, database));

    let cached_root = tempfile::tempdir().unwrap();
    let cached = cached_open(cached_root.path(), false);
    group.bench_function("cached_redb_nosync", |b| {
        b.iter_custom(|iters| {
            chunked(
                iters,
                &keys,
                || cached.cache_clear().unwrap(),
                |chunk| {
                    for &key in chunk {
                        cached_miss_store(&cached, key);
                    }
                },
            )
        });
    });
    drop(cached);
    group.finish();
}

/// Which side of an interleaved pair is timed.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Ours,
    Raw,
    Cached,
}

/// With fsync per write, timings follow the disk's mood (other processes' writes, the
/// device's flush queue) more than the code. So the sides run interleaved — one write of
/// ours, one raw write, one of `cached`'s disk store (default: fsync per write), one of
/// ours, … — and each benchmark times only its own side: all see the same disk conditions.
fn miss_store_durable(c: &mut Criterion) {
    let keys = uniform_keys(KEYS);
    let mut group = c.benchmark_group("disk/miss_store_durable");
    group.throughput(Throughput::Elements(1));
    group.sample_size(10);

    let ours_root = tempfile::tempdir().unwrap();
    let cache = DiskCache::open_with(&config(true), options(ours_root.path())).unwrap();
    let raw_root = tempfile::tempdir().unwrap();
    let (database, keyspace) = raw_open(raw_root.path());
    let cached_root = tempfile::tempdir().unwrap();
    let cached = cached_open(cached_root.path(), true);
    let ours_op = |key: u64| {
        if cache.get::<_, String>(&key).unwrap().is_none() {
            cache.set(&key, &value(key)).unwrap();
        }
    };
    let raw_op = |key: u64| {
        keyspace
            .insert(key.to_be_bytes(), value(key).into_bytes())
            .unwrap();
        database.persist(PersistMode::SyncData).unwrap();
    };
    // All sides' times over every timed triple, for ratios measured in one time window.
    let totals = Cell::new((Duration::ZERO, Duration::ZERO, Duration::ZERO));
    let run = |iters: u64, timed: Side| {
        chunked_each(
            iters,
            &keys,
            || {
                cache.clear().unwrap();
                keyspace.clear().unwrap();
                cached.cache_clear().unwrap();
            },
            |key| {
                let start = Instant::now();
                ours_op(key);
                let ours = start.elapsed();
                let start = Instant::now();
                raw_op(key);
                let raw = start.elapsed();
                let start = Instant::now();
                cached_miss_store(&cached, key);
                let theirs = start.elapsed();
                let (ours_total, raw_total, cached_total) = totals.get();
                totals.set((ours_total + ours, raw_total + raw, cached_total + theirs));
                match timed {
                    Side::Ours => ours,
                    Side::Raw => raw,
                    Side::Cached => theirs,
                }
            },
        )
    };
    group.bench_function("ours", |b| b.iter_custom(|iters| run(iters, Side::Ours)));
    group.bench_function("fjall_insert", |b| {
        b.iter_custom(|iters| run(iters, Side::Raw));
    });
    group.bench_function("cached_redb_default_fsync", |b| {
        b.iter_custom(|iters| run(iters, Side::Cached));
    });
    group.finish();
    let (ours_total, raw_total, cached_total) = totals.get();
    if raw_total.is_zero() || cached_total.is_zero() {
        // Filtered out of this run.
        return;
    }
    eprintln!(
        "disk/miss_store_durable: interleaved ratios ours / fjall_insert = {:.2}, \
         ours / cached_redb_default_fsync = {:.3} (over every triple run: ours {:.1} ms, \
         fjall {:.1} ms, cached {:.1} ms)",
        ours_total.as_secs_f64() / raw_total.as_secs_f64(),
        ours_total.as_secs_f64() / cached_total.as_secs_f64(),
        ours_total.as_secs_f64() * 1e3,
        raw_total.as_secs_f64() * 1e3,
        cached_total.as_secs_f64() * 1e3,
    );
}

/// Like [`chunked`], but `timed` measures each operation itself and returns its time.
fn chunked_each(
    iters: u64,
    keys: &[u64],
    mut reset: impl FnMut(),
    mut timed: impl FnMut(u64) -> Duration,
) -> Duration {
    let mut total = Duration::ZERO;
    let mut left = usize::try_from(iters).unwrap();
    while left > 0 {
        let chunk = left.min(keys.len());
        reset();
        for &key in &keys[..chunk] {
            total += timed(key);
        }
        left -= chunk;
    }
    total
}

fn main() {
    twat_cache_benches::in_temporary_cache_root();
    let mut criterion = Criterion::default().configure_from_args();
    hits(&mut criterion);
    miss_store(&mut criterion);
    miss_store_durable(&mut criterion);
    criterion.final_summary();
}
