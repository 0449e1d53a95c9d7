//! The engines' options and stream types are reachable from the facade alone: a program
//! that depends only on `twat-cache` can tune the disk and file engines, stream large
//! values and read a sweep's report.
#![cfg(all(feature = "disk", feature = "file"))]
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

use std::io::{Read, Write};

use twat_cache::{
    CacheConfig, DiskCache, DiskOptions, FileCache, FileCacheOptions, FileReader, FileWriter,
    SweepReport,
};

#[test]
fn engine_options_and_streams_come_from_the_facade() {
    let root = tempfile::tempdir().unwrap();
    let config = CacheConfig::builder().folder("reexports").build().unwrap();

    let options = DiskOptions {
        root: Some(root.path().join("disk")),
        ..DiskOptions::default()
    };
    let disk = DiskCache::open_with(&config, options).unwrap();
    disk.set(&"k", &1_u8).unwrap();
    assert!(disk.remove(&"k").unwrap());

    let options = FileCacheOptions::new().directory(root.path().join("file"));
    let files = FileCache::open_with(&config, options).unwrap();
    let mut writer: FileWriter = files.set_writer(&"big").unwrap();
    writer.write_all(b"streamed").unwrap();
    writer.commit().unwrap();
    let mut reader: FileReader = files.get_reader(&"big").unwrap().unwrap();
    let mut read = Vec::new();
    reader.read_to_end(&mut read).unwrap();
    assert_eq!(read, b"streamed");
    let report: SweepReport = files.sweep().unwrap();
    assert_eq!(report.entries, 1);
    assert!(files.remove(&"big").unwrap());
}

#[cfg(feature = "redis")]
#[test]
fn the_signing_key_comes_from_the_facade() {
    let key = twat_cache::SigningKey::from_secret(b"a secret of the deployment");
    assert_eq!(
        key,
        twat_cache::SigningKey::from_secret(b"a secret of the deployment")
    );
    assert_eq!(
        format!("{key:?}"),
        "SigningKey(***)",
        "the key is never printed"
    );
}
