//! The DHCPv6 handler against RFC 8415 §18.3, with packets built as clients and relays
//! send them.

use std::net::{Ipv6Addr, SocketAddrV6};
use std::path::Path;
use std::sync::Arc;

use zerotouch_proto::v6::ia::{self, Ia};
use zerotouch_proto::v6::{
    Message6, MessageType6, OptionCode6, Options6, Packet6, RelayHeader, StatusCode,
};

use super::{Dhcp6Handler, Ingress6, Outcome6};
use crate::config;
use crate::lease::{LeaseIndex6, LeaseState, Resource};
use crate::stats::{Counters, Reason};

pub(super) const SERVER_DUID: &[u8] = &[0, 3, 0, 1, 2, 0, 0, 0, 0, 0xfe];
const BASE: &str = r#"
[dhcp6]
interfaces = ["eth0"]
preferred_lifetime = 1000
valid_lifetime = 2000
options = { dns-servers = ["2001:db8::53"], domain-search = "lab.example" }

[[dhcp6.class]]
name = "vendor-x"
match = { option = 16, hex = "00:00:7e:d9:00:01:78" }
options = { bootfile-url = "https://boot.example/x" }

[[dhcp6.subnet]]
subnet = "2001:db8:1::/64"
interface = "eth0"
options = { dns-servers = ["2001:db8:1::53"] }
[[dhcp6.subnet.pool]]
range = "2001:db8:1::10 - 2001:db8:1::11"
[[dhcp6.subnet.pd_pool]]
prefix = "2001:db8:100::/55"
delegated_length = 56
options = { "sntp-servers" = ["2001:db8::123"] }

[[dhcp6.subnet]]
subnet = "2001:db8:2::/64"
interface_id = "sw1:port7"
[[dhcp6.subnet.pool]]
range = "2001:db8:2::10 - 2001:db8:2::20"

[[dhcp6.subnet]]
subnet = "2001:db8:3::/64"
[[dhcp6.subnet.pool]]
range = "2001:db8:3::10 - 2001:db8:3::20"

[[dhcp6.host]]
duid = "00:02:00:00:7e:d9:aa"
addresses = ["2001:db8:1::99"]
options = { dns-servers = ["2001:db8::99"] }

[[dhcp6.host]]
hw_address = "02:00:00:00:00:77"
addresses = ["2001:db8:3::77"]
hostname = "router-77"
"#;

pub(super) fn handler(extra: &str) -> Dhcp6Handler {
    let text = format!("{BASE}{extra}");
    let cfg = config::parse(&text, Path::new("t.toml"))
        .unwrap_or_else(|e| panic!("{e}"))
        .dhcp6
        .expect("a [dhcp6] section");
    Dhcp6Handler::new(
        Arc::new(cfg),
        LeaseIndex6::default(),
        SERVER_DUID.to_vec(),
        Arc::new(Counters::default()),
    )
}

fn ingress(dst: Ipv6Addr) -> Ingress6 {
    Ingress6 {
        ifindex: 2,
        ifname: "eth0".into(),
        if_addrs: Arc::from(vec!["fe80::1/64".parse().unwrap()]),
        dst,
        src: SocketAddrV6::new("fe80::2".parse().unwrap(), 546, 0, 2),
    }
}

pub(super) fn multicast() -> Ingress6 {
    ingress(zerotouch_proto::v6::ALL_DHCP_RELAY_AGENTS_AND_SERVERS)
}

/// A DUID-LL for client `n`.
pub(super) fn duid(n: u8) -> Vec<u8> {
    vec![0, 3, 0, 1, 2, 0, 0, 0, 0, n]
}

pub(super) struct Client {
    pub msg: Message6,
}

impl Client {
    pub(super) fn new(t: MessageType6, n: u8) -> Self {
        Client {
            msg: Message6::client(t, 0x1234 + n as u32, &duid(n)),
        }
    }

    pub(super) fn server(self) -> Self {
        Client {
            msg: self.msg.with_server_id(SERVER_DUID),
        }
    }

    pub(super) fn na(self, iaid: u32, addrs: &[&str]) -> Self {
        let addrs: Vec<Ipv6Addr> = addrs.iter().map(|a| a.parse().unwrap()).collect();
        Client {
            msg: self.msg.with_ia_na(iaid, &addrs),
        }
    }

