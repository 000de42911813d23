//! The recovery analysis as text for a terminal, Markdown for a pull request, or JSON.

use crate::analysis::{
    Analysis, Case, CostReport, ObjectiveKind, ObjectiveResult, Overall, RecoveryVerdict, Unit,
    UnknownKind, Verdict,
};
use crate::duration::Duration;
use crate::model::{RpoCase, RtoCase};
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
    let amount = |v: f64| {
        if o.unit == Unit::Seconds {
            format!("{} s", num(v))
        } else {
            format!("USD {}", money(v))
        }
    };
    let case = match (o.case, o.percentile) {
        (Some(Case::Dark), Some(p)) => format!(" ({}, dark region)", p.as_str().to_uppercase()),
        (_, Some(p)) => format!(" ({} of clients served again)", p.as_str().to_uppercase()),
        (Some(Case::Dark), None) => " (dark region)".into(),
        (Some(Case::Worst), None) => " (worst case)".into(),
        (Some(Case::Typical), None) => " (typical lag)".into(),
        _ => String::new(),
    };
    let target = format!("{} {}{case}", o.objective.as_str(), amount(o.target));
    let mut by = if o.verdict == Verdict::Breached && !o.services.is_empty() {
        format!(
            "; service{} {}",
            if o.services.len() == 1 { "" } else { "s" },
            o.services.join(", ")
        )
    } else {
        String::new()
    };
    if !o.floor_gates.is_empty() {
        by.push_str(&format!(
            "; the floor gates for {} (a loss with no distribution)",
            o.floor_gates.join(", ")
        ));
    }
    match o.verdict {
        Verdict::Met if o.actual.is_none() => format!("{target}: met (no service declared)"),
        Verdict::Met | Verdict::Breached => format!(
            "{target}: {} (actual {}, margin {}{by})",
            if o.verdict == Verdict::Met {
                "met"
            } else {
                "BREACHED"
            },
            amount(o.actual.unwrap_or_default()),
            amount(o.margin.unwrap_or_default()),
        ),
        Verdict::Unknown => format!(
            "{target}: UNKNOWN ({})",
            o.reason.as_deref().unwrap_or("cannot be computed")
        ),
    }
}

/// `12,345.67`.
pub fn money(v: f64) -> String {
    let cents = (v * 100.0).round() as i64;
    let (whole, frac) = (cents / 100, (cents % 100).abs());
    let digits = whole.abs().to_string();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let sign = if whole < 0 || (whole == 0 && cents < 0) {
        "-"
    } else {
        ""
    };
    format!("{sign}{grouped}.{frac:02}")
}

pub fn cost_headline(c: &CostReport) -> String {
    if c.complete {
        format!("monthly cost USD {}", money(c.monthly_usd))
    } else {
        let missing: Vec<&str> = c
            .items
            .iter()
            .filter_map(|i| i.missing_input.as_deref())
            .collect();
        format!(
            "monthly cost at least USD {} (missing inputs: {})",
            money(c.monthly_usd),
            missing.join(", ")
        )
    }
}

fn cost_text(c: &CostReport) -> String {
    let mut s = format!("{}\n", cost_headline(c));
    let scope_w = c.items.iter().map(|i| i.scope.len()).max().unwrap_or(0);
    let item_w = c.items.iter().map(|i| i.item.len()).max().unwrap_or(0);
    for i in &c.items {
        let amount = i.monthly_usd.map_or("missing".to_string(), money);
        let _ = writeln!(
            s,
            "  {:<scope_w$}  {:<item_w$}  {:>12}  {}",
            i.scope, i.item, amount, i.detail
        );
    }
    if !c.overridden_prices.is_empty() {
        let _ = writeln!(s, "  prices overridden: {}", c.overridden_prices.join(", "));
    }
    s
}

/// `unknown (no recovery: ...)` or `unknown (missing input: ...)`.
fn unknown_text(u: &crate::analysis::Unknown) -> String {
    match u.kind {
        crate::analysis::UnknownKind::NoRecovery => format!("unknown (no recovery: {})", u.reason),
        crate::analysis::UnknownKind::Unknown => format!("unknown ({})", u.reason),
    }
}

