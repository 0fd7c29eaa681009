//! LiveAgent API v1 (`shared/api-docs/liveagent-api-v1-full.txt`).
//!
//! Streams: `conversations` → `tickets` (incremental by `datechanged`), `messages` → `messages`
//! (fetched for conversations new or changed in this pass), `departments` and `tags` (full
//! refresh).
//!
//! ## How `conversations` stays exact
//! * Each pass lists `datechanged=gte:<cursor − lookback>` with `limit`/`offset`. Every page after
//!   the first overlaps the previous one by `sync.page_overlap` rows, and the last row of the
//!   previous page (the anchor) must reappear in the overlap; if it does not, rows shifted
//!   between the two requests (a record changed and moved, or was deleted), so the runner backs
//!   up and re-reads instead of risking a gap. Duplicates from the overlap cost nothing: a row is
//!   rewritten only when its content hash changed.
//! * The pass's progress (offset, largest `datechanged` seen) commits with each batch, so a crash
//!   resumes at the page it reached. At the end the cursor moves to the largest `datechanged`
//!   seen, but never past the vendor's clock when the pass began (`current_server_time`):
//!   anything changed after that is picked up by the next pass.
//! * Messages are fetched only for conversations whose list record changed (content hash). When
//!   a conversation's messages cannot be fetched, its row is stored with a NULL hash and the
//!   failure is quarantined with the reason; every pass first retries such rows from their
//!   stored record (they may never change again, so the listing would not bring them back).
//!
//! * Deletions: conversations with status X (deleted) or B (spam) keep their row with that
//!   status. Every `sync.reconcile_every` (default 7 days) a pass lists every id and marks stored
//!   tickets no longer listed with `deleted_at`; nothing is ever hard-deleted.
//!
//! Times arrive in the account's zone (`timezone`) and filters are written in `filter_timezone`.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde_json::Value;

pub mod catalog;
pub mod settings;

use super::{StreamInfo, SyncMode};
use crate::config::PipelineConfig;
use crate::engine::children;
use crate::engine::incremental::{PassPlan, begin_pass, finish_pass};
use crate::engine::paging::{OverlapPager, Step};
use crate::engine::shapes::{self, Deletions};
use crate::engine::{StreamCtx, batch};
use crate::error::{HttpError, SyncError};
use crate::http::{Auth, HttpClient, path_segment};
use crate::model::fields::{code, code_or_none, flag, int, local_time, text};
use crate::model::{
    DepartmentRow, MessageRow, Quarantined, Table, TagRow, TicketFieldRow, TicketRow, content_hash, looks_like_html,
};
use crate::state::{PassState, StreamState};
use crate::telemetry;
use crate::timez::format_local;
use crate::warehouse::{LoadUnit, Replace};
use catalog::Catalog;

pub const SOURCE: &str = "liveagent";

pub const STREAMS: &[StreamInfo] = &[
    StreamInfo {
        name: "departments",
        table: Table::Departments,
        mode: SyncMode::FullRefresh,
        cursor: None,
        endpoint: "GET /api/departments",
        order: 0,
        default_on: true,
        parent: None,
    },
    StreamInfo {
        name: "tags",
        table: Table::Tags,
        mode: SyncMode::FullRefresh,
        cursor: None,
        endpoint: "GET /api/tags",
        order: 1,
        default_on: true,
        parent: None,
    },
    StreamInfo {
        name: "conversations",
        table: Table::Tickets,
        mode: SyncMode::Incremental,
        cursor: Some("datechanged"),
        endpoint: "GET /api/conversations",
        order: 10,
        default_on: true,
        parent: None,
    },
    StreamInfo {
        name: "messages",
        table: Table::Messages,
        mode: SyncMode::ChildOfChanged,
        cursor: Some("conversations.datechanged"),
        endpoint: "GET /api/conversations/{id}/messages",
        order: 11,
        default_on: true,
        parent: Some("conversations"),
    },
    StreamInfo {
        name: "conversation_details",
        table: Table::TicketFields,
        mode: SyncMode::ChildOfChanged,
        cursor: Some("conversations.datechanged"),
        endpoint: "GET /api/conversations/{id} (opt-in)",
        order: 12,
        default_on: false,
        parent: Some("conversations"),
    },
    StreamInfo {
        name: "conversation_tags",
        table: Table::Def(&crate::model::tables::CONVERSATION_TAGS),
        mode: SyncMode::ChildOfChanged,
        cursor: Some("conversations.datechanged"),
        endpoint: "GET /api/conversations/{id}/tags (opt-in)",
        order: 13,
        default_on: false,
        parent: Some("conversations"),
    },
];

/// LiveAgent's error body: `{"response":{"status":"ERROR","errormessage":"…"}}`.
fn decode_error(_status: u16, body: &str) -> Option<String> {
    let v: Value = serde_json::from_str(body).ok()?;
    let r = v.get("response")?;
    let msg = r.get("errormessage").and_then(Value::as_str)?;
    Some(msg.to_string())
}

