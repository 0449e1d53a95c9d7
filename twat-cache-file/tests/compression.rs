//! zstd compression: round trips, smaller files, configurable level.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

mod common;

use common::{bytes, content_files, named, open, open_with};
use twat_cache_file::FileCacheOptions;

fn content_size(dir: &std::path::Path) -> u64 {
    content_files(dir)
        .iter()
        .map(|path| std::fs::metadata(path).unwrap().len())
        .sum()
}

#[test]
fn compressed_values_round_trip_and_take_less_space() {
    let plain_dir = tempfile::tempdir().unwrap();
    let zstd_dir = tempfile::tempdir().unwrap();
    let plain = open(plain_dir.path(), named("plain"));
    let zstd = open(zstd_dir.path(), named("zstd").compress(true));
    let samples: Vec<f64> = (0..100_000).map(|i| f64::from(i % 1000) * 0.5).collect();
    plain.set(&"samples", &samples).unwrap();
    zstd.set(&"samples", &samples).unwrap();
    assert_eq!(
        zstd.get::<_, Vec<f64>>(&"samples").unwrap(),
        Some(samples.clone())
    );
    assert_eq!(plain.get::<_, Vec<f64>>(&"samples").unwrap(), Some(samples));
    assert!(content_size(zstd_dir.path()) * 4 < content_size(plain_dir.path()));

    let raw: Vec<u8> = b"abcdefgh".repeat(10_000);
    zstd.set_raw(&"raw", &raw).unwrap();
    assert_eq!(zstd.get_raw(&"raw").unwrap(), Some(raw));
    let noise = bytes(50_000, 4);
    zstd.set_raw(&"noise", &noise).unwrap();
    assert_eq!(zstd.get_raw(&"noise").unwrap(), Some(noise));
    zstd.set_raw(&"empty", b"").unwrap();
    assert_eq!(zstd.get_raw(&"empty").unwrap(), Some(Vec::new()));
}

#[test]
fn the_level_is_configurable() {
    let fast_dir = tempfile::tempdir().unwrap();
    let small_dir = tempfile::tempdir().unwrap();
    let text: String = (0..20_000)
        .map(|i| format!("line {} of {}\n", i % 313, i % 17))
        .collect();
    let fast = open_with(
        fast_dir.path(),
        named("fast").compress(true),
        FileCacheOptions::new().compression_level(1),
    );
    let small = open_with(
        small_dir.path(),
        named("small").compress(true),
        FileCacheOptions::new().compression_level(19),
    );
    fast.set(&0_u8, &text).unwrap();
    small.set(&0_u8, &text).unwrap();
    assert_eq!(
        small.get::<_, String>(&0_u8).unwrap().as_deref(),
        Some(text.as_str())
    );
    assert!(content_size(small_dir.path()) < content_size(fast_dir.path()));
}

#[test]
fn a_folder_written_compressed_reads_back_uncompressed_and_vice_versa() {
    let dir = tempfile::tempdir().unwrap();
    open(dir.path(), named("mixed").compress(true))
        .set(&"k", &"compressed once")
        .unwrap();
    let reader = open(dir.path(), named("mixed"));
    assert_eq!(
        reader.get::<_, String>(&"k").unwrap().as_deref(),
        Some("compressed once"),
        "the envelope flag, not the configuration, says how an entry is stored"
    );
}
