//! Criterion benchmarks for twat-cache live in `benches/`; this library holds what they
//! share: the seeded key streams every bench draws from, the cached value, and the
//! two-thread driver.
//!
//! Two streams, both seeded with [`SEED`] so every run and every machine sees the same
//! keys in the same order:
//!
//! * [`uniform_keys`] — `n` distinct ids in random order, visited cyclically: every key is
//!   as likely as every other (hit-path and miss-path costs, no locality to exploit);
//! * [`zipf_keys`] — a request stream whose key popularity follows Zipf's law (rank `r`
//!   asked with probability ∝ `1 / r^s`), the usual model of real cache traffic: a few hot
//!   keys, a long tail. With a bounded cache it measures what a policy keeps.

use rand::Rng;
use rand::SeedableRng;
use rand::rngs::SmallRng;
use rand::seq::SliceRandom;
use rand_distr::{Distribution, Zipf};

/// The seed of every stream (benches that need a second independent stream add to it).
pub const SEED: u64 = 0x7a7_ca5e;

/// The cached computation of most benches: a 32-byte `String` that depends on `id`.
#[must_use]
pub fn value(id: u64) -> String {
    format!("{id:032}")
}

/// `n` distinct ids drawn uniformly from `0..2^56`, in a seeded random order.
///
/// Large ids on purpose: a key's postcard encoding then takes its full width (8 bytes),
/// as a real id or hash would, instead of the 1–2 bytes small integers encode to.
#[must_use]
pub fn uniform_keys(n: usize) -> Vec<u64> {
    let mut rng = SmallRng::seed_from_u64(SEED);
    let mut seen = std::collections::HashSet::with_capacity(n);
    let mut ids = Vec::with_capacity(n);
    while ids.len() < n {
        let id = rng.random::<u64>() >> 8;
        if seen.insert(id) {
            ids.push(id);
        }
    }
    ids.shuffle(&mut rng);
    ids
}

/// `requests` requests over `keys` distinct ids whose popularity follows Zipf's law with
/// exponent `exponent` (0.9 to 1.1 is typical of web and database traffic): the id of
/// rank `r` is asked with probability ∝ `1 / r^exponent`. Ranks map to the ids of
/// [`uniform_keys`]`(keys)`, so hot keys are not the small integers.
///
/// # Panics
///
/// If `keys` is zero or `exponent` is negative or not finite (a bench's setup error).
#[must_use]
pub fn zipf_keys(requests: usize, keys: usize, exponent: f64) -> Vec<u64> {
    let ids = uniform_keys(keys);
    #[allow(
        clippy::cast_precision_loss,
        reason = "key counts of a bench are far below 2^53"
    )]
    let zipf = Zipf::new(keys as f64, exponent);
    #[allow(clippy::expect_used, reason = "a bench's setup error fails loudly")]
    let zipf = zipf.expect("zipf_keys: keys >= 1 and a finite exponent >= 0");
    let mut rng = SmallRng::seed_from_u64(SEED.wrapping_add(1));
    (0..requests)
        .map(|_| {
            // Zipf samples ranks 1..=keys as floats.
            #[allow(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "a rank is a small positive integer"
            )]
            let rank = zipf.sample(&mut rng) as usize;
            ids.get(rank.saturating_sub(1)).copied().unwrap_or_default()
        })
        .collect()
}

/// Ids that no other stream of this module produces (the top byte set; the others stay
/// below `2^56`): one-off keys for scans.
const FRESH: u64 = 0xff << 56;

/// [`zipf_keys`]`(requests, keys, exponent)` with a scan of `scan` one-off ids (never asked
/// again) after every `every` requests: the hot set a cache has learnt must survive a
/// burst of keys that will not come back (a batch job, a crawler, a full-table read).
#[must_use]
pub fn zipf_with_scans(
    requests: usize,
    keys: usize,
    exponent: f64,
    every: usize,
    scan: usize,
) -> Vec<u64> {
    let mut next_fresh = FRESH;
    let mut stream = Vec::with_capacity(requests + requests / every.max(1) * scan);
    for (index, id) in zipf_keys(requests, keys, exponent).into_iter().enumerate() {
        stream.push(id);
        if (index + 1) % every.max(1) == 0 {
            stream.extend(next_fresh..next_fresh + scan as u64);
            next_fresh += scan as u64;
        }
    }
    stream
}

