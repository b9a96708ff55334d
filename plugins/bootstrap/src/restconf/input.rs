//! The two RPCs' input (RFC 8572 §7.2), read from JSON (RFC 7951) or XML into one tree
//! and then into typed values. Unknown elements and wrong types are refused with the
//! name of the element; what devices are known to send sloppily (an empty `nonce`,
//! empty `ssh-host-keys` containers, `signed-data-preferred` as `true`) is accepted.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

use zerotouch_sztp::csr::CsrSupport;

use super::xml::{self, Element};
use super::{Encoding, RestconfError, SERVER_MODULE, SERVER_NS};

/// A value in the input tree. JSON arrays become repeated members, as XML repeats
/// elements.
#[derive(Debug, Clone, PartialEq)]
enum Node {
    Text(String),
    /// A JSON `[null]`/`null` or an XML element without content.
    Empty,
    Container(Vec<(String, Node)>),
    /// A JSON number or boolean: kept to name it in an error.
    Scalar(String),
}

impl Node {
    fn from_json(value: &serde_json::Value, out: &mut Vec<(String, Node)>, name: &str) {
        use serde_json::Value;
        match value {
            Value::Array(items) => {
                for item in items {
                    Node::from_json(item, out, name);
                }
            }
            Value::Object(members) => {
                let mut children = Vec::new();
                for (k, v) in members {
                    Node::from_json(v, &mut children, unprefixed(k));
                }
                out.push((name.to_string(), Node::Container(children)));
            }
            Value::String(s) => out.push((name.to_string(), Node::Text(s.clone()))),
            Value::Null => out.push((name.to_string(), Node::Empty)),
            Value::Bool(b) => out.push((name.to_string(), Node::Scalar(b.to_string()))),
            Value::Number(n) => out.push((name.to_string(), Node::Scalar(n.to_string()))),
        }
    }

    fn from_xml(el: &Element) -> Node {
        if el.children.is_empty() {
            if el.value().is_empty() {
                Node::Empty
            } else {
                Node::Text(el.value().to_string())
            }
        } else {
            Node::Container(
                el.children
                    .iter()
                    .map(|c| (c.name.clone(), Node::from_xml(c)))
                    .collect(),
            )
        }
    }
}

fn unprefixed(name: &str) -> &str {
    name.rsplit_once(':').map_or(name, |(_, local)| local)
}

/// The members of the RPC's `input`, from a body in `encoding`. An empty body is an
/// empty input.
fn input_members(body: &[u8], encoding: Encoding) -> Result<Vec<(String, Node)>, RestconfError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Vec::new());
    }
    let text =
        std::str::from_utf8(body).map_err(|_| RestconfError::malformed("the body is not UTF-8"))?;
    match encoding {
        Encoding::Json => {
            let value: serde_json::Value = serde_json::from_str(text)
                .map_err(|e| RestconfError::malformed(format!("the body is not JSON: {e}")))?;
            let serde_json::Value::Object(top) = value else {
                return Err(RestconfError::malformed("the body is not a JSON object"));
            };
            let mut members = top.into_iter();
            match (members.next(), members.next()) {
                (None, _) => Ok(Vec::new()),
                (Some((name, input)), None)
                    if name == format!("{SERVER_MODULE}:input") || name == "input" =>
                {
                    let mut out = Vec::new();
                    Node::from_json(&input, &mut out, "input");
                    match out.pop() {
                        Some((_, Node::Container(c))) => Ok(c),
                        Some((_, Node::Empty)) | None => Ok(Vec::new()),
                        Some(_) => Err(RestconfError::invalid_value("input: expected an object")),
                    }
                }
                _ => Err(RestconfError::malformed(format!(
                    "expected one member \"{SERVER_MODULE}:input\""
                ))),
            }
        }
        Encoding::Xml => {
            let root = xml::parse(text)
                .map_err(|e| RestconfError::malformed(format!("the body is not XML: {e}")))?;
            if root.name != "input" {
                return Err(RestconfError::malformed(format!(
                    "the root element is <{}>, expected <input xmlns=\"{SERVER_NS}\">",
                    root.name
                )));
            }
            if let Some(ns) = &root.namespace
                && ns != SERVER_NS
            {
                return Err(RestconfError::malformed(format!(
                    "<input> is in namespace {ns:?}, expected {SERVER_NS}"
                )));
            }
            match Node::from_xml(&root) {
                Node::Container(c) => Ok(c),
                _ => Ok(Vec::new()),
            }
        }
    }
}

