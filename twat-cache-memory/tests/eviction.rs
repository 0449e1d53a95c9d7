//! Eviction order against tiny reference models of cachetools' LRU, LFU and FIFO, and the
//! invariants of random replacement, unbounded and sharded caches.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use proptest::prelude::*;
use twat_cache_core::{CacheConfig, Policy};
use twat_cache_memory::MemoryCache;

#[derive(Debug, Clone)]
enum Op {
    Get(u8),
    Insert(u8, u32),
    Remove(u8),
    GetOrInsert(u8, u32),
}

fn op() -> impl Strategy<Value = Op> {
    // few keys, so that hits, updates and evictions all happen
    prop_oneof![
        4 => (0..12_u8).prop_map(Op::Get),
        4 => (0..12_u8, any::<u32>()).prop_map(|(k, v)| Op::Insert(k, v)),
        1 => (0..12_u8).prop_map(Op::Remove),
        2 => (0..12_u8, any::<u32>()).prop_map(|(k, v)| Op::GetOrInsert(k, v)),
    ]
}

fn cache(policy: Policy, maxsize: u64) -> MemoryCache<u8, u32> {
    MemoryCache::new(
        &CacheConfig::builder()
            .maxsize(maxsize)
            .policy(policy)
            .build()
            .unwrap(),
    )
}

/// A reference model: a `Vec` of `(key, value, frequency, last use)` and the rule that
/// picks the victim.
struct Model {
    policy: Policy,
    maxsize: usize,
    clock: u64,
    entries: Vec<(u8, u32, u64, u64)>,
}

impl Model {
    fn new(policy: Policy, maxsize: usize) -> Self {
        Self {
            policy,
            maxsize,
            clock: 0,
            entries: Vec::new(),
        }
    }

    fn tick(&mut self) -> u64 {
        self.clock += 1;
        self.clock
    }

    fn position(&self, key: u8) -> Option<usize> {
        self.entries.iter().position(|e| e.0 == key)
    }

    fn get(&mut self, key: u8) -> Option<u32> {
        let now = self.tick();
        let index = self.position(key)?;
        let entry = &mut self.entries[index];
        if self.policy != Policy::Fifo {
            // LRU and LFU: a read is a use; FIFO: reads do not matter
            entry.2 += 1;
            entry.3 = now;
        }
        Some(entry.1)
    }

    fn insert(&mut self, key: u8, value: u32) {
        let now = self.tick();
        if let Some(index) = self.position(key) {
            // cachetools: an update is a use (LRU, LFU) and moves the key to the back (FIFO)
            let entry = &mut self.entries[index];
            entry.1 = value;
            entry.2 += 1;
            entry.3 = now;
            return;
        }
        if self.entries.len() >= self.maxsize {
            let victim = match self.policy {
                // least recently used / oldest insertion (or update, for FIFO)
                Policy::Lru | Policy::Fifo => {
                    (0..self.entries.len()).min_by_key(|&i| self.entries[i].3)
                }
                // least frequently used, ties to the least recently used
                Policy::Lfu => {
                    (0..self.entries.len()).min_by_key(|&i| (self.entries[i].2, self.entries[i].3))
                }
                _ => unreachable!(),
            };
            self.entries.remove(victim.unwrap());
        }
        self.entries.push((key, value, 1, now));
    }

    fn remove(&mut self, key: u8) -> bool {
        self.tick();
        self.position(key).map(|i| self.entries.remove(i)).is_some()
    }

    fn keys(&self) -> Vec<u8> {
        let mut keys: Vec<u8> = self.entries.iter().map(|e| e.0).collect();
        keys.sort_unstable();
        keys
    }
}

