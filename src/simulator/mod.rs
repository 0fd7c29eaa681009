//! The built-in simulator: an HTTP server on 127.0.0.1 that speaks the vendors' APIs from a
//! seeded data set, used by `desksync demo`, `desksync simulate`, the tests and the benchmark.
//!
//! * [`Simulator::start`] binds a free port (or a given one) and serves until dropped.
//! * The data set is shared behind a mutex: tests mutate it between runs through
//!   [`Simulator::with_data`] (or `POST /_sim/mutate` from another process).
//! * Faults are queued with [`Simulator::inject`] (or `POST /_sim/faults`): each matching request
//!   consumes one and gets a 429 with or without Retry-After, a 503, a 500 HTML page, a proxy's
//!   502/504 page, a slow answer, a dropped connection, a 200 cut mid-JSON, an empty 200, a 200
//!   with a PHP notice before the JSON, or a 404 instead of its normal response.
//!   [`Simulator::fault_mix`] gives a share of all requests a random fault of the kinds given.
//! * `GET /_sim/stats` (and [`Simulator::stats`]) counts requests by endpoint.
//! * `POST /_sim/log` records the path and query of every GET served until `GET /_sim/log`
//!   returns them (the bench replays a run's requests as its fetch floor).
//! * [`SimConfig::rate_limit`] enforces a per-API-key limit over a sliding window (a minute
//!   for LiveAgent), answering 429 with `Retry-After` past it, as a vendor would.
//!
//! Adding a vendor: write `simulator/<vendor>/mod.rs` with its data set and an axum `Router` built
//! on [`SimState`], and merge it in [`Simulator::start`].

pub mod liveagent;
pub mod liveforce;
pub mod livezilla;
pub mod world;

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

pub use world::World;

/// The default end of the seeded history: the start of today (UTC), so reports of recent days
/// have data; mutations happen at the real "now", after it.
pub fn history_end() -> DateTime<Utc> {
    let now = Utc::now();
    now.date_naive().and_hms_opt(0, 0, 0).expect("midnight").and_utc()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListOrder {
    /// By `datechanged` ascending (ties by id): changed rows move to the end.
    ChangedAsc,
    /// By `datecreated` descending: new rows appear at the start.
    CreatedDesc,
}

/// How the simulator is set up.
#[derive(Debug, Clone)]
pub struct SimConfig {
    pub seed: u64,
    pub conversations: usize,
    /// Days of history before `history_end`.
    pub history_days: i64,
    /// When the seeded history ends (default: [`history_end`], the start of today).
    pub history_end: DateTime<Utc>,
    /// The API key the simulator accepts.
    pub api_key: String,
    /// Zone of the times it reports.
    pub timezone: Tz,
    /// Zone it reads filter values in.
    pub filter_timezone: Tz,
    pub order: ListOrder,
    /// LiveZilla: the operator with API permission and the password the simulator accepts.
    pub lz_user: String,
    pub lz_password: String,
    /// Liveforce: the Basic-auth credentials the simulator accepts.
    pub lf_user: String,
    pub lf_password: String,
    /// Liveforce: the status refused credentials get (401; some Perfex API modules answer 404
    /// with `{"status":false,"message":"Not found"}` instead).
    pub lf_refusal_status: u16,
    /// Liveforce: the names of its page and page-size parameters (`page`, `per_page`); a
    /// server that reads other names pages by its default of 25 whatever desksync asks.
    pub lf_paging: (String, String),
    /// Requests allowed per API key in a sliding window; past it, 429 with `Retry-After`.
    /// `None`: unlimited.
    pub rate_limit: Option<RateLimit>,
}

/// A vendor-style rate limit: at most `requests` per sliding `window` per API key.
#[derive(Debug, Clone, Copy)]
pub struct RateLimit {
    pub requests: u32,
    pub window: std::time::Duration,
}

impl RateLimit {
    pub fn per_minute(requests: u32) -> RateLimit {
        RateLimit { requests, window: std::time::Duration::from_secs(60) }
    }
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            seed: 42,
            conversations: 300,
            history_days: 365,
            history_end: history_end(),
            api_key: "sim-liveagent-key".into(),
            lz_user: "apiadmin".into(),
            lz_password: "sim-livezilla-pass".into(),
            lf_user: "lf-admin".into(),
            lf_password: "sim-liveforce-pass".into(),
            lf_refusal_status: 401,
            lf_paging: ("page".into(), "per_page".into()),
            timezone: Tz::UTC,
            filter_timezone: Tz::UTC,
            order: ListOrder::ChangedAsc,
            rate_limit: None,
        }
    }
}

