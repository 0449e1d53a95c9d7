//! The Redis engine against the raw `redis` crate on the same connection type (the
//! synchronous `redis::Connection`, loopback TCP, a private `redis-server`), in one run:
//! 1 000 `u64` ids mapping to 32-byte `String`s, visited in a fixed shuffled order.
//!
//! * `hit/raw_get` — `GET <key>` on a raw connection, bytes back (the floor);
//! * `hit/ours` — `RedisCache::get` without a front: key encoding, digest, `GET`,
//!   envelope check and postcard decode;
//! * `hit/ours_l1` — the same with a 10 000-entry memory front (pub/sub coherent);
//! * `hit/mcache` — twat-cache-memory driven as `#[mcache]` drives it (the baseline the
//!   front is compared with);
//! * `two_threads/*` — the same hits from two threads at once (ops/s over both threads);
//!   no pipelining: each hit is one round trip.
//!
//! Skips (printing one line) when `redis-server` is not on `PATH`.
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
    reason = "the skip line and the interleaved ratio are for humans"
)]

use std::hint::black_box;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Barrier;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use twat_cache_benches::{uniform_keys, value};
use twat_cache_core::{CacheConfig, KeyBuf, Policy};
use twat_cache_memory::MemoryCache;
use twat_cache_redis::{RedisCache, RedisOptions};

const KEYS: u64 = 1_000;

