//! Lake maintenance (`desksync lake vacuum | optimize`).
//!
//! * **vacuum** deletes data files no version within the retention references: files that
//!   exports and compactions replaced, and files a crashed export uploaded but never committed
//!   (a full listing, not only the log's removals). Readers time-travelling further back than the
//!   retention lose those versions. Delta log entries expire by `delta.logRetentionDuration`
//!   (30 days) at checkpoints, which commits write every `lake.checkpoint_interval` versions.
//! * **optimize** rewrites a partition's files as one when it has several that are together
//!   smaller than `lake.target_file_bytes` (a partition written with a small `lake.file_rows`,
//!   or by an older version). The commit changes no data (`dataChange = false`): streaming
//!   readers skip it, and a concurrent export of the partition wins (the compaction is dropped).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;

use deltalake_core::kernel::Add;
use deltalake_core::logstore::object_store::ObjectStoreExt as _;
use deltalake_core::logstore::object_store::path::Path as StorePath;
use deltalake_core::operations::vacuum::VacuumMode;
use deltalake_core::protocol::DeltaOperation;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::{Lake, delta, io, spool_dir, upload, writer_properties};
use crate::error::WarehouseError;
use crate::model::Table;

/// What `vacuum` did to one table.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Vacuumed {
    pub table: &'static str,
    pub files_deleted: usize,
    pub dry_run: bool,
}

/// Vacuum every lake table that exists. `force` allows a retention shorter than the tables'
/// `delta.deletedFileRetentionDuration`.
pub async fn vacuum(
    lake: &Lake,
    retention: std::time::Duration,
    force: bool,
    dry_run: bool,
) -> Result<Vec<Vacuumed>, WarehouseError> {
    let mut out = Vec::new();
    for table in Table::all() {
        let Some(dt) = delta::load(&lake.location, table).await? else { continue };
        let retention = chrono::Duration::from_std(retention)
            .map_err(|e| WarehouseError::Invalid(format!("retention {retention:?}: {e}")))?;
        let (_, metrics) = dt
            .vacuum()
            .with_retention_period(retention)
            .with_enforce_retention_duration(!force)
            .with_mode(VacuumMode::Full)
            .with_dry_run(dry_run)
            .await
            .map_err(|e| {
                let hint = if !force && e.to_string().contains("retention") {
                    " (a retention below the table's delta.deletedFileRetentionDuration needs --force)"
                } else {
                    ""
                };
                delta::delta_err(format!("vacuuming lake table {}{hint}", table.name()))(e)
            })?;
        out.push(Vacuumed { table: table.name(), files_deleted: metrics.files_deleted.len(), dry_run });
    }
    Ok(out)
}

/// What `optimize` did to one table.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Optimized {
    pub table: &'static str,
    pub partitions: usize,
    pub files_removed: usize,
    pub files_added: usize,
}

/// Compact every partition of every lake table whose files are several and small.
pub async fn optimize(lake: &Lake) -> Result<Vec<Optimized>, WarehouseError> {
    let mut out = Vec::new();
    let spool = spool_dir()?;
    for table in Table::all() {
        let result = optimize_table(lake, table, &spool).await;
        match result {
            Ok(o) => out.push(o),
            Err(e) => {
                let _ = std::fs::remove_dir_all(&spool);
                return Err(e);
            }
        }
    }
    let _ = std::fs::remove_dir_all(&spool);
    Ok(out)
}

/// A data file of a partition: its path, size and partition values.
type FileEntry = (String, i64, HashMap<String, Option<String>>);

async fn optimize_table(lake: &Lake, table: Table, spool: &std::path::Path) -> Result<Optimized, WarehouseError> {
    let mut done = Optimized { table: table.name(), partitions: 0, files_removed: 0, files_added: 0 };
    let Some(dt) = delta::load(&lake.location, table).await? else { return Ok(done) };
    let cols = delta::partition_columns(table);
    // Files per partition: (path, size, partition values).
    let mut parts: BTreeMap<Vec<Option<String>>, Vec<FileEntry>> = BTreeMap::new();
    for f in dt.snapshot().map_err(delta::delta_err("reading a lake table"))?.log_data().iter() {
        let values = f.partition_values_map();
        let k = cols.iter().map(|c| values.get(c).cloned().flatten()).collect();
        parts.entry(k).or_default().push((f.path().to_string(), f.size(), values));
    }
    let target = lake.settings.target_file_bytes as i64;
    let store = dt.object_store();
    let mut removed = HashSet::new();
    let mut adds = Vec::new();
    for files in parts.into_values() {
        let total: i64 = files.iter().map(|f| f.1).sum();
        if files.len() < 2 || total >= target {
            continue;
        }
        // Read the partition's files in order and write them as one.
        let local = spool.join(format!("{}.parquet", uuid::Uuid::now_v7()));
        let mut writer: Option<ArrowWriter<File>> = None;
        let mut rows = 0u64;
        for (path, _, _) in &files {
            let os = |source| WarehouseError::ObjectStore { context: format!("reading {path}"), source };
            let bytes = store.get(&StorePath::from(path.as_str())).await.map_err(os)?.bytes().await.map_err(os)?;
            let pq = |source| WarehouseError::Parquet { context: format!("reading {path}"), source };
            let reader = ParquetRecordBatchReaderBuilder::try_new(bytes).map_err(pq)?.build().map_err(pq)?;
            for batch in reader {
                let batch =
                    batch.map_err(|source| WarehouseError::Arrow { context: format!("reading {path}"), source })?;
                if writer.is_none() {
                    let file = File::create(&local).map_err(io(format!("creating {}", local.display())))?;
                    writer = Some(
                        ArrowWriter::try_new(
                            file,
                            batch.schema(),
                            Some(writer_properties(lake.settings.row_group_rows)),
                        )
                        .map_err(|source| WarehouseError::Parquet {
                            context: format!("writing {}", local.display()),
                            source,
                        })?,
                    );
                }
                rows += batch.num_rows() as u64;
                writer.as_mut().expect("set").write(&batch).map_err(|source| WarehouseError::Parquet {
                    context: format!("writing {}", local.display()),
                    source,
                })?;
            }
        }
        let Some(writer) = writer else { continue };
        writer
            .close()
            .map_err(|source| WarehouseError::Parquet { context: format!("finishing {}", local.display()), source })?;
        let dir = files[0].0.rsplit_once('/').map(|(d, _)| d.to_string()).unwrap_or_default();
        let path = format!("{dir}/part-{}.parquet", uuid::Uuid::now_v7());
        let size = upload(&store, &local, &StorePath::from(path.as_str())).await?;
        let _ = std::fs::remove_file(&local);
        adds.push(Add {
            path,
            partition_values: files[0].2.clone(),
            size: size as i64,
            modification_time: chrono::Utc::now().timestamp_millis(),
            data_change: false,
            stats: Some(serde_json::json!({ "numRecords": rows }).to_string()),
            ..Default::default()
        });
        done.partitions += 1;
        done.files_removed += files.len();
        done.files_added += 1;
        removed.extend(files.into_iter().map(|f| f.0));
    }
    if !adds.is_empty() {
        let op = DeltaOperation::Optimize { predicate: None, target_size: target };
        delta::replace_partitions(dt, table, delta::Removal::Files(&removed), adds, op, false, "optimize").await?;
    }
    Ok(done)
}
