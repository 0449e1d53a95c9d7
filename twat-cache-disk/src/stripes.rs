//! The stripe locks that keep the memory front, the index and fjall agreeing on each key.
//!
//! Writes, deletes and front fills of one key run under that key's stripe lock (one of
//! [`STRIPES`], chosen by the key's xxh3 hash); eviction, sweeps and `clear` take all of
//! them. Striping keeps writers of different keys from waiting on each other while a
//! key's own writers and fills are serialized.

use parking_lot::{Mutex, MutexGuard};

/// Number of stripe locks serializing writers and fills per key.
pub(crate) const STRIPES: usize = 64;

/// [`STRIPES`] locks, one chosen per key.
pub(crate) struct Stripes {
    locks: [Mutex<()>; STRIPES],
}

impl Stripes {
    /// Unlocked stripes.
    pub(crate) fn new() -> Self {
        Self {
            locks: std::array::from_fn(|_| Mutex::new(())),
        }
    }

    /// Locks the stripe of `key`.
    #[inline]
    pub(crate) fn lock(&self, key: &[u8]) -> MutexGuard<'_, ()> {
        let hash = xxhash_rust::xxh3::xxh3_64(key);
        let slot = usize::try_from(hash % STRIPES as u64).unwrap_or(0);
        // `slot < STRIPES`; `get` keeps the hot path panic-free.
        let [first, ..] = &self.locks;
        self.locks.get(slot).unwrap_or(first).lock()
    }

    /// Locks every stripe, in order (so two callers never deadlock).
    pub(crate) fn lock_all(&self) -> Vec<MutexGuard<'_, ()>> {
        self.locks.iter().map(Mutex::lock).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_key_one_stripe_and_lock_all_takes_every_stripe() {
        let stripes = Stripes::new();
        {
            let _held = stripes.lock(b"key");
            assert!(stripes.locks.iter().any(Mutex::is_locked));
        }
        assert!(stripes.locks.iter().all(|lock| !lock.is_locked()));
        let all = stripes.lock_all();
        assert_eq!(all.len(), STRIPES);
        drop(all);
        let _held = stripes.lock(b"key");
    }
}
