//! Stampede protection across processes: one computation per key, however many
//! processes miss it at once.
//!
//! A process that misses takes a lease with `SET <lease key> <token> NX PX <lease ttl>`.
//! The holder computes, stores the value and releases the lease (a compare-and-delete
//! script, so it never releases someone else's lease). The others poll the entry and the
//! lease every `lease_poll`: they take the value as soon as it is there, try for the
//! lease again if it vanished without a value (the holder died or chose not to cache),
//! and compute themselves after `lease_wait` at the latest. A lease whose holder crashed
//! expires on the server after `lease_ttl`. If Redis is down, everyone computes: the
//! function's result never depends on the cache.

use std::sync::Arc;
use std::thread;
use std::time::Instant;

use serde::Serialize;
use serde::de::DeserializeOwned;
use twat_cache_core::envelope::{self, Flags, Header};
use twat_cache_core::{Error, decode_value, encode_value};

use crate::cache::RedisCache;
use crate::front::unique_id;
use crate::link::Link;
use crate::stored::{Checked, open_stored};

/// Deletes the lease only if it still carries our token.
const RELEASE_SCRIPT: &str = "if redis.call('GET', KEYS[1]) == ARGV[1] then \
                              return redis.call('DEL', KEYS[1]) else return 0 end";

/// A per-key lease this process holds on the server: while it lives, other processes
/// that miss the key wait (see [`RedisCache::lease_turn_bytes`]) instead of computing it.
///
/// Dropping it releases the lease with a compare-and-delete script (one round trip, so
/// async callers drop it on a blocking thread), even when the computation panicked; a
/// lease whose holder died expires on the server after
/// its `ttl` ([`RedisOptions::lease`](crate::RedisOptions::lease)).
#[must_use = "the lease is released when dropped: hold it while computing and storing"]
pub struct RedisLease {
    link: Arc<Link>,
    lease_key: String,
    token: String,
}

impl std::fmt::Debug for RedisLease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisLease")
            .field("lease_key", &self.lease_key)
            .finish_non_exhaustive()
    }
}

impl Drop for RedisLease {
    fn drop(&mut self) {
        let _ = self.link.run(|connection| {
            redis::cmd("EVAL")
                .arg(RELEASE_SCRIPT)
                .arg(1)
                .arg(&self.lease_key)
                .arg(&self.token)
                .query::<()>(connection)
        });
    }
}

/// What a caller that missed a key does next, per [`RedisCache::lease_turn_bytes`].
#[derive(Debug)]
pub enum LeaseTurn<T> {
    /// Compute and store the value: other processes wait until this lease is dropped.
    Lead(RedisLease),
    /// Another process stored the value while this caller waited.
    Found(T),
    /// Compute without a lease: the server failed, or the wait ran out.
    Alone,
}

/// What a waiter saw when it looked again.
enum Poll<T> {
    Value(T),
    LeaseHeld,
    LeaseGone,
}

impl RedisCache {
    /// The value under `key`, computed by `compute` at most once across every process
    /// that misses it at the same time (see the [`lease`](crate#stampede-protection)
    /// design). Never fails: when the cache cannot help (Redis down, a key that cannot be
    /// encoded) `compute` simply runs, and the error is counted in [`Stats::errors`](twat_cache_core::Stats::errors).
    ///
    /// ```no_run
    /// use twat_cache_core::CacheConfig;
    /// use twat_cache_redis::RedisCache;
    ///
    /// let cache = RedisCache::open(&CacheConfig::builder().name("reports").build()?)?;
    /// let total: u64 = cache.get_or_compute_with_lease(&("report", 7_u32), || {
    ///     (1..=1_000_u64).sum() // an expensive computation, run once cluster-wide
    /// });
    /// assert_eq!(total, 500_500);
    /// # Ok::<(), twat_cache_core::Error>(())
    /// ```
    pub fn get_or_compute_with_lease<K, V, F>(&self, key: &K, compute: F) -> V
    where
        K: Serialize + ?Sized,
        V: Serialize + DeserializeOwned,
        F: FnOnce() -> V,
    {
        let key_bytes = match self.namespace.key(key) {
            Ok(key_bytes) => key_bytes,
            Err(err) => {
                self.link.stats.error(&self.link.name, &err);
                return compute();
            }
        };
        self.get_or_compute_bytes_with_lease(
            &key_bytes,
            |payload| decode_value::<V>(payload).ok(),
            || {
                let value = compute();
                let payload = match encode_value(&value) {
                    Ok(payload) => Some(payload),
                    Err(err) => {
                        self.link.stats.error(&self.link.name, &err);
                        None
                    }
                };
                (value, payload)
            },
        )
    }

