//! The DHCPv6 relay's packet decisions: wrapping client and relay messages, hop
//! limits, and unwrapping replies to the right link.

use std::net::{Ipv6Addr, SocketAddrV6};

use zerotouch_net::{Datagram, Interface, V6};
use zerotouch_proto::v6::{Message6, MessageType6, OptionCode6, Packet6, RelayHeader};

use super::*;
use crate::config::{Downstream6, Upstream6};
use crate::template::Template;

fn interface(name: &str, index: u32, global: &str) -> Interface {
    Interface {
        name: name.into(),
        index,
        addrs: Vec::new().into(),
        addrs6: vec!["fe80::1/64".parse().unwrap(), global.parse().unwrap()].into(),
    }
}

fn downstream(name: &str) -> Downstream6 {
    Downstream6 {
        interface: name.into(),
        servers: vec![
            Upstream6 {
                address: "2001:db8:1::1".parse().unwrap(),
                interface: None,
            },
            Upstream6 {
                address: "ff05::1:3".parse().unwrap(),
                interface: Some("up0".into()),
            },
        ],
        interface_id: Some(Template::interface()),
        remote_id: Some((32473, Template::parse("{hostname}").unwrap())),
        subscriber_id: None,
    }
}

fn relay() -> Relay6 {
    Relay6 {
        hop_limit: 8,
        downstream: vec![],
        classes: vec![],
    }
}

fn from_client(data: &[u8], ifindex: u32) -> Datagram<'_, V6> {
    Datagram {
        data,
        src: SocketAddrV6::new("fe80::77".parse().unwrap(), 546, 0, ifindex),
        ifindex,
        local: Ipv6Addr::UNSPECIFIED,
        dst: "ff02::1:2".parse().unwrap(),
    }
}

/// A RELAY-REPL as the server sends it to this relay.
fn from_server(data: &[u8]) -> Datagram<'_, V6> {
    Datagram {
        data,
        src: SocketAddrV6::new("2001:db8:1::1".parse().unwrap(), 547, 0, 0),
        ifindex: 7,
        local: Ipv6Addr::UNSPECIFIED,
        dst: "2001:db8:1::2".parse().unwrap(),
    }
}

fn sent(a: Action) -> Vec<zerotouch_net::Outgoing<V6>> {
    match a {
        Action::Send { out, .. } => out,
        other => panic!("expected a send, got {other:?}"),
    }
}

#[test]
fn client_messages_go_up_in_a_relay_forw_and_replies_come_back_to_their_link() {
    let (c1, c2) = (downstream("eth1"), downstream("eth2"));
    let (i1, i2) = (
        interface("eth1", 3, "2001:db8:2::1/64"),
        interface("eth2", 4, "2001:db8:3::1/64"),
    );
    let links = [
        Link6 {
            index: 0,
            config: &c1,
            interface: &i1,
            mac: &[],
        },
        Link6 {
            index: 1,
            config: &c2,
            interface: &i2,
            mac: &[],
        },
    ];
    let solicit = Message6::client(MessageType6::Solicit, 5, &[0, 3, 0, 1, 2, 0, 0, 0, 0, 7]);
    let wire = solicit.to_bytes();
    let index = |n: &str| (n == "up0").then_some(9);
    let out = sent(forward(
        &relay(),
        &links[1],
        "leaf1",
        &from_client(&wire, 4),
        index,
    ));
    assert_eq!(out.len(), 2);
    assert_eq!(
        out[1].ifindex, 9,
        "the multicast group is sent on its interface"
    );
    let p = Packet6::decode(&out[0].data).unwrap();
    let r = &p.relays[0];
    assert_eq!(r.msg_type, MessageType6::RelayForw);
    assert_eq!(
        (r.hop_count, r.link_address),
        (0, "2001:db8:3::1".parse().unwrap())
    );
    assert_eq!(r.peer_address, "fe80::77".parse::<Ipv6Addr>().unwrap());
    assert_eq!(r.interface_id(), Some(&b"eth2"[..]));
    assert_eq!(
        r.options.get(37),
        Some(&[0u8, 0, 0x7e, 0xd9, b'l', b'e', b'a', b'f', b'1'][..])
    );
    assert_eq!(p.message, solicit);
    // The server's RELAY-REPL: to the client on eth2, by its interface-id.
    let mut reply = Message6::new(MessageType6::Advertise, 5);
    reply.options.push(OptionCode6::SERVERID, &[0, 3, 0, 1, 9]);
    let back = p.encode_reply(&reply);
    let out = sent(deliver(&links, "leaf1", &from_server(&back)));
    assert_eq!(out[0].ifindex, 4);
    assert_eq!(
        out[0].dst,
        SocketAddrV6::new("fe80::77".parse().unwrap(), 546, 0, 4)
    );
    assert_eq!(Message6::decode(&out[0].data, 0).unwrap(), reply);
}

