//! Inline suppressions: `# meridian:allow SS001 <reason>` (or `//`) silences the named rules
//! on its own line, or, alone on a line, on the next line that is not a comment. A reason is
//! required; a suppression without one, naming no rule, or silencing nothing is itself a
//! finding (SS000), so suppressions cannot rot unseen.

use super::{Finding, Level, Report, RuleId};
use crate::diagnostics::Label;
use crate::source::{FileId, Loc, Sources};

const MARK: &str = "meridian:allow";

struct Suppression {
    file: FileId,
    /// The 1-based line it silences.
    line: usize,
    rules: Vec<RuleId>,
    reason: String,
    loc: Loc,
    used: bool,
}

/// Splits findings into shown and suppressed, adding SS000 findings for bad suppressions.
pub fn apply(findings: Vec<Finding>, sources: &Sources) -> Report {
    let mut problems = Vec::new();
    let mut list = scan(sources, &mut problems);
    let mut report = Report::default();
    for mut f in findings {
        let (line, _) = sources
            .get(f.primary.loc.file)
            .line_col(f.primary.loc.span.start);
        let hit = list
            .iter_mut()
            .find(|s| s.file == f.primary.loc.file && s.line == line && s.rules.contains(&f.rule));
        match hit {
            Some(s) => {
                s.used = true;
                f.suppressed = Some(s.reason.clone());
                report.suppressed.push(f);
            }
            None => report.findings.push(f),
        }
    }
    for s in list.iter().filter(|s| !s.used) {
        let ids: Vec<&str> = s.rules.iter().map(|r| r.as_str()).collect();
        problems.push(problem(
            s.loc.clone(),
            format!("this suppression of {} silences nothing", ids.join(", ")),
            "nothing to allow here",
            "remove it, or move it onto the line the finding points at (or the line above it)",
        ));
    }
    report.findings.extend(problems);
    report
}

fn problem(loc: Loc, message: String, label: &str, help: &str) -> Finding {
    Finding {
        rule: RuleId::Ss000,
        level: Level::Deny,
        message,
        primary: Label {
            loc,
            text: label.into(),
        },
        secondary: Vec::new(),
        help: help.into(),
        service: None,
        suppressed: None,
    }
}

/// Every well-formed suppression of every file; malformed ones become SS000 findings.
fn scan(sources: &Sources, problems: &mut Vec<Finding>) -> Vec<Suppression> {
    let mut out = Vec::new();
    for (id, file) in sources.iter() {
        let mut offset = 0;
        let lines: Vec<&str> = file.text.split_inclusive('\n').collect();
        for (i, raw) in lines.iter().enumerate() {
            let start = offset;
            offset += raw.len();
            let Some((at, text)) = comment(raw) else {
                continue;
            };
            let loc = Loc::new(id, start + at..start + raw.trim_end().len());
            let alone = raw[..at].trim().is_empty();
            let target = if alone {
                next_code_line(&lines, i)
            } else {
                i + 1
            };
            if let Some(s) = parse(text, id, target, loc, problems) {
                out.push(s);
            }
        }
    }
    out
}

/// Where a `meridian:allow` comment starts in the line (its `#` or `//`, outside any string),
/// and the text after the mark.
fn comment(line: &str) -> Option<(usize, &str)> {
    let at = line.find(MARK)?;
    let b = line.as_bytes();
    let mut in_str = false;
    let mut i = 0;
    while i < at {
        match b[i] {
            b'\\' if in_str => i += 1,
            b'"' => in_str = !in_str,
            b'#' if !in_str => return Some((i, line[at + MARK.len()..].trim())),
            b'/' if !in_str && b.get(i + 1) == Some(&b'/') => {
                return Some((i, line[at + MARK.len()..].trim()))
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// The 1-based number of the first line after `i` (0-based) that is neither blank nor a comment.
fn next_code_line(lines: &[&str], i: usize) -> usize {
    lines
        .iter()
        .enumerate()
        .skip(i + 1)
        .find(|(_, l)| {
            let t = l.trim();
            !(t.is_empty() || t.starts_with('#') || t.starts_with("//"))
        })
        .map_or(i + 2, |(j, _)| j + 1)
}

fn parse(
    text: &str,
    file: FileId,
    line: usize,
    loc: Loc,
    problems: &mut Vec<Finding>,
) -> Option<Suppression> {
    // Leading rule ids, separated by commas and/or spaces; the rest is the reason.
    let looks_like_id = |p: &str| {
        p.len() > 2
            && p[..2].eq_ignore_ascii_case("ss")
            && p[2..].bytes().all(|c| c.is_ascii_digit())
    };
    let mut rules = Vec::new();
    let mut reason = text.trim();
    while !reason.is_empty() {
        let (token, tail) = reason
            .split_once(char::is_whitespace)
            .unwrap_or((reason, ""));
        let pieces: Vec<&str> = token.split(',').filter(|p| !p.is_empty()).collect();
        if pieces.is_empty() || !pieces.iter().all(|p| looks_like_id(p)) {
            break;
        }
        for id in pieces {
            let Some(r) = RuleId::parse(id) else {
                problems.push(problem(
                    loc.clone(),
                    format!("the suppression names \"{id}\", which is no lint rule"),
                    "unknown rule",
                    "write `# meridian:allow SS001 <reason>`; `meridian lint --list` shows the rules",
                ));
                return None;
            };
            rules.push(r);
        }
        reason = tail.trim_start();
    }
    if rules.is_empty() || reason.trim().is_empty() {
        problems.push(problem(
            loc,
            "a suppression must name its rules and give a reason".into(),
            "no reason given",
            "write `# meridian:allow SS001 <why this is acceptable here>`",
        ));
        return None;
    }
    Some(Suppression {
        file,
        line,
        rules,
        reason: reason.trim().to_string(),
        loc,
        used: false,
    })
}
