//! [`RedisCache`]: typed and byte-level access to one cache's keys on a Redis server.

use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde::de::DeserializeOwned;
use twat_cache_core::envelope::{self, Flags, HEADER_LEN, Header};
use twat_cache_core::{
    ByteStore, CacheConfig, EngineKind, Error, ManagedCache, Namespace, Stats, decode_value,
};

use crate::endpoint::Endpoint;
use crate::front::{self, Front, FrontEntry};
use crate::keys::KeyLayout;
use crate::link::Link;
use crate::options::RedisOptions;
use crate::signing::SigningKey;
use crate::stored::{Checked, open_stored};

/// The URL used when neither the config nor `TWAT_CACHE_REDIS_URL` names a server.
pub const DEFAULT_REDIS_URL: &str = "redis://127.0.0.1:6379";

/// The environment variable that names the server when the config does not.
pub const REDIS_URL_ENV: &str = "TWAT_CACHE_REDIS_URL";

/// The environment variable holding the secret values are signed with, when
/// [`RedisOptions::secret`] is not given.
pub const REDIS_SECRET_ENV: &str = "TWAT_CACHE_REDIS_SECRET";

/// How many keys one `SCAN` step asks for while clearing.
const SCAN_BATCH: usize = 500;

/// A cache whose entries live on a Redis (or Valkey) server, shared by every process and
/// machine that opens a cache of the same name and version there.
///
/// Cheap to share across threads (`Send + Sync`); it keeps a few connections and, with
/// an `l1` front, a subscriber thread. Dropping it stops its threads.
pub struct RedisCache {
    pub(crate) link: Arc<Link>,
    pub(crate) layout: KeyLayout,
    pub(crate) namespace: Namespace,
    pub(crate) ttl: Option<Duration>,
    pub(crate) front: Option<Arc<Front>>,
    pub(crate) signing: Option<SigningKey>,
    stop: Arc<AtomicBool>,
}

impl std::fmt::Debug for RedisCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisCache")
            .field("name", &self.link.name)
            .field("url", &self.link.masked_url)
            .field("prefix", &self.layout.prefix())
            .field("ttl", &self.ttl)
            .field("up", &self.link.is_up())
            .field("front", &self.front)
            .field("signed", &self.signing.is_some())
            .finish_non_exhaustive()
    }
}

impl Drop for RedisCache {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
    }
}

/// A stored payload: borrowed from the front, or just fetched.
pub(crate) enum Payload {
    Front(Arc<FrontEntry>),
    Fetched(Vec<u8>),
}

impl Payload {
    /// The encoded value (the envelope without its header).
    pub(crate) fn bytes(&self) -> &[u8] {
        let envelope = match self {
            Self::Front(entry) => entry.envelope(),
            Self::Fetched(envelope) => envelope,
        };
        envelope.get(HEADER_LEN..).unwrap_or_default()
    }
}

fn resolve_url(config: &CacheConfig) -> String {
    if let Some(url) = config.redis_url() {
        return url.to_owned();
    }
    match std::env::var(REDIS_URL_ENV) {
        Ok(url) if !url.trim().is_empty() => url.trim().to_owned(),
        _ => DEFAULT_REDIS_URL.to_owned(),
    }
}

fn ttl_millis(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}

impl RedisCache {
    /// Opens the cache described by `config` with the default [`RedisOptions`] (and the
    /// timeouts of `TWAT_CACHE_REDIS_TIMEOUT`, see [`RedisOptions::from_env`]).
    ///
    /// The server is `config.redis_url()`, else `$TWAT_CACHE_REDIS_URL`, else
    /// `redis://127.0.0.1:6379`; the name is `config.name()` (default `"redis"`).
    /// A server that is down is not an error: the cache opens "down", its calls return
    /// errors at once, and a background thread reconnects.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] with [`ConfigError::InvalidRedisUrl`](twat_cache_core::ConfigError::InvalidRedisUrl) when the URL is malformed
    /// (or is a `rediss://` URL in a build without the `tls` feature), or with
    /// [`ConfigError::InvalidDuration`](twat_cache_core::ConfigError::InvalidDuration)
    /// when `TWAT_CACHE_REDIS_TIMEOUT` is not a duration; [`Error::Io`] when
    /// a certificate file named by `TWAT_CACHE_REDIS_CA` (or the client certificate
    /// variables) cannot be read; [`Error::Backend`] when the certificates do not parse
    /// or the server refuses the TLS handshake (an untrusted certificate).
    pub fn open(config: &CacheConfig) -> Result<Self, Error> {
        Self::open_with(config, RedisOptions::from_env()?)
    }

