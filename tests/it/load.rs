//! The load transaction seen from outside: a load into a table the run found empty goes in as
//! a plain INSERT (DuckDB's ON CONFLICT costs 4–5× as much), and when such a load meets a key
//! that is stored after all, the whole unit is loaded again through the upsert — nothing
//! duplicated, nothing lost, the change counted once.

use std::time::Duration;

use desksync::model::{Table, to_batch};
use desksync::warehouse::{LoadUnit, Warehouse};
use serde_json::json;

fn departments(rows: &[(&str, &str)]) -> LoadUnit {
    let rows: Vec<_> = rows
        .iter()
        .map(|(id, name)| {
            json!({"source": "liveagent", "account": "acme", "department_id": id, "name": name,
                   "online_status": null, "is_deleted": false, "deleted_at": null,
                   "content_hash": format!("h-{name}"), "raw": null, "synced_at": "2026-01-01T00:00:00Z"})
        })
        .collect();
    LoadUnit {
        source: "liveagent",
        account: "acme".into(),
        pipeline: "p".into(),
        stream: "departments".into(),
        batches: vec![(Table::Departments, to_batch(Table::Departments, &rows).unwrap())],
        ..Default::default()
    }
}

fn stored(w: &Warehouse) -> Vec<(String, String)> {
    w.with_conn_blocking(|c| {
        let mut s = c.prepare("SELECT department_id, name FROM departments ORDER BY 1").unwrap();
        Ok(s.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect())
    })
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plain_insert_that_meets_a_stored_key_is_loaded_again_through_the_upsert() {
    let dir = tempfile::tempdir().unwrap();
    let w = Warehouse::new(dir.path().join("w.duckdb"), Duration::from_secs(5));
    w.migrate().await.unwrap();
    let hold = w.hold().await.unwrap();
    // Empty when the run began: a plain insert.
    let first = w.commit(departments(&[("1", "Sales"), ("2", "Support")])).await.unwrap();
    assert_eq!(first.rows_written, 2);
    // The same run meets department 1 again, changed: the plain insert is refused by the key,
    // and the unit goes in through the upsert (1 changed, 3 new).
    let again = w.commit(departments(&[("1", "Sales EMEA"), ("3", "Billing")])).await.unwrap();
    assert_eq!(again.rows_written, 2, "the changed row and the new one");
    // From then on the upsert: an unchanged row is not written again.
    let third = w.commit(departments(&[("1", "Sales EMEA"), ("4", "Legal")])).await.unwrap();
    assert_eq!(third.rows_written, 1, "only the new row");
    hold.release().await.unwrap();
    let expected: Vec<(String, String)> = [("1", "Sales EMEA"), ("2", "Support"), ("3", "Billing"), ("4", "Legal")]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    assert_eq!(stored(&w), expected);
    // A new run (a new hold) finds the table filled and upserts from the start.
    let hold = w.hold().await.unwrap();
    let next = w.commit(departments(&[("2", "Support"), ("5", "Ops")])).await.unwrap();
    assert_eq!(next.rows_written, 1);
    hold.release().await.unwrap();
    assert_eq!(stored(&w).len(), 5);
}
