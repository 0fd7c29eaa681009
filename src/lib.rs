//! desksync keeps an analytics warehouse in step with help desks: it pages through vendor REST
//! APIs, normalizes records into one columnar model (Arrow), and loads them incrementally into
//! DuckDB and a Parquet lake, with the watermark committed in the same transaction as the rows.
//!
//! # Layout
//!
//! * [`config`]: `desksync.toml` + `pipelines/*.toml`, env overrides, secrets by reference,
//!   validation that reports every problem at once.
//! * [`sources`]: the connector registry (every vendor and stream in one place) and one module
//!   per vendor: paging, change detection, normalization into [`model`] rows.
//! * [`http`]: the client all connectors share: auth, redaction, rate limiting, retries.
//! * [`model`]: the shared tables, their Arrow schemas and row structs (DDL in `schema/`).
//! * [`tables`]: the many small tables declared as data (dimensions, snapshots, reports), and
//!   [`normalize`], which types vendor records into their rows.
//! * [`pipeline`]: runs a pipeline's streams and records the run.
//! * [`backfill`]: history window by window, resumable, recorded in a ledger.
//! * [`serve`]: the long-running service: cron schedules, health, metrics and status over HTTP.
//! * [`reference`]: renders `docs/tables.md` (every table, column and view) from the DDL.
//! * [`warehouse`]: DuckDB: migrations, transactional upsert + state, run history, quarantine.
//! * [`lake`]: the Hive-partitioned Parquet mirror, rewritten atomically per partition.
//! * [`state`]: the versioned per-stream state format.
//! * [`simulator`]: LiveAgent and LiveZilla on 127.0.0.1, from one data set, for demo, tests,
//!   benches.
//! * [`telemetry`]: named events: log line + Prometheus counter in one place.
//! * [`timez`]: vendor wall-clock times ⇄ UTC, DST edges included.
//!
//! The command-line interface lives in the binary (`src/main.rs`, `src/cli.rs`), the only place
//! that uses `anyhow`.

pub mod backfill;
pub mod config;
pub mod error;
pub mod http;
pub mod lake;
pub mod model;
pub mod normalize;
pub mod pipeline;
pub mod reference;
pub mod serve;
pub mod simulator;
pub mod sources;
pub mod state;
pub mod tables;
pub mod telemetry;
pub mod timez;
pub mod warehouse;