#[test]
fn relay_messages_from_below_nest_with_hop_counts_up_to_the_limit() {
    let c = downstream("eth1");
    let i = interface("eth1", 3, "2001:db8:2::1/64");
    let link = Link6 {
        index: 0,
        config: &c,
        interface: &i,
        mac: &[],
    };
    let below = |hops: u8| {
        RelayHeader {
            msg_type: MessageType6::RelayForw,
            hop_count: hops,
            link_address: "2001:db8:9::1".parse().unwrap(),
            peer_address: "fe80::5".parse().unwrap(),
            options: Default::default(),
        }
        .wrap(&Message6::new(MessageType6::Solicit, 1).to_bytes())
    };
    let out = sent(forward(
        &relay(),
        &link,
        "h",
        &from_client(&below(2), 3),
        |_| None,
    ));
    let p = Packet6::decode(&out[0].data).unwrap();
    assert_eq!(p.relays.len(), 2);
    assert_eq!(p.relays[0].hop_count, 3);
    assert!(matches!(
        forward(&relay(), &link, "h", &from_client(&below(8), 3), |_| None),
        Action::Drop {
            reason: "hop_limit",
            ..
        }
    ));
    // A reply whose inner message is a RELAY-REPL goes to the relay below, port 547.
    let back = Packet6::decode(&out[0].data)
        .unwrap()
        .encode_reply(&Message6::new(MessageType6::Reply, 1));
    let d = from_server(&back);
    let out = sent(deliver(&[link], "h", &d));
    assert_eq!(out[0].dst.port(), 547);
    // The relay below sent from fe80::77: the peer-address this relay recorded.
    assert_eq!(out[0].dst.ip(), &"fe80::77".parse::<Ipv6Addr>().unwrap());
}

#[test]
fn what_cannot_be_relayed_is_dropped_with_a_reason() {
    let c = downstream("eth1");
    let i = interface("eth1", 3, "2001:db8:2::1/64");
    let link = Link6 {
        index: 0,
        config: &c,
        interface: &i,
        mac: &[],
    };
    let adv = Message6::new(MessageType6::Advertise, 1).to_bytes();
    assert!(matches!(
        forward(&relay(), &link, "h", &from_client(&adv, 3), |_| None),
        Action::Drop {
            reason: "unexpected_message_type",
            ..
        }
    ));
    assert!(matches!(
        forward(&relay(), &link, "h", &from_client(&[1, 0], 3), |_| None),
        Action::Drop {
            reason: "malformed",
            ..
        }
    ));
    // A reply naming an interface-id this relay does not have.
    let mut stranger = Packet6::decode(
        &RelayHeader {
            msg_type: MessageType6::RelayForw,
            hop_count: 0,
            link_address: Ipv6Addr::UNSPECIFIED,
            peer_address: "fe80::5".parse().unwrap(),
            options: Default::default(),
        }
        .wrap(&Message6::new(MessageType6::Solicit, 1).to_bytes()),
    )
    .unwrap();
    stranger.relays[0]
        .options
        .push(OptionCode6::INTERFACE_ID, b"eth9");
    let back = stranger.encode_reply(&Message6::new(MessageType6::Reply, 1));
    let d = from_server(&back);
    assert!(matches!(
        deliver(&[link], "h", &d),
        Action::Drop {
            reason: "unknown_link",
            ..
        }
    ));
}
