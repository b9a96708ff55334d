//! The device's own log lines, as RFC 5424 over UDP to the syslog server DHCP named
//! (option 7, `log-servers`, in the lease) or the one given: each step the agent takes
//! (the sources asked, the signed-data checks, each report, the outcome), so the
//! operator's collector sees the device's side of its bootstrap (RFC 8572 §5.6 leaves
//! logging to the device). Each line also goes to standard error as it happens: the
//! lab's timeline reads it there.

use std::net::{SocketAddr, UdpSocket};

/// RFC 5424 severities used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// A step failed.
    Err = 3,
    /// Something the operator should know.
    Notice = 5,
    /// A step taken.
    Info = 6,
}

/// Where the device logs, if anywhere.
#[derive(Debug)]
pub struct Log {
    socket: Option<(UdpSocket, SocketAddr)>,
    hostname: String,
}

impl Log {
    /// Lines to `server` (port 514 when given without one), from `hostname` (the
    /// device's serial); none without a server.
    pub fn to(server: Option<SocketAddr>, hostname: &str) -> Log {
        let socket = server.and_then(|s| {
            let any: SocketAddr = if s.is_ipv4() {
                SocketAddr::from(([0, 0, 0, 0], 0))
            } else {
                SocketAddr::from(([0u16; 8], 0))
            };
            UdpSocket::bind(any).ok().map(|u| (u, s))
        });
        let hostname = hostname
            .chars()
            .map(|c| if c.is_ascii_graphic() { c } else { '_' })
            .collect();
        Log { socket, hostname }
    }

    /// One line, on standard error and to the server: facility user, APP-NAME
    /// `zerotouch-agent`, MSGID `sztp`.
    pub fn line(&self, severity: Severity, text: &str) {
        eprintln!("zerotouch-agent: {text}");
        let Some((socket, server)) = &self.socket else {
            return;
        };
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let pri = 8 + severity as u8;
        let line = format!(
            "<{pri}>1 {now} {} zerotouch-agent {} sztp - {text}",
            self.hostname,
            std::process::id()
        );
        // Best effort, as syslog over UDP is: the steps are also in the record.
        let _ = socket.send_to(line.as_bytes(), server);
    }
}

/// The first log server of the last lease in a dhclient lease file (`option
/// log-servers 198.18.0.1, …;`), on port 514.
pub fn server_in_lease_file(text: &str) -> Option<SocketAddr> {
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("option log-servers "))
        .next_back()
        .and_then(|v| v.trim_end_matches(';').split(',').next())
        .and_then(|a| a.trim().parse::<std::net::IpAddr>().ok())
        .map(|ip| SocketAddr::new(ip, 514))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_server_comes_from_the_last_lease_and_lines_are_rfc_5424() {
        let file = "lease {\n  option log-servers 198.18.0.9;\n}\nlease {\n  option log-servers 198.18.0.1, 198.18.0.2;\n}\n";
        assert_eq!(
            server_in_lease_file(file),
            Some("198.18.0.1:514".parse().unwrap())
        );
        assert_eq!(server_in_lease_file("lease {\n}\n"), None);
        let receiver = UdpSocket::bind("127.0.0.1:0").unwrap();
        let log = Log::to(Some(receiver.local_addr().unwrap()), "SN 1");
        log.line(Severity::Err, "config-error: no space");
        let mut buf = [0u8; 512];
        let n = receiver.recv(&mut buf).unwrap();
        let got = std::str::from_utf8(&buf[..n]).unwrap();
        assert!(got.starts_with("<11>1 "), "{got}");
        assert!(
            got.contains(" SN_1 zerotouch-agent ")
                && got.ends_with(" sztp - config-error: no space"),
            "{got}"
        );
    }
}
