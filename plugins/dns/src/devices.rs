//! Devices' TXT records from the bootstrap plugin's artifacts, in zones with
//! `bootstrap_devices = true`: `<serial>._sztp.<zone>` carries what the bootstrap
//! server would send that device (its signed conveyed information, owner certificate
//! and voucher; unsigned only for redirect information). Built when asked and kept a
//! few seconds: building reads and checks the voucher, more than each query should
//! cost, and a device asks over UDP, then again over TCP.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hickory_server::proto::rr::rdata::TXT;
use hickory_server::proto::rr::{Name, RData, Record};
use zerotouch_plugin::Artifacts;

/// How long a device's records (or their absence) are kept.
pub(crate) const KEPT: Duration = Duration::from_secs(5);
/// Devices kept at most; past it the cache starts over.
const CAPACITY: usize = 4096;
/// The most octets one TXT character-string holds.
const TXT_STRING: usize = 255;

/// A device's records (none: it has no artifacts), and when they were built.
type Kept = (Instant, Option<Arc<[Record]>>);

/// The devices' records, from the artifacts' source when a plugin provides one.
#[derive(Default)]
pub(crate) struct Devices {
    source: Mutex<Option<Artifacts>>,
    /// By the owner name as asked: DNS names compare without case, serials do not.
    kept: Mutex<HashMap<String, Kept>>,
}

impl Devices {
    /// Asks `artifacts` from now on (the plugin started).
    pub(crate) fn follow(&self, artifacts: Artifacts) {
        *self.source.lock().unwrap_or_else(|p| p.into_inner()) = Some(artifacts);
    }

    /// Forgets every device's records (the zones were reloaded).
    pub(crate) fn forget(&self) {
        self.kept.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    /// The TXT records at `owner` (`<serial>._sztp.<zone>`, the serial in the case the
    /// query had) with `ttl`, when the source has artifacts for that serial.
    pub(crate) fn records(&self, owner: &Name, ttl: u32, now: Instant) -> Option<Arc<[Record]>> {
        let key = owner.to_string();
        if let Some((at, records)) = self
            .kept
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
            && now.duration_since(*at) < KEPT
        {
            return records.clone();
        }
        let serial = owner.iter().next().map(String::from_utf8_lossy)?;
        let source = self
            .source
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let records: Option<Arc<[Record]>> = source.and_then(|s| s.of(&serial)).map(|a| {
            let artifacts = [
                ("ci", Some(a.conveyed_information)),
                ("oc", a.owner_certificate),
                ("ov", a.ownership_voucher),
            ];
            artifacts
                .into_iter()
                .filter_map(|(tag, bytes)| {
                    let txt = artifact_txt(tag, &bytes?);
                    Some(Record::from_rdata(owner.clone(), ttl, RData::TXT(txt)))
                })
                .collect()
        });
        let mut kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        if kept.len() >= CAPACITY {
            kept.retain(|_, (at, _)| now.duration_since(*at) < KEPT);
            if kept.len() >= CAPACITY {
                kept.clear();
            }
        }
        kept.insert(key, (now, records.clone()));
        records
    }
}

/// The TXT of one artifact: `<tag>=` and its octets, as raw binary (RFC 8572 §4.2), in
/// character-strings of at most 255 octets that a device joins back in order.
pub(crate) fn artifact_txt(tag: &str, bytes: &[u8]) -> TXT {
    let mut value = Vec::with_capacity(tag.len() + 1 + bytes.len());
    value.extend_from_slice(tag.as_bytes());
    value.push(b'=');
    value.extend_from_slice(bytes);
    TXT::from_bytes(value.chunks(TXT_STRING).collect())
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use zerotouch_plugin::{ArtifactSource, DeviceArtifacts};

    use super::*;

    /// Artifacts for SN-1 only, counting the calls.
    #[derive(Default)]
    struct Source(AtomicUsize);
    impl ArtifactSource for Source {
        fn artifacts(&self, serial: &str) -> Option<DeviceArtifacts> {
            self.0.fetch_add(1, Ordering::Relaxed);
            (serial == "SN-1").then(|| DeviceArtifacts {
                conveyed_information: vec![7; 600],
                owner_certificate: Some(b"oc".to_vec()),
                ownership_voucher: Some(b"ov".to_vec()),
            })
        }
    }

    #[test]
    fn a_devices_records_are_its_artifacts_asked_in_the_querys_case_and_kept_a_while() {
        let source = Arc::new(Source::default());
        let artifacts = Artifacts::default();
        artifacts.provide(source.clone());
        let devices = Devices::default();
        let owner = Name::from_ascii("SN-1._sztp.sztp.example.").unwrap();
        let t0 = Instant::now();
        assert!(
            devices.records(&owner, 60, t0).is_none(),
            "no source followed yet"
        );
        devices.forget();
        devices.follow(artifacts);
        let records = devices.records(&owner, 60, t0).unwrap();
        assert_eq!(records.len(), 3);
        let RData::TXT(ci) = &records[0].data else {
            panic!("{records:?}")
        };
        let joined: Vec<u8> = ci.txt_data.iter().flat_map(|s| s.iter().copied()).collect();
        assert_eq!(joined, [&b"ci="[..], &[7; 600]].concat());
        assert!(ci.txt_data.iter().all(|s| s.len() <= 255));
        // Kept: asked again within the time, the source is not.
        let calls = source.0.load(Ordering::Relaxed);
        devices.records(&owner, 60, t0 + Duration::from_secs(1));
        assert_eq!(source.0.load(Ordering::Relaxed), calls);
        devices.records(&owner, 60, t0 + KEPT);
        assert_eq!(source.0.load(Ordering::Relaxed), calls + 1);
        // The serial is asked in the case the query had; an unknown one has none.
        let lower = Name::from_ascii("sn-1._sztp.sztp.example.").unwrap();
        assert!(devices.records(&lower, 60, t0 + KEPT).is_none());
    }
}
