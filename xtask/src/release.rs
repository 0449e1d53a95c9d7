//! `cargo xtask release [--dry-run] [--no-ci] <patch|minor|major>`: prepares a release.
//!
//! In order, a release:
//! 1. refuses a dirty git tree (`git status --porcelain` must print nothing);
//! 2. computes the new version from `[workspace.package] version` in the root
//!    `Cargo.toml` — the one place it lives; every internal crate in
//!    `[workspace.dependencies]` must carry the same `version`, and is bumped with it;
//! 3. checks CHANGELOG.md has a non-empty `## [x.y.z]` section for the new version (rename
//!    `## [Unreleased]` first);
//! 4. runs `cargo xtask ci` (skipped with `--no-ci`);
//! 5. writes the bumped `Cargo.toml` and runs `cargo publish --dry-run` for every published
//!    crate in dependency order ([`crates::published_in_order`]: every internal crate of
//!    `[workspace.dependencies]` without `publish = false`), in one cargo invocation: cargo
//!    (≥ 1.90) resolves each crate's internal dependencies against the packages being
//!    published, which are not on crates.io yet. It does not publish, commit or tag: it
//!    prints the commands that do.
//!
//! With `--dry-run` nothing on disk changes, and it is quick enough for CI (with `--no-ci`,
//! as CI has just run the same checks):
//! * the new version is computed and printed, not written;
//! * a missing changelog entry for the new version is a **warning** (on `main` the
//!   changelog has only `## [Unreleased]` until someone prepares a release), while a real
//!   release stops with an error;
//! * a dirty tree is still an error;
//! * `cargo publish --dry-run -p <crate>` (a full verify build) runs for the crates with no
//!   internal dependency; a crate that depends on another twat-cache crate cannot be
//!   verified alone, because that dependency's new version is not on crates.io — so its
//!   package contents are checked with `cargo package --list` (README.md and src/lib.rs
//!   must be in it), and then all crates are packaged together with
//!   `cargo publish --dry-run --no-verify -p …`, which resolves every manifest against the
//!   packages being published without compiling them.

mod changelog;
pub(crate) mod manifest;

use std::path::Path;

use xshell::{Shell, cmd};

use crate::crates::{self, Published};
use crate::{ci::Ci, root_shell, run_step, workspace_root};

use manifest::{Level, Version, bump_manifest, internal_dependencies};

/// The `release` command.
#[derive(Debug)]
pub(crate) struct Release {
    level: Level,
    dry_run: bool,
    run_ci: bool,
}

impl Release {
    /// Parses `[--dry-run] [--no-ci] <patch|minor|major>`.
    pub(crate) fn from_args(args: &[String]) -> Result<Self, String> {
        let mut level = None;
        let mut dry_run = false;
        let mut run_ci = true;
        for arg in args {
            match arg.as_str() {
                "--dry-run" => dry_run = true,
                "--no-ci" => run_ci = false,
                flag if flag.starts_with('-') => {
                    return Err(format!("release: unknown flag `{flag}`"));
                }
                word if level.is_none() => level = Some(Level::parse(word)?),
                extra => return Err(format!("release: unexpected argument `{extra}`")),
            }
        }
        let level = level.ok_or("release: say which level: patch, minor or major")?;
        Ok(Self {
            level,
            dry_run,
            run_ci,
        })
    }

    /// Runs the release checks (see the module docs).
    pub(crate) fn run(&self) -> Result<(), String> {
        let root = workspace_root();
        let sh = root_shell()?;
        check_clean_tree(&sh)?;
        let published = crates::published_in_order(&root)?;

        let manifest_path = root.join("Cargo.toml");
        let manifest = read(&manifest_path)?;
        let bump = bump_manifest(&manifest, self.level)?;
        let mode = if self.dry_run { " (dry run)" } else { "" };
        println!(
            "xtask: release{mode}: {} -> {} ([workspace.package] and {} internal crates in [workspace.dependencies])",
            bump.old,
            bump.new,
            bump.internal_crates.len()
        );

        let changelog = read(&root.join("CHANGELOG.md"))?;
        match changelog::check_entry(&changelog, &bump.new) {
            Ok(()) => println!("xtask: CHANGELOG.md has an entry for {}", bump.new),
            Err(message) if self.dry_run => println!(
                "xtask: warning: {message}\n\
                 xtask: (--dry-run reports a missing changelog entry as a warning; a real release stops here)"
            ),
            Err(message) => return Err(message),
        }

        if self.run_ci {
            Ci.run()?;
        } else {
            println!("xtask: skipping `cargo xtask ci` (--no-ci)");
        }

        if self.dry_run {
            println!(
                "xtask: --dry-run: Cargo.toml not written; checking the packages at the current version {}",
                bump.old
            );
            dry_run_packages(&sh, &root, &published)
        } else {
            std::fs::write(&manifest_path, &bump.manifest)
                .map_err(|err| format!("cannot write {}: {err}", manifest_path.display()))?;
            println!("xtask: wrote version {} to Cargo.toml", bump.new);
            verify_packages(&sh, &bump.new, &published)
        }
    }
}

