//! LiveZilla's declared tables.

use super::upsert;
use crate::model::Col::*;
use crate::model::TableDef;

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
