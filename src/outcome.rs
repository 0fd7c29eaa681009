//! How runs and streams end: the statuses every report of a run uses (`_desksync_runs`, the
//! summary `run` prints, `/status`, the metrics), and the per-stream and per-run summaries. Plain
//! data, below everything that records or shows it.

use std::time::Duration;

use serde::Serialize;

/// How one stream of a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StreamStatus {
    /// Read to its end; its watermark moved.
    Succeeded,
    /// Read to its end, but some records' children (messages, details) could not be read even
    /// after retrying in place; those records are stored without a content hash, so the next
    /// run reads them again. The run is `partial`.
    Incomplete,
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
            StreamStatus::Incomplete => "incomplete",
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
    pub fn not_started(stream: &str, reason: &str) -> StreamSummary {
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
