//! The global registry: register by name, clear and sum statistics, forget dropped caches.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use twat_cache_core::{Error, ManagedCache, Stats, cache_names, clear_cache, get_stats};

struct FakeCache {
    name: String,
    hits: AtomicU64,
    clears: AtomicU64,
    fail_clear: bool,
}

impl FakeCache {
    fn new(name: &str, hits: u64) -> Arc<Self> {
        Arc::new(Self {
            name: name.to_owned(),
            hits: AtomicU64::new(hits),
            clears: AtomicU64::new(0),
            fail_clear: false,
        })
    }
}

impl ManagedCache for FakeCache {
    fn name(&self) -> &str {
        &self.name
    }
    fn stats(&self) -> Stats {
        Stats::new()
            .with_hits(self.hits.load(Ordering::Relaxed))
            .with_size(1)
            .with_maxsize(Some(10))
    }
    fn clear(&self) -> Result<(), Error> {
        self.clears.fetch_add(1, Ordering::Relaxed);
        self.hits.store(0, Ordering::Relaxed);
        if self.fail_clear {
            Err(Error::NoCacheRoot)
        } else {
            Ok(())
        }
    }
}

fn register(cache: &Arc<FakeCache>) {
    let dynamic: Arc<dyn ManagedCache> = cache.clone();
    twat_cache_core::registry::register(&dynamic);
}

// One test function: the registry is process-global, and tests in one binary run in
// parallel threads.
#[test]
fn registry_behaviour() {
    let alpha = FakeCache::new("registry_test::alpha", 3);
    let beta = FakeCache::new("registry_test::beta", 4);
    let alpha_twin = FakeCache::new("registry_test::alpha", 5);
    register(&alpha);
    register(&beta);
    register(&alpha_twin);

    let names = cache_names();
    assert!(names.contains(&"registry_test::alpha".to_owned()));
    assert!(names.contains(&"registry_test::beta".to_owned()));

    // By name: every live cache of that name, summed.
    let stats = get_stats(Some("registry_test::alpha")).unwrap();
    assert_eq!(stats.hits, 8);
    assert_eq!(stats.size, 2);
    assert_eq!(stats.maxsize, Some(20));
    assert_eq!(get_stats(Some("registry_test::missing")), None);
    assert!(get_stats(None).unwrap().hits >= 12);

    // Clearing by name touches only that name.
    clear_cache(Some("registry_test::alpha")).unwrap();
    assert_eq!(alpha.clears.load(Ordering::Relaxed), 1);
    assert_eq!(alpha_twin.clears.load(Ordering::Relaxed), 1);
    assert_eq!(beta.clears.load(Ordering::Relaxed), 0);
    clear_cache(Some("registry_test::missing")).unwrap();

    // Clearing all touches every cache, and reports a failure while clearing the rest.
    let failing = Arc::new(FakeCache {
        name: "registry_test::failing".to_owned(),
        hits: AtomicU64::new(0),
        clears: AtomicU64::new(0),
        fail_clear: true,
    });
    register(&failing);
    assert!(matches!(clear_cache(None), Err(Error::NoCacheRoot)));
    assert_eq!(beta.clears.load(Ordering::Relaxed), 1);
    assert_eq!(alpha.clears.load(Ordering::Relaxed), 2);

    // Dropped caches disappear.
    drop(failing);
    drop(beta);
    assert!(get_stats(Some("registry_test::beta")).is_none());
    assert!(!cache_names().contains(&"registry_test::beta".to_owned()));
    clear_cache(None).unwrap();

    // Registration from many threads at once is safe.
    let handles: Vec<_> = (0..8)
        .map(|i| {
            std::thread::spawn(move || {
                let cache = FakeCache::new(&format!("registry_test::thread{i}"), 1);
                register(&cache);
                get_stats(Some(&format!("registry_test::thread{i}")))
                    .unwrap()
                    .hits
            })
        })
        .collect();
    for handle in handles {
        assert_eq!(handle.join().unwrap(), 1);
    }
}
