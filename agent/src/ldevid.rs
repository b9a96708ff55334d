//! The certificate a bootstrap server issued the device (an LDevID, RFC 9646), taken
//! from the configuration it came in (an ietf-keystore key, `zerotouch_sztp::keystore`)
//! and kept with the key the device generated for it: `<name>.key` (PKCS#8 PEM, mode
//! 0600) and `<name>.pem` (the certificate, then its CA chain) in the credentials
//! directory.

use std::path::{Path, PathBuf};

use der::EncodePem;
use der::pem::LineEnding;
use spki::SubjectPublicKeyInfoOwned;
use zerotouch_sztp::key::{SigningKey, VerifyingKey};
use zerotouch_sztp::keystore;

/// An installed LDevID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installed {
    /// Its keystore name.
    pub name: String,
    /// The certificate's subject and issuer (RFC 4514).
    pub subject: String,
    /// Its issuer.
    pub issuer: String,
    /// Its last day of validity (RFC 3339).
    pub not_after: String,
    /// The key file.
    pub key: PathBuf,
    /// The certificate chain file.
    pub certificate: PathBuf,
}

/// Finds the certificate for `key` in `configuration` and writes both into `dir`.
pub fn install(dir: &Path, configuration: &[u8], key: &SigningKey) -> Result<Installed, String> {
    let public = SubjectPublicKeyInfoOwned::from_key(key.verifying_key())
        .and_then(|spki| der::Encode::to_der(&spki).map_err(Into::into))
        .map_err(|e| e.to_string())?;
    let carried = keystore::carried(configuration).map_err(|e| e.to_string())?;
    let found = carried
        .into_iter()
        .find(|k| k.public_key == public)
        .ok_or("the server asked for a certificate request, and the configuration carries no certificate for its key")?;
    // A CMS holds its certificates as a set: the device's is the one for its key.
    let mut chain = found.chain.clone();
    let leaf = chain
        .iter()
        .position(|c| VerifyingKey::of_certificate(c).ok() == Some(key.verifying_key()))
        .ok_or_else(|| {
            format!(
                "the certificates carried as {:?} are for other keys than the one requested",
                found.name
            )
        })?;
    chain.swap(0, leaf);
    let cert = &chain[0];
    if !found
        .name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        || found.name.starts_with('.')
    {
        return Err(format!(
            "the carried key's name {:?} is not a file name",
            found.name
        ));
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let key_path = dir.join(format!("{}.key", found.name));
    let cert_path = dir.join(format!("{}.pem", found.name));
    let mut pem = String::new();
    for c in &chain {
        pem.push_str(&c.to_pem(LineEnding::LF).map_err(|e| e.to_string())?);
    }
    write_private(
        &key_path,
        key.to_pkcs8_pem().map_err(|e| e.to_string())?.as_bytes(),
    )?;
    std::fs::write(&cert_path, pem).map_err(|e| format!("{}: {e}", cert_path.display()))?;
    let tbs = &cert.tbs_certificate;
    Ok(Installed {
        name: found.name.clone(),
        subject: tbs.subject.to_string(),
        issuer: tbs.issuer.to_string(),
        not_after: tbs.validity.not_after.to_string(),
        key: key_path,
        certificate: cert_path,
    })
}

/// Writes a private key readable by its owner only.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .and_then(|mut f| f.write_all(bytes))
        .map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use zerotouch_sztp::cms::Signer;
    use zerotouch_sztp::csr::issue_ldevid;
    use zerotouch_sztp::keystore::{carry, keystore_xml};
    use zerotouch_sztp::pki::{Role, issue};

    #[test]
    fn the_certificate_for_the_devices_key_is_installed_and_no_other() {
        let ca_key = SigningKey::generate().unwrap();
        let ca = Signer {
            chain: vec![issue(Role::Root, "CN=owner CA", &ca_key, None, 10).unwrap()],
            key: ca_key,
        };
        let key = SigningKey::generate().unwrap();
        let spki = SubjectPublicKeyInfoOwned::from_key(key.verifying_key()).unwrap();
        let chain = issue_ldevid(&ca, spki.clone(), "SN-1", 30).unwrap();
        let config = carry(
            Some(b"<config xmlns=\"urn:x\"></config>"),
            &keystore_xml("ldevid", &spki, &chain).unwrap(),
        )
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let installed = install(dir.path(), &config, &key).unwrap();
        assert_eq!(installed.name, "ldevid");
        assert!(installed.subject.contains("SN-1"), "{}", installed.subject);
        assert_eq!(installed.issuer, "CN=owner CA");
        let read_key = std::fs::read_to_string(&installed.key).unwrap();
        assert_eq!(
            SigningKey::from_pem(&read_key).unwrap().verifying_key(),
            key.verifying_key()
        );
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&installed.key)
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o600
        );
        let pem = std::fs::read(&installed.certificate).unwrap();
        assert_eq!(x509_cert::Certificate::load_pem_chain(&pem).unwrap(), chain);

        // Another key's certificate is not this device's.
        let other = SigningKey::generate().unwrap();
        let err = install(dir.path(), &config, &other).unwrap_err();
        assert!(err.contains("no certificate for its key"), "{err}");
    }
}
