//! `zerotouch-dhcpd sztp encode|decode`: the option payload for other servers'
//! configurations, and a check of payloads found in the field.

use std::fmt::Write;

use crate::codec::{self, Encoding};
use crate::uri::{BootstrapUri, UriError};

#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    #[error(transparent)]
    Uri(#[from] UriError),
    #[error("unknown encoding {0:?}, expected one of rfc8572, url-text, host-port")]
    Encoding(String),
    #[error("no URI given")]
    NoUri,
    #[error("not hex: {0}")]
    Hex(String),
    #[error("the bootstrap-server list is malformed: {0}")]
    List(#[from] codec::DecodeError),
    #[error("no valid URI in the list: a device discards the whole option (RFC 8572 §8.3)")]
    NoValidUri,
}

/// The payload of option 143 (and 136) for `uris`, as hex and as the configuration
/// lines of ISC dhcpd, Kea and Cisco IOS.
pub fn encode_report(uris: &[String], encoding: &str) -> Result<String, ToolError> {
    let encoding = Encoding::parse(encoding).ok_or_else(|| ToolError::Encoding(encoding.into()))?;
    if uris.is_empty() {
        return Err(ToolError::NoUri);
    }
    let parsed = uris
        .iter()
        .map(|u| BootstrapUri::parse(u))
        .collect::<Result<Vec<_>, _>>()?;
    let payload = codec::encode(&parsed, encoding);
    let hex = hex::encode(&payload);
    let colons = zerotouch_plugin::proto::hex::colon(&payload);
    let cisco = hex
        .as_bytes()
        .chunks(4)
        .map(|c| std::str::from_utf8(c).unwrap_or_default())
        .collect::<Vec<_>>()
        .join(".");
    let mut out = String::new();
    let _ = writeln!(out, "payload ({} octets): {hex}", payload.len());
    if payload.len() > 255 {
        let _ = writeln!(
            out,
            "note: over 255 octets, DHCPv4 servers must split it into several option 143 instances (RFC 3396)"
        );
    }
    let _ = writeln!(out, "ISC dhcpd:  option sztp-redirect code 143 = string;");
    let _ = writeln!(out, "            option sztp-redirect {colons};");
    let _ = writeln!(
        out,
        "Kea:        {{ \"code\": 143, \"space\": \"dhcp4\", \"csv-format\": false, \"data\": \"{hex}\" }}"
    );
    let _ = writeln!(out, "Cisco IOS:  option 143 hex {cisco}");
    let _ = writeln!(
        out,
        "zerotouch:  plugin.sztp = {{ uris = [{}] }}",
        uris.iter()
            .map(|u| format!("{u:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(out)
}

/// Decodes a payload given as hex (separators `:`, `.`, spaces and a `0x` prefix
/// allowed; a leading option header `8f LL` is recognised), listing each URI and
/// whether a device would use it.
pub fn decode_report(input: &str) -> Result<String, ToolError> {
    let cleaned: String = input
        .trim()
        .trim_start_matches("0x")
        .chars()
        .filter(|c| !matches!(c, ':' | '.' | ' ' | '\n' | '\t'))
        .collect();
    let mut bytes = hex::decode(&cleaned).map_err(|e| ToolError::Hex(e.to_string()))?;
    if bytes.len() >= 2 && bytes[0] == 143 && bytes[1] as usize == bytes.len() - 2 {
        bytes.drain(..2);
    }
    let entries = codec::decode(&bytes)?;
    let mut out = String::new();
    let mut valid = 0;
    for (i, e) in entries.iter().enumerate() {
        match e {
            Ok(u) => {
                valid += 1;
                let _ = writeln!(out, "{i}: {u}  (host {}, port {})", u.host(), u.port());
            }
            Err(why) => {
                let _ = writeln!(out, "{i}: ignored by devices: {why}");
            }
        }
    }
    if valid == 0 {
        return Err(ToolError::NoValidUri);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_prints_every_form() {
        let r = encode_report(&["https://sztp1.example.com".into()], "rfc8572").unwrap();
        assert!(
            r.contains("payload (27 octets): 001968747470733a2f2f"),
            "{r}"
        );
        assert!(r.contains("option sztp-redirect 00:19:68:74"), "{r}");
        assert!(r.contains("option 143 hex 0019.6874.7470"), "{r}");
        assert!(encode_report(&["http://x".into()], "rfc8572").is_err());
        assert!(encode_report(&[], "rfc8572").is_err());
    }

    #[test]
    fn decode_accepts_the_reference_example_with_its_header() {
        let r = decode_report("8f 34 00 19 68 74 74 70 73 3a 2f 2f 73 7a 74 70 31 2e 65 78 61 6d 70 6c 65 2e 63 6f 6d 00 17 68 74 74 70 73 3a 2f 2f 31 39 32 2e 30 2e 32 2e 31 30 3a 38 34 34 33").unwrap();
        assert!(
            r.contains("0: https://sztp1.example.com  (host sztp1.example.com, port 443)"),
            "{r}"
        );
        assert!(
            r.contains("1: https://192.0.2.10:8443  (host 192.0.2.10, port 8443)"),
            "{r}"
        );
        assert!(matches!(decode_report("00:05:68"), Err(ToolError::List(_))));
        assert!(matches!(decode_report("zz"), Err(ToolError::Hex(_))));
        // One URI that devices ignore: the option is void.
        let text = hex::encode([&[0u8, 17][..], b"http://a.example/"].concat());
        assert!(matches!(decode_report(&text), Err(ToolError::NoValidUri)));
    }
}
