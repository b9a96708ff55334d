//! The DHCPv4 relay (RFC 1542, 3046, 3527, 5107): requests from clients on a
//! downstream interface go to that interface's servers with giaddr, hops and option 82
//! set; replies to one of this relay's giaddrs go back to the client on the interface
//! they belong to, option 82 removed, addressed per the broadcast flag and ciaddr.

pub(crate) mod agent_info;
mod hooks;
mod pass;

pub(crate) use hooks::Hooks4;
pub(crate) use pass::Loop4;

use std::net::{Ipv4Addr, SocketAddrV4};

use zerotouch_net::{Datagram, Outgoing, V4};
use zerotouch_proto::v4::{self, BROADCAST_FLAG, MessageType, Op};

use crate::action::dropped;
use crate::config::{Downstream4, Policy, Relay4};
use crate::template::Fill;
use agent_info::{agent_info, encode_suboptions, with_agent_info, without_agent_info};

pub(crate) const SERVER_PORT: u16 = 67;
pub(crate) const CLIENT_PORT: u16 = 68;

/// Relay agent information sub-options (RFC 3046, 3527, 5107).
const CIRCUIT_ID: u8 = 1;
const REMOTE_ID: u8 = 2;
const LINK_SELECTION: u8 = 5;
const SERVER_ID_OVERRIDE: u8 = 11;

pub(crate) type Action = crate::action::Action<V4>;

/// A DHCPv4 downstream interface for this packet.
pub(crate) type Link<'a> = crate::link::Link<'a, Downstream4>;

impl Link<'_> {
    /// giaddr: configured, else the interface's first IPv4 address.
    pub(crate) fn giaddr(&self) -> Option<Ipv4Addr> {
        self.config
            .giaddr
            .or_else(|| self.interface.addrs.first().map(|n| n.addr()))
    }
}

/// A request from a client (or a relay below) on downstream `link`.
pub(crate) fn forward(
    cfg: &Relay4,
    link: &Link<'_>,
    hostname: &str,
    d: &Datagram<'_, V4>,
) -> Action {
    match v4::decode(d.data) {
        Ok(request) => forward_decoded(cfg, link, hostname, d, &request),
        Err(_) => dropped(&link.interface.name, "malformed"),
    }
}

/// `forward` of a request already decoded (`request` is `d.data`).
pub(crate) fn forward_decoded(
    cfg: &Relay4,
    link: &Link<'_>,
    hostname: &str,
    d: &Datagram<'_, V4>,
    request: &v4::Message,
) -> Action {
    let name = &*link.interface.name;
    if request.hops >= cfg.hop_limit {
        return dropped(name, "hop_limit");
    }
    let Some(giaddr) = link.giaddr() else {
        return dropped(name, "no_giaddr");
    };
    let mut data = d.data.to_vec();
    data[3] = request.hops + 1;
    // A request a relay below already stamped keeps its giaddr and option 82 (RFC 3046
    // §2.1.1: only the first relay adds them).
    let from_relay = !request.giaddr.is_unspecified();
    if !from_relay {
        data[24..28].copy_from_slice(&giaddr.octets());
        if let Some(info) = &link.config.agent_info {
            let present = agent_info(&data).is_some();
            let fill = Fill {
                interface: name,
                hostname,
                relay_mac: link.mac,
                client_mac: request.hwaddr(),
            };
            let mut subs: Vec<(u8, Vec<u8>)> = Vec::new();
            if let Some(t) = &info.circuit_id {
                subs.push((CIRCUIT_ID, t.render(&fill)));
            }
            if let Some(t) = &info.remote_id {
                subs.push((REMOTE_ID, t.render(&fill)));
            }
            if info.link_selection
                && let Some(net) = link.interface.addrs.first()
            {
                subs.push((LINK_SELECTION, net.network().octets().to_vec()));
            }
            if info.server_id_override
                && let Some(net) = link.interface.addrs.first()
            {
                subs.push((SERVER_ID_OVERRIDE, net.addr().octets().to_vec()));
            }
            let ours = encode_suboptions(&subs);
            let value = match (present, info.policy) {
                (true, Policy::Discard) => return dropped(name, "agent_info_present"),
                (true, Policy::Forward) => None,
                (true, Policy::Append) => {
                    Some([agent_info(&data).unwrap_or_default(), ours].concat())
                }
                (_, _) => Some(ours),
            };
            if let Some(value) = value.filter(|v| !v.is_empty()) {
                let max = request.max_message_size().map_or(576, usize::from).max(576);
                match with_agent_info(&data, &value, max) {
                    Some(edited) => data = edited,
                    // RFC 3046 §2.1: when it does not fit, forward without it.
                    None => {
                        return Action::Send {
                            interface: name.to_string(),
                            event: "forwarded_without_agent_info",
                            out: to_servers(link.config, &data),
                        };
                    }
                }
            }
        }
    }
    Action::Send {
        interface: name.to_string(),
        event: "forwarded",
        out: to_servers(link.config, &data),
    }
}

fn to_servers(cfg: &Downstream4, data: &[u8]) -> Vec<Outgoing<V4>> {
    cfg.servers
        .iter()
        .map(|&s| Outgoing {
            data: data.to_vec(),
            dst: SocketAddrV4::new(s, SERVER_PORT),
            ifindex: 0,
            src: Ipv4Addr::UNSPECIFIED,
        })
        .collect()
}

/// A reply from a server to `link`'s giaddr: to the client, without option 82.
pub(crate) fn deliver(link: &Link<'_>, data: &[u8]) -> Action {
    let name = &*link.interface.name;
    let Ok(reply) = v4::decode(data) else {
        return dropped(name, "malformed_reply");
    };
    let data = without_agent_info(data);
    let ifindex = link.interface.index;
    let to = |ip: Ipv4Addr| Outgoing {
        data: data.clone(),
        dst: SocketAddrV4::new(ip, CLIENT_PORT),
        ifindex,
        src: link.giaddr().unwrap_or(Ipv4Addr::UNSPECIFIED),
    };
    // RFC 2131 §4.1 (and RFC 1542 §5.4): ciaddr, then broadcast when asked for (and
    // for a NAK), else unicast to the new address.
    let nak = reply.message_type() == Some(MessageType::Nak);
    if !reply.ciaddr.is_unspecified() && !nak {
        return Action::Send {
            interface: name.to_string(),
            event: "delivered",
            out: vec![to(reply.ciaddr)],
        };
    }
    if reply.flags & BROADCAST_FLAG != 0 || nak || reply.yiaddr.is_unspecified() {
        return Action::Send {
            interface: name.to_string(),
            event: "delivered",
            out: vec![to(Ipv4Addr::BROADCAST)],
        };
    }
    Action::SendToNewClient {
        interface: name.to_string(),
        out: to(reply.yiaddr),
        hwaddr: reply.hwaddr().to_vec(),
    }
}

/// Whether a datagram is a request (to forward) or a reply (to deliver).
pub(crate) fn is_reply(data: &[u8]) -> bool {
    data.first().map(|&op| Op::from_u8(op)) == Some(Op::BootReply)
}

#[cfg(test)]
mod tests;
