//! Every column is the field the API served: for every table that keeps the vendor's record in
//! `raw` (dimensions, snapshots, reports, CRM records; tickets and messages are normalized and
//! compared with the simulator's truth in `truth.rs`), each row's columns are checked against its
//! own record, key by key, with the vendor's documented field names written out here rather than
//! taken from the connectors: a served field no column holds (a silent drop), a column filled
//! from the wrong field or typed wrongly (times in the account's zone, `Y`/`N`, `''` vs NULL,
//! `HH:MM:SS` durations), and a column no served field ever fills are all failures.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{NaiveDate, NaiveDateTime, TimeZone};
use serde_json::Value;

use crate::common::Env;

/// Columns that are bookkeeping, not vendor fields.
const BOOKKEEPING: &[&str] = &[
    "source",
    "account",
    "content_hash",
    "raw",
    "synced_at",
    "deleted_at",
    "captured_at",
    "window_start",
    "window_end",
    "scope",
];

/// `(source, table or "*", key, columns)`: a served key and the columns that hold it, where the
/// column is not simply the key in snake_case. No columns: the field is kept in `raw` only.
/// Nested objects are flattened to `outer.inner`.
const KEYS: &[(&str, &str, &str, &[&str])] = &[
    // LiveAgent API v1 field names.
    ("liveagent", "*", "firstname", &["first_name"]),
    ("liveagent", "*", "lastname", &["last_name"]),
    ("liveagent", "*", "contactid", &["contact_id"]),
    ("liveagent", "*", "departmentid", &["department_id"]),
    ("liveagent", "*", "conversationid", &["conversation_id"]),
    ("liveagent", "*", "datecreated", &["created_at"]),
    ("liveagent", "*", "userid", &["user_id"]),
    ("liveagent", "customers", "contactid", &["customer_id"]),
    ("liveagent", "customers", "systemname", &["system_name"]),
    ("liveagent", "customer_groups", "id", &["group_id"]),
    ("liveagent", "companies", "id", &["company_id"]),
    ("liveagent", "companies", "groups", &["group_ids"]),
    // Details' custom and unique fields are rows of company_fields (compared in catalog.rs).
    ("liveagent", "companies", "custom_fields", &[]),
    ("liveagent", "companies", "unique_fields", &[]),
    ("liveagent", "company_fields", "code", &["field_code"]),
    ("liveagent", "widgets", "contactwidgetid", &["widget_id"]),
    // The widget's HTML embed code: a blob of markup, not an analytic field.
    ("liveagent", "widgets", "onlinecode", &[]),
    ("liveagent", "suggestion_categories", "id", &["category_id"]),
    ("liveagent", "kb_entries", "kb_entry_id", &["entry_id"]),
    ("liveagent", "kb_entries", "deleted", &["is_deleted"]),
    ("liveagent", "kb_entries", "datechanged", &["updated_at"]),
    ("liveagent", "application_status", "liveagentversion", &["version"]),
    ("liveagent", "application_status", "gpfversion", &["framework_version"]),
    ("liveagent", "application_status", "dateinstalled", &["installed_at"]),
    ("liveagent", "application_status", "datelatestupdate", &["updated_at"]),
    ("liveagent", "application_status", "current_server_time", &["server_time"]),
    ("liveagent", "agents", "id", &["agent_id"]),
    ("liveagent", "agents", "username", &["email"]),
    ("liveagent", "agent_status_snapshots", "id", &["agent_id"]),
    ("liveagent", "department_status_snapshots", "id", &["department_id"]),
    ("liveagent", "departments", "deleted", &["is_deleted"]),
    ("liveagent", "departments", "onlinestatus", &["online_status"]),
    ("liveagent", "tags", "id", &["tag_id"]),
    ("liveagent", "conversation_tags", "id", &["tag_id"]),
    ("liveagent", "report_agents", "id", &["agent_id"]),
    ("liveagent", "report_channels", "id", &["channel_id"]),
    ("liveagent", "report_departments", "id", &["department_id"]),
    ("liveagent", "report_tags", "id", &["tag_id"]),
    ("liveagent", "report_performance", "datetime", &["period_start"]),
    ("liveagent", "report_performance", "dateto", &["period_end"]),
    ("liveagent", "report_availability", "date", &["period_start"]),
    ("liveagent", "report_load", "date", &["period_start"]),
    ("liveagent", "report_sla_compliance", "date", &["period_start"]),
    ("liveagent", "report_agents_availability", "id", &["availability_id"]),
    ("liveagent", "report_agents_availability", "userid", &["agent_id"]),
    ("liveagent", "report_agents_availability", "hours_online", &["hours_online", "seconds_online"]),
    ("liveagent", "report_ranking", "id", &["rating_id"]),
    ("liveagent", "report_ranking", "agentcontactid", &["agent_contact_id"]),
    ("liveagent", "report_sla_log", "id", &["sla_log_id"]),
    ("liveagent", "report_sla_log", "levelid", &["level_id"]),
    ("liveagent", "report_sla_log", "agentid", &["agent_id"]),
    ("liveagent", "report_sla_log", "agent_firstname", &["agent_first_name"]),
    ("liveagent", "report_sla_log", "agent_lastname", &["agent_last_name"]),
    ("liveagent", "report_sla_log", "req_contactid", &["req_contact_id"]),
    ("liveagent", "report_sla_log", "req_firstname", &["req_first_name"]),
    ("liveagent", "report_sla_log", "req_lastname", &["req_last_name"]),
    // LiveZilla API v2 (operators, groups, ticket comments).
    ("livezilla", "agents", "UserId", &["agent_id"]),
    ("livezilla", "agents", "Firstname", &["first_name"]),
    ("livezilla", "agents", "Lastname", &["last_name"]),
    ("livezilla", "agents", "PictureFile", &["avatar_url"]),
    ("livezilla", "agents", "ChatFile", &[]),
    ("livezilla", "agents", "Description", &[]),
    ("livezilla", "agents", "Groups", &[]),
    ("livezilla", "agents", "IsBot", &[]),
    ("livezilla", "agents", "Language", &[]),
    ("livezilla", "agents", "Level", &[]),
    ("livezilla", "agents", "Location", &[]),
    ("livezilla", "agents", "Roles", &[]),
    ("livezilla", "agents", "Skills", &[]),
    ("livezilla", "agents", "Webspace", &[]),
    ("livezilla", "departments", "Group", &["department_id", "name"]),
    ("livezilla", "ticket_comments", "id", &["comment_id"]),
    ("livezilla", "ticket_comments", "comment.comment", &["comment"]),
    ("livezilla", "ticket_comments", "comment.operator_id", &["operator_id"]),
    ("livezilla", "ticket_comments", "comment.time", &["created_at"]),
    // Liveforce (Perfex) column names.
    ("liveforce", "*", "firstname", &["first_name"]),
    ("liveforce", "*", "lastname", &["last_name"]),
    ("liveforce", "agents", "staffid", &["agent_id"]),
    ("liveforce", "agents", "profile_image", &["avatar_url"]),
    ("liveforce", "agents", "active", &[]),
    ("liveforce", "agents", "admin", &[]),
    ("liveforce", "agents", "datecreated", &[]),
    ("liveforce", "agents", "phonenumber", &[]),
    ("liveforce", "calls", "id", &["call_id"]),
    ("liveforce", "calls", "call_type", &["direction"]),
    ("liveforce", "calls", "staffid", &["agent_id"]),
    ("liveforce", "calls", "contact_id", &["customer_id"]),
    ("liveforce", "calls", "call_start", &["started_at"]),
    ("liveforce", "calls", "call_duration", &["duration_seconds"]),
    ("liveforce", "calls", "call_status", &["status"]),
    ("liveforce", "deal_services", "id", &["service_id"]),
    ("liveforce", "deal_sources", "id", &["source_id"]),
    ("liveforce", "deal_stages", "id", &["stage_id"]),
    ("liveforce", "deal_stages", "order", &["sort_order"]),
    ("liveforce", "deals", "id", &["deal_id"]),
    ("liveforce", "deals", "pipeline_stage_id", &["stage_id"]),
    ("liveforce", "deals", "source", &["source_id"]),
    ("liveforce", "deals", "assigned", &["assigned_to"]),
    ("liveforce", "deals", "dateadded", &["created_at"]),
    ("liveforce", "deals", "expected_close_date", &["expected_close_at"]),
    ("liveforce", "lead_notes", "id", &["note_id"]),
    ("liveforce", "lead_notes", "rel_id", &["lead_id"]),
    ("liveforce", "lead_notes", "addedfrom", &["staff_id"]),
    ("liveforce", "lead_notes", "dateadded", &["created_at"]),
    ("liveforce", "leads", "id", &["lead_id"]),
    ("liveforce", "leads", "phonenumber", &["phone"]),
    ("liveforce", "leads", "status", &["status_id"]),
    ("liveforce", "leads", "source", &["source_id"]),
    ("liveforce", "leads", "assigned", &["assigned_to"]),
    ("liveforce", "leads", "dateadded", &["created_at"]),
    ("liveforce", "leads", "lastcontact", &["last_contact_at"]),
    ("liveforce", "leads_status_snapshots", "status", &["status_id"]),
    ("liveforce", "leads_status_snapshots", "name", &["status_name"]),
    ("liveforce", "leads_status_snapshots", "total", &["leads"]),
    ("liveforce", "leads_summary_snapshots", "value", &["value", "value_text"]),
    ("liveforce", "ticket_statuses", "ticketstatusid", &["status_id"]),
    ("liveforce", "ticket_statuses", "isdefault", &["is_default"]),
    ("liveforce", "ticket_statuses", "statuscolor", &["color"]),
    ("liveforce", "ticket_statuses", "statusorder", &["sort_order"]),
];

