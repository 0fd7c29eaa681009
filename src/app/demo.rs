//! `desksync demo`: the built-in simulator of every registered vendor on 127.0.0.1, one
//! pipeline per vendor written into a new directory, ready to run. Also the directory rules
//! the bench shares: the demo and the bench write only into a directory that is new, empty or
//! their own — never over someone's own `desksync.toml`.

use std::path::{Path, PathBuf};

use super::AppError;
use crate::config::{Config, PipelineConfig};
use crate::simulator::{DemoPipeline, SimConfig, Simulator};
use crate::sources;
use crate::warehouse::Warehouse;

/// The analyst's question the demo answers at the end.
pub const EXAMPLE_QUERY: &str =
    "SELECT source, channel, status, count(*) AS tickets, sum(messages_in + messages_out) AS messages
FROM tickets GROUP BY ALL ORDER BY tickets DESC LIMIT 10";

/// The first line of a `desksync.toml` the demo or the bench (`who`) wrote.
fn marker(who: &str) -> String {
    format!("# Written by `{who}`.")
}

/// Refuse `dir` unless it is new, empty, or written by the demo or the bench before.
pub fn claim_dir(dir: &Path, who: &str) -> Result<(), AppError> {
    let settings = dir.join("desksync.toml");
    match std::fs::read_to_string(&settings) {
        // Either of them wrote it (older benches wrote the demo's line).
        Ok(text) if text.starts_with("# Written by `desksync ") => Ok(()),
        Ok(_) => Err(AppError::Refused(format!(
            "{} holds a configuration `{who}` did not write; give a new or empty directory with --dir",
            settings.display()
        ))),
        Err(_) if dir.read_dir().map(|mut d| d.next().is_some()).unwrap_or(false) => Err(AppError::Refused(format!(
            "{} is not empty and `{who}` did not write it; give a new or empty directory with --dir",
            dir.display()
        ))),
        Err(_) => Ok(()),
    }
}

/// Write the configuration of a demo or bench (`who`) in `dir`: `desksync.toml`, `pipelines/`
/// and the secrets they read. Returns the path of `desksync.toml`.
pub fn write_sim_config(dir: &Path, who: &str, pipelines: &[DemoPipeline]) -> Result<PathBuf, AppError> {
    claim_dir(dir, who)?;
    let write = |path: PathBuf, text: &str| {
        std::fs::write(&path, text).map_err(AppError::io(format!("writing {}", path.display())))
    };
    for sub in ["pipelines", "secrets"] {
        let d = dir.join(sub);
        std::fs::create_dir_all(&d).map_err(AppError::io(format!("creating {}", d.display())))?;
    }
    write(
        dir.join("desksync.toml"),
        &format!("{}\n[warehouse]\npath = \"warehouse.duckdb\"\n\n[lake]\npath = \"lake\"\n", marker(who)),
    )?;
    for p in pipelines {
        write(dir.join(&p.secret_file), &p.secret)?;
        write(dir.join(format!("pipelines/{}.toml", p.name)), &p.file)?;
    }
    Ok(dir.join("desksync.toml"))
}

/// A demo ready to run: the simulator serving, the configuration written.
pub struct Demo {
    pub simulator: Simulator,
    pub config_path: PathBuf,
    pub config: Config,
    names: Vec<String>,
}

impl Demo {
    /// Start the simulator (`conversations` per vendor, from `seed`) and write the demo's
    /// configuration into `dir`.
    pub async fn start(dir: &Path, conversations: usize, seed: u64) -> Result<Demo, AppError> {
        claim_dir(dir, "desksync demo")?;
        let simulator = Simulator::start(SimConfig { seed, conversations, ..Default::default() }, 0)
            .await
            .map_err(AppError::io("starting the simulator on 127.0.0.1"))?;
        let pipelines = crate::simulator::demo_pipelines(&simulator.base_url(), &simulator.state.config, 600_000);
        let config_path = write_sim_config(dir, "desksync demo", &pipelines)?;
        let (config, _) = sources::load_config_partial(&config_path)?;
        Ok(Demo { simulator, config_path, config, names: pipelines.into_iter().map(|p| p.name).collect() })
    }

    /// What the simulator serves, in one line.
    pub fn describe(&self) -> String {
        crate::simulator::describe(&self.simulator.base_url())
    }

    /// The demo's own pipelines, whatever else the directory holds.
    pub fn pipelines(&self) -> impl Iterator<Item = &PipelineConfig> {
        self.config.pipelines.iter().filter(|p| self.names.contains(&p.name))
    }

    fn warehouse(&self) -> Warehouse {
        Warehouse::from_settings(&self.config.warehouse_path, &self.config.settings.warehouse)
    }

    /// Rows per table after the runs.
    pub async fn table_counts(&self) -> Result<Vec<(String, i64)>, AppError> {
        Ok(self.warehouse().table_counts().await?)
    }

    /// [`EXAMPLE_QUERY`]'s answer, as a text table.
    pub async fn example(&self) -> Result<String, AppError> {
        let batches = self.warehouse().query(EXAMPLE_QUERY).await?;
        Ok(arrow::util::pretty::pretty_format_batches(&batches).map(|t| t.to_string()).unwrap_or_default())
    }
}
