//! The pagers, one family behind one interface ([`Pager`]): each says what to request next
//! ([`Request`]) and judges the page that came back by its rows' keys ([`Step`]), so a
//! connector's paging loop is the same whatever the vendor pages by.
//!
//! * [`OverlapPager`] — `limit`/`offset` with overlap and anchor. A row that changes (and moves
//!   to the end of a changed-ordered listing) or disappears between two requests shifts every
//!   later row one place towards the start, and the row at the page boundary is never seen.
//!   Each page after the first starts `overlap` rows early (at most half a page) and checks that
//!   the previous page's last row (the anchor) is among them; if not, rows shifted by more than
//!   the overlap could prove harmless, so it backs up one page and reads forward again (at most
//!   `MAX_REREADS` times per listing, after which it carries on and reports the listing as
//!   unstable, so the caller does not move its watermark or conclude anything from what was
//!   missing). Duplicates from the overlap are the caller's to skip (by key or content hash).
//! * [`PageNumberPager`] — `page`/`per_page` with repeated-page detection: a page with no key
//!   not seen before ends the listing (servers that ignore paging send the whole table again,
//!   others repeat their last page past the end), and so does a page shorter than the longest
//!   one. A server that answers a full first page of another size than asked has ignored the
//!   page size: [`PageNumberPager::ignored_page_size`] tells, so the caller can fail clearly
//!   instead of taking one page for the whole list.
//! * [`CursorPager`] — an opaque next-page token; a token seen before ends the listing.
//! * [`WindowPager`] — created-time windows `[from, to)` with a row limit: a full window may have
//!   lost rows, so it is split in half and read again (down to one second, which is then read
//!   whole); a sparse one (empty, or under a quarter full) doubles the next window, up to 64
//!   times the base, so years without records cost a few requests, not one per week.

/// What a pager wants requested next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Offset {
        offset: usize,
        limit: usize,
    },
    PageNumber {
        page: usize,
        per_page: usize,
    },
    Cursor {
        token: Option<String>,
    },
    /// Unix seconds `[from, to)`; `limit` 0 asks for the window whole.
    Window {
        from: i64,
        to: i64,
        limit: usize,
    },
}

/// The one interface of every pager.
pub trait Pager {
    /// The next request, `None` when the listing is complete.
    fn request(&self) -> Option<Request>;
    /// Judge the page that answered [`Pager::request`], given its rows' keys in order (and,
    /// for cursor paging, call [`CursorPager::next_token`] first).
    fn judge(&mut self, keys: &[Option<String>]) -> Step;
    /// Rows shifted more often than the pager could repair: what was not seen proves nothing.
    fn unstable(&self) -> bool {
        false
    }
}

const MAX_REREADS: usize = 10;

/// What to do with a page just read.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// The listing is exhausted (this page, if any, holds nothing to use).
    Done,
    /// The page cannot be trusted (rows shifted, a window was full): drop it and request again.
    Reread,
    /// Use the page; with an offset pager the next one starts at `next_offset` (other pagers
    /// say 0 and keep their position themselves).
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
            overlap: overlap.min(page_size / 2),
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

impl Pager for OverlapPager {
    fn request(&self) -> Option<Request> {
        Some(Request::Offset { offset: self.offset, limit: self.page_size })
    }

    fn judge(&mut self, keys: &[Option<String>]) -> Step {
        OverlapPager::judge(self, keys)
    }

    fn unstable(&self) -> bool {
        self.unstable
    }
}

/// Page-number paging (see the module docs).
#[derive(Debug, Clone)]
pub struct PageNumberPager {
    pub per_page: usize,
    /// The page to request next (1-based).
    pub page: usize,
    max_pages: usize,
    largest: usize,
    seen: std::collections::HashSet<String>,
    done: bool,
    /// The first page was full at another size than `per_page`.
    ignored_size: Option<usize>,
}

impl PageNumberPager {
    pub fn new(per_page: usize, max_pages: usize) -> PageNumberPager {
        PageNumberPager {
            per_page: per_page.max(1),
            page: 1,
            max_pages,
            largest: 0,
            seen: Default::default(),
            done: false,
            ignored_size: None,
        }
    }

    /// The size the server pages by when it ignored the one asked for (its first page held
    /// fewer rows than asked and the second page brought new rows).
    pub fn ignored_page_size(&self) -> Option<usize> {
        self.ignored_size
    }
}

impl Pager for PageNumberPager {
    fn request(&self) -> Option<Request> {
        (!self.done && self.page <= self.max_pages)
            .then_some(Request::PageNumber { page: self.page, per_page: self.per_page })
    }

    fn judge(&mut self, keys: &[Option<String>]) -> Step {
        let fresh = keys.iter().flatten().filter(|k| self.seen.insert((*k).clone())).count()
            + keys.iter().filter(|k| k.is_none()).count();
        if keys.is_empty() || fresh == 0 {
            // Nothing new: past the end, or the server ignores paging and sent it all again.
            self.done = true;
            return Step::Done;
        }
        if self.page == 2 && self.largest < self.per_page {
            // The first page was short, yet there is more: the server pages by its own size.
            self.ignored_size = Some(self.largest);
        }
        self.largest = self.largest.max(keys.len());
        // A page shorter than the longest one (the server's real page size) is the last.
        if keys.len() < self.largest {
            self.done = true;
        }
        self.page += 1;
        Step::Page { next_offset: 0 }
    }
}

/// Cursor-token paging (see the module docs).
#[derive(Debug, Clone, Default)]
pub struct CursorPager {
    token: Option<String>,
    seen: std::collections::HashSet<String>,
    done: bool,
    started: bool,
}

