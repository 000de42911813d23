//! The zone-file provider: a DNS provider of another model (RFC 1035 zone files: no health
//! checks, routing policies, aliases or registries) behind the same seam. Plan, apply and plan
//! again against a hand-written zone, every written file checked by ISC BIND's own
//! `named-checkzone`.

use crate::support::bin::{command, meridian, stdout, text, Run};
use crate::support::provision::named_checkzone;
use std::path::{Path, PathBuf};

/// A zone as a person writes one: `$TTL`, a parenthesised SOA, relative names, a record
/// Meridian does not manage.
const ZONE: &str = "$TTL 1h
@       IN SOA  ns1.example.net. hostmaster ( 2026120701 ; serial
                7200 3600 1209600 300 )
        IN NS   ns1.example.net.
www 300 IN A    192.0.2.10  ; not Meridian's
esc     IN TXT  a\\;b \"c (d)\"
sp\\ ace IN A  192.0.2.11
Mail    IN MX   10 MX.Example.net.
$ORIGIN sub.example.com.
rp2     IN RP   admin txtrec
svc     IN SRV  0 5 5060 sip
";

/// BIND's view of the records Meridian does not manage: everything but its own and the SOA.
fn unmanaged(dump: &[String]) -> Vec<String> {
    dump.iter()
        .filter(|l| !l.contains("billing") && !l.contains(" SOA "))
        .cloned()
        .collect()
}

