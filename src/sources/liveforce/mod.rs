//! Liveforce (a CRM built on Perfex; `shared/api-docs/liveforce-api-tickets.txt`).
//!
//! The documentation gives one call in full — `POST /ticket/create`: HTTP Basic auth, a
//! `{"data": …, "message": "success"}` envelope, 200/401/422 — and only names the others. So
//! **the paths, parameters and paging of the list calls are inferred**: they follow the
//! documented style (`/<resource>/<action>`, see [`CALLS`]) and Perfex's paging (`page`,
//! `per_page`), and every one can be overridden per pipeline (`[liveforce]`). The field names
//! are Perfex's. `desksync streams` marks these endpoints "(inferred)".
//!
//! Lists are read by [`Liveforce::read_list`], which copes without configuration with what
//! Perfex-style APIs do: an unpaged list that returns the whole table whatever the page; a
//! `per_page` silently clamped (to 100); a page past the end answered with the *last page
//! again* (repeated ids end the listing: it never loops); an empty list answered as HTTP 404
//! `{"status":false,"message":"No data were found"}` (zero rows, not an error); 401 and 422 as
//! clear errors; 429 with `X-RateLimit-*` headers (waited out like `Retry-After`).
//!
//! There is no updated-since filter: every run lists each stream whole and writes only the
//! records whose content hash changed (cost: one listing per run, `rows / per_page` requests
//! per stream; details only for changed records). Tickets are listed by `lastreply`
//! ascending, so a reply during the listing moves a ticket to the end and shifts the others
//! one place: when a ticket replied to after the listing began is seen, the listing is read
//! again (at most three times) and duplicates are dropped by key. Merged tickets keep their
//! row with `merged_into`, and their messages are not read (they live on the surviving ticket).
//! Dates are the server's local `Y-m-d H:i:s`, read in the pipeline's `timezone`.

pub mod settings;

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

use super::{StreamInfo, SyncMode};
use crate::config::PipelineConfig;
use crate::engine::children;
use crate::engine::paging::{PageNumberPager, Pager, Request, Step};
use crate::engine::shapes::{self, Deletions};
use crate::engine::{StreamCtx, batch};
use crate::error::{HttpError, SyncError};
use crate::http::{Auth, HttpClient};
use crate::model::fields::{code, code_or_none, local_time, text};
use crate::model::normalize::{self, Context, Row};
use crate::model::tables as t;
use crate::model::{MessageRow, Quarantined, Table, TableDef, TicketRow, content_hash, looks_like_html};
use crate::state::StreamState;
use crate::warehouse::{LoadUnit, Replace};

pub const SOURCE: &str = "liveforce";

/// Every call and its default path (inferred; `{id}` is a record id).
pub const CALLS: &[(&str, &str)] = &[
    ("ticket_statuses", "/ticket/statuses"),
    ("tickets", "/ticket/list"),
    ("ticket_details", "/ticket/details/{id}"),
    ("staff", "/staff/list"),
    ("call_logs", "/call-log/list"),
    ("leads", "/lead/list"),
    ("lead_notes", "/lead/notes/{id}"),
    ("leads_by_status", "/lead/count-by-status"),
    ("leads_summary", "/lead/summary"),
    ("deals", "/deal/list"),
    ("deal_sources", "/deal/sources"),
    ("deal_stages", "/deal/pipeline"),
    ("deal_services", "/deal/services/{id}"),
];

const fn info(name: &'static str, table: Table, mode: SyncMode, endpoint: &'static str, order: u8) -> StreamInfo {
    StreamInfo { name, table, mode, cursor: None, endpoint, order, default_on: true, parent: None }
}

/// A stream read per changed record of `parent`.
const fn child(
    name: &'static str,
    parent: &'static str,
    table: Table,
    endpoint: &'static str,
    order: u8,
) -> StreamInfo {
    StreamInfo {
        name,
        table,
        mode: SyncMode::ChildOfChanged,
        cursor: None,
        endpoint,
        order,
        default_on: true,
        parent: Some(parent),
    }
}

