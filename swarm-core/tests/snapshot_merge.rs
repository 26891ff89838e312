//! Merging snapshots (as a master merges its workers'): history rows of the same second
//! add up, and two rows of one snapshot in the same second stay two rows.

use swarm_core::{HistoryRow, Snapshot, PERCENTILES};

fn row(timestamp: u64, users: u32, rps: f64, total_requests: u64) -> HistoryRow {
    HistoryRow {
        timestamp,
        users,
        rps,
        fails_per_sec: 0.0,
        percentiles_ms: vec![Some(rps); PERCENTILES.len()],
        total_requests,
        total_failures: 0,
        total_median_ms: Some(1.0),
        total_avg_ms: 1.0,
        total_min_ms: 1.0,
        total_max_ms: 1.0,
        total_avg_bytes: 0.0,
    }
}

fn snapshot(history: Vec<HistoryRow>) -> Snapshot {
    let mut s = Snapshot::empty();
    s.start_unix_secs = 1_000.0;
    s.history = history;
    s
}

#[test]
fn rows_of_one_second_pair_up_in_order() {
    // The last tick at 1001 s and the final row 0.4 s later, in the same second.
    let a = snapshot(vec![
        row(1000, 2, 10.0, 10),
        row(1001, 2, 10.0, 20),
        row(1001, 0, 5.0, 22),
    ]);
    let b = snapshot(vec![
        row(1001, 3, 30.0, 30),
        row(1001, 0, 1.0, 31),
        row(1002, 0, 2.0, 32),
    ]);
    let mut m = a.clone();
    m.merge(&b);
    let got: Vec<(u64, u32, f64, u64)> = m
        .history
        .iter()
        .map(|r| (r.timestamp, r.users, r.rps, r.total_requests))
        .collect();
    assert_eq!(
        got,
        [
            (1000, 2, 10.0, 10),
            (1001, 5, 40.0, 50),
            (1001, 0, 6.0, 53),
            (1002, 0, 2.0, 32),
        ]
    );
    assert_eq!(
        m.history[1].percentiles_ms[0],
        Some(30.0),
        "the larger percentile"
    );

    // A snapshot merged with itself keeps its length and doubles its counts.
    let mut twice = a.clone();
    twice.merge(&a);
    assert_eq!(twice.history.len(), 3);
    let totals: Vec<u64> = twice.history.iter().map(|r| r.total_requests).collect();
    assert_eq!(totals, [20, 40, 44]);
}