fn text(name: &str, node: Node) -> Result<String, RestconfError> {
    match node {
        Node::Text(s) => Ok(s),
        Node::Empty => Ok(String::new()),
        Node::Scalar(s) => Err(RestconfError::invalid_value(format!(
            "{name}: expected a string, got {s}"
        ))),
        Node::Container(_) => Err(RestconfError::invalid_value(format!(
            "{name}: expected a string, got a container"
        ))),
    }
}

fn decode_base64(name: &str, text: &str) -> Result<Vec<u8>, RestconfError> {
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    BASE64
        .decode(compact)
        .map_err(|_| RestconfError::invalid_value(format!("{name}: not base64")))
}

fn binary(name: &str, node: Node) -> Result<Vec<u8>, RestconfError> {
    decode_base64(name, &text(name, node)?)
}

/// A binary leaf kept as the base64 text received, once it is known to decode.
fn base64_text(name: &str, node: Node) -> Result<String, RestconfError> {
    let s = text(name, node)?;
    decode_base64(name, &s)?;
    Ok(s)
}

fn once(seen: &mut Vec<String>, name: &str) -> Result<(), RestconfError> {
    if seen.iter().any(|s| s == name) {
        return Err(RestconfError::invalid_value(format!("{name}: given twice")));
    }
    seen.push(name.to_string());
    Ok(())
}

/// `get-bootstrapping-data` input.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BootstrapInput {
    pub signed_data_preferred: bool,
    pub hw_model: Option<String>,
    pub os_name: Option<String>,
    pub os_version: Option<String>,
    /// 16 to 32 octets; an empty nonce counts as none.
    pub nonce: Option<Vec<u8>>,
    /// What the device says of certificate requests (RFC 9646).
    pub csr: Option<CsrInput>,
}

/// The RFC 9646 node of a `get-bootstrapping-data` input: one at most.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CsrInput {
    /// `csr-support`: the device can send a certificate request.
    Support(CsrSupport),
    /// `p10-csr`: a PKCS#10 request (DER).
    P10(Vec<u8>),
    /// `cmc-csr` or `cmp-csr`, by name: formats this server does not take.
    Unsupported(&'static str),
}

/// The leaves named `leaf` of the containers along `path` below `node`.
fn leaves(node: Node, path: &[&str], leaf: &str) -> Result<Vec<String>, RestconfError> {
    let mut out = Vec::new();
    for (name, child) in members(leaf, node)? {
        match path.split_first() {
            Some((first, rest)) if name == *first => out.extend(leaves(child, rest, leaf)?),
            None if name == leaf => out.push(text(leaf, child)?),
            _ => {
                return Err(RestconfError::unknown_element(format!(
                    "csr-support has no member {name:?} here"
                )));
            }
        }
    }
    Ok(out)
}

fn csr_support(node: Node) -> Result<CsrSupport, RestconfError> {
    let mut support = CsrSupport::default();
    for (name, child) in members("csr-support", node)? {
        match name.as_str() {
            "key-generation" => {
                let algorithms = leaves(child, &["supported-algorithms"], "algorithm-identifier")?
                    .iter()
                    .map(|a| decode_base64("algorithm-identifier", a))
                    .collect::<Result<Vec<_>, _>>()?;
                support.key_generation = Some(algorithms);
            }
            "csr-generation" => {
                support.formats = leaves(child, &["supported-formats"], "format-identifier")?;
            }
            other => {
                return Err(RestconfError::unknown_element(format!(
                    "csr-support has no member {other:?}"
                )));
            }
        }
    }
    if support.formats.is_empty() {
        return Err(RestconfError::missing_element(
            "csr-support: csr-generation/supported-formats/format-identifier is missing",
        ));
    }
    Ok(support)
}

