//! What people look at, in a real browser: headless Chromium (Debian's, driven by Playwright from
//! tests/browser_check.py) loads `serve`'s status page and opens a `desksync report` file, both
//! made by the binary; the test checks the rendered page (pipeline names and figures visible,
//! charts drawn, no console errors, nothing fetched from elsewhere, no sideways scrolling on a
//! phone) and keeps screenshots under the target directory's `tmp/screenshots/`.

use std::path::PathBuf;
use std::process::Stdio;

use desksync::simulator::SimConfig;

use crate::cli::{Serve, desksync};
use crate::common::{CORE_STREAMS, Env, python};

/// Chromium, or `None` outside CI when it is not installed (the test then says it skipped).
fn chromium() -> Option<String> {
    let path = std::env::var("DESKSYNC_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if std::path::Path::new(&path).exists() {
        return Some(path);
    }
    assert!(std::env::var_os("CI").is_none(), "CI needs Chromium (apt-get install chromium) for the browser tests");
    eprintln!("SKIPPED: the browser tests need Chromium (apt-get install chromium)");
    None
}

fn screenshots() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Open `url` in Chromium; what rendered, as tests/browser_check.py reports it.
fn open(url: &str, shot: &str, expected: &[&str]) -> Option<serde_json::Value> {
    let chromium = chromium()?;
    let (py, pythonpath) = python()?;
    let out = std::process::Command::new(py)
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/browser_check.py"))
        .arg(url)
        .arg(screenshots().join(shot))
        .args(expected)
        .env("PYTHONPATH", pythonpath)
        .env("DESKSYNC_CHROMIUM", chromium)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "browser_check.py failed:\n{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    eprintln!("screenshot: {}", v["desktop"]["screenshot"]);
    Some(v)
}

/// The checks every page passes in both viewports.
fn assert_rendered(v: &serde_json::Value, what: &str, min_charts: u64) {
    assert_eq!(v["console_errors"], serde_json::json!([]), "{what}: console errors");
    assert_eq!(v["failed_requests"], serde_json::json!([]), "{what}: failed requests");
    for view in ["desktop", "phone"] {
        let r = &v[view];
        let missing: Vec<&String> =
            r["found"].as_object().unwrap().iter().filter(|(_, ok)| !ok.as_bool().unwrap()).map(|(t, _)| t).collect();
        assert!(missing.is_empty(), "{what} ({view}): not shown: {missing:?}");
        assert!(r["charts"].as_u64().unwrap() >= min_charts, "{what} ({view}): charts {}", r["charts"]);
        assert!(r["shapes"].as_u64().unwrap() >= min_charts, "{what} ({view}): drawn shapes {}", r["shapes"]);
        assert_eq!(r["other_requests"], serde_json::json!([]), "{what} ({view}): loaded something else");
        assert!(
            r["scroll_width"].as_u64().unwrap() <= r["viewport_width"].as_u64().unwrap(),
            "{what} ({view}): wider than the screen: {r}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_status_page_of_a_running_serve_renders_in_chromium() {
    if chromium().is_none() || python().is_none() {
        return;
    }
    let env = Env::new(
        SimConfig { conversations: 40, seed: 5, ..Default::default() },
        &format!("{CORE_STREAMS}\nschedule = \"*/2 * * * * *\""),
        "",
    )
    .await;
    // Beside it, a pipeline whose key the vendor refuses (suspended, with the vendor's reason) and
    // one whose host is down (failed, with the error): the page must say both.
    env.copy_pipeline("la", "refused", |t| t.replace("la.secret", "refused.secret"));
    std::fs::write(env.dir.path().join("refused.secret"), "not-the-key").unwrap();
    env.copy_pipeline("la", "down", |t| t.replace(&env.sim.base_url(), "http://127.0.0.1:9"));
    let serve = Serve::start(&env, &[]).await;
    let named = |s: &serde_json::Value, name: &str| {
        s.as_array().unwrap().iter().find(|p| p["pipeline"] == name).cloned().unwrap_or_default()
    };
    // Two runs at least, so the chart has a line.
    serve
        .wait_for("two runs, one suspension, one failure", |s| {
            named(s, "la")["last_run"]["status"] == "succeeded"
                && named(s, "refused")["suspended"].is_string()
                && named(s, "down")["last_run"]["status"] == "failed"
        })
        .await;
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let page = serve.get("/").await;
    assert!(page.contains("http-equiv=\"refresh\""), "the page refreshes itself");
    let v = open(
        &format!("{}/", serve.base()),
        "status.png",
        &[
            // (not "succeeded": with runs every 2 s, la's last run may be the one in progress)
            "la",
            "limit 600000/min",
            "*/2 * * * * *",
            "next run",
            "3 pipeline(s)",
            "Suspended pipelines",
            "refused",
            "down",
            "failed",
            "error:",
            "127.0.0.1:9",
        ],
    );
    let (code, _) = serve.stop().await;
    assert_eq!(code, Some(0));
    if let Some(v) = v {
        assert_eq!(v["desktop"]["title"], "desksync status");
        assert_rendered(&v, "status page", 1);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_report_renders_in_chromium_with_every_chart_and_its_figures() {
    let env = Env::new(SimConfig { conversations: 120, seed: 9, ..Default::default() }, "", "").await;
    assert_eq!(desksync(&env, &["run"]).await.code, Some(0));
    let out_path = env.dir.path().join("report.html");
    let out = desksync(&env, &["report", "--out", out_path.to_str().unwrap(), "--from", "2024-01-01"]).await;
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.contains("report written to"), "{out:?}");
    let html = std::fs::read_to_string(&out_path).unwrap();
    assert!(!html.contains("http://") && !html.contains("https://"), "the report links to nothing outside itself");
    let tickets = env.count("SELECT count(*) FROM ticket_facts WHERE created_day >= DATE '2024-01-01'");
    assert!(html.contains(&format!("<b>{tickets}</b>")), "the ticket count tile shows {tickets}");
    // Bad input is refused with the reason.
    let bad = desksync(&env, &["report", "--from", "2026-02-01", "--to", "2026-01-01"]).await;
    assert_ne!(bad.code, Some(0));
    assert!(bad.stderr.contains("must be before"), "{bad:?}");
    let Some(v) = open(
        &format!("file://{}", out_path.display()),
        "report.png",
        &[
            "Help desk report",
            "Ticket volume by source and channel",
            "Median first response",
            "Backlog",
            "SLA met",
            "Agent workload",
            "First-response percentiles",
            "Resolution-time percentiles",
            "liveagent/acme",
        ],
    ) else {
        return;
    };
    assert_eq!(v["desktop"]["title"], "desksync report");
    assert_rendered(&v, "report", 6);
}
