//! The HTTP client every connector shares: authentication, URL redaction, one rate limiter and
//! in-flight cap per account, and retries with exponential backoff and jitter (`backon`) that
//! honour `Retry-After`.
//!
//! A request is retried in place (same URL, same page) on 429, 5xx, timeouts and dropped
//! connections, within `http.max_retries`; a 429 also pauses every request of the account until
//! its `Retry-After` has passed and halves the account's pace, which then recovers gradually
//! (see [`Throttle`]). A vendor's own well-formed error answer (decoded by the
//! connector's [`ErrorDecoder`]) is deterministic and only retried for 429 and 503. Errors carry
//! the URL with secrets replaced by `***`, and `reqwest`'s own errors are stripped of their URL
//! before they are shown.
//!
//! Connectors call [`HttpClient::get_json`] / [`HttpClient::post_form_json`].

use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use backon::{ExponentialBuilder, Retryable};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use reqwest::Url;
use serde_json::Value;
use tokio::sync::{Mutex, Semaphore};

use crate::config::{HttpSettings, Secret};
use crate::error::HttpError;
use crate::telemetry;

/// Query parameter and form field names whose values are secrets.
const SECRET_PARAMS: &[&str] = &["apikey", "api_key", "p_pass", "password", "token", "access_token", "key"];

/// Turns a vendor's error body (status, body text) into a plain-words message, if it recognises
/// it as the vendor's own error format.
pub type ErrorDecoder = fn(u16, &str) -> Option<String>;

/// How requests authenticate.
#[derive(Clone, Debug)]
pub enum Auth {
    /// A query parameter (LiveAgent: `apikey`).
    QueryParam { name: &'static str, secret: Secret },
    /// HTTP Basic.
    Basic { user: String, password: Secret },
    /// Two form fields of every POST (LiveZilla: `p_user`, `p_pass` = MD5 of the password).
    Form { user_field: &'static str, user: String, secret_field: &'static str, secret: Secret },
    /// Nothing (the caller adds credentials to the form itself).
    None,
}

/// Counters of one client, read by the runner to attribute requests to streams.
#[derive(Debug, Default)]
pub struct HttpCounters {
    pub requests: AtomicU64,
    pub retries: AtomicU64,
    pub throttled: AtomicU64,
}

impl HttpCounters {
    pub fn snapshot(&self) -> CounterSnapshot {
        CounterSnapshot {
            requests: self.requests.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            throttled: self.throttled.load(Ordering::Relaxed),
        }
    }
}

tokio::task_local! {
    /// The counters of the stream whose future is being polled: streams of one account run
    /// concurrently over one client, and each reports its own requests, retries and 429s.
    static STREAM_COUNTERS: Arc<HttpCounters>;
}

tokio::task_local! {
    /// A smaller retry budget for the requests of the future being polled (a preflight
    /// answers in seconds rather than retrying for minutes).
    static RETRY_LIMIT: usize;
}

/// Run `fut` with every request retried at most `retries` times (at most `http.max_retries`).
pub async fn with_retry_limit<F: Future>(retries: usize, fut: F) -> F::Output {
    RETRY_LIMIT.scope(retries, fut).await
}

/// Run `fut` with its requests also counted in `counters` (see [`STREAM_COUNTERS`]).
pub async fn counted<F: Future>(counters: Arc<HttpCounters>, fut: F) -> F::Output {
    STREAM_COUNTERS.scope(counters, fut).await
}

/// Bump a counter of the client and, when set, of the current stream.
fn bump(shared: &HttpCounters, which: fn(&HttpCounters) -> &AtomicU64) {
    which(shared).fetch_add(1, Ordering::Relaxed);
    let _ = STREAM_COUNTERS.try_with(|c| which(c).fetch_add(1, Ordering::Relaxed));
}

/// A point-in-time copy of [`HttpCounters`].
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CounterSnapshot {
    pub requests: u64,
    pub retries: u64,
    pub throttled: u64,
}

impl std::ops::Sub for CounterSnapshot {
    type Output = CounterSnapshot;
    fn sub(self, o: CounterSnapshot) -> CounterSnapshot {
        CounterSnapshot {
            requests: self.requests - o.requests,
            retries: self.retries - o.retries,
            throttled: self.throttled - o.throttled,
        }
    }
}

/// The account's pace: a GCRA token bucket (`governor`) at the configured rate less a headroom
/// `h`, with a burst of `h/2` of what one counting window (`http.rate_limit_window`, a minute
/// unless configured) holds. Any such window then holds at most `rate × (1 + h/2)`, below the
/// vendor's limit, while the burst absorbs timer lateness that a
/// burst of one would lose for good (at 200 requests/s a 1 ms late wake-up each time costs 17%).
/// A 429 the pace did not foresee slows it by a quarter — once per episode (429s within
/// [`EPISODE`] of the last slow-down are the same burst, already answered by the `Retry-After`
/// pause every request waits out), and never below a quarter of the ceiling; every
/// [`RECOVERY_INTERVAL`] without one it climbs back by a tenth of the ceiling. After any burst
/// of 429s the pace is back above 90% of the ceiling within 40 s (measured by the bench's
/// `--burst-429` run and `http::tests`).
pub struct Throttle {
    pipeline: Arc<str>,
    /// The ceiling: configured rate less headroom, per minute.
    ceiling: u32,
    /// Headroom as a fraction.
    headroom: f64,
    /// The vendor's counting window.
    window: Duration,
    current: std::sync::Mutex<(u32, Instant)>,
    limiter: std::sync::RwLock<Arc<DefaultDirectRateLimiter>>,
}

const RECOVERY_INTERVAL: Duration = Duration::from_secs(5);
/// 429s this close together are one burst: the pace slows once for them.
const EPISODE: Duration = Duration::from_secs(5);

/// A limiter at `per_minute` whose burst is half the headroom of what one counting `window`
/// holds: any window then holds at most its share of the rate plus that burst.
fn limiter_at(per_minute: u32, headroom: f64, window: Duration) -> Arc<DefaultDirectRateLimiter> {
    let per_window = per_minute as f64 * window.as_secs_f64() / 60.0;
    let burst = (per_window * headroom / 2.0).floor().max(1.0) as u32;
    let per_minute = NonZeroU32::new(per_minute.max(1)).expect("nonzero");
    let burst = NonZeroU32::new(burst).expect("at least one");
    Arc::new(RateLimiter::direct(Quota::per_minute(per_minute).allow_burst(burst)))
}

impl Throttle {
    pub fn new(pipeline: &str, configured_per_minute: u32, headroom_pct: f64, window: Duration) -> Throttle {
        let headroom = headroom_pct / 100.0;
        let ceiling = ((configured_per_minute as f64) * (1.0 - headroom)).floor().max(1.0) as u32;
        Throttle {
            pipeline: pipeline.into(),
            ceiling,
            headroom,
            window,
            current: std::sync::Mutex::new((ceiling, Instant::now())),
            limiter: std::sync::RwLock::new(limiter_at(ceiling, headroom, window)),
        }
    }

