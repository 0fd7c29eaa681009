//! Liveforce (Perfex-based) for the simulator, served from the same seeded conversations:
//! tickets are the conversations (ids `1…`), staff the agents, call logs the call
//! conversations; leads and deals are seeded here.
//!
//! It behaves the way the connector must cope with (see `sources/liveforce/`): HTTP Basic
//! auth, the `{"data": …, "message": "success"}` envelope, `page`/`per_page` paging with
//! `per_page` silently clamped to 100, a page past the end answered with the last page again,
//! ticket statuses and deal sources unpaged (the whole list whatever the page), an empty list
//! answered as HTTP 404 `{"status":false,"message":"No data were found"}`, 401 for bad
//! credentials, tickets ordered by `lastreply` ascending with nulls first, a few merged tickets,
//! and dates as the server's local `Y-m-d H:i:s`.

#![allow(clippy::result_large_err)]

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Duration, Utc};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use super::Shared;
use super::SimConfig;
use super::world::{Conversation, World};
use crate::timez::format_local;

#[derive(Debug, Clone)]
pub struct Lead {
    pub id: u32,
    pub name: String,
    pub company: String,
    pub email: String,
    pub status: u32,
    pub source: u32,
    pub assigned: u32,
    pub added: DateTime<Utc>,
    pub value: f64,
    pub notes: Vec<(u32, u32, String, DateTime<Utc>)>,
}

#[derive(Debug, Clone)]
pub struct Deal {
    pub id: u32,
    pub name: String,
    pub value: f64,
    pub stage: u32,
    pub source: u32,
    pub status: String,
    pub lead_id: u32,
    pub added: DateTime<Utc>,
    pub services: Vec<(u32, String, f64, f64)>,
}

/// Liveforce's own data (tickets, staff and calls come from the conversations).
#[derive(Debug, Clone)]
pub struct LfData {
    pub leads: Vec<Lead>,
    pub deals: Vec<Deal>,
    /// Ticket id → the ticket it was merged into.
    pub merged: BTreeMap<u64, u64>,
    /// After this many more ticket-list requests, reply to ticket `.1` (it moves to the end).
    pub reply_after_list_requests: Option<(u32, u64)>,
}

pub const LEAD_STATUSES: &[(u32, &str)] = &[(1, "New"), (2, "Contacted"), (3, "Qualified"), (4, "Customer")];
pub const DEAL_SOURCES: &[(u32, &str)] = &[(1, "Website"), (2, "Referral"), (3, "Trade fair")];
pub const DEAL_STAGES: &[(u32, &str, f64)] =
    &[(1, "Prospect", 10.0), (2, "Proposal", 30.0), (3, "Negotiation", 60.0), (4, "Won", 100.0), (5, "Lost", 0.0)];
pub const TICKET_STATUSES: &[(u32, &str, &str)] = &[
    (1, "Open", "#ff2d42"),
    (2, "In progress", "#22c55e"),
    (3, "Answered", "#2563eb"),
    (4, "On Hold", "#64748b"),
    (5, "Closed", "#03a9f4"),
    (6, "Waiting for customer", "#eab308"),
    // Custom statuses whose names carry their meaning (no ticket has them): a connector must
    // read "Spam" as spam and "Resolved by customer" as closed, not fall back to open.
    (7, "Spam", "#ef4444"),
    (8, "Resolved by customer", "#10b981"),
];

