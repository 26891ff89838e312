//! Socket.IO v5 packets carried in Engine.IO v4 messages over a WebSocket.
//!
//! A text frame is an Engine.IO packet: `0` open, `1` close, `2` ping, `3` pong, `4`
//! message. A message holds a Socket.IO packet: its type (`0` connect, `1` disconnect,
//! `2` event, `3` ack, `4` connect error, `5`/`6` binary event/ack), then the namespace
//! and a comma when it is not `/`, then an ack id, then JSON.

/// A parsed Socket.IO packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Packet<'a> {
    pub(crate) kind: u8,
    pub(crate) nsp: &'a str,
    pub(crate) ack: Option<u64>,
    pub(crate) data: &'a str,
}

pub(crate) const CONNECT: u8 = 0;
pub(crate) const DISCONNECT: u8 = 1;
pub(crate) const EVENT: u8 = 2;
pub(crate) const ACK: u8 = 3;
pub(crate) const CONNECT_ERROR: u8 = 4;

/// The Socket.IO packet in an Engine.IO message frame; `None` for other Engine.IO
/// packets (open, ping, ...) and for what does not parse.
pub(crate) fn parse(text: &str) -> Option<Packet<'_>> {
    let rest = text.strip_prefix('4')?;
    let kind = rest.bytes().next()?.checked_sub(b'0').filter(|k| *k <= 6)?;
    let mut rest = &rest[1..];
    if kind >= 5 {
        // Binary packets carry an attachment count first: "51-...". Not supported.
        let dash = rest.find('-')?;
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
        data: &rest[digits..],
    })
}

/// Encode a Socket.IO packet as an Engine.IO message frame.
pub(crate) fn encode(kind: u8, nsp: &str, ack: Option<u64>, data: &str) -> String {
    let mut s = String::with_capacity(4 + nsp.len() + data.len() + 8);
    s.push('4');
    s.push(char::from(b'0' + kind));
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
}
