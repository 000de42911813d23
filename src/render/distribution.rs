//! `analyze --distribution`: per service and region loss, when the lost region's
//! TTL-honouring clients are served again, under each failure mode, beside the floor; human
//! text and a pull-request comment.

use crate::analysis::distribution::{Distribution, LossDistribution, Mode, Percentiles};
use std::fmt::Write as _;

fn mode_words(l: &LossDistribution) -> String {
    match (l.mode, &l.brownout) {
        (Mode::Fast, _) => "fast failure".into(),
        (Mode::Dark, _) => "dark region".into(),
        (Mode::Brownout, Some(b)) => format!("brown-out {:.0} %", b.error_rate * 100.0),
        (Mode::Brownout, None) => "brown-out".into(),
    }
}

/// A percentile's figure: seconds, or why there is none.
fn at(v: Option<f64>, horizon: f64) -> String {
    v.map_or_else(
        || format!("not within {horizon:.0} s"),
        |s| format!("{s:.1} s"),
    )
}

fn served_no_one(p: &Percentiles) -> bool {
    p.p99_seconds == Some(0.0)
}

/// What the brown-out's runs say beside its percentiles.
fn brownout_words(l: &LossDistribution, d: &Distribution) -> Option<String> {
    let b = l.brownout.as_ref()?;
    Some(format!(
        "first failover; {:.1} % (± {:.1} %) not detected within {:.0} s; once steady, out {:.0} % of the time",
        b.undetected_share * 100.0,
        1.96 * b.standard_error * 100.0,
        d.model.horizon_seconds,
        b.steady_out_share * 100.0
    ))
}

/// One loss's figures after its name, as one line.
fn figures(l: &LossDistribution, d: &Distribution) -> String {
    let h = d.model.horizon_seconds;
    let floor = l.floor_seconds.map_or_else(
        || "floor unknown".to_string(),
        |f| format!("floor {f:.0} s"),
    );
    let floor = if l.mode == Mode::Brownout {
        brownout_words(l, d).unwrap_or_default()
    } else {
        floor
    };
    match (&l.percentiles, &l.unknown) {
        (Some(p), _) if served_no_one(p) => "serves no traffic: nothing to recover".to_string(),
        (Some(p), _) => {
            let mut x = format!(
                "P50 {}, P90 {}, P99 {} ({floor}",
                at(p.p50_seconds, h),
                at(p.p90_seconds, h),
                at(p.p99_seconds, h),
            );
            if let Some(m) = l.mean_detection_seconds {
                let _ = write!(x, "; mean detection {m:.1} s");
            }
            x.push(')');
            if let Some(f) = l.failing_at_objective {
                let _ = write!(x, "; {:.1} % still failing at the RTO objective", f * 100.0);
            }
            x
        }
        (None, Some(why)) => format!("{floor}; no distribution: {why}"),
        (None, None) => floor,
    }
}

/// The clients with their own DNS cache, as their own line.
fn cached_line(l: &LossDistribution, d: &Distribution) -> Option<String> {
    let c = l.cached_clients.as_ref()?;
    let h = d.model.horizon_seconds;
    let mut x = format!(
        "clients caching DNS {:.0} s themselves (a JVM's default): P50 {}, P99 {}",
        c.cache_seconds,
        at(c.p50_seconds, h),
        at(c.p99_seconds, h)
    );
    if let Some(w) = c.worst_seconds {
        let _ = write!(x, ", the last {w:.0} s");
    }
    Some(x)
}

pub fn human(d: &Distribution) -> String {
    let mut s = String::new();
    for (name, sd) in &d.services {
        let _ = writeln!(s, "service {name}");
        for l in &sd.losses {
            let _ = writeln!(
                s,
                "  losing {}, {}: {}",
                l.region,
                mode_words(l),
                figures(l, d)
            );
            if let Some(c) = cached_line(l, d) {
                let _ = writeln!(s, "    {c}");
            }
        }
    }
    for n in &d.notes {
        let _ = writeln!(s, "note: {n}");
    }
    s
}

/// A table cell: `|` would end the cell.
fn cell(v: &str) -> String {
    v.replace('|', "\\|")
}

/// A pull-request comment: one table per service (loss, mode, P50, P90, P99, floor, still
/// failing at the objective), the own-cache clients and the notes folded.
pub fn markdown(d: &Distribution) -> String {
    let h = d.model.horizon_seconds;
    let mut s = String::from("## Recovery as users live it\n\n");
    for (name, sd) in &d.services {
        let _ = writeln!(s, "### Service `{name}`\n");
        s.push_str("| region lost | failure | P50 | P90 | P99 | floor | still failing at the RTO objective |\n");
        s.push_str("| --- | --- | ---: | ---: | ---: | ---: | ---: |\n");
        for l in &sd.losses {
            let (p50, p90, p99) = match (&l.percentiles, &l.unknown) {
                (Some(p), _) => (
                    at(p.p50_seconds, h),
                    at(p.p90_seconds, h),
                    at(p.p99_seconds, h),
                ),
                (None, Some(why)) => (format!("unknown: {why}"), String::new(), String::new()),
                (None, None) => ("unknown".into(), String::new(), String::new()),
            };
            let floor = match (l.mode, l.floor_seconds) {
                (Mode::Brownout, _) => brownout_words(l, d).unwrap_or_default(),
                (_, Some(f)) => format!("{f:.0} s"),
                (_, None) => "unknown".into(),
            };
            let failing = l
                .failing_at_objective
                .map_or_else(String::new, |f| format!("{:.1} %", f * 100.0));
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} | {} |",
                cell(&l.region),
                mode_words(l),
                cell(&p50),
                p90,
                p99,
                cell(&floor),
                failing
            );
        }
        s.push('\n');
        let cached: Vec<String> = sd
            .losses
            .iter()
            .filter_map(|l| {
                Some(format!(
                    "- losing {}, {}: {}",
                    l.region,
                    mode_words(l),
                    cached_line(l, d)?
                ))
            })
            .collect();
        if !cached.is_empty() {
            let _ = writeln!(s, "{}\n", cached.join("\n"));
        }
    }
    s.push_str("<details><summary>The model</summary>\n\n");
    for n in &d.notes {
        let _ = writeln!(s, "- {n}");
    }
    s.push_str("\n</details>\n");
    s
}
