#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]
//! Redis absent at start, killed mid-run, restarted: calls fail fast with `Err`, errors
//! are counted, and caching resumes when the server is back.

mod common;

use std::time::Duration;

use common::{RedisServer, eventually, free_port, open, redis_server_binary, url_for};

#[test]
fn absent_at_start_then_started() {
    if redis_server_binary().is_none() {
        // Prints the skip line (or fails under TWAT_CACHE_REQUIRE_REDIS=1).
        let _ = RedisServer::start();
        return;
    }
    let port = free_port();
    let cache = open(&url_for(port), "absent");
    assert!(!cache.is_up());
    assert!(cache.get::<_, u32>(&1_u32).is_err());
    assert!(cache.set(&1_u32, &1_u32).is_err());
    assert!(cache.stats().errors >= 2);
    let Some(_server) = RedisServer::start_on(port) else {
        return;
    };
    assert!(eventually(Duration::from_secs(10), || cache.is_up()));
    cache.set(&1_u32, &10_u32).unwrap();
    assert_eq!(cache.get::<_, u32>(&1_u32).unwrap(), Some(10));
}

#[test]
fn killed_mid_run_then_restarted() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let port = server.port;
    let cache = open(&server.url(), "killed");
    cache.set(&"k", &1_u32).unwrap();
    assert_eq!(cache.get::<_, u32>(&"k").unwrap(), Some(1));
    server.kill();
    // The first call after the kill notices; the cache is then down and fails fast.
    assert!(cache.get::<_, u32>(&"k").is_err());
    assert!(!cache.is_up());
    let errors_before = cache.stats().errors;
    for _ in 0..100 {
        assert!(cache.get::<_, u32>(&"k").is_err());
    }
    assert!(cache.stats().errors >= errors_before + 100);
    // A fresh server on the same port (empty: no persistence): caching resumes.
    let Some(_restarted) = RedisServer::start_on(port) else {
        return;
    };
    assert!(eventually(Duration::from_secs(10), || cache.is_up()));
    assert_eq!(cache.get::<_, u32>(&"k").unwrap(), None);
    cache.set(&"k", &2_u32).unwrap();
    assert_eq!(cache.get::<_, u32>(&"k").unwrap(), Some(2));
}

#[test]
fn lease_computes_while_down() {
    if redis_server_binary().is_none() {
        let _ = RedisServer::start();
        return;
    }
    let cache = open(&url_for(free_port()), "lease_down");
    let mut runs = 0;
    let value: u64 = cache.get_or_compute_with_lease(&"k", || {
        runs += 1;
        7
    });
    assert_eq!((value, runs), (7, 1));
}

#[test]
fn a_slow_server_times_out_then_caching_resumes() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let options = common::test_options().command_timeout(Duration::from_millis(50));
    let cache = common::open_with(&server.url(), "slow", options);
    cache.set(&"k", &1_u32).unwrap();
    // Every client of the server stalls for a second: our command times out instead.
    let mut raw = server.raw();
    redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(1_000)
        .arg("ALL")
        .query::<()>(&mut raw)
        .unwrap();
    assert!(cache.get::<_, u32>(&"k").is_err());
    assert!(!cache.is_up());
    assert!(cache.stats().errors >= 1);
    assert!(eventually(Duration::from_secs(10), || cache.is_up()));
    assert_eq!(cache.get::<_, u32>(&"k").unwrap(), Some(1));
}
