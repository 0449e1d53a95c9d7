//! Helpers shared by the integration tests: caches rooted in temporary folders, and
//! child processes that re-run this test binary.
#![allow(dead_code, reason = "each test file uses a different subset")]

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use twat_cache_core::{CacheConfig, CacheConfigBuilder};
use twat_cache_disk::{DiskCache, DiskOptions};

/// The environment variable that tells a re-run test binary it is a child, and where
/// its cache root is.
pub(crate) const CHILD_ROOT_ENV: &str = "TWAT_CACHE_DISK_TEST_CHILD_ROOT";

/// Options rooting the cache at `root`.
pub(crate) fn options(root: &Path) -> DiskOptions {
    DiskOptions {
        root: Some(root.to_path_buf()),
        ..DiskOptions::default()
    }
}

/// Opens the cache built by `config` under `root`.
pub(crate) fn open(root: &Path, config: CacheConfigBuilder) -> DiskCache {
    DiskCache::open_with(&config.build().unwrap(), options(root)).unwrap()
}

/// A config named `name` in folder `folder`.
pub(crate) fn config(name: &str, folder: &str) -> CacheConfigBuilder {
    CacheConfig::builder().name(name).folder(folder)
}

/// When this process is a child, the cache root it was given.
pub(crate) fn child_root() -> Option<PathBuf> {
    std::env::var_os(CHILD_ROOT_ENV).map(PathBuf::from)
}

/// Re-runs this test binary for the single test `test_name`, as a child rooted at `root`
/// (also its `TWAT_CACHE_DIR`).
pub(crate) fn spawn_child(test_name: &str, root: &Path) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args(["--exact", test_name, "--nocapture", "--test-threads=1"])
        .env(CHILD_ROOT_ENV, root)
        .env(twat_cache_core::root::CACHE_DIR_ENV, root)
        .spawn()
        .unwrap()
}

/// Waits (up to a minute) until `check` holds; panics otherwise.
pub(crate) fn wait_until(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Writes `contents` to `path` atomically (write then rename).
pub(crate) fn write_atomically(path: &Path, contents: &str) {
    let temporary = path.with_extension("tmp");
    std::fs::write(&temporary, contents).unwrap();
    std::fs::rename(&temporary, path).unwrap();
}
