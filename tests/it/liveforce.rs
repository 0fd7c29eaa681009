//! Liveforce (Perfex-based): every stream against the simulator, and the paging behaviours the
//! connector must survive without configuration.

use std::collections::BTreeSet;

use desksync::simulator::SimConfig;
use desksync::simulator::liveforce::{lf_id, ordered_tickets, status_id};

use crate::common::{Env, FAST, utc};

pub(crate) fn sim(conversations: usize) -> SimConfig {
    SimConfig { conversations, seed: 9, history_days: 200, ..Default::default() }
}

fn set(rows: Vec<Vec<String>>) -> BTreeSet<Vec<String>> {
    rows.into_iter().collect()
}

fn canonical(id: u32) -> &'static str {
    ["open", "in_progress", "answered", "pending", "closed", "pending"][id as usize - 1]
}

/// (ticket id, status, priority, merged into, messages) from the simulator.
pub(crate) fn truth_tickets(env: &Env) -> BTreeSet<Vec<String>> {
    env.sim.with_data(|d| {
        ordered_tickets(d)
            .into_iter()
            .map(|c| {
                let id = lf_id(c);
                let merged = d.vendors.liveforce.merged.get(&id).map(|t| t.to_string());
                let replies = |c: &desksync::simulator::world::Conversation| {
                    c.groups.iter().filter(|g| g.rtype != "I").count().saturating_sub(1)
                };
                // A survivor holds its own replies and those of the tickets merged into it.
                let moved: usize = d
                    .conversations
                    .values()
                    .filter(|m| d.vendors.liveforce.merged.get(&lf_id(m)) == Some(&id))
                    .map(replies)
                    .sum();
                let messages = if merged.is_some() { 0 } else { 1 + replies(c) + moved };
                vec![
                    id.to_string(),
                    canonical(status_id(&c.status)).to_string(),
                    ["low", "medium", "high"][(id % 3) as usize].to_string(),
                    merged.unwrap_or_else(|| "∅".into()),
                    utc(c.created),
                    messages.to_string(),
                ]
            })
            .collect()
    })
}

pub(crate) fn db_tickets(env: &Env) -> BTreeSet<Vec<String>> {
    set(env.rows(
        "SELECT t.ticket_id, t.status, t.priority, coalesce(t.merged_into, '∅'),
                strftime(t.created_at::TIMESTAMP, '%Y-%m-%d %H:%M:%S'),
                (SELECT count(*) FROM messages m WHERE m.source = 'liveforce' AND m.ticket_id = t.ticket_id)
         FROM tickets t WHERE t.source = 'liveforce'",
    ))
}

