//! The embedded SZTP bootstrap server (`bootstrap` plugin) against curl as the device,
//! with a lab PKI made by `zerotouchctl pki`: signed onboarding information that
//! `openssl cms -verify` accepts against the owner certificate, with a voucher it
//! accepts against the voucher CA; progress reports kept and listed; XML, host-meta,
//! redirect information, boot images with ranges, device records re-read without a
//! restart, SIGHUP; and 401/400/404/413 for wrong credentials and bad input while the
//! server keeps serving.

mod common;

use common::zerotouchctl;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use zerotouch_tests::{Daemon, Lab, require_tools};

const RPC: &str = "https://198.18.0.1:8443/restconf/operations/ietf-sztp-bootstrap-server:";
const JSON: &str = "application/yang-data+json";
const XML: &str = "application/yang-data+xml";

/// A lab with the server at 198.18.0.1 and the device at 198.18.0.2, a PKI for devices
/// SN-1 and SN-2, and zerotouch-dhcpd running the bootstrap plugin.
struct Bootstrap {
    lab: Lab,
    server: Daemon,
    cfg: PathBuf,
}

const IMAGE_LEN: usize = 100_000;

fn start() -> Bootstrap {
    start_with(true)
}

/// The lab with the server's file holding DHCPv4 too (`dhcp`) or only the plugins.
fn start_with(dhcp: bool) -> Bootstrap {
    require_tools(&["ip", "curl", "openssl"]);
    let lab = Lab::two_hosts();
    lab.addr(&lab.cli(), "c", "198.18.0.2/24");
    let pki = lab.path("pki");
    common::pki_lab(&pki, "198.18.0.1", &["SN-1", "SN-2"]);
    // BASIC-1 has no certificate: it authenticates with its secret alone.
    let secret = zerotouchctl(&["hash-secret", "--iterations", "1000"], Some("s3cret-1\n"));
    let basic_secret = zerotouchctl(
        &["hash-secret", "--iterations", "1000"],
        Some("basic-pass\n"),
    );
    for d in ["files", "devices", "images"] {
        std::fs::create_dir_all(lab.path(d)).unwrap();
    }
    lab.write(
        "files/config.xml",
        "<config><hostname>edge-1</hostname></config>",
    );
    lab.write("files/post.sh", "#!/bin/sh\necho configured\n");
    let image: Vec<u8> = (0..IMAGE_LEN).map(|i| (i % 251) as u8).collect();
    std::fs::write(lab.path("images/acme-2.1.img"), &image).unwrap();
    lab.write("secret.txt", "not for devices");
    let plugin = format!(
        r#"
[[plugin]]
name = "bootstrap"
[plugin.settings]
listen = ["198.18.0.1:8443"]
certificate = "pki/server.pem"
private_key = "pki/server.key"
device_ca = ["pki/manufacturer-ca.pem"]
client_certificate = "optional"
devices_dir = "devices"
reports_database = "bootstrap.sqlite"
status_listen = "127.0.0.1:9269"
images_dir = "images"

[plugin.settings.signing]
owner_certificate = "pki/owner.pem"
owner_key = "pki/owner.key"
vouchers_dir = "pki/vouchers"

[[plugin.settings.device]]
serial = "SN-1"
secret = "{secret}"
response = "onboard"
reporting_level = "verbose"

[[plugin.settings.device]]
serial = "SN-2"

[[plugin.settings.device]]
serial = "BASIC-1"
secret = "{basic_secret}"
response = "onboard"

[[plugin.settings.response]]
name = "redirect-model-r"
match = {{ hw_model = "model-r" }}
redirect = [{{ address = "198.18.0.1", port = 8443, trust_anchor = "pki/server-ca.pem" }}]

[[plugin.settings.response]]
name = "onboard"
match = {{ serial = "no-such-*" }}
[plugin.settings.response.onboarding]
configuration_handling = "merge"
configuration = "files/config.xml"
post_configuration_script = "files/post.sh"
[plugin.settings.response.onboarding.boot_image]
os_name = "acme-os"
os_version = "2.1"
download_uri = ["https://198.18.0.1:8443/images/acme-2.1.img"]
file = "images/acme-2.1.img"

# The metrics plugin counts the progress reports the bootstrap server hands on.
[[plugin]]
name = "metrics"
[plugin.settings]
listen = "127.0.0.1:9267"

# A second server that insists on client certificates.
[[plugin]]
name = "bootstrap"
instance = "strict"
[plugin.settings]
listen = ["198.18.0.1:8444"]
certificate = "pki/server.pem"
private_key = "pki/server.key"
device_ca = ["pki/manufacturer-ca.pem"]
reports_database = "strict.sqlite"
auth_failures_per_minute = 4
[[plugin.settings.device]]
serial = "BASIC-1"
secret = "{basic_secret}"
"#,
        secret = secret.trim(),
        basic_secret = basic_secret.trim(),
    );
    let (cfg, mut server) = if dhcp {
        let cfg = lab.basic_config("", "", &plugin);
        let server = lab.start_dhcpd(&cfg, "server.log");
        (cfg, server)
    } else {
        // A bootstrap server on a host of its own: no [dhcp4] or [dhcp6] at all.
        let cfg = lab.write("dhcpd.toml", &plugin);
        let server = lab.start_dhcpd_until(&cfg, "server.log", "only the plugins' services run");
        (cfg, server)
    };
    server.wait_for_log("bootstrap: serving", Duration::from_secs(10));
    lab.run(
        &lab.srv(),
        &["ip", "link", "set", "lo", "up"],
        Duration::from_secs(5),
    );
    Bootstrap { lab, server, cfg }
}