/// `(source, table, column)`: columns desksync derives rather than reads from one field (each is
/// checked where it is derived: canonical statuses, the parent's id, where an agent is known from).
const DERIVED: &[(&str, &str, &str)] = &[
    ("*", "agents", "known_from"),
    ("livezilla", "agents", "contact_id"),
    ("liveforce", "agents", "contact_id"),
    ("liveagent", "company_fields", "company_id"),
    ("liveagent", "conversation_tags", "ticket_id"),
    ("liveagent", "company_fields", "field_kind"),
    ("livezilla", "departments", "online_status"),
    ("livezilla", "departments", "is_deleted"),
    ("livezilla", "ticket_comments", "ticket_id"),
    ("liveforce", "calls", "ticket_id"),
    ("liveforce", "leads", "status_name"),
    ("liveforce", "ticket_statuses", "canonical"),
];

fn snake(key: &str) -> String {
    let mut out = String::new();
    let mut prev_lower = false;
    for ch in key.chars() {
        if ch.is_ascii_uppercase() && prev_lower {
            out.push('_');
        }
        prev_lower = ch.is_ascii_lowercase() || ch.is_ascii_digit();
        out.push(ch.to_ascii_lowercase());
    }
    out
}

fn columns_of(source: &str, table: &str, key: &str) -> Vec<String> {
    let exact = KEYS.iter().find(|(s, t, k, _)| *s == source && *t == table && *k == key);
    let any = || KEYS.iter().find(|(s, t, k, _)| *s == source && *t == "*" && *k == key);
    match exact.or_else(any) {
        Some((_, _, _, cols)) => cols.iter().map(|c| c.to_string()).collect(),
        None => vec![snake(key)],
    }
}

