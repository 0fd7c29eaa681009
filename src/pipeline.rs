//! The pipeline runner: one run of one pipeline = every selected stream in order, each loaded in
//! bounded, transactional units through [`StreamCtx::commit`], then the lake refreshed and the run
//! recorded in `_desksync_runs`.
//!
//! A stream that fails leaves its state where its last committed unit put it; the other streams
//! still run, and the run is recorded as `partial` with the reason. Shutdown is passed in as a
//! [`CancellationToken`]: sources check it between pages and while waiting on the network, and a
//! unit that has started committing always finishes (commits run on a blocking thread that is
//! never abandoned half-way).

use std::time::{Duration, Instant};

use chrono::Utc;
use futures::{StreamExt, TryStreamExt};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::config::{Config, PipelineConfig, SyncSettings};
use crate::error::{SyncError, WarehouseError};
use crate::http::CounterSnapshot;
use crate::lake;
use crate::model::Table;
use crate::sources::{self, Source, SyncMode};
use crate::state::StreamState;
use crate::telemetry;
use crate::warehouse::{LoadUnit, Warehouse};

/// What a stream's sync code sees: its state, settings and the way to commit.
pub struct StreamCtx {
    pub pipeline: String,
    pub stream: String,
    pub source: &'static str,
    pub account: String,
    pub run_id: String,
    /// Streams selected in this pipeline (a parent checks whether its children are wanted).
    pub selected: Vec<String>,
    /// The state as last committed.
    pub state: StreamState,
    pub sync: SyncSettings,
    pub timezone: chrono_tz::Tz,
    pub filter_timezone: chrono_tz::Tz,
    pub start_date: Option<chrono::NaiveDate>,
    /// Backfill: the `[start, end)` window this stream loads instead of its incremental pass.
    /// Units committed in a window never change the stream's state (the backfill ledger
    /// records the window instead), so backfills and incremental runs cannot disturb each other.
    pub window: Option<(chrono::DateTime<Utc>, chrono::DateTime<Utc>)>,
    pub shutdown: CancellationToken,
    pub warehouse: Warehouse,
    pub rows_written: u64,
    pub quarantined: u64,
    /// Whether a commit changed anything besides rows (state, ledger windows, quarantine): the
    /// analysts' snapshot is published when something changed.
    pub bookkeeping_changed: bool,
    /// The run's live counters, when someone shows progress.
    pub progress: Option<std::sync::Arc<RunProgress>>,
}

