//! Options by name or code at every scope, `option_definition`, and the BOOTP header
//! fields that go with them.

use super::*;

impl Compiler<'_> {
    pub(super) fn boot_fields(&mut self, raw: RawBootFields<'_>, scope: &str) -> BootFields {
        let next_server = raw
            .next_server
            .as_ref()
            .and_then(|v| self.ipv4(v, &format!("{scope}.next_server")));
        let mut text = |v: &Option<Spanned<String>>, name: &str, max: usize| {
            let v = v.as_ref()?;
            let len = v.get_ref().len();
            if len == 0 || len > max || v.get_ref().contains('\0') {
                self.err(v, format!("{scope}.{name}"), format!("is {len} octets, expected 1 to {max} (it fills a fixed BOOTP header field), without NUL"));
                return None;
            }
            Some(v.get_ref().clone())
        };
        let server_hostname = text(raw.server_hostname, "server_hostname", 63);
        let boot_file_name = text(raw.boot_file_name, "boot_file_name", 127);
        BootFields {
            next_server,
            server_hostname,
            boot_file_name,
        }
    }

    pub(super) fn option_definition(&mut self, d: &RawOptionDefinition) {
        let code = *d.code.get_ref();
        let reserved = options::RESERVED_CODES
            .iter()
            .find(|(c, _)| *c == code)
            .map(|(_, what)| *what);
        let taken = self.custom_by_name.contains_key(d.name.get_ref())
            || self.custom_by_code.contains_key(&code);
        let Some(ty) = self.checked_definition("dhcp4", &d.name, &d.code, &d.ty, reserved, taken)
        else {
            return;
        };
        let def = OptionDef {
            name: d.name.get_ref().clone(),
            code,
            ty,
        };
        self.custom_by_name.insert(def.name.clone(), def.clone());
        self.custom_by_code.insert(code, def);
    }

    /// The checks an `option_definition` of either section gets: a known type, a code
    /// the server does not set itself (`reserved` says what it is), a name and code not
    /// defined before (`taken`). The type, when all pass.
    pub(super) fn checked_definition<C: std::fmt::Display>(
        &mut self,
        section: &str,
        name: &Spanned<String>,
        code: &Spanned<C>,
        ty: &Spanned<String>,
        reserved: Option<&str>,
        taken: bool,
    ) -> Option<OptionType> {
        let key = format!("{section}.option_definition.{}", name.get_ref());
        let Some(parsed) = OptionType::parse(ty.get_ref()) else {
            let msg = format!(
                "got {:?}, expected one of {}",
                ty.get_ref(),
                OptionType::NAMES
            );
            self.err(ty, format!("{key}.type"), msg);
            return None;
        };
        if let Some(what) = reserved {
            let msg = format!(
                "code {} is the {what}, which the server sets itself",
                code.get_ref()
            );
            self.err(code, format!("{key}.code"), msg);
            return None;
        }
        if taken {
            self.err(
                name,
                key,
                "is defined twice, expected one definition per name and per code",
            );
            return None;
        }
        Some(parsed)
    }

    /// The known option name nearest to `name` in `section` (dhcp4 or dhcp6), built-in
    /// or defined in this file, when `name` looks like a slip of it.
    pub(super) fn nearest_option(&self, section: &str, name: &str) -> Option<String> {
        let names: Vec<String> = if section == "dhcp6" {
            let custom = self.custom6_by_name.keys().cloned();
            options::builtin6_names()
                .map(str::to_string)
                .chain(custom)
                .collect()
        } else {
            let custom = self.custom_by_name.keys().cloned();
            options::builtin_names()
                .map(str::to_string)
                .chain(custom)
                .collect()
        };
        zerotouch_plugin::wording::did_you_mean(name, names.iter().map(String::as_str))
            .map(str::to_string)
    }

    pub(super) fn resolve_option(&self, name: &str) -> Option<OptionDef> {
        if let Some(d) = self.custom_by_name.get(name) {
            return Some(d.clone());
        }
        if let Some(d) = options::builtin_by_name(name) {
            return Some(d);
        }
        let code: u8 = name.parse().ok()?;
        self.custom_by_code
            .get(&code)
            .cloned()
            .or_else(|| options::builtin_by_code(code))
    }

    pub(super) fn options(&mut self, raw: &RawOptions, scope: &str) -> OptionSet {
        let entries = self.encoded_options(raw, scope, "dhcp4", |c, name| {
            let reserved = |code: u8| {
                options::RESERVED_CODES
                    .iter()
                    .find(|(c, _)| *c == code)
                    .map(|&(code, what)| OptionKey::Reserved {
                        code: code.into(),
                        what,
                    })
            };
            if let Some(r) = name.parse::<u8>().ok().and_then(reserved) {
                return r;
            }
            match c.resolve_option(name) {
                Some(def) => reserved(def.code).unwrap_or(OptionKey::Known {
                    code: def.code.into(),
                    name: def.name,
                    ty: def.ty,
                }),
                None if name.parse::<u8>().is_ok() => OptionKey::UntypedCode,
                None => OptionKey::Unknown,
            }
        });
        OptionSet(
            entries
                .into_iter()
                .map(|(code, data, always)| ConfiguredOption {
                    code: code as u8,
                    data,
                    always,
                })
                .collect(),
        )
    }

    /// Encodes the options of one scope, of either family: `resolve` says what each key
    /// names. Returns (code, payload, always) for each valid entry.
    pub(super) fn encoded_options(
        &mut self,
        raw: &RawOptions,
        scope: &str,
        section: &str,
        resolve: impl Fn(&Self, &str) -> OptionKey,
    ) -> Vec<(u16, Vec<u8>, bool)> {
        let mut set: Vec<(u16, Vec<u8>, bool)> = Vec::new();
        for (name, spanned) in raw {
            let key = format!("{scope}.{name}");
            let (code, def_name, ty) = match resolve(self, name) {
                OptionKey::Known { code, name, ty } => (code, name, ty),
                OptionKey::Reserved { code, what } => {
                    self.err(
                        spanned,
                        key,
                        format!("option {code} is the {what}, which the server sets itself"),
                    );
                    continue;
                }
                OptionKey::UntypedCode => {
                    self.err(spanned, key, format!("option code {name} has no type, expected an [[{section}.option_definition]] with code = {name} and a type"));
                    continue;
                }
                OptionKey::Unknown => {
                    let message = match self.nearest_option(section, name) {
                        Some(near) => format!(
                            "unknown option {name:?}; did you mean {near:?}? (or give it an [[{section}.option_definition]])"
                        ),
                        None => format!(
                            "unknown option {name:?}, expected a name from docs/configuration.md or one given by an [[{section}.option_definition]]"
                        ),
                    };
                    self.err(spanned, key, message);
                    continue;
                }
            };
            let (value, always) = match spanned.get_ref() {
                toml::Value::Table(t) if t.contains_key("value") => {
                    if let Some(k) = t.keys().find(|k| *k != "value" && *k != "always") {
                        self.err(
                            spanned,
                            key.clone(),
                            format!("unknown key {k:?} in option table, expected value and always"),
                        );
                    }
                    let always = match t.get("always") {
                        None => false,
                        Some(toml::Value::Boolean(b)) => *b,
                        Some(other) => {
                            self.err(
                                spanned,
                                format!("{key}.always"),
                                format!("got {other}, expected true or false"),
                            );
                            false
                        }
                    };
                    (&t["value"], always)
                }
                v => (v, false),
            };
            match options::encode_value(ty, value) {
                Ok(_) if set.iter().any(|o| o.0 == code) => self.err(
                    spanned,
                    key,
                    format!("option {code} is set twice in this scope (by name and by code)"),
                ),
                Ok(data) => set.push((code, data, always)),
                Err(msg) => self.err(
                    spanned,
                    key,
                    format!("{msg} (option {code} {def_name} is of type {})", ty.name()),
                ),
            }
        }
        set
    }
}
