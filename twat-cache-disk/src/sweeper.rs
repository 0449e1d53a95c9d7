//! The background sweeper: removes expired entries from every open cache that has any,
//! so expired data does not sit on disk until somebody happens to read it.
//!
//! One thread per process, started when the first cache with expiring entries opens and
//! ending by itself when no such cache is alive. It holds caches only weakly: dropping a
//! cache is never delayed by the sweeper. Each cache is swept every
//! `clamp(ttl / 2, 50 ms, 30 s)`; a sweep walks the in-memory index (no disk reads) and
//! removes what expired in one fjall batch.
//!
//! The sweeper sees a cache only through [`Sweepable`], the trait it defines: it knows
//! when a cache wants visiting and how to ask it to sweep, nothing else, so this module
//! depends on no other module of the crate.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Weak};
use std::time::Duration;

use parking_lot::Mutex;

/// Shortest and longest sweep interval.
const MIN_INTERVAL: Duration = Duration::from_millis(50);
const MAX_INTERVAL: Duration = Duration::from_secs(30);

/// A cache the sweeper visits.
pub(crate) trait Sweepable: Send + Sync {
    /// How often the sweeper should visit this cache (`Duration::MAX` when never).
    fn sweep_interval(&self) -> Duration;

    /// Sweeps when this cache's interval has passed since its last sweep; failures are
    /// the cache's to count (the sweeper has nobody to report them to).
    fn sweep_if_due(&self);
}

/// When one cache wants sweeping: an interval (the shortest any of its handles asked
/// for) and the time of its next sweep. Relaxed atomics: a sweep a little early or late
/// is harmless.
#[derive(Debug, Default)]
pub(crate) struct SweepSchedule {
    /// Milliseconds between sweeps; `0` for never.
    every_ms: AtomicU64,
    /// Unix milliseconds before which no sweep is due.
    next_ms: AtomicU64,
}

impl SweepSchedule {
    /// Asks for a sweep every `interval` (at least 1 ms), unless a shorter interval was
    /// asked for already.
    pub(crate) fn request(&self, interval: Duration) {
        let ms = u64::try_from(interval.as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        let _ = self
            .every_ms
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |current| {
                (current == 0 || ms < current).then_some(ms)
            });
    }

    /// Whether any sweep was asked for.
    pub(crate) fn is_active(&self) -> bool {
        self.every_ms.load(Ordering::Relaxed) != 0
    }

    /// The interval between sweeps (`Duration::MAX` when never).
    pub(crate) fn interval(&self) -> Duration {
        match self.every_ms.load(Ordering::Relaxed) {
            0 => Duration::MAX,
            ms => Duration::from_millis(ms),
        }
    }

    /// `true` when a sweep is due at `now_ms` (Unix milliseconds); the next one is then
    /// due one interval later.
    pub(crate) fn start_if_due(&self, now_ms: u64) -> bool {
        let every = self.every_ms.load(Ordering::Relaxed);
        if every == 0 || now_ms < self.next_ms.load(Ordering::Relaxed) {
            return false;
        }
        self.next_ms
            .store(now_ms.saturating_add(every), Ordering::Relaxed);
        true
    }
}

/// The caches being watched and whether the sweeper thread runs.
#[derive(Default)]
struct Sweeper {
    watched: Vec<Weak<dyn Sweepable>>,
    running: bool,
}

static SWEEPER: LazyLock<Mutex<Sweeper>> = LazyLock::new(|| Mutex::new(Sweeper::default()));

/// The sweep interval for entries living `ttl`.
pub(crate) fn interval_for(ttl: Duration) -> Duration {
    (ttl / 2).clamp(MIN_INTERVAL, MAX_INTERVAL)
}

