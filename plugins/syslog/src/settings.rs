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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SyslogSettings {
    /// Addresses (and ports) received on, each over UDP and TCP.
    pub listen: Vec<SocketAddr>,
    /// The largest message taken, octets; a longer one is dropped and counted.
    #[serde(default = "default_max_message")]
    pub max_message: usize,
    /// Messages kept for each collector while it is slow or away; past it the oldest
    /// go, counted.
    #[serde(default = "default_queue")]
    pub queue: usize,
    /// Where messages go.
    pub collector: Vec<Collector>,
    /// A folder for each collector's spool on disk (relative to the configuration
    /// file); without it messages wait in memory only.
    pub spool_dir: Option<String>,
    /// The most octets each collector's spool holds; past it the oldest messages go.
    #[serde(default = "default_spool_bytes")]
    pub spool_bytes: u64,
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
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Collector {
    pub address: SocketAddr,
    pub transport: Transport,
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
        if s.queue == 0 {
            return Err(settings.error("queue", "is 0, expected at least 1 message"));
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
        assert!(read("listen = [\"198.18.0.1:514\"]\ncollector = [{ address = \"198.18.0.9:514\", transport = \"relp\" }]\n").is_err());
    }
}
