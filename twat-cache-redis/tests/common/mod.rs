//! A private `redis-server` per test: a free loopback port, a temp dir, no persistence,
//! killed on drop. Also: TLS servers on certificates made with `openssl`
//! ([`TlsFiles`], [`RedisServer::start_tls`]), a 3-primary Redis Cluster
//! ([`RedisCluster`]), and restarts and pauses (`SIGSTOP`) of a running server.

#![allow(
    dead_code,
    unreachable_pub,
    reason = "each test file uses a different part"
)]

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
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
    /// The arguments it was started with (for [`RedisServer::restart`]).
    args: Vec<String>,
    /// Whether its port speaks TLS (readiness is then a TCP connect).
    tls: bool,
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
        Self::start_args(port, extra, false)
    }

    fn start_args(port: u16, extra: &[&str], tls: bool) -> Option<Self> {
        let Some(binary) = redis_server_binary() else {
            skip(
                "redis-server is not on PATH",
                "redis-server not found; install it with `apt-get install redis-server`",
            );
            return None;
        };
        let dir = tempfile::tempdir().unwrap();
        let dir_text = dir.path().display().to_string();
        let mut args: Vec<String> = ["--port", &port.to_string(), "--bind", "127.0.0.1"]
            .iter()
            .map(ToString::to_string)
            .collect();
        args.extend(["--dir".to_owned(), dir_text.clone()]);
        args.extend(
            ["--save", "", "--appendonly", "no", "--protected-mode", "no"].map(str::to_owned),
        );
        args.extend(extra.iter().map(|arg| arg.replace("{dir}", &dir_text)));
        let child = spawn_server(&binary, &args);
        let server = Self {
            child,
            port,
            _dir: dir,
            args,
            tls,
        };
        server.wait_ready();
        Some(server)
    }

    /// Starts a TLS-only server (no plain port) on a free port with the certificates in
    /// `files`; with `require_client_cert`, clients must present a certificate signed by
    /// the CA (`tls-auth-clients yes`).
    pub fn start_tls(files: &TlsFiles, require_client_cert: bool) -> Option<Self> {
        let port = free_port();
        let mut args = vec!["--port".to_owned(), "0".to_owned()];
        args.extend(files.server_args(port, require_client_cert));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        Self::start_args(port, &args, true)
    }

    /// The server's `rediss://` URL (for a server from [`RedisServer::start_tls`]).
    pub fn tls_url(&self) -> String {
        format!("rediss://127.0.0.1:{}", self.port)
    }

    /// Kills the server and starts it again on the same port, dir and arguments (empty
    /// unless it persists; a cluster node keeps its `nodes.conf`).
    pub fn restart(&mut self) {
        self.stop();
        let binary = redis_server_binary().expect("redis-server was found at start");
        self.child = spawn_server(&binary, &self.args);
        self.wait_ready();
    }

    /// Kills the server; [`RedisServer::resume_from_kill`] starts it again.
    pub fn kill_now(&mut self) {
        self.stop();
    }

    /// Starts a server killed with [`RedisServer::kill_now`] again (same port and dir).
    pub fn resume_from_kill(&mut self) {
        let binary = redis_server_binary().expect("redis-server was found at start");
        self.child = spawn_server(&binary, &self.args);
        self.wait_ready();
    }

    /// Freezes the server process (`SIGSTOP`): connections stay open, nothing answers.
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// Thaws a server frozen by [`RedisServer::pause`] (`SIGCONT`).
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(signal)
            .arg(self.child.id().to_string())
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill {signal} failed");
    }

    /// The server's temp dir.
    pub fn dir(&self) -> &std::path::Path {
        self._dir.path()
    }

    fn wait_ready(&self) {
        let client = redis::Client::open(self.url()).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        if self.tls {
            // The plain client cannot talk to a TLS port: listening is ready enough.
            while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
                assert!(
                    Instant::now() < deadline,
                    "redis-server did not come up on port {}",
                    self.port
                );
                std::thread::sleep(Duration::from_millis(20));
            }
            return;
        }
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

fn spawn_server(binary: &Path, args: &[String]) -> Child {
    Command::new(binary)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-server starts")
}

