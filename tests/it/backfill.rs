//! `desksync backfill`: history window by window, resumable, without touching incremental state.

use chrono::{Duration, Utc};
use desksync::app::backfill::{WindowSize, plan, run};
use desksync::simulator::SimConfig;
use tokio_util::sync::CancellationToken;

use crate::common::{Env, assert_equals_truth};

fn sim() -> SimConfig {
    SimConfig { conversations: 120, seed: 17, history_days: 30, ..Default::default() }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_backfill_loads_history_by_window_and_resumes_where_it_stopped() {
    let streams = "streams = [\"departments\", \"tags\", \"conversations\", \"messages\", \"report_performance\"]";
    let env = Env::new(sim(), streams, "").await;
    let config = env.config();
    let p = config.pipelines[0].clone();
    let today = Utc::now().date_naive();
    let (from, to) = (today - Duration::days(32), today + Duration::days(1));
    let plan1 = plan(&config, &p, from, to, WindowSize::Days(7)).await.unwrap();
    assert_eq!(plan1.windows.len(), 5);
    assert_eq!(plan1.streams, ["conversations", "report_performance"]);
    assert_eq!(plan1.not_windowed, ["departments", "tags"]);
    assert_eq!(plan1.counted_requests, 33, "one report request per day");
    assert!(plan1.describe().contains("5 windows"));
    assert!(env.sim.stats().is_empty(), "planning sends nothing");

    // Interrupted after three (stream, window) pairs.
    let stop = CancellationToken::new();
    let s = {
        let stop2 = stop.clone();
        run(&config, &p, &plan1, false, stop.clone(), move |pr| {
            if pr.done == 3 {
                stop2.cancel();
            }
        })
        .await
        .unwrap()
    };
    assert!(s.cancelled);
    assert_eq!(env.count("SELECT count(*) FROM _desksync_windows WHERE kind = 'backfill' AND status = 'done'"), 3);
    // The incremental state is untouched: the next `run` still starts from scratch.
    assert_eq!(env.count("SELECT count(*) FROM _desksync_state WHERE stream = 'conversations'"), 0);
    let partial = env.count("SELECT count(*) FROM tickets");
    assert!(partial > 0 && partial < 120, "{partial}");

    // Resumed: the done pairs are skipped, the rest loaded; the result is the whole history.
    let plan2 = plan(&config, &p, from, to, WindowSize::Days(7)).await.unwrap();
    assert_eq!(plan2.done.len(), 3);
    env.sim.reset_stats();
    let s = run(&config, &p, &plan2, false, CancellationToken::new(), |_| {}).await.unwrap();
    assert!(!s.cancelled && s.failed.is_empty(), "{s:?}");
    assert_eq!(s.windows_skipped, 3);
    assert_eq!(s.windows_loaded, 7);
    assert_eq!(env.count("SELECT count(*) FROM tickets"), 120);
    assert_eq!(env.count("SELECT count(DISTINCT window_start) FROM report_performance"), 33);
    assert_eq!(env.count("SELECT count(*) FROM _desksync_windows WHERE kind = 'backfill' AND status = 'done'"), 10);
    assert_eq!(
        env.count("SELECT max(attempts) FROM _desksync_windows WHERE kind = 'backfill'"),
        1,
        "no window ran twice"
    );
    // Messages came with their conversations; the dimensions come with the next run, which
    // also finds nothing new to fetch in the conversations the backfill loaded.
    env.sim.reset_stats();
    assert_eq!(env.run().await.status, "succeeded");
    assert_eq!(env.sim.stats().get("messages"), None, "no conversation needed its messages again");
    assert_equals_truth(&env);

    // A finished backfill does nothing again; --force re-runs a window.
    let plan3 = plan(&config, &p, from, from + Duration::days(7), WindowSize::Days(7)).await.unwrap();
    let s = run(&config, &p, &plan3, false, CancellationToken::new(), |_| {}).await.unwrap();
    assert_eq!((s.windows_loaded, s.windows_skipped), (0, 2));
    let s = run(&config, &p, &plan3, true, CancellationToken::new(), |_| {}).await.unwrap();
    assert_eq!(s.windows_loaded, 2);
    assert_eq!(env.count("SELECT max(attempts) FROM _desksync_windows WHERE kind = 'backfill'"), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_dry_run_prints_the_plan_and_sends_nothing() {
    let env = Env::new(sim(), "", "").await;
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_desksync"))
        .arg("--config")
        .arg(&env.config_path)
        .args(["backfill", "-p", "la", "--from", "2026-01-01", "--to", "2026-03-01", "--window", "1M", "--dry-run"])
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout} {}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("2 windows"), "{stdout}");
    assert!(stdout.contains("conversations"), "{stdout}");
    assert!(env.sim.stats().is_empty(), "a dry run sends no request: {:?}", env.sim.stats());
}

#[tokio::test(flavor = "multi_thread")]
async fn livezilla_tickets_backfill_by_created_window() {
    let env = Env::livezilla(
        SimConfig { conversations: 80, seed: 4, history_days: 40, ..Default::default() },
        None,
        "streams = [\"tickets\", \"chats\"]",
        "",
    )
    .await;
    let config = env.config();
    let p = config.pipelines[0].clone();
    let today = Utc::now().date_naive();
    let plan =
        plan(&config, &p, today - Duration::days(41), today + Duration::days(1), WindowSize::Days(10)).await.unwrap();
    let s = run(&config, &p, &plan, false, CancellationToken::new(), |_| {}).await.unwrap();
    assert!(s.failed.is_empty(), "{s:?}");
    let want = env.sim.with_data(|d| d.conversations.len()) as i64;
    assert_eq!(env.count("SELECT count(*) FROM tickets"), want, "tickets and chats, every one");
}
