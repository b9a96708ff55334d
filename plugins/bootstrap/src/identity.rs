//! Who a device is: the serial number in its TLS client certificate (IDevID) and/or its
//! HTTP Basic user, which must agree (RFC 8572 §5.3), checked against the devices the
//! operator listed.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use der::Decode;
use der::oid::ObjectIdentifier;
use x509_cert::Certificate;
use zerotouch_sztp::name::{COMMON_NAME, SERIAL_NUMBER, attribute_text};

use crate::restconf::RestconfError;
use crate::settings::{ClientCertificate, SerialFallback, SerialFallbacks};

/// The serial number a certificate names: the subject's `serialNumber` attribute (of a
/// Cisco SUDI's `PID:C9300-24T SN:FCW2123L0N3`, the `SN:` part: the chassis serial),
/// else the first of `fallbacks` the subject has.
pub fn certificate_serial(der: &[u8], fallbacks: &SerialFallbacks) -> Result<String, String> {
    let cert = Certificate::from_der(der).map_err(|e| format!("unreadable certificate: {e}"))?;
    let rdns = &cert.tbs_certificate.subject.0;
    let find = |oid: ObjectIdentifier| {
        rdns.iter()
            .flat_map(|rdn| rdn.0.iter())
            .find(|atv| atv.oid == oid)
            .and_then(|atv| attribute_text(&atv.value))
    };
    let serial = find(SERIAL_NUMBER)
        .map(|s| sudi_serial(&s).unwrap_or(s))
        .or_else(|| {
            fallbacks.0.iter().find_map(|f| match f {
                SerialFallback::CommonName => find(COMMON_NAME),
                SerialFallback::LastRdn => rdns
                    .last()
                    .and_then(|rdn| rdn.0.iter().next())
                    .and_then(|atv| attribute_text(&atv.value)),
            })
        });
    serial.filter(|s| !s.is_empty()).ok_or_else(|| {
        format!(
            "the certificate's subject {} names no serial number",
            cert.tbs_certificate.subject
        )
    })
}

/// The chassis serial of a Cisco SUDI `serialNumber` (`PID:C9300-24T SN:FCW2123L0N3`).
fn sudi_serial(value: &str) -> Option<String> {
    let rest = value.strip_prefix("PID:")?;
    let sn = rest
        .split_whitespace()
        .find_map(|w| w.strip_prefix("SN:"))?;
    (!sn.is_empty()).then(|| sn.to_string())
}

/// HTTP Basic credentials from an `Authorization` header.
pub fn basic_credentials(header: &str) -> Result<(String, String), RestconfError> {
    let (scheme, value) = header.trim().split_once(' ').unwrap_or((header, ""));
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(RestconfError::access_denied(format!(
            "HTTP authentication scheme {scheme:?} is not supported; use Basic"
        )));
    }
    let decoded = BASE64
        .decode(value.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| RestconfError::access_denied("malformed Basic credentials"))?;
    let (user, password) = decoded
        .split_once(':')
        .ok_or_else(|| RestconfError::access_denied("malformed Basic credentials"))?;
    Ok((user.to_string(), password.to_string()))
}

/// What a request presented.
#[derive(Debug, Clone, Default)]
pub struct Presented {
    /// The serial number of a client certificate that validated against the
    /// manufacturer CAs, or why it did not.
    pub certificate: Option<Result<String, String>>,
    pub basic: Option<(String, String)>,
}

/// What the server knows of a device that matters for authentication.
pub trait KnownDevice {
    fn secret(&self) -> Option<&crate::secret::SecretHash>;
}

