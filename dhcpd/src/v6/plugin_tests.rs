//! Hooks on the DHCPv6 packet path: the same hook points as DHCPv4, seen with the
//! DHCPv6 packet and reply.

use std::net::{IpAddr, Ipv6Addr};

use zerotouch_plugin::proto::v6::{MessageType6, OptionCode6};
use zerotouch_plugin::{Action, HookPoint, HostInfo, Reply6};

use super::tests::{Client, NOW, addrs, handler, ias, multicast, reply};
use super::{Dhcp6Handler, Outcome6};
use crate::config::OnError;
use crate::plugin::probe::{Probe6 as Probe, hook, hooks, pipeline};
use crate::stats::Reason;

fn with(probes: Vec<Probe>) -> Dhcp6Handler {
    handler("").with_plugins(pipeline(
        probes.into_iter().map(|p| (p, OnError::Continue)).collect(),
    ))
}

#[test]
fn every_hook_point_runs_on_dhcpv6_and_changes_what_follows() {
    let probe = Probe {
        hooks: hooks(&[
            HookPoint::PacketReceived,
            HookPoint::ClassesAssigned,
            HookPoint::SubnetSelected,
            HookPoint::HostLookedUp,
            HookPoint::LeaseChosen,
            HookPoint::ReplyReady,
        ]),
        received: Some(Box::new(|c, p| {
            assert_eq!(p.message_type(), MessageType6::Solicit);
            assert_eq!(p.message().msg_type, MessageType6::Solicit);
            c.set_value("seen", b"yes");
            Ok(Action::Continue)
        })),
        classes: Some(Box::new(|s| {
            s.add("vendor-x")?;
            Ok(Action::Continue)
        })),
        subnet: Some(Box::new(|s| {
            // Move the client to the third subnet.
            s.select("2001:db8:3::/64".parse().unwrap())?;
            Ok(Action::Continue)
        })),
        host: Some(Box::new(|h| {
            h.set(HostInfo {
                address: Some(IpAddr::V6("2001:db8:3::42".parse().unwrap())),
                hostname: None,
                options: vec![(
                    23,
                    "2001:db8::42"
                        .parse::<Ipv6Addr>()
                        .unwrap()
                        .octets()
                        .to_vec(),
                )],
            });
            Ok(Action::Continue)
        })),
        lease: Some(Box::new(|l| {
            assert_eq!(l.address, "2001:db8:3::42".parse::<IpAddr>().unwrap());
            l.set_lifetime(600)?;
            Ok(Action::Continue)
        })),
        reply: Some(Box::new(|c, r| {
            assert_eq!(c.value("seen"), Some(&b"yes"[..]));
            r.set_option(0x1234 - 0x1000, b"from-plugin")?;
            Ok(Action::Continue)
        })),
    };
    let mut h = with(vec![probe]);
    let s = Client::new(MessageType6::Solicit, 1)
        .na(1, &[])
        .oro(&[OptionCode6::DNS_SERVERS, OptionCode6::BOOTFILE_URL]);
    let (adv, _) = reply(h.handle(&s.wire(), &multicast(), NOW));
    let m = adv.message;
    assert_eq!(
        addrs(&ias(&m, OptionCode6::IA_NA)[0]),
        vec![("2001:db8:3::42".parse().unwrap(), 600, 600)],
        "the plugin's subnet, reservation and lifetime"
    );
    assert_eq!(
        m.options.get(OptionCode6::DNS_SERVERS).unwrap(),
        "2001:db8::42".parse::<Ipv6Addr>().unwrap().octets(),
        "the plugin's reservation options"
    );
    assert_eq!(
        m.options.get(OptionCode6::BOOTFILE_URL),
        Some(&b"https://boot.example/x"[..]),
        "the class the plugin added"
    );
    assert_eq!(m.options.get(0x234), Some(&b"from-plugin"[..]));
}

#[test]
fn a_plugin_can_drop_or_answer_a_dhcpv6_message_itself() {
    let dropper = Probe {
        hooks: hook(HookPoint::PacketReceived),
        received: Some(Box::new(|_, _| Ok(Action::Drop))),
        ..Default::default()
    };
    let mut h = with(vec![dropper]);
    let s = Client::new(MessageType6::Solicit, 1).na(1, &[]);
    assert!(matches!(
        h.handle(&s.wire(), &multicast(), NOW),
        Outcome6::Drop {
            reason: Reason::PluginDrop,
            ..
        }
    ));
    let answerer = Probe {
        hooks: hook(HookPoint::LeaseChosen),
        lease: Some(Box::new(|_| {
            let m = zerotouch_plugin::proto::v6::Message6::new(MessageType6::Reply, 0x1235);
            Ok(Action::Respond(Box::new(Reply6::new(m))))
        })),
        ..Default::default()
    };
    let mut h = with(vec![answerer]);
    let relayed = s.relayed("2001:db8:3::1", Some(b"port1"));
    let (p, commit) = reply(h.handle(&relayed, &multicast(), NOW));
    assert!(commit.is_empty(), "nothing was bound");
    assert_eq!(p.message.msg_type, MessageType6::Reply);
    assert_eq!(
        p.relays.len(),
        1,
        "a plugin's reply goes back through the relay"
    );
    assert_eq!(p.relays[0].interface_id(), Some(&b"port1"[..]));
}
