//! X.501 names as SZTP reads them: a device's serial number lives in its certificate's
//! subject (`serialNumber`, else a fallback such as the common name).

use der::asn1::SetOfVec;
use der::asn1::{Ia5StringRef, PrintableStringRef, TeletexStringRef, Utf8StringRef};
use der::oid::ObjectIdentifier;
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};

/// `serialNumber` (X.520).
pub const SERIAL_NUMBER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.5");
/// `commonName` (X.520).
pub const COMMON_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");

/// An attribute's value as text, in any of the string types certificates use.
pub fn attribute_text(value: &der::Any) -> Option<String> {
    value
        .decode_as::<Utf8StringRef<'_>>()
        .map(|s| s.to_string())
        .or_else(|_| {
            value
                .decode_as::<PrintableStringRef<'_>>()
                .map(|s| s.to_string())
        })
        .or_else(|_| value.decode_as::<Ia5StringRef<'_>>().map(|s| s.to_string()))
        .or_else(|_| {
            value
                .decode_as::<TeletexStringRef<'_>>()
                .map(|s| s.to_string())
        })
        .ok()
}

/// Every value of attribute `oid` in `name`, as text (a value in no string type as
/// `None`).
pub fn values(name: &Name, oid: ObjectIdentifier) -> Vec<Option<String>> {
    name.0
        .iter()
        .flat_map(|rdn| rdn.0.iter())
        .filter(|atv| atv.oid == oid)
        .map(|atv| attribute_text(&atv.value))
        .collect()
}

/// `CN=<serial>,serialNumber=<serial>`: the subject of a device certificate. Values
/// are PrintableStrings where the serial allows, UTF8Strings otherwise.
pub fn device_subject(serial: &str) -> Result<Name, der::Error> {
    let value = match PrintableStringRef::new(serial) {
        Ok(p) => der::Any::encode_from(&p)?,
        Err(_) => der::Any::encode_from(&Utf8StringRef::new(serial)?)?,
    };
    let rdn = |oid| -> Result<RelativeDistinguishedName, der::Error> {
        let atv = AttributeTypeAndValue {
            oid,
            value: value.clone(),
        };
        Ok(RelativeDistinguishedName(SetOfVec::try_from(vec![atv])?))
    };
    Ok(RdnSequence(vec![rdn(COMMON_NAME)?, rdn(SERIAL_NUMBER)?]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_device_subject_names_its_serial_even_with_special_characters() {
        for serial in ["SN-1", "a,b+c=d", " #lead", "x\\y"] {
            let name = device_subject(serial).unwrap();
            assert_eq!(
                values(&name, SERIAL_NUMBER),
                vec![Some(serial.to_string())],
                "{serial}"
            );
            assert_eq!(values(&name, COMMON_NAME), vec![Some(serial.to_string())]);
        }
    }
}
