//! Entries survive dropping the cache and restarting the process.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

mod common;

use common::{child_root, config, open, options, spawn_child};
use twat_cache_core::CacheConfig;
use twat_cache_disk::DiskCache;

/// A config with a name and no folder: the folder is derived from the name.
fn unfoldered() -> CacheConfig {
    CacheConfig::builder()
        .name("my_app::reports")
        .build()
        .unwrap()
}

fn report(id: u32) -> Vec<String> {
    (0..id % 7)
        .map(|line| format!("report {id} line {line}"))
        .collect()
}

#[test]
fn reopen_in_the_same_process_serves_stored_entries() {
    let root = tempfile::tempdir().unwrap();
    {
        let cache = open(root.path(), config("reports", "report_cache"));
        for id in 0..200_u32 {
            cache.set(&("quarterly", id), &report(id)).unwrap();
        }
        assert_eq!(cache.stats().size, 200);
    }
    let cache = open(root.path(), config("reports", "report_cache"));
    assert!(!cache.is_fallback());
    assert_eq!(cache.stats().size, 200);
    for id in 0..200_u32 {
        let got: Option<Vec<String>> = cache.get(&("quarterly", id)).unwrap();
        assert_eq!(got, Some(report(id)), "entry {id}");
    }
    assert_eq!(cache.stats().hits, 200);
    assert_eq!(
        cache
            .get::<_, Vec<String>>(&("quarterly", 999_u32))
            .unwrap(),
        None
    );
}

/// Child side of `a_second_process_reads_what_the_first_wrote`.
#[test]
fn child_writes_reports_and_exits() {
    if child_root().is_none() {
        return; // only does something when re-run as a child
    }
    // The plain `open`: the root comes from TWAT_CACHE_DIR, the folder from the name.
    let cache = DiskCache::open(&unfoldered()).unwrap();
    assert!(cache.path().ends_with("my_app__reports"));
    for id in 0..100_u32 {
        cache.set(&id, &report(id)).unwrap();
    }
}

#[test]
fn a_second_process_reads_what_the_first_wrote() {
    let root = tempfile::tempdir().unwrap();
    let status = spawn_child("child_writes_reports_and_exits", root.path())
        .wait()
        .unwrap();
    assert!(status.success());
    let cache = DiskCache::open_with(&unfoldered(), options(root.path())).unwrap();
    assert!(!cache.is_fallback());
    for id in 0..100_u32 {
        assert_eq!(cache.get::<_, Vec<String>>(&id).unwrap(), Some(report(id)));
    }
}

#[test]
fn durable_writes_survive_a_reopen_and_flush_succeeds() {
    let root = tempfile::tempdir().unwrap();
    {
        let cache = open(root.path(), config("durable", "durable").durable(true));
        cache.set(&"session", &"token-123").unwrap();
        cache.flush().unwrap();
        cache.compact().unwrap();
    }
    let cache = open(root.path(), config("durable", "durable"));
    assert_eq!(
        cache.get::<_, String>(&"session").unwrap().as_deref(),
        Some("token-123")
    );
}

#[test]
fn bumping_the_version_hides_old_entries() {
    let root = tempfile::tempdir().unwrap();
    {
        let cache = open(root.path(), config("versioned", "versioned"));
        cache.set(&1_u8, &"v0").unwrap();
    }
    let cache = open(root.path(), config("versioned", "versioned").version(1));
    assert_eq!(cache.get::<_, String>(&1_u8).unwrap(), None);
}

#[cfg(unix)]
#[test]
fn folders_are_owner_only_when_secure() {
    use std::os::unix::fs::PermissionsExt as _;
    let root = tempfile::tempdir().unwrap();
    let cache = open(root.path(), config("private", "private"));
    let mode = std::fs::metadata(cache.path())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o700);
}