impl CursorPager {
    /// The token the page just read gives for the next one (`None`: it was the last).
    pub fn next_token(&mut self, token: Option<String>) {
        self.started = true;
        match token {
            Some(t) if self.seen.insert(t.clone()) => self.token = Some(t),
            _ => self.done = true,
        }
    }
}

impl Pager for CursorPager {
    fn request(&self) -> Option<Request> {
        (!self.done).then(|| Request::Cursor { token: self.token.clone() })
    }

    fn judge(&mut self, keys: &[Option<String>]) -> Step {
        if keys.is_empty() && self.started && self.token.is_none() {
            return Step::Done;
        }
        Step::Page { next_offset: 0 }
    }
}

/// Created-time windows that split when full and grow back when sparse (see the module docs).
#[derive(Debug, Clone)]
pub struct WindowPager {
    /// The start of the next window (unix seconds).
    pub from: i64,
    until: i64,
    base_step: i64,
    step: i64,
    limit: usize,
    /// The window at `from` is read whole (one second held `limit` rows).
    whole: bool,
    /// Windows split because they were full.
    pub splits: u64,
}

impl WindowPager {
    /// Windows of `base_step` seconds from `from` to `until`, at most `limit` rows each.
    pub fn new(from: i64, until: i64, base_step: i64, limit: usize) -> WindowPager {
        let base_step = base_step.max(1);
        WindowPager { from, until, base_step, step: base_step, limit: limit.max(1), whole: false, splits: 0 }
    }

    fn to(&self) -> i64 {
        (self.from + self.step).min(self.until)
    }
}

impl Pager for WindowPager {
    fn request(&self) -> Option<Request> {
        (self.from < self.until).then(|| Request::Window {
            from: self.from,
            to: self.to(),
            limit: if self.whole { 0 } else { self.limit },
        })
    }

    /// `keys` are the window's rows (only their number matters).
    fn judge(&mut self, keys: &[Option<String>]) -> Step {
        let count = keys.len();
        let to = self.to();
        if count >= self.limit && !self.whole {
            if to - self.from > 1 {
                self.step = ((to - self.from) / 2).max(1);
                self.splits += 1;
            } else {
                self.whole = true; // one second holding `limit` rows: read it whole
            }
            return Step::Reread;
        }
        self.whole = false;
        if count == 0 || count * 4 < self.limit {
            self.step = (self.step * 2).min(self.base_step * 64);
        }
        self.from = to;
        Step::Page { next_offset: 0 }
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

    fn drain(p: &mut impl Pager, mut answer: impl FnMut(&Request) -> Vec<Option<String>>) -> Vec<Request> {
        let mut asked = Vec::new();
        while let Some(r) = p.request() {
            asked.push(r.clone());
            let keys = answer(&r);
            if p.judge(&keys) == Step::Done {
                break;
            }
            assert!(asked.len() < 10_000, "did not terminate");
        }
        asked
    }

    #[test]
    fn page_numbers_end_on_a_repeated_page_and_notice_an_ignored_page_size() {
        // 25 rows, the server pages by 10 whatever it is asked, and repeats its last page.
        let server = |r: &Request| match r {
            Request::PageNumber { page, .. } => {
                let p = (*page).min(3);
                keys((p - 1) * 10..(p * 10).min(25))
            }
            _ => unreachable!(),
        };
        let mut p = PageNumberPager::new(100, 1000);
        assert_eq!(drain(&mut p, server).len(), 3, "the short third page is the last");
        assert_eq!(p.ignored_page_size(), Some(10));
        // A server honouring the size: one short page, nothing ignored.
        let mut p = PageNumberPager::new(100, 1000);
        drain(&mut p, |_| keys(0..25));
        assert_eq!(p.ignored_page_size(), None);
        // A server that ignores paging entirely: the same full list again ends it.
        let mut p = PageNumberPager::new(10, 1000);
        assert_eq!(drain(&mut p, |_| keys(0..10)).len(), 2);
    }

    #[test]
    fn cursor_tokens_end_at_none_or_a_repeat() {
        let mut p = CursorPager::default();
        let mut n = 0;
        while let Some(Request::Cursor { .. }) = p.request() {
            n += 1;
            p.next_token(Some(if n < 3 { format!("t{n}") } else { "t1".into() }));
            p.judge(&keys(0..5));
            assert!(n < 10);
        }
        assert_eq!(n, 3, "the repeated token ended the listing");
    }

    #[test]
    fn windows_split_when_full_grow_back_when_sparse_and_finish_with_tiny_limits() {
        // Records at every 10th second of the first day, a burst of 5 in one second, then ten
        // empty years the windows must cross in a few requests.
        let rows = |from: i64, to: i64, limit: usize| {
            let day = from.min(86_400)..to.min(86_400);
            let mut n = day.filter(|t| t % 10 == 0).count() + if (from..to).contains(&500) { 5 } else { 0 };
            if limit > 0 {
                n = n.min(limit);
            }
            keys(0..n)
        };
        for limit in [1, 2, 3, 50] {
            let mut p = WindowPager::new(0, 86_400 * 3_650, 3_600, limit);
            let mut total = 0;
            let mut requests = 0;
            while let Some(Request::Window { from, to, limit }) = p.request() {
                requests += 1;
                let k = rows(from, to, limit);
                if let Step::Page { .. } = p.judge(&k) {
                    total += k.len();
                }
                assert!(requests < 100_000, "limit {limit}: windows never grew back");
            }
            assert_eq!(total, 8_640 + 5, "limit {limit}: every record read once");
        }
    }
}
