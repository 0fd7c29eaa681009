//! Tables declared as data ([`TableDef`]): dimensions, snapshots and reports that need no logic
//! of their own beyond typing the vendor's values. The core tables with row structs (tickets,
//! messages, departments, tags, ticket fields) live in [`crate::model`].
//!
//! Conventions every declared table follows, so [`crate::model::normalize`] can fill it:
//! * it starts with `source, account`;
//! * upserted tables end with `content_hash, raw, synced_at` (and have `deleted_at` when a full
//!   refresh or reconciliation can find rows gone);
//! * snapshot tables carry `captured_at` in their key (every capture is a new row);
//! * report tables carry `window_start, window_end` (the day the vendor summarized) in their key
//!   and are replaced window by window.
//!
//! To add a table: declare it here, add it to [`ALL`], and write its `CREATE TABLE` in a
//! `schema/NNN_*.sql` file (the `model_matches_ddl` test compares the two).

use crate::model::Col::{self, *};
use crate::model::{Partition, TableDef};

const fn upsert(
    name: &'static str,
    columns: &'static [(&'static str, Col)],
    primary_key: &'static [&'static str],
) -> TableDef {
    TableDef { name, columns, primary_key, partition: Partition::None }
}

const fn snapshot(
    name: &'static str,
    columns: &'static [(&'static str, Col)],
    primary_key: &'static [&'static str],
) -> TableDef {
    TableDef { name, columns, primary_key, partition: Partition::Month("captured_at") }
}

const fn report(
    name: &'static str,
    columns: &'static [(&'static str, Col)],
    primary_key: &'static [&'static str],
) -> TableDef {
    TableDef { name, columns, primary_key, partition: Partition::Month("window_start") }
}

pub const CUSTOMERS: TableDef = upsert(
    "customers",
    &[
        ("source", Text),
        ("account", Text),
        ("customer_id", Text),
        ("user_id", Text),
        ("email", Text),
        ("first_name", Text),
        ("last_name", Text),
        ("system_name", Text),
        ("role", Text),
        ("gender", Text),
        ("created_at", Timestamp),
        ("deleted_at", Timestamp),
        ("content_hash", Text),
        ("raw", Text),
        ("synced_at", Timestamp),
    ],
    &["source", "account", "customer_id"],
);

pub const CUSTOMER_GROUPS: TableDef = upsert(
    "customer_groups",
    &[
        ("source", Text),
        ("account", Text),
        ("group_id", Text),
        ("name", Text),
        ("deleted_at", Timestamp),
        ("content_hash", Text),
        ("raw", Text),
        ("synced_at", Timestamp),
    ],
    &["source", "account", "group_id"],
);

pub const COMPANIES: TableDef = upsert(
    "companies",
    &[
        ("source", Text),
        ("account", Text),
        ("company_id", Text),
        ("name", Text),
        ("language", Text),
        ("ip", Text),
        ("emails", TextList),
        ("phones", TextList),
        ("group_ids", TextList),
        ("created_at", Timestamp),
        ("deleted_at", Timestamp),
        ("content_hash", Text),
        ("raw", Text),
        ("synced_at", Timestamp),
    ],
    &["source", "account", "company_id"],
);

/// Custom and unique fields of a company, replaced with every details read of the company.
pub const COMPANY_FIELDS: TableDef = upsert(
    "company_fields",
    &[
        ("source", Text),
        ("account", Text),
        ("company_id", Text),
        ("field_kind", Text),
        ("field_code", Text),
        ("value", Text),
        ("content_hash", Text),
        ("raw", Text),
        ("synced_at", Timestamp),
    ],
    &["source", "account", "company_id", "field_kind", "field_code", "value"],
);

pub const WIDGETS: TableDef = upsert(
    "widgets",
    &[
        ("source", Text),
        ("account", Text),
        ("widget_id", Text),
        ("name", Text),
        ("provide", Text),
        ("department_id", Text),
        ("kb_id", Text),
        ("rtype", Text),
        ("usecode", Text),
        ("status", Text),
        ("description", Text),
        ("impressions", BigInt),
        ("tickets", BigInt),
        ("language", Text),
        ("last_display_time", Timestamp),
        ("last_display_url", Text),
        ("deleted_at", Timestamp),
        ("content_hash", Text),
        ("raw", Text),
        ("synced_at", Timestamp),
    ],
    &["source", "account", "widget_id"],
);