impl LfData {
    pub fn generate(cfg: &SimConfig) -> LfData {
        let mut rng = SmallRng::seed_from_u64(cfg.seed ^ 0x11fe_f0ce);
        let end = cfg.history_end;
        let leads = (1..=45)
            .map(|id| {
                let added = end - Duration::hours(rng.random_range(1..24 * 300));
                let notes = (0..rng.random_range(0..3u32))
                    .map(|n| {
                        (
                            id * 10 + n,
                            rng.random_range(1..5),
                            format!("Called, note {n}: interested"),
                            added + Duration::hours(n as i64 + 1),
                        )
                    })
                    .collect();
                Lead {
                    id,
                    name: format!("Lead {id}"),
                    company: ["Acme", "Globex", "Initech", "Žilina s.r.o."][id as usize % 4].into(),
                    email: format!("lead{id}@example.org"),
                    status: rng.random_range(1..5),
                    source: rng.random_range(1..4),
                    assigned: rng.random_range(0..5),
                    added,
                    value: rng.random_range(0..50) as f64 * 100.0,
                    notes,
                }
            })
            .collect();
        let deals = (1..=25)
            .map(|id| {
                let services = (0..rng.random_range(0..3u32))
                    .map(|n| (id * 10 + n, format!("Service {n}"), rng.random_range(1..5) as f64, 150.0))
                    .collect();
                Deal {
                    id,
                    name: format!("Deal {id}"),
                    value: rng.random_range(1..100) as f64 * 250.0,
                    stage: rng.random_range(1..6),
                    source: rng.random_range(1..4),
                    status: ["open", "won", "lost"][id as usize % 3].into(),
                    lead_id: rng.random_range(1..46),
                    added: end - Duration::days(rng.random_range(1..200)),
                    services,
                }
            })
            .collect();
        LfData { leads, deals, merged: BTreeMap::new(), reply_after_list_requests: None }
    }
}

pub fn router() -> Router<Shared> {
    Router::new()
        .route("/ticket/list", get(tickets))
        .route("/ticket/details/{id}", get(ticket_details))
        .route("/ticket/statuses", get(ticket_statuses))
        .route("/staff/list", get(staff))
        .route("/call-log/list", get(call_logs))
        .route("/lead/list", get(leads))
        .route("/lead/notes/{id}", get(lead_notes))
        .route("/lead/count-by-status", get(leads_by_status))
        .route("/lead/summary", get(leads_summary))
        .route("/deal/list", get(deals))
        .route("/deal/sources", get(deal_sources))
        .route("/deal/pipeline", get(deal_stages))
        .route("/deal/services/{id}", get(deal_services))
}

type Params = Query<BTreeMap<String, String>>;

fn authorize(state: &Shared, headers: &HeaderMap) -> Result<(), Response> {
    let expected = format!("{}:{}", state.config.lf_user, state.config.lf_password);
    let given = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64_decode(b.trim()));
    if given.as_deref() == Some(expected.as_str()) {
        Ok(())
    } else {
        state.count("lf_unauthorized");
        if state.config.lf_refusal_status == 404 {
            return Err(
                (StatusCode::NOT_FOUND, axum::Json(json!({"status": false, "message": "Not found"}))).into_response()
            );
        }
        Err((StatusCode::UNAUTHORIZED, axum::Json(json!({"status": false, "message": "Invalid API credentials"})))
            .into_response())
    }
}

/// Standard base64 (for the Basic header; the simulator has no base64 dependency).
fn base64_decode(s: &str) -> Option<String> {
    const ALPHA: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for c in s.bytes().filter(|c| *c != b'=') {
        let v = ALPHA.iter().position(|a| *a == c)? as u32;
        bits = (bits << 6) | v;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
            bits &= (1 << n) - 1;
        }
    }
    String::from_utf8(out).ok()
}

fn envelope(data: Value) -> Response {
    axum::Json(json!({ "data": data, "message": "success" })).into_response()
}

fn no_data() -> Response {
    (StatusCode::NOT_FOUND, axum::Json(json!({"status": false, "message": "No data were found"}))).into_response()
}

/// `page`/`per_page` paging as the server does it: `per_page` clamped to 100, a page past the
/// end answered with the last page, an empty list as 404.
fn paged(state: &Shared, q: &BTreeMap<String, String>, rows: Vec<Value>) -> Response {
    if rows.is_empty() {
        return no_data();
    }
    let (page_param, size_param) = &state.config.lf_paging;
    let per_page = q.get(size_param).and_then(|v| v.parse::<usize>().ok()).unwrap_or(25).clamp(1, 100);
    let pages = rows.len().div_ceil(per_page);
    let page = q.get(page_param).and_then(|v| v.parse::<usize>().ok()).unwrap_or(1).clamp(1, pages);
    envelope(Value::Array(rows.into_iter().skip((page - 1) * per_page).take(per_page).collect()))
}

