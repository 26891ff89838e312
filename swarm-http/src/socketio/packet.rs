//! Socket.IO v5 packets carried in Engine.IO v4 messages over a WebSocket.
//!
//! A text frame is an Engine.IO packet: `0` open, `1` close, `2` ping, `3` pong, `4`
//! message. A message holds a Socket.IO packet: its type (`0` connect, `1` disconnect,
//! `2` event, `3` ack, `4` connect error, `5`/`6` binary event/ack), then the namespace
//! and a comma when it is not `/`, then an ack id, then JSON.
//!
//! A binary packet (`5`/`6`) writes its attachment count and a dash after its type
//! (`451-["upload",{"_placeholder":true,"num":0}]`); each attachment then follows as a
//! binary WebSocket frame of its own, in order, and a placeholder object stands for it in
//! the JSON.

/// A parsed Socket.IO packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Packet<'a> {
    pub(crate) kind: u8,
    pub(crate) nsp: &'a str,
    pub(crate) ack: Option<u64>,
    /// How many binary frames follow (binary packets only).
    pub(crate) attachments: usize,
    pub(crate) data: &'a str,
}

pub(crate) const CONNECT: u8 = 0;
pub(crate) const DISCONNECT: u8 = 1;
pub(crate) const EVENT: u8 = 2;
pub(crate) const ACK: u8 = 3;
pub(crate) const CONNECT_ERROR: u8 = 4;
pub(crate) const BINARY_EVENT: u8 = 5;
pub(crate) const BINARY_ACK: u8 = 6;

/// The most attachments a received packet may announce (a larger count is refused
/// rather than waited for).
pub(crate) const MAX_ATTACHMENTS: usize = 1024;

impl Packet<'_> {
    /// An event, with or without attachments.
    pub(crate) fn is_event(&self) -> bool {
        matches!(self.kind, EVENT | BINARY_EVENT)
    }

    /// An acknowledgement, with or without attachments.
    pub(crate) fn is_ack(&self) -> bool {
        matches!(self.kind, ACK | BINARY_ACK)
    }
}

/// The Socket.IO packet in an Engine.IO message frame; `None` for other Engine.IO
/// packets (open, ping, ...) and for what does not parse.
pub(crate) fn parse(text: &str) -> Option<Packet<'_>> {
    let rest = text.strip_prefix('4')?;
    let kind = rest.bytes().next()?.checked_sub(b'0').filter(|k| *k <= 6)?;
    let mut rest = &rest[1..];
    let mut attachments = 0;
    if kind >= BINARY_EVENT {
        // Binary packets carry an attachment count first: "51-...".
        let dash = rest.find('-')?;
        attachments = rest[..dash].parse().ok()?;
        rest = &rest[dash + 1..];
    }
    let nsp = if rest.starts_with('/') {
        match rest.find(',') {
            Some(i) => {
                let n = &rest[..i];
                rest = &rest[i + 1..];
                n
            }
            None => {
                let n = rest;
                rest = "";
                n
            }
        }
    } else {
        "/"
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let ack = if digits > 0 {
        rest[..digits].parse().ok()
    } else {
        None
    };
    Some(Packet {
        kind,
        nsp,
        ack,
        attachments,
        data: &rest[digits..],
    })
}

/// Encode a Socket.IO packet as an Engine.IO message frame.
pub(crate) fn encode(kind: u8, nsp: &str, ack: Option<u64>, data: &str) -> String {
    encode_with(kind, 0, nsp, ack, data)
}

/// [`encode`] with an attachment count (written for binary packets only).
pub(crate) fn encode_with(
    kind: u8,
    attachments: usize,
    nsp: &str,
    ack: Option<u64>,
    data: &str,
) -> String {
    let mut s = String::with_capacity(4 + nsp.len() + data.len() + 8);
    s.push('4');
    s.push(char::from(b'0' + kind));
    if kind >= BINARY_EVENT {
        s.push_str(&attachments.to_string());
        s.push('-');
    }
    if nsp != "/" {
        s.push_str(nsp);
        s.push(',');
    }
    if let Some(id) = ack {
        s.push_str(&id.to_string());
    }
    s.push_str(data);
    s
}

/// The event name of an event packet's data (`["name", args...]`) and its arguments.
pub(crate) fn event(data: &str) -> Option<(String, Vec<serde_json::Value>)> {
    let v: serde_json::Value = serde_json::from_str(data).ok()?;
    let mut items = match v {
        serde_json::Value::Array(items) => items,
        _ => return None,
    };
    if items.is_empty() {
        return None;
    }
    let name = match items.remove(0) {
        serde_json::Value::String(s) => s,
        _ => return None,
    };
    Some((name, items))
}

