//! A reference model of the exact policies — cachetools' LRU, LFU (ties to the least
//! recently used) and FIFO — and a driver that replays one sequence of operations on a
//! front-end of the store and on the model side by side (feature `model`).
//!
//! It exists so that the same model tests run against every front-end: the memory and
//! async engines' `tests/eviction.rs` each implement [`Subject`] for their cache (a few
//! lines) and expand [`model_proptests!`](crate::model_proptests), which replays
//! proptest-generated [`Op`] sequences ([`op`]) through [`replay_exact`],
//! [`replay_random`] and, for W-TinyLFU (whose victims depend on a sketch, not on an
//! order a model could follow), [`replay_admission`]. The model is a plain `Vec` searched linearly: obviously right, and
//! far too slow for anything but tests.
//!
//! ```
//! use std::cell::RefCell;
//! use twat_cache_core::Policy;
//! use twat_cache_shard::model::{Model, Op, Subject, replay_exact};
//!
//! /// The model itself is a subject that always agrees with the model.
//! struct Same(RefCell<Model>);
//!
//! impl Subject for Same {
//!     fn get(&self, key: u8) -> Option<u32> { self.0.borrow_mut().get(key) }
//!     fn insert(&self, key: u8, value: u32) { self.0.borrow_mut().insert(key, value) }
//!     fn remove(&self, key: u8) -> bool { self.0.borrow_mut().remove(key) }
//!     fn get_or_insert(&self, key: u8, value: u32) -> u32 {
//!         self.0.borrow_mut().get_or_insert(key, value)
//!     }
//!     fn len(&self) -> usize { self.0.borrow().len() }
//! }
//!
//! let ops = [Op::Insert(1, 10), Op::Insert(2, 20), Op::Get(1), Op::Insert(3, 30), Op::Get(2)];
//! let same = Same(RefCell::new(Model::new(Policy::Lru, 2)));
//! assert_eq!(replay_exact(&same, Policy::Lru, 2, &ops), Ok(()));
//! ```

use std::collections::HashMap;
use std::fmt;

mod weighted;

pub use weighted::{Recorder, WeightedSubject, replay_weighted, weight_of, weighted_options};

use proptest::prelude::{Strategy, any, prop_oneof};
use proptest::test_runner::TestCaseError;
/// The policies the proptests name (re-exported for [`model_proptests!`](crate::model_proptests)).
#[doc(no_inline)]
pub use twat_cache_core::Policy;
use twat_cache_core::Stats;

/// [`replay_admission`] on the subject `make(Policy::TinyLfu, maxsize)` builds, as a
/// proptest result.
///
/// # Errors
///
/// The first [`Divergence`], as a failed test case.
pub fn check_admission<S: Subject>(
    make: impl Fn(Policy, u64) -> S,
    maxsize: usize,
    ops: &[Op],
) -> Result<(), TestCaseError> {
    let subject = make(Policy::TinyLfu, maxsize as u64);
    replay_admission(&subject, maxsize, ops).map_err(|divergence| {
        TestCaseError::fail(format!("tinylfu maxsize {maxsize}: {divergence}"))
    })
}

/// A random operation on keys `0..KEYS`: mostly lookups and stores, so that hits, updates
/// and evictions all happen, some removals and memoizing lookups.
pub fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..KEYS).prop_map(Op::Get),
        4 => (0..KEYS, any::<u32>()).prop_map(|(k, v)| Op::Insert(k, v)),
        1 => (0..KEYS).prop_map(Op::Remove),
        2 => (0..KEYS, any::<u32>()).prop_map(|(k, v)| Op::GetOrInsert(k, v)),
    ]
}

/// [`replay_exact`] on the subject `make(policy, maxsize)` builds, as a proptest result.
///
/// # Errors
///
/// The first [`Divergence`], as a failed test case naming the policy and bound.
pub fn check_exact<S: Subject>(
    make: impl Fn(Policy, u64) -> S,
    policy: Policy,
    maxsize: usize,
    ops: &[Op],
) -> Result<(), TestCaseError> {
    let subject = make(policy, maxsize as u64);
    replay_exact(&subject, policy, maxsize, ops).map_err(|divergence| {
        TestCaseError::fail(format!("{policy} maxsize {maxsize}: {divergence}"))
    })
}

