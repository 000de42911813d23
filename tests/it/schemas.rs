//! The JSON documents Meridian prints match the schemas published in `schemas/`.
//!
//! A small validator for the subset of JSON Schema those files use ($ref, oneOf, type, const,
//! enum, properties, required, additionalProperties, items, minimum), so the schemas cannot drift
//! from the output without a test failing.

// Tests and benchmarks may unwrap (a panic is a failure) and run long: the lints in
// Cargo.toml are for src/.
#![allow(clippy::unwrap_used, clippy::too_many_lines)]

use serde_json::Value;
use std::process::Command;

fn validate(schema: &Value, root: &Value, v: &Value, path: &str, errors: &mut Vec<String>) {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let name = r.trim_start_matches("#/$defs/");
        return validate(&root["$defs"][name], root, v, path, errors);
    }
    if let Some(branches) = schema.get("oneOf").and_then(Value::as_array) {
        let matching = branches
            .iter()
            .filter(|b| {
                let mut e = Vec::new();
                validate(b, root, v, path, &mut e);
                e.is_empty()
            })
            .count();
        if matching != 1 {
            errors.push(format!(
                "{path}: {v} matches {matching} of the oneOf branches"
            ));
        }
        return;
    }
    if let Some(c) = schema.get("const") {
        if c != v {
            errors.push(format!("{path}: {v} is not {c}"));
        }
    }
    if let Some(e) = schema.get("enum").and_then(Value::as_array) {
        if !e.contains(v) {
            errors.push(format!("{path}: {v} not in {e:?}"));
        }
    }
    if let Some(t) = schema.get("type") {
        let types: Vec<&str> = match t {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        let ok = types.iter().any(|t| match *t {
            "string" => v.is_string(),
            "number" => v.is_number(),
            "integer" => v.is_i64() || v.is_u64(),
            "boolean" => v.is_boolean(),
            "object" => v.is_object(),
            "array" => v.is_array(),
            "null" => v.is_null(),
            _ => false,
        });
        if !ok {
            errors.push(format!("{path}: {v} is not of type {types:?}"));
            return;
        }
    }
    if let (Some(min), Some(n)) = (schema.get("minimum").and_then(Value::as_f64), v.as_f64()) {
        if n < min {
            errors.push(format!("{path}: {n} < {min}"));
        }
    }
    if let Some(obj) = v.as_object() {
        let props = schema.get("properties").and_then(Value::as_object);
        for r in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let r = r.as_str().unwrap_or_default();
            if !obj.contains_key(r) {
                errors.push(format!("{path}: missing required `{r}`"));
            }
        }
        for (k, x) in obj {
            let p = format!("{path}.{k}");
            match props.and_then(|p| p.get(k)) {
                Some(s) => validate(s, root, x, &p, errors),
                None => match schema.get("additionalProperties") {
                    Some(Value::Bool(false)) => errors.push(format!("{p}: not in the schema")),
                    Some(s @ Value::Object(_)) => validate(s, root, x, &p, errors),
                    _ => {}
                },
            }
        }
    }
    if let (Some(items), Some(arr)) = (schema.get("items"), v.as_array()) {
        for (i, x) in arr.iter().enumerate() {
            validate(items, root, x, &format!("{path}[{i}]"), errors);
        }
    }
}

fn check(schema_file: &str, args: &[&str]) {
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(schema_file).unwrap()).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_meridian"))
        .args(args)
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", String::from_utf8_lossy(&o.stderr)));
    let mut errors = Vec::new();
    validate(&schema, &schema, &doc, "$", &mut errors);
    assert!(
        errors.is_empty(),
        "{args:?} does not match {schema_file}:\n{}",
        errors.join("\n")
    );
}

#[test]
fn analysis_json_matches_its_schema() {
    for e in [
        "active-passive",
        "active-active-partitioned",
        "active-active-anycast",
    ] {
        check(
            "schemas/analysis.schema.json",
            &["analyze", &format!("examples/{e}"), "--format", "json"],
        );
    }
    // Unknown floors, missing cost inputs and warnings take the other branches.
    check(
        "schemas/analysis.schema.json",
        &[
            "analyze",
            "tests/fixtures/lint/SS003.hcl",
            "--format",
            "json",
        ],
    );
}

