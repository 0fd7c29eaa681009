//! `desksync report`: a static, self-contained HTML report of the help-desk questions, read from
//! the analysts' snapshot (or the warehouse when none is published): ticket volume per day by
//! source and channel, first-response and resolution percentiles, SLA met, backlog, reopen rate,
//! messages per ticket, agent workload and ratings. Every figure comes from the question views
//! of `schema/009_questions.sql` (and `ticket_facts`), so the report says what a SQL user sees.
//! Charts are inline SVG ([`super::html`]); nothing is loaded from the internet.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use arrow::util::display::{ArrayFormatter, FormatOptions};
use chrono::NaiveDate;

use super::AppError;
use super::html::{self, Series, esc, human_seconds, short};
use crate::config::Config;

/// What the report covers.
#[derive(Debug, Clone)]
pub struct ReportOptions {
    /// First UTC day (inclusive).
    pub from: NaiveDate,
    /// Day after the last one.
    pub to: NaiveDate,
    /// Only this source (`liveagent`, `livezilla`, `liveforce`).
    pub source: Option<String>,
}

/// A query's rows as text (NULL as "").
async fn rows(config: &Config, sql: &str) -> Result<Vec<Vec<String>>, AppError> {
    let batches = super::sql::query(config, sql, false).await?;
    let options = FormatOptions::default().with_null("");
    let mut out = Vec::new();
    for b in &batches {
        let formatters: Vec<ArrayFormatter> = b
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
            .collect::<Result<_, _>>()
            .map_err(|e| AppError::Refused(format!("formatting the report's data: {e}")))?;
        for i in 0..b.num_rows() {
            out.push(formatters.iter().map(|f| f.value(i).to_string()).collect());
        }
    }
    Ok(out)
}

fn num(s: &str) -> f64 {
    s.parse().unwrap_or(f64::NAN)
}

/// Rows of (label, series, value) as chart labels (in `labels` order) and one series per name.
fn pivot(data: &[Vec<String>], labels: &[String]) -> Vec<Series> {
    let index: BTreeMap<&str, usize> = labels.iter().enumerate().map(|(i, l)| (l.as_str(), i)).collect();
    let mut by: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for r in data {
        let Some(&i) = index.get(r[0].as_str()) else { continue };
        by.entry(r[1].clone()).or_insert_with(|| vec![f64::NAN; labels.len()])[i] = num(&r[2]);
    }
    by.into_iter().map(|(name, values)| Series { name, values }).collect()
}

fn zero_gaps(mut series: Vec<Series>) -> Vec<Series> {
    for s in &mut series {
        for v in &mut s.values {
            if !v.is_finite() {
                *v = 0.0;
            }
        }
    }
    series
}

