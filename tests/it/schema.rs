//! The Arrow schemas connectors write must match the DDL analysts read.

use desksync::model::Table;
use desksync::warehouse::migrate_conn;

#[test]
fn model_matches_ddl() {
    let mut c = duckdb::Connection::open_in_memory().unwrap();
    migrate_conn(&mut c).unwrap();
    // Migrations are idempotent: applying them again changes nothing.
    migrate_conn(&mut c).unwrap();
    for t in Table::all() {
        let mut stmt = c.prepare(&format!("DESCRIBE {}", t.name())).unwrap();
        let described: Vec<(String, String)> =
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect();
        let expected: Vec<(String, String)> =
            t.columns().iter().map(|(n, c)| (n.to_string(), c.duckdb().to_string())).collect();
        assert_eq!(described, expected, "table {} differs from src/model.rs", t.name());
        let schema = t.schema();
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        let cols: Vec<&str> = t.columns().iter().map(|(n, _)| *n).collect();
        assert_eq!(names, cols);
    }
    let versions: i64 = c.query_row("SELECT count(*) FROM _desksync_schema", [], |r| r.get(0)).unwrap();
    assert_eq!(versions as usize, desksync::warehouse::MIGRATIONS.len());
}

#[test]
fn the_table_reference_in_docs_is_current() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/tables.md");
    let rendered = desksync::reference::markdown();
    if std::env::var_os("DESKSYNC_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &rendered).unwrap();
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(on_disk == rendered, "docs/tables.md is stale: run `DESKSYNC_BLESS=1 cargo test --test it schema`");
    // Every table and view is in it.
    for t in Table::all() {
        assert!(rendered.contains(&format!("### `{}`", t.name())), "{}", t.name());
    }
    for v in ["ticket_facts", "daily_volumes", "agent_workload", "agent_ratings", "ticket_tags"] {
        assert!(rendered.contains(&format!("### `{v}`")), "{v}");
    }
}