#[test]
fn lint_json_matches_its_schema() {
    for file in ["SS000", "SS000_clean", "SS001", "SS004", "SS009"] {
        check(
            "schemas/lint.schema.json",
            &[
                "lint",
                &format!("tests/fixtures/lint/{file}.hcl"),
                "--format",
                "json",
            ],
        );
    }
    check(
        "schemas/lint.schema.json",
        &["lint", "examples/active-passive", "--format", "json"],
    );
    // `check` embeds the same document.
    let o = Command::new(env!("CARGO_BIN_EXE_meridian"))
        .args(["check", "tests/fixtures/lint/SS001.hcl", "--format", "json"])
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string("schemas/lint.schema.json").unwrap())
            .unwrap();
    let mut errors = Vec::new();
    validate(&schema, &schema, &doc["lint"], "$.lint", &mut errors);
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    assert_eq!(doc["lint"]["denied"], 3);
}

#[test]
fn compare_json_matches_its_schema() {
    check(
        "schemas/compare.schema.json",
        &[
            "compare",
            "examples/active-passive",
            "examples/active-active-partitioned",
            "examples/active-active-anycast",
            "tests/fixtures/lint/SS003.hcl",
            "--format",
            "json",
        ],
    );
}

/// The validator itself rejects what it should, so the tests above can fail.
#[test]
fn the_validator_rejects_mismatches() {
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string("schemas/compare.schema.json").unwrap())
            .unwrap();
    for bad in [
        serde_json::json!({"format_version": 1, "designs": [], "fastest": null, "cheapest": null}),
        serde_json::json!({"format_version": 2, "designs": [], "fastest": null}),
        serde_json::json!({"format_version": 2, "designs": [{}], "fastest": null, "cheapest": null}),
        serde_json::json!({"format_version": 2, "designs": [], "fastest": 3, "cheapest": null, "x": 1}),
    ] {
        let mut errors = Vec::new();
        validate(&schema, &schema, &bad, "$", &mut errors);
        assert!(!errors.is_empty(), "{bad} passed");
    }
}

