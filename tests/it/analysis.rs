//! Acceptance cases of the recovery analysis, from the domain reference
//! (`multi-region-patterns.md`): 90 s DNS failover floor, 30 s with anycast, 630 s warm standby.

// Tests and benchmarks may unwrap (a panic is a failure) and run long: the lints in
// Cargo.toml are for src/.
#![allow(clippy::unwrap_used, clippy::too_many_lines)]

use meridian::analysis::{analyze, Analysis, StepKind, Verdict};
use meridian::source::Sources;

fn analysis(text: &str) -> Analysis {
    let sources = Sources::from_texts([("t.hcl", text.to_string())]);
    let checked = meridian::check(&sources);
    let t = checked
        .valid()
        .unwrap_or_else(|| panic!("invalid: {:?}", checked.diagnostics));
    analyze(t)
}

fn service(routing: &str, extra: &str, regions: &str) -> String {
    format!(
        r#"service "api" {{
  zone    = "example.com"
  domain  = "api.example.com"
  routing = "{routing}"
{extra}
{regions}
}}"#
    )
}

const HC_10X3: &str =
    "health_check {\n type = \"HTTPS\"\n interval = 10\n failure_threshold = 3\n}\n";
const TWO_LATENCY: &str = "region \"us-east-1\" {\n target = \"a.example.com\"\n}\nregion \"eu-west-1\" {\n target = \"b.example.com\"\n}\n";

fn secs(d: Option<meridian::duration::Duration>) -> Option<f64> {
    d.map(|d| d.as_secs_f64())
}

#[test]
fn dns_failover_floor_is_90_seconds() {
    let a = analysis(&service(
        "latency",
        &format!("ttl = 60\n{HC_10X3}"),
        TWO_LATENCY,
    ));
    let s = &a.services["api"];
    assert_eq!(secs(s.rto_floor_seconds), Some(90.0));
    let loss = &s.region_losses[0];
    // Dark region: each of the 3 probes also waits the 4 s HTTPS connect timeout:
    // 3 x (10 + 4) = 42 s, + 60 s TTL = 102 s.
    assert_eq!(
        loss.formula,
        "detect 10 s x 3 = 30 s -> DNS TTL 60 s => 90 s (dark region: 102 s)"
    );
    assert_eq!(secs(s.dark_rto_floor_seconds), Some(102.0));
    assert_eq!(
        loss.critical_path,
        [StepKind::Detection, StepKind::TrafficShift]
    );
}

/// The `anycast` block names no accelerator Meridian plans: the floor is that of the records
/// it writes (10 s x 3 + 60 s TTL = 90 s), and the analysis says so.
#[test]
fn anycast_is_not_credited_when_nothing_plans_it() {
    let extra = format!("{HC_10X3}anycast {{\n interval = 10\n threshold = 3\n}}\n");
    let a = analysis(&service("latency", &extra, TWO_LATENCY));
    assert_eq!(secs(a.services["api"].rto_floor_seconds), Some(90.0));
    assert!(a.services["api"]
        .notes
        .iter()
        .any(|n| n.contains("names no `accelerator`")));
}

/// With an accelerator named, Meridian plans one alias to it and the floor has no TTL: its own
/// checks for Elastic IP endpoints (10 s x 3 = 30 s), the load balancer's declared detection
/// for alias endpoints (45 s), never a DNS TTL. Without lb_detection an alias endpoint's floor
/// is unknown.
#[test]
fn an_accelerator_floor_has_no_ttl_and_follows_load_balancers() {
    let anycast = "anycast {\n accelerator = \"a1.awsglobalaccelerator.com\"\n interval = 10\n threshold = 3\n lb_detection = \"45s\"\n}\n";
    let regions = "region \"us-east-1\" {\n ips = [\"192.0.2.1\"]\n}\nregion \"eu-west-1\" {\n alias {\n name = \"x.eu-west-1.elb.amazonaws.com\"\n zone_id = \"Z32O12XQLNTSW2\"\n }\n}\n";
    let a = analysis(&service("latency", anycast, regions));
    let s = &a.services["api"];
    let floor = |r: &str| {
        secs(
            s.region_losses
                .iter()
                .find(|l| l.region == r)
                .unwrap()
                .floor_seconds,
        )
    };
    assert_eq!(floor("us-east-1"), Some(30.0));
    assert_eq!(floor("eu-west-1"), Some(45.0));
    assert!(s.notes.iter().any(|n| n.contains("idle timeout")));
    let a = analysis(&service(
        "latency",
        &anycast.replace(" lb_detection = \"45s\"\n", ""),
        regions,
    ));
    assert_eq!(a.services["api"].rto_floor_seconds, None);
}

