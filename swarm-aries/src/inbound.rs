//! One inbound HTTP endpoint for many simulated agents: a loopback listener that routes each
//! DIDComm v1 envelope POSTed to it to the agent holding one of its recipient keys.
//!
//! An agent without a mediator needs an endpoint its peers can POST to. Instead of one port
//! per agent, all agents of a process share one [`InboundListener`]: each registers its
//! verkey and gets a [`Mailbox`]; the listener reads the recipients (`header.kid`) from the
//! envelope's `protected` header (nothing is decrypted) and hands the envelope to the first
//! registered one.
//!
//! Answers: `202 Accepted` when delivered; `404` when no registered key is a recipient;
//! `400` when the body is not an envelope; `413` past [`MAX_ENVELOPE_BYTES`]; `503` with
//! `Retry-After` when the recipient's mailbox is full ([`MAILBOX_CAPACITY`] envelopes wait at
//! most: the sender retries instead of the listener buffering without bound); `405` for a
//! method other than POST.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, Request, State};
use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use tokio::sync::{mpsc, oneshot};

use crate::agent::AriesError;
use crate::error::InboundError;
use crate::keys::Verkey;

/// The largest envelope the listener accepts, in bytes (4 MiB); a bigger body gets `413`.
pub const MAX_ENVELOPE_BYTES: usize = 4 << 20;

/// How many envelopes wait in one [`Mailbox`]; past that the listener answers `503`.
pub const MAILBOX_CAPACITY: usize = 64;

/// A shared inbound HTTP listener on one loopback port, routing DIDComm v1 envelopes to
/// [`Mailbox`]es by recipient key.
///
/// Cheap to clone (all clones are one listener). The server stops when the last clone is
/// dropped: from then on every mailbox's [`Mailbox::recv`] returns `None`.
///
/// ```no_run
/// # async fn demo() -> Result<(), swarm_aries::AriesError> {
/// use swarm_aries::{AgentKey, InboundListener};
///
/// let listener = InboundListener::bind("127.0.0.1:0".parse().unwrap()).await?;
/// let key = AgentKey::generate();
/// let mut mailbox = listener.register(key.verkey_base58())?;
/// // Peers POST envelopes for `key` to `listener.endpoint()`.
/// let envelope = mailbox.recv().await;
/// # let _ = envelope;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct InboundListener {
    inner: Arc<Handle>,
}

/// What the clones share; dropping it stops the server.
struct Handle {
    shared: Arc<Shared>,
    addr: SocketAddr,
    endpoint: String,
    /// Dropped with the last clone: the server's shutdown signal.
    _stop: oneshot::Sender<()>,
}

/// What the server and the mailboxes share.
#[derive(Default)]
struct Shared {
    routes: Mutex<HashMap<String, Route>>,
    next_id: AtomicU64,
    counts: Counts,
}

impl Shared {
    /// The routing table. A panic never happens while it is held; a poisoned lock is used as is.
    fn routes(&self) -> MutexGuard<'_, HashMap<String, Route>> {
        self.routes.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A registered key: its mailbox's sender, and which registration it is (so that a dropped
/// mailbox removes only its own entry).
struct Route {
    id: u64,
    tx: mpsc::Sender<Bytes>,
}

#[derive(Default)]
struct Counts {
    routed: AtomicU64,
    unknown_recipient: AtomicU64,
    bad_request: AtomicU64,
    too_large: AtomicU64,
    busy: AtomicU64,
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// How many requests an [`InboundListener`] answered, by outcome, since it was bound.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct InboundStats {
    /// Envelopes delivered to a mailbox (`202`).
    pub routed: u64,
    /// Envelopes for no registered key (`404`).
    pub unknown_recipient: u64,
    /// Bodies that are not an envelope, or requests other than POST (`400`, `405`).
    pub bad_request: u64,
    /// Bodies past [`MAX_ENVELOPE_BYTES`] (`413`).
    pub too_large: u64,
    /// Envelopes refused because the recipient's mailbox was full (`503`).
    pub busy: u64,
}

impl InboundStats {
    /// All requests not delivered.
    pub fn rejected(&self) -> u64 {
        self.unknown_recipient + self.bad_request + self.too_large + self.busy
    }
}

impl std::fmt::Debug for InboundListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InboundListener")
            .field("endpoint", &self.inner.endpoint)
            .field("mailboxes", &self.mailboxes())
            .finish()
    }
}

