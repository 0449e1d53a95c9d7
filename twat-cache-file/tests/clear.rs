//! `clear` removes this cache's data (and only this cache's) and resets its counters.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

mod common;

use common::{content_files, index_files, named, open};
use twat_cache_core::{ByteStore, ManagedCache};

#[test]
fn clear_removes_entries_and_content_and_resets_stats() {
    let dir = tempfile::tempdir().unwrap();
    let cache = open(dir.path(), named("clear"));
    for key in 0..20_u32 {
        cache.set(&key, &vec![key; 100]).unwrap();
    }
    assert_eq!(
        cache.get::<_, Vec<u32>>(&3_u32).unwrap(),
        Some(vec![3; 100])
    );
    cache.clear().unwrap();
    assert!(index_files(dir.path()).is_empty());
    assert!(content_files(dir.path()).is_empty());
    let stats = cache.stats();
    assert_eq!((stats.hits, stats.inserts, stats.size), (0, 0, 0));
    assert_eq!(cache.get::<_, Vec<u32>>(&3_u32).unwrap(), None);
    // Still usable.
    cache.set(&1_u32, &vec![1_u32]).unwrap();
    assert_eq!(cache.get::<_, Vec<u32>>(&1_u32).unwrap(), Some(vec![1]));
}

#[test]
fn clear_leaves_other_caches_in_the_same_folder_alone() {
    let dir = tempfile::tempdir().unwrap();
    let mine = open(dir.path(), named("mine"));
    let theirs = open(dir.path(), named("theirs"));
    mine.set(&"k", &"mine").unwrap();
    theirs.set(&"k", &"theirs").unwrap();
    ManagedCache::clear(&mine).unwrap();
    assert_eq!(mine.get::<_, String>(&"k").unwrap(), None);
    assert_eq!(
        theirs.get::<_, String>(&"k").unwrap().as_deref(),
        Some("theirs")
    );
    assert_eq!(ManagedCache::name(&theirs), "theirs");
}

#[test]
fn the_byte_store_face_shares_the_typed_key_space() {
    let dir = tempfile::tempdir().unwrap();
    let cache = open(dir.path(), named("bytes").compress(true));
    assert_eq!(cache.kind(), twat_cache_core::EngineKind::File);
    let namespace = twat_cache_core::Namespace::new("bytes", 0);
    let key = namespace.key(&"k").unwrap();
    cache
        .set_bytes(&key, &twat_cache_core::encode_value(&"via bytes").unwrap())
        .unwrap();
    assert_eq!(
        cache.get::<_, String>(&"k").unwrap().as_deref(),
        Some("via bytes")
    );
    cache.set(&"k2", &5_u16).unwrap();
    let payload = cache
        .get_bytes(&namespace.key(&"k2").unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(twat_cache_core::decode_value::<u16>(&payload).unwrap(), 5);
    assert!(cache.delete_bytes(&key).unwrap());
    assert!(!cache.delete_bytes(&key).unwrap());
    assert_eq!(cache.get_bytes(&key).unwrap(), None);
    ByteStore::clear(&cache).unwrap();
    assert_eq!(cache.get::<_, u16>(&"k2").unwrap(), None);
    cache.record_error(&twat_cache_core::Error::NoCacheRoot);
    assert_eq!(ByteStore::stats(&cache).errors, 1);
}
