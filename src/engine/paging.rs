//! Offset paging that notices rows shifting between requests.
//!
//! With `limit`/`offset` paging, a row that changes (and moves to the end of a changed-ordered
//! listing) or disappears between two requests shifts every later row one place towards the
//! start, and the row at the page boundary is never seen. [`OverlapPager`] makes each page after
//! the first start `overlap` rows early and checks that the previous page's last row (the
//! anchor) is among them; if not, rows shifted by more than the overlap could prove harmless,
//! so it backs up one page and reads forward again (at most `MAX_REREADS` times per listing,
//! after which it carries on and reports the listing as unstable, so the caller does not move
//! its watermark or conclude anything from what was missing).
//!
//! Duplicates from the overlap are the caller's to skip (by key or content hash).

const MAX_REREADS: usize = 10;

/// What to do with a page just read at [`OverlapPager::offset`].
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// The listing is exhausted.
    Done,
    /// Rows shifted: the offset was moved back; read again.
    Reread,
    /// Use the page; the next one starts at `next_offset`.
    Page { next_offset: usize },
}

#[derive(Debug, Clone)]
pub struct OverlapPager {
    page_size: usize,
    overlap: usize,
    /// The offset of the next request.
    pub offset: usize,
    anchor: Option<String>,
    rereads: usize,
    /// Rows shifted more often than the pager could repair.
    pub unstable: bool,
}

impl OverlapPager {
    pub fn new(page_size: usize, overlap: usize, offset: usize) -> OverlapPager {
        OverlapPager {
            page_size,
            overlap: overlap.min(page_size.saturating_sub(1)),
            offset,
            anchor: None,
            rereads: 0,
            unstable: false,
        }
    }

    /// Judge a page given its rows' keys (in order).
    pub fn judge(&mut self, keys: &[Option<String>]) -> Step {
        if keys.is_empty() {
            return Step::Done;
        }
        if let Some(anchor) = &self.anchor {
            let window = &keys[..self.overlap.min(keys.len())];
            if !window.iter().any(|k| k.as_deref() == Some(anchor)) {
                self.rereads += 1;
                if self.rereads <= MAX_REREADS {
                    self.offset = self.offset.saturating_sub(self.page_size - self.overlap);
                    self.anchor = None;
                    return Step::Reread;
                }
                self.unstable = true;
            }
        }
        let full = keys.len() >= self.page_size;
        let next_offset = if full { self.offset + self.page_size - self.overlap } else { self.offset + keys.len() };
        // A short page ends the listing unless rows arrived meanwhile; the next request (at the
        // end) tells, and it has nothing to overlap with.
        self.anchor = if full && self.overlap > 0 { keys.last().cloned().flatten() } else { None };
        Step::Page { next_offset }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(ids: std::ops::Range<usize>) -> Vec<Option<String>> {
        ids.map(|i| Some(i.to_string())).collect()
    }

    #[test]
    fn a_shift_larger_than_the_overlap_is_reread() {
        let mut p = OverlapPager::new(10, 2, 0);
        assert_eq!(p.judge(&keys(0..10)), Step::Page { next_offset: 8 });
        p.offset = 8;
        // Three rows before offset 8 vanished: the page holds rows 11..21, anchor 9 is missing.
        assert_eq!(p.judge(&keys(11..21)), Step::Reread);
        assert_eq!(p.offset, 0);
        // Shifted by one (within the overlap): fine.
        assert_eq!(p.judge(&keys(0..10)), Step::Page { next_offset: 8 });
        p.offset = 8;
        assert_eq!(p.judge(&keys(9..19)), Step::Page { next_offset: 16 });
        assert!(!p.unstable);
    }

    #[test]
    fn endless_shifting_is_reported_not_looped() {
        let mut p = OverlapPager::new(10, 2, 0);
        let mut steps = 0;
        loop {
            steps += 1;
            match p.judge(&keys(100 * steps..100 * steps + 10)) {
                Step::Page { next_offset } if p.unstable => {
                    assert!(next_offset > 0);
                    break;
                }
                Step::Page { next_offset } => p.offset = next_offset,
                Step::Reread => {}
                Step::Done => unreachable!(),
            }
            assert!(steps < 50, "did not terminate");
        }
        assert!(p.unstable);
    }
}
