//! Agent keys: Ed25519 key pairs, base58 verkeys, and their X25519 twins for encryption.
//!
//! DIDComm v1 signs with Ed25519 and encrypts with X25519 keys *derived* from the Ed25519 ones,
//! by libsodium's rules (`crypto_sign_ed25519_pk_to_curve25519` and
//! `crypto_sign_ed25519_sk_to_curve25519`), so one base58 verkey names both.

pub(crate) mod did_key;
pub(crate) mod did_peer;

use std::fmt;
use std::str::FromStr;

use crypto_box::aead::rand_core::RngCore as _;
use crypto_box::aead::OsRng;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};

use crate::error::{clip, KeyError};

/// Size of Ed25519 and X25519 keys, in bytes.
pub(crate) const KEY_LEN: usize = 32;

/// An Ed25519 public key: an agent's *verkey*.
///
/// It parses from the forms found on the wire ([`Verkey::parse`]): a raw base58 verkey, a
/// `did:key`, or a `did:key:...#...` key id. It displays (and serializes) as base58, the form
/// DIDComm v1 envelopes and `forward` messages require.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Verkey(VerifyingKey);

impl Verkey {
    /// A verkey from its 32 bytes. Fails if they are not a usable Ed25519 point.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        let bytes: &[u8; KEY_LEN] = bytes.try_into().map_err(|_| KeyError::Length {
            expected: KEY_LEN,
            found: bytes.len(),
        })?;
        let key = VerifyingKey::from_bytes(bytes).map_err(|_| KeyError::InvalidPoint)?;
        if key.is_weak() {
            return Err(KeyError::WeakKey);
        }
        Ok(Self(key))
    }

    /// A verkey from base58 (bitcoin alphabet), the form of `kid`s and `recipientKeys` in
    /// DIDComm v1.
    pub fn from_base58(text: &str) -> Result<Self, KeyError> {
        let mut bytes = [0_u8; KEY_LEN];
        let n = bs58::decode(text)
            .onto(&mut bytes[..])
            .map_err(|e| match e {
                bs58::decode::Error::BufferTooSmall => KeyError::Length {
                    expected: KEY_LEN,
                    found: bs58::decode(text).into_vec().map_or(0, |v| v.len()),
                },
                _ => KeyError::Base58(clip(text, 100)),
            })?;
        Self::from_bytes(&bytes[..n])
    }

    /// A verkey from any form peers use: `did:key:z6Mk...`, `did:key:z6Mk...#z6Mk...`, or raw
    /// base58.
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        let text = text.trim();
        if text.starts_with("did:") {
            Self::from_did_key(text)
        } else {
            Self::from_base58(text)
        }
    }

    /// The 32 bytes of the key.
    pub fn as_bytes(&self) -> &[u8; KEY_LEN] {
        self.0.as_bytes()
    }

    /// The key in base58, as DIDComm v1 `kid`s and `forward.to` want it.
    pub fn to_base58(&self) -> String {
        bs58::encode(self.as_bytes()).into_string()
    }

    /// The X25519 public key of this verkey (libsodium's
    /// `crypto_sign_ed25519_pk_to_curve25519`).
    pub fn to_x25519(&self) -> [u8; KEY_LEN] {
        self.0.to_montgomery().to_bytes()
    }

    /// Checks an Ed25519 signature of `message` by this key (strict verification).
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), KeyError> {
        let signature = Signature::from_slice(signature).map_err(|_| KeyError::BadSignature)?;
        self.0
            .verify_strict(message, &signature)
            .map_err(|_| KeyError::BadSignature)
    }

    pub(crate) fn x25519_public(&self) -> crypto_box::PublicKey {
        crypto_box::PublicKey::from(self.to_x25519())
    }
}

impl fmt::Display for Verkey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_base58())
    }
}

impl fmt::Debug for Verkey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Verkey({})", self.to_base58())
    }
}

impl FromStr for Verkey {
    type Err = KeyError;

    /// Same as [`Verkey::parse`].
    fn from_str(text: &str) -> Result<Self, KeyError> {
        Self::parse(text)
    }
}

impl serde::Serialize for Verkey {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_base58())
    }
}

impl<'de> serde::Deserialize<'de> for Verkey {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// An agent's key pair: an Ed25519 signing key and its X25519 twin for DIDComm v1 encryption.
///
/// `Debug` shows the verkey only, never the secret.
#[derive(Clone)]
pub struct AgentKey {
    signing: SigningKey,
    verkey: Verkey,
    verkey_b58: String,
    x_secret: crypto_box::SecretKey,
}

impl AgentKey {
    /// A new random key pair (from the operating system's CSPRNG).
    pub fn generate() -> Self {
        let mut seed = [0_u8; KEY_LEN];
        OsRng.fill_bytes(&mut seed);
        let key = Self::from_seed(&seed);
        seed.fill(0);
        key
    }