impl BootstrapInput {
    pub fn parse(body: &[u8], encoding: Encoding) -> Result<Self, RestconfError> {
        let mut input = BootstrapInput::default();
        let mut seen = Vec::new();
        for (name, node) in input_members(body, encoding)? {
            once(&mut seen, &name)?;
            match name.as_str() {
                "signed-data-preferred" => {
                    input.signed_data_preferred = match node {
                        Node::Empty => true,
                        Node::Scalar(s) if s == "true" => true,
                        Node::Scalar(s) if s == "false" => false,
                        _ => {
                            return Err(RestconfError::invalid_value(
                                "signed-data-preferred: expected [null]",
                            ));
                        }
                    }
                }
                "hw-model" => input.hw_model = Some(text(&name, node)?),
                "os-name" => input.os_name = Some(text(&name, node)?),
                "os-version" => input.os_version = Some(text(&name, node)?),
                "nonce" => {
                    let nonce = binary(&name, node)?;
                    if !nonce.is_empty() {
                        if !(16..=32).contains(&nonce.len()) {
                            return Err(RestconfError::invalid_value(format!(
                                "nonce: {} octets, expected 16 to 32",
                                nonce.len()
                            )));
                        }
                        input.nonce = Some(nonce);
                    }
                }
                // RFC 9646: one of these at most (a YANG choice).
                "csr-support" | "p10-csr" | "cmc-csr" | "cmp-csr" => {
                    if input.csr.is_some() {
                        return Err(RestconfError::invalid_value(format!(
                            "{name}: csr-support, p10-csr, cmc-csr and cmp-csr exclude each other"
                        )));
                    }
                    input.csr = Some(match name.as_str() {
                        "csr-support" => CsrInput::Support(csr_support(node)?),
                        "p10-csr" => CsrInput::P10(binary(&name, node)?),
                        "cmc-csr" => CsrInput::Unsupported("cmc-csr"),
                        _ => CsrInput::Unsupported("cmp-csr"),
                    });
                }
                other => {
                    return Err(RestconfError::unknown_element(format!(
                        "get-bootstrapping-data has no input {other:?}"
                    )));
                }
            }
        }
        Ok(input)
    }
}

/// The `progress-type` values of RFC 8572 §7.3, in module order.
pub const PROGRESS_TYPES: [&str; 27] = [
    "bootstrap-initiated",
    "parsing-initiated",
    "parsing-warning",
    "parsing-error",
    "parsing-complete",
    "boot-image-initiated",
    "boot-image-warning",
    "boot-image-error",
    "boot-image-mismatch",
    "boot-image-installed-rebooting",
    "boot-image-complete",
    "pre-script-initiated",
    "pre-script-warning",
    "pre-script-error",
    "pre-script-complete",
    "config-initiated",
    "config-warning",
    "config-error",
    "config-complete",
    "post-script-initiated",
    "post-script-warning",
    "post-script-error",
    "post-script-complete",
    "bootstrap-warning",
    "bootstrap-error",
    "bootstrap-complete",
    "informational",
];

/// An SSH host key a device reports with `bootstrap-complete`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshHostKey {
    pub algorithm: String,
    /// RFC 4253 §6.6 key blob, in base64 as received.
    pub key_data: String,
}

/// `report-progress` input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgressInput {
    pub progress_type: &'static str,
    pub message: Option<String>,
    pub ssh_host_keys: Vec<SshHostKey>,
    /// CMS trust-anchor certificates, in base64 as received.
    pub trust_anchor_certs: Vec<String>,
}

fn members(name: &str, node: Node) -> Result<Vec<(String, Node)>, RestconfError> {
    match node {
        Node::Container(c) => Ok(c),
        Node::Empty => Ok(Vec::new()),
        _ => Err(RestconfError::invalid_value(format!(
            "{name}: expected a container"
        ))),
    }
}

fn ssh_host_key(node: Node) -> Result<SshHostKey, RestconfError> {
    let (mut algorithm, mut key_data) = (None, None);
    for (name, value) in members("ssh-host-key", node)? {
        match name.as_str() {
            "algorithm" => algorithm = Some(text("ssh-host-key/algorithm", value)?),
            "key-data" => key_data = Some(base64_text("ssh-host-key/key-data", value)?),
            other => {
                return Err(RestconfError::unknown_element(format!(
                    "ssh-host-key has no member {other:?}"
                )));
            }
        }
    }
    match (algorithm, key_data) {
        (Some(algorithm), Some(key_data)) => Ok(SshHostKey {
            algorithm,
            key_data,
        }),
        _ => Err(RestconfError::missing_element(
            "ssh-host-key needs algorithm and key-data",
        )),
    }
}

