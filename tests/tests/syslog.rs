//! The `syslog` plugin between `logger` (util-linux) on a device that holds a lease and
//! rsyslog as the collector: messages over UDP and TCP (octet counted and line framed)
//! reach rsyslog over TCP and over UDP, each tagged with the device's address, MAC,
//! client identifier and host name; bad framing is counted and the receiver goes on.

mod common;

use std::time::{Duration, Instant};

use common::{udhcpc_recording, write_script};
use zerotouch_tests::{Daemon, Lab, require_tools};

/// rsyslog in namespace `ns`, receiving TCP on 127.0.0.1:10514, UDP on :10515 and
/// RELP on :10516, writing each as RFC 5424 (structured data included) to `tcp.log`,
/// `udp.log` and `relp.log` in the lab's folder. RELP's ruleset has no queue of its
/// own (`Direct`), so rsyslog acknowledges a message once it is in the file: its
/// default in-memory queue would acknowledge first and lose what it held at a `kill -9`,
/// whatever the sender does.
fn rsyslog(lab: &Lab, ns: &str) -> Daemon {
    rsyslog_named(lab, ns, "rsyslogd.out")
}

/// The same, its output in `out`.
fn rsyslog_named(lab: &Lab, ns: &str, out: &str) -> Daemon {
    let body = r#"module(load="imtcp")
module(load="imudp")
module(load="imrelp")
input(type="imtcp" address="127.0.0.1" port="10514" ruleset="tcp")
input(type="imrelp" port="10516" ruleset="relp")
input(type="imudp" address="127.0.0.1" port="10515" ruleset="udp")
ruleset(name="tcp") { action(type="omfile" file="DIR/tcp.log" template="RSYSLOG_SyslogProtocol23Format") }
ruleset(name="udp") { action(type="omfile" file="DIR/udp.log" template="RSYSLOG_SyslogProtocol23Format") }
ruleset(name="relp" queue.type="Direct") { action(type="omfile" file="DIR/relp.log" template="RSYSLOG_SyslogProtocol23Format" asyncWriting="off" flushOnTXEnd="on") }
"#;
    rsyslogd(lab, ns, "rsyslog", body, 10514, out)
}

