//! The rest of LiveAgent API v1 for the simulator: customers, companies, customer groups,
//! widgets, suggestion categories, the knowledge base, online status, chats and calls overview,
//! conversation tags, and all twenty report endpoints.
//!
//! Reports are computed from the same conversations the other endpoints serve, over the
//! `date_from`/`date_to` window read in the account's zone, so their numbers add up with the
//! tickets (e.g. `performance.created_tickets` of a day = conversations created that day).
//! [`CatalogData::restated`] adds to a day's `notes` to play a vendor restating a past day.

#![allow(clippy::result_large_err)]

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use chrono::{DateTime, Duration, NaiveDate, Timelike, Utc};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use super::{Conversation, Params, SimConfig, World, authorize, error_response, ok, parse_usize};
use crate::simulator::Shared;
use crate::timez::{format_local, parse_local};

#[derive(Debug, Clone)]
pub struct Company {
    pub id: String,
    pub name: String,
    pub created: DateTime<Utc>,
    pub emails: Vec<String>,
    pub phones: Vec<String>,
    pub groups: Vec<(String, String)>,
    pub custom_fields: Vec<(String, String)>,
}

#[derive(Debug, Clone)]
pub struct KbEntry {
    pub id: String,
    pub kb_id: String,
    pub parent: String,
    pub rtype: String,
    pub title: String,
    pub content: String,
    pub views: u32,
    pub created: DateTime<Utc>,
    pub changed: DateTime<Utc>,
}

/// The simulator's data beyond conversations.
#[derive(Debug, Clone)]
pub struct CatalogData {
    pub companies: Vec<Company>,
    pub customer_groups: Vec<(String, String)>,
    pub widgets: Vec<(String, String, String)>,
    pub suggestion_categories: Vec<(String, String, String)>,
    pub knowledgebases: Vec<(String, String)>,
    pub kb_entries: Vec<KbEntry>,
    /// Extra `notes` reported for a day (in the account's zone): a restated past day.
    pub restated: BTreeMap<NaiveDate, i64>,
}

impl CatalogData {
    pub fn generate(cfg: &SimConfig) -> CatalogData {
        // A stream of its own, so conversations stay the same whatever is added here.
        let mut rng = SmallRng::seed_from_u64(cfg.seed ^ 0x5eed_ca7a);
        let end = cfg.history_end;
        let companies = (0..6)
            .map(|i| {
                let mut custom = vec![("employees".to_string(), format!("{}", rng.random_range(1..5000)))];
                if i % 2 == 0 {
                    custom.push(("tier".into(), ["gold", "silver"][i % 2].into()));
                }
                Company {
                    id: format!("co{i:04}{}", rng.random_range(100..999)),
                    name: ["Acme s.r.o.", "Globex", "Initech", "Umbrella", "Hooli", "Žilina Tech"][i].into(),
                    created: end - Duration::days(rng.random_range(30..900)),
                    emails: vec![format!("info@company{i}.example"), format!("ceo@company{i}.example")],
                    phones: vec![format!("+421 900 {:06}", rng.random_range(0..999_999))],
                    groups: vec![("gvip".into(), "VIP".into())].into_iter().take(i % 2).collect(),
                    custom_fields: custom,
                }
            })
            .collect();
        let kb_entries = (0..30)
            .map(|i| {
                let created = end - Duration::days(rng.random_range(10..700));
                let changed = created + Duration::hours(rng.random_range(0..2000));
                KbEntry {
                    id: format!("{}", 100 + i),
                    kb_id: if i % 3 == 0 { "kb_second".into() } else { "kb_defa".into() },
                    parent: if i < 3 { "0".into() } else { format!("{}", 100 + i % 3) },
                    rtype: if i < 3 { "C".into() } else { "A".into() },
                    title: format!(
                        "How to {}",
                        ["reset a password", "pay by card", "export data", "zrušiť účet"][i % 4]
                    ),
                    content: format!("<p>Step {i}: open the settings.</p>"),
                    views: rng.random_range(0..5000),
                    created,
                    changed: changed.min(end),
                }
            })
            .collect();
        CatalogData {
            companies,
            customer_groups: vec![
                ("ag0h".into(), "VIP".into()),
                ("2kt8".into(), "Premium".into()),
                ("x9q1".into(), "Trial".into()),
            ],
            widgets: vec![
                ("widget1".into(), "Chat button".into(), "C".into()),
                ("widget2".into(), "Contact form".into(), "O".into()),
                ("widget3".into(), "Knowledge base".into(), "W".into()),
            ],
            suggestion_categories: vec![
                ("15".into(), "Suggestions".into(), "Product1 / Suggestion".into()),
                ("16".into(), "Ideas".into(), "Product2 / Ideas".into()),
            ],
            knowledgebases: vec![("kb_defa".into(), "Knowledgebase 1".into()), ("kb_second".into(), "Interní".into())],
            kb_entries,
            restated: BTreeMap::new(),
        }
    }
}

