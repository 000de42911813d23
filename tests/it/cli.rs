//! End-to-end tests of the `meridian` binary: exit codes, streams and outputs users rely on.

// Tests and benchmarks may unwrap (a panic is a failure) and run long: the lints in
// Cargo.toml are for src/.
#![allow(clippy::unwrap_used, clippy::too_many_lines)]

use crate::support::bin::{meridian, stderr, stdout};
use crate::support::provision;

use std::path::Path;
use std::process::{Command, Output};

const EXAMPLES: &[&str] = &[
    "examples/active-passive",
    "examples/active-active-partitioned",
    "examples/active-active-anycast",
];

#[test]
fn every_example_is_valid() {
    let o = meridian(&["validate", "examples/"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    for e in EXAMPLES {
        assert!(
            stdout(&o).contains(&format!("{e}: valid")),
            "{}",
            stdout(&o)
        );
    }
    // No warnings either: the examples are what users copy.
    let o = meridian(&["validate", "examples/", "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["valid"], true);
    assert_eq!(doc["warnings"], 0, "{doc:#}");
}

#[test]
fn invalid_input_exits_1_with_json_diagnostics() {
    let o = meridian(&[
        "validate",
        "tests/fixtures/invalid/interval.hcl",
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["format_version"], 2);
    assert_eq!(doc["valid"], false);
    let d = &doc["diagnostics"][0];
    assert_eq!(d["code"], "meridian::interval");
    assert_eq!(d["severity"], "error");
    assert_eq!(d["file"], "tests/fixtures/invalid/interval.hcl");
    assert_eq!(d["line"], 8);
    assert_eq!(d["column"], 16);
    assert!(d["message"].as_str().unwrap().contains("10 or 30"));
}

#[test]
fn human_diagnostics_go_to_stderr_with_file_line_col() {
    let o = meridian(&["validate", "tests/fixtures/invalid/unknown_attribute.hcl"]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("unknown_attribute.hcl:5:3"), "{err}");
    assert!(err.contains("did you mean `ttl`?"), "{err}");
    assert!(
        !err.contains('\u{1b}'),
        "no colour when not a terminal: {err}"
    );
    assert!(stdout(&o).contains("invalid (1 service"), "{}", stdout(&o));
    let o = meridian(&[
        "--color",
        "always",
        "validate",
        "tests/fixtures/invalid/unknown_attribute.hcl",
    ]);
    assert!(stderr(&o).contains('\u{1b}'), "--color always colours");
}

#[test]
fn missing_path_and_usage_errors_exit_1() {
    let o = meridian(&["validate", "no/such/file.hcl"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("cannot read no/such/file.hcl"),
        "{}",
        stderr(&o)
    );
    let o = meridian(&["validate", "--format", "yaml"]);
    assert_eq!(o.status.code(), Some(1));
    let o = meridian(&["frobnicate"]);
    assert_eq!(o.status.code(), Some(1));
    let o = meridian(&["--version"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).starts_with("meridian "));
}

/// (example, its resource addresses, its (dependent, dependency) edges)
type Expected = (
    &'static str,
    &'static [&'static str],
    &'static [(&'static str, &'static str)],
);

#[test]
fn graph_prints_the_expected_nodes_and_edges() {
    let want: &[Expected] = &[
        (
            "examples/active-passive",
            &[
                r#"ecr_replication.billing-images"#,
                r#"ecr_repository.billing-images["billing/api"]"#,
                r#"ecr_repository.billing-images["billing/worker"]"#,
                r#"health_check.billing["eu-west-1"]"#,
                r#"health_check.billing["us-east-1"]"#,
                r#"owner.billing"#,
                r#"record.billing["eu-west-1"]"#,
                r#"record.billing["us-east-1"]"#,
            ],
            &[
                (
                    r#"ecr_replication.billing-images"#,
                    r#"ecr_repository.billing-images["billing/api"]"#,
                ),
                (
                    r#"ecr_replication.billing-images"#,
                    r#"ecr_repository.billing-images["billing/worker"]"#,
                ),
                (
                    r#"record.billing["eu-west-1"]"#,
                    r#"health_check.billing["eu-west-1"]"#,
                ),
                (r#"record.billing["eu-west-1"]"#, r#"owner.billing"#),
                (
                    r#"record.billing["us-east-1"]"#,
                    r#"health_check.billing["us-east-1"]"#,
                ),
                (r#"record.billing["us-east-1"]"#, r#"owner.billing"#),
            ],
        ),
        (
            "examples/active-active-partitioned",
            &[
                r#"ecr_replication.images"#,
                r#"ecr_repository.images["api"]"#,
                r#"ecr_repository.images["worker"]"#,
                r#"health_check.api["ap-southeast-1"]"#,
                r#"health_check.api["eu-west-1"]"#,
                r#"health_check.api["us-east-1"]"#,
                r#"owner.api"#,
                r#"record.api["ap-southeast-1"]"#,
                r#"record.api["eu-west-1"]"#,
                r#"record.api["us-east-1"]"#,
            ],
            &[
                (
                    r#"ecr_replication.images"#,
                    r#"ecr_repository.images["api"]"#,
                ),
                (
                    r#"ecr_replication.images"#,
                    r#"ecr_repository.images["worker"]"#,
                ),
                (
                    r#"record.api["ap-southeast-1"]"#,
                    r#"health_check.api["ap-southeast-1"]"#,
                ),
                (r#"record.api["ap-southeast-1"]"#, r#"owner.api"#),
                (
                    r#"record.api["eu-west-1"]"#,
                    r#"health_check.api["eu-west-1"]"#,
                ),
                (r#"record.api["eu-west-1"]"#, r#"owner.api"#),
                (
                    r#"record.api["us-east-1"]"#,
                    r#"health_check.api["us-east-1"]"#,
                ),
                (r#"record.api["us-east-1"]"#, r#"owner.api"#),
            ],
        ),
        (
            // Behind an accelerator: one alias record, no per-region records or checks.
            "examples/active-active-anycast",
            &[
                r#"ecr_replication.ledger-images"#,
                r#"ecr_repository.ledger-images["ledger"]"#,
                r#"owner.ledger"#,
                r#"record.ledger["accelerator"]"#,
            ],
            &[
                (
                    r#"ecr_replication.ledger-images"#,
                    r#"ecr_repository.ledger-images["ledger"]"#,
                ),
                (r#"record.ledger["accelerator"]"#, r#"owner.ledger"#),
            ],
        ),
    ];
    for (path, nodes, edges) in want {
        let o = meridian(&["graph", path, "--format", "json"]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let got: Vec<&str> = doc["resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["address"].as_str().unwrap())
            .collect();
        assert_eq!(&got, nodes, "{path}");
        let got: Vec<(&str, &str)> = doc["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| (e["from"].as_str().unwrap(), e["to"].as_str().unwrap()))
            .collect();
        assert_eq!(&got, edges, "{path}");
        // Apply order: every dependency before its dependents.
        let order: Vec<&str> = doc["apply_order"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        assert_eq!(order.len(), nodes.len());
        for (from, to) in *edges {
            let pos = |a: &str| order.iter().position(|x| *x == a).unwrap();
            assert!(pos(to) < pos(from), "{to} must come before {from}");
        }
        // DOT names the same nodes and edges.
        let o = meridian(&["graph", path]);
        let dot = stdout(&o);
        assert!(dot.starts_with("digraph meridian {"));
        for (from, to) in *edges {
            let line = format!(
                "\"{}\" -> \"{}\";",
                from.replace('"', "\\\""),
                to.replace('"', "\\\"")
            );
            assert!(dot.contains(&line), "{line} missing from\n{dot}");
        }
        insta::with_settings!({
            snapshot_path => "../../snapshots",
            prepend_module_to_snapshot => false,
            omit_expression => true,
        }, {
            let name = Path::new(path).file_name().unwrap().to_string_lossy().to_string();
            insta::assert_snapshot!(format!("graph__{name}"), dot);
        });
    }
}

#[test]
fn graph_refuses_an_invalid_topology() {
    let o = meridian(&["graph", "tests/fixtures/invalid/endpoint.hcl"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(o.stdout.is_empty());
    assert!(stderr(&o).contains("no graph printed"));
}

#[test]
fn geolocation_records_one_per_location() {
    let dir = tempdir("geo");
    let file = dir.join("main.hcl");
    std::fs::write(
        &file,
        r#"service "web" {
  zone    = "example.com"
  domain  = "www.example.com"
  routing = "geolocation"
  health_check {
    type = "HTTP"
  }
  region "eu-west-1" {
    target    = "eu.example.com"
    locations = ["EU", "*"]
  }
  region "us-east-1" {
    target    = "us.example.com"
    locations = ["NA"]
  }
}
"#,
    )
    .unwrap();
    let o = meridian(&["graph", file.to_str().unwrap(), "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let records: Vec<(&str, &str)> = doc["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["type"] == "record")
        .map(|r| {
            (
                r["address"].as_str().unwrap(),
                r["values"]["set_identifier"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        records,
        [
            (r#"record.web["eu-west-1/*"]"#, "web-eu-west-1-default"),
            (r#"record.web["eu-west-1/EU"]"#, "web-eu-west-1-EU"),
            (r#"record.web["us-east-1/NA"]"#, "web-us-east-1-NA"),
        ]
    );
}

fn tempdir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("meridian-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn fmt_rewrites_keeps_comments_and_is_idempotent() {
    let dir = tempdir("fmt");
    let file = dir.join("main.hcl");
    let messy = "# keep me\nservice \"api\" {\nzone=\"example.com\" # and me\n      domain = \"api.example.com\"\n\n\n\n  routing = \"latency\"\n  /* block\n     comment */\n  region \"us-east-1\" {\n  target = \"a.example.com\"\n  }\n}\n";
    std::fs::write(&file, messy).unwrap();
    let o = meridian(&["fmt", "--check", dir.to_str().unwrap()]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "--check fails on an unformatted file"
    );
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        messy,
        "--check writes nothing"
    );
    let o = meridian(&["fmt", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let once = std::fs::read_to_string(&file).unwrap();
    assert_eq!(
        once,
        "# keep me\nservice \"api\" {\n  zone   = \"example.com\" # and me\n  domain = \"api.example.com\"\n\n  routing = \"latency\"\n  /* block\n     comment */\n  region \"us-east-1\" {\n    target = \"a.example.com\"\n  }\n}\n"
    );
    let o = meridian(&["fmt", "--check", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "formatting twice changes nothing");
    let o = meridian(&["fmt", "--check", "examples/"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "examples are formatted: {}",
        stdout(&o)
    );
}

#[test]
fn fmt_refuses_invalid_hcl_and_leaves_it() {
    let dir = tempdir("fmt-bad");
    let file = dir.join("bad.hcl");
    std::fs::write(&file, "service \"api\" {\n  zone = \n").unwrap();
    let o = meridian(&["fmt", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("is not valid HCL"), "{}", stderr(&o));
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "service \"api\" {\n  zone = \n"
    );
}

/// `schemas/topology.schema.json` is generated from the format table; this keeps it in sync.
/// Regenerate with `meridian schema > schemas/topology.schema.json`.
#[test]
fn topology_schema_file_is_in_sync() {
    let want = meridian::model::schema::json_schema_text();
    let have = std::fs::read_to_string("schemas/topology.schema.json").unwrap_or_default();
    assert!(
        have == want,
        "schemas/topology.schema.json is stale: run `cargo run -- schema > schemas/topology.schema.json`"
    );
    let o = meridian(&["schema"]);
    assert_eq!(stdout(&o), want);
}

/// The README documents every block and attribute of the format.
#[test]
fn readme_documents_every_attribute() {
    let readme = std::fs::read_to_string("README.md").unwrap();
    let reference = readme
        .split("## File format")
        .nth(1)
        .expect("README has a '## File format' section");
    for (block, name) in meridian::model::schema::all_names() {
        assert!(
            reference.contains(&format!("`{name}`"))
                || reference.contains(&format!("`{name} \"NAME\"`")),
            "README's file format section does not document `{name}` (in `{block}`)"
        );
    }
    for code in meridian::diagnostics::Code::ALL {
        assert!(
            readme.contains(code.as_str()),
            "README does not list diagnostic {code}"
        );
    }
}

#[test]
fn analyze_snapshots_in_three_formats() {
    for e in EXAMPLES {
        let name = Path::new(e)
            .file_name()
            .unwrap()
            .to_string_lossy()
            .to_string();
        for format in ["human", "json", "markdown"] {
            let o = meridian(&["analyze", e, "--format", format]);
            assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
            if format == "json" {
                let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
                assert_eq!(doc["format_version"], 4);
                assert!(doc["rto_floor_seconds"].is_number());
            }
            insta::with_settings!({
                snapshot_path => "../../snapshots",
                prepend_module_to_snapshot => false,
                omit_expression => true,
            }, {
                insta::assert_snapshot!(format!("analyze__{name}__{format}"), stdout(&o));
            });
        }
    }
    let floors: Vec<f64> = EXAMPLES
        .iter()
        .map(|e| {
            let o = meridian(&["analyze", e, "--format", "json"]);
            let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
            doc["rto_floor_seconds"].as_f64().unwrap()
        })
        .collect();
    // active-passive 630 s; partitioned 90 s; anycast 30 s: the accelerator's detection and
    // no DNS TTL (Meridian plans the alias to it).
    assert_eq!(floors, [630.0, 90.0, 30.0]);
    let o = meridian(&["analyze", "examples/active-passive", "--format", "svg"]);
    assert_eq!(o.status.code(), Some(0));
    let svg = stdout(&o);
    assert!(svg.starts_with("<svg"));
    assert!(svg.contains("scale up eu-west-1 to 100 % 600 s"), "{svg}");
}

#[test]
fn check_exits_3_on_a_breached_objective_and_0_when_met() {
    for e in EXAMPLES {
        let o = meridian(&["check", e]);
        assert_eq!(o.status.code(), Some(0), "{e}: {}", stdout(&o));
    }
    let dir = tempdir("check");
    let text = std::fs::read_to_string("examples/active-passive/main.hcl")
        .unwrap()
        .replace("rto          = \"15m\"", "rto          = \"5m\"");
    std::fs::write(dir.join("main.hcl"), text).unwrap();
    let o = meridian(&["check", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(3), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("rto 300 s: BREACHED (actual 630 s, margin -330 s; service billing)"),
        "{}",
        stdout(&o)
    );
    let o = meridian(&["check", dir.to_str().unwrap(), "--format", "json"]);
    assert_eq!(o.status.code(), Some(3));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["breached"], true);
    assert_eq!(doc["objectives"][0]["verdict"], "breached");
    let o = meridian(&["check", "tests/fixtures/invalid/interval.hcl"]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "an invalid topology is an error, not a breach"
    );
}

#[test]
fn compare_ranks_the_examples_as_the_reference_does() {
    let mut args = vec!["compare"];
    args.extend_from_slice(EXAMPLES);
    let with = |format: &str| {
        let mut a = args.clone();
        a.extend_from_slice(&["--format", format]);
        let o = meridian(&a);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        stdout(&o)
    };
    let doc: serde_json::Value = serde_json::from_str(&with("json")).unwrap();
    let designs = doc["designs"].as_array().unwrap();
    let get = |name: &str, field: &str| {
        designs.iter().find(|d| d["name"] == name).unwrap()[field]
            .as_f64()
            .unwrap()
    };
    // Active-passive: cheapest and slowest; fully distributed: fastest and dearest.
    assert_eq!(doc["cheapest"], "active-passive");
    assert_eq!(doc["fastest"], "active-active-anycast");
    assert!(
        get("active-passive", "rto_floor_seconds")
            > get("active-active-partitioned", "rto_floor_seconds")
    );
    assert!(
        get("active-active-partitioned", "rto_floor_seconds")
            > get("active-active-anycast", "rto_floor_seconds")
    );
    assert!(get("active-passive", "monthly_usd") < get("active-active-partitioned", "monthly_usd"));
    assert!(
        get("active-active-partitioned", "monthly_usd")
            < get("active-active-anycast", "monthly_usd")
    );
    assert_eq!(get("active-passive", "cost_ratio"), 1.0);
    let svg = with("svg");
    assert!(svg.starts_with("<svg"), "{svg}");
    for e in [
        "active-passive",
        "active-active-partitioned",
        "active-active-anycast",
    ] {
        assert!(svg.contains(e), "{e} missing from the chart");
    }
    for format in ["human", "json", "markdown", "svg"] {
        insta::with_settings!({
            snapshot_path => "../../snapshots",
            prepend_module_to_snapshot => false,
            omit_expression => true,
        }, {
            insta::assert_snapshot!(format!("compare__examples__{format}"), with(format));
        });
    }
}

#[test]
fn compare_needs_two_designs_and_valid_ones() {
    let o = meridian(&["compare", "examples/active-passive"]);
    assert_eq!(o.status.code(), Some(1));
    let o = meridian(&[
        "compare",
        "examples/active-passive",
        "tests/fixtures/invalid/port.hcl",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("port.hcl is invalid"), "{}", stderr(&o));
}

#[test]
fn a_price_file_overrides_prices_and_a_bad_one_is_an_error() {
    let dir = tempdir("prices");
    let good = dir.join("prices.json");
    std::fs::write(&good, r#"{"replication_transfer_per_gb": 0.1}"#).unwrap();
    let o = meridian(&[
        "analyze",
        "examples/active-passive",
        "--format",
        "json",
        "--prices",
        good.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let item = doc["cost"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["item"] == "cross-region replication")
        .unwrap();
    assert_eq!(item["monthly_usd"], 30.0, "300 GB x 0.10");
    assert_eq!(
        doc["cost"]["overridden_prices"][0],
        "replication_transfer_per_gb"
    );
    let bad = dir.join("bad.json");
    std::fs::write(&bad, r#"{"replication_per_gb": 0.1}"#).unwrap();
    let o = meridian(&[
        "analyze",
        "examples/active-passive",
        "--prices",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("unknown field"), "{}", stderr(&o));
}

/// A total with missing inputs is a lower bound: never the baseline of a ratio (a partial
/// 3.25 USD baseline once printed "3889x"), and its own ratio is "at least".
#[test]
fn compare_ratios_use_only_complete_totals() {
    let partial = "tests/fixtures/lint/SS003.hcl";
    let o = meridian(&[
        "compare",
        "examples/active-passive",
        partial,
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let d = doc["designs"].as_array().unwrap();
    assert_eq!(d[0]["cost_complete"], true);
    assert_eq!(d[0]["cost_ratio"], 1.0);
    assert_eq!(d[1]["cost_complete"], false);
    assert_eq!(d[1]["cost_ratio_at_least"], true);
    assert!(d[1]["cost_ratio"].as_f64().unwrap() < 1.0);
    assert_eq!(doc["cheapest"], "active-passive");
    // No complete total: no ratio at all.
    let o = meridian(&["compare", partial, partial, "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(doc["designs"][0]["cost_ratio"].is_null());
    assert!(doc["cheapest"].is_null());
    let o = meridian(&["compare", partial, partial]);
    let row = stdout(&o).lines().nth(1).unwrap_or_default().to_string();
    assert!(row.contains(">= 0.50") && row.contains("  -  "), "{row}");
}

/// Hostile input: a huge string, thousands of errors, files that are not files. Output stays
/// bounded and nothing hangs.
#[test]
fn hostile_input_is_bounded() {
    let dir = tempdir("hostile");
    // A 20 MB label: reported once, cut, without echoing the line.
    let huge = dir.join("huge.hcl");
    std::fs::write(
        &huge,
        format!("service \"{}\" {{}}\n", "a".repeat(20_000_000)),
    )
    .unwrap();
    let o = meridian(&["validate", huge.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        o.stderr.len() < 20_000,
        "{} bytes of stderr",
        o.stderr.len()
    );
    assert!(stderr(&o).contains("bytes cut"), "{}", stderr(&o));
    // 5,000 errors: 1,000 shown, the rest counted.
    let many = dir.join("many.hcl");
    let text: String = (0..5000).map(|i| format!("bogus_{i} = 1\n")).collect();
    std::fs::write(&many, text).unwrap();
    let o = meridian(&["validate", many.to_str().unwrap(), "--format", "json"]);
    assert_eq!(o.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["errors"], 5000);
    assert_eq!(doc["not_shown"], 4000);
    assert_eq!(doc["diagnostics"].as_array().unwrap().len(), 1000);
    let o = meridian(&["validate", many.to_str().unwrap()]);
    assert!(stderr(&o).contains("and 4000 more diagnostics not shown"));
    // Not regular files: refused at once.
    for special in ["/dev/zero", "/dev/null"] {
        let o = meridian(&["validate", special]);
        assert_eq!(o.status.code(), Some(1), "{special}");
        assert!(
            stderr(&o).contains("not a regular file"),
            "{special}: {}",
            stderr(&o)
        );
    }
    let fifo = dir.join("pipe.hcl");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    if made.is_ok_and(|s| s.success()) {
        let o = meridian(&["validate", fifo.to_str().unwrap()]);
        assert!(stderr(&o).contains("not a regular file"), "{}", stderr(&o));
    }
    // A label that would break the ownership marker.
    let o = meridian(&["validate", "tests/fixtures/invalid/label.hcl"]);
    assert!(stderr(&o).contains("meridian::label"));
}

/// `fmt DIR` formats the regular files it finds and leaves symlinks (loops included) and
/// hidden files alone.
#[test]
fn fmt_skips_symlinks_and_hidden_files() {
    let dir = tempdir("fmt-links");
    let messy = "service \"api\" {\nzone = \"example.com\"\n}\n";
    std::fs::write(dir.join("a.hcl"), messy).unwrap();
    std::fs::write(dir.join(".hidden.hcl"), messy).unwrap();
    std::os::unix::fs::symlink(dir.join("a.hcl"), dir.join("link.hcl")).unwrap();
    std::os::unix::fs::symlink(dir.join("loop.hcl"), dir.join("loop.hcl")).unwrap();
    let o = meridian(&["fmt", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_ne!(std::fs::read_to_string(dir.join("a.hcl")).unwrap(), messy);
    assert_eq!(
        std::fs::read_to_string(dir.join(".hidden.hcl")).unwrap(),
        messy
    );
    assert!(std::fs::symlink_metadata(dir.join("link.hcl"))
        .unwrap()
        .file_type()
        .is_symlink());
    // Named on the command line, a link is formatted through: the link stays.
    std::fs::write(dir.join("a.hcl"), messy).unwrap();
    let o = meridian(&["fmt", dir.join("link.hcl").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(std::fs::symlink_metadata(dir.join("link.hcl"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert_ne!(std::fs::read_to_string(dir.join("a.hcl")).unwrap(), messy);
}

/// A service with no survivor for some region loss fails `check` and
/// `plan --fail-on-objectives` alike, even without objectives, and both name it.
#[test]
fn no_recovery_fails_the_gate_without_objectives() {
    let dir = tempdir("no-recovery");
    let file = dir.join("main.hcl");
    std::fs::write(
        &file,
        "service \"api\" {\n  zone = \"example.com\"\n  domain = \"api.example.com\"\n  routing = \"latency\"\n  stateless = true\n  health_check {\n    type = \"HTTPS\"\n    interval = 10\n    failure_threshold = 3\n  }\n  region \"us-east-1\" {\n    target = \"use1.example.com\"\n  }\n}\n",
    )
    .unwrap();
    let path = file.to_str().unwrap();
    let o = meridian(&["check", path]);
    assert_eq!(o.status.code(), Some(3), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("service api: NO RECOVERY"),
        "{}",
        stdout(&o)
    );
    let state = dir.join("state.json");
    let state = state.to_str().unwrap();
    let o = meridian(&["plan", path, "--state", state, "--fail-on-objectives"]);
    assert_eq!(o.status.code(), Some(3), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("NO RECOVERY (service api)"),
        "{}",
        stdout(&o)
    );
    // Drift detection alone is not a gate.
    let o = meridian(&["plan", path, "--state", state, "--detailed-exitcode"]);
    assert_eq!(o.status.code(), Some(2));
}

/// `--version` names the commit and build date; `-C DIR` runs as if started in DIR (a
/// missing one is an error, exit 1); `--no-color` is accepted as `--color never`.
#[test]
fn version_chdir_and_no_color() {
    let o = meridian(&["--version"]);
    assert_eq!(o.status.code(), Some(0));
    let v = stdout(&o);
    assert!(
        v.starts_with(&format!("meridian {} (commit ", env!("CARGO_PKG_VERSION"))),
        "{v}"
    );
    assert!(v.contains(", built 20"), "{v}");
    let o = meridian(&["-C", "examples", "validate", "active-passive", "--no-color"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        stdout(&o).contains("active-passive: valid"),
        "{}",
        stdout(&o)
    );
    let o = meridian(&["--chdir", "no-such-directory", "validate"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("cannot change to directory"));
}

/// Every `meridian` command in docs/ci.md parses with the real command line, and the
/// pre-commit hooks name commands that exist.
#[test]
fn the_ci_recipe_uses_real_commands() {
    use clap::Parser;
    let mut lines: Vec<String> = Vec::new();
    for file in ["docs/ci.md", ".pre-commit-hooks.yaml"] {
        for line in std::fs::read_to_string(file).unwrap().lines() {
            let l = line
                .trim()
                .trim_start_matches("- run: ")
                .trim_start_matches("entry: ");
            if let Some(rest) = l.strip_prefix("meridian ") {
                let cmd = rest.split(['>', '|', '#']).next().unwrap().trim();
                lines.push(cmd.to_string());
            }
        }
    }
    assert!(lines.len() >= 10, "{lines:?}");
    for cmd in lines {
        let args = std::iter::once("meridian").chain(cmd.split_whitespace());
        if let Err(e) = meridian::cli::Cli::try_parse_from(args) {
            panic!("`meridian {cmd}` does not parse: {e}");
        }
    }
}

/// The release workflow and every workflow of docs/ci.md validate against GitHub's workflow
/// schema (as the pinned check-jsonschema vendors it, offline); a broken one does not.
#[test]
fn workflows_validate_against_githubs_schema() {
    let python = provision::workflow_python().unwrap_or_else(|e| panic!("{e}"));
    let dir = std::env::temp_dir().join(format!("meridian-workflows-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut files = vec![std::path::PathBuf::from(".github/workflows/release.yml")];
    let doc = std::fs::read_to_string("docs/ci.md").unwrap();
    for (i, block) in doc.split("```yaml\n").skip(1).enumerate() {
        let block = block.split("```").next().unwrap();
        if block.lines().any(|l| l == "jobs:") {
            let f = dir.join(format!("ci-{i}.yml"));
            std::fs::write(&f, block).unwrap();
            files.push(f);
        }
    }
    assert!(files.len() >= 3, "{files:?}");
    let broken = dir.join("broken.yml");
    std::fs::write(&broken, "on: push\njobs:\n  a:\n    steps: 3\n").unwrap();
    let validate = |files: &[std::path::PathBuf]| {
        Command::new(&python)
            .args([
                "-m",
                "check_jsonschema",
                "--builtin-schema",
                "vendor.github-workflows",
            ])
            .args(files)
            .output()
            .unwrap()
    };
    let o = validate(&files);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    assert!(!validate(&[broken]).status.success());
    let _ = std::fs::remove_dir_all(&dir);
}

/// Completions and the man page come from the clap definitions: every command is in them, and
/// the bash script is valid bash.
#[test]
fn completions_and_man_page_name_every_command() {
    let bash = meridian(&["completions", "bash"]);
    assert_eq!(bash.status.code(), Some(0));
    let script = stdout(&bash);
    for cmd in [
        "validate", "plan", "apply", "lint", "simulate", "shift", "alerts", "man",
    ] {
        assert!(
            script.contains(&format!("meridian__subcmd__{cmd}")),
            "bash completions lack {cmd}"
        );
    }
    let dir = std::env::temp_dir().join(format!("meridian-completions-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("meridian.bash");
    std::fs::write(&file, &script).unwrap();
    let check = Command::new("bash").arg("-n").arg(&file).output().unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    assert!(stdout(&meridian(&["completions", "zsh"])).starts_with("#compdef meridian"));
    assert!(stdout(&meridian(&["completions", "fish"])).contains("complete -c meridian"));
    let man = stdout(&meridian(&["man"]));
    assert!(
        man.contains(".TH MERIDIAN 1"),
        "{}",
        &man[..200.min(man.len())]
    );
    assert!(man.contains(".SH NAME"), "man page incomplete");
    for cmd in ["lint", "simulate", "shift", "alerts", "completions"] {
        assert!(
            man.contains(&format!("meridian\\-{cmd}(1)")),
            "man page lacks {cmd}"
        );
    }
    assert_eq!(meridian(&["completions", "tcsh"]).status.code(), Some(1));
}

/// `--color always` colours a plan's change symbols and a check's verdicts (the symbols and
/// words stay); `--color never`, `--no-color` and a pipe under `auto` do not.
#[test]
fn color_always_colours_plans_and_verdicts() {
    let dir = std::env::temp_dir().join(format!("meridian-color-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy("examples/active-passive/main.hcl", dir.join("main.hcl")).unwrap();
    let path = dir.to_str().unwrap();
    let o = meridian(&["plan", path, "--color", "always"]);
    assert!(
        stdout(&o).contains("\x1b[32m+\x1b[0m record.billing"),
        "{}",
        stdout(&o)
    );
    for args in [
        vec!["plan", path, "--color", "never"],
        vec!["plan", path, "--no-color"],
        vec!["plan", path],
    ] {
        let o = meridian(&args);
        assert!(!stdout(&o).contains('\x1b'), "{args:?}");
        assert!(stdout(&o).contains("  + record.billing"), "{args:?}");
    }
    let o = meridian(&["check", "examples/active-passive", "--color", "always"]);
    assert!(stdout(&o).contains("\x1b[32mmet\x1b[0m"), "{}", stdout(&o));
}

/// The text element of `svg` whose content starts with `label`: its `y`.
fn label_y(svg: &str, label: &str) -> Option<i64> {
    let at = svg.find(&format!("\n{label}"))?;
    let open = svg[..at].rfind("<text")?;
    let tag = &svg[open..at];
    let y = tag.split("y=\"").nth(1)?.split('"').next()?;
    y.parse().ok()
}

/// The pictures: the timeline has a legend for the critical path and the RTO objective line,
/// labels above their bars; the comparison stacks the labels of designs at one point and draws
/// a cost that is only a lower bound hollow, with a legend entry saying so.
#[test]
fn charts_say_what_they_show() {
    let o = meridian(&["analyze", "examples/active-passive", "--format", "svg"]);
    let svg = stdout(&o);
    assert!(
        svg.contains("on the critical path (sets the floor)"),
        "{svg}"
    );
    assert!(svg.contains("RTO objective 900 s"));
    let dir = std::env::temp_dir().join(format!("meridian-charts-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    for d in ["a", "b", "partial"] {
        std::fs::create_dir_all(dir.join(d)).unwrap();
    }
    let text = std::fs::read_to_string("examples/active-passive/main.hcl").unwrap();
    std::fs::write(dir.join("a/main.hcl"), &text).unwrap();
    std::fs::write(dir.join("b/main.hcl"), &text).unwrap();
    std::fs::write(
        dir.join("partial/main.hcl"),
        text.replace("database_per_region = 2500", ""),
    )
    .unwrap();
    let p = |d: &str| dir.join(d).to_str().unwrap().to_string();
    let o = meridian(&[
        "compare",
        &p("a"),
        &p("b"),
        &p("partial"),
        "--format",
        "svg",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let svg = stdout(&o);
    let (ya, yb) = (label_y(&svg, "a: 630 s"), label_y(&svg, "b: 630 s"));
    assert!(ya.is_some() && yb.is_some() && ya != yb, "{ya:?} {yb:?}");
    assert!(svg.contains("cost at least this (inputs missing)"));
    assert!(
        svg.contains("USD &gt;= "),
        "the partial cost is labelled as a lower bound"
    );
    // Valid XML for a renderer (python3's parser).
    let file = dir.join("compare.svg");
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
}

/// Every JSON example in the README (a `$ meridian ... --format json` block) is what the
/// command prints today.
#[test]
fn readme_json_examples_match_real_output() {
    let readme = std::fs::read_to_string("README.md").unwrap();
    let mut checked = 0;
    for block in readme.split("```sh\n").skip(1) {
        let body = block.split("```").next().unwrap();
        let Some((first, rest)) = body.split_once('\n') else {
            continue;
        };
        let Some(cmd) = first.strip_prefix("$ meridian ") else {
            continue;
        };
        if !cmd.contains("--format json") || !rest.trim_start().starts_with('{') {
            continue;
        }
        let args: Vec<&str> = cmd.split_whitespace().collect();
        let o = meridian(&args);
        let real: serde_json::Value =
            serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("`meridian {cmd}`: {e}"));
        let shown: serde_json::Value = serde_json::from_str(rest)
            .unwrap_or_else(|e| panic!("README example of `meridian {cmd}` is not JSON: {e}"));
        assert_eq!(shown, real, "README example of `meridian {cmd}` is stale");
        checked += 1;
    }
    assert!(checked >= 1, "no JSON example found in the README");
}

/// Off a terminal, an apply reports its progress as plain lines on stderr, one per wave, the
/// last with every change settled; stdout keeps only the plan and the result.
#[test]
fn apply_progress_is_plain_lines_off_a_terminal() {
    let dir = std::env::temp_dir().join(format!("meridian-progress-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy("examples/active-passive/main.hcl", dir.join("main.hcl")).unwrap();
    let o = meridian(&["apply", dir.to_str().unwrap(), "--auto-approve"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let err = stderr(&o);
    let lines: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("progress: "))
        .collect();
    assert!(lines.len() >= 2, "{}", stderr(&o));
    // 2 health checks, the marker, 2 records, 2 repositories and the replication rule: 8.
    assert!(
        lines
            .last()
            .unwrap()
            .starts_with("progress: 8/8 changes settled"),
        "{lines:?}"
    );
    assert!(!stdout(&o).contains("progress: "));
}

/// `--quiet` keeps stderr to errors (no progress, no warnings of a valid topology); `-v` logs
/// Meridian's steps; `RUST_LOG` sets the filter.
#[test]
fn quiet_and_verbose() {
    let dir = std::env::temp_dir().join(format!("meridian-quiet-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy("tests/fixtures/lint/SS013.hcl", dir.join("main.hcl")).unwrap();
    // A value for a variable the topology does not declare: a warning.
    let vars = dir.join("extra.vars");
    std::fs::write(&vars, "nothere = \"1\"\n").unwrap();
    let vars = vars.to_str().unwrap();
    let path = dir.to_str().unwrap();
    let o = meridian(&[
        "apply",
        path,
        "--auto-approve",
        "--quiet",
        "--var-file",
        vars,
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stderr(&o), "", "quiet apply wrote to stderr");
    let o = meridian(&["plan", path, "--var-file", vars]);
    assert!(
        stderr(&o).contains("meridian::unknown_variable"),
        "warnings show without --quiet: {}",
        stderr(&o)
    );
    let o = meridian(&["plan", path, "-v"]);
    assert!(stderr(&o).contains("DEBUG"), "{}", stderr(&o));
    let o = Command::new(env!("CARGO_BIN_EXE_meridian"))
        .args(["destroy", path, "--auto-approve"])
        .env("RUST_LOG", "meridian=info")
        .output()
        .unwrap();
    assert!(stderr(&o).contains("apply progress"), "{}", stderr(&o));
    assert!(
        !stderr(&o).contains("DEBUG"),
        "RUST_LOG=meridian=info shows no debug events"
    );
    assert_eq!(meridian(&["plan", path, "-q", "-v"]).status.code(), Some(1));
}

/// `fmt` on a file that does not parse shows the full syntax diagnostic (where, what was
/// expected), not one truncated line, and leaves the file alone.
#[test]
fn fmt_shows_the_whole_syntax_error() {
    let before = std::fs::read_to_string("tests/fixtures/invalid/syntax.hcl").unwrap();
    let o = meridian(&["fmt", "--check", "tests/fixtures/invalid/syntax.hcl"]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("meridian::syntax"), "{err}");
    assert!(err.contains("syntax.hcl:3:12"), "{err}");
    assert!(err.contains("expected"), "{err}");
    assert!(
        err.contains("is not valid HCL; it was left as it is"),
        "{err}"
    );
    let after = std::fs::read_to_string("tests/fixtures/invalid/syntax.hcl").unwrap();
    assert_eq!(before, after);
}

/// `fmt` reads no more than a topology may hold: a device is refused at once, and standard
/// input past 64 MiB is an error, never read to the end of memory.
#[test]
fn fmt_reads_bounded_input() {
    use std::io::Write;
    let o = meridian(&["fmt", "/dev/zero"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("not a regular file"), "{}", stderr(&o));
    let mut child = Command::new(env!("CARGO_BIN_EXE_meridian"))
        .args(["fmt", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let chunk = vec![b'#'; 1 << 20];
    for _ in 0..70 {
        if stdin.write_all(&chunk).is_err() {
            break;
        }
    }
    drop(stdin);
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("larger than 64 MiB"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// IAM's `StringLike`: `*` any run of characters, `?` one.
fn glob(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    let mut dp = vec![vec![false; n.len() + 1]; p.len() + 1];
    dp[0][0] = true;
    for i in 1..=p.len() {
        dp[i][0] = dp[i - 1][0] && p[i - 1] == '*';
        for j in 1..=n.len() {
            dp[i][j] = match p[i - 1] {
                '*' => dp[i - 1][j] || dp[i][j - 1],
                '?' => dp[i - 1][j - 1],
                c => dp[i - 1][j - 1] && c == n[j - 1],
            };
        }
    }
    dp[p.len()][n.len()]
}

/// `iam-policy` stays within IAM's 6,144-character limit for a managed policy (whitespace not
/// counted) at any size: names listed exactly while that fits (115 services), name patterns
/// beyond (600, 3,000: it passed the limit at about 115 services), several documents when even
/// those do not fit (400 services each under a parent domain of its own); every record name
/// and marker the topology writes is allowed by some statement, and nothing else in the zone
/// but names under the same parent and first-label prefix.
#[test]
fn iam_policy_stays_within_the_managed_policy_limit() {
    let dir = std::env::temp_dir().join(format!("meridian-iam-limit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let topology = |n: usize, domain: &dyn Fn(usize) -> String| {
        let mut s = String::new();
        for i in 0..n {
            s.push_str(&format!(
                "service \"s{i}\" {{\n  zone = \"big.example\"\n  domain = \"{}\"\n  routing = \"latency\"\n  stateless = true\n  region \"us-east-1\" {{\n    target = \"a{i}.big.example\"\n  }}\n  region \"eu-west-1\" {{\n    target = \"b{i}.big.example\"\n  }}\n}}\n",
                domain(i)
            ));
        }
        s
    };
    let flat = |i: usize| format!("s{i}.big.example");
    let deep = |i: usize| format!("api.team{i}.big.example");
    let mixed = |i: usize| format!("{}{i}.big.example", ["api", "web", "db"][i % 3]);
    for (n, domain, docs, exact) in [
        (115, &flat as &dyn Fn(usize) -> String, 1, true),
        (600, &flat, 1, false),
        (3000, &flat, 1, false),
        (400, &deep, 5, false),
        (600, &mixed, 1, false),
    ] {
        let file = dir.join(format!("t{n}-{docs}-{}.hcl", domain(1).len()));
        std::fs::write(&file, topology(n, domain)).unwrap();
        let o = meridian(&["iam-policy", file.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let documents = match v {
            serde_json::Value::Array(d) => d,
            one => vec![one],
        };
        assert_eq!(documents.len(), docs, "{n}: {}", stderr(&o));
        let mut allowed = Vec::new();
        for d in &documents {
            let size = serde_json::to_string(d).unwrap().chars().count();
            assert!(size <= 6144, "{n}: a document of {size} characters");
            for s in d["Statement"].as_array().unwrap() {
                if !s["Sid"].as_str().unwrap().starts_with("MeridianRecords") {
                    continue;
                }
                let (op, list) = s["Condition"].as_object().unwrap().iter().next().unwrap();
                assert_eq!(op == "ForAllValues:StringEquals", exact, "{n}: {op}");
                allowed.extend(
                    list["route53:ChangeResourceRecordSetsNormalizedRecordNames"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|x| x.as_str().unwrap().to_string()),
                );
            }
        }
        for i in 0..n {
            for name in [domain(i), format!("_meridian.{}", domain(i))] {
                assert!(
                    allowed.iter().any(|p| glob(p, &name)),
                    "{n}: {name} is not allowed"
                );
            }
        }
        for outside in [
            "big.example",
            "www.big.example",
            "_meridian.www.big.example",
            "mail.big.example",
        ] {
            assert!(
                !allowed.iter().any(|p| glob(p, outside)),
                "{n}: {outside} is allowed"
            );
        }
    }
}

/// Long lines are cut in snippets (rustc-style): a 5 MB comment line beside an error was
/// echoed whole (5 MB of stderr), a label deep in a 40,000-column line was not shown at all.
/// Now a line keeps about 400 columns around its label, `…` marking each cut, and a label
/// whose line was cut before it says where it really is.
#[test]
fn snippets_cut_long_lines_around_their_label() {
    let dir = std::env::temp_dir().join(format!("meridian-long-lines-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let comment = dir.join("comment.hcl");
    std::fs::write(
        &comment,
        format!(
            "service \"a\" {{\n  zone = \"example.com\"\n  domain = \"a.example.com\"\n  # {}\n  routing = \"nope\"\n  stateless = true\n  region \"us-east-1\" {{\n    target = \"a.example.com\"\n  }}\n}}\n",
            "x".repeat(5_000_000)
        ),
    )
    .unwrap();
    let o = meridian(&["validate", comment.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.len() < 5_000, "{} bytes of stderr", err.len());
    assert!(err.contains("xxx…\n"), "{err}");
    assert!(err.contains(r#"routing = "nope""#), "{err}");
    let ips: Vec<String> = (0..3000)
        .map(|i| format!("\"192.0.2.{}\"", i % 250))
        .collect();
    let deep = dir.join("deep.hcl");
    std::fs::write(
        &deep,
        format!(
            "service \"a\" {{\n  zone = \"example.com\"\n  domain = \"a.example.com\"\n  routing = \"latency\"\n  stateless = true\n  region \"us-east-1\" {{\n    ips = [{}, \"nope\"]\n  }}\n}}\n",
            ips.join(", ")
        ),
    )
    .unwrap();
    let o = meridian(&["validate", deep.to_str().unwrap()]);
    let err = stderr(&o);
    assert!(err.len() < 5_000, "{} bytes of stderr", err.len());
    assert!(err.contains(":7:43692; its line is"), "{err}");
    assert!(
        err.contains(r#"…0.2."#) && err.contains(r#""nope"]"#),
        "{err}"
    );
    assert!(err.contains("not an IPv4 or IPv6 address"), "{err}");
}

/// Terraform's single-dash long flags work (with a note naming the two-dash form): they got
/// a tip about `-- -d` before.
#[test]
fn terraform_single_dash_flags_are_read_as_long_options() {
    let dir = std::env::temp_dir().join(format!("meridian-single-dash-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("plan.json");
    let o = meridian(&[
        "plan",
        "examples/active-passive",
        "-detailed-exitcode",
        &format!("-out={}", out.display()),
        "--state",
        dir.join("state.json").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(out.is_file());
    assert!(
        stderr(&o).contains("note: read -detailed-exitcode as --detailed-exitcode"),
        "{}",
        stderr(&o)
    );
    // Short options and their clusters are untouched; -q silences the note.
    let o = meridian(&["-q", "validate", "examples/active-passive", "-format=json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).is_empty(), "{}", stderr(&o));
}

/// `-q` keeps stderr to errors on every command: `-q validate` printed warnings.
#[test]
fn quiet_validate_prints_no_warnings() {
    let dir = std::env::temp_dir().join(format!("meridian-quiet-validate-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("main.hcl");
    // Valid, with a warning: a value for a variable it does not declare.
    std::fs::write(&file, "service \"a\" {\n  zone = \"example.com\"\n  domain = \"a.example.com\"\n  routing = \"latency\"\n  stateless = true\n  region \"us-east-1\" {\n    target = \"a.example.com\"\n  }\n}\n").unwrap();
    let vars = dir.join("extra.vars");
    std::fs::write(&vars, "nothere = \"1\"\n").unwrap();
    let vars = vars.to_str().unwrap();
    let loud = meridian(&["validate", file.to_str().unwrap(), "--var-file", vars]);
    assert!(
        stderr(&loud).contains("unknown_variable"),
        "{}",
        stderr(&loud)
    );
    let o = meridian(&["-q", "validate", file.to_str().unwrap(), "--var-file", vars]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stderr(&o).is_empty(), "{}", stderr(&o));
}

/// `fmt --check --diff` shows a unified diff of what would change (it listed names only).
#[test]
fn fmt_diff_shows_a_unified_diff() {
    let dir = std::env::temp_dir().join(format!("meridian-fmt-diff-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("main.hcl");
    std::fs::write(&file, "service \"a\" {\nzone = \"example.com\"\n}\n").unwrap();
    let o = meridian(&["fmt", "--check", "--diff", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains(&format!("--- a/{}", file.display())), "{out}");
    assert!(
        out.contains("-zone = \"example.com\"\n+  zone = \"example.com\""),
        "{out}"
    );
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "service \"a\" {\nzone = \"example.com\"\n}\n",
        "--check wrote"
    );
}

/// Markdown for a pull-request comment stays within GitHub's 65,536 characters at 1,000
/// services (the plan was 641 k, check 1.12 M): it opens with the marker and the summary,
/// keeps its detail in balanced `<details>` and code fences, says what it left out, and
/// `--max-chars 0` gives the whole.
#[test]
fn markdown_of_a_thousand_services_fits_a_comment() {
    let dir = std::env::temp_dir().join(format!("meridian-comment-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut hcl = String::from("name = \"big\"\n");
    for i in 0..1000 {
        hcl.push_str(&format!(
            "service \"s{i}\" {{\n  zone = \"example.com\"\n  domain = \"s{i}.example.com\"\n  routing = \"latency\"\n  stateless = true\n  region \"us-east-1\" {{\n    target = \"a{i}.example.com\"\n  }}\n  region \"eu-west-1\" {{\n    target = \"b{i}.example.com\"\n  }}\n}}\n"
        ));
    }
    // No health checks: Route 53 creates at most 1,000 a day, and the plan says so.
    let file = dir.join("big.hcl");
    std::fs::write(&file, hcl).unwrap();
    let state = dir.join("state.json");
    let f = file.to_str().unwrap();
    let balanced = |md: &str, kind: &str| {
        assert!(
            md.chars().count() <= 65_536,
            "{kind}: {}",
            md.chars().count()
        );
        assert!(
            md.starts_with(&format!("<!-- meridian:{kind} -->\n")),
            "{kind}"
        );
        assert_eq!(md.matches("```").count() % 2, 0, "{kind}");
        assert_eq!(
            md.matches("<details>").count(),
            md.matches("</details>").count(),
            "{kind}"
        );
    };
    let o = meridian(&[
        "plan",
        f,
        "--state",
        state.to_str().unwrap(),
        "--format",
        "markdown",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let md = stdout(&o);
    balanced(&md, "plan");
    assert!(md.contains("## Meridian plan"));
    assert!(md.contains("3000 to add"), "{}", &md[..600]);
    assert!(md.contains("Cut to fit a comment"));
    let whole = meridian(&[
        "plan",
        f,
        "--state",
        state.to_str().unwrap(),
        "--format",
        "markdown",
        "--max-chars",
        "0",
    ]);
    assert!(stdout(&whole).chars().count() > 200_000);
    for (cmd, kind) in [("check", "check"), ("analyze", "analysis")] {
        let o = meridian(&[cmd, f, "--format", "markdown"]);
        assert!(matches!(o.status.code(), Some(0 | 3)), "{}", stderr(&o));
        balanced(&stdout(&o), kind);
    }
    // Two outputs in one comment, as docs/ci.md puts them.
    let plan = meridian(&[
        "plan",
        f,
        "--state",
        state.to_str().unwrap(),
        "--format",
        "markdown",
        "--max-chars",
        "40000",
    ]);
    let check = meridian(&["check", f, "--format", "markdown", "--max-chars", "25000"]);
    assert!(stdout(&plan).chars().count() + stdout(&check).chars().count() <= 65_536);
    // --split: the whole plan in parts of at most 65,536 characters, every line in one part.
    let parts = dir.join("parts");
    std::fs::create_dir_all(&parts).unwrap();
    std::fs::write(parts.join("plan-99.md"), "stale").unwrap();
    let o = meridian(&[
        "plan",
        f,
        "--state",
        state.to_str().unwrap(),
        "--format",
        "markdown",
        "--split",
        parts.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let files: Vec<String> = stdout(&o).lines().map(String::from).collect();
    assert!(files.len() >= 4, "{files:?}");
    assert!(!parts.join("plan-99.md").exists(), "a stale part is left");
    let mut rows = 0;
    let mut rendered = Vec::new();
    for (i, file) in files.iter().enumerate() {
        let part = std::fs::read_to_string(file).unwrap();
        assert!(part.chars().count() <= 65_536, "{file}");
        assert!(part.contains(&format!("*Part {} of {}.*", i + 1, files.len())));
        rows += part.matches("\n+ record.").count();
        rendered.push(file.clone());
    }
    assert_eq!(rows, stdout(&whole).matches("\n+ record.").count());
    // A limit with no room for the summary and the closing is refused, not broken.
    let o = meridian(&["check", f, "--format", "markdown", "--max-chars", "601"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("leaves no room"), "{}", stderr(&o));
    // Each document as GitHub renders it (cmark-gfm): every structure closed where it ends.
    for (cmd, kind) in [("check", "check"), ("analyze", "analysis")] {
        let o = meridian(&[cmd, f, "--format", "markdown"]);
        let file = dir.join(format!("{kind}.md"));
        std::fs::write(&file, &o.stdout).unwrap();
        rendered.push(file.to_str().unwrap().to_string());
    }
    let file = dir.join("plan.md");
    std::fs::write(&file, stdout(&plan)).unwrap();
    rendered.push(file.to_str().unwrap().to_string());
    // A plan cut inside its diff (a short table, a long diff): the fence and <details> closed.
    let mid = std::fs::read_to_string(f).unwrap();
    let cut_at = mid.match_indices("service \"s").nth(40).unwrap().0;
    let mid_file = dir.join("mid.hcl");
    std::fs::write(&mid_file, &mid[..cut_at]).unwrap();
    let o = meridian(&[
        "plan",
        mid_file.to_str().unwrap(),
        "--format",
        "markdown",
        "--max-chars",
        "30000",
    ]);
    let md = stdout(&o);
    let diff_at = md.find("```diff").expect("the diff is shown");
    assert!(
        diff_at < md.find("Cut to fit").unwrap(),
        "cut before the diff"
    );
    let file = dir.join("mid.md");
    std::fs::write(&file, md).unwrap();
    rendered.push(file.to_str().unwrap().to_string());
    renders_like_github(&rendered);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Renders each Markdown file with cmark-gfm (GitHub's renderer, pinned from PyPI), raw HTML
/// kept as GitHub keeps `<details>`, and checks the HTML: the marker is a comment, every
/// `<details>`, `<pre>` and `<table>` is closed, and the document's last line is rendered
/// outside any code block (a fence left open swallows the rest of a comment).
fn renders_like_github(files: &[String]) {
    let python = provision::cmark_python().unwrap_or_else(|e| panic!("{e}"));
    let script = r#"
import sys, html.parser, cmarkgfm
from cmarkgfm.cmark import Options
class Check(html.parser.HTMLParser):
    BLOCKS = {"details", "pre", "table", "ul", "ol", "blockquote", "summary"}
    def __init__(self):
        super().__init__()
        self.stack, self.errors, self.last_outside = [], [], ""
    def handle_starttag(self, tag, attrs):
        if tag in self.BLOCKS:
            self.stack.append(tag)
    def handle_endtag(self, tag):
        if tag in self.BLOCKS:
            if not self.stack or self.stack[-1] != tag:
                self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
            else:
                self.stack.pop()
    def handle_data(self, data):
        if data.strip() and "pre" not in self.stack:
            self.last_outside = (self.last_outside + " " + data.strip())[-400:]
bad = 0
for f in sys.argv[1:]:
    text = open(f, encoding="utf-8").read()
    out = cmarkgfm.github_flavored_markdown_to_html(text, options=Options.CMARK_OPT_UNSAFE)
    c = Check(); c.feed(out); c.close()
    last = [l for l in text.splitlines() if l.strip() and not l.startswith("<")][-1]
    words = [w for w in last.replace("*", " ").replace("`", " ").split() if w.isalpha()][:3]
    problems = list(c.errors)
    if c.stack: problems.append(f"left open: {c.stack}")
    if not out.startswith("<!-- meridian:"): problems.append("the marker is not a comment")
    if any(w not in c.last_outside for w in words): problems.append(f"last line {last!r} not outside code: {c.last_outside!r}")
    for p in problems:
        bad += 1
        print(f, p)
sys.exit(1 if bad else 0)
"#;
    let o = Command::new(&python)
        .arg("-c")
        .arg(script)
        .args(files)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
}

/// A repository shaped like a user's: topologies at depths 1, 2 and 3, a Terraform module with
/// its lock file, a Terragrunt file and a Packer template, a gitignored build directory and a
/// `.terraform` directory. `validate` and `fmt --check` over the root find exactly the
/// topologies (before: "× . holds no .hcl files", and the lock file read as a topology) and
/// name what they skipped.
/// Builds the repository [`validate_and_fmt_find_topologies_at_any_depth`] describes under a
/// fresh temporary directory named after `tag`.
fn user_repo(tag: &str) -> std::path::PathBuf {
    let root = std::env::temp_dir().join(format!("meridian-repo-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let topology = std::fs::read_to_string("examples/active-passive/main.hcl").unwrap();
    let put = |rel: &str, text: &str| {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    put("shop/main.hcl", &topology);
    put("infra/prod/main.hcl", &topology);
    put("infra/staging/eu/main.hcl", &topology);
    put("network/main.tf", "resource \"aws_vpc\" \"main\" {}\n");
    put(
        "network/.terraform.lock.hcl",
        "provider \"registry.terraform.io/hashicorp/aws\" {\n  version = \"5.0.0\"\n}\n",
    );
    put("network/.terraform/modules/x/main.hcl", "broken {{{\n");
    put(
        "live/terragrunt.hcl",
        "terraform {\n  source = \"../modules\"\n}\n",
    );
    put(
        "images/base.pkr.hcl",
        "source \"amazon-ebs\" \"base\" {\n}\n",
    );
    put("images/variables.pkrvars.hcl", "region = \"us-east-1\"\n");
    put(
        "images/locals.hcl",
        "locals {\n  region = \"us-east-1\"\n}\n",
    );
    put("build/out/main.hcl", "broken {{{\n");
    put(".gitignore", "build/\n");
    root
}

#[test]
fn validate_and_fmt_find_topologies_at_any_depth() {
    let root = user_repo("validate");
    let put = |rel: &str, text: &str| std::fs::write(root.join(rel), text).unwrap();
    let r = root.to_str().unwrap();
    let o = meridian(&["validate", r]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let out = stdout(&o);
    for t in ["shop", "infra/prod", "infra/staging/eu"] {
        assert!(
            out.contains(&format!("{}: valid", root.join(t).display())),
            "{t}: {out}"
        );
    }
    assert_eq!(
        out.lines().filter(|l| l.contains(": valid")).count(),
        3,
        "{out}"
    );
    let err = stderr(&o);
    assert!(
        err.contains(&format!("skipped {}", root.join("images").display())),
        "{err}"
    );
    assert!(
        err.contains(&format!("skipped {}", root.join("live").display())),
        "{err}"
    );
    assert!(
        err.contains(&format!("skipped {}", root.join("network").display())),
        "{err}"
    );
    let o = meridian(&["fmt", "--check", r]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    // An empty .hcl inside a topology directory is never skipped: it is part of the topology.
    put("shop/empty.hcl", "");
    let o = meridian(&["validate", r]);
    assert!(stdout(&o).contains(&format!("{}: valid", root.join("shop").display())));
    // -q: no notes.
    let o = meridian(&["-q", "validate", r]);
    assert!(!stderr(&o).contains("skipped"), "{}", stderr(&o));
    // Nor is an unparsable one: the topology is invalid, the others still validated.
    put("shop/broken.hcl", "service {{{\n");
    let o = meridian(&["validate", r]);
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains(&format!("{}: invalid", root.join("shop").display())));
    assert_eq!(stdout(&o).matches(": valid").count(), 2, "{}", stdout(&o));
    let _ = std::fs::remove_dir_all(&root);
}

/// `lint`, `check`, `plan` and the other read-only commands over the same repository: each
/// topology reported under its path, the exit code the worst of theirs (an error over a failed
/// gate over changes), one SARIF or JSON document for all; an output that describes one
/// topology is refused naming them, and so are the commands that take exactly one.
#[test]
fn read_only_commands_run_over_a_tree_with_the_worst_exit() {
    let root = user_repo("tree");
    let r = root.to_str().unwrap();
    let found = ["infra/prod", "infra/staging/eu", "shop"].map(|t| root.join(t));
    let headed = |o: &std::process::Output| {
        found
            .iter()
            .all(|t| stdout(o).contains(&format!("==> {} <==", t.display())))
    };
    for cmd in [
        &["lint", r][..],
        &["check", r],
        &["analyze", r],
        &["simulate", r, "--all"],
    ] {
        let o = meridian(cmd);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{cmd:?}: {}{}",
            stdout(&o),
            stderr(&o)
        );
        assert!(headed(&o), "{cmd:?}: {}", stdout(&o));
        assert!(stderr(&o).contains("3 topologies under"), "{}", stderr(&o));
    }
    let o = meridian(&["plan", r, "--live", "local", "--detailed-exitcode"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(headed(&o) && stdout(&o).matches("Plan: 8 to add").count() == 3);
    // SARIF: one run, a result from each topology's file.
    let o = meridian(&["lint", r, "--format", "sarif"]);
    let sarif: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert_eq!(sarif["runs"].as_array().unwrap().len(), 1);
    assert_eq!(results.len(), 3, "{sarif:#}");
    // One topology that fails its gate: check exits 3; an invalid one makes it 1.
    let shop = root.join("shop/main.hcl");
    let text = std::fs::read_to_string(&shop).unwrap();
    std::fs::write(
        &shop,
        text.replace("rto          = \"15m\"", "rto          = \"1m\""),
    )
    .unwrap();
    let o = meridian(&["check", r]);
    assert_eq!(o.status.code(), Some(3), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("shop gate failed (exit 3)"),
        "{}",
        stderr(&o)
    );
    let o = meridian(&["check", r, "--format", "markdown"]);
    assert_eq!(o.status.code(), Some(3));
    let md = stdout(&o);
    assert!(
        md.starts_with("<!-- meridian:check -->\n**Meridian check of 3 topologies**"),
        "{md}"
    );
    assert_eq!(md.matches("<!-- meridian:").count(), 1, "{md}");
    assert!(
        md.contains(&format!("- `{}`: **failed**", root.join("shop").display())),
        "{md}"
    );
    std::fs::write(root.join("infra/prod/main.hcl"), "service {{{\n").unwrap();
    let o = meridian(&["check", r]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(stdout(&o).contains(&format!("==> {} <==", found[1].display())));
    // Outputs about one topology, and commands that take one, name what they found.
    for cmd in [
        &["plan", r, "--format", "json"][..],
        &["plan", r, "--out", "plan.json"],
        &["analyze", r, "--format", "json"],
        &["iam-policy", r],
        &["alerts", r],
        &["apply", r, "--auto-approve", "--live", "local"],
        &["destroy", r, "--auto-approve", "--live", "local"],
    ] {
        let o = meridian(cmd);
        assert_eq!(o.status.code(), Some(1), "{cmd:?}: {}", stdout(&o));
        let err = stderr(&o);
        assert!(
            found.iter().all(|t| err.contains(&t.display().to_string())),
            "{cmd:?}: {err}"
        );
    }
    assert!(!root.join("infra/staging/eu/.meridian/state.json").exists());
    let _ = std::fs::remove_dir_all(&root);
}

/// `git` in `dir`, as a test's own user, never a hook or config of the machine's.
fn git(dir: &Path, args: &[&str]) {
    let o = Command::new("git")
        .args(["-c", "user.name=test", "-c", "user.email=test@example.com"])
        .args([
            "-c",
            "commit.gpgsign=false",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .expect("git runs");
    assert!(o.status.success(), "git {args:?}: {}", stderr(&o));
}

/// The hooks of `.pre-commit-hooks.yaml`, run by the pinned pre-commit (`try-repo`, as a user
/// tries them) on the repository of [`user_repo`]: both pass with Terraform's lock file,
/// Terragrunt and Packer beside the topologies; an unformatted or broken topology at depth 3
/// fails them.
#[test]
fn pre_commit_hooks_pass_at_any_depth() {
    let python = provision::pre_commit_python().unwrap_or_else(|e| panic!("{e}"));
    let root = user_repo("pre-commit");
    let hooks = root.with_extension("hooks");
    let _ = std::fs::remove_dir_all(&hooks);
    std::fs::create_dir_all(&hooks).unwrap();
    std::fs::copy(
        ".pre-commit-hooks.yaml",
        hooks.join(".pre-commit-hooks.yaml"),
    )
    .unwrap();
    git(&hooks, &["init", "-q"]);
    git(&hooks, &["add", "-A"]);
    git(&hooks, &["commit", "-qm", "hooks"]);
    git(&root, &["init", "-q"]);
    let bin = Path::new(env!("CARGO_BIN_EXE_meridian")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let home = root.with_extension("pre-commit-home");
    let run = || {
        git(&root, &["add", "-A"]);
        let o = Command::new(&python)
            .args(["-m", "pre_commit", "try-repo"])
            .arg(&hooks)
            .arg("--all-files")
            .current_dir(&root)
            .env("PATH", &path)
            .env("PRE_COMMIT_HOME", &home)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .output()
            .expect("pre-commit runs");
        (o.status.code(), stdout(&o))
    };
    let (code, out) = run();
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("meridian fmt --check....") && out.contains("Passed"),
        "{out}"
    );
    let deep = root.join("infra/staging/eu/main.hcl");
    let text = std::fs::read_to_string(&deep).unwrap();
    std::fs::write(&deep, text.replacen("rto          =", "rto =", 1)).unwrap();
    let (code, out) = run();
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("infra/staging/eu/main.hcl"), "{out}");
    std::fs::write(&deep, "service {{{\n").unwrap();
    let (code, out) = run();
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("infra/staging/eu: invalid"), "{out}");
    for d in [&root, &hooks, &home] {
        let _ = std::fs::remove_dir_all(d);
    }
}

/// A man page per command and subcommand (`meridian man --dir`), each one every page refers to,
/// all clean under the pinned `mandoc -Tlint` (no message at any level, style included), and
/// `meridian man plan` prints the page `--dir` writes.
#[test]
fn man_pages_one_per_command_clean_under_mandoc_lint() {
    let mandoc = provision::mandoc().unwrap_or_else(|e| panic!("{e}"));
    let dir = std::env::temp_dir().join(format!("meridian-man-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let o = meridian(&["man", "--dir", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let mut pages: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    pages.sort();
    let help = stdout(&meridian(&["--help"]));
    for cmd in help
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter(|l| !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
    {
        assert!(
            pages.contains(&format!("meridian-{cmd}.1")),
            "no page for {cmd}: {pages:?}"
        );
    }
    for sub in ["list", "show", "rm"] {
        assert!(
            pages.contains(&format!("meridian-state-{sub}.1")),
            "{pages:?}"
        );
    }
    for page in &pages {
        let text = std::fs::read_to_string(dir.join(page)).unwrap();
        for r in text
            .split("(1)")
            .filter_map(|p| p.rsplit(['\n', ' ']).next())
        {
            if let Some(name) = r.strip_prefix("meridian\\-") {
                let file = format!("meridian-{}.1", name.replace("\\-", "-"));
                assert!(pages.contains(&file), "{page} cites {r}(1), not written");
            }
        }
        let o = Command::new(&mandoc)
            .arg("-Tlint")
            .arg(dir.join(page))
            .output()
            .unwrap();
        assert!(
            o.status.success() && o.stdout.is_empty() && o.stderr.is_empty(),
            "{page}: {}{}",
            stdout(&o),
            stderr(&o)
        );
    }
    let one = stdout(&meridian(&["man", "plan"]));
    assert_eq!(
        one,
        std::fs::read_to_string(dir.join("meridian-plan.1")).unwrap()
    );
    assert!(one.contains(".SH EXAMPLES"), "{one}");
    assert_eq!(meridian(&["man", "nope"]).status.code(), Some(1));
    let _ = std::fs::remove_dir_all(&dir);
}

/// `-q` keeps stderr to errors on every command: each command of `--help`, run to success on
/// a topology with warnings and notes to give (a tree of them, a saved plan, a shift), writes
/// nothing on stderr. (Before: `plan --out` said where it saved the plan.)
#[test]
fn quiet_keeps_stderr_to_errors_on_every_command() {
    let dir = std::env::temp_dir().join(format!("meridian-q-every-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("api")).unwrap();
    let weighted = r#"service "api" {
  zone    = "example.com"
  domain  = "api.example.com"
  routing = "weighted"

  health_check {
    type = "HTTPS"
    path = "/healthz"
  }

  region "us-east-1" {
    target = "api-use1.example.com"
    weight = 100
  }

  region "eu-west-1" {
    target = "api-euw1.example.com"
    weight = 100
  }
}
"#;
    std::fs::write(dir.join("api/main.hcl"), weighted).unwrap();
    let d = |rel: &str| dir.join(rel).to_str().unwrap().to_string();
    let (api, plan, man) = (d("api"), d("plan.json"), d("man"));
    let store = d("api/.meridian/state.json");
    let runs: Vec<Vec<&str>> = vec![
        vec!["validate", "examples"],
        vec!["fmt", "--check", "examples"],
        vec!["graph", "examples"],
        vec!["analyze", "examples"],
        vec!["check", "examples"],
        vec![
            "compare",
            "examples/active-passive",
            "examples/active-active-anycast",
        ],
        vec!["lint", "examples"],
        vec!["simulate", "examples/active-passive", "--all"],
        vec!["alerts", "examples/active-passive"],
        vec!["iam-policy", "examples/active-passive"],
        vec!["plan", &api, "--out", &plan],
        vec!["show", &plan],
        vec!["apply", &plan, "--auto-approve"],
        vec!["init", &api],
        vec!["state", "list", &api],
        vec![
            "shift",
            "api",
            &api,
            "--region",
            "us-east-1",
            "--to",
            "50",
            "--over",
            "0s",
            "--auto-approve",
        ],
        vec!["shift", "api", &api, "--release", "--auto-approve"],
        vec!["apply", &api, "--auto-approve"],
        vec![
            "import",
            "--zone",
            "example.com",
            "--live",
            "local",
            "--state",
            &store,
        ],
        vec!["destroy", &api, "--auto-approve"],
        vec!["schema"],
        vec!["completions", "bash"],
        vec!["man", "--dir", &man],
    ];
    for run in &runs {
        let mut args = vec!["-q"];
        args.extend(run.iter().copied());
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_meridian"));
        let o = cmd.args(&args).env_remove("NO_COLOR").output().unwrap();
        assert_eq!(o.status.code(), Some(0), "{run:?}: {}", stderr(&o));
        assert_eq!(stderr(&o), "", "{run:?}");
    }
    // Every command of --help was run, but those that only report a failure or need one.
    let help = stdout(&meridian(&["--help"]));
    let ran: std::collections::BTreeSet<&str> = runs.iter().map(|r| r[0]).collect();
    for cmd in help
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter(|l| !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
    {
        assert!(
            ran.contains(cmd) || ["help", "force-unlock"].contains(&cmd),
            "-q is not tried on {cmd}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A policy written for Terraform plans runs on Meridian's saved plans: checkov's
/// `terraform_plan` framework (pinned from PyPI, offline) with a custom check on
/// `aws_route53_health_check`'s `failure_threshold` and `request_interval` passes the example's
/// checks (3 x 10 s) and fails them at 10 x 30 s, naming each by its Terraform address, as it
/// would for Terraform. (Before: checkov loaded the plan and saw 0 resources.)
#[test]
fn checkov_runs_a_terraform_policy_on_saved_plans() {
    let python = provision::checkov_python().unwrap_or_else(|e| panic!("{e}"));
    let dir = std::env::temp_dir().join(format!("meridian-checkov-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let checks = dir.join("checks");
    std::fs::create_dir_all(&checks).unwrap();
    std::fs::write(checks.join("__init__.py"), "").unwrap();
    std::fs::write(
        checks.join("detection_window.py"),
        r#"from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck


class DetectionWindow(BaseResourceCheck):
    def __init__(self):
        super().__init__(
            name="failure_threshold * request_interval is at most 60 s",
            id="CKV_MERIDIAN_1",
            categories=[CheckCategories.GENERAL_SECURITY],
            supported_resources=["aws_route53_health_check"],
        )

    def scan_resource_conf(self, conf):
        threshold = conf.get("failure_threshold", [3])[0]
        interval = conf.get("request_interval", [30])[0]
        return CheckResult.PASSED if threshold * interval <= 60 else CheckResult.FAILED


check = DetectionWindow()
"#,
    )
    .unwrap();
    let topology = dir.join("billing");
    std::fs::create_dir_all(&topology).unwrap();
    let text = std::fs::read_to_string("examples/active-passive/main.hcl").unwrap();
    let slow = text
        .replace("interval          = 10", "interval          = 30")
        .replace("failure_threshold = 3", "failure_threshold = 10");
    assert_ne!(slow, text);
    let mut outcomes = Vec::new();
    for (name, hcl) in [("fast", &text), ("slow", &slow)] {
        std::fs::write(topology.join("main.hcl"), hcl).unwrap();
        let plan = dir.join(format!("{name}.json"));
        let t = topology.to_str().unwrap();
        let o = meridian(&[
            "plan",
            t,
            "--live",
            "local",
            "--out",
            plan.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let o = Command::new(&python)
            .args([
                "-m",
                "checkov.main",
                "--framework",
                "terraform_plan",
                "-o",
                "json",
            ])
            .args(["--check", "CKV_MERIDIAN_1", "--skip-download", "-f"])
            .arg(&plan)
            .arg("--external-checks-dir")
            .arg(&checks)
            .env("BC_SKIP_MAPPING", "TRUE")
            .env("CKV_SKIP_PACKAGE_UPDATE_CHECK", "true")
            .env("XDG_CACHE_HOME", dir.join("cache"))
            .env("HOME", &dir)
            .output()
            .unwrap();
        let report: serde_json::Value = serde_json::from_slice(&o.stdout)
            .unwrap_or_else(|e| panic!("{name}: {e}: {}{}", stdout(&o), stderr(&o)));
        let results = &report["results"];
        assert!(
            results.is_object(),
            "{name}: checkov saw nothing: {report:#}"
        );
        let names = |key: &str| -> Vec<String> {
            results[key]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["resource"].as_str().unwrap().to_string())
                .collect()
        };
        outcomes.push((
            name,
            o.status.code(),
            names("passed_checks"),
            names("failed_checks"),
        ));
    }
    let both = vec![
        "aws_route53_health_check.billing[\"eu-west-1\"]".to_string(),
        "aws_route53_health_check.billing[\"us-east-1\"]".to_string(),
    ];
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    let (_, code, passed, failed) = outcomes[0].clone();
    assert_eq!(
        (code, sorted(passed), failed.len()),
        (Some(0), both.clone(), 0)
    );
    let (_, code, passed, failed) = outcomes[1].clone();
    assert_eq!((code, passed.len(), sorted(failed)), (Some(1), 0, both));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Variables: one topology for staging and prod. Values from the environment, a variables
/// file and `--var` (Terraform's `-var`), each overriding the one before; a saved plan records
/// the values and its apply uses them without being given any; every mistake is a coded
/// diagnostic pointing at the value as given.
#[test]
fn variables_give_one_topology_its_environments() {
    let dir = std::env::temp_dir().join(format!("meridian-vars-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("api")).unwrap();
    let topology = r#"variable "environment" {
  description = "staging or prod"
}

variable "ttl" {
  type    = "number"
  default = 60
}

service "api" {
  zone    = "example.com"
  domain  = "api-${var.environment}.example.com"
  routing = "latency"
  ttl     = var.ttl

  health_check {
    type = "HTTPS"
    path = "/healthz"
  }

  region "us-east-1" {
    target = "use1-${var.environment}.example.com"
  }

  region "eu-west-1" {
    target = "euw1-${var.environment}.example.com"
  }
}
"#;
    std::fs::write(dir.join("api/main.hcl"), topology).unwrap();
    std::fs::write(
        dir.join("prod.vars.hcl"),
        "environment = \"prod\"\nttl = 30\nunused = 1\n",
    )
    .unwrap();
    let d = |rel: &str| dir.join(rel).to_str().unwrap().to_string();
    let (api, vars, plan) = (d("api"), d("prod.vars.hcl"), d("plan.json"));
    let run = |args: &[&str], env: &[(&str, &str)]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_meridian"));
        c.args(args).env_remove("NO_COLOR");
        for (k, v) in env {
            c.env(k, v);
        }
        c.output().unwrap()
    };
    let domain = |o: &Output| -> String {
        let doc: serde_json::Value =
            serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", stderr(o)));
        let rc = doc["resource_changes"].as_array().unwrap();
        let r = rc.iter().find(|c| c["meridian_type"] == "record").unwrap();
        format!(
            "{} ttl {}",
            r["change"]["after"]["name"].as_str().unwrap(),
            r["change"]["after"]["ttl"]
        )
    };
    let plan_json = ["plan", &api, "--live", "local", "--format", "json"];
    // The environment, then the file over it, then --var over both.
    let env = [
        ("MERIDIAN_VAR_environment", "staging"),
        ("MERIDIAN_VAR_other", "x"),
    ];
    assert_eq!(
        domain(&run(&plan_json, &env)),
        "api-staging.example.com ttl 60"
    );
    let with_file = [&plan_json[..], &["--var-file", &vars]].concat();
    let o = run(&with_file, &env);
    assert_eq!(domain(&o), "api-prod.example.com ttl 30");
    assert!(
        stderr(&o).contains("meridian::unknown_variable"),
        "{}",
        stderr(&o)
    );
    let with_var = [&with_file[..], &["-var", "environment=qa"]].concat();
    assert_eq!(domain(&run(&with_var, &env)), "api-qa.example.com ttl 30");
    // A saved plan keeps its values: applied with none given, it makes prod's records.
    let o = run(
        &[
            "plan",
            &api,
            "--live",
            "local",
            "--var-file",
            &vars,
            "--out",
            &plan,
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&plan).unwrap()).unwrap();
    assert_eq!(
        saved["variables"],
        serde_json::json!({"environment": "prod", "ttl": 30})
    );
    let o = run(
        &["apply", &plan],
        &[("MERIDIAN_VAR_environment", "staging")],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let state = std::fs::read_to_string(dir.join("api/.meridian/state.json")).unwrap();
    assert!(state.contains("api-prod.example.com") && !state.contains("staging"));
    // Every mistake, coded, at the value as given.
    for (args, code, at) in [
        (
            &["validate", &api][..],
            "meridian::missing_variable",
            "main.hcl:1:1",
        ),
        (
            &[
                "validate",
                &api,
                "--var",
                "environment=x",
                "--var",
                "ttl=soon",
            ],
            "meridian::variable_type",
            "<command line>:2:11",
        ),
        (
            &[
                "validate",
                &api,
                "--var",
                "environment=x",
                "--var",
                "nope=1",
            ],
            "meridian::unknown_variable",
            "<command line>:2:12",
        ),
        (
            &["validate", &api, "--var", "environment"],
            "meridian::variable_syntax",
            "<command line>:1:1",
        ),
    ] {
        let o = run(args, &[]);
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        let err = stderr(&o);
        assert!(err.contains(code) && err.contains(at), "{args:?}: {err}");
    }
    // No variables where identity, state and credentials are decided.
    for (line, place) in [
        ("name = var.environment\n", "`name`"),
        (
            "provider \"aws\" {\n  region = var.environment\n}\n",
            "`provider`",
        ),
    ] {
        std::fs::write(dir.join("api/extra.hcl"), line).unwrap();
        let o = run(&["validate", &api, "--var", "environment=prod"], &[]);
        assert_eq!(o.status.code(), Some(1));
        let err = stderr(&o);
        assert!(
            err.contains("meridian::variable_not_allowed") && err.contains(place),
            "{err}"
        );
    }
    std::fs::remove_file(dir.join("api/extra.hcl")).unwrap();
    // A number is finite; the environment's bad value is no error when --var overrides it;
    // environment names that are no variable's are not read.
    let o = run(
        &[
            "validate",
            &api,
            "--var",
            "environment=x",
            "--var",
            "ttl=inf",
        ],
        &[],
    );
    assert!(
        stderr(&o).contains("meridian::variable_type"),
        "{}",
        stderr(&o)
    );
    let env = [("MERIDIAN_VAR_ttl", "soon"), ("MERIDIAN_VAR_a\"b", "x")];
    let o = run(
        &[
            "validate",
            &api,
            "--var",
            "environment=x",
            "--var",
            "ttl=30",
        ],
        &env,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = run(&["validate", &api, "--var", "environment=x"], &env);
    assert!(stderr(&o).contains("MERIDIAN_VAR_ttl") && stderr(&o).contains("variable_type"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Discovery as a stranger's repository needs it (each case found by a review): a topology
/// directory with a topology below it is that one topology (`plan --out` works); a symlinked
/// `.hcl` file is read through; Terragrunt's `root.hcl` (a heredoc holding Terraform in
/// column 0) and a Nomad jobspec (`variable` and `job`) are another tool's; a `.gitignore`
/// above a git repository's root ignores nothing in it.
#[test]
fn discovery_handles_nesting_symlinks_heredocs_and_foreign_ignores() {
    let root = std::env::temp_dir().join(format!("meridian-discovery-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let topology = std::fs::read_to_string("examples/active-passive/main.hcl").unwrap();
    let put = |rel: &str, text: &str| {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    put("repo/infra/main.hcl", &topology);
    put("repo/infra/canary/main.hcl", &topology);
    put("repo/shared/topology.hcl", &topology);
    std::fs::create_dir_all(root.join("repo/envs/prod")).unwrap();
    std::os::unix::fs::symlink(
        "../../shared/topology.hcl",
        root.join("repo/envs/prod/main.hcl"),
    )
    .unwrap();
    put(
        "repo/live/root.hcl",
        "# Terragrunt's root (<<EOF heredocs below)\nremote_state \"s3\" {\n  backend = \"s3\"\n}\n\ngenerate \"provider\" {\n  path     = \"provider.tf\"\n  contents = <<EOF\nprovider \"aws\" {\n  region = \"us-east-1\"\n}\nEOF\n}\n",
    );
    put(
        "repo/jobs/web.hcl",
        "variable \"image\" {\n  default = \"web\"\n}\n\njob \"web\" {\n}\n",
    );
    put(".gitignore", "*\n!.gitignore\n");
    // Variables alone at the repository's root make it no topology that hides the others.
    put(
        "repo/variables.hcl",
        "variable \"region\" {\n  default = \"us-east-1\"\n}\n",
    );
    git(&root.join("repo"), &["init", "-q"]);
    let r = |rel: &str| root.join(rel).to_str().unwrap().to_string();
    // The named topology is itself, nothing below it.
    let o = meridian(&["validate", &r("repo/infra")]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o).lines().count(), 1, "{}", stdout(&o));
    let out = r("p.json");
    let o = meridian(&["plan", &r("repo/infra"), "--live", "local", "--out", &out]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // From the repository's root: infra, its canary, the symlinked prod; not live/ nor jobs/.
    let o = meridian(&["validate", &r("repo")]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let listed = stdout(&o);
    let found: Vec<&str> = listed.lines().collect();
    assert_eq!(found.len(), 4, "{found:?}"); // infra, infra/canary, envs/prod, shared
    assert!(stdout(&o).contains("envs/prod: valid"), "{}", stdout(&o));
    for skipped in ["live", "jobs"] {
        assert!(stderr(&o).contains(&format!("skipped {}", r(&format!("repo/{skipped}")))));
    }
    let o = meridian(&["fmt", "--check", &r("repo")]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let _ = std::fs::remove_dir_all(&root);
}

/// The distribution's pull-request comment as GitHub renders it, whole and cut: 60 services
/// (folded past 10), every structure closed, the summary line kept when cut.
#[test]
fn the_distribution_comment_renders_like_github_whole_and_cut() {
    let dir = std::env::temp_dir().join(format!("meridian-dist-md-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut hcl = String::from("objectives {\n  rto = \"80s\"\n}\n");
    for i in 0..60 {
        hcl.push_str(&format!("service \"s{i:02}\" {{\n  zone = \"example.com\"\n  domain = \"s{i:02}.example.com\"\n  routing = \"latency\"\n  stateless = true\n  health_check {{\n    type = \"HTTPS\"\n    path = \"/\"\n  }}\n  region \"us-east-1\" {{\n    target = \"a{i}.example.net\"\n  }}\n  region \"eu-west-1\" {{\n    target = \"b{i}.example.net\"\n  }}\n}}\n"));
    }
    let f = dir.join("main.hcl");
    std::fs::write(&f, hcl).unwrap();
    let f = f.to_str().unwrap();
    let mut rendered = Vec::new();
    for (name, limit) in [("whole", "0"), ("cut", "3000")] {
        let o = meridian(&[
            "analyze",
            f,
            "--distribution",
            "--format",
            "markdown",
            "--max-chars",
            limit,
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let md = stdout(&o);
        assert!(md.contains("**60 service(s); slowest P99"), "{md}");
        assert!(
            md.contains("<details><summary>Every service's losses (60)</summary>"),
            "{md}"
        );
        if name == "cut" {
            assert!(
                md.chars().count() <= 3000 && md.contains("Cut to fit a comment"),
                "{md}"
            );
        }
        let file = dir.join(format!("{name}.md"));
        std::fs::write(&file, md).unwrap();
        rendered.push(file.to_str().unwrap().to_string());
    }
    renders_like_github(&rendered);
    let _ = std::fs::remove_dir_all(&dir);
}