pub fn http_client(cfg: &PipelineConfig) -> HttpClient {
    HttpClient::new(
        &cfg.name,
        cfg.base_url.clone(),
        Auth::QueryParam { name: "apikey", secret: cfg.api_key.clone() },
        &cfg.http,
        decode_error,
    )
}

pub struct LiveAgent {
    pub http: HttpClient,
    timezone: chrono_tz::Tz,
}

pub fn status(code: &str) -> &'static str {
    match code {
        "N" => "new",
        "C" => "open",
        "A" => "answered",
        "W" => "pending",
        "R" => "resolved",
        "X" => "deleted",
        "B" => "spam",
        "T" => "chatting",
        "P" => "calling",
        "I" => "init",
        _ => "open",
    }
}

pub fn channel(code: &str) -> &'static str {
    match code {
        "E" => "email",
        "B" | "I" => "chat",
        "M" => "form",
        "C" | "W" => "call",
        "F" | "A" => "facebook",
        "T" => "twitter",
        "Q" => "forum",
        _ => "other",
    }
}

fn message_kind(rtype: &str) -> &'static str {
    match rtype {
        "M" | "X" | "Y" => "message",
        "N" | "L" => "note",
        "F" => "file",
        "V" | "1" => "call",
        "P" | "W" | "C" => "rating",
        "S" | "J" | "K" | "G" | "R" | "D" | "E" | "U" | "T" | "H" | "A" | "O" | "Q" | "Z" | "B" | "2" | "0" | "3" => {
            "system"
        }
        _ => "other",
    }
}

/// Normalize one conversation list record.
pub fn ticket_row(raw: &Value, account: &str, tz: chrono_tz::Tz, now: DateTime<Utc>) -> Result<TicketRow, Quarantined> {
    let id = match code(raw, "conversationid") {
        Ok(Some(id)) => id,
        _ => return Err(Quarantined::record(raw, None, "conversation without a conversationid".into())),
    };
    let build = || -> Result<TicketRow, String> {
        let status_raw = code(raw, "status")?;
        let channel_raw = code(raw, "channel_type")?;
        let tags = code(raw, "tags")?
            .map(|t| t.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect())
            .unwrap_or_default();
        Ok(TicketRow {
            source: SOURCE,
            account: account.to_string(),
            ticket_id: id.clone(),
            code: code(raw, "code")?,
            subject: text(raw, "subject")?,
            status: status_raw.as_deref().map(|s| status(s).to_string()),
            status_raw,
            channel: channel_raw.as_deref().map(|c| channel(c).to_string()),
            channel_raw,
            department_id: code(raw, "departmentid")?,
            department_name: text(raw, "departmentname")?,
            assignee_id: code(raw, "assignedto")?,
            requester_name: text(raw, "ownername")?,
            requester_email: text(raw, "owneremail")?,
            language: text(raw, "language")?,
            tags,
            created_at: local_time(raw, "datecreated", tz)?,
            updated_at: local_time(raw, "datechanged", tz)?,
            due_at: local_time(raw, "datedue", tz)?,
            messages_in: int(raw, "messagegroupsin")?,
            messages_out: int(raw, "messagegroupsout")?,
            deleted_at: None,
            content_hash: Some(content_hash(raw)),
            raw: raw.to_string(),
            synced_at: now,
            priority: None,
            merged_into: None,
        })
    };
    build().map_err(|reason| Quarantined::record(raw, Some(id.clone()), reason))
}

/// Normalize a `/messages` answer (groups of messages) of one conversation.
pub fn message_rows(
    response: &Value,
    ticket_id: &str,
    account: &str,
    tz: chrono_tz::Tz,
    now: DateTime<Utc>,
) -> (Vec<MessageRow>, Vec<Quarantined>) {
    let mut rows = Vec::new();
    let mut bad = Vec::new();
    let Some(groups) = response.get("groups").and_then(Value::as_array) else {
        bad.push(Quarantined::record(response, Some(ticket_id.into()), "messages answer without a groups list".into()));
        return (rows, bad);
    };
    for g in groups {
        let group_id = code_or_none(g, "messagegroupid");
        let grtype = code_or_none(g, "rtype");
        let group_internal = matches!(grtype.as_deref(), Some("I" | "Z" | "U" | "1"));
        for m in g.get("messages").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default() {
            let one = || -> Result<MessageRow, String> {
                let message_id = code(m, "messageid")?.ok_or("message without a messageid")?;
                let rtype = code(m, "rtype")?;
                let kind = message_kind(rtype.as_deref().unwrap_or(""));
                let is_internal = group_internal || matches!(rtype.as_deref(), Some("I" | "N" | "L" | "1"));
                let author_type = if kind == "system" {
                    "system"
                } else if is_internal || matches!(grtype.as_deref(), Some("4" | "V")) {
                    "agent"
                } else if matches!(grtype.as_deref(), Some("3" | "5" | "M" | "P" | "F" | "W")) {
                    "customer"
                } else {
                    "unknown"
                };
                let body = text(m, "message")?;
                let body_format = if body.as_deref().is_some_and(looks_like_html) { "html" } else { "text" };
                Ok(MessageRow {
                    source: SOURCE,
                    account: account.to_string(),
                    ticket_id: ticket_id.to_string(),
                    message_id,
                    group_id: group_id.clone(),
                    author_id: code(m, "userid")?,
                    author_type,
                    kind,
                    type_raw: rtype,
                    group_type_raw: grtype.clone(),
                    is_internal,
                    created_at: local_time(m, "datecreated", tz)?,
                    body,
                    body_format,
                    content_hash: Some(content_hash(m)),
                    raw: m.to_string(),
                    synced_at: now,
                })
            };
            match one() {
                Ok(r) => rows.push(r),
                Err(reason) => {
                    let key = code_or_none(m, "messageid").map(|mid| format!("{ticket_id}/{mid}"));
                    bad.push(Quarantined::record(m, key.or(Some(ticket_id.into())), reason));
                }
            }
        }
    }
    (rows, bad)
}

