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
//! Each vendor's tables are in the vendor's own file (`liveagent.rs`, `livezilla.rs`,
//! `liveforce.rs`); tables several vendors fill (`agents`, `calls`) are here. To add a table:
//! declare it in its file, add it to [`ALL`], and write its `CREATE TABLE` in a
//! `schema/NNN_*.sql` file (the `model_matches_ddl` test compares the two).

mod liveagent;
mod liveforce;
mod livezilla;

pub use liveagent::*;
pub use liveforce::*;
pub use livezilla::*;

use crate::model::Col::{self, *};
use crate::model::{Partition, TableDef};

pub(crate) const fn upsert(
    name: &'static str,
    columns: &'static [(&'static str, Col)],
    primary_key: &'static [&'static str],
) -> TableDef {
    TableDef { name, columns, primary_key, partition: Partition::None }
}

pub(crate) const fn snapshot(
    name: &'static str,
    columns: &'static [(&'static str, Col)],
    primary_key: &'static [&'static str],
) -> TableDef {
    TableDef { name, columns, primary_key, partition: Partition::Month("captured_at") }
}

pub(crate) const fn report(
    name: &'static str,
    columns: &'static [(&'static str, Col)],
    primary_key: &'static [&'static str],
) -> TableDef {
    TableDef { name, columns, primary_key, partition: Partition::Month("window_start") }
}

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
