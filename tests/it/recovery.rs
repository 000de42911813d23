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

use crate::support::agreement;
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

/// One verdict on every surface, over random designs (tests/it/support/agreement.rs): every
/// cell of routing x data pattern x RTO case at least 20 times, and no disagreement.
#[test]
fn every_surface_agrees_on_random_designs() {
    let (coverage, seen, failures) = agreement::run(20_261_207, 1_500);
    let mut report = String::from("coverage (routing, data, rto_case): designs\n");
    for (cell, n) in &coverage {
        report.push_str(&format!(
            "  {} {} {}: {n}\n",
            cell.routing, cell.data, cell.rto_case
        ));
    }
    report.push_str("outcomes:\n");
    for (what, n) in &seen {
        report.push_str(&format!("  {what}: {n}\n"));
    }
    println!("{report}");
    let rare: Vec<&&str> = seen
        .iter()
        .filter(|(_, n)| **n < 20)
        .map(|(w, _)| w)
        .collect();
    assert_eq!(seen.len(), 18, "outcomes never reached:\n{report}");
    assert!(
        rare.is_empty(),
        "outcomes under 20 designs: {rare:?}\n{report}"
    );
    let thin: Vec<String> = coverage
        .iter()
        .filter(|(_, n)| **n < 20)
        .map(|(c, n)| format!("{c:?}: {n}"))
        .collect();
    assert_eq!(coverage.len(), 4 * 5 * 2, "cells not reached:\n{report}");
    assert!(thin.is_empty(), "cells under 20 designs: {thin:?}");
    assert!(failures.is_empty(), "{}", failures.join("\n---\n"));
}

