//! The plugin's settings: where it receives, how large a message may be, and the
//! collectors it forwards to; each error names its key.

use std::net::SocketAddr;

use serde::Deserialize;
use zerotouch_plugin::{Settings, SettingsError};

/// The largest message received, octets, when the settings do not say (RFC 5425 asks
/// receivers to take 2048 at least; devices' lines are far shorter).
const DEFAULT_MAX_MESSAGE: usize = 8192;
/// Messages waiting for a collector, each, when the settings do not say.
const DEFAULT_QUEUE: usize = 100_000;

#[derive(Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SyslogSettings {
    /// Addresses (and ports) received on, each over UDP and TCP.
    pub listen: Vec<SocketAddr>,
    /// Addresses (and ports) received on over RELP.
    #[serde(default)]
    pub listen_relp: Vec<SocketAddr>,
    /// Addresses (and ports) received on over TLS (RFC 5425).
    #[serde(default)]
    pub listen_tls: Vec<SocketAddr>,
    /// This receiver's certificate (PEM, its chain) and key, for `listen_tls`.
    pub certificate: Option<String>,
    pub private_key: Option<String>,
    /// The largest message taken, octets; a longer one is dropped and counted.
    #[serde(default = "default_max_message")]
    pub max_message: usize,
    /// Messages kept for each collector while it is slow or away; past it the oldest
    /// go, counted.
    #[serde(default = "default_queue")]
    pub queue: usize,
    /// Messages a second one source may send (0: no limit); past it they are dropped,
    /// counted, and other sources are served.
    #[serde(default = "default_rate")]
    pub messages_per_second: u32,
    /// TCP connections one source may hold open.
    #[serde(default = "default_connections")]
    pub connections_per_source: usize,
    /// Where messages go.
    pub collector: Vec<Collector>,
    /// A folder for each collector's spool on disk (relative to the configuration
    /// file); without it messages wait in memory only.
    pub spool_dir: Option<String>,
    /// The most octets each collector's spool holds; past it the oldest messages go.
    #[serde(default = "default_spool_bytes")]
    pub spool_bytes: u64,
    /// The operator's JSON endpoint (plain HTTP): the devices' last lines and the
    /// counters. None when absent, and then no lines are kept.
    pub status_listen: Option<SocketAddr>,
    /// Lines kept for each device the server knows (0: none).
    #[serde(default = "default_recent_lines")]
    pub recent_lines: usize,
    /// The most octets all kept lines take; past it the device that logged least
    /// recently is forgotten first.
    #[serde(default = "default_recent_bytes")]
    pub recent_bytes: usize,
}

fn default_recent_lines() -> usize {
    100
}

fn default_recent_bytes() -> usize {
    64 << 20
}

/// Octets a collector's spool may hold, when the settings do not say.
const DEFAULT_SPOOL_BYTES: u64 = 256 << 20;

fn default_spool_bytes() -> u64 {
    DEFAULT_SPOOL_BYTES
}

/// How a collector is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Transport {
    Udp,
    /// RFC 6587 octet counting.
    Tcp,
    /// RELP: each message acknowledged by the collector.
    Relp,
    /// TLS (RFC 5425), octet counting inside.
    Tls,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Collector {
    pub address: SocketAddr,
    pub transport: Transport,
    /// Only messages this severe or more (`"warning"` takes emerg to warning); all when
    /// absent. A message that did not parse has no severity and is left out by it.
    pub severity: Option<Severity>,
    /// Only messages of these facilities; all when empty.
    #[serde(default)]
    pub facilities: Vec<Facility>,
    /// Only messages from devices the server knows (a lease or an SZTP serial).
    #[serde(default)]
    pub tagged_only: bool,
    /// Over TLS: a PEM file of the certificates that may sign the collector's
    /// (relative to the configuration file).
    pub ca: Option<String>,
    /// Over TLS: the name the collector's certificate must hold; its address when
    /// absent.
    pub server_name: Option<String>,
}

/// RFC 5424 severities, most severe first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Severity {
    Emerg,
    Alert,
    Crit,
    Err,
    Warning,
    Notice,
    Info,
    Debug,
}

/// RFC 5424 facilities, by their numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Facility {
    Kern,
    User,
    Mail,
    Daemon,
    Auth,
    Syslog,
    Lpr,
    News,
    Uucp,
    Cron,
    Authpriv,
    Ftp,
    Ntp,
    Security,
    Console,
    #[serde(rename = "solaris-cron")]
    SolarisCron,
    Local0,
    Local1,
    Local2,
    Local3,
    Local4,
    Local5,
    Local6,
    Local7,
}

/// What a filter looks at in a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Traits {
    pub severity: Option<u8>,
    pub facility: Option<u8>,
    /// Whether the sender is a device the server knows.
    pub tagged: bool,
}

impl Collector {
    /// The collector's own name among the others: its spool's folder, and how a
    /// `SIGHUP` knows it again (`tcp-198.18.0.9_514`).
    pub(crate) fn spool_name(&self) -> String {
        format!("{:?}-{}", self.transport, self.address)
            .to_lowercase()
            .replace([':', '[', ']'], "_")
    }

