//! Vendor wall-clock times ⇄ UTC. Vendors send `YYYY-MM-DD HH:MM:SS` in the account's zone with
//! no offset; desksync stores UTC and writes filters back in the zone the API reads them in.
//!
//! DST edges are resolved deterministically: an ambiguous local time (the repeated hour in
//! autumn) is read as its *earlier* instant, and a local time that does not exist (the skipped
//! hour in spring) is read as the instant one hour later, which is what the wall clock showed.

use chrono::{DateTime, LocalResult, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

pub const FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// Parse a vendor wall-clock time in `tz`. Also accepts a date alone (midnight) and `T` as
/// separator. `None` for anything else.
pub fn parse_local(s: &str, tz: Tz) -> Option<DateTime<Utc>> {
    let s = s.trim();
    let naive = NaiveDateTime::parse_from_str(s, FORMAT)
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S"))
        .or_else(|_| {
            chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").map(|d| d.and_hms_opt(0, 0, 0).expect("midnight"))
        })
        .ok()?;
    Some(local_to_utc(naive, tz))
}

pub fn local_to_utc(naive: NaiveDateTime, tz: Tz) -> DateTime<Utc> {
    match tz.from_local_datetime(&naive) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(earlier, _) => earlier.with_timezone(&Utc),
        LocalResult::None => {
            // In a spring-forward gap: the same wall time one hour on exists.
            let later = naive + chrono::Duration::hours(1);
            match tz.from_local_datetime(&later) {
                LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => t.with_timezone(&Utc),
                LocalResult::None => Utc.from_utc_datetime(&naive),
            }
        }
    }
}

/// Format a UTC instant as the vendor's wall-clock time in `tz`.
pub fn format_local(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz).format(FORMAT).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phoenix_has_no_dst() {
        let tz: Tz = "America/Phoenix".parse().unwrap();
        let t = parse_local("2024-07-01 10:00:00", tz).unwrap();
        assert_eq!(t.to_rfc3339(), "2024-07-01T17:00:00+00:00");
        let t = parse_local("2024-01-01 10:00:00", tz).unwrap();
        assert_eq!(t.to_rfc3339(), "2024-01-01T17:00:00+00:00");
        assert_eq!(format_local(t, tz), "2024-01-01 10:00:00");
    }

    #[test]
    fn bratislava_dst_edges() {
        let tz: Tz = "Europe/Bratislava".parse().unwrap();
        // Spring forward 2024-03-31 02:00 -> 03:00: 02:30 does not exist.
        let gap = parse_local("2024-03-31 02:30:00", tz).unwrap();
        assert_eq!(gap.to_rfc3339(), "2024-03-31T01:30:00+00:00");
        // Fall back 2024-10-27 03:00 -> 02:00: 02:30 happens twice; the earlier is CEST (+2).
        let amb = parse_local("2024-10-27 02:30:00", tz).unwrap();
        assert_eq!(amb.to_rfc3339(), "2024-10-27T00:30:00+00:00");
        // Round trip either side of the change.
        for s in ["2024-10-27 01:59:59", "2024-10-27 03:00:00", "2024-03-31 03:00:00"] {
            assert_eq!(format_local(parse_local(s, tz).unwrap(), tz), s);
        }
    }
}
