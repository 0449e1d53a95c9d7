//! The disk engine against raw fjall 3 on the same machine, in one run: 10 000 keys,
//! 100-byte values.
//!
//! * `hit/ours_hot` — a recently used key (served by the memory front) vs
//!   `hit/fjall_memtable` — raw `Keyspace::get` + `to_vec` of an entry in the memtable.
//! * `hit/ours_cold` — the first read of each key after a restart (the cache is reopened
//!   every 10 000 reads, outside the timed part; entries were written to table files
//!   before closing) vs `hit/fjall_flushed` — raw get + `to_vec` after the same reopen
//!   and one untimed scan (our open scans the keyspace to build its index, which warms
//!   fjall's block cache; the raw side gets the same warm cache).
//! * `miss_store/*` — a lookup that misses followed by a store of the computed value, vs a
//!   raw fjall insert, buffered (the default) and with `durable = true` (fsync per write;
//!   raw: `insert` + `persist(SyncData)`). Every 10 000 operations the keyspace is
//!   cleared outside the timed part, so each timed operation writes a new key.
//!
//! Our side is driven as `#[bcache]` drives it: typed key (`u64`, namespaced, encoded
//! per call), value a 100-byte `String` decoded per hit. Raw fjall uses 8-byte keys and
//! hands back `Vec<u8>`.
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

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use fjall::{Database, Keyspace, KeyspaceCreateOptions, PersistMode};
use twat_cache_benches::shuffled_keys;
use twat_cache_core::CacheConfig;
use twat_cache_disk::{DiskCache, DiskOptions};

const KEYS: u64 = 10_000;

fn value(key: u64) -> String {
    format!("{key:0100}")
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
    let keys = shuffled_keys(KEYS);
    let mut group = c.benchmark_group("disk/hit");
    group.throughput(Throughput::Elements(1));

    // Hot: ours from the memory front, raw fjall from the memtable.
    let ours_root = tempfile::tempdir().unwrap();
    let cache = DiskCache::open_with(&config(false), &options(ours_root.path())).unwrap();
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

    // Cold: the first read of each key after reopening, from table files.
    group.bench_function("ours_cold", |b| {
        b.iter_custom(|iters| {
            let cache = RefCell::new(None);
            chunked(
                iters,
                &keys,
                || {
                    // Close first: the folder's lock must be free before reopening.
                    drop(cache.take());
                    let reopened =
                        DiskCache::open_with(&config(false), &options(ours_root.path())).unwrap();
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
    group.finish();
}

fn miss_store(c: &mut Criterion) {
    let keys = shuffled_keys(KEYS);
    let mut group = c.benchmark_group("disk/miss_store_buffered");
    group.throughput(Throughput::Elements(1));

    let ours_root = tempfile::tempdir().unwrap();
    let cache = DiskCache::open_with(&config(false), &options(ours_root.path())).unwrap();
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
    group.finish();
}

/// Which side of an interleaved pair is timed.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Ours,
    Raw,
}

/// With fsync per write, timings follow the disk's mood (other processes' writes, the
/// device's flush queue) more than the code. So both sides run interleaved — one write of
/// ours, one raw write, one of ours, … — and each benchmark times only its own side:
/// both see the same disk conditions.
fn miss_store_durable(c: &mut Criterion) {
    let keys = shuffled_keys(KEYS);
    let mut group = c.benchmark_group("disk/miss_store_durable");
    group.throughput(Throughput::Elements(1));
    group.sample_size(10);

    let ours_root = tempfile::tempdir().unwrap();
    let cache = DiskCache::open_with(&config(true), &options(ours_root.path())).unwrap();
    let raw_root = tempfile::tempdir().unwrap();
    let (database, keyspace) = raw_open(raw_root.path());
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
    // Both sides' times over every timed pair, for a ratio measured in one time window.
    let totals = Cell::new((Duration::ZERO, Duration::ZERO));
    let run = |iters: u64, timed: Side| {
        chunked_each(
            iters,
            &keys,
            || {
                cache.clear().unwrap();
                keyspace.clear().unwrap();
            },
            |key| {
                let start = Instant::now();
                ours_op(key);
                let ours = start.elapsed();
                let start = Instant::now();
                raw_op(key);
                let raw = start.elapsed();
                let (ours_total, raw_total) = totals.get();
                totals.set((ours_total + ours, raw_total + raw));
                if timed == Side::Ours { ours } else { raw }
            },
        )
    };
    group.bench_function("ours", |b| b.iter_custom(|iters| run(iters, Side::Ours)));
    group.bench_function("fjall_insert", |b| {
        b.iter_custom(|iters| run(iters, Side::Raw));
    });
    group.finish();
    let (ours_total, raw_total) = totals.get();
    eprintln!(
        "disk/miss_store_durable: interleaved ratio ours / fjall_insert = {:.2} \
         (over every pair run: {:.1} ms vs {:.1} ms)",
        ours_total.as_secs_f64() / raw_total.as_secs_f64(),
        ours_total.as_secs_f64() * 1e3,
        raw_total.as_secs_f64() * 1e3,
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

criterion_group!(benches, hits, miss_store, miss_store_durable);
criterion_main!(benches);
