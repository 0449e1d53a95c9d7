//! Rewriting one key many times keeps one entry and correct reads (the speed claim is in
//! `benches/benches/file.rs`).
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

mod common;

use common::{bytes, content_files, files_under, index_files, named, open};

#[test]
fn a_thousand_rewrites_leave_one_entry_and_the_last_value() {
    let dir = tempfile::tempdir().unwrap();
    let cache = open(dir.path(), named("rewrite"));
    let base = bytes(2048, 9);
    for round in 0..1000_u32 {
        let mut value = base.clone();
        value[..4].copy_from_slice(&round.to_le_bytes());
        cache.set_raw(&"key", &value).unwrap();
        if round.is_multiple_of(97) {
            assert_eq!(cache.get_raw(&"key").unwrap(), Some(value));
        }
    }
    let mut last = base.clone();
    last[..4].copy_from_slice(&999_u32.to_le_bytes());
    assert_eq!(cache.get_raw(&"key").unwrap(), Some(last));
    assert_eq!(index_files(dir.path()).len(), 1, "one index record per key");
    assert_eq!(
        content_files(dir.path()).len(),
        1,
        "old content removed on rewrite"
    );
    assert!(
        files_under(&dir.path().join("tmp")).is_empty(),
        "no temporary files left"
    );
    let index_len = std::fs::metadata(&index_files(dir.path())[0])
        .unwrap()
        .len();
    assert!(
        index_len < 200,
        "the index record does not grow: {index_len} bytes"
    );
    let stats = cache.stats();
    assert_eq!(stats.inserts, 1000);
    assert_eq!(stats.size, 1);
}

#[test]
fn rewriting_the_same_value_keeps_its_content() {
    let dir = tempfile::tempdir().unwrap();
    let cache = open(dir.path(), named("same"));
    for _ in 0..10 {
        cache.set(&"k", &"same value").unwrap();
    }
    assert_eq!(content_files(dir.path()).len(), 1);
    assert_eq!(
        cache.get::<_, String>(&"k").unwrap().as_deref(),
        Some("same value")
    );
}
