//! LiveAgent API v1 as `shared/api-docs/liveagent-api-v1-full.txt` documents it: every value a
//! string (or null), times as `YYYY-MM-DD HH:MM:SS` in the account's zone, the API key in the
//! `apikey` query parameter, errors as `{"response":{"status":"ERROR",...}}`, `limit` at most
//! 1000. Served from the shared world ([`super::World`]) that tests mutate between runs.
//!
//! Listing order is a setting ([`ListOrder`]): the documentation does not say, and the hard case
//! for a client is `ChangedAsc` (a changed row jumps to the end and every later row shifts one
//! place towards the start).

// Handlers return early with a ready `Response` as the error; boxing it would only add noise
// to a test server.
#![allow(clippy::result_large_err)]

pub mod catalog;

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde_json::{Value, json};

use super::Shared;
use super::SimConfig;
use super::world::{Conversation, World};
use crate::timez::{format_local, parse_local};

/// The documented JSON error body with the given HTTP status.
pub fn error_response(status: StatusCode, message: &str) -> Response {
    let body = json!({"response": {
        "status": "ERROR",
        "statuscode": status.as_u16(),
        "errormessage": message,
        "debugmessage": ""
    }});
    (status, axum::Json(body)).into_response()
}

pub(super) fn ok(v: Value) -> Response {
    axum::Json(json!({ "response": v })).into_response()
}

pub fn router() -> Router<Shared> {
    Router::new()
        .route("/api/application/status", get(app_status))
        .route("/api/conversations", get(list_conversations))
        .route("/api/conversations/{id}/messages", get(conversation_messages))
        .route("/api/conversations/{id}", get(conversation_info))
        .route("/api/departments", get(list_departments))
        .route("/api/tags", get(list_tags))
        .merge(catalog::router())
}

pub(super) type Params = Query<BTreeMap<String, String>>;

pub(super) fn authorize(state: &Shared, q: &BTreeMap<String, String>) -> Result<(), Response> {
    match q.get("apikey") {
        Some(k) if *k == state.config.api_key => Ok(()),
        Some(_) => Err(error_response(StatusCode::UNAUTHORIZED, "Failed to authenticate: invalid API key")),
        None => Err(error_response(StatusCode::BAD_REQUEST, "Missing parameter apikey")),
    }
}

async fn app_status(State(state): State<Shared>, Query(q): Params) -> Response {
    state.count("application_status");
    if let Err(r) = authorize(&state, &q) {
        return r;
    }
    let tz = state.config.timezone;
    ok(json!({
        "liveagentversion": "5.52.3.1",
        "gpfversion": "1.7.8.4",
        "dateinstalled": format_local(Utc.with_ymd_and_hms(2019, 4, 5, 11, 22, 31).unwrap(), tz),
        "datelatestupdate": format_local(Utc.with_ymd_and_hms(2025, 8, 5, 12, 13, 5).unwrap(), tz),
        "current_server_time": format_local(Utc::now(), tz),
    }))
}

/// `opdatetime` filter: `gte:…`, `gt:`, `lt:`, `lte:`, `eq:`/none, `btw:a,b`.
type DatePredicate = Box<dyn Fn(DateTime<Utc>) -> bool + Send>;

fn date_filter(spec: &str, tz: Tz) -> Result<DatePredicate, String> {
    let (op, val) = match spec.split_once(':') {
        Some((op, v)) if ["gte", "gt", "lt", "lte", "eq", "neq", "btw"].contains(&op) => (op, v),
        _ => ("eq", spec),
    };
    let p = |s: &str| parse_local(s, tz).ok_or_else(|| format!("Invalid date format: {s}"));
    Ok(match op {
        "btw" => {
            let (a, b) = val.split_once(',').ok_or("btw needs two dates")?;
            let (a, b) = (p(a)?, p(b)?);
            Box::new(move |t| t >= a && t <= b)
        }
        _ => {
            let v = p(val)?;
            match op {
                "gte" => Box::new(move |t| t >= v),
                "gt" => Box::new(move |t| t > v),
                "lt" => Box::new(move |t| t < v),
                "lte" => Box::new(move |t| t <= v),
                "neq" => Box::new(move |t| t != v),
                _ => Box::new(move |t| t == v),
            }
        }
    })
}

fn render_conversation(c: &Conversation, data: &World, tz: Tz) -> Value {
    json!({
        "conversationid": c.id,
        "code": c.code,
        "datecreated": format_local(c.created, tz),
        "datechanged": format_local(c.changed, tz),
        "datedue": c.due.map(|d| format_local(d, tz)),
        "departmentname": data.department_name(&c.department_id),
        "departmentid": c.department_id,
        "status": c.status,
        "ownername": c.owner_name,
        "owneremail": c.owner_email,
        "subject": c.subject,
        "preview": c.groups.first().and_then(|g| g.messages.first()).map(|m| m.body.chars().take(60).collect::<String>()),
        "publicurlcode": c.public_url_code,
        "tags": c.tags.join(","),
        "channel_type": c.channel,
        "messagegroupsin": c.messages_in().to_string(),
        "messagegroupsout": c.messages_out().to_string(),
    })
}

pub(super) fn parse_usize(q: &BTreeMap<String, String>, key: &str, default: usize) -> Result<usize, Response> {
    match q.get(key) {
        None => Ok(default),
        Some(v) => v.trim().parse().map_err(|_| {
            error_response(StatusCode::BAD_REQUEST, &format!("Parameter {key} must be a non-negative integer"))
        }),
    }
}

