//! `cargo xtask ci`: what `.ci/run` runs, minus installing system packages.

use xshell::{Shell, cmd};

use crate::{lint::Lint, run_step, workspace_root};

/// The `ci` command.
pub(crate) struct Ci;

impl Ci {
    /// Lints, then runs every test of the workspace with every feature.
    pub(crate) fn run(&self) -> Result<(), String> {
        Lint.run()?;
        let sh = Shell::new().map_err(|err| err.to_string())?;
        sh.change_dir(workspace_root());
        run_step(
            "cargo test --workspace --all-features",
            &cmd!(sh, "cargo test --workspace --all-features"),
        )
    }
}
