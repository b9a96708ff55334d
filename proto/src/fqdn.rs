//! The client's name from a Client FQDN option: DHCPv6 option 39 (RFC 4704) and DHCPv4
//! option 81 (RFC 4702). Both carry a flags octet and a domain name; a DNS server keeps
//! the name's first label as the client's host name, the zone it is served in being the
//! server's choice.

/// DHCPv4 option 81's flag: the name is in DNS wire format, not ASCII (RFC 4702 §2.1).
const FLAG_E: u8 = 0x04;

/// The first label of the DNS wire-format name `wire` (possibly partial: RFC 4704 lets a
/// client send only its host name), when it is a host name: letters, digits and
/// hyphens, not starting or ending with a hyphen, 63 octets at most.
pub fn first_label_wire(wire: &[u8]) -> Option<&str> {
    let (&len, rest) = wire.split_first()?;
    let label = rest.get(..usize::from(len))?;
    host_label(label)
}

/// The first label of the text name `text` (`dev1.example.com`), when it is a host name.
pub fn first_label_text(text: &[u8]) -> Option<&str> {
    let text = text.strip_suffix(&[0]).unwrap_or(text);
    host_label(text.split(|&b| b == b'.').next()?)
}

/// The host name DHCPv6 option 39's value names: flags, then the name in wire format.
pub fn client_fqdn6(value: &[u8]) -> Option<&str> {
    first_label_wire(value.get(1..)?)
}

/// The host name DHCPv4 option 81's value names: flags, two obsolete RCODE octets, then
/// the name, in wire format when the E flag is set, else as ASCII text.
pub fn client_fqdn4(value: &[u8]) -> Option<&str> {
    let (&flags, _) = value.split_first()?;
    let name = value.get(3..)?;
    if flags & FLAG_E != 0 {
        first_label_wire(name)
    } else {
        first_label_text(name)
    }
}

fn host_label(label: &[u8]) -> Option<&str> {
    let ok = !label.is_empty()
        && label.len() <= 63
        && label
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
        && label.first() != Some(&b'-')
        && label.last() != Some(&b'-');
    // ASCII alphanumerics and hyphens: valid UTF-8.
    ok.then(|| std::str::from_utf8(label).ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_host_name_is_the_first_label_of_either_options_name() {
        // Option 39: flags (S), then `dev6.lab.example.` in wire format.
        let v6 = b"\x01\x04dev6\x03lab\x07example\x00";
        assert_eq!(client_fqdn6(v6), Some("dev6"));
        // A partial name: the host name alone, without the root.
        assert_eq!(client_fqdn6(b"\x00\x05host7"), Some("host7"));
        // Option 81, wire format (E) and text.
        assert_eq!(client_fqdn4(b"\x05\x00\x00\x04dev4\x00"), Some("dev4"));
        assert_eq!(client_fqdn4(b"\x01\xff\xffdev4.lab.example"), Some("dev4"));
        assert_eq!(client_fqdn4(b"\x00\x00\x00box\x00"), Some("box"));
        // Not host names: empty, cut short, a space, a leading hyphen.
        for bad in [
            &b"\x00"[..],
            b"\x00\x09short",
            b"\x00\x03a b",
            b"\x00\x03-ab",
            b"",
        ] {
            assert_eq!(client_fqdn6(bad), None, "{bad:?}");
        }
        assert_eq!(client_fqdn4(b"\x00\x00"), None);
    }
}
