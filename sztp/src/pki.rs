//! A lab PKI, so the whole SZTP flow can be tried without a vendor's: a manufacturer CA
//! and IDevID certificates carrying serial numbers, an owner CA and owner certificate, a
//! voucher CA and signer with RFC 8366 vouchers (JSON, CMS-signed), and a TLS server
//! certificate for the bootstrap server. ECDSA P-256 throughout.

use std::fs;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::{Duration, SystemTime};

use der::asn1::{Ia5String, OctetString};
use der::pem::LineEnding;
use der::{DateTime, EncodePem};
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::Certificate;
use x509_cert::builder::{Builder, CertificateBuilder, Profile};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{ExtendedKeyUsage, SubjectAltName};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::Validity;

use crate::cms::{self, Signer, VOUCHER_JSON};
use crate::key::{Signature, SigningKey};

const SERVER_AUTH: der::oid::ObjectIdentifier =
    der::oid::ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.1");
const CLIENT_AUTH: der::oid::ObjectIdentifier =
    der::oid::ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.2");
const DAY: Duration = Duration::from_secs(86_400);

#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    #[error("{0}")]
    Build(String),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Cms(#[from] cms::CmsError),
}

fn build_err(e: impl std::fmt::Display) -> PkiError {
    PkiError::Build(e.to_string())
}

fn random<const N: usize>() -> Result<[u8; N], PkiError> {
    let mut bytes = [0u8; N];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes)
        .map_err(|_| PkiError::Build("no randomness from the system".into()))?;
    Ok(bytes)
}

/// A fresh P-256 key.
pub fn new_key() -> Result<SigningKey, PkiError> {
    SigningKey::generate().map_err(build_err)
}

/// What a certificate is for.
pub enum Role<'a> {
    Root,
    Intermediate,
    /// A TLS server: names for subjectAltName (DNS names or IP addresses).
    Server(&'a [String]),
    /// A TLS client (an IDevID).
    Client,
    /// A device's locally significant identity (an LDevID, RFC 9646): TLS client and
    /// server.
    Device,
    /// Signs documents (owner certificate, voucher signer).
    Signing,
}

/// Issues a certificate for `key` with `subject` (RFC 4514 text, for instance
/// `CN=device,serialNumber=SN1`), signed by `issuer` or self-signed.
pub fn issue(
    role: Role<'_>,
    subject: &str,
    key: &SigningKey,
    issuer: Option<(&Certificate, &SigningKey)>,
    days: u64,
) -> Result<Certificate, PkiError> {
    let subject = Name::from_str(subject).map_err(build_err)?;
    let spki = SubjectPublicKeyInfoOwned::from_key(key.verifying_key()).map_err(build_err)?;
    issue_to(role, subject, spki, issuer.ok_or(key), days)
}

/// Issues a certificate for the public key `spki` with `subject`, signed by `issuer`, or
/// self-signed with the key given instead.
pub fn issue_to(
    role: Role<'_>,
    subject: Name,
    spki: SubjectPublicKeyInfoOwned,
    issuer: Result<(&Certificate, &SigningKey), &SigningKey>,
    days: u64,
) -> Result<Certificate, PkiError> {
    let mut serial = random::<16>()?;
    serial[0] &= 0x7f;
    let serial = SerialNumber::new(&serial).map_err(build_err)?;
    let validity = Validity::from_now(DAY * days as u32).map_err(build_err)?;
    let issuer_name = issuer.ok().map(|(c, _)| c.tbs_certificate.subject.clone());
    let signer = match issuer {
        Ok((_, k)) | Err(k) => k,
    };
    let profile = match (&role, issuer_name) {
        (Role::Root, _) | (Role::Intermediate, None) => Profile::Root,
        (Role::Intermediate, Some(issuer)) => Profile::SubCA {
            issuer,
            path_len_constraint: None,
        },
        (_, issuer) => Profile::Leaf {
            issuer: issuer.unwrap_or_else(|| subject.clone()),
            enable_key_agreement: false,
            enable_key_encipherment: false,
        },
    };
    let mut builder = CertificateBuilder::new(profile, serial, validity, subject, spki, signer)
        .map_err(build_err)?;
    match role {
        Role::Server(names) => {
            let mut alt = Vec::with_capacity(names.len());
            for n in names {
                alt.push(match n.parse::<IpAddr>() {
                    Ok(IpAddr::V4(a)) => {
                        GeneralName::IpAddress(OctetString::new(a.octets()).map_err(build_err)?)
                    }
                    Ok(IpAddr::V6(a)) => {
                        GeneralName::IpAddress(OctetString::new(a.octets()).map_err(build_err)?)
                    }
                    Err(_) => GeneralName::DnsName(Ia5String::new(n).map_err(build_err)?),
                });
            }
            builder
                .add_extension(&SubjectAltName(alt))
                .map_err(build_err)?;
            builder
                .add_extension(&ExtendedKeyUsage(vec![SERVER_AUTH]))
                .map_err(build_err)?;
        }
        Role::Client => builder
            .add_extension(&ExtendedKeyUsage(vec![CLIENT_AUTH]))
            .map_err(build_err)?,
        Role::Device => builder
            .add_extension(&ExtendedKeyUsage(vec![CLIENT_AUTH, SERVER_AUTH]))
            .map_err(build_err)?,
        Role::Root | Role::Intermediate | Role::Signing => {}
    }
    builder.build::<Signature>().map_err(build_err)
}

