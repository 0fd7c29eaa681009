//! LiveZilla API v2 as a LiveZilla 8.0.1.8 server really answers
//! (`shared/fixtures/livezilla-8.0.1.8/`), served from the same seeded conversations as the
//! LiveAgent endpoints: non-chat conversations are tickets (ids `11700 + n`), chat
//! conversations are archived chats.
//!
//! Reproduced from the recordings: one `POST /api/v2/api.php`, form-encoded only; `p_user`
//! (case-insensitive) and `p_pass` (MD5 hex); every error a 403 with a text body
//! `HTTP/1.1 403 Forbidden (Error:LZAV2000n: …)`; a lockout after 5 wrong passwords within 24
//! hours; values as strings in lists; `Comments`/`Customs` `[]` when empty but objects when
//! populated; `Editor` `{"TicketEditor":null}` when unassigned; no offset; created filters
//! strict and compared with the first message's time; `p_status` inner-joining editors; a
//! negative or exponent `p_limit` answered with a PHP fatal error page and HTTP 200; lists
//! ordered by id as a string.

#![allow(clippy::result_large_err)]

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use chrono::{DateTime, Utc};
use md5::Digest;
use serde_json::{Value, json};

use super::Shared;
use super::world::{Conversation, Message, World};

/// The operator without API permission (LZAV20002), as in the recordings.
pub const NO_API_USER: &str = "noapi";

/// LiveZilla-only simulator state.
#[derive(Debug, Default)]
pub struct LzState {
    /// Failed logins per user (lower-cased), for the lockout.
    pub failures: HashMap<String, Vec<Instant>>,
    /// Chats not archived yet (conversation ids): absent from `p_chats_list`.
    pub unarchived: Vec<String>,
    /// Answer `p_output=HTML` with the plain-text transcript only (a server or proxy that
    /// drops the HTML one).
    pub plaintext_only: bool,
}