/// What only one vendor's simulator serves, beside the shared [`World`]. One field per vendor
/// that has such data; a new vendor adds its own here.
pub struct VendorData {
    /// LiveAgent's customers, companies, knowledge base, widgets… (its `catalog`).
    pub catalog: liveagent::catalog::CatalogData,
    /// Liveforce's leads and deals (its tickets, staff and calls are the world's conversations).
    pub liveforce: liveforce::LfData,
}

impl VendorData {
    fn generate(cfg: &SimConfig) -> VendorData {
        VendorData {
            catalog: liveagent::catalog::CatalogData::generate(cfg),
            liveforce: liveforce::LfData::generate(cfg),
        }
    }

    /// Vendor data that depends on the generated world.
    fn settle(world: &mut World) {
        liveforce::seed_merges(world);
    }
}

/// A pipeline file the demo (and, for the first vendor, the bench) writes for a simulated
/// vendor: its name, the file's text and the secret it reads from `secret_file`.
#[derive(Debug, Clone)]
pub struct DemoPipeline {
    pub name: String,
    pub file: String,
    pub secret_file: String,
    pub secret: String,
}

impl DemoPipeline {
    /// The demo pipeline `<source>-demo` of a vendor that logs in with a username and a
    /// password (kept in `secrets/<source>.password`); `what` names the simulator in the file.
    pub fn with_password(
        source: &str,
        what: &str,
        base_url: &str,
        user: &str,
        password: &str,
        rate: u32,
    ) -> DemoPipeline {
        let secret_file = format!("secrets/{source}.password");
        DemoPipeline {
            name: format!("{source}-demo"),
            file: format!(
                "# Written by `desksync demo`: the built-in {what} simulator (same data set).\n\
                 source = \"{source}\"\n\
                 base_url = \"{base_url}\"\n\
                 account = \"demo\"\n\
                 username = \"{user}\"\n\
                 password_file = \"{secret_file}\"\n\n\
                 [http]\n\
                 rate_limit_per_minute = {rate}\n"
            ),
            secret_file,
            secret: password.to_string(),
        }
    }
}

/// Every simulated vendor's demo pipeline against the simulator at `base_url`. The first one is
/// the vendor the bench measures (its simulator enforces a per-key rate limit).
pub fn demo_pipelines(base_url: &str, cfg: &SimConfig, rate_per_minute: u32) -> Vec<DemoPipeline> {
    vec![
        liveagent::demo_pipeline(base_url, cfg, rate_per_minute),
        livezilla::demo_pipeline(base_url, cfg, rate_per_minute),
        liveforce::demo_pipeline(base_url, cfg, rate_per_minute),
    ]
}

/// What the simulator at `base_url` serves, in one line.
pub fn describe(base_url: &str) -> String {
    format!(
        "LiveAgent API v1 at {base_url}/api/…, LiveZilla API v2 at {base_url}/api/v2/api.php, \
         Liveforce at {base_url}/ticket/… (Basic auth)"
    )
}

/// One injected fault.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fault {
    /// HTTP 429 with `Retry-After: secs`.
    TooManyRequests { retry_after_secs: u64 },
    /// HTTP 503 with the vendor's JSON error body.
    Unavailable,
    /// HTTP 500 with an HTML page instead of JSON.
    HtmlError,
    /// The normal answer, after a delay.
    Slow { millis: u64 },
    /// The connection is dropped before a complete answer.
    Drop,
    /// HTTP 429 without `Retry-After`.
    TooManyRequestsBare,
    /// A proxy's HTML error page with this status (502, 504…).
    ProxyPage { status: u16 },
    /// HTTP 200 whose body is the normal answer cut in the middle.
    Truncated,
    /// HTTP 200 with an empty body.
    Empty,
    /// HTTP 200: a PHP notice, then the normal answer.
    Notice,
    /// HTTP 404 with the vendor's JSON error body (an endpoint the account lacks).
    NotFound,
}

