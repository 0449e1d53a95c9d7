#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]
//! Round trips, key layout, server-side TTL, clear with SCAN + UNLINK, URL handling.

mod common;

use std::time::Duration;

use common::{RedisServer, eventually, open, test_options};
use twat_cache_core::{ByteStore, CacheConfig, ConfigError, EngineKind, Error, ManagedCache};
use twat_cache_redis::RedisCache;

#[test]
fn set_get_delete_round_trip() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let cache = open(&server.url(), "round_trip");
    assert_eq!(cache.get::<_, String>(&"k").unwrap(), None);
    cache.set(&"k", &"value".to_owned()).unwrap();
    assert_eq!(
        cache.get::<_, String>(&"k").unwrap().as_deref(),
        Some("value")
    );
    cache
        .set(&(1_u32, "x", 2.5_f64), &vec![1_u64, 2, 3])
        .unwrap();
    assert_eq!(
        cache.get::<_, Vec<u64>>(&(1_u32, "x", 2.5_f64)).unwrap(),
        Some(vec![1, 2, 3])
    );
    assert!(cache.remove(&"k").unwrap());
    assert!(!cache.remove(&"k").unwrap());
    assert_eq!(cache.get::<_, String>(&"k").unwrap(), None);
    let stats = cache.stats();
    assert_eq!(
        (stats.hits, stats.misses, stats.inserts, stats.errors),
        (2, 2, 2, 0)
    );
}

#[test]
fn keys_follow_the_documented_layout() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let config = CacheConfig::builder()
        .name("layout")
        .version(7)
        .redis_url(server.url())
        .build()
        .unwrap();
    let cache = RedisCache::open_with(&config, test_options()).unwrap();
    cache.set(&42_u64, &"answer").unwrap();
    let mut raw = server.raw();
    let keys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut raw).unwrap();
    assert_eq!(keys.len(), 1);
    let key = &keys[0];
    assert!(key.starts_with("twat_cache:layout:7:"), "{key}");
    assert_eq!(
        key.len(),
        "twat_cache:layout:7:".len() + 64,
        "BLAKE3 hex digest"
    );
    assert_eq!(key, &cache.redis_key(&42_u64).unwrap());
    assert_eq!(cache.key_prefix(), "twat_cache:layout:7:");
}

#[test]
fn byte_store_and_managed_cache() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let cache = open(&server.url(), "bytes");
    assert_eq!(ByteStore::kind(&cache), EngineKind::Redis);
    assert_eq!(ManagedCache::name(&cache), "bytes");
    assert_eq!(cache.get_bytes(b"key").unwrap(), None);
    cache.set_bytes(b"key", b"payload").unwrap();
    assert_eq!(
        cache.get_bytes(b"key").unwrap().as_deref(),
        Some(&b"payload"[..])
    );
    assert!(cache.delete_bytes(b"key").unwrap());
    assert_eq!(cache.get_bytes(b"key").unwrap(), None);
}

#[test]
fn ttl_is_the_servers() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let config = CacheConfig::builder()
        .name("ttl")
        .ttl(Duration::from_millis(300))
        .redis_url(server.url())
        .build()
        .unwrap();
    let cache = RedisCache::open_with(&config, test_options()).unwrap();
    cache.set(&"k", &1_u8).unwrap();
    let mut raw = server.raw();
    let pttl: i64 = redis::cmd("PTTL")
        .arg(cache.redis_key(&"k").unwrap())
        .query(&mut raw)
        .unwrap();
    assert!(pttl > 0 && pttl <= 300, "PTTL {pttl}");
    // The server removes the key by itself.
    assert!(eventually(Duration::from_secs(10), || {
        let exists: bool = redis::cmd("EXISTS")
            .arg(cache.redis_key(&"k").unwrap())
            .query(&mut raw)
            .unwrap();
        !exists
    }));
    assert_eq!(cache.get::<_, u8>(&"k").unwrap(), None);
}

#[test]
fn clear_removes_only_this_caches_keys() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let cache = open(&server.url(), "clear_me");
    let neighbour = open(&server.url(), "clear_me_not");
    // More keys than one SCAN batch, to exercise the cursor loop.
    for i in 0..1_200_u32 {
        cache.set(&i, &i).unwrap();
    }
    neighbour.set(&1_u32, &1_u32).unwrap();
    let mut raw = server.raw();
    redis::cmd("SET")
        .arg("unrelated")
        .arg("x")
        .query::<()>(&mut raw)
        .unwrap();
    cache.clear().unwrap();
    let keys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut raw).unwrap();
    let mut keys = keys;
    keys.sort();
    assert_eq!(keys.len(), 2, "{keys:?}");
    assert!(keys.contains(&"unrelated".to_owned()));
    assert!(
        keys.iter()
            .any(|key| key.starts_with("twat_cache:clear_me_not:0:"))
    );
    assert_eq!(cache.stats().inserts, 0, "clear resets the counters");
    assert_eq!(neighbour.get::<_, u32>(&1_u32).unwrap(), Some(1));
}

