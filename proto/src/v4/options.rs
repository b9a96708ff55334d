//! Decoded options: one entry per code, in order of first appearance.
//!
//! RFC 3396 lets a sender split an option into several instances, adjacent or not, and
//! the receiver must join them in order; [`Options::append`] does that joining, so every
//! consumer sees one logical value per code.

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    // A request carries about ten options: a vector beats a map for lookup and keeps
    // the order in which the client sent them.
    entries: Vec<(u8, Vec<u8>)>,
}

impl Options {
    pub fn get(&self, code: u8) -> Option<&[u8]> {
        self.entries
            .iter()
            .find(|(c, _)| *c == code)
            .map(|(_, v)| v.as_slice())
    }

    pub fn contains(&self, code: u8) -> bool {
        self.entries.iter().any(|(c, _)| *c == code)
    }

    /// Joins `data` to an existing instance of `code` (RFC 3396 §6) or adds a new one.
    pub fn append(&mut self, code: u8, data: &[u8]) {
        match self.entries.iter_mut().find(|(c, _)| *c == code) {
            Some((_, v)) => v.extend_from_slice(data),
            None => self.entries.push((code, data.to_vec())),
        }
    }

    /// Sets `code` to `data`, replacing any value it had.
    pub fn set(&mut self, code: u8, data: Vec<u8>) {
        match self.entries.iter_mut().find(|(c, _)| *c == code) {
            Some((_, v)) => *v = data,
            None => self.entries.push((code, data)),
        }
    }

    pub fn remove(&mut self, code: u8) -> Option<Vec<u8>> {
        let i = self.entries.iter().position(|(c, _)| *c == code)?;
        Some(self.entries.remove(i).1)
    }

    pub fn iter(&self) -> impl Iterator<Item = (u8, &[u8])> {
        self.entries.iter().map(|(c, v)| (*c, v.as_slice()))
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}