/// The `response` object of a LiveAgent answer, or the error it reports.
pub(crate) fn response(v: Value, what: &str) -> Result<Value, SyncError> {
    match v {
        Value::Object(mut map) => match map.remove("response") {
            Some(r) if r.get("status").and_then(Value::as_str) == Some("ERROR") => Err(SyncError::Protocol(format!(
                "{what}: {}",
                r.get("errormessage").and_then(Value::as_str).unwrap_or("error without a message")
            ))),
            Some(r) => Ok(r),
            None => Err(SyncError::Protocol(format!("{what}: the answer has no \"response\" object"))),
        },
        _ => Err(SyncError::Protocol(format!("{what}: the answer is not a JSON object"))),
    }
}

pub(crate) fn list<'a>(r: &'a Value, key: &str, what: &str) -> Result<&'a [Value], SyncError> {
    match r.get(key) {
        Some(Value::Array(a)) => Ok(a),
        // An empty list may come as null or be left out.
        None | Some(Value::Null) => Ok(&[]),
        Some(other) => Err(SyncError::Protocol(format!("{what}: \"{key}\" should be a list but is {other}"))),
    }
}

impl LiveAgent {
    pub fn new(cfg: &PipelineConfig, http: HttpClient) -> LiveAgent {
        LiveAgent { http, timezone: cfg.timezone }
    }

    /// `GET /api/application/status`: version and the server's clock.
    async fn status(&self) -> Result<(String, Option<DateTime<Utc>>), SyncError> {
        let r = response(self.http.get_json("/api/application/status", &[]).await?, "application status")?;
        let version = code_or_none(&r, "liveagentversion").unwrap_or_else(|| "unknown".into());
        let now = local_time(&r, "current_server_time", self.timezone).ok().flatten();
        Ok((version, now))
    }

    pub async fn check(&self) -> Result<String, SyncError> {
        let (version, now) = self.status().await?;
        Ok(format!(
            "LiveAgent {version} at {}, server time {}",
            crate::http::redact_url(self.http.base()),
            now.map(|t| t.to_rfc3339()).unwrap_or_else(|| "not reported".into())
        ))
    }

    pub async fn sync_stream(&self, stream: &str, ctx: &mut StreamCtx) -> Result<(), SyncError> {
        match stream {
            "departments" => self.sync_departments(ctx).await,
            "tags" => self.sync_tags(ctx).await,
            "conversations" => self.sync_conversations(ctx).await,
            "messages" | "conversation_details" | "conversation_tags" => Ok(()), // loaded with conversations
            "agents" => Catalog { http: &self.http }.agents(ctx).await,
            other => match catalog::spec(other) {
                Some(spec) => Catalog { http: &self.http }.sync(spec, ctx).await,
                None => Err(SyncError::Protocol(format!("liveagent has no stream '{other}'"))),
            },
        }
    }

    async fn sync_departments(&self, ctx: &mut StreamCtx) -> Result<(), SyncError> {
        self.full_refresh(
            ctx,
            "/api/departments",
            "departments",
            "departmentid",
            Table::Departments,
            |d, id, account, now| DepartmentRow {
                source: SOURCE,
                account: account.to_string(),
                department_id: id,
                name: text(d, "name").ok().flatten(),
                online_status: text(d, "onlinestatus").ok().flatten(),
                is_deleted: flag(d, "deleted").ok().flatten(),
                deleted_at: None,
                content_hash: Some(content_hash(d)),
                raw: d.to_string(),
                synced_at: now,
            },
        )
        .await
    }

    async fn sync_tags(&self, ctx: &mut StreamCtx) -> Result<(), SyncError> {
        self.full_refresh(ctx, "/api/tags", "tags", "id", Table::Tags, |t, id, account, now| TagRow {
            source: SOURCE,
            account: account.to_string(),
            tag_id: id,
            name: text(t, "name").ok().flatten(),
            color: text(t, "color").ok().flatten(),
            bg_color: text(t, "bg_color").ok().flatten(),
            deleted_at: None,
            content_hash: Some(content_hash(t)),
            raw: t.to_string(),
            synced_at: now,
        })
        .await
    }

