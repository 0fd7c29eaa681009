//! Every column of `tickets` and `messages`, per vendor, from the simulator's world — written
//! from the vendors' documentation, not from the connectors' code: what each API says a field
//! means (status and channel vocabularies, who wrote a message, which id a message has) is
//! spelled out here a second time, so a connector that maps a field wrongly fails the suite.
//! Bookkeeping columns (`content_hash`, `raw`, `synced_at`) are left out; `''` and NULL ("∅")
//! are distinct.

use std::collections::BTreeMap;

use desksync::simulator::world::{Conversation, Message, World};

use crate::common::{Env, utc};

pub type Rows = BTreeMap<String, Vec<String>>;

const NULL: &str = "∅";

/// The warehouse's `tickets` of `source`: ticket id → every other column, in [`TICKET_COLUMNS`]
/// order.
pub fn db_tickets(env: &Env, source: &str, filter: &str) -> Rows {
    let ts = |c: &str| format!("strftime({c}::TIMESTAMP, '%Y-%m-%d %H:%M:%S')");
    let sql = format!(
        "SELECT ticket_id, code, subject, status, status_raw, channel, channel_raw, department_id,
                department_name, assignee_id, requester_name, requester_email, language,
                array_to_string(tags, ','), {}, {}, {}, messages_in, messages_out, {}, priority, merged_into
         FROM tickets WHERE source = '{source}' {filter}",
        ts("created_at"),
        ts("updated_at"),
        ts("due_at"),
        ts("deleted_at")
    );
    env.rows(&sql).into_iter().map(|mut r| (r.remove(0), r)).collect()
}

/// The warehouse's `messages` of `source`: "ticket/message" → every other column.
pub fn db_messages(env: &Env, source: &str, filter: &str) -> Rows {
    let sql = format!(
        "SELECT ticket_id || '/' || message_id, group_id, author_id, author_type, type, type_raw,
                group_type_raw, is_internal, strftime(created_at::TIMESTAMP, '%Y-%m-%d %H:%M:%S'), body,
                body_format
         FROM messages WHERE source = '{source}' {filter}"
    );
    env.rows(&sql).into_iter().map(|mut r| (r.remove(0), r)).collect()
}

/// Assert two row maps equal, naming the first rows that differ (a whole-map diff of hundreds of
/// rows is unreadable).
pub fn assert_rows_equal(what: &str, db: &Rows, truth: &Rows) {
    let missing: Vec<&String> = truth.keys().filter(|k| !db.contains_key(*k)).take(5).collect();
    let extra: Vec<&String> = db.keys().filter(|k| !truth.contains_key(*k)).take(5).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{what}: {} rows in the warehouse, {} in the truth; missing {missing:?}, extra {extra:?}",
        db.len(),
        truth.len()
    );
    let differ: Vec<String> = truth
        .iter()
        .filter(|(k, v)| db.get(*k) != Some(*v))
        .take(3)
        .map(|(k, v)| format!("{k}:\n  warehouse {:?}\n  truth     {v:?}", db[k]))
        .collect();
    assert!(differ.is_empty(), "{what}: rows differ:\n{}", differ.join("\n"));
}

fn opt(s: Option<&str>) -> String {
    s.map_or_else(|| NULL.to_string(), str::to_string)
}

fn time(t: Option<chrono::DateTime<chrono::Utc>>) -> String {
    t.map_or_else(|| NULL.to_string(), utc)
}

/// Markup, as the simulated bodies carry it (they start with a tag when they are HTML).
fn format_of(body: &str) -> &'static str {
    if body.starts_with('<') { "html" } else { "text" }
}

// ---- LiveAgent (API v1) --------------------------------------------------------------------

/// `status` of a conversation, per the docs' list: A Answered, P Calling, T Chatting,
/// X Deleted, B Spam, I Init, C Open, R Resolved, N New, W Postponed.
fn la_status(code: &str) -> &'static str {
    match code {
        "A" => "answered",
        "P" => "calling",
        "T" => "chatting",
        "X" => "deleted",
        "B" => "spam",
        "I" => "init",
        "C" => "open",
        "R" => "resolved",
        "N" => "new",
        "W" => "pending",
        other => panic!("LiveAgent status {other} is not in the docs"),
    }
}