/// A dirty tree is an error: a release is made from committed sources only.
fn check_clean_tree(sh: &Shell) -> Result<(), String> {
    let status = cmd!(sh, "git status --porcelain")
        .read()
        .map_err(|err| format!("cannot run `git status`: {err}"))?;
    if status.trim().is_empty() {
        println!("xtask: the git tree is clean");
        return Ok(());
    }
    let mut listed: Vec<&str> = status.lines().take(10).collect();
    let more = status.lines().count().saturating_sub(listed.len());
    let more_line = format!("… and {more} more");
    if more > 0 {
        listed.push(&more_line);
    }
    let lockfile_hint = if status.lines().any(|line| line.ends_with(" Cargo.lock")) {
        "\n(Cargo.lock: cargo rewrites a stale lockfile on the first build; commit the updated one)"
    } else {
        ""
    };
    Err(format!(
        "the git tree is dirty: commit or remove these changes before a release:\n  {}{lockfile_hint}",
        listed.join("\n  ")
    ))
}

/// The real release: every crate verified together, after the version bump.
fn verify_packages(sh: &Shell, new: &Version, published: &[Published]) -> Result<(), String> {
    let packages = package_args(published);
    let packages = &packages;
    // `--allow-dirty`: the tree was clean; the only changes are the bump just written
    // (Cargo.toml, and Cargo.lock which cargo updates).
    run_step(
        "cargo publish --dry-run --allow-dirty (every crate, in dependency order)",
        &cmd!(sh, "cargo publish --dry-run --allow-dirty {packages...}"),
    )
    .map_err(|err| {
        format!("{err}\n(undo the version bump with `git checkout -- Cargo.toml Cargo.lock`)")
    })?;
    println!(
        "xtask: release {new} is ready. Next:\n  \
         git commit -am \"Release {new}\" && git tag v{new}\n  \
         cargo publish {}\n  \
         git push && git push --tags",
        packages.join(" ")
    );
    Ok(())
}

/// The dry run: see the module docs.
fn dry_run_packages(sh: &Shell, root: &Path, published: &[Published]) -> Result<(), String> {
    for Published { name, folder } in published {
        let crate_manifest = read(&root.join(folder).join("Cargo.toml"))?;
        let internal = internal_dependencies(&crate_manifest);
        if internal.is_empty() {
            run_step(
                &format!("cargo publish --dry-run -p {name}"),
                &cmd!(sh, "cargo publish --dry-run -p {name}"),
            )?;
        } else {
            println!(
                "xtask: {name} depends on {} (not on crates.io at this version), so \
                 `cargo publish --dry-run -p {name}` alone cannot resolve: checking its \
                 contents with `cargo package --list`",
                internal.join(", ")
            );
            let files = cmd!(sh, "cargo package --list -p {name}")
                .read()
                .map_err(|err| format!("cargo package --list -p {name} failed: {err}"))?;
            check_package_files(name, &files)?;
        }
    }
    let packages = package_args(published);
    run_step(
        "cargo publish --dry-run --no-verify (every crate together: manifests resolve \
         against the packages being published, nothing is compiled)",
        &cmd!(sh, "cargo publish --dry-run --no-verify {packages...}"),
    )?;
    println!("xtask: release dry run passed (nothing was changed or published)");
    Ok(())
}

/// A package must ship its README and its crate root.
fn check_package_files(name: &str, files: &str) -> Result<(), String> {
    let missing: Vec<&str> = ["README.md", "Cargo.toml", "src/lib.rs"]
        .into_iter()
        .filter(|wanted| !files.lines().any(|line| line.trim() == *wanted))
        .collect();
    if missing.is_empty() {
        println!(
            "xtask: {name}: {} files in the package",
            files.lines().count()
        );
        Ok(())
    } else {
        Err(format!(
            "{name}: the package lacks {} (check `include`/`exclude` in its Cargo.toml)",
            missing.join(", ")
        ))
    }
}

/// `-p core -p memory …` in publishing order.
fn package_args(published: &[Published]) -> Vec<String> {
    published
        .iter()
        .flat_map(|p| ["-p".to_owned(), p.name.clone()])
        .collect()
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|err| format!("cannot read {}: {err}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| (*w).to_owned()).collect()
    }

    #[test]
    fn flags_parse_in_any_order() {
        let release = Release::from_args(&args(&["--no-ci", "minor", "--dry-run"])).unwrap();
        assert_eq!(release.level, Level::Minor);
        assert!(release.dry_run);
        assert!(!release.run_ci);
        let release = Release::from_args(&args(&["patch"])).unwrap();
        assert!(!release.dry_run && release.run_ci);
        assert!(Release::from_args(&args(&["--dry-run"])).is_err());
        assert!(Release::from_args(&args(&["patch", "minor"])).is_err());
        assert!(Release::from_args(&args(&["--force", "patch"])).is_err());
    }

    #[test]
    fn a_package_without_its_readme_is_refused() {
        let listing = "Cargo.toml\nCargo.toml.orig\nsrc/lib.rs\n";
        let err = check_package_files("twat-cache-core", listing).unwrap_err();
        assert!(err.contains("lacks README.md"), "{err}");
        assert!(check_package_files("x", "README.md\nCargo.toml\nsrc/lib.rs\n").is_ok());
    }
}
