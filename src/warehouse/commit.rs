//! The load of one [`LoadUnit`] in one transaction (rows upserted through a staging table, the
//! lake partitions they touch recorded, quarantine and state written, then COMMIT), and the reads
//! a load needs (stored hashes, reconciliation ids, report-window hashes).

use std::collections::HashMap;
use std::sync::LazyLock;

use arrow::record_batch::RecordBatch;
use duckdb::{Connection, params};

use super::{Warehouse, quote};
use crate::error::{DuckDbContext, WarehouseError};
use crate::model::{Partition, Quarantined, Table};
use crate::state::StreamState;
use crate::telemetry;

/// Everything one transaction writes for a stream.
#[derive(Default)]
pub struct LoadUnit {
    pub source: &'static str,
    pub account: String,
    pub pipeline: String,
    pub stream: String,
    pub run_id: String,
    /// Rows to upsert, per table.
    pub batches: Vec<(Table, RecordBatch)>,
    /// Tables whose batch here is the complete list for (source, account): rows not in it get
    /// `deleted_at` (full-refresh streams).
    pub full_refresh: Vec<Table>,
    /// Mark rows of this table (for source, account) whose id is not in `_desksync_seen` for
    /// this pipeline and stream with `deleted_at`, then empty the seen list (reconciliation).
    pub mark_missing: Option<Table>,
    pub quarantine: Vec<Quarantined>,
    /// The stream's state after this unit; written in the same transaction.
    pub state: Option<StreamState>,
    /// Rows to delete before the batches are written: a report window being replaced, the
    /// fields or tags of a parent read again.
    pub replace: Vec<Replace>,
    /// Report days this unit loads completely, recorded in `_desksync_windows` (kind `report`).
    pub windows: Vec<WindowLoaded>,
    /// Rows derived from what is loaded, after the batches (see [`super::Derive`]).
    pub derive: Vec<super::Derive>,
}

/// Delete the rows of `table` (for the unit's source and account) that match every `filters`
/// pair and whose `column` is one of `values`.
#[derive(Debug, Clone)]
pub struct Replace {
    pub table: Table,
    pub filters: Vec<(&'static str, String)>,
    pub column: &'static str,
    pub values: Vec<String>,
}

/// A report window loaded by a unit.
#[derive(Debug, Clone)]
pub struct WindowLoaded {
    pub start: chrono::DateTime<chrono::Utc>,
    pub end: chrono::DateTime<chrono::Utc>,
    pub rows: i64,
}

/// What a committed [`LoadUnit`] changed.
#[derive(Debug, Default, Clone, Copy)]
pub struct LoadStats {
    /// Rows inserted, changed, or marked deleted.
    pub rows_written: u64,
    pub quarantined: u64,
}

/// `DESKSYNC_FAILPOINT=before_commit:N` makes the process abort on the N-th commit, after the
/// rows are loaded and before COMMIT: the crash tests use it. Unset in normal use.
fn failpoint_hit() -> bool {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    static TARGET: LazyLock<Option<u64>> =
        LazyLock::new(|| std::env::var("DESKSYNC_FAILPOINT").ok()?.strip_prefix("before_commit:")?.parse().ok());
    match *TARGET {
        Some(n) => COUNTER.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1 == n,
        None => false,
    }
}

impl Warehouse {
    /// Commit a unit in one transaction (see the module docs).
    pub async fn commit(&self, unit: LoadUnit) -> Result<LoadStats, WarehouseError> {
        self.with_writer(move |c, fresh| commit_conn(c, unit, fresh)).await
    }