/// One region loss: its formula, why it is unknown, who takes the load, what else happens.
fn loss_lines(l: &crate::analysis::RegionLoss, s: &mut String) {
    let labels = if l.labels.is_empty() || (l.labels.len() == 1 && l.labels[0] == l.region) {
        String::new()
    } else {
        format!(" ({})", l.labels.join(", "))
    };
    let _ = writeln!(s, "    lose {}{labels}: {}", l.region, l.formula);
    if let Some(u) = &l.unknown {
        let _ = writeln!(s, "      {}", unknown_text(u));
    }
    for k in l.takers.iter().filter(|k| k.must_scale) {
        let _ = writeln!(
            s,
            "      {} takes {:.1} % of the load with capacity {:.1} %: it must scale up",
            k.region,
            k.share_after * 100.0,
            k.capacity * 100.0
        );
    }
    for n in &l.notes {
        let _ = writeln!(s, "      {n}");
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
        let dark = a.verdict.rto_case == RtoCase::Dark;
        let floor = match &sa.rto_unknown {
            Some(u) => unknown_text(u),
            None if dark => format!(
                "{} (dark region)",
                secs(crate::analysis::rto_of(sa, RtoCase::Dark))
            ),
            None => secs(sa.rto_floor_seconds),
        };
        match (&sa.worst_region, &sa.rto_unknown) {
            (Some(w), None) => {
                let _ = writeln!(s, "  RTO floor {floor}, losing {w}");
            }
            _ => {
                let _ = writeln!(s, "  RTO floor {floor}");
            }
        }
        for l in &sa.region_losses {
            loss_lines(l, &mut s);
        }
        let _ = writeln!(s, "  RPO {}", rpo_text(sa, a.verdict.rpo_case));
        for n in &sa.notes {
            let _ = writeln!(s, "  note: {n}");
        }
        s.push('\n');
    }
    s.push_str(&cost_text(&a.cost));
    s.push('\n');
    if !a.objectives.is_empty() {
        s.push_str("objectives\n");
        for o in &a.objectives {
            let _ = writeln!(s, "  {}", objective_line(o));
        }
    }
    let _ = writeln!(s, "verdict: {}", verdict_line(a));
    s
}

/// A service's RPO under the case the objective gates on, named when it is not the bound,
/// with the other figure beside it and the basis: `3 s (the declared bound,
/// replication_lag_max; typical 0.3 s): ...`.
fn rpo_text(sa: &crate::analysis::ServiceAnalysis, case: RpoCase) -> String {
    let figure = secs(crate::analysis::rpo_of(sa, case));
    let bound = sa
        .rpo_worst_seconds
        .filter(|w| Some(*w) != sa.rpo_typical_seconds);
    let beside = match (case, bound) {
        (RpoCase::Typical, Some(b)) => format!(
            " (the typical lag, as the objective gates; declared bound {})",
            secs(Some(b))
        ),
        (RpoCase::Typical, None) => " (the typical lag)".to_string(),
        (_, Some(_)) => match sa.rpo_typical_seconds {
            Some(t) => format!(
                " (the declared bound, replication_lag_max; typical {})",
                secs(Some(t))
            ),
            None => " (the declared bound, replication_lag_max)".to_string(),
        },
        (RpoCase::Worst, None) if sa.rpo_worst_seconds.is_none() => {
            " (worst case: replication_lag_max is not declared)".to_string()
        }
        _ => String::new(),
    };
    format!("{figure}{beside}: {}", sa.rpo_basis)
}

/// The figure an RTO verdict is about, named by its case: `630 s`, `642 s (dark region)`.
pub fn rto_figure(v: &RecoveryVerdict) -> String {
    let n = v
        .rto_seconds
        .map_or_else(|| "unknown".to_string(), |x| format!("{} s", num(x)));
    match v.rto_case {
        RtoCase::Fast => n,
        RtoCase::Dark => format!("{n} (dark region)"),
    }
}

