//! Any bytes given to `unpack` yield a message or an error, never a panic.
//!
//! Each input is used twice:
//! 1. as the envelope itself (`unpack(data)`): the JSON, base64 and header parsing, and, from
//!    the seed corpus (real envelopes for the fuzz key, packed by libsodium and by `pack`), the
//!    whole decryption path;
//! 2. as an [`arbitrary`] description of an envelope that this target builds and encrypts for
//!    real (authcrypt with a fixed sender, or anoncrypt) for the fuzz key: header values, decoy
//!    recipients, content-key length, sender box contents, nonce and iv lengths, base64
//!    flavours, plaintext, and one optional tampering. The fuzzer so reaches every step of the
//!    decryption (unsealing the sender, the sender's verkey, opening the content key, its length,
//!    the iv's length, the message's AEAD, the plaintext's JSON), which random bytes never could.
//!    Checks: a well-formed envelope unpacks to its message (and sender); a tampered one
//!    (ciphertext, tag, or the protected header's text, the AAD) fails to decrypt.
#![no_main]

use std::sync::OnceLock;

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, XChaCha20Poly1305};
use crypto_box::aead::rand_core::{CryptoRng, Error as RandError, RngCore};
use crypto_box::{PublicKey, SalsaBox, SecretKey};
use libfuzzer_sys::arbitrary::{self, Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use serde_json::{json, Map, Value};
use swarm_aries::{unpack, AgentKey, EnvelopeError};

/// The recipient (32 × 0x11) and sender (32 × 0x22) seeds of the libsodium fixtures in
/// `src/envelope/testdata/libsodium.json`, so those envelopes are valid seeds.
const OUR_SEED: [u8; 32] = [0x11; 32];
const SENDER_SEED: [u8; 32] = [0x22; 32];
const MAX_DECOYS: usize = 4;

struct Keys {
    ours: AgentKey,
    our_public: PublicKey,
    sender: AgentKey,
    sender_secret: SecretKey,
}

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let ours = AgentKey::from_seed(&OUR_SEED);
        let sender = AgentKey::from_seed(&SENDER_SEED);
        // libsodium's crypto_sign_ed25519_sk_to_curve25519, as AgentKey does internally.
        let mut scalar = ed25519_dalek::SigningKey::from_bytes(&SENDER_SEED).to_scalar_bytes();
        scalar[0] &= 248;
        scalar[31] &= 127;
        scalar[31] |= 64;
        let sender_secret = SecretKey::from(scalar);
        assert_eq!(
            sender_secret.public_key().to_bytes(),
            sender.x25519_public()
        );
        Keys {
            our_public: PublicKey::from(ours.x25519_public()),
            ours,
            sender,
            sender_secret,
        }
    })
}

/// A deterministic RNG for the sealed boxes' ephemeral keys, so a crash reproduces.
struct SplitMix(u64);

