//! The attributes as a user writes them, against what that user would otherwise write:
//!
//! * `macros/mcache hit`, `macros/mcache hit, 2 threads` and `macros/mcache miss`:
//!   `#[mcache(maxsize = 10_000)]` against `cached`'s `#[cached(max_size = 10_000)]` and a
//!   plain `HashMap` get+clone (shared read-only by the two threads: the scaling ceiling),
//!   on 10 000 `u64` ids (32-byte `String` values) in a seeded random order;
//! * `macros/mcache hit, &str argument`: the same with a `&str` argument, which `cached`
//!   can only key by converting it to a `String` (`key = "String", convert = …`);
//! * `macros/fcache hit <size>`: `#[fcache]` returning a `Vec<u8>` of 1 KiB, 1 MiB and
//!   64 MiB against `std::fs::read` of a file of the same size;
//! * `macros/bcache hit`: `#[bcache]` returning 100 bytes (hot: served by the memory front).
//!
//! The persistent caches need a cache root chosen before they open, so the bench re-runs
//! itself with `TWAT_CACHE_DIR` pointing at a temporary folder (removed afterwards).
//!
//! Run: `cargo bench -p twat-cache-benches --bench macros`
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

use cached::proc_macro::cached;
use criterion::{BenchmarkId, Criterion, Throughput};
use twat_cache::{bcache, fcache, mcache};
use twat_cache_benches::{uniform_keys, value};

const KEYS: usize = 10_000;

#[mcache(maxsize = 10_000, name = "bench::mcache_hit")]
fn mcache_hit(id: u64) -> String {
    value(id)
}

#[cached(max_size = 10_000)]
fn cached_hit(id: u64) -> String {
    value(id)
}

/// A `&str` argument: `#[mcache]` keys it by its postcard bytes; `cached` needs the
/// argument converted to an owned key.
#[mcache(maxsize = 10_000, name = "bench::mcache_str")]
fn mcache_str(word: &str) -> String {
    format!("{word:>32}")
}

#[cached(max_size = 10_000, key = "String", convert = r#"{ word.to_owned() }"#)]
fn cached_str(word: &str) -> String {
    format!("{word:>32}")
}

#[mcache(maxsize = 10_000, name = "bench::mcache_miss")]
fn mcache_miss(id: u64) -> String {
    value(id)
}

#[cached(max_size = 10_000)]
fn cached_miss(id: u64) -> String {
    value(id)
}

#[fcache(folder = "bench_fcache", name = "bench::fcache")]
fn fcache_bytes(len: usize) -> Vec<u8> {
    payload(len)
}

#[bcache(folder = "bench_bcache", name = "bench::bcache")]
fn bcache_hit(id: u64) -> Vec<u8> {
    vec![u8::try_from(id % 251).unwrap_or_default(); 100]
}

fn payload(len: usize) -> Vec<u8> {
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()[0]
        })
        .collect()
}

fn ids() -> Vec<u64> {
    uniform_keys(KEYS)
}

