//! Criterion benchmarks for twat-cache live in `benches/`; this library only holds the
//! shared workload helpers they use.

/// `n` distinct `u64` keys in a fixed, shuffled order (a Weyl sequence, so every run and
/// every machine sees the same order).
#[must_use]
pub fn shuffled_keys(n: u64) -> Vec<u64> {
    const STEP: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..n).map(|i| i.wrapping_mul(STEP) % n.max(1)).collect()
}