    /// The byte-level form of [`get_or_compute_with_lease`](Self::get_or_compute_with_lease),
    /// for callers that encode their own values (the facade, generated code).
    ///
    /// `key_bytes` are already namespaced key bytes (as for
    /// [`ByteStore`](twat_cache_core::ByteStore)); `decode` turns a stored payload into
    /// the result (`None`: it does not decode, so the entry is dropped and recomputed);
    /// `compute` returns the result and the payload to store (`None`: do not cache this
    /// result, as for an `Err` the caller does not cache).
    pub fn get_or_compute_bytes_with_lease<T>(
        &self,
        key_bytes: &[u8],
        mut decode: impl FnMut(&[u8]) -> Option<T>,
        compute: impl FnOnce() -> (T, Option<Vec<u8>>),
    ) -> T {
        match self.fetch(key_bytes) {
            Ok(Some(payload)) => {
                if let Some(value) = decode(payload.bytes()) {
                    self.link.stats.hit();
                    return value;
                }
                drop(payload);
                self.undecodable(key_bytes);
            }
            Ok(None) => {}
            // Down or failing: a plain call (the error is already counted).
            Err(_) => {
                self.link.stats.miss();
                return compute().0;
            }
        }
        match self.lease_turn_bytes(key_bytes, decode) {
            LeaseTurn::Found(value) => {
                self.link.stats.hit();
                value
            }
            LeaseTurn::Lead(lease) => {
                let value = self.compute_and_store(key_bytes, compute);
                drop(lease);
                value
            }
            LeaseTurn::Alone => self.compute_and_store(key_bytes, compute),
        }
    }

    /// The waiting half of [`get_or_compute_bytes_with_lease`](Self::get_or_compute_bytes_with_lease),
    /// for callers that compute in their own way (the facade's `async fn`s compute on
    /// their executor): after a miss, take `key_bytes`'s lease, or wait (polling every
    /// `lease_poll`, at most `lease_wait`) for the process holding it to store the value.
    ///
    /// Blocks while it waits: async callers run it on a blocking thread. Counts no hit
    /// or miss (the caller's lookup did); a lease or poll that fails is counted in
    /// [`Stats::errors`](twat_cache_core::Stats::errors) and reads as [`LeaseTurn::Alone`].
    /// A [`LeaseTurn::Lead`] caller stores its value (e.g. with
    /// [`ByteStore::set_bytes`](twat_cache_core::ByteStore::set_bytes)) before it drops
    /// the lease, so that waiters find it.
    pub fn lease_turn_bytes<T>(
        &self,
        key_bytes: &[u8],
        mut decode: impl FnMut(&[u8]) -> Option<T>,
    ) -> LeaseTurn<T> {
        let lease_key = self.layout.lease_key(key_bytes);
        let token = format!("{:016x}", unique_id());
        let options = &self.link.options;
        let deadline = Instant::now() + options.lease_wait;
        let mut waited = false;
        loop {
            match self.try_lease(&lease_key, &token) {
                Ok(true) => {
                    let lease = self.held(lease_key, token);
                    // After waiting, another holder may have stored the value between
                    // our last look and this lease: look once more before computing.
                    if waited
                        && let Ok(Poll::Value(value)) =
                            self.poll(key_bytes, &lease.lease_key, &mut decode)
                    {
                        return LeaseTurn::Found(value);
                    }
                    return LeaseTurn::Lead(lease);
                }
                Ok(false) => {}
                Err(_) => return LeaseTurn::Alone,
            }
            loop {
                if Instant::now() >= deadline {
                    return LeaseTurn::Alone;
                }
                thread::sleep(options.lease_poll);
                match self.poll(key_bytes, &lease_key, &mut decode) {
                    Ok(Poll::Value(value)) => return LeaseTurn::Found(value),
                    Ok(Poll::LeaseHeld) => {}
                    Ok(Poll::LeaseGone) => {
                        waited = true;
                        break;
                    }
                    Err(_) => return LeaseTurn::Alone,
                }
            }
        }
    }

