//! Liveforce's declared tables: ticket statuses, leads and their notes and snapshots, deals.

use super::{snapshot, upsert};
use crate::model::Col::*;
use crate::model::TableDef;

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
