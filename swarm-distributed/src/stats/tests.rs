//! Unit tests of the wire statistics.

use super::*;

#[test]
fn buckets_round_half_to_even_like_python() {
    // (ms as µs, bucket) from Locust 2.47.0's bucket_response_time.
    let cases: &[(u64, u64)] = &[
        (400, 0),
        (500, 0),
        (501, 1),
        (1_500, 2),
        (2_500, 2),
        (3_500, 4),
        (99_499, 99),
        (99_500, 100),
        (104_900, 100),
        (105_000, 100),
        (105_001, 110),
        (115_000, 120),
        (145_000, 140),
        (147_000, 150),
        (995_000, 1000),
        (999_500, 1000),
        (1_050_000, 1000),
        (1_150_000, 1200),
        (3_432_000, 3400),
        (9_950_000, 10000),
        (10_500_000, 10000),
        (11_500_000, 12000),
        (58_760_000, 59000),
        (0, 0),
    ];
    for &(us, bucket) in cases {
        assert_eq!(bucket_response_time_us(us), bucket, "{us} µs");
    }
}

#[test]
fn buckets_match_locust_on_half_a_million_values() {
    // Locust 2.47.0 computed the reference: sha256 over "bucket," for
    // `bucket_response_time(us / 1000)` with us in range(0, 2_000_000, 7) and then
    // range(0, 60_000_000, 250) (every tie of every band, and values around them).
    let mut h = Sha256::new();
    for us in (0..2_000_000u64)
        .step_by(7)
        .chain((0..60_000_000u64).step_by(250))
    {
        h.update(format!("{},", bucket_response_time_us(us)).as_bytes());
    }
    let hex: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(
        hex,
        "6bd019f58c1bcd9d78030948b4c4bf91badbafcf37639531649bd770db4b2bd7"
    );
}

#[test]
fn percentile_walks_buckets_from_the_top() {
    let buckets: BTreeMap<u64, u64> = [(10, 5), (20, 3), (30, 2)].into();
    // Reference values from Locust 2.47.0's calculate_response_time_percentile.
    for (p, want) in [
        (0.5, 20),
        (0.6, 20),
        (0.8, 30),
        (0.9, 30),
        (1.0, 30),
        (0.0, 10),
        (0.49, 10),
    ] {
        assert_eq!(response_time_percentile(&buckets, 10, p), want, "{p}");
    }
    assert_eq!(response_time_percentile(&BTreeMap::new(), 0, 0.5), 0);
}

#[test]
fn error_key_is_locusts_create_key() {
    assert_eq!(python_str_repr("boom"), "'boom'");
    assert_eq!(python_str_repr("it's"), "\"it's\"");
    assert_eq!(python_str_repr("a'b\"c"), "'a\\'b\"c'");
    assert_eq!(python_str_repr("x\ny\\"), "'x\\ny\\\\'");
    assert_eq!(python_str_repr("é\u{7}"), "'é\\x07'");
    // Both from Locust 2.47.0's StatsError.create_key.
    assert_eq!(
        error_key("GET", "/x", "boom"),
        "d2871aa744fc7ffb8e6c5e822f34fb531e6a62829c8760c4f747bf294793628f"
    );
    assert_eq!(
        error_key("POST", "/b", "it's \"q\" é\n"),
        "3a72e3bbcd2c9776a4158c95fc21d4c2c8d1388d5e88c4203b1633c7771abbdd"
    );
}

#[test]
fn from_delta_converts_micros_to_float_millis() {
    let mut d = EntryDelta::new("GET", "/a");
    d.record(1_500, 10, false, 1_700_000_000.25);
    d.record(2_500, 20, true, 1_700_000_001.5);
    let e = StatsEntry::from_delta(&d, 1.0);
    assert_eq!(e.num_requests, 2);
    assert_eq!(e.num_failures, 1);
    assert_eq!(e.total_response_time, 4.0);
    assert_eq!(e.min_response_time, Some(1.5));
    assert_eq!(e.max_response_time, 2.5);
    assert_eq!(e.total_content_length, 30);
    assert_eq!(e.response_times, [(2, 2)].into());
    assert_eq!(
        e.num_reqs_per_sec,
        [(1_700_000_000, 1), (1_700_000_001, 1)].into()
    );
    assert_eq!(e.num_fail_per_sec, [(1_700_000_001, 1)].into());
    assert_eq!(e.start_time, 1_700_000_000.25);
    assert_eq!(e.last_request_timestamp, Some(1_700_000_001.5));
}