impl StreamCtx {
    /// The context of `stream` of pipeline `p` in run `run_id` (a backfill passes its window).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        p: &PipelineConfig,
        stream: &str,
        run_id: &str,
        state: StreamState,
        warehouse: &Warehouse,
        shutdown: &CancellationToken,
        window: Option<(chrono::DateTime<Utc>, chrono::DateTime<Utc>)>,
        progress: Option<std::sync::Arc<RunProgress>>,
    ) -> StreamCtx {
        StreamCtx {
            pipeline: p.name.clone(),
            stream: stream.to_string(),
            source: p.source.name(),
            account: p.account.clone(),
            run_id: run_id.to_string(),
            selected: p.streams.clone(),
            state,
            sync: p.sync.clone(),
            timezone: p.timezone,
            filter_timezone: p.filter_timezone,
            start_date: p.start_date,
            window,
            shutdown: shutdown.clone(),
            warehouse: warehouse.clone(),
            rows_written: 0,
            quarantined: 0,
            bookkeeping_changed: false,
            progress,
        }
    }

    pub fn wants(&self, stream: &str) -> bool {
        self.selected.iter().any(|s| s == stream)
    }

    /// Commit one unit (rows + quarantine + new state) in one transaction.
    pub async fn commit(&mut self, unit: LoadUnit) -> Result<(), SyncError> {
        let pending = self.start_commit(unit);
        self.finish_commit(pending).await
    }

    /// Start committing a unit on a blocking thread, so the caller can fetch the next batch
    /// meanwhile. Units must be finished in the order they were started; a started commit
    /// always runs to its end, even if the caller stops waiting.
    pub fn start_commit(&self, mut unit: LoadUnit) -> PendingCommit {
        if self.window.is_some() {
            unit.state = None;
        }
        unit.source = self.source;
        unit.account = self.account.clone();
        unit.pipeline = self.pipeline.clone();
        unit.stream = self.stream.clone();
        unit.run_id = self.run_id.clone();
        for q in &unit.quarantine {
            telemetry::quarantined(&self.pipeline, &self.stream, q.record_key.as_deref(), &q.reason);
        }
        let state = unit.state.clone();
        // Ledger windows re-pulled unchanged (report restatement) and full-refresh lists that
        // deleted nothing are no change an analyst can see; deletions count as rows written.
        let bookkeeping = state.as_ref().is_some_and(|s| *s != self.state) || !unit.quarantine.is_empty();
        let warehouse = self.warehouse.clone();
        PendingCommit { handle: tokio::spawn(async move { warehouse.commit(unit).await }), state, bookkeeping }
    }

    /// Wait for a started commit and account for it.
    pub async fn finish_commit(&mut self, pending: PendingCommit) -> Result<(), SyncError> {
        let stats = pending.handle.await.map_err(|e| WarehouseError::Task(e.to_string()))??;
        self.rows_written += stats.rows_written;
        self.quarantined += stats.quarantined;
        self.bookkeeping_changed |= pending.bookkeeping;
        if let Some(p) = &self.progress {
            p.rows.fetch_add(stats.rows_written, std::sync::atomic::Ordering::Relaxed);
        }
        telemetry::rows_written(&self.pipeline, &self.stream, stats.rows_written);
        if let Some(s) = pending.state {
            self.state = s;
        }
        Ok(())
    }

    /// Stored content hashes of `ids` in `table` for this source and account.
    pub async fn known_hashes(
        &self,
        table: Table,
        ids: Vec<String>,
    ) -> Result<std::collections::HashMap<String, Option<String>>, SyncError> {
        Ok(self.warehouse.known_hashes(table, self.source, &self.account, ids).await?)
    }

    /// Await `fut` unless shutdown is requested first.
    pub async fn guard<T, E: Into<SyncError>>(&self, fut: impl Future<Output = Result<T, E>>) -> Result<T, SyncError> {
        tokio::select! {
            biased;
            _ = self.shutdown.cancelled() => Err(SyncError::Cancelled),
            r = fut => r.map_err(Into::into),
        }
    }

    pub fn check_shutdown(&self) -> Result<(), SyncError> {
        if self.shutdown.is_cancelled() { Err(SyncError::Cancelled) } else { Ok(()) }
    }
}

/// A commit under way (see [`StreamCtx::start_commit`]).
pub struct PendingCommit {
    handle: tokio::task::JoinHandle<Result<crate::warehouse::LoadStats, WarehouseError>>,
    state: Option<StreamState>,
    bookkeeping: bool,
}

/// How one stream of a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StreamStatus {
    /// Read to its end; its watermark moved.
    Succeeded,
    /// Stopped by an error; its state stays where its last committed unit put it.
    Failed,
    /// Stopped by a shutdown after committing what it had.
    #[serde(alias = "cancelled")]
    Interrupted,
    /// Never began: the run was interrupted, the vendor unreachable, or the credentials refused
    /// before its turn.
    NotStarted,
}

impl StreamStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            StreamStatus::Succeeded => "succeeded",
            StreamStatus::Failed => "failed",
            StreamStatus::Interrupted => "interrupted",
            StreamStatus::NotStarted => "not_started",
        }
    }
}

/// How a run ended, as recorded in `_desksync_runs.status` (where a run cut off by a crash
/// shows as `abandoned` on the next start).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Every selected stream read to its end, the lake and the snapshot written.
    Succeeded,
    /// Some streams (or the lake, or the snapshot) failed; the rest succeeded.
    Partial,
    /// Nothing succeeded: every stream failed, or the run could not start (preflight, paths).
    Failed,
    /// Stopped by a signal: what was committed stays, the rest waits for the next run.
    Interrupted,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Succeeded => "succeeded",
            RunStatus::Partial => "partial",
            RunStatus::Failed => "failed",
            RunStatus::Interrupted => "interrupted",
        }
    }

    /// Every status a run can end with (for metrics present at 0 from the start).
    pub const ALL: [RunStatus; 4] =
        [RunStatus::Succeeded, RunStatus::Partial, RunStatus::Failed, RunStatus::Interrupted];
}

