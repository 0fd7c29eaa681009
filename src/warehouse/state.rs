//! Stream state: read, show and reset; and `drop`, which deletes what a pipeline loaded.

use duckdb::params;

use super::{Warehouse, quote};
use crate::error::{DuckDbContext, WarehouseError};
use crate::model::Table;
use crate::state::StreamState;

/// What `drop` deleted.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct DropStats {
    /// (table, rows deleted).
    pub rows: Vec<(String, usize)>,
    pub states: usize,
    pub windows: usize,
}

impl Warehouse {
    pub async fn load_state(&self, pipeline: &str, stream: &str) -> Result<StreamState, WarehouseError> {
        let (p, s) = (pipeline.to_string(), stream.to_string());
        self.with_conn(move |c| {
            let mut stmt = c
                .prepare("SELECT state FROM _desksync_state WHERE pipeline = ? AND stream = ?")
                .ctx("reading state")?;
            let mut rows = stmt.query(params![p, s]).ctx("reading state")?;
            match rows.next().ctx("reading state")? {
                Some(row) => {
                    let text: String = row.get(0).ctx("reading state")?;
                    StreamState::decode(&text).map_err(WarehouseError::Invalid)
                }
                None => Ok(StreamState::default()),
            }
        })
        .await
    }

    /// (stream, watermark, state JSON, updated_at) of a pipeline.
    pub async fn show_state(
        &self,
        pipeline: &str,
    ) -> Result<Vec<(String, Option<String>, String, String)>, WarehouseError> {
        let p = pipeline.to_string();
        self.with_conn(move |c| {
            let mut stmt = c
                .prepare(
                    "SELECT stream, watermark, state, strftime(updated_at::TIMESTAMP, '%Y-%m-%d %H:%M:%S UTC')
                     FROM _desksync_state WHERE pipeline = ? ORDER BY stream",
                )
                .ctx("reading state")?;
            let rows = stmt
                .query_map(params![p], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
                .ctx("reading state")?;
            rows.collect::<Result<Vec<_>, _>>().ctx("reading state")
        })
        .await
    }

    /// Forget the state of a pipeline (all streams, or one): the next run starts from scratch.
    /// Rows stay; re-reading them changes nothing unless they changed. Returns how many stream
    /// states and how many ledger windows (report days, backfill windows) were forgotten.
    pub async fn reset_state(&self, pipeline: &str, stream: Option<&str>) -> Result<(usize, usize), WarehouseError> {
        let (p, s) = (pipeline.to_string(), stream.map(str::to_string));
        self.with_conn(move |c| {
            let tx = c.transaction().ctx("resetting state")?;
            let mut n = [0usize; 2];
            for (i, table) in ["_desksync_state", "_desksync_windows"].into_iter().enumerate() {
                n[i] = match &s {
                    Some(s) => {
                        tx.execute(&format!("DELETE FROM {table} WHERE pipeline = ? AND stream = ?"), params![p, s])
                    }
                    None => tx.execute(&format!("DELETE FROM {table} WHERE pipeline = ?"), params![p]),
                }
                .ctx("resetting state")?;
            }
            tx.commit().ctx("resetting state")?;
            Ok((n[0], n[1]))
        })
        .await
    }

    /// Delete what a pipeline loaded: the rows of `tables` for its source and account, and the
    /// state, ledger windows, quarantine and reconciliation ids of `streams` (all of the
    /// pipeline's when `None`), in one transaction. The run history stays. Returns rows deleted
    /// per table, and states and windows forgotten.
    pub async fn drop_data(
        &self,
        pipeline: &str,
        source: &'static str,
        account: &str,
        tables: Vec<Table>,
        streams: Option<Vec<String>>,
    ) -> Result<DropStats, WarehouseError> {
        let (p, a) = (pipeline.to_string(), account.to_string());
        self.with_conn(move |c| {
            let tx = c.transaction().ctx("dropping data")?;
            let mut stats = DropStats::default();
            for t in &tables {
                let n = tx
                    .execute(&format!("DELETE FROM {} WHERE source = ? AND account = ?", t.name()), params![source, a])
                    .ctx(format!("deleting rows of {}", t.name()))?;
                tx.execute(
                    "DELETE FROM _desksync_lake_dirty WHERE \"table\" = ? AND source = ? AND account = ?",
                    params![t.name(), source, a],
                )
                .ctx("dropping lake bookkeeping")?;
                tx.execute("INSERT INTO _desksync_publish_dirty VALUES (?) ON CONFLICT DO NOTHING", params![t.name()])
                    .ctx("recording the table for the next publish")?;
                stats.rows.push((t.name().to_string(), n));
            }
            let filter = match &streams {
                Some(list) => {
                    format!(" AND stream IN ({})", list.iter().map(|s| quote(s)).collect::<Vec<_>>().join(", "))
                }
                None => String::new(),
            };
            let mut counts = [0usize; 2];
            for (i, t) in ["_desksync_state", "_desksync_windows"].into_iter().enumerate() {
                counts[i] = tx
                    .execute(&format!("DELETE FROM {t} WHERE pipeline = ?{filter}"), params![p])
                    .ctx(format!("dropping {t}"))?;
            }
            for t in ["_desksync_quarantine", "_desksync_seen"] {
                tx.execute(&format!("DELETE FROM {t} WHERE pipeline = ?{filter}"), params![p])
                    .ctx(format!("dropping {t}"))?;
            }
            (stats.states, stats.windows) = (counts[0], counts[1]);
            tx.commit().ctx("dropping data")?;
            c.execute_batch("CHECKPOINT").ctx("checkpointing the warehouse")?;
            Ok(stats)
        })
        .await
    }
}