/// A record's fields, nested objects flattened to `outer.inner`.
fn flatten(prefix: &str, v: &Value, out: &mut BTreeMap<String, Value>) {
    if let Value::Object(m) = v {
        for (k, v) in m {
            let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
            if v.is_object() {
                flatten(&key, v, out);
            } else {
                out.insert(key, v.clone());
            }
        }
    }
}

const NULL: &str = "∅";

/// What the warehouse must hold for `v` in a column of `ty`, as [`render`] renders it; `Err`
/// lists the values that are all right, e.g. for a local time in the repeated autumn hour.
fn expected(v: &Value, ty: &str, tz: chrono_tz::Tz) -> Result<String, Vec<String>> {
    let text = match v {
        Value::Null => return Ok(NULL.into()),
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Array(items) => {
            // A list of objects (company groups): their ids.
            let parts: Vec<String> = items
                .iter()
                .map(|i| match i {
                    Value::String(s) => s.clone(),
                    Value::Object(o) => o.get("groupid").and_then(Value::as_str).unwrap_or_default().to_string(),
                    other => other.to_string(),
                })
                .collect();
            return Ok(parts.join("|"));
        }
        Value::Object(_) => unreachable!("flattened"),
    };
    let blank = text.is_empty();
    Ok(match ty {
        "VARCHAR" => text,
        "VARCHAR[]" => text.split(',').map(str::trim).filter(|s| !s.is_empty()).collect::<Vec<_>>().join("|"),
        _ if blank => NULL.into(),
        "BIGINT" | "INTEGER" => {
            if let Some((h, rest)) = text.split_once(':') {
                let (m, s) = rest.split_once(':').unwrap_or((rest, "0"));
                let n = |x: &str| x.parse::<i64>().unwrap_or(i64::MIN);
                (n(h) * 3600 + n(m) * 60 + n(s)).to_string()
            } else {
                text.parse::<i64>()
                    .map(|i| i.to_string())
                    .or_else(|_| text.parse::<f64>().map(|f| (f as i64).to_string()))
                    .unwrap_or(text)
            }
        }
        "DOUBLE" => text.parse::<f64>().map(|f| format!("{f:.6}")).unwrap_or(text),
        "BOOLEAN" => match text.as_str() {
            "Y" | "1" | "true" => "true".into(),
            "N" | "0" | "false" => "false".into(),
            _ => text,
        },
        "DATE" => text.get(..10).unwrap_or(&text).to_string(),
        "TIMESTAMP WITH TIME ZONE" => {
            if text.bytes().all(|b| b.is_ascii_digit()) {
                return Ok(text);
            }
            if text.starts_with("0000-00-00") {
                return Ok(NULL.into());
            }
            let naive = NaiveDateTime::parse_from_str(&text, "%Y-%m-%d %H:%M:%S")
                .ok()
                .or_else(|| NaiveDate::parse_from_str(&text, "%Y-%m-%d").ok().and_then(|d| d.and_hms_opt(0, 0, 0)));
            let Some(naive) = naive else { return Ok(format!("unparsable time {text:?}")) };
            let candidates: Vec<String> = tz
                .from_local_datetime(&naive)
                .earliest()
                .into_iter()
                .chain(tz.from_local_datetime(&naive).latest())
                .map(|t| t.timestamp().to_string())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            return if candidates.len() == 1 { Ok(candidates[0].clone()) } else { Err(candidates) };
        }
        _ => text,
    })
}

