//! Connectors, registered in one place: [`REGISTRY`] lists every vendor, one line each; each
//! vendor's folder (`sources/<vendor>/`) implements [`Connector`] (its streams, HTTP client,
//! settings, and the sync of each stream) in its `settings.rs` and `mod.rs`. `desksync
//! streams`, configuration validation, the runner and the demo read from here.
//!
//! Adding a connector (see `docs/architecture.md` for the whole recipe):
//! 1. create `sources/<vendor>/mod.rs` (its streams, HTTP client, and a type whose
//!    `sync_stream` pages through the vendor with [`crate::http::HttpClient`], normalizes records
//!    into `model` rows and hands each bounded unit to [`crate::engine::StreamCtx::commit`]) and
//!    `sources/<vendor>/settings.rs` (its [`ConnectorSpec`] and [`Connector`]);
//! 2. add its line to [`REGISTRY`];
//! 3. teach the simulator to speak the vendor (`simulator/<vendor>/`) so tests can run against it.

pub mod liveagent;
pub mod liveforce;
pub mod livezilla;

use crate::config::{Config, ConfigErrors, ConnectorSpec, PipelineConfig, StreamSpec};
use crate::engine::StreamCtx;
use futures::future::BoxFuture;

use crate::error::SyncError;
use crate::http::HttpClient;
use crate::model::Table;

/// Every connector, one line each: the one place a vendor is registered.
pub static REGISTRY: &[&dyn Connector] =
    &[&liveagent::settings::CONNECTOR, &livezilla::settings::CONNECTOR, &liveforce::settings::CONNECTOR];

/// Everything desksync needs of a vendor, implemented in the vendor's folder: what configuration
/// knows of it ([`ConnectorSpec`]), its streams, its HTTP client (authentication and error
/// decoding), and how to open a configured instance.
pub trait Connector: ConnectorSpec {
    /// Every stream, in the order the runner syncs them (dimensions first).
    fn stream_infos(&self) -> Vec<StreamInfo>;
    /// Whether a backfill can load this stream window by window (its API filters by dates).
    fn windowable(&self, _stream: &str) -> bool {
        false
    }
    /// The HTTP client of a pipeline: the connector's authentication and error decoding over
    /// the pipeline's `[http]` settings.
    fn http_client(&self, cfg: &PipelineConfig) -> HttpClient;
    /// A configured instance over `http`.
    fn open(&self, cfg: &PipelineConfig, http: HttpClient) -> Box<dyn Connection>;
}

/// A configured connector: what a run calls.
pub trait Connection: Send + Sync {
    fn http(&self) -> &HttpClient;
    /// One cheap authenticated request; `Ok` holds a one-line description of what answered.
    fn check(&self) -> BoxFuture<'_, Result<String, SyncError>>;
    /// Sync one stream. Streams that ride along with another (LiveAgent messages with
    /// conversations) return at once when their parent handles them.
    fn sync_stream<'a>(&'a self, stream: &'a str, ctx: &'a mut StreamCtx) -> BoxFuture<'a, Result<(), SyncError>>;
}

/// Implements [`Connection`] for a vendor's type that has an `http` field and inherent
/// `async fn check(&self)` and `async fn sync_stream(&self, stream, ctx)`.
macro_rules! connection {
    ($ty:ty) => {
        impl $crate::sources::Connection for $ty {
            fn http(&self) -> &$crate::http::HttpClient {
                &self.http
            }

            fn check(&self) -> futures::future::BoxFuture<'_, Result<String, $crate::error::SyncError>> {
                Box::pin(<$ty>::check(self))
            }

            fn sync_stream<'a>(
                &'a self,
                stream: &'a str,
                ctx: &'a mut $crate::engine::StreamCtx,
            ) -> futures::future::BoxFuture<'a, Result<(), $crate::error::SyncError>> {
                Box::pin(<$ty>::sync_stream(self, stream, ctx))
            }
        }
    };
}
pub(crate) use connection;

/// The registry as configuration sees it.
fn specs() -> Vec<&'static dyn ConnectorSpec> {
    REGISTRY.iter().map(|c| *c as &dyn ConnectorSpec).collect()
}

/// The configuration at `path`, validated against the registered connectors (see
/// [`crate::config::load`]).
pub fn load_config(path: &std::path::Path) -> Result<Config, ConfigErrors> {
    crate::config::load(path, &specs())
}