/// A curl response: status code and body.
struct Reply {
    status: u16,
    body: Vec<u8>,
    headers: String,
}

impl Reply {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.text()))
    }
}

impl Bootstrap {
    fn pki(&self, name: &str) -> String {
        self.lab.path("pki").join(name).display().to_string()
    }

    /// curl from the device's namespace; `cert` is a device's serial number in the lab
    /// PKI (or a path prefix to a .pem/.key pair).
    fn curl(&self, cert: Option<&str>, args: &[&str]) -> Reply {
        let body = self.lab.path("curl-body");
        let headers = self.lab.path("curl-headers");
        let _ = std::fs::remove_file(&body);
        let mut argv: Vec<String> = ["curl", "-sS", "--max-time", "10", "--cacert"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        argv.push(self.pki("server-ca.pem"));
        if let Some(c) = cert {
            let base = if c.contains('/') {
                c.to_string()
            } else {
                self.pki(&format!("devices/{c}"))
            };
            argv.extend([
                "--cert".into(),
                format!("{base}.pem"),
                "--key".into(),
                format!("{base}.key"),
            ]);
        }
        argv.extend([
            "-o".into(),
            body.display().to_string(),
            "-D".into(),
            headers.display().to_string(),
        ]);
        argv.extend(["-w".into(), "%{http_code}".into()]);
        argv.extend(args.iter().map(|s| s.to_string()));
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        let (code, out) = self
            .lab
            .run(&self.lab.cli(), &argv, Duration::from_secs(20));
        assert_eq!(code, 0, "curl {args:?}: {out}");
        Reply {
            status: out
                .trim()
                .parse()
                .unwrap_or_else(|_| panic!("status from curl: {out}")),
            body: std::fs::read(&body).unwrap_or_default(),
            headers: std::fs::read_to_string(&headers).unwrap_or_default(),
        }
    }

    fn post(
        &self,
        cert: Option<&str>,
        rpc: &str,
        content_type: &str,
        body: &str,
        extra: &[&str],
    ) -> Reply {
        let url = format!("{RPC}{rpc}");
        let ct = format!("Content-Type: {content_type}");
        let mut args = vec!["-X", "POST", "-H", ct.as_str(), "--data-binary", body];
        args.extend_from_slice(extra);
        args.push(&url);
        self.curl(cert, &args)
    }

    fn write(&self, name: &str, bytes: &[u8]) -> String {
        let p = self.lab.path(name);
        std::fs::write(&p, bytes).unwrap();
        p.display().to_string()
    }

    /// `openssl cms -verify` of a DER artifact against `ca`: the signed content.
    fn openssl_verify(&self, der: &[u8], ca: &str, name: &str) -> Vec<u8> {
        common::openssl_cms_verify(&self.lab, der, std::path::Path::new(ca), name)
    }

    /// A plain-HTTP GET from the server's own namespace (status endpoint, metrics).
    fn local_get(&self, url: &str) -> String {
        let (code, body) = self.lab.run(
            &self.lab.srv(),
            &["curl", "-sS", "--max-time", "5", url],
            Duration::from_secs(10),
        );
        assert_eq!(code, 0, "{url}: {body}");
        body
    }

    fn openssl(&self, args: &[&str]) -> String {
        let o = Command::new("openssl").args(args).output().unwrap();
        assert!(
            o.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }
}

fn b64(v: &serde_json::Value) -> Vec<u8> {
    BASE64
        .decode(v.as_str().unwrap_or_else(|| panic!("not a string: {v}")))
        .unwrap()
}

fn basic(user: &str, password: &str) -> String {
    format!("{user}:{password}")
}

#[test]
fn a_device_gets_signed_onboarding_that_openssl_verifies_and_its_reports_are_kept() {
    let bs = start();
    // The OPI agent's way: JSON, no Accept, Basic with the certificate, empty nonce.
    let user = basic("SN-1", "s3cret-1");
    let r = bs.post(
        Some("SN-1"),
        "get-bootstrapping-data",
        JSON,
        r#"{"ietf-sztp-bootstrap-server:input":{"signed-data-preferred":[null],"hw-model":"model-x","nonce":""}}"#,
        &["-u", &user],
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(
        r.headers
            .to_ascii_lowercase()
            .contains("content-type: application/yang-data+json"),
        "{}",
        r.headers
    );
    let out = r.json()["ietf-sztp-bootstrap-server:output"].clone();
    assert_eq!(out["reporting-level"], "verbose");

    // Conveyed information: signed by the owner, verified by OpenSSL.
    let content = bs.openssl_verify(
        &b64(&out["conveyed-information"]),
        &bs.pki("owner-ca.pem"),
        "conveyed",
    );
    let doc: serde_json::Value = serde_json::from_slice(&content).unwrap();
    let info = &doc["ietf-sztp-conveyed-info:onboarding-information"];
    assert_eq!(
        b64(&info["configuration"]),
        b"<config><hostname>edge-1</hostname></config>"
    );
    assert_eq!(info["configuration-handling"], "merge");
    assert_eq!(
        b64(&info["post-configuration-script"]),
        b"#!/bin/sh\necho configured\n"
    );
    let image = &info["boot-image"];
    assert_eq!(
        image["download-uri"][0],
        "https://198.18.0.1:8443/images/acme-2.1.img"
    );
    let sha = bs.openssl(&[
        "dgst",
        "-sha256",
        "-r",
        bs.lab.path("images/acme-2.1.img").to_str().unwrap(),
    ]);
    let want: String = sha.split_whitespace().next().unwrap().to_string();
    let got: String = image["image-verification"][0]["hash-value"]
        .as_str()
        .unwrap()
        .replace(':', "");
    assert_eq!(got, want);
    let der = bs.lab.path("conveyed.der");
    let asn1 = bs.openssl(&[
        "cms",
        "-cmsout",
        "-print",
        "-inform",
        "DER",
        "-in",
        der.to_str().unwrap(),
    ]);
    assert!(asn1.contains("1.2.840.113549.1.9.16.1.43"), "{asn1}");

    // The voucher, verified against the voucher CA, names the device and pins the owner CA.
    let voucher = bs.openssl_verify(
        &b64(&out["ownership-voucher"]),
        &bs.pki("voucher-ca.pem"),
        "voucher",
    );
    let voucher: serde_json::Value = serde_json::from_slice(&voucher).unwrap();
    assert_eq!(voucher["ietf-voucher:voucher"]["serial-number"], "SN-1");
    let pinned = b64(&voucher["ietf-voucher:voucher"]["pinned-domain-cert"]);
    bs.openssl(&[
        "x509",
        "-in",
        &bs.pki("owner-ca.pem"),
        "-outform",
        "DER",
        "-out",
        bs.lab.path("owner-ca.der").to_str().unwrap(),
    ]);
    assert_eq!(pinned, std::fs::read(bs.lab.path("owner-ca.der")).unwrap());
    // The owner certificate: a certificates-only SignedData holding the owner's chain.
    let oc = bs.write("owner-certificate.der", &b64(&out["owner-certificate"]));
    let certs = bs.openssl(&[
        "pkcs7",
        "-inform",
        "DER",
        "-in",
        &oc,
        "-print_certs",
        "-noout",
    ]);
    assert!(
        certs.contains("CN = zerotouch lab owner") && certs.contains("CN = zerotouch lab owner CA"),
        "{certs}"
    );

    // Progress reports: 204, kept, listed by zerotouchctl and the status endpoint.
    for body in [
        r#"{"ietf-sztp-bootstrap-server:input":{"progress-type":"bootstrap-initiated","message":"starting"}}"#,
        r#"{"ietf-sztp-bootstrap-server:input":{"progress-type":"boot-image-initiated","message":"BootImage Initiated","ssh-host-keys":{},"trust-anchor-certs":{}}}"#,
        r#"{"ietf-sztp-bootstrap-server:input":{"progress-type":"bootstrap-complete","ssh-host-keys":{"ssh-host-key":[{"algorithm":"ssh-ed25519","key-data":"AAAAC3NzaC1lZDI1NTE5AAAAIE8="}]}}}"#,
    ] {
        let r = bs.post(Some("SN-1"), "report-progress", JSON, body, &["-u", &user]);
        assert_eq!(r.status, 204, "{}", r.text());
        assert!(r.body.is_empty());
    }
    let listed = zerotouchctl(&["reports", "--config", bs.cfg.to_str().unwrap()], None);
    assert!(
        listed
            .lines()
            .any(|l| l.starts_with("SN-1") && l.contains("complete") && l.contains(" 3")),
        "{listed}"
    );
    let one = zerotouchctl(
        &[
            "reports",
            "--config",
            bs.cfg.to_str().unwrap(),
            "--json",
            "SN-1",
        ],
        None,
    );
    let one: serde_json::Value = serde_json::from_str(&one).unwrap();
    assert_eq!(
        one["reports"][2]["ssh_host_keys"][0]["algorithm"],
        "ssh-ed25519"
    );
    assert_eq!(one["reports"][0]["message"], "starting");
    let status = bs.local_get("http://127.0.0.1:9269/devices");
    let status: serde_json::Value = serde_json::from_str(&status).unwrap();
    assert_eq!(status["devices"][0]["serial"], "SN-1");
    assert_eq!(status["devices"][0]["state"], "complete");
    // Handed to other plugins: the metrics plugin counted them.
    let metrics = bs.local_get("http://127.0.0.1:9267/metrics");
    assert!(
        metrics.contains("zerotouch_sztp_progress_total{type=\"bootstrap-complete\"} 1"),
        "{metrics}"
    );
    let log = bs.server.log_text();
    assert!(
        log.contains("sent signed onboarding information from response \"onboard\""),
        "{log}"
    );
    assert!(log.contains("progress bootstrap-complete"), "{log}");

    // A device without a certificate, with its secret, on the server that allows it.
    let r = bs.post(
        None,
        "get-bootstrapping-data",
        JSON,
        "",
        &["-u", &basic("BASIC-1", "basic-pass")],
    );
    assert_eq!(r.status, 200, "{}", r.text());
    // Without signed-data-preferred it is unsigned: a ContentInfo with the JSON inside.
    let ci = bs.write(
        "basic.der",
        &b64(&r.json()["ietf-sztp-bootstrap-server:output"]["conveyed-information"]),
    );
    let asn1 = bs.openssl(&["asn1parse", "-inform", "DER", "-in", &ci]);
    assert!(
        asn1.contains("1.2.840.113549.1.9.16.1.43") && !asn1.contains("pkcs7-signedData"),
        "{asn1}"
    );
}

#[test]
fn xml_redirect_host_meta_images_and_device_records_without_restart() {
    let mut bs = start();
    // XML in and out; SN-2 saying it is a model-r gets redirect information, unsigned,
    // with the server CA as trust anchor, in a ContentInfo of type …1.42 (XML).
    let body = r#"<input xmlns="urn:ietf:params:xml:ns:yang:ietf-sztp-bootstrap-server"><hw-model>model-r</hw-model></input>"#;
    let r = bs.post(
        Some("SN-2"),
        "get-bootstrapping-data",
        XML,
        body,
        &["-H", "Accept: application/yang-data+xml"],
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let text = r.text();
    assert!(
        text.starts_with(
            "<output xmlns=\"urn:ietf:params:xml:ns:yang:ietf-sztp-bootstrap-server\">"
        ),
        "{text}"
    );
    let ci = text
        .split("<conveyed-information>")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap();
    let der = bs.write("redirect.der", &BASE64.decode(ci).unwrap());
    let asn1 = bs.openssl(&["asn1parse", "-inform", "DER", "-in", &der]);
    assert!(asn1.contains("1.2.840.113549.1.9.16.1.42"), "{asn1}");
    // The document is the OCTET STRING at the end of the ContentInfo.
    let raw = std::fs::read(&der).unwrap();
    let doc =
        String::from_utf8_lossy(&raw[raw.iter().position(|b| *b == b'<').unwrap()..]).into_owned();
    assert!(doc.contains("<redirect-information xmlns=\"urn:ietf:params:xml:ns:yang:ietf-sztp-conveyed-info\"><bootstrap-server><address>198.18.0.1</address><port>8443</port><trust-anchor>"), "{doc}");

    // host-meta names the RESTCONF root.
    let r = bs.curl(
        Some("SN-2"),
        &["https://198.18.0.1:8443/.well-known/host-meta"],
    );
    assert_eq!(r.status, 200);
    assert!(
        r.text()
            .contains("<Link rel=\"restconf\" href=\"/restconf\"/>"),
        "{}",
        r.text()
    );

    // SN-2 as another model has nothing staged: 404 data-missing.
    let r = bs.post(Some("SN-2"), "get-bootstrapping-data", JSON, "", &[]);
    assert_eq!(r.status, 404, "{}", r.text());
    assert_eq!(
        r.json()["ietf-restconf:errors"]["error"][0]["error-tag"],
        "data-missing"
    );

    // A record file for SN-2, written while the server runs, is used at once; editing
    // it changes the answer.
    let record = |os_version: &str| {
        format!(
            "[onboarding.boot_image]\nos_name = \"acme-os\"\nos_version = \"{os_version}\"\ndownload_uri = [\"https://198.18.0.1:8443/images/acme-2.1.img\"]\nsha256 = \"{}\"\n",
            "ab".repeat(32)
        )
    };
    bs.lab.write("devices/SN-2.toml", &record("3.0"));
    let onboarding = |bs: &Bootstrap| {
        let r = bs.post(Some("SN-2"), "get-bootstrapping-data", JSON, "{}", &[]);
        assert_eq!(r.status, 200, "{}", r.text());
        let der = b64(&r.json()["ietf-sztp-bootstrap-server:output"]["conveyed-information"]);
        let text = String::from_utf8_lossy(&der).into_owned();
        text[text.find('{').unwrap()..].to_string()
    };
    assert!(onboarding(&bs).contains("\"os-version\":\"3.0\""));
    bs.lab.write("devices/SN-2.toml", &record("3.1"));
    assert!(onboarding(&bs).contains("\"os-version\":\"3.1\""));
    // A broken record: 500 with the reason in the server's log, and the server goes on.
    bs.lab.write("devices/SN-2.toml", "onboarding = 7\n");
    let r = bs.post(Some("SN-2"), "get-bootstrapping-data", JSON, "{}", &[]);
    assert_eq!(r.status, 500, "{}", r.text());
    assert!(
        bs.server.log_text().contains("SN-2.toml"),
        "{}",
        bs.server.log_text()
    );
    std::fs::remove_file(bs.lab.path("devices/SN-2.toml")).unwrap();

    // Boot images: whole, a range, and no way out of the images folder.
    let url = "https://198.18.0.1:8443/images/acme-2.1.img";
    let r = bs.curl(Some("SN-2"), &[url]);
    assert_eq!((r.status, r.body.len()), (200, IMAGE_LEN));
    let r = bs.curl(Some("SN-2"), &["-r", "1000-1009", url]);
    assert_eq!(r.status, 206, "{}", r.headers);
    assert_eq!(
        r.body,
        (1000..1010).map(|i| (i % 251) as u8).collect::<Vec<u8>>()
    );
    assert!(
        r.headers.contains(&format!("bytes 1000-1009/{IMAGE_LEN}")),
        "{}",
        r.headers
    );
    for path in [
        "../secret.txt",
        "%2e%2e/secret.txt",
        "..%2fsecret.txt",
        "images/../../secret.txt",
    ] {
        let r = bs.curl(
            Some("SN-2"),
            &[
                "--path-as-is",
                &format!("https://198.18.0.1:8443/images/{path}"),
            ],
        );
        assert_eq!(r.status, 404, "{path}: {}", r.text());
        assert!(!r.text().contains("not for devices"));
    }
    let r = bs.curl(None, &[url]);
    assert_eq!(r.status, 401, "images need an authenticated device");

    // SIGHUP: a changed response applies to the next request.
    let text = std::fs::read_to_string(&bs.cfg)
        .unwrap()
        .replace("port = 8443, trust_anchor", "port = 9443, trust_anchor");
    std::fs::write(&bs.cfg, text).unwrap();
    bs.server.signal(libc::SIGHUP);
    bs.server
        .wait_for_log("bootstrap: settings reloaded", Duration::from_secs(10));
    let r = bs.post(Some("SN-2"), "get-bootstrapping-data", XML, body, &[]);
    assert_eq!(r.status, 200, "{}", r.text());
    let ci = r.text();
    let ci = ci
        .split("<conveyed-information>")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap();
    assert!(String::from_utf8_lossy(&BASE64.decode(ci).unwrap()).contains("<port>9443</port>"));
}

#[test]
fn wrong_or_missing_credentials_get_401_and_bad_input_is_refused_while_serving_continues() {
    let bs = start();
    // A certificate from another manufacturer.
    let other = bs.lab.path("other-pki");
    zerotouchctl(
        &[
            "pki",
            "lab",
            "--dir",
            other.to_str().unwrap(),
            "--device",
            "SN-1",
            "--server-name",
            "x",
        ],
        None,
    );
    let foreign = other.join("devices/SN-1").display().to_string();
    let input = r#"{"ietf-sztp-bootstrap-server:input":{}}"#;
    let refused = |r: &Reply, needle: &str| {
        assert_eq!(r.status, 401, "{}", r.text());
        let e = &r.json()["ietf-restconf:errors"]["error"][0];
        assert_eq!(e["error-tag"], "access-denied");
        assert!(
            e["error-message"].as_str().unwrap().contains(needle),
            "{needle}: {e}"
        );
    };
    refused(
        &bs.post(Some(&foreign), "get-bootstrapping-data", JSON, input, &[]),
        "client certificate refused",
    );
    // Basic naming another device than the certificate.
    refused(
        &bs.post(
            Some("SN-1"),
            "get-bootstrapping-data",
            JSON,
            input,
            &["-u", "SN-2:s3cret-1"],
        ),
        "differ",
    );
    // SN-1 has a secret: the certificate alone is not enough, a wrong secret neither.
    refused(
        &bs.post(Some("SN-1"), "get-bootstrapping-data", JSON, input, &[]),
        "secret",
    );
    refused(
        &bs.post(
            Some("SN-1"),
            "get-bootstrapping-data",
            JSON,
            input,
            &["-u", "SN-1:wrong"],
        ),
        "wrong secret",
    );
    // No credentials at all; Basic for a device without a secret.
    refused(
        &bs.post(None, "get-bootstrapping-data", JSON, input, &[]),
        "no credentials",
    );
    refused(
        &bs.post(
            None,
            "get-bootstrapping-data",
            JSON,
            input,
            &["-u", "SN-2:x"],
        ),
        "no secret",
    );
    // The strict server wants a certificate even with the right secret; errors in XML
    // when the device reads XML.
    let r = bs.curl(None, &["-X", "POST", "-u", "BASIC-1:basic-pass", "-H", "Accept: application/yang-data+xml", "-d", "", "https://198.18.0.1:8444/restconf/operations/ietf-sztp-bootstrap-server:get-bootstrapping-data"]);
    assert_eq!(r.status, 401, "{}", r.text());
    assert!(
        r.text().contains("<error-tag>access-denied</error-tag>")
            && r.text().contains("client certificate (IDevID) is required"),
        "{}",
        r.text()
    );
    // An unknown device with a valid IDevID.
    zerotouchctl(
        &[
            "pki",
            "device",
            "--dir",
            bs.lab.path("pki").to_str().unwrap(),
            "SN-9",
        ],
        None,
    );
    refused(
        &bs.post(Some("SN-9"), "get-bootstrapping-data", JSON, input, &[]),
        "unknown device",
    );

    // Bad input from an authenticated device: a RESTCONF error each, nothing stored.
    let user = "SN-1:s3cret-1";
    let bad = |body: &str, ct: &str, rpc: &str, status: u16, tag: &str| {
        let r = bs.post(Some("SN-1"), rpc, ct, body, &["-u", user]);
        assert_eq!(r.status, status, "{body}: {}", r.text());
        if !tag.is_empty() {
            let e = if ct == XML {
                r.text()
            } else {
                r.json().to_string()
            };
            assert!(e.contains(tag), "{body}: {e}");
        }
    };
    bad(
        "{\"ietf-sztp-bootstrap-server:input\":",
        JSON,
        "get-bootstrapping-data",
        400,
        "malformed-message",
    );
    bad(
        r#"{"ietf-sztp-bootstrap-server:input":{"hw-model":42}}"#,
        JSON,
        "get-bootstrapping-data",
        400,
        "invalid-value",
    );
    bad(
        r#"{"ietf-sztp-bootstrap-server:input":{"colour":"red"}}"#,
        JSON,
        "get-bootstrapping-data",
        400,
        "unknown-element",
    );
    bad(
        "<input xmlns=\"urn:ietf:params:xml:ns:yang:ietf-sztp-bootstrap-server\"><hw-model>",
        XML,
        "get-bootstrapping-data",
        400,
        "malformed-message",
    );
    bad(
        r#"{"ietf-sztp-bootstrap-server:input":{"progress-type":"finished"}}"#,
        JSON,
        "report-progress",
        400,
        "invalid-value",
    );
    bad(
        r#"{"ietf-sztp-bootstrap-server:input":{"message":"no type"}}"#,
        JSON,
        "report-progress",
        400,
        "missing-element",
    );
    bad("hello", "text/plain", "get-bootstrapping-data", 415, "");
    let huge = format!(
        r#"{{"ietf-sztp-bootstrap-server:input":{{"message":"{}"}}}}"#,
        "x".repeat(70_000)
    );
    let huge_file = bs.write("huge.json", huge.as_bytes());
    bad(
        &format!("@{huge_file}"),
        JSON,
        "report-progress",
        413,
        "too-big",
    );
    bad("{}", JSON, "no-such-rpc", 404, "unknown RPC");
    let r = bs.curl(
        Some("SN-1"),
        &["-u", user, &format!("{RPC}get-bootstrapping-data")],
    );
    assert_eq!(r.status, 405, "GET on an RPC");
    let r = bs.post(
        Some("SN-1"),
        "get-bootstrapping-data",
        JSON,
        "{}",
        &["-u", user, "-H", "Accept: text/html"],
    );
    assert_eq!(r.status, 406);

    // signed-data-preferred from a device without a voucher: never unsigned onboarding.
    std::fs::remove_file(bs.lab.path("pki/vouchers/SN-1.vcj")).unwrap();
    let r = bs.post(
        Some("SN-1"),
        "get-bootstrapping-data",
        JSON,
        r#"{"ietf-sztp-bootstrap-server:input":{"signed-data-preferred":[null]}}"#,
        &["-u", user],
    );
    assert_eq!(r.status, 404, "{}", r.text());
    assert!(r.text().contains("never sent unsigned"), "{}", r.text());

    // No progress report was stored; the refused requests were, each with its reason
    // (issue 17: an operator sees why a device failed). The server still serves.
    let status = bs.local_get("http://127.0.0.1:9269/devices");
    let devices = serde_json::from_str::<serde_json::Value>(&status).unwrap()["devices"].clone();
    let devices = devices.as_array().unwrap();
    assert!(!devices.is_empty(), "{status}");
    for d in devices {
        assert_eq!(d["reports"], 0, "{d}");
        assert_eq!(d["state"], "refused", "{d}");
    }
    let sn9 = devices.iter().find(|d| d["serial"] == "SN-9").unwrap();
    assert_eq!(sn9["last_request"]["status"], 401);
    assert_eq!(sn9["last_request"]["outcome"], "unknown device \"SN-9\"");
    let r = bs.post(
        Some("SN-1"),
        "get-bootstrapping-data",
        JSON,
        "{}",
        &["-u", user],
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let counters = bs.local_get("http://127.0.0.1:9269/counters");
    let counters: serde_json::Value = serde_json::from_str(&counters).unwrap();
    assert!(
        counters["refused_unauthenticated"].as_u64().unwrap() >= 7,
        "{counters}"
    );
    assert!(
        counters["refused_bad_request"].as_u64().unwrap() >= 9,
        "{counters}"
    );
}

/// The bootstrap server on a host of its own (no DHCP section: `check` and the start
/// agree), the Basic challenge on every 401, a verified secret remembered (PBKDF2 once),
/// a source that keeps failing answered 429, and every device's requests kept with
/// their status and outcome, refusals included.
#[test]
fn alone_it_challenges_remembers_secrets_limits_failures_and_logs_each_request() {
    let bs = start_with(false);
    let out = zerotouch_tests::check_config("zerotouch-dhcpd", &bs.cfg);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let input = r#"{"ietf-sztp-bootstrap-server:input":{}}"#;

    // 401 carries the challenge a device may wait for before it sends Basic.
    let r = bs.post(None, "get-bootstrapping-data", JSON, input, &[]);
    assert_eq!(r.status, 401, "{}", r.text());
    assert!(
        r.headers
            .to_ascii_lowercase()
            .contains("www-authenticate: basic realm=\"sztp-bootstrap\""),
        "{}",
        r.headers
    );
    // curl's own answer to the challenge: Basic after the 401 (--anyauth).
    let user = basic("BASIC-1", "basic-pass");
    let r = bs.post(
        None,
        "get-bootstrapping-data",
        JSON,
        input,
        &["--anyauth", "-u", &user],
    );
    assert_eq!(r.status, 200, "{}", r.text());

    // Basic with a secret: PBKDF2 once, then remembered.
    for _ in 0..5 {
        let r = bs.post(None, "get-bootstrapping-data", JSON, input, &["-u", &user]);
        assert_eq!(r.status, 200, "{}", r.text());
    }
    let counters: serde_json::Value =
        serde_json::from_str(&bs.local_get("http://127.0.0.1:9269/counters")).unwrap();
    assert_eq!(counters["secrets_checked"], 1, "{counters}");
    assert_eq!(counters["secrets_remembered"], 5, "{counters}");

    // The strict instance allows 4 failed authentications a minute per address.
    let strict = "https://198.18.0.1:8444/restconf/operations/ietf-sztp-bootstrap-server:get-bootstrapping-data";
    let post_strict = |extra: &[&str]| {
        let mut args = vec![
            "-X",
            "POST",
            "-H",
            "Content-Type: application/yang-data+json",
            "-d",
            input,
        ];
        args.extend_from_slice(extra);
        args.push(strict);
        bs.curl(None, &args)
    };
    for _ in 0..4 {
        assert_eq!(post_strict(&["-u", "BASIC-1:wrong"]).status, 401);
    }
    let r = post_strict(&["-u", "BASIC-1:basic-pass"]);
    assert_eq!(r.status, 429, "{}", r.text());
    assert!(
        r.headers.to_ascii_lowercase().contains("retry-after: "),
        "{}",
        r.headers
    );
    assert_eq!(
        r.json()["ietf-restconf:errors"]["error"][0]["error-tag"],
        "resource-denied"
    );
    // The other instance (another address's limit table) still serves this device.
    let r = bs.post(
        Some("SN-1"),
        "get-bootstrapping-data",
        JSON,
        input,
        &["-u", &basic("SN-1", "s3cret-1")],
    );
    assert_eq!(r.status, 200, "{}", r.text());

    // Each device's requests are kept with their status and why, refusals included.
    let strict_db = bs.lab.path("strict.sqlite");
    let listing = zerotouchctl(
        &["reports", "--database", strict_db.to_str().unwrap()],
        None,
    );
    assert!(
        listing.contains("BASIC-1") && listing.contains("refused"),
        "{listing}"
    );
    let one = zerotouchctl(
        &[
            "reports",
            "--database",
            strict_db.to_str().unwrap(),
            "BASIC-1",
            "--json",
        ],
        None,
    );
    let v: serde_json::Value = serde_json::from_str(&one).unwrap();
    let requests = v["requests"].as_array().unwrap();
    let statuses: Vec<u64> = requests
        .iter()
        .map(|r| r["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [401, 401, 401, 401, 429], "{v}");
    assert!(
        requests[0]["outcome"]
            .as_str()
            .unwrap()
            .contains("client certificate"),
        "{v}"
    );
    assert!(
        requests[4]["outcome"]
            .as_str()
            .unwrap()
            .contains("too many failed authentications"),
        "{v}"
    );
    assert_eq!(v["device"]["state"], "refused");
    // And on the status endpoint, for the main instance's devices.
    let status: serde_json::Value =
        serde_json::from_str(&bs.local_get("http://127.0.0.1:9269/devices/BASIC-1")).unwrap();
    // (The first 401 named no device: it is in the log line and the counters only.)
    let kept = status["requests"].as_array().unwrap();
    assert_eq!(kept.len(), 6, "{status}");
    assert!(
        kept.iter()
            .all(|r| r["status"] == 200 && r["rpc"] == "get-bootstrapping-data"),
        "{status}"
    );
    assert_eq!(status["device"]["state"], "contacted", "{status}");
}
