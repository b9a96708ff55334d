//! The DHCPv6 null responder: SOLICIT → ADVERTISE (REPLY with Rapid Commit), REQUEST /
//! RENEW / REBIND → REPLY, every IA_NA given an address and every IA_PD a /56 derived
//! from the client's DUID and IAID, relayed messages answered through their relays;
//! nothing kept. The ceiling of perfdhcp -6 and the kernel, as the DHCPv4 one is; its
//! replies carry what zerotouch-dhcpd's carry with bench/zerotouch6.toml (the same
//! lifetimes and option 136), so perfdhcp does the same work per reply for both.

use std::net::{Ipv6Addr, SocketAddrV6};
use std::time::Duration;

use zerotouch_net::{BatchSocket, Outgoing};
use zerotouch_proto::v6::ia::{Duid, Ia, IaAddr, IaPrefix};
use zerotouch_proto::v6::{Message6, MessageType6, OptionCode6, Packet6, SERVER_PORT};

/// bench/zerotouch6.toml's option 136: one URI, https://bs1.example.com:8080.
const BENCH_SZTP_REDIRECT: &[u8] = b"\x00\x1chttps://bs1.example.com:8080";

fn index_of(name: &str) -> u32 {
    let Ok(c) = std::ffi::CString::new(name) else {
        return 0;
    };
    // SAFETY: a valid NUL-terminated name.
    unsafe { libc::if_nametoindex(c.as_ptr()) }
}

/// FNV-1a of the DUID and IAID: a stable, spread-out number per IA.
fn hash(duid: &[u8], iaid: u32) -> u64 {
    duid.iter()
        .chain(iaid.to_be_bytes().iter())
        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ *b as u64).wrapping_mul(0x100_0000_01b3)
        })
}

pub(crate) fn serve(interfaces: &[String]) -> ! {
    let socket = BatchSocket::bind_v6(SERVER_PORT, Duration::from_secs(1)).unwrap_or_else(|e| {
        eprintln!("zerotouch-null-responder: cannot bind [::]:{SERVER_PORT}: {e}");
        std::process::exit(2)
    });
    for name in interfaces {
        let index = index_of(name);
        if index == 0 || socket.join_dhcp_servers(index).is_err() {
            eprintln!("zerotouch-null-responder: cannot join ff02::1:2 on {name}");
            std::process::exit(2);
        }
    }
    let server_duid = Duid::Ll {
        hw_type: 1,
        address: vec![2, 0, 0, 0, 0, 0xfe],
    }
    .encode();
    eprintln!("DHCPv6 null responder serving on {interfaces:?}");
    super::serve_batches(&socket, |d| {
        let packet = Packet6::decode(d.data).ok()?;
        let reply = answer(&packet.message, &server_duid)?;
        Some(Outgoing {
            data: packet.encode_reply(&reply),
            dst: SocketAddrV6::new(*d.src.ip(), d.src.port(), 0, d.ifindex),
            ifindex: d.ifindex,
            src: Ipv6Addr::UNSPECIFIED,
        })
    })
}

fn answer(req: &Message6, server_duid: &[u8]) -> Option<Message6> {
    let rapid = req.options.contains(OptionCode6::RAPID_COMMIT);
    let reply_type = match req.msg_type {
        MessageType6::Solicit if rapid => MessageType6::Reply,
        MessageType6::Solicit => MessageType6::Advertise,
        MessageType6::Request | MessageType6::Renew | MessageType6::Rebind => MessageType6::Reply,
        _ => return None,
    };
    let client = req.client_id()?;
    let mut reply = Message6::new(reply_type, req.xid);
    reply.options.push(OptionCode6::CLIENTID, client);
    reply.options.push(OptionCode6::SERVERID, server_duid);
    if rapid && reply_type == MessageType6::Reply {
        reply.options.push(OptionCode6::RAPID_COMMIT, &[]);
    }
    for data in req.options.get_all(OptionCode6::IA_NA) {
        let asked = Ia::decode(OptionCode6::IA_NA, data).ok()?;
        let n = hash(client, asked.iaid);
        let mut ia = Ia::new(OptionCode6::IA_NA, asked.iaid, 1500, 2400);
        let address = Ipv6Addr::from((0x2001_0db8_0001_0000u128 << 64) | (n & 0xffff_ffff) as u128);
        ia.options.push(
            OptionCode6::IAADDR,
            &IaAddr {
                address,
                preferred: 3000,
                valid: 4000,
            }
            .encode(),
        );
        reply.options.push(OptionCode6::IA_NA, &ia.encode());
    }
    for data in req.options.get_all(OptionCode6::IA_PD) {
        let asked = Ia::decode(OptionCode6::IA_PD, data).ok()?;
        let n = hash(client, asked.iaid) & 0xffff;
        let mut ia = Ia::new(OptionCode6::IA_PD, asked.iaid, 1500, 2400);
        let prefix = Ipv6Addr::from((0x2001_0db8_0100_0000u128 | (n as u128) << 8) << 64);
        ia.options.push(
            OptionCode6::IAPREFIX,
            &IaPrefix {
                preferred: 3000,
                valid: 4000,
                prefix_len: 56,
                prefix,
            }
            .encode(),
        );
        reply.options.push(OptionCode6::IA_PD, &ia.encode());
    }
    reply
        .options
        .push(OptionCode6::SZTP_REDIRECT, BENCH_SZTP_REDIRECT);
    Some(reply)
}