/// The whole list whatever the page (unpaged calls).
fn unpaged(rows: Vec<Value>) -> Response {
    if rows.is_empty() { no_data() } else { envelope(Value::Array(rows)) }
}

macro_rules! guard {
    ($state:expr, $headers:expr, $name:expr) => {{
        $state.count($name);
        if let Err(r) = authorize(&$state, &$headers) {
            return r;
        }
    }};
}

/// A conversation's Liveforce ticket id.
pub fn lf_id(c: &Conversation) -> u64 {
    let digits: String = c.id.chars().rev().take(5).collect::<Vec<_>>().into_iter().rev().collect();
    digits.parse().unwrap_or(0)
}

fn staff_id(data: &World, agent: &str) -> u64 {
    data.agents.iter().position(|a| a.id == agent).map_or(0, |i| i as u64 + 1)
}

pub fn status_id(status: &str) -> u32 {
    match status {
        "N" => 1,
        "C" => 2,
        "A" => 3,
        "W" => 4,
        "R" | "X" | "B" => 5,
        _ => 6,
    }
}

/// The ticket's replies: every visible group after the first.
fn replies(c: &Conversation) -> Vec<(&super::world::Group, &super::world::Message)> {
    c.groups
        .iter()
        .filter(|g| g.rtype != "I")
        .skip(1)
        .filter_map(|g| g.messages.iter().find(|m| m.rtype != "S").map(|m| (g, m)))
        .collect()
}

fn last_reply(c: &Conversation) -> Option<DateTime<Utc>> {
    let r = replies(c);
    r.last().map(|(_, m)| m.created)
}

/// A ticket list row as Perfex builds it: `SELECT *` over the ticket joined with its contact,
/// department, priority and status, so PHP keeps the *last* of each duplicated column name:
/// `name` is the priority's name and `email` the contact's (NULL without a contact). The
/// requester of a ticket without a contact (every fourth here) is in `from_name` and
/// `ticket_email`; with one, in the contact's `firstname`, `lastname` and `email` — and the
/// contact's password hash comes along, as on a real server.
pub fn render_ticket(data: &World, c: &Conversation, tz: chrono_tz::Tz) -> Value {
    let id = lf_id(c);
    let first = c.groups.iter().flat_map(|g| g.messages.iter()).find(|m| m.rtype != "S");
    let dept = data.departments.iter().position(|d| d.id == c.department_id).map_or(0, |i| i + 1);
    let contact = has_contact(id);
    let (first_name, last_name) = match c.owner_name.split_once(' ') {
        Some((f, l)) => (f.to_string(), l.to_string()),
        None => (c.owner_name.clone(), String::new()),
    };
    let priority = (id % 3) + 1;
    let priority_name = ["Low", "Medium", "High"][(priority - 1) as usize];
    json!({
        "ticketid": id.to_string(),
        "adminreplying": "0",
        "userid": if contact { (500 + id).to_string() } else { "0".into() },
        "contactid": if contact { (1000 + id).to_string() } else { "0".into() },
        "merged_ticket_id": data.vendors.liveforce.merged.get(&id).map(|t| t.to_string()),
        "from_name": if contact { Value::Null } else { c.owner_name.clone().into() },
        "ticket_email": if contact { Value::Null } else { c.owner_email.clone().into() },
        "department": dept.to_string(),
        "priority": priority.to_string(),
        "status": TICKET_STATUSES[status_id(&c.status) as usize - 1].1,
        "service": null,
        "ticketkey": format!("{:032x}", id * 7919),
        "subject": c.subject,
        "message": first.map(|m| m.body.clone()),
        "admin": null,
        "date": format_local(c.created, tz),
        "project_id": "0",
        "lastreply": last_reply(c).map(|t| format_local(t, tz)),
        "clientread": "0",
        "adminread": "0",
        "assigned": c.assigned_to.as_deref().map_or(0, |a| staff_id(data, a)).to_string(),
        "staff_id_replying": null,
        "cc": null,
        "tenant_ticket_id": (2400 + id).to_string(),
        "status_id": status_id(&c.status).to_string(),
        // The joined contact (NULL columns without one).
        "firstname": if contact { first_name.into() } else { Value::Null },
        "lastname": if contact { last_name.into() } else { Value::Null },
        "email": if contact { c.owner_email.clone().into() } else { Value::Null },
        "password": if contact { format!("$2y$08${:053x}", id * 104_729).into() } else { Value::Null },
        "new_pass_key": null,
        "is_primary": if contact { "1".into() } else { Value::Null },
        // The joined priority: its `name` overwrites every `name` before it.
        "priorityid": priority.to_string(),
        "name": priority_name,
    })
}