/// [`replay_random`] on the random-replacement subject `make` builds, as a proptest
/// result.
///
/// # Errors
///
/// The first [`Divergence`], as a failed test case.
pub fn check_random<S: Subject>(
    make: impl Fn(Policy, u64) -> S,
    maxsize: usize,
    ops: &[Op],
) -> Result<(), TestCaseError> {
    let subject = make(Policy::Random, maxsize as u64);
    replay_random(&subject, maxsize, ops)
        .map_err(|divergence| TestCaseError::fail(divergence.to_string()))
}

/// The model proptests, for a front-end's test file: `lru_matches_model`,
/// `lfu_matches_model`, `fifo_matches_model` (512 random sequences of up to 200
/// operations each, bounds 1 to 8, checked step by step against [`Model`]) and
/// `random_replacement_stays_bounded`. The argument builds the subject:
/// `|policy: Policy, maxsize: u64| -> impl Subject`. The test crate needs `proptest` as a
/// dev-dependency.
///
/// ```ignore
/// twat_cache_shard::model_proptests!(|policy, maxsize| Memory(cache(policy, maxsize)));
/// ```
#[macro_export]
macro_rules! model_proptests {
    ($make:expr) => {
        ::proptest::proptest! {
            #![proptest_config(::proptest::test_runner::Config::with_cases(512))]

            #[test]
            fn lru_matches_model(
                maxsize in 1_usize..=8,
                ops in ::proptest::collection::vec($crate::model::op(), 0..200),
            ) {
                $crate::model::check_exact($make, $crate::model::Policy::Lru, maxsize, &ops)?;
            }

            #[test]
            fn lfu_matches_model(
                maxsize in 1_usize..=8,
                ops in ::proptest::collection::vec($crate::model::op(), 0..200),
            ) {
                $crate::model::check_exact($make, $crate::model::Policy::Lfu, maxsize, &ops)?;
            }

            #[test]
            fn fifo_matches_model(
                maxsize in 1_usize..=8,
                ops in ::proptest::collection::vec($crate::model::op(), 0..200),
            ) {
                $crate::model::check_exact($make, $crate::model::Policy::Fifo, maxsize, &ops)?;
            }

            #[test]
            fn random_replacement_stays_bounded(
                maxsize in 1_usize..=8,
                ops in ::proptest::collection::vec($crate::model::op(), 0..200),
            ) {
                $crate::model::check_random($make, maxsize, &ops)?;
            }

            #[test]
            fn tinylfu_keeps_its_invariants(
                maxsize in 1_usize..=8,
                ops in ::proptest::collection::vec($crate::model::op(), 0..400),
            ) {
                $crate::model::check_admission($make, maxsize, &ops)?;
            }
        }
    };
}

/// Keys the operations use are `0..KEYS`: few, so that hits, updates and evictions all
/// happen.
pub const KEYS: u8 = 12;

/// One operation on a cache of `u8` keys and `u32` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// A counted lookup.
    Get(u8),
    /// A store (replacing any value).
    Insert(u8, u32),
    /// A removal.
    Remove(u8),
    /// A memoizing lookup: the value if present, else this one, stored.
    GetOrInsert(u8, u32),
}

/// The calls of a front-end the driver replays.
pub trait Subject {
    /// The live value under `key`, counted as a use.
    fn get(&self, key: u8) -> Option<u32>;
    /// Stores `value` under `key`.
    fn insert(&self, key: u8, value: u32);
    /// Removes `key`; `true` if it was present.
    fn remove(&self, key: u8) -> bool;
    /// The value under `key`, or `value` stored and returned.
    fn get_or_insert(&self, key: u8, value: u32) -> u32;
    /// Entries held.
    fn len(&self) -> usize;
    /// Whether no entry is held.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The subject's counters, if it keeps any ([`replay_admission`] needs them).
    fn stats(&self) -> Option<Stats> {
        None
    }
}

/// One entry of the model.
#[derive(Debug, Clone, Copy)]
struct Entry {
    key: u8,
    value: u32,
    /// Uses while resident, the insert included (LFU).
    uses: u64,
    /// The clock at the last use (LRU, LFU) or store (FIFO).
    last: u64,
}

/// The reference model: a `Vec` of entries and the rule that picks the victim.
#[derive(Debug, Clone)]
pub struct Model {
    policy: Policy,
    maxsize: usize,
    clock: u64,
    entries: Vec<Entry>,
}

impl Model {
    /// An empty model of `policy` (LRU, LFU or FIFO; any other policy evicts as LRU)
    /// holding at most `maxsize` entries.
    #[must_use]
    pub const fn new(policy: Policy, maxsize: usize) -> Self {
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
        self.entries.iter().position(|entry| entry.key == key)
    }

