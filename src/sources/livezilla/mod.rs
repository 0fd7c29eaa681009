//! LiveZilla API v2 (`shared/api-docs/livezilla-api-v2-*.txt`), built to how a LiveZilla
//! 8.0.1.8 server really answers (`shared/fixtures/livezilla-8.0.1.8/`) where the two differ.
//!
//! One endpoint, `POST {base}/api/v2/api.php`, form-encoded, authenticated by `p_user` and
//! `p_pass` (the MD5 hex of the password). Every error is HTTP 403 with a text body
//! `HTTP/1.1 403 Forbidden (Error:LZAV2000n: …)`, decoded by [`lz_error`] into plain words;
//! LZAV20001 (bad credentials, a locked account, or the server's database down) is never
//! retried, since each attempt counts towards the 5-in-24-hours lockout. A 200 that is not JSON
//! (a PHP fatal error page) is an error, not data.
//!
//! Streams: `groups` → `departments` and `operators` → `agents` (full refresh from
//! `p_operators_list`); `tickets` → `tickets` with their embedded messages (`messages`),
//! comments (`ticket_comments`) and custom fields (`ticket_fields`); `chats` → `tickets`
//! (ids `chat-<ChatId>`, channel chat) with their transcript as `messages`.
//!
//! ## How tickets are extracted (the API has no offset and no updated-since filter)
//! * **Created-time windows.** `p_created_after`/`p_created_before` (unix seconds, strict `>`
//!   and `<`, compared with the first message's time) select a window `[a, b)`; `p_limit`
//!   (`sync.page_size`, at most 500, so one answer stays well inside the server's 30 s PHP
//!   limit) caps it. A window that comes back full may have lost rows, so it is halved and read
//!   again, down to one second (read with `p_limit=0`, all); a sparse window doubles the next
//!   one (up to 64 × `sync.window`), so empty years cost a few requests.
//! * **Changes** (replies, status, comments, reassignment) do not move a ticket's created time,
//!   so every run re-reads the tickets created in the last `sync.reread_window` (30 days), and
//!   every `sync.full_rescan_every` (1 day) all of them. Only tickets whose content hash changed
//!   are written. The trade-off: a change to a ticket older than the re-read window reaches the
//!   warehouse at the next full re-scan, up to a day later.
//! * Windows are read oldest first; each commit records the start of what remains, so a crash
//!   resumes there. The cursor is the newest created time seen.
//! * `p_status` is never used: the server inner-joins editors, so unassigned tickets would
//!   silently vanish from a status-filtered list.
//! * Tickets without messages are invisible to the list (the created time is the first
//!   message's); they appear with their first message.
//!
//! * Windows reach `FUTURE_SLACK_SECS` (5 min) past the pass's start: during write bursts the
//!   server stamps messages seconds in the future.
//!
//! Chats are listed only once archived: windows by `p_start_after`/`p_start_before`, re-reading
//! the last `sync.chats_reread` (2 days) every run, and all of them at every full re-scan, so a
//! chat archived after its start left the re-read window is still found.

pub mod settings;

use std::collections::{BTreeMap, BTreeSet, HashSet};

use chrono::{DateTime, Duration, NaiveDateTime, TimeZone, Utc};
use serde_json::Value;

use super::{StreamInfo, SyncMode};
use crate::config::PipelineConfig;
use crate::engine::incremental::{PassPlan, begin_pass, finish_pass};
use crate::engine::paging::{Pager, Request, Step, WindowPager};
use crate::engine::shapes::{self, Deletions};
use crate::engine::{StreamCtx, batch};
use crate::error::{HttpError, SyncError};
use crate::http::{Auth, HttpClient};
use crate::model::fields::{code_or_none, text, unix_time};
use crate::model::normalize::{self, Context, Row};
use crate::model::tables;
use crate::model::{
    DepartmentRow, MessageRow, Quarantined, Table, TicketFieldRow, TicketRow, content_hash, looks_like_html,
};
use crate::state::{PassState, StreamState};
use crate::timez::local_to_utc;
use crate::warehouse::{LoadUnit, Replace};

pub const SOURCE: &str = "livezilla";
const API: &str = "/api/v2/api.php";
/// The largest `p_limit` used, whatever `sync.page_size` says.
const MAX_LIMIT: usize = 500;
/// How far past its own clock a pass lists (see [`LiveZilla::windows`]).
const FUTURE_SLACK_SECS: i64 = 300;