/// Whether this machine's `redis-server` speaks TLS (Debian's does: it links OpenSSL)
/// and `openssl` is there to make certificates. Prints the skip line and returns `false`
/// when either is missing (and fails instead under `TWAT_CACHE_REQUIRE_REDIS=1`).
pub fn tls_available() -> bool {
    let Some(binary) = redis_server_binary() else {
        let _ = RedisServer::start();
        return false;
    };
    // A TLS build exits at once, unable to load the (missing) key; `timeout` bounds a
    // build that would instead start serving.
    let probe = Command::new("timeout")
        .arg("5")
        .arg(binary)
        .args([
            "--port",
            "0",
            "--tls-port",
            &free_port().to_string(),
            "--save",
            "",
        ])
        .args(["--tls-cert-file", "/nonexistent"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .expect("redis-server runs");
    let text = String::from_utf8_lossy(&probe.stdout) + String::from_utf8_lossy(&probe.stderr);
    // A TLS build complains about the missing file; a build without TLS about the option.
    let supported = text.contains("Failed to configure TLS");
    if !supported {
        skip(
            "this redis-server was built without TLS",
            "this redis-server has no TLS; install Debian's `redis-server` (built with TLS)",
        );
        return false;
    }
    let openssl = Command::new("openssl")
        .arg("version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !openssl {
        skip(
            "`openssl` (to make test certificates) is not on PATH",
            "`openssl` not found (it makes the test certificates); install it with `apt-get install openssl`",
        );
    }
    openssl
}

/// Prints `skipped: {line}` — or, under `TWAT_CACHE_REQUIRE_REDIS=1` (CI), fails because
/// `{missing}`.
fn skip(missing: &str, line: &str) {
    assert!(
        std::env::var("TWAT_CACHE_REQUIRE_REDIS").as_deref() != Ok("1"),
        "TWAT_CACHE_REQUIRE_REDIS=1 but {missing}"
    );
    // Straight to the process's stdout: the test harness captures `println!`, and this
    // line is for the person running the tests.
    let _ = std::io::Write::write_all(
        &mut std::io::stdout().lock(),
        format!("skipped: {line}\n").as_bytes(),
    );
}

/// Certificates for a TLS test, made with the `openssl` command in a temp dir: a CA, a
/// server certificate for `127.0.0.1`/`localhost` it signed, a client certificate it
/// signed, and a second, unrelated CA (to be refused).
pub struct TlsFiles {
    _dir: tempfile::TempDir,
    pub ca_cert: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
    pub other_ca_cert: PathBuf,
}

impl TlsFiles {
    /// Makes the certificates (about a second of `openssl`).
    pub fn generate() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let at = |name: &str| dir.path().join(name);
        let openssl = |args: &[&str]| {
            let output = Command::new("openssl")
                .args(args)
                .current_dir(dir.path())
                .output()
                .expect("`openssl` is installed (apt-get install openssl)");
            assert!(
                output.status.success(),
                "openssl {args:?} failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        };
        for ca in ["ca", "other-ca"] {
            openssl(&[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-subj",
                &format!("/CN=twat-cache test {ca}"),
                "-keyout",
                &format!("{ca}.key"),
                "-out",
                &format!("{ca}.crt"),
            ]);
        }
        std::fs::write(
            at("server.ext"),
            // clientAuth too: cluster nodes present it to each other on the bus.
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n",
        )
        .unwrap();
        std::fs::write(at("client.ext"), "extendedKeyUsage=clientAuth\n").unwrap();
        for leaf in ["server", "client"] {
            openssl(&[
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-subj",
                &format!("/CN=twat-cache test {leaf}"),
                "-keyout",
                &format!("{leaf}.key"),
                "-out",
                &format!("{leaf}.csr"),
            ]);
            openssl(&[
                "x509",
                "-req",
                "-in",
                &format!("{leaf}.csr"),
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "2",
                "-extfile",
                &format!("{leaf}.ext"),
                "-out",
                &format!("{leaf}.crt"),
            ]);
        }
        Self {
            ca_cert: at("ca.crt"),
            server_cert: at("server.crt"),
            server_key: at("server.key"),
            client_cert: at("client.crt"),
            client_key: at("client.key"),
            other_ca_cert: at("other-ca.crt"),
            _dir: dir,
        }
    }

    /// A file's contents.
    pub fn read(path: &Path) -> Vec<u8> {
        std::fs::read(path).unwrap()
    }

    /// The `redis-server` arguments serving TLS on `tls_port` with these certificates.
    pub fn server_args(&self, tls_port: u16, require_client_cert: bool) -> Vec<String> {
        let path = |p: &Path| p.display().to_string();
        vec![
            "--tls-port".to_owned(),
            tls_port.to_string(),
            "--tls-cert-file".to_owned(),
            path(&self.server_cert),
            "--tls-key-file".to_owned(),
            path(&self.server_key),
            "--tls-ca-cert-file".to_owned(),
            path(&self.ca_cert),
            "--tls-auth-clients".to_owned(),
            if require_client_cert { "yes" } else { "no" }.to_owned(),
        ]
    }
}

/// Fresh certificates and a TLS-only server on them (see [`RedisServer::start_tls`]);
/// `None` after the skip line when `redis-server` or its TLS support is missing.
pub fn tls_server(require_client_cert: bool) -> Option<(TlsFiles, RedisServer)> {
    if !tls_available() {
        return None;
    }
    let files = TlsFiles::generate();
    let server = RedisServer::start_tls(&files, require_client_cert)?;
    Some((files, server))
}

/// A Redis Cluster of private servers on loopback ports, one primary each (no replicas),
/// with the slots spread by `redis-cli --cluster create`.
pub struct RedisCluster {
    pub nodes: Vec<RedisServer>,
    /// Each node's TLS port (for a cluster from [`RedisCluster::start_tls`]).
    pub tls_ports: Vec<u16>,
}

impl RedisCluster {
    /// Starts `primaries` cluster-enabled servers and joins them (one primary takes every
    /// slot itself); `None` (after the skip line) without `redis-server`.
    pub fn start(primaries: usize) -> Option<Self> {
        Self::start_with(primaries, None)
    }

    /// As [`RedisCluster::start`], each node also serving TLS on another port with the
    /// certificates in `files` (the cluster bus runs over TLS too).
    pub fn start_tls(primaries: usize, files: &TlsFiles) -> Option<Self> {
        Self::start_with(primaries, Some(files))
    }

    fn start_with(primaries: usize, tls: Option<&TlsFiles>) -> Option<Self> {
        let mut nodes = Vec::with_capacity(primaries);
        let mut tls_ports = Vec::new();
        for _ in 0..primaries {
            let port = free_port();
            let bus_port = free_port().to_string();
            let mut args: Vec<String> = [
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                "{dir}/nodes.conf",
                "--cluster-port",
                &bus_port,
                // Long enough that a node killed for a few seconds is not failed over
                // (there are no replicas anyway); short enough to notice its return.
                "--cluster-node-timeout",
                "3000",
            ]
            .map(str::to_owned)
            .to_vec();
            if let Some(files) = tls {
                let tls_port = free_port();
                tls_ports.push(tls_port);
                args.extend(files.server_args(tls_port, false));
                args.extend(["--tls-cluster".to_owned(), "yes".to_owned()]);
            }
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let node = RedisServer::start_with(port, &args)?;
            nodes.push(node);
        }
        if let [node] = nodes.as_slice() {
            // `redis-cli --cluster create` wants 3 primaries: one node takes every slot.
            redis::cmd("CLUSTER")
                .arg("ADDSLOTSRANGE")
                .arg(0)
                .arg(16_383)
                .query::<()>(&mut node.raw())
                .unwrap();
            let cluster = Self { nodes, tls_ports };
            cluster.wait_ok();
            return Some(cluster);
        }
        let addresses: Vec<String> = nodes
            .iter()
            .map(|node| format!("127.0.0.1:{}", node.port))
            .collect();
        let output = Command::new("redis-cli")
            .arg("--cluster")
            .arg("create")
            .args(&addresses)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .output()
            .expect("redis-cli runs (it comes with redis-server)");
        assert!(
            output.status.success(),
            "redis-cli --cluster create failed: {}",
            String::from_utf8_lossy(&output.stdout)
        );
        let cluster = Self { nodes, tls_ports };
        cluster.wait_ok();
        Some(cluster)
    }

    /// Waits until every running node says `cluster_state:ok`.
    pub fn wait_ok(&self) {
        let ok = eventually(Duration::from_secs(30), || {
            self.nodes.iter().all(|node| {
                let Ok(client) = redis::Client::open(node.url()) else {
                    return false;
                };
                let Ok(mut connection) =
                    client.get_connection_with_timeout(Duration::from_millis(200))
                else {
                    return false;
                };
                redis::cmd("CLUSTER")
                    .arg("INFO")
                    .query::<String>(&mut connection)
                    .is_ok_and(|info| info.contains("cluster_state:ok"))
            })
        });
        assert!(ok, "the cluster did not reach cluster_state:ok");
    }

    /// `redis+cluster://` naming the first two nodes (the client learns the third).
    pub fn url(&self) -> String {
        let seeds: Vec<String> = self
            .nodes
            .iter()
            .take(2)
            .map(|node| format!("127.0.0.1:{}", node.port))
            .collect();
        format!("redis+cluster://{}", seeds.join(","))
    }

    /// `rediss+cluster://` naming the first two nodes' TLS ports.
    pub fn tls_url(&self) -> String {
        let seeds: Vec<String> = self
            .tls_ports
            .iter()
            .take(2)
            .map(|port| format!("127.0.0.1:{port}"))
            .collect();
        format!("rediss+cluster://{}", seeds.join(","))
    }

    /// How many keys starting with `prefix` each node holds.
    pub fn keys_per_node(&self, prefix: &str) -> Vec<usize> {
        self.nodes
            .iter()
            .map(|node| {
                let keys: Vec<String> = redis::cmd("KEYS")
                    .arg(format!("{prefix}*"))
                    .query(&mut node.raw())
                    .unwrap();
                keys.len()
            })
            .collect()
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
