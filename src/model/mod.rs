//! The shared columnar model: every table desksync writes, its Arrow schema, primary key and lake
//! partitioning, and the serde row structs that connectors fill.
//!
//! The DDL in `schema/*.sql` is the source of truth for analysts; [`Table::schema`] must list the
//! same columns in the same order with matching types (the `model_matches_ddl` test checks it).
//!
//! To add a table: write its `CREATE TABLE` in a new `schema/NNN_*.sql` (and register that file
//! in `warehouse::MIGRATIONS`), add a variant to [`Table`] with its columns, key and partitioning,
//! and a row struct deriving `Serialize` whose field order matches. Rows become Arrow batches
//! through [`to_batch`], which uses arrow-json's serde decoder, so a row struct is all a
//! connector needs to write.

pub mod fields;
pub mod normalize;
pub mod secrets;
pub mod tables;

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use arrow::record_batch::RecordBatch;
use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// Column types used by the model (a small subset of DuckDB's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Col {
    Text,
    TextList,
    Int,
    BigInt,
    Double,
    Bool,
    Timestamp,
    /// A calendar day (reports' days, in the account's zone).
    Date,
}

impl Col {
    fn arrow(self) -> DataType {
        match self {
            Col::Text => DataType::Utf8,
            Col::TextList => DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
            Col::Int => DataType::Int32,
            Col::BigInt => DataType::Int64,
            Col::Double => DataType::Float64,
            Col::Bool => DataType::Boolean,
            Col::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            Col::Date => DataType::Date32,
        }
    }

    /// The DuckDB type name as `DESCRIBE` prints it.
    pub fn duckdb(self) -> &'static str {
        match self {
            Col::Text => "VARCHAR",
            Col::TextList => "VARCHAR[]",
            Col::Int => "INTEGER",
            Col::BigInt => "BIGINT",
            Col::Double => "DOUBLE",
            Col::Bool => "BOOLEAN",
            Col::Timestamp => "TIMESTAMP WITH TIME ZONE",
            Col::Date => "DATE",
        }
    }
}

/// How a table is laid out under `lake/<table>/source=…/account=…/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Partition {
    /// One file per source and account (small dimensions).
    None,
    /// One directory per month of a timestamp column: `created_month=2025-01`.
    Month(&'static str),
}

/// A table declared as data: its columns, key and partitioning. The many small tables
/// (dimensions, snapshots, reports) are declared this way in [`crate::model::tables`] and filled from
/// vendor records by [`crate::model::normalize`], without a row struct each.
#[derive(Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TableDef {
    pub name: &'static str,
    pub columns: &'static [(&'static str, Col)],
    pub primary_key: &'static [&'static str],
    pub partition: Partition,
}

/// Every table the connectors write, registered in one place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Table {
    Tickets,
    Messages,
    Departments,
    Tags,
    TicketFields,
    /// A table declared in [`crate::model::tables`].
    Def(&'static TableDef),
}

impl Table {
    /// Every table: the core ones with row structs, then the declared ones.
    pub fn all() -> Vec<Table> {
        let mut v = vec![Table::Tickets, Table::Messages, Table::Departments, Table::Tags, Table::TicketFields];
        v.extend(crate::model::tables::ALL.iter().map(|d| Table::Def(d)));
        v
    }

