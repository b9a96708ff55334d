//! Reading a TOML file into its schema types with every unknown key and wrong type
//! reported in one run. serde stops at the first value of the wrong shape; here each
//! is recorded, then in a copy of the text its value is replaced by a placeholder of
//! another type (so that a required key keeps one) or its entry is blanked out (spaces,
//! so every later line and column stays where it was), and the file is read again,
//! until it reads or nothing more can be taken out. Messages are in the docs' words
//! (`zerotouch_plugin::wording`).

use std::ops::Range;

use serde::de::DeserializeOwned;
use zerotouch_plugin::wording::plain_message;

use super::{ConfigError, SourceMap};

/// How many shape errors one run reports at most.
const MAX_ERRORS: usize = 100;

/// Values of each TOML type, tried in turn in place of a value of the wrong type so
/// that a required key keeps a value (taking it out would report it missing).
const PLACEHOLDERS: [&str; 5] = ["0", "\"\"", "[]", "{}", "false"];

/// The first thing wrong with `text` as `T`.
enum Reading<T> {
    Read(T),
    Syntax(toml::de::Error),
    Shape {
        key: String,
        span: Option<Range<usize>>,
        message: String,
    },
}

fn read<T: DeserializeOwned>(text: &str) -> Reading<T> {
    let de = match toml::Deserializer::parse(text) {
        Ok(de) => de,
        Err(e) => return Reading::Syntax(e),
    };
    match serde_path_to_error::deserialize::<_, T>(de) {
        Ok(value) => Reading::Read(value),
        Err(e) => {
            let key = zerotouch_plugin::key_path(e.path());
            let inner = e.into_inner();
            Reading::Shape {
                key,
                span: inner.span(),
                message: inner.message().to_string(),
            }
        }
    }
}

/// The file as `T`, or every syntax, unknown-key and type error in it.
pub(crate) fn deserialize_all<T: DeserializeOwned>(
    src: &SourceMap<'_>,
) -> Result<T, Vec<ConfigError>> {
    let mut text = src.text.to_string();
    let mut errors: Vec<ConfigError> = Vec::new();
    // Keys whose whole entry was blanked out.
    let mut removed: Vec<String> = Vec::new();
    while errors.len() < MAX_ERRORS {
        let (key, span, message) = match read::<T>(&text) {
            Reading::Read(value) if errors.is_empty() => return Ok(value),
            Reading::Read(_) => break,
            // What is taken out keeps the text valid TOML; should it not, the errors
            // found so far stand alone.
            Reading::Syntax(_) if !errors.is_empty() => break,
            Reading::Syntax(e) => {
                errors.push(src.error(e.span(), "", e.message().to_string()));
                break;
            }
            Reading::Shape { key, span, message } => (key, span, message),
        };
        // A required key reported missing because its entry was taken out below:
        // already reported, and nothing more can be read.
        if let Some(name) = message.strip_prefix("missing field ")
            && removed
                .iter()
                .any(|r| *r == format!("{key}.{}", name.trim_matches('`')))
        {
            break;
        }
        errors.push(src.error(span.clone(), key.as_str(), described(&message, &key)));
        // A misspelt key stands for the one it was meant to be: not missing as well.
        removed.extend(zerotouch_plugin::wording::meant_key(&message, &key));
        let Some(span) = span else { break };
        if message.starts_with("missing field ") {
            break;
        }
        let next = if message.starts_with("unknown field ") {
            None
        } else {
            PLACEHOLDERS
                .iter()
                .filter_map(|p| replaced(&text, &span, p))
                .find(|candidate| match read::<T>(candidate) {
                    Reading::Read(_) => true,
                    Reading::Syntax(_) => false,
                    Reading::Shape {
                        key: k, span: s, ..
                    } => k != key && s.is_none_or(|s| s.start != span.start),
                })
        };
        let next = next.or_else(|| {
            let range = entry_around(&text, span.start)?;
            let mut t = text.clone();
            blank(&mut t, range);
            // The entry is gone: for an element, its whole array.
            removed.push(entry_key(&key).to_string());
            Some(t)
        });
        match next {
            Some(t) => text = t,
            None => break,
        }
    }
    errors.sort_by_key(|e| (e.line, e.column));
    Err(errors)
}