#[test]
fn warm_standby_floor_is_630_seconds_and_the_secondary_costs_nothing() {
    let regions = r#"
region "us-east-1" {
  role   = "primary"
  target = "a.example.com"
}
region "eu-west-1" {
  role     = "secondary"
  target   = "b.example.com"
  capacity = 0.4
  scale_up = "10m"
}
data {
  pattern         = "primary-replica"
  primary         = "us-east-1"
  replication_lag = "200ms"
  promotion       = "60s"
}
"#;
    let a = analysis(&service(
        "failover",
        &format!("ttl = 60\n{HC_10X3}"),
        regions,
    ));
    let s = &a.services["api"];
    assert_eq!(secs(s.rto_floor_seconds), Some(630.0));
    assert_eq!(s.worst_region.as_deref(), Some("us-east-1"));
    let primary = s
        .region_losses
        .iter()
        .find(|l| l.region == "us-east-1")
        .unwrap();
    assert_eq!(
        primary.formula,
        "detect 10 s x 3 = 30 s -> max(DNS TTL 60 s, promote replica 60 s (automatic), scale up eu-west-1 to 100 % 600 s) = 600 s => 630 s (dark region: 642 s)"
    );
    assert_eq!(
        primary.critical_path,
        [StepKind::Detection, StepKind::ScaleUp]
    );
    // Inside the 5-15 minute band of an active-passive warm standby.
    assert!((300.0..=900.0).contains(&secs(s.rto_floor_seconds).unwrap()));
    let secondary = s
        .region_losses
        .iter()
        .find(|l| l.region == "eu-west-1")
        .unwrap();
    assert!(!secondary.carries_traffic);
    assert_eq!(secs(secondary.floor_seconds), Some(0.0));
    assert_eq!(secs(s.rpo_seconds), Some(0.2));
}

#[test]
fn promotion_dominates_when_slower_than_the_ttl() {
    let regions = format!("{TWO_LATENCY}data {{\n pattern = \"partitioned\"\n replication_lag = \"1s\"\n promotion = \"2m\"\n}}\n");
    let a = analysis(&service(
        "latency",
        &format!("ttl = 30\n{HC_10X3}"),
        &regions,
    ));
    let s = &a.services["api"];
    assert_eq!(secs(s.rto_floor_seconds), Some(150.0));
    assert_eq!(
        s.region_losses[0].critical_path,
        [StepKind::Detection, StepKind::Promotion]
    );
}

#[test]
fn alias_records_use_a_fixed_60_second_ttl() {
    let regions = "region \"us-east-1\" {\n alias {\n name = \"x.us-east-1.elb.amazonaws.com\"\n zone_id = \"Z35SXDOTRQ7X7K\"\n evaluate_target_health = true\n }\n}\nregion \"eu-west-1\" {\n alias {\n name = \"x.eu-west-1.elb.amazonaws.com\"\n zone_id = \"Z32O12XQLNTSW2\"\n evaluate_target_health = true\n }\n}\n";
    let hc30 = "health_check {\n type = \"HTTP\"\n interval = 30\n failure_threshold = 2\n}\n";
    let a = analysis(&service("latency", hc30, regions));
    assert_eq!(secs(a.services["api"].rto_floor_seconds), Some(120.0));
    // Dark: 2 x (30 + 4) = 68 s, + 60 s = 128 s.
    assert_eq!(
        a.services["api"].region_losses[0].formula,
        "detect 30 s x 2 = 60 s -> alias TTL 60 s => 120 s (dark region: 128 s)"
    );
}