pub fn router() -> Router<Shared> {
    Router::new()
        .route("/api/customers", get(customers))
        .route("/api/customersgroups", get(customer_groups))
        .route("/api/companies", get(companies))
        .route("/api/companies/{id}", get(company))
        .route("/api/widgets", get(widgets))
        .route("/api/suggestioncategories", get(suggestion_categories))
        .route("/api/knowledgebase/knowledgebases", get(knowledgebases))
        .route("/api/knowledgebase/entries", get(kb_entries))
        .route("/api/onlinestatus/agents", get(online_agents))
        .route("/api/onlinestatus/departments", get(online_departments))
        .route("/api/chats/overview", get(chats_overview))
        .route("/api/calls/overview", get(calls_overview))
        .route("/api/conversations/{id}/tags", get(conversation_tags))
        .route("/api/reports/{name}", get(report))
        .route("/api/reports/{scope}/{name}", get(scoped_report))
}

/// `limitcount`/`limitfrom` (or `limit`/`offset`) paging of `rows`.
fn page(
    q: &BTreeMap<String, String>,
    rows: Vec<Value>,
    names: (&str, &str),
    max: usize,
) -> Result<Vec<Value>, Response> {
    let limit = parse_usize(q, names.0, 100)?.min(max);
    let from = parse_usize(q, names.1, 0)?;
    Ok(rows.into_iter().skip(from).take(limit).collect())
}

macro_rules! guard {
    ($state:expr, $q:expr, $name:expr) => {{
        $state.count($name);
        if let Err(r) = authorize(&$state, &$q) {
            return r;
        }
    }};
}

/// The customers the conversations' owners are (one per conversation owner), oldest first.
pub fn customer_records(data: &World, tz: chrono_tz::Tz) -> Vec<(DateTime<Utc>, Value)> {
    let mut v: Vec<(DateTime<Utc>, Value)> = data
        .conversations
        .values()
        .map(|c| {
            let (first, last) = c.owner_name.split_once(' ').unwrap_or((&c.owner_name, ""));
            (
                c.created,
                json!({
                    "contactid": c.owner_id,
                    "email": c.owner_email,
                    "firstname": first,
                    "lastname": last,
                    "systemname": format!("system{}", &c.owner_id[2..]),
                    "userid": format!("u{}", c.owner_id),
                    "datecreated": format_local(c.created, tz),
                    "role": "R",
                    "gender": if c.owner_id.len() % 2 == 0 { "M" } else { "F" },
                }),
            )
        })
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1["contactid"].as_str().cmp(&b.1["contactid"].as_str())));
    v
}

async fn customers(State(state): State<Shared>, Query(q): Params) -> Response {
    guard!(state, q, "customers");
    let from = match q.get("datecreatedfrom").map(|s| parse_local(s, state.config.filter_timezone)) {
        Some(None) => return error_response(StatusCode::BAD_REQUEST, "Invalid date format: datecreatedfrom"),
        Some(Some(t)) => Some(t),
        None => None,
    };
    let to = match q.get("datecreatedto").map(|s| parse_local(s, state.config.filter_timezone)) {
        Some(None) => return error_response(StatusCode::BAD_REQUEST, "Invalid date format: datecreatedto"),
        Some(Some(t)) => Some(t),
        None => None,
    };
    let data = state.la.lock().expect("data lock");
    let rows: Vec<Value> = customer_records(&data, state.config.timezone)
        .into_iter()
        .filter(|(t, _)| from.is_none_or(|f| *t >= f))
        .filter(|(t, _)| to.is_none_or(|u| *t < u))
        .map(|(_, v)| v)
        .collect();
    match page(&q, rows, ("limitcount", "limitfrom"), 1000) {
        Ok(rows) => ok(json!({ "customers": rows })),
        Err(r) => r,
    }
}

