//! The task that owns one WebSocket: it reads all the time (so pings are answered and a
//! server's close is seen even while the user waits between tasks), hands data messages
//! to the user through a bounded channel, and writes what the user sends.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use super::error::describe;
use super::message::WsMessage;

/// How long the task waits for the server's answer to a close, or for the stream's end
/// after the server closed.
const CLOSE_WAIT: Duration = Duration::from_secs(5);

/// What a hook decides about a received data message, before the user sees it.
#[derive(Debug)]
pub(crate) enum Intercept {
    /// Hand it to the user.
    Deliver,
    /// Answer it with this message and do not hand it to the user (a keep-alive ping).
    Reply(WsMessage),
}

/// A hook run by the socket task on every received data message.
pub(crate) type Interceptor = Box<dyn FnMut(&WsMessage) -> Intercept + Send>;

/// A request from the user to the socket task.
#[derive(Debug)]
pub(crate) enum Outgoing {
    Message(WsMessage),
    /// Send a close frame with this code and reason, then wait for the server's.
    Close(u16, String),
}

/// How a connection ended.
#[derive(Debug, Clone)]
pub(crate) struct Ended {
    /// Whether the user asked for the close.
    pub(crate) by_client: bool,
    /// The close code the server sent, if it sent one.
    pub(crate) code: Option<u16>,
    /// A message naming the cause (`closed by the server (1000 bye)`).
    pub(crate) reason: String,
}

/// State the socket task shares with the user's side.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    pub(crate) ended: OnceLock<Ended>,
}

fn server_close(frame: Option<&CloseFrame>) -> (Option<u16>, String) {
    match frame {
        Some(f) => {
            let code = u16::from(f.code);
            let reason = if f.reason.is_empty() {
                format!("closed by the server ({code})")
            } else {
                format!("closed by the server ({code} {})", f.reason.as_str())
            };
            (Some(code), reason)
        }
        None => (None, "closed by the server (no status)".to_owned()),
    }
}

/// Run the socket until it closes or the user's side is dropped.
pub(crate) async fn run<S>(
    mut ws: WebSocketStream<S>,
    mut out: mpsc::Receiver<Outgoing>,
    inbox: mpsc::Sender<WsMessage>,
    mut intercept: Option<Interceptor>,
    shared: Arc<Shared>,
) where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let ended = loop {
        tokio::select! {
            frame = ws.next() => match frame {
                Some(Ok(Message::Close(frame))) => {
                    let (code, reason) = server_close(frame.as_ref());
                    // tungstenite has queued the answering close; drive it out.
                    let _ = tokio::time::timeout(CLOSE_WAIT, async {
                        while let Some(Ok(_)) = ws.next().await {}
                    })
                    .await;
                    break Ended { by_client: false, code, reason };
                }
                Some(Ok(m)) => {
                    // Pings are answered by tungstenite on the next read; pongs are ignored.
                    let Some(msg) = WsMessage::from_frame(m) else { continue };
                    let verdict = match intercept.as_mut() {
                        Some(f) => f(&msg),
                        None => Intercept::Deliver,
                    };
                    match verdict {
                        Intercept::Deliver => {
                            // A full inbox holds the socket back (TCP back-pressure), as a
                            // client that reads slowly would.
                            if inbox.send(msg).await.is_err() {
                                let _ = ws.close(None).await;
                                return;
                            }
                        }
                        Intercept::Reply(reply) => {
                            if let Some(frame) = reply.into_frame() {
                                if let Err(e) = ws.send(frame).await {
                                    break ended_by_error(&e);
                                }
                            }
                        }
                    }
                }
                Some(Err(e)) => break ended_by_error(&e),
                None => break Ended {
                    by_client: false,
                    code: None,
                    reason: "connection closed without a close frame".to_owned(),
                },
            },
            cmd = out.recv() => match cmd {
                Some(Outgoing::Message(m)) => {
                    if let Some(frame) = m.into_frame() {
                        if let Err(e) = ws.send(frame).await {
                            break ended_by_error(&e);
                        }
                    }
                }
                Some(Outgoing::Close(code, reason)) => {
                    break close(&mut ws, code, reason).await;
                }
                None => {
                    // The user's side was dropped without a close.
                    let _ = tokio::time::timeout(CLOSE_WAIT, ws.close(None)).await;
                    return;
                }
            },
        }
    };
    let _ = shared.ended.set(ended);
    // Dropping `inbox` tells the user's side that the connection is over.
}

fn ended_by_error(e: &tokio_tungstenite::tungstenite::Error) -> Ended {
    Ended {
        by_client: false,
        code: None,
        reason: describe(e),
    }
}

/// Send a close and wait (bounded) for the server's; data arriving meanwhile is dropped.
async fn close<S>(ws: &mut WebSocketStream<S>, code: u16, reason: String) -> Ended
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let frame = CloseFrame {
        code: CloseCode::from(code),
        reason: reason.into(),
    };
    if let Err(e) = ws.send(Message::Close(Some(frame))).await {
        return ended_by_error(&e);
    }
    let answer = tokio::time::timeout(CLOSE_WAIT, async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(frame))) => {
                    let (code, _) = server_close(frame.as_ref());
                    // Read on to the end so the closing handshake completes.
                    while let Some(Ok(_)) = ws.next().await {}
                    return Ok(code);
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(describe(&e)),
                None => return Ok(None),
            }
        }
    })
    .await;
    match answer {
        Ok(Ok(code)) => Ended {
            by_client: true,
            code,
            reason: "closed by the client".to_owned(),
        },
        Ok(Err(reason)) => Ended {
            by_client: true,
            code: None,
            reason,
        },
        Err(_) => Ended {
            by_client: true,
            code: None,
            reason: format!("the server did not answer the close within {CLOSE_WAIT:?}"),
        },
    }
}
