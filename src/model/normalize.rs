//! Vendor records → rows of a declared table ([`crate::model::TableDef`]), typed by column.
//!
//! Each column is looked up in the record under, in order: a rename the stream gives, the
//! column's own name, and its camelCase form (`new_answer_avg_time` ← `newAnswerAvgTime`), so a
//! table declaration plus a few renames is all a simple stream needs. Values are converted by
//! the column's type by the rules every vendor shares ([`crate::model::fields`]): text as sent
//! (`''` stays `''`), numbers from strings, blank numbers, times and flags as NULL,
//! `0000-00-00 00:00:00` and `now` as no time, `Y`/`N` flags, comma lists.
//! A value that cannot be converted fails the whole record with a reason naming the field, and
//! the caller quarantines it.
//!
//! The standard columns are filled without lookup: `source`, `account`, `content_hash` (of the
//! raw record), `raw`, `synced_at`, `deleted_at` (NULL), and whatever the caller fixes
//! (`captured_at`, `window_start`, `scope`, a parent id…).

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Map, Value};

use crate::model::fields::{code_value, day_value, flag_value, int_value, local_time_value, number_value, text_value};
use crate::model::{Col, Table, content_hash};

/// A row ready for [`crate::model::to_batch`].
pub type Row = Map<String, Value>;

/// Rows with the same primary key collapsed to the last one listed (a record a listing returns
/// twice, e.g. across pages, is the same record; the later copy is the fresher), in the order
/// each key was first seen. Every stream that builds rows from a listing de-duplicates with this.
pub fn dedup(table: crate::model::Table, rows: Vec<Row>) -> Vec<Row> {
    let pk = table.primary_key();
    dedup_by(rows, |r| {
        pk.iter().map(|k| r.get(*k).map(Value::to_string).unwrap_or_default()).collect::<Vec<_>>().join("\u{1}")
    })
}

/// [`dedup`] for anything with a key: the last item with a key wins, in first-seen order.
pub fn dedup_by<T>(items: Vec<T>, key: impl Fn(&T) -> String) -> Vec<T> {
    let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut out: Vec<T> = Vec::with_capacity(items.len());
    for item in items {
        match index.entry(key(&item)) {
            std::collections::hash_map::Entry::Occupied(e) => out[*e.get()] = item,
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(out.len());
                out.push(item);
            }
        }
    }
    out
}

/// The text in column `col` of a normalized row, if it holds text.
pub fn text_of(row: &Row, col: &str) -> Option<String> {
    row.get(col).and_then(Value::as_str).map(String::from)
}

/// What the caller knows about every record of a batch.
pub struct Context<'a> {
    pub source: &'static str,
    pub account: &'a str,
    pub timezone: chrono_tz::Tz,
    pub now: DateTime<Utc>,
    /// `(column, vendor key)` for columns whose vendor name is not the column's.
    pub renames: &'a [(&'static str, &'static str)],
    /// Values set directly, already in the column's type (see [`ts`], [`date`]).
    pub fixed: Vec<(&'static str, Value)>,
}

/// A timestamp value as rows carry it (microseconds since the epoch).
pub fn ts(t: DateTime<Utc>) -> Value {
    Value::from(t.timestamp_micros())
}

