#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]
//! The `l1` memory front: hot keys are served from memory, and a write by process A is
//! seen by process B's front (pub/sub invalidation), not only after `l1_max_age`.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::{CHILD_URL, RedisServer, eventually, open_with, test_options};
use twat_cache_redis::RedisOptions;

/// A front that would stay stale for a minute without invalidation messages.
fn front_options() -> RedisOptions {
    test_options()
        .l1_entries(100)
        .l1_max_age(Duration::from_secs(60))
}

#[test]
fn hits_are_served_from_the_front() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let cache = open_with(&server.url(), "front_hits", front_options());
    assert!(eventually(Duration::from_secs(10), || cache.is_front_live()));
    cache.set(&"k", &1_u32).unwrap();
    assert_eq!(cache.get::<_, u32>(&"k").unwrap(), Some(1));
    assert_eq!(cache.stats().size, 1, "the value is in the front");
    // With the server gone, the front still answers only while its subscriber is live;
    // here we only check a second read does not need the server by counting commands.
    let mut raw = server.raw();
    let before: String = redis::cmd("INFO").arg("stats").query(&mut raw).unwrap();
    for _ in 0..100 {
        assert_eq!(cache.get::<_, u32>(&"k").unwrap(), Some(1));
    }
    let after: String = redis::cmd("INFO").arg("stats").query(&mut raw).unwrap();
    let commands = |info: &str| -> u64 {
        info.lines()
            .find_map(|line| line.strip_prefix("total_commands_processed:"))
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    };
    assert!(
        commands(&after) - commands(&before) < 10,
        "100 hits did not go to Redis"
    );
}

/// Process B: reads `k` into its front, says so, then waits to see the new value.
fn reader_child(url: &str) {
    let cache = open_with(url, "front_coherence", front_options());
    assert!(eventually(Duration::from_secs(10), || cache.is_front_live()));
    assert_eq!(
        cache.get::<_, String>(&"k").unwrap().as_deref(),
        Some("old")
    );
    assert_eq!(cache.stats().size, 1, "the old value is in B's front");
    let client = redis::Client::open(url).unwrap();
    let mut raw = client.get_connection().unwrap();
    let _: () = redis::cmd("SET")
        .arg("test:reader_ready")
        .arg(1)
        .query(&mut raw)
        .unwrap();
    let seen = eventually(Duration::from_secs(20), || {
        cache.get::<_, String>(&"k").unwrap().as_deref() == Some("new")
    });
    assert!(seen, "B's front never saw A's write");
}

#[test]
fn front_reader_child() {
    if let Ok(url) = std::env::var(CHILD_URL) {
        reader_child(&url);
    }
}

#[test]
fn a_write_in_one_process_reaches_anothers_front() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let writer = open_with(&server.url(), "front_coherence", front_options());
    writer.set(&"k", &"old".to_owned()).unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "front_reader_child", "--test-threads", "1"])
        .env(CHILD_URL, server.url())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut raw = server.raw();
    let ready = eventually(Duration::from_secs(30), || {
        redis::cmd("EXISTS")
            .arg("test:reader_ready")
            .query::<bool>(&mut raw)
            .unwrap()
    });
    assert!(ready, "the reader did not start");
    writer.set(&"k", &"new".to_owned()).unwrap();
    assert!(child.wait().unwrap().success());
}

#[test]
fn a_delete_and_a_clear_reach_other_fronts() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let a = open_with(&server.url(), "front_delete", front_options());
    let b = open_with(&server.url(), "front_delete", front_options());
    assert!(eventually(Duration::from_secs(10), || a.is_front_live()
        && b.is_front_live()));
    a.set(&"k", &1_u32).unwrap();
    a.set(&"j", &2_u32).unwrap();
    assert_eq!(b.get::<_, u32>(&"k").unwrap(), Some(1));
    assert_eq!(b.get::<_, u32>(&"j").unwrap(), Some(2));
    a.remove(&"k").unwrap();
    assert!(eventually(Duration::from_secs(10), || b
        .get::<_, u32>(&"k")
        .unwrap()
        .is_none()));
    a.clear().unwrap();
    assert!(eventually(Duration::from_secs(10), || b
        .get::<_, u32>(&"j")
        .unwrap()
        .is_none()));
}

#[test]
fn front_entries_expire_with_the_value() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let config = twat_cache_core::CacheConfig::builder()
        .name("front_ttl")
        .ttl(Duration::from_millis(300))
        .redis_url(server.url())
        .build()
        .unwrap();
    let cache = twat_cache_redis::RedisCache::open_with(&config, front_options()).unwrap();
    assert!(eventually(Duration::from_secs(10), || cache.is_front_live()));
    cache.set(&"k", &1_u32).unwrap();
    assert_eq!(cache.get::<_, u32>(&"k").unwrap(), Some(1));
    assert_eq!(cache.stats().size, 1);
    // The front keeps the entry for up to a minute (l1_max_age) but never past its TTL.
    assert!(eventually(Duration::from_secs(10), || {
        cache.get::<_, u32>(&"k").unwrap().is_none()
    }));
}
