//! CMS (RFC 5652) artifacts of RFC 8572 §3: conveyed information unsigned or signed by
//! the owner, the owner certificate as a degenerate SignedData, trust anchors, and the
//! verification of what this server signs and of the vouchers it hands out.
//!
//! Keys are ECDSA P-256 (the `rsa` crate carries an unfixed timing advisory), signed and
//! verified with ring (`key.rs`).

use cms::builder::{SignedDataBuilder, SignerInfoBuilder};
use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::ContentInfo;
use cms::signed_data::{EncapsulatedContentInfo, SignedData, SignerIdentifier};
use der::asn1::OctetString;
use der::oid::ObjectIdentifier;
use der::{Any, Decode, Encode, Tag};
use spki::AlgorithmIdentifierOwned;
use x509_cert::Certificate;

use crate::Encoding;
use crate::key::{Signature, SigningKey, VerifyingKey};

/// id-ct-sztpConveyedInfoXML (RFC 8572 §10.3).
pub const CONVEYED_INFO_XML: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.42");
/// id-ct-sztpConveyedInfoJSON.
pub const CONVEYED_INFO_JSON: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.43");
/// id-ct-animaJSONVoucher (RFC 8366).
pub const VOUCHER_JSON: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.40");
const ID_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1");
const ID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
const ID_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const ID_MESSAGE_DIGEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
const ID_CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");

#[derive(Debug, thiserror::Error)]
pub enum CmsError {
    #[error("DER: {0}")]
    Der(#[from] der::Error),
    #[error("building CMS: {0}")]
    Build(String),
    #[error("{0}")]
    Invalid(String),
}

fn invalid(message: impl Into<String>) -> CmsError {
    CmsError::Invalid(message.into())
}

/// The content type of conveyed information in `encoding`.
pub fn conveyed_content_type(encoding: Encoding) -> ObjectIdentifier {
    match encoding {
        Encoding::Json => CONVEYED_INFO_JSON,
        Encoding::Xml => CONVEYED_INFO_XML,
    }
}

/// Unsigned: a ContentInfo whose content is the document as an OCTET STRING.
pub fn unsigned(content_type: ObjectIdentifier, document: &[u8]) -> Result<Vec<u8>, CmsError> {
    let content = Any::new(Tag::OctetString, OctetString::new(document)?.as_bytes())?;
    Ok(ContentInfo {
        content_type,
        content,
    }
    .to_der()?)
}

fn without_duplicates(chain: &[Certificate]) -> Vec<Certificate> {
    let mut out: Vec<Certificate> = Vec::with_capacity(chain.len());
    for c in chain {
        if !out.contains(c) {
            out.push(c.clone());
        }
    }
    out
}

/// The content type and document of what `unsigned` wrapped.
pub fn open_unsigned(der: &[u8]) -> Result<(ObjectIdentifier, Vec<u8>), CmsError> {
    let info = ContentInfo::from_der(der)?;
    Ok((info.content_type, info.content.value().to_vec()))
}

/// A degenerate SignedData (no signers) carrying certificates: the owner-certificate
/// artifact and trust anchors.
pub fn certificates_only(chain: &[Certificate]) -> Result<Vec<u8>, CmsError> {
    let eci = EncapsulatedContentInfo {
        econtent_type: ID_DATA,
        econtent: None,
    };
    let mut builder = SignedDataBuilder::new(&eci);
    for cert in without_duplicates(chain) {
        builder
            .add_certificate(CertificateChoices::Certificate(cert))
            .map_err(|e| CmsError::Build(e.to_string()))?;
    }
    Ok(builder
        .build()
        .map_err(|e| CmsError::Build(e.to_string()))?
        .to_der()?)
}

/// A signing key with its certificate chain, signer's certificate first.
#[derive(Clone)]
pub struct Signer {
    pub key: SigningKey,
    pub chain: Vec<Certificate>,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field(
                "subject",
                &self.chain[0].tbs_certificate.subject.to_string(),
            )
            .finish()
    }
}

