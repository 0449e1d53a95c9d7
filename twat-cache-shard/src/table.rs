//! A shard's entries: a dense `Vec` of [`Slot`]s found through a `hashbrown::HashTable` of
//! their `u32` positions — the layout of `indexmap` (and of `cached`'s `SizedCache`).
//!
//! # Why not entries in the hash table itself
//!
//! A hash table at its usual load keeps a quarter to a half of its buckets empty, and a
//! bucket here is a whole entry (key, value, stamp, hash: 48 bytes for a `u64` key and a
//! `String` value). Entries spread over a table of 64-byte buckets made the entry load the
//! most expensive instruction of a hit: 10 000 entries filled 1 MiB of buckets, the size of
//! this machine's L2 cache. Here the probe walks 4-byte positions (64 KiB for 10 000
//! entries, which stays cached) and the entries sit packed in the order they were stored,
//! so a workload that revisits keys in roughly their insertion order (a batch re-run, a
//! scan, the benchmark's cycle) reads them sequentially, and any workload touches half the
//! memory. The price is one bounds-checked indirection per lookup and a position fix-up
//! when an entry leaves (the last entry moves into its place).
//!
//! `indexmap` has the same layout but no way to probe with a hash computed elsewhere and
//! to match an entry by something other than its key (the eviction queue finds entries by
//! hash and stamp), so the few lines are written here.

use std::sync::atomic::AtomicU64;

use hashbrown::HashTable;

/// One entry.
pub(crate) struct Slot<K, V, M> {
    pub(crate) key: K,
    pub(crate) value: V,
    /// Last access (LRU, LFU) or last write (FIFO); readers store it under the read lock.
    pub(crate) stamp: AtomicU64,
    /// The key's hash, kept so that moving or re-indexing an entry never rehashes its key.
    pub(crate) hash: u64,
    pub(crate) meta: M,
}

/// Dense entries behind an index of their positions.
pub(crate) struct Table<K, V, M> {
    index: HashTable<u32>,
    slots: Vec<Slot<K, V, M>>,
}

/// A position as the index stores it.
#[inline]
fn at(position: u32) -> usize {
    // `u32` always fits in `usize` on the 32- and 64-bit targets Rust's std supports.
    usize::try_from(position).unwrap_or(usize::MAX)
}

impl<K, V, M> Table<K, V, M> {
    pub(crate) const fn new() -> Self {
        Self {
            index: HashTable::new(),
            slots: Vec::new(),
        }
    }

    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    pub(crate) fn clear(&mut self) {
        self.index.clear();
        self.slots.clear();
    }

