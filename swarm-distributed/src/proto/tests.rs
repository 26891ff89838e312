use super::*;
use crate::stats::{EntryDelta, StatsEntry, StatsError, StatsReport};
use rand::{Rng, SeedableRng};

/// The 35-byte node id of the capture in LOCUST-PROTOCOL.md.
const ID: &str = "vm_05e52a4aff4e48a28761e731d21ad37a";

fn bytes(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

#[test]
fn client_ready_is_the_captured_58_bytes() {
    let want = bytes(&[
        &[0x93, 0xac],
        b"client_ready",
        &[0xa6],
        b"2.47.0",
        &[0xd9, 0x23],
        ID.as_bytes(),
    ]);
    assert_eq!(want.len(), 58);
    let msg = WorkerMessage::ClientReady {
        version: "2.47.0".into(),
    };
    assert_eq!(msg.encode(ID).expect("encodes"), want);
    let back = WorkerMessage::decode(&want).expect("decodes");
    assert_eq!(back.message, msg);
    assert_eq!(back.node_id, ID);
}

#[test]
fn ack_is_the_captured_50_bytes() {
    let want = bytes(&[
        &[0x93, 0xa3],
        b"ack",
        &[0x81, 0xa5],
        b"index",
        &[0x00, 0xd9, 0x23],
        ID.as_bytes(),
    ]);
    assert_eq!(want.len(), 50);
    let msg = MasterMessage::Ack(Ack { index: Some(0) });
    assert_eq!(msg.encode(ID).expect("encodes"), want);
    assert_eq!(MasterMessage::decode(&want).expect("decodes").message, msg);
}

#[test]
fn master_heartbeat_is_the_captured_49_bytes() {
    let want = bytes(&[
        &[0x93, 0xa9],
        b"heartbeat",
        &[0xc0, 0xd9, 0x23],
        ID.as_bytes(),
    ]);
    assert_eq!(want.len(), 49);
    assert_eq!(MasterMessage::Heartbeat.encode(ID).expect("encodes"), want);
    assert_eq!(
        MasterMessage::decode(&want).expect("decodes").message,
        MasterMessage::Heartbeat
    );
}

#[test]
fn worker_heartbeat_has_locusts_key_order_and_types() {
    let msg = WorkerMessage::Heartbeat(WorkerHeartbeat {
        state: WorkerState::Running,
        current_cpu_usage: 12.5,
        current_memory_usage: 45_000_000,
    });
    let b = msg.encode(ID).expect("encodes");
    let mut want = bytes(&[
        &[0x93, 0xa9],
        b"heartbeat",
        &[0x83, 0xa5],
        b"state",
        &[0xa7],
        b"running",
    ]);
    want.extend([0xb1]);
    want.extend(b"current_cpu_usage");
    want.push(0xcb);
    want.extend(12.5f64.to_be_bytes());
    want.push(0xb4);
    want.extend(b"current_memory_usage");
    want.push(0xce);
    want.extend(45_000_000u32.to_be_bytes());
    want.extend([0xd9, 0x23]);
    want.extend(ID.as_bytes());
    assert_eq!(b, want);
    // Within the 112-116 bytes the capture saw.
    assert!((112..=116).contains(&b.len()), "{}", b.len());
    assert_eq!(WorkerMessage::decode(&b).expect("decodes").message, msg);
}

#[test]
fn data_less_messages_carry_nil() {
    for (msg, ty) in [
        (WorkerMessage::Spawning, "spawning"),
        (WorkerMessage::ClientStopped, "client_stopped"),
        (WorkerMessage::Quit, "quit"),
    ] {
        let b = msg.encode(ID).expect("encodes");
        let v = rmpv::decode::read_value(&mut b.as_slice()).expect("msgpack");
        assert_eq!(v[0].as_str(), Some(ty));
        assert!(v[1].is_nil(), "{ty}: {v}");
        assert_eq!(WorkerMessage::decode(&b).expect("decodes").message, msg);
    }
    for msg in [
        MasterMessage::Stop,
        MasterMessage::Quit,
        MasterMessage::Reconnect,
    ] {
        let b = msg.encode(ID).expect("encodes");
        assert_eq!(MasterMessage::decode(&b).expect("decodes").message, msg);
    }
}

/// A spawn as Locust 2.47.0's master sends it (built with Python's msgpack 1.2.4:
/// `msgpack.dumps(("spawn", {...}, ID))`).
#[test]
fn decodes_a_python_spawn() {
    let body = python_spawn();
    let env = MasterMessage::decode(&body).expect("decodes");
    assert_eq!(env.node_id, ID);
    let MasterMessage::Spawn(spawn) = env.message else {
        panic!("{:?}", env.message)
    };
    assert_eq!(spawn.timestamp, 1795506873.5);
    assert_eq!(
        spawn.user_classes_count,
        [("AdminUser".to_owned(), 1), ("WebsiteUser".to_owned(), 2)].into()
    );
    assert_eq!(spawn.user_count(), 3);
    assert_eq!(spawn.host.as_deref(), Some("http://127.0.0.1:8080"));
    assert_eq!(spawn.stop_timeout, None);
    assert_eq!(spawn.parsed_options["num_users"].as_u64(), Some(3));
    // And back: the same value on the wire (key order of the options kept).
    let again = MasterMessage::Spawn(spawn).encode(ID).expect("encodes");
    assert_eq!(
        rmpv::decode::read_value(&mut again.as_slice()).expect("msgpack"),
        rmpv::decode::read_value(&mut body.as_slice()).expect("msgpack")
    );
}

fn python_spawn() -> Vec<u8> {
    // Hand-assembled msgpack, as Python's msgpack packs it: fixmap of 5, float64
    // timestamp, str keys, nil for None.
    let mut b = vec![0x93, 0xa5];
    b.extend(b"spawn");
    b.push(0x85);
    b.push(0xa9);
    b.extend(b"timestamp");
    b.push(0xcb);
    b.extend(1795506873.5f64.to_be_bytes());
    b.push(0xb2);
    b.extend(b"user_classes_count");
    b.push(0x82);
    b.push(0xa9);
    b.extend(b"AdminUser");
    b.push(0x01);
    b.push(0xab);
    b.extend(b"WebsiteUser");
    b.push(0x02);
    b.push(0xa4);
    b.extend(b"host");
    b.push(0xb5);
    b.extend(b"http://127.0.0.1:8080");
    b.push(0xac);
    b.extend(b"stop_timeout");
    b.push(0xc0);
    b.push(0xae);
    b.extend(b"parsed_options");
    b.push(0x82);
    b.push(0xa9);
    b.extend(b"num_users");
    b.push(0x03);
    b.push(0xa8);
    b.extend(b"headless");
    b.push(0xc3);
    b.extend([0xd9, 0x23]);
    b.extend(ID.as_bytes());
    b
}

#[test]
fn stats_entries_use_int_keys_floats_and_nil() {
    let mut d = EntryDelta::new("GET", "/does-not-exist");
    d.record(8_272, 335, true, 1795506873.8842657);
    let entry = StatsEntry::from_delta(&d, 1795506873.8842638);
    let report = StatsReport {
        stats: vec![entry],
        stats_total: StatsEntry::empty("Aggregated", "", 1795506872.4362159),
        errors: BTreeMap::new(),
        user_classes_count: [("U".to_owned(), 1)].into(),
        user_count: 1,
    };
    let b = WorkerMessage::Stats(Box::new(report.clone()))
        .encode(ID)
        .expect("encodes");
    let v = rmpv::decode::read_value(&mut b.as_slice()).expect("msgpack");
    let data = &v[1];
    let e = &data["stats"][0];
    let keys: Vec<&str> = e
        .as_map()
        .expect("map")
        .iter()
        .map(|(k, _)| k.as_str().expect("str key"))
        .collect();
    assert_eq!(
        keys,
        [
            "name",
            "method",
            "last_request_timestamp",
            "start_time",
            "num_requests",
            "num_none_requests",
            "num_failures",
            "total_response_time",
            "max_response_time",
            "min_response_time",
            "total_content_length",
            "response_times",
            "num_reqs_per_sec",
            "num_fail_per_sec"
        ]
    );
    assert!(matches!(e["total_response_time"], Value::F64(t) if t == 8.272));
    assert!(matches!(e["min_response_time"], Value::F64(t) if t == 8.272));
    assert!(matches!(e["last_request_timestamp"], Value::F64(_)));
    let rt = e["response_times"].as_map().expect("map");
    assert_eq!(rt.len(), 1);
    assert_eq!(rt[0].0.as_u64(), Some(8), "int key, not a str");
    assert_eq!(rt[0].1.as_u64(), Some(1));
    assert_eq!(
        e["num_reqs_per_sec"].as_map().expect("map")[0].0.as_u64(),
        Some(1795506873)
    );
    // The idle total: nil last request and min, int 0 for total and max.
    let t = &data["stats_total"];
    assert!(t["last_request_timestamp"].is_nil());
    assert!(t["min_response_time"].is_nil());
    assert!(matches!(t["total_response_time"], Value::Integer(i) if i.as_u64() == Some(0)));
    assert!(matches!(t["max_response_time"], Value::Integer(i) if i.as_u64() == Some(0)));
    assert_eq!(t["name"].as_str(), Some("Aggregated"));
    // Round trip.
    let back = WorkerMessage::decode(&b).expect("decodes");
    assert_eq!(back.message, WorkerMessage::Stats(Box::new(report)));
}

#[test]
fn errors_are_keyed_and_complete() {
    let err = StatsError {
        name: "/x".into(),
        method: "GET".into(),
        error: "boom".into(),
        occurrences: 2,
        first_seen: Some(1.5),
        last_seen: Some(2.5),
    };
    let report = StatsReport::from_deltas(&[], [err.clone()], BTreeMap::new(), 1.0);
    let b = WorkerMessage::Stats(Box::new(report))
        .encode(ID)
        .expect("encodes");
    let v = rmpv::decode::read_value(&mut b.as_slice()).expect("msgpack");
    let errors = v[1]["errors"].as_map().expect("map");
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].0.as_str(), Some(err.key().as_str()));
    let keys: Vec<&str> = errors[0]
        .1
        .as_map()
        .expect("map")
        .iter()
        .filter_map(|(k, _)| k.as_str())
        .collect();
    assert_eq!(
        keys,
        [
            "name",
            "method",
            "error",
            "occurrences",
            "first_seen",
            "last_seen"
        ]
    );
}

