//! A comparison of designs as a table (text, Markdown), JSON, or an RTO-versus-cost chart (SVG).

use super::analysis::money;
use super::Chart;
use crate::analysis::compare::Comparison;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::fmt::Write;

fn secs(d: Option<f64>) -> String {
    match d {
        None => "unknown".into(),
        Some(s) => {
            // Milliseconds are the model's resolution.
            let s = (s * 1000.0).round() / 1000.0;
            if s.fract() == 0.0 {
                format!("{} s", s as u64)
            } else {
                format!("{s} s")
            }
        }
    }
}

/// The RTO floor cell: the figure the objective gates on, named when it is the dark case;
/// a design with no recovery says so.
fn rto_cell(d: &crate::analysis::compare::Design) -> String {
    let n = match (d.rto_floor_seconds, d.no_recovery.is_empty()) {
        _ if d.routing.is_empty() => "-".to_string(),
        (None, false) => "NO RECOVERY".to_string(),
        (v, _) => secs(v),
    };
    match d.rto_case {
        crate::model::RtoCase::Fast => n,
        crate::model::RtoCase::Dark => format!("{n} (dark)"),
    }
}

/// The objectives cell: the analysis's verdict, and no recovery, which fails the gate too.
fn objectives_cell(d: &crate::analysis::compare::Design) -> String {
    let mut cell = match d.objectives {
        "breached" | "unknown" => {
            format!("{} ({})", d.objectives, d.objectives_not_met.join(", "))
        }
        other => other.to_string(),
    };
    if !d.no_recovery.is_empty() {
        let _ = write!(cell, "; NO RECOVERY ({})", d.no_recovery.join(", "));
    }
    let otherwise_passing = matches!(d.objectives, "none" | "met") && d.no_recovery.is_empty();
    if !d.passed && otherwise_passing {
        cell.push_str("; FAILED: nothing declared");
    }
    cell
}

/// When users are served again: P50 to P99 of the slowest loss (a loss without a distribution
/// counts its floor).
fn served_cell(d: &crate::analysis::compare::Design) -> String {
    match (d.rto_p50_seconds, d.rto_p99_seconds) {
        _ if d.routing.is_empty() => "-".to_string(),
        (Some(a), Some(b)) if d.percentiles_from_floor && a == b => format!("{b:.1} s (floor)"),
        (Some(a), Some(b)) if d.percentiles_from_floor => format!("{a:.1}-{b:.1} s (some floors)"),
        (Some(a), Some(b)) => format!("{a:.1}-{b:.1} s"),
        _ => "unknown".into(),
    }
}

fn rows(c: &Comparison) -> Vec<[String; 10]> {
    c.designs
        .iter()
        .map(|d| {
            [
                d.name.clone(),
                d.routing.join(", "),
                if d.data_patterns.is_empty() {
                    "-".into()
                } else {
                    d.data_patterns.join(", ")
                },
                d.regions.len().to_string(),
                rto_cell(d),
                served_cell(d),
                if d.routing.is_empty() {
                    "-".to_string()
                } else {
                    secs(d.rpo_seconds)
                },
                format!(
                    "{}{}",
                    if d.cost_complete { "" } else { ">= " },
                    money(d.monthly_usd)
                ),
                match d.cost_ratio {
                    Some(r) if d.cost_ratio_at_least => format!(">= {r:.2}x"),
                    Some(r) => format!("{r:.2}x"),
                    None => "-".into(),
                },
                objectives_cell(d),
            ]
        })
        .collect()
}

const HEADERS: [&str; 10] = [
    "design",
    "routing",
    "data",
    "regions",
    "RTO floor",
    "served P50-P99",
    "RPO",
    "USD/month",
    "vs cheapest",
    "objectives",
];

pub fn human(c: &Comparison) -> String {
    let rows = rows(c);
    let mut widths = HEADERS.map(str::len);
    for r in &rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let mut s = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            // Numbers right-aligned, text left-aligned.
            let right = matches!(i, 3..=8);
            let pad = w.saturating_sub(cell.chars().count());
            if right {
                s.push_str(&" ".repeat(pad));
                s.push_str(cell);
            } else {
                s.push_str(cell);
                s.push_str(&" ".repeat(pad));
            }
            s.push_str("  ");
        }
        s.trim_end().to_string()
    };
    let mut s = String::new();
    let _ = writeln!(s, "{}", line(&HEADERS.map(String::from)));
    for r in &rows {
        let _ = writeln!(s, "{}", line(r));
    }
    s.push('\n');
    for d in &c.designs {
        if let Some(p) = &d.critical_path {
            let _ = writeln!(s, "{}: {p}", d.name);
        }
    }
    if let (Some(f), Some(ch)) = (&c.fastest, &c.cheapest) {
        let _ = writeln!(s, "\nfastest recovery{}: {f}; cheapest: {ch}", ranked(c));
    }
    s
}

