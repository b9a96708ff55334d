//! Decoded options: one entry per code, in order of first appearance.
//!
//! RFC 3396 lets a sender split an option into several instances, adjacent or not, and
//! the receiver must join them in order; [`Options::append`] does that joining, so every
//! consumer sees one logical value per code.

use std::fmt;

/// Values live in one buffer, indexed by (code, start, length): decoding a request
/// costs two allocations instead of one per option. A value that grows or is replaced
/// moves to the end of the buffer; the old bytes stay unused until the message is
/// dropped, which is soon.
#[derive(Clone, Default)]
pub struct Options {
    buf: Vec<u8>,
    entries: Vec<(u8, u32, u32)>,
    /// Counts changes, so a holder can tell cheaply whether someone edited the options.
    revision: u32,
}

impl Options {
    /// Room for `options` options of `bytes` octets in all, without reallocating.
    pub fn with_capacity(options: usize, bytes: usize) -> Self {
        Options {
            buf: Vec::with_capacity(bytes),
            entries: Vec::with_capacity(options),
            revision: 0,
        }
    }

    /// Changes since creation (append, set, remove each count one).
    pub fn revision(&self) -> u32 {
        self.revision
    }

    fn value(&self, &(_, start, len): &(u8, u32, u32)) -> &[u8] {
        &self.buf[start as usize..(start + len) as usize]
    }

    fn position(&self, code: u8) -> Option<usize> {
        self.entries.iter().position(|(c, _, _)| *c == code)
    }

    /// The value of `code` (joined across instances, RFC 3396).
    pub fn get(&self, code: u8) -> Option<&[u8]> {
        self.entries
            .iter()
            .find(|(c, _, _)| *c == code)
            .map(|e| self.value(e))
    }

    /// Whether option `code` is present.
    pub fn contains(&self, code: u8) -> bool {
        self.position(code).is_some()
    }

    /// Joins `data` to an existing instance of `code` (RFC 3396 §6) or adds a new one.
    pub fn append(&mut self, code: u8, data: &[u8]) {
        self.revision = self.revision.wrapping_add(1);
        match self.position(code) {
            None => {
                let start = self.buf.len() as u32;
                self.buf.extend_from_slice(data);
                self.entries.push((code, start, data.len() as u32));
            }
            Some(i) => {
                let (_, start, len) = self.entries[i];
                if (start + len) as usize != self.buf.len() {
                    // Not the last value in the buffer: move it to the end first.
                    let moved = self.buf.len() as u32;
                    self.buf
                        .extend_from_within(start as usize..(start + len) as usize);
                    self.entries[i].1 = moved;
                }
                self.buf.extend_from_slice(data);
                self.entries[i].2 += data.len() as u32;
            }
        }
    }

    /// Sets `code` to `data`, replacing any value it had.
    pub fn set(&mut self, code: u8, data: Vec<u8>) {
        self.revision = self.revision.wrapping_add(1);
        let start = self.buf.len() as u32;
        self.buf.extend_from_slice(&data);
        match self.position(code) {
            Some(i) => self.entries[i] = (code, start, data.len() as u32),
            None => self.entries.push((code, start, data.len() as u32)),
        }
    }

    /// Takes option `code` out; its value, if it was there.
    pub fn remove(&mut self, code: u8) -> Option<Vec<u8>> {
        let i = self.position(code)?;
        self.revision = self.revision.wrapping_add(1);
        let value = self.value(&self.entries[i]).to_vec();
        self.entries.remove(i);
        Some(value)
    }

    /// Every option with its value, in stored order.
    pub fn iter(&self) -> impl Iterator<Item = (u8, &[u8])> {
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
}

impl PartialEq for Options {
    /// Same codes with the same values in the same order, wherever the bytes sit.
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for Options {}

impl fmt::Debug for Options {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joining_and_replacing_keep_values_whole() {
        let mut o = Options::default();
        o.append(60, b"ab");
        o.append(53, &[1]);
        o.append(60, b"cd"); // not last in the buffer: moved, then extended
        o.append(60, b"e"); // now last: extended in place
        o.set(53, vec![3]);
        assert_eq!(o.get(60), Some(&b"abcde"[..]));
        assert_eq!(o.get(53), Some(&[3][..]));
        assert_eq!(o.iter().map(|(c, _)| c).collect::<Vec<_>>(), vec![60, 53]);
        assert_eq!(o.remove(60), Some(b"abcde".to_vec()));
        assert_eq!(o.len(), 1);
        let mut p = Options::default();
        p.append(53, &[3]);
        assert_eq!(o, p);
    }
}
