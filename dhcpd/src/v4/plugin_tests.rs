//! Hooks on the DHCPv4 packet path: each hook point's effect on real encoded requests
//! and their replies, and how failures are isolated.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use zerotouch_plugin::proto::v4::MessageType;
use zerotouch_plugin::{Action, Draft4, HookPoint, HostInfo, PluginError, Reply4};

use super::tests::{CONFIG, handler_with, msg, reply, run};
use super::*;
use crate::config::OnError;
use crate::plugin::probe::{Probe, entry, hook, hooks, pipeline};
use crate::plugin::{Instance, InstanceStats, Pipeline};
use crate::stats::Reason;

fn with(probes: Vec<(Probe, OnError)>) -> (Dhcp4Handler, Arc<Pipeline>) {
    let p = pipeline(probes);
    (handler_with(CONFIG).with_plugins(p.clone()), p)
}

#[test]
fn reply_ready_edits_the_reply_and_context_carries_data_between_plugins() {
    let first = Probe {
        hooks: hook(HookPoint::PacketReceived),
        received: Some(Box::new(|c, p| {
            assert_eq!(p.ingress.interface, "veth0");
            c.set_value("site", b"lab-3");
            Ok(Action::Continue)
        })),
        ..Default::default()
    };
    let second = Probe {
        hooks: hook(HookPoint::ReplyReady),
        reply: Some(Box::new(|c, r| {
            let site = c.value("site").unwrap_or(b"none").to_vec();
            r.set_option(224, &site)?;
            r.remove_option(15)?; // domain name
            Ok(Action::Continue)
        })),
        ..Default::default()
    };
    let (mut h, p) = with(vec![
        (first, OnError::Continue),
        (second, OnError::Continue),
    ]);
    let offer = reply(&run(&mut h, &msg(MessageType::Discover, 1), 1000));
    assert_eq!(offer.options.get(224), Some(&b"lab-3"[..]));
    assert_eq!(offer.options.get(15), None);
    assert_eq!(offer.message_type(), Some(MessageType::Offer));
    assert_eq!(p.instances()[1].stats.calls.load(Ordering::Relaxed), 1);
}

#[test]
fn classes_subnet_host_and_lease_hooks_steer_the_allocation() {
    let probe = Probe {
        hooks: hooks(&[
            HookPoint::ClassesAssigned,
            HookPoint::SubnetSelected,
            HookPoint::HostLookedUp,
            HookPoint::LeaseChosen,
        ]),
        classes: Some(Box::new(|s| {
            assert!(s.add("no-such-class").is_err());
            s.add("ztp").map(|_| Action::Continue)
        })),
        subnet: Some(Box::new(|s| {
            s.select("198.19.0.0/24".parse().unwrap())?;
            Ok(Action::Continue)
        })),
        host: Some(Box::new(|h| {
            assert!(h.get().is_none());
            h.set(HostInfo {
                address: Some("198.19.0.99".parse().unwrap()),
                hostname: Some("from-backend".into()),
                options: vec![(15, b"backend.example".to_vec())],
            });
            Ok(Action::Continue)
        })),
        lease: Some(Box::new(|l| {
            assert_eq!(l.address.to_string(), "198.19.0.99");
            l.set_lifetime(120)?;
            Ok(Action::Continue)
        })),
        ..Default::default()
    };
    let (mut h, _) = with(vec![(probe, OnError::Continue)]);
    let offer = reply(&run(&mut h, &msg(MessageType::Discover, 2), 1000));
    // The plugin's reservation, in the subnet it chose, outside any pool.
    assert_eq!(
        offer.yiaddr,
        "198.19.0.99".parse::<std::net::Ipv4Addr>().unwrap()
    );
    assert_eq!(offer.lease_time(), Some(120));
    assert_eq!(offer.options.get(15), Some(&b"backend.example"[..]));
    assert_eq!(offer.options.get(12), Some(&b"from-backend"[..]));
    // The class the plugin added applies its boot file.
    assert_eq!(&offer.file[..11], b"ztp/boot.py");
}

