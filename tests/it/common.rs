//! Test harness: a simulator on 127.0.0.1, a pipeline configured against it in a temp dir, and
//! helpers that read the warehouse and the simulator's truth in comparable shapes.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use arrow::util::display::array_value_to_string;
use desksync::app::run::{RunSummary, run_pipeline};
use desksync::config::Config;
use desksync::simulator::{SimConfig, Simulator};
use desksync::warehouse::Warehouse;
use tokio_util::sync::CancellationToken;

pub struct Env {
    pub dir: tempfile::TempDir,
    pub sim: Simulator,
    pub config_path: PathBuf,
}

/// The streams a test syncs unless it lists its own.
pub const CORE_STREAMS: &str = "streams = [\"departments\", \"tags\", \"conversations\", \"messages\"]";

/// Pipeline settings that keep tests fast against the local simulator.
pub const FAST: &str = "
[http]
rate_limit_per_minute = 600000
max_in_flight = 8
timeout = \"5s\"
retry_initial = \"10ms\"
retry_max_wait = \"3s\"

[sync]
message_concurrency = 8
report_history = \"2d\"
";

impl Env {
    /// A simulator with `conversations` and a pipeline `la` pointing at it. `extra` is appended
    /// to the pipeline file (TOML keys before any table in `FAST` must come first: pass top-level
    /// keys in `top`).
    pub async fn new(sim: SimConfig, top: &str, tables: &str) -> Env {
        // Tests of the conversation machinery sync the core streams only (each stream costs a
        // few warehouse round trips); tests of the other streams list theirs.
        let top = if top.contains("streams") { top.to_string() } else { format!("{CORE_STREAMS}\n{top}") };
        Env::with_pipeline(sim, "la", &top, tables, |cfg| {
            (cfg.api_key.clone(), "source = \"liveagent\"\napi_key_file = \"la.secret\"".into())
        })
        .await
    }

    /// A simulator and a LiveZilla pipeline `lz` against it (operator `apiadmin`, password in a
    /// file; `password` overrides it, e.g. a wrong one).
    pub async fn livezilla(sim: SimConfig, password: Option<&str>, top: &str, tables: &str) -> Env {
        let password = password.map(String::from);
        Env::with_pipeline(sim, "lz", top, tables, move |cfg| {
            (
                password.unwrap_or_else(|| cfg.lz_password.clone()),
                "source = \"livezilla\"\nusername = \"apiadmin\"\npassword_file = \"lz.secret\"".into(),
            )
        })
        .await
    }

    /// A simulator and a Liveforce pipeline `lf` against it (Basic auth; `password` overrides).
    pub async fn liveforce(sim: SimConfig, password: Option<&str>, top: &str, tables: &str) -> Env {
        let password = password.map(String::from);
        Env::with_pipeline(sim, "lf", top, tables, move |cfg| {
            (
                password.unwrap_or_else(|| cfg.lf_password.clone()),
                format!("source = \"liveforce\"\nusername = \"{}\"\npassword_file = \"lf.secret\"", cfg.lf_user),
            )
        })
        .await
    }

    /// A simulator, `desksync.toml`, and pipeline `name`: `vendor` gives the secret (written to
    /// `<name>.secret`) and the pipeline's source and credential keys; `top` and `tables` follow.
    async fn with_pipeline(
        sim: SimConfig,
        name: &str,
        top: &str,
        tables: &str,
        vendor: impl FnOnce(&SimConfig) -> (String, String),
    ) -> Env {
        let sim = Simulator::start(sim, 0).await.expect("simulator starts");
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("pipelines")).unwrap();
        let (secret, keys) = vendor(&sim.state.config);
        std::fs::write(dir.path().join(format!("{name}.secret")), secret).unwrap();
        std::fs::write(
            dir.path().join("desksync.toml"),
            "[warehouse]\npath = \"w.duckdb\"\nlock_timeout = \"20s\"\n[lake]\npath = \"lake\"\n",
        )
        .unwrap();
        let tables = if tables.is_empty() { FAST.to_string() } else { tables.to_string() };
        std::fs::write(
            dir.path().join(format!("pipelines/{name}.toml")),
            format!("{keys}\nbase_url = \"{}\"\naccount = \"acme\"\n{top}\n{tables}", sim.base_url()),
        )
        .unwrap();
        let config_path = dir.path().join("desksync.toml");
        Env { dir, sim, config_path }
    }

    /// Write `pipelines/<name>.toml` as a copy of pipeline `from` for account `name`, edited.
    pub fn copy_pipeline(&self, from: &str, name: &str, edit: impl Fn(String) -> String) {
        let text = std::fs::read_to_string(self.dir.path().join(format!("pipelines/{from}.toml"))).unwrap();
        let text = text.replace("account = \"acme\"", &format!("account = \"{name}\""));
        std::fs::write(self.dir.path().join(format!("pipelines/{name}.toml")), edit(text)).unwrap();
    }

    pub fn config(&self) -> Config {
        desksync::sources::load_config(&self.config_path).unwrap_or_else(|e| panic!("{e}"))
    }

    pub async fn run(&self) -> RunSummary {
        let config = self.config();
        run_pipeline(&config, &config.pipelines[0], CancellationToken::new()).await.expect("run completes")
    }

    pub fn warehouse(&self) -> Warehouse {
        Warehouse::new(self.dir.path().join("w.duckdb"), Duration::from_secs(20))
    }

    /// Every row of `sql` as strings (NULL as "∅").
    pub fn rows(&self, sql: &str) -> Vec<Vec<String>> {
        let sql = sql.to_string();
        self.warehouse()
            .with_conn_blocking(move |c| {
                let mut stmt = c.prepare(&sql).expect("valid test SQL");
                let batches: Vec<_> = stmt.query_arrow([]).expect("query runs").collect();
                let mut out = Vec::new();
                for b in batches {
                    for r in 0..b.num_rows() {
                        out.push(
                            b.columns()
                                .iter()
                                .map(|col| {
                                    if col.is_null(r) {
                                        "∅".to_string()
                                    } else {
                                        array_value_to_string(col, r).unwrap()
                                    }
                                })
                                .collect(),
                        );
                    }
                }
                Ok(out)
            })
            .expect("warehouse opens")
    }

    pub fn count(&self, sql: &str) -> i64 {
        self.rows(sql)[0][0].parse().expect("a number")
    }

    pub fn stream<'a>(&self, s: &'a RunSummary, name: &str) -> &'a desksync::app::run::StreamSummary {
        s.streams.iter().find(|x| x.stream == name).unwrap_or_else(|| panic!("no stream {name} in {s:?}"))
    }
}

