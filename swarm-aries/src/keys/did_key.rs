//! `did:key` for Ed25519 keys: multicodec `0xed01` + key, base58btc with the `z` prefix.

use super::{Verkey, KEY_LEN};
use crate::error::{clip, KeyError};

/// Multicodec prefix of an Ed25519 public key (`ed25519-pub`, varint of 0xed).
pub(crate) const ED25519_CODEC: [u8; 2] = [0xed, 0x01];
/// Multicodec prefix of an X25519 public key (`x25519-pub`, varint of 0xec).
pub(crate) const X25519_CODEC: [u8; 2] = [0xec, 0x01];

const DID_KEY: &str = "did:key:";

/// `z` + base58btc(codec || key): a multibase multicodec key ("fingerprint").
pub(crate) fn multikey(codec: [u8; 2], key: &[u8; KEY_LEN]) -> String {
    let mut raw = [0_u8; 2 + KEY_LEN];
    raw[..2].copy_from_slice(&codec);
    raw[2..].copy_from_slice(key);
    let mut out = String::with_capacity(50);
    out.push('z');
    out.push_str(&bs58::encode(raw).into_string());
    out
}

/// Decodes a `z...` multikey with the given codec into its 32 key bytes.
pub(crate) fn decode_multikey(text: &str, codec: [u8; 2]) -> Result<[u8; KEY_LEN], KeyError> {
    let Some(b58) = text.strip_prefix('z') else {
        return Err(KeyError::NotBase58Btc(clip(text, 100)));
    };
    let raw = bs58::decode(b58)
        .into_vec()
        .map_err(|_| KeyError::Base58(clip(b58, 100)))?;
    if raw.len() < 2 || raw[..2] != codec {
        let found = match raw.as_slice() {
            [a, b, ..] => u16::from_be_bytes([*a, *b]),
            _ => 0,
        };
        return Err(KeyError::UnsupportedCodec {
            expected: u16::from_be_bytes(codec),
            found,
        });
    }
    raw[2..].try_into().map_err(|_| KeyError::Length {
        expected: KEY_LEN,
        found: raw.len() - 2,
    })
}

impl Verkey {
    /// The multibase multicodec form of the key (`z6Mk...`), the method-specific id of its
    /// `did:key`.
    pub fn fingerprint(&self) -> String {
        multikey(ED25519_CODEC, self.as_bytes())
    }

    /// The key as a `did:key` (`did:key:z6Mk...`).
    pub fn to_did_key(&self) -> String {
        format!("{DID_KEY}{}", self.fingerprint())
    }

    /// The key as a `did:key` key id (`did:key:z6Mk...#z6Mk...`), the form ACA-Py writes in
    /// out-of-band invitations and mediation grants.
    pub fn to_did_key_id(&self) -> String {
        let fingerprint = self.fingerprint();
        format!("{DID_KEY}{fingerprint}#{fingerprint}")
    }

    /// A verkey from a `did:key` (`did:key:z6Mk...`) or a `did:key` URL (`...#z6Mk...`;
    /// the fragment is not checked). Only Ed25519 keys are accepted.
    pub fn from_did_key(text: &str) -> Result<Self, KeyError> {
        let Some(rest) = text.trim().strip_prefix(DID_KEY) else {
            return Err(KeyError::NotDidKey(clip(text, 100)));
        };
        let id = rest.split(['#', '?', '/']).next().unwrap_or_default();
        if id.is_empty() {
            return Err(KeyError::NotDidKey(clip(text, 100)));
        }
        Self::from_bytes(&decode_multikey(id, ED25519_CODEC)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::AgentKey;

    /// The first Ed25519 example of the did:key spec, with its base58 verkey.
    const SPEC_DID: &str = "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp";
    const SPEC_VERKEY: &str = "4zvwRjXUKGfvwnParsHAS3HuSVzV5cA4McphgmoCtajS";

    #[test]
    fn spec_example() {
        let key = Verkey::from_did_key(SPEC_DID).unwrap();
        assert_eq!(key.to_base58(), SPEC_VERKEY);
        assert_eq!(key.to_did_key(), SPEC_DID);
        assert_eq!(
            key.to_did_key_id(),
            format!("{SPEC_DID}#z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp")
        );
        assert_eq!(Verkey::parse(&key.to_did_key_id()).unwrap(), key);
    }

    #[test]
    fn round_trip() {
        for _ in 0..20 {
            let key = AgentKey::generate().verkey();
            let did = key.to_did_key();
            assert!(did.starts_with("did:key:z6Mk"), "{did}");
            assert_eq!(Verkey::from_did_key(&did).unwrap(), key);
            assert_eq!(Verkey::parse(&key.to_did_key_id()).unwrap(), key);
        }
    }

    #[test]
    fn rejects_bad_did_keys() {
        let x25519 = format!("did:key:{}", multikey(X25519_CODEC, &[9; 32]));
        let short = format!(
            "did:key:z{}",
            bs58::encode([0xed, 0x01, 1, 2, 3]).into_string()
        );
        for (input, check) in [
            ("did:key:", "not a did:key"),
            ("did:key:#x", "not a did:key"),
            ("did:sov:abc", "not a did:key"),
            (
                "did:key:u6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp",
                "base58btc",
            ),
            ("did:key:z0OIl", "not base58"),
            ("did:key:z", "multicodec"),
            (x25519.as_str(), "0xec01"),
            (short.as_str(), "a key is 32 bytes, this one is 3"),
        ] {
            let err = Verkey::from_did_key(input).unwrap_err().to_string();
            assert!(err.contains(check), "{input}: {err}");
        }
    }
}
