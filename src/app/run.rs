//! The pipeline runner: one run of one pipeline = every selected stream in order, each loaded in
//! bounded, transactional units through [`StreamCtx::commit`], then the lake refreshed and the run
//! recorded in `_desksync_runs`.
//!
//! A stream that fails leaves its state where its last committed unit put it; the other streams
//! still run, and the run is recorded as `partial` with the reason. Shutdown is passed in as a
//! [`CancellationToken`]: sources check it between pages and while waiting on the network, and a
//! unit that has started committing always finishes (commits run on a blocking thread that is
//! never abandoned half-way).

use std::time::Instant;

use chrono::Utc;
use futures::{StreamExt, TryStreamExt};
use tokio_util::sync::CancellationToken;

use crate::config::{Config, PipelineConfig};
use crate::error::{SyncError, WarehouseError};
use crate::http::CounterSnapshot;
use crate::lake;
use crate::sources::{self, Source, SyncMode};
use crate::telemetry;
use crate::warehouse::Warehouse;

pub use crate::engine::{RunProgress, StreamCtx};
pub use crate::outcome::{RunStatus, RunSummary, StreamStatus, StreamSummary};

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
    if config.settings.lake.enabled
        && let Some(dir) = config.lake.local_dir()
    {
        if dir.exists() && !dir.is_dir() {
            problems
                .push(format!("lake.path {} is a file; give a directory (or set lake.enabled = false)", dir.display()));
        }
        parent_ok("lake.path", dir, &mut problems);
    }
    problems
}

/// Rewrite the lake partitions that changed; the error, if it failed (retried next run).
pub async fn export_lake(config: &Config, warehouse: &Warehouse, pipeline: &str, run_id: &str) -> Option<String> {
    if !config.settings.lake.enabled {
        return None;
    }
    let _lake = crate::telemetry::work::start(crate::telemetry::work::Work::Lake);
    let lake = lake::Lake::new(config.lake.clone(), config.settings.lake.clone());
    match lake::export_dirty(warehouse, &lake, run_id).await {
        Ok(_) => None,
        Err(e) => {
            tracing::error!(pipeline, "refreshing the Delta lake failed (retried next run): {e}");
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
    let _publish = crate::telemetry::work::start(crate::telemetry::work::Work::Publish);
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
    // One writer connection for the whole run: every stream commits through it.
    let hold = warehouse.hold().await?;
    let run_id = uuid::Uuid::now_v7().to_string();
    warehouse.start_run(&run_id, &p.name).await?;
    tracing::info!(pipeline = %p.name, run_id, "run started");

    let source = Source::new(p, crate::sources::http_client(p));
    if let Some(pr) = &progress {
        let _ = pr.http.set(source.http().counters.clone());
    }
    let mut infos: Vec<_> =
        sources::streams(p.kind()).into_iter().filter(|s| p.streams.iter().any(|n| n == s.name)).collect();
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
                Err(e) if source.preflight_is_fatal(&e) => Some((RunStatus::Failed, e.to_string())),
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
                    Ok(()) if ctx.missing.is_empty() => (StreamStatus::Succeeded, None),
                    Ok(()) => (StreamStatus::Incomplete, Some(crate::engine::children::missing_text(&ctx.missing))),
                    Err(SyncError::Cancelled) => {
                        (StreamStatus::Interrupted, Some("interrupted by a signal after its last commit".to_string()))
                    }
                    Err(e) => (StreamStatus::Failed, Some(e.to_string())),
                };
                match (&status, &error) {
                    (StreamStatus::Failed, Some(e)) => telemetry::stream_failed(&p.name, info.name, e),
                    (StreamStatus::Incomplete, Some(e)) => {
                        telemetry::stream_incomplete(&p.name, info.name, ctx.missing.len(), e)
                    }
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
    if let Err(e) = hold.release().await {
        // Everything is committed; only the final checkpoint failed (DuckDB replays the WAL).
        tracing::warn!(pipeline = %p.name, "closing the warehouse: {e}");
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
