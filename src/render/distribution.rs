//! `analyze --distribution`: per service and region loss, when the lost region's
//! TTL-honouring clients are served again, under each failure mode, beside the floor; human
//! text and a pull-request comment.

use super::Chart;
use crate::analysis::distribution::{Distribution, LossDistribution, Mode, Percentiles};
use std::fmt::Write as _;

fn mode_words(l: &LossDistribution) -> String {
    match (l.mode, &l.brownout) {
        (Mode::Fast, _) => "fast failure".into(),
        (Mode::Dark, _) => "dark region".into(),
        (Mode::Brownout, Some(b)) => format!("brown-out {} %", percent(b.error_rate)),
        (Mode::Brownout, None) => "brown-out".into(),
    }
}

/// A small share in percent with two significant digits (0.96, 0.003), never shown as 0.
fn significant(p: f64) -> String {
    if p <= 0.0 {
        return "0".into();
    }
    let decimals = (1.0 - p.log10().floor()).max(0.0) as usize;
    format!("{p:.decimals$}")
}

/// A rate as a percentage, to a tenth where that matters (99.9 %, not 100 %).
fn percent(rate: f64) -> String {
    let p = (rate * 1000.0).round() / 10.0;
    if p.fract() == 0.0 {
        format!("{p:.0}")
    } else {
        format!("{p:.1}")
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
    let trials = f64::from(d.model.trials.max(1));
    // None or all of the runs: the standard error is 0, the rule of three bounds it instead.
    let error = if b.standard_error > 0.0 {
        format!(
            "± {} % at 95 %",
            significant(1.96 * b.standard_error * 100.0)
        )
    } else {
        format!(
            "within {} % at 95 %, {} runs",
            significant(300.0 / trials),
            d.model.trials
        )
    };
    Some(format!(
        "first failover; {:.1} % ({error}) not detected within {:.0} s; once steady, out {:.0} % of the time",
        b.undetected_share * 100.0,
        d.model.horizon_seconds,
        b.steady_out_share * 100.0
    ))
}

/// One loss's figures after its name, as one line.
fn figures(l: &LossDistribution, d: &Distribution) -> String {
    let h = d.model.horizon_seconds;
    let mut floor = l.floor_seconds.map_or_else(
        || "floor unknown".to_string(),
        |f| format!("floor {f:.0} s"),
    );
    if let Some(w) = l.range_worst_seconds {
        let _ = write!(
            floor,
            " at the typical steps, {w:.0} s at the slowest of their ranges"
        );
    }
    let floor = match (l.mode, brownout_words(l, d)) {
        (Mode::Brownout, Some(words)) => words,
        (Mode::Brownout, None) => "no floor of its own".to_string(),
        _ => floor,
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
            match (l.mean_detection_seconds, &l.brownout) {
                (Some(m), Some(b)) if b.undetected_share > 0.0 => {
                    let detected = (1.0 - b.undetected_share) * 100.0;
                    let _ = write!(
                        x,
                        "; mean detection {m:.1} s of the {detected:.2} % detected"
                    );
                }
                (Some(m), _) => {
                    let _ = write!(x, "; mean detection {m:.1} s");
                }
                (None, _) => {}
            }
            x.push(')');
            if let Some(f) = l.failing_at_objective {
                let _ = write!(x, "; {:.1} % still failing at the RTO objective", f * 100.0);
            }
            x
        }
        (None, Some(why)) => {
            let mut x = format!("{floor}; no distribution: {why}");
            if let Some(f) = l.failing_at_objective {
                let _ = write!(x, "; {:.1} % still failing at the RTO objective", f * 100.0);
            }
            x
        }
        (None, None) => floor,
    }
}

/// The clients with their own DNS cache, as their own line.
fn own_line(
    what: String,
    c: &crate::analysis::distribution::CachedClients,
    d: &Distribution,
) -> String {
    let h = d.model.horizon_seconds;
    let mut x = format!(
        "{what}: P50 {}, P99 {}",
        at(c.p50_seconds, h),
        at(c.p99_seconds, h)
    );
    if let Some(w) = c.worst_seconds {
        let _ = write!(x, ", the last {w:.0} s");
    }
    x
}