pub const STREAMS: &[StreamInfo] = &[
    info(
        "ticket_statuses",
        Table::Def(&t::TICKET_STATUSES),
        SyncMode::FullRefresh,
        "GET /ticket/statuses (inferred)",
        0,
    ),
    info("staff", Table::Def(&t::AGENTS), SyncMode::FullRefresh, "GET /staff/list (inferred)", 1),
    info("deal_sources", Table::Def(&t::DEAL_SOURCES), SyncMode::FullRefresh, "GET /deal/sources (inferred)", 2),
    info("deal_stages", Table::Def(&t::DEAL_STAGES), SyncMode::FullRefresh, "GET /deal/pipeline (inferred)", 2),
    info("tickets", Table::Tickets, SyncMode::ChangedByHash, "GET /ticket/list (inferred; paged, by lastreply)", 10),
    child("ticket_messages", "tickets", Table::Messages, "GET /ticket/details/{id} (inferred)", 11),
    info("call_logs", Table::Def(&t::CALLS), SyncMode::ChangedByHash, "GET /call-log/list (inferred)", 12),
    info("leads", Table::Def(&t::LEADS), SyncMode::ChangedByHash, "GET /lead/list (inferred)", 13),
    child("lead_notes", "leads", Table::Def(&t::LEAD_NOTES), "GET /lead/notes/{id} (inferred)", 14),
    info("deals", Table::Def(&t::DEALS), SyncMode::ChangedByHash, "GET /deal/list (inferred)", 15),
    child("deal_services", "deals", Table::Def(&t::DEAL_SERVICES), "GET /deal/services/{id} (inferred)", 16),
    info(
        "leads_by_status",
        Table::Def(&t::LEADS_STATUS_SNAPSHOTS),
        SyncMode::Snapshot,
        "GET /lead/count-by-status (inferred)",
        30,
    ),
    info(
        "leads_summary",
        Table::Def(&t::LEADS_SUMMARY_SNAPSHOTS),
        SyncMode::Snapshot,
        "GET /lead/summary (inferred)",
        30,
    ),
];

/// A child call read per changed record: (stream, call, table, the parent-id column, renames).
type Child = (&'static str, &'static str, &'static TableDef, &'static str, &'static [(&'static str, &'static str)]);

/// A declared-table stream: its call, the vendor id field, the renames its fields need, and
/// the per-record child call (with its table and the child's id field).
struct Spec {
    call: &'static str,
    table: &'static TableDef,
    id_key: &'static str,
    renames: &'static [(&'static str, &'static str)],
    child: Option<Child>,
}

const SPECS: &[Spec] = &[
    Spec {
        call: "ticket_statuses",
        table: &t::TICKET_STATUSES,
        id_key: "ticketstatusid",
        renames: &[
            ("status_id", "ticketstatusid"),
            ("is_default", "isdefault"),
            ("color", "statuscolor"),
            ("sort_order", "statusorder"),
        ],
        child: None,
    },
    Spec {
        call: "staff",
        table: &t::AGENTS,
        id_key: "staffid",
        renames: &[
            ("agent_id", "staffid"),
            ("first_name", "firstname"),
            ("last_name", "lastname"),
            ("avatar_url", "profile_image"),
        ],
        child: None,
    },
    Spec { call: "deal_sources", table: &t::DEAL_SOURCES, id_key: "id", renames: &[("source_id", "id")], child: None },
    Spec {
        call: "deal_stages",
        table: &t::DEAL_STAGES,
        id_key: "id",
        renames: &[("stage_id", "id"), ("sort_order", "order")],
        child: None,
    },
    Spec {
        call: "call_logs",
        table: &t::CALLS,
        id_key: "id",
        renames: &[
            ("call_id", "id"),
            ("direction", "call_type"),
            ("agent_id", "staffid"),
            ("customer_id", "contact_id"),
            ("started_at", "call_start"),
            ("duration_seconds", "call_duration"),
            ("status", "call_status"),
        ],
        child: None,
    },
    Spec {
        call: "leads",
        table: &t::LEADS,
        id_key: "id",
        renames: &[
            ("lead_id", "id"),
            ("phone", "phonenumber"),
            ("status_id", "status"),
            ("source_id", "source"),
            ("assigned_to", "assigned"),
            ("created_at", "dateadded"),
            ("last_contact_at", "lastcontact"),
        ],
        child: Some((
            "lead_notes",
            "lead_notes",
            &t::LEAD_NOTES,
            "lead_id",
            &[("note_id", "id"), ("staff_id", "addedfrom"), ("created_at", "dateadded")],
        )),
    },
    Spec {
        call: "deals",
        table: &t::DEALS,
        id_key: "id",
        renames: &[
            ("deal_id", "id"),
            ("stage_id", "pipeline_stage_id"),
            ("assigned_to", "assigned"),
            ("lead_id", "lead_id"),
            ("created_at", "dateadded"),
            ("expected_close_at", "expected_close_date"),
        ],
        child: Some(("deal_services", "deal_services", &t::DEAL_SERVICES, "deal_id", &[("service_id", "id")])),
    },
];

/// Perfex's error bodies: `{"status":false,"message":"…"}` (and 422's `errors`).
fn decode_error(_status: u16, body: &str) -> Option<String> {
    let v: Value = serde_json::from_str(body).ok()?;
    let mut msg = v.get("message").and_then(Value::as_str)?.to_string();
    if let Some(errors) = v.get("errors").filter(|e| !e.is_null()) {
        msg.push_str(&format!(" ({errors})"));
    }
    Some(msg)
}

pub fn http_client(cfg: &PipelineConfig) -> HttpClient {
    HttpClient::new(
        &cfg.name,
        cfg.base_url.clone(),
        Auth::Basic { user: cfg.username.clone().unwrap_or_default(), password: cfg.api_key.clone() },
        &cfg.http,
        decode_error,
    )
}

/// The canonical status of a Perfex status id (custom statuses by their name).
pub fn canonical_status(id: &str, name: Option<&str>) -> &'static str {
    match id {
        "1" => "open",
        "2" => "in_progress",
        "3" => "answered",
        "4" => "pending",
        "5" => "closed",
        // A custom status: its name says what it means.
        _ => {
            let n = name.map(str::to_lowercase).unwrap_or_default();
            let has = |words: &[&str]| words.iter().any(|w| n.contains(w));
            if has(&["spam", "junk"]) {
                "spam"
            } else if has(&["close", "resolv", "solved", "done", "complete", "finish"]) {
                "closed"
            } else if has(&["hold", "wait", "pending", "postpon", "snooz", "paused"]) {
                "pending"
            } else if has(&["answer", "replied"]) {
                "answered"
            } else if has(&["progress", "working", "assigned"]) {
                "in_progress"
            } else {
                "open"
            }
        }
    }
}

