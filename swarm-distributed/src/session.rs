//! The worker's side of the protocol without I/O: what to answer to each master
//! message, what the runner must do, and the heartbeat and stats messages to send.
//!
//! [`WorkerSession`] holds the worker's state, the newest spawn timestamp, the
//! master's liveness, the CPU/memory sampler and the start of the current stats
//! period. The glue between a runner and a [`Connection`](crate::Connection)
//! is then one `select!` loop: pass each received message to
//! [`WorkerSession::on_message`], send what it returns and carry out its
//! [`Directive`]; send [`WorkerSession::heartbeat`] every second and
//! [`WorkerSession::stats`] every 3 s; quit when [`WorkerSession::master_gone`].

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

use crate::heartbeat::{
    MasterLiveness, ProcessMonitor, ProcessUsage, WorkerState, CPU_MONITOR_INTERVAL,
};
use crate::proto::{
    Envelope, ExceptionReport, MasterMessage, SpawningComplete, UpdateUserClass, Value,
    WorkerHeartbeat, WorkerMessage,
};
use crate::stats::{EntryDelta, StatsError, StatsReport};

/// What the runner has to do after a master message.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Directive {
    /// Nothing (a heartbeat, an ack, a spawn older than the last one).
    Nothing,
    /// Run exactly these users per class (absolute counts, not a delta), then send
    /// [`WorkerSession::spawning_complete`].
    Spawn {
        /// This spawn starts a new test (the worker was `ready`): reset the
        /// statistics, as Locust's worker clears its own then.
        new_test: bool,
        /// Users per user class name.
        user_classes_count: BTreeMap<String, u64>,
        /// The master's host, if it has one.
        host: Option<String>,
        /// Time users get to finish their task on stop.
        stop_timeout: Duration,
        /// The master's parsed options (a map), for custom arguments.
        parsed_options: Value,
    },
    /// The master's ramp-up is done over all workers (informational).
    AllSpawned {
        /// Users running over all workers.
        user_count: u64,
    },
    /// Stop all users; then send what [`WorkerSession::stopped`] returns.
    Stop,
    /// Stop all users, send [`WorkerSession::stats`] one last time, then
    /// [`WorkerSession::quit`], and exit.
    Quit,
    /// Re-open the connection ([`Connection::reconnect`](crate::Connection::reconnect)).
    Reconnect,
    /// Change a user class's attributes (web UI class picker).
    UpdateUserClass(UpdateUserClass),
    /// A custom message for whoever registered its type.
    Custom {
        /// The message type.
        message_type: String,
        /// Its data.
        data: Value,
    },
}

/// The answer to one master message.
#[derive(Debug, Clone, PartialEq)]
pub struct Handled {
    /// Messages to send to the master now, in order.
    pub send: Vec<WorkerMessage>,
    /// What the runner has to do.
    pub directive: Directive,
}

/// The worker's protocol state (see the module docs).
#[derive(Debug)]
pub struct WorkerSession {
    version: String,
    state: WorkerState,
    last_spawn_timestamp: f64,
    liveness: MasterLiveness,
    monitor: ProcessMonitor,
    usage: ProcessUsage,
    next_sample: Instant,
    period_start: f64,
    unsent: Option<StatsReport>,
}

/// Now in epoch seconds.
pub fn epoch_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

impl WorkerSession {
    /// A session for a worker that reports `version` in `client_ready` (a Swarm
    /// worker reports its own version; Locust's master only logs a warning when the
    /// first four characters differ from its own).
    pub fn new(version: impl Into<String>) -> Self {
        Self {
            version: version.into(),
            state: WorkerState::Ready,
            last_spawn_timestamp: 0.0,
            liveness: MasterLiveness::default(),
            monitor: ProcessMonitor::new(),
            usage: ProcessUsage::default(),
            next_sample: Instant::now() + CPU_MONITOR_INTERVAL,
            period_start: epoch_now(),
            unsent: None,
        }
    }

    /// Use this liveness rule instead of the default 60 s time-out.
    pub fn with_liveness(mut self, liveness: MasterLiveness) -> Self {
        self.liveness = liveness;
        self
    }

    /// The version sent in `client_ready`.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The state the heartbeats report.
    pub fn state(&self) -> WorkerState {
        self.state
    }

    /// The master's liveness as seen from here.
    pub fn liveness(&self) -> &MasterLiveness {
        &self.liveness
    }

    /// Whether the master has been silent past the time-out (then quit, as Locust's
    /// worker does).
    pub fn master_gone(&self) -> bool {
        self.liveness.is_gone()
    }

