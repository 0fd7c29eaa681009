//! The DuckDB warehouse: schema migrations, the transactional load of a batch with its stream
//! state, run history, quarantine and the lake's dirty-partition ledger.
//!
//! Outside a run the file is opened only for the length of one operation and closed after.
//! A run [`hold`](Warehouse::hold)s ONE writer connection for its whole length: every stream's
//! commits, the run history and the lake's reads go through it, DuckDB checkpoints at its own
//! WAL threshold and once when the run lets go — not around every batch (opening, checkpointing
//! and closing the file cost 200–300 ms per operation). Analysts read the published snapshot,
//! not this file. When another process holds its lock, an operation waits with backoff
//! (saying so) up to `warehouse.lock_timeout`. Inside this process one mutex per file serialises
//! access and keeps the held connection: two DuckDB instances on one file in one process would
//! corrupt it, because POSIX file locks do not exclude a process from itself.
//!
//! A [`LoadUnit`] commits in ONE transaction: each table's rows are appended to a staging table
//! through DuckDB's Arrow appender and upserted with one `INSERT … ON CONFLICT DO UPDATE … WHERE
//! changed` statement; the partitions they touch are recorded for the lake; quarantined records
//! and the stream's new state are written; then COMMIT. A crash anywhere before COMMIT leaves the
//! previous state and rows; the next run resumes from there.
//!
//! Migrations: `schema/NNN_*.sql` files, listed in [`MIGRATIONS`], applied in order and recorded
//! in `_desksync_schema`. Each file must be idempotent (`IF NOT EXISTS`).
//!
//! Split by job: this file opens the file and holds its locks; [`migrate`] applies the schema;
//! [`commit`] writes a [`LoadUnit`] (and answers the reads a load needs); [`state`] keeps
//! stream state and drops what a pipeline loaded; [`runs`] keeps the run history and the window
//! ledger; [`publish`] copies the analysts' snapshot; [`derive`] owns the rows derived from
//! rows already loaded. Only this module writes SQL: connectors hand over rows, state, deletion
//! marks, quarantine and named derivations.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

use duckdb::Connection;

use crate::error::{DuckDbContext, WarehouseError};
use crate::telemetry;

pub mod commit;
pub mod derive;
pub mod migrate;
pub mod publish;
pub mod runs;
pub mod state;

pub use commit::{LoadStats, LoadUnit, Replace, WindowLoaded, partition_sql};
pub use derive::Derive;
pub use migrate::{MIGRATIONS, migrate_conn};
pub use runs::{LastRun, RunRecord};
pub use state::DropStats;

/// Prepared statements a connection keeps: every table's upsert and the load's bookkeeping.
const STATEMENT_CACHE: usize = 256;

/// A handle on the warehouse file; cheap to clone.
#[derive(Clone, Debug)]
pub struct Warehouse {
    path: PathBuf,
    lock_timeout: Duration,
    memory_limit: String,
}

/// One file's in-process state: the mutex every operation takes, and the writer connection a
/// run holds (with how many holders share it: pipelines of one `serve` run at once).
#[derive(Default)]
struct FileSlot {
    held: Option<Connection>,
    holders: usize,
    /// What the held connection learnt about tables it may fill plainly.
    fresh: commit::FreshTables,
}

static FILE_LOCKS: LazyLock<Mutex<HashMap<PathBuf, Arc<Mutex<FileSlot>>>>> = LazyLock::new(Default::default);

fn file_lock(path: &Path) -> Arc<Mutex<FileSlot>> {
    let key = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    FILE_LOCKS.lock().expect("file locks").entry(key).or_default().clone()
}

/// The writer connection a run holds; [`release`](WriterHold::release) it at the end of the
/// run (dropping it releases too, blocking).
pub struct WriterHold {
    warehouse: Option<Warehouse>,
}

impl WriterHold {
    /// Let go: the last holder checkpoints and closes the file.
    pub async fn release(mut self) -> Result<(), WarehouseError> {
        let Some(w) = self.warehouse.take() else { return Ok(()) };
        tokio::task::spawn_blocking(move || w.let_go()).await.map_err(|e| WarehouseError::Task(e.to_string()))?
    }
}

impl Drop for WriterHold {
    fn drop(&mut self) {
        if let Some(w) = self.warehouse.take() {
            let _ = w.let_go();
        }
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
        self.with_writer(move |c, _| f(c)).await
    }

