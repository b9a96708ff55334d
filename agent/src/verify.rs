//! Signed data, checked as RFC 8572 §5.4 says, before anything in it is used:
//!
//! 1. the ownership voucher's signature, by a certificate that chains to one of the
//!    manufacturer's voucher trust anchors;
//! 2. its validity (`created-on` not in the future, `expires-on` not past), its
//!    `assertion`, its `serial-number` (the device's) and, when present, its
//!    `idevid-issuer` (the device's IDevID issuer);
//! 3. the owner certificate chains to the voucher's `pinned-domain-cert` (fresh
//!    revocation status cannot be had here, so a voucher asking for revocation checks
//!    fails);
//! 4. the owner certificate signed the conveyed information.
//!
//! Any failure rejects the signed data with the step that failed; nothing of it is used.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use der::{Decode, Encode};
use rustls_pki_types::{CertificateDer, UnixTime};
use x509_cert::Certificate;
use zerotouch_sztp::cms::{self, CONVEYED_INFO_JSON, CONVEYED_INFO_XML, Signed, VOUCHER_JSON};

/// The three artifacts of signed data (RFC 8572 §3), each a DER CMS ContentInfo.
#[derive(Debug, Clone, Copy)]
pub struct SignedArtifacts<'a> {
    /// Conveyed information, signed by the owner.
    pub conveyed_information: &'a [u8],
    /// The owner certificate (a SignedData carrying certificates only).
    pub owner_certificate: &'a [u8],
    /// The ownership voucher (RFC 8366), signed by the manufacturer.
    pub ownership_voucher: &'a [u8],
}

/// What the device knows of itself for the voucher's checks.
#[derive(Debug, Clone)]
pub struct Device<'a> {
    /// Its serial number, as in its IDevID.
    pub serial: &'a str,
    /// The key identifier of its IDevID's issuer (its Authority Key Identifier), to
    /// compare with a voucher's `idevid-issuer`.
    pub idevid_issuer: Option<&'a [u8]>,
}

/// How the conveyed information is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `application/yang-data+json` (id-ct-sztpConveyedInfoJSON).
    Json,
    /// `application/yang-data+xml` (id-ct-sztpConveyedInfoXML).
    Xml,
}

/// Conveyed information whose signature checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// Its encoding.
    pub format: Format,
    /// The document.
    pub document: Vec<u8>,
}

/// Why signed data was rejected: the step of §5.4 that failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The voucher is not a CMS SignedData holding a JSON voucher.
    #[error("the ownership voucher cannot be read: {0}")]
    VoucherUnreadable(String),
    /// No certificate the voucher carries (or a trust anchor) verifies its signature.
    #[error("the ownership voucher's signature does not verify")]
    VoucherSignature,
    /// The voucher's signer does not chain to a voucher trust anchor.
    #[error("the ownership voucher is not signed by a trusted manufacturer: {0}")]
    VoucherSigner(String),
    /// The voucher's document lacks a field or has a malformed one.
    #[error("the ownership voucher is malformed: {0}")]
    VoucherMalformed(String),
    /// `created-on` is in the future.
    #[error("the ownership voucher is not valid before {0}")]
    VoucherNotYetValid(String),
    /// `expires-on` has passed.
    #[error("the ownership voucher expired on {0}")]
    VoucherExpired(String),
    /// `assertion` is none of `verified`, `logged`, `proximity`.
    #[error("the ownership voucher's assertion {0:?} is not acceptable")]
    VoucherAssertion(String),
    /// The voucher is for another device.
    #[error("the ownership voucher is for serial number {voucher:?}, this device is {device:?}")]
    WrongSerial {
        /// The voucher's `serial-number`.
        voucher: String,
        /// The device's.
        device: String,
    },
    /// `idevid-issuer` does not name this device's IDevID issuer.
    #[error("the ownership voucher's idevid-issuer is not this device's IDevID issuer")]
    WrongIdevidIssuer,
    /// `domain-cert-revocation-checks` is true and no fresh revocation status can be had.
    #[error(
        "the ownership voucher asks for revocation checks of the owner certificate, which this device cannot make"
    )]
    RevocationChecks,
    /// The owner certificate artifact holds no certificate.
    #[error("the owner certificate cannot be read: {0}")]
    OwnerUnreadable(String),
    /// The owner certificate does not chain to the voucher's pinned domain certificate.
    #[error(
        "the owner certificate is not the voucher's pinned domain certificate or issued under it: {0}"
    )]
    OwnerNotPinned(String),
    /// The conveyed information is not a CMS SignedData of conveyed information.
    #[error("the conveyed information cannot be read: {0}")]
    ConveyedUnreadable(String),
    /// No owner certificate verifies the conveyed information's signature.
    #[error("the conveyed information's signature does not verify with the owner certificate")]
    ConveyedSignature,
}

