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
    if o.writes.is_some_and(|w| w.risks_writes()) {
        match o.rpo_exposed_seconds {
            Some(r) if r > crate::duration::Duration::ZERO => {
                let _ = writeln!(s, "{bullet}writes at risk: the last {r} (the RPO)");
            }
            Some(_) => {}
            None => {
                let _ = writeln!(s, "{bullet}writes at risk: unknown (no computable RPO)");
            }
        }
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

const COL: f64 = 210.0;
const ROW: f64 = 64.0;
const LEFT: f64 = 150.0;
const TOP: f64 = 70.0;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Where each node is: (row name, AWS region) -> centre.
struct Layout {
    regions: Vec<String>,
    rows: Vec<String>,
}

impl Layout {
    fn at(&self, row: &str, region: &str) -> Option<(f64, f64)> {
        let c = self.regions.iter().position(|r| r == region)?;
        let r = self.rows.iter().position(|x| x == row)?;
        Some((LEFT + COL * (c as f64 + 0.5), TOP + ROW * (r as f64 + 0.5)))
    }
}

/// The state of one service region under the scenario.
fn node_state(sim: &Simulation, service: &str, region: &str) -> (&'static str, &'static str) {
    let hit = sim.scenario.region() == region;
    let Some(o) = sim.services.get(service) else {
        return ("#d9f2d9", "serving");
    };
    if o.stalled.iter().any(|s| s.region == region) {
        ("#ffd8a8", "stalls")
    } else if hit && matches!(sim.scenario, Scenario::Fail { .. }) {
        ("#dddddd", "lost")
    } else if hit && matches!(sim.scenario, Scenario::Degrade { .. }) {
        ("#fff3bf", "sick")
    } else {
        ("#d9f2d9", "serving")
    }
}

/// The dependency graph of the topology with the scenario drawn on it: a column per AWS region
/// (the affected one shaded), a row per service and dependency, each call an edge; stalled
/// regions orange, lost ones grey, broken calls red and dashed. A legend says so: colour is
/// never the only signal (each node also says its state).
pub fn svg(t: &crate::model::Topology, sim: &Simulation) -> String {
    let regions = crate::simulate::regions(t);
    let mut rows: Vec<String> = t.services.keys().cloned().collect();
    rows.extend(t.dependencies.keys().cloned());
    let l = Layout { regions, rows };
    let title_width = 8.0 * title(&sim.scenario).chars().count() as f64 + 20.0;
    let width = (LEFT + COL * l.regions.len() as f64 + 20.0)
        .max(title_width)
        .max(640.0);
    let height = TOP + ROW * l.rows.len() as f64 + 110.0;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="10" y="22" font-size="15" font-weight="bold">{}</text>"#,
        esc(&title(&sim.scenario))
    );
    for (i, r) in l.regions.iter().enumerate() {
        let x = LEFT + COL * i as f64;
        let hit = *r == sim.scenario.region();
        let fill = if hit { "#ffe3e3" } else { "#f8f9fa" };
        let _ = writeln!(
            s,
            r##"<rect x="{}" y="{}" width="{}" height="{}" fill="{fill}" stroke="#ced4da"/>"##,
            x + 4.0,
            TOP - 28.0,
            COL - 8.0,
            ROW * l.rows.len() as f64 + 28.0
        );
        let label = if hit {
            format!("{r} (affected)")
        } else {
            r.clone()
        };
        let _ = writeln!(
            s,
            r#"<text x="{}" y="{}" text-anchor="middle" font-weight="bold">{}</text>"#,
            x + COL / 2.0,
            TOP - 10.0,
            esc(&label)
        );
    }
    for (i, row) in l.rows.iter().enumerate() {
        let kind = if t.services.contains_key(row) {
            "service"
        } else {
            "dependency"
        };
        let _ = writeln!(
            s,
            r#"<text x="10" y="{}">{kind} {}</text>"#,
            TOP + ROW * (i as f64 + 0.5) + 4.0,
            esc(row)
        );
    }
    edges(t, sim, &l, &mut s);
    nodes(t, sim, &l, &mut s);
    legend(height, &mut s);
    s.push_str("</svg>\n");
    s
}