    pub(super) fn pd(self, iaid: u32, prefixes: &[(&str, u8)]) -> Self {
        let prefixes: Vec<(Ipv6Addr, u8)> = prefixes
            .iter()
            .map(|(p, len)| (p.parse().unwrap(), *len))
            .collect();
        Client {
            msg: self.msg.with_ia_pd(iaid, &prefixes),
        }
    }

    pub(super) fn opt(self, code: u16, data: &[u8]) -> Self {
        Client {
            msg: self.msg.with_option(code, data),
        }
    }

    pub(super) fn oro(self, codes: &[u16]) -> Self {
        Client {
            msg: self.msg.with_oro(codes),
        }
    }

    pub(super) fn wire(&self) -> Vec<u8> {
        self.msg.to_bytes()
    }

    pub(super) fn relayed(&self, link: &str, interface_id: Option<&[u8]>) -> Vec<u8> {
        let peer = "fe80::2".parse().unwrap();
        Packet6::relayed(self.msg.clone(), link.parse().unwrap(), peer, interface_id).to_bytes()
    }
}

/// The reply of an outcome, decoded (through its relay wrappers), and its commit.
pub(super) fn reply(o: Outcome6) -> (Packet6, Vec<crate::lease::Lease6>) {
    match o {
        Outcome6::Reply { reply, commit } => (Packet6::decode(&reply.bytes).unwrap(), commit),
        other => panic!("expected a reply, got {other:?}"),
    }
}

pub(super) fn ias(m: &Message6, code: u16) -> Vec<Ia> {
    m.options
        .get_all(code)
        .map(|d| Ia::decode(code, d).unwrap())
        .collect()
}

fn status(options: &Options6) -> Option<StatusCode> {
    options
        .get(OptionCode6::STATUS_CODE)
        .map(|s| ia::decode_status(s).unwrap().0)
}

pub(super) fn addrs(ia: &Ia) -> Vec<(Ipv6Addr, u32, u32)> {
    ia.addresses()
        .map(|a| a.unwrap())
        .map(|a| (a.address, a.preferred, a.valid))
        .collect()
}

pub(super) const NOW: u64 = 1_000_000;

#[test]
fn solicit_advertises_and_request_commits_address_and_prefix_with_options_by_oro() {
    let mut h = handler("");
    let solicit = Client::new(MessageType6::Solicit, 1)
        .na(1, &[])
        .pd(2, &[])
        .oro(&[OptionCode6::DOMAIN_LIST, OptionCode6::DNS_SERVERS, 31]);
    let (adv, commit) = reply(h.handle(&solicit.wire(), &multicast(), NOW));
    assert!(commit.is_empty(), "an ADVERTISE commits nothing");
    let m = adv.message;
    assert_eq!(m.msg_type, MessageType6::Advertise);
    assert_eq!(m.xid, 0x1235);
    assert_eq!(m.client_id(), Some(&duid(1)[..]));
    assert_eq!(m.server_id(), Some(SERVER_DUID));
    let na = &ias(&m, OptionCode6::IA_NA)[0];
    assert_eq!((na.iaid, na.t1, na.t2), (1, 500, 800));
    let a: Ipv6Addr = "2001:db8:1::10".parse().unwrap();
    assert_eq!(addrs(na), vec![(a, 1000, 2000)]);
    let pd = &ias(&m, OptionCode6::IA_PD)[0];
    let p = pd.prefixes().next().unwrap().unwrap();
    assert_eq!(
        (p.prefix.to_string(), p.prefix_len),
        ("2001:db8:100::".into(), 56)
    );
    // ORO order; the subnet's DNS servers win over the global ones; the pd_pool's SNTP.
    let codes: Vec<u16> = m.options.iter().map(|(c, _)| c).collect();
    assert_eq!(codes, vec![1, 2, 3, 25, 24, 23, 31]);
    assert_eq!(
        m.options.get(OptionCode6::DNS_SERVERS).unwrap(),
        "2001:db8:1::53".parse::<Ipv6Addr>().unwrap().octets()
    );
    assert_eq!(
        h.leases()
            .get(Resource {
                address: a,
                prefix_len: 128
            })
            .unwrap()
            .state,
        LeaseState::Offered
    );
    // Another client meanwhile gets the other address: the first is held.
    let other = Client::new(MessageType6::Solicit, 2).na(1, &[]);
    let (adv2, _) = reply(h.handle(&other.wire(), &multicast(), NOW));
    assert_eq!(
        addrs(&ias(&adv2.message, OptionCode6::IA_NA)[0])[0]
            .0
            .to_string(),
        "2001:db8:1::11"
    );
    let request = Client::new(MessageType6::Request, 1)
        .server()
        .na(1, &["2001:db8:1::10"])
        .pd(2, &[("2001:db8:100::", 56)]);
    let (rep, commit) = reply(h.handle(&request.wire(), &multicast(), NOW));
    assert_eq!(rep.message.msg_type, MessageType6::Reply);
    assert_eq!(commit.len(), 2);
    assert!(
        commit
            .iter()
            .all(|l| l.state == LeaseState::Active && l.expires == NOW + 2000)
    );
    assert_eq!(
        addrs(&ias(&rep.message, OptionCode6::IA_NA)[0]),
        vec![(a, 1000, 2000)]
    );
}

