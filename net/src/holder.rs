//! Who holds a UDP port: read from the kernel's socket tables (`/proc/net/udp`,
//! `/proc/net/udp6`, as seen from this network namespace) and the processes' open
//! descriptors, so that "port in use" can name the other process.

use std::path::Path;

/// `pid N (name)` of a process.
pub fn describe_process(pid: u32) -> String {
    let name = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
    match name.trim() {
        "" => format!("pid {pid}"),
        name => format!("pid {pid} ({name})"),
    }
}

/// The processes holding a UDP socket bound to local port `port`, as `pid N (name)`;
/// empty when it cannot be told (another user's process without the right to look).
pub fn udp_port_holders(port: u16) -> Vec<String> {
    let mut inodes = Vec::new();
    for table in ["/proc/net/udp", "/proc/net/udp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        inodes.extend(text.lines().skip(1).filter_map(|l| bound_inode(l, port)));
    }
    if inodes.is_empty() {
        return Vec::new();
    }
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut holders = Vec::new();
    for p in procs.flatten() {
        let Some(pid) = p.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        if holds_socket(&p.path(), &inodes) {
            holders.push(describe_process(pid));
        }
    }
    holders
}

/// The socket inode of a `/proc/net/udp` line whose local port is `port`.
fn bound_inode(line: &str, port: u16) -> Option<u64> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    let local = fields.get(1)?;
    let (_, hex_port) = local.rsplit_once(':')?;
    (u16::from_str_radix(hex_port, 16).ok()? == port).then_some(())?;
    fields.get(9)?.parse().ok()
}

fn holds_socket(proc_dir: &Path, inodes: &[u64]) -> bool {
    let Ok(fds) = std::fs::read_dir(proc_dir.join("fd")) else {
        return false;
    };
    fds.flatten().any(|fd| {
        std::fs::read_link(fd.path())
            .ok()
            .and_then(|t| {
                let t = t.to_str()?.strip_prefix("socket:[")?.strip_suffix(']')?;
                t.parse::<u64>().ok()
            })
            .is_some_and(|i| inodes.contains(&i))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_holder_of_a_bound_port_is_this_process() {
        let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = sock.local_addr().unwrap().port();
        let holders = udp_port_holders(port);
        assert!(
            holders
                .iter()
                .any(|h| h.starts_with(&format!("pid {} ", std::process::id()))),
            "{holders:?}"
        );
        drop(sock);
        assert!(udp_port_holders(port).is_empty());
    }

    #[test]
    fn proc_net_udp_lines_are_read_by_local_port() {
        let line = "  12: 00000000:0043 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 123456 2 0000000000000000 0";
        assert_eq!(bound_inode(line, 67), Some(123456));
        assert_eq!(bound_inode(line, 68), None);
    }
}
