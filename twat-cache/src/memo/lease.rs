//! Each miss computed once across the processes that share a cache folder: before running
//! the body, a caller takes the key's lease ([`LeaseDir`]); callers that find it held wait
//! for the holder's entry instead of computing it again.
//!
//! The wait is bounded by [`LEASE_WAIT`]: a holder that is still computing after that
//! long (a stuck body) no longer holds anyone back, who then computes on their own. A
//! holder that dies releases its lease at once (the OS closes its files), so the next
//! poll of a waiter takes the lease over. Any failure of the lease itself (read-only
//! folder, full disk) is counted and the caller computes without one: a lease only
//! avoids duplicate work, it never decides a result.

use std::time::{Duration, Instant};

use twat_cache_core::Error;
use twat_cache_core::lease::{HeldLease, LeaseDir};

use super::flight::{Flights, LeadGuard, Role};
use crate::store::RedisLease;

/// How long a caller waits for another process's computation of the same key before it
/// computes the value itself (a stuck holder never holds the others back for longer).
pub(crate) const LEASE_WAIT: Duration = Duration::from_secs(30);

/// The longest pause between two polls of a waiting caller.
const MAX_POLL: Duration = Duration::from_millis(25);

/// What a caller that missed in this process does next.
pub(super) enum Turn<V, L = HeldLease> {
    /// Compute; other processes wait for this caller until the lease drops.
    Lead(L),
    /// Another process stored the value meanwhile.
    Found(V),
    /// Compute without a lease (it failed, or the wait ran out).
    Alone,
}

/// Takes `key`'s lease, waiting (at most `wait`) while another holds it; then looks the
/// key up once, since the holder stores its value before it releases the lease.
///
/// Waiting polls the lease, not the store: a waiter reads the entry once, so `Stats`
/// counts one miss per waiter, not one per poll.
pub(super) fn lead_or_wait<V>(
    leases: &LeaseDir,
    key: &[u8],
    wait: Duration,
    lookup: impl Fn() -> Option<V>,
    record: impl Fn(&Error),
) -> Turn<V> {
    let deadline = Instant::now() + wait;
    let mut pause = Duration::from_millis(1);
    loop {
        match leases.try_acquire(key) {
            // The previous holder may have stored the value just before releasing.
            Ok(Some(held)) => return lookup().map_or(Turn::Lead(held), Turn::Found),
            Ok(None) => {}
            Err(err) => {
                record(&err);
                return Turn::Alone;
            }
        }
        let now = Instant::now();
        if now >= deadline {
            return Turn::Alone;
        }
        std::thread::sleep(pause.min(deadline - now));
        pause = (pause * 2).min(MAX_POLL);
    }
}

/// A lease held while its holder computes: a lock file in a shared folder, or a key on
/// the Redis server (released by a round trip, so async callers drop it off the
/// executor).
pub(super) enum Held {
    /// `<folder>/leases/<digest>`, released when the file closes.
    Folder(#[allow(dead_code, reason = "held for its drop")] HeldLease),
    /// The Redis engine's `SET NX PX` lease.
    Redis(#[allow(dead_code, reason = "held for its drop")] RedisLease),
}

/// Whether a caller may refresh a stale entry, as far as other processes go.
pub(super) enum RefreshLease {
    /// No other process shares the store (or its lease failed, counted): refresh.
    Alone,
    /// Refresh under this lease; release it after the new value is stored.
    Held(Held),
    /// Another process holds the key's lease (it refreshes, or computes): serve the old
    /// value instead.
    Elsewhere,
}

/// The right to compute a missing key: this caller leads the key's flight in this process
/// and, where processes share the store, holds its lease. Dropping it (after the value
/// is stored) releases the lease first, then wakes this process's waiters.
pub(crate) struct Claim<'a> {
    _lease: Option<HeldLease>,
    _lead: Option<LeadGuard<'a>>,
}

/// After a miss: `Ok` with the claim to compute under, or `Err` with the value another
/// caller (thread or process) stored meanwhile.
///
/// `lease_key` is the key as the store knows it (namespaced); `lookup` reads it.
pub(crate) fn claim<'a, V>(
    flights: &'a Flights,
    flight_key: &[u8],
    leases: Option<(&LeaseDir, &[u8])>,
    lookup: impl Fn() -> Option<V>,
    record: impl Fn(&Error),
) -> Result<Claim<'a>, V> {
    let lead = match flights.join(flight_key) {
        Role::Lead(guard) => Some(guard),
        Role::Waited => match lookup() {
            Some(value) => return Err(value),
            // The leader failed (its `Err` is not cached): compute here.
            None => None,
        },
    };
    let lease = match leases {
        None => None,
        Some((leases, key)) => match lead_or_wait(leases, key, LEASE_WAIT, lookup, record) {
            Turn::Found(value) => return Err(value),
            Turn::Lead(held) => Some(held),
            Turn::Alone => None,
        },
    };
    Ok(Claim {
        _lease: lease,
        _lead: lead,
    })
}
