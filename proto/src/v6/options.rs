//! DHCPv6 options of one message, every instance kept in order: unlike DHCPv4, an
//! option may appear several times (one IA_NA per IA, one IAADDR per address), and
//! nothing is joined.

use std::fmt;

/// Values live in one buffer, indexed by (code, start, length).
#[derive(Clone, Default)]
pub struct Options6 {
    buf: Vec<u8>,
    entries: Vec<(u16, u32, u32)>,
}

impl Options6 {
    /// No options, with room for `options` of `bytes` octets in all.
    pub fn with_capacity(options: usize, bytes: usize) -> Self {
        Options6 {
            buf: Vec::with_capacity(bytes),
            entries: Vec::with_capacity(options),
        }
    }

    fn value(&self, &(_, start, len): &(u16, u32, u32)) -> &[u8] {
        &self.buf[start as usize..(start + len) as usize]
    }

    /// The first instance of `code`.
    pub fn get(&self, code: u16) -> Option<&[u8]> {
        self.entries
            .iter()
            .find(|e| e.0 == code)
            .map(|e| self.value(e))
    }

    /// Every instance of `code`, in order.
    pub fn get_all(&self, code: u16) -> impl Iterator<Item = &[u8]> {
        self.entries
            .iter()
            .filter(move |e| e.0 == code)
            .map(|e| self.value(e))
    }

    /// Whether option `code` is present.
    pub fn contains(&self, code: u16) -> bool {
        self.entries.iter().any(|e| e.0 == code)
    }

    /// Adds an instance after the others.
    pub fn push(&mut self, code: u16, data: &[u8]) {
        let start = self.buf.len() as u32;
        self.buf.extend_from_slice(data);
        self.entries.push((code, start, data.len() as u32));
    }

    /// Removes every instance of `code`; returns how many there were.
    pub fn remove_all(&mut self, code: u16) -> usize {
        let before = self.entries.len();
        self.entries.retain(|e| e.0 != code);
        before - self.entries.len()
    }

    /// Every option with its value, in order.
    pub fn iter(&self) -> impl Iterator<Item = (u16, &[u8])> {
        self.entries.iter().map(|e| (e.0, self.value(e)))
    }

    /// How many options there are.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Codes of the Option Request Option (6), when present.
    pub fn requested(&self) -> impl Iterator<Item = u16> + '_ {
        self.get(super::OptionCode6::ORO)
            .unwrap_or_default()
            .chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
    }

    /// Appends every option as code, length, value.
    pub fn encode(&self, out: &mut Vec<u8>) {
        for (code, data) in self.iter() {
            put_option(out, code, data);
        }
    }
}

/// Appends one option. Values longer than 65535 octets cannot be encoded; callers build
/// options from bounded parts, so this is a programming error worth a panic in tests
/// only: the value is truncated.
pub(crate) fn put_option(out: &mut Vec<u8>, code: u16, data: &[u8]) {
    let data = &data[..data.len().min(u16::MAX as usize)];
    out.extend_from_slice(&code.to_be_bytes());
    out.extend_from_slice(&(data.len() as u16).to_be_bytes());
    out.extend_from_slice(data);
}

impl PartialEq for Options6 {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for Options6 {}

impl fmt::Debug for Options6 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.iter().map(|(c, d)| (c, d.len())))
            .finish()
    }
}
