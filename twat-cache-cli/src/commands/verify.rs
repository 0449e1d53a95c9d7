//! `twat-cache verify [NAME…] [--repair]`: reads every entry and reports what is corrupt
//! or expired — file engine: content checked against its length, CRC-64 and key
//! digest; disk engine: every envelope decoded. `--repair` removes exactly those.

use std::io::Write;
use std::path::PathBuf;

use serde::Serialize;
use twat_cache_core::Error;
use twat_cache_core::inspect::Verdict;
use twat_cache_disk::inspect as disk;
use twat_cache_file::inspect as file;

use crate::context::{Context, Outcome};
use crate::error::CliError;
use crate::output::{Format, Table, spinner, write_json};
use crate::summary::FolderEngine;
use crate::targets::{Target, resolve_targets};

/// Arguments of `twat-cache verify`.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct VerifyArgs {
    /// Caches to verify (names or folder names); without any, every cache under the root.
    pub(crate) names: Vec<String>,
    /// Remove the corrupt and expired entries found.
    #[arg(long)]
    pub(crate) repair: bool,
}

/// What is wrong with an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum ProblemKind {
    /// It does not decode or fails its checks.
    Corrupt,
    /// Its time-to-live has passed.
    Expired,
}

/// One entry that is not sound.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Problem {
    /// The entry: disk, `keyspace/key-hex`; file, the key digest (its index file name).
    pub(crate) entry: String,
    /// Corrupt or expired.
    pub(crate) kind: ProblemKind,
    /// Why (for corrupt entries).
    pub(crate) reason: Option<String>,
}

/// The verdict on one cache folder. JSON field names are stable.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Verified {
    /// The folder's name under the root.
    pub(crate) name: String,
    /// The folder.
    pub(crate) path: PathBuf,
    /// `disk` or `file`.
    pub(crate) engine: FolderEngine,
    /// Held by another process: not checked.
    pub(crate) in_use: bool,
    /// Entries read.
    pub(crate) checked: u64,
    /// Corrupt entries found.
    pub(crate) corrupt: u64,
    /// Expired entries found.
    pub(crate) expired: u64,
    /// Entries removed (with `--repair`).
    pub(crate) removed: u64,
    /// The entries found, corrupt or expired.
    pub(crate) problems: Vec<Problem>,
}

/// The JSON form: `{"root", "repair", "sound", "caches": [Verified…]}`.
#[derive(Debug, Serialize)]
struct Report<'a> {
    root: &'a std::path::Path,
    repair: bool,
    sound: bool,
    caches: &'a [Verified],
}

/// Verifies the caches and prints what it found; [`Outcome::Problems`] when anything
/// was corrupt or expired (even when `--repair` removed it), or a cache could not be
/// checked because another process holds it.
///
/// # Errors
///
/// [`CliError::Usage`] for a NAME that is not a cache folder, [`CliError::Cache`] when a
/// folder cannot be read (or repaired), [`CliError::Output`] when stdout cannot be
/// written.
pub(crate) fn run(
    args: &VerifyArgs,
    context: &Context,
    out: &mut dyn Write,
) -> Result<Outcome, CliError> {
    let targets = resolve_targets(&context.root, &args.names)?;
    let progress = spinner("entries checked");
    let mut results = Vec::new();
    for target in &targets {
        results.push(verify(target, args.repair, &|| progress.inc(1))?);
    }
    progress.finish_and_clear();
    let sound = results
        .iter()
        .all(|result| result.problems.is_empty() && !result.in_use);
    match context.format {
        Format::Json => write_json(
            out,
            &Report {
                root: context.root.path(),
                repair: args.repair,
                sound,
                caches: &results,
            },
        )?,
        Format::Table => write!(out, "{}", render(&results, args.repair))?,
    }
    Ok(if sound {
        Outcome::Sound
    } else {
        Outcome::Problems
    })
}

