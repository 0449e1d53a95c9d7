//! The Redis engine in production shapes, each against its plain baseline in the same run:
//!
//! * `redis_tls/hit/{tcp,tls}` — `RedisCache::get` (no front) on one `redis-server` with
//!   both a plain port and a TLS port (certificates made with `openssl`, a private CA);
//! * `redis_cluster/hit/{single,cluster,cluster_1_primary}` — `RedisCache::get` on that
//!   single server, on a 3-primary Redis Cluster (`redis+cluster://`, keys spread over
//!   every primary), and on a 1-primary cluster (the cluster client's own cost, with one
//!   server process answering, as for `single`).
//!
//! Printed only (interleaved): `redis_tls/raw_get tls vs tcp` and `redis_cluster/raw_get
//! cluster vs single` — the `redis` crate's own `GET` of the same stored keys, what TLS
//! and the crate's cluster client cost the transport itself — and `redis_cluster/hit ours
//! vs the redis crate's cluster GET`, what the engine's router saves or costs on top.
//!
//! 1 000 `u64` ids → 32-byte `String`s, visited in a fixed shuffled order. Each pair is
//! also measured interleaved (alternating blocks of 100 hits), which is steadier than
//! two separate criterion runs on a shared machine; both ratios are printed.
//!
//! **Where the processes run** (`TWAT_CACHE_BENCH_CORES`): a loopback round trip is two
//! wake-ups, and on a VM a wake-up costs whatever the scheduler's placement of that
//! moment makes it — 8 µs or 75 µs for the same `GET` on this project's 2-vCPU machine,
//! changing between two processes' runs. So by default the bench pins itself to CPU 0
//! and every server it starts to CPU 1 (the shape of a client and a server on two
//! machines: every hit crosses cores), which repeats within a few per cent. `1` puts
//! everything on CPU 0: each hit is then two context switches, and the times are the
//! CPU work of both ends — TLS's encryption on both sides counts in full there, and the
//! 3-primary cluster pays for three server processes taking turns on one core's caches.
//! `free` pins nothing.
//!
//! Skips (printing one line) when `redis-server` (with TLS) or `openssl` is missing.
#![allow(
    missing_docs,
    reason = "criterion's macros generate undocumented items"
)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark fails loudly on a broken setup"
)]
#![allow(clippy::print_stderr, reason = "the interleaved ratios are for humans")]

#[path = "../../twat-cache-redis/tests/common/mod.rs"]
mod common;

use std::hint::black_box;
use std::time::{Duration, Instant};

use common::{RedisCluster, RedisServer, TlsFiles, free_port, tls_available};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use twat_cache_benches::{uniform_keys, value};
use twat_cache_core::CacheConfig;
use twat_cache_redis::{RedisCache, RedisOptions};

const KEYS: u64 = 1_000;

fn open(url: &str, options: RedisOptions) -> RedisCache {
    let config = CacheConfig::builder()
        .name("bench_deploy")
        .redis_url(url)
        .build()
        .unwrap();
    let cache =
        RedisCache::open_with(&config, options.command_timeout(Duration::from_secs(1))).unwrap();
    assert!(cache.is_up(), "the bench server at {url} answers");
    cache
}

#[inline]
fn key(id: u64) -> (u64,) {
    (id,)
}

fn fill(cache: &RedisCache, ids: &[u64]) {
    for &id in ids {
        cache.set(&key(id), &value(id)).unwrap();
    }
}

fn hit(cache: &RedisCache, id: u64) -> Option<String> {
    cache.get(&key(black_box(id))).unwrap()
}

/// The transport alone: a `GET` of the raw key the engine stores `id` under, on a plain
/// `redis` crate connection (no envelope check, no decoding).
fn raw_get(
    connection: &mut impl redis::ConnectionLike,
    raw_keys: &[String],
    id: u64,
) -> Option<Vec<u8>> {
    let raw_key = &raw_keys[usize::try_from(black_box(id)).unwrap() % raw_keys.len()];
    redis::cmd("GET").arg(raw_key).query(connection).unwrap()
}