#[tokio::test(flavor = "multi_thread")]
async fn full_sync_equals_the_simulator_for_every_stream() {
    let env = Env::liveforce(sim(90), None, "", &format!("{FAST}\n[liveforce]\nper_page = 20\n")).await;
    let s = env.run().await;
    assert_eq!(s.status, "succeeded", "{s:?}");
    assert_eq!(db_tickets(&env), truth_tickets(&env));
    assert!(
        env.count("SELECT count(*) FROM tickets WHERE merged_into IS NOT NULL") >= 3,
        "merged tickets kept, flagged"
    );
    let (agents, calls) = env
        .sim
        .with_data(|d| (d.agents.len() as i64, d.conversations.values().filter(|c| c.channel == "C").count() as i64));
    assert_eq!(env.count("SELECT count(*) FROM agents WHERE source = 'liveforce' AND known_from = 'staff'"), agents);
    assert_eq!(env.count("SELECT count(*) FROM calls WHERE source = 'liveforce' AND duration_seconds > 0"), calls);
    // The CRM tables, every column (tests/it/truth.rs).
    {
        use crate::truth::*;
        let (leads, notes, deals, services) = env.sim.with_data(|d| {
            (liveforce_leads(d), liveforce_lead_notes(d), liveforce_deals(d), liveforce_deal_services(d))
        });
        assert_rows_equal("Liveforce leads", &db_keyed(&env, DB_LEADS), &leads);
        assert_rows_equal("Liveforce lead_notes", &db_keyed(&env, DB_LEAD_NOTES), &notes);
        assert_rows_equal("Liveforce deals", &db_keyed(&env, DB_DEALS), &deals);
        assert_rows_equal("Liveforce deal_services", &db_keyed(&env, DB_DEAL_SERVICES), &services);
        assert_rows_equal(
            "Liveforce deal sources and stages",
            &db_keyed(&env, DB_DEAL_DIMENSIONS),
            &liveforce_deal_dimensions(),
        );
        assert_rows_equal(
            "Liveforce ticket_statuses",
            &db_keyed(&env, DB_TICKET_STATUSES),
            &liveforce_ticket_statuses(),
        );
        let (agents, calls) = env.sim.with_data(|d| (liveforce_agents(d), liveforce_calls(d)));
        assert_rows_equal("Liveforce agents", &db_keyed(&env, DB_LF_AGENTS), &agents);
        assert_rows_equal("Liveforce calls", &db_keyed(&env, DB_LF_CALLS), &calls);
    }
    assert_eq!(env.count("SELECT sum(leads) FROM leads_status_snapshots"), 45);
    assert_eq!(
        env.rows("SELECT value FROM leads_summary_snapshots WHERE metric = 'total_leads'"),
        vec![vec!["45.0".to_string()]]
    );

    // Nothing changed: the next run lists everything again and writes only the snapshots.
    let s = env.run().await;
    assert_eq!(s.status, "succeeded", "{s:?}");
    for name in ["tickets", "call_logs", "leads", "deals", "staff", "ticket_statuses"] {
        assert_eq!(env.stream(&s, name).rows, 0, "{name}: {s:?}");
    }
    assert_eq!(env.sim.stats().get("lf_ticket_details").copied().unwrap_or(0) as usize, {
        // details were read once per non-merged ticket, in the first run only
        env.count("SELECT count(*) FROM tickets WHERE source = 'liveforce' AND merged_into IS NULL") as usize
    });
}

