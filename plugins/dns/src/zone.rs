//! The zones this server is authoritative for, built from the settings, and what a
//! query gets from them: answers (with the addresses of SRV targets and name servers
//! in the additional section), no data or no such name (with the SOA for negative
//! caching), or a refusal for names outside every zone.

use std::borrow::Cow;
use std::collections::HashMap;
use std::net::IpAddr;

use hickory_server::proto::rr::rdata::{A, AAAA, NS, PTR, SOA, SRV, TXT};
use hickory_server::proto::rr::{LowerName, Name, RData, Record, RecordType};
use zerotouch_plugin::{Settings, SettingsError};

use crate::devices::{Devices, artifact_txt};
use crate::leased::Leased;
use crate::settings::{DEFAULT_TTL, DnsSettings, ZoneSettings, resolve};

/// One zone: its SOA and every record by owner name.
#[derive(Debug)]
pub(crate) struct Zone {
    origin: LowerName,
    soa: Record,
    records: HashMap<LowerName, Vec<Record>>,
    /// Names above others with no records of their own (`_sztp.<zone>` over
    /// `<serial>._sztp.<zone>`): they exist (RFC 8020), found once at build.
    nonterminals: std::collections::HashSet<LowerName>,
    ttl: u32,
    /// Whether leased devices have their names here.
    lease_names: bool,
    /// Whether devices' TXT records come from the bootstrap plugin.
    bootstrap_devices: bool,
}

/// Every zone served.
#[derive(Debug, Default)]
pub(crate) struct Zones(Vec<Zone>);

/// Records that are not in the settings: the leased devices' names and the devices'
/// artifacts from the bootstrap plugin.
pub(crate) struct Dynamic<'a> {
    /// The name as the query had it (a serial's case matters to the bootstrap plugin).
    pub asked: &'a Name,
    pub leased: &'a Leased,
    pub devices: &'a Devices,
    pub now: std::time::Instant,
}

/// What a query for one name and type comes to.
#[derive(Debug, PartialEq)]
pub(crate) enum Answer<'z> {
    /// The name is in no zone of this server.
    Refused,
    /// Records of the type asked for, and the addresses they name.
    Found {
        answers: Vec<Cow<'z, Record>>,
        additionals: Vec<Cow<'z, Record>>,
    },
    /// The name exists, without records of that type.
    NoData { soa: &'z Record },
    /// The name does not exist in its zone.
    NxDomain { soa: &'z Record },
}

impl Zones {
    /// The zones of `s`, files read; errors located at their keys in `settings`.
    pub(crate) fn build(s: &DnsSettings, settings: &Settings) -> Result<Zones, SettingsError> {
        let mut zones = Vec::with_capacity(s.zone.len());
        for (i, z) in s.zone.iter().enumerate() {
            zones.push(Zone::build(z, &format!("zone[{i}]"), settings)?);
        }
        Ok(Zones(zones))
    }

    /// The first zone's apex.
    pub(crate) fn first_zone(&self) -> Option<Name> {
        self.0.first().map(|z| Name::from(&z.origin))
    }

    /// The zone leased devices have their names in, if any.
    pub(crate) fn lease_zone(&self) -> Option<Name> {
        self.0
            .iter()
            .find(|z| z.lease_names)
            .map(|z| Name::from(&z.origin))
    }

    /// What a query for `name`, type `rtype`, gets, with the records that are not in
    /// the settings.
    pub(crate) fn answer(
        &self,
        name: &LowerName,
        rtype: RecordType,
        dynamic: &Dynamic<'_>,
    ) -> Answer<'_> {
        let Some(zone) = self
            .0
            .iter()
            .filter(|z| z.origin.zone_of(name))
            .max_by_key(|z| z.origin.num_labels())
        else {
            return Answer::Refused;
        };
        zone.answer(name, rtype, dynamic)
    }
}

