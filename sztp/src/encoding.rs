//! The two encodings of YANG data SZTP's documents travel in (RFC 8040 §5.2): JSON
//! (RFC 7951) and XML, and the media types that name them.

/// JSON or XML.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// `application/yang-data+json`.
    Json,
    /// `application/yang-data+xml`.
    Xml,
}

impl Encoding {
    /// Its media type.
    pub fn content_type(self) -> &'static str {
        match self {
            Encoding::Json => "application/yang-data+json",
            Encoding::Xml => "application/yang-data+xml",
        }
    }

    /// The encoding a media type names, if any: also the plain `application/json` and
    /// `xml` and the draft's dotted `yang.data` spelling that devices send.
    pub fn of_media_type(media: &str) -> Option<Encoding> {
        let essence = media
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match essence.as_str() {
            "application/yang-data+json" | "application/yang.data+json" | "application/json" => {
                Some(Encoding::Json)
            }
            "application/yang-data+xml"
            | "application/yang.data+xml"
            | "application/xml"
            | "text/xml" => Some(Encoding::Xml),
            _ => None,
        }
    }
}
