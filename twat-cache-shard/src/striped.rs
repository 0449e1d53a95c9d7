//! A read-write lock whose readers write nothing in common: one `parking_lot` lock per
//! *stripe*, a thread read-locking only its own stripe, a writer locking them all.
//!
//! # Why
//!
//! A hit only reads a shard, but an ordinary read lock writes its lock word, so two
//! threads hitting the cache pass that cache line between their cores on nearly every hit
//! — whichever shards they touch — and throughput stops growing with the second thread.
//! With one lock word per stripe, each on its own cache line, hits from different threads
//! share no written line. A writer takes every stripe in turn: the cost moves to inserts.
//!
//! # Why not `crossbeam_utils::sync::ShardedLock`
//!
//! It is this lock with a fixed 8 stripes (and std's poisoning locks): a write costs 8
//! lock/unlock pairs, ≈ 144 ns here against ≈ 19 ns for a `parking_lot` write, which alone
//! would make a miss slower than twice `#[cached]`'s. Here the stripe count follows the
//! machine: the number of cores rounded up to a power of two, at most [`MAX_STRIPES`] (two
//! on a 2-core machine, so a write costs two lock/unlock pairs). More threads than stripes
//! share stripes, which costs throughput, never correctness.
//!
//! # The one `unsafe` of the crate
//!
//! The striping is a [`lock_api::RawRwLock`] (an `unsafe` trait: the implementor promises
//! mutual exclusion), and `lock_api::RwLock` builds the safe lock and its guards on top,
//! as `parking_lot` itself does. The promise rests on two facts:
//!
//! * a writer holds *every* stripe exclusively, and a reader holds one, so no reader
//!   overlaps a writer and no two writers overlap;
//! * a reader releases the stripe it locked: the stripe is chosen by a per-thread index
//!   that never changes for the life of the thread (`this_threads_stripe`), and the guards are
//!   `!Send` (`GuardNoSend`), so a read lock is always released on the thread that took it.
//!
//! The `unsafe` blocks only forward `unlock_*` to the `parking_lot` stripes the caller
//! (lock_api, on behalf of a live guard) is known to hold.

#![allow(
    unsafe_code,
    reason = "implements lock_api's unsafe RawRwLock trait; see the module docs"
)]

use std::num::NonZeroUsize;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use lock_api::GuardNoSend;
use parking_lot::RawRwLock;

/// The most stripes a lock has (on machines with this many cores or more).
pub(crate) const MAX_STRIPES: usize = 8;

/// A read-write lock over `T` whose readers lock only their thread's stripe.
pub(crate) type StripedRwLock<T> = lock_api::RwLock<RawStriped, T>;
/// A read guard of a [`StripedRwLock`].
pub(crate) type StripedReadGuard<'a, T> = lock_api::RwLockReadGuard<'a, RawStriped, T>;
/// A write guard of a [`StripedRwLock`].
pub(crate) type StripedWriteGuard<'a, T> = lock_api::RwLockWriteGuard<'a, RawStriped, T>;

/// A stripe's lock word alone on its cache lines (128 bytes: the adjacent-line
/// prefetcher of x86 pulls lines in pairs).
#[repr(align(128))]
struct Stripe(RawRwLock);

/// The raw striped lock behind [`StripedRwLock`].
pub(crate) struct RawStriped {
    stripes: [Stripe; MAX_STRIPES],
}

thread_local! {
    /// This thread's stripe: threads are numbered in the order they first lock, and thread
    /// `n` takes stripe `n mod stripes_in_use()`. (A `usize` has no destructor, so it stays
    /// readable until the thread is gone, and every lock and unlock on one thread sees the
    /// same stripe.)
    static THIS_THREADS_STRIPE: usize = {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        // `stripes_in_use` is a power of two, never zero.
        NEXT.fetch_add(1, Ordering::Relaxed) & (stripes_in_use() - 1)
    };
}

/// The stripe this thread read-locks, fixed for the thread's lifetime.
#[inline]
fn this_threads_stripe() -> usize {
    THIS_THREADS_STRIPE.with(|stripe| *stripe) & (MAX_STRIPES - 1)
}

