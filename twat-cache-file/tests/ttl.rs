//! Entries past their time-to-live are never served and are removed.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

mod common;

use std::time::Duration;

use common::{content_files, index_files, named, open};

#[test]
fn expired_entries_are_misses_and_are_removed() {
    let dir = tempfile::tempdir().unwrap();
    let cache = open(dir.path(), named("ttl").ttl(Duration::from_millis(1500)));
    cache.set(&"k", &1_u32).unwrap();
    cache.set_raw(&"raw", b"bytes").unwrap();
    assert_eq!(cache.get::<_, u32>(&"k").unwrap(), Some(1));
    std::thread::sleep(Duration::from_millis(1700));
    assert_eq!(cache.get::<_, u32>(&"k").unwrap(), None);
    assert_eq!(cache.get_raw(&"raw").unwrap(), None);
    assert!(cache.get_reader(&"raw").unwrap().is_none());
    assert!(index_files(dir.path()).is_empty());
    assert!(content_files(dir.path()).is_empty());
    let stats = cache.stats();
    assert_eq!(stats.evictions, 2);
    assert_eq!(stats.errors, 0);
    // Rewritten after expiry, it is served again.
    cache.set(&"k", &2_u32).unwrap();
    assert_eq!(cache.get::<_, u32>(&"k").unwrap(), Some(2));
}

#[test]
fn a_sweep_removes_expired_entries_nobody_reads() {
    let dir = tempfile::tempdir().unwrap();
    let cache = open(dir.path(), named("sweep").ttl(Duration::from_millis(200)));
    for i in 0..5_u32 {
        cache.set(&i, &i).unwrap();
    }
    std::thread::sleep(Duration::from_millis(300));
    let report = cache.sweep().unwrap();
    assert_eq!(report.expired, 5);
    assert_eq!(report.entries, 0);
    assert!(content_files(dir.path()).is_empty());
    assert_eq!(cache.stats().size, 0);
}

#[test]
fn entries_without_ttl_outlive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    open(dir.path(), named("keep")).set(&"k", &"kept").unwrap();
    let reopened = open(dir.path(), named("keep"));
    assert_eq!(
        reopened.get::<_, String>(&"k").unwrap().as_deref(),
        Some("kept")
    );
    assert_eq!(reopened.stats().size, 1);
}
