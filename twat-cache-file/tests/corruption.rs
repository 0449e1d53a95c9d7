//! Damaged content or index files are detected, removed and never served.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

mod common;

use common::{bytes, content_files, flip_byte, index_files, named, open, write_over};

#[test]
fn a_flipped_byte_anywhere_in_the_content_is_a_miss_then_rewritten() {
    let dir = tempfile::tempdir().unwrap();
    let cache = open(dir.path(), named("corrupt"));
    let value = bytes(10_000, 1);
    for offset in [0, 1, 4_999, 9_999, 10_000, 10_031] {
        cache.set_raw(&"key", &value).unwrap();
        let files = content_files(dir.path());
        assert_eq!(files.len(), 1);
        flip_byte(&files[0], offset);
        let errors_before = cache.stats().errors;
        assert_eq!(
            cache.get_raw(&"key").unwrap(),
            None,
            "flip at {offset} served"
        );
        assert_eq!(cache.stats().errors, errors_before + 1);
        assert!(
            content_files(dir.path()).is_empty(),
            "damaged content removed"
        );
        assert!(
            index_files(dir.path()).is_empty(),
            "its index entry removed"
        );
        // The caller recomputes and rewrites; the next read is a hit.
        cache.set_raw(&"key", &value).unwrap();
        assert_eq!(cache.get_raw(&"key").unwrap(), Some(value.clone()));
        cache.remove(&"key").unwrap();
    }
}

#[test]
fn typed_and_compressed_entries_are_checked_too() {
    let dir = tempfile::tempdir().unwrap();
    let cache = open(dir.path(), named("typed").compress(true));
    let value: Vec<f64> = (0..5000).map(f64::from).collect();
    cache.set(&7_u32, &value).unwrap();
    let files = content_files(dir.path());
    flip_byte(&files[0], 100);
    assert_eq!(cache.get::<_, Vec<f64>>(&7_u32).unwrap(), None);
    assert_eq!(cache.stats().errors, 1);
    cache.set(&7_u32, &value).unwrap();
    assert_eq!(cache.get::<_, Vec<f64>>(&7_u32).unwrap(), Some(value));
}

#[test]
fn a_garbled_index_record_is_a_miss() {
    let dir = tempfile::tempdir().unwrap();
    let cache = open(dir.path(), named("index"));
    cache.set(&"k", &"value").unwrap();
    let index = index_files(dir.path());
    assert_eq!(index.len(), 1);
    flip_byte(&index[0], 20);
    assert_eq!(cache.get::<_, String>(&"k").unwrap(), None);
    assert_eq!(cache.stats().errors, 1);
    assert!(index_files(dir.path()).is_empty());
}

#[test]
fn content_swapped_for_another_keys_content_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let cache = open(dir.path(), named("swap"));
    cache.set_raw(&"a", b"first value").unwrap();
    let first = content_files(dir.path());
    cache.set_raw(&"b", b"other value").unwrap();
    let both = content_files(dir.path());
    let second: Vec<_> = both.iter().filter(|path| !first.contains(path)).collect();
    // Put b's (valid, checksummed-by-its-own-record) content where a's lives.
    let stolen = std::fs::read(second[0]).unwrap();
    write_over(&first[0], &stolen);
    assert_eq!(cache.get_raw(&"a").unwrap(), None);
    assert_eq!(cache.get_raw(&"b").unwrap(), Some(b"other value".to_vec()));
}

#[test]
fn a_value_stored_as_another_type_is_a_counted_miss() {
    let dir = tempfile::tempdir().unwrap();
    let cache = open(dir.path(), named("types"));
    cache.set(&"k", &vec![1_u64, 2, 3]).unwrap();
    assert_eq!(
        cache
            .get::<_, (String, String, String, String)>(&"k")
            .unwrap(),
        None
    );
    assert_eq!(cache.stats().errors, 1);
    assert_eq!(cache.get::<_, Vec<u64>>(&"k").unwrap(), None, "removed");
    // Raw and typed entries do not read as each other.
    cache.set_raw(&"raw", b"bytes").unwrap();
    assert_eq!(cache.get::<_, Vec<u8>>(&"raw").unwrap(), None);
    cache.set(&"typed", &"text").unwrap();
    assert_eq!(cache.get_raw(&"typed").unwrap(), None);
}

#[test]
fn a_missing_content_file_is_a_miss() {
    let dir = tempfile::tempdir().unwrap();
    let cache = open(dir.path(), named("missing"));
    cache.set_raw(&"k", b"v").unwrap();
    std::fs::remove_file(&content_files(dir.path())[0]).unwrap();
    assert_eq!(cache.get_raw(&"k").unwrap(), None);
    assert!(index_files(dir.path()).is_empty());
}
