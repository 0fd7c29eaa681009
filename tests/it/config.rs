//! Configuration errors are all reported at once, with file and key; secrets never print.

#[test]
fn bad_config_lists_every_problem() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("pipelines")).unwrap();
    std::fs::write(
        dir.path().join("pipelines/broken.toml"),
        r#"
source = "liveagent"
base_url = "ftp:/nowhere"
account = "acme corp"
api_key = "plaintext-secret-123"
timezone = "Mars/Olympus"
streams = ["conversations", "calls"]
schedule = "every now and then"
colour = "blue"

[sync]
page_size = 5000
lookbak = "1h"
"#,
    )
    .unwrap();
    std::fs::write(
        dir.path().join("pipelines/other.toml"),
        "source = \"zendesk\"\nbase_url = \"https://x.example\"\naccount = \"b\"\napi_key = \"${DESKSYNC_TEST_UNSET_VARIABLE}\"\n",
    )
    .unwrap();
    let err = desksync::sources::load_config(&dir.path().join("desksync.toml")).unwrap_err();
    let text = err.to_string();
    let expect = [
        ("broken.toml", "base_url"),
        ("broken.toml", "account"),
        ("broken.toml", "api_key"),
        ("broken.toml", "timezone"),
        ("broken.toml", "streams"),
        ("broken.toml", "schedule"),
        ("broken.toml", "colour"),
        ("broken.toml", "sync.lookbak"),
        ("broken.toml", "sync.page_size"),
        ("other.toml", "source"),
        ("other.toml", "api_key"),
    ];
    for (file, key) in expect {
        assert!(
            err.0.iter().any(|p| p.file.ends_with(file) && p.key == key),
            "expected a problem with {file}: {key} in:\n{text}"
        );
    }
    assert!(text.contains("unknown stream 'calls'"), "{text}");
    assert!(text.contains("DESKSYNC_TEST_UNSET_VARIABLE"), "{text}");
    assert!(!text.contains("plaintext-secret-123"), "a secret leaked into the error:\n{text}");
}

#[test]
fn valid_config_loads_with_documented_defaults() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("pipelines")).unwrap();
    std::fs::write(dir.path().join("key"), "k-123\n").unwrap();
    std::fs::write(
        dir.path().join("pipelines/acme-support.toml"),
        "source = \"liveagent\"\nbase_url = \"https://acme.ladesk.com\"\naccount = \"acme\"\napi_key_file = \"key\"\ntimezone = \"America/Phoenix\"\n",
    )
    .unwrap();
    let cfg = desksync::sources::load_config(&dir.path().join("desksync.toml")).unwrap();
    let p = cfg.pipeline("acme-support").unwrap();
    assert_eq!(p.api_key.expose(), "k-123");
    assert_eq!(p.http.rate_limit_per_minute, 180);
    assert_eq!(p.sync.page_size, 1000);
    // Every stream except the opt-in ones (one request per changed conversation).
    let defaults =
        desksync::sources::default_stream_names(desksync::sources::SourceKind::from_name("liveagent").unwrap());
    assert_eq!(p.streams, defaults);
    for s in ["conversations", "messages", "customers", "report_performance", "agents", "agent_status"] {
        assert!(p.streams.iter().any(|x| x == s), "{s} should be on by default");
    }
    assert!(!p.streams.iter().any(|x| x == "conversation_details" || x == "conversation_tags"));
    assert_eq!(p.timezone.name(), "America/Phoenix");
    assert_eq!(cfg.warehouse_path, dir.path().join("warehouse.duckdb"));
    assert!(!format!("{p:?}").contains("k-123"), "Debug must not print the key");
}

