//! Credentials never stored: the fields of a vendor record that hold a password, a password
//! hash, a token, an API key or a secret are removed from the `raw` copy every table keeps
//! (and from quarantined records) before anything is written, so they reach neither the
//! warehouse, the lake nor the analysts' snapshot. No table declares such a column, so they
//! never become one.
//!
//! A key is a credential when, lower-cased with `_` and `-` removed, it contains `password`,
//! `passwd`, `secret`, `token` or `apikey`, or it is `newpasskey`, `salt`, `authorization`,
//! `cookie` or `ppass` (LiveZilla's login field); `[sync] secret_fields` adds exact names.

use serde_json::Value;

/// Whether `key` names a credential (see the module docs); `extra` are exact names.
pub fn is_secret_key(key: &str, extra: &[String]) -> bool {
    let k: String = key.chars().filter(|c| *c != '_' && *c != '-').flat_map(char::to_lowercase).collect();
    ["password", "passwd", "secret", "token", "apikey"].iter().any(|w| k.contains(w))
        || ["newpasskey", "salt", "authorization", "cookie", "ppass"].contains(&k.as_str())
        || extra.iter().any(|e| e.eq_ignore_ascii_case(key))
}

/// Remove every credential field from `v`, at any depth. Whether anything was removed.
pub fn strip(v: &mut Value, extra: &[String]) -> bool {
    match v {
        Value::Object(m) => {
            let before = m.len();
            m.retain(|k, _| !is_secret_key(k, extra));
            let mut removed = m.len() != before;
            for x in m.values_mut() {
                removed |= strip(x, extra);
            }
            removed
        }
        Value::Array(a) => a.iter_mut().fold(false, |r, x| strip(x, extra) | r),
        _ => false,
    }
}

/// `raw` JSON text without its credential fields: `None` when there was nothing to remove
/// (the common case, decided without parsing when no key could match) or it is not JSON.
pub fn strip_text(raw: &str, extra: &[String]) -> Option<String> {
    // Every row of every commit passes here: look for a marker without allocating.
    let contains = |w: &[u8]| raw.as_bytes().windows(w.len()).any(|x| x.eq_ignore_ascii_case(w));
    let maybe = ["pass", "secret", "token", "key", "salt", "auth", "cookie"].iter().any(|w| contains(w.as_bytes()))
        || extra.iter().any(|e| contains(e.as_bytes()));
    if !maybe {
        return None;
    }
    let mut v: Value = serde_json::from_str(raw).ok()?;
    strip(&mut v, extra).then(|| v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_fields_are_removed_at_any_depth_and_others_kept() {
        let raw = r#"{"ticketid":"7","password":"$2y$08$abc","new_pass_key":null,"contact":{"api_key":"k","Access-Token":"t","name":"Ann"},"list":[{"client_secret":"s","id":1}],"subject":"Reset my password please"}"#;
        let out: Value = serde_json::from_str(&strip_text(raw, &[]).unwrap()).unwrap();
        assert_eq!(
            out,
            serde_json::json!({"ticketid":"7","contact":{"name":"Ann"},"list":[{"id":1}],"subject":"Reset my password please"})
        );
        assert_eq!(strip_text(r#"{"id":"1","subject":"hello"}"#, &[]), None);
        let extra = vec!["ticketkey".to_string()];
        assert!(strip_text(r#"{"ticketkey":"abc","id":1}"#, &extra).unwrap().contains("\"id\":1"));
        assert!(!is_secret_key("content_hash", &[]) && !is_secret_key("ticketkey", &[]));
    }
}
