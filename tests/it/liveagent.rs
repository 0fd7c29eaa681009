//! LiveAgent end to end against the simulator: full sync, no-op re-run, exact incremental
//! changes, rows shifting between pages, quarantine, time zones, the lake.

use desksync::simulator::SimConfig;
use desksync::simulator::{ListOrder, world::Mutation};

use crate::common::{Env, assert_equals_truth};

fn sim(conversations: usize) -> SimConfig {
    SimConfig { conversations, seed: 7, ..Default::default() }
}

#[tokio::test(flavor = "multi_thread")]
async fn full_sync_equals_the_simulator() {
    let env = Env::new(sim(180), "", "").await;
    let s = env.run().await;
    assert_eq!(s.status, "succeeded", "{s:?}");
    assert_equals_truth(&env);
    // One list pass plus one messages request per conversation.
    let stats = env.sim.stats();
    assert_eq!(stats.get("messages"), Some(&180));
    // Canonical values are filled in for every row.
    assert_eq!(env.count("SELECT count(*) FROM tickets WHERE status IS NULL OR channel IS NULL"), 0);
    assert_eq!(env.count("SELECT count(*) FROM tickets WHERE source <> 'liveagent' OR account <> 'acme'"), 0);
    assert!(env.count("SELECT count(*) FROM messages WHERE body_format = 'html'") > 0);
    assert!(env.count("SELECT count(*) FROM messages WHERE is_internal") > 0);
    // Call conversations also land in the shared calls table.
    let calls = env.count("SELECT count(*) FROM tickets WHERE channel = 'call'");
    assert!(calls > 0);
    assert_eq!(env.count("SELECT count(*) FROM calls WHERE source = 'liveagent' AND ticket_id = call_id"), calls);
    assert!(env.count("SELECT count(*) FROM messages WHERE author_type = 'system'") > 0);
    // Non-ASCII and long bodies survive byte for byte (checked by assert_equals_truth) and exist.
    assert!(env.count("SELECT count(*) FROM messages WHERE length(body) > 20000") > 0);
    assert!(env.count("SELECT count(*) FROM messages WHERE body LIKE '%ďakujem%'") > 0);
    // Tag ids resolve to names through the ticket_tags view.
    let want: usize = env.sim.with_data(|d| d.conversations.values().map(|c| c.tags.len()).sum());
    assert_eq!(env.count("SELECT count(*) FROM ticket_tags WHERE tag_name IS NOT NULL") as usize, want);
    let (tid, tag_names) = env.sim.with_data(|d| {
        let c = d.conversations.values().find(|c| c.tags.len() == 2).unwrap();
        let mut names: Vec<String> =
            c.tags.iter().map(|t| d.tags.iter().find(|x| &x.id == t).unwrap().name.clone()).collect();
        names.sort();
        (c.id.clone(), names.join(","))
    });
    let got = env.rows(&format!(
        "SELECT string_agg(tag_name, ',' ORDER BY tag_name) FROM ticket_tags WHERE ticket_id = '{tid}'"
    ));
    assert_eq!(got[0][0], tag_names);
    // The run is recorded.
    let run = env.rows("SELECT status, rows_written, requests FROM _desksync_runs");
    assert_eq!(run.len(), 1);
    assert_eq!(run[0][0], "succeeded");
    assert_eq!(run[0][2], s.requests.to_string());
    // The API key appears nowhere in the warehouse file.
    let bytes = std::fs::read(env.dir.path().join("w.duckdb")).unwrap();
    let key = env.sim.state.config.api_key.as_bytes();
    assert!(!bytes.windows(key.len()).any(|w| w == key), "the API key was written to the warehouse");
}

#[tokio::test(flavor = "multi_thread")]
async fn second_run_without_changes_fetches_no_messages_and_changes_nothing() {
    let env = Env::new(sim(120), "", "").await;
    assert_eq!(env.run().await.status, "succeeded");
    let before = env.rows("SELECT ticket_id, synced_at FROM tickets ORDER BY 1");
    env.sim.reset_stats();
    let s = env.run().await;
    assert_eq!(s.status, "succeeded", "{s:?}");
    assert_eq!(env.sim.stats().get("messages"), None, "no message requests on a no-op run");
    assert_eq!(s.rows_written, 0, "{s:?}");
    assert_eq!(env.rows("SELECT ticket_id, synced_at FROM tickets ORDER BY 1"), before);
    assert_equals_truth(&env);
}