pub const STREAMS: &[StreamInfo] = &[
    StreamInfo {
        name: "groups",
        table: Table::Departments,
        mode: SyncMode::FullRefresh,
        cursor: None,
        endpoint: "POST api.php p_operators_list (their groups)",
        order: 0,
        default_on: true,
        parent: None,
    },
    StreamInfo {
        name: "operators",
        table: Table::Def(&tables::AGENTS),
        mode: SyncMode::FullRefresh,
        cursor: None,
        endpoint: "POST api.php p_operators_list",
        order: 1,
        default_on: true,
        parent: None,
    },
    StreamInfo {
        name: "tickets",
        table: Table::Tickets,
        mode: SyncMode::Incremental,
        cursor: Some("first message Created"),
        endpoint: "POST api.php p_tickets_list (created-time windows)",
        order: 10,
        default_on: true,
        parent: None,
    },
    StreamInfo {
        name: "ticket_messages",
        table: Table::Messages,
        mode: SyncMode::ChildOfChanged,
        cursor: Some("tickets"),
        endpoint: "POST api.php p_tickets_list (embedded Messages)",
        order: 11,
        default_on: true,
        parent: Some("tickets"),
    },
    StreamInfo {
        name: "ticket_comments",
        table: Table::Def(&tables::TICKET_COMMENTS),
        mode: SyncMode::ChildOfChanged,
        cursor: Some("tickets"),
        endpoint: "POST api.php p_tickets_list (messages' Comments)",
        order: 12,
        default_on: true,
        parent: Some("tickets"),
    },
    StreamInfo {
        name: "ticket_fields",
        table: Table::TicketFields,
        mode: SyncMode::ChildOfChanged,
        cursor: Some("tickets"),
        endpoint: "POST api.php p_tickets_list (messages' Customs)",
        order: 13,
        default_on: true,
        parent: Some("tickets"),
    },
    StreamInfo {
        name: "chats",
        table: Table::Tickets,
        mode: SyncMode::Incremental,
        cursor: Some("TimeStart"),
        endpoint: "POST api.php p_chats_list (start-time windows, archived)",
        order: 14,
        default_on: true,
        parent: None,
    },
];

/// `HTTP/1.1 403 Forbidden (Error:LZAV20001: …;0)` → what it means, in plain words.
pub fn lz_error(_status: u16, body: &str) -> Option<String> {
    let start = body.find("Error:LZAV")? + "Error:".len();
    let rest = &body[start..];
    let code = rest.get(..9)?;
    // The message is wrapped in "(Error:…)"; LZAV20001 adds ";0".
    let detail = rest[9..].trim_start_matches(':').trim();
    let detail = detail.strip_suffix(')').unwrap_or(detail).trim();
    let detail = detail.trim_end_matches(";0").trim();
    Some(match code {
        "LZAV20001" => format!(
            "LiveZilla refused the login ({code}): wrong username or password, the account is locked after 5 wrong \
             passwords within 24 hours, or the server's database is unreachable. Not retried: every attempt counts \
             towards the lockout"
        ),
        "LZAV20002" => format!(
            "LiveZilla refused the API ({code}): the operator has no API permission; grant it in the LiveZilla \
             server administration"
        ),
        "LZAV20003" if detail.is_empty() => format!("LiveZilla rejected the request ({code}): no or an unknown action"),
        "LZAV20003" => format!("LiveZilla rejected a parameter ({code}): {detail}"),
        other => format!("LiveZilla error {other}: {detail}"),
    })
}

pub fn http_client(cfg: &PipelineConfig) -> HttpClient {
    HttpClient::new(
        &cfg.name,
        cfg.base_url.clone(),
        Auth::Form {
            user_field: "p_user",
            user: cfg.username.clone().unwrap_or_default(),
            secret_field: "p_pass",
            secret: cfg.api_key.clone(),
        },
        &cfg.http,
        lz_error,
    )
}

/// The posts of a plain-text chat transcript: `(local time, author, text)`. Posts are
/// separated by the server's line separator, CRLF; a bare newline belongs to the post's text,
/// even when it is followed by something that looks like a post's head (a pasted log). A
/// transcript without any CRLF is one post — unless `html_posts`, the number of posts the HTML
/// transcript shows (0 without one), says there are more (line endings rewritten on the way): then it is split
/// on newlines, and a line without the `| dd.mm.yyyy hh:mm:ss | Name: ` head continues the post
/// before it.
pub fn transcript_lines(plain: &str, html_posts: usize) -> Vec<(NaiveDateTime, String, String)> {
    let parts: Vec<&str> = if plain.contains("\r\n") {
        plain.split("\r\n").collect()
    } else if html_posts > 1 {
        plain.split('\n').collect()
    } else {
        vec![plain]
    };
    let mut out: Vec<(NaiveDateTime, String, String)> = Vec::new();
    for part in parts {
        let head = part.strip_prefix("| ").and_then(|l| l.split_once(" | ")).and_then(|(when, rest)| {
            let t = NaiveDateTime::parse_from_str(when.trim(), "%d.%m.%Y %H:%M:%S").ok()?;
            let (name, text) = rest.split_once(": ").unwrap_or((rest, ""));
            Some((t, name.trim().to_string(), text.to_string()))
        });
        match head {
            Some(post) => out.push(post),
            None if part.is_empty() => {}
            None => {
                if let Some(last) = out.last_mut() {
                    last.2.push('\n');
                    last.2.push_str(part);
                }
            }
        }
    }
    out
}

/// The unix times of the posts of an HTML chat transcript, in order (`<!--stime_N-->` in each
/// post's table, as LiveZilla 8 writes it).
pub fn html_post_times(html: &str) -> Vec<i64> {
    html.split("<!--stime_").skip(1).filter_map(|rest| rest.split("-->").next()?.trim().parse().ok()).collect()
}

/// `[]` when empty, an object (or a list) when populated: the entries either way.
fn entries(v: Option<&Value>) -> Vec<(String, &Value)> {
    match v {
        Some(Value::Object(m)) => m.iter().map(|(k, v)| (k.clone(), v)).collect(),
        Some(Value::Array(a)) => a.iter().enumerate().map(|(i, v)| (i.to_string(), v)).collect(),
        _ => Vec::new(),
    }
}

