//! ECDSA P-256 keys on ring (the crypto the TLS stack already uses), in the shapes the
//! `cms` and `x509-cert` builders take: a key pair that signs (`signature::Signer`), its
//! public key as a SubjectPublicKeyInfo (`spki::EncodePublicKey`), and DER signatures.
//! Keys are read from PEM, PKCS#8 (`PRIVATE KEY`) or SEC1 (`EC PRIVATE KEY`), and
//! written as PKCS#8.

use std::sync::Arc;

use der::asn1::{AnyRef, BitString, BitStringRef, OctetStringRef};
use der::oid::ObjectIdentifier;
use der::pem::LineEnding;
use der::{Document, Encode, Reader, SliceReader, TagMode, TagNumber};
use ring::rand::SystemRandom;
use ring::signature::{
    ECDSA_P256_SHA256_ASN1, ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair,
    UnparsedPublicKey,
};
use spki::{AlgorithmIdentifierOwned, AlgorithmIdentifierRef, SubjectPublicKeyInfoOwned};
use x509_cert::Certificate;

/// id-ecPublicKey (RFC 5480).
const ID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
/// secp256r1, the P-256 curve.
const PRIME256V1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
/// ecdsa-with-SHA256 (RFC 5758).
const ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");

/// Why a key could not be read or used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("not a PEM ECDSA P-256 private key (PKCS#8 or SEC1){0}")]
    Format(String),
    #[error("the key has no public part (regenerate it with openssl, which writes it)")]
    NoPublicKey,
    #[error("the private and public parts do not belong together")]
    Mismatch,
    #[error("not an ECDSA P-256 public key")]
    NotP256,
    #[error("no randomness from the system")]
    Random,
    #[error("DER: {0}")]
    Der(#[from] der::Error),
}

/// An ECDSA P-256 private key.
#[derive(Clone)]
pub struct SigningKey {
    pair: Arc<EcdsaKeyPair>,
    /// The key as a PKCS#8 document, to write it out.
    pkcs8: Arc<[u8]>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("public", &self.verifying_key())
            .finish()
    }
}

/// An ECDSA P-256 public key: the uncompressed point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyingKey(Arc<[u8]>);

/// An ECDSA signature, DER-encoded (`ECDSA-Sig-Value`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature(Box<[u8]>);

impl SigningKey {
    /// A fresh key from the system's randomness.
    pub fn generate() -> Result<Self, KeyError> {
        let rng = SystemRandom::new();
        let doc = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng)
            .map_err(|_| KeyError::Random)?;
        Self::from_pkcs8_der(doc.as_ref())
    }

    /// Reads a PEM private key: PKCS#8 (`PRIVATE KEY`) or SEC1 (`EC PRIVATE KEY`).
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        let (label, der) =
            der::pem::decode_vec(pem.as_bytes()).map_err(|e| KeyError::Format(format!(": {e}")))?;
        match label {
            "PRIVATE KEY" => Self::from_pkcs8_der(&der),
            "EC PRIVATE KEY" => Self::from_sec1_der(&der),
            other => Err(KeyError::Format(format!(", but a PEM {other:?}"))),
        }
    }

    /// Reads a PKCS#8 `PrivateKeyInfo` (RFC 5208, v1 or v2) holding a P-256 key.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, KeyError> {
        let mut r = SliceReader::new(der)?;
        let ec_private_key = r.sequence(|r| {
            let _version: u8 = r.decode()?;
            let algorithm: AlgorithmIdentifierRef<'_> = r.decode()?;
            let key: OctetStringRef<'_> = r.decode()?;
            // Attributes and the v2 public key, if any, are not needed.
            let rest = r.remaining_len();
            r.read_slice(rest)?;
            Ok((algorithm, key.as_bytes()))
        })?;
        r.finish(())?;
        let (algorithm, key) = ec_private_key;
        let curve = algorithm
            .parameters
            .map(|p| p.decode_as::<ObjectIdentifier>())
            .transpose()?;
        if algorithm.oid != ID_EC_PUBLIC_KEY || curve.is_some_and(|c| c != PRIME256V1) {
            return Err(KeyError::Format(", but another algorithm or curve".into()));
        }
        let (private, public) = ec_private_key_parts(key)?;
        Self::from_parts(&private, &public, der.to_vec())
    }

    /// Reads a SEC1 `ECPrivateKey` (RFC 5915) on P-256.
    pub fn from_sec1_der(der: &[u8]) -> Result<Self, KeyError> {
        let (private, public) = ec_private_key_parts(der)?;
        let pkcs8 = pkcs8_document(der)?;
        Self::from_parts(&private, &public, pkcs8)
    }

    fn from_parts(private: &[u8], public: &[u8], pkcs8: Vec<u8>) -> Result<Self, KeyError> {
        let pair = EcdsaKeyPair::from_private_key_and_public_key(
            &ECDSA_P256_SHA256_ASN1_SIGNING,
            private,
            public,
            &SystemRandom::new(),
        )
        .map_err(|_| KeyError::Mismatch)?;
        Ok(SigningKey {
            pair: Arc::new(pair),
            pkcs8: pkcs8.into(),
        })
    }

    /// The public key.
    pub fn verifying_key(&self) -> VerifyingKey {
        VerifyingKey(self.pair.public_key().as_ref().into())
    }

    /// The key as PEM PKCS#8.
    pub fn to_pkcs8_pem(&self) -> Result<String, KeyError> {
        der::pem::encode_string("PRIVATE KEY", LineEnding::LF, &self.pkcs8)
            .map_err(|e| KeyError::Format(format!(": {e}")))
    }
}

