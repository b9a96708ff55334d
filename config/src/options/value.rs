//! TOML value → option payload, by option type.

use std::net::{Ipv4Addr, Ipv6Addr};

use toml::Value;

use super::OptionType;

/// Encodes `value` as an option of type `ty`; the error says what was wrong and what
/// was expected.
pub fn encode_value(ty: OptionType, value: &Value) -> Result<Vec<u8>, String> {
    let wrong = || format!("got {}, expected {}", describe(value), ty.expected());
    match ty {
        OptionType::Ip => Ok(ip(value).ok_or_else(wrong)?.octets().to_vec()),
        OptionType::IpList => {
            let mut out = Vec::new();
            for v in one_or_many(value) {
                out.extend_from_slice(&ip(v).ok_or_else(wrong)?.octets());
            }
            if out.is_empty() {
                return Err(wrong());
            }
            Ok(out)
        }
        OptionType::U8 => Ok(vec![int::<u8>(value).ok_or_else(wrong)?]),
        OptionType::U16 => Ok(int::<u16>(value).ok_or_else(wrong)?.to_be_bytes().to_vec()),
        OptionType::U32 => Ok(int::<u32>(value).ok_or_else(wrong)?.to_be_bytes().to_vec()),
        OptionType::I32 => Ok(int::<i32>(value).ok_or_else(wrong)?.to_be_bytes().to_vec()),
        OptionType::U16List => {
            let mut out = Vec::new();
            for v in one_or_many(value) {
                out.extend_from_slice(&int::<u16>(v).ok_or_else(wrong)?.to_be_bytes());
            }
            Ok(out)
        }
        OptionType::Bool => Ok(vec![value.as_bool().ok_or_else(wrong)? as u8]),
        OptionType::String => {
            let s = value.as_str().ok_or_else(wrong)?;
            if s.is_empty() {
                return Err("got an empty string, expected at least one character".into());
            }
            Ok(s.as_bytes().to_vec())
        }
        OptionType::Hex => parse_hex(value.as_str().ok_or_else(wrong)?),
        OptionType::DomainList => {
            let mut out = Vec::new();
            for v in one_or_many(value) {
                encode_domain(v.as_str().ok_or_else(wrong)?, &mut out)?;
            }
            Ok(out)
        }
        OptionType::Routes => {
            let mut out = Vec::new();
            for v in one_or_many(value) {
                encode_route(v.as_str().ok_or_else(wrong)?, &mut out)?;
            }
            Ok(out)
        }
        OptionType::Ip6 => Ok(ip6(value).ok_or_else(wrong)?.octets().to_vec()),
        OptionType::Ip6List => {
            let mut out = Vec::new();
            for v in one_or_many(value) {
                out.extend_from_slice(&ip6(v).ok_or_else(wrong)?.octets());
            }
            if out.is_empty() {
                return Err(wrong());
            }
            Ok(out)
        }
        OptionType::Ntp6 => {
            // RFC 5908: sub-option 1 carries an address, 3 a name.
            let mut out = Vec::new();
            for v in one_or_many(value) {
                let text = v.as_str().ok_or_else(wrong)?;
                let (code, data) = match text.trim().parse::<Ipv6Addr>() {
                    Ok(a) => (1u16, a.octets().to_vec()),
                    Err(_) => {
                        let mut name = Vec::new();
                        encode_domain(text, &mut name)?;
                        (3u16, name)
                    }
                };
                push_suboption(&mut out, code, &data);
            }
            if out.is_empty() {
                return Err(wrong());
            }
            Ok(out)
        }
        OptionType::Vendor6 => encode_vendor6(value).ok_or_else(wrong)?,
    }
}

fn ip6(v: &Value) -> Option<Ipv6Addr> {
    v.as_str()?.trim().parse().ok()
}

fn push_suboption(out: &mut Vec<u8>, code: u16, data: &[u8]) {
    out.extend_from_slice(&code.to_be_bytes());
    out.extend_from_slice(&(data.len() as u16).to_be_bytes());
    out.extend_from_slice(data);
}

/// RFC 8415 §21.17: enterprise number, then sub-options as code, length, value. `None`
/// when the shape is wrong; an error for a wrong sub-option value.
fn encode_vendor6(value: &Value) -> Option<Result<Vec<u8>, String>> {
    let t = value.as_table()?;
    if t.keys().any(|k| k != "enterprise" && k != "options") {
        return None;
    }
    let enterprise = int::<u32>(t.get("enterprise")?)?;
    let mut out = enterprise.to_be_bytes().to_vec();
    for (code, v) in t.get("options")?.as_table()? {
        let Ok(code) = code.parse::<u16>() else {
            return Some(Err(format!(
                "sub-option key {code:?} is not a code from 0 to 65535"
            )));
        };
        let text = v.as_str()?;
        let data = match text.strip_prefix("hex:") {
            Some(h) => match parse_hex(h) {
                Ok(d) => d,
                Err(e) => return Some(Err(format!("sub-option {code}: {e}"))),
            },
            None => text.as_bytes().to_vec(),
        };
        push_suboption(&mut out, code, &data);
    }
    Some(Ok(out))
}

fn describe(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}"),
        other => format!("{} {}", other.type_str(), other),
    }
}

fn one_or_many(v: &Value) -> Vec<&Value> {
    match v {
        Value::Array(a) => a.iter().collect(),
        other => vec![other],
    }
}

fn ip(v: &Value) -> Option<Ipv4Addr> {
    v.as_str()?.trim().parse().ok()
}

fn int<T: TryFrom<i64>>(v: &Value) -> Option<T> {
    T::try_from(v.as_integer()?).ok()
}

