//! [`RedisOptions`]: timeouts, reconnect backoff, lease and memory-front settings, TLS
//! certificates and cluster nodes.

use std::time::Duration;

use crate::signing::SigningKey;

/// Tuning knobs of a [`RedisCache`](crate::RedisCache) beyond what
/// [`CacheConfig`](twat_cache_core::CacheConfig) says.
///
/// Like every engine's options type it is a builder: `new()` (the defaults), chainable
/// setters named after the setting, passed by value to `open_with(&config, options)`
/// (every constructor borrows the [`CacheConfig`](twat_cache_core::CacheConfig)); the
/// engine reads the settings.
///
/// ```
/// use std::time::Duration;
/// use twat_cache_redis::RedisOptions;
///
/// let options = RedisOptions::new()
///     .command_timeout(Duration::from_millis(20))
///     .l1_entries(1_000);
/// assert_ne!(options, RedisOptions::default());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct RedisOptions {
    pub(crate) connect_timeout: Duration,
    pub(crate) command_timeout: Duration,
    pub(crate) connections: usize,
    pub(crate) backoff_initial: Duration,
    pub(crate) backoff_max: Duration,
    pub(crate) l1_entries: u64,
    pub(crate) l1_max_age: Duration,
    pub(crate) lease_ttl: Duration,
    pub(crate) lease_wait: Duration,
    pub(crate) lease_poll: Duration,
    pub(crate) signing: Option<SigningKey>,
    pub(crate) tls_ca_pem: Option<CaPem>,
    pub(crate) tls_client: Option<ClientIdentity>,
    pub(crate) cluster_nodes: ClusterNodes,
}

/// The nodes given to [`RedisOptions::cluster`]. `Debug` masks their passwords.
#[derive(Clone, Default, PartialEq, Eq)]
pub(crate) struct ClusterNodes(pub(crate) Vec<String>);

impl std::fmt::Debug for ClusterNodes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|node| crate::masking::mask_url(node)))
            .finish()
    }
}

/// CA certificates (PEM). `Debug` shows their size, not thousands of byte values.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct CaPem(pub(crate) Vec<u8>);

impl std::fmt::Debug for CaPem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CaPem({} bytes)", self.0.len())
    }
}

/// A client certificate (chain) and its private key, both PEM. `Debug` never shows the
/// key.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct ClientIdentity {
    pub(crate) cert_pem: Vec<u8>,
    pub(crate) key_pem: Vec<u8>,
}

impl std::fmt::Debug for ClientIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientIdentity")
            .field("cert_pem", &format_args!("{} bytes", self.cert_pem.len()))
            .field("key_pem", &"***")
            .finish()
    }
}

impl Default for RedisOptions {
    /// 50 ms connect and command timeouts, 4 pooled connections, reconnect backoff from
    /// 100 ms doubling to 5 s, no memory front, leases of 10 s with waiters polling every
    /// 10 ms for at most 5 s.
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_millis(50),
            command_timeout: Duration::from_millis(50),
            connections: 4,
            backoff_initial: Duration::from_millis(100),
            backoff_max: Duration::from_secs(5),
            l1_entries: 0,
            l1_max_age: Duration::from_secs(1),
            lease_ttl: Duration::from_secs(10),
            lease_wait: Duration::from_secs(5),
            lease_poll: Duration::from_millis(10),
            signing: None,
            tls_ca_pem: None,
            tls_client: None,
            cluster_nodes: ClusterNodes::default(),
        }
    }
}

/// The environment variable that sets both the connect and the command timeout of caches
/// opened without explicit options ([`RedisCache::open`](crate::RedisCache::open), which
/// the attributes and `CacheContext` use): `"200ms"`, `"2s"`, or seconds.
pub const REDIS_TIMEOUT_ENV: &str = "TWAT_CACHE_REDIS_TIMEOUT";

/// The smallest timeout the socket layer accepts (a zero timeout means "none" there).
const MIN_TIMEOUT: Duration = Duration::from_millis(1);

impl RedisOptions {
    /// The defaults (see [`Default`]).
    pub fn new() -> Self {
        Self::default()
    }

    /// The defaults, with the timeouts [`REDIS_TIMEOUT_ENV`] sets (when it is set and not
    /// empty): what [`RedisCache::open`](crate::RedisCache::open) uses. A server far
    /// away, or a machine under heavy load, needs more than the default 50 ms; the
    /// attributes take no options, so the environment says it.
    ///
    /// ```
    /// use twat_cache_redis::RedisOptions;
    ///
    /// // `TWAT_CACHE_REDIS_TIMEOUT=2s`: both timeouts 2 s; unset: the defaults. Settings
    /// // chained after it win.
    /// let options = RedisOptions::from_env()?.l1_entries(1_000);
    /// # drop(options);
    /// # Ok::<(), twat_cache_core::ConfigError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidDuration`](twat_cache_core::ConfigError::InvalidDuration)
    /// naming the variable when its value is not a positive duration.
    pub fn from_env() -> Result<Self, twat_cache_core::ConfigError> {
        let options = Self::default();
        match std::env::var(REDIS_TIMEOUT_ENV) {
            Ok(text) if !text.trim().is_empty() => {
                let timeout = twat_cache_core::parse_duration_str(REDIS_TIMEOUT_ENV, &text)?;
                Ok(options.connect_timeout(timeout).command_timeout(timeout))
            }
            _ => Ok(options),
        }
    }

