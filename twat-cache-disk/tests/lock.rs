//! A folder held open by another process: the second process waits briefly, falls back
//! to memory, warns once, counts the error, and still answers correctly.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

mod common;

use std::time::Duration;

use common::{child_root, config, options, spawn_child, wait_until};
use twat_cache_disk::{DiskCache, DiskOptions};

/// Child side of `a_locked_folder_falls_back_to_memory`: holds the folder open until told.
#[test]
fn child_holds_the_folder() {
    let Some(root) = child_root() else {
        return; // only does something when re-run as a child
    };
    let cache = common::open(&root, config("shared", "locked_cache"));
    assert!(!cache.is_fallback());
    cache.set(&"written_by", &"child").unwrap();
    cache.flush().unwrap();
    std::fs::write(root.join("ready"), b"").unwrap();
    wait_until("the parent to finish", || root.join("done").exists());
}

#[test]
fn a_locked_folder_falls_back_to_memory() {
    let root = tempfile::tempdir().unwrap();
    let mut child = spawn_child("child_holds_the_folder", root.path());
    wait_until("the child to open the folder", || {
        root.path().join("ready").exists()
    });

    let quick = DiskOptions {
        lock_wait: Duration::from_millis(100),
        ..options(root.path())
    };
    let cfg = config("shared", "locked_cache").build().unwrap();
    let cache = DiskCache::open_with(&cfg, quick.clone()).unwrap();
    assert!(cache.is_fallback());
    assert_eq!(cache.stats().errors, 1, "the lock is counted once");
    // The fallback answers correctly: it just cannot see the child's entries.
    assert_eq!(cache.get::<_, String>(&"written_by").unwrap(), None);
    cache.set(&"written_by", &"parent").unwrap();
    assert_eq!(
        cache.get::<_, String>(&"written_by").unwrap().as_deref(),
        Some("parent")
    );
    assert!(cache.remove(&"written_by").unwrap());
    // A second handle in this process shares the fallback instead of waiting again.
    let again = DiskCache::open_with(&cfg, quick.clone()).unwrap();
    assert!(again.is_fallback());
    cache.set(&1_u8, &2_u8).unwrap();
    assert_eq!(again.get::<_, u8>(&1_u8).unwrap(), Some(2));

    std::fs::write(root.path().join("done"), b"").unwrap();
    assert!(child.wait().unwrap().success());
    drop((cache, again));

    // Once the child is gone the folder opens for real, with the child's entry.
    let cache = DiskCache::open_with(&cfg, quick).unwrap();
    assert!(!cache.is_fallback());
    assert_eq!(cache.stats().errors, 0);
    assert_eq!(
        cache.get::<_, String>(&"written_by").unwrap().as_deref(),
        Some("child")
    );
}
