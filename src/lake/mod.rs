//! The lake: every warehouse table mirrored as a **Delta Lake** table that Spark, Trino,
//! Databricks, Athena, DuckDB and Polars read with snapshots and time travel, on local disk or
//! S3-compatible object storage ([`store`]):
//!
//! ```text
//! <lake>/<table>/_delta_log/…                      the table's log (commits, checkpoints)
//! <lake>/<table>/source=<s>/account=<a>/[<created|captured|window>_month=YYYY-MM/]part-….parquet
//! ```
//!
//! Loads record which partitions they changed in `_desksync_lake_dirty` (in the load's own
//! transaction, with a sequence number bumped on every change); [`export_dirty`] rewrites those
//! partitions after a run: each one is read from the warehouse into new Parquet files (row
//! groups bounded by `lake.row_group_rows`, files by `lake.file_rows`), uploaded, and then one
//! Delta commit per table removes the partitions' old files and adds the new ones ([`delta`]):
//! a reader sees the table before the run or after it, never a mix. A partition's dirty mark is
//! cleared only if it was not marked again meanwhile. A crash before the commit leaves
//! uploaded files no version references; the next export writes the partition again and
//! `desksync lake vacuum` deletes the strays. Partition columns are in the path and the log, not
//! in the files. [`maintenance`] has `vacuum` and `optimize`.
//!
//! To add a table: nothing here; [`delta::fields`] maps every [`Col`](crate::model::Col).

pub mod delta;
pub mod maintenance;
pub mod store;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::path::{Path, PathBuf};

use deltalake_core::kernel::Add;
use deltalake_core::logstore::object_store::buffered::BufWriter;
use deltalake_core::logstore::object_store::path::Path as StorePath;
use deltalake_core::protocol::{DeltaOperation, SaveMode};
use duckdb::params;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use crate::config::{LakeLocation, LakeSettings};
use crate::error::{DuckDbContext, WarehouseError};
use crate::model::{Partition, Table};
use crate::telemetry;
use crate::warehouse::{Warehouse, partition_sql};

/// The partition value DuckDB's query gives rows without a month (`NULL` in Delta).
pub const NULL_PARTITION: &str = "__HIVE_DEFAULT_PARTITION__";

/// The Hive key of a month partition over `col`: `created_at` → `created_month`,
/// `captured_at` → `captured_month`, `window_start` → `window_month`.
pub fn month_key(col: &str) -> String {
    format!("{}_month", col.trim_end_matches("_at").trim_end_matches("_start"))
}

/// Where and how the lake is written: the location and `[lake]`'s settings.
#[derive(Debug, Clone)]
pub struct Lake {
    pub location: LakeLocation,
    pub settings: LakeSettings,
}

impl Lake {
    pub fn new(location: LakeLocation, settings: LakeSettings) -> Self {
        Lake { location, settings }
    }

    /// Open (creating or evolving) the lake table of `table`.
    pub async fn open(&self, table: Table) -> Result<deltalake_core::DeltaTable, WarehouseError> {
        delta::open(&self.location, table, self.settings.checkpoint_interval, self.settings.vacuum_retention).await
    }
}

/// The partition key of a dirty row: source, account and the month (or none).
fn key(table: Table, source: &str, account: &str, part: &str) -> delta::PartitionKey {
    let mut k =
        vec![("source".to_string(), Some(source.to_string())), ("account".to_string(), Some(account.to_string()))];
    if let Partition::Month(col) = table.partition() {
        k.push((month_key(col), (part != NULL_PARTITION).then(|| part.to_string())));
    }
    k
}

/// The directory of a partition inside its table, e.g. `source=x/account=y/created_month=2025-01`.
fn partition_path(k: &delta::PartitionKey) -> String {
    k.iter().map(|(c, v)| format!("{c}={}", v.as_deref().unwrap_or(NULL_PARTITION))).collect::<Vec<_>>().join("/")
}

/// Remove every partition of `table` for `source` and `account` (`desksync drop`) in one
/// commit. Returns whether the lake had any.
pub async fn drop_partitions(lake: &Lake, table: Table, source: &str, account: &str) -> Result<bool, WarehouseError> {
    let Some(dt) = delta::load(&lake.location, table).await? else { return Ok(false) };
    let cols = delta::partition_columns(table);
    let keys: HashSet<delta::PartitionKey> = dt
        .snapshot()
        .map_err(delta::delta_err("reading a lake table"))?
        .log_data()
        .iter()
        .map(|f| delta::key_of(&f.partition_values_map(), &cols))
        .filter(|k: &delta::PartitionKey| {
            k[0].1.as_deref() == Some(source) && k.get(1).and_then(|v| v.1.as_deref()) == Some(account)
        })
        .collect();
    if keys.is_empty() {
        return Ok(false);
    }
    let op = DeltaOperation::Delete {
        predicate: Some(format!(
            "source = '{}' AND account = '{}'",
            source.replace('\'', "''"),
            account.replace('\'', "''")
        )),
    };
    delta::replace_partitions(dt, table, delta::Removal::Partitions(&keys), Vec::new(), op, true, "drop").await?;
    Ok(true)
}