/// The private scalar and public point of an `ECPrivateKey`.
fn ec_private_key_parts(der: &[u8]) -> Result<(Vec<u8>, Vec<u8>), KeyError> {
    let mut r = SliceReader::new(der)?;
    let (private, curve, public) = r.sequence(|r| {
        let _version: u8 = r.decode()?;
        let private: OctetStringRef<'_> = r.decode()?;
        let curve = r.context_specific::<ObjectIdentifier>(TagNumber::N0, TagMode::Explicit)?;
        let public = r.context_specific::<BitStringRef<'_>>(TagNumber::N1, TagMode::Explicit)?;
        Ok((
            private.as_bytes().to_vec(),
            curve,
            public.and_then(|b| b.as_bytes()).map(<[u8]>::to_vec),
        ))
    })?;
    r.finish(())?;
    if curve.is_some_and(|c| c != PRIME256V1) {
        return Err(KeyError::Format(", but a key on another curve".into()));
    }
    Ok((private, public.ok_or(KeyError::NoPublicKey)?))
}

/// A PKCS#8 v1 document around a SEC1 key.
fn pkcs8_document(ec_private_key: &[u8]) -> Result<Vec<u8>, KeyError> {
    let algorithm = AlgorithmIdentifierRef {
        oid: ID_EC_PUBLIC_KEY,
        parameters: Some(AnyRef::from(&PRIME256V1)),
    };
    let key = OctetStringRef::new(ec_private_key)?;
    let body = [0u8.to_der()?, algorithm.to_der()?, key.to_der()?].concat();
    let header = der::Header::new(der::Tag::Sequence, der::Length::try_from(body.len())?)?;
    Ok([header.to_der()?, body].concat())
}

impl VerifyingKey {
    /// The key a certificate certifies, if it is an ECDSA P-256 key.
    pub fn of_certificate(cert: &Certificate) -> Result<Self, KeyError> {
        Self::of_spki(&cert.tbs_certificate.subject_public_key_info)
    }

    /// The key a SubjectPublicKeyInfo holds, if it is an ECDSA P-256 key.
    pub fn of_spki(spki: &SubjectPublicKeyInfoOwned) -> Result<Self, KeyError> {
        let curve = spki
            .algorithm
            .parameters
            .as_ref()
            .map(|p| p.decode_as::<ObjectIdentifier>())
            .transpose()
            .map_err(|_| KeyError::NotP256)?;
        if spki.algorithm.oid != ID_EC_PUBLIC_KEY || curve != Some(PRIME256V1) {
            return Err(KeyError::NotP256);
        }
        let point = spki
            .subject_public_key
            .as_bytes()
            .ok_or(KeyError::NotP256)?;
        Ok(VerifyingKey(point.into()))
    }

