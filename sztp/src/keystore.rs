//! How an LDevID issued during bootstrapping (RFC 9646) reaches the device: RFC 9646
//! leaves the carrier open; here it is an `ietf-keystore` (RFC 9642) asymmetric key
//! inside the onboarding information's configuration, so the device installs it with
//! its configuration:
//!
//! ```xml
//! <keystore xmlns="urn:ietf:params:xml:ns:yang:ietf-keystore">
//!   <asymmetric-keys><asymmetric-key>
//!     <name>ldevid</name>
//!     <public-key-format>ct:subject-public-key-info-format</public-key-format>
//!     <public-key>(SubjectPublicKeyInfo, base64)</public-key>
//!     <hidden-private-key/>            <!-- the device generated it and keeps it -->
//!     <certificates><certificate>
//!       <name>ldevid</name>
//!       <cert-data>(CMS of the certificate and its CA chain, base64)</cert-data>
//!     </certificate></certificates>
//!   </asymmetric-key></asymmetric-keys>
//! </keystore>
//! ```
//!
//! The element goes last inside the configuration's root element, or is the whole
//! configuration when there was none. A configuration that is not XML cannot carry it.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use der::Encode;
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::Certificate;

use crate::cms;
use crate::xml::{self, Element, escape};

/// The `ietf-keystore` namespace.
pub const NAMESPACE: &str = "urn:ietf:params:xml:ns:yang:ietf-keystore";
/// The `ietf-crypto-types` namespace, where the key formats are.
pub const CRYPTO_TYPES_NAMESPACE: &str = "urn:ietf:params:xml:ns:yang:ietf-crypto-types";

/// Why a key cannot be carried or read.
#[derive(Debug, thiserror::Error)]
pub enum KeystoreError {
    /// The configuration is not an XML document with a root element to put it in.
    #[error("the configuration is not an XML document ({0}), so it cannot carry a certificate")]
    NotXml(String),
    /// Encoding failed.
    #[error("{0}")]
    Encode(String),
    /// A carried key is malformed.
    #[error("the configuration's keystore: {0}")]
    Malformed(String),
}

/// An asymmetric key with its certificate chain, as carried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CarriedKey {
    /// The key's and its certificate's name.
    pub name: String,
    /// The public key (DER SubjectPublicKeyInfo).
    pub public_key: Vec<u8>,
    /// The certificate and its CA chain, in no order (a CMS holds a set).
    pub chain: Vec<Certificate>,
}

/// The `<keystore>` element for the key `name` and its certificate chain.
pub fn keystore_xml(
    name: &str,
    public_key: &SubjectPublicKeyInfoOwned,
    chain: &[Certificate],
) -> Result<String, KeystoreError> {
    let encode = |e: &dyn std::fmt::Display| KeystoreError::Encode(e.to_string());
    let spki = public_key.to_der().map_err(|e| encode(&e))?;
    let certs = cms::certificates_only(chain).map_err(|e| encode(&e))?;
    let name = escape(name);
    Ok(format!(
        "<keystore xmlns=\"{NAMESPACE}\"><asymmetric-keys><asymmetric-key><name>{name}</name>\
         <public-key-format xmlns:ct=\"{CRYPTO_TYPES_NAMESPACE}\">ct:subject-public-key-info-format</public-key-format>\
         <public-key>{}</public-key><hidden-private-key/><certificates><certificate><name>{name}</name>\
         <cert-data>{}</cert-data></certificate></certificates></asymmetric-key></asymmetric-keys></keystore>",
        BASE64.encode(spki),
        BASE64.encode(certs),
    ))
}

/// `configuration` with `keystore` put last inside its root element; `keystore` alone
/// when there is no configuration.
pub fn carry(configuration: Option<&[u8]>, keystore: &str) -> Result<Vec<u8>, KeystoreError> {
    let Some(config) = configuration else {
        return Ok(keystore.as_bytes().to_vec());
    };
    let text =
        std::str::from_utf8(config).map_err(|_| KeystoreError::NotXml("not UTF-8".into()))?;
    xml::parse(text).map_err(KeystoreError::NotXml)?;
    let trimmed = text.trim_end();
    let close = trimmed
        .rfind("</")
        .filter(|_| trimmed.ends_with('>'))
        .ok_or_else(|| KeystoreError::NotXml("its root element has no end tag".into()))?;
    Ok([&text[..close], keystore, &text[close..]]
        .concat()
        .into_bytes())
}