fn check_against_model(policy: Policy, maxsize: usize, ops: &[Op]) -> Result<(), TestCaseError> {
    let cache = cache(policy, maxsize as u64);
    let mut model = Model::new(policy, maxsize);
    for op in ops {
        match *op {
            Op::Get(k) => prop_assert_eq!(cache.get(&k), model.get(k), "{:?}", op),
            Op::Insert(k, v) => {
                cache.insert(k, v);
                model.insert(k, v);
            }
            Op::Remove(k) => prop_assert_eq!(cache.remove(&k), model.remove(k), "{:?}", op),
            Op::GetOrInsert(k, v) => {
                let expected = match model.get(k) {
                    Some(found) => found,
                    None => {
                        // a miss counts no use; the insert that follows is the first use
                        model.clock -= 1;
                        model.insert(k, v);
                        v
                    }
                };
                prop_assert_eq!(cache.get_or_insert_with(k, || v), expected, "{:?}", op);
            }
        }
        let mut keys: Vec<u8> = (0..12).filter(|k| model.position(*k).is_some()).collect();
        keys.sort_unstable();
        prop_assert_eq!(cache.len(), model.entries.len());
        prop_assert_eq!(keys, model.keys());
    }
    // every key still held answers with the model's value
    for (key, value, _, _) in model.entries.clone() {
        prop_assert_eq!(cache.get(&key), Some(value));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn lru_matches_model(maxsize in 1_usize..=8, ops in prop::collection::vec(op(), 0..200)) {
        check_against_model(Policy::Lru, maxsize, &ops)?;
    }

    #[test]
    fn lfu_matches_model(maxsize in 1_usize..=8, ops in prop::collection::vec(op(), 0..200)) {
        check_against_model(Policy::Lfu, maxsize, &ops)?;
    }

    #[test]
    fn fifo_matches_model(maxsize in 1_usize..=8, ops in prop::collection::vec(op(), 0..200)) {
        check_against_model(Policy::Fifo, maxsize, &ops)?;
    }

    #[test]
    fn random_replacement_stays_bounded(
        maxsize in 1_usize..=8,
        ops in prop::collection::vec(op(), 0..200),
    ) {
        let cache = cache(Policy::Random, maxsize as u64);
        let mut present = std::collections::HashMap::new();
        for op in &ops {
            match *op {
                Op::Get(k) => {
                    let got = cache.get(&k);
                    if let Some(v) = got {
                        prop_assert_eq!(present.get(&k), Some(&v));
                    }
                }
                Op::Insert(k, v) | Op::GetOrInsert(k, v) => {
                    let before = cache.len();
                    let got = if matches!(op, Op::Insert(..)) {
                        cache.insert(k, v);
                        v
                    } else {
                        cache.get_or_insert_with(k, || v)
                    };
                    present.insert(k, got);
                    prop_assert!(cache.len() <= maxsize);
                    prop_assert!(cache.len() <= before + 1);
                    prop_assert_eq!(cache.get(&k), Some(got), "the key just stored is present");
                }
                Op::Remove(k) => {
                    cache.remove(&k);
                    present.remove(&k);
                    prop_assert_eq!(cache.get(&k), None);
                }
            }
            // evicted keys are gone: everything the cache answers was stored, and
            // exactly `len` keys answer
            let answering = (0..12).filter(|k| cache.get(k).is_some()).count();
            prop_assert_eq!(answering, cache.len());
        }
    }
}

#[test]
fn lru_evicts_least_recently_used() {
    let cache = cache(Policy::Lru, 3);
    for k in 1..=3 {
        cache.insert(k, u32::from(k));
    }
    assert_eq!(cache.get(&1), Some(1)); // order now 2, 3, 1
    cache.insert(4, 4); // evicts 2
    assert_eq!(cache.get(&2), None);
    assert_eq!(cache.get(&3), Some(3));
    assert_eq!(cache.stats().evictions, 1);
}

#[test]
fn lfu_evicts_least_frequently_used_ties_to_least_recent() {
    let cache = cache(Policy::Lfu, 3);
    for k in 1..=3 {
        cache.insert(k, u32::from(k));
    }
    cache.get(&1);
    cache.get(&1);
    cache.get(&3);
    // frequencies: 1 -> 3, 2 -> 1, 3 -> 2
    cache.insert(4, 4); // evicts 2
    assert_eq!(cache.get(&2), None);
    // frequencies: 1 -> 3, 3 -> 2, 4 -> 1; 5 evicts 4
    cache.insert(5, 5);
    assert_eq!(cache.get(&4), None);
    // 3 and 5 both used twice now? 3 -> 2, 5 -> 1 -> evicts 5 next
    cache.insert(6, 6);
    assert_eq!(cache.get(&5), None);
    assert_eq!(cache.get(&1), Some(1));
    assert_eq!(cache.get(&3), Some(3));
}

#[test]
fn fifo_ignores_reads() {
    let cache = cache(Policy::Fifo, 2);
    cache.insert(1, 1);
    cache.insert(2, 2);
    cache.get(&1);
    cache.insert(3, 3); // evicts 1 despite the read
    assert_eq!(cache.get(&1), None);
    assert_eq!(cache.get(&2), Some(2));
}

#[test]
fn unbounded_never_evicts() {
    let config = CacheConfig::builder()
        .maxsize(2)
        .policy(Policy::Unbounded)
        .build()
        .unwrap();
    let cache: MemoryCache<u32, u32> = MemoryCache::new(&config);
    for k in 0..5000 {
        cache.insert(k, k);
    }
    assert_eq!(cache.len(), 5000);
    assert_eq!(cache.stats().evictions, 0);
    assert_eq!(cache.stats().maxsize, None);
    let no_maxsize: MemoryCache<u32, u32> = MemoryCache::new(&CacheConfig::default());
    for k in 0..5000 {
        no_maxsize.insert(k, k);
    }
    assert_eq!(no_maxsize.len(), 5000);
}

#[test]
fn sharded_cache_respects_maxsize_and_keeps_recent_keys() {
    for policy in [Policy::Lru, Policy::Lfu, Policy::Fifo, Policy::Random] {
        let big: MemoryCache<u32, u32> = MemoryCache::new(
            &CacheConfig::builder()
                .maxsize(4000)
                .policy(policy)
                .build()
                .unwrap(),
        );
        for k in 0..20_000_u32 {
            big.insert(k, k);
            assert!(big.len() <= 4000, "{policy}: {} entries", big.len());
        }
        assert_eq!(big.len(), 4000, "{policy}");
        let stats = big.stats();
        assert_eq!(stats.inserts, 20_000);
        assert_eq!(stats.evictions, 16_000);
        assert_eq!(stats.size, 4000);
        if policy != Policy::Random {
            // LRU and FIFO keep only recent keys; no shard evicts a key newer than
            // anything it keeps, so the very last insert is always there
            assert_eq!(big.get(&19_999), Some(19_999), "{policy}");
        }
    }
}