async fn customer_groups(State(state): State<Shared>, Query(q): Params) -> Response {
    guard!(state, q, "customersgroups");
    let data = state.la.lock().expect("data lock");
    let rows: Vec<Value> =
        data.vendors.catalog.customer_groups.iter().map(|(id, n)| json!({"id": id, "name": n})).collect();
    ok(json!({ "groups": rows }))
}

async fn companies(State(state): State<Shared>, Query(q): Params) -> Response {
    guard!(state, q, "companies");
    let data = state.la.lock().expect("data lock");
    let tz = state.config.timezone;
    let rows: Vec<Value> = data
        .vendors
        .catalog
        .companies
        .iter()
        .map(|c| {
            json!({"id": c.id, "name": c.name, "emails": c.emails.join(", "),
                   "datecreated": format_local(c.created, tz), "ip": "10.10.1.1"})
        })
        .collect();
    ok(json!({ "companies": rows }))
}

async fn company(State(state): State<Shared>, Path(id): Path<String>, Query(q): Params) -> Response {
    guard!(state, q, "company");
    let data = state.la.lock().expect("data lock");
    let Some(c) = data.vendors.catalog.companies.iter().find(|c| c.id == id) else {
        return error_response(StatusCode::NOT_FOUND, "Company not found");
    };
    ok(json!({
        "id": c.id, "name": c.name, "datecreated": format_local(c.created, state.config.timezone),
        "language": "sk", "ip": "10.10.1.1", "emails": c.emails, "phones": c.phones,
        "groups": c.groups.iter().map(|(g, n)| json!({"groupid": g, "groupname": n})).collect::<Vec<_>>(),
        "custom_fields": c.custom_fields.iter().map(|(k, v)| json!({"code": k, "value": v})).collect::<Vec<_>>(),
        "unique_fields": c.emails.iter().map(|e| json!({"code": "email", "value": e})).collect::<Vec<_>>(),
    }))
}

async fn widgets(State(state): State<Shared>, Query(q): Params) -> Response {
    guard!(state, q, "widgets");
    let data = state.la.lock().expect("data lock");
    let dept = data.departments.first().map(|d| d.id.clone()).unwrap_or_default();
    let rows: Vec<Value> = data
        .vendors
        .catalog
        .widgets
        .iter()
        .map(|(id, name, rtype)| {
            json!({"contactwidgetid": id, "name": name, "provide": "BFC", "departmentid": dept, "kb_id": "kb_defa",
                   "rtype": rtype, "usecode": "B", "status": "A", "description": format!("{name} on the web"),
                   "impressions": "1542", "tickets": "17", "language": "en-US",
                   "last_display_time": format_local(state.config.history_end - Duration::hours(3), state.config.timezone),
                   "last_display_url": "www.example.com/contact",
                   "onlinecode": "<script type=\"text/javascript\">/* widget */</script>"})
        })
        .collect();
    match page(&q, rows, ("limitcount", "limitfrom"), 1000) {
        Ok(rows) => ok(json!({ "widgets": rows })),
        Err(r) => r,
    }
}

async fn suggestion_categories(State(state): State<Shared>, Query(q): Params) -> Response {
    guard!(state, q, "suggestioncategories");
    let data = state.la.lock().expect("data lock");
    let rows: Vec<Value> = data
        .vendors
        .catalog
        .suggestion_categories
        .iter()
        .map(|(id, t, p)| json!({"id": id, "title": t, "path": p}))
        .collect();
    ok(json!({ "suggestioncategories": rows }))
}

async fn knowledgebases(State(state): State<Shared>, Query(q): Params) -> Response {
    guard!(state, q, "knowledgebases");
    let data = state.la.lock().expect("data lock");
    let rows: Vec<Value> =
        data.vendors.catalog.knowledgebases.iter().map(|(id, n)| json!({"kb_id": id, "name": n})).collect();
    match page(&q, rows, ("limit", "offset"), 500) {
        Ok(rows) => ok(json!({ "knowledgebases": rows })),
        Err(r) => r,
    }
}

