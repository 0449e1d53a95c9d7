//! [`RedisOptions`]: timeouts, reconnect backoff, lease and memory-front settings.

use std::time::Duration;

use crate::signing::SigningKey;

/// Tuning knobs of a [`RedisCache`](crate::RedisCache) beyond what
/// [`CacheConfig`](twat_cache_core::CacheConfig) says.
///
/// Every setter takes `self` and returns `Self`:
///
/// ```
/// use std::time::Duration;
/// use twat_cache_redis::RedisOptions;
///
/// let options = RedisOptions::default()
///     .command_timeout(Duration::from_millis(20))
///     .l1_entries(1_000);
/// assert_eq!(options.l1_entries_value(), 1_000);
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
        }
    }
}

/// The smallest timeout the socket layer accepts (a zero timeout means "none" there).
const MIN_TIMEOUT: Duration = Duration::from_millis(1);

impl RedisOptions {
    /// The defaults (see [`Default`]).
    pub fn new() -> Self {
        Self::default()
    }

    /// How long opening a connection may take (default 50 ms; at least 1 ms).
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

    /// The configured number of front entries.
    #[must_use]
    pub const fn l1_entries_value(&self) -> u64 {
        self.l1_entries
    }
}