fn edges(t: &crate::model::Topology, sim: &Simulation, l: &Layout, s: &mut String) {
    for svc in t.services.values() {
        for (label, r) in &svc.regions {
            let Some(from) = l.at(&svc.name, &r.aws_region) else {
                continue;
            };
            let cut = match &sim.scenario {
                Scenario::Fail { region } => Some(crate::analysis::needs::Cut::Lost(region)),
                Scenario::Isolate { region } => Some(crate::analysis::needs::Cut::Isolated(region)),
                Scenario::Degrade { .. } => None,
            };
            for (n, _) in t.needs(svc, label) {
                let homes = n.aws_regions();
                let to_region = if homes.contains(&r.aws_region.as_str()) {
                    r.aws_region.as_str()
                } else {
                    homes.first().copied().unwrap_or_default()
                };
                let Some(to) = l.at(n.name(), to_region) else {
                    continue;
                };
                let broken = n.fallback() == crate::model::Fallback::None
                    && cut.is_some_and(|c| !c.reaches(&r.aws_region, to_region));
                let style = if broken {
                    r##"stroke="#e03131" stroke-width="2.5" stroke-dasharray="6 4""##
                } else {
                    r##"stroke="#868e96" stroke-width="1.2""##
                };
                let _ = writeln!(
                    s,
                    r#"<line x1="{}" y1="{}" x2="{}" y2="{}" {style}/>"#,
                    from.0,
                    from.1 + 12.0,
                    to.0,
                    to.1 - 12.0
                );
            }
        }
    }
}

fn nodes(t: &crate::model::Topology, sim: &Simulation, l: &Layout, s: &mut String) {
    for svc in t.services.values() {
        for r in svc.regions.values() {
            let Some((x, y)) = l.at(&svc.name, &r.aws_region) else {
                continue;
            };
            let (fill, state) = node_state(sim, &svc.name, &r.aws_region);
            let _ = writeln!(
                s,
                r##"<rect x="{}" y="{}" width="150" height="30" rx="6" fill="{fill}" stroke="#495057"/>"##,
                x - 75.0,
                y - 15.0
            );
            let _ = writeln!(
                s,
                r#"<text x="{x}" y="{}" text-anchor="middle">{} ({state})</text>"#,
                y + 4.0,
                esc(&svc.name)
            );
        }
    }
    for d in t.dependencies.values() {
        for r in &d.regions {
            let Some((x, y)) = l.at(&d.name, r) else {
                continue;
            };
            let lost = *r == sim.scenario.region() && matches!(sim.scenario, Scenario::Fail { .. });
            let fill = if lost { "#dddddd" } else { "#e7f5ff" };
            let _ = writeln!(
                s,
                r##"<ellipse cx="{x}" cy="{y}" rx="80" ry="15" fill="{fill}" stroke="#495057"/>"##
            );
            let _ = writeln!(
                s,
                r#"<text x="{x}" y="{}" text-anchor="middle">{} ({})</text>"#,
                y + 4.0,
                esc(&d.name),
                d.fallback.as_str()
            );
        }
    }
}

fn legend(height: f64, s: &mut String) {
    let y = height - 70.0;
    let items = [
        ("#d9f2d9", "serving"),
        ("#ffd8a8", "stalls (a call it needs is cut)"),
        ("#dddddd", "lost"),
        ("#fff3bf", "sick"),
    ];
    let mut x = 10.0;
    for (fill, text) in items {
        let _ = writeln!(
            s,
            r##"<rect x="{x}" y="{y}" width="16" height="12" fill="{fill}" stroke="#495057"/><text x="{}" y="{}">{text}</text>"##,
            x + 22.0,
            y + 10.0
        );
        x += 30.0 + 7.0 * text.len() as f64;
    }
    let _ = writeln!(
        s,
        r##"<line x1="10" y1="{0}" x2="40" y2="{0}" stroke="#e03131" stroke-width="2.5" stroke-dasharray="6 4"/><text x="48" y="{1}">a call the scenario breaks</text>"##,
        y + 30.0,
        y + 34.0
    );
    let _ = writeln!(
        s,
        r##"<line x1="230" y1="{0}" x2="260" y2="{0}" stroke="#868e96" stroke-width="1.2"/><text x="268" y="{1}">a call that still works</text><text x="10" y="{2}">services: a box per region; dependencies: ellipses, with their fallback</text>"##,
        y + 30.0,
        y + 34.0,
        y + 56.0
    );
}
