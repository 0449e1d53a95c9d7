#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]
//! Cross-process stampede protection: several processes miss one key at once and the
//! value is computed once.

mod common;

use std::process::Command;
use std::time::Duration;

use common::{CHILD_URL, RedisServer, open_with, test_options};

const CHILDREN: usize = 4;

/// The body each child process runs: a slow computation that counts its runs in Redis.
fn child_body(url: &str) {
    let cache = open_with(
        url,
        "stampede",
        test_options().lease(
            Duration::from_secs(30),
            Duration::from_secs(20),
            Duration::from_millis(5),
        ),
    );
    let client = redis::Client::open(url).unwrap();
    // Line the children up so they really miss at the same moment.
    let mut raw = client.get_connection().unwrap();
    let _: i64 = redis::cmd("INCR")
        .arg("test:arrived")
        .query(&mut raw)
        .unwrap();
    let mut arrived = 0;
    for _ in 0..1_000 {
        arrived = redis::cmd("GET")
            .arg("test:arrived")
            .query::<i64>(&mut raw)
            .unwrap();
        if arrived >= CHILDREN as i64 {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(arrived >= CHILDREN as i64);
    let value: String = cache.get_or_compute_with_lease(&"expensive", || {
        let _: i64 = redis::cmd("INCR")
            .arg("test:computations")
            .query(&mut raw)
            .unwrap();
        std::thread::sleep(Duration::from_millis(300));
        format!("computed by {}", std::process::id())
    });
    let _: i64 = redis::cmd("RPUSH")
        .arg("test:results")
        .arg(&value)
        .query(&mut raw)
        .unwrap();
}

#[test]
fn stampede_child() {
    // Only does something when started by `several_processes_compute_once`.
    if let Ok(url) = std::env::var(CHILD_URL) {
        child_body(&url);
    }
}

#[test]
fn several_processes_compute_once() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..CHILDREN)
        .map(|_| {
            Command::new(&exe)
                .args(["--exact", "stampede_child", "--test-threads", "1"])
                .stdout(std::process::Stdio::null())
                .env(CHILD_URL, server.url())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }
    let mut raw = server.raw();
    let computations: i64 = redis::cmd("GET")
        .arg("test:computations")
        .query(&mut raw)
        .unwrap();
    let results: Vec<String> = redis::cmd("LRANGE")
        .arg("test:results")
        .arg(0)
        .arg(-1)
        .query(&mut raw)
        .unwrap();
    assert_eq!(results.len(), CHILDREN);
    assert_eq!(
        computations, 1,
        "one process computed, the others waited: {results:?}"
    );
    assert!(
        results.iter().all(|result| result == &results[0]),
        "{results:?}"
    );
    let leases: Vec<String> = redis::cmd("KEYS")
        .arg("twat_cache:stampede:0:lease:*")
        .query(&mut raw)
        .unwrap();
    assert!(leases.is_empty(), "the lease is released: {leases:?}");
}

#[test]
fn one_process_many_threads_compute_once() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let cache = open_with(
        &server.url(),
        "threads",
        test_options().lease(
            Duration::from_secs(30),
            Duration::from_secs(20),
            Duration::from_millis(5),
        ),
    );
    let runs = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                let value: u64 = cache.get_or_compute_with_lease(&"k", || {
                    runs.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(200));
                    99
                });
                assert_eq!(value, 99);
            });
        }
    });
    assert_eq!(runs.into_inner(), 1);
}

#[test]
fn byte_level_lease_can_decline_to_cache() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let cache = open_with(&server.url(), "bytes_lease", test_options());
    let key = b"namespaced key bytes";
    // An `Err` result the caller does not cache: computed, returned, not stored.
    let first: Result<u32, String> = cache.get_or_compute_bytes_with_lease(
        key,
        |_| panic!("nothing is stored yet"),
        || (Err("failed".to_owned()), None),
    );
    assert_eq!(first, Err("failed".to_owned()));
    let mut raw = server.raw();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("twat_cache:bytes_lease:*")
        .query(&mut raw)
        .unwrap();
    assert!(
        keys.is_empty(),
        "nothing stored and the lease released: {keys:?}"
    );
    // An `Ok` result is stored; the next call decodes it instead of computing.
    let second: Result<u32, String> =
        cache.get_or_compute_bytes_with_lease(key, |_| None, || (Ok(7), Some(vec![7])));
    assert_eq!(second, Ok(7));
    let third: Result<u32, String> = cache.get_or_compute_bytes_with_lease(
        key,
        |payload| Some(Ok(u32::from(payload[0]))),
        || panic!("the stored value is used"),
    );
    assert_eq!(third, Ok(7));
}