/// The host name of a lease: the first label of the client's FQDN option (39), else
/// its reservation's.
#[test]
fn a_lease_is_named_by_the_clients_fqdn_then_its_reservation() {
    let named = |c: Client| -> Option<String> {
        let mut h = handler("");
        let s = c.opt(OptionCode6::RAPID_COMMIT, &[]);
        let (_, commit) = reply(h.handle(&s.wire(), &multicast(), NOW));
        assert_eq!(commit.len(), 1);
        commit[0].hostname.clone()
    };
    let fqdn = |c: Client| {
        c.opt(
            OptionCode6::CLIENT_FQDN,
            b"\x01\x04dev6\x03lab\x07example\x00",
        )
    };
    assert_eq!(
        named(fqdn(Client::new(MessageType6::Solicit, 1).na(1, &[]))).as_deref(),
        Some("dev6")
    );
    // The reservation of MAC 02:00:00:00:00:77 (its DUID-LL) names it, unless it says.
    let reserved = || Client::new(MessageType6::Solicit, 0x77).na(1, &[]);
    assert_eq!(named(reserved()).as_deref(), Some("router-77"));
    assert_eq!(named(fqdn(reserved())).as_deref(), Some("dev6"));
    assert_eq!(
        named(Client::new(MessageType6::Solicit, 2).na(1, &[])),
        None
    );
}

#[test]
fn rapid_commit_answers_a_solicit_with_a_committed_reply_unless_disabled() {
    let mut h = handler("");
    let s = Client::new(MessageType6::Solicit, 1)
        .na(1, &[])
        .opt(OptionCode6::RAPID_COMMIT, &[]);
    let (rep, commit) = reply(h.handle(&s.wire(), &multicast(), NOW));
    assert_eq!(rep.message.msg_type, MessageType6::Reply);
    assert!(rep.message.options.contains(OptionCode6::RAPID_COMMIT));
    assert_eq!(commit.len(), 1);
    let text = BASE.replace(
        "preferred_lifetime = 1000",
        "rapid_commit = false\npreferred_lifetime = 1000",
    );
    let cfg = config::parse(&text, Path::new("t.toml"))
        .unwrap()
        .dhcp6
        .unwrap();
    let mut h = Dhcp6Handler::new(
        Arc::new(cfg),
        LeaseIndex6::default(),
        SERVER_DUID.to_vec(),
        Arc::new(Counters::default()),
    );
    let (adv, commit) = reply(h.handle(&s.wire(), &multicast(), NOW));
    assert_eq!(adv.message.msg_type, MessageType6::Advertise);
    assert!(!adv.message.options.contains(OptionCode6::RAPID_COMMIT));
    assert!(commit.is_empty());
}