struct Server {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server() -> Option<Server> {
    let path = std::env::var_os("PATH")?;
    let Some(binary) = std::env::split_paths(&path)
        .map(|dir| dir.join("redis-server"))
        .find(|candidate: &PathBuf| candidate.is_file())
    else {
        eprintln!(
            "skipped: redis-server not found; install it with `apt-get install redis-server`"
        );
        return None;
    };
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let child = Command::new(binary)
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .arg("--dir")
        .arg(dir.path())
        .args(["--save", "", "--appendonly", "no"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = Server {
        child,
        url: format!("redis://127.0.0.1:{port}"),
        _dir: dir,
    };
    let client = redis::Client::open(server.url.as_str()).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while client
        .get_connection_with_timeout(Duration::from_millis(200))
        .is_err()
    {
        assert!(Instant::now() < deadline, "redis-server did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    Some(server)
}

fn raw_connection(url: &str) -> redis::Connection {
    redis::Client::open(url)
        .unwrap()
        .get_connection_with_timeout(Duration::from_secs(1))
        .unwrap()
}

fn open(url: &str, name: &str, l1: u64) -> RedisCache {
    let config = CacheConfig::builder()
        .name(name)
        .redis_url(url)
        .build()
        .unwrap();
    let options = RedisOptions::default()
        .command_timeout(Duration::from_secs(1))
        .l1_entries(l1);
    RedisCache::open_with(&config, options).unwrap()
}

#[inline]
fn key(id: u64) -> (u64,) {
    (id,)
}

struct Setup {
    _server: Server,
    url: String,
    ids: Vec<u64>,
    raw_keys: Vec<String>,
    ours: RedisCache,
    ours_l1: RedisCache,
    mcache: MemoryCache<KeyBuf, String>,
}

fn setup() -> Option<Setup> {
    let server = start_server()?;
    let url = server.url.clone();
    let ours = open(&url, "bench", 0);
    let ours_l1 = open(&url, "bench", 10_000);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !ours_l1.is_front_live() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let ids = uniform_keys(usize::try_from(KEYS).unwrap());
    let mut raw = raw_connection(&url);
    let mut raw_keys = Vec::new();
    for &id in &ids {
        ours.set(&key(id), &value(id)).unwrap();
        // The raw side reads a sibling key holding the bare value bytes.
        let raw_key = format!("raw:{}", ours.redis_key(&key(id)).unwrap());
        redis::cmd("SET")
            .arg(&raw_key)
            .arg(value(id).as_bytes())
            .query::<()>(&mut raw)
            .unwrap();
        raw_keys.push(raw_key);
    }
    let config = CacheConfig::builder()
        .name("bench_mcache")
        .maxsize(10_000)
        .policy(Policy::Lru)
        .build()
        .unwrap();
    let mcache = MemoryCache::new(&config);
    for &id in &ids {
        let _ = mcache.get_or_insert_with(KeyBuf::encode(&(&id,)).unwrap(), || value(id));
    }
    for &id in &ids {
        let _: Option<String> = ours_l1.get(&key(id)).unwrap();
    }
    Some(Setup {
        _server: server,
        url,
        ids,
        raw_keys,
        ours,
        ours_l1,
        mcache,
    })
}

/// Raw and ours in alternating blocks of 100 hits, 100 blocks each: under the shifting
/// load of a shared machine this ratio is steadier than two separate criterion runs.
fn interleaved_ratio(all: &Setup) {
    let mut raw = raw_connection(&all.url);
    let (mut raw_time, mut ours_time) = (Duration::ZERO, Duration::ZERO);
    for round in 0..100 {
        let start = Instant::now();
        for raw_key in all.raw_keys.iter().skip(round % 10 * 100).take(100) {
            let bytes: Option<Vec<u8>> = redis::cmd("GET").arg(raw_key).query(&mut raw).unwrap();
            black_box(bytes);
        }
        raw_time += start.elapsed();
        let start = Instant::now();
        for &id in all.ids.iter().skip(round % 10 * 100).take(100) {
            let hit: Option<String> = all.ours.get(&key(black_box(id))).unwrap();
            black_box(hit);
        }
        ours_time += start.elapsed();
    }
    eprintln!(
        "redis/hit interleaved (10 000 hits each): raw_get {:.1} µs, ours {:.1} µs, ours/raw = {:.3}",
        raw_time.as_secs_f64() * 1e6 / 10_000.0,
        ours_time.as_secs_f64() * 1e6 / 10_000.0,
        ours_time.as_secs_f64() / raw_time.as_secs_f64()
    );
}

fn bench_redis(c: &mut Criterion) {
    let Some(all) = setup() else { return };
    interleaved_ratio(&all);
    let mut group = c.benchmark_group("redis/hit");
    group.throughput(Throughput::Elements(1));
    let mut raw = raw_connection(&all.url);
    let mut i = 0_usize;
    group.bench_function("raw_get", |b| {
        b.iter(|| {
            i = (i + 1) % all.raw_keys.len();
            let bytes: Option<Vec<u8>> = redis::cmd("GET")
                .arg(&all.raw_keys[i])
                .query(&mut raw)
                .unwrap();
            black_box(bytes)
        });
    });
    group.bench_function("ours", |b| {
        b.iter(|| {
            i = (i + 1) % all.ids.len();
            let hit: Option<String> = all.ours.get(&key(black_box(all.ids[i]))).unwrap();
            black_box(hit)
        });
    });
    group.bench_function("ours_l1", |b| {
        b.iter(|| {
            i = (i + 1) % all.ids.len();
            let hit: Option<String> = all.ours_l1.get(&key(black_box(all.ids[i]))).unwrap();
            black_box(hit)
        });
    });
    group.bench_function("mcache", |b| {
        b.iter(|| {
            i = (i + 1) % all.ids.len();
            let id = black_box(all.ids[i]);
            let key = KeyBuf::encode(&(&id,)).unwrap();
            black_box(all.mcache.get_or_insert_with(key, || value(id)))
        });
    });
    group.finish();

    let mut group = c.benchmark_group("redis/two_threads");
    group.throughput(Throughput::Elements(2));
    group.bench_function("raw_get", |b| {
        b.iter_custom(|iters| {
            two_threads(iters, |offset, n| {
                let mut raw = raw_connection(&all.url);
                let barrier_start = Instant::now();
                for j in 0..n {
                    let index = (offset + (j % KEYS) as usize) % all.raw_keys.len();
                    let bytes: Option<Vec<u8>> = redis::cmd("GET")
                        .arg(&all.raw_keys[index])
                        .query(&mut raw)
                        .unwrap();
                    black_box(bytes);
                }
                barrier_start.elapsed()
            })
        });
    });
    for (name, cache) in [("ours", &all.ours), ("ours_l1", &all.ours_l1)] {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                two_threads(iters, |offset, n| {
                    let start = Instant::now();
                    for j in 0..n {
                        let id = all.ids[(offset + (j % KEYS) as usize) % all.ids.len()];
                        let hit: Option<String> = cache.get(&key(black_box(id))).unwrap();
                        black_box(hit);
                    }
                    start.elapsed()
                })
            });
        });
    }
    group.finish();
}

/// Runs `work(offset, iters)` on two threads started together; returns the longer time.
fn two_threads(iters: u64, work: impl Fn(usize, u64) -> Duration + Sync) -> Duration {
    let barrier = Barrier::new(2);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..2)
            .map(|t| {
                let barrier = &barrier;
                let work = &work;
                scope.spawn(move || {
                    barrier.wait();
                    work(t * 500, iters)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().unwrap())
            .max()
            .unwrap_or_default()
    })
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = bench_redis
}
criterion_main!(benches);