    /// Whether a message with `traits` goes to this collector.
    pub(crate) fn accepts(&self, traits: Traits) -> bool {
        let severity = self
            .severity
            .is_none_or(|max| traits.severity.is_some_and(|s| s <= max as u8));
        let facility = self.facilities.is_empty()
            || traits
                .facility
                .is_some_and(|f| self.facilities.iter().any(|&x| x as u8 == f));
        severity && facility && (traits.tagged || !self.tagged_only)
    }
}

fn default_rate() -> u32 {
    1000
}

fn default_connections() -> usize {
    16
}

fn default_max_message() -> usize {
    DEFAULT_MAX_MESSAGE
}

fn default_queue() -> usize {
    DEFAULT_QUEUE
}

impl SyslogSettings {
    pub(crate) fn read(settings: &Settings) -> Result<Self, SettingsError> {
        let s: SyslogSettings = settings.parse()?;
        if s.listen.is_empty() {
            return Err(settings.error(
                "listen",
                "is empty, expected at least one address such as \"198.18.0.1:514\"",
            ));
        }
        if s.collector.is_empty() {
            return Err(settings.error(
                "collector",
                "is empty, expected at least one collector such as { address = \"198.18.0.9:514\", transport = \"tcp\" }",
            ));
        }
        if !(480..=65_536).contains(&s.max_message) {
            return Err(settings.error(
                "max_message",
                format!("is {}, expected 480 to 65536 octets", s.max_message),
            ));
        }
        if s.spool_bytes < s.max_message as u64 {
            return Err(settings.error(
                "spool_bytes",
                format!(
                    "is {}, expected at least max_message ({})",
                    s.spool_bytes, s.max_message
                ),
            ));
        }
        if s.connections_per_source == 0 {
            return Err(settings.error(
                "connections_per_source",
                "is 0, expected at least 1 connection",
            ));
        }
        if s.queue == 0 {
            return Err(settings.error("queue", "is 0, expected at least 1 message"));
        }
        for (i, c) in s.collector.iter().enumerate() {
            if let Some(first) = s.collector[..i]
                .iter()
                .position(|o| o.spool_name() == c.spool_name())
            {
                return Err(settings.error(
                    format!("collector[{i}]"),
                    format!(
                        "has the address and transport of collector[{first}]: one collector each"
                    ),
                ));
            }
        }
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<SyslogSettings, SettingsError> {
        SyslogSettings::read(&Settings::standalone(text, "syslog"))
    }

    #[test]
    fn settings_are_checked_and_name_their_key() {
        let ok = read("listen = [\"198.18.0.1:514\"]\ncollector = [{ address = \"198.18.0.9:514\", transport = \"tcp\" }]\n").unwrap();
        assert_eq!(ok.max_message, DEFAULT_MAX_MESSAGE);
        assert_eq!(ok.collector[0].transport, Transport::Tcp);
        let none = read("listen = [\"198.18.0.1:514\"]\ncollector = []\n").unwrap_err();
        assert_eq!(none.key, "collector");
        let small = read("listen = [\"198.18.0.1:514\"]\nmax_message = 10\ncollector = [{ address = \"198.18.0.9:514\", transport = \"udp\" }]\n").unwrap_err();
        assert_eq!(small.key, "max_message");
        assert!(read("listen = [\"198.18.0.1:514\"]\ncollector = [{ address = \"198.18.0.9:514\", transport = \"carrier-pigeon\" }]\n").is_err());
        let twice = read("listen = [\"198.18.0.1:514\"]\ncollector = [{ address = \"198.18.0.9:514\", transport = \"tcp\" }, { address = \"198.18.0.9:514\", transport = \"udp\" }, { address = \"198.18.0.9:514\", transport = \"tcp\", severity = \"err\" }]\n").unwrap_err();
        assert_eq!(twice.key, "collector[2]");
        assert!(twice.message.contains("collector[0]"), "{twice}");
        assert_eq!(ok.collector[0].spool_name(), "tcp-198.18.0.9_514");
    }

    #[test]
    fn a_collector_takes_what_its_filters_let_through() {
        let s = read("listen = [\"198.18.0.1:514\"]\ncollector = [{ address = \"198.18.0.9:514\", transport = \"udp\", severity = \"warning\", facilities = [\"local0\", \"daemon\"], tagged_only = true }]\n").unwrap();
        let c = &s.collector[0];
        let t = |severity, facility, tagged| Traits {
            severity,
            facility,
            tagged,
        };
        assert!(c.accepts(t(Some(4), Some(16), true)));
        assert!(c.accepts(t(Some(0), Some(3), true)));
        assert!(
            !c.accepts(t(Some(5), Some(16), true)),
            "notice is below warning"
        );
        assert!(!c.accepts(t(Some(3), Some(1), true)), "user is not listed");
        assert!(!c.accepts(t(Some(3), Some(16), false)), "an unknown sender");
        assert!(!c.accepts(t(None, None, true)), "unparsed");
        let all = read("listen = [\"198.18.0.1:514\"]\ncollector = [{ address = \"198.18.0.9:514\", transport = \"udp\" }]\n").unwrap();
        assert!(all.collector[0].accepts(t(None, None, false)));
    }
}
