//! [`HitCounter`]: an exact counter that many threads bump without a locked instruction.
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

/// A count on its own cache lines.
#[derive(Debug, Default)]
#[repr(align(128))]
struct Padded(AtomicU64);

/// An exact event counter for many threads (see the module docs).
#[derive(Debug)]
pub(crate) struct HitCounter {
    owned: Box<[Padded]>,
    shared: Padded,
    /// The total at the last [`HitCounter::reset`], subtracted from every reading.
    base: AtomicU64,
}

impl HitCounter {
    pub(crate) fn new() -> Self {
        Self {
            owned: (0..OWNED_SLOTS).map(|_| Padded::default()).collect(),
            shared: Padded::default(),
            base: AtomicU64::new(0),
        }
    }

    /// Counts one event.
    #[inline]
    pub(crate) fn add_one(&self) {
        let owned = SLOT
            .try_with(|slot| slot.0)
            .ok()
            .flatten()
            .and_then(|slot| self.owned.get(slot));
        match owned {
            // Only this thread writes its slot: a plain load and store lose nothing.
            Some(counter) => counter
                .0
                .store(counter.0.load(Ordering::Relaxed) + 1, Ordering::Relaxed),
            None => {
                self.shared.0.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    fn raw_total(&self) -> u64 {
        self.owned
            .iter()
            .map(|counter| counter.0.load(Ordering::Relaxed))
            .sum::<u64>()
            + self.shared.0.load(Ordering::Relaxed)
    }

    /// Events counted since creation or the last reset.
    pub(crate) fn total(&self) -> u64 {
        self.raw_total()
            .saturating_sub(self.base.load(Ordering::Relaxed))
    }

    /// Starts counting from zero again (the slots themselves are only written by their
    /// owners, so the reset is a new baseline).
    pub(crate) fn reset(&self) {
        self.base.store(self.raw_total(), Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// More threads than slots, several generations of threads reusing slots: no count
    /// is lost, and a reset starts from zero.
    #[test]
    fn counts_are_exact_across_threads_and_slot_reuse() {
        let counter = HitCounter::new();
        for _generation in 0..3 {
            std::thread::scope(|scope| {
                for _ in 0..(OWNED_SLOTS + 8) {
                    scope.spawn(|| {
                        for _ in 0..1_000 {
                            counter.add_one();
                        }
                    });
                }
            });
        }
        assert_eq!(counter.total(), 3 * (OWNED_SLOTS as u64 + 8) * 1_000);
        counter.reset();
        assert_eq!(counter.total(), 0);
        counter.add_one();
        assert_eq!(counter.total(), 1);
    }
}
