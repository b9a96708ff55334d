//! Values the relay fills in per packet (circuit-id, remote-id, interface-id …):
//! text with `{interface}`, `{vlan}`, `{hostname}`, `{relay_mac}` and `{client_mac}`,
//! or fixed octets written `hex:01:02`.
//!
//! A hardware address alone (`{relay_mac}`, `{client_mac}`) is its 6 raw octets, as
//! switches send a remote-id and as a server matches it (`remote_id = "hex:…"`); within
//! other text, or written `{relay_mac:text}`, it is text (`02:00:5e:00:00:01`).

/// What a template can refer to, for one packet.
pub(crate) struct Fill<'a> {
    /// The downstream interface the request came in on.
    pub interface: &'a str,
    /// The relay's host name.
    pub hostname: &'a str,
    /// The downstream interface's hardware address.
    pub relay_mac: &'a [u8],
    /// The client's hardware address (DHCPv4 chaddr), when known.
    pub client_mac: &'a [u8],
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Interface,
    Vlan,
    Hostname,
    RelayMac,
    ClientMac,
    RelayMacText,
    ClientMacText,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    Parts(Vec<Part>),
    Octets(Vec<u8>),
    /// `{relay_mac}` alone: the interface's hardware address as raw octets.
    RelayMacOctets,
    /// `{client_mac}` alone: the client's hardware address as raw octets.
    ClientMacOctets,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Template(Kind);

impl Template {
    /// The downstream interface's name: the default interface-id.
    pub(crate) fn interface() -> Template {
        Template(Kind::Parts(vec![Part::Interface]))
    }

    pub(crate) fn parse(text: &str) -> Result<Template, String> {
        if let Some(hex) = text.strip_prefix("hex:") {
            return zerotouch_config::options::parse_hex(hex).map(|o| Template(Kind::Octets(o)));
        }
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find('{') {
            if open > 0 {
                parts.push(Part::Text(rest[..open].to_string()));
            }
            let Some(close) = rest[open..].find('}') else {
                return Err(format!("{text:?} has a '{{' without '}}'"));
            };
            let name = &rest[open + 1..open + close];
            parts.push(match name {
                "interface" => Part::Interface,
                "vlan" => Part::Vlan,
                "hostname" => Part::Hostname,
                "relay_mac" => Part::RelayMac,
                "client_mac" => Part::ClientMac,
                "relay_mac:text" => Part::RelayMacText,
                "client_mac:text" => Part::ClientMacText,
                other => {
                    return Err(format!(
                        "unknown field {{{other}}}, expected {{interface}}, {{vlan}}, {{hostname}}, {{relay_mac}}, {{client_mac}} (raw octets alone, text within text) or {{relay_mac:text}}, {{client_mac:text}}"
                    ));
                }
            });
            rest = &rest[open + close + 1..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_string()));
        }
        match parts.as_slice() {
            [] => Err("is empty, expected text, {fields} or hex:OCTETS".into()),
            [Part::RelayMac] => Ok(Template(Kind::RelayMacOctets)),
            [Part::ClientMac] => Ok(Template(Kind::ClientMacOctets)),
            _ => Ok(Template(Kind::Parts(parts))),
        }
    }

    /// The octets for one packet. `{vlan}` is the number after the last '.' of the
    /// interface name (`eth0.100`), empty when there is none.
    pub(crate) fn render(&self, f: &Fill<'_>) -> Vec<u8> {
        match &self.0 {
            Kind::Octets(o) => o.clone(),
            Kind::RelayMacOctets => f.relay_mac.to_vec(),
            Kind::ClientMacOctets => f.client_mac.to_vec(),
            Kind::Parts(parts) => {
                let mut out = String::new();
                for p in parts {
                    match p {
                        Part::Text(t) => out.push_str(t),
                        Part::Interface => out.push_str(f.interface),
                        Part::Vlan => {
                            if let Some((_, v)) = f.interface.rsplit_once('.') {
                                out.push_str(v);
                            }
                        }
                        Part::Hostname => out.push_str(f.hostname),
                        Part::RelayMac | Part::RelayMacText => {
                            zerotouch_proto::hex::push_colon(&mut out, f.relay_mac)
                        }
                        Part::ClientMac | Part::ClientMacText => {
                            zerotouch_proto::hex::push_colon(&mut out, f.client_mac)
                        }
                    }
                }
                out.into_bytes()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_fill_in_the_packet_fields() {
        let f = Fill {
            interface: "eth0.100",
            hostname: "leaf1",
            relay_mac: &[2, 0, 0, 0, 0, 1],
            client_mac: &[2, 0, 0, 0, 0, 9],
        };
        let t = Template::parse("{hostname}:{interface}:vlan{vlan}").unwrap();
        assert_eq!(t.render(&f), b"leaf1:eth0.100:vlan100");
        // Alone: the raw octets a server matches with remote_id = "hex:…".
        assert_eq!(
            Template::parse("{client_mac}").unwrap().render(&f),
            [2, 0, 0, 0, 0, 9]
        );
        assert_eq!(
            Template::parse("{relay_mac}").unwrap().render(&f),
            [2, 0, 0, 0, 0, 1]
        );
        // Text by choice, or within text.
        assert_eq!(
            Template::parse("{client_mac:text}").unwrap().render(&f),
            b"02:00:00:00:00:09"
        );
        assert_eq!(
            Template::parse("{relay_mac:text}").unwrap().render(&f),
            b"02:00:00:00:00:01"
        );
        assert_eq!(
            Template::parse("{hostname}-{relay_mac}")
                .unwrap()
                .render(&f),
            b"leaf1-02:00:00:00:00:01"
        );
        assert_eq!(Template::parse("hex:01:02").unwrap().render(&f), [1, 2]);
        assert!(
            Template::parse("{port}")
                .unwrap_err()
                .contains("unknown field {port}")
        );
        assert!(Template::parse("a{b").unwrap_err().contains("without"));
    }
}
