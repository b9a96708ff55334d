//! A collector's messages on disk until it has them: an append-only log in segment
//! files (`<first sequence number>.seg`, each record its length, a CRC-32 and the
//! message), fsynced in batches, and the sequence number of the first message not yet
//! delivered (`delivered`, replaced atomically). After a crash, even `kill -9`, the
//! messages from that number on are sent again, in order: a message delivered just
//! before the crash, whose delivery was not yet written down, goes twice; none is lost
//! once its batch was fsynced. The log is bounded in bytes: past the bound the oldest
//! messages are given up, counted. A torn record at the end (a crash mid-write) is cut
//! off at start.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

/// A segment is closed and a new one begun past this size.
const SEGMENT: u64 = 8 << 20;
/// Record header: length and CRC-32, little endian.
const HEADER: u64 = 8;

/// One collector's spool.
#[derive(Debug)]
pub(crate) struct Spool {
    dir: PathBuf,
    /// Segments by their first sequence number, oldest first, with their sizes.
    segments: Vec<(u64, u64)>,
    writer: Option<BufWriter<File>>,
    /// The sequence number the next message gets.
    next: u64,
    /// The first message not delivered.
    delivered: u64,
    /// What is written down in `delivered`'s file.
    delivered_on_disk: u64,
    /// Octets of undelivered messages (headers included), and the bound.
    pending_bytes: u64,
    bound: u64,
    /// Sizes of the undelivered messages, oldest first, to keep `pending_bytes`.
    sizes: std::collections::VecDeque<u64>,
    unsynced: bool,
}

impl Spool {
    /// Opens (or makes) the spool in `dir`; returns it with the messages it holds that
    /// were not delivered, oldest first, each with its sequence number.
    pub(crate) fn open(dir: &Path, bound: u64) -> io::Result<(Spool, Vec<(u64, String)>)> {
        fs::create_dir_all(dir)?;
        let mut segments: Vec<u64> = fs::read_dir(dir)?
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().to_str()?.strip_suffix(".seg")?.parse().ok())
            .collect();
        segments.sort_unstable();
        let delivered = fs::read_to_string(dir.join("delivered"))
            .ok()
            .and_then(|t| t.trim().parse().ok())
            .unwrap_or_else(|| segments.first().copied().unwrap_or(0));
        let mut spool = Spool {
            dir: dir.to_path_buf(),
            segments: Vec::new(),
            writer: None,
            next: segments.first().copied().unwrap_or(delivered),
            delivered,
            delivered_on_disk: delivered,
            pending_bytes: 0,
            bound,
            sizes: Default::default(),
            unsynced: false,
        };
        let mut pending = Vec::new();
        for &start in &segments {
            let path = spool.segment(start);
            let (records, good) = read_segment(&path)?;
            let size = fs::metadata(&path)?.len();
            if good < size {
                // A torn tail: cut it off (only the last segment can have one).
                tracing::warn!(segment = %path.display(), kept = good, size, "syslog: a torn record at the end of the spool is cut off");
                OpenOptions::new().write(true).open(&path)?.set_len(good)?;
                File::open(&path)?.sync_all()?;
            }
            spool.next = start;
            for r in records {
                if spool.next >= delivered {
                    spool.pending_bytes += HEADER + r.len() as u64;
                    spool.sizes.push_back(HEADER + r.len() as u64);
                    pending.push((spool.next, r));
                }
                spool.next += 1;
            }
            spool.segments.push((start, good));
        }
        spool.delivered = spool.delivered.min(spool.next);
        spool.drop_delivered_segments()?;
        Ok((spool, pending))
    }

    /// The spool's folder.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// From now on the spool holds at most `bound` octets (a smaller bound gives up
    /// the oldest at the next append).
    pub(crate) fn set_bound(&mut self, bound: u64) {
        self.bound = bound;
    }

    fn segment(&self, start: u64) -> PathBuf {
        self.dir.join(format!("{start:020}.seg"))
    }

    /// Appends `message`; returns its sequence number and how many of the oldest
    /// messages were given up to keep the bound.
    pub(crate) fn append(&mut self, message: &str) -> io::Result<(u64, u64)> {
        let size = HEADER + message.len() as u64;
        if self.writer.is_none() || self.segments.last().is_none_or(|s| s.1 >= SEGMENT) {
            self.begin_segment()?;
        }
        let w = self.writer.as_mut().expect("a segment is open");
        w.write_all(&(message.len() as u32).to_le_bytes())?;
        w.write_all(&crc32fast::hash(message.as_bytes()).to_le_bytes())?;
        w.write_all(message.as_bytes())?;
        if let Some(last) = self.segments.last_mut() {
            last.1 += size;
        }
        let seq = self.next;
        self.next += 1;
        self.pending_bytes += size;
        self.sizes.push_back(size);
        self.unsynced = true;
        let mut dropped = 0;
        while self.pending_bytes > self.bound && self.delivered < seq {
            self.deliver_one();
            dropped += 1;
        }
        Ok((seq, dropped))
    }

    fn begin_segment(&mut self) -> io::Result<()> {
        if let Some(mut w) = self.writer.take() {
            w.flush()?;
            w.get_ref().sync_data()?;
        }
        let start = self.next;
        let path = self.segment(start);
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        let size = file.metadata()?.len();
        if self.segments.last().map(|s| s.0) != Some(start) {
            self.segments.push((start, size));
            // The new file's name must survive a crash too.
            File::open(&self.dir)?.sync_all()?;
        }
        self.writer = Some(BufWriter::with_capacity(64 << 10, file));
        Ok(())
    }

    fn deliver_one(&mut self) {
        if let Some(size) = self.sizes.pop_front() {
            self.pending_bytes -= size;
        }
        self.delivered += 1;
    }

    /// Message `seq` reached its collector (or was given up).
    pub(crate) fn delivered(&mut self, seq: u64) {
        while self.delivered <= seq && self.delivered < self.next {
            self.deliver_one();
        }
    }

    /// Writes what was appended and what was delivered to disk (fsync): the batch.
    pub(crate) fn sync(&mut self) -> io::Result<()> {
        if self.unsynced {
            if let Some(w) = self.writer.as_mut() {
                w.flush()?;
                w.get_ref().sync_data()?;
            }
            self.unsynced = false;
        }
        if self.delivered != self.delivered_on_disk {
            let tmp = self.dir.join("delivered.tmp");
            let mut f = File::create(&tmp)?;
            writeln!(f, "{}", self.delivered)?;
            f.sync_all()?;
            fs::rename(&tmp, self.dir.join("delivered"))?;
            self.delivered_on_disk = self.delivered;
            self.drop_delivered_segments()?;
        }
        Ok(())
    }

    /// Deletes the segments whose every message was delivered (never the one written to).
    fn drop_delivered_segments(&mut self) -> io::Result<()> {
        while self.segments.len() > 1 && self.segments[1].0 <= self.delivered_on_disk {
            let (start, _) = self.segments.remove(0);
            fs::remove_file(self.segment(start))?;
        }
        Ok(())
    }
}