    /// The `client_ready` message.
    pub fn client_ready(&self) -> WorkerMessage {
        WorkerMessage::ClientReady {
            version: self.version.clone(),
        }
    }

    /// React to a master message as Locust's `WorkerRunner.handle_message` does.
    pub fn on_message(&mut self, envelope: Envelope<MasterMessage>) -> Handled {
        let nothing = |send| Handled {
            send,
            directive: Directive::Nothing,
        };
        match envelope.message {
            MasterMessage::Heartbeat => {
                self.liveness.heartbeat_received();
                nothing(vec![])
            }
            MasterMessage::Ack(_) => nothing(vec![]),
            MasterMessage::Spawn(spawn) => {
                // `spawning` goes out for every spawn, even one then discarded.
                let send = vec![WorkerMessage::Spawning];
                if spawn.timestamp <= self.last_spawn_timestamp {
                    tracing::info!(
                        timestamp = spawn.timestamp,
                        last = self.last_spawn_timestamp,
                        "discarded a spawn message not newer than the previous one"
                    );
                    return nothing(send);
                }
                self.last_spawn_timestamp = spawn.timestamp;
                let new_test = !matches!(self.state, WorkerState::Spawning | WorkerState::Running);
                if new_test {
                    // The master cleared its statistics for the new test; the next
                    // report's period starts here, as a Locust worker's does.
                    self.period_start = epoch_now();
                    self.unsent = None;
                }
                self.state = WorkerState::Spawning;
                let stop_timeout = spawn
                    .stop_timeout
                    .filter(|s| s.is_finite() && *s > 0.0)
                    .map_or(Duration::ZERO, Duration::from_secs_f64);
                Handled {
                    send,
                    directive: Directive::Spawn {
                        new_test,
                        user_classes_count: spawn.user_classes_count,
                        host: spawn.host,
                        stop_timeout,
                        parsed_options: spawn.parsed_options,
                    },
                }
            }
            MasterMessage::SpawningComplete(c) => Handled {
                send: vec![],
                directive: Directive::AllSpawned {
                    user_count: c.user_count,
                },
            },
            MasterMessage::Stop => Handled {
                send: vec![],
                directive: Directive::Stop,
            },
            MasterMessage::Quit => Handled {
                send: vec![],
                directive: Directive::Quit,
            },
            MasterMessage::Reconnect => Handled {
                send: vec![],
                directive: Directive::Reconnect,
            },
            MasterMessage::UpdateUserClass(u) => Handled {
                send: vec![],
                directive: Directive::UpdateUserClass(u),
            },
            MasterMessage::Custom { message_type, data } => Handled {
                send: vec![],
                directive: Directive::Custom { message_type, data },
            },
        }
    }

    /// The users now run these counts: the `spawning_complete` to send. The state
    /// becomes `running`.
    pub fn spawning_complete(
        &mut self,
        user_classes_count: BTreeMap<String, u64>,
    ) -> WorkerMessage {
        self.state = WorkerState::Running;
        WorkerMessage::SpawningComplete(SpawningComplete {
            user_count: user_classes_count.values().sum(),
            user_classes_count,
        })
    }

    /// The users stopped after a `stop`: `client_stopped` and `client_ready` to send
    /// (Locust's worker sleeps the spawn's `stop_timeout` between the two). The
    /// state becomes `ready`, and the next spawn starts a new test.
    pub fn stopped(&mut self) -> [WorkerMessage; 2] {
        self.state = WorkerState::Ready;
        [WorkerMessage::ClientStopped, self.client_ready()]
    }

    /// The `quit` to send last.
    pub fn quit(&mut self) -> WorkerMessage {
        self.state = WorkerState::Stopped;
        WorkerMessage::Quit
    }

    /// The heartbeat to send now; CPU and memory are re-sampled when
    /// [`CPU_MONITOR_INTERVAL`] has passed since the previous sample.
    pub fn heartbeat(&mut self) -> WorkerMessage {
        let now = Instant::now();
        if now >= self.next_sample {
            self.usage = self.monitor.sample();
            self.next_sample = now + CPU_MONITOR_INTERVAL;
        }
        WorkerMessage::Heartbeat(WorkerHeartbeat {
            state: self.state,
            current_cpu_usage: self.usage.cpu_percent,
            current_memory_usage: self.usage.rss_bytes,
        })
    }

