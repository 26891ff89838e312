//! The Swarm worker under a Locust master: the protocol session ([`WorkerSession`])
//! drives swarm-core's control plane ([`RunnerHandle`]), one Swarm run per Locust test.

use std::collections::BTreeMap;
use std::time::Duration;

use swarm_core::cli::ModeContext;
use swarm_core::{Report, RunEvent, RunnerHandle, StatsDelta};
use tokio::sync::broadcast;
use tokio::task::JoinHandle;
use tokio::time::Instant;

mod report;

use report::{drop_unsent, running_counts, send, ship, to_u64, wire, Shipped};

use crate::heartbeat::{HEARTBEAT_INTERVAL, WORKER_REPORT_INTERVAL};
use crate::proto::{Ack, MasterMessage, Value};
use crate::session::{Directive, WorkerSession};
use crate::transport::{Connection, NodeId, TransportError, TransportOptions};

/// Where the master is and how the worker treats it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct WorkerOptions {
    /// The master's host (`--master-host`).
    pub master_host: String,
    /// The master's port (`--master-port`).
    pub master_port: u16,
    /// After this long without a word from the master (it answers every heartbeat),
    /// the worker takes it for restarted or lost: it stops its users and registers
    /// again (`client_ready`) every this long, until a master acks.
    pub reregister_after: Duration,
    /// ZeroMQ time-outs.
    pub transport: TransportOptions,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        WorkerOptions {
            master_host: "127.0.0.1".to_owned(),
            master_port: 5557,
            reregister_after: Duration::from_secs(5),
            transport: TransportOptions::default(),
        }
    }
}

/// Reports are held while the master has not answered for this long (it answers every
/// heartbeat within milliseconds).
const HOLD_AFTER: Duration = Duration::from_millis(2_500);

/// At most this many `exception` messages per report (the rest are counted in the
/// statistics all the same).
const MAX_EXCEPTIONS_PER_REPORT: u64 = 100;

/// How long a stop may take beyond the spawn's stop time-out before the users are
/// cancelled (the runner's own grace comes on top).
const QUIT_GRACE: Duration = Duration::from_secs(10);

