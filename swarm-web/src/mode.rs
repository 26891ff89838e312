//! `--web` and `--metrics-bind` as a run mode of a scenario binary.

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use swarm_core::cli::{ModeContext, RunMode};
use swarm_core::report::exit_code;

use crate::control::{Controller, StartRequest};
use crate::error::WebError;
use crate::master_link::MasterLink;
use crate::metrics_server::Source;
use crate::options::{self, WebFlags};

/// The web UI (`--web`) and the Prometheus endpoint (`--metrics-bind`) of a scenario
/// binary. Compose it into the binary's `main`:
///
/// ```no_run
/// fn main() -> std::process::ExitCode {
///     swarm_core::cli::App::new()
///         .mode(swarm_web::WebUi::new())
///         .main()
/// }
/// ```
///
/// Then `scenario --web` serves the UI on <http://127.0.0.1:8089>; with `-u` the run starts
/// at once, otherwise from the browser. `--metrics-bind 127.0.0.1:9646` alone keeps the
/// command-line run as it is and adds `/metrics` beside it. Without either flag, the
/// binary runs as it always did.
///
/// A master mode composed through [`WebUi::beside_master`] makes `--master --web` serve
/// a page of the master's run and its workers, from which the run is started, changed
/// and stopped when the master takes commands (read-only otherwise).
#[derive(Default)]
pub struct WebUi {
    master: Option<Beside>,
}

/// A master mode and the link to it the page uses.
struct Beside {
    mode: Box<dyn RunMode>,
    link: Arc<dyn MasterLink>,
}

impl std::fmt::Debug for WebUi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebUi")
            .field("beside_master", &self.master.is_some())
            .finish()
    }
}

impl WebUi {
    /// The mode, with Locust's defaults (127.0.0.1:8089).
    pub fn new() -> Self {
        Self::default()
    }

    /// Compose a master mode (say `swarm_distributed::LocustMaster`) into this one: its
    /// flags are added, its flag selects it as ever, and with `--web` too the master's
    /// run is shown on a page whose `GET /stats/requests` carries Locust's `workers` and
    /// `worker_count`, read from `link` at each request. A link that takes commands
    /// ([`MasterLink::connect`]) makes the page steer the master as Locust's does:
    /// without `-u` the master waits for a start from the browser, `POST /swarm` starts
    /// or changes the run, `POST /stop` stops it, and the downloads give its statistics
    /// so far; `--metrics-bind` serves them too. A closure `Fn() -> MasterView` makes a
    /// read-only page. Put this mode where the master mode would go.
    ///
    /// ```no_run
    /// # fn master() -> impl swarm_core::cli::RunMode { swarm_web::WebUi::new() }
    /// let web = swarm_web::WebUi::new().beside_master(master(), || swarm_web::MasterView {
    ///     state: "running".to_owned(),
    ///     ..Default::default()
    /// });
    /// # let _ = web;
    /// ```
    #[must_use]
    pub fn beside_master(mut self, mode: impl RunMode, link: impl MasterLink) -> Self {
        self.master = Some(Beside {
            mode: Box::new(mode),
            link: Arc::new(link),
        });
        self
    }
}

impl RunMode for WebUi {
    fn augment(&self, cmd: clap::Command) -> clap::Command {
        let cmd = match &self.master {
            Some(b) => b.mode.augment(cmd),
            None => cmd,
        };
        options::augment(cmd)
    }

    fn selected(&self, matches: &clap::ArgMatches) -> bool {
        let flags = WebFlags::from_matches(matches);
        flags.web
            || flags.metrics_bind.is_some()
            || self
                .master
                .as_ref()
                .is_some_and(|b| b.mode.selected(matches))
    }

    fn run(self: Box<Self>, ctx: ModeContext) -> BoxFuture<'static, Result<u8, swarm_core::Error>> {
        Box::pin(async move {
            let outcome = match self.master {
                Some(b) if b.mode.selected(ctx.matches()) => run_beside(ctx, b).await,
                _ => run(ctx).await,
            };
            match outcome {
                Ok(code) => Ok(code),
                Err(Failure::Startup(e)) => {
                    eprintln!("error: {e}");
                    Ok(exit_code::CONFIG)
                }
                Err(Failure::Core(e)) => Err(e),
            }
        })
    }
}

