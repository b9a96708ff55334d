//! Malformed packets are dropped with a counted reason and the server keeps serving.

use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::time::Duration;

use zerotouch_proto::v4::{self, Message, MessageType};
use zerotouch_tests::{Lab, require_tools};

#[test]
fn malformed_packets_are_counted_by_reason_and_the_server_keeps_serving() {
    require_tools(&["ip"]);
    let lab = Lab::two_hosts();
    lab.addr(&lab.cli(), "c", "198.18.0.9/24");
    let text = lab
        .server_config()
        .dhcp4(&[&lab.ifname("s")], "")
        .subnet4("198.18.0.0/24", "198.18.0.100 - 198.18.0.110", "")
        .text();
    let cfg = lab.write("dhcpd.toml", &text);
    let mut server = lab.start_dhcpd(&cfg, "server.log");

    let offer = lab.in_ns(&lab.cli(), || {
        let sock = UdpSocket::bind("0.0.0.0:68").expect("bind 68");
        sock.set_broadcast(true).unwrap();
        sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let server = SocketAddrV4::new(Ipv4Addr::new(198, 18, 0, 1), 67);
        let mut discover = Message::client(MessageType::Discover, 0xfeed, &[2, 0, 0, 0, 4, 4]);
        discover.flags = v4::BROADCAST_FLAG;
        let good = discover.to_bytes();
        let mut bad: Vec<Vec<u8>> = Vec::new();
        bad.push(good[..120].to_vec()); // truncated
        bad.push({
            let mut b = good.clone();
            b[236..240].copy_from_slice(&[1, 2, 3, 4]);
            b
        }); // bad cookie
        bad.push({
            let mut b = good.clone();
            b[2] = 17;
            b
        }); // hlen > 16
        bad.push({
            let mut b = good[..240].to_vec();
            b.extend_from_slice(&[53, 1, 1, 12, 200, b'x']);
            b
        }); // overrun
        bad.push({
            let mut b = good.clone();
            b[0] = 2;
            b
        }); // BOOTREPLY to a server
        bad.push({
            let mut b = good[..240].to_vec();
            b.push(255);
            b
        }); // no message type (BOOTP)
        for b in &bad {
            sock.send_to(b, server).unwrap();
        }
        sock.send_to(&good, server).unwrap();
        let mut buf = [0u8; 1500];
        let (n, _) = sock
            .recv_from(&mut buf)
            .expect("an OFFER after the malformed packets");
        v4::decode(&buf[..n]).unwrap()
    });
    assert_eq!(offer.message_type(), Some(MessageType::Offer));
    assert_eq!(offer.xid, 0xfeed);

    server.signal(libc::SIGUSR1);
    server.wait_for_log("counters:", Duration::from_secs(5));
    let log = server.log_text();
    let counters = log.lines().rfind(|l| l.contains("counters:")).unwrap();
    for reason in [
        "truncated=1",
        "bad_magic_cookie=1",
        "bad_hlen=1",
        "option_overrun=1",
        "not_bootrequest=1",
        "no_message_type=1",
        "rx_discover=1",
        "tx_offer=1",
    ] {
        assert!(
            counters.contains(reason),
            "{reason} missing from {counters}"
        );
    }
    assert!(
        log.contains("dropped packet: option 12 at offset 243 runs past the end of its field"),
        "{log}"
    );
}
