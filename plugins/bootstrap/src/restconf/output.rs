//! `get-bootstrapping-data` output (RFC 8572 §7.2): CMS artifacts in base64.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::{Encoding, SERVER_MODULE, SERVER_NS};

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
    }
}
