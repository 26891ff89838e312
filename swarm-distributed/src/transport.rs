//! A worker's ZeroMQ connection to a Locust master: a DEALER socket whose identity is
//! the node id, connected to the master's ROUTER; one frame per message.
//!
//! [`Connection::send`] is bounded by a time-out and [`Connection::recv`] is
//! cancel-safe, so a worker drives one connection from a single `tokio::select!`
//! loop (receive, heartbeat tick, stats tick). When the master goes away (it quits or
//! restarts), the connection re-opens the socket with the **same identity** on the
//! next call, as Locust's `reset_connection` does; [`Connection::reconnect`] does it on
//! demand (for the master's `reconnect` message). A master that cannot be reached
//! within the connect time-out gives [`TransportError::Unreachable`].

use std::fmt;
use std::time::Duration;

use futures::StreamExt;
use tokio::time::Instant;
use zeromq::{DealerSocket, Socket, SocketEvent, SocketOptions, SocketRecv, SocketSend, ZmqError};

use crate::heartbeat::{CONNECT_RETRY_COUNT, CONNECT_TIMEOUT};
use crate::proto::{Ack, CustomTypes, Envelope, MasterMessage, ProtoError, WorkerMessage};

/// How long [`Connection::close`] lets queued messages go out (ZeroMQ's `ZMQ_LINGER`;
/// the ZeroMQ crate has no flush).
pub const LINGER: Duration = Duration::from_millis(250);

/// A worker's node id: its ZeroMQ identity, and the `node_id` inside every message
/// (the master requires both to be equal).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NodeId(String);

impl NodeId {
    /// Locust's format: `{hostname}_{uuid4 hex}`.
    pub fn generate() -> Self {
        let host = gethostname::gethostname().to_string_lossy().into_owned();
        let mut id = format!("{host}_{}", uuid::Uuid::new_v4().simple());
        // ZeroMQ identities are at most 255 bytes; keep the uuid, trim the hostname.
        while id.len() > 255 {
            id.remove(0);
        }
        Self(id)
    }

    /// A given id: 1 to 255 bytes, not starting with a zero byte (ZeroMQ reserves
    /// those identities).
    pub fn new(id: impl Into<String>) -> Result<Self, TransportError> {
        let id = id.into();
        let reason = if id.is_empty() {
            Some("it is empty")
        } else if id.len() > 255 {
            Some("it is longer than 255 bytes")
        } else if id.starts_with('\0') {
            Some("it starts with a zero byte")
        } else {
            None
        };
        match reason {
            Some(reason) => Err(TransportError::InvalidNodeId {
                id,
                reason: reason.to_owned(),
            }),
            None => Ok(Self(id)),
        }
    }

    /// The id as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What went wrong on the connection.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// The node id cannot be a ZeroMQ identity.
    #[error("invalid node id {id:?}: {reason}")]
    InvalidNodeId {
        /// The id.
        id: String,
        /// Why.
        reason: String,
    },
    /// The master's address cannot be used.
    #[error("invalid master address {endpoint}: {reason}")]
    InvalidAddress {
        /// The endpoint tried.
        endpoint: String,
        /// Why.
        reason: String,
    },
    /// No ZeroMQ peer answered at the master's address within the connect time-out.
    #[error("cannot reach a Locust master at {endpoint} (no ZeroMQ handshake within {waited:?}; is `locust --master` running there, and is the port its --master-bind-port?)")]
    Unreachable {
        /// The endpoint tried.
        endpoint: String,
        /// How long it was tried.
        waited: Duration,
    },
    /// The master did not answer `client_ready` with `ack`.
    #[error("the Locust master at {endpoint} did not answer client_ready with ack ({attempts} attempts over {waited:?})")]
    NoAck {
        /// The endpoint.
        endpoint: String,
        /// How many `client_ready` were sent.
        attempts: u32,
        /// How long it took.
        waited: Duration,
    },
    /// A send did not complete within the send time-out.
    #[error(
        "sending {message_type} to the master at {endpoint} did not complete within {waited:?}"
    )]
    SendTimeout {
        /// The endpoint.
        endpoint: String,
        /// The message type.
        message_type: String,
        /// The time-out.
        waited: Duration,
    },
    /// A message from the master could not be decoded. The connection is still
    /// usable: log or count it and go on receiving.
    #[error("a bad message from the master at {endpoint}: {source}")]
    BadMessage {
        /// The endpoint.
        endpoint: String,
        /// What is wrong with it.
        #[source]
        source: ProtoError,
    },
    /// A message to send could not be encoded.
    #[error(transparent)]
    Encode(ProtoError),
    /// Any other ZeroMQ failure.
    #[error("ZeroMQ failure on the connection to {endpoint}: {reason}")]
    Socket {
        /// The endpoint.
        endpoint: String,
        /// The ZeroMQ error.
        reason: String,
    },
}

