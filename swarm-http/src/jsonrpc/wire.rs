//! JSON-RPC 2.0 messages: requests out, responses checked.

use serde::Serialize;
use serde_json::{Map, Value};

use super::error::RpcErrorObject;

/// A request object; `id: None` makes it a notification. `params: Null` is left out.
/// Serialized straight to text, with no JSON tree built on the way.
#[derive(Debug, Serialize)]
pub(crate) struct Request<'a> {
    jsonrpc: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<u64>,
    method: &'a str,
    #[serde(skip_serializing_if = "Value::is_null")]
    params: &'a Value,
}

/// A request (`id: Some`) or a notification (`id: None`).
pub(crate) fn request<'a>(id: Option<u64>, method: &'a str, params: &'a Value) -> Request<'a> {
    Request {
        jsonrpc: "2.0",
        id,
        method,
        params,
    }
}

/// The JSON text of a request or a batch of them.
pub(crate) fn to_text(body: &impl Serialize) -> String {
    // Strings, integers and a JSON value: nothing here can fail to serialize.
    serde_json::to_string(body).unwrap_or_default()
}

/// What a valid response carried.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Outcome {
    Result(Value),
    Error(RpcErrorObject),
}

/// Why a body is not JSON, in words that group well in an error report.
pub(crate) fn not_json(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    match e.classify() {
        Category::Eof => "invalid JSON-RPC response: cut short (truncated JSON)".to_owned(),
        Category::Syntax | Category::Data => "invalid JSON-RPC response: not JSON".to_owned(),
        Category::Io => format!("invalid JSON-RPC response: {e}"),
    }
}

/// The id of a response object as the number we sent, if it is one.
fn id_of(obj: &Map<String, Value>) -> Option<u64> {
    match obj.get("id")? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// Check one response object against the id it must carry.
pub(crate) fn check(v: Value, id: u64) -> Result<Outcome, String> {
    let Value::Object(mut obj) = v else {
        return Err(format!(
            "invalid JSON-RPC response: {} instead of an object",
            kind_of(&v)
        ));
    };
    if obj.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Err("invalid JSON-RPC response: no \"jsonrpc\": \"2.0\"".to_owned());
    }
    match obj.get("id") {
        None => return Err("invalid JSON-RPC response: no id".to_owned()),
        Some(got) if id_of(&obj) != Some(id) => {
            // An error about the request itself (a parse error) comes back with id null.
            if !(got.is_null() && obj.contains_key("error")) {
                return Err(format!(
                    "JSON-RPC response id {got} does not match request id {id}"
                ));
            }
        }
        Some(_) => {}
    }
    match (obj.remove("result"), obj.remove("error")) {
        (Some(r), None) => Ok(Outcome::Result(r)),
        (None, Some(e)) => serde_json::from_value::<RpcErrorObject>(e)
            .map(Outcome::Error)
            .map_err(|_| {
                "invalid JSON-RPC response: an error without an integer code and a message"
                    .to_owned()
            }),
        (Some(_), Some(_)) => {
            Err("invalid JSON-RPC response: both \"result\" and \"error\"".to_owned())
        }
        (None, None) => {
            Err("invalid JSON-RPC response: neither \"result\" nor \"error\"".to_owned())
        }
    }
}

/// Check one response body.
#[cfg(test)]
fn parse(body: &[u8], id: u64) -> Result<Outcome, String> {
    let v: Value = serde_json::from_slice(body).map_err(|e| not_json(&e))?;
    check(v, id)
}

/// Check a batch response: one answer per id, in the order of `ids` (a server may answer
/// in any order).
pub(crate) fn check_batch(v: Value, ids: &[u64]) -> Result<Vec<Outcome>, String> {
    let Value::Array(items) = v else {
        // A whole batch refused (an invalid request) comes back as one error object.
        if let Value::Object(obj) = &v {
            if obj.get("id").is_some_and(Value::is_null) && obj.contains_key("error") {
                if let Ok(Outcome::Error(e)) = check(v, 0) {
                    return Ok(ids.iter().map(|_| Outcome::Error(e.clone())).collect());
                }
            }
        }
        return Err("invalid JSON-RPC response: a batch answered without an array".to_owned());
    };
    if items.len() != ids.len() {
        return Err(format!(
            "invalid JSON-RPC response: {} answers to a batch of {} calls",
            items.len(),
            ids.len()
        ));
    }
    let mut out: Vec<Option<Outcome>> = vec![None; ids.len()];
    for item in items {
        let got = item.as_object().and_then(id_of);
        let Some(slot) = got.and_then(|g| ids.iter().position(|&i| i == g)) else {
            let shown = item.get("id").map_or("none".to_owned(), Value::to_string);
            return Err(format!(
                "JSON-RPC batch answer with id {shown} matches no request"
            ));
        };
        if out[slot].is_some() {
            return Err(format!("JSON-RPC batch: two answers for id {}", ids[slot]));
        }
        out[slot] = Some(check(item, ids[slot])?);
    }
    Ok(out.into_iter().flatten().collect())
}

