//! A process that dies between loading a batch and committing it loses nothing and duplicates
//! nothing: the next run resumes from the last committed state and ends equal to the truth.

use desksync::simulator::SimConfig;

use crate::common::{Env, FAST, assert_equals_truth};

#[tokio::test(flavor = "multi_thread")]
async fn a_run_killed_between_load_and_commit_resumes_exactly() {
    let tables = format!("{FAST}page_size = 50\npage_overlap = 5\nbatch_size = 30\n");
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
    assert_eq!((s.status, s.rows_written), ("succeeded", 0));
    assert_eq!(env.sim.stats().get("messages"), None);
}
