//! The error a plugin returns from a hook or a service call.

use std::fmt;

/// A plugin's failure: the server logs it with the plugin's name, counts it, and goes
/// on as the instance's `on_error` setting says (drop the packet or continue).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginError {
    message: String,
}

impl PluginError {
    pub fn new(message: impl Into<String>) -> Self {
        PluginError {
            message: message.into(),
        }
    }

    pub fn message(&self) -> &str {
        &self.message
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

impl fmt::Display for PluginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl<E: std::error::Error> From<E> for PluginError {
    fn from(e: E) -> Self {
        PluginError::new(e.to_string())
    }
}
