//! `#[bcache]`, `#[fcache]` and `CacheContext` over the persistent engines: results
//! survive a restart, a changed return type is a miss, a locked folder still answers,
//! and dropping a context releases its folder.
#![cfg(all(feature = "macros", feature = "disk", feature = "file"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    reason = "tests fail loudly and child processes report on stdout"
)]

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::{has_files, is_child, reported, run_child};
use serde::{Deserialize, Serialize};
use twat_cache::{CacheConfig, CacheContext, EngineKind, bcache, clear_cache, fcache, get_stats};

static CALLS: AtomicUsize = AtomicUsize::new(0);

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Row {
    id: u32,
    label: String,
}

#[bcache(folder = "user_data_cache", ttl = 3600, name = "persist::report")]
fn get_report_data(report_id: &str) -> Vec<Row> {
    CALLS.fetch_add(1, Ordering::SeqCst);
    (0..3)
        .map(|id| Row {
            id,
            label: format!("{report_id}-{id}"),
        })
        .collect()
}

#[fcache(
    folder = "array_processing_cache",
    compress = true,
    name = "persist::array"
)]
fn process_large_array(size: usize) -> Vec<f64> {
    CALLS.fetch_add(1, Ordering::SeqCst);
    (0..size).map(|i| (i as f64).sqrt()).collect()
}

/// Version 1 of a function: returns a pair.
#[bcache(folder = "shared_folder", name = "persist::changed")]
fn changed_v1(x: u32) -> (u32, u32) {
    CALLS.fetch_add(1, Ordering::SeqCst);
    (x, x)
}

/// Version 2 of the same cache (same name, same folder): now returns a string.
#[bcache(folder = "shared_folder", name = "persist::changed")]
fn changed_v2(x: u32) -> String {
    CALLS.fetch_add(1, Ordering::SeqCst);
    format!("v2:{x}")
}

fn report_child() {
    match std::env::var("PERSIST_STEP").as_deref() {
        Ok("report") => {
            let rows = get_report_data("q3");
            println!("VALUE={}", rows.len());
            println!("LABEL={}", rows[2].label);
        }
        Ok("array") => {
            let values = process_large_array(100_000);
            println!("VALUE={:.3}", values[99_999]);
        }
        Ok("v1") => println!("VALUE={:?}", changed_v1(7)),
        Ok("v2") => println!("VALUE={}", changed_v2(7)),
        other => panic!("unknown step {other:?}"),
    }
    println!("CALLS={}", CALLS.load(Ordering::SeqCst));
}

fn step(test: &str, root: &std::path::Path, step: &str) -> String {
    run_child(test, root, &[("PERSIST_STEP", step)])
}

#[test]
fn bcache_survives_a_restart() {
    if is_child() {
        return report_child();
    }
    let root = tempfile::tempdir().unwrap();
    let first = step("bcache_survives_a_restart", root.path(), "report");
    assert_eq!(reported(&first, "CALLS"), "1");
    let second = step("bcache_survives_a_restart", root.path(), "report");
    assert_eq!(
        reported(&second, "CALLS"),
        "0",
        "the second process recomputed"
    );
    assert_eq!(reported(&second, "LABEL"), "q3-2");
    assert!(has_files(&root.path().join("user_data_cache")));
}

#[test]
fn fcache_survives_a_restart_compressed() {
    if is_child() {
        return report_child();
    }
    let root = tempfile::tempdir().unwrap();
    let first = step("fcache_survives_a_restart_compressed", root.path(), "array");
    assert_eq!(reported(&first, "CALLS"), "1");
    let second = step("fcache_survives_a_restart_compressed", root.path(), "array");
    assert_eq!(reported(&second, "CALLS"), "0");
    assert_eq!(reported(&second, "VALUE"), reported(&first, "VALUE"));
    assert!(
        root.path()
            .join("array_processing_cache")
            .join("content-v2")
            .is_dir()
    );
}

