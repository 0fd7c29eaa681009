//! An analyst's DuckDB session holding the warehouse: a run waits for it (with backoff) and
//! then loads normally, or gives up with a plain-words error after `warehouse.lock_timeout`;
//! nothing is corrupted either way. The "analyst" is this test binary re-run as a child process
//! (DuckDB's lock is per process), executing the ignored helper below.

use std::io::BufRead;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use desksync::simulator::SimConfig;
use desksync::simulator::world::Mutation;

use crate::common::{Env, assert_equals_truth};

#[test]
#[ignore = "helper run in a child process by the locking tests"]
fn hold_the_warehouse_open() {
    let Ok(path) = std::env::var("DESKSYNC_TEST_HOLD") else { return };
    let secs: u64 = std::env::var("DESKSYNC_TEST_HOLD_SECS").unwrap().parse().unwrap();
    let c = duckdb::Connection::open(&path).unwrap();
    let n: i64 = c.query_row("SELECT count(*) FROM tickets", [], |r| r.get(0)).unwrap();
    println!("HOLDING {n}");
    std::thread::sleep(Duration::from_secs(secs));
}

fn hold(path: &std::path::Path, secs: u64) -> Child {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", "locking::hold_the_warehouse_open", "--nocapture", "--test-threads=1"])
        .env("DESKSYNC_TEST_HOLD", path)
        .env("DESKSYNC_TEST_HOLD_SECS", secs.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while !line.contains("HOLDING") {
        line.clear();
        assert!(out.read_line(&mut line).unwrap() > 0, "the helper exited before holding the file");
    }
    child
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_waits_for_an_analyst_holding_the_warehouse() {
    let env = Env::new(SimConfig { conversations: 40, seed: 5, ..Default::default() }, "", "").await;
    assert_eq!(env.run().await.status, "succeeded");
    env.sim.with_data(|d| {
        d.apply(&Mutation { new_messages: 3, new_conversations: 2, ..Default::default() }, chrono::Utc::now())
    });
    let db = env.dir.path().join("w.duckdb");
    let mut child = hold(&db, 3);
    let t0 = Instant::now();
    let s = env.run().await;
    assert!(t0.elapsed() >= Duration::from_secs(2), "the run did not wait: {:?}", t0.elapsed());
    assert_eq!(s.status, "succeeded", "{s:?}");
    child.wait().unwrap();
    assert_equals_truth(&env);

    // With a short lock timeout the run gives up, says why, and leaves everything intact.
    std::fs::write(
        env.dir.path().join("desksync.toml"),
        "[warehouse]\npath = \"w.duckdb\"\nlock_timeout = \"1s\"\n[lake]\npath = \"lake\"\n",
    )
    .unwrap();
    env.sim.with_data(|d| d.apply(&Mutation { new_messages: 2, ..Default::default() }, chrono::Utc::now()));
    let mut child = hold(&db, 4);
    let config = env.config();
    let err =
        desksync::app::run::run_pipeline(&config, &config.pipelines[0], tokio_util::sync::CancellationToken::new())
            .await
            .unwrap_err()
            .to_string();
    assert!(err.contains("locked by another process"), "{err}");
    assert!(err.contains(&format!("PID {}", child.id())), "the holder is named: {err}");
    child.wait().unwrap();
    assert_eq!(env.run().await.status, "succeeded");
    assert_equals_truth(&env);
}
