//! Opening a WebSocket: the options of the opening handshake, the URL, and the
//! recorded connect that starts the socket's task.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use swarm_core::{Recorder, Sample, UserContext};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use url::Url;

use super::socket::{self, Interceptor, Shared};
#[cfg(feature = "tls")]
use super::tls;
use super::{error, Correlator, WsClient, WsError, WsMessage, CONNECT_KIND, INBOX};

/// Opens a [`WsClient`]: from [`WsClient::connect`] or [`WsClient::standalone`].
pub struct WsConnect {
    base: Option<Url>,
    target: String,
    name: Option<String>,
    headers: Vec<(String, String)>,
    timeout: Duration,
    correlate: Option<Arc<Correlator>>,
    intercept: Option<Interceptor>,
    accept_invalid_certs: bool,
    max_message_size: usize,
    recorder: Recorder,
    #[cfg(feature = "tls")]
    tls: Option<Arc<tls::TlsConfigs>>,
}

impl fmt::Debug for WsConnect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WsConnect")
            .field("target", &self.target)
            .field("name", &self.name)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl WsConnect {
    /// Record the connect as this name, and use it in `close <name>` and
    /// `send <name>` (default: the URL's path).
    #[must_use]
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// A header for the opening handshake.
    #[must_use]
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Give up on the connect, and on a receive or round trip that names no time-out of
    /// its own, after this long (default 30 s).
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How to find a message's correlation key for [`WsClient::request`] and
    /// [`WsClient::recv_key`]. Messages without a key are not replies.
    #[must_use]
    pub fn correlate(
        mut self,
        key: impl Fn(&WsMessage) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        self.correlate = Some(Arc::new(key));
        self
    }

    /// Correlate JSON messages by the value at a JSON pointer (`/id`, `/meta/request`):
    /// a string as it is, any other value as its JSON text.
    #[must_use]
    pub fn correlate_json(self, pointer: &str) -> Self {
        let pointer = pointer.to_owned();
        self.correlate(move |m| {
            let v: serde_json::Value = m.parse_json().ok()?;
            match v.pointer(&pointer)? {
                serde_json::Value::String(s) => Some(s.clone()),
                serde_json::Value::Null => None,
                other => Some(other.to_string()),
            }
        })
    }

    /// A hook the socket task runs on every received message, before the user sees it
    /// (a protocol's keep-alive answered even while the user is idle).
    #[must_use]
    pub(crate) fn intercept(mut self, hook: Interceptor) -> Self {
        self.intercept = Some(hook);
        self
    }

    /// Accept invalid TLS certificates (self-signed test targets). Needs the `tls`
    /// feature.
    #[must_use]
    pub fn accept_invalid_certs(mut self, yes: bool) -> Self {
        self.accept_invalid_certs = yes;
        self
    }

    /// Refuse received messages larger than this (default 16 MiB): the connection then
    /// fails.
    #[must_use]
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.max_message_size = bytes;
        self
    }

    /// The URL to connect to: the target on the base, with `http`/`https` mapped to
    /// `ws`/`wss`.
    fn url(&self) -> Result<Url, String> {
        let has_scheme = self.target.contains("://");
        let mut url = if has_scheme {
            Url::parse(&self.target).map_err(|e| e.to_string())?
        } else {
            let base = self
                .base
                .as_ref()
                .ok_or("a relative path needs a host (--host)")?;
            base.join(&self.target).map_err(|e| e.to_string())?
        };
        let scheme = match url.scheme() {
            "ws" | "http" => "ws",
            "wss" | "https" => "wss",
            other => return Err(format!("scheme {other:?} is not ws, wss, http or https")),
        };
        if url.scheme() != scheme {
            url.set_scheme(scheme)
                .map_err(|()| format!("cannot use scheme {scheme}"))?;
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err("no host".to_owned());
        }
        if scheme == "wss" && !cfg!(feature = "tls") {
            return Err("wss:// needs the `tls` feature of swarm-http".to_owned());
        }
        Ok(url)
    }

    /// Connect and do the opening handshake; recorded under kind [`CONNECT_KIND`].
    pub async fn connect(self) -> Result<WsClient, WsError> {
        let url = match self.url() {
            Ok(u) => u,
            Err(message) => {
                let name = self.name.clone().unwrap_or_else(|| self.target.clone());
                self.recorder
                    .record(&Sample::new(CONNECT_KIND, &name, Duration::ZERO).failure(&message));
                return Err(WsError::InvalidUrl {
                    url: self.target,
                    message,
                });
            }
        };
        let name = self.name.clone().unwrap_or_else(|| url.path().to_owned());
        let mut request = url
            .as_str()
            .into_client_request()
            .map_err(|e| WsError::InvalidUrl {
                url: self.target.clone(),
                message: error::describe(&e),
            })?;
        for (k, v) in &self.headers {
            let n = HeaderName::from_bytes(k.as_bytes())
                .map_err(|e| WsError::Config(format!("invalid header name {k:?}: {e}")))?;
            let v = HeaderValue::from_str(v)
                .map_err(|e| WsError::Config(format!("invalid value for header {k:?}: {e}")))?;
            request.headers_mut().insert(n, v);
        }
        let config = WebSocketConfig::default()
            // 128 KiB up front per socket by default; the buffer grows when a message needs it.
            .read_buffer_size(4096)
            .write_buffer_size(0)
            .max_message_size(Some(self.max_message_size))
            .max_frame_size(Some(self.max_message_size));
        #[cfg(feature = "tls")]
        let handshake = {
            let connector = self.connector()?;
            tokio_tungstenite::connect_async_tls_with_config(request, Some(config), true, connector)
        };
        #[cfg(not(feature = "tls"))]
        let handshake = tokio_tungstenite::connect_async_with_config(request, Some(config), true);
        let start = Instant::now();
        let outcome = tokio::time::timeout(self.timeout, handshake).await;
        let elapsed = start.elapsed();
        let (ws, response) = match outcome {
            Ok(Ok(pair)) => pair,
            Ok(Err(e)) => {
                let status = match &e {
                    tokio_tungstenite::tungstenite::Error::Http(r) => Some(r.status().as_u16()),
                    _ => None,
                };
                let message = error::describe(&e);
                let mut sample = Sample::new(CONNECT_KIND, &name, elapsed).failure(&message);
                if let Some(s) = status {
                    sample = sample.code(i64::from(s));
                }
                self.recorder.record(&sample);
                return Err(WsError::Connect {
                    name,
                    status,
                    message,
                });
            }
            Err(_) => {
                let message = format!("no handshake within {:?}", self.timeout);
                self.recorder
                    .record(&Sample::new(CONNECT_KIND, &name, elapsed).failure(&message));
                return Err(WsError::Connect {
                    name,
                    status: None,
                    message,
                });
            }
        };
        self.recorder.record(
            &Sample::new(CONNECT_KIND, &name, elapsed).code(i64::from(response.status().as_u16())),
        );
        let (out_tx, out_rx) = mpsc::channel(INBOX);
        let (in_tx, in_rx) = mpsc::channel(INBOX);
        let shared = Arc::new(Shared::default());
        tokio::spawn(socket::run(
            ws,
            out_rx,
            in_tx,
            self.intercept,
            shared.clone(),
        ));
        Ok(WsClient::open(
            name,
            out_tx,
            in_rx,
            self.correlate,
            self.timeout,
            self.recorder,
            shared,
        ))
    }

    #[cfg(feature = "tls")]
    fn connector(&self) -> Result<Option<tokio_tungstenite::Connector>, WsError> {
        let configs = self.tls.clone().unwrap_or_default();
        let config = configs.get(self.accept_invalid_certs)?;
        Ok(Some(tokio_tungstenite::Connector::Rustls(config)))
    }
}

