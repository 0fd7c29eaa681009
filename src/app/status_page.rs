//! `serve`'s HTML status page (`/`): every pipeline with its schedule, last run (status,
//! duration, rows, requests, error), next run, each stream's watermark lag, a chart of rows and
//! requests over its recent runs, the account's request pace against its limit, and suspended
//! pipelines. Rendered from what `serve` already holds in memory (refreshed after every run), so
//! a page costs no warehouse query; it refreshes itself every few seconds and loads nothing else.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use super::html::{self, Series, esc, human_seconds, short};
use super::serve::PipelineStatus;
use crate::config::PipelineConfig;
use crate::warehouse::RunRecord;

/// How often the page reloads itself, in seconds.
pub const REFRESH_SECS: u32 = 10;

/// What the page shows of one pipeline.
pub struct PipelineView<'a> {
    pub status: &'a PipelineStatus,
    pub config: Option<&'a PipelineConfig>,
    /// Its latest runs, newest first.
    pub history: &'a [RunRecord],
    /// Requests per minute observed over the last minute (None before there are two samples).
    pub observed_per_minute: Option<f64>,
}

/// A watermark's age, when it is a time.
fn lag(watermark: &str, now: DateTime<Utc>) -> Option<f64> {
    let t = DateTime::parse_from_rfc3339(watermark)
        .map(|t| t.with_timezone(&Utc))
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(watermark, "%Y-%m-%d %H:%M:%S").map(|t| t.and_utc()))
        .ok()?;
    Some((now - t).num_seconds().max(0) as f64)
}

fn badge(state: &str) -> String {
    format!("<span class=\"badge {}\">{}</span>", esc(state), esc(state))
}