/// One Locust test: a Swarm run and what the worker waits for from it.
struct ActiveRun {
    handle: RunnerHandle,
    report: JoinHandle<Result<Report, swarm_core::Error>>,
    events: broadcast::Receiver<RunEvent>,
    /// The counts of the last spawn, until the runner says they all run.
    pending: Option<BTreeMap<String, u32>>,
    /// A stop was asked for (from the master, or because it went away).
    stopping: Option<StopKind>,
    /// The last statistics, sent by the runner once its users stopped.
    final_stats: Option<StatsDelta>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StopKind {
    /// The master's `stop`: then `client_stopped` and `client_ready`.
    Master,
    /// The master went silent: stop without telling it.
    Lost,
    /// The master's `quit`: the last statistics, then `quit`.
    Quit,
}

/// The worker's loop; the exit code of the process.
pub(crate) async fn run(
    mut ctx: ModeContext,
    options: WorkerOptions,
) -> Result<u8, swarm_core::Error> {
    let endpoint = format!("{}:{}", options.master_host, options.master_port);
    let unreachable = |e: TransportError| swarm_core::Error::Unreachable {
        host: format!("Locust master {endpoint}"),
        reason: e.to_string(),
    };
    let known = ctx.user_types();
    let mut link = Connection::connect(
        &options.master_host,
        options.master_port,
        NodeId::generate(),
        options.transport.clone(),
    )
    .await
    .map_err(unreachable)?;
    let mut session = WorkerSession::new(crate::LOCUST_VERSION);
    let ack = link
        .handshake(session.version())
        .await
        .map_err(unreachable)?;
    // The master's index of this worker: its partition of the unique and per-user
    // feeders (the same again when this client id registers again).
    let mut worker_index: Option<u64> = ack.index.and_then(|i| u64::try_from(i).ok());
    eprintln!(
        "worker {} joined the Locust master at {endpoint} with user types {}",
        link.node_id(),
        known.join(", ")
    );

    let mut heartbeat = tokio::time::interval(HEARTBEAT_INTERVAL);
    let mut report = tokio::time::interval(WORKER_REPORT_INTERVAL);
    report.tick().await;
    let mut last_heard = Instant::now();
    let mut last_register = Instant::now();
    let mut run: Option<ActiveRun> = None;
    let mut host: Option<String> = None;
    let mut shipped = Shipped::default();
    // What had been shipped when the master said quit: what follows may come after the
    // half second Locust's master waits for the last reports.
    let mut at_quit: Option<Shipped> = None;
    // A client_ready went out after the master fell silent, and no ack came yet.
    let mut registering = false;
    let signal = shutdown_signal();
    tokio::pin!(signal);

    let code = loop {
        tokio::select! {
            () = &mut signal => {
                eprintln!("worker: stopping (signal)");
                break 0;
            }
            _ = heartbeat.tick() => {
                if session.master_gone() {
                    eprintln!(
                        "worker: no heartbeat from the Locust master at {endpoint} for {} s: exiting",
                        session.liveness().timeout().as_secs()
                    );
                    break 1;
                }
                if last_heard.elapsed() >= options.reregister_after
                    && last_register.elapsed() >= options.reregister_after
                {
                    // A restarted master does not know this worker: stop the users of
                    // a test it has forgotten, and register again.
                    if let Some(r) = run.as_mut().filter(|r| r.stopping.is_none()) {
                        tracing::warn!("the Locust master is silent: stopping the users and registering again");
                        r.stopping = Some(StopKind::Lost);
                        r.handle.stop();
                    }
                    last_register = Instant::now();
                    if registering {
                        // No ack to the last client_ready: a fresh socket (a master's
                        // ROUTER may still route to a dead connection of this identity).
                        if let Err(e) = link.reconnect().await {
                            tracing::warn!("re-connecting to the Locust master: {e}");
                        }
                    }
                    registering = true;
                    // Heartbeats say `ready` again (a master starts a headless test
                    // only with ready workers); `client_ready` registers this worker.
                    let [_, ready] = session.stopped();
                    send(&mut link, &ready).await;
                }
                send(&mut link, &session.heartbeat()).await;
            }
            _ = report.tick() => {
                let delta = match run.as_ref().filter(|r| r.stopping.is_none()) {
                    Some(r) => r.handle.take_stats().await,
                    None => None,
                };
                let counts = running_counts(run.as_ref());
                if last_heard.elapsed() > HOLD_AFTER {
                    // The master did not answer the last heartbeats: hold the report
                    // (it goes out with the next once the master answers, and is
                    // dropped with its test if the master is lost).
                    let (entries, errors) = delta.as_ref().map(wire).unwrap_or_default();
                    let held = session.stats(&entries, errors, counts);
                    session.requeue(held);
                } else {
                    ship(&mut link, &mut session, &mut shipped, delta.as_ref(), counts).await;
                }
            }
            activity = activity(run.as_mut()) => {
                let outcome = match activity {
                    Activity::Event(ev) => {
                        let Some(r) = run.as_mut() else { continue };
                        match ev {
                            RunEvent::SpawningComplete { user_counts, .. }
                                if r.pending.as_ref() == Some(&user_counts) =>
                            {
                                r.pending = None;
                                let counts = to_u64(&user_counts);
                                send(&mut link, &session.spawning_complete(counts)).await;
                            }
                            RunEvent::FinalStats(delta) => r.final_stats = Some((*delta).clone()),
                            _ => {}
                        }
                        continue;
                    }
                    Activity::Finished(outcome) => outcome,
                };
                let Some(r) = run.take() else { continue };
                if let Err(e) = *outcome {
                    tracing::error!("the run failed: {e}");
                }
                if r.stopping == Some(StopKind::Lost) {
                    // The test belonged to a master that is gone: what it did not get
                    // must not land in the next master's test.
                    drop_unsent(&mut session);
                    continue;
                }
                // What the users did while stopping goes out now.
                ship(&mut link, &mut session, &mut shipped, r.final_stats.as_ref(), BTreeMap::new()).await;
                if r.stopping == Some(StopKind::Master) {
                    for m in session.stopped() {
                        send(&mut link, &m).await;
                    }
                }
            }
            received = link.recv() => {
                let envelope = match received {
                    Ok(m) => m,
                    Err(e @ TransportError::BadMessage { .. }) => {
                        // The master speaks something else: say which protocol this is.
                        tracing::error!(
                            "the Locust master sent a message this worker cannot read ({e}); \
                             this worker speaks the master/worker protocol of Locust {}: \
                             check the master's version (locust --version)",
                            crate::LOCUST_VERSION
                        );
                        continue;
                    }
                    Err(e) if e.is_recoverable() => {
                        tracing::warn!("from the Locust master: {e}");
                        continue;
                    }
                    Err(e) => return Err(unreachable(e)),
                };
                last_heard = Instant::now();
                registering = false;
                if let MasterMessage::Ack(Ack { index: Some(i) }) = &envelope.message {
                    worker_index = u64::try_from(*i).ok();
                }
                let handled = session.on_message(envelope);
                for m in &handled.send {
                    send(&mut link, m).await;
                }
                match handled.directive {
                    Directive::Spawn { user_classes_count, host: master_host, stop_timeout, parsed_options, .. } => {
                        if let Some(m) = WorkerSession::unknown_classes(
                            user_classes_count.keys(),
                            &known.iter().map(String::as_str).collect::<Vec<_>>(),
                        ) {
                            tracing::error!("{m:?}");
                            send(&mut link, &m).await;
                        }
                        let counts: BTreeMap<String, u32> = user_classes_count
                            .iter()
                            .filter(|(k, _)| known.contains(k))
                            .map(|(k, v)| (k.clone(), u32::try_from(*v).unwrap_or(u32::MAX)))
                            .collect();
                        if run.as_ref().is_some_and(|r| r.stopping.is_some()) {
                            // The previous test is still stopping: let it end first.
                            if let Some(r) = run.take() {
                                finish_now(r, &mut link, &mut session, &mut shipped).await;
                            }
                        }
                        if run.is_none() {
                            let target = match master_host.filter(|h| !h.trim().is_empty()) {
                                Some(h) => Some(h),
                                None => resolve_host(&mut ctx, &mut host).await?,
                            };
                            let partition = feed_partition(&ctx, worker_index, &parsed_options);
                            match start_run(&ctx, target.as_deref(), stop_timeout, partition) {
                                Ok(r) => run = Some(r),
                                Err(e) => {
                                    tracing::error!("cannot start the run: {e}");
                                    send(&mut link, &WorkerSession::exception(
                                        format!("this Swarm worker cannot start the test: {e}"),
                                        "swarm worker: start of a run".to_owned(),
                                    )).await;
                                    continue;
                                }
                            }
                        }
                        if let Some(r) = run.as_mut() {
                            let all: BTreeMap<String, u32> = known
                                .iter()
                                .map(|k| (k.clone(), counts.get(k).copied().unwrap_or(0)))
                                .collect();
                            r.pending = Some(all);
                            if let Err(e) = r.handle.set_user_counts(counts, 0.0) {
                                tracing::error!("cannot apply the spawn: {e}");
                            }
                        }
                    }
                    Directive::Stop => match run.as_mut() {
                        Some(r) => {
                            r.stopping = Some(StopKind::Master);
                            r.handle.stop();
                        }
                        None => {
                            for m in session.stopped() {
                                send(&mut link, &m).await;
                            }
                        }
                    },
                    Directive::Quit => {
                        eprintln!("worker: the Locust master says quit");
                        // The master waits only half a second for the last report: ship
                        // what is recorded at once, with the users told to stop first so
                        // that only what is in flight follows.
                        if let Some(r) = run.as_mut().filter(|r| r.stopping.is_none()) {
                            let delta = r.handle.take_stats().await;
                            let counts = running_counts(Some(r));
                            r.handle.stop();
                            r.stopping = Some(StopKind::Quit);
                            ship(&mut link, &mut session, &mut shipped, delta.as_ref(), counts).await;
                        }
                        at_quit = Some(shipped);
                        break 0;
                    }
                    Directive::Reconnect => {
                        tracing::warn!("the Locust master asks for a reconnect");
                        if let Err(e) = link.reconnect().await {
                            tracing::warn!("reconnect: {e}");
                        }
                        send(&mut link, &session.client_ready()).await;
                    }
                    Directive::UpdateUserClass(u) => {
                        tracing::warn!(class = %u.user_class_name, "update_user_class is not supported by Swarm workers: ignored");
                    }
                    Directive::Custom { message_type, .. } => {
                        tracing::warn!(%message_type, "custom message ignored");
                    }
                    Directive::AllSpawned { .. } | Directive::Nothing => {}
                }
            }
        }
    };

    // Quit: stop the users, send the last statistics, then `quit`.
    if let Some(r) = run.take() {
        if r.stopping.is_none() {
            r.handle.stop();
        }
        finish_now(r, &mut link, &mut session, &mut shipped).await;
    } else {
        ship(&mut link, &mut session, &mut shipped, None, BTreeMap::new()).await;
    }
    send(&mut link, &session.quit()).await;
    link.close().await;
    eprintln!(
        "worker: recorded {} requests ({} failures) and reported them to the master",
        shipped.requests, shipped.failures
    );
    if let Some(q) = at_quit.filter(|q| q.requests < shipped.requests) {
        // Locust's master writes its totals half a second after `quit`: these may be
        // missing from them.
        eprintln!(
            "worker: {} requests ({} failures) of them finished after the master's quit and were reported late",
            shipped.requests - q.requests,
            shipped.failures - q.failures
        );
    }
    Ok(code)
}

/// Wait (bounded) for a stopping run to end and ship its last statistics.
async fn finish_now(
    mut r: ActiveRun,
    link: &mut Connection,
    session: &mut WorkerSession,
    shipped: &mut Shipped,
) {
    if tokio::time::timeout(QUIT_GRACE, &mut r.report)
        .await
        .is_err()
    {
        r.handle.kill();
        let _ = tokio::time::timeout(QUIT_GRACE, &mut r.report).await;
    }
    // The last statistics came just before the end, unless the loop already took them.
    loop {
        match r.events.try_recv() {
            Ok(RunEvent::FinalStats(d)) => r.final_stats = Some((*d).clone()),
            Ok(_) | Err(broadcast::error::TryRecvError::Lagged(_)) => {}
            Err(_) => break,
        }
    }
    if r.stopping == Some(StopKind::Lost) {
        drop_unsent(session);
        return;
    }
    ship(
        link,
        session,
        shipped,
        r.final_stats.as_ref(),
        BTreeMap::new(),
    )
    .await;
    if r.stopping == Some(StopKind::Master) {
        for m in session.stopped() {
            send(link, &m).await;
        }
    }
}

/// Start a Swarm run with no users: the spawn's counts follow as a command.
fn start_run(
    ctx: &ModeContext,
    host: Option<&str>,
    stop_timeout: Duration,
    feed_partition: Option<(u32, u32)>,
) -> Result<ActiveRun, swarm_core::Error> {
    // The master drives the users: the local load model (shape, run time, open model,
    // thresholds) does not apply.
    let mut config = ctx.config().clone();
    config.shape = None;
    config.run_time = None;
    config.arrival_rate = None;
    config.arrival_stages = None;
    config.pre_allocated = None;
    config.max_users = None;
    config.thresholds.clear();
    config.threshold_abort = false;
    let mut swarm = ctx
        .swarm_with(config)
        .users(0)
        .stats_deltas(true)
        .stop_timeout(stop_timeout)
        .preflight(false);
    if let Some(h) = host {
        swarm = swarm.host(h);
    }
    if let Some((index, count)) = feed_partition {
        swarm = swarm.feed_partition(index, count);
    }
    let (handle, fut) = swarm.start()?;
    let events = handle.subscribe();
    Ok(ActiveRun {
        report: tokio::spawn(fut),
        events,
        handle,
        pending: None,
        stopping: None,
        final_stats: None,
    })
}

/// This worker's partition of the unique and per-user feeders: its index from the
/// master's `ack`, of `--feed-partitions`, else of the master's `--expect-workers` (in
/// the spawn's options; 1 when absent).
fn feed_partition(
    ctx: &ModeContext,
    index: Option<u64>,
    parsed_options: &Value,
) -> Option<(u32, u32)> {
    let index = u32::try_from(index?).unwrap_or(u32::MAX);
    let expected = parsed_options
        .as_map()
        .and_then(|m| m.iter().find(|(k, _)| k.as_str() == Some("expect_workers")))
        .and_then(|(_, v)| v.as_u64())
        .and_then(|n| u32::try_from(n).ok());
    let count = ctx.config().feed_partitions.or(expected).unwrap_or(1);
    Some((index, count))
}

/// The host users aim at when the master names none: `--host`, else the app's default
/// host (the demo target), started once.
async fn resolve_host(
    ctx: &mut ModeContext,
    cached: &mut Option<String>,
) -> Result<Option<String>, swarm_core::Error> {
    if let Some(h) = ctx.config().host.as_ref() {
        return Ok(Some(h.to_string()));
    }
    if cached.is_none() {
        *cached = ctx.default_host().await?.map(|u| u.to_string());
    }
    Ok(cached.clone())
}

/// What a run did: an event, or its end.
enum Activity {
    Event(RunEvent),
    Finished(Box<Result<Report, swarm_core::Error>>),
}

/// The next event or the end of the run (never, without a run).
async fn activity(run: Option<&mut ActiveRun>) -> Activity {
    let Some(r) = run else {
        return std::future::pending().await;
    };
    let events = &mut r.events;
    let next_event = async {
        loop {
            match events.recv().await {
                Ok(ev) => return ev,
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::debug!(n, "the worker fell behind the run's events");
                }
                Err(broadcast::error::RecvError::Closed) => std::future::pending::<()>().await,
            }
        }
    };
    tokio::select! {
        biased;
        ev = next_event => Activity::Event(ev),
        out = &mut r.report => Activity::Finished(Box::new(match out {
            Ok(outcome) => outcome,
            Err(e) => Err(swarm_core::Error::Runner(e.to_string())),
        })),
    }
}

/// Ctrl-C or SIGTERM.
pub(crate) async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let (Ok(mut int), Ok(mut term)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
