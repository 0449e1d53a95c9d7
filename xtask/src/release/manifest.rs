//! The version in the root `Cargo.toml`: `[workspace.package] version` and the `version`
//! of every internal crate in `[workspace.dependencies]` (those with a `path`), which must
//! all be equal. Edited as text, line by line, so comments and layout survive.

use std::fmt;

/// Which part of the version a release bumps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Level {
    /// `x.y.z` → `x.y.(z+1)`.
    Patch,
    /// `x.y.z` → `x.(y+1).0`.
    Minor,
    /// `x.y.z` → `(x+1).0.0`.
    Major,
}

impl Level {
    /// Parses `patch`, `minor` or `major`.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        match text {
            "patch" => Ok(Self::Patch),
            "minor" => Ok(Self::Minor),
            "major" => Ok(Self::Major),
            other => Err(format!(
                "unknown release level `{other}`: expected patch, minor or major"
            )),
        }
    }
}

/// A plain `major.minor.patch` version (pre-release and build suffixes are refused).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Version {
    major: u64,
    minor: u64,
    patch: u64,
}

impl Version {
    /// Parses `x.y.z`.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let parts: Vec<&str> = text.split('.').collect();
        let number = |part: &str| {
            part.parse::<u64>().map_err(|_| {
                format!("version `{text}` is not `major.minor.patch` (numbers only, no suffix)")
            })
        };
        match parts.as_slice() {
            [major, minor, patch] => Ok(Self {
                major: number(major)?,
                minor: number(minor)?,
                patch: number(patch)?,
            }),
            _ => Err(format!("version `{text}` is not `major.minor.patch`")),
        }
    }

    /// The next version at `level`.
    pub(crate) fn bump(self, level: Level) -> Self {
        match level {
            Level::Patch => Self {
                patch: self.patch + 1,
                ..self
            },
            Level::Minor => Self {
                minor: self.minor + 1,
                patch: 0,
                ..self
            },
            Level::Major => Self {
                major: self.major + 1,
                minor: 0,
                patch: 0,
            },
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// The result of bumping the root manifest.
#[derive(Debug)]
pub(crate) struct Bump {
    /// The version before.
    pub(crate) old: Version,
    /// The version after.
    pub(crate) new: Version,
    /// The manifest text with every occurrence replaced.
    pub(crate) manifest: String,
    /// The internal crates whose `[workspace.dependencies]` version was replaced.
    pub(crate) internal_crates: Vec<String>,
}

/// Bumps the workspace version in the root `Cargo.toml` text: `[workspace.package]
/// version` and the `version = "…"` of every `[workspace.dependencies]` entry that has a
/// `path` (an internal crate).
///
/// Fails if there is no (or more than one) `[workspace.package] version`, or if an
/// internal crate's version differs from it — they must match.
pub(crate) fn bump_manifest(text: &str, level: Level) -> Result<Bump, String> {
    let old = Version::parse(&workspace_version(text)?)?;
    let new = old.bump(level);
    let mut section = String::new();
    let mut manifest = String::with_capacity(text.len() + 16);
    let mut internal_crates = Vec::new();
    let mut mismatches = Vec::new();
    for line in text.split_inclusive('\n') {
        if let Some(header) = section_header(line) {
            section = header.to_owned();
        }
        let replaced = match section.as_str() {
            "workspace.package" if key_of(line) == Some("version") => {
                replace_version(line, &old, &new)
            }
            "workspace.dependencies" if line.contains("path") => {
                match (key_of(line), inline_version(line)) {
                    (Some(name), Some(version)) if version == old.to_string() => {
                        internal_crates.push(name.to_owned());
                        replace_version(line, &old, &new)
                    }
                    (Some(name), Some(version)) => {
                        mismatches.push(format!("{name} = {version}"));
                        None
                    }
                    (Some(name), None) => {
                        mismatches.push(format!("{name} has a path but no version"));
                        None
                    }
                    (None, _) => None,
                }
            }
            _ => None,
        };
        manifest.push_str(replaced.as_deref().unwrap_or(line));
    }
    if !mismatches.is_empty() {
        return Err(format!(
            "internal crates in [workspace.dependencies] must have the workspace version {old}: {}",
            mismatches.join(", ")
        ));
    }
    Ok(Bump {
        old,
        new,
        manifest,
        internal_crates,
    })
}

/// The one `version = "…"` of `[workspace.package]`.
pub(crate) fn workspace_version(text: &str) -> Result<String, String> {
    let mut section = "";
    let mut found = Vec::new();
    for line in text.lines() {
        if let Some(header) = section_header(line) {
            section = header;
        } else if section == "workspace.package" && key_of(line) == Some("version") {
            found.push(quoted_value(line).unwrap_or_default());
        }
    }
    match found.as_slice() {
        [version] if !version.is_empty() => Ok(version.clone()),
        [] => Err("the root Cargo.toml has no `version = \"…\"` in [workspace.package]".to_owned()),
        _ => Err(format!(
            "the root Cargo.toml's [workspace.package] version is not one quoted string: {found:?}"
        )),
    }
}

/// The internal crates (`twat-cache…`) a crate's `Cargo.toml` depends on, in any
/// dependency section (dev-dependencies too: `cargo publish` resolves them as well).
pub(crate) fn internal_dependencies(crate_manifest: &str) -> Vec<String> {
    let mut section = "";
    let mut dependencies = Vec::new();
    for line in crate_manifest.lines() {
        if let Some(header) = section_header(line) {
            section = header;
        } else if section.ends_with("dependencies")
            && let Some(key) = key_of(line)
        {
            let name = key.split('.').next().unwrap_or(key);
            if name.starts_with("twat-cache") && !dependencies.iter().any(|d| d == name) {
                dependencies.push(name.to_owned());
            }
        }
    }
    dependencies
}

/// `[name]` → `name`.
fn section_header(line: &str) -> Option<&str> {
    let line = line.trim();
    line.strip_prefix('[')?.strip_suffix(']').map(str::trim)
}

/// `key = …` → `key` (dotted keys kept whole: `twat-cache-core.workspace`).
fn key_of(line: &str) -> Option<&str> {
    let trimmed = line.trim_start();
    if trimmed.starts_with('#') {
        return None;
    }
    let (key, _) = trimmed.split_once('=')?;
    let key = key.trim();
    (!key.is_empty()).then_some(key)
}

/// The first quoted string after `=` on the line.
fn quoted_value(line: &str) -> Option<String> {
    let (_, value) = line.split_once('=')?;
    let value = value.trim_start().strip_prefix('"')?;
    value.split_once('"').map(|(inside, _)| inside.to_owned())
}

/// `version = "x"` inside an inline table: `x`.
fn inline_version(line: &str) -> Option<String> {
    let start = line.find("version")?;
    quoted_value(&line[start..])
}

/// The line with `version = "old"` replaced by `version = "new"` (the first one after the
/// key, whatever the spacing around `=`).
fn replace_version(line: &str, old: &Version, new: &Version) -> Option<String> {
    let start = line.find("version")?;
    let (before, after) = line.split_at(start);
    let quoted_old = format!("\"{old}\"");
    let at = after.find(&quoted_old)?;
    Some(format!(
        "{before}{}\"{new}\"{}",
        &after[..at],
        &after[at + quoted_old.len()..]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &str = r#"[workspace]
members = ["a"]

[workspace.package]
version = "0.1.0"
edition = "2024"

[workspace.dependencies]
# internal crates
twat-cache = { path = "twat-cache", version = "0.1.0", default-features = false }
twat-cache-core = { path = "twat-cache-core", version="0.1.0" }
# external crates
serde = { version = "0.1.0", features = ["derive"] }
tempfile = "3"

[profile.release]
debug = "line-tables-only"
"#;

    #[test]
    fn versions_bump_by_level() {
        let version = Version::parse("0.1.9").unwrap();
        assert_eq!(version.bump(Level::Patch).to_string(), "0.1.10");
        assert_eq!(version.bump(Level::Minor).to_string(), "0.2.0");
        assert_eq!(version.bump(Level::Major).to_string(), "1.0.0");
        assert!(Version::parse("1.0.0-rc.1").is_err());
        assert!(Version::parse("1.0").is_err());
        assert_eq!(Level::parse("minor"), Ok(Level::Minor));
        assert!(Level::parse("huge").is_err());
    }

    #[test]
    fn bump_changes_the_workspace_and_internal_versions_only() {
        let bump = bump_manifest(MANIFEST, Level::Minor).unwrap();
        assert_eq!(bump.old.to_string(), "0.1.0");
        assert_eq!(bump.new.to_string(), "0.2.0");
        assert_eq!(bump.internal_crates, ["twat-cache", "twat-cache-core"]);
        let expected = MANIFEST
            .replace(
                "version = \"0.1.0\"\nedition",
                "version = \"0.2.0\"\nedition",
            )
            .replace(
                "\"twat-cache\", version = \"0.1.0\"",
                "\"twat-cache\", version = \"0.2.0\"",
            )
            .replace("version=\"0.1.0\" }", "version=\"0.2.0\" }");
        assert_eq!(bump.manifest, expected);
        // The external crate that happens to have the same version is untouched.
        assert!(bump.manifest.contains("serde = { version = \"0.1.0\""));
        assert_eq!(workspace_version(&bump.manifest).unwrap(), "0.2.0");
    }

    #[test]
    fn an_internal_crate_with_another_version_is_an_error() {
        let manifest = MANIFEST.replace("version=\"0.1.0\"", "version=\"0.0.9\"");
        let err = bump_manifest(&manifest, Level::Patch).unwrap_err();
        assert!(err.contains("twat-cache-core = 0.0.9"), "{err}");
        assert!(
            err.contains("must have the workspace version 0.1.0"),
            "{err}"
        );
    }

    #[test]
    fn a_manifest_without_a_workspace_version_is_an_error() {
        let manifest = MANIFEST.replace("version = \"0.1.0\"\nedition", "edition");
        let err = bump_manifest(&manifest, Level::Patch).unwrap_err();
        assert!(err.contains("no `version"), "{err}");
    }

    #[test]
    fn the_real_manifest_bumps() {
        let text = std::fs::read_to_string(crate::workspace_root().join("Cargo.toml")).unwrap();
        let bump = bump_manifest(&text, Level::Patch).unwrap();
        let published = crate::crates::published_in_order(&crate::workspace_root()).unwrap();
        for name in published.iter().map(|p| &p.name) {
            assert!(bump.internal_crates.contains(name), "{name}");
        }
    }

    #[test]
    fn internal_dependencies_come_from_every_dependency_section() {
        let manifest = "[package]\nname = \"twat-cache\"\n\n[dependencies]\ntwat-cache-core.workspace = true\n\
            twat-cache-disk = { workspace = true, optional = true }\nserde.workspace = true\n\n\
            [dev-dependencies]\ntwat-cache-core.workspace = true\ntwat-cache-file.workspace = true\n\n\
            [features]\ntwat-cache-x = []\n";
        assert_eq!(
            internal_dependencies(manifest),
            ["twat-cache-core", "twat-cache-disk", "twat-cache-file"]
        );
    }
}