    /// A small dimension: GET `path`, take the `list_key` list, normalize each record with `row`
    /// (records without `id_field` are quarantined), and load it as the complete list, so rows no
    /// longer listed get `deleted_at`.
    #[allow(clippy::too_many_arguments)]
    async fn full_refresh<R: serde::Serialize>(
        &self,
        ctx: &mut StreamCtx,
        path: &str,
        list_key: &str,
        id_field: &str,
        table: Table,
        row: impl Fn(&Value, String, &str, DateTime<Utc>) -> R,
    ) -> Result<(), SyncError> {
        let r = response(ctx.guard(self.http.get_json(path, &[])).await?, list_key)?;
        let now = Utc::now();
        let mut rows = Vec::new();
        let mut bad = Vec::new();
        for rec in list(&r, list_key, list_key)? {
            match code_or_none(rec, id_field) {
                Some(id) => rows.push(row(rec, id, &ctx.account, now)),
                None => bad.push(Quarantined::record(rec, None, format!("{list_key} record without a {id_field}"))),
            }
        }
        shapes::full_refresh(ctx, table, &rows, bad, Deletions::Mark).await
    }

    /// One incremental pass over the conversations (resuming an interrupted one if the state
    /// holds it); `first`: also retry conversations whose messages failed before. Returns
    /// whether it was a resumed pass.
    async fn conversations_pass(
        &self,
        ctx: &mut StreamCtx,
        state: &mut StreamState,
        first: bool,
    ) -> Result<bool, SyncError> {
        // The vendor's clock bounds the cursor. application/status exists from LiveAgent
        // 2.8.12; without it our own clock stands in (the lookback covers skew).
        let clock = if state.pass.is_some() {
            Utc::now() // a resumed pass keeps the clock it began with
        } else {
            match ctx.guard(self.status()).await {
                Ok((_, t)) => t.unwrap_or_else(Utc::now),
                Err(SyncError::Http(e)) if !e.is_transient() && !matches!(e, HttpError::Unauthorized { .. }) => {
                    tracing::warn!(pipeline = %ctx.pipeline, "no server time ({e}); using this machine's clock");
                    Utc::now()
                }
                Err(e) => return Err(e),
            }
        };
        let plan = PassPlan {
            lookback: chrono::Duration::from_std(ctx.sync.lookback).unwrap_or_default(),
            start: ctx
                .start_date
                .map(|d| crate::timez::local_to_utc(d.and_hms_opt(0, 0, 0).expect("midnight"), ctx.timezone)),
            trailing: None,
            full: false,
            clock,
        };
        let (mut pass, resumed) = begin_pass(state, plan);
        if resumed {
            // Rows may have shifted while we were down, and the anchor of the last page is
            // gone: finish the pass, but keep the cursor so the next pass re-reads it all.
            tracing::info!(pipeline = %ctx.pipeline, offset = pass.offset, "resuming an interrupted pass");
            pass.unstable = true;
        }
        // Conversations whose messages failed last time (stored with a NULL hash) are retried
        // from their stored record first: they may never change again and so never come back
        // in the listing.
        let mut loader = BatchLoader::default();
        let retry: Vec<Value> =
            if first { ctx.unfinished_raw(Table::Tickets, ctx.sync.batch_size).await? } else { Vec::new() }
                .iter()
                .filter_map(|r| serde_json::from_str(r).ok())
                .collect();
        if !retry.is_empty() {
            tracing::info!(pipeline = %ctx.pipeline, count = retry.len(), "retrying conversations whose messages failed before");
            let at = pass.offset;
            self.load_conversations(ctx, &mut loader, &retry, &mut pass, at, state).await?;
        }
        let paged = self.page_through(ctx, &mut loader, &mut pass, state).await;
        // Whatever happened, commit the batch already fetched (a shutdown stops after it).
        let flushed = loader.flush(ctx).await;
        paged?;
        flushed?;
        finish_pass(state, &pass);
        Ok(resumed)
    }

