//! What analysts rely on: the day-one views (each checked against the simulator's truth), and
//! the published snapshot they query, which a sync never disturbs.

use std::collections::BTreeMap;

use chrono::{Duration, TimeZone, Utc};
use desksync::simulator::SimConfig;
use desksync::simulator::liveagent::catalog::report_rows;
use desksync::simulator::world::Mutation;

use crate::common::{Env, FAST};

fn sim() -> SimConfig {
    SimConfig { conversations: 300, seed: 21, history_days: 20, ..Default::default() }
}

/// Messages a LiveAgent agent writes: outgoing groups, and chat lines by an agent (resolved
/// through the agents dimension).
fn by_agent(c: &desksync::simulator::world::Conversation, g: &desksync::simulator::world::Group, userid: &str) -> bool {
    matches!(g.rtype.as_str(), "4" | "V") || (g.rtype == "C" && userid != c.owner_id)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_day_one_views_agree_with_the_simulator() {
    let streams =
        "streams = [\"departments\", \"tags\", \"conversations\", \"messages\", \"agents\", \"report_ranking\"]";
    let env =
        Env::new(sim(), streams, &format!("{FAST}report_history = \"12d\"\n").replace("report_history = \"2d\"\n", ""))
            .await;
    assert_eq!(env.run().await.status, "succeeded");

    // ticket_facts: agent messages and first responses.
    let (agent_messages, first_response) = env.sim.with_data(|d| {
        let total: usize = d
            .conversations
            .values()
            .flat_map(|c| c.groups.iter().map(move |g| (c, g)))
            .map(|(c, g)| g.messages.iter().filter(|m| m.rtype != "S" && by_agent(c, g, &m.userid)).count())
            .sum();
        // The conversation whose first agent message came first.
        let (id, secs) = d
            .conversations
            .values()
            .filter_map(|c| {
                let first = c
                    .groups
                    .iter()
                    .flat_map(|g| g.messages.iter().map(move |m| (g, m)))
                    .filter(|(g, m)| m.rtype != "S" && by_agent(c, g, &m.userid))
                    .map(|(_, m)| m.created)
                    .min()?;
                Some((c.id.clone(), (first - c.created).num_seconds()))
            })
            .min_by_key(|(id, _)| id.clone())
            .unwrap();
        (total as i64, (id, secs))
    });
    assert_eq!(env.count("SELECT sum(agent_messages) FROM ticket_facts"), agent_messages);
    assert_eq!(env.count("SELECT count(*) FROM messages WHERE author_type = 'unknown'"), 0, "chat authors resolved");
    let (id, secs) = first_response;
    assert_eq!(env.count(&format!("SELECT first_response_seconds FROM ticket_facts WHERE ticket_id = '{id}'")), secs);

    // daily_volumes: the busiest UTC day.
    let (day, n) = env.sim.with_data(|d| {
        let mut by: BTreeMap<String, i64> = BTreeMap::new();
        for c in d.conversations.values() {
            *by.entry(c.created.date_naive().to_string()).or_default() += 1;
        }
        by.into_iter().max_by_key(|(_, n)| *n).unwrap()
    });
    assert_eq!(env.count(&format!("SELECT sum(tickets) FROM daily_volumes WHERE day = DATE '{day}'")), n);

    // agent_workload: one agent's messages over the whole history.
    let (agent, sent) = env.sim.with_data(|d| {
        let a = d.agents[0].id.clone();
        let n: usize = d
            .conversations
            .values()
            .flat_map(|c| c.groups.iter().map(move |g| (c, g)))
            .flat_map(|(c, g)| g.messages.iter().map(move |m| (c, g, m)))
            .filter(|(c, g, m)| m.rtype != "S" && m.userid == a && by_agent(c, g, &m.userid))
            .count();
        (a, n as i64)
    });
    assert_eq!(env.count(&format!("SELECT sum(messages_sent) FROM agent_workload WHERE agent_id = '{agent}'")), sent);
    assert_eq!(
        env.rows(&format!("SELECT DISTINCT agent_name FROM agent_workload WHERE agent_id = '{agent}'")),
        vec![vec!["Agent 1".to_string()]]
    );

    // agent_ratings: positive ratings over the report days, as the vendor reported them.
    let positive = env.sim.with_data(|d| {
        let today = Utc::now().date_naive();
        (0..=12)
            .map(|i| {
                let day = today - Duration::days(i);
                let from = Utc.from_utc_datetime(&day.and_hms_opt(0, 0, 0).unwrap());
                let (_, rows) = report_rows(
                    d,
                    &env.sim.state.config,
                    None,
                    "ranking",
                    from,
                    from + Duration::days(1) - Duration::seconds(1),
                )
                .unwrap();
                rows.iter().filter(|r| r["rankingType"] == "W").count() as i64
            })
            .sum::<i64>()
    });
    assert!(positive > 0);
    assert_eq!(env.count("SELECT sum(positive) FROM agent_ratings"), positive);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_analyst_holding_the_snapshot_open_never_blocks_a_sync_nor_sees_half_a_run() {
    let env = Env::new(sim(), "", "").await;
    assert_eq!(env.run().await.status, "succeeded");
    let snapshot = env.dir.path().join("analytics.duckdb");
    assert!(snapshot.exists(), "the run published the analysts' snapshot");
    // A copy left behind by a process that died while publishing is cleaned up by the next one.
    let stale = env.dir.path().join("analytics.duckdb.publishing-0190aaaa-dead-7000-8000-000000000000");
    std::fs::write(&stale, b"half a copy").unwrap();
    let before = env.count("SELECT count(*) FROM tickets");
    // An analyst's session stays open on the snapshot, mid-query, across the next run.
    let analyst = duckdb::Connection::open_with_flags(
        &snapshot,
        duckdb::Config::default().access_mode(duckdb::AccessMode::ReadOnly).unwrap(),
    )
    .unwrap();
    let mut stmt = analyst.prepare("SELECT ticket_id FROM tickets ORDER BY ticket_id").unwrap();
    let mut rows = stmt.query([]).unwrap();
    let first: String = rows.next().unwrap().unwrap().get(0).unwrap();
    env.sim.with_data(|d| d.apply(&Mutation { new_conversations: 7, ..Default::default() }, Utc::now()));
    let t0 = std::time::Instant::now();
    let s = env.run().await;
    assert_eq!(s.status, "succeeded", "{s:?}");
    assert!(t0.elapsed() < std::time::Duration::from_secs(15), "the run was not held up by the analyst");
    assert!(!stale.exists(), "the stale copy was removed");
    let leftovers = std::fs::read_dir(env.dir.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains("publishing"))
        .count();
    assert_eq!(leftovers, 0, "no temporary copy is left behind");
    // The analyst's query carries on over the data it started with.
    let mut seen = 1;
    while let Some(r) = rows.next().unwrap() {
        let _: String = r.get(0).unwrap();
        seen += 1;
    }
    assert_eq!(seen, before);
    assert!(!first.is_empty());
    drop(rows);
    drop(stmt);
    let n: i64 = analyst.query_row("SELECT count(*) FROM tickets", [], |r| r.get(0)).unwrap();
    assert_eq!(n, before, "an open session keeps its consistent view");
    drop(analyst);
    // A new session sees the new run, whole.
    let fresh = duckdb::Connection::open_with_flags(
        &snapshot,
        duckdb::Config::default().access_mode(duckdb::AccessMode::ReadOnly).unwrap(),
    )
    .unwrap();
    let n: i64 = fresh.query_row("SELECT count(*) FROM tickets", [], |r| r.get(0)).unwrap();
    assert_eq!(n, before + 7);
    let state: i64 = fresh.query_row("SELECT count(*) FROM _desksync_state", [], |r| r.get(0)).unwrap();
    assert!(state > 0, "state and rows published together");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_readme_questions_run_on_the_snapshot() {
    let streams =
        "streams = [\"departments\", \"tags\", \"conversations\", \"messages\", \"agents\", \"report_ranking\"]";
    let env = Env::new(sim(), streams, "").await;
    assert_eq!(env.run().await.status, "succeeded");
    let readme = std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let start = readme.find("Five questions and their SQL").expect("the README's questions");
    let block = &readme[start..];
    let sql = &block[block.find("```sql").unwrap() + 6..];
    let sql = &sql[..sql.find("```").unwrap()];
    let statements: Vec<&str> = sql.split(';').map(str::trim).filter(|s| !s.is_empty()).collect();
    assert_eq!(statements.len(), 5);
    let snapshot = env.dir.path().join("analytics.duckdb");
    let c = duckdb::Connection::open_with_flags(
        &snapshot,
        duckdb::Config::default().access_mode(duckdb::AccessMode::ReadOnly).unwrap(),
    )
    .unwrap();
    let mut answered = 0;
    for q in statements {
        let mut stmt = c.prepare(q).unwrap_or_else(|e| panic!("{q}: {e}"));
        let n = stmt.query_arrow([]).unwrap_or_else(|e| panic!("{q}: {e}")).map(|b| b.num_rows()).sum::<usize>();
        answered += usize::from(n > 0);
    }
    // Every question runs and has an answer, whatever the day of the month.
    assert_eq!(answered, 5, "questions with rows");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_snapshot_refreshed_after_a_small_change_equals_the_warehouse_table_by_table() {
    // Every vendor, every default stream (LiveAgent's agents too: it rewrites chat authors).
    let envs = [
        Env::new(sim(), "streams = [\"departments\", \"tags\", \"conversations\", \"messages\", \"agents\"]", "").await,
        Env::livezilla(sim(), None, "", "").await,
        Env::liveforce(sim(), None, "", "").await,
    ];
    for env in &envs {
        assert_eq!(env.run().await.status, "succeeded");
        // A small change: the next publish brings the published copy up to date row by row
        // (changed tables) — and must still equal a whole copy.
        env.sim.with_data(|d| {
            d.apply(&Mutation { new_messages: 3, changed_conversations: 2, new_conversations: 1 }, Utc::now())
        });
        assert_eq!(env.run().await.status, "succeeded");
        assert_eq!(env.count("SELECT count(*) FROM _desksync_publish_dirty"), 0, "everything changed was published");
        let snapshot = env.dir.path().join("analytics.duckdb");
        let published = duckdb::Connection::open_with_flags(
            &snapshot,
            duckdb::Config::default().access_mode(duckdb::AccessMode::ReadOnly).unwrap(),
        )
        .unwrap();
        let fingerprint = "SELECT count(*)::VARCHAR || ':' || coalesce(bit_xor(hash(t))::VARCHAR, '-') FROM";
        for table in desksync::model::Table::all() {
            let name = table.name();
            let want = env.rows(&format!("{fingerprint} {name} t"))[0][0].clone();
            let got: String = published.query_row(&format!("{fingerprint} {name} t"), [], |r| r.get(0)).unwrap();
            assert_eq!(got, want, "{name}: the snapshot differs from the warehouse");
        }
        let runs: i64 = published.query_row("SELECT count(*) FROM _desksync_runs", [], |r| r.get(0)).unwrap();
        assert_eq!(runs, 2, "the bookkeeping is re-copied too");
    }
}