#[test]
fn no_health_check_means_no_floor_and_an_unknown_objective() {
    let text = format!(
        "objectives {{\n rto = \"2m\"\n}}\n{}",
        service("latency", "", TWO_LATENCY)
    );
    let a = analysis(&text);
    assert_eq!(a.services["api"].rto_floor_seconds, None);
    let unknown = a.services["api"].rto_unknown.as_ref().unwrap();
    assert_eq!(unknown.kind, meridian::analysis::UnknownKind::NoRecovery);
    assert!(unknown.reason.contains("no health check"), "{unknown:?}");
    assert_eq!(a.objectives[0].verdict, Verdict::Unknown);
    assert_eq!(a.objectives[0].services, ["api"]);
    assert!(
        a.objectives[0]
            .reason
            .as_deref()
            .is_some_and(|r| r.contains("service api")),
        "{:?}",
        a.objectives[0].reason
    );
    // Unknown is not a breach, but the gate fails closed on it.
    assert!(!a.objectives_breached());
    assert!(a.objectives_unknown());
    assert!(a.gate_failed(), "an unknown RTO fails the gate closed");
}

/// A service declared `stateless = true` has RPO 0, with that basis; a service that only
/// lacks a `data` block has an unknown RPO, and the objective names it.
#[test]
fn a_stateless_service_has_rpo_zero_and_an_undeclared_one_is_named() {
    let stateless = service(
        "latency",
        &format!("stateless = true\n{HC_10X3}"),
        TWO_LATENCY,
    );
    let undeclared = service("latency", HC_10X3, TWO_LATENCY)
        .replace("\"api\"", "\"web\"")
        .replace("api.example.com", "web.example.com");
    let text = format!("objectives {{\n rpo = \"5s\"\n}}\n{stateless}\n{undeclared}");
    let a = analysis(&text);
    assert_eq!(secs(a.services["api"].rpo_seconds), Some(0.0));
    assert!(a.services["api"].rpo_basis.contains("stateless"));
    assert_eq!(a.services["web"].rpo_seconds, None);
    let rpo = &a.objectives[0];
    assert_eq!(
        (rpo.objective.as_str(), rpo.verdict),
        ("rpo", Verdict::Unknown)
    );
    assert_eq!(rpo.services, ["web"]);
    let reason = rpo.reason.as_deref().unwrap_or_default();
    assert!(
        reason.contains("service web") && !reason.contains("service api"),
        "{reason}"
    );

    // Alone, the stateless service meets the objective.
    let a = analysis(&format!("objectives {{\n rpo = \"5s\"\n}}\n{stateless}"));
    assert_eq!(a.objectives[0].verdict, Verdict::Met);
    assert_eq!(a.objectives[0].actual, Some(0.0));
    assert!(!a.gate_failed());
}

#[test]
fn objectives_report_met_and_breached_with_margins() {
    let text = format!(
        "objectives {{\n rto = \"60s\"\n rpo = \"5s\"\n}}\n{}",
        service(
            "latency",
            &format!("ttl = 60\n{HC_10X3}"),
            &format!("{TWO_LATENCY}data {{\n pattern = \"multi-master\"\n consistency = \"strong\"\n witness = \"eu-central-1\"\n}}\n")
        )
    );
    let a = analysis(&text);
    let rto = &a.objectives[0];
    assert_eq!(
        (rto.objective.as_str(), rto.verdict),
        ("rto", Verdict::Breached)
    );
    assert_eq!(rto.margin, Some(-30.0));
    let rpo = &a.objectives[1];
    assert_eq!((rpo.objective.as_str(), rpo.verdict), ("rpo", Verdict::Met));
    assert_eq!(rpo.margin, Some(5.0));
    assert!(a.objectives_breached());
}

fn cost_of(a: &Analysis, scope: &str, item: &str) -> Option<f64> {
    a.cost
        .items
        .iter()
        .find(|i| i.scope == scope && i.item == item)
        .and_then(|i| i.monthly_usd)
}