/// `requests` requests cycling over `len` distinct ids in a fixed order: with a cache a
/// little smaller than `len`, LRU and FIFO evict every key just before it is asked again
/// (0% hits) while a cache that keeps a fixed part of the loop hits that part every lap.
#[must_use]
pub fn loop_keys(requests: usize, len: usize) -> Vec<u64> {
    let ids = uniform_keys(len.max(1));
    ids.iter().copied().cycle().take(requests).collect()
}

/// A Zipf stream whose hot set moves every `period` requests: in phase `p` the id of rank
/// `r` is `ids[(r + p·keys/4) % keys]`, so each phase's hot keys were cold in the one
/// before (a news site's front page, a day's working set). Tests how fast a policy
/// forgets what was popular.
#[must_use]
pub fn shifting_zipf_keys(requests: usize, keys: usize, exponent: f64, period: usize) -> Vec<u64> {
    let ids = uniform_keys(keys);
    let position: std::collections::HashMap<u64, usize> =
        ids.iter().enumerate().map(|(at, &id)| (id, at)).collect();
    zipf_keys(requests, keys, exponent)
        .into_iter()
        .enumerate()
        .map(|(index, id)| {
            let phase = index / period.max(1);
            let rank = position.get(&id).copied().unwrap_or(0);
            let shifted = (rank + phase * (keys / 4).max(1)) % keys.max(1);
            ids.get(shifted).copied().unwrap_or(id)
        })
        .collect()
}

/// `requests` requests with temporal locality and no lasting popularity: with probability
/// `reuse` a request repeats one of the last `depth` requests (picked uniformly), else it
/// asks a key drawn uniformly from `keys` (mostly never seen before). The recency-heavy
/// end of the suite — a session's working set, an editor's open files — where LRU shines
/// and a frequency filter with a small window refuses exactly the keys that come back.
#[must_use]
pub fn recency_keys(requests: usize, keys: usize, reuse: f64, depth: usize) -> Vec<u64> {
    let ids = uniform_keys(keys.max(1));
    let mut rng = SmallRng::seed_from_u64(SEED.wrapping_add(2));
    let mut stream: Vec<u64> = Vec::with_capacity(requests);
    for _ in 0..requests {
        let recent = stream.len().min(depth.max(1));
        let id = if recent > 0 && rng.random::<f64>() < reuse {
            let back = rng.random_range(1..=recent);
            stream.get(stream.len() - back).copied().unwrap_or_default()
        } else {
            ids.get(rng.random_range(0..ids.len()))
                .copied()
                .unwrap_or_default()
        };
        stream.push(id);
    }
    stream
}

/// Bélády's clairvoyant optimum (MIN with bypass) on `stream` with room for `capacity`
/// keys: on a miss with a full cache it drops, among the held keys and the new one, the
/// one asked again furthest in the future. No online policy can hit more often: the
/// ceiling of the hit-ratio benchmark. Returns the hits.
#[must_use]
pub fn belady_hits(stream: &[u64], capacity: usize) -> u64 {
    use std::collections::{BinaryHeap, HashMap};
    // next[i]: the position of the next request of stream[i] (usize::MAX: never again)
    let mut next = vec![usize::MAX; stream.len()];
    let mut last: HashMap<u64, usize> = HashMap::new();
    for (index, &id) in stream.iter().enumerate().rev() {
        if let (Some(slot), Some(&later)) = (next.get_mut(index), last.get(&id)) {
            *slot = later;
        }
        last.insert(id, index);
    }
    // held key -> its next request; a max-heap of (next request, key), lazily pruned
    let mut held: HashMap<u64, usize> = HashMap::with_capacity(capacity + 1);
    let mut heap: BinaryHeap<(usize, u64)> = BinaryHeap::new();
    let mut hits = 0;
    for (&id, &upcoming) in stream.iter().zip(&next) {
        if let Some(slot) = held.get_mut(&id) {
            hits += 1;
            *slot = upcoming;
            heap.push((upcoming, id));
            continue;
        }
        if capacity == 0 || upcoming == usize::MAX {
            continue;
        }
        if held.len() >= capacity {
            // the furthest current next request among the held keys
            let furthest = loop {
                match heap.pop() {
                    Some((at, key)) if held.get(&key) == Some(&at) => break Some((at, key)),
                    Some(_) => {}
                    None => break None,
                }
            };
            match furthest {
                Some((at, key)) if at > upcoming => {
                    held.remove(&key);
                }
                Some(entry) => {
                    // the new key is the furthest: bypass it, keep the held one
                    heap.push(entry);
                    continue;
                }
                None => continue,
            }
        }
        held.insert(id, upcoming);
        heap.push((upcoming, id));
        if heap.len() > 4 * capacity + 64 {
            heap = held.iter().map(|(&key, &at)| (at, key)).collect();
        }
    }
    hits
}