/// The key of the entry that holds `key`: `a.b[1].c[0]` → `a.b[1].c`.
fn entry_key(key: &str) -> &str {
    let mut k = key;
    while k.ends_with(']') {
        match k.rfind('[') {
            Some(i) => k = &k[..i],
            None => break,
        }
    }
    k
}

/// The message in the docs' words; an unknown key that is an option's name is told
/// where options go.
fn described(message: &str, key: &str) -> String {
    let name = key.rsplit('.').next().unwrap_or_default();
    let option = if key.starts_with("dhcp6") {
        crate::options::builtin6_by_name(name).is_some()
    } else {
        crate::options::builtin_by_name(name).is_some()
    };
    if message.starts_with("unknown field ") && option {
        return format!(
            "unknown field `{name}`: {name} is an option, set in this scope's options table: options = {{ {name} = ... }}"
        );
    }
    plain_message(message, key)
}

/// `text` with the value at `span` replaced by `value` padded with spaces; where the
/// old value is shorter, its `key = ` is written `key=` to make room. None when it does
/// not fit on the line.
fn replaced(text: &str, span: &Range<usize>, value: &str) -> Option<String> {
    let old = text.get(span.clone())?;
    let room = old.split('\n').next().unwrap_or_default().len();
    let mut t = text.to_string();
    if room >= value.len() && text.is_char_boundary(span.start + value.len()) {
        t.replace_range(span.start..span.start + value.len(), value);
        blank(&mut t, span.start + value.len()..span.end);
        return Some(t);
    }
    // The spaces before the value make room too (`, 5]` holds `""`).
    let spaces = text[..span.start]
        .bytes()
        .rev()
        .take_while(|b| *b == b' ' || *b == b'\t')
        .count();
    if spaces > 0 && room + spaces >= value.len() {
        let start = span.start - spaces;
        blank(&mut t, start..span.end);
        t.replace_range(start..start + value.len(), value);
        return Some(t);
    }
    let entry = entry_around(text, span.start)?;
    let key = text.get(entry.start..span.start)?;
    if key.contains(['\n', '{', '[']) {
        return None;
    }
    let compact = format!(
        "{}={value}",
        key.trim_end().trim_end_matches('=').trim_end()
    );
    if compact.len() > span.end - entry.start {
        return None;
    }
    blank(&mut t, entry.start..span.end);
    t.replace_range(entry.start..entry.start + compact.len(), &compact);
    Some(t)
}

/// Spaces for every byte of `range` but its line ends.
fn blank(text: &mut String, range: Range<usize>) {
    let blanked: String = text[range.clone()]
        .bytes()
        .map(|b| {
            if b == b'\n' || b == b'\r' {
                b as char
            } else {
                ' '
            }
        })
        .collect();
    text.replace_range(range, &blanked);
}

/// The whole entry of the TOML document that byte `offset` falls in: a `key = value`
/// (its value may span lines: arrays, inline tables, multi-line strings), or a table
/// header with the entries under it.
fn entry_around(text: &str, offset: usize) -> Option<Range<usize>> {
    let items = items(text);
    items
        .into_iter()
        .filter(|r| r.contains(&offset))
        .min_by_key(|r| r.len())
}

