//! Many threads storing, reading, deleting and clearing at once, with a byte budget and a
//! TTL in play: no deadlock, no error, every value read is the one stored for its key.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{config, open};

const BUDGET: u64 = 30_000;

fn value(key: u32) -> String {
    format!("value of {key} ").repeat(usize::try_from(key % 9).unwrap() + 1)
}

#[test]
fn mixed_operations_from_many_threads_stay_consistent() {
    let root = tempfile::tempdir().unwrap();
    let cache = Arc::new(open(
        root.path(),
        config("busy", "busy")
            .maxsize(BUDGET)
            .ttl(Duration::from_millis(80)),
    ));
    let workers: Vec<_> = (0..4_u32)
        .map(|thread| {
            let cache = Arc::clone(&cache);
            std::thread::spawn(move || {
                // A small xorshift per thread: reproducible, no shared state.
                let mut state = 0x9E37_79B9_u32 ^ (thread + 1).wrapping_mul(0x85EB_CA6B);
                for step in 0..3000_u32 {
                    state ^= state << 13;
                    state ^= state >> 17;
                    state ^= state << 5;
                    let key = state % 400;
                    match state % 10 {
                        0..=3 => cache.set(&key, &value(key)).unwrap(),
                        4..=7 => {
                            if let Some(found) = cache.get::<_, String>(&key).unwrap() {
                                assert_eq!(found, value(key), "key {key}");
                            }
                        }
                        8 => {
                            cache.remove(&key).unwrap();
                        }
                        _ if thread == 0 && step % 500 == 0 => cache.clear().unwrap(),
                        _ => cache.remove_expired().unwrap(),
                    }
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().unwrap();
    }
    assert!(cache.bytes() <= BUDGET, "{} bytes", cache.bytes());
    assert_eq!(cache.stats().errors, 0);
    // The index and the disk agree: every indexed entry reads back whole.
    let size = cache.stats().size;
    let path = cache.path();
    drop(cache);
    let reopened = open(root.path(), config("busy", "busy").maxsize(BUDGET));
    assert!(reopened.stats().size <= size);
    assert_eq!(reopened.path(), path);
    for key in 0..400_u32 {
        if let Some(found) = reopened.get::<_, String>(&key).unwrap() {
            assert_eq!(found, value(key));
        }
    }
    assert_eq!(reopened.stats().errors, 0);
}