pub const SUGGESTION_CATEGORIES: TableDef = upsert(
    "suggestion_categories",
    &[
        ("source", Text),
        ("account", Text),
        ("category_id", Text),
        ("title", Text),
        ("path", Text),
        ("deleted_at", Timestamp),
        ("content_hash", Text),
        ("raw", Text),
        ("synced_at", Timestamp),
    ],
    &["source", "account", "category_id"],
);

pub const KNOWLEDGEBASES: TableDef = upsert(
    "knowledgebases",
    &[
        ("source", Text),
        ("account", Text),
        ("kb_id", Text),
        ("name", Text),
        ("deleted_at", Timestamp),
        ("content_hash", Text),
        ("raw", Text),
        ("synced_at", Timestamp),
    ],
    &["source", "account", "kb_id"],
);

pub const KB_ENTRIES: TableDef = upsert(
    "kb_entries",
    &[
        ("source", Text),
        ("account", Text),
        ("entry_id", Text),
        ("kb_id", Text),
        ("parent_entry_id", Text),
        ("rtype", Text),
        ("rstatus", Text),
        ("access", Text),
        ("access_inherited", Text),
        ("urlcode", Text),
        ("treepath", Text),
        ("rorder", BigInt),
        ("title", Text),
        ("metadescription", Text),
        ("keywords", Text),
        ("content", Text),
        ("conversation_id", Text),
        ("department_id", Text),
        ("views", BigInt),
        ("votes", BigInt),
        ("description", Text),
        ("is_deleted", Bool),
        ("created_at", Timestamp),
        ("updated_at", Timestamp),
        ("deleted_at", Timestamp),
        ("content_hash", Text),
        ("raw", Text),
        ("synced_at", Timestamp),
    ],
    &["source", "account", "entry_id"],
);

/// One row per account: the vendor's version and clock as last seen.
pub const APPLICATION_STATUS: TableDef = upsert(
    "application_status",
    &[
        ("source", Text),
        ("account", Text),
        ("version", Text),
        ("framework_version", Text),
        ("installed_at", Timestamp),
        ("updated_at", Timestamp),
        ("server_time", Timestamp),
        ("content_hash", Text),
        ("raw", Text),
        ("synced_at", Timestamp),
    ],
    &["source", "account"],
);

/// Agents, merged from everything the API says about them (see the README's "Agents").
pub const AGENTS: TableDef = upsert(
    "agents",
    &[
        ("source", Text),
        ("account", Text),
        ("agent_id", Text),
        ("contact_id", Text),
        ("email", Text),
        ("first_name", Text),
        ("last_name", Text),
        ("avatar_url", Text),
        ("known_from", Text),
        ("content_hash", Text),
        ("raw", Text),
        ("synced_at", Timestamp),
    ],
    &["source", "account", "agent_id"],
);

/// Tags of a conversation as `GET /api/conversations/{id}/tags` lists them (opt-in), replaced
/// with every read of the conversation.
pub const CONVERSATION_TAGS: TableDef = upsert(
    "conversation_tags",
    &[
        ("source", Text),
        ("account", Text),
        ("ticket_id", Text),
        ("tag_id", Text),
        ("name", Text),
        ("content_hash", Text),
        ("raw", Text),
        ("synced_at", Timestamp),
    ],
    &["source", "account", "ticket_id", "tag_id"],
);

pub const AGENT_STATUS_SNAPSHOTS: TableDef = snapshot(
    "agent_status_snapshots",
    &[
        ("source", Text),
        ("account", Text),
        ("captured_at", Timestamp),
        ("agent_id", Text),
        ("contact_id", Text),
        ("username", Text),
        ("first_name", Text),
        ("last_name", Text),
        ("avatar_url", Text),
        ("preset_status", Text),
        ("online_status", Text),
        ("content_hash", Text),
        ("raw", Text),
        ("synced_at", Timestamp),
    ],
    &["source", "account", "captured_at", "agent_id"],
);

