//! Library errors, one `thiserror` enum per layer, each variant carrying the context a user needs
//! to act (which URL, which file, what the vendor said). URLs in errors are always redacted
//! (by the HTTP client's `redact_url`); secrets never appear. The binary wraps these in `anyhow`
//! and prints the whole chain.

use std::path::PathBuf;
use std::time::Duration;

/// A failed request to a vendor, after retries where retrying made sense.
#[derive(Debug, Clone, thiserror::Error)]
pub enum HttpError {
    #[error("cannot reach {url}: {reason}")]
    Unreachable { url: String, reason: String },
    /// No connection could be made (refused, DNS, TLS): the host is down or the address wrong.
    #[error("cannot connect to {url}: {reason}. Check base_url and that the host is up")]
    Connect { url: String, reason: String },
    /// An earlier request of this run found the host unreachable after its retries; later
    /// requests are not sent (each would retry for its own backoff budget).
    #[error("not sent: the vendor's host stopped answering earlier in this run ({first})")]
    HostDown { first: Box<HttpError> },
    #[error("{url} did not answer within {timeout:?}")]
    Timeout { url: String, timeout: Duration },
    #[error("{url} refused the credentials (HTTP {status}): {message}. Check the credentials; this is not retried")]
    Unauthorized { url: String, status: u16, message: String },
    #[error("{url} was not found (HTTP 404): {message}. Check base_url")]
    NotFound { url: String, message: String },
    #[error("{url} answered HTTP {status}: {message}")]
    Status { url: String, status: u16, message: String },
    /// The vendor's own, well-formed error answer (its JSON error body): deterministic, so only
    /// retried for 429 and 503.
    #[error("{url} answered HTTP {status}: {message}")]
    Vendor { url: String, status: u16, message: String },
    #[error("{url} is rate limiting us and asked to wait {retry_after:?}, longer than http.retry_max_wait")]
    RetryAfterTooLong { url: String, retry_after: Duration },
    #[error("{url} answered HTTP {status} with {content_type} instead of JSON: {snippet}")]
    NotJson { url: String, status: u16, content_type: String, snippet: String },
    #[error("gave up on {url} after {attempts} attempts; last error: {last}")]
    RetriesExhausted { url: String, attempts: usize, last: Box<HttpError> },
}

impl HttpError {
    /// Whether a later attempt of the same request may succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            HttpError::Unreachable { .. } | HttpError::Connect { .. } | HttpError::Timeout { .. } => true,
            HttpError::Status { status, .. } => *status == 429 || *status >= 500,
            // A 2xx whose body is not JSON (cut off, empty) is a broken answer, as transient as
            // a dropped connection; so is a proxy's HTML 5xx page. A PHP fatal error is the
            // server's deterministic answer to this request (LiveZilla answers `p_limit=-1` so).
            HttpError::NotJson { status, snippet, .. } => {
                *status == 429
                    || *status >= 500
                    || ((200..300).contains(status)
                        && !snippet.contains("Fatal error")
                        && !snippet.contains("Parse error"))
            }
            HttpError::Vendor { status, .. } => *status == 429 || *status == 503,
            _ => false,
        }
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            HttpError::Unauthorized { status, .. }
            | HttpError::Status { status, .. }
            | HttpError::Vendor { status, .. }
            | HttpError::NotJson { status, .. } => Some(*status),
            HttpError::NotFound { .. } => Some(404),
            HttpError::RetriesExhausted { last, .. } => last.status(),
            _ => None,
        }
    }

    /// Whether this is the vendor's host being unreachable (after retries): no connection
    /// could be made (refused, DNS, TLS). Timeouts are not: one slow endpoint is not a dead host.
    pub fn host_unreachable(&self) -> bool {
        match self {
            HttpError::Connect { .. } | HttpError::HostDown { .. } => true,
            HttpError::RetriesExhausted { last, .. } => matches!(**last, HttpError::Connect { .. }),
            _ => false,
        }
    }

    /// Whether every attempt timed out.
    pub fn timed_out(&self) -> bool {
        match self {
            HttpError::Timeout { .. } => true,
            HttpError::RetriesExhausted { last, .. } => matches!(**last, HttpError::Timeout { .. }),
            _ => false,
        }
    }

    /// Whether the vendor refused the credentials.
    pub fn credentials_refused(&self) -> bool {
        matches!(self, HttpError::Unauthorized { .. })
    }
}

/// A failure of the DuckDB warehouse or the Parquet lake.
#[derive(Debug, thiserror::Error)]
pub enum WarehouseError {
    #[error(
        "the warehouse {path} is locked by another process{holder} and stayed locked for {waited:?}; \
         close other DuckDB sessions on it, or query the lake instead"
    )]
    Locked { path: PathBuf, holder: String, waited: Duration },
    #[error("{context}: {source}")]
    DuckDb {
        context: String,
        #[source]
        source: duckdb::Error,
    },
    #[error("{context}: {source}")]
    Arrow {
        context: String,
        #[source]
        source: arrow::error::ArrowError,
    },
    #[error("{context}: {source}")]
    Parquet {
        context: String,
        #[source]
        source: parquet::errors::ParquetError,
    },
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{context}: {source}")]
    Delta {
        context: String,
        #[source]
        source: Box<deltalake_core::DeltaTableError>,
    },
    #[error("{context}: {source}")]
    ObjectStore {
        context: String,
        #[source]
        source: deltalake_core::ObjectStoreError,
    },
    #[error("the warehouse task failed: {0}")]
    Task(String),
    #[error("{0}")]
    Invalid(String),
    #[error(
        "pipeline {pipeline} is already running in another process{holder}; two runs of one pipeline \
         never overlap (its lock: {lock})"
    )]
    PipelineBusy { pipeline: String, holder: String, lock: PathBuf },
}

/// Why a stream's sync stopped.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Http(#[from] HttpError),
    #[error(transparent)]
    Warehouse(#[from] WarehouseError),
    #[error("the vendor's response broke the documented format: {0}")]
    Protocol(String),
    #[error("stopped by shutdown")]
    Cancelled,
}

pub trait DuckDbContext<T> {
    fn ctx(self, context: impl Into<String>) -> Result<T, WarehouseError>;
}

impl<T> DuckDbContext<T> for Result<T, duckdb::Error> {
    fn ctx(self, context: impl Into<String>) -> Result<T, WarehouseError> {
        self.map_err(|source| WarehouseError::DuckDb { context: context.into(), source })
    }
}