#[test]
fn exhausted_pools_answer_no_addrs_avail_and_no_prefix_avail_per_ia() {
    let mut h = handler("");
    for n in 1..=2 {
        let s = Client::new(MessageType6::Solicit, n)
            .na(1, &[])
            .pd(1, &[])
            .opt(OptionCode6::RAPID_COMMIT, &[]);
        reply(h.handle(&s.wire(), &multicast(), NOW));
    }
    let s = Client::new(MessageType6::Solicit, 3)
        .na(1, &[])
        .pd(1, &[])
        .na(2, &[]);
    let (adv, _) = reply(h.handle(&s.wire(), &multicast(), NOW));
    let nas = ias(&adv.message, OptionCode6::IA_NA);
    assert_eq!(nas.len(), 2, "every IA is answered");
    assert!(
        nas.iter()
            .all(|ia| status(&ia.options) == Some(StatusCode::NoAddrsAvail))
    );
    let pd = &ias(&adv.message, OptionCode6::IA_PD)[0];
    assert_eq!(status(&pd.options), Some(StatusCode::NoPrefixAvail));
}

#[test]
fn renew_extends_the_binding_and_returns_foreign_addresses_with_zero_lifetimes() {
    let mut h = handler("");
    let s = Client::new(MessageType6::Solicit, 1)
        .na(1, &[])
        .opt(OptionCode6::RAPID_COMMIT, &[]);
    reply(h.handle(&s.wire(), &multicast(), NOW));
    let renew = Client::new(MessageType6::Renew, 1)
        .server()
        .na(1, &["2001:db8:1::10", "2001:db8:9::1"]);
    let (rep, commit) = reply(h.handle(&renew.wire(), &multicast(), NOW + 500));
    assert_eq!(commit.len(), 1);
    assert_eq!(commit[0].expires, NOW + 500 + 2000);
    let na = &ias(&rep.message, OptionCode6::IA_NA)[0];
    assert_eq!(
        addrs(na),
        vec![
            ("2001:db8:1::10".parse().unwrap(), 1000, 2000),
            ("2001:db8:9::1".parse().unwrap(), 0, 0)
        ]
    );
    // A client with no binding gets NoBinding.
    let stranger = Client::new(MessageType6::Renew, 9).server().na(4, &[]);
    let (rep, commit) = reply(h.handle(&stranger.wire(), &multicast(), NOW));
    assert!(commit.is_empty());
    assert_eq!(
        status(&ias(&rep.message, OptionCode6::IA_NA)[0].options),
        Some(StatusCode::NoBinding)
    );
    // Another client cannot take over the address by rebinding with it.
    let thief = Client::new(MessageType6::Rebind, 9).na(4, &["2001:db8:1::10"]);
    let (rep, commit) = reply(h.handle(&thief.wire(), &multicast(), NOW));
    assert!(commit.is_empty());
    assert_eq!(
        addrs(&ias(&rep.message, OptionCode6::IA_NA)[0]),
        vec![("2001:db8:1::10".parse().unwrap(), 0, 0)]
    );
}

#[test]
fn release_frees_and_decline_quarantines_the_address() {
    let mut h = handler("");
    let s = Client::new(MessageType6::Solicit, 1)
        .na(1, &[])
        .opt(OptionCode6::RAPID_COMMIT, &[]);
    reply(h.handle(&s.wire(), &multicast(), NOW));
    let rel = Client::new(MessageType6::Release, 1)
        .server()
        .na(1, &["2001:db8:1::10"]);
    let (rep, commit) = reply(h.handle(&rel.wire(), &multicast(), NOW));
    assert_eq!(status(&rep.message.options), Some(StatusCode::Success));
    assert_eq!(commit[0].state, LeaseState::Released);
    // Released twice: the IA has no binding any more.
    let (rep, _) = reply(h.handle(&rel.wire(), &multicast(), NOW));
    assert_eq!(
        status(&ias(&rep.message, OptionCode6::IA_NA)[0].options),
        Some(StatusCode::NoBinding)
    );
    reply(h.handle(&s.wire(), &multicast(), NOW));
    let dec = Client::new(MessageType6::Decline, 1)
        .server()
        .na(1, &["2001:db8:1::10"]);
    let (_, commit) = reply(h.handle(&dec.wire(), &multicast(), NOW));
    assert_eq!(commit[0].state, LeaseState::Declined);
    assert!(commit[0].ia.is_none());
    let again = Client::new(MessageType6::Solicit, 1).na(1, &[]);
    let (adv, _) = reply(h.handle(&again.wire(), &multicast(), NOW));
    assert_eq!(
        addrs(&ias(&adv.message, OptionCode6::IA_NA)[0])[0]
            .0
            .to_string(),
        "2001:db8:1::11",
        "the declined address is out of use"
    );
}

