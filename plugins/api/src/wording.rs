//! Configuration error messages in the words of the docs, not of Rust: serde's
//! `invalid type: string "1h", expected u32` becomes `expected a whole number from 0 to
//! 4294967295, found the string "1h"`, and an unknown key gets a "did you mean" from
//! the keys allowed where it stands. Used for the server's file, the relay's, and
//! every plugin's settings.

/// `message` (as serde and toml word it) in the docs' words; `key` is the dotted path
/// of the value it is about, which names some expectations more precisely.
pub fn plain_message(message: &str, key: &str) -> String {
    if let Some(rest) = message.strip_prefix("unknown field ") {
        return unknown("unknown field", rest);
    }
    if let Some(rest) = message.strip_prefix("unknown variant ") {
        return unknown("unknown value", rest);
    }
    if let Some(rest) = message.strip_prefix("invalid type: ")
        && let Some((found, expected)) = rest.split_once(", expected ")
    {
        return format!(
            "expected {}, found {}",
            expectation(expected, key),
            found_value(found)
        );
    }
    if let Some(rest) = message.strip_prefix("invalid value: ")
        && let Some((found, expected)) = rest.split_once(", expected ")
    {
        return format!(
            "{} is out of range: expected {}",
            found_value(found),
            expectation(expected, key)
        );
    }
    if let Some(rest) = message.strip_prefix("invalid length ")
        && let Some((n, expected)) = rest.split_once(", expected ")
    {
        return format!(
            "a list of {n} elements, expected {}",
            expectation(expected, key)
        );
    }
    message.to_string()
}

/// For serde's "unknown field `x`, expected …" at dotted `key`: the dotted key of the
/// allowed field `x` is a slip of. A "missing field" for that key is the same mistake,
/// not a second one.
pub fn meant_key(message: &str, key: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field ")?;
    let (name, allowed) = split_unknown(rest);
    let allowed = allowed.replace("` or `", "`, `");
    let near = did_you_mean(
        name.trim_matches('`'),
        allowed
            .trim_start_matches("one of ")
            .split(", ")
            .map(|s| s.trim_matches('`')),
    )?;
    Some(match key.rsplit_once('.') {
        Some((parent, _)) => format!("{parent}.{near}"),
        None => near.to_string(),
    })
}

/// serde's "`x`, expected one of …" as the name and the list of allowed ones.
fn split_unknown(rest: &str) -> (&str, &str) {
    match rest.split_once(", expected ") {
        Some((name, list)) => (name, list),
        None => match rest.split_once(", there are no fields") {
            Some((name, _)) => (name, ""),
            None => (rest, ""),
        },
    }
}

/// "unknown field `x`, expected one of `a`, `b`" with the nearest allowed name.
fn unknown(what: &str, rest: &str) -> String {
    let (name, allowed) = split_unknown(rest);
    let allowed = allowed.replace("` or `", "`, `");
    let allowed: Vec<&str> = allowed
        .trim_start_matches("one of ")
        .split(", ")
        .map(|s| s.trim_matches('`'))
        .filter(|s| !s.is_empty())
        .collect();
    let bare = name.trim_matches('`');
    let mut text = format!("{what} {name}");
    if let Some(near) = did_you_mean(bare, allowed.iter().copied()) {
        text.push_str(&format!("; did you mean `{near}`?"));
    } else if allowed.is_empty() {
        text.push_str(" (no keys are allowed here)");
    } else {
        text.push_str(&format!(" (allowed here: {})", allowed.join(", ")));
    }
    text
}

/// The candidate nearest to `name` when it is near enough to be a slip: a few letters
/// apart, or `-` for `_`.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let norm = |s: &str| s.to_ascii_lowercase().replace('-', "_");
    let wanted = norm(name);
    candidates
        .into_iter()
        .map(|c| (c, strsim::damerau_levenshtein(&wanted, &norm(c))))
        .filter(|&(c, d)| d <= (c.len().max(name.len()) / 3).max(1) + usize::from(c.len() > 8))
        .min_by_key(|&(_, d)| d)
        .map(|(c, _)| c)
}

