//! Packet-level tests of the DHCPv4 handler: real encoded requests in, decoded replies out.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::Path;
use std::sync::Arc;

use zerotouch_proto::v4::{self, Message, MessageType, RelayAgentInfo};

use super::*;
use crate::config;
use crate::lease::{LeaseIndex, LeaseState};
use crate::stats::Reason;

pub(super) const CONFIG: &str = r#"
[dhcp4]
interfaces = ["veth0"]
authoritative = true
lease_time = 600
max_lease_time = 1200
min_lease_time = 60

[dhcp4.options]
domain-name-servers = ["198.18.0.53"]
domain-name = "global.example"
ntp-servers = { value = ["198.18.0.123"], always = true }

[[dhcp4.class]]
name = "ztp"
match = { option = 60, prefix = "ZTP-" }
options = { domain-name = "class.example" }
boot_file_name = "ztp/boot.py"

[[dhcp4.subnet]]
subnet = "198.18.0.0/24"
options = { routers = ["198.18.0.1"], domain-name = "subnet.example" }
next_server = "198.18.0.69"
server_hostname = "tftp1"
boot_file_name = "pxelinux.0"
[[dhcp4.subnet.pool]]
range = "198.18.0.100 - 198.18.0.102"
[[dhcp4.subnet.pool]]
range = "198.18.0.200 - 198.18.0.200"
classes = ["ztp"]

[[dhcp4.subnet]]
subnet = "198.19.0.0/24"
options = { routers = ["198.19.0.1"] }
[[dhcp4.subnet.pool]]
range = "198.19.0.10 - 198.19.0.20"

[[dhcp4.subnet]]
subnet = "198.19.1.0/24"
shared_network = "floor2"
[[dhcp4.subnet.pool]]
range = "198.19.1.10 - 198.19.1.10"
[[dhcp4.subnet]]
subnet = "198.19.2.0/24"
shared_network = "floor2"
[[dhcp4.subnet.pool]]
range = "198.19.2.10 - 198.19.2.11"

[[dhcp4.host]]
hw_address = "02:00:00:00:00:aa"
address = "198.18.0.50"
hostname = "switch-a"
options = { domain-name = "host.example" }

[[dhcp4.host]]
circuit_id = "sw1:ge-0/0/7"
address = "198.19.0.77"
"#;

pub(super) fn handler_with(text: &str) -> Dhcp4Handler {
    let cfg = config::parse(text, Path::new("test.toml")).unwrap();
    Dhcp4Handler::new(
        Arc::new(cfg.dhcp4.unwrap()),
        LeaseIndex::new(),
        Default::default(),
    )
}

fn handler() -> Dhcp4Handler {
    handler_with(CONFIG)
}

pub(super) fn ingress() -> Ingress {
    Ingress {
        ifindex: 7,
        ifname: "veth0".into(),
        if_addrs: vec!["198.18.0.1/24".parse().unwrap()].into(),
        local: Ipv4Addr::new(198, 18, 0, 1),
        dst: Ipv4Addr::BROADCAST,
        src: SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 68),
    }
}

pub(super) const SERVER: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);

pub(super) fn msg(t: MessageType, mac: u8) -> Message {
    let mut m = Message::client(t, 0x1000 + mac as u32, &[2, 0, 0, 0, 0, mac]);
    m.options.set(55, vec![1, 3, 6, 15, 12]);
    m
}

pub(super) fn run(h: &mut Dhcp4Handler, m: &Message, now: u64) -> Outcome {
    h.handle(&m.to_bytes(), &ingress(), now)
}

pub(super) fn reply(o: &Outcome) -> Message {
    match o {
        Outcome::Reply { reply, .. } => v4::decode(&reply.bytes).unwrap(),
        other => panic!("expected a reply, got {other:?}"),
    }
}

fn dora(h: &mut Dhcp4Handler, mut discover: Message, now: u64) -> (Message, Outcome) {
    let offer = reply(&run(h, &discover, now));
    assert_eq!(offer.message_type(), Some(MessageType::Offer));
    discover.options.set(53, vec![3]);
    discover.options.set(50, offer.yiaddr.octets().to_vec());
    discover
        .options
        .set(54, offer.server_identifier().unwrap().octets().to_vec());
    let out = run(h, &discover, now);
    (reply(&out), out)
}