/// The clients counted apart, a line each: their own DNS cache, a declared TTL extension.
fn own_lines(l: &LossDistribution, d: &Distribution) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(c) = &l.cached_clients {
        let jvm = c.cache_seconds == crate::analysis::distribution::JVM_CACHE_SECONDS;
        let what = format!(
            "clients caching DNS {:.0} s themselves{}",
            c.cache_seconds,
            if jvm { " (a JVM's default)" } else { "" }
        );
        lines.push(own_line(what, c, d));
    }
    if let Some(c) = &l.extended_ttl {
        let what = format!(
            "clients behind resolvers extending the TTL by {:.0} s (declared; about {:.1} % of resolvers extend)",
            c.cache_seconds,
            d.ttl_extenders_share * 100.0
        );
        lines.push(own_line(what, c, d));
    }
    lines
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
            for c in own_lines(l, d) {
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

/// Services past which the comment folds their tables (as the analysis does).
const FOLD_OVER: usize = 10;

/// The comment's one line: how many services, the slowest P99 per failure mode and whose,
/// the losses with no distribution, and the worst share still failing at the objective.
fn summary(d: &Distribution) -> String {
    let mut parts = vec![format!("{} service(s)", d.services.len())];
    for mode in [Mode::Fast, Mode::Dark, Mode::Brownout] {
        let slowest = d
            .services
            .iter()
            .flat_map(|(n, sd)| sd.losses.iter().map(move |l| (n, l)))
            .filter(|(_, l)| l.mode == mode)
            .filter_map(|(n, l)| Some((l.percentiles.as_ref()?.p99_seconds, n, l)))
            .max_by(|a, b| {
                let k = |x: Option<f64>| x.unwrap_or(f64::INFINITY);
                k(a.0).total_cmp(&k(b.0))
            });
        if let Some((p99, name, l)) = slowest {
            let h = d.model.horizon_seconds;
            parts.push(format!(
                "slowest P99 {}, {} ({name} losing {})",
                at(p99, h),
                mode_words(l),
                l.region
            ));
        }
    }
    let unknown = d
        .services
        .values()
        .flat_map(|sd| &sd.losses)
        .filter(|l| l.percentiles.is_none())
        .count();
    if unknown > 0 {
        parts.push(format!(
            "{unknown} loss(es) with no distribution (the floor only)"
        ));
    }
    let failing = d
        .services
        .values()
        .flat_map(|sd| &sd.losses)
        .filter_map(|l| l.failing_at_objective)
        .fold(None::<f64>, |m, f| Some(m.map_or(f, |m| m.max(f))));
    if let Some(f) = failing {
        parts.push(format!(
            "at worst {:.1} % still failing at the RTO objective",
            f * 100.0
        ));
    }
    parts.join("; ")
}

/// A pull-request comment: one table per service (loss, mode, P50, P90, P99, floor, still
/// failing at the objective), the own-cache clients and the notes folded.
pub fn markdown(d: &Distribution) -> String {
    let h = d.model.horizon_seconds;
    let mut s = String::from("## Recovery as users live it\n\n");
    let _ = writeln!(s, "**{}**\n", summary(d));
    let folded = d.services.len() > FOLD_OVER;
    if folded {
        let _ = writeln!(
            s,
            "<details><summary>Every service's losses ({})</summary>\n",
            d.services.len()
        );
    }
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
            .flat_map(|l| {
                own_lines(l, d)
                    .into_iter()
                    .map(move |c| format!("- losing {}, {}: {c}", l.region, mode_words(l)))
            })
            .collect();
        if !cached.is_empty() {
            let _ = writeln!(s, "{}\n", cached.join("\n"));
        }
    }
    if folded {
        s.push_str("</details>\n\n");
    }
    s.push_str("<details><summary>The model</summary>\n\n");
    for n in &d.notes {
        let _ = writeln!(s, "- {n}");
    }
    s.push_str("\n</details>\n");
    s
}

/// One row of the picture: a service's slowest loss under one failure mode.
struct Row {
    label: String,
    /// P50, P90, P99 (None: not within the horizon).
    p: [Option<f64>; 3],
    floor: Option<f64>,
    drawn: bool,
    service: String,
    region: String,
    mode: Mode,
}

/// Per service and failure mode, the loss with the slowest P99 (a loss with no distribution,
/// or with no recovery, first: it is drawn as text, never as a bar).
fn rows(d: &Distribution) -> Vec<Row> {
    let mut rows = Vec::new();
    for (name, sd) in &d.services {
        for mode in [Mode::Fast, Mode::Dark, Mode::Brownout] {
            let key = |l: &&LossDistribution| {
                let p99 = l.percentiles.as_ref().and_then(|p| p.p99_seconds);
                (
                    l.percentiles.is_none(),
                    p99.is_none(),
                    p99.map(|v| (v * 1000.0) as i64),
                )
            };
            let Some(l) = sd.losses.iter().filter(|l| l.mode == mode).max_by_key(key) else {
                continue;
            };
            let p = l.percentiles.as_ref();
            rows.push(Row {
                label: format!(
                    "{name} losing {}, {}: {}",
                    l.region,
                    mode_words(l),
                    figures(l, d)
                ),
                p: [
                    p.and_then(|p| p.p50_seconds),
                    p.and_then(|p| p.p90_seconds),
                    p.and_then(|p| p.p99_seconds),
                ],
                floor: l.floor_seconds,
                drawn: p.is_some_and(|p| p.p50_seconds.is_some()),
                service: name.clone(),
                region: l.region.clone(),
                mode,
            });
        }
    }
    rows
}