pub fn channel(code: &str) -> &'static str {
    match code {
        "0" => "web",
        "1" => "email",
        "2" => "call",
        "4" => "chat",
        _ => "other", // 3 misc, 5 rating
    }
}

pub fn status(code: &str) -> &'static str {
    match code {
        "1" => "in_progress",
        "2" => "closed",
        "3" => "deleted",
        "4" => "pending",
        _ => "open",
    }
}

/// Everything one list answer normalizes into.
#[derive(Debug, Default)]
pub struct Parsed {
    pub tickets: Vec<TicketRow>,
    pub messages: Vec<MessageRow>,
    pub comments: Vec<Row>,
    pub fields: Vec<TicketFieldRow>,
    pub bad: Vec<Quarantined>,
}

/// The list in `{"<key>":[{"<item>":{…}}, …]}`.
pub fn items<'a>(answer: &'a Value, key: &str, item: &str) -> Result<Vec<&'a Value>, SyncError> {
    match answer.get(key) {
        Some(Value::Array(a)) => Ok(a.iter().map(|w| w.get(item).unwrap_or(w)).collect()),
        Some(Value::Null) | None if answer.is_object() => Err(SyncError::Protocol(format!(
            "LiveZilla answered without a \"{key}\" list: {}",
            answer.to_string().chars().take(200).collect::<String>()
        ))),
        _ => Err(SyncError::Protocol(format!("LiveZilla's \"{key}\" should be a list"))),
    }
}

/// Normalize a `p_tickets_list` answer.
pub fn parse_tickets(answer: &Value, account: &str, now: DateTime<Utc>) -> Result<Parsed, SyncError> {
    let mut out = Parsed::default();
    for t in items(answer, "Tickets", "Ticket")? {
        match ticket(t, account, now, &mut out) {
            Ok(()) => {}
            Err(reason) => out.bad.push(Quarantined::record(t, code_or_none(t, "Id"), reason)),
        }
    }
    Ok(out)
}

fn ticket(t: &Value, account: &str, now: DateTime<Utc>, out: &mut Parsed) -> Result<(), String> {
    let id = code_or_none(t, "Id").ok_or("ticket without an Id")?;
    let messages: Vec<&Value> =
        entries(t.get("Messages")).into_iter().map(|(_, m)| m.get("TicketMessage").unwrap_or(m)).collect();
    // `{"TicketEditor":null}` when unassigned, a flat object when assigned.
    let editor = t.get("Editor").filter(|e| e.get("TicketEditor").is_none() && e.is_object());
    let status_raw = editor.and_then(|e| code_or_none(e, "Status"));
    let channel_raw = code_or_none(t, "Channel");
    let first = messages.first();
    let mut ticket_messages = Vec::new();
    let (mut incoming, mut outgoing) = (0, 0);
    for m in &messages {
        let mid = code_or_none(m, "Id").ok_or("message without an Id")?;
        let sender = code_or_none(m, "SenderUserId");
        let kind = code_or_none(m, "Type");
        let agent = sender.is_some() || kind.as_deref() == Some("1");
        if agent {
            outgoing += 1;
        } else {
            incoming += 1;
        }
        let body = text(m, "Text")?;
        let mut stripped = (*m).clone();
        if let Some(o) = stripped.as_object_mut() {
            o.remove("Comments");
        }
        ticket_messages.push(MessageRow {
            source: SOURCE,
            account: account.to_string(),
            ticket_id: id.clone(),
            message_id: mid.clone(),
            group_id: None,
            author_id: sender.clone().or_else(|| code_or_none(m, "Email")),
            author_type: if agent { "agent" } else { "customer" },
            kind: "message",
            type_raw: kind,
            group_type_raw: None,
            is_internal: false,
            created_at: unix_time(m, "Created")?,
            body_format: if body.as_deref().is_some_and(looks_like_html) { "html" } else { "text" },
            body,
            content_hash: Some(content_hash(&stripped)),
            raw: stripped.to_string(),
            synced_at: now,
        });
        for (key, c) in entries(m.get("Comments")) {
            // {"<id>":{"time":…,"operator_id":…,"comment":…}} in lists; [[operator, text]] on create.
            let (comment_id, operator, text, time) = match c {
                Value::Array(pair) => (
                    format!("{mid}-{key}"),
                    pair.first().and_then(Value::as_str).map(String::from),
                    pair.get(1).and_then(Value::as_str).map(String::from),
                    None,
                ),
                _ => (key.clone(), code_or_none(c, "operator_id"), text(c, "comment")?, unix_time(c, "time")?),
            };
            let raw = serde_json::json!({ "message_id": mid, "id": comment_id, "comment": c });
            let mut row = Row::new();
            row.insert("source".into(), SOURCE.into());
            row.insert("account".into(), account.into());
            row.insert("ticket_id".into(), id.clone().into());
            row.insert("comment_id".into(), comment_id.into());
            row.insert("message_id".into(), mid.clone().into());
            row.insert("operator_id".into(), operator.map(Value::String).unwrap_or(Value::Null));
            row.insert("created_at".into(), time.map(normalize::ts).unwrap_or(Value::Null));
            row.insert("comment".into(), text.map(Value::String).unwrap_or(Value::Null));
            row.insert("content_hash".into(), content_hash(&raw).into());
            row.insert("raw".into(), raw.to_string().into());
            row.insert("synced_at".into(), normalize::ts(now));
            out.comments.push(row);
        }
        for (key, c) in entries(m.get("Customs")) {
            // [[name, value]], {"name": value}, or {"i": [name, value]}.
            let (code, value) = match c {
                Value::Array(pair) => (
                    pair.first().and_then(|v| v.as_str().map(String::from)).unwrap_or(key),
                    pair.get(1).and_then(|v| v.as_str().map(String::from).or_else(|| Some(v.to_string()))),
                ),
                Value::Object(_) => (
                    code_or_none(c, "name").or_else(|| code_or_none(c, "Name")).unwrap_or(key),
                    text(c, "value")?.or(text(c, "Value")?),
                ),
                Value::String(v) => (key, Some(v.clone())),
                other => (key, Some(other.to_string())),
            };
            out.fields.push(TicketFieldRow {
                source: SOURCE,
                account: account.to_string(),
                ticket_id: id.clone(),
                content_hash: Some(content_hash(&serde_json::json!({ "code": code, "value": value }))),
                field_code: code,
                value,
                synced_at: now,
            });
        }
    }
    let mut raw = t.clone();
    if let Some(o) = raw.as_object_mut() {
        o.remove("Messages");
    }
    out.tickets.push(TicketRow {
        source: SOURCE,
        account: account.to_string(),
        ticket_id: id.clone(),
        code: None,
        subject: first.map(|m| text(m, "Subject")).transpose()?.flatten(),
        status: Some(status(status_raw.as_deref().unwrap_or("0")).to_string()),
        status_raw,
        channel: channel_raw.as_deref().map(|c| channel(c).to_string()),
        channel_raw,
        department_id: text(t, "Group")?,
        department_name: text(t, "Group")?,
        assignee_id: editor.and_then(|e| code_or_none(e, "Editor")),
        requester_name: first.map(|m| text(m, "Fullname")).transpose()?.flatten(),
        requester_email: first.and_then(|m| code_or_none(m, "Email")),
        language: text(t, "Language")?,
        tags: code_or_none(t, "Tags")
            .map(|x| x.split(',').map(|p| p.trim().to_string()).filter(|p| !p.is_empty()).collect())
            .unwrap_or_default(),
        created_at: match first {
            Some(m) => unix_time(m, "Created")?,
            None => None,
        },
        updated_at: unix_time(t, "LastUpdated")?,
        due_at: None,
        messages_in: Some(incoming),
        messages_out: Some(outgoing),
        deleted_at: None,
        // The whole record, messages and comments included: any change rewrites the ticket.
        content_hash: Some(content_hash(t)),
        raw: raw.to_string(),
        synced_at: now,
        priority: None,
        merged_into: None,
    });
    out.messages.extend(ticket_messages);
    Ok(())
}

