//! `desksync backfill`: load a pipeline's history window by window through the same stream
//! code as `run`, recording each (stream, window) in the window ledger `_desksync_windows` (kind `backfill`).
//!
//! * Only streams whose API filters by a date range are windowed ([`crate::sources::windowable`]:
//!   LiveAgent conversations (with their messages), customers and reports; LiveZilla tickets and
//!   chats). The rest are small or unfilterable and brought up to date by `run`.
//! * A window loads rows only: it never moves the stream's incremental state
//!   ([`crate::engine::StreamCtx::window`]), so scheduled runs and a backfill cannot disturb
//!   each other. They do not overlap either: each window holds the pipeline's lock, and waits
//!   for a running `serve`/`run` pass to finish (which can run between two windows).
//! * Resumable: a window is `running` while it loads and `done` once committed; a new backfill
//!   over the same range skips `done` windows, so an interrupted one resumes at the first
//!   incomplete window. `--force` loads done windows again (e.g. one window, by giving its range).
//! * `--dry-run` prints the plan — windows, streams, what is done already, requests it can
//!   count and the time they take at the configured rate — and sends nothing.

use std::time::{Duration, Instant};

use chrono::{DateTime, Months, NaiveDate, Utc};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::app::run::{PipelineLock, after_load};
use crate::config::{Config, PipelineConfig};
use crate::engine::StreamCtx;
use crate::error::{SyncError, WarehouseError};
use crate::sources::{self, Source, SyncMode};
use crate::timez::local_to_utc;
use crate::warehouse::Warehouse;

/// How wide one window is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowSize {
    Days(u32),
    Months(u32),
}

impl std::str::FromStr for WindowSize {
    type Err = String;
    /// `1d`, `7d`, `2w`, `1M` (months).
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let (n, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
        let n: u32 = n.parse().map_err(|_| format!("'{s}' should be like 1d, 7d, 2w or 1M"))?;
        if n == 0 {
            return Err("a window must be at least 1".into());
        }
        match unit {
            "d" => Ok(WindowSize::Days(n)),
            "w" => Ok(WindowSize::Days(n * 7)),
            "M" => Ok(WindowSize::Months(n)),
            _ => Err(format!("'{s}' should be like 1d, 7d, 2w or 1M")),
        }
    }
}

/// What a backfill will do.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub pipeline: String,
    pub windows: Vec<(DateTime<Utc>, DateTime<Utc>)>,
    /// Streams loaded window by window.
    pub streams: Vec<String>,
    /// Selected streams a backfill does not window (brought up to date by `run`).
    pub not_windowed: Vec<String>,
    /// (stream, window index) already done.
    pub done: Vec<(String, usize)>,
    /// Requests that can be counted in advance (report days: one request per day and stream).
    pub counted_requests: u64,
    /// How long `counted_requests` take at the pipeline's rate.
    pub counted_duration: Duration,
    pub rate_per_minute: u32,
}

impl Plan {
    pub fn pending(&self) -> usize {
        self.windows.len() * self.streams.len() - self.done.len()
    }

    /// The plan in plain words (what `--dry-run` prints).
    pub fn describe(&self) -> String {
        let mut s = format!(
            "backfill of {}: {} windows from {} to {}\n",
            self.pipeline,
            self.windows.len(),
            self.windows.first().map(|w| w.0.to_rfc3339()).unwrap_or_default(),
            self.windows.last().map(|w| w.1.to_rfc3339()).unwrap_or_default()
        );
        s.push_str(&format!("  windowed streams: {}\n", self.streams.join(", ")));
        if !self.not_windowed.is_empty() {
            s.push_str(&format!(
                "  not windowed (brought up to date by `desksync run`): {}\n",
                self.not_windowed.join(", ")
            ));
        }
        s.push_str(&format!(
            "  (stream, window) pairs: {} to load, {} already done (--force loads them again)\n",
            self.pending(),
            self.done.len()
        ));
        s.push_str(&format!(
            "  requests known in advance: {} (report days), {:.0} min at {}/min; conversations, tickets and \
             customers add about one request per page of changed records and one per conversation for \
             its messages (the APIs report no totals to count them by)\n",
            self.counted_requests,
            self.counted_duration.as_secs_f64() / 60.0,
            self.rate_per_minute
        ));
        s.push_str("  state: incremental watermarks are not changed; each window is recorded in _desksync_windows\n");
        s
    }
}

