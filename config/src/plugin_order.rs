//! The order plugin instances run in: the order of their `[[plugin]]` tables, except
//! that an instance runs after every instance its `after = [...]` names. Checked at
//! load: a name that is no instance, an instance after itself, and a cycle are errors
//! that name the file, line and key.

use std::collections::HashMap;

use toml::Spanned;

use super::{ConfigError, PluginEntry, SourceMap};

/// `entries` (the enabled instances, in table order) reordered so that each runs after
/// those its `after` list names (`after` by entry index); a name of a configured but
/// disabled instance is no constraint (disabling a plugin needs no other edit).
pub(super) fn ordered(
    src: &SourceMap<'_>,
    entries: Vec<PluginEntry>,
    after: &HashMap<usize, Spanned<Vec<Spanned<String>>>>,
    configured: &[&str],
) -> (Vec<PluginEntry>, Vec<ConfigError>) {
    let mut errors = Vec::new();
    let position: HashMap<&str, usize> = entries
        .iter()
        .enumerate()
        .map(|(i, e)| (e.instance.as_str(), i))
        .collect();
    // before[i]: the entries that must run before entry i.
    let mut before: Vec<Vec<usize>> = vec![Vec::new(); entries.len()];
    for (i, e) in entries.iter().enumerate() {
        let Some(list) = after.get(&e.index) else {
            continue;
        };
        let key = format!("plugin[{}].after", e.index);
        for name in list.get_ref() {
            let n = name.get_ref().as_str();
            match position.get(n) {
                _ if n == e.instance => errors.push(src.error(
                    Some(name.span()),
                    key.as_str(),
                    format!("instance {n:?} cannot run after itself"),
                )),
                Some(&j) => before[i].push(j),
                None if configured.contains(&n) => {}
                None => {
                    let near =
                        zerotouch_plugin::wording::did_you_mean(n, configured.iter().copied());
                    let hint = near
                        .map(|m| format!("; did you mean {m:?}?"))
                        .unwrap_or_default();
                    errors.push(src.error(
                        Some(name.span()),
                        key.as_str(),
                        format!(
                            "{n:?} is not a plugin instance of this file{hint} (instances: {})",
                            configured.join(", ")
                        ),
                    ));
                }
            }
        }
    }
    // Table order wherever `after` allows: each step takes the first entry whose
    // predecessors have all run.
    let mut done = vec![false; entries.len()];
    let mut order = Vec::with_capacity(entries.len());
    while order.len() < entries.len() {
        let next = (0..entries.len()).find(|&i| !done[i] && before[i].iter().all(|&j| done[j]));
        let Some(i) = next else { break };
        done[i] = true;
        order.push(i);
    }
    if order.len() < entries.len() {
        let cycle = cycle(&before, &done);
        let names: Vec<&str> = cycle
            .iter()
            .map(|&i| entries[i].instance.as_str())
            .collect();
        let text = names
            .iter()
            .chain(names.first())
            .copied()
            .collect::<Vec<_>>()
            .join(" after ");
        for &i in &cycle {
            let e = &entries[i];
            let span = after.get(&e.index).map(|a| a.span());
            errors.push(src.error(
                span,
                format!("plugin[{}].after", e.index),
                format!("the plugin order has a cycle: {text}; no instance of it can run first"),
            ));
        }
        // Keep going with table order so the rest of the file is still checked.
        order.extend((0..entries.len()).filter(|&i| !done[i]));
    }
    let mut slots: Vec<Option<PluginEntry>> = entries.into_iter().map(Some).collect();
    let sorted = order.into_iter().filter_map(|i| slots[i].take()).collect();
    (sorted, errors)
}

/// One cycle among the entries not `done`: following "must run after" from any of
/// them must come back to an entry already on the path.
fn cycle(before: &[Vec<usize>], done: &[bool]) -> Vec<usize> {
    let Some(start) = (0..before.len()).find(|&i| !done[i]) else {
        return Vec::new();
    };
    let mut path = vec![start];
    let mut at = start;
    loop {
        let Some(&next) = before[at].iter().find(|&&j| !done[j]) else {
            return path;
        };
        if let Some(pos) = path.iter().position(|&p| p == next) {
            // Each runs after the next one on the path; the last after the first.
            return path.split_off(pos);
        }
        path.push(next);
        at = next;
    }
}