/// A partition to export: its table, key and the sequence number of its dirty mark.
#[derive(Debug, Clone)]
struct Dirty {
    table: Table,
    source: String,
    account: String,
    part: String,
    seq: i64,
}

/// Rewrite every dirty partition, one Delta commit per table; returns how many partitions were
/// written. `run_id` is recorded in each commit's `commitInfo`.
pub async fn export_dirty(warehouse: &Warehouse, lake: &Lake, run_id: &str) -> Result<usize, WarehouseError> {
    let location = lake.location.to_string();
    let dirty: Vec<Dirty> = warehouse
        .with_conn(move |c| {
            mark_unexported_tables(c, &location)?;
            read_marks(c)
        })
        .await?;
    let mut by_table: BTreeMap<&'static str, Vec<Dirty>> = BTreeMap::new();
    for d in dirty {
        by_table.entry(d.table.name()).or_default().push(d);
    }
    let spool = spool_dir()?;
    let mut written = 0;
    let mut first_error = None;
    for parts in by_table.into_values() {
        match export_table(warehouse, lake, &spool, &parts, run_id).await {
            Ok(n) => written += n,
            // Other tables still go out; this one is retried by the next run.
            Err(e) => {
                tracing::error!(table = parts[0].table.name(), "exporting to the lake failed: {e}");
                first_error.get_or_insert(e);
            }
        }
    }
    let _ = std::fs::remove_dir_all(&spool);
    match first_error {
        Some(e) => Err(e),
        None => Ok(written),
    }
}

/// Every dirty mark, with the sequence number it has now.
fn read_marks(c: &mut duckdb::Connection) -> Result<Vec<Dirty>, WarehouseError> {
    let mut stmt = c
        .prepare("SELECT \"table\", source, account, part, seq FROM _desksync_lake_dirty ORDER BY ALL")
        .ctx("reading dirty lake partitions")?;
    let rows: Vec<(String, String, String, String, i64)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
        .ctx("reading dirty lake partitions")?
        .collect::<Result<_, _>>()
        .ctx("reading dirty lake partitions")?;
    Ok(rows
        .into_iter()
        .filter_map(|(t, source, account, part, seq)| {
            Table::from_name(&t).map(|table| Dirty { table, source, account, part, seq })
        })
        .collect())
}

/// Clear the marks of exported partitions, each only if no load marked it again since it was
/// read (its sequence number is unchanged); a partition marked meanwhile goes out next time.
fn clear_marks(c: &mut duckdb::Connection, marks: &[Dirty]) -> Result<(), WarehouseError> {
    for d in marks {
        c.execute(
            "DELETE FROM _desksync_lake_dirty WHERE \"table\" = ? AND source = ? AND account = ? AND part = ? AND seq = ?",
            params![d.table.name(), d.source, d.account, d.part, d.seq],
        )
        .ctx("clearing a written lake partition")?;
    }
    Ok(())
}

/// Mark every partition of each table this warehouse never exported to `location` (recording
/// it as exported, in the same transaction): the first export to a lake writes all of it.
fn mark_unexported_tables(c: &mut duckdb::Connection, location: &str) -> Result<(), WarehouseError> {
    let known: HashSet<String> = {
        let mut stmt = c
            .prepare("SELECT \"table\" FROM _desksync_lake_tables WHERE location = ?")
            .ctx("reading exported lake tables")?;
        stmt.query_map([location], |r| r.get(0))
            .ctx("reading exported lake tables")?
            .collect::<Result<_, _>>()
            .ctx("reading exported lake tables")?
    };
    let new: Vec<Table> = Table::all().into_iter().filter(|t| !known.contains(t.name())).collect();
    if new.is_empty() {
        return Ok(());
    }
    let tx = c.transaction().ctx("marking a new lake's partitions")?;
    for t in new {
        tx.execute(
            &format!(
                "INSERT INTO _desksync_lake_dirty SELECT DISTINCT ?, source, account, {}, 0 FROM {} s \
                 ON CONFLICT DO UPDATE SET seq = _desksync_lake_dirty.seq + 1",
                partition_sql(t, "s"),
                t.name()
            ),
            params![t.name()],
        )
        .ctx(format!("marking every partition of {} for the lake", t.name()))?;
        tx.execute(
            "INSERT INTO _desksync_lake_tables (location, \"table\") VALUES (?, ?)",
            params![location, t.name()],
        )
        .ctx("recording an exported lake table")?;
    }
    tx.commit().ctx("marking a new lake's partitions")
}

