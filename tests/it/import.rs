//! `meridian import` round trips: an example applied, imported, its files replaced by the
//! import, planned again: no changes. And `analyze --zone` is the analysis of the imported file.

use crate::support::bin::{meridian, text, Run};
use std::path::{Path, PathBuf};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("meridian-import-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    dir
}

/// The example copied to `dir/NAME` and applied to the local store beside it.
fn applied(dir: &Path, example: &str) -> PathBuf {
    let to = dir.join(example);
    std::fs::create_dir_all(&to).expect("a directory");
    for f in std::fs::read_dir(Path::new("examples").join(example)).expect("the example") {
        let f = f.expect("a file").path();
        std::fs::copy(&f, to.join(f.file_name().expect("a name"))).expect("copied");
    }
    Run::new(&["apply", to.to_str().expect("UTF-8"), "--auto-approve"]).code(0);
    to
}

fn import(store: &Path) -> (String, String) {
    let o = meridian(&[
        "import",
        "--zone",
        "example.com",
        "--registry-region",
        "us-east-1",
        "--live",
        "local",
        "--state",
        store.to_str().expect("UTF-8"),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn applied_imported_and_planned_again_shows_no_changes() {
    let dir = scratch("roundtrip");
    for example in ["active-passive", "active-active-partitioned"] {
        let topo = applied(&dir, example);
        let (hcl, said) = import(&topo.join(".meridian/state.json"));
        assert!(
            said.contains("Imported 1 service and 1 registry"),
            "{example}: {said}"
        );
        // The imported file replaces the example's files, beside the same backend.
        for f in std::fs::read_dir(&topo).expect("the topology") {
            let f = f.expect("a file").path();
            if f.extension().is_some_and(|x| x == "hcl") {
                std::fs::remove_file(f).expect("removed");
            }
        }
        let main = topo.join("main.hcl");
        std::fs::write(&main, &hcl).expect("written");
        let t = topo.to_str().expect("UTF-8");
        Run::new(&["fmt", "--check", t]).code(0);
        let out = Run::new(&["plan", t, "--detailed-exitcode"]).code(0);
        assert!(out.contains("No changes."), "{example}: {out}\n{hcl}");
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// Behind a Global Accelerator, DNS names no region: the service is written with its
/// accelerator and one region to fill in, which `validate` refuses until it is; filled in, the
/// import of the applied example plans with no changes (its one alias record is as declared).
#[test]
fn an_accelerator_service_is_imported_with_a_region_to_fill_in_and_plans_clean() {
    let dir = scratch("anycast");
    let topo = applied(&dir, "active-active-anycast");
    let (hcl, said) = import(&topo.join(".meridian/state.json"));
    assert!(said.contains("Imported 1 service"), "{said}");
    assert!(said.contains("behind Global Accelerator"), "{said}");
    assert!(
        hcl.contains("accelerator = \"a1234567890abcdef.awsglobalaccelerator.com\""),
        "{hcl}"
    );
    for f in std::fs::read_dir(&topo).expect("the topology") {
        let f = f.expect("a file").path();
        if f.extension().is_some_and(|x| x == "hcl") {
            std::fs::remove_file(f).expect("removed");
        }
    }
    let t = topo.to_str().expect("UTF-8");
    std::fs::write(topo.join("main.hcl"), &hcl).expect("written");
    Run::new(&["fmt", "--check", t]).code(0);
    let out = Run::new(&["validate", t]).code(1);
    assert!(
        out.contains("FILL-IN-aws-region") && out.contains("FILL-IN-address"),
        "{out}"
    );
    let filled = hcl
        .replace("FILL-IN-aws-region", "ap-southeast-1")
        .replace("FILL-IN-address", "203.0.113.10");
    std::fs::write(topo.join("main.hcl"), filled).expect("filled in");
    let out = Run::new(&["plan", t, "--detailed-exitcode"]).code(0);
    assert!(out.contains("No changes."), "{out}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn analyze_of_the_deployed_zone_is_the_analysis_of_its_import() {
    let dir = scratch("analyze");
    let topo = applied(&dir, "active-passive");
    let store = topo.join(".meridian/state.json");
    let (hcl, _) = import(&store);
    let file = dir.join("imported.hcl");
    std::fs::write(&file, hcl).expect("written");
    let of_file = meridian(&["analyze", file.to_str().expect("UTF-8"), "--format", "json"]);
    assert_eq!(of_file.status.code(), Some(0), "{}", text(&of_file));
    let file_doc: serde_json::Value = serde_json::from_slice(&of_file.stdout).expect("JSON");
    let o = meridian(&[
        "analyze",
        "--zone",
        "example.com",
        "--live",
        "local",
        "--state",
        store.to_str().expect("UTF-8"),
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let live: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(live["services"], file_doc["services"]);
    assert!(
        live["services"]["billing"]["rto_floor_seconds"].is_number(),
        "{live}"
    );
    // --distribution of what is deployed is the distribution of its import.
    let dist = |args: &[&str]| {
        let o = meridian(&[args, &["--distribution", "--format", "json"]].concat());
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        serde_json::from_slice::<serde_json::Value>(&o.stdout).expect("JSON")["services"].clone()
    };
    let deployed = dist(&[
        "analyze",
        "--zone",
        "example.com",
        "--live",
        "local",
        "--state",
        store.to_str().expect("UTF-8"),
    ]);
    assert_eq!(deployed, dist(&["analyze", file.to_str().expect("UTF-8")]));
    assert!(deployed["billing"]["losses"].is_array(), "{deployed}");
    // A zone that is not there is said, not imported as nothing.
    let o = meridian(&[
        "import",
        "--zone",
        "example.org",
        "--live",
        "local",
        "--state",
        store.to_str().expect("UTF-8"),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o).contains("zone example.org is not in"),
        "{}",
        text(&o)
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// A zone another tool made (its own set identifiers, health checks with its own caller
/// references, no ownership markers) in a local store.
/// `meridian import` of example.com from the local store `store` into `infra/main.hcl`:
/// the file and its text.
fn import_to(store: &str, infra: &Path) -> (PathBuf, String) {
    let i = infra.to_str().expect("UTF-8");
    Run::new(&[
        "import",
        "--zone",
        "example.com",
        "--live",
        "local",
        "--state",
        store,
        "--out",
        i,
    ])
    .code(0);
    let main = infra.join("main.hcl");
    let hcl = std::fs::read_to_string(&main).expect("written");
    (main, hcl)
}

/// A JSON file (the local store, a manifest) as a value.
fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("the file")).expect("JSON")
}

/// [`foreign_zone`], changed by `edit` before it is written back.
fn foreign_zone_with(store: &Path, edit: impl FnOnce(&mut serde_json::Value)) {
    foreign_zone(store);
    let mut state = read_json(store);
    edit(&mut state);
    std::fs::write(store, state.to_string()).expect("written");
}

pub(crate) fn foreign_zone(store: &Path) {
    let set = |name: &str,
               t: &str,
               id: Option<&str>,
               values: &[&str],
               routing: serde_json::Value,
               check: Option<&str>| {
        let mut r = serde_json::json!({
            "zone": "example.com", "name": name, "type": t, "set_identifier": id, "ttl": 60,
            "values": values, "alias": null, "health_check_id": check,
        });
        for (k, v) in routing.as_object().expect("an object") {
            r[k] = v.clone();
        }
        r
    };
    let check = |id: &str, host: &str| {
        serde_json::json!({
            "id": id, "caller_reference": format!("terraform-{id}"), "version": 1,
            "config": {
                "type": "HTTPS", "fqdn": host, "ip_address": null, "port": 443,
                "resource_path": "/healthz", "request_interval": 10, "failure_threshold": 3,
                "regions": [], "search_string": null,
            },
        })
    };
    let simple = serde_json::json!({"routing": "simple"});
    let state = serde_json::json!({
        "format_version": 2, "lineage": "handmade00000001", "next_id": 10,
        "records": [
            set("example.com", "SOA", None, &["ns1.example.net. hm.example.com. 1 7200 900 1209600 86400"], simple.clone(), None),
            set("api.example.com", "CNAME", Some("api-use1"), &["api-use1.example.net"], serde_json::json!({"routing": "latency", "region": "us-east-1"}), Some("hc-a")),
            set("api.example.com", "CNAME", Some("api-euw1"), &["api-euw1.example.net"], serde_json::json!({"routing": "latency", "region": "eu-west-1"}), Some("hc-b")),
            set("pay.example.com", "A", Some("main"), &["192.0.2.1"], serde_json::json!({"routing": "failover", "role": "PRIMARY"}), None),
            set("pay.example.com", "A", Some("standby"), &["198.51.100.1"], serde_json::json!({"routing": "failover", "role": "SECONDARY"}), None),
            set("www.example.com", "A", None, &["192.0.2.9"], simple.clone(), None),
            // Beside the answers: a site verification, and mail at the apex.
            set("pay.example.com", "TXT", None, &["\"site-verification=x\""], simple.clone(), None),
            set("example.com", "MX", None, &["10 mx.example.net"], simple, None),
        ],
        "health_checks": [check("hc-a", "api-use1.example.net"), check("hc-b", "api-euw1.example.net")],
        "deleted_caller_references": [], "repositories": {}, "replication": {},
    });
    std::fs::write(store, serde_json::to_string_pretty(&state).expect("JSON")).expect("written");
}

#[test]
fn a_zone_another_tool_made_is_imported_adopted_and_plans_clean() {
    let dir = scratch("foreign");
    let store = dir.join("store.json");
    foreign_zone(&store);
    let (s, infra) = (store.to_str().expect("UTF-8"), dir.join("infra"));
    let i = infra.to_str().expect("UTF-8");
    let (main, hcl) = import_to(s, &infra);
    assert!(hcl.contains("set_identifier = \"api-use1\""), "{hcl}");
    assert!(
        hcl.contains("#   - www.example.com A: a plain record"),
        "{hcl}"
    );
    // The placeholders fail validation, each saying what to fill in.
    let out = Run::new(&["validate", i]).code(1);
    assert!(out.contains("FILL-IN-aws-region"), "{out}");
    std::fs::write(&main, hcl.replace("FILL-IN-aws-region", "us-east-1")).expect("filled in");
    // Before init, the names are another tool's.
    let out = Run::new(&["plan", i, "--state", s]).code(1);
    assert!(out.contains("records Meridian did not create"), "{out}");
    let out = Run::new(&["init", i, "--adopt", "--state", s]).code(0);
    assert!(
        out.contains("takes over 2 names and 2 health checks"),
        "{out}"
    );
    // The plan writes the ownership markers and nothing else: the records and the checks
    // (adopted by id) are as declared.
    let out = Run::new(&["plan", i, "--state", s, "--detailed-exitcode"]).code(2);
    assert!(
        out.contains("Plan: 2 to add, 0 to change, 0 to destroy."),
        "{out}"
    );
    assert!(
        out.contains("# owner.api will be created") && out.contains("# owner.pay will be created"),
        "{out}"
    );
    Run::new(&["apply", i, "--state", s, "--auto-approve"]).code(0);
    let out = Run::new(&["plan", i, "--state", s, "--detailed-exitcode"]).code(0);
    assert!(out.contains("No changes."), "{out}");
    // Again: nothing more to take over, and still nothing to change.
    let out = Run::new(&["init", i, "--adopt", "--state", s]).code(0);
    assert!(
        out.contains("takes over 0 names and 0 health checks"),
        "{out}"
    );
    Run::new(&["plan", i, "--state", s, "--detailed-exitcode"]).code(0);
    let live = read_json(&store);
    let checks: Vec<&str> = live["health_checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter_map(|h| h["id"].as_str())
        .collect();
    assert_eq!(
        checks,
        ["hc-a", "hc-b"],
        "the other tool's checks are kept, not replaced"
    );
    // What is not an answer at an adopted name is never taken over.
    let kept: Vec<(&str, &str)> = live["records"]
        .as_array()
        .expect("records")
        .iter()
        .filter_map(|r| Some((r["name"].as_str()?, r["type"].as_str()?)))
        .collect();
    assert!(kept.contains(&("pay.example.com", "TXT")), "{kept:?}");
    assert!(kept.contains(&("example.com", "MX")), "{kept:?}");
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(infra.join(".meridian/manifest.json")).expect("the manifest"),
    )
    .expect("JSON");
    assert_eq!(
        manifest["adopted"]["checks"]["health_check.api[\"us-east-1\"]"], "hc-a",
        "{manifest}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// A check two records share is not taken over (Meridian gives each region its own): the plan
/// creates the topology's own and says why; the shared one stays, never deleted.
#[test]
fn a_shared_health_check_is_not_taken_over_and_stays() {
    let dir = scratch("shared");
    let store = dir.join("store.json");
    foreign_zone_with(&store, |state| {
        for r in state["records"].as_array_mut().expect("records") {
            if r["name"] == "api.example.com" && r["type"] == "CNAME" {
                r["health_check_id"] = "hc-a".into();
            }
        }
    });
    let (s, infra) = (store.to_str().expect("UTF-8"), dir.join("infra"));
    let i = infra.to_str().expect("UTF-8");
    let (main, hcl) = import_to(s, &infra);
    std::fs::write(&main, hcl.replace("FILL-IN-aws-region", "us-east-1")).expect("filled in");
    let out = Run::new(&["init", i, "--adopt", "--state", s]).code(0);
    assert!(out.contains("not taken over: health check hc-a"), "{out}");
    assert!(out.contains("2 records use it"), "{out}");
    Run::new(&["apply", i, "--state", s, "--auto-approve"]).code(0);
    Run::new(&["plan", i, "--state", s, "--detailed-exitcode"]).code(0);
    let live = read_json(&store);
    let ids: Vec<&str> = live["health_checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter_map(|h| h["id"].as_str())
        .collect();
    assert!(ids.contains(&"hc-a"), "the shared check stays: {ids:?}");
    assert_eq!(
        ids.len(),
        4,
        "hc-a, hc-b and the topology's own two: {ids:?}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// Regions whose checks differ keep them: each region its own `health_check` (another path
/// and interval in one latency region; only the primary checked under failover, as Route 53's
/// guide builds it). Adopted as they are, the plan is clean, and the floor takes the slowest.
#[test]
fn regions_whose_checks_differ_keep_their_own() {
    let dir = scratch("differ");
    let store = dir.join("store.json");
    foreign_zone_with(&store, |state| {
        let b = &mut state["health_checks"][1]["config"];
        b["resource_path"] = "/status".into();
        b["request_interval"] = 30.into();
        let mut primary = state["health_checks"][0].clone();
        primary["id"] = "hc-p".into();
        primary["config"]["fqdn"] = serde_json::Value::Null;
        primary["config"]["ip_address"] = "192.0.2.1".into();
        primary["config"]["type"] = "TCP".into();
        primary["config"]["port"] = 8443.into();
        primary["config"]["resource_path"] = serde_json::Value::Null;
        state["health_checks"]
            .as_array_mut()
            .expect("checks")
            .push(primary);
        for r in state["records"].as_array_mut().expect("records") {
            if r["set_identifier"] == "main" {
                r["health_check_id"] = "hc-p".into();
            }
        }
    });
    let (s, infra) = (store.to_str().expect("UTF-8"), dir.join("infra"));
    let i = infra.to_str().expect("UTF-8");
    let (main, hcl) = import_to(s, &infra);
    assert_eq!(hcl.matches("health_check {").count(), 3, "{hcl}");
    assert!(hcl.contains("path              = \"/status\""), "{hcl}");
    assert!(!hcl.contains("a plan makes the others like it"), "{hcl}");
    std::fs::write(&main, hcl.replace("FILL-IN-aws-region", "us-east-1")).expect("filled in");
    let out = Run::new(&["init", i, "--adopt", "--state", s]).code(0);
    assert!(
        out.contains("takes over 2 names and 3 health checks"),
        "{out}"
    );
    let out = Run::new(&["plan", i, "--state", s, "--detailed-exitcode"]).code(2);
    assert!(
        out.contains("Plan: 2 to add, 0 to change, 0 to destroy."),
        "{out}"
    );
    Run::new(&["apply", i, "--state", s, "--auto-approve"]).code(0);
    Run::new(&["plan", i, "--state", s, "--detailed-exitcode"]).code(0);
    // api: the slower region's check decides (30 s x 3), the TTL after it.
    let out = Run::new(&["analyze", i, "--format", "json"]).code(0);
    let a: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    let floors: Vec<f64> = a["services"]["api"]["region_losses"]
        .as_array()
        .expect("losses")
        .iter()
        .filter_map(|l| l["floor_seconds"].as_f64())
        .collect();
    assert_eq!(
        floors,
        [150.0, 90.0],
        "eu-west-1 (30 s x 3 + 60), us-east-1 (10 s x 3 + 60): {a}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// Import never writes over a topology, nor beside one's other files, unasked.
#[test]
fn import_writes_over_nothing_unasked() {
    let dir = scratch("over");
    let store = dir.join("store.json");
    foreign_zone(&store);
    let (s, infra) = (store.to_str().expect("UTF-8"), dir.join("infra"));
    let i = infra.to_str().expect("UTF-8");
    import_to(s, &infra);
    // Import never writes over a topology, nor beside one's other files, unasked.
    let again = Run::new(&[
        "import",
        "--zone",
        "example.com",
        "--live",
        "local",
        "--state",
        s,
        "--out",
        i,
    ])
    .code(1);
    assert!(again.contains("main.hcl exists; pass --force"), "{again}");
    std::fs::write(infra.join("other.hcl"), "# another file\n").expect("written");
    let beside = Run::new(&[
        "import",
        "--zone",
        "example.com",
        "--live",
        "local",
        "--state",
        s,
        "--out",
        i,
    ])
    .code(1);
    assert!(beside.contains("holds other .hcl files"), "{beside}");
    let _ = std::fs::remove_dir_all(dir);
}
