//! The Redis tier's production shapes through the facade: `#[ucache(engine = "redis")]`
//! with `TWAT_CACHE_REDIS_URL` naming a Redis Cluster (`redis+cluster://`) or a TLS
//! server (`rediss://` + `TWAT_CACHE_REDIS_CA`), and a refused CA falling back to memory.
//!
//! Skips with one line without `redis-server` (unless `TWAT_CACHE_REQUIRE_REDIS=1`).
#![cfg(all(feature = "macros", feature = "redis"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    reason = "tests fail loudly and child processes report on stdout"
)]

mod common;
#[path = "../../twat-cache-redis/tests/common/mod.rs"]
mod redis_common;

use std::sync::atomic::{AtomicUsize, Ordering};

use common::{
    finish_child, is_child, mark_run, reported, run_child, runs_in, spawn_child, wait_for_a_run,
};
use redis_common::{RedisCluster, RedisServer, tls_server};
use twat_cache::{get_stats, ucache};

static CALLS: AtomicUsize = AtomicUsize::new(0);

#[ucache(engine = "redis", name = "redis_deploy::square")]
fn square(x: u64) -> u64 {
    CALLS.fetch_add(1, Ordering::SeqCst);
    x * x
}

/// The child's part: two calls, then what happened.
fn report() {
    assert_eq!(square(12), 144);
    assert_eq!(square(12), 144);
    println!("CALLS={}", CALLS.load(Ordering::SeqCst));
    println!(
        "ERRORS={}",
        get_stats(Some("redis_deploy::square")).unwrap().errors
    );
}

#[test]
fn ucache_on_a_cluster_url() {
    if is_child() {
        report();
        return;
    }
    let Some(cluster) = RedisCluster::start(3) else {
        return;
    };
    let root = tempfile::tempdir().unwrap();
    let url = cluster.url();
    let env = [("TWAT_CACHE_REDIS_URL", url.as_str())];
    let first = run_child("ucache_on_a_cluster_url", root.path(), &env);
    assert_eq!(reported(&first, "CALLS"), "1");
    assert_eq!(reported(&first, "ERRORS"), "0");
    let second = run_child("ucache_on_a_cluster_url", root.path(), &env);
    assert_eq!(reported(&second, "CALLS"), "0", "served by the cluster");
}

#[test]
fn ucache_over_tls_and_a_refused_ca_falls_back_to_memory() {
    if is_child() {
        report();
        return;
    }
    let Some((files, server)) = tls_server(false) else {
        return;
    };
    let root = tempfile::tempdir().unwrap();
    let url = server.tls_url();
    let test = "ucache_over_tls_and_a_refused_ca_falls_back_to_memory";
    let ca = files.ca_cert.display().to_string();
    let env = [
        ("TWAT_CACHE_REDIS_URL", url.as_str()),
        ("TWAT_CACHE_REDIS_CA", ca.as_str()),
    ];
    let first = run_child(test, root.path(), &env);
    assert_eq!(reported(&first, "CALLS"), "1");
    assert_eq!(reported(&first, "ERRORS"), "0");
    let second = run_child(test, root.path(), &env);
    assert_eq!(reported(&second, "CALLS"), "0", "served over TLS");

    // A CA that did not sign the server's certificate: the open fails (one warning, one
    // counted error) and the function is memoized in memory instead.
    let other = files.other_ca_cert.display().to_string();
    let env = [
        ("TWAT_CACHE_REDIS_URL", url.as_str()),
        ("TWAT_CACHE_REDIS_CA", other.as_str()),
    ];
    let refused = run_child(test, root.path(), &env);
    assert_eq!(reported(&refused, "CALLS"), "1", "memoized in memory");
    assert_eq!(reported(&refused, "ERRORS"), "1");
}

#[ucache(engine = "redis", name = "redis_deploy::slow_cube")]
fn slow_cube(x: u64) -> u64 {
    mark_run();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    x * x * x
}

/// Four children of `test` against one private server: the first takes the key's lease
/// on the server; the others (machines, in production) find it held and wait for its
/// value instead of computing. Each must report `VALUE=<value>`, and the body runs once.
fn four_processes_run_the_body_once(test: &str, value: &str) {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let root = tempfile::tempdir().unwrap();
    let runs = tempfile::tempdir().unwrap();
    let url = server.url();
    // Generous timeouts: a child that gives up on a loaded machine's server computes on
    // its own, which this test would read as a lease not taken.
    let env = [
        ("TWAT_CACHE_REDIS_URL", url.as_str()),
        ("TWAT_CACHE_REDIS_TIMEOUT", "2s"),
    ];
    let first = spawn_child(test, root.path(), runs.path(), &env);
    wait_for_a_run(runs.path());
    let others: Vec<_> = (0..3)
        .map(|_| spawn_child(test, root.path(), runs.path(), &env))
        .collect();
    for child in std::iter::once(first).chain(others) {
        assert_eq!(reported(&finish_child(child, test), "VALUE"), value);
    }
    assert_eq!(
        runs_in(runs.path()),
        1,
        "the body ran once across four processes"
    );
}

#[test]
fn four_processes_missing_one_redis_key_run_the_body_once() {
    if is_child() {
        println!("VALUE={}", slow_cube(3));
        return;
    }
    four_processes_run_the_body_once(
        "four_processes_missing_one_redis_key_run_the_body_once",
        "27",
    );
}

#[cfg(feature = "async")]
#[twat_cache::acache(engine = "redis", name = "redis_deploy::slow_square_async")]
async fn slow_square_async(x: u64) -> u64 {
    mark_run();
    // A blocking sleep is fine here: the child's runtime runs this one task.
    std::thread::sleep(std::time::Duration::from_millis(1500));
    x * x
}

/// As for sync functions: the first child's task holds the key's lease on the server,
/// the other processes' tasks wait for its value (on a blocking thread).
#[cfg(feature = "async")]
#[test]
fn four_processes_awaiting_one_redis_key_run_the_body_once() {
    if is_child() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        println!("VALUE={}", runtime.block_on(slow_square_async(5)));
        return;
    }
    four_processes_run_the_body_once(
        "four_processes_awaiting_one_redis_key_run_the_body_once",
        "25",
    );
}