/// `channel_type`: E Email, B Contact button, M Contact form, I Invitation, C Call,
/// W Call button, F Facebook, A Facebook message, T Twitter, Q Forum.
fn la_channel(code: &str) -> &'static str {
    match code {
        "E" => "email",
        "B" | "I" => "chat",
        "M" => "form",
        "C" | "W" => "call",
        "F" | "A" => "facebook",
        "T" => "twitter",
        "Q" => "forum",
        other => panic!("LiveAgent channel {other} is not in the docs"),
    }
}

pub fn liveagent_tickets(d: &World) -> Rows {
    d.conversations
        .values()
        .map(|c| {
            let row = vec![
                c.code.clone(),
                c.subject.clone(),
                la_status(&c.status).into(),
                c.status.clone(),
                la_channel(&c.channel).into(),
                c.channel.clone(),
                c.department_id.clone(),
                opt(d.department_name(&c.department_id)),
                // The list has no assignee; `conversation_details` (opt-in) reads it.
                NULL.into(),
                c.owner_name.clone(),
                c.owner_email.clone(),
                NULL.into(),
                c.tags.join(","),
                utc(c.created),
                utc(c.changed),
                time(c.due),
                c.messages_in().to_string(),
                c.messages_out().to_string(),
                NULL.into(),
                NULL.into(),
                NULL.into(),
            ];
            (c.id.clone(), row)
        })
        .collect()
}

pub fn liveagent_messages(d: &World) -> Rows {
    let mut out = Rows::new();
    for c in d.conversations.values() {
        for g in &c.groups {
            for m in &g.messages {
                // Message rtype: M message, N note, S system, V voice. A note, and anything in
                // an internal group (I), is internal and an agent's.
                let kind = match m.rtype.as_str() {
                    "M" => "message",
                    "N" => "note",
                    "S" => "system",
                    "V" => "call",
                    other => panic!("message rtype {other} not covered here"),
                };
                let internal = g.rtype == "I" || m.rtype == "N";
                // Group rtype: 3 incoming email and P call are the customer's, 4 outgoing email
                // and V outgoing call the agent's; a chat (C) holds both, and its payload does not
                // say which.
                let author = match (kind, g.rtype.as_str()) {
                    ("system", _) => "system",
                    _ if internal => "agent",
                    (_, "4" | "V") => "agent",
                    (_, "3" | "P") => "customer",
                    (_, "C") => "unknown",
                    (_, other) => panic!("group rtype {other} not covered here"),
                };
                let row = vec![
                    g.id.clone(),
                    m.userid.clone(),
                    author.into(),
                    kind.into(),
                    m.rtype.clone(),
                    g.rtype.clone(),
                    internal.to_string(),
                    utc(m.created),
                    m.body.clone(),
                    format_of(&m.body).into(),
                ];
                out.insert(format!("{}/{}", c.id, m.id), row);
            }
        }
    }
    out
}

// ---- LiveZilla (API v2) --------------------------------------------------------------------

use desksync::simulator::livezilla::{editor_status, first_message_time, is_chat, lz_id, md5_hex};

/// The messages a LiveZilla ticket lists: every post but system lines; internal groups are
/// comments (`ticket_comments`), not messages.
fn lz_posts(c: &Conversation) -> Vec<&Message> {
    c.groups.iter().filter(|g| g.rtype != "I").flat_map(|g| g.messages.iter()).filter(|m| m.rtype != "S").collect()
}

