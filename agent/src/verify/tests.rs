//! The checks against a lab PKI (`zerotouchctl pki lab`'s) and tampered artifacts.

use std::time::{Duration, SystemTime};

use base64::Engine;
use der::Encode;
use rustls_pki_types::CertificateDer;
use x509_cert::Certificate;
use zerotouch_sztp::cms::{self, CONVEYED_INFO_JSON, Signer, VOUCHER_JSON};
use zerotouch_sztp::pki;

use super::*;

const DAY: Duration = Duration::from_secs(86_400);
const DOCUMENT: &[u8] =
    br#"{"ietf-sztp-conveyed-info:onboarding-information":{"configuration-handling":"merge"}}"#;

/// A lab PKI with device SN-1, and what a device and a server take from it.
struct Lab {
    _dir: tempfile::TempDir,
    owner: Signer,
    owner_ca: Certificate,
    masa: Signer,
    anchors: Vec<CertificateDer<'static>>,
    voucher: Vec<u8>,
}

fn signer(dir: &std::path::Path, name: &str) -> Signer {
    let pem = std::fs::read(dir.join(format!("{name}.pem"))).unwrap();
    let key = std::fs::read_to_string(dir.join(format!("{name}.key"))).unwrap();
    Signer::from_pem(&pem, &key).unwrap()
}

fn lab() -> Lab {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("pki");
    pki::create_lab(&dir, &["SN-1".into()], &["198.18.0.1".into()]).unwrap();
    let owner = signer(&dir, "owner");
    let masa = signer(&dir, "voucher-signer");
    let owner_ca = owner.chain[1].clone();
    let anchors = vec![CertificateDer::from(masa.chain[1].to_der().unwrap())];
    let voucher = std::fs::read(dir.join("vouchers/SN-1.vcj")).unwrap();
    Lab {
        _dir: tmp,
        owner,
        owner_ca,
        masa,
        anchors,
        voucher,
    }
}

impl Lab {
    fn conveyed(&self) -> Vec<u8> {
        self.owner.sign(CONVEYED_INFO_JSON, DOCUMENT).unwrap()
    }

    fn owner_certificate(&self) -> Vec<u8> {
        cms::certificates_only(&self.owner.chain).unwrap()
    }

    /// `verify` of these artifacts for SN-1, now.
    fn check(
        &self,
        conveyed: &[u8],
        owner: &[u8],
        voucher: &[u8],
    ) -> Result<Verified, VerifyError> {
        self.check_at(conveyed, owner, voucher, SystemTime::now())
    }

    fn check_at(
        &self,
        conveyed: &[u8],
        owner: &[u8],
        voucher: &[u8],
        now: SystemTime,
    ) -> Result<Verified, VerifyError> {
        let signed = SignedArtifacts {
            conveyed_information: conveyed,
            owner_certificate: owner,
            ownership_voucher: voucher,
        };
        let device = Device {
            serial: "SN-1",
            idevid_issuer: Some(b"issuer-key-id"),
        };
        verify(&signed, &self.anchors, &device, now)
    }

    /// A voucher with `fields` changed from the lab's, signed by the lab's MASA.
    fn voucher_with(&self, fields: serde_json::Value) -> Vec<u8> {
        let mut v = serde_json::json!({
            "created-on": "2026-01-01T00:00:00Z",
            "assertion": "verified",
            "serial-number": "SN-1",
            "pinned-domain-cert": base64::engine::general_purpose::STANDARD
                .encode(self.owner_ca.to_der().unwrap()),
        });
        for (k, value) in fields.as_object().unwrap() {
            v[k] = value.clone();
        }
        let doc = serde_json::json!({ "ietf-voucher:voucher": v });
        self.masa
            .sign(VOUCHER_JSON, doc.to_string().as_bytes())
            .unwrap()
    }
}

#[test]
fn signed_data_from_the_owner_with_the_manufacturers_voucher_is_accepted() {
    let lab = lab();
    let ok = lab
        .check(&lab.conveyed(), &lab.owner_certificate(), &lab.voucher)
        .unwrap();
    assert_eq!(ok.format, Format::Json);
    assert_eq!(ok.document, DOCUMENT);
    // The owner certificate pinned itself is accepted too.
    let pinned_self = lab.voucher_with(serde_json::json!({
        "pinned-domain-cert": base64::engine::general_purpose::STANDARD
            .encode(lab.owner.chain[0].to_der().unwrap()),
    }));
    assert!(
        lab.check(&lab.conveyed(), &lab.owner_certificate(), &pinned_self)
            .is_ok()
    );
}

