//! `#[ucache]` picks the engine; every row of the selection table in the crate docs is
//! tested here. Built with every feature (`cargo test --all-features`) the persistent
//! rows persist; built without them (`.ci/run` also runs
//! `cargo test -p twat-cache --no-default-features --features memory,macros --test ucache`)
//! the same rows fall back to memory, still return the right results, and count the
//! fallback in `Stats::errors`.
#![cfg(feature = "macros")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    reason = "tests fail loudly and child processes report on stdout"
)]

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};

use common::{has_files, is_child, reported, run_child};
use twat_cache::{get_stats, ucache};

static CALLS: AtomicUsize = AtomicUsize::new(0);

#[ucache(name = "ucache::plain")]
fn plain(x: u64) -> u64 {
    CALLS.fetch_add(1, Ordering::SeqCst);
    x + 1
}

#[ucache(folder = "u_disk", name = "ucache::disk")]
fn on_disk(x: u64) -> Vec<u64> {
    CALLS.fetch_add(1, Ordering::SeqCst);
    vec![x; 3]
}

#[ucache(folder = "u_file", compress = true, name = "ucache::file")]
fn in_files(x: u64) -> String {
    CALLS.fetch_add(1, Ordering::SeqCst);
    "large ".repeat(usize::try_from(x).unwrap())
}

#[ucache(folder = "u_file_named", engine = "file", name = "ucache::file_named")]
fn in_files_by_name(x: u64) -> u64 {
    CALLS.fetch_add(1, Ordering::SeqCst);
    x * 10
}

/// Runs in a child: calls `which` twice and reports the body's calls, the value and the
/// cache's errors.
fn child_calls(which: &str) {
    let (value, name) = match which {
        "plain" => (format!("{}", plain(1) + plain(1)), "ucache::plain"),
        "disk" => (format!("{:?}", on_disk(2)), "ucache::disk"),
        "file" => (in_files(3), "ucache::file"),
        "file_named" => (format!("{}", in_files_by_name(4)), "ucache::file_named"),
        other => panic!("unknown row {other}"),
    };
    println!("VALUE={value}");
    println!("CALLS={}", CALLS.load(Ordering::SeqCst));
    println!("ERRORS={}", get_stats(Some(name)).unwrap().errors);
}

fn row(test: &str, which: &str) -> (tempfile::TempDir, Vec<String>) {
    let root = tempfile::tempdir().unwrap();
    let runs = (0..2)
        .map(|_| run_child(test, root.path(), &[("UCACHE_ROW", which)]))
        .collect();
    (root, runs)
}

#[test]
fn no_folder_means_memory() {
    if is_child() {
        plain(1);
        return child_calls("plain");
    }
    let (root, runs) = row("no_folder_means_memory", "plain");
    for run in &runs {
        assert_eq!(reported(run, "VALUE"), "4");
        // Three calls of plain(1) in the child, one computation.
        assert_eq!(reported(run, "CALLS"), "1");
        assert_eq!(reported(run, "ERRORS"), "0");
    }
    assert!(!has_files(root.path()), "a memory cache wrote files");
}

#[test]
fn folder_means_disk() {
    if is_child() {
        return child_calls(&std::env::var("UCACHE_ROW").unwrap());
    }
    let (root, runs) = row("folder_means_disk", "disk");
    assert_eq!(reported(&runs[0], "VALUE"), "[2, 2, 2]");
    assert_eq!(reported(&runs[0], "CALLS"), "1");
    assert_eq!(reported(&runs[1], "VALUE"), "[2, 2, 2]");
    let folder = root.path().join("u_disk");
    if cfg!(feature = "disk") {
        // The second process found the first one's entry on disk.
        assert_eq!(reported(&runs[1], "CALLS"), "0");
        assert!(has_files(&folder));
        assert!(
            !folder.join("content-v2").exists(),
            "the file engine was chosen"
        );
        assert_eq!(reported(&runs[1], "ERRORS"), "0");
    } else {
        assert_eq!(reported(&runs[1], "CALLS"), "1");
        assert!(!has_files(root.path()));
        assert_eq!(reported(&runs[1], "ERRORS"), "1", "the fallback is counted");
    }
}