pub fn md5_hex(s: &str) -> String {
    md5::Md5::digest(s.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

pub fn router() -> Router<Shared> {
    Router::new().route("/api/v2/api.php", post(api).get(rejected))
}

/// The server's error answer.
pub fn lz_error(code: &str, detail: &str) -> Response {
    let suffix = if code == "LZAV20001" { ";0" } else { "" };
    (
        StatusCode::FORBIDDEN,
        [("content-type", "text/html; charset=UTF-8")],
        format!("HTTP/1.1 403 Forbidden (Error:{code}: {detail}{suffix})"),
    )
        .into_response()
}

fn json_ok(v: Value) -> Response {
    // The real server labels its JSON as text/html.
    (StatusCode::OK, [("content-type", "text/html; charset=UTF-8")], v.to_string()).into_response()
}

fn php_fatal() -> Response {
    (
        StatusCode::OK,
        [("content-type", "text/html; charset=UTF-8")],
        "<br />\n<b>Fatal error</b>:  Uncaught TypeError: mysqli_fetch_array(): Argument #1 ($result) must be of type \
         mysqli_result, bool given in /var/www/livezilla/_lib/objects.global.inc.php:8019",
    )
        .into_response()
}

async fn rejected(State(state): State<Shared>) -> Response {
    state.count("lz_rejected");
    lz_error("LZAV20003", "")
}

const AUTH_FAILED: &str = "No API access permission or invalid authentication.";

fn authenticate(state: &Shared, f: &BTreeMap<String, String>) -> Result<(), Response> {
    let user = f.get("p_user").map(|u| u.to_ascii_lowercase()).unwrap_or_default();
    let pass = f.get("p_pass").cloned().unwrap_or_default();
    let cfg = &state.config;
    let known = user == cfg.lz_user.to_ascii_lowercase() || user == NO_API_USER;
    let mut lz = state.lz.lock().expect("lz lock");
    let day = Duration::from_secs(86_400);
    let failures = lz.failures.entry(user.clone()).or_default();
    failures.retain(|t| t.elapsed() < day);
    if known && failures.len() >= 5 {
        state.count("lz_locked");
        return Err(lz_error("LZAV20001", AUTH_FAILED));
    }
    if !known || pass != md5_hex(&cfg.lz_password) {
        failures.push(Instant::now());
        state.count("lz_auth_failed");
        return Err(lz_error("LZAV20001", AUTH_FAILED));
    }
    if user == NO_API_USER {
        return Err(lz_error("LZAV20002", AUTH_FAILED));
    }
    Ok(())
}

async fn api(
    State(state): State<Shared>,
    form: Result<axum::Form<BTreeMap<String, String>>, FormRejection>,
) -> Response {
    state.count("lz_requests");
    // JSON bodies (and anything not form-encoded) carry no action the server can see.
    let Ok(axum::Form(f)) = form else { return lz_error("LZAV20003", "") };
    if let Err(r) = authenticate(&state, &f) {
        return r;
    }
    if f.contains_key("p_tickets_list") {
        state.count("lz_tickets_list");
        tickets_list(&state, &f)
    } else if f.contains_key("p_chats_list") {
        state.count("lz_chats_list");
        chats_list(&state, &f)
    } else if f.contains_key("p_operators_list") {
        state.count("lz_operators_list");
        operators_list(&state, &f)
    } else {
        lz_error("LZAV20003", "")
    }
}

/// `p_limit`: absent or 0 = all; the recorded server's reactions otherwise.
fn limit(f: &BTreeMap<String, String>) -> Result<usize, Response> {
    match f.get("p_limit").map(|s| s.trim()) {
        None | Some("") => Ok(0),
        Some(l) if l.starts_with('-') || l.contains(['e', 'E']) && l.parse::<f64>().is_ok() => Err(php_fatal()),
        Some(l) => l.parse::<usize>().map_err(|_| lz_error("LZAV20003", " (Filter: Limit)")),
    }
}

fn unix_filter(f: &BTreeMap<String, String>, key: &str, name: &str) -> Result<Option<f64>, Response> {
    match f.get(key) {
        None => Ok(None),
        Some(v) => v.trim().parse::<f64>().map(Some).map_err(|_| lz_error("LZAV20003", &format!(" (Filter: {name})"))),
    }
}

/// The LiveZilla id of a conversation: `11700 + n`, `n` the conversation's sequence number.
pub fn lz_id(c: &Conversation) -> u64 {
    let digits: String = c.id.chars().rev().take(5).collect::<Vec<_>>().into_iter().rev().collect();
    11_700 + digits.parse::<u64>().unwrap_or(0)
}

pub fn is_chat(c: &Conversation) -> bool {
    matches!(c.channel.as_str(), "B" | "I")
}

fn unix(t: DateTime<Utc>) -> String {
    t.timestamp().to_string()
}

/// The group of a conversation: its department's name, lower-cased (`support`, `sales`, …).
pub fn group(data: &World, c: &Conversation) -> String {
    data.department_name(&c.department_id).unwrap_or("support").to_lowercase()
}

/// LiveZilla editor status of a LiveAgent-style status.
pub fn editor_status(status: &str) -> &'static str {
    match status {
        "A" => "1",
        "W" => "4",
        "R" => "2",
        "X" | "B" => "3",
        _ => "0",
    }
}

fn message_hex(id: &str) -> String {
    md5_hex(id)
}

/// A ticket as `p_tickets_list` renders it; `None` when it has no message (not listed).
pub fn render_ticket(data: &World, c: &Conversation) -> Option<Value> {
    let id = lz_id(c).to_string();
    let mut messages: Vec<Value> = Vec::new();
    let mut first = true;
    for g in &c.groups {
        for m in g.messages.iter().filter(|m| m.rtype != "S") {
            if g.rtype == "I" {
                // Internal notes are comments on the message before them.
                if let Some(prev) = messages.last_mut() {
                    let key = message_hex(&m.id);
                    let comments = &mut prev["TicketMessage"]["Comments"];
                    if !comments.is_object() {
                        *comments = json!({});
                    }
                    comments[key] = json!({"time": unix(m.created), "operator_id": m.userid, "comment": m.body});
                }
                continue;
            }
            let agent = m.userid != c.owner_id;
            let agent_name = data.agents.iter().find(|a| a.id == m.userid).map(|a| a.name.clone());
            let customs = if first && !c.custom_fields.is_empty() {
                Value::Object(c.custom_fields.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect())
            } else {
                json!([])
            };
            messages.push(json!({"TicketMessage": {
                "Id": if first { id.clone() } else { message_hex(&m.id) },
                "Created": unix(m.created),
                "Edited": unix(m.created),
                "Fullname": if agent { agent_name.unwrap_or_default() } else { c.owner_name.clone() },
                "Company": "",
                "Phone": "",
                "Email": if agent { format!("{}@agents.example", m.userid) } else { c.owner_email.clone() },
                "Customs": customs,
                "IP": "",
                "SenderUserId": if agent { m.userid.clone() } else { String::new() },
                "Text": m.body,
                "Type": if agent { "1" } else if c.channel == "E" { "3" } else { "0" },
                "CallMeBack": false,
                "ChannelId": message_hex(&format!("ch{}", m.id)),
                "Attachments": [],
                "Subject": if first { c.subject.clone() } else { format!("Re: {}", c.subject) },
                "Comments": [],
                "TicketId": id,
            }}));
            first = false;
        }
    }
    if messages.is_empty() {
        return None;
    }
    let editor = match &c.assigned_to {
        Some(a) => json!({"Id": id, "Editor": a, "Status": editor_status(&c.status), "SubStatus": ""}),
        None => json!({"TicketEditor": null}),
    };
    let channel = match c.channel.as_str() {
        "E" => "1",
        "M" => "0",
        "C" => "2",
        _ => "3",
    };
    Some(json!({"Ticket": {
        "Id": id,
        "Editor": editor,
        "Messages": messages,
        "Group": group(data, c),
        "Channel": channel,
        "SubChannel": "",
        "Language": "EN",
        "LastUpdated": unix(c.changed),
        "WaitBegin": "2000000000",
        "Salt": message_hex(&format!("salt{}", c.id)),
        "Tags": c.tags.iter().filter_map(|t| data.tags.iter().find(|g| &g.id == t).map(|g| g.name.clone())).collect::<Vec<_>>().join(", "),
        "Hash": "",
        "PublicLink": "",
    }}))
}

/// The first message's time: what the created filters compare.
pub fn first_message_time(c: &Conversation) -> Option<DateTime<Utc>> {
    c.groups.iter().flat_map(|g| g.messages.iter()).find(|m| m.rtype != "S").map(|m| m.created)
}

fn tickets_list(state: &Shared, f: &BTreeMap<String, String>) -> Response {
    let limit = match limit(f) {
        Ok(l) => l,
        Err(r) => return r,
    };
    let (after, before) = match (
        unix_filter(f, "p_created_after", "Created After"),
        unix_filter(f, "p_created_before", "Created Before"),
    ) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(r), _) | (_, Err(r)) => return r,
    };
    let data = state.la.lock().expect("data lock");
    let mut list: Vec<&Conversation> = data.conversations.values().filter(|c| !is_chat(c)).collect();
    if let Some(id) = f.get("p_id") {
        // The id overrides every other filter.
        list.retain(|c| lz_id(c).to_string() == *id);
    } else {
        if let Some(g) = f.get("p_group") {
            list.retain(|c| group(&data, c) == *g);
        }
        if let Some(o) = f.get("p_operator") {
            list.retain(|c| c.assigned_to.as_deref() == Some(o.as_str()));
        }
        let at = |c: &&Conversation| first_message_time(c).map(|t| t.timestamp() as f64);
        if let Some(a) = after {
            list.retain(|c| at(c).is_some_and(|t| t > a));
        }
        if let Some(b) = before {
            list.retain(|c| at(c).is_some_and(|t| t < b));
        }
        if let Some(st) = f.get("p_status") {
            // Inner join on editors: unassigned tickets vanish whatever the status.
            let wanted: Vec<&str> = st.split(',').map(str::trim).collect();
            list.retain(|c| c.assigned_to.is_some() && wanted.contains(&editor_status(&c.status)));
        }
    }
    let mut rendered: Vec<(String, Value)> =
        list.iter().filter_map(|c| render_ticket(&data, c).map(|v| (lz_id(c).to_string(), v))).collect();
    rendered.sort_by(|a, b| a.0.cmp(&b.0)); // by id as a string
    let rows: Vec<Value> =
        rendered.into_iter().map(|(_, v)| v).take(if limit == 0 { usize::MAX } else { limit }).collect();
    json_ok(json!({ "Tickets": rows }))
}

