//! Arguments with binary attachments, for binary events and acknowledgements.

use bytes::Bytes;
use serde::Serialize;
use serde_json::Value;

use super::{packet, SioError};

/// The arguments of an event or acknowledgement together with its binary attachments.
///
/// JSON cannot hold bytes, so Socket.IO puts a placeholder object
/// (`{"_placeholder":true,"num":N}`) where a binary value goes and sends the bytes as
/// attachments of their own. [`bytes`](Self::bytes) adds a binary argument,
/// [`attach`](Self::attach) gives the placeholder to put inside an argument, and
/// [`binary_at`](Self::binary_at) finds the bytes a received placeholder stands for.
///
/// ```
/// use serde_json::json;
/// use swarm_http::socketio::SioPayload;
/// let mut p = SioPayload::new();
/// let data = p.attach(vec![1u8, 2, 3]);
/// let p = p.arg(json!({"name": "a.bin", "data": data})).unwrap().bytes(&b"tail"[..]);
/// assert_eq!(p.args().len(), 2);
/// assert_eq!(p.binary_at("/0/data").unwrap().as_ref(), &[1, 2, 3]);
/// assert_eq!(p.binary_at("/1").unwrap().as_ref(), b"tail");
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SioPayload {
    args: Vec<Value>,
    attachments: Vec<Bytes>,
}

impl SioPayload {
    /// No arguments.
    pub fn new() -> Self {
        Self::default()
    }

    /// JSON arguments (placeholders in them must refer to attachments added later).
    pub fn from_args(args: Vec<Value>) -> Self {
        SioPayload {
            args,
            attachments: Vec::new(),
        }
    }

    /// Add an argument: a JSON value or anything that serializes (placeholders from
    /// [`attach`](Self::attach) may sit anywhere inside it).
    pub fn arg(mut self, arg: impl Serialize) -> Result<Self, SioError> {
        let v = serde_json::to_value(arg)
            .map_err(|e| SioError::Config(format!("arguments do not serialize: {e}")))?;
        self.args.push(v);
        Ok(self)
    }

    /// Add a binary argument.
    #[must_use]
    pub fn bytes(mut self, data: impl Into<Bytes>) -> Self {
        let placeholder = self.attach(data);
        self.args.push(placeholder);
        self
    }

    /// Add an attachment and return the placeholder that stands for it, to put inside
    /// an argument.
    pub fn attach(&mut self, data: impl Into<Bytes>) -> Value {
        let num = self.attachments.len();
        self.attachments.push(data.into());
        serde_json::json!({"_placeholder": true, "num": num})
    }

    /// The arguments, placeholders included.
    pub fn args(&self) -> &[Value] {
        &self.args
    }

    /// The attachments, in order.
    pub fn attachments(&self) -> &[Bytes] {
        &self.attachments
    }

    /// The attachment `value` stands for, if it is a placeholder of this payload.
    pub fn binary(&self, value: &Value) -> Option<&Bytes> {
        let num = packet::placeholder(value)?.ok()?;
        self.attachments.get(num)
    }

    /// The attachment whose placeholder is at a JSON pointer into the arguments (`/0`
    /// for the first argument, `/1/data` for the `data` field of the second).
    pub fn binary_at(&self, pointer: &str) -> Option<&Bytes> {
        let (index, rest) = match pointer.strip_prefix('/')?.split_once('/') {
            Some((i, rest)) => (i, Some(rest)),
            None => (pointer.strip_prefix('/')?, None),
        };
        let arg = self.args.get(index.parse::<usize>().ok()?)?;
        let value = match rest {
            Some(rest) => arg.pointer(&format!("/{rest}"))?,
            None => arg,
        };
        self.binary(value)
    }

    /// The arguments and the attachments.
    pub fn into_parts(self) -> (Vec<Value>, Vec<Bytes>) {
        (self.args, self.attachments)
    }

    /// Check that every placeholder refers to an attachment.
    pub(crate) fn check(&self) -> Result<(), String> {
        self.args
            .iter()
            .try_for_each(|a| packet::check_placeholders(a, self.attachments.len()))
    }

    pub(crate) fn with_attachments(args: Vec<Value>, attachments: Vec<Bytes>) -> Self {
        SioPayload { args, attachments }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn placeholders_resolve_to_their_attachments() {
        let mut p = SioPayload::new();
        let a = p.attach(&b"aa"[..]);
        let p = p.arg(json!([a])).unwrap().bytes(&b"b"[..]);
        assert_eq!(p.binary_at("/0/0").unwrap().as_ref(), b"aa");
        assert_eq!(p.binary_at("/1").unwrap().as_ref(), b"b");
        assert_eq!(p.binary_at("/2"), None);
        assert_eq!(p.binary_at("0"), None);
        assert_eq!(p.check(), Ok(()));
        let bad = SioPayload::from_args(vec![json!({"_placeholder": true, "num": 0})]);
        assert!(bad.check().unwrap_err().contains("attachment 0"));
    }
}
