//! The operations below the CLI, run in a temporary directory with the local backend and the
//! local state store: no binary spawned.

use super::apply::{self, Run};
use super::shift::{self, Session, Start};
use super::{Error, Event, Team, Workspace};
use crate::backend::{BackendSettings, Operation};
use crate::plan::{Options, Plan};
use crate::provider::local::LocalStore;
use crate::provider::Provider;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

const WEIGHTED: &str = r#"
service "api" {
  zone    = "example.com"
  domain  = "api.example.com"
  routing = "weighted"
  health_check {
    type              = "HTTPS"
    path              = "/healthz"
    interval          = 10
    failure_threshold = 3
  }
  region "us-east-1" {
    weight = 100
    target = "use1.example.com"
  }
  region "eu-west-1" {
    weight = 100
    target = "euw1.example.com"
  }
}
"#;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// A directory of its own under the system's temporary one, removed when dropped.
struct Dir(PathBuf);

impl Dir {
    fn new() -> Result<Dir> {
        let d = std::env::temp_dir().join(format!(
            "meridian-ops-{}",
            crate::hash::fresh_id("ops-test")
        ));
        std::fs::create_dir_all(&d)?;
        Ok(Dir(d))
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn err(e: Error) -> Box<dyn std::error::Error> {
    format!("{e:?}").into()
}

fn workspace(dir: &Path, text: &str) -> Result<Workspace> {
    let file = dir.join("main.hcl");
    std::fs::write(&file, text)?;
    let sources = crate::source::Sources::load(&file)?;
    let checked = crate::check(&sources);
    assert!(checked.valid().is_some(), "{:?}", checked.diagnostics);
    Workspace::at(&file, &sources, checked.topology).map_err(err)
}

fn team(ws: &Workspace, lock: bool) -> Result<Team> {
    let lock = lock.then_some(("test", std::time::Duration::ZERO));
    Team::open(
        ws.backend(),
        &BackendSettings::default(),
        lock,
        &super::unobserved,
    )
    .map_err(err)
}

fn store(dir: &Path) -> Result<LocalStore> {
    Ok(LocalStore::open(&dir.join("state.json"), None)?)
}

fn plan(ws: &mut Workspace, team: &Team, store: &dyn Provider) -> Result<Plan> {
    ws.set_identity(team.identity());
    ws.plan(
        store,
        Options::default(),
        crate::plan::new_plan_id(&ws.name()),
    )
    .map_err(err)
}

fn run<'a>(stop: &'a AtomicBool, observe: super::Observer<'a>) -> Run<'a> {
    Run {
        parallelism: 4,
        stop,
        observe,
    }
}

/// Applies the topology once (plan, journal, engine, manifest).
fn apply_once(dir: &Path, ws: &mut Workspace) -> Result<Plan> {
    let mut team = team(ws, true)?;
    let store = store(dir)?;
    let p = plan(ws, &team, &store)?;
    let stop = AtomicBool::new(false);
    let applied = apply::apply(
        &p,
        ws,
        &mut team,
        &store,
        (Operation::Apply, run(&stop, &super::unobserved)),
    )
    .map_err(err)?;
    assert!(applied.outcome.succeeded());
    applied.recorded.map_err(err)?;
    Ok(p)
}

#[test]
fn an_apply_journals_runs_and_records_then_plans_clean() -> Result<()> {
    let dir = Dir::new()?;
    let mut ws = workspace(&dir.0, WEIGHTED)?;
    let events = std::sync::Mutex::new(Vec::new());
    let observe = |e: Event| {
        if !matches!(e, Event::Progress(_)) {
            events.lock().map(|mut v| v.push(e)).ok();
        }
    };
    let mut team = team(&ws, true)?;
    let store = store(&dir.0)?;
    let p = plan(&mut ws, &team, &store)?;
    assert!(p.has_changes());
    let stop = AtomicBool::new(false);
    let applied = apply::apply(
        &p,
        &ws,
        &mut team,
        &store,
        (Operation::Apply, run(&stop, &observe)),
    )
    .map_err(err)?;
    assert!(applied.outcome.succeeded() && applied.recorded.is_ok());
    assert_eq!(
        *events.lock().map_err(|e| e.to_string())?,
        [Event::Writing, Event::Recording, Event::Recorded]
    );
    drop(team);
    let team = self::team(&ws, false)?;
    let m = &team.stored.as_ref().ok_or("no manifest")?.manifest;
    assert_eq!(m.unfinished, None);
    assert_eq!(m.services, ["api"]);
    assert!(!plan(&mut ws, &team, &store)?.has_changes());
    Ok(())
}

#[test]
fn a_stopped_apply_changes_nothing_and_records_what_it_did_not_do() -> Result<()> {
    let dir = Dir::new()?;
    let mut ws = workspace(&dir.0, WEIGHTED)?;
    let mut team = team(&ws, true)?;
    let store = store(&dir.0)?;
    let p = plan(&mut ws, &team, &store)?;
    let stop = AtomicBool::new(true);
    let applied = apply::apply(
        &p,
        &ws,
        &mut team,
        &store,
        (Operation::Apply, run(&stop, &super::unobserved)),
    )
    .map_err(err)?;
    assert!(!applied.outcome.succeeded() && applied.recorded.is_ok());
    let live = store
        .read(&crate::provider::Scope {
            zones: vec!["example.com".into()],
            ..Default::default()
        })
        .map_err(|e| e.to_string())?;
    assert!(live.health_checks.is_empty());
    drop(team);
    let team = self::team(&ws, false)?;
    let m = &team.stored.as_ref().ok_or("no manifest")?.manifest;
    let last = m.history.last().ok_or("no history")?;
    assert_eq!(last.incomplete, p.resource_changes.len());
    assert_eq!(m.unfinished, None);
    drop(team);
    apply_once(&dir.0, &mut ws)?;
    Ok(())
}

#[test]
fn init_writes_one_manifest_and_then_nothing() -> Result<()> {
    let dir = Dir::new()?;
    let ws = workspace(&dir.0, WEIGHTED)?;
    let mut team = team(&ws, true)?;
    let first = super::init::init(&ws, &mut team, None).map_err(err)?;
    let super::init::Initialised::New { id, .. } = first else {
        return Err("no new manifest".into());
    };
    drop(team);
    let mut team = self::team(&ws, true)?;
    let again = super::init::init(&ws, &mut team, None).map_err(err)?;
    assert!(matches!(again, super::init::Initialised::Already { id: ref i, .. } if *i == id));
    Ok(())
}

#[test]
fn another_topologys_manifest_is_refused_unless_renamed() -> Result<()> {
    let dir = Dir::new()?;
    let mut ws = workspace(&dir.0, &format!("name = \"one\"\n{WEIGHTED}"))?;
    apply_once(&dir.0, &mut ws)?;
    let mut other = workspace(&dir.0, &format!("name = \"two\"\n{WEIGHTED}"))?;
    let team = team(&other, false)?;
    let refused = other.same_topology(&team, false);
    assert!(matches!(
        refused,
        Err(Error::Backend {
            error: crate::backend::BackendError::OtherTopology { .. },
            ..
        })
    ));
    assert_eq!(refused.map_err(|e| e.code()), Err(1));
    other.same_topology(&team, true).map_err(err)?;
    Ok(())
}

#[test]
fn state_forgets_a_check_but_not_a_record_alone() -> Result<()> {
    let dir = Dir::new()?;
    let mut ws = workspace(&dir.0, WEIGHTED)?;
    apply_once(&dir.0, &mut ws)?;
    let mut team = team(&ws, true)?;
    let ws = super::state::prepare(ws, &team).map_err(err)?;
    let p = super::state::managed(&ws, &store(&dir.0)?, Options::default()).map_err(err)?;
    let listed: Vec<&str> = super::state::live_changes(&p)
        .map(|c| c.address.as_str())
        .collect();
    assert!(listed.contains(&"record.api[\"us-east-1\"]"), "{listed:?}");
    let alone = super::state::forget("record.api[\"us-east-1\"]", &p, &mut team);
    assert!(matches!(alone, Err(Error::Refused(ref why)) if why.contains("owner.api")));
    let check = listed
        .iter()
        .find(|a| a.starts_with("health_check."))
        .ok_or("no check")?;
    super::state::forget(check, &p, &mut team).map_err(err)?;
    drop(team);
    let team = self::team(&ws, false)?;
    let m = &team.stored.as_ref().ok_or("no manifest")?.manifest;
    assert_eq!(m.forgotten.checks.len(), 1);
    Ok(())
}

/// Forgetting a service forgets its health checks with it: a later plan never deletes them.
#[test]
fn state_forgets_a_service_with_its_checks() -> Result<()> {
    let dir = Dir::new()?;
    let mut ws = workspace(&dir.0, WEIGHTED)?;
    apply_once(&dir.0, &mut ws)?;
    let mut team = team(&ws, true)?;
    let ws = super::state::prepare(ws, &team).map_err(err)?;
    let p = super::state::managed(&ws, &store(&dir.0)?, Options::default()).map_err(err)?;
    let checks = super::state::live_changes(&p)
        .filter(|c| c.address.starts_with("health_check.api["))
        .count();
    assert!(checks >= 2, "{checks} checks");
    super::state::forget("owner.api", &p, &mut team).map_err(err)?;
    drop(team);
    let team = self::team(&ws, false)?;
    let m = &team.stored.as_ref().ok_or("no manifest")?.manifest;
    assert_eq!(m.forgotten.checks.len(), checks, "{:?}", m.forgotten);
    assert_eq!(m.forgotten.markers.len(), 1, "{:?}", m.forgotten);
    Ok(())
}

fn session(dir: &Path) -> Result<Session> {
    let mut ws = workspace(dir, WEIGHTED)?;
    apply_once(dir, &mut ws)?;
    let team = team(&ws, true)?;
    shift::applied_before(&team).map_err(err)?;
    Ok(Session {
        ws,
        team,
        provider: Box::new(store(dir)?),
        service: "api".into(),
    })
}

#[test]
fn a_shift_steps_records_each_step_and_aborts_back() -> Result<()> {
    let dir = Dir::new()?;
    let mut s = session(&dir.0)?;
    let Start::New(hold) = shift::start(&s, "us-east-1", 0, (2, 0)).map_err(err)? else {
        return Err("not a new shift".into());
    };
    assert_eq!((hold.from, hold.to, hold.weight), (100, 0, 100));
    let stop = AtomicBool::new(false);
    let mut seen = Vec::new();
    let done = shift::steps(
        &mut s,
        hold,
        std::time::Duration::ZERO,
        run(&stop, &super::unobserved),
        &mut |x| seen.push((x.before, x.hold.weight, x.next_in.is_some())),
    )
    .map_err(err)?;
    assert_eq!(seen, [(100, 50, true), (50, 0, false)]);
    assert_eq!(shift::held(&s.team, "api"), Some(done.clone()));
    // The same target again: already there.
    assert_eq!(
        shift::start(&s, "us-east-1", 0, (2, 0)).map_err(err)?,
        Start::Already
    );
    // Another region while this one is held: refused.
    assert!(matches!(
        shift::start(&s, "eu-west-1", 50, (2, 0)),
        Err(Error::Refused(_))
    ));
    let aborted = shift::abort(&mut s, &done, run(&stop, &super::unobserved)).map_err(err)?;
    assert!(aborted.at_file_weight);
    assert_eq!(shift::held(&s.team, "api"), None);
    Ok(())
}

#[test]
fn a_shift_stopped_after_a_step_says_how_to_resume_and_resumes() -> Result<()> {
    let dir = Dir::new()?;
    let mut s = session(&dir.0)?;
    let Start::New(hold) = shift::start(&s, "us-east-1", 10, (3, 0)).map_err(err)? else {
        return Err("not a new shift".into());
    };
    // A signal during the first step: the step completes, the shift stops after it.
    let stop = AtomicBool::new(false);
    let signal = |e: Event| {
        if e == Event::Recording {
            stop.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    };
    let stopped = shift::steps(
        &mut s,
        hold,
        std::time::Duration::ZERO,
        run(&stop, &signal),
        &mut |_| {},
    );
    assert!(matches!(stopped, Err(Error::Interrupted(ref m)) if m.contains("step 1/3")));
    let Start::Resume(h) = shift::start(&s, "us-east-1", 10, (3, 0)).map_err(err)? else {
        return Err("not resumed".into());
    };
    assert_eq!((h.done, h.steps), (1, 3));
    Ok(())
}

#[test]
fn a_shift_to_all_zero_weights_is_refused() -> Result<()> {
    let dir = Dir::new()?;
    let text = WEIGHTED.replacen("weight = 100", "weight = 0", 1);
    let mut ws = workspace(&dir.0, &text)?;
    apply_once(&dir.0, &mut ws)?;
    let s = Session {
        team: team(&ws, true)?,
        ws,
        provider: Box::new(store(&dir.0)?),
        service: "api".into(),
    };
    let refused = shift::start(&s, "eu-west-1", 0, (1, 0));
    assert!(matches!(refused, Err(Error::Refused(ref m)) if m.contains("weight 0")));
    Ok(())
}