impl Signer {
    /// From PEM texts: a certificate chain and a P-256 key (PKCS#8 or SEC1). The key must
    /// belong to the first certificate.
    pub fn from_pem(chain_pem: &[u8], key_pem: &str) -> Result<Self, CmsError> {
        let chain = Certificate::load_pem_chain(chain_pem)
            .map_err(|e| invalid(format!("certificate file: {e}")))?;
        if chain.is_empty() {
            return Err(invalid("certificate file holds no certificate"));
        }
        let key = SigningKey::from_pem(key_pem).map_err(|e| invalid(format!("key file: {e}")))?;
        let signer = Signer { key, chain };
        if public_key(&signer.chain[0])? != signer.key.verifying_key() {
            return Err(invalid("the key does not belong to the first certificate"));
        }
        Ok(signer)
    }

    /// SignedData over `document`, with the signer's chain attached.
    pub fn sign(
        &self,
        content_type: ObjectIdentifier,
        document: &[u8],
    ) -> Result<Vec<u8>, CmsError> {
        let eci = EncapsulatedContentInfo {
            econtent_type: content_type,
            econtent: Some(Any::new(Tag::OctetString, document)?),
        };
        let sha256 = AlgorithmIdentifierOwned {
            oid: ID_SHA256,
            parameters: None,
        };
        let cert = &self.chain[0];
        let sid = SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: cert.tbs_certificate.issuer.clone(),
            serial_number: cert.tbs_certificate.serial_number.clone(),
        });
        let signer_info = SignerInfoBuilder::new(&self.key, sid, sha256.clone(), &eci, None)
            .map_err(|e| CmsError::Build(e.to_string()))?;
        let mut builder = SignedDataBuilder::new(&eci);
        builder
            .add_digest_algorithm(sha256)
            .map_err(|e| CmsError::Build(e.to_string()))?;
        for cert in without_duplicates(&self.chain) {
            builder
                .add_certificate(CertificateChoices::Certificate(cert))
                .map_err(|e| CmsError::Build(e.to_string()))?;
        }
        builder
            .add_signer_info::<_, Signature>(signer_info)
            .map_err(|e| CmsError::Build(e.to_string()))?;
        Ok(builder
            .build()
            .map_err(|e| CmsError::Build(e.to_string()))?
            .to_der()?)
    }
}

fn public_key(cert: &Certificate) -> Result<VerifyingKey, CmsError> {
    VerifyingKey::of_certificate(cert)
        .map_err(|_| invalid("the certificate's key is not ECDSA P-256"))
}

/// What a SignedData holds.
#[derive(Debug, Clone)]
pub struct Signed {
    pub content_type: ObjectIdentifier,
    pub content: Vec<u8>,
    pub certificates: Vec<Certificate>,
    signed_data: SignedData,
}

/// The SignedData of a DER ContentInfo.
fn signed_data_of(der: &[u8]) -> Result<SignedData, CmsError> {
    let info = ContentInfo::from_der(der)?;
    if info.content_type != ID_SIGNED_DATA {
        return Err(invalid(format!(
            "content type {} is not signedData",
            info.content_type
        )));
    }
    Ok(info.content.decode_as()?)
}

/// Reads a DER ContentInfo holding SignedData with encapsulated content.
pub fn open_signed(der: &[u8]) -> Result<Signed, CmsError> {
    let signed_data = signed_data_of(der)?;
    let eci = &signed_data.encap_content_info;
    let content = match &eci.econtent {
        Some(any) => OctetString::from_der(&any.to_der()?)?.into_bytes(),
        None => return Err(invalid("no encapsulated content")),
    };
    let certificates = certificates_of(&signed_data);
    Ok(Signed {
        content_type: eci.econtent_type,
        content,
        certificates,
        signed_data,
    })
}