/// The reference: a warm standby at 0.3-0.5 of active capacity costs 30-50 % extra.
#[test]
fn warm_standby_compute_costs_its_capacity_fraction_extra() {
    for capacity in ["0.3", "0.4", "0.5"] {
        let regions = format!(
            "region \"us-east-1\" {{\n role = \"primary\"\n target = \"a.example.com\"\n}}\nregion \"eu-west-1\" {{\n role = \"secondary\"\n target = \"b.example.com\"\n capacity = {capacity}\n scale_up = \"5m\"\n}}\ncost {{\n compute_per_region = 10000\n}}\n"
        );
        let a = analysis(&service("failover", HC_10X3, &regions));
        let compute = cost_of(&a, "service \"api\"", "compute").unwrap();
        let extra = compute / 10000.0 - 1.0;
        assert!((0.3..=0.5).contains(&extra), "{capacity}: {extra}");
        assert!((extra - capacity.parse::<f64>().unwrap()).abs() < 1e-9);
    }
}

#[test]
fn line_items_follow_the_price_table() {
    // 2 non-AWS endpoints, HTTPS + fast interval: 2 x (0.75 + 2 x 2.00) = 9.50.
    let regions = format!(
        "{TWO_LATENCY}cost {{\n queries_per_month = 100000000\n compute_per_region = 1000\n}}\n"
    );
    let a = analysis(&service("latency", HC_10X3, &regions));
    assert_eq!(cost_of(&a, "service \"api\"", "health checks"), Some(9.5));
    // Latency queries: 100 M x 0.60.
    assert_eq!(cost_of(&a, "service \"api\"", "DNS queries"), Some(60.0));
    assert_eq!(cost_of(&a, "topology", "hosted zones"), Some(0.5));
    assert_eq!(cost_of(&a, "service \"api\"", "compute"), Some(2000.0));
    assert!(a.cost.complete);
    assert_eq!(a.cost.monthly_usd, 2070.0);
}

#[test]
fn a_prices_block_overrides_the_built_in_table() {
    let regions = format!(
        "{TWO_LATENCY}cost {{\n queries_per_month = 100000000\n compute_per_region = 0\n}}\n"
    );
    let text = format!(
        "prices {{\n queries_latency_per_million = 1\n}}\n{}",
        service("latency", HC_10X3, &regions)
    );
    let a = analysis(&text);
    assert_eq!(cost_of(&a, "service \"api\"", "DNS queries"), Some(100.0));
    assert_eq!(a.cost.overridden_prices, ["queries_latency_per_million"]);
}

#[test]
fn missing_cost_inputs_are_named_and_fail_a_cost_objective_closed() {
    let text = format!(
        "objectives {{\n monthly_cost = 100000\n}}\n{}",
        service("latency", HC_10X3, TWO_LATENCY)
    );
    let a = analysis(&text);
    assert!(!a.cost.complete);
    let missing: Vec<&str> = a
        .cost
        .items
        .iter()
        .filter_map(|i| i.missing_input.as_deref())
        .collect();
    assert_eq!(
        missing,
        ["cost.queries_per_month", "cost.compute_per_region"]
    );
    assert_eq!(a.objectives[0].verdict, Verdict::Unknown);
    // Over budget is a breach even with inputs missing: they only add cost.
    let text = format!(
        "objectives {{\n monthly_cost = 100\n}}\n{}",
        service(
            "latency",
            HC_10X3,
            &format!("{TWO_LATENCY}cost {{\n compute_per_region = 1000\n}}\n")
        )
    );
    assert_eq!(analysis(&text).objectives[0].verdict, Verdict::Breached);
}

