//! DIDComm v1 envelopes (Aries RFC 0019), as ACA-Py and askar write and read them.
//!
//! An envelope is the JSON `{"protected", "iv", "ciphertext", "tag"}`, every value base64url
//! without padding. `protected` holds `enc`, `typ: "JWM/1.0"`, `alg` (`Authcrypt` or
//! `Anoncrypt`) and one entry per recipient: the content key wrapped for the recipient's
//! X25519 key (`crypto_box` with a 24-byte nonce for authcrypt, `crypto_box_seal` for
//! anoncrypt) under `header.kid` = the recipient's base58 verkey; authcrypt adds
//! `header.sender`, the sealed box of the sender's base58 verkey *string*, and `header.iv`.
//! The message is encrypted with the content key and the ASCII of `protected` as AAD.
//!
//! The header says `"enc": "xchacha20poly1305_ietf"`, but the cipher ACA-Py/askar use and
//! accept is IETF ChaCha20-Poly1305 with a **12-byte** iv: [`pack`] writes that. [`unpack`]
//! reads both 12-byte (ChaCha20-Poly1305) and 24-byte (XChaCha20-Poly1305) ivs.

mod forward;

use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher;

use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, XChaCha20Poly1305};
use crypto_box::aead::OsRng;
use crypto_box::SalsaBox;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::encoding::{b64_decode, b64_encode};
use crate::error::EnvelopeError;
use crate::keys::{AgentKey, Verkey};

pub use forward::{forward, pack_for_service, FORWARD_TYPE};

/// The `enc` every DIDComm v1 agent writes (whatever cipher it really uses).
const ENC: &str = "xchacha20poly1305_ietf";
const ENC_IETF: &str = "chacha20poly1305_ietf";
const TYP: &str = "JWM/1.0";
const AUTHCRYPT: &str = "Authcrypt";
const ANONCRYPT: &str = "Anoncrypt";
const TAG_LEN: usize = 16;
const CEK_LEN: usize = 32;

/// The keys we hold, looked up by base58 verkey (`kid`) when unpacking.
///
/// Implemented for one [`AgentKey`], slices, arrays and `Vec`s of them (a linear scan), and
/// maps from base58 verkey to key (for agents holding many keys).
pub trait Keyring {
    /// The key whose base58 verkey is `kid`, if we hold it.
    fn key_for(&self, kid: &str) -> Option<&AgentKey>;
}

impl Keyring for AgentKey {
    fn key_for(&self, kid: &str) -> Option<&AgentKey> {
        (self.verkey_base58() == kid).then_some(self)
    }
}

impl Keyring for [AgentKey] {
    fn key_for(&self, kid: &str) -> Option<&AgentKey> {
        self.iter().find(|key| key.verkey_base58() == kid)
    }
}

impl<const N: usize> Keyring for [AgentKey; N] {
    fn key_for(&self, kid: &str) -> Option<&AgentKey> {
        self.as_slice().key_for(kid)
    }
}

impl Keyring for Vec<AgentKey> {
    fn key_for(&self, kid: &str) -> Option<&AgentKey> {
        self.as_slice().key_for(kid)
    }
}

impl<S: BuildHasher> Keyring for HashMap<String, AgentKey, S> {
    fn key_for(&self, kid: &str) -> Option<&AgentKey> {
        self.get(kid)
    }
}

impl Keyring for BTreeMap<String, AgentKey> {
    fn key_for(&self, kid: &str) -> Option<&AgentKey> {
        self.get(kid)
    }
}

impl<K: Keyring + ?Sized> Keyring for &K {
    fn key_for(&self, kid: &str) -> Option<&AgentKey> {
        (**self).key_for(kid)
    }
}

/// An unpacked envelope.
#[derive(Debug, Clone, PartialEq)]
pub struct Unpacked {
    /// The plaintext message.
    pub message: Value,
    /// The sender's base58 verkey (authcrypt); `None` for anoncrypt.
    pub sender_verkey: Option<String>,
    /// Our base58 verkey the envelope was opened with.
    pub recipient_verkey: String,
}

