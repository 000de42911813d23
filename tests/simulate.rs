//! `meridian simulate`: a region gone, isolated or sick, on the model.

#![allow(clippy::unwrap_used, clippy::too_many_lines)]

use serde_json::Value;
use std::process::{Command, Output};

fn meridian(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_meridian"))
        .args(args)
        .env_remove("NO_COLOR")
        .output()
        .expect("binary runs")
}

fn json(args: &[&str]) -> (Option<i32>, Value) {
    let mut all = args.to_vec();
    all.extend(["--format", "json"]);
    let o = meridian(&all);
    let doc = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", String::from_utf8_lossy(&o.stderr)));
    (o.status.code(), doc)
}

/// `simulate --all` on each example gives, region by region, the floors `analyze` gives.
#[test]
fn simulate_all_agrees_with_analyze_on_every_example() {
    for example in [
        "examples/active-passive",
        "examples/active-active-partitioned",
        "examples/active-active-anycast",
    ] {
        let (_, sim) = json(&["simulate", example, "--all"]);
        let o = meridian(&["analyze", example, "--format", "json"]);
        let analysis: Value = serde_json::from_slice(&o.stdout).unwrap();
        let mut compared = 0;
        for s in sim["simulations"].as_array().unwrap() {
            let region = s["scenario"]["region"].as_str().unwrap();
            assert_eq!(s["scenario"]["kind"], "fail");
            for (service, outcome) in s["services"].as_object().unwrap() {
                let loss = analysis["services"][service]["region_losses"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|l| l["region"] == region)
                    .unwrap_or_else(|| panic!("{example}: analyze has no loss of {region}"));
                assert_eq!(
                    outcome["rto_seconds"], loss["floor_seconds"],
                    "{example} {service} {region}"
                );
                compared += 1;
            }
        }
        assert!(compared >= 2, "{example}: {compared} losses compared");
    }
    // And the figure itself, by hand (examples/active-passive's header): detect 10 s x 3 = 30 s,
    // then the slowest of TTL 60 s, promotion 60 s and scale-up 600 s: 630 s.
    let (code, sim) = json(&["simulate", "examples/active-passive", "--fail", "us-east-1"]);
    assert_eq!(code, Some(0));
    let billing = &sim["simulations"][0]["services"]["billing"];
    assert_eq!(billing["rto_seconds"], 630.0);
    assert_eq!(billing["serving"], serde_json::json!(["eu-west-1"]));
    assert!(billing["writes_fail"]
        .as_str()
        .unwrap()
        .contains("primary is in us-east-1"));
    assert_eq!(billing["rpo_exposed_seconds"], 0.2);
}

/// The game day: isolating us-east-1 stalls api in eu-west-1 (auth lives only in us-east-1),
/// while billing, which runs only in us-east-1, keeps serving its users there.
#[test]
fn isolation_finds_the_cross_region_call() {
    let (code, sim) = json(&[
        "simulate",
        "tests/fixtures/lint/SS001.hcl",
        "--isolate",
        "us-east-1",
    ]);
    assert_eq!(code, Some(3));
    let s = &sim["simulations"][0];
    assert_eq!(s["scenario"]["kind"], "isolate");
    let api = &s["services"]["api"];
    assert_eq!(api["serves_all"], false);
    assert_eq!(api["serving"], serde_json::json!(["us-east-1"]));
    assert_eq!(api["stalled"][0]["region"], "eu-west-1");
    assert_eq!(api["detection"]["fires"], false);
    assert_eq!(s["services"]["billing"]["serves_all"], true);
    // With auth and billing in both regions, the isolation costs nothing.
    let (code, sim) = json(&[
        "simulate",
        "tests/fixtures/lint/SS001_clean.hcl",
        "--isolate",
        "us-east-1",
    ]);
    assert_eq!(code, Some(0), "{sim:#}");
}

/// A sick region: 50 % errors do not trip a 3-failure check (each checker is unhealthy half the
/// time, Route 53 needs 82 %); 90 % do (99.7 %), and the floor is then the loss's:
/// 10 s x 3 + 60 s TTL = 90 s.
#[test]
fn degradation_is_detected_only_above_the_trip_rate() {
    let ex = "examples/active-active-partitioned";
    let (code, sim) = json(&[
        "simulate",
        ex,
        "--degrade",
        "eu-west-1",
        "--error-rate",
        "0.5",
    ]);
    assert_eq!(code, Some(3));
    let api = &sim["simulations"][0]["services"]["api"];
    assert_eq!(api["detection"]["fires"], false);
    // eu-west-1 carries a third of api's traffic: 1/3 x 0.5 of its requests fail.
    assert!((api["error_share"].as_f64().unwrap() - 1.0 / 6.0).abs() < 1e-9);
    let (_, sim) = json(&[
        "simulate",
        ex,
        "--degrade",
        "eu-west-1",
        "--error-rate",
        "0.9",
    ]);
    let api = &sim["simulations"][0]["services"]["api"];
    assert_eq!(api["detection"]["fires"], true);
    assert_eq!(api["rto_seconds"], 90.0);
}

#[test]
fn bad_scenarios_are_usage_errors() {
    let o = meridian(&["simulate", "examples/active-passive", "--fail", "us-west-2"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("nothing in us-west-2"));
    let o = meridian(&["simulate", "examples/active-passive"]);
    assert_eq!(o.status.code(), Some(1));
    let o = meridian(&[
        "simulate",
        "examples/active-passive",
        "--degrade",
        "eu-west-1",
        "--error-rate",
        "2",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let o = meridian(&[
        "simulate",
        "examples/active-passive",
        "--isolate",
        "us-east-1",
        "--format",
        "markdown",
    ]);
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("# Region-loss rehearsal"));
}
