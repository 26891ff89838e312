//! The ready-made `MediatorMessage` user against a real ACA-Py mediator: basic messages
//! travel agent to agent through the mediator and the send-to-receipt time is recorded.

mod common;

use std::time::Duration;

use swarm_aries::users::{MediatorMessage, MediatorSettings, KIND};
use swarm_aries::Invitation;
use swarm_core::Swarm;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_messages_travel_through_the_mediator() {
    let peer = common::Peer::start("mediator");
    let invitation = Invitation::parse(peer.var("INVITATION")).unwrap();
    let settings = MediatorSettings::new(invitation)
        .wait(Duration::from_millis(100), Duration::from_millis(200))
        .timeout(Duration::from_secs(20));
    let report = Swarm::new()
        .user::<MediatorMessage>()
        .setting(settings)
        .users(2)
        .spawn_rate(2.0)
        .run_time(Duration::from_secs(5))
        .stop_timeout(Duration::from_secs(10))
        .run()
        .await
        .unwrap();
    let s = &report.snapshot;
    let count = |name: &str| s.entry(KIND, name).map_or(0, |e| e.requests);
    assert_eq!(count("mediate"), 4, "two agents per user: {report}");
    assert!(count("basic_message") >= 10, "{report}");
    assert_eq!(report.failures(), 0, "{report}");
    let latency = s
        .entry(KIND, "basic_message")
        .unwrap()
        .percentile_ms(0.5)
        .unwrap();
    assert!(latency > 0.0 && latency < 5_000.0, "{latency}");
}