pub fn kb_record(e: &KbEntry, tz: chrono_tz::Tz) -> Value {
    json!({
        "kb_id": e.kb_id, "kb_entry_id": e.id, "parent_entry_id": e.parent, "rtype": e.rtype, "rstatus": "P",
        "access": "P", "access_inherited": "P", "urlcode": format!("u{}", e.id), "treepath": format!("0|{}", e.parent),
        "rorder": "0", "title": e.title, "metadescription": "", "keywords": "faq", "content": e.content,
        "conversationid": "", "departmentid": "", "views": e.views.to_string(), "votes": "0",
        "datecreated": format_local(e.created, tz), "datechanged": format_local(e.changed, tz), "deleted": "N",
        "description": "",
    })
}

async fn kb_entries(State(state): State<Shared>, Query(q): Params) -> Response {
    guard!(state, q, "kb_entries");
    let since = match q.get("date_changed").map(|s| parse_local(s, state.config.filter_timezone)) {
        Some(None) => return error_response(StatusCode::BAD_REQUEST, "Invalid date format: date_changed"),
        Some(Some(t)) => Some(t),
        None => None,
    };
    let data = state.la.lock().expect("data lock");
    let mut entries: Vec<&KbEntry> =
        data.vendors.catalog.kb_entries.iter().filter(|e| since.is_none_or(|s| e.changed >= s)).collect();
    entries.sort_by(|a, b| a.changed.cmp(&b.changed).then(a.id.cmp(&b.id)));
    let rows = entries.into_iter().map(|e| kb_record(e, state.config.timezone)).collect();
    match page(&q, rows, ("limit", "offset"), 500) {
        Ok(rows) => ok(json!({ "entries": rows })),
        Err(r) => r,
    }
}

async fn online_agents(State(state): State<Shared>, Query(q): Params) -> Response {
    guard!(state, q, "onlinestatus_agents");
    let data = state.la.lock().expect("data lock");
    let minute = Utc::now().minute() as usize;
    let rows: Vec<Value> = data
        .agents
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let (first, last) = a.name.split_once(' ').unwrap_or((&a.name, ""));
            let status = ["MPRT", "F", "T", "MR"][(i + minute) % 4];
            json!({"id": a.id, "contactid": format!("ct{}", &a.id[2..]), "username": a.email, "firstname": first,
                   "lastname": last, "avatar_url": "themes/agent/_common_templates/img/user05.png",
                   "presetStatus": "MPRT", "onlineStatus": status})
        })
        .collect();
    ok(json!({ "agentsOnlineStates": rows }))
}

async fn online_departments(State(state): State<Shared>, Query(q): Params) -> Response {
    guard!(state, q, "onlinestatus_departments");
    let data = state.la.lock().expect("data lock");
    let rows: Vec<Value> = data
        .departments
        .iter()
        .map(|d| {
            let open = data.conversations.values().filter(|c| c.department_id == d.id && c.status == "C").count();
            json!({"id": d.id, "name": d.name, "onlineStatus": if d.online_status.is_empty() { "F" } else { &d.online_status },
                   "chat_count": "0", "new_count": "0", "customer_reply_count": open.to_string(),
                   "total_count": open.to_string(), "max_count": open.to_string()})
        })
        .collect();
    ok(json!({ "departmentsOnlineStates": rows }))
}

async fn chats_overview(State(state): State<Shared>, Query(q): Params) -> Response {
    guard!(state, q, "chats_overview");
    let m = Utc::now().minute() as i64;
    ok(
        json!({ "chatsOverview": [ { "visitors": 20 + m % 7, "chats": m % 5, "ringing": m % 2, "queue": m % 3, "agents": 5 } ] }),
    )
}

async fn calls_overview(State(state): State<Shared>, Query(q): Params) -> Response {
    guard!(state, q, "calls_overview");
    let m = Utc::now().minute() as i64;
    ok(json!({ "callsOverview": [ { "running": m % 4, "ringing": m % 2, "inqueue": m % 6 } ] }))
}