/// Verifies one cache folder, calling `tick` per entry read.
fn verify(target: &Target, repair: bool, tick: &dyn Fn()) -> Result<Verified, CliError> {
    let mut result = Verified {
        name: target.name.clone(),
        path: target.path.clone(),
        engine: target.engine,
        in_use: false,
        checked: 0,
        corrupt: 0,
        expired: 0,
        removed: 0,
        problems: Vec::new(),
    };
    let mut note = |entry: String, problem: Option<(ProblemKind, Option<String>)>| {
        tick();
        let Some((kind, reason)) = problem else {
            return false;
        };
        match kind {
            ProblemKind::Corrupt => result.corrupt += 1,
            ProblemKind::Expired => result.expired += 1,
        }
        result.problems.push(Problem {
            entry,
            kind,
            reason,
        });
        repair
    };
    let scanned = match target.engine {
        FolderEngine::Disk => disk::scan_entries(&target.path, |entry| {
            let problem = match entry.condition {
                disk::EntryCondition::Live => None,
                disk::EntryCondition::Expired => Some((ProblemKind::Expired, None)),
                disk::EntryCondition::Garbled(reason) => {
                    Some((ProblemKind::Corrupt, Some(reason.clone())))
                }
                _ => Some((ProblemKind::Corrupt, None)),
            };
            let id = || format!("{}/{}", entry.keyspace, short_hex(entry.key));
            Verdict::remove_if(note(
                if problem.is_some() {
                    id()
                } else {
                    String::new()
                },
                problem,
            ))
        })
        .map(|report| (report.visited, report.removed)),
        FolderEngine::File => file::scan_entries(&target.path, true, |entry| {
            let problem = match entry.condition {
                file::EntryCondition::Live => None,
                file::EntryCondition::Expired => Some((ProblemKind::Expired, None)),
                file::EntryCondition::Corrupt(reason) => {
                    Some((ProblemKind::Corrupt, Some(reason.clone())))
                }
                _ => Some((ProblemKind::Corrupt, None)),
            };
            let id = entry
                .index_path
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
                .unwrap_or_default();
            Verdict::remove_if(note(id, problem))
        })
        .map(|report| (report.visited, report.removed)),
        FolderEngine::Symlink | FolderEngine::Other => Ok((0, 0)),
    };
    match scanned {
        Ok((checked, removed)) => {
            result.checked = checked;
            result.removed = removed;
        }
        Err(Error::Locked(_)) => {
            result.in_use = true;
            result.problems.clear();
            result.corrupt = 0;
            result.expired = 0;
        }
        Err(err) => return Err(err.into()),
    }
    Ok(result)
}

/// The table and problem lines for people.
fn render(results: &[Verified], repair: bool) -> String {
    if results.is_empty() {
        return "no caches\n".to_owned();
    }
    let mut table = Table::new(&[
        ("NAME", false),
        ("ENGINE", false),
        ("CHECKED", true),
        ("CORRUPT", true),
        ("EXPIRED", true),
        ("REMOVED", true),
        ("STATUS", false),
    ]);
    for result in results {
        let status = if result.in_use {
            "in use by another process, not checked"
        } else if result.problems.is_empty() {
            "sound"
        } else if repair {
            "repaired"
        } else {
            "problems"
        };
        table.push(vec![
            result.name.clone(),
            result.engine.as_str().to_owned(),
            result.checked.to_string(),
            result.corrupt.to_string(),
            result.expired.to_string(),
            result.removed.to_string(),
            status.to_owned(),
        ]);
    }
    let mut text = table.render();
    for result in results {
        for problem in &result.problems {
            let kind = match problem.kind {
                ProblemKind::Corrupt => "corrupt",
                ProblemKind::Expired => "expired",
            };
            text.push_str(&format!("{}: {kind} {}", result.name, problem.entry));
            if let Some(reason) = &problem.reason {
                text.push_str(&format!(": {reason}"));
            }
            text.push('\n');
        }
    }
    let found: usize = results.iter().map(|result| result.problems.len()).sum();
    if found > 0 && !repair {
        text.push_str("run with --repair to remove them\n");
    }
    text
}

/// The first 16 bytes of a key in hex, with `…` when it is longer.
fn short_hex(bytes: &[u8]) -> String {
    let mut hex: String = bytes
        .iter()
        .take(16)
        .map(|byte| format!("{byte:02x}"))
        .collect();
    if bytes.len() > 16 {
        hex.push('…');
    }
    hex
}
