//! Runnable examples of twat-cache; see `tour.rs` (`cargo run --release --example tour`)
//! and `prometheus.rs` (`cargo run --example prometheus`).

use std::path::Path;

/// Keeps an example's persistent caches out of the user's real cache folder: when
/// `TWAT_CACHE_DIR` is unset, re-runs the current executable (same arguments) with it set
/// to `root`, and exits with the child's status. Returns when it is already set.
///
/// # Errors
///
/// When the executable cannot be found or started.
pub fn rerun_with_cache_dir(root: &Path) -> std::io::Result<()> {
    if std::env::var_os("TWAT_CACHE_DIR").is_some() {
        return Ok(());
    }
    let status = std::process::Command::new(std::env::current_exe()?)
        .args(std::env::args_os().skip(1))
        .env("TWAT_CACHE_DIR", root)
        .status()?;
    std::process::exit(status.code().unwrap_or(1));
}
