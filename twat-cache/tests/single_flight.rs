//! Each miss computed once: by several processes sharing one `#[fcache]` folder (the
//! per-key lease), by a process whose leader was killed mid-computation, and by 200
//! tasks awaiting one `#[acache(folder = …)]` key.
#![cfg(feature = "file")]
#![allow(
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    reason = "tests fail loudly; children print what they report"
)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{CHILD_ENV, is_child, reported};

/// Where the body leaves one file per run (`run-<pid>`), shared by every process.
const RUNS_ENV: &str = "SINGLE_FLIGHT_RUNS";
/// How long the body sleeps, in milliseconds.
const BODY_MS_ENV: &str = "SINGLE_FLIGHT_BODY_MS";

#[twat_cache::fcache(folder = "single_flight", name = "single_flight::slow_square")]
fn slow_square(x: u64) -> u64 {
    let runs = PathBuf::from(std::env::var_os(RUNS_ENV).expect("the parent sets the runs folder"));
    std::fs::write(runs.join(format!("run-{}", std::process::id())), b"").expect("mark the run");
    let millis = std::env::var(BODY_MS_ENV).map_or(0, |ms| ms.parse().expect("milliseconds"));
    std::thread::sleep(Duration::from_millis(millis));
    x * x
}

/// The child's part: one call, its result printed.
fn square_child() {
    println!("VALUE={}", slow_square(12));
}

/// Starts this test binary's `test` as a child sharing `root` and `runs`.
fn spawn_child(test: &str, root: &Path, runs: &Path, body_ms: u64) -> Child {
    Command::new(std::env::current_exe().expect("test binary path"))
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, "1")
        .env("TWAT_CACHE_DIR", root)
        .env_remove("TWAT_CACHE_DISABLE")
        .env(RUNS_ENV, runs)
        .env(BODY_MS_ENV, body_ms.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the test binary")
}

/// Waits for `child` and returns what it printed; fails the test if it failed.
fn finish(child: Child) -> String {
    let output = child.wait_with_output().expect("wait for the child");
    common::stdout_of_success(&output, "slow_square")
}

fn runs_in(runs: &Path) -> usize {
    std::fs::read_dir(runs).expect("the runs folder").count()
}

/// Waits until the body has started somewhere (a `run-*` file exists).
fn wait_for_a_run(runs: &Path) {
    let started = Instant::now();
    while runs_in(runs) == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no child started the body"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn four_processes_missing_one_key_run_the_body_once() {
    if is_child() {
        return square_child();
    }
    let root = tempfile::tempdir().expect("temp root");
    let runs = tempfile::tempdir().expect("runs folder");
    // The first child leads with a body long enough for the others to start and find
    // the key leased; they wait for its entry instead of computing.
    let test = "four_processes_missing_one_key_run_the_body_once";
    let first = spawn_child(test, root.path(), runs.path(), 1500);
    wait_for_a_run(runs.path());
    let others: Vec<Child> = (0..3)
        .map(|_| spawn_child(test, root.path(), runs.path(), 1500))
        .collect();
    for child in std::iter::once(first).chain(others) {
        assert_eq!(reported(&finish(child), "VALUE"), "144");
    }
    assert_eq!(
        runs_in(runs.path()),
        1,
        "the body ran once across four processes"
    );
    let leases = root.path().join("single_flight").join("leases");
    let left = std::fs::read_dir(&leases).map_or(0, Iterator::count);
    assert_eq!(left, 0, "no lease file is left in {}", leases.display());
}

#[test]
fn a_killed_leader_hands_its_key_to_a_waiter() {
    if is_child() {
        return square_child();
    }
    let root = tempfile::tempdir().expect("temp root");
    let runs = tempfile::tempdir().expect("runs folder");
    let test = "a_killed_leader_hands_its_key_to_a_waiter";
    // The leader's body would take a minute: longer than a waiter's bound.
    let mut leader = spawn_child(test, root.path(), runs.path(), 60_000);
    wait_for_a_run(runs.path());
    let waiter = spawn_child(test, root.path(), runs.path(), 0);
    // The waiter cannot run the body while the leader lives and holds the lease.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        runs_in(runs.path()),
        1,
        "the waiter waits for the live leader"
    );
    leader.kill().expect("SIGKILL the leader");
    leader.wait().expect("reap the leader");
    // The OS released the dead leader's lease: the waiter takes it and computes.
    assert_eq!(reported(&finish(waiter), "VALUE"), "144");
    assert_eq!(
        runs_in(runs.path()),
        2,
        "the waiter ran the body after the leader died"
    );
}

#[cfg(feature = "async")]
mod awaiters {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::{common, is_child, reported};

    static RUNS: AtomicUsize = AtomicUsize::new(0);

    #[twat_cache::acache(folder = "single_flight_async", name = "single_flight::slow_double")]
    async fn slow_double(x: u64) -> u64 {
        RUNS.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        x * 2
    }

    #[test]
    fn two_hundred_awaiters_of_one_folder_key_run_the_body_once() {
        if is_child() {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_time()
                .build()
                .expect("a runtime");
            let values = runtime.block_on(async {
                let tasks: Vec<_> = (0..200).map(|_| tokio::spawn(slow_double(21))).collect();
                let mut values = Vec::new();
                for task in tasks {
                    values.push(task.await.expect("the task"));
                }
                values
            });
            assert!(values.iter().all(|&value| value == 42), "{values:?}");
            println!("RUNS={}", RUNS.load(Ordering::SeqCst));
            return;
        }
        let root = tempfile::tempdir().expect("temp root");
        let out = common::run_child(
            "awaiters::two_hundred_awaiters_of_one_folder_key_run_the_body_once",
            root.path(),
            &[],
        );
        assert_eq!(reported(&out, "RUNS"), "1");
    }
}
