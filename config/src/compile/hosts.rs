//! Host reservations: the checks both families share. A reservation names its client
//! by exactly one identifier, no two reservations name one client, and a reserved
//! address lies in a configured subnet and is reserved once.

use std::collections::HashMap;
use std::fmt::Display;
use std::hash::Hash;

use toml::Spanned;

use super::{Compiler, ConfigError};

impl Compiler<'_> {
    /// The one identifier among `given` (its key and value) that the reservation at
    /// `key` names; `None`, with an error located at `line_of`, when it names none or
    /// several.
    pub(super) fn host_identifier<'r>(
        &mut self,
        key: &str,
        given: &[(&'static str, &'r Option<Spanned<String>>)],
        line_of: Option<&Spanned<String>>,
    ) -> Option<(&'static str, &'r Spanned<String>)> {
        let present: Vec<(&'static str, &'r Spanned<String>)> = given
            .iter()
            .filter_map(|(name, v)| v.as_ref().map(|v| (*name, v)))
            .collect();
        if let [one] = present[..] {
            return Some(one);
        }
        let names: Vec<&str> = given.iter().map(|(name, _)| *name).collect();
        let list = match names.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
            _ => names.join(""),
        };
        let e = self.src.error(
            None,
            key.to_string(),
            format!(
                "has {} identifiers, expected exactly one of {list}",
                present.len()
            ),
        );
        let line = line_of.map_or(0, |v| self.src.locate(v.span().start).0);
        self.errors.push(ConfigError { line, ..e });
        None
    }

    /// Whether `id` names a client no earlier reservation of `section` named; an error
    /// at `value` (`idkey`) otherwise.
    pub(super) fn new_client<I: Hash + Eq>(
        &mut self,
        section: &str,
        known: &HashMap<I, usize>,
        id: &I,
        value: &Spanned<String>,
        idkey: String,
    ) -> bool {
        if known.contains_key(id) {
            self.err(
                value,
                idkey,
                format!("reserves the same client as an earlier [[{section}.host]]"),
            );
            return false;
        }
        true
    }

    /// Checks `addr`, reserved by `host` of `section` at `at` (`akey`): inside one of
    /// the section's subnets (`in_subnet`) and not reserved by another host before
    /// (`reserved`, by the hosts' places in the file). Whether it passed.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn reserved_address<A: Copy + Eq + Hash + Display>(
        &mut self,
        section: &str,
        at: &Spanned<String>,
        akey: String,
        addr: A,
        in_subnet: bool,
        reserved: &mut HashMap<A, usize>,
        host: usize,
    ) -> bool {
        if !in_subnet {
            self.err(
                at,
                akey,
                format!("{addr} is in no configured subnet, expected an address of one of the [[{section}.subnet]]"),
            );
            return false;
        }
        if let Some(&other) = reserved.get(&addr) {
            self.err(
                at,
                akey,
                format!("{addr} is already reserved by {section}.host[{other}]"),
            );
            return false;
        }
        reserved.insert(addr, host);
        true
    }
}
