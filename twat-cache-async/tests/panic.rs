//! A leader whose body panics hands its key to a waiter; the panic reaches its caller only.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly and panic on purpose"
)]

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use tokio::sync::Semaphore;
use twat_cache_async::AsyncCache;
use twat_cache_core::CacheConfig;

async fn until(condition: impl Fn() -> bool) {
    while !condition() {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiter_completes_after_the_leader_panics() {
    let cache = Arc::new(AsyncCache::<u64, u64>::new(&CacheConfig::default()));
    let gate = Arc::new(Semaphore::new(0));
    let leader = {
        let (cache, gate) = (Arc::clone(&cache), Arc::clone(&gate));
        tokio::spawn(async move {
            cache
                .get_or_insert_with(1, async move {
                    gate.acquire().await.unwrap().forget();
                    panic!("the body failed");
                })
                .await
        })
    };
    until(|| cache.in_flight() == 1).await;
    let waiters: Vec<_> = (0..3)
        .map(|_| {
            let cache = Arc::clone(&cache);
            tokio::spawn(async move { cache.get_or_insert_with(1, async { 42 }).await })
        })
        .collect();
    until(|| cache.waiting() == 3).await;
    gate.add_permits(1);
    let panicked = leader.await.unwrap_err();
    assert!(panicked.is_panic(), "the panic reaches the leader's caller");
    for waiter in waiters {
        assert_eq!(waiter.await.unwrap(), 42, "waiters do not see the panic");
    }
    assert_eq!(cache.get(&1), Some(42));
    assert_eq!((cache.in_flight(), cache.waiting()), (0, 0));
    // Later calls work and hit.
    assert_eq!(cache.get_or_insert_with(1, async { 0 }).await, 42);
}

#[tokio::test]
async fn a_panic_without_waiters_does_not_poison_the_key() {
    let cache = Arc::new(AsyncCache::<u64, u64>::new(&CacheConfig::default()));
    let failing = {
        let cache = Arc::clone(&cache);
        tokio::spawn(async move {
            cache
                .get_or_insert_with(1, async { panic!("first attempt fails") })
                .await
        })
    };
    assert!(failing.await.unwrap_err().is_panic());
    assert_eq!(cache.in_flight(), 0);
    assert_eq!(cache.get_or_insert_with(1, async { 8 }).await, 8);
}

/// Yields once, then panics on the second poll.
struct PanicOnSecondPoll(bool);

impl Future for PanicOnSecondPoll {
    type Output = u64;

    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u64> {
        if self.0 {
            panic!("second poll");
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

#[test]
fn the_flight_is_abandoned_during_the_unwind_even_if_the_leader_is_kept() {
    // No executor: poll by hand, catch the leader's panic and keep its future alive. The
    // waiter must still take over — it may not depend on the panicked future being dropped.
    let cache = AsyncCache::<u64, u64>::new(&CacheConfig::default());
    let mut cx = Context::from_waker(Waker::noop());
    let mut leader = pin!(cache.get_or_insert_with(1, PanicOnSecondPoll(false)));
    assert!(leader.as_mut().poll(&mut cx).is_pending());
    let mut waiter = pin!(cache.get_or_insert_with(1, async { 5 }));
    assert!(waiter.as_mut().poll(&mut cx).is_pending());
    assert_eq!(cache.waiting(), 1);
    let unwound = catch_unwind(AssertUnwindSafe(|| leader.as_mut().poll(&mut cx)));
    assert!(unwound.is_err());
    assert_eq!(
        cache.in_flight(),
        0,
        "abandoned while the leader still exists"
    );
    assert_eq!(waiter.as_mut().poll(&mut cx), Poll::Ready(5));
    assert_eq!(cache.get(&1), Some(5));
}
