//! Pushes N complete DISCOVER/OFFER/REQUEST/ACK exchanges, each a new client, through
//! zerotouch-dhcpd's handler and lease store (writes in batches of 32, as group commit
//! does under load) with no network. Under `valgrind --tool=callgrind` this gives the
//! user-space instructions per exchange of the packet path: a figure that, unlike
//! timings on a shared 2-core machine, does not move between runs.
//!
//! With `--plugins NOOP_SO`, three no-op plugin instances run on every hook point: two
//! built-in, one loaded from NOOP_SO (bench/noop-plugin) through the C ABI.
//!
//! usage: zerotouch-replay [EXCHANGES] [--plugins NOOP_SO]   (bench/replay.sh runs it under callgrind)

use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::Path;
use std::sync::Arc;

use clap::Parser;
use zerotouch_dhcpd::config::{self, Synchronous};
use zerotouch_dhcpd::lease::{LeaseBackend, LeaseIndex, SqliteStore};
use zerotouch_dhcpd::v4::{Dhcp4Handler, Ingress, Outcome};
use zerotouch_dhcpd::{plugin, services};
use zerotouch_plugin::LeaseEvent;
use zerotouch_proto::v4::{self, Message, MessageType};

/// The configuration bench/dhcp4.sh measures under load.
const CONFIG: &str = include_str!("../../zerotouch.toml");

/// Replays DHCPv4 exchanges through the server's packet path without a network, for
/// instruction counts under callgrind (bench/replay.sh).
#[derive(Parser)]
#[command(name = "zerotouch-replay", version)]
struct Args {
    /// Complete DISCOVER/OFFER/REQUEST/ACK exchanges to run, each a new client.
    #[arg(default_value_t = 20_000)]
    exchanges: u32,
    /// Also run three no-op plugin instances on every hook: two built-in, one loaded
    /// from this shared object (bench/noop-plugin) through the C ABI.
    #[arg(long = "plugins", value_name = "NOOP_SO")]
    noop_so: Option<String>,
}

fn main() {
    let Args {
        exchanges: n,
        noop_so,
    } = Args::parse();
    // The store is opened below, with no fsync: the replay counts instructions, not disk waits.
    let mut text = CONFIG
        .replace("@INTERFACE@", "veth0")
        .replace("@DATABASE@", "unused.sqlite");
    if let Some(so) = noop_so {
        text.push_str(&format!(
            "\n[[plugin]]\nname = \"noop\"\ninstance = \"noop-1\"\n\n[[plugin]]\nname = \"noop\"\ninstance = \"noop-2\"\n\n[[plugin]]\nname = \"noop\"\ninstance = \"noop-dynamic\"\npath = \"{so}\"\n"
        ));
    }
    let cfg = config::parse(&text, Path::new("bench/zerotouch.toml")).expect("benchmark config");
    let plugins = plugin::load_plugins(&cfg, &plugin::builtins(), None).expect("plugins");
    let dhcp4 = cfg.dhcp4.clone().expect("dhcp4 section");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store =
        SqliteStore::open(&dir.path().join("leases.sqlite"), Synchronous::Normal).expect("store");
    let mut handler = Dhcp4Handler::new(
        Arc::new(dhcp4),
        LeaseIndex::with_capacity(1 << 17),
        Default::default(),
    )
    .with_plugins(plugins.clone());
    let ingress = Ingress {
        ifindex: 2,
        ifname: "veth0".into(),
        if_addrs: vec!["198.18.0.1/15".parse().expect("prefix")].into(),
        local: Ipv4Addr::new(198, 18, 0, 1),
        dst: Ipv4Addr::new(198, 18, 0, 1),
        src: SocketAddrV4::new(Ipv4Addr::new(198, 18, 0, 2), 67),
    };
    let mut pending = Vec::new();
    let mut acks = 0u32;
    for i in 0..n {
        // What perfdhcp sends: relayed (giaddr), a new hardware address each time.
        let mac = [2, 0, (i >> 16) as u8, (i >> 8) as u8, i as u8, 1];
        let mut m = Message::client(MessageType::Discover, i, &mac);
        m.giaddr = Ipv4Addr::new(198, 18, 0, 2);
        m.options.set(55, vec![1, 3, 6, 15, 143]);
        let Outcome::Reply { reply, .. } = handler.handle(&m.to_bytes(), &ingress, 1000) else {
            panic!("no OFFER")
        };
        let offer = v4::decode(&reply.bytes).expect("OFFER decodes");
        m.options.set(53, vec![3]);
        m.options.set(50, offer.yiaddr.octets().to_vec());
        m.options.set(
            54,
            offer
                .server_identifier()
                .expect("server id")
                .octets()
                .to_vec(),
        );
        let Outcome::Reply {
            commit: Some(lease),
            ..
        } = handler.handle(&m.to_bytes(), &ingress, 1000)
        else {
            panic!("no ACK")
        };
        if plugins.wants_lease_events() {
            plugins.lease_event(LeaseEvent::Committed, &services::lease_info(&lease));
        }
        pending.push(lease);
        acks += 1;
        if pending.len() == 32 {
            store.write4(&pending).expect("write");
            pending.clear();
        }
    }
    store.write4(&pending).expect("write");
    println!("{acks} exchanges");
}