async fn conversation_tags(State(state): State<Shared>, Path(id): Path<String>, Query(q): Params) -> Response {
    guard!(state, q, "conversation_tags");
    let data = state.la.lock().expect("data lock");
    let Some(c) = data.conversations.get(&id) else {
        return error_response(StatusCode::NOT_FOUND, "Conversation not found");
    };
    let rows: Vec<Value> = c
        .tags
        .iter()
        .map(|t| json!({"id": t, "name": data.tags.iter().find(|g| &g.id == t).map(|g| g.name.clone())}))
        .collect();
    ok(json!({ "tags": rows }))
}

async fn report(State(state): State<Shared>, Path(name): Path<String>, Query(q): Params) -> Response {
    serve_report(state, None, name, q)
}

async fn scoped_report(
    State(state): State<Shared>,
    Path((scope, name)): Path<(String, String)>,
    Query(q): Params,
) -> Response {
    serve_report(state, Some(scope), name, q)
}

fn serve_report(state: Shared, scope: Option<String>, name: String, q: BTreeMap<String, String>) -> Response {
    let endpoint = match &scope {
        Some(s) => format!("report_{s}_{name}"),
        None => format!("report_{name}"),
    };
    state.count(&endpoint);
    state.count("reports");
    if let Err(r) = authorize(&state, &q) {
        return r;
    }
    let tz = state.config.timezone;
    let (Some(from), Some(to)) =
        (q.get("date_from").and_then(|s| parse_local(s, tz)), q.get("date_to").and_then(|s| parse_local(s, tz)))
    else {
        return error_response(StatusCode::BAD_REQUEST, "Missing or invalid parameter date_from/date_to");
    };
    let data = state.la.lock().expect("data lock");
    match report_rows(&data, &state.config, scope.as_deref(), &name, from, to) {
        Some((key, rows)) => match page(&q, rows, ("limitcount", "limitfrom"), 1000) {
            Ok(rows) => ok(json!({ key: rows })),
            Err(r) => r,
        },
        None => error_response(StatusCode::NOT_FOUND, "Unknown report"),
    }
}

fn s<T: ToString>(v: T) -> Value {
    Value::String(v.to_string())
}

fn is_chat(c: &Conversation) -> bool {
    matches!(c.channel.as_str(), "B" | "I")
}

fn is_call(c: &Conversation) -> bool {
    c.channel == "C"
}

fn in_scope(c: &Conversation, scope: Option<&str>) -> bool {
    match scope {
        Some("chats") => is_chat(c),
        Some("calls") => is_call(c),
        Some(_) => !is_chat(c) && !is_call(c),
        None => true,
    }
}

/// A stable small number from a string (for deterministic per-row figures).
fn hash(s: &str) -> u64 {
    s.bytes().fold(1469598103934665603u64, |h, b| (h ^ b as u64).wrapping_mul(1099511628211))
}

