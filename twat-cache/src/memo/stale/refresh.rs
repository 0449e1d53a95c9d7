//! Which stale entries are being recomputed: one caller per entry refreshes it, the
//! others serve the old value.
//!
//! A mark per key, by the entry's `until_ms` (its *generation*): `Running` while a caller
//! refreshes the key; `Done(generation)` once it stored the new value. `Done` is what
//! stops a second refresh of the same expiry: a caller that read the stale entry just
//! before the refresh was stored, and asks to refresh it just after, finds that this
//! generation was refreshed already (and serves what it read). A refresh that fails
//! removes its mark, so a later caller may try again. A refresh whose value could not be
//! stored (a store error, counted) still marks its generation done: the old value keeps
//! being served until its window ends, rather than every stale call re-running the body. `Done` marks are forgotten once
//! their generation's stale window is over (nobody serves it any more), swept whenever
//! the map has doubled since the last sweep, so it holds about the keys refreshed within
//! one stale window.
//!
//! The marks are a `RwLock<HashMap>`, touched only by callers that found a stale entry;
//! the hit path of fresh entries never does. In front of it, a few atomic *hints*: a
//! claim writes a 64-bit tag of (key, generation) into the key's hint slot, and a caller
//! whose tag is there is refused with one atomic load — during a refresh that is every
//! caller but the refresher, so they neither hash the key for the map nor write to a
//! lock word shared by all of them (which made their p99 grow with the thread count;
//! `benches/benches/stale.rs`). A hint only ever refuses a (key, generation) that was
//! claimed: a missing or overwritten hint falls through to the exact marks.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::RwLock;

/// The refreshes of one cache.
pub(super) struct Refreshes {
    marks: RwLock<Marks>,
    /// `tag(key, generation)` of recent claims, by the tag's top bits (0: empty).
    hints: [AtomicU64; HINTS],
}

impl Default for Refreshes {
    fn default() -> Self {
        Self {
            marks: RwLock::default(),
            hints: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }
}

/// Hint slots per cache: enough that a few keys refreshing at once rarely share one.
const HINTS: usize = 64;

/// A nonzero 64-bit tag of `(key, generation)` (FNV-1a, then a multiply to spread the
/// top bits that pick the slot).
fn tag(key: &[u8], generation: u64) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in key.iter().chain(&generation.to_le_bytes()) {
        hash = (hash ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1
}

#[derive(Default)]
struct Marks {
    by_key: HashMap<Box<[u8]>, Mark>,
    /// Sweep `Done` marks when the map reaches this many.
    sweep_at: usize,
}

#[derive(Clone, Copy)]
enum Mark {
    /// A caller is refreshing the key.
    Running,
    /// The entry of generation `generation` (its `until_ms`) was refreshed; forget this
    /// at `forget_after` (Unix milliseconds).
    Done { generation: u64, forget_after: u64 },
}

/// The smallest map size that triggers a sweep.
const MIN_SWEEP: usize = 64;

impl Refreshes {
    /// Claims the refresh of `key`, whose stale entry has generation `generation`, at
    /// `now_ms`: `None` when another caller is refreshing it or has refreshed this
    /// generation already.
    pub(super) fn try_claim(
        &self,
        key: &[u8],
        generation: u64,
        now_ms: u64,
    ) -> Option<Refresh<'_>> {
        let tag = tag(key, generation);
        let hint = self.hint(tag);
        if hint.is_some_and(|hint| hint.load(Ordering::Relaxed) == tag) {
            return None;
        }
        if self.marks.read().refuses(key, generation) {
            return None;
        }
        let mut marks = self.marks.write();
        if marks.refuses(key, generation) {
            return None;
        }
        if marks.by_key.len() >= marks.sweep_at.max(MIN_SWEEP) {
            marks.by_key.retain(|_, mark| match mark {
                Mark::Running => true,
                Mark::Done { forget_after, .. } => *forget_after > now_ms,
            });
            marks.sweep_at = marks.by_key.len().saturating_mul(2);
        }
        let key: Box<[u8]> = key.into();
        marks.by_key.insert(key.clone(), Mark::Running);
        if let Some(hint) = hint {
            hint.store(tag, Ordering::Relaxed);
        }
        Some(Refresh {
            refreshes: self,
            key,
            generation,
            tag,
            done: false,
        })
    }

    /// The hint slot of `tag`: its top 6 bits pick one of the `HINTS`.
    fn hint(&self, tag: u64) -> Option<&AtomicU64> {
        self.hints.get(usize::try_from(tag >> 58).unwrap_or(0))
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.marks.read().by_key.len()
    }
}

impl Marks {
    /// Whether `key`'s entry of `generation` is being refreshed, or was already.
    fn refuses(&self, key: &[u8], generation: u64) -> bool {
        match self.by_key.get(key) {
            Some(Mark::Running) => true,
            Some(Mark::Done {
                generation: refreshed,
                ..
            }) => generation <= *refreshed,
            None => false,
        }
    }
}

/// The claim to refresh one key. Dropped without [`Refresh::stored`] (the body failed,
/// panicked, or its task was dropped), it removes the mark: a later caller may refresh.
pub(super) struct Refresh<'a> {
    refreshes: &'a Refreshes,
    key: Box<[u8]>,
    generation: u64,
    tag: u64,
    done: bool,
}