    async fn sync_conversations(&self, ctx: &mut StreamCtx) -> Result<(), SyncError> {
        if ctx.window.is_some() {
            // Backfill: the conversations whose datechanged falls in the window, nothing else.
            let mut loader = BatchLoader::default();
            let mut pass = PassState::from(None);
            let state = ctx.state.clone();
            let paged = self.page_through(ctx, &mut loader, &mut pass, &state).await;
            let flushed = loader.flush(ctx).await;
            paged?;
            return flushed;
        }
        let mut state = ctx.state.clone();
        // A pass resumed after a crash continues at its offset: rows that moved up the listing
        // while we were down (others changed and went to its end) are skipped, and it keeps
        // the cursor for that reason. A fresh pass in the same run re-reads from that cursor,
        // so the restart itself ends exact.
        let mut first = true;
        loop {
            let resumed = self.conversations_pass(ctx, &mut state, first).await?;
            first = false;
            if !resumed || ctx.shutdown.is_cancelled() {
                break;
            }
            tracing::info!(pipeline = %ctx.pipeline, "the resumed pass is done; reading what changed since it began");
        }
        // Call conversations also land in the shared `calls` table (what LiveAgent's list tells
        // of a call: who, when, its state; duration and direction it does not give).
        ctx.commit(LoadUnit {
            state: Some(state.clone()),
            derive: vec![crate::warehouse::Derive::CallsFromCallTickets],
            ..Default::default()
        })
        .await?;
        let every = ctx.sync.reconcile_every;
        let due = !every.is_zero()
            && state.reconciled_at.is_none_or(|t| (Utc::now() - t).to_std().unwrap_or_default() >= every);
        if due {
            self.reconcile_conversations(ctx, state).await?;
        }
        Ok(())
    }

    /// The paging loop of a pass: list pages (overlap-checked) and load them in batches.
    ///
    /// While a full page's conversations load (their messages fetched, their commits), the page
    /// that follows is already requested: the vendor is not left waiting on a listing between
    /// pages. (The pager judges it like any page; a shifted listing is read again.)
    async fn page_through(
        &self,
        ctx: &mut StreamCtx,
        loader: &mut BatchLoader,
        pass: &mut PassState,
        state: &StreamState,
    ) -> Result<(), SyncError> {
        let mut pager = OverlapPager::new(ctx.sync.page_size, ctx.sync.page_overlap, pass.offset);
        // The page requested ahead is for the offset the pager goes on at (`next_offset`); a
        // re-read takes another path, so it is dropped when the pager reads again instead.
        let mut prefetched: Option<Result<Value, HttpError>> = None;
        loop {
            ctx.check_shutdown()?;
            let offset = pager.offset;
            let page = match prefetched.take() {
                Some(answer) => list_of(response(ctx.guard(async { answer }).await?, "conversations")?)?,
                None => self.list_page(ctx, &self.list_query(ctx, pass, offset)).await?,
            };
            let next_offset = match pager.judge(&conversation_keys(&page)) {
                Step::Done => return Ok(()),
                Step::Reread => {
                    telemetry::paging_unstable(&ctx.pipeline, &ctx.stream, offset);
                    continue;
                }
                Step::Page { next_offset } => next_offset,
            };
            pass.unstable |= pager.unstable;
            // Only a full page has a page after it.
            let ahead = (page.len() >= ctx.sync.page_size).then(|| {
                let (http, query) = (self.http.clone(), self.list_query(ctx, pass, next_offset));
                async move { http.get_json("/api/conversations", &query).await }
            });
            let load = async {
                let chunks: Vec<&[Value]> = page.chunks(ctx.sync.batch_size).collect();
                let last_chunk = chunks.len() - 1;
                for (i, chunk) in chunks.into_iter().enumerate() {
                    let committed_offset = if i == last_chunk { next_offset } else { offset };
                    self.load_conversations(ctx, loader, chunk, pass, committed_offset, state).await?;
                }
                Ok::<_, SyncError>(())
            };
            match ahead {
                None => load.await?,
                Some(ahead) => {
                    // The load decides: its error ends the loop at once, the listing ahead with it.
                    let mut ahead = std::pin::pin!(ahead);
                    let answer = {
                        let mut load = std::pin::pin!(load);
                        let mut answer = None;
                        loop {
                            tokio::select! {
                                r = &mut load => { r?; break answer; }
                                a = &mut ahead, if answer.is_none() => answer = Some(a),
                            }
                        }
                    };
                    let answer = match answer {
                        Some(a) => a,
                        // (A shutdown does not wait for it.)
                        None => ctx.guard(async { Ok::<_, SyncError>(ahead.await) }).await?,
                    };
                    prefetched = Some(answer);
                }
            }
            pager.offset = next_offset;
        }
    }

    /// The listing's query at `offset`: the backfill window, or the pass's `since`.
    fn list_query(&self, ctx: &StreamCtx, pass: &PassState, offset: usize) -> Vec<(&'static str, String)> {
        let mut query = vec![("limit", ctx.sync.page_size.to_string()), ("offset", offset.to_string())];
        if let Some((a, b)) = ctx.window {
            let to = b - chrono::Duration::seconds(1);
            let (a, to) = (format_local(a, ctx.filter_timezone), format_local(to, ctx.filter_timezone));
            query.push(("datechanged", format!("btw:{a},{to}")));
        } else if let Some(since) = pass.since {
            query.push(("datechanged", format!("gte:{}", format_local(since, ctx.filter_timezone))));
        }
        query
    }

    async fn list_page(&self, ctx: &StreamCtx, query: &[(&str, String)]) -> Result<Vec<Value>, SyncError> {
        list_of(response(ctx.guard(self.http.get_json("/api/conversations", query)).await?, "conversations")?)
    }

