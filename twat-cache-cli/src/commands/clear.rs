//! `twat-cache clear NAME…|--all`: removes every entry of the named caches (or of every
//! cache under the root), after a confirmation on a terminal or with `--yes`.

use std::io::{self, BufRead, Write};

use serde::Serialize;

use crate::context::{Context, Outcome};
use crate::error::CliError;
use crate::output::{Format, Table, write_json};
use crate::redis_server;
use crate::removal::remove_and_report;
use crate::targets::resolve_targets;

/// Arguments of `twat-cache clear`.
#[derive(Debug, Clone, clap::Args)]
#[command(group(clap::ArgGroup::new("which").required(true).args(["names", "all"])))]
pub(crate) struct ClearArgs {
    /// Caches to clear (names or folder names).
    pub(crate) names: Vec<String>,
    /// Every disk and file cache under the root (other folders and symlinks are left
    /// alone).
    #[arg(long)]
    pub(crate) all: bool,
    /// Clear these caches (or `--all`) on this Redis server instead of under the root:
    /// their `twat_cache:<name>:*` entries and leases (the URL forms of `list --redis`).
    #[arg(long, value_name = "URL")]
    pub(crate) redis: Option<String>,
    /// Do not ask for confirmation (needed when stdin is not a terminal).
    #[arg(long, short = 'y')]
    pub(crate) yes: bool,
}

/// Clears the caches; [`Outcome::Problems`] when one was held by another process (and
/// so left alone) or the question was answered no.
///
/// # Errors
///
/// [`CliError::Usage`] for a NAME that is not a cache folder, or no `--yes` when stdin
/// is not a terminal; [`CliError::Cache`] when a folder cannot be read or written;
/// [`CliError::Output`] when stdout cannot be written.
pub(crate) fn run(
    args: &ClearArgs,
    context: &Context,
    out: &mut dyn Write,
) -> Result<Outcome, CliError> {
    if let Some(url) = &args.redis {
        return clear_redis(url, args, context, out);
    }
    let names: &[String] = if args.all { &[] } else { &args.names };
    let targets = resolve_targets(&context.root, names)?;
    if targets.is_empty() {
        writeln!(out, "no caches")?;
        return Ok(Outcome::Sound);
    }
    let listed: Vec<&str> = targets.iter().map(|target| target.name.as_str()).collect();
    let place = context.root.path().display().to_string();
    if !confirmed(args, context, &listed.join(", "), &place)? {
        return Ok(Outcome::Problems);
    }
    remove_and_report(&targets, &|_| true, "entries removed", context, out)
}

/// `clear --redis`: removes the named caches' keys (or every `twat_cache:` key with
/// `--all`) on the server.
fn clear_redis(
    url: &str,
    args: &ClearArgs,
    context: &Context,
    out: &mut dyn Write,
) -> Result<Outcome, CliError> {
    let which = if args.all {
        "every cache".to_owned()
    } else {
        args.names.join(", ")
    };
    if !confirmed(args, context, &which, "the Redis server")? {
        return Ok(Outcome::Problems);
    }
    let names = (!args.all).then_some(args.names.as_slice());
    let removed = redis_server::clear(url, names)?;
    let rows: Vec<RedisCleared> = removed
        .into_iter()
        .map(|(name, keys)| RedisCleared {
            name,
            removed: keys,
        })
        .collect();
    match context.format {
        Format::Json => write_json(out, &RedisReport { caches: &rows })?,
        Format::Table if rows.is_empty() => writeln!(out, "no keys to remove")?,
        Format::Table => {
            let mut table = Table::new(&[("NAME", false), ("REMOVED KEYS", true)]);
            for row in &rows {
                table.push(vec![row.name.clone(), row.removed.to_string()]);
            }
            write!(out, "{}", table.render())?;
        }
    }
    Ok(Outcome::Sound)
}

/// One cache cleared on a Redis server. JSON field names are stable.
#[derive(Debug, Serialize)]
struct RedisCleared {
    name: String,
    removed: u64,
}

/// The JSON form with `--redis`: `{"caches": [{"name", "removed"}…]}`.
#[derive(Debug, Serialize)]
struct RedisReport<'a> {
    caches: &'a [RedisCleared],
}

/// Whether to go ahead: `--yes`, or a person at the terminal answering yes to clearing
/// `which` in `place`.
///
/// # Errors
///
/// [`CliError::Usage`] without `--yes` when stdin is not a terminal.
fn confirmed(
    args: &ClearArgs,
    context: &Context,
    which: &str,
    place: &str,
) -> Result<bool, CliError> {
    if args.yes {
        return Ok(true);
    }
    if !context.interactive {
        return Err(CliError::usage(
            "clear removes entries for good: pass --yes to confirm (stdin is not a terminal)",
        ));
    }
    let mut stderr = io::stderr().lock();
    write!(stderr, "Clear every entry of {which} in {place}? [y/N] ")?;
    stderr.flush()?;
    let mut answer = String::new();
    io::stdin().lock().read_line(&mut answer)?;
    let yes = matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes");
    if !yes {
        writeln!(stderr, "nothing cleared")?;
    }
    Ok(yes)
}
