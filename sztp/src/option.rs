//! The bootstrap-server list of DHCPv4 option 143 and DHCPv6 option 136 (RFC 8572
//! §8.3): `uri-length` (2 octets, network order) then the URI, repeated, no count, and
//! the text encodings some agents expect instead.

use crate::uri::{BootstrapUri, UriError};

/// How the URIs are put in the option.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Encoding {
    /// RFC 8572 §8.3: the list of length-prefixed URIs.
    #[default]
    Rfc8572,
    /// The first URI as text with the RESTCONF path of `get-bootstrapping-data`
    /// appended: what the OPI sztp agent reads through `dhclient` (`code 143 = text`).
    UrlText,
    /// `host:port` of the first URI as text, which fl-sztp's client reads.
    HostPort,
}

impl Encoding {
    pub const NAMES: [&'static str; 3] = ["rfc8572", "url-text", "host-port"];

    pub fn parse(name: &str) -> Option<Encoding> {
        match name {
            "rfc8572" => Some(Encoding::Rfc8572),
            "url-text" => Some(Encoding::UrlText),
            "host-port" => Some(Encoding::HostPort),
            _ => None,
        }
    }
}

/// Where a device's RESTCONF client posts `get-bootstrapping-data` (RFC 8572 §7).
pub const GET_BOOTSTRAPPING_DATA: &str =
    "/restconf/operations/ietf-sztp-bootstrap-server:get-bootstrapping-data";

/// The option payload for `uris` (one logical option; the server splits it per RFC 3396
/// when it is longer than 255 octets).
pub fn encode(uris: &[BootstrapUri], encoding: Encoding) -> Vec<u8> {
    match encoding {
        Encoding::Rfc8572 => {
            let mut out = Vec::with_capacity(uris.iter().map(|u| 2 + u.as_str().len()).sum());
            for u in uris {
                out.extend_from_slice(&(u.as_str().len() as u16).to_be_bytes());
                out.extend_from_slice(u.as_str().as_bytes());
            }
            out
        }
        Encoding::UrlText => uris
            .first()
            .map(|u| format!("{}{GET_BOOTSTRAPPING_DATA}", u.as_str()).into_bytes())
            .unwrap_or_default(),
        Encoding::HostPort => uris
            .first()
            .map(|u| format!("{}:{}", u.host(), u.port()).into_bytes())
            .unwrap_or_default(),
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("entry {index} says {len} octets but only {left} remain")]
    Overrun {
        index: usize,
        len: usize,
        left: usize,
    },
    #[error("a lone octet after entry {index}: a uri-length takes two")]
    Trailing { index: usize },
    #[error("entry {index} is not UTF-8")]
    NotText { index: usize },
    #[error("the list is empty")]
    Empty,
}

/// One entry of a decoded list: the URI, valid or with the reason a device ignores it.
pub type Entry = Result<BootstrapUri, UriError>;

/// Parses a bootstrap-server list (reassembled first, for DHCPv4). Devices ignore
/// invalid URIs and discard the option when none is valid (§8.3); the entries say which.
pub fn decode(list: &[u8]) -> Result<Vec<Entry>, DecodeError> {
    let mut entries = Vec::new();
    let mut rest = list;
    while !rest.is_empty() {
        let index = entries.len();
        if rest.len() < 2 {
            return Err(DecodeError::Trailing { index });
        }
        let len = u16::from_be_bytes([rest[0], rest[1]]) as usize;
        rest = &rest[2..];
        if len > rest.len() {
            return Err(DecodeError::Overrun {
                index,
                len,
                left: rest.len(),
            });
        }
        let text = std::str::from_utf8(&rest[..len]).map_err(|_| DecodeError::NotText { index })?;
        entries.push(BootstrapUri::parse(text));
        rest = &rest[len..];
    }
    if entries.is_empty() {
        return Err(DecodeError::Empty);
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uris(list: &[&str]) -> Vec<BootstrapUri> {
        list.iter()
            .map(|u| BootstrapUri::parse(u).unwrap())
            .collect()
    }

    fn unhex(s: &str) -> Vec<u8> {
        hex::decode(s.split_whitespace().collect::<String>()).unwrap()
    }

    /// The constructed examples of the reference notes (§1.6), option header stripped.
    #[test]
    fn reference_examples_encode_and_decode() {
        let v6 = unhex(
            "00 19 68 74 74 70 73 3a 2f 2f 73 7a 74 70 31 2e 65 78 61 6d 70 6c 65 2e 63 6f 6d
             00 1a 68 74 74 70 73 3a 2f 2f 5b 32 30 30 31 3a 64 62 38 3a 3a 35 5d 3a 38 34 34 33",
        );
        assert_eq!(v6.len(), 0x37);
        let two = uris(&["https://sztp1.example.com", "https://[2001:db8::5]:8443"]);
        assert_eq!(encode(&two, Encoding::Rfc8572), v6);
        let back: Vec<_> = decode(&v6)
            .unwrap()
            .into_iter()
            .map(Result::unwrap)
            .collect();
        assert_eq!(back, two);

        let v4 = unhex(
            "00 19 68 74 74 70 73 3a 2f 2f 73 7a 74 70 31 2e 65 78 61 6d 70 6c 65 2e 63 6f 6d
             00 17 68 74 74 70 73 3a 2f 2f 31 39 32 2e 30 2e 32 2e 31 30 3a 38 34 34 33",
        );
        assert_eq!(v4.len(), 0x34);
        assert_eq!(
            encode(
                &uris(&["https://sztp1.example.com", "https://192.0.2.10:8443"]),
                Encoding::Rfc8572
            ),
            v4
        );
    }

    #[test]
    fn malformed_lists_say_where() {
        assert_eq!(decode(&[]), Err(DecodeError::Empty));
        assert_eq!(
            decode(&[0, 5, b'a']),
            Err(DecodeError::Overrun {
                index: 0,
                len: 5,
                left: 1
            })
        );
        let mut one = encode(&uris(&["https://a.example"]), Encoding::Rfc8572);
        one.push(0);
        assert_eq!(decode(&one), Err(DecodeError::Trailing { index: 1 }));
        // An invalid URI is an entry a device ignores, not a broken list.
        let mut list = vec![0, 17];
        list.extend_from_slice(b"http://a.example/");
        let entries = decode(&list).unwrap();
        assert!(matches!(entries[0], Err(UriError::NotHttps(_))));
    }

    #[test]
    fn text_encodings_for_agents_that_read_text() {
        let u = uris(&["https://bs.example:8443", "https://other.example"]);
        assert_eq!(
            encode(&u, Encoding::UrlText),
            b"https://bs.example:8443/restconf/operations/ietf-sztp-bootstrap-server:get-bootstrapping-data"
        );
        assert_eq!(encode(&u, Encoding::HostPort), b"bs.example:8443");
        assert_eq!(
            encode(&uris(&["https://[2001:db8::5]"]), Encoding::HostPort),
            b"[2001:db8::5]:443"
        );
    }
}