#[test]
fn discover_request_gives_an_ack_with_a_durable_lease() {
    let mut h = handler();
    let (ack, out) = dora(&mut h, msg(MessageType::Discover, 1), 1000);
    assert_eq!(ack.message_type(), Some(MessageType::Ack));
    assert_eq!(ack.yiaddr, Ipv4Addr::new(198, 18, 0, 100));
    assert_eq!(ack.server_identifier(), Some(SERVER));
    assert_eq!(ack.lease_time(), Some(600));
    assert_eq!(ack.options.get(58), Some(&300u32.to_be_bytes()[..]));
    assert_eq!(ack.options.get(59), Some(&525u32.to_be_bytes()[..]));
    assert_eq!(ack.options.get(1), Some(&[255, 255, 255, 0][..]));
    let Outcome::Reply {
        commit: Some(lease),
        reply,
    } = out
    else {
        panic!()
    };
    assert_eq!((lease.state, lease.expires), (LeaseState::Active, 1600));
    // No broadcast bit, Ethernet client: unicast to yiaddr through an ARP entry.
    assert_eq!(
        reply.dest.addr,
        SocketAddrV4::new(Ipv4Addr::new(198, 18, 0, 100), 68)
    );
    assert!(reply.dest.arp.is_some());
}

/// The host name of a client's lease: option 12, else option 81's first label, else
/// its reservation's.
#[test]
fn a_lease_is_named_by_option_12_then_option_81_then_the_reservation() {
    let named = |m: Message| -> Option<String> {
        let mut h = handler();
        let (_, out) = dora(&mut h, m, 1000);
        let Outcome::Reply {
            commit: Some(lease),
            ..
        } = out
        else {
            panic!("no lease: {out:?}")
        };
        lease.hostname
    };
    let mut fqdn = msg(MessageType::Discover, 1);
    fqdn.options
        .set(81, b"\x05\x00\x00\x04dev4\x03lab\x07example\x00".to_vec());
    assert_eq!(named(fqdn.clone()).as_deref(), Some("dev4"));
    let mut both = fqdn;
    both.options.set(12, b"own-name".to_vec());
    assert_eq!(named(both).as_deref(), Some("own-name"));
    // The reservation of 02:00:00:00:00:aa names it `switch-a`.
    assert_eq!(
        named(msg(MessageType::Discover, 0xaa)).as_deref(),
        Some("switch-a")
    );
    assert_eq!(named(msg(MessageType::Discover, 2)), None);
}

#[test]
fn options_follow_the_prl_order_and_the_most_specific_scope() {
    let mut h = handler();
    let offer = reply(&run(&mut h, &msg(MessageType::Discover, 1), 0));
    let codes: Vec<u8> = offer.options.iter().map(|(c, _)| c).collect();
    // 53 54 51 58 59, then the PRL (1 3 6 15; 12 unset), then `always` 42.
    assert_eq!(codes, vec![53, 54, 51, 58, 59, 1, 3, 6, 15, 42]);
    assert_eq!(offer.options.get(15), Some(&b"subnet.example"[..]));
    assert_eq!(offer.options.get(3), Some(&[198, 18, 0, 1][..]));

    // A class member gets the class's value over the subnet's.
    let mut m = msg(MessageType::Discover, 2);
    m.options.set(60, b"ZTP-switch".to_vec());
    assert_eq!(
        reply(&run(&mut h, &m, 0)).options.get(15),
        Some(&b"class.example"[..])
    );

    // A reservation gets its address, host name and the host's value over all others.
    let offer = reply(&run(&mut h, &msg(MessageType::Discover, 0xaa), 0));
    assert_eq!(offer.yiaddr, Ipv4Addr::new(198, 18, 0, 50));
    assert_eq!(offer.options.get(15), Some(&b"host.example"[..]));
    assert_eq!(offer.options.get(12), Some(&b"switch-a"[..]));
}

#[test]
fn boot_header_fields_come_from_the_most_specific_scope() {
    let mut h = handler();
    let field =
        |b: &[u8]| String::from_utf8(b.iter().copied().take_while(|&c| c != 0).collect()).unwrap();
    let offer = reply(&run(&mut h, &msg(MessageType::Discover, 1), 0));
    assert_eq!(offer.siaddr, Ipv4Addr::new(198, 18, 0, 69));
    assert_eq!(
        (field(&offer.sname), field(&offer.file)),
        ("tftp1".into(), "pxelinux.0".into())
    );
    let mut m = msg(MessageType::Discover, 2);
    m.options.set(60, b"ZTP-switch".to_vec());
    let offer = reply(&run(&mut h, &m, 0));
    assert_eq!(field(&offer.file), "ztp/boot.py");
    assert_eq!(
        offer.siaddr,
        Ipv4Addr::new(198, 18, 0, 69),
        "unset in the class: the subnet's value"
    );
    // A NAK carries none of them.
    let mut m = msg(MessageType::Request, 3);
    m.options.set(50, vec![198, 19, 9, 9]);
    let nak = reply(&run(&mut h, &m, 0));
    assert_eq!(
        (nak.siaddr, field(&nak.file)),
        (Ipv4Addr::UNSPECIFIED, String::new())
    );
}

