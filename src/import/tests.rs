//! Import of a zone built by hand: every routing policy, aliases with and without
//! evaluate_target_health, and what the language cannot say.

// The zone is a data table, one record set per entry: long, and read at once.
#![allow(clippy::too_many_lines)]

use super::{import, Request, UNKNOWN_REGION};
use crate::dns::{FailoverRole, RecordType, RoutingPolicy};
use crate::graph::{AliasTarget, HealthCheckSpec};
use crate::model::HealthCheckType;
use crate::provider::{LiveHealthCheck, LiveState, RecordSet, ReplicationRule};

fn set(
    name: &str,
    t: RecordType,
    id: Option<&str>,
    values: &[&str],
    routing: RoutingPolicy,
) -> RecordSet {
    RecordSet {
        zone: "example.com".into(),
        name: name.into(),
        record_type: t,
        set_identifier: id.map(str::to_string),
        ttl: Some(60),
        values: values.iter().map(|v| (*v).to_string()).collect(),
        alias: None,
        routing,
        health_check_id: None,
    }
}

fn checked(mut r: RecordSet, id: &str) -> RecordSet {
    r.health_check_id = Some(id.into());
    r
}

fn alias(mut r: RecordSet, name: &str, zone: &str, eth: bool) -> RecordSet {
    r.ttl = None;
    r.values.clear();
    r.alias = Some(AliasTarget {
        dns_name: name.into(),
        hosted_zone_id: zone.into(),
        evaluate_target_health: eth,
    });
    r
}

fn check(id: &str, fqdn: &str) -> LiveHealthCheck {
    LiveHealthCheck {
        id: id.into(),
        caller_reference: format!("hand-{id}"),
        version: 1,
        config: HealthCheckSpec {
            kind: HealthCheckType::Https,
            fqdn: Some(fqdn.into()),
            ip_address: None,
            port: 443,
            resource_path: Some("/healthz".into()),
            request_interval: 10,
            failure_threshold: 3,
            regions: Vec::new(),
            search_string: None,
        },
        tags: Default::default(),
        drift: Vec::new(),
    }
}

/// A zone as a person makes one by hand.
fn zone() -> LiveState {
    use RecordType::{Cname, Other, A};
    let latency = |r: &str| RoutingPolicy::Latency { region: r.into() };
    let weight = |w: u8| RoutingPolicy::Weighted { weight: w };
    let failover = |role| RoutingPolicy::Failover { role };
    let geo = |l: &str| RoutingPolicy::Geolocation { location: l.into() };
    let records = vec![
        set(
            "example.com",
            Other("SOA".into()),
            None,
            &["ns hm 1 2 3 4 5"],
            RoutingPolicy::Simple,
        ),
        // latency, checked, CNAMEs
        checked(
            set(
                "api.example.com",
                Cname,
                Some("api-use1"),
                &["api-use1.example.net"],
                latency("us-east-1"),
            ),
            "hc-1",
        ),
        checked(
            set(
                "api.example.com",
                Cname,
                Some("api-euw1"),
                &["api-euw1.example.net"],
                latency("eu-west-1"),
            ),
            "hc-2",
        ),
        // weighted, one at weight 0, aliases with and without evaluate_target_health
        alias(
            set("shop.example.com", A, Some("blue"), &[], weight(100)),
            "dualstack.shop-1.us-east-1.elb.amazonaws.com",
            "Z35SXDOTRQ7X7K",
            true,
        ),
        alias(
            set("shop.example.com", A, Some("green"), &[], weight(0)),
            "dualstack.shop-2.eu-west-1.elb.amazonaws.com",
            "Z32O12XQLNTSW2",
            false,
        ),
        // failover whose secondary's AWS region nothing says
        set(
            "pay.example.com",
            A,
            Some("main"),
            &["192.0.2.1"],
            failover(FailoverRole::Primary),
        ),
        set(
            "pay.example.com",
            A,
            Some("backup"),
            &["198.51.100.1"],
            failover(FailoverRole::Secondary),
        ),
        // geolocation with a default, set identifiers that are region names
        set(
            "geo.example.com",
            A,
            Some("eu-west-1"),
            &["192.0.2.10"],
            geo("EU"),
        ),
        set(
            "geo.example.com",
            A,
            Some("us-east-1"),
            &["192.0.2.11"],
            geo("*"),
        ),
        // multivalue answers, a plain record, a CALCULATED check, an MX
        set(
            "mv.example.com",
            A,
            Some("one"),
            &["192.0.2.20"],
            RoutingPolicy::Unmanaged,
        ),
        set(
            "www.example.com",
            A,
            None,
            &["192.0.2.30"],
            RoutingPolicy::Simple,
        ),
        checked(
            set(
                "calc.example.com",
                A,
                Some("x"),
                &["192.0.2.40"],
                latency("us-east-1"),
            ),
            "hc-calculated",
        ),
        set(
            "example.com",
            Other("MX".into()),
            None,
            &["10 mx.example.com"],
            RoutingPolicy::Simple,
        ),
    ];
    LiveState {
        zones: [("example.com".to_string(), "Z1".to_string())].into(),
        records,
        health_checks: vec![
            check("hc-1", "api-use1.example.net"),
            check("hc-2", "api-euw1.example.net"),
        ],
        repositories: Default::default(),
        read_by_name: Default::default(),
        replication: [(
            "us-east-1".to_string(),
            vec![
                ReplicationRule {
                    destinations: vec!["eu-west-1".into()],
                    filters: vec!["shop".into()],
                },
                ReplicationRule {
                    destinations: vec!["eu-west-1".into()],
                    filters: vec![],
                },
            ],
        )]
        .into(),
    }
}