/// Has the sweeper visit `cache` (once; calling again is harmless).
pub(crate) fn watch<C: Sweepable + 'static>(cache: &Arc<C>) {
    let mut sweeper = SWEEPER.lock();
    sweeper.watched.retain(|weak| weak.strong_count() > 0);
    if !sweeper
        .watched
        .iter()
        .any(|weak| std::ptr::addr_eq(weak.as_ptr(), Arc::as_ptr(cache)))
    {
        let cache: Arc<dyn Sweepable> = Arc::<C>::clone(cache);
        sweeper.watched.push(Arc::downgrade(&cache));
    }
    if !sweeper.running {
        let spawned = std::thread::Builder::new()
            .name("twat-cache-disk-sweeper".to_owned())
            .spawn(run);
        match spawned {
            Ok(_) => sweeper.running = true,
            Err(err) => tracing::warn!(
                error = %err,
                "twat-cache: cannot start the disk sweeper thread; expired entries are \
                 removed only when read or evicted"
            ),
        }
    }
}

fn run() {
    loop {
        let caches: Vec<Arc<dyn Sweepable>> = {
            let mut sweeper = SWEEPER.lock();
            sweeper.watched.retain(|weak| weak.strong_count() > 0);
            if sweeper.watched.is_empty() {
                sweeper.running = false;
                return;
            }
            sweeper.watched.iter().filter_map(Weak::upgrade).collect()
        };
        let nap = caches
            .iter()
            .map(|cache| cache.sweep_interval())
            .min()
            .unwrap_or(MAX_INTERVAL)
            .clamp(MIN_INTERVAL, Duration::from_secs(1));
        for cache in &caches {
            cache.sweep_if_due();
        }
        // Never hold a cache across the nap: a dropped cache must close its folder now.
        drop(caches);
        std::thread::sleep(nap);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_are_clamped() {
        assert_eq!(interval_for(Duration::from_millis(10)), MIN_INTERVAL);
        assert_eq!(
            interval_for(Duration::from_secs(10)),
            Duration::from_secs(5)
        );
        assert_eq!(interval_for(Duration::from_secs(3600)), MAX_INTERVAL);
    }

    #[test]
    fn schedules_keep_the_shortest_interval_and_space_sweeps() {
        let schedule = SweepSchedule::default();
        assert!(!schedule.is_active());
        assert_eq!(schedule.interval(), Duration::MAX);
        assert!(!schedule.start_if_due(1_000));
        schedule.request(Duration::from_millis(200));
        schedule.request(Duration::from_millis(500));
        assert!(schedule.is_active());
        assert_eq!(schedule.interval(), Duration::from_millis(200));
        assert!(schedule.start_if_due(1_000));
        assert!(!schedule.start_if_due(1_100));
        assert!(schedule.start_if_due(1_200));
    }

    /// A cache that only counts the sweeper's visits.
    struct Counting {
        sweeps: AtomicU64,
    }

    impl Sweepable for Counting {
        fn sweep_interval(&self) -> Duration {
            MIN_INTERVAL
        }

        fn sweep_if_due(&self) {
            self.sweeps.fetch_add(1, Ordering::Relaxed);
        }
    }

    #[test]
    fn watched_caches_are_visited_and_held_weakly() {
        let cache = Arc::new(Counting {
            sweeps: AtomicU64::new(0),
        });
        watch(&cache);
        watch(&cache);
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while cache.sweeps.load(Ordering::Relaxed) == 0 && std::time::Instant::now() < deadline {
            std::thread::sleep(MIN_INTERVAL);
        }
        assert!(cache.sweeps.load(Ordering::Relaxed) > 0);
        let watched = SWEEPER
            .lock()
            .watched
            .iter()
            .filter(|weak| std::ptr::addr_eq(weak.as_ptr(), Arc::as_ptr(&cache)))
            .count();
        assert_eq!(watched, 1, "watching twice registers once");
        let weak = Arc::downgrade(&cache);
        drop(cache);
        assert!(
            weak.upgrade().is_none(),
            "the sweeper holds caches only weakly"
        );
    }
}
