//! The last lines of each device the server knows, for the operator: what the device
//! logged and what the server logged about it (its leases, its SZTP progress), as they
//! went to the collectors. At most `recent_lines` a device, at most `recent_bytes` in
//! all: past that, the device that logged least recently is forgotten first.
//!
//! A device is its hardware address, else its client identifier or DUID, else its
//! SZTP serial; it is found by any of these or by its current address.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Arc;

use serde::Serialize;
use syslog_loose::Variant;

use crate::devices::Who;
use crate::message::colon;

/// What makes one device.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Hardware(Vec<u8>),
    Client(Vec<u8>),
    Serial(String),
}

impl Key {
    fn of(who: &Who) -> Option<Key> {
        let lease = who.lease.as_ref();
        if let Some(l) = lease.filter(|l| !l.hwaddr.is_empty()) {
            return Some(Key::Hardware(l.hwaddr.clone()));
        }
        if let Some(id) = lease.and_then(|l| l.client_id.clone()) {
            return Some(Key::Client(id));
        }
        who.serial.clone().map(Key::Serial)
    }
}

/// One line as it went to the collectors, and when it was received (Unix ms).
#[derive(Debug, Clone)]
struct Line {
    received_ms: i64,
    text: Arc<str>,
}

/// One device's record.
#[derive(Debug)]
struct Device {
    who: Who,
    address: IpAddr,
    /// When it last logged, in the store's own order.
    touched: u64,
    lines: VecDeque<Line>,
    bytes: usize,
}

impl Device {
    /// Gives up all but the last `n` lines; returns the octets given up.
    fn keep_last(&mut self, n: usize) -> usize {
        let mut freed = 0;
        while self.lines.len() > n {
            if let Some(old) = self.lines.pop_front() {
                freed += cost(&old);
            }
        }
        self.bytes -= freed;
        freed
    }
}

/// What a device is, as the operator sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Identity {
    pub serial: Option<String>,
    pub mac: Option<String>,
    pub client_id: Option<String>,
    pub hostname: Option<String>,
    /// The address it last logged from.
    pub address: IpAddr,
    /// Lines kept.
    pub lines: usize,
    /// When its last line was received (RFC 3339).
    pub last: String,
}

/// One kept line, read again for the operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Shown {
    /// When it was received (RFC 3339, milliseconds).
    pub received: String,
    /// Its own TIMESTAMP, as it came or as the receiver gave it.
    pub timestamp: Option<String>,
    pub severity: Option<&'static str>,
    pub facility: Option<&'static str>,
    pub app_name: Option<String>,
    pub msgid: Option<String>,
    /// The message text (for a line that is not syslog, the line).
    pub message: String,
}

/// The last lines of the devices.
#[derive(Debug)]
pub(crate) struct Recent {
    per_device: usize,
    max_bytes: usize,
    bytes: usize,
    devices: HashMap<Key, Device>,
    /// Devices by when they last logged, least recently first.
    order: BTreeMap<u64, Key>,
    serials: HashMap<String, Key>,
    clock: u64,
}

/// The octets a line is counted as: its text and its place in the lists.
fn cost(line: &Line) -> usize {
    line.text.len() + std::mem::size_of::<Line>()
}

