//! `meridian alerts`: Prometheus rule files that promtool accepts, with the rules a reader of
//! the topology expects.

#![allow(clippy::unwrap_used, clippy::too_many_lines)]

use crate::support::bin::meridian;
use crate::support::provision;

use std::path::{Path, PathBuf};
use std::process::Command;

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("alerts")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// promtool's verdict on a rule file: (success, its output).
fn promtool(file: &Path) -> (bool, String) {
    let bin = provision::promtool().unwrap_or_else(|e| panic!("{e}"));
    let o = Command::new(bin)
        .args(["check", "rules"])
        .arg(file)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    (o.status.success(), text)
}

/// A copy of examples/active-passive with tags on, so health-check rules can be written.
fn tagged_active_passive(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string("examples/active-passive/main.hcl").unwrap();
    let path = dir.join("main.hcl");
    std::fs::write(&path, format!("tag_health_checks = true\n\n{text}")).unwrap();
    path
}

#[test]
fn every_example_renders_rules_promtool_accepts() {
    let dir = scratch("examples");
    // Rules by hand: replication lag warns and pages per replica region.
    // active-passive: billing's replica in eu-west-1 -> 2 rules. active-active-partitioned:
    // partitioned data has no replica to lag -> 0. active-active-anycast: ledger is strongly
    // consistent multi-master -> 0. Tags are off in all three: no health-check rules.
    for (example, rules) in [
        ("examples/active-passive", 2),
        ("examples/active-active-partitioned", 0),
        ("examples/active-active-anycast", 0),
    ] {
        let o = meridian(&["alerts", example]);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(String::from_utf8_lossy(&o.stderr).contains("set tag_health_checks = true"));
        let file = dir.join(format!("{}.yml", example.replace('/', "_")));
        std::fs::write(&file, &o.stdout).unwrap();
        let (ok, text) = promtool(&file);
        assert!(ok, "{example}: {text}");
        assert!(
            text.contains(&format!("SUCCESS: {rules} rules found")),
            "{example}: {text}"
        );
    }
}

#[test]
fn health_check_and_rto_rules_follow_the_topology() {
    let dir = scratch("tagged");
    let path = tagged_active_passive(&dir);
    let o = meridian(&[
        "alerts",
        path.to_str().unwrap(),
        "--lag-warn",
        "2s",
        "--lag-page",
        "10s",
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let yaml = String::from_utf8_lossy(&o.stdout).to_string();
    let file = dir.join("rules.yml");
    std::fs::write(&file, &yaml).unwrap();
    // 2 lag rules, 1 per region (2), 1 service down, 1 RTO (objectives.rto = 15m) = 6.
    let (ok, text) = promtool(&file);
    assert!(ok, "{text}");
    assert!(text.contains("SUCCESS: 6 rules found"), "{text}");
    assert!(yaml.contains("for: 15m"), "{yaml}");
    assert!(yaml.contains("> 2\""), "{yaml}");
    assert!(yaml.contains("> 10\""), "{yaml}");
    assert!(
        yaml.contains(r#"tag_Name='health_check.billing[\"eu-west-1\"]'"#),
        "{yaml}"
    );
    // Never applied: no id to match on, and the note says so.
    assert!(String::from_utf8_lossy(&o.stderr).contains("has not been applied"));

    let json = meridian(&["alerts", path.to_str().unwrap(), "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let rules = doc["groups"][0]["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 6);
    assert_eq!(doc["groups"][0]["name"], "meridian.billing");
}

#[test]
fn promtool_is_not_a_rubber_stamp() {
    let dir = scratch("broken");
    let o = meridian(&["alerts", "examples/active-passive"]);
    let broken = String::from_utf8_lossy(&o.stdout).replacen(" > 5\"", " >\"", 1);
    let file = dir.join("rules.yml");
    std::fs::write(&file, broken).unwrap();
    let (ok, text) = promtool(&file);
    assert!(!ok, "{text}");
}

#[test]
fn bad_options_are_usage_errors() {
    let o = meridian(&[
        "alerts",
        "examples/active-passive",
        "--lag-warn",
        "30s",
        "--lag-page",
        "5s",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let o = meridian(&["alerts", "examples/active-passive", "--lag-metric", "9lag"]);
    assert_eq!(o.status.code(), Some(1));
}

/// With `health_check_scope = "endpoint"`, two services behind one endpoint per region share
/// its checks, and each service's rules name the shared checks; a search string with quotes
/// and a backslash, and a path with a single quote, still give rules promtool accepts, and the
/// down-everywhere rule matches exactly those addresses.
#[test]
fn shared_checks_with_awkward_characters_give_valid_rules() {
    let dir = scratch("shared");
    let mut text = String::from(
        "name = \"shared\"\ntag_health_checks = true\nhealth_check_scope = \"endpoint\"\n",
    );
    for svc in ["api", "web"] {
        text.push_str(&format!(
            "service \"{svc}\" {{\n  zone = \"example.com\"\n  domain = \"{svc}.example.com\"\n  routing = \"latency\"\n  health_check {{\n    type = \"HTTPS_STR_MATCH\"\n    path = \"/it's/ok\"\n    search_string = \"\\\"status\\\":\\\"ok\\\" \\\\d\"\n  }}\n  region \"us-east-1\" {{\n    target = \"lb-use1.example.net\"\n  }}\n  region \"eu-west-1\" {{\n    target = \"lb-euw1.example.net\"\n  }}\n}}\n"
        ));
    }
    let path = dir.join("main.hcl");
    std::fs::write(&path, &text).unwrap();
    let o = meridian(&["alerts", path.to_str().unwrap()]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let yaml = String::from_utf8_lossy(&o.stdout).to_string();
    let file = dir.join("rules.yml");
    std::fs::write(&file, &yaml).unwrap();
    // Per service: 2 regions + 1 down-everywhere (no data block, no objectives) = 3; 2 services.
    let (ok, out) = promtool(&file);
    assert!(ok, "{out}\n{yaml}");
    assert!(out.contains("SUCCESS: 6 rules found"), "{out}");
    assert!(yaml.contains("health_check.endpoint["), "{yaml}");
    assert!(!yaml.contains("health_check.api["), "{yaml}");
}
