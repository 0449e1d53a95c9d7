//! Writes the seed corpora (`fuzz/seeds/<target>/`) from real entries: envelopes the
//! engines seal, index records and content files a `FileCache` writes, configuration
//! strings from the docs. Rerun after a format change:
//! `cd fuzz && cargo run --example seeds`.
#![allow(clippy::unwrap_used, reason = "a developer tool")]

use std::path::Path;
use std::time::Duration;

use twat_cache_core::envelope::{self, Flags, Header};
use twat_cache_core::{CacheConfig, encode_byte_buf};
use twat_cache_file::{FileCache, FileCacheOptions};
use twat_cache_fuzz::{Probe, files_under, frame};

fn write_seeds(target: &str, seeds: &[Vec<u8>]) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("seeds")
        .join(target);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for (i, seed) in seeds.iter().enumerate() {
        std::fs::write(dir.join(format!("seed-{i:02}")), seed).unwrap();
    }
}

/// The index record and content file of the one entry a fresh cache stored.
fn file_entry(store: impl FnOnce(&FileCache), compress: bool) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let config = CacheConfig::builder()
        .name("fuzz")
        .compress(compress)
        .build()
        .unwrap();
    let cache =
        FileCache::open_with(&config, FileCacheOptions::new().directory(dir.path())).unwrap();
    store(&cache);
    let record = std::fs::read(&files_under(&dir.path().join("index-v1"))[0]).unwrap();
    let content = std::fs::read(&files_under(&dir.path().join("content-v2"))[0]).unwrap();
    let ledger = std::fs::read(&files_under(&dir.path().join("usage-v1"))[0]).unwrap();
    frame(&[&record, &content, &ledger])
}

fn main() {
    let plain = envelope::seal_value(Header::new(Flags::NONE, None), &Probe::sample(3)).unwrap();
    let expiring = envelope::seal_value(
        Header::new(Flags::NONE, Some(Duration::from_secs(3600))),
        &Probe::sample(4),
    )
    .unwrap();
    let numbers =
        envelope::seal_value(Header::new(Flags::NONE, None), &vec![1_u64, 300, 70_000]).unwrap();
    let raw = envelope::seal(Header::new(Flags::RAW, None), b"raw bytes");
    let compressed = envelope::seal(
        Header::new(Flags::COMPRESSED, None),
        &[0x28, 0xb5, 0x2f, 0xfd],
    );
    write_seeds(
        "envelope",
        &[
            plain.clone(),
            expiring.clone(),
            numbers.clone(),
            raw.clone(),
            compressed,
            encode_byte_buf(&[7; 300]),
        ],
    );
    // The Redis engine stores flag-free envelopes (signed ones get a MAC appended, which
    // the target adds itself).
    write_seeds(
        "redis_value",
        &[
            plain.clone(),
            expiring.clone(),
            numbers.clone(),
            raw.clone(),
        ],
    );
    write_seeds(
        "disk_index",
        &[
            frame(&[&plain]),
            frame(&[&plain, &expiring, &numbers]),
            frame(&[&expiring, &raw, b"not an envelope"]),
        ],
    );
    write_seeds(
        "file_record",
        &[
            file_entry(|cache| cache.set_raw(&"k", b"a real entry").unwrap(), false),
            file_entry(|cache| cache.set(&"k", &Probe::sample(5)).unwrap(), false),
            file_entry(|cache| cache.set(&"k", &vec![0.5_f64; 512]).unwrap(), true),
        ],
    );
    let names: Vec<Vec<u8>> = [
        "user_data_cache",
        "my_crate::reports",
        "512 MiB",
        "1h 30m",
        "0.25",
        "redis://user:secret@127.0.0.1:6379/0",
        "../escape",
        "/etc/passwd",
    ]
    .iter()
    .enumerate()
    .map(|(i, text)| {
        let mut seed = u32::try_from(i).unwrap().to_le_bytes().to_vec();
        seed.extend_from_slice(text.as_bytes());
        seed
    })
    .collect();
    write_seeds("names", &names);
}
