//! Times in configuration files: a number of seconds (`3600`) or a duration with units
//! (`"1h"`, `"30m"`, `"7d"`, `"1h30m"`, `"90s"`, `"2w"`), wherever a time is configured.
//!
//! Fields use it through serde's `deserialize_with`, so the field keeps its plain type:
//!
//! ```
//! #[derive(serde::Deserialize)]
//! struct Times {
//!     #[serde(default, deserialize_with = "zerotouch_plugin::duration::opt_seconds")]
//!     lease_time: Option<toml::Spanned<u32>>,
//! }
//! let t: Times = toml::from_str("lease_time = \"1h30m\"").unwrap();
//! assert_eq!(*t.lease_time.unwrap().get_ref(), 5400);
//! ```

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserialize, Deserializer, Visitor};
use toml::Spanned;

/// What a time looks like, for error messages.
pub const EXPECTED: &str =
    "a number of seconds or a duration such as \"90s\", \"30m\", \"1h\", \"7d\" or \"1h30m\"";

/// Seconds in `text`: digits followed by a unit (`s`, `m`, `h`, `d`, `w`), one or more
/// such parts, or digits alone (seconds).
pub fn parse_seconds(text: &str) -> Option<u64> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    if let Ok(n) = text.parse::<u64>() {
        return Some(n);
    }
    let mut total: u64 = 0;
    let mut digits = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit: u64 = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return None,
        };
        let n: u64 = digits.parse().ok()?;
        digits.clear();
        total = total.checked_add(n.checked_mul(unit)?)?;
    }
    digits.is_empty().then_some(total)
}

/// A time in seconds that fits `T`, read from a number or a duration string.
pub struct Seconds<T>(pub T);

impl<'de, T: TryFrom<u64>> Deserialize<'de> for Seconds<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<T: TryFrom<u64>> V<T> {
            fn fit<E: de::Error>(n: u64) -> Result<Seconds<T>, E> {
                T::try_from(n)
                    .map(Seconds)
                    .map_err(|_| E::custom(format!("{n} seconds is more than this time can be")))
            }
        }
        impl<T: TryFrom<u64>> Visitor<'_> for V<T> {
            type Value = Seconds<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(EXPECTED)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                let n = u64::try_from(v)
                    .map_err(|_| E::custom(format!("{v} is negative: expected {EXPECTED}")))?;
                Self::fit(n)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Self::fit(v)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                let n = parse_seconds(v).ok_or_else(|| {
                    E::custom(format!("{v:?} is not a time: expected {EXPECTED}"))
                })?;
                Self::fit(n)
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// `deserialize_with` for `Option<Spanned<T>>` times (with `#[serde(default)]`).
pub fn opt_seconds<'de, D, T>(d: D) -> Result<Option<Spanned<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<u64>,
{
    let v: Option<Spanned<Seconds<T>>> = Option::deserialize(d)?;
    Ok(v.map(|s| {
        let span = s.span();
        Spanned::new(span, s.into_inner().0)
    }))
}

/// `deserialize_with` for `Option<T>` times (with `#[serde(default)]`).
pub fn opt_seconds_plain<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<u64>,
{
    Ok(Option::<Seconds<T>>::deserialize(d)?.map(|s| s.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_with_units_are_seconds() {
        for (text, secs) in [
            ("3600", 3600),
            ("90s", 90),
            ("30m", 1800),
            ("1h", 3600),
            ("7d", 604_800),
            ("2w", 1_209_600),
            ("1h30m", 5400),
            ("1d12h", 129_600),
            (" 5m ", 300),
        ] {
            assert_eq!(parse_seconds(text), Some(secs), "{text}");
        }
        for bad in ["", "h", "1x", "1h30", "-5", "1.5h", "99999999999999999999d"] {
            assert_eq!(parse_seconds(bad), None, "{bad}");
        }
    }

    #[derive(serde::Deserialize)]
    struct T {
        #[serde(default, deserialize_with = "opt_seconds")]
        t: Option<Spanned<u32>>,
    }

    #[test]
    fn numbers_and_strings_deserialize_and_bad_ones_say_what_a_time_is() {
        let t: T = toml::from_str("t = \"1h\"").unwrap();
        assert_eq!(*t.t.unwrap().get_ref(), 3600);
        let t: T = toml::from_str("t = 600").unwrap();
        assert_eq!(*t.t.unwrap().get_ref(), 600);
        let t: T = toml::from_str("").unwrap();
        assert!(t.t.is_none());
        let e = toml::from_str::<T>("t = \"soon\"")
            .err()
            .unwrap()
            .to_string();
        assert!(
            e.contains("\"soon\" is not a time: expected a number of seconds"),
            "{e}"
        );
        let e = toml::from_str::<T>("t = \"8000w\"")
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("4838400000 seconds is more than"), "{e}");
        let e = toml::from_str::<T>("t = -1").err().unwrap().to_string();
        assert!(e.contains("-1 is negative"), "{e}");
        let e = toml::from_str::<T>("t = true").err().unwrap().to_string();
        assert!(
            e.contains("expected a number of seconds or a duration"),
            "{e}"
        );
    }
}