#[test]
fn drop_and_respond_end_the_exchange() {
    let dropper = Probe {
        hooks: hook(HookPoint::PacketReceived),
        received: Some(Box::new(|_, p| {
            Ok(if p.message().hwaddr()[5] == 9 {
                Action::Drop
            } else {
                Action::Continue
            })
        })),
        ..Default::default()
    };
    let responder = Probe {
        hooks: hook(HookPoint::PacketReceived),
        received: Some(Box::new(|_, p| {
            let mut r = Draft4::to_request(p.message(), MessageType::Nak);
            r.message.options.append(56, b"not today");
            Ok(Action::Respond(Box::new(Reply4::new(r))))
        })),
        ..Default::default()
    };
    let (mut h, _) = with(vec![
        (dropper, OnError::Continue),
        (responder, OnError::Continue),
    ]);
    assert!(matches!(
        run(&mut h, &msg(MessageType::Discover, 9), 1000),
        Outcome::Drop {
            reason: Reason::PluginDrop,
            ..
        }
    ));
    let nak = reply(&run(&mut h, &msg(MessageType::Discover, 3), 1000));
    assert_eq!(nak.message_type(), Some(MessageType::Nak));
    assert_eq!(nak.options.get(56), Some(&b"not today"[..]));
    assert_eq!(nak.server_identifier(), Some(super::tests::SERVER));
    assert!(h.leases().is_empty(), "a plugin's answer changes no lease");
}

fn failing(panic: bool) -> Probe {
    Probe {
        hooks: hook(HookPoint::PacketReceived),
        received: Some(Box::new(move |_, _| {
            if panic {
                panic!("probe panics");
            }
            Err(PluginError::new("backend unreachable"))
        })),
        ..Default::default()
    }
}

#[test]
fn failures_are_counted_and_follow_on_error() {
    for panic in [false, true] {
        let (mut h, p) = with(vec![(failing(panic), OnError::Continue)]);
        let offer = reply(&run(&mut h, &msg(MessageType::Discover, 4), 1000));
        assert_eq!(
            offer.message_type(),
            Some(MessageType::Offer),
            "continue: served anyway"
        );
        let s = &p.instances()[0].stats;
        assert_eq!(s.errors.load(Ordering::Relaxed), 1);
        assert_eq!(s.panics.load(Ordering::Relaxed), u64::from(panic));

        let (mut h, p) = with(vec![(failing(panic), OnError::Drop)]);
        assert!(matches!(
            run(&mut h, &msg(MessageType::Discover, 4), 1000),
            Outcome::Drop {
                reason: Reason::PluginError,
                ..
            }
        ));
        assert!(
            p.summary().contains("plugin_probe0_errors=1"),
            "{}",
            p.summary()
        );
    }
}

/// A wait parks the exchange instead of blocking: the handler answers `Park` at once,
/// changes nothing meanwhile, and handles the packet to the end when it is resumed with
/// the answers.
#[test]
fn a_wait_parks_the_exchange_and_the_resumed_packet_reads_its_answer() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    // A typed plugin that waits, then uses what it waited for.
    struct Backend;
    #[zerotouch_plugin::plugin]
    impl zerotouch_plugin::Plugin for Backend {
        fn create(_: &zerotouch_plugin::Settings) -> Result<Self, zerotouch_plugin::SettingsError> {
            Ok(Backend)
        }
        fn packet_received4(
            &self,
            cx: &mut zerotouch_plugin::Cx<'_, Self>,
            _: &zerotouch_plugin::Packet4<'_>,
        ) -> zerotouch_plugin::HookResult<Reply4> {
            let site: String = match cx.awaited() {
                Some(answer) => answer?,
                None => {
                    return Ok(Action::wait(async {
                        tokio::time::sleep(Duration::from_millis(5)).await;
                        Ok(String::from("lab-9"))
                    }));
                }
            };
            cx.set_value("site", site.as_bytes());
            Ok(Action::Continue)
        }
        fn reply_ready4(
            &self,
            cx: &mut zerotouch_plugin::Cx<'_, Self>,
            _: &zerotouch_plugin::Packet4<'_>,
            reply: &mut Reply4,
        ) -> zerotouch_plugin::HookResult<Reply4> {
            let site = cx.value("site").unwrap_or(b"none").to_vec();
            reply.set_option(224, &site)?;
            Ok(Action::Continue)
        }
    }
    let plugin = (zerotouch_plugin::Registration::of::<Backend>("backend", "").create)(
        &zerotouch_plugin::Settings::standalone("", "backend"),
    )
    .unwrap();
    let instances = vec![Instance {
        entry: entry("backend", OnError::Drop),
        hooks: plugin.hooks(),
        plugin,
        scopes: Default::default(),
        stats: InstanceStats::default(),
    }];
    let p = Arc::new(Pipeline::new(instances, Some(rt.handle().clone())));
    let mut h = handler_with(CONFIG).with_plugins(p.clone());
    let m = msg(MessageType::Discover, 5);
    let Outcome::Park(parked) = run(&mut h, &m, 1000) else {
        panic!("not parked");
    };
    assert!(h.leases().is_empty(), "nothing is held while parked");
    assert_eq!(p.instances()[0].stats.waits.load(Ordering::Relaxed), 1);
    // What the packet loop does: run the future, then hand its answer back.
    let answer = rt.block_on(parked.pending.into_future());
    let mut answers = h.plugin_context().take_answers();
    answers.push((parked.key, answer));
    h.plugin_context().resume(answers);
    let offer = reply(&run(&mut h, &m, 1000));
    assert_eq!(offer.options.get(224), Some(&b"lab-9"[..]));
    let rx = |h: &Dhcp4Handler| {
        h.counters()
            .values()
            .into_iter()
            .find(|(n, _)| n == "rx_discover")
            .map(|(_, v)| v)
    };
    assert_eq!(rx(&h), Some(1), "a packet handled again is counted once");
    // A failed wait is the hook's failure: `on_error = "drop"` drops the packet.
    let m = msg(MessageType::Discover, 6);
    let Outcome::Park(parked) = run(&mut h, &m, 1000) else {
        panic!("not parked");
    };
    h.plugin_context().resume(vec![(
        parked.key,
        Err(PluginError::new("timed out after 5 ms")),
    )]);
    assert!(matches!(
        run(&mut h, &m, 1000),
        Outcome::Drop {
            reason: Reason::PluginError,
            ..
        }
    ));
}