    /// The value under `key`. A read is a use for LRU and LFU; FIFO ignores reads.
    pub fn get(&mut self, key: u8) -> Option<u32> {
        let now = self.tick();
        let policy = self.policy;
        let index = self.position(key)?;
        let entry = self.entries.get_mut(index)?;
        if policy != Policy::Fifo {
            entry.uses += 1;
            entry.last = now;
        }
        Some(entry.value)
    }

    /// Stores `value` under `key`. An update is a use (LRU, LFU) and moves the key to the
    /// back (FIFO), as in cachetools; a new key in a full model evicts the victim first.
    pub fn insert(&mut self, key: u8, value: u32) {
        let now = self.tick();
        if let Some(entry) = self.entries.iter_mut().find(|entry| entry.key == key) {
            entry.value = value;
            entry.uses += 1;
            entry.last = now;
            return;
        }
        if self.entries.len() >= self.maxsize {
            let victim = match self.policy {
                // least frequently used, ties to the least recently used
                Policy::Lfu => self
                    .entries
                    .iter()
                    .enumerate()
                    .min_by_key(|(_, entry)| (entry.uses, entry.last)),
                // least recently used / oldest insertion (or update, for FIFO)
                _ => self
                    .entries
                    .iter()
                    .enumerate()
                    .min_by_key(|(_, entry)| entry.last),
            };
            if let Some((index, _)) = victim {
                self.entries.remove(index);
            }
        }
        self.entries.push(Entry {
            key,
            value,
            uses: 1,
            last: now,
        });
    }

    /// A memoizing lookup: a miss counts no use, the store that follows is the first.
    pub fn get_or_insert(&mut self, key: u8, value: u32) -> u32 {
        if let Some(found) = self.get(key) {
            return found;
        }
        self.clock -= 1;
        self.insert(key, value);
        value
    }

    /// Removes `key`; `true` if it was present.
    pub fn remove(&mut self, key: u8) -> bool {
        self.tick();
        self.position(key)
            .map(|index| self.entries.remove(index))
            .is_some()
    }

    /// Entries held.
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the model is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The keys held, in increasing order.
    #[must_use]
    pub fn keys(&self) -> Vec<u8> {
        let mut keys: Vec<u8> = self.entries.iter().map(|entry| entry.key).collect();
        keys.sort_unstable();
        keys
    }

    /// Every `(key, value)` held.
    #[must_use]
    pub fn entries(&self) -> Vec<(u8, u32)> {
        self.entries
            .iter()
            .map(|entry| (entry.key, entry.value))
            .collect()
    }
}

/// Where a subject and the model (or an invariant) disagreed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Divergence {
    /// Index of the operation after which they disagreed (`ops.len()` for the final
    /// check of every value held).
    pub step: usize,
    /// What differed.
    pub what: String,
}

impl fmt::Display for Divergence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "after step {}: {}", self.step, self.what)
    }
}

impl std::error::Error for Divergence {}

/// Fails with a [`Divergence`] at `step` unless `left == right`.
fn same<T: PartialEq + fmt::Debug>(
    step: usize,
    what: &str,
    left: &T,
    right: &T,
) -> Result<(), Divergence> {
    if left == right {
        Ok(())
    } else {
        Err(Divergence {
            step,
            what: format!("{what}: subject {left:?}, model {right:?}"),
        })
    }
}

/// Replays `ops` on `subject`, a fresh cache of `policy` (LRU, LFU or FIFO) bounded to
/// `maxsize` entries, and on the model. After every operation the answers and the entry
/// count must agree; at the end every key must answer as the model does.
///
/// # Errors
///
/// The first [`Divergence`].
pub fn replay_exact<S: Subject>(
    subject: &S,
    policy: Policy,
    maxsize: usize,
    ops: &[Op],
) -> Result<(), Divergence> {
    let mut model = Model::new(policy, maxsize);
    for (step, op) in ops.iter().enumerate() {
        let what = format!("{op:?}");
        match *op {
            Op::Get(key) => same(step, &what, &subject.get(key), &model.get(key))?,
            Op::Insert(key, value) => {
                subject.insert(key, value);
                model.insert(key, value);
            }
            Op::Remove(key) => same(step, &what, &subject.remove(key), &model.remove(key))?,
            Op::GetOrInsert(key, value) => {
                let expected = model.get_or_insert(key, value);
                same(step, &what, &subject.get_or_insert(key, value), &expected)?;
            }
        }
        same(step, "entries held", &subject.len(), &model.len())?;
    }
    // Every key answers as the model does: a key held with the model's value, any other
    // key not at all. (Only at the end: a lookup is a use, so looking at every key after
    // every step would change the order under test.)
    for key in 0..KEYS {
        let expected = model
            .entries()
            .into_iter()
            .find_map(|(held, value)| (held == key).then_some(value));
        same(
            ops.len(),
            &format!("value of {key}"),
            &subject.get(key),
            &expected,
        )?;
    }
    Ok(())
}