/// [`load_config`], with broken pipelines set aside (see [`crate::config::load_partial`]).
pub fn load_config_partial(
    path: &std::path::Path,
) -> Result<(Config, Vec<crate::config::BrokenPipeline>), ConfigErrors> {
    crate::config::load_partial(path, &specs())
}

impl PipelineConfig {
    /// The pipeline's connector.
    pub fn kind(&self) -> SourceKind {
        SourceKind::from_name(self.source).expect("configuration validates the source against the registry")
    }
}

/// Streams as configuration sees them.
pub fn stream_specs(infos: &[StreamInfo]) -> Vec<StreamSpec> {
    infos.iter().map(|s| StreamSpec { name: s.name, default_on: s.default_on, parent: s.parent }).collect()
}

/// A registered connector, by handle (cheap to copy, compared by name).
#[derive(Clone, Copy)]
pub struct SourceKind(&'static dyn Connector);

impl std::fmt::Debug for SourceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl PartialEq for SourceKind {
    fn eq(&self, other: &SourceKind) -> bool {
        self.name() == other.name()
    }
}

impl Eq for SourceKind {}

impl SourceKind {
    /// Every registered connector, in registry order.
    pub fn all() -> Vec<SourceKind> {
        REGISTRY.iter().map(|c| SourceKind(*c)).collect()
    }

    pub fn name(self) -> &'static str {
        self.0.name()
    }

    pub fn from_name(s: &str) -> Option<SourceKind> {
        REGISTRY.iter().find(|c| c.name() == s).map(|c| SourceKind(*c))
    }

    /// What configuration knows of it.
    pub fn spec(self) -> &'static dyn ConnectorSpec {
        self.0
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
    kind.0.stream_infos()
}

pub fn stream_names(kind: SourceKind) -> Vec<&'static str> {
    streams(kind).iter().map(|s| s.name).collect()
}

/// Whether a backfill can load `stream` window by window (its API filters by a date range).
/// The others (small dimensions, lists without date filters) are brought up to date by `run`.
pub fn windowable(kind: SourceKind, stream: &str) -> bool {
    kind.0.windowable(stream)
}

/// The streams a pipeline syncs when it does not list them.
pub fn default_stream_names(kind: SourceKind) -> Vec<&'static str> {
    streams(kind).iter().filter(|s| s.default_on).map(|s| s.name).collect()
}

/// The HTTP client of a pipeline: the connector's authentication and error decoding over the
/// pipeline's `[http]` settings.
pub fn http_client(cfg: &PipelineConfig) -> HttpClient {
    cfg.kind().0.http_client(cfg)
}

/// A configured connector instance.
pub struct Source(Box<dyn Connection>);

impl Source {
    pub fn new(cfg: &PipelineConfig, http: HttpClient) -> Source {
        Source(cfg.kind().0.open(cfg, http))
    }

    /// One cheap authenticated request; `Ok` holds a one-line description of what answered.
    pub async fn check(&self) -> Result<String, SyncError> {
        self.0.check().await
    }

    /// Before the streams start: one cheap authenticated request (the same as `check`), retried
    /// at most once. A host that is down or refuses the credentials then ends the run in
    /// seconds with one message instead of every stream retrying every request; vendors that
    /// lock an account after failed logins (LiveZilla) see one attempt, not one per stream (the
    /// client then refuses every later request itself).
    pub async fn preflight(&self) -> Result<(), SyncError> {
        crate::http::with_retry_limit(1, self.check()).await.map(|_| ())
    }

    /// Whether a preflight failure ends the run before any stream starts: the host cannot be
    /// reached, does not answer, or refused the credentials. Anything else (a 403 on the check's
    /// endpoint, an odd answer) is logged and the streams run, each reporting its own errors.
    pub fn preflight_is_fatal(&self, e: &SyncError) -> bool {
        match e {
            SyncError::Http(h) => h.host_unreachable() || h.timed_out() || self.http().refused().is_some(),
            _ => false,
        }
    }

    /// Sync one stream.
    pub async fn sync_stream(&self, stream: &str, ctx: &mut StreamCtx) -> Result<(), SyncError> {
        self.0.sync_stream(stream, ctx).await
    }

    pub fn http(&self) -> &HttpClient {
        self.0.http()
    }
}
