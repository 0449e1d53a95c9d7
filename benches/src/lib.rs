//! Criterion benchmarks for twat-cache live in `benches/`; this library only holds the
//! shared workload helpers they use.

/// `n` distinct `u64` keys in a fixed, shuffled order (a Weyl sequence, so every run and
/// every machine sees the same order).
#[must_use]
pub fn shuffled_keys(n: u64) -> Vec<u64> {
    const STEP: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..n).map(|i| i.wrapping_mul(STEP) % n.max(1)).collect()
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
