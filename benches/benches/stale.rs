//! Stale-while-revalidate: how long callers wait while an expired entry is recomputed.
//!
//! One key of `#[mcache(ttl = 0.02, stale = "1h")]` whose body sleeps 5 ms; each round lets
//! the ttl pass, then `THREADS` threads call the key back to back until the refresh has
//! stored its new value. Every call is timed; the calls answered with the old value are
//! the *stale period* (the one call that ran the body, the refresher, is reported
//! apart). In the same run, the same threads time plain hits of an
//! `#[mcache(maxsize = 1000)]` function (the baseline) and fresh hits of the stale cache.
//! Printed: p50, p99 and max of each, and p99(stale period) / p99(plain hit).
//!
//! Run: `cargo bench -p twat-cache-benches --bench stale` (about 10 s).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    reason = "a benchmark fails loudly and prints its report"
)]

use std::cell::Cell;
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use twat_cache::mcache;

const THREADS: usize = 4;
const ROUNDS: usize = 60;
/// The refresh's body time.
const BODY: Duration = Duration::from_millis(5);
/// Calls per thread timed for each hit baseline in a round.
const HITS_PER_ROUND: usize = 2_000;

static GENERATION: AtomicU64 = AtomicU64::new(0);

thread_local! {
    /// Whether this thread's last call ran the body.
    static RAN_BODY: Cell<bool> = const { Cell::new(false) };
}

/// Each run is a new generation, after `BODY`.
#[mcache(ttl = 0.02, stale = "1h", name = "bench::stale")]
fn refreshed(key: u64) -> u64 {
    RAN_BODY.with(|ran| ran.set(true));
    thread::sleep(BODY);
    GENERATION.fetch_add(1, Ordering::SeqCst) + 1 + key
}

#[mcache(ttl = 3600, stale = "1h", name = "bench::stale_fresh")]
fn fresh(key: u64) -> u64 {
    key + 1
}

#[mcache(maxsize = 1000, name = "bench::plain")]
fn plain(key: u64) -> u64 {
    key + 1
}

/// Latencies in nanoseconds, per kind of call.
#[derive(Default)]
struct Samples {
    plain_hit: Vec<u64>,
    fresh_hit: Vec<u64>,
    stale_period: Vec<u64>,
    refresher: Vec<u64>,
}

impl Samples {
    fn extend(&mut self, other: Self) {
        self.plain_hit.extend(other.plain_hit);
        self.fresh_hit.extend(other.fresh_hit);
        self.stale_period.extend(other.stale_period);
        self.refresher.extend(other.refresher);
    }
}

fn nanos(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// One thread's share of a round: hits of both baselines, then calls of the expired key
/// until the refreshed value comes back (returned, with the samples).
fn one_thread(old: u64, start: &Barrier) -> (Samples, u64) {
    let mut samples = Samples::default();
    for _ in 0..HITS_PER_ROUND {
        let started = Instant::now();
        black_box(plain(black_box(0)));
        samples.plain_hit.push(nanos(started));
        let started = Instant::now();
        black_box(fresh(black_box(0)));
        samples.fresh_hit.push(nanos(started));
    }
    start.wait();
    loop {
        RAN_BODY.with(|ran| ran.set(false));
        let started = Instant::now();
        let value = refreshed(black_box(0));
        let took = nanos(started);
        if RAN_BODY.with(Cell::get) {
            samples.refresher.push(took);
        } else if value == old {
            samples.stale_period.push(took);
        }
        if value != old {
            return (samples, value);
        }
    }
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss,
        reason = "an index into a sample vector"
    )]
    let at = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[at.min(sorted.len() - 1)]
}

fn report(label: &str, samples: &mut [u64]) -> u64 {
    samples.sort_unstable();
    let (p50, p99) = (percentile(samples, 0.50), percentile(samples, 0.99));
    println!(
        "{label:<34} {:>9} calls   p50 {:>8} ns   p99 {:>8} ns   max {:>10} ns",
        samples.len(),
        p50,
        p99,
        samples.last().copied().unwrap_or(0)
    );
    p99
}

fn main() {
    // `cargo bench` passes `--bench`; criterion's flags and their numeric values (`cargo
    // xtask bench --quick` passes `--warm-up-time 0.5`, …) mean nothing here. A filter
    // that does not name this bench skips it.
    let skipped = std::env::args()
        .skip(1)
        .filter(|arg| !arg.starts_with('-') && arg.parse::<f64>().is_err())
        .any(|filter| !"stale".contains(filter.as_str()));
    if skipped {
        return;
    }
    plain(0);
    fresh(0);
    let mut old = refreshed(0);
    let mut all = Samples::default();
    for _ in 0..ROUNDS {
        thread::sleep(Duration::from_millis(25));
        let start = Arc::new(Barrier::new(THREADS));
        let threads: Vec<_> = (0..THREADS)
            .map(|_| {
                let start = Arc::clone(&start);
                thread::spawn(move || one_thread(old, &start))
            })
            .collect();
        for thread in threads {
            let (samples, new) = thread.join().unwrap();
            all.extend(samples);
            old = old.max(new);
        }
    }
    println!(
        "stale-while-revalidate: {THREADS} threads, {ROUNDS} refreshes of a {} ms body",
        BODY.as_millis()
    );
    let plain_p99 = report("plain hit (#[mcache], no stale)", &mut all.plain_hit);
    report("fresh hit (stale cache)", &mut all.fresh_hit);
    let stale_p99 = report("stale period (served old value)", &mut all.stale_period);
    report("refresher (ran the body)", &mut all.refresher);
    #[allow(clippy::cast_precision_loss, reason = "a ratio of latencies")]
    let ratio = stale_p99 as f64 / plain_p99.max(1) as f64;
    println!("p99(stale period) / p99(plain hit) = {ratio:.2}");
    let stats = twat_cache::get_stats(Some("bench::stale")).unwrap();
    println!(
        "bench::stale: {} body runs for {ROUNDS} expiries (+1 first miss), {} stale hits",
        GENERATION.load(Ordering::SeqCst),
        stats.stale_hits
    );
}