#[tokio::test(flavor = "multi_thread")]
async fn environment_overrides_pipeline_keys() {
    // The file points at a port nothing listens on; the environment points at the simulator.
    let env =
        crate::common::Env::new(desksync::simulator::SimConfig { conversations: 3, ..Default::default() }, "", "")
            .await;
    let file = env.dir.path().join("pipelines/la.toml");
    let text = std::fs::read_to_string(&file).unwrap().replace(&env.sim.base_url(), "http://127.0.0.1:9");
    std::fs::write(&file, text).unwrap();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_desksync"))
        .arg("--config")
        .arg(&env.config_path)
        .args(["check", "--pipeline", "la"])
        .env("DESKSYNC_PIPELINE_LA__BASE_URL", env.sim.base_url())
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("ok: la: LiveAgent"), "{stdout}");
    // Without the override the same check fails, in plain words and with a non-zero exit.
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_desksync"))
        .arg("--config")
        .arg(&env.config_path)
        .args(["check", "--pipeline", "la"])
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("cannot connect to http://127.0.0.1:9/api/application/status?apikey=***"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sql_command_reads_but_cannot_write() {
    let env =
        crate::common::Env::new(desksync::simulator::SimConfig { conversations: 12, ..Default::default() }, "", "")
            .await;
    assert_eq!(env.run().await.status, "succeeded");
    let sql = |q: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_desksync"))
            .arg("--config")
            .arg(&env.config_path)
            .args(["sql", q])
            .output()
            .unwrap()
    };
    let out = sql("SELECT count(*) AS n FROM tickets");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("| 12 |"), "{}", String::from_utf8_lossy(&out.stdout));
    let out = sql("DELETE FROM tickets");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("read-only"), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(env.count("SELECT count(*) FROM tickets"), 12);
}

#[test]
fn every_sample_pipeline_in_the_repository_is_valid() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("pipelines")).unwrap();
    let samples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines");
    let mut n = 0;
    for entry in std::fs::read_dir(&samples).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let Some(stem) = name.strip_suffix(".toml.sample") else { continue };
        // Secrets come from the environment in the samples; give them by file here instead.
        let text = std::fs::read_to_string(&path).unwrap();
        let text: String = text
            .lines()
            .map(|l| {
                if l.starts_with("api_key = ") {
                    "api_key_file = \"secret\"".to_string()
                } else if l.starts_with("password = ") {
                    "password_file = \"secret\"".to_string()
                } else {
                    l.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        std::fs::write(dir.path().join(format!("pipelines/{stem}.toml")), text).unwrap();
        n += 1;
    }
    std::fs::write(dir.path().join("secret"), "s3cret").unwrap();
    let cfg = desksync::sources::load_config(&dir.path().join("desksync.toml")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(cfg.pipelines.len(), n);
    assert!(n >= 3, "one sample per vendor");
}

fn one_pipeline(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("pipelines")).unwrap();
    std::fs::write(dir.path().join("pipelines/p.toml"), text).unwrap();
    let path = dir.path().join("desksync.toml");
    (dir, path)
}

#[test]
fn problems_name_the_environment_variable_the_cron_hint_and_the_vendor_s_secret() {
    // A mistyped override is reported as the variable the user set, not as a key of the file.
    let (_d, path) = one_pipeline(
        "source = \"liveagent\"\nbase_url = \"https://a.example\"\naccount = \"a\"\napi_key_file = \"k\"\n",
    );
    // SAFETY: only this test reads this variable.
    unsafe { std::env::set_var("DESKSYNC_PIPELINE_P__HTTP__RATE_LIMT", "5") };
    let err = desksync::sources::load_config(&path).unwrap_err();
    unsafe { std::env::remove_var("DESKSYNC_PIPELINE_P__HTTP__RATE_LIMT") };
    let text = err.to_string();
    assert!(text.contains("environment variable DESKSYNC_PIPELINE_P__HTTP__RATE_LIMT"), "{text}");
    assert!(!text.contains("p.toml: http.rate_limt"), "{text}");

    // Five-field cron gets the hint; a date that never comes is refused.
    for (schedule, expect) in
        [("*/15 * * * *", "add a seconds field: `0 */15 * * * *`"), ("0 0 0 31 2 *", "never fires")]
    {
        let (_d, path) = one_pipeline(&format!(
            "source = \"liveagent\"\nbase_url = \"https://a.example\"\naccount = \"a\"\napi_key = \"${{X}}\"\nschedule = \"{schedule}\"\n"
        ));
        let text = desksync::sources::load_config(&path).unwrap_err().to_string();
        assert!(text.contains(expect), "{schedule}: {text}");
    }

    // A LiveZilla secret error gives LiveZilla's example, not LiveAgent's.
    let (_d, path) = one_pipeline(
        "source = \"livezilla\"\nbase_url = \"https://a.example\"\naccount = \"a\"\nusername = \"u\"\npassword = \"hunter2\"\n",
    );
    let text = desksync::sources::load_config(&path).unwrap_err().to_string();
    assert!(text.contains("${LIVEZILLA_PASSWORD}") && text.contains("password_file"), "{text}");
    assert!(!text.contains("LIVEAGENT") && !text.contains("hunter2"), "{text}");

    // A child stream without its parent would load nothing: refused with the reason.
    let (_d, path) = one_pipeline(
        "source = \"liveforce\"\nbase_url = \"https://a.example\"\naccount = \"a\"\nusername = \"u\"\npassword_file = \"k\"\nstreams = [\"ticket_messages\"]\n",
    );
    let text = desksync::sources::load_config(&path).unwrap_err().to_string();
    assert!(text.contains("'ticket_messages' is read with each changed record of 'tickets'"), "{text}");
}

#[test]
fn one_broken_pipeline_leaves_the_others_runnable() {
    let (dir, path) = one_pipeline(
        "source = \"liveagent\"\nbase_url = \"https://a.example\"\naccount = \"a\"\napi_key = \"${DESKSYNC_TEST_NEVER_SET}\"\n",
    );
    std::fs::write(dir.path().join("k"), "key").unwrap();
    std::fs::write(
        dir.path().join("pipelines/good.toml"),
        "source = \"liveagent\"\nbase_url = \"https://b.example\"\naccount = \"b\"\napi_key_file = \"k\"\n",
    )
    .unwrap();
    assert!(desksync::sources::load_config(&path).is_err(), "the strict load refuses");
    let (cfg, broken) = desksync::sources::load_config_partial(&path).unwrap();
    assert_eq!(cfg.pipelines.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), ["good"]);
    assert_eq!(broken.len(), 1);
    assert_eq!(broken[0].name, "p");
    assert!(broken[0].problems[0].to_string().contains("DESKSYNC_TEST_NEVER_SET"));
}

