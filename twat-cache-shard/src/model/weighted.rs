//! The driver for weighted caches with an eviction listener: [`replay_weighted`] checks
//! that a cache bounded by total weight never holds more than its bound after any
//! operation, and that the listener hears of every entry that leaves exactly once, with
//! the right [`RemovalCause`]. Expanded for every policy by
//! [`weighted_proptests!`](crate::weighted_proptests).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use crate::{CacheOptions, RemovalCause};

use super::{Divergence, Op, Subject, same};

/// The weight the weighted subjects give an entry: the low 4 bits of its value (0 to
/// 15). The driver stores values whose upper bits are unique, so every stored value can
/// be told apart in the listener's reports.
#[must_use]
pub const fn weight_of(value: u32) -> u32 {
    value & 15
}

/// An eviction listener that records what it hears (for tests): clone it into
/// [`CacheOptions::on_evict`] through [`listener`](Self::listener), read it with
/// [`take`](Self::take).
#[derive(Debug)]
pub struct Recorder<K, V>(Arc<Mutex<Vec<(K, V, RemovalCause)>>>);

impl<K, V> Default for Recorder<K, V> {
    fn default() -> Self {
        Self(Arc::new(Mutex::new(Vec::new())))
    }
}

impl<K, V> Clone for Recorder<K, V> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

impl<K: Send + 'static, V: Send + 'static> Recorder<K, V> {
    /// An empty record.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The listener that writes into this record.
    pub fn listener(&self) -> impl Fn(K, V, RemovalCause) + Send + Sync + 'static {
        let record = self.clone();
        move |key, value, cause| {
            record
                .0
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push((key, value, cause));
        }
    }

    /// What was heard since the last call, in order.
    #[must_use]
    pub fn take(&self) -> Vec<(K, V, RemovalCause)> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

/// The options of a [`WeightedSubject`]: weigher `weight_of(value)`, and `recorder` as the
/// listener.
#[must_use]
pub fn weighted_options(recorder: &Recorder<u8, u32>) -> CacheOptions<u8, u32> {
    CacheOptions::new()
        .weigher(|_, value| weight_of(*value))
        .on_evict(recorder.listener())
}

/// A front-end bounded by total weight, whose weigher is `|_, value| weight_of(*value)`
/// and whose listener records every removal.
pub trait WeightedSubject: Subject {
    /// Every live entry, without counting a use (the front-end's `iter`).
    fn entries(&self) -> Vec<(u8, u32)>;
    /// What the listener heard since the last call, in order.
    fn take_removed(&self) -> Vec<(u8, u32, RemovalCause)>;
}

/// The value the driver stores at `step` for an operation's `value`: unique per step,
/// with `value`'s weight.
fn unique(step: usize, value: u32) -> u32 {
    let step = u32::try_from(step).unwrap_or(u32::MAX >> 4);
    ((step + 1) << 4) | weight_of(value)
}

/// Replays `ops` on `subject`, a fresh cache bounded to total weight `bound`, checking
/// after every operation:
///
/// * the live entries weigh at most `bound`, and `stats()` reports their weight, their
///   count and `bound` as its `maxsize`;
/// * every answer is the value the driver knows is held (or nothing);
/// * the listener reported each entry that left exactly once: a replaced value as
///   [`RemovalCause::Replaced`], a removed one as [`RemovalCause::Removed`], the rest
///   (evicted, or too heavy to store) as [`RemovalCause::Size`] — and after the reports,
///   the entries held are exactly the ones stored and not reported;
/// * every `Size` report is one eviction in `stats()`.
///
/// # Errors
///
/// The first [`Divergence`]; a subject without [`Subject::stats`] fails at step 0.
pub fn replay_weighted<S: WeightedSubject>(
    subject: &S,
    bound: u64,
    ops: &[Op],
) -> Result<(), Divergence> {
    let fail = |step: usize, what: String| Err(Divergence { step, what });
    let mut live: HashMap<u8, u32> = HashMap::new();
    let mut evicted = 0_u64;
    for (step, op) in ops.iter().enumerate() {
        let what = format!("{op:?}");
        // the value this operation made leave on purpose, and how
        let mut expected: Option<(u8, u32, RemovalCause)> = None;
        match *op {
            Op::Get(key) => same(step, &what, &subject.get(key), &live.get(&key).copied())?,
            Op::Insert(key, value) => {
                let value = unique(step, value);
                subject.insert(key, value);
                if let Some(prior) = live.insert(key, value) {
                    expected = Some((key, prior, RemovalCause::Replaced));
                }
            }
            Op::Remove(key) => {
                let prior = live.remove(&key);
                same(step, &what, &subject.remove(key), &prior.is_some())?;
                expected = prior.map(|prior| (key, prior, RemovalCause::Removed));
            }
            Op::GetOrInsert(key, value) => {
                let value = unique(step, value);
                let got = subject.get_or_insert(key, value);
                let wanted = *live.entry(key).or_insert(value);
                same(step, &what, &got, &wanted)?;
            }
        }
        for report in subject.take_removed() {
            if expected == Some(report) {
                expected = None;
                continue;
            }
            let (key, value, cause) = report;
            if live.get(&key) != Some(&value) {
                return fail(
                    step,
                    format!("{report:?} reported, but not held (or twice)"),
                );
            }
            if cause != RemovalCause::Size {
                return fail(
                    step,
                    format!("{report:?}: an eviction reported as {cause:?}"),
                );
            }
            live.remove(&key);
            evicted += 1;
        }
        if let Some(missing) = expected {
            return fail(step, format!("{missing:?} was never reported"));
        }
        let mut held = subject.entries();
        held.sort_unstable();
        let mut known: Vec<(u8, u32)> = live.iter().map(|(key, value)| (*key, *value)).collect();
        known.sort_unstable();
        same(step, "entries held", &held, &known)?;
        let weight: u64 = held
            .iter()
            .map(|(_, value)| u64::from(weight_of(*value)))
            .sum();
        if weight > bound {
            return fail(step, format!("weight {weight} above the bound {bound}"));
        }
        let Some(stats) = subject.stats() else {
            return fail(step, "the subject keeps no statistics".into());
        };
        same(step, "stats weight", &stats.weight, &weight)?;
        same(step, "stats size", &stats.size, &(held.len() as u64))?;
        same(step, "stats maxsize", &stats.maxsize, &Some(bound))?;
        same(step, "evictions", &stats.evictions, &evicted)?;
    }
    Ok(())
}

