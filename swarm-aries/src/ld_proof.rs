//! Linked-data proofs (`Ed25519Signature2018`) over JSON-LD documents, as ACA-Py checks
//! them: the document and the proof options are each turned into RDF (JSON-LD to RDF) and
//! canonicalized with URDNA2015; the signed data is the SHA-256 of the proof options'
//! canonical N-Quads followed by the document's, signed as a detached JWS
//! (`{"alg": "EdDSA", "b64": false, "crit": ["b64"]}`).
//!
//! The JSON-LD contexts come from memory only (ssi-json-ld's static loader: credentials v1
//! and v2, security v1 and v2, ed25519-2020, presentation submission v1, DID v1, ...): a
//! document that names any other remote context cannot be canonicalized, and nothing is
//! ever fetched from the network. Inline contexts (`{"@vocab": ...}`) work.
//!
//! The JSON-LD processor is async only because its loader could fetch; the static loader
//! never waits, so each canonicalization runs to completion on the calling thread (a few
//! milliseconds of CPU for a presentation holding one credential).

use std::sync::OnceLock;

use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use ssi_json_ld::{ContextLoader, JsonLdProcessor, RemoteDocument};

use crate::keys::AgentKey;

/// The proof type this module signs with.
pub(crate) const ED25519_2018: &str = "Ed25519Signature2018";

/// A document that cannot be canonicalized or signed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("linked-data proof: {0}")]
pub(crate) struct LdProofError(pub(crate) String);

fn loader() -> &'static ContextLoader {
    static LOADER: OnceLock<ContextLoader> = OnceLock::new();
    LOADER.get_or_init(ContextLoader::default)
}

/// The RDF quads of a JSON-LD document (JSON-LD to RDF, no generalized RDF).
fn quads(doc: &Value) -> Result<Vec<rdf_types::LexicalQuad>, LdProofError> {
    let remote = RemoteDocument::new(None, None, json_syntax::Value::from_serde_json(doc.clone()));
    let mut generator = rdf_types::generator::Blank::new();
    // The static loader never waits: this completes without parking the thread.
    let mut rdf = futures::executor::block_on(remote.to_rdf(&mut generator, loader()))
        .map_err(|e| LdProofError(format!("JSON-LD expansion failed: {e}")))?;
    Ok(rdf
        .cloned_quads()
        .filter_map(|q| {
            let (s, p, o, g) = q.into_parts();
            Some(rdf_types::Quad(s, p.into_iri()?, o, g))
        })
        .collect())
}

/// The URDNA2015 canonical N-Quads of a JSON-LD document (as pyld's
/// `jsonld.normalize(doc, {"algorithm": "URDNA2015", "format": "application/n-quads"})`).
pub(crate) fn canonicalize(doc: &Value) -> Result<String, LdProofError> {
    let quads = quads(doc)?;
    Ok(
        ssi_rdf::urdna2015::normalize(quads.iter().map(rdf_types::Quad::as_lexical_quad_ref))
            .into_nquads(),
    )
}

/// The expanded IRIs of a document's `type` (e.g. `VerifiableCredential` under the
/// credentials v1 context is `https://www.w3.org/2018/credentials#VerifiableCredential`).
pub(crate) fn expanded_types(doc: &Value) -> Result<Vec<String>, LdProofError> {
    const RDF_TYPE: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type";
    let typed = json!({
        "@context": doc.get("@context").cloned().unwrap_or(Value::Null),
        "type": doc.get("type").cloned().unwrap_or(Value::Null),
    });
    Ok(quads(&typed)?
        .into_iter()
        .filter(|q| q.1.as_str() == RDF_TYPE)
        .filter_map(|q| match q.2 {
            rdf_types::Term::Id(rdf_types::Id::Iri(iri)) => Some(iri.into_string()),
            _ => None,
        })
        .collect())
}

