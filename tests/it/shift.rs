//! `meridian shift` over the local state store: weights move in the declared steps, plans
//! hold them, an interrupted shift resumes, and abort, write and release end a hold.

#![allow(clippy::unwrap_used, clippy::too_many_lines)]

use crate::support::bin::{meridian, text};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const TOPOLOGY: &str = r#"# A weighted service: an even split between two regions.
service "api" {
  zone    = "example.com"
  domain  = "api.example.com"
  routing = "weighted"

  health_check {
    type = "HTTPS"
    path = "/healthz"
  }

  region "us-east-1" {
    target = "api-use1.example.com"
    weight = 100 # the primary
  }

  region "eu-west-1" {
    target = "api-euw1.example.com"
    weight = 100
  }
}
"#;

/// A fresh directory holding the topology, applied once.
fn applied(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("shift")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("main.hcl"), TOPOLOGY).unwrap();
    let o = meridian(&["apply", dir.to_str().unwrap(), "--auto-approve"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    dir
}

/// The live weight of api's record in `region`, from a plan's prior state.
fn live_weight(dir: &Path, region: &str) -> u64 {
    let o = meridian(&["plan", dir.to_str().unwrap(), "--format", "json"]);
    let plan: Value = serde_json::from_slice(&o.stdout).unwrap();
    plan["prior_state"]["records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["set_identifier"] == format!("api-{region}"))
        .unwrap_or_else(|| panic!("no record for {region}"))["weight"]
        .as_u64()
        .unwrap()
}

fn manifest(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join(".meridian/manifest.json")).unwrap())
        .unwrap()
}

fn shift(dir: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["shift", "api", dir.to_str().unwrap(), "--auto-approve"];
    args.extend(extra);
    meridian(&args)
}