#[tokio::test(flavor = "multi_thread")]
async fn a_page_past_the_end_repeating_the_last_page_ends_the_listing() {
    // 45 leads in pages of 9: page 6 answers page 5 again.
    let env =
        Env::liveforce(sim(10), None, "streams = [\"leads\"]", &format!("{FAST}\n[liveforce]\nper_page = 9\n")).await;
    let s = env.run().await;
    assert_eq!(s.status, "succeeded", "{s:?}");
    assert_eq!(env.count("SELECT count(*) FROM leads"), 45);
    assert_eq!(env.count("SELECT count(DISTINCT lead_id) FROM leads"), 45);
    assert_eq!(env.sim.stats()["lf_leads"], 6, "five pages and the repeat that ends it");
    // per_page above the server's clamp (100) and an unpaged call: still exact, still finite.
    let env = Env::liveforce(
        sim(150),
        None,
        "streams = [\"tickets\", \"deal_sources\"]",
        &format!("{FAST}\n[liveforce]\nper_page = 500\n"),
    )
    .await;
    assert_eq!(env.run().await.status, "succeeded");
    assert_eq!(env.count("SELECT count(*) FROM tickets"), 150);
    assert_eq!(env.count("SELECT count(*) FROM deal_sources"), 3);
    assert_eq!(env.sim.stats()["lf_deal_sources"], 2, "the whole list, then the same list again: stop");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_empty_list_answered_404_is_zero_rows() {
    let env = Env::liveforce(sim(10), None, "streams = [\"deals\", \"deal_services\", \"leads\"]", "").await;
    assert_eq!(env.run().await.status, "succeeded");
    let without = env.sim.with_data(|d| d.vendors.liveforce.deals.iter().filter(|x| x.services.is_empty()).count());
    assert!(without > 0, "some deals have no services (their call answers 404)");
    // The whole lead list empties: 404, zero rows, and the stored leads are marked deleted.
    env.sim.with_data(|d| d.vendors.liveforce.leads.clear());
    let s = env.run().await;
    assert_eq!(s.status, "succeeded", "{s:?}");
    assert_eq!(env.count("SELECT count(*) FROM leads WHERE deleted_at IS NULL"), 0);
    assert_eq!(env.count("SELECT count(*) FROM leads"), 45);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reply_moving_a_ticket_to_the_end_mid_listing_is_neither_lost_nor_duplicated() {
    let env = Env::liveforce(
        sim(120),
        None,
        "streams = [\"tickets\", \"ticket_messages\"]",
        &format!("{FAST}\n[liveforce]\nper_page = 20\n"),
    )
    .await;
    // After the first page is read, a ticket on it gets a reply: it jumps to the end and every
    // later ticket moves up one place, so page 2 would skip one.
    env.sim.with_data(|d| {
        let first = lf_id(ordered_tickets(d)[3]);
        d.vendors.liveforce.reply_after_list_requests = Some((1, first));
    });
    let s = env.run().await;
    assert_eq!(s.status, "succeeded", "{s:?}");
    assert_eq!(db_tickets(&env), truth_tickets(&env));
    assert_eq!(env.count("SELECT count(*) - count(DISTINCT ticket_id) FROM tickets"), 0);
    assert!(env.sim.stats()["lf_tickets"] > 7, "the listing was read again: {:?}", env.sim.stats());
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_credentials_fail_once_with_a_clear_error() {
    let env = Env::liveforce(sim(10), Some("wrong"), "", "").await;
    let s = env.run().await;
    assert_eq!(s.status, "failed", "{s:?}");
    assert_eq!(env.sim.stats().get("lf_unauthorized"), Some(&1), "{:?}", env.sim.stats());
    let e = s.error.unwrap();
    assert!(e.contains("HTTP 401") && e.contains("Invalid API credentials"), "{e}");
    assert!(!e.contains("wrong"), "{e}");
    // A server that answers refused credentials with 404: still one attempt, and the message
    // speaks of credentials, not only of base_url.
    let cfg = SimConfig { lf_refusal_status: 404, ..sim(10) };
    let env = Env::liveforce(cfg, Some("wrong"), "", "").await;
    let s = env.run().await;
    assert_eq!(s.status, "failed", "{s:?}");
    assert_eq!(env.sim.stats().get("lf_unauthorized"), Some(&1), "{:?}", env.sim.stats());
    let e = s.error.clone().unwrap();
    assert!(e.contains("check username and password"), "{e}");
    assert!(s.streams.iter().all(|st| st.status == "not_started"), "{s:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn server_local_times_are_stored_as_utc() {
    let tz: chrono_tz::Tz = "Europe/Bratislava".parse().unwrap();
    let cfg = SimConfig { timezone: tz, filter_timezone: tz, ..sim(40) };
    let env = Env::liveforce(cfg, None, "timezone = \"Europe/Bratislava\"\nstreams = [\"tickets\"]", "").await;
    assert_eq!(env.run().await.status, "succeeded");
    let want: BTreeSet<Vec<String>> =
        env.sim.with_data(|d| d.conversations.values().map(|c| vec![lf_id(c).to_string(), utc(c.created)]).collect());
    assert_eq!(
        set(env.rows("SELECT ticket_id, strftime(created_at::TIMESTAMP, '%Y-%m-%d %H:%M:%S') FROM tickets")),
        want
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_requester_is_the_contact_or_the_sender_and_password_hashes_are_never_stored() {
    let env = Env::liveforce(sim(40), None, "", &format!("{FAST}\n[liveforce]\nper_page = 20\n")).await;
    assert_eq!(env.run().await.status, "succeeded");
    // Perfex's `SELECT *` leaves `name` = the priority's name and `email` = the contact's.
    let truth: BTreeSet<Vec<String>> = env.sim.with_data(|d| {
        ordered_tickets(d)
            .into_iter()
            .map(|c| vec![lf_id(c).to_string(), c.owner_name.clone(), c.owner_email.clone()])
            .collect()
    });
    let db = set(env.rows(
        "SELECT ticket_id, coalesce(requester_name, '∅'), coalesce(requester_email, '∅')
         FROM tickets WHERE source = 'liveforce'",
    ));
    assert_eq!(db, truth);
    let strangers = env.sim.with_data(|d| {
        d.conversations.values().filter(|c| !desksync::simulator::liveforce::has_contact(lf_id(c))).count()
    });
    assert!(strangers > 0, "the data has tickets without a contact");
    // The contact's password hash came with every contact ticket; none is stored anywhere.
    for sql in [
        "SELECT count(*) FROM tickets WHERE raw ILIKE '%\"password\":%' OR raw ILIKE '%$2y$%'",
        "SELECT count(*) FROM _desksync_quarantine WHERE raw ILIKE '%$2y$%'",
    ] {
        assert_eq!(env.count(sql), 0, "{sql}");
    }
    let lake = env.dir.path().join("lake/tickets");
    let mut leaked = Vec::new();
    for entry in walk(&lake) {
        let bytes = std::fs::read(&entry).unwrap();
        if bytes.windows(4).any(|w| w == b"$2y$") {
            leaked.push(entry);
        }
    }
    assert!(leaked.is_empty(), "password hashes in the lake: {leaked:?}");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() { out.extend(walk(&p)) } else { out.push(p) }
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn a_merge_moves_the_replies_to_the_surviving_ticket_and_none_stay_behind() {
    let env = Env::liveforce(sim(60), None, "", &format!("{FAST}\n[liveforce]\nper_page = 20\n")).await;
    assert_eq!(env.run().await.status, "succeeded");
    // Merge a ticket with replies into another: Perfex changes the merged ticket's row only.
    let (from, into) = env.sim.with_data(|d| {
        let merged = &d.vendors.liveforce.merged;
        let open: Vec<u64> = ordered_tickets(d)
            .into_iter()
            .filter(|c| c.groups.iter().filter(|g| g.rtype != "I").count() > 1)
            .map(lf_id)
            .filter(|id| !merged.contains_key(id) && !merged.values().any(|v| v == id))
            .collect();
        let (from, into) = (open[0], open[1]);
        d.vendors.liveforce.merged.insert(from, into);
        (from, into)
    });
    let s = env.run().await;
    assert_eq!(s.status, "succeeded", "{s:?}");
    assert_eq!(db_tickets(&env), truth_tickets(&env));
    let count = |id: u64| {
        env.count(&format!("SELECT count(*) FROM messages WHERE source = 'liveforce' AND ticket_id = '{id}'"))
    };
    assert_eq!(count(from), 0, "no stale copies under the merged ticket");
    assert!(count(into) > 1, "the survivor holds the moved replies");
    // And the run after that finds nothing more to do.
    let s = env.run().await;
    assert_eq!(env.stream(&s, "tickets").rows, 0, "{s:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_reading_other_paging_names_fails_clearly_instead_of_losing_the_rest() {
    // The server reads `p` and `limit`: whatever desksync asks, it sends its first 25.
    let cfg = SimConfig { lf_paging: ("p".into(), "limit".into()), ..sim(90) };
    let env =
        Env::liveforce(cfg.clone(), None, "streams = [\"tickets\"]", &format!("{FAST}\n[liveforce]\nper_page = 50\n"))
            .await;
    let s = env.run().await;
    assert_ne!(s.status, "succeeded", "{s:?}");
    let e = env.stream(&s, "tickets").error.clone().unwrap_or_default();
    assert!(e.contains("page_param") && e.contains("per_page_param"), "{e}");
    // Told the names, it reads every ticket.
    let env = Env::liveforce(
        cfg,
        None,
        "streams = [\"tickets\", \"ticket_messages\"]",
        &format!("{FAST}\n[liveforce]\nper_page = 50\npage_param = \"p\"\nper_page_param = \"limit\"\n"),
    )
    .await;
    assert_eq!(env.run().await.status, "succeeded");
    assert_eq!(db_tickets(&env), truth_tickets(&env));
}