    /// List every conversation id (paged like the incremental pass) and mark stored tickets that
    /// are no longer listed with `deleted_at`. Skipped, with a warning, when the listing shifted
    /// too much to be sure what is missing.
    async fn reconcile_conversations(&self, ctx: &mut StreamCtx, mut state: StreamState) -> Result<(), SyncError> {
        let started = Utc::now();
        tracing::info!(pipeline = %ctx.pipeline, "reconciling: listing every conversation id");
        ctx.seen_clear().await?;
        let mut pager = OverlapPager::new(ctx.sync.page_size, ctx.sync.page_overlap, 0);
        loop {
            ctx.check_shutdown()?;
            let query = [("limit", ctx.sync.page_size.to_string()), ("offset", pager.offset.to_string())];
            let keys = conversation_keys(&self.list_page(ctx, &query).await?);
            match pager.judge(&keys) {
                Step::Done => break,
                Step::Reread => continue,
                Step::Page { next_offset } => {
                    ctx.seen_add(keys.into_iter().flatten().collect()).await?;
                    pager.offset = next_offset;
                }
            }
        }
        if pager.unstable {
            tracing::warn!(pipeline = %ctx.pipeline, "reconciliation skipped: the listing kept shifting; trying again next run");
            return Ok(());
        }
        state.reconciled_at = Some(started);
        ctx.commit(LoadUnit { mark_missing: Some(Table::Tickets), state: Some(state), ..Default::default() }).await
    }

    /// Load one batch of conversation records (and messages of the changed ones) as one unit.
    ///
    /// Pipelined through `loader`: this batch's stored hashes are read while no commit runs,
    /// then the previous batch's commit starts and this batch's messages are fetched while it
    /// runs, so the vendor is not left idle during commits. This batch's unit is committed by
    /// the next call (or [`BatchLoader::flush`]).
    async fn load_conversations(
        &self,
        ctx: &mut StreamCtx,
        loader: &mut BatchLoader,
        chunk: &[Value],
        pass: &mut PassState,
        committed_offset: usize,
        state: &StreamState,
    ) -> Result<(), SyncError> {
        let now = Utc::now();
        let mut tickets: Vec<TicketRow> = Vec::new();
        let mut bad = Vec::new();
        let mut seen = HashSet::new();
        let mut batches_extra = Vec::new();
        for raw in chunk {
            match ticket_row(raw, &ctx.account, ctx.timezone, now) {
                Ok(t) => {
                    if let Some(u) = t.updated_at {
                        pass.max_seen = Some(pass.max_seen.map_or(u, |m| m.max(u)));
                    }
                    if seen.insert(t.ticket_id.clone()) {
                        tickets.push(t);
                    }
                }
                Err(q) => bad.push(q),
            }
        }
        let ids: Vec<String> = tickets.iter().map(|t| t.ticket_id.clone()).collect();
        let mut known = ctx.known_hashes(Table::Tickets, ids).await?;
        // Rows of the previous batch (overlapping pages) are not committed yet: use the hashes
        // that batch is about to write.
        for t in &tickets {
            if let Some(h) = loader.recent.get(&t.ticket_id) {
                known.insert(t.ticket_id.clone(), h.clone());
            }
        }
        // Only rows that are new or changed are written, and only they get their messages read.
        tickets.retain(|t| known.get(&t.ticket_id) != Some(&t.content_hash));
        loader.start(ctx);
        let fetched = async {
            let messages = self.fetch_messages(ctx, &mut tickets, now).await?;
            let details = self.fetch_details(ctx, &mut tickets, now).await?;
            let tags = self.fetch_tags(ctx, &mut tickets, now).await?;
            Ok::<_, SyncError>((messages, details, tags))
        }
        .await;
        loader.finish(ctx).await?;
        let ((messages, failed), (fields, detailed, failed_details), (tag_rows, tagged, failed_tags)) = fetched?;
        for q in failed.iter().chain(&failed_details).chain(&failed_tags) {
            ctx.missed(q.record_key.as_deref().unwrap_or_default(), &q.reason);
        }
        bad.extend(failed);
        bad.extend(failed_details);
        bad.extend(failed_tags);
        // A field or tag removed at the vendor must not linger: each ticket read again has its
        // fields and tags replaced, not merged.
        let mut replace =
            vec![Replace { table: Table::TicketFields, filters: vec![], column: "ticket_id", values: detailed }];
        let tags_table = Table::Def(&crate::model::tables::CONVERSATION_TAGS);
        replace.push(Replace { table: tags_table, filters: vec![], column: "ticket_id", values: tagged });
        if !tag_rows.is_empty() {
            batches_extra.push((tags_table, batch(tags_table, &tag_rows)?));
        }
        let mut batches = vec![(Table::Tickets, batch(Table::Tickets, &tickets)?)];
        if !messages.is_empty() {
            batches.push((Table::Messages, batch(Table::Messages, &messages)?));
        }
        if !fields.is_empty() {
            batches.push((Table::TicketFields, batch(Table::TicketFields, &fields)?));
        }
        batches.extend(batches_extra);
        let mut st = state.clone();
        st.pass = Some(PassState { offset: committed_offset, ..pass.clone() });
        loader.recent = tickets.iter().map(|t| (t.ticket_id.clone(), t.content_hash.clone())).collect();
        loader.next = Some(LoadUnit { batches, quarantine: bad, state: Some(st), replace, ..Default::default() });
        Ok(())
    }

