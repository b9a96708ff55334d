//! DHCP as a source (RFC 8572 §4.3, §8): the bootstrap-server URIs of DHCPv4 option
//! 143 or DHCPv6 option 136, as ISC dhclient stores them in its lease file when told
//! of the option (`option sztp-redirect code 143 = string;`, `option
//! dhcp6.sztp-redirect code 136 = string;`). dhclient writes the list's octets as
//! colon-separated hex (a digit or two each), or as a quoted string with octal escapes
//! when they are all printable. The last lease in the file wins, as dhclient appends.
//! URIs a device must ignore (§8.3) are left out.

use zerotouch_sztp::option;

/// The option names dhclient is told, for DHCPv4 and DHCPv6.
pub const OPTION_NAMES: [&str; 2] = ["sztp-redirect", "dhcp6.sztp-redirect"];

/// The valid URIs of the last option 143 or 136 in the lease file `text`.
pub fn uris_in_lease_file(text: &str) -> Result<Vec<String>, String> {
    let value = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("option "))
        .filter_map(|l| {
            let (name, value) = l.split_once(char::is_whitespace)?;
            OPTION_NAMES
                .contains(&name)
                .then(|| value.trim().trim_end_matches(';').trim())
        })
        .next_back()
        .ok_or("no sztp-redirect option (143 or 136) in the lease file")?;
    let list = octets(value)?;
    let entries = option::decode(&list).map_err(|e| format!("option 143/136: {e}"))?;
    let uris: Vec<String> = entries
        .into_iter()
        .filter_map(Result::ok)
        .map(|u| u.to_string())
        .collect();
    if uris.is_empty() {
        return Err("option 143/136 holds no valid URI".into());
    }
    Ok(uris)
}

/// The octets of a dhclient option value: `0:19:68:…` or `"text\ooo…"`.
fn octets(value: &str) -> Result<Vec<u8>, String> {
    if let Some(quoted) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
        let mut out = Vec::with_capacity(quoted.len());
        let bytes = quoted.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'\\' && i + 1 < bytes.len() {
                let octal = &quoted[i + 1..(i + 4).min(quoted.len())];
                if octal.len() == 3 && octal.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
                    out.push(u8::from_str_radix(octal, 8).map_err(|e| e.to_string())?);
                    i += 4;
                } else {
                    out.push(bytes[i + 1]);
                    i += 2;
                }
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        return Ok(out);
    }
    value
        .split(':')
        .map(|pair| {
            u8::from_str_radix(pair, 16)
                .map_err(|_| format!("{value:?} is not colon-separated hex"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_lease_s_list_is_read_in_either_spelling() {
        // https://old.example, then https://new.example and ftp://x, as dhclient prints them.
        let file = "lease {\n  option sztp-redirect 0:13:68:74:74:70:73:3a:2f:2f:6f:6c:64:2e:65:78:61:6d:70:6c:65;\n}\n\
lease {\n  interface \"eth0\";\n  option sztp-redirect 0:13:68:74:74:70:73:3a:2f:2f:6e:65:77:2e:65:78:61:6d:70:6c:65:0:7:66:74:70:3a:2f:2f:78;\n}\n";
        assert_eq!(
            uris_in_lease_file(file).unwrap(),
            ["https://new.example"],
            "the last lease; the ftp URI ignored"
        );
        let quoted = "lease6 {\n  option dhcp6.sztp-redirect \"\\000\\021https://q.example\";\n}\n";
        assert_eq!(uris_in_lease_file(quoted).unwrap(), ["https://q.example"]);
        assert!(uris_in_lease_file("lease {\n}\n").is_err());
        assert!(uris_in_lease_file("option sztp-redirect zz:11;\n").is_err());
        assert!(uris_in_lease_file("option sztp-redirect 0:7:66:74:70:3a:2f:2f:78;\n").is_err());
    }
}
