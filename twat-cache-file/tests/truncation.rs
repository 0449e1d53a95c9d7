//! Truncated (or extended) content and index files are detected and never served.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

mod common;

use common::{bytes, content_files, index_files, named, open, write_over};

#[test]
fn truncated_content_is_a_miss_at_every_length() {
    let dir = tempfile::tempdir().unwrap();
    let cache = open(dir.path(), named("truncate"));
    let value = bytes(4096, 3);
    for keep in [0, 1, 100, 4095, 4096, 4096 + 31] {
        cache.set_raw(&"key", &value).unwrap();
        let file = &content_files(dir.path())[0];
        let content = std::fs::read(file).unwrap();
        write_over(file, &content[..keep]);
        assert_eq!(cache.get_raw(&"key").unwrap(), None, "kept {keep} bytes");
        assert!(content_files(dir.path()).is_empty());
    }
    assert_eq!(cache.stats().errors, 6);
    cache.set_raw(&"key", &value).unwrap();
    assert_eq!(cache.get_raw(&"key").unwrap(), Some(value));
}

#[test]
fn content_with_bytes_appended_is_a_miss() {
    let dir = tempfile::tempdir().unwrap();
    let cache = open(dir.path(), named("extend").compress(true));
    cache.set(&1_u8, &"a value".repeat(100)).unwrap();
    let file = &content_files(dir.path())[0];
    let mut content = std::fs::read(file).unwrap();
    content.extend_from_slice(b"junk");
    write_over(file, &content);
    assert_eq!(cache.get::<_, String>(&1_u8).unwrap(), None);
}

#[test]
fn a_truncated_index_record_is_a_miss() {
    let dir = tempfile::tempdir().unwrap();
    let cache = open(dir.path(), named("index"));
    cache.set(&"k", &42_u64).unwrap();
    let index = &index_files(dir.path())[0];
    let record = std::fs::read(index).unwrap();
    write_over(index, &record[..record.len() / 2]);
    assert_eq!(cache.get::<_, u64>(&"k").unwrap(), None);
    assert_eq!(cache.stats().errors, 1);
}

#[test]
fn large_content_cut_or_extended_is_a_miss() {
    let dir = tempfile::tempdir().unwrap();
    let cache = open(dir.path(), named("large"));
    let value = bytes(300_000, 5);
    for change in [-1_i64, -100_000, 1, 5_000] {
        cache.set_raw(&"key", &value).unwrap();
        let file = &content_files(dir.path())[0];
        let mut content = std::fs::read(file).unwrap();
        let new_len = usize::try_from(content.len() as i64 + change).unwrap();
        content.resize(new_len, 0xAB);
        write_over(file, &content);
        assert_eq!(
            cache.get_raw(&"key").unwrap(),
            None,
            "length changed by {change}"
        );
    }
    cache.set_raw(&"key", &value).unwrap();
    assert_eq!(cache.get_raw(&"key").unwrap(), Some(value));
}