/// The SQL rendering of a column of `ty` that [`expected`] predicts.
fn render(col: &str, ty: &str) -> String {
    match ty {
        "TIMESTAMP WITH TIME ZONE" => format!("CAST(epoch(\"{col}\"::TIMESTAMP) AS BIGINT)::VARCHAR"),
        "VARCHAR[]" => format!("array_to_string(\"{col}\", '|')"),
        "DOUBLE" => format!("printf('%.6f', \"{col}\")"),
        _ => format!("\"{col}\"::VARCHAR"),
    }
}

/// Every problem found in `source`'s tables, and the tables checked (those holding rows with
/// records); `tz` is the zone the vendor writes local times in.
pub fn check(env: &Env, source: &str, tz: chrono_tz::Tz) -> (Vec<String>, Vec<String>) {
    let mut out = Vec::new();
    let tables = env.rows(
        "SELECT table_name FROM information_schema.columns WHERE column_name = 'raw' AND table_name IN
            (SELECT table_name FROM information_schema.columns WHERE column_name = 'source')
            AND table_name NOT IN ('tickets', 'messages') ORDER BY 1",
    );
    let mut checked = Vec::new();
    for table in tables.into_iter().map(|r| r[0].clone()) {
        let cols: Vec<(String, String)> = env
            .rows(&format!(
                "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = '{table}'
                 ORDER BY ordinal_position"
            ))
            .into_iter()
            .map(|r| (r[0].clone(), r[1].clone()))
            .filter(|(c, _)| !BOOKKEEPING.contains(&c.as_str()))
            .collect();
        let select = cols.iter().map(|(c, t)| render(c, t)).collect::<Vec<_>>().join(", ");
        let rows =
            env.rows(&format!("SELECT raw, {select} FROM {table} WHERE source = '{source}' AND raw IS NOT NULL"));
        if rows.is_empty() {
            continue;
        }
        checked.push(table.clone());
        let mut fed = BTreeSet::new();
        for row in &rows {
            let record: Value = match serde_json::from_str(&row[0]) {
                Ok(v) => v,
                Err(e) => {
                    out.push(format!("{table}: raw is not JSON ({e}): {}", row[0]));
                    continue;
                }
            };
            let mut fields = BTreeMap::new();
            flatten("", &record, &mut fields);
            for (key, value) in &fields {
                for col in columns_of(source, &table, key) {
                    if BOOKKEEPING.contains(&col.as_str()) {
                        out.push(format!("{table}: served field {key:?} has no column of its own"));
                        continue;
                    }
                    let Some(i) = cols.iter().position(|(c, _)| *c == col) else {
                        out.push(format!("{table}: served field {key:?} is in no column (expected {col})"));
                        continue;
                    };
                    fed.insert(col.clone());
                    let got = &row[i + 1];
                    let ok = match expected(value, &cols[i].1, tz) {
                        Ok(want) => *got == want,
                        Err(any) => any.contains(got),
                    };
                    if !ok {
                        out.push(format!(
                            "{table}.{col} = {got:?}, but the record's {key:?} is {value} (as {}: {:?})",
                            cols[i].1,
                            expected(value, &cols[i].1, tz)
                        ));
                    }
                }
            }
        }
        for (col, _) in &cols {
            let derived =
                DERIVED.iter().any(|(s, t, c)| (*s == source || *s == "*") && *t == table && *c == col.as_str());
            if !fed.contains(col) && !derived {
                out.push(format!("{table}.{col}: no served field fills it in {} rows", rows.len()));
            }
        }
    }
    if checked.is_empty() {
        out.push(format!("no {source} table with records was checked"));
    }
    out.sort();
    out.dedup();
    (out, checked)
}