fn attr(v: Option<f64>) -> String {
    v.map_or_else(|| "none".to_string(), |s| format!("{s}"))
}

/// What the picture draws, as data a consumer can read without parsing the drawing.
fn svg_data(rows: &[Row], objective: Option<f64>) -> String {
    let mut s = format!(
        "<g id=\"meridian-distribution\" data-objective-seconds=\"{}\">\n",
        attr(objective)
    );
    for r in rows {
        let _ = writeln!(
            s,
            "<g data-service=\"{}\" data-region=\"{}\" data-mode=\"{}\" data-p50-seconds=\"{}\" data-p90-seconds=\"{}\" data-p99-seconds=\"{}\" data-floor-seconds=\"{}\"/>",
            xml(&r.service),
            xml(&r.region),
            match r.mode {
                Mode::Fast => "fast",
                Mode::Dark => "dark",
                Mode::Brownout => "brownout",
            },
            attr(r.p[0]),
            attr(r.p[1]),
            attr(r.p[2]),
            attr(r.floor)
        );
    }
    s.push_str("</g>");
    s
}

fn xml(v: &str) -> String {
    v.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('"', "&quot;")
}

/// Each service's slowest loss per failure mode: a band from P50 to P99 with a tick at P90,
/// the floor as a black mark, the RTO objective dashed; a loss with no distribution (or one
/// not detected within the horizon) as red text, never a bar. The figures ride along as data
/// (`<g id="meridian-distribution">`).
pub fn svg(d: &Distribution, objective: Option<f64>) -> Result<String, String> {
    use plotters::prelude::*;
    let rows = rows(d);
    let n = rows.len().max(1);
    let max_x = rows
        .iter()
        .flat_map(|r| r.p.iter().copied().chain([r.floor]))
        .flatten()
        .chain(objective)
        .fold(10.0, f64::max)
        * 1.1;
    let out = super::seconds_rows_svg(
        (960, 150 + 44 * n as u32),
        "When the lost region's clients are served again (P50-P99)",
        (max_x, n),
        |chart| {
            let err = |e: DrawingAreaErrorKind<_>| e.to_string();
            draw_rows(chart, &rows, max_x)?;
            if let Some(x) = objective {
                chart
                    .draw_series(DashedLineSeries::new(
                        [(x, 0.0), (x, n as f64)],
                        6,
                        4,
                        RED.mix(0.7).stroke_width(2),
                    ))
                    .map_err(err)?
                    .label(format!("RTO objective {x} s"))
                    .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], RED.mix(0.7)));
            }
            Ok(())
        },
    )?;
    Ok(super::with_data(out, &svg_data(&rows, objective)))
}

/// The rows: a band from P50 to P99, a tick at P90, the floor, and each row's words above it.
fn draw_rows(chart: &mut Chart, rows: &[Row], max_x: f64) -> Result<(), String> {
    use plotters::prelude::*;
    let err = |e: DrawingAreaErrorKind<_>| e.to_string();
    let n = rows.len().max(1);
    let y = |i: usize| (n - i) as f64;
    let band = BLUE.mix(0.45);
    chart
        .draw_series(
            rows.iter()
                .enumerate()
                .filter(|(_, r)| r.drawn)
                .map(|(i, r)| {
                    let (a, b) = (r.p[0].unwrap_or(0.0), r.p[2].unwrap_or(max_x / 1.1));
                    Rectangle::new(
                        [(a, y(i) - 0.85), (b.max(a + max_x / 400.0), y(i) - 0.5)],
                        band.filled(),
                    )
                }),
        )
        .map_err(err)?
        .label("P50 to P99 (tick: P90)")
        .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 16, y + 5)], band.filled()));
    chart
        .draw_series(rows.iter().enumerate().filter_map(|(i, r)| {
            let x = r.p[1].filter(|_| r.drawn)?;
            Some(PathElement::new(
                vec![(x, y(i) - 0.9), (x, y(i) - 0.45)],
                BLACK.stroke_width(2),
            ))
        }))
        .map_err(err)?;
    chart
        .draw_series(rows.iter().enumerate().filter_map(|(i, r)| {
            let x = r.floor.filter(|_| r.drawn)?;
            Some(Circle::new((x, y(i) - 0.675), 5, BLACK.filled()))
        }))
        .map_err(err)?
        .label("the floor")
        .legend(|(x, y)| Circle::new((x + 8, y), 5, BLACK.filled()));
    chart
        .draw_series(rows.iter().enumerate().map(|(i, r)| {
            let color = if r.drawn { BLACK } else { RED };
            Text::new(
                r.label.clone(),
                (0.0, y(i) - 0.1),
                ("sans-serif", 12).into_font().color(&color),
            )
        }))
        .map_err(err)?;
    Ok(())
}
