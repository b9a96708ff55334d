//! zerotouch-agent's RESTCONF client and signed-data check against the embedded
//! bootstrap server (zerotouch-dhcpd with the `bootstrap` plugin) and a lab PKI from
//! `zerotouchctl pki lab`: signed onboarding information fetched provisionally,
//! verified against the manufacturer's voucher CA and read; the server trusted by its
//! CA, refused under another; progress reports answered 204, a bad one refused.

mod common;

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use zerotouch_agent::client::{Client, ClientError, Input, Report, Server, ServerTrust};
use zerotouch_agent::verify::{self, Device, Format, SignedArtifacts};
use zerotouch_sztp::Encoding;
use zerotouch_sztp::conveyed::Conveyed;
use zerotouch_tests::{Lab, require_tools};

/// The bootstrap plugin's device SN-1, onboarded with `config.xml` (merged).
const ONBOARD_SN1: &str = r#"
[[plugin.settings.device]]
serial = "SN-1"
response = "onboard"
[[plugin.settings.response]]
name = "onboard"
match = { serial = "no-such-*" }
[plugin.settings.response.onboarding]
configuration_handling = "merge"
configuration = "config.xml"
"#;

/// A lab with the device at 198.18.0.2, a PKI for SN-1 in `pki/` and `config.xml`.
fn lab_with_sn1() -> (Lab, std::path::PathBuf) {
    require_tools(&["ip"]);
    let lab = Lab::two_hosts();
    lab.addr(&lab.cli(), "c", "198.18.0.2/24");
    let pki = sn1_pki(&lab, "198.18.0.1");
    (lab, pki)
}

/// A lab PKI for SN-1 in `pki/` with the server named `server_name`, and
/// `config.xml`: the PKI's folder.
fn sn1_pki(lab: &Lab, server_name: &str) -> std::path::PathBuf {
    let pki = lab.path("pki");
    common::pki_lab(&pki, server_name, &["SN-1"]);
    lab.write("config.xml", "<config><hostname>edge-1</hostname></config>");
    pki
}

/// `zerotouch-agent` with `sources` (and any other options) as device `serial` of the
/// lab PKI in `pki`, in `root`, printing its record as JSON.
fn agent_args(
    pki: &std::path::Path,
    serial: &str,
    root: &std::path::Path,
    sources: &[&str],
) -> Vec<String> {
    let agent = zerotouch_tests::binary("zerotouch-agent");
    let path = |p: String| pki.join(p).display().to_string();
    let mut args = vec![agent.display().to_string()];
    args.extend(sources.iter().map(|s| s.to_string()));
    args.extend([
        "--idevid".into(),
        path(format!("devices/{serial}.pem")),
        "--idevid-key".into(),
        path(format!("devices/{serial}.key")),
        "--voucher-ca".into(),
        path("voucher-ca.pem".into()),
        "--root".into(),
        root.display().to_string(),
        "--json".into(),
    ]);
    args
}

/// `zerotouch-agent --json` in the device's namespace as device `serial` of the lab PKI
/// in `pki`, in `root`, with `sources`: its exit status, its output, and its record.
fn run_agent(
    lab: &Lab,
    pki: &std::path::Path,
    serial: &str,
    root: &std::path::Path,
    sources: &[&str],
) -> (i32, String, serde_json::Value) {
    let args = agent_args(pki, serial, root, sources);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, out) = lab.run(&lab.cli(), &args, Duration::from_secs(60));
    let record = match (out.find('{'), out.rfind('}')) {
        (Some(a), Some(b)) => serde_json::from_str(&out[a..=b]).unwrap_or_default(),
        _ => serde_json::Value::Null,
    };
    (code, out, record)
}

/// Runs `f` in the device's namespace on a runtime of its own.
fn on_device<R, F>(lab: &Lab, f: impl FnOnce() -> F + Send + 'static) -> R
where
    R: Send + 'static,
    F: std::future::Future<Output = R>,
{
    lab.in_ns(&lab.cli(), move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(f())
    })
}

fn anchors(path: &std::path::Path) -> Vec<CertificateDer<'static>> {
    CertificateDer::pem_file_iter(path)
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap()
}