/// serde's name of an expected type, in the docs' words.
fn expectation(expected: &str, key: &str) -> String {
    let last = key
        .rsplit('.')
        .next()
        .unwrap_or(key)
        .split('[')
        .next()
        .unwrap_or_default();
    if matches!(last, "interfaces") && !key.ends_with(']') {
        return "a list of interface names such as [\"eth0\"]".into();
    }
    match expected {
        "u8" => "a whole number from 0 to 255".into(),
        "u16" => "a whole number from 0 to 65535".into(),
        "u32" => "a whole number from 0 to 4294967295".into(),
        "u64" | "usize" | "u128" => "a whole number of 0 or more".into(),
        "i8" | "i16" | "i32" | "i64" | "isize" | "i128" => "a whole number".into(),
        "f32" | "f64" => "a number".into(),
        "a boolean" => "true or false".into(),
        "a sequence" => "a list".into(),
        "a map" | "a table" => "a table".into(),
        "a character" => "a single character".into(),
        e if e.starts_with("struct ") => "a table".into(),
        e if e.starts_with("enum ") => "one of the documented values".into(),
        e if e.starts_with("a sequence") => e.replacen("a sequence", "a list", 1),
        e => e.to_string(),
    }
}

/// serde's description of a value it did not expect, in the docs' words.
fn found_value(found: &str) -> String {
    let tick = |s: &str| s.trim_matches('`').to_string();
    if let Some(s) = found.strip_prefix("string ") {
        return format!("the string {s}");
    }
    if let Some(n) = found
        .strip_prefix("integer ")
        .or_else(|| found.strip_prefix("floating point "))
    {
        return format!("the number {}", tick(n));
    }
    if let Some(b) = found.strip_prefix("boolean ") {
        return tick(b);
    }
    match found {
        "sequence" => "a list".into(),
        "map" => "a table".into(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_words_become_the_docs_words() {
        assert_eq!(
            plain_message(
                r#"invalid type: string "1h", expected u32"#,
                "dhcp4.offer_hold"
            ),
            r#"expected a whole number from 0 to 4294967295, found the string "1h""#
        );
        assert_eq!(
            plain_message(
                "invalid type: string \"eth0\", expected a sequence",
                "dhcp4.interfaces"
            ),
            "expected a list of interface names such as [\"eth0\"], found the string \"eth0\""
        );
        assert_eq!(
            plain_message(
                "invalid type: integer `5`, expected a string",
                "dhcp4.interfaces[1]"
            ),
            "expected a string, found the number 5"
        );
        assert_eq!(
            plain_message("invalid value: integer `70000`, expected u16", "dhcp4.port"),
            "the number 70000 is out of range: expected a whole number from 0 to 65535"
        );
        assert_eq!(
            plain_message(
                "invalid type: boolean `true`, expected struct RawMatch",
                "k"
            ),
            "expected a table, found true"
        );
        for m in ["expected u32", "sequence", "struct", "IpList"] {
            assert!(
                !plain_message(r#"invalid type: sequence, expected struct RawLog"#, "log")
                    .contains(m)
            );
            assert!(!plain_message(r#"invalid type: string "x", expected u32"#, "a").contains(m));
        }
    }

    #[test]
    fn unknown_keys_get_the_nearest_allowed_name() {
        assert_eq!(
            plain_message(
                "unknown field `lease_tme`, expected one of `lease_time`, `interfaces`",
                "dhcp4.lease_tme"
            ),
            "unknown field `lease_tme`; did you mean `lease_time`?"
        );
        assert_eq!(
            plain_message("unknown field `lease-time`, expected `lease_time`", "x"),
            "unknown field `lease-time`; did you mean `lease_time`?"
        );
        assert_eq!(
            plain_message(
                "unknown field `zzz`, expected one of `lease_time`, `port`",
                "x"
            ),
            "unknown field `zzz` (allowed here: lease_time, port)"
        );
        assert_eq!(
            plain_message("unknown variant `ful`, expected `full` or `normal`", "x"),
            "unknown value `ful`; did you mean `full`?"
        );
        assert_eq!(
            did_you_mean("domain-name-server", ["domain-name-servers", "routers"]),
            Some("domain-name-servers")
        );
        assert_eq!(
            did_you_mean("router", ["routers", "domain-name"]),
            Some("routers")
        );
        assert_eq!(did_you_mean("ntp", ["routers", "domain-name"]), None);
    }
}
