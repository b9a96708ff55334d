//! A plugin instance's settings: the `settings` table of its `[[plugin]]` entry,
//! deserialized into the plugin's own type with errors that name the file, line and key
//! like the server's own.

use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::de::{DeserializeOwned, IntoDeserializer};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// A settings error, relative to the settings table: `key` is a dotted path inside it
/// (`urls[1]`), `span` the byte range in the configuration file when known.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", if key.is_empty() { String::new() } else { format!("{key}: ") })]
pub struct SettingsError {
    /// The dotted key the error is about, relative to the plugin's table (empty for the table itself).
    pub key: String,
    /// Where in the file, when known (a byte range).
    pub span: Option<Range<usize>>,
    /// What is wrong, in the docs' words.
    pub message: String,
}

impl SettingsError {
    /// An error about `key`, located by the server from the key.
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        SettingsError {
            key: key.into(),
            span: None,
            message: message.into(),
        }
    }
}

/// One step of a key path into the configuration document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathStep {
    /// A table key.
    Key(String),
    /// An array index.
    Index(usize),
}

#[derive(Debug, Clone)]
enum Source {
    /// The table at `path` in a whole configuration file; when `optional` and the last
    /// step is absent, an empty table at its parent (a `[[plugin]]` entry without
    /// `settings`).
    Path { path: Vec<PathStep>, optional: bool },
    /// The text is the settings table itself (what a dynamic plugin is given).
    Standalone,
}

/// A configuration file parsed once, for every [`Settings`] read from it: a server
/// creates settings for each plugin entry and each scope table, and parsing the file
/// for each would make start-up grow with the square of the configuration.
#[derive(Debug, Clone)]
pub struct Document<'t> {
    root: Result<Spanned<DeValue<'t>>, SettingsError>,
}

impl<'t> Document<'t> {
    /// The TOML document `text`, keeping where each value is in it.
    pub fn parse(text: &'t str) -> Document<'t> {
        let root = DeTable::parse(text)
            .map(|table| Spanned::new(table.span(), DeValue::Table(table.into_inner())))
            .map_err(|e| SettingsError {
                key: String::new(),
                span: e.span(),
                message: e.message().to_string(),
            });
        Document { root }
    }
}

/// The document settings are read from: the server's, shared, or one of their own.
#[derive(Debug, Clone)]
enum Doc<'d> {
    Shared(&'d Document<'d>),
    Own(Document<'d>),
}

impl<'d> Doc<'d> {
    fn root(&self) -> &Result<Spanned<DeValue<'d>>, SettingsError> {
        match self {
            Doc::Shared(d) => &d.root,
            Doc::Own(d) => &d.root,
        }
    }
}

/// Where a plugin instance's settings come from.
#[derive(Debug, Clone)]
pub struct Settings<'d> {
    file: PathBuf,
    doc: Doc<'d>,
    source: Source,
    instance: String,
    /// What the plugin found questionable but accepted; the server prints them with
    /// their place in the file (`check`) or logs them (at start).
    warnings: std::cell::RefCell<Vec<SettingsError>>,
    /// Shape errors after the first that `parse` returns (unknown keys, wrong types):
    /// the server reports them all in one run.
    more_errors: std::cell::RefCell<Vec<SettingsError>>,
}

impl<'d> Settings<'d> {
    /// The settings of the `index`th `[[plugin]]` entry of configuration `doc`.
    pub fn for_entry(file: &Path, doc: &'d Document<'d>, index: usize, instance: &str) -> Self {
        let path = vec![
            PathStep::Key("plugin".into()),
            PathStep::Index(index),
            PathStep::Key("settings".into()),
        ];
        let source = Source::Path {
            path,
            optional: true,
        };
        Settings::with(file, Doc::Shared(doc), source, instance)
    }

