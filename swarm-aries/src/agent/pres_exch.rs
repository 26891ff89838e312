//! DIF Presentation Exchange v1, the holder's side: which stored credential answers each
//! input descriptor of a presentation definition, and the presentation (with its
//! `presentation_submission`) that carries them.
//!
//! What is evaluated: input descriptors' `schema` (a credential type or `credentialSchema`
//! id, with the credential's types expanded by JSON-LD), `constraints.fields` (`path`
//! lists in a JSONPath subset: `$`, `.name`, `['name']`, `[index]`; `filter` in a JSON
//! Schema subset: `type`, `const`, `enum`, `minLength`, `maxLength`, `minimum`,
//! `maximum`, `exclusiveMinimum`, `exclusiveMaximum`; `optional`), `is_holder` (always
//! met: the holder signs with its credentials' subject DID). Not supported, and said so:
//! `submission_requirements`, `limit_disclosure: required` (selective disclosure needs
//! BBS+ derived proofs), other JSONPath forms and filter keywords, a `format` without
//! linked-data proofs.

use std::collections::VecDeque;

use serde_json::{json, Map, Value};

use super::presentation::PresentationError;
use super::StoredCredential;

/// The context and type a presentation with a `presentation_submission` carries.
pub(super) const SUBMISSION_CONTEXT: &str =
    "https://identity.foundation/presentation-exchange/submission/v1";
const CREDENTIALS_V1: &str = "https://www.w3.org/2018/credentials/v1";

/// What a DIF request asks: its definition and the proof options.
#[derive(Debug)]
pub(super) struct DifRequest<'a> {
    pub(super) definition: &'a Map<String, Value>,
    pub(super) challenge: Option<&'a str>,
    pub(super) domain: Option<&'a str>,
}

fn malformed(reason: impl Into<String>) -> PresentationError {
    PresentationError::Malformed {
        reason: reason.into(),
    }
}

fn unsupported(what: impl Into<String>) -> PresentationError {
    PresentationError::Unsupported(what.into())
}

impl<'a> DifRequest<'a> {
    /// Reads the request attachment (`{"options": {...}, "presentation_definition": {...}}`).
    pub(super) fn parse(attachment: &'a Value) -> Result<Self, PresentationError> {
        let definition = attachment
            .get("presentation_definition")
            .and_then(Value::as_object)
            .ok_or_else(|| malformed("the DIF request has no presentation_definition object"))?;
        if !definition.get("id").is_some_and(Value::is_string) {
            return Err(malformed("the presentation definition has no id"));
        }
        match definition
            .get("input_descriptors")
            .and_then(Value::as_array)
        {
            Some(d) if !d.is_empty() => {}
            _ => {
                return Err(malformed(
                    "the presentation definition has no input_descriptors",
                ))
            }
        }
        if definition.contains_key("submission_requirements") {
            return Err(unsupported("submission_requirements"));
        }
        if let Some(format) = definition.get("format").and_then(Value::as_object) {
            check_format(format)?;
        }
        let options = attachment.get("options");
        let text = |k: &str| options.and_then(|o| o.get(k)).and_then(Value::as_str);
        Ok(DifRequest {
            definition,
            challenge: text("challenge"),
            domain: text("domain"),
        })
    }

    fn descriptors(&self) -> impl Iterator<Item = &'a Value> {
        self.definition["input_descriptors"]
            .as_array()
            .into_iter()
            .flatten()
    }

    /// The unsigned presentation answering this request from `credentials` (the newest
    /// that matches, for each input descriptor).
    pub(super) fn presentation(
        &self,
        credentials: &VecDeque<StoredCredential>,
    ) -> Result<Value, PresentationError> {
        let mut chosen: Vec<&Value> = Vec::new();
        let mut descriptor_map = Vec::new();
        for (n, descriptor) in self.descriptors().enumerate() {
            let id = descriptor["id"]
                .as_str()
                .map_or_else(|| format!("#{n}"), str::to_owned);
            let mut why = "the holder has no ld_proof credential".to_owned();
            let found = credentials
                .iter()
                .rev()
                .filter(|c| c.format == "ld_proof")
                .find(|c| match matches(descriptor, &c.credential) {
                    Ok(()) => true,
                    Err(Mismatch::No(reason)) => {
                        why = reason;
                        false
                    }
                    Err(Mismatch::Unsupported(what)) => {
                        why = format!("{what} is not supported by this holder");
                        false
                    }
                });
            let Some(found) = found else {
                return Err(PresentationError::NoMatchingCredential {
                    descriptor: id,
                    reason: why,
                });
            };
            let index = match chosen.iter().position(|c| *c == &found.credential) {
                Some(i) => i,
                None => {
                    chosen.push(&found.credential);
                    chosen.len() - 1
                }
            };
            descriptor_map.push(json!({
                "id": id,
                "format": "ldp_vc",
                "path": format!("$.verifiableCredential[{index}]"),
            }));
        }
        Ok(json!({
            "@context": [CREDENTIALS_V1, SUBMISSION_CONTEXT],
            "type": ["VerifiablePresentation", "PresentationSubmission"],
            "verifiableCredential": chosen,
            "presentation_submission": {
                "id": crate::message::new_id(),
                "definition_id": self.definition["id"],
                "descriptor_map": descriptor_map,
            },
        }))
    }
}