pub fn utc(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

/// ticket id → [subject, status_raw, created, updated, messages_in, messages_out, tags] from
/// the simulator.
pub fn truth_tickets(env: &Env) -> BTreeMap<String, Vec<String>> {
    env.sim.with_data(|d| {
        d.conversations
            .values()
            .map(|c| {
                (
                    c.id.clone(),
                    vec![
                        c.subject.clone(),
                        c.status.clone(),
                        utc(c.created),
                        utc(c.changed),
                        c.messages_in().to_string(),
                        c.messages_out().to_string(),
                        c.tags.join(","),
                    ],
                )
            })
            .collect()
    })
}

/// The same shape read from the warehouse.
pub fn db_tickets(env: &Env) -> BTreeMap<String, Vec<String>> {
    env.rows(
        "SELECT ticket_id, subject, status_raw, strftime(created_at::TIMESTAMP, '%Y-%m-%d %H:%M:%S'),
                strftime(updated_at::TIMESTAMP, '%Y-%m-%d %H:%M:%S'), messages_in, messages_out,
                array_to_string(tags, ',')
         FROM tickets ORDER BY ticket_id",
    )
    .into_iter()
    .map(|mut r| {
        let id = r.remove(0);
        if r[6] == "∅" {
            r[6] = String::new();
        }
        (id, r)
    })
    .collect()
}

/// (ticket id, message id) → [body, created] from the simulator.
pub fn truth_messages(env: &Env) -> BTreeMap<(String, String), Vec<String>> {
    env.sim.with_data(|d| {
        let mut out = BTreeMap::new();
        for c in d.conversations.values() {
            for g in &c.groups {
                for m in &g.messages {
                    out.insert((c.id.clone(), m.id.clone()), vec![m.body.clone(), utc(m.created)]);
                }
            }
        }
        out
    })
}

pub fn db_messages(env: &Env) -> BTreeMap<(String, String), Vec<String>> {
    env.rows(
        "SELECT ticket_id, message_id, body, strftime(created_at::TIMESTAMP, '%Y-%m-%d %H:%M:%S')
         FROM messages ORDER BY ALL",
    )
    .into_iter()
    .map(|mut r| {
        let t = r.remove(0);
        let m = r.remove(0);
        ((t, m), r)
    })
    .collect()
}

/// The warehouse equals the simulator: tickets, messages, departments, tags.
pub fn assert_equals_truth(env: &Env) {
    let truth = truth_tickets(env);
    let db = db_tickets(env);
    assert_eq!(db.len(), truth.len(), "ticket count");
    for (id, want) in &truth {
        assert_eq!(db.get(id), Some(want), "ticket {id}");
    }
    let tm = truth_messages(env);
    let dm = db_messages(env);
    assert_eq!(dm.len(), tm.len(), "message count");
    assert!(dm == tm, "message contents differ from the simulator");
    let depts = env.sim.with_data(|d| d.departments.len()) as i64;
    assert_eq!(env.count("SELECT count(*) FROM departments WHERE deleted_at IS NULL"), depts);
    let tags = env.sim.with_data(|d| d.tags.len()) as i64;
    assert_eq!(env.count("SELECT count(*) FROM tags WHERE deleted_at IS NULL"), tags);
}

/// A Python with `deltalake`, `duckdb`, `moto` and `playwright` importable (installed once into the test
/// target directory from tests/requirements.txt when the system's lacks them); `None` only
/// outside CI when they cannot be installed (the test then says it skipped).
pub fn python() -> Option<(String, String)> {
    static FOUND: std::sync::OnceLock<Option<(String, String)>> = std::sync::OnceLock::new();
    FOUND
        .get_or_init(|| {
            let deps = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("desksync-pydeps");
            let pythonpath = deps.display().to_string();
            let works = || {
                std::process::Command::new("python3")
                    .args(["-c", "import deltalake, duckdb, moto.server, playwright"])
                    .env("PYTHONPATH", &pythonpath)
                    .stderr(Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success())
            };
            if !works() {
                let req = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/requirements.txt");
                let _ = std::process::Command::new("python3")
                    .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--target"])
                    .arg(&deps)
                    .args(["-r", req])
                    .status();
            }
            if works() {
                return Some(("python3".to_string(), pythonpath));
            }
            assert!(
                std::env::var_os("CI").is_none(),
                "CI needs Python with the packages of tests/requirements.txt (pip install -r tests/requirements.txt)"
            );
            eprintln!("SKIPPED: Python lake checks need `pip install -r tests/requirements.txt`");
            None
        })
        .clone()
}