/// The 43 shared measures over conversations created in a window (and groups written in it).
fn measures(
    convs: &[&Conversation],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    restated: i64,
) -> serde_json::Map<String, Value> {
    let in_window = |t: DateTime<Utc>| t >= from && t <= to;
    let groups: Vec<_> =
        convs.iter().flat_map(|c| c.groups.iter().map(move |g| (c, g))).filter(|(_, g)| in_window(g.created)).collect();
    let answers = groups
        .iter()
        .filter(|(c, g)| matches!(g.rtype.as_str(), "4" | "V") || (g.rtype == "C" && g.userid != c.owner_id))
        .count();
    let chat_answers = groups.iter().filter(|(c, g)| g.rtype == "C" && g.userid != c.owner_id).count();
    let incoming = groups.iter().filter(|(c, g)| g.userid == c.owner_id).count();
    let notes = groups.iter().filter(|(_, g)| g.rtype == "I").count() as i64 + restated;
    let first_answer: Vec<i64> = convs
        .iter()
        .filter_map(|c| {
            c.groups
                .iter()
                .find(|g| g.userid != c.owner_id && g.rtype != "I")
                .map(|g| (g.created - c.created).num_seconds())
        })
        .collect();
    let avg = |v: &[i64]| if v.is_empty() { 0 } else { v.iter().sum::<i64>() / v.len() as i64 };
    let chats = convs.iter().filter(|c| is_chat(c)).count();
    let calls = convs.iter().filter(|c| is_call(c)).count();
    let resolved = convs.iter().filter(|c| c.status == "R").count();
    let mut m = serde_json::Map::new();
    for key in [
        "newAnswerAvgTimeSla",
        "nextAnswerAvgTime",
        "nextAnswerAvgTimeSla",
        "missed_chats",
        "chatPickupAvgTime",
        "chatAvgTime",
        "missed_calls",
        "call_seconds",
        "not_ranked",
        "rewards",
        "punishments",
        "u_chats",
        "u_calls",
        "firstAssignAvgTime",
        "firstAssignAvgTimeSla",
        "firstResolveAvgTime",
        "firstResolveAvgTimeSla",
        "calls_outgoing",
        "call_outgoing_seconds",
        "call_outgoing_avg_time",
        "call_pickup_avg_time",
        "call_avg_time",
        "calls_internal",
        "call_internal_avg_time",
        "call_internal_seconds",
        "o_calls",
    ] {
        m.insert(key.into(), s(0));
    }
    for key in ["not_ranked_p", "rewards_p", "punishments_p"] {
        m.insert(key.into(), s("0.00"));
    }
    m.insert("answers".into(), s(answers));
    m.insert("newAnswerAvgTime".into(), s(avg(&first_answer)));
    m.insert("chat_answers".into(), s(chat_answers));
    m.insert("chats".into(), s(chats));
    m.insert("chat_pickup".into(), s(chats));
    m.insert("calls".into(), s(calls));
    m.insert("i_messages".into(), s(incoming));
    m.insert("i_chats".into(), s(chats));
    m.insert("i_calls".into(), s(calls));
    m.insert("f_chats".into(), s(chats));
    m.insert("f_calls".into(), s(calls));
    m.insert("created_tickets".into(), s(convs.len()));
    m.insert("resolved_tickets".into(), s(resolved));
    m.insert("notes".into(), s(notes));
    m
}

fn with(mut m: serde_json::Map<String, Value>, head: Value) -> Value {
    if let Value::Object(h) = head {
        for (k, v) in h {
            m.insert(k, v);
        }
    }
    Value::Object(m)
}