pub fn livezilla_tickets(d: &World) -> Rows {
    d.conversations
        .values()
        .filter(|c| !is_chat(c))
        .filter(|c| !lz_posts(c).is_empty())
        .map(|c| {
            let posts = lz_posts(c);
            let agent = |m: &&&Message| m.userid != c.owner_id;
            let out = posts.iter().filter(agent).count();
            // An editor (assignee) carries the status: 0 open, 1 in progress, 2 closed,
            // 3 deleted, 4 waiting; an unassigned ticket has none.
            let status_raw = c.assigned_to.as_ref().map(|_| editor_status(&c.status));
            let status = match status_raw.unwrap_or("0") {
                "0" => "open",
                "1" => "in_progress",
                "2" => "closed",
                "3" => "deleted",
                "4" => "pending",
                other => panic!("editor status {other}"),
            };
            // Channel: 0 Web, 1 Email, 2 Phone, 3 Misc, 4 Chat, 5 Rating.
            let (channel, channel_raw) = match c.channel.as_str() {
                "E" => ("email", "1"),
                "M" => ("web", "0"),
                "C" => ("call", "2"),
                _ => ("other", "3"),
            };
            let group = d.department_name(&c.department_id).unwrap_or("support").to_lowercase();
            let tags: Vec<&str> =
                c.tags.iter().filter_map(|t| d.tags.iter().find(|g| &g.id == t).map(|g| g.name.as_str())).collect();
            let row = vec![
                NULL.into(),
                c.subject.clone(),
                status.into(),
                opt(status_raw),
                channel.into(),
                channel_raw.into(),
                group.clone(),
                group,
                opt(c.assigned_to.as_deref()),
                c.owner_name.clone(),
                c.owner_email.clone(),
                "EN".into(),
                tags.join(","),
                time(first_message_time(c)),
                utc(c.changed),
                NULL.into(),
                (posts.len() - out).to_string(),
                out.to_string(),
                NULL.into(),
                NULL.into(),
                NULL.into(),
            ];
            (lz_id(c).to_string(), row)
        })
        .collect()
}

pub fn livezilla_messages(d: &World) -> Rows {
    let mut out = Rows::new();
    for c in d.conversations.values().filter(|c| !is_chat(c)) {
        let id = lz_id(c).to_string();
        for (i, m) in lz_posts(c).into_iter().enumerate() {
            let agent = m.userid != c.owner_id;
            // The first message's id is the ticket's; a customer is known by e-mail; message
            // Type: 1 operator, 3 e-mail, 0 web.
            let mid = if i == 0 { id.clone() } else { md5_hex(&m.id) };
            let type_raw = if agent {
                "1"
            } else if c.channel == "E" {
                "3"
            } else {
                "0"
            };
            let row = vec![
                NULL.into(),
                if agent { m.userid.clone() } else { c.owner_email.clone() },
                if agent { "agent" } else { "customer" }.into(),
                "message".into(),
                type_raw.into(),
                NULL.into(),
                "false".into(),
                utc(m.created),
                m.body.clone(),
                format_of(&m.body).into(),
            ];
            out.insert(format!("{id}/{mid}"), row);
        }
    }
    out
}

// ---- Liveforce (Perfex) --------------------------------------------------------------------

use desksync::simulator::liveforce::{TICKET_STATUSES, has_contact, lf_id, status_id};

/// Canonical meaning of the default Perfex statuses (and the simulator's custom "Waiting for
/// customer", "Spam" and "Resolved by customer").
fn lf_canonical(id: u32) -> &'static str {
    ["open", "in_progress", "answered", "pending", "closed", "pending", "spam", "closed"][id as usize - 1]
}

/// The replies of a ticket: the first visible post of every group after the first.
fn lf_replies(c: &Conversation) -> Vec<&Message> {
    c.groups
        .iter()
        .filter(|g| g.rtype != "I")
        .skip(1)
        .filter_map(|g| g.messages.iter().find(|m| m.rtype != "S"))
        .collect()
}

fn staff(d: &World, agent: &str) -> String {
    d.agents.iter().position(|a| a.id == agent).map_or(0, |i| i + 1).to_string()
}

pub fn liveforce_messages(d: &World) -> Rows {
    let merged = &d.vendors.liveforce.merged;
    let mut out = Rows::new();
    for c in d.conversations.values() {
        let id = lf_id(c);
        if merged.contains_key(&id) {
            // Its replies moved to the ticket it was merged into.
            continue;
        }
        let author = |src: &Conversation, m: &Message| -> (String, &'static str) {
            if m.userid != src.owner_id {
                (staff(d, &m.userid), "agent")
            } else if has_contact(lf_id(src)) {
                ((1000 + lf_id(src)).to_string(), "customer")
            } else {
                (src.owner_email.clone(), "customer")
            }
        };
        let row = |src: &Conversation, m: &Message| {
            let (who, kind) = author(src, m);
            vec![
                NULL.into(),
                who,
                kind.into(),
                "message".into(),
                NULL.into(),
                NULL.into(),
                "false".into(),
                utc(m.created),
                m.body.clone(),
                format_of(&m.body).into(),
            ]
        };
        // The opening message is the ticket row itself: its body, and the ticket's date.
        if let Some(first) = c.groups.iter().flat_map(|g| g.messages.iter()).find(|m| m.rtype != "S") {
            let mut opening = row(c, first);
            opening[7] = utc(c.created);
            out.insert(format!("{id}/ticket-{id}"), opening);
        }
        let sources = std::iter::once(c).chain(d.conversations.values().filter(|m| merged.get(&lf_id(m)) == Some(&id)));
        for src in sources {
            for (i, m) in lf_replies(src).into_iter().enumerate() {
                out.insert(format!("{id}/reply-{}", lf_id(src) * 1000 + i as u64 + 1), row(src, m));
            }
        }
    }
    out
}

