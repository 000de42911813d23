//! Every diagnostic code has a hand-written failing fixture under `tests/fixtures/invalid/`,
//! named after the code; each fixture must produce its code, and its rendered diagnostics are
//! kept as insta snapshots under `snapshots/`.

// Tests and benchmarks may unwrap (a panic is a failure) and run long: the lints in
// Cargo.toml are for src/.
#![allow(clippy::unwrap_used, clippy::too_many_lines)]

use meridian::diagnostics::{Code, Severity};
use meridian::render::diagnostics::{human, json};
use meridian::source::Sources;
use std::path::Path;

const FIXTURES: &str = "tests/fixtures/invalid";

/// Codes that no topology file can trigger on its own (covered by unit tests instead; a value
/// for an undeclared variable is given on the command line: `tests/it/cli.rs`).
const NOT_FROM_FILES: &[Code] = &[Code::Cycle, Code::UnknownVariable];

fn render(path: &Path) -> (meridian::Checked, String) {
    let sources = Sources::load(path).expect("fixture readable");
    let checked = meridian::check(&sources);
    let text = human(&checked.diagnostics, &sources, false);
    (checked, text)
}

#[test]
fn every_code_has_a_fixture_that_produces_it() {
    let mut missing = Vec::new();
    for code in Code::ALL {
        if NOT_FROM_FILES.contains(code) {
            continue;
        }
        let name = code.as_str().trim_start_matches("meridian::");
        let path = Path::new(FIXTURES).join(format!("{name}.hcl"));
        if !path.exists() {
            missing.push(name);
            continue;
        }
        let (checked, text) = render(&path);
        assert!(
            checked.diagnostics.iter().any(|d| d.code == *code),
            "{} does not produce {code}; it produced:\n{text}",
            path.display()
        );
        let warning_only = checked
            .diagnostics
            .iter()
            .filter(|d| d.code == *code)
            .all(|d| d.severity == Severity::Warning);
        if warning_only {
            assert!(
                !checked.diagnostics.has_errors(),
                "{} should hold only its warning:\n{text}",
                path.display()
            );
        }
        insta::with_settings!({
            snapshot_path => "../../snapshots",
            prepend_module_to_snapshot => false,
            omit_expression => true,
        }, {
            insta::assert_snapshot!(format!("diagnostic__{name}"), text);
        });
    }
    assert!(missing.is_empty(), "codes without a fixture: {missing:?}");
}

#[test]
fn every_fixture_is_named_after_a_code() {
    for entry in std::fs::read_dir(FIXTURES).unwrap() {
        let path = entry.unwrap().path();
        let stem = path.file_stem().unwrap().to_string_lossy().to_string();
        assert!(
            Code::ALL
                .iter()
                .any(|c| c.as_str() == format!("meridian::{stem}")),
            "{} is not named after a code",
            path.display()
        );
    }
}

/// One file, five different mistakes: all five reported, each at its own line.
#[test]
fn five_mistakes_are_all_reported_with_their_lines() {
    let text = r#"service "api" {
  zone    = "example.com"
  domain  = "api.example.org"
  routing = "latency"
  tll     = 60

  health_check {
    type     = "HTTPS"
    interval = 15
  }

  region "us-east-1" {
    target = "use1.example.com"
  }

  region "eu-wets-1" {
    target = "euw1.example.com"
    weight = 10
  }
}
"#;
    let sources = Sources::from_texts([("five.hcl", text)]);
    let checked = meridian::check(&sources);
    let doc = json(&checked.diagnostics, &sources);
    let found: Vec<(String, u64)> = doc["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["code"].as_str().unwrap().to_string(),
                d["line"].as_u64().unwrap(),
            )
        })
        .collect();
    let want: Vec<(String, u64)> = [
        ("meridian::domain_outside_zone", 3),
        ("meridian::unknown_attribute", 5),
        ("meridian::interval", 9),
        ("meridian::unknown_region", 16),
        ("meridian::routing_field", 18),
    ]
    .iter()
    .map(|(c, l)| (c.to_string(), *l))
    .collect();
    assert_eq!(found, want);
    assert_eq!(doc["errors"], 5);
}

