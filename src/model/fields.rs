//! Field semantics, written once for every vendor: how a value a vendor sent becomes a column
//! value. Vendor parsers and the declared-table normalizer ([`super::normalize`]) both read
//! fields only through these functions, so the three connectors cannot drift apart.
//!
//! The rules:
//! * **Absent or `null` is NULL.** Nothing else is.
//! * **Text is kept as sent** ([`text`]): `""` stays `""`, whitespace is not trimmed. Numbers
//!   and booleans where text is expected become their JSON text (`12`, `true`); an object or a
//!   list is an error naming the field.
//! * **Identifiers and codes** ([`code`]: keys, foreign keys, status and channel codes, emails
//!   used as keys) are trimmed, and a blank one means "none" (NULL): vendors send `""` for a
//!   foreign key that is not set.
//! * **Numbers** ([`int`], [`number`]) may arrive as JSON numbers or as strings (`"12"`,
//!   `"12.00"`, `"3,5"`, `"40%"`); trimmed; blank is NULL; anything else an error.
//! * **Flags** ([`flag`]): `Y/N`, `1/0`, `true/false`, `yes/no` as strings, numbers or booleans.
//! * **Wall-clock times** ([`local_time`]) are in the account's zone with no offset and become
//!   UTC by [`crate::timez::local_to_utc`]: in the repeated autumn hour the *earlier* instant, in
//!   the skipped spring hour the instant the wall clock showed. `0000-00-00…` and `now` are no
//!   time. **Unix times** ([`unix_time`]) are UTC already; `0` and LiveZilla's "never"
//!   (2000000000) are no time.
//!
//! Every function returns `Err(reason)` naming the field; the caller quarantines the record.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;

use crate::timez::parse_local;

/// The value under `key`, `None` when absent or `null`.
pub fn get<'v>(v: &'v Value, key: &str) -> Option<&'v Value> {
    v.get(key).filter(|x| !x.is_null())
}

/// A scalar's text as sent (`None` for null); objects and lists are errors.
pub fn text_value(v: Option<&Value>, key: &str) -> Result<Option<String>, String> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(Value::Bool(b)) => Ok(Some(b.to_string())),
        Some(other) => {
            Err(format!("{key} should be text but is {}", other.to_string().chars().take(80).collect::<String>()))
        }
    }
}

/// Text content under `key`, kept as sent (`""` stays `""`).
pub fn text(v: &Value, key: &str) -> Result<Option<String>, String> {
    text_value(v.get(key), key)
}

/// An identifier or code: trimmed; blank is `None`.
pub fn code_value(v: Option<&Value>, key: &str) -> Result<Option<String>, String> {
    Ok(text_value(v, key)?.map(|s| s.trim().to_string()).filter(|s| !s.is_empty()))
}

/// An identifier or code under `key`: trimmed; blank is `None`.
pub fn code(v: &Value, key: &str) -> Result<Option<String>, String> {
    code_value(v.get(key), key)
}

/// [`code`], where a malformed value counts as absent (keys for quarantine rows, listings'
/// anchors: places that must not fail).
pub fn code_or_none(v: &Value, key: &str) -> Option<String> {
    code(v, key).ok().flatten()
}