/// Whether ticket `id` was opened by a contact (three in four) or by e-mail from a stranger.
pub fn has_contact(id: u64) -> bool {
    !id.is_multiple_of(4)
}

/// Tickets in the server's order: `lastreply` ascending, nulls first, then id.
pub fn ordered_tickets(data: &World) -> Vec<&Conversation> {
    let mut v: Vec<&Conversation> = data.conversations.values().collect();
    v.sort_by(|a, b| last_reply(a).cmp(&last_reply(b)).then(lf_id(a).cmp(&lf_id(b))));
    v
}

async fn tickets(State(state): State<Shared>, headers: HeaderMap, Query(q): Params) -> Response {
    guard!(state, headers, "lf_tickets");
    let mut data = state.la.lock().expect("data lock");
    let tz = state.config.timezone;
    let rows: Vec<Value> = ordered_tickets(&data).into_iter().map(|c| render_ticket(&data, c, tz)).collect();
    let answer = paged(&state, &q, rows);
    if let Some((after, id)) = data.vendors.liveforce.reply_after_list_requests {
        if after <= 1 {
            data.vendors.liveforce.reply_after_list_requests = None;
            add_reply(&mut data, id, Utc::now());
        } else {
            data.vendors.liveforce.reply_after_list_requests = Some((after - 1, id));
        }
    }
    answer
}

/// A customer reply to ticket `id` at `at` (it moves to the end of the list).
pub fn add_reply(data: &mut World, id: u64, at: DateTime<Utc>) {
    let Some(c) = data.conversations.values_mut().find(|c| lf_id(c) == id) else { return };
    let mut g = c.groups[0].clone();
    g.id = format!("{}-r{}", g.id, c.groups.len());
    g.rtype = "3".into();
    g.created = at;
    g.messages.retain(|m| m.rtype != "S");
    for m in &mut g.messages {
        m.id = format!("{}-r{}", m.id, c.groups.len());
        m.created = at;
        m.userid = c.owner_id.clone();
        m.body = "Any news?".into();
    }
    c.groups.push(g);
    c.changed = at;
}

async fn ticket_details(State(state): State<Shared>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    guard!(state, headers, "lf_ticket_details");
    let data = state.la.lock().expect("data lock");
    let tz = state.config.timezone;
    let Some(c) = data.conversations.values().find(|c| lf_id(c).to_string() == id) else { return no_data() };
    let mut t = render_ticket(&data, c, tz);
    // A merge moves the merged ticket's replies to the ticket it was merged into (and touches
    // neither the surviving ticket's `lastreply` nor its status).
    let merged = &data.vendors.liveforce.merged;
    let own = lf_id(c);
    let mut sources: Vec<&Conversation> = Vec::new();
    if !merged.contains_key(&own) {
        sources.push(c);
        sources.extend(data.conversations.values().filter(|m| merged.get(&lf_id(m)) == Some(&own)));
    }
    let mut all: Vec<Value> = Vec::new();
    for src in sources {
        for (i, (_, m)) in replies(src).into_iter().enumerate() {
            let agent = m.userid != src.owner_id;
            all.push(json!({"id": format!("{}", lf_id(src) * 1000 + i as u64 + 1),
                   "ticketid": own.to_string(), "userid": "0",
                   "contactid": if agent || !has_contact(lf_id(src)) { "0".to_string() } else { (1000 + lf_id(src)).to_string() },
                   "name": if agent { "Staff".to_string() } else { src.owner_name.clone() },
                   "email": if agent { String::new() } else { src.owner_email.clone() },
                   "date": format_local(m.created, tz), "message": m.body,
                   "admin": if agent { Some(staff_id(&data, &m.userid).to_string()) } else { None }}));
        }
    }
    t["replies"] = Value::Array(all);
    envelope(t)
}

