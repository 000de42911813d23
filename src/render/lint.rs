//! Lint findings for people (miette snippets), CI (JSON) and code scanning (SARIF 2.1.0).

use super::diagnostics::{label_json, snippets, Shown};
use crate::diagnostics::Label;
use crate::lint::{Finding, Level, Report, RuleId, JSON_FORMAT_VERSION};
use crate::source::Sources;
use serde_json::{json, Value};

fn shown(f: &Finding) -> Shown<'_> {
    Shown {
        code: f.rule.as_str(),
        severity: match f.level {
            Level::Deny => miette::Severity::Error,
            _ => miette::Severity::Warning,
        },
        message: &f.message,
        primary: &f.primary,
        secondary: &f.secondary,
        help: Some(&f.help),
    }
}

/// Every finding as a snippet, then a one-line count.
pub fn human(r: &Report, sources: &Sources, color: bool) -> String {
    let mut out = snippets(r.findings.iter().map(shown), sources, color);
    out.push_str(&summary(r));
    out.push('\n');
    out
}

/// "lint: 1 denied, 2 warnings, 1 suppressed" (or "no findings").
pub fn summary(r: &Report) -> String {
    let (deny, warn) = (r.count(Level::Deny), r.count(Level::Warn));
    if deny + warn == 0 && r.suppressed.is_empty() {
        return "lint: no findings".into();
    }
    let plural = |n: usize, w: &str| format!("{n} {w}{}", if n == 1 { "" } else { "s" });
    format!(
        "lint: {} denied, {}, {} suppressed",
        deny,
        plural(warn, "warning"),
        r.suppressed.len()
    )
}

fn finding_json(f: &Finding, sources: &Sources) -> Value {
    json!({
        "rule": f.rule,
        "name": f.rule.rule().name,
        "level": f.level,
        "message": f.message,
        "location": label_json(&f.primary, sources),
        "related": f.secondary.iter().map(|l| label_json(l, sources)).collect::<Vec<_>>(),
        "help": f.help,
        "service": f.service,
        "reason": f.suppressed,
    })
}

/// The JSON document (`schemas/lint.schema.json`).
pub fn json(r: &Report, sources: &Sources) -> Value {
    json!({
        "format_version": JSON_FORMAT_VERSION,
        "passed": !r.denied(),
        "denied": r.count(Level::Deny),
        "warnings": r.count(Level::Warn),
        "findings": r.findings.iter().map(|f| finding_json(f, sources)).collect::<Vec<_>>(),
        "suppressed": r.suppressed.iter().map(|f| finding_json(f, sources)).collect::<Vec<_>>(),
    })
}

/// Two documents of the same format ([`json`] or [`sarif`]) as one: findings (SARIF results)
/// together in the order given, counts added, `passed` only if both passed.
pub fn merge(mut into: Value, from: Value) -> Value {
    let append = |to: Option<&mut Value>, from: Option<&Value>| {
        if let (Some(Value::Array(to)), Some(Value::Array(from))) = (to, from) {
            to.extend(from.iter().cloned());
        }
    };
    if into.get("runs").is_some() {
        append(
            into.pointer_mut("/runs/0/results"),
            from.pointer("/runs/0/results"),
        );
        return into;
    }
    for key in ["findings", "suppressed"] {
        append(into.get_mut(key), from.get(key));
    }
    for key in ["denied", "warnings"] {
        let n = into[key].as_u64().unwrap_or(0) + from[key].as_u64().unwrap_or(0);
        into[key] = json!(n);
    }
    let passed =
        into["passed"].as_bool().unwrap_or(false) && from["passed"].as_bool().unwrap_or(false);
    into["passed"] = json!(passed);
    into
}

/// Where each source file is for code scanning: its path relative to the repository root (the
/// git top level), by the name the sources give it. Files outside a repository are absent.
pub type RepoPaths = std::collections::BTreeMap<String, String>;

/// A SARIF file URI: the path relative to the repository root when known, else as given, with
/// forward slashes (relative paths resolve against the repository root in code scanning).
fn uri(name: &str, repo: &RepoPaths) -> String {
    let name = repo.get(name).map_or(name, String::as_str);
    let p = name.replace('\\', "/");
    let mut out = String::new();
    for c in p.trim_start_matches("./").chars() {
        match c {
            ' ' => out.push_str("%20"),
            '#' => out.push_str("%23"),
            '%' => out.push_str("%25"),
            '?' => out.push_str("%3F"),
            _ => out.push(c),
        }
    }
    if out.starts_with('/') {
        format!("file://{out}")
    } else {
        out
    }
}