#[test]
fn tampered_conveyed_information_or_another_owners_signature_is_rejected() {
    let lab = lab();
    let mut conveyed = lab.conveyed();
    let at = conveyed
        .windows(5)
        .position(|w| w == b"merge")
        .expect("the document is in the CMS");
    conveyed[at] = b'n';
    assert_eq!(
        lab.check(&conveyed, &lab.owner_certificate(), &lab.voucher),
        Err(VerifyError::ConveyedSignature)
    );
    // Signed by another owner, whose certificate comes along: not pinned.
    let other = self::lab();
    let err = lab
        .check(&other.conveyed(), &other.owner_certificate(), &lab.voucher)
        .unwrap_err();
    assert!(matches!(err, VerifyError::OwnerNotPinned(_)), "{err}");
    // Signed by another owner, with this owner's certificate: no signer.
    assert_eq!(
        lab.check(&other.conveyed(), &lab.owner_certificate(), &lab.voucher),
        Err(VerifyError::ConveyedSignature)
    );
    assert!(matches!(
        lab.check(b"not cms", &lab.owner_certificate(), &lab.voucher),
        Err(VerifyError::ConveyedUnreadable(_))
    ));
    assert!(matches!(
        lab.check(
            &lab.conveyed(),
            &cms::certificates_only(&[]).unwrap(),
            &lab.voucher
        ),
        Err(VerifyError::OwnerUnreadable(_))
    ));
}

#[test]
fn a_voucher_that_is_tampered_foreign_or_for_another_device_is_rejected() {
    let lab = lab();
    let (conveyed, owner) = (lab.conveyed(), lab.owner_certificate());
    let mut tampered = lab.voucher.clone();
    let at = tampered
        .windows(4)
        .position(|w| w == b"SN-1")
        .expect("the serial is in the voucher");
    tampered[at + 3] = b'2';
    assert_eq!(
        lab.check(&conveyed, &owner, &tampered),
        Err(VerifyError::VoucherSignature)
    );
    // Another manufacturer's voucher for this serial.
    let other = self::lab();
    let err = lab.check(&conveyed, &owner, &other.voucher).unwrap_err();
    assert!(matches!(err, VerifyError::VoucherSigner(_)), "{err}");
    let wrong = lab.voucher_with(serde_json::json!({ "serial-number": "SN-2" }));
    assert_eq!(
        lab.check(&conveyed, &owner, &wrong),
        Err(VerifyError::WrongSerial {
            voucher: "SN-2".into(),
            device: "SN-1".into()
        })
    );
    // Conveyed information where the voucher should be.
    assert!(matches!(
        lab.check(&conveyed, &owner, &conveyed),
        Err(VerifyError::VoucherUnreadable(_))
    ));
}

#[test]
fn a_vouchers_dates_assertion_issuer_and_revocation_demand_are_checked() {
    let lab = lab();
    let (conveyed, owner) = (lab.conveyed(), lab.owner_certificate());
    let now = SystemTime::now();
    let day_voucher = pki::voucher(&lab.masa, "SN-1", &lab.owner_ca, 1).unwrap();
    assert!(lab.check_at(&conveyed, &owner, &day_voucher, now).is_ok());
    let err = lab
        .check_at(&conveyed, &owner, &day_voucher, now + 2 * DAY)
        .unwrap_err();
    assert!(matches!(err, VerifyError::VoucherExpired(_)), "{err}");
    let tomorrow = lab.voucher_with(serde_json::json!({
        "created-on": pki::date_and_time(now + DAY).unwrap(),
    }));
    let err = lab.check_at(&conveyed, &owner, &tomorrow, now).unwrap_err();
    assert!(matches!(err, VerifyError::VoucherNotYetValid(_)), "{err}");
    // Before the manufacturer's certificates were issued: not a trusted signer then.
    let err = lab
        .check_at(&conveyed, &owner, &day_voucher, now - DAY)
        .unwrap_err();
    assert!(matches!(err, VerifyError::VoucherSigner(_)), "{err}");
    let bogus = lab.voucher_with(serde_json::json!({ "assertion": "hearsay" }));
    assert_eq!(
        lab.check(&conveyed, &owner, &bogus),
        Err(VerifyError::VoucherAssertion("hearsay".into()))
    );
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let right = lab.voucher_with(serde_json::json!({ "idevid-issuer": b64(b"issuer-key-id") }));
    assert!(lab.check(&conveyed, &owner, &right).is_ok());
    let wrong = lab.voucher_with(serde_json::json!({ "idevid-issuer": b64(b"another-issuer") }));
    assert_eq!(
        lab.check(&conveyed, &owner, &wrong),
        Err(VerifyError::WrongIdevidIssuer)
    );
    let revocation = lab.voucher_with(serde_json::json!({ "domain-cert-revocation-checks": true }));
    assert_eq!(
        lab.check(&conveyed, &owner, &revocation),
        Err(VerifyError::RevocationChecks)
    );
    let undated = lab.voucher_with(serde_json::json!({ "created-on": "yesterday" }));
    assert!(matches!(
        lab.check(&conveyed, &owner, &undated),
        Err(VerifyError::VoucherMalformed(_))
    ));
}
