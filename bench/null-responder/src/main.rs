//! A DHCPv4 responder with no state: it answers DISCOVER with OFFER and REQUEST with
//! ACK for an address derived from the client's hardware address, keeps nothing and
//! writes nothing. It uses the same batched socket as zerotouch-dhcpd and sends the
//! same options as the server with bench/zerotouch.toml, so a benchmark comparing the
//! two measures what allocation, durability and option handling cost, and its best
//! rate is the ceiling of the load generator and the kernel for the same replies.
//!
//! `-6` answers DHCPv6 the same way (see `v6.rs`); `--dns PORT` answers DNS queries with
//! themselves (see `dns.rs`).
//!
//! usage: zerotouch-null-responder [SERVER-ID] [PORT]
//!        zerotouch-null-responder -6 INTERFACE...
//!        zerotouch-null-responder --dns PORT
//!
//! It serves on the host's DHCP port: benchmarks run it inside a network namespace.

mod dns;
mod v6;

use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

use clap::Parser;
use zerotouch_net::{BatchSocket, Datagram, IpFamily, Outgoing, RecvBatch, SendScratch};
use zerotouch_proto::v4::{self, Message, MessageType, ReplyEncoder, ReplyOption};

/// Stateless DHCP responder for benchmarks: the ceiling of the load generator and the
/// kernel. It serves on the DHCP ports of the network namespace it runs in.
#[derive(Parser)]
#[command(name = "zerotouch-null-responder", version)]
struct Args {
    /// Answer DHCPv6 on port 547 of the named interfaces instead of DHCPv4.
    #[arg(short = '6', value_name = "INTERFACE", num_args = 1.., conflicts_with_all = ["server_id", "port"])]
    v6: Option<Vec<String>>,
    /// Answer DNS queries on this port with themselves (no records) instead of DHCP.
    #[arg(long, value_name = "PORT", conflicts_with_all = ["v6", "server_id", "port"])]
    dns: Option<u16>,
    /// DHCPv4 server identifier sent in every reply.
    #[arg(default_value = "198.18.0.1")]
    server_id: Ipv4Addr,
    /// DHCPv4 UDP port to serve on.
    #[arg(default_value_t = 67)]
    port: u16,
}

fn main() {
    let args = Args::parse();
    if let Some(interfaces) = &args.v6 {
        v6::serve(interfaces);
    }
    if let Some(port) = args.dns {
        dns::serve(port);
    }
    let (server_id, port) = (args.server_id, args.port);
    let socket = BatchSocket::bind(port, Duration::from_secs(1)).unwrap_or_else(|e| {
        eprintln!("zerotouch-null-responder: cannot bind port {port}: {e}");
        std::process::exit(2)
    });
    eprintln!("null responder serving on port {port} as {server_id}");
    serve_batches(&socket, |d| answer(&d, server_id, port))
}

/// Receives batches, answers each datagram that gets an answer, sends the answers in one
/// batch: the loop of both families.
fn serve_batches<F: IpFamily>(
    socket: &BatchSocket<F>,
    mut answer: impl FnMut(Datagram<'_, F>) -> Option<Outgoing<F>>,
) -> ! {
    let mut batch = RecvBatch::<F>::new(64);
    let mut out = Vec::with_capacity(64);
    let mut scratch = SendScratch::default();
    loop {
        if socket.recv_batch(&mut batch).is_err() {
            continue;
        }
        out.clear();
        out.extend((0..batch.len()).filter_map(|i| answer(batch.get(i))));
        socket.send_batch(&out, &mut scratch);
    }
}

/// OFFER for a DISCOVER, ACK for a REQUEST, to the relay or broadcast.
fn answer(d: &Datagram<'_>, server_id: Ipv4Addr, port: u16) -> Option<Outgoing> {
    let req = v4::decode(d.data).ok()?;
    let reply_type = match req.message_type() {
        Some(MessageType::Discover) => MessageType::Offer,
        Some(MessageType::Request) => MessageType::Ack,
        _ => return None,
    };
    let mut header = Message::reply_header(&req, reply_type);
    let h = req.hwaddr();
    // 198.18.1.0 and up, from the last three octets of the hardware address.
    let n = h
        .iter()
        .rev()
        .take(3)
        .enumerate()
        .fold(0u32, |acc, (i, b)| acc | (*b as u32) << (8 * i));
    header.yiaddr = Ipv4Addr::from(u32::from(Ipv4Addr::new(198, 18, 1, 0)) + n % 130_000);
    // The options zerotouch-dhcpd sends with bench/zerotouch.toml, in its order: the
    // load generator parses every option of every reply, so a responder sending fewer
    // would raise the ceiling it is measured against with work the server cannot skip.
    let mut opts = Vec::with_capacity(8);
    opts.extend([
        ReplyOption::required(53, [reply_type.to_u8()]),
        ReplyOption::required(54, server_id.octets()),
        ReplyOption::required(51, 4000u32.to_be_bytes()),
        ReplyOption::required(58, 2000u32.to_be_bytes()),
        ReplyOption::required(59, 3500u32.to_be_bytes()),
    ]);
    // RFC 6842, as the server does.
    if let Some(id) = req.client_identifier() {
        opts.push(ReplyOption::required(61, id));
    }
    opts.extend([
        ReplyOption::required(1, [255, 254, 0, 0]),
        ReplyOption::optional(3, server_id.octets()),
    ]);
    let mut bytes = Vec::with_capacity(300);
    ReplyEncoder::encode(&header, &opts, None, 548, &mut bytes);
    let relayed = !req.giaddr.is_unspecified();
    Some(Outgoing {
        data: bytes,
        dst: if relayed {
            SocketAddrV4::new(req.giaddr, port)
        } else {
            SocketAddrV4::new(Ipv4Addr::BROADCAST, 68)
        },
        ifindex: if relayed { 0 } else { d.ifindex },
        src: d.local,
    })
}
