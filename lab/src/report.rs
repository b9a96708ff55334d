//! What the lab shows: each device's timeline (its lease and option or DNS answer,
//! every source asked, the signed-data checks, the image, the scripts, the
//! certificate, each progress report, and its lines at the collector), each failure
//! case with what it shows and whether it showed it, and the fleet's times at the
//! percentiles. The same as JSON for tests and scripts.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::Out;
use crate::device::Run;
use crate::site::Case;

/// A device's lines at the collector: how many, and the last.
#[derive(Debug, Clone, Default)]
pub(crate) struct Collected {
    pub(crate) lines: usize,
    pub(crate) last: String,
}

/// The collector's lines by device (the HOSTNAME field: the serial), once every device
/// that completed has its `bootstrap-complete` line there, or after 10 seconds.
pub(crate) fn collected(file: &Path, runs: &[Run]) -> HashMap<String, Collected> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut by = HashMap::<String, Collected>::new();
        let text = std::fs::read_to_string(file).unwrap_or_default();
        for line in text.lines() {
            // <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD MSG
            let Some(host) = line.split(' ').nth(2) else {
                continue;
            };
            let c = by.entry(host.to_string()).or_default();
            c.lines += 1;
            c.last = line.to_string();
        }
        let all_in = runs.iter().filter(|r| r.complete()).all(|r| {
            by.get(&r.spec.serial)
                .is_some_and(|c| c.last.contains("bootstrap-complete"))
        });
        if all_in || Instant::now() > deadline {
            return by;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The `q` quantile (0..=1) of sorted `values`.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn sorted(values: impl Iterator<Item = f64>) -> Vec<f64> {
    let mut v: Vec<f64> = values.collect();
    v.sort_by(f64::total_cmp);
    v
}

fn percentiles(sorted: &[f64]) -> serde_json::Value {
    json!({
        "p50": quantile(sorted, 0.5),
        "p90": quantile(sorted, 0.9),
        "p99": quantile(sorted, 0.99),
        "max": quantile(sorted, 1.0),
    })
}

fn line(sorted: &[f64]) -> String {
    format!(
        "p50 {:.2} s, p90 {:.2} s, p99 {:.2} s, max {:.2} s",
        quantile(sorted, 0.5),
        quantile(sorted, 0.9),
        quantile(sorted, 0.99),
        quantile(sorted, 1.0)
    )
}

/// Prints the timelines (every device's with `all`, else those not as expected), the
/// failure cases and the fleet's times; whether every device went as expected.
pub(crate) fn print(
    out: &Out,
    runs: &[Run],
    collected: &HashMap<String, Collected>,
    services: &[(&str, f64)],
    all: bool,
    wall: f64,
) -> bool {
    let mut ok = true;
    for run in runs {
        let expected = run.as_expected();
        ok &= expected.is_ok();
        if !all && expected.is_ok() {
            continue;
        }
        let spec = &run.spec;
        out.say(&format!(
            "\n== {} (found by {}{})",
            spec.serial,
            spec.discovery.name(),
            match spec.case {
                Case::Normal => String::new(),
                c => format!("; failure case {}", c.name()),
            }
        ));
        if spec.case != Case::Normal {
            out.say(&format!("   expected: {}", spec.case.explain()));
        }
        for e in &run.events {
            out.say(&format!("   {:>7.3} s  {}", e.at, e.text));
        }
        if let Some(c) = collected.get(&spec.serial) {
            out.say(&format!(
                "   collector: {} line(s) from {}; the last: {}",
                c.lines, spec.serial, c.last
            ));
        } else {
            out.say(&format!("   collector: no line from {}", spec.serial));
        }
        if let Some(e) = &run.error {
            out.say(&format!("   error: {e}"));
        }
        out.say(&format!(
            "   {} in {:.2} s: {}",
            if run.complete() {
                "bootstrapped"
            } else {
                "not bootstrapped"
            },
            run.seconds,
            match &expected {
                Ok(()) => "as expected".to_string(),
                Err(why) => format!("NOT AS EXPECTED: {why}"),
            }
        ));
    }
    let complete = runs.iter().filter(|r| r.complete()).count();
    let times = sorted(runs.iter().filter(|r| r.complete()).map(|r| r.seconds));
    let address = sorted(
        runs.iter()
            .filter(|r| r.complete())
            .map(|r| r.address_seconds),
    );
    let agent = sorted(
        runs.iter()
            .filter(|r| r.complete())
            .map(|r| r.seconds - r.address_seconds),
    );
    out.say(&format!(
        "\n== {} device(s), {complete} bootstrapped, in {wall:.2} s",
        runs.len()
    ));
    if complete > 0 {
        out.say(&format!(
            "   each device, start to bootstrap-complete: {}",
            line(&times)
        ));
        out.say(&format!(
            "   of which its address (DHCP through the relay): {}",
            line(&address)
        ));
        out.say(&format!(
            "   and the agent (DNS, bootstrap servers, image, certificate, reports): {}",
            line(&agent)
        ));
    }
    let agents: f64 = runs.iter().map(|r| r.agent_cpu).sum();
    let per_device = |cpu: f64| 1000.0 * cpu / runs.len().max(1) as f64;
    let mut cpu = vec![format!(
        "the agents {agents:.2} s ({:.1} ms a device)",
        per_device(agents)
    )];
    cpu.extend(
        services
            .iter()
            .map(|(name, s)| format!("{name} {s:.2} s ({:.1} ms a device)", per_device(*s))),
    );
    out.say(&format!("   CPU: {}", cpu.join(", ")));
    let unexpected: Vec<&str> = runs
        .iter()
        .filter(|r| r.as_expected().is_err())
        .map(|r| r.spec.serial.as_str())
        .collect();
    if unexpected.is_empty() {
        out.say("   every device went as expected");
    } else {
        out.say(&format!("   NOT as expected: {}", unexpected.join(", ")));
    }
    ok
}

/// The lab's record.
pub(crate) fn json(
    runs: &[Run],
    collected: &HashMap<String, Collected>,
    services: &[(&str, f64)],
    wall: f64,
) -> serde_json::Value {
    let devices: Vec<_> = runs
        .iter()
        .map(|r| {
            let c = collected.get(&r.spec.serial).cloned().unwrap_or_default();
            json!({
                "serial": r.spec.serial,
                "discovery": r.spec.discovery.name(),
                "case": r.spec.case.name(),
                "complete": r.complete(),
                "as_expected": r.as_expected().is_ok(),
                "unexpected": r.as_expected().err(),
                "seconds": r.seconds,
                "address_seconds": r.address_seconds,
                "agent_cpu_seconds": r.agent_cpu,
                "exit": r.exit,
                "error": r.error,
                "events": r.events.iter().map(|e| json!({"at": e.at, "text": e.text})).collect::<Vec<_>>(),
                "collector": {"lines": c.lines, "last": c.last},
                "record": r.record,
            })
        })
        .collect();
    let complete: Vec<&Run> = runs.iter().filter(|r| r.complete()).collect();
    json!({
        "devices": devices,
        "fleet": {
            "devices": runs.len(),
            "complete": complete.len(),
            "wall_seconds": wall,
            "seconds": percentiles(&sorted(complete.iter().map(|r| r.seconds))),
            "address_seconds": percentiles(&sorted(complete.iter().map(|r| r.address_seconds))),
            "agent_seconds": percentiles(&sorted(complete.iter().map(|r| r.seconds - r.address_seconds))),
            "cpu_seconds": {
                "agents": runs.iter().map(|r| r.agent_cpu).sum::<f64>(),
                "services": services.iter().map(|(n, s)| (n.to_string(), json!(s))).collect::<serde_json::Map<_, _>>(),
            },
        }
    })
}