/// The keys carried in `configuration` (none when it is not XML or carries none).
pub fn carried(configuration: &[u8]) -> Result<Vec<CarriedKey>, KeystoreError> {
    let Some(root) = std::str::from_utf8(configuration)
        .ok()
        .and_then(|t| xml::parse(t).ok())
    else {
        return Ok(Vec::new());
    };
    let mut keystores = Vec::new();
    find_keystores(&root, &mut keystores);
    let mut keys = Vec::new();
    for keystore in keystores {
        for list in keystore
            .children
            .iter()
            .filter(|c| c.name == "asymmetric-keys")
        {
            for key in list.children.iter().filter(|c| c.name == "asymmetric-key") {
                keys.push(read_key(key)?);
            }
        }
    }
    Ok(keys)
}

fn find_keystores<'a>(el: &'a Element, out: &mut Vec<&'a Element>) {
    if el.name == "keystore" && el.namespace.as_deref() == Some(NAMESPACE) {
        out.push(el);
        return;
    }
    for c in &el.children {
        find_keystores(c, out);
    }
}

fn read_key(key: &Element) -> Result<CarriedKey, KeystoreError> {
    let malformed = |why: String| KeystoreError::Malformed(why);
    let child = |el: &'_ Element, name: &str| {
        el.children
            .iter()
            .find(|c| c.name == name)
            .map(|c| c.value().to_string())
    };
    let name =
        child(key, "name").ok_or_else(|| malformed("an asymmetric-key without a name".into()))?;
    let decode = |what: &str, text: Option<String>| {
        text.and_then(|t| BASE64.decode(t.split_whitespace().collect::<String>()).ok())
            .ok_or_else(|| malformed(format!("key {name:?}: {what} missing or not base64")))
    };
    let public_key = decode("public-key", child(key, "public-key"))?;
    let cert_data = key
        .children
        .iter()
        .filter(|c| c.name == "certificates")
        .flat_map(|c| c.children.iter())
        .find(|c| c.name == "certificate")
        .and_then(|c| child(c, "cert-data"));
    let chain = cms::open_certificates(&decode("cert-data", cert_data)?)
        .map_err(|e| malformed(format!("key {name:?}: cert-data: {e}")))?;
    if chain.is_empty() {
        return Err(malformed(format!(
            "key {name:?}: cert-data holds no certificate"
        )));
    }
    Ok(CarriedKey {
        name,
        public_key,
        chain,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::SigningKey;
    use crate::pki::{Role, issue};

    fn key_and_chain() -> (SubjectPublicKeyInfoOwned, Vec<Certificate>) {
        let key = SigningKey::generate().unwrap();
        let cert = issue(Role::Device, "CN=SN-1,serialNumber=SN-1", &key, None, 1).unwrap();
        (
            SubjectPublicKeyInfoOwned::from_key(key.verifying_key()).unwrap(),
            vec![cert],
        )
    }

    #[test]
    fn a_key_is_carried_inside_the_configuration_and_read_back() {
        let (spki, chain) = key_and_chain();
        let ks = keystore_xml("ldevid", &spki, &chain).unwrap();
        let config = b"<?xml version=\"1.0\"?>\n<config xmlns=\"urn:example\">\n  <hostname>sw1</hostname>\n</config>\n";
        let carried_config = carry(Some(config), &ks).unwrap();
        let text = String::from_utf8(carried_config.clone()).unwrap();
        assert!(text.starts_with("<?xml version=\"1.0\"?>\n<config xmlns=\"urn:example\">\n  <hostname>sw1</hostname>\n<keystore"), "{text}");
        assert!(text.ends_with("</keystore></config>\n"), "{text}");
        let keys = carried(&carried_config).unwrap();
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].name, "ldevid");
        assert_eq!(keys[0].public_key, spki.to_der().unwrap());
        assert_eq!(keys[0].chain, chain);

        let alone = carry(None, &ks).unwrap();
        assert_eq!(carried(&alone).unwrap(), keys);

        assert!(matches!(
            carry(Some(b"hostname sw1\n"), &ks),
            Err(KeystoreError::NotXml(_))
        ));
        assert!(matches!(
            carry(Some(b"<config/>"), &ks),
            Err(KeystoreError::NotXml(_))
        ));
        assert_eq!(carried(b"hostname sw1\n").unwrap(), vec![]);
        assert_eq!(carried(config).unwrap(), vec![]);
    }
}