/// Progress after each (stream, window).
#[derive(Debug, Clone)]
pub struct Progress {
    pub done: usize,
    pub total: usize,
    pub rows: u64,
    pub requests: u64,
    pub window: (DateTime<Utc>, DateTime<Utc>),
    pub stream: String,
    pub status: &'static str,
    pub elapsed: Duration,
    /// The account's current pace (requests per minute) after any throttling.
    pub pace_per_minute: u32,
}

/// What a backfill did.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub windows_loaded: usize,
    pub windows_skipped: usize,
    pub failed: Vec<String>,
    pub rows: u64,
    pub requests: u64,
    pub cancelled: bool,
}

fn windows(from: NaiveDate, to: NaiveDate, size: WindowSize, tz: chrono_tz::Tz) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let mut out = Vec::new();
    let mut a = from;
    while a < to {
        let b = match size {
            WindowSize::Days(n) => a + chrono::Duration::days(n as i64),
            WindowSize::Months(n) => a.checked_add_months(Months::new(n)).unwrap_or(to),
        }
        .min(to);
        let m = |d: NaiveDate| local_to_utc(d.and_hms_opt(0, 0, 0).expect("midnight"), tz);
        out.push((m(a), m(b)));
        a = b;
    }
    out
}

/// Work out what a backfill of `p` over `[from, to)` (days of the account's zone) would do.
pub async fn plan(
    config: &Config,
    p: &PipelineConfig,
    from: NaiveDate,
    to: NaiveDate,
    size: WindowSize,
) -> Result<Plan, WarehouseError> {
    // A plan only reads: a warehouse that does not exist yet has nothing done (and is not created).
    let warehouse = Warehouse::from_settings(&config.warehouse_path, &config.settings.warehouse);
    let infos: Vec<_> = sources::streams(p.kind())
        .into_iter()
        .filter(|s| p.streams.iter().any(|n| n == s.name) && s.mode != SyncMode::ChildOfChanged)
        .collect();
    let (streams, not_windowed): (Vec<_>, Vec<_>) =
        infos.iter().map(|s| s.name.to_string()).partition(|n| sources::windowable(p.kind(), n));
    let windows = windows(from, to, size, p.timezone);
    let done_set = if warehouse.path().exists() { warehouse.backfill_done(&p.name).await? } else { Default::default() };
    let mut done = Vec::new();
    for s in &streams {
        for (i, w) in windows.iter().enumerate() {
            if done_set.contains(&(s.clone(), w.0.timestamp_micros())) {
                done.push((s.clone(), i));
            }
        }
    }
    let days = (to - from).num_days().max(0) as u64;
    let report_streams = streams.iter().filter(|s| s.starts_with("report_")).count() as u64;
    let counted_requests = days * report_streams;
    let rate = p.http.rate_limit_per_minute.max(1);
    let paced = rate as f64 * (1.0 - p.http.rate_headroom_pct / 100.0);
    Ok(Plan {
        pipeline: p.name.clone(),
        windows,
        streams,
        not_windowed,
        done,
        counted_requests,
        counted_duration: Duration::from_secs_f64(counted_requests as f64 / paced.max(1.0) * 60.0),
        rate_per_minute: rate,
    })
}

