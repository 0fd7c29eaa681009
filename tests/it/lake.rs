//! The Delta lake, read back by two readers that share nothing with the writer's code paths
//! beyond the format: delta-rs (the log replay gives the files; Parquet read independently and
//! compared with the warehouse in SQL, row for row) and the Python `deltalake` package. On local
//! disk and on an S3 server (moto) started on 127.0.0.1; two warehouses committing to the same
//! tables at once; maintenance through the binary.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use arrow::array::{ArrayRef, RecordBatch, StringArray};
use deltalake_core::logstore::object_store::ObjectStoreExt as _;
use deltalake_core::{DeltaTable, DeltaTableBuilder};
use desksync::config::{LakeLocation, LakeSettings, S3Credentials, Secret};
use desksync::lake::Lake;
use desksync::model::Table;
use desksync::simulator::SimConfig;
use desksync::simulator::world::Mutation;

use crate::cli::desksync;
use crate::common::{Env, python};

fn sim(conversations: usize) -> SimConfig {
    SimConfig { conversations, seed: 11, ..Default::default() }
}

/// The lake table of `table`, or `None` when it was never written.
async fn load(lake: &Lake, table: Table) -> Option<DeltaTable> {
    desksync::lake::delta::load(&lake.location, table).await.unwrap()
}

/// Every active file of the table at its loaded version: (path in the table, partition values).
fn files(dt: &DeltaTable) -> Vec<(String, HashMap<String, Option<String>>)> {
    dt.snapshot().unwrap().log_data().iter().map(|f| (f.path().to_string(), f.partition_values_map())).collect()
}

/// Read every table of the lake the way a foreign engine does (the files delta-rs's log replay
/// names, their Parquet, the partition values from the log) into an in-memory DuckDB, and
/// compare with the warehouse at `warehouse` row for row (EXCEPT ALL both ways). Returns the
/// rows compared per table.
async fn assert_lake_equals_warehouse(lake: &Lake, warehouse: &Path) -> HashMap<&'static str, usize> {
    assert_source_equals_warehouse(lake, warehouse, None).await
}

/// [`assert_lake_equals_warehouse`] for the rows of one `source` (a lake several warehouses
/// write), or all.
async fn assert_source_equals_warehouse(
    lake: &Lake,
    warehouse: &Path,
    source: Option<&str>,
) -> HashMap<&'static str, usize> {
    let conn = duckdb::Connection::open_in_memory().unwrap();
    conn.execute_batch(&format!("ATTACH '{}' AS wh (READ_ONLY)", warehouse.display())).unwrap();
    let mut compared = HashMap::new();
    for table in Table::all() {
        let name = table.name();
        conn.execute_batch(&format!(
            "CREATE OR REPLACE TEMP VIEW w AS SELECT * FROM wh.{name} WHERE {}",
            source.map(|s| format!("source = '{s}'")).unwrap_or_else(|| "true".into())
        ))
        .unwrap();
        let in_wh: i64 = conn.query_row("SELECT count(*) FROM w", [], |r| r.get(0)).unwrap();
        let Some(dt) = load(lake, table).await else {
            assert_eq!(in_wh, 0, "{name} has rows but no lake table");
            continue;
        };
        conn.execute_batch(&format!("CREATE OR REPLACE TABLE lk AS SELECT * FROM wh.{name} LIMIT 0")).unwrap();
        let store = dt.object_store();
        for (path, values) in files(&dt) {
            if source.is_some_and(|s| values["source"].as_deref() != Some(s)) {
                continue;
            }
            let bytes = store.get(&path.as_str().into()).await.unwrap().bytes().await.unwrap();
            let reader =
                parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(bytes).unwrap().build().unwrap();
            for batch in reader {
                let batch = batch.unwrap();
                assert!(batch.schema().field_with_name("source").is_err(), "partition columns live in the log");
                let n = batch.num_rows();
                let cols: Vec<ArrayRef> = table
                    .columns()
                    .iter()
                    .map(|(c, _)| match *c {
                        "source" | "account" => {
                            let v = values[*c].clone().expect("partition value");
                            Arc::new(StringArray::from(vec![v; n])) as ArrayRef
                        }
                        c => batch.column_by_name(c).unwrap_or_else(|| panic!("{name}.{c} missing in {path}")).clone(),
                    })
                    .collect();
                let fields: Vec<arrow::datatypes::Field> = table
                    .columns()
                    .iter()
                    .zip(&cols)
                    .map(|((c, _), a)| arrow::datatypes::Field::new(*c, a.data_type().clone(), true))
                    .collect();
                let rb = RecordBatch::try_new(Arc::new(arrow::datatypes::Schema::new(fields)), cols).unwrap();
                conn.appender("lk").unwrap().append_record_batch(rb).unwrap();
            }
        }
        let count = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
        let in_lake = count("SELECT count(*) FROM lk");
        let missing = count("SELECT count(*) FROM (SELECT * FROM w EXCEPT ALL SELECT * FROM lk)");
        let extra = count("SELECT count(*) FROM (SELECT * FROM lk EXCEPT ALL SELECT * FROM w)");
        assert_eq!((in_lake, missing, extra), (in_wh, 0, 0), "{name}: lake rows, rows missing, rows extra");
        compared.insert(name, in_lake as usize);
    }
    compared
}

