//! The Redis side of `list`, `stats` and `clear` (`--redis URL`): the `twat_cache:*` keys
//! of one server or of every primary of a cluster (`redis+cluster://h1:p1,h2:p2`; TLS with
//! `rediss://`, as the engine accepts them), found with `SCAN` (never `KEYS`, which blocks
//! the server) one page at a time, measured with pipelined `STRLEN`/`PTTL`, removed with
//! `UNLINK`.
//!
//! The key layout is the Redis engine's (`twat-cache-redis`):
//! `twat_cache:<name>:<version>:<digest>` for an entry and
//! `twat_cache:<name>:<version>:lease:<digest>` for a computation lease. A cache name may
//! itself contain `:`, so keys are read from the right.

use std::collections::BTreeMap;

use redis::ConnectionLike;
use serde::Serialize;
use twat_cache_core::Error;
use twat_cache_redis::{KeyScanner, RedisOptions};

use crate::error::CliError;

/// Keys asked for per `SCAN` page.
const PAGE: usize = 1000;

/// One cache on the server. JSON field names are stable.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub(crate) struct RedisCacheRow {
    /// The cache name.
    pub(crate) name: String,
    /// Its key version.
    pub(crate) version: String,
    /// Entries stored.
    pub(crate) entries: u64,
    /// Computation leases held right now.
    pub(crate) leases: u64,
    /// Entries with a time-to-live.
    pub(crate) expiring: u64,
    /// Bytes of the stored values (`STRLEN`, keys and server overhead not counted).
    pub(crate) value_bytes: u64,
}

/// What one key is.
#[derive(Debug, PartialEq, Eq)]
enum KeyKind<'a> {
    Entry { name: &'a str, version: &'a str },
    Lease { name: &'a str, version: &'a str },
}

/// Reads a `twat_cache:` key from the right; `None` for keys of another shape.
fn parse_key(key: &str) -> Option<KeyKind<'_>> {
    let rest = key.strip_prefix("twat_cache:")?;
    let (head, digest) = rest.rsplit_once(':')?;
    if digest.is_empty() || !digest.bytes().all(|byte| byte.is_ascii_hexdigit()) {
        return None;
    }
    let (head, lease) = match head.strip_suffix(":lease") {
        Some(head) => (head, true),
        None => (head, false),
    };
    let (name, version) = head.rsplit_once(':')?;
    if name.is_empty() || version.is_empty() || !version.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(if lease {
        KeyKind::Lease { name, version }
    } else {
        KeyKind::Entry { name, version }
    })
}

/// A connection to the server or cluster at `url` (the Redis engine's URL forms and TLS
/// settings, e.g. `TWAT_CACHE_REDIS_CA`).
fn connect(url: &str) -> Result<KeyScanner, CliError> {
    KeyScanner::open(url, RedisOptions::new()).map_err(|err| match err {
        Error::Config(err) => CliError::usage(format!("--redis: {err}")),
        err => CliError::Redis(err.to_string()),
    })
}

#[allow(
    clippy::needless_pass_by_value,
    reason = "used as `map_err(redis_error)`"
)]
fn redis_error(err: redis::RedisError) -> CliError {
    CliError::Redis(err.to_string())
}

/// Visits the `twat_cache:*` keys page by page (on a cluster, every primary's); keys
/// that are not UTF-8 are not the engine's and are skipped.
fn for_each_page(
    url: &str,
    mut visit: impl FnMut(&mut dyn ConnectionLike, Vec<String>) -> redis::RedisResult<()>,
) -> Result<(), CliError> {
    connect(url)?
        .for_each_page("twat_cache:*", PAGE, |connection, keys| {
            let keys: Vec<String> = keys
                .into_iter()
                .filter_map(|key| String::from_utf8(key).ok())
                .collect();
            if keys.is_empty() {
                return Ok(());
            }
            visit(connection, keys)
        })
        .map_err(redis_error)
}

/// One row per cache on the server, sorted by name and version.
///
/// # Errors
///
/// [`CliError::Usage`] for a malformed URL, [`CliError::Redis`] when the server cannot be
/// reached or answers with an error.
pub(crate) fn list(url: &str) -> Result<Vec<RedisCacheRow>, CliError> {
    let mut rows: BTreeMap<(String, String), RedisCacheRow> = BTreeMap::new();
    for_each_page(url, |connection, keys| {
        let entries: Vec<(&String, &str, &str)> = keys
            .iter()
            .filter_map(|key| match parse_key(key)? {
                KeyKind::Entry { name, version } => Some((key, name, version)),
                KeyKind::Lease { name, version } => {
                    rows.entry((name.to_owned(), version.to_owned()))
                        .or_insert_with(|| row(name, version))
                        .leases += 1;
                    None
                }
            })
            .collect();
        let mut pipe = redis::pipe();
        for (key, ..) in &entries {
            pipe.cmd("STRLEN")
                .arg(key.as_str())
                .cmd("PTTL")
                .arg(key.as_str());
        }
        let measured: Vec<i64> = if entries.is_empty() {
            Vec::new()
        } else {
            pipe.query(connection)?
        };
        for ((_, name, version), pair) in entries.iter().zip(measured.chunks(2)) {
            let [length, ttl] = pair else { continue };
            if *ttl == -2 {
                continue; // gone between SCAN and STRLEN
            }
            let row = rows
                .entry(((*name).to_owned(), (*version).to_owned()))
                .or_insert_with(|| row(name, version));
            row.entries += 1;
            row.value_bytes = row.value_bytes.saturating_add(length.unsigned_abs());
            if *ttl >= 0 {
                row.expiring += 1;
            }
        }
        Ok(())
    })?;
    Ok(rows.into_values().collect())
}

fn row(name: &str, version: &str) -> RedisCacheRow {
    RedisCacheRow {
        name: name.to_owned(),
        version: version.to_owned(),
        ..RedisCacheRow::default()
    }
}

/// Removes the entries and leases of the caches named `names` (every cache when `None`);
/// returns the keys removed per cache name.
///
/// # Errors
///
/// As for [`list`].
pub(crate) fn clear(
    url: &str,
    names: Option<&[String]>,
) -> Result<BTreeMap<String, u64>, CliError> {
    let mut removed: BTreeMap<String, u64> = BTreeMap::new();
    for_each_page(url, |connection, keys| {
        let doomed: Vec<&String> = keys
            .iter()
            .filter(|key| {
                let Some(KeyKind::Entry { name, .. } | KeyKind::Lease { name, .. }) =
                    parse_key(key)
                else {
                    return false;
                };
                let wanted = names.is_none_or(|names| names.iter().any(|n| n == name));
                if wanted {
                    *removed.entry(name.to_owned()).or_default() += 1;
                }
                wanted
            })
            .collect();
        if !doomed.is_empty() {
            // A cluster splits a multi-key `UNLINK` by slot.
            redis::cmd("UNLINK").arg(&doomed).query::<u64>(connection)?;
        }
        Ok(())
    })?;
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_read_from_the_right() {
        assert_eq!(
            parse_key("twat_cache:users:3:00ff"),
            Some(KeyKind::Entry {
                name: "users",
                version: "3"
            })
        );
        assert_eq!(
            parse_key("twat_cache:my_crate::f:0:lease:ab"),
            Some(KeyKind::Lease {
                name: "my_crate::f",
                version: "0"
            })
        );
        assert_eq!(parse_key("twat_cache:inval:users"), None);
        assert_eq!(parse_key("other:users:3:00"), None);
        assert_eq!(parse_key("twat_cache:users:x:00"), None);
    }
}
