//! The analysts' snapshot: a consistent copy of the warehouse, published atomically.

use std::path::Path;

use super::Warehouse;
use crate::error::{DuckDbContext, WarehouseError};

impl Warehouse {
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
}
