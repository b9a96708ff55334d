//! Checks of single values the sections share: addresses, ranges, prefixes, host
//! names, times.

use super::*;

impl Compiler<'_> {
    pub(super) fn ipv4(&mut self, v: &Spanned<String>, key: &str) -> Option<Ipv4Addr> {
        self.address(v, key, "an IPv4 address such as \"198.18.0.1\"")
    }

    /// An address of either family; `expected` describes it in the error.
    pub(super) fn address<A: FromStr>(
        &mut self,
        v: &Spanned<String>,
        key: &str,
        expected: &str,
    ) -> Option<A> {
        let parsed = v.get_ref().trim().parse().ok();
        if parsed.is_none() {
            self.err(
                v,
                key,
                format!("got {:?}, expected {expected}", v.get_ref()),
            );
        }
        parsed
    }

    /// "A - B" or "A" of either family, both inside `net` (`contains`), A <= B.
    /// `example` shows the form in the error.
    pub(super) fn range_in<A: FromStr + Ord + fmt::Display>(
        &mut self,
        v: &Spanned<String>,
        key: &str,
        net: &dyn fmt::Display,
        contains: impl Fn(&A) -> bool,
        example: &str,
    ) -> Option<(A, A)> {
        let text = v.get_ref();
        let (a, b) = text.split_once('-').unwrap_or((text, text));
        let parsed: Option<(A, A)> = a.trim().parse().ok().zip(b.trim().parse().ok());
        let Some((a, b)) = parsed else {
            self.err(
                v,
                key,
                format!(
                    "got {text:?}, expected \"FIRST - LAST\" or one address, such as \"{example}\""
                ),
            );
            return None;
        };
        if !contains(&a) || !contains(&b) {
            self.err(v, key, format!("{text:?} is not inside the subnet {net}"));
            return None;
        }
        if a > b {
            self.err(
                v,
                key,
                format!("{a} comes after {b}, expected FIRST <= LAST"),
            );
            return None;
        }
        Some((a, b))
    }

    /// A prefix of either family such as `example`, reported when it has host bits
    /// set and used without them.
    pub(super) fn prefix<N: Prefix>(
        &mut self,
        v: &Spanned<String>,
        key: &str,
        example: &str,
    ) -> Option<N> {
        let Ok(net) = v.get_ref().trim().parse::<N>() else {
            let msg = format!(
                "got {:?}, expected a prefix such as \"{example}\"",
                v.get_ref()
            );
            self.err(v, key, msg);
            return None;
        };
        if !net.is_network() {
            let msg = format!(
                "{net} has host bits set, expected the network address: {}",
                net.truncated()
            );
            self.err(v, key, msg);
        }
        Some(net.truncated())
    }

    /// `hostname` of a reservation of either family: letters, digits, '-' and '.'.
    /// The subnets of `section` (`(index, net, its value in the file)`) are disjoint:
    /// each overlap is reported at the later subnet, naming the earlier one.
    pub(super) fn check_disjoint<N: Prefix>(
        &mut self,
        section: &str,
        subnets: &[(usize, N, &Spanned<String>)],
    ) {
        for (i, (index, net, value)) in subnets.iter().enumerate() {
            if let Some((earlier, other, _)) = subnets[..i].iter().find(|(_, b, _)| net.overlaps(b))
            {
                self.err(
                    value,
                    format!("{section}.subnet[{index}].subnet"),
                    format!(
                        "{net} overlaps {section}.subnet[{earlier}] {other}, expected disjoint subnets"
                    ),
                );
            }
        }
    }

    pub(super) fn hostname(&mut self, name: &Option<Spanned<String>>, key: &str) {
        let Some(name) = name else {
            return;
        };
        let n = name.get_ref();
        let ok = !n.is_empty()
            && n.len() <= 253
            && n.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
        if !ok {
            self.err(
                name,
                format!("{key}.hostname"),
                "expected letters, digits, '-' and '.', 1 to 253 characters",
            );
        }
    }

    /// Hold and probation times of either section: whole seconds, at least one.
    pub(super) fn at_least_one_second(
        &mut self,
        section: &str,
        values: &[(&str, &Option<Spanned<u32>>)],
    ) {
        for (name, value) in values {
            if let Some(v) = value.as_ref().filter(|v| *v.get_ref() == 0) {
                self.err(
                    v,
                    format!("{section}.{name}"),
                    "got 0, expected a number of seconds of at least 1",
                );
            }
        }
    }
}