#[test]
fn confirm_says_whether_addresses_are_on_link_and_information_request_gets_options() {
    let mut h = handler("");
    let on = Client::new(MessageType6::Confirm, 1).na(1, &["2001:db8:1::77"]);
    let (rep, _) = reply(h.handle(&on.wire(), &multicast(), NOW));
    assert_eq!(status(&rep.message.options), Some(StatusCode::Success));
    let off = Client::new(MessageType6::Confirm, 1).na(1, &["2001:db8:7::1"]);
    let (rep, _) = reply(h.handle(&off.wire(), &multicast(), NOW));
    assert_eq!(status(&rep.message.options), Some(StatusCode::NotOnLink));
    let empty = Client::new(MessageType6::Confirm, 1).na(1, &[]);
    assert!(matches!(
        h.handle(&empty.wire(), &multicast(), NOW),
        Outcome6::Drop {
            reason: Reason::NoAddresses,
            ..
        }
    ));
    let mut info = Message6::new(MessageType6::InformationRequest, 7);
    info.options.push(OptionCode6::ORO, &[0, 23]);
    let (rep, commit) = reply(h.handle(&info.to_bytes(), &multicast(), NOW));
    assert!(commit.is_empty());
    assert_eq!(rep.message.client_id(), None, "none was sent");
    assert!(rep.message.options.contains(OptionCode6::DNS_SERVERS));
}

#[test]
fn relayed_messages_pick_the_subnet_by_interface_id_then_link_address_and_go_back_wrapped() {
    let mut h = handler("");
    let s = Client::new(MessageType6::Solicit, 1).na(1, &[]);
    let relay_src = Ingress6 {
        src: SocketAddrV6::new("2001:db8:ff::1".parse().unwrap(), 547, 0, 0),
        dst: "2001:db8:ff::2".parse().unwrap(),
        ..multicast()
    };
    // The interface-id names subnet 2, whatever the link-address says.
    let wire = s.relayed("2001:db8:3::1", Some(b"sw1:port7"));
    let o = h.handle(&wire, &relay_src, NOW);
    let Outcome6::Reply { reply: r, .. } = o else {
        panic!("{o:?}")
    };
    assert_eq!(r.dst, relay_src.src, "answered to the relay, by unicast");
    assert_eq!(r.ifindex, 0, "a relay off-link is reached by routing");
    let p = Packet6::decode(&r.bytes).unwrap();
    assert_eq!(p.relays.len(), 1);
    assert_eq!(p.relays[0].msg_type, MessageType6::RelayRepl);
    assert_eq!(p.relays[0].interface_id(), Some(&b"sw1:port7"[..]));
    assert_eq!(
        addrs(&ias(&p.message, OptionCode6::IA_NA)[0])[0]
            .0
            .to_string(),
        "2001:db8:2::10"
    );
    // No interface-id: the link-address.
    let (p, _) = reply(
        h.handle(
            &Client::new(MessageType6::Solicit, 2)
                .na(1, &[])
                .relayed("2001:db8:3::1", None),
            &relay_src,
            NOW,
        ),
    );
    assert_eq!(
        addrs(&ias(&p.message, OptionCode6::IA_NA)[0])[0]
            .0
            .to_string(),
        "2001:db8:3::10"
    );
    // A link no subnet covers: dropped, counted.
    assert!(matches!(
        h.handle(&s.relayed("2001:db8:99::1", None), &relay_src, NOW),
        Outcome6::Drop {
            reason: Reason::NoSubnet,
            ..
        }
    ));
}

