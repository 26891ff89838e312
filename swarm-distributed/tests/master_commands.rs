//! A steered Swarm master (`LocustMaster`, in-process, port 0, `MasterHandle::steer`)
//! with `-u 1` and a protocol-level worker driven by hand over ZeroMQ: the commands of
//! [`MasterHandle::command`] become the messages a Locust master sends. A start before
//! the workers are there is refused (the run starts by itself with `-u`); more or fewer
//! users re-dispatch (`spawn` of the new absolute counts; fewer go one step at a time at
//! the spawn rate, as more come); bad values are refused; a stop
//! sends `stop` and leaves the master up, its worker ready; a new start (with another
//! host and a run time) sends `spawn` again, and its run time ends the test (`stop`,
//! `quit`) as headless.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::bounded;
use swarm_core::cli::App;
use swarm_core::prelude::*;
use swarm_distributed::{
    CommandError, Connection, MasterCommand, MasterHandle, MasterMessage, MasterPhase, NodeId,
    Spawn, SpawningComplete, TransportOptions, WorkerHeartbeat, WorkerMessage, WorkerState,
    LOCUST_VERSION,
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
        current_cpu_usage: 1.0,
        current_memory_usage: 1,
    })
}

/// The next message that is neither a heartbeat nor `spawning_complete`, with a
/// heartbeat of `state` sent every half second meanwhile (so the worker never goes
/// missing).
async fn next(link: &mut Connection, state: WorkerState) -> MasterMessage {
    loop {
        match link.recv_timeout(Duration::from_millis(500)).await.unwrap() {
            Some(e)
                if matches!(
                    e.message,
                    MasterMessage::Heartbeat | MasterMessage::SpawningComplete(_)
                ) => {}
            Some(e) => return e.message,
            None => link.send(&heartbeat(state)).await.unwrap(),
        }
    }
}

async fn spawned(link: &mut Connection, state: WorkerState) -> Box<Spawn> {
    match next(link, state).await {
        MasterMessage::Spawn(s) => s,
        other => panic!("a spawn, not {other:?}"),
    }
}

/// Answer a spawn as a worker does.
async fn running(link: &mut Connection, spawn: &Spawn) {
    let users: u64 = spawn.user_classes_count.values().sum();
    link.send(&WorkerMessage::Spawning).await.unwrap();
    link.send(&WorkerMessage::SpawningComplete(SpawningComplete {
        user_classes_count: spawn.user_classes_count.clone(),
        user_count: users,
    }))
    .await
    .unwrap();
    link.send(&heartbeat(WorkerState::Running)).await.unwrap();
}

fn start(users: u64, spawn_rate: f64) -> MasterCommand {
    MasterCommand::Start {
        users,
        spawn_rate,
        host: None,
        run_time: None,
    }
}

async fn phase(handle: &MasterHandle, want: MasterPhase) {
    let mut status = handle.subscribe();
    while handle.phase() != want {
        status.changed().await.unwrap();
    }
}

