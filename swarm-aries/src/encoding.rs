//! Base64 as DIDComm v1 peers write it: URL-safe unpadded out; URL-safe or standard, padded
//! or not, in.

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;

const LENIENT: GeneralPurposeConfig = GeneralPurposeConfig::new()
    .with_encode_padding(false)
    .with_decode_padding_mode(DecodePaddingMode::Indifferent)
    .with_decode_allow_trailing_bits(true);

const URL_SAFE: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, LENIENT);
const STANDARD: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, LENIENT);

/// URL-safe base64 without padding, as ACA-Py and askar write it.
pub(crate) fn b64_encode(bytes: &[u8]) -> String {
    URL_SAFE.encode(bytes)
}

/// Decodes URL-safe or standard base64, padded or not. `None` if it is neither.
pub(crate) fn b64_decode(text: &str) -> Option<Vec<u8>> {
    let text = text.trim();
    if text.bytes().any(|b| b == b'+' || b == b'/') {
        STANDARD.decode(text).ok()
    } else {
        URL_SAFE.decode(text).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_every_flavour() {
        let bytes = [0xfb_u8, 0xff, 0xfe, 0x01];
        for text in ["-__-AQ", "-__-AQ==", "+//+AQ", "+//+AQ=="] {
            assert_eq!(b64_decode(text).as_deref(), Some(&bytes[..]), "{text}");
        }
        assert_eq!(b64_encode(&bytes), "-__-AQ");
    }

    #[test]
    fn rejects_garbage() {
        assert_eq!(b64_decode("not base64!"), None);
        assert_eq!(b64_decode("-_+/"), None);
        assert_eq!(b64_decode("A"), None);
    }
}
