//! One conformance suite, the same scenarios against every connector: each scenario runs for
//! LiveAgent, LiveZilla and Liveforce and compares what the warehouse holds with the
//! simulator's ground truth (the vendor-specific truth functions live beside each vendor's own
//! tests). A scenario that fails for one vendor names it.

use desksync::simulator::{Fault, FaultRule, SimConfig};

use crate::common::{Env, assert_equals_truth};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Vendor {
    LiveAgent,
    LiveZilla,
    Liveforce,
}

const VENDORS: [Vendor; 3] = [Vendor::LiveAgent, Vendor::LiveZilla, Vendor::Liveforce];

/// The HTTP settings of the suite: short timeouts so a slow answer is a fault, quick retries.
const HTTP: &str = "
[http]
rate_limit_per_minute = 600000
max_in_flight = 8
timeout = \"1s\"
retry_initial = \"10ms\"
retry_max_wait = \"2s\"
max_retries = 8

[sync]
message_concurrency = 8
report_history = \"2d\"
";

impl Vendor {
    fn sim(self, conversations: usize) -> SimConfig {
        match self {
            Vendor::LiveAgent => SimConfig { conversations, seed: 3, history_days: 120, ..Default::default() },
            Vendor::LiveZilla => crate::livezilla::sim(conversations),
            Vendor::Liveforce => crate::liveforce::sim(conversations),
        }
    }

    async fn env(self, conversations: usize, tables: &str) -> Env {
        let sim = self.sim(conversations);
        match self {
            Vendor::LiveAgent => Env::new(sim, "", tables).await,
            Vendor::LiveZilla => Env::livezilla(sim, None, "", tables).await,
            Vendor::Liveforce => {
                Env::liveforce(sim, None, "", &format!("{tables}\n[liveforce]\nper_page = 25\n")).await
            }
        }
    }

    /// Assert that the warehouse equals the simulator's truth for this vendor.
    fn assert_exact(self, env: &Env) {
        use crate::truth::*;
        let (tickets, messages, filter) = env.sim.with_data(|d| match self {
            Vendor::LiveAgent => (liveagent_tickets(d), liveagent_messages(d), ""),
            Vendor::LiveZilla => (livezilla_tickets(d), livezilla_messages(d), "AND ticket_id NOT LIKE 'chat-%'"),
            Vendor::Liveforce => (liveforce_tickets(d), liveforce_messages(d), ""),
        });
        assert_rows_equal(&format!("{self:?} messages"), &db_messages(env, self.source(), filter), &messages);
        assert_rows_equal(&format!("{self:?} tickets"), &db_tickets(env, self.source(), filter), &tickets);
        let (departments, comments) = env.sim.with_data(|d| match self {
            Vendor::LiveAgent => (Some(liveagent_departments(d)), None),
            Vendor::LiveZilla => (Some(livezilla_departments(d)), Some(livezilla_ticket_comments(d))),
            Vendor::Liveforce => (None, None),
        });
        if let Some(want) = departments {
            assert_rows_equal(&format!("{self:?} departments"), &db_departments(env, self.source()), &want);
        }
        if let Some(want) = comments {
            assert_rows_equal(&format!("{self:?} ticket_comments"), &db_ticket_comments(env), &want);
        }
        match self {
            Vendor::LiveAgent => assert_equals_truth(env),
            Vendor::LiveZilla => assert_eq!(crate::livezilla::db(env), crate::livezilla::truth(env), "{self:?}"),
            Vendor::Liveforce => {
                assert_eq!(crate::liveforce::db_tickets(env), crate::liveforce::truth_tickets(env), "{self:?}")
            }
        }
    }

    /// Requests of a run that finds nothing changed (60 conversations, the suite's settings),
    /// preflight included.
    fn unchanged_run_requests(self) -> u64 {
        match self {
            Vendor::LiveAgent => 6,
            Vendor::LiveZilla => 8,
            Vendor::Liveforce => 21,
        }
    }

