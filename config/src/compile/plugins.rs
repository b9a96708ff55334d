//! `[[plugin]]` entries and the `plugin.<instance>` tables of each scope.

use super::*;

impl Compiler<'_> {
    pub(super) fn plugins(&mut self, raw: &[RawPlugin]) -> Vec<PluginEntry> {
        const DEFAULT_HOOK_TIMEOUT_MS: u64 = 50;
        let base = self
            .src
            .file
            .parent()
            .unwrap_or(Path::new("."))
            .to_path_buf();
        let mut seen: HashMap<String, usize> = HashMap::new();
        let mut entries = Vec::new();
        let mut after = HashMap::new();
        for (index, p) in raw.iter().enumerate() {
            let key = |k: &str| format!("plugin[{index}].{k}");
            let name = p.name.get_ref().clone();
            if name.is_empty() {
                self.err(
                    &p.name,
                    key("name"),
                    "got an empty name, expected a plugin name",
                );
            }
            let instance = p.instance_name().to_string();
            let instance_span = p.instance.as_ref().map_or(p.name.span(), |i| i.span());
            if let Some(first) = seen.insert(instance.clone(), index) {
                let e = self.src.error(
                    Some(instance_span),
                    key(if p.instance.is_some() { "instance" } else { "name" }),
                    format!(
                        "instance {instance:?} is already plugin[{first}]; give each instance of a plugin its own `instance` name"
                    ),
                );
                self.errors.push(e);
            }
            let on_error = match p.on_error.as_ref().map(|o| o.get_ref().as_str()) {
                None | Some("continue") => OnError::Continue,
                Some("drop") => OnError::Drop,
                Some(other) => {
                    let msg = format!("got {other:?}, expected \"continue\" or \"drop\"");
                    self.err(
                        p.on_error.as_ref().expect("matched Some"),
                        key("on_error"),
                        msg,
                    );
                    OnError::Continue
                }
            };
            let timeout = p
                .hook_timeout_ms
                .as_ref()
                .map_or(DEFAULT_HOOK_TIMEOUT_MS, |t| *t.get_ref());
            if let Some(t) = p
                .hook_timeout_ms
                .as_ref()
                .filter(|t| !(1..=10_000).contains(t.get_ref()))
            {
                let msg = format!("got {}, expected 1 to 10000 milliseconds", t.get_ref());
                self.err(t, key("hook_timeout_ms"), msg);
            }
            if !p.enabled {
                continue;
            }
            if let Some(a) = &p.after {
                after.insert(index, a.clone());
            }
            entries.push(PluginEntry {
                index,
                name,
                instance,
                path: p.path.as_ref().map(|path| base.join(path.get_ref())),
                on_error,
                hook_timeout: Duration::from_millis(timeout),
                span: p.name.span(),
            });
        }
        let configured: Vec<&str> = raw.iter().map(RawPlugin::instance_name).collect();
        let (entries, errors) =
            super::super::plugin_order::ordered(self.src, entries, &after, &configured);
        self.errors.extend(errors);
        entries
    }

    /// Records the `plugin.<instance>` tables of one scope.
    pub(super) fn plugin_scope(
        &mut self,
        raw: &RawPluginScopes,
        scope: ScopeId,
        path: &[PathStep],
        key: &str,
    ) {
        for (instance, value) in raw {
            let mut at = path.to_vec();
            at.push(PathStep::Key("plugin".into()));
            at.push(PathStep::Key(instance.clone()));
            self.plugin_scopes.push(PluginScope {
                scope,
                instance: instance.clone(),
                path: at,
                key: format!("{key}.plugin.{instance}"),
                span: value.span(),
            });
        }
    }

    /// Scope tables must name a configured instance; those of disabled instances are
    /// kept out (disabling a plugin needs no other edit).
    pub(super) fn check_plugin_scopes(
        &mut self,
        raw: &[RawPlugin],
        enabled: &[PluginEntry],
    ) -> Vec<PluginScope> {
        let configured: Vec<&str> = raw.iter().map(RawPlugin::instance_name).collect();
        let scopes = std::mem::take(&mut self.plugin_scopes);
        let mut kept = Vec::new();
        for s in scopes {
            if enabled.iter().any(|e| e.instance == s.instance) {
                kept.push(s);
            } else if !configured.contains(&s.instance.as_str()) {
                let e = self.src.error(
                    Some(s.span.clone()),
                    s.key.clone(),
                    format!(
                        "no [[plugin]] instance {:?}, expected the name (or `instance`) of a configured plugin",
                        s.instance
                    ),
                );
                self.errors.push(e);
            }
        }
        kept
    }
}
