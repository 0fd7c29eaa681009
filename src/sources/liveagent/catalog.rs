//! LiveAgent's declared streams: every endpoint that maps onto a table declared in
//! [`crate::model::tables`] with no logic beyond typing values, described as data ([`Spec`]) and run by
//! four generic loops, one per [`Kind`]:
//!
//! * **full refresh** (small dimensions): the whole list every run; rows no longer listed get
//!   `deleted_at`. Companies add a details request per new or changed company (and for every
//!   company each `sync.reconcile_every`) for emails, phones, groups and custom fields.
//! * **snapshot** (online status, chats and calls overview): appended with `captured_at`, for
//!   trend analysis.
//! * **incremental** (customers by `datecreatedfrom`, knowledge-base entries by `date_changed`):
//!   the cursor minus `sync.lookback`, paged with the overlap check of [`OverlapPager`], each
//!   page committed with the pass's progress. Every `sync.reconcile_every` a pass re-reads from
//!   the start, which refreshes edited records and marks vanished ones with `deleted_at`.
//! * **report** (per day window): each day of the account's zone is pulled with
//!   `date_from`/`date_to`, paged with `limitcount`/`limitfrom`, and loaded delete-and-replace
//!   by window, with the window recorded in `_desksync_windows` (kind `report`) in the same transaction. A run
//!   pulls the days missing from that ledger plus the last `sync.report_restatement` days,
//!   because the vendor restates recent days.
//!
//! To add an endpoint of one of these shapes: declare its table in `model/tables/liveagent.rs` (and the DDL),
//! add a [`Spec`] to [`SPECS`] with the renames its vendor field names need, and serve it in
//! the simulator.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde_json::Value;

use super::{SOURCE, list, response};
use crate::engine::incremental::{PassPlan, begin_pass, finish_pass};
use crate::engine::paging::{OverlapPager, Step};
use crate::engine::shapes::{self, Deletions};
use crate::engine::{StreamCtx, batch};
use crate::error::SyncError;
use crate::http::HttpClient;
use crate::model::fields::code_or_none;
use crate::model::normalize::{self, Context, Row};
use crate::model::tables as t;
use crate::model::{Quarantined, Table, TableDef, content_hash};
use crate::sources::{StreamInfo, SyncMode};
use crate::state::{PassState, StreamState};
use crate::timez::{format_local, local_to_utc};
use crate::warehouse::{Derive, LoadUnit, Replace, WindowLoaded};

/// How a declared stream is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    FullRefresh,
    Snapshot,
    /// By a date filter parameter; `cursor` is the column whose largest value moves the cursor.
    Incremental {
        param: &'static str,
        cursor: &'static str,
    },
    /// One request series per day window; `scope` (tickets, chats, calls) goes into the row.
    Report {
        scope: Option<&'static str>,
    },
}

/// How a list endpoint pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paging {
    /// One request returns everything.
    None,
    /// `limitcount`/`limitfrom` (at most 1000 rows).
    LimitCount,
    /// `limit`/`offset` with the endpoint's maximum page.
    LimitOffset { max: usize },
}

/// One declared stream.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    pub stream: &'static str,
    pub table: &'static TableDef,
    pub path: &'static str,
    /// The list in the `response` object; `None` when the object itself is the one record.
    pub list_key: Option<&'static str>,
    /// `(column, vendor key)` where the names differ beyond snake_case ⇄ camelCase.
    pub renames: &'static [(&'static str, &'static str)],
    pub kind: Kind,
    pub paging: Paging,
    pub order: u8,
    pub default_on: bool,
}

const fn full(
    stream: &'static str,
    table: &'static TableDef,
    path: &'static str,
    list_key: &'static str,
    renames: &'static [(&'static str, &'static str)],
    paging: Paging,
) -> Spec {
    Spec {
        stream,
        table,
        path,
        list_key: Some(list_key),
        renames,
        kind: Kind::FullRefresh,
        paging,
        order: 2,
        default_on: true,
    }
}

const fn snap(
    stream: &'static str,
    table: &'static TableDef,
    path: &'static str,
    list_key: &'static str,
    renames: &'static [(&'static str, &'static str)],
) -> Spec {
    Spec {
        stream,
        table,
        path,
        list_key: Some(list_key),
        renames,
        kind: Kind::Snapshot,
        paging: Paging::None,
        order: 30,
        default_on: true,
    }
}

const fn rep(
    stream: &'static str,
    table: &'static TableDef,
    path: &'static str,
    list_key: &'static str,
    scope: Option<&'static str>,
    renames: &'static [(&'static str, &'static str)],
) -> Spec {
    Spec {
        stream,
        table,
        path,
        list_key: Some(list_key),
        renames,
        kind: Kind::Report { scope },
        paging: Paging::LimitCount,
        order: 40,
        default_on: true,
    }
}