async fn ticket_statuses(State(state): State<Shared>, headers: HeaderMap) -> Response {
    guard!(state, headers, "lf_ticket_statuses");
    unpaged(
        TICKET_STATUSES
            .iter()
            .map(|(id, name, color)| {
                json!({"ticketstatusid": id.to_string(), "name": name, "isdefault": if *id <= 5 { "1" } else { "0" },
                       "statuscolor": color, "statusorder": id.to_string()})
            })
            .collect(),
    )
}

async fn staff(State(state): State<Shared>, headers: HeaderMap, Query(q): Params) -> Response {
    guard!(state, headers, "lf_staff");
    let data = state.la.lock().expect("data lock");
    let tz = state.config.timezone;
    let rows = data
        .agents
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let (first, last) = a.name.split_once(' ').unwrap_or((&a.name, ""));
            json!({"staffid": (i + 1).to_string(), "email": a.email, "firstname": first, "lastname": last,
                   "phonenumber": "", "active": "1", "admin": if i == 0 { "1" } else { "0" },
                   "datecreated": format_local(state.config.history_end - Duration::days(400), tz),
                   "profile_image": null})
        })
        .collect();
    paged(&state, &q, rows)
}

pub fn call_records(data: &World, tz: chrono_tz::Tz) -> Vec<Value> {
    data.conversations
        .values()
        .filter(|c| c.channel == "C")
        .map(|c| {
            let duration: i64 = c.groups.iter().map(|g| (g.finished - g.created).num_seconds().max(60)).sum();
            json!({"id": lf_id(c).to_string(), "call_type": if lf_id(c).is_multiple_of(2) { "inbound" } else { "outbound" },
                   "staffid": c.assigned_to.as_deref().map_or(0, |a| staff_id(data, a)).to_string(),
                   "contact_id": (1000 + lf_id(c)).to_string(), "customer_phone": format!("+421 900 {:06}", lf_id(c)),
                   "call_start": format_local(c.created, tz), "call_duration": duration.to_string(),
                   "call_status": if c.status == "R" { "completed" } else { "missed" }})
        })
        .collect()
}

async fn call_logs(State(state): State<Shared>, headers: HeaderMap, Query(q): Params) -> Response {
    guard!(state, headers, "lf_call_logs");
    let data = state.la.lock().expect("data lock");
    paged(&state, &q, call_records(&data, state.config.timezone))
}

async fn leads(State(state): State<Shared>, headers: HeaderMap, Query(q): Params) -> Response {
    guard!(state, headers, "lf_leads");
    let data = state.la.lock().expect("data lock");
    let tz = state.config.timezone;
    let rows = data
        .vendors
        .liveforce
        .leads
        .iter()
        .map(|l| {
            json!({"id": l.id.to_string(), "name": l.name, "title": "", "company": l.company, "email": l.email,
                   "phonenumber": "", "status": l.status.to_string(),
                   "status_name": LEAD_STATUSES[l.status as usize - 1].1, "source": l.source.to_string(),
                   "assigned": l.assigned.to_string(), "dateadded": format_local(l.added, tz),
                   "lastcontact": null, "lead_value": format!("{:.2}", l.value), "country": "SK"})
        })
        .collect();
    paged(&state, &q, rows)
}

async fn lead_notes(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Params,
) -> Response {
    guard!(state, headers, "lf_lead_notes");
    let data = state.la.lock().expect("data lock");
    let tz = state.config.timezone;
    let Some(l) = data.vendors.liveforce.leads.iter().find(|l| l.id.to_string() == id) else { return no_data() };
    let rows = l
        .notes
        .iter()
        .map(|(nid, staff, text, at)| {
            json!({"id": nid.to_string(), "rel_id": l.id.to_string(), "description": text,
                   "addedfrom": staff.to_string(), "dateadded": format_local(*at, tz)})
        })
        .collect();
    paged(&state, &q, rows)
}