#[test]
fn an_offer_holds_its_address_and_a_returning_client_gets_its_address_back() {
    let mut h = handler();
    let a = reply(&run(&mut h, &msg(MessageType::Discover, 1), 0)).yiaddr;
    let b = reply(&run(&mut h, &msg(MessageType::Discover, 2), 0)).yiaddr;
    assert_ne!(a, b, "two clients got the same offer");
    // Client 1 asks again: same address.
    assert_eq!(
        reply(&run(&mut h, &msg(MessageType::Discover, 1), 1)).yiaddr,
        a
    );

    // After a full exchange and a release, the client still gets its address back.
    let (ack, _) = dora(&mut h, msg(MessageType::Discover, 1), 2);
    let mut rel = msg(MessageType::Release, 1);
    rel.ciaddr = ack.yiaddr;
    rel.options.set(54, SERVER.octets().to_vec());
    assert!(
        matches!(run(&mut h, &rel, 3), Outcome::NoReply { commit: Some(ref l), .. } if l.state == LeaseState::Released)
    );
    assert_eq!(
        reply(&run(&mut h, &msg(MessageType::Discover, 1), 4)).yiaddr,
        ack.yiaddr
    );
}

#[test]
fn requested_address_is_honoured_when_free_and_the_pool_can_run_out() {
    let mut h = handler();
    let mut m = msg(MessageType::Discover, 1);
    m.options.set(50, vec![198, 18, 0, 102]);
    assert_eq!(
        reply(&run(&mut h, &m, 0)).yiaddr,
        Ipv4Addr::new(198, 18, 0, 102)
    );
    for mac in 2..=3 {
        reply(&run(&mut h, &msg(MessageType::Discover, mac), 0));
    }
    // The unrestricted pool has three addresses; the fourth client gets none (the
    // class-restricted pool does not admit it).
    assert!(matches!(
        run(&mut h, &msg(MessageType::Discover, 4), 0),
        Outcome::Drop {
            reason: Reason::PoolExhausted,
            ..
        }
    ));
    // A class member draws from its own pool.
    let mut m = msg(MessageType::Discover, 5);
    m.options.set(60, b"ZTP-router".to_vec());
    assert_eq!(
        reply(&run(&mut h, &m, 0)).yiaddr,
        Ipv4Addr::new(198, 18, 0, 200)
    );
    // Offers lapse after offer_hold (30 s): the pool has room again.
    assert!(matches!(
        run(&mut h, &msg(MessageType::Discover, 4), 31),
        Outcome::Reply { .. }
    ));
}

#[test]
fn init_reboot_on_the_wrong_network_is_naked_when_authoritative_and_ignored_otherwise() {
    let mut m = msg(MessageType::Request, 1);
    m.options.set(50, vec![198, 19, 0, 15]);
    let mut h = handler();
    let nak = reply(&run(&mut h, &m, 0));
    assert_eq!(nak.message_type(), Some(MessageType::Nak));
    assert_eq!(nak.yiaddr, Ipv4Addr::UNSPECIFIED);
    assert!(nak.options.get(56).is_some());
    let Outcome::Reply { reply: r, .. } = run(&mut h, &m, 0) else {
        panic!()
    };
    assert_eq!(r.dest.addr, SocketAddrV4::new(Ipv4Addr::BROADCAST, 68));

    let mut quiet = handler_with(&CONFIG.replace("authoritative = true", "authoritative = false"));
    assert!(matches!(
        run(&mut quiet, &m, 0),
        Outcome::NoReply {
            reason: Some(Reason::NotAuthoritative),
            ..
        }
    ));
}