/// rsyslogd in namespace `ns` with the configuration `body` (`DIR` standing for its
/// folder `name` in the lab's), once its TCP port `port` on 127.0.0.1 takes
/// connections; its output in `out` there.
fn rsyslogd(lab: &Lab, ns: &str, name: &str, body: &str, port: u16, out: &str) -> Daemon {
    let dir = lab.path(name);
    std::fs::create_dir_all(&dir).unwrap();
    let d = dir.display().to_string();
    let conf = lab.write(
        &format!("{name}/rsyslog.conf"),
        &format!("global(workDirectory=\"{d}\")\n{}", body.replace("DIR", &d)),
    );
    let pid = dir.join("rsyslogd.pid");
    let daemon = Daemon::spawn(
        "rsyslogd",
        ns,
        &[
            "rsyslogd",
            "-n",
            "-f",
            conf.to_str().unwrap(),
            "-i",
            pid.to_str().unwrap(),
        ],
        &dir.join(out),
    );
    let probe = format!("exec 3<>/dev/tcp/127.0.0.1/{port}");
    let start = Instant::now();
    loop {
        let (code, _) = lab.run(ns, &["bash", "-c", &probe], Duration::from_secs(5));
        if code == 0 {
            return daemon;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "rsyslogd did not start: {}",
            daemon.log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The lines of `file` once it holds `count` lines, or what it holds after 10 s.
fn lines(lab: &Lab, file: &str, count: usize) -> Vec<String> {
    let start = Instant::now();
    loop {
        // Lossy: an octet that is not UTF-8 shows in the assertion, not as no lines.
        let text = String::from_utf8_lossy(&std::fs::read(lab.path(file)).unwrap_or_default())
            .into_owned();
        let lines: Vec<String> = text.lines().map(str::to_string).collect();
        if lines.len() >= count || start.elapsed() > Duration::from_secs(10) {
            return lines;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn device_logs_reach_rsyslog_tagged_with_the_devices_lease() {
    require_tools(&["ip", "udhcpc", "logger", "rsyslogd"]);
    let lab = Lab::two_hosts();
    let mac = "02:00:00:00:20:07";
    lab.set_mac(&lab.cli(), "c", mac);
    let plugin = r#"
[[plugin]]
name = "syslog"
[plugin.settings]
listen = ["198.18.0.1:514"]
collector = [
  { address = "127.0.0.1:10514", transport = "tcp" },
  { address = "127.0.0.1:10515", transport = "udp", severity = "warning" },
]
status_listen = "127.0.0.1:9270"
recent_lines = 4
"#;
    let _collector = rsyslog(&lab, &lab.srv());
    // Every client of [dhcp4] is told of this receiver (option 7).
    let cfg = lab.basic_config("plugin.syslog = { advertise = true }", "", plugin);
    let mut server = lab.start_dhcpd_until(&cfg, "server.log", "syslog: receiving");

    // The device gets a lease, with its name, and its log server.
    // The script records option 7, which busybox names by its number.
    let script = write_script(
        lab.dir.path(),
        "udhcpc-script",
        &udhcpc_recording("log=$opt7", "udhcpc-log.txt"),
    );
    let ifc = lab.ifname("c");
    let (code, out) = lab.run(
        &lab.cli(),
        &[
            "udhcpc",
            "-q",
            "-n",
            "-t",
            "5",
            "-T",
            "1",
            "-i",
            &ifc,
            "-s",
            &script,
            "-x",
            "hostname:dev20",
            "-O",
            "7",
        ],
        Duration::from_secs(30),
    );
    assert_eq!(code, 0, "udhcpc: {out}");
    let events = std::fs::read_to_string(lab.path("udhcpc-log.txt")).unwrap_or_default();
    // busybox names option 7 by number, its value in hex: 198.18.0.1.
    assert!(events.contains("bound log=c6120001"), "{events}");
    let address = lab.ipv4_of(&lab.cli(), "c").remove(0);
    let address = address.split('/').next().unwrap().to_string();

    // Three messages: RFC 3164 over UDP, RFC 5424 octet counted over TCP, RFC 5424
    // line framed over TCP.
    let send = |args: &[&str]| {
        let mut all = vec![
            "logger",
            "-n",
            "198.18.0.1",
            "-P",
            "514",
            "-t",
            "sztp-agent",
        ];
        all.extend_from_slice(args);
        let (code, out) = lab.run(&lab.cli(), &all, Duration::from_secs(10));
        assert_eq!(code, 0, "logger {args:?}: {out}");
    };
    send(&["--udp", "--rfc3164", "step one over udp"]);
    send(&["--tcp", "--octet-count", "--rfc5424", "step two counted"]);
    send(&["--tcp", "--rfc5424", "step three by line"]);
    send(&["--tcp", "--rfc5424", "-p", "user.err", "step four failed"]);
    // A sender that breaks its octet count: counted, its connection closed.
    lab.run(
        &lab.cli(),
        &[
            "bash",
            "-c",
            "printf '12x <13>broken' > /dev/tcp/198.18.0.1/514",
        ],
        Duration::from_secs(5),
    );

    let identity = format!(
        "[zerotouch@32473 address=\"{address}\" mac=\"{mac}\" client-id=\"01:{mac}\" hostname=\"dev20\" subnet=\"198.18.0.0/24\"]"
    );
    // Everything over TCP: the server's own account of the lease, then the device's
    // four lines.
    let tcp = lines(&lab, "rsyslog/tcp.log", 5);
    assert_eq!(tcp.len(), 5, "{tcp:#?}\n{}", server.log_text());
    assert!(tcp.iter().all(|l| !l.contains('\u{fffd}')), "{tcp:#?}");
    assert!(
        tcp[0].contains(" zerotouch-dhcpd - lease ")
            && tcp[0].contains(&identity)
            && tcp[0].contains(&format!("DHCPv4 lease granted: {address} until ")),
        "{}",
        tcp[0]
    );
    for (line, text) in tcp[1..].iter().zip([
        "step one over udp",
        "step two counted",
        "step three by line",
        "step four failed",
    ]) {
        assert!(line.contains(&identity), "{line}");
        assert!(line.ends_with(text), "{line}");
        assert!(line.contains(" sztp-agent "), "{line}");
    }
    // Over UDP only what is at least a warning: the error.
    let udp = lines(&lab, "rsyslog/udp.log", 1);
    std::thread::sleep(Duration::from_millis(300));
    let udp_all = lines(&lab, "rsyslog/udp.log", 1);
    assert_eq!(udp_all.len(), 1, "{udp_all:#?}");
    assert!(
        udp[0].starts_with("<11>1 ") && udp[0].ends_with("step four failed"),
        "{}",
        udp[0]
    );

    // The device's last 4 lines, kept by the plugin: by MAC, address or host's
    // listing, with zerotouchctl and over the JSON endpoint.
    let ctl = |args: &[&str]| {
        let bin = zerotouch_tests::binary("zerotouchctl");
        let mut all = vec![
            bin.to_str().unwrap(),
            "logs",
            "--config",
            cfg.to_str().unwrap(),
        ];
        all.extend_from_slice(args);
        lab.run(&lab.srv(), &all, Duration::from_secs(10))
    };
    let (code, listed) = ctl(&[]);
    assert_eq!(code, 0, "{listed}");
    let row = listed.lines().nth(1).unwrap_or_default();
    assert!(
        row.contains(mac) && row.contains(&address) && row.contains("dev20"),
        "{listed}"
    );
    assert_eq!(listed.lines().count(), 2, "one device: {listed}");
    for device in [mac, address.as_str(), &mac.to_uppercase().replace(':', "-")] {
        let (code, shown) = ctl(&[device]);
        assert_eq!(code, 0, "{device}: {shown}");
        let shown: Vec<&str> = shown.lines().collect();
        assert_eq!(shown.len(), 5, "a heading and 4 lines: {shown:#?}");
        assert!(shown[0].contains(&format!("address {address} hostname dev20: 4 lines")));
        assert!(
            shown[1].ends_with("sztp-agent: step one over udp"),
            "{}",
            shown[1]
        );
        assert!(shown[4].contains(" err ") && shown[4].ends_with("step four failed"));
    }
    let (code, unknown) = ctl(&["02:00:00:00:99:99"]);
    assert_eq!(code, 1, "{unknown}");
    assert!(
        unknown.contains("404") && unknown.contains("no lines kept"),
        "{unknown}"
    );
    let (code, json) = lab.run(
        &lab.srv(),
        &[
            "curl",
            "-sf",
            &format!("http://127.0.0.1:9270/devices/{address}"),
        ],
        Duration::from_secs(10),
    );
    assert_eq!(code, 0, "{json}");
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["device"]["mac"], mac);
    assert_eq!(json["device"]["client_id"], format!("01:{mac}"));
    let kept = json["lines"].as_array().unwrap();
    assert_eq!(kept.len(), 4);
    assert_eq!(kept[1]["app_name"], "sztp-agent");
    assert_eq!(kept[1]["severity"], "notice");
    assert_eq!(kept[1]["message"], "step two counted");
    assert_eq!(kept[3]["severity"], "err");

    let stopped = stop(&mut server);
    for count in [
        "received_udp=1",
        "received_tcp=3",
        "dropped_broken_count=1",
        "forwarded=6",
    ] {
        assert!(stopped.contains(count), "{count}: {stopped}");
    }
}

/// Nothing is lost across a `kill -9` of zerotouch: with the collector away, 200
/// messages wait in the spool; zerotouch is killed, rsyslog started, zerotouch started
/// again, and all 200 arrive, in order, none twice.
#[test]
fn a_spool_survives_kill_9_and_is_delivered_in_order_after_the_restart() {
    require_tools(&["ip", "logger", "rsyslogd"]);
    let (lab, cfg) = one_collector("spool_dir = \"spool\"");
    let mut server = lab.start_dhcpd_until(&cfg, "server.log", "syslog: receiving");
    const COUNT: usize = 200;
    send_many(&lab, "message", 0..COUNT);
    // Every message in the spool, and its batch on disk.
    let spool = lab.path("spool");
    let start = Instant::now();
    let spooled = || -> u64 {
        walk(&spool)
            .iter()
            .filter(|p| p.extension().is_some_and(|e| e == "seg"))
            .map(|p| std::fs::metadata(p).map_or(0, |m| m.len()))
            .sum()
    };
    while spooled() < (COUNT * 20) as u64 && start.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(200));
    server.stop_with(libc::SIGKILL, Duration::from_secs(10));

    let _collector = rsyslog(&lab, &lab.srv());
    let _again = lab.start_dhcpd_until(&cfg, "server2.log", "syslog: receiving");
    let got = lines(&lab, "rsyslog/tcp.log", COUNT);
    let texts: Vec<&str> = got
        .iter()
        .map(|l| l.rsplit_once("] ").map_or(l.as_str(), |(_, t)| t))
        .collect();
    let want: Vec<String> = (0..COUNT).map(|i| format!("message {i:05}")).collect();
    assert_eq!(texts, want, "in order, each once");
}

/// A lab whose client is 198.18.0.2, and the server's configuration: the syslog plugin
/// on 198.18.0.1:514 with `settings`, forwarding over TCP to rsyslog at 127.0.0.1:10514.
fn one_collector(settings: &str) -> (Lab, std::path::PathBuf) {
    collecting(
        settings,
        "{ address = \"127.0.0.1:10514\", transport = \"tcp\" }",
    )
}

/// The same with `collector`.
fn collecting(settings: &str, collector: &str) -> (Lab, std::path::PathBuf) {
    let lab = Lab::two_hosts();
    lab.addr(&lab.cli(), "c", "198.18.0.2/24");
    let plugin = format!(
        r#"
[[plugin]]
name = "syslog"
[plugin.settings]
listen = ["198.18.0.1:514"]
{settings}
collector = [{collector}]
"#
    );
    let cfg = lab.basic_config("", "", &plugin);
    (lab, cfg)
}

/// Stops `server`: the plugin's line of counters at stop.
fn stop(server: &mut Daemon) -> String {
    server.stop_with(libc::SIGTERM, Duration::from_secs(10));
    let log = server.log_text();
    log.lines()
        .find(|l| l.contains("syslog: stopped"))
        .unwrap_or_default()
        .to_string()
}

/// Every file under `dir`.
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// A flood from one source is held to its rate, counted, and another source is still
/// served; a source past its TCP connections is refused.
#[test]
fn a_flood_from_one_source_does_not_starve_another() {
    require_tools(&["ip", "rsyslogd"]);
    let (lab, cfg) = one_collector("messages_per_second = 100\nconnections_per_source = 2");
    lab.addr(&lab.cli(), "c", "198.18.0.3/24");
    let _collector = rsyslog(&lab, &lab.srv());
    let mut server = lab.start_dhcpd_until(&cfg, "server.log", "syslog: receiving");
    let refused = lab.in_ns(&lab.cli(), || {
        use std::io::Read;
        let flood = std::net::UdpSocket::bind("198.18.0.2:0").unwrap();
        for i in 0..2000 {
            let m = format!("<13>1 - - flood - - - flood {i}");
            flood.send_to(m.as_bytes(), "198.18.0.1:514").unwrap();
        }
        let other = std::net::UdpSocket::bind("198.18.0.3:0").unwrap();
        other
            .send_to(b"<13>1 - - other - - - still heard", "198.18.0.1:514")
            .unwrap();
        // Two connections are allowed from 198.18.0.2, the third is closed at once.
        let connect = || std::net::TcpStream::connect("198.18.0.1:514").unwrap();
        let _held = (connect(), connect());
        std::thread::sleep(Duration::from_millis(200));
        let mut third = connect();
        third
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        third.read(&mut [0u8; 16]).unwrap_or(0) == 0
    });
    assert!(refused, "a third connection from one source was kept");
    let start = Instant::now();
    let heard = loop {
        let got = lines(&lab, "rsyslog/tcp.log", 1);
        if got.iter().any(|l| l.ends_with("still heard"))
            || start.elapsed() > Duration::from_secs(10)
        {
            break got;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(
        heard.iter().any(|l| l.ends_with("still heard")),
        "{heard:#?}"
    );
    let flood = heard.iter().filter(|l| l.contains(" flood ")).count();
    assert!((100..=200).contains(&flood), "{flood} of the flood passed");
    let stopped = stop(&mut server);
    let count = |name: &str| -> u64 {
        stopped
            .split_whitespace()
            .find_map(|w| w.strip_prefix(&format!("{name}=")))
            .map_or(0, |v| v.parse().unwrap())
    };
    // Every flood message received was forwarded or held back, none lost in between.
    assert_eq!(
        count("dropped_rate_limited") + flood as u64 + 1,
        count("received_udp"),
        "{stopped}"
    );
    assert_eq!(count("dropped_connection_limit"), 1, "{stopped}");
}

/// Messages `"{tag} NNNNN"` for `range`, one a line, in a file: `logger`'s command line
/// that sends them over TCP (octet counted) from the client.
fn logger_of(lab: &Lab, tag: &str, range: std::ops::Range<usize>) -> Vec<String> {
    logger_to(lab, "198.18.0.1:514", tag, range)
}

/// The same, sent to `target` (`host:port`).
fn logger_to(lab: &Lab, target: &str, tag: &str, range: std::ops::Range<usize>) -> Vec<String> {
    let text: String = range.map(|i| format!("{tag} {i:05}\n")).collect();
    let file = lab.write(&format!("{tag}.txt"), &text);
    let (host, port) = target.split_once(':').expect("host:port");
    let mut args: Vec<String> = ["logger", "-n", host, "-P", port, "--tcp", "--octet-count"]
        .iter()
        .map(|a| a.to_string())
        .collect();
    args.extend(["-t", "agent", "-f"].map(String::from));
    args.push(file.display().to_string());
    args
}

/// Messages `"{tag} NNNNN"` for `range` sent by `logger` over TCP from the client.
fn send_many(lab: &Lab, tag: &str, range: std::ops::Range<usize>) {
    let args = logger_of(lab, tag, range);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, out) = lab.run(&lab.cli(), &args, Duration::from_secs(60));
    assert_eq!(code, 0, "logger: {out}");
}

/// The texts of `file`'s lines (after the structured data), once it holds `count`
/// lines or after `wait`.
fn texts(lab: &Lab, file: &str, count: usize, wait: Duration) -> Vec<String> {
    let start = Instant::now();
    loop {
        let got = lines(lab, file, 0);
        if got.len() >= count || start.elapsed() > wait {
            return got
                .iter()
                .map(|l| {
                    l.rsplit_once("] ")
                        .map_or(l.as_str(), |(_, t)| t)
                        .to_string()
                })
                .collect();
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// RELP loses nothing: 10 000 messages sent while the collector is stopped all arrive
/// once it starts, in order, none twice; and with rsyslog killed (`kill -9`) in the
/// middle of 10 000 more, every one of them is there after it is back (some may be
/// there twice: what rsyslog wrote and could not acknowledge is sent again).
#[test]
fn relp_loses_nothing_across_a_collector_outage_or_its_kill_9() {
    require_tools(&["ip", "logger", "rsyslogd"]);
    let (lab, cfg) = collecting(
        "spool_dir = \"spool\"\nmessages_per_second = 0",
        "{ address = \"127.0.0.1:10516\", transport = \"relp\" }",
    );
    let _server = lab.start_dhcpd_until(&cfg, "server.log", "syslog: receiving");
    const COUNT: usize = 10_000;
    send_many(&lab, "outage", 0..COUNT);
    let collector = rsyslog_named(&lab, &lab.srv(), "rsyslogd-1.out");
    let got = texts(&lab, "rsyslog/relp.log", COUNT, Duration::from_secs(60));
    let want: Vec<String> = (0..COUNT).map(|i| format!("outage {i:05}")).collect();
    assert_eq!(got.len(), COUNT, "{} arrived", got.len());
    assert!(got == want, "not in order, or some twice");

    // rsyslog killed while the next ones stream in: logger sends them in the
    // background, and rsyslog dies once a few thousand of them are written.
    const MORE: usize = 50_000;
    let args = logger_of(&lab, "killed", 0..MORE);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut sender = Daemon::spawn("logger", &lab.cli(), &args, &lab.path("logger.out"));
    let start = Instant::now();
    let mut at_kill = 0;
    while at_kill < COUNT + 2000 && start.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(5));
        at_kill = lines(&lab, "rsyslog/relp.log", 0).len();
    }
    let mut collector = collector;
    collector.stop_with(libc::SIGKILL, Duration::from_secs(10));
    assert!(
        at_kill < COUNT + MORE,
        "rsyslog was killed after the stream ended: {at_kill}"
    );
    // Every message handed to the server (TCP) before the collector is back: on a busy
    // machine logger may still be sending when rsyslog dies.
    assert_eq!(
        sender.wait_exit(Duration::from_secs(120)),
        Some(0),
        "logger: {}",
        sender.log_text()
    );
    let _again = rsyslog_named(&lab, &lab.srv(), "rsyslogd-2.out");
    let start = Instant::now();
    let missing = loop {
        let got: std::collections::HashSet<String> =
            texts(&lab, "rsyslog/relp.log", 0, Duration::ZERO)
                .into_iter()
                .collect();
        let missing: Vec<usize> = (0..MORE)
            .filter(|i| !got.contains(&format!("killed {i:05}")))
            .collect();
        if missing.is_empty() || start.elapsed() > Duration::from_secs(60) {
            break missing;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(
        missing.is_empty(),
        "{} missing, the first {:?}",
        missing.len(),
        missing.first()
    );
}

/// A spool smaller than an outage: the oldest messages are given up, their number
/// counted exactly and logged, and the newest arrive, in order, once the collector is
/// back.
#[test]
fn a_spool_smaller_than_the_outage_gives_up_the_oldest_and_counts_them() {
    require_tools(&["ip", "logger", "rsyslogd"]);
    let (lab, cfg) =
        one_collector("spool_dir = \"spool\"\nspool_bytes = 8192\nmessages_per_second = 0");
    let mut server = lab.start_dhcpd_until(&cfg, "server.log", "syslog: receiving");
    const COUNT: usize = 500;
    send_many(&lab, "overflow", 0..COUNT);
    std::thread::sleep(Duration::from_millis(300));
    let _collector = rsyslog(&lab, &lab.srv());
    // The queue holds what the spool holds: wait for the lines to stop coming.
    let mut got = Vec::new();
    let start = Instant::now();
    loop {
        std::thread::sleep(Duration::from_millis(500));
        let now = texts(&lab, "rsyslog/tcp.log", 0, Duration::ZERO);
        if (!now.is_empty() && now.len() == got.len()) || start.elapsed() > Duration::from_secs(20)
        {
            break;
        }
        got = now;
    }
    let stopped = stop(&mut server);
    let dropped: usize = stopped
        .split_whitespace()
        .find_map(|w| w.strip_prefix("dropped_queue_full="))
        .map_or(0, |v| v.parse().unwrap());
    assert!(dropped > 0 && dropped < COUNT, "{stopped}");
    let want: Vec<String> = (dropped..COUNT)
        .map(|i| format!("overflow {i:05}"))
        .collect();
    assert!(
        got == want,
        "{} arrived, {dropped} given up: {got:?}",
        got.len()
    );
    assert!(
        server.log_text().contains("the collector's queue is full"),
        "{}",
        server.log_text()
    );
}

/// Over TCP a message leaves the queue once the collector's TCP acknowledged it: with
/// the link to rsyslog's host down, 200 messages sit written and unacknowledged in the
/// kernel when rsyslog is killed (`kill -9`); once the link is up and rsyslog started
/// again, all 200 arrive, in order, once each.
#[test]
fn messages_the_collectors_tcp_did_not_acknowledge_are_sent_again() {
    require_tools(&["ip", "logger", "rsyslogd"]);
    let (mut lab, cfg) = collecting(
        "spool_dir = \"spool\"\nmessages_per_second = 0",
        "{ address = \"198.19.9.2:10514\", transport = \"tcp\" }",
    );
    // The collector's host, one link away.
    let col = lab.ns("col");
    lab.link(&lab.srv(), "k", &col, "o");
    lab.addr(&lab.srv(), "k", "198.19.9.1/24");
    lab.addr(&col, "o", "198.19.9.2/24");
    let body = r#"module(load="imtcp")
input(type="imtcp" port="10514" ruleset="tcp")
ruleset(name="tcp") { action(type="omfile" file="DIR/tcp.log" template="RSYSLOG_SyslogProtocol23Format") }
"#;
    let mut collector = rsyslogd(&lab, &col, "col", body, 10514, "rsyslogd-1.out");
    let mut server = lab.start_dhcpd_until(&cfg, "server.log", "syslog: receiving");
    send_many(&lab, "before", 0..10);
    assert_eq!(
        texts(&lab, "col/tcp.log", 10, Duration::from_secs(10)).len(),
        10
    );

    let link = |state: &str| {
        let (code, out) = lab.run(
            &col,
            &["ip", "link", "set", &lab.ifname("o"), state],
            Duration::from_secs(5),
        );
        assert_eq!(code, 0, "ip link set {state}: {out}");
    };
    link("down");
    send_many(&lab, "held", 0..200);
    std::thread::sleep(Duration::from_millis(500));
    collector.stop_with(libc::SIGKILL, Duration::from_secs(10));
    link("up");
    let _again = rsyslogd(&lab, &col, "col", body, 10514, "rsyslogd-2.out");

    let got = texts(&lab, "col/tcp.log", 210, Duration::from_secs(30));
    let want: Vec<String> = (0..10)
        .map(|i| format!("before {i:05}"))
        .chain((0..200).map(|i| format!("held {i:05}")))
        .collect();
    assert!(
        got == want,
        "{} lines: {got:#?}\n{}",
        got.len(),
        server.log_text()
    );
    stop(&mut server);
}

/// Receiving RELP: a relay (rsyslog with `omrelp` in the device's namespace) forwards
/// what `logger` gives it to zerotouch over RELP; every message reaches the collector,
/// in order, tagged with the relay's address.
#[test]
fn messages_relayed_over_relp_arrive_whole_and_in_order() {
    require_tools(&["ip", "logger", "rsyslogd"]);
    let (lab, cfg) = one_collector("listen_relp = [\"198.18.0.1:2514\"]\nmessages_per_second = 0");
    let mut server = lab.start_dhcpd_until(&cfg, "server.log", "syslog: receiving");
    let _collector = rsyslog(&lab, &lab.srv());
    let relay = r#"module(load="imtcp")
module(load="omrelp")
input(type="imtcp" address="127.0.0.1" port="10601" ruleset="fwd")
ruleset(name="fwd") { action(type="omrelp" target="198.18.0.1" port="2514" template="RSYSLOG_SyslogProtocol23Format") }
"#;
    let _relay = rsyslogd(&lab, &lab.cli(), "relay", relay, 10601, "rsyslogd.out");
    const COUNT: usize = 1000;
    let args = logger_to(&lab, "127.0.0.1:10601", "relayed", 0..COUNT);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, out) = lab.run(&lab.cli(), &args, Duration::from_secs(30));
    assert_eq!(code, 0, "logger: {out}");
    let got = lines(&lab, "rsyslog/tcp.log", COUNT);
    assert_eq!(
        got.len(),
        COUNT,
        "{}",
        std::fs::read_to_string(lab.path("relay/rsyslogd.out")).unwrap_or_default()
    );
    for (i, line) in got.iter().enumerate() {
        assert!(line.ends_with(&format!("relayed {i:05}")), "{line}");
        assert!(
            line.contains("[zerotouch@32473 address=\"198.18.0.2\"]"),
            "{line}"
        );
    }
    assert!(stop(&mut server).contains(&format!("received_relp={COUNT}")));
}

/// TLS to the collector (RFC 5425): rsyslog with its gtls driver, its certificate from
/// the lab PKI, checked by zerotouch against the CA; messages arrive tagged.
#[test]
fn messages_reach_a_tls_collector() {
    require_tools(&["ip", "logger", "rsyslogd"]);
    let (lab, cfg) = collecting(
        "messages_per_second = 0",
        "{ address = \"127.0.0.1:10517\", transport = \"tls\", ca = \"pki/server-ca.pem\" }",
    );
    let pki = lab.path("pki");
    common::pki_lab(&pki, "127.0.0.1", &[]);
    let p = pki.display();
    let body = format!(
        r#"global(DefaultNetstreamDriver="gtls" DefaultNetstreamDriverCAFile="{p}/server-ca.pem" DefaultNetstreamDriverCertFile="{p}/server.pem" DefaultNetstreamDriverKeyFile="{p}/server.key")
module(load="imtcp" StreamDriver.Name="gtls" StreamDriver.Mode="1" StreamDriver.Authmode="anon")
input(type="imtcp" address="127.0.0.1" port="10517" ruleset="tls")
ruleset(name="tls") {{ action(type="omfile" file="DIR/tls.log" template="RSYSLOG_SyslogProtocol23Format") }}
"#
    );
    let _collector = rsyslogd(&lab, &lab.srv(), "rsyslog", &body, 10517, "rsyslogd.out");
    let mut server = lab.start_dhcpd_until(&cfg, "server.log", "syslog: receiving");
    send_many(&lab, "secret", 0..50);
    let got = texts(&lab, "rsyslog/tls.log", 50, Duration::from_secs(10));
    let want: Vec<String> = (0..50).map(|i| format!("secret {i:05}")).collect();
    assert!(got == want, "{got:?}\n{}", server.log_text());
    assert!(
        server
            .log_text()
            .contains("connected to the collector over TLS")
    );
    stop(&mut server);
}

/// Receiving over TLS (RFC 5425): `openssl s_client` as the sender, checking this
/// receiver's certificate (lab PKI) against the CA; its messages reach the collector.
#[test]
fn messages_sent_over_tls_are_received() {
    require_tools(&["ip", "openssl", "rsyslogd"]);
    let (lab, cfg) = one_collector(
        "listen_tls = [\"198.18.0.1:6514\"]\ncertificate = \"pki/server.pem\"\nprivate_key = \"pki/server.key\"",
    );
    common::pki_lab(&lab.path("pki"), "198.18.0.1", &[]);
    let _collector = rsyslog(&lab, &lab.srv());
    let mut server = lab.start_dhcpd_until(&cfg, "server.log", "syslog: receiving");
    let send = |pki: &str, texts: &[&str]| {
        let lines: String = texts
            .iter()
            .map(|t| format!("<13>1 - dev9 agent - - - {t}\\n"))
            .collect();
        let script = format!(
            "printf '{lines}' | openssl s_client -connect 198.18.0.1:6514 -CAfile {} \
             -verify_return_error -quiet -no_ign_eof",
            lab.path(pki).join("server-ca.pem").display()
        );
        lab.run(&lab.cli(), &["sh", "-c", &script], Duration::from_secs(20))
    };
    let (code, out) = send("pki", &["over tls 1", "over tls 2"]);
    assert_eq!(code, 0, "openssl s_client: {out}");
    let got = texts(&lab, "rsyslog/tcp.log", 2, Duration::from_secs(10));
    assert_eq!(got, ["over tls 1", "over tls 2"], "{}", server.log_text());

    // A certificate renewed in place (another CA) and a SIGHUP: the next handshakes
    // use it.
    common::pki_lab(&lab.path("pki2"), "198.18.0.1", &[]);
    for file in ["server.pem", "server.key"] {
        std::fs::copy(lab.path("pki2").join(file), lab.path("pki").join(file)).unwrap();
    }
    server.signal(libc::SIGHUP);
    server.wait_for_log("reload: settings applied", Duration::from_secs(10));
    let (code, out) = send("pki", &["with the old ca"]);
    assert_ne!(
        code, 0,
        "the old CA does not sign the new certificate: {out}"
    );
    let (code, out) = send("pki2", &["over tls 3"]);
    assert_eq!(code, 0, "openssl s_client: {out}");
    let got = texts(&lab, "rsyslog/tcp.log", 3, Duration::from_secs(10));
    assert_eq!(got, ["over tls 1", "over tls 2", "over tls 3"]);
    assert!(stop(&mut server).contains("received_tcp=3"));
}

/// Waits until `server`'s log holds `needle` `n` times.
fn wait_logged(server: &Daemon, needle: &str, n: usize) {
    let start = Instant::now();
    while server.log_text().matches(needle).count() < n {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{needle:?} not logged {n} times:\n{}",
            server.log_text()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A `SIGHUP` changes the plugin in place and loses nothing: with the TCP collector
/// away and 100 messages in its spool, a reload changes that collector's filter (a new
/// queue takes the spool), adds a RELP collector and a second listen address, while a
/// sender's connection stays open across it. A reload that cannot bind changes
/// nothing; one that removes the TCP collector and the second address stops them.
#[test]
fn a_sighup_changes_collectors_and_receivers_in_place_and_loses_nothing() {
    require_tools(&["ip", "logger", "rsyslogd"]);
    let (lab, cfg) = one_collector("spool_dir = \"spool\"\nmessages_per_second = 0");
    let mut server = lab.start_dhcpd_until(&cfg, "server.log", "syslog: receiving");
    let go = lab.path("go");
    let held = format!(
        "exec 3<>/dev/tcp/198.18.0.1/514; printf '<13>1 - - agent - - - held one\\n' >&3; \
         while [ ! -e {go} ]; do sleep 0.1; done; printf '<13>1 - - agent - - - held two\\n' >&3; sleep 2",
        go = go.display()
    );
    let mut holder = Daemon::spawn(
        "held",
        &lab.cli(),
        &["bash", "-c", &held],
        &lab.path("held.out"),
    );
    send_many(&lab, "before", 0..100);

    let text = std::fs::read_to_string(&cfg).unwrap();
    let hup = |text: &str, applied: usize| {
        std::fs::write(&cfg, text).unwrap();
        server.signal(libc::SIGHUP);
        wait_logged(&server, "reload: settings", applied);
    };
    let changed = text
        .replace(
            "listen = [\"198.18.0.1:514\"]",
            "listen = [\"198.18.0.1:514\", \"198.18.0.1:1514\"]",
        )
        .replace(
            "collector = [{ address = \"127.0.0.1:10514\", transport = \"tcp\" }]",
            "collector = [{ address = \"127.0.0.1:10514\", transport = \"tcp\", severity = \"notice\" }, { address = \"127.0.0.1:10516\", transport = \"relp\" }]",
        );
    assert_ne!(changed, text);
    hup(&changed, 1);
    assert!(
        server.log_text().contains("syslog: settings applied"),
        "{}",
        server.log_text()
    );

    // The new address takes messages; the new filter leaves the TCP collector the
    // info message; the held connection goes on.
    let args = logger_to(&lab, "198.18.0.1:1514", "after", 0..100);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, out) = lab.run(&lab.cli(), &args, Duration::from_secs(30));
    assert_eq!(code, 0, "logger: {out}");
    let one = |port: &str, priority: &str, text: &str| {
        let (code, out) = lab.run(
            &lab.cli(),
            &[
                "logger",
                "-n",
                "198.18.0.1",
                "-P",
                port,
                "--tcp",
                "-p",
                priority,
                "-t",
                "agent",
                text,
            ],
            Duration::from_secs(10),
        );
        (code, out)
    };
    assert_eq!(one("514", "user.info", "only relp").0, 0);
    std::fs::write(&go, "").unwrap();
    holder.wait_exit(Duration::from_secs(10));

    let _collector = rsyslog(&lab, &lab.srv());
    let number = |t: &String, tag: &str| {
        t.strip_prefix(tag)
            .and_then(|n| n.trim().parse::<usize>().ok())
    };
    let tcp = texts(&lab, "rsyslog/tcp.log", 202, Duration::from_secs(20));
    let befores: Vec<usize> = tcp.iter().filter_map(|t| number(t, "before")).collect();
    let afters: Vec<usize> = tcp.iter().filter_map(|t| number(t, "after")).collect();
    assert_eq!(befores, (0..100).collect::<Vec<_>>(), "{tcp:#?}");
    assert_eq!(afters, (0..100).collect::<Vec<_>>(), "{tcp:#?}");
    for held in ["held one", "held two"] {
        assert_eq!(
            tcp.iter().filter(|t| *t == held).count(),
            1,
            "{held}: {tcp:#?}"
        );
    }
    assert_eq!(
        tcp.len(),
        202,
        "and nothing else (not the info message): {tcp:#?}"
    );
    let relp = texts(&lab, "rsyslog/relp.log", 102, Duration::from_secs(20));
    let afters: Vec<usize> = relp.iter().filter_map(|t| number(t, "after")).collect();
    assert_eq!(afters, (0..100).collect::<Vec<_>>(), "{relp:#?}");
    assert!(
        relp.contains(&"only relp".to_string()) && relp.contains(&"held two".to_string()),
        "{relp:#?}"
    );
    assert_eq!(relp.len(), 102, "what came after the reload: {relp:#?}");

    // An address rsyslog holds: not applied, the plugin goes on as it was.
    let busy = changed.replace(
        "messages_per_second = 0",
        "messages_per_second = 0\nlisten_relp = [\"127.0.0.1:10516\"]",
    );
    hup(&busy, 2);
    let log = server.log_text();
    assert!(
        log.contains("settings not applied") && log.contains("10516"),
        "{log}"
    );
    assert_eq!(one("1514", "user.notice", "still").0, 0);
    assert_eq!(
        texts(&lab, "rsyslog/tcp.log", 203, Duration::from_secs(10)).len(),
        203
    );

    // The TCP collector and the second address removed.
    let fewer = changed.replace(", \"198.18.0.1:1514\"]", "]").replace(
        "{ address = \"127.0.0.1:10514\", transport = \"tcp\", severity = \"notice\" }, ",
        "",
    );
    hup(&fewer, 3);
    assert_ne!(
        one("1514", "user.notice", "refused").0,
        0,
        "the address was closed"
    );
    assert_eq!(one("514", "user.notice", "last").0, 0);
    let relp = texts(&lab, "rsyslog/relp.log", 104, Duration::from_secs(10));
    assert_eq!(relp.last().map(String::as_str), Some("last"), "{relp:#?}");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        lines(&lab, "rsyslog/tcp.log", 0).len(),
        203,
        "the TCP collector is gone"
    );
    let stopped = stop(&mut server);
    // 203 to the TCP collector (gone, still counted) and 104 over RELP.
    assert!(
        stopped.contains("received_tcp=205 ") && stopped.contains("forwarded=307"),
        "{stopped}"
    );
}