impl TransportError {
    /// Whether the connection can go on after this error: a bad message was skipped,
    /// a send timed out, or the socket failed (the next call re-opens it, and says
    /// [`TransportError::Unreachable`] if the master is gone). The others are final.
    pub fn is_recoverable(&self) -> bool {
        matches!(
            self,
            Self::BadMessage { .. } | Self::SendTimeout { .. } | Self::Socket { .. }
        )
    }
}

/// Time-outs and decoding settings of a [`Connection`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TransportOptions {
    /// How long to try to reach the master when connecting or re-connecting.
    pub connect_timeout: Duration,
    /// How long one send may take (Locust retries for 1 + 3 + 5 s).
    pub send_timeout: Duration,
    /// How long to wait for `ack` after each `client_ready`.
    pub ack_timeout: Duration,
    /// How many `client_ready` to send before giving up.
    pub ack_attempts: u32,
    /// How long [`Connection::reconnect`] waits between closing the old socket and
    /// opening the new one.
    pub reconnect_grace: Duration,
    /// Custom message types to accept from the master.
    pub custom_types: CustomTypes,
}

impl Default for TransportOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            send_timeout: Duration::from_secs(9),
            ack_timeout: CONNECT_TIMEOUT,
            ack_attempts: CONNECT_RETRY_COUNT,
            reconnect_grace: Duration::from_millis(500),
            custom_types: CustomTypes::new(),
        }
    }
}

impl TransportOptions {
    /// Set [`TransportOptions::connect_timeout`].
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.connect_timeout = d;
        self
    }

    /// Set [`TransportOptions::send_timeout`].
    pub fn send_timeout(mut self, d: Duration) -> Self {
        self.send_timeout = d;
        self
    }

    /// Set [`TransportOptions::ack_timeout`] and [`TransportOptions::ack_attempts`].
    pub fn ack(mut self, timeout: Duration, attempts: u32) -> Self {
        self.ack_timeout = timeout;
        self.ack_attempts = attempts.max(1);
        self
    }

    /// Set [`TransportOptions::reconnect_grace`].
    pub fn reconnect_grace(mut self, d: Duration) -> Self {
        self.reconnect_grace = d;
        self
    }

    /// Set [`TransportOptions::custom_types`].
    pub fn custom_types(mut self, custom: CustomTypes) -> Self {
        self.custom_types = custom;
        self
    }
}

/// One worker's connection to a Locust master.
pub struct Connection {
    socket: DealerSocket,
    events: futures::channel::mpsc::Receiver<SocketEvent>,
    /// The master went away: re-open before the next send or receive.
    broken: bool,
    endpoint: String,
    node_id: NodeId,
    options: TransportOptions,
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("endpoint", &self.endpoint)
            .field("node_id", &self.node_id)
            .field("broken", &self.broken)
            .finish_non_exhaustive()
    }
}