/// Build the report's HTML.
pub async fn render(config: &Config, options: &ReportOptions) -> Result<String, AppError> {
    let (from, to) = (options.from, options.to);
    if from >= to {
        return Err(AppError::Refused(format!("--from {from} must be before --to {to}")));
    }
    let source = options.source.as_deref().map(|s| s.replace('\'', "''"));
    let src = |col: &str| source.as_ref().map(|s| format!(" AND {col} = '{s}'")).unwrap_or_default();
    let in_range = |day: &str, col: &str| format!("{day} >= DATE '{from}' AND {day} < DATE '{to}'{}", src(col));
    let weekly = (to - from).num_days() > 120;
    let bucket = |day: &str| {
        if weekly {
            format!("strftime(date_trunc('week', {day}), '%Y-%m-%d')")
        } else {
            format!("strftime({day}, '%Y-%m-%d')")
        }
    };
    let labels: Vec<String> = {
        let mut v = Vec::new();
        let mut d = from;
        while d < to {
            if !weekly {
                v.push(d.format("%Y-%m-%d").to_string());
            } else if d.format("%u").to_string() == "1" || v.is_empty() {
                // Weeks start on Monday, as date_trunc('week') does.
                let monday = d - chrono::Duration::days(d.format("%u").to_string().parse::<i64>().unwrap_or(1) - 1);
                v.push(monday.format("%Y-%m-%d").to_string());
            }
            d += chrono::Duration::days(1);
        }
        v
    };
    let who = "source || '/' || account";

    // Headline figures over the range.
    let kpi = rows(
        config,
        &format!(
            "SELECT count(*), quantile_cont(first_response_seconds, 0.5), quantile_cont(resolution_seconds, 0.5),
                    round(100.0 * count(*) FILTER (WHERE sla_met) / nullif(count(sla_due_at), 0), 1),
                    round(100.0 * count(*) FILTER (WHERE reopen_count > 0) / nullif(count(*), 0), 1)
             FROM ticket_facts WHERE {}",
            in_range("created_day", "source")
        ),
    )
    .await?;
    let k = kpi.first().cloned().unwrap_or_else(|| vec![String::new(); 5]);
    let backlog_now = rows(
        config,
        &format!(
            "SELECT coalesce(sum(open_at_end), 0) FROM backlog_daily b
             WHERE day = (SELECT max(day) FROM backlog_daily WHERE {}){}",
            in_range("day", "source"),
            src("b.source")
        ),
    )
    .await?;
    let per_ticket = rows(
        config,
        &format!(
            "SELECT round(sum(messages) / nullif(sum(tickets), 0), 2) FROM messages_per_ticket_daily WHERE {}",
            in_range("day", "source")
        ),
    )
    .await?;
    let tile = |label: &str, value: String| {
        format!("<div class=\"tile\"><span class=\"small muted\">{}</span><b>{}</b></div>", esc(label), esc(&value))
    };
    let or_dash = |s: &str, f: &dyn Fn(f64) -> String| if s.is_empty() { "—".to_string() } else { f(num(s)) };
    let mut body = String::new();
    let _ = write!(
        body,
        "<header><h1>Help desk report</h1><p class=\"muted small\">{from} to {} (UTC days){} · from {} · generated {} UTC by desksync</p></header>",
        to.pred_opt().unwrap_or(to),
        options.source.as_ref().map(|s| format!(" · source {}", esc(s))).unwrap_or_default(),
        esc(&snapshot_name(config)),
        chrono::Utc::now().format("%Y-%m-%d %H:%M")
    );
    body.push_str("<section class=\"tiles\" id=\"kpis\">");
    body.push_str(&tile("tickets created", or_dash(&k[0], &short)));
    body.push_str(&tile("median first response", or_dash(&k[1], &human_seconds)));
    body.push_str(&tile("median resolution", or_dash(&k[2], &human_seconds)));
    body.push_str(&tile("SLA met", or_dash(&k[3], &|v| format!("{v:.1}%"))));
    body.push_str(&tile(
        "backlog at the end",
        or_dash(backlog_now.first().map(|r| r[0].as_str()).unwrap_or(""), &short),
    ));
    body.push_str(&tile("reopened", or_dash(&k[4], &|v| format!("{v:.1}%"))));
    body.push_str(&tile(
        "messages per ticket",
        or_dash(per_ticket.first().map(|r| r[0].as_str()).unwrap_or(""), &|v| format!("{v:.2}")),
    ));
    body.push_str("</section><section class=\"grid\">");

    // 1. Volume per day by source and channel.
    let volume = rows(
        config,
        &format!(
            "SELECT {} AS b, {who} || ' ' || coalesce(channel, '?'), sum(tickets) FROM volume_daily WHERE {} GROUP BY ALL ORDER BY ALL",
            bucket("day"),
            in_range("day", "source")
        ),
    )
    .await?;
    card(
        &mut body,
        "Ticket volume by source and channel",
        &html::stacked_bars("tickets created", &labels, &zero_gaps(pivot(&volume, &labels)), &short),
        if weekly { "per week" } else { "per day" },
    );

    // 2. First response and resolution over time.
    let first = rows(
        config,
        &format!(
            "SELECT {} AS b, {who}, quantile_cont(first_response_seconds, 0.5) FROM ticket_facts
             WHERE first_response_seconds IS NOT NULL AND {} GROUP BY ALL ORDER BY ALL",
            bucket("created_day"),
            in_range("created_day", "source")
        ),
    )
    .await?;
    card(
        &mut body,
        "Median first response",
        &html::duration_lines("median first response", &labels, &pivot(&first, &labels)),
        "by day of creation",
    );
    let resolution = rows(
        config,
        &format!(
            "SELECT {} AS b, {who}, quantile_cont(resolution_seconds, 0.5) FROM ticket_facts
             WHERE resolved_at IS NOT NULL AND {} GROUP BY ALL ORDER BY ALL",
            bucket("make_timestamp(epoch_us(resolved_at))::DATE"),
            in_range("make_timestamp(epoch_us(resolved_at))::DATE", "source")
        ),
    )
    .await?;
    card(
        &mut body,
        "Median resolution time",
        &html::duration_lines("median resolution time", &labels, &pivot(&resolution, &labels)),
        "by day of resolution",
    );

    // 3. Percentiles per month.
    let pct = rows(
        config,
        &format!(
            "SELECT month, {who}, responded, p50_seconds, p75_seconds, p90_seconds, p95_seconds FROM response_percentiles_monthly
             WHERE month >= '{}' AND month < '{}'{} ORDER BY ALL",
            from.format("%Y-%m"),
            (to + chrono::Duration::days(31)).format("%Y-%m"),
            src("source")
        ),
    )
    .await?;
    // (month, account, count, p50, p75, p90, p95) rows as a table, durations readable.
    let percentiles = |rows: &[Vec<String>], count: &str| {
        let cells: Vec<Vec<String>> = rows
            .iter()
            .map(|r| {
                let mut v = r[..3].to_vec();
                v.extend(r[3..].iter().map(|x| human_seconds(num(x))));
                v
            })
            .collect();
        html::table(&["month", "account", count, "p50", "p75", "p90", "p95"], &cells, &[2, 3, 4, 5, 6])
    };
    card(&mut body, "First-response percentiles", &percentiles(&pct, "responded"), "by month of creation");
    let resolved_day = "make_timestamp(epoch_us(resolved_at))::DATE";
    let res_pct = rows(
        config,
        &format!(
            "SELECT strftime({resolved_day}, '%Y-%m') AS month, {who}, count(*),
                    quantile_cont(resolution_seconds, 0.5), quantile_cont(resolution_seconds, 0.75),
                    quantile_cont(resolution_seconds, 0.9), quantile_cont(resolution_seconds, 0.95)
             FROM ticket_facts WHERE resolved_at IS NOT NULL AND {} GROUP BY ALL ORDER BY ALL",
            in_range(resolved_day, "source")
        ),
    )
    .await?;
    card(
        &mut body,
        "Resolution-time percentiles",
        &percentiles(&res_pct, "resolved"),
        "by month of resolution, creation to resolution",
    );

    // 4. SLA met and backlog.
    let sla = rows(
        config,
        &format!(
            "SELECT {} AS b, {who}, round(100.0 * sum(met) / nullif(sum(with_sla), 0), 1) FROM sla_daily
             WHERE with_sla > 0 AND {} GROUP BY ALL ORDER BY ALL",
            bucket("day"),
            in_range("day", "source")
        ),
    )
    .await?;
    card(
        &mut body,
        "SLA met",
        &html::lines("share of tickets with a due time answered by it", &labels, &pivot(&sla, &labels), &|v| {
            format!("{v:.0}%")
        }),
        "percent of tickets with a due time",
    );
    let backlog = rows(
        config,
        &format!(
            "SELECT {} AS b, {who}, {} FROM backlog_daily WHERE {} GROUP BY ALL ORDER BY ALL",
            bucket("day"),
            if weekly { "arg_max(open_at_end, day)" } else { "sum(open_at_end)" },
            in_range("day", "source")
        ),
    )
    .await?;
    card(
        &mut body,
        "Backlog",
        &html::lines("tickets open at the end of the day", &labels, &pivot(&backlog, &labels), &short),
        "open at the end of each day",
    );

    // 5. Reopen rate and messages per ticket per account.
    let quality = rows(
        config,
        &format!(
            "SELECT r.{who}, sum(r.tickets), round(100.0 * sum(r.reopened) / nullif(sum(r.tickets), 0), 1),
                    (SELECT round(sum(m.messages) / nullif(sum(m.tickets), 0), 2) FROM messages_per_ticket_daily m
                     WHERE m.source = r.source AND m.account = r.account AND {})
             FROM reopen_daily r WHERE {} GROUP BY ALL ORDER BY ALL",
            in_range("m.day", "m.source"),
            in_range("r.day", "r.source")
        )
        .replace("r.source || '/' || account", "r.source || '/' || r.account"),
    )
    .await?;
    card(
        &mut body,
        "Reopen rate and messages per ticket",
        &html::table(&["account", "tickets", "reopened %", "messages per ticket"], &quality, &[1, 2, 3]),
        "",
    );

    // 6. Agent workload and ratings.
    let workload = rows(
        config,
        &format!(
            "SELECT coalesce(nullif(agent_name, ''), agent_id), {who}, sum(messages_sent), sum(tickets_touched), sum(internal_notes)
             FROM agent_workload WHERE {} GROUP BY ALL ORDER BY 3 DESC, 1 LIMIT 15",
            in_range("day", "source")
        ),
    )
    .await?;
    let w_labels: Vec<String> = workload.iter().map(|r| r[0].clone()).collect();
    let w_series = vec![Series { name: "messages sent".into(), values: workload.iter().map(|r| num(&r[2])).collect() }];
    let mut w_html = html::stacked_bars("messages sent by the busiest agents", &w_labels, &w_series, &short);
    w_html.push_str(&html::table(&["agent", "account", "messages", "tickets", "notes"], &workload, &[2, 3, 4]));
    card(&mut body, "Agent workload", &w_html, "the 15 busiest agents");
    let ratings = rows(
        config,
        &format!(
            "SELECT coalesce(agent, agent_contact_id), {who}, positive, negative, positive_pct FROM agent_ratings WHERE true{} ORDER BY positive + negative DESC LIMIT 15",
            src("source")
        ),
    )
    .await?;
    let ratings_html = if ratings.is_empty() {
        "<p class=\"muted small\">No ratings: only sources whose API reports customer ratings fill agent_ratings.</p>"
            .to_string()
    } else {
        html::table(&["agent", "account", "positive", "negative", "positive %"], &ratings, &[2, 3, 4])
    };
    card(&mut body, "Ratings", &ratings_html, "customer ratings of agents (all time)");
    body.push_str("</section><p class=\"small muted\">Definitions: docs/tables.md, the views first_response_daily, resolution_daily, backlog_daily, sla_daily, volume_daily, agent_workload, agent_ratings, reopen_daily, messages_per_ticket_daily, response_percentiles_monthly.</p>");
    Ok(html::page("desksync report", None, &body))
}

fn card(body: &mut String, title: &str, inner: &str, note: &str) {
    let _ = write!(
        body,
        "<article class=\"card\"><h3>{}</h3>{}{}</article>",
        esc(title),
        if note.is_empty() { String::new() } else { format!("<p class=\"small muted\">{}</p>", esc(note)) },
        inner
    );
}

fn snapshot_name(config: &Config) -> String {
    match &config.publish_path {
        Some(p) if p.exists() => p.display().to_string(),
        _ => config.warehouse_path.display().to_string(),
    }
}
