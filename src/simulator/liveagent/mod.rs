//! LiveAgent API v1 as `shared/api-docs/liveagent-api-v1-full.txt` documents it: every value a
//! string (or null), times as `YYYY-MM-DD HH:MM:SS` in the account's zone, the API key in the
//! `apikey` query parameter, errors as `{"response":{"status":"ERROR",...}}`, `limit` at most
//! 1000. Served from a seeded data set ([`LaData`]) that tests mutate between runs.
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
use chrono::{DateTime, Duration, TimeZone, Utc};
use chrono_tz::Tz;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::Shared;
use crate::timez::{format_local, parse_local};

/// The default end of the seeded history: the start of today (UTC), so reports of recent days
/// have data; mutations happen at the real "now", after it.
pub fn history_end() -> DateTime<Utc> {
    let now = Utc::now();
    now.date_naive().and_hms_opt(0, 0, 0).expect("midnight").and_utc()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListOrder {
    /// By `datechanged` ascending (ties by id): changed rows move to the end.
    ChangedAsc,
    /// By `datecreated` descending: new rows appear at the start.
    CreatedDesc,
}

/// How the simulator is set up.
#[derive(Debug, Clone)]
pub struct SimConfig {
    pub seed: u64,
    pub conversations: usize,
    /// Days of history before `history_end`.
    pub history_days: i64,
    /// When the seeded history ends (default: [`history_end`], the start of today).
    pub history_end: DateTime<Utc>,
    /// The API key the simulator accepts.
    pub api_key: String,
    /// Zone of the times it reports.
    pub timezone: Tz,
    /// Zone it reads filter values in.
    pub filter_timezone: Tz,
    pub order: ListOrder,
    /// LiveZilla: the operator with API permission and the password the simulator accepts.
    pub lz_user: String,
    pub lz_password: String,
    /// Liveforce: the Basic-auth credentials the simulator accepts.
    pub lf_user: String,
    pub lf_password: String,
    /// Requests allowed per API key in a sliding window; past it, 429 with `Retry-After`.
    /// `None`: unlimited.
    pub rate_limit: Option<RateLimit>,
}

/// A vendor-style rate limit: at most `requests` per sliding `window` per API key.
#[derive(Debug, Clone, Copy)]
pub struct RateLimit {
    pub requests: u32,
    pub window: std::time::Duration,
}

impl RateLimit {
    pub fn per_minute(requests: u32) -> RateLimit {
        RateLimit { requests, window: std::time::Duration::from_secs(60) }
    }
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            seed: 42,
            conversations: 300,
            history_days: 365,
            history_end: history_end(),
            api_key: "sim-liveagent-key".into(),
            lz_user: "apiadmin".into(),
            lz_password: "sim-livezilla-pass".into(),
            lf_user: "lf-admin".into(),
            lf_password: "sim-liveforce-pass".into(),
            timezone: Tz::UTC,
            filter_timezone: Tz::UTC,
            order: ListOrder::ChangedAsc,
            rate_limit: None,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Department {
    pub id: String,
    pub name: String,
    pub online_status: String,
    pub deleted: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Tag {
    pub id: String,
    pub name: String,
    pub color: String,
    pub bg_color: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Agent {
    pub id: String,
    pub name: String,
    pub email: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Message {
    pub id: String,
    pub userid: String,
    pub rtype: String,
    pub created: DateTime<Utc>,
    pub body: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Group {
    pub id: String,
    pub userid: String,
    pub rtype: String,
    pub rstatus: String,
    pub created: DateTime<Utc>,
    pub finished: DateTime<Utc>,
    pub messages: Vec<Message>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Conversation {
    pub id: String,
    pub code: String,
    pub created: DateTime<Utc>,
    pub changed: DateTime<Utc>,
    pub due: Option<DateTime<Utc>>,
    pub department_id: String,
    pub status: String,
    pub owner_name: String,
    pub owner_email: String,
    pub owner_id: String,
    pub subject: String,
    pub public_url_code: String,
    pub tags: Vec<String>,
    pub channel: String,
    pub assigned_to: Option<String>,
    pub owner_note: Option<String>,
    /// Custom field values (code, value), served by the conversation details endpoint.
    pub custom_fields: Vec<(String, String)>,
    pub groups: Vec<Group>,
}

/// Group types that count as incoming / outgoing in `messagegroupsin/out`.
const INCOMING_GROUPS: &[&str] = &["3", "5", "M", "C", "P", "F", "W"];
const OUTGOING_GROUPS: &[&str] = &["4", "V"];

impl Conversation {
    pub fn messages_in(&self) -> usize {
        self.groups.iter().filter(|g| INCOMING_GROUPS.contains(&g.rtype.as_str())).count()
    }
    pub fn messages_out(&self) -> usize {
        self.groups.iter().filter(|g| OUTGOING_GROUPS.contains(&g.rtype.as_str())).count()
    }
    pub fn message_count(&self) -> usize {
        self.groups.iter().map(|g| g.messages.len()).sum()
    }
}

/// A change to apply to the data set (tests, `POST /_sim/mutate`, the benchmark).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Mutation {
    /// New conversations created now.
    pub new_conversations: usize,
    /// Existing conversations whose status changes (no new message).
    pub changed_conversations: usize,
    /// Existing conversations that get a reply (a new group with one message).
    pub new_messages: usize,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct MutationSummary {
    pub created: Vec<String>,
    pub status_changed: Vec<String>,
    pub replied: Vec<String>,
}

/// The LiveAgent data set.
pub struct LaData {
    pub departments: Vec<Department>,
    pub tags: Vec<Tag>,
    pub agents: Vec<Agent>,
    pub conversations: BTreeMap<String, Conversation>,
    rng: SmallRng,
    next_id: u64,
    /// After this many more conversation-list requests, touch `.1` conversations (move them to
    /// the end of a `ChangedAsc` listing). Lets tests change rows between page requests.
    pub touch_after_list_requests: Option<(u32, usize)>,
    /// Conversations whose messages endpoint answers with the documented 500 error.
    pub broken_messages: Vec<String>,
    /// Raw records served as-is at the end of every conversation listing (malformed input).
    pub extra_raw: Vec<Value>,
    /// Customers, companies, knowledge base, widgets… (see `catalog`).
    pub catalog: catalog::CatalogData,
    /// Liveforce's leads and deals (its tickets, staff and calls are the conversations).
    pub liveforce: super::liveforce::LfData,
}

const SUBJECTS: &[&str] = &[
    "Cannot log in",
    "Invoice question",
    "Refund request",
    "Feature request: dark mode",
    "Order not delivered",
    "Objednávka nedorazila",
    "Problém s platbou kartou",
    "注文について",
    "Password reset link expired",
    "Upgrade to the business plan",
];
const NAMES: &[&str] = &[
    "John Owner",
    "Jane Smith",
    "Žofia Nováková",
    "Ľubomír Šťastný",
    "Müller Jürgen",
    "Анна Иванова",
    "山田 太郎",
    "O'Brien Patrick",
];
const BODIES: &[&str] = &[
    "Hello, I have a problem with my account.",
    "<p>Dear support,</p><p>my order <b>#4711</b> has not arrived yet.</p><br/>Thanks",
    "Dobrý deň, ďakujem za rýchlu odpoveď — všetko funguje. 😀",
    "<div dir=\"ltr\">Could you send me the invoice as PDF?<br><br>Regards</div>",
    "Спасибо, проблема решена.",
    "お問い合わせありがとうございます。確認いたします。",
    "Thanks for reaching out! I've reset your password; please try again & let us know.",
    "<table><tr><td>Plan</td><td>Business</td></tr></table>",
];
const TAG_NAMES: &[&str] =
    &["VIP", "Support", "Billing", "Bug", "Feature", "Urgent", "Refund", "Churn risk", "Partner", "Spam"];
const DEPARTMENTS: &[(&str, &str)] =
    &[("Support", "TM"), ("Sales", "T"), ("Billing", "M"), ("Technical", "TPM"), ("Legacy", "")];

fn rand_id(rng: &mut SmallRng, len: usize) -> String {
    const ALPHA: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    (0..len).map(|_| ALPHA[rng.random_range(0..ALPHA.len())] as char).collect()
}

impl LaData {
    pub fn generate(cfg: &SimConfig) -> LaData {
        let mut rng = SmallRng::seed_from_u64(cfg.seed);
        let departments = DEPARTMENTS
            .iter()
            .enumerate()
            .map(|(i, (name, online))| Department {
                id: format!("d{}{}", i + 1, rand_id(&mut rng, 6)),
                name: name.to_string(),
                online_status: online.to_string(),
                deleted: *name == "Legacy",
            })
            .collect();
        let tags = TAG_NAMES
            .iter()
            .map(|n| Tag {
                id: rand_id(&mut rng, 4),
                name: n.to_string(),
                color: "FFFFFF".into(),
                bg_color: format!("{:06X}", rng.random_range(0..0xFFFFFFu32)),
            })
            .collect();
        let agents = (0..8)
            .map(|i| Agent {
                id: format!("ag{}", rand_id(&mut rng, 6)),
                name: format!("Agent {}", i + 1),
                email: format!("agent{}@example.com", i + 1),
            })
            .collect();
        let mut data = LaData {
            departments,
            tags,
            agents,
            conversations: BTreeMap::new(),
            rng,
            next_id: 1,
            touch_after_list_requests: None,
            broken_messages: Vec::new(),
            extra_raw: Vec::new(),
            catalog: catalog::CatalogData::generate(cfg),
            liveforce: super::liveforce::LfData::generate(cfg),
        };
        let end = cfg.history_end;
        let span = cfg.history_days.max(1) * 86_400;
        for _ in 0..cfg.conversations {
            let offset = data.rng.random_range(3_600..span);
            let created = end - Duration::seconds(offset);
            let c = data.new_conversation(created, end);
            data.conversations.insert(c.id.clone(), c);
        }
        // Liveforce: every 25th ticket was merged into the one before it.
        let mut ids: Vec<u64> = data.conversations.values().map(super::liveforce::lf_id).collect();
        ids.sort();
        for i in (25..ids.len()).step_by(25) {
            data.liveforce.merged.insert(ids[i], ids[i - 1]);
        }
        data
    }

    fn fresh_id(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        format!("{prefix}{}{:05}", rand_id(&mut self.rng, 3), self.next_id)
    }

    fn body(&mut self) -> String {
        let r = self.rng.random_range(0..100);
        if r < 2 {
            // A long body (~24 KB).
            let para =
                "Lorem ipsum dolor sit amet, consectetur adipiscing elit — příliš žluťoučký kůň úpěl ďábelské ódy. ";
            para.repeat(240)
        } else {
            BODIES[self.rng.random_range(0..BODIES.len())].to_string()
        }
    }

    /// A conversation created at `created`, all of whose activity happens before `limit`.
    fn new_conversation(&mut self, created: DateTime<Utc>, limit: DateTime<Utc>) -> Conversation {
        let rng = &mut self.rng;
        let channel = ["E", "E", "E", "E", "E", "B", "B", "M", "C", "F", "T", "Q"][rng.random_range(0..12)].to_string();
        let owner_name = NAMES[rng.random_range(0..NAMES.len())].to_string();
        let owner_email = format!("customer{}@example.org", rng.random_range(1..5000));
        let owner_id = format!("cu{}", rand_id(rng, 6));
        let dept = rng.random_range(0..4);
        let department_id = self.departments[dept].id.clone();
        let ntags = rng.random_range(0..3);
        let tags: Vec<String> =
            (0..ntags).map(|_| self.tags[self.rng.random_range(0..self.tags.len())].id.clone()).collect();
        let mut tags_dedup = Vec::new();
        for t in tags {
            if !tags_dedup.contains(&t) {
                tags_dedup.push(t);
            }
        }
        let agent = self.agents[self.rng.random_range(0..self.agents.len())].id.clone();
        let status =
            ["R", "R", "R", "C", "C", "A", "A", "N", "W", "X", "B", "R"][self.rng.random_range(0..12)].to_string();
        let id = self.fresh_id("c");
        let code = format!(
            "{}-{}-{}",
            rand_id(&mut self.rng, 3).to_uppercase(),
            rand_id(&mut self.rng, 3).to_uppercase(),
            rand_id(&mut self.rng, 3).to_uppercase()
        );
        let public_url_code = rand_id(&mut self.rng, 16);
        let nmsg = self.rng.random_range(1..10usize);
        let mut t = created;
        let mut groups = Vec::new();
        let chat = matches!(channel.as_str(), "B" | "I");
        for i in 0..nmsg {
            let step = Duration::minutes(self.rng.random_range(1..600));
            if t + step < limit {
                t += step;
            }
            let from_customer = i % 2 == 0;
            let (grtype, userid) = if chat {
                ("C", if from_customer { owner_id.clone() } else { agent.clone() })
            } else if channel == "C" {
                (if from_customer { "P" } else { "V" }, if from_customer { owner_id.clone() } else { agent.clone() })
            } else if i > 0 && self.rng.random_range(0..8) == 0 {
                ("I", agent.clone())
            } else if from_customer {
                ("3", owner_id.clone())
            } else {
                ("4", agent.clone())
            };
            let mtype = match grtype {
                "I" => "N",
                "P" | "V" => "V",
                _ => "M",
            };
            let body = self.body();
            let mid = self.fresh_id("m");
            let gid = self.fresh_id("g");
            let mut messages = vec![Message { id: mid, userid: userid.clone(), rtype: mtype.into(), created: t, body }];
            if i == 0 {
                // A system line at the start of the first group, as LiveAgent writes them.
                messages.push(Message {
                    id: self.fresh_id("m"),
                    userid: "system00".into(),
                    rtype: "S".into(),
                    created: t,
                    body: format!("Conversation started via {channel}"),
                });
            }
            groups.push(Group {
                id: gid,
                userid,
                rtype: grtype.into(),
                rstatus: "V".into(),
                created: t,
                finished: t,
                messages,
            });
        }
        let due = (self.rng.random_range(0..3) == 0).then(|| created + Duration::hours(24));
        Conversation {
            id,
            code,
            created,
            changed: t,
            due,
            department_id,
            status,
            owner_name,
            owner_email,
            owner_id,
            subject: SUBJECTS[self.rng.random_range(0..SUBJECTS.len())].to_string(),
            public_url_code,
            tags: tags_dedup,
            channel,
            assigned_to: (self.rng.random_range(0..5) > 0).then_some(agent),
            owner_note: (self.rng.random_range(0..4) == 0).then(|| "VIP customer, answer within the hour".to_string()),
            custom_fields: {
                let mut f = vec![("order_id".to_string(), format!("{}", self.rng.random_range(10_000..99_999)))];
                if self.rng.random_range(0..2) == 0 {
                    f.push((
                        "plan".to_string(),
                        ["free", "business", "enterprise"][self.rng.random_range(0..3)].to_string(),
                    ));
                }
                f
            },
            groups,
        }
    }

    fn pick_existing(&mut self, n: usize) -> Vec<String> {
        let ids: Vec<String> = self.conversations.keys().cloned().collect();
        let mut out = Vec::new();
        while out.len() < n.min(ids.len()) {
            let id = ids[self.rng.random_range(0..ids.len())].clone();
            if !out.contains(&id) {
                out.push(id);
            }
        }
        out
    }

    /// Apply a mutation at time `now`; returns which conversations it touched.
    pub fn apply(&mut self, m: &Mutation, now: DateTime<Utc>) -> MutationSummary {
        let mut s = MutationSummary::default();
        for id in self.pick_existing(m.changed_conversations) {
            let next = ["C", "A", "R", "W", "X", "B"][self.rng.random_range(0..6)].to_string();
            let c = self.conversations.get_mut(&id).expect("picked");
            c.status = if c.status == next { "C".into() } else { next };
            c.changed = now;
            s.status_changed.push(id);
        }
        for id in self.pick_existing(m.new_messages) {
            let body = self.body();
            let mid = self.fresh_id("m");
            let gid = self.fresh_id("g");
            let c = self.conversations.get_mut(&id).expect("picked");
            let userid = c.owner_id.clone();
            c.groups.push(Group {
                id: gid,
                userid: userid.clone(),
                rtype: "3".into(),
                rstatus: "V".into(),
                created: now,
                finished: now,
                messages: vec![Message { id: mid, userid, rtype: "M".into(), created: now, body }],
            });
            c.status = "C".into();
            c.changed = now;
            s.replied.push(id);
        }
        for i in 0..m.new_conversations {
            let created = now - Duration::seconds(i as i64 % 60);
            let mut c = self.new_conversation(created, now);
            c.changed = now;
            s.created.push(c.id.clone());
            self.conversations.insert(c.id.clone(), c);
        }
        s
    }

    /// Mark `n` conversations as changed now (they move to the end of a `ChangedAsc` list).
    fn touch_first(&mut self, order: ListOrder, n: usize) {
        let now = Utc::now();
        let ids: Vec<String> = self.ordered(order).into_iter().take(n).map(|c| c.id.clone()).collect();
        for id in ids {
            if let Some(c) = self.conversations.get_mut(&id) {
                c.changed = now;
            }
        }
    }

    pub fn ordered(&self, order: ListOrder) -> Vec<&Conversation> {
        let mut v: Vec<&Conversation> = self.conversations.values().collect();
        match order {
            ListOrder::ChangedAsc => v.sort_by(|a, b| a.changed.cmp(&b.changed).then(a.id.cmp(&b.id))),
            ListOrder::CreatedDesc => v.sort_by(|a, b| b.created.cmp(&a.created).then(b.id.cmp(&a.id))),
        }
        v
    }

    pub fn department_name(&self, id: &str) -> Option<&str> {
        self.departments.iter().find(|d| d.id == id).map(|d| d.name.as_str())
    }
}

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

fn render_conversation(c: &Conversation, data: &LaData, tz: Tz) -> Value {
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
    let rows: Vec<Value> = data.tags.iter().map(|t| json!({"id": t.id, "name": t.name})).collect();
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
