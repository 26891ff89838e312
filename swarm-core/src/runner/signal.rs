//! A cancellation token that a user checks on every poll of its task, made cheap.
//!
//! Polling `CancellationToken::cancelled()` takes the token's lock and the lock of its
//! waiter list on every poll, and a new future per task call registers and unregisters a
//! waiter (two more locks): a handful of lock round trips per request, in the hot loop.
//! A [`Signal`] registers once per user, with a waker of its own that only raises a flag
//! and wakes the user's task; checking it is an atomic load until the flag is up.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use futures::task::AtomicWaker;
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

/// What the token's waiter wakes: a flag, and the task that checks the signal.
#[derive(Default)]
struct Wakeup {
    /// The token's future may be ready: poll it again.
    raised: AtomicBool,
    task: AtomicWaker,
}

impl Wake for Wakeup {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.raised.store(true, Ordering::Release);
        self.task.wake();
    }
}

/// Watches one cancellation token for one task at a time (a user's).
pub(crate) struct Signal {
    token: CancellationToken,
    waiting: Pin<Box<WaitForCancellationFutureOwned>>,
    wakeup: Arc<Wakeup>,
    waker: Waker,
    fired: bool,
}

impl Signal {
    /// Watch `token`.
    pub(crate) fn new(token: CancellationToken) -> Signal {
        let wakeup = Arc::new(Wakeup {
            raised: AtomicBool::new(true),
            task: AtomicWaker::new(),
        });
        Signal {
            waiting: Box::pin(token.clone().cancelled_owned()),
            waker: Waker::from(wakeup.clone()),
            wakeup,
            token,
            fired: false,
        }
    }

    /// The token watched.
    pub(crate) fn token(&self) -> &CancellationToken {
        &self.token
    }

    /// Whether the token is cancelled (an atomic load while nothing happened to it).
    pub(crate) fn fired(&mut self) -> bool {
        if !self.fired && self.wakeup.raised.swap(false, Ordering::AcqRel) {
            let mut cx = Context::from_waker(&self.waker);
            self.fired = self.waiting.as_mut().poll(&mut cx).is_ready();
        }
        self.fired
    }

    /// As [`Signal::fired`], and when not, `cx`'s task is woken once it is.
    pub(crate) fn poll_fired(&mut self, cx: &Context<'_>) -> bool {
        if self.fired {
            return true;
        }
        // Registered before the check: a cancellation in between wakes the task.
        self.wakeup.task.register(cx.waker());
        self.fired()
    }
}

/// A future that resolves when the signal fires.
pub(crate) struct Fired<'a>(pub(crate) &'a mut Signal);

impl Future for Fired<'_> {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0.poll_fired(cx) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_signal_sees_its_token_and_its_parent_cancelled_and_wakes_the_waiter() {
        let parent = CancellationToken::new();
        let child = parent.child_token();
        let mut s = Signal::new(child.clone());
        assert!(!s.fired());
        assert!(!s.fired());
        let waiter = tokio::spawn(async move {
            Fired(&mut s).await;
            s.fired()
        });
        tokio::task::yield_now().await;
        parent.cancel();
        assert!(waiter.await.unwrap());

        let own = CancellationToken::new();
        let mut s = Signal::new(own.clone());
        own.cancel();
        assert!(s.fired());
        assert!(s.token().is_cancelled());
    }
}