    /// The `stats` message for what happened since the previous one: `deltas` and
    /// `errors` since then, and the users running now. Send it every 3 s, idle or not.
    pub fn stats(
        &mut self,
        deltas: &[EntryDelta],
        errors: impl IntoIterator<Item = StatsError>,
        user_classes_count: BTreeMap<String, u64>,
    ) -> WorkerMessage {
        let start = self.period_start;
        self.period_start = epoch_now();
        let report = StatsReport::from_deltas(deltas, errors, user_classes_count, start);
        let report = match self.unsent.take() {
            Some(mut unsent) => {
                unsent.merge(report);
                unsent
            }
            None => report,
        };
        WorkerMessage::Stats(Box::new(report))
    }

    /// Keep a `stats` message that could not be sent: the next
    /// [`WorkerSession::stats`] carries it too, so no recorded statistics are lost.
    /// Other messages are dropped (a heartbeat is not worth sending late).
    pub fn requeue(&mut self, message: WorkerMessage) {
        if let WorkerMessage::Stats(report) = message {
            match &mut self.unsent {
                Some(unsent) => unsent.merge(*report),
                None => self.unsent = Some(*report),
            }
        }
    }

    /// An `exception` message: a user task failed with `msg`.
    pub fn exception(msg: impl Into<String>, traceback: impl Into<String>) -> WorkerMessage {
        WorkerMessage::Exception(ExceptionReport {
            msg: msg.into(),
            traceback: traceback.into(),
        })
    }

