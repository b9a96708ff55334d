//! RFC 9646: a device asks its bootstrap server for a certificate (an LDevID) while it
//! bootstraps. Both sides are here:
//!
//! - the device offers `csr-support` ([`CsrSupport`]);
//! - a server that issues certificates answers 400 `missing-attribute` with a
//!   `csr-request` ([`CsrRequest`]) saying which key to generate and which format;
//! - the device generates the key and sends a PKCS#10 request ([`p10_request`]);
//! - the server checks it ([`check_p10`]: proof of possession, the device's serial
//!   number, no CA powers asked) and signs it ([`issue_ldevid`]).
//!
//! Keys are ECDSA P-256 and requests PKCS#10 (`p10-csr`), on both sides. Proof of
//! origin is the TLS client authentication of the request, as RFC 9646 says for
//! `p10-csr`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use der::asn1::BitString;
use der::{Decode, Encode};
use signature::Signer as _;
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::Certificate;
use x509_cert::ext::pkix::{BasicConstraints, KeyUsage};
use x509_cert::request::{CertReq, CertReqInfo, ExtensionReq};

use crate::cms::Signer;
use crate::key::{Signature, SigningKey, VerifyingKey};
use crate::name::{self, SERIAL_NUMBER};
use crate::pki::{self, Role};
use crate::xml::escape;

/// The `ietf-sztp-csr` module: the JSON prefix of its nodes.
pub const MODULE: &str = "ietf-sztp-csr";
/// The `ietf-sztp-csr` namespace.
pub const NAMESPACE: &str = "urn:ietf:params:xml:ns:yang:ietf-sztp-csr";
/// The `ietf-ztp-types` namespace, where the format identities are.
pub const TYPES_NAMESPACE: &str = "urn:ietf:params:xml:ns:yang:ietf-ztp-types";
/// The PKCS#10 format identity (`ietf-ztp-types:p10-csr`).
pub const P10_CSR: &str = "ietf-ztp-types:p10-csr";

/// Why a certificate request cannot be made or is refused.
#[derive(Debug, thiserror::Error)]
pub enum CsrError {
    /// The request is not DER PKCS#10.
    #[error("the CSR is not a PKCS#10 request: {0}")]
    Format(der::Error),
    /// The request is well formed but cannot be granted.
    #[error("the CSR is refused: {0}")]
    Refused(String),
    /// Building or signing failed.
    #[error("{0}")]
    Build(String),
}

fn refused(why: impl Into<String>) -> CsrError {
    CsrError::Refused(why.into())
}

fn build_err(e: impl std::fmt::Display) -> CsrError {
    CsrError::Build(e.to_string())
}

/// What a device offers (`ietf-sztp-csr:csr-support`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CsrSupport {
    /// The key algorithms it can generate a key for (DER AlgorithmIdentifiers); `None`
    /// when it cannot generate keys, and a CSR can only be for its IDevID key.
    pub key_generation: Option<Vec<Vec<u8>>>,
    /// The CSR formats it can produce (identities, such as `ietf-ztp-types:p10-csr`).
    pub formats: Vec<String>,
}

/// The DER AlgorithmIdentifier of the keys generated here: id-ecPublicKey on P-256.
pub fn p256_algorithm() -> Vec<u8> {
    VerifyingKey::algorithm().to_der().unwrap_or_default()
}

/// Whether an identity names `p10-csr`, whatever its prefix.
fn is_p10(identity: &str) -> bool {
    identity.rsplit(':').next() == Some("p10-csr")
}

impl CsrSupport {
    /// What this agent offers: a new P-256 key, in a PKCS#10 request.
    pub fn p256_p10() -> Self {
        CsrSupport {
            key_generation: Some(vec![p256_algorithm()]),
            formats: vec![P10_CSR.into()],
        }
    }

    /// The `csr-support` container's JSON (RFC 7951), without its module prefix.
    pub fn to_json(&self) -> serde_json::Value {
        let mut support = serde_json::Map::new();
        if let Some(algorithms) = &self.key_generation {
            support.insert(
                "key-generation".into(),
                serde_json::json!({ "supported-algorithms": {
                    "algorithm-identifier": algorithms.iter().map(|a| BASE64.encode(a)).collect::<Vec<_>>()
                }}),
            );
        }
        support.insert(
            "csr-generation".into(),
            serde_json::json!({ "supported-formats": { "format-identifier": self.formats } }),
        );
        serde_json::Value::Object(support)
    }
}

