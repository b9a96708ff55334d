//! The DHCPv6 relay (RFC 8415 §19): a client message, or a RELAY-FORW from a relay
//! below, arriving on a downstream interface goes upstream inside a RELAY-FORW
//! (link-address, peer-address, interface-id and the optional remote-id and
//! subscriber-id); a RELAY-REPL from a server is unwrapped one level and its message
//! delivered to the peer on the link the interface-id (or link-address) names.

use std::net::{Ipv6Addr, SocketAddrV6};

use zerotouch_net::{Datagram, Outgoing, V6};
use zerotouch_proto::v6::{CLIENT_PORT, MessageType6, Options6, RelayHeader, SERVER_PORT};

use crate::action::dropped;
use crate::config::{Downstream6, Relay6};
use crate::template::Fill;

mod hooks;
mod pass;

pub(crate) use hooks::Hooks6;
pub(crate) use pass::Loop6;

/// Relay agent remote-id (RFC 4649) and subscriber-id (RFC 4580).
const REMOTE_ID: u16 = 37;
const SUBSCRIBER_ID: u16 = 38;

pub(crate) type Action = crate::action::Action<V6>;

/// A DHCPv6 downstream interface for this packet.
pub(crate) type Link6<'a> = crate::link::Link<'a, Downstream6>;

impl Link6<'_> {
    /// A global address of the interface: the link-address of its RELAY-FORWs.
    pub(crate) fn link_address(&self) -> Option<Ipv6Addr> {
        self.interface
            .addrs6
            .iter()
            .map(|n| n.addr())
            .find(|a| !a.is_unicast_link_local() && !a.is_loopback() && !a.is_multicast())
    }

    /// The interface-id this relay puts in (and expects back in) its messages.
    pub(crate) fn interface_id(&self, hostname: &str) -> Option<Vec<u8>> {
        let fill = Fill {
            interface: &self.interface.name,
            hostname,
            relay_mac: self.mac,
            client_mac: &[],
        };
        self.config.interface_id.as_ref().map(|t| t.render(&fill))
    }
}

/// A message from downstream `link`: wrapped in a RELAY-FORW for every server.
pub(crate) fn forward(
    cfg: &Relay6,
    link: &Link6<'_>,
    hostname: &str,
    d: &Datagram<'_, V6>,
    ifindex_of: impl Fn(&str) -> Option<u32>,
) -> Action {
    let name = &*link.interface.name;
    let Some(&first) = d.data.first() else {
        return dropped(name, "malformed");
    };
    let hop_count = match MessageType6::from_u8(first) {
        MessageType6::RelayForw => {
            let Ok((inner, _)) = RelayHeader::decode_level(d.data) else {
                return dropped(name, "malformed");
            };
            if inner.hop_count >= cfg.hop_limit {
                return dropped(name, "hop_limit");
            }
            inner.hop_count + 1
        }
        MessageType6::Solicit
        | MessageType6::Request
        | MessageType6::Confirm
        | MessageType6::Renew
        | MessageType6::Rebind
        | MessageType6::Release
        | MessageType6::Decline
        | MessageType6::InformationRequest => {
            if d.data.len() < 4 {
                return dropped(name, "malformed");
            }
            0
        }
        _ => return dropped(name, "unexpected_message_type"),
    };
    let link_address = link.link_address();
    let interface_id = link.interface_id(hostname);
    if link_address.is_none() && interface_id.is_none() {
        // The server could not tell the link: RFC 8415 §19.1.1 requires one of them.
        return dropped(name, "no_link_address");
    }
    let fill = Fill {
        interface: name,
        hostname,
        relay_mac: link.mac,
        client_mac: &[],
    };
    let mut options = Options6::default();
    if let Some(id) = &interface_id {
        options.push(zerotouch_proto::v6::OptionCode6::INTERFACE_ID, id);
    }
    if let Some((enterprise, t)) = &link.config.remote_id {
        let mut v = enterprise.to_be_bytes().to_vec();
        v.extend_from_slice(&t.render(&fill));
        options.push(REMOTE_ID, &v);
    }
    if let Some(t) = &link.config.subscriber_id {
        options.push(SUBSCRIBER_ID, &t.render(&fill));
    }
    let header = RelayHeader {
        msg_type: MessageType6::RelayForw,
        hop_count,
        link_address: link_address.unwrap_or(Ipv6Addr::UNSPECIFIED),
        peer_address: *d.src.ip(),
        options,
    };
    let data = header.wrap(d.data);
    let out = link
        .config
        .servers
        .iter()
        .map(|s| {
            let ifindex = s.interface.as_deref().and_then(&ifindex_of).unwrap_or(0);
            Outgoing {
                data: data.clone(),
                dst: SocketAddrV6::new(s.address, SERVER_PORT, 0, ifindex),
                ifindex,
                src: Ipv6Addr::UNSPECIFIED,
            }
        })
        .collect();
    Action::Send {
        interface: name.to_string(),
        event: "forwarded",
        out,
    }
}

/// A RELAY-REPL from a server: its message to the peer on the link it names. `links`
/// are the downstream interfaces; the interface-id decides, else the link-address.
pub(crate) fn deliver(links: &[Link6<'_>], hostname: &str, d: &Datagram<'_, V6>) -> Action {
    match route(links, hostname, d.data) {
        Ok((link, header, inner)) => to_peer(link, &header, inner),
        Err(dropped) => dropped,
    }
}

/// The link a RELAY-REPL is for, its header and the message it carries (for the client,
/// or a RELAY-REPL for a relay below).
pub(crate) fn route<'l, 'a, 'd>(
    links: &'l [Link6<'a>],
    hostname: &str,
    data: &'d [u8],
) -> Result<(&'l Link6<'a>, RelayHeader, &'d [u8]), Action> {
    let Ok((header, inner)) = RelayHeader::decode_level(data) else {
        return Err(dropped("upstream", "malformed_reply"));
    };
    let link = match header.interface_id() {
        Some(id) => links
            .iter()
            .find(|l| l.interface_id(hostname).as_deref() == Some(id)),
        None => links.iter().find(|l| {
            !header.link_address.is_unspecified()
                && l.interface
                    .addrs6
                    .iter()
                    .any(|n| n.contains(&header.link_address))
        }),
    };
    let Some(link) = link else {
        return Err(dropped("upstream", "unknown_link"));
    };
    if inner.is_empty() {
        return Err(dropped(&link.interface.name, "malformed_reply"));
    }
    Ok((link, header, inner))
}

/// `inner` to the peer `header` names, on `link`.
pub(crate) fn to_peer(link: &Link6<'_>, header: &RelayHeader, inner: &[u8]) -> Action {
    let Some(&first) = inner.first() else {
        return dropped(&link.interface.name, "malformed_reply");
    };
    // The peer is a relay below when the message inside is itself a RELAY-REPL.
    let port = if MessageType6::from_u8(first) == MessageType6::RelayRepl {
        SERVER_PORT
    } else {
        CLIENT_PORT
    };
    let ifindex = link.interface.index;
    Action::Send {
        interface: link.interface.name.to_string(),
        event: "delivered",
        out: vec![Outgoing {
            data: inner.to_vec(),
            dst: SocketAddrV6::new(header.peer_address, port, 0, ifindex),
            ifindex,
            src: Ipv6Addr::UNSPECIFIED,
        }],
    }
}

#[cfg(test)]
mod tests;
