//! The Parquet lake: a mirror of the warehouse tables in Hive-style partitions that any engine
//! (DuckDB, Spark, Trino, BigQuery external tables, pandas) can read:
//!
//! ```text
//! lake/<table>/source=<source>/account=<account>/[<created|captured|window>_month=YYYY-MM/]data.parquet
//! ```
//!
//! Loads record which partitions they changed in `_desksync_lake_dirty` (in the load's own
//! transaction); [`export_dirty`] rewrites exactly those partitions after a run. Each file is
//! written beside its target under a temporary name, synced, then renamed over the old one, so a
//! reader sees either the old or the new file, never half of one. Partition columns are in the
//! path, not in the file (Spark refuses duplicates).

use std::fs::File;
use std::path::{Path, PathBuf};

use duckdb::params;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use crate::error::{DuckDbContext, WarehouseError};
use crate::model::{Partition, Table};
use crate::telemetry;
use crate::warehouse::{Warehouse, partition_sql};

/// The Hive key of a month partition over `col`: `created_at` → `created_month`,
/// `captured_at` → `captured_month`, `window_start` → `window_month`.
pub fn month_key(col: &str) -> String {
    format!("{}_month", col.trim_end_matches("_at").trim_end_matches("_start"))
}

/// The directory of one partition.
pub fn partition_dir(root: &Path, table: Table, source: &str, account: &str, part: &str) -> PathBuf {
    let mut dir = root.join(table.name()).join(format!("source={source}")).join(format!("account={account}"));
    if let Partition::Month(col) = table.partition() {
        dir = dir.join(format!("{}={part}", month_key(col)));
    }
    dir
}

/// Remove every partition of `table` for `source` and `account` (`desksync drop`): their
/// directory and their entries in the table's manifest. Returns whether anything was there.
pub fn drop_partitions(root: &Path, table: Table, source: &str, account: &str) -> Result<bool, WarehouseError> {
    let dir = root.join(table.name()).join(format!("source={source}")).join(format!("account={account}"));
    let existed = dir.exists();
    if existed {
        std::fs::remove_dir_all(&dir).map_err(io(format!("removing {}", dir.display())))?;
    }
    let manifest_path = root.join(table.name()).join("_manifest.json");
    if let Some(mut manifest) =
        std::fs::read_to_string(&manifest_path).ok().and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        && let Some(parts) = manifest["partitions"].as_object_mut()
    {
        let prefix = format!("source={source}/account={account}");
        parts.retain(|k, _| k != &prefix && !k.starts_with(&format!("{prefix}/")));
        manifest["updated_at"] = serde_json::Value::String(chrono::Utc::now().to_rfc3339());
        let tmp = root.join(table.name()).join("._manifest.json.tmp");
        std::fs::write(&tmp, serde_json::to_string_pretty(&manifest).expect("JSON"))
            .map_err(io(format!("writing {}", tmp.display())))?;
        std::fs::rename(&tmp, &manifest_path).map_err(io(format!("replacing {}", manifest_path.display())))?;
    }
    Ok(existed)
}

/// Rewrite every dirty partition and update each table's manifest; returns how many files
/// were written. `run_id` names the run that wrote them in the manifests.
pub async fn export_dirty(
    warehouse: &Warehouse,
    root: &Path,
    row_group_rows: usize,
    run_id: &str,
) -> Result<usize, WarehouseError> {
    let root = root.to_path_buf();
    let run_id = run_id.to_string();
    warehouse
        .with_conn(move |c| {
            let dirty: Vec<(String, String, String, String)> = {
                let mut stmt = c
                    .prepare("SELECT \"table\", source, account, part FROM _desksync_lake_dirty ORDER BY ALL")
                    .ctx("reading dirty lake partitions")?;
                stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
                    .ctx("reading dirty lake partitions")?
                    .collect::<Result<_, _>>()
                    .ctx("reading dirty lake partitions")?
            };
            let mut files = 0;
            let mut per_table: std::collections::BTreeMap<String, (usize, u64)> = Default::default();
            let mut written: std::collections::BTreeMap<String, Vec<(String, u64)>> = Default::default();
            for (tname, source, account, part) in dirty {
                let Some(table) = Table::from_name(&tname) else { continue };
                let rows = write_partition(c, &root, table, &source, &account, &part, row_group_rows)?;
                let dir = partition_dir(&root, table, &source, &account, &part);
                let rel =
                    dir.strip_prefix(root.join(&tname)).map(|p| p.to_string_lossy().to_string()).unwrap_or_default();
                written.entry(tname.clone()).or_default().push((rel, rows));
                c.execute(
                    "DELETE FROM _desksync_lake_dirty WHERE \"table\" = ? AND source = ? AND account = ? AND part = ?",
                    params![tname, source, account, part],
                )
                .ctx("clearing a written lake partition")?;
                files += 1;
                let e = per_table.entry(tname).or_default();
                e.0 += 1;
                e.1 += rows;
            }
            for (t, (parts, rows)) in per_table {
                telemetry::lake_written(&t, parts, rows);
            }
            for (t, parts) in written {
                write_manifest(&root.join(&t), &t, &run_id, &parts)?;
            }
            Ok(files)
        })
        .await
}

