//! Configuration: `desksync.toml` (process-wide settings) and `pipelines/*.toml` (one file per
//! pipeline), read with the `config` crate so every key can be overridden from the environment.
//!
//! * Settings: `DESKSYNC__WAREHOUSE__PATH=/data/w.duckdb` overrides `[warehouse] path`.
//! * Pipelines: `DESKSYNC_PIPELINE_<NAME>__HTTP__RATE_LIMIT_PER_MINUTE=120` overrides that key of
//!   pipeline `<name>` (name upper-cased, `-` as `_`).
//!
//! Secrets are only ever given by reference: `api_key = "${LIVEAGENT_API_KEY}"` or
//! `api_key_file = "/run/secrets/liveagent"`. They are held in [`Secret`], whose `Debug` and
//! `Display` print `***`.
//!
//! The configuration names no vendor: what it must know of a connector (its name, how it logs
//! in, its streams, a section of its own such as `[liveforce]`, its sample file) it asks a
//! [`ConnectorSpec`], and the caller passes the registered ones in
//! (`sources::load_config` does).
//!
//! [`load`] gathers every problem of every file (unknown keys, bad values, missing secrets) and
//! returns them together as [`ConfigErrors`]. Every field is documented where it is declared,
//! with its default; the README's configuration reference is written from these comments. To add
//! a setting: add the field with a `#[serde(default = ...)]`, document it, and validate it in
//! `validate_pipeline` if it has a range.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// A secret value (API key, password). Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// `desksync.toml`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default)]
pub struct Settings {
    pub warehouse: WarehouseSettings,
    pub lake: LakeSettings,
    /// Directory holding one `*.toml` file per pipeline, relative to the config file.
    /// Default: `pipelines`.
    pub pipelines_dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct WarehouseSettings {
    /// DuckDB file analysts query. Default: `warehouse.duckdb` next to `desksync.toml`.
    pub path: PathBuf,
    /// How long a run waits for the warehouse file when another process (an analyst's DuckDB
    /// session) holds its lock, before it fails. Default: `10m`.
    #[serde(with = "humantime_serde")]
    pub lock_timeout: Duration,
    /// DuckDB's memory limit while desksync has the file open (its buffer pool would otherwise
    /// grow to 80% of RAM as tables grow). With it, peak memory stays near this plus ~110 MB however
    /// large the warehouse gets; raise it for warehouses of many millions of rows. Default: `256MB`.
    pub memory_limit: String,
    /// After every run that changed something, publish a consistent copy of the warehouse here,
    /// replaced atomically: analysts open this file (read-only), so their sessions never block
    /// a sync and a sync never disturbs their queries. Empty: don't publish. Default:
    /// `analytics.duckdb` next to `desksync.toml`.
    pub publish_path: PathBuf,
}

impl Default for WarehouseSettings {
    fn default() -> Self {
        WarehouseSettings {
            path: PathBuf::from("warehouse.duckdb"),
            lock_timeout: Duration::from_secs(600),
            memory_limit: "256MB".into(),
            publish_path: PathBuf::from("analytics.duckdb"),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct LakeSettings {
    /// Write the Delta Lake tables after each run. Default: `true`.
    pub enabled: bool,
    /// Where the lake's tables go: a directory (relative to `desksync.toml`), or an
    /// S3-compatible URL `s3://bucket/prefix` (see `[lake.s3]`). Each table is a Delta Lake
    /// table below it (`<path>/tickets/_delta_log/…`). Default: `lake`.
    pub path: String,
    /// Rows per Parquet row group; bounds the writer's memory. Default: `65536`.
    pub row_group_rows: usize,
    /// Most rows in one data file; a larger partition is written as several files.
    /// Default: `1000000`.
    pub file_rows: usize,
    /// Write a Delta checkpoint every this many commits to a table (its
    /// `delta.checkpointInterval`, set when desksync creates the table). Default: `10`.
    pub checkpoint_interval: u32,
    /// `desksync lake vacuum` deletes data files unreferenced for longer than this (the
    /// table's `delta.deletedFileRetentionDuration`; readers time-travelling further back lose
    /// those versions). Default: `7d`.
    #[serde(with = "humantime_serde")]
    pub vacuum_retention: Duration,
    /// `desksync lake optimize` compacts a partition's files when they are smaller than this
    /// many bytes together. Default: `134217728` (128 MiB).
    pub target_file_bytes: u64,
    /// Object storage for an `s3://` path.
    pub s3: S3Settings,
}

impl Default for LakeSettings {
    fn default() -> Self {
        LakeSettings {
            enabled: true,
            path: "lake".into(),
            row_group_rows: 65536,
            file_rows: 1_000_000,
            checkpoint_interval: 10,
            vacuum_retention: Duration::from_secs(7 * 24 * 3600),
            target_file_bytes: 128 << 20,
            s3: S3Settings::default(),
        }
    }
}

/// `[lake.s3]`: an S3-compatible object store (AWS S3, MinIO, Ceph, R2, …). Credentials are
/// references like every other secret; left out, the usual `AWS_*` environment variables and
/// instance credentials apply.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default)]
pub struct S3Settings {
    /// The endpoint of a non-AWS store, e.g. `http://127.0.0.1:9000`. Default: AWS.
    pub endpoint: Option<String>,
    /// Default: `us-east-1`.
    pub region: Option<String>,
    /// `${ENV_VAR}` holding the access key id.
    pub access_key_id: Option<String>,
    /// `${ENV_VAR}` holding the secret access key.
    pub secret_access_key: Option<String>,
    /// `${ENV_VAR}` holding a session token (temporary credentials).
    pub session_token: Option<String>,
    /// Path-style requests (`endpoint/bucket/key`), which MinIO and most non-AWS stores need.
    /// Default: `true` when an endpoint is given.
    pub path_style: Option<bool>,
}

/// Where the lake lives, validated: a local directory or an S3 bucket and prefix.
#[derive(Debug, Clone, PartialEq)]
pub enum LakeLocation {
    Local(PathBuf),
    S3 {
        bucket: String,
        prefix: String,
        endpoint: Option<String>,
        region: String,
        path_style: bool,
        credentials: Option<S3Credentials>,
    },
}

/// Resolved S3 credentials (never printed: [`Secret`]).
#[derive(Debug, Clone, PartialEq)]
pub struct S3Credentials {
    pub access_key_id: Secret,
    pub secret_access_key: Secret,
    pub session_token: Option<Secret>,
}

impl fmt::Display for LakeLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LakeLocation::Local(p) => write!(f, "{}", p.display()),
            LakeLocation::S3 { bucket, prefix, .. } if prefix.is_empty() => write!(f, "s3://{bucket}"),
            LakeLocation::S3 { bucket, prefix, .. } => write!(f, "s3://{bucket}/{prefix}"),
        }
    }
}

impl LakeLocation {
    /// The local directory, when the lake is on local disk.
    pub fn local_dir(&self) -> Option<&Path> {
        match self {
            LakeLocation::Local(p) => Some(p),
            LakeLocation::S3 { .. } => None,
        }
    }
}

/// `lake.path` and `[lake.s3]` as a [`LakeLocation`]; the problems, by key, if any.
fn lake_location(settings: &LakeSettings, base: &Path) -> Result<LakeLocation, Vec<(String, String)>> {
    let raw = settings.path.trim();
    let Some(rest) = raw.strip_prefix("s3://") else {
        if raw.contains("://") {
            return Err(vec![("lake.path".into(), format!("'{raw}': only local paths and s3:// URLs are supported"))]);
        }
        let p = Path::new(raw);
        return Ok(LakeLocation::Local(if p.is_absolute() { p.to_path_buf() } else { base.join(p) }));
    };
    let mut problems = Vec::new();
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        problems.push(("lake.path".into(), format!("'{raw}' names no bucket (s3://bucket/prefix)")));
    }
    let s3 = &settings.s3;
    if s3.access_key_id.is_some() != s3.secret_access_key.is_some() {
        problems.push(("lake.s3".into(), "give both access_key_id and secret_access_key, or neither".into()));
    }
    let mut secret = |key: &str, reference: &Option<String>| -> Option<Secret> {
        let r = reference.as_ref()?;
        match resolve_secret_reference(r, "AWS_SECRET_ACCESS_KEY", "the AWS_* environment variables") {
            Ok(s) => Some(s),
            Err(e) => {
                problems.push((format!("lake.s3.{key}"), e));
                None
            }
        }
    };
    let id = secret("access_key_id", &s3.access_key_id);
    let key = secret("secret_access_key", &s3.secret_access_key);
    let token = secret("session_token", &s3.session_token);
    let credentials = match (id, key) {
        (Some(access_key_id), Some(secret_access_key)) => {
            Some(S3Credentials { access_key_id, secret_access_key, session_token: token })
        }
        _ => None,
    };
    if let Some(e) = &s3.endpoint
        && !(e.starts_with("http://") || e.starts_with("https://"))
    {
        problems.push(("lake.s3.endpoint".into(), format!("'{e}' must start with http:// or https://")));
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(LakeLocation::S3 {
        bucket: bucket.to_string(),
        prefix: prefix.trim_matches('/').to_string(),
        endpoint: s3.endpoint.clone(),
        region: s3.region.clone().unwrap_or_else(|| "us-east-1".into()),
        path_style: s3.path_style.unwrap_or(s3.endpoint.is_some()),
        credentials,
    })
}

/// One `pipelines/<name>.toml` file as written.
#[derive(Debug, Clone, Deserialize)]
pub struct PipelineFile {
    /// Pipeline name, used in state, run history and on the command line. Default: file stem.
    pub name: Option<String>,
    /// Connector: `liveagent`, … (required; see `desksync streams`). The three required keys
    /// are optional here so that a file missing one still has every other problem reported.
    pub source: Option<String>,
    /// The account's API root, e.g. `https://acme.ladesk.com` (required).
    pub base_url: Option<String>,
    /// Account name stored in every row's `account` column (required; letters, digits, `-`, `_`).
    pub account: Option<String>,
    /// API key by reference: `${ENV_VAR}`. Either this or `api_key_file`.
    pub api_key: Option<String>,
    /// Path of a file holding the API key (trailing whitespace trimmed).
    pub api_key_file: Option<PathBuf>,
    /// Connectors that log in: the login (see the connector's sample).
    pub username: Option<String>,
    /// Connectors that log in: the password by reference (`${ENV_VAR}`). Either this or
    /// `password_file`. Never logged.
    pub password: Option<String>,
    /// Connectors that log in: path of a file holding the password.
    pub password_file: Option<PathBuf>,
    /// Connectors that take the password as its MD5 hex: the password given is already that.
    /// Default: `false`.
    #[serde(default)]
    pub password_is_md5: bool,
    /// Time zone the account reports its times in (IANA name). Default: `UTC`.
    /// Old LiveAgent accounts report `America/Phoenix`.
    #[serde(default = "default_tz")]
    pub timezone: String,
    /// Time zone the API reads filter values in. Default: `UTC`.
    #[serde(default = "default_tz")]
    pub filter_timezone: String,
    /// Streams to sync. Default: every stream of the connector except the opt-in ones
    /// (`desksync streams` marks them).
    pub streams: Option<Vec<String>>,
    /// Cron schedule for `serve` (seconds field first), e.g. `0 */15 * * * *`. Default: none.
    pub schedule: Option<String>,
    #[serde(default)]
    pub http: HttpSettings,
    #[serde(default)]
    pub sync: SyncSettings,
    /// Every other top-level key: the connector's own section (its
    /// [`ConnectorSpec::section`]), checked by the connector; anything else is an unknown key.
    #[serde(flatten)]
    pub sections: BTreeMap<String, toml::Value>,
}

/// How a connector authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Login {
    /// An API key: `api_key` / `api_key_file`.
    ApiKey,
    /// `username` and `password` / `password_file`; `md5`: the vendor takes the password's MD5
    /// hex (kept as that; `password_is_md5` says it is given so already).
    Password { md5: bool },
}