    /// How long opening a connection may take (default 50 ms; at least 1 ms). For a TLS
    /// server (`rediss://`) at least 250 ms: opening also reads the platform's root
    /// certificates and runs the handshake.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout.max(MIN_TIMEOUT);
        self
    }

    /// How long one command (or pipeline) may take to be written and answered (default
    /// 50 ms; at least 1 ms). A command that times out marks the server down.
    pub fn command_timeout(mut self, timeout: Duration) -> Self {
        self.command_timeout = timeout.max(MIN_TIMEOUT);
        self
    }

    /// How many connections the cache keeps open for concurrent callers (default 4, at
    /// least 1).
    pub fn connections(mut self, connections: usize) -> Self {
        self.connections = connections.max(1);
        self
    }

    /// The reconnect backoff: the first retry waits `initial`, each failure doubles the
    /// wait up to `max` (defaults 100 ms and 5 s).
    pub fn backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.backoff_initial = initial.max(MIN_TIMEOUT);
        self.backoff_max = max.max(self.backoff_initial);
        self
    }

    /// Entries of the in-process memory front (default 0: no front). See the crate docs
    /// for how the front stays coherent across processes.
    pub fn l1_entries(mut self, entries: u64) -> Self {
        self.l1_entries = entries;
        self
    }

    /// The longest a front entry is served without asking Redis (default 1 s): the
    /// worst-case staleness when an invalidation message is lost or a program writes the
    /// key without publishing.
    pub fn l1_max_age(mut self, max_age: Duration) -> Self {
        self.l1_max_age = max_age.max(MIN_TIMEOUT);
        self
    }

    /// Leases for [`get_or_compute_with_lease`](crate::RedisCache::get_or_compute_with_lease):
    /// how long a lease lives if its holder dies (`ttl`, default 10 s), how long a waiter
    /// waits for the holder's value before computing itself (`wait`, default 5 s), and how
    /// often it looks (`poll`, default 10 ms).
    pub fn lease(mut self, ttl: Duration, wait: Duration, poll: Duration) -> Self {
        self.lease_ttl = ttl.max(MIN_TIMEOUT);
        self.lease_wait = wait;
        self.lease_poll = poll.max(MIN_TIMEOUT);
        self
    }

    /// Signs every stored value with a key derived from `secret` and refuses values
    /// whose signature does not match (see the crate docs, "Security"). Every process
    /// sharing the cache must use the same secret. Without this setter, the
    /// `TWAT_CACHE_REDIS_SECRET` environment variable is used when set.
    pub fn secret(mut self, secret: impl AsRef<[u8]>) -> Self {
        self.signing = Some(SigningKey::from_secret(secret.as_ref()));
        self
    }

    /// Trusts only the CA certificates in `pem` (one or more PEM blocks) for `rediss://`
    /// servers, instead of the platform's root certificates. Without this setter, the
    /// file named by `TWAT_CACHE_REDIS_CA` is used when set. Ignored for plain
    /// `redis://` URLs.
    pub fn tls_ca_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.tls_ca_pem = Some(CaPem(pem.into()));
        self
    }

    /// Presents this client certificate (PEM, leaf first) with its private key (PEM) to
    /// `rediss://` servers that require mutual TLS (`tls-auth-clients yes`). Without this
    /// setter, the files named by `TWAT_CACHE_REDIS_CLIENT_CERT` and
    /// `TWAT_CACHE_REDIS_CLIENT_KEY` are used when both are set. The key is never
    /// printed.
    pub fn tls_client_identity(
        mut self,
        cert_pem: impl Into<Vec<u8>>,
        key_pem: impl Into<Vec<u8>>,
    ) -> Self {
        self.tls_client = Some(ClientIdentity {
            cert_pem: cert_pem.into(),
            key_pem: key_pem.into(),
        });
        self
    }

    /// Uses the Redis Cluster these nodes belong to (any subset of its nodes: the client
    /// learns the others), instead of the config's URL. Each node is a URL
    /// (`redis://host:port`, `rediss://user:password@host:port`) or a bare `host:port`.
    /// The same as the URL `redis+cluster://h1:p1,h2:p2`.
    ///
    /// ```
    /// use twat_cache_redis::RedisOptions;
    ///
    /// let options = RedisOptions::new().cluster(["10.0.0.1:7000", "10.0.0.2:7000"]);
    /// // Debug masks any password in the nodes.
    /// assert!(format!("{options:?}").contains("10.0.0.2:7000"));
    /// ```
    pub fn cluster<I, S>(mut self, nodes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.cluster_nodes = ClusterNodes(nodes.into_iter().map(Into::into).collect());
        self
    }
}