#[test]
fn every_message_type_round_trips() {
    let custom = CustomTypes::new().with("my_ping");
    let workers = vec![
        WorkerMessage::ClientReady {
            version: "0.1.0".into(),
        },
        WorkerMessage::SpawningComplete(SpawningComplete {
            user_classes_count: [("A".to_owned(), 2)].into(),
            user_count: 2,
        }),
        WorkerMessage::Exception(ExceptionReport {
            msg: "boom".into(),
            traceback: "  at task".into(),
        }),
        WorkerMessage::Logs(LogsReport {
            worker_id: ID.into(),
            logs: vec!["a".into()],
        }),
        WorkerMessage::Custom {
            message_type: "my_ping".into(),
            data: Value::from(vec![Value::from(1), Value::from("x")]),
        },
    ];
    for m in workers {
        let b = m.encode(ID).expect("encodes");
        let back = WorkerMessage::decode_with(&b, &custom).expect("decodes");
        assert_eq!(back.message, m);
    }
    let masters = vec![
        MasterMessage::Ack(Ack { index: Some(7) }),
        MasterMessage::SpawningComplete(MasterSpawningComplete { user_count: 5 }),
        MasterMessage::UpdateUserClass(UpdateUserClass {
            user_class_name: "A".into(),
            attributes: [("weight".to_owned(), Value::from(3))].into(),
        }),
        MasterMessage::Custom {
            message_type: "my_ping".into(),
            data: Value::Nil,
        },
    ];
    for m in masters {
        let b = m.encode(ID).expect("encodes");
        let back = MasterMessage::decode_with(&b, &custom).expect("decodes");
        assert_eq!(back.message, m);
    }
    // An ack without data (masters <= 2.10.2).
    let b = rmp_serde::to_vec(&("ack", (), ID)).expect("encodes");
    assert_eq!(
        MasterMessage::decode(&b).expect("decodes").message,
        MasterMessage::Ack(Ack { index: None })
    );
}