#[test]
fn init_reboot_and_renew_confirm_a_known_lease() {
    let mut h = handler_with(&CONFIG.replace("authoritative = true", "authoritative = false"));
    let (ack, _) = dora(&mut h, msg(MessageType::Discover, 1), 0);
    let mut reboot = msg(MessageType::Request, 1);
    reboot.options.set(50, ack.yiaddr.octets().to_vec());
    assert_eq!(
        reply(&run(&mut h, &reboot, 100)).message_type(),
        Some(MessageType::Ack)
    );

    let mut renew = msg(MessageType::Request, 1);
    renew.ciaddr = ack.yiaddr;
    let mut unicast = ingress();
    unicast.dst = SERVER;
    let out = h.handle(&renew.to_bytes(), &unicast, 300);
    let Outcome::Reply {
        reply: r,
        commit: Some(lease),
    } = out
    else {
        panic!("{out:?}")
    };
    assert_eq!(lease.expires, 900);
    assert_eq!(r.dest.addr, SocketAddrV4::new(ack.yiaddr, 68));
    assert_eq!(v4::decode(&r.bytes).unwrap().ciaddr, ack.yiaddr);

    // A stranger cannot renew someone else's address.
    let mut other = msg(MessageType::Request, 9);
    other.ciaddr = ack.yiaddr;
    assert!(matches!(
        h.handle(&other.to_bytes(), &unicast, 300),
        Outcome::NoReply { .. }
    ));
}

#[test]
fn a_request_for_another_server_frees_our_offer() {
    let mut h = handler();
    let offer = reply(&run(&mut h, &msg(MessageType::Discover, 1), 0));
    let mut m = msg(MessageType::Request, 1);
    m.options.set(50, offer.yiaddr.octets().to_vec());
    m.options.set(54, vec![198, 18, 0, 254]);
    assert!(matches!(
        run(&mut h, &m, 1),
        Outcome::NoReply {
            reason: Some(Reason::OtherServerSelected),
            ..
        }
    ));
    let client2 = crate::lease::ClientKey::HwAddr {
        htype: 1,
        addr: vec![2, 0, 0, 0, 0, 2].into(),
    };
    assert!(h.leases().available_to(offer.yiaddr, &client2, 1));
}

#[test]
fn decline_quarantines_the_address() {
    let mut h = handler();
    let (ack, _) = dora(&mut h, msg(MessageType::Discover, 1), 0);
    let mut d = msg(MessageType::Decline, 1);
    d.options.set(50, ack.yiaddr.octets().to_vec());
    d.options.set(54, SERVER.octets().to_vec());
    let Outcome::NoReply {
        commit: Some(l), ..
    } = run(&mut h, &d, 5)
    else {
        panic!()
    };
    assert_eq!(
        (l.state, l.expires, l.client.is_none()),
        (LeaseState::Declined, 5 + 86_400, true)
    );
    assert_ne!(
        reply(&run(&mut h, &msg(MessageType::Discover, 1), 6)).yiaddr,
        ack.yiaddr
    );
}

#[test]
fn inform_gets_options_without_a_lease() {
    let mut h = handler();
    let mut m = msg(MessageType::Inform, 1);
    m.ciaddr = Ipv4Addr::new(198, 18, 0, 9);
    let out = run(&mut h, &m, 0);
    let ack = reply(&out);
    assert_eq!(ack.message_type(), Some(MessageType::Ack));
    assert_eq!(ack.yiaddr, Ipv4Addr::UNSPECIFIED);
    assert!(ack.lease_time().is_none());
    assert_eq!(ack.options.get(6), Some(&[198, 18, 0, 53][..]));
    let Outcome::Reply {
        reply: r,
        commit: None,
    } = out
    else {
        panic!()
    };
    assert_eq!(r.dest.addr, SocketAddrV4::new(m.ciaddr, 68));
}

#[test]
fn relayed_request_is_served_from_the_giaddr_subnet_and_answered_to_the_relay() {
    let mut h = handler();
    let mut m = msg(MessageType::Discover, 1);
    m.giaddr = Ipv4Addr::new(198, 19, 0, 1);
    m.options.set(
        82,
        RelayAgentInfo::new(vec![(1, b"sw1:ge-0/0/1".to_vec())]).to_bytes(),
    );
    let out = run(&mut h, &m, 0);
    let offer = reply(&out);
    assert_eq!(offer.yiaddr, Ipv4Addr::new(198, 19, 0, 10));
    assert_eq!(offer.options.get(3), Some(&[198, 19, 0, 1][..]));
    assert_eq!(
        offer.options.iter().last().map(|(c, _)| c),
        Some(82),
        "option 82 is echoed last"
    );
    let Outcome::Reply { reply: r, .. } = out else {
        panic!()
    };
    assert_eq!(r.dest.addr, SocketAddrV4::new(m.giaddr, 67));
}

