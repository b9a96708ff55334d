//! The `dns` plugin's mDNS responder against real mDNS tools: `dig -p 5353` to the
//! responder (a legacy unicast querier, RFC 6762 §6.7) gets a device's
//! `<serial>._sztp.local` TXT, as does a query sent to the group 224.0.0.251; and
//! `avahi-browse -rpt _sztp._tcp` (avahi-daemon in the querying namespace, on a D-Bus
//! of its own) finds and resolves the bootstrap server; both still do with a
//! second avahi-daemon on the server's own interface sharing port 5353; when zerotouch
//! stops, its goodbye removes the service from avahi's cache.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use zerotouch_tests::{Daemon, Lab, require_tools};

/// A D-Bus system bus and an avahi-daemon on it, in namespace `ns` on interface
/// `iface`: avahi-daemon's PID file lives in /run, so it runs with a /run of its own
/// (a tmpfs mounted in the mount namespace `ip netns exec` gives it, gone with it),
/// and its bus is a socket in the lab's folder, not the host's.
struct Avahi {
    bus: String,
    _dbus: Daemon,
    avahi: Daemon,
}

impl Avahi {
    fn start(lab: &Lab, ns: &str, iface: &str, name: &str) -> Avahi {
        let dir = lab.path(name);
        std::fs::create_dir_all(&dir).unwrap();
        let socket = dir.join("bus");
        let bus = format!("unix:path={}", socket.display());
        let conf = write(
            &dir,
            "bus.conf",
            &format!(
                r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>{bus}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
"#
            ),
        );
        let dbus = Daemon::spawn(
            "dbus-daemon",
            ns,
            &[
                "dbus-daemon",
                "--nofork",
                "--nopidfile",
                &format!("--config-file={}", conf.display()),
            ],
            &dir.join("dbus.log"),
        );
        let start = Instant::now();
        while !socket.exists() {
            assert!(start.elapsed() < Duration::from_secs(10), "no D-Bus socket");
            std::thread::sleep(Duration::from_millis(50));
        }
        let avahi_conf = write(
            &dir,
            "avahi-daemon.conf",
            &format!(
                "[server]\nhost-name={name}\nuse-ipv4=yes\nuse-ipv6=no\nallow-interfaces={iface}\nenable-dbus=yes\n[wide-area]\nenable-wide-area=no\n[publish]\npublish-hinfo=no\npublish-workstation=no\n"
            ),
        );
        let script = format!(
            "mount -t tmpfs zerotouch-test /run && mkdir -p /run/avahi-daemon && \
             DBUS_SYSTEM_BUS_ADDRESS={bus} exec avahi-daemon --no-drop-root --no-chroot --no-rlimits -f {}",
            avahi_conf.display()
        );
        let mut avahi = Daemon::spawn(
            "avahi-daemon",
            ns,
            &["sh", "-c", &script],
            &dir.join("avahi.log"),
        );
        avahi.wait_for_log("Server startup complete", Duration::from_secs(15));
        Avahi {
            bus,
            _dbus: dbus,
            avahi,
        }
    }

    /// `avahi-browse -rpt _sztp._tcp` in `ns` through this daemon: its output.
    fn browse(&self, lab: &Lab, ns: &str) -> String {
        let env = format!("DBUS_SYSTEM_BUS_ADDRESS={}", self.bus);
        let (code, out) = lab.run(
            ns,
            &["env", &env, "avahi-browse", "-rpt", "_sztp._tcp"],
            Duration::from_secs(20),
        );
        assert_eq!(code, 0, "avahi-browse: {out}\n{}", self.avahi.log_text());
        out
    }
}