/// Checks `signed` for `device` at time `now` against the manufacturer's voucher trust
/// anchors (DER certificates); the conveyed information when every step passes.
pub fn verify(
    signed: &SignedArtifacts<'_>,
    voucher_anchors: &[CertificateDer<'_>],
    device: &Device<'_>,
    now: SystemTime,
) -> Result<Verified, VerifyError> {
    let pinned = check_voucher(signed.ownership_voucher, voucher_anchors, device, now)?;
    let owners = cms::open_certificates(signed.owner_certificate)
        .map_err(|e| VerifyError::OwnerUnreadable(e.to_string()))?;
    if owners.is_empty() {
        return Err(VerifyError::OwnerUnreadable(
            "it holds no certificate".into(),
        ));
    }
    let conveyed = cms::open_signed(signed.conveyed_information)
        .map_err(|e| VerifyError::ConveyedUnreadable(e.to_string()))?;
    let format = match conveyed.content_type {
        t if t == CONVEYED_INFO_JSON => Format::Json,
        t if t == CONVEYED_INFO_XML => Format::Xml,
        t => {
            return Err(VerifyError::ConveyedUnreadable(format!(
                "content type {t} is not conveyed information"
            )));
        }
    };
    let (owner, others) =
        signer_of(&conveyed, &owners, &[]).ok_or(VerifyError::ConveyedSignature)?;
    let pinned = CertificateDer::from(pinned);
    chains_to(&owner, &others, std::slice::from_ref(&pinned), now)
        .map_err(VerifyError::OwnerNotPinned)?;
    Ok(Verified {
        format,
        document: conveyed.content,
    })
}

/// Steps 1 and 2: the voucher's signer and claims; its pinned domain certificate (DER).
fn check_voucher(
    der: &[u8],
    anchors: &[CertificateDer<'_>],
    device: &Device<'_>,
    now: SystemTime,
) -> Result<Vec<u8>, VerifyError> {
    let voucher =
        cms::open_signed(der).map_err(|e| VerifyError::VoucherUnreadable(e.to_string()))?;
    if voucher.content_type != VOUCHER_JSON {
        return Err(VerifyError::VoucherUnreadable(format!(
            "content type {} is not a JSON voucher",
            voucher.content_type
        )));
    }
    // The signer may be a trust anchor itself.
    let anchor_certs: Vec<Certificate> = anchors
        .iter()
        .filter_map(|a| Certificate::from_der(a.as_ref()).ok())
        .collect();
    let (signer, others) = signer_of(&voucher, &voucher.certificates, &anchor_certs)
        .ok_or(VerifyError::VoucherSignature)?;
    chains_to(&signer, &others, anchors, now).map_err(VerifyError::VoucherSigner)?;
    claims(&voucher.content, device, now)
}

/// The voucher's claims checked for `device` at `now`; its pinned domain certificate.
fn claims(content: &[u8], device: &Device<'_>, now: SystemTime) -> Result<Vec<u8>, VerifyError> {
    let malformed = |m: &str| VerifyError::VoucherMalformed(m.to_string());
    let doc: serde_json::Value =
        serde_json::from_slice(content).map_err(|e| malformed(&format!("not JSON: {e}")))?;
    let v = doc
        .get("ietf-voucher:voucher")
        .ok_or_else(|| malformed("no ietf-voucher:voucher"))?;
    let text = |key: &str| v.get(key).and_then(|x| x.as_str());
    let time = |key: &str| -> Result<Option<(SystemTime, String)>, VerifyError> {
        let Some(t) = text(key) else { return Ok(None) };
        let parsed = chrono::DateTime::parse_from_rfc3339(t)
            .map_err(|_| malformed(&format!("{key} {t:?} is not a date-and-time")))?;
        let since = Duration::from_millis(u64::try_from(parsed.timestamp_millis()).unwrap_or(0));
        Ok(Some((UNIX_EPOCH + since, t.to_string())))
    };
    let (created, created_text) = time("created-on")?.ok_or_else(|| malformed("no created-on"))?;
    if now < created {
        return Err(VerifyError::VoucherNotYetValid(created_text));
    }
    if let Some((expires, text)) = time("expires-on")?
        && now >= expires
    {
        return Err(VerifyError::VoucherExpired(text));
    }
    let assertion = text("assertion").ok_or_else(|| malformed("no assertion"))?;
    if !["verified", "logged", "proximity"].contains(&assertion) {
        return Err(VerifyError::VoucherAssertion(assertion.to_string()));
    }
    let serial = text("serial-number").ok_or_else(|| malformed("no serial-number"))?;
    if serial != device.serial {
        return Err(VerifyError::WrongSerial {
            voucher: serial.to_string(),
            device: device.serial.to_string(),
        });
    }
    let base64 = |key: &str| -> Result<Option<Vec<u8>>, VerifyError> {
        text(key)
            .map(|b| {
                base64::engine::general_purpose::STANDARD
                    .decode(b)
                    .map_err(|_| malformed(&format!("{key} is not base64")))
            })
            .transpose()
    };
    if let Some(issuer) = base64("idevid-issuer")?
        && device.idevid_issuer != Some(issuer.as_slice())
    {
        return Err(VerifyError::WrongIdevidIssuer);
    }
    if v.get("domain-cert-revocation-checks")
        .and_then(|x| x.as_bool())
        .unwrap_or(false)
    {
        return Err(VerifyError::RevocationChecks);
    }
    base64("pinned-domain-cert")?.ok_or_else(|| malformed("no pinned-domain-cert"))
}

/// Which of `carried` (or `extra`) signed `signed`, and the rest of `carried`.
fn signer_of(
    signed: &Signed,
    carried: &[Certificate],
    extra: &[Certificate],
) -> Option<(Certificate, Vec<Certificate>)> {
    let signer = carried
        .iter()
        .chain(extra)
        .find(|c| signed.verify(c).is_ok())?
        .clone();
    let others = carried.iter().filter(|c| **c != signer).cloned().collect();
    Some((signer, others))
}

/// Whether `cert` is one of `anchors` or chains to one through `intermediates`
/// (rustls-webpki's path building: signatures, validity at `now`, CA constraints);
/// the reason when it does not.
fn chains_to(
    cert: &Certificate,
    intermediates: &[Certificate],
    anchors: &[CertificateDer<'_>],
    now: SystemTime,
) -> Result<(), String> {
    let der = cert.to_der().map_err(|e| e.to_string())?;
    if anchors.iter().any(|a| a.as_ref() == der.as_slice()) {
        return Ok(());
    }
    let trust = anchors
        .iter()
        .map(|a| webpki::anchor_from_trusted_cert(a).map_err(|e| format!("a trust anchor: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    let chain: Vec<CertificateDer<'static>> = intermediates
        .iter()
        .filter_map(|c| c.to_der().ok())
        .map(CertificateDer::from)
        .collect();
    let end = CertificateDer::from(der);
    let end = webpki::EndEntityCert::try_from(&end).map_err(|e| e.to_string())?;
    let time = UnixTime::since_unix_epoch(now.duration_since(UNIX_EPOCH).unwrap_or_default());
    end.verify_for_usage(
        webpki::ALL_VERIFICATION_ALGS,
        &trust,
        &chain,
        time,
        AnyUsage,
        None,
        None,
    )
    .map(|_| ())
    .map_err(|e| e.to_string())
}

/// Signing certificates need no particular extended key usage (RFC 8572 names none).
struct AnyUsage;

impl webpki::ExtendedKeyUsageValidator for AnyUsage {
    fn validate(&self, iter: webpki::KeyPurposeIdIter<'_, '_>) -> Result<(), webpki::Error> {
        for id in iter {
            id?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