/// What a server asks for (`ietf-sztp-csr:csr-request`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsrRequest {
    /// The key algorithm the device must generate a key for (DER AlgorithmIdentifier);
    /// `None`: the CSR is for its IDevID key.
    pub key_algorithm: Option<Vec<u8>>,
    /// The CSR format.
    pub format: String,
    /// A CertificationRequestInfo (DER) the device must sign as given, its public key
    /// put in.
    pub cert_req_info: Option<Vec<u8>>,
}

impl CsrRequest {
    /// What a server that signs PKCS#10 requests for P-256 keys asks of a device that
    /// offers `support`; `None` when they have nothing in common.
    pub fn for_support(support: &CsrSupport) -> Option<Self> {
        if !support.formats.iter().any(|f| is_p10(f)) {
            return None;
        }
        let key_algorithm = match &support.key_generation {
            None => None,
            Some(offered) => {
                let ours = p256_algorithm();
                Some(offered.iter().find(|a| **a == ours)?.clone())
            }
        };
        Some(CsrRequest {
            key_algorithm,
            format: P10_CSR.into(),
            cert_req_info: None,
        })
    }

    /// The `error-info` member's JSON: `{"ietf-sztp-csr:csr-request": {...}}`.
    pub fn to_json(&self) -> serde_json::Value {
        let mut request = serde_json::Map::new();
        if let Some(a) = &self.key_algorithm {
            request.insert(
                "key-generation".into(),
                serde_json::json!({ "selected-algorithm": { "algorithm-identifier": BASE64.encode(a) } }),
            );
        }
        request.insert(
            "csr-generation".into(),
            serde_json::json!({ "selected-format": { "format-identifier": self.format } }),
        );
        if let Some(info) = &self.cert_req_info {
            request.insert("cert-req-info".into(), BASE64.encode(info).into());
        }
        serde_json::json!({ format!("{MODULE}:csr-request"): request })
    }

    /// The `error-info` element's XML content.
    pub fn to_xml(&self) -> String {
        let key = self.key_algorithm.as_ref().map_or(String::new(), |a| {
            format!(
                "<key-generation><selected-algorithm><algorithm-identifier>{}</algorithm-identifier></selected-algorithm></key-generation>",
                BASE64.encode(a)
            )
        });
        let format = match self.format.split_once(':') {
            Some(("ietf-ztp-types", local)) => {
                format!(
                    "<format-identifier xmlns:zt=\"{TYPES_NAMESPACE}\">zt:{local}</format-identifier>"
                )
            }
            _ => format!(
                "<format-identifier>{}</format-identifier>",
                escape(&self.format)
            ),
        };
        let info = self.cert_req_info.as_ref().map_or(String::new(), |i| {
            format!("<cert-req-info>{}</cert-req-info>", BASE64.encode(i))
        });
        format!(
            "<csr-request xmlns=\"{NAMESPACE}\">{key}<csr-generation><selected-format>{format}</selected-format></csr-generation>{info}</csr-request>"
        )
    }

