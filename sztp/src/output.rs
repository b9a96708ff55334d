//! `get-bootstrapping-data` output (RFC 8572 §7.2): CMS artifacts in base64.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::{Encoding, SERVER_MODULE, SERVER_NS};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootstrapOutput {
    /// Sent only with onboarding information, and only when not the default `minimal`.
    pub reporting_level: Option<&'static str>,
    pub conveyed_information: Vec<u8>,
    /// The owner certificate and ownership voucher travel as a pair with signed data.
    pub owner_certificate: Option<Vec<u8>>,
    pub ownership_voucher: Option<Vec<u8>>,
}

impl BootstrapOutput {
    /// Reads a `get-bootstrapping-data` answer in `encoding` (what a device does).
    pub fn parse(body: &[u8], encoding: Encoding) -> Result<BootstrapOutput, String> {
        let text = std::str::from_utf8(body).map_err(|_| "the answer is not UTF-8")?;
        let output = match encoding {
            Encoding::Json => {
                let doc: serde_json::Value =
                    serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
                doc.get(format!("{SERVER_MODULE}:output"))
                    .cloned()
                    .ok_or_else(|| format!("no {SERVER_MODULE}:output"))?
            }
            Encoding::Xml => {
                let root = crate::xml::parse(text).map_err(|e| format!("not XML: {e}"))?;
                if root.name != "output" || root.namespace.as_deref() != Some(SERVER_NS) {
                    return Err(format!("<{}> is not the RPC's output", root.name));
                }
                root.to_json()
            }
        };
        let binary = |key: &str| -> Result<Option<Vec<u8>>, String> {
            match output.get(key) {
                None => Ok(None),
                Some(v) => v
                    .as_str()
                    .and_then(|b| BASE64.decode(b.split_whitespace().collect::<String>()).ok())
                    .map(Some)
                    .ok_or_else(|| format!("{key} is not base64")),
            }
        };
        let reporting_level = match output.get("reporting-level").and_then(|v| v.as_str()) {
            None => None,
            Some("minimal") => Some("minimal"),
            Some("verbose") => Some("verbose"),
            Some(other) => {
                return Err(format!(
                    "reporting-level {other:?} is not minimal or verbose"
                ));
            }
        };
        let parsed = BootstrapOutput {
            reporting_level,
            conveyed_information: binary("conveyed-information")?
                .ok_or("no conveyed-information")?,
            owner_certificate: binary("owner-certificate")?,
            ownership_voucher: binary("ownership-voucher")?,
        };
        if parsed.owner_certificate.is_some() != parsed.ownership_voucher.is_some() {
            return Err(
                "owner-certificate and ownership-voucher come together or not at all".into(),
            );
        }
        Ok(parsed)
    }

    fn leaves(&self) -> Vec<(&'static str, String)> {
        let mut leaves = Vec::with_capacity(4);
        if let Some(level) = self.reporting_level {
            leaves.push(("reporting-level", level.to_string()));
        }
        leaves.push((
            "conveyed-information",
            BASE64.encode(&self.conveyed_information),
        ));
        if let (Some(cert), Some(voucher)) = (&self.owner_certificate, &self.ownership_voucher) {
            leaves.push(("owner-certificate", BASE64.encode(cert)));
            leaves.push(("ownership-voucher", BASE64.encode(voucher)));
        }
        leaves
    }

    pub fn render(&self, encoding: Encoding) -> String {
        let leaves = self.leaves();
        match encoding {
            Encoding::Json => {
                let output: serde_json::Map<String, serde_json::Value> = leaves
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), serde_json::Value::String(v)))
                    .collect();
                serde_json::json!({ format!("{SERVER_MODULE}:output"): output }).to_string()
            }
            Encoding::Xml => {
                let mut s = format!("<output xmlns=\"{SERVER_NS}\">");
                for (k, v) in leaves {
                    s.push_str(&format!("<{k}>{v}</{k}>"));
                }
                s.push_str("</output>");
                s
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_carries_the_pair_only_together() {
        let mut out = BootstrapOutput {
            reporting_level: Some("verbose"),
            conveyed_information: vec![1, 2, 3],
            owner_certificate: Some(vec![4]),
            ownership_voucher: None,
        };
        let json: serde_json::Value = serde_json::from_str(&out.render(Encoding::Json)).unwrap();
        let o = &json["ietf-sztp-bootstrap-server:output"];
        assert_eq!(o["conveyed-information"], "AQID");
        assert_eq!(o["reporting-level"], "verbose");
        assert!(o.get("owner-certificate").is_none());
        out.ownership_voucher = Some(vec![5]);
        let xml = out.render(Encoding::Xml);
        assert!(xml.contains("<owner-certificate>BA==</owner-certificate><ownership-voucher>BQ==</ownership-voucher>"), "{xml}");
        for e in [Encoding::Json, Encoding::Xml] {
            assert_eq!(
                BootstrapOutput::parse(out.render(e).as_bytes(), e),
                Ok(out.clone())
            );
        }
        out.ownership_voucher = None;
        out.reporting_level = None;
        let alone = out.render(Encoding::Json);
        let read = BootstrapOutput::parse(alone.as_bytes(), Encoding::Json).unwrap();
        assert_eq!((read.owner_certificate, read.reporting_level), (None, None));
        let half = r#"{"ietf-sztp-bootstrap-server:output":{"conveyed-information":"AQ==","owner-certificate":"BA=="}}"#;
        assert!(BootstrapOutput::parse(half.as_bytes(), Encoding::Json).is_err());
        let none = r#"{"ietf-sztp-bootstrap-server:output":{}}"#;
        assert!(BootstrapOutput::parse(none.as_bytes(), Encoding::Json).is_err());
    }
}
