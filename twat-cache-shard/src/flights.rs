//! The single-flight registry: which keys are being computed, by which leader, and —
//! once someone waits — the handle they wait on.
//!
//! The first caller that misses a key (the leader) registers a running computation in its
//! shard's [`Flights`], under the shard's flights mutex (not the store's lock, which is
//! costly to take for writing: see `striped.rs`), and gets a [`Ticket`]. Later callers
//! that miss the same key find it there and get the computation's waiting handle `W`,
//! created when the first of them arrives — so an uncontended miss allocates nothing
//! here. The leader computes *without* any lock, stores the value under the store's write
//! lock, then — under the flights mutex again — removes the computation and receives the
//! handle, if anyone waits, to wake them with. Because the value is stored before the
//! computation leaves the registry, a caller that finds no computation can find the value
//! (`PolicyStore::join_or_lead` looks, unless nothing was stored since its miss).
//!
//! How a caller waits is the front-end's business, and the only thing the memory and
//! async engines do differently: `W` is a `Condvar` flight in `twat-cache-memory`, an
//! `event-listener` flight in `twat-cache-async`. The registry only creates it
//! (`W: Default`) and hands it out.

use std::fmt;
use std::sync::Arc;

/// The registration of a leader: handed out by
/// [`PolicyStore::join_or_lead`](crate::PolicyStore::join_or_lead), given back to
/// [`complete`](crate::PolicyStore::complete) or [`abandon`](crate::PolicyStore::abandon)
/// to end the computation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ticket(pub(crate) u64);

/// What a caller that missed should do next.
///
/// Not `#[non_exhaustive]`: the three answers are the whole single-flight protocol, and a
/// front-end must handle each of them.
pub enum Join<V, W> {
    /// The value arrived meanwhile (no hit or miss is counted for it: the lookup that
    /// missed already counted one).
    Found(V),
    /// Another caller is computing it: wait on this handle until that caller completes or
    /// abandons its computation.
    Wait(Arc<W>),
    /// Compute it: this caller leads, and must end the computation with
    /// [`complete`](crate::PolicyStore::complete) or
    /// [`abandon`](crate::PolicyStore::abandon) (also when it panics or is cancelled),
    /// or the key's later callers wait forever.
    Lead(Ticket),
}

impl<V, W> fmt::Debug for Join<V, W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Found(_) => f.write_str("Found(..)"),
            Self::Wait(_) => f.write_str("Wait(..)"),
            Self::Lead(ticket) => f.debug_tuple("Lead").field(ticket).finish(),
        }
    }
}

/// One running computation: who leads it, for which key, and — once someone waits —
/// the handle to wake them through.
struct Running<K, W> {
    ticket: u64,
    hash: u64,
    key: K,
    waiters: Option<Arc<W>>,
}

/// The running computations of one shard. Rarely more than a handful at once, so a
/// `Vec` scanned linearly beats a hash table (no tombstones, no rehashing).
pub(crate) struct Flights<K, W> {
    running: Vec<Running<K, W>>,
    next_ticket: u64,
}

impl<K: Eq + Clone, W: Default> Flights<K, W> {
    pub(crate) const fn new() -> Self {
        Self {
            running: Vec::new(),
            next_ticket: 0,
        }
    }

    /// Joins the computation running for `key` (`Join::Wait`, creating its handle if this
    /// is the first waiter), or registers this caller as its leader (`Join::Lead`).
    pub(crate) fn join_or_lead<V>(&mut self, hash: u64, key: &K) -> Join<V, W> {
        if let Some(running) = self
            .running
            .iter_mut()
            .find(|running| running.hash == hash && running.key == *key)
        {
            let waiters = running.waiters.get_or_insert_with(Arc::default);
            return Join::Wait(Arc::clone(waiters));
        }
        let ticket = self.next_ticket;
        self.next_ticket = self.next_ticket.wrapping_add(1);
        self.running.push(Running {
            ticket,
            hash,
            key: key.clone(),
            waiters: None,
        });
        Join::Lead(Ticket(ticket))
    }

    /// Ends the computation registered under `ticket`, returning its handle if anyone
    /// waits on it (the caller then wakes them).
    pub(crate) fn finish(&mut self, ticket: Ticket) -> Option<Arc<W>> {
        let index = self
            .running
            .iter()
            .position(|running| running.ticket == ticket.0)?;
        self.running.swap_remove(index).waiters
    }

    /// Computations running.
    pub(crate) fn len(&self) -> usize {
        self.running.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The handle is created for the first waiter only, shared by the next ones, and
    /// handed to whoever ends the computation; other keys and tickets are independent.
    #[test]
    fn leaders_waiters_and_tickets() {
        let mut flights: Flights<u32, u8> = Flights::new();
        let Join::<(), u8>::Lead(first) = flights.join_or_lead(7, &1) else {
            panic!("the first caller leads");
        };
        assert_eq!(flights.finish(first), None, "nobody waited: no handle");
        assert_eq!(flights.len(), 0);
        let Join::<(), u8>::Lead(leader) = flights.join_or_lead(7, &1) else {
            panic!("a finished key is led again");
        };
        assert_ne!(leader, first);
        let Join::<(), u8>::Wait(a) = flights.join_or_lead(7, &1) else {
            panic!("a second caller waits");
        };
        let Join::<(), u8>::Wait(b) = flights.join_or_lead(7, &1) else {
            panic!("a third caller waits");
        };
        assert!(Arc::ptr_eq(&a, &b));
        let Join::<(), u8>::Lead(other) = flights.join_or_lead(7, &2) else {
            panic!("another key (same hash) has its own leader");
        };
        assert_eq!(flights.len(), 2);
        let handle = flights.finish(leader);
        assert!(handle.is_some_and(|handle| Arc::ptr_eq(&handle, &a)));
        assert_eq!(flights.finish(leader), None, "a ticket ends once");
        assert_eq!(flights.finish(other), None);
        assert_eq!(flights.len(), 0);
    }
}