/// A name in the settings (`bs1.sztp.example`, with or without the final dot).
fn name(text: &str, key: &str, settings: &Settings) -> Result<Name, SettingsError> {
    let mut n = Name::from_ascii(text)
        .map_err(|e| settings.error(key, format!("{text:?} is not a domain name: {e}")))?;
    n.set_fqdn(true);
    Ok(n)
}

impl Zone {
    fn build(z: &ZoneSettings, key: &str, settings: &Settings) -> Result<Zone, SettingsError> {
        let origin = name(&z.name, &format!("{key}.name"), settings)?;
        let ttl = z.ttl.unwrap_or(DEFAULT_TTL);
        let mut zone = Zone::empty(&origin, ttl, z);
        let Some(first) = z.nameservers.first() else {
            return Err(settings.error(
                format!("{key}.nameservers"),
                "is empty, expected at least one name server: the SOA names the first",
            ));
        };
        let mname = name(&first.name, &format!("{key}.nameservers[0].name"), settings)?;
        let rname = match &z.hostmaster {
            Some(h) => name(h, &format!("{key}.hostmaster"), settings)?,
            None => Name::from_ascii("hostmaster")
                .and_then(|h| h.append_domain(&origin))
                .map_err(|e| settings.error(format!("{key}.name"), e.to_string()))?,
        };
        // The serial changes whenever the zone is built again (a reload): seconds.
        let serial = zerotouch_plugin::unix_now().max(1) as u32;
        let soa = SOA::new(mname, rname, serial, 3600, 600, 86_400, ttl);
        zone.soa = Record::from_rdata(origin.clone(), ttl, RData::SOA(soa));
        zone.add(zone.soa.clone());
        for (j, ns) in z.nameservers.iter().enumerate() {
            let k = format!("{key}.nameservers[{j}]");
            let n = name(&ns.name, &format!("{k}.name"), settings)?;
            zone.add(Record::from_rdata(
                origin.clone(),
                ttl,
                RData::NS(NS(n.clone())),
            ));
            zone.addresses(&n, &ns.addresses, ttl, &format!("{k}.addresses"), settings)?;
        }
        zone.services(z, key, settings, &|n| n.clone())?;
        for (j, h) in z.host.iter().enumerate() {
            let k = format!("{key}.host[{j}]");
            let n = name(&h.name, &format!("{k}.name"), settings)?;
            if h.addresses.is_empty() {
                return Err(settings.error(
                    format!("{k}.addresses"),
                    "is empty, expected at least one address",
                ));
            }
            zone.addresses(&n, &h.addresses, ttl, &format!("{k}.addresses"), settings)?;
        }
        zone.devices(z, key, settings)?;
        Ok(zone)
    }

    /// A zone with no records yet (its SOA a placeholder until set).
    fn empty(origin: &Name, ttl: u32, z: &ZoneSettings) -> Zone {
        Zone {
            origin: LowerName::from(origin),
            soa: Record::from_rdata(origin.clone(), ttl, RData::A(A::new(0, 0, 0, 0))),
            records: HashMap::new(),
            nonterminals: Default::default(),
            ttl,
            lease_names: z.lease_names,
            bootstrap_devices: z.bootstrap_devices,
        }
    }

    /// The records of zone `z` that mDNS publishes, under `local.` (RFC 6762): its
    /// bootstrap servers (`_sztp._tcp.local` SRV, the DNS-SD browse records) with each
    /// target in `z` renamed `<its first label>.local` and given its addresses, and its
    /// devices' TXT records (`<serial>._sztp.local`). No SOA or NS: mDNS has none, and
    /// a name without records is not answered at all.
    pub(crate) fn local(
        z: &ZoneSettings,
        key: &str,
        ttl: u32,
        settings: &Settings,
    ) -> Result<Zone, SettingsError> {
        let unicast = name(&z.name, &format!("{key}.name"), settings)?;
        let local = Name::from_ascii("local.").map_err(|e| settings.error(key, e.to_string()))?;
        let mut zone = Zone::empty(&local, ttl, z);
        zone.lease_names = false;
        let rename = |n: &Name| -> Name {
            match n.iter().next() {
                Some(label) if unicast.zone_of(n) && n.num_labels() > unicast.num_labels() => {
                    Name::from_labels([label])
                        .and_then(|l| l.append_domain(&local))
                        .unwrap_or_else(|_| n.clone())
                }
                _ => n.clone(),
            }
        };
        zone.services(z, key, settings, &rename)?;
        zone.devices(z, key, settings)?;
        Ok(zone)
    }

