//! What the lab's provisioning site is made of, written into its folder: the devices
//! (who they are, how they find their bootstrap server, which failure each plays), the
//! lab PKI, the boot image, scripts and configuration they are given, and the
//! configurations of zerotouch-dhcpd, zerotouch-relay, rsyslog and dhclient.
//!
//! ```text
//!  devices (one namespace each)      segment router            server host
//!  eth0 ── bridge br0 198.18.4.1/22 ─ zerotouch-relay ─ up0 ─ up0 198.18.1.1/24
//!                     2001:db8:4::1/64   (DHCPv4, DHCPv6)        2001:db8:1::1/64
//!                                                                zerotouch-dhcpd: dhcp4, dhcp6,
//!                                                                sztp, dns, syslog, bootstrap
//!                                                                rsyslog (the collector)
//! ```

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;
use zerotouch_sztp::cms::Signer;
use zerotouch_sztp::pki::{self, Party, Role};

pub(crate) const SERVER4: &str = "198.18.1.1";
pub(crate) const SERVER6: &str = "2001:db8:1::1";
pub(crate) const ROUTER_UP4: &str = "198.18.1.2";
pub(crate) const ROUTER_UP6: &str = "2001:db8:1::2";
pub(crate) const GATEWAY4: &str = "198.18.4.1";
pub(crate) const GATEWAY6: &str = "2001:db8:4::1";
/// The domain the DNS plugin serves, with the `_sztp._tcp` SRV record.
pub(crate) const DOMAIN: &str = "lab.example";
/// Where rsyslog (the collector) listens, in the server's namespace.
pub(crate) const COLLECTOR_PORT: u16 = 10514;
/// The OS a device runs at first, and the one its boot image brings.
pub(crate) const OS: (&str, &str, &str) = ("lab-os", "1.0", "2.0");

/// How a device finds its bootstrap server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Discovery {
    /// DHCPv4 option 143, through the relay.
    Dhcp4,
    /// DHCPv6 option 136, through the relay.
    Dhcp6,
    /// DNS only: a static address, the `_sztp._tcp` SRV record.
    Dns,
}

impl Discovery {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Discovery::Dhcp4 => "DHCPv4",
            Discovery::Dhcp6 => "DHCPv6",
            Discovery::Dns => "DNS",
        }
    }
}

/// What a device shows: a normal bootstrap, or one failure case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Case {
    /// Bootstraps.
    #[value(skip)]
    Normal,
    /// Its ownership voucher is signed by a MASA its manufacturer does not trust.
    WrongVoucher,
    /// Its boot image's file differs from the SHA-256 its onboarding information lists.
    TamperedImage,
    /// It has a valid IDevID, and the operator has not listed it.
    UnknownDevice,
    /// Its first bootstrap server is down; the second one serves.
    ServerDown,
    /// It is redirected to the server that redirects it.
    RedirectLoop,
}

impl Case {
    /// Every failure case.
    pub(crate) const FAILURES: [Case; 5] = [
        Case::WrongVoucher,
        Case::TamperedImage,
        Case::UnknownDevice,
        Case::ServerDown,
        Case::RedirectLoop,
    ];

    fn serial_prefix(self) -> &'static str {
        match self {
            Case::Normal => "",
            Case::WrongVoucher => "BADVOUCHER",
            Case::TamperedImage => "BADIMAGE",
            Case::UnknownDevice => "UNKNOWN",
            Case::ServerDown => "FALLBACK",
            Case::RedirectLoop => "LOOP",
        }
    }

    /// The flag's name.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Case::Normal => "normal",
            Case::WrongVoucher => "wrong-voucher",
            Case::TamperedImage => "tampered-image",
            Case::UnknownDevice => "unknown-device",
            Case::ServerDown => "server-down",
            Case::RedirectLoop => "redirect-loop",
        }
    }

    /// What the case sets up, and what must come of it.
    pub(crate) fn explain(self) -> &'static str {
        match self {
            Case::Normal => "bootstraps",
            Case::WrongVoucher => {
                "its ownership voucher is signed by a MASA outside the manufacturer's trust anchors: the device refuses the signed redirect and, with no other source, does not bootstrap"
            }
            Case::TamperedImage => {
                "its boot image's file was changed after its SHA-256 was listed: the device refuses the image (boot-image-error, reported to the server) and does not bootstrap"
            }
            Case::UnknownDevice => {
                "its IDevID is valid, and the operator did not list it: the bootstrap server refuses it (401) and it does not bootstrap"
            }
            Case::ServerDown => {
                "DHCP names two bootstrap servers and the first is down: the device is refused a connection there and bootstraps from the second"
            }
            Case::RedirectLoop => {
                "its bootstrap server redirects it to itself: the device gives up after 10 redirects and does not bootstrap"
            }
        }
    }

    /// Whether the device must complete, and a text its record must hold.
    pub(crate) fn expect(self) -> (bool, &'static str) {
        match self {
            Case::Normal => (true, "bootstrap-complete"),
            Case::WrongVoucher => (false, "not signed by a trusted manufacturer"),
            Case::TamperedImage => (false, "the SHA-256 differs from the one listed"),
            Case::UnknownDevice => (false, "answered 401"),
            Case::ServerDown => (true, "connecting to 198.18.1.1:8442"),
            Case::RedirectLoop => (false, "a loop, given up"),
        }
    }
}