enum Failure {
    Startup(WebError),
    Core(swarm_core::Error),
}

impl From<WebError> for Failure {
    fn from(e: WebError) -> Self {
        Failure::Startup(e)
    }
}

fn scheme(tls: bool) -> &'static str {
    if tls {
        "https"
    } else {
        "http"
    }
}

async fn run(mut ctx: ModeContext) -> Result<u8, Failure> {
    let flags = WebFlags::from_matches(ctx.matches());
    let creds = flags.credentials()?.map(Arc::new);
    let tls = flags.tls()?;
    let auth_note = if creds.is_some() {
        " (HTTP Basic auth)"
    } else {
        ""
    };
    let metrics = match &flags.metrics_bind {
        Some(addr) => Some(options::bind("--metrics-bind", addr, creds.is_some()).await?),
        None => None,
    };
    let metrics_handle = axum_server::Handle::new();
    let serve_metrics = {
        let (tls, creds, handle) = (tls.clone(), creds.clone(), metrics_handle.clone());
        move |listener: std::net::TcpListener, source: Source| {
            if let Ok(addr) = listener.local_addr() {
                eprintln!(
                    "metrics: {}://{addr}/metrics{auth_note}",
                    scheme(tls.is_some())
                );
            }
            crate::server::spawn(
                "metrics",
                listener,
                tls,
                crate::metrics_server::router(source, creds),
                handle,
            );
        }
    };
    if !flags.web {
        // --metrics-bind alone: the command-line run as ever, the endpoint beside it.
        let Some(listener) = metrics else {
            return Ok(exit_code::OK);
        };
        return ctx
            .run_headless(move |handle| serve_metrics(listener, Source::Handle(handle)))
            .await
            .map_err(Failure::Core);
    }
    let addr = options::host_port(&flags.web_host, flags.web_port);
    let web = options::bind("--web-host", &addr, creds.is_some()).await?;
    let host = match ctx.config().host.clone() {
        Some(h) => Some(h),
        None => ctx.default_host().await.map_err(Failure::Core)?,
    };
    let autostart = ctx
        .matches()
        .try_get_one::<u32>("users")
        .ok()
        .flatten()
        .is_some();
    let (users, spawn_rate) = (ctx.config().users, ctx.config().spawn_rate);
    // The downloads of a run in progress compare with the baseline, as its end report.
    ctx.load_baseline().map_err(Failure::Core)?;
    let ctl = Controller::new(ctx, host);
    let web_handle = axum_server::Handle::new();
    let local = web.local_addr().map_or(addr, |a| a.to_string());
    crate::server::spawn(
        "web UI",
        web,
        tls.clone(),
        crate::api::router(Arc::clone(&ctl), creds.clone()),
        web_handle.clone(),
    );
    eprintln!("web UI: {}://{local}/{auth_note}", scheme(tls.is_some()));
    if let Some(listener) = metrics {
        serve_metrics(listener, Source::Web(Arc::clone(&ctl)));
    }
    if autostart {
        let started = ctl.start(&StartRequest {
            users,
            spawn_rate,
            ..StartRequest::default()
        });
        if let Err(e) = started {
            eprintln!("error: cannot start the run: {e}");
            return Ok(exit_code::CONFIG);
        }
    }
    wait_for_quit(&ctl, flags.autoquit.map(Duration::from_secs)).await;
    web_handle.graceful_shutdown(Some(Duration::from_secs(1)));
    metrics_handle.graceful_shutdown(Some(Duration::from_secs(1)));
    Ok(ctl.exit_code())
}

