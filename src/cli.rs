//! Command-line interface (clap). Every command has `--help`; failures exit non-zero with the
//! reason in plain words (the whole cause chain is printed by `main`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result, anyhow, bail};
use clap::{Parser, Subcommand, ValueEnum};
use desksync::config::{self, Config};
use desksync::pipeline::{RunSummary, run_pipeline};
use desksync::simulator::{SimConfig, Simulator};
use desksync::sources::{self, Source};
use desksync::warehouse::Warehouse;
use tokio_util::sync::CancellationToken;

#[derive(Parser)]
#[command(
    name = "desksync",
    version,
    about = "Keep an analytics warehouse (DuckDB + Parquet) in step with your help desks"
)]
struct Cli {
    /// Settings file; pipelines are read from `pipelines/` beside it.
    #[arg(long, global = true, env = "DESKSYNC_CONFIG", default_value = "desksync.toml")]
    config: PathBuf,
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// More log output (-v: debug, -vv: trace). `RUST_LOG` overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Start the built-in simulator, sync it into DIR/warehouse.duckdb and DIR/lake, and show
    /// what landed.
    Demo {
        /// Where the demo's configuration, warehouse and lake go.
        #[arg(long, default_value = "desksync-demo")]
        dir: PathBuf,
        /// Conversations in the simulated account.
        #[arg(long, default_value_t = 1000)]
        conversations: usize,
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
    /// One incremental pass of the named pipelines (all when none), then exit.
    Run {
        /// Pipeline to run (repeatable).
        #[arg(long = "pipeline", short = 'p')]
        pipelines: Vec<String>,
    },
    /// Run every scheduled pipeline on its cron schedule until SIGTERM/SIGINT, with /healthz,
    /// /readyz, /metrics and /status over HTTP. SIGHUP reloads the configuration.
    Serve {
        /// Address of the HTTP endpoint.
        #[arg(long, default_value = "127.0.0.1:9184")]
        bind: std::net::SocketAddr,
        /// Pipelines running at once.
        #[arg(long, default_value_t = 4)]
        max_concurrent_runs: usize,
        /// How long a shutdown waits for running pipelines to commit.
        #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
        shutdown_deadline: std::time::Duration,
    },
    /// Load history window by window (resumable; see the README's "Running a backfill").
    Backfill {
        #[arg(long, short = 'p')]
        pipeline: String,
        /// First day (YYYY-MM-DD, the account's zone).
        #[arg(long)]
        from: chrono::NaiveDate,
        /// Day after the last one (default: tomorrow).
        #[arg(long)]
        to: Option<chrono::NaiveDate>,
        /// Window size: 1d, 7d, 2w, 1M.
        #[arg(long, default_value = "7d")]
        window: desksync::backfill::WindowSize,
        /// Print the plan (windows, streams, what is done, requests and time) and send nothing.
        #[arg(long)]
        dry_run: bool,
        /// Load windows already done again.
        #[arg(long)]
        force: bool,
    },
    /// One cheap authenticated request: says what is wrong in plain words.
    Check {
        #[arg(long, short = 'p')]
        pipeline: String,
    },
    /// Each stream with its table, primary key, cursor and sync mode.
    Streams {
        /// Show the streams of one pipeline (and whether it selected them).
        #[arg(long, short = 'p')]
        pipeline: Option<String>,
    },
    /// Show or reset incremental state.
    State {
        #[command(subcommand)]
        action: StateAction,
    },
    /// Run the simulator as a standalone server on 127.0.0.1 until Ctrl-C. It speaks every
    /// vendor at once, from one data set: LiveAgent under /api/…, LiveZilla at /api/v2/api.php
    /// (operator `apiadmin`, see --lz-password), Liveforce under /ticket/…, /lead/… (Basic auth
    /// `lf-admin:sim-liveforce-pass`).
    Simulate {
        /// Accepted for scripts written against older versions; every vendor is served.
        #[arg(long, value_enum, default_value_t = Vendor::All)]
        vendor: Vendor,
        /// Port on 127.0.0.1 (0 picks a free one).
        #[arg(long, default_value_t = 8089)]
        port: u16,
        #[arg(long, default_value_t = 1000)]
        conversations: usize,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// The API key the simulator accepts.
        #[arg(long, default_value = "sim-liveagent-key")]
        api_key: String,
        /// The password of LiveZilla operator `apiadmin`.
        #[arg(long, default_value = "sim-livezilla-pass")]
        lz_password: String,
        /// Time zone the simulated account reports times in.
        #[arg(long, default_value = "UTC")]
        timezone: String,
        /// Requests per minute per API key before answering 429 (sliding window).
        #[arg(long)]
        rate_limit: Option<u32>,
    },
    /// Benchmark a full and an incremental sync against a simulator in a separate process.
    Bench {
        #[arg(long, default_value_t = 20_000)]
        conversations: usize,
        /// Percent of conversations that get a reply before the incremental run.
        #[arg(long, default_value_t = 1.0)]
        changed_pct: f64,
        /// Scratch directory (emptied first).
        #[arg(long, default_value = "target/bench")]
        dir: PathBuf,
        /// Have the simulator enforce this many requests per minute (sliding window) and
        /// configure the pipeline with the same limit; reports how much of it was used.
        #[arg(long)]
        rate_limit: Option<u32>,
    },
    /// Run one SQL statement, read-only, and print the result: against the published analytics
    /// snapshot when there is one (it never blocks a sync), else the warehouse.
    Sql {
        query: String,
        /// Query the live warehouse instead of the snapshot (holds its lock while it runs).
        #[arg(long)]
        live: bool,
    },
}

#[derive(Subcommand)]
enum StateAction {
    /// Each stream's watermark and state.
    Show {
        #[arg(long, short = 'p')]
        pipeline: String,
    },
    /// Forget the state so the next run starts over (rows are kept; unchanged rows are not rewritten).
    Reset {
        #[arg(long, short = 'p')]
        pipeline: String,
        /// Only this stream.
        #[arg(long)]
        stream: Option<String>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Vendor {
    All,
    Liveagent,
    Livezilla,
    Liveforce,
}

fn init_logging(format: LogFormat, verbose: u8, default: &str) {
    let level = match verbose {
        0 => default,
        1 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("{level},hyper=warn,reqwest=warn")));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
}

pub fn main() -> Result<ExitCode> {
    let cli = Cli::parse();
    let quiet = matches!(
        cli.command,
        Command::Demo { .. } | Command::Bench { .. } | Command::Sql { .. } | Command::Streams { .. }
    );
    init_logging(cli.log_format, cli.verbose, if quiet { "warn" } else { "info" });
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the async runtime")?;
    rt.block_on(dispatch(cli))
}

fn load_config(path: &Path) -> Result<Config> {
    config::load(path).map_err(|e| anyhow!("{e}"))
}

/// A token cancelled by the first Ctrl-C / SIGTERM.
fn shutdown_token() -> CancellationToken {
    let token = CancellationToken::new();
    let t = token.clone();
    tokio::spawn(async move {
        #[cfg(unix)]
        {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            eprintln!("desksync: stopping after the current batch commits (signal again to abort)");
            t.cancel();
            // A second signal: exit now. DuckDB rolls back the open transaction, if any.
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            eprintln!("desksync: stopping after the current batch commits (signal again to abort)");
            t.cancel();
            let _ = tokio::signal::ctrl_c().await;
        }
        std::process::exit(130);
    });
    token
}

async fn dispatch(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Demo { dir, conversations, seed } => demo(&dir, conversations, seed).await,
        Command::Serve { bind, max_concurrent_runs, shutdown_deadline } => {
            let config = load_config(&cli.config)?;
            let options =
                desksync::serve::ServeOptions { bind, max_concurrent_runs, shutdown_deadline, ..Default::default() };
            desksync::serve::serve(config, options, shutdown_token(), None).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Backfill { pipeline, from, to, window, dry_run, force } => {
            let config = load_config(&cli.config)?;
            let p = config.select(std::slice::from_ref(&pipeline)).map_err(|e| anyhow!(e))?[0].clone();
            let to = to.unwrap_or_else(|| {
                chrono::Utc::now().with_timezone(&p.timezone).date_naive() + chrono::Duration::days(1)
            });
            if from >= to {
                bail!("--from {from} must be before --to {to}");
            }
            let plan = desksync::backfill::plan(&config, &p, from, to, window).await?;
            print!("{}", plan.describe());
            if dry_run {
                return Ok(ExitCode::SUCCESS);
            }
            let total = plan.windows.len() * plan.streams.len();
            let terminal = std::io::IsTerminal::is_terminal(&std::io::stderr());
            let bar = terminal.then(|| {
                let b = indicatif::ProgressBar::new(total as u64);
                b.set_style(
                    indicatif::ProgressStyle::with_template(
                        "{bar:30} {pos}/{len} windows · {msg} · {elapsed_precise} elapsed · ETA {eta}",
                    )
                    .expect("template"),
                );
                b
            });
            let summary = desksync::backfill::run(&config, &p, &plan, force, shutdown_token(), |pr| {
                let rate = pr.rows as f64 / pr.elapsed.as_secs_f64().max(0.001);
                let msg = format!(
                    "{} rows ({rate:.0}/s) · {} requests · pace {}/min · {} {}",
                    pr.rows,
                    pr.requests,
                    pr.pace_per_minute,
                    pr.stream,
                    pr.window.0.date_naive()
                );
                match &bar {
                    Some(b) => {
                        b.set_position(pr.done as u64);
                        b.set_message(msg);
                    }
                    None => eprintln!(
                        "backfill {}/{}: {} {} {} — {msg}",
                        pr.done,
                        pr.total,
                        pr.stream,
                        pr.window.0.date_naive(),
                        pr.status
                    ),
                }
            })
            .await?;
            if let Some(b) = bar {
                b.finish();
            }
            println!(
                "backfill of {}: {} windows loaded, {} already done, {} rows, {} requests{}",
                p.name,
                summary.windows_loaded,
                summary.windows_skipped,
                summary.rows,
                summary.requests,
                if summary.cancelled { " — stopped; run the same command to resume" } else { "" }
            );
            for f in &summary.failed {
                println!("  failed: {f}");
            }
            Ok(if summary.failed.is_empty() && !summary.cancelled { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
        Command::Run { pipelines } => {
            let config = load_config(&cli.config)?;
            let selected = config.select(&pipelines).map_err(|e| anyhow!(e))?;
            if selected.is_empty() {
                bail!(
                    "no pipelines configured in {}",
                    config
                        .pipelines
                        .first()
                        .map(|p| p.file.display().to_string())
                        .unwrap_or_else(|| "pipelines/".into())
                );
            }
            let token = shutdown_token();
            let mut ok = true;
            for p in selected {
                let summary =
                    run_pipeline(&config, p, token.clone()).await.with_context(|| format!("pipeline {}", p.name))?;
                print_summary(&summary);
                ok &= summary.status == "succeeded";
            }
            Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
        Command::Check { pipeline } => {
            let config = load_config(&cli.config)?;
            let mut p = config.select(std::slice::from_ref(&pipeline)).map_err(|e| anyhow!(e))?[0].clone();
            // A check is one cheap request: answer quickly rather than retry for minutes.
            p.http.max_retries = p.http.max_retries.min(1);
            let p = &p;
            let source = Source::new(p, sources::http_client(p));
            match source.check().await {
                Ok(line) => {
                    println!("ok: {}: {line}", p.name);
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => Err(anyhow!(e)).with_context(|| format!("pipeline {} failed its check", p.name)),
            }
        }
        Command::Streams { pipeline } => {
            let selected: Option<Vec<String>> = match &pipeline {
                Some(name) => {
                    let config = load_config(&cli.config)?;
                    Some(config.select(std::slice::from_ref(name)).map_err(|e| anyhow!(e))?[0].streams.clone())
                }
                None => None,
            };
            println!(
                "{:<10} {:<34} {:<27} {:<52} {:<26} {:<25} endpoint",
                "source", "stream", "table", "primary key", "mode", "cursor"
            );
            for kind in sources::SourceKind::ALL {
                for s in sources::streams(*kind) {
                    let mark = match &selected {
                        Some(sel) if !sel.iter().any(|n| n == s.name) => " (not selected)",
                        _ => "",
                    };
                    println!(
                        "{:<10} {:<34} {:<27} {:<52} {:<26} {:<25} {}{mark}",
                        kind.name(),
                        s.name,
                        s.table.name(),
                        s.table.primary_key().join(", "),
                        s.mode.name(),
                        s.cursor.unwrap_or("-"),
                        if s.endpoint.starts_with('/') {
                            format!("GET {}", s.endpoint)
                        } else {
                            s.endpoint.to_string()
                        }
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::State { action } => {
            let config = load_config(&cli.config)?;
            let wh = Warehouse::from_settings(&config.warehouse_path, &config.settings.warehouse);
            wh.migrate().await?;
            match action {
                StateAction::Show { pipeline } => {
                    config.select(std::slice::from_ref(&pipeline)).map_err(|e| anyhow!(e))?;
                    let rows = wh.show_state(&pipeline).await?;
                    if rows.is_empty() {
                        println!("{pipeline}: no state yet (the next run is a full sync)");
                    }
                    for (stream, wm, state, at) in rows {
                        println!(
                            "{pipeline}/{stream}: watermark {} (updated {at})\n  {state}",
                            wm.unwrap_or_else(|| "-".into())
                        );
                    }
                }
                StateAction::Reset { pipeline, stream } => {
                    config.select(std::slice::from_ref(&pipeline)).map_err(|e| anyhow!(e))?;
                    let n = wh.reset_state(&pipeline, stream.as_deref()).await?;
                    println!("reset {n} stream state(s) of {pipeline}; the next run re-reads from the beginning");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Simulate { vendor: _, port, conversations, seed, api_key, lz_password, timezone, rate_limit } => {
            let tz: chrono_tz::Tz = timezone.parse().map_err(|_| anyhow!("'{timezone}' is not an IANA time zone"))?;
            let sim = Simulator::start(
                SimConfig {
                    seed,
                    conversations,
                    api_key,
                    lz_password,
                    timezone: tz,
                    filter_timezone: tz,
                    rate_limit: rate_limit.map(desksync::simulator::RateLimit::per_minute),
                    ..Default::default()
                },
                port,
            )
            .await
            .with_context(|| format!("binding 127.0.0.1:{port}"))?;
            println!("listening on {}", sim.base_url());
            std::io::stdout().flush().ok();
            eprintln!(
                "simulator with {conversations} conversations (seed {seed}): LiveAgent API v1 at {0}/api/…, \
                 LiveZilla API v2 at {0}/api/v2/api.php, Liveforce at {0}/ticket/… (Basic lf-admin); Ctrl-C to stop",
                sim.base_url()
            );
            sim.run_until_ctrl_c().await;
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench { conversations, changed_pct, dir, rate_limit } => {
            bench(conversations, changed_pct, &dir, rate_limit).await
        }
        Command::Sql { query, live } => {
            let config = load_config(&cli.config)?;
            let path = match &config.publish_path {
                Some(p) if !live && p.exists() => p.clone(),
                _ => config.warehouse_path.clone(),
            };
            let wh = Warehouse::from_settings(&path, &config.settings.warehouse);
            let text = wh
                .with_read_only(move |c| {
                    use desksync::error::DuckDbContext;
                    let mut stmt = c.prepare(&query).ctx("preparing the query")?;
                    let batches: Vec<_> = stmt.query_arrow([]).ctx("running the query")?.collect();
                    arrow::util::pretty::pretty_format_batches(&batches).map(|t| t.to_string()).map_err(|source| {
                        desksync::error::WarehouseError::Arrow { context: "formatting".into(), source }
                    })
                })
                .await?;
            println!("{text}");
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn print_summary(s: &RunSummary) {
    println!(
        "{}: {} in {:.1}s — {} rows written, {} requests (run {})",
        s.pipeline,
        s.status,
        s.elapsed.as_secs_f64(),
        s.rows_written,
        s.requests,
        s.run_id
    );
    for st in &s.streams {
        println!(
            "  {:<34} {:<9} rows {:>7}  requests {:>6}  retries {:>3}  quarantined {:>3}  watermark {}{}",
            st.stream,
            st.status,
            st.rows,
            st.requests,
            st.retries,
            st.quarantined,
            st.watermark.as_deref().unwrap_or("-"),
            st.error.as_ref().map(|e| format!("\n    error: {e}")).unwrap_or_default()
        );
    }
}

/// Write a demo/bench configuration pointing at a simulator.
fn write_sim_config(
    dir: &Path,
    base_url: &str,
    api_key: &str,
    rate_per_minute: u32,
    livezilla_password: Option<&str>,
) -> Result<PathBuf> {
    let demo = livezilla_password.is_some();
    std::fs::create_dir_all(dir.join("pipelines"))?;
    std::fs::create_dir_all(dir.join("secrets"))?;
    std::fs::write(dir.join("secrets/liveagent.key"), api_key)?;
    std::fs::write(
        dir.join("desksync.toml"),
        "# Written by `desksync demo`.\n[warehouse]\npath = \"warehouse.duckdb\"\n\n[lake]\npath = \"lake\"\n",
    )?;
    std::fs::write(
        dir.join("pipelines/liveagent-demo.toml"),
        format!(
            "# Written by `desksync demo`: the built-in LiveAgent simulator.\n\
             source = \"liveagent\"\n\
             base_url = \"{base_url}\"\n\
             account = \"demo\"\n\
             api_key_file = \"secrets/liveagent.key\"\n\
             timezone = \"UTC\"\n\n\
             [http]\n\
             # The simulator runs on this machine; a real LiveAgent account allows 180 per minute.\n\
             rate_limit_per_minute = {rate_per_minute}\n\
             max_in_flight = 8\n\n\
             [sync]\n\
             message_concurrency = 8\n"
        ),
    )?;
    if let Some(password) = livezilla_password {
        std::fs::write(dir.join("secrets/livezilla.password"), password)?;
        std::fs::write(
            dir.join("pipelines/livezilla-demo.toml"),
            format!(
                "# Written by `desksync demo`: the built-in LiveZilla simulator (same data set).\n\
                 source = \"livezilla\"\n\
                 base_url = \"{base_url}\"\n\
                 account = \"demo\"\n\
                 username = \"apiadmin\"\n\
                 password_file = \"secrets/livezilla.password\"\n\n\
                 [http]\n\
                 rate_limit_per_minute = {rate_per_minute}\n"
            ),
        )?;
    }
    if demo {
        std::fs::write(dir.join("secrets/liveforce.password"), "sim-liveforce-pass")?;
        std::fs::write(
            dir.join("pipelines/liveforce-demo.toml"),
            format!(
                "# Written by `desksync demo`: the built-in Liveforce (Perfex) simulator (same data set).\n\
                 source = \"liveforce\"\n\
                 base_url = \"{base_url}\"\n\
                 account = \"demo\"\n\
                 username = \"lf-admin\"\n\
                 password_file = \"secrets/liveforce.password\"\n\n\
                 [http]\n\
                 rate_limit_per_minute = {rate_per_minute}\n"
            ),
        )?;
    }
    Ok(dir.join("desksync.toml"))
}

async fn demo(dir: &Path, conversations: usize, seed: u64) -> Result<ExitCode> {
    let started = Instant::now();
    let sim = Simulator::start(SimConfig { seed, conversations, ..Default::default() }, 0)
        .await
        .context("starting the simulator on 127.0.0.1")?;
    println!(
        "simulator: LiveAgent, LiveZilla and Liveforce at {} ({conversations} conversations, seed {seed})",
        sim.base_url()
    );
    let config_path = write_sim_config(
        dir,
        &sim.base_url(),
        &sim.state.config.api_key,
        600_000,
        Some(&sim.state.config.lz_password),
    )?;
    let config = load_config(&config_path)?;
    let mut ok = true;
    for p in &config.pipelines {
        let summary = run_pipeline(&config, p, shutdown_token()).await?;
        print_summary(&summary);
        ok &= summary.status == "succeeded";
    }
    let wh = Warehouse::from_settings(&config.warehouse_path, &config.settings.warehouse);
    println!("\nwarehouse {}:", config.warehouse_path.display());
    for (table, n) in wh.table_counts().await? {
        println!("  {table:<28} {n:>8} rows");
    }
    println!(
        "lake {}: Parquet, partitioned by source/account (and created_month, captured_month or window_month)",
        config.lake_path.display()
    );
    let query = "SELECT source, channel, status, count(*) AS tickets, sum(messages_in + messages_out) AS messages
FROM tickets GROUP BY ALL ORDER BY tickets DESC LIMIT 10";
    let q = query.to_string();
    let table = wh
        .with_conn(move |c| {
            use desksync::error::DuckDbContext;
            let mut stmt = c.prepare(&q).ctx("example query")?;
            let batches: Vec<_> = stmt.query_arrow([]).ctx("example query")?.collect();
            Ok(arrow::util::pretty::pretty_format_batches(&batches).map(|t| t.to_string()).unwrap_or_default())
        })
        .await?;
    println!("\nan analyst's question — which channels and statuses carry the load?\n{query};\n{table}");
    println!(
        "\ndone in {:.1}s. Query it yourself: desksync --config {} sql \"SELECT * FROM tickets LIMIT 5\"",
        started.elapsed().as_secs_f64(),
        config_path.display()
    );
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// Peak resident set size of this process (VmHWM), in MiB.
fn peak_rss_mib() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Reset the peak RSS counter so the next phase is measured on its own.
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

async fn bench(conversations: usize, changed_pct: f64, dir: &Path, rate_limit: Option<u32>) -> Result<ExitCode> {
    use std::io::BufRead;
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir)?;
    let exe = std::env::current_exe()?;
    let mut args =
        vec!["simulate".to_string(), "--port".into(), "0".into(), "--conversations".into(), conversations.to_string()];
    if let Some(r) = rate_limit {
        args.extend(["--rate-limit".to_string(), r.to_string()]);
    }
    let mut child = std::process::Command::new(exe)
        .args(&args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .context("starting the simulator process")?;
    let stdout = child.stdout.take().expect("piped");
    let mut line = String::new();
    std::io::BufReader::new(stdout).read_line(&mut line)?;
    let base_url =
        line.trim().strip_prefix("listening on ").ok_or_else(|| anyhow!("simulator said: {line}"))?.to_string();
    let result = async {
        let config_path = write_sim_config(dir, &base_url, "sim-liveagent-key", rate_limit.unwrap_or(6_000_000), None)?;
        let config = load_config(&config_path)?;
        let p = &config.pipelines[0];
        println!("benchmark: {conversations} conversations, simulator at {base_url} (separate process)");
        if let Some(r) = rate_limit {
            println!("simulator limit: {r} requests/minute per key; the pipeline is configured with the same limit");
        }
        println!(
            "{:<12} {:>9} {:>10} {:>9} {:>10} {:>11} {:>12} {:>6} {:>10}",
            "phase", "wall s", "rows", "rows/s", "requests", "requests/s", "peak RSS MiB", "429s", "% of limit"
        );
        reset_peak_rss();
        let full = run_pipeline(&config, p, CancellationToken::new()).await?;
        report("full", &full, rate_limit);
        let changed = ((conversations as f64) * changed_pct / 100.0).round() as usize;
        reqwest::Client::new()
            .post(format!("{base_url}/_sim/mutate"))
            .json(&serde_json::json!({ "new_messages": changed }))
            .send()
            .await?
            .error_for_status()?;
        reset_peak_rss();
        let inc = run_pipeline(&config, p, CancellationToken::new()).await?;
        report(&format!("incr {changed_pct}%"), &inc, rate_limit);
        anyhow::Ok(full.status == "succeeded" && inc.status == "succeeded")
    }
    .await;
    let _ = child.kill();
    let _ = child.wait();
    Ok(if result? { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn report(phase: &str, s: &RunSummary, rate_limit: Option<u32>) {
    let secs = s.elapsed.as_secs_f64().max(1e-9);
    let throttled: u64 = s.streams.iter().map(|x| x.throttled).sum();
    let used = rate_limit.map(|r| format!("{:.1}", 100.0 * (s.requests as f64 / secs * 60.0) / r as f64));
    println!(
        "{:<12} {:>9.2} {:>10} {:>9.0} {:>10} {:>11.0} {:>12.1} {:>6} {:>10}",
        phase,
        secs,
        s.rows_written,
        s.rows_written as f64 / secs,
        s.requests,
        s.requests as f64 / secs,
        peak_rss_mib().unwrap_or(f64::NAN),
        throttled,
        used.unwrap_or_else(|| "-".into())
    );
}
