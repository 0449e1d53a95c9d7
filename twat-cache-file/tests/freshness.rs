//! Hits served from remembered index records (`src/memo.rs`) stay fresh: two handles on
//! one folder — each as another process would be — see each other's rewrites, removals
//! and clears, and a stale record never serves bytes that were not stored under its key.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

mod common;

use std::io::Read;
use std::time::Duration;

use common::{content_files, named, open};

#[test]
fn another_handles_rewrites_removals_and_clears_are_seen_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let reader = open(dir.path(), named("fresh"));
    let writer = open(dir.path(), named("fresh"));
    writer.set_raw(&"k", b"first").unwrap();
    for _ in 0..3 {
        // The first read remembers the record, the next ones use it.
        assert_eq!(reader.get_raw(&"k").unwrap(), Some(b"first".to_vec()));
    }
    writer.set_raw(&"k", b"second").unwrap();
    assert_eq!(reader.get_raw(&"k").unwrap(), Some(b"second".to_vec()));
    assert_eq!(reader.get_raw(&"k").unwrap(), Some(b"second".to_vec()));
    writer.remove(&"k").unwrap();
    assert_eq!(reader.get_raw(&"k").unwrap(), None);
    writer.set_raw(&"k", b"third").unwrap();
    assert_eq!(reader.get_raw(&"k").unwrap(), Some(b"third".to_vec()));
    writer.clear().unwrap();
    assert_eq!(reader.get_raw(&"k").unwrap(), None);
    // Typed values and streaming readers go through the same records.
    writer.set(&"t", &"one".to_owned()).unwrap();
    assert_eq!(
        reader.get::<_, String>(&"t").unwrap().as_deref(),
        Some("one")
    );
    writer.set(&"t", &"two".to_owned()).unwrap();
    assert_eq!(
        reader.get::<_, String>(&"t").unwrap().as_deref(),
        Some("two")
    );
    writer.set_raw(&"s", b"streamed once").unwrap();
    let read_all = |cache: &twat_cache_file::FileCache| {
        let mut bytes = Vec::new();
        cache
            .get_reader(&"s")
            .unwrap()
            .map(|mut reader| reader.read_to_end(&mut bytes).unwrap())
            .map(|_| bytes)
    };
    assert_eq!(read_all(&reader), Some(b"streamed once".to_vec()));
    assert_eq!(read_all(&reader), Some(b"streamed once".to_vec()));
    writer.set_raw(&"s", b"streamed twice").unwrap();
    assert_eq!(read_all(&reader), Some(b"streamed twice".to_vec()));
    assert_eq!(reader.stats().errors, 0);
}

#[test]
fn an_old_content_file_that_outlives_a_rewrite_is_served_for_at_most_a_second() {
    let dir = tempfile::tempdir().unwrap();
    let reader = open(dir.path(), named("linger"));
    let writer = open(dir.path(), named("linger"));
    writer.set_raw(&"k", b"old value").unwrap();
    assert_eq!(reader.get_raw(&"k").unwrap(), Some(b"old value".to_vec()));
    let old_path = content_files(dir.path()).remove(0);
    let old_bytes = std::fs::read(&old_path).unwrap();
    writer.set_raw(&"k", b"new value").unwrap();
    // The writer removed the old content; put it back, as a removal that failed would
    // have left it.
    std::fs::write(&old_path, &old_bytes).unwrap();
    let value = reader.get_raw(&"k").unwrap();
    assert!(
        value == Some(b"old value".to_vec()) || value == Some(b"new value".to_vec()),
        "only a value stored under the key: {value:?}"
    );
    std::thread::sleep(Duration::from_millis(1_100));
    assert_eq!(reader.get_raw(&"k").unwrap(), Some(b"new value".to_vec()));
}

#[test]
fn a_remembered_record_past_its_ttl_is_not_served() {
    let dir = tempfile::tempdir().unwrap();
    let cache = open(dir.path(), named("ttl").ttl(Duration::from_millis(300)));
    cache.set_raw(&"k", b"short-lived").unwrap();
    assert!(cache.get_raw(&"k").unwrap().is_some());
    assert!(cache.get_raw(&"k").unwrap().is_some());
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(cache.get_raw(&"k").unwrap(), None);
}

#[test]
fn a_damaged_content_file_is_caught_on_a_remembered_hit() {
    let dir = tempfile::tempdir().unwrap();
    let cache = open(dir.path(), named("damaged"));
    cache.set_raw(&"k", &common::bytes(5_000, 3)).unwrap();
    assert!(cache.get_raw(&"k").unwrap().is_some());
    common::flip_byte(&content_files(dir.path())[0], 10);
    assert_eq!(cache.get_raw(&"k").unwrap(), None);
    assert_eq!(cache.stats().errors, 1);
    assert!(content_files(dir.path()).is_empty());
}