/// Normalize a `p_chats_list` answer (requested with `p_output=HTML`, which also carries the
/// plain text): each chat becomes a
/// ticket `chat-<ChatId>`, each transcript line (`| dd.mm.yyyy hh:mm:ss | Name: text`) a message
/// (times in the server's zone, `tz`).
pub fn parse_chats(answer: &Value, account: &str, tz: chrono_tz::Tz, now: DateTime<Utc>) -> Result<Parsed, SyncError> {
    let mut out = Parsed::default();
    for c in items(answer, "Chats", "Chat")? {
        let Some(chat_id) = code_or_none(c, "ChatId") else {
            out.bad.push(Quarantined::record(c, None, "chat without a ChatId".into()));
            continue;
        };
        let id = format!("chat-{chat_id}");
        let build = || -> Result<(TicketRow, Vec<MessageRow>), String> {
            let visitor = text(c, "Fullname")?;
            let operator = code_or_none(c, "OperatorId");
            let mut msgs: Vec<MessageRow> = Vec::new();
            let plain = text(c, "PlainText")?.unwrap_or_default();
            // The HTML transcript's per-post unix times are exact (no zone, no DST question);
            // used when they match the plain text's posts one to one.
            let stimes = html_post_times(&text(c, "HTML")?.unwrap_or_default());
            let posts = transcript_lines(&plain, stimes.len());
            let exact = (stimes.len() == posts.len()).then_some(stimes);
            let mut previous: Option<DateTime<Utc>> = None;
            for (i, (when, name, body)) in posts.into_iter().enumerate() {
                // Lines are in time order: in the repeated autumn hour, the earliest instant
                // not before the previous line (so the second pass through the hour is read
                // as the later one).
                let at = match exact.as_ref().and_then(|t| DateTime::from_timestamp(t[i], 0)) {
                    Some(t) => t,
                    None => match tz.from_local_datetime(&when) {
                        chrono::LocalResult::Ambiguous(early, late) => {
                            let (early, late) = (early.with_timezone(&Utc), late.with_timezone(&Utc));
                            if previous.is_some_and(|p| early < p) { late } else { early }
                        }
                        _ => local_to_utc(when, tz),
                    },
                };
                previous = Some(at);
                let customer = visitor.as_deref() == Some(name.as_str());
                let n = msgs.len() + 1;
                let raw = serde_json::json!({ "chat": chat_id, "line": n, "name": name, "text": body });
                msgs.push(MessageRow {
                    source: SOURCE,
                    account: account.to_string(),
                    ticket_id: id.clone(),
                    message_id: format!("{id}-{n}"),
                    group_id: None,
                    author_id: if customer { code_or_none(c, "Email") } else { operator.clone() },
                    author_type: if customer { "customer" } else { "agent" },
                    kind: "message",
                    type_raw: Some("chat".into()),
                    group_type_raw: None,
                    is_internal: false,
                    created_at: Some(at),
                    body_format: if looks_like_html(&body) { "html" } else { "text" },
                    body: Some(body),
                    content_hash: Some(content_hash(&raw)),
                    raw: raw.to_string(),
                    synced_at: now,
                });
            }
            let incoming = msgs.iter().filter(|m| m.author_type == "customer").count() as i32;
            let mut raw = c.clone();
            if let Some(o) = raw.as_object_mut() {
                o.remove("PlainText");
                o.remove("HTML");
            }
            let ticket = TicketRow {
                source: SOURCE,
                account: account.to_string(),
                ticket_id: id.clone(),
                code: Some(chat_id.clone()),
                subject: text(c, "Question")?,
                status: Some("closed".into()),
                status_raw: None,
                channel: Some("chat".into()),
                channel_raw: Some("chat".into()),
                department_id: text(c, "Group")?,
                department_name: text(c, "Group")?,
                assignee_id: operator.clone(),
                requester_name: visitor.clone(),
                requester_email: code_or_none(c, "Email"),
                language: text(c, "Language")?,
                tags: code_or_none(c, "Tags")
                    .map(|x| x.split(',').map(|p| p.trim().to_string()).filter(|p| !p.is_empty()).collect())
                    .unwrap_or_default(),
                created_at: unix_time(c, "TimeStart")?,
                updated_at: unix_time(c, "TimeEnd")?,
                due_at: None,
                messages_in: Some(incoming),
                messages_out: Some(msgs.len() as i32 - incoming),
                deleted_at: None,
                content_hash: Some(content_hash(c)),
                raw: raw.to_string(),
                synced_at: now,
                priority: None,
                merged_into: None,
            };
            Ok((ticket, msgs))
        };
        match build() {
            Ok((t, m)) => {
                out.tickets.push(t);
                out.messages.extend(m);
            }
            Err(reason) => out.bad.push(Quarantined::record(c, Some(id), reason)),
        }
    }
    Ok(out)
}