/// RFC 3339 in UTC, as YANG `date-and-time` wants it.
pub fn date_and_time(t: SystemTime) -> Result<String, PkiError> {
    let dt = DateTime::from_system_time(t).map_err(build_err)?;
    Ok(format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        dt.year(),
        dt.month(),
        dt.day(),
        dt.hour(),
        dt.minutes(),
        dt.seconds()
    ))
}

/// An RFC 8366 voucher for `serial`, pinning `pinned` (the owner's CA), signed by
/// `signer`: the `ownership-voucher` artifact.
pub fn voucher(
    signer: &Signer,
    serial: &str,
    pinned: &Certificate,
    days: u64,
) -> Result<Vec<u8>, PkiError> {
    use base64::Engine;
    let now = SystemTime::now();
    let document = serde_json::json!({ "ietf-voucher:voucher": {
        "created-on": date_and_time(now)?,
        "expires-on": date_and_time(now + DAY * days as u32)?,
        "assertion": "verified",
        "serial-number": serial,
        "pinned-domain-cert": base64::engine::general_purpose::STANDARD
            .encode(der::Encode::to_der(pinned).map_err(build_err)?),
        "domain-cert-revocation-checks": false,
    }});
    Ok(signer.sign(VOUCHER_JSON, document.to_string().as_bytes())?)
}

