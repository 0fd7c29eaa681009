//! `desksync bench`: a full run and an incremental run of the first registered vendor against
//! the simulator in a separate process (so its work is not counted as ours), with what each
//! phase measured: wall time, CPU time, rows, requests, peak resident memory, 429s, the share of
//! the rate limit used, and where the time went ([`crate::telemetry::work`]).
//!
//! The floor: the simulator records the requests of the full run, and the same HTTP stack
//! (reqwest, the pipeline's `max_in_flight`) fetches exactly those URLs again and discards the
//! bodies. The full run's ratio to that floor is how far from the wire desksync is.

use std::io::BufRead;
use std::path::Path;
use std::time::Duration;

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
    /// While fetching: the least and the most any counting window (`http.rate_limit_window`)
    /// lying wholly between the run's first and last request held, in percent of the limit —
    /// the quota used while there was something to fetch, the local work after the last
    /// request (the last commits, lake, publish) left out. `None` for a shorter run.
    pub window_fill_pct: Option<(f64, f64)>,
    pub succeeded: bool,
    /// CPU seconds this process spent in the phase (user + system).
    pub cpu_secs: Option<f64>,
    /// Summed time per kind of work in the phase.
    pub work: Vec<(crate::telemetry::work::Work, f64)>,
    /// Streams that made one request, with their wall time in ms (request included).
    pub one_request_streams: Vec<(String, u64)>,
    /// With a 429 burst: seconds from the burst until the pace over the trailing 10 s was back
    /// at 90% of the limit (`None`: it never was within the phase).
    pub recovered_after_secs: Option<f64>,
}

impl Figures {
    fn of(phase: &str, s: &RunSummary, rate_limit: Option<u32>, window: Duration) -> Figures {
        let secs = s.elapsed.as_secs_f64().max(1e-9);
        Figures {
            phase: phase.to_string(),
            wall_secs: secs,
            rows: s.rows_written,
            requests: s.requests,
            peak_rss_mib: peak_rss_mib(),
            throttled: s.streams.iter().map(|x| x.throttled).sum(),
            pct_of_limit: rate_limit.map(|r| 100.0 * (s.requests as f64 / secs * 60.0) / r as f64),
            window_fill_pct: rate_limit.zip(crate::telemetry::work::window_fill(window)).map(|(r, (lo, hi))| {
                let per_window = r as f64 * window.as_secs_f64() / 60.0;
                (100.0 * lo as f64 / per_window, 100.0 * hi as f64 / per_window)
            }),
            succeeded: s.status == RunStatus::Succeeded,
            cpu_secs: None,
            work: crate::telemetry::work::seconds(),
            one_request_streams: s
                .streams
                .iter()
                .filter(|x| x.requests == 1)
                .map(|x| (x.stream.clone(), x.elapsed_ms))
                .collect(),
            recovered_after_secs: None,
        }
    }
}

