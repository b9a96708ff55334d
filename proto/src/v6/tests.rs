//! DHCPv6 codec tests: round trips, relay chains both ways, strict errors, and a
//! cross-check against dhcproto's independent decoder for client messages.

use std::net::Ipv6Addr;

use super::ia::{Duid, Ia, IaAddr, IaPrefix, decode_status, status};
use super::*;

fn solicit() -> Message6 {
    let mut m = Message6::new(MessageType6::Solicit, 0x00ab_cdef);
    let duid = Duid::Llt {
        hw_type: 1,
        time: 0x2b3c_4d5e,
        address: vec![2, 0, 0, 0, 0, 1],
    };
    m.options.push(OptionCode6::CLIENTID, &duid.encode());
    m.options.push(OptionCode6::ELAPSED_TIME, &[0, 0]);
    m.options.push(OptionCode6::ORO, &[0, 23, 0, 24, 0, 136]);
    m.options.push(
        OptionCode6::IA_NA,
        &Ia::new(OptionCode6::IA_NA, 7, 0, 0).encode(),
    );
    m.options.push(
        OptionCode6::IA_PD,
        &Ia::new(OptionCode6::IA_PD, 8, 0, 0).encode(),
    );
    m
}

fn relay(hop: u8, link: &str, peer: &str, interface_id: &[u8]) -> RelayHeader {
    let mut options = Options6::default();
    options.push(OptionCode6::INTERFACE_ID, interface_id);
    RelayHeader {
        msg_type: MessageType6::RelayForw,
        hop_count: hop,
        link_address: link.parse().unwrap(),
        peer_address: peer.parse().unwrap(),
        options,
    }
}

#[test]
fn client_messages_round_trip_and_agree_with_dhcproto() {
    let m = solicit();
    let bytes = m.to_bytes();
    let p = Packet6::decode(&bytes).unwrap();
    assert!(p.relays.is_empty());
    assert_eq!(p.message, m);
    assert_eq!(
        p.message.options.requested().collect::<Vec<_>>(),
        vec![23, 24, 136]
    );

    use dhcproto::Decodable;
    let theirs = dhcproto::v6::Message::decode(&mut dhcproto::Decoder::new(&bytes)).unwrap();
    assert_eq!(theirs.msg_type(), dhcproto::v6::MessageType::Solicit);
    assert_eq!(theirs.xid(), [0xab, 0xcd, 0xef]);
    assert_eq!(theirs.opts().iter().count(), 5);
}

#[test]
fn a_relay_chain_decodes_to_the_client_and_the_reply_goes_back_through_it() {
    // Client → relay B (next to the client) → relay A → server.
    let inner = relay(0, "2001:db8:2::1", "fe80::1", b"ge-0/0/7");
    let outer = relay(1, "::", "2001:db8:2::1", b"uplink");
    let sent = Packet6 {
        relays: vec![outer.clone(), inner.clone()],
        message: solicit(),
    };
    let got = Packet6::decode(&sent.to_bytes()).unwrap();
    assert_eq!(got, sent);
    assert_eq!(
        got.innermost_relay().unwrap().link_address,
        "2001:db8:2::1".parse::<Ipv6Addr>().unwrap()
    );

    let mut advertise = Message6::new(MessageType6::Advertise, got.message.xid);
    advertise
        .options
        .push(OptionCode6::SZTP_REDIRECT, b"\x00\x11https://bs.example");
    let back = Packet6::decode(&got.encode_reply(&advertise)).unwrap();
    assert_eq!(back.message, advertise);
    assert_eq!(back.relays.len(), 2);
    for (echoed, forw) in back.relays.iter().zip([&outer, &inner]) {
        assert_eq!(echoed.msg_type, MessageType6::RelayRepl);
        assert_eq!(echoed.hop_count, forw.hop_count);
        assert_eq!(echoed.peer_address, forw.peer_address);
        assert_eq!(echoed.interface_id(), forw.interface_id());
        // The reply's options sit in the innermost message, never in a relay wrapper.
        assert!(!echoed.options.contains(OptionCode6::SZTP_REDIRECT));
    }
}

