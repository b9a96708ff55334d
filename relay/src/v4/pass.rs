//! The DHCPv4 side of the relay's loop: each datagram of a batch is a client's request
//! from a downstream interface (forwarded upstream) or a server's reply to one of this
//! relay's giaddrs (delivered to the client, with an ARP entry so a unicast reply
//! reaches a client that has no address yet).

use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::AsRawFd;

use zerotouch_net::{BatchSocket, Outgoing, RecvBatch, V4, set_arp_entry};

use super::{Action, CLIENT_PORT, Hooks4, SERVER_PORT, deliver, forward, is_reply};
use crate::action::account;
use crate::config::RelayConfig;
use crate::service::{Pass, RelayFamily};

/// The DHCPv4 relay loop.
pub(crate) struct Loop4;

impl RelayFamily for Loop4 {
    const THREAD: &'static str = "relay4";
    const NAME: &'static str = "DHCPv4";
    type Socket = V4;
    type Hooks = Hooks4;

    fn bind() -> std::io::Result<BatchSocket<V4>> {
        BatchSocket::bind(SERVER_PORT, crate::service::TICK)
    }

    fn names(c: &RelayConfig) -> Vec<String> {
        c.relay4
            .as_ref()
            .map(|r| r.downstream.iter().map(|d| d.interface.clone()).collect())
            .unwrap_or_default()
    }

    fn relay(
        pass: &mut Pass<'_, Self>,
        batch: &RecvBatch<V4>,
        out: &mut Vec<Outgoing<V4>>,
    ) -> bool {
        let Some(relay) = pass.active.config.relay4.as_ref() else {
            return false;
        };
        let plugins = &*pass.active.plugins;
        let with_plugins = !plugins.instances().is_empty();
        let (shared, now) = (pass.shared, pass.now);
        for i in 0..batch.len() {
            let d = batch.get(i);
            // Replies arrive upstream, on interfaces not relayed for: not a reason to
            // look again.
            if !is_reply(d.data) && pass.links.served.refresh_for_unknown(d.ifindex) {
                pass.links.read_macs();
            }
            let links = &*pass.links;
            let action = if is_reply(d.data) {
                let giaddr = d
                    .data
                    .get(24..28)
                    .map(|g| Ipv4Addr::new(g[0], g[1], g[2], g[3]));
                let link = relay.downstream.iter().enumerate().find_map(|(index, c)| {
                    let link = links.link(index, c, &c.interface)?;
                    (link.giaddr() == giaddr).then_some(link)
                });
                match link {
                    Some(link) if with_plugins => {
                        match pass
                            .hooks
                            .reply(plugins, &link, d.data, &shared.counters, now)
                        {
                            Ok(data) => deliver(&link, &data),
                            Err(dropped) => dropped,
                        }
                    }
                    Some(link) => deliver(&link, d.data),
                    None => Action::Drop {
                        interface: "upstream".into(),
                        reason: "unknown_giaddr",
                    },
                }
            } else {
                match links.served.get(d.ifindex).and_then(|interface| {
                    let (index, c) = relay
                        .downstream
                        .iter()
                        .enumerate()
                        .find(|(_, c)| *c.interface == *interface.name)?;
                    links.link(index, c, &c.interface)
                }) {
                    Some(link) if with_plugins => {
                        pass.hooks
                            .request(plugins, relay, &link, &shared.hostname, &d, now)
                    }
                    Some(link) => forward(relay, &link, &shared.hostname, &d),
                    None => Action::Drop {
                        interface: "other".into(),
                        reason: "not_downstream",
                    },
                }
            };
            let arrived = links
                .served
                .get(d.ifindex)
                .map_or("upstream", |i| &*i.name)
                .to_string();
            shared.counters.count(&arrived, "received");
            let fd = pass.socket.as_raw_fd();
            account(
                action,
                &shared.counters,
                pass.limiter,
                &d.src,
                out,
                |iface, o, hw| {
                    let mut mac = [0u8; 6];
                    let ok = hw.len() == 6 && {
                        mac.copy_from_slice(hw);
                        set_arp_entry(fd, *o.dst.ip(), mac, iface).is_ok()
                    };
                    if !ok {
                        o.dst = SocketAddrV4::new(Ipv4Addr::BROADCAST, CLIENT_PORT);
                    }
                },
            );
        }
        true
    }
}
