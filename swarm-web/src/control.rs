//! The web UI's side of the control plane: one run at a time, started from the browser
//! (or at once with `-u`), steered and watched only through its [`RunnerHandle`]; after
//! it ends, its report stays on show until the next start.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use swarm_core::cli::ModeContext;
use swarm_core::{Report, ReportFiles, RunEvent, RunState, RunnerHandle, Snapshot};
use tokio::sync::watch;
use url::Url;

/// How many chart points are kept (two hours at one a second); older ones are dropped.
const MAX_POINTS: usize = 7_200;
/// The window of the "current" rates, as Locust's (about ten seconds).
const RATE_WINDOW_SECS: f64 = 10.0;

/// A command from the browser or a script that cannot be carried out: a 400 answer.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub(crate) struct Refused(pub(crate) String);

/// What `POST /swarm` asks for, checked.
#[derive(Debug, Clone, Default)]
pub(crate) struct StartRequest {
    pub(crate) users: u32,
    pub(crate) spawn_rate: f64,
    pub(crate) host: Option<String>,
    pub(crate) run_time: Option<Duration>,
    /// Locust's `user_classes` fields (sent by its class picker), if any.
    pub(crate) user_classes: Vec<String>,
}

/// One point of the charts: the runner's per-second progress.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct Point {
    /// A sequence number, for `?since=`.
    pub(crate) seq: u64,
    /// Unix seconds.
    pub(crate) time: u64,
    pub(crate) users: u32,
    pub(crate) rps: f64,
    pub(crate) fails_per_sec: f64,
    /// Latency percentiles of the last 10 s, bucketed as Locust's, in ms.
    pub(crate) p50_ms: Option<f64>,
    pub(crate) p95_ms: Option<f64>,
}

enum Phase {
    /// No run yet.
    Ready,
    Running(RunnerHandle),
    /// The last run ended: its report, or why it could not run.
    Finished(Result<Arc<Report>, String>),
}

struct Inner {
    phase: Phase,
    host: Option<Url>,
    run_id: u64,
}

/// Requests and failures per entry at one moment, for the current rates.
type Counts = HashMap<(String, String), (u64, u64)>;

/// The web UI's state, shared by every request handler.
pub(crate) struct Controller {
    ctx: Mutex<ModeContext>,
    inner: Mutex<Inner>,
    points: Mutex<VecDeque<Point>>,
    rates: Mutex<VecDeque<(f64, Counts)>>,
    /// The report files the run writes when it ends.
    files: ReportFiles,
    finished: watch::Sender<u64>,
}

impl std::fmt::Debug for Controller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Controller").finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The state of the UI as Locust names it.
#[derive(Debug, Clone)]
pub(crate) struct Current {
    pub(crate) state: &'static str,
    pub(crate) snapshot: Snapshot,
    pub(crate) users: u32,
    pub(crate) target_users: u32,
    pub(crate) user_counts: BTreeMap<String, u32>,
    pub(crate) host: Option<String>,
    pub(crate) last_error: Option<String>,
    pub(crate) report: Option<Arc<Report>>,
    /// Requests and failures per second over about the last 10 s, per (kind, name);
    /// the aggregate under ("", "Aggregated").
    pub(crate) current: HashMap<(String, String), (f64, f64)>,
    /// The newest chart point.
    pub(crate) last_point: Option<Point>,
}

fn state_name(s: RunState) -> &'static str {
    match s {
        RunState::Spawning => "spawning",
        RunState::Running => "running",
        RunState::Stopping => "stopping",
        _ => "stopped",
    }
}

/// Locust's `user_classes`: each must be a user type of this binary, and together they
/// must be all of them (the types of a run are chosen on the command line; a subset
/// from the UI is refused rather than silently run as the whole set).
fn check_user_classes(asked: &[String], known: &[String]) -> Result<(), Refused> {
    let list = known.join(", ");
    if let Some(unknown) = asked.iter().find(|a| !known.contains(a)) {
        return Err(Refused(format!(
            "unknown user class {unknown:?} in user_classes: this run has {list}"
        )));
    }
    if let Some(missing) = known.iter().find(|k| !asked.contains(k)) {
        return Err(Refused(format!(
            "user_classes leaves out {missing:?}: the user types are chosen on the command line ({list}); send all of them or none"
        )));
    }
    Ok(())
}

