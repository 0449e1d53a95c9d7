//! Several processes hammering one `#[fcache]` folder under a small `maxsize`: reads,
//! writes, concurrent rewrites of the same keys (two processes missing one key both
//! store it) and the sweeps the budget triggers. No process ever reads a wrong value,
//! nothing is left in `tmp/`, and the folder stays within its budget across processes.
//!
//! The file engine keeps one usage count per cache in the folder, shared by every
//! process under a file lock (`twat-cache-file/src/ledger.rs`); a write that takes the
//! cache over `maxsize` sweeps right after it is published, under that lock. The budget
//! counts each entry's content file plus 128 bytes for its index record (a record is
//! about 90 bytes), so index files are inside it. Hence:
//!
//! - **at rest** (every worker gone) the folder's content and index files take at most
//!   `maxsize`;
//! - **while they run**, published entries are within the budget plus the entry whose
//!   write is about to trigger a sweep, and within the budget whenever nobody holds the
//!   lock; on top come, per process, the content file of a write not yet published
//!   (written before the lock is taken). Every 20 ms the parent takes the same lock
//!   (so no entry is published, evicted or removed while it counts) and checks that the
//!   folder holds at most the budget plus one such content file per process.
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
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
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
/// What one entry takes besides its value: the key digest its content file ends with
/// (32 bytes) and the index record (under the 128 bytes the budget allows for it); an
/// unpublished content file takes the value and the digest only.
const ENTRY_OVERHEAD: u64 = 32 + 128;

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
            // A file removed since the listing (by a running sweep) is not counted.
            let Ok(metadata) = entry.metadata() else {
                continue;
            };
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
    let folder = root.path().join("hammered");
    // The parent samples the folder while the workers run (content and index bytes).
    let running = Arc::new(AtomicBool::new(true));
    let largest_sample = Arc::new(AtomicU64::new(0));
    let sampler = {
        let (running, largest_sample, folder) = (
            Arc::clone(&running),
            Arc::clone(&largest_sample),
            folder.clone(),
        );
        std::thread::spawn(move || {
            while running.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(20));
                // The cache's usage ledger: its lock is what every publish, eviction and
                // removal holds.
                let ledgers: Vec<_> = std::fs::read_dir(folder.join("usage-v1"))
                    .map(|entries| entries.flatten().map(|entry| entry.path()).collect())
                    .unwrap_or_default();
                let [ledger] = ledgers.as_slice() else {
                    continue; // not written yet
                };
                let ledger = std::fs::File::open(ledger).unwrap();
                ledger.lock().unwrap();
                let (content, _) = files_under(&folder.join("content-v2"));
                let (index, _) = files_under(&folder.join("index-v1"));
                ledger.unlock().unwrap();
                largest_sample.fetch_max(content + index, Ordering::Relaxed);
            }
        })
    };
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
    running.store(false, Ordering::Relaxed);
    sampler.join().unwrap();
    let largest_sample = largest_sample.load(Ordering::Relaxed);
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
    let at_rest = content + index;
    // While running, sampled under the lock: the budget, and one content file per
    // process written but not yet published.
    let running_bound = MAXSIZE + u64::from(processes) * (LARGEST + ENTRY_OVERHEAD);
    println!(
        "the folder ends at {:.1} % of its budget (bound: 100 %); the largest sample while \
         running was {:.1} % (bound: {:.1} %)",
        100.0 * at_rest as f64 / MAXSIZE as f64,
        100.0 * largest_sample as f64 / MAXSIZE as f64,
        100.0 * running_bound as f64 / MAXSIZE as f64
    );
    assert!(
        at_rest <= MAXSIZE,
        "the folder holds {content} content + {index} index bytes, over its budget of \
         {MAXSIZE}"
    );
    assert!(
        largest_sample <= running_bound,
        "a sample of the running folder held {largest_sample} bytes, over the bound of \
         {running_bound} (budget {MAXSIZE})"
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
