//! `CacheContext` with a `stale` window: `get_or_insert_with` serves a stale entry to
//! every caller but one, which refreshes it; `get` answers with fresh and stale values;
//! the entries live in a key space of their own. Ordering is forced with a gate, never
//! by timing; the sleeps only let a short `ttl` pass.
//!
//! The disk and file tests run in a child process whose `TWAT_CACHE_DIR` is a fresh
//! temporary folder (see `common`).
#![cfg(all(feature = "file", feature = "disk"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use twat_cache::{CacheConfig, CacheContext, EngineKind, get_stats};

/// Long enough that a loaded machine does not let an entry expire between two calls a
/// test expects to see it fresh in.
const TTL: Duration = Duration::from_secs(1);
const PATIENCE: Duration = Duration::from_secs(20);

fn past(ttl: Duration) {
    thread::sleep(ttl + Duration::from_millis(150));
}

fn stale_context(name: &str, engine: EngineKind, stale: Duration) -> CacheContext {
    CacheContext::new(
        CacheConfig::builder()
            .name(name)
            .engine(engine)
            .ttl(TTL)
            .stale(stale)
            .build()
            .unwrap(),
    )
    .unwrap()
}

/// A gate a computation stops at while it is closed, and a count of computations.
#[derive(Default)]
struct Gate {
    runs: AtomicUsize,
    closed: Mutex<bool>,
    opened: Condvar,
}

impl Gate {
    fn compute(&self, value: u32) -> u32 {
        self.runs.fetch_add(1, Ordering::SeqCst);
        let mut closed = self.closed.lock().unwrap();
        while *closed {
            closed = self.opened.wait(closed).unwrap();
        }
        value
    }

    fn set(&self, closed: bool) {
        *self.closed.lock().unwrap() = closed;
        self.opened.notify_all();
    }

    fn runs(&self) -> usize {
        self.runs.load(Ordering::SeqCst)
    }

    fn wait_for_runs(&self, runs: usize) {
        let start = Instant::now();
        while self.runs() < runs {
            assert!(start.elapsed() < PATIENCE, "the refresh never started");
            thread::sleep(Duration::from_millis(1));
        }
    }
}

/// The whole behaviour on one context: first miss, a stale entry refreshed by one caller
/// while eight others get the old value, `get` and `set`, removal and clear.
fn serves_stale_while_one_refreshes(cache: &Arc<CacheContext>, name: &str) {
    let gate = Arc::new(Gate::default());
    assert_eq!(cache.get_or_insert_with(&"k", || gate.compute(1)), 1);
    assert_eq!(cache.get_or_insert_with(&"k", || gate.compute(9)), 1);
    assert_eq!(gate.runs(), 1);
    past(TTL);

    // A stale entry: `get` still answers with it (a stale hit) and does not refresh.
    assert_eq!(cache.get::<_, u32>(&"k").unwrap(), Some(1));
    assert_eq!(cache.stats().stale_hits, 1);
    assert_eq!(gate.runs(), 1);

    gate.set(true);
    let refresher = {
        let (cache, gate) = (Arc::clone(cache), Arc::clone(&gate));
        thread::spawn(move || cache.get_or_insert_with(&"k", || gate.compute(2)))
    };
    gate.wait_for_runs(2);
    let (sender, answers) = mpsc::channel();
    for _ in 0..8 {
        let (cache, gate, sender) = (Arc::clone(cache), Arc::clone(&gate), sender.clone());
        thread::spawn(move || sender.send(cache.get_or_insert_with(&"k", || gate.compute(3))));
    }
    for _ in 0..8 {
        let answer = answers
            .recv_timeout(PATIENCE)
            .expect("a caller waited for the refresh");
        assert_eq!(answer, 1, "the old value, at once");
    }
    assert_eq!(gate.runs(), 2, "one refresh");
    gate.set(false);
    assert_eq!(refresher.join().unwrap(), 2);
    assert_eq!(cache.get::<_, u32>(&"k").unwrap(), Some(2));
    assert_eq!(cache.get_or_insert_with(&"k", || gate.compute(4)), 2);
    assert_eq!(gate.runs(), 2);
    let stats = cache.stats();
    assert_eq!(stats.stale_hits, 9, "{stats:?}");
    assert_eq!(get_stats(Some(name)).unwrap().stale_hits, 9);

    // `set` stores a fresh value; it turns stale like any other.
    cache.set(&"s", &5_u32).unwrap();
    assert_eq!(cache.get::<_, u32>(&"s").unwrap(), Some(5));
    assert!(cache.delete(&"s").unwrap());
    assert_eq!(cache.get::<_, u32>(&"s").unwrap(), None);

    cache.clear().unwrap();
    assert_eq!(cache.get::<_, u32>(&"k").unwrap(), None);
    assert_eq!(cache.stats().stale_hits, 0);
    assert_eq!(cache.stats().errors, 0);
}