fn rfc3339_ms(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

impl Recent {
    pub(crate) fn new(per_device: usize, max_bytes: usize) -> Recent {
        Recent {
            per_device,
            max_bytes,
            bytes: 0,
            devices: HashMap::new(),
            order: BTreeMap::new(),
            serials: HashMap::new(),
            clock: 0,
        }
    }

    /// Keeps `text`, received at `received_ms` from `address`, as `who`'s latest line;
    /// a sender the server does not know is not kept.
    pub(crate) fn record(&mut self, address: IpAddr, who: &Who, text: Arc<str>, received_ms: i64) {
        let Some(key) = Key::of(who) else { return };
        if self.per_device == 0 {
            return;
        }
        self.clock += 1;
        let line = Line { received_ms, text };
        let device = self.devices.entry(key.clone()).or_insert_with(|| Device {
            who: Who::default(),
            address,
            touched: 0,
            lines: VecDeque::new(),
            bytes: 0,
        });
        self.order.remove(&device.touched);
        device.touched = self.clock;
        self.order.insert(self.clock, key.clone());
        // What the server knows of it now, without forgetting a serial it had.
        let serial = who.serial.clone().or(device.who.serial.take());
        device.who = Who {
            lease: who.lease.clone().or(device.who.lease.take()),
            subnet: who.subnet.or(device.who.subnet),
            serial,
        };
        device.address = address;
        if let Some(s) = &device.who.serial {
            self.serials.insert(s.clone(), key.clone());
        }
        device.bytes += cost(&line);
        self.bytes += cost(&line);
        device.lines.push_back(line);
        self.bytes -= device.keep_last(self.per_device);
        self.within_bound(Some(&key));
    }

    /// From now on `per_device` lines a device and `max_bytes` in all (a `SIGHUP`).
    pub(crate) fn set_bounds(&mut self, per_device: usize, max_bytes: usize) {
        (self.per_device, self.max_bytes) = (per_device, max_bytes);
        for d in self.devices.values_mut() {
            self.bytes -= d.keep_last(per_device);
        }
        let empty: Vec<Key> = (self.devices.iter())
            .filter(|(_, d)| d.lines.is_empty())
            .map(|(k, _)| k.clone())
            .collect();
        for key in empty {
            self.forget(&key);
        }
        self.within_bound(None);
    }

    /// Forgets the devices that logged least recently, never `spare`, until the lines
    /// take at most `max_bytes`.
    fn within_bound(&mut self, spare: Option<&Key>) {
        while self.bytes > self.max_bytes {
            let Some((_, oldest)) = self.order.iter().next() else {
                break;
            };
            if Some(oldest) == spare {
                break;
            }
            let oldest = oldest.clone();
            self.forget(&oldest);
        }
    }

    fn forget(&mut self, key: &Key) {
        if let Some(d) = self.devices.remove(key) {
            self.order.remove(&d.touched);
            self.bytes -= d.bytes;
            if let Some(s) = &d.who.serial
                && self.serials.get(s) == Some(key)
            {
                self.serials.remove(s);
            }
        }
    }

    /// The device `query` names: its SZTP serial, its current address, or its
    /// hardware address, client identifier or DUID in hex (`02:00:00:00:00:07`,
    /// `02-00-00-00-00-07` or `020000000007`).
    fn find(&self, query: &str) -> Option<&Device> {
        if let Some(key) = self.serials.get(query) {
            return self.devices.get(key);
        }
        if let Some(d) = self.devices.get(&Key::Serial(query.to_string())) {
            return Some(d);
        }
        if let Ok(address) = query.parse::<IpAddr>() {
            return self
                .devices
                .values()
                .filter(|d| d.address == address)
                .max_by_key(|d| d.touched);
        }
        let octets = hex_octets(query)?;
        self.devices
            .get(&Key::Hardware(octets.clone()))
            .or_else(|| self.devices.get(&Key::Client(octets)))
    }

    /// The device `query` names and its lines, oldest first.
    pub(crate) fn lines(&self, query: &str) -> Option<(Identity, Vec<Shown>)> {
        let d = self.find(query)?;
        Some((identity(d), d.lines.iter().map(show).collect()))
    }

    /// Every device kept, the one that logged last first.
    pub(crate) fn devices(&self) -> Vec<Identity> {
        self.order
            .values()
            .rev()
            .filter_map(|k| self.devices.get(k))
            .map(identity)
            .collect()
    }
}

/// `02:00:00:00:00:07`, `02-00-…` or `020000000007` as octets.
fn hex_octets(text: &str) -> Option<Vec<u8>> {
    let groups: Vec<&str> = text.split([':', '-']).collect();
    if groups.len() > 1 && groups.iter().any(|g| g.len() != 2) {
        return None;
    }
    hex::decode(groups.concat()).ok().filter(|o| !o.is_empty())
}

fn identity(d: &Device) -> Identity {
    let lease = d.who.lease.as_ref();
    Identity {
        serial: d.who.serial.clone(),
        mac: lease
            .filter(|l| !l.hwaddr.is_empty())
            .map(|l| colon(&l.hwaddr)),
        client_id: lease.and_then(|l| l.client_id.as_deref()).map(colon),
        hostname: lease.and_then(|l| l.hostname.clone()),
        address: d.address,
        lines: d.lines.len(),
        last: d
            .lines
            .back()
            .map(|l| rfc3339_ms(l.received_ms))
            .unwrap_or_default(),
    }
}

fn show(line: &Line) -> Shown {
    let m = syslog_loose::parse_message(&line.text, Variant::Either);
    let received = rfc3339_ms(line.received_ms);
    let Some(severity) = m.severity else {
        return Shown {
            received,
            timestamp: None,
            severity: None,
            facility: None,
            app_name: None,
            msgid: None,
            message: line.text.to_string(),
        };
    };
    Shown {
        received,
        timestamp: m
            .timestamp
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)),
        severity: Some(severity.as_str()),
        facility: m.facility.map(|f| f.as_str()),
        app_name: m.appname.map(str::to_string),
        msgid: m.msgid.map(str::to_string),
        message: m.msg.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use zerotouch_plugin::{LeaseInfo, LeaseState};

    use super::*;

    fn who(mac: u8, serial: Option<&str>) -> Who {
        Who {
            lease: Some(LeaseInfo {
                address: format!("198.18.0.{mac}").parse().unwrap(),
                state: LeaseState::Active,
                client_id: None,
                htype: 1,
                hwaddr: vec![2, 0, 0, 0, 0, mac],
                starts: 0,
                expires: u64::MAX,
                hostname: Some(format!("dev{mac}")),
            }),
            subnet: None,
            serial: serial.map(str::to_string),
        }
    }

    fn keep(r: &mut Recent, mac: u8, serial: Option<&str>, text: &str) {
        let address = format!("198.18.0.{mac}").parse().unwrap();
        r.record(
            address,
            &who(mac, serial),
            Arc::from(text),
            1_800_000_000_000,
        );
    }

    #[test]
    fn a_device_is_found_by_serial_mac_or_address_with_its_last_lines() {
        let mut r = Recent::new(2, 1 << 20);
        keep(
            &mut r,
            7,
            None,
            "<14>1 2026-12-04T20:00:00Z dev7 agent - boot - first",
        );
        keep(
            &mut r,
            7,
            Some("SN-7"),
            "<11>1 2026-12-04T20:00:01Z dev7 agent - boot - second",
        );
        keep(&mut r, 7, None, "not syslog at all");
        let (id, lines) = r.lines("SN-7").unwrap();
        assert_eq!(id.mac.as_deref(), Some("02:00:00:00:00:07"));
        assert_eq!(id.serial.as_deref(), Some("SN-7"), "the serial is kept");
        assert_eq!(id.hostname.as_deref(), Some("dev7"));
        assert_eq!(lines.len(), 2, "only the last two");
        assert_eq!(lines[0].severity, Some("err"));
        assert_eq!(lines[0].app_name.as_deref(), Some("agent"));
        assert_eq!(lines[0].message, "second");
        assert_eq!(lines[0].received, "2027-01-15T08:00:00.000Z");
        assert_eq!(lines[1].severity, None);
        assert_eq!(lines[1].message, "not syslog at all");
        for query in [
            "02:00:00:00:00:07",
            "02-00-00-00-00-07",
            "020000000007",
            "198.18.0.7",
        ] {
            assert_eq!(r.lines(query).unwrap().0, id, "{query}");
        }
        assert!(r.lines("SN-8").is_none());
        assert!(r.lines("02:00:00:00:00:08").is_none());
        assert!(r.lines("0:2").is_none());
    }

    #[test]
    fn unknown_senders_are_not_kept_and_the_bound_forgets_the_quietest_device() {
        let mut r = Recent::new(100, 4 * (40 + std::mem::size_of::<Line>()));
        r.record(
            "198.18.0.50".parse().unwrap(),
            &Who::default(),
            Arc::from("<14>1 - - - - - - from a stranger"),
            0,
        );
        assert!(r.devices().is_empty());
        let line = "x".repeat(40);
        keep(&mut r, 1, None, &line);
        keep(&mut r, 2, None, &line);
        keep(&mut r, 1, None, &line);
        keep(&mut r, 3, None, &line);
        keep(&mut r, 3, None, &line);
        let kept: Vec<IpAddr> = r.devices().iter().map(|d| d.address).collect();
        assert_eq!(
            kept,
            [
                "198.18.0.3".parse::<IpAddr>().unwrap(),
                "198.18.0.1".parse().unwrap()
            ],
            "device 2 logged least recently"
        );
        assert!(r.bytes <= r.max_bytes);
        r.set_bounds(1, 1 << 20);
        assert_eq!(r.lines("198.18.0.3").unwrap().1.len(), 1, "fewer lines now");
        r.set_bounds(1, 40 + std::mem::size_of::<Line>());
        assert_eq!(r.devices().len(), 1, "a smaller bound forgets the quietest");
        r.set_bounds(0, 1 << 20);
        assert!(r.devices().is_empty(), "no lines: no devices");
    }
}
