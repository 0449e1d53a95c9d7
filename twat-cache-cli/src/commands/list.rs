//! `twat-cache list`: one row per folder under the cache root.

use std::io::Write;
use std::path::Path;
use std::time::SystemTime;

use serde::Serialize;

use crate::context::{Context, Outcome};
use crate::error::CliError;
use crate::output::{Format, Table, human_size, write_json};
use crate::redis_server::{self, RedisCacheRow};
use crate::summary::{CacheSummary, list_caches, render_list};

/// Arguments of `twat-cache list`.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct ListArgs {
    /// List the caches on this Redis server (`twat_cache:*` keys) instead of the root;
    /// `redis+cluster://h1:p1,h2:p2` for every primary of a cluster, `rediss://` for TLS
    /// (a private CA in `TWAT_CACHE_REDIS_CA`).
    #[arg(long, value_name = "URL")]
    pub(crate) redis: Option<String>,
}

/// The JSON form: `{"root", "caches": [CacheSummary…]}`.
#[derive(Debug, Serialize)]
struct Listing<'a> {
    root: &'a Path,
    caches: &'a [CacheSummary],
}

/// The JSON form with `--redis`: `{"caches": [RedisCacheRow…]}`.
#[derive(Debug, Serialize)]
struct RedisListing<'a> {
    caches: &'a [RedisCacheRow],
}

/// Prints every folder under the root (or every cache on a Redis server).
///
/// # Errors
///
/// [`CliError::Cache`] when the root or a folder cannot be read, [`CliError::Output`]
/// when stdout cannot be written.
pub(crate) fn run(
    args: &ListArgs,
    context: &Context,
    out: &mut dyn Write,
) -> Result<Outcome, CliError> {
    if let Some(url) = &args.redis {
        let rows = redis_server::list(url)?;
        match context.format {
            Format::Table => write!(out, "{}", render_redis(&rows))?,
            Format::Json => write_json(out, &RedisListing { caches: &rows })?,
        }
        return Ok(Outcome::Sound);
    }
    let caches = list_caches(&context.root)?;
    match context.format {
        Format::Table => write!(out, "{}", render_list(&caches, SystemTime::now()))?,
        Format::Json => write_json(
            out,
            &Listing {
                root: context.root.path(),
                caches: &caches,
            },
        )?,
    }
    Ok(Outcome::Sound)
}

/// The table of the caches on a Redis server (also used by `stats --redis`).
pub(crate) fn render_redis(rows: &[RedisCacheRow]) -> String {
    if rows.is_empty() {
        return "no caches\n".to_owned();
    }
    let mut table = Table::new(&[
        ("NAME", false),
        ("VERSION", true),
        ("ENTRIES", true),
        ("WITH TTL", true),
        ("LEASES", true),
        ("VALUES", true),
    ]);
    for row in rows {
        table.push(vec![
            row.name.clone(),
            row.version.clone(),
            row.entries.to_string(),
            row.expiring.to_string(),
            row.leases.to_string(),
            human_size(row.value_bytes),
        ]);
    }
    table.render()
}
