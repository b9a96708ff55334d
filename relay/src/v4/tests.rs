//! The DHCPv4 relay's packet decisions, on packets built as clients and servers send
//! them.

use std::net::{Ipv4Addr, SocketAddrV4};

use zerotouch_net::{Datagram, Interface, V4};
use zerotouch_proto::v4::{self, BROADCAST_FLAG, Message, Op};

use super::*;
use crate::config::AgentInfo;
use crate::template::Template;

fn interface() -> Interface {
    Interface {
        name: "eth1.100".into(),
        index: 3,
        addrs: vec!["198.19.0.1/24".parse().unwrap()].into(),
        addrs6: Vec::new().into(),
    }
}

fn downstream(policy: Policy) -> Downstream4 {
    Downstream4 {
        interface: "eth1.100".into(),
        servers: vec![Ipv4Addr::new(198, 18, 0, 1), Ipv4Addr::new(198, 18, 0, 2)],
        giaddr: None,
        agent_info: Some(AgentInfo {
            circuit_id: Template::parse("{interface}").ok(),
            remote_id: Template::parse("vlan{vlan}").ok(),
            link_selection: true,
            server_id_override: true,
            policy,
        }),
    }
}

fn relay() -> Relay4 {
    Relay4 {
        hop_limit: 4,
        downstream: vec![],
        classes: vec![],
    }
}

fn request(with_82: bool, hops: u8) -> Vec<u8> {
    let mut m = Message::client(MessageType::Discover, 9, &[2, 0, 0, 0, 0, 7]);
    m.hops = hops;
    if with_82 {
        m.options.set(82, vec![1, 3, b'x', b'y', b'z']);
    }
    let mut b = m.to_bytes();
    b.resize(300, 0);
    b
}

fn datagram(data: &[u8]) -> Datagram<'_, V4> {
    Datagram {
        data,
        src: SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 68),
        ifindex: 3,
        local: Ipv4Addr::BROADCAST,
        dst: Ipv4Addr::BROADCAST,
    }
}

fn sent(a: Action) -> Vec<zerotouch_net::Outgoing<V4>> {
    match a {
        Action::Send { out, .. } => out,
        other => panic!("expected a send, got {other:?}"),
    }
}

#[test]
fn requests_go_to_every_server_with_giaddr_hops_and_option_82() {
    let (cfg, iface) = (downstream(Policy::Replace), interface());
    let link = Link {
        index: 0,
        config: &cfg,
        interface: &iface,
        mac: &[2, 0, 0, 0, 0, 1],
    };
    let data = request(false, 0);
    let out = sent(forward(&relay(), &link, "leaf1", &datagram(&data)));
    assert_eq!(out.len(), 2);
    assert_eq!(
        out[1].dst,
        SocketAddrV4::new(Ipv4Addr::new(198, 18, 0, 2), 67)
    );
    let m = v4::decode(&out[0].data).unwrap();
    assert_eq!(m.giaddr, Ipv4Addr::new(198, 19, 0, 1));
    assert_eq!(m.hops, 1);
    let info = m.relay_agent_info().unwrap();
    assert_eq!(info.circuit_id(), Some(&b"eth1.100"[..]));
    assert_eq!(info.remote_id(), Some(&b"vlan100"[..]));
    assert_eq!(info.link_selection(), Some(Ipv4Addr::new(198, 19, 0, 0)));
    assert_eq!(
        info.server_id_override(),
        Some(Ipv4Addr::new(198, 19, 0, 1))
    );
}

#[test]
fn the_option_82_policy_decides_for_requests_that_carry_one() {
    let iface = interface();
    let data = request(true, 0);
    let run = |p: Policy| {
        let cfg = downstream(p);
        let link = Link {
            index: 0,
            config: &cfg,
            interface: &iface,
            mac: &[],
        };
        forward(&relay(), &link, "h", &datagram(&data))
    };
    let info = |a: Action| {
        v4::decode(&sent(a)[0].data)
            .unwrap()
            .relay_agent_info()
            .unwrap()
    };
    assert_eq!(info(run(Policy::Forward)).circuit_id(), Some(&b"xyz"[..]));
    assert_eq!(
        info(run(Policy::Replace)).circuit_id(),
        Some(&b"eth1.100"[..])
    );
    // Append: theirs first, then ours, in one option.
    assert_eq!(info(run(Policy::Append)).circuit_id(), Some(&b"xyz"[..]));
    assert!(matches!(
        run(Policy::Discard),
        Action::Drop {
            reason: "agent_info_present",
            ..
        }
    ));
    // At the hop limit: dropped.
    let cfg = downstream(Policy::Replace);
    let link = Link {
        index: 0,
        config: &cfg,
        interface: &iface,
        mac: &[],
    };
    assert!(matches!(
        forward(&relay(), &link, "h", &datagram(&request(false, 4))),
        Action::Drop {
            reason: "hop_limit",
            ..
        }
    ));
    assert!(matches!(
        forward(&relay(), &link, "h", &datagram(&data[..100])),
        Action::Drop {
            reason: "malformed",
            ..
        }
    ));
}

#[test]
fn replies_reach_the_client_by_ciaddr_broadcast_or_new_address_without_option_82() {
    let (cfg, iface) = (downstream(Policy::Replace), interface());
    let link = Link {
        index: 0,
        config: &cfg,
        interface: &iface,
        mac: &[],
    };
    let reply = |ciaddr: Ipv4Addr, flags: u16, t: u8| {
        let mut m = Message::new_request(9, &[2, 0, 0, 0, 0, 7]);
        m.op = Op::BootReply;
        m.ciaddr = ciaddr;
        m.flags = flags;
        m.yiaddr = Ipv4Addr::new(198, 19, 0, 50);
        m.giaddr = Ipv4Addr::new(198, 19, 0, 1);
        m.options.set(53, vec![t]);
        m.options.set(82, vec![1, 1, b'a']);
        m.to_bytes()
    };
    let data = reply(Ipv4Addr::new(198, 19, 0, 50), 0, 5);
    let out = sent(deliver(&link, &data));
    assert_eq!(
        out[0].dst,
        SocketAddrV4::new(Ipv4Addr::new(198, 19, 0, 50), 68)
    );
    assert_eq!(out[0].ifindex, 3);
    assert!(
        v4::decode(&out[0].data)
            .unwrap()
            .relay_agent_info()
            .is_none()
    );
    let data = reply(Ipv4Addr::UNSPECIFIED, BROADCAST_FLAG, 2);
    assert_eq!(
        sent(deliver(&link, &data))[0].dst.ip(),
        &Ipv4Addr::BROADCAST
    );
    let data = reply(Ipv4Addr::new(198, 19, 0, 50), 0, 6);
    assert_eq!(
        sent(deliver(&link, &data))[0].dst.ip(),
        &Ipv4Addr::BROADCAST,
        "a NAK is broadcast"
    );
    let data = reply(Ipv4Addr::UNSPECIFIED, 0, 2);
    match deliver(&link, &data) {
        Action::SendToNewClient { out, hwaddr, .. } => {
            assert_eq!(out.dst.ip(), &Ipv4Addr::new(198, 19, 0, 50));
            assert_eq!(hwaddr, [2, 0, 0, 0, 0, 7]);
        }
        other => panic!("{other:?}"),
    }
}
