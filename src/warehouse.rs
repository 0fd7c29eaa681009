//! The DuckDB warehouse: schema migrations, the transactional load of a batch with its stream
//! state, run history, quarantine and the lake's dirty-partition ledger.
//!
//! The file is opened only for the length of one operation and closed after, so an analyst can
//! open it between loads. When another process holds its lock, the operation waits with
//! backoff (saying so) up to `warehouse.lock_timeout`. Inside this process one mutex per file
//! serialises access: two DuckDB instances on one file in one process would corrupt it, because
//! POSIX file locks do not exclude a process from itself.
//!
//! A [`LoadUnit`] commits in ONE transaction: each table's rows are appended to a staging table
//! through DuckDB's Arrow appender and upserted with one `INSERT … ON CONFLICT DO UPDATE … WHERE
//! changed` statement; the partitions they touch are recorded for the lake; quarantined records
//! and the stream's new state are written; then COMMIT. A crash anywhere before COMMIT leaves the
//! previous state and rows; the next run resumes from there.
//!
//! Migrations: `schema/NNN_*.sql` files, listed in [`MIGRATIONS`], applied in order and recorded
//! in `_desksync_schema`. Each file must be idempotent (`IF NOT EXISTS`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

use arrow::record_batch::RecordBatch;
use duckdb::{Connection, params};

use crate::error::{DuckDbContext, WarehouseError};
use crate::model::{Partition, Quarantined, Table};
use crate::state::StreamState;
use crate::telemetry;

/// Schema files in order. Append only; never edit a released one.
pub const MIGRATIONS: &[(i32, &str, &str)] = &[
    (1, "001_core.sql", include_str!("../schema/001_core.sql")),
    (2, "002_liveagent.sql", include_str!("../schema/002_liveagent.sql")),
    (3, "003_livezilla.sql", include_str!("../schema/003_livezilla.sql")),
    (4, "004_liveforce.sql", include_str!("../schema/004_liveforce.sql")),
    (5, "005_views.sql", include_str!("../schema/005_views.sql")),
    (6, "006_views.sql", include_str!("../schema/006_views.sql")),
];

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
    /// Statements run after the batches, each `RETURNING source, account, <partition>` so the
    /// lake learns what changed (e.g. agents known only from message authors).
    pub extra: Vec<Extra>,
}

/// What `drop` deleted.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct DropStats {
    /// (table, rows deleted).
    pub rows: Vec<(String, usize)>,
    pub states: usize,
    pub windows: usize,
}

/// One run as `_desksync_runs` records it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RunRecord {
    pub run_id: String,
    pub pipeline: String,
    pub status: String,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub elapsed_ms: Option<i64>,
    pub rows_written: Option<i64>,
    pub requests: Option<i64>,
    pub streams: Vec<crate::pipeline::StreamSummary>,
    pub error: Option<String>,
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

/// A statement with text parameters that writes to `table`.
#[derive(Debug, Clone)]
pub struct Extra {
    pub table: Table,
    pub sql: String,
    pub args: Vec<String>,
}

/// What a committed [`LoadUnit`] changed.
#[derive(Debug, Default, Clone, Copy)]
pub struct LoadStats {
    /// Rows inserted, changed, or marked deleted.
    pub rows_written: u64,
    pub quarantined: u64,
}

/// A handle on the warehouse file; cheap to clone.
#[derive(Clone, Debug)]
pub struct Warehouse {
    path: PathBuf,
    lock_timeout: Duration,
    memory_limit: String,
}

static FILE_LOCKS: LazyLock<Mutex<HashMap<PathBuf, Arc<Mutex<()>>>>> = LazyLock::new(Default::default);

