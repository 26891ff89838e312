//! The flags of the web UI and the metrics endpoint, and what they resolve to at startup:
//! credentials, TLS configuration and bound listeners (loopback unless credentials).

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::Arc;

use clap::{Arg, ArgAction, ArgMatches, Command};

use crate::auth::Credentials;
use crate::error::WebError;

const HEADING: &str = "Web UI and metrics";

/// Add the flags to a command line.
pub(crate) fn augment(cmd: Command) -> Command {
    cmd.arg(
        Arg::new("web")
            .long("web")
            .action(ArgAction::SetTrue)
            .help("Serve the web UI (Locust's routes); with -u the run starts at once, otherwise from the browser")
            .help_heading(HEADING),
    )
    .arg(
        Arg::new("web_host")
            .long("web-host")
            .env("SWARM_WEB_HOST")
            .value_name("HOST")
            .default_value("127.0.0.1")
            .help("With --web: the address to listen on (another than loopback needs --web-auth)")
            .help_heading(HEADING),
    )
    .arg(
        Arg::new("web_port")
            .long("web-port")
            .env("SWARM_WEB_PORT")
            .value_name("PORT")
            .value_parser(clap::value_parser!(u16))
            .default_value("8089")
            .help("With --web: the port (0: any free port, printed at startup)")
            .help_heading(HEADING),
    )
    .arg(
        Arg::new("web_auth")
            .long("web-auth")
            .env("SWARM_WEB_AUTH")
            .hide_env_values(true)
            .value_name("USER:PASS")
            .conflicts_with("web_auth_file")
            .help("HTTP Basic credentials every route of the web UI and metrics endpoint requires")
            .help_heading(HEADING),
    )
    .arg(
        Arg::new("web_auth_file")
            .long("web-auth-file")
            .env("SWARM_WEB_AUTH_FILE")
            .value_name("FILE")
            .value_parser(clap::value_parser!(PathBuf))
            .help("Read the USER:PASS credentials from this file (first line)")
            .help_heading(HEADING),
    )
    .arg(
        Arg::new("tls_cert")
            .long("tls-cert")
            .env("SWARM_TLS_CERT")
            .value_name("PEM")
            .value_parser(clap::value_parser!(PathBuf))
            .help("Serve HTTPS with this certificate chain (PEM; with --tls-key)")
            .help_heading(HEADING),
    )
    .arg(
        Arg::new("tls_key")
            .long("tls-key")
            .env("SWARM_TLS_KEY")
            .value_name("PEM")
            .value_parser(clap::value_parser!(PathBuf))
            .help("The private key of --tls-cert (PEM)")
            .help_heading(HEADING),
    )
    .arg(
        Arg::new("autoquit")
            .long("autoquit")
            .value_name("SECONDS")
            .value_parser(clap::value_parser!(u64))
            .help("With --web: quit this many seconds after the run ends (default: serve until Ctrl-C)")
            .help_heading(HEADING),
    )
    .arg(
        Arg::new("metrics_bind")
            .long("metrics-bind")
            .env("SWARM_METRICS_BIND")
            .value_name("ADDR")
            .help("Serve Prometheus metrics at http://ADDR/metrics (with or without --web), e.g. 127.0.0.1:9646")
            .help_heading(HEADING),
    )
}

/// What the flags say.
#[derive(Debug, Clone)]
pub(crate) struct WebFlags {
    pub(crate) web: bool,
    pub(crate) web_host: String,
    pub(crate) web_port: u16,
    auth: Option<String>,
    auth_file: Option<PathBuf>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    pub(crate) autoquit: Option<u64>,
    pub(crate) metrics_bind: Option<String>,
}

impl WebFlags {
    pub(crate) fn from_matches(m: &ArgMatches) -> Self {
        let s = |id: &str| m.try_get_one::<String>(id).ok().flatten().cloned();
        let p = |id: &str| m.try_get_one::<PathBuf>(id).ok().flatten().cloned();
        WebFlags {
            web: m.try_get_one::<bool>("web").ok().flatten().copied() == Some(true),
            web_host: s("web_host").unwrap_or_else(|| "127.0.0.1".to_owned()),
            web_port: m
                .try_get_one::<u16>("web_port")
                .ok()
                .flatten()
                .copied()
                .unwrap_or(8089),
            auth: s("web_auth"),
            auth_file: p("web_auth_file"),
            tls_cert: p("tls_cert"),
            tls_key: p("tls_key"),
            autoquit: m.try_get_one::<u64>("autoquit").ok().flatten().copied(),
            metrics_bind: s("metrics_bind"),
        }
    }

    /// The credentials, from the flag, the environment or the file.
    pub(crate) fn credentials(&self) -> Result<Option<Credentials>, WebError> {
        if let Some(a) = &self.auth {
            return Credentials::parse(a, "--web-auth / SWARM_WEB_AUTH").map(Some);
        }
        if let Some(path) = &self.auth_file {
            let text = std::fs::read_to_string(path).map_err(|source| WebError::ReadFile {
                what: "the credentials file",
                path: path.clone(),
                source,
            })?;
            let line = text.lines().next().unwrap_or("").trim();
            return Credentials::parse(line, &format!("--web-auth-file {}", path.display()))
                .map(Some);
        }
        Ok(None)
    }

    /// The TLS configuration, when a certificate and key are given.
    pub(crate) fn tls(&self) -> Result<Option<Arc<rustls::ServerConfig>>, WebError> {
        match (&self.tls_cert, &self.tls_key) {
            (None, None) => Ok(None),
            (Some(cert), Some(key)) => crate::tls::server_config(cert, key).map(Some),
            _ => Err(WebError::TlsPair),
        }
    }
}

/// Resolve `host:port`, refuse a non-loopback address without credentials, and bind.
pub(crate) async fn bind(
    what: &'static str,
    addr: &str,
    authenticated: bool,
) -> Result<TcpListener, WebError> {
    let bad = |reason: String| WebError::BadAddress {
        what,
        addr: addr.to_owned(),
        reason,
    };
    let resolved: Vec<SocketAddr> = tokio::net::lookup_host(addr)
        .await
        .map_err(|e| bad(e.to_string()))?
        .collect();
    let Some(first) = resolved.first().copied() else {
        return Err(bad("it resolves to no address".to_owned()));
    };
    if !authenticated && !resolved.iter().all(|a| a.ip().is_loopback()) {
        return Err(WebError::NonLoopbackWithoutAuth {
            what,
            addr: addr.to_owned(),
        });
    }
    let listener = TcpListener::bind(first).map_err(|source| WebError::Bind {
        what,
        addr: first.to_string(),
        source,
    })?;
    listener
        .set_nonblocking(true)
        .map_err(|source| WebError::Bind {
            what,
            addr: first.to_string(),
            source,
        })?;
    Ok(listener)
}

/// `host:port`, with brackets around an IPv6 literal.
pub(crate) fn host_port(host: &str, port: u16) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}
