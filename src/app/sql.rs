//! `desksync sql`: one statement against the analysts' snapshot (or, with `live`, the
//! warehouse itself), on a read-only connection.

use arrow::record_batch::RecordBatch;

use super::AppError;
use crate::config::Config;
use crate::warehouse::Warehouse;

/// How many statements `sql` holds (quotes, dollar quotes and comments respected), so several
/// can be refused rather than some run and the rest ignored.
pub fn count_statements(sql: &str) -> usize {
    let b = sql.as_bytes();
    let (mut i, mut n, mut has_content) = (0, 0, false);
    while i < b.len() {
        match b[i] {
            b'\'' | b'"' => {
                let q = b[i];
                i += 1;
                while i < b.len() && b[i] != q {
                    i += 1;
                }
                has_content = true;
            }
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                    i += 1;
                }
                i += 1;
            }
            b'$' if b.get(i + 1) == Some(&b'$') => {
                i += 2;
                while i + 1 < b.len() && !(b[i] == b'$' && b[i + 1] == b'$') {
                    i += 1;
                }
                i += 1;
                has_content = true;
            }
            b';' => {
                if has_content {
                    n += 1;
                }
                has_content = false;
            }
            c if !c.is_ascii_whitespace() => has_content = true,
            _ => {}
        }
        i += 1;
    }
    n + usize::from(has_content)
}

/// Run one statement: against the published snapshot when there is one (analysts never wait
/// for a run), else — or with `live` — against the warehouse.
pub async fn query(config: &Config, sql: &str, live: bool) -> Result<Vec<RecordBatch>, AppError> {
    match count_statements(sql) {
        0 => {
            return Err(AppError::Refused(
                "the query is empty: give one SQL statement, e.g. desksync sql \"SELECT count(*) FROM tickets\"".into(),
            ));
        }
        1 => {}
        n => {
            return Err(AppError::Refused(format!(
                "the query holds {n} statements; sql runs one at a time (call it once per statement)"
            )));
        }
    }
    let path = match &config.publish_path {
        Some(p) if !live && p.exists() => p.clone(),
        _ => config.warehouse_path.clone(),
    };
    if !path.exists() {
        return Err(AppError::Refused(format!(
            "no warehouse at {} yet: run `desksync run` first (or `desksync demo`)",
            path.display()
        )));
    }
    Ok(Warehouse::from_settings(&path, &config.settings.warehouse).query(sql).await?)
}

#[cfg(test)]
mod tests {
    use super::count_statements;

    #[test]
    fn statements_are_counted_with_quotes_and_comments_respected() {
        assert_eq!(count_statements("SELECT 1"), 1);
        assert_eq!(count_statements("SELECT 1;"), 1);
        assert_eq!(count_statements("SELECT ';' AS x; -- a; comment"), 1);
        assert_eq!(count_statements("SELECT 1; SELECT 2"), 2);
        assert_eq!(count_statements("  ;  "), 0);
        assert_eq!(count_statements("/* ; */ SELECT $$a;b$$"), 1);
    }
}
