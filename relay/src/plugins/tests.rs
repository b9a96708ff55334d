//! Plugins on relayed packets, from the relay's TOML to the bytes that reach the
//! client: the built-in `sztp` plugin adds the SZTP redirect option for a class of
//! devices to replies from a server that does not send it.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};
use std::path::Path;
use std::sync::Arc;

use zerotouch_net::{Datagram, Interface, Outgoing, V4, V6};
use zerotouch_plugin_host::Pipeline;
use zerotouch_proto::v4::{self, Message, MessageType, Op};
use zerotouch_proto::v6::{Message6, MessageType6, OptionCode6, Packet6};

use crate::action::Action;
use crate::config::{self, RelayConfig};
use crate::counters::Counters;
use crate::{v4 as relay4, v6 as relay6};

const SETTINGS: &str = r#"
[[plugin]]
name = "sztp"
settings = { uris = ["https://bootstrap.example.net:8443"] }

[relay4]
[[relay4.downstream]]
interface = "eth1"
servers = ["198.18.0.1"]
agent_info = { circuit_id = "{interface}" }

[[relay4.class]]
name = "acme"
match = { option = 60, prefix = "ACME" }
plugin.sztp = { always = true }

[relay6]
[[relay6.downstream]]
interface = "eth1"
servers = ["2001:db8:1::1"]
plugin.sztp = { uris = ["https://bs6.example.net"] }

[[relay6.class]]
name = "port-eth1"
match = { relay = "interface-id", exact = "eth1" }
plugin.sztp = { always = true }
"#;

fn loaded(text: &str) -> (RelayConfig, Arc<Pipeline>) {
    let cfg = config::parse(text, Path::new("relay.toml")).unwrap_or_else(|e| panic!("{e}"));
    let plugins = super::load(&cfg, None).unwrap_or_else(|e| panic!("{e}"));
    (cfg, plugins)
}

fn interface() -> Interface {
    Interface {
        name: "eth1".into(),
        index: 3,
        addrs: vec!["198.19.0.1/24".parse().unwrap()].into(),
        addrs6: vec!["2001:db8:2::1/64".parse().unwrap()].into(),
    }
}

fn sent<F: zerotouch_net::IpFamily>(a: Action<F>) -> Vec<Outgoing<F>> {
    match a {
        Action::Send { out, .. } => out,
        Action::SendToNewClient { out, .. } => vec![out],
        Action::Drop { reason, .. } => panic!("expected a send, got a drop: {reason}"),
    }
}

/// A DISCOVER with `vendor` in option 60 and `prl` as option 55.
fn discover(xid: u32, vendor: &[u8], prl: &[u8]) -> Vec<u8> {
    let mut m = Message::client(MessageType::Discover, xid, &[2, 0, 0, 0, 0, xid as u8]);
    m.options.set(60, vendor.to_vec());
    m.options.set(55, prl.to_vec());
    m.flags = v4::BROADCAST_FLAG;
    m.to_bytes()
}

/// The server's OFFER to a forwarded DISCOVER, option 82 echoed.
fn offer(forwarded: &[u8]) -> Vec<u8> {
    let request = v4::decode(forwarded).unwrap();
    let mut m = Message::reply_header(&request, MessageType::Offer);
    m.op = Op::BootReply;
    m.yiaddr = Ipv4Addr::new(198, 19, 0, 50);
    m.options.set(53, vec![2]);
    m.options.set(54, vec![198, 18, 0, 1]);
    m.options.set(51, 3600u32.to_be_bytes().to_vec());
    m.options
        .set(82, request.options.get(82).unwrap_or_default().to_vec());
    m.to_bytes()
}

#[test]
fn dhcpv4_replies_get_option_143_for_the_class_or_when_the_client_asks() {
    let (cfg, plugins) = loaded(SETTINGS);
    let relay = cfg.relay4.as_ref().unwrap();
    let iface = interface();
    let link = relay4::Link {
        index: 0,
        config: &relay.downstream[0],
        interface: &iface,
        mac: &[],
    };
    let counters = Counters::default();
    let mut hooks = relay4::Hooks4::default();
    let mut exchange = |request: &[u8]| {
        let d = Datagram::<V4> {
            data: request,
            src: SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 68),
            ifindex: 3,
            local: Ipv4Addr::BROADCAST,
            dst: Ipv4Addr::BROADCAST,
        };
        let up = sent(hooks.request(&plugins, relay, &link, "leaf1", &d, 0));
        let reply = offer(&up[0].data);
        let edited = hooks
            .reply(&plugins, &link, &reply, &counters, 0)
            .unwrap()
            .into_owned();
        let down = sent(relay4::deliver(&link, &edited));
        v4::decode(&down[0].data).unwrap()
    };
    let want = zerotouch_plugin_sztp::encode(
        &[
            zerotouch_plugin_sztp::BootstrapUri::parse("https://bootstrap.example.net:8443")
                .unwrap(),
        ],
        Default::default(),
    );
    // The class (option 60 "ACME…") sets `always`: the option without being asked.
    let acme = exchange(&discover(1, b"ACME-SW-1", &[1, 3]));
    assert_eq!(acme.options.get(143), Some(&want[..]));
    assert_eq!(
        acme.yiaddr,
        Ipv4Addr::new(198, 19, 0, 50),
        "the server's reply"
    );
    assert!(
        acme.options.get(82).is_none(),
        "option 82 stays with the relay"
    );
    // Another device gets it only when its parameter request list asks.
    let other = exchange(&discover(2, b"OTHER", &[1, 3]));
    assert!(other.options.get(143).is_none());
    let asking = exchange(&discover(3, b"OTHER", &[1, 143]));
    assert_eq!(asking.options.get(143), Some(&want[..]));
    // A reply to a request the relay never saw passes unchanged, counted.
    let stray = offer(&discover(4, b"ACME", &[]));
    let out = hooks.reply(&plugins, &link, &stray, &counters, 0).unwrap();
    assert_eq!(&*out, &stray[..]);
    assert_eq!(counters.get("eth1", "reply_without_remembered_request"), 1);
}

