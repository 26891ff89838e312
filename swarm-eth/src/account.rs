//! Accounts: a secp256k1 key and its address. Keys come from hex, the environment, a
//! file or a mnemonic, and are never printed: `Debug` shows the address only, and no
//! error message carries key material.

use std::fmt;
use std::path::Path;

use alloy_primitives::{keccak256, Address, Signature, B256};
use coins_bip39::{English, Mnemonic};
use k256::ecdsa::SigningKey;

use crate::EthError;

/// An Ethereum account that can sign.
#[derive(Clone)]
pub struct Account {
    key: SigningKey,
    address: Address,
}

impl fmt::Debug for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Account")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

impl Account {
    fn from_key(key: SigningKey) -> Self {
        let address = Address::from_private_key(&key);
        Account { key, address }
    }

    /// From 32 bytes of hex (64 hex digits, `0x` optional, surrounding blanks ignored).
    pub fn from_hex_key(hex: &str) -> Result<Self, EthError> {
        let text = hex.trim();
        let digits = text.strip_prefix("0x").unwrap_or(text);
        if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(EthError::InvalidKey(
                "not hex (32 bytes of hex expected, 0x optional)".to_owned(),
            ));
        }
        if digits.len() != 64 {
            return Err(EthError::InvalidKey(format!(
                "{} hex digits where 64 (32 bytes) are expected",
                digits.len()
            )));
        }
        let bytes = alloy_primitives::hex::decode(digits)
            .map_err(|_| EthError::InvalidKey("not hex".to_owned()))?;
        let key = SigningKey::from_slice(&bytes).map_err(|_| {
            EthError::InvalidKey("not a valid secp256k1 private key (zero or too large)".to_owned())
        })?;
        Ok(Self::from_key(key))
    }

    /// From the hex key in an environment variable.
    pub fn from_env(var: &str) -> Result<Self, EthError> {
        let v = std::env::var(var)
            .map_err(|_| EthError::KeySource(format!("environment variable {var} is not set")))?;
        Self::from_hex_key(&v).map_err(|e| match e {
            EthError::InvalidKey(m) => EthError::InvalidKey(format!("{var}: {m}")),
            other => other,
        })
    }

    /// Every key in a file: one hex key a line (blank lines and `#` comments skipped), or
    /// a ganache keys file (`{"private_keys": {ADDRESS: KEY, ...}}`, as `peers/start
    /// ganache` writes it). Lines keep the file's order; a keys file's come in the order
    /// of their addresses.
    pub fn all_from_file(path: impl AsRef<Path>) -> Result<Vec<Self>, EthError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| EthError::KeySource(format!("{}: {e}", path.display())))?;
        let keys: Vec<String> = if text.trim_start().starts_with('{') {
            let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
                EthError::KeySource(format!("{}: not a keys JSON file: {e}", path.display()))
            })?;
            let map = v
                .get("private_keys")
                .and_then(serde_json::Value::as_object)
                .ok_or_else(|| {
                    EthError::KeySource(format!("{}: no \"private_keys\" object", path.display()))
                })?;
            map.values()
                .filter_map(|k| k.as_str().map(str::to_owned))
                .collect()
        } else {
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_owned)
                .collect()
        };
        if keys.is_empty() {
            return Err(EthError::KeySource(format!(
                "{}: no key in it",
                path.display()
            )));
        }
        keys.iter()
            .enumerate()
            .map(|(i, k)| {
                Self::from_hex_key(k).map_err(|e| match e {
                    EthError::InvalidKey(m) => {
                        EthError::InvalidKey(format!("{} key {}: {m}", path.display(), i + 1))
                    }
                    other => other,
                })
            })
            .collect()
    }

    /// The first key of a file (see [`all_from_file`](Self::all_from_file)).
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, EthError> {
        Self::all_from_file(path).map(|mut v| v.swap_remove(0))
    }

    /// Account `index` of a BIP-39 mnemonic (English), on the usual Ethereum path
    /// `m/44'/60'/0'/0/index`.
    pub fn from_mnemonic(phrase: &str, index: u32) -> Result<Self, EthError> {
        let words: Vec<&str> = phrase.split_whitespace().collect();
        let m = Mnemonic::<English>::new_from_phrase(&words.join(" "))
            .map_err(|e| EthError::InvalidMnemonic(e.to_string()))?;
        let path = format!("m/44'/60'/0'/0/{index}");
        let xpriv = m
            .derive_key(path.as_str(), None)
            .map_err(|e| EthError::InvalidMnemonic(e.to_string()))?;
        let key: &SigningKey = xpriv.as_ref();
        Ok(Self::from_key(key.clone()))
    }

    /// Account `index` of the mnemonic in an environment variable.
    pub fn from_mnemonic_env(var: &str, index: u32) -> Result<Self, EthError> {
        let v = std::env::var(var)
            .map_err(|_| EthError::KeySource(format!("environment variable {var} is not set")))?;
        Self::from_mnemonic(&v, index)
    }

    /// A fresh random key (from the thread's cryptographically secure RNG).
    pub fn random() -> Self {
        loop {
            let bytes: [u8; 32] = rand::random();
            if let Ok(key) = SigningKey::from_slice(&bytes) {
                return Self::from_key(key);
            }
        }
    }

    /// Test account `index` derived from this one (keccak of this key, a label and the
    /// index): the same main key gives the same test accounts on every run.
    pub fn derive(&self, index: u64) -> Self {
        let mut seed = Vec::with_capacity(32 + 24 + 8);
        seed.extend_from_slice(&self.key.to_bytes());
        seed.extend_from_slice(b"swarm-eth test account");
        seed.extend_from_slice(&index.to_be_bytes());
        let mut h = keccak256(&seed);
        loop {
            if let Ok(key) = SigningKey::from_slice(h.as_slice()) {
                return Self::from_key(key);
            }
            h = keccak256(h);
        }
    }

    /// The address.
    pub fn address(&self) -> Address {
        self.address
    }

    /// Sign a 32-byte hash (a transaction's signing hash).
    pub(crate) fn sign_hash(&self, hash: &B256) -> Result<Signature, EthError> {
        let (sig, recid) = self
            .key
            .sign_prehash_recoverable(hash.as_slice())
            .map_err(|e| EthError::InvalidKey(format!("signing failed: {e}")))?;
        Ok(Signature::from((sig, recid)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ganache's deterministic mnemonic and its account 0 (public test data).
    const MNEMONIC: &str =
        "myth like bonus scare over problem client lizard pioneer submit female collect";
    const KEY0: &str = "0x4f3edf983ac636a65a842ce7c78d9aa706d3b113bce9c46f30d7d21715b23b1d";
    const ADDR0: &str = "0x90F8bf6A479f320ead074411a4B0e7944Ea8c9C1";

    #[test]
    fn keys_and_mnemonics_give_the_known_address() {
        let a = Account::from_hex_key(KEY0).unwrap();
        assert_eq!(a.address().to_checksum(None), ADDR0);
        let m = Account::from_mnemonic(MNEMONIC, 0).unwrap();
        assert_eq!(m.address(), a.address());
        assert_ne!(
            Account::from_mnemonic(MNEMONIC, 1).unwrap().address(),
            a.address()
        );
        // Debug shows no key.
        let shown = format!("{a:?}");
        assert!(!shown.to_lowercase().contains(&KEY0[2..12]), "{shown}");
        // Derived accounts are stable and distinct.
        assert_eq!(a.derive(3).address(), a.derive(3).address());
        assert_ne!(a.derive(3).address(), a.derive(4).address());
    }

    #[test]
    fn bad_keys_are_named_errors() {
        let short = Account::from_hex_key("0x1234").unwrap_err().to_string();
        assert_eq!(
            short,
            "invalid private key: 4 hex digits where 64 (32 bytes) are expected"
        );
        let bad = Account::from_hex_key(&"zz".repeat(32))
            .unwrap_err()
            .to_string();
        assert!(bad.contains("not hex"), "{bad}");
        let zero = Account::from_hex_key(&"0".repeat(64))
            .unwrap_err()
            .to_string();
        assert!(zero.contains("not a valid secp256k1"), "{zero}");
        let m = Account::from_mnemonic("not a real mnemonic", 0).unwrap_err();
        assert!(matches!(m, EthError::InvalidMnemonic(_)), "{m:?}");
        let missing = Account::from_env("SWARM_ETH_TEST_NO_SUCH_VAR")
            .unwrap_err()
            .to_string();
        assert!(
            missing.contains("SWARM_ETH_TEST_NO_SUCH_VAR is not set"),
            "{missing}"
        );
    }
}