/// Run `plan` (skipping done windows unless `force`), reporting progress after each
/// (stream, window).
pub async fn run(
    config: &Config,
    p: &PipelineConfig,
    plan: &Plan,
    force: bool,
    shutdown: CancellationToken,
    mut progress: impl FnMut(&Progress),
) -> Result<Summary, WarehouseError> {
    let warehouse = Warehouse::from_settings(&config.warehouse_path, &config.settings.warehouse);
    warehouse.migrate().await?;
    // One writer connection for the whole backfill (dropped on the early returns).
    let hold = warehouse.hold().await?;
    let source = Source::new(p, sources::http_client(p));
    if let Err(e) = source.preflight().await {
        if shutdown.is_cancelled() {
            return Ok(Summary {
                windows_loaded: 0,
                windows_skipped: 0,
                failed: Vec::new(),
                rows: 0,
                requests: 0,
                cancelled: true,
            });
        }
        if source.preflight_is_fatal(&e) {
            return Err(WarehouseError::Invalid(format!("pipeline {}: the preflight check failed: {e}", p.name)));
        }
        tracing::warn!(pipeline = %p.name, "preflight check failed; loading the windows anyway: {e}");
    }
    let started = Instant::now();
    let run_id = format!("backfill-{}", uuid::Uuid::now_v7());
    let total = plan.windows.len() * plan.streams.len();
    let mut summary =
        Summary { windows_loaded: 0, windows_skipped: 0, failed: Vec::new(), rows: 0, requests: 0, cancelled: false };
    let mut n = 0;
    'windows: for (i, window) in plan.windows.iter().enumerate() {
        // Hold the pipeline's lock for one window; a scheduled pass may run between windows.
        let _lock = loop {
            match PipelineLock::acquire(&config.warehouse_path, &p.name) {
                Ok(l) => break l,
                Err(WarehouseError::PipelineBusy { .. }) => {
                    tracing::info!(pipeline = %p.name, "waiting for the running pass of this pipeline to finish");
                    tokio::select! {
                        _ = shutdown.cancelled() => { summary.cancelled = true; break 'windows; }
                        _ = tokio::time::sleep(Duration::from_secs(2)) => {}
                    }
                }
                Err(e) => return Err(e),
            }
        };
        for stream in &plan.streams {
            n += 1;
            if shutdown.is_cancelled() {
                summary.cancelled = true;
                break 'windows;
            }
            if !force && plan.done.iter().any(|(s, w)| s == stream && *w == i) {
                summary.windows_skipped += 1;
                continue;
            }
            warehouse.backfill_record(&p.name, stream, *window, "running", 0, 0, None).await?;
            let counters = std::sync::Arc::new(crate::http::HttpCounters::default());
            let state = warehouse.load_state(&p.name, stream).await?;
            let mut ctx = StreamCtx::new(p, stream, &run_id, state, &warehouse, &shutdown, Some(*window), None);
            let result = crate::http::counted(counters.clone(), source.sync_stream(stream, &mut ctx)).await;
            let used = counters.snapshot();
            summary.rows += ctx.rows_written;
            summary.requests += used.requests;
            let status = match &result {
                Ok(()) => {
                    summary.windows_loaded += 1;
                    "done"
                }
                Err(SyncError::Cancelled) => "running",
                Err(_) => "failed",
            };
            let error = result.as_ref().err().map(|e| e.to_string());
            warehouse
                .backfill_record(&p.name, stream, *window, status, ctx.rows_written, used.requests, error.clone())
                .await?;
            if let Some(e) = &error {
                if matches!(result, Err(SyncError::Cancelled)) {
                    summary.cancelled = true;
                } else {
                    tracing::error!(pipeline = %p.name, stream = %stream, window = %window.0, "backfill window failed: {e}");
                    summary.failed.push(format!("{stream} {}: {e}", window.0.date_naive()));
                }
            }
            progress(&Progress {
                done: n,
                total,
                rows: summary.rows,
                requests: summary.requests,
                window: *window,
                stream: stream.clone(),
                status,
                elapsed: started.elapsed(),
                pace_per_minute: source.http().throttle.current_per_minute(),
            });
            if summary.cancelled {
                break 'windows;
            }
        }
    }
    // Every window recorded is bookkeeping analysts may look at (which days are loaded).
    let changed = summary.rows > 0 || summary.windows_loaded > 0 || !summary.failed.is_empty();
    if let Some(e) = after_load(config, &warehouse, &p.name, &run_id, changed).await {
        summary.failed.push(e);
    }
    if let Err(e) = hold.release().await {
        tracing::warn!(pipeline = %p.name, "closing the warehouse: {e}");
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_sizes_and_boundaries() {
        assert_eq!("7d".parse::<WindowSize>(), Ok(WindowSize::Days(7)));
        assert_eq!("2w".parse::<WindowSize>(), Ok(WindowSize::Days(14)));
        assert_eq!("1M".parse::<WindowSize>(), Ok(WindowSize::Months(1)));
        assert!("0d".parse::<WindowSize>().is_err() && "7x".parse::<WindowSize>().is_err());
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let w = windows(d("2025-01-30"), d("2025-04-01"), WindowSize::Months(1), chrono_tz::UTC);
        let starts: Vec<String> = w.iter().map(|(a, _)| a.date_naive().to_string()).collect();
        assert_eq!(starts, ["2025-01-30", "2025-02-28", "2025-03-28"]);
        assert_eq!(w.last().unwrap().1.date_naive().to_string(), "2025-04-01");
        // Contiguous: each window starts where the previous ended.
        assert!(w.windows(2).all(|p| p[0].1 == p[1].0));
    }
}