#[test]
fn dhcpv6_replies_get_option_136_inside_the_relay_repl() {
    let (cfg, plugins) = loaded(SETTINGS);
    let relay = cfg.relay6.as_ref().unwrap();
    let iface = interface();
    let links = [relay6::Link6 {
        index: 0,
        config: &relay.downstream[0],
        interface: &iface,
        mac: &[],
    }];
    let counters = Counters::default();
    let mut hooks = relay6::Hooks6::default();
    let solicit = Message6::client(
        MessageType6::Solicit,
        0x0a0b0c,
        &[0, 3, 0, 1, 2, 0, 0, 0, 0, 9],
    )
    .with_oro(&[23]);
    let wire = solicit.to_bytes();
    let client: SocketAddrV6 = SocketAddrV6::new("fe80::9".parse().unwrap(), 546, 0, 3);
    let d = Datagram::<V6> {
        data: &wire,
        src: client,
        ifindex: 3,
        local: Ipv6Addr::UNSPECIFIED,
        dst: "ff02::1:2".parse().unwrap(),
    };
    let up = sent(hooks.request(&plugins, relay, &links[0], "leaf1", &d, 0, |_| None));
    // The server answers inside a RELAY-REPL echoing this relay's header.
    let forw = Packet6::decode(&up[0].data).unwrap();
    let mut advertise = Message6::new(MessageType6::Advertise, 0x0a0b0c);
    advertise
        .options
        .push(OptionCode6::SERVERID, &[0, 3, 0, 1, 2, 0, 0, 0, 0, 1]);
    let repl = Packet6::encode_reply(&forw, &advertise);
    let (link, header, inner) = relay6::route(&links, "leaf1", &repl).unwrap();
    let inner = hooks
        .reply(&plugins, link, header.peer_address, inner, &counters, 0)
        .unwrap()
        .into_owned();
    let out = sent(relay6::to_peer(link, &header, &inner));
    assert_eq!(out[0].dst, client);
    let got = Message6::decode(&out[0].data, 0).unwrap();
    // The class matched this relay's own interface-id: `always`, with the URI of the
    // downstream interface's scope.
    let uris: Vec<&[u8]> = got.options.get_all(136).collect();
    assert_eq!(
        uris,
        [&[&[0u8, 23][..], b"https://bs6.example.net"].concat()[..]]
    );
    assert!(
        got.options.get(OptionCode6::SERVERID).is_some(),
        "the server's options stay"
    );
}