impl Controller {
    pub(crate) fn new(ctx: ModeContext, host: Option<Url>) -> Arc<Self> {
        let files = ReportFiles::of(ctx.config());
        Arc::new(Controller {
            ctx: Mutex::new(ctx),
            inner: Mutex::new(Inner {
                phase: Phase::Ready,
                host,
                run_id: 0,
            }),
            points: Mutex::new(VecDeque::new()),
            rates: Mutex::new(VecDeque::new()),
            files,
            finished: watch::Sender::new(0),
        })
    }

    /// The settings the start form shows first.
    pub(crate) fn settings(&self) -> serde_json::Value {
        // Never hold `ctx` while taking `inner`: `start` takes them the other way round.
        let host = lock(&self.inner).host.as_ref().map(ToString::to_string);
        let ctx = lock(&self.ctx);
        let c = ctx.config();
        serde_json::json!({
            "host": host,
            "user_count": c.users,
            "spawn_rate": c.spawn_rate,
            "run_time_secs": c.run_time.map(|d| d.as_secs_f64()),
            "user_types": ctx.user_types(),
            "version": env!("CARGO_PKG_VERSION"),
        })
    }

    /// Counts of finished runs; changes when a run ends.
    pub(crate) fn finished(&self) -> watch::Receiver<u64> {
        self.finished.subscribe()
    }

    fn running_handle(&self) -> Option<RunnerHandle> {
        match &lock(&self.inner).phase {
            Phase::Running(h) => Some(h.clone()),
            _ => None,
        }
    }

