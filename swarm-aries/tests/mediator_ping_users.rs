//! The ready-made `MediatorPing` user, embedded in a test: agents onboard on a real
//! ACA-Py mediator and their pings round-trip over the WebSocket.

mod common;

use std::time::Duration;

use swarm_aries::users::{MediatorPing, MediatorSettings, KIND};
use swarm_aries::Invitation;
use swarm_core::Swarm;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mediator_ping_users_onboard_and_ping() {
    let peer = common::Peer::start("mediator");
    let invitation = Invitation::parse(peer.var("INVITATION")).unwrap();
    let settings = MediatorSettings::new(invitation)
        .wait(Duration::from_millis(200), Duration::from_millis(400))
        .timeout(Duration::from_secs(20));
    let report = Swarm::new()
        .user::<MediatorPing>()
        .setting(settings)
        .users(4)
        .spawn_rate(4.0)
        .run_time(Duration::from_secs(5))
        .stop_timeout(Duration::from_secs(5))
        .threshold("DIDCOMM trust_ping: fail_ratio == 0")
        .run()
        .await
        .unwrap();
    let s = &report.snapshot;
    let count = |name: &str| s.entry(KIND, name).map_or(0, |e| e.requests);
    assert_eq!(count("connect"), 4, "{report}");
    assert_eq!(count("mediate"), 4, "{report}");
    assert!(count("trust_ping") >= 20, "{report}");
    assert_eq!(report.failures(), 0, "{report}");
    assert!(report.passed(), "{report}");
}