/// How many stripes every lock uses: the core count rounded up to a power of two, within
/// `1..=MAX_STRIPES`. Fixed on first use, so lockers and unlockers always agree.
#[inline]
fn stripes_in_use() -> usize {
    static IN_USE: OnceLock<usize> = OnceLock::new();
    *IN_USE.get_or_init(|| {
        std::thread::available_parallelism()
            .map_or(MAX_STRIPES, NonZeroUsize::get)
            .next_power_of_two()
            .clamp(1, MAX_STRIPES)
    })
}

impl RawStriped {
    /// The stripes a writer takes.
    #[inline]
    fn in_use(&self) -> &[Stripe] {
        let count = stripes_in_use().min(MAX_STRIPES);
        self.stripes.get(..count).unwrap_or(&self.stripes)
    }

    /// This thread's stripe.
    #[inline]
    fn mine(&self) -> &RawRwLock {
        &self.stripes[this_threads_stripe()].0
    }
}

// SAFETY: see the module docs — a writer holds every stripe in use, a reader one, and a
// reader always unlocks the stripe it locked (same thread, same index).
unsafe impl lock_api::RawRwLock for RawStriped {
    #[allow(
        clippy::declare_interior_mutable_const,
        reason = "lock_api's INIT pattern: each lock copies it"
    )]
    const INIT: Self = Self {
        stripes: [const { Stripe(RawRwLock::INIT) }; MAX_STRIPES],
    };

    type GuardMarker = GuardNoSend;

    #[inline]
    fn lock_shared(&self) {
        self.mine().lock_shared();
    }

    #[inline]
    fn try_lock_shared(&self) -> bool {
        self.mine().try_lock_shared()
    }

    #[inline]
    unsafe fn unlock_shared(&self) {
        // SAFETY: the caller holds a shared lock taken by `lock_shared` on this thread,
        // which locked exactly `self.mine()`.
        unsafe { self.mine().unlock_shared() }
    }

    fn lock_exclusive(&self) {
        // Always in the same order, so two writers cannot deadlock.
        for stripe in self.in_use() {
            stripe.0.lock_exclusive();
        }
    }

    fn try_lock_exclusive(&self) -> bool {
        let in_use = self.in_use();
        for (taken, stripe) in in_use.iter().enumerate() {
            if !stripe.0.try_lock_exclusive() {
                for held in in_use.iter().take(taken) {
                    // SAFETY: locked exclusively just above, by this call.
                    unsafe { held.0.unlock_exclusive() };
                }
                return false;
            }
        }
        true
    }

    unsafe fn unlock_exclusive(&self) {
        for stripe in self.in_use().iter().rev() {
            // SAFETY: the caller holds the exclusive lock, i.e. every stripe in use.
            unsafe { stripe.0.unlock_exclusive() };
        }
    }

    fn is_locked(&self) -> bool {
        self.in_use().iter().any(|stripe| stripe.0.is_locked())
    }

    fn is_locked_exclusive(&self) -> bool {
        self.in_use()
            .first()
            .is_some_and(|stripe| stripe.0.is_locked_exclusive())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// Writers exclude readers and each other: every reader sees a pair written together.
    #[test]
    fn readers_never_see_a_half_written_value() {
        let lock = Arc::new(StripedRwLock::new((0_u64, 0_u64)));
        std::thread::scope(|scope| {
            for _ in 0..2 {
                let lock = Arc::clone(&lock);
                scope.spawn(move || {
                    for round in 0..20_000_u64 {
                        let mut pair = lock.write();
                        pair.0 = round;
                        std::hint::black_box(&mut *pair);
                        pair.1 = round;
                    }
                });
            }
            for _ in 0..4 {
                let lock = Arc::clone(&lock);
                scope.spawn(move || {
                    for _ in 0..20_000 {
                        let pair = lock.read();
                        assert_eq!(pair.0, pair.1);
                    }
                });
            }
        });
        assert!(!lock.is_locked());
    }

    #[test]
    fn try_write_fails_while_read_and_backs_out() {
        let lock = StripedRwLock::new(1);
        let reader = lock.read();
        assert!(lock.try_write().is_none());
        assert!(lock.try_read().is_some());
        drop(reader);
        let writer = lock.try_write();
        assert!(writer.is_some());
        assert!(lock.try_read().is_none());
        drop(writer);
        assert!(!lock.is_locked());
    }

    #[test]
    fn a_thread_keeps_its_stripe() {
        let first = this_threads_stripe();
        assert!(first < stripes_in_use());
        assert_eq!(this_threads_stripe(), first);
    }
}
