#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]
//! The bounded load test: 8 threads × 30 s of mixed hits and misses against a local
//! server that is restarted twice and frozen (`SIGSTOP`) for 2 s on the way. No answer
//! may be wrong, and no call may take longer than its timeouts allow (plus the body's
//! time, which is nil here, and scheduling slack on a shared machine).
//!
//! `cargo test -p twat-cache-redis --release --test load -- --ignored --nocapture`
//! (CI runs it). `TWAT_CACHE_LOAD_SECS` shortens or lengthens the run (default 30).

mod common;

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use common::{RedisServer, eventually, open_with};
use twat_cache_redis::RedisOptions;

const THREADS: usize = 8;
const KEYS: u64 = 4_000;

/// The memoized function: deterministic, so any wrong answer is the cache's fault.
fn body(key: u64) -> u64 {
    key.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17) ^ 0xA5A5
}

/// What one thread saw: latencies of the calls Redis answered and of those that ran
/// uncached because the cache was down (these fail fast and are far more numerous).
#[derive(Default)]
struct Tally {
    served_us: Vec<u32>,
    uncached_us: Vec<u32>,
    wrong: u64,
    hits: u64,
}

/// The latency at `permille` ‰ of sorted `latencies`.
fn quantile(latencies: &[u32], permille: usize) -> u32 {
    let index = latencies.len().saturating_sub(1) * permille / 1_000;
    latencies.get(index).copied().unwrap_or(0)
}

#[test]
#[ignore = "30 s of load; CI runs it with --ignored"]
fn eight_threads_through_two_restarts_and_a_pause() {
    let Some(mut server) = RedisServer::start() else {
        return;
    };
    let seconds: u64 = std::env::var("TWAT_CACHE_LOAD_SECS")
        .ok()
        .and_then(|secs| secs.parse().ok())
        .unwrap_or(30);
    let connect_timeout = Duration::from_millis(50);
    let command_timeout = Duration::from_millis(50);
    // One pooled connection per thread: a call never queues behind another's timeout.
    let options = RedisOptions::default()
        .connect_timeout(connect_timeout)
        .command_timeout(command_timeout)
        .connections(THREADS)
        .backoff(Duration::from_millis(50), Duration::from_millis(500));
    let cache = Arc::new(open_with(&server.url(), "load", options));
    // A call is a GET and, on a miss, a SET; each may first open a connection (connect,
    // then PING) and then wait out its command timeout.
    let per_command = connect_timeout + command_timeout * 2;
    let bound = per_command * 2;
    // The machine is shared (2 cores, 8 callers, the server and other work): the
    // scheduler may add this much on top.
    let slack = Duration::from_millis(250);

    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..THREADS)
        .map(|thread_index| {
            let cache = Arc::clone(&cache);
            let stop = Arc::clone(&stop);
            thread::spawn(move || {
                let mut tally = Tally::default();
                let mut state = 0x2545_F491_4F6C_DD1D_u64 ^ (thread_index as u64 + 1);
                while !stop.load(Ordering::Relaxed) {
                    // xorshift: mixed keys, hits once the key space is warm.
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    let key = state % KEYS;
                    let started = Instant::now();
                    let looked_up = cache.get::<_, u64>(&key);
                    let served = looked_up.is_ok();
                    let value = match looked_up {
                        Ok(Some(value)) => {
                            tally.hits += 1;
                            value
                        }
                        Ok(None) | Err(_) => {
                            let value = body(key);
                            let _ = cache.set(&key, &value);
                            value
                        }
                    };
                    let elapsed = u32::try_from(started.elapsed().as_micros()).unwrap_or(u32::MAX);
                    if value != body(key) {
                        tally.wrong += 1;
                    }
                    if served {
                        tally.served_us.push(elapsed);
                    } else {
                        tally.uncached_us.push(elapsed);
                    }
                }
                tally
            })
        })
        .collect();

    let run = Duration::from_secs(seconds);
    let started = Instant::now();
    let at = |fraction: f64| started + run.mul_f64(fraction);
    let sleep_until = |when: Instant| thread::sleep(when.saturating_duration_since(Instant::now()));
    sleep_until(at(0.25));
    server.restart();
    sleep_until(at(0.5));
    server.pause();
    thread::sleep(Duration::from_secs(2));
    server.resume();
    sleep_until(at(0.75));
    server.restart();
    sleep_until(at(1.0));
    stop.store(true, Ordering::Relaxed);
    let elapsed = started.elapsed();

    let (mut served, mut uncached) = (Vec::new(), Vec::new());
    let (mut wrong, mut hits) = (0, 0);
    for worker in workers {
        let tally = worker.join().unwrap();
        served.extend(tally.served_us);
        uncached.extend(tally.uncached_us);
        wrong += tally.wrong;
        hits += tally.hits;
    }
    served.sort_unstable();
    uncached.sort_unstable();
    let max = served
        .last()
        .copied()
        .max(uncached.last().copied())
        .unwrap_or(0);
    let stats = cache.stats();
    let seconds = elapsed.as_secs_f64();
    let report = format!(
        "load: {THREADS} threads × {seconds:.1} s, {wrong} wrong answers, {} errors counted\n\
         load:   answered by Redis: {} calls ({:.0}/s, {hits} hits), p50 {} µs, p99 {} µs, max {} µs\n\
         load:   run uncached while down: {} calls ({:.0}/s), p50 {} µs, p99 {} µs, max {} µs\n\
         load:   slowest call {max} µs (bound {} ms + {} ms slack)\n",
        stats.errors,
        served.len(),
        served.len() as f64 / seconds,
        quantile(&served, 500),
        quantile(&served, 990),
        quantile(&served, 1_000),
        uncached.len(),
        uncached.len() as f64 / seconds,
        quantile(&uncached, 500),
        quantile(&uncached, 990),
        quantile(&uncached, 1_000),
        bound.as_millis(),
        slack.as_millis(),
    );
    let _ = std::io::stdout().lock().write_all(report.as_bytes());

    assert_eq!(wrong, 0, "{report}");
    assert!(hits > 0 && !uncached.is_empty(), "{report}");
    assert!(stats.errors > 0, "the outages were noticed: {report}");
    let max = Duration::from_micros(u64::from(max));
    assert!(max <= bound + slack, "a call took {max:?}: {report}");
    // After the last restart caching resumes.
    assert!(eventually(Duration::from_secs(10), || {
        cache.set(&"after", &1_u8).is_ok() && cache.get::<_, u8>(&"after").ok() == Some(Some(1))
    }));
}