fn sarif_location(l: &Label, sources: &Sources, repo: &RepoPaths) -> Value {
    let f = sources.get(l.loc.file);
    let (line, column) = f.line_col(l.loc.span.start);
    let (end_line, end_column) = f.line_col(l.loc.span.end);
    let mut loc = json!({
        "physicalLocation": {
            "artifactLocation": {"uri": uri(&f.name, repo)},
            "region": {
                "startLine": line,
                "startColumn": column,
                "endLine": end_line,
                "endColumn": end_column.max(column + usize::from(end_line == line)),
            }
        }
    });
    if !l.text.is_empty() {
        loc["message"] = json!({"text": l.text});
    }
    loc
}

fn sarif_level(l: Level) -> &'static str {
    match l {
        Level::Deny => "error",
        Level::Warn => "warning",
        Level::Allow => "none",
    }
}

fn sarif_rules() -> Vec<Value> {
    RuleId::ALL
        .iter()
        .map(|id| {
            let r = id.rule();
            json!({
                "id": id.as_str(),
                "name": r.name,
                "shortDescription": {"text": r.summary},
                "fullDescription": {"text": r.summary},
                "help": {"text": r.doc, "markdown": r.doc},
                "helpUri": r.help_uri(),
                "defaultConfiguration": {"level": sarif_level(r.level)},
                // GitHub code scanning shows the tags and weighs precision.
                "properties": {
                    "tags": ["static-stability", "multi-region", "reliability"],
                    "precision": "high",
                    "problem.severity": sarif_level(r.level),
                },
            })
        })
        .collect()
}

/// Meridian's own fingerprint of a finding: its rule, its file (repository-relative), the
/// service it is about and its message, so it stays one alert when lines move (GitHub computes
/// `primaryLocationLineHash` itself).
fn fingerprint(f: &Finding, file: &str) -> String {
    let key = format!(
        "{}\u{1f}{file}\u{1f}{}\u{1f}{}",
        f.rule.as_str(),
        f.service.as_deref().unwrap_or(""),
        f.message
    );
    crate::hash::hex(&key, 16)
}

fn sarif_result(f: &Finding, sources: &Sources, repo: &RepoPaths) -> Value {
    let index = RuleId::ALL.iter().position(|r| *r == f.rule).unwrap_or(0);
    let file = uri(&sources.get(f.primary.loc.file).name, repo);
    let mut res = json!({
        "ruleId": f.rule.as_str(),
        "ruleIndex": index,
        "level": sarif_level(f.level),
        "message": {"text": format!("{} ({})", f.message, f.help)},
        "locations": [sarif_location(&f.primary, sources, repo)],
        "partialFingerprints": {"meridianFinding/v1": fingerprint(f, &file)},
    });
    if !f.secondary.is_empty() {
        let related: Vec<Value> = f
            .secondary
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let mut v = sarif_location(l, sources, repo);
                v["id"] = json!(i);
                v
            })
            .collect();
        res["relatedLocations"] = json!(related);
    }
    if let Some(reason) = &f.suppressed {
        res["suppressions"] = json!([{"kind": "inSource", "justification": reason}]);
    }
    res
}

/// A SARIF 2.1.0 log for GitHub code scanning: every rule with its help, every finding with
/// its location (repository-relative where `repo` knows the file) and its own fingerprint,
/// suppressed findings marked `inSource` with their reason.
pub fn sarif(r: &Report, sources: &Sources, repo: &RepoPaths) -> Value {
    let mut results: Vec<Value> = r
        .findings
        .iter()
        .map(|f| sarif_result(f, sources, repo))
        .collect();
    results.extend(r.suppressed.iter().map(|f| sarif_result(f, sources, repo)));
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "meridian",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://meridian.dev/docs/lint",
                "rules": sarif_rules(),
            }},
            "results": results,
            // Columns count characters (Unicode code points), as every Meridian output does.
            "columnKind": "unicodeCodePoints",
        }]
    })
}
