//! Self-contained HTML for what people look at (`serve`'s status page at `/`, `desksync report`):
//! one page layout with inline CSS, HTML escaping, tables, and charts drawn as inline SVG on the
//! server, so pages load nothing from the internet (no CDN, no fonts, no script) and read the
//! same on a phone (the layout wraps; charts scale to the width).
//!
//! To add a chart kind: a function returning an `<svg class="chart">` with a `<title>`, drawn in
//! a `viewBox` so it scales, and a legend from [`legend`].

use std::fmt::Write as _;

/// Series colours (colour-blind friendly, distinct in grey scale too).
const PALETTE: &[&str] =
    &["#4269d0", "#efb118", "#ff725c", "#6cc5b0", "#3ca951", "#ff8ab7", "#a463f2", "#97bbf5", "#9c6b4e", "#9498a0"];

/// `s` escaped for HTML text and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A whole page: `title`, the body's HTML, and a self-refresh every `refresh_secs` when given.
pub fn page(title: &str, refresh_secs: Option<u32>, body: &str) -> String {
    let refresh = refresh_secs.map(|s| format!("<meta http-equiv=\"refresh\" content=\"{s}\">\n")).unwrap_or_default();
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n{refresh}\
         <link rel=\"icon\" href=\"data:,\">\n\
         <title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n",
        esc(title)
    )
}