pub fn priority(id: &str) -> String {
    match id {
        "1" => "low".into(),
        "2" => "medium".into(),
        "3" => "high".into(),
        other => other.to_string(),
    }
}

/// A staff or contact id where `"0"` means nobody.
fn someone(v: &Value, key: &str) -> Option<String> {
    code_or_none(v, key).filter(|x| x != "0")
}

/// The records of an answer's `data` (a list, or an object holding one list, or one record).
pub fn records(answer: &Value) -> Result<Vec<Value>, SyncError> {
    match answer.get("data") {
        Some(Value::Array(a)) => Ok(a.clone()),
        Some(Value::Object(o)) => match o.values().find(|v| v.is_array()) {
            Some(Value::Array(a)) if o.len() <= 3 => Ok(a.clone()),
            _ => Ok(vec![Value::Object(o.clone())]),
        },
        Some(Value::Null) | None if answer.is_array() => Ok(answer.as_array().cloned().unwrap_or_default()),
        _ => Err(SyncError::Protocol(format!(
            "Liveforce answered without a \"data\" list: {}",
            answer.to_string().chars().take(200).collect::<String>()
        ))),
    }
}

/// Normalize one ticket list record; `statuses` maps status ids to names.
pub fn ticket_row(
    raw: &Value,
    account: &str,
    tz: chrono_tz::Tz,
    statuses: &BTreeMap<String, String>,
    now: DateTime<Utc>,
) -> Result<TicketRow, Quarantined> {
    let q = |key: Option<String>, reason: String| Quarantined::record(raw, key, reason);
    let id = code_or_none(raw, "ticketid").ok_or_else(|| q(None, "ticket without a ticketid".into()))?;
    let build = || -> Result<TicketRow, String> {
        let status_id = code_or_none(raw, "status_id")
            .or_else(|| code_or_none(raw, "status").filter(|x| x.chars().all(|c| c.is_ascii_digit())));
        let status_name =
            status_id.as_ref().and_then(|i| statuses.get(i).cloned()).or_else(|| code_or_none(raw, "status"));
        let created = local_time(raw, "date", tz)?;
        // Perfex lists tickets with `SELECT *` over joined tables and PHP keeps the last of each
        // duplicated name: `name` is the priority's, `email` the contact's. The requester is the
        // contact's name and e-mail, or, without a contact, `from_name` and `ticket_email`.
        let (requester_name, requester_email) = if someone(raw, "contactid").is_some() {
            let parts: Vec<String> = [text(raw, "firstname")?, text(raw, "lastname")?].into_iter().flatten().collect();
            let name = (!parts.is_empty()).then(|| parts.join(" ").trim().to_string());
            (name, text(raw, "email")?)
        } else {
            (text(raw, "from_name")?, text(raw, "ticket_email")?)
        };
        Ok(TicketRow {
            source: SOURCE,
            account: account.to_string(),
            ticket_id: id.clone(),
            code: code(raw, "ticketkey")?,
            subject: text(raw, "subject")?,
            status: Some(canonical_status(status_id.as_deref().unwrap_or(""), status_name.as_deref()).to_string()),
            status_raw: status_name.or(status_id),
            channel: Some("email".into()),
            channel_raw: code(raw, "service")?,
            department_id: someone(raw, "department"),
            department_name: text(raw, "department_name")?,
            assignee_id: someone(raw, "assigned"),
            requester_name,
            requester_email,
            language: None,
            tags: Vec::new(),
            created_at: created,
            updated_at: local_time(raw, "lastreply", tz)?.or(created),
            due_at: None,
            messages_in: None,
            messages_out: None,
            deleted_at: None,
            content_hash: Some(content_hash(raw)),
            raw: raw.to_string(),
            synced_at: now,
            priority: someone(raw, "priority").map(|p| priority(&p)),
            merged_into: someone(raw, "merged_ticket_id"),
        })
    };
    build().map_err(|reason| q(Some(id.clone()), reason))
}