    /// Takes `key_bytes`'s lease if no one holds it (one `SET NX PX`, no waiting):
    /// `Ok(None)` when another process holds it. For work that is worth doing only if no
    /// one else is doing it, such as refreshing a stale entry that callers are still
    /// served meanwhile.
    ///
    /// # Errors
    ///
    /// [`Error::Backend`] when the server is down or fails (counted in
    /// [`Stats::errors`](twat_cache_core::Stats::errors)).
    pub fn try_lease_bytes(&self, key_bytes: &[u8]) -> Result<Option<RedisLease>, Error> {
        let lease_key = self.layout.lease_key(key_bytes);
        let token = format!("{:016x}", unique_id());
        Ok(self
            .try_lease(&lease_key, &token)?
            .then(|| self.held(lease_key, token)))
    }

    fn held(&self, lease_key: String, token: String) -> RedisLease {
        RedisLease {
            link: Arc::clone(&self.link),
            lease_key,
            token,
        }
    }

    fn compute_and_store<T>(
        &self,
        key_bytes: &[u8],
        compute: impl FnOnce() -> (T, Option<Vec<u8>>),
    ) -> T {
        self.link.stats.miss();
        let (value, payload) = compute();
        if let Some(payload) = payload
            && self.link.is_up()
        {
            let sealed = envelope::seal(Header::new(Flags::NONE, self.ttl), &payload);
            let _ = self.store(key_bytes, sealed);
        }
        value
    }

    fn try_lease(&self, lease_key: &str, token: &str) -> Result<bool, Error> {
        let ttl_ms = u64::try_from(self.link.options.lease_ttl.as_millis()).unwrap_or(u64::MAX);
        let reply: Option<String> = self.link.run(|connection| {
            redis::cmd("SET")
                .arg(lease_key)
                .arg(token)
                .arg("NX")
                .arg("PX")
                .arg(ttl_ms.max(1))
                .query(connection)
        })?;
        Ok(reply.is_some())
    }

    fn poll<T>(
        &self,
        key_bytes: &[u8],
        lease_key: &str,
        decode: &mut impl FnMut(&[u8]) -> Option<T>,
    ) -> Result<Poll<T>, Error> {
        let entry_key = self.layout.entry_key(key_bytes);
        // The lease first, then the entry: a holder stores its value before releasing
        // its lease, so "no lease" followed by "no value" means no value is coming.
        let (lease_exists, stored): (bool, Option<Vec<u8>>) = self.link.run(|connection| {
            if connection.is_cluster() {
                // The entry and its lease are in different slots (maybe on different
                // nodes): two commands, each routed to its key's node.
                let lease_exists = redis::cmd("EXISTS").arg(lease_key).query(connection)?;
                let stored = redis::cmd("GET").arg(&entry_key).query(connection)?;
                return Ok((lease_exists, stored));
            }
            redis::pipe()
                .cmd("EXISTS")
                .arg(lease_key)
                .cmd("GET")
                .arg(&entry_key)
                .query(connection)
        })?;
        if let Some(stored) = stored {
            let decoded = match open_stored(&entry_key, stored, self.signing.as_ref()) {
                Ok((stored, Checked::Live(_))) => {
                    stored.get(envelope::HEADER_LEN..).and_then(decode)
                }
                Ok((_, Checked::Expired)) | Err(_) => None,
            };
            if let Some(value) = decoded {
                return Ok(Poll::Value(value));
            }
        }
        Ok(if lease_exists {
            Poll::LeaseHeld
        } else {
            Poll::LeaseGone
        })
    }

    fn undecodable(&self, key_bytes: &[u8]) {
        self.discard(key_bytes);
        self.link.stats.error(
            &self.link.name,
            &Error::Decode(twat_cache_core::DecodeError::payload_message(
                "stored value does not decode as the requested type",
            )),
        );
    }
}