/// The RPO a verdict is about, named by its case where it is not the default.
pub fn rpo_figure(v: &RecoveryVerdict) -> String {
    let n = v
        .rpo_seconds
        .map_or_else(|| "unknown".to_string(), |x| format!("{} s", num(x)));
    match v.rpo_case {
        RpoCase::Bound => n,
        RpoCase::Typical => format!("{n} (typical lag)"),
        RpoCase::Worst => format!("{n} (worst case)"),
    }
}

/// The one-line verdict: `PASSED: objectives met` or `FAILED: rto BREACHED; NO RECOVERY (api)`.
pub fn verdict_line(a: &Analysis) -> String {
    let v = &a.verdict;
    let mut problems: Vec<String> = a
        .objectives
        .iter()
        .filter(|o| o.verdict != Verdict::Met)
        .map(|o| {
            format!(
                "{} {}",
                o.objective.as_str(),
                if o.verdict == Verdict::Breached {
                    "BREACHED"
                } else {
                    "UNKNOWN"
                }
            )
        })
        .collect();
    if !v.no_recovery.is_empty() {
        problems.push(format!("NO RECOVERY ({})", v.no_recovery.join(", ")));
    }
    if v.empty {
        problems.push("nothing declared (no service and no registry)".into());
    }
    match (v.passed, v.objectives) {
        (true, Overall::None) => {
            "PASSED: no objectives declared, every region loss recoverable".into()
        }
        (true, _) => "PASSED: objectives met, every region loss recoverable".into(),
        (false, _) => format!("FAILED: {}", problems.join("; ")),
    }
}

/// `check --format markdown`: the verdict first, then the objectives, the services without
/// recovery and the lint's findings; the whole analysis folded below.
pub fn check_markdown(a: &Analysis, lint: &crate::lint::Report) -> String {
    let mark = if a.verdict.passed { "✅" } else { "❌" };
    let mut s = format!(
        "## Recovery check: {mark} {}

",
        verdict_line(a)
    );
    let _ = writeln!(
        s,
        "RTO floor {}, RPO {}.\n",
        rto_figure(&a.verdict),
        rpo_figure(&a.verdict)
    );
    if a.objectives.is_empty() {
        s.push_str("No objectives declared.\n");
    }
    if let Some(note) = bound_note(a) {
        let _ = writeln!(s, "> {note}\n");
    }
    for o in &a.objectives {
        let _ = writeln!(s, "- {} {}", objective_mark(o.verdict), objective_line(o));
    }
    let lost: Vec<String> = a
        .no_recovery()
        .into_iter()
        .map(|(service, why)| format!("❌ service `{service}`: NO RECOVERY ({why})"))
        .collect();
    s.push_str(&crate::render::comment::bullets(
        &lost,
        "services with no recovery",
    ));
    let _ = writeln!(
        s,
        "\n### Static stability\n\n{}\n",
        crate::render::lint::summary(lint)
    );
    let findings: Vec<String> = lint
        .findings
        .iter()
        .map(|f| format!("`{}` {}: {}", f.rule.as_str(), f.level.as_str(), f.message))
        .collect();
    s.push_str(&crate::render::comment::bullets(&findings, "findings"));
    s.push_str("\n<details><summary>Recovery analysis</summary>\n\n");
    s.push_str(&markdown(a));
    s.push_str("\n</details>\n");
    s
}

/// Said when the RPO objective gates on a declared bound above the typical lag: the default
/// changed (an objective is a promise), so a CI gate that passed on the typical lag may fail.
pub fn bound_note(a: &Analysis) -> Option<String> {
    let o = a.objective(ObjectiveKind::Rpo)?;
    if o.case != Some(Case::Bound) {
        return None;
    }
    let services: Vec<&str> = a
        .services
        .iter()
        .filter(
            |(_, s)| match (s.rpo_typical_seconds, s.rpo_worst_seconds) {
                (Some(t), Some(w)) => t < w,
                _ => false,
            },
        )
        .map(|(n, _)| n.as_str())
        .collect();
    (!services.is_empty()).then(|| {
        format!(
            "rpo gates on the declared bound replication_lag_max of {} (an objective is a promise); objectives {{ rpo_case = \"typical\" }} gates on the typical lag instead",
            services.join(", ")
        )
    })
}

