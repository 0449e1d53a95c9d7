#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]
//! Untrusted bytes under the cache's keys: a miss (and removed), never a panic.

mod common;

use common::{RedisServer, open};
use proptest::prelude::*;
use proptest::test_runner::TestRunner;
use twat_cache_core::ByteStore;
use twat_cache_core::envelope::{self, Flags, Header};

#[test]
fn garbage_is_a_miss_and_is_removed() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let cache = open(&server.url(), "garbage");
    let key = cache.redis_key(&"k").unwrap();
    let mut raw = server.raw();
    redis::cmd("SET")
        .arg(&key)
        .arg("not an envelope")
        .query::<()>(&mut raw)
        .unwrap();
    assert_eq!(cache.get::<_, String>(&"k").unwrap(), None);
    let exists: bool = redis::cmd("EXISTS").arg(&key).query(&mut raw).unwrap();
    assert!(!exists, "the undecodable entry is removed");
    assert_eq!(cache.stats().errors, 1);
}

#[test]
fn a_changed_type_is_a_miss_and_is_removed() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let cache = open(&server.url(), "changed_type");
    cache.set(&"k", &"a string that is not a number").unwrap();
    assert_eq!(cache.get::<_, (u64, u64, u64, u64)>(&"k").unwrap(), None);
    assert_eq!(cache.get::<_, String>(&"k").unwrap(), None, "removed");
    let computed: u64 = cache.get_or_compute_with_lease(&"k", || 5);
    assert_eq!(computed, 5);
}

#[test]
fn random_bytes_never_panic() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let cache = open(&server.url(), "fuzz");
    let raw = std::cell::RefCell::new(server.raw());
    let typed_key = cache.redis_key(&"k").unwrap();
    let byte_key = cache.redis_key_of_bytes(b"raw key");
    let mut runner = TestRunner::new(ProptestConfig {
        cases: 128,
        ..ProptestConfig::default()
    });
    let strategy = (
        proptest::collection::vec(any::<u8>(), 0..128),
        any::<bool>(),
    );
    runner
        .run(&strategy, |(bytes, sealed)| {
            let stored = if sealed {
                envelope::seal(Header::new(Flags::NONE, None), &bytes)
            } else {
                bytes.clone()
            };
            let put = |key: &str| {
                redis::cmd("SET")
                    .arg(key)
                    .arg(&stored)
                    .query::<()>(&mut *raw.borrow_mut())
                    .unwrap();
            };
            put(&typed_key);
            prop_assert!(cache.get::<_, (u32, String, Vec<f64>)>(&"k").is_ok());
            put(&typed_key);
            let (n, _, _) =
                cache.get_or_compute_with_lease(&"k", || (1_u32, String::new(), Vec::<f64>::new()));
            let _ = n;
            put(&byte_key);
            let got = cache.get_bytes(b"raw key").unwrap();
            // A well-formed envelope hands back its payload untouched; anything else is a miss.
            if sealed {
                prop_assert_eq!(got, Some(bytes));
            } else {
                prop_assert!(got.is_none() || envelope::open(&stored).is_ok());
            }
            Ok(())
        })
        .unwrap();
}
