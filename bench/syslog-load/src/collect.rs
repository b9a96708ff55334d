//! The counting collector: numbered messages over TCP (octet counting or LF framing,
//! told apart per frame) or RELP (each `syslog` transaction answered `200 OK`), each
//! counted by its number once; it prints one line and exits once every number arrived,
//! or `--idle` seconds passed without a message after the first.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(clap::Args)]
pub(crate) struct Options {
    /// The TCP address received on.
    #[arg(long)]
    listen: SocketAddr,
    /// Speak RELP instead of plain TCP.
    #[arg(long)]
    relp: bool,
    /// Messages numbered 0 to count - 1 are expected.
    #[arg(long)]
    count: u64,
    /// Seconds without a message, after the first, that end the count.
    #[arg(long, default_value_t = 3)]
    idle: u64,
}

/// What arrived.
struct Tally {
    seen: Vec<bool>,
    received: u64,
    distinct: u64,
    twice: u64,
    out_of_order: u64,
    /// The highest number so far.
    highest: Option<u64>,
    first: Option<Instant>,
    last: Option<Instant>,
}

impl Tally {
    fn take(&mut self, message: &[u8]) {
        let now = Instant::now();
        self.first.get_or_insert(now);
        self.last = Some(now);
        self.received += 1;
        let text = String::from_utf8_lossy(message);
        let Some(seq) = text
            .trim_end()
            .rsplit_once("seq ")
            .and_then(|(_, n)| n.parse::<u64>().ok())
        else {
            return;
        };
        let Some(slot) = self.seen.get_mut(seq as usize) else {
            return;
        };
        if *slot {
            self.twice += 1;
        } else {
            *slot = true;
            self.distinct += 1;
        }
        if self.highest.is_some_and(|h| seq < h) {
            self.out_of_order += 1;
        }
        self.highest = self.highest.max(Some(seq));
    }
}

pub(crate) fn run(o: &Options) -> anyhow::Result<()> {
    let listener = TcpListener::bind(o.listen)?;
    let tally = Arc::new(Mutex::new(Tally {
        seen: vec![false; o.count as usize],
        received: 0,
        distinct: 0,
        twice: 0,
        out_of_order: 0,
        highest: None,
        first: None,
        last: None,
    }));
    let accepting = tally.clone();
    let relp = o.relp;
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let tally = accepting.clone();
            std::thread::spawn(move || {
                let _ = if relp {
                    relp_session(stream, &tally)
                } else {
                    plain(stream, &tally)
                };
            });
        }
    });
    loop {
        std::thread::sleep(Duration::from_millis(100));
        let t = tally.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
        let Some(last) = t.last else { continue };
        if t.distinct < o.count && last.elapsed() < Duration::from_secs(o.idle) {
            continue;
        }
        let secs = t
            .first
            .map_or(0.0, |f| last.duration_since(f).as_secs_f64());
        println!(
            "received={} distinct={} missing={} twice={} out_of_order={} secs={secs:.3} rate={:.0}",
            t.received,
            t.distinct,
            o.count - t.distinct,
            t.twice,
            t.out_of_order,
            t.received as f64 / secs.max(1e-9)
        );
        return Ok(());
    }
}

fn plain(stream: TcpStream, tally: &Mutex<Tally>) -> std::io::Result<()> {
    let mut r = BufReader::with_capacity(256 << 10, stream);
    let mut message = Vec::new();
    loop {
        let first = match r.fill_buf()?.first() {
            Some(&b) => b,
            None => return Ok(()),
        };
        message.clear();
        if first.is_ascii_digit() {
            let mut len = Vec::new();
            r.read_until(b' ', &mut len)?;
            let n: usize = std::str::from_utf8(&len)
                .ok()
                .and_then(|l| l.trim().parse().ok())
                .ok_or_else(|| std::io::Error::other("a broken octet count"))?;
            message.resize(n, 0);
            r.read_exact(&mut message)?;
        } else {
            r.read_until(b'\n', &mut message)?;
        }
        tally
            .lock()
            .map_err(|_| std::io::Error::other("poisoned"))?
            .take(&message);
    }
}

fn relp_session(stream: TcpStream, tally: &Mutex<Tally>) -> std::io::Result<()> {
    let mut w = stream.try_clone()?;
    let mut r = BufReader::with_capacity(256 << 10, stream);
    let mut answers = Vec::new();
    loop {
        let mut header = Vec::new();
        // TXNR SP COMMAND SP DATALEN [SP DATA] LF
        for _ in 0..3 {
            let mut word = Vec::new();
            if r.read_until(b' ', &mut word)? == 0 {
                return Ok(());
            }
            header.push(word);
        }
        let txnr = String::from_utf8_lossy(&header[0]).trim().to_string();
        let command = String::from_utf8_lossy(&header[1]).trim().to_string();
        // The length may end with LF (no data): read_until stopped at a space, so a
        // frame without data holds "LEN\n<next txnr> "; not sent by the relays here.
        let len: usize = String::from_utf8_lossy(&header[2])
            .trim()
            .parse()
            .map_err(|_| std::io::Error::other("a RELP length is not a number"))?;
        let mut data = vec![0u8; len + 1];
        r.read_exact(&mut data)?;
        data.pop();
        match command.as_str() {
            "open" => {
                let offers = b"200 OK\nrelp_version=0\nrelp_software=bench\ncommands=syslog";
                answers.extend_from_slice(format!("{txnr} rsp {} ", offers.len()).as_bytes());
                answers.extend_from_slice(offers);
                answers.push(b'\n');
            }
            "syslog" => {
                tally
                    .lock()
                    .map_err(|_| std::io::Error::other("poisoned"))?
                    .take(&data);
                answers.extend_from_slice(format!("{txnr} rsp 6 200 OK\n").as_bytes());
            }
            _ => {
                answers.extend_from_slice(format!("{txnr} rsp 0\n0 serverclose 0\n").as_bytes());
                w.write_all(&answers)?;
                return Ok(());
            }
        }
        // Answers go out once what was read is used up.
        if r.buffer().is_empty() {
            w.write_all(&answers)?;
            answers.clear();
        }
    }
}