/// The authenticated serial number, or 401 with the reason. `lookup` finds the
/// operator's entry for a serial number.
/// `verify` checks a Basic password against a device's stored secret.
pub fn authenticate<D: KnownDevice>(
    presented: &Presented,
    policy: ClientCertificate,
    accept_unlisted: bool,
    lookup: impl FnOnce(&str) -> Result<Option<D>, RestconfError>,
    verify: impl FnOnce(&crate::secret::SecretHash, &str) -> bool,
) -> Result<(String, Option<D>), RestconfError> {
    let cert_serial = match &presented.certificate {
        Some(Ok(serial)) => Some(serial.clone()),
        Some(Err(why)) => {
            return Err(RestconfError::access_denied(format!(
                "client certificate refused: {why}"
            )));
        }
        None if policy == ClientCertificate::Required => {
            return Err(RestconfError::access_denied(
                "a client certificate (IDevID) is required",
            ));
        }
        None => None,
    };
    let user = presented.basic.as_ref().map(|(u, _)| u.clone());
    if let (Some(c), Some(u)) = (&cert_serial, &user)
        && c != u
    {
        return Err(RestconfError::access_denied(format!(
            "the certificate's serial number {c:?} and the HTTP user {u:?} differ"
        )));
    }
    let Some(serial) = cert_serial.clone().or(user) else {
        return Err(RestconfError::access_denied(
            "no credentials: present a client certificate or HTTP Basic",
        ));
    };
    let device = lookup(&serial)?;
    match device.as_ref().and_then(|d| d.secret()) {
        Some(hash) => match &presented.basic {
            Some((_, password)) if verify(hash, password) => {}
            Some(_) => {
                return Err(RestconfError::access_denied(format!(
                    "wrong secret for device {serial:?}"
                )));
            }
            None => {
                return Err(RestconfError::access_denied(format!(
                    "device {serial:?} must also give its secret (HTTP Basic)"
                )));
            }
        },
        // Basic alone proves nothing without a secret to check.
        None if cert_serial.is_none() => {
            return Err(RestconfError::access_denied(format!(
                "device {serial:?} has no secret configured: it must present a client certificate"
            )));
        }
        None => {}
    }
    if device.is_none() && !accept_unlisted {
        return Err(RestconfError::access_denied(format!(
            "unknown device {serial:?}"
        )));
    }
    Ok((serial, device))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::{self, Role};
    use crate::secret::SecretHash;

    struct Dev(Option<SecretHash>);
    impl KnownDevice for Dev {
        fn secret(&self) -> Option<&SecretHash> {
            self.0.as_ref()
        }
    }

    #[test]
    fn serial_from_serial_number_attribute_or_the_configured_fallback() {
        let key = pki::new_key().unwrap();
        let der = |subject: &str| {
            der::Encode::to_der(&pki::issue(Role::Client, subject, &key, None, 1).unwrap()).unwrap()
        };
        let none = SerialFallbacks(Vec::new());
        let default = SerialFallbacks::default();
        let cn = SerialFallbacks(vec![SerialFallback::CommonName]);
        let last = SerialFallbacks(vec![SerialFallback::LastRdn]);
        // serialNumber first, whatever the fallbacks.
        let with = der("CN=dev,serialNumber=SN-9");
        for f in [&none, &default, &cn, &last] {
            assert_eq!(certificate_serial(&with, f).unwrap(), "SN-9");
        }
        // A Cisco SUDI: the SN: part of serialNumber, the chassis serial.
        let sudi = der("O=Cisco,CN=C9300-24T,serialNumber=PID:C9300-24T SN:FCW2123L0N3");
        assert_eq!(certificate_serial(&sudi, &default).unwrap(), "FCW2123L0N3");
        // Common name only: refused with "none", read by default.
        let cn_only = der("O=acme,CN=SN-7");
        assert!(certificate_serial(&cn_only, &none).is_err());
        assert_eq!(certificate_serial(&cn_only, &default).unwrap(), "SN-7");
        assert_eq!(certificate_serial(&cn_only, &cn).unwrap(), "SN-7");
        // The serial in the last RDN of the subject as encoded (the first in RFC 4514
        // string order), as sztpd reads it.
        let last_only = der("UID=SN-5,OU=switches,O=acme");
        assert!(certificate_serial(&last_only, &cn).is_err());
        assert_eq!(certificate_serial(&last_only, &default).unwrap(), "SN-5");
        assert_eq!(certificate_serial(&last_only, &last).unwrap(), "SN-5");
        assert!(certificate_serial(b"junk", &default).is_err());
    }

    #[test]
    fn certificate_and_basic_must_agree_and_secrets_are_checked() {
        let hash = SecretHash::new("s3cret", 1000).unwrap();
        let known = |secret: Option<SecretHash>| move |_: &str| Ok(Some(Dev(secret)));
        let cert = |s: &str| Some(Ok::<_, String>(s.to_string()));
        let basic = |u: &str, p: &str| Some((u.to_string(), p.to_string()));
        let req = ClientCertificate::Required;
        let opt = ClientCertificate::Optional;
        let ok = |p: &Presented, policy, secret: Option<SecretHash>| {
            authenticate(p, policy, false, known(secret), SecretHash::verify).map(|(s, _)| s)
        };
        // Certificate alone.
        let p = Presented {
            certificate: cert("SN1"),
            basic: None,
        };
        assert_eq!(ok(&p, req, None).unwrap(), "SN1");
        // Certificate and Basic naming the same device, secret checked.
        let p = Presented {
            certificate: cert("SN1"),
            basic: basic("SN1", "s3cret"),
        };
        assert_eq!(ok(&p, req, Some(hash.clone())).unwrap(), "SN1");
        // Mismatched Basic user.
        let p = Presented {
            certificate: cert("SN1"),
            basic: basic("SN2", "s3cret"),
        };
        assert_eq!(ok(&p, req, None).unwrap_err().status.as_u16(), 401);
        // Wrong secret; secret required but absent.
        let p = Presented {
            certificate: cert("SN1"),
            basic: basic("SN1", "nope"),
        };
        assert!(ok(&p, req, Some(hash.clone())).is_err());
        let p = Presented {
            certificate: cert("SN1"),
            basic: None,
        };
        assert!(ok(&p, req, Some(hash.clone())).is_err());
        // No certificate: refused when required; Basic alone works with a secret only.
        let p = Presented {
            certificate: None,
            basic: basic("SN1", "s3cret"),
        };
        assert!(ok(&p, req, Some(hash.clone())).is_err());
        assert_eq!(ok(&p, opt, Some(hash.clone())).unwrap(), "SN1");
        assert!(ok(&p, opt, None).is_err());
        // A certificate that failed validation.
        let p = Presented {
            certificate: Some(Err("unknown issuer".into())),
            basic: None,
        };
        assert!(
            ok(&p, req, None)
                .unwrap_err()
                .message
                .contains("unknown issuer")
        );
        // Unknown devices.
        let p = Presented {
            certificate: cert("SN1"),
            basic: None,
        };
        let none = |_: &str| Ok(None::<Dev>);
        assert!(authenticate(&p, req, false, none, SecretHash::verify).is_err());
        assert!(authenticate(&p, req, true, none, SecretHash::verify).is_ok());
        assert!(basic_credentials("Bearer x").is_err());
        assert_eq!(
            basic_credentials("Basic U04xOnB3").unwrap(),
            ("SN1".into(), "pw".into())
        );
    }
}
