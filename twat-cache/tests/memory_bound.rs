//! A bounded `#[mcache]` stays bounded: one million distinct keys through
//! `#[mcache(maxsize = 10_000)]` with 1 KiB values, and the process's resident memory
//! (read from `/proc/self/statm`) grows by no more than [`BOUND`] — the 10 000 entries'
//! values (≈ 10 MiB) twice over, for the allocator's slack and the table, plus 8 MiB.
//!
//! This file holds one test (plus its soak variant behind `--ignored`), so no other
//! test of the same binary allocates while it measures.
#![cfg(all(target_os = "linux", feature = "macros"))]
#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    reason = "tests fail loudly and print their figures"
)]

use twat_cache::{get_stats, mcache};

const MAXSIZE: u64 = 10_000;
const VALUE_BYTES: usize = 1_024;
/// Allowed growth of resident memory: twice the live values, plus 8 MiB.
const BOUND: u64 = 2 * MAXSIZE * VALUE_BYTES as u64 + 8 * 1024 * 1024;

#[mcache(maxsize = 10_000, name = "memory_bound::value")]
fn value(key: u64) -> Vec<u8> {
    vec![(key % 251) as u8; VALUE_BYTES]
}

/// Resident memory of this process in bytes (`/proc/self/statm`, second field, pages).
fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4_096
}

fn run(keys: u64) {
    let before = resident_bytes();
    // The first full cache: the table reaches its size.
    for key in 0..MAXSIZE {
        assert_eq!(value(key)[0], (key % 251) as u8);
    }
    let full = resident_bytes();
    let mut peak = full;
    for key in MAXSIZE..keys {
        assert_eq!(value(key)[0], (key % 251) as u8);
        if key % 10_000 == 0 {
            peak = peak.max(resident_bytes());
        }
    }
    peak = peak.max(resident_bytes());
    let stats = get_stats(Some("memory_bound::value")).unwrap();
    assert!(stats.size <= MAXSIZE, "{} entries kept", stats.size);
    let growth = peak.saturating_sub(before);
    println!(
        "{keys} distinct keys, 1 KiB values, maxsize {MAXSIZE}: resident memory {} MiB \
         before, {} MiB with the cache full, peak {} MiB afterwards (growth {} KiB, bound \
         {} KiB), {} entries kept",
        before / (1 << 20),
        full / (1 << 20),
        peak / (1 << 20),
        growth / 1024,
        BOUND / 1024,
        stats.size
    );
    assert!(
        growth <= BOUND,
        "resident memory grew by {growth} bytes, over the bound of {BOUND}"
    );
}

#[test]
fn a_million_keys_through_a_bounded_mcache_stay_within_the_bound() {
    run(1_000_000);
}

#[test]
#[ignore = "soak: ten million keys (cargo xtask soak)"]
fn soak_ten_million_keys_through_a_bounded_mcache() {
    run(10_000_000);
}