const AGENT_AVAILABILITY: &[(&str, &str)] = &[
    ("availability_id", "id"),
    ("agent_id", "userid"),
    ("first_name", "firstname"),
    ("last_name", "lastname"),
    ("contact_id", "contactid"),
    ("department_id", "departmentid"),
];
const PERIOD: &[(&str, &str)] = &[("period_start", "date")];
const SLA_LOG: &[(&str, &str)] = &[
    ("sla_log_id", "id"),
    ("conversation_id", "conversationid"),
    ("department_id", "departmentid"),
    ("level_id", "levelid"),
    ("agent_id", "agentid"),
    ("agent_first_name", "agent_firstname"),
    ("agent_last_name", "agent_lastname"),
    ("req_contact_id", "req_contactid"),
    ("req_first_name", "req_firstname"),
    ("req_last_name", "req_lastname"),
];

/// Every declared LiveAgent stream.
pub const SPECS: &[Spec] = &[
    full("customer_groups", &t::CUSTOMER_GROUPS, "/api/customersgroups", "groups", &[("group_id", "id")], Paging::None),
    full(
        "companies",
        &t::COMPANIES,
        "/api/companies",
        "companies",
        &[("company_id", "id"), ("created_at", "datecreated")],
        Paging::None,
    ),
    full(
        "widgets",
        &t::WIDGETS,
        "/api/widgets",
        "widgets",
        &[("widget_id", "contactwidgetid"), ("department_id", "departmentid")],
        Paging::LimitCount,
    ),
    full(
        "suggestion_categories",
        &t::SUGGESTION_CATEGORIES,
        "/api/suggestioncategories",
        "suggestioncategories",
        &[("category_id", "id")],
        Paging::None,
    ),
    full(
        "knowledgebases",
        &t::KNOWLEDGEBASES,
        "/api/knowledgebase/knowledgebases",
        "knowledgebases",
        &[],
        Paging::LimitOffset { max: 500 },
    ),
    Spec {
        stream: "application_status",
        table: &t::APPLICATION_STATUS,
        path: "/api/application/status",
        list_key: None,
        renames: &[
            ("version", "liveagentversion"),
            ("framework_version", "gpfversion"),
            ("installed_at", "dateinstalled"),
            ("updated_at", "datelatestupdate"),
            ("server_time", "current_server_time"),
        ],
        kind: Kind::FullRefresh,
        paging: Paging::None,
        order: 2,
        default_on: true,
    },
    Spec {
        stream: "customers",
        table: &t::CUSTOMERS,
        path: "/api/customers",
        list_key: Some("customers"),
        renames: &[
            ("customer_id", "contactid"),
            ("user_id", "userid"),
            ("first_name", "firstname"),
            ("last_name", "lastname"),
            ("system_name", "systemname"),
            ("created_at", "datecreated"),
        ],
        kind: Kind::Incremental { param: "datecreatedfrom", cursor: "created_at" },
        paging: Paging::LimitCount,
        order: 5,
        default_on: true,
    },
    Spec {
        stream: "kb_entries",
        table: &t::KB_ENTRIES,
        path: "/api/knowledgebase/entries",
        list_key: Some("entries"),
        renames: &[
            ("entry_id", "kb_entry_id"),
            ("conversation_id", "conversationid"),
            ("department_id", "departmentid"),
            ("is_deleted", "deleted"),
            ("created_at", "datecreated"),
            ("updated_at", "datechanged"),
        ],
        kind: Kind::Incremental { param: "date_changed", cursor: "updated_at" },
        paging: Paging::LimitOffset { max: 500 },
        order: 6,
        default_on: true,
    },
    snap(
        "agent_status",
        &t::AGENT_STATUS_SNAPSHOTS,
        "/api/onlinestatus/agents",
        "agentsOnlineStates",
        &[("agent_id", "id"), ("contact_id", "contactid"), ("first_name", "firstname"), ("last_name", "lastname")],
    ),
    snap(
        "department_status",
        &t::DEPARTMENT_STATUS_SNAPSHOTS,
        "/api/onlinestatus/departments",
        "departmentsOnlineStates",
        &[("department_id", "id")],
    ),
    snap("chats_overview", &t::CHATS_OVERVIEW_SNAPSHOTS, "/api/chats/overview", "chatsOverview", &[]),
    snap("calls_overview", &t::CALLS_OVERVIEW_SNAPSHOTS, "/api/calls/overview", "callsOverview", &[]),
    rep(
        "report_agents",
        &t::REPORT_AGENTS,
        "/api/reports/agents",
        "agents",
        None,
        &[("agent_id", "id"), ("contact_id", "contactid"), ("first_name", "firstname"), ("last_name", "lastname")],
    ),
    rep("report_channels", &t::REPORT_CHANNELS, "/api/reports/channels", "channels", None, &[("channel_id", "id")]),
    rep(
        "report_departments",
        &t::REPORT_DEPARTMENTS,
        "/api/reports/departments",
        "departments",
        None,
        &[("department_id", "id")],
    ),
    rep("report_tags", &t::REPORT_TAGS, "/api/reports/tags", "tags", None, &[("tag_id", "id")]),
    rep(
        "report_performance",
        &t::REPORT_PERFORMANCE,
        "/api/reports/performance",
        "performance",
        None,
        &[("period_start", "datetime"), ("period_end", "dateto")],
    ),
    rep(
        "report_ranking",
        &t::REPORT_RANKING,
        "/api/reports/ranking",
        "ranks",
        None,
        &[
            ("rating_id", "id"),
            ("created_at", "datecreated"),
            ("conversation_id", "conversationid"),
            ("agent_contact_id", "agentcontactid"),
            ("contact_id", "contactid"),
        ],
    ),
    rep(
        "report_tickets_agents_availability",
        &t::REPORT_AGENTS_AVAILABILITY,
        "/api/reports/tickets/agentsavailability",
        "agentsavailability",
        Some("tickets"),
        AGENT_AVAILABILITY,
    ),
    rep("report_tickets_load", &t::REPORT_LOAD, "/api/reports/tickets/load", "loads", Some("tickets"), PERIOD),
    rep(
        "report_tickets_sla_compliance",
        &t::REPORT_SLA_COMPLIANCE,
        "/api/reports/tickets/slacompliance",
        "slacompliances",
        Some("tickets"),
        PERIOD,
    ),
    rep(
        "report_tickets_sla_log",
        &t::REPORT_SLA_LOG,
        "/api/reports/tickets/slalog",
        "slalogs",
        Some("tickets"),
        SLA_LOG,
    ),
    rep(
        "report_chats_agents_availability",
        &t::REPORT_AGENTS_AVAILABILITY,
        "/api/reports/chats/agentsavailability",
        "agentsavailability",
        Some("chats"),
        AGENT_AVAILABILITY,
    ),
    rep(
        "report_chats_availability",
        &t::REPORT_AVAILABILITY,
        "/api/reports/chats/availability",
        "availability",
        Some("chats"),
        PERIOD,
    ),
    rep("report_chats_load", &t::REPORT_LOAD, "/api/reports/chats/load", "loads", Some("chats"), PERIOD),
    rep(
        "report_chats_sla_compliance",
        &t::REPORT_SLA_COMPLIANCE,
        "/api/reports/chats/slacompliance",
        "slacompliances",
        Some("chats"),
        PERIOD,
    ),
    rep("report_chats_sla_log", &t::REPORT_SLA_LOG, "/api/reports/chats/slalog", "slalogs", Some("chats"), SLA_LOG),
    rep(
        "report_calls_agents_availability",
        &t::REPORT_AGENTS_AVAILABILITY,
        "/api/reports/calls/agentsavailability",
        "agentsavailability",
        Some("calls"),
        AGENT_AVAILABILITY,
    ),
    rep(
        "report_calls_availability",
        &t::REPORT_AVAILABILITY,
        "/api/reports/calls/availability",
        "availability",
        Some("calls"),
        PERIOD,
    ),
    rep("report_calls_load", &t::REPORT_LOAD, "/api/reports/calls/load", "loads", Some("calls"), PERIOD),
    rep(
        "report_calls_sla_compliance",
        &t::REPORT_SLA_COMPLIANCE,
        "/api/reports/calls/slacompliance",
        "slacompliances",
        Some("calls"),
        PERIOD,
    ),
    rep("report_calls_sla_log", &t::REPORT_SLA_LOG, "/api/reports/calls/slalog", "slalogs", Some("calls"), SLA_LOG),
];

