//! Messages out of a TCP stream (RFC 6587): octet counting (`LEN SP MSG`) or a line feed
//! after each message (non-transparent framing), told apart by each message's first
//! octet as rsyslog does: a digit starts a count, anything else a line.

/// Why a stream cannot be read on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Broken {
    /// A count that is not digits then a space, or over the largest message.
    Count,
}

/// What came out of the bytes so far.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Frame {
    Message(Vec<u8>),
    /// A line longer than the largest message: its octets up to the next line feed are
    /// dropped.
    TooLong,
}

/// Splits a stream into messages of at most `max` octets.
#[derive(Debug)]
pub(crate) struct Deframer {
    buf: Vec<u8>,
    max: usize,
    /// Inside a line too long, until its line feed.
    skipping: bool,
}

impl Deframer {
    pub(crate) fn new(max: usize) -> Self {
        Deframer {
            buf: Vec::new(),
            max,
            skipping: false,
        }
    }

    /// Takes `bytes` and returns every message complete so far.
    pub(crate) fn push(&mut self, bytes: &[u8]) -> Result<Vec<Frame>, Broken> {
        self.buf.extend_from_slice(bytes);
        let mut out = Vec::new();
        loop {
            if self.skipping {
                match self.buf.iter().position(|&b| b == b'\n') {
                    Some(i) => {
                        self.buf.drain(..=i);
                        self.skipping = false;
                    }
                    None => {
                        self.buf.clear();
                        return Ok(out);
                    }
                }
            }
            // Blank lines between messages are no messages.
            let start = self
                .buf
                .iter()
                .position(|b| !matches!(b, b'\n' | b'\r' | b'\0'));
            let Some(start) = start else {
                self.buf.clear();
                return Ok(out);
            };
            self.buf.drain(..start);
            if self.buf[0].is_ascii_digit() {
                let Some(space) = self.buf.iter().position(|&b| b == b' ') else {
                    if self.buf.len() > 6 || !self.buf.iter().all(u8::is_ascii_digit) {
                        return Err(Broken::Count);
                    }
                    return Ok(out);
                };
                let len: usize = std::str::from_utf8(&self.buf[..space])
                    .ok()
                    .filter(|d| d.bytes().all(|b| b.is_ascii_digit()))
                    .and_then(|d| d.parse().ok())
                    .ok_or(Broken::Count)?;
                if len == 0 || len > self.max {
                    return Err(Broken::Count);
                }
                if self.buf.len() < space + 1 + len {
                    return Ok(out);
                }
                let message = self.buf[space + 1..space + 1 + len].to_vec();
                self.buf.drain(..space + 1 + len);
                out.push(Frame::Message(message));
            } else {
                match self.buf.iter().position(|&b| b == b'\n') {
                    Some(i) if i <= self.max => {
                        let message = self.buf[..i].to_vec();
                        self.buf.drain(..=i);
                        out.push(Frame::Message(message));
                    }
                    Some(_) => {
                        self.skipping = true;
                        out.push(Frame::TooLong);
                    }
                    None if self.buf.len() > self.max => {
                        self.skipping = true;
                        out.push(Frame::TooLong);
                    }
                    None => return Ok(out),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn messages(frames: Vec<Frame>) -> Vec<String> {
        frames
            .into_iter()
            .map(|f| match f {
                Frame::Message(m) => String::from_utf8(m).unwrap(),
                Frame::TooLong => "<too long>".into(),
            })
            .collect()
    }

    #[test]
    fn octet_counted_and_line_framed_messages_come_out_whole_however_they_arrive() {
        let mut d = Deframer::new(64);
        assert_eq!(
            messages(d.push(b"13 <13>1 - a b").unwrap()),
            Vec::<String>::new()
        );
        assert_eq!(
            messages(d.push(b" c\n<13>x\n5 hel").unwrap()),
            ["<13>1 - a b c", "<13>x"]
        );
        assert_eq!(messages(d.push(b"lo").unwrap()), ["hello"]);
        // A line longer than the largest message is dropped to its line feed.
        let long = [b'x'; 100];
        let mut bytes = b"<13>".to_vec();
        bytes.extend_from_slice(&long);
        bytes.extend_from_slice(b"\n<13>next\n");
        assert_eq!(
            messages(d.push(&bytes).unwrap()),
            ["<too long>", "<13>next"]
        );
    }

    #[test]
    fn a_broken_count_breaks_the_stream() {
        assert_eq!(
            Deframer::new(64).push(b"12x <13>").unwrap_err(),
            Broken::Count
        );
        assert_eq!(
            Deframer::new(64).push(b"1234567").unwrap_err(),
            Broken::Count
        );
        assert_eq!(
            Deframer::new(64).push(b"100 <13>").unwrap_err(),
            Broken::Count
        );
        assert_eq!(Deframer::new(64).push(b"0 ").unwrap_err(), Broken::Count);
    }
}
