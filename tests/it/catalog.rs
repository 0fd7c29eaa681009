//! LiveAgent's other streams: dimensions, snapshots, customers and the knowledge base, the
//! agents dimension, opt-in conversation tags, and the report windows with restatement.

use std::collections::BTreeSet;

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use desksync::simulator::SimConfig;
use desksync::simulator::liveagent::catalog::report_rows;
use desksync::simulator::world::Mutation;

use crate::common::{Env, FAST, utc};

fn sim(conversations: usize) -> SimConfig {
    SimConfig { conversations, seed: 7, ..Default::default() }
}

fn streams(list: &[&str]) -> String {
    format!("streams = [{}]", list.iter().map(|s| format!("\"{s}\"")).collect::<Vec<_>>().join(", "))
}

fn set(rows: Vec<Vec<String>>) -> BTreeSet<Vec<String>> {
    rows.into_iter().collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn dimensions_and_snapshots_equal_the_simulator() {
    let list = [
        "customer_groups",
        "companies",
        "widgets",
        "suggestion_categories",
        "knowledgebases",
        "application_status",
        "agent_status",
        "department_status",
        "chats_overview",
        "calls_overview",
    ];
    let env = Env::new(sim(30), &streams(&list), "").await;
    let s = env.run().await;
    assert_eq!(s.status, "succeeded", "{s:?}");
    let (groups, companies, fields, widgets, agents, departments) = env.sim.with_data(|d| {
        let c = &d.vendors.catalog;
        let fields: BTreeSet<Vec<String>> = c
            .companies
            .iter()
            .flat_map(|co| {
                co.custom_fields
                    .iter()
                    .map(move |(k, v)| vec![co.id.clone(), "custom".into(), k.clone(), v.clone()])
                    .chain(
                        co.emails.iter().map(move |e| vec![co.id.clone(), "unique".into(), "email".into(), e.clone()]),
                    )
            })
            .collect();
        (
            c.customer_groups.iter().map(|(id, n)| vec![id.clone(), n.clone()]).collect::<BTreeSet<_>>(),
            c.companies
                .iter()
                .map(|co| {
                    vec![co.id.clone(), co.name.clone(), co.emails.join(","), co.phones.join(","), utc(co.created)]
                })
                .collect::<BTreeSet<_>>(),
            fields,
            c.widgets.iter().map(|(id, n, t)| vec![id.clone(), n.clone(), t.clone()]).collect::<BTreeSet<_>>(),
            d.agents.len() as i64,
            d.departments.len() as i64,
        )
    });
    assert_eq!(set(env.rows("SELECT group_id, name FROM customer_groups")), groups);
    assert_eq!(
        set(env.rows(
            "SELECT company_id, name, array_to_string(emails, ','), array_to_string(phones, ','),
                    strftime(created_at::TIMESTAMP, '%Y-%m-%d %H:%M:%S') FROM companies"
        )),
        companies
    );
    assert_eq!(set(env.rows("SELECT company_id, field_kind, field_code, value FROM company_fields")), fields);
    assert_eq!(set(env.rows("SELECT widget_id, name, rtype FROM widgets")), widgets);
    // Typed values: integers are integers, times are times.
    assert_eq!(env.rows("SELECT DISTINCT impressions + 0, typeof(last_display_time) FROM widgets")[0][0], "1542");
    assert_eq!(env.count("SELECT count(*) FROM suggestion_categories"), 2);
    assert_eq!(env.count("SELECT count(*) FROM knowledgebases"), 2);
    assert_eq!(env.rows("SELECT version FROM application_status"), vec![vec!["5.52.3.1".to_string()]]);
    assert_eq!(env.count("SELECT count(*) FROM agent_status_snapshots"), agents);
    assert_eq!(env.count("SELECT count(*) FROM department_status_snapshots"), departments);
    assert_eq!(env.count("SELECT count(*) FROM chats_overview_snapshots"), 1);
    assert_eq!(env.count("SELECT count(*) FROM calls_overview_snapshots"), 1);

    // A second run a second later: snapshots append a new capture; dimensions are unchanged,
    // and company details are not read again for unchanged companies.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let before = env.rows("SELECT company_id, synced_at FROM companies ORDER BY 1");
    env.sim.reset_stats();
    let s = env.run().await;
    assert_eq!(s.status, "succeeded", "{s:?}");
    assert_eq!(env.count("SELECT count(DISTINCT captured_at) FROM agent_status_snapshots"), 2);
    assert_eq!(env.count("SELECT count(*) FROM chats_overview_snapshots"), 2);
    assert_eq!(env.rows("SELECT company_id, synced_at FROM companies ORDER BY 1"), before);
    assert_eq!(env.sim.stats().get("company"), None, "unchanged companies are not re-read");
    for name in ["customer_groups", "widgets", "companies", "knowledgebases"] {
        assert_eq!(env.stream(&s, name).rows, 0, "{name} changed nothing");
    }

    // A company renamed and stripped of a custom field, another deleted: the details are read
    // again for the renamed one only, its removed field disappears, the deleted one is marked.
    let (renamed, removed) = env.sim.with_data(|d| {
        let cs = &mut d.vendors.catalog.companies;
        cs[0].name = "Acme a.s.".into();
        cs[0].custom_fields.retain(|(k, _)| k != "tier");
        let gone = cs.remove(1);
        (cs[0].id.clone(), gone.id)
    });
    env.sim.reset_stats();
    assert_eq!(env.run().await.status, "succeeded");
    assert_eq!(env.sim.stats().get("company"), Some(&1));
    assert_eq!(
        env.count(&format!(
            "SELECT count(*) FROM company_fields WHERE company_id = '{renamed}' AND field_code = 'tier'"
        )),
        0
    );
    assert_eq!(
        env.count(&format!(
            "SELECT count(*) FROM company_fields WHERE company_id = '{renamed}' AND field_code = 'employees'"
        )),
        1
    );
    assert_eq!(
        env.rows(&format!("SELECT name FROM companies WHERE company_id = '{renamed}'")),
        vec![vec!["Acme a.s.".to_string()]]
    );
    assert_eq!(
        env.count(&format!("SELECT count(*) FROM companies WHERE company_id = '{removed}' AND deleted_at IS NOT NULL")),
        1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn customers_and_kb_entries_are_incremental() {
    let env = Env::new(sim(120), &streams(&["customers", "kb_entries"]), &format!("{FAST}page_size = 50\n")).await;
    assert_eq!(env.run().await.status, "succeeded");
    let truth: BTreeSet<Vec<String>> = env.sim.with_data(|d| {
        d.conversations.values().map(|c| vec![c.owner_id.clone(), c.owner_email.clone(), utc(c.created)]).collect()
    });
    assert_eq!(
        set(env.rows("SELECT customer_id, email, strftime(created_at::TIMESTAMP, '%Y-%m-%d %H:%M:%S') FROM customers")),
        truth
    );
    let kb: BTreeSet<Vec<String>> = env.sim.with_data(|d| {
        d.vendors.catalog.kb_entries.iter().map(|e| vec![e.id.clone(), e.title.clone(), utc(e.changed)]).collect()
    });
    assert_eq!(
        set(env.rows("SELECT entry_id, title, strftime(updated_at::TIMESTAMP, '%Y-%m-%d %H:%M:%S') FROM kb_entries")),
        kb
    );

    // New customers (new conversations' owners) and one edited article: exactly those are written.
    let created = env.sim.with_data(|d| {
        let now = Utc::now();
        d.vendors.catalog.kb_entries[4].title = "How to pay by bank transfer".into();
        d.vendors.catalog.kb_entries[4].changed = now;
        d.apply(&Mutation { new_conversations: 3, ..Default::default() }, now).created
    });
    assert_eq!(created.len(), 3);
    let s = env.run().await;
    assert_eq!(s.status, "succeeded", "{s:?}");
    assert_eq!(env.stream(&s, "customers").rows, 3, "{s:?}");
    assert_eq!(env.stream(&s, "kb_entries").rows, 1, "{s:?}");
    // One request each: the filter moved past the history, and a short page ends the listing.
    assert_eq!(env.stream(&s, "customers").requests, 1, "{s:?}");
    assert_eq!(env.stream(&s, "kb_entries").requests, 1, "{s:?}");
    assert_eq!(env.count("SELECT count(*) FROM customers"), 123);
    assert_eq!(
        env.rows("SELECT title FROM kb_entries WHERE entry_id = '104'"),
        vec![vec!["How to pay by bank transfer".to_string()]]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn agents_are_merged_from_online_status_reports_and_message_authors() {
    let env = Env::new(sim(60), &streams(&["conversations", "messages", "agents"]), "").await;
    // An agent who left: no longer in the online status, but still the author of messages.
    let (gone, remaining) = env.sim.with_data(|d| {
        let a = d.agents.remove(0);
        (a.id, d.agents.len() as i64)
    });
    assert_eq!(env.run().await.status, "succeeded");
    assert_eq!(env.count("SELECT count(*) FROM agents WHERE known_from = 'onlinestatus'"), remaining);
    let authors = env.count("SELECT count(DISTINCT author_id) FROM messages WHERE author_type = 'agent'");
    assert!(authors > 0);
    // Every agent author is in the dimension; the one who left is known from messages only.
    assert_eq!(
        env.count(
            "SELECT count(*) FROM (SELECT DISTINCT author_id FROM messages WHERE author_type = 'agent') m
                   WHERE author_id NOT IN (SELECT agent_id FROM agents)"
        ),
        0
    );
    assert_eq!(
        env.rows(&format!("SELECT known_from FROM agents WHERE agent_id = '{gone}'")),
        vec![vec!["messages".to_string()]]
    );
    let emails =
        env.count("SELECT count(*) FROM agents WHERE known_from = 'onlinestatus' AND email LIKE 'agent%@example.com'");
    assert_eq!(emails, remaining);
}

#[tokio::test(flavor = "multi_thread")]
async fn conversation_tags_and_fields_are_replaced_when_a_conversation_changes() {
    let list = ["departments", "tags", "conversations", "conversation_details", "conversation_tags"];
    let env = Env::new(sim(40), &streams(&list), "").await;
    assert_eq!(env.run().await.status, "succeeded");
    let truth = |env: &Env| -> BTreeSet<Vec<String>> {
        env.sim.with_data(|d| {
            d.conversations
                .values()
                .flat_map(|c| {
                    c.tags.iter().map(|t| {
                        vec![c.id.clone(), t.clone(), d.tags.iter().find(|g| &g.id == t).unwrap().name.clone()]
                    })
                })
                .collect()
        })
    };
    assert_eq!(set(env.rows("SELECT ticket_id, tag_id, name FROM conversation_tags")), truth(&env));
    assert_eq!(env.sim.stats().get("conversation_tags"), Some(&40));
    // A conversation loses a tag and a custom field: both disappear from the warehouse.
    let id = env.sim.with_data(|d| {
        let c = d.conversations.values_mut().find(|c| !c.tags.is_empty() && c.custom_fields.len() == 2).unwrap();
        c.tags.pop();
        c.custom_fields.retain(|(k, _)| k != "plan");
        c.changed = Utc::now();
        c.id.clone()
    });
    env.sim.reset_stats();
    assert_eq!(env.run().await.status, "succeeded");
    assert_eq!(env.sim.stats().get("conversation_tags"), Some(&1));
    assert_eq!(set(env.rows("SELECT ticket_id, tag_id, name FROM conversation_tags")), truth(&env));
    assert_eq!(
        env.count(&format!("SELECT count(*) FROM ticket_fields WHERE ticket_id = '{id}' AND field_code = 'plan'")),
        0
    );
    assert_eq!(
        env.count(&format!("SELECT count(*) FROM ticket_fields WHERE ticket_id = '{id}' AND field_code = 'order_id'")),
        1
    );
}

/// (stream, scope, report name) of every report stream.
const REPORTS: &[(&str, Option<&str>, &str, &str)] = &[
    ("report_agents", None, "agents", "report_agents"),
    ("report_channels", None, "channels", "report_channels"),
    ("report_departments", None, "departments", "report_departments"),
    ("report_tags", None, "tags", "report_tags"),
    ("report_performance", None, "performance", "report_performance"),
    ("report_ranking", None, "ranking", "report_ranking"),
    ("report_tickets_agents_availability", Some("tickets"), "agentsavailability", "report_agents_availability"),
    ("report_tickets_load", Some("tickets"), "load", "report_load"),
    ("report_tickets_sla_compliance", Some("tickets"), "slacompliance", "report_sla_compliance"),
    ("report_tickets_sla_log", Some("tickets"), "slalog", "report_sla_log"),
    ("report_chats_agents_availability", Some("chats"), "agentsavailability", "report_agents_availability"),
    ("report_chats_availability", Some("chats"), "availability", "report_availability"),
    ("report_chats_load", Some("chats"), "load", "report_load"),
    ("report_chats_sla_compliance", Some("chats"), "slacompliance", "report_sla_compliance"),
    ("report_chats_sla_log", Some("chats"), "slalog", "report_sla_log"),
    ("report_calls_agents_availability", Some("calls"), "agentsavailability", "report_agents_availability"),
    ("report_calls_availability", Some("calls"), "availability", "report_availability"),
    ("report_calls_load", Some("calls"), "load", "report_load"),
    ("report_calls_sla_compliance", Some("calls"), "slacompliance", "report_sla_compliance"),
    ("report_calls_sla_log", Some("calls"), "slalog", "report_sla_log"),
];

#[tokio::test(flavor = "multi_thread")]
async fn reports_load_by_day_window_add_up_and_restated_days_are_replaced() {
    // 400 conversations over 60 days: several a day.
    let cfg = SimConfig { conversations: 400, seed: 3, history_days: 60, ..Default::default() };
    let names: Vec<&str> = REPORTS.iter().map(|r| r.0).collect();
    let mut list = vec!["conversations"];
    list.extend(&names);
    let tables = format!("{FAST}report_history = \"9d\"\nreport_restatement = \"3d\"\n")
        .replace("report_history = \"2d\"\n", "");
    let env = Env::new(cfg, &streams(&list), &tables).await;
    let s = env.run().await;
    assert_eq!(s.status, "succeeded", "{s:?}");
    let today = Utc::now().date_naive();
    let days: Vec<NaiveDate> = (0..=9).rev().map(|i| today - Duration::days(i)).collect();
    // Every report table holds exactly what the vendor reported for each window.
    for (stream, scope, name, table) in REPORTS {
        let want: usize = env.sim.with_data(|d| {
            days.iter()
                .map(|day| {
                    let from = Utc.from_utc_datetime(&day.and_hms_opt(0, 0, 0).unwrap());
                    let to = from + Duration::days(1) - Duration::seconds(1);
                    report_rows(d, &env.sim.state.config, *scope, name, from, to).unwrap().1.len()
                })
                .sum()
        });
        let filter = scope.map(|s| format!("WHERE scope = '{s}'")).unwrap_or_default();
        assert_eq!(env.count(&format!("SELECT count(*) FROM {table} {filter}")), want as i64, "{stream}");
        assert_eq!(
            env.count(&format!("SELECT count(*) FROM _desksync_windows WHERE stream = '{stream}'")),
            10,
            "{stream}"
        );
    }
    // The numbers add up with the tickets: tickets created per day = the performance report's.
    let mismatches = env.rows(
        "SELECT p.window_start, p.created_tickets, count(t.ticket_id)
         FROM report_performance p LEFT JOIN tickets t
           ON t.created_at >= p.window_start AND t.created_at < p.window_end
         GROUP BY ALL HAVING p.created_tickets <> count(t.ticket_id)",
    );
    assert!(mismatches.is_empty(), "{mismatches:?}");
    assert!(env.count("SELECT sum(created_tickets) FROM report_performance") > 0);
    // Typed columns: a percentage is a DOUBLE, a count an integer, a window a timestamp.
    assert_eq!(
        env.rows("SELECT DISTINCT typeof(pct), typeof(mins), typeof(window_start) FROM report_availability"),
        vec![vec!["DOUBLE".to_string(), "BIGINT".to_string(), "TIMESTAMP WITH TIME ZONE".to_string()]]
    );

    // The vendor restates two past days: one inside the restatement lookback (3 days), one
    // outside it. The next run pulls only the lookback days (and today) again, replaces those
    // windows without duplicating a row, and leaves older windows alone.
    let (recent, old) = (today - Duration::days(2), today - Duration::days(6));
    let notes = |env: &Env, day: NaiveDate| {
        env.count(&format!("SELECT notes FROM report_performance WHERE window_start = '{day} 00:00:00+00'"))
    };
    let (recent_before, old_before) = (notes(&env, recent), notes(&env, old));
    let rows_before = env.count("SELECT count(*) FROM report_performance");
    env.sim.with_data(|d| {
        d.vendors.catalog.restated.insert(recent, 5);
        d.vendors.catalog.restated.insert(old, 7);
    });
    env.sim.reset_stats();
    let s = env.run().await;
    assert_eq!(s.status, "succeeded", "{s:?}");
    assert_eq!(env.sim.stats().get("report_performance"), Some(&4), "today and the 3 days before it");
    assert_eq!(env.sim.stats().get("reports"), Some(&(4 * REPORTS.len() as u64)));
    assert_eq!(notes(&env, recent), recent_before + 5);
    assert_eq!(notes(&env, old), old_before, "outside the lookback: not pulled again");
    assert_eq!(env.count("SELECT count(*) FROM report_performance"), rows_before);
    // Only the restated window was rewritten: the other re-pulled windows were unchanged.
    assert_eq!(env.stream(&s, "report_performance").rows, 2, "one row deleted and one inserted: {s:?}");
    assert_eq!(env.stream(&s, "report_tickets_load").rows, 0, "{s:?}");
    assert_eq!(
        env.count("SELECT count(*) FROM (SELECT window_start, period_start FROM report_performance GROUP BY ALL HAVING count(*) > 1)"),
        0
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn report_windows_follow_the_account_zone_across_dst() {
    // Europe/Bratislava left summer time on 2026-10-25: that day lasts 25 hours.
    let tz: chrono_tz::Tz = "Europe/Bratislava".parse().unwrap();
    let cfg =
        SimConfig { timezone: tz, filter_timezone: tz, conversations: 50, history_days: 60, ..Default::default() };
    let env = Env::new(
        cfg,
        &format!(
            "timezone = \"Europe/Bratislava\"\nfilter_timezone = \"Europe/Bratislava\"\n{}",
            streams(&["report_performance"])
        ),
        &format!("{FAST}start_date = \"2026-10-24\"\n"),
    )
    .await;
    assert_eq!(env.run().await.status, "succeeded");
    let w = env.rows(
        "SELECT strftime(window_start::TIMESTAMP, '%Y-%m-%d %H:%M'), strftime(window_end::TIMESTAMP, '%Y-%m-%d %H:%M'),
                (epoch_us(window_end) - epoch_us(window_start)) // 1000000
         FROM report_performance WHERE window_start < '2026-10-26 12:00:00+00' ORDER BY 1",
    );
    assert_eq!(
        w,
        vec![
            vec!["2026-10-23 22:00".to_string(), "2026-10-24 22:00".to_string(), "86400".to_string()],
            vec!["2026-10-24 22:00".to_string(), "2026-10-25 23:00".to_string(), "90000".to_string()],
            vec!["2026-10-25 23:00".to_string(), "2026-10-26 23:00".to_string(), "86400".to_string()],
        ]
    );
}
