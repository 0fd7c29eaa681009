//! The analysts' views over a warehouse that holds two vendors: each honours a LIMIT under a
//! filter (DuckDB 2.0.0 drops the LIMIT of some filtered LEFT JOINs; see schema/006_views.sql),
//! and tags are named for every vendor.

use desksync::app::run::run_pipeline;
use desksync::simulator::SimConfig;
use tokio_util::sync::CancellationToken;

use crate::common::{Env, FAST};

#[tokio::test(flavor = "multi_thread")]
async fn every_view_honours_a_limit_under_a_filter_and_every_vendor_s_tags_are_named() {
    let env = Env::livezilla(SimConfig { conversations: 40, seed: 11, ..Default::default() }, None, "", "").await;
    std::fs::write(env.dir.path().join("la.secret"), &env.sim.state.config.api_key).unwrap();
    std::fs::write(
        env.dir.path().join("pipelines/la.toml"),
        format!(
            "source = \"liveagent\"\napi_key_file = \"la.secret\"\nbase_url = \"{}\"\naccount = \"acme\"\n\
             streams = [\"departments\", \"tags\", \"conversations\", \"messages\", \"agents\"]\n{FAST}",
            env.sim.base_url()
        ),
    )
    .unwrap();
    let config = env.config();
    for p in &config.pipelines {
        let s = run_pipeline(&config, p, CancellationToken::new()).await.unwrap();
        assert_eq!(s.status, "succeeded", "{s:?}");
    }
    for view in ["ticket_tags", "ticket_facts", "daily_volumes", "agent_workload"] {
        for source in ["liveagent", "livezilla"] {
            let total = env.count(&format!("SELECT count(*) FROM {view} WHERE source = '{source}'"));
            assert!(total > 5, "{view} has {total} rows of {source}");
            let limited = env.rows(&format!("SELECT * FROM {view} WHERE source = '{source}' LIMIT 5")).len();
            assert_eq!(limited, 5, "{view} WHERE source = '{source}' LIMIT 5");
        }
    }
    // LiveZilla sends tag names, LiveAgent ids its tags dimension names: both come out named.
    for source in ["liveagent", "livezilla"] {
        let unnamed =
            env.count(&format!("SELECT count(*) FROM ticket_tags WHERE source = '{source}' AND tag_name IS NULL"));
        assert_eq!(unnamed, 0, "{source} tags without a name");
    }
    let names = env.rows("SELECT DISTINCT tag_name FROM ticket_tags WHERE source = 'livezilla' ORDER BY 1");
    let truth: std::collections::BTreeSet<String> =
        env.sim.with_data(|d| d.tags.iter().map(|t| t.name.clone()).collect());
    assert!(names.iter().all(|n| truth.contains(&n[0])), "{names:?}");
}