fn imported(for_analysis: bool) -> super::Imported {
    let zones = vec!["example.com".to_string()];
    let regions = vec!["us-east-1".to_string()];
    import(
        &zone(),
        &Request {
            zones: &zones,
            regions: &regions,
            source: "a hand-made zone".into(),
            for_analysis,
        },
    )
}

#[test]
fn every_policy_imports_and_what_cannot_be_said_is_listed() {
    let i = imported(false);
    let t = &i.text;
    // Written by hand from the zone above.
    for want in [
        "service \"api\" {",
        "routing = \"latency\"",
        "region \"us-east-1\" {\n    set_identifier = \"api-use1\"\n    target         = \"api-use1.example.net\"\n  }",
        "region \"eu-west-1\" {\n    set_identifier = \"api-euw1\"\n    target         = \"api-euw1.example.net\"\n  }",
        "health_check {\n    type              = \"HTTPS\"\n    path              = \"/healthz\"\n    interval          = 10\n    failure_threshold = 3\n  }",
        "region \"blue\" {\n    aws_region     = \"us-east-1\"\n    set_identifier = \"blue\"\n    weight         = 100",
        "region \"green\" {\n    aws_region     = \"eu-west-1\"\n    set_identifier = \"green\"\n    weight         = 0",
        "evaluate_target_health = false",
        "region \"backup\" {\n    # DNS does not say which AWS region this is: fill it in.",
        "role           = \"secondary\"",
        "region \"eu-west-1\" {\n    set_identifier = \"eu-west-1\"\n    locations      = [\"EU\"]",
        "region \"us-east-1\" {\n    set_identifier = \"us-east-1\"\n    locations      = [\"*\"]",
        "registry \"shop\" {\n  source       = \"us-east-1\"\n  destinations = [\"eu-west-1\"]\n  repositories = [\"shop\"]\n}",
    ] {
        assert!(t.contains(want), "missing {want:?} in\n{t}");
    }
    assert!(
        t.contains(&format!("aws_region     = \"{UNKNOWN_REGION}\"")),
        "{t}"
    );
    let left: Vec<&str> = i.left_alone.iter().map(|l| l.what.as_str()).collect();
    assert_eq!(
        left,
        [
            "calc.example.com A x",
            "example.com MX",
            "mv.example.com A one",
            "replication rule 2 of us-east-1",
            "www.example.com A",
        ]
    );
    let why = |what: &str| &i.left_alone.iter().find(|l| l.what == what).unwrap().why;
    assert!(why("calc.example.com A x").contains("hc-calculated"));
    assert!(why("mv.example.com A one").contains("multivalue"));
    assert!(why("www.example.com A").contains("no routing policy"));
    // Each is listed at the top of the file too.
    for l in &i.left_alone {
        assert!(t.contains(&format!("#   - {}: ", l.what)), "{}", l.what);
    }
    assert_eq!((i.services, i.registries), (4, 1));
    assert_eq!(i.assumed.len(), 2, "{:?}", i.assumed);
}

#[test]
fn the_file_is_as_fmt_writes_it_and_validates_once_the_placeholders_are_filled() {
    let i = imported(false);
    assert_eq!(crate::format::format("x.hcl", &i.text).unwrap(), i.text);
    let filled = i.text.replace(UNKNOWN_REGION, "eu-west-1");
    let sources = crate::source::Sources::from_texts([("main.hcl", filled.as_str())]);
    let c = crate::check(&sources);
    assert!(c.valid().is_some(), "{:?}", c.diagnostics);
    // As written, the placeholders fail validation, each where it is.
    let sources = crate::source::Sources::from_texts([("main.hcl", i.text.as_str())]);
    let c = crate::check(&sources);
    assert!(c.valid().is_none());
    assert!(c
        .diagnostics
        .iter()
        .any(|d| d.message.contains(UNKNOWN_REGION)));
}

#[test]
fn for_the_analysis_an_unknown_region_is_assumed_distinct_and_said() {
    let i = imported(true);
    assert!(!i.text.contains(UNKNOWN_REGION));
    // pay's two regions are in no AWS region DNS names: analyzed as two distinct ones.
    let pay = i.text.split("service \"pay\"").nth(1).unwrap();
    let regions: Vec<&str> = pay
        .lines()
        .filter_map(|l| l.trim().strip_prefix("aws_region"))
        .take(2)
        .collect();
    assert_eq!(regions.len(), 2, "{pay}");
    assert_ne!(regions[0], regions[1]);
    assert_eq!(
        i.assumed
            .iter()
            .filter(|a| a.contains("analyzed as if in"))
            .count(),
        2,
        "{:?}",
        i.assumed
    );
    let sources = crate::source::Sources::from_texts([("main.hcl", i.text.as_str())]);
    let c = crate::check(&sources);
    assert!(c.valid().is_some(), "{:?}", c.diagnostics);
    // And an unchecked region stays unchecked: no recovery, not a floor.
    let a = crate::analysis::analyze(c.valid().unwrap());
    assert!(
        a.verdict.no_recovery.contains(&"pay".to_string()),
        "{:?}",
        a.verdict
    );
}