/// Two files of one directory form one topology: a duplicate across files is reported with
/// both places.
#[test]
fn duplicates_across_files_point_at_both() {
    let a = "service \"api\" {\n  zone = \"example.com\"\n  domain = \"api.example.com\"\n  routing = \"latency\"\n  region \"us-east-1\" {\n    target = \"a.example.com\"\n  }\n}\n";
    let b = a.replace("api.example.com", "api2.example.com");
    let sources = Sources::from_texts([("a.hcl", a.to_string()), ("b.hcl", b)]);
    let checked = meridian::check(&sources);
    let dup: Vec<_> = checked
        .diagnostics
        .iter()
        .filter(|d| d.code == Code::DuplicateLabel)
        .collect();
    assert_eq!(dup.len(), 1);
    assert_eq!(dup[0].primary.loc.file.0, 1);
    assert_eq!(dup[0].secondary[0].loc.file.0, 0);
    let text = human(&checked.diagnostics, &sources, false);
    assert!(text.contains("b.hcl:1:9"), "{text}");
    assert!(text.contains("a.hcl:1:9"), "{text}");
}

/// A repeated attribute is reported, and the rest of the file is still checked.
#[test]
fn a_duplicate_attribute_does_not_hide_the_rest_of_the_file() {
    let text = "service \"api\" {\n  zone = \"example.com\"\n  zone = [\n    \"x\",\n  ]\n  domain = \"api.example.com\"\n  routing = \"latency\"\n  health_check {\n    type = \"HTTPS\"\n    interval = 15\n  }\n  region \"us-east-1\" {\n    target = \"a.example.com\"\n  }\n}\n";
    let sources = Sources::from_texts([("dup.hcl", text)]);
    let checked = meridian::check(&sources);
    let codes: Vec<(&str, usize)> = checked
        .diagnostics
        .iter()
        .map(|d| {
            let (line, _) = sources.get(d.file()).line_col(d.primary.loc.span.start);
            (d.code.as_str(), line)
        })
        .collect();
    assert_eq!(
        codes,
        [
            ("meridian::duplicate_attribute", 3),
            ("meridian::interval", 10)
        ]
    );
}

/// Errors inside a rejected block (a duplicate, a wrong label count) are still reported, and a
/// region dropped for one error does not cause false errors elsewhere.
#[test]
fn errors_do_not_hide_or_invent_others() {
    let text = r#"service "api" {
  zone    = "example.com"
  domain  = "api.example.com"
  routing = "failover"
  health_check {
    type = "HTTPS"
  }
  health_check {
    type = "HTTPX"
  }
  region "us-east-1" {
    role     = "primary"
    target   = "a..example.com"
    capacity = 1.5
  }
  region "eu-west-1" {
    role   = "secondary"
    target = "b.example.com"
  }
  data {
    pattern = "primary-replica"
    primary = "us-east-1"
  }
}
"#;
    let sources = Sources::from_texts([("t.hcl", text)]);
    let checked = meridian::check(&sources);
    let codes: Vec<&str> = checked
        .diagnostics
        .iter()
        .map(|d| d.code.as_str())
        .collect();
    assert_eq!(
        codes,
        [
            "meridian::duplicate_block",
            "meridian::enum_value",
            "meridian::dns_name",
            "meridian::capacity"
        ]
    );
}

/// A stray `}` is reported where it is, with the block it was probably meant to close, not
/// where the parser gives up; an unclosed block at its opening brace.
#[test]
fn unbalanced_braces_are_reported_where_they_are() {
    let text = "service \"api\" {\n  zone    = \"example.com\"\n  domain  = \"api.example.com\" # a } in a comment\n  routing = \"latency\"\n  health_check {\n    type = \"HTTPS\"\n    path = \"/}\"\n  }\n  }\n  region \"us-east-1\" {\n    target = \"use1.example.com\"\n  }\n}\n";
    let sources = Sources::from_texts([("main.hcl", text)]);
    let checked = meridian::check(&sources);
    let d = checked
        .diagnostics
        .iter()
        .find(|d| d.code == Code::Syntax)
        .unwrap();
    // Line 9's `  }` closes the service block (opened at column 1) too early; the file only
    // becomes unbalanced at line 13. Point at line 9, and say where the extra one is.
    assert!(d.message.contains("unbalanced braces"), "{}", d.message);
    assert!(d.message.contains("at line 13"), "{}", d.message);
    let f = sources.get(d.primary.loc.file);
    assert_eq!(f.line_col(d.primary.loc.span.start).0, 9);
    assert!(
        d.help.as_deref().unwrap_or_default().contains("line 9"),
        "{:?}",
        d.help
    );

    let text = "service \"api\" {\n  zone = \"example.com\"\n  region \"us-east-1\" {\n    target = \"use1.example.com\"\n}\n";
    let sources = Sources::from_texts([("main.hcl", text)]);
    let checked = meridian::check(&sources);
    let d = checked
        .diagnostics
        .iter()
        .find(|d| d.code == Code::Syntax)
        .unwrap();
    assert!(d.message.contains("never closed"), "{}", d.message);
    assert_eq!(
        sources
            .get(d.primary.loc.file)
            .line_col(d.primary.loc.span.start)
            .0,
        1
    );
}