/// A definition's `format` must allow linked-data proofs signed with Ed25519Signature2018.
fn check_format(format: &Map<String, Value>) -> Result<(), PresentationError> {
    let ld = ["ldp_vp", "ldp_vc", "ldp"];
    let Some((_, spec)) = format.iter().find(|(k, _)| ld.contains(&k.as_str())) else {
        return Err(unsupported(format!(
            "the definition's formats ({}): this holder presents ldp_vp",
            format.keys().cloned().collect::<Vec<_>>().join(", ")
        )));
    };
    match spec.get("proof_type").and_then(Value::as_array) {
        Some(types) if !types.iter().any(|t| t == crate::ld_proof::ED25519_2018) => {
            Err(unsupported(format!(
                "the proof types {types:?}: this holder signs Ed25519Signature2018"
            )))
        }
        _ => Ok(()),
    }
}

/// Why a credential does not answer an input descriptor.
enum Mismatch {
    No(String),
    Unsupported(String),
}

/// Whether `credential` answers `descriptor`.
fn matches(descriptor: &Value, credential: &Value) -> Result<(), Mismatch> {
    let constraints = &descriptor["constraints"];
    if constraints["limit_disclosure"] == "required" {
        return Err(Mismatch::Unsupported(
            "limit_disclosure: required (selective disclosure)".to_owned(),
        ));
    }
    schema_matches(&descriptor["schema"], credential)?;
    for field in constraints["fields"].as_array().into_iter().flatten() {
        field_matches(field, credential)?;
    }
    Ok(())
}

/// The input descriptor's `schema`: a list of `{"uri": ...}` (any one), or ACA-Py's
/// `{"oneof_filter": [[...], ...]}` (every uri of one group).
fn schema_matches(schema: &Value, credential: &Value) -> Result<(), Mismatch> {
    let groups: Vec<Vec<&str>> = match schema {
        Value::Null => return Ok(()),
        Value::Array(list) => list
            .iter()
            .filter_map(|s| s["uri"].as_str())
            .map(|u| vec![u])
            .collect(),
        Value::Object(o) => o
            .get("oneof_filter")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|g| {
                g.as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|s| s["uri"].as_str().or_else(|| s.as_str()))
                    .collect()
            })
            .collect(),
        _ => {
            return Err(Mismatch::No(
                "the descriptor's schema is unreadable".to_owned(),
            ))
        }
    };
    if groups.is_empty() {
        return Ok(());
    }
    let mut known: Vec<String> = match crate::ld_proof::expanded_types(credential) {
        Ok(t) => t,
        Err(e) => return Err(Mismatch::No(e.to_string())),
    };
    let schemas = &credential["credentialSchema"];
    for s in schemas
        .as_array()
        .map_or_else(|| vec![schemas], |a| a.iter().collect())
    {
        if let Some(id) = s["id"].as_str() {
            known.push(id.to_owned());
        }
    }
    if groups
        .iter()
        .any(|g| g.iter().all(|uri| known.iter().any(|k| k == uri)))
    {
        Ok(())
    } else {
        Err(Mismatch::No(format!(
            "the credential's types ({}) are not the schema asked for ({})",
            known.join(", "),
            groups
                .iter()
                .flatten()
                .copied()
                .collect::<Vec<_>>()
                .join(", ")
        )))
    }
}

