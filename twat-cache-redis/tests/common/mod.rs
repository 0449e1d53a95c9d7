//! A private `redis-server` per test: a free loopback port, a temp dir, no persistence,
//! killed on drop.

#![allow(
    dead_code,
    unreachable_pub,
    reason = "each test file uses a different part"
)]

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use twat_cache_core::CacheConfig;
use twat_cache_redis::{RedisCache, RedisOptions};

/// Env var marking a child process started by a test, carrying the server URL.
pub const CHILD_URL: &str = "TWAT_REDIS_TEST_CHILD_URL";

/// Where `redis-server` is, if it is on `PATH`.
pub fn redis_server_binary() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("redis-server"))
        .find(|candidate| candidate.is_file())
}

/// A running private server.
pub struct RedisServer {
    child: Child,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl RedisServer {
    /// Starts a server on a free port, or returns `None` (after printing the skip line)
    /// when `redis-server` is missing and `TWAT_CACHE_REQUIRE_REDIS` is not `1`.
    pub fn start() -> Option<Self> {
        let port = free_port();
        Self::start_on(port)
    }

    /// Starts a server on `port` (see [`RedisServer::start`]).
    pub fn start_on(port: u16) -> Option<Self> {
        Self::start_with(port, &[])
    }

    /// Starts a server on `port` with extra `redis-server` arguments; `{dir}` in an
    /// argument is replaced by the server's temp dir.
    pub fn start_with(port: u16, extra: &[&str]) -> Option<Self> {
        let Some(binary) = redis_server_binary() else {
            assert!(
                std::env::var("TWAT_CACHE_REQUIRE_REDIS").as_deref() != Ok("1"),
                "TWAT_CACHE_REQUIRE_REDIS=1 but redis-server is not on PATH"
            );
            // Straight to the process's stdout: the test harness captures `println!`, and
            // this line is for the person running the tests.
            let _ = std::io::Write::write_all(
                &mut std::io::stdout().lock(),
                b"skipped: redis-server not found; install it with `apt-get install redis-server`\n",
            );
            return None;
        };
        let dir = tempfile::tempdir().unwrap();
        let child = Command::new(binary)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .arg("--dir")
            .arg(dir.path())
            .args(["--save", "", "--appendonly", "no", "--protected-mode", "no"])
            .args(
                extra
                    .iter()
                    .map(|arg| arg.replace("{dir}", &dir.path().display().to_string())),
            )
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        let server = Self {
            child,
            port,
            _dir: dir,
        };
        server.wait_ready();
        Some(server)
    }

    /// The server's temp dir.
    pub fn dir(&self) -> &std::path::Path {
        self._dir.path()
    }

    fn wait_ready(&self) {
        let client = redis::Client::open(self.url()).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            // Ready once the server answers, even if only to refuse (`requirepass`).
            let answered = match client.get_connection_with_timeout(Duration::from_millis(200)) {
                Ok(mut connection) => match redis::cmd("PING").query::<String>(&mut connection) {
                    Ok(_) => true,
                    Err(err) => !err.is_io_error() && !err.is_connection_refusal(),
                },
                Err(err) => !err.is_io_error() && !err.is_connection_refusal(),
            };
            if answered {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "redis-server did not come up on port {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn url(&self) -> String {
        url_for(self.port)
    }

    /// A raw connection for checking what the cache wrote.
    pub fn raw(&self) -> redis::Connection {
        redis::Client::open(self.url())
            .unwrap()
            .get_connection_with_timeout(Duration::from_secs(2))
            .unwrap()
    }

    /// Kills the server now.
    pub fn kill(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

pub fn url_for(port: u16) -> String {
    format!("redis://127.0.0.1:{port}")
}

pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Fast reconnects for tests; generous command timeout for a loaded 2-core machine.
pub fn test_options() -> RedisOptions {
    RedisOptions::default()
        .command_timeout(Duration::from_millis(500))
        .connect_timeout(Duration::from_millis(200))
        .backoff(Duration::from_millis(20), Duration::from_millis(100))
}

pub fn open(url: &str, name: &str) -> RedisCache {
    open_with(url, name, test_options())
}

pub fn open_with(url: &str, name: &str, options: RedisOptions) -> RedisCache {
    let config = CacheConfig::builder()
        .name(name)
        .redis_url(url)
        .build()
        .unwrap();
    RedisCache::open_with(&config, options).unwrap()
}

/// Polls `check` every 10 ms until it holds or `limit` passes; returns whether it held.
pub fn eventually(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if check() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}
