//! `[[dhcp4.class]]` and class matches (`option`, `relay`; exact, prefix, regex, hex).

use super::*;

impl Compiler<'_> {
    pub(super) fn class(&mut self, i: usize, raw: &RawClass) -> Option<Class> {
        let key = format!("dhcp4.class[{i}]");
        let path = [step("dhcp4"), step("class"), PathStep::Index(i)];
        self.plugin_scope(&raw.plugin, ScopeId::Class(i), &path, &key);
        let name = raw.name.get_ref().clone();
        if self.class_index.contains_key(&name) {
            self.err(
                &raw.name,
                format!("{key}.name"),
                format!("class {name:?} is defined twice"),
            );
            return None;
        }
        let (source, test) = self.class_match4(&raw.matcher, &format!("{key}.match"))?;
        let options = self.options(&raw.options, &format!("{key}.options"));
        let boot = self.boot_fields(raw.boot(), &key);
        self.class_index.insert(name.clone(), i);
        Some(Class {
            name,
            source,
            test,
            options,
            boot,
        })
    }

    /// A DHCPv4 class's `match`: what it looks at and the test.
    pub(super) fn class_match4(
        &mut self,
        matcher: &Spanned<RawMatch>,
        mkey: &str,
    ) -> Option<(MatchSource, MatchTest)> {
        let m = matcher.get_ref();
        let source = match (m.option, m.relay.as_deref()) {
            (Some(code), None) if code > 255 => {
                self.err(
                    matcher,
                    format!("{mkey}.option"),
                    format!("got {code}, expected a DHCPv4 option code from 0 to 255"),
                );
                return None;
            }
            (Some(code), None) => MatchSource::Option(code as u8),
            (None, Some("circuit-id")) => MatchSource::RelayCircuitId,
            (None, Some("remote-id")) => MatchSource::RelayRemoteId,
            (None, Some(other)) => {
                self.err(
                    matcher,
                    format!("{mkey}.relay"),
                    format!("got {other:?}, expected \"circuit-id\" or \"remote-id\""),
                );
                return None;
            }
            _ => {
                self.err(matcher, mkey, "expected exactly one of option = CODE or relay = \"circuit-id\" | \"remote-id\"");
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