/// One `constraints.fields` entry: the first of its paths with a value, which must pass
/// its filter (unless the field is optional).
fn field_matches(field: &Value, credential: &Value) -> Result<(), Mismatch> {
    let paths: Vec<&str> = field["path"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let optional = field["optional"] == true;
    let mut value = None;
    for p in &paths {
        match json_path(credential, p) {
            Ok(Some(v)) => {
                value = Some(v);
                break;
            }
            Ok(None) => {}
            Err(e) => return Err(e),
        }
    }
    let Some(value) = value else {
        return if optional {
            Ok(())
        } else {
            Err(Mismatch::No(format!(
                "the credential has no value at {}",
                paths.join(" or ")
            )))
        };
    };
    match field.get("filter") {
        Some(filter) => filter_matches(filter, value).map_err(|e| match e {
            Mismatch::No(why) => Mismatch::No(format!("{}: {why}", paths.join(" or "))),
            other @ Mismatch::Unsupported(_) => other,
        }),
        None => Ok(()),
    }
}

/// The value at a JSONPath of the subset `$`, `.name`, `['name']`, `["name"]`, `[index]`.
fn json_path<'v>(doc: &'v Value, path: &str) -> Result<Option<&'v Value>, Mismatch> {
    let unsupported = || Mismatch::Unsupported(format!("the JSONPath {path:?}"));
    let mut rest = path.trim().strip_prefix('$').ok_or_else(unsupported)?;
    let mut at = doc;
    while !rest.is_empty() {
        let next = if let Some(r) = rest.strip_prefix('.') {
            if r.starts_with('.') {
                return Err(unsupported());
            }
            let end = r.find(['.', '[']).unwrap_or(r.len());
            let (name, r) = r.split_at(end);
            if name.is_empty() || name == "*" {
                return Err(unsupported());
            }
            rest = r;
            at.get(name)
        } else if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']').ok_or_else(unsupported)?;
            let (inner, r) = r.split_at(end);
            rest = &r[1..];
            let quoted = inner
                .strip_prefix('\'')
                .and_then(|s| s.strip_suffix('\''))
                .or_else(|| inner.strip_prefix('"').and_then(|s| s.strip_suffix('"')));
            match (quoted, inner.parse::<usize>()) {
                (Some(name), _) => at.get(name),
                (None, Ok(i)) => at.get(i),
                _ => return Err(unsupported()),
            }
        } else {
            return Err(unsupported());
        };
        match next {
            Some(v) => at = v,
            None => return Ok(None),
        }
    }
    Ok(Some(at))
}

/// A field's `filter`, in the JSON Schema subset this holder evaluates.
fn filter_matches(filter: &Value, value: &Value) -> Result<(), Mismatch> {
    let Some(filter) = filter.as_object() else {
        return Err(Mismatch::No("the filter is not an object".to_owned()));
    };
    let no = |why: String| Err(Mismatch::No(why));
    for (k, want) in filter {
        match k.as_str() {
            "type" => {
                let ok = match want.as_str() {
                    Some("string") => value.is_string(),
                    Some("number") => value.is_number(),
                    Some("integer") => value.is_i64() || value.is_u64(),
                    Some("boolean") => value.is_boolean(),
                    Some("array") => value.is_array(),
                    Some("object") => value.is_object(),
                    Some("null") => value.is_null(),
                    _ => return Err(Mismatch::Unsupported(format!("the filter type {want}"))),
                };
                if !ok {
                    return no(format!("{value} is not of type {want}"));
                }
            }
            "const" if value != want => return no(format!("{value} is not {want}")),
            "enum" if !want.as_array().is_some_and(|e| e.contains(value)) => {
                return no(format!("{value} is not one of {want}"))
            }
            "const" | "enum" => {}
            "minLength" | "maxLength" => {
                let len = value.as_str().map(|s| s.chars().count() as u64);
                let bound = want.as_u64();
                let ok = match (len, bound) {
                    (Some(len), Some(b)) if k == "minLength" => len >= b,
                    (Some(len), Some(b)) => len <= b,
                    _ => false,
                };
                if !ok {
                    return no(format!("{value} fails {k} {want}"));
                }
            }
            "minimum" | "maximum" | "exclusiveMinimum" | "exclusiveMaximum" => {
                let ok = match (value.as_f64(), want.as_f64()) {
                    (Some(v), Some(b)) => match k.as_str() {
                        "minimum" => v >= b,
                        "maximum" => v <= b,
                        "exclusiveMinimum" => v > b,
                        _ => v < b,
                    },
                    _ => false,
                };
                if !ok {
                    return no(format!("{value} fails {k} {want}"));
                }
            }
            other => {
                return Err(Mismatch::Unsupported(format!(
                    "the filter keyword {other:?}"
                )))
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
