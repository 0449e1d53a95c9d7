//! `cargo xtask <command>`: the project's automation, runnable by anyone.
//!
//! * `ci`   — everything CI checks: format, clippy, tests, docs.
//! * `lint` — format, clippy and docs only (no tests), plus a check that every crate has
//!   a README and crate-level docs.
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a command-line tool"
)]

mod ci;
mod lint;

use std::process::ExitCode;

const USAGE: &str = "usage: cargo xtask <ci | lint>

  ci     fmt check, clippy -D warnings, every test, docs -D warnings
  lint   fmt check, clippy -D warnings, docs -D warnings, README/crate-doc check";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci::Ci.run(),
        Some("lint") => lint::Lint.run(),
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Some(other) => Err(format!("unknown command `{other}`\n\n{USAGE}")),
        None => Err(USAGE.to_owned()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root (the parent of this crate's folder).
fn workspace_root() -> std::path::PathBuf {
    let manifest_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .map_or_else(|| manifest_dir.to_path_buf(), std::path::Path::to_path_buf)
}

/// Runs a command, turning a failure into a message that names it.
fn run_step(label: &str, command: &xshell::Cmd<'_>) -> Result<(), String> {
    println!("xtask: {label}");
    command
        .run()
        .map_err(|err| format!("{label} failed: {err}"))
}