pub const DEPARTMENT_STATUS_SNAPSHOTS: TableDef = snapshot(
    "department_status_snapshots",
    &[
        ("source", Text),
        ("account", Text),
        ("captured_at", Timestamp),
        ("department_id", Text),
        ("name", Text),
        ("online_status", Text),
        ("chat_count", BigInt),
        ("new_count", BigInt),
        ("customer_reply_count", BigInt),
        ("total_count", BigInt),
        ("max_count", BigInt),
        ("content_hash", Text),
        ("raw", Text),
        ("synced_at", Timestamp),
    ],
    &["source", "account", "captured_at", "department_id"],
);

pub const CHATS_OVERVIEW_SNAPSHOTS: TableDef = snapshot(
    "chats_overview_snapshots",
    &[
        ("source", Text),
        ("account", Text),
        ("captured_at", Timestamp),
        ("visitors", BigInt),
        ("chats", BigInt),
        ("ringing", BigInt),
        ("queue", BigInt),
        ("agents", BigInt),
        ("content_hash", Text),
        ("raw", Text),
        ("synced_at", Timestamp),
    ],
    &["source", "account", "captured_at"],
);

pub const CALLS_OVERVIEW_SNAPSHOTS: TableDef = snapshot(
    "calls_overview_snapshots",
    &[
        ("source", Text),
        ("account", Text),
        ("captured_at", Timestamp),
        ("running", BigInt),
        ("ringing", BigInt),
        ("inqueue", BigInt),
        ("content_hash", Text),
        ("raw", Text),
        ("synced_at", Timestamp),
    ],
    &["source", "account", "captured_at"],
);

/// The 43 measures the channels, departments, tags and performance reports share.
macro_rules! measures {
    ($($head:expr,)*) => {
        &[
            $($head,)*
            ("answers", BigInt),
            ("new_answer_avg_time", BigInt),
            ("new_answer_avg_time_sla", BigInt),
            ("next_answer_avg_time", BigInt),
            ("next_answer_avg_time_sla", BigInt),
            ("chat_answers", BigInt),
            ("chats", BigInt),
            ("missed_chats", BigInt),
            ("chat_pickup", BigInt),
            ("chat_pickup_avg_time", BigInt),
            ("chat_avg_time", BigInt),
            ("calls", BigInt),
            ("missed_calls", BigInt),
            ("call_seconds", BigInt),
            ("not_ranked", BigInt),
            ("not_ranked_p", Double),
            ("rewards", BigInt),
            ("rewards_p", Double),
            ("punishments", BigInt),
            ("punishments_p", Double),
            ("i_messages", BigInt),
            ("i_chats", BigInt),
            ("i_calls", BigInt),
            ("f_chats", BigInt),
            ("f_calls", BigInt),
            ("created_tickets", BigInt),
            ("resolved_tickets", BigInt),
            ("u_chats", BigInt),
            ("u_calls", BigInt),
            ("notes", BigInt),
            ("first_assign_avg_time", BigInt),
            ("first_assign_avg_time_sla", BigInt),
            ("first_resolve_avg_time", BigInt),
            ("first_resolve_avg_time_sla", BigInt),
            ("calls_outgoing", BigInt),
            ("call_outgoing_seconds", BigInt),
            ("call_outgoing_avg_time", BigInt),
            ("call_pickup_avg_time", BigInt),
            ("call_avg_time", BigInt),
            ("calls_internal", BigInt),
            ("call_internal_avg_time", BigInt),
            ("call_internal_seconds", BigInt),
            ("o_calls", BigInt),
            ("content_hash", Text),
            ("raw", Text),
            ("synced_at", Timestamp),
        ]
    };
}

