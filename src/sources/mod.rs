//! Connectors, registered in one place: [`SourceKind::ALL`] lists every vendor and
//! [`streams`] every stream each one offers, with its table, key, cursor and sync mode. The
//! `desksync streams` command and config validation read from here.
//!
//! Adding a connector:
//! 1. add a variant to [`SourceKind`] (and to `ALL`, `name`);
//! 2. list its streams in [`streams`];
//! 3. write `sources/<vendor>.rs` with a `sync_stream` that pages through the vendor through
//!    [`crate::http::HttpClient`], normalizes records into `model` rows and hands each bounded
//!    batch with its new stream state to [`crate::engine::StreamCtx::commit`];
//! 4. dispatch to it in [`Source`];
//! 5. teach the simulator to speak the vendor so tests can run against it.

pub mod liveagent;
pub mod liveforce;
pub mod livezilla;

use crate::config::{Config, ConfigErrors, ConnectorSpec, PipelineConfig, StreamSpec};
use crate::engine::StreamCtx;
use crate::error::SyncError;
use crate::http::HttpClient;
use crate::model::Table;

/// What configuration needs to know of each connector, in the order `SourceKind::ALL` has them.
pub static CONNECTORS: &[&dyn ConnectorSpec] =
    &[&liveagent::settings::SPEC, &livezilla::settings::SPEC, &liveforce::settings::SPEC];

/// The configuration at `path`, validated against the registered connectors (see
/// [`crate::config::load`]).
pub fn load_config(path: &std::path::Path) -> Result<Config, ConfigErrors> {
    crate::config::load(path, CONNECTORS)
}

/// [`load_config`], with broken pipelines set aside (see [`crate::config::load_partial`]).
pub fn load_config_partial(
    path: &std::path::Path,
) -> Result<(Config, Vec<crate::config::BrokenPipeline>), ConfigErrors> {
    crate::config::load_partial(path, CONNECTORS)
}

impl PipelineConfig {
    /// The pipeline's connector.
    pub fn kind(&self) -> SourceKind {
        SourceKind::from_name(self.source).expect("configuration validates the source against the registry")
    }
}

/// A connector's streams as configuration sees them.
pub fn stream_specs(kind: SourceKind) -> Vec<StreamSpec> {
    streams(kind).iter().map(|s| StreamSpec { name: s.name, default_on: s.default_on, parent: s.parent }).collect()
}

/// The vendors desksync can read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SourceKind {
    LiveAgent,
    LiveZilla,
    Liveforce,
}

impl SourceKind {
    pub const ALL: &'static [SourceKind] = &[SourceKind::LiveAgent, SourceKind::LiveZilla, SourceKind::Liveforce];

    pub fn name(self) -> &'static str {
        match self {
            SourceKind::LiveAgent => "liveagent",
            SourceKind::LiveZilla => "livezilla",
            SourceKind::Liveforce => "liveforce",
        }
    }

    pub fn from_name(s: &str) -> Option<SourceKind> {
        SourceKind::ALL.iter().copied().find(|k| k.name() == s)
    }

    /// What configuration knows of it.
    pub fn spec(self) -> &'static dyn ConnectorSpec {
        CONNECTORS.iter().copied().find(|c| c.name() == self.name()).expect("every kind is registered")
    }
}

/// How a stream decides what to fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncMode {
    /// By a cursor column, with a lookback overlap; upsert by key.
    Incremental,
    /// Fetched with its parent stream's changed records (one request per parent).
    ChildOfChanged,
    /// The whole (small) list every run; rows no longer listed get `deleted_at`.
    FullRefresh,
    /// Captured every run and appended with `captured_at`.
    Snapshot,
    /// Day windows pulled once (and again while inside the restatement lookback), each
    /// replaced as a whole.
    ReportWindows,
    /// Merged from several endpoints (LiveAgent agents).
    Merged,
    /// Listed whole every run (no change filter exists); only records whose content hash
    /// changed are written.
    ChangedByHash,
}

impl SyncMode {
    pub fn name(self) -> &'static str {
        match self {
            SyncMode::Incremental => "incremental",
            SyncMode::ChildOfChanged => "per changed parent",
            SyncMode::FullRefresh => "full refresh",
            SyncMode::Snapshot => "snapshot (append)",
            SyncMode::ReportWindows => "report day windows",
            SyncMode::Merged => "merged",
            SyncMode::ChangedByHash => "full list, changed by hash",
        }
    }
}