#[test]
fn a_changed_return_type_is_a_miss_not_a_wrong_value() {
    if is_child() {
        return report_child();
    }
    let root = tempfile::tempdir().unwrap();
    let test = "a_changed_return_type_is_a_miss_not_a_wrong_value";
    assert_eq!(reported(&step(test, root.path(), "v1"), "VALUE"), "(7, 7)");
    let v2 = step(test, root.path(), "v2");
    assert_eq!(reported(&v2, "VALUE"), "v2:7");
    assert_eq!(reported(&v2, "CALLS"), "1");
    // And back: each version finds its own entries.
    assert_eq!(reported(&step(test, root.path(), "v1"), "CALLS"), "0");
    assert_eq!(reported(&step(test, root.path(), "v2"), "CALLS"), "0");
}

#[test]
fn a_second_process_on_a_locked_folder_still_answers() {
    if is_child() {
        if std::env::var_os("PERSIST_HOLD").is_some() {
            // Hold the folder (fjall's lock) until the parent says stop.
            let rows = get_report_data("held");
            println!("READY={}", rows.len());
            let stop = std::path::PathBuf::from(std::env::var("PERSIST_HOLD").unwrap());
            while !stop.exists() {
                std::thread::sleep(Duration::from_millis(10));
            }
            return;
        }
        let rows = get_report_data("other");
        println!("VALUE={}", rows[1].label);
        println!("CALLS={}", CALLS.load(Ordering::SeqCst));
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let stop = root.path().join("stop");
    let test = "a_second_process_on_a_locked_folder_still_answers";
    let mut holder = std::process::Command::new(std::env::current_exe().unwrap())
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(common::CHILD_ENV, "1")
        .env("TWAT_CACHE_DIR", root.path())
        .env("PERSIST_HOLD", &stop)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the holder has opened the folder.
    let mut stdout = holder.stdout.take().unwrap();
    let mut seen = String::new();
    while !seen.contains("READY=") {
        let mut buf = [0_u8; 256];
        let n = std::io::Read::read(&mut stdout, &mut buf).unwrap();
        assert!(n > 0, "holder exited early: {seen}");
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    let out = run_child(test, root.path(), &[]);
    assert_eq!(reported(&out, "VALUE"), "other-1");
    assert_eq!(reported(&out, "CALLS"), "1");
    std::fs::write(&stop, b"").unwrap();
    assert!(holder.wait().unwrap().success());
}

#[test]
fn clear_cache_empties_a_disk_cache() {
    if is_child() {
        get_report_data("c");
        clear_cache(Some("persist::report")).unwrap();
        assert_eq!(get_stats(Some("persist::report")).unwrap().size, 0);
        get_report_data("c");
        println!("CALLS={}", CALLS.load(Ordering::SeqCst));
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let out = run_child("clear_cache_empties_a_disk_cache", root.path(), &[]);
    assert_eq!(reported(&out, "CALLS"), "2");
}

#[test]
fn a_dropped_context_releases_its_folder() {
    if is_child() {
        let config = || {
            CacheConfig::builder()
                .name("persist::session")
                .engine(EngineKind::Disk)
                .folder("session_cache")
                .ttl(Duration::from_secs(600))
                .build()
                .unwrap()
        };
        let first = CacheContext::new(config()).unwrap();
        first.set("session_data_user123", &vec![1_u8, 2]).unwrap();
        drop(first);
        let second = CacheContext::new(config()).unwrap();
        let hit: Option<Vec<u8>> = second.get("session_data_user123").unwrap();
        println!("VALUE={hit:?}");
        // Files too.
        let files = CacheContext::new(
            CacheConfig::builder()
                .engine(EngineKind::File)
                .folder("blob_cache")
                .build()
                .unwrap(),
        )
        .unwrap();
        files.set(&7_u64, &vec![0.5_f64; 1000]).unwrap();
        let back: Option<Vec<f64>> = files.get(&7_u64).unwrap();
        println!("FILES={}", back.map_or(0, |v| v.len()));
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let out = run_child("a_dropped_context_releases_its_folder", root.path(), &[]);
    assert_eq!(reported(&out, "VALUE"), "Some([1, 2])");
    assert_eq!(reported(&out, "FILES"), "1000");
}

#[cfg(feature = "async")]
static ASYNC_CALLS: AtomicUsize = AtomicUsize::new(0);

#[cfg(feature = "async")]
#[twat_cache::acache(folder = "async_disk", name = "persist::async_disk")]
async fn fetch_persisted(url: &str) -> String {
    ASYNC_CALLS.fetch_add(1, Ordering::SeqCst);
    format!("body of {url}")
}

#[cfg(feature = "async")]
#[twat_cache::acache(folder = "async_files", engine = "file", name = "persist::async_files")]
async fn fetch_persisted_file(url: &str) -> std::io::Result<Vec<u8>> {
    ASYNC_CALLS.fetch_add(1, Ordering::SeqCst);
    Ok(url.as_bytes().to_vec())
}

#[cfg(feature = "async")]
#[test]
fn acache_with_a_folder_persists() {
    if is_child() {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap();
        runtime.block_on(async {
            assert_eq!(fetch_persisted("u").await, "body of u");
            assert_eq!(fetch_persisted("u").await, "body of u");
            assert_eq!(fetch_persisted_file("v").await.unwrap(), b"v");
        });
        println!("CALLS={}", ASYNC_CALLS.load(Ordering::SeqCst));
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let first = run_child("acache_with_a_folder_persists", root.path(), &[]);
    assert_eq!(reported(&first, "CALLS"), "2");
    let second = run_child("acache_with_a_folder_persists", root.path(), &[]);
    assert_eq!(reported(&second, "CALLS"), "0");
    assert!(root.path().join("async_files").join("content-v2").is_dir());
    assert!(has_files(&root.path().join("async_disk")));
}

static BLOB_CALLS: AtomicUsize = AtomicUsize::new(0);

#[fcache(folder = "blobs", name = "persist::blob_file")]
fn blob_file(len: usize) -> Vec<u8> {
    BLOB_CALLS.fetch_add(1, Ordering::SeqCst);
    (0..len).map(|i| u8::try_from(i % 251).unwrap()).collect()
}

#[bcache(folder = "blobs_disk", name = "persist::blob_disk")]
fn blob_disk(len: usize) -> Vec<u8> {
    BLOB_CALLS.fetch_add(1, Ordering::SeqCst);
    (0..len).map(|i| u8::try_from(i % 7).unwrap()).collect()
}

#[test]
fn byte_buffers_round_trip_through_the_raw_path() {
    if is_child() {
        let file = blob_file(300_000);
        let disk = blob_disk(1000);
        assert_eq!(file.len(), 300_000);
        assert!(
            file.iter()
                .enumerate()
                .all(|(i, &b)| usize::from(b) == i % 251)
        );
        assert!(
            disk.iter()
                .enumerate()
                .all(|(i, &b)| usize::from(b) == i % 7)
        );
        println!("CALLS={}", BLOB_CALLS.load(Ordering::SeqCst));
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let test = "byte_buffers_round_trip_through_the_raw_path";
    assert_eq!(reported(&run_child(test, root.path(), &[]), "CALLS"), "2");
    assert_eq!(reported(&run_child(test, root.path(), &[]), "CALLS"), "0");
}

static FLIGHT_CALLS: AtomicUsize = AtomicUsize::new(0);

#[bcache(folder = "flights", name = "persist::flight")]
fn slow_persisted(x: u64) -> u64 {
    FLIGHT_CALLS.fetch_add(1, Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(50));
    x * 2
}

#[test]
fn concurrent_misses_of_a_persistent_cache_run_the_body_once() {
    if is_child() {
        let barrier = std::sync::Barrier::new(8);
        std::thread::scope(|scope| {
            let calls: Vec<_> = (0..8)
                .map(|_| {
                    scope.spawn(|| {
                        barrier.wait();
                        slow_persisted(21)
                    })
                })
                .collect();
            for call in calls {
                assert_eq!(call.join().unwrap(), 42);
            }
        });
        println!("CALLS={}", FLIGHT_CALLS.load(Ordering::SeqCst));
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let out = run_child(
        "concurrent_misses_of_a_persistent_cache_run_the_body_once",
        root.path(),
        &[],
    );
    assert_eq!(reported(&out, "CALLS"), "1");
}
