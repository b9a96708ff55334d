use std::net::Ipv4Addr;

use dhcproto::{Decodable, Decoder, Encodable, Encoder, v4};

use super::*;

fn dhcproto_discover() -> Vec<u8> {
    let mut m = v4::Message::default();
    m.set_chaddr(&[0x02, 0, 0, 0, 0, 0x01])
        .set_xid(0x1234_5678)
        .set_flags(v4::Flags::default().set_broadcast());
    m.opts_mut()
        .insert(v4::DhcpOption::MessageType(v4::MessageType::Discover));
    m.opts_mut()
        .insert(v4::DhcpOption::ClientIdentifier(vec![1, 2, 0, 0, 0, 0, 1]));
    m.opts_mut()
        .insert(v4::DhcpOption::ParameterRequestList(vec![
            v4::OptionCode::SubnetMask,
            v4::OptionCode::Router,
        ]));
    m.opts_mut().insert(v4::DhcpOption::MaxMessageSize(1400));
    let mut buf = Vec::new();
    m.encode(&mut Encoder::new(&mut buf)).unwrap();
    buf
}

#[test]
fn decodes_what_an_independent_encoder_wrote() {
    let m = decode(&dhcproto_discover()).unwrap();
    assert_eq!(m.op, Op::BootRequest);
    assert_eq!(m.xid, 0x1234_5678);
    assert!(m.broadcast_flag());
    assert_eq!(m.hwaddr(), &[2, 0, 0, 0, 0, 1]);
    assert_eq!(m.message_type(), Some(MessageType::Discover));
    assert_eq!(m.client_identifier(), Some(&[1, 2, 0, 0, 0, 0, 1][..]));
    assert_eq!(m.parameter_request_list(), &[1, 3]);
    assert_eq!(m.max_message_size(), Some(1400));
}

#[test]
fn independent_decoder_reads_what_we_encode() {
    let mut m = Message::client(MessageType::Request, 7, &[2, 0, 0, 0, 0, 9]);
    m.options.set(50, vec![198, 18, 0, 10]);
    let bytes = m.to_bytes();
    assert_eq!(bytes.len(), BOOTP_MIN_LEN);
    let theirs = v4::Message::decode(&mut Decoder::new(&bytes)).unwrap();
    assert_eq!(theirs.xid(), 7);
    assert_eq!(
        theirs.opts().get(v4::OptionCode::RequestedIpAddress),
        Some(&v4::DhcpOption::RequestedIpAddress(Ipv4Addr::new(
            198, 18, 0, 10
        )))
    );
    assert_eq!(decode(&bytes).unwrap(), m);
}

#[test]
fn each_malformation_has_its_reason() {
    let good = dhcproto_discover();
    assert_eq!(
        decode(&good[..200]).unwrap_err(),
        DecodeError::Truncated { len: 200 }
    );

    let mut bad = good.clone();
    bad[236] = 0;
    assert_eq!(decode(&bad).unwrap_err().reason(), "bad_magic_cookie");

    let mut bad = good.clone();
    bad[2] = 17;
    assert_eq!(decode(&bad).unwrap_err(), DecodeError::BadHlen { hlen: 17 });

    // An option whose length runs past the end of the packet.
    let mut bad = good[..240].to_vec();
    bad.extend_from_slice(&[53, 1, 1, 61, 9, 1, 2]);
    assert_eq!(
        decode(&bad).unwrap_err(),
        DecodeError::OptionOverrun {
            code: 61,
            offset: 243
        }
    );

    // A code with no length octet at all.
    let mut bad = good[..240].to_vec();
    bad.extend_from_slice(&[53, 1, 1, 12]);
    assert_eq!(decode(&bad).unwrap_err().reason(), "option_overrun");

    let mut bad = good[..240].to_vec();
    bad.extend_from_slice(&[53, 1, 1, 52, 1, 4, 255]);
    assert_eq!(decode(&bad).unwrap_err().reason(), "bad_overload");
}

#[test]
fn missing_end_is_accepted_when_options_fill_the_packet() {
    let mut p = dhcproto_discover()[..240].to_vec();
    p.extend_from_slice(&[53, 1, 1]);
    assert_eq!(
        decode(&p).unwrap().message_type(),
        Some(MessageType::Discover)
    );
}

#[test]
fn non_adjacent_pieces_are_joined_in_order() {
    // RFC 3396 §6: 143(len 3) 53 143(len 2) is one option 143 of five octets;
    // dhcproto keeps only the last piece.
    let mut p = dhcproto_discover()[..240].to_vec();
    p.extend_from_slice(&[143, 3, 1, 2, 3, 53, 1, 1, 143, 2, 4, 5, 255]);
    let m = decode(&p).unwrap();
    assert_eq!(m.options.get(143), Some(&[1, 2, 3, 4, 5][..]));
    assert_eq!(m.message_type(), Some(MessageType::Discover));
}

#[test]
fn overloaded_file_and_sname_carry_options_after_the_options_field() {
    let mut p = dhcproto_discover()[..240].to_vec();
    // file field (108..236): the second piece of option 60, then the host name.
    p[108..113].copy_from_slice(&[60, 3, b'd', b'e', b'f']);
    p[113..119].copy_from_slice(&[12, 3, b'h', b'o', b'p', 255]);
    // sname field (44..108): the third piece of option 60.
    p[44..48].copy_from_slice(&[60, 1, b'g', 255]);
    p.extend_from_slice(&[53, 1, 1, 52, 1, 3, 60, 3, b'a', b'b', b'c', 255]);
    let m = decode(&p).unwrap();
    assert_eq!(m.options.get(60), Some(&b"abcdefg"[..]));
    assert_eq!(m.host_name(), Some("hop"));
    assert!(
        m.file.iter().all(|&b| b == 0) && m.sname.iter().all(|&b| b == 0),
        "overloaded fields are not names"
    );
}

