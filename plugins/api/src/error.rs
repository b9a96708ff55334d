//! The error a plugin returns from a hook or a service call.

use std::error::Error;
use std::fmt;
use std::sync::Arc;

/// A plugin's failure: the server logs it with the plugin's name, counts it, and goes
/// on as the instance's `on_error` setting says (drop the packet or continue).
///
/// Made from another error (`?` on an I/O or database error, say), it keeps that error
/// as its [`source`](PluginError::source), and its text names the whole chain of
/// causes: `cannot open leases.db: permission denied`.
#[derive(Debug, Clone)]
pub struct PluginError {
    message: String,
    source: Option<Arc<dyn Error + Send + Sync + 'static>>,
}

impl PluginError {
    /// A failure described by `message`, with no underlying error.
    pub fn new(message: impl Into<String>) -> Self {
        PluginError {
            message: message.into(),
            source: None,
        }
    }

    /// A failure described by `message`, caused by `source`.
    pub fn with_source(
        message: impl Into<String>,
        source: impl Error + Send + Sync + 'static,
    ) -> Self {
        PluginError {
            message: message.into(),
            source: Some(Arc::new(source)),
        }
    }

    /// What failed, without the causes.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The error this one was made from, if any.
    pub fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.source.as_deref().map(|e| e as &(dyn Error + 'static))
    }

    /// A caught panic, with its message when it has one.
    pub fn panicked(payload: &(dyn std::any::Any + Send)) -> Self {
        let what = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "(no message)".into());
        PluginError::new(format!("panicked: {what}"))
    }
}

impl PartialEq for PluginError {
    /// Equal when they say the same, causes included.
    fn eq(&self, other: &Self) -> bool {
        self.to_string() == other.to_string()
    }
}

impl Eq for PluginError {}

impl fmt::Display for PluginError {
    /// The message, then each cause not already in the text before it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        let mut said = self.message.clone();
        let mut cause = self.source();
        while let Some(e) = cause {
            let text = e.to_string();
            if !said.ends_with(&text) {
                write!(f, ": {text}")?;
                said = text;
            }
            cause = e.source();
        }
        Ok(())
    }
}

impl<E: Error + Send + Sync + 'static> From<E> for PluginError {
    /// Keeps `e` as the source; the message is its text.
    fn from(e: E) -> Self {
        PluginError {
            message: e.to_string(),
            source: Some(Arc::new(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("cannot open leases.db")]
    struct Open(#[source] std::io::Error);

    fn denied() -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::PermissionDenied, "permission denied")
    }

    #[test]
    fn the_source_chain_is_kept_and_told() {
        let e = PluginError::from(Open(denied()));
        assert_eq!(e.message(), "cannot open leases.db");
        assert_eq!(e.to_string(), "cannot open leases.db: permission denied");
        let source = e.source().unwrap();
        assert!(source.downcast_ref::<Open>().is_some());
        assert_eq!(source.source().unwrap().to_string(), "permission denied");

        let e = PluginError::with_source("reading the device record", Open(denied()));
        assert_eq!(
            e.to_string(),
            "reading the device record: cannot open leases.db: permission denied"
        );
        let io: Result<(), std::io::Error> = Err(denied());
        let hook = || -> Result<(), PluginError> { Ok(io?) };
        assert_eq!(hook().unwrap_err().to_string(), "permission denied");
        assert!(PluginError::new("plain").source().is_none());
    }
}
