//! `desksync serve`: the long-running service. Each pipeline with a `schedule` runs on its
//! cron schedule; an HTTP endpoint reports health, readiness, metrics and status.
//!
//! * **Schedules.** Each pipeline waits for its next cron time plus a fixed per-pipeline jitter
//!   (a hash of its name, up to `jitter_max` and a tenth of its interval), so a hundred
//!   accounts on `0 */15 * * * *` do not all start in the same second.
//! * **Missed runs.** After downtime a pipeline runs **once** at start-up if its last run
//!   started before the schedule's latest due time, never once per missed slot.
//! * **Overlap.** A pipeline never runs twice at once, also across processes (its
//!   [`crate::app::run::PipelineLock`]); a firing that finds it running elsewhere is skipped
//!   with a log line. Different pipelines run concurrently up to `max_concurrent_runs`.
//! * **Shutdown.** The first SIGTERM/SIGINT stops starting runs and tells running ones to stop
//!   after the batch they are committing; `serve` waits up to `shutdown_deadline` for them and
//!   exits 0. A second signal exits at once; DuckDB rolls back an interrupted transaction, so
//!   nothing is corrupted either way.
//! * **HTTP** (default `127.0.0.1:9184`): `/healthz` (the process is alive), `/readyz`
//!   (configuration loaded and warehouse migrated, not shutting down), `/metrics`
//!   (Prometheus text), `/status` (JSON: each pipeline's last run, next run and watermarks).
//! * **Suspension.** A pipeline whose credentials the vendor refused is taken off the schedule
//!   (logged, `/status` `suspended`, `desksync_pipeline_suspended` = 1) until a reload brings a
//!   changed configuration for it, or the service restarts: LiveZilla locks an operator out for
//!   24 hours after five refused logins.
//! * **Configuration reload** on SIGHUP (`systemctl reload desksync`): the files are read and
//!   validated again; if they are valid, pipelines are rescheduled from them (runs in progress
//!   finish first; added pipelines start, removed ones stop being scheduled); if not, every
//!   problem is logged and the running configuration stays.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::app::run::run_pipeline;
use crate::config::{Config, PipelineConfig};
use crate::error::WarehouseError;
pub use crate::warehouse::LastRun;
use crate::warehouse::Warehouse;

/// How `serve` runs.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Where the HTTP endpoint listens. Default: `127.0.0.1:9184`.
    pub bind: SocketAddr,
    /// Pipelines running at once. Default: `4`.
    pub max_concurrent_runs: usize,
    /// How long a shutdown waits for running pipelines. Default: `60s`.
    pub shutdown_deadline: Duration,
    /// Largest start delay added to a pipeline's schedule. Default: `30s`.
    pub jitter_max: Duration,
    /// Where the configuration was read from, for reloads. Default: none (no reloads).
    pub config_path: Option<std::path::PathBuf>,
    /// Notified to reload the configuration (the binary wires SIGHUP to it).
    pub reload: Option<Arc<tokio::sync::Notify>>,
    /// Run only this instance's share of the pipelines. Default: all.
    pub shard: Option<Shard>,
}

/// `--shard i/N`: instance `i` of `N` runs the pipelines whose name hashes to it, so `N`
/// instances (each with its own warehouse, all writing one lake) split the pipelines without
/// coordinating. A pipeline's instance depends only on its name and `N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// 1-based.
    pub index: u32,
    pub count: u32,
}

impl std::str::FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("'{s}': give the instance and the number of instances as i/N, e.g. 1/3");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, count): (u32, u32) = (i.trim().parse().map_err(|_| bad())?, n.trim().parse().map_err(|_| bad())?);
        if count == 0 || index == 0 || index > count {
            return Err(format!("'{s}': i must be between 1 and N"));
        }
        Ok(Shard { index, count })
    }
}

impl Shard {
    /// Whether this instance runs pipeline `name`.
    pub fn owns(&self, name: &str) -> bool {
        use sha2::Digest;
        let h = sha2::Sha256::digest(name.as_bytes());
        let n = u64::from_be_bytes(h[..8].try_into().expect("8 bytes"));
        (n % u64::from(self.count)) as u32 == self.index - 1
    }