#[test]
fn plan_json_matches_its_schema() {
    let dir = std::env::temp_dir().join(format!("meridian-schema-plan-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for f in std::fs::read_dir("examples/active-active-partitioned").unwrap() {
        let f = f.unwrap().path();
        std::fs::copy(&f, dir.join(f.file_name().unwrap())).unwrap();
    }
    let path = dir.to_str().unwrap();
    let state = dir.join("state.json");
    let state = state.to_str().unwrap();
    let run = |args: &[&str]| {
        let o = Command::new(env!("CARGO_BIN_EXE_meridian"))
            .args(args)
            .output()
            .unwrap();
        assert!(
            o.status.code().is_some_and(|c| c == 0 || c == 2),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    };
    // All creates, then after an edit: replace, update and delete, and a saved plan.
    check(
        "schemas/plan.schema.json",
        &["plan", path, "--state", state, "--format", "json"],
    );
    run(&["apply", path, "--state", state, "--auto-approve"]);
    let main = dir.join("main.hcl");
    let text = std::fs::read_to_string(&main).unwrap();
    let start = text.find("  region \"ap-southeast-1\"").unwrap();
    let end = start + text[start..].find("\n  }\n").unwrap() + 5;
    let edited = format!("{}{}", &text[..start], &text[end..])
        .replace("interval          = 10", "interval          = 30");
    std::fs::write(&main, edited).unwrap();
    check(
        "schemas/plan.schema.json",
        &["plan", path, "--state", state, "--format", "json"],
    );
    let out = dir.join("plan.json");
    run(&[
        "plan",
        path,
        "--state",
        state,
        "--out",
        out.to_str().unwrap(),
    ]);
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string("schemas/plan.schema.json").unwrap())
            .unwrap();
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let mut errors = Vec::new();
    validate(&schema, &schema, &saved, "$", &mut errors);
    assert!(errors.is_empty(), "saved plan: {}", errors.join("\n"));
    assert!(
        saved["live_source"]["kind"] == "local"
            && saved["prior_state"]["records"]
                .as_array()
                .is_some_and(|r| !r.is_empty())
    );
}

/// The manifest a first apply, an init and a destroy write matches its schema.
#[test]
fn manifest_matches_its_schema() {
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string("schemas/manifest.schema.json").unwrap())
            .unwrap();
    let dir = std::env::temp_dir().join(format!("meridian-schema-manifest-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for f in std::fs::read_dir("examples/active-passive").unwrap() {
        let f = f.unwrap().path();
        std::fs::copy(&f, dir.join(f.file_name().unwrap())).unwrap();
    }
    let path = dir.to_str().unwrap();
    let manifest = dir.join(".meridian/manifest.json");
    let check_file = || {
        let doc: Value =
            serde_json::from_str(&std::fs::read_to_string(&manifest).unwrap()).unwrap();
        let mut errors = Vec::new();
        validate(&schema, &schema, &doc, "$", &mut errors);
        assert!(errors.is_empty(), "{}", errors.join("\n"));
        doc
    };
    for args in [
        vec!["init", path],
        vec!["apply", path, "--auto-approve"],
        vec!["destroy", path, "--auto-approve"],
    ] {
        let o = Command::new(env!("CARGO_BIN_EXE_meridian"))
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(
            o.status.code(),
            Some(0),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        check_file();
    }
    let doc = check_file();
    assert_eq!(doc["serial"], 3);
    assert_eq!(doc["history"].as_array().unwrap().len(), 3);
    assert_eq!(
        doc["adopted_name"],
        "meridian-schema-manifest-".to_string() + &std::process::id().to_string()
    );
    assert_eq!(doc["services"], serde_json::json!([]));
    // An apply that dies midway leaves its journal: the manifest and the next plan (whose
    // identity carries it) still match their schemas.
    let o = Command::new(env!("CARGO_BIN_EXE_meridian"))
        .args(["apply", path, "--auto-approve"])
        .env("MERIDIAN_FAULT_EXIT_AFTER", "1")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(137));
    assert!(check_file()["unfinished"].is_object());
    let o = Command::new(env!("CARGO_BIN_EXE_meridian"))
        .args(["plan", path, "--format", "json"])
        .output()
        .unwrap();
    let plan: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(plan["identity"]["unfinished"].is_object());
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string("schemas/plan.schema.json").unwrap())
            .unwrap();
    let mut errors = Vec::new();
    validate(&schema, &schema, &plan, "$", &mut errors);
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

/// A shift's hold, in the manifest and in the plan (identity and `untouched`), matches the
/// schemas.
#[test]
fn holds_match_the_manifest_and_plan_schemas() {
    let dir = std::env::temp_dir().join(format!("meridian-schema-holds-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let text = std::fs::read_to_string("tests/fixtures/lint/SS003_clean.hcl").unwrap();
    std::fs::write(dir.join("main.hcl"), text).unwrap();
    let path = dir.to_str().unwrap();
    for args in [
        vec!["apply", path, "--auto-approve"],
        vec![
            "shift",
            "api",
            path,
            "--region",
            "us-east-1",
            "--to",
            "0",
            "--over",
            "0s",
            "--steps",
            "2",
            "--auto-approve",
        ],
    ] {
        let o = Command::new(env!("CARGO_BIN_EXE_meridian"))
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(
            o.status.code(),
            Some(0),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string("schemas/manifest.schema.json").unwrap())
            .unwrap();
    let doc: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join(".meridian/manifest.json")).unwrap(),
    )
    .unwrap();
    let mut errors = Vec::new();
    validate(&schema, &schema, &doc, "$", &mut errors);
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    assert_eq!(doc["holds"]["api"]["done"], 2);
    check(
        "schemas/plan.schema.json",
        &["plan", path, "--format", "json"],
    );
}

/// validate, graph, check and the apply outcome: every JSON output has its schema, checked
/// against real output (valid and invalid topologies, a collection, each example).
#[test]
fn every_json_output_matches_its_schema() {
    for args in [
        vec!["validate", "examples/active-passive", "--format", "json"],
        vec!["validate", "examples/", "--format", "json"],
        vec![
            "validate",
            "tests/fixtures/invalid/duplicate_label.hcl",
            "--format",
            "json",
        ],
        vec![
            "validate",
            "tests/fixtures/invalid/syntax.hcl",
            "--format",
            "json",
        ],
    ] {
        check("schemas/validate.schema.json", &args);
    }
    for example in [
        "active-passive",
        "active-active-partitioned",
        "active-active-anycast",
    ] {
        let path = format!("examples/{example}");
        check(
            "schemas/graph.schema.json",
            &["graph", &path, "--format", "json"],
        );
        check(
            "schemas/check.schema.json",
            &["check", &path, "--format", "json"],
        );
    }
    check(
        "schemas/check.schema.json",
        &["check", "tests/fixtures/lint/SS001.hcl", "--format", "json"],
    );
    let dir = std::env::temp_dir().join(format!("meridian-schema-apply-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy("examples/active-passive/main.hcl", dir.join("main.hcl")).unwrap();
    let path = dir.to_str().unwrap();
    check(
        "schemas/apply.schema.json",
        &["apply", path, "--auto-approve", "--format", "json"],
    );
}

/// A plan against zone files (its `live_source` and `left_out`) matches the plan schema.
#[test]
fn a_zone_file_plan_matches_the_plan_schema() {
    let dir = std::env::temp_dir().join(format!("meridian-schema-zonefile-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("zones")).unwrap();
    std::fs::copy("examples/active-passive/main.hcl", dir.join("main.hcl")).unwrap();
    std::fs::write(
        dir.join("zones/example.com.zone"),
        "@ 300 IN SOA ns1.example.net. hm.example.com. 1 7200 3600 1209600 300\n@ 300 IN NS ns1.example.net.\n",
    )
    .unwrap();
    let path = dir.to_str().unwrap();
    check(
        "schemas/plan.schema.json",
        &["plan", path, "--live", "zonefile", "--format", "json"],
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A manifest and a plan with what `init --adopt` took over match their schemas.
#[test]
fn an_adopting_manifest_and_plan_match_their_schemas() {
    let dir = std::env::temp_dir().join(format!("meridian-schema-adopt-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let store = dir.join("store.json");
    crate::import::foreign_zone(&store);
    let (s, infra) = (store.to_str().unwrap(), dir.join("infra"));
    let i = infra.to_str().unwrap();
    let run = |args: &[&str]| {
        let o = Command::new(env!("CARGO_BIN_EXE_meridian"))
            .args(args)
            .output()
            .unwrap();
        assert_eq!(
            o.status.code(),
            Some(0),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    };
    run(&[
        "import",
        "--zone",
        "example.com",
        "--live",
        "local",
        "--state",
        s,
        "--out",
        i,
    ]);
    let main = infra.join("main.hcl");
    let hcl = std::fs::read_to_string(&main).unwrap();
    std::fs::write(&main, hcl.replace("FILL-IN-aws-region", "us-east-1")).unwrap();
    run(&["init", i, "--adopt", "--state", s]);
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string("schemas/manifest.schema.json").unwrap())
            .unwrap();
    let doc: Value = serde_json::from_str(
        &std::fs::read_to_string(infra.join(".meridian/manifest.json")).unwrap(),
    )
    .unwrap();
    assert!(doc["adopted"].is_object(), "{doc}");
    let mut errors = Vec::new();
    validate(&schema, &schema, &doc, "$", &mut errors);
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    check(
        "schemas/plan.schema.json",
        &["plan", i, "--state", s, "--format", "json"],
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `analyze --distribution --format json` matches its schema, on every example.
#[test]
fn the_distribution_matches_its_schema() {
    for e in [
        "active-passive",
        "active-active-partitioned",
        "active-active-anycast",
    ] {
        check(
            "schemas/distribution.schema.json",
            &[
                "analyze",
                &format!("examples/{e}"),
                "--distribution",
                "--format",
                "json",
            ],
        );
        check(
            "schemas/distribution.schema.json",
            &[
                "analyze",
                &format!("examples/{e}"),
                "--distribution",
                "--error-rate",
                "0.55",
                "--trials",
                "500",
                "--ttl-extension",
                "120s",
                "--format",
                "json",
            ],
        );
    }
}

/// A plan past the creation cap (services waiting) and its apply's outcome match their schemas,
/// `deferred` included.
#[test]
fn a_deferred_plan_and_its_apply_match_their_schemas() {
    let dir = std::env::temp_dir().join(format!("meridian-schema-cap-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let service = |n: &str| {
        format!("service \"{n}\" {{\n  zone = \"example.com\"\n  domain = \"{n}.example.com\"\n  routing = \"latency\"\n  stateless = true\n  health_check {{\n    type = \"HTTPS\"\n    path = \"/\"\n  }}\n  region \"us-east-1\" {{\n    target = \"{n}1.example.com\"\n  }}\n}}\n")
    };
    let text = format!(
        "provider \"aws\" {{\n  health_check_creations_per_day = 1\n}}\n{}{}",
        service("a"),
        service("b")
    );
    std::fs::write(dir.join("main.hcl"), text).unwrap();
    let path = dir.to_str().unwrap();
    let state = dir.join("state.json");
    let state = state.to_str().unwrap();
    let plan = [
        "plan", path, "--live", "local", "--state", state, "--format", "json",
    ];
    check("schemas/plan.schema.json", &plan);
    let o = Command::new(env!("CARGO_BIN_EXE_meridian"))
        .args(plan)
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        doc["deferred"]["waiting"],
        serde_json::json!(["b"]),
        "{doc}"
    );
    let apply = [
        "apply",
        path,
        "--live",
        "local",
        "--state",
        state,
        "--auto-approve",
        "--format",
        "json",
    ];
    check("schemas/apply.schema.json", &apply);
}
