//! `CacheContext` and `engine_context` over the memory engine (the persistent engines'
//! contexts are tested in `persistence.rs`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    reason = "tests fail loudly and child processes report on stdout"
)]

use std::time::Duration;

use serde::{Deserialize, Serialize};
use twat_cache::{CacheConfig, CacheContext, EngineKind, engine_context, get_stats};

#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
struct Session {
    user: String,
    items: Vec<u32>,
}

#[test]
fn get_set_delete_round_trip_any_serde_types() {
    let cache = CacheContext::new(CacheConfig::builder().build().unwrap()).unwrap();
    assert_eq!(cache.engine(), EngineKind::Memory);
    let session = Session {
        user: "ada".into(),
        items: vec![1, 2],
    };
    assert_eq!(
        cache.get::<_, Session>("session_data_user123").unwrap(),
        None
    );
    cache.set("session_data_user123", &session).unwrap();
    assert_eq!(
        cache.get::<_, Session>("session_data_user123").unwrap(),
        Some(session.clone())
    );
    // Keys are any Serialize type; equal values are equal keys.
    cache.set(&(1_u8, 2.5_f64), &"tuple").unwrap();
    assert_eq!(
        cache.get::<_, String>(&(1_u8, 2.5_f64)).unwrap().as_deref(),
        Some("tuple")
    );
    assert!(cache.delete("session_data_user123").unwrap());
    assert!(!cache.delete("session_data_user123").unwrap());
    let stats = cache.stats();
    assert_eq!(stats.hits, 2);
    assert_eq!(stats.misses, 1);
    assert_eq!(stats.size, 1);
}

#[test]
fn a_value_of_another_type_is_a_miss_not_a_wrong_value() {
    let cache = CacheContext::new(CacheConfig::builder().build().unwrap()).unwrap();
    cache.set("k", &(1_u32, 2_u32, 3_u32)).unwrap();
    assert_eq!(cache.get::<_, (u32, u32)>("k").unwrap(), None);
    assert_eq!(cache.stats().errors, 1);
    // The undecodable entry was removed.
    assert_eq!(cache.get::<_, (u32, u32, u32)>("k").unwrap(), None);
}

#[test]
fn named_contexts_are_registered_while_alive() {
    let cache = CacheContext::new(
        CacheConfig::builder()
            .name("context_test::named")
            .build()
            .unwrap(),
    )
    .unwrap();
    cache.set(&1, &1).unwrap();
    assert_eq!(get_stats(Some("context_test::named")).unwrap().size, 1);
    twat_cache::clear_cache(Some("context_test::named")).unwrap();
    assert_eq!(cache.get::<_, i32>(&1).unwrap(), None);
    drop(cache);
    assert_eq!(get_stats(Some("context_test::named")), None);
}

#[test]
fn ttl_applies_to_context_entries() {
    let cache = CacheContext::new(
        CacheConfig::builder()
            .ttl(Duration::from_millis(40))
            .build()
            .unwrap(),
    )
    .unwrap();
    cache.set("k", &1).unwrap();
    assert_eq!(cache.get::<_, i32>("k").unwrap(), Some(1));
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(cache.get::<_, i32>("k").unwrap(), None);
}

#[test]
fn engine_context_passes_the_result_through() {
    let doubled = engine_context(CacheConfig::builder().build().unwrap(), |cache| {
        cache.set("x", &21).unwrap();
        cache.get::<_, i32>("x").unwrap().unwrap() * 2
    })
    .unwrap();
    assert_eq!(doubled, 42);
}

#[test]
fn get_or_insert_with_computes_once_for_concurrent_callers() {
    use std::sync::Barrier;
    use std::sync::atomic::{AtomicUsize, Ordering};

    let cache = CacheContext::new(
        CacheConfig::builder()
            .name("context_get_or_insert")
            .build()
            .unwrap(),
    )
    .unwrap();
    let runs = AtomicUsize::new(0);
    let barrier = Barrier::new(8);
    std::thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| {
                barrier.wait();
                let value: String = cache.get_or_insert_with(&("user", 7), || {
                    runs.fetch_add(1, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(100));
                    "seven".to_owned()
                });
                assert_eq!(value, "seven");
            });
        }
    });
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    assert_eq!(
        cache.get::<_, String>(&("user", 7)).unwrap().as_deref(),
        Some("seven")
    );
    // A key that will not encode is computed, counted, and never stored.
    let errors = cache.stats().errors;
    let unencodable = UnencodableKey;
    assert_eq!(cache.get_or_insert_with(&unencodable, || 5_u8), 5);
    assert_eq!(cache.stats().errors, errors + 1);
}

/// A key whose `Serialize` always fails.
struct UnencodableKey;

impl Serialize for UnencodableKey {
    fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        Err(serde::ser::Error::custom("this key has no encoding"))
    }
}
