//! The analysts' snapshot: a consistent copy of the warehouse, published atomically.

use std::path::Path;

use duckdb::Connection;

use super::Warehouse;
use crate::error::{DuckDbContext, WarehouseError};

impl Warehouse {
    /// Publish a consistent copy of the warehouse at `target`: written into a temporary file
    /// beside it, synced, then renamed over the old copy. The first publish (or one after a
    /// schema change) copies the whole warehouse; later ones copy the published file and
    /// re-copy only the tables changed since (`_desksync_publish_dirty`, kept by every load in
    /// its own transaction) and the bookkeeping tables, so a run that changed little costs
    /// little more than a file copy.
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
            let main: String =
                c.query_row("SELECT current_database()", [], |r| r.get(0)).ctx("naming the warehouse")?;
            let dirty: Vec<String> = {
                let mut stmt =
                    c.prepare("SELECT \"table\" FROM _desksync_publish_dirty").ctx("reading what changed")?;
                stmt.query_map([], |r| r.get(0))
                    .ctx("reading what changed")?
                    .collect::<Result<_, _>>()
                    .ctx("reading what changed")?
            };
            let copied = match reusable(c, &target) {
                Some(()) => refresh(c, &main, &target, &tmp, &dirty).or_else(|e| {
                    // Whatever is wrong with the published copy, a whole copy replaces it.
                    tracing::warn!("refreshing the published snapshot failed, copying it whole: {e}");
                    let _ = std::fs::remove_file(&tmp);
                    copy_whole(c, &main, &tmp)
                }),
                None => copy_whole(c, &main, &tmp),
            };
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
            // Published: what changed before this copy is in it.
            for t in &dirty {
                c.execute("DELETE FROM _desksync_publish_dirty WHERE \"table\" = ?", [t])
                    .ctx("clearing what was published")?;
            }
            Ok(bytes)
        })
        .await
    }
}

/// Copy the whole warehouse into the new file `tmp`.
fn copy_whole(c: &Connection, main: &str, tmp: &Path) -> Result<(), WarehouseError> {
    let path = tmp.to_string_lossy().replace('\'', "''");
    c.execute_batch(&format!(
        "ATTACH '{path}' AS desksync_publish; COPY FROM DATABASE \"{main}\" TO desksync_publish; DETACH desksync_publish;"
    ))
    .ctx(format!("copying the warehouse to {}", tmp.display()))
}

/// The primary-key columns of data table `t` when it also has `synced_at` (what the row-by-row
/// refresh needs), from the model; `None` for a table the model does not declare.
fn row_key(t: &str) -> Option<&'static [&'static str]> {
    let table = crate::model::Table::all().into_iter().find(|x| x.name() == t)?;
    let pk = table.primary_key();
    (!pk.is_empty() && table.columns().iter().any(|(c, _)| *c == "synced_at")).then_some(pk)
}

/// Whether the published snapshot at `target` can be refreshed instead of copied whole: it
/// exists, opens, and has the warehouse's schema version.
fn reusable(c: &Connection, target: &Path) -> Option<()> {
    if !target.exists() {
        return None;
    }
    let path = target.to_string_lossy().replace('\'', "''");
    c.execute_batch(&format!("ATTACH '{path}' AS desksync_published (READ_ONLY)")).ok()?;
    let versions = c.query_row(
        "SELECT (SELECT max(version) FROM desksync_published._desksync_schema), (SELECT max(version) FROM _desksync_schema)",
        [],
        |r| Ok((r.get::<_, Option<i64>>(0)?, r.get::<_, Option<i64>>(1)?)),
    );
    let _ = c.execute_batch("DETACH desksync_published");
    match versions {
        Ok((Some(published), Some(current))) if published == current => Some(()),
        _ => None,
    }
}