#[test]
fn clear_escapes_glob_characters_in_the_name() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let star = open(&server.url(), "a*");
    let other = open(&server.url(), "ab");
    star.set(&1_u8, &1_u8).unwrap();
    other.set(&1_u8, &1_u8).unwrap();
    star.clear().unwrap();
    assert_eq!(star.get::<_, u8>(&1_u8).unwrap(), None);
    assert_eq!(other.get::<_, u8>(&1_u8).unwrap(), Some(1));
}

#[test]
fn malformed_url_is_a_config_error() {
    let config = CacheConfig::builder().name("bad").build().unwrap();
    // Built directly, the config validates its URL; the env var path is checked at open.
    let bad = CacheConfig::builder().redis_url("http://nope").build();
    assert!(matches!(bad, Err(ConfigError::InvalidRedisUrl { .. })));
    let bad_cluster = CacheConfig::builder()
        .redis_url("redis+cluster://h1:1,,h2:2")
        .build();
    assert!(matches!(
        bad_cluster,
        Err(ConfigError::InvalidRedisUrl { .. })
    ));
    // A cluster node given in code is checked at open; the message hides the password.
    let options = test_options().cluster(["redis://user:secret@h1:port"]);
    let err = RedisCache::open_with(&config, options).unwrap_err();
    assert!(
        matches!(err, Error::Config(ConfigError::InvalidRedisUrl { .. })),
        "{err}"
    );
    assert!(!err.to_string().contains("secret"), "{err}");
}

#[test]
fn debug_never_shows_the_password() {
    let config = CacheConfig::builder()
        .name("secret")
        .redis_url("redis://user:hunter2@127.0.0.1:1")
        .build()
        .unwrap();
    let cache = RedisCache::open_with(&config, test_options()).unwrap();
    let debug = format!("{cache:?}");
    assert!(!debug.contains("hunter2"), "{debug}");
    assert!(debug.contains("***"), "{debug}");
}

#[test]
fn send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<RedisCache>();
}

/// Run in a child process whose only way to find the server is `TWAT_CACHE_REDIS_URL`.
#[test]
fn env_url_child() {
    if std::env::var(common::CHILD_URL).is_ok() {
        let config = CacheConfig::builder().name("from_env").build().unwrap();
        let cache = RedisCache::open_with(&config, test_options()).unwrap();
        cache.set(&"k", &"via env").unwrap();
        assert_eq!(
            cache.get::<_, String>(&"k").unwrap().as_deref(),
            Some("via env")
        );
    }
}

#[test]
fn the_url_comes_from_the_environment_when_the_config_has_none() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "env_url_child", "--test-threads", "1"])
        .env(common::CHILD_URL, "1")
        .env("TWAT_CACHE_REDIS_URL", server.url())
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let mut raw = server.raw();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("twat_cache:from_env:0:*")
        .query(&mut raw)
        .unwrap();
    assert_eq!(keys.len(), 1);
}

#[test]
fn password_and_unix_socket_urls() {
    let port = common::free_port();
    let Some(server) = RedisServer::start_with(
        port,
        &[
            "--requirepass",
            "s3cret",
            "--unixsocket",
            "{dir}/redis.sock",
            "--unixsocketperm",
            "700",
        ],
    ) else {
        return;
    };
    let with_password = format!("redis://:s3cret@127.0.0.1:{port}");
    let cache = common::open(&with_password, "auth");
    cache.set(&"k", &1_u32).unwrap();
    assert_eq!(cache.get::<_, u32>(&"k").unwrap(), Some(1));
    let wrong = common::open(&format!("redis://:nope@127.0.0.1:{port}"), "auth");
    assert!(wrong.get::<_, u32>(&"k").is_err());
    assert!(!format!("{wrong:?}").contains("nope"));

    let socket = server.dir().join("redis.sock");
    let unix = format!("redis+unix://{}?pass=s3cret", socket.display());
    let over_socket = common::open(&unix, "auth");
    assert_eq!(over_socket.get::<_, u32>(&"k").unwrap(), Some(1));
    assert!(!format!("{over_socket:?}").contains("s3cret"));
}

/// Without the `tls` feature a `rediss://` URL is refused, never sent in clear text.
#[cfg(not(feature = "tls"))]
#[test]
fn tls_urls_are_refused_without_the_tls_feature() {
    let config = CacheConfig::builder()
        .redis_url("rediss://user:secret@127.0.0.1:1")
        .build()
        .unwrap();
    let err = RedisCache::open(&config).unwrap_err();
    assert!(
        matches!(err, Error::Config(ConfigError::InvalidRedisUrl { .. })),
        "{err}"
    );
    assert!(err.to_string().contains("`tls` feature"), "{err}");
    assert!(!err.to_string().contains("secret"), "{err}");
}
