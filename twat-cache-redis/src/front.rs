//! The optional in-process memory front (`l1`) and the subscriber that keeps it coherent.
//!
//! Why pub/sub rather than RESP3 client-side caching: the synchronous `redis` connection
//! would have to read tracking pushes on the same socket as replies, and broadcast
//! tracking on a key prefix invalidates only keys written through Redis anyway. A channel
//! per cache, `twat_cache:inval:<name>`, costs one `PUBLISH` pipelined with each write
//! (no extra round trip) and works on every Redis and Valkey version.
//!
//! Coherence rules:
//! * every write or delete through this crate publishes the entry's id (xxh3-128 of the
//!   key bytes) with the writer's instance id; a clear publishes an empty id;
//! * a subscriber thread per cache removes the announced entries from its front;
//! * an entry fetched from Redis is put in the front only if no invalidation arrived
//!   while it was being fetched (an epoch checked under the same lock the subscriber
//!   takes), so a message cannot overtake the value it invalidates;
//! * while the subscriber is not connected the front serves nothing and is emptied on
//!   reconnect, since messages may have been missed;
//! * no entry is served longer than `l1_max_age` (default 1 s) after it was fetched: the
//!   bound on staleness when a program writes keys without publishing.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use redis::Client;

use crate::options::RedisOptions;

/// One front entry: the key bytes (to rule out id collisions), the stored envelope and
/// the value's own expiry.
#[derive(Debug)]
pub(crate) struct FrontEntry {
    key: Box<[u8]>,
    envelope: Vec<u8>,
    expires_at: Option<Instant>,
    sweep: u32,
}

impl FrontEntry {
    pub(crate) fn new(
        key: &[u8],
        envelope: Vec<u8>,
        expires_at: Option<Instant>,
        sweep: u32,
    ) -> Self {
        Self {
            key: key.into(),
            envelope,
            expires_at,
            sweep,
        }
    }

    /// The whole stored envelope (header and payload).
    pub(crate) fn envelope(&self) -> &[u8] {
        &self.envelope
    }
}

/// The memory front of one cache.
pub(crate) struct Front {
    entries: quick_cache::sync::Cache<u128, Arc<FrontEntry>>,
    /// Bumped by every invalidation; inserts check it did not move during their fetch.
    epoch: AtomicU64,
    /// Taken by inserts (with the epoch check) and by invalidations.
    gate: Mutex<()>,
    /// Whether the subscriber is connected; the front serves nothing otherwise.
    live: AtomicBool,
    /// Advanced by the subscriber every half `l1_max_age`; entries two sweeps old are stale.
    sweep: AtomicU32,
    /// This cache's id in invalidation messages, to skip its own.
    pub(crate) instance: u64,
}

