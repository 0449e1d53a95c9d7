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
//! A `RwLock<HashMap>`: only callers that found a stale entry touch it, and those that
//! are refused (all but the refresher, the common case during a refresh) only read it,
//! sharing the lock — a mutex here made stale callers queue behind each other
//! (`benches/benches/stale.rs`). The hit path of fresh entries never touches it.

use std::collections::HashMap;

use parking_lot::RwLock;

/// The refreshes of one cache.
#[derive(Default)]
pub(super) struct Refreshes {
    marks: RwLock<Marks>,
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
        Some(Refresh {
            refreshes: self,
            key,
            generation,
            done: false,
        })
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
