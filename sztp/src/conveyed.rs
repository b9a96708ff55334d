//! Conveyed information (RFC 8572 §6.1, module `ietf-sztp-conveyed-info`): redirect or
//! onboarding information, written as the JSON or XML document that goes inside CMS.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Map, Value, json};

use crate::Encoding;
use crate::xml::{self, escape};

const MODULE: &str = "ietf-sztp-conveyed-info";
const NS: &str = "urn:ietf:params:xml:ns:yang:ietf-sztp-conveyed-info";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootstrapServer {
    pub address: String,
    /// Absent means the default, 443.
    pub port: Option<u16>,
    /// A degenerate CMS SignedData holding one certificate chain.
    pub trust_anchor: Option<Vec<u8>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BootImage {
    pub os_name: Option<String>,
    pub os_version: Option<String>,
    pub download_uri: Vec<String>,
    pub sha256: Option<[u8; 32]>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Onboarding {
    pub boot_image: Option<BootImage>,
    /// `merge` or `replace`; present exactly when `configuration` is.
    pub configuration_handling: Option<&'static str>,
    pub pre_configuration_script: Option<Vec<u8>>,
    pub configuration: Option<Vec<u8>>,
    pub post_configuration_script: Option<Vec<u8>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Conveyed {
    Redirect(Vec<BootstrapServer>),
    Onboarding(Onboarding),
}

/// Why a conveyed-information document was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("conveyed information: {0}")]
pub struct ConveyedError(pub String);

fn refuse<T>(message: impl Into<String>) -> Result<T, ConveyedError> {
    Err(ConveyedError(message.into()))
}

/// A YANG list or leaf-list: an array, or (from XML) one entry.
fn entries(v: Option<&Value>) -> Vec<&Value> {
    match v {
        None => Vec::new(),
        Some(Value::Array(list)) => list.iter().collect(),
        Some(one) => vec![one],
    }
}

fn string<'a>(m: &'a Value, key: &str) -> Result<Option<&'a str>, ConveyedError> {
    match m.get(key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => refuse(format!("{key} is not a string")),
    }
}

fn binary(m: &Value, key: &str) -> Result<Option<Vec<u8>>, ConveyedError> {
    string(m, key)?
        .map(|b| {
            BASE64
                .decode(b.split_whitespace().collect::<String>())
                .map_err(|_| ConveyedError(format!("{key} is not base64")))
        })
        .transpose()
}

impl Conveyed {
    /// Reads a document in `encoding` (what a device does with conveyed information it
    /// verified). Members it does not know are left alone; those it knows must have
    /// their YANG types.
    pub fn parse(document: &[u8], encoding: Encoding) -> Result<Conveyed, ConveyedError> {
        let text = std::str::from_utf8(document)
            .map_err(|_| ConveyedError("the document is not UTF-8".into()))?;
        let (redirect, onboarding) = match encoding {
            Encoding::Json => {
                let doc: Value = serde_json::from_str(text)
                    .map_err(|e| ConveyedError(format!("not JSON: {e}")))?;
                (
                    doc.get(format!("{MODULE}:redirect-information")).cloned(),
                    doc.get(format!("{MODULE}:onboarding-information")).cloned(),
                )
            }
            Encoding::Xml => {
                let root = xml::parse(text).map_err(|e| ConveyedError(format!("not XML: {e}")))?;
                if root.namespace.as_deref() != Some(NS) {
                    return refuse(format!("<{}> is not in {NS}", root.name));
                }
                let v = Some(root.to_json()).filter(|_| !root.children.is_empty());
                match root.name.as_str() {
                    "redirect-information" => (v, None),
                    "onboarding-information" => (None, v.or(Some(Value::Object(Map::new())))),
                    other => return refuse(format!("<{other}> is not conveyed information")),
                }
            }
        };
        match (redirect, onboarding) {
            (Some(r), None) => Self::redirect(&r),
            (None, Some(o)) => Self::onboarding(&o),
            _ => refuse("expected redirect-information or onboarding-information, one of them"),
        }
    }

    fn redirect(r: &Value) -> Result<Conveyed, ConveyedError> {
        let mut servers = Vec::new();
        for s in entries(r.get("bootstrap-server")) {
            let address = string(s, "address")?
                .ok_or_else(|| ConveyedError("a bootstrap-server without its address".into()))?;
            let port = match s.get("port") {
                None => None,
                Some(p) => Some(
                    p.as_u64()
                        .or_else(|| p.as_str().and_then(|t| t.parse().ok()))
                        .and_then(|n| u16::try_from(n).ok())
                        .filter(|&n| n > 0)
                        .ok_or_else(|| ConveyedError(format!("port {p} is not 1 to 65535")))?,
                ),
            };
            servers.push(BootstrapServer {
                address: address.to_string(),
                port,
                trust_anchor: binary(s, "trust-anchor")?,
            });
        }
        if servers.is_empty() {
            return refuse("redirect-information names no bootstrap-server");
        }
        Ok(Conveyed::Redirect(servers))
    }

    fn onboarding(o: &Value) -> Result<Conveyed, ConveyedError> {
        let boot_image = match o.get("boot-image") {
            None => None,
            Some(b) => {
                let mut download_uri = Vec::new();
                for u in entries(b.get("download-uri")) {
                    match u.as_str() {
                        Some(u) => download_uri.push(u.to_string()),
                        None => return refuse("a download-uri is not a string"),
                    }
                }
                let verifications = entries(b.get("image-verification"));
                let mut sha256 = None;
                for v in &verifications {
                    let algorithm = string(v, "hash-algorithm")?.unwrap_or_default();
                    // An identity, with the module's prefix in JSON (XML binds one).
                    if algorithm.rsplit(':').next() == Some("sha-256") {
                        let value = string(v, "hash-value")?.unwrap_or_default();
                        let octets = zerotouch_proto::hex::decode(value)
                            .ok()
                            .and_then(|o| <[u8; 32]>::try_from(o).ok())
                            .ok_or_else(|| {
                                ConveyedError(format!("hash-value {value:?} is not a SHA-256"))
                            })?;
                        sha256 = Some(octets);
                    }
                }
                if !verifications.is_empty() && sha256.is_none() {
                    return refuse(
                        "image-verification names no hash this device computes (sha-256)",
                    );
                }
                Some(BootImage {
                    os_name: string(b, "os-name")?.map(str::to_string),
                    os_version: string(b, "os-version")?.map(str::to_string),
                    download_uri,
                    sha256,
                })
            }
        };
        let configuration = binary(o, "configuration")?;
        let configuration_handling = match string(o, "configuration-handling")? {
            None if configuration.is_some() => {
                return refuse("configuration without configuration-handling");
            }
            None => None,
            Some("merge") => Some("merge"),
            Some("replace") => Some("replace"),
            Some(other) => {
                return refuse(format!(
                    "configuration-handling {other:?} is not merge or replace"
                ));
            }
        };
        Ok(Conveyed::Onboarding(Onboarding {
            boot_image,
            configuration_handling,
            pre_configuration_script: binary(o, "pre-configuration-script")?,
            configuration,
            post_configuration_script: binary(o, "post-configuration-script")?,
        }))
    }
}

/// `aa:bb:…`, the YANG `hex-string` of a hash.
fn hex_string(bytes: &[u8]) -> String {
    zerotouch_proto::hex::colon(bytes)
}

impl Conveyed {
    pub fn is_onboarding(&self) -> bool {
        matches!(self, Conveyed::Onboarding(_))
    }

    /// The document in `encoding`.
    pub fn render(&self, encoding: Encoding) -> Vec<u8> {
        match encoding {
            Encoding::Json => self.json().to_string().into_bytes(),
            Encoding::Xml => self.xml().into_bytes(),
        }
    }

    fn json(&self) -> Value {
        match self {
            Conveyed::Redirect(servers) => {
                let list: Vec<Value> = servers
                    .iter()
                    .map(|s| {
                        let mut m = Map::new();
                        m.insert("address".into(), json!(s.address));
                        if let Some(port) = s.port {
                            m.insert("port".into(), json!(port));
                        }
                        if let Some(ta) = &s.trust_anchor {
                            m.insert("trust-anchor".into(), json!(BASE64.encode(ta)));
                        }
                        Value::Object(m)
                    })
                    .collect();
                json!({ format!("{MODULE}:redirect-information"): { "bootstrap-server": list } })
            }
            Conveyed::Onboarding(o) => {
                let mut m = Map::new();
                if let Some(image) = &o.boot_image {
                    let mut b = Map::new();
                    if let Some(v) = &image.os_name {
                        b.insert("os-name".into(), json!(v));
                    }
                    if let Some(v) = &image.os_version {
                        b.insert("os-version".into(), json!(v));
                    }
                    if !image.download_uri.is_empty() {
                        b.insert("download-uri".into(), json!(image.download_uri));
                    }
                    if let Some(h) = &image.sha256 {
                        b.insert(
                            "image-verification".into(),
                            json!([{ "hash-algorithm": format!("{MODULE}:sha-256"), "hash-value": hex_string(h) }]),
                        );
                    }
                    m.insert("boot-image".into(), Value::Object(b));
                }
                let binary = |m: &mut Map<String, Value>, k: &str, v: &Option<Vec<u8>>| {
                    if let Some(v) = v {
                        m.insert(k.into(), json!(BASE64.encode(v)));
                    }
                };
                binary(
                    &mut m,
                    "pre-configuration-script",
                    &o.pre_configuration_script,
                );
                if let Some(h) = o.configuration_handling {
                    m.insert("configuration-handling".into(), json!(h));
                }
                binary(&mut m, "configuration", &o.configuration);
                binary(
                    &mut m,
                    "post-configuration-script",
                    &o.post_configuration_script,
                );
                json!({ format!("{MODULE}:onboarding-information"): m })
            }
        }
    }

    fn xml(&self) -> String {
        let leaf =
            |s: &mut String, k: &str, v: &str| s.push_str(&format!("<{k}>{}</{k}>", escape(v)));
        match self {
            Conveyed::Redirect(servers) => {
                let mut s = format!("<redirect-information xmlns=\"{NS}\">");
                for server in servers {
                    s.push_str("<bootstrap-server>");
                    leaf(&mut s, "address", &server.address);
                    if let Some(port) = server.port {
                        leaf(&mut s, "port", &port.to_string());
                    }
                    if let Some(ta) = &server.trust_anchor {
                        leaf(&mut s, "trust-anchor", &BASE64.encode(ta));
                    }
                    s.push_str("</bootstrap-server>");
                }
                s.push_str("</redirect-information>");
                s
            }
            Conveyed::Onboarding(o) => {
                // The identity value needs a prefix bound to the module's namespace.
                let mut s =
                    format!("<onboarding-information xmlns=\"{NS}\" xmlns:{MODULE}=\"{NS}\">");
                if let Some(image) = &o.boot_image {
                    s.push_str("<boot-image>");
                    if let Some(v) = &image.os_name {
                        leaf(&mut s, "os-name", v);
                    }
                    if let Some(v) = &image.os_version {
                        leaf(&mut s, "os-version", v);
                    }
                    for uri in &image.download_uri {
                        leaf(&mut s, "download-uri", uri);
                    }
                    if let Some(h) = &image.sha256 {
                        s.push_str("<image-verification>");
                        leaf(&mut s, "hash-algorithm", &format!("{MODULE}:sha-256"));
                        leaf(&mut s, "hash-value", &hex_string(h));
                        s.push_str("</image-verification>");
                    }
                    s.push_str("</boot-image>");
                }
                let binary = |s: &mut String, k: &str, v: &Option<Vec<u8>>| {
                    if let Some(v) = v {
                        leaf(s, k, &BASE64.encode(v));
                    }
                };
                binary(
                    &mut s,
                    "pre-configuration-script",
                    &o.pre_configuration_script,
                );
                if let Some(h) = o.configuration_handling {
                    leaf(&mut s, "configuration-handling", h);
                }
                binary(&mut s, "configuration", &o.configuration);
                binary(
                    &mut s,
                    "post-configuration-script",
                    &o.post_configuration_script,
                );
                s.push_str("</onboarding-information>");
                s
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn onboarding() -> Conveyed {
        Conveyed::Onboarding(Onboarding {
            boot_image: Some(BootImage {
                os_name: Some("acme-os".into()),
                os_version: Some("2.1".into()),
                download_uri: vec!["https://198.18.0.1/a.img".into()],
                sha256: Some([0xab; 32]),
            }),
            configuration_handling: Some("merge"),
            configuration: Some(b"<config/>".to_vec()),
            pre_configuration_script: None,
            post_configuration_script: Some(b"#!/bin/sh\n".to_vec()),
        })
    }

    #[test]
    fn what_is_rendered_parses_back_in_both_encodings() {
        let redirect = Conveyed::Redirect(vec![
            BootstrapServer {
                address: "bs.example.net".into(),
                port: Some(8443),
                trust_anchor: Some(vec![1, 2, 3]),
            },
            BootstrapServer {
                address: "198.18.0.1".into(),
                port: None,
                trust_anchor: None,
            },
        ]);
        let bare = Conveyed::Onboarding(Onboarding::default());
        for c in [onboarding(), redirect, bare] {
            for e in [Encoding::Json, Encoding::Xml] {
                assert_eq!(Conveyed::parse(&c.render(e), e), Ok(c.clone()), "{e:?}");
            }
        }
    }

    #[test]
    fn documents_with_wrong_types_or_missing_parts_are_refused() {
        let json = |s: &str| Conveyed::parse(s.as_bytes(), Encoding::Json);
        let bad = [
            r#"{}"#,
            r#"{"ietf-sztp-conveyed-info:redirect-information":{"bootstrap-server":[]}}"#,
            r#"{"ietf-sztp-conveyed-info:redirect-information":{"bootstrap-server":[{"port":1}]}}"#,
            r#"{"ietf-sztp-conveyed-info:redirect-information":{"bootstrap-server":[{"address":"a","port":70000}]}}"#,
            r#"{"ietf-sztp-conveyed-info:onboarding-information":{"configuration":"PGEvPg=="}}"#,
            r#"{"ietf-sztp-conveyed-info:onboarding-information":{"configuration-handling":"append","configuration":"PGEvPg=="}}"#,
            r#"{"ietf-sztp-conveyed-info:onboarding-information":{"configuration-handling":"merge","configuration":"not base64!"}}"#,
            r#"{"ietf-sztp-conveyed-info:onboarding-information":{"boot-image":{"image-verification":[{"hash-algorithm":"ietf-sztp-conveyed-info:sha-512","hash-value":"00"}]}}}"#,
            r#"{"ietf-sztp-conveyed-info:onboarding-information":{"boot-image":{"image-verification":[{"hash-algorithm":"ietf-sztp-conveyed-info:sha-256","hash-value":"ab:cd"}]}}}"#,
            "not json",
        ];
        for doc in bad {
            assert!(json(doc).is_err(), "{doc}");
        }
        let xml = |s: &str| Conveyed::parse(s.as_bytes(), Encoding::Xml);
        assert!(xml("<onboarding-information/>").is_err(), "no namespace");
        assert!(xml(&format!("<other xmlns=\"{NS}\"/>")).is_err());
    }

    #[test]
    fn onboarding_in_json_follows_rfc_7951() {
        let doc: Value = serde_json::from_slice(&onboarding().render(Encoding::Json)).unwrap();
        let o = &doc["ietf-sztp-conveyed-info:onboarding-information"];
        assert_eq!(
            o["boot-image"]["download-uri"][0],
            "https://198.18.0.1/a.img"
        );
        let v = &o["boot-image"]["image-verification"][0];
        assert_eq!(v["hash-algorithm"], "ietf-sztp-conveyed-info:sha-256");
        assert!(v["hash-value"].as_str().unwrap().starts_with("ab:ab:"));
        assert_eq!(o["configuration"], BASE64.encode("<config/>"));
        assert_eq!(o["configuration-handling"], "merge");
        assert!(o.get("pre-configuration-script").is_none());
    }

    #[test]
    fn onboarding_and_redirect_in_xml_parse_back() {
        let doc = String::from_utf8(onboarding().render(Encoding::Xml)).unwrap();
        let root = xml::parse(&doc).unwrap();
        assert_eq!(root.namespace.as_deref(), Some(NS));
        assert_eq!(root.children[0].name, "boot-image");
        let redirect = Conveyed::Redirect(vec![BootstrapServer {
            address: "bs.example.net".into(),
            port: Some(8443),
            trust_anchor: Some(vec![1]),
        }]);
        let root =
            xml::parse(std::str::from_utf8(&redirect.render(Encoding::Xml)).unwrap()).unwrap();
        let server = &root.children[0];
        assert_eq!(server.children[1].value(), "8443");
        assert_eq!(server.children[2].value(), "AQ==");
        let json: Value = serde_json::from_slice(&redirect.render(Encoding::Json)).unwrap();
        assert_eq!(
            json["ietf-sztp-conveyed-info:redirect-information"]["bootstrap-server"][0]["port"],
            8443
        );
    }
}
