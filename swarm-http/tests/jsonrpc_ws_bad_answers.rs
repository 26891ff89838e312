//! JSON-RPC over a WebSocket when the other side is not a good JSON-RPC server (the demo
//! target's echo endpoint): an answer that is not a JSON-RPC response (the request echoed
//! back), a server that closes mid-call, a batch answered with requests, and a URL with
//! the wrong scheme are each a clear, counted failure, never a stuck user.

mod common;

use std::time::Duration;

use swarm_http::demo::DemoServer;
use swarm_http::jsonrpc::{Batch, RpcClient, RpcError, KIND};
use swarm_http::ws::CONNECT_KIND;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_answers_over_a_websocket_are_counted_failures() {
    let server = DemoServer::start().await.unwrap();
    let report = common::run_once(&server.url(), |ctx| {
        Box::pin(async move {
            // The echo sends the request back: same id, but neither result nor error.
            let mut rpc = RpcClient::ws(ctx, "/ws/echo")
                .await?
                .with_timeout(Duration::from_secs(5));
            let e = rpc.call("eth_blockNumber", ()).await.unwrap_err();
            match &e {
                RpcError::InvalidResponse { method, message } => {
                    assert_eq!(method, "eth_blockNumber");
                    assert!(message.contains("invalid JSON-RPC response"), "{message}");
                }
                other => panic!("expected an invalid response, got {other:?}"),
            }
            // A batch echoed back: requests where answers belong.
            let batch = Batch::new().call("a", [1])?.call("b", [2])?;
            let e = rpc.batch("echoed batch", &batch).await.unwrap_err();
            assert!(matches!(e, RpcError::InvalidResponse { .. }), "{e:?}");
            rpc.close().await?;

            // The server closes the socket at the first message: the call fails at once.
            let mut rpc = RpcClient::ws(ctx, "/ws/echo?close_after=0")
                .await?
                .with_timeout(Duration::from_secs(30));
            let e = rpc.call("net_version", ()).await.unwrap_err();
            match &e {
                RpcError::Transport { method, message } => {
                    assert_eq!(method, "net_version");
                    assert!(message.contains("closed by the server"), "{message}");
                }
                other => panic!("expected a transport failure, got {other:?}"),
            }

            // A URL that is no WebSocket URL.
            let e = RpcClient::ws(ctx, "ftp://127.0.0.1:1/rpc")
                .await
                .unwrap_err();
            assert!(
                e.to_string().contains("is not ws, wss, http or https"),
                "{e}"
            );
            Ok(())
        })
    })
    .await;
    let s = &report.snapshot;
    for name in ["eth_blockNumber", "echoed batch", "net_version"] {
        let e = s
            .entry(KIND, name)
            .unwrap_or_else(|| panic!("no {name}: {report}"));
        assert_eq!((e.requests, e.failures), (1, 1), "{name}: {report}");
    }
    let refused = s.entry(CONNECT_KIND, "ftp://127.0.0.1:1/rpc").unwrap();
    assert_eq!((refused.requests, refused.failures), (1, 1), "{report}");
}
