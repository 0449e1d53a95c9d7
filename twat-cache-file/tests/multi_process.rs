//! Four processes reading, writing, deleting and evicting overlapping keys in one folder
//! at once: every value any of them reads is exactly the one for its key.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

mod common;

use std::process::Command;

use common::{named, open};

const DIR_ENV: &str = "TWAT_FILE_TEST_WORKER_DIR";
const ID_ENV: &str = "TWAT_FILE_TEST_WORKER_ID";
const KEYS: u32 = 24;

/// The one correct value for `key`: sizes from 1 kB to ~25 kB, content derived from the key.
fn expected(key: u32) -> Vec<u8> {
    common::bytes(1_000 + 1_000 * key as usize, u64::from(key) + 1)
}

/// Runs only inside the child processes the test below starts.
#[test]
fn worker_process() {
    let (Ok(dir), Ok(id)) = (std::env::var(DIR_ENV), std::env::var(ID_ENV)) else {
        return;
    };
    let id: u32 = id.parse().unwrap();
    // Two workers compress, two do not: each reads the others' entries by their flags.
    // The bound is small enough that all four keep evicting each other's entries.
    let cache = open(
        std::path::Path::new(&dir),
        named("shared")
            .compress(id.is_multiple_of(2))
            .maxsize(150_000),
    );
    let mut hits = 0;
    for round in 0..300_u32 {
        let key = (round * 7 + id * 5) % KEYS;
        match cache.get_raw(&key).unwrap() {
            Some(value) => {
                assert_eq!(
                    value,
                    expected(key),
                    "worker {id} read a wrong value for {key}"
                );
                hits += 1;
            }
            None => cache.set_raw(&key, &expected(key)).unwrap(),
        }
        if round % 37 == id {
            cache.remove(&key).unwrap();
        }
    }
    assert!(hits > 0, "worker {id} never hit");
}

#[test]
fn four_processes_share_one_folder_and_every_result_is_correct() {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..4)
        .map(|id| {
            Command::new(&exe)
                .args(["--exact", "worker_process", "--test-threads", "1"])
                .env(DIR_ENV, dir.path())
                .env(ID_ENV, id.to_string())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut child in children {
        let status = child.wait().unwrap();
        assert!(status.success(), "a worker failed: {status}");
    }
    // Whatever survived the four processes' evictions is intact.
    let cache = open(dir.path(), named("shared"));
    let mut present = 0;
    for key in 0..KEYS {
        if let Some(value) = cache.get_raw(&key).unwrap() {
            assert_eq!(value, expected(key));
            present += 1;
        }
    }
    assert!(present > 0);
    assert_eq!(cache.stats().errors, 0);
    let report = cache.sweep().unwrap();
    assert_eq!(report.garbled, 0);
    assert_eq!(
        common::index_files(dir.path()).len(),
        usize::try_from(report.entries).unwrap()
    );
}