/// The rows a report endpoint answers for `[from, to]`: `(list key, rows)`; `None` for an
/// unknown report.
pub fn report_rows(
    data: &World,
    cfg: &SimConfig,
    scope: Option<&str>,
    name: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Option<(&'static str, Vec<Value>)> {
    let tz = cfg.timezone;
    let created: Vec<&Conversation> =
        data.conversations.values().filter(|c| c.created >= from && c.created <= to).collect();
    let day = from.with_timezone(&tz).date_naive();
    let restated = data.vendors.catalog.restated.get(&day).copied().unwrap_or(0);
    let hours = || (0..24).map(move |h| from + Duration::hours(h)).filter(move |t| *t <= to);
    let agent_names = |id: &str| -> (String, String) {
        let name = data.agents.iter().find(|a| a.id == id).map(|a| a.name.clone()).unwrap_or_default();
        let (f, l) = name.split_once(' ').unwrap_or((&name, ""));
        (f.to_string(), l.to_string())
    };
    let rows: Vec<Value> = match (scope, name) {
        (None, "performance") => {
            vec![with(measures(&created, from, to, restated), json!({"datetime": format_local(from, tz), "dateto": format_local(to, tz)}))]
        }
        (None, "channels") => {
            let mut by: BTreeMap<&str, Vec<&Conversation>> = BTreeMap::new();
            for c in &created {
                by.entry(c.channel.as_str()).or_default().push(c);
            }
            by.into_iter()
                .map(|(ch, cs)| {
                    let name = match ch {
                        "E" => "Email",
                        "B" => "Chat",
                        "C" => "Call",
                        "F" => "Facebook",
                        "T" => "Twitter",
                        "M" => "Contact form",
                        "Q" => "Forum",
                        _ => "Other",
                    };
                    with(measures(&cs, from, to, restated), json!({"id": ch, "channelName": name}))
                })
                .collect()
        }
        (None, "departments") => {
            let mut by: BTreeMap<&str, Vec<&Conversation>> = BTreeMap::new();
            for c in &created {
                by.entry(c.department_id.as_str()).or_default().push(c);
            }
            by.into_iter()
                .map(|(d, cs)| {
                    with(measures(&cs, from, to, restated), json!({"id": d, "departmentName": data.department_name(d)}))
                })
                .collect()
        }
        (None, "tags") => {
            let mut by: BTreeMap<&str, Vec<&Conversation>> = BTreeMap::new();
            for c in &created {
                for t in &c.tags {
                    by.entry(t.as_str()).or_default().push(c);
                }
            }
            by.into_iter()
                .map(|(t, cs)| {
                    let name = data.tags.iter().find(|g| g.id == t).map(|g| g.name.clone());
                    with(measures(&cs, from, to, restated), json!({"id": t, "tagName": name}))
                })
                .collect()
        }
        (None, "agents") => {
            let mut answers: BTreeMap<&str, i64> = BTreeMap::new();
            let mut notes: BTreeMap<&str, i64> = BTreeMap::new();
            for c in data.conversations.values() {
                for g in c.groups.iter().filter(|g| g.created >= from && g.created <= to && g.userid != c.owner_id) {
                    *answers.entry(g.userid.as_str()).or_default() += 1;
                    if g.rtype == "I" {
                        *notes.entry(g.userid.as_str()).or_default() += 1;
                    }
                }
            }
            answers
                .into_iter()
                .filter(|(id, _)| data.agents.iter().any(|a| a.id == *id))
                .map(|(id, n)| {
                    let (f, l) = agent_names(id);
                    let mut m = serde_json::Map::new();
                    for k in [
                        "newAnswerAvgTime", "newAnswerAvgTimeSla", "nextAnswerAvgTime", "nextAnswerAvgTimeSla", "calls",
                        "missed_calls", "call_seconds", "chats", "chat_answers", "missed_chats", "chat_pickup",
                        "chatPickupAvgTime", "chatAvgTime", "not_ranked", "rewards", "punishments",
                    ] {
                        m.insert(k.into(), s(0));
                    }
                    for k in [
                        "calls_ph", "missed_calls_ph", "call_seconds_ph", "chats_ph", "chat_answers_ph", "missed_chats_ph",
                        "not_ranked_p", "not_ranked_ph", "rewards_p", "rewards_ph", "punishments_p", "punishments_ph",
                    ] {
                        m.insert(k.into(), s("0.00"));
                    }
                    // The rest of the documented 53 columns: the agent's tickets created and
                    // resolved in the window, notes written, and distinct figures per agent for
                    // the timings and call counts (so a column read from the wrong field shows).
                    let own: Vec<&&Conversation> =
                        created.iter().filter(|c| c.assigned_to.as_deref() == Some(id)).collect();
                    m.insert("created_tickets".into(), s(own.len()));
                    m.insert("resolved_tickets".into(), s(own.iter().filter(|c| c.status == "R").count()));
                    m.insert("notes".into(), s(notes.get(id).copied().unwrap_or(0)));
                    for (i, k) in [
                        "u_chats", "u_calls", "firstAssignAvgTime", "firstAssignAvgTimeSla", "firstResolveAvgTime",
                        "firstResolveAvgTimeSla", "calls_outgoing", "call_outgoing_seconds", "call_outgoing_avg_time",
                        "call_pickup_avg_time", "call_avg_time", "calls_internal", "call_internal_avg_time",
                        "call_internal_seconds", "o_calls",
                    ]
                    .into_iter()
                    .enumerate()
                    {
                        m.insert(k.into(), s(hash(id) % 7 + 10 * i as u64));
                    }
                    with(
                        m,
                        json!({"id": id, "contactid": format!("ct{}", &id[2..]), "firstname": f, "lastname": l,
                               "worktime": "480", "answers": n.to_string(), "answers_ph": format!("{:.2}", n as f64 / 8.0)}),
                    )
                })
                .collect()
        }
        (None, "ranking") => created
            .iter()
            .filter(|c| c.status == "R" && hash(&c.id).is_multiple_of(3))
            .map(|c| {
                let agent = c.assigned_to.clone().unwrap_or_default();
                let (f, l) = agent_names(&agent);
                json!({"id": format!("rk{}", c.id), "rankingType": if hash(&c.id).is_multiple_of(2) { "W" } else { "P" },
                       "datecreated": format_local(c.created, tz), "conversationid": c.id,
                       "agentcontactid": agent, "agentEmail": format!("{agent}@agents.example"), "agent": format!("{f} {l}"),
                       "contactid": c.owner_id, "requesterEmail": c.owner_email, "requester": c.owner_name,
                       "comment": if hash(&c.id).is_multiple_of(2) { "super, ďakujem" } else { "too slow" }})
            })
            .collect(),
        (Some(_), "agentsavailability") => data
            .agents
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let (f, l) = agent_names(&a.id);
                let mins = hash(&format!("{}{day}{scope:?}", a.id)) % 480;
                json!({"id": format!("{}", (day - NaiveDate::from_ymd_opt(2000, 1, 1).expect("date")).num_days() * 100 + i as i64),
                       "userid": a.id, "firstname": f, "lastname": l, "contactid": format!("ct{}", &a.id[2..]),
                       "departmentid": data.departments[i % 4].id, "department_name": data.departments[i % 4].name,
                       "hours_online": format!("{:02}:{:02}:00", mins / 60, mins % 60),
                       "from_date": format_local(from + Duration::hours(8), tz),
                       "to_date": format_local(from + Duration::hours(8) + Duration::minutes(mins as i64), tz)})
            })
            .collect(),
        (Some(sc @ ("chats" | "calls")), "availability") => hours()
            .map(|h| {
                let mins = 40 + hash(&format!("{sc}{h}")) % 21;
                json!({"date": format_local(h, tz), "mins": mins.to_string(), "pct": format!("{:.4}", mins as f64 * 100.0 / 60.0)})
            })
            .collect(),
        (Some(_), "load") => hours()
            .map(|h| {
                let n = created.iter().filter(|c| in_scope(c, scope) && c.created >= h && c.created < h + Duration::hours(1)).count();
                json!({"date": format_local(h, tz), "avgQueue": format!("{:.2}", n as f64 / 2.0), "maxQueue": n.to_string(),
                       "minQueue": "0", "avgSlots": "2.50", "maxSlots": "3", "minSlots": "2",
                       "avgService": format!("{:.2}", n as f64), "maxService": n.to_string(), "minService": "0"})
            })
            .collect(),
        (Some(_), "slacompliance") => {
            let due: Vec<&&Conversation> = created.iter().filter(|c| in_scope(c, scope) && c.due.is_some()).collect();
            let fulfilled = due.iter().filter(|c| c.status == "R").count();
            vec![json!({"date": format_local(from, tz), "fulfilled": fulfilled.to_string(), "avgFulfilledTime": "3600",
                        "maxFulfilledTime": "7200", "minFulfilledTime": "60", "unfulfilled": (due.len() - fulfilled).to_string(),
                        "avgUnfulfilledTime": "0", "maxUnfulfilledTime": "0", "minUnfulfilledTime": "0"})]
        }
        (Some(_), "slalog") => created
            .iter()
            .filter(|c| in_scope(c, scope) && c.due.is_some())
            .map(|c| {
                let agent = c.assigned_to.clone().unwrap_or_default();
                let (f, l) = agent_names(&agent);
                let (rf, rl) = c.owner_name.split_once(' ').unwrap_or((&c.owner_name, ""));
                let due = c.due.expect("filtered");
                let closed = if c.status == "R" { format_local(c.changed, tz) } else { String::new() };
                json!({"id": format!("sl{}", c.id), "conversationid": c.id, "code": c.code, "departmentid": c.department_id,
                       "department_name": data.department_name(&c.department_id), "levelid": "lvl1", "sla_level_name": "Standard",
                       "sla": "-01:56:53", "date_created": format_local(c.created, tz), "date_closed": closed,
                       "server_date_closed": closed, "date_due": format_local(due, tz), "server_date_due": format_local(due, tz),
                       "sla_level_id": "lvl1", "agentid": agent, "agent_firstname": f, "agent_lastname": l,
                       "req_contactid": c.owner_id, "req_firstname": rf, "req_lastname": rl})
            })
            .collect(),
        _ => return None,
    };
    let key = match name {
        "performance" => "performance",
        "channels" => "channels",
        "departments" => "departments",
        "tags" => "tags",
        "agents" => "agents",
        "ranking" => "ranks",
        "agentsavailability" => "agentsavailability",
        "availability" => "availability",
        "load" => "loads",
        "slacompliance" => "slacompliances",
        "slalog" => "slalogs",
        _ => return None,
    };
    Some((key, rows))
}