macro_rules! str_status {
    ($t:ty) => {
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl PartialEq<&str> for $t {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }
        impl PartialEq<str> for $t {
            fn eq(&self, other: &str) -> bool {
                self.as_str() == other
            }
        }
    };
}
str_status!(StreamStatus);
str_status!(RunStatus);

/// How one stream of a run went.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct StreamSummary {
    pub stream: String,
    pub status: StreamStatus,
    pub rows: u64,
    pub requests: u64,
    pub retries: u64,
    pub throttled: u64,
    pub quarantined: u64,
    pub elapsed_ms: u64,
    pub watermark: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl StreamSummary {
    fn not_started(stream: &str, reason: &str) -> StreamSummary {
        StreamSummary {
            stream: stream.to_string(),
            status: StreamStatus::NotStarted,
            rows: 0,
            requests: 0,
            retries: 0,
            throttled: 0,
            quarantined: 0,
            elapsed_ms: 0,
            watermark: None,
            error: Some(format!("not started: {reason}")),
        }
    }
}

/// How a run went.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    pub run_id: String,
    pub pipeline: String,
    pub status: RunStatus,
    pub rows_written: u64,
    pub requests: u64,
    pub elapsed: Duration,
    pub streams: Vec<StreamSummary>,
    pub error: Option<String>,
    /// The vendor refused the pipeline's credentials during this run (`serve` suspends such a
    /// pipeline rather than try again at every slot: LiveZilla locks an operator out after five).
    pub credentials_refused: Option<String>,
}

/// Live counters of a run, for a progress display: read them while the run goes on.
#[derive(Debug, Default)]
pub struct RunProgress {
    pub streams_total: std::sync::atomic::AtomicUsize,
    pub streams_done: std::sync::atomic::AtomicUsize,
    pub rows: std::sync::atomic::AtomicU64,
    /// The run's HTTP counters, set once its client exists.
    pub http: std::sync::OnceLock<std::sync::Arc<crate::http::HttpCounters>>,
    /// The account's current pace, requests per minute.
    pub pace_per_minute: std::sync::atomic::AtomicU32,
}

impl RunProgress {
    pub fn requests(&self) -> u64 {
        self.http.get().map(|c| c.snapshot().requests).unwrap_or(0)
    }
}

/// Held while a pipeline runs: an exclusive lock on `<warehouse>.locks/<pipeline>.lock`, so two
/// runs of one pipeline never overlap, whichever process (`serve`, `run`, `backfill`) starts
/// them. The operating system releases it when the process dies, so a crash leaves no stale lock.
pub struct PipelineLock {
    _file: std::fs::File,
}

impl PipelineLock {
    pub fn path(warehouse: &std::path::Path, pipeline: &str) -> std::path::PathBuf {
        let mut dir = warehouse.as_os_str().to_owned();
        dir.push(".locks");
        std::path::PathBuf::from(dir).join(format!("{pipeline}.lock"))
    }

    /// The lock, or `PipelineBusy` naming the process that holds it.
    pub fn acquire(warehouse: &std::path::Path, pipeline: &str) -> Result<PipelineLock, WarehouseError> {
        use fs4::fs_std::FileExt;
        use std::io::{Read, Seek, Write};
        let path = Self::path(warehouse, pipeline);
        let io = |e: std::io::Error| WarehouseError::Invalid(format!("pipeline lock {}: {e}", path.display()));
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let mut file =
            std::fs::OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path).map_err(io)?;
        if !file.try_lock_exclusive().map_err(io)? {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = holder.trim();
            return Err(WarehouseError::PipelineBusy {
                pipeline: pipeline.to_string(),
                holder: if holder.is_empty() { String::new() } else { format!(" (PID {holder})") },
                lock: path,
            });
        }
        file.set_len(0).map_err(io)?;
        file.rewind().map_err(io)?;
        write!(file, "{}", std::process::id()).map_err(io)?;
        Ok(PipelineLock { _file: file })
    }
}