    /// Keep only this instance's pipelines.
    pub fn apply(&self, config: &mut Config) {
        let before: Vec<String> = config.pipelines.iter().map(|p| p.name.clone()).collect();
        config.pipelines.retain(|p| self.owns(&p.name));
        let mine: Vec<&String> = config.pipelines.iter().map(|p| &p.name).collect();
        tracing::info!(shard = %format!("{}/{}", self.index, self.count), of = before.len(), pipelines = ?mine, "this instance's share of the pipelines");
    }
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            bind: SocketAddr::from(([127, 0, 0, 1], 9184)),
            max_concurrent_runs: 4,
            shutdown_deadline: Duration::from_secs(60),
            jitter_max: Duration::from_secs(30),
            config_path: None,
            reload: None,
            shard: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("binding the HTTP endpoint on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error(transparent)]
    Warehouse(#[from] WarehouseError),
    #[error("no pipeline has a schedule: give at least one a `schedule = \"0 */15 * * * *\"` (cron with seconds)")]
    NothingScheduled,
}

/// What `/status` reports of one pipeline.
#[derive(Debug, Clone, Serialize, Default)]
pub struct PipelineStatus {
    pub pipeline: String,
    pub schedule: Option<String>,
    pub running: bool,
    pub next_run: Option<DateTime<Utc>>,
    pub last_run: Option<LastRun>,
    /// Stream → watermark after its last committed unit.
    pub watermarks: BTreeMap<String, Option<String>>,
    /// Why the pipeline is not being run (the vendor refused its credentials), until its
    /// configuration changes (reload) or the service restarts.
    pub suspended: Option<String>,
}

/// A pipeline taken off the schedule, and the configuration it was taken off with.
#[derive(Debug, Clone)]
struct Suspension {
    fingerprint: String,
    reason: String,
}

struct Shared {
    config: Mutex<Arc<Config>>,
    suspended: Mutex<BTreeMap<String, Suspension>>,
    status: Mutex<BTreeMap<String, PipelineStatus>>,
    /// Each pipeline's latest runs (newest first), refreshed with `status`, for the page.
    history: Mutex<BTreeMap<String, Vec<crate::warehouse::RunRecord>>>,
    /// Samples of each pipeline's request counter (when, count) over the last minute or so.
    pace_samples: Mutex<BTreeMap<String, std::collections::VecDeque<(std::time::Instant, u64)>>>,
    ready: Mutex<bool>,
    warehouse: Warehouse,
}

/// Runs the status page charts.
const PAGE_RUNS: usize = 20;

/// A pipeline's fixed start delay: a hash of its name, at most `max` and a tenth of the
/// schedule's interval.
pub fn jitter(pipeline: &str, schedule: &cron::Schedule, max: Duration) -> Duration {
    let mut it = schedule.upcoming(Utc);
    let interval = match (it.next(), it.next()) {
        (Some(a), Some(b)) => (b - a).to_std().unwrap_or_default(),
        _ => max,
    };
    let cap = max.min(interval / 10);
    if cap.is_zero() {
        return Duration::ZERO;
    }
    let h = pipeline.bytes().fold(1469598103934665603u64, |h, b| (h ^ b as u64).wrapping_mul(1099511628211));
    Duration::from_millis(h % cap.as_millis().max(1) as u64)
}

/// The latest due time of `schedule` at or before `now` (within a year).
fn latest_due(schedule: &cron::Schedule, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    // Look back a minute, then an hour, a day, a month, a year: the first window with a due
    // time has the latest one, and a frequent schedule never walks far.
    for back in [60, 3_600, 86_400, 31 * 86_400, 366 * 86_400] {
        let last = schedule.after(&(now - chrono::Duration::seconds(back))).take_while(|t| *t <= now).last();
        if last.is_some() {
            return last;
        }
    }
    None
}

/// Run the service until `shutdown` is cancelled; `bound` learns the HTTP address.
pub async fn serve(
    mut config: Config,
    options: ServeOptions,
    shutdown: CancellationToken,
    bound: Option<tokio::sync::oneshot::Sender<SocketAddr>>,
) -> Result<(), ServeError> {
    if let Some(shard) = &options.shard {
        shard.apply(&mut config);
    }
    let warehouse = Warehouse::from_settings(&config.warehouse_path, &config.settings.warehouse);
    if scheduled(&config).is_empty() {
        return Err(ServeError::NothingScheduled);
    }
    let shared = Arc::new(Shared {
        status: Mutex::new(BTreeMap::new()),
        history: Mutex::new(BTreeMap::new()),
        pace_samples: Mutex::new(BTreeMap::new()),
        suspended: Mutex::new(BTreeMap::new()),
        config: Mutex::new(Arc::new(config)),
        ready: Mutex::new(false),
        warehouse: warehouse.clone(),
    });
    let listener = tokio::net::TcpListener::bind(options.bind)
        .await
        .map_err(|source| ServeError::Bind { addr: options.bind, source })?;
    let addr = listener.local_addr().map_err(|source| ServeError::Bind { addr: options.bind, source })?;
    tracing::info!(%addr, "serving /healthz /readyz /metrics /status");
    if let Some(tx) = bound {
        let _ = tx.send(addr);
    }
    let http_stop = CancellationToken::new();
    let app = Router::new()
        .route("/", get(status_page))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/status", get(status))
        .with_state(shared.clone());
    let stop = http_stop.clone();
    let http = tokio::spawn(async move {
        let _ = axum::serve(listener, app).with_graceful_shutdown(async move { stop.cancelled().await }).await;
    });
    warehouse.migrate().await?;

    let slots = Arc::new(tokio::sync::Semaphore::new(options.max_concurrent_runs.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    let reload = options.reload.clone().unwrap_or_default();
    loop {
        // One generation of pipeline loops per configuration; a reload ends the generation's
        // scheduling (a run in progress still finishes) and starts the next one.
        let generation = shutdown.child_token();
        let config = shared.config.lock().expect("config lock").clone();
        reset_status(&shared, &config);
        refresh_status(&shared).await;
        for p in &config.pipelines {
            crate::telemetry::pipeline_registered(
                &p.name,
                &p.streams,
                &crate::app::run::RunStatus::ALL.map(|s| s.as_str()),
            );
        }
        *shared.ready.lock().expect("ready lock") = true;
        for (p, schedule) in scheduled(&config) {
            if still_suspended(&shared, &p) {
                continue;
            }
            let (shared, slots, shutdown, generation, options) =
                (shared.clone(), slots.clone(), shutdown.clone(), generation.clone(), options.clone());
            tasks.spawn(async move { pipeline_loop(p, schedule, shared, slots, shutdown, generation, options).await });
        }
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = reload.notified() => {}
        }
        let Some(path) = &options.config_path else {
            tracing::warn!("reload requested, but serve was not given its configuration path");
            continue;
        };
        tracing::info!(path = %path.display(), "reloading the configuration (SIGHUP)");
        let reloaded = crate::sources::load_config(path).map(|mut new| {
            if let Some(shard) = &options.shard {
                shard.apply(&mut new);
            }
            new
        });
        match reloaded {
            Ok(new) if !scheduled(&new).is_empty() => {
                let old = shared.config.lock().expect("config lock").clone();
                let names = |c: &Config| c.pipelines.iter().map(|p| p.name.clone()).collect::<Vec<_>>();
                let (before, after) = (names(&old), names(&new));
                let added: Vec<&String> = after.iter().filter(|n| !before.contains(n)).collect();
                let removed: Vec<&String> = before.iter().filter(|n| !after.contains(n)).collect();
                tracing::info!(
                    path = %path.display(), pipelines = new.pipelines.len(), ?added, ?removed,
                    "configuration reloaded and applied"
                );
                generation.cancel();
                *shared.config.lock().expect("config lock") = Arc::new(new);
            }
            Ok(_) => tracing::error!("configuration not reloaded: no pipeline has a schedule; keeping the running one"),
            Err(e) => {
                for problem in &e.0 {
                    tracing::error!(file = %problem.file.display(), key = %problem.key, "configuration problem: {}", problem.message);
                }
                tracing::error!(problems = e.0.len(), "configuration not reloaded, keeping the running one");
            }
        }
    }
    shutdown.cancelled().await;
    *shared.ready.lock().expect("ready lock") = false;
    tracing::info!(deadline = ?options.shutdown_deadline, "shutting down: no new runs; waiting for running ones");
    let drained =
        tokio::time::timeout(options.shutdown_deadline, async { while tasks.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        tracing::warn!("runs still going at the shutdown deadline; stopping them (their open transaction rolls back)");
        tasks.abort_all();
    }
    http_stop.cancel();
    let _ = http.await;
    Ok(())
}

async fn pipeline_loop(
    p: PipelineConfig,
    schedule: cron::Schedule,
    shared: Arc<Shared>,
    slots: Arc<tokio::sync::Semaphore>,
    shutdown: CancellationToken,
    generation: CancellationToken,
    options: ServeOptions,
) {
    let delay = jitter(&p.name, &schedule, options.jitter_max);
    // Missed while down: run once now, not once per missed slot.
    let last_started = shared.status.lock().expect("status lock").get(&p.name).and_then(|s| s.last_run.clone());
    let mut catch_up = match (latest_due(&schedule, Utc::now()), last_started) {
        (Some(due), Some(last)) => {
            DateTime::parse_from_rfc3339(&last.started_at).map(|t| t.with_timezone(&Utc) < due).unwrap_or(true)
        }
        (Some(_), None) => true,
        _ => false,
    };
    loop {
        let next = if catch_up {
            Utc::now()
        } else {
            match schedule.upcoming(Utc).next() {
                Some(t) => t + chrono::Duration::from_std(delay).unwrap_or_default(),
                None => return,
            }
        };
        if catch_up {
            tracing::info!(pipeline = %p.name, "a scheduled run was missed while desksync was down: running once now");
        }
        catch_up = false;
        if let Some(s) = shared.status.lock().expect("status lock").get_mut(&p.name) {
            s.next_run = Some(next);
        }
        let wait = (next - Utc::now()).to_std().unwrap_or_default();
        tokio::select! {
            _ = generation.cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
        }
        let permit = tokio::select! {
            _ = generation.cancelled() => return,
            p = slots.clone().acquire_owned() => p.expect("semaphore never closed"),
        };
        set_running(&shared, &p.name, true);
        let config = shared.config.lock().expect("config lock").clone();
        let mut suspend = None;
        match run_pipeline(&config, &p, shutdown.clone()).await {
            Ok(summary) => {
                tracing::info!(
                    pipeline = %p.name, status = %summary.status, rows = summary.rows_written,
                    requests = summary.requests, elapsed_ms = summary.elapsed.as_millis() as u64, "scheduled run finished"
                );
                suspend = summary.credentials_refused;
            }
            Err(WarehouseError::PipelineBusy { holder, .. }) => {
                tracing::warn!(pipeline = %p.name, "skipped: already running in another process{holder}")
            }
            Err(e) => tracing::error!(pipeline = %p.name, "run could not start or be recorded: {e}"),
        }
        drop(permit);
        set_running(&shared, &p.name, false);
        refresh_status(&shared).await;
        if let Some(reason) = suspend {
            // Trying again at every slot cannot succeed and can lock the login out (LiveZilla:
            // five refusals within 24 hours): wait for a changed configuration or a restart.
            crate::telemetry::pipeline_suspended(&p.name, &reason);
            shared
                .suspended
                .lock()
                .expect("suspended lock")
                .insert(p.name.clone(), Suspension { fingerprint: p.fingerprint(), reason: reason.clone() });
            if let Some(s) = shared.status.lock().expect("status lock").get_mut(&p.name) {
                s.suspended = Some(reason);
                s.next_run = None;
            }
            return;
        }
        if generation.is_cancelled() {
            return;
        }
    }
}

/// Whether `p` stays suspended in a new generation: it was suspended with this very
/// configuration. A changed configuration lifts the suspension.
fn still_suspended(shared: &Shared, p: &PipelineConfig) -> bool {
    let mut suspended = shared.suspended.lock().expect("suspended lock");
    match suspended.get(&p.name) {
        Some(s) if s.fingerprint == p.fingerprint() => {
            if let Some(st) = shared.status.lock().expect("status lock").get_mut(&p.name) {
                st.suspended = Some(s.reason.clone());
            }
            tracing::warn!(pipeline = %p.name, "still suspended: its configuration did not change ({})", s.reason);
            true
        }
        Some(_) => {
            suspended.remove(&p.name);
            crate::telemetry::pipeline_resumed(&p.name);
            false
        }
        None => false,
    }
}

/// The pipelines of `config` that have a valid schedule.
fn scheduled(config: &Config) -> Vec<(PipelineConfig, cron::Schedule)> {
    for p in config.pipelines.iter().filter(|p| p.schedule.is_none()) {
        tracing::warn!(pipeline = %p.name, "no schedule: serve will not run it (desksync run does)");
    }
    config
        .pipelines
        .iter()
        .filter_map(|p| {
            let s = p.schedule.as_deref()?;
            cron::Schedule::from_str(s).ok().map(|sch| (p.clone(), sch))
        })
        .collect()
}

/// Status entries for exactly the pipelines of `config` (keeping what is known of them).
fn reset_status(shared: &Shared, config: &Config) {
    let mut map = shared.status.lock().expect("status lock");
    let old = std::mem::take(&mut *map);
    for p in &config.pipelines {
        let mut s = old.get(&p.name).cloned().unwrap_or_default();
        s.pipeline = p.name.clone();
        s.schedule = p.schedule.clone();
        s.next_run = None;
        s.suspended = None;
        map.insert(p.name.clone(), s);
    }
}

fn set_running(shared: &Shared, pipeline: &str, running: bool) {
    if let Some(s) = shared.status.lock().expect("status lock").get_mut(pipeline) {
        s.running = running;
    }
}

/// Read last runs and watermarks from the warehouse into the status map.
async fn refresh_status(shared: &Shared) {
    let config = shared.config.lock().expect("config lock").clone();
    let names: Vec<String> = config.pipelines.iter().map(|p| p.name.clone()).collect();
    for name in names {
        let runs = shared.warehouse.last_run(&name).await;
        let states = shared.warehouse.show_state(&name).await;
        if let Ok(h) = shared.warehouse.runs(Some(&name), PAGE_RUNS).await {
            shared.history.lock().expect("history lock").insert(name.clone(), h);
        }
        let mut map = shared.status.lock().expect("status lock");
        let Some(s) = map.get_mut(&name) else { continue };
        if let Ok(r) = runs {
            s.last_run = r;
        }
        if let Ok(states) = states {
            s.watermarks = states.into_iter().map(|(stream, wm, _, _)| (stream, wm)).collect();
        }
    }
}

async fn readyz(State(shared): State<Arc<Shared>>) -> Response {
    if *shared.ready.lock().expect("ready lock") {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready\n").into_response()
    }
}

async fn metrics() -> Response {
    (
        StatusCode::OK,
        [("content-type", "application/openmetrics-text; version=1.0.0; charset=utf-8")],
        crate::telemetry::METRICS.encode(),
    )
        .into_response()
}

/// `/`: the HTML status page, from memory only.
async fn status_page(State(shared): State<Arc<Shared>>) -> Response {
    let now = std::time::Instant::now();
    let statuses: Vec<PipelineStatus> = shared.status.lock().expect("status lock").values().cloned().collect();
    let history = shared.history.lock().expect("history lock").clone();
    let config = shared.config.lock().expect("config lock").clone();
    let mut observed = BTreeMap::new();
    {
        let mut samples = shared.pace_samples.lock().expect("pace lock");
        for s in &statuses {
            let q = samples.entry(s.pipeline.clone()).or_default();
            q.push_back((now, crate::telemetry::requests_sent(&s.pipeline)));
            while q.len() > 2 && q.get(1).is_some_and(|(t, _)| now.duration_since(*t) >= Duration::from_secs(60)) {
                q.pop_front();
            }
            if let (Some((t0, c0)), Some((t1, c1))) = (q.front(), q.back()) {
                let secs = t1.duration_since(*t0).as_secs_f64();
                if secs >= 1.0 {
                    observed.insert(s.pipeline.clone(), (c1 - c0) as f64 * 60.0 / secs);
                }
            }
        }
    }
    let empty = Vec::new();
    let views: Vec<crate::app::status_page::PipelineView> = statuses
        .iter()
        .map(|s| crate::app::status_page::PipelineView {
            status: s,
            config: config.pipeline(&s.pipeline),
            history: history.get(&s.pipeline).unwrap_or(&empty),
            observed_per_minute: observed.get(&s.pipeline).copied(),
        })
        .collect();
    let page = crate::app::status_page::render(&views, Utc::now());
    ([("content-type", "text/html; charset=utf-8"), ("cache-control", "no-store")], page).into_response()
}

async fn status(State(shared): State<Arc<Shared>>) -> Response {
    let list: Vec<PipelineStatus> = shared.status.lock().expect("status lock").values().cloned().collect();
    axum::Json(list).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_is_stable_and_bounded() {
        let every_15 = cron::Schedule::from_str("0 */15 * * * *").unwrap();
        let a = jitter("acme", &every_15, Duration::from_secs(30));
        assert_eq!(a, jitter("acme", &every_15, Duration::from_secs(30)));
        assert!(a < Duration::from_secs(30));
        assert_ne!(a, jitter("globex", &every_15, Duration::from_secs(30)));
        // A schedule every second gets at most a tenth of a second.
        let every_second = cron::Schedule::from_str("* * * * * *").unwrap();
        assert!(jitter("acme", &every_second, Duration::from_secs(30)) < Duration::from_millis(100));
    }

    #[test]
    fn latest_due_time() {
        let hourly = cron::Schedule::from_str("0 0 * * * *").unwrap();
        let now = DateTime::parse_from_rfc3339("2026-11-22T10:30:00Z").unwrap().with_timezone(&Utc);
        assert_eq!(latest_due(&hourly, now).unwrap().to_rfc3339(), "2026-11-22T10:00:00+00:00");
    }
}