#[test]
fn report_totals_and_merges_errors_by_key() {
    let mut a = EntryDelta::new("GET", "/a");
    a.record(10_000, 1, false, 100.0);
    let mut b = EntryDelta::new("POST", "/b");
    b.record(30_000, 2, true, 101.0);
    let idle = EntryDelta::new("GET", "/idle");
    let err = |n| StatsError {
        name: "/b".into(),
        method: "POST".into(),
        error: "boom".into(),
        occurrences: n,
        first_seen: Some(100.0 + n as f64),
        last_seen: Some(100.0 + n as f64),
    };
    let r = StatsReport::from_deltas(
        &[a, b, idle],
        [err(1), err(2)],
        [("U".to_owned(), 3)].into(),
        99.0,
    );
    assert_eq!(r.stats.len(), 2, "the idle entry is left out");
    assert_eq!(r.stats_total.name, AGGREGATED);
    assert_eq!(r.stats_total.method, "");
    assert_eq!(r.stats_total.num_requests, 2);
    assert_eq!(r.stats_total.num_failures, 1);
    assert_eq!(r.stats_total.start_time, 99.0);
    assert_eq!(r.stats_total.min_response_time, Some(10.0));
    assert_eq!(r.stats_total.max_response_time, 30.0);
    assert_eq!(r.stats_total.response_times, [(10, 1), (30, 1)].into());
    assert_eq!(r.user_count, 3);
    assert_eq!(r.errors.len(), 1);
    let e = &r.errors[&error_key("POST", "/b", "boom")];
    assert_eq!(e.occurrences, 3);
    assert_eq!((e.first_seen, e.last_seen), (Some(101.0), Some(102.0)));
}

#[test]
fn merged_reports_add_up_like_the_master() {
    let mut a = EntryDelta::new("GET", "/a");
    a.record(10_000, 1, true, 100.0);
    let mut b = EntryDelta::new("GET", "/b");
    b.record(20_000, 1, false, 101.0);
    let err = StatsError {
        name: "/a".into(),
        method: "GET".into(),
        error: "boom".into(),
        occurrences: 1,
        first_seen: Some(100.0),
        last_seen: Some(100.0),
    };
    let mut first = StatsReport::from_deltas(
        std::slice::from_ref(&a),
        [err.clone()],
        [("U".to_owned(), 1)].into(),
        99.0,
    );
    let mut later_err = err.clone();
    later_err.last_seen = Some(103.0);
    let later = StatsReport::from_deltas(&[a, b], [later_err], [("U".to_owned(), 2)].into(), 102.0);
    first.merge(later);
    assert_eq!(first.stats.len(), 2);
    assert_eq!(first.stats[0].num_requests, 2);
    assert_eq!(first.stats[0].num_failures, 2);
    assert_eq!(first.stats_total.num_requests, 3);
    assert_eq!(first.stats_total.start_time, 99.0);
    let e = &first.errors[&err.key()];
    assert_eq!(
        (e.occurrences, e.first_seen, e.last_seen),
        (2, Some(100.0), Some(103.0))
    );
    assert_eq!(first.user_count, 2);
}

#[test]
fn extend_is_locusts_merge() {
    let mut a = StatsEntry::empty("/a", "GET", 10.0);
    let mut d = EntryDelta::new("GET", "/a");
    d.record(5_000, 0, false, 20.0);
    let b = StatsEntry::from_delta(&d, 0.0);
    a.extend(&b);
    a.extend(&StatsEntry::empty("/a", "GET", 5.0));
    assert_eq!(a.num_requests, 1);
    assert_eq!(a.min_response_time, Some(5.0));
    assert_eq!(a.start_time, 5.0);
    assert_eq!(a.last_request_timestamp, Some(20.0));
}
