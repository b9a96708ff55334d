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
    query(
        db,
        "SELECT address, client_id, hw_address, state, starts, expires FROM leases4",
        |r| {
            Ok(Row {
                address: r.get(0)?,
                client_id: r.get(1)?,
                hw_address: r.get(2)?,
                state: r.get(3)?,
                starts: r.get(4)?,
                expires: r.get(5)?,
            })
        },
    )
}

/// The rows `sql` selects, read-only (nothing before the server created the file).
fn query<T>(
    db: &Path,
    sql: &str,
    row: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> Vec<T> {
    if !db.exists() {
        return Vec::new();
    }
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .expect("open lease db");
    let mut stmt = conn.prepare(sql).expect("query");
    stmt.query_map([], row)
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("decode rows")
}

/// Polls `find` every 100 ms until it finds something, or panics after `timeout`
/// with `failure`'s description.
fn poll<T>(
    timeout: std::time::Duration,
    find: impl Fn() -> Option<T>,
    failure: impl Fn() -> String,
) -> T {
    let start = std::time::Instant::now();
    loop {
        if let Some(found) = find() {
            return found;
        }
        assert!(start.elapsed() < timeout, "{}", failure());
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
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
    poll(
        timeout,
        || for_hw(db, hw).filter(|r| pred(r)),
        || {
            format!(
                "no lease for {hw} became {what} within {timeout:?}; rows: {:?}",
                all(db)
            )
        },
    )
}

/// A DHCPv6 lease row: `resource` is the address, or prefix/length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row6 {
    pub resource: String,
    pub kind: String,
    pub duid: Option<String>,
    pub state: String,
    pub expires: i64,
}

pub fn all6(db: &Path) -> Vec<Row6> {
    query(
        db,
        "SELECT resource, type, duid, state, expires FROM leases6 ORDER BY resource",
        |r| {
            Ok(Row6 {
                resource: r.get(0)?,
                kind: r.get(1)?,
                duid: r.get(2)?,
                state: r.get(3)?,
                expires: r.get(4)?,
            })
        },
    )
}

/// Polls until some DHCPv6 row satisfies `pred`, or panics after `timeout`.
pub fn wait_for6(
    db: &Path,
    timeout: std::time::Duration,
    what: &str,
    pred: impl Fn(&Row6) -> bool,
) -> Row6 {
    poll(
        timeout,
        || all6(db).into_iter().find(|r| pred(r)),
        || format!("no DHCPv6 lease {what} within {timeout:?}: {:?}", all6(db)),
    )
}