#[test]
fn malformed_packets_have_a_reason() {
    assert_eq!(
        Packet6::decode(&[]),
        Err(DecodeError6::Truncated { len: 0 })
    );
    assert_eq!(
        Packet6::decode(&[1, 0, 0]),
        Err(DecodeError6::Truncated { len: 3 })
    );
    // An option saying 200 octets in a short message.
    let mut m = vec![1, 0, 0, 1, 0, 1, 0, 200, 1, 2];
    assert_eq!(
        Packet6::decode(&m),
        Err(DecodeError6::OptionOverrun { code: 1, at: 4 })
    );
    m.truncate(4);
    m.extend_from_slice(&[0, 8, 0, 2, 0, 0, 0]);
    assert_eq!(
        Packet6::decode(&m),
        Err(DecodeError6::TrailingOctets { at: 10 })
    );
    // A relay with interface-id but no relayed message.
    let mut r = vec![12, 0];
    r.extend_from_slice(&[0; 32]);
    r.extend_from_slice(&[0, 18, 0, 1, 7]);
    assert_eq!(Packet6::decode(&r), Err(DecodeError6::RelayWithoutMessage));
    // Ten relays: past the hop limit.
    let deep = Packet6 {
        relays: (0..10).map(|i| relay(i, "::", "fe80::1", b"x")).collect(),
        message: solicit(),
    };
    assert_eq!(
        Packet6::decode(&deep.to_bytes()),
        Err(DecodeError6::RelayTooDeep { depth: 10 })
    );
    let ok = Packet6 {
        relays: (0..9).map(|i| relay(i, "::", "fe80::1", b"x")).collect(),
        message: solicit(),
    };
    assert!(Packet6::decode(&ok.to_bytes()).is_ok());
    // An error inside the relayed message reports the offset in the datagram.
    let mut broken = solicit().to_bytes();
    broken[6] = 0xff;
    let wrapped = Packet6 {
        relays: vec![relay(0, "::", "fe80::1", b"x")],
        message: solicit(),
    }
    .to_bytes();
    let start = wrapped.len() - solicit().to_bytes().len();
    let mut bad = wrapped.clone();
    bad[start..].copy_from_slice(&broken);
    assert!(matches!(
        Packet6::decode(&bad),
        Err(DecodeError6::OptionOverrun { code: 1, at }) if at == start + 4
    ));
}

#[test]
fn identity_associations_round_trip() {
    let mut na = Ia::new(OptionCode6::IA_NA, 7, 1800, 2880);
    let addr = IaAddr {
        address: "2001:db8:1::100".parse().unwrap(),
        preferred: 3000,
        valid: 3600,
    };
    na.options.push(OptionCode6::IAADDR, &addr.encode());
    na.options
        .push(OptionCode6::STATUS_CODE, &status(StatusCode::Success, "ok"));
    let back = Ia::decode(OptionCode6::IA_NA, &na.encode()).unwrap();
    assert_eq!(back, na);
    assert_eq!(back.addresses().next().unwrap().unwrap(), addr);
    assert_eq!(
        decode_status(back.options.get(OptionCode6::STATUS_CODE).unwrap()).unwrap(),
        (StatusCode::Success, "ok".to_string())
    );

    let mut pd = Ia::new(OptionCode6::IA_PD, 8, 0, 0);
    let prefix = IaPrefix {
        preferred: 3000,
        valid: 3600,
        prefix_len: 56,
        prefix: "2001:db8:100::".parse().unwrap(),
    };
    pd.options.push(OptionCode6::IAPREFIX, &prefix.encode());
    let back = Ia::decode(OptionCode6::IA_PD, &pd.encode()).unwrap();
    assert_eq!(back.prefixes().next().unwrap().unwrap(), prefix);
    assert!(Ia::decode(OptionCode6::IA_NA, &[0; 11]).is_err());
    let mut long_prefix = prefix.encode();
    long_prefix[8] = 129;
    assert!(IaPrefix::decode(&long_prefix).is_err());
}

#[test]
fn duids_and_their_link_layer_addresses() {
    for duid in [
        Duid::Llt {
            hw_type: 1,
            time: 1,
            address: vec![2, 0, 0, 0, 0, 9],
        },
        Duid::Ll {
            hw_type: 1,
            address: vec![2, 0, 0, 0, 0, 9],
        },
    ] {
        let parsed = Duid::parse(&duid.encode()).unwrap();
        assert_eq!(parsed, duid);
        assert_eq!(
            parsed.link_layer_address(),
            Some((1, &[2, 0, 0, 0, 0, 9][..]))
        );
    }
    let en = Duid::En {
        enterprise: 32473,
        id: b"SN1234".to_vec(),
    };
    assert_eq!(Duid::parse(&en.encode()).unwrap(), en);
    assert_eq!(
        Duid::parse(&en.encode()).unwrap().link_layer_address(),
        None
    );
    assert!(Duid::parse(&[0, 1, 0]).is_err());
    assert!(matches!(Duid::parse(&[0, 9, 1, 2]), Ok(Duid::Other(_))));
}