#[test]
fn weight_zero_regions_cost_nothing_to_lose_and_multi_master_promotes_nothing() {
    let regions = "region \"us-east-1\" {\n weight = 100\n target = \"a.example.com\"\n}\nregion \"eu-west-1\" {\n weight = 0\n target = \"b.example.com\"\n}\ndata {\n pattern = \"multi-master\"\n replication_lag = \"1s\"\n promotion = \"5m\"\n}\n";
    let a = analysis(&service(
        "weighted",
        &format!("ttl = 20\n{HC_10X3}"),
        regions,
    ));
    let s = &a.services["api"];
    let standby = s
        .region_losses
        .iter()
        .find(|l| l.region == "eu-west-1")
        .unwrap();
    assert!(!standby.carries_traffic);
    let active = s
        .region_losses
        .iter()
        .find(|l| l.region == "us-east-1")
        .unwrap();
    // Multi-master: no promotion step even though one is declared.
    assert!(active.steps.iter().all(|st| st.kind != StepKind::Promotion));
    assert_eq!(secs(s.rto_floor_seconds), Some(50.0));
    // Multi-master, eventual: the RPO is the lag.
    assert_eq!(secs(s.rpo_seconds), Some(1.0));
}

#[test]
fn a_missing_promotion_leaves_the_floor_unknown_and_names_the_input() {
    let regions = format!("{TWO_LATENCY}data {{\n pattern = \"partitioned\"\n}}\n");
    let a = analysis(&service("latency", HC_10X3, &regions));
    let s = &a.services["api"];
    assert_eq!(s.rto_floor_seconds, None);
    assert!(s.region_losses[0].missing[0].contains("data.promotion"));
    assert_eq!(s.rpo_seconds, None, "no replication_lag, no RPO");
    assert!(
        s.region_losses[0].formula.ends_with("=> unknown"),
        "{}",
        s.region_losses[0].formula
    );
}

/// Latency routing sends a lost region's users to the nearest survivor only, and a survivor
/// scales only when its new share exceeds its capacity. Equal shares of 1/3:
/// - lose us-east-1: its users go to eu-west-1 (70 ms, against 215 ms to ap-southeast-1):
///   1/3 + 1/3 = 66.7 % > 0.5, scale 180 s: 30 s + max(60 s, 180 s) = 210 s;
/// - lose ap-southeast-1: eu-west-1 (165 ms) is nearer than us-east-1 (215 ms): 210 s;
/// - lose eu-west-1: us-east-1 (70 ms) takes 66.7 % <= 1.0, no scale-up: 30 + 60 = 90 s.
#[test]
fn only_the_regions_that_take_the_lost_users_scale_up() {
    let regions = "region \"us-east-1\" {\n target = \"a.example.com\"\n}\nregion \"eu-west-1\" {\n target = \"b.example.com\"\n capacity = 0.5\n scale_up = \"3m\"\n}\nregion \"ap-southeast-1\" {\n target = \"c.example.com\"\n capacity = 0.2\n scale_up = \"7m\"\n}\n";
    let a = analysis(&service("latency", HC_10X3, regions));
    let s = &a.services["api"];
    let loss = s
        .region_losses
        .iter()
        .find(|l| l.region == "us-east-1")
        .unwrap();
    assert_eq!(secs(loss.floor_seconds), Some(210.0));
    assert!(
        loss.formula.contains("scale up eu-west-1 to 66.7 % 180 s"),
        "{}",
        loss.formula
    );
    let floor = |region: &str| {
        secs(
            s.region_losses
                .iter()
                .find(|l| l.region == region)
                .unwrap()
                .floor_seconds,
        )
    };
    assert_eq!(floor("ap-southeast-1"), Some(210.0));
    assert_eq!(floor("eu-west-1"), Some(90.0));
}

#[test]
fn hosted_zones_beyond_25_use_the_lower_price() {
    let mut text = String::new();
    for i in 0..27 {
        text.push_str(&format!(
            "service \"s{i}\" {{\n zone = \"z{i}.example.com\"\n domain = \"z{i}.example.com\"\n routing = \"latency\"\n {HC_10X3} region \"us-east-1\" {{\n ips = [\"192.0.2.1\"]\n }}\n}}\n"
        ));
    }
    let a = analysis(&text);
    // 25 x 0.50 + 2 x 0.10
    assert_eq!(cost_of(&a, "topology", "hosted zones"), Some(12.7));
}