/// Problems with where a run writes besides the warehouse (the lake root, the analysts'
/// snapshot), found before any request is sent, so a run never syncs everything only to fail
/// at the end.
pub fn check_output_paths(config: &Config) -> Vec<String> {
    let mut problems = Vec::new();
    let parent_ok = |what: &str, p: &std::path::Path, problems: &mut Vec<String>| {
        if let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty())
            && dir.exists()
            && !dir.is_dir()
        {
            problems.push(format!("{what} {}: {} is not a directory", p.display(), dir.display()));
        }
    };
    if config.warehouse_path.is_dir() {
        problems.push(format!(
            "warehouse.path {} is a directory; give the DuckDB file's path (e.g. warehouse.duckdb)",
            config.warehouse_path.display()
        ));
    }
    parent_ok("warehouse.path", &config.warehouse_path, &mut problems);
    if let Some(publish) = &config.publish_path {
        if publish.is_dir() {
            problems.push(format!(
                "warehouse.publish_path {} is a directory; give a file path (e.g. analytics.duckdb), or \"\" to not publish",
                publish.display()
            ));
        } else if publish == &config.warehouse_path {
            problems.push(format!("warehouse.publish_path {} is the warehouse itself", publish.display()));
        }
        parent_ok("warehouse.publish_path", publish, &mut problems);
    }
    if config.settings.lake.enabled {
        if config.lake_path.exists() && !config.lake_path.is_dir() {
            problems.push(format!(
                "lake.path {} is a file; give a directory (or set lake.enabled = false)",
                config.lake_path.display()
            ));
        }
        parent_ok("lake.path", &config.lake_path, &mut problems);
    }
    problems
}

/// Rewrite the lake partitions that changed; the error, if it failed (retried next run).
pub async fn export_lake(config: &Config, warehouse: &Warehouse, pipeline: &str, run_id: &str) -> Option<String> {
    if !config.settings.lake.enabled {
        return None;
    }
    match lake::export_dirty(warehouse, &config.lake_path, config.settings.lake.row_group_rows, run_id).await {
        Ok(_) => None,
        Err(e) => {
            tracing::error!(pipeline, "refreshing the Parquet lake failed (retried next run): {e}");
            Some(format!("lake: {e}"))
        }
    }
}

/// Publish the analysts' snapshot when `changed` (or none exists yet); the error, if it failed.
pub async fn publish_snapshot(config: &Config, warehouse: &Warehouse, pipeline: &str, changed: bool) -> Option<String> {
    let target = config.publish_path.as_ref()?;
    if !changed && target.exists() {
        return None;
    }
    match warehouse.publish(target).await {
        Ok(bytes) => {
            tracing::info!(pipeline, path = %target.display(), bytes, "analytics snapshot published");
            None
        }
        Err(e) => {
            tracing::error!(pipeline, "publishing the analytics snapshot failed (retried next run): {e}");
            Some(format!("publish: {e}"))
        }
    }
}

/// After loading outside a run (a backfill, `state reset`, `drop`): the lake, then the
/// snapshot when something changed. Returns what failed, if anything.
pub async fn after_load(
    config: &Config,
    warehouse: &Warehouse,
    pipeline: &str,
    run_id: &str,
    changed: bool,
) -> Option<String> {
    let lake = export_lake(config, warehouse, pipeline, run_id).await;
    let publish = publish_snapshot(config, warehouse, pipeline, changed).await;
    lake.or(publish)
}

/// Whether a preflight failure ends the run before any stream starts: the host cannot be
/// reached, does not answer, or refused the credentials. Anything else (a 403 on the check's
/// endpoint, an odd answer) is logged and the streams run, each reporting its own errors.
fn preflight_is_fatal(e: &SyncError, http: &crate::http::HttpClient) -> bool {
    match e {
        SyncError::Http(h) => h.host_unreachable() || h.timed_out() || http.refused().is_some(),
        _ => false,
    }
}

/// Run one incremental pass of `p`.
pub async fn run_pipeline(
    config: &Config,
    p: &PipelineConfig,
    shutdown: CancellationToken,
) -> Result<RunSummary, WarehouseError> {
    run_pipeline_observed(config, p, shutdown, None).await
}

