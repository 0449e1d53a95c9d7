//! The folder: where it is (cache root + folder), what survives a restart, who may read it.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

mod common;

use std::process::Command;

use common::{files_under, named, open};
use twat_cache_core::CacheConfig;
use twat_cache_file::FileCache;

const ROOT_CHILD_ENV: &str = "TWAT_FILE_TEST_ROOT_CHILD";

/// Runs only in the child started below, whose `TWAT_CACHE_DIR` points at a temp folder.
#[test]
fn root_child() {
    if std::env::var_os(ROOT_CHILD_ENV).is_none() {
        return;
    }
    let named_folder = CacheConfig::builder()
        .name("named")
        .folder("array_processing_cache")
        .build()
        .unwrap();
    let cache = FileCache::open(&named_folder).unwrap();
    cache.set(&"k", &vec![1.5_f64, 2.5]).unwrap();
    let from_name = CacheConfig::builder()
        .name("my_crate::compute")
        .build()
        .unwrap();
    FileCache::open(&from_name)
        .unwrap()
        .set(&1_u8, &1_u8)
        .unwrap();
    let unnamed = FileCache::open(&CacheConfig::default()).unwrap();
    assert_eq!(unnamed.name(), "file");
    unnamed.set(&1_u8, &1_u8).unwrap();
}

#[test]
fn folders_resolve_under_the_cache_root_and_survive_the_process() {
    let root = tempfile::tempdir().unwrap();
    let status = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "root_child"])
        .env(ROOT_CHILD_ENV, "1")
        .env("TWAT_CACHE_DIR", root.path())
        .status()
        .unwrap();
    assert!(status.success());
    for folder in [
        "array_processing_cache",
        "my_crate__compute",
        "twat_cache_file",
    ] {
        assert!(
            !files_under(&root.path().join(folder).join("index-v1")).is_empty(),
            "{folder} has entries"
        );
    }
    // This process reads what the other one wrote.
    let cache = open(&root.path().join("array_processing_cache"), named("named"));
    assert_eq!(
        cache.get::<_, Vec<f64>>(&"k").unwrap(),
        Some(vec![1.5, 2.5])
    );
}

#[test]
fn a_folder_escaping_the_root_is_refused() {
    let config = CacheConfig::builder().folder("../outside").build();
    // Either the builder or open refuses it; nothing is created outside the root.
    if let Ok(config) = config {
        assert!(FileCache::open(&config).is_err());
    }
}

#[test]
fn a_version_bump_starts_a_fresh_key_space() {
    let dir = tempfile::tempdir().unwrap();
    open(dir.path(), named("v")).set(&"k", &"old").unwrap();
    let bumped = open(dir.path(), named("v").version(2));
    assert_eq!(bumped.get::<_, String>(&"k").unwrap(), None);
}

#[cfg(unix)]
#[test]
fn secure_caches_are_owner_only() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("secure");
    let cache = open(&root, named("secure"));
    cache.set(&"k", &"private").unwrap();
    cache.set_raw(&"raw", b"private").unwrap();
    let mut writer = cache.set_writer(&"stream").unwrap();
    std::io::Write::write_all(&mut writer, b"private").unwrap();
    writer.commit().unwrap();
    let mut checked = 0;
    let mut stack = vec![root];
    while let Some(path) = stack.pop() {
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        if path.is_dir() {
            assert_eq!(mode, 0o700, "{}", path.display());
            stack.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
        } else {
            assert_eq!(mode, 0o600, "{}", path.display());
        }
        checked += 1;
    }
    assert!(checked > 10);
}

#[test]
fn stats_count_hits_misses_inserts() {
    let dir = tempfile::tempdir().unwrap();
    let cache = open(dir.path(), named("stats"));
    assert_eq!(cache.get::<_, u8>(&1_u8).unwrap(), None);
    cache.set(&1_u8, &1_u8).unwrap();
    assert_eq!(cache.get::<_, u8>(&1_u8).unwrap(), Some(1));
    assert!(cache.remove(&1_u8).unwrap());
    assert!(!cache.remove(&1_u8).unwrap());
    let stats = cache.stats();
    assert_eq!(
        (stats.hits, stats.misses, stats.inserts, stats.size),
        (1, 1, 1, 0)
    );
    assert!(format!("{cache:?}").contains("stats"));
}

#[test]
fn durable_writes_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let cache = open(dir.path(), named("durable").durable(true).compress(true));
    cache.set(&"k", &vec![7_u8; 10_000]).unwrap();
    let mut writer = cache.set_writer(&"s").unwrap();
    std::io::Write::write_all(&mut writer, b"streamed").unwrap();
    writer.commit().unwrap();
    let reopened = open(dir.path(), named("durable"));
    assert_eq!(
        reopened.get::<_, Vec<u8>>(&"k").unwrap(),
        Some(vec![7; 10_000])
    );
    assert_eq!(reopened.get_raw(&"s").unwrap(), Some(b"streamed".to_vec()));
}