fn memory(c: &mut Criterion) {
    let ids = ids();
    let map: HashMap<u64, String> = ids.iter().map(|&id| (id, value(id))).collect();
    for &id in &ids {
        mcache_hit(id);
        cached_hit(id);
    }
    let mut group = c.benchmark_group("macros/mcache hit");
    group.throughput(Throughput::Elements(1));
    let cursor = std::cell::Cell::new(0);
    let next = || {
        cursor.set((cursor.get() + 1) % ids.len());
        ids[cursor.get()]
    };
    let ours = || {
        black_box(mcache_hit(black_box(next())));
    };
    let theirs = || {
        black_box(cached_hit(black_box(next())));
    };
    group.bench_function("#[mcache(maxsize = 10_000)]", |b| b.iter(ours));
    group.bench_function("#[cached(max_size = 10_000)]", |b| b.iter(theirs));
    group.bench_function("HashMap get+clone", |b| {
        b.iter(|| map.get(&black_box(next())).cloned());
    });
    group.finish();

    // Two threads hitting at once; the time is the wall time of both, so throughput reads
    // as total hits per second.
    let mut group = c.benchmark_group("macros/mcache hit, 2 threads");
    group.throughput(Throughput::Elements(2));
    group.bench_function("#[mcache(maxsize = 10_000)]", |b| {
        b.iter_custom(|iters| {
            twat_cache_benches::two_threads(&ids, iters, |id| {
                black_box(mcache_hit(id));
            })
        });
    });
    group.bench_function("#[cached(max_size = 10_000)]", |b| {
        b.iter_custom(|iters| {
            twat_cache_benches::two_threads(&ids, iters, |id| {
                black_box(cached_hit(id));
            })
        });
    });
    // No lock, nothing written: how far two threads scale on this machine at best.
    group.bench_function("HashMap get+clone (read-only, the scaling ceiling)", |b| {
        b.iter_custom(|iters| {
            twat_cache_benches::two_threads(&ids, iters, |id| {
                black_box(map.get(&id).cloned());
            })
        });
    });
    group.finish();

    let words: Vec<String> = ids.iter().map(|id| format!("word-{id}")).collect();
    for word in &words {
        mcache_str(word);
        cached_str(word);
    }
    let mut group = c.benchmark_group("macros/mcache hit, &str argument");
    group.throughput(Throughput::Elements(1));
    let mut keys = words.iter().cycle();
    group.bench_function("#[mcache(maxsize = 10_000)]", |b| {
        b.iter(|| mcache_str(black_box(keys.next().map_or("", String::as_str))));
    });
    let mut keys = words.iter().cycle();
    group.bench_function(
        "#[cached(max_size = 10_000, key = \"String\", convert = …)]",
        |b| {
            b.iter(|| cached_str(black_box(keys.next().map_or("", String::as_str))));
        },
    );
    group.finish();

    let mut group = c.benchmark_group("macros/mcache miss");
    group.throughput(Throughput::Elements(1));
    let fresh = AtomicU64::new(1 << 40);
    group.bench_function("#[mcache(maxsize = 10_000)]", |b| {
        b.iter(|| mcache_miss(fresh.fetch_add(1, Ordering::Relaxed)));
    });
    group.bench_function("#[cached(max_size = 10_000)]", |b| {
        b.iter(|| cached_miss(fresh.fetch_add(1, Ordering::Relaxed)));
    });
    group.finish();
}

fn persistent(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let mut group = c.benchmark_group("macros/fcache hit");
    for (label, len) in [("1 KiB", 1 << 10), ("1 MiB", 1 << 20), ("64 MiB", 64 << 20)] {
        if len >= 64 << 20 {
            group.sample_size(10);
        }
        group.throughput(Throughput::Bytes(len as u64));
        let file = dir.path().join(format!("plain-{len}"));
        std::fs::write(&file, payload(len)).unwrap();
        assert_eq!(fcache_bytes(len).len(), len);
        group.bench_with_input(
            BenchmarkId::new("#[fcache] Vec<u8>", label),
            &len,
            |b, &len| {
                b.iter(|| fcache_bytes(black_box(len)));
            },
        );
        group.bench_with_input(BenchmarkId::new("std_fs::read", label), &file, |b, file| {
            b.iter(|| std::fs::read(black_box(file)).unwrap());
        });
    }
    group.finish();

    let mut group = c.benchmark_group("macros/bcache hit");
    group.throughput(Throughput::Elements(1));
    let ids = ids();
    for &id in &ids {
        bcache_hit(id);
    }
    let mut keys = ids.iter().copied().cycle();
    group.bench_function("#[bcache] 100 bytes, hot", |b| {
        b.iter(|| bcache_hit(black_box(keys.next().unwrap_or(0))));
    });
    group.finish();
}

fn main() {
    twat_cache_benches::in_temporary_cache_root();
    let mut criterion = Criterion::default().configure_from_args();
    memory(&mut criterion);
    persistent(&mut criterion);
    criterion.final_summary();
}
