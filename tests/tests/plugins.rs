//! Plugins from the configuration: a Rust plugin built as a shared object and a C plugin
//! built with gcc change the replies a real client (busybox udhcpc) receives; a
//! panicking plugin does not take the server down; a plugin for another ABI version and
//! bad plugin settings are refused with file, line and key; the built-in `metrics`
//! service answers curl with the server's counters and leases, and follows SIGHUP.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::write_script;
use zerotouch_tests::{Daemon, Lab, binary, check_config, leases, require_tools};

/// udhcpc's script, recording the options the plugins set.
fn script() -> String {
    common::udhcpc_recording("ip=$ip hostname=$hostname opt224=$opt224", "events.log")
}

/// Builds the C example plugin into `dir`, with extra gcc flags.
fn build_c_plugin(dir: &Path, name: &str, flags: &[&str]) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = dir.join(name);
    let status = Command::new("gcc")
        .args([
            "-shared", "-fPIC", "-O2", "-Wall", "-Wextra", "-Werror", "-I",
        ])
        .arg(root.join("plugins/api/include"))
        .args(flags)
        .arg("-o")
        .arg(&out)
        .arg(root.join("plugins/examples/c-hostname/hostname_plugin.c"))
        .status()
        .expect("gcc");
    assert!(status.success(), "gcc failed");
    out
}

fn rust_plugin() -> PathBuf {
    binary("libzerotouch_example_site_option.so")
}

fn config(lab: &Lab, plugins: &str) -> PathBuf {
    lab.basic_config("", "", plugins)
}

/// udhcpc asking for option 224; it quits once bound (`-q`) unless `extra` holds `-R`,
/// in which case it stays and releases its lease when stopped.
fn udhcpc(lab: &Lab, log: &str, extra: &[&str]) -> Daemon {
    let script = write_script(lab.dir.path(), "udhcpc-script", &script());
    let ifc = lab.ifname("c");
    let quit = if extra.contains(&"-R") { "-f" } else { "-q" };
    let mut args = vec![
        "udhcpc", "-f", quit, "-t", "3", "-T", "1", "-n", "-O", "224", "-i", &ifc, "-s", &script,
    ];
    args.extend_from_slice(extra);
    Daemon::spawn("udhcpc", &lab.cli(), &args, &lab.path(log))
}

fn events(lab: &Lab) -> String {
    std::fs::read_to_string(lab.path("events.log")).unwrap_or_default()
}