/// Packs a message for `recipients` (base58 verkeys or `did:key`s): authcrypt from `sender`
/// when given, anoncrypt otherwise. Returns the envelope's JSON bytes.
pub fn pack<M, K>(
    message: &M,
    recipients: &[K],
    sender: Option<&AgentKey>,
) -> Result<Vec<u8>, EnvelopeError>
where
    M: Serialize + ?Sized,
    K: AsRef<str>,
{
    let plaintext = serde_json::to_vec(message).map_err(EnvelopeError::Serialize)?;
    let recipients = recipients
        .iter()
        .map(|key| Verkey::parse(key.as_ref()))
        .collect::<Result<Vec<_>, _>>()?;
    pack_bytes(&plaintext, &recipients, sender)
}

/// Packs an already serialized message (UTF-8 JSON) for `recipients`: authcrypt from `sender`
/// when given, anoncrypt otherwise. Returns the envelope's JSON bytes.
pub fn pack_bytes(
    plaintext: &[u8],
    recipients: &[Verkey],
    sender: Option<&AgentKey>,
) -> Result<Vec<u8>, EnvelopeError> {
    pack_with(plaintext, recipients, sender, Cipher::ChaCha20Poly1305)
}

/// The content cipher, chosen by the iv's length.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Cipher {
    /// IETF ChaCha20-Poly1305, 12-byte iv: what ACA-Py/askar use.
    ChaCha20Poly1305,
    /// XChaCha20-Poly1305, 24-byte iv: accepted on input only.
    #[cfg_attr(not(test), allow(dead_code))]
    XChaCha20Poly1305,
}

#[derive(Serialize)]
struct ProtectedOut<'a> {
    enc: &'a str,
    typ: &'a str,
    alg: &'a str,
    recipients: Vec<RecipientOut>,
}

#[derive(Serialize)]
struct RecipientOut {
    encrypted_key: String,
    header: HeaderOut,
}

#[derive(Serialize)]
struct HeaderOut {
    kid: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    sender: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    iv: Option<String>,
}

#[derive(Serialize)]
struct EnvelopeOut<'a> {
    protected: &'a str,
    iv: &'a str,
    ciphertext: &'a str,
    tag: &'a str,
}

