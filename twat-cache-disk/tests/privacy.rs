//! `secure = true` (the default): the cache folder is 0700 and every file and folder in
//! it — fjall's journal, tables, keyspace folders and markers included — is owner-only,
//! whatever the umask, after opening, writing, flushing, compacting, sweeping and closing.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

mod common;

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{config, open};

/// Every path below `root` (and `root`) with its permission bits, not following links.
fn modes(root: &Path) -> Vec<(PathBuf, bool, u32)> {
    let mut found = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(path) = stack.pop() {
        let metadata = std::fs::symlink_metadata(&path).unwrap();
        let is_dir = metadata.is_dir();
        found.push((path.clone(), is_dir, metadata.permissions().mode() & 0o777));
        if is_dir {
            for entry in std::fs::read_dir(&path).unwrap() {
                stack.push(entry.unwrap().path());
            }
        }
    }
    found
}

/// The first path below `folder` that is not owner-only, if any.
fn loose_path(folder: &Path) -> Option<String> {
    let all = modes(folder);
    assert!(all.len() > 3, "fjall wrote files in {}", folder.display());
    all.into_iter().find_map(|(path, is_dir, mode)| {
        let wanted = if is_dir { 0o700 } else { 0o600 };
        (mode != wanted).then(|| format!("{} is {mode:o}, not {wanted:o}", path.display()))
    })
}

fn assert_owner_only(folder: &Path, when: &str) {
    let loose = loose_path(folder);
    assert!(loose.is_none(), "{when}: {}", loose.unwrap_or_default());
}

/// While the cache is open, fjall's background workers may write a file (a tree's
/// version file after a compaction) just after the call that tightened the folder
/// returned; the engine tightens again at its next flush, compaction, sweep or close.
/// So an open cache is checked after up to three more flushes.
fn assert_owner_only_while_open(cache: &twat_cache_disk::DiskCache, folder: &Path, when: &str) {
    for _ in 0..3 {
        if loose_path(folder).is_none() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
        cache.flush().unwrap();
    }
    assert_owner_only(folder, when);
}

#[test]
fn every_file_of_a_secure_folder_is_owner_only() {
    let root = tempfile::tempdir().unwrap();
    let folder = root.path().join("private_cache");
    {
        let cache = open(root.path(), config("private", "private_cache"));
        assert_owner_only_while_open(&cache, &folder, "after opening");
        for i in 0..2_000_u32 {
            cache.set(&i, &vec![i; 64]).unwrap();
        }
        cache.flush().unwrap();
        assert_owner_only_while_open(&cache, &folder, "after flush");
        cache.compact().unwrap();
        assert_owner_only_while_open(&cache, &folder, "after compact (a table file)");
    }
    assert_owner_only(&folder, "after closing");
    // A second cache in the same folder, with a TTL: its keyspace and its sweeps too.
    {
        let cache = open(
            root.path(),
            config("private_ttl", "private_cache").ttl(Duration::from_millis(1)),
        );
        assert_owner_only_while_open(&cache, &folder, "after reopening");
        for i in 0..100_u32 {
            cache.set(&i, &i).unwrap();
        }
        std::thread::sleep(Duration::from_millis(5));
        cache.remove_expired().unwrap();
        cache.compact().unwrap();
        assert_owner_only_while_open(&cache, &folder, "after a sweep");
    }
    assert_owner_only(&folder, "after closing again");
}

#[test]
fn files_made_readable_by_someone_else_are_tightened_on_open() {
    let root = tempfile::tempdir().unwrap();
    let folder = root.path().join("loosened");
    {
        let cache = open(root.path(), config("loose", "loosened"));
        cache.set(&1_u8, &"secret").unwrap();
    }
    for (path, is_dir, _) in modes(&folder) {
        let mode = if is_dir { 0o755 } else { 0o644 };
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    let cache = open(root.path(), config("loose", "loosened"));
    assert_eq!(
        cache.get::<_, String>(&1_u8).unwrap().as_deref(),
        Some("secret")
    );
    assert_owner_only(&folder, "after reopening a loosened folder");
}
