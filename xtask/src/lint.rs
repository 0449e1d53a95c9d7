//! `cargo xtask lint`: format, clippy, docs, and the README/crate-doc check.
//!
//! Every step runs even when an earlier one fails, and all problems are reported together
//! at the end, so one run shows everything to fix.

use std::path::Path;

use xshell::cmd;

use crate::crates::{Published, published_in_order};

mod modules;
use crate::{root_shell, run_step, workspace_root};

/// The one source file allowed to lift the workspace's `unsafe_code = "deny"` (a
/// `lock_api::RawRwLock`; its module docs give the safety argument). Any other file that
/// names `unsafe_code` is a lint problem, so a new exception is a reviewed change here.
const UNSAFE_ALLOWED_IN: &str = "twat-cache-shard/src/striped.rs";

/// The facade is the crate people depend on: all of its README is "use this crate alone",
/// so it needs no section saying so.
const FACADE: &str = "twat-cache";

/// The `lint` command.
pub(crate) struct Lint;

impl Lint {
    /// Runs the README/crate-doc check, fmt check, clippy with `-D warnings` and rustdoc with
    /// `-D warnings`; fails after all of them with every problem found.
    pub(crate) fn run(&self) -> Result<(), String> {
        let mut failures = crate_doc_problems(&workspace_root());
        if failures.is_empty() {
            println!(
                "xtask: every published crate has a README (with a \"use this crate alone\" section) and crate docs, and only {UNSAFE_ALLOWED_IN} allows unsafe code"
            );
        } else {
            println!(
                "xtask: README/crate-doc check: {} problem(s), listed at the end",
                failures.len()
            );
        }
        let sh = root_shell()?;
        let steps = [
            (
                "cargo fmt --all --check",
                cmd!(sh, "cargo fmt --all --check"),
            ),
            (
                "cargo clippy (all targets, all features, -D warnings)",
                cmd!(
                    sh,
                    "cargo clippy --workspace --all-targets --all-features -- -D warnings"
                ),
            ),
            (
                "cargo doc (-D warnings)",
                cmd!(sh, "cargo doc --workspace --no-deps --all-features")
                    .env("RUSTDOCFLAGS", "-D warnings"),
            ),
            (
                "cargo doc as docs.rs builds it (--cfg docsrs)",
                cmd!(
                    sh,
                    "cargo doc -p twat-cache -p twat-cache-core --no-deps --all-features"
                )
                .env("RUSTC_BOOTSTRAP", "1")
                .env("RUSTDOCFLAGS", "--cfg docsrs -D warnings"),
            ),
        ];
        for (label, command) in &steps {
            if let Err(message) = run_step(label, command) {
                failures.push(message);
            }
        }
        if failures.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "lint found {} problem(s):\n  {}",
                failures.len(),
                failures.join("\n  ")
            ))
        }
    }
}

/// Every published crate ([`published_in_order`]) has a README.md with a "use this crate
/// alone" section, and its `lib.rs` opens with crate docs. Returns every problem found.
fn crate_doc_problems(root: &Path) -> Vec<String> {
    match published_in_order(root) {
        Ok(published) => published
            .iter()
            .flat_map(|krate| crate_problems(root, krate))
            .collect(),
        Err(message) => vec![message],
    }
}

/// The problems of one crate's README and `lib.rs`.
fn crate_problems(root: &Path, krate: &Published) -> Vec<String> {
    let (name, dir) = (&krate.name, root.join(&krate.folder));
    let mut problems = Vec::new();
    match std::fs::read_to_string(dir.join("README.md")) {
        Ok(readme) => problems.extend(readme_problems(name, &readme)),
        Err(err) => problems.push(format!("{name}: cannot read README.md: {err}")),
    }
    match std::fs::read_to_string(dir.join("src/lib.rs")) {
        Ok(lib) => problems.extend(crate_docs_problem(name, &lib)),
        Err(err) => problems.push(format!("{name}: cannot read src/lib.rs: {err}")),
    }
    let mut sources = Vec::new();
    modules::rust_sources(&dir.join("src"), &mut sources);
    for source in sources {
        let relative = source.strip_prefix(root).unwrap_or(&source);
        let relative = relative.to_string_lossy().replace('\\', "/");
        let text = std::fs::read_to_string(&source).unwrap_or_default();
        problems.extend(unsafe_problem(&relative, &text));
        problems.extend(feature_badge_problems(&relative, &text));
    }
    problems.extend(
        modules::import_cycles(&modules::read_modules(&dir.join("src")))
            .into_iter()
            .map(|cycle| format!("{name}: modules import each other: {cycle}")),
    );
    problems
}