/// [`run_pipeline`], with live counters in `progress` for a progress display.
pub async fn run_pipeline_observed(
    config: &Config,
    p: &PipelineConfig,
    shutdown: CancellationToken,
    progress: Option<std::sync::Arc<RunProgress>>,
) -> Result<RunSummary, WarehouseError> {
    use std::sync::atomic::Ordering;
    let path_problems = check_output_paths(config);
    if config.warehouse_path.is_dir() {
        return Err(WarehouseError::Invalid(path_problems.join("; ")));
    }
    let _lock = PipelineLock::acquire(&config.warehouse_path, &p.name)?;
    let started = Instant::now();
    let warehouse = Warehouse::from_settings(&config.warehouse_path, &config.settings.warehouse);
    warehouse.migrate().await?;
    let run_id = uuid::Uuid::now_v7().to_string();
    warehouse.start_run(&run_id, &p.name).await?;
    tracing::info!(pipeline = %p.name, run_id, "run started");

    let source = Source::new(p, crate::sources::http_client(p));
    if let Some(pr) = &progress {
        let _ = pr.http.set(source.http().counters.clone());
    }
    let mut infos: Vec<_> =
        sources::streams(p.source).into_iter().filter(|s| p.streams.iter().any(|n| n == s.name)).collect();
    infos.sort_by_key(|s| s.order);
    let runnable: Vec<_> = infos.iter().filter(|i| i.mode != SyncMode::ChildOfChanged).cloned().collect();
    if let Some(pr) = &progress {
        pr.streams_total.store(runnable.len(), Ordering::Relaxed);
    }

    // Before any request: the paths the run writes, then one cheap authenticated request, so a
    // wrong path, a dead host or refused credentials end the run in seconds, with one message.
    let fatal: Option<(RunStatus, String)> = if !path_problems.is_empty() {
        Some((RunStatus::Failed, path_problems.join("; ")))
    } else {
        tokio::select! {
            biased;
            _ = shutdown.cancelled() => Some((RunStatus::Interrupted, "stopped by a signal before the first stream".into())),
            checked = source.preflight() => match checked {
                Ok(()) => None,
                Err(e) if preflight_is_fatal(&e, source.http()) => Some((RunStatus::Failed, e.to_string())),
                Err(e) => {
                    tracing::warn!(pipeline = %p.name, "preflight check failed; running the streams anyway: {e}");
                    None
                }
            },
        }
    };

    let mut summaries: Vec<StreamSummary> = Vec::new();
    let mut bookkeeping = false;
    if let Some((_, reason)) = &fatal {
        telemetry::run_refused(&p.name, reason);
        summaries = runnable.iter().map(|i| StreamSummary::not_started(i.name, reason)).collect();
    } else {
        // Streams run `sync.stream_concurrency` at a time, in order; merged streams (built from
        // what the others loaded, like LiveAgent agents) run after all of them.
        let run_one = |info: sources::StreamInfo| {
            let (source, warehouse, shutdown, run_id, progress) = (&source, &warehouse, &shutdown, &run_id, &progress);
            async move {
                if shutdown.is_cancelled() {
                    return Ok((StreamSummary::not_started(info.name, "the run was interrupted"), false));
                }
                if let Some(e) = source.http().refused() {
                    return Ok((
                        StreamSummary::not_started(info.name, &format!("the vendor refused the credentials: {e}")),
                        false,
                    ));
                }
                if let Some(e) = source.http().host_down() {
                    return Ok((
                        StreamSummary::not_started(info.name, &format!("the vendor became unreachable: {e}")),
                        false,
                    ));
                }
                let t0 = Instant::now();
                let counters = std::sync::Arc::new(crate::http::HttpCounters::default());
                let state = warehouse.load_state(&p.name, info.name).await?;
                let mut ctx = StreamCtx::new(p, info.name, run_id, state, warehouse, shutdown, None, progress.clone());
                let result = crate::http::counted(counters.clone(), source.sync_stream(info.name, &mut ctx)).await;
                let used: CounterSnapshot = counters.snapshot();
                let (status, error) = match &result {
                    Ok(()) => (StreamStatus::Succeeded, None),
                    Err(SyncError::Cancelled) => {
                        (StreamStatus::Interrupted, Some("interrupted by a signal after its last commit".to_string()))
                    }
                    Err(e) => (StreamStatus::Failed, Some(e.to_string())),
                };
                match (&status, &error) {
                    (StreamStatus::Failed, Some(e)) => telemetry::stream_failed(&p.name, info.name, e),
                    (StreamStatus::Interrupted, _) => {
                        telemetry::stream_interrupted(&p.name, info.name, ctx.rows_written)
                    }
                    _ => telemetry::stream_finished(&p.name, info.name, ctx.rows_written, used.requests, t0.elapsed()),
                }
                if let Some(c) = ctx.state.cursor {
                    telemetry::watermark_lag(&p.name, info.name, (Utc::now() - c).to_std().unwrap_or_default());
                }
                if let Some(pr) = progress {
                    pr.streams_done.fetch_add(1, Ordering::Relaxed);
                    pr.pace_per_minute.store(source.http().throttle.current_per_minute(), Ordering::Relaxed);
                }
                Ok::<_, WarehouseError>((
                    StreamSummary {
                        stream: info.name.to_string(),
                        status,
                        rows: ctx.rows_written,
                        requests: used.requests,
                        retries: used.retries,
                        throttled: used.throttled,
                        quarantined: ctx.quarantined,
                        elapsed_ms: t0.elapsed().as_millis() as u64,
                        watermark: ctx.state.watermark_text(),
                        error,
                    },
                    ctx.bookkeeping_changed,
                ))
            }
        };
        let (first, last): (Vec<_>, Vec<_>) = runnable.iter().cloned().partition(|i| i.mode != SyncMode::Merged);
        for wave in [first, last] {
            let done: Vec<(StreamSummary, bool)> = futures::stream::iter(wave.into_iter().map(run_one))
                .buffer_unordered(p.sync.stream_concurrency.max(1))
                .try_collect()
                .await?;
            for (s, b) in done {
                bookkeeping |= b;
                summaries.push(s);
            }
        }
        // Report in the order streams are declared, whichever finished first.
        summaries.sort_by_key(|s| infos.iter().position(|i| i.name == s.stream));
    }

    let mut run_error = match &fatal {
        Some((_, reason)) => Some(reason.clone()),
        None => summaries
            .iter()
            .find(|s| s.status == StreamStatus::Failed)
            .or_else(|| summaries.iter().find(|s| s.status != StreamStatus::Succeeded))
            .and_then(|s| s.error.clone().map(|e| format!("{}: {e}", s.stream))),
    };
    let rows: u64 = summaries.iter().map(|s| s.rows).sum();
    if fatal.is_none()
        && let Some(e) = export_lake(config, &warehouse, &p.name, &run_id).await
    {
        run_error.get_or_insert(e);
    }
    let interrupted = shutdown.is_cancelled()
        && summaries.iter().any(|s| matches!(s.status, StreamStatus::Interrupted | StreamStatus::NotStarted));
    let failed = summaries.iter().filter(|s| s.status == StreamStatus::Failed).count();
    let mut status = match &fatal {
        Some((status, _)) => *status,
        None if interrupted => RunStatus::Interrupted,
        None if failed == 0 && run_error.is_none() => RunStatus::Succeeded,
        None if failed > 0 && failed == summaries.len() => RunStatus::Failed,
        None => RunStatus::Partial,
    };
    if status == RunStatus::Interrupted {
        let skipped: Vec<&str> = summaries
            .iter()
            .filter(|s| matches!(s.status, StreamStatus::Interrupted | StreamStatus::NotStarted))
            .map(|s| s.stream.as_str())
            .collect();
        let named = match skipped.len() {
            0..=6 => skipped.join(", "),
            n => format!("{} and {} more", skipped[..5].join(", "), n - 5),
        };
        run_error = Some(format!(
            "interrupted by a signal: {} of {} streams did not finish ({named}); the next run resumes them",
            skipped.len(),
            summaries.len(),
        ));
    }
    let requests = source.http().snapshot().requests;
    let streams_json = serde_json::to_string(&summaries).unwrap_or_default();
    // The run is recorded before the snapshot is published, so the snapshot shows it final.
    warehouse.finish_run(&run_id, status.as_str(), rows, requests, streams_json.clone(), run_error.clone()).await?;
    if fatal.is_none()
        && let Some(e) = publish_snapshot(config, &warehouse, &p.name, rows > 0 || bookkeeping).await
    {
        if status == RunStatus::Succeeded {
            status = RunStatus::Partial;
        }
        run_error = Some(match run_error {
            Some(prev) => format!("{prev}; {e}"),
            None => e,
        });
        warehouse.finish_run(&run_id, status.as_str(), rows, requests, streams_json, run_error.clone()).await?;
    }
    telemetry::run_finished(&p.name, &run_id, status.as_str(), rows, requests, started.elapsed());
    Ok(RunSummary {
        run_id,
        pipeline: p.name.clone(),
        status,
        rows_written: rows,
        requests,
        elapsed: started.elapsed(),
        streams: summaries,
        error: run_error,
        credentials_refused: source.http().refused().map(|e| e.to_string()),
    })
}