/// A chat's posts (system lines left out) with the name each is shown under.
fn posts<'a>(data: &'a World, c: &'a Conversation) -> impl Iterator<Item = (String, &'a Message)> + 'a {
    c.groups.iter().flat_map(|g| g.messages.iter()).filter(|m| m.rtype != "S").map(move |m| {
        let name = if m.userid == c.owner_id {
            c.owner_name.clone()
        } else {
            data.agents.iter().find(|a| a.id == m.userid).map(|a| a.name.clone()).unwrap_or_else(|| m.userid.clone())
        };
        (name, m)
    })
}

/// A chat's transcript as `p_output=Plaintext` gives it, times in the server's zone.
pub fn transcript(data: &World, c: &Conversation, tz: chrono_tz::Tz) -> String {
    posts(data, c)
        .map(|(name, m)| format!("| {} | {name}: {}", m.created.with_timezone(&tz).format("%d.%m.%Y %H:%M:%S"), m.body))
        .collect::<Vec<_>>()
        // The server separates posts with CRLF; a post's own line breaks stay bare newlines.
        .join("\r\n")
}

/// A chat's transcript as `p_output=HTML` gives it: a table per post, its time as
/// `<!--stime_<unix>-->` (LiveZilla 8.0.1.8's markup).
pub fn html_transcript(data: &World, c: &Conversation) -> String {
    let esc = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('\n', "<br>");
    posts(data, c)
        .map(|(name, m)| {
            format!(
                "<table class=\"AP CMT\" data-pn=\"<!--pn-->\">\n    <tr>\n        <td>\n            <div class=\"CMTN\">{}</div>\n            <div>{}</div>\n        </td>\n        <td class=\"CMTD\" rowspan=\"2\" nowrap><!--stime_{}--><!--notifier--></td>\n    </tr>\n</table>",
                esc(&name),
                esc(&m.body),
                m.created.timestamp()
            )
        })
        .collect()
}

