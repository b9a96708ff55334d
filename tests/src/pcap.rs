//! Capturing DHCPv4 with tcpdump, and reading the messages out of the capture (classic
//! pcap, Ethernet or Linux cooked link type), to check what actually crossed the wire.

use std::net::Ipv4Addr;
use std::path::Path;
use std::time::Duration;

use crate::Daemon;

/// tcpdump capturing UDP port 67 on `iface` in namespace `ns` into `file`, once it is
/// listening; stop it with SIGINT so it writes out what it holds.
pub fn capture_dhcp4(ns: &str, iface: &str, file: &Path, log: &Path) -> Daemon {
    let mut tcpdump = Daemon::spawn(
        "tcpdump",
        ns,
        &[
            "tcpdump",
            "-i",
            iface,
            "-n",
            "-U",
            "-w",
            file.to_str().expect("utf-8 path"),
            "udp",
            "port",
            "67",
        ],
        log,
    );
    tcpdump.wait_for_log("listening on", Duration::from_secs(10));
    tcpdump
}

use zerotouch_proto::v4::{self, Message};

/// One captured UDP datagram with its addresses.
pub struct Captured {
    /// Capture time, Unix seconds.
    pub time: f64,
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub src_port: u16,
    pub dst_port: u16,
    pub payload: Vec<u8>,
}

pub fn udp_datagrams(bytes: &[u8]) -> Vec<Captured> {
    let mut out = Vec::new();
    if bytes.len() < 24 {
        return out;
    }
    let le = bytes[0..4] == [0xd4, 0xc3, 0xb2, 0xa1];
    let u32_at = |b: &[u8], i: usize| {
        let a = [b[i], b[i + 1], b[i + 2], b[i + 3]];
        if le {
            u32::from_le_bytes(a)
        } else {
            u32::from_be_bytes(a)
        }
    };
    let link = u32_at(bytes, 20);
    let link_header = match link {
        1 => 14,   // Ethernet
        113 => 16, // Linux cooked capture
        _ => return out,
    };
    let mut i = 24;
    while i + 16 <= bytes.len() {
        let time = u32_at(bytes, i) as f64 + u32_at(bytes, i + 4) as f64 / 1e6;
        let caplen = u32_at(bytes, i + 8) as usize;
        let start = i + 16;
        let end = start + caplen;
        if end > bytes.len() {
            break; // the capture ended mid-packet
        }
        let frame = &bytes[start..end];
        i = end;
        let Some(ip) = frame.get(link_header..) else {
            continue;
        };
        if ip.len() < 20 || ip[0] >> 4 != 4 || ip[9] != 17 {
            continue;
        }
        let ihl = (ip[0] & 0x0f) as usize * 4;
        let Some(udp) = ip.get(ihl..) else { continue };
        if udp.len() < 8 {
            continue;
        }
        out.push(Captured {
            time,
            src: Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]),
            dst: Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]),
            src_port: u16::from_be_bytes([udp[0], udp[1]]),
            dst_port: u16::from_be_bytes([udp[2], udp[3]]),
            payload: udp[8..].to_vec(),
        });
    }
    out
}

/// Every DHCPv4 message sent from `server`, with its capture time.
pub fn dhcp_from(bytes: &[u8], server: Ipv4Addr) -> Vec<(f64, Message)> {
    udp_datagrams(bytes)
        .into_iter()
        .filter(|d| d.src == server && d.src_port == 67)
        .filter_map(|d| v4::decode(&d.payload).ok().map(|m| (d.time, m)))
        .collect()
}
