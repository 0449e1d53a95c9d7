//! `list`, `stats` and `clear` with `--redis URL`, on keys written by the Redis engine in a
//! private `redis-server` (skipped when none is installed, unless
//! `TWAT_CACHE_REQUIRE_REDIS=1`).
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

mod common;
/// The Redis engine's own test server: a private `redis-server`, killed on drop.
#[path = "../../twat-cache-redis/tests/common/mod.rs"]
mod redis_common;

use std::time::Duration;

use common::{json_of, twat_cache};
use predicates::prelude::*;
use redis_common::RedisServer;
use twat_cache_core::CacheConfig;
use twat_cache_redis::{RedisCache, RedisOptions};

/// A Redis cache of `server`'s named `name`, as an application would open one.
fn cache(server: &RedisServer, name: &str, ttl: Option<Duration>) -> RedisCache {
    let mut config = CacheConfig::builder().name(name).redis_url(server.url());
    if let Some(ttl) = ttl {
        config = config.ttl(ttl);
    }
    RedisCache::open_with(&config.build().unwrap(), RedisOptions::default()).unwrap()
}

#[test]
fn list_stats_and_clear_act_on_the_servers_caches() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let users = cache(&server, "app::users", None);
    for i in 0..30_u32 {
        users.set(&i, &format!("user {i}")).unwrap();
    }
    let sessions = cache(&server, "sessions", Some(Duration::from_secs(3600)));
    for i in 0..5_u32 {
        sessions.set(&i, &vec![0_u8; 100]).unwrap();
    }
    // A key of someone else's is neither listed nor removed.
    let mut raw = redis::Client::open(server.url().as_str())
        .unwrap()
        .get_connection()
        .unwrap();
    redis::cmd("SET")
        .arg("unrelated")
        .arg("x")
        .query::<()>(&mut raw)
        .unwrap();
    let root = tempfile::tempdir().unwrap();

    let output = twat_cache(root.path())
        .args(["list", "--json", "--redis", &server.url()])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let caches = json_of(&output)["caches"].as_array().unwrap().clone();
    assert_eq!(caches.len(), 2);
    assert_eq!(caches[0]["name"], "app::users");
    assert_eq!(caches[0]["entries"], 30);
    assert_eq!(caches[0]["expiring"], 0);
    assert_eq!(caches[1]["name"], "sessions");
    assert_eq!(caches[1]["entries"], 5);
    assert_eq!(caches[1]["expiring"], 5);
    assert!(caches[1]["value_bytes"].as_u64().unwrap() >= 500);

    twat_cache(root.path())
        .args(["stats", "sessions", "--redis", &server.url()])
        .assert()
        .success()
        .stdout(predicate::str::is_match(r"(?m)^sessions\s+0\s+5\s+5\s+0\s").unwrap());
    twat_cache(root.path())
        .args(["stats", "nobody", "--redis", &server.url()])
        .assert()
        .code(2);

    twat_cache(root.path())
        .args(["clear", "app::users", "--redis", &server.url()])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--yes"));
    twat_cache(root.path())
        .args(["clear", "app::users", "--yes", "--redis", &server.url()])
        .assert()
        .success()
        .stdout(predicate::str::is_match(r"(?m)^app::users\s+30$").unwrap());
    assert_eq!(users.get::<_, String>(&1_u32).unwrap(), None);
    assert!(sessions.get::<_, Vec<u8>>(&1_u32).unwrap().is_some());

    twat_cache(root.path())
        .args(["clear", "--all", "--yes", "--redis", &server.url()])
        .assert()
        .success();
    let left: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut raw).unwrap();
    assert_eq!(left, ["unrelated"]);
}

#[test]
fn an_unreachable_server_is_one_line_and_exit_1() {
    let port = redis_common::free_port();
    let root = tempfile::tempdir().unwrap();
    let output = twat_cache(root.path())
        .args(["list", "--redis", &redis_common::url_for(port)])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("twat-cache: error: redis:"), "{stderr}");
    twat_cache(root.path())
        .args(["list", "--redis", "not a url"])
        .assert()
        .code(2);
}

#[test]
fn list_and_clear_reach_every_primary_of_a_tls_cluster() {
    if !redis_common::tls_available() {
        return;
    }
    let files = redis_common::TlsFiles::generate();
    let Some(cluster) = redis_common::RedisCluster::start_tls(3, &files) else {
        return;
    };
    let url = cluster.tls_url();
    let config = CacheConfig::builder()
        .name("spread")
        .redis_url(url.as_str())
        .build()
        .unwrap();
    let options = RedisOptions::default().tls_ca_pem(redis_common::TlsFiles::read(&files.ca_cert));
    let spread = RedisCache::open_with(&config, options).unwrap();
    for i in 0..60_u32 {
        spread.set(&i, &i).unwrap();
    }
    let per_node = cluster.keys_per_node("twat_cache:spread:");
    assert!(
        per_node.iter().all(|&keys| keys > 0),
        "the keys span every primary: {per_node:?}"
    );
    let root = tempfile::tempdir().unwrap();
    let ca = files.ca_cert.display().to_string();

    // Without the private CA the server's certificate is refused: one line, exit 1.
    twat_cache(root.path())
        .args(["list", "--redis", &url])
        .assert()
        .code(1)
        .stderr(predicate::str::starts_with("twat-cache: error: redis:"));

    let output = twat_cache(root.path())
        .env(twat_cache_redis::REDIS_CA_ENV, &ca)
        .args(["list", "--json", "--redis", &url])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let caches = json_of(&output)["caches"].as_array().unwrap().clone();
    assert_eq!(caches.len(), 1);
    assert_eq!(caches[0]["name"], "spread");
    assert_eq!(caches[0]["entries"], 60);

    twat_cache(root.path())
        .env(twat_cache_redis::REDIS_CA_ENV, &ca)
        .args(["clear", "spread", "--yes", "--redis", &url])
        .assert()
        .success()
        .stdout(predicate::str::is_match(r"(?m)^spread\s+60$").unwrap());
    assert_eq!(cluster.keys_per_node("twat_cache:spread:"), [0, 0, 0]);
}
