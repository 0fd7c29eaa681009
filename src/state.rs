//! Per-stream incremental state, stored as versioned JSON in `_desksync_state.state` and written
//! in the same transaction as the rows it covers (see `warehouse::LoadUnit`).
//!
//! * `cursor`: every record changed before it has been loaded (the watermark).
//! * `pass`: an incremental pass in progress, so a crash resumes at the page it reached instead
//!   of starting over; `None` between runs.
//!
//! Bump [`STATE_VERSION`] and teach [`StreamState::decode`] the old shape when the format changes.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub const STATE_VERSION: u32 = 1;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StreamState {
    pub version: u32,
    /// Everything changed before this instant (UTC) is loaded.
    pub cursor: Option<DateTime<Utc>>,
    /// A pass that has not finished yet.
    pub pass: Option<PassState>,
    /// When deletions were last reconciled (a full id listing), for streams that do so.
    #[serde(default)]
    pub reconciled_at: Option<DateTime<Utc>>,
}

/// Progress of one paging pass over a `changed since` listing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PassState {
    /// The lower bound the pass filters on (cursor minus lookback), `None` for everything.
    pub since: Option<DateTime<Utc>>,
    /// The next list offset to read.
    pub offset: usize,
    /// Largest change time seen so far in this pass.
    pub max_seen: Option<DateTime<Utc>>,
    /// The vendor's clock when the pass began: the cursor never moves past it, because records
    /// changed after it may have been skipped while paging.
    pub started_at: DateTime<Utc>,
    /// Rows shifted between pages more than the overlap could prove safe: keep the cursor.
    #[serde(default)]
    pub unstable: bool,
    /// A full re-scan (LiveZilla), as opposed to the trailing re-read.
    #[serde(default)]
    pub full: bool,
}

impl PassState {
    /// A fresh pass over everything changed since `since` (`None`: everything), begun now.
    pub fn from(since: Option<DateTime<Utc>>) -> PassState {
        PassState { since, offset: 0, max_seen: None, started_at: Utc::now(), unstable: false, full: false }
    }
}

impl StreamState {
    pub fn encode(&self) -> String {
        let mut s = self.clone();
        s.version = STATE_VERSION;
        serde_json::to_string(&s).expect("state serializes")
    }

    pub fn decode(text: &str) -> Result<StreamState, String> {
        let v: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("stored state is not JSON: {e}"))?;
        match v.get("version").and_then(|x| x.as_u64()) {
            Some(1) => serde_json::from_value(v).map_err(|e| format!("stored state (version 1) is malformed: {e}")),
            other => Err(format!(
                "stored state has version {other:?}, this desksync understands {STATE_VERSION}; \
                 upgrade desksync or run `desksync state reset`"
            )),
        }
    }

    /// The cursor as stored in the `watermark` column.
    pub fn watermark_text(&self) -> Option<String> {
        self.cursor.map(|c| c.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_unknown_versions() {
        let s = StreamState { version: 1, cursor: Some(Utc::now()), pass: None, reconciled_at: None };
        assert_eq!(StreamState::decode(&s.encode()).unwrap().cursor, s.cursor);
        assert!(StreamState::decode(r#"{"version":9}"#).unwrap_err().contains("version"));
    }
}
