//! The SZTP lab (`zerotouch-lab`, docs/lab.md) as the README runs it: devices that
//! find their bootstrap server by DHCPv4, DHCPv6 (both through zerotouch-relay) and DNS,
//! bootstrap through zerotouch-dhcpd's plugins and log to rsyslog; each failure case
//! with the outcome it must have; a fleet of 60 devices at once. Every step's outcome
//! is checked in the lab's JSON record, not only its exit status; and the lab leaves
//! no namespace or folder behind.

use std::process::Command;

use zerotouch_tests::{binary, require_tools};

/// `zerotouch-lab --json` with `args`: its exit status, its record, and what it said.
fn lab(args: &[&str]) -> (i32, serde_json::Value, String) {
    require_tools(&["ip", "dhclient", "rsyslogd"]);
    let lab = binary("zerotouch-lab");
    let bin_dir = lab.parent().unwrap().display().to_string();
    let out = Command::new(&lab)
        .args(["--json", "--bin-dir", &bin_dir])
        .args(args)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr).into_owned();
    let record = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{said}", String::from_utf8_lossy(&out.stdout)));
    let pid = out.status.code().unwrap_or(-1);
    (pid, record, said)
}

/// The device `serial` of a lab record.
fn device<'a>(record: &'a serde_json::Value, serial: &str) -> &'a serde_json::Value {
    record["devices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["serial"] == serial)
        .unwrap_or_else(|| panic!("no {serial} in {record}"))
}

