//! The null relay: datagrams framed (octet counting) as they come and written to one
//! TCP collector by a second thread, so a slow collector never stops the reading, in
//! writes of what waits (after 1 ms when it is little); nothing parsed, nothing kept
//! on disk. Its rate is the ceiling of the setup.

use std::io::Write;
use std::net::{SocketAddr, TcpStream, UdpSocket};

use socket2::{Domain, Protocol, Socket, Type};

#[derive(clap::Args)]
pub(crate) struct Options {
    /// The UDP address received on.
    #[arg(long)]
    listen: SocketAddr,
    /// The TCP collector.
    #[arg(long)]
    to: SocketAddr,
}

pub(crate) fn run(o: &Options) -> anyhow::Result<()> {
    let socket = Socket::new(
        Domain::for_address(o.listen),
        Type::DGRAM,
        Some(Protocol::UDP),
    )?;
    // The relays compared have 8 MiB.
    socket.set_recv_buffer_size(8 << 20)?;
    socket.bind(&o.listen.into())?;
    let socket: UdpSocket = socket.into();
    let mut stream = TcpStream::connect(o.to)?;
    stream.set_nodelay(true)?;
    let (tx, rx) = std::sync::mpsc::channel::<Vec<u8>>();
    let writer = std::thread::spawn(move || -> std::io::Result<()> {
        while let Ok(mut batch) = rx.recv() {
            // What else waits goes in the same write.
            while let Ok(more) = rx.try_recv() {
                batch.extend_from_slice(&more);
            }
            stream.write_all(&batch)?;
            // A trickle: wait for more rather than write each datagram alone (as
            // zerotouch's sender lingers 1 ms).
            if batch.len() < 64 << 10 {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
        }
        Ok(())
    });
    let mut buf = vec![0u8; 65_536];
    loop {
        // Block for one, then take what else is queued.
        socket.set_nonblocking(false)?;
        let mut n = socket.recv(&mut buf)?;
        socket.set_nonblocking(true)?;
        let mut batch = Vec::with_capacity(64 << 10);
        loop {
            write!(batch, "{n} ")?;
            batch.extend_from_slice(&buf[..n]);
            match socket.recv(&mut buf) {
                Ok(more) => n = more,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(e.into()),
            }
        }
        if tx.send(batch).is_err() {
            break;
        }
    }
    writer
        .join()
        .map_err(|_| anyhow::anyhow!("the writer panicked"))??;
    Ok(())
}
