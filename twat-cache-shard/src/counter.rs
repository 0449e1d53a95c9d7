//! [`Counters`]: exact hit and miss counts that many threads bump without a locked
//! instruction.
//!
//! Each thread that counts claims one of [`OWNED_SLOTS`] slots for its lifetime (returned
//! when it exits) and bumps its own slot with a plain load and store: only its owner ever
//! writes a slot, so no increment is lost, and no two threads write one cache line. A
//! thread that finds every slot taken (or counts while its thread-locals are being torn
//! down) uses a shared atomic instead. A slot handed from an exited thread to a new one
//! keeps its count: the release and the claim go through one atomic word, so the new owner
//! continues from the old owner's last store. The total is the sum of all slots, exact
//! once the counting threads are quiet.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// How many threads at once count through their own slot.
pub(crate) const OWNED_SLOTS: usize = 32;

/// Bit `i` set: slot `i` is free.
static FREE_SLOTS: AtomicU32 = AtomicU32::new(u32::MAX);

/// This thread's slot, returned to [`FREE_SLOTS`] when the thread exits.
struct ClaimedSlot(Option<usize>);

impl ClaimedSlot {
    fn claim() -> Self {
        let mut free = FREE_SLOTS.load(Ordering::Acquire);
        while free != 0 {
            let slot = free.trailing_zeros();
            match FREE_SLOTS.compare_exchange_weak(
                free,
                free & !(1 << slot),
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return Self(usize::try_from(slot).ok()),
                Err(now) => free = now,
            }
        }
        Self(None)
    }
}

impl Drop for ClaimedSlot {
    fn drop(&mut self) {
        if let Some(slot) = self.0 {
            // Release: the next owner sees this thread's last stores to the slot.
            FREE_SLOTS.fetch_or(1 << slot, Ordering::Release);
        }
    }
}

thread_local! {
    static SLOT: ClaimedSlot = ClaimedSlot::claim();
}

/// The two counts of one slot, on their own cache lines.
#[derive(Debug, Default)]
#[repr(align(128))]
struct Pair([AtomicU64; 2]);

/// Index of the hit count in a [`Pair`].
const HITS: usize = 0;
/// Index of the miss count in a [`Pair`].
const MISSES: usize = 1;

/// Exact hit and miss counts for many threads (see the module docs).
#[derive(Debug)]
pub(crate) struct Counters {
    owned: Box<[Pair]>,
    shared: Pair,
    /// The totals at the last [`Counters::reset`], subtracted from every reading.
    base: [AtomicU64; 2],
}

impl Counters {
    pub(crate) fn new() -> Self {
        Self {
            owned: (0..OWNED_SLOTS).map(|_| Pair::default()).collect(),
            shared: Pair::default(),
            base: Default::default(),
        }
    }

    /// Counts one hit.
    #[inline]
    pub(crate) fn add_hit(&self) {
        self.add(HITS);
    }

    /// Counts one miss.
    #[inline]
    pub(crate) fn add_miss(&self) {
        self.add(MISSES);
    }

    #[inline]
    fn add(&self, which: usize) {
        let owned = SLOT
            .try_with(|slot| slot.0)
            .ok()
            .flatten()
            .and_then(|slot| self.owned.get(slot))
            .and_then(|pair| pair.0.get(which));
        match owned {
            // Only this thread writes its slot: a plain load and store lose nothing.
            Some(count) => count.store(count.load(Ordering::Relaxed) + 1, Ordering::Relaxed),
            None => {
                if let Some(count) = self.shared.0.get(which) {
                    count.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }

    fn raw_total(&self, which: usize) -> u64 {
        self.owned
            .iter()
            .chain(std::iter::once(&self.shared))
            .filter_map(|pair| pair.0.get(which))
            .map(|count| count.load(Ordering::Relaxed))
            .sum()
    }

    fn total(&self, which: usize) -> u64 {
        let base = self
            .base
            .get(which)
            .map_or(0, |base| base.load(Ordering::Relaxed));
        self.raw_total(which).saturating_sub(base)
    }

    /// Hits counted since creation or the last reset.
    pub(crate) fn hits(&self) -> u64 {
        self.total(HITS)
    }

    /// Misses counted since creation or the last reset.
    pub(crate) fn misses(&self) -> u64 {
        self.total(MISSES)
    }

    /// Starts counting from zero again (the slots themselves are only written by their
    /// owners, so the reset is a new baseline).
    pub(crate) fn reset(&self) {
        for (which, base) in self.base.iter().enumerate() {
            base.store(self.raw_total(which), Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// More threads than slots, several generations of threads reusing slots: no count
    /// is lost, and a reset starts from zero.
    #[test]
    fn counts_are_exact_across_threads_and_slot_reuse() {
        let counter = Counters::new();
        for _generation in 0..3 {
            std::thread::scope(|scope| {
                for _ in 0..(OWNED_SLOTS + 8) {
                    scope.spawn(|| {
                        for _ in 0..1_000 {
                            counter.add_hit();
                        }
                        counter.add_miss();
                    });
                }
            });
        }
        let threads = 3 * (OWNED_SLOTS as u64 + 8);
        assert_eq!(counter.hits(), threads * 1_000);
        assert_eq!(counter.misses(), threads);
        counter.reset();
        assert_eq!((counter.hits(), counter.misses()), (0, 0));
        counter.add_miss();
        assert_eq!((counter.hits(), counter.misses()), (0, 1));
    }
}