async fn list_conversations(State(state): State<Shared>, Query(q): Params) -> Response {
    state.count("conversations");
    if let Err(r) = authorize(&state, &q) {
        return r;
    }
    let limit = match parse_usize(&q, "limit", 100) {
        Ok(l) => l.min(1000),
        Err(r) => return r,
    };
    let offset = match parse_usize(&q, "offset", 0) {
        Ok(o) => o,
        Err(r) => return r,
    };
    let changed = match q.get("datechanged").map(|s| date_filter(s, state.config.filter_timezone)).transpose() {
        Ok(f) => f,
        Err(m) => return error_response(StatusCode::BAD_REQUEST, &m),
    };
    let statuses: Option<Vec<&str>> = q.get("status").map(|s| s.split(',').map(str::trim).collect());
    let mut data = state.la.lock().expect("data lock");
    let tz = state.config.timezone;
    let rows: Vec<Value> = data
        .ordered(state.config.order)
        .into_iter()
        .filter(|c| changed.as_ref().is_none_or(|f| f(c.changed)))
        .filter(|c| statuses.as_ref().is_none_or(|s| s.contains(&c.status.as_str())))
        .map(|c| render_conversation(c, &data, tz))
        .chain(data.extra_raw.iter().cloned())
        .skip(offset)
        .take(limit)
        .collect();
    if let Some((after, n)) = data.touch_after_list_requests {
        if after <= 1 {
            data.touch_after_list_requests = None;
            let order = state.config.order;
            data.touch_first(order, n);
        } else {
            data.touch_after_list_requests = Some((after - 1, n));
        }
    }
    ok(json!({ "conversations": rows }))
}

/// `GET /api/conversations/{id}`: the list record plus `assignedto`, `ownernote` and
/// `customfields` (code/value pairs).
async fn conversation_info(State(state): State<Shared>, Path(id): Path<String>, Query(q): Params) -> Response {
    state.count("conversation_info");
    if let Err(r) = authorize(&state, &q) {
        return r;
    }
    let data = state.la.lock().expect("data lock");
    let Some(c) = data.conversations.get(&id) else {
        return error_response(StatusCode::INTERNAL_SERVER_ERROR, "Unable to load conversation");
    };
    let mut v = render_conversation(c, &data, state.config.timezone);
    v["assignedto"] = json!(c.assigned_to);
    v["ownernote"] = json!(c.owner_note);
    v["customfields"] =
        json!(c.custom_fields.iter().map(|(k, val)| json!({"code": k, "value": val})).collect::<Vec<_>>());
    ok(v)
}

async fn conversation_messages(State(state): State<Shared>, Path(id): Path<String>, Query(q): Params) -> Response {
    state.count("messages");
    if let Err(r) = authorize(&state, &q) {
        return r;
    }
    let data = state.la.lock().expect("data lock");
    let tz = state.config.timezone;
    let Some(c) = data.conversations.get(&id).filter(|_| !data.broken_messages.contains(&id)) else {
        return error_response(StatusCode::INTERNAL_SERVER_ERROR, "Unable to load conversation");
    };
    let groups: Vec<Value> = c
        .groups
        .iter()
        .map(|g| {
            json!({
                "messagegroupid": g.id,
                "userid": g.userid,
                "rtype": g.rtype,
                "rstatus": g.rstatus,
                "datecreated": format_local(g.created, tz),
                "datefinished": format_local(g.finished, tz),
                "messages": g.messages.iter().map(|m| json!({
                    "messageid": m.id,
                    "userid": m.userid,
                    "rtype": m.rtype,
                    "datecreated": format_local(m.created, tz),
                    "message": m.body,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    ok(json!({ "groups": groups }))
}

async fn list_departments(State(state): State<Shared>, Query(q): Params) -> Response {
    state.count("departments");
    if let Err(r) = authorize(&state, &q) {
        return r;
    }
    let data = state.la.lock().expect("data lock");
    let rows: Vec<Value> = data
        .departments
        .iter()
        .map(|d| {
            json!({
                "departmentid": d.id,
                "name": d.name,
                "onlinestatus": d.online_status,
                "deleted": if d.deleted { "Y" } else { "N" },
            })
        })
        .collect();
    ok(json!({ "departments": rows }))
}

async fn list_tags(State(state): State<Shared>, Query(q): Params) -> Response {
    state.count("tags");
    if let Err(r) = authorize(&state, &q) {
        return r;
    }
    let data = state.la.lock().expect("data lock");
    let rows: Vec<Value> = data
        .tags
        .iter()
        .map(|t| json!({"id": t.id, "name": t.name, "color": t.color, "bg_color": t.bg_color}))
        .collect();
    ok(json!({ "tags": rows }))
}

/// The pipeline the demo and the bench write for this simulator.
pub fn demo_pipeline(base_url: &str, cfg: &SimConfig, rate_per_minute: u32) -> super::DemoPipeline {
    super::DemoPipeline {
        name: "liveagent-demo".into(),
        file: format!(
            "# Written by `desksync demo`: the built-in LiveAgent simulator.\n\
             source = \"liveagent\"\n\
             base_url = \"{base_url}\"\n\
             account = \"demo\"\n\
             api_key_file = \"secrets/liveagent.key\"\n\
             timezone = \"UTC\"\n\n\
             [http]\n\
             # The simulator runs on this machine; a real LiveAgent account allows 180 per minute.\n\
             rate_limit_per_minute = {rate_per_minute}\n\
             max_in_flight = 8\n\n\
             [sync]\n\
             message_concurrency = 8\n"
        ),
        secret_file: "secrets/liveagent.key".into(),
        secret: cfg.api_key.clone(),
    }
}