/// A private scratch directory for Parquet files on their way to the lake.
fn spool_dir() -> Result<PathBuf, WarehouseError> {
    let dir = std::env::temp_dir().join(format!("desksync-lake-{}-{}", std::process::id(), uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).map_err(io(format!("creating {}", dir.display())))?;
    Ok(dir)
}

async fn export_table(
    warehouse: &Warehouse,
    lake: &Lake,
    spool: &Path,
    parts: &[Dirty],
    run_id: &str,
) -> Result<usize, WarehouseError> {
    let table = parts[0].table;
    let dt = lake.open(table).await?;
    let store = dt.object_store();
    let mut adds = Vec::new();
    let mut replace = HashSet::new();
    let mut rows_total = 0u64;
    for d in parts {
        let k = key(table, &d.source, &d.account, &d.part);
        let (source, account, part) = (d.source.clone(), d.account.clone(), d.part.clone());
        let (dir, settings) = (spool.to_path_buf(), lake.settings.clone());
        let files =
            warehouse.with_conn(move |c| write_partition(c, &dir, table, &source, &account, &part, &settings)).await?;
        let prefix = partition_path(&k);
        let values: HashMap<String, Option<String>> = k.iter().cloned().collect();
        for (local, rows) in files {
            let name = format!("part-{}.parquet", uuid::Uuid::now_v7());
            let path = format!("{prefix}/{name}");
            let size = upload(&store, &local, &StorePath::from(path.as_str())).await?;
            let _ = std::fs::remove_file(&local);
            rows_total += rows;
            adds.push(Add {
                path,
                partition_values: values.clone(),
                size: size as i64,
                modification_time: chrono::Utc::now().timestamp_millis(),
                data_change: true,
                stats: Some(serde_json::json!({ "numRecords": rows }).to_string()),
                ..Default::default()
            });
        }
        replace.insert(k);
    }
    let op = DeltaOperation::Write {
        mode: SaveMode::Overwrite,
        partition_by: Some(delta::partition_columns(table)),
        predicate: Some(replaced_predicate(parts)),
    };
    delta::replace_partitions(dt, table, delta::Removal::Partitions(&replace), adds, op, true, run_id).await?;
    let marks = parts.to_vec();
    warehouse.with_conn(move |c| clear_marks(c, &marks)).await?;
    telemetry::lake_written(table.name(), parts.len(), rows_total);
    Ok(parts.len())
}

/// The predicate recorded in the commit's `operationParameters` (informational).
fn replaced_predicate(parts: &[Dirty]) -> String {
    let accounts: std::collections::BTreeSet<(String, String)> =
        parts.iter().map(|d| (d.source.clone(), d.account.clone())).collect();
    accounts
        .into_iter()
        .map(|(s, a)| format!("(source = '{}' AND account = '{}')", s.replace('\'', "''"), a.replace('\'', "''")))
        .collect::<Vec<_>>()
        .join(" OR ")
}

/// Stream a local file to the object store (multipart above a few MiB); its size.
pub(crate) async fn upload(
    store: &deltalake_core::logstore::ObjectStoreRef,
    local: &Path,
    to: &StorePath,
) -> Result<u64, WarehouseError> {
    use tokio::io::AsyncWriteExt;
    let mut file = tokio::fs::File::open(local).await.map_err(io(format!("reading {}", local.display())))?;
    let mut writer = BufWriter::with_capacity(store.clone(), to.clone(), 8 << 20);
    let size = match tokio::io::copy(&mut file, &mut writer).await {
        Ok(n) => n,
        Err(source) => {
            let _ = writer.abort().await;
            return Err(WarehouseError::Io { context: format!("uploading {to}"), source });
        }
    };
    writer.shutdown().await.map_err(io(format!("uploading {to}")))?;
    Ok(size)
}

fn io(context: String) -> impl FnOnce(std::io::Error) -> WarehouseError {
    move |source| WarehouseError::Io { context, source }
}

/// Parquet writer settings for lake files.
pub(crate) fn writer_properties(row_group_rows: usize) -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(row_group_rows.max(1024)))
        .set_created_by(concat!("desksync ", env!("CARGO_PKG_VERSION")).to_string())
        .build()
}