/// The same agreement through the binary, on a sample of the random designs: `check`,
/// `compare`, `plan`, `simulate --all`, `lint` and the SVG, each as JSON (or data attributes),
/// give the same floor, RPO, verdict and writes at risk.
#[test]
fn every_command_agrees_on_sample_designs() {
    use serde_json::Value;
    let dir = std::env::temp_dir().join(format!("meridian-agree-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let run = |args: &[&str]| -> (Option<i32>, String) {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_meridian"))
            .args(args)
            .current_dir(&dir)
            .output()
            .unwrap();
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stdout).into_owned(),
        )
    };
    let json = |args: &[&str]| -> (Option<i32>, Value) {
        let (code, out) = run(args);
        (code, serde_json::from_str(&out).unwrap_or(Value::Null))
    };
    let mut rng = agreement::Rng::new(7);
    for i in 0..12 {
        let (hcl, _) = agreement::design(&mut rng);
        let name = format!("d{i}.hcl");
        std::fs::write(dir.join(&name), &hcl).unwrap();
        let t = agreement::topology(&hcl);
        let a = analyze(&t);
        let (code, check) = json(&["check", &name, "--format", "json"]);
        assert_eq!(code, Some(if a.gate_failed() { 3 } else { 0 }), "{hcl}");
        let v = &check["verdict"];
        let (_, cmp) = json(&["compare", &name, &name, "--format", "json"]);
        let d = &cmp["designs"][0];
        assert_eq!(
            d["rto_floor_seconds"], v["rto_seconds"],
            "compare vs check\n{hcl}"
        );
        assert_eq!(
            d["rpo_seconds"], v["rpo_seconds"],
            "compare vs check\n{hcl}"
        );
        assert_eq!(d["passed"], v["passed"], "compare vs check\n{hcl}");
        let state = format!("state{i}.json");
        let (_, plan) = json(&["plan", &name, "--state", &state, "--format", "json"]);
        let r = &plan["recovery"];
        assert_eq!(
            r["rto_floor_after_seconds"], v["rto_seconds"],
            "plan vs check\n{hcl}"
        );
        assert_eq!(r["rpo_seconds"], v["rpo_seconds"], "plan vs check\n{hcl}");
        assert_eq!(r["before"], "nothing_live", "{hcl}");
        assert_eq!(r["objectives"], check["objectives"], "plan vs check\n{hcl}");
        let (_, sim) = json(&["simulate", &name, "--all", "--format", "json"]);
        for s in sim["simulations"].as_array().unwrap() {
            let region = s["scenario"]["region"].as_str().unwrap();
            for (svc, o) in s["services"].as_object().unwrap() {
                let Some(l) = a.services[svc]
                    .region_losses
                    .iter()
                    .find(|l| l.region == region)
                else {
                    continue;
                };
                let at_risk = l.writes_at_risk_seconds.map(|d| d.as_secs_f64());
                assert_eq!(
                    o["rpo_exposed_seconds"].as_f64(),
                    at_risk,
                    "{svc} {region}\n{hcl}"
                );
                let floor = if v["rto_case"] == "dark" {
                    l.dark_floor_seconds
                } else {
                    l.floor_seconds
                };
                assert_eq!(
                    o["rto_seconds"].as_f64(),
                    floor.map(|d| d.as_secs_f64()),
                    "{svc} {region}\n{hcl}"
                );
            }
        }
        let (_, lint) = json(&["lint", &name, "--format", "json"]);
        let ss006: Vec<&str> = lint["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["rule"] == "SS006")
            .filter_map(|f| f["service"].as_str())
            .collect();
        let over: Vec<&str> = check["objectives"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|o| o["objective"] == "rpo")
            .flat_map(|o| o["figures"].as_array().unwrap())
            .filter(|f| f["over"] == true)
            .filter_map(|f| f["service"].as_str())
            .collect();
        assert_eq!(ss006, over, "lint vs check\n{hcl}");
        let (_, svg) = run(&["analyze", &name, "--format", "svg"]);
        let figure = v["rto_seconds"]
            .as_f64()
            .map_or("unknown".to_string(), |x| format!("{x}"));
        assert!(
            svg.contains(&format!("data-rto-seconds=\"{figure}\"")),
            "svg vs check\n{hcl}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs the binary in `dir`; exit code, stdout, stderr.
fn meridian_in(dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_meridian"))
        .args(args)
        .current_dir(dir)
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

const VERDICT: &str = "tests/fixtures/verdict";

/// A loss with no recovery is never drawn as a bar that ends: the SVG says NO RECOVERY in its
/// title, draws no bar for it, and carries the verdict as data (before: a 90 s critical path
/// left of the 120 s line, the same picture as the fixed design's).
#[test]
fn the_timeline_of_a_loss_with_no_recovery_draws_no_bar() {
    let here = Path::new(".");
    let f = format!("{VERDICT}/no_recovery_dependency.hcl");
    let (code, svg, _) = meridian_in(here, &["analyze", &f, "--format", "svg"]);
    assert_eq!(code, Some(0));
    assert!(svg.contains("api NO RECOVERY"), "{svg}");
    assert!(
        svg.contains("data-recovery=\"no_recovery\" data-bars=\"0\""),
        "{svg}"
    );
    assert!(svg.contains("data-rto-seconds=\"unknown\""), "{svg}");
    assert!(svg.contains("data-passed=\"false\""), "{svg}");
    // No filled bar: plotters draws bars as filled rectangles in the critical red.
    assert!(
        !svg.contains("fill=\"#FF0000\" fill-opacity=\"0.7\""),
        "{svg}"
    );
    let (code, _, _) = meridian_in(here, &["check", &f]);
    assert_eq!(code, Some(3));
}

/// The RPO objective gates on the declared bound, and check, lint, compare, plan and alerts
/// all say so (before: check met on the typical 0.3 s while lint denied 3 s).
#[test]
fn one_rpo_for_check_lint_compare_plan_and_alerts() {
    let here = Path::new(".");
    let f = format!("{VERDICT}/rpo_bound.hcl");
    let (code, out, _) = meridian_in(here, &["check", &f]);
    assert_eq!(code, Some(3), "{out}");
    assert!(out.contains("rpo 1 s: BREACHED (actual 3 s"), "{out}");
    assert!(out.contains("SS006 deny"), "{out}");
    assert!(
        out.contains("note: rpo gates on the declared bound"),
        "{out}"
    );
    let (code, _, _) = meridian_in(here, &["lint", &f]);
    assert_eq!(code, Some(3));
    let (_, out, _) = meridian_in(here, &["compare", &f, &f]);
    assert!(out.contains("breached (rpo)"), "{out}");
    let dir = std::env::temp_dir().join(format!("meridian-rpo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let st = dir.join("s.json");
    let (_, out, _) = meridian_in(here, &["plan", &f, "--state", st.to_str().unwrap()]);
    assert!(out.contains("rpo BREACHED (service db)"), "{out}");
    let (_, out, _) = meridian_in(here, &["alerts", &f]);
    assert!(out.contains("> 0.5\""), "warn at min(5 s, 1 s / 2):\n{out}");
    assert!(out.contains("> 1\""), "page at min(30 s, 1 s):\n{out}");
    assert!(!out.contains("> 30\""), "{out}");
    // Explicit thresholds still win.
    let (_, out, _) = meridian_in(
        here,
        &["alerts", &f, "--lag-warn", "2s", "--lag-page", "4s"],
    );
    assert!(out.contains("> 2\"") && out.contains("> 4\""), "{out}");
    // Gating on the typical lag is a choice the file states.
    let typical = dir.join("typical.hcl");
    let text = std::fs::read_to_string(&f).unwrap();
    std::fs::write(
        &typical,
        text.replace("rpo = \"1s\"", "rpo = \"1s\"\n  rpo_case = \"typical\""),
    )
    .unwrap();
    let (code, out, _) = meridian_in(here, &["check", typical.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("rpo 1 s (typical lag): met (actual 0.3 s"),
        "{out}"
    );
    let (code, _, _) = meridian_in(here, &["lint", typical.to_str().unwrap()]);
    assert_eq!(code, Some(0));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Writes are at risk only where a writer is lost (before: losing the replica's region said
/// "writes at risk: the last 300ms").
#[test]
fn simulate_puts_writes_at_risk_only_where_a_writer_is_lost() {
    let here = Path::new(".");
    let f = format!("{VERDICT}/rpo_bound.hcl");
    let (_, out, _) = meridian_in(here, &["simulate", &f, "--fail", "eu-west-1"]);
    assert!(!out.contains("writes at risk"), "{out}");
    assert!(!out.contains("writes:"), "{out}");
    let (_, out, _) = meridian_in(here, &["simulate", &f, "--fail", "us-east-1"]);
    assert!(out.contains("writes at risk: the last 3s"), "{out}");
}

/// Under rto_case = "dark", plan and compare show the 102 s that check gates on (before: 90 s
/// beside BREACHED for a 100 s objective).
#[test]
fn the_dark_case_is_the_figure_everywhere() {
    let here = Path::new(".");
    let f = format!("{VERDICT}/dark_objective.hcl");
    let (code, out, _) = meridian_in(here, &["check", &f]);
    assert_eq!(code, Some(3));
    assert!(
        out.contains("rto 100 s (dark region): BREACHED (actual 102 s"),
        "{out}"
    );
    let (_, out, _) = meridian_in(here, &["compare", &f, &f]);
    let table: String = out.lines().take(3).collect::<Vec<_>>().join("\n");
    assert!(table.contains("102 s (dark)"), "{out}");
    assert!(!table.contains("90 s"), "{out}");
    let dir = std::env::temp_dir().join(format!("meridian-dark-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let st = dir.join("s.json");
    let (_, out, _) = meridian_in(here, &["plan", &f, "--state", st.to_str().unwrap()]);
    assert!(
        out.contains("Recovery: dark-region RTO floor (nothing live) -> 102 s; rto BREACHED"),
        "{out}"
    );
    let (_, svg, _) = meridian_in(here, &["analyze", &f, "--format", "svg"]);
    assert!(
        svg.contains("data-rto-case=\"dark\" data-rto-seconds=\"102\""),
        "{svg}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// After a full apply, an unknown floor is "unknown", never "(nothing live)".
#[test]
fn an_applied_design_with_an_unknown_floor_is_not_nothing_live() {
    let dir = std::env::temp_dir().join(format!("meridian-unknown-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(format!("{VERDICT}/unknown_floor.hcl"), dir.join("main.hcl")).unwrap();
    let (_, out, _) = meridian_in(&dir, &["plan", "."]);
    assert!(out.contains("RTO floor (nothing live) -> unknown"), "{out}");
    let (code, _, err) = meridian_in(&dir, &["apply", ".", "--auto-approve"]);
    assert_eq!(code, Some(0), "{err}");
    let (_, out, _) = meridian_in(&dir, &["plan", "."]);
    assert!(
        out.contains("Recovery: RTO floor unknown -> unknown"),
        "{out}"
    );
    let (_, out, _) = meridian_in(&dir, &["plan", ".", "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["recovery"]["before"], "live");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `check --format markdown` is a verdict with its findings, not the analysis's Markdown.
#[test]
fn check_markdown_leads_with_the_verdict_and_the_lint() {
    let here = Path::new(".");
    let f = format!("{VERDICT}/rpo_bound.hcl");
    let (code, check, _) = meridian_in(here, &["check", &f, "--format", "markdown"]);
    let (_, analyze, _) = meridian_in(here, &["analyze", &f, "--format", "markdown"]);
    assert_eq!(code, Some(3));
    assert_ne!(check, analyze);
    assert!(
        check.starts_with("<!-- meridian:check -->\n## Recovery check: ❌ FAILED: rpo BREACHED"),
        "{check}"
    );
    assert!(check.contains("`SS006` deny"), "{check}");
    assert!(
        check.contains("<details><summary>Recovery analysis</summary>"),
        "{check}"
    );
}

/// An empty topology is a warning in validate and a failure in check (nothing to promise); a
/// registry alone is legitimate.
#[test]
fn an_empty_topology_warns_and_fails_check() {
    let dir = std::env::temp_dir().join(format!("meridian-empty-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("main.hcl"), "").unwrap();
    let (code, out, err) = meridian_in(&dir, &["validate", "main.hcl"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("1 warning"), "{out}");
    assert!(err.contains("meridian::empty_topology"), "{err}");
    let (code, out, _) = meridian_in(&dir, &["check", "main.hcl"]);
    assert_eq!(code, Some(3), "{out}");
    assert!(out.contains("nothing to promise"), "{out}");
    std::fs::write(
        dir.join("main.hcl"),
        "registry \"r\" {\n  source = \"us-east-1\"\n  destinations = [\"eu-west-1\"]\n  repositories = [\"api\"]\n}\n",
    )
    .unwrap();
    let (code, _, err) = meridian_in(&dir, &["validate", "main.hcl"]);
    assert_eq!(code, Some(0));
    assert!(!err.contains("empty_topology"), "{err}");
    let (code, out, _) = meridian_in(&dir, &["check", "main.hcl"]);
    assert_eq!(code, Some(0), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `simulate` invents no detection: losing a witness region (no record of the service there)
/// or a region watched only by `evaluate_target_health` (the load balancer's threshold is not
/// declared) detects nothing, and a sick alias region is not "tripped" by a threshold nobody
/// declared.
#[test]
fn simulate_detects_only_what_is_declared() {
    let here = Path::new(".");
    let f = "tests/fixtures/recovery/strong_witness.hcl";
    let (_, out, _) = meridian_in(
        here,
        &["simulate", f, "--fail", "us-east-2", "--format", "json"],
    );
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    let api = &doc["simulations"][0]["services"]["api"];
    assert_eq!(api["detection"]["fires"], false, "{api}");
    assert_eq!(api["writes"], "quorum_kept", "{api}");
    assert_eq!(api["rpo_exposed_seconds"], 0.0, "{api}");
    let dir = std::env::temp_dir().join(format!("meridian-eth-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("main.hcl"),
        r#"service "web" {
  zone      = "example.com"
  domain    = "web.example.com"
  routing   = "latency"
  stateless = true
  region "us-east-1" {
    alias {
      name                   = "web-use1.elb.us-east-1.amazonaws.com"
      zone_id                = "Z35SXDOTRQ7X7K"
      evaluate_target_health = true
    }
  }
  region "eu-west-1" {
    alias {
      name                   = "web-euw1.elb.eu-west-1.amazonaws.com"
      zone_id                = "Z32O12XQLNTSW2"
      evaluate_target_health = true
    }
  }
}
"#,
    )
    .unwrap();
    for args in [
        &["simulate", "main.hcl", "--fail", "us-east-1"][..],
        &[
            "simulate",
            "main.hcl",
            "--degrade",
            "us-east-1",
            "--error-rate",
            "0.99",
        ][..],
    ] {
        let (_, out, _) = meridian_in(&dir, args);
        assert!(!out.contains("failures in a row"), "{args:?}\n{out}");
        assert!(out.contains("detection does not fire"), "{args:?}\n{out}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The review's cases: a witness with one data region is not "two voters, RPO 0"; under
/// `rpo_case = "typical"` every surface shows the typical lag, simulate's writes at risk
/// included; a registry-only topology has no floor rather than a 0 s one.
#[test]
fn cases_and_empty_designs_read_the_same_everywhere() {
    let dir = std::env::temp_dir().join(format!("meridian-cases-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // blue and green both in us-east-1, a witness in us-east-2: the only copy of the data is
    // in us-east-1, so losing it can lose writes: the RPO is not 0 (unknown: strong
    // consistency over one data region).
    std::fs::write(
        dir.join("w.hcl"),
        r#"objectives {
  rpo = "0s"
}
service "ledger" {
  zone    = "example.com"
  domain  = "ledger.example.com"
  routing = "weighted"
  health_check {
    type = "HTTPS"
    path = "/healthz"
  }
  region "blue" {
    aws_region = "us-east-1"
    weight     = 50
    target     = "blue.example.com"
  }
  region "green" {
    aws_region = "us-east-1"
    weight     = 50
    target     = "green.example.com"
  }
  data {
    pattern     = "multi-master"
    consistency = "strong"
    witness     = "us-east-2"
  }
}
"#,
    )
    .unwrap();
    let (code, out, err) = meridian_in(&dir, &["check", "w.hcl"]);
    assert_eq!(code, Some(3), "{out}{err}");
    assert!(out.contains("rpo 0 s: UNKNOWN"), "{out}");
    let text = std::fs::read_to_string(format!("{VERDICT}/rpo_bound.hcl")).unwrap();
    std::fs::write(
        dir.join("typical.hcl"),
        text.replace("rpo = \"1s\"", "rpo = \"1s\"\n  rpo_case = \"typical\""),
    )
    .unwrap();
    let (_, out, _) = meridian_in(&dir, &["analyze", "typical.hcl"]);
    assert!(out.contains("RPO 0.3 s (the typical lag"), "{out}");
    let (_, out, _) = meridian_in(&dir, &["simulate", "typical.hcl", "--fail", "us-east-1"]);
    assert!(out.contains("writes at risk: the last 300ms"), "{out}");
    let (_, out, _) = meridian_in(&dir, &["compare", "typical.hcl", "typical.hcl"]);
    assert!(out.lines().nth(1).unwrap().contains("0.3 s"), "{out}");
    std::fs::write(
        dir.join("ro.hcl"),
        "registry \"r\" {\n  source = \"us-east-1\"\n  destinations = [\"eu-west-1\"]\n  repositories = [\"api\"]\n}\n",
    )
    .unwrap();
    let (code, out, _) = meridian_in(&dir, &["check", "ro.hcl", "--format", "json"]);
    assert_eq!(code, Some(0), "{out}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["verdict"]["rto_seconds"], serde_json::Value::Null);
    let st = dir.join("s.json");
    let (_, out, _) = meridian_in(&dir, &["plan", "ro.hcl", "--state", st.to_str().unwrap()]);
    assert!(out.contains("Recovery: no service declared"), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `shards` names region labels of a partitioned service, each shard once.
#[test]
fn shard_homes_are_validated() {
    let dir = std::env::temp_dir().join(format!("meridian-shards-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let text =
        std::fs::read_to_string("tests/fixtures/recovery/partitioned_shard_homes.hcl").unwrap();
    for (name, edit, want) in [
        (
            "unknown.hcl",
            text.replace("eu = \"eu-west-1\"", "eu = \"ap-south-1\""),
            "shard \\\"eu\\\" is homed in \\\"ap-south-1\\\", which is no region of the service",
        ),
        (
            "pattern.hcl",
            text.replace(
                "\"partitioned\"",
                "\"primary-replica\"\n    primary = \"us-east-1\"",
            ),
            "`shards` applies only to partitioned data",
        ),
        (
            "type.hcl",
            text.replace("eu = \"eu-west-1\"", "eu = 1"),
            "`shards` must map names to strings",
        ),
    ] {
        std::fs::write(dir.join(name), edit).unwrap();
        let (code, out, _) = meridian_in(&dir, &["validate", name, "--format", "json"]);
        assert_eq!(code, Some(1), "{name}: {out}");
        assert!(out.contains(want), "{name}: {out}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A DynamoDB witness must be in the replicas' Region set (aws-facts.md, 2026-12-07); without
/// `engine` the rule cannot be checked, which lint SS011 says.
#[test]
fn a_dynamodb_witness_outside_the_region_set_is_refused() {
    let dir = std::env::temp_dir().join(format!("meridian-witness-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let clean = std::fs::read_to_string("tests/fixtures/lint/SS011_clean.hcl").unwrap();
    std::fs::write(dir.join("ok.hcl"), &clean).unwrap();
    std::fs::write(dir.join("eu.hcl"), clean.replace("us-east-2", "eu-west-1")).unwrap();
    std::fs::write(
        dir.join("none.hcl"),
        clean.replace("us-east-2", "sa-east-1"),
    )
    .unwrap();
    let (code, _, err) = meridian_in(&dir, &["validate", "ok.hcl"]);
    assert_eq!(code, Some(0), "{err}");
    let (code, err, _) = meridian_in(&dir, &["validate", "eu.hcl", "--format", "json"]);
    assert_eq!(code, Some(1));
    assert!(
        err.contains(
            "in DynamoDB's EU Region set, but the replicas in us-east-1, us-west-2 are not"
        ),
        "{err}"
    );
    let (code, err, _) = meridian_in(&dir, &["validate", "none.hcl", "--format", "json"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("in no Region set"), "{err}");
    // The same witness without an engine validates, and the lint says what it cannot check.
    std::fs::write(
        dir.join("noengine.hcl"),
        clean
            .replace("us-east-2", "eu-west-1")
            .replace("    engine      = \"dynamodb\"\n", ""),
    )
    .unwrap();
    let (code, _, err) = meridian_in(&dir, &["validate", "noengine.hcl"]);
    assert_eq!(code, Some(0), "{err}");
    let (_, out, _) = meridian_in(&dir, &["lint", "noengine.hcl", "--format", "json"]);
    assert!(out.contains("\"rule\": \"SS011\""), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Every hand-computed design agrees with itself on every surface too: analyze, check's gate,
/// compare, plan, `simulate --fail R` for every region (detection, failing writes, writes at
/// risk), lint SS006, alerts and the SVG.
#[test]
fn every_fixture_agrees_on_every_surface() {
    let mut checked = 0;
    for entry in std::fs::read_dir("tests/fixtures/recovery").unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let t = agreement::topology(&text);
        let a = analyze(&t);
        let found = agreement::disagreements(&t, &a);
        assert!(found.is_empty(), "{}: {found:#?}", path.display());
        checked += 1;
    }
    assert!(checked >= 50, "{checked} fixtures");
}

/// Over every hand-computed design: the distribution of when users are served again never
/// exceeds the floor (fast or dark), its percentiles are ordered, and its mean detection comes
/// before the floor (the unit tests show it reaches the floor). A brown-out where every probe
/// fails is a fast failure simulated: its percentiles agree with the integrated ones within
/// the simulation's error (2,000 runs: the detection's spread of at most one interval, 0.9 s
/// standard deviation at 10 s x 3, gives quantiles within about 0.1 s; 1 s allowed, plus the
/// tenth of a second the figures are shown to).
#[test]
fn the_distribution_never_exceeds_the_floor_and_reaches_it() {
    use meridian::analysis::distribution::{distribution, Mode, Model};
    let model = Model {
        error_rate: Some(1.0),
        trials: 2000,
        ..Model::default()
    };
    let (mut seen, mut simulated) = (0, 0);
    for entry in std::fs::read_dir("tests/fixtures/recovery").expect("the fixtures") {
        let path = entry.expect("a fixture").path();
        let sources = meridian::source::Sources::load(&path).expect("readable");
        let checked = meridian::check(&sources);
        let Some(t) = checked.valid() else { continue };
        let a = meridian::analysis::analyze(t);
        let d = distribution(t, &a, &model);
        for (name, s) in &d.services {
            let fast = s.losses.iter().filter(|l| l.mode == Mode::Fast);
            let brown = s.losses.iter().filter(|l| l.mode == Mode::Brownout);
            for (f, b) in fast.zip(brown) {
                let at = format!("{} {name} {}", path.display(), f.region);
                assert_eq!(f.region, b.region, "{at}");
                let (Some(fp), Some(bp)) = (&f.percentiles, &b.percentiles) else {
                    assert_eq!(f.percentiles.is_some(), b.percentiles.is_some(), "{at}");
                    continue;
                };
                simulated += 1;
                for (x, y) in [
                    (fp.p50_seconds, bp.p50_seconds),
                    (fp.p90_seconds, bp.p90_seconds),
                    (fp.p99_seconds, bp.p99_seconds),
                ] {
                    let (x, y) = (x.expect("fast"), y.expect("detected at 100 %"));
                    assert!((x - y).abs() <= 1.1, "{at}: fast {x} against brown-out {y}");
                }
            }
            for l in s.losses.iter().filter(|l| l.mode != Mode::Brownout) {
                let (Some(p), Some(floor)) = (&l.percentiles, l.floor_seconds) else {
                    continue;
                };
                let at = format!("{} {name} {} {:?}", path.display(), l.region, l.mode);
                let q =
                    |v: Option<f64>| v.expect("fast and dark figures are never beyond the horizon");
                let (p50, p90, p99) = (q(p.p50_seconds), q(p.p90_seconds), q(p.p99_seconds));
                assert!(p50 <= p90 && p90 <= p99, "{at}");
                assert!(
                    p99 <= floor + 0.05,
                    "{at}: P99 {p99} over the floor {floor}"
                );
                if let Some(c) = &l.cached_clients {
                    // A client's own cache only adds: its figures are no sooner, its last no
                    // sooner than the floor.
                    assert!(
                        q(c.p99_seconds) >= p99 - 0.05 && c.worst_seconds >= Some(floor),
                        "{at}"
                    );
                }
                if l.mode == Mode::Fast && floor > 0.0 {
                    seen += 1;
                    let mean = l.mean_detection_seconds.expect("a detection");
                    assert!(mean < floor, "{at}");
                }
            }
        }
    }
    assert!(seen > 20, "only {seen} losses had a distribution");
    assert!(simulated > 20, "only {simulated} brown-outs simulated");
}

/// A brown-out is simulated from a seed: the same seed gives the same document, another seed
/// other runs; with no errors nothing is ever detected, and each percentile says so; the
/// Markdown comment carries the same figures as the text.
#[test]
fn a_brownout_is_seeded_and_says_when_it_is_never_detected() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let run = |extra: &[&str]| {
        let mut args = vec![
            "analyze",
            "examples/active-active-partitioned",
            "--distribution",
        ];
        args.extend_from_slice(extra);
        let (code, out, err) = meridian_in(dir, &args);
        assert_eq!(code, Some(0), "{err}");
        out
    };
    let seeded = ["--error-rate", "0.6", "--trials", "300", "--format", "json"];
    let one = run(&seeded);
    assert_eq!(one, run(&seeded));
    let other = run(&[&seeded[..], &["--seed", "2"]].concat());
    assert_ne!(one, other);
    let v: serde_json::Value = serde_json::from_str(&one).unwrap();
    assert_eq!(
        (v["model"]["seed"].as_u64(), v["model"]["trials"].as_u64()),
        (Some(1), Some(300))
    );
    // No errors: no probe fails, no run fails over, no client is served elsewhere.
    let text = run(&["--error-rate", "0", "--trials", "100"]);
    assert!(
        text.contains("brown-out 0 %: P50 not within 3600 s, P90 not within 3600 s, P99 not within 3600 s (first failover; 100.0 % (within 3.0 % at 95 %, 100 runs) not detected within 3600 s; once steady, out 0 % of the time); 100.0 % still failing at the RTO objective"),
        "{text}"
    );
    let md = run(&[
        "--error-rate",
        "0",
        "--trials",
        "100",
        "--format",
        "markdown",
    ]);
    assert!(
        md.starts_with("<!-- meridian:distribution -->\n## Recovery as users live it"),
        "{md}"
    );
    assert!(md.contains("| us-east-1 | brown-out 0 % | not within 3600 s | not within 3600 s | not within 3600 s |"), "{md}");
    assert!(
        md.contains("| us-east-1 | fast failure | 72.9 s | 81.1 s | 87.2 s | 90 s | 0.0 % |"),
        "{md}"
    );
    // A declared TTL extension is its own figure: 60 + 300 s of cache after detection's worst
    // 30 s, the last at 390 s.
    let ext = run(&["--ttl-extension", "300s"]);
    assert!(ext.contains("clients behind resolvers extending the TTL by 300 s (declared; about 8.7 % of resolvers extend)") && ext.contains("the last 390 s"), "{ext}");
    // --client-cache 0s turns the own-cache clients off; the model's flags need --distribution.
    assert!(!run(&["--client-cache", "0s"]).contains("caching DNS"));
    let (code, _, err) = meridian_in(
        dir,
        &["analyze", "examples/active-passive", "--error-rate", "0.5"],
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("--distribution"), "{err}");
    // A horizon of nothing, or of years, is refused.
    for bad in ["0s", "1000h"] {
        let (code, _, err) = meridian_in(
            dir,
            &[
                "analyze",
                "examples/active-passive",
                "--distribution",
                "--horizon",
                bad,
            ],
        );
        assert_eq!(code, Some(1), "{bad}: {err}");
        assert!(err.contains("between 10s and 24h"), "{err}");
    }
    // A tree of topologies: each one's distribution, as `analyze` gives each one's analysis.
    let (code, out, err) = meridian_in(dir, &["analyze", "examples", "--distribution"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains("service billing") && out.contains("service api"),
        "{out}"
    );
}

/// `rto_percentile = "p99"` gates every surface on the P99 of when the lost region's clients
/// are served again (87.2 s for the partitioned example, `analyze --distribution`), not the
/// 90 s floor: check, analyze (text, JSON, SVG), plan and compare agree; at P50 (72.9 s) the
/// same 80 s objective is met everywhere. A loss with no distribution (behind an accelerator)
/// is gated on its floor, and the line says so.
#[test]
fn a_percentile_objective_gates_every_surface() {
    let here = Path::new(".");
    let dir = std::env::temp_dir().join(format!("meridian-percentile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p99 = format!("{VERDICT}/rto_percentile.hcl");
    let text = std::fs::read_to_string(&p99).unwrap();
    let p50 = dir.join("p50.hcl");
    std::fs::write(&p50, text.replace("\"p99\"", "\"p50\"")).unwrap();
    let p50 = p50.to_str().unwrap().to_string();
    for (f, passed, line) in [
        (&p99, false, "rto 80 s (P99 of clients served again): BREACHED (actual 87.2 s, margin -7.2 s; service api)"),
        (&p50, true, "rto 80 s (P50 of clients served again): met (actual 72.9 s, margin 7.1 s)"),
    ] {
        let (code, out, _) = meridian_in(here, &["check", f]);
        assert_eq!(code, Some(if passed { 0 } else { 3 }), "{out}");
        assert!(out.contains(line), "{out}");
        let (_, json, _) = meridian_in(here, &["analyze", f, "--format", "json"]);
        let a: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(a["verdict"]["passed"], passed, "{f}");
        let rto = &a["objectives"][0];
        assert_eq!(rto["percentile"], if passed { "p50" } else { "p99" });
        assert_eq!(rto["actual"], if passed { 72.9 } else { 87.2 });
        let (_, svg, _) = meridian_in(here, &["analyze", f, "--format", "svg"]);
        assert!(svg.contains(&format!("data-passed=\"{passed}\"")), "{f}");
        let (_, cmp, _) = meridian_in(here, &["compare", f, f, "--format", "json", "--on", "p99"]);
        let c: serde_json::Value = serde_json::from_str(&cmp).unwrap();
        assert_eq!(c["designs"][0]["passed"], passed, "{f}");
        assert_eq!((c["designs"][0]["rto_p50_seconds"].as_f64(), c["designs"][0]["rto_p99_seconds"].as_f64()), (Some(72.9), Some(87.2)));
        assert_eq!(c["ranked_on"], "p99");
        let st = dir.join(format!("{passed}.json"));
        let (_, out, _) = meridian_in(here, &["plan", f, "--state", st.to_str().unwrap()]);
        assert_eq!(out.contains("rto BREACHED"), !passed, "{out}");
        // Each surface names what gates beside the floor it shows.
        let (p, v) = if passed { ("P50", 72.9) } else { ("P99", 87.2) };
        assert!(out.contains(&format!("-> 90 s ({p} of clients served again {v} s, what rto gates on)")), "{out}");
        assert_eq!(a["verdict"]["rto_percentile_seconds"], v);
        assert!(svg.contains(&format!("data-rto-percentile-seconds=\"{v}\"")), "{f}");
        assert_eq!(c["designs"][0]["rto_percentile_seconds"], v);
    }
    // Behind an accelerator there is no distribution: the 30 s floor gates, said.
    let anycast = dir.join("anycast");
    std::fs::create_dir_all(&anycast).unwrap();
    for f in std::fs::read_dir("examples/active-active-anycast").unwrap() {
        let f = f.unwrap().path();
        let text = std::fs::read_to_string(&f).unwrap();
        let text = text.replacen(
            "objectives {",
            "objectives {\n  rto_percentile = \"p99\"",
            1,
        );
        std::fs::write(anycast.join(f.file_name().unwrap()), text).unwrap();
    }
    let (_, out, _) = meridian_in(here, &["check", anycast.to_str().unwrap()]);
    assert!(
        out.contains("(actual 30 s") && out.contains("the floor gates for"),
        "{out}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A declared range (`promotion_min`/`_max`) is drawn from, triangular over (min, typical,
/// max): the hand figures of tests/fixtures/verdict/promotion_range.hcl; the
/// floor keeps the typical 150 s, so the percentiles pass it and the distribution says how
/// far (330 s at the slowest). A P99 objective of 5 minutes is breached where the floor
/// meets it. A manual promotion adds its decision's range.
#[test]
fn a_declared_promotion_range_is_the_distribution_and_not_the_floor() {
    let here = Path::new(".");
    let f = format!("{VERDICT}/promotion_range.hcl");
    let (_, json, _) = meridian_in(here, &["analyze", &f, "--distribution", "--format", "json"]);
    let d: serde_json::Value = serde_json::from_str(&json).unwrap();
    let lost = d["services"]["db"]["losses"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["region"] == "us-east-1" && l["mode"] == "fast")
        .unwrap()
        .clone();
    let near =
        |v: &serde_json::Value, want: f64, tol: f64| (v.as_f64().unwrap() - want).abs() <= tol;
    assert!(
        near(&lost["percentiles"]["p50_seconds"], 181.3, 0.5),
        "{lost}"
    );
    assert!(
        near(&lost["percentiles"]["p99_seconds"], 307.47, 0.1),
        "{lost}"
    );
    assert!(near(&lost["failing_at_objective"], 0.018, 0.002), "{lost}");
    assert_eq!(
        (
            lost["floor_seconds"].as_f64(),
            lost["range_worst_seconds"].as_f64()
        ),
        (Some(150.0), Some(330.0))
    );
    let (code, out, _) = meridian_in(here, &["check", &f]);
    assert_eq!(code, Some(0), "the floor, 150 s, meets 5 minutes: {out}");
    // --no-ranges: the typical 120 s every time, so never past the floor.
    let (_, json, _) = meridian_in(
        here,
        &[
            "analyze",
            &f,
            "--distribution",
            "--no-ranges",
            "--format",
            "json",
        ],
    );
    let typical: serde_json::Value = serde_json::from_str(&json).unwrap();
    let p99 = typical["services"]["db"]["losses"][2]["percentiles"]["p99_seconds"]
        .as_f64()
        .unwrap();
    assert!(
        p99 <= 150.0 && typical["services"]["db"]["losses"][2]["range_worst_seconds"].is_null(),
        "{typical}"
    );
    let text = std::fs::read_to_string(&f).unwrap();
    let dir = std::env::temp_dir().join(format!("meridian-range-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p99 = dir.join("p99.hcl");
    std::fs::write(
        &p99,
        text.replace("rto = \"5m\"", "rto = \"5m\"\n  rto_percentile = \"p99\""),
    )
    .unwrap();
    let (code, out, _) = meridian_in(here, &["check", p99.to_str().unwrap()]);
    assert_eq!(code, Some(3), "{out}");
    assert!(
        out.contains("rto 300 s (P99 of clients served again): BREACHED (actual 307.5 s"),
        "{out}"
    );
    // Manual: decide 300 s (120 to 900 s) then promote 60 s: C = 60 + triangular (120, 300,
    // 900), median 60 + 900 - sqrt(0.5 x 780 x 600) = 476.3 s; plus the mean detection 28.24 s.
    let manual = dir.join("manual.hcl");
    let m = text
        .replace("    promotion       = \"120s\"\n    promotion_min   = \"60s\"\n    promotion_max   = \"300s\"", "    promotion       = \"60s\"\n    promotion_mode  = \"manual\"\n    decision_time   = \"300s\"\n    decision_time_min = \"120s\"\n    decision_time_max = \"900s\"");
    assert_ne!(m, text);
    std::fs::write(&manual, m).unwrap();
    let (_, json, err) = meridian_in(
        here,
        &[
            "analyze",
            manual.to_str().unwrap(),
            "--distribution",
            "--format",
            "json",
        ],
    );
    let d: serde_json::Value = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {err}"));
    let p50 = &d["services"]["db"]["losses"][2]["percentiles"]["p50_seconds"];
    assert!(near(p50, 504.5, 0.5), "{d}");
    // A range that does not hold its typical value, or has none, is refused.
    for (bad, why) in [
        (
            "    promotion_min   = \"60s\"",
            "    promotion_min   = \"130s\"",
        ),
        ("    promotion       = \"120s\"\n", ""),
    ] {
        let path = dir.join("bad.hcl");
        std::fs::write(&path, text.replace(bad, why)).unwrap();
        let (code, _, err) = meridian_in(here, &["validate", path.to_str().unwrap()]);
        assert_eq!(code, Some(1), "{err}");
        assert!(err.contains("meridian::range"), "{err}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The distribution's picture carries the figures the JSON gives (the slowest loss per
/// service and failure mode), and draws no band for a loss with no distribution (behind an
/// accelerator: the floor only, as red text).
#[test]
fn the_distribution_svg_carries_the_json_figures() {
    let here = Path::new(".");
    for e in [
        "examples/active-active-partitioned",
        "examples/active-active-anycast",
    ] {
        let args = [
            "analyze",
            e,
            "--distribution",
            "--error-rate",
            "0.8",
            "--trials",
            "300",
        ];
        let (_, json, _) = meridian_in(here, &[&args[..], &["--format", "json"]].concat());
        let (code, svg, err) = meridian_in(here, &[&args[..], &["--format", "svg"]].concat());
        assert_eq!(code, Some(0), "{err}");
        let d: serde_json::Value = serde_json::from_str(&json).unwrap();
        for (service, sd) in d["services"].as_object().unwrap() {
            for mode in ["fast", "dark", "brownout"] {
                let slowest = sd["losses"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|l| l["mode"] == mode)
                    .max_by(|a, b| {
                        let k = |l: &serde_json::Value| {
                            l["percentiles"]["p99_seconds"]
                                .as_f64()
                                .unwrap_or(f64::INFINITY)
                        };
                        k(a).total_cmp(&k(b))
                    })
                    .unwrap();
                let p99 = slowest["percentiles"]["p99_seconds"]
                    .as_f64()
                    .map_or("none".to_string(), |v| v.to_string());
                let want = format!(
                    "data-service=\"{service}\" data-region=\"{}\" data-mode=\"{mode}\"",
                    slowest["region"].as_str().unwrap()
                );
                let row = svg
                    .lines()
                    .find(|l| l.contains(&want))
                    .unwrap_or_else(|| panic!("{e}: no row {want}"));
                assert!(
                    row.contains(&format!("data-p99-seconds=\"{p99}\"")),
                    "{e}: {row} against {p99}"
                );
            }
        }
        // One band per row with a P50, and the legend's.
        let with_p50 = svg
            .lines()
            .filter(|l| l.contains("data-mode=") && !l.contains("data-p50-seconds=\"none\""))
            .count();
        let bands = svg.matches("opacity=\"0.45\" fill=\"#0000FF\"").count();
        assert_eq!(bands, with_p50 + 1, "{e}");
        if e.ends_with("anycast") {
            assert_eq!(
                with_p50, 0,
                "{e}: behind an accelerator there is no distribution"
            );
            assert!(
                svg.contains("fill=\"#FF0000\""),
                "{e}: the floor only, in red"
            );
        }
    }
}