/// A date value as rows carry it (days since the epoch).
pub fn date(d: NaiveDate) -> Value {
    Value::from((d - NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch")).num_days())
}

fn camel(col: &str) -> String {
    let mut out = String::with_capacity(col.len());
    let mut upper = false;
    for c in col.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

fn lookup<'v>(raw: &'v Value, col: &str, renames: &[(&str, &str)]) -> (String, Option<&'v Value>) {
    if let Some((_, key)) = renames.iter().find(|(c, _)| *c == col) {
        return (key.to_string(), raw.get(*key));
    }
    if let Some(v) = raw.get(col) {
        return (col.to_string(), Some(v));
    }
    let c = camel(col);
    let v = raw.get(&c);
    (c, v)
}

/// Convert one vendor value to `col`'s type; `Err` says why not.
pub fn convert(v: Option<&Value>, col: Col, key: &str, tz: chrono_tz::Tz) -> Result<Value, String> {
    let Some(v) = v.filter(|v| !v.is_null()) else { return Ok(Value::Null) };
    let v = Some(v);
    Ok(match col {
        Col::Text => text_value(v, key)?.map(Value::String).unwrap_or(Value::Null),
        Col::TextList => {
            let items: Vec<Value> = match v {
                Some(Value::Array(a)) => {
                    a.iter().filter_map(|x| code_value(Some(x), key).ok().flatten()).map(Value::String).collect()
                }
                _ => code_value(v, key)?
                    .map(|s| {
                        s.split(',').map(str::trim).filter(|s| !s.is_empty()).map(|s| Value::String(s.into())).collect()
                    })
                    .unwrap_or_default(),
            };
            Value::Array(items)
        }
        Col::Int | Col::BigInt => int_value::<i64>(v, key)?.map(Value::from).unwrap_or(Value::Null),
        Col::Double => number_value(v, key)?.map(Value::from).unwrap_or(Value::Null),
        Col::Bool => flag_value(v, key)?.map(Value::Bool).unwrap_or(Value::Null),
        Col::Timestamp => local_time_value(v, key, tz)?.map(ts).unwrap_or(Value::Null),
        Col::Date => day_value(v, key)?.map(date).unwrap_or(Value::Null),
    })
}

/// Normalize one record into a row of `table`.
pub fn row(table: Table, raw: &Value, cx: &Context<'_>) -> Result<Row, String> {
    if !raw.is_object() {
        return Err(format!("a {} record should be a JSON object but is {raw}", table.name()));
    }
    let pk = table.primary_key();
    let mut out = Map::new();
    for (name, col) in table.columns() {
        let v = if let Some((_, v)) = cx.fixed.iter().find(|(c, _)| c == name) {
            v.clone()
        } else {
            match *name {
                "source" => Value::String(cx.source.into()),
                "account" => Value::String(cx.account.into()),
                "content_hash" => Value::String(content_hash(raw)),
                "raw" => Value::String(raw.to_string()),
                "synced_at" => ts(cx.now),
                "deleted_at" => Value::Null,
                _ => {
                    let (key, v) = lookup(raw, name, cx.renames);
                    convert(v, *col, &key, cx.timezone)?
                }
            }
        };
        if pk.contains(name) && (v.is_null() || v.as_str().is_some_and(|s| s.trim().is_empty())) {
            let (key, _) = lookup(raw, name, cx.renames);
            return Err(format!("{} record without {key}", table.name()));
        }
        out.insert(name.to_string(), v);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::to_batch;
    use arrow::util::pretty::pretty_format_batches;
    use chrono::TimeZone;

    #[test]
    fn report_rows_are_typed_from_vendor_strings() {
        let raw: Value = serde_json::from_str(
            r#"{"date":"2014-07-26 15:00:00","avgQueue":"0.50","maxQueue":"3","minQueue":0,
                "avgSlots":"","maxSlots":"2","minSlots":"1","avgService":"1.25","maxService":"4","minService":"0"}"#,
        )
        .unwrap();
        let now = Utc.with_ymd_and_hms(2026, 1, 2, 0, 0, 0).unwrap();
        let day = Utc.with_ymd_and_hms(2014, 7, 26, 0, 0, 0).unwrap();
        let cx = Context {
            source: "liveagent",
            account: "acme",
            timezone: chrono_tz::UTC,
            now,
            renames: &[("period_start", "date")],
            fixed: vec![
                ("scope", Value::String("chats".into())),
                ("window_start", ts(day)),
                ("window_end", ts(day + chrono::Duration::days(1))),
                ("content_hash", Value::String("h".into())),
                ("raw", Value::String("{}".into())),
            ],
        };
        let table = Table::Def(&crate::model::tables::REPORT_LOAD);
        let r = row(table, &raw, &cx).unwrap();
        let batch = to_batch(table, &[r]).unwrap();
        let text = pretty_format_batches(&[batch.project(&[2, 5, 6, 7, 9, 12]).unwrap()]).unwrap().to_string();
        assert_eq!(
            text,
            "\
+-------+----------------------+-----------+-----------+-----------+-------------+
| scope | period_start         | avg_queue | max_queue | avg_slots | avg_service |
+-------+----------------------+-----------+-----------+-----------+-------------+
| chats | 2014-07-26T15:00:00Z | 0.5       | 3         |           | 1.25        |
+-------+----------------------+-----------+-----------+-----------+-------------+"
        );
    }

    #[test]
    fn bad_values_name_the_field_and_missing_keys_fail() {
        let cx = Context {
            source: "liveagent",
            account: "acme",
            timezone: chrono_tz::UTC,
            now: Utc::now(),
            renames: &[("customer_id", "contactid"), ("created_at", "datecreated")],
            fixed: vec![],
        };
        let t = Table::Def(&crate::model::tables::CUSTOMERS);
        let e = row(t, &serde_json::json!({"contactid": "c1", "datecreated": "soon"}), &cx).unwrap_err();
        assert!(e.contains("datecreated 'soon'"), "{e}");
        let e = row(t, &serde_json::json!({"email": "a@b"}), &cx).unwrap_err();
        assert!(e.contains("without contactid"), "{e}");
        let ok = row(t, &serde_json::json!({"contactid": "c1", "datecreated": "0000-00-00 00:00:00"}), &cx).unwrap();
        assert!(ok["created_at"].is_null());
    }

    #[test]
    fn dates_and_lists() {
        assert_eq!(convert(Some(&Value::from("1970-01-03")), Col::Date, "d", chrono_tz::UTC).unwrap(), Value::from(2));
        assert_eq!(
            convert(Some(&serde_json::json!(["a", 1])), Col::TextList, "l", chrono_tz::UTC).unwrap(),
            serde_json::json!(["a", "1"])
        );
        assert_eq!(
            convert(Some(&Value::from("a, b")), Col::TextList, "l", chrono_tz::UTC).unwrap(),
            serde_json::json!(["a", "b"])
        );
        assert_eq!(camel("new_answer_avg_time_sla"), "newAnswerAvgTimeSla");
    }
}
