//! `twat-cache purge` by age, size and expiry, and `twat-cache clear`.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

mod common;

use std::time::{Duration, SystemTime};

use common::{disk_cache, file_cache, fill_disk, index_files, json_of, twat_cache};
use predicates::prelude::*;

#[test]
fn purge_by_age_removes_entries_not_used_for_that_long() {
    let root = tempfile::tempdir().unwrap();
    let cache = file_cache(root.path(), "aged", "aged", None);
    for i in 0..6_u32 {
        cache.set(&i, &vec![i; 100]).unwrap();
    }
    let old = SystemTime::now() - Duration::from_secs(10 * 86_400);
    for index in index_files(&root.path().join("aged")).iter().take(2) {
        std::fs::File::options()
            .write(true)
            .open(index)
            .unwrap()
            .set_modified(old)
            .unwrap();
    }
    let output = twat_cache(root.path())
        .args(["purge", "aged", "--older-than", "7d", "--json"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let purged = &json_of(&output)["caches"][0];
    assert_eq!(
        (purged["checked"].as_u64(), purged["removed"].as_u64()),
        (Some(6), Some(2))
    );
    assert_eq!(index_files(&root.path().join("aged")).len(), 4);
    let served = (0..6_u32)
        .filter(|i| cache.get::<_, Vec<u32>>(i).unwrap().is_some())
        .count();
    assert_eq!(served, 4);
}

#[test]
fn purge_by_size_and_expiry_on_both_engines() {
    let root = tempfile::tempdir().unwrap();
    {
        let disk = disk_cache(root.path(), "d", "d", None);
        for i in 0..5_u32 {
            disk.set(&i, &vec![1_u8; 100]).unwrap();
        }
        disk.set(&99_u32, &vec![1_u8; 50_000]).unwrap();
    }
    let file = file_cache(root.path(), "f", "f", None);
    file.set(&1_u32, &vec![1_u8; 200_000]).unwrap();
    file.set(&2_u32, &vec![1_u8; 100]).unwrap();

    twat_cache(root.path())
        .args(["purge", "d", "f", "--larger-than", "10KiB"])
        .assert()
        .success()
        .stdout(predicate::str::is_match(r"(?m)^d\s+disk\s+6\s+1\s+[\d.]+ KiB\s+done$").unwrap())
        .stdout(predicate::str::is_match(r"(?m)^f\s+file\s+2\s+1\s+[\d.]+ KiB\s+done$").unwrap());
    assert_eq!(file.get::<_, Vec<u8>>(&1_u32).unwrap(), None);
    assert!(file.get::<_, Vec<u8>>(&2_u32).unwrap().is_some());
    // The TTL outlasts the open cache, so its background sweeper (which only removes
    // what has expired) cannot take the entry before the command does; it expires
    // after the cache is dropped.
    let disk = disk_cache(root.path(), "d", "d", Some(Duration::from_millis(400)));
    assert_eq!(disk.get::<_, Vec<u8>>(&99_u32).unwrap(), None);
    assert!(disk.get::<_, Vec<u8>>(&0_u32).unwrap().is_some());
    disk.set(&7_u32, &"expiring").unwrap();
    drop(disk);
    std::thread::sleep(Duration::from_millis(500));
    twat_cache(root.path())
        .args(["purge", "d", "--expired"])
        .assert()
        .success()
        .stdout(predicate::str::is_match(r"(?m)^d\s+disk\s+6\s+1\s").unwrap());
}

#[test]
fn purge_refuses_an_age_rule_on_a_disk_cache_before_removing_anything() {
    let root = tempfile::tempdir().unwrap();
    fill_disk(root.path(), "d", 3, 10);
    twat_cache(root.path())
        .args(["purge", "d", "--older-than", "1s", "--expired"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "disk engine keeps no time per entry",
        ));
}

#[test]
fn clear_needs_yes_without_a_terminal_and_then_empties_the_caches() {
    let root = tempfile::tempdir().unwrap();
    fill_disk(root.path(), "d", 4, 10);
    let file = file_cache(root.path(), "f", "f", None);
    file.set(&1_u32, &"x").unwrap();
    twat_cache(root.path())
        .args(["clear", "d"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--yes"));
    twat_cache(root.path())
        .args(["clear", "--all", "--yes"])
        .assert()
        .success()
        .stdout(predicate::str::is_match(r"(?m)^d\s+disk\s+4\s+4\s").unwrap())
        .stdout(predicate::str::is_match(r"(?m)^f\s+file\s+1\s+1\s").unwrap());
    let output = twat_cache(root.path())
        .args(["list", "--json"])
        .output()
        .unwrap();
    for cache in json_of(&output)["caches"].as_array().unwrap() {
        assert_eq!(cache["entries"], 0, "{cache}");
    }
    assert_eq!(file.get::<_, String>(&1_u32).unwrap(), None);
}

#[test]
fn clear_leaves_a_folder_held_by_another_process_alone() {
    let root = tempfile::tempdir().unwrap();
    let held = disk_cache(root.path(), "busy", "busy", None);
    held.set(&1_u32, &1_u32).unwrap();
    twat_cache(root.path())
        .args(["clear", "busy", "--yes"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "in use by another process, left alone",
        ));
    assert_eq!(held.get::<_, u32>(&1_u32).unwrap(), Some(1));
}
