//! Progress reports (RFC 8572 §7.3) and the requests each device made (with their
//! status code and outcome, refusals included) kept per device in SQLite, so operators
//! can list them (`zerotouchctl reports`, the status endpoint), see why a device failed,
//! and inspect them with sqlite3. Each device keeps its latest reports, at most
//! [`KEEP_PER_DEVICE`], and its latest requests, at most [`KEEP_REQUESTS_PER_DEVICE`].

use std::path::Path;
use std::sync::Mutex;
use std::time::UNIX_EPOCH;

use rusqlite::{Connection, OpenFlags, params};
use serde::{Deserialize, Serialize};
use zerotouch_plugin::BootstrapProgress;

use crate::pki::date_and_time;

/// Reports kept per device; older ones are deleted as new ones arrive.
pub const KEEP_PER_DEVICE: i64 = 1000;
/// Requests kept per device.
pub const KEEP_REQUESTS_PER_DEVICE: i64 = 100;
/// Requests are pruned once every this many inserts.
const PRUNE_EVERY: i64 = 64;
/// Requests kept in all: serials named by unauthenticated requests cannot fill the disk.
pub const KEEP_REQUESTS: i64 = 100_000;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS progress (
    id INTEGER PRIMARY KEY,
    serial TEXT NOT NULL,
    received TEXT NOT NULL,
    progress_type TEXT NOT NULL,
    message TEXT,
    ssh_host_keys TEXT NOT NULL,
    trust_anchor_certs TEXT NOT NULL,
    peer TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS progress_by_serial ON progress (serial, id);
CREATE TABLE IF NOT EXISTS requests (
    id INTEGER PRIMARY KEY,
    serial TEXT NOT NULL,
    received TEXT NOT NULL,
    peer TEXT NOT NULL,
    rpc TEXT NOT NULL,
    status INTEGER NOT NULL,
    outcome TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS requests_by_serial ON requests (serial, id);
";

/// One request a device made: what it asked, what it was answered and why.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct StoredRequest {
    pub received: String,
    pub peer: String,
    /// `get-bootstrapping-data` or `report-progress`.
    pub rpc: String,
    /// The HTTP status code of the answer.
    pub status: u16,
    /// What was sent, or why the request was refused.
    pub outcome: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SshHostKey {
    pub algorithm: String,
    pub key_data: String,
}

/// One stored report.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct StoredReport {
    pub received: String,
    pub progress_type: String,
    pub message: Option<String>,
    pub ssh_host_keys: Vec<SshHostKey>,
    pub trust_anchor_certs: Vec<String>,
    pub peer: String,
}

/// Where a device stands, from its reports since its last `bootstrap-initiated`, and
/// its last request.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DeviceStatus {
    pub serial: String,
    /// `in-progress`, `complete`, `rebooting` (a new image is being booted) or `error`
    /// from its reports; with no report yet, `refused` when its last request was
    /// refused, else `contacted`.
    pub state: &'static str,
    /// `-` when it has not reported.
    pub last_progress_type: String,
    pub last_message: Option<String>,
    /// When it last reported, else when it last asked.
    pub last_received: String,
    pub reports: usize,
    /// Requests kept for it.
    pub requests: usize,
    /// Its last request, with the status code and outcome.
    pub last_request: Option<StoredRequest>,
}

/// The state a sequence of progress types leads to.
pub fn state<'a>(types: impl IntoIterator<Item = &'a str>) -> &'static str {
    let mut state = "in-progress";
    for t in types {
        state = match t {
            "bootstrap-initiated" => "in-progress",
            "bootstrap-complete" => "complete",
            "boot-image-installed-rebooting" => "rebooting",
            t if t.ends_with("-error") => "error",
            _ if state == "rebooting" => "in-progress",
            _ => state,
        };
    }
    state
}

#[derive(Debug, thiserror::Error)]
#[error("progress reports in {path}: {source}")]
pub struct ReportsError {
    path: String,
    source: rusqlite::Error,
}

pub struct Reports {
    path: String,
    conn: Mutex<Connection>,
}

impl Reports {
    /// Opens (creating if needed) the database for writing.
    pub fn open(path: &Path) -> Result<Self, ReportsError> {
        let err = |source| ReportsError {
            path: path.display().to_string(),
            source,
        };
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let conn = Connection::open(path).map_err(err)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(err)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(err)?;
        conn.execute_batch(SCHEMA).map_err(err)?;
        Ok(Reports {
            path: path.display().to_string(),
            conn: Mutex::new(conn),
        })
    }

    /// Opens an existing database to read (the command line, while the server runs).
    pub fn open_read_only(path: &Path) -> Result<Self, ReportsError> {
        let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(
            |source| ReportsError {
                path: path.display().to_string(),
                source,
            },
        )?;
        Ok(Reports {
            path: path.display().to_string(),
            conn: Mutex::new(conn),
        })
    }

