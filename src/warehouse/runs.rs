//! The run history (`_desksync_runs`) and the window ledger (`_desksync_windows`: report days
//! and backfill windows).

use duckdb::params;

use super::Warehouse;
use crate::error::{DuckDbContext, WarehouseError};

/// A pipeline's latest run, as `/status` shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LastRun {
    pub run_id: String,
    pub status: String,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub rows_written: Option<i64>,
    pub error: Option<String>,
}

/// One run as `_desksync_runs` records it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RunRecord {
    pub run_id: String,
    pub pipeline: String,
    pub status: String,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub elapsed_ms: Option<i64>,
    pub rows_written: Option<i64>,
    pub requests: Option<i64>,
    pub streams: Vec<crate::outcome::StreamSummary>,
    pub error: Option<String>,
}

impl Warehouse {
    pub async fn start_run(&self, run_id: &str, pipeline: &str) -> Result<(), WarehouseError> {
        let (r, p) = (run_id.to_string(), pipeline.to_string());
        self.with_conn(move |c| {
            // A run still 'running' in the history was cut off (crash, kill): say so.
            c.execute(
                "UPDATE _desksync_runs SET status = 'abandoned', finished_at = now(),
                 error = coalesce(error, 'the process stopped before the run finished')
                 WHERE pipeline = ? AND status = 'running'",
                params![p],
            )
            .ctx("recording the run")?;
            c.execute(
                "INSERT INTO _desksync_runs (run_id, pipeline, started_at, status) VALUES (?, ?, now(), 'running')",
                params![r, p],
            )
            .ctx("recording the run")?;
            Ok(())
        })
        .await
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn finish_run(
        &self,
        run_id: &str,
        status: &str,
        rows: u64,
        requests: u64,
        streams_json: String,
        error: Option<String>,
    ) -> Result<(), WarehouseError> {
        let (r, s) = (run_id.to_string(), status.to_string());
        self.with_conn(move |c| {
            c.execute(
                "UPDATE _desksync_runs SET finished_at = now(), status = ?, rows_written = ?, requests = ?,
                 streams = ?, error = ? WHERE run_id = ?",
                params![s, rows as i64, requests as i64, streams_json, error, r],
            )
            .ctx("recording the run")?;
            Ok(())
        })
        .await
    }

    /// The run history, newest first: every run of `pipeline` (or of all), at most `last`.
    pub async fn runs(&self, pipeline: Option<&str>, last: usize) -> Result<Vec<RunRecord>, WarehouseError> {
        let p = pipeline.map(str::to_string);
        self.with_conn(move |c| {
            let filter = if p.is_some() { "WHERE pipeline = ?" } else { "" };
            let mut stmt = c
                .prepare(&format!(
                    "SELECT run_id, pipeline, status, strftime(started_at::TIMESTAMP, '%Y-%m-%dT%H:%M:%SZ'),
                            strftime(finished_at::TIMESTAMP, '%Y-%m-%dT%H:%M:%SZ'),
                            epoch_ms(finished_at) - epoch_ms(started_at), rows_written, requests, streams, error
                     FROM _desksync_runs {filter} ORDER BY started_at DESC LIMIT {last}"
                ))
                .ctx("reading the run history")?;
            let map = |r: &duckdb::Row<'_>| -> duckdb::Result<RunRecord> {
                let streams: Option<String> = r.get(8)?;
                Ok(RunRecord {
                    run_id: r.get(0)?,
                    pipeline: r.get(1)?,
                    status: r.get(2)?,
                    started_at: r.get(3)?,
                    finished_at: r.get(4)?,
                    elapsed_ms: r.get(5)?,
                    rows_written: r.get(6)?,
                    requests: r.get(7)?,
                    streams: streams.and_then(|s| serde_json::from_str(&s).ok()).unwrap_or_default(),
                    error: r.get(9)?,
                })
            };
            let rows = match &p {
                Some(p) => stmt.query_map(params![p], map),
                None => stmt.query_map([], map),
            }
            .ctx("reading the run history")?;
            rows.collect::<Result<Vec<_>, _>>().ctx("reading the run history")
        })
        .await
    }

    /// The pipeline's most recent run.
    pub async fn last_run(&self, pipeline: &str) -> Result<Option<LastRun>, WarehouseError> {
        Ok(self.runs(Some(pipeline), 1).await?.into_iter().next().map(|r| LastRun {
            run_id: r.run_id,
            status: r.status,
            started_at: r.started_at,
            finished_at: r.finished_at,
            rows_written: r.rows_written,
            error: r.error,
        }))
    }

    /// Backfill windows of a pipeline already done: (stream, window start).
    pub async fn backfill_done(
        &self,
        pipeline: &str,
    ) -> Result<std::collections::BTreeSet<(String, i64)>, WarehouseError> {
        let p = pipeline.to_string();
        self.with_conn(move |c| {
            let mut stmt = c
                .prepare(
                    "SELECT stream, epoch_us(window_start) FROM _desksync_windows
                     WHERE pipeline = ? AND kind = 'backfill' AND status = 'done'",
                )
                .ctx("reading the backfill ledger")?;
            let rows = stmt.query_map(params![p], |r| Ok((r.get(0)?, r.get(1)?))).ctx("reading the backfill ledger")?;
            rows.collect::<Result<_, _>>().ctx("reading the backfill ledger")
        })
        .await
    }

    /// Record a backfill window's progress (`running` bumps the attempts).
    #[allow(clippy::too_many_arguments)]
    pub async fn backfill_record(
        &self,
        pipeline: &str,
        stream: &str,
        window: (chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>),
        status: &str,
        rows: u64,
        requests: u64,
        error: Option<String>,
    ) -> Result<(), WarehouseError> {
        let (p, s, st) = (pipeline.to_string(), stream.to_string(), status.to_string());
        let (a, b) = (window.0.to_rfc3339(), window.1.to_rfc3339());
        self.with_conn(move |c| {
            c.execute(
                "INSERT INTO _desksync_windows
                   VALUES (?, ?, 'backfill', ?::TIMESTAMPTZ, ?::TIMESTAMPTZ, ?, ?, ?, 1, ?, now())
                 ON CONFLICT (pipeline, stream, kind, window_start) DO UPDATE SET
                   window_end = excluded.window_end, status = excluded.status, rows = excluded.rows,
                   requests = excluded.requests, error = excluded.error, updated_at = excluded.updated_at,
                   attempts = _desksync_windows.attempts + CASE WHEN excluded.status = 'running' THEN 1 ELSE 0 END",
                params![p, s, a, b, st, rows as i64, requests as i64, error],
            )
            .ctx("recording a backfill window")?;
            Ok(())
        })
        .await
    }

    /// Start times of the report windows already loaded for a stream.
    pub async fn loaded_windows(
        &self,
        pipeline: &str,
        stream: &str,
    ) -> Result<Vec<chrono::DateTime<chrono::Utc>>, WarehouseError> {
        let (p, s) = (pipeline.to_string(), stream.to_string());
        self.with_conn(move |c| {
            let mut stmt = c
                .prepare(
                    "SELECT epoch_us(window_start) FROM _desksync_windows
                     WHERE pipeline = ? AND stream = ? AND kind = 'report' AND status = 'done'",
                )
                .ctx("reading report windows")?;
            let rows = stmt.query_map(params![p, s], |r| r.get::<_, i64>(0)).ctx("reading report windows")?;
            let micros = rows.collect::<Result<Vec<_>, _>>().ctx("reading report windows")?;
            Ok(micros.into_iter().filter_map(chrono::DateTime::from_timestamp_micros).collect())
        })
        .await
    }
}
