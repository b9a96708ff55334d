//! One message: read as RFC 5424 or RFC 3164 (`syslog_loose`), and written again as
//! RFC 5424 with the sender's identity as one structured-data element:
//!
//! ```text
//! [zerotouch@32473 address="198.18.0.100" mac="02:00:00:00:00:07" client-id="01:02"
//!  hostname="dev7" subnet="198.18.0.0/24" serial="SN-7"]
//! ```
//!
//! Parameters that are not known are left out; a sender with no lease and no serial
//! gets the element with its address alone. A message that does not parse (no PRI)
//! goes on as it came, counted.

use std::fmt::Write;
use std::net::IpAddr;

use chrono::{DateTime, FixedOffset, SecondsFormat, Timelike, Utc};
use syslog_loose::{Protocol, Variant};

use crate::devices::Who;
use crate::settings::Traits;

/// The structured-data ID of the sender's identity. 32473 is the Private Enterprise
/// Number RFC 5612 reserves for documentation and examples.
pub(crate) const SD_ID: &str = "zerotouch@32473";

/// A message ready for the collectors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Tagged {
    /// The message, without framing.
    pub line: String,
    /// Whether it was read as syslog (else it goes on as it came).
    pub parsed: bool,
    /// What the collectors' filters look at.
    pub traits: Traits,
}

/// The server's own message about a device (a lease event, SZTP progress): facility
/// daemon, from `hostname`, APP-NAME `zerotouch-dhcpd`, MSGID `msgid`.
pub(crate) fn own(
    severity: u8,
    msgid: &str,
    text: &str,
    peer: IpAddr,
    who: &Who,
    hostname: &str,
    now: DateTime<Utc>,
) -> Tagged {
    const DAEMON: u8 = 3;
    let mut line = format!(
        "<{}>1 {} {hostname} zerotouch-dhcpd - {msgid} ",
        u32::from(DAEMON) * 8 + u32::from(severity),
        time(now.into())
    );
    write_element(
        &mut line,
        SD_ID,
        identity(peer, who).iter().map(|(k, v)| (*k, v.as_str())),
    );
    line.push(' ');
    line.push_str(text);
    Tagged {
        line,
        parsed: true,
        traits: Traits {
            severity: Some(severity),
            facility: Some(DAEMON),
            tagged: who.known(),
        },
    }
}

/// `raw` from `peer`, tagged with `who` it is; `now` stands in for a missing
/// timestamp.
pub(crate) fn tag(raw: &[u8], peer: IpAddr, who: &Who, now: DateTime<Utc>) -> Tagged {
    let text = String::from_utf8_lossy(raw);
    let text = text.trim_end_matches(['\n', '\r', '\0']);
    let m = syslog_loose::parse_message(text, Variant::Either);
    let (Some(facility), Some(severity)) = (m.facility, m.severity) else {
        return Tagged {
            line: text.to_string(),
            parsed: false,
            traits: Traits {
                severity: None,
                facility: None,
                tagged: who.known(),
            },
        };
    };
    let pri = facility as u8 as u32 * 8 + severity as u8 as u32;
    let timestamp: DateTime<FixedOffset> = m.timestamp.unwrap_or_else(|| now.into());
    let nil = |v: Option<&str>| -> String {
        match v.map(str::trim).filter(|s| !s.is_empty()) {
            // RFC 5424 header fields are printable US-ASCII without spaces.
            Some(s) => s
                .chars()
                .map(|c| if c.is_ascii_graphic() { c } else { '_' })
                .collect(),
            None => "-".into(),
        }
    };
    // The sender's own name, else its lease's, else its address.
    let lease_name = who.lease.as_ref().and_then(|l| l.hostname.as_deref());
    let hostname = match nil(m.hostname.or(lease_name)) {
        nothing if nothing == "-" => peer.to_string(),
        name => name,
    };
    let mut line = format!(
        "<{pri}>1 {} {hostname} {} {} {} ",
        time(timestamp),
        nil(m.appname),
        nil(m.procid.as_ref().map(|p| p.to_string()).as_deref()),
        nil(m.msgid),
    );
    // The sender's own elements go on as they came (the parser's unescaping is not
    // reversible), all but one claiming our ID: a sender cannot claim an identity.
    let (elements, msg) = match m.protocol {
        Protocol::RFC5424(_) => split_structured_data(text),
        Protocol::RFC3164 => (Vec::new(), m.msg),
    };
    for e in elements {
        if !e[1..].starts_with(SD_ID)
            || !matches!(e.as_bytes().get(1 + SD_ID.len()), Some(b' ' | b']'))
        {
            line.push_str(e);
        }
    }
    write_element(
        &mut line,
        SD_ID,
        identity(peer, who).iter().map(|(k, v)| (*k, v.as_str())),
    );
    if !msg.is_empty() {
        line.push(' ');
        line.push_str(msg);
    }
    Tagged {
        line,
        parsed: true,
        traits: Traits {
            severity: Some(severity as u8),
            facility: Some(facility as u8),
            tagged: who.known(),
        },
    }
}

