//! Reconnecting to a real ACA-Py mediator.
//!
//! - The same mediator, after the agent's socket dropped: `Agent::reconnect_transport` opens
//!   a new WebSocket with the same keys; the connection and the mediation grant still hold.
//! - A restarted mediator (new process, new wallet, same ports): the agent sees its socket
//!   close, its old connection is gone (a new socket opens, but nothing answers), and a
//!   fresh `Agent::connect` with the new invitation, then mediation, succeed.
//! - The ready-made `MediatorPing` user, while its mediator stalls (SIGSTOP, then SIGCONT):
//!   the pings time out, the user onboards again (`DIDCOMM reconnect`) and pings on.

mod common;

use std::time::Duration;

use swarm_aries::users::{MediatorPing, MediatorSettings, KIND};
use swarm_aries::{Agent, AriesError, Invitation};
use swarm_core::Swarm;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_mediator_after_the_socket_dropped() {
    let peer = common::Peer::start("mediator");
    common::bounded(Duration::from_secs(90), async {
        let invitation = Invitation::parse(peer.var("INVITATION")).expect("the invitation parses");
        let mut agent = Agent::connect(
            &invitation,
            reqwest::Client::new(),
            &common::options(Duration::from_secs(20)),
        )
        .await
        .expect("connects");
        let grant = agent.request_mediation().await.expect("mediated");
        agent.ping().await.expect("ping");

        agent.close().await;
        let err = agent.ping().await.expect_err("no ping on a closed socket");
        assert!(matches!(err, AriesError::Closed(_)), "{err:?}");

        agent.reconnect_transport().await.expect("a new socket");
        assert!(agent.on_websocket());
        for _ in 0..3 {
            agent
                .ping()
                .await
                .expect("the connection holds on the new socket");
        }
        assert_eq!(agent.grant(), Some(&grant), "the grant is kept");
        agent.close().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarted_mediator_needs_a_new_connection() {
    let first = common::Peer::start("mediator");
    let ports = [
        ("PORT", first.port_of("URL").to_owned()),
        ("WS_PORT", first.port_of("WS").to_owned()),
        ("ADMIN_PORT", first.port_of("ADMIN").to_owned()),
    ];
    let http = reqwest::Client::new();
    let short = common::options(Duration::from_secs(5));
    let invitation = Invitation::parse(first.var("INVITATION")).expect("the invitation parses");
    let mut agent = common::bounded(Duration::from_secs(60), async {
        let mut agent = Agent::connect(&invitation, http.clone(), &short)
            .await
            .expect("connects");
        agent.request_mediation().await.expect("mediated");
        agent.ping().await.expect("ping");
        agent
    })
    .await;

    first.stop();
    common::bounded(Duration::from_secs(30), async {
        let err = agent.ping().await.expect_err("the mediator is gone");
        assert!(matches!(err, AriesError::Closed(_)), "{err:?}");
    })
    .await;

    // A new mediator on the same ports, with a new wallet.
    let env: Vec<(&str, &str)> = ports.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let second = common::Peer::start_with("mediator", &env);
    common::bounded(Duration::from_secs(90), async {
        agent
            .reconnect_transport()
            .await
            .expect("the endpoint takes a socket again");
        let err = agent
            .ping()
            .await
            .expect_err("the new mediator does not know the old connection");
        assert!(
            matches!(err, AriesError::Closed(_) | AriesError::Timeout { .. }),
            "{err:?}"
        );
        eprintln!("old connection on the new mediator: {err}");

        let invitation =
            Invitation::parse(second.var("INVITATION")).expect("the new invitation parses");
        let mut fresh = Agent::connect(&invitation, http.clone(), &short)
            .await
            .expect("a fresh connection");
        fresh.request_mediation().await.expect("mediated again");
        fresh.ping().await.expect("ping");
        fresh.close().await;
    })
    .await;
}

/// Sends SIGCONT to a stopped peer when dropped, so that a failing test still stops it fast.
struct Resume<'a>(&'a common::Peer);

impl Drop for Resume<'_> {
    fn drop(&mut self) {
        self.0.signal("CONT");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mediator_ping_user_reconnects_after_a_stall() {
    let peer = common::Peer::start("mediator");
    let invitation = Invitation::parse(peer.var("INVITATION")).expect("the invitation parses");
    let settings = MediatorSettings::new(invitation)
        .wait(Duration::from_millis(200), Duration::from_millis(400))
        .timeout(Duration::from_secs(2));
    let stall = async {
        // Let the users onboard and ping, then freeze the mediator for longer than the
        // time-out.
        tokio::time::sleep(Duration::from_secs(4)).await;
        peer.signal("STOP");
        let resume = Resume(&peer);
        tokio::time::sleep(Duration::from_secs(4)).await;
        drop(resume);
    };
    let run = Swarm::new()
        .user::<MediatorPing>()
        .setting(settings)
        .users(2)
        .spawn_rate(10.0)
        .run_time(Duration::from_secs(18))
        .stop_timeout(Duration::from_secs(5))
        .run();
    let (report, ()) =
        common::bounded(Duration::from_secs(60), async { tokio::join!(run, stall) }).await;
    let report = report.expect("the run completes");
    eprintln!("{report}");
    let s = &report.snapshot;
    let entry = |name: &str| {
        s.entry(KIND, name)
            .map_or((0, 0), |e| (e.requests, e.failures))
    };
    let (pings, ping_failures) = entry("trust_ping");
    let (reconnects, reconnect_failures) = entry("reconnect");
    assert!(
        ping_failures >= 1,
        "the stall made pings time out\n{report}"
    );
    assert!(
        reconnects > reconnect_failures,
        "a user onboarded again after the stall\n{report}"
    );
    assert!(
        pings - ping_failures >= 10,
        "pings succeed before and after the stall\n{report}"
    );
}
