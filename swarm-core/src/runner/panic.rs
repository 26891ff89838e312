//! Catching panics of user code, with their location when the quiet hook is installed.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Once;
use std::task::{Context, Poll};

use futures::FutureExt;

use super::signal::Signal;

thread_local! {
    static IN_USER_CODE: Cell<bool> = const { Cell::new(false) };
    static LAST_LOCATION: RefCell<Option<String>> = const { RefCell::new(None) };
}

static HOOK: Once = Once::new();

/// Install a panic hook that keeps panics of user tasks off stderr (they are counted in
/// the report instead) and remembers where they happened. Other panics go to the
/// previous hook. Only the command line installs it; an embedding test keeps its own.
pub(crate) fn install_quiet_hook() {
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if IN_USER_CODE.with(Cell::get) {
                let loc = info
                    .location()
                    .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()));
                LAST_LOCATION.with(|c| *c.borrow_mut() = loc);
            } else {
                previous(info);
            }
        }));
    });
}

/// Marks the thread as running user code while the inner future is polled.
struct Scope<F>(F);

impl<F: Future + Unpin> Future for Scope<F> {
    type Output = F::Output;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        IN_USER_CODE.with(|c| c.set(true));
        let out = Pin::new(&mut self.0).poll(cx);
        IN_USER_CODE.with(|c| c.set(false));
        out
    }
}

/// How a guarded piece of user code ended.
pub(crate) enum Guarded<T> {
    Done(T),
    Panicked(String),
    Killed,
}

/// Run user code, catching its panic, and give up at once when `kill` fires.
pub(crate) async fn guarded<F: Future>(fut: F, kill: &mut Signal) -> Guarded<F::Output> {
    let fut = std::pin::pin!(fut);
    let mut caught = AssertUnwindSafe(Scope(fut)).catch_unwind();
    std::future::poll_fn(|cx| {
        if kill.poll_fired(cx) {
            return Poll::Ready(Guarded::Killed);
        }
        Pin::new(&mut caught).poll(cx).map(|r| match r {
            Ok(v) => Guarded::Done(v),
            Err(payload) => {
                IN_USER_CODE.with(|c| c.set(false));
                Guarded::Panicked(describe(payload.as_ref()))
            }
        })
    })
    .await
}

fn describe(payload: &(dyn Any + Send)) -> String {
    let msg = if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic with a non-string payload".to_owned()
    };
    match LAST_LOCATION.with(|c| c.borrow_mut().take()) {
        Some(loc) => format!("panicked at {loc}: {msg}"),
        None => format!("panicked: {msg}"),
    }
}