    /// GET `path(id)` for every ticket, `sync.message_concurrency` at a time (all within the
    /// account's limiter), and return the answers that came (in completion order). A ticket
    /// whose answer is the vendor's error gets a quarantine row with the reason in `bad` and a
    /// NULL hash, so the next run tries it again; transient failures that outlived their
    /// retries, and a refused key, stop the stream.
    async fn fetch_each(
        &self,
        ctx: &StreamCtx,
        tickets: &mut [TicketRow],
        what: &str,
        path: fn(&str) -> String,
        bad: &mut Vec<Quarantined>,
    ) -> Result<Vec<(String, Value)>, SyncError> {
        let ids: Vec<String> = tickets.iter().map(|t| t.ticket_id.clone()).collect();
        let http = &self.http;
        let read = children::fetch_each(ctx, ids, ctx.sync.message_concurrency, |id| async move {
            response(http.get_json(&path(&id), &[]).await?, what)
        })
        .await?;
        let mut failed = HashSet::new();
        for (id, reason) in read.failed {
            failed.insert(id.clone());
            bad.push(Quarantined {
                record_key: Some(id),
                reason: format!("{what} could not be read (retried next run): {reason}"),
                raw: String::new(),
            });
        }
        let answers = read.answers;
        for t in tickets.iter_mut().filter(|t| failed.contains(&t.ticket_id)) {
            t.content_hash = None;
        }
        Ok(answers)
    }

    /// Conversation details of `tickets` (opt-in stream `conversation_details`): `assignedto`
    /// fills `assignee_id`; custom fields and the owner note become `ticket_fields` rows.
    async fn fetch_details(
        &self,
        ctx: &StreamCtx,
        tickets: &mut [TicketRow],
        now: DateTime<Utc>,
    ) -> Result<(Vec<TicketFieldRow>, Vec<String>, Vec<Quarantined>), SyncError> {
        let mut fields = Vec::new();
        let mut bad = Vec::new();
        if !ctx.wants("conversation_details") || tickets.is_empty() {
            return Ok((fields, Vec::new(), bad));
        }
        let answers = self
            .fetch_each(
                ctx,
                tickets,
                "conversation details",
                |id| format!("/api/conversations/{}", path_segment(id)),
                &mut bad,
            )
            .await?;
        let detailed: Vec<String> = answers.iter().map(|(id, _)| id.clone()).collect();
        for (id, r) in answers {
            if let Some(t) = tickets.iter_mut().find(|t| t.ticket_id == id) {
                t.assignee_id = code_or_none(&r, "assignedto");
            }
            let mut field = |code: String, value: Option<String>| {
                let hash = content_hash(&serde_json::json!({ "code": code, "value": value }));
                fields.push(TicketFieldRow {
                    source: SOURCE,
                    account: ctx.account.clone(),
                    ticket_id: id.clone(),
                    field_code: code,
                    value,
                    content_hash: Some(hash),
                    synced_at: now,
                });
            };
            if let Some(note) = code_or_none(&r, "ownernote") {
                field("ownernote".into(), Some(note));
            }
            for f in list(&r, "customfields", "conversation details")? {
                match code_or_none(f, "code") {
                    Some(code) => field(code, text(f, "value").ok().flatten()),
                    None => bad.push(Quarantined::record(f, Some(id.clone()), "custom field without a code".into())),
                }
            }
        }
        Ok((fields, detailed, bad))
    }

    /// Tags of `tickets` (opt-in stream `conversation_tags`), with their names as the
    /// conversation lists them; failures as in `fetch_each`.
    async fn fetch_tags(
        &self,
        ctx: &StreamCtx,
        tickets: &mut [TicketRow],
        now: DateTime<Utc>,
    ) -> Result<(Vec<crate::model::normalize::Row>, Vec<String>, Vec<Quarantined>), SyncError> {
        let mut rows = Vec::new();
        let mut bad = Vec::new();
        if !ctx.wants("conversation_tags") || tickets.is_empty() {
            return Ok((rows, Vec::new(), bad));
        }
        let answers = self
            .fetch_each(
                ctx,
                tickets,
                "conversation tags",
                |id| format!("/api/conversations/{}/tags", path_segment(id)),
                &mut bad,
            )
            .await?;
        let table = Table::Def(&crate::model::tables::CONVERSATION_TAGS);
        let tagged: Vec<String> = answers.iter().map(|(id, _)| id.clone()).collect();
        for (id, r) in answers {
            let cx = crate::model::normalize::Context {
                source: SOURCE,
                account: &ctx.account,
                timezone: ctx.timezone,
                now,
                renames: &[("tag_id", "id")],
                fixed: vec![("ticket_id", Value::String(id.clone()))],
            };
            for tag in list(&r, "tags", "conversation tags")? {
                match crate::model::normalize::row(table, tag, &cx) {
                    Ok(row) => rows.push(row),
                    Err(reason) => bad.push(Quarantined::record(tag, Some(id.clone()), reason)),
                }
            }
        }
        Ok((rows, tagged, bad))
    }