const CSS: &str = "
:root { color-scheme: light; --fg: #1d2433; --muted: #5b6478; --line: #dde1ea; --bg: #f6f7fb; }
* { box-sizing: border-box; }
body { margin: 0; padding: 1rem; font: 15px/1.45 system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif;
       color: var(--fg); background: var(--bg); }
h1 { font-size: 1.4rem; margin: 0 0 .25rem; } h2 { font-size: 1.1rem; margin: 1.5rem 0 .5rem; }
h3 { font-size: 1rem; margin: 0 0 .5rem; }
.muted { color: var(--muted); } .small { font-size: .85rem; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(100%, 26rem), 1fr)); gap: 1rem; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 1rem; min-width: 0; }
.tiles { display: grid; grid-template-columns: repeat(auto-fill, minmax(9.5rem, 1fr)); gap: .6rem; }
.tile { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: .6rem .8rem; }
.tile b { display: block; font-size: 1.35rem; }
.badge { display: inline-block; padding: 0 .5rem; border-radius: 1rem; font-size: .8rem; font-weight: 600; }
.succeeded { background: #dcf5e3; color: #145c2c; } .failed, .suspended { background: #fde2e1; color: #8a1c17; }
.partial, .interrupted, .abandoned { background: #fff1cc; color: #6b4a00; } .running { background: #dde8ff; color: #1f3f8f; }
.idle { background: #eceef3; color: #444c5e; }
table { border-collapse: collapse; width: 100%; font-size: .88rem; }
th, td { text-align: left; padding: .25rem .4rem; border-bottom: 1px solid var(--line); vertical-align: top; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
.scroll { overflow-x: auto; }
svg.chart { width: 100%; height: auto; display: block; }
svg.chart text { font: 10px system-ui, sans-serif; fill: #5b6478; }
.legend { display: flex; flex-wrap: wrap; gap: .2rem .8rem; font-size: .8rem; margin: .3rem 0 0; padding: 0; list-style: none; }
.legend i { display: inline-block; width: .7rem; height: .7rem; border-radius: 2px; margin-right: .3rem; vertical-align: -1px; }
.error { color: #8a1c17; white-space: pre-wrap; overflow-wrap: anywhere; }
";

/// One named series of a chart.
#[derive(Debug, Clone)]
pub struct Series {
    pub name: String,
    pub values: Vec<f64>,
}

fn color(i: usize) -> &'static str {
    PALETTE[i % PALETTE.len()]
}

/// The legend of `series`.
pub fn legend(series: &[Series]) -> String {
    let mut out = String::from("<ul class=\"legend\">");
    for (i, s) in series.iter().enumerate() {
        let _ = write!(out, "<li><i style=\"background:{}\"></i>{}</li>", color(i), esc(&s.name));
    }
    out.push_str("</ul>");
    out
}

/// A round axis maximum at or above `max` whose quarters (the grid lines) print exactly with
/// `decimals` decimals: 1 would give a 0.25 line that reads "0.2", so 2 is chosen instead.
fn nice_max_with(max: f64, decimals: i32) -> f64 {
    if max <= 0.0 || !max.is_finite() {
        return 1.0;
    }
    let mut magnitude = 10f64.powf(max.log10().floor());
    loop {
        for step in [1.0, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0] {
            let c = step * magnitude;
            let quarter = c / 4.0 * 10f64.powi(decimals);
            if c >= max && (quarter - quarter.round()).abs() < 1e-9 {
                return c;
            }
        }
        magnitude *= 10.0;
    }
}

fn nice_max(max: f64) -> f64 {
    nice_max_with(max, 1)
}

/// An axis for durations in seconds: the maximum round in the unit the grid lines print in
/// (10 h, 20 h, 30 h, 40 h — not 6.9 h, 13.9 h…), and that unit's name and decimals.
fn duration_axis(max: f64) -> (f64, f64, &'static str, usize) {
    let (unit, name, decimals) = if max < 90.0 {
        (1.0, "s", 0)
    } else if max < 5400.0 {
        (60.0, "min", 0)
    } else if max < 172_800.0 {
        (3600.0, "h", 1)
    } else {
        (86400.0, "d", 1)
    };
    (nice_max_with(max / unit, decimals as i32) * unit, unit, name, decimals)
}

/// A compact number: 1234 → `1.2k`.
pub fn short(v: f64) -> String {
    let a = v.abs();
    if a >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if a >= 1e4 {
        format!("{:.0}k", v / 1e3)
    } else if a >= 1e3 {
        format!("{:.1}k", v / 1e3)
    } else if a.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// A duration in seconds as people read it: `45 s`, `12 min`, `3.5 h`, `2.1 d`.
pub fn human_seconds(s: f64) -> String {
    if !s.is_finite() {
        return "—".into();
    }
    if s < 10.0 {
        format!("{s:.1} s")
    } else if s < 90.0 {
        format!("{s:.0} s")
    } else if s < 5400.0 {
        format!("{:.0} min", s / 60.0)
    } else if s < 172_800.0 {
        format!("{:.1} h", s / 3600.0)
    } else {
        format!("{:.1} d", s / 86400.0)
    }
}

const W: f64 = 640.0;
const LEFT: f64 = 44.0;
const BOTTOM: f64 = 22.0;
const TOP: f64 = 8.0;

fn frame(out: &mut String, title: &str, h: f64, max: f64, fmt: &dyn Fn(f64) -> String) {
    let _ = write!(
        out,
        "<svg class=\"chart\" viewBox=\"0 0 {W} {h}\" role=\"img\" preserveAspectRatio=\"xMidYMid meet\"><title>{}</title>",
        esc(title)
    );
    for k in 0..=4 {
        let v = max * k as f64 / 4.0;
        let y = TOP + (h - TOP - BOTTOM) * (1.0 - k as f64 / 4.0);
        let _ = write!(
            out,
            "<line x1=\"{LEFT}\" x2=\"{W}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#e5e8ef\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            LEFT - 4.0,
            y + 3.0,
            esc(&fmt(v))
        );
    }
}

fn x_labels(out: &mut String, labels: &[String], h: f64, x_of: &dyn Fn(usize) -> f64) {
    let n = labels.len();
    let every = n.div_ceil(8).max(1);
    for (i, l) in labels.iter().enumerate() {
        if i % every == 0 || i + 1 == n && n <= 8 {
            // A label at either edge is anchored inside the chart, not cut in half by it.
            let x = x_of(i);
            let anchor = if x > W - 30.0 { "end" } else { "middle" };
            let _ = write!(out, "<text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"{anchor}\">{}</text>", h - 6.0, esc(l));
        }
    }
}

/// Stacked bars: one bar per label, one segment per series. `fmt` formats the axis.
pub fn stacked_bars(title: &str, labels: &[String], series: &[Series], fmt: &dyn Fn(f64) -> String) -> String {
    let h = 200.0;
    let totals: Vec<f64> = (0..labels.len())
        .map(|i| series.iter().map(|s| s.values.get(i).copied().unwrap_or(0.0).max(0.0)).sum())
        .collect();
    let max = nice_max(totals.iter().copied().fold(0.0, f64::max));
    let mut out = String::new();
    frame(&mut out, title, h, max, fmt);
    let n = labels.len().max(1) as f64;
    let slot = (W - LEFT) / n;
    let bar = (slot * 0.8).max(1.0);
    let scale = (h - TOP - BOTTOM) / max;
    for (i, label) in labels.iter().enumerate() {
        let mut y = h - BOTTOM;
        for (k, s) in series.iter().enumerate() {
            let v = s.values.get(i).copied().unwrap_or(0.0).max(0.0);
            if v <= 0.0 {
                continue;
            }
            let bh = v * scale;
            y -= bh;
            let _ = write!(
                out,
                "<rect x=\"{:.1}\" y=\"{y:.1}\" width=\"{bar:.1}\" height=\"{bh:.1}\" fill=\"{}\"><title>{} {}: {}</title></rect>",
                LEFT + slot * i as f64 + (slot - bar) / 2.0,
                color(k),
                esc(label),
                esc(&s.name),
                esc(&short(v))
            );
        }
    }
    x_labels(&mut out, labels, h, &|i| LEFT + slot * (i as f64 + 0.5));
    out.push_str("</svg>");
    out.push_str(&legend(series));
    out
}

/// Lines over labels, one per series (a `NaN` value is a gap).
pub fn lines(title: &str, labels: &[String], series: &[Series], fmt: &dyn Fn(f64) -> String) -> String {
    lines_on(title, labels, series, fmt, nice_max(finite_max(series)))
}

/// [`lines`] of durations in seconds, the axis in round minutes, hours or days.
pub fn duration_lines(title: &str, labels: &[String], series: &[Series]) -> String {
    let (max, unit, name, decimals) = duration_axis(finite_max(series));
    let fmt = move |v: f64| if v == 0.0 { "0".to_string() } else { format!("{:.*} {name}", decimals, v / unit) };
    lines_on(title, labels, series, &fmt, max)
}

fn finite_max(series: &[Series]) -> f64 {
    series.iter().flat_map(|s| s.values.iter().copied()).filter(|v| v.is_finite()).fold(0.0, f64::max)
}

/// Lines on an axis from 0 to `max` (already round).
fn lines_on(title: &str, labels: &[String], series: &[Series], fmt: &dyn Fn(f64) -> String, max: f64) -> String {
    let h = 200.0;
    let mut out = String::new();
    frame(&mut out, title, h, max, fmt);
    let n = labels.len();
    let x_of =
        |i: usize| if n <= 1 { (LEFT + W) / 2.0 } else { LEFT + 4.0 + (W - LEFT - 8.0) * i as f64 / (n - 1) as f64 };
    let y_of = |v: f64| TOP + (h - TOP - BOTTOM) * (1.0 - v / max);
    for (k, s) in series.iter().enumerate() {
        let mut d = String::new();
        let mut pen_up = true;
        for (i, v) in s.values.iter().enumerate() {
            if !v.is_finite() {
                pen_up = true;
                continue;
            }
            let _ = write!(d, "{}{:.1},{:.1} ", if pen_up { "M" } else { "L" }, x_of(i), y_of(*v));
            pen_up = false;
        }
        if !d.is_empty() {
            let _ = write!(
                out,
                "<path d=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\" stroke-linejoin=\"round\"><title>{}</title></path>",
                d.trim_end(),
                color(k),
                esc(&s.name)
            );
        }
        if s.values.iter().filter(|v| v.is_finite()).count() == 1
            && let Some((i, v)) = s.values.iter().enumerate().find(|(_, v)| v.is_finite())
        {
            let _ = write!(out, "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"{}\"/>", x_of(i), y_of(*v), color(k));
        }
    }
    x_labels(&mut out, labels, h, &x_of);
    out.push_str("</svg>");
    out.push_str(&legend(series));
    out
}

/// A table; cells are escaped, and columns listed in `numeric` are right-aligned.
pub fn table(headers: &[&str], rows: &[Vec<String>], numeric: &[usize]) -> String {
    let mut out = String::from("<div class=\"scroll\"><table><thead><tr>");
    for (i, h) in headers.iter().enumerate() {
        let _ = write!(out, "<th{}>{}</th>", if numeric.contains(&i) { " class=\"n\"" } else { "" }, esc(h));
    }
    out.push_str("</tr></thead><tbody>");
    for r in rows {
        out.push_str("<tr>");
        for (i, c) in r.iter().enumerate() {
            let _ = write!(out, "<td{}>{}</td>", if numeric.contains(&i) { " class=\"n\"" } else { "" }, esc(c));
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></div>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_charts_are_svg_with_a_shape_per_value() {
        assert_eq!(esc("<a href=\"x\">&'</a>"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;");
        let labels: Vec<String> = vec!["a".into(), "b<".into()];
        let s = vec![
            Series { name: "x".into(), values: vec![1.0, 2.0] },
            Series { name: "y".into(), values: vec![0.0, 3.0] },
        ];
        let bars = stacked_bars("t", &labels, &s, &short);
        assert_eq!(bars.matches("<rect").count(), 3, "{bars}");
        assert!(bars.contains("b&lt;") && !bars.contains("b<"));
        let l = lines("t", &labels, &s, &short);
        assert_eq!(l.matches("<path").count(), 2);
        assert_eq!(nice_max(7.0), 8.0);
        assert_eq!(human_seconds(7200.0), "2.0 h");
        // Grid lines (quarters of the maximum) print exactly.
        assert_eq!(nice_max(1.0), 2.0);
        assert_eq!(nice_max(25.0), 30.0);
        assert_eq!(nice_max(100.0), 100.0);
        assert_eq!(nice_max(0.3), 0.4);
        assert_eq!(duration_axis(27.8 * 3600.0).0, 30.0 * 3600.0);
        assert_eq!(duration_axis(50.0 * 60.0).0, 60.0 * 60.0);
        assert_eq!(duration_axis(2.9 * 86400.0).0, 4.0 * 86400.0);
        let chart = duration_lines("t", &labels, &[Series { name: "x".into(), values: vec![3600.0, 2.9 * 86400.0] }]);
        assert!(chart.contains(">1.0 d<") && chart.contains(">4.0 d<") && !chart.contains(" h<"), "{chart}");
    }
}