#[test]
fn reservations_by_duid_and_by_relayed_link_layer_address_win_over_pools() {
    let mut h = handler("");
    let mut s = Client::new(MessageType6::Solicit, 1).na(1, &[]).oro(&[23]);
    s.msg.options.remove_all(OptionCode6::CLIENTID);
    s.msg
        .options
        .push(OptionCode6::CLIENTID, &[0, 2, 0, 0, 0x7e, 0xd9, 0xaa]);
    let (adv, _) = reply(h.handle(&s.wire(), &multicast(), NOW));
    assert_eq!(
        addrs(&ias(&adv.message, OptionCode6::IA_NA)[0])[0]
            .0
            .to_string(),
        "2001:db8:1::99"
    );
    assert_eq!(
        adv.message.options.get(23).unwrap(),
        "2001:db8::99".parse::<Ipv6Addr>().unwrap().octets(),
        "the host's options win"
    );
    // A DUID-EN client whose relay reports its MAC (option 79).
    let mut c = Client::new(MessageType6::Solicit, 5).na(1, &[]);
    c.msg.options.remove_all(OptionCode6::CLIENTID);
    c.msg
        .options
        .push(OptionCode6::CLIENTID, &[0, 2, 0, 0, 0, 9, 1]);
    let mut relay_opts = Options6::default();
    relay_opts.push(
        OptionCode6::CLIENT_LINKLAYER_ADDR,
        &[0, 1, 2, 0, 0, 0, 0, 0x77],
    );
    let wire = Packet6 {
        relays: vec![RelayHeader {
            msg_type: MessageType6::RelayForw,
            hop_count: 0,
            link_address: "2001:db8:3::1".parse().unwrap(),
            peer_address: "fe80::77".parse().unwrap(),
            options: relay_opts,
        }],
        message: c.msg.clone(),
    }
    .to_bytes();
    let (p, _) = reply(h.handle(&wire, &multicast(), NOW));
    assert_eq!(
        addrs(&ias(&p.message, OptionCode6::IA_NA)[0])[0]
            .0
            .to_string(),
        "2001:db8:3::77"
    );
    // The same MAC in a DUID-LL, relayed without option 79: the same reservation.
    let mut h = handler("");
    let ll = Client::new(MessageType6::Solicit, 0x77).na(1, &[]);
    let (p, _) = reply(h.handle(&ll.relayed("2001:db8:3::1", None), &multicast(), NOW));
    assert_eq!(
        addrs(&ias(&p.message, OptionCode6::IA_NA)[0])[0]
            .0
            .to_string(),
        "2001:db8:3::77"
    );
}

#[test]
fn classes_add_their_options() {
    let mut h = handler("");
    let s = Client::new(MessageType6::Solicit, 1)
        .na(1, &[])
        .oro(&[OptionCode6::BOOTFILE_URL])
        .opt(OptionCode6::VENDOR_CLASS, &[0, 0, 0x7e, 0xd9, 0, 1, b'x']);
    let (adv, _) = reply(h.handle(&s.wire(), &multicast(), NOW));
    assert_eq!(
        adv.message.options.get(OptionCode6::BOOTFILE_URL),
        Some(&b"https://boot.example/x"[..])
    );
    let plain = Client::new(MessageType6::Solicit, 2).na(1, &[]).oro(&[59]);
    let (adv, _) = reply(h.handle(&plain.wire(), &multicast(), NOW));
    assert!(!adv.message.options.contains(59));
}

