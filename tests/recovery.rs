//! The recovery model against hand-computed designs: every file under
//! `tests/fixtures/recovery/` states its expected figures in `# expect` comment lines, with the
//! arithmetic beside them, written before the code computed them (the `h*` files by a reviewer
//! working from the README and the issue alone).
//!
//! - `# expect rto SERVICE SECONDS|no_recovery|unknown` the service's RTO floor
//! - `# expect dark SERVICE [AWS_REGION] SECONDS` the floor when a region goes dark
//! - `# expect loss SERVICE AWS_REGION SECONDS|no_recovery|unknown` one region loss
//! - `# expect taker SERVICE AWS_REGION LABEL[,LABEL]` regions that take that loss's load
//! - `# expect stranded SERVICE AWS_REGION LOC,LOC` geolocation users left without a record
//! - `# expect rpo SERVICE SECONDS|unknown` the RPO (the declared bound where there is one),
//!   `# expect rpo_typical SERVICE SECONDS` and `# expect rpo_worst SERVICE SECONDS`
//! - `# expect gate pass|fail` what `check` says

#![allow(clippy::unwrap_used, clippy::too_many_lines)]

use meridian::analysis::{analyze, Analysis, RegionLoss, UnknownKind};
use meridian::source::Sources;
use std::path::Path;

fn figure(value: Option<f64>, unknown: Option<UnknownKind>) -> String {
    match (value, unknown) {
        (Some(v), _) => format!("{v}"),
        (None, Some(UnknownKind::NoRecovery)) => "no_recovery".into(),
        (None, _) => "unknown".into(),
    }
}

fn secs(d: Option<meridian::duration::Duration>) -> Option<f64> {
    d.map(|d| d.as_secs_f64())
}

fn loss<'a>(a: &'a Analysis, service: &str, region: &str) -> &'a RegionLoss {
    a.services[service]
        .region_losses
        .iter()
        .find(|l| l.region == region)
        .unwrap_or_else(|| panic!("no loss of {region} for {service}"))
}

/// Checks one `# expect` line; returns a failure message.
fn check(a: &Analysis, words: &[&str]) -> Option<String> {
    let (got, want) = match words {
        ["rto", s, want] => {
            let sa = &a.services[*s];
            let kind = sa.rto_unknown.as_ref().map(|u| u.kind);
            (figure(secs(sa.rto_floor_seconds), kind), *want)
        }
        ["dark", s, want] => (
            figure(secs(a.services[*s].dark_rto_floor_seconds), None),
            *want,
        ),
        ["dark", s, r, want] => (figure(secs(loss(a, s, r).dark_floor_seconds), None), *want),
        ["loss", s, r, want] => {
            let l = loss(a, s, r);
            let kind = l.unknown.as_ref().map(|u| u.kind);
            (figure(secs(l.floor_seconds), kind), *want)
        }
        ["taker", s, r, want] => {
            let takers: Vec<&str> = loss(a, s, r)
                .takers
                .iter()
                .map(|t| t.region.as_str())
                .collect();
            let all = want.split(',').all(|w| takers.contains(&w));
            return (!all).then(|| format!("takers {takers:?}"));
        }
        ["stranded", s, r, want] => (loss(a, s, r).stranded.join(","), *want),
        ["rpo", s, want] => (figure(secs(a.services[*s].rpo_seconds), None), *want),
        ["rpo_typical", s, want] => (
            figure(secs(a.services[*s].rpo_typical_seconds), None),
            *want,
        ),
        ["rpo_worst", s, want] => (figure(secs(a.services[*s].rpo_worst_seconds), None), *want),
        ["gate", want] => (
            if a.gate_failed() { "fail" } else { "pass" }.to_string(),
            *want,
        ),
        _ => return Some("unreadable expectation".into()),
    };
    (got != want).then(|| format!("got {got}"))
}

#[test]
fn hand_computed_designs() {
    let mut failures = Vec::new();
    let mut checked = 0;
    let mut files: Vec<_> = std::fs::read_dir("tests/fixtures/recovery")
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for path in &files {
        let sources = Sources::load(Path::new(path)).unwrap();
        let result = meridian::check(&sources);
        let Some(t) = result.valid() else {
            failures.push(format!(
                "{}: invalid: {:?}",
                path.display(),
                result.diagnostics
            ));
            continue;
        };
        let a = analyze(t);
        let text = std::fs::read_to_string(path).unwrap();
        for line in text.lines() {
            let Some(rest) = line.strip_prefix("# expect ") else {
                continue;
            };
            let words: Vec<&str> = rest.split_whitespace().collect();
            checked += 1;
            if let Some(why) = check(&a, &words) {
                failures.push(format!("{}: {rest}: {why}", path.display()));
            }
        }
    }
    assert!(checked > 40, "only {checked} expectations found");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
