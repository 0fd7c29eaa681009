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

use crate::config::PipelineConfig;
use crate::engine::StreamCtx;
use crate::error::SyncError;
use crate::http::HttpClient;
use crate::model::Table;

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

/// The vendor-specific top of a pipeline file `desksync init` writes: where the account is and
/// how it authenticates (secrets by reference), each key with a comment.
pub fn sample_head(kind: SourceKind, name: &str) -> String {
    match kind {
        SourceKind::LiveAgent => format!(
            "source = \"liveagent\"\n\
             base_url = \"https://{name}.ladesk.com\"        # your account's address; the API lives under /api\n\
             account = \"{name}\"                            # stored in every row's `account` column\n\
             api_key = \"${{LIVEAGENT_API_KEY}}\"           # by reference only; or: api_key_file = \"/run/secrets/liveagent\"\n\
             timezone = \"UTC\"                             # the zone the account reports times in (old accounts: America/Phoenix)\n"
        ),
        SourceKind::LiveZilla => format!(
            "source = \"livezilla\"\n\
             base_url = \"https://chat.example.com/livezilla\"   # the folder that holds api/v2/api.php\n\
             account = \"{name}\"                                # stored in every row's `account` column\n\
             username = \"apiadmin\"                             # an operator with API permission\n\
             password = \"${{LIVEZILLA_PASSWORD}}\"              # by reference only; or: password_file = \"/run/secrets/livezilla\"\n\
             # password_is_md5 = false                           # true when the value above is already the MD5 hex\n\
             timezone = \"UTC\"                                  # the server's zone (chat transcripts carry local times)\n"
        ),
        SourceKind::Liveforce => format!(
            "source = \"liveforce\"\n\
             base_url = \"https://crm.example.com/api\"   # where POST /ticket/create answers\n\
             account = \"{name}\"                         # stored in every row's `account` column\n\
             username = \"api-user\"                      # HTTP Basic user\n\
             password = \"${{LIVEFORCE_PASSWORD}}\"       # by reference only; or: password_file = \"/run/secrets/liveforce\"\n\
             timezone = \"UTC\"                           # Perfex dates are server-local: the server's zone\n"
        ),
    }
}

/// The vendor-specific tail of a sample pipeline file (commented sections), if any.
pub fn sample_tail(kind: SourceKind) -> &'static str {
    match kind {
        SourceKind::Liveforce => {
            "\n# The list calls are not documented: these are desksync's inferred defaults; override any of\n\
             # them if your server differs (`desksync streams` marks every inferred call).\n\
             [liveforce]\n\
             # per_page = 100                               # rows asked per page (Perfex clamps to 100)\n\
             # page_param = \"page\"                         # name of the page-number parameter\n\
             # per_page_param = \"per_page\"                 # name of the page-size parameter\n\
             # paths.tickets = \"/ticket/list\"              # any call's path: tickets, ticket_details, ticket_statuses,\n\
             #                                              # staff, call_logs, leads, lead_notes, leads_by_status,\n\
             #                                              # leads_summary, deals, deal_sources, deal_stages, deal_services\n"
        }
        _ => "",
    }
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
    match cfg.source {
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
        match cfg.source {
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