impl RngCore for SplitMix {
    fn next_u32(&mut self) -> u32 {
        self.next_u64() as u32
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for chunk in dest.chunks_mut(8) {
            chunk.copy_from_slice(&self.next_u64().to_le_bytes()[..chunk.len()]);
        }
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), RandError> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl CryptoRng for SplitMix {}

// The first variant of every choice is the well-formed one, so an empty input builds a valid
// envelope.

#[derive(Debug, Arbitrary)]
enum Alg {
    Authcrypt,
    Anoncrypt,
    Lowercase { auth: bool },
    Other(String),
}

#[derive(Debug, Arbitrary)]
enum Enc {
    XChaCha,
    Ietf,
    Other(String),
}

#[derive(Debug, Arbitrary)]
enum Kid {
    Ours,
    Sender,
    Other(String),
}

/// A recipient entry before ours, with whatever fields.
#[derive(Debug, Arbitrary)]
struct Decoy {
    kid: Kid,
    encrypted_key: String,
    sender: Option<String>,
    iv: Option<String>,
}

#[derive(Debug, Arbitrary)]
enum Cek {
    Good([u8; 32]),
    Any(Vec<u8>),
}

/// The authcrypt `sender` header.
#[derive(Debug, Arbitrary)]
enum Sender {
    /// The sealed box of the sender's base58 verkey.
    Real,
    /// The sealed box of this text.
    Sealed(String),
    /// The sealed box of these bytes.
    SealedBytes(Vec<u8>),
    /// This text as the field's value.
    Text(String),
    Missing,
}

/// The authcrypt recipient `iv` (the content key box's nonce).
#[derive(Debug, Arbitrary)]
enum Nonce {
    Good([u8; 24]),
    /// These bytes written (the box is made with a zero nonce).
    Bytes(Vec<u8>),
    Text(String),
    Missing,
}

/// The content iv, which chooses the cipher.
#[derive(Debug, Arbitrary)]
enum Iv {
    Ietf([u8; 12]),
    XChaCha([u8; 24]),
    /// These bytes written (the message is encrypted with a zero 12-byte iv).
    Bytes(Vec<u8>),
    Text(String),
}

#[derive(Debug, Arbitrary)]
enum Tamper {
    None,
    Ciphertext {
        at: u16,
        xor: u8,
    },
    Tag {
        at: u8,
        xor: u8,
    },
    TagBytes(Vec<u8>),
    CiphertextText(String),
    EncryptedKeyText(String),
    /// The protected header re-encoded with `=` padding: same header, different AAD.
    ProtectedPadding,
}

#[derive(Debug, Arbitrary)]
enum Plain {
    Ping,
    Bytes(Vec<u8>),
}

#[derive(Debug, Clone, Copy, Arbitrary)]
enum Flavour {
    UrlNoPad,
    UrlPad,
    Standard,
    StandardNoPad,
}

impl Flavour {
    fn encode(self, bytes: &[u8]) -> String {
        match self {
            Self::UrlNoPad => URL_SAFE_NO_PAD.encode(bytes),
            Self::UrlPad => URL_SAFE.encode(bytes),
            Self::Standard => STANDARD.encode(bytes),
            Self::StandardNoPad => STANDARD_NO_PAD.encode(bytes),
        }
    }
}

#[derive(Debug, Arbitrary)]
struct Spec {
    alg: Alg,
    enc: Enc,
    kid: Kid,
    cek: Cek,
    sender: Sender,
    nonce: Nonce,
    iv: Iv,
    tamper: Tamper,
    decoys: Vec<Decoy>,
    flavours: [Flavour; 7],
    rng: u64,
    plain: Plain,
}

/// What `unpack` must answer for a built envelope.
enum Expect {
    /// The message (and the sender, for authcrypt).
    Message { message: Value, authcrypt: bool },
    /// `PlaintextNotJson`.
    NotJson,
    /// `Decrypt("message")`.
    Tampered,
    /// Anything but a panic.
    Whatever,
}

fn build(spec: Spec, k: &Keys) -> (Vec<u8>, Expect) {
    let mut rng = SplitMix(spec.rng);
    let [f_protected, f_key, f_sender, f_nonce, f_iv, f_ciphertext, f_tag] = spec.flavours;
    // Whether every part is well formed (so the envelope must open).
    let mut good = true;

    let alg = match spec.alg {
        Alg::Authcrypt => "Authcrypt".to_owned(),
        Alg::Anoncrypt => "Anoncrypt".to_owned(),
        Alg::Lowercase { auth: true } => "authcrypt".to_owned(),
        Alg::Lowercase { auth: false } => "anoncrypt".to_owned(),
        Alg::Other(alg) => alg,
    };
    let authcrypt = matches!(alg.as_str(), "Authcrypt" | "authcrypt");
    good &= authcrypt || matches!(alg.as_str(), "Anoncrypt" | "anoncrypt");
    let enc = match spec.enc {
        Enc::XChaCha => "xchacha20poly1305_ietf".to_owned(),
        Enc::Ietf => "chacha20poly1305_ietf".to_owned(),
        Enc::Other(enc) => enc,
    };
    good &= matches!(
        enc.as_str(),
        "xchacha20poly1305_ietf" | "chacha20poly1305_ietf"
    );
    let kid_text = |kid: Kid| match kid {
        Kid::Ours => k.ours.verkey_base58().to_owned(),
        Kid::Sender => k.sender.verkey_base58().to_owned(),
        Kid::Other(kid) => kid,
    };

    let mut recipients = Vec::new();
    for decoy in spec.decoys.into_iter().take(MAX_DECOYS) {
        let kid = kid_text(decoy.kid);
        // The first recipient that is ours is the one opened.
        good &= kid != k.ours.verkey_base58();
        let mut header = Map::new();
        header.insert("kid".into(), kid.into());
        if let Some(sender) = decoy.sender {
            header.insert("sender".into(), sender.into());
        }
        if let Some(iv) = decoy.iv {
            header.insert("iv".into(), iv.into());
        }
        recipients.push(json!({"encrypted_key": decoy.encrypted_key, "header": header}));
    }

    let kid = kid_text(spec.kid);
    good &= kid == k.ours.verkey_base58();
    let cek = match spec.cek {
        Cek::Good(cek) => cek.to_vec(),
        Cek::Any(cek) => cek,
    };
    good &= cek.len() == 32;
    let mut header = Map::new();
    header.insert("kid".into(), kid.into());
    let encrypted_key = if authcrypt {
        let nonce = match spec.nonce {
            Nonce::Good(nonce) => {
                header.insert("iv".into(), f_nonce.encode(&nonce).into());
                nonce
            }
            Nonce::Bytes(bytes) => {
                good = false;
                header.insert("iv".into(), f_nonce.encode(&bytes).into());
                [0; 24]
            }
            Nonce::Text(text) => {
                good = false;
                header.insert("iv".into(), text.into());
                [0; 24]
            }
            Nonce::Missing => {
                good = false;
                [0; 24]
            }
        };
        let sealed = |plaintext: &[u8], rng: &mut SplitMix| {
            f_sender.encode(&k.our_public.seal(rng, plaintext).expect("seal"))
        };
        let sender = match spec.sender {
            Sender::Real => Some(sealed(k.sender.verkey_base58().as_bytes(), &mut rng)),
            Sender::Sealed(text) => {
                good &= text == k.sender.verkey_base58();
                Some(sealed(text.as_bytes(), &mut rng))
            }
            Sender::SealedBytes(bytes) => {
                good &= bytes == k.sender.verkey_base58().as_bytes();
                Some(sealed(&bytes, &mut rng))
            }
            Sender::Text(text) => {
                good = false;
                Some(text)
            }
            Sender::Missing => {
                good = false;
                None
            }
        };
        if let Some(sender) = sender {
            header.insert("sender".into(), sender.into());
        }
        SalsaBox::new(&k.our_public, &k.sender_secret)
            .encrypt(&nonce.into(), cek.as_slice())
            .expect("box")
    } else {
        // Anoncrypt ignores `sender` and `iv`: write whatever the input says.
        if let Nonce::Text(text) = spec.nonce {
            header.insert("iv".into(), text.into());
        }
        if let Sender::Text(text) = spec.sender {
            header.insert("sender".into(), text.into());
        }
        k.our_public.seal(&mut rng, &cek).expect("seal")
    };
    let mut encrypted_key = f_key.encode(&encrypted_key);
    if let Tamper::EncryptedKeyText(text) = &spec.tamper {
        good &= *text == encrypted_key;
        encrypted_key.clone_from(text);
    }
    recipients.push(json!({"encrypted_key": encrypted_key, "header": header}));

    let header = json!({"enc": enc, "typ": "JWM/1.0", "alg": alg, "recipients": recipients});
    let header = serde_json::to_vec(&header).expect("header");
    let protected = f_protected.encode(&header);

    let plaintext = match spec.plain {
        Plain::Ping => {
            br#"{"@type": "https://didcomm.org/trust_ping/1.0/ping", "@id": "1"}"#.to_vec()
        }
        Plain::Bytes(bytes) => bytes,
    };
    let mut content_key = [0; 32];
    let n = cek.len().min(32);
    content_key[..n].copy_from_slice(&cek[..n]);
    let payload = Payload {
        msg: &plaintext,
        aad: protected.as_bytes(),
    };
    let (iv, sealed) = match spec.iv {
        Iv::Ietf(iv) => (
            f_iv.encode(&iv),
            ChaCha20Poly1305::new(&content_key.into()).encrypt(&iv.into(), payload),
        ),
        Iv::XChaCha(iv) => (
            f_iv.encode(&iv),
            XChaCha20Poly1305::new(&content_key.into()).encrypt(&iv.into(), payload),
        ),
        Iv::Bytes(bytes) => {
            good = false;
            (
                f_iv.encode(&bytes),
                ChaCha20Poly1305::new(&content_key.into()).encrypt(&[0; 12].into(), payload),
            )
        }
        Iv::Text(text) => {
            good = false;
            (
                text,
                ChaCha20Poly1305::new(&content_key.into()).encrypt(&[0; 12].into(), payload),
            )
        }
    };
    let mut ciphertext = sealed.expect("encrypt");
    let mut tag = ciphertext.split_off(ciphertext.len() - 16);

    // A tampering that authenticated decryption must catch (if the rest is well formed).
    let mut tampered = false;
    let mut ciphertext_text = None;
    let mut protected_text = protected.clone();
    match spec.tamper {
        Tamper::None | Tamper::EncryptedKeyText(_) => {}
        Tamper::Ciphertext { at, xor } => {
            if !ciphertext.is_empty() && xor != 0 {
                let at = usize::from(at) % ciphertext.len();
                ciphertext[at] ^= xor;
                tampered = true;
            }
        }
        Tamper::Tag { at, xor } => {
            if xor != 0 {
                tag[usize::from(at) % 16] ^= xor;
                tampered = true;
            }
        }
        Tamper::TagBytes(bytes) => {
            good &= bytes == tag;
            tag = bytes;
        }
        Tamper::CiphertextText(text) => {
            good &= text == f_ciphertext.encode(&ciphertext);
            ciphertext_text = Some(text);
        }
        Tamper::ProtectedPadding => {
            while protected_text.len() % 4 != 0 {
                protected_text.push('=');
            }
            tampered = protected_text != protected;
        }
    }
    let envelope = json!({
        "protected": protected_text,
        "iv": iv,
        "ciphertext": ciphertext_text.unwrap_or_else(|| f_ciphertext.encode(&ciphertext)),
        "tag": f_tag.encode(&tag),
    });
    let expect = match (good, tampered) {
        (false, _) => Expect::Whatever,
        (true, true) => Expect::Tampered,
        (true, false) => match serde_json::from_slice(&plaintext) {
            Ok(message) => Expect::Message { message, authcrypt },
            Err(_) => Expect::NotJson,
        },
    };
    (serde_json::to_vec(&envelope).expect("envelope"), expect)
}

fuzz_target!(|data: &[u8]| {
    let k = keys();
    let _ = unpack(data, &k.ours);

    let Ok(spec) = Spec::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    let (envelope, expect) = build(spec, k);
    let result = unpack(&envelope, &k.ours);
    let text = String::from_utf8_lossy(&envelope);
    match expect {
        Expect::Message { message, authcrypt } => {
            let unpacked = result.unwrap_or_else(|e| panic!("{e} for {text}"));
            assert_eq!(unpacked.message, message, "{text}");
            let sender = authcrypt.then(|| k.sender.verkey_base58());
            assert_eq!(unpacked.sender_verkey.as_deref(), sender, "{text}");
            assert_eq!(unpacked.recipient_verkey, k.ours.verkey_base58(), "{text}");
        }
        Expect::NotJson => assert!(
            matches!(result, Err(EnvelopeError::PlaintextNotJson(_))),
            "{result:?} for {text}"
        ),
        Expect::Tampered => assert!(
            matches!(result, Err(EnvelopeError::Decrypt("message"))),
            "{result:?} for {text}"
        ),
        Expect::Whatever => {}
    }
});
