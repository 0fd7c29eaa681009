//! Telemetry as named events: each function here is one event, and it is the only place that
//! both writes the log line and bumps the Prometheus counter for it, so logs and `/metrics`
//! never disagree. Call sites say *what happened* (`telemetry::request_retried(..)`), never
//! format log lines themselves.
//!
//! Adding an event: add its counter to [`Metrics`] (registered in `Metrics::new`) and a function
//! that logs and increments. Labels are pipeline and stream names only: never URLs or secrets.

use std::sync::LazyLock;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PipelineLabels {
    pub pipeline: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StreamLabels {
    pub pipeline: String,
    pub stream: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RunLabels {
    pub pipeline: String,
    pub status: String,
}

/// Every counter desksync exports.
pub struct Metrics {
    pub registry: std::sync::Mutex<Registry>,
    pub requests: Family<PipelineLabels, Counter>,
    pub retries: Family<PipelineLabels, Counter>,
    pub throttled: Family<PipelineLabels, Counter>,
    pub rows: Family<StreamLabels, Counter>,
    pub quarantined: Family<StreamLabels, Counter>,
    pub stream_errors: Family<StreamLabels, Counter>,
    pub runs: Family<RunLabels, Counter>,
    pub last_success: Family<PipelineLabels, Gauge>,
    pub watermark_lag: Family<StreamLabels, Gauge>,
    pub suspended: Family<PipelineLabels, Gauge>,
    pub lake_conflicts: Counter,
    pub lake_commits: Counter,
}

impl Metrics {
    fn new() -> Metrics {
        let m = Metrics {
            registry: std::sync::Mutex::new(Registry::with_prefix("desksync")),
            requests: Family::default(),
            retries: Family::default(),
            throttled: Family::default(),
            rows: Family::default(),
            quarantined: Family::default(),
            stream_errors: Family::default(),
            runs: Family::default(),
            last_success: Family::default(),
            watermark_lag: Family::default(),
            suspended: Family::default(),
            lake_conflicts: Counter::default(),
            lake_commits: Counter::default(),
        };
        {
            let mut r = m.registry.lock().expect("registry lock");
            r.register("http_requests", "HTTP requests sent to vendors, retries included", m.requests.clone());
            r.register("http_retries", "HTTP requests retried", m.retries.clone());
            r.register("http_throttled", "HTTP 429 answers from vendors", m.throttled.clone());
            r.register("rows_written", "Rows inserted or changed in the warehouse", m.rows.clone());
            r.register("rows_quarantined", "Records that could not be normalized", m.quarantined.clone());
            r.register("stream_errors", "Streams that stopped with an error", m.stream_errors.clone());
            r.register("runs", "Pipeline runs by final status", m.runs.clone());
            r.register(
                "last_success_timestamp_seconds",
                "Unix time of the last successful run",
                m.last_success.clone(),
            );
            r.register(
                "watermark_lag_seconds",
                "Seconds between now and the stream's watermark after its last run",
                m.watermark_lag.clone(),
            );
            r.register("lake_commits", "Delta commits to lake tables", m.lake_commits.clone());
            r.register(
                "lake_commit_conflicts",
                "Lake commits rebuilt because another writer committed first",
                m.lake_conflicts.clone(),
            );
            r.register(
                "pipeline_suspended",
                "1 while serve has taken the pipeline off its schedule (the vendor refused its credentials)",
                m.suspended.clone(),
            );
        }
        m
    }

    /// The Prometheus text exposition of every metric.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        let r = self.registry.lock().expect("registry lock");
        prometheus_client::encoding::text::encode(&mut out, &r).expect("writing to a String");
        out
    }
}

pub static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

fn pl(pipeline: &str) -> PipelineLabels {
    PipelineLabels { pipeline: pipeline.to_string() }
}

fn sl(pipeline: &str, stream: &str) -> StreamLabels {
    StreamLabels { pipeline: pipeline.to_string(), stream: stream.to_string() }
}

/// A pipeline is known to the service: every counter family gets its series at 0, so alerts on
/// `increase(...)` see 0 rather than "no data" until the first event.
pub fn pipeline_registered(pipeline: &str, streams: &[String], run_statuses: &[&str]) {
    let m = &*METRICS;
    for f in [&m.requests, &m.retries, &m.throttled] {
        let _ = f.get_or_create(&pl(pipeline));
    }
    let _ = m.suspended.get_or_create(&pl(pipeline));
    for stream in streams {
        for f in [&m.rows, &m.quarantined, &m.stream_errors] {
            let _ = f.get_or_create(&sl(pipeline, stream));
        }
    }
    for status in run_statuses {
        let _ = m.runs.get_or_create(&RunLabels { pipeline: pipeline.into(), status: status.to_string() });
    }
}

pub fn pipeline_suspended(pipeline: &str, reason: &str) {
    METRICS.suspended.get_or_create(&pl(pipeline)).set(1);
    tracing::error!(
        pipeline,
        "pipeline suspended: the vendor refused its credentials ({reason}); it is not run again until its \
         configuration changes (fix it, then `systemctl reload desksync` / SIGHUP) or the service restarts"
    );
}

pub fn pipeline_resumed(pipeline: &str) {
    METRICS.suspended.get_or_create(&pl(pipeline)).set(0);
    tracing::info!(pipeline, "pipeline resumed: its configuration changed since it was suspended");
}

/// A run ended before its first stream: a path it writes is unusable, the vendor is
/// unreachable, or it refused the credentials.
pub fn run_refused(pipeline: &str, reason: &str) {
    tracing::error!(pipeline, "run stopped before its first stream: {reason}");
}

pub fn stream_interrupted(pipeline: &str, stream: &str, rows: u64) {
    tracing::warn!(
        pipeline,
        stream,
        rows,
        "stream interrupted by a signal after its last commit; the next run resumes it"
    );
}

pub fn request_sent(pipeline: &str) {
    METRICS.requests.get_or_create(&pl(pipeline)).inc();
    work::request_sent();
    tracing::trace!(pipeline, "request sent");
}

pub fn request_retried(pipeline: &str, url: &str, error: &str, wait: Duration, attempt: usize) {
    METRICS.retries.get_or_create(&pl(pipeline)).inc();
    tracing::warn!(pipeline, url, attempt, wait_ms = wait.as_millis() as u64, "retrying request: {error}");
}

pub fn throttled(pipeline: &str, url: &str, retry_after: Option<Duration>) {
    METRICS.throttled.get_or_create(&pl(pipeline)).inc();
    tracing::warn!(
        pipeline,
        url,
        retry_after_ms = retry_after.map(|d| d.as_millis() as u64),
        "vendor throttled us (HTTP 429); pausing this account's requests"
    );
}

pub fn rate_adjusted(pipeline: &str, from_per_minute: u32, to_per_minute: u32, reason: &str) {
    PACE.lock().unwrap_or_else(|p| p.into_inner()).insert(pipeline.to_string(), (to_per_minute, reason.to_string()));
    tracing::info!(pipeline, from_per_minute, to_per_minute, "request pace changed: {reason}");
}

/// Each pipeline's request pace after its last adjustment (per minute, and why), for the
/// status page; a pipeline never adjusted runs at its configured limit.
static PACE: std::sync::LazyLock<std::sync::Mutex<std::collections::HashMap<String, (u32, String)>>> =
    std::sync::LazyLock::new(Default::default);

/// The pace `pipeline` was last set to (requests per minute) and why, if it ever changed.
pub fn current_pace(pipeline: &str) -> Option<(u32, String)> {
    PACE.lock().unwrap_or_else(|p| p.into_inner()).get(pipeline).cloned()
}

/// Requests `pipeline` has sent since the process started.
pub fn requests_sent(pipeline: &str) -> u64 {
    METRICS.requests.get_or_create(&pl(pipeline)).get()
}

pub fn warehouse_locked(path: &std::path::Path, holder: &str, waited: Duration) {
    tracing::warn!(
        path = %path.display(),
        waited_ms = waited.as_millis() as u64,
        "warehouse is locked by another process{holder}; waiting"
    );
}

pub fn paging_unstable(pipeline: &str, stream: &str, offset: usize) {
    tracing::warn!(pipeline, stream, offset, "rows shifted between pages; re-reading from an earlier offset");
}

pub fn quarantined(pipeline: &str, stream: &str, key: Option<&str>, reason: &str) {
    METRICS.quarantined.get_or_create(&sl(pipeline, stream)).inc();
    tracing::warn!(pipeline, stream, key, "record quarantined: {reason}");
}

pub fn rows_written(pipeline: &str, stream: &str, rows: u64) {
    METRICS.rows.get_or_create(&sl(pipeline, stream)).inc_by(rows);
}

pub fn stream_finished(pipeline: &str, stream: &str, rows: u64, requests: u64, elapsed: Duration) {
    tracing::info!(pipeline, stream, rows, requests, elapsed_ms = elapsed.as_millis() as u64, "stream synced");
}

pub fn stream_failed(pipeline: &str, stream: &str, error: &str) {
    METRICS.stream_errors.get_or_create(&sl(pipeline, stream)).inc();
    tracing::error!(pipeline, stream, "stream failed, its watermark stays where it was: {error}");
}

pub fn stream_incomplete(pipeline: &str, stream: &str, missing: usize, error: &str) {
    METRICS.stream_errors.get_or_create(&sl(pipeline, stream)).inc();
    tracing::warn!(
        pipeline,
        stream,
        missing,
        "stream read to its end with records missing, read again next run: {error}"
    );
}

pub fn watermark_lag(pipeline: &str, stream: &str, lag: Duration) {
    METRICS.watermark_lag.get_or_create(&sl(pipeline, stream)).set(lag.as_secs() as i64);
}

pub fn run_finished(pipeline: &str, run_id: &str, status: &str, rows: u64, requests: u64, elapsed: Duration) {
    METRICS.runs.get_or_create(&RunLabels { pipeline: pipeline.into(), status: status.into() }).inc();
    if status == "succeeded" {
        METRICS.last_success.get_or_create(&pl(pipeline)).set(chrono::Utc::now().timestamp());
    }
    tracing::info!(pipeline, run_id, status, rows, requests, elapsed_ms = elapsed.as_millis() as u64, "run finished");
}

pub fn lake_committed(table: &str, version: i64, actions: usize) {
    METRICS.lake_commits.inc();
    tracing::debug!(table, version, actions, "lake table committed");
}

pub fn lake_conflict(table: &str, attempt: usize) {
    METRICS.lake_conflicts.inc();
    tracing::debug!(table, attempt, "another writer committed to the lake table first; rebuilding the commit");
}

pub fn lake_written(table: &str, partitions: usize, rows: u64) {
    tracing::info!(table, partitions, rows, "lake partitions rewritten");
}

/// Where the time of this process goes, summed over every task (so concurrent work adds up to
/// more than the wall time): what `desksync bench` prints as its breakdown, to show the next
/// bottleneck. Each figure is a handful of relaxed atomic adds per request or batch.
pub mod work {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::Instant;

    /// One kind of work.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Work {
        /// Sending a request and receiving its body.
        Http,
        /// Decoding JSON bodies.
        Json,
        /// Building Arrow batches from normalized rows.
        Arrow,
        /// DuckDB: staging, upserting and the statements of a load, before its COMMIT.
        Load,
        /// DuckDB: COMMIT of loads.
        Commit,
        /// Writing the lake.
        Lake,
        /// Publishing the analysts' snapshot.
        Publish,
    }

    pub const ALL: [Work; 7] =
        [Work::Http, Work::Json, Work::Arrow, Work::Load, Work::Commit, Work::Lake, Work::Publish];

    static NANOS: [AtomicU64; 7] = [const { AtomicU64::new(0) }; 7];

    impl Work {
        pub fn name(self) -> &'static str {
            match self {
                Work::Http => "http",
                Work::Json => "json",
                Work::Arrow => "arrow",
                Work::Load => "duckdb load",
                Work::Commit => "duckdb commit",
                Work::Lake => "lake",
                Work::Publish => "publish",
            }
        }
    }

    /// Counts the time until it is dropped as `Work`.
    pub struct Timer(Work, Instant);

    pub fn start(w: Work) -> Timer {
        Timer(w, Instant::now())
    }

    impl Drop for Timer {
        fn drop(&mut self) {
            NANOS[self.0 as usize].fetch_add(self.1.elapsed().as_nanos() as u64, Ordering::Relaxed);
        }
    }

    /// Seconds spent on each kind of work since the last [`reset`].
    pub fn seconds() -> Vec<(Work, f64)> {
        ALL.iter().map(|w| (*w, NANOS[*w as usize].load(Ordering::Relaxed) as f64 / 1e9)).collect()
    }

    pub fn reset() {
        NANOS.iter().for_each(|n| n.store(0, Ordering::Relaxed));
    }

    /// Request times are microseconds since this.
    static EPOCH: std::sync::LazyLock<Instant> = std::sync::LazyLock::new(Instant::now);

    /// When set (`desksync bench` only): the time of every request, for the window fill.
    static TIMES: std::sync::Mutex<Option<Vec<u64>>> = std::sync::Mutex::new(None);
    /// Whether [`TIMES`] records: a request outside the bench costs one atomic load, no lock.
    static RECORDING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

    pub(super) fn request_sent() {
        if !RECORDING.load(Ordering::Relaxed) {
            return;
        }
        if let Some(t) = TIMES.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
            t.push(EPOCH.elapsed().as_micros() as u64);
        }
    }

    /// Start keeping the time of every request (emptying what was kept).
    pub fn record_request_times() {
        *TIMES.lock().unwrap_or_else(|p| p.into_inner()) = Some(Vec::new());
        RECORDING.store(true, Ordering::Relaxed);
    }

    /// The fewest and the most requests any counting `window` that lies wholly between the
    /// first and the last recorded request held (`None` when they are less than a window
    /// apart): what a vendor counting over that window saw while the run was fetching.
    pub fn window_fill(window: std::time::Duration) -> Option<(usize, usize)> {
        let guard = TIMES.lock().unwrap_or_else(|p| p.into_inner());
        let mut t = guard.as_ref()?.clone();
        drop(guard);
        t.sort_unstable();
        fill(&t, window.as_micros() as u64)
    }

    /// [`window_fill`] over sorted times `t` and a window of `w` (same unit).
    fn fill(t: &[u64], w: u64) -> Option<(usize, usize)> {
        let (first, last) = (*t.first()?, *t.last()?);
        if last - first < w {
            return None;
        }
        // Windows [s, s + w) with s at each request (the most) and windows ending just before
        // each request (the fewest: the gap before a request is not yet counted).
        let (mut min, mut max) = (usize::MAX, 0);
        let mut j = 0;
        for (i, &s) in t.iter().enumerate() {
            if s + w > last {
                break;
            }
            while j < t.len() && t[j] < s + w {
                j += 1;
            }
            max = max.max(j - i);
            // (s, s + w]: the window just after request i, without it.
            let mut k = j;
            while k < t.len() && t[k] <= s + w {
                k += 1;
            }
            min = min.min(k - i - 1);
        }
        (max > 0).then_some((min, max))
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn window_fill_counts_the_fullest_and_emptiest_whole_window() {
            // One request a second for 100 s, and 5 more at once at 50 s.
            let mut t: Vec<u64> = (0..100).collect();
            t.extend([50; 5]);
            t.sort_unstable();
            assert_eq!(super::fill(&t, 10), Some((10, 15)));
            assert_eq!(super::fill(&t, 200), None, "a run shorter than a window has no whole window");
            assert_eq!(super::fill(&[], 10), None);
        }
    }
}
