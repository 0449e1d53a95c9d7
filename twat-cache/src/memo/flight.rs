//! Single-flight for the persistent caches: concurrent misses of one key in this process
//! run the body once; the other callers wait, then read what it stored.
//!
//! Why not reuse the memory engine's: that one hands the computed value to the waiters,
//! which needs `V: Clone`; persistent values need only `Serialize + DeserializeOwned`, so
//! here waiters re-read the entry the leader stored (falling back to running the body
//! themselves if it could not be stored). A leader that panics releases its waiters
//! through a drop guard, so nobody hangs and the key is not poisoned.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::{Condvar, Mutex};

/// The keys being computed right now.
#[derive(Default)]
pub(super) struct Flights {
    running: Mutex<HashMap<Vec<u8>, Arc<Flight>>>,
}

#[derive(Default)]
struct Flight {
    done: Mutex<bool>,
    finished: Condvar,
}

/// What a caller of a missing key does.
pub(super) enum Role<'a> {
    /// Run the body; the flight ends when the guard drops.
    Lead(LeadGuard<'a>),
    /// Another caller ran it: look the key up again.
    Waited,
}

/// Ends a flight (even by unwinding) and wakes its waiters.
pub(super) struct LeadGuard<'a> {
    flights: &'a Flights,
    key: Vec<u8>,
    flight: Arc<Flight>,
}

impl Drop for LeadGuard<'_> {
    fn drop(&mut self) {
        self.flights.running.lock().remove(&self.key);
        *self.flight.done.lock() = true;
        self.flight.finished.notify_all();
    }
}

impl Flights {
    /// Leads the flight of `key`, or waits until the running one ends.
    pub(super) fn join(&self, key: &[u8]) -> Role<'_> {
        let waiting_on = {
            let mut running = self.running.lock();
            match running.get(key) {
                Some(flight) => Arc::clone(flight),
                None => {
                    let flight = Arc::new(Flight::default());
                    running.insert(key.to_vec(), Arc::clone(&flight));
                    return Role::Lead(LeadGuard {
                        flights: self,
                        key: key.to_vec(),
                        flight,
                    });
                }
            }
        };
        let mut done = waiting_on.done.lock();
        while !*done {
            waiting_on.finished.wait(&mut done);
        }
        Role::Waited
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