/// What `fastest` was ranked on, when not the floor.
fn ranked(c: &Comparison) -> &'static str {
    use crate::analysis::compare::RankOn;
    match c.ranked_on {
        RankOn::Floor => "",
        RankOn::P50 => " (by P50 of clients served again)",
        RankOn::P90 => " (by P90 of clients served again)",
        RankOn::P99 => " (by P99 of clients served again)",
    }
}

pub fn markdown(c: &Comparison) -> String {
    let mut s = String::from("## Design comparison\n\n");
    let _ = writeln!(s, "| {} |", HEADERS.join(" | "));
    let _ = writeln!(
        s,
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
    );
    for r in rows(c) {
        let _ = writeln!(s, "| {} |", r.join(" | "));
    }
    s.push('\n');
    for d in &c.designs {
        if let Some(p) = &d.critical_path {
            let _ = writeln!(s, "- `{}`: `{p}`", d.name);
        }
    }
    if let (Some(f), Some(ch)) = (&c.fastest, &c.cheapest) {
        let _ = writeln!(
            s,
            "\nFastest recovery{}: **{f}**; cheapest: **{ch}**.",
            ranked(c)
        );
    }
    s
}

/// What the chart shows: points with a floor, points without one (at the right edge), the RTO
/// objectives, and the axes' ranges.
/// A design on the chart: floor, cost, label, and whether the cost is only a lower bound.
type Point = (f64, f64, String, bool);

struct ChartData {
    known: Vec<Point>,
    unknown: Vec<Point>,
    objectives: Vec<f64>,
    max_x: f64,
    max_y: f64,
}

fn chart_data(c: &Comparison) -> ChartData {
    let known: Vec<Point> = c
        .designs
        .iter()
        .filter_map(|d| {
            d.rto_floor_seconds
                .map(|r| (r, d.monthly_usd, label(d), !d.cost_complete))
        })
        .collect();
    let objectives: Vec<f64> = {
        let mut v: Vec<f64> = c
            .designs
            .iter()
            .filter_map(|d| d.rto_objective_seconds)
            .collect();
        v.sort_by(f64::total_cmp);
        v.dedup();
        v
    };
    let max_x = known
        .iter()
        .map(|p| p.0)
        .chain(objectives.iter().copied())
        .fold(60.0, f64::max)
        * 1.25;
    let max_y = c
        .designs
        .iter()
        .map(|d| d.monthly_usd)
        .fold(100.0, f64::max)
        // Headroom above the dearest design for the legend.
        * 1.5;
    let edge = max_x * 0.96;
    let unknown: Vec<Point> = c
        .designs
        .iter()
        .filter(|d| d.rto_floor_seconds.is_none())
        .map(|d| {
            let cost = if d.cost_complete { "" } else { ">= " };
            let text = format!("{} (no floor), USD {cost}{}", d.name, money(d.monthly_usd));
            (edge, d.monthly_usd, text, !d.cost_complete)
        })
        .collect();
    ChartData {
        known,
        unknown,
        objectives,
        max_x,
        max_y,
    }
}

/// RTO floor (x) against monthly cost (y), one labelled point per design with its RPO. A
/// design without a floor is drawn at the right edge, marked; each RTO objective is a dashed
/// line; a legend says which is which.
pub fn svg(c: &Comparison) -> Result<String, String> {
    let ChartData {
        known,
        unknown,
        objectives,
        max_x,
        max_y,
    } = chart_data(c);
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (860, 520)).into_drawing_area();
        let err = |e: DrawingAreaErrorKind<_>| e.to_string();
        root.fill(&WHITE).map_err(err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption("RTO floor vs monthly cost", ("sans-serif", 20))
            .margin(20)
            .x_label_area_size(45)
            .y_label_area_size(80)
            .build_cartesian_2d(0f64..max_x, 0f64..max_y)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc("RTO floor (seconds); designs with no floor at the right edge")
            .y_desc("monthly cost (USD)")
            .x_label_formatter(&|v| format!("{v:.0}"))
            .y_label_formatter(&|v| money(*v).trim_end_matches(".00").to_string())
            .light_line_style(WHITE)
            .draw()
            .map_err(err)?;
        draw_objectives(&mut chart, &objectives, max_y)?;
        draw_ranges(&mut chart, c)?;
        // Labelled points, the label on the side with room; points at (nearly) the same place
        // stack their labels instead of drawing them over each other. A cost that is only a
        // lower bound (inputs missing) is a hollow point with an arrow up.
        let elements = |points: &[Point], color: RGBColor| {
            points
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    let (x, y, text, partial) = p;
                    let stacked = stacked(points, i, max_x, max_y);
                    let right_half = *x > max_x / 2.0;
                    let anchor = if right_half { HPos::Right } else { HPos::Left };
                    let font = ("sans-serif", 12)
                        .into_font()
                        .into_text_style(&root)
                        .pos(Pos::new(anchor, VPos::Bottom));
                    let dx = if right_half { -10 } else { 10 };
                    let (dot, arrow) = marker(*partial, color);
                    EmptyElement::at((*x, *y))
                        + dot
                        + arrow
                        + Text::new(text.clone(), (dx, -8 - 16 * stacked), font)
                })
                .collect::<Vec<_>>()
        };
        chart
            .draw_series(elements(&known, BLUE))
            .map_err(err)?
            .label("RTO floor (fast failure)")
            .legend(|(x, y)| Circle::new((x + 8, y), 5, BLUE.filled()));
        if !unknown.is_empty() {
            chart
                .draw_series(elements(&unknown, RED))
                .map_err(err)?
                .label("no floor (unknown or no recovery)")
                .legend(|(x, y)| Circle::new((x + 8, y), 5, RED.filled()));
        }
        draw_legend(&mut chart, &known, &unknown)?;
        chart
            .configure_series_labels()
            .border_style(BLACK.mix(0.3))
            .background_style(WHITE.mix(0.9))
            .position(SeriesLabelPosition::UpperMiddle)
            .draw()
            .map_err(err)?;
        root.present().map_err(err)?;
    }
    Ok(out)
}