#[test]
fn relay_plugin_tables_are_checked_like_the_servers() {
    let text = SETTINGS.replace(
        "plugin.sztp = { always = true }\n\n[relay6]",
        "plugin.sztp = { always = \"yes\" }\nplugin.nosuch = {}\n\n[relay6]",
    );
    let cfg = config::parse(&text, Path::new("relay.toml"));
    let e = match cfg {
        Err(e) => e.to_string(),
        Ok(cfg) => super::load(&cfg, None).err().unwrap().to_string(),
    };
    assert!(
        e.contains(
            "relay.toml:16:17: relay4.class[0].plugin.nosuch: no [[plugin]] instance \"nosuch\""
        ),
        "{e}"
    );
    let bad_match = SETTINGS.replace(
        "{ option = 60, prefix = \"ACME\" }",
        "{ option = 600, prefix = \"ACME\" }",
    );
    let e = config::parse(&bad_match, Path::new("relay.toml"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("relay4.class[0].match.option: got 600, expected a DHCPv4 option code"),
        "{e}"
    );
    let typed = SETTINGS.replace(
        "plugin.sztp = { always = true }\n\n[relay6]",
        "plugin.sztp = { always = \"yes\" }\n\n[relay6]",
    );
    let cfg = config::parse(&typed, Path::new("relay.toml")).unwrap();
    let e = super::load(&cfg, None).err().unwrap().to_string();
    assert!(
        e.contains("relay.toml:15:") && e.contains("relay4.class[0].plugin.sztp.always"),
        "{e}"
    );
}

/// The probe plugin of the server's hook tests as a gatekeeper: drops requests whose
/// option 60 (DHCPv4) or 16 (DHCPv6) is "drop", answers those with "answer" itself.
fn gatekeeper() -> Arc<Pipeline> {
    use zerotouch_config::OnError;
    use zerotouch_plugin::erased::DynPlugin;
    use zerotouch_plugin::{Action as A, Draft4, HookPoint, Reply4, Reply6};
    use zerotouch_plugin_host::probe::{Probe, Probe6, hook, pipeline};
    let probe4 = Probe {
        hooks: hook(HookPoint::PacketReceived),
        received: Some(Box::new(|_, packet| {
            Ok(match packet.option(60) {
                Some(b"drop") => A::Drop,
                Some(b"answer") => {
                    let mut r = Draft4::to_request(packet.message(), MessageType::Nak);
                    r.message.options.set(54, vec![198, 19, 0, 1]);
                    A::Respond(Box::new(Reply4::new(r)))
                }
                _ => A::Continue,
            })
        })),
        ..Probe::default()
    };
    let probe6 = Probe6 {
        hooks: hook(HookPoint::PacketReceived),
        received: Some(Box::new(|_, packet| {
            Ok(match packet.option(16) {
                Some(b"drop") => A::Drop,
                Some(b"answer") => A::Respond(Box::new(Reply6::new(Message6::new(
                    MessageType6::Reply,
                    packet.message().xid,
                )))),
                _ => A::Continue,
            })
        })),
        ..Probe6::default()
    };
    let probes: Vec<(Box<dyn DynPlugin>, OnError)> = vec![
        (probe4.into(), OnError::Continue),
        (probe6.into(), OnError::Continue),
    ];
    pipeline(probes)
}

#[test]
fn packet_received_drops_a_request_or_answers_it_at_the_relay() {
    let (cfg, _) = loaded(SETTINGS);
    let plugins = gatekeeper();
    let iface = interface();
    // DHCPv4
    let relay = cfg.relay4.as_ref().unwrap();
    let link = relay4::Link {
        index: 0,
        config: &relay.downstream[0],
        interface: &iface,
        mac: &[],
    };
    let mut hooks = relay4::Hooks4::default();
    let mut run = |vendor: &[u8]| {
        let data = discover(7, vendor, &[]);
        let d = Datagram::<V4> {
            data: &data,
            src: SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 68),
            ifindex: 3,
            local: Ipv4Addr::BROADCAST,
            dst: Ipv4Addr::BROADCAST,
        };
        hooks.request(&plugins, relay, &link, "leaf1", &d, 0)
    };
    assert!(matches!(
        run(b"drop"),
        Action::Drop {
            reason: "plugin_drop",
            ..
        }
    ));
    let answered = sent(run(b"answer"));
    assert_eq!(
        answered[0].dst,
        SocketAddrV4::new(Ipv4Addr::BROADCAST, 68),
        "to the client"
    );
    let m = v4::decode(&answered[0].data).unwrap();
    assert_eq!(
        (m.op, m.message_type()),
        (Op::BootReply, Some(MessageType::Nak))
    );
    let forwarded = sent(run(b"pass"));
    assert_eq!(
        forwarded[0].dst,
        SocketAddrV4::new(Ipv4Addr::new(198, 18, 0, 1), 67)
    );
    // DHCPv6
    let relay = cfg.relay6.as_ref().unwrap();
    let link = relay6::Link6 {
        index: 0,
        config: &relay.downstream[0],
        interface: &iface,
        mac: &[],
    };
    let mut hooks = relay6::Hooks6::default();
    let client = SocketAddrV6::new("fe80::9".parse().unwrap(), 546, 0, 3);
    let mut run = |vendor: &[u8]| {
        let mut m = Message6::new(MessageType6::InformationRequest, 0x010203);
        m.options.push(16, vendor);
        let data = m.to_bytes();
        let d = Datagram::<V6> {
            data: &data,
            src: client,
            ifindex: 3,
            local: Ipv6Addr::UNSPECIFIED,
            dst: "ff02::1:2".parse().unwrap(),
        };
        hooks.request(&plugins, relay, &link, "leaf1", &d, 0, |_| None)
    };
    assert!(matches!(
        run(b"drop"),
        Action::Drop {
            reason: "plugin_drop",
            ..
        }
    ));
    let answered = sent(run(b"answer"));
    assert_eq!(answered[0].dst, client);
    let m = Message6::decode(&answered[0].data, 0).unwrap();
    assert_eq!((m.msg_type, m.xid), (MessageType6::Reply, 0x010203));
    let forwarded = sent(run(b"pass"));
    assert_eq!(
        *forwarded[0].dst.ip(),
        "2001:db8:1::1".parse::<Ipv6Addr>().unwrap()
    );
}