/// Every step outcome of a device's agent, in order.
fn steps(device: &serde_json::Value) -> Vec<String> {
    device["record"]["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|a| a["steps"].as_array().unwrap().iter())
        .map(|s| {
            format!(
                "{} {}",
                s["source"].as_str().unwrap(),
                s["outcome"].as_str().unwrap()
            )
        })
        .collect()
}

fn events(device: &serde_json::Value) -> String {
    device["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["text"].as_str().unwrap())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The lab's only traces are its namespaces and folder, both named by its PID: none
/// may be left.
fn nothing_left(said: &str) {
    let dir = said
        .lines()
        .find_map(|l| l.strip_prefix("== the lab in "))
        .and_then(|l| l.split(' ').next())
        .unwrap_or_else(|| panic!("no folder in:\n{said}"));
    assert!(!std::path::Path::new(dir).exists(), "{dir} is left");
    let pid = dir.rsplit('.').next().unwrap();
    let namespaces = Command::new("ip").args(["netns", "list"]).output().unwrap();
    let namespaces = String::from_utf8_lossy(&namespaces.stdout);
    assert!(
        !namespaces.contains(&format!("zl{pid}")),
        "namespaces left: {namespaces}"
    );
}

/// The three devices of the README's first command: each bootstraps, and each step is
/// the one it must be: the lease and its option (or DNS), the signed redirect verified,
/// the trusted server's onboarding after a certificate request, the image, the scripts,
/// the configuration, every report sent, the certificate installed, and the device's
/// lines at the collector.
#[test]
fn three_devices_bootstrap_by_dhcpv4_dhcpv6_and_dns() {
    let (code, record, said) = lab(&[]);
    assert_eq!(code, 0, "{said}");
    assert!(said.contains("every device went as expected"), "{said}");
    let cases = [
        (
            "DHCP4-0001",
            "DHCPv4 lease 198.18.4.",
            "option 143: https://198.18.1.1:8443",
            "198.18.1.1:8443",
            "198.18.1.1:8444",
        ),
        (
            "DHCP6-0002",
            "DHCPv6 lease 2001:db8:4::",
            "option 136: https://[2001:db8:1::1]:8443",
            "[2001:db8:1::1]:8443",
            "[2001:db8:1::1]:8444",
        ),
        (
            "DNS-0003",
            "static address 198.18.6.1/22",
            "DNS at 198.18.1.1:53",
            "bs.lab.example:8443",
            "198.18.1.1:8444",
        ),
    ];
    for (serial, address, option, first, second) in cases {
        let d = device(&record, serial);
        assert_eq!(d["complete"], true, "{serial}: {d}");
        assert_eq!(d["as_expected"], true, "{serial}");
        let events = events(d);
        assert!(
            events.contains(address) && events.contains(option),
            "{serial}: {events}"
        );
        let steps = steps(d);
        let redirect = format!(
            "{first} signed redirect information (voucher, owner certificate and signature verified) to {second}"
        );
        let onboarding = format!(
            "{second} unsigned onboarding information, after a certificate request (RFC 9646) for a new key"
        );
        // Twice: before the boot image's reboot and after it; the DNS device's SRV
        // answer first each time.
        let srv = "DNS (SRV) bs.lab.example:8443 at 198.18.1.1".to_string();
        let once = match serial {
            "DNS-0003" => vec![&srv, &redirect, &onboarding],
            _ => vec![&redirect, &onboarding],
        };
        assert_eq!(
            steps.iter().collect::<Vec<_>>(),
            [once.clone(), once].concat(),
            "{serial}"
        );
        let attempts = d["record"]["attempts"].as_array().unwrap();
        let last = attempts.last().unwrap();
        // The attempts that reached onboarding (the DNS device's TXT lookups did not).
        assert_eq!(
            attempts
                .iter()
                .filter_map(|a| a["outcome"].as_str())
                .collect::<Vec<_>>(),
            ["boot-image-installed-rebooting", "bootstrap-complete"],
            "{serial}"
        );
        let reports: Vec<&str> = last["reports"]
            .as_array()
            .unwrap()
            .iter()
            .inspect(|r| assert_eq!(r["sent"], true, "{serial}: {r}"))
            .map(|r| r["progress_type"].as_str().unwrap())
            .collect();
        assert_eq!(
            reports,
            [
                "bootstrap-initiated",
                "pre-script-initiated",
                "pre-script-complete",
                "config-initiated",
                "config-complete",
                "post-script-initiated",
                "post-script-complete",
                "bootstrap-complete"
            ],
            "{serial}"
        );
        assert!(
            events.contains("boot image lab-os 2.0 downloaded, its SHA-256 checked, installed"),
            "{serial}: {events}"
        );
        assert_eq!(
            last["ldevid"]["issuer"], "CN=zerotouch lab owner CA",
            "{serial}"
        );
        assert!(last["ldevid"]["subject"].as_str().unwrap().contains(serial));
        let collector = &d["collector"];
        assert!(
            collector["lines"].as_u64().unwrap() >= 15,
            "{serial}: {collector}"
        );
        let line = collector["last"].as_str().unwrap();
        assert!(
            line.contains(&format!(" {serial} zerotouch-agent "))
                && line.contains("bootstrap-complete")
                && line.contains(&format!("serial=\"{serial}\"")),
            "{serial}: {line}"
        );
    }
    nothing_left(&said);
}

/// Each failure case, shown and with the outcome it must have.
#[test]
fn each_failure_case_ends_as_it_must() {
    let (code, record, said) = lab(&["--devices", "0", "--fail", "all"]);
    assert_eq!(code, 0, "{said}");
    for serial in ["BADVOUCHER-01", "BADIMAGE-01", "UNKNOWN-01", "LOOP-01"] {
        let d = device(&record, serial);
        assert_eq!(
            (&d["complete"], &d["as_expected"]),
            (&serde_json::json!(false), &serde_json::json!(true)),
            "{serial}: {d}"
        );
        assert_eq!(d["record"]["complete"], false, "{serial}");
    }
    let steps_of = |s| steps(device(&record, s)).join("\n");
    assert!(
        steps_of("BADVOUCHER-01").contains(
            "198.18.1.1:8443 signed data refused: the ownership voucher is not signed by a trusted manufacturer"
        ),
        "{}",
        steps_of("BADVOUCHER-01")
    );
    let image = &device(&record, "BADIMAGE-01")["record"]["attempts"][0];
    assert_eq!(image["outcome"], "boot-image-error", "{image}");
    assert!(
        image["error"]
            .as_str()
            .unwrap()
            .contains("lab-os-2.0-tampered.img: the SHA-256 differs from the one listed")
    );
    let reported: Vec<&str> = image["reports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["progress_type"].as_str().unwrap())
        .collect();
    assert_eq!(
        reported,
        [
            "bootstrap-initiated",
            "boot-image-initiated",
            "boot-image-error"
        ]
    );
    assert!(
        steps_of("UNKNOWN-01").contains("answered 401")
            && steps_of("UNKNOWN-01").contains("unknown device \\\"UNKNOWN-01\\\""),
        "{}",
        steps_of("UNKNOWN-01")
    );
    let looped = steps(device(&record, "LOOP-01"));
    assert_eq!(looped.len(), 11, "{looped:?}");
    assert!(looped[10].ends_with("redirect information past 10 redirects: a loop, given up"));
    let fallback = device(&record, "FALLBACK-01");
    assert_eq!(fallback["complete"], true, "{fallback}");
    let attempts = fallback["record"]["attempts"].as_array().unwrap();
    assert!(
        attempts[0]["source"] == "DHCP (198.18.1.1:8442)"
            && attempts[0]["error"]
                .as_str()
                .unwrap()
                .contains("connecting to 198.18.1.1:8442: Connection refused"),
        "{fallback}"
    );
    assert_eq!(attempts[1]["source"], "DHCP (198.18.1.1:8443)");
    for case in [
        "wrong-voucher",
        "tampered-image",
        "unknown-device",
        "server-down",
        "redirect-loop",
    ] {
        assert!(
            said.contains(&format!("failure case {case})")),
            "{case}: {said}"
        );
    }
    nothing_left(&said);
}

/// A fleet of 60 at once: every device bootstraps, with its certificate and its lines
/// at the collector, and the lab gives the fleet's times.
#[test]
fn a_fleet_of_sixty_bootstraps_at_once() {
    let (code, record, said) = lab(&["--devices", "60"]);
    assert_eq!(code, 0, "{said}");
    let devices = record["devices"].as_array().unwrap();
    assert_eq!(devices.len(), 60);
    for d in devices {
        assert_eq!(
            (&d["complete"], &d["as_expected"]),
            (&serde_json::json!(true), &serde_json::json!(true)),
            "{d}"
        );
        let last = d["record"]["attempts"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()
            .clone();
        assert!(last["ldevid"]["certificate"].is_string(), "{d}");
        assert!(
            d["collector"]["last"]
                .as_str()
                .unwrap()
                .contains("bootstrap-complete"),
            "{d}"
        );
    }
    let fleet = &record["fleet"];
    assert_eq!(
        (fleet["devices"].as_u64(), fleet["complete"].as_u64()),
        (Some(60), Some(60))
    );
    let p50 = fleet["seconds"]["p50"].as_f64().unwrap();
    let max = fleet["seconds"]["max"].as_f64().unwrap();
    assert!(
        p50 > 0.0 && p50 <= max && max <= fleet["wall_seconds"].as_f64().unwrap() + 0.01,
        "{fleet}"
    );
    assert!(said.contains("60 device(s), 60 bootstrapped"), "{said}");
    nothing_left(&said);
}

/// Ctrl-C while a fleet bootstraps: the lab says so, ends with 130, and leaves no
/// namespace, process or folder behind.
#[test]
fn ctrl_c_removes_the_lab() {
    use std::io::{BufRead, BufReader};
    require_tools(&["ip", "dhclient", "rsyslogd"]);
    let lab = binary("zerotouch-lab");
    let bin_dir = lab.parent().unwrap().display().to_string();
    let mut child = Command::new(&lab)
        .args(["--json", "--bin-dir", &bin_dir, "--devices", "30"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut said = String::new();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    for line in lines.by_ref() {
        let line = line.unwrap();
        said.push_str(&line);
        said.push('\n');
        if line.contains("bootstrapping at once") {
            break;
        }
    }
    assert!(said.contains("bootstrapping at once"), "{said}");
    let ns = format!("zl{}", child.id());
    let listed = Command::new("ip").args(["netns", "list"]).output().unwrap();
    assert!(
        String::from_utf8_lossy(&listed.stdout).contains(&ns),
        "the lab's namespaces exist while it runs"
    );
    // SAFETY: kill(2) on the child this test started.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    for line in lines {
        said.push_str(&line.unwrap());
        said.push('\n');
    }
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{status:?}: {said}");
    assert!(said.contains("interrupted: removing the lab"), "{said}");
    nothing_left(&said);
    // No device's processes outlive the lab: nothing runs with its folder in its
    // arguments.
    let dir = said
        .lines()
        .find_map(|l| l.strip_prefix("== the lab in "))
        .and_then(|l| l.split(' ').next())
        .unwrap()
        .to_string();
    let ps = Command::new("ps").args(["-eo", "args"]).output().unwrap();
    let left: Vec<String> = String::from_utf8_lossy(&ps.stdout)
        .lines()
        .filter(|l| l.contains(&dir))
        .map(str::to_string)
        .collect();
    assert!(left.is_empty(), "{left:?}");
}
