//! Running a refresh so that a panic becomes a failure (`stale_if_error`): the body's
//! panic is caught, its message already printed by the panic hook, and the old value
//! served instead.
//!
//! `AssertUnwindSafe` is sound here in the sense that matters: after a caught panic
//! nothing the body touched is used by this crate again — the refresh is dropped and the
//! old value, read before the body ran, is returned. (The user's own shared state is
//! theirs to keep consistent, as with any `catch_unwind`.) The `futures` crate's
//! `catch_unwind` does the same for futures; the dozen lines below spare the dependency.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::task::{Context, Poll};

/// Runs `run`: its result, or `Err(())` if it panicked.
pub(super) fn catching<T>(run: impl FnOnce() -> T) -> Result<T, ()> {
    catch_unwind(AssertUnwindSafe(run)).map_err(drop)
}

/// Awaits `future`: its output, or `Err(())` if a poll panicked.
pub(super) async fn catching_async<F: Future>(future: F) -> Result<F::Output, ()> {
    CatchUnwind {
        future: Box::pin(future),
    }
    .await
}

struct CatchUnwind<F> {
    future: Pin<Box<F>>,
}

impl<F: Future> Future for CatchUnwind<F> {
    type Output = Result<F::Output, ()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let future = self.future.as_mut();
        match catch_unwind(AssertUnwindSafe(|| future.poll(cx))) {
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(_) => Poll::Ready(Err(())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panics_become_errors() {
        assert_eq!(catching(|| 3), Ok(3));
        assert_eq!(catching(|| -> u8 { panic!("boom") }), Err(()));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        assert_eq!(runtime.block_on(catching_async(async { 4 })), Ok(4));
        assert_eq!(
            runtime.block_on(catching_async(async {
                tokio::task::yield_now().await;
                panic!("boom")
            })),
            Err::<(), ()>(())
        );
    }
}
