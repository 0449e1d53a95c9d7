//! Core costs every persistent call pays: key encoding and the value envelope.
#![allow(
    missing_docs,
    reason = "criterion's macros generate undocumented items"
)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use twat_cache_core::envelope::{self, Flags, Header};
use twat_cache_core::{Namespace, decode_value};

fn key_and_envelope(c: &mut Criterion) {
    let namespace = Namespace::new("bench::report", 0);
    let mut group = c.benchmark_group("core");
    group.throughput(Throughput::Elements(1));
    group.bench_function("namespaced key (u64, &str)", |b| {
        b.iter(|| namespace.key(black_box(&(42_u64, "quarterly"))));
    });
    let value = "x".repeat(100);
    group.bench_function("seal 100-byte String", |b| {
        b.iter(|| envelope::seal_value(Header::new(Flags::NONE, None), black_box(&value)));
    });
    let sealed = envelope::seal_value(Header::new(Flags::NONE, None), &value).unwrap_or_default();
    group.bench_function("open 100-byte String", |b| {
        b.iter(|| {
            envelope::open(black_box(&sealed)).map(|(_, payload)| decode_value::<String>(payload))
        });
    });
    group.finish();
}

criterion_group!(benches, key_and_envelope);
criterion_main!(benches);
