//! The CSV files of a Swarm run and of a real Locust run (through `peers/`) of the same
//! scenario against the same target have identical header rows and the same columns,
//! with the same meaning, in the `Aggregated` row.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{code, example, key_values, repo_root, wait_bounded};
use swarm_http::demo::DemoServer;

fn locust_run(url: &str, prefix: &Path) {
    let root = repo_root();
    assert!(
        root.join(".peers/locust/venv/bin/locust").exists(),
        "the Locust peer is missing: run `peers/install locust` (scripts/test-all does)"
    );
    let out = Command::new(root.join("peers/start"))
        .current_dir(&root)
        .args([
            "locust",
            "-f",
            "peers/locustfiles/http_basic.py",
            "--headless",
        ])
        .args(["-u", "5", "-r", "5", "-t", "4s", "-H", url, "--csv"])
        .arg(prefix)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "peers/start locust: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let kv = key_values(&String::from_utf8_lossy(&out.stdout));
    let exit = kv.get("EXIT").expect("EXIT= line").clone();
    let pid = kv.get("PID").expect("PID= line").clone();
    let start = Instant::now();
    while std::fs::read_to_string(&exit).map_or(true, |s| s.trim().is_empty()) {
        if start.elapsed() > Duration::from_secs(60) {
            let _ = Command::new(root.join("peers/stop"))
                .args(["locust", &pid])
                .status();
            panic!("Locust did not finish within 60 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = Command::new(root.join("peers/stop"))
        .args(["locust", &pid])
        .status();
}

fn swarm_run(url: &str, prefix: &Path) {
    let mut cmd = example("http_basic");
    cmd.args([
        "-u",
        "5",
        "-r",
        "5",
        "-t",
        "4s",
        "--only-summary",
        "-H",
        url,
        "--csv",
    ])
    .arg(prefix);
    let out = wait_bounded(cmd.spawn().unwrap(), Duration::from_secs(60));
    assert_eq!(
        code(out.status),
        0,
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn read(prefix: &Path, suffix: &str) -> String {
    let p = format!("{}{suffix}", prefix.display());
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

fn header(text: &str) -> &str {
    let end = text
        .find("\r\n")
        .expect("CSV lines end in CRLF, as Python's csv module writes");
    &text[..end + 2]
}

fn aggregated(text: &str) -> Vec<String> {
    let line = text.lines().last().unwrap();
    line.split(',').map(str::to_owned).collect()
}

#[test]
fn swarm_and_locust_csv_agree() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime.block_on(DemoServer::start()).unwrap();
    let url = server.url();
    let dir = tempfile::tempdir().unwrap();
    let locust = dir.path().join("locust");
    let swarm = dir.path().join("swarm");
    locust_run(&url, &locust);
    swarm_run(&url, &swarm);

    for suffix in [
        "_stats.csv",
        "_stats_history.csv",
        "_failures.csv",
        "_exceptions.csv",
    ] {
        let (l, s) = (read(&locust, suffix), read(&swarm, suffix));
        assert_eq!(header(&s), header(&l), "header row of {suffix}");
    }

    let (l, s) = (read(&locust, "_stats.csv"), read(&swarm, "_stats.csv"));
    let (la, sa) = (aggregated(&l), aggregated(&s));
    assert_eq!(
        sa.len(),
        la.len(),
        "columns of the Aggregated row:\n{l}\n{s}"
    );
    assert_eq!((&sa[0][..], &sa[1][..]), ("", "Aggregated"));
    assert_eq!((&la[0][..], &la[1][..]), ("", "Aggregated"));
    // Same rows: one entry with the same grouped name, then Aggregated.
    let names = |t: &str| -> Vec<String> {
        t.lines()
            .skip(1)
            .map(|r| r.split(',').take(2).collect::<Vec<_>>().join(","))
            .collect()
    };
    assert_eq!(names(&s), names(&l));
    assert_eq!(names(&s)[0], "GET,/index.html?ok=[random]");
    // Same meaning: both count requests; the content size is the same page's size.
    let count = |row: &[String]| row[2].parse::<u64>().unwrap();
    assert!(count(&sa) > 20 && count(&la) > 20, "{l}\n{s}");
    assert_eq!(sa[8], la[8], "Average Content Size: same page, same size");
    assert_eq!(sa[3], "0");
    assert_eq!(la[3], "0");
    // With 5 users waiting 0.1 s, both run near 50 requests/s.
    for row in [&sa, &la] {
        let rps: f64 = row[9].parse().unwrap();
        assert!((25.0..60.0).contains(&rps), "Requests/s {rps}");
        // Percentile columns are whole milliseconds (or N/A) in both.
        for cell in &row[11..] {
            assert!(
                cell == "N/A" || cell.parse::<u64>().is_ok(),
                "percentile cell {cell:?}"
            );
        }
        // Average, min and max response times are floats written by Python's repr rules.
        for cell in &row[5..8] {
            assert!(cell.parse::<f64>().is_ok(), "{cell:?}");
        }
    }
    // Everything both tools sent reached the target (Locust's CSV may lag by a second).
    assert!(server.hits("/index.html") >= count(&sa) + count(&la));
}