    /// The table at `path` of configuration `doc`: an instance's settings for one scope
    /// of the server's configuration (`dhcp4.subnet[0].plugin.<instance>`).
    pub fn at(file: &Path, doc: &'d Document<'d>, path: Vec<PathStep>, instance: &str) -> Self {
        let source = Source::Path {
            path,
            optional: false,
        };
        Settings::with(file, Doc::Shared(doc), source, instance)
    }

    /// Settings given as a TOML document of their own.
    pub fn standalone(text: &'d str, instance: &str) -> Self {
        let doc = Doc::Own(Document::parse(text));
        Settings::with(Path::new(""), doc, Source::Standalone, instance)
    }

    fn with(file: &Path, doc: Doc<'d>, source: Source, instance: &str) -> Self {
        Settings {
            file: file.to_path_buf(),
            doc,
            source,
            instance: instance.to_string(),
            warnings: Default::default(),
            more_errors: Default::default(),
        }
    }

    /// The instance's name (`instance` in its `[[plugin]]` entry, else the plugin's).
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// The configuration file, against which relative paths in settings resolve.
    pub fn config_file(&self) -> &Path {
        &self.file
    }

    /// Resolves a path from the settings relative to the configuration file's folder.
    pub fn resolve_path(&self, path: &str) -> PathBuf {
        let dir = self.file.parent().unwrap_or(Path::new("."));
        dir.join(path)
    }

