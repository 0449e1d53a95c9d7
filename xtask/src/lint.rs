//! `cargo xtask lint`: format, clippy, docs, and the README/crate-doc check.

use std::path::Path;

use xshell::{Shell, cmd};

use crate::{run_step, workspace_root};

/// Crates that are published and so need a README and crate-level docs.
const PUBLISHED_CRATES: &[&str] = &[
    "twat-cache",
    "twat-cache-core",
    "twat-cache-memory",
    "twat-cache-disk",
    "twat-cache-file",
    "twat-cache-async",
    "twat-cache-macros",
];

/// The `lint` command.
pub(crate) struct Lint;

impl Lint {
    /// Runs fmt check, clippy with `-D warnings`, rustdoc with `-D warnings` and the
    /// README check.
    pub(crate) fn run(&self) -> Result<(), String> {
        let root = workspace_root();
        check_crate_docs(&root)?;
        let sh = Shell::new().map_err(|err| err.to_string())?;
        sh.change_dir(&root);
        run_step(
            "cargo fmt --all --check",
            &cmd!(sh, "cargo fmt --all --check"),
        )?;
        run_step(
            "cargo clippy (all targets, all features, -D warnings)",
            &cmd!(
                sh,
                "cargo clippy --workspace --all-targets --all-features -- -D warnings"
            ),
        )?;
        let _rustdocflags = sh.push_env("RUSTDOCFLAGS", "-D warnings");
        run_step(
            "cargo doc (-D warnings)",
            &cmd!(sh, "cargo doc --workspace --no-deps --all-features"),
        )
    }
}

/// Every published crate has a README.md and its `lib.rs` opens with crate docs.
fn check_crate_docs(root: &Path) -> Result<(), String> {
    let mut problems = Vec::new();
    for name in PUBLISHED_CRATES {
        let dir = root.join(name);
        if !dir.join("README.md").is_file() && *name != "twat-cache" {
            problems.push(format!("{name}: no README.md"));
        }
        let lib = dir.join("src/lib.rs");
        match std::fs::read_to_string(&lib) {
            Ok(text) => {
                let first = text.lines().find(|line| !line.trim().is_empty());
                let documented =
                    first.is_some_and(|line| line.starts_with("//!") || line.starts_with("#![doc"));
                if !documented {
                    problems.push(format!("{name}: src/lib.rs does not start with crate docs"));
                }
            }
            Err(err) => problems.push(format!("{name}: cannot read src/lib.rs: {err}")),
        }
    }
    if problems.is_empty() {
        println!("xtask: every crate has a README and crate docs");
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}
