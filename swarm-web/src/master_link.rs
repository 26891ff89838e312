//! What the web UI needs of a master beside it: a view of its run and workers, and,
//! when it can be steered, its commands and a report of the statistics so far.

use std::time::Duration;

use futures::future::BoxFuture;
use swarm_core::Report;

use crate::master_view::MasterView;

/// A command from the web UI to a master (Locust's `POST /swarm`, `POST /stop` and the
/// statistics reset).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum MasterCommand {
    /// Start a run over the master's workers, or change the users of the one running.
    Start {
        /// Users over all workers.
        users: u32,
        /// Users started per second (checked: above 0).
        spawn_rate: f64,
        /// The target host from the form; `None` keeps the master's.
        host: Option<String>,
        /// Stop the run after this long (only when a run starts).
        run_time: Option<Duration>,
    },
    /// Stop the run; the workers stay, ready for the next start.
    Stop,
    /// Forget the statistics so far; the run goes on.
    ResetStats,
}

/// The master beside the web UI, as the page sees it. A closure `Fn() -> MasterView` is
/// one (a read-only page); a master that takes commands implements
/// [`MasterLink::connect`], [`MasterLink::command`] and [`MasterLink::report`] too.
///
/// ```no_run
/// use futures::future::BoxFuture;
/// use swarm_web::{MasterCommand, MasterLink, MasterView};
///
/// struct Link;
///
/// impl MasterLink for Link {
///     fn view(&self) -> MasterView {
///         MasterView { state: "ready".to_owned(), ..Default::default() }
///     }
///     fn connect(&self) -> bool {
///         true
///     }
///     fn command(&self, command: MasterCommand) -> BoxFuture<'static, Result<String, String>> {
///         Box::pin(async move { Err(format!("{command:?}: not built")) })
///     }
/// }
/// let web = swarm_web::WebUi::new().beside_master(swarm_web::WebUi::new(), Link);
/// # let _ = web;
/// ```
pub trait MasterLink: Send + Sync + 'static {
    /// The master's state now, read on every `GET /stats/requests`.
    fn view(&self) -> MasterView;

    /// Called once when `--master --web` starts, before the master runs: a master that
    /// takes commands gets ready to (it waits for a start when `-u` is not given) and
    /// answers `true`; the page then shows the controls. The default is read-only.
    fn connect(&self) -> bool {
        false
    }

    /// Carry out a command: Locust's message (`Swarming started`, ...), or why not (a
    /// 400 answer).
    fn command(&self, command: MasterCommand) -> BoxFuture<'static, Result<String, String>> {
        let _ = command;
        Box::pin(async { Err("this master cannot be steered from the web UI".to_owned()) })
    }

    /// A report of the statistics so far (the downloads), and whether the run goes on;
    /// `None` when no run started yet.
    fn report(&self) -> Option<(Report, bool)> {
        None
    }
}

impl<F> MasterLink for F
where
    F: Fn() -> MasterView + Send + Sync + 'static,
{
    fn view(&self) -> MasterView {
        self()
    }
}
