//! The table and view reference (`docs/tables.md`), rendered from the DDL in `schema/*.sql`: a
//! table's description is the comment block above its `CREATE TABLE`, a column's the comment on
//! its line, and types and keys come from [`crate::model::Table`]. A test keeps the file equal to
//! what this renders (`DESKSYNC_BLESS=1 cargo test` rewrites it after a schema change).

use crate::model::Table;
use crate::warehouse::MIGRATIONS;

/// (name, description, [(column, note)]) of a `CREATE TABLE`.
type TableDoc = (String, String, Vec<(String, String)>);

struct Parsed {
    tables: Vec<TableDoc>,
    views: Vec<(String, String)>,
    added: Vec<(String, String, String)>,
}

fn parse() -> Parsed {
    let mut out = Parsed { tables: Vec::new(), views: Vec::new(), added: Vec::new() };
    for (_, _, sql) in MIGRATIONS {
        let mut comment: Vec<String> = Vec::new();
        let mut current: Option<TableDoc> = None;
        for line in sql.lines() {
            let t = line.trim();
            if let Some((name, desc, cols)) = current.as_mut() {
                if t.starts_with(')') {
                    out.tables.push((std::mem::take(name), std::mem::take(desc), std::mem::take(cols)));
                    current = None;
                } else if !t.starts_with("PRIMARY KEY") && !t.is_empty() && !t.starts_with("--") {
                    let col = t.split_whitespace().next().unwrap_or("").trim_matches('"').to_string();
                    let note = t.split_once("--").map(|(_, c)| c.trim().to_string()).unwrap_or_default();
                    cols.push((col, note));
                }
                continue;
            }
            if let Some(c) = t.strip_prefix("--") {
                comment.push(c.trim().to_string());
                continue;
            }
            if t.is_empty() {
                // A blank line ends a comment block that belongs to nothing (a file header).
                comment.clear();
                continue;
            }
            let desc = comment.join(" ").trim().to_string();
            if let Some(rest) = t.strip_prefix("CREATE TABLE IF NOT EXISTS ") {
                let name = rest.split_whitespace().next().unwrap_or("").to_string();
                current = Some((name, desc, Vec::new()));
            } else if let Some(rest) = t.strip_prefix("CREATE OR REPLACE VIEW ") {
                // A later migration that redefines a view replaces its description.
                let name = rest.split_whitespace().next().unwrap_or("").to_string();
                match out.views.iter_mut().find(|(n, _)| *n == name) {
                    Some(v) => v.1 = desc,
                    None => out.views.push((name, desc)),
                }
            } else if let Some(rest) = t.strip_prefix("ALTER TABLE ") {
                let words: Vec<&str> = rest.split_whitespace().collect();
                if let (Some(table), Some(col)) = (words.first(), words.get(6)) {
                    out.added.push((table.to_string(), col.to_string(), desc.clone()));
                }
            }
            comment.clear();
        }
    }
    out
}

/// The reference as Markdown.
pub fn markdown() -> String {
    let parsed = parse();
    let mut s = String::from(
        "# Table reference\n\nRendered from `schema/*.sql` and `src/model.rs` by `cargo test` (`DESKSYNC_BLESS=1` \
         rewrites it); do not edit by hand. Every table starts with `source` and `account`; times are \
         `TIMESTAMPTZ` in UTC; `raw` is the vendor's record as JSON text; `content_hash` decides whether a \
         re-read record changed; `synced_at` is when desksync last wrote the row.\n\n## Tables\n",
    );
    for table in Table::all() {
        let name = table.name();
        let (desc, notes) =
            parsed.tables.iter().find(|(n, ..)| n == name).map(|(_, d, c)| (d.clone(), c.clone())).unwrap_or_default();
        s.push_str(&format!("\n### `{name}`\n\n"));
        if !desc.is_empty() {
            s.push_str(&format!("{desc}\n\n"));
        }
        s.push_str(&format!(
            "Primary key: `{}`.\n\n| column | type | notes |\n| --- | --- | --- |\n",
            table.primary_key().join(", ")
        ));
        for (col, ty) in table.columns() {
            let note = notes
                .iter()
                .find(|(c, _)| c == col)
                .map(|(_, n)| n.clone())
                .filter(|n| !n.is_empty())
                .or_else(|| parsed.added.iter().find(|(t, c, _)| t == name && c == col).map(|(.., d)| d.clone()))
                .unwrap_or_default();
            s.push_str(&format!("| `{col}` | {} | {} |\n", ty.duckdb(), note.replace('|', "\\|")));
        }
    }
    s.push_str("\n## Views\n");
    for (name, desc) in &parsed.views {
        s.push_str(&format!("\n### `{name}`\n\n{desc}\n"));
    }
    s.push_str("\n## Bookkeeping tables\n\n");
    for (name, desc, _) in parsed.tables.iter().filter(|(n, ..)| n.starts_with("_desksync")) {
        s.push_str(&format!("* `{name}`: {desc}\n"));
    }
    s
}
