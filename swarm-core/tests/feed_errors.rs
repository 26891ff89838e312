//! Bad feeder input is a clear error before any load: a missing file, a header that does
//! not match the row type, a malformed row (line and column named, its value not shown),
//! an empty feeder, a mode that cannot be partitioned, a bad `--feed` value.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use swarm_core::prelude::*;
use swarm_core::{Error, Feed, FeedArg, FeedError, FeedMode, OnExhausted};

#[derive(Debug, Clone, serde::Deserialize)]
#[allow(dead_code)]
struct Account {
    username: String,
    password: String,
    age: u32,
}

static STARTED: AtomicU32 = AtomicU32::new(0);

struct Never;

#[async_trait]
impl User for Never {
    async fn on_start(_ctx: &mut UserContext) -> Result<Self, TaskError> {
        STARTED.fetch_add(1, Ordering::SeqCst);
        Ok(Never)
    }
    fn tasks() -> Tasks<Self> {
        Tasks::new().task("idle", Self::idle)
    }
}

impl Never {
    async fn idle(&mut self, _ctx: &mut UserContext) -> TaskResult {
        Ok(())
    }
}

/// Start a run with this feeder: the error it gives, checked to come before any user.
async fn start_error(feed: Feed, partition: Option<(u32, u32)>) -> FeedError {
    let mut swarm = Swarm::new()
        .user::<Never>()
        .run_time(Duration::from_secs(1))
        .feed(feed);
    if let Some((i, n)) = partition {
        swarm = swarm.feed_partition(i, n);
    }
    match swarm.start() {
        Err(Error::Feed(e)) => {
            assert_eq!(STARTED.load(Ordering::SeqCst), 0, "no user started");
            e
        }
        Err(other) => panic!("not a feeder error: {other}"),
        Ok(_) => panic!("the run started"),
    }
}