    /// Stored `content_hash` of the given keys of `table` (`id` is the last primary-key column;
    /// source and account fix the others). Missing keys are absent from the map.
    pub async fn known_hashes(
        &self,
        table: Table,
        source: &'static str,
        account: &str,
        ids: Vec<String>,
    ) -> Result<HashMap<String, Option<String>>, WarehouseError> {
        let account = account.to_string();
        self.with_conn(move |c| {
            let key = table.primary_key().last().expect("primary key");
            if ids.is_empty() {
                return Ok(HashMap::new());
            }
            // The ids go in as one list parameter, so the statement's text is the same for every
            // batch and stays prepared (a list of literals is parsed and planned every time).
            let sql = format!(
                "SELECT {key}, content_hash FROM {} WHERE source = ? AND account = ? AND {key} IN (SELECT unnest(?::VARCHAR[]))",
                table.name()
            );
            let ids = duckdb::types::Value::List(ids.into_iter().map(duckdb::types::Value::Text).collect());
            let rows: Vec<(String, Option<String>)> = c
                .prepare_cached(&sql)
                .and_then(|mut s| {
                    s.query_map(params![source, account, ids], |r| {
                        Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?))
                    })?
                    .collect()
                })
                .ctx("reading stored hashes")?;
            Ok(rows.into_iter().collect())
        })
        .await
    }

    /// Stored `raw` records of rows whose children still have to be fetched (NULL
    /// `content_hash`, see `sources::liveagent`), at most `limit`.
    pub async fn unfinished_raw(
        &self,
        table: Table,
        source: &'static str,
        account: &str,
        limit: usize,
    ) -> Result<Vec<String>, WarehouseError> {
        let account = account.to_string();
        self.with_conn(move |c| {
            let sql = format!(
                "SELECT raw FROM {} WHERE source = ? AND account = ? AND content_hash IS NULL AND raw IS NOT NULL
                 AND deleted_at IS NULL LIMIT {limit}",
                table.name()
            );
            let mut stmt = c.prepare(&sql).ctx("reading rows to retry")?;
            let rows =
                stmt.query_map(params![source, account], |r| r.get::<_, String>(0)).ctx("reading rows to retry")?;
            rows.collect::<Result<Vec<_>, _>>().ctx("reading rows to retry")
        })
        .await
    }

    /// Forget the ids a reconciliation of (pipeline, stream) has seen so far.
    pub async fn clear_seen(&self, pipeline: &str, stream: &str) -> Result<(), WarehouseError> {
        let (p, s) = (pipeline.to_string(), stream.to_string());
        self.with_conn(move |c| {
            c.execute("DELETE FROM _desksync_seen WHERE pipeline = ? AND stream = ?", params![p, s])
                .ctx("clearing reconciliation ids")?;
            Ok(())
        })
        .await
    }

    /// Record ids a reconciliation listing has seen.
    pub async fn add_seen(&self, pipeline: &str, stream: &str, ids: Vec<String>) -> Result<(), WarehouseError> {
        let (p, s) = (pipeline.to_string(), stream.to_string());
        self.with_conn(move |c| {
            let tx = c.transaction().ctx("recording reconciliation ids")?;
            {
                let mut app = tx.appender("_desksync_seen").ctx("recording reconciliation ids")?;
                for id in ids {
                    app.append_row(params![p, s, id]).ctx("recording reconciliation ids")?;
                }
                app.flush().ctx("recording reconciliation ids")?;
            }
            tx.commit().ctx("recording reconciliation ids")?;
            Ok(())
        })
        .await
    }

    /// The sorted content hashes stored per report window (keyed by `window_start` in
    /// microseconds), for the windows of `starts` in `table` (and `scope`, when given).
    pub async fn window_hashes(
        &self,
        table: Table,
        source: &str,
        account: &str,
        scope: Option<&str>,
        starts: Vec<chrono::DateTime<chrono::Utc>>,
    ) -> Result<HashMap<i64, Vec<String>>, WarehouseError> {
        if starts.is_empty() {
            return Ok(HashMap::new());
        }
        let name = table.name();
        let list: Vec<String> =
            starts.iter().map(|t| format!("CAST({} AS TIMESTAMPTZ)", quote(&t.to_rfc3339()))).collect();
        let scope_filter = scope.map(|s| format!(" AND scope = {}", quote(s))).unwrap_or_default();
        let sql = format!(
            "SELECT epoch_us(window_start), list(coalesce(content_hash, '') ORDER BY content_hash)
             FROM {name} WHERE source = ? AND account = ?{scope_filter} AND window_start IN ({})
             GROUP BY 1",
            list.join(", ")
        );
        let (source, account) = (source.to_string(), account.to_string());
        self.with_conn(move |c| {
            let mut stmt = c.prepare(&sql).ctx(format!("reading {name} window hashes"))?;
            let rows = stmt
                .query_map(params![source, account], |r| {
                    let micros: i64 = r.get(0)?;
                    let hashes: duckdb::types::Value = r.get(1)?;
                    let list = match hashes {
                        duckdb::types::Value::List(items) => items
                            .into_iter()
                            .map(|v| match v {
                                duckdb::types::Value::Text(t) => t,
                                _ => String::new(),
                            })
                            .collect(),
                        _ => Vec::new(),
                    };
                    Ok((micros, list))
                })
                .ctx(format!("reading {name} window hashes"))?;
            rows.collect::<Result<HashMap<_, _>, _>>().ctx(format!("reading {name} window hashes"))
        })
        .await
    }
}

