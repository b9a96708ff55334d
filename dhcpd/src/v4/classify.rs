//! Client classes and host reservations for a request.

use zerotouch_proto::v4::{Message, RelayAgentInfo};

use crate::config::{Dhcp4, HostIdentifier};

/// Indices of every class whose match holds for the request.
pub(super) fn classify(
    cfg: &Dhcp4,
    request: &Message,
    relay: Option<&RelayAgentInfo>,
) -> Vec<usize> {
    cfg.classes
        .iter()
        .enumerate()
        .filter(|(_, c)| {
            c.source
                .value(request, relay)
                .is_some_and(|v| c.test.matches(v))
        })
        .map(|(i, _)| i)
        .collect()
}

/// The client's reservation: by client identifier, hardware address, then the relay's
/// circuit-id and remote-id.
pub(super) fn find_host(
    cfg: &Dhcp4,
    request: &Message,
    relay: Option<&RelayAgentInfo>,
) -> Option<usize> {
    let hosts = &cfg.hosts;
    if hosts.list.is_empty() {
        return None;
    }
    let mut ids = Vec::with_capacity(4);
    if let Some(id) = request.client_identifier() {
        ids.push(HostIdentifier::ClientId(id.to_vec()));
    }
    ids.push(HostIdentifier::HwAddress(request.hwaddr().to_vec()));
    if let Some(r) = relay {
        if let Some(c) = r.circuit_id() {
            ids.push(HostIdentifier::CircuitId(c.to_vec()));
        }
        if let Some(c) = r.remote_id() {
            ids.push(HostIdentifier::RemoteId(c.to_vec()));
        }
    }
    ids.iter()
        .find_map(|id| hosts.by_identifier.get(id).copied())
}
