//! The eviction-order queue of a shard: a min-queue of `(primary, stamp, hash)` items.
//!
//! LFU keys (`frequency`, `stamp`) can be pushed below the last popped key (a new entry
//! has frequency 1), so LFU uses a binary heap. LRU and FIFO keys are stamps from the
//! shard's clock: a new entry takes the newest stamp, so most pushes arrive in order, and
//! those go to the back of a deque (`O(1)`, sequential memory). Only a re-queued entry (one
//! used since it was queued, see `Store::evict_one`) can arrive below the newest item; those
//! few go to a small binary heap beside it, and a pop takes the smaller of the two fronts.
//! A run of misses — every call a new key evicting the oldest — never touches the heap.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

/// `(stamp, hash)` items: the in-order ones in a deque, the rest in a heap.
pub(crate) struct Monotone {
    /// Items pushed at or above the newest item so far: sorted by construction.
    in_order: VecDeque<(u64, u64)>,
    /// Items pushed below the newest item at the time.
    late: BinaryHeap<Reverse<(u64, u64)>>,
}

impl Monotone {
    const fn new() -> Self {
        Self {
            in_order: VecDeque::new(),
            late: BinaryHeap::new(),
        }
    }

    #[inline]
    fn push(&mut self, stamp: u64, hash: u64) {
        match self.in_order.back() {
            Some(&(newest, _)) if stamp < newest => self.late.push(Reverse((stamp, hash))),
            _ => self.in_order.push_back((stamp, hash)),
        }
    }

    #[inline]
    fn pop(&mut self) -> Option<(u64, u64)> {
        match (self.in_order.front(), self.late.peek()) {
            (Some(&front), Some(&Reverse(late))) if late < front => {
                self.late.pop().map(|Reverse(item)| item)
            }
            (Some(_), _) => self.in_order.pop_front(),
            (None, _) => self.late.pop().map(|Reverse(item)| item),
        }
    }

    fn len(&self) -> usize {
        self.in_order.len() + self.late.len()
    }

    fn clear(&mut self) {
        self.in_order.clear();
        self.late.clear();
    }
}

/// A min-queue of eviction keys `(primary, stamp, hash)`.
pub(crate) enum Order {
    /// Any keys (LFU).
    Heap(BinaryHeap<Reverse<(u64, u64, u64)>>),
    /// Mostly increasing stamps, `primary == 0` (LRU, FIFO).
    Monotone(Monotone),
}

impl Order {
    /// A deque-and-heap queue when every key is `(0, stamp)` with mostly increasing
    /// stamps, else a heap.
    pub(crate) fn new(monotone: bool) -> Self {
        if monotone {
            Self::Monotone(Monotone::new())
        } else {
            Self::Heap(BinaryHeap::new())
        }
    }

    #[inline]
    pub(crate) fn push(&mut self, primary: u64, stamp: u64, hash: u64) {
        match self {
            Self::Heap(heap) => heap.push(Reverse((primary, stamp, hash))),
            Self::Monotone(queue) => queue.push(stamp, hash),
        }
    }

    /// The smallest key.
    #[inline]
    pub(crate) fn pop(&mut self) -> Option<(u64, u64, u64)> {
        match self {
            Self::Heap(heap) => heap.pop().map(|Reverse(item)| item),
            Self::Monotone(queue) => queue.pop().map(|(stamp, hash)| (0, stamp, hash)),
        }
    }

    pub(crate) fn len(&self) -> usize {
        match self {
            Self::Heap(heap) => heap.len(),
            Self::Monotone(queue) => queue.len(),
        }
    }

    pub(crate) fn clear(&mut self) {
        match self {
            Self::Heap(heap) => heap.clear(),
            Self::Monotone(queue) => queue.clear(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The deque-and-heap queue pops exactly what a binary heap pops, for mostly
    /// increasing pushes with some late ones, and across `clear`.
    #[test]
    fn monotone_pops_in_heap_order() {
        let mut queue = Order::new(true);
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
                queue.push(0, stamp, hash);
                heap.push(0, stamp, hash);
            } else if roll < 9 {
                let (a, b) = (queue.pop(), heap.pop());
                assert_eq!(a.map(|item| item.1), b.map(|item| item.1));
                if let Some((_, stamp, _)) = a {
                    floor = stamp;
                }
            } else if round % 5_000 == 0 {
                queue.clear();
                heap.clear();
                floor = 0;
            }
            assert_eq!(queue.len(), heap.len());
        }
    }
}