    /// [`with_conn`](Self::with_conn), with what the connection knows of tables it may fill
    /// plainly (see [`commit::FreshTables`]).
    async fn with_writer<T, F>(&self, f: F) -> Result<T, WarehouseError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection, &mut commit::FreshTables) -> Result<T, WarehouseError> + Send + 'static,
    {
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.with_writer_blocking(f))
            .await
            .map_err(|e| WarehouseError::Task(e.to_string()))?
    }

    pub fn with_conn_blocking<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, WarehouseError>,
    ) -> Result<T, WarehouseError> {
        self.with_writer_blocking(|c, _| f(c))
    }

    /// [`with_conn_blocking`](Self::with_conn_blocking), with what the connection knows of
    /// tables it may fill plainly (see [`commit::FreshTables`]).
    fn with_writer_blocking<T>(
        &self,
        f: impl FnOnce(&mut Connection, &mut commit::FreshTables) -> Result<T, WarehouseError>,
    ) -> Result<T, WarehouseError> {
        let lock = file_lock(&self.path);
        let mut slot = lock.lock().unwrap_or_else(|p| p.into_inner());
        let FileSlot { held, fresh, .. } = &mut *slot;
        if let Some(conn) = held.as_mut() {
            return f(conn, fresh);
        }
        let mut conn = self.open_waiting(false)?;
        let out = f(&mut conn, &mut commit::FreshTables::new());
        drop(conn);
        out
    }

    /// Keep one writer connection open until the returned hold is released: every operation
    /// of this process on this file uses it meanwhile.
    pub async fn hold(&self) -> Result<WriterHold, WarehouseError> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || {
            let lock = file_lock(&this.path);
            let mut slot = lock.lock().unwrap_or_else(|p| p.into_inner());
            if slot.held.is_none() {
                slot.held = Some(this.open_waiting(false)?);
            }
            slot.holders += 1;
            drop(slot);
            Ok(WriterHold { warehouse: Some(this) })
        })
        .await
        .map_err(|e| WarehouseError::Task(e.to_string()))?
    }

    fn let_go(&self) -> Result<(), WarehouseError> {
        let lock = file_lock(&self.path);
        let mut slot = lock.lock().unwrap_or_else(|p| p.into_inner());
        slot.holders = slot.holders.saturating_sub(1);
        if slot.holders > 0 {
            return Ok(());
        }
        let Some(conn) = slot.held.take() else { return Ok(()) };
        slot.fresh.clear();
        // Fold the WAL into the file now, so the next open (an analyst's, the next run's)
        // does not replay it.
        let checkpointed = conn.execute_batch("CHECKPOINT").ctx("checkpointing the warehouse");
        drop(conn);
        checkpointed
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
            let mut slot = lock.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(conn) = slot.held.as_mut() {
                // A run of this process holds the writer: read through it, inside a transaction
                // that is rolled back, so nothing the query runs stays written.
                conn.execute_batch("BEGIN TRANSACTION").ctx("starting a read-only transaction")?;
                let out = f(conn);
                let _ = conn.execute_batch("ROLLBACK");
                return out;
            }
            let mut conn = this.open_waiting(true)?;
            f(&mut conn)
        })
        .await
        .map_err(|e| WarehouseError::Task(e.to_string()))?
    }

    /// Run one query on a read-only connection and return its result (at least one batch, so
    /// an empty result still has its columns): analysts' ad-hoc SQL and the demo's example.
    pub async fn query(&self, sql: &str) -> Result<Vec<arrow::record_batch::RecordBatch>, WarehouseError> {
        let sql = sql.to_string();
        self.with_read_only(move |c| {
            use crate::error::DuckDbContext;
            let mut stmt = c.prepare(&sql).ctx("the query")?;
            let arrow = stmt.query_arrow([]).ctx("the query")?;
            let schema = arrow.get_schema();
            let mut batches: Vec<_> = arrow.collect();
            if batches.is_empty() {
                batches.push(arrow::record_batch::RecordBatch::new_empty(schema));
            }
            Ok(batches)
        })
        .await
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
                Ok(c) => {
                    // Loads keep their statements prepared (one upsert per table, the ledger's
                    // inserts, the state): room for all of them.
                    c.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
                    return Ok(c);
                }
                Err(e) => {
                    let msg = e.to_string();
                    // Only DuckDB's own lock conflict waits ("Could not set lock on file ...: Conflicting
                    // lock is held in ... (PID n)"); any other error that merely says "block" is real.
                    if !(msg.contains("Could not set lock") || msg.contains("Conflicting lock")) {
                        return Err(e).ctx(format!("opening the warehouse {}", self.path.display()));
                    }
                    let holder = lock_holder(&msg).map(|h| format!(" ({h})")).unwrap_or_default();
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
}

/// Who holds the lock, from DuckDB's message: "`/usr/bin/x (PID 7) by user u`", or "`PID 7`" alone
/// when the holder has no command line left (a process that is still exiting).
fn lock_holder(msg: &str) -> Option<&str> {
    const HELD: &str = "Conflicting lock is held in ";
    let rest = &msg[msg.find(HELD)? + HELD.len()..];
    let end = rest.find(". ").unwrap_or(rest.len());
    Some(rest[..end].trim_end_matches('.')).filter(|h| !h.is_empty())
}

/// A SQL string literal (for values spliced into statements that take lists).
pub(crate) fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_lock_holder_is_named_also_when_it_has_no_command_line() {
        let full = "IO Error: Could not set lock on file \"/w.duckdb\": Conflicting lock is held in \
                    /usr/bin/desksync (PID 7) by user root. See also https://duckdb.org/docs";
        assert_eq!(super::lock_holder(full), Some("/usr/bin/desksync (PID 7) by user root"));
        let exiting = "IO Error: Could not set lock on file \"/w.duckdb\": Conflicting lock is held in PID 7. \
                       However, you would be able to open this database in read-only mode";
        assert_eq!(super::lock_holder(exiting), Some("PID 7"));
        assert_eq!(super::lock_holder("IO Error: Could not read block 3"), None);
    }
}