#[test]
fn rust_and_c_plugins_change_the_reply_a_real_client_receives() {
    require_tools(&["ip", "udhcpc", "gcc"]);
    let lab = Lab::two_hosts();
    lab.set_mac(&lab.cli(), "c", "02:00:00:00:07:01");
    let c_plugin = build_c_plugin(lab.dir.path(), "libhostname_plugin.so", &[]);
    let cfg = config(
        &lab,
        &format!(
            r#"
[[plugin]]
name = "noop"

[[plugin]]
name = "site-option"
path = "{rust}"
[plugin.settings]
code = 224
site = "lab-7"

[[plugin]]
name = "hostname"
path = "{c}"
[plugin.settings]
prefix = "dev"
"#,
            rust = rust_plugin().display(),
            c = c_plugin.display()
        ),
    );
    let mut server = lab.start_dhcpd(&cfg, "server.log");
    // -R: udhcpc releases its lease when it is stopped.
    let mut client = udhcpc(&lab, "udhcpc.log", &["-R"]);
    let start = Instant::now();
    while !events(&lab).contains("bound ip=") {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{}",
            client.log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    client.stop_with(libc::SIGTERM, Duration::from_secs(10));
    let ev = events(&lab);
    // The Rust plugin's option 224 ("lab-7" in hex, as udhcpc shows unknown options), and
    // the C plugin's host name built from the site the Rust plugin left in the context.
    assert!(ev.contains("bound ip=198.18.0."), "{ev}");
    assert!(ev.contains("opt224=6c61622d37"), "{ev}");
    assert!(ev.contains("hostname=lab-7-020000000701"), "{ev}");
    let log = server.log_text();
    assert!(
        log.contains("dynamic plugin loaded plugin=\"site-option\"") || log.contains("site-option"),
        "{log}"
    );
    // The C plugin's lease events, through the server's log: committed with the ACK,
    // released when udhcpc exits (-R).
    let lease = leases::wait_for(
        &lab.path("leases.sqlite"),
        "02:00:00:00:07:01",
        Duration::from_secs(10),
        "released",
        |r| r.state == "released",
    );
    server.wait_for_log(
        &format!("lease committed {}", lease.address),
        Duration::from_secs(10),
    );
    server.wait_for_log(
        &format!("lease released {}", lease.address),
        Duration::from_secs(10),
    );
}

/// The Rust plugin, loaded through the C ABI, on the DHCPv6 path: the REPLY dhclient -6
/// receives carries its option.
#[test]
fn a_dynamic_plugin_changes_the_dhcpv6_reply_a_real_client_receives() {
    require_tools(&["ip", "dhclient"]);
    let lab = Lab::two_hosts_v6();
    let cfg = lab.basic_config6(
        "",
        &format!(
            "\n[[plugin]]\nname = \"site-option\"\npath = \"{}\"\n[plugin.settings]\ncode = 224\nsite = \"lab-6\"\n",
            rust_plugin().display()
        ),
    );
    let server = lab.start_dhcpd_until(&cfg, "server.log", "DHCPv6 serving");
    let (code, out, leases) =
        lab.dhclient6_once("dhclient6", "option dhcp6.site code 224 = string;\n", &[]);
    assert_eq!(code, 0, "{out}\n{}", server.log_text());
    assert!(
        leases.contains("option dhcp6.site \"lab-6\";"),
        "lease file:\n{leases}"
    );
}

#[test]
fn a_panicking_plugin_drops_its_packet_and_the_server_keeps_serving() {
    require_tools(&["ip", "udhcpc"]);
    let lab = Lab::two_hosts();
    let cfg = config(
        &lab,
        &format!(
            r#"
[[plugin]]
name = "site-option"
path = "{rust}"
on_error = "drop"
[plugin.settings]
code = 224
site = "lab-8"
panic_for_hostname = "boom"
"#,
            rust = rust_plugin().display()
        ),
    );
    let mut server = lab.start_dhcpd(&cfg, "server.log");
    // A client named "boom" makes the plugin panic on each of its packets: dropped.
    let mut boom = udhcpc(&lab, "boom.log", &["-x", "hostname:boom"]);
    assert_ne!(
        boom.wait_exit(Duration::from_secs(30)),
        Some(0),
        "{}",
        boom.log_text()
    );
    // Another client is served, by the same process.
    let mut fine = udhcpc(&lab, "fine.log", &["-x", "hostname:fine"]);
    assert_eq!(
        fine.wait_exit(Duration::from_secs(30)),
        Some(0),
        "{}",
        fine.log_text()
    );
    assert!(
        events(&lab).contains("opt224=6c61622d38"),
        "{}",
        events(&lab)
    );
    server.signal(libc::SIGUSR1);
    server.wait_for_log("plugin_site-option_errors=", Duration::from_secs(10));
    let log = server.log_text();
    assert!(
        log.contains(
            "plugin failed (packet dropped): panicked: asked to panic for host name \"boom\""
        ),
        "{log}"
    );
    assert!(log.contains("plugin_error="), "{log}");
}

/// Writes `text` to `config` and checks it.
fn check_text(config: &Path, text: impl AsRef<str>) -> (i32, String) {
    std::fs::write(config, text.as_ref()).expect("write config");
    check(config)
}

fn check(config: &Path) -> (i32, String) {
    let out = check_config("zerotouch-dhcpd", config);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout),
    )
}