/// Without a runtime (a program that serves no plugins' services) a wait is a failure.
#[test]
fn a_wait_without_a_runtime_is_a_failure() {
    let probe = Probe {
        hooks: hook(HookPoint::PacketReceived),
        received: Some(Box::new(|_, _| Ok(Action::wait(async { Ok(1u8) })))),
        ..Default::default()
    };
    let (mut h, p) = with(vec![(probe, OnError::Drop)]);
    assert!(matches!(
        run(&mut h, &msg(MessageType::Discover, 5), 1000),
        Outcome::Drop {
            reason: Reason::PluginError,
            ..
        }
    ));
    assert_eq!(p.instances()[0].stats.errors.load(Ordering::Relaxed), 1);
}

#[test]
fn skip_rest_stops_the_hook_point_and_typed_context_reaches_later_plugins() {
    #[derive(Debug, PartialEq)]
    struct Site(&'static str);
    let later_calls = Arc::new(std::sync::atomic::AtomicU32::new(0));
    let first = Probe {
        hooks: hooks(&[HookPoint::PacketReceived, HookPoint::ReplyReady]),
        received: Some(Box::new(|c, _| {
            c.insert(Site("lab-4"));
            Ok(Action::Continue)
        })),
        reply: Some(Box::new(|c, r| {
            let Site(site) = c.get::<Site>().ok_or_else(|| PluginError::new("no site"))?;
            r.set_option(224, site.as_bytes())?;
            Ok(Action::SkipRest)
        })),
        ..Default::default()
    };
    let counted = later_calls.clone();
    let second = Probe {
        hooks: hook(HookPoint::ReplyReady),
        reply: Some(Box::new(move |_, r| {
            counted.fetch_add(1, Ordering::Relaxed);
            r.set_option(224, b"overwritten")?;
            Ok(Action::Continue)
        })),
        ..Default::default()
    };
    let (mut h, _) = with(vec![
        (first, OnError::Continue),
        (second, OnError::Continue),
    ]);
    let offer = reply(&run(&mut h, &msg(MessageType::Discover, 6), 1000));
    assert_eq!(offer.options.get(224), Some(&b"lab-4"[..]));
    assert_eq!(later_calls.load(Ordering::Relaxed), 0);
}

#[test]
fn scoped_settings_follow_the_most_specific_scope() {
    use crate::config::ScopeId;
    use zerotouch_plugin::{
        Cx, HookResult, Packet4, Plugin, Registration, Settings, SettingsError,
    };
    /// Typed scope settings: a string per scope.
    struct Scoped;
    #[zerotouch_plugin::plugin]
    impl Plugin for Scoped {
        type Scope = String;
        fn create(_: &Settings) -> Result<Self, SettingsError> {
            Ok(Scoped)
        }
        fn reply_ready4(
            &self,
            cx: &mut Cx<'_, Self>,
            _: &Packet4<'_>,
            r: &mut Reply4,
        ) -> HookResult<Reply4> {
            let value = cx.scope().ok_or_else(|| PluginError::new("no scope"))?;
            r.set_option(224, value.as_bytes())?;
            Ok(Action::Continue)
        }
    }
    let plugin =
        (Registration::of::<Scoped>("scoped", "").create)(&Settings::standalone("", "scoped"))
            .unwrap();
    let mut scopes: std::collections::HashMap<ScopeId, zerotouch_plugin::erased::ScopeData> =
        Default::default();
    for (scope, value) in [
        (ScopeId::Global, "global"),
        (ScopeId::Subnet(0), "subnet"),
        (ScopeId::Pool(0, 1), "pool"),
        (ScopeId::Class(0), "class"),
    ] {
        scopes.insert(scope, Arc::new(value.to_string()));
    }
    let instances = vec![Instance {
        entry: entry("scoped", OnError::Continue),
        hooks: plugin.hooks(),
        plugin,
        scopes,
        stats: InstanceStats::default(),
    }];
    let p = Arc::new(Pipeline::new(instances, None));
    let mut h = handler_with(CONFIG).with_plugins(p);
    let value = |h: &mut Dhcp4Handler, m: &zerotouch_proto::v4::Message| {
        let offer = reply(&run(h, m, 1000));
        String::from_utf8(offer.options.get(224).unwrap().to_vec()).unwrap()
    };
    // A client of subnet 0: the subnet's value.
    assert_eq!(value(&mut h, &msg(MessageType::Discover, 7)), "subnet");
    // A ZTP client: its class is more specific than the pool (its own) and the subnet.
    let mut ztp = msg(MessageType::Discover, 8);
    ztp.options.set(60, b"ZTP-x".to_vec());
    assert_eq!(value(&mut h, &ztp), "class");
    // A relayed client of subnet 1, which has no value of its own: the global one.
    let mut relayed = msg(MessageType::Discover, 9);
    relayed.giaddr = "198.19.0.1".parse().unwrap();
    assert_eq!(value(&mut h, &relayed), "global");
}

/// The built-in `sztp` plugin on real encoded requests: scopes, the PRL gate, `always`,
/// encodings, and the RFC 3396 split of a long list.
mod sztp {
    use std::path::Path;

    use super::*;
    use crate::config;
    use crate::plugin::{builtins, load_plugins};

    /// Six 52-octet URIs: a 324-octet list (the reference notes' split example).
    fn six_uris() -> String {
        (0..6)
            .map(|i| format!("\"https://sztp-bootstrap-0{i}.region-0{i}.example.net:8443\""))
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn handler_for(extra: &str) -> Dhcp4Handler {
        let text = format!(
            r#"{CONFIG}
[[dhcp4.class]]
name = "opi"
match = {{ option = 60, exact = "OPI" }}
plugin.sztp = {{ encoding = "url-text", uris = ["https://bs-opi.example:8080"] }}

[dhcp4.plugin.sztp]
uris = ["https://sztp1.example.com", "https://192.0.2.10:8443"]

[[plugin]]
name = "sztp"
{extra}"#
        );
        // Subnet 1 (198.19.0.0/24) gets its own list.
        let text = text.replacen(
            "options = { routers = [\"198.19.0.1\"] }",
            "options = { routers = [\"198.19.0.1\"] }\nplugin.sztp.uris = [\"https://[2001:db8::5]:8443\"]",
            1,
        );
        let text = text.replace(
            "circuit_id = \"sw1:ge-0/0/7\"",
            &format!(
                "circuit_id = \"sw1:ge-0/0/7\"\nplugin.sztp = {{ uris = [{}], always = true }}",
                six_uris()
            ),
        );
        let cfg = config::parse(&text, Path::new("t.toml")).unwrap_or_else(|e| panic!("{e}"));
        let p = load_plugins(&cfg, &builtins(), None).unwrap_or_else(|e| panic!("{e}"));
        Dhcp4Handler::new(
            Arc::new(cfg.dhcp4.unwrap()),
            crate::lease::LeaseIndex::new(),
            Default::default(),
        )
        .with_plugins(p)
    }

    fn asking(mac: u8) -> zerotouch_proto::v4::Message {
        let mut m = msg(MessageType::Discover, mac);
        m.options.set(55, vec![1, 3, 143]);
        m
    }

    /// The instances of option `code` in a reply as sent, in order.
    fn instances(bytes: &[u8], code: u8) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut i = 240;
        while i + 1 < bytes.len() && bytes[i] != 255 {
            if bytes[i] == 0 {
                i += 1;
                continue;
            }
            let len = bytes[i + 1] as usize;
            if bytes[i] == code {
                out.push(bytes[i + 2..i + 2 + len].to_vec());
            }
            i += 2 + len;
        }
        out
    }

    fn offer_bytes(h: &mut Dhcp4Handler, m: &zerotouch_proto::v4::Message) -> Vec<u8> {
        match run(h, m, 1000) {
            Outcome::Reply { reply, .. } => reply.bytes,
            other => panic!("expected an offer, got {other:?}"),
        }
    }

    #[test]
    fn sent_when_asked_from_the_most_specific_scope() {
        let mut h = handler_for("");
        let global = zerotouch_plugin_sztp::encode(
            &["https://sztp1.example.com", "https://192.0.2.10:8443"]
                .map(|u| zerotouch_plugin_sztp::BootstrapUri::parse(u).unwrap()),
            zerotouch_plugin_sztp::Encoding::Rfc8572,
        );
        assert_eq!(
            instances(&offer_bytes(&mut h, &asking(1)), 143),
            vec![global]
        );
        // Not asked, not `always`: not sent.
        assert!(instances(&offer_bytes(&mut h, &msg(MessageType::Discover, 2)), 143).is_empty());
        // A class with the text encoding the OPI agent reads.
        let mut opi = asking(3);
        opi.options.set(60, b"OPI".to_vec());
        assert_eq!(
            instances(&offer_bytes(&mut h, &opi), 143),
            vec![b"https://bs-opi.example:8080/restconf/operations/ietf-sztp-bootstrap-server:get-bootstrapping-data".to_vec()]
        );
        // A relayed client of subnet 1 gets the subnet's list.
        let mut relayed = asking(4);
        relayed.giaddr = "198.19.0.1".parse().unwrap();
        let got = reply(&run(&mut h, &relayed, 1000));
        let entries = zerotouch_plugin_sztp::decode(got.options.get(143).unwrap()).unwrap();
        assert_eq!(
            entries[0].as_ref().unwrap().as_str(),
            "https://[2001:db8::5]:8443"
        );
    }

    #[test]
    fn a_long_list_is_split_per_rfc_3396_and_always_sent_for_a_host() {
        let mut h = handler_for("");
        // The host reserved by circuit-id gets six URIs even without asking.
        let mut m = msg(MessageType::Discover, 5);
        m.options.set(57, 1500u16.to_be_bytes().to_vec());
        m.giaddr = "198.19.0.1".parse().unwrap();
        m.options.set(
            82,
            zerotouch_proto::v4::RelayAgentInfo::new(vec![(1, b"sw1:ge-0/0/7".to_vec())])
                .to_bytes(),
        );
        let bytes = offer_bytes(&mut h, &m);
        let parts = instances(&bytes, 143);
        assert_eq!(
            parts.iter().map(Vec::len).collect::<Vec<_>>(),
            vec![255, 69]
        );
        assert!(
            parts[0].ends_with(b"region-04.e"),
            "split inside the fifth URI"
        );
        assert!(parts[1].starts_with(b"xample"));
        let joined = reply(&run(&mut h, &m, 1000))
            .options
            .get(143)
            .unwrap()
            .to_vec();
        assert_eq!(joined.len(), 324);
        assert_eq!(zerotouch_plugin_sztp::decode(&joined).unwrap().len(), 6);
    }

    #[test]
    fn left_out_and_counted_when_the_reply_would_not_fit() {
        let mut h = handler_for("");
        // No option 57: 576 octets. Option 82 and the 324-octet list do not fit both.
        let mut m = msg(MessageType::Discover, 6);
        m.giaddr = "198.19.0.1".parse().unwrap();
        m.options.set(
            82,
            zerotouch_proto::v4::RelayAgentInfo::new(vec![(1, b"sw1:ge-0/0/7".to_vec())])
                .to_bytes(),
        );
        let out = run(&mut h, &m, 1000);
        let Outcome::Reply { reply: r, .. } = &out else {
            panic!("no offer")
        };
        assert!(r.bytes.len() <= 548);
        assert_eq!(r.dropped_options, vec![143]);
        assert!(instances(&r.bytes, 143).is_empty());
        assert_eq!(
            h.counters()
                .options_dropped_for_size
                .load(Ordering::Relaxed),
            1
        );
    }
}