    /// The `csr-request` of an `ietf-restconf:errors` JSON document whose error is
    /// `missing-attribute`, if it holds one.
    pub fn from_errors(body: &[u8]) -> Result<Option<Self>, String> {
        let Ok(doc) = serde_json::from_slice::<serde_json::Value>(body) else {
            return Ok(None);
        };
        let errors = doc["ietf-restconf:errors"]["error"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let Some(request) = errors.iter().find_map(|e| {
            (e["error-tag"] == "missing-attribute")
                .then(|| e["error-info"][format!("{MODULE}:csr-request")].clone())
                .filter(|r| r.is_object())
        }) else {
            return Ok(None);
        };
        let decode = |v: &serde_json::Value, what: &str| {
            v.as_str()
                .and_then(|s| BASE64.decode(s).ok())
                .ok_or_else(|| format!("csr-request: {what} is not base64"))
        };
        let key = &request["key-generation"]["selected-algorithm"]["algorithm-identifier"];
        let format = request["csr-generation"]["selected-format"]["format-identifier"]
            .as_str()
            .ok_or("csr-request: no selected format")?;
        Ok(Some(CsrRequest {
            key_algorithm: (!key.is_null())
                .then(|| decode(key, "algorithm-identifier"))
                .transpose()?,
            format: format.to_string(),
            cert_req_info: (!request["cert-req-info"].is_null())
                .then(|| decode(&request["cert-req-info"], "cert-req-info"))
                .transpose()?,
        }))
    }
}

/// A PKCS#10 request (DER) for `key`, for the device `serial`
/// (`CN=<serial>,serialNumber=<serial>`), or on the server's `cert_req_info` with the
/// key put in. `request` must ask for a format and key this side makes.
pub fn p10_request(
    request: &CsrRequest,
    key: &SigningKey,
    serial: &str,
) -> Result<Vec<u8>, CsrError> {
    if !is_p10(&request.format) {
        return Err(build_err(format!(
            "the server asks for a CSR in format {}, and only p10-csr is made here",
            request.format
        )));
    }
    if request
        .key_algorithm
        .as_ref()
        .is_some_and(|a| *a != p256_algorithm())
    {
        return Err(build_err(
            "the server asks for a key of an algorithm not offered (only ECDSA P-256 is)",
        ));
    }
    let public_key = SubjectPublicKeyInfoOwned::from_key(key.verifying_key()).map_err(build_err)?;
    let info = match &request.cert_req_info {
        Some(given) => CertReqInfo {
            public_key,
            ..CertReqInfo::from_der(given)
                .map_err(|e| build_err(format!("the server's cert-req-info is not DER: {e}")))?
        },
        None => CertReqInfo {
            version: x509_cert::request::Version::V1,
            subject: name::device_subject(serial).map_err(build_err)?,
            public_key,
            attributes: Default::default(),
        },
    };
    let signature: Signature = key
        .try_sign(&info.to_der().map_err(build_err)?)
        .map_err(build_err)?;
    CertReq {
        info,
        algorithm: AlgorithmIdentifierOwned {
            oid: VerifyingKey::SIGNATURE_ALGORITHM,
            parameters: None,
        },
        signature: BitString::from_bytes(&Box::<[u8]>::from(signature)).map_err(build_err)?,
    }
    .to_der()
    .map_err(build_err)
}

/// A device's PKCS#10 request checked: signed by the key it certifies (proof of
/// possession), for an ECDSA P-256 key, naming no serial number but `serial`, and
/// asking for no CA powers (`keyCertSign`, `cRLSign`, `cA`). The key to certify.
pub fn check_p10(der: &[u8], serial: &str) -> Result<SubjectPublicKeyInfoOwned, CsrError> {
    let request = CertReq::from_der(der).map_err(CsrError::Format)?;
    let info = &request.info;
    let key = VerifyingKey::of_spki(&info.public_key)
        .map_err(|_| refused("its key is not an ECDSA P-256 key"))?;
    if request.algorithm.oid != VerifyingKey::SIGNATURE_ALGORITHM {
        return Err(refused(format!(
            "it is signed with algorithm {}, not ecdsa-with-SHA256",
            request.algorithm.oid
        )));
    }
    let signed = info.to_der().map_err(build_err)?;
    let signature = request
        .signature
        .as_bytes()
        .ok_or_else(|| refused("its signature is not whole octets"))?;
    if !key.verify(&signed, signature) {
        return Err(refused(
            "its signature does not verify with its key (no proof of possession)",
        ));
    }
    for named in name::values(&info.subject, SERIAL_NUMBER) {
        if named.as_deref() != Some(serial) {
            return Err(refused(format!(
                "its subject names serial number {}, and the device is {serial:?}",
                named.map_or("(unreadable)".into(), |n| format!("{n:?}"))
            )));
        }
    }
    for attribute in info.attributes.iter() {
        if attribute.oid != <ExtensionReq as der::oid::AssociatedOid>::OID {
            continue;
        }
        for value in attribute.values.iter() {
            let extensions: ExtensionReq = value
                .decode_as()
                .map_err(|e| refused(format!("its extension request is not DER: {e}")))?;
            for ext in &extensions.0 {
                check_extension(ext)?;
            }
        }
    }
    Ok(info.public_key.clone())
}

/// An extension a request asks for must not make a CA.
fn check_extension(ext: &x509_cert::ext::Extension) -> Result<(), CsrError> {
    use der::oid::AssociatedOid;
    let value = ext.extn_value.as_bytes();
    if ext.extn_id == KeyUsage::OID {
        let usage = KeyUsage::from_der(value).map_err(|e| refused(format!("its keyUsage: {e}")))?;
        if usage.key_cert_sign() || usage.crl_sign() {
            return Err(refused(
                "it asks for key usage keyCertSign or cRLSign: a device certificate cannot sign certificates",
            ));
        }
    } else if ext.extn_id == BasicConstraints::OID {
        let constraints = BasicConstraints::from_der(value)
            .map_err(|e| refused(format!("its basicConstraints: {e}")))?;
        if constraints.ca {
            return Err(refused(
                "it asks for basicConstraints cA: a device certificate cannot be a CA",
            ));
        }
    }
    Ok(())
}

/// The LDevID for `serial`'s checked key, signed by `ca` and valid `days`: the
/// certificate, then the CA's chain. The subject is the server's
/// (`CN=<serial>,serialNumber=<serial>`), not the request's; the certificate is for TLS
/// client and server authentication.
pub fn issue_ldevid(
    ca: &Signer,
    key: SubjectPublicKeyInfoOwned,
    serial: &str,
    days: u64,
) -> Result<Vec<Certificate>, CsrError> {
    let subject = name::device_subject(serial).map_err(build_err)?;
    let cert = pki::issue_to(
        Role::Device,
        subject,
        key,
        Ok((&ca.chain[0], &ca.key)),
        days,
    )
    .map_err(build_err)?;
    let mut chain = vec![cert];
    chain.extend(ca.chain.iter().cloned());
    Ok(chain)
}

#[cfg(test)]
mod tests {
    use super::*;
    use der::oid::AssociatedOid;
    use x509_cert::ext::pkix::KeyUsages;