    /// Start a run, or change the users of the one running (Locust's `POST /swarm`).
    pub(crate) fn start(self: &Arc<Self>, req: &StartRequest) -> Result<&'static str, Refused> {
        if !(req.spawn_rate.is_finite() && req.spawn_rate > 0.0) {
            return Err(Refused(format!(
                "invalid spawn_rate {}: must be a number above 0",
                req.spawn_rate
            )));
        }
        if !req.user_classes.is_empty() {
            // Taken before `inner`, never while holding it.
            let known = lock(&self.ctx).user_types();
            check_user_classes(&req.user_classes, &known)?;
        }
        let mut inner = lock(&self.inner);
        if let Phase::Running(handle) = &inner.phase {
            if matches!(
                handle.status().borrow().state,
                RunState::Stopping | RunState::Stopped
            ) {
                return Err(Refused(
                    "the run is stopping; start again once it has stopped".to_owned(),
                ));
            }
            if req.run_time.is_some() {
                return Err(Refused(
                    "run_time can only be set when a run starts; stop this one first".to_owned(),
                ));
            }
            handle
                .set_spawn_rate(req.spawn_rate)
                .map_err(|e| Refused(e.to_string()))?;
            if !handle.set_users(req.users, req.spawn_rate) {
                return Err(Refused("the run is over".to_owned()));
            }
            return Ok("Users changed");
        }
        let host = match &req.host {
            Some(h) if !h.trim().is_empty() => Some(
                swarm_core::parse_host(h.trim())
                    .map_err(|e| Refused(format!("invalid host {h:?}: {e}")))?,
            ),
            _ => inner.host.clone(),
        };
        let mut swarm = lock(&self.ctx)
            .swarm()
            .users(req.users)
            .spawn_rate(req.spawn_rate);
        if let Some(h) = &host {
            swarm = swarm.host(h.as_str());
        }
        if let Some(t) = req.run_time {
            swarm = swarm.run_time(t);
        }
        let (handle, fut) = swarm.start().map_err(|e| Refused(e.to_string()))?;
        inner.host = host;
        inner.run_id += 1;
        let run_id = inner.run_id;
        lock(&self.points).clear();
        lock(&self.rates).clear();
        tokio::spawn(Arc::clone(self).follow(handle.subscribe()));
        inner.phase = Phase::Running(handle);
        drop(inner);
        let this = Arc::clone(self);
        tokio::spawn(async move {
            let result = fut.await;
            this.finish(run_id, result).await;
        });
        Ok("Swarming started")
    }

    /// Keep the chart points of a run from its per-second progress.
    async fn follow(self: Arc<Self>, mut events: tokio::sync::broadcast::Receiver<RunEvent>) {
        let mut seq = 0u64;
        loop {
            match events.recv().await {
                Ok(RunEvent::Progress(p)) => {
                    seq += 1;
                    let bucket = |ms: Option<f64>| {
                        ms.map(|v| swarm_core::locust_bucket_ms((v * 1000.0) as u64) as f64)
                    };
                    let point = Point {
                        seq,
                        time: p.row.timestamp,
                        users: p.users,
                        rps: p.row.rps,
                        fails_per_sec: p.row.fails_per_sec,
                        p50_ms: bucket(p.row.p50_ms()),
                        p95_ms: bucket(p.row.p95_ms()),
                    };
                    let mut points = lock(&self.points);
                    if points.len() >= MAX_POINTS {
                        points.pop_front();
                    }
                    points.push_back(point);
                }
                Ok(RunEvent::State(RunState::Stopped))
                | Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
            }
        }
    }

    async fn finish(&self, run_id: u64, result: Result<Report, swarm_core::Error>) {
        let result = match result {
            Ok(report) => {
                println!("{report}");
                if let Err(e) = self.write_reports(&report) {
                    eprintln!("error: {e}");
                }
                Ok(Arc::new(report))
            }
            Err(e) => {
                eprintln!("error: the run failed: {e}");
                Err(e.to_string())
            }
        };
        let mut inner = lock(&self.inner);
        if inner.run_id == run_id {
            inner.phase = Phase::Finished(result);
        }
        drop(inner);
        self.finished.send_modify(|n| *n += 1);
    }

    fn write_reports(&self, report: &Report) -> Result<(), swarm_core::ReportError> {
        for p in self.files.write(report)? {
            eprintln!("wrote {}", p.display());
        }
        Ok(())
    }

    /// Stop the run (Locust's `POST /stop`); `false` when none is running.
    pub(crate) fn stop(&self) -> bool {
        self.running_handle().is_some_and(|h| h.stop())
    }

    /// Cancel the running tasks at once (a second Ctrl-C).
    pub(crate) fn kill(&self) {
        if let Some(h) = self.running_handle() {
            h.kill();
        }
    }

    /// Forget the statistics so far; the run goes on.
    pub(crate) fn reset_stats(&self) -> bool {
        let Some(h) = self.running_handle() else {
            return false;
        };
        lock(&self.rates).clear();
        h.reset_stats()
    }

    /// The exit code of the last run (0 when none ran).
    pub(crate) fn exit_code(&self) -> u8 {
        match &lock(&self.inner).phase {
            Phase::Finished(Ok(r)) => r.exit_code(),
            Phase::Finished(Err(_)) => swarm_core::report::exit_code::RUNNER,
            _ => swarm_core::report::exit_code::OK,
        }
    }

    /// The chart points after `since`.
    pub(crate) fn points(&self, since: u64) -> Vec<Point> {
        lock(&self.points)
            .iter()
            .filter(|p| p.seq > since)
            .cloned()
            .collect()
    }

    /// The statistics and state now. `history` asks the runner for its per-second
    /// history too (for the downloads). When the run has just ended and its report is
    /// not there yet, waits for it (at most 5 s) rather than show empty numbers.
    pub(crate) async fn current(&self, history: bool) -> Current {
        let mut finished = self.finished.subscribe();
        match self.current_once(history).await {
            Ok(cur) => cur,
            Err(partial) => {
                let _ = tokio::time::timeout(Duration::from_secs(5), finished.changed()).await;
                self.current_once(history).await.unwrap_or(partial)
            }
        }
    }

    /// As [`Controller::current`]; `Err` when the run is over but its report is not
    /// kept yet (the runner no longer answers).
    async fn current_once(&self, history: bool) -> Result<Current, Current> {
        let (handle, host, finished) = {
            let inner = lock(&self.inner);
            let host = inner.host.as_ref().map(ToString::to_string);
            match &inner.phase {
                Phase::Ready => (None, host, None),
                Phase::Running(h) => (Some(h.clone()), host, None),
                Phase::Finished(r) => (None, host, Some(r.clone())),
            }
        };
        let last_point = lock(&self.points).back().cloned();
        let mut cur = Current {
            state: "ready",
            snapshot: Snapshot::empty(),
            users: 0,
            target_users: 0,
            user_counts: BTreeMap::new(),
            host,
            last_error: None,
            report: None,
            current: HashMap::new(),
            last_point,
        };
        if let Some(h) = handle {
            let status = h.status().borrow().clone();
            let snap = if history {
                h.snapshot_with_history().await
            } else {
                h.snapshot().await
            };
            cur.state = state_name(status.state);
            cur.users = status.users;
            cur.target_users = status.target_users;
            cur.user_counts = status.user_counts;
            match snap {
                // Once the runner has taken its final statistics, what it answers is no
                // longer the run's: the report (on its way) is.
                Some(_) if status.state == RunState::Stopped => return Err(cur),
                Some(snap) => {
                    cur.current = self.current_rates(&snap);
                    cur.snapshot = snap;
                }
                None => return Err(cur),
            }
        } else if let Some(result) = finished {
            cur.state = "stopped";
            match result {
                Ok(report) => {
                    cur.snapshot = report.snapshot.clone();
                    cur.report = Some(report);
                }
                Err(e) => cur.last_error = Some(e),
            }
        }
        Ok(cur)
    }

    /// Per-entry rates over about the last 10 s, from the counts of earlier calls (the
    /// page polls every 2 s); the whole run's rate until there are two samples.
    fn current_rates(&self, snap: &Snapshot) -> HashMap<(String, String), (f64, f64)> {
        let now = snap.duration_secs;
        let mut counts: Counts = snap
            .entries
            .iter()
            .map(|e| ((e.kind.clone(), e.name.clone()), (e.requests, e.failures)))
            .collect();
        counts.insert(
            (String::new(), "Aggregated".to_owned()),
            (snap.total_requests(), snap.total_failures()),
        );
        let mut rates = lock(&self.rates);
        while rates.len() > 1
            && rates
                .get(1)
                .is_some_and(|(t, _)| now - t >= RATE_WINDOW_SECS)
        {
            rates.pop_front();
        }
        let out = counts
            .iter()
            .map(|(key, &(req, fail))| {
                let rate = match rates.front() {
                    Some((t0, old)) if now - t0 >= 1.0 => {
                        let (r0, f0) = old.get(key).copied().unwrap_or((0, 0));
                        let dt = now - t0;
                        (
                            req.saturating_sub(r0) as f64 / dt,
                            fail.saturating_sub(f0) as f64 / dt,
                        )
                    }
                    _ if now > 0.0 => (req as f64 / now, fail as f64 / now),
                    _ => (0.0, 0.0),
                };
                (key.clone(), rate)
            })
            .collect();
        if rates.back().is_none_or(|(t, _)| now > *t) {
            rates.push_back((now, counts));
        }
        out
    }

    /// A report of the statistics now (the downloads): the last run's own report once
    /// it is over.
    pub(crate) async fn report(&self) -> (Report, bool) {
        let cur = self.current(true).await;
        if let Some(r) = cur.report {
            return ((*r).clone(), false);
        }
        let types = self
            .running_handle()
            .map(|h| h.user_types().to_vec())
            .unwrap_or_default();
        let mut report = lock(&self.ctx).report_of(cur.snapshot, types);
        report.info.host = cur.host;
        (report, true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_classes_name_every_type_of_the_run_or_are_refused() {
        let known = ["Visitor".to_owned(), "Buyer".to_owned()];
        let names = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert!(check_user_classes(&names(&["Buyer", "Visitor"]), &known).is_ok());
        let e = check_user_classes(&names(&["Visitor", "Nobody"]), &known).unwrap_err();
        assert!(e.0.contains("unknown user class \"Nobody\""), "{e}");
        assert!(e.0.contains("Visitor, Buyer"), "{e}");
        let e = check_user_classes(&names(&["Visitor"]), &known).unwrap_err();
        assert!(e.0.contains("leaves out \"Buyer\""), "{e}");
    }
}