impl Fault {
    /// One of every kind a request can meet, for a random mix (`slow` is past `timeout_ms`).
    pub fn every_kind(timeout_ms: u64) -> Vec<Fault> {
        vec![
            Fault::TooManyRequests { retry_after_secs: 1 },
            Fault::TooManyRequestsBare,
            Fault::Unavailable,
            Fault::HtmlError,
            Fault::ProxyPage { status: 502 },
            Fault::ProxyPage { status: 504 },
            Fault::Drop,
            Fault::Slow { millis: timeout_ms + 500 },
            Fault::Truncated,
            Fault::Empty,
            Fault::Notice,
        ]
    }
}

/// A share of every API request that meets a fault drawn from `kinds` (seeded, so a failing
/// test repeats), on top of the queued ones.
pub struct FaultMix {
    pub rate: f64,
    pub kinds: Vec<Fault>,
    rng: rand::rngs::SmallRng,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FaultRule {
    pub fault: Fault,
    /// Only requests whose path contains this (e.g. `/messages`). Default: every API request.
    #[serde(default)]
    pub path_contains: Option<String>,
    /// How many requests get the fault. Default: 1.
    #[serde(default = "one")]
    pub times: u32,
}

fn one() -> u32 {
    1
}

/// State shared by every handler of the simulator.
pub struct SimState {
    pub la: Mutex<World>,
    /// LiveZilla logins and archiving (the data is `la`'s).
    pub lz: Mutex<livezilla::LzState>,
    pub config: SimConfig,
    faults: Mutex<VecDeque<FaultRule>>,
    mix: Mutex<Option<FaultMix>>,
    stats: Mutex<BTreeMap<String, u64>>,
    /// Request times per API key in the last 60 s, for the rate limit.
    windows: Mutex<BTreeMap<String, VecDeque<std::time::Instant>>>,
    /// When recording (`POST /_sim/log`): the path and query of every GET served, in order
    /// (the bench replays them as its fetch floor).
    log: Mutex<Option<Vec<String>>>,
}

pub type Shared = Arc<SimState>;

impl SimState {
    fn take_fault(&self, path: &str) -> Option<Fault> {
        if let Some(m) = self.mix.lock().expect("mix lock").as_mut() {
            use rand::Rng;
            if !m.kinds.is_empty() && m.rng.random_bool(m.rate.clamp(0.0, 1.0)) {
                let i = m.rng.random_range(0..m.kinds.len());
                return Some(m.kinds[i].clone());
            }
        }
        let mut q = self.faults.lock().expect("faults lock");
        let idx = q.iter().position(|r| r.path_contains.as_deref().is_none_or(|p| path.contains(p)))?;
        let rule = &mut q[idx];
        let fault = rule.fault.clone();
        rule.times -= 1;
        if rule.times == 0 {
            q.remove(idx);
        }
        Some(fault)
    }

    /// Count a request against `key`'s window; `Some(wait)` when it is over the limit.
    fn over_limit(&self, key: &str) -> Option<Duration> {
        let limit = self.config.rate_limit?;
        let now = std::time::Instant::now();
        let mut w = self.windows.lock().expect("windows lock");
        let q = w.entry(key.to_string()).or_default();
        while q.front().is_some_and(|t| now.duration_since(*t) >= limit.window) {
            q.pop_front();
        }
        if q.len() >= limit.requests as usize {
            let oldest = *q.front().expect("non-empty at the limit");
            return Some(limit.window.saturating_sub(now.duration_since(oldest)));
        }
        q.push_back(now);
        None
    }

