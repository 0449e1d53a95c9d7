//! The connection pool and its health: fail fast while the server is down, reconnect in
//! the background with backoff, warn once per outage and log the recovery.
//!
//! A pooled [`Conn`] is the `redis` crate's synchronous connection to one server or to
//! a cluster; neither is `Sync`, so the pool keeps a few behind mutexes and a caller
//! takes a free one. No async runtime is
//! needed. A pooled connection remembers the generation it was opened in: after a
//! recovery the generation moves on and connections from before the outage are replaced
//! instead of failing once each.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::thread::{self, Thread};
use std::time::Duration;

use parking_lot::Mutex;
use redis::{Client, RedisError, RedisResult};
use twat_cache_core::{EngineKind, Error, StatsCounter};

use crate::endpoint::{Conn, Endpoint};
use crate::options::RedisOptions;
use crate::tls::handshake_refusal;

/// A pooled connection and the generation it was opened in.
struct Pooled {
    generation: u64,
    connection: Conn,
}

/// The shared connection state of one cache.
pub(crate) struct Link {
    endpoint: Endpoint,
    /// The URL with any password masked, for logs.
    pub(crate) masked_url: String,
    pub(crate) name: String,
    pub(crate) options: RedisOptions,
    pub(crate) stats: StatsCounter,
    slots: Box<[Mutex<Option<Pooled>>]>,
    next_slot: AtomicUsize,
    up: AtomicBool,
    generation: AtomicU64,
    reconnector: Mutex<Option<Thread>>,
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Link")
            .field("url", &self.masked_url)
            .field("up", &self.is_up())
            .finish_non_exhaustive()
    }
}

/// The error callers get while the server is marked down.
pub(crate) fn down_error() -> Error {
    Error::backend_message(
        EngineKind::Redis,
        "the Redis server is unreachable; reconnecting in the background",
    )
}

/// A Redis error as a cache error; the message never carries the password (the redis
/// crate does not put credentials in its error texts, and the URL is masked).
pub(crate) fn backend_error(err: RedisError) -> Error {
    Error::backend(EngineKind::Redis, err)
}

/// Whether an error means the connection (or the server) is gone or too slow, as
/// opposed to a command the server refused.
fn is_outage(err: &RedisError) -> bool {
    err.is_io_error()
        || err.is_timeout()
        || err.is_connection_dropped()
        || err.is_connection_refusal()
        || err.is_unrecoverable_error()
}

impl Link {
    /// A link to `endpoint`; probes the server once (bounded by the connect timeout) and
    /// starts the reconnect thread. A server that is down is not an error here.
    ///
    /// # Errors
    ///
    /// [`Error::Backend`] when the server refuses the TLS handshake (an untrusted
    /// certificate, a missing client certificate): retrying cannot fix that.
    pub(crate) fn start(
        endpoint: Endpoint,
        masked_url: String,
        name: String,
        options: RedisOptions,
    ) -> Result<Arc<Self>, Error> {
        let slots = (0..options.connections).map(|_| Mutex::new(None)).collect();
        let link = Arc::new(Self {
            endpoint,
            masked_url,
            name,
            options,
            stats: StatsCounter::new(),
            slots,
            next_slot: AtomicUsize::new(0),
            up: AtomicBool::new(true),
            generation: AtomicU64::new(0),
            reconnector: Mutex::new(None),
        });
        match link.connect() {
            Ok(connection) => {
                if let Some(slot) = link.slots.first() {
                    *slot.lock() = Some(Pooled {
                        generation: 0,
                        connection,
                    });
                }
            }
            Err(err) => {
                if let Some(reason) = handshake_refusal(&err) {
                    return Err(Error::backend_with(
                        EngineKind::Redis,
                        format_args!(
                            "the TLS handshake with {} failed: {reason}; give the server's CA \
                             with TWAT_CACHE_REDIS_CA or RedisOptions::tls_ca_pem (and a client \
                             certificate if the server asks for one)",
                            link.masked_url
                        ),
                        err,
                    ));
                }
                link.mark_down(&err);
            }
        }
        let weak = Arc::downgrade(&link);
        let spawned = thread::Builder::new()
            .name("twat-cache-redis-reconnect".to_owned())
            .spawn(move || reconnect_loop(&weak));
        match spawned {
            Ok(handle) => *link.reconnector.lock() = Some(handle.thread().clone()),
            Err(err) => tracing::warn!(
                cache = %link.name,
                error = %err,
                "twat-cache: cannot start the Redis reconnect thread; a lost server stays lost"
            ),
        }
        Ok(link)
    }

    /// A fresh connection with the command timeouts applied, checked with `PING`.
    pub(crate) fn connect(&self) -> RedisResult<Conn> {
        self.endpoint.connect(&self.options)
    }

    /// The clients the front's subscriber tries in turn.
    pub(crate) fn subscriber_clients(&self) -> Vec<Client> {
        self.endpoint.subscriber_clients()
    }