#[test]
fn a_drain_moves_in_the_declared_steps_and_plans_hold_it() {
    let dir = applied("drain");
    let o = shift(
        &dir,
        &[
            "--region",
            "us-east-1",
            "--to",
            "0",
            "--over",
            "0s",
            "--steps",
            "5",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let out = text(&o);
    // 100 to 0 in 5 steps: 80, 60, 40, 20, 0.
    for (i, (a, b)) in [(100, 80), (80, 60), (60, 40), (40, 20), (20, 0)]
        .iter()
        .enumerate()
    {
        assert!(
            out.contains(&format!(
                "step {}/5: api[\"us-east-1\"] weight {a} -> {b}",
                i + 1
            )),
            "{out}"
        );
    }
    assert_eq!(live_weight(&dir, "us-east-1"), 0);
    // The file still says 100: the plan holds 0 instead of undoing the drain.
    let o = meridian(&["plan", dir.to_str().unwrap(), "--detailed-exitcode"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains("held at 0 by a shift (5 of 5 steps applied; the file says 100)"),
        "{}",
        text(&o)
    );
    let m = manifest(&dir);
    assert_eq!(m["holds"]["api"]["weight"], 0);
    assert_eq!(
        m["history"].as_array().unwrap().last().unwrap()["operation"],
        "shift"
    );

    // --write puts 0 in the file, keeping the comment, and stops holding.
    let o = shift(&dir, &["--write"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let file = std::fs::read_to_string(dir.join("main.hcl")).unwrap();
    assert_eq!(
        file,
        TOPOLOGY.replace("weight = 100 # the primary", "weight = 0 # the primary")
    );
    assert!(manifest(&dir).get("holds").is_none());
    let o = meridian(&["plan", dir.to_str().unwrap(), "--detailed-exitcode"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

#[test]
fn release_hands_control_back_to_the_file() {
    let dir = applied("release");
    let o = shift(
        &dir,
        &[
            "--region",
            "eu-west-1",
            "--to",
            "10",
            "--over",
            "0s",
            "--steps",
            "1",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(live_weight(&dir, "eu-west-1"), 10);
    let o = shift(&dir, &["--release"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    // The file says 100: the next plan changes it back.
    let o = meridian(&["plan", dir.to_str().unwrap(), "--detailed-exitcode"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("1 to change"), "{}", text(&o));
}

#[test]
fn an_interrupted_shift_resumes_and_an_abort_returns_to_the_start() {
    let dir = applied("interrupt");
    // 4 steps over 8 s: a step every 2 s. Interrupt in the pause after the second step.
    let child = Command::new(env!("CARGO_BIN_EXE_meridian"))
        .args([
            "shift",
            "api",
            dir.to_str().unwrap(),
            "--auto-approve",
            "--region",
            "us-east-1",
            "--to",
            "0",
            "--over",
            "8s",
            "--steps",
            "4",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(3000));
    let pid = child.id().to_string();
    Command::new("kill").args(["-INT", &pid]).status().unwrap();
    let o = child.wait_with_output().unwrap();
    // SIGINT in the pause between steps: 128 + 2.
    assert_eq!(o.status.code(), Some(130), "{}", text(&o));
    // Wherever it stopped, the records and the manifest agree on a step of 100, 75, 50, 25, 0.
    let h = manifest(&dir)["holds"]["api"].clone();
    let done = h["done"].as_u64().unwrap();
    assert!((1..4).contains(&done), "{h}");
    let weight = [75, 50, 25][done as usize - 1];
    assert_eq!(h["weight"], weight);
    assert_eq!(live_weight(&dir, "us-east-1"), weight);
    let o = meridian(&["plan", dir.to_str().unwrap(), "--detailed-exitcode"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains(&format!(
        "held at {weight} by a shift ({done} of 4 steps applied"
    )));

    // The same command resumes where it stopped.
    let o = shift(
        &dir,
        &[
            "--region",
            "us-east-1",
            "--to",
            "0",
            "--over",
            "0s",
            "--steps",
            "4",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains(&format!(
            "Resuming the shift of api[\"us-east-1\"] to 0: {done} of 4 steps applied"
        )),
        "{}",
        text(&o)
    );
    assert!(text(&o).contains("step 4/4"), "{}", text(&o));
    assert!(!text(&o).contains("step 1/4"), "{}", text(&o));
    assert_eq!(live_weight(&dir, "us-east-1"), 0);

    // Abort returns to where the shift started (100) and stops holding.
    let o = shift(&dir, &["--abort"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(live_weight(&dir, "us-east-1"), 100);
    assert!(manifest(&dir).get("holds").is_none());
    let o = meridian(&["plan", dir.to_str().unwrap(), "--detailed-exitcode"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

#[test]
fn only_weighted_services_shift() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("shift")
        .join("latency");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let latency = TOPOLOGY
        .replace("\"weighted\"", "\"latency\"")
        .replace("    weight = 100 # the primary\n", "")
        .replace("    weight = 100\n", "");
    std::fs::write(dir.join("main.hcl"), latency).unwrap();
    let o = shift(&dir, &["--region", "us-east-1", "--to", "0"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o).contains("latency routing: there are no weights to shift"),
        "{}",
        text(&o)
    );
    // A never-applied weighted topology has no records to move.
    let dir = dir.with_file_name("never-applied");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("main.hcl"), TOPOLOGY).unwrap();
    let o = shift(
        &dir,
        &["--region", "us-east-1", "--to", "0", "--over", "0s"],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("never been applied"), "{}", text(&o));
}

/// One held region per service; no drain to all-zero weights; an abort back to an earlier
/// shift's weight keeps holding it; destroy forgets every hold; a step never carries an
/// unapplied edit of the file.
#[test]
fn shifts_refuse_what_would_surprise() {
    let dir = applied("guards");
    // eu-west-1 drained to 0 and written into the file.
    let o = shift(
        &dir,
        &[
            "--region",
            "eu-west-1",
            "--to",
            "0",
            "--over",
            "0s",
            "--steps",
            "1",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = shift(&dir, &["--write"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = shift(
        &dir,
        &[
            "--region",
            "us-east-1",
            "--to",
            "50",
            "--over",
            "0s",
            "--steps",
            "1",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    // eu-west-1 while us-east-1 is held: refused.
    let o = shift(
        &dir,
        &[
            "--region",
            "eu-west-1",
            "--to",
            "50",
            "--over",
            "0s",
            "--steps",
            "1",
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o).contains("one region of a service moves at a time"),
        "{}",
        text(&o)
    );
    // us-east-1 to 0 while eu-west-1 is at 0: every weight 0 means an equal split.
    let o = shift(
        &dir,
        &[
            "--region",
            "us-east-1",
            "--to",
            "0",
            "--over",
            "0s",
            "--steps",
            "1",
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o).contains("splits its traffic equally"),
        "{}",
        text(&o)
    );
    // A second shift from the held 50 to 20, aborted: back at 50, still held (the file says 100).
    let o = shift(
        &dir,
        &[
            "--region",
            "us-east-1",
            "--to",
            "20",
            "--over",
            "0s",
            "--steps",
            "1",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = shift(&dir, &["--abort"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(live_weight(&dir, "us-east-1"), 50);
    assert_eq!(manifest(&dir)["holds"]["api"]["weight"], 50);
    let o = meridian(&["plan", dir.to_str().unwrap(), "--detailed-exitcode"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    // An unapplied edit of the region's target: the shift refuses to carry it.
    let main = dir.join("main.hcl");
    let edited = std::fs::read_to_string(&main)
        .unwrap()
        .replace("api-use1.example.com", "api-use1b.example.com");
    std::fs::write(&main, edited).unwrap();
    let o = shift(
        &dir,
        &[
            "--region",
            "us-east-1",
            "--to",
            "40",
            "--over",
            "0s",
            "--steps",
            "1",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("a shift changes weights only"),
        "{}",
        text(&o)
    );
    assert_eq!(live_weight(&dir, "us-east-1"), 50);
    // Destroy forgets the hold: a rebuild starts from the file's weight.
    let o = meridian(&["destroy", dir.to_str().unwrap(), "--auto-approve"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(manifest(&dir).get("holds").is_none());
}
