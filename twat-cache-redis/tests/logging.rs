#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]
//! One `warn!` per outage, one `info!` per recovery, and never a password in the logs.

mod common;

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{RedisServer, eventually, test_options};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};
use twat_cache_core::CacheConfig;
use twat_cache_redis::RedisCache;

/// Collects every event as `LEVEL text-of-all-fields`.
#[derive(Clone, Default)]
struct Collect(Arc<Mutex<Vec<(Level, String)>>>);

struct Fields(String);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, "{}={:?} ", field.name(), value);
    }
}

impl Subscriber for Collect {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut fields = Fields(String::new());
        event.record(&mut fields);
        self.0
            .lock()
            .unwrap()
            .push((*event.metadata().level(), fields.0));
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

impl Collect {
    fn count(&self, level: Level, needle: &str) -> usize {
        let events = self.0.lock().unwrap();
        events
            .iter()
            .filter(|(l, text)| *l == level && text.contains(needle))
            .count()
    }
}

#[test]
fn one_warning_per_outage_and_one_info_per_recovery() {
    let collect = Collect::default();
    tracing::subscriber::set_global_default(collect.clone()).unwrap();
    let Some(server) = RedisServer::start() else {
        return;
    };
    let port = server.port;
    let url = format!("redis://user:hunter2@127.0.0.1:{port}");
    let config = CacheConfig::builder()
        .name("logging")
        .redis_url(url)
        .build()
        .unwrap();
    let cache = RedisCache::open_with(&config, test_options()).unwrap();
    // The server has no ACL user "user": every connection is refused with an auth error,
    // which counts as the server being unreachable — one outage, one warning.
    assert!(cache.get::<_, u32>(&1_u32).is_err());
    for _ in 0..50 {
        assert!(cache.set(&1_u32, &1_u32).is_err());
    }
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(collect.count(Level::WARN, "Redis is unreachable"), 1);
    drop(cache);

    // A real outage: up, killed (one warning however many calls), back (one info).
    let config = CacheConfig::builder()
        .name("logging")
        .redis_url(server.url())
        .build()
        .unwrap();
    let cache = RedisCache::open_with(&config, test_options()).unwrap();
    cache.set(&1_u32, &1_u32).unwrap();
    server.kill();
    for _ in 0..50 {
        assert!(cache.get::<_, u32>(&1_u32).is_err());
    }
    assert_eq!(collect.count(Level::WARN, "Redis is unreachable"), 2);
    let Some(_server) = RedisServer::start_on(port) else {
        return;
    };
    assert!(eventually(Duration::from_secs(10), || cache.is_up()));
    cache.set(&1_u32, &2_u32).unwrap();
    assert_eq!(collect.count(Level::INFO, "reachable again"), 1);
    assert_eq!(collect.count(Level::WARN, "Redis is unreachable"), 2);
    let events = collect.0.lock().unwrap();
    assert!(
        events.iter().all(|(_, text)| !text.contains("hunter2")),
        "{events:?}"
    );
}
