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

#[test]
fn an_accelerator_alias_is_listed_not_guessed() {
    let dir = scratch("anycast");
    let topo = applied(&dir, "active-active-anycast");
    let (hcl, said) = import(&topo.join(".meridian/state.json"));
    assert!(said.contains("Imported 0 services"), "{said}");
    assert!(
        hcl.contains("ledger.example.com A: an alias to a Global Accelerator"),
        "{hcl}"
    );
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