/// The weighted proptests, for a front-end's test file: for LRU, LFU, FIFO, random
/// replacement and W-TinyLFU, 256 random sequences of up to 200 operations each with
/// weights 0 to 15 and bounds 1 to 40, run through [`replay_weighted`]. The argument builds
/// the subject: `|policy: Policy, bound: u64| -> impl WeightedSubject`.
///
/// ```ignore
/// twat_cache_shard::weighted_proptests!(|policy, bound| Weighted::new(policy, bound));
/// ```
#[macro_export]
macro_rules! weighted_proptests {
    ($make:expr) => {
        ::proptest::proptest! {
            #![proptest_config(::proptest::test_runner::Config::with_cases(256))]

            #[test]
            fn weighted_caches_stay_within_their_bound_and_report_every_removal(
                policy in ::proptest::sample::select(vec![
                    $crate::model::Policy::Lru,
                    $crate::model::Policy::Lfu,
                    $crate::model::Policy::Fifo,
                    $crate::model::Policy::Random,
                    $crate::model::Policy::TinyLfu,
                ]),
                bound in 1_u64..=40,
                ops in ::proptest::collection::vec($crate::model::op(), 0..200),
            ) {
                let make = $make;
                let subject = make(policy, bound);
                $crate::model::replay_weighted(&subject, bound, &ops).map_err(|divergence| {
                    ::proptest::test_runner::TestCaseError::fail(
                        format!("{policy} bound {bound}: {divergence}"),
                    )
                })?;
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use twat_cache_core::{CacheConfig, Policy, Stats};

    use super::*;
    use crate::PolicyStore;

    /// The store itself, weighted and listened to.
    struct Store {
        store: PolicyStore<u8, u32, ()>,
        removed: Recorder<u8, u32>,
    }

    impl Subject for Store {
        fn get(&self, key: u8) -> Option<u32> {
            self.store.get(&key)
        }
        fn insert(&self, key: u8, value: u32) {
            self.store.insert(key, value);
        }
        fn remove(&self, key: u8) -> bool {
            self.store.remove(&key)
        }
        fn get_or_insert(&self, key: u8, value: u32) -> u32 {
            self.store.get(&key).unwrap_or_else(|| {
                self.store.insert(key, value);
                value
            })
        }
        fn len(&self) -> usize {
            self.store.len()
        }
        fn stats(&self) -> Option<Stats> {
            Some(self.store.stats())
        }
    }

    impl WeightedSubject for Store {
        fn entries(&self) -> Vec<(u8, u32)> {
            self.store.snapshot()
        }
        fn take_removed(&self) -> Vec<(u8, u32, RemovalCause)> {
            self.removed.take()
        }
    }

    fn store(policy: Policy, bound: u64) -> Store {
        let removed = Recorder::new();
        let options = weighted_options(&removed);
        let config = CacheConfig::builder()
            .maxsize(bound)
            .policy(policy)
            .build()
            .unwrap_or_else(|error| panic!("{error}"));
        Store {
            store: PolicyStore::with_options(&config, options),
            removed,
        }
    }

    crate::weighted_proptests!(store);

    /// The driver notices a listener that misses a removal and a bound that is passed.
    #[test]
    fn the_driver_catches_a_silent_eviction() {
        let ops = [Op::Insert(1, 5), Op::Insert(2, 5), Op::Insert(3, 5)];
        let subject = store(Policy::Lru, 10);
        assert_eq!(replay_weighted(&subject, 10, &ops), Ok(()));
        let deaf = store(Policy::Lru, 10);
        deaf.store.insert(9, 1);
        deaf.take_removed();
        assert!(replay_weighted(&deaf, 10, &ops).is_err());
    }
}