fn file(dir: &tempfile::TempDir, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.path().join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[tokio::test]
async fn a_missing_file_is_named() {
    let e = start_error(Feed::csv("accounts", "/nonexistent/users.csv"), None).await;
    assert!(matches!(e, FeedError::Read { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(
        msg.contains("accounts") && msg.contains("/nonexistent/users.csv"),
        "{msg}"
    );
}

#[tokio::test]
async fn a_header_that_does_not_fit_the_row_type_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let p = file(&dir, "a.csv", "username,pass,age\nalice,s3cret,30\n");
    let e = start_error(Feed::csv("accounts", p).typed::<Account>(), None).await;
    let FeedError::HeaderMismatch {
        header, message, ..
    } = &e
    else {
        panic!("{e:?}")
    };
    assert_eq!(header, "username,pass,age");
    assert!(message.contains("password"), "{e}");
    assert!(
        !e.to_string().contains("s3cret"),
        "no value in the message: {e}"
    );
}

#[tokio::test]
async fn a_malformed_row_names_its_line_and_column_and_hides_the_value() {
    let dir = tempfile::tempdir().unwrap();
    let p = file(
        &dir,
        "a.csv",
        "username,password,age\nalice,pw1,30\nbob,hunter2,thirty\n",
    );
    let e = start_error(Feed::csv("accounts", p).typed::<Account>(), None).await;
    let FeedError::Malformed { line, column, .. } = &e else {
        panic!("{e:?}")
    };
    assert_eq!(*line, 3);
    assert_eq!(column.as_deref(), Some("age"));
    let msg = e.to_string();
    assert!(
        msg.contains("line 3") && msg.contains("column age"),
        "{msg}"
    );
    assert!(!msg.contains("thirty") && !msg.contains("hunter2"), "{msg}");

    // A row with a missing field, found without a row type too.
    let p = file(
        &dir,
        "b.csv",
        "username,password,age\nalice,pw1,30\nbob,pw2\n",
    );
    let e = start_error(Feed::csv("accounts", p), None).await;
    assert!(matches!(e, FeedError::Malformed { line: 3, .. }), "{e:?}");
    assert!(
        e.to_string().contains("2 fields where the header has 3"),
        "{e}"
    );
}

#[tokio::test]
async fn a_malformed_json_line_names_its_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let p = file(
        &dir,
        "a.jsonl",
        "{\"username\":\"a\",\"password\":\"b\",\"age\":1}\n{\"username\":\"c\",\"password\":\"topsecret\",\"age\":\"x\"}\n",
    );
    let e = start_error(Feed::json_lines("accounts", &p).typed::<Account>(), None).await;
    let FeedError::Malformed { line, column, .. } = &e else {
        panic!("{e:?}")
    };
    assert_eq!(*line, 2);
    assert!(column.is_some(), "{e}");
    assert!(!e.to_string().contains("topsecret"), "{e}");

    let p = file(&dir, "b.jsonl", "{\"a\": 1}\n{\"a\": \n");
    let e = start_error(Feed::json_lines("accounts", &p), None).await;
    assert!(matches!(e, FeedError::Malformed { line: 2, .. }), "{e:?}");
}

#[tokio::test]
async fn an_empty_feeder_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let p = file(&dir, "a.csv", "username,password,age\n");
    let e = start_error(Feed::csv("accounts", p), None).await;
    assert!(matches!(e, FeedError::Empty { .. }), "{e:?}");
    let p = file(&dir, "a.jsonl", "\n\n");
    let e = start_error(Feed::json_lines("accounts", p), None).await;
    assert!(matches!(e, FeedError::Empty { .. }), "{e:?}");
    let e = start_error(Feed::rows::<u32>("accounts", Vec::new()), None).await;
    assert!(matches!(e, FeedError::Empty { .. }), "{e:?}");
}

#[tokio::test]
async fn a_feeder_that_cannot_be_partitioned_is_refused() {
    let rows = || Feed::rows("ids", vec![1_u32, 2, 3]).mode(FeedMode::Unique);
    // Fewer rows than partitions: one worker would get none.
    let e = start_error(rows(), Some((3, 4))).await;
    assert!(matches!(e, FeedError::Unpartitionable { .. }), "{e:?}");
    assert!(e.to_string().contains("3 rows"), "{e}");
    // A worker index beyond the partition count.
    let e = start_error(rows().mode(FeedMode::PerUser), Some((2, 2))).await;
    assert!(e.to_string().contains("--feed-partitions"), "{e}");
    // Unique rows cannot recycle.
    let e = start_error(rows().on_exhausted(OnExhausted::Recycle), None).await;
    assert!(matches!(e, FeedError::Invalid { .. }), "{e:?}");
}

#[test]
fn feed_values_parse_or_say_why() {
    let a: FeedArg = "accounts=users.csv:unique".parse().unwrap();
    assert_eq!(a.name, "accounts");
    assert_eq!(a.path, std::path::PathBuf::from("users.csv"));
    assert_eq!(a.mode, Some(FeedMode::Unique));
    assert_eq!(a.on_exhausted, None);
    let a: FeedArg = "ids=C:/data/ids.jsonl:per-user:end-run".parse().unwrap();
    assert_eq!(a.path, std::path::PathBuf::from("C:/data/ids.jsonl"));
    assert_eq!(a.mode, Some(FeedMode::PerUser));
    assert_eq!(a.on_exhausted, Some(OnExhausted::EndRun));
    assert_eq!(a.to_string(), "ids=C:/data/ids.jsonl:per-user:end-run");
    for bad in ["users.csv", "=users.csv", "a=", "a=x.csv:unique:recycle"] {
        let e = bad.parse::<FeedArg>().unwrap_err();
        assert!(matches!(e, FeedError::Invalid { .. }), "{bad}: {e:?}");
    }
    let e = Feed::file("a", "users.txt").unwrap_err();
    assert!(matches!(e, FeedError::UnknownFormat { .. }), "{e:?}");
}

#[test]
fn the_command_line_and_a_config_file_set_feeders() {
    use clap::Parser as _;
    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        args: swarm_core::cli::Args,
    }
    let cli = Cli::try_parse_from(["x", "--feed", "accounts=users.csv:unique:end-run"]).unwrap();
    let c = cli.args.to_config().unwrap();
    assert_eq!(c.feeds.len(), 1);
    assert_eq!(c.feeds[0].on_exhausted, Some(OnExhausted::EndRun));
    let bad = Cli::try_parse_from(["x", "--feed", "accounts=users.csv:unique:recycle"]);
    assert!(bad.is_err(), "refused by the parser");
}

#[tokio::test]
async fn an_unknown_name_or_type_is_an_error_of_the_draw() {
    let mut ctx = UserContext::detached(None, 1);
    let e = ctx.feed::<u32>("nothing").unwrap_err();
    assert!(matches!(e, FeedError::Unknown { .. }), "{e:?}");
}