#[test]
fn malformed_and_misdirected_messages_are_dropped_with_a_reason() {
    let mut h = handler("");
    let drop_reason =
        |h: &mut Dhcp6Handler, wire: &[u8], ing: &Ingress6| match h.handle(wire, ing, NOW) {
            Outcome6::Drop { reason, .. } => Some(reason),
            Outcome6::NoReply { reason, .. } => reason,
            Outcome6::Reply { .. } | Outcome6::Park(_) => None,
        };
    let m = multicast();
    assert_eq!(drop_reason(&mut h, &[1, 0], &m), Some(Reason::Truncated));
    let good = Client::new(MessageType6::Solicit, 1).na(1, &[]).wire();
    assert_eq!(
        drop_reason(&mut h, &good[..good.len() - 3], &m),
        Some(Reason::OptionOverrun)
    );
    let mut deep = good.clone();
    for _ in 0..10 {
        let mut out = vec![12, 0];
        out.extend_from_slice(&[0; 32]);
        out.extend_from_slice(&9u16.to_be_bytes());
        out.extend_from_slice(&(deep.len() as u16).to_be_bytes());
        out.extend_from_slice(&deep);
        deep = out;
    }
    assert_eq!(drop_reason(&mut h, &deep, &m), Some(Reason::RelayTooDeep));
    let adv = Client::new(MessageType6::Advertise, 1).wire();
    assert_eq!(
        drop_reason(&mut h, &adv, &m),
        Some(Reason::UnexpectedMessageType)
    );
    let mut anon = Message6::new(MessageType6::Solicit, 1);
    anon.options
        .push(OptionCode6::IA_NA, &Ia::new(3, 1, 0, 0).encode());
    assert_eq!(
        drop_reason(&mut h, &anon.to_bytes(), &m),
        Some(Reason::MissingClientId)
    );
    let with_sid = Client::new(MessageType6::Solicit, 1).server().wire();
    assert_eq!(
        drop_reason(&mut h, &with_sid, &m),
        Some(Reason::BadServerId)
    );
    let no_sid = Client::new(MessageType6::Request, 1).na(1, &[]).wire();
    assert_eq!(drop_reason(&mut h, &no_sid, &m), Some(Reason::BadServerId));
    let other = Client::new(MessageType6::Request, 1)
        .opt(OptionCode6::SERVERID, &[0, 3, 0, 1, 9, 9, 9, 9, 9, 9])
        .wire();
    assert_eq!(
        drop_reason(&mut h, &other, &m),
        Some(Reason::OtherServerSelected)
    );
    let bad_ia = Client::new(MessageType6::Solicit, 1)
        .opt(OptionCode6::IA_NA, &[0, 0, 0, 1])
        .wire();
    assert_eq!(drop_reason(&mut h, &bad_ia, &m), Some(Reason::BadOption));
    let unicast = ingress("2001:db8:1::1".parse().unwrap());
    assert_eq!(drop_reason(&mut h, &good, &unicast), Some(Reason::Unicast));
    // A REQUEST by unicast is told to multicast (no Server Unicast option is ever sent).
    let req = Client::new(MessageType6::Request, 1)
        .server()
        .na(1, &[])
        .wire();
    let (rep, commit) = reply(h.handle(&req, &unicast, NOW));
    assert!(commit.is_empty());
    assert_eq!(status(&rep.message.options), Some(StatusCode::UseMulticast));
    // And it still serves.
    assert!(matches!(h.handle(&good, &m, NOW), Outcome6::Reply { .. }));
}

/// RFC 8415 §11.1: a DUID has 3 to 130 octets. Shorter or longer client identifiers
/// get nothing (no binding, no answer), in every message that can carry one, and are
/// counted as `bad_client_id`; an INFORMATION-REQUEST without one is still answered.
#[test]
fn client_identifiers_outside_3_to_130_octets_are_dropped_and_counted() {
    let mut h = handler("");
    let m = multicast();
    let with_client_id = |t: MessageType6, id: &[u8]| {
        let mut msg = Message6::new(t, 0x77);
        msg.options.push(OptionCode6::CLIENTID, id);
        Client { msg }
    };
    let long = [0u8; 131];
    for id in [&[][..], &[0][..], &[0, 3][..], &long[..]] {
        for wire in [
            with_client_id(MessageType6::Solicit, id).na(1, &[]).wire(),
            with_client_id(MessageType6::Rebind, id)
                .na(1, &["2001:db8:1::10"])
                .wire(),
            with_client_id(MessageType6::InformationRequest, id).wire(),
            with_client_id(MessageType6::Request, id)
                .server()
                .na(1, &[])
                .wire(),
        ] {
            match h.handle(&wire, &m, NOW) {
                Outcome6::Drop { reason, detail } => {
                    assert_eq!(reason, Reason::BadClientId);
                    assert!(detail.unwrap().contains(&format!("{} octets", id.len())));
                }
                other => panic!("a {}-octet client id was not dropped: {other:?}", id.len()),
            }
        }
    }
    assert_eq!(h.leases().len(), 0, "no binding for a malformed DUID");
    // The shortest and longest DUIDs are served.
    for id in [&[0, 4, 7][..], &[0u8; 130][..]] {
        let sol = with_client_id(MessageType6::Solicit, id).na(1, &[]).wire();
        assert!(matches!(h.handle(&sol, &m, NOW), Outcome6::Reply { .. }));
    }
    let anonymous = Message6::new(MessageType6::InformationRequest, 9).to_bytes();
    assert!(matches!(
        h.handle(&anonymous, &m, NOW),
        Outcome6::Reply { .. }
    ));
}

