//! desksync's integration tests, in one binary so the bundled DuckDB is linked once. Every
//! network request goes to a simulator on 127.0.0.1.

mod analysts;
mod backfill;
mod browser;
mod catalog;
mod cli;
mod columns;
mod common;
mod config;
mod conformance;
mod crash;
mod deploy;
mod faults;
mod lake;
mod layout;
mod liveagent;
mod liveforce;
mod livezilla;
mod load;
mod locking;
mod questions;
mod schema;
mod serve;
mod truth;
mod views;
