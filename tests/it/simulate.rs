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
        .contains("in us-east-1"));
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

fn sim_text(text: &str, args: &[&str]) -> (Option<i32>, Value) {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("simulate");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(format!("t{}.hcl", args.join("_").replace(['-', '.'], "")));
    std::fs::write(&file, text).unwrap();
    let mut all = vec!["simulate", file.to_str().unwrap()];
    all.extend(args);
    json(&all)
}

const WEB_CALLS_FAILOVER_API: &str = r#"
service "api" {
  zone    = "example.com"
  domain  = "api.example.com"
  routing = "failover"
  stateless = true
  health_check {
    type = "HTTPS"
    path = "/healthz"
  }
  region "us-east-1" {
    target = "api-use1.example.com"
    role   = "primary"
  }
  region "eu-west-1" {
    target = "api-euw1.example.com"
    role   = "secondary"
  }
}

service "web" {
  zone       = "example.com"
  domain     = "web.example.com"
  routing    = "latency"
  stateless  = true
  depends_on = ["api", "flags"]
  health_check {
    type = "HTTPS"
    path = "/healthz"
  }
  region "eu-west-1" {
    target = "web-euw1.example.com"
  }
  region "eu-central-1" {
    target = "web-euc1.example.com"
  }
}

dependency "flags" {
  kind      = "flags"
  region    = "eu-west-1"
  fallback  = "local-cache"
  cache_ttl = "10m"
}
"#;

/// Isolating us-east-1: api's primary still passes its health checks there, so DNS keeps
/// sending web to it, across the cut: web stalls in both its regions, though api runs in
/// eu-west-1 too. web does not run in us-east-1: its own checks keep passing.
#[test]
fn a_failover_callee_answers_from_its_primary_during_an_isolation() {
    let (code, sim) = sim_text(WEB_CALLS_FAILOVER_API, &["--isolate", "us-east-1"]);
    assert_eq!(code, Some(3));
    let web = &sim["simulations"][0]["services"]["web"];
    assert_eq!(web["serves_all"], false);
    assert_eq!(web["stalled"].as_array().unwrap().len(), 2, "{web:#}");
    assert_eq!(web["detection"]["fires"], false);
    assert!(web["writes_fail"].is_null());
    // Losing us-east-1 instead: api fails over to eu-west-1, and web recovers with it.
    let (_, sim) = sim_text(WEB_CALLS_FAILOVER_API, &["--fail", "us-east-1"]);
    assert!(
        sim["simulations"][0]["services"].get("web").is_none(),
        "{sim:#}"
    );
}

/// Isolating eu-west-1 cuts eu-central-1 off flags, whose 10-minute cache runs out before a
/// 30-minute game day ends: web stalls there.
#[test]
fn a_short_cache_does_not_cover_an_isolation() {
    let (_, sim) = sim_text(WEB_CALLS_FAILOVER_API, &["--isolate", "eu-west-1"]);
    let web = &sim["simulations"][0]["services"]["web"];
    let stalled: Vec<&str> = web["stalled"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["region"].as_str().unwrap())
        .collect();
    assert!(stalled.contains(&"eu-central-1"), "{web:#}");
    assert!(web.to_string().contains("runs out after 10m"), "{web:#}");
}

/// A sick failover secondary carries no traffic: nothing is lost (exit 0). A witness region
/// can be simulated like any other.
#[test]
fn a_sick_secondary_costs_nothing_and_witnesses_are_regions() {
    let (code, sim) = json(&[
        "simulate",
        "examples/active-passive",
        "--degrade",
        "eu-west-1",
        "--error-rate",
        "0.5",
    ]);
    assert_eq!(code, Some(0), "{sim:#}");
    assert_eq!(
        sim["simulations"][0]["services"]["billing"]["error_share"],
        0.0
    );
    let fixture = "tests/fixtures/recovery/strong_witness.hcl";
    let text = std::fs::read_to_string(fixture).unwrap();
    let w = text
        .lines()
        .find(|l| l.trim_start().starts_with("witness"))
        .unwrap();
    let region = w.split('"').nth(1).unwrap();
    let (code, sim) = json(&["simulate", fixture, "--fail", region]);
    // Two serving regions keep 2 of 3 votes: losing the witness loses nothing.
    assert_eq!(code, Some(0), "witness {region}: {sim:#}");
    let (_, all) = json(&["simulate", fixture, "--all"]);
    let regions: Vec<&str> = all["simulations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["scenario"]["region"].as_str().unwrap())
        .collect();
    assert!(regions.contains(&region), "{regions:?}");
}

/// The SVG is well-formed XML (checked with python3's parser), marks the affected region and the
/// broken calls, and draws one scenario only.
#[test]
fn the_svg_marks_the_region_and_the_broken_calls() {
    let o = meridian(&[
        "simulate",
        "tests/fixtures/lint/SS001.hcl",
        "--isolate",
        "us-east-1",
        "--format",
        "svg",
    ]);
    let svg = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(svg.starts_with("<svg"), "{svg}");
    assert!(svg.contains("us-east-1 (affected)"));
    // api in eu-west-1 calls billing and auth, both only in us-east-1: two broken calls.
    assert_eq!(
        svg.matches(r#"stroke-dasharray="6 4"/>"#).count(),
        2 + 1,
        "two calls and the legend"
    );
    assert!(svg.contains("api (stalls)"));
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("simulate");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("isolate.svg");
    std::fs::write(&file, &svg).unwrap();
    let parsed = Command::new("python3")
        .args([
            "-c",
            "import sys, xml.dom.minidom as m; m.parse(sys.argv[1])",
        ])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        parsed.status.success(),
        "{}",
        String::from_utf8_lossy(&parsed.stderr)
    );
    let o = meridian(&[
        "simulate",
        "examples/active-passive",
        "--all",
        "--format",
        "svg",
    ]);
    assert_eq!(o.status.code(), Some(1));
}

/// An isolated failover secondary carries no traffic: nothing fails, no write is lost (it
/// only falls behind); isolating the primary loses nothing either, since the secondary is idle.
#[test]
fn isolating_an_idle_secondary_or_its_primary_loses_nothing() {
    for region in ["eu-west-1", "us-east-1"] {
        let (code, sim) = json(&["simulate", "examples/active-passive", "--isolate", region]);
        assert_eq!(code, Some(0), "{region}: {sim:#}");
        let billing = &sim["simulations"][0]["services"]["billing"];
        assert_eq!(billing["serves_all"], true, "{region}");
        assert!(billing["writes_fail"].is_null(), "{region}: {billing:#}");
    }
}
