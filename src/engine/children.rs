//! The child-of-changed shape, written once: for the records a listing found new or changed,
//! read each one's children (messages, details, tags, notes) with bounded concurrency, and
//! decide once what a failure means.
//!
//! * A failure that no other record would escape — the shutdown, refused credentials, a host
//!   gone, a fault that outlasted its retries, the warehouse — stops the stream (its state stays
//!   at its last commit, so the next run resumes there).
//! * A failure of this one record only (its endpoint answered 404 or a 4xx, or an answer
//!   still malformed after the HTTP client retried it in place) does not hold up the others:
//!   the caller stores the parent without its content hash (so the next run reads it again),
//!   quarantines the reason, and the stream is marked [`crate::outcome::StreamStatus::Incomplete`]
//!   through [`StreamCtx::missed`], so the run says `partial` and names what is missing
//!   instead of `succeeded`.

use std::future::Future;

use futures::StreamExt;

use super::StreamCtx;
use crate::error::{HttpError, SyncError};

/// What [`fetch_each`] read: answers by parent id, and the parents whose children failed.
pub struct Children<T> {
    pub answers: Vec<(String, T)>,
    /// `(parent id, reason)`.
    pub failed: Vec<(String, String)>,
}

/// Whether `e` stops the whole stream rather than one record's children.
pub fn stops_the_stream(e: &SyncError) -> bool {
    match e {
        SyncError::Cancelled | SyncError::Warehouse(_) => true,
        SyncError::Protocol(_) => false,
        SyncError::Http(h) => {
            h.is_transient()
                || h.host_unreachable()
                || matches!(
                    h,
                    HttpError::Unauthorized { .. }
                        | HttpError::RetriesExhausted { .. }
                        | HttpError::RetryAfterTooLong { .. }
                        | HttpError::HostDown { .. }
                )
        }
    }
}

/// Read the children of every id in `ids` with `fetch`, `concurrency` at a time (all inside
/// the shutdown guard). Failures are sorted as the module docs say.
pub async fn fetch_each<T, F, Fut>(
    ctx: &StreamCtx,
    ids: Vec<String>,
    concurrency: usize,
    fetch: F,
) -> Result<Children<T>, SyncError>
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = Result<T, SyncError>>,
{
    let fetches = futures::stream::iter(ids)
        .map(|id| {
            let f = fetch(id.clone());
            async move { (id, f.await) }
        })
        .buffer_unordered(concurrency.max(1));
    let results = ctx.guard(async { Ok::<_, SyncError>(fetches.collect::<Vec<_>>().await) }).await?;
    let mut out = Children { answers: Vec::with_capacity(results.len()), failed: Vec::new() };
    for (id, r) in results {
        match r {
            Ok(v) => out.answers.push((id, v)),
            Err(e) if stops_the_stream(&e) => return Err(e),
            Err(e) => out.failed.push((id, e.to_string())),
        }
    }
    Ok(out)
}

/// The error text of an incomplete stream: how many records, and the first few.
pub fn missing_text(missing: &[(String, String)]) -> String {
    let shown: Vec<String> = missing.iter().take(3).map(|(k, r)| format!("{k} ({r})")).collect();
    let more = if missing.len() > 3 { format!(" and {} more", missing.len() - 3) } else { String::new() };
    format!(
        "{} record(s) could not be read completely and are read again next run: {}{more}",
        missing.len(),
        shown.join("; ")
    )
}
