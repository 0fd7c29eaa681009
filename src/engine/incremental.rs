//! The incremental-by-cursor shape, written once: how a pass chooses what to list, how it
//! resumes, and how the watermark moves when it ends. Every stream that lists "changed (or
//! created) since" uses these two functions around its paging loop, whatever it pages by.
//!
//! * **Begin** ([`begin_pass`]): a pass left unfinished by a crash is resumed where its last
//!   commit left it (its offset or window start is in the state). Otherwise the new pass lists
//!   from the cursor minus `lookback` (late-visible records, clock skew), or further back: to a
//!   `trailing` re-read window when the stream has one (records that change without their
//!   listing time changing), and to the pipeline's start for the first pass or a full re-scan.
//!   It records the vendor's clock when it began.
//! * **Page**: the stream commits rows with the pass's progress in the same transaction and
//!   tracks the largest change time it saw (`max_seen`); a pager that saw the listing shift
//!   beyond repair marks the pass `unstable`.
//! * **Finish** ([`finish_pass`]): the cursor moves to the largest change time seen, never past
//!   the vendor's clock when the pass began (anything changed after that may have been missed
//!   while paging and is listed by the next pass), and never backwards. An unstable pass keeps
//!   the cursor, so the next pass reads the same span again. A complete listing (first pass or
//!   full re-scan) that was stable records when deletions were last reconciled.

use chrono::{DateTime, Duration, Utc};

use crate::state::{PassState, StreamState};

/// How a new pass chooses where to start.
#[derive(Debug, Clone, Copy)]
pub struct PassPlan {
    /// Re-read this long before the cursor.
    pub lookback: Duration,
    /// The earliest time the pipeline covers (`None`: everything the vendor has).
    pub start: Option<DateTime<Utc>>,
    /// Also re-read at least this far back from now (a trailing window), if set.
    pub trailing: Option<Duration>,
    /// List everything from `start` again (a full re-scan that also finds deletions).
    pub full: bool,
    /// The vendor's clock now (or this machine's when the vendor does not tell).
    pub clock: DateTime<Utc>,
}

/// The pass to run: the unfinished one in `state` (taken out of it), or a new one by `plan`.
/// The flag says whether it was resumed.
pub fn begin_pass(state: &mut StreamState, plan: PassPlan) -> (PassState, bool) {
    if let Some(p) = state.pass.take() {
        return (p, true);
    }
    let full = plan.full || state.cursor.is_none();
    let since = match state.cursor {
        Some(c) if !full => {
            let mut since = c - plan.lookback;
            if let Some(t) = plan.trailing {
                since = since.min(plan.clock - t);
            }
            Some(plan.start.map_or(since, |s| since.max(s)))
        }
        _ => plan.start,
    };
    (PassState { since, offset: 0, max_seen: None, started_at: plan.clock, unstable: false, full }, false)
}

/// Move `state` past a completed `pass` (see the module docs). Returns whether the pass was a
/// stable complete listing (so the caller may mark what it did not see as deleted).
pub fn finish_pass(state: &mut StreamState, pass: &PassState) -> bool {
    if !pass.unstable {
        let reached = match pass.max_seen {
            Some(m) => Some(m.min(pass.started_at)),
            // A first pass that found nothing: nothing changed before it began.
            None if state.cursor.is_none() => Some(pass.started_at),
            None => None,
        };
        if let Some(m) = reached {
            state.cursor = Some(state.cursor.map_or(m, |c| c.max(m)));
        }
    }
    let complete = pass.full && !pass.unstable;
    if complete {
        state.reconciled_at = Some(pass.started_at);
    }
    state.pass = None;
    state.version = 1;
    complete
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(h: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + h * 3600, 0).unwrap()
    }

    fn plan(clock: DateTime<Utc>) -> PassPlan {
        PassPlan { lookback: Duration::minutes(10), start: None, trailing: None, full: false, clock }
    }

    #[test]
    fn a_pass_starts_at_the_cursor_minus_lookback_or_further_back() {
        let mut s = StreamState { version: 1, cursor: Some(t(10)), ..Default::default() };
        let (p, resumed) = begin_pass(&mut s, plan(t(20)));
        assert!(!resumed && !p.full);
        assert_eq!(p.since, Some(t(10) - Duration::minutes(10)));
        // A trailing window reaches further back; the start bounds it.
        let trailing = PassPlan { trailing: Some(Duration::hours(15)), start: Some(t(7)), ..plan(t(20)) };
        assert_eq!(begin_pass(&mut s.clone(), trailing).0.since, Some(t(7)));
        // First pass and full re-scan: from the start.
        let mut empty = StreamState::default();
        let (p, _) = begin_pass(&mut empty, PassPlan { start: Some(t(1)), ..plan(t(20)) });
        assert_eq!((p.since, p.full), (Some(t(1)), true));
        // An unfinished pass is resumed as it was.
        s.pass = Some(PassState { offset: 40, ..PassState::from(Some(t(3))) });
        let (p, resumed) = begin_pass(&mut s, plan(t(20)));
        assert!(resumed && p.offset == 40 && s.pass.is_none());
    }

    #[test]
    fn the_cursor_moves_to_what_was_seen_never_past_the_clock_or_backwards() {
        let mut s = StreamState { version: 1, cursor: Some(t(10)), ..Default::default() };
        let mut p = PassState { max_seen: Some(t(30)), started_at: t(20), ..PassState::from(Some(t(9))) };
        assert!(!finish_pass(&mut s, &p));
        assert_eq!(s.cursor, Some(t(20)), "bounded by the clock at the pass start");
        p.max_seen = Some(t(5));
        finish_pass(&mut s, &p);
        assert_eq!(s.cursor, Some(t(20)), "never backwards");
        p.max_seen = Some(t(25));
        p.started_at = t(40);
        p.unstable = true;
        finish_pass(&mut s, &p);
        assert_eq!(s.cursor, Some(t(20)), "an unstable pass keeps the cursor");
        // A stable full listing reconciles.
        let full = PassState { full: true, started_at: t(41), ..PassState::from(None) };
        assert!(finish_pass(&mut s, &full));
        assert_eq!(s.reconciled_at, Some(t(41)));
    }
}