/// An integer, from a number or a string (`"12"`, `"12.00"`).
pub fn int_value<T: TryFrom<i64>>(v: Option<&Value>, key: &str) -> Result<Option<T>, String> {
    let Some(s) = code_value(v, key)? else { return Ok(None) };
    let n = match s.parse::<i64>() {
        Ok(n) => n,
        Err(_) => match s.parse::<f64>() {
            // "12.00" is an integer the vendor printed with decimals.
            Ok(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => f as i64,
            _ => return Err(format!("{key} '{s}' is not an integer")),
        },
    };
    T::try_from(n).map(Some).map_err(|_| format!("{key} '{s}' is out of range"))
}

/// An integer under `key`.
pub fn int<T: TryFrom<i64>>(v: &Value, key: &str) -> Result<Option<T>, String> {
    int_value(v.get(key), key)
}

/// A decimal number, from a number or a string (`"3.5"`, `"3,5"`, `"40%"`).
pub fn number_value(v: Option<&Value>, key: &str) -> Result<Option<f64>, String> {
    let Some(s) = code_value(v, key)? else { return Ok(None) };
    s.trim_end_matches('%')
        .replace(',', ".")
        .parse::<f64>()
        .map(Some)
        .map_err(|_| format!("{key} '{s}' is not a number"))
}

/// A decimal number under `key`.
pub fn number(v: &Value, key: &str) -> Result<Option<f64>, String> {
    number_value(v.get(key), key)
}

/// A yes/no flag.
pub fn flag_value(v: Option<&Value>, key: &str) -> Result<Option<bool>, String> {
    match code_value(v, key)?.as_deref() {
        None => Ok(None),
        Some(s) if ["y", "1", "true", "yes"].iter().any(|t| s.eq_ignore_ascii_case(t)) => Ok(Some(true)),
        Some(s) if ["n", "0", "false", "no"].iter().any(|t| s.eq_ignore_ascii_case(t)) => Ok(Some(false)),
        Some(s) => Err(format!("{key} '{s}' is not a yes/no flag")),
    }
}

/// A yes/no flag under `key`.
pub fn flag(v: &Value, key: &str) -> Result<Option<bool>, String> {
    flag_value(v.get(key), key)
}

/// A wall-clock time in `tz` (see the module docs for DST and "no time").
pub fn local_time_value(v: Option<&Value>, key: &str, tz: chrono_tz::Tz) -> Result<Option<DateTime<Utc>>, String> {
    match code_value(v, key)? {
        None => Ok(None),
        Some(s) if s.starts_with("0000-00-00") || s.eq_ignore_ascii_case("now") => Ok(None),
        Some(s) => parse_local(&s, tz).map(Some).ok_or_else(|| format!("{key} '{s}' is not a date-time")),
    }
}

/// A wall-clock time in `tz` under `key`.
pub fn local_time(v: &Value, key: &str, tz: chrono_tz::Tz) -> Result<Option<DateTime<Utc>>, String> {
    local_time_value(v.get(key), key, tz)
}

/// A calendar day (`YYYY-MM-DD`, anything after the tenth character ignored).
pub fn day_value(v: Option<&Value>, key: &str) -> Result<Option<NaiveDate>, String> {
    match code_value(v, key)? {
        None => Ok(None),
        Some(s) if s.starts_with("0000-00-00") => Ok(None),
        Some(s) => NaiveDate::parse_from_str(s.get(..10).unwrap_or(&s), "%Y-%m-%d")
            .map(Some)
            .map_err(|_| format!("{key} '{s}' is not a date")),
    }
}

/// Unix seconds (a string, an integer or a float) under `key`.
pub fn unix_time(v: &Value, key: &str) -> Result<Option<DateTime<Utc>>, String> {
    let Some(s) = code(v, key)? else { return Ok(None) };
    let secs: f64 = s.parse().map_err(|_| format!("{key} '{s}' is not a unix time"))?;
    if secs <= 0.0 || secs >= 2_000_000_000.0 {
        return Ok(None);
    }
    Ok(DateTime::from_timestamp(secs.floor() as i64, 0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn empty_text_stays_empty_and_only_null_or_absent_is_none() {
        let r = json!({"subject": "", "body": "  hi ", "n": 12, "b": true, "nul": null, "obj": {"a": 1}});
        assert_eq!(text(&r, "subject").unwrap(), Some(String::new()));
        assert_eq!(text(&r, "body").unwrap(), Some("  hi ".into()));
        assert_eq!(text(&r, "n").unwrap(), Some("12".into()));
        assert_eq!(text(&r, "b").unwrap(), Some("true".into()));
        assert_eq!(text(&r, "nul").unwrap(), None);
        assert_eq!(text(&r, "missing").unwrap(), None);
        assert!(text(&r, "obj").unwrap_err().contains("obj"));
        // Codes are trimmed and blank means none.
        assert_eq!(code(&r, "subject").unwrap(), None);
        assert_eq!(code(&r, "body").unwrap(), Some("hi".into()));
    }

    #[test]
    fn numbers_flags_and_times_as_vendors_send_them() {
        let r = json!({"a": "12", "b": 12, "c": "12.00", "d": " ", "e": "x", "f": "3,5", "g": "40%",
                       "y": "Y", "z": 0, "t": "2024-10-27 02:30:00", "zero": "0000-00-00 00:00:00",
                       "u": "1700000000", "never": 2000000000});
        assert_eq!(int::<i32>(&r, "a").unwrap(), Some(12));
        assert_eq!(int::<i64>(&r, "b").unwrap(), Some(12));
        assert_eq!(int::<i64>(&r, "c").unwrap(), Some(12));
        assert_eq!(int::<i64>(&r, "d").unwrap(), None);
        assert!(int::<i64>(&r, "e").unwrap_err().contains("'x'"));
        assert_eq!(number(&r, "f").unwrap(), Some(3.5));
        assert_eq!(number(&r, "g").unwrap(), Some(40.0));
        assert_eq!(flag(&r, "y").unwrap(), Some(true));
        assert_eq!(flag(&r, "z").unwrap(), Some(false));
        let tz: chrono_tz::Tz = "Europe/Bratislava".parse().unwrap();
        // The repeated autumn hour: the earlier instant (CEST).
        assert_eq!(local_time(&r, "t", tz).unwrap().unwrap().to_rfc3339(), "2024-10-27T00:30:00+00:00");
        assert_eq!(local_time(&r, "zero", tz).unwrap(), None);
        assert_eq!(unix_time(&r, "u").unwrap().unwrap().timestamp(), 1_700_000_000);
        assert_eq!(unix_time(&r, "never").unwrap(), None);
    }
}