/// Agents, the groups they belong to (departments), and what could not be read.
pub type Operators = (Vec<Row>, Vec<DepartmentRow>, Vec<Quarantined>);

/// Normalize a `p_operators_list` answer into agents and their groups (departments).
pub fn parse_operators(answer: &Value, account: &str, now: DateTime<Utc>) -> Result<Operators, SyncError> {
    let table = Table::Def(&tables::AGENTS);
    let cx = Context {
        source: SOURCE,
        account,
        timezone: chrono_tz::UTC,
        now,
        renames: &[
            ("agent_id", "UserId"),
            ("email", "Email"),
            ("first_name", "Firstname"),
            ("last_name", "Lastname"),
            ("avatar_url", "PictureFile"),
        ],
        fixed: vec![("known_from", Value::String("operators".into()))],
    };
    let mut agents = Vec::new();
    let mut bad = Vec::new();
    let mut groups = BTreeSet::new();
    for o in items(answer, "Operators", "Operator")? {
        // The operator's live status changes constantly: keep it out of the dimension's hash.
        let mut stable = o.clone();
        if let Some(m) = stable.as_object_mut() {
            for k in ["Status", "ExternalChats", "ExternalChatCount", "LastActive"] {
                m.remove(k);
            }
        }
        match normalize::row(table, &stable, &cx) {
            Ok(r) => agents.push(r),
            Err(reason) => bad.push(Quarantined::record(o, None, reason)),
        }
        for (_, g) in entries(o.get("Groups")) {
            if let Some(g) = g.as_str().filter(|g| !g.is_empty()) {
                groups.insert(g.to_string());
            }
        }
    }
    let departments = groups
        .into_iter()
        .map(|g| {
            let raw = serde_json::json!({ "Group": g });
            DepartmentRow {
                source: SOURCE,
                account: account.to_string(),
                department_id: g.clone(),
                name: Some(g),
                online_status: None,
                is_deleted: None,
                deleted_at: None,
                content_hash: Some(content_hash(&raw)),
                raw: raw.to_string(),
                synced_at: now,
            }
        })
        .collect();
    Ok((agents, departments, bad))
}

/// A plain-words error for what the server refused (see [`lz_error`]).
fn refused(e: HttpError) -> SyncError {
    match &e {
        HttpError::Unauthorized { message, .. } if message.contains("LZAV20003") => {
            SyncError::Protocol(message.clone())
        }
        _ => e.into(),
    }
}

pub struct LiveZilla {
    pub http: HttpClient,
    /// The `[sync]` keys only LiveZilla reads.
    sync: settings::LivezillaSync,
}

/// What a windowed listing reads: tickets by created time, or chats by start time.
#[derive(Clone, Copy)]
enum Listing {
    Tickets,
    Chats,
}