    fn err(&self, source: rusqlite::Error) -> ReportsError {
        ReportsError {
            path: self.path.clone(),
            source,
        }
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Stores a report. Blocking.
    pub fn add(
        &self,
        r: &BootstrapProgress,
        trust_anchor_certs: &[String],
    ) -> Result<(), ReportsError> {
        let keys: Vec<SshHostKey> = r
            .ssh_host_keys
            .iter()
            .map(|(a, k)| SshHostKey {
                algorithm: a.clone(),
                key_data: k.clone(),
            })
            .collect();
        let received = date_and_time(r.received).unwrap_or_else(|_| {
            let secs = r
                .received
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            secs.to_string()
        });
        let conn = self.conn();
        conn.execute(
            "INSERT INTO progress (serial, received, progress_type, message, ssh_host_keys, trust_anchor_certs, peer) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                r.serial,
                received,
                r.progress_type,
                r.message,
                serde_json::to_string(&keys).unwrap_or_default(),
                serde_json::to_string(trust_anchor_certs).unwrap_or_default(),
                r.peer.to_string(),
            ],
        )
        .map_err(|e| self.err(e))?;
        conn.execute(
            "DELETE FROM progress WHERE serial = ?1 AND id <= (SELECT id FROM progress WHERE serial = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)",
            params![r.serial, KEEP_PER_DEVICE],
        )
        .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Stores a request a device (or something naming it) made. Blocking.
    pub fn add_request(&self, serial: &str, r: &StoredRequest) -> Result<(), ReportsError> {
        let conn = self.conn();
        conn.prepare_cached(
            "INSERT INTO requests (serial, received, peer, rpc, status, outcome) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .and_then(|mut insert| {
            insert.execute(params![serial, r.received, r.peer, r.rpc, r.status, r.outcome])
        })
        .map_err(|e| self.err(e))?;
        // Old requests go in one pass every PRUNE_EVERY inserts, not on each: a request
        // costs one insert. Readers see at most that many more than the bound.
        if conn.last_insert_rowid() % PRUNE_EVERY == 0 {
            self.prune_requests(&conn)?;
        }
        Ok(())
    }

