//! LiveZilla API v2: the recordings of a real 8.0.1.8 server as golden fixtures for the parser
//! and the error decoding, and end-to-end runs against the simulator's LiveZilla mode.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use chrono::{Duration, Utc};
use desksync::simulator::SimConfig;
use desksync::simulator::livezilla::{editor_status, first_message_time, is_chat, lz_id};
use desksync::sources::livezilla::{lz_error, parse_chats, parse_operators, parse_tickets};
use serde_json::Value;

use crate::common::{Env, FAST};

/// (file name, request form lines, HTTP status, body) of every recording.
fn recordings() -> Vec<(String, Vec<String>, u16, String)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/livezilla-8.0.1.8");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("fixtures are in the repository") {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let (request, response) = text.split_once("### RESPONSE:").expect("a recorded response");
        let form: Vec<String> =
            request.lines().map(str::trim).filter(|l| l.starts_with("p_")).map(String::from).collect();
        let mut lines = response.trim_start().splitn(2, '\n');
        let status_line = lines.next().unwrap();
        let status: u16 = status_line.split_whitespace().nth(1).unwrap().parse().unwrap();
        let rest = lines.next().unwrap_or("");
        let body = rest.split_once("\n\n").map(|(_, b)| b).unwrap_or("").trim().to_string();
        out.push((path.file_name().unwrap().to_string_lossy().to_string(), form, status, body));
    }
    out.sort();
    out
}

fn has(form: &[String], key: &str) -> bool {
    form.iter().any(|l| l.starts_with(&format!("{key}=")))
}

#[test]
fn every_recorded_list_answer_parses_into_the_model() {
    let now = Utc::now();
    let (mut tickets, mut chats, mut operators) = (0, 0, 0);
    for (name, form, status, body) in recordings() {
        if status != 200 {
            continue;
        }
        let Ok(v) = serde_json::from_str::<Value>(&body) else { continue };
        if has(&form, "p_tickets_list") {
            let p = parse_tickets(&v, "acme", now).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(p.bad.is_empty(), "{name}: {:?}", p.bad);
            assert_eq!(p.tickets.len(), v["Tickets"].as_array().unwrap().len(), "{name}");
            for t in &p.tickets {
                assert!(t.created_at.is_some(), "{name}: ticket {} has a created time", t.ticket_id);
            }
            tickets += 1;
        } else if has(&form, "p_chats_list") {
            let p = parse_chats(&v, "acme", chrono_tz::UTC, now).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(p.bad.is_empty(), "{name}: {:?}", p.bad);
            chats += 1;
        } else if has(&form, "p_operators_list") {
            let (agents, _, bad) = parse_operators(&v, "acme", now).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(bad.is_empty(), "{name}: {bad:?}");
            assert_eq!(agents.len(), v["Operators"].as_array().unwrap().len(), "{name}");
            operators += 1;
        }
    }
    assert!(tickets >= 20 && chats >= 5 && operators >= 4, "{tickets} {chats} {operators}");
}