    /// Opens the cache described by `config` with explicit [`RedisOptions`].
    ///
    /// # Errors
    ///
    /// As for [`RedisCache::open`].
    pub fn open_with(config: &CacheConfig, mut options: RedisOptions) -> Result<Self, Error> {
        let url = resolve_url(config);
        let signing = options.signing.take().or_else(|| {
            std::env::var_os(REDIS_SECRET_ENV)
                .filter(|secret| !secret.is_empty())
                .map(|secret| SigningKey::from_secret(secret.as_encoded_bytes()))
        });
        let (endpoint, masked_url) = Endpoint::open(&url, &mut options)?;
        let name = config.name().unwrap_or("redis").to_owned();
        let layout = KeyLayout::new(&name, config.version(), config.secure());
        let namespace = config.namespace("redis");
        let stop = Arc::new(AtomicBool::new(false));
        let front = (options.l1_entries > 0).then(|| Arc::new(Front::new(options.l1_entries)));
        let link = Link::start(endpoint, masked_url, name, options)?;
        if let Some(front) = &front {
            front::spawn_subscriber(
                link.subscriber_clients(),
                layout.channel().to_owned(),
                Arc::clone(front),
                Arc::clone(&stop),
                &link.options,
                &link.name,
            );
        }
        Ok(Self {
            link,
            layout,
            namespace,
            ttl: config.ttl(),
            front,
            signing,
            stop,
        })
    }

    /// The cache's name (the second part of its Redis keys).
    #[must_use]
    pub fn name(&self) -> &str {
        &self.link.name
    }

    /// The prefix of every Redis key of this cache: `twat_cache:<name>:<version>:`.
    #[must_use]
    pub fn key_prefix(&self) -> &str {
        self.layout.prefix()
    }

    /// The Redis key the entry under `key` is stored at.
    ///
    /// # Errors
    ///
    /// [`Error::Encode`] when the key cannot be serialized.
    pub fn redis_key<K: Serialize + ?Sized>(&self, key: &K) -> Result<String, Error> {
        Ok(self.layout.entry_key(&self.namespace.key(key)?))
    }

    /// The Redis key of the entry under already-namespaced `key_bytes` (as passed to
    /// [`ByteStore`] methods).
    #[must_use]
    pub fn redis_key_of_bytes(&self, key_bytes: &[u8]) -> String {
        self.layout.entry_key(key_bytes)
    }

    /// Whether the server is believed reachable (`false` between a failure and the
    /// background reconnect).
    #[must_use]
    pub fn is_up(&self) -> bool {
        self.link.is_up()
    }

    /// Whether the memory front is connected to its invalidation channel and serving.
    #[must_use]
    pub fn is_front_live(&self) -> bool {
        self.front.as_ref().is_some_and(|front| front.get_live())
    }

    /// The value stored under `key`, if there is a live one of type `V`.
    ///
    /// A stored value that does not decode as `V` (another type, another program's bytes,
    /// garbage) is removed, counted in [`Stats::errors`] and reported as a miss.
    ///
    /// # Errors
    ///
    /// [`Error::Encode`] when the key cannot be serialized; [`Error::Backend`] when the
    /// server is down, slow (past the command timeout) or refuses the command.
    pub fn get<K: Serialize + ?Sized, V: DeserializeOwned>(
        &self,
        key: &K,
    ) -> Result<Option<V>, Error> {
        self.with_key_bytes(key, |key_bytes| {
            let Some(payload) = self.fetch(key_bytes)? else {
                self.link.stats.miss();
                return Ok(None);
            };
            match decode_value::<V>(payload.bytes()) {
                Ok(value) => {
                    self.link.stats.hit();
                    Ok(Some(value))
                }
                Err(err) => {
                    drop(payload);
                    self.discard(key_bytes);
                    self.link.stats.miss();
                    self.link.stats.error(&self.link.name, &Error::Decode(err));
                    Ok(None)
                }
            }
        })?
    }

    /// Runs `with` on the namespaced key bytes of `key`, encoded into a reused
    /// thread-local buffer (no allocation on the hit path).
    fn with_key_bytes<K: Serialize + ?Sized, R>(
        &self,
        key: &K,
        with: impl FnOnce(&[u8]) -> R,
    ) -> Result<R, Error> {
        thread_local! {
            static KEY_BUFFER: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
        }
        // Taken out while `with` runs, so a nested call simply starts a fresh buffer.
        let mut buffer = KEY_BUFFER.take();
        buffer.clear();
        buffer.extend_from_slice(self.namespace.prefix());
        let buffer = postcard::to_extend(key, buffer).map_err(Error::unencodable_key)?;
        let result = with(&buffer);
        KEY_BUFFER.set(buffer);
        Ok(result)
    }