    /// The key pair of a 32-byte seed (libsodium's `crypto_sign_seed_keypair`): the same seed
    /// gives the same keys as ACA-Py, askar and indy-sdk.
    pub fn from_seed(seed: &[u8; KEY_LEN]) -> Self {
        let signing = SigningKey::from_bytes(seed);
        // libsodium's crypto_sign_ed25519_sk_to_curve25519: SHA-512 of the seed, first half,
        // clamped.
        let mut scalar = signing.to_scalar_bytes();
        scalar[0] &= 248;
        scalar[31] &= 127;
        scalar[31] |= 64;
        let x_secret = crypto_box::SecretKey::from(scalar);
        scalar.fill(0);
        // A key derived from a seed is never weak: the point is a multiple of the base point.
        let verkey = Verkey(signing.verifying_key());
        Self {
            verkey_b58: verkey.to_base58(),
            signing,
            verkey,
            x_secret,
        }
    }

    /// The 32-byte seed, to store the key pair and rebuild it with [`AgentKey::from_seed`].
    /// It is the secret: keep it out of logs and reports.
    pub fn to_seed(&self) -> [u8; KEY_LEN] {
        self.signing.to_bytes()
    }

    /// The public key.
    pub fn verkey(&self) -> Verkey {
        self.verkey
    }

    /// The public key in base58.
    pub fn verkey_base58(&self) -> &str {
        &self.verkey_b58
    }

    /// The public key as a `did:key`.
    pub fn did_key(&self) -> String {
        self.verkey.to_did_key()
    }

    /// The X25519 public key (equal to `self.verkey().to_x25519()`).
    pub fn x25519_public(&self) -> [u8; KEY_LEN] {
        self.x_secret.public_key().to_bytes()
    }

    /// An Ed25519 signature of `message`.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.signing.sign(message).to_bytes()
    }

    pub(crate) fn x25519_secret(&self) -> &crypto_box::SecretKey {
        &self.x_secret
    }
}

impl fmt::Debug for AgentKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AgentKey")
            .field("verkey", &self.verkey_b58)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// libsodium's own test (`test/default/ed25519_convert.c` and its `.exp`).
    #[test]
    fn ed25519_to_x25519_matches_libsodium() {
        let seed = [
            0x42, 0x11, 0x51, 0xa4, 0x59, 0xfa, 0xea, 0xde, 0x3d, 0x24, 0x71, 0x15, 0xf9, 0x4a,
            0xed, 0xae, 0x42, 0x31, 0x81, 0x24, 0x09, 0x5a, 0xfa, 0xbe, 0x4d, 0x14, 0x51, 0xa5,
            0x59, 0xfa, 0xed, 0xee,
        ];
        let key = AgentKey::from_seed(&seed);
        assert_eq!(
            hex(&key.verkey().to_x25519()),
            "f1814f0e8ff1043d8a44d25babff3cedcae6c22c3edaa48f857ae70de2baae50"
        );
        assert_eq!(
            hex(&key.x25519_secret().to_bytes()),
            "8052030376d47112be7f73ed7a019293dd12ad910b654455798b4667d73de166"
        );
        // The secret's public key is the converted public key.
        assert_eq!(key.x25519_public(), key.verkey().to_x25519());
    }

    #[test]
    fn seed_round_trip() {
        let key = AgentKey::generate();
        let again = AgentKey::from_seed(&key.to_seed());
        assert_eq!(key.verkey(), again.verkey());
        assert_eq!(key.x25519_public(), again.x25519_public());
    }

    #[test]
    fn base58_round_trip() {
        let key = AgentKey::generate();
        let b58 = key.verkey_base58();
        assert_eq!(Verkey::from_base58(b58).unwrap(), key.verkey());
        assert_eq!(Verkey::parse(b58).unwrap().to_string(), b58);
        let json = serde_json::to_string(&key.verkey()).unwrap();
        assert_eq!(json, format!("\"{b58}\""));
        assert_eq!(serde_json::from_str::<Verkey>(&json).unwrap(), key.verkey());
    }

    #[test]
    fn bad_verkeys() {
        assert!(matches!(
            Verkey::from_base58("0OIl"),
            Err(KeyError::Base58(_))
        ));
        assert!(matches!(
            Verkey::from_base58("abc"),
            Err(KeyError::Length { expected: 32, .. })
        ));
        let long = bs58::encode([7_u8; 40]).into_string();
        assert_eq!(
            Verkey::from_base58(&long),
            Err(KeyError::Length {
                expected: 32,
                found: 40
            })
        );
        // The identity point is on the curve but of small order.
        let mut identity = [0_u8; 32];
        identity[0] = 1;
        assert_eq!(Verkey::from_bytes(&identity), Err(KeyError::WeakKey));
        assert!(Verkey::parse("").is_err());
        assert!("did:web:example.com".parse::<Verkey>().is_err());
    }

    #[test]
    fn sign_and_verify() {
        let key = AgentKey::generate();
        let signature = key.sign(b"hello");
        key.verkey().verify(b"hello", &signature).unwrap();
        assert_eq!(
            key.verkey().verify(b"hellO", &signature),
            Err(KeyError::BadSignature)
        );
        assert_eq!(
            key.verkey().verify(b"hello", &signature[..10]),
            Err(KeyError::BadSignature)
        );
    }

    #[test]
    fn debug_hides_the_secret() {
        let key = AgentKey::from_seed(&[9; 32]);
        assert_eq!(
            format!("{key:?}"),
            format!("AgentKey {{ verkey: {:?}, .. }}", key.verkey_base58())
        );
    }
}