/// SQL for a table's lake partition value (`''` when unpartitioned), over alias `s`.
pub fn partition_sql(table: Table, alias: &str) -> String {
    match table.partition() {
        Partition::None => "''".to_string(),
        Partition::Month(col) => {
            format!("coalesce(strftime({alias}.{col}::TIMESTAMP, '%Y-%m'), '__HIVE_DEFAULT_PARTITION__')")
        }
    }
}

pub(crate) type Touched = Vec<(String, String, String)>;

/// Run a statement with `RETURNING source, account, <partition>`; the rows it touched.
/// The statement is kept prepared on the connection (its text is the same for every load of a
/// table): parsing and planning a statement costs DuckDB a few milliseconds each time.
fn returning(tx: &duckdb::Transaction<'_>, sql: &str, args: impl duckdb::Params) -> Result<Touched, duckdb::Error> {
    touched_by(&mut *tx.prepare_cached(sql)?, args)
}

/// [`returning`] for a statement whose text holds values (used once: keeping it would push the
/// statements that are used again out of the connection's cache).
fn returning_once(
    tx: &duckdb::Transaction<'_>,
    sql: &str,
    args: impl duckdb::Params,
) -> Result<Touched, duckdb::Error> {
    touched_by(&mut tx.prepare(sql)?, args)
}

