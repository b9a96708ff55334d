//! `[dhcp6]` → [`Dhcp6`]: the DHCPv6 half of the compiler, with the same error quality
//! as the DHCPv4 half (file, line, key, what was expected).

use std::collections::HashMap;
use std::net::Ipv6Addr;

use ipnet::Ipv6Net;
use toml::Spanned;
use zerotouch_plugin::PathStep;

use super::super::model::ScopeId;
use super::super::model::*;
use super::super::schema::RawOptions;
use super::super::schema::*;
use super::{Compiler, OptionKey, Section, step};
use crate::options::{self, OptionDef6};

impl Compiler<'_> {
    pub(super) fn dhcp6(&mut self, raw: &RawDhcp6) -> Dhcp6 {
        self.interface_names(&raw.interfaces, "dhcp6.interfaces");
        let relayed_only = self.relayed_only(&raw.relayed_only, &raw.interfaces, "dhcp6");
        let defaults = Lifetimes {
            preferred: 3600,
            valid: 7200,
            renew: None,
            rebind: None,
        };
        let lifetimes = self.lifetimes(&raw.lifetimes(), &defaults, "dhcp6");
        for d in &raw.option_definition {
            self.option_definition6(d);
        }
        let classes: Vec<Class6> = raw
            .class
            .iter()
            .enumerate()
            .filter_map(|(i, c)| self.class6(i, c))
            .collect();
        let options = self.options6(&raw.options, "dhcp6.options");
        self.plugin_scope(&raw.plugin, ScopeId::Global6, &[step("dhcp6")], "dhcp6");
        let server_duid = match &raw.server_duid {
            None => DuidSetting::Llt { interface: None },
            Some(d) => self.duid_setting(d),
        };
        let mut subnets = Vec::new();
        for (i, s) in raw.subnet.iter().enumerate() {
            if let Some(subnet) = self.subnet6(i, s, &lifetimes) {
                subnets.push(subnet);
            }
        }
        self.check_overlaps6(raw, &subnets);
        let hosts = self.hosts6(&raw.host, &subnets);
        self.at_least_one_second(
            "dhcp6",
            &[
                ("advertise_hold", &raw.advertise_hold),
                ("decline_probation", &raw.decline_probation),
            ],
        );
        Dhcp6 {
            interfaces: raw.interfaces.get_ref().clone(),
            relayed_only,
            port: raw.port.unwrap_or(zerotouch_proto::v6::SERVER_PORT),
            client_port: raw.client_port.unwrap_or(zerotouch_proto::v6::CLIENT_PORT),
            server_duid,
            rapid_commit: raw.rapid_commit,
            lifetimes,
            advertise_hold: raw.advertise_hold.as_ref().map_or(30, |v| *v.get_ref()),
            decline_probation: raw
                .decline_probation
                .as_ref()
                .map_or(86_400, |v| *v.get_ref()),
            options,
            subnets,
            hosts,
            classes,
        }
    }

    fn duid_setting(&mut self, d: &Spanned<RawDuid>) -> DuidSetting {
        let key = "dhcp6.server_duid";
        let raw = d.get_ref();
        let hex = |c: &mut Self, v: &Option<String>, what: &str| -> Option<Vec<u8>> {
            let v = v.as_ref()?;
            match options::parse_hex(v) {
                Ok(b) => Some(b),
                Err(msg) => {
                    c.err(d, format!("{key}.{what}"), msg);
                    None
                }
            }
        };
        match raw.ty.as_str() {
            "llt" | "ll" if raw.enterprise.is_some() || raw.identifier.is_some() => {
                self.err(
                    d,
                    key,
                    "enterprise and identifier belong to type \"en\", expected interface or hw_address",
                );
                DuidSetting::Llt { interface: None }
            }
            "llt" if raw.hw_address.is_some() => {
                self.err(
                    d,
                    format!("{key}.hw_address"),
                    "a DUID-LLT takes the time it is made, expected type \"ll\" to give a hardware address",
                );
                DuidSetting::Llt { interface: None }
            }
            "llt" => DuidSetting::Llt {
                interface: raw.interface.clone(),
            },
            "ll" => DuidSetting::Ll {
                interface: raw.interface.clone(),
                hw_address: hex(self, &raw.hw_address, "hw_address"),
            },
            "en" => match (raw.enterprise, hex(self, &raw.identifier, "identifier")) {
                (Some(enterprise), Some(identifier)) if identifier.len() <= 122 => {
                    DuidSetting::En {
                        enterprise,
                        identifier,
                    }
                }
                _ => {
                    self.err(d, key, "type \"en\" needs enterprise (a number) and identifier (1 to 122 hex octets)");
                    DuidSetting::Llt { interface: None }
                }
            },
            other => {
                self.err(
                    d,
                    format!("{key}.type"),
                    format!("got {other:?}, expected \"llt\", \"ll\" or \"en\""),
                );
                DuidSetting::Llt { interface: None }
            }
        }
    }

    fn lifetimes(&mut self, raw: &RawLifetimes, inherit: &Lifetimes, scope: &str) -> Lifetimes {
        let get = |v: &Option<Spanned<u32>>| v.as_ref().map(|v| *v.get_ref());
        let t = Lifetimes {
            preferred: get(&raw.preferred_lifetime).unwrap_or(inherit.preferred),
            valid: get(&raw.valid_lifetime).unwrap_or(inherit.valid),
            renew: get(&raw.renew_time).or(inherit.renew),
            rebind: get(&raw.rebind_time).or(inherit.rebind),
        };
        for (name, v) in [
            ("preferred_lifetime", &raw.preferred_lifetime),
            ("valid_lifetime", &raw.valid_lifetime),
        ] {
            if let Some(v) = v.as_ref().filter(|v| *v.get_ref() == 0) {
                self.err(
                    v,
                    format!("{scope}.{name}"),
                    "got 0, expected a lifetime in seconds of at least 1",
                );
            }
        }
        if t.preferred > t.valid {
            let at = raw
                .preferred_lifetime
                .as_ref()
                .or(raw.valid_lifetime.as_ref());
            if let Some(v) = at {
                self.err(v, format!("{scope}.preferred_lifetime"), format!("{} is above valid_lifetime {}, expected preferred_lifetime <= valid_lifetime (RFC 8415 §21.6)", t.preferred, t.valid));
            }
        }
        if let (Some(v), Some(t1)) = (&raw.renew_time, t.renew)
            && t1 > t.rebind.unwrap_or(t.preferred)
        {
            self.err(v, format!("{scope}.renew_time"), format!("{t1} is above rebind_time and preferred_lifetime, expected renew_time <= rebind_time <= preferred_lifetime"));
        }
        if let (Some(v), Some(t2)) = (&raw.rebind_time, t.rebind)
            && t2 > t.preferred
        {
            self.err(
                v,
                format!("{scope}.rebind_time"),
                format!(
                    "{t2} is above preferred_lifetime {}, expected rebind_time <= preferred_lifetime",
                    t.preferred
                ),
            );
        }
        t
    }

    fn ipv6(&mut self, v: &Spanned<String>, key: &str) -> Option<Ipv6Addr> {
        self.address(v, key, "an IPv6 address such as \"2001:db8::1\"")
    }

    /// A prefix without host bits.
    fn prefix6(&mut self, v: &Spanned<String>, key: &str) -> Option<Ipv6Net> {
        self.prefix(v, key, "2001:db8:1::/64")
    }

    fn option_definition6(&mut self, d: &RawOptionDefinition6) {
        let code = *d.code.get_ref();
        let taken = self.custom6_by_name.contains_key(d.name.get_ref())
            || self.custom6_by_code.contains_key(&code);
        let reserved = options::reserved6(code);
        let Some(ty) = self.checked_definition("dhcp6", &d.name, &d.code, &d.ty, reserved, taken)
        else {
            return;
        };
        let def = OptionDef6 {
            name: d.name.get_ref().clone(),
            code,
            ty,
        };
        self.custom6_by_name.insert(def.name.clone(), def.clone());
        self.custom6_by_code.insert(code, def);
    }

    fn resolve_option6(&self, name: &str) -> OptionKey {
        let code = name.parse::<u16>().ok();
        if let Some(what) = code.and_then(options::reserved6) {
            return OptionKey::Reserved {
                code: code.unwrap_or_default(),
                what,
            };
        }
        let def = self
            .custom6_by_name
            .get(name)
            .cloned()
            .or_else(|| options::builtin6_by_name(name))
            .or_else(|| {
                let code = code?;
                self.custom6_by_code
                    .get(&code)
                    .cloned()
                    .or_else(|| options::builtin6_by_code(code))
            });
        match def {
            Some(d) => match options::reserved6(d.code) {
                Some(what) => OptionKey::Reserved { code: d.code, what },
                None => OptionKey::Known {
                    code: d.code,
                    name: d.name,
                    ty: d.ty,
                },
            },
            None if code.is_some() => OptionKey::UntypedCode,
            None => OptionKey::Unknown,
        }
    }

    fn options6(&mut self, raw: &RawOptions, scope: &str) -> OptionSet6 {
        let entries = self.encoded_options(raw, scope, "dhcp6", |c, name| c.resolve_option6(name));
        OptionSet6(
            entries
                .into_iter()
                .map(|(code, data, always)| ConfiguredOption6 { code, data, always })
                .collect(),
        )
    }

    fn class6(&mut self, i: usize, raw: &RawClass6) -> Option<Class6> {
        let key = format!("dhcp6.class[{i}]");
        let path = [step("dhcp6"), step("class"), PathStep::Index(i)];
        self.plugin_scope(&raw.plugin, ScopeId::Class6(i), &path, &key);
        let name = self.new_class_name(Section::Dhcp6, &raw.name, &key)?;
        let (source, test) = self.class_match(&raw.matcher, &format!("{key}.match"))?;
        let options = self.options6(&raw.options, &format!("{key}.options"));
        self.class_index[Section::Dhcp6 as usize].insert(name.clone(), i);
        Some(Class6 {
            name,
            source,
            test,
            options,
        })
    }

    fn subnet6(&mut self, i: usize, raw: &RawSubnet6, global: &Lifetimes) -> Option<Subnet6> {
        let key = format!("dhcp6.subnet[{i}]");
        let path = [step("dhcp6"), step("subnet"), PathStep::Index(i)];
        self.plugin_scope(&raw.plugin, ScopeId::Subnet6(i), &path, &key);
        let net = self.prefix6(&raw.subnet, &format!("{key}.subnet"))?;
        let lifetimes = self.lifetimes(&raw.lifetimes(), global, &key);
        let options = self.options6(&raw.options, &format!("{key}.options"));
        let interface_id = raw.interface_id.as_ref().and_then(|v| {
            let bytes = match v.get_ref().strip_prefix("hex:") {
                Some(h) => options::parse_hex(h),
                None => Ok(v.get_ref().as_bytes().to_vec()),
            };
            match bytes {
                Ok(b) if !b.is_empty() => Some(b),
                Ok(_) => {
                    self.err(v, format!("{key}.interface_id"), "is empty, expected the interface-id the relay sends (text, or hex after \"hex:\")");
                    None
                }
                Err(msg) => {
                    self.err(v, format!("{key}.interface_id"), msg);
                    None
                }
            }
        });
        let mut pools: Vec<Pool6> = Vec::new();
        for (j, p) in raw.pool.iter().enumerate() {
            let pkey = format!("{key}.pool[{j}]");
            let mut path = path.to_vec();
            path.extend([step("pool"), PathStep::Index(j)]);
            self.plugin_scope(&p.plugin, ScopeId::Pool6(i, j), &path, &pkey);
            let Some((first, last)) = self.range6(&p.range, &format!("{pkey}.range"), net) else {
                continue;
            };
            if let Some(other) = pools
                .iter()
                .position(|q| first <= q.last && q.first <= last)
            {
                self.err(
                    &p.range,
                    format!("{pkey}.range"),
                    format!("overlaps {key}.pool[{other}], expected disjoint pools"),
                );
            }
            let classes = self.class_refs(Section::Dhcp6, &p.classes, &pkey);
            let options = self.options6(&p.options, &format!("{pkey}.options"));
            pools.push(Pool6 {
                first,
                last,
                classes,
                options,
            });
        }
        let mut pd_pools: Vec<PdPool> = Vec::new();
        for (j, p) in raw.pd_pool.iter().enumerate() {
            let pkey = format!("{key}.pd_pool[{j}]");
            let mut path = path.to_vec();
            path.extend([step("pd_pool"), PathStep::Index(j)]);
            self.plugin_scope(&p.plugin, ScopeId::PdPool(i, j), &path, &pkey);
            let Some(prefix) = self.prefix6(&p.prefix, &format!("{pkey}.prefix")) else {
                continue;
            };
            let delegated = *p.delegated_length.get_ref();
            if delegated < prefix.prefix_len() || delegated > 128 {
                self.err(
                    &p.delegated_length,
                    format!("{pkey}.delegated_length"),
                    format!(
                        "got {delegated}, expected a length from {} (the pool's prefix length) to 128",
                        prefix.prefix_len()
                    ),
                );
                continue;
            }
            if let Some(other) = pd_pools
                .iter()
                .position(|q| q.prefix.contains(&prefix) || prefix.contains(&q.prefix))
            {
                self.err(
                    &p.prefix,
                    format!("{pkey}.prefix"),
                    format!("overlaps {key}.pd_pool[{other}], expected disjoint prefixes"),
                );
            }
            let classes = self.class_refs(Section::Dhcp6, &p.classes, &pkey);
            let options = self.options6(&p.options, &format!("{pkey}.options"));
            pd_pools.push(PdPool {
                prefix,
                delegated_len: delegated,
                classes,
                options,
            });
        }
        Some(Subnet6 {
            index: i,
            net,
            interface: raw.interface.clone(),
            interface_id,
            lifetimes,
            options,
            pools,
            pd_pools,
        })
    }

    /// "A - B" or "A" inside `net`.
    fn range6(
        &mut self,
        v: &Spanned<String>,
        key: &str,
        net: Ipv6Net,
    ) -> Option<(Ipv6Addr, Ipv6Addr)> {
        self.range_in(
            v,
            key,
            &net,
            |a: &Ipv6Addr| net.contains(a),
            "2001:db8:1::100 - 2001:db8:1::1ff",
        )
    }

    fn check_overlaps6(&mut self, raw: &RawDhcp6, subnets: &[Subnet6]) {
        let nets: Vec<_> = subnets
            .iter()
            .map(|s| (s.index, s.net, &raw.subnet[s.index].subnet))
            .collect();
        self.check_disjoint("dhcp6", &nets);
        let mut seen: HashMap<&[u8], usize> = HashMap::new();
        for s in subnets {
            if let Some(id) = &s.interface_id
                && let Some(first) = seen.insert(id, s.index)
                && let Some(v) = &raw.subnet[s.index].interface_id
            {
                self.err(
                    v,
                    format!("dhcp6.subnet[{}].interface_id", s.index),
                    format!(
                        "is already dhcp6.subnet[{first}]'s, expected one subnet per interface-id"
                    ),
                );
            }
        }
    }

    fn hosts6(&mut self, raw: &[RawHost6], subnets: &[Subnet6]) -> Hosts6 {
        let mut hosts = Hosts6::default();
        // Config index of the host that reserved each address, for error messages.
        let mut reserved_by: HashMap<Ipv6Addr, usize> = HashMap::new();
        for (i, h) in raw.iter().enumerate() {
            let key = format!("dhcp6.host[{i}]");
            let path = [step("dhcp6"), step("host"), PathStep::Index(i)];
            self.plugin_scope(&h.plugin, ScopeId::Host6(i), &path, &key);
            let given = [("duid", &h.duid), ("hw_address", &h.hw_address)];
            let line_of = h.duid.as_ref().or(h.addresses.first());
            let Some((kind, value)) = self.host_identifier(&key, &given, line_of) else {
                continue;
            };
            let idkey = format!("{key}.{kind}");
            let identifier = match (kind, options::parse_hex(value.get_ref())) {
                ("duid", Ok(b)) if zerotouch_proto::v6::ia::DUID_LENGTH.contains(&b.len()) => {
                    HostIdentifier6::Duid(b)
                }
                ("hw_address", Ok(b)) if (1..=16).contains(&b.len()) => {
                    HostIdentifier6::HwAddress(b)
                }
                _ => {
                    let expected = if kind == "duid" {
                        "a DUID of 3 to 130 hex octets such as \"00:03:00:01:02:00:00:00:00:01\""
                    } else {
                        "1 to 16 hex octets such as \"02:00:00:00:00:01\""
                    };
                    self.err(
                        value,
                        idkey,
                        format!("got {:?}, expected {expected}", value.get_ref()),
                    );
                    continue;
                }
            };
            if !self.new_client("dhcp6", &hosts.by_identifier, &identifier, value, idkey) {
                continue;
            }
            let index = hosts.list.len();
            let mut addresses = Vec::new();
            for (k, a) in h.addresses.iter().enumerate() {
                let akey = format!("{key}.addresses[{k}]");
                let Some(addr) = self.ipv6(a, &akey) else {
                    continue;
                };
                let in_subnet = subnets.iter().any(|s| s.net.contains(&addr));
                if self.reserved_address("dhcp6", a, akey, addr, in_subnet, &mut reserved_by, i) {
                    hosts.by_address.insert(addr, index);
                    addresses.push(addr);
                }
            }
            let mut prefixes = Vec::new();
            for (k, p) in h.prefixes.iter().enumerate() {
                let pkey = format!("{key}.prefixes[{k}]");
                let Some(net) = self.prefix6(p, &pkey) else {
                    continue;
                };
                let at = (net.network(), net.prefix_len());
                if let Some(&other) = hosts.by_prefix.get(&at) {
                    self.err(
                        p,
                        pkey,
                        format!("{net} is already reserved by dhcp6.host[{other}]"),
                    );
                } else {
                    hosts.by_prefix.insert(at, index);
                    prefixes.push(net);
                }
            }
            self.hostname(&h.hostname, &key);
            let options = self.options6(&h.options, &format!("{key}.options"));
            hosts.by_identifier.insert(identifier.clone(), index);
            hosts.list.push(Host6 {
                identifier,
                addresses,
                prefixes,
                hostname: h.hostname.as_ref().map(|n| n.get_ref().clone()),
                options,
            });
        }
        hosts
    }
}
