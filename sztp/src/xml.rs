//! Just enough XML for RESTCONF bodies: a parsed element tree (local names and the
//! namespace declared on each element; text joined and unescaped), and escaping for the
//! documents this server writes. Entities beyond the five predefined ones, DTDs and
//! processing instructions are refused or ignored, so a body cannot expand.

use quick_xml::Reader;
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesStart, Event};

/// Nesting deeper than this is refused: the RPC inputs are three levels deep.
const MAX_DEPTH: usize = 16;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Element {
    /// The local name (without a prefix).
    pub name: String,
    /// The `xmlns` declared on this element, if any.
    pub namespace: Option<String>,
    pub children: Vec<Element>,
    pub text: String,
}

impl Element {
    /// The text with surrounding whitespace removed.
    pub fn value(&self) -> &str {
        self.text.trim()
    }

    /// This element in the shape of its JSON encoding (RFC 7951), so one reader serves
    /// both: its children as members (a repeated name as a list), a leaf's text as a
    /// string.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::{Map, Value};
        if self.children.is_empty() {
            return Value::String(self.value().to_string());
        }
        let mut m = Map::new();
        for c in &self.children {
            let v = c.to_json();
            match m.get_mut(&c.name) {
                Some(Value::Array(list)) => list.push(v),
                Some(first) => *first = Value::Array(vec![first.take(), v]),
                None => {
                    m.insert(c.name.clone(), v);
                }
            }
        }
        Value::Object(m)
    }
}

fn start(e: &BytesStart<'_>) -> Result<Element, String> {
    let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
    let mut namespace = None;
    for attr in e.attributes() {
        let attr = attr.map_err(|err| format!("bad attribute in <{name}>: {err}"))?;
        if attr.key.as_ref() == b"xmlns" {
            let v = attr
                .unescape_value()
                .map_err(|err| format!("bad xmlns in <{name}>: {err}"))?;
            namespace = Some(v.into_owned());
        }
    }
    Ok(Element {
        name,
        namespace,
        ..Default::default()
    })
}

/// Parses a document into its root element.
pub fn parse(text: &str) -> Result<Element, String> {
    let mut reader = Reader::from_str(text);
    let mut stack: Vec<Element> = Vec::new();
    let mut root = None;
    loop {
        let event = reader
            .read_event()
            .map_err(|e| format!("at byte {}: {e}", reader.buffer_position()))?;
        match event {
            Event::Start(e) => {
                if root.is_some() {
                    return Err("content after the root element".into());
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(format!("elements nested deeper than {MAX_DEPTH}"));
                }
                stack.push(start(&e)?);
            }
            Event::Empty(e) => {
                let el = start(&e)?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None if root.is_none() => root = Some(el),
                    None => return Err("content after the root element".into()),
                }
            }
            Event::End(_) => {
                let Some(el) = stack.pop() else {
                    return Err("closing tag without an opening one".into());
                };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => root = Some(el),
                }
            }
            Event::Text(t) => {
                let s = t.decode().map_err(|e| e.to_string())?;
                match stack.last_mut() {
                    Some(el) => el.text.push_str(&s),
                    None if s.trim().is_empty() => {}
                    None => return Err("text outside the root element".into()),
                }
            }
            Event::CData(t) => {
                let s = t.decode().map_err(|e| e.to_string())?;
                if let Some(el) = stack.last_mut() {
                    el.text.push_str(&s);
                }
            }
            Event::GeneralRef(r) => {
                let resolved = if r.is_char_ref() {
                    r.resolve_char_ref()
                        .map_err(|e| e.to_string())?
                        .map(String::from)
                } else {
                    let name = r.decode().map_err(|e| e.to_string())?;
                    resolve_predefined_entity(&name).map(String::from)
                };
                let Some(s) = resolved else {
                    return Err("unknown entity reference".into());
                };
                if let Some(el) = stack.last_mut() {
                    el.text.push_str(&s);
                }
            }
            Event::DocType(_) => return Err("document type declarations are not accepted".into()),
            Event::Decl(_) | Event::Comment(_) | Event::PI(_) => {}
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err("the document ends inside an element".into());
    }
    root.ok_or_else(|| "no element".into())
}

/// Escapes text for element content and attribute values.
pub fn escape(text: &str) -> String {
    quick_xml::escape::escape(text).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_namespaces_text_and_entities() {
        let doc = r#"<?xml version="1.0"?>
            <input xmlns="urn:x"><hw-model>a&amp;b &#x41;</hw-model><flag/><!-- c --></input>"#;
        let root = parse(doc).unwrap();
        assert_eq!(root.name, "input");
        assert_eq!(root.namespace.as_deref(), Some("urn:x"));
        assert_eq!(root.children[0].value(), "a&b A");
        assert_eq!(root.children[1].name, "flag");
    }

    #[test]
    fn refuses_broken_documents_and_entity_tricks() {
        for bad in [
            "<a><b></a>",
            "<a>",
            "<a/><b/>",
            "<!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>",
            "<a>&x;</a>",
            "",
            &"<a>".repeat(40),
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
