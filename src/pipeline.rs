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
}

impl StreamCtx {
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
        let warehouse = self.warehouse.clone();
        PendingCommit { handle: tokio::spawn(async move { warehouse.commit(unit).await }), state }
    }

    /// Wait for a started commit and account for it.
    pub async fn finish_commit(&mut self, pending: PendingCommit) -> Result<(), SyncError> {
        let stats = pending.handle.await.map_err(|e| WarehouseError::Task(e.to_string()))??;
        self.rows_written += stats.rows_written;
        self.quarantined += stats.quarantined;
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
}

/// How one stream of a run went.
#[derive(Debug, Clone, Serialize)]
pub struct StreamSummary {
    pub stream: String,
    pub status: &'static str,
    pub rows: u64,
    pub requests: u64,
    pub retries: u64,
    pub throttled: u64,
    pub quarantined: u64,
    pub elapsed_ms: u64,
    pub watermark: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// How a run went.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    pub run_id: String,
    pub pipeline: String,
    pub status: &'static str,
    pub rows_written: u64,
    pub requests: u64,
    pub elapsed: Duration,
    pub streams: Vec<StreamSummary>,
    pub error: Option<String>,
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

/// After loading: rewrite the lake partitions that changed, and publish the analysts' snapshot
/// when something changed (or none exists yet). Returns what failed, if anything (both are
/// retried by the next run).
pub async fn after_load(
    config: &Config,
    warehouse: &Warehouse,
    pipeline: &str,
    run_id: &str,
    changed: u64,
) -> Option<String> {
    let mut error = None;
    if config.settings.lake.enabled
        && let Err(e) =
            lake::export_dirty(warehouse, &config.lake_path, config.settings.lake.row_group_rows, run_id).await
    {
        tracing::error!(pipeline, "refreshing the Parquet lake failed (retried next run): {e}");
        error = Some(format!("lake: {e}"));
    }
    if let Some(target) = &config.publish_path
        && (changed > 0 || !target.exists())
    {
        match warehouse.publish(target).await {
            Ok(bytes) => tracing::info!(pipeline, path = %target.display(), bytes, "analytics snapshot published"),
            Err(e) => {
                tracing::error!(pipeline, "publishing the analytics snapshot failed (retried next run): {e}");
                error.get_or_insert(format!("publish: {e}"));
            }
        }
    }
    error
}

/// Run one incremental pass of `p`.
pub async fn run_pipeline(
    config: &Config,
    p: &PipelineConfig,
    shutdown: CancellationToken,
) -> Result<RunSummary, WarehouseError> {
    let _lock = PipelineLock::acquire(&config.warehouse_path, &p.name)?;
    let started = Instant::now();
    let warehouse = Warehouse::from_settings(&config.warehouse_path, &config.settings.warehouse);
    warehouse.migrate().await?;
    let run_id = uuid::Uuid::now_v7().to_string();
    warehouse.start_run(&run_id, &p.name).await?;
    tracing::info!(pipeline = %p.name, run_id, "run started");

    let source = Source::new(p, crate::sources::http_client(p));
    let mut infos: Vec<_> =
        sources::streams(p.source).into_iter().filter(|s| p.streams.iter().any(|n| n == s.name)).collect();
    infos.sort_by_key(|s| s.order);
    source.preflight().await;
    // Streams run `sync.stream_concurrency` at a time, in order; merged streams (built from
    // what the others loaded, like LiveAgent agents) run after all of them.
    let run_one = |info: sources::StreamInfo| {
        let (source, warehouse, shutdown, run_id) = (&source, &warehouse, &shutdown, &run_id);
        async move {
            if shutdown.is_cancelled() {
                return Ok(None);
            }
            let t0 = Instant::now();
            let counters = std::sync::Arc::new(crate::http::HttpCounters::default());
            let state = warehouse.load_state(&p.name, info.name).await?;
            let mut ctx = StreamCtx {
                pipeline: p.name.clone(),
                stream: info.name.to_string(),
                source: p.source.name(),
                account: p.account.clone(),
                run_id: run_id.clone(),
                selected: p.streams.clone(),
                state,
                sync: p.sync.clone(),
                timezone: p.timezone,
                filter_timezone: p.filter_timezone,
                start_date: p.start_date,
                window: None,
                shutdown: shutdown.clone(),
                warehouse: warehouse.clone(),
                rows_written: 0,
                quarantined: 0,
            };
            let result = crate::http::counted(counters.clone(), source.sync_stream(info.name, &mut ctx)).await;
            let used: CounterSnapshot = counters.snapshot();
            let (status, error) = match &result {
                Ok(()) => ("succeeded", None),
                Err(SyncError::Cancelled) => ("cancelled", Some("stopped by shutdown".to_string())),
                Err(e) => ("failed", Some(e.to_string())),
            };
            if let Some(e) = &error {
                telemetry::stream_failed(&p.name, info.name, e);
            } else {
                telemetry::stream_finished(&p.name, info.name, ctx.rows_written, used.requests, t0.elapsed());
            }
            if let Some(c) = ctx.state.cursor {
                telemetry::watermark_lag(&p.name, info.name, (Utc::now() - c).to_std().unwrap_or_default());
            }
            Ok::<_, WarehouseError>(Some(StreamSummary {
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
            }))
        }
    };
    let runnable: Vec<_> = infos.iter().filter(|i| i.mode != SyncMode::ChildOfChanged).cloned().collect();
    let (first, last): (Vec<_>, Vec<_>) = runnable.into_iter().partition(|i| i.mode != SyncMode::Merged);
    let mut summaries: Vec<StreamSummary> = Vec::new();
    for wave in [first, last] {
        let mut done: Vec<StreamSummary> = futures::stream::iter(wave.into_iter().map(run_one))
            .buffer_unordered(p.sync.stream_concurrency.max(1))
            .try_collect::<Vec<_>>()
            .await?
            .into_iter()
            .flatten()
            .collect();
        // Report in the order streams are declared, whichever finished first.
        done.sort_by_key(|s| infos.iter().position(|i| i.name == s.stream));
        summaries.extend(done);
    }

    let mut run_error = summaries.iter().find_map(|s| s.error.clone().map(|e| format!("{}: {e}", s.stream)));
    if config.settings.lake.enabled
        && let Err(e) =
            lake::export_dirty(&warehouse, &config.lake_path, config.settings.lake.row_group_rows, &run_id).await
    {
        tracing::error!(pipeline = %p.name, "refreshing the Parquet lake failed (retried next run): {e}");
        run_error.get_or_insert(format!("lake: {e}"));
    }
    // The analysts' snapshot: published when this run changed something (or none exists yet).
    let changed: u64 = summaries.iter().map(|s| s.rows).sum();
    if let Some(target) = &config.publish_path
        && (changed > 0 || !target.exists())
    {
        match warehouse.publish(target).await {
            Ok(bytes) => {
                tracing::info!(pipeline = %p.name, path = %target.display(), bytes, "analytics snapshot published")
            }
            Err(e) => {
                tracing::error!(pipeline = %p.name, "publishing the analytics snapshot failed (retried next run): {e}");
                run_error.get_or_insert(format!("publish: {e}"));
            }
        }
    }
    let failed = summaries.iter().filter(|s| s.status != "succeeded").count();
    let status = if summaries.iter().any(|s| s.status == "cancelled") {
        "cancelled"
    } else if failed == 0 && run_error.is_none() {
        "succeeded"
    } else if failed == summaries.len() {
        "failed"
    } else {
        "partial"
    };
    let rows: u64 = summaries.iter().map(|s| s.rows).sum();
    let requests = source.http().snapshot().requests;
    let streams_json = serde_json::to_string(&summaries).unwrap_or_default();
    warehouse.finish_run(&run_id, status, rows, requests, streams_json, run_error.clone()).await?;
    telemetry::run_finished(&p.name, &run_id, status, rows, requests, started.elapsed());
    Ok(RunSummary {
        run_id,
        pipeline: p.name.clone(),
        status,
        rows_written: rows,
        requests,
        elapsed: started.elapsed(),
        streams: summaries,
        error: run_error,
    })
}
