//! `desksync bench`: a full run and an incremental run of the first registered vendor against
//! the simulator in a separate process (so its work is not counted as ours), with what each
//! phase measured: wall time, rows, requests, peak resident memory, 429s and the share of the
//! rate limit used.

use std::io::BufRead;
use std::path::Path;

use tokio_util::sync::CancellationToken;

use super::AppError;
use super::demo::{claim_dir, write_sim_config};
use crate::app::run::{RunStatus, RunSummary, run_pipeline};
use crate::config::Config;
use crate::simulator::SimConfig;
use crate::sources;

/// What one phase measured.
#[derive(Debug, Clone)]
pub struct Figures {
    pub phase: String,
    pub wall_secs: f64,
    pub rows: u64,
    pub requests: u64,
    /// Peak resident set size of this process during the phase, MiB (Linux).
    pub peak_rss_mib: Option<f64>,
    pub throttled: u64,
    /// Requests per minute as a percentage of the configured limit.
    pub pct_of_limit: Option<f64>,
    pub succeeded: bool,
}

impl Figures {
    fn of(phase: &str, s: &RunSummary, rate_limit: Option<u32>) -> Figures {
        let secs = s.elapsed.as_secs_f64().max(1e-9);
        Figures {
            phase: phase.to_string(),
            wall_secs: secs,
            rows: s.rows_written,
            requests: s.requests,
            peak_rss_mib: peak_rss_mib(),
            throttled: s.streams.iter().map(|x| x.throttled).sum(),
            pct_of_limit: rate_limit.map(|r| 100.0 * (s.requests as f64 / secs * 60.0) / r as f64),
            succeeded: s.status == RunStatus::Succeeded,
        }
    }
}

/// Peak resident set size of this process (VmHWM), in MiB.
fn peak_rss_mib() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Reset the peak RSS counter so the next phase is measured on its own.
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// A bench under way: the simulator process and the measured pipeline's configuration.
pub struct Bench {
    child: std::process::Child,
    pub base_url: String,
    config: Config,
    rate_limit: Option<u32>,
}

impl Drop for Bench {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Bench {
    /// Start `desksync simulate` (this executable) with `conversations` and write the measured
    /// pipeline's configuration into `dir` (emptied first, but only a directory the bench wrote,
    /// or a new or empty one).
    pub fn start(dir: &Path, conversations: usize, rate_limit: Option<u32>) -> Result<Bench, AppError> {
        claim_dir(dir, "desksync bench")?;
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir_all(dir).map_err(AppError::io(format!("creating {}", dir.display())))?;
        let exe = std::env::current_exe().map_err(AppError::io("finding this executable"))?;
        let mut args = vec!["simulate".to_string(), "--port".into(), "0".into()];
        args.extend(["--conversations".into(), conversations.to_string()]);
        if let Some(r) = rate_limit {
            args.extend(["--rate-limit".to_string(), r.to_string()]);
        }
        let mut child = std::process::Command::new(exe)
            .args(&args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .map_err(AppError::io("starting the simulator process"))?;
        let stdout = child.stdout.take().expect("piped");
        let mut line = String::new();
        let read = std::io::BufReader::new(stdout).read_line(&mut line);
        let base_url = match (read, line.trim().strip_prefix("listening on ")) {
            (Ok(_), Some(url)) => url.to_string(),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(AppError::Refused(format!("the simulator did not start; it said: {line}")));
            }
        };
        // The first simulated vendor is the one the bench measures.
        let measured =
            crate::simulator::demo_pipelines(&base_url, &SimConfig::default(), rate_limit.unwrap_or(6_000_000))
                .swap_remove(0);
        let config =
            write_sim_config(dir, "desksync bench", &[measured]).and_then(|path| Ok(sources::load_config(&path)?));
        match config {
            Ok(config) => Ok(Bench { child, base_url, config, rate_limit }),
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                Err(e)
            }
        }
    }

    /// Run the measured pipeline once as phase `phase`.
    pub async fn phase(&self, phase: &str) -> Result<Figures, AppError> {
        reset_peak_rss();
        let p = &self.config.pipelines[0];
        let summary = run_pipeline(&self.config, p, CancellationToken::new()).await?;
        Ok(Figures::of(phase, &summary, self.rate_limit))
    }

    /// Add new messages to `n` conversations in the simulator (what the incremental run finds).
    pub async fn change(&self, n: usize) -> Result<(), AppError> {
        let refused = |e: reqwest::Error| AppError::Refused(format!("changing the simulator's data: {e}"));
        reqwest::Client::new()
            .post(format!("{}/_sim/mutate", self.base_url))
            .json(&serde_json::json!({ "new_messages": n }))
            .send()
            .await
            .map_err(refused)?
            .error_for_status()
            .map_err(refused)?;
        Ok(())
    }
}