pub const REPORT_AGENTS: TableDef = report(
    "report_agents",
    &[
        ("source", Text),
        ("account", Text),
        ("window_start", Timestamp),
        ("window_end", Timestamp),
        ("agent_id", Text),
        ("contact_id", Text),
        ("first_name", Text),
        ("last_name", Text),
        ("worktime", BigInt),
        ("answers", BigInt),
        ("answers_ph", Double),
        ("new_answer_avg_time", BigInt),
        ("new_answer_avg_time_sla", BigInt),
        ("next_answer_avg_time", BigInt),
        ("next_answer_avg_time_sla", BigInt),
        ("calls", BigInt),
        ("calls_ph", Double),
        ("missed_calls", BigInt),
        ("missed_calls_ph", Double),
        ("call_seconds", BigInt),
        ("call_seconds_ph", Double),
        ("chats", BigInt),
        ("chats_ph", Double),
        ("chat_answers", BigInt),
        ("chat_answers_ph", Double),
        ("missed_chats", BigInt),
        ("missed_chats_ph", Double),
        ("chat_pickup", BigInt),
        ("chat_pickup_avg_time", BigInt),
        ("chat_avg_time", BigInt),
        ("not_ranked", BigInt),
        ("not_ranked_p", Double),
        ("not_ranked_ph", Double),
        ("rewards", BigInt),
        ("rewards_p", Double),
        ("rewards_ph", Double),
        ("punishments", BigInt),
        ("punishments_p", Double),
        ("punishments_ph", Double),
        ("created_tickets", BigInt),
        ("resolved_tickets", BigInt),
        ("u_chats", BigInt),
        ("u_calls", BigInt),
        ("notes", BigInt),
        ("first_assign_avg_time", BigInt),
        ("first_assign_avg_time_sla", BigInt),
        ("first_resolve_avg_time", BigInt),
        ("first_resolve_avg_time_sla", BigInt),
        ("calls_outgoing", BigInt),
        ("call_outgoing_seconds", BigInt),
        ("call_outgoing_avg_time", BigInt),
        ("call_pickup_avg_time", BigInt),
        ("call_avg_time", BigInt),
        ("calls_internal", BigInt),
        ("call_internal_avg_time", BigInt),
        ("call_internal_seconds", BigInt),
        ("o_calls", BigInt),
        ("content_hash", Text),
        ("raw", Text),
        ("synced_at", Timestamp),
    ],
    &["source", "account", "window_start", "agent_id"],
);

pub const REPORT_CHANNELS: TableDef = report(
    "report_channels",
    measures!(
        ("source", Text),
        ("account", Text),
        ("window_start", Timestamp),
        ("window_end", Timestamp),
        ("channel_id", Text),
        ("channel_name", Text),
    ),
    &["source", "account", "window_start", "channel_id"],
);

pub const REPORT_DEPARTMENTS: TableDef = report(
    "report_departments",
    measures!(
        ("source", Text),
        ("account", Text),
        ("window_start", Timestamp),
        ("window_end", Timestamp),
        ("department_id", Text),
        ("department_name", Text),
    ),
    &["source", "account", "window_start", "department_id"],
);

pub const REPORT_TAGS: TableDef = report(
    "report_tags",
    measures!(
        ("source", Text),
        ("account", Text),
        ("window_start", Timestamp),
        ("window_end", Timestamp),
        ("tag_id", Text),
        ("tag_name", Text),
    ),
    &["source", "account", "window_start", "tag_id"],
);

pub const REPORT_PERFORMANCE: TableDef = report(
    "report_performance",
    measures!(
        ("source", Text),
        ("account", Text),
        ("window_start", Timestamp),
        ("window_end", Timestamp),
        ("period_start", Timestamp),
        ("period_end", Timestamp),
    ),
    &["source", "account", "window_start", "period_start"],
);

pub const REPORT_RANKING: TableDef = report(
    "report_ranking",
    &[
        ("source", Text),
        ("account", Text),
        ("window_start", Timestamp),
        ("window_end", Timestamp),
        ("rating_id", Text),
        ("ranking_type", Text),
        ("created_at", Timestamp),
        ("conversation_id", Text),
        ("agent_contact_id", Text),
        ("agent_email", Text),
        ("agent", Text),
        ("contact_id", Text),
        ("requester_email", Text),
        ("requester", Text),
        ("comment", Text),
        ("content_hash", Text),
        ("raw", Text),
        ("synced_at", Timestamp),
    ],
    &["source", "account", "window_start", "rating_id"],
);