#[test]
fn a_connector_s_own_section_is_checked_by_the_connector() {
    // Liveforce's [liveforce]: a typo inside it is named with its path; a bad path is refused.
    let (_d, path) = one_pipeline(
        "source = \"liveforce\"\nbase_url = \"https://a.example\"\naccount = \"a\"\nusername = \"u\"\npassword = \"${X}\"\n\
         [liveforce]\nper_pgae = 5\npaths.tickets = \"ticket/list\"\npaths.nope = \"/x\"\n",
    );
    let text = desksync::sources::load_config(&path).unwrap_err().to_string();
    assert!(text.contains("liveforce.per_pgae: unknown key"), "{text}");
    assert!(text.contains("liveforce.paths.tickets: 'ticket/list' must start with /"), "{text}");
    assert!(text.contains("liveforce.paths.nope: unknown call"), "{text}");
    // The same section in a LiveAgent pipeline is just an unknown key.
    let (_d, path) = one_pipeline(
        "source = \"liveagent\"\nbase_url = \"https://a.example\"\naccount = \"a\"\napi_key = \"${X}\"\n[liveforce]\nper_page = 5\n",
    );
    let text = desksync::sources::load_config(&path).unwrap_err().to_string();
    assert!(text.contains("p.toml: liveforce: unknown key"), "{text}");
}

#[test]
fn sync_keys_of_one_connector_are_checked_by_it_and_unknown_to_the_others() {
    let lz = "source = \"livezilla\"\nbase_url = \"https://a.example\"\naccount = \"a\"\nusername = \"u\"\npassword = \"${X}\"\n";
    let (_d, path) = one_pipeline(&format!("{lz}[sync]\nwindow = \"soon\"\nreread_window = \"3d\"\n"));
    let text = desksync::sources::load_config(&path).unwrap_err().to_string();
    assert!(text.contains("p.toml: sync") && text.contains("soon"), "a bad LiveZilla duration: {text}");
    assert!(!text.contains("reread_window"), "a good one is not a problem: {text}");
    let la = "source = \"liveagent\"\nbase_url = \"https://a.example\"\naccount = \"a\"\napi_key = \"${X}\"\n";
    let (_d, path) = one_pipeline(&format!("{la}[sync]\nwindow = \"7d\"\n"));
    let text = desksync::sources::load_config(&path).unwrap_err().to_string();
    assert!(text.contains("p.toml: sync.window: unknown key"), "{text}");
}
