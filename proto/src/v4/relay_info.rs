//! Option 82, relay agent information (RFC 3046), and the sub-options the server reads.

use std::net::Ipv4Addr;

/// Option 82's sub-options, in the order received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayAgentInfo {
    suboptions: Vec<(u8, Vec<u8>)>,
}

impl RelayAgentInfo {
    /// Agent Circuit ID: the port the request came in on (RFC 3046 §3.1).
    pub const CIRCUIT_ID: u8 = 1;
    /// Agent Remote ID: the relay or the remote end (RFC 3046 §3.2).
    pub const REMOTE_ID: u8 = 2;
    /// RFC 3527.
    pub const LINK_SELECTION: u8 = 5;
    /// Subscriber ID (RFC 3993).
    pub const SUBSCRIBER_ID: u8 = 6;
    /// RFC 5107.
    pub const SERVER_ID_OVERRIDE: u8 = 11;

    /// Parses the sub-option TLVs; `None` when one runs past the end.
    pub fn parse(data: &[u8]) -> Option<Self> {
        let mut suboptions = Vec::new();
        let mut i = 0;
        while i < data.len() {
            let code = data[i];
            let len = *data.get(i + 1)? as usize;
            let value = data.get(i + 2..i + 2 + len)?;
            suboptions.push((code, value.to_vec()));
            i += 2 + len;
        }
        Some(RelayAgentInfo { suboptions })
    }

    /// The first sub-option `code`.
    pub fn get(&self, code: u8) -> Option<&[u8]> {
        self.suboptions
            .iter()
            .find(|(c, _)| *c == code)
            .map(|(_, v)| v.as_slice())
    }

    /// Sub-option 1.
    pub fn circuit_id(&self) -> Option<&[u8]> {
        self.get(Self::CIRCUIT_ID)
    }

    /// Sub-option 2.
    pub fn remote_id(&self) -> Option<&[u8]> {
        self.get(Self::REMOTE_ID)
    }

    /// Sub-option 5, when it is one IPv4 address.
    pub fn link_selection(&self) -> Option<Ipv4Addr> {
        let v: [u8; 4] = self.get(Self::LINK_SELECTION)?.try_into().ok()?;
        Some(Ipv4Addr::from(v))
    }

    /// Sub-option 11, when it is one IPv4 address.
    pub fn server_id_override(&self) -> Option<Ipv4Addr> {
        let v: [u8; 4] = self.get(Self::SERVER_ID_OVERRIDE)?.try_into().ok()?;
        Some(Ipv4Addr::from(v))
    }

    /// Encodes the sub-options back to the option's payload.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for (code, v) in &self.suboptions {
            out.push(*code);
            out.push(v.len() as u8);
            out.extend_from_slice(v);
        }
        out
    }

    /// Option 82 made of `suboptions` (code, value), in that order.
    pub fn new(suboptions: Vec<(u8, Vec<u8>)>) -> Self {
        RelayAgentInfo { suboptions }
    }
}
