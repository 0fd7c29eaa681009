//! One warehouse table as one Delta Lake table: its schema and partition columns, opening (and
//! creating, and evolving when a migration added columns), and the commit that swaps a set of
//! partitions' files for new ones atomically.
//!
//! Commits are optimistic: a commit is built against the latest table version; if another
//! writer committed first, desksync reloads the table and rebuilds its commit (the files it
//! removes are re-read from the new version) instead of delta-rs's conflict checker, which
//! without DataFusion treats every concurrent removal as a conflict. Writers that own disjoint
//! partitions (instances sharding pipelines) therefore all commit; two writers of the same
//! partition leave exactly one writer's files in it, never both.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use deltalake_core::kernel::transaction::{CommitBuilder, CommitProperties, TransactionError};
use deltalake_core::kernel::{Action, Add, ArrayType, DataType, StructField};
use deltalake_core::protocol::{DeltaOperation, SaveMode};
use deltalake_core::{DeltaTable, DeltaTableBuilder, DeltaTableError, TableProperty};

use crate::config::LakeLocation;
use crate::error::WarehouseError;
use crate::lake::month_key;
use crate::model::{Col, Partition, Table};

/// Commit attempts before an export gives up (and is retried by the next run).
pub const COMMIT_ATTEMPTS: usize = 40;

/// A partition's values: source, account and (for month-partitioned tables) the month, `None`
/// for rows without one.
pub type PartitionKey = Vec<(String, Option<String>)>;

/// The partition columns of `table`, in path order.
pub fn partition_columns(table: Table) -> Vec<String> {
    let mut cols = vec!["source".to_string(), "account".to_string()];
    if let Partition::Month(col) = table.partition() {
        cols.push(month_key(col));
    }
    cols
}

/// The Delta schema of `table`: its columns, then the month partition column (a string).
pub fn fields(table: Table) -> Vec<StructField> {
    let mut out: Vec<StructField> =
        table.columns().iter().map(|(name, col)| StructField::new(*name, delta_type(*col), true)).collect();
    if let Partition::Month(col) = table.partition() {
        out.push(StructField::new(month_key(col), DataType::STRING, true));
    }
    out
}

fn delta_type(col: Col) -> DataType {
    match col {
        Col::Text => DataType::STRING,
        Col::TextList => DataType::Array(Box::new(ArrayType::new(DataType::STRING, true))),
        Col::Int => DataType::INTEGER,
        Col::BigInt => DataType::LONG,
        Col::Double => DataType::DOUBLE,
        Col::Bool => DataType::BOOLEAN,
        Col::Timestamp => DataType::TIMESTAMP,
        Col::Date => DataType::DATE,
    }
}

pub(crate) fn delta_err(context: impl Into<String>) -> impl FnOnce(DeltaTableError) -> WarehouseError {
    let context = context.into();
    move |source| WarehouseError::Delta { context, source: Box::new(source) }
}

/// The lake table of `table` at its latest version, or `None` when it was never written.
pub async fn load(location: &LakeLocation, table: Table) -> Result<Option<DeltaTable>, WarehouseError> {
    let url = super::store::table_url(location, table.name())?;
    let name = table.name();
    let mut dt = DeltaTableBuilder::from_url(url)
        .map_err(delta_err(format!("opening lake table {name}")))?
        .with_storage_options(super::store::storage_options(location))
        .build()
        .map_err(delta_err(format!("opening lake table {name}")))?;
    match dt.load().await {
        Ok(()) => Ok(Some(dt)),
        Err(DeltaTableError::NotATable(_)) => Ok(None),
        Err(e) => Err(delta_err(format!("reading lake table {name}"))(e)),
    }
}

/// Open the lake table of `table` at its latest version, creating it when there is none and
/// adding the columns a migration added since it was created.
pub async fn open(
    location: &LakeLocation,
    table: Table,
    checkpoint_interval: u32,
    retention: Duration,
) -> Result<DeltaTable, WarehouseError> {
    let url = super::store::table_url(location, table.name())?;
    let options = super::store::storage_options(location);
    let name = table.name();
    for _ in 0..COMMIT_ATTEMPTS {
        let mut dt = DeltaTableBuilder::from_url(url.clone())
            .map_err(delta_err(format!("opening lake table {name}")))?
            .with_storage_options(options.clone())
            .build()
            .map_err(delta_err(format!("opening lake table {name}")))?;
        match dt.load().await {
            Ok(()) => return evolve(dt, table).await,
            Err(DeltaTableError::NotATable(_)) => {}
            Err(e) => return Err(delta_err(format!("reading lake table {name}"))(e)),
        }
        let days = retention.as_secs().div_ceil(86_400).max(1);
        let created = dt
            .create()
            .with_table_name(name)
            .with_comment(format!("desksync table {name}: see docs/tables.md"))
            .with_columns(fields(table))
            .with_partition_columns(partition_columns(table))
            .with_configuration_property(
                TableProperty::CheckpointInterval,
                Some(checkpoint_interval.max(1).to_string()),
            )
            .with_configuration_property(
                TableProperty::DeletedFileRetentionDuration,
                Some(format!("interval {days} days")),
            )
            .with_save_mode(SaveMode::ErrorIfExists)
            .await;
        match created {
            Ok(dt) => return Ok(dt),
            // Another writer created it first: load theirs.
            Err(e) if is_conflict(&e) || matches!(e, DeltaTableError::Generic(_)) => continue,
            Err(e) => return Err(delta_err(format!("creating lake table {name}"))(e)),
        }
    }
    Err(WarehouseError::Invalid(format!("lake table {name}: could not be opened or created")))
}