/// One device of the lab.
#[derive(Debug, Clone)]
pub(crate) struct DeviceSpec {
    /// Its number: its namespace is `<prefix>d<index>`.
    pub(crate) index: usize,
    pub(crate) serial: String,
    pub(crate) discovery: Discovery,
    pub(crate) case: Case,
}

/// `count` devices taking the three discovery methods in turn, then one device for
/// each failure case asked (found by DHCPv4).
pub(crate) fn devices(count: usize, failures: &[Case]) -> Vec<DeviceSpec> {
    let mut out = Vec::new();
    for i in 0..count {
        let discovery = [Discovery::Dhcp4, Discovery::Dhcp6, Discovery::Dns][i % 3];
        let kind = match discovery {
            Discovery::Dhcp4 => "DHCP4",
            Discovery::Dhcp6 => "DHCP6",
            Discovery::Dns => "DNS",
        };
        out.push(DeviceSpec {
            index: out.len(),
            serial: format!("{kind}-{:04}", i + 1),
            discovery,
            case: Case::Normal,
        });
    }
    for case in failures {
        out.push(DeviceSpec {
            index: out.len(),
            serial: format!("{}-01", case.serial_prefix()),
            discovery: Discovery::Dhcp4,
            case: *case,
        });
    }
    out
}

/// The static address of the `n`th DNS-only device (outside the DHCP pool).
pub(crate) fn static_address(n: usize) -> String {
    format!("198.18.{}.{}/22", 6 + n / 250, 1 + n % 250)
}

/// The lab's folder and what is in it.
#[derive(Debug, Clone)]
pub(crate) struct Site {
    pub(crate) dir: PathBuf,
}

impl Site {
    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn write(&self, name: &str, text: &str) -> anyhow::Result<PathBuf> {
        let path = self.path(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        Ok(path)
    }

    /// Writes the PKI, the files devices are given and every configuration.
    pub(crate) fn write_all(
        &self,
        devices: &[DeviceSpec],
        server_down: bool,
    ) -> anyhow::Result<()> {
        let pki = self.path("pki");
        let serials: Vec<String> = devices.iter().map(|d| d.serial.clone()).collect();
        let names = [SERVER4, SERVER6, "bs.lab.example"].map(String::from);
        pki::create_lab(&pki, &serials, &names).context("making the lab PKI")?;
        for d in devices {
            match d.case {
                Case::UnknownDevice => {}
                _ => {
                    self.write(&format!("devices/{}.toml", d.serial), "")?;
                }
            }
            if d.case == Case::WrongVoucher {
                self.rogue_voucher(&pki, &d.serial)?;
            }
        }
        // The boot image, a tampered copy served under the original's hash, the scripts
        // and the configuration.
        let image: Vec<u8> = (0..1_000_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
            .collect();
        let mut tampered = image.clone();
        tampered[500_000] ^= 0xff;
        std::fs::create_dir_all(self.path("images"))?;
        std::fs::write(self.path("images/lab-os-2.0.img"), &image)?;
        std::fs::write(self.path("images/lab-os-2.0-tampered.img"), &tampered)?;
        let sha256 = hex::encode(ring::digest::digest(&ring::digest::SHA256, &image));
        self.write(
            "files/pre.sh",
            "#!/bin/sh\necho \"pre-configuration script: checks passed\" > pre.ran\n",
        )?;
        self.write(
            "files/post.sh",
            "#!/bin/sh\necho \"post-configuration script: services started\" > post.ran\n",
        )?;
        self.write(
            "files/config.xml",
            "<config xmlns=\"urn:example:lab\"><hostname>lab-device</hostname><syslog>198.18.1.1</syslog></config>\n",
        )?;
        self.write("dhcpd.toml", &self.dhcpd_toml(&sha256))?;
        self.write("relay.toml", RELAY_TOML)?;
        let collector = self.path("collector");
        std::fs::create_dir_all(&collector)?;
        self.write(
            "collector/rsyslog.conf",
            &format!(
                "global(workDirectory=\"{d}\")\nmodule(load=\"imtcp\")\ninput(type=\"imtcp\" address=\"127.0.0.1\" port=\"{COLLECTOR_PORT}\" ruleset=\"devices\")\nruleset(name=\"devices\") {{ action(type=\"omfile\" file=\"{d}/devices.log\" template=\"RSYSLOG_SyslogProtocol23Format\") }}\n",
                d = collector.display()
            ),
        )?;
        let fallback = if server_down {
            "send vendor-class-identifier \"zerotouch-lab-fallback\";\n"
        } else {
            ""
        };
        self.write("dhclient4.conf", DHCLIENT4_CONF)?;
        self.write(
            "dhclient4-fallback.conf",
            &format!("{DHCLIENT4_CONF}{fallback}"),
        )?;
        self.write("dhclient6.conf", DHCLIENT6_CONF)?;
        let script = self.write("dhclient-script", DHCLIENT_SCRIPT)?;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))?;
        self.write(
            "host-key.pub",
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHJsYWIgaG9zdCBrZXkgb2YgdGhlIGRldmljZQ== root@lab-device\n",
        )?;
        Ok(())
    }