fn reply_header() -> Message {
    let mut h = Message::new_request(1, &[2, 0, 0, 0, 0, 1]);
    h.op = Op::BootReply;
    h.yiaddr = Ipv4Addr::new(198, 18, 0, 50);
    h
}

#[test]
fn reply_puts_relay_info_last_and_pads_to_300() {
    let opts = [
        ReplyOption::required(53, vec![2]),
        ReplyOption::optional(3, vec![198, 18, 0, 1]),
    ];
    let mut out = Vec::new();
    let outcome = ReplyEncoder::encode(
        &reply_header(),
        &opts,
        Some(&[1, 2, b'p', b'1']),
        548,
        &mut out,
    );
    assert_eq!(outcome, EncodeOutcome::default());
    assert_eq!(out.len(), BOOTP_MIN_LEN);
    assert_eq!(
        &out[240..256],
        &[53, 1, 2, 3, 4, 198, 18, 0, 1, 82, 4, 1, 2, b'p', b'1', 255]
    );
    assert!(out[256..].iter().all(|&b| b == 0));
}

#[test]
fn long_option_is_split_and_joins_again() {
    let long: Vec<u8> = (0..300u32).map(|i| i as u8).collect();
    let opts = [
        ReplyOption::required(53, vec![5]),
        ReplyOption::optional(143, long.clone()),
    ];
    let mut out = Vec::new();
    ReplyEncoder::encode(&reply_header(), &opts, None, 1400, &mut out);
    assert_eq!(&out[243..245], &[143, 255]);
    assert_eq!(&out[245 + 255..245 + 257], &[143, 45]);
    assert_eq!(decode(&out).unwrap().options.get(143), Some(&long[..]));
}

#[test]
fn budget_drops_lowest_priority_optional_options_first() {
    let big = vec![0x41; 200];
    let opts = [
        ReplyOption::required(53, vec![5]),
        ReplyOption::optional(15, big.clone()),
        ReplyOption::optional(17, big.clone()),
        ReplyOption::required(51, vec![0, 0, 14, 16]),
    ];
    let mut out = Vec::new();
    // 240 + 3 + 202 + 202 + 6 + 1 = 654 > 548: drop 17, keep 15.
    let outcome = ReplyEncoder::encode(&reply_header(), &opts, Some(&[1, 1, 7]), 548, &mut out);
    assert_eq!(outcome.dropped, vec![17]);
    assert!(!outcome.over_budget);
    assert!(out.len() <= 548);
    let m = decode(&out).unwrap();
    assert!(m.options.contains(15) && !m.options.contains(17) && m.options.contains(51));
    assert_eq!(m.options.iter().last().map(|(c, _)| c), Some(82));
}

#[test]
fn relay_info_sub_options() {
    let rai =
        RelayAgentInfo::parse(&[1, 3, b'p', b'o', b'1', 5, 4, 198, 19, 0, 0, 2, 1, 9]).unwrap();
    assert_eq!(rai.circuit_id(), Some(&b"po1"[..]));
    assert_eq!(rai.link_selection(), Some(Ipv4Addr::new(198, 19, 0, 0)));
    assert_eq!(rai.remote_id(), Some(&[9][..]));
    assert!(RelayAgentInfo::parse(&[1, 5, 0]).is_none());
}

/// A small deterministic generator, so a failure reproduces from its seed.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
}

#[test]
fn mutated_packets_never_panic_and_what_decodes_round_trips() {
    let mut base = Message::client(MessageType::Request, 9, &[2, 0, 0, 0, 0, 1]);
    base.options.set(52, vec![3]);
    base.options.set(61, vec![1, 2, 0, 0, 0, 0, 1]);
    base.options
        .set(82, vec![1, 2, b'a', b'b', 5, 4, 198, 19, 0, 0]);
    let seed_packet = base.to_bytes();
    let mut rng = Lcg(0x5eed);
    for _ in 0..50_000 {
        let mut p = seed_packet.clone();
        for _ in 0..(1 + rng.next() % 8) {
            let at = (rng.next() as usize) % p.len();
            match rng.next() % 4 {
                0 => p[at] = rng.next() as u8,
                1 => p.truncate(at.max(1)),
                2 => p.insert(at, rng.next() as u8),
                _ => {
                    // Aim at the option area, where the interesting lengths are.
                    let at = 236 + (rng.next() as usize) % (p.len().saturating_sub(236).max(1));
                    if at < p.len() {
                        p[at] = [0, 1, 52, 53, 82, 255][(rng.next() % 6) as usize];
                    }
                }
            }
        }
        if let Ok(m) = decode(&p) {
            let _ = m.relay_agent_info();
            let again =
                decode(&m.to_bytes()).expect("a decoded message re-encodes to something decodable");
            // Same options; the order may differ (82 moves to the end, RFC 3046).
            let sorted = |o: &Options| {
                let mut v: Vec<(u8, Vec<u8>)> = o.iter().map(|(c, d)| (c, d.to_vec())).collect();
                v.sort();
                v
            };
            assert_eq!(sorted(&again.options), sorted(&m.options));
            assert_eq!(
                (again.xid, again.chaddr, again.giaddr),
                (m.xid, m.chaddr, m.giaddr)
            );
        }
    }
}
