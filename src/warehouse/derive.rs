//! Rows derived inside the warehouse from rows already loaded, in the load's own transaction:
//! a connector names the derivation ([`Derive`]), this module owns its SQL. Each statement
//! returns the partitions it touched, so the lake learns what changed.

use super::commit::partition_sql;
use crate::model::Table;
use crate::model::tables::CALLS;

/// A derivation a [`super::LoadUnit`] asks for, over the unit's source and account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Derive {
    /// Tickets of channel `call` also become rows of the shared `calls` table (who, when, their
    /// state; what a ticket list knows of a call).
    CallsFromCallTickets,
    /// Agents known only as message authors get an id-only row in `agents` (never overwriting a
    /// richer one).
    AgentsFromMessageAuthors,
    /// Chat lines whose author is only a user id: an author who is a known agent is an agent,
    /// anyone else in a chat is the customer.
    ChatAuthorsFromAgents,
}

impl Derive {
    /// The table the derivation writes.
    pub fn table(self) -> Table {
        match self {
            Derive::CallsFromCallTickets => Table::Def(&CALLS),
            Derive::AgentsFromMessageAuthors => Table::Def(&crate::model::tables::AGENTS),
            Derive::ChatAuthorsFromAgents => Table::Messages,
        }
    }

    /// Its statement, with two parameters: source and account.
    pub(super) fn sql(self) -> String {
        match self {
            Derive::CallsFromCallTickets => format!(
                "INSERT INTO calls (source, account, call_id, direction, agent_id, customer_id, customer_phone,
                                    started_at, duration_seconds, status, ticket_id, deleted_at, content_hash, raw,
                                    synced_at)
                 SELECT source, account, ticket_id, NULL, assignee_id, requester_email, NULL, created_at, NULL,
                        status, ticket_id, deleted_at, content_hash, NULL, now()
                 FROM tickets WHERE source = ? AND account = ? AND channel = 'call' AND content_hash IS NOT NULL
                 ON CONFLICT (source, account, call_id) DO UPDATE SET agent_id = excluded.agent_id,
                   customer_id = excluded.customer_id, started_at = excluded.started_at, status = excluded.status,
                   deleted_at = excluded.deleted_at, content_hash = excluded.content_hash, synced_at = excluded.synced_at
                 WHERE calls.content_hash IS DISTINCT FROM excluded.content_hash
                    OR calls.deleted_at IS DISTINCT FROM excluded.deleted_at
                 RETURNING source, account, {}",
                partition_sql(self.table(), "calls")
            ),
            Derive::AgentsFromMessageAuthors => "INSERT INTO agents (source, account, agent_id, known_from, content_hash, raw, synced_at)
                  SELECT DISTINCT m.source, m.account, m.author_id, 'messages', NULL, NULL, now()
                  FROM messages m
                  WHERE m.source = ? AND m.account = ? AND m.author_type = 'agent' AND m.author_id IS NOT NULL
                  ON CONFLICT DO NOTHING
                  RETURNING source, account, ''"
                .into(),
            Derive::ChatAuthorsFromAgents => format!(
                "UPDATE messages AS m SET author_type = CASE WHEN EXISTS (
                     SELECT 1 FROM agents a WHERE a.source = m.source AND a.account = m.account AND a.agent_id = m.author_id)
                   THEN 'agent' ELSE 'customer' END, synced_at = now()
                 WHERE m.source = ? AND m.account = ? AND m.author_type = 'unknown' AND m.group_type_raw = 'C'
                   AND m.author_id IS NOT NULL
                 RETURNING m.source, m.account, {}",
                partition_sql(Table::Messages, "m")
            ),
        }
    }
}