/// A stream as configuration sees it.
#[derive(Debug, Clone, Copy)]
pub struct StreamSpec {
    pub name: &'static str,
    /// Selected when a pipeline does not list its streams.
    pub default_on: bool,
    /// Read with each changed record of this stream: selecting one without it loads nothing.
    pub parent: Option<&'static str>,
}

/// What configuration needs to know of a connector. Each vendor implements it in its folder;
/// the registry (`sources::CONNECTORS`) lists them.
pub trait ConnectorSpec: Sync {
    /// The `source = "…"` value.
    fn name(&self) -> &'static str;
    fn login(&self) -> Login;
    fn streams(&self) -> Vec<StreamSpec>;
    /// The name of a top-level table of its own in a pipeline file (`[liveforce]`), if any.
    fn section(&self) -> Option<&'static str> {
        None
    }
    /// Problems of that section, as (key below it, message).
    fn check_section(&self, _section: &toml::Value) -> Vec<(String, String)> {
        Vec::new()
    }
    /// Keys of `[sync]` only this connector reads: (key, its default as TOML, what it does).
    fn sync_keys(&self) -> Vec<(&'static str, String, &'static str)> {
        Vec::new()
    }
    /// Problems of those keys as given, as (key, message).
    fn check_sync(&self, _keys: &BTreeMap<String, toml::Value>) -> Vec<(String, String)> {
        Vec::new()
    }
    /// The top of the file `desksync init` writes (required keys, secrets as references) and
    /// what follows the common keys (its section, commented).
    fn sample(&self, name: &str) -> (String, String);
}