fn objective_mark(v: Verdict) -> &'static str {
    match v {
        Verdict::Met => "✅",
        Verdict::Breached => "❌",
        Verdict::Unknown => "❓",
    }
}

pub fn markdown(a: &Analysis) -> String {
    let mut s = String::from("## Recovery analysis\n\n");
    let n = a.services.len();
    let _ = writeln!(
        s,
        "**{n} service{}: RTO floor {}, RPO {}; {}.**\n",
        if n == 1 { "" } else { "s" },
        rto_figure(&a.verdict),
        rpo_figure(&a.verdict),
        verdict_line(a)
    );
    let case = if a.verdict.rto_case == RtoCase::Dark {
        " (dark region)"
    } else {
        ""
    };
    // A long table is folded, so the summary above stays one screen.
    let folded = n > crate::render::comment::SHOWN;
    if folded {
        let _ = writeln!(s, "<details><summary>Every service ({n})</summary>\n");
    }
    let _ = writeln!(
        s,
        "| service | routing | data | RTO floor{case} | worst loss | RPO |"
    );
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
            match &sa.rto_unknown {
                Some(u) if u.kind == UnknownKind::NoRecovery => "NO RECOVERY".to_string(),
                _ => secs(crate::analysis::rto_of(sa, a.verdict.rto_case)),
            },
            sa.worst_region.as_deref().unwrap_or("-"),
            secs(crate::analysis::rpo_of(sa, a.verdict.rpo_case))
        );
    }
    if folded {
        s.push_str("\n</details>\n");
    }
    for (name, sa) in &a.services {
        let _ = writeln!(s, "\n### `{name}`\n");
        for l in &sa.region_losses {
            let _ = writeln!(s, "- lose `{}`: `{}`", l.region, l.formula);
            if let Some(u) = &l.unknown {
                let _ = writeln!(s, "  - {}", unknown_text(u));
            }
        }
        for n in &sa.notes {
            let _ = writeln!(s, "- note: {n}");
        }
    }
    s.push_str("\n### Monthly cost\n\n");
    s.push_str(&format!("{}\n\n", cost_headline(&a.cost)));
    s.push_str("| scope | item | computation | USD/month |\n| --- | --- | --- | ---: |\n");
    for i in &a.cost.items {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} |",
            i.scope.replace('"', "`"),
            i.item,
            i.detail,
            i.monthly_usd.map_or("missing input".to_string(), money)
        );
    }
    if !a.objectives.is_empty() {
        s.push_str("\n### Objectives\n\n");
        for o in &a.objectives {
            let _ = writeln!(s, "- {} {}", objective_mark(o.verdict), objective_line(o));
        }
    }
    let _ = writeln!(s, "\n**Verdict:** {}", verdict_line(a));
    s
}

/// One row of the recovery timeline: a bar, or a loss with no floor (drawn as text only).
struct Bar {
    label: String,
    start: f64,
    end: f64,
    critical: bool,
    /// The loss has no floor: no bar, the label says why.
    floorless: bool,
}

/// What the timeline draws for one service: its worst loss under the verdict's case.
struct Drawn {
    service: String,
    region: String,
    floor: Option<f64>,
    /// Why the loss has no floor; None when it has one.
    unknown: Option<UnknownKind>,
    bars: usize,
}

impl Drawn {
    /// `known`, `no_recovery` or `unknown`, as the data attribute says it.
    fn recovery(&self) -> &'static str {
        match self.unknown {
            None => "known",
            Some(UnknownKind::NoRecovery) => "no_recovery",
            Some(UnknownKind::Unknown) => "unknown",
        }
    }
}

