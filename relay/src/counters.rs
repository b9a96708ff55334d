//! Counters per interface and event: what was received, forwarded, delivered, and
//! dropped for which reason.

use std::collections::BTreeMap;
use std::sync::Mutex;

#[derive(Default)]
pub(crate) struct Counters {
    by_interface: Mutex<BTreeMap<(String, &'static str), u64>>,
}

impl Counters {
    pub(crate) fn count(&self, interface: &str, event: &'static str) {
        if let Ok(mut m) = self.by_interface.lock() {
            *m.entry((interface.to_string(), event)).or_default() += 1;
        }
    }

    /// `(interface.event, value)` for every counter, in order.
    pub(crate) fn all(&self) -> Vec<(String, u64)> {
        self.by_interface
            .lock()
            .map(|m| {
                m.iter()
                    .map(|((i, e), v)| (format!("{i}.{e}"), *v))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// `interface.event=value` for every counter, in order.
    pub(crate) fn summary(&self) -> String {
        self.all()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// One counter's value (0 when never counted).
    #[cfg(test)]
    pub(crate) fn get(&self, interface: &str, event: &str) -> u64 {
        self.by_interface
            .lock()
            .ok()
            .and_then(|m| {
                m.iter()
                    .find(|((i, e), _)| i == interface && *e == event)
                    .map(|(_, v)| *v)
            })
            .unwrap_or(0)
    }
}