pub fn liveforce_tickets(d: &World) -> Rows {
    let messages = liveforce_messages(d);
    d.conversations
        .values()
        .map(|c| {
            let id = lf_id(c);
            let mine: Vec<&Vec<String>> = messages.range(format!("{id}/")..format!("{id}0")).map(|(_, v)| v).collect();
            let count = |who: &str| mine.iter().filter(|r| r[2] == who).count().to_string();
            let last_reply = lf_replies(c).last().map(|m| m.created);
            let status = status_id(&c.status);
            let assigned = c.assigned_to.as_deref().map(|a| staff(d, a)).filter(|s| s != "0");
            let row = vec![
                format!("{:032x}", id * 7919),
                c.subject.clone(),
                lf_canonical(status).into(),
                TICKET_STATUSES[status as usize - 1].1.into(),
                "email".into(),
                NULL.into(),
                d.departments.iter().position(|x| x.id == c.department_id).map_or(0, |i| i + 1).to_string(),
                NULL.into(),
                opt(assigned.as_deref()),
                c.owner_name.clone(),
                c.owner_email.clone(),
                NULL.into(),
                String::new(),
                utc(c.created),
                utc(last_reply.unwrap_or(c.created)),
                NULL.into(),
                count("customer"),
                count("agent"),
                NULL.into(),
                ["low", "medium", "high"][(id % 3) as usize].into(),
                opt(d.vendors.liveforce.merged.get(&id).map(|t| t.to_string()).as_deref()),
            ];
            (id.to_string(), row)
        })
        .collect()
}

// ---- Dimensions and vendor tables -------------------------------------------------------------

/// The warehouse's `departments` of `source`: id → [name, online_status, is_deleted, deleted_at].
pub fn db_departments(env: &Env, source: &str) -> Rows {
    env.rows(&format!(
        "SELECT department_id, name, online_status, is_deleted, strftime(deleted_at::TIMESTAMP, '%Y-%m-%d %H:%M:%S')
         FROM departments WHERE source = '{source}'"
    ))
    .into_iter()
    .map(|mut r| (r.remove(0), r))
    .collect()
}

/// LiveAgent's departments: `onlinestatus` as sent, `deleted` Y/N as a flag.
pub fn liveagent_departments(d: &World) -> Rows {
    d.departments
        .iter()
        .map(|x| (x.id.clone(), vec![x.name.clone(), x.online_status.clone(), x.deleted.to_string(), NULL.into()]))
        .collect()
}

/// LiveZilla has no department list: its groups are the departments, known from the operators'
/// `Groups` (every group an operator is in; the API user is in every live group).
pub fn livezilla_departments(d: &World) -> Rows {
    d.departments
        .iter()
        .filter(|x| !x.deleted)
        .map(|x| {
            let g = x.name.to_lowercase();
            (g.clone(), vec![g, NULL.into(), NULL.into(), NULL.into()])
        })
        .collect()
}

/// The warehouse's LiveZilla `ticket_comments`: "ticket/comment" → [message, operator, created,
/// comment].
pub fn db_ticket_comments(env: &Env) -> Rows {
    env.rows(
        "SELECT ticket_id || '/' || comment_id, message_id, operator_id,
                strftime(created_at::TIMESTAMP, '%Y-%m-%d %H:%M:%S'), comment
         FROM ticket_comments WHERE source = 'livezilla'",
    )
    .into_iter()
    .map(|mut r| (r.remove(0), r))
    .collect()
}