impl WsClient {
    /// Open a WebSocket for this user: `path` relative to the run's host (`http` becomes
    /// `ws`, `https` becomes `wss`), or an absolute `ws://` / `wss://` URL.
    pub fn connect(ctx: &UserContext, path: &str) -> WsConnect {
        let mut c = Self::standalone(path, ctx.recorder().clone());
        c.base = ctx.host().cloned();
        #[cfg(feature = "tls")]
        {
            c.tls = Some(ctx.shared(tls::TlsConfigs::default));
        }
        c
    }

    /// Open a WebSocket outside a run, recording into `recorder`; `url` is absolute.
    pub fn standalone(url: &str, recorder: Recorder) -> WsConnect {
        WsConnect {
            base: None,
            target: url.to_owned(),
            name: None,
            headers: Vec::new(),
            timeout: Duration::from_secs(30),
            correlate: None,
            intercept: None,
            accept_invalid_certs: false,
            max_message_size: 16 << 20,
            recorder,
            #[cfg(feature = "tls")]
            tls: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(base: Option<&str>, path: &str) -> Result<Url, String> {
        let ctx = UserContext::detached(base.map(|b| Url::parse(b).unwrap()), 1);
        WsClient::connect(&ctx, path).url()
    }

    #[test]
    fn urls_map_http_to_ws_and_refuse_other_schemes() {
        let base = Some("http://127.0.0.1:8089");
        assert_eq!(
            target(base, "/ws/echo").unwrap().as_str(),
            "ws://127.0.0.1:8089/ws/echo"
        );
        assert_eq!(
            target(base, "ws://127.0.0.2:9/x").unwrap().as_str(),
            "ws://127.0.0.2:9/x"
        );
        assert_eq!(
            target(None, "http://127.0.0.2:9/x?q=1").unwrap().as_str(),
            "ws://127.0.0.2:9/x?q=1"
        );
        let err = target(base, "ftp://127.0.0.1/x").unwrap_err();
        assert!(err.contains("\"ftp\" is not ws"), "{err}");
        let err = target(None, "/ws/echo").unwrap_err();
        assert!(err.contains("needs a host"), "{err}");
        let wss = target(None, "wss://127.0.0.1:1/x");
        if cfg!(feature = "tls") {
            assert_eq!(wss.unwrap().scheme(), "wss");
        } else {
            assert!(wss.unwrap_err().contains("`tls` feature"));
        }
    }
}
