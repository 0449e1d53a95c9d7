//! `cargo xtask <command>`: the project's automation, runnable by anyone.
//!
//! * `ci`      — everything CI checks: format, clippy, tests, docs.
//! * `lint`    — format, clippy and docs only (no tests), plus a check that every published
//!   crate has a README with a "use this crate alone" section and crate-level docs.
//! * `bench`   — runs the criterion benches and writes `target/bench-report.md` and
//!   `target/bench-report.svg` (see [`bench`](mod@bench) for the benchmark-id naming convention).
//! * `fuzz`    — runs the cargo-fuzz targets of `fuzz/` (see [`fuzz`](mod@fuzz)).
//! * `soak`    — the long variants of the reliability tests (see [`soak`](mod@soak)).
//! * `release` — bumps the workspace version, checks CHANGELOG.md, the git tree, `ci` and
//!   `cargo publish --dry-run` (see [`release`] for what `--dry-run` and `--no-ci` change).
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a command-line tool"
)]

mod bench;
mod ci;
mod crates;
mod fuzz;
mod lint;
mod release;
mod soak;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

const USAGE: &str = "usage: cargo xtask <command>

  ci                       fmt check, clippy -D warnings, every test, docs -D warnings
  lint                     fmt check, clippy -D warnings, docs -D warnings,
                           README (with a \"use this crate alone\" section) and crate-doc check
  bench [--quick] [--report-only] [ENGINE...]
                           run the criterion benches (ENGINE: a [[bench]] of
                           benches/Cargo.toml: core memory disk file async ...; none = all)
                           and write target/bench-report.md and .svg
                           --quick        short criterion runs (about 2 minutes for all)
                           --report-only  do not run: report criterion's existing results
  fuzz [--secs N] [TARGET...]
                           build the cargo-fuzz targets of fuzz/ and run each for N s
                           (default 60; TARGET: envelope file_record disk_index names)
  soak                     the long (--ignored) reliability tests: 8 processes x 30 s
                           on one #[fcache] folder, 10 million keys through #[mcache]
  release [--dry-run] [--no-ci] <patch|minor|major>
                           bump the workspace version, check CHANGELOG.md, the git tree,
                           run ci and `cargo publish --dry-run` for every crate in order
                           --dry-run  change nothing; a missing changelog entry is a warning
                           --no-ci    skip `cargo xtask ci` (when CI already ran it)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (command, rest) = match args.split_first() {
        Some((command, rest)) => (command.as_str(), rest),
        None => {
            eprintln!("{USAGE}");
            return ExitCode::FAILURE;
        }
    };
    let result = match command {
        "ci" => no_arguments(rest).and_then(|()| ci::Ci.run()),
        "lint" => no_arguments(rest).and_then(|()| lint::Lint.run()),
        "bench" => bench::Bench::from_args(rest).and_then(|bench| bench.run()),
        "fuzz" => fuzz::Fuzz::from_args(rest).and_then(|fuzz| fuzz.run()),
        "soak" => no_arguments(rest).and_then(|()| soak::Soak.run()),
        "release" => release::Release::from_args(rest).and_then(|release| release.run()),
        "-h" | "--help" | "help" => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        other => Err(format!("unknown command `{other}`\n\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Commands without arguments refuse stray ones instead of ignoring them.
fn no_arguments(rest: &[String]) -> Result<(), String> {
    match rest.first() {
        None => Ok(()),
        Some(extra) => Err(format!("unexpected argument `{extra}`\n\n{USAGE}")),
    }
}

/// The workspace root (the parent of this crate's folder).
fn workspace_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .map_or_else(|| manifest_dir.to_path_buf(), Path::to_path_buf)
}

/// Cargo's target directory as cargo and criterion see it: `$CARGO_TARGET_DIR` (relative
/// to the workspace root) if set, else `<root>/target`.
fn target_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => root.join(dir),
        _ => root.join("target"),
    }
}

/// Runs a command, turning a failure into a message that names it.
fn run_step(label: &str, command: &xshell::Cmd<'_>) -> Result<(), String> {
    println!("xtask: {label}");
    command
        .run()
        .map_err(|err| format!("{label} failed: {err}"))
}

/// A shell whose current directory is the workspace root.
fn root_shell() -> Result<xshell::Shell, String> {
    let sh = xshell::Shell::new().map_err(|err| err.to_string())?;
    sh.change_dir(workspace_root());
    Ok(sh)
}