    fn source(self) -> &'static str {
        match self {
            Vendor::LiveAgent => "liveagent",
            Vendor::LiveZilla => "livezilla",
            Vendor::Liveforce => "liveforce",
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_sync_is_exact_and_an_unchanged_second_run_writes_nothing() {
    for v in VENDORS {
        let env = v.env(60, HTTP).await;
        // Empty subjects, as vendors do send them: '' is not NULL.
        let blank = env.sim.with_data(|d| {
            let mut n = 0;
            for c in d.conversations.values_mut().step_by(7) {
                c.subject = String::new();
                n += 1;
            }
            n
        });
        let s = env.run().await;
        assert_eq!(s.status, "succeeded", "{v:?}: {s:?}");
        v.assert_exact(&env);
        let stored =
            env.count(&format!("SELECT count(*) FROM tickets WHERE source = '{}' AND subject = ''", v.source()));
        assert!(blank > 0 && stored > 0, "{v:?}: '' subjects stored as '' ({stored} of {blank})");
        let s = env.run().await;
        assert_eq!(s.status, "succeeded", "{v:?}: {s:?}");
        let snapshots: Vec<&str> = desksync::sources::streams(env.config().pipelines[0].kind())
            .into_iter()
            .filter(|i| i.mode == desksync::sources::SyncMode::Snapshot)
            .map(|i| i.name)
            .collect();
        let written: u64 =
            s.streams.iter().filter(|st| !snapshots.contains(&st.stream.as_str())).map(|st| st.rows).sum();
        assert_eq!(written, 0, "{v:?}: an unchanged second run writes nothing: {s:?}");
        // The request count of an unchanged run, pinned: a change that costs requests shows here.
        eprintln!("{v:?}: second run {} requests", s.requests);
        assert_eq!(s.requests, v.unchanged_run_requests(), "{v:?}: {s:?}");
        v.assert_exact(&env);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn ten_percent_faults_of_every_kind_on_every_endpoint_end_exact() {
    for v in VENDORS {
        let env = v.env(50, HTTP).await;
        env.sim.fault_mix(0.10, Fault::every_kind(1_000), 7);
        let s = env.run().await;
        env.sim.fault_mix(0.0, vec![], 0);
        let stats = env.sim.stats();
        let faults: u64 = stats.iter().filter(|(k, _)| k.starts_with("fault_")).map(|(_, n)| n).sum();
        assert!(faults >= 1, "{v:?}: the mix injected faults: {stats:?}");
        // The faulted run itself ends exact: every fault is retried in place.
        assert_eq!(s.status, "succeeded", "{v:?}: {s:?}");
        v.assert_exact(&env);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn faults_that_outlast_the_retries_make_the_run_partial_never_succeeded() {
    for v in VENDORS {
        let env = v.env(30, HTTP).await;
        // Every answer is cut mid-JSON for a while: more than the retries of any request.
        env.sim.inject(FaultRule { fault: Fault::Truncated, path_contains: None, times: 100_000 });
        let s = env.run().await;
        assert_ne!(s.status, "succeeded", "{v:?}: {s:?}");
        assert!(s.error.is_some(), "{v:?}: the run names what went wrong: {s:?}");
        let recorded = env.rows("SELECT status FROM _desksync_runs ORDER BY started_at DESC LIMIT 1");
        assert_ne!(recorded[0][0], "succeeded", "{v:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn credentials_in_records_never_reach_the_warehouse() {
    for v in VENDORS {
        let env = v.env(20, HTTP).await;
        let s = env.run().await;
        assert_eq!(s.status, "succeeded", "{v:?}: {s:?}");
        let leaked = env.count(&format!(
            "SELECT count(*) FROM tickets WHERE source = '{}' AND (raw ILIKE '%\"password\":%' OR raw ILIKE '%\"token\":%' OR raw ILIKE '%\"api_key\":%')",
            v.source()
        ));
        assert_eq!(leaked, 0, "{v:?}: credentials in tickets.raw");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_endpoint_the_account_lacks_fails_that_stream_only() {
    // LiveZilla serves everything from one endpoint, so an account cannot lack part of it.
    for (v, path, stream) in [(Vendor::LiveAgent, "/api/tags", "tags"), (Vendor::Liveforce, "/lead/list", "leads")] {
        let env = v.env(20, HTTP).await;
        env.sim.inject(FaultRule { fault: Fault::NotFound, path_contains: Some(path.into()), times: 1_000 });
        let s = env.run().await;
        assert_eq!(s.status, "partial", "{v:?}: {s:?}");
        let st = env.stream(&s, stream);
        assert_eq!(st.status, "failed", "{v:?}: {s:?}");
        assert!(st.error.as_deref().is_some_and(|e| e.contains("404")), "{v:?}: the reason: {s:?}");
        let others = s.streams.iter().filter(|x| x.stream != stream && x.status != "succeeded").count();
        assert_eq!(others, 0, "{v:?}: every other stream ran: {s:?}");
    }
}

/// Beyond tickets and messages: every table that keeps the served record holds each of its
/// fields in the documented column, typed (see `columns.rs`), for every vendor and every table
/// its streams fill (opt-in ones included).
#[tokio::test(flavor = "multi_thread")]
async fn every_column_of_every_other_table_is_the_field_the_api_served() {
    for v in VENDORS {
        // Every stream the connector has, opt-in ones included.
        let kind = desksync::sources::SourceKind::from_name(v.source()).unwrap();
        let names: Vec<String> = desksync::sources::stream_names(kind).iter().map(|s| format!("\"{s}\"")).collect();
        let all = format!("streams = [{}]", names.join(", "));
        // Report days far enough back that every report has rows.
        let http = HTTP.replace("report_history = \"2d\"", "report_history = \"40d\"");
        let env = match v {
            Vendor::LiveAgent => Env::new(v.sim(60), &all, &http).await,
            Vendor::LiveZilla => Env::livezilla(v.sim(30), None, &all, &http).await,
            Vendor::Liveforce => {
                Env::liveforce(v.sim(30), None, &all, &format!("{http}\n[liveforce]\nper_page = 25\n")).await
            }
        };
        let s = env.run().await;
        assert_eq!(s.status, "succeeded", "{v:?}: {s:?}");
        let (problems, checked) = crate::columns::check(&env, v.source(), env.sim.state.config.timezone);
        assert!(problems.is_empty(), "{v:?}: {} problems:\n{}", problems.len(), problems.join("\n"));
        println!("{v:?}: {} tables checked: {}", checked.len(), checked.join(", "));
        let want = match v {
            Vendor::LiveAgent => 28,
            Vendor::LiveZilla => 3,
            Vendor::Liveforce => 11,
        };
        assert_eq!(checked.len(), want, "{v:?}: tables with records checked: {checked:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn kill_9_at_random_moments_then_a_restart_is_exact() {
    const TRIALS: u64 = 20;
    for v in VENDORS {
        // LiveZilla sees changes to tickets older than its re-read window at the full re-scan.
        let rescan = if v == Vendor::LiveZilla { "full_rescan_every = \"1s\"\n" } else { "" };
        let tables = format!("{HTTP}batch_size = 7\npage_size = 20\n{rescan}");
        // How long a whole run of this data takes through the binary: the moments are spread
        // over it (a faster build or machine must not make every kill land after the end).
        let mut span_ms = {
            let probe = v.env(40, &tables).await;
            let t0 = std::time::Instant::now();
            let out = crate::cli::desksync(&probe, &["run"]).await;
            assert_eq!(out.code, Some(0), "{v:?}: {out:?}");
            (t0.elapsed().as_millis() as u64).max(50)
        };
        let env = v.env(40, &tables).await;
        let config = env.config_path.to_str().unwrap().to_string();
        // A deterministic spread of moments: from before the first request to the last commits.
        let mut x: u64 = 0x9E37_79B9 ^ v as u64;
        let mut killed = 0;
        for trial in 0..TRIALS {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            if trial > 0 {
                // New work for every run after the first: replies, changes, new records.
                use desksync::simulator::world::Mutation;
                let m = Mutation { new_messages: 4, changed_conversations: 2, new_conversations: 2 };
                env.sim.with_data(|d| d.apply(&m, chrono::Utc::now()));
            }
            let after = std::time::Duration::from_millis(5 + (x >> 33) % span_ms);
            let t0 = std::time::Instant::now();
            let mut child = crate::cli::bin()
                .args(["--config", &config, "run"])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap();
            tokio::select! {
                _ = tokio::time::sleep(after) => {
                    child.start_kill().unwrap(); // SIGKILL
                    killed += 1;
                }
                status = child.wait() => {
                    // Finished before the kill: a later trial kills a later (and, resuming,
                    // shorter) run, within this one's length.
                    assert!(status.unwrap().code().is_some(), "{v:?} trial {trial}");
                    span_ms = (t0.elapsed().as_millis() as u64).max(20);
                }
            }
            // A killed process holds the warehouse until its last thread is gone, which on a
            // loaded machine (a thread inside a slow fsync) can take a while: wait for it, so the
            // next run measures resuming, not a lock wait.
            let gone = tokio::time::timeout(std::time::Duration::from_secs(120), child.wait()).await;
            assert!(gone.is_ok(), "{v:?} trial {trial}: the killed process never exited");
        }
        assert!(killed >= TRIALS / 2, "{v:?}: most trials were killed mid-run ({killed})");
        // The restart resumes from what was committed: nothing lost, nothing twice.
        let out = crate::cli::desksync(&env, &["run"]).await;
        assert_eq!(out.code, Some(0), "{v:?}: {out:?}");
        if v == Vendor::LiveZilla {
            // LiveZilla sees a change to an old ticket at a full re-scan: the restart finishes
            // the re-scan a killed run began, and changes made behind it are the next one's.
            tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
            let out = crate::cli::desksync(&env, &["run"]).await;
            assert_eq!(out.code, Some(0), "{v:?}: {out:?}");
        }
        v.assert_exact(&env);
        let dup = env.count(
            "SELECT count(*) FROM (SELECT source, account, ticket_id, message_id FROM messages GROUP BY ALL HAVING count(*) > 1)",
        );
        assert_eq!(dup, 0, "{v:?}: no message twice");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn records_changing_during_the_listing_are_exact_after_the_next_run() {
    use desksync::simulator::world::Mutation;
    for v in VENDORS {
        // LiveZilla sees changes to tickets older than its re-read window at the full re-scan.
        let rescan = if v == Vendor::LiveZilla { "full_rescan_every = \"1s\"\n" } else { "" };
        let env = v.env(80, &format!("{HTTP}page_size = 20\npage_overlap = 3\n{rescan}")).await;
        assert_eq!(env.run().await.status, "succeeded", "{v:?}");
        env.sim.with_data(|d| {
            // Replies, status changes, new records since the last run...
            d.apply(&Mutation { new_messages: 6, changed_conversations: 4, new_conversations: 5 }, chrono::Utc::now());
            // ...and, where the vendor's listing can shift under the pager, changes between
            // the pages of this run's listing.
            match v {
                Vendor::LiveAgent => d.touch_after_list_requests = Some((2, 8)),
                Vendor::Liveforce => {
                    let id =
                        desksync::simulator::liveforce::lf_id(desksync::simulator::liveforce::ordered_tickets(d)[2]);
                    d.vendors.liveforce.reply_after_list_requests = Some((1, id));
                }
                // Windows by created time: a change does not move a ticket between windows.
                Vendor::LiveZilla => {}
            }
        });
        let s = env.run().await;
        assert_eq!(s.status, "succeeded", "{v:?}: {s:?}");
        // A change made after the listing passed its place is the next run's to see; nothing is
        // lost or doubled meanwhile.
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        let s = env.run().await;
        assert_eq!(s.status, "succeeded", "{v:?}: {s:?}");
        v.assert_exact(&env);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_account_zone_with_dst_and_a_different_filter_zone_are_exact() {
    use chrono::TimeZone;
    use desksync::simulator::world::Mutation;
    let zone: chrono_tz::Tz = "Europe/Bratislava".parse().unwrap();
    let phoenix: chrono_tz::Tz = "America/Phoenix".parse().unwrap();
    // Liveforce sends its server's local times; LiveZilla unix times (its transcripts are
    // checked in the connector's own tests).
    for v in [Vendor::LiveAgent, Vendor::Liveforce] {
        let sim = SimConfig {
            timezone: zone,
            filter_timezone: if v == Vendor::LiveAgent { phoenix } else { zone },
            history_end: chrono::Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap(),
            history_days: 60,
            ..v.sim(60)
        };
        let top = match v {
            Vendor::LiveAgent => "timezone = \"Europe/Bratislava\"\nfilter_timezone = \"America/Phoenix\"",
            _ => "timezone = \"Europe/Bratislava\"",
        };
        let env = match v {
            Vendor::LiveAgent => Env::new(sim, top, HTTP).await,
            _ => Env::liveforce(sim, None, top, &format!("{HTTP}\n[liveforce]\nper_page = 25\n")).await,
        };
        // Records in the repeated autumn hour (its first pass, 02:00–03:00 CEST on 25 October
        // 2026) and just after the clocks went back: read by the documented rule (the earlier
        // instant), these are exact.
        env.sim.with_data(|d| {
            let times = [
                chrono::Utc.with_ymd_and_hms(2026, 10, 25, 0, 30, 0).unwrap(), // 02:30 CEST
                chrono::Utc.with_ymd_and_hms(2026, 10, 25, 2, 5, 0).unwrap(),  // 03:05 CET
            ];
            for (c, at) in d.conversations.values_mut().zip(times) {
                c.created = at;
                c.changed = at;
                for g in &mut c.groups {
                    g.created = at;
                    for m in &mut g.messages {
                        m.created = at;
                    }
                }
            }
        });
        let s = env.run().await;
        assert_eq!(s.status, "succeeded", "{v:?}: {s:?}");
        v.assert_exact(&env);
        // Changes after the first run are found through filters written in the filter zone.
        env.sim.with_data(|d| d.apply(&Mutation { new_messages: 4, ..Default::default() }, chrono::Utc::now()));
        let s = env.run().await;
        assert_eq!(s.status, "succeeded", "{v:?}: {s:?}");
        v.assert_exact(&env);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn with_the_rate_limit_known_no_request_is_refused() {
    use desksync::simulator::RateLimit;
    // The vendor allows 20 requests in any 2 s (600 a minute) and the pipeline is told so: it
    // paces itself under the limit and the vendor never answers 429. (How much of the quota a
    // run uses is a speed figure: `desksync bench --rate-limit` prints it.)
    for v in VENDORS {
        let sim = SimConfig {
            rate_limit: Some(RateLimit { requests: 20, window: std::time::Duration::from_secs(2) }),
            ..v.sim(25)
        };
        let tables =
            HTTP.replace("rate_limit_per_minute = 600000", "rate_limit_per_minute = 600\nrate_limit_window = \"2s\"");
        let env = match v {
            Vendor::LiveAgent => Env::new(sim, "", &tables).await,
            Vendor::LiveZilla => Env::livezilla(sim, None, "", &tables).await,
            Vendor::Liveforce => {
                Env::liveforce(sim, None, "", &format!("{tables}\n[liveforce]\nper_page = 25\n")).await
            }
        };
        let s = env.run().await;
        assert_eq!(s.status, "succeeded", "{v:?}: {s:?}");
        let refused = env.sim.stats().get("rate_limited_429").copied().unwrap_or(0);
        assert_eq!(refused, 0, "{v:?}: requests refused with 429: {s:?}");
        let share = s.requests as f64 / s.elapsed.as_secs_f64() / 10.0;
        eprintln!("{v:?}: {} requests in {:.1?}, {:.0}% of the limit", s.requests, s.elapsed, share * 100.0);
        v.assert_exact(&env);
    }
}