/// CPU seconds (user + system) this process has used, from `/proc/self/stat` (Linux).
fn cpu_secs() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/stat").ok()?;
    let rest = &s[s.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// Start measuring a phase: the peak-RSS mark, the work counters and the CPU clock.
fn begin() -> Option<f64> {
    reset_peak_rss();
    crate::telemetry::work::reset();
    crate::telemetry::work::record_request_times();
    cpu_secs()
}

fn since(cpu0: Option<f64>) -> Option<f64> {
    Some(cpu_secs()? - cpu0?)
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
    first_source: bool,
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
    pub fn start(
        dir: &Path,
        conversations: usize,
        rate_limit: Option<u32>,
        source: Option<&str>,
    ) -> Result<Bench, AppError> {
        let candidates = crate::simulator::demo_pipelines("http://127.0.0.1:1", &SimConfig::default(), 1);
        let sources: Vec<String> = candidates.iter().map(|p| p.name.trim_end_matches("-demo").to_string()).collect();
        let index = match source {
            None => 0,
            Some(s) => sources.iter().position(|x| x == s).ok_or_else(|| {
                AppError::Refused(format!(
                    "no simulated source {s:?}; the bench measures one of: {}",
                    sources.join(", ")
                ))
            })?,
        };
        claim_dir(dir, "desksync bench")?;
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir_all(dir).map_err(AppError::io(format!("creating {}", dir.display())))?;
        let exe = std::env::current_exe().map_err(AppError::io("finding this executable"))?;
        let mut args = vec!["simulate".to_string(), "--port".into(), "0".into(), "--while-stdin-open".into()];
        args.extend(["--conversations".into(), conversations.to_string()]);
        if let Some(r) = rate_limit {
            args.extend(["--rate-limit".to_string(), r.to_string()]);
        }
        let mut child = std::process::Command::new(exe)
            .args(&args)
            // The simulator stops when this pipe closes: when the bench ends, however it ends.
            .stdin(std::process::Stdio::piped())
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
        let measured =
            crate::simulator::demo_pipelines(&base_url, &SimConfig::default(), rate_limit.unwrap_or(6_000_000))
                .swap_remove(index);
        let config =
            write_sim_config(dir, "desksync bench", &[measured]).and_then(|path| Ok(sources::load_config(&path)?));
        match config {
            Ok(config) => Ok(Bench { child, base_url, config, rate_limit, first_source: index == 0 }),
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                Err(e)
            }
        }
    }

    /// Run the measured pipeline once as phase `phase`.
    pub async fn phase(&self, phase: &str) -> Result<Figures, AppError> {
        let cpu0 = begin();
        let p = &self.config.pipelines[0];
        let summary = run_pipeline(&self.config, p, CancellationToken::new()).await?;
        let mut f = Figures::of(phase, &summary, self.rate_limit, p.http.rate_limit_window);
        f.cpu_secs = since(cpu0);
        Ok(f)
    }

    /// The measured pipeline's source.
    pub fn source(&self) -> &str {
        self.config.pipelines[0].source
    }

    /// Whether the measured vendor is the first simulated one (the one the fetch floor, which
    /// replays GET requests, can measure).
    pub fn is_first_source(&self) -> bool {
        self.first_source
    }

    /// Requests the measured pipeline keeps in flight (and the floor with it).
    pub fn max_in_flight(&self) -> usize {
        self.config.pipelines[0].http.max_in_flight.max(1)
    }

    fn sim_url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// Have the simulator record the requests it serves from now on (for [`Bench::floor`]).
    pub async fn record(&self) -> Result<(), AppError> {
        let refused = |e: reqwest::Error| AppError::Refused(format!("asking the simulator to record: {e}"));
        reqwest::Client::new().post(self.sim_url("/_sim/log")).send().await.map_err(refused)?;
        Ok(())
    }

    /// The floor: fetch every request recorded since [`Bench::record`] again, with the same
    /// HTTP stack at the pipeline's concurrency, reading and discarding each body.
    pub async fn floor(&self, phase: &str) -> Result<Figures, AppError> {
        use futures::StreamExt;
        let refused = |e: reqwest::Error| AppError::Refused(format!("reading the simulator's log: {e}"));
        let uris: Vec<String> = reqwest::Client::new()
            .get(self.sim_url("/_sim/log"))
            .send()
            .await
            .map_err(refused)?
            .json()
            .await
            .map_err(refused)?;
        let p = &self.config.pipelines[0];
        let client = reqwest::Client::builder()
            .timeout(p.http.timeout)
            .build()
            .map_err(|e| AppError::Refused(format!("building the HTTP client: {e}")))?;
        let cpu0 = begin();
        let started = std::time::Instant::now();
        let failed = futures::stream::iter(uris.iter())
            .map(|u| {
                let req = client.get(self.sim_url(u));
                async move {
                    let _wire = crate::telemetry::work::start(crate::telemetry::work::Work::Http);
                    match req.send().await {
                        Ok(r) => r.bytes().await.is_err(),
                        Err(_) => true,
                    }
                }
            })
            .buffer_unordered(self.max_in_flight())
            .filter(|failed| std::future::ready(*failed))
            .count()
            .await;
        let wall = started.elapsed().as_secs_f64().max(1e-9);
        Ok(Figures {
            phase: phase.to_string(),
            wall_secs: wall,
            rows: 0,
            requests: uris.len() as u64,
            peak_rss_mib: peak_rss_mib(),
            throttled: 0,
            pct_of_limit: None,
            window_fill_pct: None,
            succeeded: failed == 0,
            cpu_secs: since(cpu0),
            work: crate::telemetry::work::seconds(),
            one_request_streams: Vec::new(),
            recovered_after_secs: None,
        })
    }

    /// Run the measured pipeline once as phase `phase`, and `after` into it make the simulator
    /// answer the next `n` requests with 429 (`Retry-After: 1`): an unexpected burst. The
    /// figures say how soon the pace was back at 90% of the limit.
    pub async fn phase_with_burst(&self, phase: &str, after: Duration, n: u32) -> Result<Figures, AppError> {
        let cpu0 = begin();
        let p = &self.config.pipelines[0];
        let progress = std::sync::Arc::new(crate::app::run::RunProgress::default());
        let done = CancellationToken::new();
        let sampler = {
            let (progress, done, base) = (progress.clone(), done.clone(), self.base_url.clone());
            tokio::spawn(async move {
                let started = std::time::Instant::now();
                let mut samples: Vec<(f64, u64)> = Vec::new();
                let mut burst_at = None;
                while !done.is_cancelled() {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    let t = started.elapsed().as_secs_f64();
                    samples.push((t, progress.requests()));
                    if burst_at.is_none() && started.elapsed() >= after {
                        let rules = serde_json::json!([{ "fault": { "kind": "too_many_requests", "retry_after_secs": 1 }, "times": n }]);
                        let _ = reqwest::Client::new().post(format!("{base}/_sim/faults")).json(&rules).send().await;
                        burst_at = Some(t);
                    }
                }
                (samples, burst_at)
            })
        };
        let summary =
            crate::app::run::run_pipeline_observed(&self.config, p, CancellationToken::new(), Some(progress)).await;
        done.cancel();
        let (samples, burst_at) = sampler.await.unwrap_or_default();
        let mut figures = Figures::of(phase, &summary?, self.rate_limit, p.http.rate_limit_window);
        figures.cpu_secs = since(cpu0);
        if let (Some(limit), Some(b)) = (self.rate_limit, burst_at) {
            let per_sec = limit as f64 / 60.0;
            // The first moment after the burst whose trailing 10 s ran at 90% of the limit.
            figures.recovered_after_secs = samples.iter().find_map(|&(t, n)| {
                let (t0, n0) = samples.iter().rev().find(|(u, _)| *u <= t - 10.0).copied()?;
                (t0 >= b && (n - n0) as f64 / (t - t0) >= 0.9 * per_sec).then_some(t - b)
            });
        }
        Ok(figures)
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