pub(crate) fn pack_with(
    plaintext: &[u8],
    recipients: &[Verkey],
    sender: Option<&AgentKey>,
    cipher: Cipher,
) -> Result<Vec<u8>, EnvelopeError> {
    if recipients.is_empty() {
        return Err(EnvelopeError::NoRecipients);
    }
    let cek = ChaCha20Poly1305::generate_key(&mut OsRng);
    let mut entries = Vec::with_capacity(recipients.len());
    for recipient in recipients {
        let their_x = recipient.x25519_public();
        let entry = match sender {
            Some(sender) => {
                let nonce = SalsaBox::generate_nonce(&mut OsRng);
                let encrypted_key = SalsaBox::new(&their_x, sender.x25519_secret())
                    .encrypt(&nonce, cek.as_slice())
                    .map_err(|_| EnvelopeError::Encrypt("content key"))?;
                let sealed_sender = their_x
                    .seal(&mut OsRng, sender.verkey_base58().as_bytes())
                    .map_err(|_| EnvelopeError::Encrypt("sender"))?;
                RecipientOut {
                    encrypted_key: b64_encode(&encrypted_key),
                    header: HeaderOut {
                        kid: recipient.to_base58(),
                        sender: Some(b64_encode(&sealed_sender)),
                        iv: Some(b64_encode(&nonce)),
                    },
                }
            }
            None => {
                let encrypted_key = their_x
                    .seal(&mut OsRng, cek.as_slice())
                    .map_err(|_| EnvelopeError::Encrypt("content key"))?;
                RecipientOut {
                    encrypted_key: b64_encode(&encrypted_key),
                    header: HeaderOut {
                        kid: recipient.to_base58(),
                        sender: None,
                        iv: None,
                    },
                }
            }
        };
        entries.push(entry);
    }
    let protected = ProtectedOut {
        enc: ENC,
        typ: TYP,
        alg: if sender.is_some() {
            AUTHCRYPT
        } else {
            ANONCRYPT
        },
        recipients: entries,
    };
    let protected = b64_encode(&serde_json::to_vec(&protected).map_err(EnvelopeError::Serialize)?);
    let payload = Payload {
        msg: plaintext,
        aad: protected.as_bytes(),
    };
    let (iv, sealed) = match cipher {
        Cipher::ChaCha20Poly1305 => {
            let iv = ChaCha20Poly1305::generate_nonce(&mut OsRng);
            let sealed = ChaCha20Poly1305::new(&cek).encrypt(&iv, payload);
            (iv.to_vec(), sealed)
        }
        Cipher::XChaCha20Poly1305 => {
            let iv = XChaCha20Poly1305::generate_nonce(&mut OsRng);
            let sealed = XChaCha20Poly1305::new(&cek).encrypt(&iv, payload);
            (iv.to_vec(), sealed)
        }
    };
    let mut sealed = sealed.map_err(|_| EnvelopeError::Encrypt("message"))?;
    let tag = sealed.split_off(sealed.len() - TAG_LEN);
    let envelope = EnvelopeOut {
        protected: &protected,
        iv: &b64_encode(&iv),
        ciphertext: &b64_encode(&sealed),
        tag: &b64_encode(&tag),
    };
    serde_json::to_vec(&envelope).map_err(EnvelopeError::Serialize)
}

#[derive(Deserialize)]
struct EnvelopeIn {
    protected: String,
    iv: String,
    ciphertext: String,
    tag: String,
}

#[derive(Deserialize)]
struct ProtectedIn {
    enc: String,
    alg: String,
    recipients: Vec<RecipientIn>,
}

#[derive(Deserialize)]
struct RecipientIn {
    encrypted_key: String,
    header: HeaderIn,
}

#[derive(Deserialize)]
struct HeaderIn {
    kid: String,
    #[serde(default)]
    sender: Option<String>,
    #[serde(default)]
    iv: Option<String>,
}

fn decode(field: &'static str, text: &str) -> Result<Vec<u8>, EnvelopeError> {
    b64_decode(text).ok_or(EnvelopeError::Base64 { field })
}

/// The recipients (`header.kid`, base58 verkeys as written) an envelope names, in order,
/// read from its `protected` header without decrypting anything. Never panics.
pub(crate) fn recipient_kids(envelope: &[u8]) -> Result<Vec<String>, EnvelopeError> {
    let envelope: EnvelopeIn =
        serde_json::from_slice(envelope).map_err(EnvelopeError::NotAnEnvelope)?;
    let header = decode("protected", &envelope.protected)?;
    let header: ProtectedIn =
        serde_json::from_slice(&header).map_err(EnvelopeError::ProtectedHeader)?;
    Ok(header
        .recipients
        .into_iter()
        .map(|r| r.header.kid)
        .collect())
}

