//! The DHCPv6 side of the relay's loop: each datagram of a batch is a message from a
//! downstream interface (wrapped in a RELAY-FORW upstream) or a server's RELAY-REPL
//! (unwrapped and delivered to the peer on the link it names).

use zerotouch_net::{BatchSocket, Outgoing, RecvBatch, V6};
use zerotouch_proto::v6::SERVER_PORT;

use super::{Action, Hooks6, Link6, deliver, forward, route, to_peer};
use crate::action::account;
use crate::config::RelayConfig;
use crate::service::{Links, Pass, RelayFamily, ifindex_of};

/// The RELAY-REPL message type.
const RELAY_REPL: u8 = 13;

/// The DHCPv6 relay loop.
pub(crate) struct Loop6;

impl RelayFamily for Loop6 {
    const THREAD: &'static str = "relay6";
    const NAME: &'static str = "DHCPv6";
    type Socket = V6;
    type Hooks = Hooks6;

    fn bind() -> std::io::Result<BatchSocket<V6>> {
        BatchSocket::bind_v6(SERVER_PORT, crate::service::TICK)
    }

    fn names(c: &RelayConfig) -> Vec<String> {
        c.relay6
            .as_ref()
            .map(|r| r.downstream.iter().map(|d| d.interface.clone()).collect())
            .unwrap_or_default()
    }

    fn interfaces_changed(links: &mut Links, socket: &BatchSocket<V6>) {
        links.served.join_dhcp_servers(socket);
    }

    fn relay(
        pass: &mut Pass<'_, Self>,
        batch: &RecvBatch<V6>,
        out: &mut Vec<Outgoing<V6>>,
    ) -> bool {
        let Some(relay) = pass.active.config.relay6.as_ref() else {
            return false;
        };
        let plugins = &*pass.active.plugins;
        let with_plugins = !plugins.instances().is_empty();
        let (shared, now) = (pass.shared, pass.now);
        let link_views: Vec<Link6<'_>> = relay
            .downstream
            .iter()
            .enumerate()
            .filter_map(|(index, c)| pass.links.link(index, c, &c.interface))
            .collect();
        for i in 0..batch.len() {
            let d = batch.get(i);
            let is_reply = d.data.first() == Some(&RELAY_REPL);
            let arrived = link_views.iter().find(|l| l.interface.index == d.ifindex);
            let action = if is_reply && with_plugins {
                match route(&link_views, &shared.hostname, d.data) {
                    Ok((link, header, inner)) => {
                        let peer = header.peer_address;
                        match pass
                            .hooks
                            .reply(plugins, link, peer, inner, &shared.counters, now)
                        {
                            Ok(inner) => to_peer(link, &header, &inner),
                            Err(dropped) => dropped,
                        }
                    }
                    Err(dropped) => dropped,
                }
            } else if is_reply {
                deliver(&link_views, &shared.hostname, &d)
            } else {
                match arrived {
                    Some(link) if with_plugins => pass.hooks.request(
                        plugins,
                        relay,
                        link,
                        &shared.hostname,
                        &d,
                        now,
                        ifindex_of,
                    ),
                    Some(link) => forward(relay, link, &shared.hostname, &d, ifindex_of),
                    None => {
                        pass.unknown_interface = Some(d.ifindex);
                        Action::Drop {
                            interface: "other".into(),
                            reason: "not_downstream",
                        }
                    }
                }
            };
            let arrived_name = arrived.map_or("upstream", |l| &*l.interface.name);
            shared.counters.count(arrived_name, "received6");
            account(
                action,
                &shared.counters,
                pass.limiter,
                &d.src,
                out,
                |_, _, _| {},
            );
        }
        true
    }
}
