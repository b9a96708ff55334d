//! `[dhcp4]` → [`Dhcp4`]: interfaces, subnets with their pools, overlaps, host
//! reservations.

use super::*;

impl Compiler<'_> {
    /// `interfaces = [...]` of either section: at least one, each a possible name.
    pub(super) fn interface_names(&mut self, names: &Spanned<Vec<String>>, key: &str) {
        if names.get_ref().is_empty() {
            self.err(
                names,
                key,
                "is empty, expected the names of the interfaces to serve",
            );
        }
        for name in names.get_ref() {
            if name.is_empty()
                || name.len() > 15
                || name.contains('/')
                || name.contains(char::is_whitespace)
            {
                self.err(
                    names,
                    key,
                    format!(
                        "{name:?} is not an interface name (1 to 15 characters, no '/' or spaces)"
                    ),
                );
            }
        }
    }

    /// `relayed_only = [...]`: names out of `interfaces`.
    pub(super) fn relayed_only(
        &mut self,
        relayed: &Option<Spanned<Vec<String>>>,
        interfaces: &Spanned<Vec<String>>,
        section: &str,
    ) -> Vec<String> {
        let Some(relayed) = relayed else {
            return Vec::new();
        };
        for name in relayed.get_ref() {
            if !interfaces.get_ref().contains(name) {
                self.err(
                    relayed,
                    format!("{section}.relayed_only"),
                    format!("{name:?} is not in {section}.interfaces, expected names of served interfaces"),
                );
            }
        }
        relayed.get_ref().clone()
    }

    pub(super) fn dhcp4(&mut self, raw: &RawDhcp4) -> Dhcp4 {
        self.interface_names(&raw.interfaces, "dhcp4.interfaces");
        let relayed_only = self.relayed_only(&raw.relayed_only, &raw.interfaces, "dhcp4");
        let defaults = LeaseTimes {
            lease_time: 3600,
            min_lease_time: 3600,
            max_lease_time: 3600,
            renew_time: None,
            rebind_time: None,
        };
        let times = self.lease_times(&raw.times(), &defaults, "dhcp4");
        for d in &raw.option_definition {
            self.option_definition(d);
        }
        // Classes first: pools refer to them by name.
        let classes: Vec<Class> = raw
            .class
            .iter()
            .enumerate()
            .filter_map(|(i, c)| self.class(i, c))
            .collect();
        let options = self.options(&raw.options, "dhcp4.options");
        let boot = self.boot_fields(raw.boot(), "dhcp4");
        self.plugin_scope(&raw.plugin, ScopeId::Global, &[step("dhcp4")], "dhcp4");
        let server_id = raw
            .server_id
            .as_ref()
            .and_then(|s| self.ipv4(s, "dhcp4.server_id"));
        let mut subnets = Vec::new();
        for (i, s) in raw.subnet.iter().enumerate() {
            if let Some(subnet) = self.subnet(i, s, &times) {
                subnets.push(subnet);
            }
        }
        self.check_overlaps(raw, &subnets);
        let hosts = self.hosts(&raw.host, &subnets);
        self.at_least_one_second(
            "dhcp4",
            &[
                ("offer_hold", &raw.offer_hold),
                ("decline_probation", &raw.decline_probation),
            ],
        );
        Dhcp4 {
            interfaces: raw.interfaces.get_ref().clone(),
            relayed_only,
            authoritative: raw.authoritative,
            port: raw.port.unwrap_or(67),
            client_port: raw.client_port.unwrap_or(68),
            server_id,
            times,
            offer_hold: raw.offer_hold.as_ref().map_or(30, |v| *v.get_ref()),
            decline_probation: raw
                .decline_probation
                .as_ref()
                .map_or(86_400, |v| *v.get_ref()),
            options,
            boot,
            subnets,
            hosts,
            classes,
        }
    }

    pub(super) fn subnet(
        &mut self,
        i: usize,
        raw: &RawSubnet,
        global: &LeaseTimes,
    ) -> Option<Subnet> {
        let key = format!("dhcp4.subnet[{i}]");
        let path = [step("dhcp4"), step("subnet"), PathStep::Index(i)];
        self.plugin_scope(&raw.plugin, ScopeId::Subnet(i), &path, &key);
        let net: Ipv4Net = self.prefix(&raw.subnet, &format!("{key}.subnet"), "198.18.0.0/24")?;
        let times = self.lease_times(&raw.times(), global, &key);
        let options = self.options(&raw.options, &format!("{key}.options"));
        let boot = self.boot_fields(raw.boot(), &key);
        let server_id = raw
            .server_id
            .as_ref()
            .and_then(|s| self.ipv4(s, &format!("{key}.server_id")));
        let mut pools: Vec<Pool> = Vec::new();
        for (j, p) in raw.pool.iter().enumerate() {
            let path = [
                step("dhcp4"),
                step("subnet"),
                PathStep::Index(i),
                step("pool"),
                PathStep::Index(j),
            ];
            self.plugin_scope(
                &p.plugin,
                ScopeId::Pool(i, j),
                &path,
                &format!("dhcp4.subnet[{i}].pool[{j}]"),
            );
            let pkey = format!("{key}.pool[{j}]");
            let Some((first, last)) = self.range(&p.range, &format!("{pkey}.range"), net) else {
                continue;
            };
            if net.prefix_len() < 31
                && (first == u32::from(net.network()) || last == u32::from(net.broadcast()))
            {
                self.err(&p.range, format!("{pkey}.range"), format!("includes the network or broadcast address of {net}, expected host addresses only"));
            }
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
            let mut exclude = Vec::new();
            for (k, e) in p.exclude.iter().enumerate() {
                if let Some((a, b)) = self.range(e, &format!("{pkey}.exclude[{k}]"), net) {
                    if a < first || b > last {
                        self.err(
                            e,
                            format!("{pkey}.exclude[{k}]"),
                            "is outside the pool's range, expected addresses inside it",
                        );
                    }
                    exclude.push((a, b));
                }
            }
            let classes = self.class_refs(Section::Dhcp4, &p.classes, &pkey);
            let options = self.options(&p.options, &format!("{pkey}.options"));
            let boot = self.boot_fields(p.boot(), &pkey);
            pools.push(Pool {
                first,
                last,
                exclude,
                classes,
                options,
                boot,
            });
        }
        Some(Subnet {
            index: i,
            net,
            shared_network: raw.shared_network.clone(),
            interface: raw.interface.clone(),
            server_id,
            times,
            options,
            boot,
            pools,
        })
    }

    /// "A - B" or "A" inside `net`, as numbers.
    pub(super) fn range(
        &mut self,
        v: &Spanned<String>,
        key: &str,
        net: Ipv4Net,
    ) -> Option<(u32, u32)> {
        let (a, b) = self.range_in(
            v,
            key,
            &net,
            |a: &Ipv4Addr| net.contains(a),
            "198.18.0.100 - 198.18.0.199",
        )?;
        Some((u32::from(a), u32::from(b)))
    }

    pub(super) fn check_overlaps(&mut self, raw: &RawDhcp4, subnets: &[Subnet]) {
        let nets: Vec<_> = subnets
            .iter()
            .map(|s| (s.index, s.net, &raw.subnet[s.index].subnet))
            .collect();
        self.check_disjoint("dhcp4", &nets);
    }

    pub(super) fn hosts(&mut self, raw: &[RawHost], subnets: &[Subnet]) -> Hosts {
        let mut hosts = Hosts::default();
        // Config index of the host that reserved each address, for error messages.
        let mut reserved_by: HashMap<Ipv4Addr, usize> = HashMap::new();
        for (i, h) in raw.iter().enumerate() {
            let key = format!("dhcp4.host[{i}]");
            let path = [step("dhcp4"), step("host"), PathStep::Index(i)];
            self.plugin_scope(&h.plugin, ScopeId::Host(i), &path, &key);
            let given = [
                ("hw_address", &h.hw_address),
                ("client_id", &h.client_id),
                ("circuit_id", &h.circuit_id),
                ("remote_id", &h.remote_id),
            ];
            let Some((kind, value)) = self.host_identifier(&key, &given, h.address.as_ref()) else {
                continue;
            };
            let idkey = format!("{key}.{kind}");
            let identifier = match kind {
                "hw_address" => match options::parse_hex(value.get_ref()) {
                    Ok(b) if b.len() <= 16 => HostIdentifier::HwAddress(b),
                    _ => {
                        self.err(value, idkey, format!("got {:?}, expected 1 to 16 hex octets such as \"02:00:00:00:00:01\"", value.get_ref()));
                        continue;
                    }
                },
                _ => {
                    let bytes = match value.get_ref().strip_prefix("hex:") {
                        Some(h) => match options::parse_hex(h) {
                            Ok(b) => b,
                            Err(msg) => {
                                self.err(value, idkey, msg);
                                continue;
                            }
                        },
                        None => value.get_ref().as_bytes().to_vec(),
                    };
                    match kind {
                        "client_id" => HostIdentifier::ClientId(bytes),
                        "circuit_id" => HostIdentifier::CircuitId(bytes),
                        _ => HostIdentifier::RemoteId(bytes),
                    }
                }
            };
            let address = match &h.address {
                Some(a) => {
                    let akey = format!("{key}.address");
                    let Some(addr) = self.ipv4(a, &akey) else {
                        continue;
                    };
                    let in_subnet = subnets.iter().any(|s| s.net.contains(&addr));
                    self.reserved_address("dhcp4", a, akey, addr, in_subnet, &mut reserved_by, i);
                    Some(addr)
                }
                None => None,
            };
            self.hostname(&h.hostname, &key);
            if !self.new_client("dhcp4", &hosts.by_identifier, &identifier, value, idkey) {
                continue;
            }
            let options = self.options(&h.options, &format!("{key}.options"));
            let boot = self.boot_fields(h.boot(), &key);
            let index = hosts.list.len();
            hosts.by_identifier.insert(identifier.clone(), index);
            if let Some(a) = address {
                hosts.by_address.insert(a, index);
            }
            hosts.list.push(Host {
                identifier,
                address,
                hostname: h.hostname.as_ref().map(|n| n.get_ref().clone()),
                options,
                boot,
            });
        }
        hosts
    }
}