/// Hex octets, with or without `:` separators.
pub fn parse_hex(s: &str) -> Result<Vec<u8>, String> {
    let digits: String = s
        .chars()
        .filter(|c| *c != ':' && !c.is_whitespace())
        .collect();
    match hex::decode(&digits) {
        Ok(octets) if !octets.is_empty() => Ok(octets),
        _ => Err(format!(
            "got {s:?}, expected an even number of hex digits such as \"01:02:ab\""
        )),
    }
}

/// Appends `name` in RFC 1035 label form.
fn encode_domain(name: &str, out: &mut Vec<u8>) -> Result<(), String> {
    let trimmed = name.trim_end_matches('.');
    if trimmed.is_empty() || trimmed.len() > 253 {
        return Err(format!(
            "got {name:?}, expected a domain name of 1 to 253 characters"
        ));
    }
    for label in trimmed.split('.') {
        if label.is_empty()
            || label.len() > 63
            || !label
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(format!(
                "label {label:?} of {name:?} is not 1 to 63 letters, digits, '-' or '_'"
            ));
        }
        out.push(label.len() as u8);
        out.extend_from_slice(label.as_bytes());
    }
    out.push(0);
    Ok(())
}

/// Appends one RFC 3442 route: width, significant destination octets, router.
fn encode_route(route: &str, out: &mut Vec<u8>) -> Result<(), String> {
    let bad = || {
        format!(
            "got {route:?}, expected \"DEST/LEN via ROUTER\" such as \"198.19.0.0/16 via 198.18.0.1\""
        )
    };
    let (dest, router) = route.split_once(" via ").ok_or_else(bad)?;
    let net: ipnet::Ipv4Net = dest.trim().parse().map_err(|_| bad())?;
    let router: Ipv4Addr = router.trim().parse().map_err(|_| bad())?;
    if net.network() != net.addr() {
        return Err(format!(
            "destination {dest} has host bits set; write {}",
            net.trunc()
        ));
    }
    let width = net.prefix_len();
    out.push(width);
    out.extend_from_slice(&net.network().octets()[..(width as usize).div_ceil(8)]);
    out.extend_from_slice(&router.octets());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(ty: OptionType, src: &str) -> Result<Vec<u8>, String> {
        let v: toml::Table = toml::from_str(&format!("v = {src}")).unwrap();
        encode_value(ty, &v["v"])
    }

    #[test]
    fn encodes_each_type() {
        assert_eq!(
            enc(OptionType::IpList, r#"["198.18.0.1", "198.18.0.2"]"#).unwrap(),
            [198, 18, 0, 1, 198, 18, 0, 2]
        );
        assert_eq!(
            enc(OptionType::IpList, r#""198.18.0.1""#).unwrap(),
            [198, 18, 0, 1]
        );
        assert_eq!(enc(OptionType::U16, "1500").unwrap(), [5, 220]);
        assert_eq!(enc(OptionType::I32, "-1").unwrap(), [255; 4]);
        assert_eq!(enc(OptionType::Bool, "true").unwrap(), [1]);
        assert_eq!(
            enc(OptionType::Hex, r#""00:1c:68""#).unwrap(),
            [0, 0x1c, 0x68]
        );
        assert_eq!(
            enc(OptionType::DomainList, r#"["eng.example", "example"]"#).unwrap(),
            b"\x03eng\x07example\x00\x07example\x00"
        );
        assert_eq!(
            enc(
                OptionType::Routes,
                r#"["198.19.0.0/16 via 198.18.0.1", "0.0.0.0/0 via 198.18.0.254"]"#
            )
            .unwrap(),
            [16, 198, 19, 198, 18, 0, 1, 0, 198, 18, 0, 254]
        );
    }

    #[test]
    fn encodes_the_dhcpv6_types() {
        assert_eq!(
            enc(OptionType::Ip6List, r#"["2001:db8::1", "2001:db8::2"]"#).unwrap(),
            [
                0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0x20, 1, 0xd, 0xb8, 0, 0,
                0, 0, 0, 0, 0, 0, 0, 0, 0, 2
            ]
        );
        let ntp = enc(OptionType::Ntp6, r#"["2001:db8::123", "ntp.example"]"#).unwrap();
        assert_eq!(&ntp[..4], [0, 1, 0, 16]);
        assert_eq!(&ntp[20..], b"\x00\x03\x00\x0d\x03ntp\x07example\x00");
        assert_eq!(
            enc(
                OptionType::Vendor6,
                r#"{ enterprise = 32473, options = { "1" = "ab", "2" = "hex:ff" } }"#
            )
            .unwrap(),
            [0, 0, 0x7e, 0xd9, 0, 1, 0, 2, b'a', b'b', 0, 2, 0, 1, 0xff]
        );
        assert!(
            enc(
                OptionType::Vendor6,
                r#"{ enterprise = 1, options = { "x" = "a" } }"#
            )
            .unwrap_err()
            .contains("not a code")
        );
        assert!(
            enc(OptionType::Ip6, r#""198.18.0.1""#)
                .unwrap_err()
                .contains("expected an IPv6 address")
        );
    }

    #[test]
    fn errors_say_what_was_expected() {
        assert_eq!(
            enc(OptionType::U8, "300").unwrap_err(),
            "got integer 300, expected an integer from 0 to 255"
        );
        assert!(
            enc(OptionType::Ip, r#""198.18.0.300""#)
                .unwrap_err()
                .contains("expected an IPv4 address")
        );
        assert!(
            enc(OptionType::Hex, r#""abc""#)
                .unwrap_err()
                .contains("even number of hex digits")
        );
        assert!(
            enc(OptionType::Routes, r#"["198.19.0.1/16 via 198.18.0.1"]"#)
                .unwrap_err()
                .contains("host bits")
        );
    }
}
