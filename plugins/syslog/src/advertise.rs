//! Telling DHCPv4 clients of this receiver, in any scope with one setting
//! (`plugin.syslog = { advertise = true }`): its IPv4 listen addresses as their log
//! servers (option 7), to clients that ask for it, unless the scope already sets it.
//! DHCPv6 has no standard option for a syslog server.

use std::net::{IpAddr, SocketAddr};

use serde::Deserialize;
use zerotouch_plugin::proto::v4::OptionCode;
use zerotouch_plugin::{PluginError, Reply4};

/// `plugin.syslog` in a scope of the server's configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyslogScope {
    /// Whether clients of this scope get this receiver as their log server.
    #[serde(default)]
    pub advertise: bool,
}

/// Option 7 with the IPv4 addresses of `listen` (a wildcard address names no server),
/// when the client asked for it and `reply` does not carry it yet.
pub(crate) fn advertise4(
    reply: &mut Reply4,
    asked: bool,
    listen: &[SocketAddr],
) -> Result<(), PluginError> {
    if !asked || reply.option(OptionCode::LOG_SERVERS).is_some() {
        return Ok(());
    }
    let servers: Vec<u8> = listen
        .iter()
        .filter_map(|a| match a.ip() {
            IpAddr::V4(ip) if !ip.is_unspecified() => Some(ip.octets()),
            _ => None,
        })
        .flatten()
        .collect();
    if servers.is_empty() {
        return Ok(());
    }
    reply.set_option(OptionCode::LOG_SERVERS, &servers)
}

#[cfg(test)]
mod tests {
    use zerotouch_plugin::Draft4;
    use zerotouch_plugin::proto::v4::{Message, MessageType};

    use super::*;

    #[test]
    fn option_7_names_the_ipv4_listen_addresses_to_clients_that_ask() {
        let listen: Vec<SocketAddr> = vec![
            "198.18.0.1:514".parse().unwrap(),
            "0.0.0.0:1514".parse().unwrap(),
            "[2001:db8::1]:514".parse().unwrap(),
        ];
        let req = Message::client(MessageType::Request, 1, &[2, 0, 0, 0, 0, 1]);
        let ack = || Reply4::new(Draft4::to_request(&req, MessageType::Ack));
        let mut r = ack();
        advertise4(&mut r, true, &listen).unwrap();
        assert_eq!(r.option(7), Some(&[198, 18, 0, 1][..]));
        let mut r = ack();
        advertise4(&mut r, false, &listen).unwrap();
        assert_eq!(r.option(7), None, "not asked for");
        let mut r = ack();
        r.set_option(7, &[198, 18, 0, 9]).unwrap();
        advertise4(&mut r, true, &listen).unwrap();
        assert_eq!(
            r.option(7),
            Some(&[198, 18, 0, 9][..]),
            "the scope's own stays"
        );
    }
}
