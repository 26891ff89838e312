//! The master's ZeroMQ side: a ROUTER bound to `--master-bind-host:--master-bind-port`.
//! Each worker's DEALER sends one frame, which the ROUTER receives as `[identity, body]`;
//! the master answers `[identity, body]`. A task receives and decodes; what it reads,
//! good or bad, arrives on a channel the master's loop selects on.

use std::time::Duration;

use tokio::sync::mpsc;
use zeromq::{RouterSocket, Socket, SocketRecv, SocketSend, ZmqError, ZmqMessage};

use crate::proto::{CustomTypes, Envelope, MasterMessage, ProtoError, WorkerMessage};

/// What went wrong binding the master's socket.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MasterError {
    /// The bind address cannot be used (taken, not local, malformed).
    #[error("cannot bind the master's ZeroMQ socket to {endpoint}: {reason}")]
    Bind {
        /// The endpoint tried.
        endpoint: String,
        /// Why.
        reason: String,
    },
    /// `--expect-workers-max-wait` passed with fewer workers than `--expect-workers`.
    #[error("gave up waiting for workers to connect: {connected} of {expected} after {waited:?}")]
    NotEnoughWorkers {
        /// Workers connected.
        connected: usize,
        /// Workers expected.
        expected: usize,
        /// How long the master waited.
        waited: Duration,
    },
}

/// One thing received from a worker.
#[derive(Debug)]
pub(crate) struct Incoming {
    /// The sender's ZeroMQ identity (its node id).
    pub(crate) identity: String,
    /// The decoded message, or why it did not decode.
    pub(crate) message: Result<Envelope<WorkerMessage>, ProtoError>,
}

/// The master's bound socket.
pub(crate) struct Server {
    send: zeromq::RouterSendHalf,
    incoming: mpsc::Receiver<Incoming>,
    receiver: tokio::task::JoinHandle<()>,
    /// The endpoint bound, with the port the system chose for port 0.
    pub(crate) endpoint: String,
    /// The port bound.
    pub(crate) port: u16,
}

/// How long one send may take (a worker that does not read is not waited for).
const SEND_TIMEOUT: Duration = Duration::from_secs(2);

impl Server {
    /// Bind a ROUTER to `host:port`; `*` (Locust's default) means every IPv4 interface.
    pub(crate) async fn bind(
        host: &str,
        port: u16,
        custom: CustomTypes,
    ) -> Result<Self, MasterError> {
        let host = if host == "*" || host.is_empty() {
            "0.0.0.0"
        } else {
            host
        };
        let wanted = crate::transport::endpoint(host, port);
        let mut socket = RouterSocket::new();
        let bound = socket.bind(&wanted).await.map_err(|e| MasterError::Bind {
            endpoint: wanted.clone(),
            reason: e.to_string(),
        })?;
        let endpoint = bound.to_string();
        let port = match &bound {
            zeromq::Endpoint::Tcp(_, p) => *p,
            _ => port,
        };
        let (send, mut recv) = socket.split();
        let (tx, incoming) = mpsc::channel(1024);
        let receiver = tokio::spawn(async move {
            loop {
                match recv.recv().await {
                    Ok(frames) => {
                        if tx.send(decode(&frames, &custom)).await.is_err() {
                            return;
                        }
                    }
                    Err(ZmqError::NoMessage) => {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    Err(e) => {
                        tracing::warn!("the master's socket: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }
        });
        Ok(Self {
            send,
            incoming,
            receiver,
            endpoint,
            port,
        })
    }

    /// The next message from any worker (cancel-safe).
    pub(crate) async fn recv(&mut self) -> Option<Incoming> {
        self.incoming.recv().await
    }

    /// Send `message` to the worker of `identity`; a failure is logged (a worker that
    /// went away is handled by its heartbeats).
    pub(crate) async fn send(&mut self, identity: &str, message: &MasterMessage) {
        let body = match message.encode(identity) {
            Ok(b) => b,
            Err(e) => {
                tracing::error!("cannot encode {message} for worker {identity}: {e}");
                return;
            }
        };
        let mut frames = ZmqMessage::from(identity.as_bytes().to_vec());
        frames.push_back(body.into());
        match tokio::time::timeout(SEND_TIMEOUT, self.send.send(frames)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::debug!("{message} not sent to worker {identity}: {e}"),
            Err(_) => tracing::warn!("{message} to worker {identity} timed out"),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.receiver.abort();
    }
}

fn decode(frames: &ZmqMessage, custom: &CustomTypes) -> Incoming {
    let identity = frames
        .get(0)
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .unwrap_or_default();
    let message = if frames.len() == 2 {
        let body = frames.get(1).map(|b| b.as_ref()).unwrap_or_default();
        WorkerMessage::decode_with(body, custom)
    } else {
        Err(ProtoError::NotAnEnvelope {
            found: format!(
                "a ZeroMQ message of {} frames (one is expected)",
                frames.len().saturating_sub(1)
            ),
        })
    };
    Incoming { identity, message }
}