/// `scope`: tickets, chats or calls (the three endpoints share the table).
pub const REPORT_AGENTS_AVAILABILITY: TableDef = report(
    "report_agents_availability",
    &[
        ("source", Text),
        ("account", Text),
        ("scope", Text),
        ("window_start", Timestamp),
        ("window_end", Timestamp),
        ("availability_id", Text),
        ("agent_id", Text),
        ("first_name", Text),
        ("last_name", Text),
        ("contact_id", Text),
        ("department_id", Text),
        ("department_name", Text),
        ("hours_online", Text),
        ("seconds_online", BigInt),
        ("from_date", Timestamp),
        ("to_date", Timestamp),
        ("content_hash", Text),
        ("raw", Text),
        ("synced_at", Timestamp),
    ],
    &["source", "account", "scope", "window_start", "availability_id"],
);

pub const REPORT_AVAILABILITY: TableDef = report(
    "report_availability",
    &[
        ("source", Text),
        ("account", Text),
        ("scope", Text),
        ("window_start", Timestamp),
        ("window_end", Timestamp),
        ("period_start", Timestamp),
        ("mins", BigInt),
        ("pct", Double),
        ("content_hash", Text),
        ("raw", Text),
        ("synced_at", Timestamp),
    ],
    &["source", "account", "scope", "window_start", "period_start"],
);

pub const REPORT_LOAD: TableDef = report(
    "report_load",
    &[
        ("source", Text),
        ("account", Text),
        ("scope", Text),
        ("window_start", Timestamp),
        ("window_end", Timestamp),
        ("period_start", Timestamp),
        ("avg_queue", Double),
        ("max_queue", BigInt),
        ("min_queue", BigInt),
        ("avg_slots", Double),
        ("max_slots", BigInt),
        ("min_slots", BigInt),
        ("avg_service", Double),
        ("max_service", BigInt),
        ("min_service", BigInt),
        ("content_hash", Text),
        ("raw", Text),
        ("synced_at", Timestamp),
    ],
    &["source", "account", "scope", "window_start", "period_start"],
);

pub const REPORT_SLA_COMPLIANCE: TableDef = report(
    "report_sla_compliance",
    &[
        ("source", Text),
        ("account", Text),
        ("scope", Text),
        ("window_start", Timestamp),
        ("window_end", Timestamp),
        ("period_start", Timestamp),
        ("fulfilled", BigInt),
        ("avg_fulfilled_time", BigInt),
        ("max_fulfilled_time", BigInt),
        ("min_fulfilled_time", BigInt),
        ("unfulfilled", BigInt),
        ("avg_unfulfilled_time", BigInt),
        ("max_unfulfilled_time", BigInt),
        ("min_unfulfilled_time", BigInt),
        ("content_hash", Text),
        ("raw", Text),
        ("synced_at", Timestamp),
    ],
    &["source", "account", "scope", "window_start", "period_start"],
);

pub const REPORT_SLA_LOG: TableDef = report(
    "report_sla_log",
    &[
        ("source", Text),
        ("account", Text),
        ("scope", Text),
        ("window_start", Timestamp),
        ("window_end", Timestamp),
        ("sla_log_id", Text),
        ("conversation_id", Text),
        ("code", Text),
        ("department_id", Text),
        ("department_name", Text),
        ("level_id", Text),
        ("sla_level_name", Text),
        ("sla", Text),
        ("date_created", Timestamp),
        ("date_closed", Timestamp),
        ("server_date_closed", Timestamp),
        ("date_due", Timestamp),
        ("server_date_due", Timestamp),
        ("sla_level_id", Text),
        ("agent_id", Text),
        ("agent_first_name", Text),
        ("agent_last_name", Text),
        ("req_contact_id", Text),
        ("req_first_name", Text),
        ("req_last_name", Text),
        ("content_hash", Text),
        ("raw", Text),
        ("synced_at", Timestamp),
    ],
    &["source", "account", "scope", "window_start", "sla_log_id"],
);

/// Internal comments operators attach to ticket messages (LiveZilla), replaced with every read
/// of the ticket.
pub const TICKET_COMMENTS: TableDef = upsert(
    "ticket_comments",
    &[
        ("source", Text),
        ("account", Text),
        ("ticket_id", Text),
        ("comment_id", Text),
        ("message_id", Text),
        ("operator_id", Text),
        ("created_at", Timestamp),
        ("comment", Text),
        ("content_hash", Text),
        ("raw", Text),
        ("synced_at", Timestamp),
    ],
    &["source", "account", "ticket_id", "comment_id"],
);

