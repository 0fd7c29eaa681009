//! A process that dies between loading a batch and committing it loses nothing and duplicates
//! nothing: the next run resumes from the last committed state and ends equal to the truth.

use desksync::simulator::SimConfig;

use crate::common::{Env, FAST, assert_equals_truth};

#[tokio::test(flavor = "multi_thread")]
async fn a_run_killed_between_load_and_commit_resumes_exactly() {
    // One stream at a time, so the commit the failpoint counts to is always the same one.
    let tables = format!("{FAST}page_size = 50\npage_overlap = 5\nbatch_size = 30\nstream_concurrency = 1\n");
    let env = Env::new(SimConfig { conversations: 150, seed: 11, ..Default::default() }, "", &tables).await;
    // Commits: 1 departments, 2 tags, 3 rows 0-29, 4 rows 30-49 (page done: offset 45),
    // 5 rows 45-74 — the process aborts inside this one, after loading and before COMMIT.
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_desksync"))
        .arg("--config")
        .arg(&env.config_path)
        .arg("run")
        .env("DESKSYNC_FAILPOINT", "before_commit:5")
        .output()
        .await
        .expect("the binary runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the run should have died: {stderr}");
    assert!(stderr.contains("DESKSYNC_FAILPOINT reached"), "{stderr}");
    // Exactly the committed batches are there, and the pass state says where to resume.
    assert_eq!(env.count("SELECT count(*) FROM tickets"), 50);
    let state = env.rows("SELECT state FROM _desksync_state WHERE stream = 'conversations'");
    assert!(state[0][0].contains("\"offset\":45"), "{state:?}");
    env.sim.reset_stats();
    let s = env.run().await;
    assert_eq!(s.status, "succeeded", "{s:?}");
    assert_equals_truth(&env);
    // Resumed at the page it reached: messages were fetched only for the 100 conversations the
    // crashed run had not committed.
    assert_eq!(env.sim.stats().get("messages"), Some(&100));
    let runs = env.rows("SELECT status FROM _desksync_runs ORDER BY started_at");
    assert_eq!(runs, vec![vec!["abandoned".to_string()], vec!["succeeded".to_string()]]);
    // And a further run finds nothing left to do.
    env.sim.reset_stats();
    let s = env.run().await;
    assert_eq!((s.status.as_str(), s.rows_written), ("succeeded", 0));
    assert_eq!(env.sim.stats().get("messages"), None);
}

#[tokio::test(flavor = "multi_thread")]
async fn shutdown_mid_run_commits_whole_batches_only_and_the_next_run_completes() {
    use desksync::simulator::{Fault, FaultRule};
    let tables = format!("{FAST}batch_size = 20\n");
    let env = Env::new(SimConfig { conversations: 120, seed: 12, ..Default::default() }, "", &tables).await;
    // Slow message answers make the run last long enough to be stopped part-way.
    env.sim.inject(FaultRule {
        fault: Fault::Slow { millis: 150 },
        path_contains: Some("/messages".into()),
        times: 10_000,
    });
    let config = env.config();
    let token = tokio_util::sync::CancellationToken::new();
    let run = {
        let (config, token) = (config.clone(), token.clone());
        tokio::spawn(async move { desksync::app::run::run_pipeline(&config, &config.pipelines[0], token).await })
    };
    // Stop as soon as the first batch of conversations is in.
    let started = std::time::Instant::now();
    let loaded_so_far = || {
        if env.count("SELECT count(*) FROM information_schema.tables WHERE table_name = 'tickets'") == 0 {
            return 0; // the run has not created the schema yet
        }
        env.count("SELECT count(*) FROM tickets")
    };
    while loaded_so_far() == 0 {
        assert!(started.elapsed() < std::time::Duration::from_secs(60), "no batch was committed");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    token.cancel();
    let s = run.await.unwrap().unwrap();
    assert_eq!(s.status, "interrupted", "{s:?}");
    let loaded = env.count("SELECT count(*) FROM tickets");
    assert!(loaded > 0 && loaded < 120 && loaded % 20 == 0, "whole batches only: {loaded}");
    // Every ticket that is in has all its messages: batches commit whole or not at all.
    let truth = crate::common::truth_messages(&env);
    for row in env.rows("SELECT ticket_id, count(*) FROM messages GROUP BY 1") {
        let want = truth.keys().filter(|(t, _)| *t == row[0]).count();
        assert_eq!(row[1], want.to_string(), "ticket {}", row[0]);
    }
    assert_eq!(env.count("SELECT count(DISTINCT ticket_id) FROM messages"), loaded);
    env.sim.clear_faults();
    let s = env.run().await;
    assert_eq!(s.status, "succeeded", "{s:?}");
    assert_equals_truth(&env);
}