    /// Whether the server is believed reachable.
    pub(crate) fn is_up(&self) -> bool {
        self.up.load(Ordering::Acquire)
    }

    /// Runs `command` on a pooled connection.
    ///
    /// While the server is down this returns [`down_error`] at once without touching the
    /// network. A connection-level failure marks the server down (one warning per
    /// outage) and wakes the reconnect thread; every error is counted in the stats.
    pub(crate) fn run<T>(
        &self,
        command: impl FnOnce(&mut Conn) -> RedisResult<T>,
    ) -> Result<T, Error> {
        if !self.is_up() {
            self.stats.error_silently();
            return Err(down_error());
        }
        // One span per round trip (level trace: free unless a subscriber enables it).
        let _span = tracing::trace_span!("twat_cache.redis", cache = %self.name).entered();
        let mut slot = self.take_slot();
        let generation = self.generation.load(Ordering::Acquire);
        let pooled = match slot.take() {
            Some(pooled) if pooled.generation == generation => pooled,
            _ => match self.connect() {
                Ok(connection) => Pooled {
                    generation,
                    connection,
                },
                Err(err) => {
                    drop(slot);
                    self.mark_down(&err);
                    self.stats.error_silently();
                    return Err(backend_error(err));
                }
            },
        };
        let mut pooled = pooled;
        match command(&mut pooled.connection) {
            Ok(value) => {
                *slot = Some(pooled);
                Ok(value)
            }
            Err(err) if is_outage(&err) => {
                // The connection may hold a late reply: never reuse it.
                drop(slot);
                self.mark_down(&err);
                self.stats.error_silently();
                Err(backend_error(err))
            }
            Err(err) => {
                *slot = Some(pooled);
                let error = backend_error(err);
                self.stats.error(&self.name, &error);
                Err(error)
            }
        }
    }

    /// A free slot if there is one, else the next slot in turn (waiting for it).
    fn take_slot(&self) -> parking_lot::MutexGuard<'_, Option<Pooled>> {
        // Lowest free slot first: a lone caller keeps reusing one warm connection.
        for slot in &self.slots {
            if let Some(guard) = slot.try_lock() {
                return guard;
            }
        }
        // All busy: queue on the slots in turn.
        let start = self.next_slot.fetch_add(1, Ordering::Relaxed) % self.slots.len().max(1);
        // `start < slots.len()`: `connections` is at least 1, so this index is in range.
        self.slots[start].lock()
    }

    /// Marks the server down; the first caller to do so warns and wakes the reconnector.
    pub(crate) fn mark_down(&self, err: &RedisError) {
        if self.up.swap(false, Ordering::AcqRel) {
            tracing::warn!(
                cache = %self.name,
                url = %self.masked_url,
                error = %err,
                "twat-cache: Redis is unreachable; cache calls fail fast and functions run \
                 uncached while a background thread reconnects"
            );
            if let Some(thread) = self.reconnector.lock().as_ref() {
                thread.unpark();
            }
        }
    }

    /// Marks the server up again after a successful probe, keeping `connection`.
    fn mark_up(&self, connection: Conn) {
        let generation = self.generation.fetch_add(1, Ordering::AcqRel) + 1;
        if let Some(slot) = self.slots.first() {
            *slot.lock() = Some(Pooled {
                generation,
                connection,
            });
        }
        self.up.store(true, Ordering::Release);
        tracing::info!(
            cache = %self.name,
            url = %self.masked_url,
            "twat-cache: Redis is reachable again; caching resumes"
        );
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        if let Some(thread) = self.reconnector.get_mut().take() {
            thread.unpark();
        }
    }
}

/// How long the reconnector sleeps between looks while the server is up.
const IDLE_PARK: Duration = Duration::from_millis(500);

/// The reconnect thread: idle while the server is up; while it is down, probes with
/// exponential backoff. Exits once the cache is dropped.
fn reconnect_loop(weak: &Weak<Link>) {
    let mut backoff: Option<Duration> = None;
    loop {
        let Some(link) = weak.upgrade() else { return };
        if link.is_up() {
            backoff = None;
            drop(link);
            thread::park_timeout(IDLE_PARK);
            continue;
        }
        let wait = match backoff {
            None => link.options.backoff_initial,
            Some(previous) => (previous * 2).min(link.options.backoff_max),
        };
        backoff = Some(wait);
        drop(link);
        thread::park_timeout(wait);
        let Some(link) = weak.upgrade() else { return };
        if link.is_up() {
            continue;
        }
        if let Ok(connection) = link.connect() {
            link.mark_up(connection);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use super::*;

    #[test]
    fn redis_errors_stay_the_source() {
        let Err(refused) = redis::Client::open("not-a-redis-url") else {
            panic!("redis accepted a URL without a scheme");
        };
        let message = refused.to_string();
        let err = backend_error(refused);
        assert_eq!(err.to_string(), format!("redis engine: {message}"));
        assert!(
            err.source()
                .is_some_and(<dyn std::error::Error>::is::<RedisError>)
        );
        assert!(down_error().source().is_none());
    }
}
