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

use std::time::Duration;

use common::{finish_child, is_child, mark_run, reported, runs_in, spawn_child, wait_for_a_run};

/// How long the body sleeps, in milliseconds.
const BODY_MS_ENV: &str = "SINGLE_FLIGHT_BODY_MS";

#[twat_cache::fcache(folder = "single_flight", name = "single_flight::slow_square")]
fn slow_square(x: u64) -> u64 {
    mark_run();
    let millis = std::env::var(BODY_MS_ENV).map_or(0, |ms| ms.parse().expect("milliseconds"));
    std::thread::sleep(Duration::from_millis(millis));
    x * x
}

/// The child's part: one call, its result printed.
fn square_child() {
    println!("VALUE={}", slow_square(12));
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
    let slow = [(BODY_MS_ENV, "1500")];
    let first = spawn_child(test, root.path(), runs.path(), &slow);
    wait_for_a_run(runs.path());
    let others: Vec<_> = (0..3)
        .map(|_| spawn_child(test, root.path(), runs.path(), &slow))
        .collect();
    for child in std::iter::once(first).chain(others) {
        assert_eq!(reported(&finish_child(child, test), "VALUE"), "144");
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
    let mut leader = spawn_child(test, root.path(), runs.path(), &[(BODY_MS_ENV, "60000")]);
    wait_for_a_run(runs.path());
    let waiter = spawn_child(test, root.path(), runs.path(), &[]);
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
    assert_eq!(reported(&finish_child(waiter, test), "VALUE"), "144");
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