/// The certificates a SignedData carries.
fn certificates_of(signed_data: &SignedData) -> Vec<Certificate> {
    signed_data
        .certificates
        .as_ref()
        .map(|set| {
            set.0
                .iter()
                .filter_map(|c| match c {
                    CertificateChoices::Certificate(c) => Some(c.clone()),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The certificates of a DER ContentInfo holding SignedData with or without content:
/// the owner-certificate artifact (RFC 8572 §3.2) and trust anchors (§3.3).
pub fn open_certificates(der: &[u8]) -> Result<Vec<Certificate>, CmsError> {
    Ok(certificates_of(&signed_data_of(der)?))
}

impl Signed {
    /// Checks that a signer whose certificate is `signer` signed the content: the
    /// message-digest attribute is SHA-256 of the content, the content-type attribute
    /// matches, and the signature over the signed attributes verifies.
    pub fn verify(&self, signer: &Certificate) -> Result<(), CmsError> {
        let key = public_key(signer)?;
        let digest = ring::digest::digest(&ring::digest::SHA256, &self.content);
        for info in self.signed_data.signer_infos.0.iter() {
            let SignerIdentifier::IssuerAndSerialNumber(id) = &info.sid else {
                continue;
            };
            if id.issuer != signer.tbs_certificate.issuer
                || id.serial_number != signer.tbs_certificate.serial_number
            {
                continue;
            }
            let attrs = info
                .signed_attrs
                .as_ref()
                .ok_or_else(|| invalid("the signer info has no signed attributes"))?;
            let attr = |oid: ObjectIdentifier| {
                attrs
                    .iter()
                    .find(|a| a.oid == oid)
                    .and_then(|a| a.values.iter().next())
                    .ok_or_else(|| invalid(format!("signed attribute {oid} missing")))
            };
            let md = OctetString::from_der(&attr(ID_MESSAGE_DIGEST)?.to_der()?)?;
            if md.as_bytes() != digest.as_ref() {
                return Err(invalid("message digest does not match the content"));
            }
            let ct: ObjectIdentifier = attr(ID_CONTENT_TYPE)?.decode_as()?;
            if ct != self.content_type {
                return Err(invalid("content-type attribute differs from the content"));
            }
            return match key.verify(&attrs.to_der()?, info.signature.as_bytes()) {
                true => Ok(()),
                false => Err(invalid("signature does not verify")),
            };
        }
        Err(invalid("no signer info names this certificate"))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::pki;

    #[test]
    fn signed_conveyed_information_verifies_and_tampering_is_caught() {
        let lab = pki::tests::owner();
        let doc = br#"{"ietf-sztp-conveyed-info:onboarding-information":{}}"#;
        let der = lab.sign(CONVEYED_INFO_JSON, doc).unwrap();
        let signed = open_signed(&der).unwrap();
        assert_eq!(signed.content_type, CONVEYED_INFO_JSON);
        assert_eq!(signed.content, doc);
        // A SET OF: DER sorts the certificates.
        assert!(signed.certificates.contains(&lab.chain[0]));
        signed.verify(&lab.chain[0]).unwrap();
        // Another key's certificate does not verify it.
        let other = pki::tests::owner();
        assert!(signed.verify(&other.chain[0]).is_err());
        let mut tampered = signed.clone();
        tampered.content[3] ^= 1;
        assert!(
            tampered
                .verify(&lab.chain[0])
                .unwrap_err()
                .to_string()
                .contains("digest")
        );
    }

    #[test]
    fn unsigned_and_certificates_only_shapes() {
        let der = unsigned(CONVEYED_INFO_XML, b"<a/>").unwrap();
        let info = ContentInfo::from_der(&der).unwrap();
        assert_eq!(info.content_type, CONVEYED_INFO_XML);
        assert_eq!(info.content.value(), b"<a/>");
        assert_eq!(
            open_unsigned(&der).unwrap(),
            (CONVEYED_INFO_XML, b"<a/>".to_vec())
        );
        let lab = pki::tests::owner();
        let mut chain = lab.chain.clone();
        chain.push(lab.chain[0].clone());
        let der = certificates_only(&chain).unwrap();
        let info = ContentInfo::from_der(&der).unwrap();
        let sd: SignedData = info.content.decode_as().unwrap();
        assert!(sd.signer_infos.0.is_empty());
        assert_eq!(sd.certificates.unwrap().0.len(), lab.chain.len());
        assert!(open_signed(&der).is_err());
        let read = open_certificates(&der).unwrap();
        assert_eq!(read.len(), lab.chain.len());
        assert!(lab.chain.iter().all(|c| read.contains(c)));
    }
}
