//! The ten help-desk questions (schema/009_questions.sql and the views of 005/006), for every
//! vendor, against figures computed here in Rust from the simulators' data: the rows
//! `truth.rs` derives from the vendors' documentation, aggregated by code that shares nothing with
//! the views' SQL (their definitions restated: live tickets, UTC days, public agent replies,
//! linear-interpolation percentiles).

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDateTime;
use desksync::simulator::SimConfig;

use crate::common::Env;
use crate::truth::{self, Rows};

const NULL: &str = "∅";

fn time(s: &str) -> Option<NaiveDateTime> {
    (s != NULL).then(|| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").expect("truth time"))
}

/// DuckDB's `quantile_cont`: linear interpolation between the closest ranks.
fn quantile(sorted: &[f64], p: f64) -> f64 {
    let pos = p * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

struct Ticket {
    created: NaiveDateTime,
    resolved: Option<NaiveDateTime>,
    due: Option<NaiveDateTime>,
    channel: String,
    department: String,
    first_response: Option<NaiveDateTime>,
    reopened: bool,
    public_messages: usize,
}

fn day(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%d").to_string()
}

/// The live tickets of the truth with their facts.
fn facts(tickets: &Rows, messages: &Rows) -> Vec<Ticket> {
    let mut by_ticket: BTreeMap<&str, Vec<(&str, &Vec<String>)>> = BTreeMap::new();
    for (key, m) in messages {
        let (ticket, message) = key.split_once('/').unwrap();
        by_ticket.entry(ticket).or_default().push((message, m));
    }
    tickets
        .iter()
        .filter(|(_, t)| t[18] == NULL && t[20] == NULL)
        .map(|(id, t)| {
            let mut ms = by_ticket.get(id.as_str()).cloned().unwrap_or_default();
            ms.sort_by(|a, b| (a.1[7].as_str(), a.0).cmp(&(b.1[7].as_str(), b.0)));
            let public = |m: &Vec<String>| m[6] == "false";
            let created = time(&t[13]).unwrap();
            // Replies older than the ticket came with a merge: they answered the merged ticket.
            let first_response = ms
                .iter()
                .filter(|(_, m)| public(m) && m[2] == "agent")
                .filter_map(|(_, m)| time(&m[7]))
                .filter(|at| *at >= created)
                .min();
            let talk: Vec<&str> = ms
                .iter()
                .filter(|(_, m)| public(m) && (m[2] == "agent" || m[2] == "customer"))
                .map(|(_, m)| m[2].as_str())
                .collect();
            let reopened = talk.windows(2).any(|w| w == ["agent", "customer"]);
            let public_messages = ms.iter().filter(|(_, m)| public(m) && m[2] != "system").count();
            let resolved = matches!(t[2].as_str(), "resolved" | "closed").then(|| time(&t[14])).flatten();
            Ticket {
                created,
                resolved,
                due: time(&t[15]),
                channel: t[4].clone(),
                department: t[6].clone(),
                first_response,
                reopened,
                public_messages,
            }
        })
        .collect()
}

fn secs(a: NaiveDateTime, b: NaiveDateTime) -> f64 {
    (b - a).num_seconds() as f64
}

/// `rows` of a view query keyed by its first `key` columns, values parsed as numbers.
fn view(env: &Env, sql: &str, key: usize) -> BTreeMap<Vec<String>, Vec<f64>> {
    env.rows(sql)
        .into_iter()
        .map(|r| {
            let (k, v) = r.split_at(key);
            (k.to_vec(), v.iter().map(|x| if x == NULL { f64::NAN } else { x.parse().unwrap() }).collect())
        })
        .collect()
}

fn assert_close(what: &str, db: &BTreeMap<Vec<String>, Vec<f64>>, truth: &BTreeMap<Vec<String>, Vec<f64>>) {
    let keys: BTreeSet<&Vec<String>> = db.keys().chain(truth.keys()).collect();
    for k in keys {
        let (a, b) = (db.get(k), truth.get(k));
        let same = match (a, b) {
            (Some(a), Some(b)) => {
                a.len() == b.len()
                    && a.iter()
                        .zip(b)
                        .all(|(x, y)| (x.is_nan() && y.is_nan()) || (x - y).abs() <= 1e-6 * y.abs().max(1.0))
            }
            _ => false,
        };
        assert!(same, "{what} at {k:?}: view {a:?}, computed {b:?}");
    }
}

/// Check every question view for `source` against the truth.
fn check(env: &Env, source: &str, tickets: &Rows, messages: &Rows) {
    let facts = facts(tickets, messages);
    assert!(facts.len() > 20, "{source}: enough tickets to mean something");
    let w = |extra: &str| format!("WHERE source = '{source}' {extra}");
    assert_eq!(
        env.count(&format!(
            "SELECT count(*) FROM ticket_facts {}",
            w("AND (first_response_seconds < 0 OR resolution_seconds < 0)")
        )),
        0,
        "{source}: no ticket is answered or resolved before it was created"
    );
    let mut per_day: BTreeMap<String, Vec<&Ticket>> = BTreeMap::new();
    for t in &facts {
        per_day.entry(day(t.created)).or_default().push(t);
    }

    // 1. First response per day.
    let mut truth = BTreeMap::new();
    for (d, ts) in &per_day {
        let mut v: Vec<f64> = ts.iter().filter_map(|t| t.first_response.map(|f| secs(t.created, f))).collect();
        v.sort_by(f64::total_cmp);
        let (avg, p50, p90) = if v.is_empty() {
            (f64::NAN, f64::NAN, f64::NAN)
        } else {
            (v.iter().sum::<f64>() / v.len() as f64, quantile(&v, 0.5), quantile(&v, 0.9))
        };
        truth.insert(vec![d.clone()], vec![ts.len() as f64, v.len() as f64, avg, p50, p90]);
    }
    let db = view(
        env,
        &format!(
            "SELECT day, tickets, responded, avg_first_response_seconds, median_first_response_seconds, p90_first_response_seconds FROM first_response_daily {}",
            w("")
        ),
        1,
    );
    assert_close(&format!("{source} first_response_daily"), &db, &truth);
    assert!(truth.values().any(|v| v[1] > 0.0), "{source}: some tickets were answered");

    // 2. Resolution by day of resolution.
    let mut by_resolved: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for t in &facts {
        if let Some(r) = t.resolved {
            by_resolved.entry(day(r)).or_default().push(secs(t.created, r));
        }
    }
    let truth: BTreeMap<Vec<String>, Vec<f64>> = by_resolved
        .into_iter()
        .map(|(d, mut v)| {
            v.sort_by(f64::total_cmp);
            (
                vec![d],
                vec![v.len() as f64, v.iter().sum::<f64>() / v.len() as f64, quantile(&v, 0.5), quantile(&v, 0.9)],
            )
        })
        .collect();
    let db = view(
        env,
        &format!(
            "SELECT day, resolved, avg_resolution_seconds, median_resolution_seconds, p90_resolution_seconds FROM resolution_daily {}",
            w("")
        ),
        1,
    );
    assert_close(&format!("{source} resolution_daily"), &db, &truth);

    // 3. Backlog: open at the end of every day from the first ticket to today.
    let first = facts.iter().map(|t| t.created.date()).min().unwrap();
    let last_event =
        facts.iter().flat_map(|t| [Some(t.created.date()), t.resolved.map(|r| r.date())]).flatten().max().unwrap();
    let today = chrono::Utc::now().date_naive();
    let mut truth = BTreeMap::new();
    let mut d = first;
    while d <= last_event.max(today) {
        let open = facts.iter().filter(|t| t.created.date() <= d && t.resolved.is_none_or(|r| r.date() > d)).count();
        truth.insert(vec![d.format("%Y-%m-%d").to_string()], vec![open as f64]);
        d = d.succ_opt().unwrap();
    }
    let db = view(env, &format!("SELECT day, open_at_end FROM backlog_daily {}", w("")), 1);
    assert_close(&format!("{source} backlog_daily"), &db, &truth);

    // 4. SLA: due time known, first response by it.
    let truth: BTreeMap<Vec<String>, Vec<f64>> = per_day
        .iter()
        .map(|(d, ts)| {
            let with: Vec<&&Ticket> = ts.iter().filter(|t| t.due.is_some()).collect();
            let met = with.iter().filter(|t| t.first_response.is_some_and(|f| f <= t.due.unwrap())).count();
            (vec![d.clone()], vec![with.len() as f64, met as f64])
        })
        .collect();
    let db = view(env, &format!("SELECT day, with_sla, met FROM sla_daily {}", w("")), 1);
    assert_close(&format!("{source} sla_daily"), &db, &truth);

    // 5. Volume by channel and department.
    let mut truth: BTreeMap<Vec<String>, Vec<f64>> = BTreeMap::new();
    for t in &facts {
        truth.entry(vec![day(t.created), t.channel.clone(), t.department.clone()]).or_insert_with(|| vec![0.0])[0] +=
            1.0;
    }
    let db = view(
        env,
        &format!(
            "SELECT day, coalesce(channel, '∅'), coalesce(department_id, '∅'), tickets FROM volume_daily {}",
            w("")
        ),
        3,
    );
    assert_close(&format!("{source} volume_daily"), &db, &truth);

    // 6. Agent workload: every message an agent wrote, per agent and day.
    let mut truth: BTreeMap<Vec<String>, (f64, f64, BTreeSet<String>)> = BTreeMap::new();
    for (key, m) in messages {
        if m[2] != "agent" || m[1] == NULL {
            continue;
        }
        let e = truth.entry(vec![m[1].clone(), day(time(&m[7]).unwrap())]).or_default();
        if m[6] == "false" {
            e.0 += 1.0;
        } else {
            e.1 += 1.0;
        }
        e.2.insert(key.split_once('/').unwrap().0.to_string());
    }
    let truth: BTreeMap<Vec<String>, Vec<f64>> =
        truth.into_iter().map(|(k, (sent, notes, tickets))| (k, vec![sent, notes, tickets.len() as f64])).collect();
    let db = view(
        env,
        &format!("SELECT agent_id, day, messages_sent, internal_notes, tickets_touched FROM agent_workload {}", w("")),
        2,
    );
    assert_close(&format!("{source} agent_workload"), &db, &truth);

    // 8. Reopen rate.
    let truth: BTreeMap<Vec<String>, Vec<f64>> = per_day
        .iter()
        .map(|(d, ts)| (vec![d.clone()], vec![ts.len() as f64, ts.iter().filter(|t| t.reopened).count() as f64]))
        .collect();
    let db = view(env, &format!("SELECT day, tickets, reopened FROM reopen_daily {}", w("")), 1);
    assert_close(&format!("{source} reopen_daily"), &db, &truth);

    // 9. Messages per ticket.
    let truth: BTreeMap<Vec<String>, Vec<f64>> = per_day
        .iter()
        .map(|(d, ts)| {
            (vec![d.clone()], vec![ts.len() as f64, ts.iter().map(|t| t.public_messages).sum::<usize>() as f64])
        })
        .collect();
    let db = view(env, &format!("SELECT day, tickets, messages FROM messages_per_ticket_daily {}", w("")), 1);
    assert_close(&format!("{source} messages_per_ticket_daily"), &db, &truth);

    // 10. Response-time percentiles per month.
    let mut by_month: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for t in &facts {
        if let Some(f) = t.first_response {
            by_month.entry(t.created.format("%Y-%m").to_string()).or_default().push(secs(t.created, f));
        }
    }
    let truth: BTreeMap<Vec<String>, Vec<f64>> = by_month
        .into_iter()
        .map(|(m, mut v)| {
            v.sort_by(f64::total_cmp);
            let q = |p| quantile(&v, p);
            (vec![m], vec![v.len() as f64, q(0.5), q(0.75), q(0.9), q(0.95)])
        })
        .collect();
    let db = view(
        env,
        &format!(
            "SELECT month, responded, p50_seconds, p75_seconds, p90_seconds, p95_seconds FROM response_percentiles_monthly {}",
            w("")
        ),
        1,
    );
    assert_close(&format!("{source} response_percentiles_monthly"), &db, &truth);
}

fn sim() -> SimConfig {
    SimConfig { conversations: 150, seed: 21, history_days: 40, ..Default::default() }
}

#[tokio::test(flavor = "multi_thread")]
async fn liveagent_answers_the_ten_questions_as_computed_from_its_data() {
    let streams = "streams = [\"departments\", \"tags\", \"conversations\", \"messages\", \"report_ranking\"]";
    let tables = crate::common::FAST.replace("report_history = \"2d\"", "report_history = \"45d\"");
    let env = Env::new(sim(), streams, &tables).await;
    assert_eq!(env.run().await.status, "succeeded");
    let (tickets, messages) = env.sim.with_data(|d| (truth::liveagent_tickets(d), truth::liveagent_messages(d)));
    check(&env, "liveagent", &tickets, &messages);

    // 7. Ratings: the simulator's ranking report over the whole history, counted per agent.
    let (cfg, now) = (env.sim.state.config.clone(), chrono::Utc::now());
    let rows = env.sim.with_data(|d| {
        desksync::simulator::liveagent::catalog::report_rows(
            d,
            &cfg,
            None,
            "ranking",
            now - chrono::Duration::days(60),
            now,
        )
        .unwrap()
        .1
    });
    let mut truth: BTreeMap<Vec<String>, Vec<f64>> = BTreeMap::new();
    for r in &rows {
        let e = truth.entry(vec![r["agentcontactid"].as_str().unwrap().to_string()]).or_insert_with(|| vec![0.0, 0.0]);
        match r["rankingType"].as_str().unwrap() {
            "W" => e[0] += 1.0,
            _ => e[1] += 1.0,
        }
    }
    assert!(!truth.is_empty(), "the simulator rated some agents");
    let db = view(&env, "SELECT agent_contact_id, positive, negative FROM agent_ratings WHERE source = 'liveagent'", 1);
    assert_close("liveagent agent_ratings", &db, &truth);
}

#[tokio::test(flavor = "multi_thread")]
async fn livezilla_answers_the_ten_questions_as_computed_from_its_data() {
    // Chats are a stream of their own whose truth lives in tests/it/livezilla.rs; tickets here.
    let streams = "streams = [\"groups\", \"operators\", \"tickets\", \"ticket_messages\", \"ticket_comments\"]";
    let env = Env::livezilla(sim(), None, streams, "").await;
    assert_eq!(env.run().await.status, "succeeded");
    let (tickets, messages) = env.sim.with_data(|d| (truth::livezilla_tickets(d), truth::livezilla_messages(d)));
    check(&env, "livezilla", &tickets, &messages);
    assert_eq!(
        env.count("SELECT count(*) FROM agent_ratings WHERE source = 'livezilla'"),
        0,
        "LiveZilla's API has no ratings"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn liveforce_answers_the_ten_questions_as_computed_from_its_data() {
    let env = Env::liveforce(sim(), None, "", "").await;
    assert_eq!(env.run().await.status, "succeeded");
    let (tickets, messages) = env.sim.with_data(|d| (truth::liveforce_tickets(d), truth::liveforce_messages(d)));
    check(&env, "liveforce", &tickets, &messages);
}
