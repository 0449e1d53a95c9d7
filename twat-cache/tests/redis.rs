//! The Redis tier through the facade: `#[ucache(engine = "redis")]`,
//! `#[acache(engine = "redis")]` and `CacheContext` over a real, private `redis-server`.
//!
//! Without `redis-server` on `PATH` each test prints one line saying it was skipped (and
//! how to install the server) and passes, unless `TWAT_CACHE_REQUIRE_REDIS=1` (as in CI).
#![cfg(all(feature = "macros", feature = "redis"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    reason = "tests fail loudly and child processes report on stdout"
)]

mod common;
/// The Redis engine's own test server: a private `redis-server`, killed on drop.
#[path = "../../twat-cache-redis/tests/common/mod.rs"]
mod redis_common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::{is_child, reported, run_child};
use redis_common::{RedisServer, free_port, url_for};
use twat_cache::{CacheConfig, CacheContext, EngineKind, acache, get_stats, ucache};

static CALLS: AtomicUsize = AtomicUsize::new(0);

#[ucache(engine = "redis", ttl = 600, name = "redis_test::shared")]
fn shared_report(id: u64) -> Vec<String> {
    CALLS.fetch_add(1, Ordering::SeqCst);
    vec![format!("report {id}"); 2]
}

#[acache(engine = "redis", name = "redis_test::async")]
async fn shared_async(id: u64) -> String {
    CALLS.fetch_add(1, Ordering::SeqCst);
    format!("async {id}")
}

#[test]
fn a_second_process_hits_what_the_first_stored() {
    if is_child() {
        assert_eq!(shared_report(7), vec!["report 7".to_owned(); 2]);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        assert_eq!(runtime.block_on(shared_async(8)), "async 8");
        println!("CALLS={}", CALLS.load(Ordering::SeqCst));
        println!(
            "ERRORS={}",
            get_stats(Some("redis_test::shared")).unwrap().errors
        );
        return;
    }
    let Some(server) = RedisServer::start() else {
        return;
    };
    let root = tempfile::tempdir().unwrap();
    let url = server.url();
    let env = [
        ("TWAT_CACHE_REDIS_URL", url.as_str()),
        ("TWAT_CACHE_REDIS_TIMEOUT", "2s"),
    ];
    let first = run_child(
        "a_second_process_hits_what_the_first_stored",
        root.path(),
        &env,
    );
    assert_eq!(reported(&first, "CALLS"), "2");
    assert_eq!(reported(&first, "ERRORS"), "0");
    let second = run_child(
        "a_second_process_hits_what_the_first_stored",
        root.path(),
        &env,
    );
    assert_eq!(
        reported(&second, "CALLS"),
        "0",
        "the second process recomputed"
    );
}

#[test]
fn a_server_that_is_down_still_gives_the_right_answer() {
    if is_child() {
        assert_eq!(shared_report(9), vec!["report 9".to_owned(); 2]);
        assert_eq!(shared_report(9), vec!["report 9".to_owned(); 2]);
        println!("CALLS={}", CALLS.load(Ordering::SeqCst));
        println!(
            "ERRORS={}",
            get_stats(Some("redis_test::shared")).unwrap().errors
        );
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let url = url_for(free_port());
    let out = run_child(
        "a_server_that_is_down_still_gives_the_right_answer",
        root.path(),
        &[("TWAT_CACHE_REDIS_URL", url.as_str())],
    );
    assert_eq!(reported(&out, "CALLS"), "2");
    assert_ne!(reported(&out, "ERRORS"), "0");
}

#[test]
fn cache_context_over_redis() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let cache = CacheContext::new(
        CacheConfig::builder()
            .name("redis_test::context")
            .engine(EngineKind::Redis)
            .redis_url(server.url())
            .ttl(Duration::from_secs(60))
            .build()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(cache.engine(), EngineKind::Redis);
    cache.set("session_data_user123", &(1_u8, "cart")).unwrap();
    let hit: Option<(u8, String)> = cache.get("session_data_user123").unwrap();
    assert_eq!(hit, Some((1, "cart".to_owned())));
    assert!(cache.delete("session_data_user123").unwrap());
    assert_eq!(
        cache
            .get::<_, (u8, String)>("session_data_user123")
            .unwrap(),
        None
    );
    cache.set("a", &1).unwrap();
    cache.clear().unwrap();
    assert_eq!(cache.get::<_, i32>("a").unwrap(), None);
}

#[test]
fn a_malformed_redis_url_is_a_config_error() {
    let err = CacheConfig::builder()
        .engine(EngineKind::Redis)
        .redis_url("http://user:secret@host")
        .build()
        .unwrap_err();
    let message = err.to_string();
    assert!(message.contains("`redis_url`"), "{message}");
    assert!(
        !message.contains("secret"),
        "the password leaked: {message}"
    );
}

static STALE_RUNS: AtomicUsize = AtomicUsize::new(0);
static STALE_GATE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Each run is `100 × run + id`, held while `STALE_GATE` is closed.
#[ucache(engine = "redis", ttl = 0.3, stale = "1h", name = "redis_test::stale")]
fn stale_rate(id: u64) -> u64 {
    let run = STALE_RUNS.fetch_add(1, Ordering::SeqCst) as u64 + 1;
    while STALE_GATE.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(1));
    }
    run * 100 + id
}