    /// Deserializes the settings into the plugin's type. An absent `settings` table is an
    /// empty one, so `#[serde(default)]` fields work and required ones are reported.
    ///
    /// Every unknown key and wrong type is found in one call: each is taken out of a copy
    /// of the table and the rest read again. The first is returned; the server reads
    /// the others afterwards and reports them all.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, SettingsError> {
        const MAX_ERRORS: usize = 100;
        let mut value = match self.target()? {
            (Some(v), _) => v.clone(),
            (None, span) => Spanned::new(span, DeValue::Table(DeTable::new())),
        };
        let mut errors: Vec<SettingsError> = Vec::new();
        let mut removed: Vec<String> = Vec::new();
        while errors.len() < MAX_ERRORS {
            let de = toml::de::ValueDeserializer::from(value.clone()).into_deserializer();
            let e = match serde_path_to_error::deserialize::<_, T>(de) {
                Ok(v) if errors.is_empty() => return Ok(v),
                Ok(_) => break,
                Err(e) => e,
            };
            let key = key_path(e.path());
            let steps: Vec<PathStep> = e
                .path()
                .iter()
                .filter_map(|s| match s {
                    serde_path_to_error::Segment::Map { key } if key != SPANNED_VALUE => {
                        Some(PathStep::Key(key.clone()))
                    }
                    serde_path_to_error::Segment::Seq { index } => Some(PathStep::Index(*index)),
                    _ => None,
                })
                .collect();
            let inner = e.into_inner();
            let message = inner.message();
            if let Some(name) = message.strip_prefix("missing field ") {
                let name = name.trim_matches('`');
                let full = if key.is_empty() {
                    name.to_string()
                } else {
                    format!("{key}.{name}")
                };
                // Missing because an earlier error took it out: already reported.
                if !removed.contains(&full) {
                    errors.push(self.shape_error(&key, inner.span(), message));
                }
                break;
            }
            errors.push(self.shape_error(&key, inner.span(), message));
            // A misspelt key stands for the one it was meant to be.
            removed.extend(crate::wording::meant_key(message, &key));
            match remove_entry(&mut value, &steps) {
                Some(gone) => removed.push(gone),
                None => break,
            }
        }
        let mut errors = errors.into_iter();
        let first = errors
            .next()
            .unwrap_or_else(|| SettingsError::new("", "the settings cannot be read"));
        self.more_errors.borrow_mut().extend(errors);
        Err(first)
    }

    fn shape_error(&self, key: &str, span: Option<Range<usize>>, message: &str) -> SettingsError {
        // The deserializer may place an error on the value around the one at fault (a
        // list for one of its elements): the key's own place, inside it, is better.
        let located = self.locate(key);
        let span = match (span, located) {
            (Some(s), Some(l)) if s.start <= l.start && l.end <= s.end => Some(l),
            (s, l) => s.or(l),
        };
        SettingsError {
            message: crate::wording::plain_message(message, key),
            key: key.to_string(),
            span,
        }
    }

    host_only! {
        /// The errors `parse` found after the one it returned.
        fn take_errors(&self) -> Vec<SettingsError> {
            std::mem::take(&mut self.more_errors.borrow_mut())
        }
    }

    /// An error about a value the plugin read through `toml::Spanned`.
    pub fn error_at<T>(
        &self,
        value: &Spanned<T>,
        key: impl Into<String>,
        message: impl Into<String>,
    ) -> SettingsError {
        SettingsError {
            key: key.into(),
            span: Some(value.span()),
            message: message.into(),
        }
    }

    /// An error about a key (`urls[1]`, `server.port`), located in the file if present.
    pub fn error(&self, key: impl Into<String>, message: impl Into<String>) -> SettingsError {
        let key = key.into();
        SettingsError {
            span: self.locate(&key),
            key,
            message: message.into(),
        }
    }

    /// The byte range of `key` (dotted, with `[i]` for array elements) inside the
    /// settings; the whole settings table (or its `[[plugin]]` entry) for an empty key or
    /// when the key is absent.
    pub fn locate(&self, key: &str) -> Option<Range<usize>> {
        let (mut at, mut best) = self.target().ok()?;
        for step in key_steps(key) {
            match at.and_then(|v| step.of(v)) {
                Some(v) => {
                    best = v.span();
                    at = Some(v);
                }
                None => break,
            }
        }
        Some(best)
    }

    /// Records a warning about `key` (located in the file when present): the settings
    /// are accepted, and the operator is told.
    pub fn warn(&self, key: impl Into<String>, message: impl Into<String>) {
        let w = self.error(key, message);
        self.warnings.borrow_mut().push(w);
    }

    host_only! {
        /// The warnings recorded so far.
        fn take_warnings(&self) -> Vec<SettingsError> {
            std::mem::take(&mut self.warnings.borrow_mut())
        }
    }

    /// For settings given in a scope of the server's configuration (`plugin.<instance>`
    /// inside a subnet, class ...): whether that scope also sets `key`, a dotted path
    /// such as `options.bootfile-name`. False for a plugin's own `[[plugin]]` settings.
    pub fn scope_has(&self, key: &str) -> bool {
        let Source::Path {
            path,
            optional: false,
        } = &self.source
        else {
            return false;
        };
        let Some(scope) = path.len().checked_sub(2).map(|n| &path[..n]) else {
            return false;
        };
        let Ok(root) = self.doc.root() else {
            return false;
        };
        scope
            .iter()
            .map(Step::from)
            .chain(key_steps(key))
            .try_fold(root, |at, step| step.of(at))
            .is_some()
    }

    /// The settings as a TOML document of their own: what a dynamic plugin receives.
    pub fn to_toml(&self) -> Result<String, SettingsError> {
        let table: toml::Table = self.parse()?;
        toml::to_string(&table).map_err(|e| SettingsError::new("", e.to_string()))
    }

    /// The settings value (`None` for an absent optional table, which reads as empty)
    /// and the span to blame when a key is missing.
    #[allow(clippy::type_complexity)]
    fn target(&self) -> Result<(Option<&Spanned<DeValue<'d>>>, Range<usize>), SettingsError> {
        let root = self.doc.root().as_ref().map_err(Clone::clone)?;
        match &self.source {
            Source::Standalone => Ok((Some(root), root.span())),
            Source::Path { path, optional } => {
                let mut at = root;
                for (i, step) in path.iter().enumerate() {
                    match Step::from(step).of(at) {
                        Some(v) => at = v,
                        None if *optional && i + 1 == path.len() => return Ok((None, at.span())),
                        None => {
                            return Err(SettingsError::new(
                                "",
                                format!("the configuration has no {step:?} at this place"),
                            ));
                        }
                    }
                }
                Ok((Some(at), at.span()))
            }
        }
    }
}