#[test]
fn memory_context_serves_stale_while_one_caller_refreshes() {
    let cache = Arc::new(stale_context(
        "ctx_stale_memory",
        EngineKind::Memory,
        Duration::from_secs(30),
    ));
    serves_stale_while_one_refreshes(&cache, "ctx_stale_memory");

    // `invalidate_if` sees the stale key space's keys.
    for key in ["a1", "a2", "b1"] {
        cache.set(&key, &1_u32).unwrap();
    }
    assert_eq!(
        cache
            .invalidate_if(|key: &String| key.starts_with('a'))
            .unwrap(),
        2
    );
    assert_eq!(cache.get::<_, u32>(&"b1").unwrap(), Some(1));
}

#[test]
fn after_the_window_a_stale_entry_is_gone() {
    let cache = stale_context("ctx_stale_window", EngineKind::Memory, TTL);
    let runs = AtomicUsize::new(0);
    let compute = || runs.fetch_add(1, Ordering::SeqCst) + 1;
    assert_eq!(cache.get_or_insert_with(&"k", compute), 1);
    past(TTL + TTL);
    assert_eq!(cache.get::<_, usize>(&"k").unwrap(), None);
    assert_eq!(cache.get_or_insert_with(&"k", compute), 2);
    assert_eq!(cache.stats().stale_hits, 0);
}

#[test]
fn disk_context_serves_stale_while_one_caller_refreshes() {
    common::in_child(
        "disk_context_serves_stale_while_one_caller_refreshes",
        || {
            let cache = Arc::new(stale_context(
                "ctx_stale_disk",
                EngineKind::Disk,
                Duration::from_secs(30),
            ));
            serves_stale_while_one_refreshes(&cache, "ctx_stale_disk");
        },
    );
}

#[test]
fn file_context_serves_stale_and_keeps_its_own_key_space() {
    common::in_child(
        "file_context_serves_stale_and_keeps_its_own_key_space",
        file_context_body,
    );
}

/// The child part of `file_context_serves_stale_and_keeps_its_own_key_space`.
fn file_context_body() {
    let cache = Arc::new(stale_context(
        "ctx_stale_file",
        EngineKind::File,
        Duration::from_secs(30),
    ));
    serves_stale_while_one_refreshes(&cache, "ctx_stale_file");

    // A context on the same folder without `stale` never reads the stamped entries as
    // plain values, nor the other way round.
    cache.set(&"shared", &(7_u64, 8_u64)).unwrap();
    let plain = CacheContext::new(
        CacheConfig::builder()
            .name("ctx_stale_file")
            .engine(EngineKind::File)
            .ttl(TTL)
            .build()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(plain.get::<_, (u64, u64)>(&"shared").unwrap(), None);
    assert_eq!(plain.get::<_, u64>(&"shared").unwrap(), None);
    plain.set(&"shared", &1_u64).unwrap();
    assert_eq!(cache.get::<_, (u64, u64)>(&"shared").unwrap(), Some((7, 8)));
    assert_eq!(plain.stats().errors, 0);
    assert_eq!(cache.stats().errors, 0);
}

#[test]
fn stale_if_error_serves_the_old_value_when_a_refresh_panics() {
    let config = |if_error: bool| {
        CacheConfig::builder()
            .ttl(TTL)
            .stale(Duration::from_secs(30))
            .stale_if_error(if_error)
            .build()
            .unwrap()
    };
    let cache = CacheContext::new(config(true)).unwrap();
    assert_eq!(cache.get_or_insert_with(&"k", || 1_u32), 1);
    past(TTL);
    assert_eq!(
        cache.get_or_insert_with(&"k", || -> u32 { panic!("the refresh fails") }),
        1
    );
    assert_eq!(cache.stats().stale_hits, 1);
    assert_eq!(cache.get_or_insert_with(&"k", || 2_u32), 2, "tried again");

    // Without it, the refreshing caller gets the panic; the entry stays servable.
    let strict = CacheContext::new(config(false)).unwrap();
    assert_eq!(strict.get_or_insert_with(&"k", || 1_u32), 1);
    past(TTL);
    let refresh = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        strict.get_or_insert_with(&"k", || -> u32 { panic!("the refresh fails") })
    }));
    assert!(refresh.is_err());
    assert_eq!(strict.get::<_, u32>(&"k").unwrap(), Some(1));
}