/// Unpacks an envelope (its JSON bytes) with whichever of `keys` it was packed for.
///
/// Accepts authcrypt and anoncrypt, base64 URL-safe or standard, padded or not, and 12-byte
/// (ChaCha20-Poly1305) or 24-byte (XChaCha20-Poly1305) content ivs. Never panics.
pub fn unpack<K: Keyring + ?Sized>(envelope: &[u8], keys: &K) -> Result<Unpacked, EnvelopeError> {
    let envelope: EnvelopeIn =
        serde_json::from_slice(envelope).map_err(EnvelopeError::NotAnEnvelope)?;
    let header = decode("protected", &envelope.protected)?;
    let header: ProtectedIn =
        serde_json::from_slice(&header).map_err(EnvelopeError::ProtectedHeader)?;
    if header.enc != ENC && header.enc != ENC_IETF {
        return Err(EnvelopeError::UnsupportedEnc(crate::error::clip(
            &header.enc,
            40,
        )));
    }
    let authcrypt = match header.alg.as_str() {
        AUTHCRYPT | "authcrypt" => true,
        ANONCRYPT | "anoncrypt" => false,
        other => {
            return Err(EnvelopeError::UnsupportedAlg(crate::error::clip(other, 40)));
        }
    };
    let (recipient, key) = header
        .recipients
        .iter()
        .find_map(|r| keys.key_for(&r.header.kid).map(|key| (r, key)))
        .ok_or(EnvelopeError::NoMatchingRecipient {
            recipients: header.recipients.len(),
        })?;

    let encrypted_key = decode("encrypted_key", &recipient.encrypted_key)?;
    let (cek, sender_verkey) = if authcrypt {
        let sender = recipient
            .header
            .sender
            .as_deref()
            .ok_or(EnvelopeError::MissingHeader("sender"))?;
        let nonce = recipient
            .header
            .iv
            .as_deref()
            .ok_or(EnvelopeError::MissingHeader("iv"))?;
        let sender = key
            .x25519_secret()
            .unseal(&decode("sender", sender)?)
            .map_err(|_| EnvelopeError::Decrypt("sender"))?;
        let sender = String::from_utf8(sender).map_err(|_| EnvelopeError::BadSender)?;
        let sender_key = Verkey::from_base58(&sender).map_err(|_| EnvelopeError::BadSender)?;
        let nonce = decode("recipient iv", nonce)?;
        let nonce = <[u8; 24]>::try_from(nonce.as_slice()).map_err(|_| EnvelopeError::Length {
            field: "recipient iv",
            expected: "24",
            found: nonce.len(),
        })?;
        let cek = SalsaBox::new(&sender_key.x25519_public(), key.x25519_secret())
            .decrypt(&nonce.into(), encrypted_key.as_slice())
            .map_err(|_| EnvelopeError::Decrypt("content key"))?;
        (cek, Some(sender))
    } else {
        let cek = key
            .x25519_secret()
            .unseal(&encrypted_key)
            .map_err(|_| EnvelopeError::Decrypt("content key"))?;
        (cek, None)
    };
    let cek = <[u8; CEK_LEN]>::try_from(cek.as_slice()).map_err(|_| EnvelopeError::Length {
        field: "content key",
        expected: "32",
        found: cek.len(),
    })?;

    let iv = decode("iv", &envelope.iv)?;
    let tag = decode("tag", &envelope.tag)?;
    if tag.len() != TAG_LEN {
        return Err(EnvelopeError::Length {
            field: "tag",
            expected: "16",
            found: tag.len(),
        });
    }
    let mut sealed = decode("ciphertext", &envelope.ciphertext)?;
    sealed.extend_from_slice(&tag);
    let payload = Payload {
        msg: &sealed,
        aad: envelope.protected.as_bytes(),
    };
    let plaintext = match iv.len() {
        12 => ChaCha20Poly1305::new(&cek.into()).decrypt(iv.as_slice().into(), payload),
        24 => XChaCha20Poly1305::new(&cek.into()).decrypt(iv.as_slice().into(), payload),
        found => {
            return Err(EnvelopeError::Length {
                field: "iv",
                expected: "12 or 24",
                found,
            })
        }
    }
    .map_err(|_| EnvelopeError::Decrypt("message"))?;
    let message = serde_json::from_slice(&plaintext).map_err(EnvelopeError::PlaintextNotJson)?;
    Ok(Unpacked {
        message,
        sender_verkey,
        recipient_verkey: key.verkey_base58().to_owned(),
    })
}

#[cfg(test)]
mod tests;