pub fn spec(stream: &str) -> Option<&'static Spec> {
    SPECS.iter().find(|s| s.stream == stream)
}

/// The declared streams as `desksync streams` lists them.
pub fn stream_infos() -> Vec<StreamInfo> {
    SPECS
        .iter()
        .map(|s| StreamInfo {
            name: s.stream,
            table: Table::Def(s.table),
            mode: match s.kind {
                Kind::FullRefresh => SyncMode::FullRefresh,
                Kind::Snapshot => SyncMode::Snapshot,
                Kind::Incremental { .. } => SyncMode::Incremental,
                Kind::Report { .. } => SyncMode::ReportWindows,
            },
            cursor: match s.kind {
                Kind::Incremental { param, .. } => Some(param),
                Kind::Report { .. } => Some("date_from/date_to (day)"),
                _ => None,
            },
            endpoint: s.path,
            order: s.order,
            default_on: s.default_on,
            parent: None,
        })
        .collect()
}

/// The agents dimension (stream `agents`): there is no list of agents in API v1, so it is
/// merged from what the API does expose, most complete source first:
/// 1. `GET /api/onlinestatus/agents` (id, contact id, email, names, avatar) — every agent;
/// 2. the agents report over the report history (id, contact id, names) — agents who worked in
///    that period but no longer appear in the online status;
/// 3. message authors the messages stream recorded as agents but neither source knows (id only).
///
/// It then resolves the authors of chat lines (which carry only a user id): agents are agents,
/// anyone else in a chat is the customer.
pub const AGENTS_INFO: StreamInfo = StreamInfo {
    name: "agents",
    table: Table::Def(&t::AGENTS),
    mode: SyncMode::Merged,
    cursor: None,
    endpoint: "/api/onlinestatus/agents + /api/reports/agents + message authors",
    order: 20,
    default_on: true,
    parent: None,
};

