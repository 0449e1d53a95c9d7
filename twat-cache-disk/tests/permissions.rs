//! Folders that cannot be written: `open` fails with an error — never a panic — so the
//! facade can fall back to memory.
//!
//! Root ignores permissions, so when the tests run as root the checks run in a child
//! process that has dropped to the `nobody` user (uid/gid 65534).
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

mod common;

use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::Command;

use common::{CHILD_ROOT_ENV, child_root, config, options};
use twat_cache_core::Error;
use twat_cache_disk::DiskCache;

const NOBODY: u32 = 65_534;

/// Whether writes into a 0500 folder are refused for this process.
fn permissions_enforced(root: &Path) -> bool {
    let probe_dir = root.join("probe_dir");
    std::fs::create_dir(&probe_dir).unwrap();
    std::fs::set_permissions(&probe_dir, std::fs::Permissions::from_mode(0o500)).unwrap();
    let enforced = std::fs::write(probe_dir.join("probe"), b"").is_err();
    std::fs::set_permissions(&probe_dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::remove_dir_all(&probe_dir).unwrap();
    enforced
}

/// The checks themselves, in a process whose permissions are enforced.
fn check_read_only_folders(root: &Path) {
    assert!(permissions_enforced(root));
    let read_only = root.join("ro");
    std::fs::create_dir(&read_only).unwrap();
    std::fs::set_permissions(&read_only, std::fs::Permissions::from_mode(0o500)).unwrap();
    // The cache folder would have to be created inside the read-only folder.
    let nested = DiskCache::open_with(
        &config("nested", "ro/cache").build().unwrap(),
        options(root),
    );
    assert!(matches!(nested, Err(Error::Io { .. })), "{nested:?}");
    // The cache folder itself is read-only (and not made private, so not chmod-ed).
    let direct = DiskCache::open_with(
        &config("direct", "ro").secure(false).build().unwrap(),
        options(root),
    );
    assert!(matches!(direct, Err(Error::Io { .. })), "{direct:?}");
    std::fs::set_permissions(&read_only, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::remove_dir(&read_only).unwrap();
}

/// Child side of `a_read_only_folder_is_an_open_error` when the parent runs as root.
#[test]
fn child_checks_read_only_folders_as_nobody() {
    let Some(root) = child_root() else {
        return; // only does something when re-run as a child
    };
    check_read_only_folders(&root);
}

#[test]
fn a_read_only_folder_is_an_open_error() {
    let root = tempfile::tempdir().unwrap();
    if permissions_enforced(root.path()) {
        check_read_only_folders(root.path());
        return;
    }
    // Running as root: re-run the checks as `nobody` in a folder it owns.
    std::os::unix::fs::chown(root.path(), Some(NOBODY), Some(NOBODY)).unwrap();
    let status = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_checks_read_only_folders_as_nobody",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ROOT_ENV, root.path())
        .uid(NOBODY)
        .gid(NOBODY)
        .status()
        .unwrap();
    assert!(status.success(), "the unprivileged child failed: {status}");
}