fn default_tz() -> String {
    "UTC".into()
}

/// `[http]` of a pipeline: how politely and persistently to talk to the vendor.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct HttpSettings {
    /// Requests per minute for this account, shared by all its streams. Default: `180`
    /// (LiveAgent's documented limit per API key).
    pub rate_limit_per_minute: u32,
    /// Percent below `rate_limit_per_minute` desksync paces itself; half of it allows short
    /// bursts that absorb timer lateness, half is margin, so no sliding minute at the vendor
    /// exceeds the limit. Default: `3` (180/min is paced at 174/min, bursts of 2).
    pub rate_headroom_pct: f64,
    /// The window over which the vendor counts requests (`rate_limit_per_minute` scaled to it is
    /// the most any such window may hold). Bursts are sized so that no window of this length
    /// exceeds the limit. Default: `1m`.
    #[serde(with = "humantime_serde")]
    pub rate_limit_window: Duration,
    /// Requests in flight at once for this account. Default: `4`.
    pub max_in_flight: usize,
    /// Timeout of one request. Default: `30s`.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// Retries of one request on 429, 5xx, timeouts and dropped connections. Default: `6`.
    pub max_retries: usize,
    /// First retry delay; doubles each retry, with jitter. Default: `500ms`.
    #[serde(with = "humantime_serde")]
    pub retry_initial: Duration,
    /// Longest single wait, including a vendor's Retry-After; a longer Retry-After fails the
    /// request with a clear error instead. Default: `2m`.
    #[serde(with = "humantime_serde")]
    pub retry_max_wait: Duration,
}

/// The vendor's counting window unless configured: a sliding minute.
pub const DEFAULT_RATE_LIMIT_WINDOW: Duration = Duration::from_secs(60);

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            rate_limit_per_minute: 180,
            rate_headroom_pct: 3.0,
            rate_limit_window: DEFAULT_RATE_LIMIT_WINDOW,
            max_in_flight: 4,
            timeout: Duration::from_secs(30),
            max_retries: 6,
            retry_initial: Duration::from_millis(500),
            retry_max_wait: Duration::from_secs(120),
        }
    }
}

