//! Rendering: results -> text for people (miette snippets), JSON for machines, DOT for graphs.
//!
//! Pure functions returning strings or `serde_json::Value`s; the CLI decides where they go.

pub mod analysis;
pub mod comment;
pub mod compare;
pub mod diagnostics;
pub mod distribution;
pub mod graph;
pub mod json;
pub mod json_stream;
pub mod lint;
pub mod plan;
pub mod roff;
pub mod simulate;

/// A plotters chart on an SVG string with both axes continuous: what the timeline, the
/// comparison and the distribution draw on.
pub(crate) type Chart<'a, 'b> = plotters::chart::ChartContext<
    'a,
    plotters::prelude::SVGBackend<'b>,
    plotters::prelude::Cartesian2d<
        plotters::coord::types::RangedCoordf64,
        plotters::coord::types::RangedCoordf64,
    >,
>;

/// A picture of `rows` rows over the seconds after a region fails (0 to `max_x`): `draw` puts
/// its series on the chart, then the legend is drawn upper right.
pub(crate) fn seconds_rows_svg(
    (width, height): (u32, u32),
    caption: &str,
    (max_x, rows): (f64, usize),
    draw: impl FnOnce(&mut Chart) -> Result<(), String>,
) -> Result<String, String> {
    use plotters::prelude::*;
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (width, height)).into_drawing_area();
        let err = |e: DrawingAreaErrorKind<_>| e.to_string();
        root.fill(&WHITE).map_err(err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(caption, ("sans-serif", 18))
            .margin(20)
            .x_label_area_size(55)
            .build_cartesian_2d(0f64..max_x, 0f64..(rows as f64 + 0.9))
            .map_err(err)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .disable_y_axis()
            .light_line_style(WHITE)
            .x_desc("seconds after the region fails")
            .x_label_formatter(&|v| format!("{v:.0}"))
            .draw()
            .map_err(err)?;
        draw(&mut chart)?;
        chart
            .configure_series_labels()
            .border_style(BLACK.mix(0.3))
            .background_style(WHITE.mix(0.9))
            .position(SeriesLabelPosition::UpperRight)
            .draw()
            .map_err(err)?;
        root.present().map_err(err)?;
    }
    Ok(out)
}

/// The picture's figures as data, right after the opening `<svg>` tag, where a consumer finds
/// them without parsing the drawing.
pub(crate) fn with_data(mut svg: String, data: &str) -> String {
    if let Some(at) = svg
        .find("<svg")
        .and_then(|i| svg[i..].find('>').map(|j| i + j + 1))
    {
        svg.insert_str(at, &format!("\n{data}"));
    }
    svg
}

/// ANSI colours for text a terminal shows, Terraform's way: the change symbols of a plan
/// (`+` green, `-` red, `~` yellow, `-/+` both) and the verdicts of an analysis (met green,
/// breached and NO RECOVERY red, unknown yellow). The symbols and words stay: colour is never
/// the only signal.
pub mod color {
    const GREEN: &str = "\x1b[32m";
    const RED: &str = "\x1b[31m";
    const YELLOW: &str = "\x1b[33m";
    const BOLD_RED: &str = "\x1b[1;31m";
    const RESET: &str = "\x1b[0m";

    /// Colours the leading change symbol of each line of a human plan.
    pub fn plan(text: &str) -> String {
        let mut out = String::with_capacity(text.len() + 64);
        for line in text.split_inclusive('\n') {
            let body = line.trim_start_matches(' ');
            let indent = &line[..line.len() - body.len()];
            let colored = if let Some(rest) = body.strip_prefix("-/+ ") {
                Some(format!("{RED}-{RESET}/{GREEN}+{RESET} {rest}"))
            } else {
                [("+ ", GREEN), ("- ", RED), ("~ ", YELLOW)]
                    .iter()
                    .find_map(|(sym, c)| {
                        body.strip_prefix(sym)
                            .map(|rest| format!("{c}{}{RESET} {rest}", sym.trim_end()))
                    })
            };
            match colored {
                Some(c) => {
                    out.push_str(indent);
                    out.push_str(&c);
                }
                None => out.push_str(line),
            }
        }
        out
    }

    /// Colours the verdict words of an analysis or check.
    pub fn verdicts(text: &str) -> String {
        text.replace(": met", &format!(": {GREEN}met{RESET}"))
            .replace(": breached", &format!(": {RED}breached{RESET}"))
            .replace(": unknown", &format!(": {YELLOW}unknown{RESET}"))
            .replace("NO RECOVERY", &format!("{BOLD_RED}NO RECOVERY{RESET}"))
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn symbols_and_words_keep_their_text() {
            let plan = "  + record.a {\n      ~ ttl = 60 -> 30\n-/+ health_check.b {\n  # note\n";
            let c = super::plan(plan);
            assert!(c.contains("\x1b[32m+\x1b[0m record.a"));
            assert!(c.contains("\x1b[33m~\x1b[0m ttl"));
            assert!(c.contains("\x1b[31m-\x1b[0m/\x1b[32m+\x1b[0m health_check.b"));
            assert!(c.ends_with("  # note\n"));
            // Stripped of its escapes, the text is unchanged.
            let plain: String = strip(&c);
            assert_eq!(plain, plan);
            let v = super::verdicts("rto 900 s: met (actual 630 s)\nservice a: NO RECOVERY (x)\n");
            assert_eq!(
                strip(&v),
                "rto 900 s: met (actual 630 s)\nservice a: NO RECOVERY (x)\n"
            );
        }

        fn strip(s: &str) -> String {
            let mut out = String::new();
            let mut esc = false;
            for ch in s.chars() {
                match (esc, ch) {
                    (false, '\x1b') => esc = true,
                    (true, 'm') => esc = false,
                    (true, _) => {}
                    (false, c) => out.push(c),
                }
            }
            out
        }
    }
}
