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
}