/// `[sync]` of a pipeline: incremental behaviour.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct SyncSettings {
    /// Re-read records changed up to this long before the last watermark, to catch records the
    /// vendor made visible late and clock skew. Default: `10m`.
    #[serde(with = "humantime_serde")]
    pub lookback: Duration,
    /// Rows per list request (LiveAgent allows at most 1000). Default: `1000`.
    pub page_size: usize,
    /// Rows a page overlaps the previous one, to detect rows shifting between pages (offset
    /// paging; capped at half a page, so any page size is valid). Default: `20`.
    pub page_overlap: usize,
    /// Conversations per load transaction (their messages go in the same one); bounds memory.
    /// Default: `250`.
    pub batch_size: usize,
    /// Message requests in flight at once (within `http.max_in_flight`). Default: `4`.
    pub message_concurrency: usize,
    /// How often to list every id and mark records the vendor no longer has with `deleted_at`
    /// (`0s`: never). Default: `7d`.
    #[serde(with = "humantime_serde")]
    pub reconcile_every: Duration,
    /// On the first run, fetch only records changed on or after this date (`YYYY-MM-DD`); also
    /// the first day of report windows. Default: everything (reports: see `report_history`).
    pub start_date: Option<String>,
    /// Streams of the pipeline synced at once (they share the account's rate limit, so one
    /// stream's commits do not leave the quota unused). Default: `3`.
    pub stream_concurrency: usize,
    /// Without `start_date`, report windows start this long before today. Default: `30d`.
    #[serde(with = "humantime_serde")]
    pub report_history: Duration,
    /// Report days this recent are pulled again every run and replace what was loaded, because
    /// the vendor restates recent days (late ratings, SLA evaluation). Default: `7d`.
    #[serde(with = "humantime_serde")]
    pub report_restatement: Duration,
    /// Record fields removed from `raw` before anything is stored, besides the built-in
    /// credential names (`crate::model::secrets`: any key naming a password, secret, token or
    /// API key, and `new_pass_key`, `salt`, `authorization`, `cookie`). Exact key names,
    /// case-insensitive, e.g. `["ticketkey"]`. Default: none.
    pub secret_fields: Vec<String>,
    /// Keys of `[sync]` that only the pipeline's connector reads ([`ConnectorSpec::sync_keys`]),
    /// checked and read by it; any other key here is an unknown key.
    #[serde(flatten)]
    pub connector_keys: BTreeMap<String, toml::Value>,
}

impl Default for SyncSettings {
    fn default() -> Self {
        SyncSettings {
            lookback: Duration::from_secs(600),
            page_size: 1000,
            page_overlap: 20,
            batch_size: 250,
            message_concurrency: 4,
            reconcile_every: Duration::from_secs(7 * 86_400),
            start_date: None,
            stream_concurrency: 3,
            report_history: Duration::from_secs(30 * 86_400),
            report_restatement: Duration::from_secs(7 * 86_400),
            secret_fields: Vec::new(),
            connector_keys: BTreeMap::new(),
        }
    }
}

/// The pipeline file `desksync init` writes for `kind`: the required keys set (secrets as
/// references), every other key commented out at its default, each with what it does.
pub fn sample_pipeline(kind: &dyn ConnectorSpec, name: &str) -> String {
    let h = HttpSettings::default();
    let s = SyncSettings::default();
    let d = |d: Duration| humantime::format_duration(d).to_string();
    let defaults: Vec<&str> = kind.streams().iter().filter(|s| s.default_on).map(|s| s.name).collect();
    let (head, tail) = kind.sample(name);
    let mut out = format!(
        "# Pipeline {name}: a {} account. Written by `desksync init`; every key is described in\n\
         # README.md#configuration. Commented keys show their defaults. Check it with `desksync validate`.\n\n",
        kind.name()
    );
    out.push_str(&head);
    out.push_str(&format!(
        "# name = \"{name}\"                 # the pipeline's name (default: the file name)\n\
         # filter_timezone = \"UTC\"          # the zone the API reads filter values in\n\
         # streams = [{}]\n\
         #                                  # default: all but the opt-in ones; `desksync streams -p {name}` lists them\n\
         # schedule = \"0 */15 * * * *\"      # for `desksync serve`: cron with seconds (sec min hour day month weekday)\n\n",
        defaults.iter().take(4).map(|s| format!("\"{s}\"")).collect::<Vec<_>>().join(", ")
    ));
    out.push_str(&format!(
        "[http]\n\
         # rate_limit_per_minute = {}       # requests per minute for the account, shared by all its streams\n\
         # rate_headroom_pct = {}             # percent below the limit desksync paces itself\n\
         # rate_limit_window = \"{}\"          # the window the vendor counts requests over\n\
         # max_in_flight = {}                 # requests in flight at once\n\
         # timeout = \"{}\"                  # of one request\n\
         # max_retries = {}                   # retries of one request on 429, 5xx, timeouts, dropped connections\n\
         # retry_initial = \"{}\"          # first retry delay (doubles, with jitter)\n\
         # retry_max_wait = \"{}\"            # longest single wait, a vendor's Retry-After included\n\n",
        h.rate_limit_per_minute,
        h.rate_headroom_pct,
        d(h.rate_limit_window),
        h.max_in_flight,
        d(h.timeout),
        h.max_retries,
        d(h.retry_initial),
        d(h.retry_max_wait)
    ));
    out.push_str(&format!(
        "[sync]\n\
         # lookback = \"{}\"                 # re-read records changed this long before the watermark\n\
         # page_size = {}                  # rows per list request\n\
         # page_overlap = {}                 # rows a page overlaps the previous one (offset paging; at most half a page)\n\
         # batch_size = {}                  # records per load transaction (bounds memory)\n\
         # message_concurrency = {}           # per-record requests in flight at once\n\
         # stream_concurrency = {}            # streams synced at once\n\
         # reconcile_every = \"{}\"           # how often deletions are reconciled by a full id listing (0s: never)\n\
         # start_date = \"2024-01-01\"        # first run: only records changed since (and the first report day)\n\
         # report_history = \"{}\"           # without start_date: report days from this long ago\n\
         # report_restatement = \"{}\"        # report days this recent are pulled again every run\n\
         # secret_fields = [\"ticketkey\"]     # record fields never stored, besides passwords, tokens, keys\n",
        d(s.lookback),
        s.page_size,
        s.page_overlap,
        s.batch_size,
        s.message_concurrency,
        s.stream_concurrency,
        d(s.reconcile_every),
        d(s.report_history),
        d(s.report_restatement),
    ));
    for (key, default, what) in kind.sync_keys() {
        out.push_str(&format!("# {key} = {default:<20} # {what}\n"));
    }
    out.push_str(&tail);
    out
}

