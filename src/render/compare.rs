//! A comparison of designs as a table (text, Markdown), JSON, or an RTO-versus-cost chart (SVG).

use super::analysis::money;
use crate::analysis::compare::Comparison;
use crate::duration::Duration;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::fmt::Write;

fn secs(d: Option<Duration>) -> String {
    match d {
        None => "unknown".into(),
        Some(d) => {
            let s = d.as_secs_f64();
            if s.fract() == 0.0 {
                format!("{} s", s as u64)
            } else {
                format!("{s} s")
            }
        }
    }
}

fn rows(c: &Comparison) -> Vec<[String; 9]> {
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
                secs(d.rto_floor_seconds),
                secs(d.rpo_seconds),
                format!(
                    "{}{}",
                    if d.cost_complete { "" } else { ">= " },
                    money(d.monthly_usd)
                ),
                format!("{:.2}x", d.cost_ratio),
                match d.objectives {
                    "breached" | "unknown" => {
                        format!("{} ({})", d.objectives, d.objectives_not_met.join(", "))
                    }
                    other => other.to_string(),
                },
            ]
        })
        .collect()
}

const HEADERS: [&str; 9] = [
    "design",
    "routing",
    "data",
    "regions",
    "RTO floor",
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
            let right = matches!(i, 3..=7);
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
        let _ = writeln!(s, "\nfastest recovery: {f}; cheapest: {ch}");
    }
    s
}

pub fn markdown(c: &Comparison) -> String {
    let mut s = String::from("## Design comparison\n\n");
    let _ = writeln!(s, "| {} |", HEADERS.join(" | "));
    let _ = writeln!(
        s,
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | --- |"
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
        let _ = writeln!(s, "\nFastest recovery: **{f}**; cheapest: **{ch}**.");
    }
    s
}

/// RTO floor (x) against monthly cost (y), one labelled point per design. Designs without a
/// floor are listed in the caption instead.
pub fn svg(c: &Comparison) -> Result<String, String> {
    let points: Vec<(f64, f64, &str)> = c
        .designs
        .iter()
        .filter_map(|d| {
            d.rto_floor_seconds
                .map(|r| (r.as_secs_f64(), d.monthly_usd, d.name.as_str()))
        })
        .collect();
    let unplotted: Vec<&str> = c
        .designs
        .iter()
        .filter(|d| d.rto_floor_seconds.is_none())
        .map(|d| d.name.as_str())
        .collect();
    let max_x = points.iter().map(|p| p.0).fold(60.0, f64::max) * 1.2;
    let max_y = points.iter().map(|p| p.1).fold(100.0, f64::max) * 1.2;
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (800, 500)).into_drawing_area();
        let err = |e: DrawingAreaErrorKind<_>| e.to_string();
        root.fill(&WHITE).map_err(err)?;
        let caption = if unplotted.is_empty() {
            "RTO floor vs monthly cost".to_string()
        } else {
            format!(
                "RTO floor vs monthly cost (no floor: {})",
                unplotted.join(", ")
            )
        };
        let mut chart = ChartBuilder::on(&root)
            .caption(caption, ("sans-serif", 20))
            .margin(20)
            .x_label_area_size(45)
            .y_label_area_size(80)
            .build_cartesian_2d(0f64..max_x, 0f64..max_y)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc("RTO floor (seconds)")
            .y_desc("monthly cost (USD)")
            .x_label_formatter(&|v| format!("{v:.0}"))
            .y_label_formatter(&|v| money(*v).trim_end_matches(".00").to_string())
            .light_line_style(WHITE)
            .draw()
            .map_err(err)?;
        chart
            .draw_series(points.iter().map(|(x, y, name)| {
                // Labels beside the point, on the side with room.
                let right_half = *x > max_x / 2.0;
                let anchor = if right_half { HPos::Right } else { HPos::Left };
                let font = ("sans-serif", 13)
                    .into_font()
                    .into_text_style(&root)
                    .pos(Pos::new(anchor, VPos::Bottom));
                let dx = if right_half { -10 } else { 10 };
                EmptyElement::at((*x, *y))
                    + Circle::new((0, 0), 6, BLUE.filled())
                    + Text::new(format!("{name}: {x} s, USD {}", money(*y)), (dx, -8), font)
            }))
            .map_err(err)?;
        root.present().map_err(err)?;
    }
    Ok(out)
}
