//! The shared usage count (`usage-v1/<cache>.usage`): several handles on one folder —
//! each as another process would be — keep one budget, and the count heals from
//! anything a crash or a hand can do to the folder.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

mod common;

use std::path::Path;

use common::{bytes, content_files, files_under, index_files, named, open};

const VALUE: usize = 4_000;
/// One entry's footprint: the value, the key digest (32 bytes) and the record allowance.
const ENTRY: u64 = VALUE as u64 + 32 + 128;

/// Content bytes plus 128 per index record: what the budget counts.
fn counted(dir: &Path) -> u64 {
    let content: u64 = content_files(dir)
        .iter()
        .map(|path| std::fs::metadata(path).unwrap().len())
        .sum();
    content + 128 * index_files(dir).len() as u64
}

#[test]
fn handles_sharing_a_folder_keep_one_budget() {
    let dir = tempfile::tempdir().unwrap();
    let maxsize = 20 * ENTRY;
    let handles: Vec<_> = (0..4)
        .map(|_| open(dir.path(), named("shared").maxsize(maxsize)))
        .collect();
    for round in 0..200_u64 {
        let handle = &handles[(round % 4) as usize];
        handle.set_raw(&round, &bytes(VALUE, round)).unwrap();
        // Each handle's own writes are a quarter of the total: without a shared count
        // every one of them would let the folder run past the budget.
        assert!(
            counted(dir.path()) <= maxsize,
            "after write {round}: {} bytes counted, budget {maxsize}",
            counted(dir.path())
        );
    }
    let entries = index_files(dir.path()).len() as u64;
    for handle in &handles {
        assert_eq!(handle.stats().size, entries, "every handle sees one count");
    }
    // The newest entries are the ones kept, whoever wrote them.
    assert!(handles[0].get_raw(&199_u64).unwrap().is_some());
    assert!(handles[1].get_raw(&0_u64).unwrap().is_none());
}

#[test]
fn a_removed_or_garbled_ledger_is_recounted_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let cache = open(dir.path(), named("recount").maxsize(100 * ENTRY));
    for key in 0..5_u32 {
        cache.set_raw(&key, &bytes(VALUE, u64::from(key))).unwrap();
    }
    let ledgers = files_under(&dir.path().join("usage-v1"));
    assert_eq!(ledgers.len(), 1, "one ledger per cache");
    // Removed (as if the folder were restored from a backup without it).
    std::fs::remove_file(&ledgers[0]).unwrap();
    cache.set_raw(&5_u32, &bytes(VALUE, 5)).unwrap();
    assert_eq!(cache.stats().size, 6);
    // Garbled (a torn write on power loss).
    std::fs::write(&ledgers[0], b"not a ledger at all").unwrap();
    cache.set_raw(&6_u32, &bytes(VALUE, 6)).unwrap();
    assert_eq!(cache.stats().size, 7);
    // Another handle opened later reads the same count without scanning.
    assert_eq!(open(dir.path(), named("recount")).stats().size, 7);
}

#[test]
fn an_overstated_count_heals_at_the_next_sweep() {
    let dir = tempfile::tempdir().unwrap();
    let cache = open(dir.path(), named("heal").maxsize(100 * ENTRY));
    for key in 0..5_u32 {
        cache.set_raw(&key, &bytes(VALUE, u64::from(key))).unwrap();
    }
    // Files removed behind the cache's back (a process killed after removing an entry
    // and before counting it off leaves the same state): the count is too high.
    let index = index_files(dir.path());
    std::fs::remove_file(&index[0]).unwrap();
    std::fs::remove_file(&index[1]).unwrap();
    assert_eq!(cache.stats().size, 5, "overstated until a sweep");
    let report = cache.sweep().unwrap();
    assert_eq!(report.entries, 3);
    assert_eq!(cache.stats().size, 3);
}

#[test]
fn entries_removed_by_a_folder_scan_leave_the_count_at_once() {
    // What `twat-cache purge` does: `inspect::scan_entries` removes entries from outside
    // the caches; each cache that lost entries has its count redone, another cache's
    // count is untouched, and the caches see the space free without a sweep.
    use twat_cache_file::inspect::{Verdict, scan_entries};

    let dir = tempfile::tempdir().unwrap();
    let cache = open(dir.path(), named("scanned").maxsize(100 * ENTRY));
    let neighbour = open(dir.path(), named("neighbour").maxsize(100 * ENTRY));
    for key in 0..6_u32 {
        cache.set_raw(&key, &bytes(VALUE, u64::from(key))).unwrap();
    }
    neighbour.set_raw(&0_u32, &bytes(VALUE, 9)).unwrap();
    // The owner tag of "scanned": the one with six entries.
    let mut owners = std::collections::BTreeMap::new();
    scan_entries(dir.path(), false, |entry| {
        *owners.entry(entry.owner).or_insert(0_u32) += 1;
        Verdict::Keep
    })
    .unwrap();
    let scanned = owners
        .iter()
        .find(|(_, count)| **count == 6)
        .unwrap()
        .0
        .unwrap();

    let mut seen = 0;
    let report = scan_entries(dir.path(), false, |entry| {
        let mine = entry.owner == Some(scanned);
        seen += u32::from(mine);
        Verdict::remove_if(mine && seen % 2 == 0)
    })
    .unwrap();
    assert_eq!((report.visited, report.removed), (7, 3));
    assert_eq!(cache.stats().size, 3, "the count is redone at once");
    assert_eq!(cache.stats().weight, 3 * ENTRY);
    assert_eq!(
        neighbour.stats().size,
        1,
        "another cache's count is untouched"
    );
    assert_eq!(index_files(dir.path()).len(), 4);
}

#[cfg(unix)]
#[test]
fn an_unusable_ledger_fails_writes_not_reads() {
    let dir = tempfile::tempdir().unwrap();
    let cache = open(dir.path(), named("stuck").maxsize(100 * ENTRY));
    cache.set_raw(&"kept", b"stored before").unwrap();
    // The ledger's folder replaced by a file: nothing can be locked or counted.
    std::fs::remove_dir_all(dir.path().join("usage-v1")).unwrap();
    std::fs::write(dir.path().join("usage-v1"), b"in the way").unwrap();
    assert!(cache.set_raw(&"new", b"cannot be counted").is_err());
    assert_eq!(cache.get_raw(&"new").unwrap(), None, "not published");
    assert_eq!(content_files(dir.path()).len(), 1, "its content removed");
    assert_eq!(
        cache.get_raw(&"kept").unwrap(),
        Some(b"stored before".to_vec())
    );
    // Back to normal once the folder is.
    std::fs::remove_file(dir.path().join("usage-v1")).unwrap();
    cache.set_raw(&"new", b"counted now").unwrap();
    assert_eq!(
        cache.get_raw(&"new").unwrap(),
        Some(b"counted now".to_vec())
    );
    assert_eq!(cache.stats().size, 2);
}
