//! Simulations as text (a terminal), Markdown (a game-day write-up) and JSON.

use crate::simulate::{Outcome, Scenario, Simulation, JSON_FORMAT_VERSION};
use serde_json::{json, Value};
use std::fmt::Write;

fn title(sc: &Scenario) -> String {
    match sc {
        Scenario::Fail { region } => format!("{region} fails (gone: no answers, no traffic)"),
        Scenario::Isolate { region } => format!(
            "{region} is isolated (traffic to and from other regions blocked; users and health checkers still reach it)"
        ),
        Scenario::Degrade { region, error_rate } => format!(
            "{region} is degraded ({:.0} % of its requests fail; it stays reachable)",
            error_rate * 100.0
        ),
    }
}

fn rto(o: &Outcome) -> String {
    match (&o.rto_seconds, &o.rto_formula) {
        (Some(d), _) => format!("{} s", d.as_secs_f64()),
        (None, Some(f)) if f.starts_with("unknown") => "unknown".into(),
        _ => "-".into(),
    }
}

fn yes(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "NO"
    }
}

fn details(o: &Outcome, s: &mut String, bullet: &str) {
    for st in &o.stalled {
        let _ = writeln!(
            s,
            "{bullet}stalls in {}: {} ({})",
            st.region,
            st.reason,
            st.path.join(" / ")
        );
    }
    if let Some(w) = &o.writes_fail {
        let _ = writeln!(s, "{bullet}writes: {w}");
    }
    let _ = writeln!(
        s,
        "{bullet}detection {}: {}",
        if o.detection.fires {
            "fires"
        } else {
            "does not fire"
        },
        o.detection.why
    );
    if let Some(e) = o.error_share {
        let _ = writeln!(
            s,
            "{bullet}{:.1} % of the service's requests fail while nothing moves",
            e * 100.0
        );
    }
    if let Some(f) = &o.rto_formula {
        let _ = writeln!(s, "{bullet}recovery: {f}");
    }
    if let Some(r) = o.rpo_exposed_seconds {
        let _ = writeln!(s, "{bullet}writes at risk: the last {r} (replication lag)");
    }
    for n in &o.notes {
        let _ = writeln!(s, "{bullet}{n}");
    }
}

/// One block per simulation: a line per service, then its details.
pub fn human(sims: &[Simulation]) -> String {
    let mut s = String::new();
    for sim in sims {
        let _ = writeln!(s, "Scenario: {}\n", title(&sim.scenario));
        let _ = writeln!(
            s,
            "  {:<20} {:<13} {:<36} RTO",
            "service", "serves 100 %", "serving from"
        );
        for (name, o) in &sim.services {
            let _ = writeln!(
                s,
                "  {:<20} {:<13} {:<36} {}",
                name,
                yes(o.serves_all),
                o.serving.join(", "),
                rto(o)
            );
        }
        if !sim.untouched.is_empty() {
            let _ = writeln!(s, "  untouched: {}", sim.untouched.join(", "));
        }
        s.push('\n');
        for (name, o) in &sim.services {
            let _ = writeln!(s, "  {name}:");
            details(o, &mut s, "    ");
        }
        s.push('\n');
    }
    s
}

/// A game-day write-up: a table per scenario and the details as lists.
pub fn markdown(sims: &[Simulation]) -> String {
    let mut s = String::from("# Region-loss rehearsal (meridian simulate)\n\n");
    for sim in sims {
        let _ = writeln!(s, "## {}\n", title(&sim.scenario));
        s.push_str("| service | serves 100 % | serving from | RTO |\n| --- | --- | --- | --- |\n");
        for (name, o) in &sim.services {
            let _ = writeln!(
                s,
                "| {name} | {} | {} | {} |",
                yes(o.serves_all),
                o.serving.join(", "),
                rto(o)
            );
        }
        if !sim.untouched.is_empty() {
            let _ = writeln!(s, "\nUntouched: {}.", sim.untouched.join(", "));
        }
        for (name, o) in &sim.services {
            let _ = writeln!(s, "\n### {name}\n");
            details(o, &mut s, "- ");
        }
        s.push('\n');
    }
    s
}

pub fn json(sims: &[Simulation]) -> Value {
    json!({
        "format_version": JSON_FORMAT_VERSION,
        "simulations": sims,
    })
}