#[test]
fn the_agent_fetches_verifies_and_reads_signed_onboarding_information() {
    let (lab, pki) = lab_with_sn1();
    let plugin = common::signing_bootstrap_plugin(ONBOARD_SN1);
    let cfg = lab.write("dhcpd.toml", &plugin);
    let mut server = lab.start_dhcpd_until(&cfg, "server.log", "bootstrap: serving");

    let device = |name: &str| std::fs::read(pki.join("devices").join(name)).unwrap();
    let client = Client::new(&device("SN-1.pem"), &device("SN-1.key"), None).unwrap();
    let voucher_ca = anchors(&pki.join("voucher-ca.pem"));
    let server_ca = anchors(&pki.join("server-ca.pem"));
    let wrong_ca = anchors(&pki.join("manufacturer-ca.pem"));
    // The device's IDevID with another key: refused before any server.
    let wrong_key = std::fs::read(pki.join("owner.key")).unwrap();
    assert!(matches!(
        Client::new(&device("SN-1.pem"), &wrong_key, None),
        Err(ClientError::Identity(_))
    ));

    let outcome = on_device(&lab, move || async move {
        let bs = Server {
            host: "198.18.0.1".into(),
            port: 8443,
            address: None,
        };
        let signed = Input {
            signed_data_preferred: true,
            ..Input::default()
        };
        let provisional = client
            .get_bootstrapping_data(&bs, &ServerTrust::Provisional, &signed)
            .await;
        let trusted = client
            .get_bootstrapping_data(
                &bs,
                &ServerTrust::Anchors(server_ca.clone()),
                &Input::default(),
            )
            .await;
        let untrusted = client
            .get_bootstrapping_data(&bs, &ServerTrust::Anchors(wrong_ca), &Input::default())
            .await;
        let report = |t: &str| Report {
            progress_type: t.into(),
            message: Some("from the agent".into()),
            ssh_host_keys: Vec::new(),
        };
        let trust = ServerTrust::Anchors(server_ca);
        let initiated = client
            .report_progress(&bs, &trust, &report("bootstrap-initiated"))
            .await;
        let bogus = client
            .report_progress(&bs, &trust, &report("rebooted"))
            .await;
        (provisional, trusted, untrusted, initiated, bogus)
    });
    let (provisional, trusted, untrusted, initiated, bogus) = outcome;

    // Provisionally: signed data, which proves itself.
    let out = provisional.unwrap();
    let (owner, voucher) = (
        out.owner_certificate.unwrap(),
        out.ownership_voucher.unwrap(),
    );
    let artifacts = SignedArtifacts {
        conveyed_information: &out.conveyed_information,
        owner_certificate: &owner,
        ownership_voucher: &voucher,
    };
    let me = Device {
        serial: "SN-1",
        idevid_issuer: None,
    };
    let checked =
        verify::verify(&artifacts, &voucher_ca, &me, std::time::SystemTime::now()).unwrap();
    assert_eq!(checked.format, Format::Json);
    let Conveyed::Onboarding(onboarding) =
        Conveyed::parse(&checked.document, Encoding::Json).unwrap()
    else {
        panic!("onboarding information expected");
    };
    assert_eq!(onboarding.configuration_handling, Some("merge"));
    assert_eq!(
        onboarding.configuration.as_deref(),
        Some(&b"<config><hostname>edge-1</hostname></config>"[..])
    );
    // Another device's serial: the same artifacts are refused.
    let other = Device {
        serial: "SN-2",
        idevid_issuer: None,
    };
    assert!(matches!(
        verify::verify(
            &artifacts,
            &voucher_ca,
            &other,
            std::time::SystemTime::now()
        ),
        Err(verify::VerifyError::WrongSerial { .. })
    ));
    // Trusted by its CA: an answer; under another CA: the handshake fails.
    assert!(!trusted.unwrap().conveyed_information.is_empty());
    assert!(
        matches!(untrusted, Err(ClientError::Tls { .. })),
        "{untrusted:?}"
    );
    initiated.unwrap();
    assert!(
        matches!(bogus, Err(ClientError::Status { status: 400, .. })),
        "{bogus:?}"
    );
    server.stop_with(libc::SIGTERM, Duration::from_secs(10));
}