    fn ca() -> Signer {
        let key = SigningKey::generate().unwrap();
        let cert = pki::issue(Role::Root, "CN=owner CA", &key, None, 10).unwrap();
        Signer {
            key,
            chain: vec![cert],
        }
    }

    fn request() -> CsrRequest {
        CsrRequest::for_support(&CsrSupport::p256_p10()).unwrap()
    }

    /// A request with `info` changed by `edit`, signed by `key`.
    fn signed_request(key: &SigningKey, edit: impl FnOnce(&mut CertReqInfo)) -> Vec<u8> {
        let der = p10_request(&request(), key, "SN-1").unwrap();
        let mut req = CertReq::from_der(&der).unwrap();
        edit(&mut req.info);
        let sig: Signature = key.try_sign(&req.info.to_der().unwrap()).unwrap();
        req.signature = BitString::from_bytes(&Box::<[u8]>::from(sig)).unwrap();
        req.to_der().unwrap()
    }

    fn with_extension(info: &mut CertReqInfo, ext: x509_cert::ext::Extension) {
        let req = ExtensionReq(vec![ext]);
        info.attributes
            .insert(x509_cert::attr::Attribute::try_from(req).unwrap())
            .unwrap();
    }

    fn extension(
        oid: der::oid::ObjectIdentifier,
        value: &impl Encode,
    ) -> x509_cert::ext::Extension {
        x509_cert::ext::Extension {
            extn_id: oid,
            critical: true,
            extn_value: der::asn1::OctetString::new(value.to_der().unwrap()).unwrap(),
        }
    }

    #[test]
    fn the_server_asks_for_what_the_device_offers_and_both_encodings_carry_it() {
        let asked = request();
        assert_eq!(asked.key_algorithm, Some(p256_algorithm()));
        let none = CsrSupport {
            key_generation: Some(vec![vec![0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70]]),
            formats: vec![P10_CSR.into()],
        };
        assert_eq!(CsrRequest::for_support(&none), None, "Ed25519 only");
        let cmp_only = CsrSupport {
            formats: vec!["ietf-ztp-types:cmp-csr".into()],
            ..CsrSupport::p256_p10()
        };
        assert_eq!(CsrRequest::for_support(&cmp_only), None);
        let idevid_key = CsrRequest::for_support(&CsrSupport {
            key_generation: None,
            formats: vec!["zt:p10-csr".into()],
        })
        .unwrap();
        assert_eq!(idevid_key.key_algorithm, None);

        let errors = serde_json::json!({"ietf-restconf:errors": {"error": [{
            "error-type": "application", "error-tag": "missing-attribute",
            "error-info": asked.to_json(),
        }]}});
        let read = CsrRequest::from_errors(errors.to_string().as_bytes())
            .unwrap()
            .unwrap();
        assert_eq!(read, asked);
        let other = serde_json::json!({"ietf-restconf:errors": {"error": [{
            "error-type": "application", "error-tag": "data-missing"}]}});
        assert_eq!(
            CsrRequest::from_errors(other.to_string().as_bytes()).unwrap(),
            None
        );
        let xml = crate::xml::parse(&asked.to_xml()).unwrap();
        assert_eq!(xml.namespace.as_deref(), Some(NAMESPACE));
        assert_eq!(
            xml.to_json()["csr-generation"]["selected-format"]["format-identifier"],
            "zt:p10-csr"
        );
    }

