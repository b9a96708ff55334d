//! Telling DHCP clients about this DNS server, in any scope with one setting
//! (`plugin.dns = { advertise = true }`): its addresses as their DNS servers (DHCPv4
//! option 6, DHCPv6 23) and the zone as their domain (option 15 and the search list 119,
//! DHCPv6 24), to clients that ask for them, unless the scope already sets them.

use std::net::{IpAddr, SocketAddr};

use serde::Deserialize;
use zerotouch_plugin::proto::v4::OptionCode;
use zerotouch_plugin::proto::v6::OptionCode6;
use zerotouch_plugin::{PluginError, Reply4, Reply6};

/// `plugin.dns` in a scope of the server's configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DnsScope {
    /// Whether clients of this scope get this server and its domain.
    #[serde(default)]
    pub advertise: bool,
    /// The domain they get; the first zone's when absent.
    pub domain: Option<String>,
}

/// A domain in DNS wire format (RFC 1035 §3.1), for options 119 and DHCPv6 24.
pub(crate) fn wire_name(domain: &str) -> Result<Vec<u8>, PluginError> {
    let mut out = Vec::with_capacity(domain.len() + 2);
    for label in domain.trim_end_matches('.').split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err(PluginError::new(format!("{domain:?} is not a domain name")));
        }
        out.push(label.len() as u8);
        out.extend_from_slice(label.as_bytes());
    }
    out.push(0);
    Ok(out)
}

/// This server's addresses of one family (`octets` picks them), as an option's data.
fn servers(listen: &[SocketAddr], octets: impl Fn(IpAddr) -> Option<Vec<u8>>) -> Vec<u8> {
    listen
        .iter()
        .filter(|a| !a.ip().is_unspecified())
        .filter_map(|a| octets(a.ip()))
        .flatten()
        .collect()
}

/// A family's reply, as far as setting options goes.
trait Options {
    type Code: Copy;
    fn carries(&self, code: Self::Code) -> bool;
    fn set(&mut self, code: Self::Code, value: &[u8]) -> Result<(), PluginError>;
}

impl Options for Reply4 {
    type Code = u8;
    fn carries(&self, code: u8) -> bool {
        self.option(code).is_some()
    }
    fn set(&mut self, code: u8, value: &[u8]) -> Result<(), PluginError> {
        self.set_option(code, value)
    }
}

impl Options for Reply6 {
    type Code = u16;
    fn carries(&self, code: u16) -> bool {
        self.option(code).is_some()
    }
    fn set(&mut self, code: u16, value: &[u8]) -> Result<(), PluginError> {
        self.set_option(code, value)
    }
}

/// Sets each `(code, value)` the client asked for that `reply` does not carry yet.
fn set_missing<R: Options>(
    reply: &mut R,
    options: Vec<(R::Code, Vec<u8>)>,
    asked: impl Fn(R::Code) -> bool,
) -> Result<(), PluginError> {
    for (code, value) in options {
        if !value.is_empty() && asked(code) && !reply.carries(code) {
            reply.set(code, &value)?;
        }
    }
    Ok(())
}

/// Options 6, 15 and 119 in a DHCPv4 reply, those the client asked for and the reply
/// does not carry yet.
pub(crate) fn advertise4(
    reply: &mut Reply4,
    asked: impl Fn(u8) -> bool,
    listen: &[SocketAddr],
    domain: &str,
) -> Result<(), PluginError> {
    let v4 = |ip: IpAddr| match ip {
        IpAddr::V4(ip) => Some(ip.octets().to_vec()),
        IpAddr::V6(_) => None,
    };
    let name = domain.trim_end_matches('.').as_bytes().to_vec();
    let options = vec![
        (OptionCode::DOMAIN_NAME_SERVERS, servers(listen, v4)),
        (OptionCode::DOMAIN_NAME, name),
        (OptionCode::DOMAIN_SEARCH, wire_name(domain)?),
    ];
    set_missing(reply, options, asked)
}

/// Options 23 and 24 in a DHCPv6 reply, those the client asked for and the reply does
/// not carry yet.
pub(crate) fn advertise6(
    reply: &mut Reply6,
    asked: impl Fn(u16) -> bool,
    listen: &[SocketAddr],
    domain: &str,
) -> Result<(), PluginError> {
    let v6 = |ip: IpAddr| match ip {
        IpAddr::V6(ip) => Some(ip.octets().to_vec()),
        IpAddr::V4(_) => None,
    };
    let options = vec![
        (OptionCode6::DNS_SERVERS, servers(listen, v6)),
        (OptionCode6::DOMAIN_LIST, wire_name(domain)?),
    ];
    set_missing(reply, options, asked)
}

#[cfg(test)]
mod tests {
    use zerotouch_plugin::Draft4;
    use zerotouch_plugin::proto::v4::{Message, MessageType};
    use zerotouch_plugin::proto::v6::{Message6, MessageType6};

    use super::*;

    #[test]
    fn the_options_clients_ask_for_and_no_other() {
        let listen: Vec<SocketAddr> = vec![
            "198.18.0.1:53".parse().unwrap(),
            "[2001:db8::1]:53".parse().unwrap(),
        ];
        let req = Message::client(MessageType::Request, 1, &[2, 0, 0, 0, 0, 1]);
        let mut r = Reply4::new(Draft4::to_request(&req, MessageType::Ack));
        r.set_option(OptionCode::DOMAIN_NAME, b"set.by.the.scope")
            .unwrap();
        advertise4(
            &mut r,
            |c| c != OptionCode::DOMAIN_SEARCH,
            &listen,
            "sztp.example",
        )
        .unwrap();
        assert_eq!(r.option(6), Some(&[198, 18, 0, 1][..]));
        assert_eq!(
            r.option(15),
            Some(&b"set.by.the.scope"[..]),
            "the scope's own stays"
        );
        assert_eq!(r.option(119), None, "not asked for");

        let mut r6 = Reply6::new(Message6::new(MessageType6::Reply, 1));
        advertise6(&mut r6, |_| true, &listen, "sztp.example.").unwrap();
        let mut ip = [0u8; 16];
        ip.copy_from_slice(r6.option(23).unwrap());
        assert_eq!(
            std::net::Ipv6Addr::from(ip),
            "2001:db8::1".parse::<std::net::Ipv6Addr>().unwrap()
        );
        assert_eq!(r6.option(24), Some(&b"\x04sztp\x07example\x00"[..]));
        assert!(wire_name("a..b").is_err());
    }
}
