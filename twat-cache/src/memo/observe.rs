//! What happens around a miss's body: a `twat_cache.miss` span (level `debug`, field
//! `cache`) so a subscriber sees the body's own events and spans inside it, and, with the
//! `metrics` feature, the body's time in the `twat_cache_miss_seconds` histogram.
//!
//! Only misses pass through here: the hit path neither opens a span nor reads the clock.

use std::future::Future;

use tracing::Instrument;

/// Runs a miss's body for the cache named `cache`.
#[inline]
pub(super) fn miss<T>(cache: &str, run: impl FnOnce() -> T) -> T {
    let span = tracing::debug_span!("twat_cache.miss", cache);
    let _entered = span.enter();
    #[cfg(feature = "metrics")]
    let started = std::time::Instant::now();
    let value = run();
    #[cfg(feature = "metrics")]
    crate::metrics::record_miss(cache, started.elapsed());
    value
}

/// Awaits a miss's body for the cache named `cache` (timed from its first poll).
pub(super) async fn miss_async<F: Future>(cache: &str, run: F) -> F::Output {
    #[cfg(feature = "metrics")]
    let started = std::time::Instant::now();
    let value = run
        .instrument(tracing::debug_span!("twat_cache.miss", cache))
        .await;
    #[cfg(feature = "metrics")]
    crate::metrics::record_miss(cache, started.elapsed());
    value
}