/// `ours` and `baseline` in alternating blocks of 100 hits, 200 blocks each; prints the
/// mean times and the median of the per-block ratios (each block pair runs back to back,
/// so a burst of load from elsewhere on the machine hits both sides of a ratio alike).
fn interleaved(label: &str, ids: &[u64], mut baseline: impl FnMut(u64), mut ours: impl FnMut(u64)) {
    let (mut base_time, mut ours_time) = (Duration::ZERO, Duration::ZERO);
    let mut ratios = Vec::with_capacity(200);
    for round in 0..200 {
        let block = || ids.iter().skip(round % 10 * 100).take(100);
        let start = Instant::now();
        for &id in block() {
            baseline(id);
        }
        let base_block = start.elapsed();
        let start = Instant::now();
        for &id in block() {
            ours(id);
        }
        let ours_block = start.elapsed();
        base_time += base_block;
        ours_time += ours_block;
        ratios.push(ours_block.as_secs_f64() / base_block.as_secs_f64());
    }
    ratios.sort_by(f64::total_cmp);
    eprintln!(
        "{label} interleaved (20 000 hits each): baseline {:.1} µs, ours {:.1} µs, \
         ours/baseline = {:.3} (median of 200 block ratios: {:.3})",
        base_time.as_secs_f64() * 1e6 / 20_000.0,
        ours_time.as_secs_f64() * 1e6 / 20_000.0,
        ours_time.as_secs_f64() / base_time.as_secs_f64(),
        ratios.get(ratios.len() / 2).copied().unwrap_or(f64::NAN),
    );
}

/// The entry keys the engine wrote on `server`, sorted (a fixed set, whatever the order
/// `SCAN` returns them in).
fn engine_keys(server: &RedisServer) -> Vec<String> {
    let mut keys: Vec<String> = redis::cmd("KEYS")
        .arg("twat_cache:bench_deploy:*")
        .query(&mut server.raw())
        .unwrap();
    keys.sort();
    assert_eq!(
        keys.len(),
        usize::try_from(KEYS).unwrap(),
        "every id stored"
    );
    keys
}

/// One criterion group timing a hit on each of `caches`.
fn group(c: &mut Criterion, group: &str, caches: &[(&str, &RedisCache)], ids: &[u64]) {
    let mut group = c.benchmark_group(group);
    group.throughput(Throughput::Elements(1));
    for &(name, cache) in caches {
        let mut i = 0_usize;
        group.bench_function(name, |b| {
            b.iter(|| {
                i = (i + 1) % ids.len();
                black_box(hit(cache, ids[i]))
            });
        });
    }
    group.finish();
}