/// The bars of each service's worst region loss: detection, then the parallel steps. Under
/// `rto_case = "dark"` detection runs to the dark-region figure. A loss with no floor gets one
/// row of text and no bar: a bar that ends would say the service recovers.
fn timeline_bars(a: &Analysis) -> (Vec<Bar>, Vec<Drawn>) {
    let dark = a.verdict.rto_case == RtoCase::Dark;
    let mut bars = Vec::new();
    let mut drawn = Vec::new();
    for (name, sa) in &a.services {
        let Some(loss) = sa
            .region_losses
            .iter()
            .find(|l| Some(&l.region) == sa.worst_region.as_ref())
        else {
            continue;
        };
        let floor = crate::analysis::rto_of(sa, a.verdict.rto_case);
        let before = bars.len();
        match &loss.unknown {
            Some(u) => bars.push(Bar {
                label: format!(
                    "{name} (lose {}): {}: {}",
                    loss.region,
                    if u.kind == UnknownKind::NoRecovery {
                        "NO RECOVERY"
                    } else {
                        "floor unknown"
                    },
                    u.reason
                ),
                start: 0.0,
                end: 0.0,
                critical: false,
                floorless: true,
            }),
            None => loss_bars(name, loss, dark, &mut bars),
        }
        drawn.push(Drawn {
            service: name.clone(),
            region: loss.region.clone(),
            floor: floor.map(Duration::as_secs_f64),
            unknown: loss.unknown.as_ref().map(|u| u.kind),
            bars: bars[before..].iter().filter(|b| !b.floorless).count(),
        });
    }
    (bars, drawn)
}

/// The bars of a loss that has a floor.
fn loss_bars(name: &str, loss: &crate::analysis::RegionLoss, dark: bool, bars: &mut Vec<Bar>) {
    let secs_of = |d: Option<Duration>| d.map_or(0.0, Duration::as_secs_f64);
    // The dark figure differs from the fast one only in detection.
    let extra = if dark {
        secs_of(loss.floor_under(RtoCase::Dark)) - secs_of(loss.floor_under(RtoCase::Fast))
    } else {
        0.0
    };
    let detect = secs_of(loss.steps.first().and_then(|s| s.seconds)) + extra;
    for (i, step) in loss.steps.iter().enumerate() {
        let Some(d) = step.seconds else { continue };
        let (start, end) = if i == 0 {
            (0.0, detect)
        } else {
            (detect, detect + d.as_secs_f64())
        };
        let formula = if i == 0 && dark {
            format!("{} (dark region: {} s)", step.formula, num(detect))
        } else {
            step.formula.clone()
        };
        bars.push(Bar {
            label: format!("{name} (lose {}): {formula}", loss.region),
            start,
            end,
            critical: loss.critical_path.contains(&step.kind),
            floorless: false,
        });
    }
}

/// The chart's title: each service with its floor, or why it has none.
fn timeline_title(drawn: &[Drawn], v: &RecoveryVerdict) -> String {
    let case = if v.rto_case == RtoCase::Dark {
        " (dark region)"
    } else {
        ""
    };
    let parts: Vec<String> = drawn
        .iter()
        .map(|d| match (d.floor, d.unknown) {
            (Some(f), _) => format!("{} {} s", d.service, num(f)),
            (None, Some(UnknownKind::NoRecovery)) => format!("{} NO RECOVERY", d.service),
            (None, _) => format!("{} unknown", d.service),
        })
        .collect();
    let mut t = format!("Worst region loss{case}: {}", parts.join(", "));
    if t.chars().count() > 110 {
        t = t.chars().take(107).collect::<String>() + "...";
    }
    t
}

