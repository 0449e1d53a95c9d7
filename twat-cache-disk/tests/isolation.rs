//! Several caches in one folder: one shared database, separate entries, separate clears.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

mod common;

use common::{config, open};
use twat_cache_core::registry::ManagedCache;

#[test]
fn caches_sharing_a_folder_never_see_each_other() {
    let root = tempfile::tempdir().unwrap();
    let alpha = open(root.path(), config("alpha", "shared"));
    let beta = open(root.path(), config("beta", "shared"));
    let odd_name = open(root.path(), config("my_crate::gamma", "shared"));
    assert!(!alpha.is_fallback() && !beta.is_fallback() && !odd_name.is_fallback());
    assert_eq!(alpha.path(), beta.path());

    alpha.set(&"key", &1_u32).unwrap();
    beta.set(&"key", &2_u32).unwrap();
    odd_name.set(&"key", &3_u32).unwrap();
    assert_eq!(alpha.get::<_, u32>(&"key").unwrap(), Some(1));
    assert_eq!(beta.get::<_, u32>(&"key").unwrap(), Some(2));
    assert_eq!(odd_name.get::<_, u32>(&"key").unwrap(), Some(3));

    alpha.clear().unwrap();
    assert_eq!(alpha.get::<_, u32>(&"key").unwrap(), None);
    assert_eq!(alpha.stats().size, 0);
    assert_eq!(beta.get::<_, u32>(&"key").unwrap(), Some(2));
    ManagedCache::clear(&odd_name).unwrap();
    assert_eq!(beta.get::<_, u32>(&"key").unwrap(), Some(2));

    drop((alpha, beta, odd_name));
    let alpha = open(root.path(), config("alpha", "shared"));
    let beta = open(root.path(), config("beta", "shared"));
    let odd_name = open(root.path(), config("my_crate::gamma", "shared"));
    assert_eq!(alpha.get::<_, u32>(&"key").unwrap(), None);
    assert_eq!(beta.get::<_, u32>(&"key").unwrap(), Some(2));
    assert_eq!(odd_name.get::<_, u32>(&"key").unwrap(), None);
}

#[test]
fn two_handles_of_one_cache_share_its_entries() {
    let root = tempfile::tempdir().unwrap();
    let first = open(root.path(), config("same", "same"));
    let second = open(root.path(), config("same", "same"));
    first.set(&7_u8, &"seven").unwrap();
    assert_eq!(
        second.get::<_, String>(&7_u8).unwrap().as_deref(),
        Some("seven")
    );
    assert!(second.remove(&7_u8).unwrap());
    assert_eq!(first.get::<_, String>(&7_u8).unwrap(), None);
    assert!(!first.remove(&7_u8).unwrap());
}

#[test]
fn many_threads_share_one_cache() {
    let root = tempfile::tempdir().unwrap();
    let cache = std::sync::Arc::new(open(root.path(), config("threads", "threads")));
    let workers: Vec<_> = (0..4_u32)
        .map(|t| {
            let cache = std::sync::Arc::clone(&cache);
            std::thread::spawn(move || {
                for i in 0..500_u32 {
                    let key = (t, i);
                    cache.set(&key, &(t * 1000 + i)).unwrap();
                    assert_eq!(cache.get::<_, u32>(&key).unwrap(), Some(t * 1000 + i));
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().unwrap();
    }
    assert_eq!(cache.stats().size, 2000);
}