/// A validated pipeline, secrets resolved.
#[derive(Debug, Clone)]
pub struct PipelineConfig {
    pub name: String,
    pub file: PathBuf,
    /// The connector's name (`sources::SourceKind::from_name` finds it in the registry).
    pub source: &'static str,
    pub base_url: reqwest::Url,
    pub account: String,
    /// The credential: the API key, or the password (as its MD5 hex where the connector asks).
    pub api_key: Secret,
    /// The login, for connectors that log in.
    pub username: Option<String>,
    /// The connector's own section, checked by it (`None`: not given).
    pub section: Option<toml::Value>,
    pub timezone: chrono_tz::Tz,
    pub filter_timezone: chrono_tz::Tz,
    pub streams: Vec<String>,
    pub schedule: Option<String>,
    pub http: HttpSettings,
    pub sync: SyncSettings,
    pub start_date: Option<chrono::NaiveDate>,
}

impl PipelineConfig {
    /// A digest of everything that configures the pipeline, secret included (never shown): a
    /// pipeline `serve` suspended for refused credentials resumes when this changes.
    pub fn fingerprint(&self) -> String {
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        h.update(format!("{self:?}").as_bytes());
        h.update(self.api_key.expose().as_bytes());
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// Everything `desksync` needs to run, validated.
#[derive(Debug, Clone)]
pub struct Config {
    pub settings: Settings,
    pub warehouse_path: PathBuf,
    /// Where the analysts' snapshot is published (`None`: not published).
    pub publish_path: Option<PathBuf>,
    /// Where the lake's Delta tables are.
    pub lake: LakeLocation,
    pub pipelines: Vec<PipelineConfig>,
}

impl Config {
    pub fn pipeline(&self, name: &str) -> Option<&PipelineConfig> {
        self.pipelines.iter().find(|p| p.name == name)
    }

    /// The named pipelines, or all when `names` is empty; an unknown name is an error.
    pub fn select(&self, names: &[String]) -> Result<Vec<&PipelineConfig>, String> {
        if names.is_empty() {
            return Ok(self.pipelines.iter().collect());
        }
        names
            .iter()
            .map(|n| {
                self.pipeline(n).ok_or_else(|| {
                    let known: Vec<&str> = self.pipelines.iter().map(|p| p.name.as_str()).collect();
                    format!("no pipeline named '{n}' (configured: {})", known.join(", "))
                })
            })
            .collect()
    }
}

/// One configuration problem, located by file and key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    pub file: PathBuf,
    pub key: String,
    pub message: String,
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(var) = self.key.strip_prefix('$') {
            // An environment override, reported as the variable the user set.
            write!(f, "environment variable {var} (overriding {}): {}", self.file.display(), self.message)
        } else if self.key.is_empty() {
            write!(f, "{}: {}", self.file.display(), self.message)
        } else {
            write!(f, "{}: {}: {}", self.file.display(), self.key, self.message)
        }
    }
}

/// Every problem found in the configuration.
#[derive(Debug, Clone, thiserror::Error)]
pub struct ConfigErrors(pub Vec<ConfigProblem>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "the configuration has {} problem(s):", self.0.len())?;
        for p in &self.0 {
            writeln!(f, "  - {p}")?;
        }
        Ok(())
    }
}

/// Deserialize `T` from a `config` source, collecting unknown keys instead of ignoring them.
fn read_file<T: for<'de> Deserialize<'de>>(
    path: &Path,
    env_prefix: &str,
    problems: &mut Vec<ConfigProblem>,
) -> Option<T> {
    let built = config::Config::builder()
        .add_source(config::File::from(path).format(config::FileFormat::Toml).required(true))
        .add_source(
            config::Environment::with_prefix(env_prefix)
                .prefix_separator("__")
                .separator("__")
                .try_parsing(true)
                .list_separator(",")
                .with_list_parse_key("streams"),
        )
        .build();
    let cfg = match built {
        Ok(c) => c,
        Err(e) => {
            problems.push(ConfigProblem { file: path.into(), key: String::new(), message: e.to_string() });
            return None;
        }
    };
    // Environment overrides of this file: (variable, the key it sets).
    let env_keys: Vec<(String, String)> = std::env::vars()
        .filter_map(|(var, _)| {
            let rest = var.strip_prefix(env_prefix)?.strip_prefix("__")?;
            Some((var.clone(), rest.to_lowercase().replace("__", ".")))
        })
        .collect();
    let from_env = |key: &str| env_keys.iter().find(|(_, k)| k == key).map(|(v, _)| v.clone());
    let mut unknown = Vec::new();
    let parsed: Result<T, _> = serde_ignored::deserialize(cfg, |p| unknown.push(p.to_string()));
    for key in unknown {
        match from_env(&key) {
            Some(var) => problems.push(ConfigProblem {
                file: path.into(),
                key: format!("${var}"),
                message: format!("sets `{key}`, which is not a key of this file (see its commented sample)"),
            }),
            None => problems.push(ConfigProblem { file: path.into(), key, message: "unknown key".into() }),
        }
    }
    match parsed {
        Ok(v) => Some(v),
        Err(e) => {
            let message = e.to_string();
            // A bad value from an override names the key it came in as.
            let key = env_keys
                .iter()
                .find(|(_, k)| message.contains(&format!("`{k}`")) || message.contains(&format!(" {k} ")))
                .map(|(v, _)| format!("${v}"))
                .unwrap_or_default();
            problems.push(ConfigProblem { file: path.into(), key, message });
            None
        }
    }
}

/// `desksync.toml` (with its environment overrides), defaults when it is absent.
fn read_settings(config_path: &Path, problems: &mut Vec<ConfigProblem>) -> Settings {
    if config_path.exists() {
        read_file(config_path, "DESKSYNC", problems).unwrap_or_default()
    } else {
        Settings::default()
    }
}