/// `lake/<table>/_manifest.json`: every partition of the table with the run that last wrote it,
/// its rows and when; updated (atomically: temporary file, fsync, rename) after each export, so
/// a reader can tell what a run produced and whether a partition is current. Several `serve`
/// instances sharding pipelines over one lake write disjoint partitions (their own
/// `source=/account=` directories); give each its own lake root, or let one instance own a table's
/// manifest, since manifests are rewritten whole.
fn write_manifest(dir: &Path, table: &str, run_id: &str, parts: &[(String, u64)]) -> Result<(), WarehouseError> {
    let path = dir.join("_manifest.json");
    let mut manifest: serde_json::Value = std::fs::read_to_string(&path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_else(|| serde_json::json!({ "version": 1, "table": table, "partitions": {} }));
    let now = chrono::Utc::now().to_rfc3339();
    for (part, rows) in parts {
        manifest["partitions"][part] = serde_json::json!({ "run_id": run_id, "rows": rows, "written_at": now });
    }
    manifest["updated_at"] = serde_json::Value::String(now);
    manifest["last_run_id"] = serde_json::Value::String(run_id.to_string());
    let tmp = dir.join("._manifest.json.tmp");
    std::fs::create_dir_all(dir).map_err(io(format!("creating {}", dir.display())))?;
    let text = serde_json::to_string_pretty(&manifest).expect("JSON");
    {
        use std::io::Write;
        let mut f = File::create(&tmp).map_err(io(format!("writing {}", tmp.display())))?;
        f.write_all(text.as_bytes()).map_err(io(format!("writing {}", tmp.display())))?;
        f.sync_all().map_err(io(format!("syncing {}", tmp.display())))?;
    }
    std::fs::rename(&tmp, &path).map_err(io(format!("replacing {}", path.display())))
}

fn io(context: String) -> impl FnOnce(std::io::Error) -> WarehouseError {
    move |source| WarehouseError::Io { context, source }
}

fn write_partition(
    c: &mut duckdb::Connection,
    root: &Path,
    table: Table,
    source: &str,
    account: &str,
    part: &str,
    row_group_rows: usize,
) -> Result<u64, WarehouseError> {
    let dir = partition_dir(root, table, source, account, part);
    std::fs::create_dir_all(&dir).map_err(io(format!("creating {}", dir.display())))?;
    let target = dir.join("data.parquet");
    let tmp = dir.join(format!(".data.parquet.tmp-{}", std::process::id()));
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
    let file = File::create(&tmp).map_err(io(format!("creating {}", tmp.display())))?;
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(row_group_rows.max(1024)))
        .set_created_by(concat!("desksync ", env!("CARGO_PKG_VERSION")).to_string())
        .build();
    let mut writer = ArrowWriter::try_new(file, schema, Some(props))
        .map_err(|source| WarehouseError::Parquet { context: format!("writing {}", tmp.display()), source })?;
    let mut rows = 0u64;
    for batch in arrow {
        rows += batch.num_rows() as u64;
        writer
            .write(&batch)
            .map_err(|source| WarehouseError::Parquet { context: format!("writing {}", tmp.display()), source })?;
    }
    let file = writer
        .into_inner()
        .map_err(|source| WarehouseError::Parquet { context: format!("finishing {}", tmp.display()), source })?;
    file.sync_all().map_err(io(format!("syncing {}", tmp.display())))?;
    drop(file);
    std::fs::rename(&tmp, &target).map_err(io(format!("replacing {}", target.display())))?;
    if let Ok(d) = File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(rows)
}