/// The opening message and the replies of a ticket-details answer.
pub fn message_rows(
    details: &Value,
    ticket_id: &str,
    account: &str,
    tz: chrono_tz::Tz,
    now: DateTime<Utc>,
) -> (Vec<MessageRow>, Vec<Quarantined>) {
    let mut rows = Vec::new();
    let mut bad = Vec::new();
    let mut one = |m: &Value, message_id: String, body_key: &str| {
        let build = || -> Result<MessageRow, String> {
            let staff = someone(m, "admin");
            let body = text(m, body_key)?;
            Ok(MessageRow {
                source: SOURCE,
                account: account.to_string(),
                ticket_id: ticket_id.to_string(),
                message_id: message_id.clone(),
                group_id: None,
                // The opening message is the ticket row: without a contact its sender is the
                // ticket's `ticket_email` (the row's `email` is the missing contact's).
                author_id: staff
                    .clone()
                    .or_else(|| someone(m, "contactid"))
                    .or_else(|| code_or_none(m, "email"))
                    .or_else(|| code_or_none(m, "ticket_email")),
                author_type: if staff.is_some() { "agent" } else { "customer" },
                kind: "message",
                type_raw: None,
                group_type_raw: None,
                is_internal: false,
                created_at: local_time(m, "date", tz)?,
                body_format: if body.as_deref().is_some_and(looks_like_html) { "html" } else { "text" },
                body,
                content_hash: Some(content_hash(m)),
                raw: m.to_string(),
                synced_at: now,
            })
        };
        match build() {
            Ok(r) => rows.push(r),
            Err(reason) => bad.push(Quarantined::record(m, Some(format!("{ticket_id}/{message_id}")), reason)),
        }
    };
    let mut opening = details.clone();
    if let Some(o) = opening.as_object_mut() {
        o.remove("replies");
    }
    one(&opening, format!("ticket-{ticket_id}"), "message");
    let mut no_id = Vec::new();
    for r in details.get("replies").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default() {
        match code_or_none(r, "id") {
            Some(rid) => one(r, format!("reply-{rid}"), "message"),
            None => no_id.push(Quarantined {
                record_key: Some(ticket_id.to_string()),
                reason: "reply without an id".into(),
                raw: r.to_string(),
            }),
        }
    }
    bad.extend(no_id);
    (rows, bad)
}

pub struct Liveforce {
    pub http: HttpClient,
    settings: settings::LiveforceSettings,
}

impl Liveforce {
    pub fn new(cfg: &PipelineConfig, http: HttpClient) -> Liveforce {
        Liveforce { http, settings: settings::LiveforceSettings::from_section(cfg.section.as_ref()) }
    }

    fn path(&self, call: &str, id: Option<&str>) -> String {
        let p = self
            .settings
            .paths
            .get(call)
            .map(String::as_str)
            .or_else(|| CALLS.iter().find(|(c, _)| *c == call).map(|(_, p)| *p))
            .unwrap_or("/");
        match id {
            Some(id) => p.replace("{id}", &crate::http::path_segment(id)),
            None => p.to_string(),
        }
    }

    /// GET a call; a 404 saying "No data were found" is an empty answer.
    async fn get(&self, ctx: Option<&StreamCtx>, path: &str, query: &[(&str, String)]) -> Result<Value, SyncError> {
        let fut = async {
            match self.http.get_json(path, query).await {
                Ok(v) => Ok(v),
                Err(HttpError::NotFound { message, .. }) if message.to_ascii_lowercase().contains("no data") => {
                    Ok(serde_json::json!({ "data": [] }))
                }
                Err(e) => Err(e),
            }
        };
        match ctx {
            Some(ctx) => ctx.guard(fut).await,
            None => Ok(fut.await?),
        }
    }

