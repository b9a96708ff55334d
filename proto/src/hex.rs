//! Octets as operators write them: `aa:bb:cc` (hardware addresses, client identifiers,
//! DUIDs, hashes). The digits are the `hex` crate's; this adds the colons.

/// `bytes` as lower-case hex pairs joined by `:` (`02:00:5e:00:00:fe`).
pub fn colon(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 3);
    push_colon(&mut out, bytes);
    out
}

/// Appends `bytes` as `aa:bb:cc` to `out`.
pub fn push_colon(out: &mut String, bytes: &[u8]) {
    let mut pair = [0u8; 2];
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            out.push(':');
        }
        // Two digits always fit a two-octet buffer.
        if hex::encode_to_slice([*b], &mut pair).is_ok() {
            out.extend(pair.iter().map(|&d| char::from(d)));
        }
    }
}

/// Octets from hex digits: `aa:bb:cc` (every octet two digits) or `aabbcc`.
pub fn decode(text: &str) -> Result<Vec<u8>, hex::FromHexError> {
    if text.contains(':') {
        if text.split(':').any(|pair| pair.len() != 2) {
            return Err(hex::FromHexError::OddLength);
        }
        hex::decode(text.replace(':', ""))
    } else {
        hex::decode(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colons_both_ways() {
        assert_eq!(colon(&[2, 0, 0x5e, 0, 0, 0xfe]), "02:00:5e:00:00:fe");
        assert_eq!(colon(&[]), "");
        assert_eq!(
            decode("02:00:5E:00:00:fe").unwrap(),
            [2, 0, 0x5e, 0, 0, 0xfe]
        );
        assert_eq!(decode("0102ab").unwrap(), [1, 2, 0xab]);
        assert!(decode("1:2").is_err(), "digits come in pairs");
        assert!(decode("zz").is_err());
    }
}
