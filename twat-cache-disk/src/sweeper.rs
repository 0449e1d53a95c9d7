//! The background sweeper: removes expired entries from every open cache that has any,
//! so expired data does not sit on disk until somebody happens to read it.
//!
//! One thread per process, started when the first cache with expiring entries opens and
//! ending by itself when no such cache is alive. It holds caches only weakly: dropping a
//! cache is never delayed by the sweeper. Each cache is swept every
//! `clamp(ttl / 2, 50 ms, 30 s)`; a sweep walks the in-memory index (no disk reads) and
//! removes what expired in one fjall batch.

use std::sync::{Arc, LazyLock, Weak};
use std::time::Duration;

use parking_lot::Mutex;

use crate::cache::Core;

/// Shortest and longest sweep interval.
const MIN_INTERVAL: Duration = Duration::from_millis(50);
const MAX_INTERVAL: Duration = Duration::from_secs(30);

#[derive(Default)]
struct Sweeper {
    cores: Vec<Weak<Core>>,
    running: bool,
}

static SWEEPER: LazyLock<Mutex<Sweeper>> = LazyLock::new(|| Mutex::new(Sweeper::default()));

/// The sweep interval for entries living `ttl`.
pub(crate) fn interval_for(ttl: Duration) -> Duration {
    (ttl / 2).clamp(MIN_INTERVAL, MAX_INTERVAL)
}

/// Has the sweeper visit `core` (once; calling again is harmless).
pub(crate) fn watch(core: &Arc<Core>) {
    let mut sweeper = SWEEPER.lock();
    sweeper.cores.retain(|weak| weak.strong_count() > 0);
    if !sweeper
        .cores
        .iter()
        .any(|weak| std::ptr::eq(weak.as_ptr(), Arc::as_ptr(core)))
    {
        sweeper.cores.push(Arc::downgrade(core));
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
        let cores: Vec<Arc<Core>> = {
            let mut sweeper = SWEEPER.lock();
            sweeper.cores.retain(|weak| weak.strong_count() > 0);
            if sweeper.cores.is_empty() {
                sweeper.running = false;
                return;
            }
            sweeper.cores.iter().filter_map(Weak::upgrade).collect()
        };
        let nap = cores
            .iter()
            .map(|core| core.sweep_interval())
            .min()
            .unwrap_or(MAX_INTERVAL)
            .clamp(MIN_INTERVAL, Duration::from_secs(1));
        for core in &cores {
            core.sweep_if_due();
        }
        // Never hold a cache across the nap: a dropped cache must close its folder now.
        drop(cores);
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
}