/// `desksync.toml` alone, without reading any pipeline (what `desksync init` needs before the
/// pipelines directory exists).
pub fn load_settings(config_path: &Path) -> Result<Settings, ConfigErrors> {
    let mut problems = Vec::new();
    let settings = read_settings(config_path, &mut problems);
    if problems.is_empty() { Ok(settings) } else { Err(ConfigErrors(problems)) }
}

/// Where the pipeline files of the configuration at `config_path` are: `pipelines_dir`,
/// relative to the directory of `desksync.toml`. Default: `pipelines` beside it.
pub fn pipelines_dir(config_path: &Path, settings: &Settings) -> PathBuf {
    let dir = settings.pipelines_dir.as_deref().unwrap_or(Path::new("pipelines"));
    if dir.is_absolute() {
        dir.to_path_buf()
    } else {
        config_path.parent().map(Path::to_path_buf).unwrap_or_default().join(dir)
    }
}

/// A pipeline file that did not validate, with its problems.
#[derive(Debug, Clone)]
pub struct BrokenPipeline {
    /// The pipeline's name as far as it is known (the file stem).
    pub name: String,
    pub file: PathBuf,
    pub problems: Vec<ConfigProblem>,
}

/// Load `desksync.toml` (optional: defaults when absent) and every `*.toml` in the pipelines
/// directory. Relative paths are resolved against the directory of `config_path`. Any problem
/// in any file is an error: what `serve`, its reloads and `validate` use.
pub fn load(config_path: &Path, connectors: &[&dyn ConnectorSpec]) -> Result<Config, ConfigErrors> {
    let (config, broken) = load_partial(config_path, connectors)?;
    if broken.is_empty() {
        Ok(config)
    } else {
        Err(ConfigErrors(broken.into_iter().flat_map(|b| b.problems).collect()))
    }
}

/// Like [`load`], but one pipeline's problems do not stop the others: the valid pipelines come
/// back with the broken ones and their problems (what `desksync run` uses, so a missing
/// `${VAR}` of one account does not stop every other account's sync). Problems of
/// `desksync.toml` itself or an unreadable pipelines directory are still errors.
pub fn load_partial(
    config_path: &Path,
    connectors: &[&dyn ConnectorSpec],
) -> Result<(Config, Vec<BrokenPipeline>), ConfigErrors> {
    let mut problems = Vec::new();
    let base = config_path.parent().map(Path::to_path_buf).unwrap_or_default();
    let settings = read_settings(config_path, &mut problems);
    let resolve = |p: &Path| if p.is_absolute() { p.to_path_buf() } else { base.join(p) };
    let pipelines_dir = pipelines_dir(config_path, &settings);
    let mut pipelines = Vec::new();
    let mut files: Vec<PathBuf> = match std::fs::read_dir(&pipelines_dir) {
        Ok(rd) => {
            rd.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|x| x == "toml")).collect()
        }
        Err(e) => {
            problems.push(ConfigProblem {
                file: pipelines_dir.clone(),
                key: String::new(),
                message: format!("cannot read the pipelines directory: {e}"),
            });
            Vec::new()
        }
    };
    files.sort();
    let mut names: BTreeMap<String, PathBuf> = BTreeMap::new();
    let mut broken = Vec::new();
    for file in files {
        let stem = file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let prefix = format!("DESKSYNC_PIPELINE_{}", stem.to_uppercase().replace('-', "_"));
        let mut mine = Vec::new();
        let valid = read_file::<PipelineFile>(&file, &prefix, &mut mine)
            .and_then(|raw| validate_pipeline(&file, &stem, raw, &base, connectors, &mut mine));
        if let Some(p) = &valid
            && let Some(prev) = names.get(&p.name)
        {
            mine.push(ConfigProblem {
                file: file.clone(),
                key: "name".into(),
                message: format!("pipeline name '{}' is also used by {}", p.name, prev.display()),
            });
        }
        match valid {
            Some(p) if mine.is_empty() => {
                names.insert(p.name.clone(), file.clone());
                pipelines.push(p);
            }
            _ => broken.push(BrokenPipeline { name: stem, file, problems: mine }),
        }
    }
    let lake = match lake_location(&settings.lake, &base) {
        Ok(l) => l,
        Err(ps) => {
            for (key, message) in ps {
                problems.push(ConfigProblem { file: config_path.into(), key, message });
            }
            LakeLocation::Local(base.join("lake"))
        }
    };
    if !problems.is_empty() {
        // desksync.toml or the pipelines directory: nothing can run. Report everything at once.
        problems.extend(broken.into_iter().flat_map(|b| b.problems));
        return Err(ConfigErrors(problems));
    }
    Ok((
        Config {
            warehouse_path: resolve(&settings.warehouse.path),
            publish_path: (!settings.warehouse.publish_path.as_os_str().is_empty())
                .then(|| resolve(&settings.warehouse.publish_path)),
            lake,
            settings,
            pipelines,
        },
        broken,
    ))
}

