//! The workspace's published crates, read from the manifests rather than listed by hand:
//! every internal crate of `[workspace.dependencies]` (an entry with a `path`) whose own
//! `Cargo.toml` does not say `publish = false`, ordered so that each comes after every
//! internal crate it depends on (the order `cargo publish` needs).

use std::path::Path;

use crate::release::manifest::internal_dependencies;

/// A published crate: its name and its folder, relative to the workspace root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Published {
    /// The package name.
    pub(crate) name: String,
    /// Its folder (`path = "…"` in `[workspace.dependencies]`).
    pub(crate) folder: String,
}

/// The published crates of the workspace at `root`, in dependency order.
///
/// # Errors
///
/// A manifest that cannot be read, or internal dependencies that form a cycle.
pub(crate) fn published_in_order(root: &Path) -> Result<Vec<Published>, String> {
    let root_manifest = read(&root.join("Cargo.toml"))?;
    let mut crates = Vec::new();
    for (name, folder) in internal_crates(&root_manifest) {
        let manifest = read(&root.join(&folder).join("Cargo.toml"))?;
        if !is_unpublished(&manifest) {
            crates.push((name, folder, internal_dependencies(&manifest)));
        }
    }
    dependency_order(crates)
}

/// Orders `(name, folder, internal dependencies)` so each crate follows its dependencies;
/// among crates that are ready, the one listed first goes first.
fn dependency_order(
    mut pending: Vec<(String, String, Vec<String>)>,
) -> Result<Vec<Published>, String> {
    let names: Vec<String> = pending.iter().map(|(name, ..)| name.clone()).collect();
    let mut ordered: Vec<Published> = Vec::new();
    while !pending.is_empty() {
        let ready = pending.iter().position(|(_, _, dependencies)| {
            dependencies.iter().all(|dependency| {
                // Unpublished internal crates (benches…) cannot be a published one's
                // dependency; cargo reports that itself.
                !names.contains(dependency) || ordered.iter().any(|p| &p.name == dependency)
            })
        });
        let Some(index) = ready else {
            let stuck: Vec<&str> = pending.iter().map(|(name, ..)| name.as_str()).collect();
            return Err(format!(
                "the internal dependencies of {} form a cycle",
                stuck.join(", ")
            ));
        };
        let (name, folder, _) = pending.remove(index);
        ordered.push(Published { name, folder });
    }
    Ok(ordered)
}

/// `(name, folder)` of every `[workspace.dependencies]` entry with a `path`.
fn internal_crates(root_manifest: &str) -> Vec<(String, String)> {
    let mut section = "";
    let mut crates = Vec::new();
    for line in root_manifest.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            section = trimmed;
            continue;
        }
        if section != "[workspace.dependencies]" || trimmed.starts_with('#') {
            continue;
        }
        let Some((name, value)) = trimmed.split_once('=') else {
            continue;
        };
        let Some(path_at) = value.find("path") else {
            continue;
        };
        let folder = value[path_at..]
            .split_once('"')
            .and_then(|(_, rest)| rest.split_once('"'))
            .map(|(folder, _)| folder.to_owned());
        if let Some(folder) = folder {
            crates.push((name.trim().to_owned(), folder));
        }
    }
    crates
}

/// `publish = false` in the `[package]` section.
fn is_unpublished(crate_manifest: &str) -> bool {
    let mut in_package = false;
    crate_manifest.lines().any(|line| {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            in_package = trimmed == "[package]";
            return false;
        }
        in_package
            && trimmed
                .split_once('=')
                .is_some_and(|(key, value)| key.trim() == "publish" && value.trim() == "false")
    })
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|err| format!("cannot read {}: {err}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, dependencies: &[&str]) -> (String, String, Vec<String>) {
        (
            name.to_owned(),
            name.to_owned(),
            dependencies.iter().map(|d| (*d).to_owned()).collect(),
        )
    }

    fn names(ordered: &[Published]) -> Vec<&str> {
        ordered.iter().map(|p| p.name.as_str()).collect()
    }

    #[test]
    fn dependencies_come_first_and_listing_order_breaks_ties() {
        let ordered = dependency_order(vec![
            entry("facade", &["core", "memory", "macros"]),
            entry("core", &[]),
            entry("memory", &["core"]),
            entry("macros", &["core", "facade-only-dev"]),
        ])
        .unwrap();
        assert_eq!(names(&ordered), ["core", "memory", "macros", "facade"]);
    }

    #[test]
    fn a_cycle_is_an_error() {
        let err = dependency_order(vec![entry("a", &["b"]), entry("b", &["a"])]).unwrap_err();
        assert!(err.contains("a, b form a cycle"), "{err}");
    }

    #[test]
    fn internal_crates_are_the_path_entries() {
        let manifest = "[workspace.dependencies]\n# internal\n\
            twat-cache = { path = \"twat-cache\", version = \"0.1.0\", default-features = false }\n\
            twat-cache-core = { path = \"crates/core\", version = \"0.1.0\" }\n\
            serde = { version = \"1\" }\n\n[profile.release]\npath = \"x\"\n";
        assert_eq!(
            internal_crates(manifest),
            [
                ("twat-cache".to_owned(), "twat-cache".to_owned()),
                ("twat-cache-core".to_owned(), "crates/core".to_owned())
            ]
        );
    }

    #[test]
    fn publish_false_marks_an_unpublished_crate() {
        assert!(is_unpublished("[package]\nname = \"b\"\npublish = false\n"));
        assert!(!is_unpublished(
            "[package]\nname = \"b\"\n[features]\npublish = false\n"
        ));
        assert!(!is_unpublished("[package]\nname = \"b\"\n"));
    }

    #[test]
    fn the_workspace_publishes_core_first_and_dependencies_before_dependents() {
        let root = crate::workspace_root();
        let ordered = published_in_order(&root).unwrap();
        let names = names(&ordered);
        assert_eq!(names.first(), Some(&"twat-cache-core"));
        for crate_name in [
            "twat-cache",
            "twat-cache-memory",
            "twat-cache-disk",
            "twat-cache-macros",
        ] {
            assert!(names.contains(&crate_name), "{crate_name}");
        }
        assert!(!names.contains(&"xtask") && !names.contains(&"twat-cache-benches"));
        for (position, published) in ordered.iter().enumerate() {
            let manifest = read(&root.join(&published.folder).join("Cargo.toml")).unwrap();
            for dependency in internal_dependencies(&manifest) {
                assert!(
                    names[..position].contains(&dependency.as_str()),
                    "{} depends on {dependency}, which is not published before it",
                    published.name
                );
            }
        }
    }
}