/// Pins this thread, and the processes and threads it starts from now on, to `cpu`
/// (with `taskset`, which every Linux has); `false` if that fails.
fn pin(cpu: usize) -> bool {
    std::process::Command::new("taskset")
        .args([
            "-p",
            "-c",
            &cpu.to_string(),
            &std::process::id().to_string(),
        ])
        .stdout(std::process::Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// The CPUs for the servers and for the bench itself (see the module docs).
fn placement() -> (Option<usize>, Option<usize>) {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    match std::env::var("TWAT_CACHE_BENCH_CORES").as_deref() {
        Ok("free") => (None, None),
        Ok("1") => (Some(0), Some(0)),
        _ if cores < 2 => (None, None),
        _ => (Some(1), Some(0)),
    }
}

fn bench_deploy(c: &mut Criterion) {
    if !tls_available() {
        return;
    }
    let (server_cpu, client_cpu) = placement();
    let pinned = server_cpu.is_none_or(pin);
    if !pinned {
        eprintln!("redis_deploy: cannot pin to a CPU with `taskset`; times will wander");
    }
    let ids = uniform_keys(usize::try_from(KEYS).unwrap());
    let files = TlsFiles::generate();
    let tls_port = free_port();
    // One server with a plain port and a TLS port: both paths reach the same process.
    let args = files.server_args(tls_port, false);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let Some(server) = RedisServer::start_with(free_port(), &args) else {
        return;
    };
    let Some(cluster) = RedisCluster::start(3) else {
        return;
    };
    let Some(one) = RedisCluster::start(1) else {
        return;
    };
    if let Some(cpu) = client_cpu.filter(|_| pinned) {
        pin(cpu);
    }
    let tcp = open(&server.url(), RedisOptions::default());
    let tls = open(
        &format!("rediss://127.0.0.1:{tls_port}"),
        RedisOptions::default().tls_ca_pem(TlsFiles::read(&files.ca_cert)),
    );
    fill(&tcp, &ids);
    interleaved(
        "redis_tls/hit tls vs tcp",
        &ids,
        |id| drop(black_box(hit(&tcp, id))),
        |id| drop(black_box(hit(&tls, id))),
    );
    group(c, "redis_tls/hit", &[("tcp", &tcp), ("tls", &tls)], &ids);
    // The same comparison for the `redis` crate alone (the raw keys the engine wrote):
    // what TLS costs the transport itself, whatever the cache does on top.
    let raw_keys = engine_keys(&server);
    let mut raw_tcp = redis::Client::open(server.url())
        .unwrap()
        .get_connection()
        .unwrap();
    let certificates = redis::TlsCertificates {
        client_tls: None,
        root_cert: Some(TlsFiles::read(&files.ca_cert)),
    };
    let mut raw_tls =
        redis::Client::build_with_tls(format!("rediss://127.0.0.1:{tls_port}"), certificates)
            .unwrap()
            .get_connection()
            .unwrap();
    interleaved(
        "redis_tls/raw_get tls vs tcp",
        &ids,
        |id| drop(black_box(raw_get(&mut raw_tcp, &raw_keys, id))),
        |id| drop(black_box(raw_get(&mut raw_tls, &raw_keys, id))),
    );

    let clustered = open(&cluster.url(), RedisOptions::default());
    fill(&clustered, &ids);
    // A one-primary cluster: the cluster client's own cost, with one server process
    // answering, as in the single-server case.
    let one_primary = open(&one.url(), RedisOptions::default());
    fill(&one_primary, &ids);
    interleaved(
        "redis_cluster/hit cluster vs single",
        &ids,
        |id| drop(black_box(hit(&tcp, id))),
        |id| drop(black_box(hit(&clustered, id))),
    );
    // The `redis` crate's own cluster client against its plain connection, and ours
    // against it: what the cluster costs the transport, and what the router saves.
    let mut raw_cluster = redis::cluster::ClusterClient::new(vec![cluster.nodes[0].url()])
        .unwrap()
        .get_connection()
        .unwrap();
    interleaved(
        "redis_cluster/raw_get cluster vs single",
        &ids,
        |id| drop(black_box(raw_get(&mut raw_tcp, &raw_keys, id))),
        |id| drop(black_box(raw_get(&mut raw_cluster, &raw_keys, id))),
    );
    interleaved(
        "redis_cluster/hit ours vs the redis crate's cluster GET",
        &ids,
        |id| drop(black_box(raw_get(&mut raw_cluster, &raw_keys, id))),
        |id| drop(black_box(hit(&clustered, id))),
    );
    interleaved(
        "redis_cluster/hit cluster_1_primary vs single",
        &ids,
        |id| drop(black_box(hit(&tcp, id))),
        |id| drop(black_box(hit(&one_primary, id))),
    );
    group(
        c,
        "redis_cluster/hit",
        &[
            ("single", &tcp),
            ("cluster", &clustered),
            ("cluster_1_primary", &one_primary),
        ],
        &ids,
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = bench_deploy
}
criterion_main!(benches);