/// The ranges of the document's entries and table sections.
fn items(text: &str) -> Vec<Range<usize>> {
    let b = text.as_bytes();
    let mut items = Vec::new();
    let mut header: Option<usize> = None;
    let mut entry: Option<usize> = None;
    let mut depth = 0usize;
    let mut line_start = true;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if line_start && depth == 0 && entry.is_none() {
            let indent = b[i..]
                .iter()
                .take_while(|&&c| c == b' ' || c == b'\t')
                .count();
            let first = b.get(i + indent).copied();
            match first {
                Some(b'[') => {
                    if let Some(h) = header.take() {
                        items.push(h..i);
                    }
                    header = Some(i);
                    // A header is one line; its brackets are not a value's.
                    i = skip_line(b, i);
                    continue;
                }
                Some(b'#' | b'\n' | b'\r') | None => {}
                Some(_) => entry = Some(i),
            }
            i += indent;
            line_start = false;
            continue;
        }
        line_start = false;
        match c {
            b'\n' => {
                line_start = true;
                if depth == 0
                    && let Some(e) = entry.take()
                {
                    items.push(e..i);
                }
            }
            b'#' => {
                i = skip_line(b, i);
                continue;
            }
            b'"' | b'\'' => {
                i = skip_string(b, i);
                continue;
            }
            b'[' | b'{' => depth += 1,
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    if let Some(e) = entry {
        items.push(e..b.len());
    }
    if let Some(h) = header {
        items.push(h..b.len());
    }
    items
}

/// The offset of the line end at or after `i` (or the end of the text).
fn skip_line(b: &[u8], i: usize) -> usize {
    b[i..]
        .iter()
        .position(|&c| c == b'\n')
        .map_or(b.len(), |p| i + p)
}

/// The offset just past the string that starts at `i` (basic, literal, or multi-line).
fn skip_string(b: &[u8], i: usize) -> usize {
    let q = b[i];
    let triple = b.get(i..i + 3) == Some(&[q, q, q][..]);
    let (mut j, close) = if triple { (i + 3, 3) } else { (i + 1, 1) };
    while j < b.len() {
        if q == b'"' && b[j] == b'\\' {
            j += 2;
            continue;
        }
        if !triple && b[j] == b'\n' {
            return j;
        }
        if b[j] == q && (close == 1 || b.get(j..j + 3) == Some(&[q, q, q][..])) {
            return j + close;
        }
        j += 1;
    }
    b.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(text: &str, needle: &str) -> String {
        let at = text.find(needle).unwrap();
        text[entry_around(text, at).unwrap()].to_string()
    }

    #[test]
    fn entries_span_their_whole_value_and_sections_their_entries() {
        let text = "# top\n[a]\nx = 1 # c\ny = [\n  \"]\",\n  { z = '}' },\n]\ns = \"\"\"\nm [\n\"\"\"\n\n[[b]]\nk = { v = 2 }\n";
        assert_eq!(entry(text, "x ="), "x = 1 # c");
        assert_eq!(entry(text, "'}'"), "y = [\n  \"]\",\n  { z = '}' },\n]");
        assert_eq!(entry(text, "m ["), "s = \"\"\"\nm [\n\"\"\"");
        assert_eq!(entry(text, "v = 2"), "k = { v = 2 }");
        assert_eq!(entry(text, "[[b]]"), "[[b]]\nk = { v = 2 }\n");
    }

    #[test]
    fn an_element_stands_for_its_array_entry() {
        assert_eq!(
            entry_key("dhcp4.subnet[1].interfaces[0]"),
            "dhcp4.subnet[1].interfaces"
        );
        assert_eq!(entry_key("dhcp4.subnet[1]"), "dhcp4.subnet");
        assert_eq!(entry_key("log.level"), "log.level");
    }

    #[test]
    fn blanking_keeps_lines_and_columns() {
        let mut text = "a = 1\nb = [\n 2,\n]\nc = 'é'\n".to_string();
        let len = text.len();
        let b = entry_around(&text, 6).unwrap();
        blank(&mut text, b);
        let c = entry_around(&text, text.find('c').unwrap()).unwrap();
        blank(&mut text, c);
        assert_eq!(text.len(), len);
        assert_eq!(text.lines().count(), 5);
        assert_eq!(text.lines().next(), Some("a = 1"));
        assert!(
            text.lines().skip(1).all(|l| l.trim().is_empty()),
            "{text:?}"
        );
    }
}