    /// The algorithm of every key here: id-ecPublicKey on P-256 (RFC 5480).
    pub fn algorithm() -> AlgorithmIdentifierOwned {
        AlgorithmIdentifierOwned {
            oid: ID_EC_PUBLIC_KEY,
            parameters: Some(der::Any::from(&PRIME256V1)),
        }
    }

    /// The signature algorithm these keys verify: ecdsa-with-SHA256.
    pub const SIGNATURE_ALGORITHM: ObjectIdentifier = ECDSA_WITH_SHA256;

    /// Whether `signature` (DER) is this key's signature over `message` with SHA-256.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, &self.0)
            .verify(message, signature)
            .is_ok()
    }
}

impl signature::Keypair for SigningKey {
    type VerifyingKey = VerifyingKey;
    fn verifying_key(&self) -> VerifyingKey {
        SigningKey::verifying_key(self)
    }
}

impl spki::SignatureAlgorithmIdentifier for SigningKey {
    type Params = AnyRef<'static>;
    const SIGNATURE_ALGORITHM_IDENTIFIER: AlgorithmIdentifierRef<'static> =
        AlgorithmIdentifierRef {
            oid: ECDSA_WITH_SHA256,
            parameters: None,
        };
}

impl signature::Signer<Signature> for SigningKey {
    fn try_sign(&self, message: &[u8]) -> Result<Signature, signature::Error> {
        let sig = self
            .pair
            .sign(&SystemRandom::new(), message)
            .map_err(|_| signature::Error::new())?;
        Ok(Signature(sig.as_ref().into()))
    }
}

impl spki::EncodePublicKey for VerifyingKey {
    fn to_public_key_der(&self) -> spki::Result<Document> {
        let info = SubjectPublicKeyInfoOwned {
            algorithm: Self::algorithm(),
            subject_public_key: BitString::from_bytes(&self.0)?,
        };
        Ok(Document::encode_msg(&info)?)
    }
}

impl signature::SignatureEncoding for Signature {
    type Repr = Box<[u8]>;
}

impl TryFrom<&[u8]> for Signature {
    type Error = signature::Error;
    fn try_from(bytes: &[u8]) -> Result<Self, signature::Error> {
        Ok(Signature(bytes.into()))
    }
}

impl From<Signature> for Box<[u8]> {
    fn from(s: Signature) -> Self {
        s.0
    }
}

impl spki::SignatureBitStringEncoding for Signature {
    fn to_bitstring(&self) -> der::Result<BitString> {
        BitString::from_bytes(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use signature::Signer;

    #[test]
    fn keys_round_trip_through_pkcs8_and_sec1_and_sign() {
        let key = SigningKey::generate().unwrap();
        let pem = key.to_pkcs8_pem().unwrap();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        let again = SigningKey::from_pem(&pem).unwrap();
        assert_eq!(again.verifying_key(), key.verifying_key());
        let sig: Signature = again.try_sign(b"conveyed").unwrap();
        assert!(key.verifying_key().verify(b"conveyed", &sig.0));
        assert!(!key.verifying_key().verify(b"tampered", &sig.0));
        // The SEC1 form inside the PKCS#8 document reads as the same key.
        let sec1 = {
            let mut r = SliceReader::new(&key.pkcs8).unwrap();
            let inner = r
                .sequence(|r| {
                    let _: u8 = r.decode()?;
                    let _: AlgorithmIdentifierRef<'_> = r.decode()?;
                    let k: OctetStringRef<'_> = r.decode()?;
                    let rest = r.remaining_len();
                    r.read_slice(rest)?;
                    Ok(k.as_bytes().to_vec())
                })
                .unwrap();
            der::pem::encode_string("EC PRIVATE KEY", LineEnding::LF, &inner).unwrap()
        };
        let from_sec1 = SigningKey::from_pem(&sec1).unwrap();
        assert_eq!(from_sec1.verifying_key(), key.verifying_key());
        assert!(SigningKey::from_pem(&sec1.replace("EC PRIVATE", "RSA PRIVATE")).is_err());
        assert!(SigningKey::from_pem("not pem").is_err());
    }
}
