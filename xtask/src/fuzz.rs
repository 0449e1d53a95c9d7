//! `cargo xtask fuzz [--secs N] [TARGET…]`: runs the cargo-fuzz targets of `fuzz/`.
//!
//! Each target runs for `N` seconds (default 60) with libFuzzer, starting from the
//! committed seed corpus `fuzz/seeds/<target>` (real entries, written by
//! `fuzz/examples/seeds.rs`) and the corpus it grew before, kept in
//! `<target dir>/fuzz-corpus/<target>` (outside the repository). All targets are built
//! once first (cargo-fuzz's sanitizer build, `-O`). cargo-fuzz needs nightly flags; on the
//! stable toolchain this sets `RUSTC_BOOTSTRAP=1`. A crash stops the run and leaves the
//! input in `fuzz/artifacts/<target>/`: turn it into a regression test next to the
//! decoder it broke.

use xshell::cmd;

use crate::{root_shell, run_step, target_dir, workspace_root};

/// Every fuzz target, as `fuzz/Cargo.toml` declares them.
pub(crate) const TARGETS: [&str; 5] = [
    "envelope",
    "file_record",
    "disk_index",
    "names",
    "redis_value",
];

/// The `fuzz` command.
pub(crate) struct Fuzz {
    seconds: u64,
    targets: Vec<String>,
}

impl Fuzz {
    /// Parses `[--secs N] [TARGET…]`.
    pub(crate) fn from_args(args: &[String]) -> Result<Self, String> {
        let mut seconds = 60;
        let mut targets = Vec::new();
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--secs" => {
                    let value = args.next().ok_or("--secs needs a number of seconds")?;
                    seconds = value
                        .parse()
                        .ok()
                        .filter(|&seconds| seconds > 0)
                        .ok_or_else(|| format!("--secs {value}: not a positive number"))?;
                }
                target if TARGETS.contains(&target) => targets.push(target.to_owned()),
                other => {
                    return Err(format!(
                        "unknown fuzz target or flag `{other}` (targets: {})",
                        TARGETS.join(", ")
                    ));
                }
            }
        }
        if targets.is_empty() {
            targets = TARGETS.iter().map(|&target| target.to_owned()).collect();
        }
        Ok(Self { seconds, targets })
    }

    /// Builds every target, then runs each for the given time.
    pub(crate) fn run(&self) -> Result<(), String> {
        let sh = root_shell()?;
        if cmd!(sh, "cargo fuzz --version")
            .quiet()
            .ignore_stdout()
            .run()
            .is_err()
        {
            return Err("cargo-fuzz is not installed: cargo install cargo-fuzz --locked".into());
        }
        let root = workspace_root();
        let corpora = target_dir(&root).join("fuzz-corpus");
        sh.change_dir(root.join("fuzz"));
        let _bootstrap = sh.push_env("RUSTC_BOOTSTRAP", "1");
        run_step(
            "cargo fuzz build -O (every target)",
            &cmd!(sh, "cargo fuzz build -O"),
        )?;
        let max_time = format!("-max_total_time={}", self.seconds);
        for target in &self.targets {
            let corpus = corpora.join(target);
            std::fs::create_dir_all(&corpus)
                .map_err(|err| format!("cannot create {}: {err}", corpus.display()))?;
            let seeds = root.join("fuzz").join("seeds").join(target);
            run_step(
                &format!("fuzz {target} for {} s", self.seconds),
                &cmd!(
                    sh,
                    "cargo fuzz run -O {target} {corpus} {seeds} -- {max_time} -timeout=20 -print_final_stats=1"
                ),
            )
            .map_err(|err| {
                format!(
                    "{err}\nthe input that broke it is in fuzz/artifacts/{target}/; \
                     add it as a regression test of the decoder"
                )
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|&arg| arg.to_owned()).collect()
    }

    #[test]
    fn arguments_choose_time_and_targets() {
        let all = Fuzz::from_args(&[]).unwrap();
        assert_eq!((all.seconds, all.targets.len()), (60, TARGETS.len()));
        let some = Fuzz::from_args(&args(&["--secs", "20", "names"])).unwrap();
        assert_eq!((some.seconds, some.targets), (20, vec!["names".to_owned()]));
        assert!(Fuzz::from_args(&args(&["--secs"])).is_err());
        assert!(Fuzz::from_args(&args(&["--secs", "0"])).is_err());
        assert!(Fuzz::from_args(&args(&["nope"])).is_err());
    }

    #[test]
    fn every_target_is_declared_and_seeded() {
        let fuzz = workspace_root().join("fuzz");
        let manifest = std::fs::read_to_string(fuzz.join("Cargo.toml")).unwrap();
        for target in TARGETS {
            assert!(
                manifest.contains(&format!("name = \"{target}\"")),
                "{target}"
            );
            assert!(
                fuzz.join("fuzz_targets")
                    .join(format!("{target}.rs"))
                    .is_file()
            );
            let seeds = std::fs::read_dir(fuzz.join("seeds").join(target)).unwrap();
            assert!(seeds.count() > 0, "{target} has no seeds");
        }
    }
}
