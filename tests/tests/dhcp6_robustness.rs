//! Malformed DHCPv6 messages sent to ff02::1:2 are dropped with a counted reason and the
//! server keeps serving.

use std::net::{Ipv6Addr, SocketAddrV6, UdpSocket};
use std::time::Duration;

use zerotouch_proto::v6::ia::Ia;
use zerotouch_proto::v6::{
    ALL_DHCP_RELAY_AGENTS_AND_SERVERS, Message6, MessageType6, OptionCode6, Packet6,
};
use zerotouch_tests::{Lab, require_tools};

fn solicit() -> Message6 {
    Message6::client(
        MessageType6::Solicit,
        0xbeef,
        &[0, 3, 0, 1, 2, 0, 0, 0, 6, 6],
    )
    .with_ia_na(1, &[])
}

/// `inner` wrapped in `levels` RELAY-FORW messages.
fn relayed(inner: &[u8], levels: usize) -> Vec<u8> {
    let mut out = inner.to_vec();
    for _ in 0..levels {
        let mut r = vec![12, 0];
        r.extend_from_slice(&[0; 32]);
        r.extend_from_slice(&OptionCode6::RELAY_MSG.to_be_bytes());
        r.extend_from_slice(&(out.len() as u16).to_be_bytes());
        r.extend_from_slice(&out);
        out = r;
    }
    out
}

#[test]
fn malformed_dhcpv6_messages_are_counted_by_reason_and_the_server_keeps_serving() {
    require_tools(&["ip"]);
    let lab = Lab::two_hosts_v6();
    let cfg = lab.basic_config6("", "");
    let mut server = lab.start_dhcpd_until(&cfg, "server.log", "DHCPv6 serving");
    let ifname = lab.ifname("c");
    let advertise = lab.in_ns(&lab.cli(), move || {
        let c = std::ffi::CString::new(ifname).unwrap();
        // SAFETY: a valid NUL-terminated interface name.
        let ifindex = unsafe { libc::if_nametoindex(c.as_ptr()) };
        let sock = UdpSocket::bind("[::]:546").expect("bind 546");
        sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let to = SocketAddrV6::new(ALL_DHCP_RELAY_AGENTS_AND_SERVERS, 547, 0, ifindex);
        let good = solicit().to_bytes();
        let mut bad: Vec<Vec<u8>> = vec![
            vec![1, 0],                      // truncated
            good[..good.len() - 3].to_vec(), // option overrun
            relayed(&good, 10),              // deeper than the hop limit
            {
                let mut r = relayed(&good, 1);
                r.truncate(34); // relay without its message
                r
            },
        ];
        let mut anonymous = Message6::new(MessageType6::Solicit, 1);
        anonymous
            .options
            .push(OptionCode6::IA_NA, &Ia::new(3, 1, 0, 0).encode());
        bad.push(anonymous.to_bytes()); // no client identifier
        let with_sid = solicit().with_server_id(&[0, 3, 0, 1, 9, 9]);
        bad.push(with_sid.to_bytes()); // SOLICIT naming a server
        bad.push(Message6::new(MessageType6::Advertise, 2).to_bytes()); // for clients
        let mut short_ia = solicit();
        short_ia.options.remove_all(OptionCode6::IA_NA);
        short_ia.options.push(OptionCode6::IA_NA, &[0, 0, 0, 1]);
        bad.push(short_ia.to_bytes()); // IA shorter than its header
        for b in &bad {
            sock.send_to(b, to).unwrap();
        }
        sock.send_to(&good, to).unwrap();
        let mut buf = [0u8; 1500];
        let (n, _) = sock
            .recv_from(&mut buf)
            .expect("an ADVERTISE after the malformed messages");
        Packet6::decode(&buf[..n]).unwrap().message
    });
    assert_eq!(advertise.msg_type, MessageType6::Advertise);
    assert_eq!(advertise.xid, 0xbeef);
    let ia = Ia::decode(
        OptionCode6::IA_NA,
        advertise.options.get(OptionCode6::IA_NA).unwrap(),
    )
    .unwrap();
    let addr: Ipv6Addr = ia.addresses().next().unwrap().unwrap().address;
    assert_eq!(addr, "2001:db8:1::100".parse::<Ipv6Addr>().unwrap());

    server.signal(libc::SIGUSR1);
    server.wait_for_log("counters:", Duration::from_secs(5));
    let log = server.log_text();
    let counters = log.lines().rfind(|l| l.contains("counters:")).unwrap();
    for reason in [
        "received6=9",
        "truncated=1",
        "option_overrun=1",
        "relay_too_deep=1",
        "relay_without_message=1",
        "missing_client_id=1",
        "bad_server_id=1",
        "unexpected_message_type=1",
        "bad_option=1",
        "tx6_advertise=1",
    ] {
        assert!(counters.contains(reason), "{reason} missing in {counters}");
    }
    assert!(
        log.contains("dropped DHCPv6 packet"),
        "malformed packets are logged (rate-limited) at warn:\n{log}"
    );
}
