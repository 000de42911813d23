//! Plan and apply against the local state store: round trips, edits, stale plans, failures
//! injected mid-apply, ownership, locking, and the store's strictness.

// Tests and benchmarks may unwrap (a panic is a failure) and run long: the lints in
// Cargo.toml are for src/.
#![allow(clippy::unwrap_used, clippy::too_many_lines)]

use crate::support::bin::{meridian_in as meridian, text as text_of};
use meridian::dns::{ChangeAction, RecordType, RoutingPolicy};
use meridian::graph::{Kind, ResourceGraph};
use meridian::identity::Identity;
use meridian::model::Topology;
use meridian::plan::apply::{apply, Status};
use meridian::plan::{self, Action, Input, Options, Plan, SourceText};
use meridian::provider::local::LocalStore;
use meridian::provider::{Done, LiveState, Op, Provider, ProviderError, RecordChange, Scope};
use meridian::source::Sources;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

fn tempdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("meridian-plan-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A valid topology named "t", its graph and its file: what a plan is made from.
struct Fixture {
    topology: Topology,
    graph: ResourceGraph,
    sources: Vec<SourceText>,
    /// Id "t": its caller references and markers carry it.
    identity: Identity,
}

impl Fixture {
    fn input(&self) -> Input<'_> {
        Input {
            topology: &self.topology,
            graph: &self.graph,
            sources: &self.sources,
            identity: &self.identity,
            backend: None,
        }
    }
}

impl std::ops::Deref for Fixture {
    type Target = ResourceGraph;
    fn deref(&self) -> &ResourceGraph {
        &self.graph
    }
}

fn graph(text: &str) -> Fixture {
    let sources = Sources::from_texts([("t.hcl", text.to_string())]);
    let checked = meridian::check(&sources);
    let mut t = checked
        .valid()
        .unwrap_or_else(|| panic!("{:?}", checked.diagnostics))
        .clone();
    t.name = Some("t".into());
    Fixture {
        graph: ResourceGraph::build(&t),
        topology: t,
        sources: vec![SourceText {
            name: "t.hcl".into(),
            text: text.to_string(),
        }],
        identity: Identity::known("t"),
    }
}

/// `text` without the block that starts at `head` (up to its closing brace at the same
/// indentation).
fn without_block(text: &str, head: &str) -> String {
    let start = text.find(head).unwrap();
    let line = &text[text[..start].rfind('\n').map_or(0, |i| i + 1)..];
    let indent = &line[..line.len() - line.trim_start().len()];
    let close = format!("\n{indent}}}\n");
    let end = start + text[start..].find(&close).unwrap() + close.len();
    format!("{}{}", &text[..start], &text[end..])
}

fn example(name: &str) -> String {
    let dir = Path::new("examples").join(name);
    let mut text = String::new();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for f in files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "hcl"))
    {
        text.push_str(&std::fs::read_to_string(f).unwrap());
    }
    text
}

fn plan_of(g: &Fixture, p: &dyn Provider) -> Plan {
    plan::plan(
        &g.input(),
        p,
        &Options::default(),
        plan::new_plan_id("test"),
    )
    .unwrap()
}

fn actions(p: &Plan) -> Vec<(String, Vec<Action>, Option<String>)> {
    p.resource_changes
        .iter()
        .filter(|c| !c.is_no_op())
        .map(|c| {
            (
                c.address.clone(),
                c.change.actions.clone(),
                c.action_reason.clone(),
            )
        })
        .collect()
}

fn store(dir: &Path) -> LocalStore {
    LocalStore::open(&dir.join("state.json"), None).unwrap()
}

#[test]
fn round_trip_on_every_example() {
    for e in [
        "active-passive",
        "active-active-partitioned",
        "active-active-anycast",
    ] {
        let dir = tempdir(e);
        let s = store(&dir);
        let g = graph(&example(e));
        let first = plan_of(&g, &s);
        assert!(
            first
                .resource_changes
                .iter()
                .all(|c| c.change.actions == [Action::Create]),
            "{e}"
        );
        assert_eq!(first.summary.add, g.resources().len());
        let out = apply(&first, &s, 10);
        assert!(s.dangling_checks().is_empty(), "{:?}", s.dangling_checks());
        assert!(out.succeeded(), "{e}: {out:?}");
        let again = plan_of(&g, &s);
        assert!(!again.has_changes(), "{e}: {:?}", actions(&again));
        // A no-op shows the same attributes before and after (the diff does not rebuild the
        // before of a change it knows unchanged), and they are the resource's, not empty.
        let mut kinds = std::collections::BTreeSet::new();
        for c in &again.resource_changes {
            let before = c.change.before.as_ref().map(meridian::plan::Attrs::value);
            let after = c.change.after.as_ref().map(meridian::plan::Attrs::value);
            assert_eq!(before, after, "{e}: {}", c.address);
            let fields = after
                .as_ref()
                .and_then(|v| v.as_object())
                .map_or(0, |o| o.len());
            assert!(fields >= 2, "{e}: {} shows {after:?}", c.address);
            assert_eq!(
                c.change.after_unknown.value(),
                serde_json::json!({}),
                "{e}: {}",
                c.address
            );
            kinds.insert(c.kind);
        }
        for k in [Kind::Owner, Kind::Record] {
            assert!(kinds.contains(&k), "{e}: no {k:?} among the no-ops");
        }
        let checks = e != "active-active-anycast"; // the anycast example has none
        assert_eq!(kinds.contains(&Kind::HealthCheck), checks, "{e}");
        // A fresh process reading the file sees the same.
        let reread = plan_of(&g, &store(&dir));
        assert!(!reread.has_changes());
    }
}