    pub fn name(self) -> &'static str {
        match self {
            Table::Def(d) => d.name,
            Table::Tickets => "tickets",
            Table::Messages => "messages",
            Table::Departments => "departments",
            Table::Tags => "tags",
            Table::TicketFields => "ticket_fields",
        }
    }

    pub fn from_name(name: &str) -> Option<Table> {
        Table::all().into_iter().find(|t| t.name() == name)
    }

    pub fn columns(self) -> &'static [(&'static str, Col)] {
        use Col::*;
        match self {
            Table::Def(d) => d.columns,
            Table::Tickets => &[
                ("source", Text),
                ("account", Text),
                ("ticket_id", Text),
                ("code", Text),
                ("subject", Text),
                ("status", Text),
                ("status_raw", Text),
                ("channel", Text),
                ("channel_raw", Text),
                ("department_id", Text),
                ("department_name", Text),
                ("assignee_id", Text),
                ("requester_name", Text),
                ("requester_email", Text),
                ("language", Text),
                ("tags", TextList),
                ("created_at", Timestamp),
                ("updated_at", Timestamp),
                ("due_at", Timestamp),
                ("messages_in", Int),
                ("messages_out", Int),
                ("deleted_at", Timestamp),
                ("content_hash", Text),
                ("raw", Text),
                ("synced_at", Timestamp),
                ("priority", Text),
                ("merged_into", Text),
            ],
            Table::Messages => &[
                ("source", Text),
                ("account", Text),
                ("ticket_id", Text),
                ("message_id", Text),
                ("group_id", Text),
                ("author_id", Text),
                ("author_type", Text),
                ("type", Text),
                ("type_raw", Text),
                ("group_type_raw", Text),
                ("is_internal", Bool),
                ("created_at", Timestamp),
                ("body", Text),
                ("body_format", Text),
                ("content_hash", Text),
                ("raw", Text),
                ("synced_at", Timestamp),
            ],
            Table::Departments => &[
                ("source", Text),
                ("account", Text),
                ("department_id", Text),
                ("name", Text),
                ("online_status", Text),
                ("is_deleted", Bool),
                ("deleted_at", Timestamp),
                ("content_hash", Text),
                ("raw", Text),
                ("synced_at", Timestamp),
            ],
            Table::TicketFields => &[
                ("source", Text),
                ("account", Text),
                ("ticket_id", Text),
                ("field_code", Text),
                ("value", Text),
                ("content_hash", Text),
                ("synced_at", Timestamp),
            ],
            Table::Tags => &[
                ("source", Text),
                ("account", Text),
                ("tag_id", Text),
                ("name", Text),
                ("color", Text),
                ("bg_color", Text),
                ("deleted_at", Timestamp),
                ("content_hash", Text),
                ("raw", Text),
                ("synced_at", Timestamp),
            ],
        }
    }

    pub fn primary_key(self) -> &'static [&'static str] {
        match self {
            Table::Def(d) => d.primary_key,
            Table::Tickets => &["source", "account", "ticket_id"],
            Table::Messages => &["source", "account", "ticket_id", "message_id"],
            Table::Departments => &["source", "account", "department_id"],
            Table::Tags => &["source", "account", "tag_id"],
            Table::TicketFields => &["source", "account", "ticket_id", "field_code"],
        }
    }

    /// Columns a connector may compute from child records (Liveforce counts a ticket's
    /// messages from its replies), so they are not covered by the record's `content_hash`: a
    /// load updates a row when one of them differs, although the record itself did not change.
    pub fn computed_columns(self) -> &'static [&'static str] {
        match self {
            Table::Tickets => &["messages_in", "messages_out"],
            _ => &[],
        }
    }

    pub fn partition(self) -> Partition {
        match self {
            Table::Tickets | Table::Messages => Partition::Month("created_at"),
            Table::Departments | Table::Tags | Table::TicketFields => Partition::None,
            Table::Def(d) => d.partition,
        }
    }

    /// The Arrow schema of the table; nullability follows the primary key and `synced_at`.
    pub fn schema(self) -> SchemaRef {
        let pk = self.primary_key();
        let fields: Vec<Field> = self
            .columns()
            .iter()
            .map(|(name, col)| {
                let required = pk.contains(name) || *name == "synced_at";
                Field::new(*name, col.arrow(), !required)
            })
            .collect();
        Arc::new(Schema::new(fields))
    }
}

