//! The built binary as a user meets it: spawned processes, real signals, exit codes, files and
//! stdout. Each test bounds its own time; every request goes to a simulator on 127.0.0.1.

use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use desksync::simulator::{Fault, FaultRule, SimConfig};
use tokio::io::{AsyncBufReadExt, AsyncReadExt};

use crate::common::{CORE_STREAMS, Env};

fn sim() -> SimConfig {
    SimConfig { conversations: 30, seed: 5, ..Default::default() }
}

pub struct Out {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl std::fmt::Debug for Out {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit {:?}\n--- stdout\n{}\n--- stderr\n{}", self.code, self.stdout, self.stderr)
    }
}

pub fn bin() -> tokio::process::Command {
    let mut c = tokio::process::Command::new(env!("CARGO_BIN_EXE_desksync"));
    c.stdin(Stdio::null()).env_remove("DESKSYNC_CONFIG").env_remove("RUST_LOG").kill_on_drop(true);
    c
}

/// `desksync ARGS` in `dir`, to its end (at most two minutes).
pub async fn run_in(dir: &Path, args: &[&str]) -> Out {
    let child = bin().current_dir(dir).args(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let out = tokio::time::timeout(Duration::from_secs(120), child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("desksync {args:?} did not finish within 2 minutes"))
        .unwrap();
    Out {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `desksync --config <env's> ARGS`.
pub async fn desksync(env: &Env, args: &[&str]) -> Out {
    let mut all = vec!["--config", env.config_path.to_str().unwrap()];
    all.extend_from_slice(args);
    run_in(env.dir.path(), &all).await
}

/// A spawned `desksync serve` with its address and everything it wrote on stderr so far.
pub struct Serve {
    child: tokio::process::Child,
    base: String,
    stderr: Arc<Mutex<String>>,
}

impl Serve {
    pub async fn start(env: &Env, extra: &[&str]) -> Serve {
        let mut child = bin()
            .arg("--config")
            .arg(&env.config_path)
            .args(["serve", "--bind", "127.0.0.1:0"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = tokio::io::BufReader::new(child.stdout.take().unwrap());
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut err = child.stderr.take().unwrap();
        let sink = stderr.clone();
        tokio::spawn(async move {
            let mut buf = [0u8; 4096];
            while let Ok(n) = err.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let mut line = String::new();
        tokio::time::timeout(Duration::from_secs(30), stdout.read_line(&mut line))
            .await
            .unwrap_or_else(|_| panic!("serve printed no address; stderr:\n{}", stderr.lock().unwrap()))
            .unwrap();
        let base = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no address in {line:?}"))
            .to_string();
        Serve { child, base, stderr }
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    pub async fn get(&self, path: &str) -> String {
        reqwest::get(format!("{}{path}", self.base)).await.unwrap().text().await.unwrap()
    }

    async fn status(&self) -> serde_json::Value {
        serde_json::from_str(&self.get("/status").await).unwrap()
    }

    fn signal(&self, sig: &str) {
        let pid = self.child.id().expect("running").to_string();
        assert!(std::process::Command::new("kill").args([sig, &pid]).status().unwrap().success());
    }

    fn alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// Wait until `f(/status)` holds (at most 60 s).
    pub async fn wait_for(&self, what: &str, f: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let v = self.status().await;
            if f(&v) {
                return v;
            }
            assert!(Instant::now() < deadline, "{what}: {v}\nstderr:\n{}", self.stderr.lock().unwrap());
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    pub async fn stop(mut self) -> (Option<i32>, String) {
        self.signal("-TERM");
        let status =
            tokio::time::timeout(Duration::from_secs(60), self.child.wait()).await.expect("serve stops").unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        let text = self.stderr.lock().unwrap().clone();
        (status.code(), text)
    }
}

/// Spawn `cmd`, read one line of its stdout and close the pipe, as `| head -1` does.
async fn read_one_line_then_close(mut cmd: tokio::process::Command) -> std::process::Output {
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut stdout = tokio::io::BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).await.unwrap();
    drop(stdout);
    tokio::time::timeout(Duration::from_secs(60), child.wait_with_output()).await.unwrap().unwrap()
}

fn pipeline<'a>(status: &'a serde_json::Value, name: &str) -> Option<&'a serde_json::Value> {
    status.as_array()?.iter().find(|p| p["pipeline"] == name)
}

#[tokio::test(flavor = "multi_thread")]
async fn sighup_reloads_serve_and_a_broken_file_is_refused_with_the_process_alive() {
    let env = Env::new(sim(), &format!("{CORE_STREAMS}\nschedule = \"0 0 0 1 1 *\""), "").await;
    let mut serve = Serve::start(&env, &[]).await;
    // Never run before: it runs once at start-up.
    serve
        .wait_for("the first run", |v| pipeline(v, "la").is_some_and(|p| p["last_run"]["status"] == "succeeded"))
        .await;
    // Every counter family is there from the start, at 0 where nothing happened.
    let metrics = serve.get("/metrics").await;
    for family in ["desksync_stream_errors_total", "desksync_rows_quarantined_total", "desksync_http_throttled_total"] {
        assert!(metrics.contains(&format!("{family}{{pipeline=\"la\"")), "{family} missing:\n{metrics}");
    }
    assert!(metrics.contains("desksync_runs_total{pipeline=\"la\",status=\"failed\"} 0"), "{metrics}");

    env.copy_pipeline("la", "second", |t| t.replace("schedule = \"0 0 0 1 1 *\"", "schedule = \"* * * * * *\""));
    serve.signal("-HUP");
    serve
        .wait_for("the added pipeline runs", |v| {
            pipeline(v, "second").is_some_and(|p| p["last_run"]["status"] == "succeeded")
        })
        .await;
    assert!(serve.alive(), "SIGHUP must not stop serve");

    // A broken file: refused, every problem logged, the running configuration kept.
    std::fs::write(env.dir.path().join("pipelines/broken.toml"), "source = \"nowhere\"\ncolour = 1\n").unwrap();
    serve.signal("-HUP");
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(serve.alive(), "a broken reload must not stop serve");
    let names: Vec<String> =
        serve.status().await.as_array().unwrap().iter().map(|p| p["pipeline"].as_str().unwrap().to_string()).collect();
    assert_eq!(names, ["la", "second"]);
    std::fs::remove_file(env.dir.path().join("pipelines/broken.toml")).unwrap();
    std::fs::remove_file(env.dir.path().join("pipelines/second.toml")).unwrap();
    // Removing a pipeline stops scheduling it.
    serve.signal("-HUP");
    serve.wait_for("the removed pipeline goes", |v| pipeline(v, "second").is_none()).await;
    let (code, stderr) = serve.stop().await;
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("colour") && stderr.contains("base_url"), "every problem logged:\n{stderr}");
    assert!(stderr.contains("configuration not reloaded"), "{stderr}");
    assert_eq!(env.count("SELECT count(*) FROM _desksync_runs WHERE status = 'running'"), 0);
}

/// A pipeline whose message requests are slow, so a run takes long enough to interrupt.
async fn slow_env() -> Env {
    let env = Env::new(SimConfig { conversations: 60, seed: 8, ..Default::default() }, "", "").await;
    env.sim.inject(FaultRule {
        fault: Fault::Slow { millis: 300 },
        path_contains: Some("/messages".into()),
        times: 100_000,
    });
    env
}

#[tokio::test(flavor = "multi_thread")]
async fn an_interrupted_run_says_so_and_exits_with_the_signal_code() {
    for (sig, code) in [("-TERM", 143), ("-INT", 130)] {
        let env = slow_env().await;
        let child = bin()
            .current_dir(env.dir.path())
            .arg("--config")
            .arg(&env.config_path)
            .args(["run", "-p", "la"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Let it get into the messages.
        let deadline = Instant::now() + Duration::from_secs(30);
        while env.sim.stats().get("messages").copied().unwrap_or(0) < 3 {
            assert!(Instant::now() < deadline, "the run never reached the messages");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let pid = child.id().unwrap().to_string();
        std::process::Command::new("kill").args([sig, &pid]).status().unwrap();
        let out = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output()).await.unwrap().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(code), "{sig}: {stdout}\n{}", String::from_utf8_lossy(&out.stderr));
        assert!(stdout.contains("la: interrupted"), "{stdout}");
        assert!(!stdout.contains("la: succeeded"), "{stdout}");
        let runs = env.rows("SELECT status, error, streams FROM _desksync_runs");
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0][0], "interrupted", "{runs:?}");
        assert!(runs[0][1].contains("did not finish"), "{runs:?}");
        // The conversations stream stopped mid-way; the merged streams after it never started.
        let streams: Vec<serde_json::Value> = serde_json::from_str(&runs[0][2]).unwrap();
        let conv = streams.iter().find(|s| s["stream"] == "conversations").expect("conversations reported");
        assert!(conv["status"] == "interrupted" || conv["status"] == "not_started", "{streams:?}");
        // The next run finishes what was left, exactly.
        env.sim.clear_faults();
        let s = env.run().await;
        assert_eq!(s.status, "succeeded", "{s:?}");
        crate::common::assert_equals_truth(&env);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn run_all_runs_every_pipeline_and_names_those_that_did_not_succeed() {
    let env = Env::new(sim(), "", "").await;
    // One pipeline with an unset secret, one held by another process.
    env.copy_pipeline("la", "broken", |t| {
        t.replace("api_key_file = \"la.secret\"", "api_key = \"${DESKSYNC_TEST_NEVER_SET}\"")
    });
    env.copy_pipeline("la", "held", |t| t);
    let config = env.dir.path().join("w.duckdb");
    let lock = desksync::app::run::PipelineLock::acquire(&config, "held").unwrap();
    let out = desksync(&env, &["run"]).await;
    drop(lock);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stdout.contains("la: succeeded"), "{out:?}");
    assert!(out.stdout.contains("DESKSYNC_TEST_NEVER_SET"), "the broken pipeline's problem: {out:?}");
    assert!(out.stdout.contains("held: skipped"), "{out:?}");
    assert!(
        out.stderr.contains("did not succeed") && out.stderr.contains("broken") && out.stderr.contains("held"),
        "{out:?}"
    );
    // The good pipeline loaded everything.
    crate::common::assert_equals_truth(&env);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_vendor_ends_the_run_in_seconds_with_one_message() {
    let env = Env::new(sim(), "", "").await;
    // A port nothing listens on: every connection is refused.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let path = env.dir.path().join("pipelines/la.toml");
    let text =
        std::fs::read_to_string(&path).unwrap().replace(&env.sim.base_url(), &format!("http://127.0.0.1:{port}"));
    // The default retry budget (6 retries from 500 ms) would take half a minute per request.
    std::fs::write(&path, text.replace("retry_initial = \"10ms\"", "retry_initial = \"500ms\"")).unwrap();
    let t0 = Instant::now();
    let out = desksync(&env, &["run", "-p", "la"]).await;
    let took = t0.elapsed();
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stdout.contains("la: failed"), "{out:?}");
    assert!(out.stdout.contains("cannot connect"), "{out:?}");
    assert!(out.stdout.contains("not_started"), "{out:?}");
    assert!(took < Duration::from_secs(20), "a dead host must end the run in seconds, took {took:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_host_that_goes_down_mid_run_stops_the_remaining_streams() {
    use desksync::app::run::run_pipeline;
    let env = Env::new(sim(), "", "").await;
    // A second simulator the pipeline talks to, stopped after a few requests.
    let other = desksync::simulator::Simulator::start(sim(), 0).await.unwrap();
    let path = env.dir.path().join("pipelines/la.toml");
    let text = std::fs::read_to_string(&path).unwrap().replace(&env.sim.base_url(), &other.base_url());
    std::fs::write(&path, text).unwrap();
    other.inject(FaultRule {
        fault: Fault::Slow { millis: 200 },
        path_contains: Some("/messages".into()),
        times: 100_000,
    });
    let config = env.config();
    let run = tokio::spawn(async move {
        run_pipeline(&config, &config.pipelines[0], tokio_util::sync::CancellationToken::new()).await.unwrap()
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    while other.stats().get("messages").copied().unwrap_or(0) < 2 {
        assert!(Instant::now() < deadline, "no messages requested");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(other);
    let s = tokio::time::timeout(Duration::from_secs(60), run).await.expect("the run ends").unwrap();
    assert_ne!(s.status, "succeeded", "{s:?}");
    let text = format!("{s:?}");
    assert!(text.contains("cannot connect") || text.contains("stopped answering"), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn refused_credentials_suspend_the_pipeline_until_its_configuration_changes() {
    let env = Env::livezilla(sim(), Some("wrong-password"), "schedule = \"* * * * * *\"", crate::common::FAST).await;
    let serve = Serve::start(&env, &[]).await;
    let v = serve.wait_for("suspended", |v| pipeline(v, "lz").is_some_and(|p| p["suspended"].is_string())).await;
    assert!(pipeline(&v, "lz").unwrap()["suspended"].as_str().unwrap().contains("LZAV20001"), "{v}");
    // Several schedule slots pass: no further login is tried.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let failures = env.sim.state.lz.lock().unwrap().failures.values().map(|v| v.len()).sum::<usize>();
    assert_eq!(failures, 1, "one refused login, not one per slot");
    let metrics = serve.get("/metrics").await;
    assert!(metrics.contains("desksync_pipeline_suspended{pipeline=\"lz\"} 1"), "{metrics}");
    // The password is fixed and the service reloaded: the pipeline runs again.
    std::fs::write(env.dir.path().join("lz.secret"), &env.sim.state.config.lz_password).unwrap();
    serve.signal("-HUP");
    serve
        .wait_for("resumed", |v| {
            pipeline(v, "lz").is_some_and(|p| p["suspended"].is_null() && p["last_run"]["status"] == "succeeded")
        })
        .await;
    let (code, stderr) = serve.stop().await;
    assert_eq!(code, Some(0));
    assert!(stderr.contains("suspended"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_snapshot_shows_the_run_final_and_bookkeeping_changes_are_published() {
    let env = Env::new(sim(), "", "").await;
    let out = desksync(&env, &["run"]).await;
    assert_eq!(out.code, Some(0), "{out:?}");
    let snapshot = env.dir.path().join("analytics.duckdb");
    let read = |sql: &str| -> i64 {
        let c = duckdb::Connection::open_with_flags(
            &snapshot,
            duckdb::Config::default().access_mode(duckdb::AccessMode::ReadOnly).unwrap(),
        )
        .unwrap();
        c.query_row(sql, [], |r| r.get(0)).unwrap()
    };
    assert_eq!(read("SELECT count(*) FROM _desksync_runs WHERE status = 'succeeded'"), 1);
    assert_eq!(read("SELECT count(*) FROM _desksync_runs WHERE status = 'running'"), 0);
    assert!(read("SELECT count(*) FROM _desksync_state") > 0);
    let out = desksync(&env, &["state", "reset", "-p", "la"]).await;
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.contains("stream state(s)") && out.stdout.contains("ledger window(s)"), "{out:?}");
    assert_eq!(read("SELECT count(*) FROM _desksync_state"), 0, "the reset reaches the snapshot");
}

#[tokio::test(flavor = "multi_thread")]
async fn unusable_output_paths_fail_before_syncing_and_leave_nothing_behind() {
    let env = Env::new(sim(), "", "").await;
    std::fs::create_dir_all(env.dir.path().join("snap.duckdb")).unwrap();
    std::fs::write(env.dir.path().join("lakefile"), "not a directory").unwrap();
    std::fs::write(
        &env.config_path,
        "[warehouse]\npath = \"w.duckdb\"\npublish_path = \"snap.duckdb\"\n[lake]\npath = \"lakefile\"\n",
    )
    .unwrap();
    let out = desksync(&env, &["run"]).await;
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stdout.contains("la: failed"), "{out:?}");
    assert!(out.stdout.contains("publish_path") && out.stdout.contains("is a directory"), "{out:?}");
    assert!(out.stdout.contains("lake.path") && out.stdout.contains("is a file"), "{out:?}");
    assert_eq!(env.sim.stats().values().sum::<u64>(), 0, "nothing was fetched");
    let leftovers: Vec<String> = std::fs::read_dir(env.dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("publishing"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let v = desksync(&env, &["validate"]).await;
    assert_eq!(v.code, Some(1), "{v:?}");
    assert!(v.stdout.contains("is a directory"), "{v:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_demo_refuses_a_directory_it_did_not_write_and_config_paths_must_exist() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("desksync.toml"), "# mine\n[warehouse]\npath = \"prod.duckdb\"\n").unwrap();
    let out = run_in(dir.path(), &["demo", "--dir", "."]).await;
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stderr.contains("did not write"), "{out:?}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("desksync.toml")).unwrap(),
        "# mine\n[warehouse]\npath = \"prod.duckdb\"\n"
    );
    let out = run_in(dir.path(), &["--config", "nowhere.toml", "run"]).await;
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stderr.contains("nowhere.toml does not exist"), "{out:?}");
    let out = bin()
        .current_dir(dir.path())
        .env("DESKSYNC_CONFIG", "also-nowhere.toml")
        .arg("validate")
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("also-nowhere.toml does not exist"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_closed_pipe_ends_quietly_and_json_logs_are_json_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let mut streams = bin();
    streams.current_dir(dir.path()).arg("streams");
    let out = read_one_line_then_close(streams).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");

    // A fatal error, in JSON, with its cause; and no colour codes in a log file.
    let out = run_in(dir.path(), &["--log-format", "json", "--config", "missing.toml", "run"]).await;
    assert_eq!(out.code, Some(1));
    for line in out.stderr.lines() {
        serde_json::from_str::<serde_json::Value>(line).unwrap_or_else(|_| panic!("not JSON: {line}"));
    }
    assert!(out.stderr.contains("missing.toml"), "{out:?}");
    let env = Env::new(sim(), "", "").await;
    let out = desksync(&env, &["--log-format", "json", "run"]).await;
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(!out.stderr.is_empty());
    for line in out.stderr.lines() {
        serde_json::from_str::<serde_json::Value>(line).unwrap_or_else(|_| panic!("not JSON: {line}"));
    }
    let out = desksync(&env, &["run"]).await;
    assert!(!out.stderr.contains('\u{1b}'), "ANSI codes in a non-terminal log: {out:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn streams_validate_state_and_runs_as_a_user_meets_them() {
    let env = Env::livezilla(sim(), None, "", crate::common::FAST).await;
    // streams -p: only the pipeline's own connector.
    let out = desksync(&env, &["streams", "-p", "lz"]).await;
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.lines().skip(1).all(|l| l.starts_with("livezilla")), "{out:?}");
    let out = desksync(&env, &["streams", "--json"]).await;
    let list: Vec<serde_json::Value> = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(list.iter().filter(|s| s["source"] == "liveagent").count(), 39, "LiveAgent's streams");
    assert!(list.iter().any(|s| s["source"] == "liveforce"), "every vendor's streams");
    // validate: offline, every file.
    let out = desksync(&env, &["validate"]).await;
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.contains("ok: lz"), "{out:?}");
    assert_eq!(env.sim.stats().values().sum::<u64>(), 0, "validate sends nothing");
    // Read-only verbs create nothing.
    let out = desksync(&env, &["state", "show", "-p", "lz"]).await;
    assert_eq!(out.code, Some(0), "{out:?}");
    let out =
        desksync(&env, &["backfill", "-p", "lz", "--from", "2026-01-01", "--to", "2026-01-08", "--dry-run"]).await;
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(!env.dir.path().join("w.duckdb").exists(), "read-only verbs must not create the warehouse");
    let out = desksync(&env, &["sql", "SELECT 1"]).await;
    assert_eq!(out.code, Some(1));
    assert!(out.stderr.contains("run `desksync run` first"), "{out:?}");
    let out = desksync(&env, &["runs"]).await;
    assert!(out.stdout.contains("no runs yet"), "{out:?}");

    assert_eq!(desksync(&env, &["run"]).await.code, Some(0));
    // state: an unknown stream is refused with the names; one stream can be shown.
    let out = desksync(&env, &["state", "reset", "-p", "lz", "--stream", "nope"]).await;
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stderr.contains("ticket_messages"), "{out:?}");
    let out = desksync(&env, &["state", "show", "-p", "lz", "--stream", "tickets"]).await;
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.contains("lz/tickets") && !out.stdout.contains("lz/chats"), "{out:?}");
    let out = desksync(&env, &["state", "show", "-p", "lz", "--json"]).await;
    let states: Vec<serde_json::Value> = serde_json::from_str(&out.stdout).unwrap();
    assert!(states.iter().any(|s| s["stream"] == "tickets"), "{states:?}");
    // runs: the history with per-stream figures.
    let out = desksync(&env, &["runs", "--json"]).await;
    let runs: Vec<serde_json::Value> = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0]["status"], "succeeded");
    assert!(
        runs[0]["streams"].as_array().unwrap().iter().any(|s| s["stream"] == "tickets" && s["rows"].as_u64() > Some(0))
    );
    let out = desksync(&env, &["runs", "-p", "lz"]).await;
    assert!(out.stdout.contains("succeeded") && out.stdout.contains("tickets"), "{out:?}");
    // A broken configuration fails streams and validate, naming the problem.
    std::fs::write(
        env.dir.path().join("pipelines/bad.toml"),
        "source = \"liveagent\"\nbase_url = \"http://127.0.0.1:9\"\naccount = \"b\"\napi_key = \"${DESKSYNC_TEST_NEVER_SET}\"\n\
         schedule = \"*/15 * * * *\"\nstreams = [\"messages\"]\n",
    )
    .unwrap();
    let out = desksync(&env, &["streams"]).await;
    assert_eq!(out.code, Some(1), "{out:?}");
    let out = desksync(&env, &["validate"]).await;
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stdout.contains("add a seconds field: `0 */15 * * * *`"), "{out:?}");
    assert!(out.stdout.contains("needs 'conversations'"), "a child without its parent: {out:?}");
    assert!(out.stdout.contains("${LIVEAGENT_API_KEY}") || out.stdout.contains("DESKSYNC_TEST_NEVER_SET"), "{out:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn sql_is_clear_about_empty_several_and_failing_queries() {
    let env = Env::new(sim(), "", "").await;
    assert_eq!(desksync(&env, &["run"]).await.code, Some(0));
    let out = desksync(&env, &["sql", "  "]).await;
    assert_eq!(out.code, Some(1));
    assert!(out.stderr.contains("empty"), "{out:?}");
    let out = desksync(&env, &["sql", "SELECT 1; SELECT 2"]).await;
    assert_eq!(out.code, Some(1));
    assert!(out.stderr.contains("2 statements"), "{out:?}");
    // A semicolon inside a string is not a second statement.
    let out = desksync(&env, &["sql", "SELECT 'a;b' AS x;"]).await;
    assert_eq!(out.code, Some(0), "{out:?}");
    let out = desksync(&env, &["sql", "SELECT ticket_id, subject FROM tickets WHERE false"]).await;
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.contains("ticket_id") && out.stdout.contains("subject"), "headers: {out:?}");
    assert!(out.stdout.contains("(0 rows)"), "{out:?}");
    let out = desksync(&env, &["sql", "SELECT nonsense FROM tickets"]).await;
    assert_eq!(out.code, Some(1));
    assert!(!out.stderr.contains("Unknown error code"), "{out:?}");
    let once = out.stderr.matches("nonsense").count();
    assert!(once >= 1 && out.stderr.lines().filter(|l| l.contains("Binder Error")).count() == 1, "{out:?}");
    let out = desksync(&env, &["sql", "--json", "SELECT count(*) AS n FROM tickets"]).await;
    let rows: Vec<serde_json::Value> = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(rows[0]["n"], 30);
    // A reader that stops early (`| head`): far more output than a pipe buffer holds.
    let mut sql = bin();
    sql.current_dir(env.dir.path())
        .arg("--config")
        .arg(&env.config_path)
        .args(["sql", "SELECT range AS i, 'padding padding padding' AS p FROM range(200000)"]);
    let out = read_one_line_then_close(sql).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn init_writes_a_valid_commented_pipeline_and_drop_deletes_what_a_pipeline_loaded() {
    let env = Env::new(sim(), "", "").await;
    for vendor in ["liveagent", "livezilla", "liveforce"] {
        let name = format!("new-{vendor}");
        let out = desksync(&env, &["init", vendor, &name]).await;
        assert_eq!(out.code, Some(0), "{out:?}");
        let text = std::fs::read_to_string(env.dir.path().join(format!("pipelines/{name}.toml"))).unwrap();
        for key in ["rate_limit_per_minute", "max_retries", "lookback", "page_size", "schedule", "streams"] {
            assert!(text.contains(key), "{vendor}: {key} documented");
        }
        // Twice is refused.
        assert_eq!(desksync(&env, &["init", vendor, &name]).await.code, Some(1));
    }
    let out = bin()
        .current_dir(env.dir.path())
        .arg("--config")
        .arg(&env.config_path)
        .arg("validate")
        .env("LIVEAGENT_API_KEY", "k")
        .env("LIVEZILLA_PASSWORD", "p")
        .env("LIVEFORCE_PASSWORD", "p")
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    for vendor in ["liveagent", "livezilla", "liveforce"] {
        std::fs::remove_file(env.dir.path().join(format!("pipelines/new-{vendor}.toml"))).unwrap();
    }

    assert_eq!(desksync(&env, &["run"]).await.code, Some(0));
    assert!(env.count("SELECT count(*) FROM messages") > 0);
    // Without --yes nothing goes.
    let out = desksync(&env, &["drop", "-p", "la", "--stream", "conversations"]).await;
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(env.count("SELECT count(*) FROM messages") > 0);
    // One stream (with its children).
    let out = desksync(&env, &["drop", "-p", "la", "--stream", "conversations", "--yes"]).await;
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(env.count("SELECT count(*) FROM tickets"), 0);
    assert_eq!(env.count("SELECT count(*) FROM messages"), 0);
    assert!(env.count("SELECT count(*) FROM departments") > 0);
    let lake = desksync::lake::Lake::new(env.config().lake.clone(), env.config().settings.lake.clone());
    let status = desksync::lake::status(&lake).await.unwrap();
    let rows = |t: &str| status.iter().find(|s| s.table == t).map(|s| s.rows).unwrap();
    assert_eq!((rows("tickets"), rows("messages")), (0, 0), "the lake's current version has none of them");
    assert!(rows("departments") > 0);
    assert_eq!(env.count("SELECT count(*) FROM _desksync_state WHERE stream = 'conversations'"), 0);
    // The whole pipeline; the next run loads everything again.
    let out = desksync(&env, &["drop", "-p", "la", "--yes"]).await;
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(env.count("SELECT count(*) FROM departments"), 0);
    assert_eq!(env.count("SELECT count(*) FROM _desksync_state"), 0);
    assert_eq!(desksync(&env, &["run"]).await.code, Some(0));
    crate::common::assert_equals_truth(&env);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_readme_command_summary_matches_help() {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let start = readme.find("desksync [--config FILE]").expect("the README's command summary");
    let summary = &readme[start..start + readme[start..].find("```").unwrap()];
    let dir = tempfile::tempdir().unwrap();
    let help = run_in(dir.path(), &["--help"]).await.stdout;
    let commands: Vec<String> = help
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| !l.is_empty())
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .filter(|c| c != "help")
        .collect();
    assert!(commands.len() >= 14, "{help}");
    // (long flag, short flag) of every option a --help lists.
    let flags = |text: &str| -> Vec<(String, Option<String>)> {
        text.lines()
            .map(str::trim)
            .filter(|l| l.starts_with('-'))
            .filter_map(|l| {
                let words: Vec<&str> = l.split_whitespace().map(|w| w.trim_end_matches(',')).collect();
                let long = words
                    .iter()
                    .find(|w| w.starts_with("--"))?
                    .trim_end_matches(|c: char| !c.is_ascii_alphanumeric())
                    .to_string();
                let short = words.first().filter(|w| !w.starts_with("--")).map(|w| w.to_string());
                Some((long, short))
            })
            .collect()
    };
    for cmd in &commands {
        let subcommands: Vec<Vec<&str>> =
            if cmd == "state" { vec![vec!["state", "show"], vec!["state", "reset"]] } else { vec![vec![cmd.as_str()]] };
        for args in subcommands {
            let line = args.join(" ");
            assert!(summary.contains(&format!("\n  {line}")), "the README summary lacks `{line}`");
            let mut with_help = args.clone();
            with_help.push("--help");
            let text = run_in(dir.path(), &with_help).await.stdout;
            // The command's own flags (globals are in the summary's first line).
            let own: Vec<(String, Option<String>)> = flags(&text)
                .into_iter()
                .filter(|(f, _)| {
                    !["--config", "--log-format", "--verbose", "--help", "--version"].contains(&f.as_str())
                })
                .collect();
            let entry_start = summary.find(&format!("\n  {line}")).unwrap();
            let rest = &summary[entry_start + 1..];
            // The entry runs to the next line that starts another command (two spaces, a letter).
            let entry_end = rest
                .match_indices("\n  ")
                .find(|(i, _)| rest[i + 3..].starts_with(|c: char| c.is_ascii_lowercase()))
                .map(|(i, _)| i)
                .unwrap_or(rest.len());
            let entry = &rest[..entry_end];
            for (long, short) in own {
                let named = entry.contains(&long) || short.as_ref().is_some_and(|s| entry.contains(&format!("{s} ")));
                assert!(named, "README's `{line}` lacks {long}:\n{entry}");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn run_shows_progress_on_a_terminal() {
    // `script` (util-linux, in Debian's essential bsdutils) gives the command a pseudo-terminal,
    // as a person at a shell has.
    let env = slow_env().await;
    let command = format!("{} --config {} run -p la", env!("CARGO_BIN_EXE_desksync"), env.config_path.display());
    let out = tokio::time::timeout(
        Duration::from_secs(120),
        tokio::process::Command::new("script")
            .args(["-qec", &command, "/dev/null"])
            .current_dir(env.dir.path())
            .stdin(Stdio::null())
            .output(),
    )
    .await
    .expect("the run ends")
    .unwrap();
    let screen = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{screen}");
    assert!(screen.contains("la: streams ") && screen.contains(" requests ("), "no progress line:\n{screen}");
    assert!(screen.contains("la: succeeded"), "{screen}");
    assert!(!screen.contains(" INFO "), "a terminal run shows progress, not info logs:\n{screen}");
}

#[tokio::test(flavor = "multi_thread")]
async fn init_works_before_the_pipelines_directory_exists() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("desksync.toml"), "pipelines_dir = \"conf.d\"\n").unwrap();
    let out = run_in(dir.path(), &["init", "liveforce", "crm"]).await;
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(dir.path().join("conf.d/crm.toml").is_file(), "written where desksync.toml says: {out:?}");
    let out = run_in(dir.path(), &["init", "zendesk"]).await;
    assert_eq!(out.code, Some(1));
    assert!(out.stderr.contains("known: liveagent, livezilla, liveforce"), "{out:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bench_ended_by_ctrl_c_or_kill_takes_its_simulator_with_it() {
    use tokio::io::AsyncBufReadExt;
    for sig in ["-INT", "-KILL"] {
        let dir = tempfile::tempdir().unwrap();
        let scratch = dir.path().join("bench");
        let mut child = bin()
            .args(["bench", "--conversations", "20000", "--dir", scratch.to_str().unwrap()])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The first line names the simulator's address; the phase header comes once it runs.
        let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let first = tokio::time::timeout(Duration::from_secs(60), lines.next_line()).await.unwrap().unwrap().unwrap();
        let addr = first.split("http://").nth(1).and_then(|r| r.split_whitespace().next()).unwrap().to_string();
        assert!(std::net::TcpStream::connect(&addr).is_ok(), "the simulator answers at {addr}");
        tokio::time::sleep(Duration::from_secs(2)).await;
        let pid = child.id().unwrap().to_string();
        assert!(std::process::Command::new("kill").args([sig, &pid]).status().unwrap().success());
        let status =
            tokio::time::timeout(Duration::from_secs(30), child.wait()).await.expect("the bench ends").unwrap();
        if sig == "-INT" {
            assert_eq!(status.code(), Some(130), "Ctrl-C: exit 130");
        }
        // However the bench ended, its simulator stops listening within seconds.
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(&addr).is_ok() {
            assert!(Instant::now() < deadline, "{sig}: the simulator at {addr} outlived the bench");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