pub fn render_chat(data: &World, c: &Conversation, tz: chrono_tz::Tz, output: Option<&str>) -> Value {
    let start = first_message_time(c).unwrap_or(c.created);
    let mut chat = json!({
        "Fullname": c.owner_name, "Company": "", "Phone": "", "Question": c.subject, "Email": c.owner_email,
        "Customs": [], "IP": "127.0.0.1", "ChatId": lz_id(c).to_string(), "TimeStart": unix(start),
        "TimeEnd": unix(c.changed), "Language": "EN", "OperatorId": c.assigned_to.clone().unwrap_or_default(),
        "Group": group(data, c), "Host": "", "Country": "SK", "Tags": "",
    });
    match output {
        Some("Plaintext") => chat["PlainText"] = Value::String(transcript(data, c, tz)),
        Some("HTML") => {
            chat["PlainText"] = Value::String(transcript(data, c, tz));
            chat["HTML"] = Value::String(html_transcript(data, c));
        }
        _ => {}
    }
    json!({ "Chat": chat })
}

fn chats_list(state: &Shared, f: &BTreeMap<String, String>) -> Response {
    let limit = match limit(f) {
        Ok(l) => l,
        Err(r) => return r,
    };
    let (after, before) =
        match (unix_filter(f, "p_start_after", "Start After"), unix_filter(f, "p_start_before", "Start Before")) {
            (Ok(a), Ok(b)) => (a, b),
            (Err(r), _) | (_, Err(r)) => return r,
        };
    let data = state.la.lock().expect("data lock");
    if let Some(o) = f.get("p_operator")
        && !data.agents.iter().any(|a| &a.id == o)
        && !o.eq_ignore_ascii_case(&state.config.lz_user)
    {
        return lz_error("LZAV20003", " (Filter: Operator)");
    }
    let (unarchived, plaintext_only) = {
        let lz = state.lz.lock().expect("lz lock");
        (lz.unarchived.clone(), lz.plaintext_only)
    };
    let output = f.get("p_output").map(String::as_str).map(|o| if plaintext_only { "Plaintext" } else { o });
    let mut list: Vec<&Conversation> =
        data.conversations.values().filter(|c| is_chat(c) && !unarchived.contains(&c.id)).collect();
    if let Some(id) = f.get("p_chatid") {
        list.retain(|c| lz_id(c).to_string() == *id);
    }
    if let Some(g) = f.get("p_group") {
        list.retain(|c| group(&data, c) == *g);
    }
    if let Some(o) = f.get("p_operator") {
        list.retain(|c| c.assigned_to.as_deref() == Some(o.as_str()));
    }
    let at = |c: &&Conversation| first_message_time(c).unwrap_or(c.created).timestamp() as f64;
    if let Some(a) = after {
        list.retain(|c| at(c) > a);
    }
    if let Some(b) = before {
        list.retain(|c| at(c) < b);
    }
    let tz = state.config.timezone;
    let mut rendered: Vec<(String, Value)> =
        list.iter().map(|c| (lz_id(c).to_string(), render_chat(&data, c, tz, output))).collect();
    rendered.sort_by(|a, b| a.0.cmp(&b.0));
    let rows: Vec<Value> =
        rendered.into_iter().map(|(_, v)| v).take(if limit == 0 { usize::MAX } else { limit }).collect();
    json_ok(json!({ "Chats": rows }))
}

