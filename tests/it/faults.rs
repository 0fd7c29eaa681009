//! Vendor faults: throttling, 5xx, HTML error pages, slow answers and dropped connections are
//! retried to success; what cannot succeed fails clearly and keeps the watermark.

use desksync::simulator::world::Mutation;
use desksync::simulator::{Fault, FaultRule, SimConfig};
use desksync::sources::Source;

use crate::common::{Env, assert_equals_truth};

fn rule(fault: Fault, path: &str, times: u32) -> FaultRule {
    FaultRule { fault, path_contains: Some(path.to_string()), times }
}

#[tokio::test(flavor = "multi_thread")]
async fn transient_faults_are_retried_to_success() {
    let env = Env::new(SimConfig { conversations: 70, seed: 3, ..Default::default() }, "", "").await;
    env.sim.inject(rule(Fault::TooManyRequests { retry_after_secs: 1 }, "/api/conversations", 2));
    env.sim.inject(rule(Fault::Unavailable, "/messages", 2));
    env.sim.inject(rule(Fault::HtmlError, "/messages", 2));
    env.sim.inject(rule(Fault::Drop, "/messages", 1));
    env.sim.inject(rule(Fault::Slow { millis: 300 }, "/api/departments", 1));
    env.sim.inject(rule(Fault::HtmlError, "/api/tags", 1));
    let started = std::time::Instant::now();
    let s = env.run().await;
    assert_eq!(s.status, "succeeded", "{s:?}");
    assert_equals_truth(&env);
    let stats = env.sim.stats();
    for f in ["fault_429", "fault_503", "fault_html500", "fault_drop", "fault_slow"] {
        assert!(stats.get(f).copied().unwrap_or(0) > 0, "{f} was not served: {stats:?}");
    }
    let retries: u64 = s.streams.iter().map(|x| x.retries).sum();
    assert_eq!(retries, 8, "{s:?}");
    assert_eq!(env.stream(&s, "conversations").throttled, 1 + 1, "{s:?}");
    // Retry-After: 1 was honoured (twice, on the same first page).
    assert!(started.elapsed() >= std::time::Duration::from_secs(2), "{:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_persistent_failure_stops_the_stream_and_keeps_its_watermark() {
    let tables = "
[http]
rate_limit_per_minute = 600000
max_in_flight = 8
max_retries = 2
retry_initial = \"10ms\"

[sync]
message_concurrency = 4
";
    let env = Env::new(SimConfig { conversations: 50, seed: 4, ..Default::default() }, "", tables).await;
    assert_eq!(env.run().await.status, "succeeded");
    let watermark = env.rows("SELECT watermark FROM _desksync_state WHERE stream = 'conversations'");
    env.sim.with_data(|d| d.apply(&Mutation { new_messages: 5, ..Default::default() }, chrono::Utc::now()));
    env.sim.inject(rule(Fault::Unavailable, "/messages", 1000));
    let s = env.run().await;
    assert_eq!(s.status, "partial", "{s:?}");
    let conv = env.stream(&s, "conversations");
    assert_eq!(conv.status, "failed");
    let err = conv.error.clone().unwrap();
    assert!(err.contains("gave up") && err.contains("503"), "{err}");
    assert!(!err.contains(&env.sim.state.config.api_key), "the API key leaked: {err}");
    assert!(err.contains("apikey=***"), "the URL should be shown redacted: {err}");
    // The watermark did not move, and the run history says why.
    assert_eq!(env.rows("SELECT watermark FROM _desksync_state WHERE stream = 'conversations'"), watermark);
    let runs = env.rows("SELECT status, error FROM _desksync_runs ORDER BY started_at");
    assert_eq!(runs[1][0], "partial");
    assert!(runs[1][1].contains("conversations") && runs[1][1].contains("503"), "{runs:?}");
    // Once the vendor recovers, the next run catches up exactly.
    env.sim.clear_faults();
    let s = env.run().await;
    assert_eq!(s.status, "succeeded", "{s:?}");
    assert_equals_truth(&env);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_api_key_is_reported_in_plain_words() {
    let env = Env::new(SimConfig { conversations: 5, ..Default::default() }, "", "").await;
    std::fs::write(env.dir.path().join("la.secret"), "wrong-key-987").unwrap();
    let config = env.config();
    let p = &config.pipelines[0];
    let source = Source::new(p, desksync::sources::http_client(p));
    let err = source.check().await.unwrap_err().to_string();
    assert!(err.contains("refused the credentials") && err.contains("401"), "{err}");
    assert!(!err.contains("wrong-key-987"), "the key leaked: {err}");
    // A wrong key is not retried.
    assert_eq!(env.sim.stats().get("application_status"), Some(&1));
    // An unreachable server is named as such.
    let mut p2 = p.clone();
    p2.base_url = "http://127.0.0.1:9".parse().unwrap();
    p2.http.max_retries = 1;
    p2.http.retry_initial = std::time::Duration::from_millis(10);
    let err = Source::new(&p2, desksync::sources::http_client(&p2)).check().await.unwrap_err().to_string();
    assert!(err.contains("cannot connect"), "{err}");
    assert!(!err.contains("wrong-key-987"), "the key leaked: {err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_vendor_rate_limit_is_respected_and_the_run_completes_with_the_right_data() {
    use desksync::simulator::RateLimit;
    // The vendor allows 10 requests per 2 s (5/s); the pipeline is told 600/min (10/s), so it
    // trips the limit, honours Retry-After at the same page, halves its pace and finishes.
    let cfg = SimConfig {
        conversations: 40,
        seed: 9,
        rate_limit: Some(RateLimit { requests: 10, window: std::time::Duration::from_secs(2) }),
        ..Default::default()
    };
    let tables = "
[http]
rate_limit_per_minute = 600
max_in_flight = 4
retry_initial = \"50ms\"
retry_max_wait = \"5s\"
max_retries = 8
";
    let env = Env::new(cfg, "", tables).await;
    let s = env.run().await;
    assert_eq!(s.status, "succeeded", "{s:?}");
    assert_equals_truth(&env);
    let throttled: u64 = s.streams.iter().map(|x| x.throttled).sum();
    assert!(throttled >= 1, "the limit was never reached: {s:?}");
    assert_eq!(env.sim.stats().get("rate_limited_429").copied().unwrap_or(0), throttled);
    // Every request the vendor refused was sent again: one request per conversation got through.
    assert_eq!(env.sim.stats().get("messages"), Some(&40));
}
