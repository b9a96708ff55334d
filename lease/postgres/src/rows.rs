//! What both families' tables share: the last change of each lease in a batch, and
//! rows read back into leases.

use std::collections::HashMap;

use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Row};
use zerotouch_lease::{Loaded, StoreError};

use crate::connect::PgConfig;

/// The last change of each lease in `leases`: one statement may touch a row once.
pub(crate) fn last_of_each<L, K: std::hash::Hash + Eq>(
    leases: &[L],
    key: impl Fn(&L) -> K,
) -> Vec<&L> {
    let mut at = HashMap::with_capacity(leases.len());
    for (i, l) in leases.iter().enumerate() {
        at.insert(key(l), i);
    }
    let mut last: Vec<usize> = at.into_values().collect();
    last.sort_unstable();
    last.into_iter().map(|i| &leases[i]).collect()
}

/// Every row `select` returns, decoded; a row that does not decode is described.
pub(crate) async fn load<L>(
    client: &Client,
    cfg: &PgConfig,
    select: &str,
    decode: impl Fn(&Row) -> Result<L, String>,
) -> Result<Loaded<L>, StoreError> {
    let rows = client.query(select, &[]).await.map_err(|e| cfg.sql(e))?;
    let mut loaded = Loaded {
        leases: Vec::with_capacity(rows.len()),
        bad_rows: Vec::new(),
    };
    for row in &rows {
        match decode(row) {
            Ok(l) => loaded.leases.push(l),
            Err(why) => loaded.bad_rows.push(why),
        }
    }
    Ok(loaded)
}

/// The one row `select` returns for `params`, if any and readable.
pub(crate) async fn get<L>(
    client: &Client,
    cfg: &PgConfig,
    select: &str,
    params: &[&(dyn ToSql + Sync)],
    decode: impl Fn(&Row) -> Result<L, String>,
) -> Result<Option<L>, StoreError> {
    let row = client
        .query_opt(select, params)
        .await
        .map_err(|e| cfg.sql(e))?;
    Ok(row.and_then(|r| decode(&r).ok()))
}