/// LiveZilla's internal notes are comments on the message before them, keyed by the MD5 of
/// their id.
pub fn livezilla_ticket_comments(d: &World) -> Rows {
    let mut out = Rows::new();
    for c in d.conversations.values().filter(|c| !is_chat(c)) {
        let id = lz_id(c).to_string();
        let mut previous: Option<String> = None;
        let mut first = true;
        for g in &c.groups {
            for m in g.messages.iter().filter(|m| m.rtype != "S") {
                if g.rtype == "I" {
                    if let Some(on) = &previous {
                        let row = vec![on.clone(), m.userid.clone(), utc(m.created), m.body.clone()];
                        out.insert(format!("{id}/{}", md5_hex(&m.id)), row);
                    }
                    continue;
                }
                previous = Some(if first { id.clone() } else { md5_hex(&m.id) });
                first = false;
            }
        }
    }
    out
}

// ---- Liveforce's CRM tables (Perfex: leads, lead notes, deals and their services) ---------------
//
// Perfex lists a record's fields as its database columns (tblleads, tblnotes, …): `dateadded`
// and `lastcontact` in the account's zone (stored as UTC here), amounts as decimal text, ids as
// text; empty strings stay empty strings. Amounts are compared to the cent.

use desksync::simulator::liveforce::{DEAL_SOURCES, DEAL_STAGES, LEAD_STATUSES};

fn cents(v: f64) -> String {
    format!("{v:.2}")
}

/// The warehouse's rows of `sql` keyed by its first column.
pub fn db_keyed(env: &Env, sql: &str) -> Rows {
    env.rows(sql).into_iter().map(|mut r| (r.remove(0), r)).collect()
}

pub const DB_LEADS: &str =
    "SELECT lead_id, name, title, company, email, phone, status_id, status_name, source_id, assigned_to,
        printf('%.2f', lead_value), country, strftime(created_at::TIMESTAMP, '%Y-%m-%d %H:%M:%S'),
        strftime(last_contact_at::TIMESTAMP, '%Y-%m-%d %H:%M:%S'), strftime(deleted_at::TIMESTAMP, '%Y-%m-%d %H:%M:%S')
    FROM leads WHERE source = 'liveforce'";

pub fn liveforce_leads(d: &World) -> Rows {
    d.vendors
        .liveforce
        .leads
        .iter()
        .map(|l| {
            let row = vec![
                l.name.clone(),
                String::new(),
                l.company.clone(),
                l.email.clone(),
                String::new(),
                l.status.to_string(),
                LEAD_STATUSES.iter().find(|(id, _)| *id == l.status).map(|(_, n)| n.to_string()).unwrap(),
                l.source.to_string(),
                l.assigned.to_string(),
                cents(l.value),
                "SK".into(),
                utc(l.added),
                NULL.into(),
                NULL.into(),
            ];
            (l.id.to_string(), row)
        })
        .collect()
}

pub const DB_LEAD_NOTES: &str = "SELECT lead_id || '/' || note_id, staff_id, description,
        strftime(created_at::TIMESTAMP, '%Y-%m-%d %H:%M:%S')
    FROM lead_notes WHERE source = 'liveforce'";

pub fn liveforce_lead_notes(d: &World) -> Rows {
    let mut out = Rows::new();
    for l in &d.vendors.liveforce.leads {
        for (id, staff, text, at) in &l.notes {
            out.insert(format!("{}/{id}", l.id), vec![staff.to_string(), text.clone(), utc(*at)]);
        }
    }
    out
}

pub const DB_DEALS: &str = "SELECT deal_id, name, printf('%.2f', deal_value), stage_id, source_id, status, assigned_to, lead_id,
        strftime(created_at::TIMESTAMP, '%Y-%m-%d %H:%M:%S'), strftime(expected_close_at::TIMESTAMP, '%Y-%m-%d %H:%M:%S'),
        strftime(deleted_at::TIMESTAMP, '%Y-%m-%d %H:%M:%S')
    FROM deals WHERE source = 'liveforce'";

pub fn liveforce_deals(d: &World) -> Rows {
    d.vendors
        .liveforce
        .deals
        .iter()
        .map(|x| {
            let row = vec![
                x.name.clone(),
                cents(x.value),
                x.stage.to_string(),
                x.source.to_string(),
                x.status.clone(),
                "1".into(),
                x.lead_id.to_string(),
                utc(x.added),
                utc(x.added + chrono::Duration::days(30)),
                NULL.into(),
            ];
            (x.id.to_string(), row)
        })
        .collect()
}

pub const DB_DEAL_SERVICES: &str =
    "SELECT deal_id || '/' || service_id, name, printf('%.2f', quantity), printf('%.2f', rate)
    FROM deal_services WHERE source = 'liveforce'";

