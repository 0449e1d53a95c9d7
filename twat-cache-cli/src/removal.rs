//! Removing entries from a cache folder through its engine's `inspect` API: what `purge`
//! and `clear` share. The engines do the removing (the disk engine under its folder
//! lock, in one batch), so nothing outside the folder is touched and no link is followed.

use std::time::SystemTime;

use serde::Serialize;
use twat_cache_core::Error;
use twat_cache_core::inspect::Verdict;
use twat_cache_disk::inspect as disk;
use twat_cache_file::inspect as file;

use crate::context::{Context, Outcome};
use crate::error::CliError;
use crate::output::{Format, Table, human_size, spinner, write_json};
use crate::summary::FolderEngine;
use crate::targets::Target;

/// What a removal rule may look at.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EntryFacts {
    /// Bytes (disk: key plus value; file: index plus content on disk).
    pub(crate) size: u64,
    /// Last use (file engine); `None` where the engine keeps none (disk).
    pub(crate) last_used: Option<SystemTime>,
    /// Whether its time-to-live has passed.
    pub(crate) expired: bool,
}

/// What removing from one folder did. JSON field names are stable.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Removed {
    /// The folder's name under the root.
    pub(crate) name: String,
    /// `disk` or `file`.
    pub(crate) engine: FolderEngine,
    /// Held by another process: nothing was removed.
    pub(crate) in_use: bool,
    /// Entries looked at.
    pub(crate) checked: u64,
    /// Entries removed.
    pub(crate) removed: u64,
    /// Their bytes.
    pub(crate) removed_bytes: u64,
}

/// Removes the entries of `target` for which `rule` says `true`, calling `tick` per
/// entry looked at. A disk folder held by another process is reported
/// [`in_use`](Removed::in_use), not an error.
///
/// # Errors
///
/// [`CliError::Cache`] when the folder cannot be read or written.
pub(crate) fn remove_where(
    target: &Target,
    rule: &dyn Fn(&EntryFacts) -> bool,
    tick: &dyn Fn(),
) -> Result<Removed, CliError> {
    let mut removed = Removed {
        name: target.name.clone(),
        engine: target.engine,
        in_use: false,
        checked: 0,
        removed: 0,
        removed_bytes: 0,
    };
    let scanned = match target.engine {
        FolderEngine::Disk => disk::scan_entries(&target.path, |entry| {
            tick();
            let facts = EntryFacts {
                size: entry.size,
                last_used: None,
                expired: matches!(entry.condition, disk::EntryCondition::Expired),
            };
            Verdict::remove_if(rule(&facts))
        })
        .map(|report| (report.visited, report.removed, report.removed_bytes)),
        FolderEngine::File => file::scan_entries(&target.path, false, |entry| {
            tick();
            let facts = EntryFacts {
                size: entry.size,
                last_used: entry.last_used,
                expired: matches!(entry.condition, file::EntryCondition::Expired),
            };
            Verdict::remove_if(rule(&facts))
        })
        .map(|report| (report.visited, report.removed, report.removed_bytes)),
        FolderEngine::Symlink | FolderEngine::Other => Ok((0, 0, 0)),
    };
    match scanned {
        Ok((checked, count, bytes)) => {
            removed.checked = checked;
            removed.removed = count;
            removed.removed_bytes = bytes;
        }
        Err(Error::Locked(_)) => removed.in_use = true,
        Err(err) => return Err(err.into()),
    }
    Ok(removed)
}

/// The JSON form of what `purge` and `clear` removed: `{"root", "caches": [Removed…]}`.
#[derive(Debug, Serialize)]
struct Report<'a> {
    root: &'a std::path::Path,
    caches: &'a [Removed],
}

/// Removes from each of `targets` the entries `rule` picks ([`remove_where`]), with a
/// spinner counting entries as `what`, and prints what was removed, as a table or JSON;
/// [`Outcome::Problems`] when a cache was held by another process (and so left alone).
///
/// # Errors
///
/// [`CliError::Cache`] when a folder cannot be read or written, [`CliError::Output`]
/// when `out` cannot be written.
pub(crate) fn remove_and_report(
    targets: &[Target],
    rule: &dyn Fn(&EntryFacts) -> bool,
    what: &'static str,
    context: &Context,
    out: &mut dyn std::io::Write,
) -> Result<Outcome, CliError> {
    let progress = spinner(what);
    let mut results = Vec::new();
    for target in targets {
        results.push(remove_where(target, rule, &|| progress.inc(1))?);
    }
    progress.finish_and_clear();
    match context.format {
        Format::Json => write_json(
            out,
            &Report {
                root: context.root.path(),
                caches: &results,
            },
        )?,
        Format::Table => write!(out, "{}", render_removed(&results))?,
    }
    Ok(if results.iter().any(|result| result.in_use) {
        Outcome::Problems
    } else {
        Outcome::Sound
    })
}

/// The table of what `purge` and `clear` removed.
#[must_use]
fn render_removed(results: &[Removed]) -> String {
    let mut table = Table::new(&[
        ("NAME", false),
        ("ENGINE", false),
        ("CHECKED", true),
        ("REMOVED", true),
        ("FREED", true),
        ("STATUS", false),
    ]);
    for result in results {
        table.push(vec![
            result.name.clone(),
            result.engine.as_str().to_owned(),
            result.checked.to_string(),
            result.removed.to_string(),
            human_size(result.removed_bytes),
            if result.in_use {
                "in use by another process, left alone"
            } else {
                "done"
            }
            .to_owned(),
        ]);
    }
    table.render()
}