/// Add the columns of `table` that its lake table lacks (added by a migration since).
async fn evolve(dt: DeltaTable, table: Table) -> Result<DeltaTable, WarehouseError> {
    let known: HashSet<String> = dt
        .snapshot()
        .map_err(delta_err("reading a lake table's schema"))?
        .schema()
        .fields()
        .map(|f| f.name().to_string())
        .collect();
    let missing: Vec<StructField> = fields(table).into_iter().filter(|f| !known.contains(f.name())).collect();
    if missing.is_empty() {
        return Ok(dt);
    }
    let names: Vec<String> = missing.iter().map(|f| f.name().to_string()).collect();
    tracing::info!(table = table.name(), columns = ?names, "adding new columns to the lake table's schema");
    dt.add_columns()
        .with_fields(missing)
        .await
        .map_err(delta_err(format!("adding columns to lake table {}", table.name())))
}

/// Whether `e` means another writer committed first (worth rebuilding the commit).
pub fn is_conflict(e: &DeltaTableError) -> bool {
    match e {
        DeltaTableError::VersionAlreadyExists(_) => true,
        DeltaTableError::Transaction { source } => matches!(
            source,
            TransactionError::VersionAlreadyExists(_)
                | TransactionError::MaxCommitAttempts(_)
                | TransactionError::CommitConflict(_)
        ),
        _ => false,
    }
}

/// The partition values of a file of the table.
pub(crate) fn key_of(values: &HashMap<String, Option<String>>, cols: &[String]) -> PartitionKey {
    cols.iter().map(|c| (c.clone(), values.get(c).cloned().flatten())).collect()
}

/// What a commit removes.
pub enum Removal<'a> {
    /// Every file of these partitions, whatever files they have by then (an export).
    Partitions(&'a HashSet<PartitionKey>),
    /// Exactly these files; if another writer removed one meanwhile, the commit is abandoned
    /// ([`WarehouseError::Invalid`]): compacting files that were replaced would bring back old rows.
    Files(&'a HashSet<String>),
}

/// One commit to `table` that removes `removal` and adds `adds` (new files, already uploaded),
/// with `operation`. Retried against the newest version when another writer got there first.
/// Returns the committed version.
pub async fn replace_partitions(
    mut dt: DeltaTable,
    table: Table,
    removal: Removal<'_>,
    adds: Vec<Add>,
    operation: DeltaOperation,
    data_change: bool,
    run_id: &str,
) -> Result<i64, WarehouseError> {
    let cols = partition_columns(table);
    let name = table.name();
    for attempt in 0..COMMIT_ATTEMPTS {
        if attempt > 0 {
            // Jittered: writers that collided do not collide again in lockstep.
            let ms = 10 * (attempt as u64).min(20) + rand::random_range(0..50u64);
            tokio::time::sleep(Duration::from_millis(ms)).await;
            dt.update_state().await.map_err(delta_err(format!("reloading lake table {name}")))?;
        }
        let snapshot = dt.snapshot().map_err(delta_err(format!("reading lake table {name}")))?;
        let mut actions: Vec<Action> = snapshot
            .log_data()
            .iter()
            .filter(|f| match &removal {
                Removal::Partitions(keys) => keys.contains(&key_of(&f.partition_values_map(), &cols)),
                Removal::Files(paths) => paths.contains(f.path().as_ref()),
            })
            .map(|f| Action::Remove(f.remove_action(data_change)))
            .collect();
        if let Removal::Files(paths) = &removal
            && actions.len() != paths.len()
        {
            return Err(WarehouseError::Invalid(format!(
                "lake table {name}: files to compact were replaced by another writer meanwhile; run it again"
            )));
        }
        actions.extend(adds.iter().cloned().map(Action::Add));
        if actions.is_empty() {
            return Ok(snapshot.version() as i64);
        }
        let props = CommitProperties::default()
            .with_max_retries(0)
            .with_metadata([("desksync.run_id".to_string(), serde_json::Value::String(run_id.to_string()))]);
        let n = actions.len();
        let committed = CommitBuilder::from(props)
            .with_actions(actions)
            .build(Some(snapshot), dt.log_store(), operation.clone())
            .await;
        match committed {
            Ok(done) => {
                crate::telemetry::lake_committed(name, done.version() as i64, n);
                return Ok(done.version() as i64);
            }
            Err(e) if is_conflict(&e) => crate::telemetry::lake_conflict(name, attempt),
            Err(e) => return Err(delta_err(format!("committing lake table {name}"))(e)),
        }
    }
    Err(WarehouseError::Invalid(format!(
        "lake table {name}: {COMMIT_ATTEMPTS} commit attempts lost to other writers; retried next run"
    )))
}
