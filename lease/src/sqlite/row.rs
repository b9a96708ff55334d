//! Reading rows: every row a query selects, and a row's columns as SQLite values, for
//! the decoders of either schema version.

use rusqlite::types::Value;
use rusqlite::{Connection, Row};

use crate::backend::{Loaded, StoreError};

/// Runs `write` in one transaction on `conn`, committed when it succeeds.
pub(super) fn in_transaction(
    conn: &mut Connection,
    write: impl FnOnce(&Connection) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let tx = conn.transaction()?;
    write(&tx)?;
    tx.commit()?;
    Ok(())
}

/// What `each` makes of every row `sql` selects.
pub(super) fn each_row<T>(
    conn: &Connection,
    sql: &str,
    mut each: impl FnMut(&Row<'_>) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    let mut stmt = conn.prepare(sql)?;
    let mut rows = stmt.query([])?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(each(row)?);
    }
    Ok(out)
}

/// Every row `sql` selects into `loaded`: decoded, or reported by `name` with why not.
pub(super) fn load_into<L>(
    conn: &Connection,
    sql: &str,
    loaded: &mut Loaded<L>,
    decode: fn(&Row<'_>) -> Result<L, String>,
    name: fn(&Row<'_>) -> Result<String, StoreError>,
) -> Result<(), StoreError> {
    for result in each_row(conn, sql, |row| {
        Ok(decode(row).map_err(|problem| (name(row), problem)))
    })? {
        match result {
            Ok(lease) => loaded.leases.push(lease),
            Err((name, problem)) => loaded.bad_rows.push(format!("{}: {problem}", name?)),
        }
    }
    Ok(())
}

/// Columns `first..first + N` of `row`, whatever their types.
pub(super) fn values<const N: usize>(row: &Row<'_>, first: usize) -> Result<[Value; N], String> {
    let mut out: [Value; N] = std::array::from_fn(|_| Value::Null);
    for (i, slot) in out.iter_mut().enumerate() {
        *slot = row.get(first + i).map_err(|e| e.to_string())?;
    }
    Ok(out)
}

/// A column that holds text or NULL (anything else reads as NULL).
pub(super) fn text(v: Value) -> Option<String> {
    match v {
        Value::Text(t) => Some(t),
        _ => None,
    }
}

/// A column that holds octets or NULL; `None` for another type.
pub(super) fn octets_or_null(v: Value, column: &str) -> Result<Option<Vec<u8>>, String> {
    match v {
        Value::Null => Ok(None),
        Value::Blob(b) => Ok(Some(b)),
        _ => Err(format!("{column} has the wrong type")),
    }
}

/// The message for a row whose columns are not of the types the schema gives them.
pub(super) const WRONG_TYPE: &str = "a column has the wrong type";