impl ProgressInput {
    pub fn parse(body: &[u8], encoding: Encoding) -> Result<Self, RestconfError> {
        let mut progress_type = None;
        let mut message = None;
        let mut ssh_host_keys = Vec::new();
        let mut trust_anchor_certs = Vec::new();
        let mut seen = Vec::new();
        for (name, node) in input_members(body, encoding)? {
            once(&mut seen, &name)?;
            match name.as_str() {
                "progress-type" => {
                    let value = text(&name, node)?;
                    let value = unprefixed(&value);
                    progress_type = Some(
                        PROGRESS_TYPES
                            .iter()
                            .copied()
                            .find(|t| *t == value)
                            .ok_or_else(|| {
                                RestconfError::invalid_value(format!(
                                    "progress-type {value:?} is not one of RFC 8572's values"
                                ))
                            })?,
                    );
                }
                "message" => message = Some(text(&name, node)?),
                "ssh-host-keys" => {
                    for (n, key) in members(&name, node)? {
                        if n != "ssh-host-key" {
                            return Err(RestconfError::unknown_element(format!(
                                "ssh-host-keys has no member {n:?}"
                            )));
                        }
                        ssh_host_keys.push(ssh_host_key(key)?);
                    }
                }
                "trust-anchor-certs" => {
                    for (n, cert) in members(&name, node)? {
                        if n != "trust-anchor-cert" {
                            return Err(RestconfError::unknown_element(format!(
                                "trust-anchor-certs has no member {n:?}"
                            )));
                        }
                        trust_anchor_certs.push(base64_text("trust-anchor-cert", cert)?);
                    }
                }
                other => {
                    return Err(RestconfError::unknown_element(format!(
                        "report-progress has no input {other:?}"
                    )));
                }
            }
        }
        let progress_type = progress_type
            .ok_or_else(|| RestconfError::missing_element("report-progress needs progress-type"))?;
        Ok(ProgressInput {
            progress_type,
            message,
            ssh_host_keys,
            trust_anchor_certs,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bootstrap_input_in_json_as_devices_send_it() {
        let body = br#"{"ietf-sztp-bootstrap-server:input":{"hw-model":"model-x","os-name":"vendor-os","os-version":"17.3","signed-data-preferred":[null],"nonce":"AAECAwQFBgcICQoLDA0ODw=="}}"#;
        let input = BootstrapInput::parse(body, Encoding::Json).unwrap();
        assert!(input.signed_data_preferred);
        assert_eq!(input.hw_model.as_deref(), Some("model-x"));
        assert_eq!(input.os_version.as_deref(), Some("17.3"));
        assert_eq!(input.nonce.as_deref().map(<[u8]>::len), Some(16));
        // The OPI agent's empty nonce, and an empty body.
        let opi = br#"{"ietf-sztp-bootstrap-server:input":{"hw-model":"m","nonce":""}}"#;
        assert_eq!(
            BootstrapInput::parse(opi, Encoding::Json).unwrap().nonce,
            None
        );
        assert_eq!(
            BootstrapInput::parse(b"", Encoding::Json).unwrap(),
            BootstrapInput::default()
        );
    }

    #[test]
    fn bootstrap_input_in_xml() {
        let body = format!(
            "<input xmlns=\"{SERVER_NS}\"><signed-data-preferred/><hw-model>m&amp;1</hw-model></input>"
        );
        let input = BootstrapInput::parse(body.as_bytes(), Encoding::Xml).unwrap();
        assert!(input.signed_data_preferred);
        assert_eq!(input.hw_model.as_deref(), Some("m&1"));
    }

    #[test]
    fn rfc_9646_nodes_in_json_and_xml_one_at_most() {
        let support = zerotouch_sztp::csr::CsrSupport::p256_p10();
        let body = serde_json::json!({"ietf-sztp-bootstrap-server:input": {
            "hw-model": "m", "ietf-sztp-csr:csr-support": support.to_json()}});
        let input = BootstrapInput::parse(body.to_string().as_bytes(), Encoding::Json).unwrap();
        assert_eq!(input.csr, Some(CsrInput::Support(support.clone())));
        // The RFC's XML shape: leaf-lists repeated, the identity prefixed.
        let xml = format!(
            "<input xmlns=\"{SERVER_NS}\"><csr-support xmlns=\"urn:ietf:params:xml:ns:yang:ietf-sztp-csr\"><key-generation><supported-algorithms><algorithm-identifier>BBBB</algorithm-identifier><algorithm-identifier>CCCC</algorithm-identifier></supported-algorithms></key-generation><csr-generation><supported-formats><format-identifier xmlns:zt=\"urn:ietf:params:xml:ns:yang:ietf-ztp-types\">zt:p10-csr</format-identifier></supported-formats></csr-generation></csr-support></input>"
        );
        let Some(CsrInput::Support(s)) = BootstrapInput::parse(xml.as_bytes(), Encoding::Xml)
            .unwrap()
            .csr
        else {
            panic!("no csr-support")
        };
        assert_eq!(s.key_generation.map(|k| k.len()), Some(2));
        assert_eq!(s.formats, ["zt:p10-csr"]);
        let p10 = br#"{"input":{"ietf-sztp-csr:p10-csr":"MAMCAQA="}}"#;
        assert_eq!(
            BootstrapInput::parse(p10, Encoding::Json).unwrap().csr,
            Some(CsrInput::P10(vec![0x30, 3, 2, 1, 0]))
        );
        let cmp = br#"{"input":{"ietf-sztp-csr:cmp-csr":"MAMCAQA="}}"#;
        assert_eq!(
            BootstrapInput::parse(cmp, Encoding::Json).unwrap().csr,
            Some(CsrInput::Unsupported("cmp-csr"))
        );
        let both = br#"{"input":{"ietf-sztp-csr:p10-csr":"MAMCAQA=","ietf-sztp-csr:csr-support":{"csr-generation":{"supported-formats":{"format-identifier":["ietf-ztp-types:p10-csr"]}}}}}"#;
        let e = BootstrapInput::parse(both, Encoding::Json).unwrap_err();
        assert!(e.message.contains("exclude each other"), "{}", e.message);
        let no_format = br#"{"input":{"ietf-sztp-csr:csr-support":{"key-generation":{}}}}"#;
        let e = BootstrapInput::parse(no_format, Encoding::Json).unwrap_err();
        assert!(e.message.contains("supported-formats"), "{}", e.message);
    }

    #[test]
    fn bad_input_is_refused_with_the_element_named() {
        let cases: [(&[u8], Encoding, u16, &str); 7] = [
            (b"{", Encoding::Json, 400, "not JSON"),
            (
                br#"{"x:input":{}}"#,
                Encoding::Json,
                400,
                "expected one member",
            ),
            (
                br#"{"input":{"hw-model":7}}"#,
                Encoding::Json,
                400,
                "hw-model",
            ),
            (
                br#"{"input":{"colour":"red"}}"#,
                Encoding::Json,
                400,
                "colour",
            ),
            (
                br#"{"input":{"nonce":"AAEC"}}"#,
                Encoding::Json,
                400,
                "3 octets",
            ),
            (b"<input><hw-model>", Encoding::Xml, 400, "not XML"),
            (b"<output/>", Encoding::Xml, 400, "root element"),
        ];
        for (body, enc, status, needle) in cases {
            let e = BootstrapInput::parse(body, enc).unwrap_err();
            assert_eq!(e.status.as_u16(), status);
            assert!(e.message.contains(needle), "{}: {}", needle, e.message);
        }
    }

    #[test]
    fn progress_reports_with_host_keys_and_the_opi_agents_empty_containers() {
        let body = br#"{"ietf-sztp-bootstrap-server:input":{"progress-type":"bootstrap-complete","message":"done","ssh-host-keys":{"ssh-host-key":[{"algorithm":"ssh-ed25519","key-data":"AAAAC3NzaC1lZDI1NTE5"}]},"trust-anchor-certs":{"trust-anchor-cert":["bXlzc2hwYXNz"]}}}"#;
        let p = ProgressInput::parse(body, Encoding::Json).unwrap();
        assert_eq!(p.progress_type, "bootstrap-complete");
        assert_eq!(p.ssh_host_keys[0].algorithm, "ssh-ed25519");
        assert_eq!(p.trust_anchor_certs.len(), 1);
        let opi = br#"{"ietf-sztp-bootstrap-server:input":{"progress-type":"boot-image-initiated","message":"BootImage Initiated","ssh-host-keys":{},"trust-anchor-certs":{}}}"#;
        let p = ProgressInput::parse(opi, Encoding::Json).unwrap();
        assert!(p.ssh_host_keys.is_empty());
        let xml = format!(
            "<input xmlns=\"{SERVER_NS}\"><progress-type>bootstrap-error</progress-type><message>x</message></input>"
        );
        let p = ProgressInput::parse(xml.as_bytes(), Encoding::Xml).unwrap();
        assert_eq!(p.progress_type, "bootstrap-error");
        for bad in [
            &br#"{"input":{"message":"no type"}}"#[..],
            br#"{"input":{"progress-type":"rebooted"}}"#,
            br#"{"input":{"progress-type":"informational","ssh-host-keys":{"ssh-host-key":[{"algorithm":"x"}]}}}"#,
        ] {
            assert_eq!(
                ProgressInput::parse(bad, Encoding::Json).unwrap_err().status.as_u16(),
                400
            );
        }
    }
}