fn touched_by(stmt: &mut duckdb::Statement<'_>, args: impl duckdb::Params) -> Result<Touched, duckdb::Error> {
    stmt.query_map(args, |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?.collect()
}

/// Record the lake partitions of touched rows for the next export.
pub(crate) fn mark_dirty(tx: &duckdb::Transaction<'_>, table: &str, touched: Touched) -> Result<(), WarehouseError> {
    let parts: std::collections::BTreeSet<(String, String, String)> = touched.into_iter().collect();
    if parts.is_empty() {
        return Ok(());
    }
    tx.prepare_cached("INSERT INTO _desksync_publish_dirty VALUES (?) ON CONFLICT DO NOTHING")
        .and_then(|mut s| s.execute(params![table]))
        .ctx(format!("recording {table} for the next publish"))?;
    // One prepared statement per (source, account), its partitions passed as one list: the
    // statement's text stays the same, so DuckDB plans it once per connection.
    let mut by_account: std::collections::BTreeMap<(&str, &str), Vec<duckdb::types::Value>> = Default::default();
    for (source, account, part) in &parts {
        by_account.entry((source, account)).or_default().push(duckdb::types::Value::Text(part.clone()));
    }
    let mut stmt = tx
        .prepare_cached(
            "INSERT INTO _desksync_lake_dirty SELECT ?, ?, ?, unnest(?::VARCHAR[]), 0
             ON CONFLICT DO UPDATE SET seq = _desksync_lake_dirty.seq + 1",
        )
        .ctx(format!("recording lake partitions of {table}"))?;
    for ((source, account), list) in by_account {
        stmt.execute(params![table, source, account, duckdb::types::Value::List(list)])
            .ctx(format!("recording lake partitions of {table}"))?;
    }
    Ok(())
}

/// Which tables a writer connection may fill with a plain INSERT: keyed by (table, source,
/// account), `true` while that slice of the table held no rows when the connection first wrote
/// to it and no plain INSERT has since met a stored key (a first sync, a backfill into an empty
/// warehouse). DuckDB's `ON CONFLICT` costs 4–5× a plain INSERT, and on such a load it never
/// finds a conflict. Forgotten when the connection closes.
pub(crate) type FreshTables = HashMap<(&'static str, &'static str, String), bool>;

/// Why an attempt at a unit stopped.
enum Attempt {
    /// A plain INSERT into this (table, source, account) met a stored key: upsert it from now on.
    Refused((&'static str, &'static str, String)),
    Failed(WarehouseError),
}

impl From<WarehouseError> for Attempt {
    fn from(e: WarehouseError) -> Attempt {
        Attempt::Failed(e)
    }
}

fn commit_conn(c: &mut Connection, unit: LoadUnit, fresh: &mut FreshTables) -> Result<LoadStats, WarehouseError> {
    loop {
        match commit_attempt(c, &unit, fresh) {
            Ok(stats) => return Ok(stats),
            // The transaction was rolled back (dropped); the unit is loaded again from the top,
            // that table through the upsert.
            Err(Attempt::Refused(key)) => {
                tracing::debug!(
                    table = key.0,
                    "a plain insert met a stored key; loading the unit again through the upsert"
                );
                fresh.insert(key, false);
            }
            Err(Attempt::Failed(e)) => return Err(e),
        }
    }
}

fn is_constraint_error(e: &duckdb::Error) -> bool {
    e.to_string().contains("Constraint Error")
}

fn commit_attempt(c: &mut Connection, unit: &LoadUnit, fresh: &mut FreshTables) -> Result<LoadStats, Attempt> {
    let mut plain_inserted = Vec::new();
    let mut stats = LoadStats::default();
    let loading = telemetry::work::start(telemetry::work::Work::Load);
    let tx = c.transaction().ctx("starting the load transaction")?;
    for r in &unit.replace {
        if r.values.is_empty() {
            continue;
        }
        let name = r.table.name();
        let ty =
            |col: &str| r.table.columns().iter().find(|(c, _)| *c == col).map(|(_, t)| t.duckdb()).unwrap_or("VARCHAR");
        let mut filter = String::new();
        for (col, v) in &r.filters {
            filter.push_str(&format!(" AND t.{col} = CAST({} AS {})", quote(v), ty(col)));
        }
        let list: Vec<String> = r.values.iter().map(|v| format!("CAST({} AS {})", quote(v), ty(r.column))).collect();
        // Its text holds the values, so it is prepared for this one use, not kept.
        let touched = returning_once(
            &tx,
            &format!(
                "DELETE FROM {name} AS t WHERE t.source = ? AND t.account = ?{filter} AND t.{} IN ({})
                 RETURNING t.source, t.account, {}",
                r.column,
                list.join(", "),
                partition_sql(r.table, "t")
            ),
            params![unit.source, unit.account],
        )
        .ctx(format!("replacing rows of {name}"))?;
        stats.rows_written += touched.len() as u64;
        mark_dirty(&tx, name, touched)?;
    }
    for (table, batch) in &unit.batches {
        let name = table.name();
        let stage = format!("_stage_{name}");
        let pk = table.primary_key();
        let pk_list = pk.join(", ");
        // One staging table per table and connection, emptied after each use: creating and
        // dropping it per batch is two catalog changes per commit. (A run holds its connection,
        // so its commits reuse them.)
        tx.execute_batch(&format!("CREATE TEMP TABLE IF NOT EXISTS {stage} AS SELECT * FROM {name} LIMIT 0"))
            .ctx(format!("staging {name}"))?;
        if batch.num_rows() > 0 {
            let mut app = tx.appender_to_catalog_and_db(&stage, "temp", "main").ctx(format!("appending to {stage}"))?;
            app.append_record_batch(batch.clone()).ctx(format!("appending to {stage}"))?;
            app.flush().ctx(format!("appending to {stage}"))?;
        }
        let has_deleted_at = table.columns().iter().any(|(c, _)| *c == "deleted_at");
        let set_cols: Vec<String> = table
            .columns()
            .iter()
            .filter(|(c, _)| !pk.contains(c))
            .map(|(c, _)| format!("\"{c}\" = excluded.\"{c}\""))
            .collect();
        let mut where_changed = format!("{name}.content_hash IS DISTINCT FROM excluded.content_hash");
        if has_deleted_at {
            where_changed.push_str(&format!(" OR {name}.deleted_at IS DISTINCT FROM excluded.deleted_at"));
        }
        for col in table.computed_columns() {
            where_changed.push_str(&format!(" OR {name}.{col} IS DISTINCT FROM excluded.{col}"));
        }
        let key = (name, unit.source, unit.account.clone());
        let plain = match fresh.get(&key) {
            Some(p) => *p,
            None => {
                let empty = tx
                    .prepare_cached(&format!(
                        "SELECT count(*) = 0 FROM (SELECT 1 FROM {name} WHERE source = ? AND account = ? LIMIT 1)"
                    ))
                    .and_then(|mut s| s.query_row(params![unit.source, unit.account], |r| r.get::<_, bool>(0)))
                    .ctx(format!("looking for stored rows of {name}"))?;
                fresh.insert(key.clone(), empty);
                empty
            }
        };
        // The conflict check goes through the primary-key index, and RETURNING yields exactly
        // the rows inserted or changed: no scan of the (growing) table per batch. Into a table
        // this connection found empty, a plain INSERT (the key is still enforced: meeting a
        // stored one, the unit is loaded again through the upsert).
        let touched = if plain {
            let insert = format!(
                "INSERT INTO {name} SELECT * FROM {stage} RETURNING source, account, {}",
                partition_sql(*table, name)
            );
            match returning(&tx, &insert, []) {
                Ok(t) => {
                    plain_inserted.push(key);
                    t
                }
                Err(e) if is_constraint_error(&e) => return Err(Attempt::Refused(key)),
                Err(source) => {
                    return Err(Attempt::Failed(WarehouseError::DuckDb {
                        context: format!("inserting into {name}"),
                        source,
                    }));
                }
            }
        } else {
            returning(
                &tx,
                &format!(
                    "INSERT INTO {name} SELECT * FROM {stage} ON CONFLICT ({pk_list}) DO UPDATE SET {} WHERE {where_changed}
                     RETURNING source, account, {}",
                    set_cols.join(", "),
                    partition_sql(*table, name)
                ),
                [],
            )
            .ctx(format!("upserting {name}"))?
        };
        stats.rows_written += touched.len() as u64;
        mark_dirty(&tx, name, touched)?;
        if unit.full_refresh.contains(table) && has_deleted_at {
            let gone = format!(
                "t.source = ? AND t.account = ? AND t.deleted_at IS NULL
                 AND NOT EXISTS (SELECT 1 FROM {stage} s WHERE {})",
                pk.iter().map(|k| format!("s.{k} = t.{k}")).collect::<Vec<_>>().join(" AND ")
            );
            let touched = returning(
                &tx,
                &format!(
                    "UPDATE {name} AS t SET deleted_at = now(), synced_at = now() WHERE {gone}
                     RETURNING t.source, t.account, {}",
                    partition_sql(*table, "t")
                ),
                params![unit.source, unit.account],
            )
            .ctx(format!("marking rows no longer listed in {name}"))?;
            stats.rows_written += touched.len() as u64;
            mark_dirty(&tx, name, touched)?;
        }
        tx.execute_batch(&format!("DELETE FROM {stage}")).ctx(format!("emptying {stage}"))?;
    }
    if let Some(table) = unit.mark_missing {
        let name = table.name();
        let id = table.primary_key().last().expect("primary key");
        let gone = format!(
            "t.source = ? AND t.account = ? AND t.deleted_at IS NULL
             AND t.{id} NOT IN (SELECT id FROM _desksync_seen WHERE pipeline = ? AND stream = ?)"
        );
        let touched = returning(
            &tx,
            &format!(
                "UPDATE {name} AS t SET deleted_at = now(), synced_at = now() WHERE {gone}
                 RETURNING t.source, t.account, {}",
                partition_sql(table, "t")
            ),
            params![unit.source, unit.account, unit.pipeline, unit.stream],
        )
        .ctx(format!("marking rows of {name} the vendor no longer has"))?;
        stats.rows_written += touched.len() as u64;
        mark_dirty(&tx, name, touched)?;
        tx.execute("DELETE FROM _desksync_seen WHERE pipeline = ? AND stream = ?", params![unit.pipeline, unit.stream])
            .ctx("clearing reconciliation ids")?;
    }
    for d in &unit.derive {
        let table = d.table().name();
        let touched = returning(&tx, &d.sql(), params![unit.source, unit.account]).ctx(format!("deriving {table}"))?;
        stats.rows_written += touched.len() as u64;
        mark_dirty(&tx, table, touched)?;
    }
    if !unit.windows.is_empty() {
        // One statement for all of a unit's windows (a month of report days is 31).
        let (p, s) = (quote(&unit.pipeline), quote(&unit.stream));
        let values: Vec<String> = unit
            .windows
            .iter()
            .map(|w| {
                format!(
                    "({p}, {s}, 'report', {}::TIMESTAMPTZ, {}::TIMESTAMPTZ, 'done', {}, NULL, 1, NULL, now())",
                    quote(&w.start.to_rfc3339()),
                    quote(&w.end.to_rfc3339()),
                    w.rows
                )
            })
            .collect();
        tx.execute_batch(&format!(
            "INSERT INTO _desksync_windows VALUES {}
             ON CONFLICT (pipeline, stream, kind, window_start) DO UPDATE SET window_end = excluded.window_end,
               status = 'done', rows = excluded.rows, attempts = _desksync_windows.attempts + 1,
               updated_at = excluded.updated_at",
            values.join(", ")
        ))
        .ctx("recording report windows")?;
    }
    // The same record failing the same way again (every run, until the vendor fixes it) is
    // one row, moved to the latest run, not a row per run.
    for q in &unit.quarantine {
        let again = tx
            .execute(
                "UPDATE _desksync_quarantine SET run_id = ?, quarantined_at = now()
                 WHERE pipeline = ? AND stream = ? AND record_key IS NOT DISTINCT FROM ?
                   AND reason = ? AND raw IS NOT DISTINCT FROM ?",
                params![unit.run_id, unit.pipeline, unit.stream, q.record_key, q.reason, q.raw],
            )
            .ctx("writing quarantined records")?;
        if again == 0 {
            tx.execute(
                "INSERT INTO _desksync_quarantine VALUES (?, ?, ?, ?, ?, ?, now())",
                params![unit.pipeline, unit.stream, unit.run_id, q.record_key, q.reason, q.raw],
            )
            .ctx("writing quarantined records")?;
        }
        stats.quarantined += 1;
    }
    if let Some(state) = &unit.state {
        tx.prepare_cached(
            "INSERT INTO _desksync_state VALUES (?, ?, ?, ?, now())
             ON CONFLICT (pipeline, stream) DO UPDATE SET watermark = excluded.watermark,
             state = excluded.state, updated_at = excluded.updated_at",
        )
        .and_then(|mut s| s.execute(params![unit.pipeline, unit.stream, state.watermark_text(), state.encode()]))
        .ctx("writing stream state")?;
    }
    if failpoint_hit() {
        eprintln!("desksync: DESKSYNC_FAILPOINT reached before COMMIT; aborting the process");
        std::process::abort();
    }
    drop(loading);
    let _committing = telemetry::work::start(telemetry::work::Work::Commit);
    match tx.commit() {
        Ok(()) => {}
        // A key met only at COMMIT: load the unit again, the first plainly inserted table
        // through the upsert.
        Err(e) if is_constraint_error(&e) && !plain_inserted.is_empty() => {
            return Err(Attempt::Refused(plain_inserted.swap_remove(0)));
        }
        Err(source) => {
            return Err(Attempt::Failed(WarehouseError::DuckDb { context: "committing the load".into(), source }));
        }
    }
    // No checkpoint here: a run holds its connection, DuckDB checkpoints at its WAL threshold,
    // and the hold checkpoints once when the run lets go.
    Ok(stats)
}
