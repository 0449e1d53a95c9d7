//! `maxsize` in bytes: least-recently-used entries go first; orphans are collected.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

mod common;

use std::time::Duration;

use common::{bytes, content_files, files_under, index_files, named, open, open_with};
use twat_cache_file::FileCacheOptions;

const VALUE: usize = 10_000;

fn footprint_total(dir: &std::path::Path) -> u64 {
    content_files(dir)
        .iter()
        .map(|path| std::fs::metadata(path).unwrap().len())
        .sum()
}

#[test]
fn the_least_recently_used_entries_are_evicted_first() {
    let dir = tempfile::tempdir().unwrap();
    // Room for 5 values of 10 kB (plus small per-entry overhead), not 6.
    let cache = open(dir.path(), named("lru").maxsize(55_000));
    for key in 0..5_u32 {
        cache.set_raw(&key, &bytes(VALUE, u64::from(key))).unwrap();
    }
    // Use 0 and 1 again: now 2 is the least recently used, then 3.
    assert!(cache.get_raw(&0_u32).unwrap().is_some());
    assert!(cache.get_raw(&1_u32).unwrap().is_some());
    cache.set_raw(&5_u32, &bytes(VALUE, 5)).unwrap();
    let present: Vec<u32> = (0..6_u32)
        .filter(|key| cache.get_raw(key).unwrap().is_some())
        .collect();
    assert!(!present.contains(&2), "LRU entry 2 survived: {present:?}");
    assert!(present.contains(&0) && present.contains(&1) && present.contains(&5));
    assert!(footprint_total(dir.path()) <= 55_000);
    let stats = cache.stats();
    assert!(stats.evictions >= 1);
    assert_eq!(stats.maxsize, Some(55_000));
    assert_eq!(stats.size, present.len() as u64);
}

#[test]
fn the_folder_stays_under_maxsize_through_many_writes() {
    let dir = tempfile::tempdir().unwrap();
    let cache = open(dir.path(), named("bound").maxsize(100_000));
    for key in 0..200_u32 {
        cache.set_raw(&key, &bytes(3_000, u64::from(key))).unwrap();
        assert!(
            footprint_total(dir.path()) <= 100_000 + 3_100,
            "after {key}"
        );
    }
    // The newest entries are the ones kept.
    assert!(cache.get_raw(&199_u32).unwrap().is_some());
    assert!(cache.get_raw(&0_u32).unwrap().is_none());
    assert_eq!(
        index_files(dir.path()).len(),
        content_files(dir.path()).len()
    );
}

#[test]
fn a_value_larger_than_maxsize_is_not_stored() {
    let dir = tempfile::tempdir().unwrap();
    let cache = open(dir.path(), named("big").maxsize(1_000));
    cache.set_raw(&"small", b"fits").unwrap();
    cache.set_raw(&"big", &bytes(5_000, 1)).unwrap();
    assert_eq!(cache.get_raw(&"big").unwrap(), None);
    assert_eq!(cache.get_raw(&"small").unwrap(), Some(b"fits".to_vec()));
}

#[test]
fn orphaned_content_and_abandoned_temporaries_are_collected() {
    let dir = tempfile::tempdir().unwrap();
    let cache = open_with(
        dir.path(),
        named("orphans"),
        FileCacheOptions::new()
            .orphan_grace(Duration::ZERO)
            .temp_grace(Duration::from_secs(3600)),
    );
    cache.set_raw(&"kept", b"referenced").unwrap();
    // A crash between writing content and its index leaves content nothing points at.
    cacache::write_hash_sync_with_algo(cacache::Algorithm::Xxh3, dir.path(), b"orphan").unwrap();
    // A writer that died mid-write leaves a temporary file; an old one is collected,
    // a fresh one (maybe still being written) is not.
    let old = dir.path().join("tmp").join("old-temp");
    std::fs::write(&old, b"partial").unwrap();
    let two_hours_ago = std::time::SystemTime::now() - Duration::from_secs(7200);
    std::fs::File::options()
        .write(true)
        .open(&old)
        .unwrap()
        .set_modified(two_hours_ago)
        .unwrap();
    let fresh = dir.path().join("tmp").join("fresh-temp");
    std::fs::write(&fresh, b"in progress").unwrap();
    assert_eq!(content_files(dir.path()).len(), 2);

    let report = cache.sweep().unwrap();
    assert_eq!(report.orphans, 1);
    assert_eq!(report.temporaries, 1);
    assert_eq!(content_files(dir.path()).len(), 1);
    assert_eq!(files_under(&dir.path().join("tmp")), vec![fresh]);
    assert_eq!(
        cache.get_raw(&"kept").unwrap(),
        Some(b"referenced".to_vec())
    );
}

#[test]
fn young_orphans_are_left_for_their_writer() {
    let dir = tempfile::tempdir().unwrap();
    let cache = open(dir.path(), named("grace"));
    cacache::write_hash_sync_with_algo(cacache::Algorithm::Xxh3, dir.path(), b"in flight").unwrap();
    assert_eq!(cache.sweep().unwrap().orphans, 0);
    assert_eq!(content_files(dir.path()).len(), 1);
}

#[test]
fn a_coarse_recency_resolution_skips_restamping_fresh_hits() {
    let dir = tempfile::tempdir().unwrap();
    let cache = open_with(
        dir.path(),
        named("coarse").maxsize(35_000),
        FileCacheOptions::new().recency_resolution(Duration::from_secs(3600)),
    );
    for key in 0..3_u32 {
        cache.set_raw(&key, &bytes(VALUE, u64::from(key))).unwrap();
    }
    // This hit is within the resolution of 0's write stamp: 0 stays the oldest.
    assert!(cache.get_raw(&0_u32).unwrap().is_some());
    cache.set_raw(&3_u32, &bytes(VALUE, 3)).unwrap();
    assert!(cache.get_raw(&0_u32).unwrap().is_none());
    assert!(cache.get_raw(&3_u32).unwrap().is_some());
}
