//! The machinery every connector shares, so each guarantee is written once: the context a
//! stream syncs in ([`ctx::StreamCtx`]: state, settings, shutdown, the commit of a unit of rows
//! and state in one transaction), the incremental-by-cursor pass ([`incremental`]: where a
//! pass starts, how it resumes, how the watermark moves), the stream shapes that end in one
//! commit ([`shapes`]: full refresh, changed-by-hash with deletion marks, snapshot append), the
//! children of changed records ([`children`]: bounded concurrency, one rule for failures) and
//! the pagers ([`paging`]: offset with overlap, page number, cursor token, created-time windows).
//!
//! Extending it: a stream shape or pager that a second vendor needs moves here from the
//! vendor's folder, with its tests.

pub mod children;
pub mod ctx;
pub mod incremental;
pub mod paging;
pub mod shapes;

pub use ctx::{PendingCommit, RunProgress, StreamCtx};

/// Rows of `table` as an Arrow batch for a [`crate::warehouse::LoadUnit`]; a row that does not
/// fit the table's schema is a protocol error naming the table. Every connector builds its
/// batches with this.
pub fn batch<R: serde::Serialize>(
    table: crate::model::Table,
    rows: &[R],
) -> Result<arrow::record_batch::RecordBatch, crate::error::SyncError> {
    crate::model::to_batch(table, rows)
        .map_err(|e| crate::error::SyncError::Protocol(format!("building {} rows: {e}", table.name())))
}
