//! Schema migrations: the `schema/NNN_*.sql` files in order, each recorded in `_desksync_schema`.

use duckdb::{Connection, params};

use super::Warehouse;
use crate::error::{DuckDbContext, WarehouseError};
use crate::model::Table;

/// Schema files in order. Append only; never edit a released one.
pub const MIGRATIONS: &[(i32, &str, &str)] = &[
    (1, "001_core.sql", include_str!("../../schema/001_core.sql")),
    (2, "002_liveagent.sql", include_str!("../../schema/002_liveagent.sql")),
    (3, "003_livezilla.sql", include_str!("../../schema/003_livezilla.sql")),
    (4, "004_liveforce.sql", include_str!("../../schema/004_liveforce.sql")),
    (5, "005_views.sql", include_str!("../../schema/005_views.sql")),
    (6, "006_views.sql", include_str!("../../schema/006_views.sql")),
    (7, "007_publish.sql", include_str!("../../schema/007_publish.sql")),
    (8, "008_lake_seq.sql", include_str!("../../schema/008_lake_seq.sql")),
    (9, "009_questions.sql", include_str!("../../schema/009_questions.sql")),
    (10, "010_first_response.sql", include_str!("../../schema/010_first_response.sql")),
];

impl Warehouse {
    /// Apply pending migrations.
    pub async fn migrate(&self) -> Result<(), WarehouseError> {
        self.with_conn(migrate_conn).await
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