    /// The bootstrap servers: `_sztp._tcp` SRV, and DNS-SD's browse records, each
    /// target as `rename` makes it.
    fn services(
        &mut self,
        z: &ZoneSettings,
        key: &str,
        settings: &Settings,
        rename: &dyn Fn(&Name) -> Name,
    ) -> Result<(), SettingsError> {
        let (origin, ttl) = (Name::from(&self.origin), self.ttl);
        let zone = self;
        let sztp = Name::from_ascii("_sztp._tcp")
            .and_then(|n| n.append_domain(&origin))
            .map_err(|e| settings.error(format!("{key}.name"), e.to_string()))?;
        if !z.bootstrap_server.is_empty() {
            // DNS-SD (RFC 6763 §9): the service type is browsable.
            let services = Name::from_ascii("_services._dns-sd._udp")
                .and_then(|n| n.append_domain(&origin))
                .map_err(|e| settings.error(format!("{key}.name"), e.to_string()))?;
            zone.add(Record::from_rdata(
                services,
                ttl,
                RData::PTR(PTR(sztp.clone())),
            ));
        }
        for (j, b) in z.bootstrap_server.iter().enumerate() {
            let k = format!("{key}.bootstrap_server[{j}]");
            let target = rename(&name(&b.target, &format!("{k}.target"), settings)?);
            let srv = SRV::new(b.priority, b.weight, b.port, target.clone());
            zone.add(Record::from_rdata(
                sztp.clone(),
                ttl,
                RData::SRV(srv.clone()),
            ));
            zone.addresses(
                &target,
                &b.addresses,
                ttl,
                &format!("{k}.addresses"),
                settings,
            )?;
            // The same server as a DNS-SD instance: PTR to it, its SRV and an empty TXT
            // (RFC 6763 §6.1: every instance has one).
            let label = match &b.instance {
                Some(i) => i.clone(),
                None => target
                    .iter()
                    .next()
                    .map(|l| String::from_utf8_lossy(l).into_owned())
                    .unwrap_or_default(),
            };
            let instance = Name::from_labels([label.as_bytes()])
                .and_then(|n| n.append_domain(&sztp))
                .map_err(|e| {
                    settings.error(
                        format!("{k}.instance"),
                        format!("{label:?} cannot be a DNS-SD instance name: {e}"),
                    )
                })?;
            zone.add(Record::from_rdata(
                sztp.clone(),
                ttl,
                RData::PTR(PTR(instance.clone())),
            ));
            zone.add(Record::from_rdata(instance.clone(), ttl, RData::SRV(srv)));
            let empty = TXT::from_bytes(vec![&b""[..]]);
            zone.add(Record::from_rdata(instance, ttl, RData::TXT(empty)));
        }
        Ok(())
    }