fn write(dir: &std::path::Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// `avahi-browse` until it resolves the bootstrap server (its cache fills as answers
/// come), or gives up after 10 s.
fn browse_until_resolved(avahi: &Avahi, lab: &Lab) -> String {
    let start = Instant::now();
    loop {
        let out = avahi.browse(lab, &lab.cli());
        if out.lines().any(|l| l.starts_with('=')) || start.elapsed() > Duration::from_secs(10) {
            return out;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// `dig` in the client's namespace asking the responder on port 5353, as a legacy
/// querier. (Not `@224.0.0.251`: dig 9.18 connects its UDP socket to the server it
/// asks, so the kernel drops every answer, which comes from a responder's own address,
/// whichever responder it is.)
fn dig_mdns(lab: &Lab, name: &str, rtype: &str) -> String {
    let (code, out) = lab.run(
        &lab.cli(),
        &[
            "dig",
            "-p",
            "5353",
            "@198.18.0.1",
            "+time=2",
            "+tries=2",
            "+norec",
            name,
            rtype,
        ],
        Duration::from_secs(15),
    );
    assert_eq!(code, 0, "dig {name}: {out}");
    // dig aligns its columns with tabs: one space between words.
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A question for `labels` of type `rtype` sent to the mDNS group from the client's
/// namespace, from a port other than 5353: every answer that comes within 2 s, with
/// where it came from.
fn ask_group(lab: &Lab, labels: &[&str], rtype: u8) -> Vec<(String, Vec<u8>)> {
    let mut q = vec![0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    for label in labels {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.extend_from_slice(&[0, 0, rtype, 0, 1]);
    lab.in_ns(&lab.cli(), move || {
        let sock = std::net::UdpSocket::bind("198.18.0.2:0").unwrap();
        sock.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        sock.send_to(&q, "224.0.0.251:5353").unwrap();
        let mut buf = [0u8; 9000];
        let mut got = Vec::new();
        while let Ok((n, from)) = sock.recv_from(&mut buf) {
            got.push((from.to_string(), buf[..n].to_vec()));
        }
        got
    })
}

#[test]
fn dig_and_avahi_find_the_sztp_records_over_mdns_beside_another_avahi() {
    require_tools(&["ip", "dig", "avahi-daemon", "avahi-browse", "dbus-daemon"]);
    let lab = Lab::two_hosts();
    let (srv_if, cli_if) = (lab.ifname("s"), lab.ifname("c"));
    lab.addr(&lab.cli(), "c", "198.18.0.2/24");
    // dig sends to the group: it needs a route there.
    lab.run(
        &lab.cli(),
        &["ip", "route", "add", "224.0.0.0/4", "dev", &cli_if],
        Duration::from_secs(5),
    );
    let ci: String = (0..300)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    lab.write("sn-1.ci", &ci);
    let plugin = format!(
        r#"
[[plugin]]
name = "dns"
[plugin.settings]
listen = ["198.18.0.1:5300"]
mdns = {{ interfaces = ["{srv_if}"] }}
[[plugin.settings.zone]]
name = "sztp.example"
nameservers = [{{ name = "ns1.sztp.example", addresses = ["198.18.0.1"] }}]
bootstrap_server = [{{ target = "bs1.sztp.example", port = 8443, addresses = ["198.18.0.1"] }}]
device = [{{ serial = "SN-1", conveyed_information = "sn-1.ci" }}]
"#
    );
    let cfg = lab.basic_config("", "", &plugin);
    let mut server = lab.start_dhcpd_until(&cfg, "server.log", "dns: mDNS responding");

    // A legacy querier (dig from a port other than 5353) gets a plain answer.
    let mut txt = String::new();
    let start = Instant::now();
    // The device's name answers once probing is done (under a second).
    while !txt.contains("ANSWER SECTION") && start.elapsed() < Duration::from_secs(5) {
        txt = dig_mdns(&lab, "SN-1._sztp.local", "TXT");
    }
    assert!(
        txt.contains(&format!("SN-1._sztp.local. 10 IN TXT \"ci={}", &ci[..252])),
        "{txt}"
    );
    // The same question sent to the group, from a socket that takes an answer from
    // any address: the answer comes to it.
    let answers = ask_group(&lab, &["SN-1", "_sztp", "local"], 16);
    assert_eq!(answers.len(), 1, "{answers:?}");
    let answer = answers.into_iter().next().unwrap();
    assert_eq!(answer.0, "198.18.0.1:5353");
    assert_eq!(&answer.1[..2], &[0x12, 0x34], "a legacy querier's ID");
    assert!(
        // Its first character-string: `ci=` and 252 octets.
        answer
            .1
            .windows(255)
            .any(|w| w == format!("ci={}", &ci[..252]).as_bytes()),
        "{:?}",
        answer.1
    );
    let srv = dig_mdns(&lab, "_sztp._tcp.local", "SRV");
    assert!(srv.contains("0 0 8443 bs1.local."), "{srv}");
    assert!(srv.contains("bs1.local. 10 IN A 198.18.0.1"), "{srv}");

    // avahi in the client's namespace browses and resolves the service.
    let cli_avahi = Avahi::start(&lab, &lab.cli(), &cli_if, "avahi-cli");
    let found = browse_until_resolved(&cli_avahi, &lab);
    assert!(
        found.contains(&format!(
            "=;{cli_if};IPv4;bs1;_sztp._tcp;local;bs1.local;198.18.0.1;8443;"
        )),
        "{found}"
    );

    // A second mDNS responder on the server's interface, sharing port 5353.
    let srv_avahi = Avahi::start(&lab, &lab.srv(), &srv_if, "avahi-srv");
    // Both answer what is asked of the group: avahi for its own host name, zerotouch
    // for the SZTP records. (A query to 198.18.0.1:5353 itself now reaches one of the
    // two sockets sharing the port, whichever the kernel picks: ask the group.)
    let host = ask_group(&lab, &["avahi-srv", "local"], 1);
    assert!(
        host.iter()
            .any(|(from, a)| from == "198.18.0.1:5353" && a.ends_with(&[198, 18, 0, 1])),
        "{host:?}\n{}",
        srv_avahi.avahi.log_text()
    );
    assert_eq!(ask_group(&lab, &["SN-1", "_sztp", "local"], 16).len(), 1);
    let found = browse_until_resolved(&cli_avahi, &lab);
    assert!(
        found.contains(";bs1;_sztp._tcp;local;bs1.local;198.18.0.1;8443;"),
        "{found}"
    );

    // Stopping says goodbye: the service leaves avahi's cache.
    server.stop_with(libc::SIGTERM, Duration::from_secs(10));
    std::thread::sleep(Duration::from_secs(2));
    let gone = cli_avahi.browse(&lab, &lab.cli());
    assert!(!gone.contains(";bs1;"), "{gone}");
}