/// A new snapshot from the published one: a file copy of it (no re-encoding), then, inside one
/// transaction, the tables that changed since brought up to date row by row (or re-copied) and
/// the bookkeeping tables re-copied.
fn refresh(c: &Connection, main: &str, target: &Path, tmp: &Path, dirty: &[String]) -> Result<(), WarehouseError> {
    std::fs::copy(target, tmp).map_err(|source| WarehouseError::Io {
        context: format!("copying {} to {}", target.display(), tmp.display()),
        source,
    })?;
    let path = tmp.to_string_lossy().replace('\'', "''");
    c.execute_batch(&format!("ATTACH '{path}' AS desksync_publish")).ctx(format!("opening {}", tmp.display()))?;
    let result = (|| {
        let mut tables: Vec<String> = {
            let mut stmt = c
                .prepare(
                    "SELECT table_name FROM duckdb_tables() WHERE database_name = ? AND schema_name = 'main'
                     AND table_name LIKE '\\_desksync\\_%' ESCAPE '\\' AND table_name <> '_desksync_publish_dirty'",
                )
                .ctx("listing bookkeeping tables")?;
            stmt.query_map([main], |r| r.get(0))
                .ctx("listing bookkeeping tables")?
                .collect::<Result<_, _>>()
                .ctx("listing bookkeeping tables")?
        };
        // A changed data table with a primary key and `synced_at` (every write of a row sets
        // it) is brought up to date row by row: the published rows whose key is gone or whose
        // `synced_at` differs are deleted, then the warehouse's rows whose key the snapshot
        // lacks are inserted. For a 1% change of 185,000 messages: 0.17 s instead of 2.6 s for
        // dropping and re-copying the table (its primary-key index rebuilt row by row).
        let mut sql = String::from("BEGIN TRANSACTION;");
        for t in dirty {
            if tables.contains(t) {
                continue;
            }
            match row_key(t) {
                Some(pk) => {
                    let on: Vec<String> = pk.iter().map(|k| format!("a.\"{k}\" = b.\"{k}\"")).collect();
                    let on = on.join(" AND ");
                    sql.push_str(&format!(
                        "DELETE FROM desksync_publish.main.\"{t}\" AS b WHERE NOT EXISTS (
                           SELECT 1 FROM \"{main}\".main.\"{t}\" AS a WHERE {on} AND a.synced_at IS NOT DISTINCT FROM b.synced_at);
                         INSERT INTO desksync_publish.main.\"{t}\" SELECT a.* FROM \"{main}\".main.\"{t}\" AS a
                         WHERE NOT EXISTS (SELECT 1 FROM desksync_publish.main.\"{t}\" AS b WHERE {on});"
                    ));
                }
                None => tables.push(t.clone()),
            }
        }
        tables.sort();
        tables.dedup();
        // The others (the bookkeeping, and any table without a key) dropped and created anew
        // from their DDL, then filled: deleting and re-inserting all of a table's rows
        // maintains the primary-key index row by row, 4× slower.
        for t in &tables {
            let ddl: String = c
                .query_row(
                    "SELECT sql FROM duckdb_tables() WHERE database_name = ? AND schema_name = 'main' AND table_name = ?",
                    [main, t.as_str()],
                    |r| r.get(0),
                )
                .ctx(format!("reading the definition of {t}"))?;
            let create = ddl
                .strip_prefix(&format!("CREATE TABLE {t}("))
                .or_else(|| ddl.strip_prefix(&format!("CREATE TABLE \"{t}\"(")))
                .ok_or_else(|| WarehouseError::Invalid(format!("unexpected definition of {t}: {ddl}")))?;
            sql.push_str(&format!(
                "DROP TABLE IF EXISTS desksync_publish.main.\"{t}\"; CREATE TABLE desksync_publish.main.\"{t}\"({create}
                 INSERT INTO desksync_publish.main.\"{t}\" SELECT * FROM \"{main}\".main.\"{t}\";"
            ));
        }
        sql.push_str("COMMIT;");
        c.execute_batch(&sql).ctx(format!("refreshing the changed tables of {}", tmp.display()))
    })();
    if result.is_err() {
        let _ = c.execute_batch("ROLLBACK");
    }
    let detached = c.execute_batch("DETACH desksync_publish").ctx("closing the new snapshot");
    result.and(detached)
}