/// Makes this bench process use a fresh temporary cache root: unless `TWAT_CACHE_DIR` is
/// set already, re-runs the current executable with it pointing at a new temporary folder,
/// removes the folder when the child is done and exits with the child's status. Returns
/// (in the child, or when the variable was set) only when the bench should run.
///
/// The attributes open their persistent caches under the cache root, so a bench of
/// `#[bcache]`/`#[fcache]` must never write to the user's own root.
///
/// # Panics
///
/// When the temporary folder cannot be made or the child cannot be started.
pub fn in_temporary_cache_root() {
    if std::env::var_os("TWAT_CACHE_DIR").is_some() {
        return;
    }
    #[allow(clippy::expect_used, reason = "a bench's setup error fails loudly")]
    let (root, status) = {
        let root = tempfile::tempdir().expect("a temporary cache root");
        let executable = std::env::current_exe().expect("the bench's own path");
        let status = std::process::Command::new(executable)
            .args(std::env::args_os().skip(1))
            .env("TWAT_CACHE_DIR", root.path())
            .status()
            .expect("the bench re-run under a temporary cache root");
        (root, status)
    };
    drop(root);
    std::process::exit(status.code().unwrap_or(1));
}

/// Runs `op` on two threads at once, each over `iters` keys of `keys` (cycled, the second
/// thread starting half-way through), released together by a barrier; returns the wall
/// time both took, so a criterion `iter_custom` with `Throughput::Elements(2)` reads as
/// total operations per second.
pub fn two_threads(keys: &[u64], iters: u64, op: impl Fn(u64) + Sync) -> std::time::Duration {
    let barrier = std::sync::Barrier::new(2);
    let take = usize::try_from(iters).unwrap_or(usize::MAX);
    let start = std::time::Instant::now();
    std::thread::scope(|scope| {
        for thread in 0..2 {
            let (barrier, op) = (&barrier, &op);
            let skip = thread * keys.len() / 2;
            scope.spawn(move || {
                barrier.wait();
                for key in keys.iter().copied().cycle().skip(skip).take(take) {
                    op(key);
                }
            });
        }
    });
    start.elapsed()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_keys_are_distinct_and_seeded() {
        let keys = uniform_keys(10_000);
        assert_eq!(keys.len(), 10_000);
        let distinct: std::collections::HashSet<_> = keys.iter().collect();
        assert_eq!(distinct.len(), keys.len());
        assert_eq!(keys, uniform_keys(10_000));
    }

    #[test]
    fn zipf_keys_favour_the_first_ranks() {
        let ids = uniform_keys(1000);
        let stream = zipf_keys(100_000, 1000, 0.9);
        assert_eq!(stream, zipf_keys(100_000, 1000, 0.9));
        let hottest = stream.iter().filter(|&&id| id == ids[0]).count();
        let coldest = stream.iter().filter(|&&id| id == ids[999]).count();
        // rank 1 is 1000^0.9 ≈ 500 times as likely as rank 1000
        assert!(hottest > 50 * coldest.max(1), "{hottest} vs {coldest}");
        assert!(stream.iter().all(|id| ids.contains(id)));
    }

    #[test]
    fn belady_is_optimal_on_small_cases() {
        // cache of 2 over a, b, c, a, b: MIN keeps a and b (c is never asked again)
        assert_eq!(belady_hits(&[1, 2, 3, 1, 2], 2), 2);
        // a loop one longer than the cache: MIN still hits all but one key a lap
        let stream = loop_keys(300, 3);
        assert!(belady_hits(&stream, 2) >= 190);
        assert_eq!(belady_hits(&[1, 1, 1], 0), 0);
    }

    #[test]
    fn scans_and_shifts_are_seeded() {
        let scans = zipf_with_scans(1000, 100, 0.9, 100, 50);
        assert_eq!(scans.len(), 1000 + 10 * 50);
        assert_eq!(scans, zipf_with_scans(1000, 100, 0.9, 100, 50));
        let shifting = shifting_zipf_keys(1000, 100, 0.9, 500);
        assert_eq!(shifting.len(), 1000);
        assert_ne!(shifting[..500], shifting[500..]);
        let recent = recency_keys(1000, 100_000, 0.7, 50);
        assert_eq!(recent, recency_keys(1000, 100_000, 0.7, 50));
        let distinct: std::collections::HashSet<_> = recent.iter().collect();
        assert!(distinct.len() < 500, "{} distinct of 1000", distinct.len());
    }
}