    /// The `exception` reporting user classes of a spawn that this worker does not
    /// have (Locust's master then shows it under Exceptions); `None` when all are
    /// known.
    pub fn unknown_classes<'a>(
        requested: impl IntoIterator<Item = &'a String>,
        known: &[&str],
    ) -> Option<WorkerMessage> {
        let unknown: Vec<&str> = requested
            .into_iter()
            .map(String::as_str)
            .filter(|c| !known.contains(c))
            .collect();
        if unknown.is_empty() {
            return None;
        }
        Some(Self::exception(
            format!(
                "this Swarm worker has no user type named {} (it has: {})",
                unknown.join(", "),
                known.join(", ")
            ),
            format!("spawn of unknown user classes {unknown:?}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::{Ack, MasterSpawningComplete, Spawn};

    fn env(message: MasterMessage) -> Envelope<MasterMessage> {
        Envelope {
            message,
            node_id: "w".into(),
        }
    }

    fn spawn(ts: f64, counts: &[(&str, u64)]) -> MasterMessage {
        MasterMessage::Spawn(Box::new(Spawn {
            timestamp: ts,
            user_classes_count: counts.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect(),
            host: Some("http://127.0.0.1:1".into()),
            stop_timeout: Some(2.5),
            parsed_options: Value::Map(vec![]),
        }))
    }

    #[test]
    fn spawns_are_applied_once_in_timestamp_order() {
        let mut s = WorkerSession::new("0.1.0");
        assert_eq!(s.state(), WorkerState::Ready);
        let h = s.on_message(env(spawn(10.0, &[("A", 2)])));
        assert_eq!(h.send, vec![WorkerMessage::Spawning]);
        let Directive::Spawn {
            new_test,
            user_classes_count,
            stop_timeout,
            host,
            ..
        } = h.directive
        else {
            panic!("{h:?}")
        };
        assert!(new_test);
        assert_eq!(user_classes_count, [("A".to_owned(), 2)].into());
        assert_eq!(stop_timeout, Duration::from_millis(2500));
        assert_eq!(host.as_deref(), Some("http://127.0.0.1:1"));
        assert_eq!(s.state(), WorkerState::Spawning);
        // Older or equal: `spawning` still goes out, nothing else happens.
        for ts in [10.0, 9.0] {
            let h = s.on_message(env(spawn(ts, &[("A", 5)])));
            assert_eq!(h.send, vec![WorkerMessage::Spawning]);
            assert_eq!(h.directive, Directive::Nothing);
        }
        let done = s.spawning_complete([("A".to_owned(), 2)].into());
        assert_eq!(
            done,
            WorkerMessage::SpawningComplete(SpawningComplete {
                user_classes_count: [("A".to_owned(), 2)].into(),
                user_count: 2
            })
        );
        assert_eq!(s.state(), WorkerState::Running);
        // A newer spawn while running changes the counts of the same test.
        let h = s.on_message(env(spawn(11.0, &[("A", 3)])));
        assert!(
            matches!(
                h.directive,
                Directive::Spawn {
                    new_test: false,
                    ..
                }
            ),
            "{h:?}"
        );
        // After a stop, the next spawn starts a new test.
        s.stopped();
        let h = s.on_message(env(spawn(12.0, &[("A", 1)])));
        assert!(
            matches!(h.directive, Directive::Spawn { new_test: true, .. }),
            "{h:?}"
        );
    }

    #[test]
    fn stop_quit_and_the_rest_map_to_directives() {
        let mut s = WorkerSession::new("0.1.0");
        assert_eq!(
            s.on_message(env(MasterMessage::Stop)).directive,
            Directive::Stop
        );
        assert_eq!(
            s.stopped(),
            [
                WorkerMessage::ClientStopped,
                WorkerMessage::ClientReady {
                    version: "0.1.0".into()
                }
            ]
        );
        assert_eq!(s.state(), WorkerState::Ready);
        assert_eq!(
            s.on_message(env(MasterMessage::Quit)).directive,
            Directive::Quit
        );
        assert_eq!(
            s.on_message(env(MasterMessage::Reconnect)).directive,
            Directive::Reconnect
        );
        assert_eq!(
            s.on_message(env(MasterMessage::Ack(Ack { index: Some(0) })))
                .directive,
            Directive::Nothing
        );
        assert_eq!(
            s.on_message(env(MasterMessage::SpawningComplete(
                MasterSpawningComplete { user_count: 4 }
            )))
            .directive,
            Directive::AllSpawned { user_count: 4 }
        );
        assert_eq!(s.quit(), WorkerMessage::Quit);
    }

    #[tokio::test(start_paused = true)]
    async fn master_heartbeats_keep_the_session_alive() {
        let mut s = WorkerSession::new("0.1.0");
        tokio::time::advance(Duration::from_secs(120)).await;
        assert!(!s.master_gone(), "no heartbeat yet: no time-out");
        s.on_message(env(MasterMessage::Heartbeat));
        tokio::time::advance(Duration::from_secs(60)).await;
        assert!(!s.master_gone());
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(s.master_gone());
    }

    #[tokio::test(start_paused = true)]
    async fn heartbeats_carry_the_state_and_resample_every_ten_seconds() {
        let mut s = WorkerSession::new("0.1.0");
        let WorkerMessage::Heartbeat(h) = s.heartbeat() else {
            panic!()
        };
        assert_eq!(h.state, WorkerState::Ready);
        assert_eq!(
            (h.current_cpu_usage, h.current_memory_usage),
            (0.0, 0),
            "no sample yet"
        );
        tokio::time::advance(CPU_MONITOR_INTERVAL).await;
        let WorkerMessage::Heartbeat(h) = s.heartbeat() else {
            panic!()
        };
        if cfg!(target_os = "linux") {
            assert!(h.current_memory_usage > 0, "{h:?}");
        }
    }

    #[test]
    fn stats_periods_chain() {
        let mut s = WorkerSession::new("0.1.0");
        let first_start = s.period_start;
        let WorkerMessage::Stats(r) = s.stats(&[], [], BTreeMap::new()) else {
            panic!()
        };
        assert_eq!(r.stats_total.start_time, first_start);
        let second_start = s.period_start;
        assert!(second_start >= first_start);
        let WorkerMessage::Stats(r) = s.stats(&[], [], [("A".to_owned(), 1)].into()) else {
            panic!()
        };
        assert_eq!(r.stats_total.start_time, second_start);
        assert_eq!(r.user_count, 1);
    }

    #[test]
    fn unsent_stats_ride_with_the_next_report() {
        let mut s = WorkerSession::new("0.1.0");
        let mut d = EntryDelta::new("GET", "/a");
        d.record(1_000, 0, false, 100.0);
        let lost = s.stats(std::slice::from_ref(&d), [], BTreeMap::new());
        s.requeue(lost);
        let heartbeat = s.heartbeat();
        s.requeue(heartbeat);
        let lost_again = s.stats(std::slice::from_ref(&d), [], BTreeMap::new());
        s.requeue(lost_again);
        let WorkerMessage::Stats(r) = s.stats(&[d], [], BTreeMap::new()) else {
            panic!()
        };
        assert_eq!(r.stats.len(), 1);
        assert_eq!(r.stats[0].num_requests, 3);
        assert_eq!(r.stats_total.num_requests, 3);
        let WorkerMessage::Stats(r) = s.stats(&[], [], BTreeMap::new()) else {
            panic!()
        };
        assert_eq!(r.stats_total.num_requests, 0, "sent once only");
    }

    #[test]
    fn unknown_classes_are_named() {
        let req = ["Known".to_owned(), "Ghost".to_owned()];
        let Some(WorkerMessage::Exception(e)) = WorkerSession::unknown_classes(&req, &["Known"])
        else {
            panic!()
        };
        assert_eq!(
            e.msg,
            "this Swarm worker has no user type named Ghost (it has: Known)"
        );
        assert!(WorkerSession::unknown_classes(&req[..1], &["Known"]).is_none());
    }
}