#[test]
fn folder_with_compress_means_files() {
    if is_child() {
        return child_calls(&std::env::var("UCACHE_ROW").unwrap());
    }
    let (root, runs) = row("folder_with_compress_means_files", "file");
    assert_eq!(reported(&runs[1], "VALUE"), "large large large ");
    if cfg!(feature = "file") {
        assert_eq!(reported(&runs[1], "CALLS"), "0");
        assert!(root.path().join("u_file").join("content-v2").is_dir());
    } else {
        assert_eq!(reported(&runs[1], "CALLS"), "1");
        assert_eq!(reported(&runs[1], "ERRORS"), "1");
    }
}

#[test]
fn engine_file_means_files() {
    if is_child() {
        return child_calls(&std::env::var("UCACHE_ROW").unwrap());
    }
    let (root, runs) = row("engine_file_means_files", "file_named");
    assert_eq!(reported(&runs[1], "VALUE"), "40");
    if cfg!(feature = "file") {
        assert_eq!(reported(&runs[1], "CALLS"), "0");
        assert!(root.path().join("u_file_named").join("content-v2").is_dir());
    } else {
        assert_eq!(reported(&runs[1], "CALLS"), "1");
    }
}

#[test]
fn an_engine_that_cannot_open_falls_back_to_memory() {
    if is_child() {
        let first = on_disk(5);
        let second = on_disk(5);
        assert_eq!(first, second);
        println!("CALLS={}", CALLS.load(Ordering::SeqCst));
        println!("ERRORS={}", get_stats(Some("ucache::disk")).unwrap().errors);
        return;
    }
    // A cache root below a regular file cannot be created, even by root.
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("not_a_dir");
    std::fs::write(&blocker, b"x").unwrap();
    let out = run_child(
        "an_engine_that_cannot_open_falls_back_to_memory",
        &blocker.join("root"),
        &[],
    );
    // Still cached (in memory): one computation for two calls, and one counted error.
    assert_eq!(reported(&out, "CALLS"), "1");
    assert_eq!(reported(&out, "ERRORS"), "1");
}

static ASYNC_CALLS: AtomicUsize = AtomicUsize::new(0);

#[ucache]
async fn async_row(x: u64) -> u64 {
    ASYNC_CALLS.fetch_add(1, Ordering::SeqCst);
    x * 3
}

#[test]
fn async_fn_is_cached_with_or_without_the_async_engine() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(async {
        assert_eq!(async_row(2).await, 6);
        assert_eq!(async_row(2).await, 6);
    });
    assert_eq!(ASYNC_CALLS.load(Ordering::SeqCst), 1);
}

static BOUNDED_RUNS: AtomicUsize = AtomicUsize::new(0);
static BOUNDED_LRU_RUNS: AtomicUsize = AtomicUsize::new(0);

#[ucache(maxsize = 10, name = "ucache::bounded")]
fn bounded(x: u64) -> u64 {
    BOUNDED_RUNS.fetch_add(1, Ordering::SeqCst);
    x
}

#[twat_cache::mcache(maxsize = 10, name = "ucache::bounded_lru")]
fn bounded_lru(x: u64) -> u64 {
    BOUNDED_LRU_RUNS.fetch_add(1, Ordering::SeqCst);
    x
}

#[test]
fn a_bounded_ucache_picks_tinylfu_and_mcache_stays_lru() {
    // Five laps over 12 keys through caches of 10: exact LRU (`#[mcache]`'s default)
    // never hits; W-TinyLFU (`#[ucache]`'s pick) keeps most of its main region.
    for _ in 0..5 {
        for x in 0..12 {
            assert_eq!(bounded(x), x);
            assert_eq!(bounded_lru(x), x);
        }
    }
    let lru = get_stats(Some("ucache::bounded_lru")).unwrap();
    assert_eq!(lru.hits, 0, "{lru:?}");
    assert_eq!(BOUNDED_LRU_RUNS.load(Ordering::SeqCst), 60);
    let tiny = get_stats(Some("ucache::bounded")).unwrap();
    assert!(tiny.hits >= 24, "{tiny:?}");
    assert_eq!(BOUNDED_RUNS.load(Ordering::SeqCst) as u64, tiny.misses);
}
