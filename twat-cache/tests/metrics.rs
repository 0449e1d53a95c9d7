//! The `metrics` feature: `publish` copies every registered cache's counters into the
//! installed recorder, and misses record their body time. Read back with
//! `metrics-util`'s debugging recorder.
#![cfg(feature = "metrics")]

use metrics::{SharedString, Unit};
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use metrics_util::{CompositeKey, MetricKind};
use twat_cache::mcache;

#[mcache(maxsize = 2, name = "metrics_test_square")]
fn square(x: u64) -> u64 {
    x * x
}

type Recorded = Vec<(CompositeKey, Option<Unit>, Option<SharedString>, DebugValue)>;

/// The value of `name{cache="metrics_test_square"}` of `kind`, if it was recorded.
fn value_of<'a>(recorded: &'a Recorded, kind: MetricKind, name: &str) -> Option<&'a DebugValue> {
    recorded
        .iter()
        .find(|(key, _, _, _)| {
            key.kind() == kind
                && key.key().name() == name
                && key
                    .key()
                    .labels()
                    .any(|label| label.key() == "cache" && label.value() == "metrics_test_square")
        })
        .map(|(_, _, _, value)| value)
}

#[test]
fn counters_gauges_and_miss_times_reach_the_recorder() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::with_local_recorder(&recorder, || {
        for x in [1, 2, 1, 3, 1] {
            assert_eq!(square(x), x * x);
        }
        twat_cache::metrics::publish();
    });
    // One snapshot: taking it resets the debugging recorder's counters.
    let recorded = snapshotter.snapshot().into_vec();
    let counter = |name| match value_of(&recorded, MetricKind::Counter, name) {
        Some(DebugValue::Counter(value)) => *value,
        other => panic!("{name}: {other:?}"),
    };
    let gauge = |name| match value_of(&recorded, MetricKind::Gauge, name) {
        Some(DebugValue::Gauge(value)) => value.into_inner(),
        other => panic!("{name}: {other:?}"),
    };
    // 1 miss, 2 miss, 1 hit, 3 miss (evicts 2), 1 hit.
    assert_eq!(counter("twat_cache_hits_total"), 2);
    assert_eq!(counter("twat_cache_misses_total"), 3);
    assert_eq!(counter("twat_cache_inserts_total"), 3);
    assert_eq!(counter("twat_cache_evictions_total"), 1);
    assert_eq!(counter("twat_cache_errors_total"), 0);
    assert_eq!(counter("twat_cache_stale_hits_total"), 0);
    assert_eq!(gauge("twat_cache_entries"), 2.0);
    assert_eq!(gauge("twat_cache_capacity"), 2.0);
    match value_of(&recorded, MetricKind::Histogram, "twat_cache_miss_seconds") {
        Some(DebugValue::Histogram(times)) => {
            assert_eq!(times.len(), 3, "one sample per miss");
            assert!(times.iter().all(|seconds| seconds.into_inner() >= 0.0));
        }
        other => panic!("twat_cache_miss_seconds: {other:?}"),
    }
}

#[test]
fn the_publisher_thread_publishes_and_stops() {
    // The global recorder is only installed in this test (its own process-wide slot).
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder
        .install()
        .expect("no other global recorder in this test binary");
    #[mcache(name = "metrics_test_publisher")]
    fn double(x: u64) -> u64 {
        x * 2
    }
    assert_eq!(double(4), 8);
    let publisher = twat_cache::metrics::publish_every(std::time::Duration::from_secs(3600))
        .expect("a thread starts");
    publisher.stop();
    let published = snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .any(|(key, _, _, value)| {
            key.key().name() == "twat_cache_misses_total"
                && key
                    .key()
                    .labels()
                    .any(|label| label.value() == "metrics_test_publisher")
                && value == DebugValue::Counter(1)
        });
    assert!(published, "the publisher thread published the miss");
}