/// Write one partition's rows, ordered by primary key, into files of at most
/// `settings.file_rows` rows in `dir`; the files and their row counts.
fn write_partition(
    c: &mut duckdb::Connection,
    dir: &Path,
    table: Table,
    source: &str,
    account: &str,
    part: &str,
    settings: &LakeSettings,
) -> Result<Vec<(PathBuf, u64)>, WarehouseError> {
    let cols: Vec<String> = table
        .columns()
        .iter()
        .filter(|(n, _)| *n != "source" && *n != "account")
        .map(|(n, _)| format!("\"{n}\""))
        .collect();
    let sql = format!(
        "SELECT {} FROM {} s WHERE source = ? AND account = ? AND {} = ? ORDER BY {}",
        cols.join(", "),
        table.name(),
        partition_sql(table, "s"),
        table.primary_key().join(", ")
    );
    let mut stmt = c.prepare(&sql).ctx(format!("reading {} for the lake", table.name()))?;
    let arrow =
        stmt.query_arrow(params![source, account, part]).ctx(format!("reading {} for the lake", table.name()))?;
    let schema = arrow.get_schema();
    let pq = |context: String| move |source| WarehouseError::Parquet { context, source };
    let mut files = Vec::new();
    let mut current: Option<(PathBuf, ArrowWriter<File>, u64)> = None;
    let limit = settings.file_rows.max(1) as u64;
    for batch in arrow {
        let mut offset = 0;
        while offset < batch.num_rows() {
            if current.as_ref().is_some_and(|(_, _, rows)| *rows >= limit) {
                let (path, writer, rows) = current.take().expect("checked");
                writer.close().map_err(pq(format!("finishing {}", path.display())))?;
                files.push((path, rows));
            }
            if current.is_none() {
                let path = dir.join(format!("{}.parquet", uuid::Uuid::now_v7()));
                let file = File::create(&path).map_err(io(format!("creating {}", path.display())))?;
                let writer =
                    ArrowWriter::try_new(file, schema.clone(), Some(writer_properties(settings.row_group_rows)))
                        .map_err(pq(format!("writing {}", path.display())))?;
                current = Some((path, writer, 0));
            }
            let (path, writer, rows) = current.as_mut().expect("just set");
            // A file takes at most what it has room for; the rest of the batch starts the next.
            let take = ((limit - *rows) as usize).min(batch.num_rows() - offset);
            writer.write(&batch.slice(offset, take)).map_err(pq(format!("writing {}", path.display())))?;
            *rows += take as u64;
            offset += take;
        }
    }
    if let Some((path, writer, rows)) = current {
        writer.close().map_err(pq(format!("finishing {}", path.display())))?;
        files.push((path, rows));
    }
    Ok(files)
}

/// One lake table as `desksync lake status` shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TableStatus {
    pub table: &'static str,
    pub version: i64,
    pub files: usize,
    pub rows: u64,
    pub bytes: u64,
}

/// Every lake table's (that exists) latest version, files, rows (from the files' statistics) and bytes.
pub async fn status(lake: &Lake) -> Result<Vec<TableStatus>, WarehouseError> {
    let mut out = Vec::new();
    for table in Table::all() {
        let Some(dt) = delta::load(&lake.location, table).await? else { continue };
        let snapshot = dt.snapshot().map_err(delta::delta_err("reading a lake table"))?;
        let (mut files, mut rows, mut bytes) = (0, 0u64, 0u64);
        for f in snapshot.log_data().iter() {
            files += 1;
            rows += f.num_records().unwrap_or(0) as u64;
            bytes += f.size().max(0) as u64;
        }
        out.push(TableStatus { table: table.name(), version: snapshot.version() as i64, files, rows, bytes });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partition_marked_again_after_the_export_read_it_stays_marked() {
        let mut c = duckdb::Connection::open_in_memory().unwrap();
        crate::warehouse::migrate_conn(&mut c).unwrap();
        let touched = || vec![("liveagent".to_string(), "acme".to_string(), "2026-11".to_string())];
        let mark = |c: &mut duckdb::Connection| {
            let tx = c.transaction().unwrap();
            crate::warehouse::commit::mark_dirty(&tx, "tickets", touched()).unwrap();
            tx.commit().unwrap();
        };
        mark(&mut c);
        let read = read_marks(&mut c).unwrap();
        assert_eq!(read.len(), 1);
        // A load commits to the partition while the export writes it.
        mark(&mut c);
        clear_marks(&mut c, &read).unwrap();
        assert_eq!(read_marks(&mut c).unwrap().len(), 1, "the newer load is exported next time");
        let again = read_marks(&mut c).unwrap();
        clear_marks(&mut c, &again).unwrap();
        assert!(read_marks(&mut c).unwrap().is_empty());
    }
}