/// The master's run, with its page (and `/metrics`) beside it while it lasts.
async fn run_beside(ctx: ModeContext, b: Beside) -> Result<u8, Failure> {
    let flags = WebFlags::from_matches(ctx.matches());
    if !flags.web && flags.metrics_bind.is_none() {
        return b.mode.run(ctx).await.map_err(Failure::Core);
    }
    let creds = flags.credentials()?.map(Arc::new);
    let tls = flags.tls()?;
    let auth_note = if creds.is_some() {
        " (HTTP Basic auth)"
    } else {
        ""
    };
    let metrics = match &flags.metrics_bind {
        Some(addr) => Some(options::bind("--metrics-bind", addr, creds.is_some()).await?),
        None => None,
    };
    let web = if flags.web {
        let addr = options::host_port(&flags.web_host, flags.web_port);
        Some((
            options::bind("--web-host", &addr, creds.is_some()).await?,
            addr,
        ))
    } else {
        None
    };
    // Only the page steers: with --metrics-bind alone the master runs as ever.
    let steer = web.is_some() && b.link.connect();
    let web_handle = axum_server::Handle::new();
    if let Some((web, addr)) = web {
        let c = ctx.config();
        let host = c.host.as_ref().map(ToString::to_string);
        let settings = serde_json::json!({
            "host": host,
            "user_count": c.users,
            "spawn_rate": c.spawn_rate,
            "run_time_secs": c.run_time.map(|d| d.as_secs_f64()),
            "user_types": ctx.user_types(),
            "version": env!("CARGO_PKG_VERSION"),
            "read_only": !steer,
        });
        let local = web.local_addr().map_or(addr, |a| a.to_string());
        crate::server::spawn(
            "web UI",
            web,
            tls.clone(),
            crate::master_view::router(Arc::clone(&b.link), steer, settings, host, creds.clone()),
            web_handle.clone(),
        );
        let what = if steer {
            "the master's run and its workers"
        } else {
            "read-only: the master's run and its workers"
        };
        eprintln!(
            "web UI: {}://{local}/{auth_note} ({what})",
            scheme(tls.is_some())
        );
    }
    let metrics_handle = axum_server::Handle::new();
    if let Some(listener) = metrics {
        if let Ok(addr) = listener.local_addr() {
            eprintln!(
                "metrics: {}://{addr}/metrics{auth_note}",
                scheme(tls.is_some())
            );
        }
        crate::server::spawn(
            "metrics",
            listener,
            tls,
            crate::metrics_server::router(Source::Master(Arc::clone(&b.link)), creds),
            metrics_handle.clone(),
        );
    }
    let code = b.mode.run(ctx).await.map_err(Failure::Core);
    web_handle.graceful_shutdown(Some(Duration::from_secs(1)));
    metrics_handle.graceful_shutdown(Some(Duration::from_secs(1)));
    code
}

/// Serve until Ctrl-C or SIGTERM (which first stop a running run and wait for its
/// report; a second one cancels its tasks), or until `autoquit` after a run ends.
async fn wait_for_quit(ctl: &Controller, autoquit: Option<Duration>) {
    let mut finished = ctl.finished();
    let mut signals = Signals::new();
    let mut quitting = false;
    loop {
        tokio::select! {
            () = signals.next() => {
                if quitting {
                    ctl.kill();
                    continue;
                }
                if !ctl.stop() {
                    return;
                }
                eprintln!("\nstopping (press Ctrl-C again to cancel running tasks)...");
                quitting = true;
            }
            changed = finished.changed() => {
                if changed.is_err() || quitting {
                    return;
                }
                if let Some(after) = autoquit {
                    tokio::select! {
                        () = tokio::time::sleep(after) => return,
                        () = signals.next() => return,
                    }
                }
            }
        }
    }
}

/// Ctrl-C and SIGTERM.
struct Signals {
    #[cfg(unix)]
    streams: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
}

impl Signals {
    fn new() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let streams = signal(SignalKind::interrupt())
                .and_then(|i| signal(SignalKind::terminate()).map(|t| (i, t)))
                .ok();
            Signals { streams }
        }
        #[cfg(not(unix))]
        Signals {}
    }

    async fn next(&mut self) {
        #[cfg(unix)]
        if let Some((int, term)) = &mut self.streams {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
            return;
        }
        let _ = tokio::signal::ctrl_c().await;
    }
}