    /// Every record of a list call, whatever its paging (see the module documentation).
    pub async fn read_list(&self, ctx: &StreamCtx, call: &str, id_key: &str) -> Result<Vec<Value>, SyncError> {
        let path = self.path(call, None);
        let mut pager = PageNumberPager::new(self.settings.per_page, 100_000);
        let mut out: Vec<(String, Value)> = Vec::new();
        let mut sizes: Vec<usize> = Vec::new();
        while let Some(Request::PageNumber { page, per_page }) = pager.request() {
            ctx.check_shutdown()?;
            let q = [
                (self.settings.page_param.as_str(), page.to_string()),
                (self.settings.per_page_param.as_str(), per_page.to_string()),
            ];
            let items = records(&self.get(Some(ctx), &path, &q).await?)?;
            let keyed: Vec<(String, Value)> =
                items.into_iter().map(|r| (code_or_none(&r, id_key).unwrap_or_else(|| content_hash(&r)), r)).collect();
            let keys: Vec<Option<String>> = keyed.iter().map(|(k, _)| Some(k.clone())).collect();
            let step = pager.judge(&keys);
            sizes.push(keyed.len());
            out.extend(keyed); // a page seen again may still hold fresher copies
            if step == Step::Done {
                break;
            }
        }
        // One short page, answered again for page 2: the whole list — or a server that reads
        // other paging parameter names and sent its first page twice. A page of a typical
        // default size is suspicious: ask for one record per page; a server that still sends
        // them all ignores our names, and taking its first page for the list would lose the rest.
        if let [first, again] = sizes[..]
            && first == again
            && first < pager.per_page
            && [10, 15, 20, 25, 30, 50, 100].contains(&first)
        {
            let q = [
                (self.settings.page_param.as_str(), "1".to_string()),
                (self.settings.per_page_param.as_str(), "1".to_string()),
            ];
            let probe = records(&self.get(Some(ctx), &path, &q).await?)?;
            if probe.len() > 1 {
                return Err(SyncError::Protocol(format!(
                    "{path} ignores the paging parameters desksync sends ({}=…, {}=…): it answers the same {first} \
                     records whatever the page and page size, so the rest of the list cannot be read. Set \
                     [liveforce] page_param and per_page_param to the names this server reads",
                    self.settings.page_param, self.settings.per_page_param
                )));
            }
        }
        // A record seen twice (it moved while we paged): the later copy is the fresher.
        Ok(normalize::dedup_by(out, |(k, _)| k.clone()).into_iter().map(|(_, r)| r).collect())
    }

    pub async fn check(&self) -> Result<String, SyncError> {
        // Some Perfex API modules answer refused credentials with 404: the ticket statuses exist
        // on every server, so a 404 for them (other than "no data") is a refusal, said once.
        let v = match self.get(None, &self.path("ticket_statuses", None), &[]).await {
            Err(SyncError::Http(HttpError::NotFound { url, message })) => {
                let e = HttpError::Unauthorized {
                    url,
                    status: 404,
                    message: format!(
                        "{message}; this API answers 404 to refused credentials too: check username and password \
                         (and base_url, and that the ticket API is enabled)"
                    ),
                };
                self.http.refuse(e.clone());
                return Err(e.into());
            }
            other => other?,
        };
        let n = records(&v)?.len();
        Ok(format!("Liveforce at {}: logged in, {n} ticket statuses", crate::http::redact_url(self.http.base())))
    }

    pub async fn sync_stream(&self, stream: &str, ctx: &mut StreamCtx) -> Result<(), SyncError> {
        match stream {
            "tickets" => self.tickets(ctx).await,
            "ticket_messages" | "lead_notes" | "deal_services" => Ok(()), // with their parents
            "leads_by_status" | "leads_summary" => self.snapshot(stream, ctx).await,
            other => match SPECS.iter().find(|s| s.call == other) {
                Some(spec) => self.declared(spec, ctx).await,
                None => Err(SyncError::Protocol(format!("liveforce has no stream '{other}'"))),
            },
        }
    }

