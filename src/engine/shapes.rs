//! The stream shapes that end in one commit, written once for every connector: a connector
//! reads and normalizes, then hands its rows to one of these, which decides what is written,
//! what is marked deleted and how the state moves.
//!
//! * [`full_refresh`]: the listing is the complete list of the table for the account: every
//!   row is written (unchanged rows cost an upsert that changes nothing), and with
//!   [`Deletions::Mark`] rows no longer listed get `deleted_at`.
//! * [`changed_by_hash`]: the listing is read whole but only new rows and rows whose content
//!   hash changed are written (the caller may then read the children of exactly those); with
//!   [`Deletions::Mark`] the ids listed go to the reconciliation list and the rest are marked.
//! * [`snapshot`]: rows stamped with one `captured_at` are appended; nothing is replaced.
//!
//! Each moves the stream's cursor to the time of the listing. Shapes that page and commit
//! as they go (incremental passes, report windows, created-time windows) build on
//! [`super::paging`] and [`StreamCtx::commit`] in the vendor's folder.

use chrono::{DateTime, Utc};

use super::{StreamCtx, batch};
use crate::error::SyncError;
use crate::model::normalize::{self, Row};
use crate::model::{Quarantined, Table};
use crate::state::StreamState;
use crate::warehouse::LoadUnit;

/// Whether a listing read whole marks the rows it no longer lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deletions {
    /// Rows not listed get `deleted_at` (dimensions whose records can disappear).
    Mark,
    /// Rows not listed are kept as they are (records other tables keep referring to).
    Keep,
}

/// The state after a listing read whole at `at`.
fn listed_at(ctx: &StreamCtx, at: DateTime<Utc>) -> StreamState {
    StreamState { version: 1, cursor: Some(at), pass: None, ..ctx.state.clone() }
}

/// Load `rows` as the complete list of `table` (see the module docs).
pub async fn full_refresh<R: serde::Serialize>(
    ctx: &mut StreamCtx,
    table: Table,
    rows: &[R],
    quarantine: Vec<Quarantined>,
    deletions: Deletions,
) -> Result<(), SyncError> {
    let full_refresh = if deletions == Deletions::Mark { vec![table] } else { vec![] };
    let state = Some(listed_at(ctx, Utc::now()));
    ctx.commit(LoadUnit {
        batches: vec![(table, batch(table, rows)?)],
        full_refresh,
        quarantine,
        state,
        ..Default::default()
    })
    .await
}

/// The rows of a listing read whole that are new or changed (de-duplicated), and the ids of
/// all listed rows (for [`commit_changed`]).
pub async fn changed_by_hash(
    ctx: &StreamCtx,
    table: Table,
    rows: Vec<Row>,
) -> Result<(Vec<Row>, Vec<String>), SyncError> {
    let id_col = *table.primary_key().last().expect("primary key");
    let mut rows = normalize::dedup(table, rows);
    let ids: Vec<String> = rows.iter().filter_map(|r| normalize::text_of(r, id_col)).collect();
    ctx.retain_changed(table, &mut rows, |r| (normalize::text_of(r, id_col), normalize::text_of(r, "content_hash")))
        .await?;
    Ok((rows, ids))
}

/// Commit what [`changed_by_hash`] kept (`unit` may carry the children read for it); with
/// [`Deletions::Mark`], every row of `table` whose id is not in `listed` is marked deleted.
pub async fn commit_changed(
    ctx: &mut StreamCtx,
    table: Table,
    changed: &[Row],
    listed: Vec<String>,
    quarantine: Vec<Quarantined>,
    deletions: Deletions,
    mut unit: LoadUnit,
) -> Result<(), SyncError> {
    unit.batches.insert(0, (table, batch(table, changed)?));
    if deletions == Deletions::Mark {
        reconcile_listed(ctx, table, listed, &mut unit).await?;
    }
    unit.quarantine.extend(quarantine);
    unit.state = Some(listed_at(ctx, Utc::now()));
    ctx.commit(unit).await
}

/// A listing that saw every id of `table` at once: rows whose id is not among `listed` are
/// marked deleted when `unit` commits (through the reconciliation list, so unchanged rows need
/// not be in the unit's batches).
pub async fn reconcile_listed(
    ctx: &StreamCtx,
    table: Table,
    listed: Vec<String>,
    unit: &mut LoadUnit,
) -> Result<(), SyncError> {
    ctx.seen_clear().await?;
    ctx.seen_add(listed).await?;
    unit.mark_missing = Some(table);
    Ok(())
}

/// Append `rows` (stamped `captured`) to a snapshot table.
pub async fn snapshot(
    ctx: &mut StreamCtx,
    table: Table,
    rows: Vec<Row>,
    quarantine: Vec<Quarantined>,
    captured: DateTime<Utc>,
) -> Result<(), SyncError> {
    let rows = normalize::dedup(table, rows);
    ctx.commit(LoadUnit {
        batches: vec![(table, batch(table, &rows)?)],
        quarantine,
        state: Some(listed_at(ctx, captured)),
        ..Default::default()
    })
    .await
}

/// The capture time of a snapshot taken now (whole seconds, so one run's rows share it).
pub fn capture_time() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp(now.timestamp(), 0).unwrap_or(now)
}
