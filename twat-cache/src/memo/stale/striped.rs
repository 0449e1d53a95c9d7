//! [`StripedCount`]: a count that many threads bump without writing to a shared cache line.
//!
//! Stale hits are counted on the stale path, which every caller takes while a refresh
//! runs. One shared atomic there would make the threads serving old values take turns
//! owning its cache line; each thread bumps its own stripe instead, and a reading sums
//! them.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// Stripes per count: threads beyond this share stripes (still exact, a little slower).
const STRIPES: usize = 16;

/// One stripe, alone on its cache line (128 bytes: two lines on x86's adjacent-line
/// prefetcher, one on most others).
#[derive(Default)]
#[repr(align(128))]
struct Stripe(AtomicU64);

/// An exact count, bumped per thread stripe.
#[derive(Default)]
pub(super) struct StripedCount {
    stripes: [Stripe; STRIPES],
}

/// This thread's stripe: threads take stripes in turn as they first count.
fn stripe_of_this_thread() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static STRIPE: usize = NEXT.fetch_add(1, Ordering::Relaxed) % STRIPES;
    }
    STRIPE.with(|stripe| *stripe)
}

impl StripedCount {
    /// Adds one.
    #[inline]
    pub(super) fn add(&self) {
        if let Some(stripe) = self.stripes.get(stripe_of_this_thread()) {
            stripe.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The count (every stripe's, summed).
    pub(super) fn total(&self) -> u64 {
        self.stripes
            .iter()
            .map(|stripe| stripe.0.load(Ordering::Relaxed))
            .fold(0, u64::saturating_add)
    }

    /// Back to zero (counts made during the reset may survive it, as with any counter).
    pub(super) fn reset(&self) {
        for stripe in &self.stripes {
            stripe.0.store(0, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::StripedCount;

    #[test]
    fn counts_from_many_threads_are_exact() {
        let count = StripedCount::default();
        std::thread::scope(|scope| {
            for _ in 0..40 {
                scope.spawn(|| {
                    for _ in 0..1_000 {
                        count.add();
                    }
                });
            }
        });
        assert_eq!(count.total(), 40_000);
        count.reset();
        assert_eq!(count.total(), 0);
        count.add();
        assert_eq!(count.total(), 1);
    }
}