impl Listing {
    fn action(self) -> &'static str {
        match self {
            Listing::Tickets => "p_tickets_list",
            Listing::Chats => "p_chats_list",
        }
    }
    fn after(self) -> &'static str {
        match self {
            Listing::Tickets => "p_created_after",
            Listing::Chats => "p_start_after",
        }
    }
    fn before(self) -> &'static str {
        match self {
            Listing::Tickets => "p_created_before",
            Listing::Chats => "p_start_before",
        }
    }
}

impl LiveZilla {
    pub fn new(cfg: &PipelineConfig, http: HttpClient) -> LiveZilla {
        // Validated with the configuration; defaults if that ever disagrees.
        let sync = settings::LivezillaSync::from_keys(&cfg.sync.connector_keys).unwrap_or_default();
        LiveZilla { http, sync }
    }

    async fn call(&self, ctx: Option<&StreamCtx>, form: Vec<(&str, String)>) -> Result<Value, SyncError> {
        let form = form.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        let fut = self.http.post_form_json(API, form);
        match ctx {
            Some(ctx) => ctx.guard(async { fut.await.map_err(refused) }).await,
            None => fut.await.map_err(refused),
        }
    }

    pub async fn check(&self) -> Result<String, SyncError> {
        let answer = self.call(None, vec![("p_operators_list", "1".into())]).await?;
        let n = items(&answer, "Operators", "Operator")?.len();
        Ok(format!(
            "LiveZilla API v2 at {}: logged in, {n} operators visible",
            crate::http::redact_url(self.http.base())
        ))
    }

    pub async fn sync_stream(&self, stream: &str, ctx: &mut StreamCtx) -> Result<(), SyncError> {
        match stream {
            "groups" | "operators" => self.operators(stream, ctx).await,
            "tickets" => self.windows(Listing::Tickets, ctx).await,
            "chats" => self.windows(Listing::Chats, ctx).await,
            "ticket_messages" | "ticket_comments" | "ticket_fields" => Ok(()), // with tickets
            other => Err(SyncError::Protocol(format!("livezilla has no stream '{other}'"))),
        }
    }

    async fn operators(&self, stream: &str, ctx: &mut StreamCtx) -> Result<(), SyncError> {
        let answer = self.call(Some(ctx), vec![("p_operators_list", "1".into())]).await?;
        let now = Utc::now();
        let (agents, departments, bad) = parse_operators(&answer, &ctx.account, now)?;
        if stream == "groups" {
            shapes::full_refresh(ctx, Table::Departments, &departments, bad, Deletions::Mark).await
        } else {
            // Agents are not marked deleted when missing: chats and tickets keep referring to them.
            let t = Table::Def(&tables::AGENTS);
            shapes::full_refresh(ctx, t, &agents, bad, Deletions::Keep).await
        }
    }

    /// The windowed extraction of tickets or chats (see the module documentation).
    async fn windows(&self, listing: Listing, ctx: &mut StreamCtx) -> Result<(), SyncError> {
        let lookback = Duration::from_std(ctx.sync.lookback).unwrap_or_default();
        let mut state = ctx.state.clone();
        let start = ctx
            .start_date
            .map(|d| local_to_utc(d.and_hms_opt(0, 0, 0).expect("midnight"), ctx.timezone))
            .unwrap_or_else(|| DateTime::from_timestamp(946_684_800, 0).expect("2000-01-01"));
        let every = self.sync.full_rescan_every;
        let plan = PassPlan {
            lookback,
            start: Some(start),
            trailing: Some(
                Duration::from_std(match listing {
                    Listing::Tickets => self.sync.reread_window,
                    Listing::Chats => self.sync.chats_reread,
                })
                .unwrap_or_default(),
            ),
            // Chats too: one archived after its start left the re-read window is found here.
            full: !every.is_zero()
                && state.reconciled_at.is_none_or(|r| (Utc::now() - r).to_std().unwrap_or_default() >= every),
            clock: Utc::now(),
        };
        let (mut pass, _) = begin_pass(&mut state, plan);
        // During write bursts the server stamps messages seconds ahead of its clock: list that
        // far into the future too, so such tickets arrive in this run, not runs later (the
        // cursor still never passes the pass's start).
        let mut until = pass.started_at.timestamp() + FUTURE_SLACK_SECS;
        if let Some((a, b)) = ctx.window {
            // Backfill: exactly the window, no full-scan bookkeeping.
            pass = PassState::from(Some(a));
            until = b.timestamp();
        }
        let limit = ctx.sync.page_size.clamp(1, MAX_LIMIT);
        let from = pass.since.map_or(start.timestamp(), |t| t.timestamp());
        let mut windows = WindowPager::new(from, until, self.sync.window.as_secs().max(1) as i64, limit);
        let mut pending = Parsed::default();
        let mut read_since_commit = 0usize;
        while let Some(Request::Window { from: a, to: b, limit }) = windows.request() {
            ctx.check_shutdown()?;
            let answer = self.list(ctx, listing, a, b, limit).await?;
            let count = items(&answer, list_key(listing), item_key(listing))?.len();
            if windows.judge(&vec![None; count]) == Step::Reread {
                tracing::debug!(pipeline = %ctx.pipeline, a, b, count, "window full: splitting");
                continue;
            }
            let now = Utc::now();
            let parsed = match listing {
                Listing::Tickets => parse_tickets(&answer, &ctx.account, now)?,
                Listing::Chats => parse_chats(&answer, &ctx.account, ctx.timezone, now)?,
            };
            for t in &parsed.tickets {
                if let Some(c) = t.created_at {
                    pass.max_seen = Some(pass.max_seen.map_or(c, |m| m.max(c)));
                }
            }
            read_since_commit += parsed.tickets.len();
            merge(&mut pending, parsed);
            pass.since = DateTime::from_timestamp(b, 0);
            if b >= until || read_since_commit >= ctx.sync.batch_size {
                self.commit_window(ctx, std::mem::take(&mut pending), &state, &pass).await?;
                read_since_commit = 0;
            }
        }
        let splits = windows.splits;
        if splits > 0 {
            tracing::info!(pipeline = %ctx.pipeline, stream = %ctx.stream, splits, "windows split because they reached p_limit");
        }
        finish_pass(&mut state, &pass);
        ctx.commit(LoadUnit { state: Some(state), ..Default::default() }).await
    }

