//! Expired entries are never served, and are removed from disk in the background without
//! being read.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

mod common;

use std::time::Duration;

use common::{config, open, wait_until};

const TTL: Duration = Duration::from_millis(150);

#[test]
fn expired_entries_are_never_served() {
    let root = tempfile::tempdir().unwrap();
    let cache = open(root.path(), config("short_lived", "ttl").ttl(TTL));
    cache.set(&"k", &42_u32).unwrap();
    assert_eq!(cache.get::<_, u32>(&"k").unwrap(), Some(42));
    std::thread::sleep(TTL * 2);
    assert_eq!(cache.get::<_, u32>(&"k").unwrap(), None);
    // Also through the byte path, which the facade uses.
    cache.set(&"k2", &1_u8).unwrap();
    std::thread::sleep(TTL * 2);
    let key = twat_cache_core::Namespace::new("short_lived", 0)
        .key(&"k2")
        .unwrap();
    assert_eq!(
        twat_cache_core::ByteStore::get_bytes(&cache, &key).unwrap(),
        None
    );
}

#[test]
fn expired_entries_are_removed_in_the_background() {
    let root = tempfile::tempdir().unwrap();
    let cache = open(root.path(), config("swept", "ttl_swept").ttl(TTL));
    for i in 0..50_u32 {
        cache.set(&i, &i).unwrap();
    }
    assert_eq!(cache.stats().size, 50);
    // Nobody reads them; the sweeper removes them.
    wait_until("the sweeper to remove expired entries", || {
        cache.stats().size == 0
    });
    assert_eq!(cache.stats().evictions, 50);
    assert_eq!(cache.bytes(), 0);
    let path = cache.path();
    drop(cache);
    // They are gone from disk too, not just from the index.
    let database = fjall::Database::builder(&path).open().unwrap();
    let keyspace = database
        .keyspace("swept", fjall::KeyspaceCreateOptions::default)
        .unwrap();
    assert_eq!(keyspace.iter().count(), 0);
}

#[test]
fn entries_that_expired_while_closed_are_dropped_on_open() {
    let root = tempfile::tempdir().unwrap();
    {
        let cache = open(root.path(), config("closed", "ttl_closed").ttl(TTL));
        cache.set(&1_u8, &"soon gone").unwrap();
        cache.set(&2_u8, &"soon gone").unwrap();
    }
    std::thread::sleep(TTL * 2);
    let cache = open(root.path(), config("closed", "ttl_closed"));
    assert_eq!(cache.stats().size, 0);
    assert_eq!(cache.get::<_, String>(&1_u8).unwrap(), None);
}

#[test]
fn remove_expired_on_demand() {
    let root = tempfile::tempdir().unwrap();
    let cache = open(root.path(), config("manual", "ttl_manual").ttl(TTL));
    cache.set(&1_u8, &1_u8).unwrap();
    std::thread::sleep(TTL * 2);
    cache.remove_expired().unwrap();
    assert_eq!(cache.stats().size, 0);
}

#[test]
fn expiry_is_checked_on_disk_reads_too() {
    let root = tempfile::tempdir().unwrap();
    let no_front = twat_cache_disk::DiskOptions {
        front_bytes: 0,
        ..common::options(root.path())
    };
    let cfg = config("no_front", "ttl_no_front").ttl(TTL).build().unwrap();
    let cache = twat_cache_disk::DiskCache::open_with(&cfg, no_front).unwrap();
    cache.set(&1_u8, &1_u8).unwrap();
    assert_eq!(cache.get::<_, u8>(&1_u8).unwrap(), Some(1));
    std::thread::sleep(TTL * 2);
    assert_eq!(cache.get::<_, u8>(&1_u8).unwrap(), None);
}