/// The data an `Ed25519Signature2018` proof signs: SHA-256 of the canonical proof options
/// (the proof without `jws`, with the document's `@context`), then SHA-256 of the canonical
/// document (without its `proof`).
fn verify_data(doc: &Value, proof: &Map<String, Value>) -> Result<Vec<u8>, LdProofError> {
    let mut options = proof.clone();
    options.remove("jws");
    options.remove("signatureValue");
    options.remove("proofValue");
    let context = doc
        .get("@context")
        .cloned()
        .unwrap_or_else(|| json!("https://w3id.org/security/v2"));
    options.insert("@context".to_owned(), context);
    let mut unsigned = doc.clone();
    if let Some(o) = unsigned.as_object_mut() {
        o.remove("proof");
    }
    let mut data = Sha256::digest(canonicalize(&Value::Object(options))?.as_bytes()).to_vec();
    data.extend_from_slice(&Sha256::digest(canonicalize(&unsigned)?.as_bytes()));
    Ok(data)
}

/// The protected header of the detached JWS, base64url.
fn jws_header() -> String {
    crate::encoding::b64_encode(br#"{"alg":"EdDSA","b64":false,"crit":["b64"]}"#)
}

/// Signs `doc` with `key`: `proof` holds the proof options (`proofPurpose`, `challenge`,
/// `domain`, `created`, ...); `type` and `verificationMethod` (the key's `did:key` key id)
/// are set here. Returns the proof with its `jws`, to put in the document's `proof`.
pub(crate) fn sign_ed25519_2018(
    doc: &Value,
    mut proof: Map<String, Value>,
    key: &AgentKey,
) -> Result<Value, LdProofError> {
    proof.insert("type".to_owned(), json!(ED25519_2018));
    proof.insert(
        "verificationMethod".to_owned(),
        json!(key.verkey().to_did_key_id()),
    );
    let header = jws_header();
    let mut signing_input = format!("{header}.").into_bytes();
    signing_input.extend_from_slice(&verify_data(doc, &proof)?);
    let signature = key.sign(&signing_input);
    proof.insert(
        "jws".to_owned(),
        json!(format!(
            "{header}..{}",
            crate::encoding::b64_encode(&signature)
        )),
    );
    Ok(Value::Object(proof))
}

/// Checks an `Ed25519Signature2018` proof of `doc` (its `proof`) against the Ed25519 key of
/// its `verificationMethod` (a `did:key`): the tests' check of what is signed here.
#[cfg(test)]
pub(crate) fn verify_ed25519_2018(doc: &Value) -> Result<(), LdProofError> {
    let proof = doc
        .get("proof")
        .and_then(Value::as_object)
        .ok_or_else(|| LdProofError("no proof object".to_owned()))?;
    if proof.get("type").and_then(Value::as_str) != Some(ED25519_2018) {
        return Err(LdProofError(format!("the proof is not an {ED25519_2018}")));
    }
    let vm = proof
        .get("verificationMethod")
        .and_then(Value::as_str)
        .ok_or_else(|| LdProofError("no verificationMethod".to_owned()))?;
    let verkey = crate::Verkey::from_did_key(vm).map_err(|e| LdProofError(format!("{vm}: {e}")))?;
    let jws = proof
        .get("jws")
        .and_then(Value::as_str)
        .ok_or_else(|| LdProofError("no jws".to_owned()))?;
    let (header, signature) = jws
        .split_once("..")
        .ok_or_else(|| LdProofError("the jws is not detached".to_owned()))?;
    let signature = crate::encoding::b64_decode(signature)
        .ok_or_else(|| LdProofError("the jws signature is not base64".to_owned()))?;
    let mut signing_input = format!("{header}.").into_bytes();
    signing_input.extend_from_slice(&verify_data(doc, proof)?);
    verkey
        .verify(&signing_input, &signature)
        .map_err(|e| LdProofError(format!("bad signature: {e}")))
}

#[cfg(test)]
mod tests;