impl InboundListener {
    /// Binds `addr` (a loopback address; port 0 picks a free one) and starts serving on the
    /// current tokio runtime.
    ///
    /// Fails with [`InboundError::NotLoopback`] for any other address (load only goes to
    /// loopback) and [`InboundError::Bind`] when the address cannot be bound.
    pub async fn bind(addr: SocketAddr) -> Result<InboundListener, AriesError> {
        if !addr.ip().is_loopback() {
            return Err(InboundError::NotLoopback(addr).into());
        }
        let bind_error = |source| InboundError::Bind { addr, source };
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(bind_error)?;
        let addr = listener.local_addr().map_err(bind_error)?;
        let shared = Arc::new(Shared::default());
        let app = Router::new()
            .fallback(deliver)
            .layer(DefaultBodyLimit::max(MAX_ENVELOPE_BYTES))
            .with_state(shared.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        let routes = shared.clone();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    // Resolves when the last clone drops the sender.
                    let _ = stopped.await;
                    // No sender is left: every mailbox sees the end.
                    routes.routes().clear();
                })
                .await;
        });
        Ok(InboundListener {
            inner: Arc::new(Handle {
                shared,
                addr,
                endpoint: format!("http://{addr}/"),
                _stop: stop,
            }),
        })
    }

    /// The URL peers POST to, `http://127.0.0.1:PORT/` (any path is accepted).
    pub fn endpoint(&self) -> &str {
        &self.inner.endpoint
    }

    /// The address the listener is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.inner.addr
    }

    /// Registers a verkey (base58, or a `did:key`): envelopes naming it as a recipient go
    /// to the returned mailbox, until the mailbox is dropped.
    ///
    /// Fails when the key is not a valid Ed25519 verkey, or when a live mailbox already
    /// receives for it ([`InboundError::AlreadyRegistered`]).
    pub fn register(&self, verkey: &str) -> Result<Mailbox, AriesError> {
        let verkey = Verkey::parse(verkey)?.to_base58();
        let shared = &self.inner.shared;
        let (tx, rx) = mpsc::channel(MAILBOX_CAPACITY);
        let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
        match shared.routes().entry(verkey.clone()) {
            Entry::Occupied(_) => return Err(InboundError::AlreadyRegistered(verkey).into()),
            Entry::Vacant(e) => {
                e.insert(Route { id, tx });
            }
        }
        Ok(Mailbox {
            rx,
            verkey,
            id,
            shared: shared.clone(),
        })
    }

    /// How many mailboxes are registered.
    pub fn mailboxes(&self) -> usize {
        self.inner.shared.routes().len()
    }

    /// The requests answered so far, by outcome.
    pub fn stats(&self) -> InboundStats {
        let c = &self.inner.shared.counts;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        InboundStats {
            routed: get(&c.routed),
            unknown_recipient: get(&c.unknown_recipient),
            bad_request: get(&c.bad_request),
            too_large: get(&c.too_large),
            busy: get(&c.busy),
        }
    }
}

/// The envelopes an [`InboundListener`] received for one key. Dropping it unregisters the key.
pub struct Mailbox {
    rx: mpsc::Receiver<Bytes>,
    verkey: String,
    id: u64,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Mailbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailbox")
            .field("verkey", &self.verkey)
            .finish_non_exhaustive()
    }
}

impl Mailbox {
    /// The base58 verkey this mailbox receives for.
    pub fn verkey(&self) -> &str {
        &self.verkey
    }

    /// The next envelope (its JSON bytes); `None` once the listener has stopped.
    pub async fn recv(&mut self) -> Option<Vec<u8>> {
        self.rx.recv().await.map(Vec::from)
    }

    /// The next envelope if one is waiting, without waiting.
    pub fn try_recv(&mut self) -> Option<Vec<u8>> {
        self.rx.try_recv().ok().map(Vec::from)
    }
}

impl Drop for Mailbox {
    fn drop(&mut self) {
        let mut routes = self.shared.routes();
        if routes.get(&self.verkey).is_some_and(|r| r.id == self.id) {
            routes.remove(&self.verkey);
        }
    }
}

fn answer(status: StatusCode, text: impl Into<String>) -> Response {
    let mut text = text.into();
    text.push('\n');
    (status, text).into_response()
}

/// The one handler: any path. The body is read here, after the cheap checks.
async fn deliver(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let counts = &shared.counts;
    if request.method() != Method::POST {
        bump(&counts.bad_request);
        let mut r = answer(
            StatusCode::METHOD_NOT_ALLOWED,
            "POST a DIDComm v1 envelope here",
        );
        r.headers_mut()
            .insert(header::ALLOW, header::HeaderValue::from_static("POST"));
        return r;
    }
    let too_large = || {
        bump(&counts.too_large);
        answer(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("an envelope is at most {MAX_ENVELOPE_BYTES} bytes"),
        )
    };
    // A declared length past the cap is refused before reading the body.
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_ENVELOPE_BYTES as u64) {
        return too_large();
    }
    let body = match Bytes::from_request(request, &()).await {
        Ok(body) => body,
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return too_large(),
        Err(e) => {
            bump(&counts.bad_request);
            return answer(StatusCode::BAD_REQUEST, e.body_text());
        }
    };
    let kids = match crate::envelope::recipient_kids(&body) {
        Ok(kids) if !kids.is_empty() => kids,
        Ok(_) => {
            bump(&counts.bad_request);
            return answer(StatusCode::BAD_REQUEST, "the envelope names no recipient");
        }
        Err(e) => {
            bump(&counts.bad_request);
            return answer(StatusCode::BAD_REQUEST, e.to_string());
        }
    };
    let tx = {
        let routes = shared.routes();
        kids.iter()
            .find_map(|kid| routes.get(kid).map(|r| r.tx.clone()))
    };
    let unknown = || {
        bump(&counts.unknown_recipient);
        answer(
            StatusCode::NOT_FOUND,
            format!(
                "no agent here holds any of the envelope's {} recipient key(s)",
                kids.len()
            ),
        )
    };
    let Some(tx) = tx else {
        return unknown();
    };
    match tx.try_send(body) {
        Ok(()) => {
            bump(&counts.routed);
            StatusCode::ACCEPTED.into_response()
        }
        Err(mpsc::error::TrySendError::Full(_)) => {
            bump(&counts.busy);
            let mut r = answer(
                StatusCode::SERVICE_UNAVAILABLE,
                "the recipient's mailbox is full, retry later",
            );
            r.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
            r
        }
        // The mailbox was dropped between the lookup and now.
        Err(mpsc::error::TrySendError::Closed(_)) => unknown(),
    }
}

#[cfg(test)]
mod tests;