/// The structured-data elements of RFC 5424 message `text` as they are written, and the
/// message after them: past the six header fields, `[...]` elements (quoted values may
/// hold `\]` and `\"`) or `-`.
fn split_structured_data(text: &str) -> (Vec<&str>, &str) {
    let mut rest = text;
    for _ in 0..6 {
        rest = rest.split_once(' ').map_or("", |(_, r)| r);
    }
    if let Some(after) = rest.strip_prefix('-') {
        return (Vec::new(), after.strip_prefix(' ').unwrap_or(after));
    }
    let mut elements = Vec::new();
    while rest.starts_with('[') {
        let (mut quoted, mut escaped, mut end) = (false, false, None);
        for (i, c) in rest.char_indices() {
            match c {
                _ if escaped => escaped = false,
                '\\' if quoted => escaped = true,
                '"' => quoted = !quoted,
                ']' if !quoted => {
                    end = Some(i);
                    break;
                }
                _ => {}
            }
        }
        let Some(end) = end else { break };
        elements.push(&rest[..=end]);
        rest = &rest[end + 1..];
    }
    (elements, rest.strip_prefix(' ').unwrap_or(rest))
}

/// A TIMESTAMP as RFC 5424 writes it: at most six digits of fractions (§6.2.3.1), as
/// few as the time needs.
fn time(t: DateTime<FixedOffset>) -> String {
    let micros = t.with_nanosecond(t.nanosecond() / 1000 * 1000).unwrap_or(t);
    micros.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// The identity parameters of `who`, sent from `peer`.
fn identity(peer: IpAddr, who: &Who) -> Vec<(&'static str, String)> {
    let mut p = vec![("address", peer.to_string())];
    if let Some(l) = &who.lease {
        if !l.hwaddr.is_empty() {
            p.push(("mac", colon(&l.hwaddr)));
        }
        if let Some(id) = &l.client_id {
            let key = if peer.is_ipv6() { "duid" } else { "client-id" };
            p.push((key, colon(id)));
        }
        if let Some(h) = &l.hostname {
            p.push(("hostname", h.clone()));
        }
    }
    if let Some(net) = &who.subnet {
        p.push(("subnet", net.to_string()));
    }
    if let Some(s) = &who.serial {
        p.push(("serial", s.clone()));
    }
    p
}

pub(crate) fn colon(octets: &[u8]) -> String {
    let mut s = String::with_capacity(octets.len() * 3);
    for (i, b) in octets.iter().enumerate() {
        if i > 0 {
            s.push(':');
        }
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// `[id name="value" ...]`, the values escaped as RFC 5424 §6.3.3 says.
fn write_element<'a>(out: &mut String, id: &str, params: impl Iterator<Item = (&'a str, &'a str)>) {
    out.push('[');
    out.push_str(id);
    for (name, value) in params {
        out.push(' ');
        out.push_str(name);
        out.push_str("=\"");
        for c in value.chars() {
            if matches!(c, '"' | '\\' | ']') {
                out.push('\\');
            }
            out.push(c);
        }
        out.push('"');
    }
    out.push(']');
}

#[cfg(test)]
mod tests {
    use zerotouch_plugin::{LeaseInfo, LeaseState};

    use super::*;

    fn who() -> Who {
        Who {
            lease: Some(LeaseInfo {
                address: "198.18.0.100".parse().unwrap(),
                state: LeaseState::Active,
                client_id: Some(vec![1, 2, 0, 0, 0, 0, 7]),
                htype: 1,
                hwaddr: vec![2, 0, 0, 0, 0, 7],
                starts: 0,
                expires: 10,
                hostname: Some("dev7".into()),
            }),
            subnet: Some("198.18.0.0/24".parse().unwrap()),
            serial: Some("SN-\"7\"".into()),
        }
    }

    fn now() -> DateTime<Utc> {
        "2026-12-04T10:00:00Z".parse().unwrap()
    }

    #[test]
    fn an_rfc_5424_message_keeps_its_fields_and_gets_the_identity_element() {
        let raw = b"<165>1 2026-12-04T09:59:58.123Z sw1 sztpd 42 ID7 [exampleSDID@32473 iut=\"3\" eventSource=\"App\\]\"] bootstrap started\n";
        let t = tag(raw, "198.18.0.100".parse().unwrap(), &who(), now());
        assert!(t.parsed);
        assert_eq!(
            t.line,
            "<165>1 2026-12-04T09:59:58.123Z sw1 sztpd 42 ID7 [exampleSDID@32473 iut=\"3\" eventSource=\"App\\]\"][zerotouch@32473 address=\"198.18.0.100\" mac=\"02:00:00:00:00:07\" client-id=\"01:02:00:00:00:00:07\" hostname=\"dev7\" subnet=\"198.18.0.0/24\" serial=\"SN-\\\"7\\\"\"] bootstrap started"
        );
    }

    #[test]
    fn an_rfc_3164_message_becomes_rfc_5424_and_nil_fields_are_filled() {
        let t = tag(
            b"<13>Dec  4 09:59:58 dev7 agent[12]: hello",
            "198.18.0.100".parse().unwrap(),
            &Who::default(),
            now(),
        );
        assert!(t.parsed, "{t:?}");
        assert!(t.line.starts_with("<13>1 "), "{}", t.line);
        assert!(
            t.line
                .ends_with(" dev7 agent 12 - [zerotouch@32473 address=\"198.18.0.100\"] hello"),
            "{}",
            t.line
        );
        // RFC 5424 with a NILVALUE timestamp and host: the time of receipt, the lease's name.
        let t = tag(
            b"<14>1 - - app - - - text",
            "198.18.0.100".parse().unwrap(),
            &who(),
            now(),
        );
        assert!(
            t.line
                .starts_with("<14>1 2026-12-04T10:00:00Z dev7 app - - ["),
            "{}",
            t.line
        );
    }

    #[test]
    fn a_claimed_identity_is_replaced_and_garbage_goes_on_as_it_came() {
        let t = tag(
            b"<14>1 2026-12-04T10:00:00Z h a - - [zerotouch@32473 serial=\"forged\"] x",
            "198.18.0.9".parse().unwrap(),
            &Who::default(),
            now(),
        );
        assert!(!t.line.contains("forged"), "{}", t.line);
        let g = tag(
            b"no priority here\xff",
            "198.18.0.9".parse().unwrap(),
            &Who::default(),
            now(),
        );
        assert!(!g.parsed);
        assert_eq!(g.line, "no priority here\u{fffd}");
    }

    #[test]
    fn timestamps_have_at_most_six_digits_of_fractions() {
        let now: DateTime<Utc> = "2026-12-04T10:00:00.123456789Z".parse().unwrap();
        let t = own(
            6,
            "lease",
            "x",
            "198.18.0.1".parse().unwrap(),
            &Who::default(),
            "h",
            now,
        );
        assert!(
            t.line
                .starts_with("<30>1 2026-12-04T10:00:00.123456Z h zerotouch-dhcpd - lease "),
            "{}",
            t.line
        );
        let t = tag(
            b"<14>1 2026-12-04T10:00:00.1234567Z h a - - - x",
            "198.18.0.1".parse().unwrap(),
            &Who::default(),
            now,
        );
        assert!(
            t.line.starts_with("<14>1 2026-12-04T10:00:00.123456Z "),
            "{}",
            t.line
        );
    }
}