    pub fn count(&self, endpoint: &str) {
        *self.stats.lock().expect("stats lock").entry(endpoint.to_string()).or_default() += 1;
    }
}

/// A running simulator. Dropping it stops the server.
pub struct Simulator {
    pub addr: SocketAddr,
    pub state: Shared,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Simulator {
    /// Start serving on `127.0.0.1:port` (0 = a free port).
    pub async fn start(config: SimConfig, port: u16) -> std::io::Result<Simulator> {
        let state = Arc::new(SimState {
            la: Mutex::new(World::generate(&config)),
            lz: Mutex::new(livezilla::LzState::default()),
            config,
            faults: Mutex::new(VecDeque::new()),
            mix: Mutex::new(None),
            stats: Mutex::new(BTreeMap::new()),
            windows: Mutex::new(BTreeMap::new()),
            log: Mutex::new(None),
        });
        let app = Router::new()
            .merge(liveagent::router())
            .merge(livezilla::router())
            .merge(liveforce::router())
            .layer(middleware::from_fn_with_state(state.clone(), fault_layer))
            .route("/_sim/faults", post(post_faults))
            .route("/_sim/mutate", post(post_mutate))
            .route("/_sim/stats", get(get_stats))
            .route("/_sim/log", post(start_log).get(take_log))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        Ok(Simulator { addr, state, shutdown: Some(tx) })
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Queue a fault.
    pub fn inject(&self, rule: FaultRule) {
        self.state.faults.lock().expect("faults lock").push_back(rule);
    }

    /// From now on, `rate` of all API requests (0.1 = 10%) meet one of `kinds`, drawn with
    /// `seed`; `rate` 0 stops it.
    pub fn fault_mix(&self, rate: f64, kinds: Vec<Fault>, seed: u64) {
        use rand::SeedableRng;
        *self.state.mix.lock().expect("mix lock") =
            (rate > 0.0).then(|| FaultMix { rate, kinds, rng: rand::rngs::SmallRng::seed_from_u64(seed) });
    }

    /// Drop every queued fault.
    pub fn clear_faults(&self) {
        self.state.faults.lock().expect("faults lock").clear();
    }

    /// Requests served so far, by endpoint name (`conversations`, `messages`, ...).
    pub fn stats(&self) -> BTreeMap<String, u64> {
        self.state.stats.lock().expect("stats lock").clone()
    }

    pub fn reset_stats(&self) {
        self.state.stats.lock().expect("stats lock").clear();
    }

    /// Read or change the LiveAgent data set.
    pub fn with_data<T>(&self, f: impl FnOnce(&mut World) -> T) -> T {
        f(&mut self.state.la.lock().expect("data lock"))
    }

    /// Wait until the server is stopped by Ctrl-C (for `desksync simulate`).
    pub async fn run_until_ctrl_c(mut self) {
        let _ = tokio::signal::ctrl_c().await;
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// `POST /_sim/log`: start recording the GETs served (from empty).
async fn start_log(State(state): State<Shared>) -> StatusCode {
    *state.log.lock().expect("log lock") = Some(Vec::new());
    StatusCode::NO_CONTENT
}

/// `GET /_sim/log`: what was recorded since `POST /_sim/log` (JSON list of path?query), and
/// stop recording.
async fn take_log(State(state): State<Shared>) -> axum::Json<Vec<String>> {
    axum::Json(state.log.lock().expect("log lock").take().unwrap_or_default())
}

async fn fault_layer(State(state): State<Shared>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    if path.starts_with("/_sim") {
        return next.run(req).await;
    }
    if req.method() == axum::http::Method::GET
        && let Some(log) = state.log.lock().expect("log lock").as_mut()
    {
        log.push(req.uri().path_and_query().map(|p| p.to_string()).unwrap_or_default());
    }
    let key =
        req.uri().query().unwrap_or("").split('&').find_map(|kv| kv.strip_prefix("apikey=")).unwrap_or("").to_string();
    if let Some(wait) = state.over_limit(&key) {
        state.count("rate_limited_429");
        let mut r = liveagent::error_response(StatusCode::TOO_MANY_REQUESTS, "Too many requests");
        r.headers_mut().insert("retry-after", HeaderValue::from(wait.as_secs_f64().ceil().max(1.0) as u64));
        return r;
    }
    match state.take_fault(&path) {
        None => next.run(req).await,
        Some(Fault::TooManyRequests { retry_after_secs }) => {
            state.count("fault_429");
            let mut r = liveagent::error_response(StatusCode::TOO_MANY_REQUESTS, "Too many requests");
            r.headers_mut().insert("retry-after", HeaderValue::from(retry_after_secs));
            r
        }
        Some(Fault::Unavailable) => {
            state.count("fault_503");
            liveagent::error_response(StatusCode::SERVICE_UNAVAILABLE, "Application is being updated")
        }
        Some(Fault::HtmlError) => {
            state.count("fault_html500");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                [("content-type", "text/html; charset=UTF-8")],
                "<!DOCTYPE html><html><head><title>500 Internal Server Error</title></head>\
                 <body><h1>Internal Server Error</h1><p>The server encountered an internal error.</p></body></html>",
            )
                .into_response()
        }
        Some(Fault::Slow { millis }) => {
            state.count("fault_slow");
            tokio::time::sleep(Duration::from_millis(millis)).await;
            next.run(req).await
        }
        Some(Fault::TooManyRequestsBare) => {
            state.count("fault_429_bare");
            liveagent::error_response(StatusCode::TOO_MANY_REQUESTS, "Too many requests")
        }
        Some(Fault::ProxyPage { status }) => {
            state.count(&format!("fault_proxy{status}"));
            let code = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
            (
                code,
                [("content-type", "text/html")],
                format!("<html>\r\n<head><title>{status} {r}</title></head>\r\n<body>\r\n<center><h1>{status} {r}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n", r = code.canonical_reason().unwrap_or("Error")),
            )
                .into_response()
        }
        Some(Fault::NotFound) => {
            state.count("fault_404");
            liveagent::error_response(StatusCode::NOT_FOUND, "Not found")
        }
        Some(kind @ (Fault::Truncated | Fault::Empty | Fault::Notice)) => {
            let real = next.run(req).await;
            if !real.status().is_success() {
                return real; // a broken 200 is a fault of a 200; other answers pass as they are
            }
            let (parts, body) = real.into_parts();
            let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
            let body: Vec<u8> = match kind {
                Fault::Truncated => {
                    state.count("fault_truncated");
                    bytes[..bytes.len() / 2].to_vec()
                }
                Fault::Empty => {
                    state.count("fault_empty");
                    Vec::new()
                }
                _ => {
                    state.count("fault_notice");
                    let mut b = b"<br />\n<b>Notice</b>:  Undefined index: HTTP_X_FORWARDED_FOR in <b>/var/www/api/index.php</b> on line <b>31</b><br />\n".to_vec();
                    b.extend_from_slice(&bytes);
                    b
                }
            };
            let mut r = Response::from_parts(parts, Body::from(body));
            r.headers_mut().remove("content-length");
            r
        }
        Some(Fault::Drop) => {
            state.count("fault_drop");
            // Promise a body, send a few bytes, then fail the stream: hyper aborts the
            // connection and the client sees a truncated answer.
            let chunks: Vec<Result<&'static str, std::io::Error>> =
                vec![Ok("{\"response\":{\"conv"), Err(std::io::Error::other("simulated connection drop"))];
            Response::builder()
                .status(StatusCode::OK)
                .header("content-type", "application/json")
                .header("content-length", "4096")
                .body(Body::from_stream(futures::stream::iter(chunks)))
                .expect("valid response")
        }
    }
}

async fn post_faults(State(state): State<Shared>, axum::Json(rules): axum::Json<Vec<FaultRule>>) -> StatusCode {
    state.faults.lock().expect("faults lock").extend(rules);
    StatusCode::NO_CONTENT
}

async fn post_mutate(
    State(state): State<Shared>,
    axum::Json(m): axum::Json<world::Mutation>,
) -> axum::Json<serde_json::Value> {
    let summary = state.la.lock().expect("data lock").apply(&m, chrono::Utc::now());
    axum::Json(serde_json::to_value(summary).unwrap_or_default())
}

async fn get_stats(State(state): State<Shared>) -> axum::Json<BTreeMap<String, u64>> {
    axum::Json(state.stats.lock().expect("stats lock").clone())
}