#[test]
fn custom_messages_cannot_pose_as_built_in_ones() {
    let fake = WorkerMessage::Custom {
        message_type: "heartbeat".into(),
        data: Value::from(5),
    };
    let e = fake.encode(ID).expect_err("refused");
    assert!(matches!(e, ProtoError::Encode { .. }), "{e}");
    let fake = MasterMessage::Custom {
        message_type: "spawn".into(),
        data: Value::Nil,
    };
    assert!(fake.encode(ID).is_err());
}

fn raw(v: &Value) -> Vec<u8> {
    let mut b = Vec::new();
    rmpv::encode::write_value(&mut b, v).expect("encodes");
    b
}

fn env(ty: Value, data: Value, id: Value) -> Vec<u8> {
    raw(&Value::Array(vec![ty, data, id]))
}

#[test]
fn malformed_input_gives_errors_naming_the_problem() {
    // Not msgpack at all / truncated.
    let e = MasterMessage::decode(&[0x93, 0xa3, b'a']).expect_err("truncated");
    assert!(matches!(e, ProtoError::Msgpack { .. }), "{e}");
    let e = MasterMessage::decode(&[]).expect_err("empty");
    assert!(matches!(e, ProtoError::Msgpack { .. }), "{e}");
    // Trailing bytes.
    let mut b = MasterMessage::Heartbeat.encode(ID).expect("encodes");
    b.push(0xc0);
    assert_eq!(
        MasterMessage::decode(&b).expect_err("trailing"),
        ProtoError::TrailingBytes { extra: 1 }
    );
    // Not a 3-array.
    let two = raw(&Value::Array(vec![Value::from("heartbeat"), Value::Nil]));
    let e = MasterMessage::decode(&two).expect_err("2-array");
    assert_eq!(
        e.to_string(),
        "a message must be the msgpack array [type, data, node_id], got an array of 2"
    );
    let e = MasterMessage::decode(&raw(&Value::Map(vec![]))).expect_err("map");
    assert!(e.to_string().contains("got a map of 0"), "{e}");
    // Type or node id of the wrong kind.
    let e = MasterMessage::decode(&env(Value::from(5), Value::Nil, Value::from(ID)))
        .expect_err("int type");
    assert_eq!(
        e,
        ProtoError::TypeNotString {
            found: "the integer 5".into()
        }
    );
    let e = MasterMessage::decode(&env(Value::from("stop"), Value::Nil, Value::Nil))
        .expect_err("nil id");
    assert!(matches!(e, ProtoError::NodeIdNotString { .. }), "{e}");
    // Unknown type.
    let e = MasterMessage::decode(&env(Value::from("dance"), Value::Nil, Value::from(ID)))
        .expect_err("unknown");
    assert_eq!(
        e.to_string(),
        "unknown message type \"dance\" (not a Locust message sent to a worker, and not a registered custom type)"
    );
    // A worker-only type is unknown in the master's direction and vice versa.
    let e = MasterMessage::decode(&WorkerMessage::Spawning.encode(ID).expect("encodes"))
        .expect_err("spawning");
    assert!(matches!(e, ProtoError::UnknownType { .. }), "{e}");
    let e =
        WorkerMessage::decode(&MasterMessage::Stop.encode(ID).expect("encodes")).expect_err("stop");
    assert!(matches!(e, ProtoError::UnknownType { .. }), "{e}");
    // Missing field.
    let hb = Value::Map(vec![(Value::from("current_cpu_usage"), Value::from(1.0))]);
    let e = WorkerMessage::decode(&env(Value::from("heartbeat"), hb, Value::from(ID)))
        .expect_err("no state");
    assert!(
        matches!(&e, ProtoError::Data { message_type, reason } if message_type == "heartbeat" && reason.contains("state")),
        "{e}"
    );
    // Mistyped field.
    let spawn = Value::Map(vec![
        (Value::from("timestamp"), Value::from("yesterday")),
        (Value::from("user_classes_count"), Value::Map(vec![])),
        (Value::from("host"), Value::Nil),
        (Value::from("stop_timeout"), Value::Nil),
        (Value::from("parsed_options"), Value::Map(vec![])),
    ]);
    let e = MasterMessage::decode(&env(Value::from("spawn"), spawn, Value::from(ID)))
        .expect_err("str timestamp");
    assert!(
        matches!(&e, ProtoError::Data { message_type, reason } if message_type == "spawn" && reason.contains("string")),
        "{e}"
    );
    // A count that is not an int.
    let counts = Value::Map(vec![(Value::from("A"), Value::from(-1))]);
    let sc = Value::Map(vec![(Value::from("user_classes_count"), counts)]);
    let e = WorkerMessage::decode(&env(Value::from("spawning_complete"), sc, Value::from(ID)))
        .expect_err("negative");
    assert!(matches!(e, ProtoError::Data { .. }), "{e}");
    // A client_ready the master would refuse (falsy) or crash on (not a str).
    for bad in [
        Value::Nil,
        Value::from(""),
        Value::from(5),
        Value::Map(vec![]),
    ] {
        let e = WorkerMessage::decode(&env(Value::from("client_ready"), bad, Value::from(ID)))
            .expect_err("bad version");
        assert!(e.to_string().contains("non-empty string"), "{e}");
    }
    // An unknown state.
    let hb = Value::Map(vec![
        (Value::from("state"), Value::from("dancing")),
        (Value::from("current_cpu_usage"), Value::from(1.0)),
    ]);
    let e = WorkerMessage::decode(&env(Value::from("heartbeat"), hb, Value::from(ID)))
        .expect_err("state");
    assert!(e.to_string().contains("dancing"), "{e}");
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = rand::rngs::SmallRng::seed_from_u64(0x5eed);
    let custom = CustomTypes::new().with("x");
    let valid: Vec<Vec<u8>> = vec![
        python_spawn(),
        MasterMessage::Ack(Ack { index: Some(1) })
            .encode(ID)
            .expect("encodes"),
        WorkerMessage::Stats(Box::new(StatsReport::idle(BTreeMap::new(), 1.0)))
            .encode(ID)
            .expect("encodes"),
    ];
    for i in 0..20_000 {
        let bytes: Vec<u8> = if i % 2 == 0 {
            let n = rng.random_range(0..64);
            (0..n).map(|_| rng.random()).collect()
        } else {
            // Mutate a valid message: flip, cut or insert bytes.
            let mut b = valid[i % valid.len()].clone();
            for _ in 0..rng.random_range(1..4) {
                let at = rng.random_range(0..b.len());
                match rng.random_range(0..3) {
                    0 => b[at] = rng.random(),
                    1 => b.truncate(at),
                    _ => b.insert(at, rng.random()),
                }
                if b.is_empty() {
                    break;
                }
            }
            b
        };
        let _ = MasterMessage::decode_with(&bytes, &custom);
        let _ = WorkerMessage::decode_with(&bytes, &custom);
    }
}

#[test]
fn huge_declared_lengths_do_not_allocate_or_panic() {
    // An array header claiming 2^32-1 items, a str claiming 4 GiB, deep nesting.
    for b in [
        vec![0xdd, 0xff, 0xff, 0xff, 0xff],
        vec![0xdb, 0xff, 0xff, 0xff, 0xff, b'a'],
        vec![0x91; 100_000],
    ] {
        assert!(MasterMessage::decode(&b).is_err());
    }
}
