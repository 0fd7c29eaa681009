//! Command-line interface (clap). Every command has `--help`; failures exit non-zero with the
//! reason in plain words (the whole cause chain, each cause once).
//!
//! * Exit codes: 0 success; 1 a failure (a pipeline that did not succeed, a bad argument, a
//!   configuration problem); 130 / 143 a run stopped by SIGINT / SIGTERM (128 + the signal).
//! * Output: results on stdout (`--json` where a script reads them), logs and notices on stderr
//!   (`--log-format json`: every stderr line is one JSON object). A closed stdout (`| head`)
//!   ends the command quietly.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::time::Instant;

use anyhow::{Context, Result, anyhow, bail};
use clap::{Parser, Subcommand, ValueEnum};
use desksync::app::run::{RunProgress, RunStatus, RunSummary, run_pipeline, run_pipeline_observed};
use desksync::config::{self, BrokenPipeline, Config, PipelineConfig};
use desksync::error::WarehouseError;
use desksync::simulator::{SimConfig, Simulator};
use desksync::sources::{self, Source, SourceKind};
use desksync::warehouse::Warehouse;
use tokio_util::sync::CancellationToken;

/// Write a line to stdout; a closed pipe (`desksync streams | head -1`) ends the process
/// quietly with status 0, as `head` expects, instead of a panic.
macro_rules! outln {
    ($($arg:tt)*) => {{
        let mut out = std::io::stdout().lock();
        if let Err(e) = writeln!(out, $($arg)*).and_then(|_| out.flush()) {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                std::process::exit(0);
            }
            panic!("writing to stdout: {e}");
        }
    }};
}