/// Ticket statuses (Liveforce/Perfex: 1 Open, 2 In progress, 3 Answered, 4 On hold, 5 Closed,
/// plus custom ones).
pub const TICKET_STATUSES: TableDef = upsert(
    "ticket_statuses",
    &[
        ("source", Text),
        ("account", Text),
        ("status_id", Text),
        ("name", Text),
        ("canonical", Text),
        ("is_default", Bool),
        ("color", Text),
        ("sort_order", BigInt),
        ("deleted_at", Timestamp),
        ("content_hash", Text),
        ("raw", Text),
        ("synced_at", Timestamp),
    ],
    &["source", "account", "status_id"],
);

/// Phone calls, whatever system logged them (Liveforce call logs; LiveAgent call conversations).
pub const CALLS: TableDef = TableDef {
    name: "calls",
    columns: &[
        ("source", Text),
        ("account", Text),
        ("call_id", Text),
        ("direction", Text),
        ("agent_id", Text),
        ("customer_id", Text),
        ("customer_phone", Text),
        ("started_at", Timestamp),
        ("duration_seconds", BigInt),
        ("status", Text),
        ("ticket_id", Text),
        ("deleted_at", Timestamp),
        ("content_hash", Text),
        ("raw", Text),
        ("synced_at", Timestamp),
    ],
    primary_key: &["source", "account", "call_id"],
    partition: Partition::Month("started_at"),
};

pub const LEADS: TableDef = upsert(
    "leads",
    &[
        ("source", Text),
        ("account", Text),
        ("lead_id", Text),
        ("name", Text),
        ("title", Text),
        ("company", Text),
        ("email", Text),
        ("phone", Text),
        ("status_id", Text),
        ("status_name", Text),
        ("source_id", Text),
        ("assigned_to", Text),
        ("lead_value", Double),
        ("country", Text),
        ("created_at", Timestamp),
        ("last_contact_at", Timestamp),
        ("deleted_at", Timestamp),
        ("content_hash", Text),
        ("raw", Text),
        ("synced_at", Timestamp),
    ],
    &["source", "account", "lead_id"],
);

/// Notes on a lead, replaced with every read of the lead's notes.
pub const LEAD_NOTES: TableDef = upsert(
    "lead_notes",
    &[
        ("source", Text),
        ("account", Text),
        ("lead_id", Text),
        ("note_id", Text),
        ("staff_id", Text),
        ("description", Text),
        ("created_at", Timestamp),
        ("content_hash", Text),
        ("raw", Text),
        ("synced_at", Timestamp),
    ],
    &["source", "account", "lead_id", "note_id"],
);

/// Leads per status as the vendor counts them, captured every run.
pub const LEADS_STATUS_SNAPSHOTS: TableDef = snapshot(
    "leads_status_snapshots",
    &[
        ("source", Text),
        ("account", Text),
        ("captured_at", Timestamp),
        ("status_id", Text),
        ("status_name", Text),
        ("leads", BigInt),
        ("content_hash", Text),
        ("raw", Text),
        ("synced_at", Timestamp),
    ],
    &["source", "account", "captured_at", "status_id"],
);

/// The vendor's leads summary, one row per figure, captured every run.
pub const LEADS_SUMMARY_SNAPSHOTS: TableDef = snapshot(
    "leads_summary_snapshots",
    &[
        ("source", Text),
        ("account", Text),
        ("captured_at", Timestamp),
        ("metric", Text),
        ("value", Double),
        ("value_text", Text),
        ("content_hash", Text),
        ("raw", Text),
        ("synced_at", Timestamp),
    ],
    &["source", "account", "captured_at", "metric"],
);

pub const DEALS: TableDef = upsert(
    "deals",
    &[
        ("source", Text),
        ("account", Text),
        ("deal_id", Text),
        ("name", Text),
        ("deal_value", Double),
        ("stage_id", Text),
        ("source_id", Text),
        ("status", Text),
        ("assigned_to", Text),
        ("lead_id", Text),
        ("created_at", Timestamp),
        ("expected_close_at", Timestamp),
        ("deleted_at", Timestamp),
        ("content_hash", Text),
        ("raw", Text),
        ("synced_at", Timestamp),
    ],
    &["source", "account", "deal_id"],
);