pub fn liveforce_deal_services(d: &World) -> Rows {
    let mut out = Rows::new();
    for x in &d.vendors.liveforce.deals {
        for (id, name, qty, rate) in &x.services {
            out.insert(format!("{}/{id}", x.id), vec![name.clone(), cents(*qty), cents(*rate)]);
        }
    }
    out
}

pub const DB_DEAL_DIMENSIONS: &str = "SELECT 'source/' || source_id, name, NULL, NULL, strftime(deleted_at::TIMESTAMP, '%Y-%m-%d %H:%M:%S')
        FROM deal_sources WHERE source = 'liveforce'
    UNION ALL
    SELECT 'stage/' || stage_id, name, sort_order::VARCHAR, printf('%.2f', probability), strftime(deleted_at::TIMESTAMP, '%Y-%m-%d %H:%M:%S')
        FROM deal_stages WHERE source = 'liveforce'";

/// Deal sources and stages (sort order and probability for stages), one map.
pub fn liveforce_deal_dimensions() -> Rows {
    let mut out = Rows::new();
    for (id, name) in DEAL_SOURCES {
        out.insert(format!("source/{id}"), vec![name.to_string(), NULL.into(), NULL.into(), NULL.into()]);
    }
    for (id, name, p) in DEAL_STAGES {
        out.insert(format!("stage/{id}"), vec![name.to_string(), id.to_string(), cents(*p), NULL.into()]);
    }
    out
}

pub const DB_TICKET_STATUSES: &str =
    "SELECT status_id, name, canonical, is_default::VARCHAR, color, sort_order::VARCHAR,
        strftime(deleted_at::TIMESTAMP, '%Y-%m-%d %H:%M:%S')
    FROM ticket_statuses WHERE source = 'liveforce'";

/// Perfex's ticket statuses (tblticketstatus): the five defaults (`isdefault` 1) and custom ones.
pub fn liveforce_ticket_statuses() -> Rows {
    TICKET_STATUSES
        .iter()
        .map(|(id, name, color)| {
            let row = vec![
                name.to_string(),
                lf_canonical(*id).into(),
                (*id <= 5).to_string(),
                color.to_string(),
                id.to_string(),
                NULL.into(),
            ];
            (id.to_string(), row)
        })
        .collect()
}

pub const DB_LF_AGENTS: &str = "SELECT agent_id, contact_id, email, first_name, last_name, avatar_url, known_from
    FROM agents WHERE source = 'liveforce'";

/// Perfex staff (tblstaff): `staffid`, names, email; no contact record, no avatar when
/// `profile_image` is null.
pub fn liveforce_agents(d: &World) -> Rows {
    d.agents
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let (first, last) = a.name.split_once(' ').unwrap_or((&a.name, ""));
            let row = vec![NULL.into(), a.email.clone(), first.into(), last.into(), NULL.into(), "staff".into()];
            ((i + 1).to_string(), row)
        })
        .collect()
}

pub const DB_LF_CALLS: &str = "SELECT call_id, direction, agent_id, customer_id, customer_phone,
        strftime(started_at::TIMESTAMP, '%Y-%m-%d %H:%M:%S'), duration_seconds::VARCHAR, status, ticket_id,
        strftime(deleted_at::TIMESTAMP, '%Y-%m-%d %H:%M:%S')
    FROM calls WHERE source = 'liveforce'";

/// Perfex call logs: one per call conversation, its staff member (`0`: none), the contact, when
/// it started (account zone) and how long it took in seconds.
pub fn liveforce_calls(d: &World) -> Rows {
    d.conversations
        .values()
        .filter(|c| c.channel == "C")
        .map(|c| {
            let id = lf_id(c);
            let duration: i64 = c.groups.iter().map(|g| (g.finished - g.created).num_seconds().max(60)).sum();
            let staff_of = c.assigned_to.as_deref().map_or_else(|| "0".to_string(), |a| staff(d, a));
            let row = vec![
                if id.is_multiple_of(2) { "inbound" } else { "outbound" }.into(),
                staff_of,
                (1000 + id).to_string(),
                format!("+421 900 {id:06}"),
                utc(c.created),
                duration.to_string(),
                if c.status == "R" { "completed" } else { "missed" }.into(),
                NULL.into(),
                NULL.into(),
            ];
            (id.to_string(), row)
        })
        .collect()
}
