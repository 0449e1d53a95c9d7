//! The file engine against its baselines, in one run:
//!
//! * `file/hit/<size>`: a hit of a `Vec<u8>` of 1 KiB, 1 MiB and 64 MiB through
//!   `FileCache::get_raw` and through a typed `get` of a byte-buffer newtype (what
//!   `serde_bytes::ByteBuf` does), against `std::fs::read` of a file of the same size and
//!   raw cacache `read_sync` (default SHA-256 integrity);
//! * `file/rewrites`: a hit after 1000 rewrites of one key against the first hit (and
//!   raw cacache after 1000 rewrites, whose index is append-only);
//! * `file/compress`: hits and writes of 1 MiB (quantized `f64` readings, and noise) with
//!   and without zstd (the stored sizes are printed once).
//!
//! Run: `cargo bench -p twat-cache-benches --bench file -- --warm-up-time 1 --measurement-time 3`
#![allow(
    missing_docs,
    reason = "criterion's macros generate undocumented items"
)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stderr,
    reason = "benchmarks fail loudly and report sizes"
)]

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use serde::de::{Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use twat_cache_core::CacheConfig;
use twat_cache_file::{FileCache, FileCacheOptions};

const KIB: usize = 1024;
const MIB: usize = 1024 * 1024;

/// A byte buffer that serializes as bytes (one memcpy), as `serde_bytes::ByteBuf` does.
struct ByteBuf(Vec<u8>);

impl Serialize for ByteBuf {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(&self.0)
    }
}

impl<'de> Deserialize<'de> for ByteBuf {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct BytesVisitor;
        impl Visitor<'_> for BytesVisitor {
            type Value = ByteBuf;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("bytes")
            }
            fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<ByteBuf, E> {
                Ok(ByteBuf(v.to_vec()))
            }
            fn visit_byte_buf<E: serde::de::Error>(self, v: Vec<u8>) -> Result<ByteBuf, E> {
                Ok(ByteBuf(v))
            }
        }
        deserializer.deserialize_byte_buf(BytesVisitor)
    }
}

fn payload(len: usize) -> Vec<u8> {
    // Incompressible-looking bytes (xorshift), so compression never flatters a number.
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

fn open(dir: &Path, name: &str, compress: bool) -> FileCache {
    let config = CacheConfig::builder()
        .name(name)
        .compress(compress)
        .build()
        .unwrap();
    FileCache::open_with(&config, FileCacheOptions::new().directory(dir.join(name))).unwrap()
}

fn hits(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    for (label, size, samples) in [
        ("1KiB", KIB, 100),
        ("1MiB", MIB, 50),
        ("64MiB", 64 * MIB, 10),
    ] {
        let bytes = payload(size);
        let plain = dir.path().join(format!("plain-{label}"));
        std::fs::write(&plain, &bytes).unwrap();
        let cache = open(dir.path(), &format!("hit-{label}"), false);
        cache.set_raw(&"value", &bytes).unwrap();
        cache.set(&"typed", &ByteBuf(bytes.clone())).unwrap();
        let cacache_dir = dir.path().join(format!("cacache-{label}"));
        cacache::write_sync(&cacache_dir, "value", &bytes).unwrap();

        let mut group = c.benchmark_group(format!("file/hit/{label}"));
        group.sample_size(samples);
        group.throughput(Throughput::Elements(1));
        group.bench_function("std_fs_read", |b| {
            b.iter(|| black_box(std::fs::read(black_box(&plain)).unwrap()));
        });
        group.bench_function("get_raw", |b| {
            b.iter(|| black_box(cache.get_raw(black_box(&"value")).unwrap().unwrap()));
        });
        group.bench_function("get_typed_bytebuf", |b| {
            b.iter(|| {
                black_box(
                    cache
                        .get::<_, ByteBuf>(black_box(&"typed"))
                        .unwrap()
                        .unwrap(),
                )
            });
        });
        group.bench_function("cacache_read_sync_sha256", |b| {
            b.iter(|| black_box(cacache::read_sync(&cacache_dir, black_box("value")).unwrap()));
        });
        group.finish();
    }
}

fn rewrites(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let bytes = payload(KIB);
    let fresh = open(dir.path(), "fresh", false);
    fresh.set_raw(&"key", &bytes).unwrap();
    let rewritten = open(dir.path(), "rewritten", false);
    let cacache_dir = dir.path().join("cacache-rewritten");
    for round in 0..1000_u32 {
        // Each rewrite stores a different value, as a recompute after expiry would.
        let mut value = bytes.clone();
        value[..4].copy_from_slice(&round.to_le_bytes());
        rewritten.set_raw(&"key", &value).unwrap();
        cacache::write_sync(&cacache_dir, "key", &value).unwrap();
    }
    rewritten.set_raw(&"key", &bytes).unwrap();
    cacache::write_sync(&cacache_dir, "key", &bytes).unwrap();

    let mut group = c.benchmark_group("file/rewrites");
    group.throughput(Throughput::Elements(1));
    group.bench_function("first_hit", |b| {
        b.iter(|| black_box(fresh.get_raw(black_box(&"key")).unwrap().unwrap()));
    });
    group.bench_function("hit_after_1000_rewrites", |b| {
        b.iter(|| black_box(rewritten.get_raw(black_box(&"key")).unwrap().unwrap()));
    });
    group.sample_size(10);
    group.bench_function("cacache_after_1000_rewrites", |b| {
        b.iter(|| black_box(cacache::read_sync(&cacache_dir, black_box("key")).unwrap()));
    });
    group.finish();
}

fn compression(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    // 1 MiB of f64 readings quantized to 0.001 (2001 distinct values, as a sensor or a
    // rounded model output gives), and 1 MiB of noise, stored as little-endian bytes.
    let readings: Vec<u8> = (0..MIB / 8)
        .flat_map(|i| {
            let x = (f64::from(u32::try_from(i).unwrap()) / 100.0).sin();
            ((x * 1000.0).round() / 1000.0).to_le_bytes()
        })
        .collect();
    let noise = payload(MIB);
    let mut group = c.benchmark_group("file/compress");
    group.throughput(Throughput::Elements(1));
    for (data, bytes) in [("readings", &readings), ("noise", &noise)] {
        for compress in [false, true] {
            let label = format!("{data}-{}", if compress { "zstd3" } else { "none" });
            let cache = open(dir.path(), &label, compress);
            cache.set_raw(&"value", bytes).unwrap();
            eprintln!(
                "file/compress/{label}: 1 MiB stored in {} bytes",
                dir_size(cache.path())
            );
            group.bench_function(BenchmarkId::new("get_raw_1MiB", &label), |b| {
                b.iter(|| black_box(cache.get_raw(black_box(&"value")).unwrap().unwrap()));
            });
            group.bench_function(BenchmarkId::new("set_raw_1MiB", &label), |b| {
                b.iter(|| {
                    cache
                        .set_raw(black_box(&"value"), black_box(bytes))
                        .unwrap();
                });
            });
        }
    }
    group.finish();
}

/// Bytes of the regular files under `dir`.
fn dir_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|entry| {
                    let path = entry.path();
                    if path.is_dir() {
                        dir_size(&path)
                    } else {
                        entry.metadata().map_or(0, |meta| meta.len())
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1));
    targets = hits, rewrites, compression
}
criterion_main!(benches);
