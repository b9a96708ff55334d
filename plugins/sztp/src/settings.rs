//! The plugin's settings, in its `[[plugin]]` entry and in `plugin.sztp` scope tables:
//! every key optional, each resolved from the most specific scope that sets it.

use serde::Deserialize;
use toml::Spanned;
use zerotouch_plugin::{Settings, SettingsError};

use crate::codec::Encoding;
use crate::uri::BootstrapUri;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    uris: Option<Vec<Spanned<String>>>,
    always: Option<bool>,
    encoding: Option<Spanned<String>>,
}

/// Validated settings of one scope.
#[derive(Debug, Clone, Default)]
pub(crate) struct SztpSettings {
    pub uris: Option<Vec<BootstrapUri>>,
    pub always: Option<bool>,
    pub encoding: Option<Encoding>,
}

impl SztpSettings {
    pub(crate) fn read(settings: &Settings) -> Result<Self, SettingsError> {
        let raw: Raw = settings.parse()?;
        let uris = match raw.uris {
            None => None,
            Some(list) => {
                let mut uris = Vec::with_capacity(list.len());
                for (i, u) in list.iter().enumerate() {
                    let uri = BootstrapUri::parse(u.get_ref())
                        .map_err(|e| settings.error_at(u, format!("uris[{i}]"), e.to_string()))?;
                    uris.push(uri);
                }
                if uris.is_empty() {
                    return Err(settings.error(
                        "uris",
                        "is empty, expected at least one https://host[:port] URI",
                    ));
                }
                Some(uris)
            }
        };
        let encoding = match &raw.encoding {
            None => None,
            Some(e) => Some(Encoding::parse(e.get_ref()).ok_or_else(|| {
                settings.error_at(
                    e,
                    "encoding",
                    format!(
                        "got {:?}, expected one of {}",
                        e.get_ref(),
                        Encoding::NAMES.join(", ")
                    ),
                )
            })?),
        };
        if let (Some(e), Some(enc), Some(u)) = (&raw.encoding, encoding, &uris)
            && enc != Encoding::Rfc8572
            && u.len() > 1
        {
            return Err(settings.error_at(
                e,
                "encoding",
                format!(
                    "{:?} carries one URI, and this scope lists {}: give the text-reading devices their own class with one URI",
                    e.get_ref(),
                    u.len()
                ),
            ));
        }
        Ok(SztpSettings {
            uris,
            always: raw.always,
            encoding,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_checked_with_their_key() {
        let s = Settings::standalone(
            "uris = [\"https://a.example\", \"https://b.example/x\"]",
            "sztp",
        );
        let e = SztpSettings::read(&s).unwrap_err();
        assert_eq!(e.key, "uris[1]");
        assert!(e.message.contains("has a path"), "{e}");
        assert!(e.span.is_some());
    }

    #[test]
    fn text_encodings_take_one_uri() {
        let s = Settings::standalone(
            "uris = [\"https://a.example\", \"https://b.example\"]\nencoding = \"url-text\"",
            "sztp",
        );
        assert_eq!(SztpSettings::read(&s).unwrap_err().key, "encoding");
        let s = Settings::standalone("encoding = \"xml\"", "sztp");
        assert!(
            SztpSettings::read(&s)
                .unwrap_err()
                .message
                .contains("rfc8572, url-text, host-port")
        );
        let s = Settings::standalone("always = true", "sztp");
        assert_eq!(SztpSettings::read(&s).unwrap().always, Some(true));
    }
}