/// What does not depend on a broken value is still checked, and nothing that does: a bad
/// `path` is reported beside a bad `type`; a geolocation service whose `*` region is broken
/// for another reason gets no false "no default" warning.
#[test]
fn no_cascades_and_no_hidden_errors() {
    let text = "service \"api\" {\n  zone    = \"example.com\"\n  domain  = \"api.example.com\"\n  routing = \"latency\"\n  health_check {\n    type = \"HTTPX\"\n    path = \"healthz\"\n  }\n  region \"us-east-1\" {\n    target = \"use1.example.com\"\n  }\n}\n";
    let checked = meridian::check(&Sources::from_texts([("main.hcl", text)]));
    let codes: Vec<&str> = checked
        .diagnostics
        .iter()
        .map(|d| d.code.as_str())
        .collect();
    assert!(codes.contains(&"meridian::enum_value"), "{codes:?}");
    assert!(codes.contains(&"meridian::health_check_path"), "{codes:?}");

    let text = "service \"web\" {\n  zone    = \"example.com\"\n  domain  = \"web.example.com\"\n  routing = \"geolocation\"\n  health_check {\n    type = \"HTTPS\"\n    path = \"/\"\n  }\n  region \"eu-west-1\" {\n    target    = \"euw1.example.com\"\n    locations = [\"EU\", \"*\"]\n    capacity  = 2\n  }\n  region \"us-east-1\" {\n    target    = \"use1.example.com\"\n    locations = [\"NA\"]\n  }\n}\n";
    let checked = meridian::check(&Sources::from_texts([("main.hcl", text)]));
    let codes: Vec<&str> = checked
        .diagnostics
        .iter()
        .map(|d| d.code.as_str())
        .collect();
    assert!(codes.contains(&"meridian::capacity"), "{codes:?}");
    // The default is lint rule SS016's business, not validation's.
    assert!(!codes.iter().any(|c| c.contains("geo")), "{codes:?}");
}

/// A region's `set_identifier` names one record: empty, or on a region of several
/// geolocation locations, it is refused where it is written.
#[test]
fn a_set_identifier_that_cannot_name_the_record_is_refused() {
    let service = |region: &str| {
        format!("service \"web\" {{\n  zone = \"example.com\"\n  domain = \"web.example.com\"\n  routing = \"geolocation\"\n  health_check {{\n    type = \"HTTPS\"\n    path = \"/\"\n  }}\n{region}  region \"us-east-1\" {{\n    target = \"use1.example.com\"\n    locations = [\"*\"]\n  }}\n}}\n")
    };
    for (region, says) in [
        ("  region \"eu-west-1\" {\n    target = \"euw1.example.com\"\n    locations = [\"EU\"]\n    set_identifier = \"\"\n  }\n", "an empty set identifier"),
        ("  region \"eu-west-1\" {\n    target = \"euw1.example.com\"\n    locations = [\"EU\", \"DE\"]\n    set_identifier = \"x\"\n  }\n", "names one record"),
    ] {
        let text = service(region);
        let checked = meridian::check(&Sources::from_texts([("main.hcl", text.as_str())]));
        let found: Vec<(&str, &str)> = checked
            .diagnostics
            .iter()
            .map(|d| (d.code.as_str(), d.message.as_str()))
            .collect();
        assert!(
            found.iter().any(|(c, m)| *c == "meridian::set_identifier" && m.contains(says)),
            "{found:?}"
        );
    }
}