/// The verdict the picture draws, as data attributes, so a program can read what it shows.
fn verdict_data(drawn: &[Drawn], a: &Analysis) -> String {
    let v = &a.verdict;
    let opt = |x: Option<f64>| x.map_or_else(|| "unknown".to_string(), num);
    // Under a percentile objective, which one gates and its figure.
    let gated = v.rto_percentile.map_or_else(String::new, |p| {
        format!(
            " data-rto-percentile=\"{}\" data-rto-percentile-seconds=\"{}\"",
            p.as_str(),
            opt(v.rto_percentile_seconds)
        )
    });
    let mut g = format!(
        "<g id=\"meridian-verdict\" data-rto-case=\"{}\" data-rto-seconds=\"{}\"{gated} data-rpo-case=\"{}\" data-rpo-seconds=\"{}\" data-objectives=\"{}\" data-passed=\"{}\">",
        v.rto_case.as_str(),
        opt(v.rto_seconds),
        v.rpo_case.as_str(),
        opt(v.rpo_seconds),
        v.objectives.as_str(),
        v.passed
    );
    for d in drawn {
        let _ = write!(
            g,
            "<g data-service=\"{}\" data-worst-region=\"{}\" data-floor-seconds=\"{}\" data-recovery=\"{}\" data-bars=\"{}\"/>",
            xml_escape(&d.service),
            d.region,
            opt(d.floor),
            d.recovery(),
            d.bars
        );
    }
    g.push_str("</g>");
    g
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

type TimelineChart<'a, 'b> = super::Chart<'a, 'b>;

/// The bars (critical path red, the rest blue, each in the legend), their labels, and the RTO
/// objective as a dashed line.
fn draw_timeline(
    chart: &mut TimelineChart,
    bars: &[Bar],
    rows: usize,
    max_x: f64,
    objective: Option<f64>,
) -> Result<(), String> {
    use plotters::prelude::*;
    let err = |e: DrawingAreaErrorKind<_>| e.to_string();
    // Each row: its label on top, its bar below it, so no label is drawn over a bar.
    let bar = |b: &Bar, i: usize, color: RGBAColor| {
        let y = (rows - i) as f64;
        Rectangle::new(
            [
                (b.start, y - 0.85),
                (b.end.max(b.start + max_x / 400.0), y - 0.5),
            ],
            color.filled(),
        )
    };
    let critical = RED.mix(0.7);
    let parallel = BLUE.mix(0.35);
    chart
        .draw_series(
            bars.iter()
                .enumerate()
                .filter(|(_, b)| b.critical && !b.floorless)
                .map(|(i, b)| bar(b, i, critical)),
        )
        .map_err(err)?
        .label("on the critical path (sets the floor)")
        .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 16, y + 5)], critical.filled()));
    chart
        .draw_series(
            bars.iter()
                .enumerate()
                .filter(|(_, b)| !b.critical && !b.floorless)
                .map(|(i, b)| bar(b, i, parallel)),
        )
        .map_err(err)?
        .label("runs in parallel, off the critical path")
        .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 16, y + 5)], parallel.filled()));
    chart
        .draw_series(bars.iter().enumerate().map(|(i, b)| {
            let y = (rows - i) as f64;
            let font = ("sans-serif", 12).into_font();
            let color = if b.floorless { RED } else { BLACK };
            Text::new(b.label.clone(), (b.start, y - 0.1), font.color(&color))
        }))
        .map_err(err)?;
    if let Some(x) = objective {
        chart
            .draw_series(DashedLineSeries::new(
                [(x, 0.0), (x, rows as f64)],
                6,
                4,
                BLACK.mix(0.7).stroke_width(2),
            ))
            .map_err(err)?
            .label(format!("RTO objective {x} s"))
            .legend(|(x, y)| {
                PathElement::new([(x, y), (x + 16, y)], BLACK.mix(0.7).stroke_width(2))
            });
    }
    Ok(())
}

/// The critical path of each service's worst region loss as a timeline (SVG): detection, then
/// the parallel steps, the longest one marked.
pub fn timeline_svg(a: &Analysis) -> Result<String, String> {
    let (bars, drawn) = timeline_bars(a);
    let objective = a.objective(ObjectiveKind::Rto).map(|o| o.target);
    let max_x = bars
        .iter()
        .map(|b| b.end)
        .chain(objective)
        .fold(10.0, f64::max)
        * 1.1;
    let rows = bars.len().max(1);
    let height = 170 + 44 * rows as u32;
    let out = super::seconds_rows_svg(
        (900, height),
        &timeline_title(&drawn, &a.verdict),
        (max_x, rows),
        |chart| draw_timeline(chart, &bars, rows, max_x, objective),
    )?;
    Ok(super::with_data(out, &verdict_data(&drawn, a)))
}