/// The attachment a placeholder object (`{"_placeholder":true,"num":N}`) stands for;
/// `None` for any other value.
pub(crate) fn placeholder(v: &serde_json::Value) -> Option<Result<usize, String>> {
    let o = v.as_object()?;
    if o.get("_placeholder") != Some(&serde_json::Value::Bool(true)) {
        return None;
    }
    Some(
        o.get("num")
            .and_then(serde_json::Value::as_u64)
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(|| format!("a binary placeholder without a valid num: {v}")),
    )
}

/// Check that every placeholder in `v` refers to one of `count` attachments.
pub(crate) fn check_placeholders(v: &serde_json::Value, count: usize) -> Result<(), String> {
    if let Some(num) = placeholder(v) {
        let num = num?;
        if num >= count {
            return Err(format!(
                "a binary placeholder refers to attachment {num}, but the packet has {count}"
            ));
        }
        return Ok(());
    }
    match v {
        serde_json::Value::Array(items) => {
            items.iter().try_for_each(|i| check_placeholders(i, count))
        }
        serde_json::Value::Object(map) => {
            map.values().try_for_each(|i| check_placeholders(i, count))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packets_round_trip() {
        assert_eq!(encode(CONNECT, "/", None, ""), "40");
        assert_eq!(
            encode(CONNECT, "/queue", None, r#"{"token":"t"}"#),
            r#"40/queue,{"token":"t"}"#
        );
        assert_eq!(
            encode(EVENT, "/queue", Some(12), r#"["join",{}]"#),
            r#"42/queue,12["join",{}]"#
        );
        let p = parse(r#"43/queue,12[{"joined":"a"}]"#).unwrap();
        assert_eq!(
            (p.kind, p.nsp, p.ack, p.data),
            (ACK, "/queue", Some(12), r#"[{"joined":"a"}]"#)
        );
        let p = parse(r#"42["queue_update",{"waiting":3}]"#).unwrap();
        assert_eq!((p.kind, p.nsp, p.ack), (EVENT, "/", None));
        assert_eq!(event(p.data).unwrap().0, "queue_update");
        let p = parse("41/queue,").unwrap();
        assert_eq!((p.kind, p.nsp, p.data), (DISCONNECT, "/queue", ""));
        let p = parse(r#"44{"message":"no"}"#).unwrap();
        assert_eq!((p.kind, p.nsp), (CONNECT_ERROR, "/"));
        assert_eq!(parse("2"), None);
        assert_eq!(parse(r#"0{"sid":"x"}"#), None);
        assert_eq!(parse("4x"), None);
    }

    #[test]
    fn binary_packets_carry_their_attachment_count() {
        let data = r#"["blob",{"_placeholder":true,"num":0}]"#;
        let frame = encode_with(BINARY_EVENT, 1, "/queue", Some(3), data);
        assert_eq!(frame, format!("451-/queue,3{data}"));
        let p = parse(&frame).unwrap();
        assert_eq!(
            (p.kind, p.attachments, p.nsp, p.ack, p.data),
            (BINARY_EVENT, 1, "/queue", Some(3), data)
        );
        assert!(p.is_event() && !p.is_ack());
        let p = parse(r#"462-7[{"_placeholder":true,"num":1}]"#).unwrap();
        assert_eq!(
            (p.kind, p.attachments, p.nsp, p.ack),
            (BINARY_ACK, 2, "/", Some(7))
        );
        assert!(p.is_ack());
        // A count that is not a number, or no dash, does not parse.
        assert_eq!(parse(r#"45x-["a"]"#), None);
        assert_eq!(parse(r#"45["a"]"#), None);
        // Plain packets never write a count.
        assert_eq!(encode_with(EVENT, 3, "/", None, "[]"), "42[]");
    }

    #[test]
    fn placeholders_are_checked_against_the_count() {
        use serde_json::json;
        let ph = |n: u64| json!({"_placeholder": true, "num": n});
        let v = json!(["e", {"a": ph(0), "b": [ph(1)]}]);
        assert_eq!(check_placeholders(&v, 2), Ok(()));
        let err = check_placeholders(&v, 1).unwrap_err();
        assert!(err.contains("attachment 1, but the packet has 1"), "{err}");
        let err = check_placeholders(&json!([{"_placeholder": true}]), 1).unwrap_err();
        assert!(err.contains("without a valid num"), "{err}");
        assert_eq!(placeholder(&json!({"_placeholder": false, "num": 0})), None);
        assert_eq!(placeholder(&ph(4)), Some(Ok(4)));
    }
}
