//! Network namespaces joined by veth pairs, removed (with every process started in them)
//! when the lab is dropped, also when a test fails.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use crate::config::ServerConfig;
use crate::process::{Daemon, binary, run_in};

static NEXT: AtomicU32 = AtomicU32::new(0);

fn ip(args: &[&str]) {
    let out = Command::new("ip")
        .args(args)
        .output()
        .expect("ip from iproute2");
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

pub struct Lab {
    /// Unique prefix of every namespace and interface of this lab (≤ 9 characters).
    pub prefix: String,
    namespaces: Vec<String>,
    pub dir: tempfile::TempDir,
}

impl Lab {
    /// Namespaces `<prefix>srv` and `<prefix>cli` joined by `<prefix>s` (198.18.0.1/24)
    /// and `<prefix>c` (no address: the DHCP client's interface).
    pub fn two_hosts() -> Lab {
        let mut lab = Lab::empty();
        let (srv, cli) = (lab.ns("srv"), lab.ns("cli"));
        lab.link(&srv, "s", &cli, "c");
        lab.addr(&srv, "s", "198.18.0.1/24");
        lab
    }

    /// A client behind a relay, in three namespaces; returns the lab and the server's,
    /// the relay's and the client's namespace:
    ///
    /// ```text
    ///   cli [c] ── [r1] relay [r2] ── [s] srv
    ///   198.19.0.0/24, 2001:db8:2::/64    198.18.0.0/24, 2001:db8:1::/64
    /// ```
    ///
    /// The relay forwards both families, the server routes 198.19.0.0/24 back through
    /// it, duplicate address detection is off and the link-local addresses the DHCPv6
    /// client and relay use are ready.
    pub fn relayed() -> (Lab, String, String, String) {
        let mut lab = Lab::empty();
        let (srv, relay, cli) = (lab.ns("srv"), lab.ns("rly"), lab.ns("cli"));
        for ns in [&srv, &relay, &cli] {
            lab.no_dad(ns);
        }
        lab.link(&srv, "s", &relay, "r2");
        lab.link(&relay, "r1", &cli, "c");
        lab.addr(&srv, "s", "198.18.0.1/24");
        lab.addr(&relay, "r2", "198.18.0.2/24");
        lab.addr(&relay, "r1", "198.19.0.1/24");
        lab.route(&srv, "198.19.0.0/24", "198.18.0.2");
        lab.addr6(&srv, "s", "2001:db8:1::1/64");
        lab.addr6(&relay, "r2", "2001:db8:1::2/64");
        lab.addr6(&relay, "r1", "2001:db8:2::1/64");
        lab.sysctl(&relay, "net.ipv4.ip_forward=1");
        lab.sysctl(&relay, "net.ipv6.conf.all.forwarding=1");
        lab.wait_link_local(&cli, "c");
        lab.wait_link_local(&relay, "r1");
        (lab, srv, relay, cli)
    }

    /// A lab with no namespaces yet.
    pub fn empty() -> Lab {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let prefix = format!("zt{}{n}", std::process::id() % 100_000);
        Lab {
            prefix,
            namespaces: Vec::new(),
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    /// Creates namespace `<prefix><name>` with loopback up; returns its name.
    pub fn ns(&mut self, name: &str) -> String {
        let ns = format!("{}{name}", self.prefix);
        let _ = Command::new("ip").args(["netns", "del", &ns]).output();
        ip(&["netns", "add", &ns]);
        self.namespaces.push(ns.clone());
        ip(&["-n", &ns, "link", "set", "lo", "up"]);
        ns
    }

    /// Interface name `<prefix><suffix>`.
    pub fn ifname(&self, suffix: &str) -> String {
        format!("{}{suffix}", self.prefix)
    }

    /// A veth pair between two namespaces, both ends up.
    pub fn link(&self, ns_a: &str, suffix_a: &str, ns_b: &str, suffix_b: &str) {
        let (a, b) = (self.ifname(suffix_a), self.ifname(suffix_b));
        ip(&["link", "add", &a, "type", "veth", "peer", "name", &b]);
        ip(&["link", "set", &a, "netns", ns_a]);
        ip(&["link", "set", &b, "netns", ns_b]);
        ip(&["-n", ns_a, "link", "set", &a, "up"]);
        ip(&["-n", ns_b, "link", "set", &b, "up"]);
    }

    pub fn addr(&self, ns: &str, suffix: &str, cidr: &str) {
        ip(&["-n", ns, "addr", "add", cidr, "dev", &self.ifname(suffix)]);
    }

    pub fn route(&self, ns: &str, dest: &str, via: &str) {
        ip(&["-n", ns, "route", "add", dest, "via", via]);
    }

    pub fn srv(&self) -> String {
        format!("{}srv", self.prefix)
    }

    pub fn cli(&self) -> String {
        format!("{}cli", self.prefix)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes `text` to a file in the lab's directory.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, text).expect("write lab file");
        p
    }

    /// Writes `dhcpd.toml` for this lab: the lease database in the lab's folder, the
    /// server's end of the veth link, authoritative, `dhcp4_extra` in `[dhcp4]`, subnet
    /// 198.18.0.0/24 with `subnet_extra` in its table and pool .100 to .150; `rest`
    /// follows.
    pub fn basic_config(&self, dhcp4_extra: &str, subnet_extra: &str, rest: &str) -> PathBuf {
        let text = self
            .server_config()
            .dhcp4(
                &[&self.ifname("s")],
                &format!("authoritative = true\n{dhcp4_extra}"),
            )
            .subnet4("198.18.0.0/24", "198.18.0.100 - 198.18.0.150", subnet_extra)
            .text();
        self.write("dhcpd.toml", &(text + rest))
    }

    /// A configuration with the lease database in the lab's folder, to build on.
    pub fn server_config(&self) -> ServerConfig {
        ServerConfig::new(&self.path("leases.sqlite"))
    }

    /// Namespaces `<prefix>srv` and `<prefix>cli` joined by `<prefix>s`
    /// (2001:db8:1::1/64) and `<prefix>c` (link-local only: the DHCPv6 client's), with
    /// duplicate address detection off so addresses are usable at once.
    pub fn two_hosts_v6() -> Lab {
        let mut lab = Lab::empty();
        let (srv, cli) = (lab.ns("srv"), lab.ns("cli"));
        lab.no_dad(&srv);
        lab.no_dad(&cli);
        lab.link(&srv, "s", &cli, "c");
        lab.addr6(&srv, "s", "2001:db8:1::1/64");
        lab.wait_link_local(&cli, "c");
        lab
    }

    /// Turns duplicate address detection off in namespace `ns` (for interfaces made
    /// after this call).
    pub fn no_dad(&self, ns: &str) {
        self.sysctl(ns, "net.ipv6.conf.all.accept_dad=0");
        self.sysctl(ns, "net.ipv6.conf.default.accept_dad=0");
    }

    pub fn addr6(&self, ns: &str, suffix: &str, cidr: &str) {
        ip(&[
            "-n",
            ns,
            "addr",
            "add",
            cidr,
            "dev",
            &self.ifname(suffix),
            "nodad",
        ]);
    }

    /// Waits until the interface has a usable link-local address (clients send from it).
    pub fn wait_link_local(&self, ns: &str, suffix: &str) {
        let iface = self.ifname(suffix);
        for _ in 0..100 {
            let out = Command::new("ip")
                .args([
                    "-n", ns, "-6", "addr", "show", "dev", &iface, "scope", "link",
                ])
                .output()
                .expect("ip");
            let text = String::from_utf8_lossy(&out.stdout);
            if text.contains("fe80::") && !text.contains("tentative") {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("{iface} in {ns} got no link-local address");
    }

    /// Writes `dhcpd.toml` for a DHCPv6 lab: the lease database in the lab's folder,
    /// `dhcp6_extra` in `[dhcp6]` (serving the server's end of the link), subnet
    /// 2001:db8:1::/64 on that interface with pool ::100 to ::ffff and prefixes /56 out
    /// of 2001:db8:100::/40; `rest` follows.
    pub fn basic_config6(&self, dhcp6_extra: &str, rest: &str) -> PathBuf {
        let iface = self.ifname("s");
        let text = self
            .server_config()
            .dhcp6(&[&iface], dhcp6_extra)
            .subnet6(
                "2001:db8:1::/64",
                "2001:db8:1::100 - 2001:db8:1::ffff",
                &format!("interface = \"{iface}\""),
            )
            .text();
        let pd =
            "\n[[dhcp6.subnet.pd_pool]]\nprefix = \"2001:db8:100::/40\"\ndelegated_length = 56\n";
        self.write("dhcpd.toml", &(text + pd + rest))
    }

    /// The command line of ISC dhclient -6 on the client's interface with `flags`, the
    /// event script `script`, and a new, empty lease file `<leases_file>` in the lab's
    /// folder (pid file beside it).
    pub fn dhclient6_args(&self, flags: &[&str], leases_file: &str, script: &str) -> Vec<String> {
        let lf = self.path(leases_file);
        std::fs::write(&lf, "").expect("lease file");
        let mut args: Vec<String> = ["dhclient", "-6", "-v", "-sf", script]
            .iter()
            .map(|s| s.to_string())
            .collect();
        args.extend(flags.iter().map(|s| s.to_string()));
        args.extend([
            "-lf".into(),
            lf.to_string_lossy().into_owned(),
            "-pf".into(),
            self.path(&format!("{leases_file}.pid"))
                .to_string_lossy()
                .into_owned(),
            self.ifname("c"),
        ]);
        args
    }

    /// Runs dhclient -6 once (`-1`) with the configuration text `conf` and `flags`;
    /// returns its exit code and output, and the lease file it wrote.
    pub fn dhclient6_once(&self, name: &str, conf: &str, flags: &[&str]) -> (i32, String, String) {
        let conf = self.write(&format!("{name}.conf"), conf);
        let script = self.path(&format!("{name}-script"));
        std::fs::write(&script, "#!/bin/sh\nexit 0\n").expect("script");
        let exec = <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o755);
        std::fs::set_permissions(&script, exec).expect("chmod script");
        let mut all = vec!["-1", "-cf", conf.to_str().expect("utf-8 path")];
        all.extend_from_slice(flags);
        let args = self.dhclient6_args(
            &all,
            &format!("{name}.leases"),
            script.to_str().expect("utf-8 path"),
        );
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, out) = self.run(&self.cli(), &argv, Duration::from_secs(40));
        let leases =
            std::fs::read_to_string(self.path(&format!("{name}.leases"))).unwrap_or_default();
        (code, out, leases)
    }

    /// Starts zerotouch-dhcpd in the server namespace and waits until it serves.
    pub fn start_dhcpd(&self, config: &Path, log_name: &str) -> Daemon {
        self.start_dhcpd_until(config, log_name, "DHCPv4 serving")
    }

    /// Starts zerotouch-dhcpd in the server namespace and waits for `ready` in its log.
    pub fn start_dhcpd_until(&self, config: &Path, log_name: &str, ready: &str) -> Daemon {
        let bin = binary("zerotouch-dhcpd");
        let cfg = config.to_str().expect("utf-8 path");
        let mut d = Daemon::spawn(
            "zerotouch-dhcpd",
            &self.srv(),
            &[bin.to_str().expect("utf-8 path"), "--config", cfg],
            &self.path(log_name),
        );
        d.wait_for_log(ready, Duration::from_secs(20));
        d
    }

    /// Runs a command in a namespace to completion.
    pub fn run(&self, ns: &str, args: &[&str], timeout: Duration) -> (i32, String) {
        run_in(ns, args, timeout)
    }

    /// Runs `f` on a thread that has joined namespace `ns`: sockets it opens live there.
    pub fn in_ns<R: Send + 'static>(&self, ns: &str, f: impl FnOnce() -> R + Send + 'static) -> R {
        let path = format!("/var/run/netns/{ns}");
        std::thread::spawn(move || {
            let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
            // SAFETY: setns on a namespace file descriptor we hold open; it affects only
            // this thread.
            let rc =
                unsafe { libc::setns(std::os::fd::AsRawFd::as_raw_fd(&file), libc::CLONE_NEWNET) };
            assert_eq!(rc, 0, "setns {path}: {}", std::io::Error::last_os_error());
            f()
        })
        .join()
        .expect("namespace thread panicked")
    }

    pub fn set_mac(&self, ns: &str, suffix: &str, mac: &str) {
        ip(&[
            "-n",
            ns,
            "link",
            "set",
            "dev",
            &self.ifname(suffix),
            "address",
            mac,
        ]);
    }

    pub fn sysctl(&self, ns: &str, setting: &str) {
        let out = Command::new("ip")
            .args(["netns", "exec", ns, "sysctl", "-qw", setting])
            .output()
            .expect("sysctl");
        assert!(
            out.status.success(),
            "sysctl {setting}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// IPv4 addresses of an interface, from `ip -o -4 addr`.
    pub fn ipv4_of(&self, ns: &str, suffix: &str) -> Vec<String> {
        let out = Command::new("ip")
            .args([
                "-n",
                ns,
                "-o",
                "-4",
                "addr",
                "show",
                "dev",
                &self.ifname(suffix),
            ])
            .output()
            .expect("ip");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| {
                l.split_whitespace()
                    .skip_while(|w| *w != "inet")
                    .nth(1)
                    .map(str::to_string)
            })
            .collect()
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for ns in &self.namespaces {
            // Kill whatever still runs in the namespace (clients that daemonised), then
            // remove it; the veth pairs go with it.
            if let Ok(out) = Command::new("ip").args(["netns", "pids", ns]).output() {
                for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                    if let Ok(pid) = pid.parse::<i32>() {
                        // SAFETY: kill has no memory-safety preconditions.
                        unsafe { libc::kill(pid, libc::SIGKILL) };
                    }
                }
            }
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
    }
}