/// A point's label: name, floor, RPO and cost.
fn label(d: &crate::analysis::compare::Design) -> String {
    format!(
        "{}: {}, RPO {}, USD {}{}",
        d.name,
        rto_cell(d),
        secs(d.rpo_seconds),
        if d.cost_complete { "" } else { ">= " },
        money(d.monthly_usd)
    )
}

/// A dashed vertical line per RTO objective, each in the legend.
fn draw_objectives(chart: &mut Chart, objectives: &[f64], max_y: f64) -> Result<(), String> {
    let err = |e: DrawingAreaErrorKind<_>| e.to_string();
    for x in objectives {
        chart
            .draw_series(DashedLineSeries::new(
                [(*x, 0.0), (*x, max_y)],
                6,
                4,
                RED.mix(0.6).stroke_width(1),
            ))
            .map_err(err)?
            .label(format!("RTO objective {x} s"))
            .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], RED.mix(0.6)));
    }
    Ok(())
}

/// Each design's P50-P99 of clients served again, as a band left of its floor at its cost.
fn draw_ranges(chart: &mut Chart, c: &Comparison) -> Result<(), String> {
    let err = |e: DrawingAreaErrorKind<_>| e.to_string();
    let bands: Vec<(f64, f64, f64)> = c
        .designs
        .iter()
        .filter(|d| d.rto_floor_seconds.is_some())
        .filter_map(|d| Some((d.rto_p50_seconds?, d.rto_p99_seconds?, d.monthly_usd)))
        .filter(|(a, b, _)| b > a)
        .collect();
    if bands.is_empty() {
        return Ok(());
    }
    let style = BLUE.mix(0.35).stroke_width(6);
    chart
        .draw_series(
            bands
                .iter()
                .map(|(a, b, y)| PathElement::new(vec![(*a, *y), (*b, *y)], style)),
        )
        .map_err(err)?
        .label("P50-P99 of clients served again")
        .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], style));
    Ok(())
}

/// The legend entry for costs that are lower bounds, when some design has one.
fn draw_legend(chart: &mut Chart, known: &[Point], unknown: &[Point]) -> Result<(), String> {
    let err = |e: DrawingAreaErrorKind<_>| e.to_string();
    if known.iter().chain(unknown).any(|p| p.3) {
        chart
            .draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())
            .map_err(err)?
            .label("cost at least this (inputs missing)")
            .legend(|(x, y)| Circle::new((x + 8, y), 5, BLUE.stroke_width(2)));
    }
    Ok(())
}

/// How many earlier points sit at (nearly) the same place as point `i`: its label goes that many
/// lines higher.
fn stacked(points: &[Point], i: usize, max_x: f64, max_y: f64) -> i32 {
    let p = &points[i];
    let near = |q: &&Point| (q.0 - p.0).abs() < max_x * 0.03 && (q.1 - p.1).abs() < max_y * 0.04;
    points[..i].iter().filter(near).count() as i32
}

/// A filled point, or for a cost that is only a lower bound a hollow one with an arrow up.
/// A point's dot and the arrow beside it, in pixels from the point.
type Marker = (Circle<(i32, i32), i32>, PathElement<(i32, i32)>);

fn marker(partial: bool, color: RGBColor) -> Marker {
    if partial {
        (
            Circle::new((0, 0), 6, color.stroke_width(2)),
            PathElement::new(
                vec![(0, -6), (0, -22), (-4, -16), (0, -22), (4, -16)],
                color.stroke_width(2),
            ),
        )
    } else {
        // A point, not an empty polyline (invalid SVG): draws nothing.
        (
            Circle::new((0, 0), 6, color.filled()),
            PathElement::new(vec![(0, 0), (0, 0)], color.stroke_width(2)),
        )
    }
}