#[test]
fn circuit_id_reservation_and_link_selection() {
    let mut h = handler();
    let mut m = msg(MessageType::Discover, 1);
    m.giaddr = Ipv4Addr::new(198, 18, 0, 254);
    // Link selection (RFC 3527) beats giaddr; the circuit-id names a reservation there.
    m.options.set(
        82,
        RelayAgentInfo::new(vec![
            (1, b"sw1:ge-0/0/7".to_vec()),
            (5, vec![198, 19, 0, 0]),
        ])
        .to_bytes(),
    );
    assert_eq!(
        reply(&run(&mut h, &m, 0)).yiaddr,
        Ipv4Addr::new(198, 19, 0, 77)
    );
    // Subnet selection (RFC 3011) beats giaddr too.
    let mut m = msg(MessageType::Discover, 2);
    m.giaddr = Ipv4Addr::new(198, 18, 0, 254);
    m.options.set(118, vec![198, 19, 0, 0]);
    assert_eq!(
        reply(&run(&mut h, &m, 0)).yiaddr,
        Ipv4Addr::new(198, 19, 0, 10)
    );
}

#[test]
fn shared_network_spills_into_the_next_subnet_with_its_options() {
    let mut h = handler();
    let mut addrs = Vec::new();
    for mac in 1..=3 {
        let mut m = msg(MessageType::Discover, mac);
        m.giaddr = Ipv4Addr::new(198, 19, 1, 1);
        let offer = reply(&run(&mut h, &m, 0));
        assert_eq!(offer.options.get(1), Some(&[255, 255, 255, 0][..]));
        addrs.push(offer.yiaddr);
    }
    assert_eq!(
        addrs,
        ["198.19.1.10", "198.19.2.10", "198.19.2.11"].map(|a| a.parse::<Ipv4Addr>().unwrap())
    );
}

#[test]
fn reply_respects_max_message_size_and_pads_to_300() {
    let big = "x".repeat(200);
    let text = CONFIG.replace("domain-name = \"global.example\"", &format!("domain-name = \"global.example\"\nroot-path = \"{big}\"\nmerit-dump = \"{big}\"\nextensions-path = \"{big}\""));
    let mut h = handler_with(&text);
    let mut m = msg(MessageType::Discover, 1);
    m.options.set(55, vec![1, 3, 17, 14, 18]);
    let Outcome::Reply { reply: r, .. } = run(&mut h, &m, 0) else {
        panic!()
    };
    assert!(r.bytes.len() <= 548, "{} octets", r.bytes.len());
    // Lowest priority first: `always` 42 (not asked for), then the PRL's tail.
    assert_eq!(r.dropped_options, vec![14, 18, 42]);
    m.options.set(57, 1500u16.to_be_bytes().to_vec());
    let Outcome::Reply { reply: r, .. } = run(&mut h, &m, 0) else {
        panic!()
    };
    assert!(r.dropped_options.is_empty());
    let mut tiny = msg(MessageType::Discover, 2);
    tiny.options.set(55, vec![1]);
    let Outcome::Reply { reply: r, .. } = run(&mut h, &tiny, 0) else {
        panic!()
    };
    assert_eq!(r.bytes.len(), 300);
}

#[test]
fn malformed_packets_are_dropped_with_their_reason() {
    let mut h = handler();
    let good = msg(MessageType::Discover, 1).to_bytes();
    let cases: Vec<(Vec<u8>, Reason)> = vec![
        (good[..100].to_vec(), Reason::Truncated),
        (
            {
                let mut b = good.clone();
                b[236] = 0;
                b
            },
            Reason::BadMagicCookie,
        ),
        (
            {
                let mut b = good.clone();
                b[2] = 20;
                b
            },
            Reason::BadHlen,
        ),
        (
            {
                let mut b = good[..240].to_vec();
                b.extend_from_slice(&[53, 1, 1, 61, 40, 1]);
                b
            },
            Reason::OptionOverrun,
        ),
        (
            {
                let mut b = good.clone();
                b[0] = 2;
                b
            },
            Reason::NotBootRequest,
        ),
        (
            {
                let mut b = good[..240].to_vec();
                b.push(255);
                b
            },
            Reason::NoMessageType,
        ),
        (
            {
                let mut m = msg(MessageType::Offer, 1);
                m.options.set(53, vec![2]);
                m.to_bytes()
            },
            Reason::UnexpectedMessageType,
        ),
        (
            msg(MessageType::Request, 1).to_bytes(),
            Reason::RequestWithoutAddress,
        ),
    ];
    for (bytes, want) in cases {
        match h.handle(&bytes, &ingress(), 0) {
            Outcome::Drop { reason, .. } => assert_eq!(reason, want),
            other => panic!("{want:?}: got {other:?}"),
        }
    }
    // And it still serves.
    assert!(matches!(
        h.handle(&good, &ingress(), 0),
        Outcome::Reply { .. }
    ));
}