async fn leads_by_status(State(state): State<Shared>, headers: HeaderMap) -> Response {
    guard!(state, headers, "lf_leads_by_status");
    let data = state.la.lock().expect("data lock");
    unpaged(
        LEAD_STATUSES
            .iter()
            .map(|(id, name)| {
                let n = data.vendors.liveforce.leads.iter().filter(|l| l.status == *id).count();
                json!({"status": id.to_string(), "name": name, "total": n.to_string()})
            })
            .collect(),
    )
}

async fn leads_summary(State(state): State<Shared>, headers: HeaderMap) -> Response {
    guard!(state, headers, "lf_leads_summary");
    let data = state.la.lock().expect("data lock");
    let leads = &data.vendors.liveforce.leads;
    envelope(json!({
        "total_leads": leads.len().to_string(),
        "customers": leads.iter().filter(|l| l.status == 4).count().to_string(),
        "total_value": format!("{:.2}", leads.iter().map(|l| l.value).sum::<f64>()),
    }))
}

async fn deals(State(state): State<Shared>, headers: HeaderMap, Query(q): Params) -> Response {
    guard!(state, headers, "lf_deals");
    let data = state.la.lock().expect("data lock");
    let tz = state.config.timezone;
    let rows = data
        .vendors
        .liveforce
        .deals
        .iter()
        .map(|d| {
            json!({"id": d.id.to_string(), "name": d.name, "deal_value": format!("{:.2}", d.value),
                   "pipeline_stage_id": d.stage.to_string(), "source_id": d.source.to_string(), "status": d.status,
                   "assigned": "1", "lead_id": d.lead_id.to_string(), "dateadded": format_local(d.added, tz),
                   "expected_close_date": format_local(d.added + Duration::days(30), tz)})
        })
        .collect();
    paged(&state, &q, rows)
}

async fn deal_sources(State(state): State<Shared>, headers: HeaderMap) -> Response {
    guard!(state, headers, "lf_deal_sources");
    unpaged(DEAL_SOURCES.iter().map(|(id, n)| json!({"id": id.to_string(), "name": n})).collect())
}

async fn deal_stages(State(state): State<Shared>, headers: HeaderMap, Query(q): Params) -> Response {
    guard!(state, headers, "lf_deal_stages");
    paged(
        &state,
        &q,
        DEAL_STAGES
            .iter()
            .map(|(id, n, p)| json!({"id": id.to_string(), "name": n, "order": id.to_string(), "probability": format!("{p:.2}")}))
            .collect(),
    )
}

async fn deal_services(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Params,
) -> Response {
    guard!(state, headers, "lf_deal_services");
    let data = state.la.lock().expect("data lock");
    let Some(d) = data.vendors.liveforce.deals.iter().find(|d| d.id.to_string() == id) else { return no_data() };
    let rows = d
        .services
        .iter()
        .map(|(sid, name, qty, rate)| {
            json!({"id": sid.to_string(), "deal_id": d.id.to_string(), "name": name, "quantity": format!("{qty:.2}"), "rate": format!("{rate:.2}")})
        })
        .collect();
    paged(&state, &q, rows)
}

/// The pipeline the demo writes for this simulator.
pub fn demo_pipeline(base_url: &str, cfg: &super::SimConfig, rate_per_minute: u32) -> super::DemoPipeline {
    super::DemoPipeline::with_password(
        "liveforce",
        "Liveforce (Perfex)",
        base_url,
        &cfg.lf_user,
        &cfg.lf_password,
        rate_per_minute,
    )
}

/// Every 25th ticket (by id) was merged into the one before it.
pub(super) fn seed_merges(data: &mut World) {
    let mut ids: Vec<u64> = data.conversations.values().map(lf_id).collect();
    ids.sort();
    for i in (25..ids.len()).step_by(25) {
        data.vendors.liveforce.merged.insert(ids[i], ids[i - 1]);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn decodes_basic_credentials() {
        assert_eq!(super::base64_decode("dXNlcjpwYXNz").as_deref(), Some("user:pass"));
        assert_eq!(
            super::base64_decode("bGYtYWRtaW46c2ltLWxpdmVmb3JjZS1wYXNz").as_deref(),
            Some("lf-admin:sim-liveforce-pass")
        );
    }
}
