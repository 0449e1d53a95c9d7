//! `maxsize` bounds the bytes on disk; past it the least recently used entries go first.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

mod common;

use common::{config, open};

const BUDGET: u64 = 20_000;

fn value(i: u32) -> Vec<u8> {
    vec![u8::try_from(i % 256).unwrap(); 100]
}

#[test]
fn the_byte_budget_holds_and_recently_used_entries_stay() {
    let root = tempfile::tempdir().unwrap();
    let cache = open(root.path(), config("bounded", "bounded").maxsize(BUDGET));
    for i in 0..1000_u32 {
        cache.set(&i, &value(i)).unwrap();
        assert!(cache.bytes() <= BUDGET, "{} bytes after {i}", cache.bytes());
        // Keys 0..10 are hot: read after every insert.
        for hot in 0..10_u32.min(i + 1) {
            assert_eq!(cache.get::<_, Vec<u8>>(&hot).unwrap(), Some(value(hot)));
        }
    }
    let stats = cache.stats();
    assert!(stats.evictions > 0);
    assert_eq!(stats.maxsize, Some(BUDGET));
    assert!(stats.size > 10 && stats.size < 200, "{stats:?}");
    // The newest entries are there, the cold early ones are not.
    assert_eq!(cache.get::<_, Vec<u8>>(&999_u32).unwrap(), Some(value(999)));
    for cold in 10..100_u32 {
        assert_eq!(cache.get::<_, Vec<u8>>(&cold).unwrap(), None, "key {cold}");
    }
    let size_before = cache.stats().size;
    drop(cache);
    // After a restart the budget and the survivors are unchanged.
    let cache = open(root.path(), config("bounded", "bounded").maxsize(BUDGET));
    assert!(cache.bytes() <= BUDGET);
    assert_eq!(cache.stats().size, size_before);
    for hot in 0..10_u32 {
        assert_eq!(cache.get::<_, Vec<u8>>(&hot).unwrap(), Some(value(hot)));
    }
}

#[test]
fn an_entry_larger_than_the_budget_is_not_stored() {
    let root = tempfile::tempdir().unwrap();
    let cache = open(root.path(), config("tiny", "tiny").maxsize(1000));
    cache.set(&1_u8, &vec![0_u8; 100]).unwrap();
    cache.set(&2_u8, &vec![0_u8; 5000]).unwrap();
    assert_eq!(cache.get::<_, Vec<u8>>(&2_u8).unwrap(), None);
    assert_eq!(cache.get::<_, Vec<u8>>(&1_u8).unwrap(), Some(vec![0; 100]));
}

#[test]
fn reopening_with_a_smaller_budget_shrinks_the_cache() {
    let root = tempfile::tempdir().unwrap();
    {
        let cache = open(root.path(), config("shrinking", "shrinking"));
        for i in 0..500_u32 {
            cache.set(&i, &value(i)).unwrap();
        }
        assert!(cache.bytes() > BUDGET);
    }
    let cache = open(
        root.path(),
        config("shrinking", "shrinking").maxsize(BUDGET),
    );
    assert!(cache.bytes() <= BUDGET, "{} bytes", cache.bytes());
    assert!(cache.stats().evictions > 0);
    let survivors = (0..500_u32)
        .filter(|&i| cache.get::<_, Vec<u8>>(&i).unwrap() == Some(value(i)))
        .count();
    assert_eq!(u64::try_from(survivors).unwrap(), cache.stats().size);
}