    async fn list(&self, ctx: &StreamCtx, listing: Listing, a: i64, b: i64, limit: usize) -> Result<Value, SyncError> {
        let mut form = vec![
            (listing.action(), "1".to_string()),
            (listing.after(), (a - 1).to_string()),
            (listing.before(), b.to_string()),
            ("p_limit", limit.to_string()),
        ];
        if let Listing::Chats = listing {
            // HTML output carries the plain text too, and each post's unix time (`stime_`).
            form.push(("p_output", "HTML".into()));
        }
        self.call(Some(ctx), form).await
    }

    /// Write the tickets of `parsed` that are new or changed, with their messages, comments and
    /// fields (comments and fields replaced, so removed ones disappear), and the pass progress.
    async fn commit_window(
        &self,
        ctx: &mut StreamCtx,
        mut parsed: Parsed,
        state: &StreamState,
        pass: &PassState,
    ) -> Result<(), SyncError> {
        let mut seen = HashSet::new();
        parsed.tickets.retain(|t| seen.insert(t.ticket_id.clone()));
        ctx.retain_changed(Table::Tickets, &mut parsed.tickets, |t| {
            (Some(t.ticket_id.clone()), t.content_hash.clone())
        })
        .await?;
        let changed: BTreeSet<String> = parsed.tickets.iter().map(|t| t.ticket_id.clone()).collect();
        let mut dedup_messages = BTreeMap::new();
        for m in parsed.messages.into_iter().filter(|m| changed.contains(&m.ticket_id)) {
            dedup_messages.insert((m.ticket_id.clone(), m.message_id.clone()), m);
        }
        let messages: Vec<MessageRow> = dedup_messages.into_values().collect();
        let mut dedup_fields = BTreeMap::new();
        for f in parsed.fields.into_iter().filter(|f| changed.contains(&f.ticket_id)) {
            dedup_fields.insert((f.ticket_id.clone(), f.field_code.clone()), f);
        }
        let fields: Vec<TicketFieldRow> = dedup_fields.into_values().collect();
        let comments_table = Table::Def(&tables::TICKET_COMMENTS);
        let mut dedup_comments = BTreeMap::new();
        for c in parsed.comments.into_iter() {
            let tid = c.get("ticket_id").and_then(Value::as_str).unwrap_or_default().to_string();
            let cid = c.get("comment_id").and_then(Value::as_str).unwrap_or_default().to_string();
            if changed.contains(&tid) {
                dedup_comments.insert((tid, cid), c);
            }
        }
        let comments: Vec<Row> = dedup_comments.into_values().collect();
        let mut batches = vec![(Table::Tickets, batch(Table::Tickets, &parsed.tickets)?)];
        let mut replace = Vec::new();
        let changed: Vec<String> = changed.into_iter().collect();
        if ctx.wants("ticket_messages") || ctx.stream == "chats" {
            batches.push((Table::Messages, batch(Table::Messages, &messages)?));
        }
        if ctx.wants("ticket_comments") && ctx.stream == "tickets" {
            replace.push(Replace {
                table: comments_table,
                filters: vec![],
                column: "ticket_id",
                values: changed.clone(),
            });
            batches.push((comments_table, batch(comments_table, &comments)?));
        }
        if ctx.wants("ticket_fields") && ctx.stream == "tickets" {
            replace.push(Replace { table: Table::TicketFields, filters: vec![], column: "ticket_id", values: changed });
            batches.push((Table::TicketFields, batch(Table::TicketFields, &fields)?));
        }
        let mut st = state.clone();
        st.pass = Some(pass.clone());
        ctx.commit(LoadUnit { batches, replace, quarantine: parsed.bad, state: Some(st), ..Default::default() }).await
    }
}

fn list_key(l: Listing) -> &'static str {
    match l {
        Listing::Tickets => "Tickets",
        Listing::Chats => "Chats",
    }
}

fn item_key(l: Listing) -> &'static str {
    match l {
        Listing::Tickets => "Ticket",
        Listing::Chats => "Chat",
    }
}