/// The dotted key a deserialization error is about, as an operator writes it:
/// `toml::Spanned` adds an internal path segment, which ends before it.
/// The key serde uses inside `toml::Spanned`, which is not the file's.
const SPANNED_VALUE: &str = "$__serde_spanned_private_value";

/// Takes out of `value` the entry that `steps` leads into (the whole array when the path
/// ends in an element, so that later indices stay the file's), and says its dotted key.
fn remove_entry(value: &mut Spanned<DeValue<'_>>, steps: &[PathStep]) -> Option<String> {
    let last_key = steps.iter().rposition(|s| matches!(s, PathStep::Key(_)))?;
    let (parent, name) = (&steps[..last_key], &steps[last_key]);
    let PathStep::Key(name) = name else {
        return None;
    };
    let mut at = value;
    for step in parent {
        at = match (step, at.get_mut()) {
            (PathStep::Key(k), DeValue::Table(t)) => t.get_mut(k.as_str())?,
            (PathStep::Index(i), DeValue::Array(a)) => a.get_mut(*i)?,
            _ => return None,
        };
    }
    let DeValue::Table(table) = at.get_mut() else {
        return None;
    };
    table.remove(name.as_str())?;
    let mut key = String::new();
    for s in &steps[..=last_key] {
        match s {
            PathStep::Key(k) if key.is_empty() => key.push_str(k),
            PathStep::Key(k) => {
                key.push('.');
                key.push_str(k);
            }
            PathStep::Index(i) => key.push_str(&format!("[{i}]")),
        }
    }
    Some(key)
}

/// The dotted form (`a.b[1].c`) of a serde path, for error messages.
pub fn key_path(path: &serde_path_to_error::Path) -> String {
    let key = path
        .to_string()
        .replace(".$__serde_spanned_private_value", "");
    if key == "." { String::new() } else { key }
}

enum Step<'k> {
    Key(&'k str),
    Index(usize),
}

impl<'k> From<&'k PathStep> for Step<'k> {
    fn from(step: &'k PathStep) -> Self {
        match step {
            PathStep::Key(k) => Step::Key(k),
            PathStep::Index(i) => Step::Index(*i),
        }
    }
}

impl Step<'_> {
    /// The value this step leads to from `at`.
    fn of<'v, 't>(&self, at: &'v Spanned<DeValue<'t>>) -> Option<&'v Spanned<DeValue<'t>>> {
        match self {
            Step::Key(k) => at.get_ref().get(*k),
            Step::Index(i) => at.get_ref().get(*i),
        }
    }
}

/// `a.b[2].c` → a, b, 2, c.
fn key_steps(key: &str) -> Vec<Step<'_>> {
    let mut steps = Vec::new();
    for part in key.split('.').filter(|p| !p.is_empty()) {
        let (name, mut rest) = part.split_once('[').map_or((part, ""), |(n, r)| (n, r));
        if !name.is_empty() {
            steps.push(Step::Key(name));
        }
        while let Some((index, after)) = rest.split_once(']') {
            if let Ok(i) = index.parse() {
                steps.push(Step::Index(i));
            }
            rest = after.strip_prefix('[').unwrap_or(after);
        }
    }
    steps
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)] // read through Debug only
    struct Demo {
        urls: Vec<String>,
        #[serde(default)]
        port: u16,
    }

    const FILE: &str = r#"
[dhcp4]
interfaces = ["eth0"]

[[plugin]]
name = "one"

