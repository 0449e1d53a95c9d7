//! `twat-cache stats NAME`: one cache folder in detail.

use std::io::Write;
use std::time::SystemTime;

use crate::commands::list::render_redis;
use crate::context::{Context, Outcome};
use crate::error::CliError;
use crate::location::Entry;
use crate::output::{Format, count, human_age, human_size, write_json};
use crate::redis_server::{self, RedisCacheRow};
use crate::summary::CacheSummary;
use crate::targets::resolve_targets;

/// Arguments of `twat-cache stats`.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct StatsArgs {
    /// The cache (name or folder name; with `--redis`, the cache name).
    pub(crate) name: String,
    /// Show the cache NAME on this Redis server (one row per key version; the URL forms
    /// of `list --redis`).
    #[arg(long, value_name = "URL")]
    pub(crate) redis: Option<String>,
}

/// The JSON form with `--redis`: `{"caches": [RedisCacheRow…]}`.
#[derive(Debug, serde::Serialize)]
struct RedisStats<'a> {
    caches: &'a [RedisCacheRow],
}

/// Prints the folder's summary as `key: value` lines (or its JSON object, the same
/// fields as one row of `list --json`).
///
/// # Errors
///
/// [`CliError::Usage`] when NAME is not a cache folder, [`CliError::Cache`] when it
/// cannot be read, [`CliError::Output`] when stdout cannot be written.
pub(crate) fn run(
    args: &StatsArgs,
    context: &Context,
    out: &mut dyn Write,
) -> Result<Outcome, CliError> {
    if let Some(url) = &args.redis {
        let mut rows = redis_server::list(url)?;
        rows.retain(|row| row.name == args.name);
        if rows.is_empty() {
            return Err(CliError::usage(format!(
                "no cache named {:?} on the Redis server",
                args.name
            )));
        }
        match context.format {
            Format::Table => write!(out, "{}", render_redis(&rows))?,
            Format::Json => write_json(out, &RedisStats { caches: &rows })?,
        }
        return Ok(Outcome::Sound);
    }
    let targets = resolve_targets(&context.root, std::slice::from_ref(&args.name))?;
    let Some(target) = targets.first() else {
        return Err(CliError::usage(format!("no cache named {:?}", args.name)));
    };
    let summary = CacheSummary::describe(&target.name, &target.path, Entry::Folder)?;
    if context.format == Format::Json {
        write_json(out, &summary)?;
        return Ok(Outcome::Sound);
    }
    let now = SystemTime::now();
    let time = |time: Option<SystemTime>| match time {
        Some(at) => format!(
            "{} ({})",
            humantime::format_rfc3339_seconds(at),
            human_age(Some(at), now)
        ),
        None => "-".to_owned(),
    };
    let caches_label = match summary.engine.as_str() {
        "disk" => "caches (keyspaces)",
        _ => "caches (owners)",
    };
    let lines = [
        ("name", summary.name.clone()),
        ("path", summary.path.display().to_string()),
        ("engine", summary.engine.as_str().to_owned()),
        (
            "in use",
            if summary.in_use {
                "yes, by another process (entries cannot be read now)".to_owned()
            } else {
                "no".to_owned()
            },
        ),
        (caches_label, count(summary.caches)),
        ("entries", count(summary.entries)),
        ("with a ttl", count(summary.expiring)),
        ("expired, not yet removed", count(summary.expired)),
        ("damaged", count(summary.damaged)),
        (
            "on disk",
            format!(
                "{} ({} bytes)",
                human_size(summary.bytes_on_disk),
                summary.bytes_on_disk
            ),
        ),
        ("oldest", time(summary.oldest)),
        ("newest", time(summary.newest)),
    ];
    let width = lines.iter().map(|(key, _)| key.len()).max().unwrap_or(0);
    for (key, value) in lines {
        writeln!(out, "{key:<width$}  {value}")?;
    }
    Ok(Outcome::Sound)
}