#[test]
fn reclaim_expires_leases_in_the_background() {
    let mut h = handler();
    let (ack, _) = dora(&mut h, msg(MessageType::Discover, 1), 0);
    assert!(h.reclaim(599).is_empty());
    let changed = h.reclaim(600);
    assert_eq!(changed.len(), 1);
    assert_eq!(
        (changed[0].address, changed[0].state),
        (ack.yiaddr, LeaseState::Expired)
    );
}

#[test]
fn while_the_store_cannot_be_written_no_new_lease_is_offered() {
    let mut h = handler();
    h.pause_new(true);
    assert!(matches!(
        run(&mut h, &msg(MessageType::Discover, 1), 0),
        Outcome::Drop {
            reason: Reason::StoreUnavailable,
            ..
        }
    ));
    h.pause_new(false);
    assert!(matches!(
        run(&mut h, &msg(MessageType::Discover, 1), 0),
        Outcome::Reply { .. }
    ));
}

/// `outage_renewals = "remaining"`: while the store cannot be written, a renewal of a
/// stored lease gets an ACK for the time that stored lease has left and writes nothing,
/// also after an extension that could not be stored; a lease never stored, and the
/// "withhold" setting, get no answer.
#[test]
fn while_the_store_cannot_be_written_a_renewal_gets_the_time_its_stored_lease_has_left() {
    let renewal = |h: &mut Dhcp4Handler, mac: u8, now: u64| {
        let mut m = msg(MessageType::Request, mac);
        m.ciaddr = Ipv4Addr::new(198, 18, 0, 99 + mac);
        run(h, &m, now)
    };
    let withheld = |o: Outcome| {
        matches!(
            o,
            Outcome::NoReply {
                reason: Some(Reason::StoreUnavailable),
                ..
            }
        )
    };
    for remaining in [true, false] {
        let cfg = config::parse(CONFIG, Path::new("test.toml")).unwrap();
        let mut index = LeaseIndex::new();
        index.renew_from_store(remaining);
        let mut h = Dhcp4Handler::new(Arc::new(cfg.dhcp4.unwrap()), index, Default::default());
        // Client 1's lease is committed; client 2's commit never came back.
        let (ack, out) = dora(&mut h, msg(MessageType::Discover, 1), 1000);
        assert_eq!(
            (ack.yiaddr, ack.lease_time()),
            (Ipv4Addr::new(198, 18, 0, 100), Some(600))
        );
        let Outcome::Reply {
            commit: Some(lease),
            ..
        } = out
        else {
            panic!("{out:?}")
        };
        h.stored(&[lease]);
        dora(&mut h, msg(MessageType::Discover, 2), 1000);
        // A renewal at 1050 whose commit fails: the store still holds the lease
        // granted at 1000.
        assert!(matches!(
            renewal(&mut h, 1, 1050),
            Outcome::Reply {
                commit: Some(_),
                ..
            }
        ));

        h.pause_new(true);
        match renewal(&mut h, 1, 1100) {
            Outcome::Reply { reply, commit } if remaining => {
                let ack = v4::decode(&reply.bytes).unwrap();
                assert_eq!(ack.message_type(), Some(MessageType::Ack));
                assert_eq!(ack.lease_time(), Some(500), "600 s from 1000, at 1100");
                assert!(commit.is_none(), "nothing to write");
            }
            other if !remaining => assert!(withheld(other)),
            other => panic!("{other:?}"),
        }
        assert!(withheld(renewal(&mut h, 2, 1100)), "never stored");
        // The store is back: renewals extend and commit again.
        h.pause_new(false);
        assert!(matches!(
            renewal(&mut h, 1, 1200),
            Outcome::Reply {
                commit: Some(_),
                ..
            }
        ));
    }
}
