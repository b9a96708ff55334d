//! Syslog benchmark tools (bench/syslog.sh):
//!
//! - `send`: numbered RFC 5424 messages over UDP at a given rate (or as fast as it
//!   can), each `seq NNNNNNNNNN` at the end, padded to a size;
//! - `collect`: a collector that counts what arrives over TCP (octet counting or LF)
//!   or RELP (each message acknowledged), by number: distinct, twice, out of order,
//!   and the first and last arrival; it prints one line and exits once all arrived or
//!   nothing came for `--idle` seconds;
//! - `relay`: the null relay, the ceiling: UDP in, octet counted over TCP out, nothing
//!   read, nothing kept.
//!
//! usage: zerotouch-syslog-load send --to 198.18.0.1:514 --count 100000 [--rate 20000]
//!        zerotouch-syslog-load collect --listen 127.0.0.1:10514 [--relp] --count N
//!        zerotouch-syslog-load relay --listen 198.18.0.1:514 --to 127.0.0.1:10514

mod collect;
mod relay;
mod send;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "zerotouch-syslog-load",
    version,
    about = "Syslog benchmark tools: load generator, counting collector, null relay"
)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Sends numbered messages over UDP.
    Send(send::Options),
    /// Counts numbered messages arriving over TCP or RELP.
    Collect(collect::Options),
    /// Relays UDP to a TCP collector, doing nothing else.
    Relay(relay::Options),
}

fn main() -> anyhow::Result<()> {
    match Args::parse().command {
        Command::Send(o) => send::run(&o),
        Command::Collect(o) => collect::run(&o),
        Command::Relay(o) => relay::run(&o),
    }
}
