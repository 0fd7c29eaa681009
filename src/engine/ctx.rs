//! [`StreamCtx`]: what a stream's sync code sees of a run — its state and settings, the
//! shutdown signal, and the one way to hand over rows and state (a [`LoadUnit`] committed in one
//! transaction). [`RunProgress`]: the run's live counters for a progress display.

use chrono::Utc;
use tokio_util::sync::CancellationToken;

use crate::config::{PipelineConfig, SyncSettings};
use crate::error::{SyncError, WarehouseError};
use crate::model::Table;
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
    /// Private: a stream reads and writes the warehouse only through the methods below.
    warehouse: Warehouse,
    pub rows_written: u64,
    pub quarantined: u64,
    /// Records whose children could not be read in this run (key: reason), see
    /// [`StreamCtx::missed`]; any makes the stream `incomplete`.
    pub missing: Vec<(String, String)>,
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
            source: p.source,
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
            missing: Vec::new(),
            bookkeeping_changed: false,
            progress,
        }
    }

    /// Record that the children of record `key` could not be read in this run (`reason`): the
    /// stream ends `incomplete` and the run `partial`, naming what is missing.
    pub fn missed(&mut self, key: &str, reason: &str) {
        self.missing.push((key.to_string(), reason.to_string()));
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
        // Credentials never stored (model::secrets): out of every `raw` before the commit.
        let extra = &self.sync.secret_fields;
        for (_, b) in unit.batches.iter_mut() {
            if let Some(stripped) = strip_raw_column(b, extra) {
                *b = stripped;
            }
        }
        for q in unit.quarantine.iter_mut() {
            if let Some(s) = crate::model::secrets::strip_text(&q.raw, extra) {
                q.raw = s;
            }
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

    /// Keep only the records that are new or whose content hash differs from the stored one
    /// (`key` gives a record's id and hash): the one rule by which every stream that lists
    /// records whole writes only what changed.
    pub async fn retain_changed<T>(
        &self,
        table: Table,
        records: &mut Vec<T>,
        key: impl Fn(&T) -> (Option<String>, Option<String>),
    ) -> Result<(), SyncError> {
        let ids: Vec<String> = records.iter().filter_map(|r| key(r).0).collect();
        let known = self.known_hashes(table, ids).await?;
        records.retain(|r| {
            let (id, hash) = key(r);
            known.get(id.as_deref().unwrap_or_default()) != Some(&hash)
        });
        Ok(())
    }

    /// Start a reconciliation listing: forget the ids a previous, unfinished one recorded.
    pub async fn seen_clear(&self) -> Result<(), SyncError> {
        Ok(self.warehouse.clear_seen(&self.pipeline, &self.stream).await?)
    }

    /// Record ids a reconciliation listing saw (a unit with `mark_missing` then marks the rest).
    pub async fn seen_add(&self, ids: Vec<String>) -> Result<(), SyncError> {
        Ok(self.warehouse.add_seen(&self.pipeline, &self.stream, ids).await?)
    }

    /// Stored `raw` records of `table` whose children still have to be fetched (NULL
    /// `content_hash`), at most `limit`.
    pub async fn unfinished_raw(&self, table: Table, limit: usize) -> Result<Vec<String>, SyncError> {
        Ok(self.warehouse.unfinished_raw(table, self.source, &self.account, limit).await?)
    }

    /// Start times of this stream's report windows already loaded.
    pub async fn loaded_windows(&self) -> Result<Vec<chrono::DateTime<Utc>>, SyncError> {
        Ok(self.warehouse.loaded_windows(&self.pipeline, &self.stream).await?)
    }

    /// The sorted content hashes stored per report window of `table` (and `scope`).
    pub async fn window_hashes(
        &self,
        table: Table,
        scope: Option<&str>,
        starts: Vec<chrono::DateTime<Utc>>,
    ) -> Result<std::collections::HashMap<i64, Vec<String>>, SyncError> {
        Ok(self.warehouse.window_hashes(table, self.source, &self.account, scope, starts).await?)
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

/// `batch` with credential fields removed from its `raw` column, `None` when none had any.
fn strip_raw_column(
    batch: &arrow::record_batch::RecordBatch,
    extra: &[String],
) -> Option<arrow::record_batch::RecordBatch> {
    use arrow::array::{Array, StringArray};
    let i = batch.schema().index_of("raw").ok()?;
    let col = batch.column(i).as_any().downcast_ref::<StringArray>()?;
    let stripped: Vec<Option<String>> = (0..col.len())
        .map(|r| if col.is_null(r) { None } else { crate::model::secrets::strip_text(col.value(r), extra) })
        .collect();
    if stripped.iter().all(Option::is_none) {
        return None;
    }
    let values: StringArray = (0..col.len())
        .map(|r| match (&stripped[r], col.is_null(r)) {
            (Some(s), _) => Some(s.clone()),
            (None, true) => None,
            (None, false) => Some(col.value(r).to_string()),
        })
        .collect();
    let mut columns = batch.columns().to_vec();
    columns[i] = std::sync::Arc::new(values);
    arrow::record_batch::RecordBatch::try_new(batch.schema(), columns).ok()
}

/// A commit under way (see [`StreamCtx::start_commit`]).
pub struct PendingCommit {
    handle: tokio::task::JoinHandle<Result<crate::warehouse::LoadStats, WarehouseError>>,
    state: Option<StreamState>,
    bookkeeping: bool,
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