static STALE_ASYNC_RUNS: AtomicUsize = AtomicUsize::new(0);

/// Each run is `100 × run + id`.
#[acache(
    engine = "redis",
    ttl = 0.3,
    stale = "1h",
    name = "redis_test::stale_async"
)]
async fn stale_async_rate(id: u64) -> u64 {
    STALE_ASYNC_RUNS.fetch_add(1, Ordering::SeqCst) as u64 * 100 + 100 + id
}

#[test]
fn a_stale_entry_in_redis_is_served_while_one_caller_refreshes() {
    if is_child() {
        assert_eq!(stale_rate(1), 101);
        std::thread::sleep(Duration::from_millis(450));
        STALE_GATE.store(true, Ordering::SeqCst);
        let refresher = std::thread::spawn(|| stale_rate(1));
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while STALE_RUNS.load(Ordering::SeqCst) < 2 {
            assert!(
                std::time::Instant::now() < deadline,
                "the refresh never started"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(stale_rate(1), 101, "the old value, while the refresh runs");
        STALE_GATE.store(false, Ordering::SeqCst);
        assert_eq!(refresher.join().unwrap(), 201);
        assert_eq!(stale_rate(1), 201);
        // An `async fn`: its miss takes the Redis lease (released off the executor), a
        // stale entry is refreshed by the first caller after the ttl.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            assert_eq!(stale_async_rate(2).await, 102);
            assert_eq!(stale_async_rate(2).await, 102);
            tokio::time::sleep(Duration::from_millis(450)).await;
            assert_eq!(stale_async_rate(2).await, 202);
            assert_eq!(stale_async_rate(2).await, 202);
        });
        println!("ASYNC_RUNS={}", STALE_ASYNC_RUNS.load(Ordering::SeqCst));
        let stats = get_stats(Some("redis_test::stale")).unwrap();
        println!("RUNS={}", STALE_RUNS.load(Ordering::SeqCst));
        println!("STALE_HITS={}", stats.stale_hits);
        println!("ERRORS={}", stats.errors);
        return;
    }
    let Some(server) = RedisServer::start() else {
        return;
    };
    let root = tempfile::tempdir().unwrap();
    let url = server.url();
    let out = run_child(
        "a_stale_entry_in_redis_is_served_while_one_caller_refreshes",
        root.path(),
        &[
            ("TWAT_CACHE_REDIS_URL", url.as_str()),
            ("TWAT_CACHE_REDIS_TIMEOUT", "2s"),
        ],
    );
    assert_eq!(reported(&out, "RUNS"), "2");
    assert_eq!(reported(&out, "ASYNC_RUNS"), "2");
    assert_eq!(reported(&out, "STALE_HITS"), "1");
    assert_eq!(reported(&out, "ERRORS"), "0");
}