/// `tcp://host:port`, with brackets around an IPv6 address.
pub(crate) fn endpoint(host: &str, port: u16) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("tcp://[{host}]:{port}")
    } else {
        format!("tcp://{host}:{port}")
    }
}

impl Connection {
    /// Connect to the master at `host:port` (Locust's `--master-host`,
    /// `--master-port`) with `node_id` as identity. Returns once the ZeroMQ
    /// handshake is done; then call [`Connection::handshake`].
    pub async fn connect(
        host: &str,
        port: u16,
        node_id: NodeId,
        options: TransportOptions,
    ) -> Result<Self, TransportError> {
        let endpoint = endpoint(host, port);
        let (socket, events) = open(&endpoint, &node_id, options.connect_timeout).await?;
        Ok(Self {
            socket,
            events,
            broken: false,
            endpoint,
            node_id,
            options,
        })
    }

    /// The node id (identity).
    pub fn node_id(&self) -> &NodeId {
        &self.node_id
    }

    /// The master's endpoint, `tcp://host:port`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Close the socket and open a new one with the same identity (Locust's
    /// `reset_connection`, the answer to the master's `reconnect`).
    ///
    /// The old connection is closed first, then the new one opens after
    /// [`TransportOptions::reconnect_grace`]: a ROUTER that still holds a connection
    /// with this identity ignores a second one (libzmq without `ROUTER_HANDOVER`, as
    /// Locust runs it), so the master must see the old one close first.
    pub async fn reconnect(&mut self) -> Result<(), TransportError> {
        // Close the old socket now (a fresh, unconnected one stands in, so that a
        // cancelled re-connect leaves a usable state: `broken` makes the next call open).
        let old = std::mem::replace(&mut self.socket, DealerSocket::new());
        drop(old);
        self.broken = true;
        tokio::time::sleep(self.options.reconnect_grace).await;
        self.ensure_open().await
    }

    async fn ensure_open(&mut self) -> Result<(), TransportError> {
        if !self.broken {
            return Ok(());
        }
        tracing::info!(endpoint = %self.endpoint, node_id = %self.node_id, "re-connecting to the Locust master");
        let (socket, events) =
            open(&self.endpoint, &self.node_id, self.options.connect_timeout).await?;
        // Only now replace the old socket, so that a cancelled re-connect is retried.
        self.socket = socket;
        self.events = events;
        self.broken = false;
        Ok(())
    }

    /// Send one message (one frame), bounded by the send time-out. If the master
    /// went away, the socket is re-opened first (same identity). Await it to the end:
    /// a cancelled send may or may not have gone out.
    pub async fn send(&mut self, message: &WorkerMessage) -> Result<(), TransportError> {
        let body = message
            .encode(self.node_id.as_str())
            .map_err(TransportError::Encode)?;
        self.send_frame(body, message.message_type()).await
    }

    /// Send bytes as they are, as one frame. For relaying messages encoded
    /// elsewhere, and for tests: Locust's master stops listening to **all** workers
    /// on some malformed input (a 2-array, an int where a map belongs), so only send
    /// well-formed `[type, data, node_id]` arrays carrying this connection's node id.
    pub async fn send_encoded(&mut self, body: Vec<u8>) -> Result<(), TransportError> {
        self.send_frame(body, "message").await
    }

    async fn send_frame(&mut self, body: Vec<u8>, ty: &str) -> Result<(), TransportError> {
        let ty = ty.to_owned();
        let limit = self.options.send_timeout;
        let deadline = Instant::now() + limit;
        let endpoint = self.endpoint.clone();
        let timeout = || TransportError::SendTimeout {
            endpoint: endpoint.clone(),
            message_type: ty.clone(),
            waited: limit,
        };
        for attempt in 0..2 {
            self.note_events();
            tokio::time::timeout_at(deadline, self.ensure_open())
                .await
                .map_err(|_| timeout())??;
            match tokio::time::timeout_at(deadline, self.socket.send(body.clone().into())).await {
                Err(_) => return Err(timeout()),
                Ok(Ok(())) => return Ok(()),
                Ok(Err(ZmqError::ReturnToSender { .. })) if attempt == 0 => {
                    // No peer: the master went away; re-open and try once more.
                    self.broken = true;
                }
                Ok(Err(e)) => {
                    self.broken = true;
                    return Err(self.socket_error(&e));
                }
            }
        }
        Err(TransportError::Unreachable {
            endpoint: self.endpoint.clone(),
            waited: limit,
        })
    }