/// Normalize a list of records; failures become quarantine rows.
fn rows_of(
    table: Table,
    records: &[Value],
    cx: &Context<'_>,
    id_key: Option<&str>,
    bad: &mut Vec<Quarantined>,
) -> Vec<Row> {
    let mut rows = Vec::with_capacity(records.len());
    for r in records {
        match normalize::row(table, r, cx) {
            Ok(row) => rows.push(row),
            Err(reason) => bad.push(Quarantined::record(r, id_key.and_then(|k| code_or_none(r, k)), reason)),
        }
    }
    normalize::dedup(table, rows)
}

/// The vendor key of a table's last primary-key column (the record's own id), for paging anchors
/// and quarantine keys.
fn id_key(spec: &Spec) -> &'static str {
    let col = spec.table.primary_key.last().copied().unwrap_or("id");
    spec.renames.iter().find(|(c, _)| *c == col).map(|(_, k)| *k).unwrap_or(col)
}

/// Reads and loads the declared streams of one LiveAgent account.
pub struct Catalog<'a> {
    pub http: &'a HttpClient,
}

impl Catalog<'_> {
    async fn get(&self, ctx: &StreamCtx, path: &str, query: &[(&str, String)], what: &str) -> Result<Value, SyncError> {
        response(ctx.guard(self.http.get_json(path, query)).await?, what)
    }

    /// One page of a list (or the single record when the spec has no list).
    async fn page(&self, ctx: &StreamCtx, spec: &Spec, query: &[(&str, String)]) -> Result<Vec<Value>, SyncError> {
        let r = self.get(ctx, spec.path, query, spec.stream).await?;
        match spec.list_key {
            Some(key) => Ok(list(&r, key, spec.stream)?.to_vec()),
            None => Ok(vec![r]),
        }
    }

    fn page_size(ctx: &StreamCtx, paging: Paging) -> usize {
        match paging {
            Paging::LimitOffset { max } => ctx.sync.page_size.clamp(1, max),
            _ => ctx.sync.page_size.clamp(1, 1000),
        }
    }

    fn paging_query(paging: Paging, size: usize, offset: usize) -> Vec<(&'static str, String)> {
        match paging {
            Paging::None => vec![],
            Paging::LimitCount => vec![("limitcount", size.to_string()), ("limitfrom", offset.to_string())],
            Paging::LimitOffset { .. } => vec![("limit", size.to_string()), ("offset", offset.to_string())],
        }
    }

    /// Every record of a small list: pages until one comes back short.
    async fn read_all(
        &self,
        ctx: &StreamCtx,
        spec: &Spec,
        extra: &[(&'static str, String)],
    ) -> Result<Vec<Value>, SyncError> {
        let size = Self::page_size(ctx, spec.paging);
        let mut all = Vec::new();
        let mut offset = 0;
        loop {
            ctx.check_shutdown()?;
            let mut q = extra.to_vec();
            q.extend(Self::paging_query(spec.paging, size, offset));
            let page = self.page(ctx, spec, &q).await?;
            let n = page.len();
            all.extend(page);
            if spec.paging == Paging::None || n < size {
                return Ok(all);
            }
            offset += n;
        }
    }

    fn context<'c>(ctx: &'c StreamCtx, spec: &Spec, now: DateTime<Utc>) -> Context<'c> {
        Context {
            source: SOURCE,
            account: &ctx.account,
            timezone: ctx.timezone,
            now,
            renames: spec.renames,
            fixed: vec![],
        }
    }

    pub async fn sync(&self, spec: &Spec, ctx: &mut StreamCtx) -> Result<(), SyncError> {
        match spec.kind {
            Kind::FullRefresh if spec.stream == "companies" => self.companies(spec, ctx).await,
            Kind::FullRefresh => self.full_refresh(spec, ctx).await,
            Kind::Snapshot => self.snapshot(spec, ctx).await,
            Kind::Incremental { param, cursor } => self.incremental(spec, ctx, param, cursor).await,
            Kind::Report { scope } => self.report(spec, ctx, scope).await,
        }
    }

    async fn full_refresh(&self, spec: &Spec, ctx: &mut StreamCtx) -> Result<(), SyncError> {
        let records = self.read_all(ctx, spec, &[]).await?;
        let table = Table::Def(spec.table);
        let mut bad = Vec::new();
        let rows = rows_of(table, &records, &Self::context(ctx, spec, Utc::now()), Some(id_key(spec)), &mut bad);
        shapes::full_refresh(ctx, table, &rows, bad, Deletions::Mark).await
    }

    async fn snapshot(&self, spec: &Spec, ctx: &mut StreamCtx) -> Result<(), SyncError> {
        let records = self.read_all(ctx, spec, &[]).await?;
        let captured = shapes::capture_time();
        let table = Table::Def(spec.table);
        let mut cx = Self::context(ctx, spec, Utc::now());
        cx.fixed.push(("captured_at", normalize::ts(captured)));
        let mut bad = Vec::new();
        let rows = rows_of(table, &records, &cx, None, &mut bad);
        shapes::snapshot(ctx, table, rows, bad, captured).await
    }

    /// Companies: the list, then details for new or changed companies (all of them when a
    /// reconciliation is due), since only details carry phones, groups and custom fields.
    /// A company's `content_hash` is its list record's, so an unchanged company is not re-read.
    async fn companies(&self, spec: &Spec, ctx: &mut StreamCtx) -> Result<(), SyncError> {
        let listed = self.read_all(ctx, spec, &[]).await?;
        let now = Utc::now();
        let table = Table::Def(spec.table);
        let fields_table = Table::Def(&t::COMPANY_FIELDS);
        let every = ctx.sync.reconcile_every;
        let refresh_all =
            !every.is_zero() && ctx.state.reconciled_at.is_none_or(|r| (now - r).to_std().unwrap_or_default() >= every);
        let ids: Vec<String> = listed.iter().filter_map(|c| code_or_none(c, "id")).collect();
        let known = ctx.known_hashes(table, ids).await?;
        let mut bad = Vec::new();
        let mut rows = Vec::new();
        let mut fields = Vec::new();
        let mut reread = Vec::new();
        for rec in &listed {
            let Some(id) = code_or_none(rec, "id") else {
                bad.push(Quarantined::record(rec, None, "companies record without id".into()));
                continue;
            };
            let hash = content_hash(rec);
            let changed = known.get(&id).cloned().flatten() != Some(hash.clone());
            let mut cx = Self::context(ctx, spec, now);
            cx.fixed.push(("content_hash", Value::String(hash)));
            let mut source = rec.clone();
            if changed || refresh_all {
                ctx.check_shutdown()?;
                match self.get(ctx, &format!("/api/companies/{}", crate::http::path_segment(&id)), &[], "company").await
                {
                    Ok(details) => {
                        // The list's fields win where both have them; details add the rest.
                        let mut merged = details.clone();
                        if let (Some(m), Some(l)) = (merged.as_object_mut(), rec.as_object()) {
                            for (k, v) in l {
                                if k != "emails" {
                                    m.insert(k.clone(), v.clone());
                                }
                            }
                        }
                        let group_ids: Vec<Value> = list(&details, "groups", "company")?
                            .iter()
                            .filter_map(|g| g.get("groupid").cloned())
                            .collect();
                        cx.fixed.push(("group_ids", Value::Array(group_ids)));
                        for (kind, key) in [("custom", "custom_fields"), ("unique", "unique_fields")] {
                            for f in list(&details, key, "company")? {
                                let fcx = Context {
                                    source: SOURCE,
                                    account: &ctx.account,
                                    timezone: ctx.timezone,
                                    now,
                                    renames: &[("field_code", "code")],
                                    fixed: vec![
                                        ("company_id", Value::String(id.clone())),
                                        ("field_kind", Value::String(kind.into())),
                                    ],
                                };
                                match normalize::row(fields_table, f, &fcx) {
                                    Ok(r) => fields.push(r),
                                    Err(reason) => bad.push(Quarantined::record(f, Some(id.clone()), reason)),
                                }
                            }
                        }
                        reread.push(id.clone());
                        source = merged;
                    }
                    Err(SyncError::Http(e))
                        if !e.is_transient() && !matches!(e, crate::error::HttpError::Unauthorized { .. }) =>
                    {
                        bad.push(Quarantined {
                            record_key: Some(id.clone()),
                            reason: format!("company details could not be read (retried next run): {e}"),
                            raw: String::new(),
                        });
                        // A NULL hash makes the next run read the details again.
                        cx.fixed.retain(|(c, _)| *c != "content_hash");
                        cx.fixed.push(("content_hash", Value::Null));
                    }
                    Err(e) => return Err(e),
                }
            } else {
                continue; // unchanged: keep the stored row (and its details)
            }
            match normalize::row(table, &source, &cx) {
                Ok(r) => rows.push(r),
                Err(reason) => bad.push(Quarantined::record(rec, Some(id), reason)),
            }
        }
        // Unchanged companies are not in the batch, so "gone" is judged against the listed ids.
        let listed_ids: BTreeSet<String> = listed.iter().filter_map(|c| code_or_none(c, "id")).collect();
        let mut state = StreamState { version: 1, cursor: Some(now), ..ctx.state.clone() };
        if refresh_all {
            state.reconciled_at = Some(now);
        }
        let rows = normalize::dedup(table, rows);
        let fields = normalize::dedup(fields_table, fields);
        let mut unit = LoadUnit {
            replace: vec![Replace { table: fields_table, filters: vec![], column: "company_id", values: reread }],
            batches: vec![(table, batch(table, &rows)?), (fields_table, batch(fields_table, &fields)?)],
            quarantine: bad,
            state: Some(state),
            ..Default::default()
        };
        shapes::reconcile_listed(ctx, table, listed_ids.into_iter().collect(), &mut unit).await?;
        ctx.commit(unit).await
    }

    /// Customers and knowledge-base entries: see the module documentation.
    async fn incremental(
        &self,
        spec: &Spec,
        ctx: &mut StreamCtx,
        param: &'static str,
        cursor_col: &'static str,
    ) -> Result<(), SyncError> {
        let table = Table::Def(spec.table);
        let mut state = ctx.state.clone();
        let every = ctx.sync.reconcile_every;
        let start = ctx.start_date.map(|d| local_to_utc(d.and_hms_opt(0, 0, 0).expect("midnight"), ctx.timezone));
        let plan = PassPlan {
            lookback: Duration::from_std(ctx.sync.lookback).unwrap_or_default(),
            start,
            trailing: None,
            // Every `reconcile_every`, a pass from the very start lists every record the
            // pipeline covers, so it also finds the ones gone.
            full: !every.is_zero()
                && state.reconciled_at.is_none_or(|r| (Utc::now() - r).to_std().unwrap_or_default() >= every),
            clock: Utc::now(),
        };
        let (mut pass, _) = begin_pass(&mut state, plan);
        if let Some((a, _)) = ctx.window {
            pass = PassState::from(Some(a));
        }
        // Marking what a complete listing missed needs rows stored before it.
        let reconciling = pass.full && ctx.window.is_none() && state.cursor.is_some();
        if pass.offset == 0 && reconciling {
            ctx.seen_clear().await?;
        }
        let size = Self::page_size(ctx, spec.paging);
        let key = id_key(spec);
        let mut pager = OverlapPager::new(size, ctx.sync.page_overlap.min(size / 2), pass.offset);
        loop {
            ctx.check_shutdown()?;
            let offset = pager.offset;
            let mut q = Self::paging_query(spec.paging, size, offset);
            if let Some(since) = pass.since {
                q.push((param, format_local(since, ctx.filter_timezone)));
            }
            if let (Some((_, b)), Some(to)) = (ctx.window, backfill_upper(param)) {
                q.push((to, format_local(b, ctx.filter_timezone)));
            }
            let page = self.page(ctx, spec, &q).await?;
            let keys: Vec<Option<String>> = page.iter().map(|r| code_or_none(r, key)).collect();
            let next = match pager.judge(&keys) {
                Step::Done => break,
                Step::Reread => continue,
                Step::Page { next_offset } => next_offset,
            };
            pass.unstable |= pager.unstable;
            let now = Utc::now();
            let mut bad = Vec::new();
            let mut rows = rows_of(table, &page, &Self::context(ctx, spec, now), Some(key), &mut bad);
            for r in &rows {
                if let Some(t) = r.get(cursor_col).and_then(Value::as_i64).and_then(DateTime::from_timestamp_micros) {
                    pass.max_seen = Some(pass.max_seen.map_or(t, |m| m.max(t)));
                }
            }
            let id_col = *spec.table.primary_key.last().expect("key");
            if reconciling {
                ctx.seen_add(rows.iter().filter_map(|r| normalize::text_of(r, id_col)).collect()).await?;
            }
            ctx.retain_changed(table, &mut rows, |r| {
                (normalize::text_of(r, id_col), normalize::text_of(r, "content_hash"))
            })
            .await?;
            let mut st = state.clone();
            st.pass = Some(PassState { offset: next, ..pass.clone() });
            ctx.commit(LoadUnit {
                batches: vec![(table, batch(table, &rows)?)],
                quarantine: bad,
                state: Some(st),
                ..Default::default()
            })
            .await?;
            pager.offset = next;
            if page.len() < size {
                break; // a short page is the end of the listing
            }
        }
        let mut unit = LoadUnit::default();
        if finish_pass(&mut state, &pass) && reconciling {
            unit.mark_missing = Some(table);
        }
        unit.state = Some(state);
        ctx.commit(unit).await
    }

    /// Report windows: see the module documentation.
    async fn report(&self, spec: &Spec, ctx: &mut StreamCtx, scope: Option<&'static str>) -> Result<(), SyncError> {
        let table = Table::Def(spec.table);
        let tz = ctx.timezone;
        let today = Utc::now().with_timezone(&tz).date_naive();
        let history = Duration::from_std(ctx.sync.report_history).unwrap_or_default();
        let first = ctx.start_date.unwrap_or_else(|| today - Duration::days(history.num_days().max(0)));
        let restate_from =
            today - Duration::days(Duration::from_std(ctx.sync.report_restatement).unwrap_or_default().num_days());
        let loaded: BTreeSet<DateTime<Utc>> = ctx.loaded_windows().await?.into_iter().collect();
        let midnight = |d: NaiveDate| local_to_utc(d.and_hms_opt(0, 0, 0).expect("midnight"), tz);
        let days: Vec<NaiveDate> = match ctx.window {
            // Backfill: every day of the window, loaded or not.
            Some((a, b)) => {
                let (a, b) = (a.with_timezone(&tz).date_naive(), b.with_timezone(&tz).date_naive());
                a.iter_days().take_while(|d| *d < b && *d <= today).collect()
            }
            None => first
                .iter_days()
                .take_while(|d| *d <= today)
                .filter(|d| *d >= restate_from || !loaded.contains(&midnight(*d)))
                .collect(),
        };
        if days.is_empty() {
            return Ok(());
        }
        tracing::debug!(pipeline = %ctx.pipeline, stream = %ctx.stream, windows = days.len(), "pulling report windows");
        // Windows pulled again (restatement lookback) are usually unchanged: their stored
        // hashes tell, so an unchanged window is only re-recorded, not rewritten (no lake churn).
        let reloaded: Vec<DateTime<Utc>> =
            days.iter().map(|d| midnight(*d)).filter(|start| loaded.contains(start)).collect();
        let stored = ctx.window_hashes(table, scope, reloaded).await?;
        let mut unit = LoadUnit::default();
        let mut replaced = Vec::new();
        let mut rows: Vec<Row> = Vec::new();
        let mut bad = Vec::new();
        for (i, day) in days.iter().enumerate() {
            let (start, end) = (midnight(*day), midnight(*day + Duration::days(1)));
            let q = vec![
                ("date_from", format!("{} 00:00:00", day.format("%Y-%m-%d"))),
                ("date_to", format!("{} 23:59:59", day.format("%Y-%m-%d"))),
            ];
            let records = self.read_all(ctx, spec, &q).await?;
            let now = Utc::now();
            let mut cx = Self::context(ctx, spec, now);
            cx.fixed.push(("window_start", normalize::ts(start)));
            cx.fixed.push(("window_end", normalize::ts(end)));
            if let Some(s) = scope {
                cx.fixed.push(("scope", Value::String(s.into())));
            }
            let mut window_rows = Vec::with_capacity(records.len());
            for r in &records {
                let mut cx_r = Context { fixed: cx.fixed.clone(), ..cx };
                if spec.table.name == t::REPORT_AGENTS_AVAILABILITY.name {
                    cx_r.fixed.push(("seconds_online", hms_seconds(r.get("hours_online"))));
                }
                match normalize::row(table, r, &cx_r) {
                    Ok(row) => window_rows.push(row),
                    Err(reason) => bad.push(Quarantined::record(r, Some(format!("{day}")), reason)),
                }
            }
            let window_rows = normalize::dedup(table, window_rows);
            unit.windows.push(WindowLoaded { start, end, rows: window_rows.len() as i64 });
            let mut hashes: Vec<String> = window_rows
                .iter()
                .map(|r| r.get("content_hash").and_then(Value::as_str).unwrap_or_default().to_string())
                .collect();
            hashes.sort();
            let unchanged = loaded.contains(&start)
                && stored.get(&start.timestamp_micros()).map_or(window_rows.is_empty(), |h| *h == hashes);
            if !unchanged {
                replaced.push(start.to_rfc3339());
                rows.extend(window_rows);
            }
            let last = i + 1 == days.len();
            // Windows are committed in groups (a month, or a batch of rows), each group's
            // rows replacing exactly its windows.
            if last || unit.windows.len() >= 31 || rows.len() >= ctx.sync.batch_size.max(1) * 4 {
                let filters = scope.map(|s| vec![("scope", s.to_string())]).unwrap_or_default();
                unit.replace =
                    vec![Replace { table, filters, column: "window_start", values: std::mem::take(&mut replaced) }];
                unit.batches = vec![(table, batch(table, &rows)?)];
                unit.quarantine = std::mem::take(&mut bad);
                unit.state = Some(StreamState { version: 1, cursor: Some(end), ..ctx.state.clone() });
                ctx.commit(std::mem::take(&mut unit)).await?;
                rows.clear();
            }
        }
        Ok(())
    }

    /// The `agents` stream (see [`AGENTS_INFO`]).
    pub async fn agents(&self, ctx: &mut StreamCtx) -> Result<(), SyncError> {
        let table = Table::Def(&t::AGENTS);
        let now = Utc::now();
        let online = self.get(ctx, "/api/onlinestatus/agents", &[], "online status of agents").await?;
        let mut rows: Vec<Row> = Vec::new();
        let mut bad = Vec::new();
        let mut seen = BTreeSet::new();
        let cx = |known_from: &'static str, renames: &'static [(&'static str, &'static str)]| Context {
            source: SOURCE,
            account: &ctx.account,
            timezone: ctx.timezone,
            now,
            renames,
            fixed: vec![("known_from", Value::String(known_from.into()))],
        };
        let online_cx = cx(
            "onlinestatus",
            &[
                ("agent_id", "id"),
                ("contact_id", "contactid"),
                ("email", "username"),
                ("first_name", "firstname"),
                ("last_name", "lastname"),
            ],
        );
        for a in list(&online, "agentsOnlineStates", "online status of agents")? {
            // Online state changes all the time; it belongs to the snapshots, not the dimension.
            let mut stable = a.clone();
            if let Some(m) = stable.as_object_mut() {
                m.remove("onlineStatus");
                m.remove("presetStatus");
            }
            match normalize::row(table, &stable, &online_cx) {
                Ok(r) => {
                    seen.insert(r["agent_id"].as_str().unwrap_or_default().to_string());
                    rows.push(r);
                }
                Err(reason) => bad.push(Quarantined::record(a, None, reason)),
            }
        }
        let report = spec("report_agents").expect("declared");
        let today = Utc::now().with_timezone(&ctx.timezone).date_naive();
        let history = Duration::from_std(ctx.sync.report_history).unwrap_or_default();
        let first = ctx.start_date.unwrap_or_else(|| today - Duration::days(history.num_days().max(0)));
        let q = vec![
            ("date_from", format!("{} 00:00:00", first.format("%Y-%m-%d"))),
            ("date_to", format!("{} 23:59:59", today.format("%Y-%m-%d"))),
            ("columns", "id,contactid,firstname,lastname".to_string()),
        ];
        let report_cx = cx(
            "report_agents",
            &[("agent_id", "id"), ("contact_id", "contactid"), ("first_name", "firstname"), ("last_name", "lastname")],
        );
        for a in self.read_all(ctx, report, &q).await? {
            let id = code_or_none(&a, "id").unwrap_or_default();
            if seen.contains(&id) {
                continue;
            }
            match normalize::row(table, &a, &report_cx) {
                Ok(r) => {
                    seen.insert(id);
                    rows.push(r);
                }
                Err(reason) => bad.push(Quarantined::record(&a, None, reason)),
            }
        }
        let rows = normalize::dedup(table, rows);
        let state = StreamState { version: 1, cursor: Some(now), ..ctx.state.clone() };
        ctx.commit(LoadUnit {
            batches: vec![(table, batch(table, &rows)?)],
            // Agents known only as message authors, then the authors of chat lines (a user id
            // only): agents where the agents are known, the customer otherwise.
            derive: vec![Derive::AgentsFromMessageAuthors, Derive::ChatAuthorsFromAgents],
            quarantine: bad,
            state: Some(state),
            ..Default::default()
        })
        .await
    }
}

/// The upper-bound parameter matching an incremental filter, where the API has one
/// (`datecreatedfrom` → `datecreatedto`); backfill windows need both ends.
fn backfill_upper(param: &str) -> Option<&'static str> {
    match param {
        "datecreatedfrom" => Some("datecreatedto"),
        _ => None,
    }
}

/// `"01:02:03"` (or `"-00:08:31"`) → seconds; anything else NULL.
fn hms_seconds(v: Option<&Value>) -> Value {
    let Some(s) = v.and_then(Value::as_str) else { return Value::Null };
    let (neg, s) = s.strip_prefix('-').map_or((false, s), |r| (true, r));
    let parts: Vec<i64> = s.split(':').filter_map(|p| p.trim().parse().ok()).collect();
    match parts.as_slice() {
        [h, m, sec] => Value::from(if neg { -1 } else { 1 } * (h * 3600 + m * 60 + sec)),
        _ => Value::Null,
    }
}
