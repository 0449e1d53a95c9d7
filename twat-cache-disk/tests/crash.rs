//! `kill -9` in the middle of writing: on reopen the cache opens, every entry it serves is
//! whole, and every write acknowledged before the kill is there.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

mod common;

use common::{child_root, config, open, spawn_child, wait_until, write_atomically};

/// The value written under key `i`: varying lengths so torn writes would show.
fn expected(i: u64) -> Vec<u8> {
    let len = usize::try_from(i % 700).unwrap() + 1;
    let byte = u8::try_from(i % 251).unwrap();
    vec![byte; len]
}

const PROGRESS_FILE: &str = "acknowledged";

/// Child side of `kill_9_mid_write_loses_nothing_acknowledged`: writes until killed,
/// publishing how many writes have returned.
#[test]
fn child_writes_until_killed() {
    let Some(root) = child_root() else {
        return; // only does something when re-run as a child
    };
    let cache = open(&root, config("crashy", "crash_cache"));
    let progress = root.join(PROGRESS_FILE);
    for i in 0..2_000_000_u64 {
        cache.set(&i, &expected(i)).unwrap();
        if i % 64 == 63 {
            write_atomically(&progress, &(i + 1).to_string());
        }
    }
}

#[test]
fn kill_9_mid_write_loses_nothing_acknowledged() {
    let root = tempfile::tempdir().unwrap();
    let progress = root.path().join(PROGRESS_FILE);
    let read_progress = || -> u64 {
        std::fs::read_to_string(&progress)
            .ok()
            .and_then(|text| text.parse().ok())
            .unwrap_or(0)
    };
    let mut child = spawn_child("child_writes_until_killed", root.path());
    wait_until("the child to write 3000 entries", || {
        read_progress() >= 3000
    });
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let acknowledged = read_progress();

    let cache = open(root.path(), config("crashy", "crash_cache"));
    assert!(!cache.is_fallback(), "the dead child's lock must be gone");
    assert_eq!(cache.stats().errors, 0, "no garbled entry on disk");
    for i in 0..acknowledged {
        assert_eq!(
            cache.get::<_, Vec<u8>>(&i).unwrap(),
            Some(expected(i)),
            "acknowledged entry {i} lost or damaged"
        );
    }
    // Entries written after the last published count: absent or whole, never damaged.
    let mut extra = 0;
    for i in acknowledged..acknowledged + 100_000 {
        if let Some(value) = cache.get::<_, Vec<u8>>(&i).unwrap() {
            assert_eq!(value, expected(i), "entry {i} is damaged");
            extra += 1;
        }
    }
    assert_eq!(cache.stats().errors, 0);
    assert_eq!(cache.stats().size, acknowledged + extra);
}
