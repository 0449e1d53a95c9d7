//! No runtime is built in: tokio (multi-thread and current-thread) and a bare `block_on`
//! on plain threads all get single-flight.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};

use twat_cache_async::AsyncCache;
use twat_cache_core::CacheConfig;

async fn single_flight_on_the_current_runtime() {
    let cache = Arc::new(AsyncCache::<u64, u64>::new(&CacheConfig::default()));
    let runs = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let (cache, runs) = (Arc::clone(&cache), Arc::clone(&runs));
            tokio::spawn(async move {
                cache
                    .get_or_insert_with(1, async move {
                        runs.fetch_add(1, Ordering::SeqCst);
                        // Yield a few times so the other tasks arrive while this one leads.
                        for _ in 0..10 {
                            tokio::task::yield_now().await;
                        }
                        77
                    })
                    .await
            })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap(), 77);
    }
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    assert_eq!(cache.stats().misses + cache.stats().hits, 100);
}

#[test]
fn tokio_current_thread() {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(single_flight_on_the_current_runtime());
}

#[test]
fn tokio_multi_thread() {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(single_flight_on_the_current_runtime());
}

/// The smallest executor: park the thread until woken.
struct ThreadWaker(Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

fn block_on<F: Future>(future: F) -> F::Output {
    let waker = Waker::from(Arc::new(ThreadWaker(thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        thread::park();
    }
}

/// A future that completes once `open` is called, from any thread.
#[derive(Clone, Default)]
struct Gate(Arc<Mutex<(bool, Vec<Waker>)>>);

impl Gate {
    fn open(&self) {
        let wakers = {
            let mut state = self.0.lock().unwrap();
            state.0 = true;
            std::mem::take(&mut state.1)
        };
        wakers.into_iter().for_each(Waker::wake);
    }
}

impl Future for Gate {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut state = self.0.lock().unwrap();
        if state.0 {
            Poll::Ready(())
        } else {
            state.1.push(cx.waker().clone());
            Poll::Pending
        }
    }
}

#[test]
fn plain_threads_with_a_bare_block_on() {
    let cache = Arc::new(AsyncCache::<u64, String>::new(&CacheConfig::default()));
    let runs = Arc::new(AtomicUsize::new(0));
    let gate = Gate::default();
    let leader = {
        let (cache, runs, gate) = (Arc::clone(&cache), Arc::clone(&runs), gate.clone());
        thread::spawn(move || {
            block_on(cache.get_or_insert_with(1, async move {
                runs.fetch_add(1, Ordering::SeqCst);
                gate.await;
                "shared".to_owned()
            }))
        })
    };
    while runs.load(Ordering::SeqCst) == 0 {
        thread::yield_now();
    }
    let waiters: Vec<_> = (0..4)
        .map(|_| {
            let (cache, runs) = (Arc::clone(&cache), Arc::clone(&runs));
            thread::spawn(move || {
                block_on(cache.get_or_insert_with(1, async move {
                    runs.fetch_add(1, Ordering::SeqCst);
                    "own".to_owned()
                }))
            })
        })
        .collect();
    while cache.waiting() < 4 {
        thread::yield_now();
    }
    gate.open();
    assert_eq!(leader.join().unwrap(), "shared");
    for waiter in waiters {
        assert_eq!(waiter.join().unwrap(), "shared");
    }
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}