/// The records of segment `path`, and how many of its octets hold whole, valid ones.
fn read_segment(path: &Path) -> io::Result<(Vec<String>, u64)> {
    let mut bytes = Vec::new();
    File::open(path)?.read_to_end(&mut bytes)?;
    let (mut records, mut at) = (Vec::new(), 0usize);
    while bytes.len() >= at + HEADER as usize {
        let len = u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 octets")) as usize;
        let crc = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().expect("4 octets"));
        let Some(body) = bytes.get(at + 8..at + 8 + len) else {
            break;
        };
        if crc32fast::hash(body) != crc {
            break;
        }
        records.push(String::from_utf8_lossy(body).into_owned());
        at += 8 + len;
    }
    Ok((records, at as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn undelivered_messages_come_back_after_a_restart_in_order_and_a_torn_tail_is_cut() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (mut s, pending) = Spool::open(dir.path(), 1 << 20).unwrap();
            assert!(pending.is_empty());
            for i in 0..5 {
                s.append(&format!("m{i}")).unwrap();
            }
            s.delivered(1);
            s.sync().unwrap();
        }
        // A crash in the middle of a record: half of it on disk.
        let seg = dir.path().join(format!("{:020}.seg", 0));
        let mut f = OpenOptions::new().append(true).open(&seg).unwrap();
        f.write_all(&[9, 0, 0, 0, 1, 2]).unwrap();
        drop(f);
        let (mut s, pending) = Spool::open(dir.path(), 1 << 20).unwrap();
        assert_eq!(
            pending,
            [(2, "m2".to_string()), (3, "m3".into()), (4, "m4".into())]
        );
        assert_eq!(s.append("m5").unwrap(), (5, 0));
        s.sync().unwrap();
        let (_, pending) = Spool::open(dir.path(), 1 << 20).unwrap();
        assert_eq!(pending.last(), Some(&(5, "m5".to_string())));
    }

    #[test]
    fn past_its_bound_the_oldest_are_given_up_and_delivered_segments_go() {
        let dir = tempfile::tempdir().unwrap();
        let (mut s, _) = Spool::open(dir.path(), 3 * (HEADER + 2)).unwrap();
        let mut dropped = 0;
        for i in 0..5 {
            dropped += s.append(&format!("m{i}")).unwrap().1;
        }
        assert_eq!(dropped, 2);
        s.sync().unwrap();
        let (_, pending) = Spool::open(dir.path(), 1 << 20).unwrap();
        let kept: Vec<u64> = pending.iter().map(|p| p.0).collect();
        assert_eq!(kept, [2, 3, 4]);
        // Segments wholly delivered are deleted.
        // After a restart messages go to a new segment; once the old one's are all
        // delivered, it is deleted.
        let (mut s, _) = Spool::open(dir.path(), u64::MAX).unwrap();
        s.append("m5").unwrap();
        s.delivered(4);
        s.sync().unwrap();
        let names: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.ends_with(".seg"))
            .collect();
        assert_eq!(names, [format!("{:020}.seg", 5)]);
    }
}