#[test]
fn the_assigned_tickets_recording_maps_editor_comments_and_authors() {
    let recs = recordings();
    let (.., body) = recs.iter().find(|r| r.0 == "36-tickets-list-after-assign.txt").unwrap();
    let p = parse_tickets(&serde_json::from_str(body).unwrap(), "acme", Utc::now()).unwrap();
    type Summary<'a> = (&'a str, Option<&'a str>, Option<&'a str>, Option<&'a str>);
    let t: BTreeMap<&str, Summary> = p
        .tickets
        .iter()
        .map(|t| {
            (
                t.ticket_id.as_str(),
                (t.status.as_deref().unwrap(), t.assignee_id.as_deref(), t.channel.as_deref(), t.subject.as_deref()),
            )
        })
        .collect();
    assert_eq!(t["11701"], ("in_progress", Some("apiadmin"), Some("web"), Some("Printer on fire")));
    assert_eq!(t["11702"], ("closed", Some("noapi"), Some("email"), Some("Angebot")));
    // `{"TicketEditor":null}`: unassigned, open; the server sent an empty subject, kept as ''.
    assert_eq!(t["11703"], ("open", None, Some("web"), Some("")));
    let created = p.tickets.iter().find(|t| t.ticket_id == "11701").unwrap().created_at.unwrap();
    assert_eq!(created.timestamp(), 1795310697, "created = the first message's time");
    let authors: Vec<(&str, &str)> =
        p.messages.iter().filter(|m| m.ticket_id == "11702").map(|m| (m.message_id.as_str(), m.author_type)).collect();
    assert_eq!(authors, vec![("11702", "customer"), ("f1489825009df8b15bafd25dc2622cce", "agent")]);
    assert_eq!(p.comments.len(), 1);
    let c = &p.comments[0];
    assert_eq!(c["comment_id"], "7e2743504e0331fdfbd1f380b30230fd");
    assert_eq!(c["operator_id"], "apiadmin");
    assert_eq!(c["comment"], "internal note");
    assert_eq!(c["created_at"], Value::from(1795310709i64 * 1_000_000));
}

#[test]
fn the_chat_recording_becomes_a_chat_ticket_with_its_transcript() {
    let recs = recordings();
    let (.., body) = recs.iter().find(|r| r.0 == "99g-chats-output-plain.txt").unwrap();
    let p = parse_chats(&serde_json::from_str(body).unwrap(), "acme", chrono_tz::UTC, Utc::now()).unwrap();
    assert_eq!(p.tickets.len(), 1);
    let t = &p.tickets[0];
    assert_eq!(t.ticket_id, "chat-11702");
    assert_eq!(t.channel.as_deref(), Some("chat"));
    assert_eq!(t.assignee_id.as_deref(), Some("apiadmin"));
    assert_eq!(p.messages.len(), 1);
    let m = &p.messages[0];
    assert_eq!((m.author_type, m.body.as_deref()), ("customer", Some("Hi, I have a question")));
    assert_eq!(m.created_at.unwrap().to_rfc3339(), "2026-11-22T01:26:59+00:00");
}

#[test]
fn every_recorded_error_body_has_a_plain_words_meaning() {
    let mut seen = BTreeSet::new();
    for (name, _, status, body) in recordings() {
        if status == 403 {
            let m = lz_error(status, &body).unwrap_or_else(|| panic!("{name}: {body}"));
            let code = &body[body.find("LZAV").unwrap()..][..9];
            let expected = match code {
                "LZAV20001" => "wrong username or password",
                "LZAV20002" => "no API permission",
                _ => "LiveZilla rejected",
            };
            assert!(m.contains(expected), "{name}: {m}");
            assert!(!m.contains("5d7845ac"), "no password hash in messages");
            seen.insert(code.to_string());
        } else if status == 200 && !body.starts_with('{') {
            // The PHP fatal error pages: not JSON, so never mistaken for an empty list.
            assert!(serde_json::from_str::<Value>(&body).is_err(), "{name}");
            seen.insert("html-200".into());
        }
    }
    assert_eq!(seen.into_iter().collect::<Vec<_>>(), ["LZAV20001", "LZAV20002", "LZAV20003", "html-200"]);
}

pub(crate) fn sim(conversations: usize) -> SimConfig {
    SimConfig { conversations, seed: 5, history_days: 120, ..Default::default() }
}

/// ticket id → (status, assignee, created unix, messages) from the simulator.
pub(crate) fn truth(env: &Env) -> BTreeMap<String, (String, String, i64, usize, usize)> {
    env.sim.with_data(|d| {
        d.conversations
            .values()
            .filter(|c| !is_chat(c))
            .map(|c| {
                let messages: usize = c
                    .groups
                    .iter()
                    .filter(|g| g.rtype != "I")
                    .flat_map(|g| g.messages.iter())
                    .filter(|m| m.rtype != "S")
                    .count();
                let comments = c.groups.iter().filter(|g| g.rtype == "I").map(|g| g.messages.len()).sum();
                let status = match (&c.assigned_to, editor_status(&c.status)) {
                    (None, _) | (_, "0") => "open",
                    (_, "1") => "in_progress",
                    (_, "2") => "closed",
                    (_, "3") => "deleted",
                    _ => "pending",
                };
                (
                    lz_id(c).to_string(),
                    (
                        status.to_string(),
                        c.assigned_to.clone().unwrap_or_else(|| "∅".into()),
                        first_message_time(c).unwrap().timestamp(),
                        messages,
                        comments,
                    ),
                )
            })
            .collect()
    })
}

