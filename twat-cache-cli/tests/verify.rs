//! `twat-cache verify`: damage is found, and `--repair` removes exactly the damaged and
//! expired entries.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

mod common;

use std::time::Duration;

use common::{
    content_files, disk_cache, file_cache, fill_disk, fill_file, garble_first_disk_entry, json_of,
    twat_cache,
};
use predicates::prelude::*;

#[test]
fn sound_caches_verify_clean() {
    let root = tempfile::tempdir().unwrap();
    fill_disk(root.path(), "d", 10, 50);
    fill_file(root.path(), "f", 10, 5_000);
    twat_cache(root.path())
        .arg("verify")
        .assert()
        .success()
        .stdout(predicate::str::is_match(r"(?m)^d\s+disk\s+10\s+0\s+0\s+0\s+sound$").unwrap())
        .stdout(predicate::str::is_match(r"(?m)^f\s+file\s+10\s+0\s+0\s+0\s+sound$").unwrap());
}

#[test]
fn finds_a_flipped_byte_and_a_garbled_envelope_and_repairs_exactly_those() {
    let root = tempfile::tempdir().unwrap();
    fill_disk(root.path(), "d", 10, 50);
    fill_file(root.path(), "f", 10, 5_000);
    assert_eq!(garble_first_disk_entry(&root.path().join("d")), 1);
    let contents = content_files(&root.path().join("f"));
    assert_eq!(contents.len(), 10);
    let damaged = &contents[3];
    let mut bytes = std::fs::read(damaged).unwrap();
    bytes[1234] ^= 0x20;
    std::fs::write(damaged, bytes).unwrap();

    let output = twat_cache(root.path())
        .args(["verify", "--json"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let report = json_of(&output);
    assert_eq!(report["sound"], false);
    let caches = report["caches"].as_array().unwrap();
    assert_eq!(
        (caches[0]["name"].as_str(), caches[0]["corrupt"].as_u64()),
        (Some("d"), Some(1))
    );
    assert_eq!(
        (caches[1]["name"].as_str(), caches[1]["corrupt"].as_u64()),
        (Some("f"), Some(1))
    );
    assert_eq!(caches[1]["problems"][0]["kind"], "corrupt");
    assert!(
        caches[1]["problems"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("checksum")
    );
    assert_eq!(caches[0]["removed"], 0, "no --repair, nothing removed");

    // The people's form names each problem on its own line.
    twat_cache(root.path())
        .arg("verify")
        .assert()
        .code(1)
        .stdout(predicate::str::is_match(r"(?m)^d: corrupt d/").unwrap())
        .stdout(
            predicate::str::is_match(r"(?m)^f: corrupt [0-9a-f]+: content failed its checksum")
                .unwrap(),
        );

    twat_cache(root.path())
        .args(["verify", "--repair"])
        .assert()
        .code(1)
        .stdout(predicate::str::is_match(r"(?m)^d\s+disk\s+10\s+1\s+0\s+1\s+repaired$").unwrap())
        .stdout(predicate::str::is_match(r"(?m)^f\s+file\s+10\s+1\s+0\s+1\s+repaired$").unwrap());
    assert!(!damaged.exists());
    assert_eq!(content_files(&root.path().join("f")).len(), 9);

    // Exactly those: the other entries are still there and served.
    twat_cache(root.path())
        .arg("verify")
        .assert()
        .success()
        .stdout(predicate::str::is_match(r"(?m)^d\s+disk\s+9\s+0\s+0\s+0\s+sound$").unwrap())
        .stdout(predicate::str::is_match(r"(?m)^f\s+file\s+9\s+0\s+0\s+0\s+sound$").unwrap());
    let disk = disk_cache(root.path(), "d", "d", None);
    assert_eq!(disk.stats().size, 9);
    let file = file_cache(root.path(), "f", "f", None);
    let served = (0..10_u32)
        .filter(|i| file.get::<_, Vec<u8>>(i).unwrap().is_some())
        .count();
    assert_eq!(served, 9);
}

#[test]
fn expired_entries_are_reported_and_repaired() {
    let root = tempfile::tempdir().unwrap();
    let cache = file_cache(
        root.path(),
        "short",
        "short",
        Some(Duration::from_millis(1)),
    );
    cache.set(&1_u32, &"soon gone").unwrap();
    let keep = file_cache(root.path(), "short", "long", None);
    keep.set(&2_u32, &"stays").unwrap();
    std::thread::sleep(Duration::from_millis(20));
    twat_cache(root.path())
        .args(["verify", "short", "--repair"])
        .assert()
        .code(1)
        .stdout(predicate::str::is_match(r"(?m)^short\s+file\s+2\s+0\s+1\s+1\s+repaired$").unwrap())
        .stdout(predicate::str::contains("short: expired"));
    assert_eq!(
        keep.get::<_, String>(&2_u32).unwrap().as_deref(),
        Some("stays")
    );
}
