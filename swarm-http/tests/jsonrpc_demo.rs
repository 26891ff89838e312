//! The JSON-RPC client against the demo target's `/rpc`, whose methods misbehave on
//! purpose: each method its own entry, an error object a failure grouped by code and
//! message, an answer that is no valid response (another id, cut short, not JSON-RPC) a
//! failure that says so, batches and notifications.

use std::time::Duration;

use serde_json::json;
use swarm_core::prelude::*;
use swarm_http::demo::DemoServer;
use swarm_http::jsonrpc::{Batch, RpcClient, RpcError, KIND};
use swarm_http::HttpClient;

struct Caller {
    done: bool,
}

#[async_trait]
impl User for Caller {
    async fn on_start(_ctx: &mut UserContext) -> Result<Self, TaskError> {
        Ok(Caller { done: false })
    }
    fn tasks() -> Tasks<Self> {
        Tasks::new().task("once", Self::once)
    }
    fn wait_time(&self) -> Wait {
        Wait::constant(Duration::from_millis(50))
    }
}

impl Caller {
    async fn once(&mut self, ctx: &mut UserContext) -> TaskResult {
        if std::mem::replace(&mut self.done, true) {
            return Ok(());
        }
        let http = HttpClient::new(ctx)?;
        let mut rpc = RpcClient::http(&http, "/rpc")?.with_timeout(Duration::from_secs(5));

        let v = rpc.call("echo", ("a", 1)).await?;
        assert_eq!(v, json!(["a", 1]));
        let n: Vec<u32> = rpc.call_as("echo", [1, 2, 3]).await?;
        assert_eq!(n, [1, 2, 3]);
        // A result of another shape fails the call.
        let bad = rpc.call_as::<u32>("echo", ["x"]).await.unwrap_err();
        assert!(bad.to_string().contains("the result is not u32"), "{bad}");

        let e = rpc.call("fail", ()).await.unwrap_err();
        let obj = e.error_object().expect("an error object");
        assert_eq!(
            (obj.code, obj.message.as_str()),
            (-32000, "deliberate failure")
        );
        let e = rpc.call("no_such_method", ()).await.unwrap_err();
        assert_eq!(e.error_object().map(|o| o.code), Some(-32601));

        for method in ["wrong_id", "truncated", "not_rpc"] {
            let e = rpc.call(method, ()).await.unwrap_err();
            assert!(
                matches!(e, RpcError::InvalidResponse { .. }),
                "{method}: {e:?}"
            );
        }

        rpc.notify("echo", ["ignored"]).await?;

        let batch = Batch::new()
            .call("echo", ["one"])?
            .notify("echo", ["nothing back"])?
            .call("fail", ())?
            .call("echo", ["three"])?;
        let answers = rpc.batch("batch", &batch).await?;
        assert_eq!(answers.len(), 3);
        assert_eq!(answers[0], Ok(json!(["one"])));
        assert_eq!(answers[1].as_ref().unwrap_err().code, -32000);
        assert_eq!(answers[2], Ok(json!(["three"])));
        let ok_batch = Batch::new().call("echo", [1])?.call("echo", [2])?;
        let answers = rpc.batch("batch ok", &ok_batch).await?;
        assert_eq!(answers, vec![Ok(json!([1])), Ok(json!([2]))]);

        // Subscriptions need a WebSocket: refused before anything is sent.
        let e = rpc
            .subscribe("eth_subscribe", ["newHeads"], "newHeads")
            .await
            .unwrap_err();
        assert!(matches!(e, RpcError::Config(_)), "{e:?}");
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_errors_invalid_answers_batches_and_notifications_are_recorded() {
    let server = DemoServer::start().await.unwrap();
    let report = Swarm::new()
        .user::<Caller>()
        .users(1)
        .spawn_rate(10.0)
        .run_time(Duration::from_secs(1))
        .stop_timeout(Duration::from_secs(10))
        .host(server.url())
        .run()
        .await
        .unwrap();
    let s = &report.snapshot;
    assert!(
        s.entry(swarm_core::TASK_KIND, "Caller.once").is_none(),
        "the task's assertions held: {report}"
    );
    let entry = |name: &str| {
        s.entry(KIND, name)
            .unwrap_or_else(|| panic!("no {name}: {report}"))
    };
    let echo = entry("echo");
    // echo x3 calls (one with a result of the wrong shape) and one notification.
    assert_eq!((echo.requests, echo.failures), (4, 1), "{report}");
    assert_eq!(echo.codes.get("200"), Some(&3));
    assert_eq!(echo.codes.get("204"), Some(&1));
    let fail = entry("fail");
    assert_eq!((fail.requests, fail.failures), (1, 1));
    assert_eq!(fail.codes.get("-32000"), Some(&1));
    assert_eq!(entry("no_such_method").codes.get("-32601"), Some(&1));

    let message = |name: &str| -> String {
        let errs: Vec<_> = s
            .errors
            .iter()
            .filter(|e| e.kind == KIND && e.name == name)
            .collect();
        assert_eq!(errs.len(), 1, "{name}: {errs:?}");
        errs[0].message.clone()
    };
    assert_eq!(message("fail"), "JSON-RPC error -32000: deliberate failure");
    assert_eq!(
        message("no_such_method"),
        "JSON-RPC error -32601: Method not found"
    );
    // Ids count from 1 per client: wrong_id is the sixth call.
    assert_eq!(
        message("wrong_id"),
        "JSON-RPC response id 1006 does not match request id 6"
    );
    assert_eq!(
        message("truncated"),
        "invalid JSON-RPC response: cut short (truncated JSON)"
    );
    assert_eq!(
        message("not_rpc"),
        "invalid JSON-RPC response: no \"jsonrpc\": \"2.0\""
    );
    let batch = entry("batch");
    assert_eq!((batch.requests, batch.failures), (1, 1));
    assert_eq!(
        message("batch"),
        "fail: JSON-RPC error -32000: deliberate failure"
    );
    let ok = entry("batch ok");
    assert_eq!((ok.requests, ok.failures), (1, 0));
}