/// Replays `ops` on `subject`, a fresh random-replacement cache bounded to `maxsize`
/// entries, checking what must hold whichever entries are picked: the bound, at most one
/// entry more per store, the key just stored is present, a removed key is gone, and every
/// answer is a value stored under that key — by exactly `len` keys.
///
/// # Errors
///
/// The first [`Divergence`].
pub fn replay_random<S: Subject>(
    subject: &S,
    maxsize: usize,
    ops: &[Op],
) -> Result<(), Divergence> {
    let fail = |step: usize, what: String| Err(Divergence { step, what });
    let mut present: HashMap<u8, u32> = HashMap::new();
    for (step, op) in ops.iter().enumerate() {
        match *op {
            Op::Get(key) => {
                if let Some(value) = subject.get(key) {
                    same(step, &format!("{op:?}"), &present.get(&key), &Some(&value))?;
                }
            }
            Op::Insert(key, value) | Op::GetOrInsert(key, value) => {
                let before = subject.len();
                let got = if matches!(op, Op::Insert(..)) {
                    subject.insert(key, value);
                    value
                } else {
                    subject.get_or_insert(key, value)
                };
                present.insert(key, got);
                let len = subject.len();
                if len > maxsize || len > before + 1 {
                    return fail(
                        step,
                        format!("{len} entries after {before}, maxsize {maxsize}"),
                    );
                }
                same(step, "the key just stored", &subject.get(key), &Some(got))?;
            }
            Op::Remove(key) => {
                subject.remove(key);
                present.remove(&key);
                same(step, "a removed key", &subject.get(key), &None)?;
            }
        }
        // evicted keys are gone: everything the cache answers was stored, and exactly
        // `len` keys answer
        let answering = (0..KEYS).filter(|key| subject.get(*key).is_some()).count();
        same(step, "keys answering", &answering, &subject.len())?;
    }
    Ok(())
}