/// Serialize row structs into one Arrow batch of `table`'s schema.
pub fn to_batch<R: Serialize>(table: Table, rows: &[R]) -> Result<RecordBatch, arrow::error::ArrowError> {
    let _arrow = crate::telemetry::work::start(crate::telemetry::work::Work::Arrow);
    let schema = table.schema();
    let mut decoder =
        arrow::json::ReaderBuilder::new(schema.clone()).with_batch_size(rows.len().max(1)).build_decoder()?;
    decoder.serialize(rows)?;
    Ok(decoder.flush()?.unwrap_or_else(|| RecordBatch::new_empty(schema)))
}

/// Microseconds since the epoch, the representation arrow-json's decoder takes for timestamps.
pub mod ts {
    use chrono::{DateTime, Utc};
    use serde::Serializer;

    pub fn serialize<S: Serializer>(v: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(t) => s.serialize_i64(t.timestamp_micros()),
            None => s.serialize_none(),
        }
    }

    pub mod required {
        use super::*;
        pub fn serialize<S: Serializer>(v: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_i64(v.timestamp_micros())
        }
    }
}

/// SHA-256 (first 128 bits, hex) of a JSON value in canonical form: object keys sorted at every
/// level, so the hash does not depend on the order a vendor happened to send them in.
pub fn content_hash(raw: &serde_json::Value) -> String {
    fn feed(h: &mut Sha256, v: &serde_json::Value) {
        use serde_json::Value;
        match v {
            Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                h.update(b"{");
                for k in keys {
                    h.update(Value::String(k.clone()).to_string().as_bytes());
                    h.update(b":");
                    feed(h, &map[k]);
                    h.update(b",");
                }
                h.update(b"}");
            }
            Value::Array(items) => {
                h.update(b"[");
                for item in items {
                    feed(h, item);
                    h.update(b",");
                }
                h.update(b"]");
            }
            other => h.update(other.to_string().as_bytes()),
        }
    }
    let mut h = Sha256::new();
    feed(&mut h, raw);
    h.finalize().iter().take(16).map(|b| format!("{b:02x}")).collect()
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TicketRow {
    pub source: &'static str,
    pub account: String,
    pub ticket_id: String,
    pub code: Option<String>,
    pub subject: Option<String>,
    pub status: Option<String>,
    pub status_raw: Option<String>,
    pub channel: Option<String>,
    pub channel_raw: Option<String>,
    pub department_id: Option<String>,
    pub department_name: Option<String>,
    pub assignee_id: Option<String>,
    pub requester_name: Option<String>,
    pub requester_email: Option<String>,
    pub language: Option<String>,
    pub tags: Vec<String>,
    #[serde(with = "ts")]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(with = "ts")]
    pub updated_at: Option<DateTime<Utc>>,
    #[serde(with = "ts")]
    pub due_at: Option<DateTime<Utc>>,
    pub messages_in: Option<i32>,
    pub messages_out: Option<i32>,
    #[serde(with = "ts")]
    pub deleted_at: Option<DateTime<Utc>>,
    pub content_hash: Option<String>,
    pub raw: String,
    #[serde(with = "ts::required")]
    pub synced_at: DateTime<Utc>,
    /// The vendor's priority (Liveforce: 1 Low, 2 Medium, 3 High). Added by schema 004.
    pub priority: Option<String>,
    /// Set when the ticket was merged into another one (that one's id). Added by schema 004.
    pub merged_into: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MessageRow {
    pub source: &'static str,
    pub account: String,
    pub ticket_id: String,
    pub message_id: String,
    pub group_id: Option<String>,
    pub author_id: Option<String>,
    pub author_type: &'static str,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub type_raw: Option<String>,
    pub group_type_raw: Option<String>,
    pub is_internal: bool,
    #[serde(with = "ts")]
    pub created_at: Option<DateTime<Utc>>,
    pub body: Option<String>,
    pub body_format: &'static str,
    pub content_hash: Option<String>,
    pub raw: String,
    #[serde(with = "ts::required")]
    pub synced_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DepartmentRow {
    pub source: &'static str,
    pub account: String,
    pub department_id: String,
    pub name: Option<String>,
    pub online_status: Option<String>,
    pub is_deleted: Option<bool>,
    #[serde(with = "ts")]
    pub deleted_at: Option<DateTime<Utc>>,
    pub content_hash: Option<String>,
    pub raw: String,
    #[serde(with = "ts::required")]
    pub synced_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TagRow {
    pub source: &'static str,
    pub account: String,
    pub tag_id: String,
    pub name: Option<String>,
    pub color: Option<String>,
    pub bg_color: Option<String>,
    #[serde(with = "ts")]
    pub deleted_at: Option<DateTime<Utc>>,
    pub content_hash: Option<String>,
    pub raw: String,
    #[serde(with = "ts::required")]
    pub synced_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TicketFieldRow {
    pub source: &'static str,
    pub account: String,
    pub ticket_id: String,
    pub field_code: String,
    pub value: Option<String>,
    pub content_hash: Option<String>,
    #[serde(with = "ts::required")]
    pub synced_at: DateTime<Utc>,
}

/// A record that could not be normalized, kept with the reason instead of being dropped.
#[derive(Debug, Clone, PartialEq)]
pub struct Quarantined {
    pub record_key: Option<String>,
    pub reason: String,
    pub raw: String,
}

impl Quarantined {
    /// The vendor's record `raw` (kept as JSON text), its id when it had one, and why it could
    /// not be loaded: the one way every connector quarantines a record.
    pub fn record(raw: &serde_json::Value, key: Option<String>, reason: String) -> Quarantined {
        Quarantined { record_key: key, reason, raw: raw.to_string() }
    }
}

/// Heuristic used for `body_format`: a body is HTML when it contains a tag.
pub fn looks_like_html(body: &str) -> bool {
    let bytes = body.as_bytes();
    bytes.windows(2).any(|w| w[0] == b'<' && (w[1].is_ascii_alphabetic() || w[1] == b'/')) && body.contains('>')
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::util::pretty::pretty_format_batches;
    use chrono::TimeZone;

    #[test]
    fn rows_become_arrow_batches_of_the_table_schema() {
        let t = Utc.with_ymd_and_hms(2024, 3, 2, 11, 21, 4).unwrap();
        let row = TagRow {
            source: "liveagent",
            account: "acme".into(),
            tag_id: "t1".into(),
            name: Some("VIP".into()),
            color: None,
            bg_color: Some("ff0000".into()),
            deleted_at: None,
            content_hash: Some("abc".into()),
            raw: "{}".into(),
            synced_at: t,
        };
        let batch = to_batch(Table::Tags, &[row]).unwrap();
        assert_eq!(batch.schema(), Table::Tags.schema());
        let text = pretty_format_batches(&[batch]).unwrap().to_string();
        let expected = "\
+-----------+---------+--------+------+-------+----------+------------+--------------+-----+----------------------+
| source    | account | tag_id | name | color | bg_color | deleted_at | content_hash | raw | synced_at            |
+-----------+---------+--------+------+-------+----------+------------+--------------+-----+----------------------+
| liveagent | acme    | t1     | VIP  |       | ff0000   |            | abc          | {}  | 2024-03-02T11:21:04Z |
+-----------+---------+--------+------+-------+----------+------------+--------------+-----+----------------------+";
        assert_eq!(text, expected);
    }

    #[test]
    fn html_detection() {
        assert!(looks_like_html("<p>Hello</p>"));
        assert!(looks_like_html("a <b>bold</b> move"));
        assert!(!looks_like_html("1 < 2 and 3 > 2"));
        assert!(!looks_like_html("plain text, příliš žluťoučký"));
    }

    #[test]
    fn content_hash_ignores_key_order() {
        let a: serde_json::Value = serde_json::from_str(r#"{"a":1,"b":"x"}"#).unwrap();
        let b: serde_json::Value = serde_json::from_str(r#"{"b":"x","a":1}"#).unwrap();
        assert_eq!(content_hash(&a), content_hash(&b));
    }
}
