//! Helpers for tests that need a fresh process: `TWAT_CACHE_DIR` is read when a cache
//! opens, and the environment cannot be changed safely from a multi-threaded test, so
//! such tests re-run their own test binary with the environment they need.
#![allow(dead_code, reason = "each test file uses the helpers it needs")]
#![allow(
    clippy::panic,
    clippy::expect_used,
    reason = "test helpers fail loudly"
)]

use std::path::Path;
use std::process::Command;

/// Set in the child process: the test body runs its child part and returns.
pub(crate) const CHILD_ENV: &str = "TWAT_CACHE_TEST_CHILD";

/// Whether this process is a child started by [`run_child`].
pub(crate) fn is_child() -> bool {
    std::env::var_os(CHILD_ENV).is_some()
}

/// The command that re-runs exactly `test` of this binary as a child (see [`is_child`])
/// with `TWAT_CACHE_DIR = root`; `wrapper` runs it under another program first
/// (`unshare …`). Not started yet.
pub(crate) fn child_command(test: &str, root: &Path, wrapper: &[&str]) -> Command {
    let test_binary = std::env::current_exe().expect("test binary path");
    let mut command = match wrapper.split_first() {
        Some((program, args)) => {
            let mut command = Command::new(program);
            command.args(args).arg(test_binary);
            command
        }
        None => Command::new(test_binary),
    };
    command
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, "1")
        .env("TWAT_CACHE_DIR", root)
        .env_remove("TWAT_CACHE_DISABLE");
    command
}

/// Re-runs exactly `test` in a new process with `TWAT_CACHE_DIR = root` and `envs`,
/// asserts it succeeded, and returns its standard output.
pub(crate) fn run_child(test: &str, root: &Path, envs: &[(&str, &str)]) -> String {
    let mut command = child_command(test, root, &[]);
    for (key, value) in envs {
        command.env(key, value);
    }
    stdout_of_success(&command.output().expect("run the test binary"), test)
}

/// Runs `body` here when this is the child, else re-runs exactly `test` as a child whose
/// cache root is a fresh temporary folder (removed afterwards).
pub(crate) fn in_child(test: &str, body: impl FnOnce()) {
    if is_child() {
        body();
    } else {
        let root = tempfile::tempdir().expect("a temporary folder");
        run_child(test, root.path(), &[]);
    }
}

/// The standard output of a child that must have succeeded (the test fails otherwise,
/// showing both of its outputs).
pub(crate) fn stdout_of_success(output: &std::process::Output, test: &str) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "child `{test}` failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// The value printed by the child as `NAME=value`.
pub(crate) fn reported<'a>(stdout: &'a str, name: &str) -> &'a str {
    let prefix = format!("{name}=");
    stdout
        .lines()
        // The harness prints `test name ... ` before the child's first line.
        .find_map(|line| {
            line.find(prefix.as_str())
                .map(|at| &line[at + prefix.len()..])
        })
        .unwrap_or_else(|| panic!("child did not report {name}:\n{stdout}"))
}

/// Whether any file exists below `dir`.
pub(crate) fn has_files(dir: &Path) -> bool {
    walk(dir).next().is_some()
}

fn walk(dir: &Path) -> impl Iterator<Item = std::path::PathBuf> {
    let mut stack = vec![dir.to_path_buf()];
    let mut files = Vec::new();
    while let Some(path) = stack.pop() {
        if let Ok(entries) = std::fs::read_dir(&path) {
            for entry in entries.flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                } else {
                    files.push(path);
                }
            }
        }
    }
    files.into_iter()
}

/// Where a function body run by several processes leaves one file per run
/// (`run-<pid>-<n>`), so the parent can count the runs across every process.
pub(crate) const RUNS_ENV: &str = "TWAT_CACHE_TEST_RUNS";

/// Marks one run of a body (in the folder the parent named in [`RUNS_ENV`]).
pub(crate) fn mark_run() {
    static COUNT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let runs = std::env::var_os(RUNS_ENV).expect("the parent sets the runs folder");
    let n = COUNT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let file = Path::new(&runs).join(format!("run-{}-{n}", std::process::id()));
    std::fs::write(file, b"").expect("mark the run");
}

/// How many runs were marked in `runs`.
pub(crate) fn runs_in(runs: &Path) -> usize {
    std::fs::read_dir(runs).expect("the runs folder").count()
}

/// Waits until a body has started somewhere (a run is marked).
pub(crate) fn wait_for_a_run(runs: &Path) {
    let started = std::time::Instant::now();
    while runs_in(runs) == 0 {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "no child started the body"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// Starts `test` as a child sharing `root` and the runs folder `runs`, with `envs`;
/// its output is captured for [`finish_child`].
pub(crate) fn spawn_child(
    test: &str,
    root: &Path,
    runs: &Path,
    envs: &[(&str, &str)],
) -> std::process::Child {
    let mut command = child_command(test, root, &[]);
    command
        .env(RUNS_ENV, runs)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    for (key, value) in envs {
        command.env(key, value);
    }
    command.spawn().expect("start the test binary")
}

/// Waits for a child of [`spawn_child`] and returns what it printed; fails the test if
/// it failed.
pub(crate) fn finish_child(child: std::process::Child, test: &str) -> String {
    let output = child.wait_with_output().expect("wait for the child");
    stdout_of_success(&output, test)
}