    /// Stores `value` under `key` with the cache's TTL (the server expires it).
    ///
    /// # Errors
    ///
    /// [`Error::Encode`] when the key or value cannot be serialized; [`Error::Backend`]
    /// as for [`RedisCache::get`].
    pub fn set<K: Serialize + ?Sized, V: Serialize + ?Sized>(
        &self,
        key: &K,
        value: &V,
    ) -> Result<(), Error> {
        let key_bytes = self.namespace.key(key)?;
        let sealed = envelope::seal_value(Header::new(Flags::NONE, self.ttl), value)?;
        self.store(&key_bytes, sealed)
    }

    /// Removes the entry under `key`; `true` if there was one.
    ///
    /// # Errors
    ///
    /// [`Error::Encode`] when the key cannot be serialized; [`Error::Backend`] as for
    /// [`RedisCache::get`].
    pub fn remove<K: Serialize + ?Sized>(&self, key: &K) -> Result<bool, Error> {
        self.remove_bytes(&self.namespace.key(key)?)
    }

    /// Removes the entry under `key`; `true` if there was one.
    ///
    /// # Errors
    ///
    /// As for [`remove`](Self::remove).
    #[deprecated(note = "use remove")]
    pub fn delete<K: Serialize + ?Sized>(&self, key: &K) -> Result<bool, Error> {
        self.remove(key)
    }

    /// Removes every key of this cache (name and version) with `SCAN` + `UNLINK` in
    /// batches — never `KEYS` or `FLUSHDB` — empties the fronts of every process, and
    /// resets the statistics.
    ///
    /// # Errors
    ///
    /// [`Error::Backend`] when the server is down or fails mid-way (keys already unlinked
    /// stay unlinked).
    pub fn clear(&self) -> Result<(), Error> {
        self.link
            .run(|connection| connection.unlink_matching(self.layout.pattern(), SCAN_BATCH))?;
        if let Some(front) = &self.front {
            front.invalidate_all();
            let message = front.clear_message();
            self.link.run(|connection| {
                redis::cmd("PUBLISH")
                    .arg(self.layout.channel())
                    .arg(&message[..])
                    .query::<()>(connection)
            })?;
        }
        self.link.stats.reset();
        Ok(())
    }

    /// A snapshot of the statistics. `size` is the number of entries in the memory front
    /// (0 without one): counting this cache's keys on the server would need a full scan.
    #[must_use]
    pub fn stats(&self) -> Stats {
        let size = self.front.as_ref().map_or(0, |front| front.len());
        self.link.stats.snapshot(size as u64, None)
    }

    /// The payload under `key_bytes` (front first, then Redis), without counting a hit
    /// or a miss. Undecodable envelopes are removed and counted as errors.
    pub(crate) fn fetch(&self, key_bytes: &[u8]) -> Result<Option<Payload>, Error> {
        let mut seen = None;
        if let Some(front) = &self.front {
            let id = Front::id(key_bytes);
            if let Some(entry) = front.get(id, key_bytes) {
                return Ok(Some(Payload::Front(entry)));
            }
            seen = Some((id, front.epoch()));
        }
        let redis_key = self.layout.entry_key(key_bytes);
        let stored: Option<Vec<u8>> = self
            .link
            .run(|connection| connection.get(redis_key.as_bytes()))?;
        let Some(stored) = stored else {
            return Ok(None);
        };
        match open_stored(&redis_key, stored, self.signing.as_ref()) {
            Ok((stored, Checked::Live(expires_at))) => match (&self.front, seen) {
                (Some(front), Some((id, epoch))) => {
                    let entry = Arc::new(FrontEntry::new(
                        key_bytes,
                        stored,
                        expires_at.map(instant_of),
                        front.sweep(),
                    ));
                    front.insert_if_unchanged(epoch, id, Arc::clone(&entry));
                    Ok(Some(Payload::Front(entry)))
                }
                _ => Ok(Some(Payload::Fetched(stored))),
            },
            Ok((_, Checked::Expired)) => Ok(None),
            Err(err) => {
                self.discard_key(&redis_key, key_bytes);
                self.link.stats.error(&self.link.name, &Error::Decode(err));
                Ok(None)
            }
        }
    }