    /// Deletes all but each device's last [`KEEP_REQUESTS_PER_DEVICE`] requests and all
    /// but the last [`KEEP_REQUESTS`].
    fn prune_requests(&self, conn: &Connection) -> Result<(), ReportsError> {
        conn.execute(
            "DELETE FROM requests WHERE id <= (SELECT MAX(id) FROM requests) - ?1
             OR id IN (SELECT id FROM (SELECT id, ROW_NUMBER() OVER (PARTITION BY serial ORDER BY id DESC) AS n FROM requests) WHERE n > ?2)",
            params![KEEP_REQUESTS, KEEP_REQUESTS_PER_DEVICE],
        )
        .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// A device's requests, oldest first.
    pub fn requests(&self, serial: &str) -> Result<Vec<StoredRequest>, ReportsError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(
                "SELECT received, peer, rpc, status, outcome FROM requests WHERE serial = ?1 ORDER BY id",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([serial], |row| {
                Ok(StoredRequest {
                    received: row.get(0)?,
                    peer: row.get(1)?,
                    rpc: row.get(2)?,
                    status: row.get(3)?,
                    outcome: row.get(4)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.err(e))
    }

    /// A device's reports, oldest first.
    pub fn reports(&self, serial: &str) -> Result<Vec<StoredReport>, ReportsError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(
                "SELECT received, progress_type, message, ssh_host_keys, trust_anchor_certs, peer FROM progress WHERE serial = ?1 ORDER BY id",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([serial], |row| {
                let keys: String = row.get(3)?;
                let anchors: String = row.get(4)?;
                Ok(StoredReport {
                    received: row.get(0)?,
                    progress_type: row.get(1)?,
                    message: row.get(2)?,
                    ssh_host_keys: serde_json::from_str(&keys).unwrap_or_default(),
                    trust_anchor_certs: serde_json::from_str(&anchors).unwrap_or_default(),
                    peer: row.get(5)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.err(e))
    }

    /// Each device that reported, with where it stands, by serial number.
    pub fn devices(&self) -> Result<Vec<DeviceStatus>, ReportsError> {
        let serials: Vec<String> = {
            let conn = self.conn();
            let mut stmt = conn
                .prepare_cached(
                    "SELECT serial FROM progress UNION SELECT serial FROM requests ORDER BY serial",
                )
                .map_err(|e| self.err(e))?;
            let rows = stmt
                .query_map([], |row| row.get(0))
                .map_err(|e| self.err(e))?;
            rows.collect::<Result<Vec<_>, _>>()
                .map_err(|e| self.err(e))?
        };
        let mut out = Vec::with_capacity(serials.len());
        for serial in serials {
            if let Some(s) = self.status(&serial)? {
                out.push(s);
            }
        }
        Ok(out)
    }

    /// Where one device stands, if it ever reported or asked.
    pub fn status(&self, serial: &str) -> Result<Option<DeviceStatus>, ReportsError> {
        let reports = self.reports(serial)?;
        let requests = self.requests(serial)?;
        let last_request = requests.last().cloned();
        let status = match (reports.last(), &last_request) {
            (None, None) => return Ok(None),
            (Some(last), _) => DeviceStatus {
                serial: serial.to_string(),
                state: state(reports.iter().map(|r| r.progress_type.as_str())),
                last_progress_type: last.progress_type.clone(),
                last_message: last.message.clone(),
                last_received: last.received.clone(),
                reports: reports.len(),
                requests: requests.len(),
                last_request,
            },
            (None, Some(r)) => DeviceStatus {
                serial: serial.to_string(),
                state: if r.status >= 400 {
                    "refused"
                } else {
                    "contacted"
                },
                last_progress_type: "-".into(),
                last_message: None,
                last_received: r.received.clone(),
                reports: 0,
                requests: requests.len(),
                last_request,
            },
        };
        Ok(Some(status))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::SystemTime;

    #[test]
    fn states_follow_the_device_algorithm() {
        assert_eq!(
            state(["bootstrap-initiated", "parsing-complete"]),
            "in-progress"
        );
        assert_eq!(state(["bootstrap-initiated", "config-error"]), "error");
        assert_eq!(
            state(["bootstrap-initiated", "config-error", "bootstrap-initiated"]),
            "in-progress"
        );
        assert_eq!(
            state(["bootstrap-initiated", "bootstrap-complete", "informational"]),
            "complete"
        );
        assert_eq!(state(["boot-image-installed-rebooting"]), "rebooting");
    }

    #[test]
    fn reports_are_stored_per_device_and_listed() {
        // The folder goes with the test, the database's -wal and -shm files with it.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("reports.sqlite");
        let reports = Reports::open(&path).unwrap();
        let report = |serial: &str, t: &str| BootstrapProgress {
            serial: serial.into(),
            progress_type: t.into(),
            message: Some(format!("{t} now")),
            ssh_host_keys: vec![("ssh-ed25519".into(), "AAAA".into())],
            peer: "198.18.0.2:40000".parse().unwrap(),
            received: SystemTime::now(),
        };
        reports
            .add(&report("SN1", "bootstrap-initiated"), &[])
            .unwrap();
        reports
            .add(&report("SN1", "bootstrap-complete"), &["bXlz".into()])
            .unwrap();
        reports
            .add(&report("SN2", "bootstrap-initiated"), &[])
            .unwrap();
        let ro = Reports::open_read_only(&path).unwrap();
        let devices = ro.devices().unwrap();
        assert_eq!(devices.len(), 2);
        assert_eq!(
            (devices[0].serial.as_str(), devices[0].state),
            ("SN1", "complete")
        );
        assert_eq!(devices[1].state, "in-progress");
        let r = ro.reports("SN1").unwrap();
        assert_eq!(r[1].ssh_host_keys[0].algorithm, "ssh-ed25519");
        assert_eq!(r[1].trust_anchor_certs, vec!["bXlz".to_string()]);
        assert_eq!(ro.status("SN3").unwrap(), None);
        drop((reports, ro));
    }

    #[test]
    fn requests_are_kept_per_device_refusals_included_and_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let reports = Reports::open(&dir.path().join("reports.sqlite")).unwrap();
        let request = |status: u16, outcome: &str| StoredRequest {
            received: "2026-12-04T09:00:00Z".into(),
            peer: "198.18.0.2:40000".into(),
            rpc: "get-bootstrapping-data".into(),
            status,
            outcome: outcome.into(),
        };
        reports
            .add_request("SN-R", &request(401, "unknown device \"SN-R\""))
            .unwrap();
        // A device that only ever was refused is listed, and says why.
        let s = reports.status("SN-R").unwrap().unwrap();
        assert_eq!((s.state, s.reports, s.requests), ("refused", 0, 1));
        assert_eq!(s.last_request.unwrap().outcome, "unknown device \"SN-R\"");
        assert_eq!(reports.devices().unwrap().len(), 1);
        for i in 0..(KEEP_REQUESTS_PER_DEVICE + 5) {
            reports
                .add_request("SN-R", &request(200, &format!("onboarding {i}")))
                .unwrap();
        }
        // Pruned in passes: never more than PRUNE_EVERY over the bound.
        let bound = KEEP_REQUESTS_PER_DEVICE..KEEP_REQUESTS_PER_DEVICE + PRUNE_EVERY;
        let kept = reports.requests("SN-R").unwrap().len() as i64;
        assert!(bound.contains(&kept), "{kept}");
        for i in 0..PRUNE_EVERY * 3 {
            reports
                .add_request("SN-R", &request(200, &format!("more {i}")))
                .unwrap();
            reports
                .add_request("SN-S", &request(200, &format!("other {i}")))
                .unwrap();
        }
        let kept = reports.requests("SN-R").unwrap();
        assert!(bound.contains(&(kept.len() as i64)), "{}", kept.len());
        assert!(bound.contains(&(reports.requests("SN-S").unwrap().len() as i64)));
        assert_eq!(
            kept.last().unwrap().outcome,
            format!("more {}", PRUNE_EVERY * 3 - 1)
        );
        assert_eq!(reports.status("SN-R").unwrap().unwrap().state, "contacted");
    }
}