fn validate_pipeline(
    file: &Path,
    stem: &str,
    raw: PipelineFile,
    base: &Path,
    connectors: &[&dyn ConnectorSpec],
    problems: &mut Vec<ConfigProblem>,
) -> Option<PipelineConfig> {
    let before = problems.len();
    let mut bad = |key: &str, message: String| {
        problems.push(ConfigProblem { file: file.into(), key: key.into(), message });
    };
    let name = raw.name.clone().unwrap_or_else(|| stem.to_string());
    let valid_ident = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !valid_ident(&name) {
        bad("name", format!("'{name}' must be letters, digits, '-' or '_'"));
    }
    let required = |key: &str, v: &Option<String>, example: &str, bad: &mut dyn FnMut(&str, String)| {
        if v.is_none() {
            bad(key, format!("missing: this key is required (e.g. {key} = \"{example}\")"));
        }
        v.clone().unwrap_or_default()
    };
    let known: Vec<&str> = connectors.iter().map(|k| k.name()).collect();
    let raw_source = required("source", &raw.source, &known.join("\" or \""), &mut bad);
    let raw_base_url = required("base_url", &raw.base_url, "https://acme.example.com", &mut bad);
    let raw_account = required("account", &raw.account, "acme", &mut bad);
    if raw.account.is_some() && !valid_ident(&raw_account) {
        bad("account", format!("'{raw_account}' must be letters, digits, '-' or '_'"));
    }
    let source: Option<&dyn ConnectorSpec> = connectors.iter().copied().find(|c| c.name() == raw_source);
    if source.is_none() && raw.source.is_some() {
        bad("source", format!("unknown source '{raw_source}' (known: {})", known.join(", ")));
    }
    // Top-level keys no field took: the connector's own section, else unknown.
    let mut section = None;
    for (key, value) in &raw.sections {
        match source.and_then(|c| c.section().filter(|s| s == key).map(|_| c)) {
            Some(c) => {
                for (k, m) in c.check_section(value) {
                    bad(&format!("{key}.{k}"), m);
                }
                section = Some(value.clone());
            }
            None => bad(key, "unknown key".into()),
        }
    }
    // Keys of [sync] no common field took: the connector's own, else unknown.
    let own: Vec<&'static str> = source.map(|c| c.sync_keys().iter().map(|k| k.0).collect()).unwrap_or_default();
    for key in raw.sync.connector_keys.keys().filter(|k| !own.contains(&k.as_str())) {
        bad(&format!("sync.{key}"), "unknown key".into());
    }
    if let Some(c) = source {
        let given: BTreeMap<String, toml::Value> = raw
            .sync
            .connector_keys
            .iter()
            .filter(|(k, _)| own.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (k, m) in c.check_sync(&given) {
            bad(&format!("sync.{k}"), m);
        }
    }
    let base_url = match reqwest::Url::parse(&raw_base_url) {
        _ if raw.base_url.is_none() => None,
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Some(u),
        Ok(_) => {
            bad("base_url", format!("'{raw_base_url}' must be an http(s) URL with a host"));
            None
        }
        Err(e) => {
            bad("base_url", format!("'{raw_base_url}' is not a URL: {e}"));
            None
        }
    };
    // The credential: an API key, or a password (kept as its MD5 hex where the connector takes
    // that).
    let login = source.map(|c| c.login()).unwrap_or(Login::ApiKey);
    let md5 = login == Login::Password { md5: true };
    let logins: Vec<&str> = connectors.iter().filter(|c| c.login() != Login::ApiKey).map(|c| c.name()).collect();
    let (key_name, file_name, reference, secret_file) = if login != Login::ApiKey {
        if raw.api_key.is_some() || raw.api_key_file.is_some() {
            bad("api_key", format!("{raw_source} authenticates with username and password, not an API key"));
        }
        if raw.username.as_deref().is_none_or(|u| u.trim().is_empty()) {
            bad("username", "missing: the login the API accepts".into());
        }
        ("password", "password_file", &raw.password, &raw.password_file)
    } else {
        for (key, given) in
            [("username", raw.username.is_some()), ("password", raw.password.is_some() || raw.password_file.is_some())]
        {
            if given {
                bad(key, format!("only {} pipelines take {key}", logins.join(" and ")));
            }
        }
        ("api_key", "api_key_file", &raw.api_key, &raw.api_key_file)
    };
    // The example a message gives: LIVEAGENT_API_KEY, LIVEZILLA_PASSWORD, ...
    let example_var =
        format!("{}_{}", raw_source.to_ascii_uppercase().replace('-', "_"), key_name.to_ascii_uppercase());
    let secret = match (reference, secret_file) {
        (Some(_), Some(_)) => {
            bad(key_name, format!("give {key_name} or {file_name}, not both"));
            None
        }
        (None, None) => {
            bad(
                key_name,
                format!("missing: set {key_name} = \"${{{example_var}}}\" or {file_name} = \"/run/secrets/...\""),
            );
            None
        }
        (Some(reference), None) => match resolve_secret_reference(reference, &example_var, file_name) {
            Ok(s) => Some(s),
            Err(m) => {
                bad(key_name, m);
                None
            }
        },
        (None, Some(path)) => {
            let path = if path.is_absolute() { path.clone() } else { base.join(path) };
            match std::fs::read_to_string(&path) {
                Ok(s) if !s.trim().is_empty() => Some(Secret::new(s.trim())),
                Ok(_) => {
                    bad(file_name, format!("{} is empty", path.display()));
                    None
                }
                Err(e) => {
                    bad(file_name, format!("cannot read {}: {e}", path.display()));
                    None
                }
            }
        }
    };
    let api_key = match secret {
        Some(_) if raw.password_is_md5 && !md5 => {
            bad("password_is_md5", format!("{raw_source} does not take an MD5 password"));
            None
        }
        Some(s) if md5 && raw.password_is_md5 => {
            let hex = s.expose().trim().to_ascii_lowercase();
            if hex.len() != 32 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
                bad("password_is_md5", "the password is not 32 hex digits".into());
            }
            Some(Secret::new(&hex))
        }
        Some(s) if md5 => {
            use md5::Digest;
            let digest = md5::Md5::digest(s.expose().as_bytes());
            Some(Secret::new(digest.iter().map(|b| format!("{b:02x}")).collect::<String>()))
        }
        other => other,
    };
    let tz = |key: &str, v: &str, bad: &mut dyn FnMut(&str, String)| match v.parse::<chrono_tz::Tz>() {
        Ok(t) => Some(t),
        Err(_) => {
            bad(key, format!("'{v}' is not an IANA time zone name (e.g. UTC, America/Phoenix)"));
            None
        }
    };
    let timezone = tz("timezone", &raw.timezone, &mut bad);
    let filter_timezone = tz("filter_timezone", &raw.filter_timezone, &mut bad);
    let streams = match (source, &raw.streams) {
        (Some(kind), Some(list)) => {
            let specs = kind.streams();
            let known: Vec<&str> = specs.iter().map(|s| s.name).collect();
            for s in list {
                if !known.contains(&s.as_str()) {
                    bad("streams", format!("unknown stream '{s}' for {} (known: {})", kind.name(), known.join(", ")));
                }
            }
            if list.is_empty() {
                bad("streams", "empty: list at least one stream, or remove the key for all".into());
            }
            for s in list {
                if let Some(parent) = specs.iter().find(|i| i.name == s).and_then(|i| i.parent)
                    && !list.iter().any(|x| x == parent)
                {
                    bad(
                        "streams",
                        format!(
                            "'{s}' is read with each changed record of '{parent}', so it needs '{parent}' in the list too"
                        ),
                    );
                }
            }
            list.clone()
        }
        (Some(kind), None) => kind.streams().iter().filter(|s| s.default_on).map(|s| s.name.to_string()).collect(),
        (None, _) => Vec::new(),
    };
    if let Some(s) = &raw.schedule {
        bad_schedule(s).into_iter().for_each(|m| bad("schedule", m));
    }
    let h = &raw.http;
    if h.rate_limit_per_minute == 0 {
        bad("http.rate_limit_per_minute", "must be at least 1".into());
    }
    if !(0.0..=50.0).contains(&h.rate_headroom_pct) {
        bad("http.rate_headroom_pct", format!("{} is outside 0..=50", h.rate_headroom_pct));
    }
    if h.rate_limit_window < Duration::from_secs(1) {
        bad("http.rate_limit_window", "must be at least 1s".into());
    }
    if h.max_in_flight == 0 {
        bad("http.max_in_flight", "must be at least 1".into());
    }
    if h.timeout.is_zero() {
        bad("http.timeout", "must be longer than 0s".into());
    }
    let s = &raw.sync;
    if !(1..=1000).contains(&s.page_size) {
        bad("sync.page_size", format!("{} is outside 1..=1000", s.page_size));
    }
    if s.batch_size == 0 {
        bad("sync.batch_size", "must be at least 1".into());
    }
    if s.stream_concurrency == 0 {
        bad("sync.stream_concurrency", "must be at least 1".into());
    }
    if s.message_concurrency == 0 {
        bad("sync.message_concurrency", "must be at least 1".into());
    }
    let start_date = match &s.start_date {
        Some(d) => match chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d") {
            Ok(d) => Some(d),
            Err(_) => {
                bad("sync.start_date", format!("'{d}' is not a date (YYYY-MM-DD)"));
                None
            }
        },
        None => None,
    };
    if problems.len() > before {
        return None;
    }
    Some(PipelineConfig {
        name,
        file: file.into(),
        source: source?.name(),
        base_url: base_url?,
        account: raw_account,
        api_key: api_key?,
        username: raw.username.clone(),
        section,
        timezone: timezone?,
        filter_timezone: filter_timezone?,
        streams,
        schedule: raw.schedule,
        http: raw.http,
        sync: raw.sync,
        start_date,
    })
}