fn setup(name: &str) -> (PathBuf, PathBuf) {
    let dir = std::env::temp_dir().join(format!("meridian-zonefile-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let topo = dir.join("billing");
    std::fs::create_dir_all(topo.join("zones")).expect("a scratch directory");
    std::fs::copy("examples/active-passive/main.hcl", topo.join("main.hcl"))
        .expect("the example is copied");
    std::fs::write(topo.join("zones/example.com.zone"), ZONE).expect("the zone is written");
    (dir, topo)
}

fn run(args: &[&str]) -> (i32, String) {
    let o = meridian(args);
    (o.status.code().unwrap_or(-1), text(&o))
}

/// `named-checkzone -D`: the zone as BIND loads it (canonical, names absolute), or why not.
fn bind_loads(zone_file: &Path) -> String {
    let o = named_checkzone()
        .expect("named-checkzone is provisioned")
        .args(["-D", "-o", "-", "example.com"])
        .arg(zone_file)
        .output()
        .expect("named-checkzone runs");
    assert!(
        o.status.success(),
        "named-checkzone refused {}:\n{}\n{}",
        zone_file.display(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// One record as `named-checkzone -D` prints it: name, TTL, class, type, data, tab-separated
/// or space-separated depending on the version; compared with spaces.
fn lines(dump: &str) -> Vec<String> {
    dump.lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

#[test]
fn plan_apply_plan_is_clean_and_bind_loads_every_zone_written() {
    let (dir, topo) = setup("roundtrip");
    let t = topo.to_str().unwrap();
    let file = topo.join("zones/example.com.zone");
    let before = unmanaged(&lines(&bind_loads(&file)));
    assert!(before.len() >= 7, "{before:#?}");
    let (code, out) = run(&["plan", "--live", "zonefile", t, "--detailed-exitcode"]);
    assert_eq!(code, 2, "{out}");
    // What a zone file cannot hold is said, not silently dropped.
    assert!(out.contains("Left out: health_check.billing[\"eu-west-1\"], health_check.billing[\"us-east-1\"]: the zone-file provider has no health checks"), "{out}");
    assert!(out.contains("Left out: record.billing[\"eu-west-1\"]: the zone-file provider holds one answer set per name and no routing policy: record.billing[\"us-east-1\"] answers alone at billing.example.com"), "{out}");
    assert!(out.contains("ecr_replication.billing-images"), "{out}");
    // ... and the recovery shown is that of what will run: nothing detects a lost region.
    assert!(out.contains("NO RECOVERY (service billing)"), "{out}");
    let (code, out) = run(&["apply", "--live", "zonefile", t, "--auto-approve"]);
    assert_eq!(code, 0, "{out}");
    let dump = lines(&bind_loads(&file));
    // Every record Meridian does not manage means to BIND what it meant before.
    assert_eq!(unmanaged(&dump), before);
    for want in [
        "billing.example.com. 60 IN CNAME billing-use1.example.com.",
        "www.example.com. 300 IN A 192.0.2.10",
        "example.com. 3600 IN NS ns1.example.net.",
    ] {
        assert!(dump.iter().any(|l| l == want), "{want} not in {dump:#?}");
    }
    assert!(
        dump.iter()
            .any(|l| l.starts_with("_meridian.billing.example.com. 300 IN TXT \"meridian v=3 id=")),
        "{dump:#?}"
    );
    assert!(
        dump.iter()
            .any(|l| l.contains(" IN SOA ") && l.contains(" 2026120702 ")),
        "the serial moves on: {dump:#?}"
    );
    let (code, out) = run(&["plan", "--live", "zonefile", t, "--detailed-exitcode"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("No changes."), "{out}");
    // A destroy takes Meridian's records out and leaves the rest.
    let (code, out) = run(&["destroy", "--live", "zonefile", t, "--auto-approve"]);
    assert_eq!(code, 0, "{out}");
    let dump = lines(&bind_loads(&file));
    assert!(!dump.iter().any(|l| l.contains("billing")), "{dump:#?}");
    assert_eq!(unmanaged(&dump), before);
    assert!(dump
        .iter()
        .any(|l| l == "www.example.com. 300 IN A 192.0.2.10"));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_saved_zone_file_plan_applies_only_to_its_directory() {
    let (dir, topo) = setup("saved");
    let t = topo.to_str().unwrap();
    let saved = dir.join("plan.json");
    let (code, out) = run(&[
        "plan",
        "--live",
        "zonefile",
        t,
        "--out",
        saved.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}");
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&saved).unwrap()).unwrap();
    assert_eq!(doc["live_source"]["kind"], "zone_files");
    let left: Vec<&str> = doc["left_out"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l["address"].as_str())
        .collect();
    assert!(
        left.contains(&"health_check.billing[\"us-east-1\"]"),
        "{left:?}"
    );
    // Another directory of zone files is another live state.
    let other = dir.join("elsewhere");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(other.join("example.com.zone"), ZONE).unwrap();
    let o = command(&[
        "apply",
        saved.to_str().unwrap(),
        "--live",
        "zonefile",
        "--zone-dir",
        other.to_str().unwrap(),
    ])
    .output()
    .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("--zone-dir"), "{}", text(&o));
    // Its own directory: applied exactly, from another working directory by a relative path.
    Run::new(&["apply", "plan.json"]).dir(&dir).code(0);
    bind_loads(&topo.join("zones/example.com.zone"));
    let (code, out) = run(&["plan", "--live", "zonefile", t, "--detailed-exitcode"]);
    assert_eq!(code, 0, "{out}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_zone_without_its_file_is_refused_with_how_to_start_one() {
    let (dir, topo) = setup("missing");
    std::fs::remove_file(topo.join("zones/example.com.zone")).unwrap();
    let o = meridian(&["plan", "--live", "zonefile", topo.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o).contains("no zone file at") && text(&o).contains("SOA and NS"),
        "{}",
        text(&o)
    );
    assert!(stdout(&o).is_empty());
    let _ = std::fs::remove_dir_all(dir);
}

/// A weighted service of addresses: the heaviest region answers alone.
const WEIGHTED: &str = r#"
service "api" {
  zone    = "example.com"
  domain  = "api.example.com"
  routing = "weighted"
  region "us-east-1" {
    weight = 200
    ips    = ["192.0.2.1", "192.0.2.2"]
  }
  region "eu-west-1" {
    weight = 100
    ips    = ["198.51.100.1"]
  }
}
"#;

#[test]
fn a_set_meridian_did_not_write_beside_its_own_is_foreign_and_addresses_agree() {
    let (dir, topo) = setup("foreign");
    std::fs::write(topo.join("main.hcl"), WEIGHTED).expect("the topology is written");
    let t = topo.to_str().expect("a UTF-8 path");
    let file = topo.join("zones/example.com.zone");
    let (code, out) = run(&["apply", "--live", "zonefile", t, "--auto-approve"]);
    assert_eq!(code, 0, "{out}");
    let (_, listed) = run(&["state", "list", "--live", "zonefile", t]);
    assert!(listed.contains("record.api[\"us-east-1\"]\n"), "{listed}");
    // Someone adds an AAAA set beside Meridian's A set: not Meridian's to change.
    let mut zone = std::fs::read_to_string(&file).expect("the zone reads");
    zone.push_str("api.example.com. 300 IN AAAA 2001:db8::10\n");
    std::fs::write(&file, &zone).expect("the zone is written");
    let (code, out) = run(&["plan", "--live", "zonefile", t]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("AAAA"), "{out}");
    // A destroy names the record as the plan that made it did, and leaves the AAAA alone.
    std::fs::write(
        &file,
        zone.replace("api.example.com. 300 IN AAAA 2001:db8::10\n", ""),
    )
    .expect("the zone is written");
    let (code, out) = run(&["plan", "--live", "zonefile", t, "--destroy"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("record.api[\"us-east-1\"] will be destroyed"),
        "{out}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn what_zone_files_cannot_do_is_refused_in_words() {
    let (dir, topo) = setup("refusals");
    std::fs::write(topo.join("main.hcl"), WEIGHTED).expect("the topology is written");
    let t = topo.to_str().expect("a UTF-8 path");
    Run::new(&["apply", "--live", "zonefile", t, "--auto-approve"]).code(0);
    let refused = |args: &[&str], says: &str| {
        let out = Run::new(args).code(1);
        assert!(out.contains(says), "{args:?}: {out}");
    };
    // A zone file holds no weights to shift.
    refused(
        &[
            "shift",
            "api",
            t,
            "--region",
            "us-east-1",
            "--to",
            "0",
            "--live",
            "zonefile",
            "--auto-approve",
        ],
        "holds no weighted records",
    );
    // What is left out cannot be targeted; flags of another kind of live state are not ignored.
    refused(
        &[
            "plan",
            "--live",
            "zonefile",
            t,
            "--target",
            "record.api[\"eu-west-1\"]",
        ],
        "is left out of this plan",
    );
    refused(
        &["plan", t, "--zone-dir", "zones"],
        "--zone-dir is for --live zonefile",
    );
    refused(
        &["plan", "--live", "zonefile", t, "--state", "s.json"],
        "--state names a local state store",
    );
    // A zone file without its SOA is no zone: never written to.
    let other = dir.join("bare");
    std::fs::create_dir_all(&other).expect("a directory");
    std::fs::write(
        other.join("example.com.zone"),
        "$TTL 60\nwww IN A 192.0.2.1\n",
    )
    .expect("the zone is written");
    refused(
        &[
            "plan",
            "--live",
            "zonefile",
            "--zone-dir",
            other.to_str().expect("UTF-8"),
            t,
        ],
        "no SOA record at example.com",
    );
    // On a terminal-less stdin, an apply without --auto-approve asks for nothing and changes
    // nothing.
    let out = Run::new(&["apply", "--live", "zonefile", t])
        .stdin("yes\n")
        .code(1);
    assert!(out.contains("pass --auto-approve"), "{out}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn force_unlock_finds_the_zone_files_lock() {
    let (dir, topo) = setup("unlock");
    let t = topo.to_str().expect("a UTF-8 path");
    // An apply killed holding every lock (debug builds honour the fault hook).
    Run::new(&["apply", "--live", "zonefile", t, "--auto-approve"])
        .env("MERIDIAN_FAULT_EXIT_AFTER", "1")
        .code(137);
    let lock = topo.join("zones/.meridian.lock");
    let holder: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&lock).expect("the lock is left"))
            .expect("the lock names its holder");
    let id = holder["id"].as_str().expect("an id");
    let (code, out) = run(&["force-unlock", id, t, "--force"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("the zone files in"), "{out}");
    assert!(!lock.exists());
    let _ = std::fs::remove_dir_all(dir);
}