    /// Receive the next message from the master. Waits as long as it takes (wrap
    /// it in a time-out, or use [`Connection::recv_timeout`]); cancel-safe. A
    /// message that does not decode gives [`TransportError::BadMessage`], after which
    /// the connection is still usable.
    pub async fn recv(&mut self) -> Result<Envelope<MasterMessage>, TransportError> {
        loop {
            self.ensure_open().await?;
            tokio::select! {
                biased;
                event = self.events.next() => {
                    match event {
                        Some(SocketEvent::Disconnected(_)) | None => self.broken = true,
                        Some(_) => {}
                    }
                }
                frames = self.socket.recv() => {
                    let frames = match frames {
                        Ok(frames) => frames,
                        Err(e) => {
                            // A broken stream (e.g. a ZMTP framing error): re-open next time.
                            self.broken = true;
                            return Err(self.socket_error(&e));
                        }
                    };
                    return self.decode(&frames);
                }
            }
        }
    }

    /// [`Connection::recv`] bounded by `limit`: `Ok(None)` when nothing came.
    pub async fn recv_timeout(
        &mut self,
        limit: Duration,
    ) -> Result<Option<Envelope<MasterMessage>>, TransportError> {
        match tokio::time::timeout(limit, self.recv()).await {
            Ok(r) => r.map(Some),
            Err(_) => Ok(None),
        }
    }

    /// Register with the master: send `client_ready` with `version` and wait for
    /// `ack`, re-sending every `ack_timeout` up to `ack_attempts` times (Locust's
    /// `connect_to_master`). Other messages before the ack are skipped. The master
    /// acks any non-empty version; it logs a warning when the first four characters
    /// differ from its own.
    pub async fn handshake(&mut self, version: &str) -> Result<Ack, TransportError> {
        let started = Instant::now();
        let ready = WorkerMessage::ClientReady {
            version: version.to_owned(),
        };
        for _ in 0..self.options.ack_attempts {
            self.send(&ready).await?;
            let deadline = Instant::now() + self.options.ack_timeout;
            loop {
                let left = deadline.saturating_duration_since(Instant::now());
                match self.recv_timeout(left).await {
                    Ok(Some(Envelope {
                        message: MasterMessage::Ack(ack),
                        ..
                    })) => return Ok(ack),
                    Ok(Some(other)) => {
                        tracing::debug!(message = %other.message, "skipped a message while waiting for ack");
                    }
                    Ok(None) => break,
                    Err(e) if e.is_recoverable() => tracing::warn!("{e}"),
                    Err(e) => return Err(e),
                }
            }
        }
        Err(TransportError::NoAck {
            endpoint: self.endpoint.clone(),
            attempts: self.options.ack_attempts,
            waited: started.elapsed(),
        })
    }

    /// Close the socket, after [`LINGER`]: a send only queues the message for the
    /// socket's writer task, and closing at once would drop the last messages (a
    /// worker's final `stats` and `quit`).
    pub async fn close(self) {
        tokio::time::sleep(LINGER).await;
        let _ = self.socket.close().await;
    }

    /// Take note of socket events already queued (a disconnect) without waiting.
    fn note_events(&mut self) {
        while let Ok(event) = self.events.try_recv() {
            if matches!(event, SocketEvent::Disconnected(_)) {
                self.broken = true;
            }
        }
    }