/// Replays `ops` on `subject`, a fresh cache bounded to `maxsize` entries whose victims
/// the driver cannot predict (W-TinyLFU), checking after every operation what must hold
/// whichever entries it keeps or refuses:
///
/// * never more than `maxsize` entries, and `stats().size` is the entry count;
/// * the statistics are exact: every lookup is one hit or one miss as its answer says,
///   every store one insert, and each eviction is a key that stopped answering;
/// * a key stored and neither removed nor evicted since is found, with its last value;
///   a key removed or never stored is not;
/// * `remove` says whether the key was held.
///
/// The driver keeps the set of held keys; after an operation that evicted (the
/// eviction count moved), it looks every held key up to learn which left, and counts
/// those lookups too.
///
/// # Errors
///
/// The first [`Divergence`]; a subject without [`Subject::stats`] fails at step 0.
pub fn replay_admission<S: Subject>(
    subject: &S,
    maxsize: usize,
    ops: &[Op],
) -> Result<(), Divergence> {
    let fail = |step: usize, what: String| Err(Divergence { step, what });
    let Some(mut expected) = subject.stats() else {
        return fail(0, "the subject keeps no statistics".into());
    };
    let mut held: HashMap<u8, u32> = HashMap::new();
    for (step, op) in ops.iter().enumerate() {
        let what = format!("{op:?}");
        match *op {
            Op::Get(key) => {
                let got = subject.get(key);
                if got.is_some() {
                    expected.hits += 1;
                } else {
                    expected.misses += 1;
                }
                same(step, &what, &got, &held.get(&key).copied())?;
            }
            Op::Insert(key, value) => {
                subject.insert(key, value);
                expected.inserts += 1;
                held.insert(key, value);
            }
            Op::Remove(key) => {
                let removed = subject.remove(key);
                same(step, &what, &removed, &held.remove(&key).is_some())?;
            }
            Op::GetOrInsert(key, value) => {
                let got = subject.get_or_insert(key, value);
                if let Some(&before) = held.get(&key) {
                    expected.hits += 1;
                    same(step, &what, &got, &before)?;
                } else {
                    expected.misses += 1;
                    expected.inserts += 1;
                    same(step, &what, &got, &value)?;
                    held.insert(key, value);
                }
            }
        }
        let Some(stats) = subject.stats() else {
            return fail(step, "the subject stopped keeping statistics".into());
        };
        if stats.evictions < expected.evictions {
            return fail(step, format!("evictions went back to {}", stats.evictions));
        }
        let evicted = stats.evictions - expected.evictions;
        if evicted > 0 {
            // learn which keys left: each lookup is counted as it answers
            let mut gone = 0;
            let keys: Vec<u8> = held.keys().copied().collect();
            for key in keys {
                match subject.get(key) {
                    Some(value) => {
                        expected.hits += 1;
                        same(
                            step,
                            &format!("value of {key}"),
                            &Some(value),
                            &held.get(&key).copied(),
                        )?;
                    }
                    None => {
                        expected.misses += 1;
                        held.remove(&key);
                        gone += 1;
                    }
                }
            }
            same(step, "keys that left", &gone, &evicted)?;
            expected.evictions = stats.evictions;
        }
        let Some(stats) = subject.stats() else {
            return fail(step, "the subject stopped keeping statistics".into());
        };
        expected.size = held.len() as u64;
        expected.weight = expected.size;
        same(step, "statistics", &stats, &expected)?;
        same(step, "entries held", &subject.len(), &held.len())?;
        if held.len() > maxsize {
            return fail(step, format!("{} entries, maxsize {maxsize}", held.len()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;

    /// A model of one policy, as a subject.
    struct AsSubject(RefCell<Model>);

    impl Subject for AsSubject {
        fn get(&self, key: u8) -> Option<u32> {
            self.0.borrow_mut().get(key)
        }
        fn insert(&self, key: u8, value: u32) {
            self.0.borrow_mut().insert(key, value);
        }
        fn remove(&self, key: u8) -> bool {
            self.0.borrow_mut().remove(key)
        }
        fn get_or_insert(&self, key: u8, value: u32) -> u32 {
            self.0.borrow_mut().get_or_insert(key, value)
        }
        fn len(&self) -> usize {
            self.0.borrow().len()
        }
    }

    fn subject(policy: Policy, maxsize: usize) -> AsSubject {
        AsSubject(RefCell::new(Model::new(policy, maxsize)))
    }

    /// The driver tells the policies apart: a read makes LRU keep a key FIFO evicts, and
    /// a second use makes LFU keep a key LRU evicts.
    #[test]
    fn the_driver_catches_the_wrong_victim() {
        let read_then_insert = [
            Op::Insert(1, 1),
            Op::Insert(2, 2),
            Op::Get(1),
            Op::Insert(3, 3),
        ];
        for policy in [Policy::Lru, Policy::Lfu, Policy::Fifo] {
            assert_eq!(
                replay_exact(&subject(policy, 2), policy, 2, &read_then_insert),
                Ok(())
            );
        }
        let fifo_as_lru =
            replay_exact(&subject(Policy::Fifo, 2), Policy::Lru, 2, &read_then_insert);
        assert!(fifo_as_lru.is_err_and(|divergence| divergence.step == read_then_insert.len()));
        let used_more_but_longer_ago = [
            Op::Insert(1, 1),
            Op::Get(1),
            Op::Get(1),
            Op::Insert(2, 2),
            Op::Get(2),
            Op::Insert(3, 3),
            Op::Get(1),
        ];
        // LRU evicts 1 (used less recently), LFU evicts 2 (used less often).
        let lru_as_lfu = replay_exact(
            &subject(Policy::Lru, 2),
            Policy::Lfu,
            2,
            &used_more_but_longer_ago,
        );
        assert_eq!(lru_as_lfu.map_err(|divergence| divergence.step), Err(6));
        let wrong_count = replay_exact(&subject(Policy::Lru, 3), Policy::Lru, 2, &read_then_insert);
        assert_eq!(wrong_count.map_err(|divergence| divergence.step), Err(3));
    }

    #[test]
    fn random_replacement_invariants_hold_for_any_victim() {
        let ops = [
            Op::Insert(1, 1),
            Op::Insert(2, 2),
            Op::GetOrInsert(3, 3),
            Op::Remove(2),
            Op::Get(3),
        ];
        assert_eq!(replay_random(&subject(Policy::Fifo, 2), 2, &ops), Ok(()));
        let too_big = replay_random(&subject(Policy::Fifo, 3), 2, &ops);
        assert_eq!(too_big.map_err(|divergence| divergence.step), Err(2));
    }
}