fn merge(into: &mut Parsed, from: Parsed) {
    into.tickets.extend(from.tickets);
    into.messages.extend(from.messages);
    into.comments.extend(from.comments);
    into.fields.extend(from.fields);
    into.bad.extend(from.bad);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_html_transcripts_post_times_are_preferred_when_they_match_the_posts() {
        let tz: chrono_tz::Tz = "Europe/Bratislava".parse().unwrap();
        // 02:30 on 25 October 2026 happens twice; the plain text cannot say which. The HTML can.
        let second_pass = 1_792_891_800; // 2026-10-25T01:30:00Z = 02:30 CET
        let plain = "| 25.10.2026 02:30:00 | Ann: hello";
        let html = format!(
            "<table class=\"AP CMT\"><tr><td><div class=\"CMTN\">Ann</div><div>hello</div></td><td class=\"CMTD\"><!--stime_{second_pass}--><!--notifier--></td></tr></table>"
        );
        let chat = |html: &str| serde_json::json!({"Chats": [{"Chat": {"ChatId": "9", "Fullname": "Ann", "PlainText": plain, "HTML": html}}]});
        let p = parse_chats(&chat(&html), "acme", tz, Utc::now()).unwrap();
        assert_eq!(p.messages[0].created_at.unwrap().timestamp(), second_pass);
        // Without it, the documented rule: the earlier instant.
        let p = parse_chats(&chat(""), "acme", tz, Utc::now()).unwrap();
        assert_eq!(p.messages[0].created_at.unwrap().timestamp(), second_pass - 3600);
    }

    #[test]
    fn transcript_posts_split_on_crlf_only_and_the_repeated_autumn_hour_keeps_order() {
        let tz: chrono_tz::Tz = "Europe/Bratislava".parse().unwrap();
        // 2026-10-25 03:00 CEST falls back to 02:00 CET: 02:30 happens twice.
        let plain = "| 25.10.2026 02:10:00 | Ann: first, in CEST\r\n\
                     | 25.10.2026 02:50:00 | Bob: see the log:\n| 01.02.2019 10:00:00 | not a post\r\n\
                     | 25.10.2026 02:20:00 | Ann: after the change, in CET";
        let answer = serde_json::json!({"Chats": [{"Chat": {"ChatId": "9", "Fullname": "Ann", "Email": "a@x",
            "OperatorId": "bob", "TimeStart": "1793000000", "TimeEnd": "1793009000", "PlainText": plain}}]});
        let p = parse_chats(&answer, "acme", tz, Utc::now()).unwrap();
        let m: Vec<(String, &str, String)> = p
            .messages
            .iter()
            .map(|m| (m.body.clone().unwrap(), m.author_type, m.created_at.unwrap().to_rfc3339()))
            .collect();
        assert_eq!(m.len(), 3, "{m:?}");
        assert_eq!(m[1].0, "see the log:\n| 01.02.2019 10:00:00 | not a post", "a bare newline stays in the post");
        assert_eq!(m[1].1, "agent");
        assert_eq!(m[0].2, "2026-10-25T00:10:00+00:00");
        assert_eq!(m[1].2, "2026-10-25T00:50:00+00:00");
        // 02:20 after 02:50 CEST can only be the second 02:20, in CET (+1).
        assert_eq!(m[2].2, "2026-10-25T01:20:00+00:00");
    }

    #[test]
    fn a_single_post_with_a_pasted_transcript_line_stays_one_post() {
        let plain =
            "| 27.05.2026 15:27:28 | Ann: Here is the log:\n| 01.02.2019 10:00:00 | System: job failed\nCan you help?";
        let posts = transcript_lines(plain, 0);
        assert_eq!(posts.len(), 1, "{posts:?}");
        assert_eq!(posts[0].1, "Ann");
        assert_eq!(posts[0].2, "Here is the log:\n| 01.02.2019 10:00:00 | System: job failed\nCan you help?");
        assert_eq!(transcript_lines(plain, 1).len(), 1);
        // Line endings rewritten to newlines: the HTML transcript's two posts say where to split.
        let rewritten = "| 27.05.2026 15:27:28 | Ann: hello\n| 27.05.2026 15:28:00 | Bob: hi";
        assert_eq!(transcript_lines(rewritten, 2).len(), 2);
        assert_eq!(transcript_lines("", 0).len(), 0);
    }

    #[test]
    fn error_bodies_in_plain_words() {
        let e = lz_error(
            403,
            "HTTP/1.1 403 Forbidden (Error:LZAV20001: No API access permission or invalid authentication.;0)",
        )
        .unwrap();
        assert!(e.contains("wrong username or password") && e.contains("locked"), "{e}");
        let e = lz_error(
            403,
            "HTTP/1.1 403 Forbidden (Error:LZAV20002: No API access permission or invalid authentication.)",
        )
        .unwrap();
        assert!(e.contains("no API permission"), "{e}");
        let e = lz_error(403, "HTTP/1.1 403 Forbidden (Error:LZAV20003:  (Filter: Limit))").unwrap();
        assert!(e.ends_with("(Filter: Limit)"), "{e}");
        assert!(lz_error(403, "HTTP/1.1 403 Forbidden (Error:LZAV20003: )").unwrap().contains("unknown action"));
        assert_eq!(lz_error(500, "<html>oops</html>"), None);
    }
}