fn file_lock(path: &Path) -> Arc<Mutex<()>> {
    let key = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    FILE_LOCKS.lock().expect("file locks").entry(key).or_default().clone()
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
    pub fn new(path: impl Into<PathBuf>, lock_timeout: Duration) -> Warehouse {
        Warehouse { path: path.into(), lock_timeout, memory_limit: "256MB".into() }
    }

    /// The warehouse as `desksync.toml` configures it.
    pub fn from_settings(path: impl Into<PathBuf>, s: &crate::config::WarehouseSettings) -> Warehouse {
        Warehouse { path: path.into(), lock_timeout: s.lock_timeout, memory_limit: s.memory_limit.clone() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Run `f` on a freshly opened connection in a blocking thread; the file is closed after.
    pub async fn with_conn<T, F>(&self, f: F) -> Result<T, WarehouseError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, WarehouseError> + Send + 'static,
    {
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.with_conn_blocking(f))
            .await
            .map_err(|e| WarehouseError::Task(e.to_string()))?
    }

    pub fn with_conn_blocking<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, WarehouseError>,
    ) -> Result<T, WarehouseError> {
        let lock = file_lock(&self.path);
        let _guard = lock.lock().unwrap_or_else(|p| p.into_inner());
        let mut conn = self.open_waiting(false)?;
        let out = f(&mut conn);
        drop(conn);
        out
    }

    /// Run `f` on a read-only connection (analysts' ad-hoc queries): nothing it runs can write.
    pub async fn with_read_only<T, F>(&self, f: F) -> Result<T, WarehouseError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, WarehouseError> + Send + 'static,
    {
        let this = self.clone();
        tokio::task::spawn_blocking(move || {
            let lock = file_lock(&this.path);
            let _guard = lock.lock().unwrap_or_else(|p| p.into_inner());
            let mut conn = this.open_waiting(true)?;
            f(&mut conn)
        })
        .await
        .map_err(|e| WarehouseError::Task(e.to_string()))?
    }

    fn open_waiting(&self, read_only: bool) -> Result<Connection, WarehouseError> {
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty() && !read_only) {
            std::fs::create_dir_all(dir)
                .map_err(|source| WarehouseError::Io { context: format!("creating {}", dir.display()), source })?;
        }
        let started = Instant::now();
        let mut delay = Duration::from_millis(100);
        let mut announced = false;
        loop {
            let config = duckdb::Config::default()
                .enable_autoload_extension(false)
                .and_then(|c| {
                    c.access_mode(if read_only { duckdb::AccessMode::ReadOnly } else { duckdb::AccessMode::ReadWrite })
                })
                .and_then(|c| c.max_memory(&self.memory_limit))
                .ctx(format!("configuring DuckDB (warehouse.memory_limit = {:?})", self.memory_limit))?;
            match Connection::open_with_flags(&self.path, config) {
                Ok(c) => return Ok(c),
                Err(e) => {
                    let msg = e.to_string();
                    if !(msg.contains("lock") || msg.contains("Conflicting")) {
                        return Err(e).ctx(format!("opening the warehouse {}", self.path.display()));
                    }
                    let holder = msg
                        .find("(PID")
                        .and_then(|i| msg[i..].find(')').map(|j| format!(" {}", &msg[i..=i + j])))
                        .unwrap_or_default();
                    let waited = started.elapsed();
                    if waited >= self.lock_timeout {
                        return Err(WarehouseError::Locked { path: self.path.clone(), holder, waited });
                    }
                    if !announced || delay >= Duration::from_secs(5) {
                        telemetry::warehouse_locked(&self.path, &holder, waited);
                        announced = true;
                    }
                    std::thread::sleep(delay.min(self.lock_timeout.saturating_sub(waited)));
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
            }
        }
    }

    /// Apply pending migrations.
    pub async fn migrate(&self) -> Result<(), WarehouseError> {
        self.with_conn(migrate_conn).await
    }

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
            let list = ids.iter().map(|i| format!("'{}'", i.replace('\'', "''"))).collect::<Vec<_>>().join(",");
            if list.is_empty() {
                return Ok(HashMap::new());
            }
            let sql = format!(
                "SELECT {key}, content_hash FROM {} WHERE source = ? AND account = ? AND {key} IN ({list})",
                table.name()
            );
            let mut stmt = c.prepare(&sql).ctx("reading stored hashes")?;
            let rows = stmt
                .query_map(params![source, account], |r| Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?)))
                .ctx("reading stored hashes")?;
            let mut out = HashMap::new();
            for r in rows {
                let (k, h) = r.ctx("reading stored hashes")?;
                out.insert(k, h);
            }
            Ok(out)
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

    /// Commit a unit in one transaction (see the module docs).
    pub async fn commit(&self, unit: LoadUnit) -> Result<LoadStats, WarehouseError> {
        self.with_conn(move |c| commit_conn(c, unit)).await
    }

    pub async fn start_run(&self, run_id: &str, pipeline: &str) -> Result<(), WarehouseError> {
        let (r, p) = (run_id.to_string(), pipeline.to_string());
        self.with_conn(move |c| {
            // A run still 'running' in the history was cut off (crash, kill): say so.
            c.execute(
                "UPDATE _desksync_runs SET status = 'abandoned', finished_at = now(),
                 error = coalesce(error, 'the process stopped before the run finished')
                 WHERE pipeline = ? AND status = 'running'",
                params![p],
            )
            .ctx("recording the run")?;
            c.execute(
                "INSERT INTO _desksync_runs (run_id, pipeline, started_at, status) VALUES (?, ?, now(), 'running')",
                params![r, p],
            )
            .ctx("recording the run")?;
            Ok(())
        })
        .await
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn finish_run(
        &self,
        run_id: &str,
        status: &str,
        rows: u64,
        requests: u64,
        streams_json: String,
        error: Option<String>,
    ) -> Result<(), WarehouseError> {
        let (r, s) = (run_id.to_string(), status.to_string());
        self.with_conn(move |c| {
            c.execute(
                "UPDATE _desksync_runs SET finished_at = now(), status = ?, rows_written = ?, requests = ?,
                 streams = ?, error = ? WHERE run_id = ?",
                params![s, rows as i64, requests as i64, streams_json, error, r],
            )
            .ctx("recording the run")?;
            Ok(())
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

    /// The run history, newest first: every run of `pipeline` (or of all), at most `last`.
    pub async fn runs(&self, pipeline: Option<&str>, last: usize) -> Result<Vec<RunRecord>, WarehouseError> {
        let p = pipeline.map(str::to_string);
        self.with_conn(move |c| {
            let filter = if p.is_some() { "WHERE pipeline = ?" } else { "" };
            let mut stmt = c
                .prepare(&format!(
                    "SELECT run_id, pipeline, status, strftime(started_at::TIMESTAMP, '%Y-%m-%dT%H:%M:%SZ'),
                            strftime(finished_at::TIMESTAMP, '%Y-%m-%dT%H:%M:%SZ'),
                            epoch_ms(finished_at) - epoch_ms(started_at), rows_written, requests, streams, error
                     FROM _desksync_runs {filter} ORDER BY started_at DESC LIMIT {last}"
                ))
                .ctx("reading the run history")?;
            let map = |r: &duckdb::Row<'_>| -> duckdb::Result<RunRecord> {
                let streams: Option<String> = r.get(8)?;
                Ok(RunRecord {
                    run_id: r.get(0)?,
                    pipeline: r.get(1)?,
                    status: r.get(2)?,
                    started_at: r.get(3)?,
                    finished_at: r.get(4)?,
                    elapsed_ms: r.get(5)?,
                    rows_written: r.get(6)?,
                    requests: r.get(7)?,
                    streams: streams.and_then(|s| serde_json::from_str(&s).ok()).unwrap_or_default(),
                    error: r.get(9)?,
                })
            };
            let rows = match &p {
                Some(p) => stmt.query_map(params![p], map),
                None => stmt.query_map([], map),
            }
            .ctx("reading the run history")?;
            rows.collect::<Result<Vec<_>, _>>().ctx("reading the run history")
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

    /// Publish a consistent copy of the warehouse at `target`: copied inside one DuckDB
    /// transaction into a temporary file beside it, synced, then renamed over the old copy.
    /// Readers holding the old copy open keep reading it (the rename does not touch their open
    /// file); the next open sees the new one. Returns the bytes published.
    pub async fn publish(&self, target: &Path) -> Result<u64, WarehouseError> {
        let target = target.to_path_buf();
        self.with_conn(move |c| {
            // A name of its own per publish; the copy, fsync and rename all happen while this
            // connection holds the warehouse (in-process mutex and DuckDB's file lock), so two
            // pipelines or processes publishing at once never mix files nor go back in time.
            let tmp = target.with_extension(format!("duckdb.publishing-{}", uuid::Uuid::now_v7()));
            // Copies left by a process that died mid-publish: nobody else can be publishing now.
            if let (Some(dir), Some(stem)) = (target.parent(), target.file_stem().and_then(|s| s.to_str())) {
                let prefix = format!("{stem}.duckdb.publishing-");
                for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                    if entry.file_name().to_str().is_some_and(|n| n.starts_with(&prefix)) {
                        let _ = std::fs::remove_file(entry.path());
                    }
                }
            }
            let main: String = c.query_row("SELECT current_database()", [], |r| r.get(0)).ctx("naming the warehouse")?;
            let path = tmp.to_string_lossy().replace('\'', "''");
            let copied = c
                .execute_batch(&format!(
                    "ATTACH '{path}' AS desksync_publish; COPY FROM DATABASE \"{main}\" TO desksync_publish; DETACH desksync_publish;"
                ))
                .ctx(format!("copying the warehouse to {}", tmp.display()));
            if let Err(e) = copied {
                let _ = std::fs::remove_file(&tmp);
                return Err(e);
            }
            let io = |e: std::io::Error| WarehouseError::Invalid(format!("publishing {}: {e}", target.display()));
            let finish = || -> Result<u64, WarehouseError> {
                let f = std::fs::File::open(&tmp).map_err(io)?;
                f.sync_all().map_err(io)?;
                let bytes = f.metadata().map_err(io)?.len();
                std::fs::rename(&tmp, &target).map_err(io)?;
                Ok(bytes)
            };
            let bytes = match finish() {
                Ok(b) => b,
                Err(e) => {
                    // Never leave the temporary copy behind (a directory in the way, a full disk).
                    let _ = std::fs::remove_file(&tmp);
                    return Err(e);
                }
            };
            if let Some(dir) = target.parent()
                && let Ok(d) = std::fs::File::open(dir)
            {
                let _ = d.sync_all();
            }
            Ok(bytes)
        })
        .await
    }

    /// Backfill windows of a pipeline already done: (stream, window start).
    pub async fn backfill_done(
        &self,
        pipeline: &str,
    ) -> Result<std::collections::BTreeSet<(String, i64)>, WarehouseError> {
        let p = pipeline.to_string();
        self.with_conn(move |c| {
            let mut stmt = c
                .prepare(
                    "SELECT stream, epoch_us(window_start) FROM _desksync_windows
                     WHERE pipeline = ? AND kind = 'backfill' AND status = 'done'",
                )
                .ctx("reading the backfill ledger")?;
            let rows = stmt.query_map(params![p], |r| Ok((r.get(0)?, r.get(1)?))).ctx("reading the backfill ledger")?;
            rows.collect::<Result<_, _>>().ctx("reading the backfill ledger")
        })
        .await
    }

    /// Record a backfill window's progress (`running` bumps the attempts).
    #[allow(clippy::too_many_arguments)]
    pub async fn backfill_record(
        &self,
        pipeline: &str,
        stream: &str,
        window: (chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>),
        status: &str,
        rows: u64,
        requests: u64,
        error: Option<String>,
    ) -> Result<(), WarehouseError> {
        let (p, s, st) = (pipeline.to_string(), stream.to_string(), status.to_string());
        let (a, b) = (window.0.to_rfc3339(), window.1.to_rfc3339());
        self.with_conn(move |c| {
            c.execute(
                "INSERT INTO _desksync_windows
                   VALUES (?, ?, 'backfill', ?::TIMESTAMPTZ, ?::TIMESTAMPTZ, ?, ?, ?, 1, ?, now())
                 ON CONFLICT (pipeline, stream, kind, window_start) DO UPDATE SET
                   window_end = excluded.window_end, status = excluded.status, rows = excluded.rows,
                   requests = excluded.requests, error = excluded.error, updated_at = excluded.updated_at,
                   attempts = _desksync_windows.attempts + CASE WHEN excluded.status = 'running' THEN 1 ELSE 0 END",
                params![p, s, a, b, st, rows as i64, requests as i64, error],
            )
            .ctx("recording a backfill window")?;
            Ok(())
        })
        .await
    }

    /// Start times of the report windows already loaded for a stream.
    pub async fn loaded_windows(
        &self,
        pipeline: &str,
        stream: &str,
    ) -> Result<Vec<chrono::DateTime<chrono::Utc>>, WarehouseError> {
        let (p, s) = (pipeline.to_string(), stream.to_string());
        self.with_conn(move |c| {
            let mut stmt = c
                .prepare(
                    "SELECT epoch_us(window_start) FROM _desksync_windows
                     WHERE pipeline = ? AND stream = ? AND kind = 'report' AND status = 'done'",
                )
                .ctx("reading report windows")?;
            let rows = stmt.query_map(params![p, s], |r| r.get::<_, i64>(0)).ctx("reading report windows")?;
            let micros = rows.collect::<Result<Vec<_>, _>>().ctx("reading report windows")?;
            Ok(micros.into_iter().filter_map(chrono::DateTime::from_timestamp_micros).collect())
        })
        .await
    }

    /// The pipeline's most recent run.
    pub async fn last_run(&self, pipeline: &str) -> Result<Option<crate::serve::LastRun>, WarehouseError> {
        Ok(self.runs(Some(pipeline), 1).await?.into_iter().next().map(|r| crate::serve::LastRun {
            run_id: r.run_id,
            status: r.status,
            started_at: r.started_at,
            finished_at: r.finished_at,
            rows_written: r.rows_written,
            error: r.error,
        }))
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

    /// Row counts of the model tables.
    pub async fn table_counts(&self) -> Result<Vec<(String, i64)>, WarehouseError> {
        self.with_conn(|c| {
            let mut out = Vec::new();
            for t in Table::all() {
                let n: i64 = c
                    .query_row(&format!("SELECT count(*) FROM {}", t.name()), [], |r| r.get(0))
                    .ctx("counting rows")?;
                out.push((t.name().to_string(), n));
            }
            Ok(out)
        })
        .await
    }
}

pub fn migrate_conn(c: &mut Connection) -> Result<(), WarehouseError> {
    c.execute_batch("CREATE TABLE IF NOT EXISTS _desksync_schema (version INTEGER PRIMARY KEY, file VARCHAR, applied_at TIMESTAMPTZ)")
        .ctx("creating the schema table")?;
    let applied: Vec<i32> = {
        let mut stmt = c.prepare("SELECT version FROM _desksync_schema").ctx("reading schema versions")?;
        stmt.query_map([], |r| r.get(0))
            .ctx("reading schema versions")?
            .collect::<Result<_, _>>()
            .ctx("reading schema versions")?
    };
    for (version, file, sql) in MIGRATIONS {
        if applied.contains(version) {
            continue;
        }
        let tx = c.transaction().ctx("starting a migration")?;
        tx.execute_batch(sql).ctx(format!("applying schema/{file}"))?;
        tx.execute("INSERT INTO _desksync_schema VALUES (?, ?, now())", params![version, file])
            .ctx("recording the schema version")?;
        tx.commit().ctx(format!("committing schema/{file}"))?;
    }
    Ok(())
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

type Touched = Vec<(String, String, String)>;

/// Run a statement with `RETURNING source, account, <partition>`; the rows it touched.
fn returning(tx: &duckdb::Transaction<'_>, sql: &str, args: impl duckdb::Params) -> Result<Touched, duckdb::Error> {
    let mut stmt = tx.prepare(sql)?;
    let rows = stmt.query_map(args, |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    rows.collect()
}

/// Record the lake partitions of touched rows for the next export.
fn mark_dirty(tx: &duckdb::Transaction<'_>, table: &str, touched: Touched) -> Result<(), WarehouseError> {
    let parts: std::collections::BTreeSet<(String, String, String)> = touched.into_iter().collect();
    for (source, account, part) in parts {
        tx.execute(
            "INSERT INTO _desksync_lake_dirty VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
            params![table, source, account, part],
        )
        .ctx(format!("recording lake partitions of {table}"))?;
    }
    Ok(())
}

/// A SQL string literal (for values spliced into statements that take lists).
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn commit_conn(c: &mut Connection, unit: LoadUnit) -> Result<LoadStats, WarehouseError> {
    let mut stats = LoadStats::default();
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
        let touched = returning(
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
        tx.execute_batch(&format!("CREATE OR REPLACE TEMP TABLE {stage} AS SELECT * FROM {name} LIMIT 0"))
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
        // The conflict check goes through the primary-key index, and RETURNING yields exactly
        // the rows inserted or changed: no scan of the (growing) table per batch.
        let touched = returning(
            &tx,
            &format!(
                "INSERT INTO {name} SELECT * FROM {stage} ON CONFLICT ({pk_list}) DO UPDATE SET {} WHERE {where_changed}
                 RETURNING source, account, {}",
                set_cols.join(", "),
                partition_sql(*table, name)
            ),
            [],
        )
        .ctx(format!("upserting {name}"))?;
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
        tx.execute_batch(&format!("DROP TABLE {stage}")).ctx(format!("dropping {stage}"))?;
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
    for e in &unit.extra {
        let touched = returning(&tx, &e.sql, duckdb::params_from_iter(e.args.iter()))
            .ctx(format!("updating {}", e.table.name()))?;
        stats.rows_written += touched.len() as u64;
        mark_dirty(&tx, e.table.name(), touched)?;
    }
    for w in &unit.windows {
        tx.execute(
            "INSERT INTO _desksync_windows
               VALUES (?, ?, 'report', ?::TIMESTAMPTZ, ?::TIMESTAMPTZ, 'done', ?, NULL, 1, NULL, now())
             ON CONFLICT (pipeline, stream, kind, window_start) DO UPDATE SET window_end = excluded.window_end,
               status = 'done', rows = excluded.rows, attempts = _desksync_windows.attempts + 1,
               updated_at = excluded.updated_at",
            params![unit.pipeline, unit.stream, w.start.to_rfc3339(), w.end.to_rfc3339(), w.rows],
        )
        .ctx("recording report windows")?;
    }
    for q in &unit.quarantine {
        tx.execute(
            "INSERT INTO _desksync_quarantine VALUES (?, ?, ?, ?, ?, ?, now())",
            params![unit.pipeline, unit.stream, unit.run_id, q.record_key, q.reason, q.raw],
        )
        .ctx("writing quarantined records")?;
        stats.quarantined += 1;
    }
    if let Some(state) = &unit.state {
        tx.execute(
            "INSERT INTO _desksync_state VALUES (?, ?, ?, ?, now())
             ON CONFLICT (pipeline, stream) DO UPDATE SET watermark = excluded.watermark,
             state = excluded.state, updated_at = excluded.updated_at",
            params![unit.pipeline, unit.stream, state.watermark_text(), state.encode()],
        )
        .ctx("writing stream state")?;
    }
    if failpoint_hit() {
        eprintln!("desksync: DESKSYNC_FAILPOINT reached before COMMIT; aborting the process");
        std::process::abort();
    }
    tx.commit().ctx("committing the load")?;
    // Fold the WAL into the database file now: the file is reopened for every operation, and
    // each open would otherwise replay a WAL of up to DuckDB's 16 MB checkpoint threshold.
    c.execute_batch("CHECKPOINT").ctx("checkpointing the warehouse")?;
    Ok(stats)
}
