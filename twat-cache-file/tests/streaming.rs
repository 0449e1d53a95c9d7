//! `set_writer` / `get_reader`: values streamed in and out, verified as they stream.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

mod common;

use std::io::{Read, Write};

use common::{bytes, content_files, flip_byte, index_files, named, open};

fn stream_in(cache: &twat_cache_file::FileCache, key: &str, value: &[u8]) {
    let mut writer = cache.set_writer(&key).unwrap();
    for chunk in value.chunks(100_003) {
        writer.write_all(chunk).unwrap();
    }
    assert_eq!(writer.written(), value.len() as u64);
    writer.commit().unwrap();
}

#[test]
fn streamed_values_round_trip_plain_and_compressed() {
    for compress in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let cache = open(dir.path(), named("stream").compress(compress));
        let value = bytes(3_000_000, 11);
        stream_in(&cache, "big", &value);
        let mut reader = cache.get_reader(&"big").unwrap().unwrap();
        assert_eq!(reader.len(), 3_000_000);
        let mut back = Vec::new();
        reader.read_to_end(&mut back).unwrap();
        assert_eq!(back, value, "compress = {compress}");
        // A streamed value is a raw entry: get_raw reads it whole.
        assert_eq!(cache.get_raw(&"big").unwrap(), Some(value.clone()));
        // And set_raw values stream out.
        cache.set_raw(&"small", b"tiny").unwrap();
        let mut small = String::new();
        cache
            .get_reader(&"small")
            .unwrap()
            .unwrap()
            .read_to_string(&mut small)
            .unwrap();
        assert_eq!(small, "tiny");
    }
}

#[test]
fn damage_is_reported_by_the_reader_and_the_entry_removed() {
    for compress in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let cache = open(dir.path(), named("stream-damage").compress(compress));
        stream_in(&cache, "big", &bytes(1_000_000, 12));
        let content = &content_files(dir.path())[0];
        flip_byte(content, 400_000);
        let mut reader = cache.get_reader(&"big").unwrap().unwrap();
        let mut sink = Vec::new();
        let err = reader.read_to_end(&mut sink).unwrap_err();
        assert_eq!(
            err.kind(),
            std::io::ErrorKind::InvalidData,
            "compress = {compress}"
        );
        assert!(index_files(dir.path()).is_empty());
        assert!(cache.get_reader(&"big").unwrap().is_none());
        assert_eq!(cache.stats().errors, 1);
    }
}

#[test]
fn a_dropped_writer_stores_nothing_and_keeps_the_old_value() {
    let dir = tempfile::tempdir().unwrap();
    let cache = open(dir.path(), named("abandon"));
    cache.set_raw(&"k", b"old").unwrap();
    {
        let mut writer = cache.set_writer(&"k").unwrap();
        writer.write_all(b"new but never committed").unwrap();
    }
    assert_eq!(cache.get_raw(&"k").unwrap(), Some(b"old".to_vec()));
    assert!(common::files_under(&dir.path().join("tmp")).is_empty());
}

#[test]
fn typed_entries_do_not_stream() {
    let dir = tempfile::tempdir().unwrap();
    let cache = open(dir.path(), named("typed"));
    cache.set(&"k", &"serialized").unwrap();
    assert!(cache.get_reader(&"k").unwrap().is_none());
}