/// What is wrong with a `schedule`, if anything: not cron (with a hint for the five-field form
/// most people know), or never due.
pub fn bad_schedule(s: &str) -> Option<String> {
    let fields = s.split_whitespace().count();
    match s.parse::<cron::Schedule>() {
        Err(_) if fields == 5 => Some(format!(
            "'{s}' has five fields; desksync's cron starts with seconds: add a seconds field: `0 {s}` \
             (e.g. `0 */15 * * * *`)"
        )),
        Err(e) => Some(format!("'{s}' is not a cron expression (sec min hour day month weekday [year]): {e}")),
        Ok(sched) if sched.upcoming(chrono::Utc).next().is_none() => {
            Some(format!("'{s}' never fires (no such date), so the pipeline would never run"))
        }
        Ok(_) => None,
    }
}

/// Resolve `${VAR}` to the environment variable's value. Anything else is refused: secrets are
/// never written inline in a pipeline file.
fn resolve_secret_reference(reference: &str, example_var: &str, file_key: &str) -> Result<Secret, String> {
    let trimmed = reference.trim();
    let Some(var) = trimmed.strip_prefix("${").and_then(|r| r.strip_suffix('}')) else {
        return Err(format!(
            "must be a reference like \"${{{example_var}}}\" (secrets are never written inline; or use {file_key})"
        ));
    };
    match std::env::var(var) {
        Ok(v) if !v.trim().is_empty() => Ok(Secret::new(v.trim())),
        _ => Err(format!("refers to ${{{var}}}, which is not set in the environment")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s} {s:?}"), "*** ***");
    }

    #[test]
    fn inline_secrets_are_refused() {
        let err = resolve_secret_reference("abc123", "LIVEZILLA_PASSWORD", "password_file").unwrap_err();
        assert!(err.contains("reference"), "{err}");
        assert!(err.contains("${LIVEZILLA_PASSWORD}") && err.contains("password_file"), "{err}");
        assert!(!err.contains("abc123"), "the error must not echo the secret: {err}");
    }
}
