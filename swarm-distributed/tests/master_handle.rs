//! A Swarm master (`LocustMaster`, in-process, port 0) and a protocol-level worker
//! driven by hand over ZeroMQ: what the worker says shows in the master's
//! [`MasterHandle`] (id, state, users, CPU, memory, requests), the worker goes
//! `missing` when its heartbeats stop, the test then stops with no worker left, and the
//! report holds exactly the statistics the worker sent.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::bounded;
use swarm_core::cli::App;
use swarm_core::prelude::*;
use swarm_distributed::{
    Connection, EntryDelta, LocustMaster, MasterMessage, MasterPhase, NodeId, SpawningComplete,
    StatsReport, TransportOptions, WorkerHeartbeat, WorkerMessage, WorkerState, LOCUST_VERSION,
};

/// The one user type: the master only needs its name and weight.
struct Tester;

#[async_trait]
impl User for Tester {
    async fn on_start(_ctx: &mut UserContext) -> Result<Self, TaskError> {
        Ok(Tester)
    }
    fn tasks() -> Tasks<Self> {
        Tasks::new().task("idle", Self::idle)
    }
}

impl Tester {
    async fn idle(&mut self, _ctx: &mut UserContext) -> TaskResult {
        Ok(())
    }
}

swarm_core::register_user!(Tester);

fn heartbeat(state: WorkerState) -> WorkerMessage {
    WorkerMessage::Heartbeat(WorkerHeartbeat {
        state,
        current_cpu_usage: 42.5,
        current_memory_usage: 1234,
    })
}

#[test]
fn the_handle_shows_the_workers_and_a_silent_worker_goes_missing() {
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path().join("handle");
    let master = LocustMaster::new();
    let handle = master.handle();
    let csv = prefix.to_str().unwrap().to_owned();
    let app = std::thread::spawn(move || {
        App::new().mode(master).main_from([
            "master",
            "--master",
            "--master-bind-host",
            "127.0.0.1",
            "--master-bind-port",
            "0",
            "-u",
            "2",
            "-r",
            "2",
            "-t",
            "60s",
            "-H",
            "http://127.0.0.1:9",
            "--csv",
            &csv,
            "--only-summary",
        ])
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(bounded(Duration::from_secs(90), async {
        let endpoint = loop {
            if let Some(e) = handle.status().endpoint {
                break e;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let port: u16 = endpoint.rsplit(':').next().unwrap().parse().unwrap();
        assert_ne!(port, 0, "the bound port, not the 0 asked for: {endpoint}");
        let mut link = Connection::connect(
            "127.0.0.1",
            port,
            NodeId::new("box_w1").unwrap(),
            TransportOptions::default(),
        )
        .await
        .unwrap();
        let ack = link.handshake(LOCUST_VERSION).await.unwrap();
        assert_eq!(ack.index, Some(0));
        link.send(&heartbeat(WorkerState::Ready)).await.unwrap();
        // The master dispatches the 2 users to its one worker.
        let spawn = loop {
            match link.recv().await.unwrap().message {
                MasterMessage::Spawn(s) => break s,
                _ => continue,
            }
        };
        assert_eq!(
            spawn.user_classes_count,
            BTreeMap::from([("Tester".to_owned(), 2)])
        );
        assert_eq!(spawn.host.as_deref(), Some("http://127.0.0.1:9"));
        link.send(&WorkerMessage::Spawning).await.unwrap();
        link.send(&WorkerMessage::SpawningComplete(SpawningComplete {
            user_classes_count: spawn.user_classes_count.clone(),
            user_count: 2,
        }))
        .await
        .unwrap();
        link.send(&heartbeat(WorkerState::Running)).await.unwrap();
        let mut d = EntryDelta::new("GET", "/x");
        for i in 0..5 {
            d.record(2_000 + i * 1_000, 100, i == 4, 1_800_000_000.0 + i as f64);
        }
        let report =
            StatsReport::from_deltas(&[d], [], spawn.user_classes_count.clone(), 1_800_000_000.0);
        link.send(&WorkerMessage::Stats(Box::new(report)))
            .await
            .unwrap();
        // What the worker said shows in the handle.
        let w = loop {
            let s = handle.status();
            if s.phase == MasterPhase::Running && s.requests == 5 {
                if let Some(w) = s
                    .workers
                    .first()
                    .filter(|w| w.state == WorkerState::Running)
                {
                    break w.clone();
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert_eq!(w.id, "box_w1");
        assert_eq!(w.index, 0);
        assert_eq!(w.users(), 2);
        assert_eq!(w.cpu_percent, 42.5);
        assert_eq!(w.memory_bytes, 1234);
        assert_eq!((w.requests, w.failures), (5, 1));
        assert_eq!(w.version, LOCUST_VERSION);
        assert_eq!(handle.workers().len(), 1);
        // Silence: the master marks the worker missing, and with no worker left it
        // stops the test.
        let mut status = handle.subscribe();
        while handle.workers()[0].state != WorkerState::Missing {
            status.changed().await.unwrap();
        }
        assert_eq!(handle.workers()[0].users(), 0);
        link.close().await;
    }));
    let code = app.join().unwrap();
    assert_eq!(code, std::process::ExitCode::from(1), "one failed request");
    assert_eq!(handle.phase(), MasterPhase::Stopped);
    let stats = std::fs::read_to_string(format!("{}_stats.csv", prefix.display())).unwrap();
    let row = stats
        .lines()
        .find(|l| l.starts_with("GET,/x,"))
        .unwrap_or_else(|| panic!("{stats}"));
    let cols: Vec<&str> = row.split(',').collect();
    // Requests, failures, median, average, min, max, average size: what was sent.
    assert_eq!(
        &cols[2..9],
        ["5", "1", "4", "4.0", "2.0", "6.0", "100.0"],
        "{row}"
    );
}
