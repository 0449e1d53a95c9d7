//! `kill -9` at random moments of a process that writes under a small `maxsize` while
//! another of its threads sweeps (evicting, removing orphans and temporaries): 20 rounds.
//! After each kill the folder is read back: every value served is exactly its key's, the
//! shared usage count (`usage-v1/`) is never below what the folder holds, a sweep of what
//! the killed process left behind succeeds and makes the count exact, and the entries
//! are then within the budget.
#![cfg(unix)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    reason = "tests fail loudly and print their figures"
)]

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{named, open};

const DIR_ENV: &str = "TWAT_FILE_TEST_SWEEP_DIR";
const KEYS: u32 = 64;
const MAXSIZE: u64 = 300_000;
const STARTED: &str = "started";

/// The one correct value for `key`: 1–16 KiB, content derived from the key.
fn expected(key: u32) -> Vec<u8> {
    common::bytes(1_024 * (1 + key as usize % 16), u64::from(key) + 7)
}

/// Runs only inside the child processes the test below starts: writes and sweeps until
/// killed.
#[test]
fn sweeping_writer() {
    let Ok(dir) = std::env::var(DIR_ENV) else {
        return;
    };
    let dir = Path::new(&dir);
    let cache = std::sync::Arc::new(open(dir, named("swept").maxsize(MAXSIZE)));
    let sweeper = {
        let cache = std::sync::Arc::clone(&cache);
        std::thread::spawn(move || {
            loop {
                cache.sweep().unwrap();
            }
        })
    };
    for round in 0.. {
        let key = (round * 7) % KEYS;
        cache.set_raw(&key, &expected(key)).unwrap();
        if round == 16 {
            std::fs::write(dir.join(STARTED), b"").unwrap();
        }
        if round % 5 == 0 {
            cache.remove(&((round * 3) % KEYS)).unwrap();
        }
    }
    sweeper.join().unwrap();
}

#[test]
fn kill_9_during_sweeps_never_serves_a_wrong_value() {
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos()
        | 1;
    let mut state = u64::from(seed);
    let mut next_delay = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        Duration::from_millis(state % 250)
    };
    let dir = tempfile::tempdir().unwrap();
    let (mut served, mut checked, mut errors, mut overstated) = (0_u64, 0_u64, 0_u64, 0_u64);
    for round in 0..20 {
        let _ = std::fs::remove_file(dir.path().join(STARTED));
        let mut writer = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "sweeping_writer", "--test-threads", "1"])
            .env(DIR_ENV, dir.path())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        while !dir.path().join(STARTED).exists() {
            assert!(Instant::now() < deadline, "the writer never started");
            assert!(writer.try_wait().unwrap().is_none(), "the writer exited");
            std::thread::sleep(Duration::from_millis(2));
        }
        std::thread::sleep(next_delay());
        writer.kill().unwrap(); // SIGKILL
        writer.wait().unwrap();

        let cache = open(dir.path(), named("swept").maxsize(MAXSIZE));
        // A kill between a file change and its count leaves the count high, never low.
        let left = common::index_files(dir.path()).len() as u64;
        let counted = cache.stats().size;
        assert!(
            counted >= left,
            "round {round} (seed {seed}): the count says {counted} entries, the folder \
             holds {left}"
        );
        overstated += counted - left;
        for key in 0..KEYS {
            checked += 1;
            if let Some(value) = cache.get_raw(&key).unwrap() {
                assert!(
                    value == expected(key),
                    "round {round} (seed {seed}): a wrong value for key {key}"
                );
                served += 1;
            }
        }
        let report = cache.sweep().unwrap();
        assert_eq!(
            cache.stats().size,
            report.entries,
            "the sweep recounts exactly"
        );
        assert_eq!(report.entries, common::index_files(dir.path()).len() as u64);
        // Young orphans (content a killed writer never published) are not counted: they
        // wait out their grace period; the entries are.
        assert!(
            report.bytes <= MAXSIZE,
            "round {round}: {} bytes of entries over the budget",
            report.bytes
        );
        errors += cache.stats().errors;
    }
    println!(
        "file engine sweep: 20 kills (seed {seed}), {checked} reads checked, 0 wrong, \
         {served} served ({:.1} % of the keys; the rest were evicted, deleted or not \
         written yet), {errors} damaged entries detected and removed; the usage count \
         overstated by {overstated} entries in all after the kills, exact after each sweep",
        100.0 * served as f64 / checked as f64
    );
}
