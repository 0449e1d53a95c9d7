//! Single-flight for the persistent caches: concurrent misses of one key in this process
//! run the body once; the other callers wait (threads block, tasks await), then read
//! what it stored.
//!
//! Why not reuse the memory engine's: that one hands the computed value to the waiters,
//! which needs `V: Clone`; persistent values need only `Serialize + DeserializeOwned`, so
//! here waiters re-read the entry the leader stored (falling back to running the body
//! themselves if it could not be stored). A leader that panics releases its waiters
//! through a drop guard, so nobody hangs and the key is not poisoned.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use event_listener::{Event, Listener as _};
use parking_lot::Mutex;

/// The keys being computed right now.
#[derive(Default)]
pub(crate) struct Flights {
    running: Mutex<HashMap<Vec<u8>, Arc<Flight>>>,
}

/// One computation: waiters block (threads) or await (tasks) on `finished` until `done`.
#[derive(Default)]
struct Flight {
    done: AtomicBool,
    finished: Event,
}

/// What a caller of a missing key does.
pub(crate) enum Role<'a> {
    /// Run the body; the flight ends when the guard drops.
    Lead(LeadGuard<'a>),
    /// Another caller ran it: look the key up again.
    Waited,
}

/// Ends a flight (even by unwinding, or when a leading task is dropped) and wakes its
/// waiters.
pub(crate) struct LeadGuard<'a> {
    flights: &'a Flights,
    key: Vec<u8>,
    flight: Arc<Flight>,
}

impl Drop for LeadGuard<'_> {
    fn drop(&mut self) {
        self.flights.running.lock().remove(&self.key);
        self.flight.done.store(true, Ordering::Release);
        self.flight.finished.notify(usize::MAX);
    }
}

impl Flights {
    /// Leads the flight of `key`, or blocks the thread until the running one ends.
    pub(crate) fn join(&self, key: &[u8]) -> Role<'_> {
        match self.lead_or_follow(key) {
            Ok(guard) => Role::Lead(guard),
            Err(flight) => {
                while !flight.done.load(Ordering::Acquire) {
                    let listener = flight.finished.listen();
                    if flight.done.load(Ordering::Acquire) {
                        break;
                    }
                    listener.wait();
                }
                Role::Waited
            }
        }
    }

    /// Leads the flight of `key`, or awaits the end of the running one (the executor's
    /// thread is free meanwhile).
    pub(super) async fn join_async(&self, key: &[u8]) -> Role<'_> {
        match self.lead_or_follow(key) {
            Ok(guard) => Role::Lead(guard),
            Err(flight) => {
                while !flight.done.load(Ordering::Acquire) {
                    let listener = flight.finished.listen();
                    if flight.done.load(Ordering::Acquire) {
                        break;
                    }
                    listener.await;
                }
                Role::Waited
            }
        }
    }

    /// A new flight of `key` led by the caller, or the running one to follow.
    fn lead_or_follow(&self, key: &[u8]) -> Result<LeadGuard<'_>, Arc<Flight>> {
        let mut running = self.running.lock();
        if let Some(flight) = running.get(key) {
            return Err(Arc::clone(flight));
        }
        let flight = Arc::new(Flight::default());
        running.insert(key.to_vec(), Arc::clone(&flight));
        Ok(LeadGuard {
            flights: self,
            key: key.to_vec(),
            flight,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Barrier};

    use super::*;

    #[test]
    fn one_leader_per_key_and_waiters_are_released() {
        let flights = Arc::new(Flights::default());
        let leaders = Arc::new(AtomicUsize::new(0));
        let barrier = Arc::new(Barrier::new(8));
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let (flights, leaders, barrier) = (
                    Arc::clone(&flights),
                    Arc::clone(&leaders),
                    Arc::clone(&barrier),
                );
                std::thread::spawn(move || {
                    barrier.wait();
                    if let Role::Lead(guard) = flights.join(b"k") {
                        leaders.fetch_add(1, Ordering::SeqCst);
                        std::thread::sleep(std::time::Duration::from_millis(30));
                        drop(guard);
                    }
                })
            })
            .collect();
        for handle in handles {
            handle.join().unwrap();
        }
        // Late arrivals may lead a second flight after the first ended; never all eight.
        assert!(leaders.load(Ordering::SeqCst) < 8);
        assert!(flights.running.lock().is_empty());
    }

    #[test]
    fn a_panicking_leader_releases_its_waiters() {
        let flights = Flights::default();
        std::thread::scope(|scope| {
            let Role::Lead(guard) = flights.join(b"k") else {
                panic!("the first caller leads");
            };
            let waiter = scope.spawn(|| matches!(flights.join(b"k"), Role::Waited));
            let leader = scope.spawn(move || {
                let _guard = guard;
                panic!("the body panicked");
            });
            assert!(leader.join().is_err());
            assert!(waiter.join().unwrap());
        });
        assert!(matches!(flights.join(b"k"), Role::Lead(_)));
    }
}