    /// Requests per minute allowed right now.
    pub fn current_per_minute(&self) -> u32 {
        self.current.lock().expect("throttle lock").0
    }

    async fn until_ready(&self) {
        let limiter = self.limiter.read().expect("throttle lock").clone();
        limiter.until_ready().await;
    }

    fn set(&self, rate: u32, reason: &str) {
        let mut cur = self.current.lock().expect("throttle lock");
        if cur.0 != rate {
            telemetry::rate_adjusted(&self.pipeline, cur.0, rate, reason);
            *self.limiter.write().expect("throttle lock") = limiter_at(rate, self.headroom, self.window);
        }
        *cur = (rate, Instant::now());
    }

    fn on_throttled(&self) {
        let (rate, since) = *self.current.lock().expect("throttle lock");
        let floor = (self.ceiling / 4).max(1);
        if rate < self.ceiling && since.elapsed() < EPISODE {
            // The same burst: the pause already holds everyone back; just restart recovery.
            self.set(rate, "vendor answered 429");
            return;
        }
        self.set((rate - rate / 4).max(floor), "vendor answered 429");
    }

    fn on_success(&self) {
        let (rate, since) = *self.current.lock().expect("throttle lock");
        if rate < self.ceiling && since.elapsed() >= RECOVERY_INTERVAL {
            self.set((rate + (self.ceiling / 10).max(1)).min(self.ceiling), "recovering after throttling");
        }
    }
}

/// The shared client of one account. Cheap to clone; clones share limiter and counters.
#[derive(Clone)]
pub struct HttpClient {
    inner: reqwest::Client,
    base: Url,
    auth: Auth,
    pipeline: Arc<str>,
    settings: HttpSettings,
    pub throttle: Arc<Throttle>,
    in_flight: Arc<Semaphore>,
    paused_until: Arc<Mutex<Option<Instant>>>,
    decoder: ErrorDecoder,
    pub counters: Arc<HttpCounters>,
    /// The first refusal of the credentials: every later request of the account fails with it
    /// without being sent, so concurrent streams cannot hammer a vendor that counts failed
    /// logins towards a lockout (LiveZilla locks an account after 5 in 24 hours).
    refused: Arc<std::sync::Mutex<Option<HttpError>>>,
    /// The first request that found the host unreachable after its retries: later requests
    /// fail at once with [`HttpError::HostDown`] instead of each spending its retry budget.
    down: Arc<std::sync::Mutex<Option<HttpError>>>,
}

/// One attempt's failure, with the server's Retry-After when it sent one.
#[derive(Debug)]
struct AttemptError {
    error: HttpError,
    retry_after: Option<Duration>,
}

impl HttpClient {
    pub fn new(pipeline: &str, base: Url, auth: Auth, settings: &HttpSettings, decoder: ErrorDecoder) -> HttpClient {
        let inner = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("desksync/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("building the HTTP client (TLS backend)");
        HttpClient {
            inner,
            base,
            auth,
            pipeline: pipeline.into(),
            settings: settings.clone(),
            throttle: Arc::new(Throttle::new(
                pipeline,
                settings.rate_limit_per_minute,
                settings.rate_headroom_pct,
                settings.rate_limit_window,
            )),
            in_flight: Arc::new(Semaphore::new(settings.max_in_flight.max(1))),
            paused_until: Arc::new(Mutex::new(None)),
            decoder,
            counters: Arc::new(HttpCounters::default()),
            refused: Arc::new(std::sync::Mutex::new(None)),
            down: Arc::new(std::sync::Mutex::new(None)),
        }
    }

    pub fn base(&self) -> &Url {
        &self.base
    }

    /// The refusal of the credentials, if the vendor refused them during this client's life.
    /// Refuse the account for the rest of the run with `e`, as a 401 does: a connector that
    /// knows its vendor answers refused credentials otherwise (Perfex's 404) says so here.
    pub fn refuse(&self, e: HttpError) {
        self.refused.lock().expect("refused lock").get_or_insert(e);
    }

    pub fn refused(&self) -> Option<HttpError> {
        self.refused.lock().expect("refused lock").clone()
    }

    /// The failure that showed the host unreachable, if one did.
    pub fn host_down(&self) -> Option<HttpError> {
        self.down.lock().expect("down lock").clone()
    }

    pub fn snapshot(&self) -> CounterSnapshot {
        CounterSnapshot {
            requests: self.counters.requests.load(Ordering::Relaxed),
            retries: self.counters.retries.load(Ordering::Relaxed),
            throttled: self.counters.throttled.load(Ordering::Relaxed),
        }
    }

    /// `path` is joined to the base URL's path (`/api/conversations`).
    pub fn url(&self, path: &str) -> Url {
        let mut u = self.base.clone();
        let joined = format!("{}{}", u.path().trim_end_matches('/'), path);
        u.set_path(&joined);
        u
    }

    /// GET `path` with `query`, parse JSON; retried as described in the module docs.
    pub async fn get_json(&self, path: &str, query: &[(&str, String)]) -> Result<Value, HttpError> {
        let mut url = self.url(path);
        {
            let mut q = url.query_pairs_mut();
            for (k, v) in query {
                q.append_pair(k, v);
            }
            if let Auth::QueryParam { name, secret } = &self.auth {
                q.append_pair(name, secret.expose());
            }
        }
        self.send_with_retries(url, None).await
    }

    /// POST a form to `path`, parse JSON; retried as described in the module docs.
    pub async fn post_form_json(&self, path: &str, mut form: Vec<(String, String)>) -> Result<Value, HttpError> {
        let url = self.url(path);
        if let Auth::Form { user_field, user, secret_field, secret } = &self.auth {
            form.push((user_field.to_string(), user.clone()));
            form.push((secret_field.to_string(), secret.expose().to_string()));
        }
        self.send_with_retries(url, Some(form)).await
    }

    async fn send_with_retries(&self, url: Url, form: Option<Vec<(String, String)>>) -> Result<Value, HttpError> {
        if let Some(e) = self.refused.lock().expect("refused lock").clone() {
            return Err(e);
        }
        if let Some(first) = self.down.lock().expect("down lock").clone() {
            return Err(HttpError::HostDown { first: Box::new(first) });
        }
        let result = self.send_with_retries_inner(url, form).await;
        if let Err(e) = &result
            && e.host_unreachable()
        {
            self.down.lock().expect("down lock").get_or_insert_with(|| e.clone());
        }
        // A refused login (401, or LiveZilla's login errors) refuses the account; a 403 for one
        // resource (a LiveAgent key without access to reports) refuses only that resource.
        if let Err(e @ HttpError::Unauthorized { status, message, .. }) = &result
            && (*status == 401 || message.contains("(LZAV20001)") || message.contains("(LZAV20002)"))
        {
            self.refused.lock().expect("refused lock").get_or_insert_with(|| e.clone());
        }
        result
    }

    async fn send_with_retries_inner(&self, url: Url, form: Option<Vec<(String, String)>>) -> Result<Value, HttpError> {
        let shown = redact_url(&url);
        let attempts = AtomicUsize::new(0);
        let max_wait = self.settings.retry_max_wait;
        let policy = ExponentialBuilder::default()
            .with_min_delay(self.settings.retry_initial)
            .with_max_delay(max_wait)
            .with_max_times(RETRY_LIMIT.try_with(|n| *n).unwrap_or(usize::MAX).min(self.settings.max_retries))
            .with_jitter();
        let result = (|| async {
            attempts.fetch_add(1, Ordering::Relaxed);
            self.attempt(&url, &shown, form.as_deref()).await
        })
        .retry(policy)
        .sleep(tokio::time::sleep)
        .when(|e: &AttemptError| e.error.is_transient())
        .adjust(|e: &AttemptError, planned: Option<Duration>| {
            // Stop when the backoff budget is spent; otherwise wait at least what the vendor
            // asked for, and give up early if that is longer than we are willing to wait.
            let planned = planned?;
            match e.retry_after {
                Some(ra) if ra > max_wait => None,
                Some(ra) => Some(ra.max(planned)),
                None => Some(planned),
            }
        })
        .notify(|e: &AttemptError, wait: Duration| {
            bump(&self.counters, |c| &c.retries);
            let n = attempts.load(Ordering::Relaxed);
            telemetry::request_retried(&self.pipeline, &shown, &e.error.to_string(), wait, n);
        })
        .await;
        match result {
            Ok(v) => Ok(v),
            Err(AttemptError { error, retry_after }) => {
                let n = attempts.load(Ordering::Relaxed);
                match retry_after {
                    Some(ra) if ra > max_wait => Err(HttpError::RetryAfterTooLong { url: shown, retry_after: ra }),
                    _ if error.is_transient() && n > 1 => {
                        Err(HttpError::RetriesExhausted { url: shown, attempts: n, last: Box::new(error) })
                    }
                    _ => Err(error),
                }
            }
        }
    }

    async fn wait_for_turn(&self) {
        loop {
            let until = *self.paused_until.lock().await;
            match until {
                Some(t) if t > Instant::now() => tokio::time::sleep_until(t.into()).await,
                _ => break,
            }
        }
        self.throttle.until_ready().await;
    }

    async fn attempt(&self, url: &Url, shown: &str, form: Option<&[(String, String)]>) -> Result<Value, AttemptError> {
        let _permit = self.in_flight.acquire().await.expect("semaphore never closed");
        self.wait_for_turn().await;
        bump(&self.counters, |c| &c.requests);
        telemetry::request_sent(&self.pipeline);
        let mut req = match form {
            Some(f) => self.inner.post(url.clone()).form(f),
            None => self.inner.get(url.clone()),
        };
        if let Auth::Basic { user, password } = &self.auth {
            req = req.basic_auth(user, Some(password.expose()));
        }
        let plain = |error: HttpError| AttemptError { error, retry_after: None };
        let wire = telemetry::work::start(telemetry::work::Work::Http);
        let resp = req.send().await.map_err(|e| plain(transport_error(e, shown, self.settings.timeout)))?;
        let status = resp.status().as_u16();
        let retry_after = parse_retry_after(resp.headers());
        let content_type = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("no content type")
            .to_string();
        let body = resp.bytes().await.map_err(|e| plain(transport_error(e, shown, self.settings.timeout)))?;
        drop(wire);
        if status == 429 {
            self.throttle.on_throttled();
            bump(&self.counters, |c| &c.throttled);
            telemetry::throttled(&self.pipeline, shown, retry_after);
            let pause = retry_after.unwrap_or(Duration::from_secs(1)).min(self.settings.retry_max_wait);
            let mut p = self.paused_until.lock().await;
            let until = Instant::now() + pause;
            if p.is_none_or(|t| t < until) {
                *p = Some(until);
            }
        }
        if (200..300).contains(&status) {
            self.throttle.on_success();
            let decoding = telemetry::work::start(telemetry::work::Work::Json);
            if let Ok(v) = serde_json::from_slice::<Value>(&body) {
                return Ok(v);
            }
            drop(decoding);
            if let Some(v) = json_after_notice(&body) {
                tracing::warn!(pipeline = %self.pipeline, url = %shown, "the answer began with text before its JSON (a server notice); read the JSON after it");
                return Ok(v);
            }
            // Cut mid-JSON, empty, or a page instead of JSON: a broken answer, retried in place
            // like a dropped connection (see `HttpError::is_transient`).
            return Err(plain(HttpError::NotJson { url: shown.into(), status, content_type, snippet: snippet(&body) }));
        }
        let text = String::from_utf8_lossy(&body);
        let decoded = (self.decoder)(status, &text);
        let error = match (status, decoded) {
            (401 | 403, m) => {
                HttpError::Unauthorized { url: shown.into(), status, message: m.unwrap_or_else(|| snippet(&body)) }
            }
            (404, m) => HttpError::NotFound { url: shown.into(), message: m.unwrap_or_else(|| snippet(&body)) },
            (_, Some(message)) => HttpError::Vendor { url: shown.into(), status, message },
            (_, None) if !content_type.contains("json") => {
                HttpError::NotJson { url: shown.into(), status, content_type, snippet: snippet(&body) }
            }
            (_, None) => HttpError::Status { url: shown.into(), status, message: snippet(&body) },
        };
        Err(AttemptError { error, retry_after })
    }
}

/// The JSON document after text a server printed before it (a PHP notice or warning:
/// `<br />\n<b>Notice</b>: Undefined index…<br />\n{"data": …}`). Only for bodies that do not
/// begin as JSON themselves (a body cut mid-JSON is never "repaired" into one of its parts),
/// and only when the rest parses whole.
fn json_after_notice(body: &[u8]) -> Option<Value> {
    let text = std::str::from_utf8(body).ok()?;
    let trimmed = text.trim_start();
    if trimmed.is_empty() || trimmed.starts_with('{') || trimmed.starts_with('[') {
        return None;
    }
    text.char_indices()
        .filter(|(_, c)| *c == '{' || *c == '[')
        .take(32)
        .find_map(|(i, _)| serde_json::from_str::<Value>(&text[i..]).ok())
}

fn transport_error(e: reqwest::Error, shown: &str, timeout: Duration) -> HttpError {
    if e.is_timeout() {
        return HttpError::Timeout { url: shown.into(), timeout };
    }
    let connect = e.is_connect();
    // reqwest's Display includes the URL with its query (and so the API key): drop it, and
    // describe the cause chain instead.
    let e = e.without_url();
    let mut reason = e.to_string();
    let mut src = std::error::Error::source(&e);
    while let Some(s) = src {
        reason.push_str(": ");
        reason.push_str(&s.to_string());
        src = s.source();
    }
    if connect {
        HttpError::Connect { url: shown.into(), reason }
    } else {
        HttpError::Unreachable { url: shown.into(), reason }
    }
}

/// `Retry-After` as seconds or an HTTP date; without it, `X-RateLimit-Reset` (seconds to wait,
/// or a unix time when it is that large), as Perfex-style APIs send with their 429s.
pub fn parse_retry_after(h: &reqwest::header::HeaderMap) -> Option<Duration> {
    let Some(v) = h.get(reqwest::header::RETRY_AFTER).and_then(|v| v.to_str().ok()).map(str::trim) else {
        let reset: f64 = h.get("x-ratelimit-reset")?.to_str().ok()?.trim().parse().ok()?;
        if !reset.is_finite() || reset < 0.0 {
            return None;
        }
        let now = chrono::Utc::now().timestamp() as f64;
        let secs = if reset > 1.0e9 { (reset - now).max(0.0) } else { reset };
        return Some(Duration::from_secs_f64(secs));
    };
    if let Ok(secs) = v.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs));
    }
    let when = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    let delta = when.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(delta.to_std().unwrap_or(Duration::ZERO))
}

