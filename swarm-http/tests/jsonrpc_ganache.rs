//! The JSON-RPC client against a real ganache (`peers/start ganache`), over HTTP and a
//! WebSocket: calls, a batch, an unknown method's error object, and a `newHeads`
//! subscription that delivers the heads of blocks mined meanwhile.

mod common;

use std::time::Duration;

use serde_json::{json, Value};
use swarm_core::UserContext;
use swarm_http::jsonrpc::{Batch, RpcClient};
use swarm_http::HttpClient;

/// ganache's deterministic account 0 (a public test account).
const ACCOUNT0: &str = "0x90f8bf6a479f320ead074411a4b0e7944ea8c9c1";

fn hex_u64(v: &Value) -> u64 {
    u64::from_str_radix(v.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_batches_errors_and_new_heads_against_ganache() {
    let ganache = common::Peer::start("ganache");
    let url = url::Url::parse(ganache.var("URL")).unwrap();
    let ctx = UserContext::detached(Some(url), 1);
    let limit = Duration::from_secs(60);
    tokio::time::timeout(limit, async {
        let http = HttpClient::new(&ctx).unwrap();
        let mut rpc = RpcClient::http(&http, "/")
            .unwrap()
            .with_timeout(Duration::from_secs(10));

        let chain: String = rpc.call_as("eth_chainId", ()).await.unwrap();
        assert_eq!(chain, "0x539"); // 1337
        let balance = rpc
            .call("eth_getBalance", (ACCOUNT0, "latest"))
            .await
            .unwrap();
        assert_eq!(balance, json!("0x3635c9adc5dea00000")); // 1000 ETH

        // ganache answers an unknown method with an error object (code -32700, not -32601).
        let e = rpc.call("eth_noSuchMethod", ()).await.unwrap_err();
        let obj = e.error_object().expect("an error object");
        assert!(obj.message.contains("eth_noSuchMethod"), "{obj:?}");

        let batch = Batch::new()
            .call("eth_chainId", ())
            .unwrap()
            .call("net_version", ())
            .unwrap()
            .call("eth_noSuchMethod", ())
            .unwrap();
        let answers = rpc.batch("batch", &batch).await.unwrap();
        assert_eq!(answers[0], Ok(json!("0x539")));
        assert_eq!(answers[1], Ok(json!("1337")));
        assert!(answers[2].is_err());

        // Over a WebSocket on the same port.
        let mut ws = RpcClient::ws(&ctx, "/")
            .await
            .unwrap()
            .with_timeout(Duration::from_secs(10));
        let chain: String = ws.call_as("eth_chainId", ()).await.unwrap();
        assert_eq!(chain, "0x539");
        let sub = ws
            .subscribe("eth_subscribe", ["newHeads"], "newHeads")
            .await
            .unwrap();
        let start: u64 = hex_u64(&rpc.call("eth_blockNumber", ()).await.unwrap());
        let mut seen = Vec::new();
        for _ in 0..3 {
            rpc.call("evm_mine", ()).await.unwrap();
            let head = ws.next_head(&sub, Duration::from_secs(10)).await.unwrap();
            assert!(head.get("hash").is_some(), "{head}");
            seen.push(hex_u64(&head["number"]));
        }
        assert_eq!(seen, [start + 1, start + 2, start + 3]);
        // Calls and notifications share the socket: a call still gets its own answer.
        let n = hex_u64(&ws.call("eth_blockNumber", ()).await.unwrap());
        assert_eq!(n, start + 3);
        assert!(ws.unsubscribe("eth_unsubscribe", sub).await.unwrap());
        ws.close().await.unwrap();
    })
    .await
    .expect("bounded");
}

/// Mines a block over HTTP and waits for its head over a WebSocket subscription.
struct HeadWatcher {
    http: RpcClient,
    ws: RpcClient,
    sub: swarm_http::jsonrpc::Subscription,
}

#[swarm_core::async_trait]
impl swarm_core::User for HeadWatcher {
    async fn on_start(ctx: &mut UserContext) -> Result<Self, swarm_core::TaskError> {
        let http = HttpClient::new(ctx)?;
        let http = RpcClient::http(&http, "/")?.with_timeout(Duration::from_secs(10));
        let mut ws = RpcClient::ws(ctx, "/")
            .await?
            .with_timeout(Duration::from_secs(10));
        let sub = ws
            .subscribe("eth_subscribe", ["newHeads"], "newHeads")
            .await?;
        Ok(HeadWatcher { http, ws, sub })
    }
    fn tasks() -> swarm_core::Tasks<Self> {
        swarm_core::Tasks::new().task("mine", Self::mine)
    }
    fn wait_time(&self) -> swarm_core::Wait {
        swarm_core::Wait::constant(Duration::from_millis(50))
    }
}

impl HeadWatcher {
    async fn mine(&mut self, _ctx: &mut UserContext) -> swarm_core::TaskResult {
        self.http.call("evm_mine", ()).await?;
        self.ws
            .next_head(&self.sub, Duration::from_secs(10))
            .await?;
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_mined_block_is_recorded_as_a_new_head() {
    let ganache = common::Peer::start("ganache");
    let report = swarm_core::Swarm::new()
        .user::<HeadWatcher>()
        .users(1)
        .spawn_rate(10.0)
        .run_time(Duration::from_secs(2))
        .stop_timeout(Duration::from_secs(10))
        .host(ganache.var("URL"))
        .run()
        .await
        .unwrap();
    let s = &report.snapshot;
    assert_eq!(s.total_failures(), 0, "{report}");
    let mined = s.entry("JSONRPC", "evm_mine").unwrap();
    let heads = s.entry("JSONRPC", "newHeads").unwrap();
    assert!(mined.requests > 0);
    assert_eq!(heads.requests, mined.requests, "{report}");
    assert_eq!(s.entry("JSONRPC", "eth_subscribe").unwrap().requests, 1);
    assert_eq!(
        s.entry("WSCONNECT", "/").unwrap().codes.get("101"),
        Some(&1)
    );
}