#[test]
fn a_plugin_for_another_abi_version_is_refused_naming_both_versions() {
    require_tools(&["gcc"]);
    let dir = tempfile::tempdir().unwrap();
    let so = build_c_plugin(dir.path(), "libwrong.so", &["-DZT_EXAMPLE_WRONG_ABI"]);
    let cfg = dir.path().join("dhcpd.toml");
    let (code, out) = check_text(
        &cfg,
        format!(
            "[dhcp4]\ninterfaces = [\"eth0\"]\n\n[[plugin]]\nname = \"hostname\"\npath = \"{}\"\n",
            so.display()
        ),
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(&format!(
            "{}:5:8: plugin[0].path: {} is built for plugin ABI version 3; this server speaks ABI version 2",
            cfg.display(),
            so.display()
        )),
        "{out}"
    );
    // A table smaller than ABI 2's is refused before any of it is read.
    let short = build_c_plugin(dir.path(), "libshort.so", &["-DZT_EXAMPLE_SHORT_TABLE"]);
    let (code, out) = check_text(
        &cfg,
        format!(
            "[dhcp4]\ninterfaces = [\"eth0\"]\n\n[[plugin]]\nname = \"hostname\"\npath = \"{}\"\n",
            short.display()
        ),
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("its function table is 16 octets, smaller than ABI version 2's 80"),
        "{out}"
    );
    // The same file built right loads.
    let good = build_c_plugin(dir.path(), "libgood.so", &[]);
    let (code, out) = check_text(
        &cfg,
        format!(
            "[dhcp4]\ninterfaces = [\"eth0\"]\n\n[[plugin]]\nname = \"hostname\"\npath = \"{}\"\n",
            good.display()
        ),
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("1 plugins"), "{out}");
}

#[test]
fn plugin_settings_errors_name_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("dhcpd.toml");
    let (code, out) = check_text(
        &cfg,
        format!(
            r#"[dhcp4]
interfaces = ["eth0"]

[[plugin]]
name = "noop"
[plugin.settings]
hooks = ["reply_ready", "reply_sent"]

[[plugin]]
name = "site-option"
path = "{rust}"
[plugin.settings]
code = 53
site = "x"

[[plugin]]
name = "metrics"
[plugin.settings]
listen = "localhost"
lsten = 1

[[plugin]]
name = "nosuch"
"#,
            rust = rust_plugin().display()
        ),
    );
    assert_eq!(code, 1, "{out}");
    let f = cfg.display();
    for expected in [
        format!(
            "{f}:7:25: plugin[0].settings.hooks[1]: noop (built-in plugin noop): got \"reply_sent\", expected one of packet_received"
        ),
        format!(
            "{f}:13:8: plugin[1].settings.code: site-option (plugin site-option from {}): got 53, expected an option code",
            rust_plugin().display()
        ),
        format!(
            "{f}:19:10: plugin[2].settings.listen: metrics (built-in plugin metrics): invalid socket address syntax"
        ),
        // Every shape error of a plugin's settings in one run (issue 17), not the first.
        format!(
            "{f}:20:1: plugin[2].settings.lsten: metrics (built-in plugin metrics): unknown field `lsten`; did you mean `listen`?"
        ),
        format!(
            "{f}:23:8: plugin[3].name: no built-in plugin \"nosuch\" in this build (built in: noop, metrics, sztp, bootstrap, dns, syslog)"
        ),
        "5 error(s)".to_string(),
    ] {
        assert!(out.contains(&expected), "missing {expected:?} in:\n{out}");
    }

    // One plugin, several instances: each needs its own name.
    let (code, out) = check_text(
        &cfg,
        "[dhcp4]\ninterfaces = [\"eth0\"]\n\n[[plugin]]\nname = \"noop\"\n\n[[plugin]]\nname = \"noop\"\n",
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(&format!(
            "{f}:8:8: plugin[1].name: instance \"noop\" is already plugin[0]"
        )),
        "{out}"
    );
    let (code, out) = check_text(
        &cfg,
        "[dhcp4]\ninterfaces = [\"eth0\"]\n\n[[plugin]]\nname = \"noop\"\n\n[[plugin]]\nname = \"noop\"\ninstance = \"noop-2\"\n[plugin.settings]\nhooks = [\"reply_ready\"]\n",
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("2 plugins"), "{out}");

    // Entry keys are the core's: checked with the rest of the file.
    let (code, out) = check_text(
        &cfg,
        "[dhcp4]\ninterfaces = [\"eth0\"]\n\n[[plugin]]\nname = \"noop\"\non_error = \"ignore\"\nhook_timeout_ms = 0\n",
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(&format!(
            "{f}:6:12: plugin[0].on_error: got \"ignore\", expected \"continue\" or \"drop\""
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "{f}:7:19: plugin[0].hook_timeout_ms: got 0, expected 1 to 10000 milliseconds"
        )),
        "{out}"
    );
}