#[tokio::test(flavor = "multi_thread")]
async fn incremental_run_picks_up_exactly_the_changes() {
    let env = Env::new(sim(150), "", "").await;
    assert_eq!(env.run().await.status, "succeeded");
    let m = env.sim.with_data(|d| {
        d.apply(&Mutation { new_conversations: 4, changed_conversations: 5, new_messages: 6 }, chrono::Utc::now())
    });
    let mut touched: Vec<String> = m.created.iter().chain(&m.status_changed).chain(&m.replied).cloned().collect();
    touched.sort();
    touched.dedup();
    let new_messages: usize =
        env.sim.with_data(|d| m.created.iter().map(|id| d.conversations[id].message_count()).sum());
    env.sim.reset_stats();
    let s = env.run().await;
    assert_eq!(s.status, "succeeded", "{s:?}");
    assert_eq!(env.sim.stats().get("messages").copied().unwrap_or(0) as usize, touched.len());
    let conv = env.stream(&s, "conversations");
    // Changed tickets plus their new messages (the created conversations' messages and one
    // reply per replied conversation), and the call rows of the changed call conversations.
    let calls = env.sim.with_data(|d| touched.iter().filter(|id| d.conversations[*id].channel == "C").count());
    assert_eq!(conv.rows as usize, touched.len() + new_messages + m.replied.len() + calls, "{conv:?}");
    assert_equals_truth(&env);
}