    /// The devices' TXT records from their files.
    fn devices(
        &mut self,
        z: &ZoneSettings,
        key: &str,
        settings: &Settings,
    ) -> Result<(), SettingsError> {
        let (origin, ttl) = (Name::from(&self.origin), self.ttl);
        let zone = self;
        for (j, d) in z.device.iter().enumerate() {
            let k = format!("{key}.device[{j}]");
            let owner = Name::from_ascii(&d.serial)
                .and_then(|s| {
                    Name::from_ascii("_sztp")
                        .and_then(|t| t.append_domain(&origin))
                        .and_then(|t| s.append_domain(&t))
                })
                .map_err(|e| {
                    settings.error(
                        format!("{k}.serial"),
                        format!("{:?} cannot be a DNS label: {e}", d.serial),
                    )
                })?;
            let artifacts = [
                ("ci", "conveyed_information", &d.conveyed_information),
                ("oc", "owner_certificate", &d.owner_certificate),
                ("ov", "ownership_voucher", &d.ownership_voucher),
            ];
            if d.conveyed_information.is_none() {
                return Err(settings.error(format!("{k}.conveyed_information"), "is missing: a device record carries its conveyed information (ci), signed or redirect information"));
            }
            for (tag, field, path) in artifacts {
                let Some(path) = path else { continue };
                let file = resolve(settings, path);
                let bytes = std::fs::read(&file).map_err(|e| {
                    settings.error(
                        format!("{k}.{field}"),
                        format!("cannot read {}: {e}", file.display()),
                    )
                })?;
                zone.add(Record::from_rdata(
                    owner.clone(),
                    ttl,
                    RData::TXT(artifact_txt(tag, &bytes)),
                ));
            }
        }
        Ok(())
    }

    fn add(&mut self, r: Record) {
        let mut above = r.name.base_name();
        while self.origin.zone_of(&LowerName::from(&above)) && above.num_labels() > 0 {
            self.nonterminals.insert(LowerName::from(&above));
            above = above.base_name();
        }
        self.records
            .entry(LowerName::from(&r.name))
            .or_default()
            .push(r);
    }

    /// A and AAAA records for `name` when it is in this zone (a name elsewhere is
    /// someone else's to serve).
    fn addresses(
        &mut self,
        name: &Name,
        addresses: &[IpAddr],
        ttl: u32,
        key: &str,
        settings: &Settings,
    ) -> Result<(), SettingsError> {
        if !self.origin.zone_of(&LowerName::from(name)) {
            if !addresses.is_empty() {
                return Err(settings.error(
                    key,
                    format!(
                        "{name} is outside zone {}: its addresses are the other zone's to serve",
                        self.origin
                    ),
                ));
            }
            return Ok(());
        }
        for a in addresses {
            let rdata = match a {
                IpAddr::V4(a) => RData::A(A(*a)),
                IpAddr::V6(a) => RData::AAAA(AAAA(*a)),
            };
            let record = Record::from_rdata(name.clone(), ttl, rdata);
            if !self
                .records
                .get(&LowerName::from(name))
                .is_some_and(|rs| rs.contains(&record))
            {
                self.add(record);
            }
        }
        Ok(())
    }

    /// Every record of the zone (leased names and the bootstrap plugin's devices aside).
    pub(crate) fn records(&self) -> impl Iterator<Item = &Record> {
        self.records.values().flatten()
    }

    /// The records at `name`.
    pub(crate) fn at(&self, name: &LowerName) -> &[Record] {
        self.records.get(name).map_or(&[], Vec::as_slice)
    }

