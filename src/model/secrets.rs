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

/// Parts of key names [`is_secret_key`] looks for (the prefilter of [`strip_text`]).
const MARKERS: [&str; 7] = ["pass", "secret", "token", "key", "salt", "auth", "cookie"];

/// `raw` JSON text without its credential fields: `None` when there was nothing to remove
/// (the common case, decided without parsing when no key could match) or it is not JSON.
pub fn strip_text(raw: &str, extra: &[String]) -> Option<String> {
    // Every row of every commit passes here, so it is decided in one pass where possible: a
    // credential marker can only matter inside an object key, i.e. in a string followed by
    // `":` (a marker in a message body — "reset my password" — is not parsed for).
    let lower = raw.to_ascii_lowercase();
    let in_key = |w: &str| {
        lower.match_indices(w).any(|(at, _)| {
            let rest = &lower.as_bytes()[at + w.len()..];
            // The end of the string the marker is in (an escape: parse to be sure).
            match rest.iter().position(|&b| b == b'"' || b == b'\\') {
                Some(i) if rest[i] == b'"' => rest[i + 1..].iter().find(|b| !b.is_ascii_whitespace()) == Some(&b':'),
                Some(_) => true,
                None => false,
            }
        })
    };
    let maybe = MARKERS.iter().any(|w| in_key(w)) || extra.iter().any(|e| in_key(&e.to_ascii_lowercase()));
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
        // A marker in a value is no reason to strip anything; one in a key (also spaced) is.
        assert_eq!(strip_text(r#"{"id":"1","body":"reset my password: \"token\" here"}"#, &[]), None);
        assert!(strip_text(r#"{"id":"1", "Password" : "x"}"#, &[]).is_some());
        let extra = vec!["ticketkey".to_string()];
        assert!(strip_text(r#"{"ticketkey":"abc","id":1}"#, &extra).unwrap().contains("\"id\":1"));
        assert!(!is_secret_key("content_hash", &[]) && !is_secret_key("ticketkey", &[]));
    }
}