pub const DEAL_SOURCES: TableDef = upsert(
    "deal_sources",
    &[
        ("source", Text),
        ("account", Text),
        ("source_id", Text),
        ("name", Text),
        ("deleted_at", Timestamp),
        ("content_hash", Text),
        ("raw", Text),
        ("synced_at", Timestamp),
    ],
    &["source", "account", "source_id"],
);

pub const DEAL_STAGES: TableDef = upsert(
    "deal_stages",
    &[
        ("source", Text),
        ("account", Text),
        ("stage_id", Text),
        ("name", Text),
        ("sort_order", BigInt),
        ("probability", Double),
        ("deleted_at", Timestamp),
        ("content_hash", Text),
        ("raw", Text),
        ("synced_at", Timestamp),
    ],
    &["source", "account", "stage_id"],
);

/// Services (line items) of a deal, replaced with every read of the deal's services.
pub const DEAL_SERVICES: TableDef = upsert(
    "deal_services",
    &[
        ("source", Text),
        ("account", Text),
        ("deal_id", Text),
        ("service_id", Text),
        ("name", Text),
        ("quantity", Double),
        ("rate", Double),
        ("content_hash", Text),
        ("raw", Text),
        ("synced_at", Timestamp),
    ],
    &["source", "account", "deal_id", "service_id"],
);

/// Every declared table, in the order `desksync` lists them.
pub const ALL: &[&TableDef] = &[
    &CUSTOMERS,
    &CUSTOMER_GROUPS,
    &COMPANIES,
    &COMPANY_FIELDS,
    &WIDGETS,
    &SUGGESTION_CATEGORIES,
    &KNOWLEDGEBASES,
    &KB_ENTRIES,
    &APPLICATION_STATUS,
    &AGENTS,
    &CONVERSATION_TAGS,
    &AGENT_STATUS_SNAPSHOTS,
    &DEPARTMENT_STATUS_SNAPSHOTS,
    &CHATS_OVERVIEW_SNAPSHOTS,
    &CALLS_OVERVIEW_SNAPSHOTS,
    &REPORT_AGENTS,
    &REPORT_CHANNELS,
    &REPORT_DEPARTMENTS,
    &REPORT_TAGS,
    &REPORT_PERFORMANCE,
    &REPORT_RANKING,
    &REPORT_AGENTS_AVAILABILITY,
    &REPORT_AVAILABILITY,
    &REPORT_LOAD,
    &REPORT_SLA_COMPLIANCE,
    &REPORT_SLA_LOG,
    &TICKET_COMMENTS,
    &TICKET_STATUSES,
    &CALLS,
    &LEADS,
    &LEAD_NOTES,
    &LEADS_STATUS_SNAPSHOTS,
    &LEADS_SUMMARY_SNAPSHOTS,
    &DEALS,
    &DEAL_SOURCES,
    &DEAL_STAGES,
    &DEAL_SERVICES,
];

/// The `CREATE TABLE` statement the model implies for `def` (used to write and check
/// `schema/002_liveagent.sql`).
pub fn create_sql(def: &TableDef) -> String {
    let mut s = format!("CREATE TABLE IF NOT EXISTS {} (\n", def.name);
    for (name, col) in def.columns {
        let not_null = if def.primary_key.contains(name) || *name == "synced_at" { " NOT NULL" } else { "" };
        let ty = match col {
            Col::Timestamp => "TIMESTAMPTZ",
            other => other.duckdb(),
        };
        s.push_str(&format!("    {name:<28} {ty}{not_null},\n"));
    }
    s.push_str(&format!("    PRIMARY KEY ({})\n);\n", def.primary_key.join(", ")));
    s
}

#[cfg(test)]
mod tests {
    /// Prints the DDL of every declared table: `cargo test --lib print_declared_ddl -- --ignored
    /// --nocapture` when adding one, to start its `schema/NNN_*.sql`.
    #[test]
    #[ignore]
    fn print_declared_ddl() {
        for def in super::ALL {
            println!("{}", super::create_sql(def));
        }
    }
}