    /// A voucher for `serial` signed by a MASA of its own, outside the manufacturer's
    /// trust anchors, in place of the real one.
    fn rogue_voucher(&self, pki_dir: &Path, serial: &str) -> anyhow::Result<()> {
        let key = pki::new_key()?;
        let cert = pki::issue(Role::Root, "CN=rogue MASA", &key, None, 30)?;
        let owner_ca = Party::load(pki_dir, "owner-ca")?;
        let voucher = pki::voucher(
            &Signer {
                key,
                chain: vec![cert],
            },
            serial,
            &owner_ca.cert,
            30,
        )?;
        std::fs::write(pki_dir.join(format!("vouchers/{serial}.vcj")), voucher)?;
        Ok(())
    }

    fn dhcpd_toml(&self, image_sha256: &str) -> String {
        let d = self.dir.display();
        let mut t = String::new();
        let _ = write!(
            t,
            r#"# zerotouch-dhcpd of the SZTP lab: DHCP for the device segment behind the relay,
# option 143/136 (sztp), DNS with the SRV record (dns), the devices' syslog forwarded to
# rsyslog (syslog), and two bootstrap servers: 8443 redirects (signed), 8444 onboards.
[log]
level = "info"

[leases]
database = "{d}/leases.sqlite"

[dhcp4]
interfaces = ["up0"]
plugin.syslog = {{ advertise = true }}

[[dhcp4.class]]
name = "fallback"
match = {{ option = 60, exact = "zerotouch-lab-fallback" }}
plugin.sztp.uris = ["https://{SERVER4}:8442", "https://{SERVER4}:8443"]

[[dhcp4.subnet]]
subnet = "198.18.1.0/24"
interface = "up0"

[[dhcp4.subnet]]
subnet = "198.18.4.0/22"
options = {{ routers = ["{GATEWAY4}"], domain-name = "{DOMAIN}", domain-name-servers = ["{SERVER4}"] }}
plugin.sztp.uris = ["https://{SERVER4}:8443"]
[[dhcp4.subnet.pool]]
range = "198.18.4.10 - 198.18.5.250"

[dhcp6]
interfaces = ["up0"]
rapid_commit = true

[[dhcp6.subnet]]
subnet = "2001:db8:1::/64"
interface = "up0"

[[dhcp6.subnet]]
subnet = "2001:db8:4::/64"
plugin.sztp.uris = ["https://[{SERVER6}]:8443"]
[[dhcp6.subnet.pool]]
range = "2001:db8:4::1000 - 2001:db8:4::ffff"

[[plugin]]
name = "sztp"

[[plugin]]
name = "dns"
[plugin.settings]
listen = ["{SERVER4}:53"]
[[plugin.settings.zone]]
name = "{DOMAIN}"
ttl = "1m"
nameservers = [{{ name = "ns1.{DOMAIN}", addresses = ["{SERVER4}"] }}]
[[plugin.settings.zone.bootstrap_server]]
target = "bs.{DOMAIN}"
port = 8443
addresses = ["{SERVER4}"]

[[plugin]]
name = "syslog"
[plugin.settings]
listen = ["{SERVER4}:514", "[{SERVER6}]:514"]
collector = [{{ address = "127.0.0.1:{COLLECTOR_PORT}", transport = "tcp" }}]

# The first bootstrap server: devices reach it provisionally (from DHCP or DNS) and get
# signed redirect information to the second, with its trust anchor.
[[plugin]]
name = "bootstrap"
instance = "redirect"
[plugin.settings]
listen = ["{SERVER4}:8443", "[{SERVER6}]:8443"]
certificate = "pki/server.pem"
private_key = "pki/server.key"
device_ca = ["pki/manufacturer-ca.pem"]
devices_dir = "devices"
reports_database = "{d}/redirect.sqlite"
[plugin.settings.signing]
owner_certificate = "pki/owner.pem"
owner_key = "pki/owner.key"
vouchers_dir = "pki/vouchers"
[[plugin.settings.response]]
name = "loop"
match = {{ serial = "LOOP-*" }}
redirect = [{{ address = "{SERVER4}", port = 8443, trust_anchor = "pki/server-ca.pem" }}]
[[plugin.settings.response]]
name = "to-onboarding-v6"
match = {{ serial = "DHCP6-*" }}
redirect = [{{ address = "{SERVER6}", port = 8444, trust_anchor = "pki/server-ca.pem" }}]
[[plugin.settings.response]]
name = "to-onboarding"
redirect = [{{ address = "{SERVER4}", port = 8444, trust_anchor = "pki/server-ca.pem" }}]

# The second: trusted through the redirect's anchor, it onboards (boot image, scripts,
# configuration), issues each device a certificate (RFC 9646) and takes every report.
[[plugin]]
name = "bootstrap"
instance = "onboard"
[plugin.settings]
listen = ["{SERVER4}:8444", "[{SERVER6}]:8444"]
certificate = "pki/server.pem"
private_key = "pki/server.key"
device_ca = ["pki/manufacturer-ca.pem"]
devices_dir = "devices"
reports_database = "{d}/onboard.sqlite"
images_dir = "images"
reporting_level = "verbose"
ldevid = {{ ca_certificate = "pki/owner-ca.pem", ca_key = "pki/owner-ca.key", validity_days = 365 }}
[[plugin.settings.response]]
name = "tampered-image"
match = {{ serial = "BADIMAGE-*" }}
[plugin.settings.response.onboarding]
configuration_handling = "merge"
configuration = "files/config.xml"
[plugin.settings.response.onboarding.boot_image]
os_name = "{os}"
os_version = "{new}"
download_uri = ["https://{SERVER4}:8444/images/lab-os-2.0-tampered.img"]
sha256 = "{image_sha256}"
[[plugin.settings.response]]
name = "onboard"
[plugin.settings.response.onboarding]
pre_configuration_script = "files/pre.sh"
configuration_handling = "merge"
configuration = "files/config.xml"
post_configuration_script = "files/post.sh"
[plugin.settings.response.onboarding.boot_image]
os_name = "{os}"
os_version = "{new}"
download_uri = ["https://{SERVER4}:8444/images/lab-os-2.0.img", "https://[{SERVER6}]:8444/images/lab-os-2.0.img"]
file = "images/lab-os-2.0.img"
"#,
            os = OS.0,
            new = OS.2,
        );
        t
    }
}

