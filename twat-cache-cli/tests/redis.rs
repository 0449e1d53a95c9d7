//! `list`, `stats` and `clear` with `--redis URL`, on keys written by the Redis engine in a
//! private `redis-server` (skipped when none is installed, unless
//! `TWAT_CACHE_REQUIRE_REDIS=1`).
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

mod common;

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{json_of, twat_cache};
use predicates::prelude::*;
use twat_cache_core::CacheConfig;
use twat_cache_redis::{RedisCache, RedisOptions};

/// A private server on a free loopback port, killed on drop.
struct Server {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Server {
    fn start() -> Option<Self> {
        let path = std::env::var_os("PATH")?;
        let Some(binary) = std::env::split_paths(&path)
            .map(|dir| dir.join("redis-server"))
            .find(|candidate| candidate.is_file())
        else {
            assert!(
                std::env::var("TWAT_CACHE_REQUIRE_REDIS").as_deref() != Ok("1"),
                "TWAT_CACHE_REQUIRE_REDIS=1 but redis-server is not on PATH"
            );
            return None;
        };
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = tempfile::tempdir().unwrap();
        let child = Command::new(binary)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .arg("--dir")
            .arg(dir.path())
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let server = Self {
            child,
            url: format!("redis://127.0.0.1:{port}"),
            _dir: dir,
        };
        let client = redis::Client::open(server.url.as_str()).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while client
            .get_connection_with_timeout(Duration::from_millis(200))
            .and_then(|mut connection| redis::cmd("PING").query::<String>(&mut connection))
            .is_err()
        {
            assert!(Instant::now() < deadline, "redis-server did not come up");
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(server)
    }

    fn cache(&self, name: &str, ttl: Option<Duration>) -> RedisCache {
        let mut config = CacheConfig::builder()
            .name(name)
            .redis_url(self.url.as_str());
        if let Some(ttl) = ttl {
            config = config.ttl(ttl);
        }
        RedisCache::open_with(&config.build().unwrap(), RedisOptions::default()).unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn list_stats_and_clear_act_on_the_servers_caches() {
    let Some(server) = Server::start() else {
        return;
    };
    let users = server.cache("app::users", None);
    for i in 0..30_u32 {
        users.set(&i, &format!("user {i}")).unwrap();
    }
    let sessions = server.cache("sessions", Some(Duration::from_secs(3600)));
    for i in 0..5_u32 {
        sessions.set(&i, &vec![0_u8; 100]).unwrap();
    }
    // A key of someone else's is neither listed nor removed.
    let mut raw = redis::Client::open(server.url.as_str())
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
        .args(["list", "--json", "--redis", &server.url])
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
        .args(["stats", "sessions", "--redis", &server.url])
        .assert()
        .success()
        .stdout(predicate::str::is_match(r"(?m)^sessions\s+0\s+5\s+5\s+0\s").unwrap());
    twat_cache(root.path())
        .args(["stats", "nobody", "--redis", &server.url])
        .assert()
        .code(2);

    twat_cache(root.path())
        .args(["clear", "app::users", "--redis", &server.url])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--yes"));
    twat_cache(root.path())
        .args(["clear", "app::users", "--yes", "--redis", &server.url])
        .assert()
        .success()
        .stdout(predicate::str::is_match(r"(?m)^app::users\s+30$").unwrap());
    assert_eq!(users.get::<_, String>(&1_u32).unwrap(), None);
    assert!(sessions.get::<_, Vec<u8>>(&1_u32).unwrap().is_some());

    twat_cache(root.path())
        .args(["clear", "--all", "--yes", "--redis", &server.url])
        .assert()
        .success();
    let left: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut raw).unwrap();
    assert_eq!(left, ["unrelated"]);
}

#[test]
fn an_unreachable_server_is_one_line_and_exit_1() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let root = tempfile::tempdir().unwrap();
    let output = twat_cache(root.path())
        .args(["list", "--redis", &format!("redis://127.0.0.1:{port}")])
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