#[tokio::test(flavor = "multi_thread")]
async fn rows_shifting_between_pages_are_not_lost() {
    // Changed-ascending order: after the second page request the simulator changes the first
    // ten conversations, which jump to the end and shift every later row ten places forward.
    let cfg = SimConfig { order: ListOrder::ChangedAsc, ..sim(230) };
    let tables = format!("{}\npage_size = 40\npage_overlap = 5\nbatch_size = 40\n", crate::common::FAST);
    let env = Env::new(cfg, "", &tables).await;
    env.sim.with_data(|d| d.touch_after_list_requests = Some((2, 10)));
    let s = env.run().await;
    assert_eq!(s.status, "succeeded", "{s:?}");
    assert_equals_truth(&env);
    // And the same holds when new conversations arrive at the start of a newest-first listing.
    let cfg = SimConfig { order: ListOrder::CreatedDesc, ..sim(230) };
    let env = Env::new(cfg, "", &tables).await;
    env.sim.with_data(|d| d.touch_after_list_requests = Some((3, 12)));
    assert_eq!(env.run().await.status, "succeeded");
    env.sim.with_data(|d| {
        d.apply(&Mutation { new_conversations: 15, ..Default::default() }, chrono::Utc::now());
    });
    assert_eq!(env.run().await.status, "succeeded");
    assert_equals_truth(&env);
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_records_are_quarantined_not_dropped() {
    let env = Env::new(sim(60), "", "").await;
    let broken = env.sim.with_data(|d| {
        d.extra_raw.push(serde_json::json!({"subject": "no id here", "datechanged": "2025-01-01 00:00:00"}));
        d.extra_raw.push(serde_json::json!({"conversationid": "badbad01", "datechanged": "31/12/2025"}));
        let id = d.conversations.keys().next().unwrap().clone();
        d.broken_messages.push(id.clone());
        id
    });
    let s = env.run().await;
    // Messages are missing, so the run says so: partial, the stream incomplete, naming the
    // conversation (malformed list records alone would only be quarantined).
    assert_eq!(s.status, "partial", "{s:?}");
    let conv = env.stream(&s, "conversations");
    assert_eq!(conv.status, "incomplete", "{s:?}");
    assert!(conv.error.as_deref().is_some_and(|e| e.contains(&broken) && e.contains("read again next run")), "{s:?}");
    assert_eq!(conv.quarantined, 3, "{s:?}");
    let q = env.rows("SELECT record_key, reason FROM _desksync_quarantine ORDER BY reason");
    assert_eq!(q.len(), 3, "{q:?}");
    assert!(q.iter().any(|r| r[1].contains("without a conversationid")), "{q:?}");
    assert!(q.iter().any(|r| r[0] == "badbad01" && r[1].contains("'31/12/2025' is not a date-time")), "{q:?}");
    assert!(q.iter().any(|r| r[0] == broken && r[1].contains("Unable to load conversation")), "{q:?}");
    // The conversation whose messages failed is kept, marked for another try...
    assert_eq!(
        env.count(&format!("SELECT count(*) FROM tickets WHERE ticket_id = '{broken}' AND content_hash IS NULL")),
        1
    );
    // A run that meets the same bad records again says so again, but adds no rows for them.
    let s = env.run().await;
    assert_eq!(s.status, "partial", "{s:?}");
    assert_eq!(env.count("SELECT count(*) FROM _desksync_quarantine"), 3, "the quarantine does not grow per run");
    assert_eq!(env.count(&format!("SELECT count(*) FROM _desksync_quarantine WHERE run_id = '{}'", s.run_id)), 3);
    // ...which the next run makes, and once the vendor answers, everything is there.
    env.sim.with_data(|d| {
        d.broken_messages.clear();
        d.extra_raw.clear();
    });
    env.sim.reset_stats();
    let s = env.run().await;
    assert_eq!(s.status, "succeeded");
    assert_eq!(env.sim.stats().get("messages"), Some(&1));
    assert_equals_truth(&env);
}

#[tokio::test(flavor = "multi_thread")]
async fn account_time_zone_is_converted_to_utc_both_ways() {
    // An old LiveAgent account: times reported in America/Phoenix, filters read in Phoenix too.
    let phoenix: chrono_tz::Tz = "America/Phoenix".parse().unwrap();
    let cfg = SimConfig { timezone: phoenix, filter_timezone: phoenix, ..sim(80) };
    let env = Env::new(cfg, "timezone = \"America/Phoenix\"\nfilter_timezone = \"America/Phoenix\"", "").await;
    assert_eq!(env.run().await.status, "succeeded");
    assert_equals_truth(&env); // compares against the simulator's UTC instants
    env.sim.with_data(|d| d.apply(&Mutation { new_messages: 3, ..Default::default() }, chrono::Utc::now()));
    env.sim.reset_stats();
    assert_eq!(env.run().await.status, "succeeded");
    // The filter was written in Phoenix time: exactly the three changed conversations came back.
    assert_eq!(env.sim.stats().get("messages"), Some(&3));
    assert_equals_truth(&env);
}

#[tokio::test(flavor = "multi_thread")]
async fn reconciliation_marks_purged_conversations_deleted_never_removes_them() {
    let tables = format!("{}reconcile_every = \"1s\"\npage_size = 25\npage_overlap = 3\n", crate::common::FAST);
    let env = Env::new(sim(70), "", &tables).await;
    assert_eq!(env.run().await.status, "succeeded");
    // A full first pass counts as reconciled: no extra listing yet.
    assert_eq!(env.count("SELECT count(*) FROM tickets WHERE deleted_at IS NOT NULL"), 0);
    let purged: Vec<String> = env.sim.with_data(|d| {
        let ids: Vec<String> = d.conversations.keys().step_by(20).cloned().collect();
        for id in &ids {
            d.conversations.remove(id);
        }
        ids
    });
    // Deleted and spam conversations, by contrast, are still listed and keep their status.
    let spam = env.sim.with_data(|d| {
        let c = d.conversations.values_mut().next().unwrap();
        c.status = "B".into();
        c.changed = chrono::Utc::now();
        c.id.clone()
    });
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let s = env.run().await;
    assert_eq!(s.status, "succeeded", "{s:?}");
    let mut gone: Vec<String> = env
        .rows("SELECT ticket_id FROM tickets WHERE deleted_at IS NOT NULL ORDER BY 1")
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    gone.sort();
    let mut want = purged.clone();
    want.sort();
    assert_eq!(gone, want);
    assert_eq!(env.count("SELECT count(*) FROM tickets"), 70, "rows are never hard-deleted");
    assert_eq!(
        env.rows(&format!("SELECT status, deleted_at IS NULL FROM tickets WHERE ticket_id = '{spam}'")),
        vec![vec!["spam".to_string(), "true".to_string()]]
    );
    assert_eq!(env.count("SELECT count(*) FROM _desksync_seen"), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn times_either_side_of_a_dst_change_convert_correctly() {
    use chrono::TimeZone;
    let tz: chrono_tz::Tz = "Europe/Bratislava".parse().unwrap();
    let cfg = SimConfig { timezone: tz, filter_timezone: tz, ..sim(30) };
    let env = Env::new(cfg, "timezone = \"Europe/Bratislava\"\nfilter_timezone = \"Europe/Bratislava\"", "").await;
    // 2025-10-26: clocks go back from 03:00 CEST to 02:00 CET. 23:30 UTC the day before is
    // 01:30 CEST (+2); 02:30 UTC is 03:30 CET (+1).
    let (a, b) = env.sim.with_data(|d| {
        let mut it = d.conversations.values_mut();
        let a = it.next().unwrap();
        a.created = chrono::Utc.with_ymd_and_hms(2025, 10, 25, 23, 30, 0).unwrap();
        let b = it.next().unwrap();
        b.created = chrono::Utc.with_ymd_and_hms(2025, 10, 26, 2, 30, 0).unwrap();
        (a.id.clone(), b.id.clone())
    });
    assert_eq!(env.run().await.status, "succeeded");
    assert_equals_truth(&env);
    let got = env.rows(&format!(
        "SELECT ticket_id, strftime(created_at::TIMESTAMP, '%H:%M') FROM tickets WHERE ticket_id IN ('{a}', '{b}') ORDER BY 2 DESC"
    ));
    assert_eq!(got, vec![vec![a.clone(), "23:30".to_string()], vec![b.clone(), "02:30".to_string()]]);
    // The incremental filter is written in Bratislava time: only the changed conversation is re-read.
    env.sim.with_data(|d| d.apply(&Mutation { new_messages: 1, ..Default::default() }, chrono::Utc::now()));
    env.sim.reset_stats();
    assert_eq!(env.run().await.status, "succeeded");
    assert_eq!(env.sim.stats().get("messages"), Some(&1));
    assert_equals_truth(&env);
}

#[tokio::test(flavor = "multi_thread")]
async fn conversation_details_are_opt_in_and_fill_ticket_fields() {
    // Off by default: no details requests.
    let env = Env::new(sim(40), "", "").await;
    assert_eq!(env.run().await.status, "succeeded");
    assert_eq!(env.sim.stats().get("conversation_info"), None);
    assert_eq!(env.count("SELECT count(*) FROM ticket_fields"), 0);

    // Opted in: one request per changed conversation, fields and assignee equal the simulator.
    let streams = "streams = [\"departments\", \"tags\", \"conversations\", \"messages\", \"conversation_details\"]";
    let env = Env::new(sim(40), streams, "").await;
    assert_eq!(env.run().await.status, "succeeded");
    assert_eq!(env.sim.stats().get("conversation_info"), Some(&40));
    assert_equals_truth(&env);
    let truth: std::collections::BTreeSet<Vec<String>> = env.sim.with_data(|d| {
        let mut out = std::collections::BTreeSet::new();
        for c in d.conversations.values() {
            for (k, v) in &c.custom_fields {
                out.insert(vec![c.id.clone(), k.clone(), v.clone()]);
            }
            if let Some(n) = &c.owner_note {
                out.insert(vec![c.id.clone(), "ownernote".into(), n.clone()]);
            }
        }
        out
    });
    let got: std::collections::BTreeSet<Vec<String>> =
        env.rows("SELECT ticket_id, field_code, value FROM ticket_fields").into_iter().collect();
    assert_eq!(got, truth);
    let assignees: std::collections::BTreeMap<String, String> = env.sim.with_data(|d| {
        d.conversations.values().map(|c| (c.id.clone(), c.assigned_to.clone().unwrap_or("∅".into()))).collect()
    });
    let got: std::collections::BTreeMap<String, String> = env
        .rows("SELECT ticket_id, assignee_id FROM tickets")
        .into_iter()
        .map(|r| (r[0].clone(), r[1].clone()))
        .collect();
    assert_eq!(got, assignees);
    // A no-op run asks for no details.
    env.sim.reset_stats();
    assert_eq!(env.run().await.status, "succeeded");
    assert_eq!(env.sim.stats().get("conversation_info"), None);
}

#[tokio::test(flavor = "multi_thread")]
async fn every_page_of_an_incremental_listing_asks_for_changes_only_also_the_pages_requested_ahead() {
    // Pages of 20: the 70 changed conversations span four pages, the later ones requested while
    // the page before them loads. Each must carry the pass's `datechanged` filter (without it the
    // run would page through every conversation and load the unchanged ones again).
    let tables = format!("{}page_size = 20\nreconcile_every = \"0s\"\n", crate::common::FAST);
    let env = Env::new(sim(150), "", &tables).await;
    assert_eq!(env.run().await.status, "succeeded");
    let m = Mutation { new_messages: 0, changed_conversations: 70, new_conversations: 0 };
    env.sim.with_data(|d| d.apply(&m, chrono::Utc::now()));
    let client = reqwest::Client::new();
    client.post(format!("{}/_sim/log", env.sim.base_url())).send().await.unwrap();
    let s = env.run().await;
    assert_eq!(s.status, "succeeded", "{s:?}");
    let log: Vec<String> =
        client.get(format!("{}/_sim/log", env.sim.base_url())).send().await.unwrap().json().await.unwrap();
    let lists: Vec<&String> = log.iter().filter(|u| u.starts_with("/api/conversations?")).collect();
    assert!(lists.len() >= 4, "the changes span several pages: {lists:?}");
    for u in &lists {
        assert!(u.contains("datechanged="), "a listing page without the pass's filter: {u}");
    }
    // Pages overlap by `page_overlap` (10): 70 changes take 8 pages, all 150 would take 15.
    assert!(lists.len() <= 9, "changes only, not the whole listing: {lists:?}");
    assert_equals_truth(&env);
}
