//! The recovery analysis as text for a terminal, Markdown for a pull request, or JSON.

use crate::analysis::{Analysis, ObjectiveResult, Verdict};
use crate::duration::Duration;
use std::fmt::Write;

fn secs(d: Option<Duration>) -> String {
    match d {
        None => "unknown".into(),
        Some(d) => {
            let s = d.as_secs_f64();
            let n = if s.fract() == 0.0 {
                format!("{}", s as u64)
            } else {
                format!("{s}")
            };
            if d.as_millis() >= 60_000 {
                format!("{n} s ({d})")
            } else {
                format!("{n} s")
            }
        }
    }
}

fn num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v:.3}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
    }
}

/// One line per objective: `rto 900 s: met (floor 630 s, margin 270 s)`.
pub fn objective_line(o: &ObjectiveResult) -> String {
    let unit = if o.unit == "seconds" { " s" } else { " USD" };
    let target = format!("{} {}{unit}", o.objective, num(o.target));
    match o.verdict {
        Verdict::Met | Verdict::Breached => format!(
            "{target}: {} (actual {}{unit}, margin {}{unit})",
            if o.verdict == Verdict::Met {
                "met"
            } else {
                "BREACHED"
            },
            num(o.actual.unwrap_or_default()),
            num(o.margin.unwrap_or_default()),
        ),
        Verdict::Unknown => format!(
            "{target}: UNKNOWN ({})",
            o.reason.as_deref().unwrap_or("cannot be computed")
        ),
        Verdict::NotEvaluated => format!(
            "{target}: not evaluated ({})",
            o.reason.as_deref().unwrap_or("not computed")
        ),
    }
}

pub fn human(a: &Analysis) -> String {
    let mut s = String::new();
    for (name, sa) in &a.services {
        let data = sa.data_pattern.map_or("no data block".to_string(), |p| {
            format!(
                "{} data",
                serde_json::to_value(p)
                    .ok()
                    .and_then(|v| v.as_str().map(String::from))
                    .unwrap_or_default()
            )
        });
        let _ = writeln!(s, "service \"{name}\": {} routing, {data}", sa.routing);
        match &sa.worst_region {
            Some(w) => {
                let _ = writeln!(s, "  RTO floor {}, losing {w}", secs(sa.rto_floor_seconds));
            }
            None => {
                let _ = writeln!(s, "  RTO floor {}", secs(sa.rto_floor_seconds));
            }
        }
        for l in &sa.region_losses {
            let _ = writeln!(s, "    lose {}: {}", l.region, l.formula);
            for m in &l.missing {
                let _ = writeln!(s, "      missing: {m}");
            }
        }
        let _ = writeln!(s, "  RPO {}: {}", secs(sa.rpo_seconds), sa.rpo_basis);
        for n in &sa.notes {
            let _ = writeln!(s, "  note: {n}");
        }
        s.push('\n');
    }
    if !a.objectives.is_empty() {
        s.push_str("objectives\n");
        for o in &a.objectives {
            let _ = writeln!(s, "  {}", objective_line(o));
        }
    }
    s
}

pub fn markdown(a: &Analysis) -> String {
    let mut s = String::from("## Recovery analysis\n\n");
    s.push_str("| service | routing | data | RTO floor | worst loss | RPO |\n");
    s.push_str("| --- | --- | --- | --- | --- | --- |\n");
    for (name, sa) in &a.services {
        let data = sa
            .data_pattern
            .and_then(|p| serde_json::to_value(p).ok())
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_else(|| "-".into());
        let _ = writeln!(
            s,
            "| `{name}` | {} | {data} | {} | {} | {} |",
            sa.routing,
            secs(sa.rto_floor_seconds),
            sa.worst_region.as_deref().unwrap_or("-"),
            secs(sa.rpo_seconds)
        );
    }
    for (name, sa) in &a.services {
        let _ = writeln!(s, "\n### `{name}`\n");
        for l in &sa.region_losses {
            let _ = writeln!(s, "- lose `{}`: `{}`", l.region, l.formula);
        }
        for n in &sa.notes {
            let _ = writeln!(s, "- note: {n}");
        }
    }
    if !a.objectives.is_empty() {
        s.push_str("\n### Objectives\n\n");
        for o in &a.objectives {
            let mark = match o.verdict {
                Verdict::Met => "✅",
                Verdict::Breached => "❌",
                Verdict::Unknown => "❓",
                Verdict::NotEvaluated => "➖",
            };
            let _ = writeln!(s, "- {mark} {}", objective_line(o));
        }
    }
    s
}