/// RFC 8572 §5.3 and §5.5 against three bootstrap servers: a redirect from an untrusted
/// server is followed provisionally and only signed data is taken at its end; from a
/// trusted one (or a signed one) its trust anchor authenticates the next server, whose
/// unsigned onboarding is then taken; a redirect loop is given up after 10; an
/// untrusted server that cannot sign gives nothing.
#[test]
fn the_agent_follows_redirects_with_the_trust_they_carry() {
    use zerotouch_agent::process::{self, Context};
    require_tools(&["ip"]);
    let lab = Lab::two_hosts();
    lab.addr(&lab.cli(), "c", "198.18.0.2/24");
    let pki = lab.path("pki");
    common::pki_lab(&pki, "198.18.0.1", &["SN-1"]);
    lab.write("config.xml", "<config/>");
    let onboard = r#"
[plugin.settings.response.onboarding]
configuration_handling = "replace"
configuration = "config.xml"
"#;
    // SN-1 known, model-r sent to the second server, everything else onboarded.
    let redirecting = |extra: &str| {
        format!(
            r#"
[[plugin.settings.device]]
serial = "SN-1"
[[plugin.settings.response]]
name = "to-second"
match = {{ hw_model = "model-r" }}
redirect = [{{ address = "198.18.0.1", port = 8444, trust_anchor = "pki/server-ca.pem" }}]
{extra}
[[plugin.settings.response]]
name = "onboard"
match = {{ serial = "SN-*" }}
{onboard}"#
        )
    };
    let loop_back = r#"[[plugin.settings.response]]
name = "loop"
match = { hw_model = "model-loop" }
redirect = [{ address = "198.18.0.1", port = 8443 }]"#;
    let first = common::signing_bootstrap_plugin(&redirecting(loop_back));
    let second = common::bootstrap_plugin(
        "second",
        "198.18.0.1:8444",
        true,
        "",
        &format!(
            r#"
[[plugin.settings.device]]
serial = "SN-1"
response = "onboard"
[[plugin.settings.response]]
name = "onboard"
match = {{ serial = "none-*" }}
{onboard}"#
        ),
    );
    let unsigning =
        common::bootstrap_plugin("unsigning", "198.18.0.1:8445", false, "", &redirecting(""));
    let cfg = lab.write("dhcpd.toml", &format!("{first}{second}{unsigning}"));
    let mut server = lab.start_dhcpd_until(&cfg, "server.log", "bootstrap: serving");
    std::thread::sleep(Duration::from_millis(300));

    let device = |name: &str| std::fs::read(pki.join("devices").join(name)).unwrap();
    let client = Client::new(&device("SN-1.pem"), &device("SN-1.key"), None).unwrap();
    let voucher_ca = anchors(&pki.join("voucher-ca.pem"));
    let server_ca = anchors(&pki.join("server-ca.pem"));
    let runs = on_device(&lab, move || async move {
        let at = |port| Server {
            host: "198.18.0.1".into(),
            port,
            address: None,
        };
        let cx = |model: &str| Context {
            client: &client,
            voucher_anchors: &voucher_ca,
            device: Device {
                serial: "SN-1",
                idevid_issuer: None,
            },
            input: Input {
                hw_model: Some(model.into()),
                ..Input::default()
            },
            offer_csr: true,
        };
        let trusted = ServerTrust::Anchors(server_ca);
        let mut runs = Vec::new();
        for (model, port, trust) in [
            ("model-r", 8445, ServerTrust::Provisional),
            ("model-r", 8443, ServerTrust::Provisional),
            ("model-r", 8443, trusted.clone()),
            ("model-loop", 8443, ServerTrust::Provisional),
            ("model-x", 8445, ServerTrust::Provisional),
            ("model-x", 8445, trusted.clone()),
        ] {
            let mut steps = Vec::new();
            let found = process::process(&cx(model), at(port), trust, &mut steps).await;
            runs.push((
                found.map(|f| {
                    let (server, trust) = f.server.expect("from a server");
                    (f.signed, server.port, trust)
                }),
                steps,
            ));
        }
        runs
    });
    let outcomes: Vec<String> = runs
        .iter()
        .map(|(_, steps)| {
            steps
                .iter()
                .map(|s| format!("{} {}: {}", s.source, s.authenticated, s.outcome))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .collect();
    // Untrusted and unsigned: the redirect's anchor discarded, signed data at its end.
    let (found, steps) = &runs[0];
    let (signed, port, trust) = found.as_ref().expect(&outcomes[0]);
    assert!(*signed && *port == 8444, "{}", outcomes[0]);
    assert!(matches!(trust, ServerTrust::Provisional), "{}", outcomes[0]);
    assert_eq!(steps.len(), 2, "{}", outcomes[0]);
    assert!(
        steps[0]
            .outcome
            .starts_with("unsigned redirect information to 198.18.0.1:8444"),
        "{}",
        outcomes[0]
    );
    // Untrusted, but the redirect is signed data that verifies: its anchor holds.
    let (found, steps) = &runs[1];
    let (_, port, trust) = found.as_ref().expect(&outcomes[1]);
    assert!(
        *port == 8444 && matches!(trust, ServerTrust::Anchors(_)),
        "{}",
        outcomes[1]
    );
    assert!(
        steps[0].outcome.starts_with("signed redirect"),
        "{}",
        outcomes[1]
    );
    // Trusted: the redirect's anchor authenticates the next server; unsigned is taken.
    let (found, steps) = &runs[2];
    let (signed, port, trust) = found.as_ref().expect(&outcomes[2]);
    assert!(!*signed && *port == 8444, "{}", outcomes[2]);
    assert!(matches!(trust, ServerTrust::Anchors(_)), "{}", outcomes[2]);
    assert!(steps.iter().all(|s| s.authenticated), "{}", outcomes[2]);
    // A loop: 10 redirects followed, the 11th answer given up.
    let (found, steps) = &runs[3];
    assert!(found.is_err() && steps.len() == 11, "{}", outcomes[3]);
    assert!(steps[10].outcome.contains("a loop"), "{}", outcomes[3]);
    // Onboarding from a server that cannot sign: the agent, not trusting it, asks for
    // signed data, which the server does not have (so it never sends it unsigned);
    // trusted, the agent takes it unsigned.
    assert!(
        runs[4].0.is_err() && runs[4].1[0].outcome.contains("404"),
        "{}",
        outcomes[4]
    );
    let (signed, port, _) = runs[5].0.as_ref().expect(&outcomes[5]);
    assert!(!*signed && *port == 8445);
    server.stop_with(libc::SIGTERM, Duration::from_secs(10));
}

/// A lab whose bootstrap server onboards SN-1 with a boot image (acme-os 2.1), both
/// scripts and a configuration (`reporting-level = verbose`), and SN-2 with a
/// pre-configuration script that fails; the server, and the image.
fn onboarding_server() -> (Lab, zerotouch_tests::Daemon, Vec<u8>) {
    require_tools(&["ip"]);
    let lab = Lab::two_hosts();
    lab.addr(&lab.cli(), "c", "198.18.0.2/24");
    let pki = lab.path("pki");
    common::pki_lab(&pki, "198.18.0.1", &["SN-1", "SN-2"]);
    std::fs::create_dir_all(lab.path("images")).unwrap();
    let image: Vec<u8> = (0..300_000).map(|i| (i % 253) as u8).collect();
    std::fs::write(lab.path("images/acme-2.1.img"), &image).unwrap();
    lab.write("config.xml", "<config><hostname>edge-1</hostname></config>");
    lab.write("pre.sh", "#!/bin/sh\necho pre > pre.ran\n");
    lab.write("post.sh", "echo post > post.ran\n");
    lab.write("fail.sh", "#!/bin/sh\necho boom >&2\nexit 3\n");
    let plugin = common::bootstrap_plugin(
        "bootstrap",
        "198.18.0.1:8443",
        true,
        "images_dir = \"images\"",
        r#"
[[plugin.settings.device]]
serial = "SN-1"
response = "full"
reporting_level = "verbose"
[[plugin.settings.device]]
serial = "SN-2"
response = "failing"
[[plugin.settings.response]]
name = "full"
match = { serial = "none-*" }
[plugin.settings.response.onboarding]
pre_configuration_script = "pre.sh"
configuration_handling = "merge"
configuration = "config.xml"
post_configuration_script = "post.sh"
[plugin.settings.response.onboarding.boot_image]
os_name = "acme-os"
os_version = "2.1"
download_uri = ["https://198.18.0.1:8443/images/acme-2.1.img"]
file = "images/acme-2.1.img"
[[plugin.settings.response]]
name = "failing"
match = { serial = "none-*" }
[plugin.settings.response.onboarding]
pre_configuration_script = "fail.sh"
configuration_handling = "replace"
configuration = "config.xml"
"#,
    );
    let cfg = lab.write("dhcpd.toml", &plugin);
    let server = lab.start_dhcpd_until(&cfg, "server.log", "bootstrap: serving");
    (lab, server, image)
}

/// Onboarding (RFC 8572 §5.6) on a device simulated in directories, from a trusted
/// server with `reporting-level = verbose`: the boot image downloaded, its hash checked
/// and installed, then after the "reboot" the scripts and the configuration, every
/// report answered 204 and kept by the server in order; a failing pre-configuration
/// script stops onboarding with `pre-script-error`; from a provisional server nothing
/// is reported.
#[test]
fn the_agent_onboards_and_reports_each_step() {
    use zerotouch_agent::onboard::{self, Dirs, Outcome, Setup};
    use zerotouch_agent::process::{self, Context};
    let (lab, mut server, image) = onboarding_server();
    let pki = lab.path("pki");

    let voucher_ca = anchors(&pki.join("voucher-ca.pem"));
    let server_ca = anchors(&pki.join("server-ca.pem"));
    let root = lab.path("devices");
    let (pki2, root2) = (pki.clone(), root.clone());
    let runs = on_device(&lab, move || async move {
        let mut runs = Vec::new();
        for (serial, trust, running) in [
            ("SN-1", ServerTrust::Anchors(server_ca.clone()), "2.0"),
            ("SN-1", ServerTrust::Anchors(server_ca.clone()), "2.1"),
            ("SN-2", ServerTrust::Anchors(server_ca.clone()), "2.1"),
            ("SN-1", ServerTrust::Provisional, "2.1"),
        ] {
            let file = |ext: &str| {
                std::fs::read(pki2.join("devices").join(format!("{serial}.{ext}"))).unwrap()
            };
            let client = Client::new(&file("pem"), &file("key"), None).unwrap();
            let cx = Context {
                client: &client,
                voucher_anchors: &voucher_ca,
                device: Device {
                    serial,
                    idevid_issuer: None,
                },
                input: Input::default(),
                offer_csr: true,
            };
            let at = Server {
                host: "198.18.0.1".into(),
                port: 8443,
                address: None,
            };
            let mut steps = Vec::new();
            let found = process::process(&cx, at, trust, &mut steps)
                .await
                .unwrap_or_else(|e| panic!("{serial}: {e}: {steps:?}"));
            let home = root2.join(format!("{serial}-{}", runs.len()));
            let dirs = Dirs {
                images: home.join("images"),
                config: home.join("config"),
                work: home.join("work"),
                credentials: home.join("credentials"),
            };
            for d in [&dirs.images, &dirs.config, &dirs.work] {
                std::fs::create_dir_all(d).unwrap();
            }
            let keys = vec![("ssh-ed25519".to_string(), b"host-key".to_vec())];
            let setup = Setup {
                client: &client,
                running: (Some("acme-os".into()), Some(running.into())),
                dirs: &dirs,
                ssh_host_keys: &keys,
                script_timeout: Duration::from_secs(10),
                log: None,
            };
            let mut record = Vec::new();
            let outcome = onboard::onboard(&setup, &found, &mut record).await;
            runs.push((outcome, record, dirs));
        }
        runs
    });
    let types = |record: &[onboard::Reported]| -> Vec<&str> {
        record.iter().map(|r| r.progress_type).collect()
    };
    // The image: downloaded, checked, installed; then the reboot.
    let (outcome, record, dirs) = &runs[0];
    assert_eq!(
        outcome.as_ref().unwrap(),
        &Outcome::Rebooting {
            os_name: Some("acme-os".into()),
            os_version: Some("2.1".into())
        }
    );
    assert_eq!(
        std::fs::read(dirs.images.join("acme-os-2.1.img")).unwrap(),
        image
    );
    assert_eq!(
        types(record),
        [
            "bootstrap-initiated",
            "boot-image-initiated",
            "boot-image-installed-rebooting"
        ]
    );
    assert!(record.iter().all(|r| r.outcome.is_ok()), "{record:?}");
    // Running the new image: scripts and configuration.
    let (outcome, record, dirs) = &runs[1];
    assert_eq!(
        outcome.as_ref().unwrap(),
        &Outcome::Complete { ldevid: None }
    );
    assert_eq!(
        types(record),
        [
            "bootstrap-initiated",
            "pre-script-initiated",
            "pre-script-complete",
            "config-initiated",
            "config-complete",
            "post-script-initiated",
            "post-script-complete",
            "bootstrap-complete"
        ]
    );
    assert!(record.iter().all(|r| r.outcome.is_ok()), "{record:?}");
    assert!(dirs.work.join("pre.ran").exists() && dirs.work.join("post.ran").exists());
    assert_eq!(
        std::fs::read_to_string(dirs.config.join("running.cfg")).unwrap(),
        "<config><hostname>edge-1</hostname></config>"
    );
    // A failing pre-configuration script: reported, nothing configured.
    let (outcome, record, dirs) = &runs[2];
    let failure = outcome.as_ref().unwrap_err();
    assert_eq!(failure.progress_type, "pre-script-error");
    assert!(failure.reason.contains("boom"), "{failure}");
    assert_eq!(types(record), ["bootstrap-initiated", "pre-script-error"]);
    assert!(!dirs.config.join("running.cfg").exists());
    // Provisionally: onboarded (signed data), nothing reported.
    let (outcome, record, _) = &runs[3];
    assert_eq!(
        outcome.as_ref().unwrap(),
        &Outcome::Complete { ldevid: None }
    );
    assert!(
        record
            .iter()
            .all(|r| r.outcome.as_ref().unwrap_err().starts_with("not sent")),
        "{record:?}"
    );
    // The server kept SN-1's reports in order, the host key with the last.
    let reports = common::zerotouchctl(
        &[
            "reports",
            "--database",
            lab.path("bootstrap.sqlite").to_str().unwrap(),
            "--json",
            "SN-1",
        ],
        None,
    );
    let reports: serde_json::Value = serde_json::from_str(&reports).unwrap();
    let kept: Vec<&str> = reports["reports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["progress_type"].as_str().unwrap())
        .collect();
    assert_eq!(kept.len(), 11, "{kept:?}");
    assert_eq!(kept.last(), Some(&"bootstrap-complete"), "{kept:?}");
    server.stop_with(libc::SIGTERM, Duration::from_secs(10));
}

/// The `zerotouch-agent` binary as a device runs it, the server trusted by its CA and
/// the serial taken from the IDevID: to bootstrap-complete through a boot image and its
/// reboot, with a JSON record and exit status 0; a failing pre-configuration script
/// exits 1 naming the step.
#[test]
fn the_agent_binary_bootstraps_a_device_end_to_end() {
    let (lab, mut server, image) = onboarding_server();
    let pki = lab.path("pki");
    lab.write(
        "host-key.pub",
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA== root@device\n",
    );
    let run = |serial: &str| {
        let server_ca = pki.join("server-ca.pem").display().to_string();
        let key = lab.path("host-key.pub").display().to_string();
        let options = [
            "--server",
            "https://198.18.0.1:8443",
            "--server-ca",
            &server_ca,
            "--os-name",
            "acme-os",
            "--os-version",
            "2.0",
            "--ssh-host-key",
            &key,
        ];
        run_agent(&lab, &pki, serial, &lab.path(serial), &options)
    };
    let (code, out, record) = run("SN-1");
    assert_eq!(code, 0, "{out}");
    assert_eq!(record["serial"], "SN-1", "the IDevID's serialNumber");
    assert_eq!(record["complete"], true);
    let outcomes: Vec<&str> = record["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(
        outcomes,
        ["boot-image-installed-rebooting", "bootstrap-complete"]
    );
    assert_eq!(
        std::fs::read(lab.path("SN-1/images/acme-os-2.1.img")).unwrap(),
        image
    );
    assert!(lab.path("SN-1/config/running.cfg").exists());
    let (code, out, _) = run("SN-2");
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("pre-script-error") && out.contains("boom"),
        "{out}"
    );
    server.stop_with(libc::SIGTERM, Duration::from_secs(10));
}

/// DNS as the device's source (RFC 8572 §4.2) through the `dns` plugin: in one domain
/// the device's own TXT records carry signed onboarding information (verified, nothing
/// reported: no bootstrap server was asked); in another there are none, and the
/// `_sztp._tcp` SRV record's server, its address from the same nameserver, is reached
/// provisionally and sends signed data; multicast DNS (the plugin's responder) gives the
/// device's records under `local.` too.
#[test]
fn the_agent_finds_its_data_or_its_server_in_dns() {
    let (lab, pki) = lab_with_sn1();
    let dns = r#"
[[plugin]]
name = "dns"
[plugin.settings]
listen = ["198.18.0.1:53"]
mdns = { interfaces = ["IFACE"], zone = "sztp.example" }
[[plugin.settings.zone]]
name = "sztp.example"
bootstrap_devices = true
nameservers = [{ name = "ns1.sztp.example", addresses = ["198.18.0.1"] }]
[[plugin.settings.zone]]
name = "other.example"
nameservers = [{ name = "ns1.other.example", addresses = ["198.18.0.1"] }]
bootstrap_server = [{ target = "bs1.other.example", port = 8443, priority = 0, addresses = ["198.18.0.1"] }]
"#;
    let dns = dns.replace("IFACE", &lab.ifname("s"));
    let plugins = common::signing_bootstrap_plugin(&format!("{ONBOARD_SN1}{dns}"));
    let cfg = lab.write("dhcpd.toml", &plugins);
    let mut server = lab.start_dhcpd_until(&cfg, "server.log", "dns: serving");
    let run = |domain: &str| {
        let root = lab.path(domain);
        let sources = ["--dns-server", "198.18.0.1:53", "--domain", domain];
        let (code, out, record) = run_agent(&lab, &pki, "SN-1", &root, &sources);
        assert_eq!(code, 0, "{domain}: {out}");
        record
    };
    let record = run("sztp.example");
    let attempt = &record["attempts"][0];
    assert_eq!(attempt["source"], "DNS (device TXT)", "{record:#}");
    assert_eq!(attempt["outcome"], "bootstrap-complete", "{record:#}");
    assert_eq!(attempt["signed"], true);
    assert_eq!(
        attempt["steps"][0]["source"],
        "DNS TXT SN-1._sztp.sztp.example."
    );
    assert!(
        attempt["reports"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["sent"] == false),
        "{record:#}"
    );
    assert_eq!(
        std::fs::read_to_string(lab.path("sztp.example/config/running.cfg")).unwrap(),
        "<config><hostname>edge-1</hostname></config>"
    );
    // Multicast DNS first, as a device with no domain does: the responder on the
    // server's link publishes the same records under local.
    let route = ["ip", "route", "add", "224.0.0.0/4", "dev", &lab.ifname("c")];
    assert_eq!(lab.run(&lab.cli(), &route, Duration::from_secs(5)).0, 0);
    let (code, out, record) = run_agent(&lab, &pki, "SN-1", &lab.path("mdns"), &["--mdns"]);
    assert_eq!(code, 0, "{out}");
    let attempt = &record["attempts"][0];
    assert_eq!(attempt["source"], "mDNS (device TXT)", "{record:#}");
    assert_eq!(attempt["steps"][0]["source"], "DNS TXT SN-1._sztp.local.");
    assert_eq!(attempt["outcome"], "bootstrap-complete");
    let record = run("other.example");
    let attempts = record["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 2, "{record:#}");
    assert!(
        attempts[0]["error"]
            .as_str()
            .unwrap()
            .contains("no TXT records"),
        "{record:#}"
    );
    assert_eq!(attempts[1]["source"], "DNS (SRV)");
    assert_eq!(
        attempts[1]["steps"][0]["outcome"], "bs1.other.example:8443 at 198.18.0.1",
        "the SRV answer, its target's address from the same nameserver"
    );
    assert_eq!(attempts[1]["from"], "bs1.other.example:8443");
    assert_eq!(attempts[1]["outcome"], "bootstrap-complete");
    server.stop_with(libc::SIGTERM, Duration::from_secs(10));
}

/// DHCP as the source: ISC dhclient told of option 143 gets a lease from
/// zerotouch-dhcpd (the `sztp` plugin naming the bootstrap server) and the agent,
/// reading dhclient's lease file, reaches that server provisionally and bootstraps on
/// its signed data.
#[test]
fn the_agent_bootstraps_from_the_server_its_dhcp_lease_names() {
    require_tools(&["ip", "dhclient"]);
    let lab = Lab::two_hosts();
    let pki = sn1_pki(&lab, "198.18.0.1");
    // The syslog plugin is advertised (option 7) and keeps the device's lines.
    let syslog = r#"
[[plugin]]
name = "syslog"
[plugin.settings]
listen = ["198.18.0.1:514"]
collector = [{ address = "127.0.0.1:10515", transport = "udp" }]
status_listen = "127.0.0.1:9270"
"#;
    let plugins = format!(
        "\n[[plugin]]\nname = \"sztp\"\n{syslog}{}",
        common::signing_bootstrap_plugin(ONBOARD_SN1)
    );
    let cfg = lab.basic_config(
        "plugin.syslog = { advertise = true }",
        "[dhcp4.subnet.plugin.sztp]\nuris = [\"https://198.18.0.1:8443\"]",
        &plugins,
    );
    let mut server = lab.start_dhcpd_until(&cfg, "server.log", "bootstrap: serving");
    let (mut dhclient, lf) = common::dhclient4(
        &lab,
        "option sztp-redirect code 143 = string;\nrequest subnet-mask, routers, log-servers, sztp-redirect;\n",
    );
    let start = std::time::Instant::now();
    while !std::fs::read_to_string(&lf)
        .unwrap_or_default()
        .contains("option sztp-redirect")
    {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{}",
            dhclient.log_text()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // The address is on the interface once the script ran.
    while lab.ipv4_of(&lab.cli(), "c").is_empty() {
        assert!(start.elapsed() < Duration::from_secs(30));
        std::thread::sleep(Duration::from_millis(100));
    }
    let lease = lf.to_str().unwrap();
    let (code, out, record) = run_agent(
        &lab,
        &pki,
        "SN-1",
        &lab.path("device"),
        &["--dhcp-lease", lease],
    );
    dhclient.stop_with(libc::SIGTERM, Duration::from_secs(10));
    assert_eq!(code, 0, "{out}");
    let attempt = &record["attempts"][0];
    assert_eq!(attempt["source"], "DHCP (198.18.0.1:8443)", "{record:#}");
    assert_eq!(attempt["signed"], true);
    assert_eq!(attempt["outcome"], "bootstrap-complete");
    assert!(lab.path("device/config/running.cfg").exists());
    // Its log lines reached the server DHCP named, which keeps them by its lease.
    let address = lab.ipv4_of(&lab.cli(), "c").remove(0);
    let address = address.split('/').next().unwrap().to_string();
    let ctl = zerotouch_tests::binary("zerotouchctl");
    let start = std::time::Instant::now();
    let shown = loop {
        let (_, shown) = lab.run(
            &lab.srv(),
            &[
                ctl.to_str().unwrap(),
                "logs",
                "--url",
                "http://127.0.0.1:9270",
                &address,
            ],
            Duration::from_secs(10),
        );
        if shown.contains("bootstrap-complete (from 198.18.0.1:8443)")
            || start.elapsed() > Duration::from_secs(10)
        {
            break shown;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    for line in [
        "zerotouch-agent: bootstrapping: 1 source(s): DHCP (198.18.0.1:8443)",
        "zerotouch-agent: 198.18.0.1:8443 (not authenticated): signed onboarding information (voucher, owner certificate and signature verified)",
        "zerotouch-agent: progress report bootstrap-initiated: not sent: the server was not authenticated",
        "zerotouch-agent: bootstrap-complete (from 198.18.0.1:8443)",
    ] {
        assert!(shown.contains(line), "{line}:\n{shown}");
    }
    server.stop_with(libc::SIGTERM, Duration::from_secs(10));
}

/// DHCPv6 as the source: ISC dhclient -6 told of option 136 gets it from
/// zerotouch-dhcpd (the `sztp` plugin in the DHCPv6 scope) and the agent, reading the
/// DHCPv6 lease file, bootstraps from the server it names, over IPv6.
#[test]
fn the_agent_bootstraps_from_the_server_its_dhcpv6_lease_names() {
    require_tools(&["ip", "dhclient"]);
    let lab = Lab::two_hosts_v6();
    let pki = sn1_pki(&lab, "2001:db8:1::1");
    let plugins = format!(
        "\n[[plugin]]\nname = \"sztp\"\n{}",
        common::bootstrap_plugin("bootstrap", "[2001:db8:1::1]:8443", true, "", ONBOARD_SN1)
    );
    let cfg = lab.basic_config6(
        "[dhcp6.plugin.sztp]\nuris = [\"https://[2001:db8:1::1]:8443\"]",
        &plugins,
    );
    let mut server = lab.start_dhcpd_until(&cfg, "server.log", "bootstrap: serving");
    let conf = "option dhcp6.sztp-redirect code 136 = string;\nalso request dhcp6.sztp-redirect;\n";
    let (code, out, leases) = lab.dhclient6_once("dhclient6", conf, &[]);
    assert_eq!(code, 0, "{out}");
    // The address the lease gives, put on the interface as dhclient-script would.
    let address = leases
        .lines()
        .find_map(|l| l.trim().strip_prefix("iaaddr "))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("no address in the lease:\n{leases}"));
    let add = [
        "ip",
        "addr",
        "add",
        &format!("{address}/64"),
        "dev",
        &lab.ifname("c"),
    ];
    assert_eq!(lab.run(&lab.cli(), &add, Duration::from_secs(5)).0, 0);
    let lease = lab.path("dhclient6.leases");
    let (code, out, record) = run_agent(
        &lab,
        &pki,
        "SN-1",
        &lab.path("device"),
        &["--dhcp-lease", lease.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{out}");
    let attempt = &record["attempts"][0];
    assert_eq!(
        attempt["source"], "DHCP ([2001:db8:1::1]:8443)",
        "{record:#}"
    );
    assert_eq!(attempt["outcome"], "bootstrap-complete");
    server.stop_with(libc::SIGTERM, Duration::from_secs(10));
}

/// A device loops over its sources until one serves (RFC 8572 §5.2): started while its
/// bootstrap server is down, the agent with `--retry` tries again each second and
/// bootstraps once the server is up.
#[test]
fn the_agent_tries_again_until_a_server_serves() {
    let (lab, pki) = lab_with_sn1();
    let cfg = lab.write("dhcpd.toml", &common::signing_bootstrap_plugin(ONBOARD_SN1));
    let args = agent_args(
        &pki,
        "SN-1",
        &lab.path("device"),
        &[
            "--server",
            "https://198.18.0.1:8443",
            "--retry",
            "1",
            "--passes",
            "30",
        ],
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut device = zerotouch_tests::Daemon::spawn(
        "zerotouch-agent",
        &lab.cli(),
        &args,
        &lab.path("agent.out"),
    );
    // The device is refused a few times before the server starts.
    let start = std::time::Instant::now();
    while device.log_text().matches("trying them again").count() < 2 {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{}",
            device.log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut server = lab.start_dhcpd_until(&cfg, "server.log", "bootstrap: serving");
    assert_eq!(
        device.wait_exit(Duration::from_secs(30)),
        Some(0),
        "{}",
        device.log_text()
    );
    let out = device.log_text();
    let record: serde_json::Value =
        serde_json::from_str(&out[out.find('{').unwrap()..=out.rfind('}').unwrap()]).unwrap();
    let attempts = record["attempts"].as_array().unwrap();
    assert!(attempts.len() >= 3, "{record:#}");
    assert!(
        attempts[0]["error"]
            .as_str()
            .unwrap()
            .contains("connecting to 198.18.0.1:8443"),
        "{record:#}"
    );
    assert_eq!(attempts.last().unwrap()["outcome"], "bootstrap-complete");
    server.stop_with(libc::SIGTERM, Duration::from_secs(10));
}

/// RFC 9646 on both sides. The server issues LDevIDs from the lab's owner CA
/// (`[plugin.settings.ldevid]`): the agent, trusting the server, offers `csr-support`,
/// is asked for a CSR (400 `missing-attribute`), sends a PKCS#10 request for a new key
/// and installs the certificate that comes back in the configuration's ietf-keystore;
/// `openssl verify` accepts it under the owner CA, for the device's serial number and
/// the key the device kept. curl shows the server's side to any client: the
/// `csr-request` it asks with; an openssl CSR signed into a certificate for openssl's
/// key; CSRs for another serial number, for `keyCertSign`, and for `cA` refused. With
/// `--no-csr` the device bootstraps without a certificate.
#[test]
fn the_agent_asks_for_a_certificate_and_the_server_issues_it_or_refuses_the_request() {
    require_tools(&["openssl", "curl"]);
    let (lab, pki) = lab_with_sn1();
    let plugin = common::bootstrap_plugin(
        "bootstrap",
        "198.18.0.1:8443",
        false,
        r#"ldevid = { ca_certificate = "pki/owner-ca.pem", ca_key = "pki/owner-ca.key", validity_days = 30 }"#,
        ONBOARD_SN1,
    );
    let cfg = lab.write("dhcpd.toml", &plugin);
    let mut server = lab.start_dhcpd_until(&cfg, "server.log", "bootstrap: serving");
    let server_ca = pki.join("server-ca.pem").display().to_string();
    let sources = [
        "--server",
        "https://198.18.0.1:8443",
        "--server-ca",
        &server_ca,
    ];

    // The agent: asked for a CSR, then the certificate installed.
    let root = lab.path("SN-1");
    let (code, out, record) = run_agent(&lab, &pki, "SN-1", &root, &sources);
    assert_eq!(code, 0, "{out}");
    let attempt = &record["attempts"][0];
    assert!(
        attempt["steps"][0]["outcome"]
            .as_str()
            .unwrap()
            .contains("after a certificate request"),
        "{record}"
    );
    let ldevid = &attempt["ldevid"];
    assert_eq!(ldevid["name"], "ldevid", "{record}");
    assert_eq!(ldevid["issuer"], "CN=zerotouch lab owner CA");
    let cert = ldevid["certificate"].as_str().unwrap();
    let key = ldevid["key"].as_str().unwrap();
    let openssl = |args: &[&str]| {
        let out = std::process::Command::new("openssl")
            .args(args)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let owner_ca = pki.join("owner-ca.pem").display().to_string();
    let (ok, said) = openssl(&[
        "verify",
        "-CAfile",
        &owner_ca,
        "-purpose",
        "sslclient",
        cert,
    ]);
    assert!(ok, "{said}");
    let (_, subject) = openssl(&["x509", "-in", cert, "-noout", "-subject"]);
    assert!(subject.contains("serialNumber = SN-1"), "{subject}");
    let (_, cert_key) = openssl(&["x509", "-in", cert, "-noout", "-pubkey"]);
    let (_, kept_key) = openssl(&["pkey", "-in", key, "-pubout"]);
    assert_eq!(
        cert_key, kept_key,
        "the certificate is for the key the device kept"
    );
    let running = std::fs::read_to_string(root.join("config/running.cfg")).unwrap();
    assert!(
        running.starts_with("<config><hostname>edge-1</hostname><keystore xmlns=\"urn:ietf:params:xml:ns:yang:ietf-keystore\">"),
        "{running}"
    );
    server.wait_for_log(
        "bootstrap: issued the device a certificate",
        Duration::from_secs(5),
    );

    // The server's side, with curl and openssl as the device.
    let pki_file = |name: &str| pki.join(name).display().to_string();
    let post = |body: &str| -> (u16, serde_json::Value) {
        let reply = lab.path("reply.json");
        let (code, out) = lab.run(
            &lab.cli(),
            &[
                "curl", "-sS", "--max-time", "10",
                "--cacert", &pki_file("server-ca.pem"),
                "--cert", &pki_file("devices/SN-1.pem"),
                "--key", &pki_file("devices/SN-1.key"),
                "-H", "Content-Type: application/yang-data+json",
                "-H", "Accept: application/yang-data+json",
                "-o", reply.to_str().unwrap(),
                "-w", "%{http_code}",
                "-d", body,
                "https://198.18.0.1:8443/restconf/operations/ietf-sztp-bootstrap-server:get-bootstrapping-data",
            ],
            Duration::from_secs(20),
        );
        assert_eq!(code, 0, "{out}");
        let status = out.trim().parse().unwrap();
        (
            status,
            serde_json::from_slice(&std::fs::read(&reply).unwrap()).unwrap_or_default(),
        )
    };
    let support = serde_json::json!({"ietf-sztp-bootstrap-server:input": {
    "ietf-sztp-csr:csr-support": {
        "key-generation": {"supported-algorithms": {"algorithm-identifier": ["MAUGAytlcA==", "MBMGByqGSM49AgEGCCqGSM49AwEH"]}},
        "csr-generation": {"supported-formats": {"format-identifier": ["ietf-ztp-types:cmc-csr", "ietf-ztp-types:p10-csr"]}}
    }}});
    let (status, errors) = post(&support.to_string());
    assert_eq!(status, 400, "{errors}");
    let error = &errors["ietf-restconf:errors"]["error"][0];
    assert_eq!(error["error-tag"], "missing-attribute");
    let asked = &error["error-info"]["ietf-sztp-csr:csr-request"];
    assert_eq!(
        asked["csr-generation"]["selected-format"]["format-identifier"],
        "ietf-ztp-types:p10-csr"
    );
    assert_eq!(
        asked["key-generation"]["selected-algorithm"]["algorithm-identifier"],
        "MBMGByqGSM49AgEGCCqGSM49AwEH",
        "id-ecPublicKey on P-256"
    );

    // openssl's CSRs: `subject` and extensions `ext`.
    let csr = |name: &str, subject: &str, ext: &[&str]| -> String {
        let (key, der) = (
            lab.path(&format!("{name}.key")),
            lab.path(&format!("{name}.der")),
        );
        let mut args = vec![
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            key.to_str().unwrap(),
            "-subj",
            subject,
            "-outform",
            "DER",
            "-out",
            der.to_str().unwrap(),
        ];
        for e in ext {
            args.extend(["-addext", e]);
        }
        let (ok, said) = openssl(&args);
        assert!(ok, "{said}");
        BASE64.encode(std::fs::read(&der).unwrap())
    };
    let p10 = |csr: &str| {
        serde_json::json!({"ietf-sztp-bootstrap-server:input": {"ietf-sztp-csr:p10-csr": csr}})
            .to_string()
    };
    let (status, output) = post(&p10(&csr("good", "/CN=SN-1/serialNumber=SN-1", &[])));
    assert_eq!(status, 200, "{output}");
    let out = zerotouch_sztp::output::BootstrapOutput::parse(
        output.to_string().as_bytes(),
        Encoding::Json,
    )
    .unwrap();
    let (_, document) = zerotouch_sztp::cms::open_unsigned(&out.conveyed_information).unwrap();
    let Conveyed::Onboarding(onboarding) = Conveyed::parse(&document, Encoding::Json).unwrap()
    else {
        panic!("not onboarding information")
    };
    let carried = zerotouch_sztp::keystore::carried(&onboarding.configuration.unwrap()).unwrap();
    let good_key = lab.path("good.key").display().to_string();
    let good_pub = lab.path("good.pub").display().to_string();
    let (ok, said) = openssl(&[
        "pkey", "-in", &good_key, "-pubout", "-outform", "DER", "-out", &good_pub,
    ]);
    assert!(ok, "{said}");
    assert_eq!(
        carried[0].public_key,
        std::fs::read(lab.path("good.pub")).unwrap()
    );
    for (name, subject, ext, says) in [
        (
            "other",
            "/serialNumber=SN-2",
            &[][..],
            "serial number \"SN-2\"",
        ),
        (
            "ca-usage",
            "/CN=SN-1",
            &["keyUsage=critical,digitalSignature,keyCertSign"][..],
            "keyCertSign",
        ),
        (
            "ca",
            "/CN=SN-1",
            &["basicConstraints=critical,CA:TRUE"][..],
            "cA",
        ),
    ] {
        let (status, errors) = post(&p10(&csr(name, subject, ext)));
        let error = &errors["ietf-restconf:errors"]["error"][0];
        assert_eq!(
            (status, &error["error-tag"]),
            (400, &serde_json::json!("invalid-value")),
            "{name}: {errors}"
        );
        assert!(
            error["error-message"].as_str().unwrap().contains(says),
            "{name}: {errors}"
        );
    }

    // A device that does not ask bootstraps without one.
    let root = lab.path("SN-1-no-csr");
    let mut options = sources.to_vec();
    options.push("--no-csr");
    let (code, out, record) = run_agent(&lab, &pki, "SN-1", &root, &options);
    assert_eq!(code, 0, "{out}");
    assert!(record["attempts"][0]["ldevid"].is_null(), "{record}");
    assert!(!root.join("credentials/ldevid.pem").exists());
    server.stop_with(libc::SIGTERM, Duration::from_secs(10));
}