#[test]
fn metrics_service_answers_curl_and_follows_sighup() {
    require_tools(&["ip", "udhcpc", "curl"]);
    let lab = Lab::two_hosts();
    lab.set_mac(&lab.cli(), "c", "02:00:00:00:07:03");
    let plugins = |port: u16| {
        format!(
            "\n[[plugin]]\nname = \"metrics\"\n[plugin.settings]\nlisten = \"127.0.0.1:{port}\"\n"
        )
    };
    let cfg = config(&lab, &plugins(9267));
    let mut server = lab.start_dhcpd(&cfg, "server.log");
    lab.run(
        &lab.srv(),
        &["ip", "link", "set", "lo", "up"],
        Duration::from_secs(5),
    );
    let scrape = |port: u16| {
        lab.run(
            &lab.srv(),
            &[
                "curl",
                "-sS",
                "--max-time",
                "5",
                &format!("http://127.0.0.1:{port}/metrics"),
            ],
            Duration::from_secs(10),
        )
    };
    // A scrape before any lease: the plugin reads the (empty) table now, and learns of
    // the lease below from the server's lease changes, not from another read.
    let (code, body) = scrape(9267);
    assert_eq!(code, 0, "{body}");
    assert!(body.contains("zerotouch_lease_store_up 1"), "{body}");
    assert!(!body.contains("zerotouch_leases{"), "{body}");
    let mut client = udhcpc(&lab, "udhcpc.log", &[]);
    assert_eq!(
        client.wait_exit(Duration::from_secs(30)),
        Some(0),
        "{}",
        client.log_text()
    );
    leases::wait_for(
        &lab.path("leases.sqlite"),
        "02:00:00:00:07:03",
        Duration::from_secs(10),
        "active",
        |r| r.state == "active",
    );

    // The lease change reaches the plugin just after the commit the test saw.
    let start = std::time::Instant::now();
    let (code, body) = loop {
        let (code, body) = scrape(9267);
        if body.contains("state=\"active\"} 1") || start.elapsed() > Duration::from_secs(5) {
            break (code, body);
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(code, 0, "{body}");
    for line in [
        "zerotouch_events_total{event=\"tx_ack\"} 1",
        "zerotouch_pool_addresses{subnet=\"198.18.0.0/24\"} 51",
        "zerotouch_leases{subnet=\"198.18.0.0/24\",state=\"active\"} 1",
        "zerotouch_lease_store_up 1",
    ] {
        assert!(body.contains(line), "missing {line:?} in:\n{body}");
    }
    // Another path is 404, another method 405.
    for (args, status) in [
        (vec!["http://127.0.0.1:9267/nope"], "404"),
        (vec!["-X", "POST", "http://127.0.0.1:9267/metrics"], "405"),
    ] {
        let mut argv = vec![
            "curl",
            "-sS",
            "--max-time",
            "5",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
        ];
        argv.extend(args);
        let (_, out) = lab.run(&lab.srv(), &argv, Duration::from_secs(10));
        assert_eq!(out.trim(), status);
    }

    // SIGHUP with a new port: the listener moves.
    std::fs::write(
        &cfg,
        std::fs::read_to_string(&cfg)
            .unwrap()
            .replace("9267", "9268"),
    )
    .unwrap();
    server.signal(libc::SIGHUP);
    server.wait_for_log("reload: settings applied", Duration::from_secs(10));
    let start = Instant::now();
    loop {
        let (code, body) = scrape(9268);
        if code == 0 && body.contains("zerotouch_events_total") {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "{body}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let (code, _) = scrape(9267);
    assert_ne!(code, 0, "the old port was closed");
}

/// A plugin that waits (here `noop`'s `wait_ms`, as a plugin waiting on a slow backend
/// would) parks its packet: the server answers other clients meanwhile, answers the
/// parked one when the wait is over, and a wait past `hook_timeout_ms` fails the hook
/// (`on_error = "drop"`: no answer, counted).
#[test]
fn a_waiting_plugin_parks_its_packet_while_other_clients_are_served() {
    use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
    use zerotouch_proto::v4::{self, Message, MessageType};
    require_tools(&["ip"]);
    let lab = Lab::two_hosts();
    lab.addr(&lab.cli(), "c", "198.18.0.9/24");
    let text = lab
        .server_config()
        .dhcp4(&[&lab.ifname("s")], "")
        .class4(
            "slow",
            "{ option = 60, exact = \"slow\" }",
            "plugin.noop = { wait_ms = 1500 }",
        )
        .class4(
            "stuck",
            "{ option = 60, exact = \"stuck\" }",
            "plugin.noop = { wait_ms = 8000 }",
        )
        .subnet4("198.18.0.0/24", "198.18.0.100 - 198.18.0.110", "")
        .plugin("noop", "hook_timeout_ms = 3000\non_error = \"drop\"")
        .text();
    let cfg = lab.write("dhcpd.toml", &text);
    let mut server = lab.start_dhcpd(&cfg, "server.log");
    let order = lab.in_ns(&lab.cli(), || {
        let sock = UdpSocket::bind("0.0.0.0:68").expect("bind 68");
        sock.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let server = SocketAddrV4::new(Ipv4Addr::new(198, 18, 0, 1), 67);
        let discover = |xid: u32, vendor: &[u8]| {
            let mut m = Message::client(MessageType::Discover, xid, &[2, 0, 0, 0, 9, xid as u8]);
            m.flags = v4::BROADCAST_FLAG;
            if !vendor.is_empty() {
                m.options.set(60, vendor.to_vec());
            }
            m.to_bytes()
        };
        // The slow and the stuck client first, then one no plugin waits for.
        sock.send_to(&discover(0xa, b"slow"), server).unwrap();
        sock.send_to(&discover(0xc, b"stuck"), server).unwrap();
        sock.send_to(&discover(0xb, b""), server).unwrap();
        let mut order = Vec::new();
        let mut buf = [0u8; 1500];
        let start = Instant::now();
        // Past the stuck client's 3 s bound, with room to spare.
        while start.elapsed() < Duration::from_secs(5) {
            if let Ok((n, _)) = sock.recv_from(&mut buf) {
                let m = v4::decode(&buf[..n]).unwrap();
                if m.message_type() == Some(MessageType::Offer) {
                    order.push(m.xid);
                }
            }
        }
        order
    });
    assert_eq!(
        order,
        vec![0xb, 0xa],
        "the plain client is answered while the slow one waits; the stuck one never"
    );
    server.wait_for_log(
        "timed out after 3000 ms (hook_timeout_ms)",
        Duration::from_secs(5),
    );
    server.signal(libc::SIGUSR1);
    server.wait_for_log("counters:", Duration::from_secs(5));
    let log = server.log_text();
    let counters = log.lines().rfind(|l| l.contains("counters:")).unwrap();
    for c in [
        "rx_discover=3",
        "tx_offer=2",
        "plugin_error=1",
        "plugin_noop_waits=2",
    ] {
        assert!(counters.contains(c), "{c} missing from {counters}");
    }
}