#[derive(Parser)]
#[command(
    name = "desksync",
    version,
    about = "Keep an analytics warehouse (DuckDB + Parquet) in step with your help desks"
)]
struct Cli {
    /// Settings file; pipelines are read from `pipelines/` beside it. Default: `desksync.toml`
    /// (optional: defaults apply when it is absent). A path given here must exist.
    #[arg(long, global = true, env = "DESKSYNC_CONFIG")]
    config: Option<PathBuf>,
    /// Log format on stderr (json: every line one JSON object, errors and notices included).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// More log output (-v: debug, -vv: trace). `RUST_LOG` overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Start the built-in simulator (LiveAgent, LiveZilla and Liveforce), sync it into
    /// DIR/warehouse.duckdb and DIR/lake, and show what landed.
    Demo {
        /// Where the demo's configuration, warehouse and lake go (a directory the demo wrote,
        /// or a new or empty one).
        #[arg(long, default_value = "desksync-demo")]
        dir: PathBuf,
        /// Conversations in the simulated account.
        #[arg(long, default_value_t = 1000)]
        conversations: usize,
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
    /// One incremental pass of the named pipelines (all when none), then exit. Every runnable
    /// pipeline runs even when another fails; the exit code is non-zero if any did not succeed.
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
        /// Run only this instance's share of the pipelines, as i/N (see the README's
        /// "Scaling out"): N instances, each with its own warehouse, writing one lake.
        #[arg(long)]
        shard: Option<desksync::app::serve::Shard>,
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
        window: desksync::app::backfill::WindowSize,
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
    /// Check every configuration file and pipeline without sending a request.
    Validate,
    /// Each stream with its table, primary key, cursor and sync mode. Validates the
    /// configuration when there is one.
    Streams {
        /// Show the streams of one pipeline's connector (and whether it selected them).
        #[arg(long, short = 'p')]
        pipeline: Option<String>,
        /// One JSON array on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Show or reset incremental state.
    State {
        #[command(subcommand)]
        action: StateAction,
    },
    /// The run history: each run's status, rows, requests and errors, per stream.
    Runs {
        #[arg(long, short = 'p')]
        pipeline: Option<String>,
        /// How many of the latest runs.
        #[arg(long, default_value_t = 10)]
        last: usize,
        /// One JSON array on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Delete what a pipeline (or some of its streams) loaded: rows, state, ledger windows and
    /// lake partitions. The vendor is not touched; the next run loads it all again.
    Drop {
        #[arg(long, short = 'p')]
        pipeline: String,
        /// Only this stream (repeatable); its child streams go with it.
        #[arg(long)]
        stream: Vec<String>,
        /// Really delete (without it, only says what would go).
        #[arg(long)]
        yes: bool,
    },
    /// Write `pipelines/NAME.toml` for a vendor: every key with a comment, secrets as references.
    Init {
        /// liveagent, livezilla or liveforce.
        vendor: String,
        /// The pipeline's name (default: the vendor's).
        name: Option<String>,
    },
    /// Run the simulator as a standalone server on 127.0.0.1 until Ctrl-C. It speaks every
    /// vendor at once, from one data set: LiveAgent under /api/…, LiveZilla at /api/v2/api.php
    /// (operator `apiadmin`, see --lz-password), Liveforce under /ticket/…, /lead/… (Basic auth
    /// `lf-admin:sim-liveforce-pass`).
    Simulate {
        /// Accepted for scripts written against older versions; every vendor is served.
        #[arg(long, hide = true)]
        vendor: Option<String>,
        /// Port on 127.0.0.1 (0 picks a free one).
        #[arg(long, default_value_t = 8089)]
        port: u16,
        #[arg(long, default_value_t = 1000)]
        conversations: usize,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// The API key the simulator accepts.
        #[arg(long, default_value_t = SimConfig::default().api_key)]
        api_key: String,
        /// The password of LiveZilla operator `apiadmin`.
        #[arg(long, default_value_t = SimConfig::default().lz_password)]
        lz_password: String,
        /// Time zone the simulated account reports times in.
        #[arg(long, default_value = "UTC")]
        timezone: String,
        /// Requests per minute per API key before answering 429 (sliding window).
        #[arg(long)]
        rate_limit: Option<u32>,
        /// Also stop when stdin closes (`desksync bench` starts it so: the simulator then goes
        /// with the bench however the bench ends, even killed).
        #[arg(long, hide = true)]
        while_stdin_open: bool,
    },
    /// Benchmark a full and an incremental sync against a simulator in a separate process.
    Bench {
        #[arg(long, default_value_t = 20_000)]
        conversations: usize,
        /// Percent of conversations that get a reply before the incremental run.
        #[arg(long, default_value_t = 1.0)]
        changed_pct: f64,
        /// Scratch directory (emptied first; only a new or empty one, or one a bench wrote).
        #[arg(long, default_value = "target/bench")]
        dir: PathBuf,
        /// Have the simulator enforce this many requests per minute (sliding window) and
        /// configure the pipeline with the same limit; reports how much of it was used.
        #[arg(long)]
        rate_limit: Option<u32>,
        /// With --rate-limit: 5 s into the full sync, answer this many requests with 429 (an
        /// unexpected burst) and report how soon the pace is back at 90% of the limit.
        #[arg(long, requires = "rate_limit")]
        burst_429: Option<u32>,
        /// Which simulated vendor to measure (a source name; default: the first demo pipeline's).
        /// The fetch floor replays GET requests, so it is measured for the first one only.
        #[arg(long)]
        source: Option<String>,
    },
    /// Run one SQL statement, read-only, and print the result: against the published analytics
    /// snapshot when there is one (it never blocks a sync), else the warehouse.
    Sql {
        /// The statement (it may start with a `--` comment).
        #[arg(allow_hyphen_values = true)]
        query: String,
        /// Query the live warehouse instead of the snapshot (holds its lock while it runs).
        #[arg(long)]
        live: bool,
        /// One JSON array of row objects on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Write a self-contained HTML report (charts inline, nothing loaded from the internet) of
    /// the help-desk questions, read from the analysts' snapshot: volume, first response,
    /// resolution, SLA, backlog, reopen rate, messages per ticket, agent workload, ratings.
    Report {
        /// Where the report goes.
        #[arg(long, default_value = "report.html")]
        out: PathBuf,
        /// First UTC day (YYYY-MM-DD; default: 90 days before --to).
        #[arg(long)]
        from: Option<chrono::NaiveDate>,
        /// Day after the last one (default: tomorrow, UTC).
        #[arg(long)]
        to: Option<chrono::NaiveDate>,
        /// Only this source (liveagent, livezilla, liveforce).
        #[arg(long)]
        source: Option<String>,
    },
    /// Maintain the Delta lake: `vacuum` deletes unreferenced data files, `optimize` compacts
    /// partitions of many small files, `status` lists each table's version and files.
    Lake {
        #[command(subcommand)]
        action: LakeAction,
    },
}

#[derive(Subcommand)]
enum LakeAction {
    /// Delete data files no table version within the retention references (replaced files and
    /// files of crashed exports).
    Vacuum {
        /// Keep files referenced within this long (default: lake.vacuum_retention, 7d).
        #[arg(long, value_parser = humantime::parse_duration)]
        retention: Option<std::time::Duration>,
        /// Allow a retention shorter than the tables' delta.deletedFileRetentionDuration
        /// (readers time-travelling or still reading an older version may fail).
        #[arg(long)]
        force: bool,
        /// Only count what would be deleted.
        #[arg(long)]
        dry_run: bool,
    },
    /// Rewrite each partition that has several small files as one file (no data changes).
    Optimize,
    /// Each lake table's version, files and rows.
    Status {
        /// One JSON array on stdout.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum StateAction {
    /// Each stream's watermark and state.
    Show {
        #[arg(long, short = 'p')]
        pipeline: String,
        /// Only this stream.
        #[arg(long)]
        stream: Option<String>,
        /// One JSON array on stdout.
        #[arg(long)]
        json: bool,
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

/// Whether stderr carries JSON lines (`--log-format json`).
static LOG_JSON: AtomicBool = AtomicBool::new(false);
/// The signal that asked us to stop (2: SIGINT, 15: SIGTERM), 0 while none did.
static SIGNAL: AtomicI32 = AtomicI32::new(0);

fn init_logging(format: LogFormat, verbose: u8, default: &str) {
    let level = match verbose {
        0 => default,
        1 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        // delta-rs logs conflicts it hands back to us (rebuilt, see lake::delta) and the kernel
        // logs "no files in log segment" for a table not created yet; both reach desksync as
        // results, reported with their context.
        .unwrap_or_else(|_| {
            tracing_subscriber::EnvFilter::new(format!(
                "{level},hyper=warn,reqwest=warn,deltalake_core=error,buoyant_kernel=off,buoyant_kernel_engine=error"
            ))
        });
    // Colour only for a person at a terminal, and never when NO_COLOR is set (no-color.org).
    let ansi = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi);
    LOG_JSON.store(format == LogFormat::Json, Ordering::Relaxed);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
}

/// A notice for the person running the command, on stderr: plain text, or a JSON log line.
fn notice(message: &str) {
    if LOG_JSON.load(Ordering::Relaxed) {
        tracing::warn!("{message}");
    } else {
        eprintln!("desksync: {message}");
    }
}

/// The error's chain, each distinct message once (a cause whose text the message before it
/// already says is not repeated, nor DuckDB's empty "Unknown error code").
fn causes(e: &anyhow::Error) -> (String, Vec<String>) {
    let head = e.to_string();
    let mut seen = head.clone();
    let mut out = Vec::new();
    for cause in e.chain().skip(1) {
        let text = cause.to_string();
        if text.is_empty() || text.ends_with("Unknown error code") || seen.contains(&text) {
            continue;
        }
        seen.push_str(&text);
        out.push(text);
    }
    (head, out)
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let terminal_run = matches!(cli.command, Command::Run { .. })
        && std::io::stderr().is_terminal()
        && cli.log_format == LogFormat::Text;
    let quiet = terminal_run
        || matches!(
            cli.command,
            Command::Demo { .. }
                | Command::Bench { .. }
                | Command::Sql { .. }
                | Command::Streams { .. }
                | Command::Validate
                | Command::Runs { .. }
                | Command::State { .. }
                | Command::Init { .. }
                | Command::Lake { .. }
                | Command::Report { .. }
        );
    init_logging(cli.log_format, cli.verbose, if quiet { "warn" } else { "info" });
    let result = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
        .and_then(|rt| rt.block_on(dispatch(cli)));
    match result {
        Ok(code) => code,
        Err(e) => {
            let (head, rest) = causes(&e);
            if LOG_JSON.load(Ordering::Relaxed) {
                tracing::error!(causes = ?rest, "{head}");
            } else {
                eprintln!("desksync: error: {head}");
                for cause in rest {
                    eprintln!("  caused by: {cause}");
                }
            }
            ExitCode::FAILURE
        }
    }
}

/// The configuration file: `--config`/`DESKSYNC_CONFIG` must name one that exists; without
/// either, `desksync.toml` is optional (defaults, pipelines from `./pipelines`).
fn config_path(given: &Option<PathBuf>) -> Result<PathBuf> {
    match given {
        Some(p) if !p.is_file() => bail!(
            "the configuration file {} does not exist{} (leave --config out to use ./desksync.toml or defaults)",
            p.display(),
            if p.is_dir() { " as a file: it is a directory" } else { "" }
        ),
        Some(p) => Ok(p.clone()),
        None => Ok(PathBuf::from("desksync.toml")),
    }
}

/// The valid pipelines and the broken ones (what `run` and the bookkeeping verbs use: one
/// pipeline's problems do not stop the others).
fn load_partial(given: &Option<PathBuf>) -> Result<(Config, Vec<BrokenPipeline>)> {
    let path = config_path(given)?;
    sources::load_config_partial(&path).map_err(|e| anyhow!("{e}"))
}

/// One valid pipeline by name; a broken one says its problems, an unknown one lists the names.
fn pick<'a>(config: &'a Config, broken: &[BrokenPipeline], name: &str) -> Result<&'a PipelineConfig> {
    if let Some(p) = config.pipeline(name) {
        return Ok(p);
    }
    if let Some(b) = broken.iter().find(|b| b.name == name) {
        bail!("{}", broken_text(b));
    }
    let mut known: Vec<&str> = config.pipelines.iter().map(|p| p.name.as_str()).collect();
    known.extend(broken.iter().map(|b| b.name.as_str()));
    bail!(
        "no pipeline named '{name}' (configured: {})",
        if known.is_empty() { "none".to_string() } else { known.join(", ") }
    )
}

fn broken_text(b: &BrokenPipeline) -> String {
    let mut t = format!("pipeline {} ({}) has configuration problems:", b.name, b.file.display());
    for p in &b.problems {
        t.push_str(&format!("\n  - {p}"));
    }
    t
}

/// The token cancelled by the first SIGINT/SIGTERM (one per process). A second signal exits
/// at once with 128 + its number; DuckDB rolls back the open transaction, if any.
fn shutdown_token() -> CancellationToken {
    static TOKEN: std::sync::OnceLock<CancellationToken> = std::sync::OnceLock::new();
    TOKEN
        .get_or_init(|| {
            let token = CancellationToken::new();
            let t = token.clone();
            tokio::spawn(async move {
                let first = next_signal().await;
                SIGNAL.store(first, Ordering::SeqCst);
                notice("stopping after the current batch commits (signal again to abort)");
                t.cancel();
                let second = next_signal().await;
                std::process::exit(128 + second);
            });
            token
        })
        .clone()
}

/// Wait for SIGINT or SIGTERM; returns its number.
async fn next_signal() -> i32 {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
        let mut int = signal(SignalKind::interrupt()).expect("SIGINT handler");
        tokio::select! {
            _ = int.recv() => 2,
            _ = term.recv() => 15,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        2
    }
}

/// The exit code of a command stopped by a signal (130 SIGINT, 143 SIGTERM), if one was.
fn signal_exit() -> Option<ExitCode> {
    match SIGNAL.load(Ordering::SeqCst) {
        0 => None,
        n => Some(ExitCode::from((128 + n) as u8)),
    }
}

async fn dispatch(cli: Cli) -> Result<ExitCode> {
    let given = cli.config.clone();
    match cli.command {
        Command::Demo { dir, conversations, seed } => demo(&dir, conversations, seed).await,
        Command::Serve { bind, max_concurrent_runs, shutdown_deadline, shard } => {
            let path = config_path(&given)?;
            let config = sources::load_config(&path).map_err(|e| anyhow!("{e}"))?;
            // SIGHUP (systemctl reload) reloads the configuration; it never stops the process.
            let reload = std::sync::Arc::new(tokio::sync::Notify::new());
            #[cfg(unix)]
            {
                let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
                    .context("installing the SIGHUP handler")?;
                let r = reload.clone();
                tokio::spawn(async move {
                    while hup.recv().await.is_some() {
                        r.notify_one();
                    }
                });
            }
            let options = desksync::app::serve::ServeOptions {
                bind,
                max_concurrent_runs,
                shutdown_deadline,
                config_path: Some(path),
                reload: Some(reload),
                shard,
                ..Default::default()
            };
            let (tx, rx) = tokio::sync::oneshot::channel();
            tokio::spawn(async move {
                if let Ok(addr) = rx.await {
                    outln!("desksync serve: listening on http://{addr} (/status, /metrics, /healthz, /readyz)");
                }
            });
            desksync::app::serve::serve(config, options, shutdown_token(), Some(tx)).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Backfill { pipeline, from, to, window, dry_run, force } => {
            let (config, broken) = load_partial(&given)?;
            let p = pick(&config, &broken, &pipeline)?.clone();
            let to = to.unwrap_or_else(|| {
                chrono::Utc::now().with_timezone(&p.timezone).date_naive() + chrono::Duration::days(1)
            });
            if from >= to {
                bail!("--from {from} must be before --to {to}");
            }
            let plan = desksync::app::backfill::plan(&config, &p, from, to, window).await?;
            for line in plan.describe().lines() {
                outln!("{line}");
            }
            if dry_run {
                return Ok(ExitCode::SUCCESS);
            }
            let problems = desksync::app::run::check_output_paths(&config);
            if !problems.is_empty() {
                bail!("{}", problems.join("; "));
            }
            let total = plan.windows.len() * plan.streams.len();
            let bar = (std::io::stderr().is_terminal() && !LOG_JSON.load(Ordering::Relaxed)).then(|| {
                let b = indicatif::ProgressBar::new(total as u64);
                b.set_style(
                    indicatif::ProgressStyle::with_template(
                        "{bar:30} {pos}/{len} windows · {msg} · {elapsed_precise} elapsed · ETA {eta}",
                    )
                    .expect("template"),
                );
                b
            });
            let summary = desksync::app::backfill::run(&config, &p, &plan, force, shutdown_token(), |pr| {
                let rate = pr.rows as f64 / pr.elapsed.as_secs_f64().max(0.001);
                match &bar {
                    Some(b) => {
                        b.set_position(pr.done as u64);
                        b.set_message(format!(
                            "{} rows ({rate:.0}/s) · {} requests · pace {}/min · {} {}",
                            pr.rows,
                            pr.requests,
                            pr.pace_per_minute,
                            pr.stream,
                            pr.window.0.date_naive()
                        ));
                    }
                    None => tracing::info!(
                        done = pr.done,
                        total = pr.total,
                        stream = %pr.stream,
                        window = %pr.window.0.date_naive(),
                        status = pr.status,
                        rows = pr.rows,
                        rows_per_second = rate.round(),
                        requests = pr.requests,
                        pace_per_minute = pr.pace_per_minute,
                        "backfill progress"
                    ),
                }
            })
            .await?;
            if let Some(b) = bar {
                b.finish();
            }
            outln!(
                "backfill of {}: {} windows loaded, {} already done, {} rows, {} requests{}",
                p.name,
                summary.windows_loaded,
                summary.windows_skipped,
                summary.rows,
                summary.requests,
                if summary.cancelled { " — stopped; run the same command to resume" } else { "" }
            );
            for f in &summary.failed {
                outln!("  failed: {f}");
            }
            if summary.cancelled
                && let Some(code) = signal_exit()
            {
                return Ok(code);
            }
            Ok(if summary.failed.is_empty() && !summary.cancelled { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
        Command::Run { pipelines } => run(&given, &pipelines).await,
        Command::Check { pipeline } => {
            let (config, broken) = load_partial(&given)?;
            let mut p = pick(&config, &broken, &pipeline)?.clone();
            // A check is one cheap request: answer quickly rather than retry for minutes.
            p.http.max_retries = p.http.max_retries.min(1);
            let p = &p;
            let source = Source::new(p, sources::http_client(p));
            match source.check().await {
                Ok(line) => {
                    outln!("ok: {}: {line}", p.name);
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => Err(anyhow!(e)).with_context(|| format!("pipeline {} failed its check", p.name)),
            }
        }
        Command::Validate => validate(&given),
        Command::Streams { pipeline, json } => streams(&given, pipeline.as_deref(), json),
        Command::State { action } => state(&given, action).await,
        Command::Runs { pipeline, last, json } => runs(&given, pipeline.as_deref(), last, json).await,
        Command::Drop { pipeline, stream, yes } => drop_cmd(&given, &pipeline, &stream, yes).await,
        Command::Init { vendor, name } => init(&given, &vendor, name.as_deref()),
        Command::Simulate {
            vendor: _,
            port,
            conversations,
            seed,
            api_key,
            lz_password,
            timezone,
            rate_limit,
            while_stdin_open,
        } => {
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
            outln!("listening on {}", sim.base_url());
            notice(&format!(
                "simulator with {conversations} conversations (seed {seed}): {}; Ctrl-C to stop",
                desksync::simulator::describe(&sim.base_url())
            ));
            if while_stdin_open {
                // A plain thread blocks on stdin and reports its end.
                let (tx, stdin_closed) = tokio::sync::oneshot::channel::<()>();
                std::thread::spawn(move || {
                    use std::io::Read;
                    let mut buf = [0u8; 64];
                    let mut stdin = std::io::stdin();
                    while stdin.read(&mut buf).is_ok_and(|n| n > 0) {}
                    let _ = tx.send(());
                });
                tokio::select! {
                    _ = sim.run_until_ctrl_c() => {}
                    _ = stdin_closed => {}
                }
            } else {
                sim.run_until_ctrl_c().await;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench { conversations, changed_pct, dir, rate_limit, burst_429, source } => {
            // Ctrl-C ends the bench at once (its figures would be of a cut-short run); the
            // simulator process goes with it.
            tokio::select! {
                r = bench(conversations, changed_pct, &dir, rate_limit, burst_429, source.as_deref()) => r,
                _ = tokio::signal::ctrl_c() => {
                    notice("bench interrupted; no figures for the unfinished phase");
                    Ok(ExitCode::from(130))
                }
            }
        }
        Command::Sql { query, live, json } => sql(&given, &query, live, json).await,
        Command::Lake { action } => lake(&given, action).await,
        Command::Report { out, from, to, source } => {
            let (config, _) = load_partial(&given)?;
            let to = to.unwrap_or_else(|| chrono::Utc::now().date_naive() + chrono::Duration::days(1));
            let from = from.unwrap_or(to - chrono::Duration::days(90));
            let options = desksync::app::report::ReportOptions { from, to, source };
            let html = desksync::app::report::render(&config, &options).await?;
            std::fs::write(&out, &html).with_context(|| format!("writing {}", out.display()))?;
            outln!("report written to {} ({} KiB, {from} to {to})", out.display(), html.len() / 1024);
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `desksync lake vacuum | optimize | status`.
async fn lake(given: &Option<PathBuf>, action: LakeAction) -> Result<ExitCode> {
    let (config, _) = load_partial(given)?;
    let lake = desksync::lake::Lake::new(config.lake.clone(), config.settings.lake.clone());
    match action {
        LakeAction::Vacuum { retention, force, dry_run } => {
            let retention = retention.unwrap_or(config.settings.lake.vacuum_retention);
            let done = desksync::lake::maintenance::vacuum(&lake, retention, force, dry_run).await?;
            let files: usize = done.iter().map(|v| v.files_deleted).sum();
            for v in done.iter().filter(|v| v.files_deleted > 0) {
                outln!("  {:<28} {:>6} file(s)", v.table, v.files_deleted);
            }
            let verb = if dry_run { "would delete" } else { "deleted" };
            outln!(
                "{}: vacuum {verb} {files} data file(s) unreferenced for {}",
                config.lake,
                humantime::format_duration(retention)
            );
        }
        LakeAction::Optimize => {
            let done = desksync::lake::maintenance::optimize(&lake).await?;
            for o in done.iter().filter(|o| o.partitions > 0) {
                outln!(
                    "  {:<28} {:>4} partition(s): {} files -> {}",
                    o.table,
                    o.partitions,
                    o.files_removed,
                    o.files_added
                );
            }
            let parts: usize = done.iter().map(|o| o.partitions).sum();
            outln!("{}: optimize compacted {parts} partition(s)", config.lake);
        }
        LakeAction::Status { json } => {
            let status = desksync::lake::status(&lake).await?;
            if json {
                outln!("{}", serde_json::to_string_pretty(&status)?);
            } else {
                outln!("{}:", config.lake);
                for t in &status {
                    outln!("  {:<28} version {:>5}  {:>5} file(s)  {:>9} rows", t.table, t.version, t.files, t.rows);
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `desksync run`: every selected runnable pipeline, each reported; the exit code says whether
/// all succeeded (130/143 when a signal stopped it).
async fn run(given: &Option<PathBuf>, names: &[String]) -> Result<ExitCode> {
    let (config, broken) = load_partial(given)?;
    let mut selected: Vec<&PipelineConfig> = Vec::new();
    let mut not_run: Vec<(String, String)> = Vec::new();
    if names.is_empty() {
        selected = config.pipelines.iter().collect();
        for b in &broken {
            outln!("{}", broken_text(b));
            not_run.push((b.name.clone(), "configuration problems".into()));
        }
        if selected.is_empty() && broken.is_empty() {
            let dir = config::pipelines_dir(&config_path(given)?, &config.settings);
            bail!("no pipelines configured in {} (`desksync init VENDOR NAME` writes one)", dir.display());
        }
    } else {
        for n in names {
            match pick(&config, &broken, n) {
                Ok(p) => selected.push(p),
                Err(e) if broken.iter().any(|b| &b.name == n) => {
                    outln!("{e}");
                    not_run.push((n.clone(), "configuration problems".into()));
                }
                Err(e) => return Err(e),
            }
        }
        for b in broken.iter().filter(|b| !names.contains(&b.name)) {
            tracing::warn!(pipeline = %b.name, "not selected and its configuration has problems (see `desksync validate`)");
        }
    }
    let token = shutdown_token();
    let mut results: Vec<(String, String)> = Vec::new();
    for p in selected {
        if token.is_cancelled() {
            outln!("{}: not started — the command was interrupted", p.name);
            not_run.push((p.name.clone(), "not started (interrupted)".into()));
            continue;
        }
        match run_with_progress(&config, p, token.clone()).await {
            Ok(summary) => {
                print_summary(&summary);
                if summary.status != RunStatus::Succeeded {
                    results.push((p.name.clone(), summary.status.to_string()));
                }
            }
            Err(WarehouseError::PipelineBusy { holder, .. }) => {
                outln!("{}: skipped — already running in another process{holder}", p.name);
                results.push((p.name.clone(), "skipped (running elsewhere)".into()));
            }
            Err(e) => {
                outln!("{}: failed — {e}", p.name);
                results.push((p.name.clone(), "failed".into()));
            }
        }
    }
    results.extend(not_run);
    if results.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    let list: Vec<String> = results.iter().map(|(n, why)| format!("{n} ({why})")).collect();
    notice(&format!("{} pipeline(s) did not succeed: {}", results.len(), list.join(", ")));
    Ok(signal_exit().unwrap_or(ExitCode::FAILURE))
}

/// Run one pipeline, with a progress line on a terminal (streams done/total, rows, requests,
/// pace); log lines otherwise.
async fn run_with_progress(
    config: &Config,
    p: &PipelineConfig,
    token: CancellationToken,
) -> Result<RunSummary, WarehouseError> {
    if !std::io::stderr().is_terminal() || LOG_JSON.load(Ordering::Relaxed) {
        return run_pipeline(config, p, token).await;
    }
    let progress = std::sync::Arc::new(RunProgress::default());
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_style(indicatif::ProgressStyle::with_template("{spinner} {prefix}: {msg} · {elapsed}").expect("template"));
    bar.set_prefix(p.name.clone());
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    let (pr, b) = (progress.clone(), bar.clone());
    let started = Instant::now();
    let ticker = tokio::spawn(async move {
        loop {
            let requests = pr.requests();
            let rate = requests as f64 / started.elapsed().as_secs_f64().max(0.001) * 60.0;
            b.set_message(format!(
                "streams {}/{} · {} rows · {} requests ({rate:.0}/min, pace {}/min)",
                pr.streams_done.load(Ordering::Relaxed),
                pr.streams_total.load(Ordering::Relaxed),
                pr.rows.load(Ordering::Relaxed),
                requests,
                pr.pace_per_minute.load(Ordering::Relaxed),
            ));
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    });
    let result = run_pipeline_observed(config, p, token, Some(progress)).await;
    ticker.abort();
    bar.finish_and_clear();
    result
}

fn print_summary(s: &RunSummary) {
    outln!(
        "{}: {} in {:.1}s — {} rows written, {} requests (run {})",
        s.pipeline,
        s.status,
        s.elapsed.as_secs_f64(),
        s.rows_written,
        s.requests,
        s.run_id
    );
    if s.status != RunStatus::Succeeded
        && let Some(e) = &s.error
    {
        outln!("  reason: {e}");
    }
    for st in &s.streams {
        outln!(
            "  {:<34} {:<11} rows {:>7}  requests {:>6}  retries {:>3}  quarantined {:>3}  watermark {}{}",
            st.stream,
            st.status,
            st.rows,
            st.requests,
            st.retries,
            st.quarantined,
            st.watermark.as_deref().unwrap_or("-"),
            stream_error(st)
        );
    }
}

/// A stream's error on the line below it; a stream that never started says nothing more than
/// the run's reason does.
fn stream_error(st: &desksync::app::run::StreamSummary) -> String {
    match &st.error {
        Some(e) if st.status != desksync::app::run::StreamStatus::NotStarted => format!("\n    {e}"),
        _ => String::new(),
    }
}

/// `desksync validate`: every file and pipeline, offline.
fn validate(given: &Option<PathBuf>) -> Result<ExitCode> {
    let path = config_path(given)?;
    let config = match sources::load_config(&path) {
        Ok(c) => c,
        Err(e) => {
            outln!("{e}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let problems = desksync::app::run::check_output_paths(&config);
    for p in &problems {
        outln!("problem: {p}");
    }
    if config.pipelines.is_empty() {
        outln!("no pipelines configured (`desksync init VENDOR NAME` writes one)");
    }
    for p in &config.pipelines {
        outln!(
            "ok: {} — {} at {}, account {}, {} streams, {}",
            p.name,
            p.source,
            desksync::http::redact_url(&p.base_url),
            p.account,
            p.streams.len(),
            p.schedule.as_deref().map(|s| format!("schedule {s}")).unwrap_or_else(|| "no schedule (run only)".into())
        );
    }
    outln!(
        "warehouse {}, snapshot {}, lake {}",
        config.warehouse_path.display(),
        config.publish_path.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|| "not published".into()),
        if config.settings.lake.enabled { config.lake.to_string() } else { "off".into() }
    );
    Ok(if problems.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// `desksync streams`.
fn streams(given: &Option<PathBuf>, pipeline: Option<&str>, json: bool) -> Result<ExitCode> {
    // With a configuration (given, or ./desksync.toml, or ./pipelines), it is validated first.
    let has_config = given.is_some() || Path::new("desksync.toml").exists() || Path::new("pipelines").is_dir();
    // One read of the configuration: its problems fail the command after the listing.
    let loaded =
        if has_config || pipeline.is_some() { Some(sources::load_config_partial(&config_path(given)?)) } else { None };
    let problems = match &loaded {
        Some(Err(e)) => Some(e.clone()),
        Some(Ok((_, broken))) if !broken.is_empty() => {
            Some(config::ConfigErrors(broken.iter().flat_map(|b| b.problems.clone()).collect()))
        }
        _ => None,
    };
    let (kinds, selected): (Vec<SourceKind>, Option<Vec<String>>) = match (pipeline, &loaded) {
        (Some(_), Some(Err(e))) => bail!("{e}"),
        (Some(name), Some(Ok((config, broken)))) => {
            let p = pick(config, broken, name)?;
            (vec![p.kind()], Some(p.streams.clone()))
        }
        _ => (SourceKind::all(), None),
    };
    let mut rows = Vec::new();
    for kind in kinds {
        for s in sources::streams(kind) {
            let is_selected = selected.as_ref().is_none_or(|sel| sel.iter().any(|n| n == s.name));
            let endpoint =
                if s.endpoint.starts_with('/') { format!("GET {}", s.endpoint) } else { s.endpoint.to_string() };
            rows.push((kind, s, endpoint, is_selected));
        }
    }
    if json {
        let list: Vec<serde_json::Value> = rows
            .iter()
            .map(|(kind, s, endpoint, sel)| {
                serde_json::json!({
                    "source": kind.name(), "stream": s.name, "table": s.table.name(),
                    "primary_key": s.table.primary_key(), "mode": s.mode.name(), "cursor": s.cursor,
                    "endpoint": endpoint, "default_on": s.default_on, "parent": s.parent,
                    "selected": selected.as_ref().map(|_| *sel),
                })
            })
            .collect();
        outln!("{}", serde_json::to_string_pretty(&list).expect("JSON"));
        return Ok(validated(problems));
    }
    outln!(
        "{:<10} {:<34} {:<27} {:<52} {:<26} {:<25} endpoint",
        "source",
        "stream",
        "table",
        "primary key",
        "mode",
        "cursor"
    );
    for (kind, s, endpoint, sel) in &rows {
        outln!(
            "{:<10} {:<34} {:<27} {:<52} {:<26} {:<25} {}{}",
            kind.name(),
            s.name,
            s.table.name(),
            s.table.primary_key().join(", "),
            s.mode.name(),
            s.cursor.unwrap_or("-"),
            endpoint,
            if *sel { "" } else { " (not selected)" }
        );
    }
    Ok(validated(problems))
}

/// After a listing: the configuration's problems, if it has any, on stderr and in the exit code.
fn validated(problems: Option<config::ConfigErrors>) -> ExitCode {
    match problems {
        Some(e) => {
            notice(e.to_string().trim_end());
            ExitCode::FAILURE
        }
        None => ExitCode::SUCCESS,
    }
}

/// A stream of `p`'s connector by name, or an error listing them.
fn known_stream(p: &PipelineConfig, stream: &str) -> Result<()> {
    let names = sources::stream_names(p.kind());
    if !names.contains(&stream) {
        bail!("{} has no stream '{stream}' (its streams: {})", p.source, names.join(", "));
    }
    Ok(())
}

/// `desksync state show|reset`.
async fn state(given: &Option<PathBuf>, action: StateAction) -> Result<ExitCode> {
    let (config, broken) = load_partial(given)?;
    let wh = Warehouse::from_settings(&config.warehouse_path, &config.settings.warehouse);
    match action {
        StateAction::Show { pipeline, stream, json } => {
            let p = pick(&config, &broken, &pipeline)?;
            if let Some(s) = &stream {
                known_stream(p, s)?;
            }
            // Read-only: a warehouse that does not exist yet is not created.
            let rows = if wh.path().exists() { wh.show_state(&pipeline).await? } else { Vec::new() };
            let rows: Vec<_> = rows.into_iter().filter(|r| stream.as_ref().is_none_or(|s| &r.0 == s)).collect();
            if json {
                let list: Vec<serde_json::Value> = rows
                    .iter()
                    .map(|(s, wm, st, at)| {
                        serde_json::json!({
                            "pipeline": pipeline, "stream": s, "watermark": wm, "updated_at": at,
                            "state": serde_json::from_str::<serde_json::Value>(st).unwrap_or(serde_json::Value::Null),
                        })
                    })
                    .collect();
                outln!("{}", serde_json::to_string_pretty(&list).expect("JSON"));
                return Ok(ExitCode::SUCCESS);
            }
            if rows.is_empty() {
                let what = stream.as_ref().map(|s| format!("{pipeline}/{s}")).unwrap_or(pipeline.clone());
                outln!("{what}: no state yet (the next run is a full sync)");
            }
            for (s, wm, st, at) in rows {
                outln!("{pipeline}/{s}: watermark {} (updated {at})\n  {st}", wm.unwrap_or_else(|| "-".into()));
            }
            Ok(ExitCode::SUCCESS)
        }
        StateAction::Reset { pipeline, stream } => {
            let p = pick(&config, &broken, &pipeline)?;
            if let Some(s) = &stream {
                known_stream(p, s)?;
            }
            if !wh.path().exists() {
                outln!("{pipeline}: no state yet; nothing to reset");
                return Ok(ExitCode::SUCCESS);
            }
            let _lock = desksync::app::run::PipelineLock::acquire(&config.warehouse_path, &pipeline)?;
            wh.migrate().await?;
            let (states, windows) = wh.reset_state(&pipeline, stream.as_deref()).await?;
            let what = stream.as_ref().map(|s| format!("{pipeline}/{s}")).unwrap_or(pipeline.clone());
            outln!(
                "reset {what}: {states} stream state(s) and {windows} ledger window(s) forgotten; \
                 the next run re-reads from the beginning"
            );
            if states + windows > 0
                && let Some(e) = desksync::app::run::publish_snapshot(&config, &wh, &pipeline, true).await
            {
                bail!("the state was reset, but {e}");
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `desksync runs`.
async fn runs(given: &Option<PathBuf>, pipeline: Option<&str>, last: usize, json: bool) -> Result<ExitCode> {
    let (config, broken) = load_partial(given)?;
    // A broken pipeline still has its history; an unknown name is an error listing the names.
    if let Some(name) = pipeline
        && !broken.iter().any(|b| b.name == name)
    {
        pick(&config, &broken, name)?;
    }
    let wh = Warehouse::from_settings(&config.warehouse_path, &config.settings.warehouse);
    let list = if wh.path().exists() { wh.runs(pipeline, last.max(1)).await? } else { Vec::new() };
    if json {
        outln!("{}", serde_json::to_string_pretty(&list).expect("JSON"));
        return Ok(ExitCode::SUCCESS);
    }
    if list.is_empty() {
        outln!("no runs yet (`desksync run` makes one)");
    }
    for r in &list {
        outln!(
            "{} {} {:<11} started {} · {} · {} rows · {} requests",
            r.run_id,
            r.pipeline,
            r.status,
            r.started_at,
            r.elapsed_ms.map(|ms| format!("{:.1}s", ms as f64 / 1000.0)).unwrap_or_else(|| "-".into()),
            r.rows_written.map(|n| n.to_string()).unwrap_or_else(|| "-".into()),
            r.requests.map(|n| n.to_string()).unwrap_or_else(|| "-".into()),
        );
        if let Some(e) = &r.error {
            outln!("  reason: {e}");
        }
        for s in &r.streams {
            outln!(
                "  {:<34} {:<11} rows {:>7}  requests {:>6}  retries {:>3}{}",
                s.stream,
                s.status,
                s.rows,
                s.requests,
                s.retries,
                stream_error(s)
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `desksync drop`.
async fn drop_cmd(given: &Option<PathBuf>, pipeline: &str, streams: &[String], yes: bool) -> Result<ExitCode> {
    let (config, broken) = load_partial(given)?;
    let p = pick(&config, &broken, pipeline)?;
    if let Some(other) =
        config.pipelines.iter().find(|o| o.name != p.name && o.source == p.source && o.account == p.account)
    {
        bail!(
            "pipelines {} and {} both load {} account '{}': their rows cannot be told apart; drop is refused",
            p.name,
            other.name,
            p.source,
            p.account
        );
    }
    let all = sources::streams(p.kind());
    let (tables, stream_filter, what) = if streams.is_empty() {
        (desksync::model::Table::all(), None, format!("pipeline {}", p.name))
    } else {
        let mut chosen: Vec<String> = Vec::new();
        for s in streams {
            known_stream(p, s)?;
            chosen.push(s.clone());
            // A parent's child streams go with it: their rows hang off its records.
            chosen.extend(all.iter().filter(|c| c.parent == Some(s.as_str())).map(|c| c.name.to_string()));
        }
        chosen.sort();
        chosen.dedup();
        let mut tables: Vec<desksync::model::Table> = Vec::new();
        for s in &chosen {
            let info = all.iter().find(|i| i.name == s).expect("known");
            // Another stream of this connector writing the same table would lose its rows too.
            if let Some(other) = all.iter().find(|o| o.table == info.table && !chosen.iter().any(|c| c == o.name)) {
                bail!(
                    "stream {s} shares table {} with stream {}: drop them together (--stream {s} --stream {}) \
                     or the whole pipeline",
                    info.table.name(),
                    other.name,
                    other.name
                );
            }
            if !tables.contains(&info.table) {
                tables.push(info.table);
            }
        }
        let what = format!("streams {} of pipeline {}", chosen.join(", "), p.name);
        (tables, Some(chosen), what)
    };
    let names: Vec<&str> = tables.iter().map(|t| t.name()).collect();
    if !yes {
        outln!(
            "would delete the {what}: rows of {} for {} account '{}', their state, ledger windows and lake \
             partitions. Nothing was deleted: add --yes",
            names.join(", "),
            p.source,
            p.account
        );
        return Ok(ExitCode::FAILURE);
    }
    let wh = Warehouse::from_settings(&config.warehouse_path, &config.settings.warehouse);
    if !wh.path().exists() {
        outln!("{}: nothing loaded yet; nothing to drop", p.name);
        return Ok(ExitCode::SUCCESS);
    }
    let _lock = desksync::app::run::PipelineLock::acquire(&config.warehouse_path, &p.name)?;
    wh.migrate().await?;
    let stats = wh.drop_data(&p.name, p.source, &p.account, tables.clone(), stream_filter).await?;
    let mut lake_tables = 0;
    if config.settings.lake.enabled {
        let lake = desksync::lake::Lake::new(config.lake.clone(), config.settings.lake.clone());
        for t in &tables {
            if desksync::lake::drop_partitions(&lake, *t, p.source, &p.account).await? {
                lake_tables += 1;
            }
        }
    }
    let rows: usize = stats.rows.iter().map(|(_, n)| n).sum();
    outln!(
        "dropped the {what}: {rows} rows ({}), {} stream state(s), {} ledger window(s), lake partitions of {lake_tables} table(s)",
        stats.rows.iter().filter(|(_, n)| *n > 0).map(|(t, n)| format!("{t} {n}")).collect::<Vec<_>>().join(", "),
        stats.states,
        stats.windows
    );
    if let Some(e) = desksync::app::run::publish_snapshot(&config, &wh, &p.name, true).await {
        bail!("the data was dropped, but {e}");
    }
    Ok(ExitCode::SUCCESS)
}

/// `desksync init VENDOR [NAME]`.
fn init(given: &Option<PathBuf>, vendor: &str, name: Option<&str>) -> Result<ExitCode> {
    let kind = SourceKind::from_name(vendor).ok_or_else(|| {
        let known: Vec<&str> = SourceKind::all().iter().map(|k| k.name()).collect();
        anyhow!("unknown vendor '{vendor}' (known: {})", known.join(", "))
    })?;
    let name = name.unwrap_or(kind.name());
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        bail!("the pipeline name '{name}' must be letters, digits, '-' or '_'");
    }
    let path = config_path(given)?;
    let settings = config::load_settings(&path).map_err(|e| anyhow!("{e}"))?;
    let dir = config::pipelines_dir(&path, &settings);
    let file = dir.join(format!("{name}.toml"));
    if file.exists() {
        bail!("{} exists already; choose another name or edit it", file.display());
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    std::fs::write(&file, config::sample_pipeline(kind.spec(), name))
        .with_context(|| format!("writing {}", file.display()))?;
    let var = format!(
        "{}_{}",
        kind.name().to_ascii_uppercase(),
        if kind.spec().login() == config::Login::ApiKey { "API_KEY" } else { "PASSWORD" }
    );
    outln!("wrote {}", file.display());
    outln!(
        "next: set base_url and account in it, export {var}=..., then `desksync validate` and `desksync check -p {name}`"
    );
    Ok(ExitCode::SUCCESS)
}

/// `desksync sql`.
async fn sql(given: &Option<PathBuf>, query: &str, live: bool, json: bool) -> Result<ExitCode> {
    let (config, _) = load_partial(given)?;
    let batches = desksync::app::sql::query(&config, query, live).await?;
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    if json {
        let mut w = arrow::json::ArrayWriter::new(Vec::new());
        for b in &batches {
            w.write(b).context("writing JSON")?;
        }
        w.finish().context("writing JSON")?;
        let text = String::from_utf8(w.into_inner()).context("writing JSON")?;
        outln!("{}", if text.trim().is_empty() { "[]" } else { text.trim() });
        return Ok(ExitCode::SUCCESS);
    }
    let text = arrow::util::pretty::pretty_format_batches(&batches).context("formatting the result")?;
    outln!("{text}");
    outln!("({rows} row{})", if rows == 1 { "" } else { "s" });
    Ok(ExitCode::SUCCESS)
}

async fn demo(dir: &Path, conversations: usize, seed: u64) -> Result<ExitCode> {
    let started = Instant::now();
    let demo = desksync::app::demo::Demo::start(dir, conversations, seed).await?;
    outln!("simulator ({conversations} conversations, seed {seed}): {}", demo.describe());
    let mut ok = true;
    let token = shutdown_token();
    for p in demo.pipelines() {
        let summary = run_pipeline(&demo.config, p, token.clone()).await?;
        print_summary(&summary);
        ok &= summary.status == RunStatus::Succeeded;
    }
    if let Some(code) = signal_exit() {
        return Ok(code);
    }
    outln!("\nwarehouse {}:", demo.config.warehouse_path.display());
    for (table, n) in demo.table_counts().await? {
        outln!("  {table:<28} {n:>8} rows");
    }
    outln!(
        "lake {}: Delta Lake tables, partitioned by source/account (and created_month, captured_month or window_month)",
        demo.config.lake
    );
    let table = demo.example().await?;
    outln!(
        "\nan analyst's question — which channels and statuses carry the load?\n{};\n{table}",
        desksync::app::demo::EXAMPLE_QUERY
    );
    outln!(
        "\ndone in {:.1}s. Query it yourself: desksync --config {} sql \"SELECT * FROM tickets LIMIT 5\"",
        started.elapsed().as_secs_f64(),
        demo.config_path.display()
    );
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

async fn bench(
    conversations: usize,
    changed_pct: f64,
    dir: &Path,
    rate_limit: Option<u32>,
    burst_429: Option<u32>,
    source: Option<&str>,
) -> Result<ExitCode> {
    let bench = desksync::app::bench::Bench::start(dir, conversations, rate_limit, source)?;
    outln!(
        "benchmark: {conversations} conversations, {} against the simulator at {} (separate process)",
        bench.source(),
        bench.base_url
    );
    if let Some(r) = rate_limit {
        outln!("simulator limit: {r} requests/minute per key; the pipeline is configured with the same limit");
    }
    outln!(
        "{:<12} {:>9} {:>7} {:>10} {:>9} {:>10} {:>11} {:>12} {:>6} {:>10}{}",
        "phase",
        "wall s",
        "cpu s",
        "rows",
        "rows/s",
        "requests",
        "requests/s",
        "peak RSS MiB",
        "429s",
        "% of limit",
        if rate_limit.is_some() { "  fetching: fullest–emptiest window %" } else { "" }
    );
    bench.record().await?;
    let full = match burst_429 {
        Some(n) => bench.phase_with_burst("full", std::time::Duration::from_secs(5), n).await?,
        None => bench.phase("full").await?,
    };
    report(&full);
    // The same requests again, bodies discarded: how close to the wire the full sync is. Not
    // against a rate limit: the floor would spend the next phase's quota (and measure the limit).
    let floor = match rate_limit {
        None if bench.is_first_source() => Some(bench.floor("fetch floor").await?),
        _ => None,
    };
    if let Some(f) = &floor {
        report(f);
    }
    if let Some(n) = burst_429 {
        match full.recovered_after_secs {
            Some(s) => {
                outln!("after a burst of {n} × 429 at 5 s: the pace was back at 90% of the limit {s:.1} s later")
            }
            None => {
                outln!("after a burst of {n} × 429 at 5 s: the pace did not get back to 90% of the limit in this phase")
            }
        }
    }
    let changed = ((conversations as f64) * changed_pct / 100.0).round() as usize;
    bench.change(changed).await?;
    let inc = bench.phase(&format!("incr {changed_pct}%")).await?;
    report(&inc);
    if let Some(floor) = &floor {
        let cpu_per_request = |f: &desksync::app::bench::Figures| {
            f.cpu_secs.map(|c| c * 1000.0 / f.requests.max(1) as f64).unwrap_or(f64::NAN)
        };
        outln!(
            "\nfull sync: {:.2}× the fetch floor's wall time; {:.3} ms CPU per request ({:.3} beyond the floor's)",
            full.wall_secs / floor.wall_secs,
            cpu_per_request(&full),
            cpu_per_request(&full) - cpu_per_request(floor),
        );
        let per_request_ms = 1000.0 * floor.wall_secs * bench.max_in_flight() as f64 / floor.requests.max(1) as f64;
        let one: Vec<String> = inc.one_request_streams.iter().map(|(s, ms)| format!("{s} {ms} ms")).collect();
        outln!(
            "one-request streams (incremental run): {}; a floor request takes {per_request_ms:.1} ms",
            if one.is_empty() { "none".to_string() } else { one.join(", ") }
        );
        outln!(
            "incremental: {:.1}% of the full sync's requests, {:.1}% of its wall time",
            100.0 * inc.requests as f64 / full.requests.max(1) as f64,
            100.0 * inc.wall_secs / full.wall_secs
        );
    }
    outln!("\nwhere the time went (seconds, summed over concurrent tasks):");
    let names: Vec<&str> = full.work.iter().map(|(w, _)| w.name()).collect();
    outln!("{:<12} {}", "phase", names.iter().map(|n| format!("{n:>14}")).collect::<String>());
    for f in [Some(&full), floor.as_ref(), Some(&inc)].into_iter().flatten() {
        outln!("{:<12} {}", f.phase, f.work.iter().map(|(_, s)| format!("{s:>14.2}")).collect::<String>());
    }
    Ok(if full.succeeded && inc.succeeded { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn report(f: &desksync::app::bench::Figures) {
    let secs = f.wall_secs;
    outln!(
        "{:<12} {:>9.2} {:>7.2} {:>10} {:>9.0} {:>10} {:>11.0} {:>12.1} {:>6} {:>10}{}",
        f.phase,
        secs,
        f.cpu_secs.unwrap_or(f64::NAN),
        f.rows,
        f.rows as f64 / secs,
        f.requests,
        f.requests as f64 / secs,
        f.peak_rss_mib.unwrap_or(f64::NAN),
        f.throttled,
        f.pct_of_limit.map(|p| format!("{p:.1}")).unwrap_or_else(|| "-".into()),
        f.window_fill_pct.map(|(lo, hi)| format!("  {hi:.1}–{lo:.1}")).unwrap_or_default()
    );
}