    fn decode(
        &self,
        frames: &zeromq::ZmqMessage,
    ) -> Result<Envelope<MasterMessage>, TransportError> {
        let bad = |source| TransportError::BadMessage {
            endpoint: self.endpoint.clone(),
            source,
        };
        if frames.len() != 1 {
            return Err(bad(ProtoError::NotAnEnvelope {
                found: format!(
                    "a ZeroMQ message of {} frames (one is expected)",
                    frames.len()
                ),
            }));
        }
        let body = frames.get(0).map(|b| b.as_ref()).unwrap_or_default();
        MasterMessage::decode_with(body, &self.options.custom_types).map_err(bad)
    }

    fn socket_error(&self, e: &ZmqError) -> TransportError {
        TransportError::Socket {
            endpoint: self.endpoint.clone(),
            reason: e.to_string(),
        }
    }
}

/// A DEALER with `node_id` as identity, connected to `endpoint`.
async fn open(
    endpoint: &str,
    node_id: &NodeId,
    connect_timeout: Duration,
) -> Result<(DealerSocket, futures::channel::mpsc::Receiver<SocketEvent>), TransportError> {
    let identity = zeromq::util::PeerIdentity::try_from(node_id.as_str().as_bytes().to_vec())
        .map_err(|e| TransportError::InvalidNodeId {
            id: node_id.to_string(),
            reason: e.to_string(),
        })?;
    let mut options = SocketOptions::default();
    options
        .peer_identity(identity)
        .connect_timeout(connect_timeout);
    let mut socket = DealerSocket::with_options(options);
    let events = socket.monitor();
    let unreachable = || TransportError::Unreachable {
        endpoint: endpoint.to_owned(),
        waited: connect_timeout,
    };
    // The socket's own time-out bounds the connect; this one is a backstop.
    match tokio::time::timeout(
        connect_timeout + Duration::from_secs(1),
        socket.connect(endpoint),
    )
    .await
    {
        Err(_) | Ok(Err(ZmqError::ConnectTimeout(_))) => Err(unreachable()),
        Ok(Err(ZmqError::Endpoint(e))) => Err(TransportError::InvalidAddress {
            endpoint: endpoint.to_owned(),
            reason: e.to_string(),
        }),
        Ok(Err(e)) => Err(TransportError::Socket {
            endpoint: endpoint.to_owned(),
            reason: e.to_string(),
        }),
        Ok(Ok(())) => Ok((socket, events)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_node_ids_look_like_locusts() {
        let id = NodeId::generate();
        let (host, hex) = id.as_str().rsplit_once('_').expect("host_uuid");
        assert_eq!(host, gethostname::gethostname().to_string_lossy());
        assert_eq!(hex.len(), 32);
        assert!(hex
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_ne!(NodeId::generate(), id);
    }

    #[test]
    fn bad_node_ids_are_refused() {
        assert!(matches!(
            NodeId::new(""),
            Err(TransportError::InvalidNodeId { .. })
        ));
        assert!(NodeId::new("x".repeat(256)).is_err());
        assert!(NodeId::new("\0abc").is_err());
        assert_eq!(NodeId::new("w1").expect("valid").as_str(), "w1");
    }

    #[test]
    fn endpoints_bracket_ipv6() {
        assert_eq!(endpoint("127.0.0.1", 5557), "tcp://127.0.0.1:5557");
        assert_eq!(endpoint("::1", 5557), "tcp://[::1]:5557");
    }

    #[tokio::test]
    async fn a_closed_port_is_unreachable_within_the_timeout() {
        // A port nobody listens on: bind, read the port, close.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let opts = TransportOptions::default().connect_timeout(Duration::from_millis(300));
        let err = Connection::connect("127.0.0.1", port, NodeId::generate(), opts)
            .await
            .expect_err("nobody listens");
        assert!(matches!(err, TransportError::Unreachable { .. }), "{err:?}");
        assert!(
            err.to_string().contains(&format!("127.0.0.1:{port}")),
            "{err}"
        );
    }
}