    fn context<'c>(
        ctx: &'c StreamCtx,
        renames: &'static [(&'static str, &'static str)],
        now: DateTime<Utc>,
    ) -> Context<'c> {
        Context { source: SOURCE, account: &ctx.account, timezone: ctx.timezone, now, renames, fixed: vec![] }
    }

    /// A declared-table stream: list whole, write what changed (dimensions: mark what is gone),
    /// and read the children of changed records.
    async fn declared(&self, spec: &Spec, ctx: &mut StreamCtx) -> Result<(), SyncError> {
        let table = Table::Def(spec.table);
        let listed = self.read_list(ctx, spec.call, spec.id_key).await?;
        let now = Utc::now();
        let mut cx = Self::context(ctx, spec.renames, now);
        if spec.call == "staff" {
            cx.fixed.push(("known_from", Value::String("staff".into())));
        }
        let mut rows = Vec::new();
        let mut bad = Vec::new();
        for r in &listed {
            let mut cx_r = Context { fixed: cx.fixed.clone(), ..cx };
            if spec.call == "ticket_statuses" {
                let id = code_or_none(r, "ticketstatusid").unwrap_or_default();
                cx_r.fixed.push(("canonical", canonical_status(&id, code_or_none(r, "name").as_deref()).into()));
            }
            match normalize::row(table, r, &cx_r) {
                Ok(row) => rows.push(row),
                Err(reason) => {
                    bad.push(Quarantined { record_key: code_or_none(r, spec.id_key), reason, raw: r.to_string() })
                }
            }
        }
        let (mut changed, listed_ids) = shapes::changed_by_hash(ctx, table, rows).await?;
        let id_col = *spec.table.primary_key.last().expect("key");
        let mut unit = LoadUnit::default();
        // Children of changed parents, replaced as a whole.
        if let Some((stream, call, child_table, parent_col, renames)) = spec.child
            && ctx.wants(stream)
        {
            let child = Table::Def(child_table);
            let mut child_rows = Vec::new();
            let mut parents = Vec::new();
            let ids: Vec<String> =
                changed.iter().filter_map(|r| r.get(id_col).and_then(Value::as_str).map(String::from)).collect();
            let c: &StreamCtx = ctx;
            let read = children::fetch_each(c, ids, c.sync.message_concurrency, |pid| async move {
                records(&self.get(Some(c), &self.path(call, Some(&pid)), &[]).await?)
            })
            .await?;
            for (pid, list) in read.answers {
                let ccx = Context {
                    source: SOURCE,
                    account: &ctx.account,
                    timezone: ctx.timezone,
                    now,
                    renames,
                    fixed: vec![(parent_col, Value::String(pid.clone()))],
                };
                for c in list {
                    match normalize::row(child, &c, &ccx) {
                        Ok(row) => child_rows.push(row),
                        Err(reason) => bad.push(Quarantined::record(&c, Some(pid.clone()), reason)),
                    }
                }
                parents.push(pid);
            }
            for (pid, reason) in read.failed {
                // Kept with a NULL hash: the next run reads its children again.
                if let Some(r) = changed.iter_mut().find(|r| normalize::text_of(r, id_col).as_deref() == Some(&pid)) {
                    r.insert("content_hash".into(), Value::Null);
                }
                let reason = format!("{stream} could not be read (retried next run): {reason}");
                ctx.missed(&pid, &reason);
                bad.push(Quarantined { record_key: Some(pid), reason, raw: String::new() });
            }
            unit.replace.push(Replace { table: child, filters: vec![], column: parent_col, values: parents });
            unit.batches.push((child, batch(child, &normalize::dedup(child, child_rows))?));
        }
        // Dimensions (small, listed whole): a record no longer listed is marked deleted.
        let deletions =
            if spec.table.columns.iter().any(|(c, _)| *c == "deleted_at") { Deletions::Mark } else { Deletions::Keep };
        shapes::commit_changed(ctx, table, &changed, listed_ids, bad, deletions, unit).await
    }

    async fn snapshot(&self, stream: &str, ctx: &mut StreamCtx) -> Result<(), SyncError> {
        let answer = self.get(Some(ctx), &self.path(stream, None), &[]).await?;
        let now = Utc::now();
        let captured = shapes::capture_time();
        let mut bad = Vec::new();
        let (table, rows) = if stream == "leads_by_status" {
            let table = Table::Def(&t::LEADS_STATUS_SNAPSHOTS);
            let mut cx =
                Self::context(ctx, &[("status_id", "status"), ("status_name", "name"), ("leads", "total")], now);
            cx.fixed.push(("captured_at", normalize::ts(captured)));
            let mut rows = Vec::new();
            for r in records(&answer)? {
                match normalize::row(table, &r, &cx) {
                    Ok(row) => rows.push(row),
                    Err(reason) => bad.push(Quarantined::record(&r, None, reason)),
                }
            }
            (table, rows)
        } else {
            // The summary's shape is not documented: every scalar figure becomes a row.
            let table = Table::Def(&t::LEADS_SUMMARY_SNAPSHOTS);
            let mut rows = Vec::new();
            let data = answer.get("data").cloned().unwrap_or(Value::Null);
            let mut flat = Vec::new();
            flatten("", &data, &mut flat);
            for (metric, v) in flat {
                let raw = serde_json::json!({ "metric": metric, "value": v });
                let mut row = Row::new();
                row.insert("source".into(), SOURCE.into());
                row.insert("account".into(), ctx.account.clone().into());
                row.insert("captured_at".into(), normalize::ts(captured));
                row.insert("metric".into(), metric.into());
                let text = match &v {
                    Value::String(x) => x.clone(),
                    other => other.to_string(),
                };
                row.insert("value".into(), text.trim().parse::<f64>().map(Value::from).unwrap_or(Value::Null));
                row.insert("value_text".into(), text.into());
                row.insert("content_hash".into(), content_hash(&raw).into());
                row.insert("raw".into(), raw.to_string().into());
                row.insert("synced_at".into(), normalize::ts(now));
                rows.push(row);
            }
            (table, rows)
        };
        shapes::snapshot(ctx, table, rows, bad, captured).await
    }

    /// Tickets: see the module documentation.
    async fn tickets(&self, ctx: &mut StreamCtx) -> Result<(), SyncError> {
        let statuses: BTreeMap<String, String> =
            records(&self.get(Some(ctx), &self.path("ticket_statuses", None), &[]).await?)?
                .iter()
                .filter_map(|r| Some((code_or_none(r, "ticketstatusid")?, code_or_none(r, "name")?)))
                .collect();
        let mut seen: HashSet<String> = HashSet::new();
        let mut written: HashSet<String> = HashSet::new();
        let mut survivors: HashSet<String> = HashSet::new();
        let mut last_listing: Vec<TicketRow> = Vec::new();
        // `lastreply` has whole seconds: a reply in the same second as the last run's listing
        // leaves the row as it was. Tickets replied to within the lookback before the last
        // run are read again whatever their row says.
        let recent = ctx.state.cursor.map_or(DateTime::<Utc>::MIN_UTC, |c| {
            c - Duration::from_std(ctx.sync.lookback).unwrap_or(Duration::seconds(600))
        });
        for pass in 1..=3 {
            let started = Utc::now();
            let listed = self.read_list(ctx, "tickets", "ticketid").await?;
            let now = Utc::now();
            let mut tickets = Vec::new();
            let mut bad = Vec::new();
            for r in &listed {
                match ticket_row(r, &ctx.account, ctx.timezone, &statuses, now) {
                    Ok(t) => tickets.push(t),
                    Err(q) => bad.push(q),
                }
            }
            let mut unique = HashSet::new();
            tickets.retain(|t| unique.insert(t.ticket_id.clone()));
            seen.extend(unique);
            let mut changed = Vec::new();
            for chunk in tickets.chunks(ctx.sync.batch_size.max(1)) {
                changed.extend(self.load_tickets(ctx, chunk.to_vec(), std::mem::take(&mut bad), Some(recent)).await?);
            }
            if !bad.is_empty() {
                self.load_tickets(ctx, Vec::new(), bad, Some(recent)).await?;
            }
            // A ticket changed and replied to after this listing began (a minute of clock skew
            // allowed) moved to the end of the list while we paged, shifting the others one
            // place: read the list again. Unchanged tickets prove nothing moved.
            let moved = changed.iter().any(|t| t.updated_at.is_some_and(|u| u >= started - Duration::seconds(60)));
            for t in &changed {
                written.insert(t.ticket_id.clone());
                // A merge changes the merged ticket's row only: the survivor, which now holds
                // the moved replies, must be read again.
                if let Some(into) = &t.merged_into {
                    survivors.insert(into.clone());
                }
            }
            last_listing = tickets;
            if !moved {
                break;
            }
            tracing::info!(pipeline = %ctx.pipeline, pass, "tickets were replied to while listing: reading the list again");
        }
        let reread: Vec<TicketRow> = last_listing
            .into_iter()
            .filter(|t| survivors.contains(&t.ticket_id) && t.merged_into.is_none() && !written.contains(&t.ticket_id))
            .collect();
        if !reread.is_empty() {
            tracing::info!(pipeline = %ctx.pipeline, count = reread.len(), "tickets merged into others: reading the surviving tickets again");
            self.load_tickets(ctx, reread, Vec::new(), None).await?;
        }
        // Tickets the vendor no longer lists are marked deleted.
        let state = StreamState { version: 1, cursor: Some(Utc::now()), ..ctx.state.clone() };
        let mut unit = LoadUnit { state: Some(state), ..Default::default() };
        shapes::reconcile_listed(ctx, Table::Tickets, seen.into_iter().collect(), &mut unit).await?;
        ctx.commit(unit).await
    }

    /// Write the changed tickets of a batch, with the messages of those not merged: those
    /// whose row changed, and those replied to since `recent`. `recent` `None`: all of them
    /// (and read their details) even if unchanged. Returns the tickets whose row changed (or
    /// all, with `recent` `None`).
    async fn load_tickets(
        &self,
        ctx: &mut StreamCtx,
        mut tickets: Vec<TicketRow>,
        mut bad: Vec<Quarantined>,
        recent: Option<DateTime<Utc>>,
    ) -> Result<Vec<TicketRow>, SyncError> {
        let mut row_changed: Option<HashSet<String>> = None;
        if let Some(since) = recent {
            let fresh: Vec<TicketRow> =
                tickets.iter().filter(|t| t.updated_at.is_some_and(|u| u >= since)).cloned().collect();
            ctx.retain_changed(Table::Tickets, &mut tickets, |t| (Some(t.ticket_id.clone()), t.content_hash.clone()))
                .await?;
            let changed: HashSet<String> = tickets.iter().map(|t| t.ticket_id.clone()).collect();
            tickets.extend(fresh.into_iter().filter(|t| !changed.contains(&t.ticket_id)));
            row_changed = Some(changed);
        }
        // A merged ticket's replies moved to the ticket it was merged into: its stored copies go.
        let merged: Vec<String> =
            tickets.iter().filter(|t| t.merged_into.is_some()).map(|t| t.ticket_id.clone()).collect();
        let mut messages = Vec::new();
        if ctx.wants("ticket_messages") {
            let ids: Vec<String> =
                tickets.iter().filter(|t| t.merged_into.is_none()).map(|t| t.ticket_id.clone()).collect();
            let c: &StreamCtx = ctx;
            let read = children::fetch_each(c, ids, c.sync.message_concurrency, |id| async move {
                let answer = self.get(Some(c), &self.path("ticket_details", Some(&id)), &[]).await?;
                Ok(records(&answer)?.into_iter().next().unwrap_or(Value::Null))
            })
            .await?;
            let answers: BTreeMap<String, Value> = read.answers.into_iter().collect();
            for t in tickets.iter_mut() {
                let Some(details) = answers.get(&t.ticket_id) else { continue };
                let (rows, q) = message_rows(details, &t.ticket_id, &ctx.account, ctx.timezone, Utc::now());
                t.messages_in = Some(rows.iter().filter(|m| m.author_type == "customer").count() as i32);
                t.messages_out = Some(rows.iter().filter(|m| m.author_type == "agent").count() as i32);
                messages.extend(rows);
                bad.extend(q);
            }
            for t in tickets.iter_mut().filter(|t| t.merged_into.is_some()) {
                // Its messages are the survivor's now (and its stored copies are dropped below).
                (t.messages_in, t.messages_out) = (Some(0), Some(0));
            }
            for (id, reason) in read.failed {
                // Kept with a NULL hash: the next run reads it again.
                if let Some(t) = tickets.iter_mut().find(|t| t.ticket_id == id) {
                    t.content_hash = None;
                }
                let reason = format!("ticket details could not be read (retried next run): {reason}");
                ctx.missed(&id, &reason);
                bad.push(Quarantined { record_key: Some(id), reason, raw: String::new() });
            }
        }
        let mut state = ctx.state.clone();
        state.version = 1;
        ctx.commit(LoadUnit {
            replace: vec![Replace { table: Table::Messages, filters: vec![], column: "ticket_id", values: merged }],
            batches: vec![
                (Table::Tickets, batch(Table::Tickets, &tickets)?),
                (Table::Messages, batch(Table::Messages, &messages)?),
            ],
            quarantine: bad,
            state: Some(state),
            ..Default::default()
        })
        .await?;
        if let Some(ids) = row_changed {
            tickets.retain(|t| ids.contains(&t.ticket_id));
        }
        Ok(tickets)
    }
}

