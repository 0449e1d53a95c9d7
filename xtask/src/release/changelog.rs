//! CHANGELOG.md (keep-a-changelog style): a release needs a `## [x.y.z]` section with
//! at least one line in it.

use super::manifest::Version;

/// Checks that `changelog` has a non-empty `## [version]` section (`## [0.2.0] - 2026-11-25`
/// or `## [0.2.0]`).
///
/// The error says what to do: if there is an `## [Unreleased]` section, rename it.
pub(crate) fn check_entry(changelog: &str, version: &Version) -> Result<(), String> {
    let wanted = format!("[{version}]");
    let mut lines = changelog.lines();
    let found = lines
        .by_ref()
        .any(|line| heading_title(line) == Some(&wanted));
    if found {
        let has_content = lines
            .take_while(|line| heading_title(line).is_none())
            .any(|line| !line.trim().is_empty());
        return if has_content {
            Ok(())
        } else {
            Err(format!(
                "CHANGELOG.md: the `## {wanted}` section is empty: list what changed in {version}"
            ))
        };
    }
    let has_unreleased = changelog
        .lines()
        .any(|line| heading_title(line).is_some_and(|t| t.eq_ignore_ascii_case("[unreleased]")));
    if has_unreleased {
        Err(format!(
            "CHANGELOG.md has no `## {wanted}` entry: rename `## [Unreleased]` to \
             `## {wanted} - YYYY-MM-DD` first (and add a new, empty `## [Unreleased]` above it)"
        ))
    } else {
        Err(format!(
            "CHANGELOG.md has no `## {wanted}` entry: add a `## {wanted} - YYYY-MM-DD` section \
             listing what changed"
        ))
    }
}

/// `## [0.2.0] - 2026-11-25` → `[0.2.0]`; `None` for anything but a level-2 heading.
fn heading_title(line: &str) -> Option<&str> {
    let title = line.strip_prefix("## ")?.trim();
    Some(title.split_whitespace().next().unwrap_or(title))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(text: &str) -> Version {
        Version::parse(text).unwrap()
    }

    const CHANGELOG: &str = "# Changelog\n\n## [Unreleased]\n\n### Added\n- Something.\n\n\
        ## [0.2.0] - 2026-11-25\n\n### Fixed\n- A bug.\n\n## [0.1.0]\n\n## [0.0.1]\n- First.\n";

    #[test]
    fn a_section_for_the_version_passes() {
        assert_eq!(check_entry(CHANGELOG, &version("0.2.0")), Ok(()));
        assert_eq!(check_entry(CHANGELOG, &version("0.0.1")), Ok(()));
    }

    #[test]
    fn a_missing_entry_says_to_rename_unreleased() {
        let err = check_entry(CHANGELOG, &version("0.3.0")).unwrap_err();
        assert!(
            err.contains("rename `## [Unreleased]` to `## [0.3.0] - YYYY-MM-DD` first"),
            "{err}"
        );
    }

    #[test]
    fn a_missing_entry_without_unreleased_says_to_add_one() {
        let err = check_entry("# Changelog\n", &version("0.1.1")).unwrap_err();
        assert!(
            err.contains("add a `## [0.1.1] - YYYY-MM-DD` section"),
            "{err}"
        );
    }

    #[test]
    fn an_empty_section_is_an_error() {
        let err = check_entry(CHANGELOG, &version("0.1.0")).unwrap_err();
        assert!(err.contains("section is empty"), "{err}");
    }

    #[test]
    fn a_version_inside_text_or_a_deeper_heading_does_not_count() {
        let text = "# Changelog\n\nSee [0.3.0] notes.\n### [0.3.0]\n- no\n";
        assert!(check_entry(text, &version("0.3.0")).is_err());
        // `[0.3.0]` does not match `[0.3.0-rc]` or `[0.3.00]`.
        assert!(check_entry("## [0.3.00]\n- x\n", &version("0.3.0")).is_err());
    }

    #[test]
    fn the_real_changelog_is_well_formed() {
        let text = std::fs::read_to_string(crate::workspace_root().join("CHANGELOG.md")).unwrap();
        assert!(
            text.lines()
                .any(|l| heading_title(l) == Some("[Unreleased]"))
        );
    }
}