/// A public item behind a Cargo feature (`#[cfg(feature = …)]` or `#[cfg(all(feature …`
/// followed, through its other attributes, by a `pub` item) must carry
/// `#[cfg_attr(docsrs, doc(cfg(…)))]`, so that docs.rs, which builds with every feature,
/// shows which feature it needs.
fn feature_badge_problems(relative: &str, text: &str) -> Vec<String> {
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    let mut problems = Vec::new();
    for (index, line) in lines.iter().enumerate() {
        if !(line.starts_with("#[cfg(feature") || line.starts_with("#[cfg(all(feature")) {
            continue;
        }
        let attributes: Vec<&&str> = lines[index + 1..]
            .iter()
            .take_while(|line| line.starts_with("#["))
            .collect();
        let item = lines.get(index + 1 + attributes.len());
        let public = item.is_some_and(|item| item.starts_with("pub ") || item.starts_with("pub("));
        let public = public && !item.is_some_and(|item| item.starts_with("pub(crate)"));
        if public && !attributes.iter().any(|line| line.contains("doc(cfg(")) {
            problems.push(format!(
                "{relative}:{}: a feature-gated public item without `#[cfg_attr(docsrs, doc(cfg(...)))]` (docs.rs would not show its feature)",
                index + 1
            ));
        }
    }
    problems
}

/// A source file other than [`UNSAFE_ALLOWED_IN`] that mentions `unsafe_code` (to allow
/// it) is a problem.
fn unsafe_problem(relative: &str, text: &str) -> Option<String> {
    (relative != UNSAFE_ALLOWED_IN && text.contains("unsafe_code")).then(|| {
        format!(
            "{relative}: names `unsafe_code`; only {UNSAFE_ALLOWED_IN} may allow unsafe code (see xtask/src/lint.rs)"
        )
    })
}

/// What is wrong with crate `name`'s README text: it must have a section (a Markdown
/// heading) with the word "alone" in it, any case — "## Use this crate alone". The facade
/// is exempt (see [`FACADE`]).
fn readme_problems(name: &str, readme: &str) -> Option<String> {
    if name == FACADE || readme.lines().any(is_alone_heading) {
        None
    } else {
        Some(format!(
            "{name}: README.md has no \"use this crate alone\" section (a heading with the word \"alone\", e.g. `## Use this crate alone`)"
        ))
    }
}

/// A Markdown heading containing the word "alone" (not "standalone").
fn is_alone_heading(line: &str) -> bool {
    let line = line.trim_start();
    line.starts_with('#')
        && line
            .split(|c: char| !c.is_alphanumeric())
            .any(|word| word.eq_ignore_ascii_case("alone"))
}