fn operators_list(state: &Shared, f: &BTreeMap<String, String>) -> Response {
    let data = state.la.lock().expect("data lock");
    let groups: Vec<String> = data.departments.iter().filter(|d| !d.deleted).map(|d| d.name.to_lowercase()).collect();
    let admin = (state.config.lz_user.clone(), "Api".to_string(), "Admin".to_string(), groups.clone());
    let mut ops: Vec<(String, String, String, Vec<String>)> = vec![admin];
    for (i, a) in data.agents.iter().enumerate() {
        let (first, last) = a.name.split_once(' ').unwrap_or((&a.name, ""));
        let g = vec![groups[i % groups.len().max(1)].clone()];
        ops.push((a.id.clone(), first.to_string(), last.to_string(), g));
    }
    let rows: Vec<Value> = ops
        .into_iter()
        .enumerate()
        .filter(|(_, (id, ..))| f.get("p_userid").is_none_or(|u| u == id))
        .filter(|(i, _)| f.get("p_status").is_none_or(|s| *s == ["0", "2"][i % 2]))
        .filter(|(_, (.., g))| f.get("p_group").is_none_or(|x| g.contains(x)))
        .map(|(i, (id, first, last, g))| {
            let status = ["0", "2"][i % 2];
            json!({"Operator": {"Status": status, "Email": format!("{id}@agents.example"), "UserId": id,
                   "Language": "EN", "Firstname": first, "Lastname": last, "Webspace": "100", "Description": "",
                   "ExternalChats": [], "ExternalChatCount": -1, "Groups": g, "Level": "1", "IsBot": false,
                   "PictureFile": format!("picture.php?operator={id}"), "ChatFile": format!("chat.php?operator={id}"),
                   "Skills": "", "Location": "", "Roles": ""}})
        })
        .collect();
    json_ok(json!({ "Operators": rows }))
}

/// The pipeline the demo writes for this simulator.
pub fn demo_pipeline(base_url: &str, cfg: &super::SimConfig, rate_per_minute: u32) -> super::DemoPipeline {
    super::DemoPipeline::with_password(
        "livezilla",
        "LiveZilla",
        base_url,
        &cfg.lz_user,
        &cfg.lz_password,
        rate_per_minute,
    )
}