impl Refresh<'_> {
    /// The new value is stored: no caller refreshes this generation again (until
    /// `forget_after`, the end of its stale window).
    pub(super) fn stored(mut self, forget_after: u64) {
        self.done = true;
        let mark = Mark::Done {
            generation: self.generation,
            forget_after,
        };
        self.refreshes
            .marks
            .write()
            .by_key
            .insert(std::mem::take(&mut self.key), mark);
    }
}

impl Drop for Refresh<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.refreshes.marks.write().by_key.remove(&self.key);
            // A later caller may refresh this generation again.
            if let Some(hint) = self.refreshes.hint(self.tag) {
                let _ = hint.compare_exchange(self.tag, 0, Ordering::Relaxed, Ordering::Relaxed);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_refresh_per_generation() {
        let refreshes = Refreshes::default();
        let claim = refreshes.try_claim(b"k", 10, 0).unwrap();
        assert!(refreshes.try_claim(b"k", 10, 0).is_none());
        // Other keys are independent.
        assert!(refreshes.try_claim(b"other", 10, 0).is_some());
        claim.stored(100);
        // A caller that read generation 10 before the refresh was stored does not redo it.
        assert!(refreshes.try_claim(b"k", 10, 0).is_none());
        // The next expiry (a later generation) is refreshed again.
        assert!(refreshes.try_claim(b"k", 20, 0).is_some());
    }

    #[test]
    fn tags_differ_by_key_and_generation() {
        assert_ne!(tag(b"k", 1), tag(b"k", 2));
        assert_ne!(tag(b"k", 1), tag(b"j", 1));
        assert_eq!(tag(b"k", 1) & 1, 1);
    }

    #[test]
    fn a_failed_refresh_lets_a_later_caller_try_again() {
        let refreshes = Refreshes::default();
        drop(refreshes.try_claim(b"k", 10, 0).unwrap());
        assert_eq!(refreshes.len(), 0);
        assert!(refreshes.try_claim(b"k", 10, 0).is_some());
    }

    #[test]
    fn done_marks_are_forgotten_after_their_window() {
        let refreshes = Refreshes::default();
        for key in 0..MIN_SWEEP {
            refreshes
                .try_claim(&key.to_le_bytes(), 1, 0)
                .unwrap()
                .stored(50);
        }
        assert_eq!(refreshes.len(), MIN_SWEEP);
        // The next claim, after every window ended, sweeps them.
        let running = refreshes.try_claim(b"new", 1, 60).unwrap();
        assert_eq!(refreshes.len(), 1);
        drop(running);
        assert_eq!(refreshes.len(), 0);
    }
}
