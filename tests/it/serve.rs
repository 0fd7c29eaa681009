//! `desksync serve`: schedules, the HTTP endpoint, the per-pipeline lock and graceful shutdown.

use std::time::{Duration, Instant};

use desksync::app::run::{PipelineLock, run_pipeline};
use desksync::app::serve::{ServeOptions, serve};
use desksync::error::WarehouseError;
use desksync::simulator::SimConfig;
use tokio_util::sync::CancellationToken;

use crate::common::{CORE_STREAMS, Env};

fn sim() -> SimConfig {
    SimConfig { conversations: 30, seed: 3, ..Default::default() }
}

async fn get(url: &str) -> (u16, String) {
    let r = reqwest::get(url).await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_runs_scheduled_pipelines_and_reports_health_metrics_and_status() {
    let env = Env::new(sim(), &format!("{CORE_STREAMS}\nschedule = \"*/2 * * * * *\""), "").await;
    let shutdown = CancellationToken::new();
    let (tx, rx) = tokio::sync::oneshot::channel();
    let options = ServeOptions { bind: "127.0.0.1:0".parse().unwrap(), ..Default::default() };
    let task = tokio::spawn(serve(env.config(), options, shutdown.clone(), Some(tx)));
    let base = format!("http://{}", rx.await.unwrap());
    // Never run before: it runs at once (a missed run), then on its schedule.
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        let (code, body) = get(&format!("{base}/status")).await;
        assert_eq!(code, 200);
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        if v[0]["last_run"]["status"] == "succeeded" && env.count("SELECT count(*) FROM _desksync_runs") >= 2 {
            break v;
        }
        assert!(Instant::now() < deadline, "no scheduled runs: {body}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(status[0]["pipeline"], "la");
    assert!(status[0]["watermarks"]["conversations"].is_string(), "{status}");
    assert!(status[0]["next_run"].is_string(), "{status}");
    assert_eq!(get(&format!("{base}/healthz")).await.0, 200);
    assert_eq!(get(&format!("{base}/readyz")).await.0, 200);
    let (code, metrics) = get(&format!("{base}/metrics")).await;
    assert_eq!(code, 200);
    assert!(metrics.contains("desksync_runs_total{pipeline=\"la\",status=\"succeeded\"}"), "{metrics}");
    assert!(metrics.contains("desksync_watermark_lag_seconds"), "{metrics}");
    // Runs never overlap and every one of them completed.
    let statuses = env.rows("SELECT DISTINCT status FROM _desksync_runs WHERE status <> 'running'");
    assert_eq!(statuses, vec![vec!["succeeded".to_string()]]);
    shutdown.cancel();
    let t0 = Instant::now();
    tokio::time::timeout(Duration::from_secs(30), task).await.expect("serve stops").unwrap().unwrap();
    assert!(t0.elapsed() < Duration::from_secs(30));
    assert_equals_no_running(&env);
}

/// `desksync serve` as a child process on a free port.
fn spawn_serve(env: &Env, shutdown_deadline: &str) -> tokio::process::Child {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_desksync"))
        .arg("--config")
        .arg(&env.config_path)
        .args(["serve", "--bind", "127.0.0.1:0", "--shutdown-deadline", shutdown_deadline])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

fn assert_equals_no_running(env: &Env) {
    assert_eq!(env.count("SELECT count(*) FROM _desksync_runs WHERE status = 'running'"), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pipeline_never_runs_twice_at_once() {
    let env = Env::new(sim(), "", "").await;
    let config = env.config();
    let held = PipelineLock::acquire(&config.warehouse_path, "la").unwrap();
    let err = run_pipeline(&config, &config.pipelines[0], CancellationToken::new()).await.expect_err("busy");
    assert!(matches!(err, WarehouseError::PipelineBusy { .. }), "{err}");
    assert!(err.to_string().contains(&format!("PID {}", std::process::id())), "{err}");
    drop(held);
    assert_eq!(
        run_pipeline(&config, &config.pipelines[0], CancellationToken::new()).await.unwrap().status,
        "succeeded"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_stops_serve_cleanly_with_exit_code_zero() {
    let env = Env::new(sim(), &format!("{CORE_STREAMS}\nschedule = \"* * * * * *\""), "").await;
    let mut child = spawn_serve(&env, "20s");
    let deadline = Instant::now() + Duration::from_secs(60);
    let runs = |env: &Env| {
        if env.dir.path().join("w.duckdb").exists() {
            env.count("SELECT count(*) FROM _desksync_runs WHERE status = 'succeeded'")
        } else {
            0
        }
    };
    while runs(&env) < 1 {
        assert!(Instant::now() < deadline, "serve did not run the pipeline");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let pid = child.id().unwrap().to_string();
    let killed = std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(killed.success());
    let out =
        tokio::time::timeout(Duration::from_secs(30), child.wait()).await.expect("exits within the deadline").unwrap();
    assert_eq!(out.code(), Some(0));
    assert_equals_no_running(&env);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_signal_exits_at_once_and_the_warehouse_survives() {
    let env = Env::new(sim(), &format!("{CORE_STREAMS}\nschedule = \"* * * * * *\""), "").await;
    let mut child = spawn_serve(&env, "60s");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !env.dir.path().join("w.duckdb").exists()
        || env.count("SELECT count(*) FROM _desksync_runs WHERE status = 'succeeded'") == 0
    {
        assert!(Instant::now() < deadline, "no run finished");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Someone holds the warehouse open: the next scheduled run waits for it (lock_timeout 20 s),
    // so a graceful stop would wait too. The second signal does not.
    let holder = {
        // The service opens the file for each load: retry until it is between two.
        let until = Instant::now() + Duration::from_secs(20);
        loop {
            match duckdb::Connection::open(env.dir.path().join("w.duckdb")) {
                Ok(c) => break c,
                Err(e) => {
                    assert!(Instant::now() < until, "never got the warehouse: {e}");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }
    };
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let pid = child.id().unwrap().to_string();
    std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    let out = tokio::time::timeout(Duration::from_secs(10), child.wait()).await.expect("exits at once").unwrap();
    assert_eq!(out.code(), Some(143), "128 + SIGTERM");
    drop(holder);
    // Nothing is corrupted: the next run opens the warehouse and ends equal to the vendor.
    let s = env.run().await;
    assert_eq!(s.status, "succeeded", "{s:?}");
    crate::common::assert_equals_truth(&env);
}
