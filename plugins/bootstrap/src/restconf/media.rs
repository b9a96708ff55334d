//! Which encoding a request is in and which one its reply should be in (RFC 8040 §5.2).
//! Lenient where devices are sloppy: no `Accept` (or `*/*`) means JSON, plain
//! `application/json`/`xml` and the draft's dotted `yang.data` spelling are understood,
//! and a body without `Content-Type` is read by its first character.

use super::RestconfError;

pub use zerotouch_sztp::Encoding;

/// The encoding of a request body.
pub fn of_request(content_type: Option<&str>, body: &[u8]) -> Result<Encoding, RestconfError> {
    match content_type {
        Some(ct) if !ct.trim().is_empty() => Encoding::of_media_type(ct).ok_or_else(|| {
            RestconfError::unsupported_media(format!(
                "Content-Type {ct:?} is not application/yang-data+json or application/yang-data+xml"
            ))
        }),
        _ => Ok(match body.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'<') => Encoding::Xml,
            _ => Encoding::Json,
        }),
    }
}

/// The encoding for the reply, from the `Accept` header; `fallback` (the request's
/// encoding) when the client accepts anything.
pub fn for_reply(accept: Option<&str>, fallback: Encoding) -> Result<Encoding, RestconfError> {
    let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else {
        return Ok(fallback);
    };
    let mut wildcard = false;
    for media in accept.split(',') {
        if let Some(e) = Encoding::of_media_type(media) {
            return Ok(e);
        }
        let essence = media.split(';').next().unwrap_or("").trim();
        wildcard |= essence == "*/*" || essence.eq_ignore_ascii_case("application/*");
    }
    if wildcard {
        Ok(fallback)
    } else {
        Err(RestconfError::not_acceptable(format!(
            "Accept {accept:?} names neither application/yang-data+json nor application/yang-data+xml"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_encoding_from_content_type_or_first_character() {
        let json = Some("application/yang-data+json; charset=utf-8");
        assert_eq!(of_request(json, b"{}"), Ok(Encoding::Json));
        let dotted = Some("application/yang.data+xml");
        assert_eq!(of_request(dotted, b"<a/>"), Ok(Encoding::Xml));
        assert_eq!(of_request(None, b"  <input/>"), Ok(Encoding::Xml));
        assert_eq!(of_request(None, b""), Ok(Encoding::Json));
        let e = of_request(Some("text/plain"), b"x").unwrap_err();
        assert_eq!(e.status.as_u16(), 415);
    }

    #[test]
    fn reply_encoding_from_accept_defaults_to_the_request() {
        assert_eq!(for_reply(None, Encoding::Json), Ok(Encoding::Json));
        assert_eq!(for_reply(Some("*/*"), Encoding::Xml), Ok(Encoding::Xml));
        let accept = Some("text/html, application/yang-data+xml;q=0.9");
        assert_eq!(for_reply(accept, Encoding::Json), Ok(Encoding::Xml));
        let e = for_reply(Some("text/html"), Encoding::Json).unwrap_err();
        assert_eq!(e.status.as_u16(), 406);
    }
}