/// A stream as `desksync streams` shows it.
#[derive(Debug, Clone)]
pub struct StreamInfo {
    pub name: &'static str,
    pub table: Table,
    pub mode: SyncMode,
    pub cursor: Option<&'static str>,
    pub endpoint: &'static str,
    /// Order in which the runner syncs streams (dimensions first).
    pub order: u8,
    /// Selected when a pipeline does not list its streams. Opt-in streams (one request per
    /// changed record) are off by default.
    pub default_on: bool,
    /// The stream whose changed records this one is read with (`ChildOfChanged`): selecting
    /// this one without its parent would load nothing.
    pub parent: Option<&'static str>,
}

/// Every stream of a connector.
pub fn streams(kind: SourceKind) -> Vec<StreamInfo> {
    match kind {
        SourceKind::LiveAgent => {
            let mut v = liveagent::STREAMS.to_vec();
            v.extend(liveagent::catalog::stream_infos());
            v.push(liveagent::catalog::AGENTS_INFO);
            v.sort_by_key(|s| s.order);
            v
        }
        SourceKind::LiveZilla => livezilla::STREAMS.to_vec(),
        SourceKind::Liveforce => liveforce::STREAMS.to_vec(),
    }
}

/// The stream `stream` of `kind`, if it has one by that name.
pub fn stream(kind: SourceKind, stream: &str) -> Option<StreamInfo> {
    streams(kind).into_iter().find(|s| s.name == stream)
}

pub fn stream_names(kind: SourceKind) -> Vec<&'static str> {
    streams(kind).iter().map(|s| s.name).collect()
}

/// Whether a backfill can load `stream` window by window (its API filters by a date range).
/// The others (small dimensions, lists without date filters) are brought up to date by `run`.
pub fn windowable(kind: SourceKind, stream: &str) -> bool {
    match kind {
        SourceKind::LiveAgent => stream == "conversations" || stream == "customers" || stream.starts_with("report_"),
        SourceKind::LiveZilla => stream == "tickets" || stream == "chats",
        SourceKind::Liveforce => false,
    }
}

/// The streams a pipeline syncs when it does not list them.
pub fn default_stream_names(kind: SourceKind) -> Vec<&'static str> {
    streams(kind).iter().filter(|s| s.default_on).map(|s| s.name).collect()
}

/// The HTTP client of a pipeline: the connector's authentication and error decoding over the
/// pipeline's `[http]` settings.
pub fn http_client(cfg: &PipelineConfig) -> HttpClient {
    match cfg.kind() {
        SourceKind::LiveAgent => liveagent::http_client(cfg),
        SourceKind::LiveZilla => livezilla::http_client(cfg),
        SourceKind::Liveforce => liveforce::http_client(cfg),
    }
}

/// A configured connector instance.
pub enum Source {
    LiveAgent(liveagent::LiveAgent),
    LiveZilla(livezilla::LiveZilla),
    Liveforce(liveforce::Liveforce),
}

impl Source {
    pub fn new(cfg: &PipelineConfig, http: HttpClient) -> Source {
        match cfg.kind() {
            SourceKind::LiveAgent => Source::LiveAgent(liveagent::LiveAgent::new(cfg, http)),
            SourceKind::LiveZilla => Source::LiveZilla(livezilla::LiveZilla::new(cfg, http)),
            SourceKind::Liveforce => Source::Liveforce(liveforce::Liveforce::new(cfg, http)),
        }
    }

    /// One cheap authenticated request; `Ok` holds a one-line description of what answered.
    pub async fn check(&self) -> Result<String, SyncError> {
        match self {
            Source::LiveAgent(s) => s.check().await,
            Source::LiveZilla(s) => s.check().await,
            Source::Liveforce(s) => s.check().await,
        }
    }

    /// Before the streams start: one cheap authenticated request (the same as `check`), retried
    /// at most once. A host that is down or refuses the credentials then ends the run in
    /// seconds with one message instead of every stream retrying every request; vendors that
    /// lock an account after failed logins (LiveZilla) see one attempt, not one per stream (the
    /// client then refuses every later request itself).
    pub async fn preflight(&self) -> Result<(), SyncError> {
        crate::http::with_retry_limit(1, self.check()).await.map(|_| ())
    }

    /// Sync one stream. Streams that ride along with another (LiveAgent messages with
    /// conversations) return immediately when their parent handles them.
    pub async fn sync_stream(&self, stream: &str, ctx: &mut StreamCtx) -> Result<(), SyncError> {
        match self {
            Source::LiveAgent(s) => s.sync_stream(stream, ctx).await,
            Source::LiveZilla(s) => s.sync_stream(stream, ctx).await,
            Source::Liveforce(s) => s.sync_stream(stream, ctx).await,
        }
    }

    pub fn http(&self) -> &HttpClient {
        match self {
            Source::LiveAgent(s) => &s.http,
            Source::LiveZilla(s) => &s.http,
            Source::Liveforce(s) => &s.http,
        }
    }
}
