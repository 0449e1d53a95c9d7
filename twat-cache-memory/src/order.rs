//! The eviction-order queue of a shard: a min-queue of `(primary, stamp, hash)` items.
//!
//! LFU keys (`frequency`, `stamp`) can be pushed below the last popped key (a new entry
//! has frequency 1), so LFU uses a binary heap. LRU and FIFO keys are stamps from the
//! shard's clock, and every push is at least the last popped key (a new entry takes the
//! newest stamp; a re-queued entry's current stamp is larger than the item popped for
//! it), so they use a radix heap: `O(1)` amortized per operation instead of a heap's
//! `O(log n)` sift through cold memory — the bulk of an eviction's cost.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// A radix heap of `(stamp, hash)` items: bucket `i > 0` holds the items whose stamp
/// first differs from `last` (the last popped stamp) at bit `i - 1`, bucket 0 those equal
/// to it. Popping empties the lowest non-empty bucket into lower ones around its minimum.
pub(crate) struct Radix {
    last: u64,
    len: usize,
    buckets: Vec<Vec<(u64, u64)>>,
}

impl Radix {
    fn new() -> Self {
        Self {
            last: 0,
            len: 0,
            buckets: (0..=64).map(|_| Vec::new()).collect(),
        }
    }

    #[inline]
    const fn bucket(stamp: u64, last: u64) -> usize {
        (u64::BITS - (stamp ^ last).leading_zeros()) as usize
    }

    fn push(&mut self, stamp: u64, hash: u64) {
        if stamp < self.last {
            // Not monotone (cannot happen for LRU/FIFO stamps; see the module docs):
            // restart the buckets from a base below every item rather than misorder.
            let mut items: Vec<(u64, u64)> =
                self.buckets.iter_mut().flat_map(std::mem::take).collect();
            self.last = stamp;
            self.len = 0;
            for (stamp, hash) in items.drain(..) {
                self.push(stamp, hash);
            }
        }
        let index = Self::bucket(stamp, self.last);
        if let Some(bucket) = self.buckets.get_mut(index) {
            bucket.push((stamp, hash));
            self.len += 1;
        }
    }

    fn pop(&mut self) -> Option<(u64, u64)> {
        if self.len == 0 {
            return None;
        }
        if self.buckets.first().is_some_and(Vec::is_empty) {
            let index = self.buckets.iter().position(|bucket| !bucket.is_empty())?;
            let items = std::mem::take(self.buckets.get_mut(index)?);
            self.last = items.iter().map(|&(stamp, _)| stamp).min()?;
            for &(stamp, hash) in &items {
                let target = Self::bucket(stamp, self.last);
                self.buckets.get_mut(target)?.push((stamp, hash));
            }
            // Give the emptied bucket its allocation back for later pushes.
            let mut items = items;
            items.clear();
            if let Some(bucket) = self.buckets.get_mut(index)
                && bucket.is_empty()
            {
                *bucket = items;
            }
        }
        let item = self.buckets.first_mut()?.pop()?;
        self.len -= 1;
        Some(item)
    }

    fn clear(&mut self) {
        for bucket in &mut self.buckets {
            bucket.clear();
        }
        self.last = 0;
        self.len = 0;
    }
}

/// A min-queue of eviction keys `(primary, stamp, hash)`.
pub(crate) enum Order {
    /// Any keys (LFU).
    Heap(BinaryHeap<Reverse<(u64, u64, u64)>>),
    /// Monotone stamps, `primary == 0` (LRU, FIFO).
    Radix(Radix),
}

impl Order {
    /// A radix queue when every key is `(0, stamp)` with monotone pushes, else a heap.
    pub(crate) fn new(monotone: bool) -> Self {
        if monotone {
            Self::Radix(Radix::new())
        } else {
            Self::Heap(BinaryHeap::new())
        }
    }

    #[inline]
    pub(crate) fn push(&mut self, primary: u64, stamp: u64, hash: u64) {
        match self {
            Self::Heap(heap) => heap.push(Reverse((primary, stamp, hash))),
            Self::Radix(radix) => radix.push(stamp, hash),
        }
    }

    /// The smallest key.
    #[inline]
    pub(crate) fn pop(&mut self) -> Option<(u64, u64, u64)> {
        match self {
            Self::Heap(heap) => heap.pop().map(|Reverse(item)| item),
            Self::Radix(radix) => radix.pop().map(|(stamp, hash)| (0, stamp, hash)),
        }
    }

    pub(crate) fn len(&self) -> usize {
        match self {
            Self::Heap(heap) => heap.len(),
            Self::Radix(radix) => radix.len,
        }
    }

    pub(crate) fn clear(&mut self) {
        match self {
            Self::Heap(heap) => heap.clear(),
            Self::Radix(radix) => radix.clear(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The radix queue pops exactly what a binary heap pops, for monotone pushes (with
    /// the occasional non-monotone push it recovers from) and across `clear`.
    #[test]
    fn radix_pops_in_heap_order() {
        let mut radix = Order::new(true);
        let mut heap = Order::new(false);
        let mut rng = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        let mut floor = 0_u64;
        for round in 0..20_000_u64 {
            let roll = next() % 10;
            if roll < 5 {
                let stamp = if round % 997 == 0 {
                    floor / 2
                } else {
                    floor + next() % 1_000
                };
                let hash = next();
                radix.push(0, stamp, hash);
                heap.push(0, stamp, hash);
            } else if roll < 9 {
                let (a, b) = (radix.pop(), heap.pop());
                assert_eq!(a.map(|item| item.1), b.map(|item| item.1));
                if let Some((_, stamp, _)) = a {
                    floor = stamp;
                }
            } else if round % 5_000 == 0 {
                radix.clear();
                heap.clear();
                floor = 0;
            }
            assert_eq!(radix.len(), heap.len());
        }
    }
}