/// `{"a":{"b":1}}` → `[("a.b", 1)]` (scalars only).
fn flatten(prefix: &str, v: &Value, out: &mut Vec<(String, Value)>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                flatten(&key, x, out);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                flatten(&format!("{prefix}[{i}]"), x, out);
            }
        }
        Value::Null => {}
        scalar => out.push((if prefix.is_empty() { "value".into() } else { prefix.to_string() }, scalar.clone())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perfex_error_bodies_keep_the_message_and_the_field_errors() {
        let e = decode_error(
            422,
            r#"{"status":false,"message":"Validation failed","errors":{"subject":"The Subject field is required."}}"#,
        );
        assert_eq!(e.as_deref(), Some(r#"Validation failed ({"subject":"The Subject field is required."})"#));
        assert_eq!(
            decode_error(401, r#"{"status":false,"message":"Invalid API credentials"}"#).as_deref(),
            Some("Invalid API credentials")
        );
        assert_eq!(decode_error(500, "<html>"), None);
    }

    #[test]
    fn statuses_and_priorities() {
        assert_eq!(canonical_status("4", Some("On Hold")), "pending");
        assert_eq!(canonical_status("9", Some("Resolved by bot")), "closed");
        assert_eq!(canonical_status("9", Some("Escalated")), "open");
        // Custom statuses whose names mean spam, closed or pending map to those.
        assert_eq!(canonical_status("7", Some("Spam")), "spam");
        assert_eq!(canonical_status("8", Some("Closed - duplicate")), "closed");
        assert_eq!(canonical_status("10", Some("Pending vendor")), "pending");
        assert_eq!(priority("3"), "high");
        assert_eq!(priority("7"), "7");
    }
}