const RELAY_TOML: &str = r#"# zerotouch-relay on the segment router: the device segment (br0) to the server.
[relay4]
[[relay4.downstream]]
interface = "br0"
servers = ["198.18.1.1"]
agent_info = { circuit_id = "{hostname}:{interface}" }

[relay6]
[[relay6.downstream]]
interface = "br0"
servers = ["2001:db8:1::1"]
"#;

const DHCLIENT4_CONF: &str = "option sztp-redirect code 143 = string;\n\
request subnet-mask, routers, domain-name, domain-name-servers, log-servers, sztp-redirect;\n\
timeout 60;\nretry 1;\n";

const DHCLIENT6_CONF: &str = "option dhcp6.sztp-redirect code 136 = string;\n\
also request dhcp6.sztp-redirect;\ntimeout 60;\n";

/// Configures the address dhclient leased (the stock script would rewrite the host's
/// resolv.conf).
const DHCLIENT_SCRIPT: &str = r#"#!/bin/sh
case "$reason" in
  PREINIT) ip link set "$interface" up ;;
  BOUND|RENEW|REBIND|REBOOT)
    ip addr replace "$new_ip_address/$new_subnet_mask" dev "$interface"
    if [ -n "$new_routers" ]; then ip route replace default via "${new_routers%% *}" dev "$interface"; fi ;;
  BOUND6|RENEW6|REBIND6)
    [ -n "$new_ip6_address" ] && ip -6 addr replace "$new_ip6_address/$new_ip6_prefixlen" dev "$interface" ;;
esac
exit 0
"#;
