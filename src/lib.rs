//! desksync keeps an analytics warehouse in step with help desks: it pages through vendor REST
//! APIs, normalizes records into one columnar model (Arrow), and loads them incrementally into
//! DuckDB and a Delta Lake (local disk or S3), with the watermark committed in the same transaction as the rows.
//!
//! # Layout
//!
//! * [`config`]: `desksync.toml` + `pipelines/*.toml`, env overrides, secrets by reference,
//!   validation that reports every problem at once (and, for `run`, one broken pipeline apart
//!   from the others). It names no vendor: connectors describe themselves to it
//!   (`ConnectorSpec`).
//! * [`sources`]: the connector registry (`REGISTRY`: one line per vendor; the `Connector` and
//!   `Connection` traits) and one folder per vendor (`sources/<vendor>/`: its settings, streams,
//!   paging, change detection, normalization into [`model`] rows).
//! * [`engine`]: what every connector shares: the stream context (state, settings, shutdown,
//!   the one way to commit rows and state) and the pagers.
//! * [`http`]: the client all connectors share: auth, redaction, rate limiting, retries, the
//!   preflight's retry budget and the host-down latch.
//! * [`model`]: the shared tables, their Arrow schemas and row structs (DDL in `schema/`); the
//!   many small tables declared as data (`model::tables`) and their normalizer
//!   (`model::normalize`).
//! * [`outcome`]: how runs and streams end (statuses and summaries), below everything that
//!   records or shows them.
//! * [`app`]: the application layer, one module per verb the CLI calls: `run` (a pipeline's
//!   streams once, after checking its paths and one preflight request, and the run recorded),
//!   `backfill` (history window by window, resumable, in a ledger), `serve` (cron schedules,
//!   reloads, suspension, health, metrics and status over HTTP), `demo`, `bench`, `sql`.
//! * [`reference`]: renders `docs/tables.md` (every table, column and view) from the DDL.
//! * [`warehouse`]: DuckDB, split by job: open and lock, migrations, the transactional commit,
//!   derived rows, state, run history and ledgers, the analysts' snapshot. The only module that
//!   writes SQL.
//! * [`lake`]: the Delta Lake mirror (local disk or S3), one atomic commit per table per run.
//! * [`state`]: the versioned per-stream state format.
//! * [`simulator`]: LiveAgent, LiveZilla and Liveforce on 127.0.0.1 (`simulator/<vendor>/`),
//!   from one data set, for demo, tests, benches.
//! * [`telemetry`]: named events: log line + Prometheus counter in one place.
//! * [`timez`]: vendor wall-clock times ⇄ UTC, DST edges included.
//!
//! The command-line interface lives in the binary (`src/main.rs`, `src/cli.rs`): it parses
//! arguments, calls [`app`] and prints; it is the only place that uses `anyhow`.

pub mod app;
pub mod config;
pub mod engine;
pub mod error;
pub mod http;
pub mod lake;
pub mod model;
pub mod outcome;
pub mod reference;
pub mod simulator;
pub mod sources;
pub mod state;
pub mod telemetry;
pub mod timez;
pub mod warehouse;
