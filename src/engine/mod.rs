//! The machinery every connector shares, so each guarantee is written once: the context a
//! stream syncs in ([`ctx::StreamCtx`]: state, settings, shutdown, the commit of a unit of rows
//! and state in one transaction) and the pagers ([`paging`]).
//!
//! Extending it: a stream shape or pager that a second vendor needs moves here from the
//! vendor's folder, with its tests.

pub mod ctx;
pub mod paging;

pub use ctx::{PendingCommit, RunProgress, StreamCtx};