/// The serial number and pinned certificate a voucher names.
pub fn voucher_claims(content: &[u8]) -> Result<(String, Vec<u8>), String> {
    use base64::Engine;
    let doc: serde_json::Value =
        serde_json::from_slice(content).map_err(|e| format!("voucher is not JSON: {e}"))?;
    let v = &doc["ietf-voucher:voucher"];
    let serial = v["serial-number"]
        .as_str()
        .ok_or("voucher has no serial-number")?
        .to_string();
    let pinned = v["pinned-domain-cert"]
        .as_str()
        .ok_or("voucher has no pinned-domain-cert")?;
    let pinned = base64::engine::general_purpose::STANDARD
        .decode(pinned)
        .map_err(|_| "pinned-domain-cert is not base64")?;
    Ok((serial, pinned))
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), PkiError> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(|source| PkiError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
    }
    fs::write(path, bytes).map_err(|source| PkiError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn read(path: &Path) -> Result<Vec<u8>, PkiError> {
    fs::read(path).map_err(|source| PkiError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn cert_pem(chain: &[&Certificate]) -> Result<String, PkiError> {
    let mut s = String::new();
    for c in chain {
        s.push_str(&c.to_pem(LineEnding::LF).map_err(build_err)?);
    }
    Ok(s)
}

fn key_pem(key: &SigningKey) -> Result<String, PkiError> {
    key.to_pkcs8_pem().map_err(build_err)
}

/// A certificate with its key, in files `<name>.pem` and `<name>.key`.
pub struct Party {
    pub cert: Certificate,
    pub key: SigningKey,
}

impl Party {
    fn create(
        dir: &Path,
        name: &str,
        role: Role<'_>,
        subject: &str,
        issuer: Option<&Party>,
        days: u64,
    ) -> Result<Party, PkiError> {
        let key = new_key()?;
        let cert = issue(role, subject, &key, issuer.map(|p| (&p.cert, &p.key)), days)?;
        let mut chain = vec![&cert];
        if let Some(i) = issuer {
            chain.push(&i.cert);
        }
        write(
            &dir.join(format!("{name}.pem")),
            cert_pem(&chain)?.as_bytes(),
        )?;
        let key_path = dir.join(format!("{name}.key"));
        write(&key_path, key_pem(&key)?.as_bytes())?;
        // Private keys readable by their owner only.
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&key_path, fs::Permissions::from_mode(0o600)).map_err(|source| {
            PkiError::Io {
                path: key_path.clone(),
                source,
            }
        })?;
        Ok(Party { cert, key })
    }

    /// Reads `<name>.pem` (first certificate) and `<name>.key`.
    pub fn load(dir: &Path, name: &str) -> Result<Party, PkiError> {
        let pem = read(&dir.join(format!("{name}.pem")))?;
        let key = String::from_utf8_lossy(&read(&dir.join(format!("{name}.key")))?).into_owned();
        let signer = Signer::from_pem(&pem, &key)?;
        Ok(Party {
            cert: signer.chain[0].clone(),
            key: signer.key,
        })
    }

    fn signer(&self, chain: &[&Party]) -> Signer {
        let mut certs = vec![self.cert.clone()];
        certs.extend(chain.iter().map(|p| p.cert.clone()));
        Signer {
            key: self.key.clone(),
            chain: certs,
        }
    }
}

/// The files of a lab PKI in `dir`:
/// - `manufacturer-ca.{pem,key}`; `devices/<serial>.{pem,key}` (IDevID + CA, key);
/// - `owner-ca.{pem,key}`; `owner.{pem,key}` (owner certificate + owner CA);
/// - `voucher-ca.{pem,key}`; `voucher-signer.{pem,key}`; `vouchers/<serial>.vcj`;
/// - `server-ca.{pem,key}`; `server.{pem,key}` (the bootstrap server's TLS certificate
///   for `server_names`, with its CA).
pub fn create_lab(dir: &Path, serials: &[String], server_names: &[String]) -> Result<(), PkiError> {
    let years = 3650;
    let manufacturer = Party::create(
        dir,
        "manufacturer-ca",
        Role::Root,
        "CN=zerotouch lab manufacturer CA",
        None,
        years,
    )?;
    let owner_ca = Party::create(
        dir,
        "owner-ca",
        Role::Root,
        "CN=zerotouch lab owner CA",
        None,
        years,
    )?;
    Party::create(
        dir,
        "owner",
        Role::Signing,
        "CN=zerotouch lab owner",
        Some(&owner_ca),
        years,
    )?;
    let voucher_ca = Party::create(
        dir,
        "voucher-ca",
        Role::Root,
        "CN=zerotouch lab MASA CA",
        None,
        years,
    )?;
    Party::create(
        dir,
        "voucher-signer",
        Role::Signing,
        "CN=zerotouch lab MASA",
        Some(&voucher_ca),
        years,
    )?;
    let server_ca = Party::create(
        dir,
        "server-ca",
        Role::Root,
        "CN=zerotouch lab server CA",
        None,
        years,
    )?;
    let subject = format!(
        "CN={}",
        server_names.first().map_or("bootstrap", String::as_str)
    );
    Party::create(
        dir,
        "server",
        Role::Server(server_names),
        &subject,
        Some(&server_ca),
        years,
    )?;
    let _ = manufacturer;
    for serial in serials {
        add_device(dir, serial)?;
    }
    Ok(())
}

/// Adds an IDevID and a voucher for `serial` to the lab in `dir`.
pub fn add_device(dir: &Path, serial: &str) -> Result<(), PkiError> {
    if serial.is_empty()
        || !serial
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        || serial.starts_with('.')
    {
        return Err(PkiError::Build(format!(
            "serial number {serial:?}: use letters, digits, '-', '_' and '.'"
        )));
    }
    let manufacturer = Party::load(dir, "manufacturer-ca")?;
    Party::create(
        &dir.join("devices"),
        serial,
        Role::Client,
        &format!("CN={serial},serialNumber={serial}"),
        Some(&manufacturer),
        3650,
    )?;
    let owner_ca = Party::load(dir, "owner-ca")?;
    let masa = Party::load(dir, "voucher-signer")?;
    let masa_ca = Party::load(dir, "voucher-ca")?;
    let der = voucher(&masa.signer(&[&masa_ca]), serial, &owner_ca.cert, 365)?;
    write(&dir.join("vouchers").join(format!("{serial}.vcj")), &der)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// An owner CA and owner certificate, as a signer.
    pub(crate) fn owner() -> Signer {
        let ca_key = new_key().unwrap();
        let ca = issue(Role::Root, "CN=owner CA", &ca_key, None, 10).unwrap();
        let key = new_key().unwrap();
        let cert = issue(Role::Signing, "CN=owner", &key, Some((&ca, &ca_key)), 10).unwrap();
        Signer {
            key,
            chain: vec![cert, ca],
        }
    }

    #[test]
    fn a_lab_has_every_file_and_its_voucher_names_the_device() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("pki");
        create_lab(
            &dir,
            &["SN-1".into()],
            &["198.18.0.1".into(), "bs.lab".into()],
        )
        .unwrap();
        for f in [
            "owner.pem",
            "owner.key",
            "server.pem",
            "devices/SN-1.pem",
            "vouchers/SN-1.vcj",
        ] {
            assert!(dir.join(f).exists(), "{f}");
        }
        let signed = cms::open_signed(&fs::read(dir.join("vouchers/SN-1.vcj")).unwrap()).unwrap();
        assert_eq!(signed.content_type, VOUCHER_JSON);
        let masa = Party::load(&dir, "voucher-signer").unwrap();
        signed.verify(&masa.cert).unwrap();
        let (serial, pinned) = voucher_claims(&signed.content).unwrap();
        assert_eq!(serial, "SN-1");
        let owner_ca = Party::load(&dir, "owner-ca").unwrap();
        assert_eq!(pinned, der::Encode::to_der(&owner_ca.cert).unwrap());
        assert!(add_device(&dir, "../x").is_err());
    }
}