/// `s` percent-encoded for use as one path segment (a record id in `/api/conversations/{id}`):
/// everything but RFC 3986's unreserved characters is encoded, `/` included.
pub fn path_segment(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The URL with secret query values replaced by `***` and any password removed.
pub fn redact_url(url: &Url) -> String {
    let mut u = url.clone();
    if u.password().is_some() {
        let _ = u.set_password(Some("***"));
    }
    let pairs: Vec<(String, String)> = u.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    let secret = |k: &str| SECRET_PARAMS.contains(&k.to_ascii_lowercase().as_str());
    if pairs.iter().any(|(k, _)| secret(k)) {
        let mut q = u.query_pairs_mut();
        q.clear();
        for (k, v) in &pairs {
            q.append_pair(k, if secret(k) { "***" } else { v });
        }
    }
    u.to_string()
}

/// A short, single-line excerpt of a body for error messages.
fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut s: String = flat.chars().take(160).collect();
    if flat.chars().count() > 160 {
        s.push('…');
    }
    if s.is_empty() { "(empty body)".into() } else { s }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_after_a_php_notice_is_read_and_a_cut_body_is_not_repaired() {
        let notice = b"<br />\n<b>Notice</b>:  Undefined index: x in <b>/var/www/api.php</b> on line <b>12</b><br />\n{\"data\":[{\"id\":\"1\"}]}";
        assert_eq!(json_after_notice(notice).unwrap()["data"][0]["id"], "1");
        assert!(json_after_notice(b"{\"data\":[{\"id\":\"1\"},{\"id\"").is_none());
        assert!(json_after_notice(b"").is_none());
        assert!(json_after_notice(b"<html><body>Bad gateway</body></html>").is_none());
        let cut = HttpError::NotJson { url: "u".into(), status: 200, content_type: "json".into(), snippet: "{".into() };
        assert!(cut.is_transient(), "a broken 200 is retried in place");
    }

    #[test]
    fn a_burst_of_429s_slows_the_pace_once_and_never_to_a_crawl() {
        let t = Throttle::new("p", 1000, 3.0, Duration::from_secs(60));
        let ceiling = t.current_per_minute();
        assert_eq!(ceiling, 970);
        for _ in 0..50 {
            t.on_throttled();
        }
        // One episode: a quarter off, so two recovery steps (10 s) bring it above 90%.
        assert_eq!(t.current_per_minute(), ceiling - ceiling / 4);
        assert!(ceiling - ceiling / 4 + 2 * (ceiling / 10) >= ceiling * 9 / 10);
        // Separate episodes compound, down to a quarter of the ceiling at most: from there,
        // seven steps (35 s) recover 90%.
        for _ in 0..20 {
            *t.current.lock().unwrap() = (t.current_per_minute(), Instant::now() - EPISODE);
            t.on_throttled();
        }
        assert_eq!(t.current_per_minute(), ceiling / 4);
        assert!(ceiling / 4 + 7 * (ceiling / 10) >= ceiling * 9 / 10);
        assert!(7 * RECOVERY_INTERVAL < Duration::from_secs(60));
    }

    #[test]
    fn redacts_secret_query_values() {
        let u = Url::parse("http://127.0.0.1:9/api/conversations?limit=10&apikey=s3cr3t&offset=0").unwrap();
        let r = redact_url(&u);
        assert!(!r.contains("s3cr3t"), "{r}");
        assert!(r.contains("apikey=***"), "{r}");
        assert!(r.contains("limit=10"), "{r}");
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        let mut h = reqwest::header::HeaderMap::new();
        h.insert(reqwest::header::RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(parse_retry_after(&h), Some(Duration::from_secs(7)));
        h.insert(reqwest::header::RETRY_AFTER, "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap());
        assert_eq!(parse_retry_after(&h), Some(Duration::ZERO));
        let mut h = reqwest::header::HeaderMap::new();
        h.insert("x-ratelimit-reset", "12".parse().unwrap());
        assert_eq!(parse_retry_after(&h), Some(Duration::from_secs(12)));
        let at = chrono::Utc::now().timestamp() + 30;
        h.insert("x-ratelimit-reset", at.to_string().parse().unwrap());
        let d = parse_retry_after(&h).unwrap();
        assert!(d <= Duration::from_secs(30) && d >= Duration::from_secs(28), "{d:?}");
    }
}