/// Crate `name`'s `lib.rs` must start with crate docs (`//!` or `#![doc = …]`).
fn crate_docs_problem(name: &str, lib: &str) -> Option<String> {
    let first = lib.lines().find(|line| !line.trim().is_empty());
    let documented =
        first.is_some_and(|line| line.starts_with("//!") || line.starts_with("#![doc"));
    (!documented).then(|| format!("{name}: src/lib.rs does not start with crate docs"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_heading_with_alone_passes_in_any_case() {
        for heading in ["## Use this crate alone", "### USE IT ALONE", "# Alone"] {
            let readme = format!("# twat-cache-core\n\nText.\n\n{heading}\n\n```rust\n```\n");
            assert_eq!(
                readme_problems("twat-cache-core", &readme),
                None,
                "{heading}"
            );
        }
    }

    #[test]
    fn alone_outside_a_heading_or_inside_a_word_does_not_count() {
        let readme = "# twat-cache-disk\n\nYou can use it alone.\n\n```rust,standalone_crate\n```\n## Standalone\n";
        let problem = readme_problems("twat-cache-disk", readme);
        assert!(
            problem
                .as_deref()
                .is_some_and(|p| p.starts_with("twat-cache-disk: README.md has no")),
            "{problem:?}"
        );
    }

    #[test]
    fn unsafe_code_is_allowed_in_one_file_only() {
        let allow = "#![allow(unsafe_code, reason = \"...\")]\n";
        assert_eq!(unsafe_problem(UNSAFE_ALLOWED_IN, allow), None);
        assert!(unsafe_problem("twat-cache-disk/src/cache.rs", allow).is_some());
        assert_eq!(
            unsafe_problem("twat-cache-disk/src/cache.rs", "fn safe() {}\n"),
            None
        );
        // The allowed file exists and really is the one that allows it.
        let text = std::fs::read_to_string(workspace_root().join(UNSAFE_ALLOWED_IN));
        assert!(text.is_ok_and(|text| text.contains("unsafe_code")));
    }

    /// This workspace passes its own README, crate-doc and unsafe checks (so `cargo test`
    /// in CI enforces them, not only `cargo xtask lint`).
    #[test]
    fn the_workspace_passes_the_crate_checks() {
        let problems = crate_doc_problems(&workspace_root());
        assert!(problems.is_empty(), "{problems:#?}");
    }

    #[test]
    fn feature_gated_public_items_need_a_badge() {
        let bare = "#[cfg(feature = \"disk\")]\n#[doc(inline)]\npub use disk::DiskCache;\n";
        assert_eq!(feature_badge_problems("lib.rs", bare).len(), 1);
        let badged = "#[cfg(feature = \"disk\")]\n#[cfg_attr(docsrs, doc(cfg(feature = \"disk\")))]\npub use disk::DiskCache;\n";
        assert!(feature_badge_problems("lib.rs", badged).is_empty());
        let private = "#[cfg(feature = \"disk\")]\nfn open_disk() {}\n#[cfg(feature = \"disk\")]\npub(crate) fn f() {}\n";
        assert!(feature_badge_problems("store.rs", private).is_empty());
    }

    /// The unpublished crates (automation, benches, examples) keep the module rule too.
    #[test]
    fn unpublished_crates_have_no_import_cycles() {
        for src in ["xtask/src", "benches/src", "examples/src"] {
            let modules = modules::read_modules(&workspace_root().join(src));
            assert!(!modules.is_empty(), "{src} has no modules");
            let cycles = modules::import_cycles(&modules);
            assert!(cycles.is_empty(), "{src}: {cycles:#?}");
        }
    }

    #[test]
    fn the_facade_needs_no_alone_section() {
        assert_eq!(readme_problems(FACADE, "# twat-cache\n"), None);
    }

    #[test]
    fn crate_docs_must_open_lib_rs() {
        assert_eq!(crate_docs_problem("a", "\n//! Docs.\n"), None);
        assert_eq!(
            crate_docs_problem("a", "#![doc = include_str!(\"../README.md\")]\n"),
            None
        );
        assert!(crate_docs_problem("a", "use std::fmt;\n//! late\n").is_some());
        assert!(crate_docs_problem("a", "").is_some());
    }

    #[test]
    fn every_problem_of_every_crate_is_reported() {
        let root = std::env::temp_dir().join(format!("xtask-lint-{}", std::process::id()));
        let missing = |name: &str| Published {
            name: name.to_owned(),
            folder: name.to_owned(),
        };
        // No crate folder exists there: a README and a lib.rs problem for each crate.
        let problems: Vec<String> = ["a", "b"]
            .iter()
            .flat_map(|name| crate_problems(&root, &missing(name)))
            .collect();
        assert_eq!(problems.len(), 4, "{problems:#?}");
        assert!(
            problems[0].starts_with("a: cannot read README.md"),
            "{problems:#?}"
        );
        assert!(
            problems[3].starts_with("b: cannot read src/lib.rs"),
            "{problems:#?}"
        );
        // Without a workspace manifest the crate list itself is the problem.
        assert_eq!(crate_doc_problems(&root).len(), 1);
    }
}
