//! `twat-cache purge NAME… [--older-than 7d] [--expired] [--larger-than 100MiB]`:
//! removes the entries that match any of the given rules.

use std::io::Write;
use std::time::{Duration, SystemTime};

use crate::context::{Context, Outcome};
use crate::error::CliError;
use crate::removal::{EntryFacts, remove_and_report};
use crate::summary::FolderEngine;
use crate::targets::resolve_targets;

/// Arguments of `twat-cache purge`. An entry is removed when it matches any rule given.
#[derive(Debug, Clone, clap::Args)]
#[command(group(
    clap::ArgGroup::new("rules")
        .required(true)
        .multiple(true)
        .args(["older_than", "expired", "larger_than"])
))]
pub(crate) struct PurgeArgs {
    /// Caches to purge (names or folder names).
    #[arg(required = true)]
    pub(crate) names: Vec<String>,
    /// Entries not used (written or read) for this long: `7d`, `12h`, `90min`. File
    /// engine only: the disk engine keeps no time per entry.
    #[arg(long, value_name = "AGE", value_parser = humantime::parse_duration)]
    pub(crate) older_than: Option<Duration>,
    /// Entries whose time-to-live has passed.
    #[arg(long)]
    pub(crate) expired: bool,
    /// Entries larger than this: `100MiB`, `2GB`, `4096`.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub(crate) larger_than: Option<u64>,
}

/// Purges the caches and prints what it removed; [`Outcome::Problems`] when a cache was
/// held by another process (and so left alone).
///
/// # Errors
///
/// [`CliError::Usage`] for a NAME that is not a cache folder or `--older-than` on a disk
/// cache (checked before anything is removed), [`CliError::Cache`] when a folder cannot
/// be read or written, [`CliError::Output`] when stdout cannot be written.
pub(crate) fn run(
    args: &PurgeArgs,
    context: &Context,
    out: &mut dyn Write,
) -> Result<Outcome, CliError> {
    let targets = resolve_targets(&context.root, &args.names)?;
    if args.older_than.is_some()
        && let Some(target) = targets.iter().find(|t| t.engine == FolderEngine::Disk)
    {
        return Err(CliError::usage(format!(
            "--older-than cannot apply to {}: the disk engine keeps no time per entry (use --expired or --larger-than)",
            target.name
        )));
    }
    let cutoff = args.older_than.map(|age| {
        SystemTime::now()
            .checked_sub(age)
            .unwrap_or(SystemTime::UNIX_EPOCH)
    });
    let rule = |facts: &EntryFacts| {
        (args.expired && facts.expired)
            || args.larger_than.is_some_and(|limit| facts.size > limit)
            || cutoff
                .zip(facts.last_used)
                .is_some_and(|(cutoff, used)| used < cutoff)
    };
    remove_and_report(&targets, &rule, "entries looked at", context, out)
}

/// A size such as `100MiB`, `1.5 GB` or `4096` (bytes).
fn parse_size(text: &str) -> Result<u64, String> {
    text.trim()
        .parse::<bytesize::ByteSize>()
        .map(|size| size.as_u64())
        .map_err(|err| format!("{text:?} is not a size like 100MiB or 4096 ({err})"))
}