[[plugin]]
name = "two"
[plugin.settings]
urls = ["a", "b"]
port = 70000
"#;

    fn line_of(span: Range<usize>) -> usize {
        FILE[..span.start].matches('\n').count() + 1
    }

    #[test]
    fn errors_carry_key_and_line() {
        let doc = Document::parse(FILE);
        let s = Settings::for_entry(Path::new("x.toml"), &doc, 1, "two");
        let e = s.parse::<Demo>().unwrap_err();
        assert_eq!(e.key, "port");
        assert_eq!(line_of(e.span.unwrap()), 12);
        let missing = Settings::for_entry(Path::new("x.toml"), &doc, 0, "one")
            .parse::<Demo>()
            .unwrap_err();
        assert!(
            missing.message.contains("missing field `urls`"),
            "{missing}"
        );
        assert_eq!(line_of(missing.span.unwrap()), 5);
    }

    /// Every unknown key and wrong type in one parse: the first returned, the others
    /// kept for the server; a required key taken out is not reported missing too.
    #[test]
    fn every_shape_error_is_found_in_one_parse() {
        let text = "[[plugin]]\nname = \"x\"\n[plugin.settings]\nurls = [\"a\", 5]\nport = \"x\"\nprot = 1\nextra = true\n";
        let doc = Document::parse(text);
        let s = Settings::for_entry(Path::new("x.toml"), &doc, 0, "x");
        let first = s.parse::<Demo>().unwrap_err();
        let mut all = vec![first];
        all.extend(s.take_errors());
        let mut found: Vec<String> = all.iter().map(|e| e.to_string()).collect();
        found.sort();
        assert_eq!(
            found,
            [
                "extra: unknown field `extra` (allowed here: urls, port)",
                "port: expected a whole number from 0 to 65535, found the string \"x\"",
                "prot: unknown field `prot`; did you mean `port`?",
                "urls[1]: expected a string, found the number 5",
            ],
            "{found:#?}"
        );
        assert!(s.take_errors().is_empty());
    }

    #[test]
    fn locate_keys_and_elements() {
        let doc = Document::parse(FILE);
        let s = Settings::for_entry(Path::new("x.toml"), &doc, 1, "two");
        let span = s.locate("urls[1]").unwrap();
        assert_eq!(&FILE[span], "\"b\"");
        assert_eq!(s.error("nope", "m").span.map(line_of), Some(10));
    }

    #[test]
    fn scope_keys_and_warnings() {
        let doc = Document::parse(
            "[[dhcp4.subnet]]\noptions = { bootfile-name = \"x\" }\nplugin.p = { a = 1 }\n",
        );
        let path = vec![
            PathStep::Key("dhcp4".into()),
            PathStep::Key("subnet".into()),
            PathStep::Index(0),
            PathStep::Key("plugin".into()),
            PathStep::Key("p".into()),
        ];
        let s = Settings::at(Path::new("x.toml"), &doc, path, "p");
        assert!(s.scope_has("options.bootfile-name"));
        assert!(!s.scope_has("options.67"));
        s.warn("a", "questionable");
        let w = s.take_warnings();
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].key, "a");
        assert!(w[0].span.is_some());
        assert!(!Settings::standalone("a = 1", "p").scope_has("a"));
    }

    #[test]
    fn instance_and_paths_relative_to_the_configuration() {
        let doc = Document::parse(FILE);
        let s = Settings::for_entry(Path::new("/etc/zerotouch/dhcpd.toml"), &doc, 1, "two");
        assert_eq!(s.instance(), "two");
        assert_eq!(s.config_file(), Path::new("/etc/zerotouch/dhcpd.toml"));
        assert_eq!(
            s.resolve_path("certs/bs.pem"),
            Path::new("/etc/zerotouch/certs/bs.pem")
        );
    }

    #[test]
    fn standalone_round_trip() {
        let doc = Document::parse(FILE);
        let s = Settings::for_entry(Path::new("x.toml"), &doc, 1, "two");
        let text = s.to_toml().unwrap();
        let again = Settings::standalone(&text, "two");
        let e = again.parse::<Demo>().unwrap_err();
        assert_eq!(e.key, "port");
    }
}
