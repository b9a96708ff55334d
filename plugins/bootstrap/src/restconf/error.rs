//! RESTCONF errors (RFC 8040 §7.1): an `error-tag` chooses the HTTP status, and the body
//! is `ietf-restconf:errors` in the encoding the client reads.

use hyper::StatusCode;

use super::Encoding;
use super::xml::escape;

/// RFC 8040 `error-tag` values this server uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorTag {
    AccessDenied,
    MalformedMessage,
    InvalidValue,
    UnknownElement,
    MissingElement,
    MissingAttribute,
    TooBig,
    DataMissing,
    OperationNotSupported,
    OperationFailed,
    ResourceDenied,
}

impl ErrorTag {
    pub fn name(self) -> &'static str {
        match self {
            ErrorTag::AccessDenied => "access-denied",
            ErrorTag::MalformedMessage => "malformed-message",
            ErrorTag::InvalidValue => "invalid-value",
            ErrorTag::UnknownElement => "unknown-element",
            ErrorTag::MissingElement => "missing-element",
            ErrorTag::MissingAttribute => "missing-attribute",
            ErrorTag::TooBig => "too-big",
            ErrorTag::DataMissing => "data-missing",
            ErrorTag::OperationNotSupported => "operation-not-supported",
            ErrorTag::OperationFailed => "operation-failed",
            ErrorTag::ResourceDenied => "resource-denied",
        }
    }

    /// `error-type`: where in the stack the error arose.
    fn error_type(self) -> &'static str {
        match self {
            ErrorTag::AccessDenied | ErrorTag::MalformedMessage | ErrorTag::TooBig => "protocol",
            _ => "application",
        }
    }
}

/// An error answered to the device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestconfError {
    pub status: StatusCode,
    pub tag: ErrorTag,
    pub message: String,
    /// `error-info`: what the error carries besides its message.
    pub info: Option<ErrorInfo>,
}

/// An `error-info` in both encodings: the JSON member(s) and the XML element(s).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorInfo {
    pub json: serde_json::Value,
    pub xml: String,
}

impl RestconfError {
    fn new(status: StatusCode, tag: ErrorTag, message: impl Into<String>) -> Self {
        RestconfError {
            status,
            tag,
            message: message.into(),
            info: None,
        }
    }

    /// 400 `missing-attribute` with `info`: RFC 9646's request for a CSR.
    pub fn missing_attribute(message: impl Into<String>, info: ErrorInfo) -> Self {
        RestconfError {
            info: Some(info),
            ..Self::new(StatusCode::BAD_REQUEST, ErrorTag::MissingAttribute, message)
        }
    }

    pub fn access_denied(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, ErrorTag::AccessDenied, message)
    }
    pub fn malformed(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, ErrorTag::MalformedMessage, message)
    }
    pub fn invalid_value(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, ErrorTag::InvalidValue, message)
    }
    pub fn unknown_element(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, ErrorTag::UnknownElement, message)
    }
    pub fn missing_element(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, ErrorTag::MissingElement, message)
    }
    pub fn too_big(message: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, ErrorTag::TooBig, message)
    }
    pub fn data_missing(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, ErrorTag::DataMissing, message)
    }
    /// An unknown RPC or resource.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, ErrorTag::InvalidValue, message)
    }
    pub fn method_not_allowed(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            ErrorTag::OperationNotSupported,
            message,
        )
    }
    pub fn not_acceptable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_ACCEPTABLE, ErrorTag::InvalidValue, message)
    }
    pub fn unsupported_media(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorTag::InvalidValue,
            message,
        )
    }
    /// 429: this source failed to authenticate too often; `wait` until it may try again.
    pub fn too_many_failures(wait: std::time::Duration) -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorTag::ResourceDenied,
            format!(
                "too many failed authentications from this address: try again in {} s",
                wait.as_secs().max(1)
            ),
        )
    }
    pub fn failed(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorTag::OperationFailed,
            message,
        )
    }

    /// The `ietf-restconf:errors` document.
    pub fn body(&self, encoding: Encoding) -> String {
        match encoding {
            Encoding::Json => {
                let mut error = serde_json::json!({
                    "error-type": self.tag.error_type(),
                    "error-tag": self.tag.name(),
                    "error-message": self.message,
                });
                if let Some(info) = &self.info {
                    error["error-info"] = info.json.clone();
                }
                serde_json::json!({ "ietf-restconf:errors": { "error": [error] } }).to_string()
            }
            Encoding::Xml => format!(
                "<errors xmlns=\"urn:ietf:params:xml:ns:yang:ietf-restconf\"><error><error-type>{}</error-type><error-tag>{}</error-tag><error-message>{}</error-message>{}</error></errors>",
                self.tag.error_type(),
                self.tag.name(),
                escape(&self.message),
                self.info
                    .as_ref()
                    .map(|i| format!("<error-info>{}</error-info>", i.xml))
                    .unwrap_or_default()
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_render_in_both_encodings_with_their_status() {
        let e = RestconfError::access_denied("unknown device <x>");
        assert_eq!(e.status, StatusCode::UNAUTHORIZED);
        let json: serde_json::Value = serde_json::from_str(&e.body(Encoding::Json)).unwrap();
        assert_eq!(
            json["ietf-restconf:errors"]["error"][0]["error-tag"],
            "access-denied"
        );
        assert_eq!(
            json["ietf-restconf:errors"]["error"][0]["error-type"],
            "protocol"
        );
        let xml = e.body(Encoding::Xml);
        assert!(
            xml.contains("<error-tag>access-denied</error-tag>"),
            "{xml}"
        );
        assert!(xml.contains("unknown device &lt;x&gt;"), "{xml}");
        assert_eq!(RestconfError::too_big("x").status.as_u16(), 413);

        let e = RestconfError::missing_attribute(
            "send a CSR",
            ErrorInfo {
                json: serde_json::json!({"m:info": {"a": "b"}}),
                xml: "<info xmlns=\"urn:m\"><a>b</a></info>".into(),
            },
        );
        let json: serde_json::Value = serde_json::from_str(&e.body(Encoding::Json)).unwrap();
        let error = &json["ietf-restconf:errors"]["error"][0];
        assert_eq!(
            (
                e.status.as_u16(),
                &error["error-tag"],
                &error["error-info"]["m:info"]["a"]
            ),
            (
                400,
                &serde_json::json!("missing-attribute"),
                &serde_json::json!("b")
            )
        );
        assert!(
            e.body(Encoding::Xml)
                .contains("<error-info><info xmlns=\"urn:m\"><a>b</a></info></error-info></error>")
        );
    }
}
