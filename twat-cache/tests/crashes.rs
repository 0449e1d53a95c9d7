//! `kill -9` at random moments of a process writing through `#[bcache]` or `#[fcache]`:
//! 20 rounds each. After every kill a fresh process reads every key the writer reached
//! and checks each answer against the function: no wrong value ever, and every entry
//! whose call had returned before the kill is served from the cache (the share is
//! printed). The file engine's sweep under a kill is tested in
//! `twat-cache-file/tests/crash_sweep.rs`.
#![cfg(all(unix, feature = "macros", feature = "disk", feature = "file"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    reason = "tests fail loudly and child processes report on stdout"
)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{is_child, reported};
use twat_cache::{bcache, fcache};

const ROLE_ENV: &str = "TWAT_CACHE_CRASH_ROLE";
const ENGINE_ENV: &str = "TWAT_CACHE_CRASH_ENGINE";
const START_ENV: &str = "TWAT_CACHE_CRASH_START";
const PROGRESS_ENV: &str = "TWAT_CACHE_CRASH_PROGRESS";
const ROUNDS: u64 = 20;
/// Keys past the last published count that the reader also tries (written after the
/// last report, or never).
const BEYOND: u64 = 64;

static BODY_RUNS: AtomicU64 = AtomicU64::new(0);

/// The deterministic function: lengths vary so that a torn write would show.
fn expected(n: u64) -> Vec<u64> {
    let len = n % 300 + 1;
    (0..len).map(|i| n.rotate_left(17) ^ i).collect()
}

#[bcache(folder = "crash_cache", name = "crashes::bcache")]
fn disk_value(n: u64) -> Vec<u64> {
    BODY_RUNS.fetch_add(1, Ordering::SeqCst);
    expected(n)
}

#[fcache(folder = "crash_files", name = "crashes::fcache")]
fn file_value(n: u64) -> Vec<u64> {
    BODY_RUNS.fetch_add(1, Ordering::SeqCst);
    expected(n)
}

fn call(engine: &str, n: u64) -> Vec<u64> {
    match engine {
        "bcache" => disk_value(n),
        "fcache" => file_value(n),
        other => panic!("unknown engine {other}"),
    }
}

fn env_u64(name: &str) -> u64 {
    std::env::var(name).unwrap().parse().unwrap()
}

/// Writes `count` to `path` atomically (write, then rename).
fn publish(path: &Path, count: u64) {
    let temporary = path.with_extension("tmp");
    std::fs::write(&temporary, count.to_string()).unwrap();
    std::fs::rename(&temporary, path).unwrap();
}

fn read_progress(path: &Path) -> u64 {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(0)
}

/// The writer: new keys from `START` on, until killed, publishing how many calls
/// have returned.
fn write_until_killed(engine: &str) {
    let start = env_u64(START_ENV);
    let progress = PathBuf::from(std::env::var_os(PROGRESS_ENV).unwrap());
    for i in 0.. {
        let n = start + i;
        assert_eq!(call(engine, n), expected(n));
        if i % 8 == 7 {
            publish(&progress, i + 1);
        }
    }
}

/// The reader: every key the writer may have reached, each checked.
fn read_back(engine: &str) {
    let start = env_u64(START_ENV);
    let acknowledged = read_progress(Path::new(&std::env::var_os(PROGRESS_ENV).unwrap()));
    let (mut wrong, mut served_acknowledged, mut served_beyond) = (0, 0, 0);
    for i in 0..acknowledged + BEYOND {
        let n = start + i;
        let runs = BODY_RUNS.load(Ordering::SeqCst);
        if call(engine, n) != expected(n) {
            wrong += 1;
        }
        let served = BODY_RUNS.load(Ordering::SeqCst) == runs;
        match (served, i < acknowledged) {
            (true, true) => served_acknowledged += 1,
            (true, false) => served_beyond += 1,
            (false, _) => {}
        }
    }
    println!("ACKNOWLEDGED={acknowledged}");
    println!("SERVED={served_acknowledged}");
    println!("SERVED_BEYOND={served_beyond}");
    println!("WRONG={wrong}");
}

/// Both child roles, chosen by the parent.
#[test]
fn crash_child() {
    if !is_child() {
        return;
    }
    let (Ok(role), Ok(engine)) = (std::env::var(ROLE_ENV), std::env::var(ENGINE_ENV)) else {
        return;
    };
    match role.as_str() {
        "writer" => write_until_killed(&engine),
        "reader" => read_back(&engine),
        other => panic!("unknown role {other}"),
    }
}

/// A small seeded generator for the kill moments (xorshift64*).
struct Moments(u64);

impl Moments {
    fn next_millis(&mut self, range: std::ops::Range<u64>) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        range.start + self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % (range.end - range.start)
    }
}

fn child(root: &Path, role: &str, engine: &str, start: u64, progress: &Path) -> Command {
    let mut command = common::child_command("crash_child", root, &[]);
    command
        .env(ROLE_ENV, role)
        .env(ENGINE_ENV, engine)
        .env(START_ENV, start.to_string())
        .env(PROGRESS_ENV, progress);
    command
}

/// 20 rounds of: start a writer, kill it at a random moment, read everything back.
fn crash_rounds(engine: &str) {
    if is_child() {
        return;
    }
    let seed = u64::from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .subsec_nanos(),
    ) | 1;
    let mut moments = Moments(seed);
    let root = tempfile::tempdir().unwrap();
    let (mut acknowledged, mut served, mut beyond, mut checked) = (0, 0, 0, 0);
    for round in 0..ROUNDS {
        let start = round * 1_000_000;
        let progress = root.path().join(format!("progress-{round}"));
        let mut writer = child(root.path(), "writer", engine, start, &progress)
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        // Kill once the writer is writing, at a random moment 0–250 ms later.
        let deadline = Instant::now() + Duration::from_secs(60);
        while read_progress(&progress) == 0 {
            assert!(Instant::now() < deadline, "the writer never started");
            assert!(writer.try_wait().unwrap().is_none(), "the writer exited");
            std::thread::sleep(Duration::from_millis(2));
        }
        std::thread::sleep(Duration::from_millis(moments.next_millis(0..250)));
        writer.kill().unwrap(); // SIGKILL
        writer.wait().unwrap();

        let output = child(root.path(), "reader", engine, start, &progress)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "{engine} round {round} (seed {seed}): the reader failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let figure = |name: &str| -> u64 { reported(&stdout, name).trim().parse().unwrap() };
        assert_eq!(
            figure("WRONG"),
            0,
            "{engine} round {round} (seed {seed}): wrong values served"
        );
        acknowledged += figure("ACKNOWLEDGED");
        served += figure("SERVED");
        beyond += figure("SERVED_BEYOND");
        checked += figure("ACKNOWLEDGED") + BEYOND;
    }
    let share = 100.0 * served as f64 / acknowledged.max(1) as f64;
    println!(
        "{engine}: {ROUNDS} kills (seed {seed}), {checked} keys checked, 0 wrong, \
         {served} of {acknowledged} acknowledged entries served ({share:.1} %), \
         {beyond} more written after the last report"
    );
    // The writer's calls had returned: their entries reached the OS, which a killed
    // process does not take back.
    assert_eq!(
        served, acknowledged,
        "{engine}: entries acknowledged before the kill were lost"
    );
}

#[test]
fn bcache_survives_kill_9_at_random_moments() {
    crash_rounds("bcache");
}

#[test]
fn fcache_survives_kill_9_at_random_moments() {
    crash_rounds("fcache");
}
