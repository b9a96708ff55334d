//! Bootstrap-server URIs as RFC 8572 §8.3 allows them: `https://host[:port]` and
//! nothing else (no path, query, fragment or userinfo: the device appends the RESTCONF
//! path itself).

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UriError {
    #[error("{0:?} is not an https URI: RFC 8572 requires the https scheme")]
    NotHttps(String),
    #[error("{0:?} has no host")]
    NoHost(String),
    #[error(
        "{0:?} has a path, query or fragment: RFC 8572 allows only https://host[:port], the device adds the RESTCONF path"
    )]
    HasPath(String),
    #[error("{0:?} has userinfo (user@): RFC 8572 allows only https://host[:port]")]
    HasUserinfo(String),
    #[error("{0:?} has a bad port: expected 1 to 65535")]
    BadPort(String),
    #[error(
        "{0:?} has a bad host: expected a DNS name, an IPv4 address or a bracketed IPv6 address"
    )]
    BadHost(String),
    #[error("{0:?} is longer than 65535 octets")]
    TooLong(String),
}

/// A validated bootstrap-server URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootstrapUri {
    text: String,
    host: String,
    port: Option<u16>,
}

impl BootstrapUri {
    pub fn parse(text: &str) -> Result<Self, UriError> {
        let err = |f: fn(String) -> UriError| f(text.to_string());
        if text.len() > u16::MAX as usize {
            return Err(err(UriError::TooLong));
        }
        let rest = match text.split_once("://") {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("https") => rest,
            _ => return Err(err(UriError::NotHttps)),
        };
        // A trailing "/" is an empty path: still a path the device would not expect.
        if rest.contains(['/', '?', '#']) {
            return Err(err(UriError::HasPath));
        }
        if rest.contains('@') {
            return Err(err(UriError::HasUserinfo));
        }
        if rest.is_empty() {
            return Err(err(UriError::NoHost));
        }
        let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
            let (addr, after) = v6.split_once(']').ok_or_else(|| err(UriError::BadHost))?;
            addr.parse::<Ipv6Addr>()
                .map_err(|_| err(UriError::BadHost))?;
            let port = match after {
                "" => None,
                p => Some(p.strip_prefix(':').ok_or_else(|| err(UriError::BadHost))?),
            };
            (format!("[{addr}]"), port)
        } else {
            match rest.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), Some(p)),
                None => (rest.to_string(), None),
            }
        };
        if !host.starts_with('[') && !valid_host(&host) {
            return Err(err(UriError::BadHost));
        }
        let port = match port {
            None => None,
            Some(p) => match p.parse::<u16>() {
                Ok(n) if n > 0 && !p.starts_with('+') => Some(n),
                _ => return Err(err(UriError::BadPort)),
            },
        };
        Ok(BootstrapUri {
            text: text.to_string(),
            host,
            port,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The host as written (an IPv6 literal with its brackets).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port, 443 when the URI has none.
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(443)
    }
}

impl fmt::Display for BootstrapUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// A DNS name (letters, digits, '-' in labels of 1 to 63, 253 in all) or an IPv4
/// address; a name that is all digits and dots must be a valid address.
fn valid_host(host: &str) -> bool {
    if host.is_empty() || host.len() > 253 {
        return false;
    }
    if host.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return host.parse::<Ipv4Addr>().is_ok();
    }
    host.trim_end_matches('.').split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_what_rfc_8572_allows() {
        for (text, host, port) in [
            ("https://sztp1.example.com", "sztp1.example.com", 443),
            ("https://[2001:db8::5]:8443", "[2001:db8::5]", 8443),
            ("https://192.0.2.10:8443", "192.0.2.10", 8443),
            ("HTTPS://bs.example", "bs.example", 443),
            ("https://[2001:db8::1]", "[2001:db8::1]", 443),
        ] {
            let u = BootstrapUri::parse(text).unwrap();
            assert_eq!((u.host(), u.port()), (host, port), "{text}");
        }
    }

    #[test]
    fn refuses_the_rest_with_a_reason() {
        use UriError::*;
        for (text, want) in [
            ("http://bs.example", NotHttps as fn(String) -> UriError),
            ("bs.example:443", NotHttps),
            ("https://bs.example/restconf", HasPath),
            ("https://bs.example/", HasPath),
            ("https://bs.example?x=1", HasPath),
            ("https://user@bs.example", HasUserinfo),
            ("https://", NoHost),
            ("https://bs.example:0", BadPort),
            ("https://bs.example:99999", BadPort),
            ("https://bs.example:", BadPort),
            ("https://[2001:db8::zz]", BadHost),
            ("https://2001:db8::1", BadHost),
            ("https://300.1.1.1", BadHost),
            ("https://bad_host.example", BadHost),
            ("https://-x.example", BadHost),
        ] {
            assert_eq!(
                BootstrapUri::parse(text),
                Err(want(text.to_string())),
                "{text}"
            );
        }
    }
}