    pub(crate) fn answer(
        &self,
        name: &LowerName,
        rtype: RecordType,
        dynamic: &Dynamic<'_>,
    ) -> Answer<'_> {
        let wants = |t: RecordType| rtype == RecordType::ANY || rtype == t;
        let dynamic = self.dynamic(name, dynamic);
        let Some(records) = self.records.get(name).filter(|r| !r.is_empty()) else {
            if !dynamic.is_empty() {
                let answers: Vec<Cow<'_, Record>> = dynamic
                    .into_iter()
                    .filter(|r| wants(r.record_type()))
                    .map(Cow::Owned)
                    .collect();
                return if answers.is_empty() {
                    Answer::NoData { soa: &self.soa }
                } else {
                    Answer::Found {
                        answers,
                        additionals: Vec::new(),
                    }
                };
            }
            // Leased names sit right under the apex, which has records, and a device's
            // under `_sztp`, an empty non-terminal already when the zone has any SRV:
            // only the zone's own names can make an empty non-terminal.
            return if self.nonterminals.contains(name) {
                Answer::NoData { soa: &self.soa }
            } else {
                Answer::NxDomain { soa: &self.soa }
            };
        };
        let answers: Vec<&Record> = records.iter().filter(|r| wants(r.record_type())).collect();
        if answers.is_empty() {
            return Answer::NoData { soa: &self.soa };
        }
        let mut additionals: Vec<&Record> = Vec::new();
        for r in &answers {
            match &r.data {
                RData::SRV(srv) => self.addresses_of(&srv.target, &mut additionals),
                RData::NS(ns) => self.addresses_of(&ns.0, &mut additionals),
                // A DNS-SD browse answer brings the instance's SRV and TXT, and the
                // SRV target's addresses (RFC 6763 §12.1).
                RData::PTR(ptr) => {
                    for rr in self
                        .records
                        .get(&LowerName::from(&ptr.0))
                        .into_iter()
                        .flatten()
                    {
                        if matches!(rr.record_type(), RecordType::SRV | RecordType::TXT)
                            && !additionals.contains(&rr)
                        {
                            additionals.push(rr);
                            if let RData::SRV(srv) = &rr.data {
                                self.addresses_of(&srv.target, &mut additionals);
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        Answer::Found {
            answers: answers.into_iter().map(Cow::Borrowed).collect(),
            additionals: additionals.into_iter().map(Cow::Borrowed).collect(),
        }
    }

    /// The records at `name` that are not in the settings: the leased devices' A/AAAA
    /// under the lease zone, PTR at an address's reverse name in any zone, and a
    /// device's TXT from the bootstrap plugin at `<serial>._sztp.<zone>`.
    fn dynamic(&self, name: &LowerName, dynamic: &Dynamic<'_>) -> Vec<Record> {
        let leased = dynamic.leased;
        let owner = Name::from(name);
        let mut out = Vec::new();
        if self.bootstrap_devices
            && name.num_labels() == self.origin.num_labels() + 2
            && name.base_name().base_name() == self.origin
            && owner.iter().nth(1).is_some_and(|l| l == b"_sztp")
            && let Some(records) = dynamic
                .devices
                .records(dynamic.asked, self.ttl, dynamic.now)
        {
            out.extend(records.iter().cloned());
        }
        if self.lease_names {
            for a in leased.addresses(name) {
                let rdata = match a {
                    IpAddr::V4(a) => RData::A(A(*a)),
                    IpAddr::V6(a) => RData::AAAA(AAAA(*a)),
                };
                out.push(Record::from_rdata(owner.clone(), self.ttl, rdata));
            }
        }
        if let Ok(net) = owner.parse_arpa_name()
            && net.prefix_len() == net.max_prefix_len()
            && let Some(target) = leased.name_of(&net.addr())
        {
            out.push(Record::from_rdata(
                owner,
                self.ttl,
                RData::PTR(PTR(target.clone())),
            ));
        }
        out
    }
}

impl Zone {
    /// Adds the A and AAAA records of `target`, once, to `out`.
    fn addresses_of<'z>(&'z self, target: &Name, out: &mut Vec<&'z Record>) {
        for r in self
            .records
            .get(&LowerName::from(target))
            .into_iter()
            .flatten()
        {
            if matches!(r.record_type(), RecordType::A | RecordType::AAAA) && !out.contains(&r) {
                out.push(r);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zones(extra: &str) -> Result<Zones, SettingsError> {
        let text = format!(
            "listen = [\"127.0.0.1:5300\"]\n[[zone]]\nname = \"sztp.example\"\nnameservers = [{{ name = \"ns1.sztp.example\", addresses = [\"198.18.0.1\"] }}]\n{extra}"
        );
        let settings = Settings::standalone(&text, "dns");
        let s = DnsSettings::read(&settings)?;
        Zones::build(&s, &settings)
    }

    impl Zones {
        fn answer_static(&self, name: &LowerName, rtype: RecordType) -> Answer<'_> {
            let dynamic = Dynamic {
                asked: &Name::from(name),
                leased: &Leased::default(),
                devices: &Devices::default(),
                now: std::time::Instant::now(),
            };
            self.answer(name, rtype, &dynamic)
        }
    }

    fn lower(n: &str) -> LowerName {
        LowerName::from(Name::from_ascii(n).unwrap())
    }

    #[test]
    fn srv_answers_carry_their_targets_addresses_and_names_outside_are_refused() {
        let z = zones(
            "[[zone.bootstrap_server]]\ntarget = \"bs1.sztp.example\"\nport = 8443\naddresses = [\"198.18.0.1\", \"2001:db8::1\"]\n",
        )
        .unwrap();
        let Answer::Found {
            answers,
            additionals,
        } = z.answer_static(&lower("_sztp._tcp.sztp.example."), RecordType::SRV)
        else {
            panic!("no SRV");
        };
        assert_eq!(answers.len(), 1);
        assert_eq!(additionals.len(), 2, "A and AAAA of the target");
        assert_eq!(
            z.answer_static(&lower("example.org."), RecordType::A),
            Answer::Refused
        );
        assert!(matches!(
            z.answer_static(&lower("nope.sztp.example."), RecordType::A),
            Answer::NxDomain { .. }
        ));
        assert!(
            matches!(
                z.answer_static(&lower("_tcp.sztp.example."), RecordType::A),
                Answer::NoData { .. }
            ),
            "an empty non-terminal"
        );
        assert!(matches!(
            z.answer_static(&lower("bs1.sztp.example."), RecordType::TXT),
            Answer::NoData { .. }
        ));
        let Answer::Found { answers, .. } =
            z.answer_static(&lower("sztp.example."), RecordType::NS)
        else {
            panic!("no NS");
        };
        assert_eq!(answers.len(), 1);
        // DNS-SD: the service type, its instance, and the instance's SRV, TXT and
        // addresses with the browse answer.
        let Answer::Found { answers, .. } = z.answer_static(
            &lower("_services._dns-sd._udp.sztp.example."),
            RecordType::PTR,
        ) else {
            panic!("no service type");
        };
        assert_eq!(answers.len(), 1);
        let Answer::Found {
            answers,
            additionals,
        } = z.answer_static(&lower("_sztp._tcp.sztp.example."), RecordType::PTR)
        else {
            panic!("no instance");
        };
        let instance = Name::from_ascii("bs1._sztp._tcp.sztp.example.").unwrap();
        assert_eq!(answers[0].data, RData::PTR(PTR(instance)));
        let types: Vec<RecordType> = additionals.iter().map(|r| r.record_type()).collect();
        assert_eq!(
            types,
            [
                RecordType::SRV,
                RecordType::A,
                RecordType::AAAA,
                RecordType::TXT
            ]
        );
    }

    #[test]
    fn artifacts_are_split_into_255_octet_strings_that_join_back() {
        let bytes: Vec<u8> = (0..1000u32).map(|i| i as u8).collect();
        let txt = artifact_txt("ci", &bytes);
        let parts: Vec<&[u8]> = txt.txt_data.iter().map(|p| &**p).collect();
        assert!(parts.iter().all(|p| p.len() <= 255));
        assert_eq!(parts.concat(), [&b"ci="[..], &bytes].concat());
    }

    #[test]
    fn a_missing_artifact_file_names_its_key() {
        let e = zones(
            "[[zone.device]]\nserial = \"SN-1\"\nconveyed_information = \"/nonexistent/ci.cms\"\n",
        )
        .unwrap_err();
        assert_eq!(e.key, "zone[0].device[0].conveyed_information");
        assert!(e.message.contains("cannot read /nonexistent/ci.cms"), "{e}");
    }
}
