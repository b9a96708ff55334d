//! The plugin's settings, in its `[[plugin]]` entry and in `plugin.sztp` scope tables:
//! every key optional, each resolved from the most specific scope that sets it.

use serde::Deserialize;
use zerotouch_plugin::{Settings, SettingsError};

use crate::codec::Encoding;
use crate::uri::BootstrapUri;

/// The settings of one scope (or of the `[[plugin]]` entry itself), each value checked
/// as it is read.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SztpSettings {
    pub(crate) uris: Option<Vec<BootstrapUri>>,
    pub(crate) always: Option<bool>,
    pub(crate) encoding: Option<Encoding>,
}

impl SztpSettings {
    /// Reads and checks `settings`.
    pub(crate) fn read(settings: &Settings) -> Result<Self, SettingsError> {
        let s: SztpSettings = settings.parse()?;
        s.check(settings)?;
        Ok(s)
    }

    /// What the types alone do not say: a list has a URI, a text encoding carries one.
    pub(crate) fn check(&self, settings: &Settings) -> Result<(), SettingsError> {
        if self.uris.as_ref().is_some_and(|u| u.is_empty()) {
            return Err(settings.error(
                "uris",
                "is empty, expected at least one https://host[:port] URI",
            ));
        }
        if let (Some(enc), Some(u)) = (self.encoding, &self.uris)
            && enc != Encoding::Rfc8572
            && u.len() > 1
        {
            return Err(settings.error(
                "encoding",
                format!(
                    "{:?} carries one URI, and this scope lists {}: give the text-reading devices their own class with one URI",
                    Encoding::NAMES[enc as usize],
                    u.len()
                ),
            ));
        }
        Ok(())
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
