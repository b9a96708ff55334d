//! `--dns PORT`: a DNS responder with no zones. Each query goes back as its own answer:
//! the QR and AA bits set, the question as it came, no records. It reads and writes with
//! the same batched socket as the DHCP modes, so its rate is the ceiling of dnsperf and
//! the kernel for one answer per query.

use std::net::Ipv4Addr;
use std::time::Duration;

use zerotouch_net::{BatchSocket, Datagram, Outgoing};

/// Serves DNS on `port` of every IPv4 address, forever.
pub(crate) fn serve(port: u16) -> ! {
    let socket = BatchSocket::bind(port, Duration::from_secs(1)).unwrap_or_else(|e| {
        eprintln!("zerotouch-null-responder: cannot bind port {port}: {e}");
        std::process::exit(2)
    });
    eprintln!("null DNS responder serving on port {port}");
    super::serve_batches(&socket, |d| answer(&d))
}

/// The query as its own answer; nothing for what has no header or is not a query.
fn answer(d: &Datagram<'_>) -> Option<Outgoing> {
    if d.data.len() < 12 || d.data[2] & 0x80 != 0 {
        return None;
    }
    let mut data = d.data.to_vec();
    // QR and AA; RD kept; RA, Z, RCODE cleared.
    data[2] = 0x84 | (data[2] & 0x79);
    data[3] = 0;
    Some(Outgoing {
        data,
        dst: d.src,
        ifindex: 0,
        src: Ipv4Addr::UNSPECIFIED,
    })
}