impl std::fmt::Debug for Front {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Front")
            .field("entries", &self.entries.len())
            .field("live", &self.live.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Front {
    pub(crate) fn new(capacity: u64) -> Self {
        let capacity = usize::try_from(capacity).unwrap_or(usize::MAX);
        Self {
            entries: quick_cache::sync::Cache::new(capacity),
            epoch: AtomicU64::new(0),
            gate: Mutex::new(()),
            live: AtomicBool::new(false),
            sweep: AtomicU32::new(0),
            instance: unique_id(),
        }
    }

    /// The front id of the entry under `key_bytes`.
    pub(crate) fn id(key_bytes: &[u8]) -> u128 {
        xxhash_rust::xxh3::xxh3_128(key_bytes)
    }

    /// The live, fresh entry under `id`, if the front holds one for `key_bytes`.
    #[inline]
    pub(crate) fn get(&self, id: u128, key_bytes: &[u8]) -> Option<Arc<FrontEntry>> {
        if !self.live.load(Ordering::Acquire) {
            return None;
        }
        let entry = self.entries.get(&id)?;
        let fresh = *entry.key == *key_bytes
            && self.sweep.load(Ordering::Relaxed).wrapping_sub(entry.sweep) < 2
            && entry.expires_at.is_none_or(|at| Instant::now() < at);
        fresh.then_some(entry)
    }

    /// The epoch to pass to [`Front::insert_if_unchanged`] after a fetch.
    pub(crate) fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    /// The current sweep number, for [`FrontEntry::new`].
    pub(crate) fn sweep(&self) -> u32 {
        self.sweep.load(Ordering::Relaxed)
    }

    /// Inserts `entry` (fetched from Redis) unless an invalidation arrived since `seen`
    /// was read.
    pub(crate) fn insert_if_unchanged(&self, seen: u64, id: u128, entry: Arc<FrontEntry>) {
        let _gate = self.gate.lock();
        if self.live.load(Ordering::Acquire) && self.epoch.load(Ordering::Acquire) == seen {
            self.entries.insert(id, entry);
        }
    }

    /// After a local write: keeps `entry` (the value just written) if nothing was
    /// invalidated since `seen` was read before the write, else drops the entry. Either
    /// way the epoch moves, so a concurrent fetch of the old value is not inserted.
    pub(crate) fn replace_after_write(&self, seen: u64, id: u128, entry: Option<Arc<FrontEntry>>) {
        let _gate = self.gate.lock();
        let unchanged = self.epoch.fetch_add(1, Ordering::AcqRel) == seen;
        match entry {
            Some(entry) if unchanged && self.live.load(Ordering::Acquire) => {
                self.entries.insert(id, entry);
            }
            _ => {
                self.entries.remove(&id);
            }
        }
    }

    /// Removes the entry `id` (a local write or an invalidation message).
    pub(crate) fn invalidate(&self, id: u128) {
        let _gate = self.gate.lock();
        self.epoch.fetch_add(1, Ordering::AcqRel);
        self.entries.remove(&id);
    }

    /// Removes every entry.
    pub(crate) fn invalidate_all(&self) {
        let _gate = self.gate.lock();
        self.epoch.fetch_add(1, Ordering::AcqRel);
        self.entries.clear();
    }

    /// Whether the subscriber is connected (the front serves only then).
    pub(crate) fn get_live(&self) -> bool {
        self.live.load(Ordering::Acquire)
    }

    fn set_live(&self, live: bool) {
        let _gate = self.gate.lock();
        self.epoch.fetch_add(1, Ordering::AcqRel);
        self.entries.clear();
        self.live.store(live, Ordering::Release);
    }

    /// Entries held.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// The message announcing a write of `id` by this instance.
    pub(crate) fn message(&self, id: u128) -> [u8; 24] {
        let mut message = [0_u8; 24];
        message[..16].copy_from_slice(&id.to_le_bytes());
        message[16..].copy_from_slice(&self.instance.to_le_bytes());
        message
    }

    /// The message announcing a clear by this instance.
    pub(crate) fn clear_message(&self) -> [u8; 8] {
        self.instance.to_le_bytes()
    }

    /// Applies one invalidation message.
    fn apply(&self, message: &[u8]) {
        match message.len() {
            24 => {
                let (id, sender) = message.split_at(16);
                if sender == self.instance.to_le_bytes() {
                    return;
                }
                let mut id_bytes = [0_u8; 16];
                id_bytes.copy_from_slice(id);
                self.invalidate(u128::from_le_bytes(id_bytes));
            }
            8 if message == self.instance.to_le_bytes() => {}
            // A clear, or a message this build does not know: drop everything.
            _ => self.invalidate_all(),
        }
    }
}

/// A 64-bit id unique to this process and call (pid, clock and a counter, hashed).
pub(crate) fn unique_id() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos());
    let mut seed = [0_u8; 36];
    seed[..4].copy_from_slice(&std::process::id().to_le_bytes());
    seed[4..20].copy_from_slice(&nanos.to_le_bytes());
    seed[20..28].copy_from_slice(&COUNTER.fetch_add(1, Ordering::Relaxed).to_le_bytes());
    xxhash_rust::xxh3::xxh3_64(&seed)
}

/// Starts the subscriber thread of `front`; it exits once `stop` is set.
pub(crate) fn spawn_subscriber(
    clients: Vec<Client>,
    channel: String,
    front: Arc<Front>,
    stop: Arc<AtomicBool>,
    options: &RedisOptions,
    cache_name: &str,
) {
    let connect_timeout = options.connect_timeout;
    let max_age = options.l1_max_age;
    let half_age = (max_age / 2).max(Duration::from_millis(1));
    let tick = half_age.min(Duration::from_millis(100));
    let backoff_initial = options.backoff_initial;
    let backoff_max = options.backoff_max;
    let name = cache_name.to_owned();
    let spawned = thread::Builder::new()
        .name("twat-cache-redis-front".to_owned())
        .spawn(move || {
            let mut backoff = backoff_initial;
            let mut last_sweep = Instant::now();
            // On a cluster, any node relays every `PUBLISH`: a node that fails is
            // replaced by the next seed in turn.
            let mut turn = 0_usize;
            while !stop.load(Ordering::Acquire) {
                let Some(client) = clients.get(turn % clients.len().max(1)) else {
                    return;
                };
                turn = turn.wrapping_add(1);
                let connected = client
                    .get_connection_with_timeout(connect_timeout)
                    .and_then(|connection| {
                        connection.set_read_timeout(Some(tick))?;
                        connection.set_write_timeout(Some(connect_timeout))?;
                        Ok(connection)
                    });
                let Ok(mut connection) = connected else {
                    front.set_live(false);
                    thread::sleep(backoff);
                    backoff = (backoff * 2).min(backoff_max);
                    continue;
                };
                let mut pubsub = connection.as_pubsub();
                if pubsub.subscribe(&channel).is_err() {
                    front.set_live(false);
                    thread::sleep(backoff);
                    backoff = (backoff * 2).min(backoff_max);
                    continue;
                }
                backoff = backoff_initial;
                front.set_live(true);
                while !stop.load(Ordering::Acquire) {
                    if last_sweep.elapsed() >= half_age {
                        front.sweep.fetch_add(1, Ordering::Relaxed);
                        last_sweep = Instant::now();
                    }
                    match pubsub.get_message() {
                        Ok(message) => front.apply(message.get_payload_bytes()),
                        Err(err) if err.is_timeout() => {}
                        Err(_) => {
                            front.set_live(false);
                            break;
                        }
                    }
                }
            }
            front.set_live(false);
        });
    if let Err(err) = spawned {
        tracing::warn!(
            cache = %name,
            error = %err,
            "twat-cache: cannot start the Redis front subscriber; the memory front stays off"
        );
    }
}