    /// Takes every entry out, in storage order.
    pub(crate) fn drain(&mut self) -> std::vec::Drain<'_, Slot<K, V, M>> {
        self.index.clear();
        self.slots.drain(..)
    }

    /// The entry at `position` (storage order).
    pub(crate) fn get(&self, position: usize) -> Option<&Slot<K, V, M>> {
        self.slots.get(position)
    }

    /// Every entry, in storage order.
    pub(crate) fn iter(&self) -> std::slice::Iter<'_, Slot<K, V, M>> {
        self.slots.iter()
    }

    /// The position of the entry with this `hash` that `matches`.
    #[inline]
    fn position(
        &self,
        hash: u64,
        mut matches: impl FnMut(&Slot<K, V, M>) -> bool,
    ) -> Option<usize> {
        let slots = &self.slots;
        self.index
            .find(hash, |&position| {
                slots.get(at(position)).is_some_and(&mut matches)
            })
            .map(|&position| at(position))
    }

    /// The entry with this `hash` that `matches`.
    #[inline]
    pub(crate) fn find(
        &self,
        hash: u64,
        mut matches: impl FnMut(&Slot<K, V, M>) -> bool,
    ) -> Option<&Slot<K, V, M>> {
        let slots = &self.slots;
        let mut found = None;
        // The probe keeps the entry it matched: one bounds check, not two.
        self.index
            .find(hash, |&position| match slots.get(at(position)) {
                Some(slot) if matches(slot) => {
                    found = Some(slot);
                    true
                }
                _ => false,
            });
        found
    }

    /// The entry with this `hash` that `matches`, to update in place.
    #[inline]
    pub(crate) fn find_mut(
        &mut self,
        hash: u64,
        matches: impl FnMut(&Slot<K, V, M>) -> bool,
    ) -> Option<&mut Slot<K, V, M>> {
        let position = self.position(hash, matches)?;
        self.slots.get_mut(position)
    }

    /// Every entry whose key hashed to `hash` (usually one, and their index neighbours that
    /// share its 7-bit tag, which the caller tells apart by [`Slot::hash`]).
    pub(crate) fn iter_hash(&self, hash: u64) -> impl Iterator<Item = &Slot<K, V, M>> {
        let slots = &self.slots;
        self.index
            .iter_hash(hash)
            .filter_map(|&position| slots.get(at(position)))
    }

    /// Adds an entry whose key is not present. Returns it back when the table already
    /// holds `u32::MAX` entries (the most one shard can index).
    pub(crate) fn insert_unique(&mut self, slot: Slot<K, V, M>) -> Result<(), Slot<K, V, M>> {
        let Ok(position) = u32::try_from(self.slots.len()) else {
            return Err(slot);
        };
        let slots = &self.slots;
        self.index.insert_unique(slot.hash, position, |&position| {
            slots.get(at(position)).map_or(0, |slot| slot.hash)
        });
        self.slots.push(slot);
        Ok(())
    }

    /// Removes the entry with this `hash` that `matches` (one probe finds and unlinks it).
    pub(crate) fn remove(
        &mut self,
        hash: u64,
        mut matches: impl FnMut(&Slot<K, V, M>) -> bool,
    ) -> Option<Slot<K, V, M>> {
        let slots = &self.slots;
        let entry = self
            .index
            .find_entry(hash, |&position| {
                slots.get(at(position)).is_some_and(&mut matches)
            })
            .ok()?;
        let (position, _) = entry.remove();
        self.take_out(at(position))
    }

    /// Removes the entry at `position`; the last entry takes its place.
    pub(crate) fn remove_at(&mut self, position: usize) -> Option<Slot<K, V, M>> {
        let hash = self.slots.get(position)?.hash;
        if let Ok(entry) = self
            .index
            .find_entry(hash, |&stored| at(stored) == position)
        {
            entry.remove();
        }
        self.take_out(position)
    }

    /// Takes the entry at `position` out of the `Vec` once its index entry is gone: the
    /// last entry moves into its place and its index entry is repointed.
    fn take_out(&mut self, position: usize) -> Option<Slot<K, V, M>> {
        if position >= self.slots.len() {
            return None;
        }
        let last = self.slots.len().checked_sub(1)?;
        let slot = self.slots.swap_remove(position);
        if position != last
            && let Some(moved) = self.slots.get(position)
            && let Some(stored) = self
                .index
                .find_mut(moved.hash, |&stored| at(stored) == last)
        {
            // `position < last <= u32::MAX`, so it fits.
            *stored = u32::try_from(position).unwrap_or(u32::MAX);
        }
        Some(slot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot(key: u64) -> Slot<u64, u64, ()> {
        Slot {
            key,
            value: key * 10,
            stamp: AtomicU64::new(0),
            // a poor hash on purpose: many keys share it
            hash: key % 7,
            meta: (),
        }
    }

    /// After any mix of inserts and removals every remaining key is found at its position,
    /// and no removed key is.
    #[test]
    fn positions_survive_removals() {
        let mut table = Table::new();
        let mut live = std::collections::BTreeSet::new();
        let mut rng = 0x9E37_79B9_7F4A_7C15_u64;
        for _ in 0..5_000 {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            let key = rng % 300;
            if rng.is_multiple_of(3) {
                let removed = table.remove(key % 7, |slot| slot.key == key);
                assert_eq!(
                    removed.map(|slot| slot.value),
                    live.take(&key).map(|k| k * 10)
                );
            } else if !live.contains(&key) {
                assert!(table.insert_unique(slot(key)).is_ok());
                live.insert(key);
            }
            assert_eq!(table.len(), live.len());
        }
        for key in 0..300 {
            let found = table.find(key % 7, |slot| slot.key == key);
            assert_eq!(
                found.map(|slot| slot.value),
                live.contains(&key).then_some(key * 10)
            );
        }
        let stored: std::collections::BTreeSet<u64> = table.iter().map(|slot| slot.key).collect();
        assert_eq!(stored, live);
    }
}
