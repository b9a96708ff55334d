//! TOML value → option payload, by option type.

use std::net::Ipv4Addr;

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
    }
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
    if digits.is_empty()
        || !digits.len().is_multiple_of(2)
        || !digits.chars().all(|c| c.is_ascii_hexdigit())
    {
        return Err(format!(
            "got {s:?}, expected an even number of hex digits such as \"01:02:ab\""
        ));
    }
    Ok((0..digits.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&digits[i..i + 2], 16).unwrap_or(0))
        .collect())
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
