//! zerotouch-agent's RESTCONF client and signed-data check against the embedded
//! bootstrap server (zerotouch-dhcpd with the `bootstrap` plugin) and a lab PKI from
//! `zerotouchctl pki lab`: signed onboarding information fetched provisionally,
//! verified against the manufacturer's voucher CA and read; the server trusted by its
//! CA, refused under another; progress reports answered 204, a bad one refused.

mod common;

use std::time::Duration;

use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use zerotouch_agent::client::{Client, ClientError, Input, Report, Server, ServerTrust};
use zerotouch_agent::verify::{self, Device, Format, SignedArtifacts};
use zerotouch_plugin_bootstrap::conveyed::Conveyed;
use zerotouch_plugin_bootstrap::restconf::Encoding;
use zerotouch_tests::{Lab, require_tools};

fn anchors(path: &std::path::Path) -> Vec<CertificateDer<'static>> {
    CertificateDer::pem_file_iter(path)
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap()
}

#[test]
fn the_agent_fetches_verifies_and_reads_signed_onboarding_information() {
    require_tools(&["ip"]);
    let lab = Lab::two_hosts();
    lab.addr(&lab.cli(), "c", "198.18.0.2/24");
    let pki = lab.path("pki");
    common::pki_lab(&pki, "198.18.0.1", &["SN-1"]);
    lab.write("config.xml", "<config><hostname>edge-1</hostname></config>");
    let plugin = common::signing_bootstrap_plugin(
        r#"
[[plugin.settings.device]]
serial = "SN-1"
response = "onboard"
[[plugin.settings.response]]
name = "onboard"
match = { serial = "no-such-*" }
[plugin.settings.response.onboarding]
configuration_handling = "merge"
configuration = "config.xml"
"#,
    );
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

    let outcome = lab.in_ns(&lab.cli(), move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let bs = Server {
                host: "198.18.0.1".into(),
                port: 8443,
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
        })
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
