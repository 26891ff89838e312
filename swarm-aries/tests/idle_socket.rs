//! An idle agent keeps its WebSocket to a real ACA-Py mediator. ACA-Py pings every socket
//! every 3 s and closes one whose pong does not come within 1.5 s; the agent's reader answers
//! while the agent itself does nothing (before it did, a ping after more than ~4.5 s of
//! silence found the socket closed).

mod common;

use std::time::Duration;

use swarm_aries::{Agent, AgentOptions, Invitation};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_agent_keeps_its_websocket() {
    let peer = common::Peer::start("mediator");
    common::bounded(Duration::from_secs(90), async {
        let invitation = Invitation::parse(peer.var("INVITATION")).expect("the invitation parses");
        let mut options = AgentOptions::default();
        options.timeout = Duration::from_secs(20);
        let mut agent = Agent::connect(&invitation, reqwest::Client::new(), &options)
            .await
            .expect("connects");
        agent.request_mediation().await.expect("mediated");
        agent.ping().await.expect("first ping");
        // Two of ACA-Py's heartbeat periods and more without a word from the agent.
        tokio::time::sleep(Duration::from_secs(8)).await;
        agent
            .ping()
            .await
            .expect("the socket survived the silence: ACA-Py's heartbeat pings were answered");
        agent.close().await;
    })
    .await;
}
