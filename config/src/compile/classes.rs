//! `[[dhcp4.class]]` and class matches of both families (`option`, `relay`; exact,
//! prefix, regex, hex).

use super::*;

/// What a class's `match` can look at in one family.
pub(crate) trait ClassSource: Sized + Copy {
    /// `DHCPv4`, `DHCPv6`: in messages.
    const FAMILY: &'static str;
    /// The highest option code of the family.
    const MAX_OPTION: u16;
    /// The relay fields a class matches by name (`relay = "..."`).
    const RELAY_FIELDS: [(&'static str, Self); 2];
    /// An option of the request.
    fn option(code: u16) -> Self;
}

impl ClassSource for MatchSource {
    const FAMILY: &'static str = "DHCPv4";
    const MAX_OPTION: u16 = 255;
    const RELAY_FIELDS: [(&'static str, Self); 2] = [
        ("circuit-id", MatchSource::RelayCircuitId),
        ("remote-id", MatchSource::RelayRemoteId),
    ];
    fn option(code: u16) -> Self {
        // Checked against MAX_OPTION first.
        MatchSource::Option(code as u8)
    }
}

impl ClassSource for MatchSource6 {
    const FAMILY: &'static str = "DHCPv6";
    const MAX_OPTION: u16 = u16::MAX;
    const RELAY_FIELDS: [(&'static str, Self); 2] = [
        ("interface-id", MatchSource6::RelayInterfaceId),
        ("remote-id", MatchSource6::RelayRemoteId),
    ];
    fn option(code: u16) -> Self {
        MatchSource6::Option(code)
    }
}

impl Compiler<'_> {
    pub(super) fn class(&mut self, i: usize, raw: &RawClass) -> Option<Class> {
        let key = format!("dhcp4.class[{i}]");
        let path = [step("dhcp4"), step("class"), PathStep::Index(i)];
        self.plugin_scope(&raw.plugin, ScopeId::Class(i), &path, &key);
        let name = self.new_class_name(Section::Dhcp4, &raw.name, &key)?;
        let (source, test) = self.class_match(&raw.matcher, &format!("{key}.match"))?;
        let options = self.options(&raw.options, &format!("{key}.options"));
        let boot = self.boot_fields(raw.boot(), &key);
        self.class_index[Section::Dhcp4 as usize].insert(name.clone(), i);
        Some(Class {
            name,
            source,
            test,
            options,
            boot,
        })
    }

    /// The name of a class being defined in `section`, unless another class has it.
    pub(super) fn new_class_name(
        &mut self,
        section: Section,
        name: &Spanned<String>,
        key: &str,
    ) -> Option<String> {
        let taken = self.class_index[section as usize].contains_key(name.get_ref());
        if taken {
            self.err(
                name,
                format!("{key}.name"),
                format!("class {:?} is defined twice", name.get_ref()),
            );
            return None;
        }
        Some(name.get_ref().clone())
    }

    /// The classes a pool of `section` names (`classes = [...]` at `key`), each one
    /// defined in that section.
    pub(super) fn class_refs(
        &mut self,
        section: Section,
        raw: &[Spanned<String>],
        key: &str,
    ) -> Vec<usize> {
        let mut classes = Vec::new();
        for (k, c) in raw.iter().enumerate() {
            match self.class_index[section as usize].get(c.get_ref()) {
                Some(&ci) => classes.push(ci),
                None => self.err(
                    c,
                    format!("{key}.classes[{k}]"),
                    format!(
                        "unknown class {:?}, expected the name of a [[{}.class]]",
                        c.get_ref(),
                        section.name()
                    ),
                ),
            }
        }
        classes
    }

    /// A class's `match` in either family: what it looks at (an option, or a relay
    /// field by name) and the test.
    pub(crate) fn class_match<S: ClassSource>(
        &mut self,
        matcher: &Spanned<RawMatch>,
        mkey: &str,
    ) -> Option<(S, MatchTest)> {
        let m = matcher.get_ref();
        let [(first, _), (second, _)] = S::RELAY_FIELDS;
        let source = match (m.option, m.relay.as_deref()) {
            (Some(code), None) if code > S::MAX_OPTION => {
                self.err(
                    matcher,
                    format!("{mkey}.option"),
                    format!(
                        "got {code}, expected a {} option code from 0 to {}",
                        S::FAMILY,
                        S::MAX_OPTION
                    ),
                );
                return None;
            }
            (Some(code), None) => S::option(code),
            (None, Some(name)) => match S::RELAY_FIELDS.into_iter().find(|(n, _)| *n == name) {
                Some((_, source)) => source,
                None => {
                    self.err(
                        matcher,
                        format!("{mkey}.relay"),
                        format!("got {name:?}, expected \"{first}\" or \"{second}\""),
                    );
                    return None;
                }
            },
            _ => {
                self.err(
                    matcher,
                    mkey,
                    format!(
                        "expected exactly one of option = CODE or relay = \"{first}\" | \"{second}\""
                    ),
                );
                return None;
            }
        };
        Some((source, self.match_test(matcher, mkey)?))
    }

    /// The test of a class's `match` (exact, prefix, regex or hex), either family.
    pub(super) fn match_test(
        &mut self,
        matcher: &Spanned<RawMatch>,
        mkey: &str,
    ) -> Option<MatchTest> {
        let m = matcher.get_ref();
        Some(match (&m.exact, &m.prefix, &m.regex, &m.hex) {
            (Some(v), None, None, None) => MatchTest::Exact(v.as_bytes().to_vec()),
            (None, Some(v), None, None) => MatchTest::Prefix(v.as_bytes().to_vec()),
            (None, None, Some(v), None) => match regex::bytes::Regex::new(v) {
                Ok(r) => MatchTest::Regex(r),
                Err(e) => {
                    self.err(
                        matcher,
                        format!("{mkey}.regex"),
                        format!("is not a valid regular expression: {e}"),
                    );
                    return None;
                }
            },
            (None, None, None, Some(v)) => match options::parse_hex(v) {
                Ok(b) => MatchTest::Exact(b),
                Err(msg) => {
                    self.err(matcher, format!("{mkey}.hex"), msg);
                    return None;
                }
            },
            _ => {
                self.err(
                    matcher,
                    mkey.to_string(),
                    "expected exactly one of exact, prefix, regex or hex",
                );
                return None;
            }
        })
    }
}