    /// Writes a sealed envelope under `key_bytes` (`SET .. PX ttl`), announcing it to the
    /// other fronts in the same round trip.
    pub(crate) fn store(&self, key_bytes: &[u8], sealed: Vec<u8>) -> Result<(), Error> {
        let redis_key = self.layout.entry_key(key_bytes);
        let mut pipe = redis::pipe();
        let set = match &self.signing {
            Some(signing) => pipe
                .cmd("SET")
                .arg(&redis_key)
                .arg(signing.sign(&redis_key, &sealed)),
            None => pipe.cmd("SET").arg(&redis_key).arg(&sealed),
        };
        if let Some(ttl) = self.ttl {
            set.arg("PX").arg(ttl_millis(ttl));
        }
        set.ignore();
        let seen = self.front.as_ref().map(|front| {
            let id = Front::id(key_bytes);
            pipe.cmd("PUBLISH")
                .arg(self.layout.channel())
                .arg(&front.message(id)[..])
                .ignore();
            (id, front.epoch())
        });
        let written = self.link.run(|connection| pipe.query::<()>(connection));
        if let (Some(front), Some((id, epoch))) = (&self.front, seen) {
            let entry = written.is_ok().then(|| {
                let expires_at = self.ttl.map(|ttl| Instant::now() + ttl);
                Arc::new(FrontEntry::new(
                    key_bytes,
                    sealed,
                    expires_at,
                    front.sweep(),
                ))
            });
            front.replace_after_write(epoch, id, entry);
        }
        written?;
        self.link.stats.insert();
        Ok(())
    }

    /// Deletes the entry under `key_bytes`, announcing it to the other fronts.
    pub(crate) fn remove_bytes(&self, key_bytes: &[u8]) -> Result<bool, Error> {
        let redis_key = self.layout.entry_key(key_bytes);
        let mut pipe = redis::pipe();
        pipe.cmd("DEL").arg(&redis_key);
        if let Some(front) = &self.front {
            let id = Front::id(key_bytes);
            front.invalidate(id);
            pipe.cmd("PUBLISH")
                .arg(self.layout.channel())
                .arg(&front.message(id)[..])
                .ignore();
        }
        let (removed,): (u64,) = self.link.run(|connection| pipe.query(connection))?;
        Ok(removed > 0)
    }

    /// Drops an entry that did not decode (best effort: a failure is already counted).
    pub(crate) fn discard(&self, key_bytes: &[u8]) {
        let _ = self.remove_bytes(key_bytes);
    }

    fn discard_key(&self, redis_key: &str, key_bytes: &[u8]) {
        if let Some(front) = &self.front {
            front.invalidate(Front::id(key_bytes));
        }
        let _ = self
            .link
            .run(|connection| redis::cmd("UNLINK").arg(redis_key).query::<()>(connection));
    }
}

/// A Unix-milliseconds expiry as an `Instant` on this machine's monotonic clock.
fn instant_of(expires_at_ms: u64) -> Instant {
    let remaining = expires_at_ms.saturating_sub(envelope::unix_millis_now());
    Instant::now() + Duration::from_millis(remaining)
}

impl ByteStore for RedisCache {
    fn kind(&self) -> EngineKind {
        EngineKind::Redis
    }

    fn get_bytes(&self, key: &[u8]) -> Result<Option<Vec<u8>>, Error> {
        match self.fetch(key)? {
            Some(payload) => {
                self.link.stats.hit();
                Ok(Some(payload.bytes().to_vec()))
            }
            None => {
                self.link.stats.miss();
                Ok(None)
            }
        }
    }

    fn set_bytes(&self, key: &[u8], payload: &[u8]) -> Result<(), Error> {
        self.store(
            key,
            envelope::seal(Header::new(Flags::NONE, self.ttl), payload),
        )
    }

    fn delete_bytes(&self, key: &[u8]) -> Result<bool, Error> {
        self.remove_bytes(key)
    }

    fn clear(&self) -> Result<(), Error> {
        Self::clear(self)
    }

    fn stats(&self) -> Stats {
        Self::stats(self)
    }

    fn record_error(&self, error: &Error) {
        self.link.stats.error(&self.link.name, error);
    }
}

impl ManagedCache for RedisCache {
    fn name(&self) -> &str {
        Self::name(self)
    }

    fn stats(&self) -> Stats {
        Self::stats(self)
    }

    fn clear(&self) -> Result<(), Error> {
        Self::clear(self)
    }
}
