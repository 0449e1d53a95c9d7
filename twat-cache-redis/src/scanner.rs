//! [`KeyScanner`]: walking a server's keys page by page, for tools such as the
//! `twat-cache` command, over every deployment the engine reaches (one server, TLS, a
//! cluster) with the engine's URL forms and certificate settings.

use redis::ConnectionLike;
use twat_cache_core::Error;

use crate::endpoint::{Conn, Endpoint};
use crate::options::RedisOptions;

/// A connection that visits the keys matching a pattern with `SCAN` (never `KEYS`, which
/// blocks the server), on one server or on every primary of a cluster.
///
/// It accepts the URLs [`RedisCache`](crate::RedisCache) does (`redis://`, `rediss://`,
/// `redis+cluster://h1:p1,h2:p2`, …) and the same TLS settings
/// ([`RedisOptions`], `TWAT_CACHE_REDIS_CA` and the client-certificate variables).
///
/// ```no_run
/// use twat_cache_redis::{KeyScanner, RedisOptions};
///
/// let mut scanner = KeyScanner::open("redis+cluster://10.0.0.1:7000,10.0.0.2:7000", RedisOptions::new())?;
/// let mut found = 0;
/// scanner.for_each_page("twat_cache:*", 1000, |_connection, keys| {
///     found += keys.len();
///     Ok(())
/// })?;
/// println!("{found} keys");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct KeyScanner {
    connection: Conn,
}

impl std::fmt::Debug for KeyScanner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyScanner")
            .field("cluster", &self.connection.is_cluster())
            .finish_non_exhaustive()
    }
}

impl KeyScanner {
    /// Connects to the server or cluster `url` names (checked with `PING`; on a cluster,
    /// on every primary).
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidRedisUrl`](twat_cache_core::ConfigError::InvalidRedisUrl)
    /// for a malformed URL; certificate errors as for
    /// [`RedisCache::open_with`](crate::RedisCache::open_with); [`Error::Backend`] when
    /// the server cannot be reached or refuses the connection.
    pub fn open(url: &str, mut options: RedisOptions) -> Result<Self, Error> {
        let (endpoint, masked) = Endpoint::open(url, &mut options)?;
        let connection = endpoint.connect(&options).map_err(|err| {
            Error::backend_with(
                twat_cache_core::EngineKind::Redis,
                format!("{masked} cannot be reached: {err}"),
                err,
            )
        })?;
        Ok(Self { connection })
    }

    /// Whether the keys live on a cluster.
    #[must_use]
    pub fn is_cluster(&self) -> bool {
        self.connection.is_cluster()
    }

    /// Calls `visit` with each page of the keys matching `pattern` (about `batch` keys,
    /// never an empty page) and a connection to act on them: pipelines whose first command
    /// names a key of the page, and multi-key commands such as `UNLINK`, reach the node
    /// that holds them, also on a cluster.
    ///
    /// # Errors
    ///
    /// The first error of a `SCAN` or of `visit`.
    pub fn for_each_page(
        &mut self,
        pattern: &str,
        batch: usize,
        visit: impl FnMut(&mut dyn ConnectionLike, Vec<Vec<u8>>) -> redis::RedisResult<()>,
    ) -> redis::RedisResult<()> {
        self.connection.scan_pages(pattern, batch, visit)
    }
}
