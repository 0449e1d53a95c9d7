//! Several processes hammering one `#[fcache]` folder under a small `maxsize`: reads,
//! writes, concurrent rewrites of the same keys (two processes missing one key both
//! store it) and the sweeps the budget triggers. No process ever reads a wrong value,
//! nothing is left in `tmp/`, and the folder ends within the bound the file engine
//! keeps across processes: each process rescans the folder after writing a quarter of
//! `maxsize`, so after the last sweep (down to 90 %) every process may add up to a
//! quarter of the budget plus one entry. (Strictly "the budget plus one entry" across
//! processes would need a folder-wide usage count shared under a lock; the figure
//! printed shows how far over the budget the folder actually ended.)
//!
//! The CI variant runs 4 processes for 5 s; the soak (`cargo xtask soak`, or
//! `cargo test -p twat-cache --all-features --test many_processes -- --ignored`) runs
//! 8 processes for 30 s.
#![cfg(all(feature = "macros", feature = "file"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    reason = "tests fail loudly and child processes report on stdout"
)]

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{is_child, reported};
use twat_cache::{fcache, get_stats};

const SECONDS_ENV: &str = "TWAT_CACHE_HAMMER_SECONDS";
const WORKER_ENV: &str = "TWAT_CACHE_HAMMER_WORKER";
const KEYS: u64 = 48;
/// The folder's budget: room for about 20 of the 48 values, so every process keeps
/// evicting the others' entries.
const MAXSIZE: u64 = 256 * 1024;
/// The largest value: what "one entry" over the budget means.
const LARGEST: u64 = 16 * 1024;

/// The one correct value for `key`: 1–16 KiB.
fn expected(key: u64) -> Vec<u8> {
    let len = 1_024 * (1 + key % 16);
    (0..len)
        .map(|i| (i ^ key.wrapping_mul(31)).to_le_bytes()[0])
        .collect()
}

#[fcache(folder = "hammered", maxsize = 262_144, name = "many_processes::value")]
fn value(key: u64) -> Vec<u8> {
    expected(key)
}

/// One worker: random keys until its time is up, every answer checked.
#[test]
fn hammer_worker() {
    if !is_child() {
        return;
    }
    let (Ok(seconds), Ok(worker)) = (std::env::var(SECONDS_ENV), std::env::var(WORKER_ENV)) else {
        return;
    };
    let deadline = Instant::now() + Duration::from_secs(seconds.parse().unwrap());
    let mut state: u64 = worker.parse::<u64>().unwrap().wrapping_mul(0x9E37_79B9) | 1;
    let (mut calls, mut wrong) = (0_u64, 0_u64);
    while Instant::now() < deadline {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        // Skewed: low keys are hot, so processes often miss the same key together.
        let key = (state % KEYS) * (state >> 40 & 1) + (state % 8) * (1 - (state >> 40 & 1));
        if value(key) != expected(key) {
            wrong += 1;
        }
        calls += 1;
    }
    let stats = get_stats(Some("many_processes::value")).unwrap();
    println!("CALLS={calls}");
    println!("WRONG={wrong}");
    println!("HITS={}", stats.hits);
    println!("ERRORS={}", stats.errors);
    println!("EVICTIONS={}", stats.evictions);
}

/// Bytes of the files under `dir`, and how many there are.
fn files_under(dir: &Path) -> (u64, u64) {
    let (mut bytes, mut count) = (0, 0);
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let metadata = entry.metadata().unwrap();
            if metadata.is_dir() {
                let (more_bytes, more) = files_under(&entry.path());
                bytes += more_bytes;
                count += more;
            } else {
                bytes += metadata.len();
                count += 1;
            }
        }
    }
    (bytes, count)
}

fn hammer(processes: u32, seconds: u64) {
    if is_child() {
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let workers: Vec<_> = (0..processes)
        .map(|worker| {
            common::child_command("hammer_worker", root.path(), &[])
                .env(SECONDS_ENV, seconds.to_string())
                .env(WORKER_ENV, worker.to_string())
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let (mut calls, mut hits, mut errors, mut evictions) = (0, 0, 0, 0);
    for worker in workers {
        let output = worker.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "a worker failed:\n{stdout}");
        let figure = |name: &str| -> u64 { reported(&stdout, name).trim().parse().unwrap() };
        assert_eq!(figure("WRONG"), 0, "a worker read a wrong value");
        calls += figure("CALLS");
        hits += figure("HITS");
        errors += figure("ERRORS");
        evictions += figure("EVICTIONS");
    }
    let folder = root.path().join("hammered");
    let (content, _) = files_under(&folder.join("content-v2"));
    let (index, entries) = files_under(&folder.join("index-v1"));
    let (_, temporaries) = files_under(&folder.join("tmp"));
    println!(
        "{processes} processes × {seconds} s on one #[fcache] folder: {calls} calls, \
         {hits} hits, 0 wrong, {errors} errors counted, {evictions} evictions; \
         left {entries} entries, {content} content bytes (budget {MAXSIZE}), \
         {temporaries} temporary files"
    );
    assert_eq!(temporaries, 0, "files left in tmp/");
    let bound = MAXSIZE - MAXSIZE / 10 + u64::from(processes) * (MAXSIZE / 4 + LARGEST + 256);
    println!(
        "the folder ends at {:.1} % of its budget (engine bound across {processes} \
         processes: {:.1} %)",
        100.0 * (content + index) as f64 / MAXSIZE as f64,
        100.0 * bound as f64 / MAXSIZE as f64
    );
    assert!(
        content + index <= bound,
        "the folder holds {content} content + {index} index bytes, over the bound of \
         {bound} (budget {MAXSIZE})"
    );
}

#[test]
fn four_processes_hammer_one_fcache_folder() {
    hammer(4, 5);
}

#[test]
#[ignore = "soak: 8 processes for 30 s (cargo xtask soak)"]
fn soak_eight_processes_hammer_one_fcache_folder_for_30_s() {
    hammer(8, 30);
}
