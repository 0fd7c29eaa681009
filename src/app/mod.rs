//! The application layer: each verb a user runs, as functions the command line (and tests)
//! call. The CLI (`src/cli.rs`, in the binary) parses arguments, calls one of these and prints
//! what it returns; nothing here prints results or parses arguments.
//!
//! * [`run`]: run a pipeline's streams once and record the run (`desksync run`).
//! * [`backfill`]: history window by window, resumable, recorded in a ledger.
//! * [`serve`]: the long-running service: cron schedules, reloads, suspension, health,
//!   metrics and status over HTTP.
//! * [`demo`]: the built-in simulator of every registered vendor synced into a new directory.
//! * [`bench`]: a full and an incremental run against a simulator in a separate process, with
//!   the figures each phase measured.
//! * [`sql`]: one analyst's query against the snapshot (or the live warehouse).
//! * [`report`]: the static HTML report of the help-desk questions (`desksync report`).
//! * [`status_page`]: `serve`'s HTML page at `/`; [`html`]: the layout and SVG charts both use.
//!
//! Extending it: a new verb is a module here returning what the CLI prints; its errors are an
//! [`AppError`] so the binary can print the whole cause chain.

pub mod backfill;
pub mod bench;
pub mod demo;
pub mod html;
pub mod report;
pub mod run;
pub mod serve;
pub mod sql;
pub mod status_page;

use crate::error::{SyncError, WarehouseError};

/// Why a verb could not do what it was asked.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// What the user asked cannot be done as asked; the message says what to do instead.
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Config(#[from] crate::config::ConfigErrors),
    #[error(transparent)]
    Warehouse(#[from] WarehouseError),
    #[error(transparent)]
    Sync(#[from] SyncError),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

impl AppError {
    pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> AppError {
        let context = context.into();
        move |source| AppError::Io { context, source }
    }
}