/// The Python `deltalake` package's view of every lake table, compared with the warehouse by
/// Python's DuckDB (tests/lake_check.py): (table, rows in the lake, missing, extra).
fn python_check(
    lake_root: &str,
    warehouse: &Path,
    options: &HashMap<String, String>,
) -> Option<Vec<(String, i64, i64, i64)>> {
    let (py, pythonpath) = python()?;
    let tables: Vec<&str> = Table::all().iter().map(|t| t.name()).collect();
    let out = std::process::Command::new(py)
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/lake_check.py"))
        .arg(lake_root)
        .arg(warehouse)
        .arg(serde_json::to_string(options).unwrap())
        .arg(tables.join(","))
        .env("PYTHONPATH", pythonpath)
        .output()
        .unwrap();
    assert!(out.status.success(), "lake_check.py failed:\n{}", String::from_utf8_lossy(&out.stderr));
    let v: Vec<(String, i64, i64, i64)> = serde_json::from_slice(&out.stdout).unwrap();
    Some(v)
}

fn assert_python_agrees(
    lake_root: &str,
    warehouse: &Path,
    options: &HashMap<String, String>,
    rust: &HashMap<&str, usize>,
) {
    let Some(rows) = python_check(lake_root, warehouse, options) else { return };
    let mut seen = 0;
    for (table, in_lake, missing, extra) in rows {
        assert_eq!((missing, extra), (0, 0), "python deltalake: {table} differs from the warehouse");
        assert_eq!(Some(&(in_lake as usize)), rust.get(table.as_str()), "python deltalake: rows of {table}");
        seen += 1;
    }
    assert_eq!(seen, rust.len(), "python deltalake read every lake table");
}

fn local_lake(env: &Env) -> Lake {
    let config = env.config();
    Lake::new(config.lake.clone(), config.settings.lake.clone())
}

#[tokio::test(flavor = "multi_thread")]
async fn each_table_is_a_delta_table_that_two_readers_see_equal_to_the_warehouse_with_time_travel() {
    let env = Env::new(sim(90), "", "").await;
    assert_eq!(env.run().await.status, "succeeded");
    let lake = local_lake(&env);
    let first = assert_lake_equals_warehouse(&lake, &env.dir.path().join("w.duckdb")).await;
    assert!(first["tickets"] == 90 && first["messages"] > 90, "{first:?}");
    let root = env.dir.path().join("lake");
    assert!(root.join("tickets/_delta_log/00000000000000000000.json").exists());
    assert!(!root.join("tickets/_manifest.json").exists());
    let dt = load(&lake, Table::Tickets).await.unwrap();
    let parts: Vec<String> = dt.snapshot().unwrap().metadata().partition_columns().to_vec();
    assert_eq!(parts, ["source", "account", "created_month"]);
    for (path, _) in files(&dt) {
        assert!(path.starts_with("source=liveagent/account=acme/created_month="), "{path}");
    }
    let v1 = dt.version().unwrap();
    assert_python_agrees(&root.display().to_string(), &env.dir.path().join("w.duckdb"), &HashMap::new(), &first);

    // Changes: the next run commits a new version; the old one stays readable (time travel).
    env.sim.with_data(|d| {
        d.apply(&Mutation { new_messages: 5, new_conversations: 2, ..Default::default() }, chrono::Utc::now())
    });
    assert_eq!(env.run().await.status, "succeeded");
    assert_lake_equals_warehouse(&lake, &env.dir.path().join("w.duckdb")).await;
    let mut dt = load(&lake, Table::Messages).await.unwrap();
    let now: usize = files(&dt).len();
    assert!(now > 0);
    let latest = dt.version().unwrap();
    dt.load_version(latest - 1).await.unwrap();
    let before: u64 = dt.snapshot().unwrap().log_data().iter().map(|f| f.num_records().unwrap() as u64).sum();
    assert_eq!(before as usize, first["messages"], "the version before the run still reads as it was");
    assert!(load(&lake, Table::Tickets).await.unwrap().version().unwrap() > v1);
}

