//! Property tests: no input makes validation, graphing or formatting panic, and formatting is
//! idempotent and never changes meaning.

// Tests and benchmarks may unwrap (a panic is a failure) and run long: the lints in
// Cargo.toml are for src/.
#![allow(clippy::unwrap_used, clippy::too_many_lines)]

use meridian::graph::ResourceGraph;
use meridian::source::Sources;
use proptest::prelude::*;

fn check_all(text: &str) {
    let sources = Sources::from_texts([("fuzz.hcl", text.to_string())]);
    let checked = meridian::check(&sources);
    let _ = meridian::render::diagnostics::human(&checked.diagnostics, &sources, false);
    let _ = meridian::render::diagnostics::json(&checked.diagnostics, &sources);
    if let Some(t) = checked.valid() {
        let g = ResourceGraph::build(t);
        assert!(g.order().is_ok());
        let _ = meridian::render::graph::dot(&g);
    }
    if let Ok(once) = meridian::format::format("fuzz.hcl", text) {
        let twice = meridian::format::format("fuzz.hcl", &once).expect("formatted text formats");
        assert_eq!(once, twice, "formatting is idempotent");
    }
}

/// Values of every type, valid and not, for any attribute.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("\"us-east-1\"".to_string()),
        Just("\"eu-west-1\"".to_string()),
        Just("\"example.com\"".to_string()),
        Just("\"api.example.com\"".to_string()),
        Just("\"latency\"".to_string()),
        Just("\"failover\"".to_string()),
        Just("\"geolocation\"".to_string()),
        Just("\"weighted\"".to_string()),
        Just("\"HTTPS\"".to_string()),
        Just("\"TCP\"".to_string()),
        Just("\"HTTP_STR_MATCH\"".to_string()),
        Just("\"primary\"".to_string()),
        Just("\"primary-replica\"".to_string()),
        Just("\"multi-master\"".to_string()),
        Just("\"45s\"".to_string()),
        Just("\"1m30s\"".to_string()),
        Just("\"*\"".to_string()),
        Just("[\"EU\", \"*\"]".to_string()),
        Just("[\"192.0.2.1\"]".to_string()),
        Just("[\"us-east-1\", \"eu-west-1\", \"ap-southeast-1\"]".to_string()),
        Just("var.x".to_string()),
        Just("\"${x}\"".to_string()),
        Just("null".to_string()),
        Just("true".to_string()),
        (-3i64..300).prop_map(|n| n.to_string()),
        (0.0f64..2.0).prop_map(|f| format!("{f:.2}")),
        "[a-z0-9.\"*-]{0,12}".prop_map(|s| format!("\"{s}\"")),
    ]
}

const ATTRS: &[&str] = &[
    "zone",
    "domain",
    "routing",
    "ttl",
    "type",
    "port",
    "path",
    "interval",
    "failure_threshold",
    "regions",
    "search_string",
    "target",
    "ips",
    "capacity",
    "scale_up",
    "weight",
    "role",
    "locations",
    "aws_region",
    "pattern",
    "primary",
    "promotion",
    "replication_lag",
    "consistency",
    "source",
    "destinations",
    "repositories",
    "name",
    "zone_id",
    "evaluate_target_health",
    "threshold",
    "rto",
    "rpo",
    "monthly_cost",
    "tll",
];

fn attrs() -> impl Strategy<Value = String> {
    prop::collection::vec((prop::sample::select(ATTRS), value()), 0..6)
        .prop_map(|v| v.into_iter().map(|(k, v)| format!("{k} = {v}\n")).collect())
}

fn region() -> impl Strategy<Value = String> {
    (
        prop::sample::select(
            &[
                "us-east-1",
                "eu-west-1",
                "ap-southeast-1",
                "us-east-7",
                "canary",
            ][..],
        ),
        attrs(),
        prop::option::of(attrs()),
    )
        .prop_map(|(name, body, alias)| {
            let alias = alias.map_or(String::new(), |a| format!("alias {{\n{a}}}\n"));
            format!("region \"{name}\" {{\n{body}{alias}}}\n")
        })
}

fn service() -> impl Strategy<Value = String> {
    (
        prop::sample::select(&["api", "web", "api"][..]),
        attrs(),
        prop::option::of(attrs()),
        prop::option::of(attrs()),
        prop::collection::vec(region(), 0..4),
    )
        .prop_map(|(name, body, hc, data, regions)| {
            let hc = hc.map_or(String::new(), |h| format!("health_check {{\n{h}}}\n"));
            let data = data.map_or(String::new(), |d| format!("data {{\n{d}}}\n"));
            format!(
                "service \"{name}\" {{\n{body}{hc}{data}{}}}\n",
                regions.concat()
            )
        })
}

fn topology() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(service(), 0..3),
        prop::option::of(attrs()),
        prop::option::of(attrs()),
    )
        .prop_map(|(services, reg, obj)| {
            let reg = reg.map_or(String::new(), |r| {
                format!("registry \"images\" {{\n{r}}}\n")
            });
            let obj = obj.map_or(String::new(), |o| format!("objectives {{\n{o}}}\n"));
            format!("{obj}{}{reg}", services.concat())
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn generated_topologies_never_panic(text in topology()) {
        check_all(&text);
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        check_all(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn mutated_examples_never_panic(cut in 0usize..2000, insert in "[{}\\[\\]\"=#\n a-z0-9]{0,4}") {
        let text = std::fs::read_to_string("examples/active-passive/main.hcl").unwrap();
        let mut at = cut.min(text.len());
        while !text.is_char_boundary(at) { at -= 1; }
        let mutated = format!("{}{}{}", &text[..at], insert, &text[at..]);
        check_all(&mutated);
    }
}

/// Every example (each directory under examples/) is valid, and survives what the property
/// tests do to random input. An example that stops validating fails here.
#[test]
fn examples_survive_the_same_checks() {
    let mut seen = 0;
    for entry in std::fs::read_dir("examples").unwrap() {
        let dir = entry.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        let sources = meridian::source::Sources::load(&dir).unwrap();
        let checked = meridian::check(&sources);
        assert!(
            !checked.diagnostics.has_errors(),
            "{} is invalid: {:?}",
            dir.display(),
            checked.diagnostics
        );
        for f in std::fs::read_dir(&dir).unwrap() {
            let f = f.unwrap().path();
            if f.extension().is_some_and(|e| e == "hcl") {
                check_all(&std::fs::read_to_string(&f).unwrap());
            }
        }
        seen += 1;
    }
    assert!(seen >= 3, "the examples were not found");
}

/// A multi-byte character where the parser gives up used to be sliced mid-character.
#[test]
fn syntax_error_next_to_a_multibyte_character() {
    check_all("x {\n# é");
    check_all("é");
    check_all("a = \"é");
}