#[test]
fn edits_produce_update_delete_and_replace_with_reasons() {
    let dir = tempdir("edits");
    let s = store(&dir);
    let base = example("active-active-partitioned");
    assert!(apply(&plan_of(&graph(&base), &s), &s, 10).succeeded());
    assert!(s.dangling_checks().is_empty(), "{:?}", s.dangling_checks());

    // Health-check interval: immutable, so replace; the records then point at new checks.
    let edited = base.replace("    interval          = 10", "    interval          = 30");
    let p = plan_of(&graph(&edited), &s);
    let a = actions(&p);
    let check = a
        .iter()
        .find(|(addr, ..)| addr == r#"health_check.api["eu-west-1"]"#)
        .unwrap();
    assert_eq!(check.1, [Action::Delete, Action::Create]);
    assert_eq!(check.2.as_deref(), Some("replace_because_cannot_update"));
    let c = p
        .resource_changes
        .iter()
        .find(|c| c.address == check.0)
        .unwrap();
    assert_eq!(c.replace_paths, ["request_interval"]);
    let rec = a
        .iter()
        .find(|(addr, ..)| addr == r#"record.api["eu-west-1"]"#)
        .unwrap();
    assert_eq!(rec.1, [Action::Update]);

    // A region removed: its record and health check are deleted.
    let removed = without_block(&base, "  region \"ap-southeast-1\"");
    let p = plan_of(&graph(&removed), &s);
    let mut a = actions(&p);
    a.sort();
    assert_eq!(
        a,
        [
            (
                r#"health_check.api["ap-southeast-1"]"#.to_string(),
                vec![Action::Delete],
                Some("delete_because_no_resource_config".to_string())
            ),
            (
                r#"record.api["ap-southeast-1"]"#.to_string(),
                vec![Action::Delete],
                Some("delete_because_no_resource_config".to_string())
            ),
        ]
    );
    assert!(apply(&p, &s, 10).succeeded());
    assert!(s.dangling_checks().is_empty(), "{:?}", s.dangling_checks());
    assert!(!plan_of(&graph(&removed), &s).has_changes());

    // TTL on a CNAME service: update in place.
    let dir = tempdir("edits-ttl");
    let s = store(&dir);
    let ap = example("active-passive");
    assert!(apply(&plan_of(&graph(&ap), &s), &s, 10).succeeded());
    assert!(s.dangling_checks().is_empty(), "{:?}", s.dangling_checks());
    let p = plan_of(&graph(&ap.replace("  ttl     = 60", "  ttl     = 30")), &s);
    let a = actions(&p);
    assert_eq!(a.len(), 2);
    assert!(a
        .iter()
        .all(|(addr, act, _)| addr.starts_with("record.billing") && act == &[Action::Update]));
    let c = &p
        .resource_changes
        .iter()
        .find(|c| c.address == r#"record.billing["us-east-1"]"#)
        .unwrap()
        .change;
    assert_eq!(c.before.as_ref().unwrap().value()["ttl"], 60);
    assert_eq!(c.after.as_ref().unwrap().value()["ttl"], 30);
}

/// A provider that fails every operation after the first `ok` ones.
struct Failing<'a> {
    inner: &'a LocalStore,
    ok: usize,
    seen: AtomicUsize,
}

impl Provider for Failing<'_> {
    fn source(&self) -> meridian::provider::LiveSource {
        self.inner.source()
    }
    fn read(&self, scope: &Scope) -> Result<LiveState, ProviderError> {
        self.inner.read(scope)
    }
    fn apply(&self, ops: &[Op], p: usize) -> Vec<Result<Done, ProviderError>> {
        ops.iter()
            .map(|op| {
                if self.seen.fetch_add(1, Ordering::SeqCst) >= self.ok {
                    Err(ProviderError::Io("injected failure".into()))
                } else {
                    self.inner.apply(std::slice::from_ref(op), p).remove(0)
                }
            })
            .collect()
    }
}

#[test]
fn an_interrupted_apply_resumes_without_duplicates_or_losses() {
    let text = example("active-active-partitioned");
    let g = graph(&text);
    // Fail after each possible number of operations.
    for ok in 0..6 {
        let dir = tempdir(&format!("fail{ok}"));
        let s = store(&dir);
        let p = plan_of(&g, &s);
        let failing = Failing {
            inner: &s,
            ok,
            seen: AtomicUsize::new(0),
        };
        let out = apply(&p, &failing, 10);
        assert!(!out.succeeded(), "ok={ok}");
        // Work that depends on a failed step was not attempted.
        if ok < 3 {
            assert!(
                out.changes
                    .iter()
                    .any(|c| matches!(c.status, Status::Skipped { .. })),
                "ok={ok}: {out:?}"
            );
        }
        // The next plan shows only what remains...
        let remaining = plan_of(&g, &s);
        let done: Vec<&str> = out
            .changes
            .iter()
            .filter(|c| c.status == Status::Done)
            .map(|c| c.address.as_str())
            .collect();
        for c in remaining.resource_changes.iter().filter(|c| !c.is_no_op()) {
            assert!(
                !done.contains(&c.address.as_str()),
                "ok={ok}: {} done but planned again",
                c.address
            );
        }
        // ...and applying it converges with exactly one health check per region.
        assert!(apply(&remaining, &s, 10).succeeded(), "ok={ok}");
        assert!(s.dangling_checks().is_empty(), "{:?}", s.dangling_checks());
        assert!(!plan_of(&g, &s).has_changes(), "ok={ok}");
        let live = s.read(&plan::scope(&g)).unwrap();
        assert_eq!(live.health_checks.len(), 3, "ok={ok}");
        assert_eq!(
            live.records.len(),
            4,
            "ok={ok}: 3 regions + the ownership marker"
        );
    }
}

#[test]
fn retrying_the_same_plan_gets_the_same_health_checks_back() {
    let dir = tempdir("retry");
    let s = store(&dir);
    let g = graph(&example("active-passive"));
    let p = plan_of(&g, &s);
    // First attempt: only the health checks are created, then everything fails.
    let failing = Failing {
        inner: &s,
        ok: 2,
        seen: AtomicUsize::new(0),
    };
    assert!(!apply(&p, &failing, 10).succeeded());
    // The same plan again (a retried apply): same caller references, no duplicates.
    assert!(apply(&p, &s, 10).succeeded());
    let live = s.read(&plan::scope(&g)).unwrap();
    assert_eq!(live.health_checks.len(), 2);
}

fn seed(s: &LocalStore, zone: &str, name: &str, set: Option<&str>) {
    let record = meridian::provider::RecordSet {
        zone: zone.into(),
        name: name.into(),
        record_type: RecordType::A,
        set_identifier: set.map(String::from),
        ttl: Some(300),
        values: vec!["192.0.2.50".into()],
        alias: None,
        routing: match set {
            Some(_) => RoutingPolicy::Latency {
                region: "us-east-1".into(),
            },
            None => RoutingPolicy::Simple,
        },
        health_check_id: None,
    };
    let r = s.apply(
        &[Op::ChangeRecords {
            zone: zone.into(),
            changes: vec![RecordChange {
                action: ChangeAction::Create,
                record,
            }],
        }],
        1,
    );
    r.into_iter().for_each(|x| {
        x.unwrap();
    });
}

#[test]
fn what_meridian_does_not_own_is_never_touched() {
    let dir = tempdir("foreign");
    let s = store(&dir);
    // A record at a name no service declares, and a health check without Meridian's marker.
    seed(&s, "example.com", "www.example.com", None);
    s.apply(
        &[Op::CreateHealthCheck {
            caller_reference: "someone-else-1".into(),
            config: meridian::graph::HealthCheckSpec {
                kind: meridian::model::HealthCheckType::Tcp,
                fqdn: Some("db.example.com".into()),
                ip_address: None,
                port: 5432,
                resource_path: None,
                request_interval: 30,
                failure_threshold: 3,
                regions: vec![],
                search_string: None,
            },
        }],
        1,
    )
    .remove(0)
    .unwrap();
    let g = graph(&example("active-active-partitioned"));
    let p = plan_of(&g, &s);
    assert!(
        p.untouched.iter().any(|u| matches!(
            u,
            meridian::plan::Untouched::Record { name, .. } if name == "www.example.com"
        )),
        "{:?}",
        p.untouched
    );
    assert!(apply(&p, &s, 10).succeeded());
    // Remove every service: Meridian deletes its own records and checks, nothing else.
    let empty = graph("registry \"images\" {\n source = \"us-east-1\"\n destinations = [\"eu-west-1\"]\n repositories = [\"api\"]\n}\n");
    let mut scope = plan::scope(&g);
    scope.regions.push("us-east-1".into());
    let p = plan::plan_against(
        &empty.input(),
        s.read(&scope).unwrap(),
        s.source(),
        &Options::default(),
        "x".into(),
    )
    .unwrap();
    assert!(apply(&p, &s, 10).succeeded());
    let live = s.read(&scope).unwrap();
    assert_eq!(live.records.len(), 1, "{:?}", live.records);
    assert_eq!(live.records[0].name, "www.example.com");
    assert_eq!(live.health_checks.len(), 1);
    assert_eq!(live.health_checks[0].caller_reference, "someone-else-1");
}

#[test]
fn a_declared_name_holding_foreign_records_needs_adopt() {
    let dir = tempdir("adopt");
    let s = store(&dir);
    seed(&s, "example.com", "api.example.com", Some("legacy"));
    let g = graph(&example("active-active-partitioned"));
    let err = plan::plan(&g.input(), &s, &Options::default(), "x".into()).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("api.example.com") && msg.contains("A legacy"),
        "{msg}"
    );
    // With --adopt the foreign record is replaced by the declared ones.
    let opts = Options {
        adopt: true,
        targets: vec![],
        ..Options::default()
    };
    let p = plan::plan(&g.input(), &s, &opts, "x".into()).unwrap();
    let legacy = p
        .resource_changes
        .iter()
        .find(|c| c.address == r#"record.api["legacy"]"#)
        .unwrap();
    assert_eq!(legacy.change.actions, [Action::Delete]);
    assert!(apply(&p, &s, 10).succeeded());
    assert!(!plan_of(&g, &s).has_changes());
}

#[test]
fn target_limits_the_plan_to_a_resource_and_its_dependencies() {
    let dir = tempdir("target");
    let s = store(&dir);
    let g = graph(&example("active-active-partitioned"));
    let opts = Options {
        adopt: false,
        targets: vec![r#"record.api["eu-west-1"]"#.into()],
        ..Options::default()
    };
    let p = plan::plan(&g.input(), &s, &opts, "x".into()).unwrap();
    let mut addrs: Vec<&str> = p
        .resource_changes
        .iter()
        .map(|c| c.address.as_str())
        .collect();
    addrs.sort();
    assert_eq!(
        addrs,
        [
            r#"health_check.api["eu-west-1"]"#,
            "owner.api",
            r#"record.api["eu-west-1"]"#
        ]
    );
    assert!(apply(&p, &s, 10).succeeded());
    let bad = Options {
        adopt: false,
        targets: vec!["record.nope".into()],
        ..Options::default()
    };
    assert!(plan::plan(&g.input(), &s, &bad, "x".into()).is_err());
}

#[test]
fn the_local_store_is_strict() {
    let dir = tempdir("strict");
    let s = store(&dir);
    seed(&s, "example.com", "a.example.com", None);
    let live = s
        .read(&Scope {
            zones: vec!["example.com".into()],
            regions: vec![],
            tag_prefixes: vec![],
            names: vec![],
            records_only: false,
        })
        .unwrap();
    let mut wrong = live.records[0].clone();
    wrong.values = vec!["192.0.2.99".into()];
    let batch = |changes: Vec<RecordChange>| Op::ChangeRecords {
        zone: "example.com".into(),
        changes,
    };
    // A DELETE must carry the exact live values.
    let r = s.apply(
        &[batch(vec![RecordChange {
            action: ChangeAction::Delete,
            record: wrong.clone(),
        }])],
        1,
    );
    assert!(matches!(r[0], Err(ProviderError::Invalid(_))), "{r:?}");
    // A batch is all or nothing: a valid CREATE next to a failing one is not kept.
    let mut fresh = live.records[0].clone();
    fresh.name = "b.example.com".into();
    let r = s.apply(
        &[batch(vec![
            RecordChange {
                action: ChangeAction::Create,
                record: fresh.clone(),
            },
            RecordChange {
                action: ChangeAction::Create,
                record: live.records[0].clone(),
            },
        ])],
        1,
    );
    assert!(matches!(r[0], Err(ProviderError::AlreadyExists { .. })));
    let after = s
        .read(&Scope {
            zones: vec!["example.com".into()],
            regions: vec![],
            tag_prefixes: vec![],
            names: vec![],
            records_only: false,
        })
        .unwrap();
    assert_eq!(after.records.len(), 1);
    // A CNAME beside another record is refused.
    let mut cname = live.records[0].clone();
    cname.record_type = RecordType::Cname;
    cname.values = vec!["x.example.com".into()];
    assert!(s.apply(
        &[batch(vec![RecordChange {
            action: ChangeAction::Create,
            record: cname
        }])],
        1
    )[0]
    .is_err());
    // Health checks: a stale version conflicts, a used check cannot be deleted, a deleted
    // check's caller reference is never reused.
    let spec = meridian::graph::HealthCheckSpec {
        kind: meridian::model::HealthCheckType::Http,
        fqdn: Some("a.example.com".into()),
        ip_address: None,
        port: 80,
        resource_path: None,
        request_interval: 30,
        failure_threshold: 3,
        regions: vec![],
        search_string: None,
    };
    let create = Op::CreateHealthCheck {
        caller_reference: "ref-1".into(),
        config: spec.clone(),
    };
    let Ok(Done::HealthCheck(id)) = s.apply(std::slice::from_ref(&create), 1).remove(0) else {
        panic!()
    };
    let Ok(Done::HealthCheck(again)) = s.apply(std::slice::from_ref(&create), 1).remove(0) else {
        panic!()
    };
    assert_eq!(
        id, again,
        "the same caller reference returns the same check"
    );
    let mut changed = spec.clone();
    changed.failure_threshold = 5;
    assert!(s.apply(
        &[Op::UpdateHealthCheck {
            id: id.clone(),
            version: 1,
            config: changed.clone(),
            reset: vec![],
        }],
        1
    )[0]
    .is_ok());
    let r = s.apply(
        &[Op::UpdateHealthCheck {
            id: id.clone(),
            version: 1,
            config: changed,
            reset: vec![],
        }],
        1,
    );
    assert!(
        matches!(
            r[0],
            Err(ProviderError::Conflict {
                expected: 1,
                actual: Some(2),
                ..
            })
        ),
        "{r:?}"
    );
    let mut user = live.records[0].clone();
    user.health_check_id = Some(id.clone());
    assert!(s.apply(
        &[batch(vec![RecordChange {
            action: ChangeAction::Upsert,
            record: user.clone()
        }])],
        1
    )[0]
    .is_ok());
    // Like Route 53, the store deletes a check a record still uses: the record is left
    // pointing at nothing, which `dangling_checks` reports (tests assert it never happens).
    assert!(s.dangling_checks().is_empty());
    assert!(s.apply(&[Op::DeleteHealthCheck { id: id.clone() }], 1)[0].is_ok());
    assert_eq!(s.dangling_checks().len(), 1);
    assert!(s.apply(
        &[batch(vec![RecordChange {
            action: ChangeAction::Delete,
            record: user
        }])],
        1
    )[0]
    .is_ok());
    assert!(s.dangling_checks().is_empty());
    assert!(
        s.apply(&[Op::DeleteHealthCheck { id }], 1)[0].is_err(),
        "already deleted"
    );
    assert!(
        s.apply(&[create], 1)[0].is_err(),
        "a deleted check's caller reference is refused"
    );
}

fn copy_example(name: &str, to: &Path) -> PathBuf {
    let dst = to.join(name);
    std::fs::create_dir_all(&dst).unwrap();
    for f in std::fs::read_dir(Path::new("examples").join(name)).unwrap() {
        let f = f.unwrap().path();
        std::fs::copy(&f, dst.join(f.file_name().unwrap())).unwrap();
    }
    dst
}

#[test]
fn cli_round_trip_exit_codes_and_stale_plans() {
    let dir = tempdir("cli");
    copy_example("active-passive", &dir);
    let o = meridian(&dir, &["plan", "active-passive", "--detailed-exitcode"]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.starts_with("Live state: local state store /")
            && text
                .lines()
                .next()
                .is_some_and(|l| l.ends_with("active-passive/.meridian/state.json")),
        "{text}"
    );
    assert!(
        text.contains("Plan: 8 to add, 0 to change, 0 to destroy."),
        "{text}"
    );
    // Without a terminal, apply needs --auto-approve and changes nothing.
    let o = meridian(&dir, &["apply", "active-passive"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--auto-approve"));
    assert!(!dir.join("active-passive/.meridian/state.json").exists());
    let o = meridian(&dir, &["apply", "active-passive", "--auto-approve"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    let o = meridian(&dir, &["plan", "active-passive", "--detailed-exitcode"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );

    // A saved plan goes stale when another client changes a record it touches.
    let main = dir.join("active-passive/main.hcl");
    let hcl = std::fs::read_to_string(&main)
        .unwrap()
        .replace("  ttl     = 60", "  ttl     = 30");
    std::fs::write(&main, hcl).unwrap();
    let o = meridian(&dir, &["plan", "active-passive", "--out", "plan.json"]);
    assert_eq!(o.status.code(), Some(0));
    let state = dir.join("active-passive/.meridian/state.json");
    let mut live: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    for r in live["records"].as_array_mut().unwrap() {
        if r["set_identifier"] == "billing-us-east-1" {
            r["ttl"] = serde_json::json!(99);
        }
    }
    std::fs::write(&state, serde_json::to_string(&live).unwrap()).unwrap();
    let o = meridian(&dir, &["apply", "plan.json"]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("stale") && err.contains(r#"record.billing["us-east-1"]"#),
        "{err}"
    );
    // A fresh saved plan applies, and applying it twice is harmless.
    let o = meridian(&dir, &["plan", "active-passive", "--out", "plan.json"]);
    assert_eq!(o.status.code(), Some(0));
    let o = meridian(&dir, &["apply", "plan.json"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = meridian(&dir, &["apply", "plan.json"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stdout).contains("already applied"));
    // A saved plan names its store by absolute path: it applies from any directory.
    let hcl = std::fs::read_to_string(&main)
        .unwrap()
        .replace("  ttl     = 30", "  ttl     = 40");
    std::fs::write(&main, hcl).unwrap();
    assert_eq!(
        meridian(&dir, &["plan", "active-passive", "--out", "plan.json"])
            .status
            .code(),
        Some(0)
    );
    let elsewhere = dir.join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let o = meridian(&elsewhere, &["apply", "../plan.json"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        !elsewhere.join(".meridian").exists(),
        "no second store was started"
    );
    let o = meridian(&dir, &["plan", "active-passive", "--detailed-exitcode"]);
    assert_eq!(o.status.code(), Some(0));
}

#[test]
fn a_second_apply_waits_for_or_fails_on_the_lock() {
    let dir = tempdir("lock");
    copy_example("active-passive", &dir);
    let lock = dir.join("active-passive/.meridian/state.json.lock");
    std::fs::create_dir_all(lock.parent().unwrap()).unwrap();
    std::fs::write(&lock, "{\"pid\": 4242, \"since_unix\": 1}").unwrap();
    let o = meridian(&dir, &["apply", "active-passive", "--auto-approve"]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("locked") && err.contains("4242"), "{err}");
    assert!(
        !dir.join("active-passive/.meridian/state.json").exists(),
        "nothing applied"
    );
    std::fs::remove_file(&lock).unwrap();
    let o = meridian(&dir, &["apply", "active-passive", "--auto-approve"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(!lock.exists(), "the lock is released");
}

#[test]
fn plan_snapshots_in_three_formats() {
    let dir = tempdir("snap");
    copy_example("active-active-partitioned", &dir);
    assert_eq!(
        meridian(
            &dir,
            &["apply", "active-active-partitioned", "--auto-approve"]
        )
        .status
        .code(),
        Some(0)
    );
    let main = dir.join("active-active-partitioned/main.hcl");
    let text = std::fs::read_to_string(&main).unwrap();
    let edited = without_block(&text, "  region \"ap-southeast-1\"")
        .replace("    interval          = 10", "    interval          = 30")
        .replace("    failure_threshold = 3", "    failure_threshold = 2");
    std::fs::write(&main, edited).unwrap();
    let where_ = std::fs::canonicalize(&dir).unwrap().display().to_string();
    // The topology id is random, minted by the first apply; caller references carry its hash.
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("active-active-partitioned/.meridian/manifest.json"))
            .unwrap(),
    )
    .unwrap();
    let id = manifest["topology_id"].as_str().unwrap().to_string();
    let id_hash = format!("m3-{}-", meridian::hash::hex(&id, 8));
    let redact = |s: String| {
        let s = s
            .replace(&where_, "[dir]")
            .replace(&id, "[topology id]")
            .replace(&id_hash, "m3-[topology]-");
        let mut out = String::new();
        for line in s.lines() {
            let line = match (line.find("; plan "), line.find("\"plan_id\": \"")) {
                (Some(i), _) => format!("{}; plan [id])", &line[..i]),
                (_, Some(i)) => format!("{}\"plan_id\": \"[id]\",", &line[..i]),
                _ if line.contains("\"timestamp\": \"") => match line.find("\"timestamp\"") {
                    Some(i) => format!("{}\"timestamp\": \"[time]\",", &line[..i]),
                    None => line.to_string(),
                },
                // A caller reference ends with the random plan id of the apply that made it.
                _ if line.contains("\"caller_reference\": \"") => match line.rfind('-') {
                    Some(i) => format!("{}-[plan]\",", &line[..i]),
                    None => line.to_string(),
                },
                _ => line.to_string(),
            };
            out.push_str(&line);
            out.push('\n');
        }
        out
    };
    for format in ["human", "json", "markdown"] {
        let o = meridian(
            &dir,
            &[
                "plan",
                "active-active-partitioned",
                "--format",
                format,
                "--detailed-exitcode",
            ],
        );
        assert_eq!(o.status.code(), Some(2));
        let mut text = redact(String::from_utf8_lossy(&o.stdout).into_owned());
        if format == "json" {
            // The embedded sources and prior state are long and covered elsewhere.
            let mut doc: serde_json::Value = serde_json::from_str(&text).unwrap();
            doc["sources"] = serde_json::json!("[sources]");
            doc["prior_state"] = serde_json::json!("[prior state]");
            // It hashes caller references, which hold the random plan id of the first apply.
            doc["prior_fingerprint"] = serde_json::json!("[fingerprint]");
            // Random, set by the store's first write.
            doc["live_source"]["lineage"] = serde_json::json!("[lineage]");
            text = serde_json::to_string_pretty(&doc).unwrap();
        }
        insta::with_settings!({
            snapshot_path => "../../snapshots",
            prepend_module_to_snapshot => false,
            omit_expression => true,
        }, {
            insta::assert_snapshot!(format!("plan__edit__{format}"), text);
        });
    }
}

fn zone_scope(g: &ResourceGraph) -> Scope {
    plan::scope(g)
}

#[test]
fn a_duplicate_health_check_is_its_own_delete_and_the_plan_converges() {
    let dir = tempdir("dup");
    let s = store(&dir);
    let g = graph(&example("active-passive"));
    let outcome = apply(&plan_of(&g, &s), &s, 10);
    assert!(outcome.succeeded());
    // A second check for one address, as an interrupted apply of another plan would leave.
    let live = s.read(&zone_scope(&g)).unwrap();
    let original = &live.health_checks[0];
    let address = outcome
        .changes
        .iter()
        .find(|c| c.ids.contains(&original.id))
        .unwrap()
        .address
        .clone();
    let dup_ref = Identity::known("t").caller_reference(&address, "example.com", "otherpln");
    s.apply(
        &[Op::CreateHealthCheck {
            caller_reference: dup_ref,
            config: original.config.clone(),
        }],
        1,
    )
    .remove(0)
    .unwrap();
    let p = plan_of(&g, &s);
    let a = actions(&p);
    assert_eq!(a.len(), 1, "{a:?}");
    assert!(
        a[0].0.contains("duplicate") && a[0].1 == [Action::Delete],
        "{a:?}"
    );
    assert_eq!(a[0].2.as_deref(), Some("delete_because_duplicate"));
    assert!(apply(&p, &s, 10).succeeded());
    assert!(!plan_of(&g, &s).has_changes());
    assert_eq!(s.read(&zone_scope(&g)).unwrap().health_checks.len(), 2);
}

#[test]
fn a_changed_domain_moves_the_records_with_distinct_addresses() {
    let dir = tempdir("rename");
    let s = store(&dir);
    let text = example("active-active-partitioned");
    assert!(apply(&plan_of(&graph(&text), &s), &s, 10).succeeded());
    let moved = text.replace(
        "domain  = \"api.example.com\"",
        "domain  = \"edge.example.com\"",
    );
    let g = graph(&moved);
    let p = plan_of(&g, &s);
    let addresses: Vec<&str> = p
        .resource_changes
        .iter()
        .map(|c| c.address.as_str())
        .collect();
    let unique: std::collections::BTreeSet<&str> = addresses.iter().copied().collect();
    assert_eq!(
        unique.len(),
        addresses.len(),
        "addresses are unique: {addresses:?}"
    );
    assert!(
        addresses.contains(&r#"record.api["eu-west-1@api.example.com"]"#),
        "{addresses:?}"
    );
    assert!(
        addresses.contains(&r#"owner.api["api.example.com"]"#),
        "{addresses:?}"
    );
    assert!(apply(&p, &s, 10).succeeded());
    assert!(!plan_of(&g, &s).has_changes());
    let live = s.read(&zone_scope(&g)).unwrap();
    assert!(
        live.records
            .iter()
            .all(|r| !r.name.contains("api.example.com")),
        "{:?}",
        live.records
    );
}

#[test]
fn records_added_by_someone_else_at_an_owned_name_stop_the_plan() {
    let dir = tempdir("added");
    let s = store(&dir);
    let g = graph(&example("active-active-partitioned"));
    assert!(apply(&plan_of(&g, &s), &s, 10).succeeded());
    // Someone adds a TXT record at the service's name.
    let txt = meridian::provider::RecordSet {
        zone: "example.com".into(),
        name: "api.example.com".into(),
        record_type: RecordType::Txt,
        set_identifier: None,
        ttl: Some(300),
        values: vec!["\"site-verification=abc\"".into()],
        alias: None,
        routing: RoutingPolicy::Simple,
        health_check_id: None,
    };
    s.apply(
        &[Op::ChangeRecords {
            zone: "example.com".into(),
            changes: vec![RecordChange {
                action: ChangeAction::Create,
                record: txt,
            }],
        }],
        1,
    )
    .remove(0)
    .unwrap();
    let err = plan::plan(&g.input(), &s, &Options::default(), "x".into())
        .unwrap_err()
        .to_string();
    assert!(err.contains("TXT"), "{err}");
}

#[test]
fn health_checks_of_a_removed_zone_wait_until_the_zone_is_read() {
    let dir = tempdir("zones");
    let s = store(&dir);
    let text = example("active-active-partitioned");
    assert!(apply(&plan_of(&graph(&text), &s), &s, 10).succeeded());
    let without = without_block(&text, "service \"api\"");
    // The zone is no longer read: the checks stay, and the plan says why.
    let p = plan_of(&graph(&without), &s);
    assert!(
        !p.resource_changes
            .iter()
            .any(|c| c.kind == meridian::graph::Kind::HealthCheck),
        "{:?}",
        actions(&p)
    );
    assert!(
        p.untouched.iter().any(|u| matches!(
            u,
            meridian::plan::Untouched::HealthCheck {
                why: meridian::plan::UntouchedWhy::ZoneNotRead,
                ..
            }
        )),
        "{:?}",
        p.untouched
    );
    // Listed in `zones`, the records, the marker and then the checks are deleted.
    let mut g = graph(&without);
    g.topology.zones = vec!["example.com".into()];
    let p = plan::plan(&g.input(), &s, &Options::default(), "x".into()).unwrap();
    let deleted = p
        .resource_changes
        .iter()
        .filter(|c| c.change.actions == [Action::Delete])
        .count();
    assert_eq!(deleted, 3 + 3 + 1, "{:?}", actions(&p));
    assert!(apply(&p, &s, 10).succeeded());
    let live = s
        .read(&Scope {
            zones: vec!["example.com".into()],
            regions: vec![],
            tag_prefixes: vec![],
            names: vec![],
            records_only: false,
        })
        .unwrap();
    assert!(
        live.records.is_empty() && live.health_checks.is_empty(),
        "{live:?}"
    );
}

/// ECR replication rules are owned by what the manifest says was written, exactly: a
/// hand-made rule whose prefix filter reaches a declared repository is left alone and
/// reported as a conflict; another topology's rule in the same source region survives both
/// topologies' applies; removing a registry removes only its own rule.
#[test]
fn replication_rules_are_owned_exactly_and_others_are_kept() {
    let dir = tempdir("repl");
    copy_example("active-passive", &dir);
    let t = "active-passive";
    let state = dir.join(t).join(".meridian/state.json");
    let o = meridian(&dir, &["apply", t, "--auto-approve"]);
    assert_eq!(o.status.code(), Some(0), "{}", text_of(&o));
    let hand = meridian::provider::ReplicationRule {
        destinations: vec!["eu-central-1".into()],
        filters: vec!["billing".into(), "other-team".into()],
    };
    {
        let s = LocalStore::open(&state, None).unwrap();
        s.apply(
            &[Op::UpdateReplication {
                region: "us-east-1".into(),
                add: vec![hand.clone()],
                remove: vec![],
            }],
            1,
        )
        .remove(0)
        .unwrap();
    }
    let o = meridian(&dir, &["plan", t, "--detailed-exitcode"]);
    assert_eq!(o.status.code(), Some(0), "{}", text_of(&o));
    assert!(
        text_of(&o)
            .contains("CONFLICT: its filter \"billing\" also matches repository billing/api"),
        "{}",
        text_of(&o)
    );

    // Another topology with a registry in the same source region, on the same store.
    let other = dir.join("other");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(
        other.join("main.hcl"),
        "registry \"web-images\" {\n  source = \"us-east-1\"\n  destinations = [\"ap-southeast-2\"]\n  repositories = [\"web\"]\n}\n",
    )
    .unwrap();
    let st = state.to_str().unwrap();
    let o = meridian(&dir, &["apply", "other", "--state", st, "--auto-approve"]);
    assert_eq!(o.status.code(), Some(0), "{}", text_of(&o));
    for (t, extra) in [(t, vec![]), ("other", vec!["--state", st])] {
        let mut args = vec!["plan", t, "--detailed-exitcode"];
        args.extend(extra);
        let o = meridian(&dir, &args);
        assert_eq!(o.status.code(), Some(0), "{t}: {}", text_of(&o));
    }
    let rules = |s: &Path| -> Vec<serde_json::Value> {
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(s).unwrap()).unwrap();
        v["replication"]["us-east-1"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    };
    assert_eq!(rules(&state).len(), 3, "{:?}", rules(&state));

    // The first topology drops its registry: only its own rule goes.
    let main = dir.join(t).join("main.hcl");
    let text = std::fs::read_to_string(&main).unwrap();
    let mut edited = without_block(&text, "registry \"billing-images\"");
    edited = edited.replace("  images = [\"billing-images\"]\n", "");
    std::fs::write(&main, edited).unwrap();
    let o = meridian(&dir, &["apply", t, "--auto-approve"]);
    assert_eq!(o.status.code(), Some(0), "{}", text_of(&o));
    let left = rules(&state);
    assert_eq!(left.len(), 2, "{left:?}");
    assert!(left
        .iter()
        .any(|r| r["filters"] == serde_json::json!(["web"])));
    assert!(left
        .iter()
        .any(|r| r["filters"] == serde_json::json!(["billing", "other-team"])));
}

#[test]
fn apply_json_output_is_only_json() {
    let dir = tempdir("json");
    copy_example("active-passive", &dir);
    let o = meridian(
        &dir,
        &[
            "apply",
            "active-passive",
            "--auto-approve",
            "--format",
            "json",
        ],
    );
    assert_eq!(o.status.code(), Some(0));
    let doc: serde_json::Value =
        serde_json::from_slice(&o.stdout).expect("stdout is one JSON document");
    assert_eq!(doc["changes"].as_array().unwrap().len(), 8);
    assert!(doc["changes"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["status"] == "done"));
}

/// A provider that records the operations it is given, then passes them on.
struct Recording<'a> {
    inner: &'a LocalStore,
    ops: std::sync::Mutex<Vec<Op>>,
}

impl Provider for Recording<'_> {
    fn source(&self) -> meridian::provider::LiveSource {
        self.inner.source()
    }
    fn read(&self, scope: &Scope) -> Result<LiveState, ProviderError> {
        self.inner.read(scope)
    }
    fn apply(&self, ops: &[Op], p: usize) -> Vec<Result<Done, ProviderError>> {
        self.ops.lock().unwrap().extend(ops.iter().cloned());
        self.inner.apply(ops, p)
    }
}

#[test]
fn clearing_a_health_check_setting_resets_it_and_clearing_a_search_string_replaces() {
    let dir = tempdir("reset");
    let s = store(&dir);
    // Three regions probed by a string-matching HTTPS check.
    let base = example("active-active-partitioned").replace(
        "    type              = \"HTTPS\"\n    path              = \"/healthz\"\n",
        "    type              = \"HTTPS_STR_MATCH\"\n    path              = \"/healthz\"\n    search_string     = \"ok\"\n",
    );
    assert!(base.contains("HTTPS_STR_MATCH"));
    assert!(apply(&plan_of(&graph(&base), &s), &s, 10).succeeded());
    // No path any more: an update that resets ResourcePath.
    let no_path = base.replace("    path              = \"/healthz\"\n", "");
    let p = plan_of(&graph(&no_path), &s);
    assert!(
        actions(&p)
            .iter()
            .all(|(a, act, _)| !a.starts_with("health_check") || act == &[Action::Update]),
        "{:?}",
        actions(&p)
    );
    let rec = Recording {
        inner: &s,
        ops: Default::default(),
    };
    assert!(apply(&p, &rec, 10).succeeded());
    let ops = rec.ops.into_inner().unwrap();
    let resets: Vec<&Vec<String>> = ops
        .iter()
        .filter_map(|o| match o {
            Op::UpdateHealthCheck { reset, .. } => Some(reset),
            _ => None,
        })
        .collect();
    assert_eq!(resets.len(), 3);
    assert!(
        resets
            .iter()
            .all(|r| r == &&vec!["ResourcePath".to_string()]),
        "{resets:?}"
    );
    // From a string-match check to a plain one: Route 53 cannot unset a search string.
    let plain = no_path
        .replace("HTTPS_STR_MATCH", "HTTPS")
        .replace("    search_string     = \"ok\"\n", "");
    let p = plan_of(&graph(&plain), &s);
    let c = p
        .resource_changes
        .iter()
        .find(|c| c.kind == meridian::graph::Kind::HealthCheck)
        .unwrap();
    assert_eq!(c.change.actions, [Action::Delete, Action::Create]);
    assert!(c.replace_paths.contains(&"type".to_string()));
}

#[test]
fn records_with_routing_meridian_does_not_manage_are_never_adopted() {
    let dir = tempdir("multivalue");
    let s = store(&dir);
    let record = meridian::provider::RecordSet {
        zone: "example.com".into(),
        name: "api.example.com".into(),
        record_type: RecordType::A,
        set_identifier: Some("api-legacy".into()),
        ttl: Some(60),
        values: vec!["192.0.2.1".into()],
        alias: None,
        routing: RoutingPolicy::Unmanaged,
        health_check_id: None,
    };
    s.apply(
        &[Op::ChangeRecords {
            zone: "example.com".into(),
            changes: vec![RecordChange {
                action: ChangeAction::Create,
                record,
            }],
        }],
        1,
    )
    .remove(0)
    .unwrap();
    let g = graph(&example("active-active-partitioned"));
    let adopt = Options {
        adopt: true,
        targets: vec![],
        ..Options::default()
    };
    let err = plan::plan(&g.input(), &s, &adopt, "x".into())
        .unwrap_err()
        .to_string();
    assert!(err.contains("cannot be adopted"), "{err}");
}

/// On a terminal, apply asks and only "yes" goes ahead. `script` (util-linux) gives the
/// command a pseudo-terminal and types the answer.
#[test]
fn apply_on_a_terminal_asks_for_yes() {
    let dir = tempdir("tty");
    copy_example("active-passive", &dir);
    let run = |answer: &str| {
        let cmd = format!("{} apply active-passive", env!("CARGO_BIN_EXE_meridian"));
        let mut child = Command::new("script")
            .args(["-qec", &cmd, "/dev/null"])
            .current_dir(&dir)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("script(1) from util-linux runs");
        std::thread::sleep(std::time::Duration::from_millis(500));
        use std::io::Write as _;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(answer.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let state = dir.join("active-passive/.meridian/state.json");
    let o = run("no\n");
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(out.contains("Only 'yes' will be accepted"), "{out}");
    assert!(out.contains("Apply cancelled"), "{out}");
    assert_ne!(o.status.code(), Some(0));
    assert!(!state.exists(), "nothing applied");
    let o = run("yes\n");
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("Apply complete"), "{out}");
    assert!(state.exists());
}

/// A store written by the previous version (format 1: routing as loose fields, markers and
/// caller references without a version) is read, and the plan only rewrites the markers.
#[test]
fn a_version_1_store_is_read_and_only_its_markers_are_rewritten() {
    let dir = tempdir("v1-store");
    let g = graph(&example("active-active-partitioned"));
    {
        let s = store(&dir);
        assert!(apply(&plan_of(&g, &s), &s, 10).succeeded());
    }
    // Turn the file into what version 1 wrote.
    let path = dir.join("state.json");
    let mut f: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    f["format_version"] = 1.into();
    f.as_object_mut().unwrap().remove("lineage");
    for r in f["records"].as_array_mut().unwrap() {
        let o = r.as_object_mut().unwrap();
        let routing = o.remove("routing").unwrap();
        assert!(routing == "latency" || routing == "simple", "{routing}");
        for k in ["region", "weight", "failover", "geolocation"] {
            o.entry(k).or_insert(serde_json::Value::Null);
        }
        // Version 1 markers named the topology and the service.
        let service = o["name"]
            .as_str()
            .unwrap()
            .trim_start_matches("_meridian.")
            .split('.')
            .next()
            .unwrap()
            .to_string();
        if let Some(v) = o.get_mut("values").and_then(|v| v.as_array_mut()) {
            for x in v.iter_mut() {
                let text = x.as_str().unwrap();
                if text.starts_with("\"meridian v=3 id=t ") {
                    *x = format!("\"meridian topology=t service={service}\"").into();
                }
            }
        }
    }
    // Version 1 caller references were keyed by the name: with id "t", `m-` plus the same hash.
    for h in f["health_checks"].as_array_mut().unwrap() {
        let c = h["caller_reference"]
            .as_str()
            .unwrap()
            .replacen("m3-", "m-", 1);
        h["caller_reference"] = c.into();
    }
    std::fs::write(&path, serde_json::to_string_pretty(&f).unwrap()).unwrap();

    let s = store(&dir);
    // Without the name adopted, they are not this topology's.
    let err = plan::plan(&g.input(), &s, &Options::default(), "x".into()).unwrap_err();
    assert!(
        err.to_string()
            .contains("owned by another Meridian topology"),
        "{err}"
    );
    let mut g = g;
    g.identity.adopted_name = Some("t".into());
    let p = plan_of(&g, &s);
    let changed = actions(&p);
    assert!(!changed.is_empty());
    assert!(
        changed
            .iter()
            .all(|(a, act, _)| a.starts_with("owner.") && act == &[Action::Update]),
        "{changed:?}"
    );
    assert!(apply(&p, &s, 10).succeeded());
    assert!(actions(&plan_of(&g, &s)).is_empty());
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(written["format_version"], 2);
    assert!(written["lineage"].is_string());
}

#[test]
fn a_store_from_a_newer_meridian_is_refused_by_name() {
    let dir = tempdir("v99-store");
    let path = dir.join("state.json");
    std::fs::write(&path, r#"{"format_version": 99, "next_id": 1}"#).unwrap();
    let e = LocalStore::open(&path, None).unwrap_err();
    assert!(e.to_string().contains("newer Meridian"), "{e}");
}

/// `plan --out` then `apply` of the saved plan, on a topology that was never applied, in every
/// spelling of its path: from its parent, from inside it, absolute, through a symlinked
/// directory, and with `--state` given in another spelling than the plan's.
#[test]
fn a_saved_plan_of_a_never_applied_topology_applies_in_every_spelling_of_its_path() {
    let root = tempdir("saved-fresh");
    let real = root.join("real");
    std::fs::create_dir_all(&real).unwrap();
    let link = root.join("link");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    // (working directory, topology argument, extra apply arguments)
    type Case<'a> = (&'a str, PathBuf, String, Vec<String>);
    let cases: Vec<Case> = vec![
        ("from its parent", real.clone(), "t1".into(), vec![]),
        ("from inside", real.join("t2"), ".".into(), vec![]),
        (
            "absolute",
            root.clone(),
            real.join("t3").display().to_string(),
            vec![],
        ),
        ("through a symlink", link.clone(), "t4".into(), vec![]),
        (
            "with --state in another spelling",
            link.join("t5"),
            ".".into(),
            vec![
                "--state".into(),
                real.join("t5/./.meridian/state.json").display().to_string(),
            ],
        ),
    ];
    for (i, (what, cwd, arg, extra)) in cases.into_iter().enumerate() {
        let dir = real.join(format!("t{}", i + 1));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("main.hcl"), example("active-passive")).unwrap();
        assert!(!dir.join(".meridian").exists(), "{what}: never applied");
        let out = root.join(format!("plan{}.json", i + 1));
        let o = meridian(&cwd, &["plan", &arg, "--out", out.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(0), "{what}: {}", text_of(&o));
        let mut args = vec!["apply".to_string(), out.display().to_string()];
        args.extend(extra);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = meridian(&cwd, &args);
        assert_eq!(o.status.code(), Some(0), "{what}: {}", text_of(&o));
        assert!(
            String::from_utf8_lossy(&o.stdout).contains("Apply complete"),
            "{what}: {}",
            text_of(&o)
        );
        // Applied to the store beside the topology, and nothing is left to do.
        assert!(dir.join(".meridian/state.json").is_file(), "{what}");
        let o = meridian(&cwd, &["plan", &arg, "--detailed-exitcode"]);
        assert_eq!(o.status.code(), Some(0), "{what}: {}", text_of(&o));
    }
}

/// A saved plan names the store it read; another store (a copy of the topology elsewhere, or
/// the same path whose store was replaced) is refused, not silently applied to.
#[test]
fn a_saved_plan_refuses_another_store() {
    let root = tempdir("saved-other");
    let a = root.join("a");
    let b = root.join("b");
    for d in [&a, &b] {
        std::fs::create_dir_all(d).unwrap();
        std::fs::write(d.join("main.hcl"), example("active-passive")).unwrap();
    }
    let out = root.join("plan.json");
    let o = meridian(&root, &["plan", "a", "--out", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text_of(&o));
    let state_b = b.join(".meridian/state.json");
    let o = meridian(
        &root,
        &[
            "apply",
            out.to_str().unwrap(),
            "--state",
            state_b.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text_of(&o));
    assert!(
        text_of(&o).contains("the plan was made against"),
        "{}",
        text_of(&o)
    );
    assert!(!state_b.exists(), "nothing was written to the other store");

    // Applied once, then the store is replaced by another one at the same path.
    let o = meridian(&root, &["apply", "a", "--auto-approve"]);
    assert_eq!(o.status.code(), Some(0), "{}", text_of(&o));
    let main = a.join("main.hcl");
    let hcl = std::fs::read_to_string(&main)
        .unwrap()
        .replace("  ttl     = 60", "  ttl     = 30");
    std::fs::write(&main, hcl).unwrap();
    let o = meridian(&root, &["plan", "a", "--out", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text_of(&o));
    let state_a = a.join(".meridian/state.json");
    std::fs::remove_file(&state_a).unwrap();
    let o = meridian(
        &root,
        &[
            "apply",
            "b",
            "--auto-approve",
            "--state",
            state_a.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text_of(&o));
    let o = meridian(&root, &["apply", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", text_of(&o));
    assert!(text_of(&o).contains("lineage"), "{}", text_of(&o));
}

/// Exit codes: `--detailed-exitcode` is 0 or 2 whatever the objectives say; only
/// `--fail-on-objectives` gives 3, and 3 wins over 2.
#[test]
fn plan_exit_codes_follow_the_one_table() {
    let dir = tempdir("exit-codes");
    std::fs::create_dir_all(dir.join("t")).unwrap();
    // Without its data block, the service's RPO is unknown: the rpo objective is UNKNOWN.
    let text = example("active-passive");
    let text = without_block(&text, "  data {");
    std::fs::write(dir.join("t/main.hcl"), &text).unwrap();
    let code = |args: &[&str]| meridian(&dir, args).status.code();
    assert_eq!(code(&["plan", "t"]), Some(0));
    assert_eq!(code(&["plan", "t", "--detailed-exitcode"]), Some(2));
    assert_eq!(
        code(&["plan", "t", "--detailed-exitcode", "--fail-on-objectives"]),
        Some(3)
    );
    assert_eq!(code(&["plan", "t", "--fail-on-objectives"]), Some(3));
    let o = meridian(&dir, &["plan", "t"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("rpo UNKNOWN") && !out.contains("BREACHED"),
        "{out}"
    );
    assert!(out.contains("service "), "the service is named: {out}");
    assert_eq!(code(&["apply", "t", "--auto-approve"]), Some(0));
    // Nothing to change: drift detection sees 0, whatever the objectives.
    assert_eq!(code(&["plan", "t", "--detailed-exitcode"]), Some(0));
    assert_eq!(
        code(&["plan", "t", "--detailed-exitcode", "--fail-on-objectives"]),
        Some(3)
    );
    assert_eq!(code(&["check", "t"]), Some(3));
}

/// A lock left by a killed apply names its dead holder; `force-unlock ID` removes it.
#[test]
fn a_dead_holders_lock_is_named_and_force_unlock_removes_it() {
    let dir = tempdir("dead-lock");
    copy_example("active-passive", &dir);
    let state = dir.join("active-passive/.meridian/state.json");
    // An apply killed with SIGKILL cannot clean up: its lock stays, naming its pid. Make one
    // from a process that has exited.
    let mut child = Command::new("sleep").arg("0").spawn().unwrap();
    let dead = child.id();
    child.wait().unwrap();
    let host = meridian::process::host();
    std::fs::create_dir_all(state.parent().unwrap()).unwrap();
    std::fs::write(
        dir.join("active-passive/.meridian/state.json.lock"),
        format!(r#"{{"id":"deadbeef00000000","pid":{dead},"host":"{host}","since_unix":1,"operation":"apply"}}"#),
    )
    .unwrap();
    let o = meridian(&dir, &["apply", "active-passive", "--auto-approve"]);
    assert_eq!(o.status.code(), Some(1));
    let err = text_of(&o);
    assert!(
        err.contains("no longer runs") && err.contains("force-unlock deadbeef00000000"),
        "{err}"
    );
    // The wrong id, or no confirmation, removes nothing.
    let o = meridian(&dir, &["force-unlock", "0000", "active-passive", "--force"]);
    assert_eq!(o.status.code(), Some(1), "{}", text_of(&o));
    let o = meridian(
        &dir,
        &["force-unlock", "deadbeef00000000", "active-passive"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text_of(&o));
    let o = meridian(
        &dir,
        &[
            "force-unlock",
            "deadbeef00000000",
            "active-passive",
            "--force",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text_of(&o));
    let o = meridian(&dir, &["apply", "active-passive", "--auto-approve"]);
    assert_eq!(o.status.code(), Some(0), "{}", text_of(&o));
    assert!(!dir
        .join("active-passive/.meridian/state.json.lock")
        .exists());
}

/// SIGTERM (what CI sends on cancel) and SIGINT at the confirmation prompt release the lock
/// and change nothing.
#[test]
fn a_signal_at_the_prompt_releases_the_lock() {
    for signal in ["TERM", "INT", "HUP"] {
        let dir = tempdir(&format!("signal-{signal}"));
        copy_example("active-passive", &dir);
        let lock = dir.join("active-passive/.meridian/state.json.lock");
        let cmd = format!("{} apply active-passive", env!("CARGO_BIN_EXE_meridian"));
        let mut child = Command::new("script")
            .args(["-qec", &cmd, "/dev/null"])
            .current_dir(&dir)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("script(1) from util-linux runs");
        // Wait for the prompt: the lock is taken before it.
        let mut holder = None;
        for _ in 0..100 {
            if let Ok(t) = std::fs::read_to_string(&lock) {
                if let Ok(v) = serde_json::from_str::<serde_json::Value>(&t) {
                    holder = v["pid"].as_u64();
                    break;
                }
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let pid = holder.expect("the apply took the lock");
        std::thread::sleep(std::time::Duration::from_millis(300));
        let killed = Command::new("kill")
            .args([&format!("-{signal}"), &pid.to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        let _ = child.stdin.take();
        let _ = child.wait();
        assert!(!lock.exists(), "SIG{signal}: the lock is released");
        assert!(
            !dir.join("active-passive/.meridian/state.json").exists(),
            "SIG{signal}: nothing applied"
        );
    }
}

/// A symlinked state file is written through (the link stays, its target changes); temporary
/// files left by a killed writer are removed by the next apply; two `plan --out` runs writing
/// one file do not collide.
#[test]
fn store_files_survive_links_litter_and_concurrent_writers() {
    let dir = tempdir("hygiene");
    copy_example("active-passive", &dir);
    let elsewhere = dir.join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    std::fs::write(elsewhere.join("state.json"), "").unwrap();
    std::fs::remove_file(elsewhere.join("state.json")).unwrap();
    let meta = dir.join("active-passive/.meridian");
    std::fs::create_dir_all(&meta).unwrap();
    let target = elsewhere.join("state.json");
    std::os::unix::fs::symlink(&target, meta.join("state.json")).unwrap();
    // Litter of a killed writer (a pid that no longer runs), in both naming schemes.
    let mut child = Command::new("sleep").arg("0").spawn().unwrap();
    let dead = child.id();
    child.wait().unwrap();
    let litter = [
        elsewhere.join(format!("state.json.meridian-tmp.{dead}.0")),
        elsewhere.join(format!("state.tmp.{dead}")),
    ];
    for l in &litter {
        std::fs::write(l, "half").unwrap();
    }
    let o = meridian(&dir, &["apply", "active-passive", "--auto-approve"]);
    assert_eq!(o.status.code(), Some(0), "{}", text_of(&o));
    assert!(
        std::fs::symlink_metadata(meta.join("state.json"))
            .unwrap()
            .file_type()
            .is_symlink(),
        "the link is kept"
    );
    assert!(std::fs::read_to_string(&target)
        .unwrap()
        .contains("records"));
    for l in &litter {
        assert!(!l.exists(), "{} removed", l.display());
    }
    // Concurrent writers of one plan file.
    let out = dir.join("plan.json");
    let runs: Vec<_> = (0..8)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_meridian"))
                .current_dir(&dir)
                .args(["plan", "active-passive", "--out", out.to_str().unwrap()])
                .output_async()
        })
        .collect();
    for r in runs {
        let o = r.wait_with_output().unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", text_of(&o));
    }
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains("tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

trait Spawn {
    fn output_async(&mut self) -> std::process::Child;
}

impl Spawn for Command {
    fn output_async(&mut self) -> std::process::Child {
        self.stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    }
}

/// A saved plan that replaces health checks resumes after its record batch failed: applying
/// the same plan again deletes the old checks it planned to delete (seen now as duplicates of
/// the new ones) instead of refusing the plan as stale.
#[test]
fn a_saved_plan_replacing_checks_resumes_after_a_failed_batch() {
    let dir = tempdir("resume-replace");
    let s = store(&dir);
    let text = example("active-active-partitioned");
    assert!(apply(&plan_of(&graph(&text), &s), &s, 10).succeeded());
    let edited = text.replace(
        "    interval          = 10\n",
        "    interval          = 30\n",
    );
    let g = graph(&edited);
    let saved = plan::plan(&g.input(), &s, &Options::default(), plan::new_plan_id("t")).unwrap();
    assert!(saved
        .resource_changes
        .iter()
        .any(|c| c.is_replace() && c.kind == meridian::graph::Kind::HealthCheck));
    // The three new checks are created, then the record batch fails.
    let failing = Failing {
        inner: &s,
        ok: 3,
        seen: AtomicUsize::new(0),
    };
    assert!(!apply(&saved, &failing, 10).succeeded());
    // Applying the same plan again: planned with its id, it must be the rest of the plan.
    let now = plan::plan(&g.input(), &s, &Options::default(), saved.plan_id.clone()).unwrap();
    if let Err(e) = plan::saved::check(&saved, &now) {
        panic!("refused as stale: {e}");
    }
    let out = apply(&now, &s, 10);
    assert!(out.succeeded(), "{out:?}");
    assert!(s.dangling_checks().is_empty());
    assert!(!plan_of(&g, &s).has_changes());
    let live = s.read(&plan::scope(&g)).unwrap();
    assert_eq!(live.health_checks.len(), 3, "one check per region");
    assert!(live
        .health_checks
        .iter()
        .all(|h| h.config.request_interval == 30));
}

/// Any prefix of an apply leaves every record consistent with its check: when a region's
/// endpoint moves, its check is replaced (not updated in place before the batch), so a failed
/// batch leaves the record and the check it uses both on the old endpoint.
#[test]
fn a_failed_batch_never_leaves_a_record_probed_at_another_endpoint() {
    let consistent = |s: &LocalStore, g: &ResourceGraph| {
        let live = s.read(&plan::scope(g)).unwrap();
        for r in &live.records {
            let (Some(id), Some(value)) = (&r.health_check_id, r.values.first()) else {
                continue;
            };
            let check = live.health_checks.iter().find(|h| &h.id == id).unwrap();
            assert_eq!(
                check.config.fqdn.as_deref(),
                Some(value.as_str()),
                "{} is probed at another endpoint",
                r.name
            );
        }
    };
    let text = example("active-passive");
    let moved = text.replace("billing-use1.example.com", "billing-use1-v2.example.com");
    assert_ne!(text, moved);
    for ok in 0..4 {
        let dir = tempdir(&format!("prefix-{ok}"));
        let s = store(&dir);
        assert!(apply(&plan_of(&graph(&text), &s), &s, 10).succeeded());
        let g = graph(&moved);
        let p = plan_of(&g, &s);
        let check = p
            .resource_changes
            .iter()
            .find(|c| c.address == r#"health_check.billing["us-east-1"]"#)
            .unwrap();
        assert!(check.is_replace(), "{:?}", check.change.actions);
        assert!(check.replace_paths.contains(&"fqdn".to_string()));
        let failing = Failing {
            inner: &s,
            ok,
            seen: AtomicUsize::new(0),
        };
        let _ = apply(&p, &failing, 10);
        consistent(&s, &g);
        assert!(s.dangling_checks().is_empty(), "ok={ok}");
        // And the next apply converges.
        assert!(apply(&plan_of(&g, &s), &s, 10).succeeded(), "ok={ok}");
        consistent(&s, &g);
        assert!(!plan_of(&g, &s).has_changes(), "ok={ok}");
    }
}

/// `kill -9` at random moments of applies (bounded: 12 kills): the state file is never
/// corrupt, the lock left behind names a dead holder and `force-unlock` clears it, no
/// temporary file survives the next apply, and one more apply converges.
#[test]
fn sigkill_at_random_moments_never_corrupts_the_store() {
    let dir = tempdir("sigkill");
    // Enough services that an apply takes a while to write.
    let mut text = String::new();
    for i in 0..150 {
        text.push_str(&format!(
            "service \"s{i}\" {{\n  zone = \"example.com\"\n  domain = \"s{i}.example.com\"\n  routing = \"latency\"\n  stateless = true\n  health_check {{\n    type = \"HTTPS\"\n    interval = 10\n    failure_threshold = 3\n  }}\n  region \"us-east-1\" {{\n    target = \"a{i}.example.com\"\n  }}\n  region \"eu-west-1\" {{\n    target = \"b{i}.example.com\"\n  }}\n}}\n"
        ));
    }
    std::fs::create_dir_all(dir.join("t")).unwrap();
    let state = dir.join("t/.meridian/state.json");
    let lock = dir.join("t/.meridian/state.json.lock");
    let backend_lock = dir.join("t/.meridian/manifest.json.lock");
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut interrupted = 0;
    for round in 0..12 {
        // Alternate two versions so every apply has work to do.
        let version = if round % 2 == 0 { "a" } else { "c" };
        std::fs::write(
            dir.join("t/main.hcl"),
            text.replace("target = \"a", &format!("target = \"{version}")),
        )
        .unwrap();
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let delay = std::time::Duration::from_millis(2 + seed % 60);
        let mut child = Command::new(env!("CARGO_BIN_EXE_meridian"))
            .current_dir(&dir)
            .args(["apply", "t", "--auto-approve"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        let _ = child.kill();
        let _ = child.wait();
        // The store parses (or was never written).
        if state.exists() {
            let text = std::fs::read_to_string(&state).unwrap();
            assert!(
                serde_json::from_str::<serde_json::Value>(&text).is_ok(),
                "round {round}: corrupt state"
            );
        }
        // A lock left behind (the backend's, then the store's) names a dead holder, and
        // force-unlock with the id the refusal gives clears it.
        if lock.exists() || backend_lock.exists() {
            interrupted += 1;
        }
        while lock.exists() || backend_lock.exists() {
            let o = meridian(&dir, &["apply", "t", "--auto-approve"]);
            assert_eq!(o.status.code(), Some(1));
            let err = text_of(&o);
            // The backend's lock is taken first, so it is the one refused first.
            let held = if backend_lock.exists() {
                &backend_lock
            } else {
                &lock
            };
            // Killed between creating the lock file and writing it: a file naming no holder,
            // which force-unlock knows as `unreadable`.
            let id =
                serde_json::from_str::<serde_json::Value>(&std::fs::read_to_string(held).unwrap())
                    .ok()
                    .and_then(|v| v["id"].as_str().map(str::to_string))
                    .unwrap_or_else(|| "unreadable".to_string());
            if id != "unreadable" {
                assert!(err.contains("no longer runs"), "round {round}: {err}");
            }
            assert!(err.contains(&id), "{err}");
            let o = meridian(&dir, &["force-unlock", &id, "t", "--force"]);
            assert_eq!(o.status.code(), Some(0), "{}", text_of(&o));
        }
    }
    eprintln!("{interrupted} of 12 applies were killed while holding the lock");
    assert!(
        interrupted > 0,
        "no kill landed inside an apply: the test exercised nothing"
    );
    // One more apply converges, and leaves nothing behind.
    let o = meridian(&dir, &["apply", "t", "--auto-approve"]);
    assert_eq!(o.status.code(), Some(0), "{}", text_of(&o));
    let o = meridian(&dir, &["plan", "t", "--detailed-exitcode"]);
    assert_eq!(o.status.code(), Some(0), "{}", text_of(&o));
    let litter: Vec<_> = std::fs::read_dir(dir.join("t/.meridian"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != "state.json" && n != "manifest.json")
        .collect();
    assert!(litter.is_empty(), "{litter:?}");
}

/// An apply asked to stop (a signal) before its first wave runs nothing, says so for every
/// change, and leaves the next plan exactly what it was.
#[test]
fn an_apply_stopped_before_it_starts_changes_nothing_and_says_why() {
    let dir = tempdir("stopped");
    let s = store(&dir);
    let g = graph(&example("active-passive"));
    let p = plan_of(&g, &s);
    let stop = std::sync::atomic::AtomicBool::new(true);
    let out = meridian::plan::apply::apply_until(&p, &s, 10, &stop);
    assert!(out.interrupted && !out.succeeded());
    assert_eq!(out.operations, 0);
    for c in &out.changes {
        let Status::Skipped { because } = &c.status else {
            panic!("{}: {:?}", c.address, c.status);
        };
        assert!(because.contains("interrupted"), "{}: {because}", c.address);
    }
    assert_eq!(actions(&plan_of(&g, &s)).len(), actions(&p).len());
}

/// Tags are opt-in: without `tag_health_checks` an apply writes none (one write per check);
/// with it, each check gets `Name` (its address) and `meridian:topology`, a tag changed by hand
/// is planned as an update of that check alone and repaired, and the plan after is empty.
#[test]
fn health_check_tags_are_opt_in_and_repaired() {
    let dir = tempdir("tags");
    let s = store(&dir);
    let plain = graph(&example("active-passive"));
    let outcome = apply(&plan_of(&plain, &s), &s, 10);
    assert!(outcome.succeeded());
    // 2 check creates, 1 record batch, 2 repositories, 1 replication put; no tag writes.
    assert_eq!(outcome.operations, 6, "{outcome:?}");
    let id_of: std::collections::BTreeMap<String, String> = outcome
        .changes
        .iter()
        .filter_map(|c| c.ids.first().map(|id| (c.address.clone(), id.clone())))
        .collect();
    assert_eq!(id_of.len(), 2);
    let prefixes = Identity::known("t").reference_prefixes();
    let read_tags = |s: &LocalStore| {
        let mut scope = zone_scope(&plain);
        scope.tag_prefixes = prefixes.clone();
        s.read(&scope).unwrap().health_checks
    };
    let checks = read_tags(&s);
    assert_eq!(checks.len(), 2);
    assert!(checks.iter().all(|h| h.tags.is_empty()), "{checks:?}");

    // Turned on: both checks are updated (tags only), in two tag writes.
    let tagged = graph(&format!(
        "tag_health_checks = true\n{}",
        example("active-passive")
    ));
    let p = plan_of(&tagged, &s);
    let a = actions(&p);
    assert_eq!(a.len(), 2, "{a:?}");
    assert!(a
        .iter()
        .all(|(addr, act, _)| addr.starts_with("health_check.") && act == &vec![Action::Update]));
    let outcome = apply(&p, &s, 10);
    assert!(outcome.succeeded(), "{outcome:?}");
    assert_eq!(outcome.operations, 2);
    for (address, id) in &id_of {
        let h = read_tags(&s).into_iter().find(|h| &h.id == id).unwrap();
        assert_eq!(h.tags.get("Name"), Some(address));
        assert_eq!(
            h.tags.get("meridian:topology").map(String::as_str),
            Some("t")
        );
    }
    assert!(!plan_of(&tagged, &s).has_changes());

    // A tag changed by hand: that check alone is repaired.
    let victim = read_tags(&s)[0].clone();
    s.apply(
        &[Op::TagHealthCheck {
            id: victim.id.clone(),
            tags: [("Name".to_string(), "renamed".to_string())].into(),
        }],
        1,
    )
    .remove(0)
    .unwrap();
    let p = plan_of(&tagged, &s);
    assert_eq!(actions(&p).len(), 1, "{:?}", actions(&p));
    assert!(apply(&p, &s, 10).succeeded());
    let repaired = read_tags(&s)
        .into_iter()
        .find(|h| h.id == victim.id)
        .unwrap();
    assert_ne!(repaired.tags["Name"], "renamed");
    assert!(!plan_of(&tagged, &s).has_changes());

    // Turned off again: tags are neither read nor diffed; nothing to do.
    assert!(!plan_of(&plain, &s).has_changes());
}

/// A topology applied by an earlier Meridian (markers and caller references keyed by its
/// name, no manifest): the plan stops and asks for `meridian init` instead of calling its
/// resources foreign or taking them silently; after `init`, the plan only rewrites the
/// markers with the id, and the apply after it converges with no duplicate and nothing lost.
#[test]
fn resources_of_an_earlier_meridian_are_adopted_by_init() {
    let dir = tempdir("init");
    copy_example("active-active-partitioned", &dir);
    let t = "active-active-partitioned";
    let o = meridian(&dir, &["apply", t, "--auto-approve"]);
    assert_eq!(o.status.code(), Some(0), "{}", text_of(&o));
    // Turn the store into what the previous Meridian left: name-keyed marks, no manifest.
    let meridian_dir = dir.join(t).join(".meridian");
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(meridian_dir.join("manifest.json")).unwrap())
            .unwrap();
    let id = manifest["topology_id"].as_str().unwrap();
    std::fs::remove_file(meridian_dir.join("manifest.json")).unwrap();
    let state = meridian_dir.join("state.json");
    let text = std::fs::read_to_string(&state)
        .unwrap()
        .replace(
            &format!("meridian v=3 id={id} s={}", meridian::hash::hex("api", 8)),
            &format!("meridian v=2 topology={t} service=api"),
        )
        .replace(
            &format!("m3-{}-", meridian::hash::hex(id, 8)),
            &format!("m2-{}-", meridian::hash::hex(t, 8)),
        );
    std::fs::write(&state, text).unwrap();

    let o = meridian(&dir, &["plan", t]);
    assert_eq!(o.status.code(), Some(1), "{}", text_of(&o));
    assert!(text_of(&o).contains("meridian init"), "{}", text_of(&o));
    assert!(
        text_of(&o).contains("1 ownership marker(s), 3 health check(s)"),
        "{}",
        text_of(&o)
    );

    let o = meridian(&dir, &["init", t]);
    assert_eq!(o.status.code(), Some(0), "{}", text_of(&o));
    let o = meridian(&dir, &["plan", t, "--format", "json"]);
    let p: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let changed: Vec<(&str, &serde_json::Value)> = p["resource_changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["change"]["actions"] != serde_json::json!(["no-op"]))
        .map(|c| (c["address"].as_str().unwrap(), &c["change"]["actions"]))
        .collect();
    assert_eq!(
        changed,
        [("owner.api", &serde_json::json!(["update"]))],
        "only the marker is rewritten"
    );
    let o = meridian(&dir, &["apply", t, "--auto-approve"]);
    assert_eq!(o.status.code(), Some(0), "{}", text_of(&o));
    let o = meridian(&dir, &["plan", t, "--detailed-exitcode"]);
    assert_eq!(o.status.code(), Some(0), "{}", text_of(&o));
    let store: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    assert_eq!(store["health_checks"].as_array().unwrap().len(), 3);
}

/// Removing the last service of a zone plans the deletion of its records, marker and health
/// checks (the manifest says the zone is under management), with no `zones` attribute.
#[test]
fn removing_the_last_service_of_a_zone_deletes_what_it_had() {
    let dir = tempdir("last-service");
    copy_example("active-passive", &dir);
    let t = "active-passive";
    let o = meridian(&dir, &["apply", t, "--auto-approve"]);
    assert_eq!(o.status.code(), Some(0), "{}", text_of(&o));
    let main = dir.join(t).join("main.hcl");
    let text = std::fs::read_to_string(&main).unwrap();
    std::fs::write(&main, without_block(&text, "service \"billing\"")).unwrap();
    let o = meridian(&dir, &["plan", t, "--detailed-exitcode"]);
    assert_eq!(o.status.code(), Some(2), "{}", text_of(&o));
    // 2 health checks, 2 records, 1 marker.
    assert!(
        text_of(&o).contains("0 to add, 0 to change, 5 to destroy"),
        "{}",
        text_of(&o)
    );
    let o = meridian(&dir, &["apply", t, "--auto-approve"]);
    assert_eq!(o.status.code(), Some(0), "{}", text_of(&o));
    let store: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join(t).join(".meridian/state.json")).unwrap(),
    )
    .unwrap();
    assert!(store["health_checks"].as_array().unwrap().is_empty());
    assert!(store["records"].as_array().unwrap().is_empty(), "{store}");
}

/// Two topologies with registries in one source region, each planned before the other
/// applies (what two concurrent applies see): each apply re-reads the configuration and adds
/// only its own rule, so the second does not remove the first's. (moto 5.2.5 refuses a
/// second rule per registry, so this runs on the local store, which allows ECR's 10.)
#[test]
fn two_topologies_sharing_a_registry_region_keep_their_rules() {
    let dir = tempdir("shared-registry");
    let state = dir.join("state.json");
    let st = state.to_str().unwrap();
    for (name, repo, dest) in [
        ("team-a", "api", "eu-west-1"),
        ("team-b", "web", "ap-southeast-2"),
    ] {
        std::fs::create_dir_all(dir.join(name)).unwrap();
        std::fs::write(
            dir.join(name).join("main.hcl"),
            format!("registry \"{name}\" {{\n  source = \"us-east-1\"\n  destinations = [\"{dest}\"]\n  repositories = [\"{repo}\"]\n}}\n"),
        )
        .unwrap();
    }
    for name in ["team-a", "team-b"] {
        let out = format!("{name}.json");
        let o = meridian(&dir, &["plan", name, "--state", st, "--out", &out]);
        assert_eq!(o.status.code(), Some(0), "{}", text_of(&o));
    }
    for name in ["team-a", "team-b"] {
        let o = meridian(&dir, &["apply", &format!("{name}.json")]);
        assert_eq!(o.status.code(), Some(0), "{name}: {}", text_of(&o));
    }
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    let rules = v["replication"]["us-east-1"].as_array().unwrap();
    assert_eq!(rules.len(), 2, "{rules:?}");
    for name in ["team-a", "team-b"] {
        let o = meridian(&dir, &["plan", name, "--state", st, "--detailed-exitcode"]);
        assert_eq!(o.status.code(), Some(0), "{name}: {}", text_of(&o));
    }
}

/// `state list` names every resource the topology manages, `state show` one of them as live,
/// and `state rm owner.S` forgets a service: removed from the topology afterwards, its
/// records, marker and health checks stay live and the plan leaves them alone.
#[test]
fn state_lists_shows_and_forgets() {
    let dir = tempdir("state");
    copy_example("active-active-partitioned", &dir);
    let t = "active-active-partitioned";
    let o = meridian(&dir, &["apply", t, "--auto-approve"]);
    assert_eq!(o.status.code(), Some(0), "{}", text_of(&o));
    let o = meridian(&dir, &["state", "list", t]);
    assert_eq!(o.status.code(), Some(0), "{}", text_of(&o));
    let listed = String::from_utf8_lossy(&o.stdout).into_owned();
    let mut want: Vec<String> = ["ap-southeast-1", "eu-west-1", "us-east-1"]
        .iter()
        .flat_map(|r| {
            [
                format!("health_check.api[\"{r}\"]"),
                format!("record.api[\"{r}\"]"),
            ]
        })
        .collect();
    want.push("owner.api".into());
    // The declared rule has the address `plan` and `graph` give it: one namespace.
    want.push("ecr_replication.images".into());
    want.sort();
    let mut got: Vec<String> = listed.lines().map(str::to_string).collect();
    got.sort();
    assert_eq!(got, want);
    let o = meridian(
        &dir,
        &["state", "show", "health_check.api[\"eu-west-1\"]", t],
    );
    let shown: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(shown["id"].as_str().unwrap().starts_with("hc-"), "{shown}");
    let o = meridian(&dir, &["state", "show", "ecr_replication.images", t]);
    assert_eq!(o.status.code(), Some(0), "{}", text_of(&o));
    let shown: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(shown["region"], "us-east-1", "{shown}");
    let graph = meridian(&dir, &["graph", t, "--format", "json"]);
    assert!(
        String::from_utf8_lossy(&graph.stdout).contains("\"ecr_replication.images\""),
        "graph names the rule otherwise"
    );

    let o = meridian(&dir, &["state", "rm", "owner.api", t]);
    assert_eq!(o.status.code(), Some(0), "{}", text_of(&o));
    // The service leaves the topology; the registry stays.
    let main = dir.join(t).join("main.hcl");
    let text = std::fs::read_to_string(&main).unwrap();
    std::fs::write(&main, without_block(&text, "service \"api\"")).unwrap();
    let o = meridian(&dir, &["apply", t, "--auto-approve"]);
    assert_eq!(o.status.code(), Some(0), "{}", text_of(&o));
    let store: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join(t).join(".meridian/state.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(store["health_checks"].as_array().unwrap().len(), 3);
    assert_eq!(store["records"].as_array().unwrap().len(), 4, "{store}");
    let o = meridian(&dir, &["state", "list", t]);
    let listed = String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(listed.trim(), "ecr_replication.images", "{listed}");
}

/// A store with a health-check limit (Route 53's per-account limit, here 4): a plan that would
/// pass it stops before any change, counting that a replacement creates before it deletes.
#[test]
fn a_plan_that_would_pass_the_health_check_limit_stops_before_apply() {
    let dir = tempdir("hc-limit");
    copy_example("active-active-partitioned", &dir);
    let t = "active-active-partitioned";
    let state = dir.join(t).join(".meridian/state.json");
    std::fs::create_dir_all(state.parent().unwrap()).unwrap();
    std::fs::write(
        &state,
        r#"{"format_version": 2, "next_id": 1, "health_checks": [], "deleted_caller_references": [], "repositories": {}, "replication": {}, "max_health_checks": 4}"#,
    )
    .unwrap();
    // 3 checks fit within 4.
    let o = meridian(&dir, &["plan", t]);
    assert_eq!(o.status.code(), Some(0), "{}", text_of(&o));
    assert!(
        text_of(&o).contains("Health checks: +3 created; the account holds 0 of its limit of 4"),
        "{}",
        text_of(&o)
    );
    let o = meridian(&dir, &["apply", t, "--auto-approve"]);
    assert_eq!(o.status.code(), Some(0), "{}", text_of(&o));
    // Replacing all 3 needs 6 at once: refused before anything changes.
    let main = dir.join(t).join("main.hcl");
    let hcl = std::fs::read_to_string(&main)
        .unwrap()
        .replace("interval          = 10", "interval          = 30");
    std::fs::write(&main, hcl).unwrap();
    let before = std::fs::read_to_string(&state).unwrap();
    let o = meridian(&dir, &["apply", t, "--auto-approve"]);
    assert_eq!(o.status.code(), Some(1), "{}", text_of(&o));
    assert!(
        text_of(&o)
            .contains("creates 3 health check(s), but the account holds 3 of its limit of 4"),
        "{}",
        text_of(&o)
    );
    assert_eq!(
        std::fs::read_to_string(&state).unwrap(),
        before,
        "nothing changed"
    );
}

/// `destroy` of a never-applied topology changes nothing (exit 0); of an applied one it
/// deletes its 2 health checks, 2 records, 1 marker and 1 replication rule (6 changes in 4
/// operations: 1 record batch, 2 check deletes, 1 replication update) and keeps the
/// repositories, leaving the manifest with nothing under management.
#[test]
fn destroy_deletes_everything_the_topology_manages() {
    let dir = tempdir("destroy");
    copy_example("active-passive", &dir);
    let t = "active-passive";
    let o = meridian(&dir, &["destroy", t, "--auto-approve"]);
    assert_eq!(o.status.code(), Some(0), "{}", text_of(&o));
    assert!(text_of(&o).contains("No changes"), "{}", text_of(&o));
    let o = meridian(&dir, &["apply", t, "--auto-approve"]);
    assert_eq!(o.status.code(), Some(0), "{}", text_of(&o));
    let o = meridian(&dir, &["destroy", t, "--auto-approve"]);
    assert_eq!(o.status.code(), Some(0), "{}", text_of(&o));
    let out = text_of(&o);
    assert!(
        out.contains("Plan: 0 to add, 0 to change, 6 to destroy."),
        "{out}"
    );
    assert!(
        out.contains("Apply complete: 6 change(s) applied in 4 operation(s)."),
        "{out}"
    );
    let store: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join(t).join(".meridian/state.json")).unwrap(),
    )
    .unwrap();
    assert!(store["records"].as_array().unwrap().is_empty(), "{store}");
    assert!(store["health_checks"].as_array().unwrap().is_empty());
    assert!(store["replication"]["us-east-1"].is_null(), "{store}");
    assert_eq!(
        store["repositories"]["us-east-1"].as_array().unwrap().len(),
        2
    );
    let m: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join(t).join(".meridian/manifest.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(m["services"], serde_json::json!([]));
    assert_eq!(m["rules"], serde_json::json!({}));
    assert_eq!(m["history"][1]["operation"], "destroy");
    assert_eq!(m["history"][1]["destroyed"], 6);
}

/// The first plan shows the id it mints as new; the first apply records it, and later plans
/// show it as the topology's. A plan takes no lock: it runs while an apply holds one, which
/// that apply's backend refuses to a second apply, naming the holder.
#[test]
fn the_first_apply_records_the_id_and_plans_take_no_lock() {
    let dir = tempdir("first-id");
    copy_example("active-passive", &dir);
    let t = "active-passive";
    let o = meridian(&dir, &["plan", t, "--format", "json"]);
    let first: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(first["identity"]["new"], true);
    assert!(
        !dir.join(t).join(".meridian/manifest.json").exists(),
        "a plan writes nothing"
    );
    let o = meridian(&dir, &["apply", t, "--auto-approve"]);
    assert_eq!(o.status.code(), Some(0), "{}", text_of(&o));
    let o = meridian(&dir, &["plan", t, "--format", "json"]);
    let after: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(after["identity"]["new"], false);
    let m: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join(t).join(".meridian/manifest.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(after["identity"]["id"], m["topology_id"]);
    // A live holder (this test process) of the backend's lock.
    let holder = serde_json::json!({"id": "feedfacefeedface", "pid": std::process::id(), "host": meridian::process::host(), "since_unix": 1, "operation": "apply"});
    std::fs::write(
        dir.join(t).join(".meridian/manifest.json.lock"),
        holder.to_string(),
    )
    .unwrap();
    let o = meridian(&dir, &["plan", t, "--detailed-exitcode"]);
    assert_eq!(o.status.code(), Some(0), "{}", text_of(&o));
    let o = meridian(&dir, &["apply", t, "--auto-approve"]);
    assert_eq!(o.status.code(), Some(1), "{}", text_of(&o));
    assert!(text_of(&o).contains("feedfacefeedface"), "{}", text_of(&o));
}

/// Three services behind one load balancer per region (same target, port, path, type and
/// timing). By default each service and region has its own check: 3 x 2 = 6. With
/// `health_check_scope = "endpoint"` they share one check per endpoint: 2, every record of a
/// region probed by its region's check. Switching an applied topology over replaces the 6
/// with the 2 (created first, records moved, old ones deleted), and the cost counts each
/// shared check once: HTTPS is 1 feature, so a non-AWS-endpoint check is 0.75 + 1 x 2.00 =
/// 2.75 USD a month; 6 of them 16.50, 2 of them 5.50.
#[test]
fn health_check_scope_endpoint_shares_one_check_per_endpoint() {
    let dir = tempdir("hc-scope");
    let mut text = String::from("name = \"shared\"\n");
    for svc in ["api", "shop", "web"] {
        text.push_str(&format!(
            "service \"{svc}\" {{\n  zone = \"example.com\"\n  domain = \"{svc}.example.com\"\n  routing = \"latency\"\n  health_check {{\n    type = \"HTTPS\"\n    path = \"/healthz\"\n  }}\n  region \"us-east-1\" {{\n    target = \"lb-use1.example.net\"\n  }}\n  region \"eu-west-1\" {{\n    target = \"lb-euw1.example.net\"\n  }}\n}}\n"
        ));
    }
    std::fs::write(dir.join("main.hcl"), &text).unwrap();
    let o = meridian(&dir, &["apply", ".", "--auto-approve"]);
    assert_eq!(o.status.code(), Some(0), "{}", text_of(&o));
    let state = dir.join(".meridian/state.json");
    let checks = |dir: &Path| -> Vec<serde_json::Value> {
        let s: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join(".meridian/state.json")).unwrap(),
        )
        .unwrap();
        s["health_checks"].as_array().unwrap().clone()
    };
    assert_eq!(checks(&dir).len(), 6);
    let cost = |dir: &Path| -> f64 {
        let o = meridian(dir, &["analyze", ".", "--format", "json"]);
        let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        doc["cost"]["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["item"] == "health checks")
            .map(|i| i["monthly_usd"].as_f64().unwrap())
            .sum()
    };
    assert!((cost(&dir) - 16.50).abs() < 1e-9, "{}", cost(&dir));

    std::fs::write(
        dir.join("main.hcl"),
        text.replace(
            "name = \"shared\"\n",
            "name = \"shared\"\nhealth_check_scope = \"endpoint\"\n",
        ),
    )
    .unwrap();
    assert!((cost(&dir) - 5.50).abs() < 1e-9, "{}", cost(&dir));
    let o = meridian(&dir, &["plan", ".", "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let summary = &doc["summary"];
    // 2 checks created, 6 deleted, 6 records updated to point at them.
    assert_eq!(
        (
            summary["add"].as_u64(),
            summary["destroy"].as_u64(),
            summary["change"].as_u64()
        ),
        (Some(2), Some(6), Some(6)),
        "{summary}"
    );
    let o = meridian(&dir, &["apply", ".", "--auto-approve"]);
    assert_eq!(o.status.code(), Some(0), "{}", text_of(&o));
    let live = checks(&dir);
    assert_eq!(live.len(), 2, "{live:?}");
    let mut fqdns: Vec<&str> = live
        .iter()
        .map(|h| h["config"]["fqdn"].as_str().unwrap())
        .collect();
    fqdns.sort();
    assert_eq!(fqdns, ["lb-euw1.example.net", "lb-use1.example.net"]);
    // Every record of a region uses that region's one check.
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    let by_region: std::collections::BTreeMap<String, std::collections::BTreeSet<String>> = s
        ["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["type"] != "TXT")
        .fold(Default::default(), |mut m, r| {
            m.entry(r["region"].as_str().unwrap().to_string())
                .or_default()
                .insert(r["health_check_id"].as_str().unwrap().to_string());
            m
        });
    assert_eq!(by_region.len(), 2);
    assert!(
        by_region.values().all(|ids| ids.len() == 1),
        "{by_region:?}"
    );
    let o = meridian(&dir, &["plan", "."]);
    assert!(text_of(&o).contains("No changes"), "{}", text_of(&o));
    // What the topology manages is listed under the shared checks' own addresses (known again
    // from each live check's zone and settings), not under one service that uses them.
    let o = meridian(&dir, &["state", "list", "."]);
    let listed = String::from_utf8_lossy(&o.stdout).into_owned();
    for region in ["use1", "euw1"] {
        let address = format!(
            "health_check.endpoint[\"example.com/HTTPS lb-{region}.example.net:443/healthz every 30s x3\"]"
        );
        assert!(listed.lines().any(|l| l == address), "{listed}");
    }
    assert!(!listed.contains("health_check.api["), "{listed}");
    assert!(!listed.contains("health_check.web["), "{listed}");
    let o = meridian(&dir, &["analyze", "."]);
    assert!(
        text_of(&o).contains("2 shared, paid by api"),
        "{}",
        text_of(&o)
    );
}

/// A destroy is about what it destroys: nothing it deletes is also "left alone", and its
/// recovery line says the services stop serving (before: the README's own destroy listed
/// the deleted records as "not declared by this topology" and ended "0 s; objectives met").
#[test]
fn a_destroy_plan_neither_leaves_alone_what_it_deletes_nor_promises_a_floor() {
    let dir = tempdir("destroy-words");
    copy_example("active-passive", &dir);
    let t = "active-passive";
    let o = meridian(&dir, &["apply", t, "--auto-approve"]);
    assert_eq!(o.status.code(), Some(0), "{}", text_of(&o));
    let o = meridian(&dir, &["plan", t, "--destroy"]);
    let text = text_of(&o);
    assert!(
        text.contains("0 to add, 0 to change, 6 to destroy"),
        "{text}"
    );
    assert!(!text.contains("not declared by this topology"), "{text}");
    assert!(!text.contains("objectives met"), "{text}");
    assert!(
        text.contains("Recovery: every service this topology manages stops serving"),
        "{text}"
    );
    let o = meridian(&dir, &["destroy", t, "--auto-approve"]);
    assert_eq!(o.status.code(), Some(0), "{}", text_of(&o));
    assert!(
        !text_of(&o).contains("not declared by this topology"),
        "{}",
        text_of(&o)
    );
}

/// A saved plan is recognised by its content, whatever its name, and `show` prints it as
/// `plan` did (before: `apply st.plan` parsed it as HCL).
#[test]
fn a_saved_plan_is_known_by_its_content_and_shown() {
    let dir = tempdir("saved-name");
    copy_example("active-passive", &dir);
    let t = "active-passive";
    let o = meridian(&dir, &["plan", t, "--out", "st.plan"]);
    assert_eq!(o.status.code(), Some(0), "{}", text_of(&o));
    let planned = String::from_utf8_lossy(&o.stdout).into_owned();
    let o = meridian(&dir, &["show", "st.plan"]);
    assert_eq!(o.status.code(), Some(0), "{}", text_of(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout), planned);
    let o = meridian(&dir, &["show", "st.plan", "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["format_version"], 4);
    // The same plan as the previous format wrote it (format 3: `type` was Meridian's kind, no
    // Terraform fields): still shown as it was, and applied below.
    let mut three = doc.clone();
    three["format_version"] = 3.into();
    for k in ["timestamp", "terraform_version", "planned_values"] {
        three.as_object_mut().unwrap().remove(k);
    }
    for c in three["resource_changes"].as_array_mut().unwrap() {
        let c = c.as_object_mut().unwrap();
        let kind = c.remove("meridian_type").unwrap();
        c.insert("type".into(), kind);
        for k in ["mode", "provider_name", "index"] {
            c.remove(k);
        }
    }
    std::fs::write(dir.join("three.plan"), three.to_string()).unwrap();
    let o = meridian(&dir, &["show", "three.plan"]);
    assert_eq!(o.status.code(), Some(0), "{}", text_of(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout), planned);
    std::fs::rename(dir.join("three.plan"), dir.join("st.plan")).unwrap();
    let o = meridian(&dir, &["apply", "st.plan"]);
    assert_eq!(o.status.code(), Some(0), "{}", text_of(&o));
    assert!(text_of(&o).contains("Apply complete"), "{}", text_of(&o));
    // A plan saved by the previous release (no recovery.before, rto_case, rpo_case,
    // no_service; objectives without figures) reads as it did: a null floor before is nothing live.
    let mut old: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("st.plan")).unwrap()).unwrap();
    let r = old["recovery"].as_object_mut().unwrap();
    for k in ["before", "rto_case", "rpo_case", "no_service"] {
        r.remove(k);
    }
    for o in r["objectives"].as_array_mut().unwrap() {
        o.as_object_mut().unwrap().remove("figures");
    }
    std::fs::write(dir.join("old.plan"), old.to_string()).unwrap();
    let o = meridian(&dir, &["show", "old.plan"]);
    assert_eq!(o.status.code(), Some(0), "{}", text_of(&o));
    assert!(
        text_of(&o).contains("Recovery: RTO floor (nothing live) -> 630 s"),
        "{}",
        text_of(&o)
    );
    // A topology is not a plan, whatever it is called.
    std::fs::copy(dir.join(t).join("main.hcl"), dir.join("topology.json")).unwrap();
    let o = meridian(&dir, &["show", "topology.json"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text_of(&o).contains("is not a saved plan"),
        "{}",
        text_of(&o)
    );
}

/// A declared rule whose repositories changed since the apply keeps its declared address in
/// `state list`, `state show` and a destroy plan, as `plan` names it (one namespace).
#[test]
fn a_changed_rule_keeps_its_declared_address_in_state_and_destroy() {
    let dir = tempdir("rule-address");
    copy_example("active-passive", &dir);
    let t = "active-passive";
    let o = meridian(&dir, &["apply", t, "--auto-approve"]);
    assert_eq!(o.status.code(), Some(0), "{}", text_of(&o));
    let main = dir.join(t).join("main.hcl");
    let text = std::fs::read_to_string(&main).unwrap();
    std::fs::write(
        &main,
        text.replace(
            "repositories = [\"billing/api\", \"billing/worker\"]",
            "repositories = [\"billing/api\"]",
        ),
    )
    .unwrap();
    let o = meridian(&dir, &["plan", t]);
    assert!(
        text_of(&o).contains("~ ecr_replication.billing-images"),
        "{}",
        text_of(&o)
    );
    let o = meridian(&dir, &["state", "list", t]);
    let listed = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        listed.contains("ecr_replication.billing-images\n"),
        "{listed}"
    );
    assert!(!listed.contains("_removed_"), "{listed}");
    let o = meridian(
        &dir,
        &["state", "show", "ecr_replication.billing-images", t],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text_of(&o));
    let o = meridian(&dir, &["plan", t, "--destroy"]);
    assert!(
        text_of(&o).contains("- ecr_replication.billing-images"),
        "{}",
        text_of(&o)
    );
}

/// An apply whose stderr is a pipe nobody reads (`2>&1 | tee` killed, a log collector gone)
/// finishes: its progress lines meet EPIPE and are dropped, never a panic inside the engine
/// (which hung the apply for ever, holding its lock).
#[test]
fn an_apply_with_a_closed_stderr_finishes() {
    let dir = tempdir("closed-stderr");
    copy_example("active-passive", &dir);
    let mut child = Command::new(env!("CARGO_BIN_EXE_meridian"))
        .current_dir(&dir)
        .args(["apply", "active-passive", "--auto-approve"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stderr.take());
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if started.elapsed() > std::time::Duration::from_secs(60) {
            let _ = child.kill();
            panic!("the apply hung with a closed stderr");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(0));
    let o = meridian(&dir, &["plan", "active-passive", "--detailed-exitcode"]);
    assert_eq!(o.status.code(), Some(0), "{}", text_of(&o));
    assert!(!dir.join("active-passive/.meridian/lock").exists());
}

/// An emptied file (a truncation, a bad merge) does not delete what the topology manages:
/// plan and apply refuse and name `destroy`, which still works.
#[test]
fn an_emptied_topology_refuses_to_delete_everything() {
    let dir = tempdir("emptied");
    copy_example("active-passive", &dir);
    let t = "active-passive";
    let o = meridian(&dir, &["apply", t, "--auto-approve"]);
    assert_eq!(o.status.code(), Some(0), "{}", text_of(&o));
    std::fs::write(dir.join(t).join("main.hcl"), "").unwrap();
    for cmd in ["plan", "apply"] {
        let o = meridian(
            &dir,
            &[cmd, t, "--auto-approve"][..if cmd == "plan" { 2 } else { 3 }],
        );
        assert_eq!(o.status.code(), Some(1), "{cmd}: {}", text_of(&o));
        assert!(
            text_of(&o).contains("meridian::plan::empty_topology"),
            "{}",
            text_of(&o)
        );
        assert!(text_of(&o).contains("meridian destroy"), "{}", text_of(&o));
    }
    let store = std::fs::read_to_string(dir.join(t).join(".meridian/state.json")).unwrap();
    assert!(store.contains("billing"), "nothing was deleted");
    let o = meridian(&dir, &["destroy", t, "--auto-approve"]);
    assert_eq!(o.status.code(), Some(0), "{}", text_of(&o));
}

/// `failover_to` is built, not only analysed: the region's latency record becomes an alias
/// (evaluating target health) to a failover pair, nested for each further region, every
/// intermediate name marked; a live plain-latency service migrates in one operation and back,
/// and each direction plans clean after its apply.
#[test]
fn failover_to_builds_a_tree_and_migrates_both_ways() {
    let dir = tempdir("failover-tree");
    std::fs::create_dir_all(dir.join("t")).unwrap();
    let with = std::fs::read_to_string("tests/fixtures/recovery/latency_failover_to.hcl")
        .unwrap()
        .replace(
            "failover_to = [\"eu-west-1\"]",
            "failover_to = [\"eu-west-1\", \"us-east-1\"]",
        );
    let without: String = with
        .lines()
        .filter(|l| !l.contains("failover_to"))
        .map(|l| format!("{l}\n"))
        .collect();
    let main = dir.join("t").join("main.hcl");
    std::fs::write(&main, &without).unwrap();
    let o = meridian(&dir, &["apply", "t", "--auto-approve"]);
    assert_eq!(o.status.code(), Some(0), "{}", text_of(&o));
    std::fs::write(&main, &with).unwrap();
    let o = meridian(&dir, &["plan", "t"]);
    let text = text_of(&o);
    // 2 markers and 4 pair records; the latency record of ap-northeast-1 becomes the alias.
    assert!(
        text.contains("Plan: 6 to add, 1 to change, 0 to destroy."),
        "{text}"
    );
    for address in [
        "+ owner.api[\"ap-northeast-1.failover.api.example.com\"]",
        "+ owner.api[\"2.ap-northeast-1.failover.api.example.com\"]",
        "+ record.api[\"ap-northeast-1/failover-1/primary\"]",
        "+ record.api[\"ap-northeast-1/failover-2/secondary\"]",
        "~ record.api[\"ap-northeast-1\"]",
    ] {
        assert!(text.contains(address), "{address}\n{text}");
    }
    // The graph shows the tree, each alias after the pair it points at.
    let o = meridian(&dir, &["graph", "t", "--format", "json"]);
    let graph: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let order: Vec<&str> = graph["apply_order"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a.as_str())
        .collect();
    let at = |a: &str| {
        order
            .iter()
            .position(|x| *x == a)
            .unwrap_or_else(|| panic!("{a}: {order:?}"))
    };
    assert!(
        at("record.api[\"ap-northeast-1/failover-1/primary\"]")
            < at("record.api[\"ap-northeast-1\"]")
    );
    assert!(
        at("record.api[\"ap-northeast-1/failover-2/secondary\"]")
            < at("record.api[\"ap-northeast-1/failover-1/secondary\"]")
    );
    let o = meridian(&dir, &["apply", "t", "--auto-approve"]);
    assert_eq!(o.status.code(), Some(0), "{}", text_of(&o));
    assert!(
        text_of(&o).contains("in 1 operation(s)"),
        "one batch: {}",
        text_of(&o)
    );
    let o = meridian(&dir, &["plan", "t", "--detailed-exitcode"]);
    assert_eq!(o.status.code(), Some(0), "{}", text_of(&o));
    let store: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("t/.meridian/state.json")).unwrap())
            .unwrap();
    let records = store["records"].as_array().unwrap();
    let at = |name: &str| -> Vec<&serde_json::Value> {
        records.iter().filter(|r| r["name"] == name).collect()
    };
    let top = at("api.example.com");
    let alias = top
        .iter()
        .find(|r| r["set_identifier"] == "api-ap-northeast-1")
        .unwrap();
    assert_eq!(
        alias["alias"]["dns_name"],
        "ap-northeast-1.failover.api.example.com"
    );
    assert_eq!(alias["alias"]["evaluate_target_health"], true);
    let pair = at("ap-northeast-1.failover.api.example.com");
    assert_eq!(pair.len(), 2);
    let secondary = pair.iter().find(|r| r["role"] == "SECONDARY").unwrap();
    assert_eq!(
        secondary["alias"]["dns_name"],
        "2.ap-northeast-1.failover.api.example.com"
    );
    let nested = at("2.ap-northeast-1.failover.api.example.com");
    let values: Vec<&str> = nested
        .iter()
        .map(|r| r["values"][0].as_str().unwrap())
        .collect();
    assert_eq!(values.len(), 2);
    assert!(values.contains(&"euw1.example.com") && values.contains(&"use1.example.com"));
    assert_eq!(
        at("_meridian.2.ap-northeast-1.failover.api.example.com").len(),
        1
    );
    // And back: the tree is deleted under the addresses the graph gave it. 7 of the 12
    // managed records change: more than 30 %, so the plan asks for --force.
    std::fs::write(&main, &without).unwrap();
    let o = meridian(&dir, &["plan", "t"]);
    assert!(
        text_of(&o).contains("meridian::plan::mass_change"),
        "{}",
        text_of(&o)
    );
    let o = meridian(&dir, &["plan", "t", "--force"]);
    let text = text_of(&o);
    assert!(
        text.contains("- record.api[\"ap-northeast-1/failover-2/primary\"]"),
        "{text}"
    );
    assert!(
        text.contains("Plan: 0 to add, 1 to change, 6 to destroy."),
        "{text}"
    );
    let o = meridian(&dir, &["apply", "t", "--auto-approve", "--force"]);
    assert_eq!(o.status.code(), Some(0), "{}", text_of(&o));
    let o = meridian(&dir, &["plan", "t", "--detailed-exitcode"]);
    assert_eq!(o.status.code(), Some(0), "{}", text_of(&o));
}

/// A tree belongs to its service in `state` too: `state rm owner.api` forgets its every marker,
/// so a later plan without the service leaves the tree alone; `state list` names each marker
/// once. And the tree's regions are validated: listed once, one record type per pair.
#[test]
fn a_tree_is_forgotten_with_its_service_and_validated() {
    let dir = tempdir("tree-state");
    std::fs::create_dir_all(dir.join("t")).unwrap();
    let text = std::fs::read_to_string("tests/fixtures/recovery/latency_failover_to.hcl").unwrap();
    let main = dir.join("t").join("main.hcl");
    std::fs::write(&main, &text).unwrap();
    let o = meridian(&dir, &["apply", "t", "--auto-approve"]);
    assert_eq!(o.status.code(), Some(0), "{}", text_of(&o));
    let o = meridian(&dir, &["state", "list", "t"]);
    let listed = String::from_utf8_lossy(&o.stdout).into_owned();
    let owners: Vec<&str> = listed.lines().filter(|l| l.starts_with("owner.")).collect();
    assert_eq!(
        owners,
        vec![
            "owner.api",
            "owner.api[\"ap-northeast-1.failover.api.example.com\"]"
        ],
        "{listed}"
    );
    // Each check under its region's address, as the graph names it: the tree's primary uses
    // ap-northeast-1's check, its secondary eu-west-1's.
    let checks: Vec<&str> = listed
        .lines()
        .filter(|l| l.starts_with("health_check."))
        .collect();
    assert_eq!(
        checks,
        vec![
            "health_check.api[\"ap-northeast-1\"]",
            "health_check.api[\"eu-west-1\"]",
            "health_check.api[\"us-east-1\"]"
        ],
        "{listed}"
    );
    let o = meridian(&dir, &["state", "rm", "owner.api", "t"]);
    assert_eq!(o.status.code(), Some(0), "{}", text_of(&o));
    std::fs::write(
        &main,
        "service \"web\" {\n  zone = \"example.com\"\n  domain = \"web.example.com\"\n  routing = \"latency\"\n  stateless = true\n  region \"us-east-1\" {\n    target = \"w.example.net\"\n  }\n}\n",
    )
    .unwrap();
    let o = meridian(&dir, &["plan", "t"]);
    let plan = text_of(&o);
    assert!(
        plan.contains("0 to destroy"),
        "the forgotten tree is planned: {plan}"
    );
    assert!(
        plan.contains("Left alone: record ap-northeast-1.failover.api.example.com CNAME"),
        "{plan}"
    );
    for (edit, want) in [
        (
            "failover_to = [\"eu-west-1\", \"eu-west-1\"]",
            "\\\"eu-west-1\\\" is listed twice",
        ),
        (
            "failover_to = [\"us-east-1\"]",
            "a failover pair holds one record type",
        ),
    ] {
        let bad = text.replace("failover_to = [\"eu-west-1\"]", edit).replace(
            "    target   = \"use1.example.com\"",
            "    ips      = [\"2001:db8::1\"]",
        );
        std::fs::write(&main, bad).unwrap();
        let o = meridian(&dir, &["validate", "t", "--format", "json"]);
        assert_eq!(o.status.code(), Some(1), "{}", text_of(&o));
        assert!(text_of(&o).contains(want), "{want}: {}", text_of(&o));
    }
}

/// A tree's names fit DNS: a failover chain whose deepest marker would pass 253 characters is
/// refused at validation, not by Route 53 halfway through an apply.
#[test]
fn a_tree_too_long_for_dns_is_refused() {
    let dir = tempdir("tree-length");
    let label = "u".repeat(63);
    let domain = format!(
        "{}.{}.{}.example.com",
        "a".repeat(60),
        "b".repeat(60),
        "c".repeat(60)
    );
    let text = format!(
        "service \"api\" {{\n  zone = \"example.com\"\n  domain = \"{domain}\"\n  routing = \"latency\"\n  stateless = true\n  health_check {{\n    type = \"HTTPS\"\n    path = \"/\"\n  }}\n  region \"{label}\" {{\n    aws_region = \"us-east-1\"\n    target = \"a.example.net\"\n    failover_to = [\"eu-west-1\", \"ap-northeast-1\"]\n  }}\n  region \"eu-west-1\" {{\n    target = \"b.example.net\"\n  }}\n  region \"ap-northeast-1\" {{\n    target = \"c.example.net\"\n  }}\n}}\n"
    );
    std::fs::write(dir.join("main.hcl"), text).unwrap();
    let o = meridian(&dir, &["validate", "main.hcl", "--format", "json"]);
    assert_eq!(o.status.code(), Some(1), "{}", text_of(&o));
    assert!(text_of(&o).contains("DNS allows 253"), "{}", text_of(&o));
}

/// A plan that deletes or changes more than 30 % of at least 10 managed records (a truncated
/// file, a bad merge) is refused without --force, as octoDNS does; --force plans it, and a
/// saved plan made with it applies.
#[test]
fn a_mass_change_needs_force() {
    let dir = tempdir("mass-change");
    std::fs::create_dir_all(dir.join("t")).unwrap();
    let service = |n: usize| {
        format!(
            "service \"s{n}\" {{\n  zone = \"example.com\"\n  domain = \"s{n}.example.com\"\n  routing = \"weighted\"\n  stateless = true\n  region \"us-east-1\" {{\n    weight = 1\n    target = \"a{n}.example.net\"\n  }}\n  region \"eu-west-1\" {{\n    weight = 1\n    target = \"b{n}.example.net\"\n  }}\n}}\n"
        )
    };
    let main = dir.join("t").join("main.hcl");
    let all: String = (0..4).map(service).collect();
    std::fs::write(&main, &all).unwrap();
    let o = meridian(&dir, &["apply", "t", "--auto-approve"]);
    assert_eq!(o.status.code(), Some(0), "{}", text_of(&o));
    // 12 managed records (4 markers, 8 records); dropping two services deletes 6: 50 %.
    let half: String = (0..2).map(service).collect();
    std::fs::write(&main, &half).unwrap();
    for cmd in [&["plan", "t"][..], &["apply", "t", "--auto-approve"][..]] {
        let o = meridian(&dir, cmd);
        assert_eq!(o.status.code(), Some(1), "{cmd:?}: {}", text_of(&o));
        assert!(
            text_of(&o).contains("meridian::plan::mass_change"),
            "{}",
            text_of(&o)
        );
        assert!(
            text_of(&o).contains("6 of the 12 records"),
            "{}",
            text_of(&o)
        );
    }
    // One service fewer is 3 of 12: 25 %, planned as usual.
    let three: String = (0..3).map(service).collect();
    std::fs::write(&main, &three).unwrap();
    let o = meridian(&dir, &["plan", "t", "--detailed-exitcode"]);
    assert_eq!(o.status.code(), Some(2), "{}", text_of(&o));
    std::fs::write(&main, &half).unwrap();
    let o = meridian(&dir, &["plan", "t", "--force", "--out", "p.json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text_of(&o));
    let o = meridian(&dir, &["apply", "p.json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text_of(&o));
    let o = meridian(&dir, &["plan", "t", "--detailed-exitcode"]);
    assert_eq!(o.status.code(), Some(0), "{}", text_of(&o));
}

/// A topology of `n` latency services in `zone`, named `prefix0..`, each with a check.
fn services_in(zone: &str, prefix: &str, n: usize) -> String {
    let mut text = String::new();
    for i in 0..n {
        text.push_str(&format!(
            "service \"{prefix}{i}\" {{\n  zone = \"{zone}\"\n  domain = \"{prefix}{i}.{zone}\"\n  routing = \"latency\"\n  stateless = true\n  health_check {{\n    type = \"HTTPS\"\n    interval = 10\n    failure_threshold = 3\n  }}\n  region \"us-east-1\" {{\n    target = \"a{i}.{zone}\"\n  }}\n  region \"eu-west-1\" {{\n    target = \"b{i}.{zone}\"\n  }}\n}}\n"
        ));
    }
    text
}

/// Records of `zone` in the local store at `state`.
fn records_in(state: &Path, zone: &str) -> usize {
    let s = LocalStore::open(state, None).unwrap();
    let scope = meridian::provider::Scope {
        zones: vec![zone.to_string()],
        regions: Vec::new(),
        tag_prefixes: Vec::new(),
        names: vec![],
        records_only: false,
    };
    s.read(&scope).unwrap().records.len()
}

/// The ids of the locks a dead apply left (backend first, then the state store).
fn left_locks(t: &Path) -> Vec<String> {
    ["manifest.json.lock", "state.json.lock"]
        .iter()
        .map(|f| t.join(".meridian").join(f))
        .filter(|p| p.exists())
        .map(|p| {
            serde_json::from_str::<serde_json::Value>(&std::fs::read_to_string(p).unwrap()).unwrap()
                ["id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

/// The manifest is a journal (issue 22): an apply that adds a zone and dies (as under kill -9)
/// after its first changes, before it could record its outcome, has already recorded the zone,
/// so reverting the file deletes what it made there. Before, the manifest still listed only the
/// old zone: the new zone was never read again and its records stayed, invisible to `state
/// list` and `destroy`.
#[test]
fn an_apply_killed_midway_leaves_nothing_the_next_apply_cannot_find() {
    let dir = tempdir("journal-kill");
    let t = dir.join("t");
    std::fs::create_dir_all(&t).unwrap();
    let first = services_in("a.example", "s", 2);
    std::fs::write(t.join("main.hcl"), &first).unwrap();
    let o = meridian(&dir, &["apply", "t", "--auto-approve"]);
    assert_eq!(o.status.code(), Some(0), "{}", text_of(&o));
    std::fs::write(
        t.join("main.hcl"),
        format!("{first}{}", services_in("b.example", "n", 3)),
    )
    .unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_meridian"))
        .current_dir(&dir)
        .args(["apply", "t", "--auto-approve"])
        .env("MERIDIAN_FAULT_EXIT_AFTER", "7")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(137), "{}", text_of(&o));
    let state = t.join(".meridian/state.json");
    let made = records_in(&state, "b.example");
    assert!(made > 0, "the apply died before it changed anything");
    // The plan says the manifest holds an unfinished apply.
    let o = meridian(&dir, &["plan", "t"]);
    assert!(
        text_of(&o).contains("Unfinished: the manifest records an apply"),
        "{}",
        text_of(&o)
    );
    // One force-unlock clears the dead apply's locks (backend and state store).
    let locks = left_locks(&t);
    assert!(!locks.is_empty());
    let o = meridian(&dir, &["force-unlock", &locks[0], "t", "--force"]);
    assert_eq!(o.status.code(), Some(0), "{}", text_of(&o));
    assert_eq!(left_locks(&t), Vec::<String>::new(), "{}", text_of(&o));
    // Reverted: the apply reads the new zone from the journal and deletes what it had made
    // (more than 30 % of the records: --force).
    std::fs::write(t.join("main.hcl"), &first).unwrap();
    let o = meridian(&dir, &["apply", "t", "--auto-approve", "--force"]);
    assert_eq!(o.status.code(), Some(0), "{}", text_of(&o));
    assert_eq!(
        records_in(&state, "b.example"),
        0,
        "orphans: {}",
        text_of(&o)
    );
    let o = meridian(&dir, &["plan", "t", "--detailed-exitcode"]);
    assert_eq!(o.status.code(), Some(0), "{}", text_of(&o));
    assert!(!text_of(&o).contains("Unfinished"), "{}", text_of(&o));
}

/// An apply that made every change and died before recording them: the next plan says the
/// manifest is unfinished and has no changes; the next apply, with no changes, settles the
/// manifest (before, "No changes" for ever, with a manifest that never listed the new zone).
#[test]
fn a_no_change_apply_settles_an_unfinished_manifest() {
    let dir = tempdir("journal-settle");
    let t = dir.join("t");
    std::fs::create_dir_all(&t).unwrap();
    std::fs::write(t.join("main.hcl"), services_in("a.example", "s", 2)).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_meridian"))
        .current_dir(&dir)
        .args(["apply", "t", "--auto-approve"])
        .env("MERIDIAN_FAULT_EXIT_AFTER", "1000000")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text_of(&o));
    std::fs::write(
        t.join("main.hcl"),
        format!(
            "{}{}",
            services_in("a.example", "s", 2),
            services_in("b.example", "n", 2)
        ),
    )
    .unwrap();
    // Dies once every change has settled (2 services x (2 checks + 2 records) + 2 markers).
    let o = Command::new(env!("CARGO_BIN_EXE_meridian"))
        .current_dir(&dir)
        .args(["apply", "t", "--auto-approve"])
        .env("MERIDIAN_FAULT_EXIT_AFTER", "10")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(137), "{}", text_of(&o));
    for id in left_locks(&t) {
        let _ = meridian(&dir, &["force-unlock", &id, "t", "--force"]);
    }
    let manifest = || -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(t.join(".meridian/manifest.json")).unwrap())
            .unwrap()
    };
    assert!(manifest()["unfinished"].is_object(), "{}", manifest());
    let o = meridian(&dir, &["plan", "t", "--detailed-exitcode"]);
    assert_eq!(o.status.code(), Some(0), "{}", text_of(&o));
    assert!(text_of(&o).contains("Unfinished"), "{}", text_of(&o));
    let o = meridian(&dir, &["apply", "t", "--auto-approve"]);
    assert_eq!(o.status.code(), Some(0), "{}", text_of(&o));
    assert!(
        text_of(&o).contains("The manifest recorded an unfinished apply"),
        "{}",
        text_of(&o)
    );
    let m = manifest();
    assert!(m.get("unfinished").is_none(), "{m}");
    assert_eq!(m["zones"], serde_json::json!(["a.example", "b.example"]));
    assert_eq!(m["services"].as_array().map(Vec::len), Some(4));
    // Settled once: the next no-change apply writes nothing.
    let serial = m["serial"].clone();
    let o = meridian(&dir, &["apply", "t", "--auto-approve"]);
    assert_eq!(o.status.code(), Some(0), "{}", text_of(&o));
    assert_eq!(manifest()["serial"], serial);
}

/// A lock file that names no holder (its holder died between creating and writing it) is
/// named `unreadable` in the refusal and removed by `force-unlock unreadable`; an id that names
/// no lock is refused with the locks that do exist (before: "state.json is not locked", and an
/// empty lock only `rm` could clear).
#[test]
fn force_unlock_names_the_locks_that_exist_and_clears_an_empty_one() {
    let dir = tempdir("unreadable-lock");
    let t = dir.join("t");
    std::fs::create_dir_all(t.join(".meridian")).unwrap();
    std::fs::write(t.join("main.hcl"), services_in("a.example", "s", 1)).unwrap();
    std::fs::write(t.join(".meridian/manifest.json.lock"), "").unwrap();
    let o = meridian(&dir, &["apply", "t", "--auto-approve"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text_of(&o).contains("force-unlock unreadable"),
        "{}",
        text_of(&o)
    );
    let o = meridian(&dir, &["force-unlock", "0123abcd", "t", "--force"]);
    assert_eq!(o.status.code(), Some(1));
    let said = text_of(&o);
    assert!(
        said.contains("no lock has id 0123abcd; the locks that exist"),
        "{said}"
    );
    assert!(said.contains("the topology (local"), "{said}");
    let o = meridian(&dir, &["force-unlock", "unreadable", "t", "--force"]);
    assert_eq!(o.status.code(), Some(0), "{}", text_of(&o));
    let o = meridian(&dir, &["apply", "t", "--auto-approve"]);
    assert_eq!(o.status.code(), Some(0), "{}", text_of(&o));
    let o = meridian(&dir, &["force-unlock", "0123abcd", "t", "--force"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text_of(&o).contains("neither the topology nor its state store is locked"),
        "{}",
        text_of(&o)
    );
}

/// Two topologies whose backends name one directory (on S3: one key): the second is refused
/// before it plans, naming the first, so its plan never deletes the first's records (before,
/// it took the first's id and planned to destroy them). `--rename` is the way to say it is the
/// same topology renamed; the apply then records the new name.
#[test]
fn a_backend_holding_another_topologys_manifest_is_refused() {
    let dir = tempdir("shared-backend");
    for (t, zone) in [("a", "a.example"), ("b", "b.example")] {
        std::fs::create_dir_all(dir.join(t)).unwrap();
        std::fs::write(
            dir.join(t).join("main.hcl"),
            format!(
                "name = \"{t}\"\nbackend \"local\" {{\n  path = \"../shared\"\n}}\n{}",
                services_in(zone, "s", 1)
            ),
        )
        .unwrap();
    }
    let state = ["--state", "state.json"];
    let run = |args: &[&str]| meridian(&dir, &[args, &state[..]].concat());
    let o = run(&["apply", "a", "--auto-approve"]);
    assert_eq!(o.status.code(), Some(0), "{}", text_of(&o));
    for args in [
        &["plan", "b"][..],
        &["apply", "b", "--auto-approve"],
        &["destroy", "b", "--auto-approve"],
    ] {
        let o = run(args);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", text_of(&o));
        let said = text_of(&o);
        assert!(said.contains("meridian::backend::other_topology"), "{said}");
        assert!(said.contains(r#"manifest of topology "a""#), "{said}");
    }
    assert_eq!(records_in(&dir.join("state.json"), "a.example"), 3);
    // The same topology renamed: --rename plans, and the apply records the new name.
    let renamed = std::fs::read_to_string(dir.join("a/main.hcl"))
        .unwrap()
        .replace("name = \"a\"", "name = \"a2\"");
    std::fs::write(dir.join("a/main.hcl"), renamed).unwrap();
    let o = run(&["plan", "a"]);
    assert_eq!(o.status.code(), Some(1), "{}", text_of(&o));
    let o = run(&["apply", "a", "--auto-approve", "--rename"]);
    assert_eq!(o.status.code(), Some(0), "{}", text_of(&o));
    let o = run(&["plan", "a", "--detailed-exitcode"]);
    assert_eq!(o.status.code(), Some(0), "{}", text_of(&o));
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("shared/manifest.json")).unwrap())
            .unwrap();
    assert_eq!(m["name"], "a2");
    // Undeclared names come from the path: another directory is another topology, but the
    // same directory's file is the same one (it keeps the recorded name).
    for (t, zone) in [("p", "p.example"), ("q", "q.example")] {
        std::fs::create_dir_all(dir.join(t)).unwrap();
        std::fs::write(
            dir.join(t).join("main.hcl"),
            format!(
                "backend \"local\" {{\n  path = \"../shared2\"\n}}\n{}",
                services_in(zone, "s", 1)
            ),
        )
        .unwrap();
    }
    let o = run(&["apply", "p", "--auto-approve"]);
    assert_eq!(o.status.code(), Some(0), "{}", text_of(&o));
    let o = run(&["plan", "q"]);
    assert!(
        text_of(&o).contains(r#"manifest of topology "p""#),
        "{}",
        text_of(&o)
    );
    let o = run(&["plan", "p/main.hcl", "--detailed-exitcode"]);
    assert_eq!(o.status.code(), Some(0), "{}", text_of(&o));
    assert!(text_of(&o).contains("Topology: p ("), "{}", text_of(&o));
    // Applied as a file, the topology is recorded as `main`: another directory's topology
    // (whose file is main.hcl too) is still another topology.
    for (t, zone) in [("r", "r.example"), ("s", "s.example")] {
        std::fs::create_dir_all(dir.join(t)).unwrap();
        std::fs::write(
            dir.join(t).join("main.hcl"),
            format!(
                "backend \"local\" {{\n  path = \"../shared3\"\n}}\n{}",
                services_in(zone, "s", 1)
            ),
        )
        .unwrap();
    }
    let o = run(&["apply", "r/main.hcl", "--auto-approve"]);
    assert_eq!(o.status.code(), Some(0), "{}", text_of(&o));
    let o = run(&["plan", "s"]);
    assert_eq!(o.status.code(), Some(1), "{}", text_of(&o));
    assert!(
        text_of(&o).contains(r#"manifest of topology "main""#),
        "{}",
        text_of(&o)
    );
}

/// The addresses `state list` gives for every record set in the local store at `state`: a
/// marker `_meridian.S.zone` is `owner.S`, a record of service S with set identifier `S-L` is
/// `record.S["L"]`.
fn addresses_of_records(state: &Path) -> Vec<String> {
    let store: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(state).unwrap()).unwrap();
    let mut out: Vec<String> = store["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let name = r["name"].as_str().unwrap();
            match name.strip_prefix("_meridian.") {
                Some(rest) => format!("owner.{}", rest.split('.').next().unwrap()),
                None => {
                    let service = name.split('.').next().unwrap();
                    let set = r["set_identifier"].as_str().unwrap();
                    let label = set.strip_prefix(&format!("{service}-")).unwrap();
                    format!("record.{service}[\"{label}\"]")
                }
            }
        })
        .collect();
    out.sort();
    out
}

/// kill -9 (a death no handler sees) after every wave of an apply that changes one zone and
/// adds another: after each, with the file reverted, every record set of the topology that
/// exists is one `state list` shows (nothing orphaned outside the manifest's view), and one
/// more apply converges with nothing left in the added zone.
#[test]
fn a_kill_after_any_wave_leaves_no_record_outside_state_list() {
    let first = services_in("a.example", "s", 2);
    let second = format!(
        "{}{}",
        first.replace("target = \"a", "target = \"c"),
        services_in("b.example", "n", 2)
    );
    let mut killed = 0;
    for n in 1..=24 {
        let dir = tempdir(&format!("kill-wave-{n}"));
        let t = dir.join("t");
        std::fs::create_dir_all(&t).unwrap();
        std::fs::write(t.join("main.hcl"), &first).unwrap();
        let o = meridian(&dir, &["apply", "t", "--auto-approve"]);
        assert_eq!(o.status.code(), Some(0), "{}", text_of(&o));
        std::fs::write(t.join("main.hcl"), &second).unwrap();
        let o = Command::new(env!("CARGO_BIN_EXE_meridian"))
            .current_dir(&dir)
            .args(["apply", "t", "--auto-approve", "--force"])
            .env("MERIDIAN_FAULT_EXIT_AFTER", n.to_string())
            .output()
            .unwrap();
        if o.status.code() == Some(0) {
            break;
        }
        assert_eq!(o.status.code(), Some(137), "{n}: {}", text_of(&o));
        killed += 1;
        for id in left_locks(&t) {
            let _ = meridian(&dir, &["force-unlock", &id, "t", "--force"]);
        }
        std::fs::write(t.join("main.hcl"), &first).unwrap();
        let o = meridian(&dir, &["state", "list", "t"]);
        assert_eq!(o.status.code(), Some(0), "{n}: {}", text_of(&o));
        let listed: Vec<String> = String::from_utf8_lossy(&o.stdout)
            .lines()
            .filter(|l| l.starts_with("record.") || l.starts_with("owner."))
            .map(str::to_string)
            .collect();
        let state = t.join(".meridian/state.json");
        for a in addresses_of_records(&state) {
            assert!(
                listed.contains(&a),
                "{n}: {a} exists but state list shows {listed:?}"
            );
        }
        let o = meridian(&dir, &["apply", "t", "--auto-approve", "--force"]);
        assert_eq!(o.status.code(), Some(0), "{n}: {}", text_of(&o));
        assert_eq!(records_in(&state, "b.example"), 0, "{n}");
        let o = meridian(&dir, &["plan", "t", "--detailed-exitcode"]);
        assert_eq!(o.status.code(), Some(0), "{n}: {}", text_of(&o));
    }
    eprintln!("killed at {killed} points of the apply");
    assert!(
        killed >= 2,
        "the apply had fewer than 2 waves to kill: {killed}"
    );
}

/// A saved plan or a manifest larger than 1 GiB is refused before it is read (a sparse file:
/// nothing is allocated), where it was read whole into memory.
#[test]
fn oversized_saved_plans_and_manifests_are_refused_unread() {
    let dir = tempdir("oversized");
    let t = dir.join("t");
    std::fs::create_dir_all(&t).unwrap();
    std::fs::write(t.join("main.hcl"), services_in("a.example", "s", 1)).unwrap();
    let o = meridian(&dir, &["plan", "t", "--out", "plan.json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text_of(&o));
    let grow = |p: &Path| {
        let f = std::fs::OpenOptions::new().write(true).open(p).unwrap();
        f.set_len((1 << 30) + 1).unwrap();
    };
    grow(&dir.join("plan.json"));
    let started = std::time::Instant::now();
    let o = meridian(&dir, &["apply", "plan.json"]);
    assert_eq!(o.status.code(), Some(1), "{}", text_of(&o));
    assert!(
        text_of(&o).contains("is larger than 1024 MiB"),
        "{}",
        text_of(&o)
    );
    let o = meridian(&dir, &["apply", "t", "--auto-approve"]);
    assert_eq!(o.status.code(), Some(0), "{}", text_of(&o));
    grow(&t.join(".meridian/manifest.json"));
    let o = meridian(&dir, &["plan", "t"]);
    assert_eq!(o.status.code(), Some(1), "{}", text_of(&o));
    assert!(
        text_of(&o).contains("is larger than 1024 MiB"),
        "{}",
        text_of(&o)
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
}

/// A plan that deletes a replication rule says replication is registry-wide (another topology
/// or tool may rely on it): before, a destroy deleted it without a word.
#[test]
fn deleting_a_replication_rule_says_it_may_be_relied_on() {
    let dir = tempdir("rule-relied-on");
    let t = dir.join("t");
    std::fs::create_dir_all(&t).unwrap();
    let registry = "registry \"images\" {\n  source       = \"us-east-1\"\n  destinations = [\"eu-west-1\"]\n  repositories = [\"shop/api\"]\n}\n";
    std::fs::write(
        t.join("main.hcl"),
        format!("{}{registry}", services_in("a.example", "s", 1)),
    )
    .unwrap();
    let o = meridian(&dir, &["apply", "t", "--auto-approve"]);
    assert_eq!(o.status.code(), Some(0), "{}", text_of(&o));
    assert!(!text_of(&o).contains("Shared:"), "{}", text_of(&o));
    let o = meridian(&dir, &["destroy", "t", "--auto-approve"]);
    assert_eq!(o.status.code(), Some(0), "{}", text_of(&o));
    assert!(
        text_of(&o).contains("Shared: this plan deletes the ECR replication rule in us-east-1 to eu-west-1 (filters shop/api); replication is registry-wide"),
        "{}",
        text_of(&o)
    );
}

/// The ids of the health checks in a local state store.
fn check_ids(state: &Path) -> Vec<String> {
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(state).unwrap()).unwrap();
    doc["health_checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["id"].as_str().unwrap().to_string())
        .collect()
}

/// `--replace` (and Terraform's `-replace=`) replaces a health check that is as declared: the
/// plan shows it replaced "as requested" and its record updated, a saved plan keeps the request
/// for its apply, the apply gives the check a new id and deletes the old one, and the next plan
/// has nothing to do. A record, a repository or an unknown address is refused with a reason.
#[test]
fn replace_renews_a_health_check_on_request() {
    let dir = tempdir("replace");
    copy_example("active-passive", &dir);
    let t = "active-passive";
    let o = meridian(&dir, &["apply", t, "--auto-approve"]);
    assert_eq!(o.status.code(), Some(0), "{}", text_of(&o));
    let state = dir.join(t).join(".meridian/state.json");
    let before = check_ids(&state);
    let address = "health_check.billing[\"us-east-1\"]";
    let flag = format!("-replace={address}");
    let o = meridian(&dir, &["plan", t, &flag, "--out", "p.json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text_of(&o));
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        out.contains(&format!("# {address} will be replaced, as requested")),
        "{out}"
    );
    assert!(
        out.contains("record.billing[\"us-east-1\"] will be updated in-place"),
        "{out}"
    );
    assert!(
        out.contains("Plan: 1 to add, 1 to change, 1 to destroy (1 replaced)."),
        "{out}"
    );
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("p.json")).unwrap()).unwrap();
    assert_eq!(saved["replace"], serde_json::json!([address]));
    let o = meridian(&dir, &["apply", "p.json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text_of(&o));
    let after = check_ids(&state);
    assert_eq!(after.len(), before.len());
    assert_eq!(
        after.iter().filter(|id| before.contains(id)).count(),
        before.len() - 1
    );
    let o = meridian(&dir, &["plan", t, "--detailed-exitcode"]);
    assert_eq!(o.status.code(), Some(0), "{}", text_of(&o));
    // Dropped by a --target that leaves it out: refused, not silently ignored.
    let o = meridian(
        &dir,
        &[
            "plan",
            t,
            "--replace",
            address,
            "--target",
            "record.billing[\"eu-west-1\"]",
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(text_of(&o).contains("outside --target"), "{}", text_of(&o));
    for (bad, why) in [
        (
            "record.billing[\"us-east-1\"]",
            "Route 53 changes a record set in place",
        ),
        (
            "ecr_repository.billing-images[\"billing/api\"]",
            "holds images",
        ),
        ("health_check.nope", "no declared resource has this address"),
    ] {
        let o = meridian(&dir, &["plan", t, "--replace", bad]);
        assert_eq!(o.status.code(), Some(1), "{bad}");
        assert!(text_of(&o).contains("meridian::plan::replace") && text_of(&o).contains(why));
    }
}

/// A service of two checked regions (`{name}1.example.com`, `{name}2.example.com` unless
/// `targets` says), for the creation-cap tests.
fn capped_service(name: &str, targets: &str) -> String {
    let (one, two) = if targets.is_empty() {
        (format!("{name}1"), format!("{name}2"))
    } else {
        (format!("{targets}1"), format!("{targets}2"))
    };
    format!(
        "service \"{name}\" {{\n  zone = \"example.com\"\n  domain = \"{name}.example.com\"\n  routing = \"latency\"\n  stateless = true\n  health_check {{\n    type = \"HTTPS\"\n    path = \"/\"\n  }}\n  region \"us-east-1\" {{\n    target = \"{one}.example.com\"\n  }}\n  region \"eu-west-1\" {{\n    target = \"{two}.example.com\"\n  }}\n}}\n"
    )
}

/// Plans `t` as JSON (exit 0 expected) and applies it; returns the plan's `deferred` and the
/// checks it creates.
fn plan_and_apply_capped(dir: &Path) -> (serde_json::Value, usize) {
    let o = meridian(dir, &["plan", "t", "--live", "local", "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text_of(&o));
    let p: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let creating = p["resource_changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["meridian_type"] == "health_check")
        .filter(|c| {
            c["change"]["actions"]
                .as_array()
                .unwrap()
                .contains(&"create".into())
        })
        .count();
    let o = meridian(dir, &["apply", "t", "--live", "local", "--auto-approve"]);
    assert_eq!(o.status.code(), Some(0), "{}", text_of(&o));
    (p["deferred"].clone(), creating)
}

/// The creation cap is a setting, not a wall: past `health_check_creations_per_day` the plan
/// takes whole services in name order up to it and says which wait, so applying again
/// converges; a service that alone needs more than the cap is refused with the setting named.
/// Expected by hand: 3 services x 2 checks under a cap of 3 take a, then b, then c (2 checks
/// each, the next one would make 4); under 5, a and b (4), then c.
#[test]
fn the_creation_cap_takes_whole_services_and_applies_converge() {
    let dir = tempdir("creation-cap");
    std::fs::create_dir_all(dir.join("t")).unwrap();
    let write = |cap: &str, services: &str| {
        let text = format!(
            "provider \"aws\" {{\n  health_check_creations_per_day = {cap}\n}}\n{services}"
        );
        std::fs::write(dir.join("t/main.hcl"), text).unwrap();
    };
    let abc = ["a", "b", "c"].map(|n| capped_service(n, "")).concat();
    write("1", &abc);
    let o = meridian(&dir, &["plan", "t", "--live", "local"]);
    assert_eq!(o.status.code(), Some(1), "{}", text_of(&o));
    let out = text_of(&o);
    assert!(
        out.contains("a needs 2 new health checks, more than the 1"),
        "{out}"
    );
    assert!(out.contains("meridian::plan::health_check_rate"), "{out}");
    write("3", &abc);
    let o = meridian(&dir, &["plan", "t", "--live", "local"]);
    let out = text_of(&o);
    assert!(
        out.contains("Waiting: 2 service(s) needing 4 more health check(s) (b, c): this apply creates 2 of its cap of 3"),
        "{out}"
    );
    for (waiting, checks) in [(vec!["b", "c"], 4), (vec!["c"], 2)] {
        let (d, creating) = plan_and_apply_capped(&dir);
        assert_eq!(d["waiting"], serde_json::json!(waiting), "{d}");
        assert_eq!(
            (
                d["waiting_checks"].as_u64(),
                d["creating"].as_u64(),
                creating
            ),
            (Some(checks), Some(2), 2)
        );
    }
    let (d, creating) = plan_and_apply_capped(&dir);
    assert_eq!((d, creating), (serde_json::Value::Null, 2));
    let o = meridian(&dir, &["plan", "t", "--live", "local"]);
    assert!(text_of(&o).contains("No changes."), "{}", text_of(&o));
    // 0: no cap.
    write("0", &abc);
    let o = meridian(&dir, &["plan", "t", "--live", "local"]);
    assert!(text_of(&o).contains("No changes."), "{}", text_of(&o));
}

/// Shared checks (`health_check_scope = "endpoint"`) count once: b probes what a probes, so
/// under a cap of 2 the plan takes a's 2 checks and b with them, and c waits; a removal waits
/// for nothing. The manifest of a partial apply keeps what it listed (the removed service's
/// names are still read, and removed, by the apply that takes them).
#[test]
fn the_creation_cap_counts_shared_checks_once() {
    let dir = tempdir("creation-cap-shared");
    std::fs::create_dir_all(dir.join("t")).unwrap();
    let write = |services: &str| {
        let text = format!("health_check_scope = \"endpoint\"\nprovider \"aws\" {{\n  health_check_creations_per_day = 2\n}}\n{services}");
        std::fs::write(dir.join("t/main.hcl"), text).unwrap();
    };
    write(
        &[
            capped_service("a", ""),
            capped_service("b", "a"),
            capped_service("c", ""),
        ]
        .concat(),
    );
    let (d, creating) = plan_and_apply_capped(&dir);
    assert_eq!(d["waiting"], serde_json::json!(["c"]), "{d}");
    assert_eq!(creating, 2);
    // a goes (its records; the shared checks stay for b), d arrives and waits behind c.
    write(
        &[
            capped_service("b", "a"),
            capped_service("c", ""),
            capped_service("d", ""),
        ]
        .concat(),
    );
    let (d, creating) = plan_and_apply_capped(&dir);
    assert_eq!(d["waiting"], serde_json::json!(["d"]), "{d}");
    assert_eq!(creating, 2);
    let (d, creating) = plan_and_apply_capped(&dir);
    assert_eq!((d, creating), (serde_json::Value::Null, 2));
    let o = meridian(&dir, &["plan", "t", "--live", "local"]);
    assert!(text_of(&o).contains("No changes."), "{}", text_of(&o));
    let state = std::fs::read_to_string(dir.join("t/.meridian/state.json")).unwrap();
    assert!(
        !state.contains("a.example.com"),
        "a's records are gone: {state}"
    );
}

/// `plan --format json` and `--out` stream the document: the bytes are serde_json's pretty
/// printing of the same document's `Value` (keys sorted), for every example, applied or not.
#[test]
fn streamed_json_plans_are_the_pretty_sorted_document() {
    let dir = tempdir("stream");
    for e in [
        "active-passive",
        "active-active-partitioned",
        "active-active-anycast",
    ] {
        copy_example(e, &dir);
        for round in 0..2 {
            let saved = dir.join(format!("{e}-{round}.json"));
            let o = meridian(
                &dir,
                &[
                    "plan",
                    e,
                    "--format",
                    "json",
                    "--out",
                    saved.to_str().unwrap(),
                ],
            );
            assert_eq!(o.status.code(), Some(0), "{}", text_of(&o));
            let out = String::from_utf8(o.stdout).unwrap();
            let v: serde_json::Value = serde_json::from_str(&out).unwrap();
            assert_eq!(out, serde_json::to_string_pretty(&v).unwrap() + "\n", "{e}");
            assert_eq!(std::fs::read_to_string(&saved).unwrap(), out, "{e}: --out");
            let o = meridian(&dir, &["apply", e, "--auto-approve"]);
            assert_eq!(o.status.code(), Some(0), "{}", text_of(&o));
        }
    }
}

/// What the creation cap must not split or hide (a review's findings): an alias and the
/// same-zone records it targets go in one apply; a shared check's deletion waits while a
/// waiting service may still use it, so every apply completes; and the mass-change guard
/// judges the whole change, not the part one apply takes.
#[test]
fn the_creation_cap_keeps_aliases_together_deletions_safe_and_the_guard_on() {
    let dir = tempdir("creation-cap-review");
    std::fs::create_dir_all(dir.join("t")).unwrap();
    let write = |head: &str, services: &str| {
        std::fs::write(dir.join("t/main.hcl"), format!("{head}{services}")).unwrap();
    };
    let cap = |n: u32| format!("provider \"aws\" {{\n  health_check_creations_per_day = {n}\n}}\n");
    // 1. api aliases edge's name: 4 checks together; zz waits. Under 2 they cannot be taken.
    let alias = std::fs::read_to_string("tests/fixtures/recovery/alias_in_zone.hcl").unwrap();
    write(&cap(4), &format!("{alias}{}", capped_service("zz", "")));
    let (d, creating) = plan_and_apply_capped(&dir);
    assert_eq!(
        (d["waiting"].clone(), creating),
        (serde_json::json!(["zz"]), 4),
        "{d}"
    );
    std::fs::remove_dir_all(dir.join("t/.meridian")).unwrap();
    write(&cap(2), &alias);
    let o = meridian(&dir, &["plan", "t", "--live", "local"]);
    assert!(
        text_of(&o).contains("api, edge needs 4 new health checks, more than the 2"),
        "{}",
        text_of(&o)
    );
    let _ = std::fs::remove_dir_all(dir.join("t/.meridian"));
    // 2. a and b share check X (same target); both move away under a cap of 1: a takes Y,
    // X's deletion waits with b, and each apply completes.
    let weighted = |name: &str, target: &str| {
        format!("service \"{name}\" {{\n  zone = \"example.com\"\n  domain = \"{name}.example.com\"\n  routing = \"weighted\"\n  stateless = true\n  health_check {{\n    type = \"HTTPS\"\n    path = \"/\"\n  }}\n  region \"us-east-1\" {{\n    weight = 1\n    target = \"{target}.example.net\"\n  }}\n}}\n")
    };
    let shared = "health_check_scope = \"endpoint\"\n";
    write(
        &format!("{shared}{}", cap(0)),
        &[weighted("a", "x"), weighted("b", "x")].concat(),
    );
    plan_and_apply_capped(&dir);
    write(
        &format!("{shared}{}", cap(1)),
        &[weighted("a", "y"), weighted("b", "z")].concat(),
    );
    let (d, _) = plan_and_apply_capped(&dir);
    // b waits; X's deletion is held with it, counted apart from the services.
    assert_eq!(d["waiting"], serde_json::json!(["b"]), "{d}");
    let held = d["held"].as_array().unwrap();
    assert!(
        held.len() == 1 && held[0].as_str().unwrap().contains("x.example.net"),
        "{d}"
    );
    let (d, _) = plan_and_apply_capped(&dir);
    assert!(d.is_null(), "{d}");
    let o = meridian(&dir, &["plan", "t", "--live", "local"]);
    assert!(text_of(&o).contains("No changes."), "{}", text_of(&o));
    std::fs::remove_dir_all(dir.join("t/.meridian")).unwrap();
    // 3. Changing every service's interval is a mass change, however few one apply takes.
    let services = |interval: u32| {
        (0..12)
            .map(|i| {
                capped_service(&format!("s{i:02}"), "").replace(
                    "    path = \"/\"\n",
                    &format!("    path = \"/\"\n    interval = {interval}\n"),
                )
            })
            .collect::<String>()
    };
    write(&cap(0), &services(30));
    plan_and_apply_capped(&dir);
    write(&cap(4), &services(10));
    let o = meridian(&dir, &["plan", "t", "--live", "local"]);
    assert_eq!(o.status.code(), Some(1), "{}", text_of(&o));
    assert!(
        text_of(&o).contains("meridian::plan::mass_change"),
        "{}",
        text_of(&o)
    );
}