pub(crate) fn db(env: &Env) -> BTreeMap<String, (String, String, i64, usize, usize)> {
    env.rows(
        "SELECT t.ticket_id, t.status, coalesce(t.assignee_id, '∅'), epoch_us(t.created_at) // 1000000,
                (SELECT count(*) FROM messages m WHERE m.ticket_id = t.ticket_id),
                (SELECT count(*) FROM ticket_comments c WHERE c.ticket_id = t.ticket_id)
         FROM tickets t WHERE t.source = 'livezilla' AND t.ticket_id NOT LIKE 'chat-%'",
    )
    .into_iter()
    .map(|r| {
        (
            r[0].clone(),
            (r[1].clone(), r[2].clone(), r[3].parse().unwrap(), r[4].parse().unwrap(), r[5].parse().unwrap()),
        )
    })
    .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn full_sync_equals_the_simulator() {
    let env = Env::livezilla(sim(150), None, "", "").await;
    let s = env.run().await;
    assert_eq!(s.status, "succeeded", "{s:?}");
    let want = truth(&env);
    assert!(want.values().any(|t| t.4 > 0), "some tickets have comments");
    assert_eq!(db(&env), want);
    let chats: usize = env.sim.with_data(|d| d.conversations.values().filter(|c| is_chat(c)).count());
    assert_eq!(
        env.count("SELECT count(*) FROM tickets WHERE ticket_id LIKE 'chat-%' AND channel = 'chat'"),
        chats as i64
    );
    // Every chat's transcript line is a message.
    let lines: usize = env.sim.with_data(|d| {
        d.conversations
            .values()
            .filter(|c| is_chat(c))
            .map(|c| c.groups.iter().flat_map(|g| g.messages.iter()).filter(|m| m.rtype != "S").count())
            .sum()
    });
    assert_eq!(env.count("SELECT count(*) FROM messages WHERE ticket_id LIKE 'chat-%'"), lines as i64);
    let fields = env
        .sim
        .with_data(|d| d.conversations.values().filter(|c| !is_chat(c)).map(|c| c.custom_fields.len()).sum::<usize>());
    assert_eq!(env.count("SELECT count(*) FROM ticket_fields WHERE source = 'livezilla'"), fields as i64);
    // Field by field: the Customs of every ticket's first message.
    let want: BTreeSet<Vec<String>> = env.sim.with_data(|d| {
        d.conversations
            .values()
            .filter(|c| !is_chat(c))
            .flat_map(|c| {
                let id = lz_id(c).to_string();
                c.custom_fields.iter().map(move |(k, v)| vec![id.clone(), k.clone(), v.clone()])
            })
            .collect()
    });
    let got: BTreeSet<Vec<String>> = env
        .rows("SELECT ticket_id, field_code, value FROM ticket_fields WHERE source = 'livezilla'")
        .into_iter()
        .collect();
    assert_eq!(got, want, "ticket_fields: ticket, code and value");
    let agents = env.sim.with_data(|d| d.agents.len()) as i64 + 1;
    assert_eq!(env.count("SELECT count(*) FROM agents WHERE source = 'livezilla'"), agents);
    assert_eq!(env.count("SELECT count(*) FROM departments WHERE source = 'livezilla'"), 4);
    // A second run re-reads the trailing window and writes nothing.
    let s = env.run().await;
    assert_eq!(s.status, "succeeded", "{s:?}");
    assert_eq!(env.stream(&s, "tickets").rows, 0, "{s:?}");
    assert_eq!(env.stream(&s, "chats").rows, 0, "{s:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_window_with_more_tickets_than_p_limit_is_split_and_read_completely() {
    let env = Env::livezilla(sim(80), None, "", &format!("{FAST}page_size = 3\nwindow = \"30d\"\n")).await;
    // 12 tickets whose first message is in the same second, more than p_limit = 3 (a page size of 3 or less used to never finish: split windows never grew back).
    env.sim.with_data(|d| {
        let at = Utc::now() - Duration::days(3);
        for c in d.conversations.values_mut().filter(|c| !is_chat(c)).take(12) {
            let first = c.groups.iter_mut().flat_map(|g| g.messages.iter_mut()).find(|m| m.rtype != "S").unwrap();
            first.created = at;
        }
    });
    // Bounded: a pager that cannot get past a full second splits it forever.
    let s = tokio::time::timeout(std::time::Duration::from_secs(60), env.run())
        .await
        .expect("the run finishes: a second holding more than p_limit tickets is read whole");
    assert_eq!(s.status, "succeeded", "{s:?}");
    assert_eq!(db(&env).len(), truth(&env).len());
    assert_eq!(db(&env), truth(&env));
    // Windows were split (far more list requests than 30-day windows in 120 days).
    let lists = env.sim.stats()["lz_tickets_list"];
    assert!(lists > 20, "{lists} list requests");
}

#[tokio::test(flavor = "multi_thread")]
async fn replies_to_old_tickets_arrive_by_the_trailing_reread_and_the_full_rescan() {
    let env = Env::livezilla(sim(120), None, "", &format!("{FAST}full_rescan_every = \"1h\"\n")).await;
    assert_eq!(env.run().await.status, "succeeded");
    // One ticket created 10 days ago (inside the 30-day re-read), one 90 days ago (outside).
    let (recent, old) = env.sim.with_data(|d| {
        let now = Utc::now();
        let pick = |d: &desksync::simulator::World, lo: i64, hi: i64| {
            d.conversations
                .values()
                .filter(|c| !is_chat(c))
                .find(|c| {
                    let age = (now - first_message_time(c).unwrap()).num_days();
                    age >= lo && age < hi
                })
                .map(|c| c.id.clone())
                .unwrap()
        };
        let (a, b) = (pick(d, 5, 20), pick(d, 60, 110));
        for id in [&a, &b] {
            let c = d.conversations.get_mut(id).unwrap();
            let mut g = c.groups[0].clone();
            g.id = format!("{}-reply", c.id);
            g.created = now;
            for m in &mut g.messages {
                m.id = format!("{}-{}", m.id, "reply");
                m.created = now;
                m.rtype = "M".into();
            }
            c.groups.push(g);
            c.changed = now;
        }
        (lz_id(&d.conversations[&a]).to_string(), lz_id(&d.conversations[&b]).to_string())
    });
    let s = env.run().await;
    assert_eq!(s.status, "succeeded", "{s:?}");
    assert_eq!(db(&env)[&recent], truth(&env)[&recent], "picked up by the trailing re-read");
    assert_ne!(db(&env)[&old], truth(&env)[&old], "outside the re-read window: waits for the full re-scan");
    // The full re-scan is due: set its last time back and run again.
    let text = env.rows("SELECT state FROM _desksync_state WHERE stream = 'tickets'")[0][0].clone();
    let mut state = desksync::state::StreamState::decode(&text).unwrap();
    state.reconciled_at = Some(Utc::now() - Duration::days(2));
    let encoded = state.encode();
    env.warehouse()
        .with_conn_blocking(move |c| {
            c.execute("UPDATE _desksync_state SET state = ? WHERE stream = 'tickets'", [encoded]).unwrap();
            Ok(())
        })
        .unwrap();
    let s = env.run().await;
    assert_eq!(s.status, "succeeded", "{s:?}");
    assert_eq!(db(&env), truth(&env));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_password_stops_after_one_attempt_with_a_clear_message() {
    let env = Env::livezilla(sim(20), Some("not-the-password"), "", "").await;
    let s = env.run().await;
    assert_eq!(s.status, "failed", "{s:?}");
    assert_eq!(env.sim.stats().get("lz_auth_failed"), Some(&1), "one login attempt, whatever the streams");
    let error = s.error.clone().unwrap();
    assert!(error.contains("wrong username or password"), "{error}");
    assert!(
        !error.contains("not-the-password")
            && !error.contains(&desksync::simulator::livezilla::md5_hex("not-the-password"))
    );
    let recorded = env.rows("SELECT status, error FROM _desksync_runs");
    assert_eq!(recorded[0][0], "failed");
    assert!(recorded[0][1].contains("LZAV20001"), "{recorded:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_client_treats_a_php_error_page_as_an_error() {
    let env = Env::livezilla(sim(5), None, "", "").await;
    let cfg = env.config();
    let http = desksync::sources::http_client(&cfg.pipelines[0]);
    let form = vec![("p_tickets_list".to_string(), "1".to_string()), ("p_limit".to_string(), "-1".to_string())];
    let e = http.post_form_json("/api/v2/api.php", form).await.unwrap_err();
    assert!(matches!(e, desksync::error::HttpError::NotJson { status: 200, .. }), "{e}");
    assert!(!e.is_transient());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_simulator_locks_an_operator_out_after_five_wrong_passwords() {
    let env = Env::livezilla(sim(5), None, "", "").await;
    let url = format!("{}/api/v2/api.php", env.sim.base_url());
    let client = reqwest::Client::new();
    let right = desksync::simulator::livezilla::md5_hex(&env.sim.state.config.lz_password);
    let post = |pass: String| {
        let (client, url) = (client.clone(), url.clone());
        async move {
            let r = client
                .post(url)
                .form(&[("p_user", "APIADMIN".to_string()), ("p_pass", pass), ("p_tickets_list", "1".into())])
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    assert_eq!(post(right.clone()).await.0, 200, "user names are case-insensitive");
    for _ in 0..5 {
        let (status, body) = post(desksync::simulator::livezilla::md5_hex("wrong")).await;
        assert_eq!((status, body.contains("LZAV20001")), (403, true));
    }
    let (status, body) = post(right).await;
    assert_eq!(status, 403, "locked out even with the right password: {body}");
    assert!(body.contains("LZAV20001"));
    // JSON bodies are not read at all.
    let r = client.post(&url).json(&serde_json::json!({"p_tickets_list": 1})).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 403);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_chat_archived_after_the_run_that_passed_its_start_is_picked_up_next_run() {
    let env = Env::livezilla(sim(80), None, "streams = [\"chats\"]", "").await;
    // The newest chat is still running during the first run: not listed yet.
    let (conv, chat_id) = env.sim.with_data(|d| {
        let c = d.conversations.values().filter(|c| is_chat(c)).max_by_key(|c| first_message_time(c)).unwrap();
        (c.id.clone(), format!("chat-{}", lz_id(c)))
    });
    env.sim.state.lz.lock().unwrap().unarchived.push(conv);
    assert_eq!(env.run().await.status, "succeeded");
    assert_eq!(env.count(&format!("SELECT count(*) FROM tickets WHERE ticket_id = '{chat_id}'")), 0);
    // Archived now; its start is before the cursor, but inside the trailing re-read.
    env.sim.state.lz.lock().unwrap().unarchived.clear();
    let s = env.run().await;
    assert_eq!(s.status, "succeeded", "{s:?}");
    assert_eq!(
        env.stream(&s, "chats").rows as i64,
        1 + env.count(&format!("SELECT count(*) FROM messages WHERE ticket_id = '{chat_id}'"))
    );
    assert_eq!(env.count(&format!("SELECT count(*) FROM tickets WHERE ticket_id = '{chat_id}'")), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_chat_archived_long_after_it_started_is_found_by_the_full_rescan() {
    let env =
        Env::livezilla(sim(80), None, "streams = [\"chats\"]", &format!("{FAST}full_rescan_every = \"1s\"\n")).await;
    // A chat that started 20 days ago (outside the 2-day re-read) is archived only later.
    let (conv, chat_id) = env.sim.with_data(|d| {
        let now = Utc::now();
        let c = d
            .conversations
            .values()
            .filter(|c| is_chat(c))
            .find(|c| (now - first_message_time(c).unwrap()).num_days() >= 20)
            .unwrap();
        (c.id.clone(), format!("chat-{}", lz_id(c)))
    });
    env.sim.state.lz.lock().unwrap().unarchived.push(conv);
    assert_eq!(env.run().await.status, "succeeded");
    assert_eq!(env.count(&format!("SELECT count(*) FROM tickets WHERE ticket_id = '{chat_id}'")), 0);
    env.sim.state.lz.lock().unwrap().unarchived.clear();
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(env.run().await.status, "succeeded");
    assert_eq!(env.count(&format!("SELECT count(*) FROM tickets WHERE ticket_id = '{chat_id}'")), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_post_with_a_pasted_transcript_line_stays_one_message_with_or_without_the_html_transcript() {
    // A customer pastes a log whose line looks like a transcript post. In a one-post chat the
    // plain transcript has no CRLF at all; the pasted line must not become a post of its own
    // (credited to someone, dated 2019).
    let pasted = "Here is the log:\n| 01.02.2019 10:00:00 | System: job failed\nCan you help?";
    for plaintext_only in [false, true] {
        let env = Env::livezilla(sim(60), None, "streams = [\"chats\"]", "").await;
        env.sim.state.lz.lock().unwrap().plaintext_only = plaintext_only;
        let (one, two) = env.sim.with_data(|d| {
            let mut chats = d.conversations.values_mut().filter(|c| is_chat(c));
            let one = chats.next().unwrap();
            let owner = one.owner_id.clone();
            for g in one.groups.iter_mut() {
                g.messages.retain(|m| m.rtype != "S");
            }
            one.groups.retain(|g| !g.messages.is_empty());
            one.groups.truncate(1);
            one.groups[0].messages.truncate(1);
            one.groups[0].messages[0].userid = owner;
            one.groups[0].messages[0].body = pasted.into();
            let one_id = format!("chat-{}", lz_id(one));
            let two = chats.find(|c| c.groups.iter().flat_map(|g| &g.messages).filter(|m| m.rtype != "S").count() >= 2);
            let two = two.unwrap();
            let first = two.groups.iter_mut().flat_map(|g| g.messages.iter_mut()).find(|m| m.rtype != "S").unwrap();
            first.body = pasted.into();
            (one_id, format!("chat-{}", lz_id(two)))
        });
        assert_eq!(env.run().await.status, "succeeded");
        let bodies =
            |id: &str| env.rows(&format!("SELECT body FROM messages WHERE ticket_id = '{id}' ORDER BY message_id"));
        assert_eq!(bodies(&one), vec![vec![pasted.to_string()]], "one post (html dropped: {plaintext_only})");
        assert!(bodies(&two).iter().any(|b| b[0] == pasted), "{:?}", bodies(&two));
        assert_eq!(env.count("SELECT count(*) FROM messages WHERE created_at < TIMESTAMPTZ '2020-01-01'"), 0);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_ticket_the_server_stamped_seconds_in_the_future_arrives_in_this_run() {
    let env = Env::livezilla(sim(40), None, "", "").await;
    let id = env.sim.with_data(|d| {
        let at = Utc::now() + Duration::seconds(20);
        let c = d.conversations.values_mut().find(|c| !is_chat(c)).unwrap();
        for m in c.groups.iter_mut().flat_map(|g| g.messages.iter_mut()) {
            m.created = at;
        }
        lz_id(c).to_string()
    });
    assert_eq!(env.run().await.status, "succeeded");
    assert_eq!(env.count(&format!("SELECT count(*) FROM tickets WHERE ticket_id = '{id}'")), 1);
    assert_eq!(db(&env), truth(&env));
}