#[test]
fn commands_become_the_messages_of_a_locust_master() {
    let master = swarm_distributed::LocustMaster::new();
    let handle = master.handle();
    handle.steer();
    let app = std::thread::spawn(move || {
        App::new().mode(master).main_from([
            "master",
            "--master",
            "--master-bind-host",
            "127.0.0.1",
            "--master-bind-port",
            "0",
            "-u",
            "1",
            "-r",
            "10",
            "-t",
            "60s",
            "-H",
            "http://127.0.0.1:9",
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
        // With -u the run starts by itself once the worker is there: no start before.
        let early = handle.command(start(5, 1.0)).await.unwrap_err();
        assert!(
            matches!(&early, CommandError::Refused(m) if m.contains("starts by itself")),
            "{early}"
        );
        let port: u16 = endpoint.rsplit(':').next().unwrap().parse().unwrap();
        let mut link = Connection::connect(
            "127.0.0.1",
            port,
            NodeId::new("box_w1").unwrap(),
            TransportOptions::default(),
        )
        .await
        .unwrap();
        link.handshake(LOCUST_VERSION).await.unwrap();
        link.send(&heartbeat(WorkerState::Ready)).await.unwrap();
        let first = spawned(&mut link, WorkerState::Ready).await;
        assert_eq!(
            first.user_classes_count,
            BTreeMap::from([("Tester".to_owned(), 1)])
        );
        running(&mut link, &first).await;
        phase(&handle, MasterPhase::Running).await;

        // More users: a spawn of the new absolute count.
        let changed = handle.command(start(3, 100.0)).await.unwrap();
        assert_eq!(changed, "Users changed");
        let more = spawned(&mut link, WorkerState::Running).await;
        assert_eq!(
            more.user_classes_count,
            BTreeMap::from([("Tester".to_owned(), 3)])
        );
        assert_eq!(handle.status().target_users, 3);
        running(&mut link, &more).await;
        // Fewer users: they go at the spawn rate (1 a second), a spawn of each lower
        // count.
        let fewer = handle.command(start(1, 1.0)).await.unwrap();
        assert_eq!(fewer, "Users changed");
        assert_eq!(handle.status().target_users, 1);
        for users in [2, 1] {
            let less = spawned(&mut link, WorkerState::Running).await;
            assert_eq!(
                less.user_classes_count,
                BTreeMap::from([("Tester".to_owned(), users)])
            );
            running(&mut link, &less).await;
        }
        phase(&handle, MasterPhase::Running).await;
        // Bad values, and what only a start can set.
        for (bad, needle) in [
            (start(3, 0.0), "spawn_rate"),
            (start(3, f64::NAN), "spawn_rate"),
            (
                MasterCommand::Start {
                    users: 3,
                    spawn_rate: 1.0,
                    host: Some("not a url".to_owned()),
                    run_time: None,
                },
                "host",
            ),
            (
                MasterCommand::Start {
                    users: 3,
                    spawn_rate: 1.0,
                    host: None,
                    run_time: Some(Duration::from_secs(5)),
                },
                "run_time",
            ),
        ] {
            let e = handle.command(bad.clone()).await.unwrap_err();
            assert!(
                matches!(&e, CommandError::Refused(m) if m.contains(needle)),
                "{bad:?}: {e}"
            );
        }
        assert_eq!(
            handle.command(MasterCommand::ResetStats).await.unwrap(),
            "ok"
        );

        // Stop: `stop` to the worker; once it stopped the master is stopped, not gone.
        assert_eq!(
            handle.command(MasterCommand::Stop).await.unwrap(),
            "Test stopped"
        );
        assert!(matches!(
            next(&mut link, WorkerState::Running).await,
            MasterMessage::Stop
        ));
        link.send(&WorkerMessage::ClientStopped).await.unwrap();
        link.send(&heartbeat(WorkerState::Ready)).await.unwrap();
        phase(&handle, MasterPhase::Stopped).await;
        assert_eq!(handle.status().target_users, 0);

        // A new start, to another host, for one second: then `stop` and `quit`.
        let again = handle
            .command(MasterCommand::Start {
                users: 2,
                spawn_rate: 100.0,
                host: Some("http://127.0.0.1:8/".to_owned()),
                run_time: Some(Duration::from_secs(1)),
            })
            .await
            .unwrap();
        assert_eq!(again, "Swarming started");
        let s = spawned(&mut link, WorkerState::Ready).await;
        assert_eq!(
            s.user_classes_count,
            BTreeMap::from([("Tester".to_owned(), 2)])
        );
        assert_eq!(s.host.as_deref(), Some("http://127.0.0.1:8"));
        running(&mut link, &s).await;
        assert!(matches!(
            next(&mut link, WorkerState::Running).await,
            MasterMessage::Stop
        ));
        link.send(&WorkerMessage::ClientStopped).await.unwrap();
        assert!(matches!(
            next(&mut link, WorkerState::Ready).await,
            MasterMessage::Quit
        ));
        link.send(&WorkerMessage::Quit).await.unwrap();
        link.close().await;
    }));
    let code = app.join().unwrap();
    assert_eq!(code, std::process::ExitCode::SUCCESS);
    assert_eq!(handle.phase(), MasterPhase::Stopped);
    let after = runtime.block_on(handle.command(MasterCommand::Stop));
    assert_eq!(after, Err(CommandError::NotRunning));
}
