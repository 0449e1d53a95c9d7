//! The cache is `Send + Sync` and its futures are `Send` when the body's future is.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use std::sync::Arc;

use twat_cache_async::AsyncCache;
use twat_cache_core::{CacheConfig, KeyBuf};

fn assert_send<T: Send>(_: T) {}
fn assert_send_sync<T: Send + Sync>() {}

async fn body(id: u64) -> String {
    tokio::task::yield_now().await;
    id.to_string()
}

#[test]
fn futures_are_send_when_the_body_is() {
    assert_send_sync::<AsyncCache<u64, String>>();
    assert_send_sync::<AsyncCache<KeyBuf, Vec<u8>>>();
    let cache = AsyncCache::<u64, String>::new(&CacheConfig::default());
    assert_send(cache.get_or_insert_with(1, body(1)));
    assert_send(cache.try_get_or_insert_with(1, async { Ok::<_, String>(body(1).await) }));
    let keyed = AsyncCache::<KeyBuf, String>::new(&CacheConfig::default());
    assert_send(keyed.get_or_insert_with(KeyBuf::encode(&(&1_u64,)).unwrap(), body(1)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn futures_can_be_spawned() {
    let cache = Arc::new(AsyncCache::<u64, String>::new(&CacheConfig::default()));
    let handles: Vec<_> = (0..8_u64)
        .map(|id| {
            let cache = Arc::clone(&cache);
            tokio::spawn(async move { cache.get_or_insert_with(id % 2, body(id % 2)).await })
        })
        .collect();
    for (id, handle) in handles.into_iter().enumerate() {
        assert_eq!(handle.await.unwrap(), (id % 2).to_string());
    }
    assert_eq!(cache.len(), 2);
}

#[test]
fn a_call_future_is_little_more_than_its_arguments() {
    // The slow path is boxed on a miss, so a hit only moves the key, the body's future
    // and a few words.
    let cache = AsyncCache::<u64, String>::new(&CacheConfig::default());
    let init = body(1);
    let init_size = std::mem::size_of_val(&init);
    let call = cache.get_or_insert_with(1, init);
    let overhead = std::mem::size_of_val(&call) - init_size;
    assert!(overhead <= 64, "{overhead} bytes beyond the body's future");
}