/// A moto S3 server on 127.0.0.1 with bucket `lake`, stopped on drop.
struct S3Server {
    child: std::process::Child,
    endpoint: String,
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn s3_server() -> Option<S3Server> {
    let (py, pythonpath) = python()?;
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = std::process::Command::new(py)
        .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()])
        .env("PYTHONPATH", pythonpath)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = S3Server { child, endpoint: format!("http://127.0.0.1:{port}") };
    let client = reqwest::Client::new();
    for _ in 0..300 {
        if let Ok(r) = client.put(format!("{}/lake", server.endpoint)).send().await
            && r.status().is_success()
        {
            return Some(server);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the moto S3 server did not start on port {port}");
}

/// Two instances with their own warehouses (a LiveAgent and a Liveforce pipeline) whose runs
/// leave the lake to the test's own exports.
async fn two_instances(conversations: usize) -> (Env, Env) {
    let a = Env::new(sim(conversations), "", "").await;
    let b = Env::liveforce(sim(conversations), None, "", "").await;
    for env in [&a, &b] {
        std::fs::write(
            env.dir.path().join("desksync.toml"),
            "[warehouse]\npath = \"w.duckdb\"\n[lake]\nenabled = false\n",
        )
        .unwrap();
    }
    (a, b)
}

/// Rows of `source` in the table's current files (their statistics).
fn rows_of(dt: &DeltaTable, source: &str) -> i64 {
    dt.snapshot()
        .unwrap()
        .log_data()
        .iter()
        .filter(|f| f.partition_values_map()["source"].as_deref() == Some(source))
        .map(|f| f.num_records().unwrap() as i64)
        .sum()
}

fn s3_lake(server: &S3Server) -> Lake {
    let location = LakeLocation::S3 {
        bucket: "lake".into(),
        prefix: "desksync".into(),
        endpoint: Some(server.endpoint.clone()),
        region: "us-east-1".into(),
        path_style: true,
        credentials: Some(S3Credentials {
            access_key_id: Secret::new("test-key"),
            secret_access_key: Secret::new("test-secret"),
            session_token: None,
        }),
    };
    Lake::new(location, LakeSettings { checkpoint_interval: 3, ..Default::default() })
}

#[tokio::test(flavor = "multi_thread")]
async fn on_s3_two_warehouses_commit_to_the_same_tables_at_once_and_both_land_whole() {
    let Some(server) = s3_server().await else { return };
    let lake = s3_lake(&server);
    // Two instances: different pipelines (LiveAgent and Liveforce), each its own warehouse.
    let (a, b) = two_instances(60).await;
    for round in 0..4 {
        let (ra, rb) = tokio::join!(a.run(), b.run());
        assert_eq!((ra.status.as_str(), rb.status.as_str()), ("succeeded", "succeeded"), "round {round}");
        // The runs wrote their local lakes; now both export to the shared one at the same moment.
        let (wa, wb) = (a.warehouse(), b.warehouse());
        let (ida, idb) = (format!("a-{round}"), format!("b-{round}"));
        let (ea, eb) = tokio::join!(
            desksync::lake::export_dirty(&wa, &lake, &ida),
            desksync::lake::export_dirty(&wb, &lake, &idb)
        );
        assert!(ea.unwrap() > 0 && eb.unwrap() > 0, "round {round}: both exported");
        for env in [&a, &b] {
            env.sim.with_data(|d| {
                d.apply(&Mutation { new_messages: 3, new_conversations: 1, ..Default::default() }, chrono::Utc::now())
            });
        }
    }
    // Row for row, each instance's rows as delta-rs's log replay names their files.
    for (env, source) in [(&a, "liveagent"), (&b, "liveforce")] {
        let compared = assert_source_equals_warehouse(&lake, &env.dir.path().join("w.duckdb"), Some(source)).await;
        assert!(compared["tickets"] > 0 && compared["messages"] > 0, "{source}: {compared:?}");
    }
    // How often the exports collided and were rebuilt (timing decides; the next test forces it).
    eprintln!("lake commit conflicts rebuilt so far: {}", desksync::telemetry::METRICS.lake_conflicts.get());
    // Every row of both warehouses is in the shared tables, once.
    let tickets = load(&lake, Table::Tickets).await.unwrap();
    let sources: std::collections::BTreeSet<String> =
        files(&tickets).into_iter().filter_map(|(_, v)| v["source"].clone()).collect();
    assert_eq!(sources.into_iter().collect::<Vec<_>>(), ["liveagent", "liveforce"]);
    assert_eq!(
        (rows_of(&tickets, "liveagent"), rows_of(&tickets, "liveforce")),
        (a.count("SELECT count(*) FROM tickets"), b.count("SELECT count(*) FROM tickets")),
        "each instance's tickets, whole"
    );
    // A Delta checkpoint was written along the way (every 3 commits).
    let store = tickets.log_store().object_store(None);
    let listed: Vec<String> = {
        use futures::StreamExt;
        store.list(Some(&"_delta_log".into())).map(|m| m.unwrap().location.to_string()).collect().await
    };
    assert!(listed.iter().any(|p| p.ends_with(".checkpoint.parquet")), "{listed:?}");

    // The other readers: Python's deltalake over S3, for one instance's rows at a time is not
    // possible (the tables hold both), so compare each source with its warehouse in turn.
    let options: HashMap<String, String> = [
        ("AWS_ENDPOINT_URL", server.endpoint.as_str()),
        ("AWS_ACCESS_KEY_ID", "test-key"),
        ("AWS_SECRET_ACCESS_KEY", "test-secret"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ALLOW_HTTP", "true"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for (env, source) in [(&a, "liveagent"), (&b, "liveforce")] {
        let mut opts = options.clone();
        opts.insert("desksync_source".into(), source.into());
        if let Some(rows) = python_check("s3://lake/desksync", &env.dir.path().join("w.duckdb"), &opts) {
            for (table, in_lake, missing, extra) in rows {
                assert_eq!((missing, extra), (0, 0), "python deltalake on S3: {source} {table}");
                let n = env.count(&format!("SELECT count(*) FROM {table}"));
                assert_eq!(in_lake, n, "python deltalake on S3: {source} {table}");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn two_desksync_processes_with_their_own_warehouses_write_one_lake_at_once() {
    let shared = tempfile::tempdir().unwrap();
    let a = Env::new(sim(50), "", "").await;
    let b = Env::liveforce(sim(50), None, "", "").await;
    for env in [&a, &b] {
        std::fs::write(
            env.dir.path().join("desksync.toml"),
            format!("[warehouse]\npath = \"w.duckdb\"\n[lake]\npath = \"{}\"\n", shared.path().display()),
        )
        .unwrap();
    }
    for round in 0..3 {
        let (ra, rb) = tokio::join!(desksync(&a, &["run"]), desksync(&b, &["run"]));
        assert_eq!((ra.code, rb.code), (Some(0), Some(0)), "round {round}:\n{ra:?}\n{rb:?}");
        for env in [&a, &b] {
            env.sim.with_data(|d| {
                d.apply(&Mutation { new_messages: 4, new_conversations: 2, ..Default::default() }, chrono::Utc::now())
            });
        }
    }
    let lake = Lake::new(LakeLocation::Local(shared.path().to_path_buf()), LakeSettings::default());
    for table in [Table::Tickets, Table::Messages] {
        let dt = load(&lake, table).await.unwrap();
        for (env, source) in [(&a, "liveagent"), (&b, "liveforce")] {
            assert_eq!(
                rows_of(&dt, source),
                env.count(&format!("SELECT count(*) FROM {}", table.name())),
                "{source} {}",
                table.name()
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_commit_built_on_an_old_version_is_rebuilt_on_the_new_one_and_keeps_the_other_writers_rows() {
    let lake_dir = tempfile::tempdir().unwrap();
    let lake = Lake::new(LakeLocation::Local(lake_dir.path().to_path_buf()), LakeSettings::default());
    let (a, b) = two_instances(40).await;
    assert_eq!(a.run().await.status, "succeeded");
    desksync::lake::export_dirty(&a.warehouse(), &lake, "a-1").await.unwrap();
    // A writer that read the table now...
    let stale = lake.open(Table::Tickets).await.unwrap();
    // ...while others commit: A's partitions rewritten with new files, then B's rows added.
    a.sim.with_data(|d| {
        d.apply(&Mutation { new_messages: 5, new_conversations: 3, ..Default::default() }, chrono::Utc::now())
    });
    assert_eq!(a.run().await.status, "succeeded");
    desksync::lake::export_dirty(&a.warehouse(), &lake, "a-2").await.unwrap();
    assert_eq!(b.run().await.status, "succeeded");
    desksync::lake::export_dirty(&b.warehouse(), &lake, "b-1").await.unwrap();
    // The old writer now removes A's partitions. Built on what it read, it would leave A's new
    // files behind; rebuilt on the newest version it removes them, and keeps B's.
    let months: Vec<String> = a
        .rows("SELECT DISTINCT strftime(created_at::TIMESTAMP, '%Y-%m') FROM tickets")
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    let keys: std::collections::HashSet<desksync::lake::delta::PartitionKey> = months
        .into_iter()
        .map(|m| {
            vec![
                ("source".to_string(), Some("liveagent".to_string())),
                ("account".to_string(), Some("acme".to_string())),
                ("created_month".to_string(), Some(m)),
            ]
        })
        .collect();
    let before = desksync::telemetry::METRICS.lake_conflicts.get();
    let op = deltalake_core::protocol::DeltaOperation::Delete { predicate: Some("source = 'liveagent'".into()) };
    desksync::lake::delta::replace_partitions(
        stale,
        Table::Tickets,
        desksync::lake::delta::Removal::Partitions(&keys),
        Vec::new(),
        op,
        true,
        "old",
    )
    .await
    .unwrap();
    assert!(desksync::telemetry::METRICS.lake_conflicts.get() > before, "the stale commit was rebuilt");
    let dt = load(&lake, Table::Tickets).await.unwrap();
    assert_eq!(rows_of(&dt, "liveagent"), 0, "every file of A's partitions went, the new ones too");
    assert_eq!(rows_of(&dt, "liveforce"), b.count("SELECT count(*) FROM tickets"), "B's rows stay whole");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_s3_endpoint_fails_the_export_in_seconds_and_keeps_every_partition_marked() {
    let (env, _) = two_instances(20).await;
    assert_eq!(env.run().await.status, "succeeded");
    let marked = env.count("SELECT count(*) FROM _desksync_lake_dirty");
    assert!(marked > 0);
    // Nothing listens on this port.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let server = S3Server {
        child: std::process::Command::new("true").spawn().unwrap(),
        endpoint: format!("http://127.0.0.1:{port}"),
    };
    let mut config = env.config();
    config.lake = s3_lake(&server).location;
    config.settings.lake.enabled = true;
    let started = std::time::Instant::now();
    let error = desksync::app::run::export_lake(&config, &env.warehouse(), "la", "dead").await;
    let took = started.elapsed();
    let error = error.expect("the export reports the failure");
    assert!(took < Duration::from_secs(20), "a refused connection fails in seconds, took {took:?}: {error}");
    assert!(error.starts_with("lake: "), "{error}");
    assert!(!error.contains("test-secret"), "no credentials in the error: {error}");
    assert_eq!(
        env.count("SELECT count(*) FROM _desksync_lake_dirty"),
        marked,
        "every partition is still marked for the next export"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn optimize_compacts_small_files_and_vacuum_deletes_replaced_ones_through_the_binary() {
    let env = Env::new(sim(80), "", "").await;
    std::fs::write(
        env.dir.path().join("desksync.toml"),
        "[warehouse]\npath = \"w.duckdb\"\n[lake]\npath = \"lake\"\nfile_rows = 10\ncheckpoint_interval = 2\n",
    )
    .unwrap();
    assert_eq!(desksync(&env, &["run"]).await.code, Some(0));
    let lake = local_lake(&env);
    let status = |out: &crate::cli::Out| -> HashMap<String, (i64, usize)> {
        let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {out:?}"));
        v.as_array()
            .unwrap()
            .iter()
            .map(|t| {
                (
                    t["table"].as_str().unwrap().to_string(),
                    (t["rows"].as_i64().unwrap(), t["files"].as_u64().unwrap() as usize),
                )
            })
            .collect()
    };
    let before = status(&desksync(&env, &["lake", "status", "--json"]).await);
    let messages_partitions =
        env.count("SELECT count(DISTINCT strftime(created_at::TIMESTAMP, '%Y-%m')) FROM messages") as usize;
    assert_eq!(before["messages"].0, env.count("SELECT count(*) FROM messages"));
    assert!(before["messages"].1 > messages_partitions, "file_rows = 10 splits partitions: {before:?}");

    let out = desksync(&env, &["lake", "optimize"]).await;
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.contains("optimize compacted"), "{out:?}");
    let after = status(&desksync(&env, &["lake", "status", "--json"]).await);
    assert_eq!(after["messages"], (before["messages"].0, messages_partitions), "one file per partition");
    assert_lake_equals_warehouse(&lake, &env.dir.path().join("w.duckdb")).await;
    let dt = load(&lake, Table::Messages).await.unwrap();
    let info = {
        use futures::StreamExt;
        dt.history(Some(1)).next().await.unwrap().unwrap()
    };
    assert_eq!(info.operation.as_deref(), Some("OPTIMIZE"));

    let on_disk = |t: &str| {
        walk(&env.dir.path().join("lake").join(t))
            .iter()
            .filter(|p| p.extension().is_some_and(|e| e == "parquet") && !p.to_string_lossy().contains("_delta_log"))
            .count()
    };
    assert!(on_disk("messages") > messages_partitions);
    // A retention below the table's (7 days) needs --force.
    let out = desksync(&env, &["lake", "vacuum", "--retention", "0s"]).await;
    assert_ne!(out.code, Some(0), "{out:?}");
    let out = desksync(&env, &["lake", "vacuum", "--retention", "0s", "--force", "--dry-run"]).await;
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(on_disk("messages") > messages_partitions, "a dry run deletes nothing");
    let out = desksync(&env, &["lake", "vacuum", "--retention", "0s", "--force"]).await;
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(on_disk("messages"), messages_partitions, "only the live files are left: {out:?}");
    assert_lake_equals_warehouse(&lake, &env.dir.path().join("w.duckdb")).await;
    assert!(
        walk(&env.dir.path().join("lake/messages/_delta_log"))
            .iter()
            .any(|p| p.to_string_lossy().ends_with(".checkpoint.parquet")),
        "checkpoint_interval = 2 writes checkpoints"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lake_table_created_before_a_migration_gains_the_new_columns() {
    let env = Env::new(sim(20), "", "").await;
    let lake = local_lake(&env);
    // The tickets table as an older desksync created it: without its last two columns.
    let url = desksync::lake::store::table_url(&lake.location, "tickets").unwrap();
    let mut fields = desksync::lake::delta::fields(Table::Tickets);
    let dropped: Vec<String> = fields.drain(fields.len() - 3..fields.len() - 1).map(|f| f.name().to_string()).collect();
    let dt = DeltaTableBuilder::from_url(url).unwrap().build().unwrap();
    dt.create()
        .with_columns(fields)
        .with_partition_columns(desksync::lake::delta::partition_columns(Table::Tickets))
        .await
        .unwrap();
    assert_eq!(env.run().await.status, "succeeded");
    let dt = load(&lake, Table::Tickets).await.unwrap();
    let schema: Vec<String> = dt.snapshot().unwrap().schema().fields().map(|f| f.name().to_string()).collect();
    for c in &dropped {
        assert!(schema.contains(c), "{c} was added to the lake table's schema: {schema:?}");
    }
    assert_lake_equals_warehouse(&lake, &env.dir.path().join("w.duckdb")).await;
}

#[test]
fn shards_split_pipelines_stably_and_completely() {
    use desksync::app::serve::Shard;
    assert!("0/2".parse::<Shard>().is_err() && "3/2".parse::<Shard>().is_err() && "x".parse::<Shard>().is_err());
    let shards: Vec<Shard> = (1..=3).map(|i| format!("{i}/3").parse().unwrap()).collect();
    let names: Vec<String> = (0..60).map(|i| format!("account-{i}")).collect();
    let mut counts = [0; 3];
    for n in &names {
        let owners: Vec<usize> = (0..3).filter(|&i| shards[i].owns(n)).collect();
        assert_eq!(owners.len(), 1, "{n} belongs to exactly one instance");
        counts[owners[0]] += 1;
    }
    assert!(counts.iter().all(|&c| c >= 10), "roughly even: {counts:?}");
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}