/// The correlation key of a message on a WebSocket: `id:N` for a response, `batch:N`
/// for a batch answer (N the smallest id in it), `sub:ID` for a subscription
/// notification.
pub(crate) fn ws_key(v: &Value) -> Option<String> {
    match v {
        Value::Object(obj) => {
            if let Some(id) = id_of(obj) {
                return Some(format!("id:{id}"));
            }
            let sub = obj.get("params")?.get("subscription")?;
            Some(match sub {
                Value::String(s) => format!("sub:{s}"),
                other => format!("sub:{other}"),
            })
        }
        Value::Array(items) => items
            .iter()
            .filter_map(|i| i.as_object().and_then(id_of))
            .min()
            .map(|id| format!("batch:{id}")),
        _ => None,
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn requests_and_notifications() {
        assert_eq!(
            to_text(&request(Some(3), "eth_blockNumber", &Value::Null)),
            r#"{"jsonrpc":"2.0","id":3,"method":"eth_blockNumber"}"#
        );
        assert_eq!(
            to_text(&request(None, "log", &json!(["x"]))),
            r#"{"jsonrpc":"2.0","method":"log","params":["x"]}"#
        );
    }

    #[test]
    fn responses_are_checked() {
        assert_eq!(
            parse(br#"{"jsonrpc":"2.0","id":7,"result":"0x1"}"#, 7),
            Ok(Outcome::Result(json!("0x1")))
        );
        assert_eq!(
            parse(br#"{"jsonrpc":"2.0","id":"7","result":null}"#, 7),
            Ok(Outcome::Result(Value::Null))
        );
        let err = parse(
            br#"{"jsonrpc":"2.0","id":7,"error":{"code":-32601,"message":"nope"}}"#,
            7,
        )
        .unwrap();
        assert_eq!(
            err,
            Outcome::Error(RpcErrorObject {
                code: -32601,
                message: "nope".into(),
                data: None
            })
        );
        let cases: [(&[u8], &str); 8] = [
            (
                br#"{"jsonrpc":"2.0","id":8,"result":1}"#,
                "JSON-RPC response id 8 does not match request id 7",
            ),
            (
                br#"{"jsonrpc":"2.0","id":7,"res"#,
                "invalid JSON-RPC response: cut short (truncated JSON)",
            ),
            (b"<html>", "invalid JSON-RPC response: not JSON"),
            (
                br#"{"id":7,"result":1}"#,
                "invalid JSON-RPC response: no \"jsonrpc\": \"2.0\"",
            ),
            (
                br#"{"jsonrpc":"2.0","id":7}"#,
                "invalid JSON-RPC response: neither \"result\" nor \"error\"",
            ),
            (
                br#"{"jsonrpc":"2.0","result":1}"#,
                "invalid JSON-RPC response: no id",
            ),
            (
                br#"[1]"#,
                "invalid JSON-RPC response: an array instead of an object",
            ),
            (
                br#"{"jsonrpc":"2.0","id":7,"error":{"message":"x"}}"#,
                "invalid JSON-RPC response: an error without an integer code and a message",
            ),
        ];
        for (body, want) in cases {
            assert_eq!(
                parse(body, 7),
                Err(want.to_owned()),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn batches_are_matched_by_id() {
        let v = json!([
            {"jsonrpc":"2.0","id":2,"error":{"code":-1,"message":"m"}},
            {"jsonrpc":"2.0","id":1,"result":"a"}
        ]);
        let out = check_batch(v.clone(), &[1, 2]).unwrap();
        assert_eq!(out[0], Outcome::Result(json!("a")));
        assert!(matches!(out[1], Outcome::Error(_)));
        assert_eq!(ws_key(&v), Some("batch:1".to_owned()));
        assert!(check_batch(v.clone(), &[1, 3])
            .unwrap_err()
            .contains("matches no request"));
        assert!(check_batch(v, &[1])
            .unwrap_err()
            .contains("2 answers to a batch of 1"));
        assert_eq!(
            ws_key(
                &json!({"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":"0xab","result":{}}})
            ),
            Some("sub:0xab".to_owned())
        );
    }
}
