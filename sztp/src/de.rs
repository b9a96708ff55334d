//! The settings' reading of URIs and encoding names (serde): an error points at the
//! value itself, not at the list or table around it.

use serde::{Deserialize, Deserializer};

use crate::option::Encoding;
use crate::uri::BootstrapUri;

/// Reads a string into `T` with `parse`, failing inside the deserializer so the error
/// points at the value itself (not the list or table around it).
struct Parsed<T>(fn(&str) -> Result<T, String>, &'static str);

impl<T> serde::de::Visitor<'_> for Parsed<T> {
    type Value = T;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.1)
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<T, E> {
        (self.0)(text).map_err(E::custom)
    }
}

impl<'de> Deserialize<'de> for BootstrapUri {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(Parsed(
            |text| BootstrapUri::parse(text).map_err(|e| e.to_string()),
            "an https URI",
        ))
    }
}

impl<'de> Deserialize<'de> for Encoding {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(Parsed(
            |name| {
                Encoding::parse(name).ok_or_else(|| {
                    format!(
                        "got {name:?}, expected one of {}",
                        Encoding::NAMES.join(", ")
                    )
                })
            },
            "an encoding name",
        ))
    }
}
