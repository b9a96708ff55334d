//! Reading the server's lease database, as an operator would, while it runs.

use std::path::Path;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub address: String,
    pub client_id: Option<String>,
    pub hw_address: String,
    pub state: String,
    pub starts: i64,
    pub expires: i64,
}

pub fn all(db: &Path) -> Vec<Row> {
    if !db.exists() {
        return Vec::new();
    }
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .expect("open lease db");
    let mut stmt = conn
        .prepare("SELECT address, client_id, hw_address, state, starts, expires FROM leases4")
        .expect("query");
    stmt.query_map([], |r| {
        Ok(Row {
            address: r.get(0)?,
            client_id: r.get(1)?,
            hw_address: r.get(2)?,
            state: r.get(3)?,
            starts: r.get(4)?,
            expires: r.get(5)?,
        })
    })
    .expect("rows")
    .collect::<Result<_, _>>()
    .expect("decode rows")
}

/// The lease row for hardware address `hw` (aa:bb:..), if any.
pub fn for_hw(db: &Path, hw: &str) -> Option<Row> {
    all(db)
        .into_iter()
        .find(|r| r.hw_address.eq_ignore_ascii_case(hw))
}

/// Polls until `pred` holds for some row of `hw`, or panics after `timeout`.
pub fn wait_for(
    db: &Path,
    hw: &str,
    timeout: std::time::Duration,
    what: &str,
    pred: impl Fn(&Row) -> bool,
) -> Row {
    let start = std::time::Instant::now();
    loop {
        if let Some(r) = for_hw(db, hw).filter(|r| pred(r)) {
            return r;
        }
        assert!(
            start.elapsed() < timeout,
            "no lease for {hw} became {what} within {timeout:?}; rows: {:?}",
            all(db)
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}
