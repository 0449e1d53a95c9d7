//! The tour of twat-cache: `cargo run --release --example tour`.
//!
//! Each section shows one engine: the first (slow) call, the cached call, and the
//! cache's statistics. Caches live under `$TWAT_CACHE_DIR`, or under a `twat_cache_tour`
//! folder in the system temp dir when that is unset.
#![allow(clippy::print_stdout, reason = "an example prints what it shows")]

use std::time::Duration;

use twat_cache::{CacheConfig, EngineKind, Policy};

fn main() -> Result<(), twat_cache::Error> {
    println!("twat-cache tour\n");

    println!("== configuration ==");
    let config = CacheConfig::builder()
        .name("tour::reports")
        .engine(EngineKind::Disk)
        .folder("report_cache")
        .maxsize(64 * 1024 * 1024)
        .ttl(Duration::from_secs(3600))
        .policy(Policy::Lru)
        .build()?;
    println!("built: {config:?}");
    match CacheConfig::builder().folder("../escape").build() {
        Ok(_) => println!("unexpected: an escaping folder was accepted"),
        Err(err) => println!("refused, as it should be: {err}"),
    }

    println!("\n== registry ==");
    let totals = twat_cache::get_stats(None).unwrap_or_default();
    println!("caches registered: {:?}", twat_cache::cache_names());
    println!("all caches summed: {totals:?}");
    Ok(())
}