#[test]
fn config_errors_in_dhcp6_name_file_line_and_key() {
    let bad = r#"
[dhcp6]
interfaces = ["eth0"]
preferred_lifetime = 900
valid_lifetime = 600
options = { dns-servers = ["198.18.0.1"], "200" = "x" }
server_duid = { type = "en" }

[[dhcp6.subnet]]
subnet = "2001:db8:1::1/64"
[[dhcp6.subnet.pool]]
range = "2001:db8:2::1 - 2001:db8:2::9"
[[dhcp6.subnet.pd_pool]]
prefix = "2001:db8:100::/56"
delegated_length = 48

[[dhcp6.host]]
duid = "zz"
"#;
    let e = config::parse(bad, Path::new("t.toml"))
        .unwrap_err()
        .to_string();
    for want in [
        "t.toml:4:22: dhcp6.preferred_lifetime: 900 is above valid_lifetime 600",
        "t.toml:6:27: dhcp6.options.dns-servers: got array [\"198.18.0.1\"], expected an IPv6 address or an array of them (option 23 dns-servers is of type ipv6-list)",
        "t.toml:6:51: dhcp6.options.200: option code 200 has no type, expected an [[dhcp6.option_definition]]",
        "t.toml:7:15: dhcp6.server_duid: type \"en\" needs enterprise",
        "t.toml:10:10: dhcp6.subnet[0].subnet: 2001:db8:1::1/64 has host bits set",
        "t.toml:12:9: dhcp6.subnet[0].pool[0].range: \"2001:db8:2::1 - 2001:db8:2::9\" is not inside the subnet 2001:db8:1::/64",
        "t.toml:15:20: dhcp6.subnet[0].pd_pool[0].delegated_length: got 48, expected a length from 56",
        "t.toml:18:8: dhcp6.host[0].duid: got \"zz\", expected a DUID",
    ] {
        assert!(e.contains(want), "missing {want:?} in:\n{e}");
    }
}

/// `outage_renewals = "remaining"`: while the store cannot be written, a RENEW of a
/// stored binding gets the lifetimes it has left and writes nothing; a binding never
/// stored gets no answer.
#[test]
fn while_the_store_cannot_be_written_a_renew_gets_the_lifetimes_its_stored_binding_has_left() {
    let cfg = config::parse(BASE, Path::new("t.toml"))
        .unwrap()
        .dhcp6
        .unwrap();
    let mut index = LeaseIndex6::default();
    index.renew_from_store(true);
    let mut h = Dhcp6Handler::new(
        Arc::new(cfg),
        index,
        SERVER_DUID.to_vec(),
        Arc::new(Counters::default()),
    );
    let s = Client::new(MessageType6::Solicit, 1)
        .na(1, &[])
        .opt(OptionCode6::RAPID_COMMIT, &[]);
    let (_, commit) = reply(h.handle(&s.wire(), &multicast(), NOW));
    h.stored(&commit);
    let renew = Client::new(MessageType6::Renew, 1)
        .server()
        .na(1, &["2001:db8:1::10"]);

    h.pause_new(true);
    let (rep, commit) = reply(h.handle(&renew.wire(), &multicast(), NOW + 500));
    assert!(commit.is_empty(), "nothing to write");
    assert_eq!(
        addrs(&ias(&rep.message, OptionCode6::IA_NA)[0]),
        vec![("2001:db8:1::10".parse().unwrap(), 500, 1500)],
        "preferred 1000 and valid 2000 from NOW, at NOW + 500"
    );

    // A client whose binding was never stored waits for the store.
    h.pause_new(false);
    let s2 = Client::new(MessageType6::Solicit, 2)
        .na(1, &[])
        .opt(OptionCode6::RAPID_COMMIT, &[]);
    reply(h.handle(&s2.wire(), &multicast(), NOW));
    h.pause_new(true);
    let renew2 = Client::new(MessageType6::Renew, 2).server().na(1, &[]);
    assert!(matches!(
        h.handle(&renew2.wire(), &multicast(), NOW + 500),
        Outcome6::NoReply {
            reason: Some(Reason::StoreUnavailable),
            ..
        }
    ));
}