/// The whole page.
pub fn render(pipelines: &[PipelineView<'_>], now: DateTime<Utc>) -> String {
    let mut body = String::new();
    let failing = pipelines
        .iter()
        .filter(|p| p.status.last_run.as_ref().is_some_and(|r| r.status != "succeeded" && r.status != "running"))
        .count();
    let suspended: Vec<&PipelineView> = pipelines.iter().filter(|p| p.status.suspended.is_some()).collect();
    let _ = write!(
        body,
        "<header><h1>desksync</h1><p class=\"muted small\">{} pipeline(s) · {} not succeeding · {} suspended · \
         as of {} UTC · refreshes every {REFRESH_SECS} s · <a href=\"/status\">JSON</a> · <a href=\"/metrics\">metrics</a></p></header>",
        pipelines.len(),
        failing,
        suspended.len(),
        now.format("%Y-%m-%d %H:%M:%S")
    );
    if !suspended.is_empty() {
        body.push_str("<section class=\"card\" id=\"suspended\"><h2>Suspended pipelines</h2><ul>");
        for p in &suspended {
            let _ = write!(
                body,
                "<li><b>{}</b>: <span class=\"error\">{}</span></li>",
                esc(&p.status.pipeline),
                esc(p.status.suspended.as_deref().unwrap_or(""))
            );
        }
        body.push_str("</ul><p class=\"small muted\">Fix the credentials and reload (SIGHUP) to resume.</p></section>");
    }
    body.push_str("<section class=\"grid\">");
    for p in pipelines {
        pipeline_card(&mut body, p, now);
    }
    body.push_str("</section>");
    html::page("desksync status", Some(REFRESH_SECS), &body)
}

fn pipeline_card(body: &mut String, p: &PipelineView<'_>, now: DateTime<Utc>) {
    let s = p.status;
    let state = if s.suspended.is_some() {
        "suspended"
    } else if s.running {
        "running"
    } else {
        "idle"
    };
    let _ = write!(
        body,
        "<article class=\"card pipeline\" data-pipeline=\"{}\"><h3>{} {}</h3>",
        esc(&s.pipeline),
        esc(&s.pipeline),
        badge(state)
    );
    if let Some(c) = p.config {
        let _ = write!(
            body,
            "<p class=\"small muted\">{} · account {} · {}</p>",
            esc(c.source),
            esc(&c.account),
            esc(c.base_url.as_str())
        );
    }
    let next = s
        .next_run
        .map(|t| format!("{} UTC (in {})", t.format("%H:%M:%S"), human_seconds((t - now).num_seconds().max(0) as f64)));
    let mut rows: Vec<Vec<String>> = vec![
        vec!["schedule".into(), s.schedule.clone().unwrap_or_else(|| "none (run only)".into())],
        vec!["next run".into(), next.unwrap_or_else(|| "—".into())],
    ];
    let last = p.history.first();
    match (&s.last_run, last) {
        (Some(r), rec) => {
            let duration = rec
                .and_then(|x| x.elapsed_ms)
                .map(|ms| human_seconds(ms as f64 / 1000.0))
                .unwrap_or_else(|| "—".into());
            rows.push(vec!["last run".into(), format!("{} · started {} · took {duration}", r.status, r.started_at)]);
            rows.push(vec![
                "rows · requests".into(),
                format!(
                    "{} · {}",
                    r.rows_written.map(|n| n.to_string()).unwrap_or_else(|| "—".into()),
                    rec.and_then(|x| x.requests).map(|n| n.to_string()).unwrap_or_else(|| "—".into())
                ),
            ]);
        }
        (None, _) => rows.push(vec!["last run".into(), "none yet".into()]),
    }
    if let Some(c) = p.config {
        let limit = c.http.rate_limit_per_minute;
        let pace = crate::telemetry::current_pace(&s.pipeline);
        let pace_text = match &pace {
            Some((rate, why)) if *rate != limit => format!("{rate}/min ({why})"),
            _ => format!("{limit}/min"),
        };
        let observed = p.observed_per_minute.map(|r| format!("{r:.0}/min")).unwrap_or_else(|| "—".into());
        rows.push(vec![
            "request pace".into(),
            format!("limit {limit}/min · pacing at {pace_text} · sent {observed} over the last minute"),
        ]);
    }
    body.push_str(&html::table(&["", ""], &rows, &[]).replace("<thead><tr><th></th><th></th></tr></thead>", ""));
    if let Some(err) = s.last_run.as_ref().and_then(|r| r.error.as_deref()) {
        let _ = write!(body, "<p class=\"error small\"><b>error:</b> {}</p>", esc(err));
    }
    // Rows and requests of recent runs, oldest on the left.
    let runs: Vec<&RunRecord> = p.history.iter().rev().collect();
    if !runs.is_empty() {
        let labels: Vec<String> =
            runs.iter().map(|r| r.started_at.get(11..19).unwrap_or(&r.started_at).to_string()).collect();
        let rows_s = Series {
            name: "rows written".into(),
            values: runs.iter().map(|r| r.rows_written.unwrap_or(0) as f64).collect(),
        };
        let reqs =
            Series { name: "requests".into(), values: runs.iter().map(|r| r.requests.unwrap_or(0) as f64).collect() };
        body.push_str(&html::lines(
            &format!("{}: rows and requests of the last {} runs", s.pipeline, runs.len()),
            &labels,
            &[rows_s, reqs],
            &short,
        ));
    }
    if !s.watermarks.is_empty() {
        let wm: Vec<Vec<String>> = s
            .watermarks
            .iter()
            .map(|(stream, w)| {
                let w = w.clone().unwrap_or_default();
                let l = lag(&w, now).map(human_seconds).unwrap_or_else(|| "—".into());
                vec![stream.clone(), if w.is_empty() { "—".into() } else { w }, l]
            })
            .collect();
        body.push_str("<details><summary class=\"small\">streams: watermark and lag</summary>");
        body.push_str(&html::table(&["stream", "watermark", "lag"], &wm, &[2]));
        body.push_str("</details>");
    }
    body.push_str("</article>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watermark_lag_reads_both_time_formats() {
        let now = DateTime::parse_from_rfc3339("2026-11-22T10:00:00Z").unwrap().with_timezone(&Utc);
        assert_eq!(lag("2026-11-22T09:00:00Z", now), Some(3600.0));
        assert_eq!(lag("2026-11-22 09:59:00", now), Some(60.0));
        assert_eq!(lag("offset 40", now), None);
    }
}