    #[test]
    fn a_devices_request_is_checked_and_signed_into_an_ldevid() {
        let key = SigningKey::generate().unwrap();
        let der = p10_request(&request(), &key, "SN-1").unwrap();
        let spki = check_p10(&der, "SN-1").unwrap();
        assert_eq!(VerifyingKey::of_spki(&spki).unwrap(), key.verifying_key());
        let ca = ca();
        let chain = issue_ldevid(&ca, spki, "SN-1", 365).unwrap();
        assert_eq!(chain.len(), 2);
        let cert = &chain[0];
        assert_eq!(
            name::values(&cert.tbs_certificate.subject, SERIAL_NUMBER),
            vec![Some("SN-1".to_string())]
        );
        assert_eq!(
            cert.tbs_certificate.issuer,
            ca.chain[0].tbs_certificate.subject
        );
        assert_eq!(
            VerifyingKey::of_certificate(cert).unwrap(),
            key.verifying_key()
        );
        let sig = cert.signature.as_bytes().unwrap();
        assert!(
            VerifyingKey::of_certificate(&ca.chain[0])
                .unwrap()
                .verify(&cert.tbs_certificate.to_der().unwrap(), sig)
        );
    }

    #[test]
    fn requests_the_server_must_refuse() {
        let key = SigningKey::generate().unwrap();
        let refusal = |der: &[u8]| check_p10(der, "SN-1").unwrap_err().to_string();

        let other_serial = p10_request(&request(), &key, "SN-2").unwrap();
        assert!(refusal(&other_serial).contains("serial number \"SN-2\""));

        let ca_usage = signed_request(&key, |info| {
            let usage = KeyUsage(KeyUsages::DigitalSignature | KeyUsages::KeyCertSign);
            with_extension(info, extension(KeyUsage::OID, &usage));
        });
        assert!(
            refusal(&ca_usage).contains("keyCertSign"),
            "{}",
            refusal(&ca_usage)
        );

        let ca_constraint = signed_request(&key, |info| {
            let bc = BasicConstraints {
                ca: true,
                path_len_constraint: None,
            };
            with_extension(info, extension(BasicConstraints::OID, &bc));
        });
        assert!(refusal(&ca_constraint).contains("cA"));

        let plain_usage = signed_request(&key, |info| {
            let usage = KeyUsage(KeyUsages::DigitalSignature.into());
            with_extension(info, extension(KeyUsage::OID, &usage));
        });
        assert!(check_p10(&plain_usage, "SN-1").is_ok());

        // Signed by another key than the one it names: no proof of possession.
        let other = SigningKey::generate().unwrap();
        let mut req = CertReq::from_der(&p10_request(&request(), &key, "SN-1").unwrap()).unwrap();
        let sig: Signature = other.try_sign(&req.info.to_der().unwrap()).unwrap();
        req.signature = BitString::from_bytes(&Box::<[u8]>::from(sig)).unwrap();
        assert!(refusal(&req.to_der().unwrap()).contains("proof of possession"));

        assert!(matches!(
            check_p10(b"\x30\x03\x02\x01\x00", "SN-1"),
            Err(CsrError::Format(_))
        ));
    }

    #[test]
    fn a_given_cert_req_info_is_signed_with_the_devices_key_put_in() {
        let key = SigningKey::generate().unwrap();
        let given = CertReqInfo {
            version: x509_cert::request::Version::V1,
            subject: name::device_subject("SN-1").unwrap(),
            public_key: SubjectPublicKeyInfoOwned::from_key(
                SigningKey::generate().unwrap().verifying_key(),
            )
            .unwrap(),
            attributes: Default::default(),
        };
        let asked = CsrRequest {
            cert_req_info: Some(given.to_der().unwrap()),
            ..request()
        };
        let der = p10_request(&asked, &key, "ignored").unwrap();
        let spki = check_p10(&der, "SN-1").unwrap();
        assert_eq!(VerifyingKey::of_spki(&spki).unwrap(), key.verifying_key());
    }
}
