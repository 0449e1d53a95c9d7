//! `cargo xtask soak`: the long variants of the reliability tests, which `cargo test`
//! skips (`#[ignore]`): 8 processes hammering one `#[fcache]` folder for 30 s, and ten
//! million keys through a bounded `#[mcache]`. See the README's "Reliability" section.

use xshell::cmd;

use crate::{root_shell, run_step};

/// The `soak` command.
pub(crate) struct Soak;

impl Soak {
    /// Runs the ignored tests of the reliability test files, printing their figures.
    pub(crate) fn run(&self) -> Result<(), String> {
        let sh = root_shell()?;
        run_step(
            "soak: cargo test -p twat-cache --all-features --test many_processes --test memory_bound -- --ignored",
            &cmd!(
                sh,
                "cargo test -p twat-cache --all-features --test many_processes --test memory_bound -- --ignored --nocapture --test-threads=1"
            ),
        )
    }
}
