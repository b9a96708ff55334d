//! Building client messages and relayed packets: what tests, tools and load generators
//! start from (`Message6::client(...).with_ia_na(...)`, `Packet6::relayed(...)`).

use std::net::Ipv6Addr;

use super::code::{MessageType6, OptionCode6};
use super::ia::{Ia, IaAddr, IaPrefix};
use super::message::{Message6, Packet6, RelayHeader};
use super::options::Options6;

impl Message6 {
    /// A client's message of type `msg_type` identified by `duid` (option 1).
    pub fn client(msg_type: MessageType6, xid: u32, duid: &[u8]) -> Self {
        let mut m = Message6::new(msg_type, xid);
        m.options.push(OptionCode6::CLIENTID, duid);
        m
    }

    /// With option `code` added.
    pub fn with_option(mut self, code: u16, data: &[u8]) -> Self {
        self.options.push(code, data);
        self
    }

    /// Naming the server `duid` (option 2).
    pub fn with_server_id(self, duid: &[u8]) -> Self {
        self.with_option(OptionCode6::SERVERID, duid)
    }

    /// Asking for the options `codes` (the Option Request Option).
    pub fn with_oro(self, codes: &[u16]) -> Self {
        let data: Vec<u8> = codes.iter().flat_map(|c| c.to_be_bytes()).collect();
        self.with_option(OptionCode6::ORO, &data)
    }

    /// With an IA_NA `iaid` holding `addresses` (lifetimes 0: hints or the client's own).
    pub fn with_ia_na(self, iaid: u32, addresses: &[Ipv6Addr]) -> Self {
        let mut ia = Ia::new(OptionCode6::IA_NA, iaid, 0, 0);
        for &address in addresses {
            let a = IaAddr {
                address,
                preferred: 0,
                valid: 0,
            };
            ia.options.push(OptionCode6::IAADDR, &a.encode());
        }
        self.with_option(OptionCode6::IA_NA, &ia.encode())
    }

    /// With an IA_PD `iaid` holding `prefixes` (lifetimes 0).
    pub fn with_ia_pd(self, iaid: u32, prefixes: &[(Ipv6Addr, u8)]) -> Self {
        let mut ia = Ia::new(OptionCode6::IA_PD, iaid, 0, 0);
        for &(prefix, prefix_len) in prefixes {
            let p = IaPrefix {
                preferred: 0,
                valid: 0,
                prefix_len,
                prefix,
            };
            ia.options.push(OptionCode6::IAPREFIX, &p.encode());
        }
        self.with_option(OptionCode6::IA_PD, &ia.encode())
    }
}

impl Packet6 {
    /// `message` as a relay on link `link_address` forwards it for `peer` (one
    /// RELAY-FORW, with the interface-id when given).
    pub fn relayed(
        message: Message6,
        link_address: Ipv6Addr,
        peer: Ipv6Addr,
        interface_id: Option<&[u8]>,
    ) -> Packet6 {
        let mut options = Options6::default();
        if let Some(id) = interface_id {
            options.push(OptionCode6::INTERFACE_ID, id);
        }
        Packet6 {
            relays: vec![RelayHeader {
                msg_type: MessageType6::RelayForw,
                hop_count: 0,
                link_address,
                peer_address: peer,
                options,
            }],
            message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_built_solicit_decodes_as_built() {
        let duid = [0, 3, 0, 1, 2, 0, 0, 0, 0, 7];
        let m = Message6::client(MessageType6::Solicit, 0x123456, &duid)
            .with_oro(&[23, 136])
            .with_ia_na(1, &["2001:db8::5".parse().unwrap()])
            .with_ia_pd(2, &[("2001:db8:1::".parse().unwrap(), 56)]);
        let back = Message6::decode(&m.to_bytes(), 0).unwrap();
        assert_eq!(back, m);
        assert_eq!(back.client_id(), Some(&duid[..]));
        assert_eq!(back.options.requested().collect::<Vec<_>>(), [23, 136]);
        let na = Ia::decode(
            OptionCode6::IA_NA,
            back.options.get(OptionCode6::IA_NA).unwrap(),
        )
        .unwrap();
        assert_eq!(na.iaid, 1);
        assert_eq!(
            na.addresses().next().unwrap().unwrap().address,
            "2001:db8::5".parse::<Ipv6Addr>().unwrap()
        );
        let relayed = Packet6::relayed(
            m.clone(),
            "2001:db8:1::1".parse().unwrap(),
            "fe80::2".parse().unwrap(),
            Some(b"port1"),
        );
        let back = Packet6::decode(&relayed.to_bytes()).unwrap();
        assert_eq!(back.message, m);
        assert_eq!(back.relays[0].interface_id(), Some(&b"port1"[..]));
    }
}