    /// Messages of `tickets` (when the messages stream is selected); failures as in `fetch_each`.
    async fn fetch_messages(
        &self,
        ctx: &StreamCtx,
        tickets: &mut [TicketRow],
        now: DateTime<Utc>,
    ) -> Result<(Vec<MessageRow>, Vec<Quarantined>), SyncError> {
        let mut messages: Vec<MessageRow> = Vec::new();
        let mut bad = Vec::new();
        if !ctx.wants("messages") || tickets.is_empty() {
            return Ok((messages, bad));
        }
        let answers = self
            .fetch_each(
                ctx,
                tickets,
                "messages",
                |id| format!("/api/conversations/{}/messages", path_segment(id)),
                &mut bad,
            )
            .await?;
        for (id, r) in answers {
            let (rows, q) = message_rows(&r, &id, &ctx.account, ctx.timezone, now);
            messages.extend(rows);
            bad.extend(q);
        }
        Ok((messages, bad))
    }
}

/// Pipelines batch commits behind the fetching of the next batch (see `load_conversations`).
#[derive(Default)]
struct BatchLoader {
    /// The built unit waiting to be committed.
    next: Option<LoadUnit>,
    /// The commit under way.
    pending: Option<crate::engine::PendingCommit>,
    /// Ticket hashes of `next`/`pending`, not yet visible in the warehouse.
    recent: HashMap<String, Option<String>>,
}

impl BatchLoader {
    fn start(&mut self, ctx: &StreamCtx) {
        if let Some(unit) = self.next.take() {
            self.pending = Some(ctx.start_commit(unit));
        }
    }

    async fn finish(&mut self, ctx: &mut StreamCtx) -> Result<(), SyncError> {
        match self.pending.take() {
            Some(p) => ctx.finish_commit(p).await,
            None => Ok(()),
        }
    }

    /// Commit whatever is still waiting.
    async fn flush(&mut self, ctx: &mut StreamCtx) -> Result<(), SyncError> {
        self.start(ctx);
        self.finish(ctx).await
    }
}

/// The conversations of a listing's `response`.
fn list_of(r: Value) -> Result<Vec<Value>, SyncError> {
    Ok(list(&r, "conversations", "conversations")?.to_vec())
}

fn conversation_keys(page: &[Value]) -> Vec<Option<String>> {
    page.iter().map(|c| code_or_none(c, "conversationid")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn normalizes_the_documented_example() {
        let raw: Value = serde_json::from_str(
            r#"{ "conversationid":"s4y7t5s7", "code":"AX4-B4T-FD8", "datecreated":"2012-03-02 11:21:04",
            "datechanged":"2012-03-02 11:21:05", "departmentname":"Department 1", "departmentid":"a5j9t4d8",
            "status":"A", "ownername":"John Owner", "owneremail":"john@owner.com", "subject":"Test ticket",
            "preview":"this is test ticket", "publicurlcode":"bI5fR3oN40708G65", "tags":"tagid1, tagid2",
            "channel_type":"E", "messagegroupsin":"2", "messagegroupsout":5 }"#,
        )
        .unwrap();
        let now = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
        let phoenix: chrono_tz::Tz = "America/Phoenix".parse().unwrap();
        let t = ticket_row(&raw, "acme", phoenix, now).unwrap();
        assert_eq!(t.status.as_deref(), Some("answered"));
        assert_eq!(t.channel.as_deref(), Some("email"));
        assert_eq!(t.tags, vec!["tagid1", "tagid2"]);
        assert_eq!(t.messages_in, Some(2));
        assert_eq!(t.messages_out, Some(5));
        assert_eq!(t.created_at.unwrap().to_rfc3339(), "2012-03-02T18:21:04+00:00");
        assert!(t.due_at.is_none());
    }

    #[test]
    fn malformed_records_are_quarantined_with_a_reason() {
        let now = Utc::now();
        let no_id: Value = serde_json::json!({"subject": "x"});
        assert!(ticket_row(&no_id, "a", chrono_tz::UTC, now).unwrap_err().reason.contains("conversationid"));
        let bad_date: Value = serde_json::json!({"conversationid": "c1", "datechanged": "yesterday"});
        let q = ticket_row(&bad_date, "a", chrono_tz::UTC, now).unwrap_err();
        assert_eq!(q.record_key.as_deref(), Some("c1"));
        assert!(q.reason.contains("datechanged 'yesterday'"), "{}", q.reason);
    }
}
