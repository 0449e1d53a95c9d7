//! Every registered cache's counters through the [`metrics`] facade, so any exporter
//! (Prometheus, StatsD, OpenTelemetry, …) shows them.
//!
//! # What is published
//!
//! | metric | kind | meaning |
//! |---|---|---|
//! | `twat_cache_hits_total` | counter | [`Stats::hits`](crate::Stats::hits) |
//! | `twat_cache_misses_total` | counter | [`Stats::misses`](crate::Stats::misses) |
//! | `twat_cache_inserts_total` | counter | [`Stats::inserts`](crate::Stats::inserts) |
//! | `twat_cache_evictions_total` | counter | [`Stats::evictions`](crate::Stats::evictions) |
//! | `twat_cache_errors_total` | counter | [`Stats::errors`](crate::Stats::errors) |
//! | `twat_cache_stale_hits_total` | counter | [`Stats::stale_hits`](crate::Stats::stale_hits) |
//! | `twat_cache_entries` | gauge | [`Stats::size`](crate::Stats::size) |
//! | `twat_cache_capacity` | gauge | [`Stats::maxsize`](crate::Stats::maxsize), when bounded |
//! | `twat_cache_miss_seconds` | histogram | time a memoized function's body took on a miss |
//!
//! Every metric carries a `cache` label: the cache's registered name (a memoized
//! function's `module::function` unless it was given a `name`).
//!
//! # Why counters are published, not incremented
//!
//! The engines already count exactly, in atomics on their own hit path. Incrementing a
//! `metrics` counter on every hit as well would add a recorder lookup to a path that costs
//! a few nanoseconds, so [`publish`] copies the engines' totals into the recorder instead
//! (`Counter::absolute`, `Gauge::set`): call it before each scrape, or let
//! [`publish_every`] do it on a thread. Only the miss histogram is recorded as it happens,
//! around the body, where a lookup is small next to the work the cache is avoiding.
//!
//! ```
//! use std::time::Duration;
//!
//! #[twat_cache::mcache(maxsize = 100, name = "doc_square")]
//! fn square(x: u64) -> u64 {
//!     x * x
//! }
//!
//! square(3);
//! square(3);
//! // With a recorder installed (`metrics::set_global_recorder`, or an exporter's
//! // `install`), this publishes hits = 1, misses = 1 for cache="doc_square".
//! twat_cache::metrics::publish();
//! // Or keep them fresh from a thread; it stops when the handle is dropped.
//! let publisher = twat_cache::metrics::publish_every(Duration::from_secs(5))?;
//! drop(publisher);
//! # Ok::<(), std::io::Error>(())
//! ```

use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::Stats;

/// Copies every registered cache's statistics into the installed `metrics` recorder (see
/// the [module docs](self) for the names). Several live caches of one name are summed, as
/// [`get_stats`](crate::get_stats) sums them. Without a recorder this does nothing.
pub fn publish() {
    for name in crate::cache_names() {
        if let Some(stats) = crate::get_stats(Some(&name)) {
            publish_one(name, &stats);
        }
    }
}

fn publish_one(name: String, stats: &Stats) {
    let counters = [
        ("twat_cache_hits_total", stats.hits),
        ("twat_cache_misses_total", stats.misses),
        ("twat_cache_inserts_total", stats.inserts),
        ("twat_cache_evictions_total", stats.evictions),
        ("twat_cache_errors_total", stats.errors),
        ("twat_cache_stale_hits_total", stats.stale_hits),
    ];
    for (metric, value) in counters {
        metrics::counter!(metric, "cache" => name.clone()).absolute(value);
    }
    #[allow(
        clippy::cast_precision_loss,
        reason = "gauges are f64; entry counts above 2^53 do not occur"
    )]
    {
        metrics::gauge!("twat_cache_entries", "cache" => name.clone()).set(stats.size as f64);
        if let Some(maxsize) = stats.maxsize {
            metrics::gauge!("twat_cache_capacity", "cache" => name).set(maxsize as f64);
        }
    }
}

/// Records one miss's body time in `twat_cache_miss_seconds{cache}`.
pub(crate) fn record_miss(cache: &str, took: Duration) {
    metrics::histogram!("twat_cache_miss_seconds", "cache" => cache.to_owned())
        .record(took.as_secs_f64());
}

/// Calls [`publish`] every `interval` on a background thread, until the returned handle
/// is dropped (or [`Publisher::stop`] is called).
///
/// # Errors
///
/// When the operating system refuses to start a thread.
pub fn publish_every(interval: Duration) -> std::io::Result<Publisher> {
    let (stop, stopped) = mpsc::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("twat-cache-metrics".to_owned())
        .spawn(move || {
            loop {
                publish();
                // A message or a dropped sender both mean stop.
                if !matches!(
                    stopped.recv_timeout(interval),
                    Err(mpsc::RecvTimeoutError::Timeout)
                ) {
                    break;
                }
            }
        })?;
    Ok(Publisher {
        stop: Some(stop),
        thread: Some(thread),
    })
}

/// The background thread of [`publish_every`]; dropping it stops the thread.
#[derive(Debug)]
#[must_use = "the publisher stops when this handle is dropped"]
pub struct Publisher {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Publisher {
    /// Stops the thread after a last [`publish`] and waits for it.
    pub fn stop(mut self) {
        self.shut_down();
    }

    fn shut_down(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
            publish();
        }
    }
}

impl Drop for Publisher {
    fn drop(&mut self) {
        self.shut_down();
    }
}
