//! `cargo xtask ci`: what `.ci/run` runs, minus installing system packages.

use xshell::cmd;

use crate::{lint::Lint, root_shell, run_step};

/// The `ci` command.
pub(crate) struct Ci;

impl Ci {
    /// Lints, then runs every test of the workspace with every feature.
    pub(crate) fn run(&self) -> Result<(), String> {
        Lint.run()?;
        let sh = root_shell()?;
        run_step(
            "cargo test --workspace --all-features",
            &cmd!(sh, "cargo test --workspace --all-features"),
        )
    }
}
