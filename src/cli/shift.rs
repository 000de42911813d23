//! `meridian shift`: move a weighted service's traffic gradually, step by step, under the
//! topology's lock, recording each step in the backend's manifest so it can stop and resume.

use super::apply::run_apply_engine;
use super::signals::{APPLYING, STOP};
use super::team::Team;
use super::workspace::{confirm, load, make_plan, open_provider, Common, Loaded};
use super::{exit, Ctx};
use crate::backend::Operation;
use crate::plan::{self, Plan};
use crate::provider::Provider;
use crate::shift::{self, Hold};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::Ordering;

/// Move a weighted service's traffic gradually: drain a region from 100 to 0 over 5 minutes
/// instead of a hard cut, or send a new region 10 % canary traffic.
///
/// Each step is a normal plan of the region's record, applied under the topology's lock, with
/// a pause between steps (--over / --steps). The weight reached is recorded in the backend's
/// manifest after every step: `plan` shows it as held (not as drift to undo) until --write
/// puts it in the file or --release hands control back to the file. Ctrl-C stops after the
/// current step; the same command resumes; --abort returns to the starting weight.
///
/// Exit 0 when the shift completes (or the weight is already there), 1 on error or when a
/// signal stops it after a step, 130 when a signal arrives during the pause between steps.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  meridian shift api --region us-east-1 --to 0 --over 5m --steps 5\n  meridian shift api --region eu-central-1 --to 10 --steps 1 --auto-approve\n  meridian shift api --abort --auto-approve\n  meridian shift api --write\n  meridian shift api --release"
)]
pub struct Args {
    /// The weighted service.
    service: String,
    /// A topology file or a directory of .hcl files.
    #[arg(default_value = ".")]
    path: PathBuf,
    /// The region (label) whose weight moves.
    #[arg(long, required_unless_present_any = ["abort", "release", "write"])]
    region: Option<String>,
    /// The weight to reach, 0..255.
    #[arg(long, value_name = "WEIGHT", required_unless_present_any = ["abort", "release", "write"])]
    to: Option<u8>,
    /// How long the whole shift takes (the pause between steps is this / steps).
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = super::workspace::parse_duration)]
    over: crate::duration::Duration,
    /// How many steps.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=100))]
    steps: u32,
    /// Return to the weight the shift started from, in one step, and stop holding.
    #[arg(long, conflicts_with_all = ["to", "release", "write"])]
    abort: bool,
    /// Stop holding: the file's weight applies again at the next apply.
    #[arg(long, conflicts_with_all = ["to", "write"])]
    release: bool,
    /// Write the held weight into the topology file (comments kept), then stop holding.
    #[arg(long, conflicts_with = "to")]
    write: bool,
    /// Where live state comes from: local (the state store) or aws. Default: aws when the
    /// topology has a `provider "aws"` block, else local.
    #[arg(long, value_enum)]
    live: Option<super::workspace::Live>,
    /// AWS: an AWS-compatible endpoint (also AWS_ENDPOINT_URL).
    #[arg(long, value_name = "URL")]
    endpoint_url: Option<String>,
    /// AWS: the region for request signing (also AWS_REGION).
    #[arg(long, value_name = "REGION")]
    aws_region: Option<String>,
    /// AWS: the profile to use (also AWS_PROFILE).
    #[arg(long)]
    profile: Option<String>,
    /// The local state store (default: .meridian/state.json beside the topology).
    #[arg(long, value_name = "PATH")]
    state: Option<PathBuf>,
    /// Apply without asking (required when not on a terminal).
    #[arg(long)]
    auto_approve: bool,
    /// How long to wait for another apply's lock.
    #[arg(long, default_value = "0s", value_parser = super::workspace::parse_duration)]
    lock_timeout: crate::duration::Duration,
}

impl Args {
    fn common(&self) -> Common {
        Common::live_only(
            self.live,
            self.endpoint_url.clone(),
            self.aws_region.clone(),
            self.profile.clone(),
            self.state.clone(),
        )
    }
}

struct Session<'a> {
    l: Loaded,
    team: Team,
    store: Box<dyn Provider>,
    args: &'a Args,
}

pub fn run(args: Args, ctx: &mut Ctx) -> u8 {
    match command(&args, ctx) {
        Ok(code) | Err(code) => code,
    }
}

fn command(args: &Args, ctx: &mut Ctx) -> Result<u8, u8> {
    let mut l = load(&args.path, ctx)?;
    if let Some(region) = &args.region {
        shift::shiftable(l.topology(), &args.service, region).map_err(|e| {
            ctx.report(e);
            exit::ERROR
        })?;
    }
    if !args.release && !args.write && !args.auto_approve && !std::io::stdin().is_terminal() {
        ctx.err("error: shift changes records; pass --auto-approve when standard input is not a terminal\n");
        return Err(exit::ERROR);
    }
    let timeout = std::time::Duration::from_millis(args.lock_timeout.as_millis());
    let team = Team::open(l.backend(), Some(("shift", timeout)), ctx)?;
    l.same_topology(&team, false, ctx)?;
    if team.stored.is_none() {
        ctx.err("error: the topology has never been applied: apply it first (a shift moves weights the records already carry)\n");
        return Err(exit::ERROR);
    }
    let held = team.identity().holds.get(&args.service).cloned();
    if args.release || args.write {
        return release(args, team, held, ctx);
    }
    let common = args.common();
    let state = common.state_path(&args.path);
    let store = open_provider(&common, l.topology(), &state, Some(timeout), ctx)?;
    let mut s = Session {
        l,
        team,
        store,
        args,
    };
    if args.abort {
        return abort(&mut s, held, ctx);
    }
    let hold = start(&s, held, ctx)?;
    steps(&mut s, hold, ctx)
}

/// The shift to run: the one in progress when it has the same target (resumed), else a new
/// one from the weight the records carry now.
fn start(s: &Session, held: Option<Hold>, ctx: &mut Ctx) -> Result<Hold, u8> {
    let (region, to) = match (&s.args.region, s.args.to) {
        (Some(r), Some(t)) => (r.clone(), t),
        _ => return Err(exit::ERROR),
    };
    if let Some(h) = held.as_ref().filter(|h| h.region != region) {
        ctx.err(&format!(
            "error: {0}[\"{1}\"] is held at weight {2} by an earlier shift; one region of a service moves at a time: `meridian shift {0} --write` or `--release` first (or `--abort`)\n",
            s.args.service, h.region, h.weight
        ));
        return Err(exit::ERROR);
    }
    if let Some(h) = held.filter(|h| h.to == to && !h.finished()) {
        ctx.out(&format!(
            "Resuming the shift of {}[\"{region}\"] to {to}: {} of {} steps applied (weight {}).\n",
            s.args.service, h.done, h.steps, h.weight
        ));
        return Ok(h);
    }
    all_zero_guard(s, &region, to, ctx)?;
    let declared =
        shift::shiftable(s.l.topology(), &s.args.service, &region).map_err(|_| exit::ERROR)?;
    let current = s
        .team
        .identity()
        .holds
        .get(&s.args.service)
        .filter(|h| h.region == region)
        .map_or(declared, |h| h.weight);
    if current == to {
        ctx.out(&format!(
            "Nothing to shift: {}[\"{region}\"] is at weight {to} already.\n",
            s.args.service
        ));
        return Err(exit::OK);
    }
    Ok(Hold {
        region,
        weight: current,
        from: current,
        to,
        steps: s.args.steps,
        done: 0,
        over_seconds: s.args.over.as_millis() / 1000,
        declared: None,
    })
}

/// Refuses a shift that would leave every region of the service at weight 0: Route 53 then
/// splits the traffic equally, the opposite of a drain.
fn all_zero_guard(s: &Session, region: &str, to: u8, ctx: &mut Ctx) -> Result<(), u8> {
    let Some(svc) = s.l.topology().services.get(&s.args.service) else {
        return Ok(());
    };
    let others_zero = svc
        .regions
        .iter()
        .filter(|(label, _)| *label != region)
        .all(|(_, r)| r.weight.unwrap_or(0) == 0);
    if to == 0 && others_zero {
        ctx.err(&format!(
            "error: every region of {} would be at weight 0, and Route 53 then splits its traffic equally among them; raise another region's weight first\n",
            s.args.service
        ));
        return Err(exit::ERROR);
    }
    Ok(())
}

fn steps(s: &mut Session, mut hold: Hold, ctx: &mut Ctx) -> Result<u8, u8> {
    let weights = shift::weights(hold.from, hold.to, hold.steps);
    let pause = std::time::Duration::from_millis(s.args.over.as_millis() / u64::from(hold.steps));
    ctx.out(&format!(
        "Shift {}[\"{}\"] from weight {} to {} in {} step(s) ({}), a step every {} s.\n",
        s.args.service,
        hold.region,
        hold.weight,
        hold.to,
        hold.steps - hold.done,
        weights[hold.done as usize..]
            .iter()
            .map(u8::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        pause.as_secs_f64()
    ));
    if !s.args.auto_approve && !confirm(ctx) {
        ctx.err("Shift cancelled: nothing was changed.\n");
        return Err(exit::ERROR);
    }
    while !hold.finished() {
        let i = hold.done as usize;
        let before = hold.weight;
        hold.weight = weights[i];
        hold.done += 1;
        let changes = step(s, &hold, ctx)?;
        ctx.out(&format!(
            "step {}/{}: {}[\"{}\"] weight {before} -> {} ({changes})\n",
            hold.done, hold.steps, s.args.service, hold.region, hold.weight
        ));
        if STOP.load(Ordering::SeqCst) {
            ctx.err(&format!("Interrupted after step {}/{}: the records and the manifest agree (weight {}). Run the same command to resume, or --abort to return to {}.\n", hold.done, hold.steps, hold.weight, hold.from));
            return Err(exit::ERROR);
        }
        if !hold.finished() {
            ctx.out(&format!("  next step in {} s\n", pause.as_secs_f64()));
            std::thread::sleep(pause);
        }
    }
    ctx.out(&format!(
        "Shift complete: {}[\"{}\"] holds weight {}. `meridian shift {} --write` puts it in the file; `--release` hands control back to the file.\n",
        s.args.service, hold.region, hold.weight, s.args.service
    ));
    Ok(exit::OK)
}

/// Plans the region's record with `hold`, applies it, records the hold. Returns what changed.
fn step(s: &mut Session, hold: &Hold, ctx: &mut Ctx) -> Result<String, u8> {
    let mut identity = s.team.identity();
    identity.holds.insert(s.args.service.clone(), hold.clone());
    s.l.set_identity(identity);
    let Some(address) = s.l.record_address(&s.args.service, &hold.region) else {
        ctx.err("error: the service's record is not in the topology's graph\n");
        return Err(exit::ERROR);
    };
    let mut common = s.args.common();
    common.target = vec![address.clone()];
    let name = s.l.topology().name.clone().unwrap_or_default();
    let p = make_plan(
        &s.l,
        s.store.as_ref(),
        &common,
        plan::new_plan_id(&name),
        ctx,
    )?;
    let created = p
        .resource_changes
        .iter()
        .any(|c| c.address == address && c.change.actions == [crate::plan::Action::Create]);
    if created {
        ctx.err("error: the service's records do not exist yet: apply the topology first\n");
        return Err(exit::ERROR);
    }
    if let Some(other) = beyond_weight(&p) {
        ctx.err(&format!("error: this step would also change {other}, which the file changed since the last apply; apply the topology first (a shift changes weights only)\n"));
        return Err(exit::ERROR);
    }
    APPLYING.store(true, Ordering::SeqCst);
    let result = apply_and_record(s, &p, hold, ctx);
    APPLYING.store(false, Ordering::SeqCst);
    result
}

/// A change of the step's plan other than the record's weight, if any.
fn beyond_weight(p: &Plan) -> Option<String> {
    let strip = |v: &Option<crate::plan::Attrs>| {
        v.as_ref().map(|a| {
            let mut v = a.value();
            if let Some(o) = v.as_object_mut() {
                o.remove("weight");
            }
            v
        })
    };
    p.resource_changes
        .iter()
        .filter(|c| !c.is_no_op())
        .find(|c| {
            c.kind != crate::graph::Kind::Record
                || c.change.actions != [crate::plan::Action::Update]
                || strip(&c.change.before) != strip(&c.change.after)
        })
        .map(|c| c.address.clone())
}

fn apply_and_record(s: &mut Session, p: &Plan, hold: &Hold, ctx: &mut Ctx) -> Result<String, u8> {
    let outcome = run_apply_engine(p, s.store.as_ref(), 10, s.team._lock.as_deref());
    if !outcome.succeeded() {
        ctx.out(&crate::render::plan::outcome(&outcome));
        ctx.err("error: the step did not complete; the manifest keeps the previous step. Run the same command to retry it.\n");
        return Err(exit::ERROR);
    }
    let changed = p.summary.change + p.summary.add + p.summary.destroy;
    let mut holds = s.team.identity().holds;
    holds.insert(
        s.args.service.clone(),
        Hold {
            declared: None,
            ..hold.clone()
        },
    );
    record(s, p, &outcome, holds, ctx)?;
    Ok(if changed == 0 {
        "already there".into()
    } else {
        format!("{changed} change applied")
    })
}

fn record(
    s: &mut Session,
    p: &Plan,
    outcome: &crate::plan::apply::Outcome,
    holds: shift::Holds,
    ctx: &mut Ctx,
) -> Result<(), u8> {
    let Some(stored) = s.team.stored.clone() else {
        return Err(exit::ERROR);
    };
    let mut m = stored.manifest;
    m.holds = holds;
    let done = super::team::Done {
        plan: p,
        outcome,
        operation: Operation::Shift,
        managed: s.l.managed_now(),
    };
    s.team.record(m, &stored.version, &done, ctx)?;
    s.team.stored = s.team.backend.read().map_err(|e| {
        ctx.report(e);
        exit::ERROR
    })?;
    Ok(())
}

/// Returns to the starting weight in one step, then stops holding.
fn abort(s: &mut Session, held: Option<Hold>, ctx: &mut Ctx) -> Result<u8, u8> {
    let Some(h) = held else {
        ctx.err(&format!("error: no shift of {} to abort\n", s.args.service));
        return Err(exit::ERROR);
    };
    // The file's weight, read before the step plans with the held one.
    let declared = shift::shiftable(s.l.topology(), &s.args.service, &h.region).ok();
    let back = Hold {
        weight: h.from,
        done: h.steps,
        ..h.clone()
    };
    ctx.out(&format!(
        "Abort the shift of {}[\"{}\"]: weight {} -> {} in one step.\n",
        s.args.service, h.region, h.weight, h.from
    ));
    if !s.args.auto_approve && !confirm(ctx) {
        ctx.err("Abort cancelled: nothing was changed.\n");
        return Err(exit::ERROR);
    }
    let changes = step(s, &back, ctx)?;
    let mut holds = s.team.identity().holds;
    // Back at the file's weight: nothing left to hold. Back at an earlier shift's weight: hold
    // that, so the next apply does not move it.
    if declared == Some(h.from) {
        holds.remove(&s.args.service);
    } else {
        holds.insert(
            s.args.service.clone(),
            Hold {
                to: h.from,
                declared: None,
                ..back
            },
        );
    }
    write_holds(&mut s.team, holds, ctx)?;
    ctx.out(&format!(
        "Aborted: {}[\"{}\"] is back at weight {} ({changes}){}.\n",
        s.args.service,
        h.region,
        h.from,
        if declared == Some(h.from) {
            "; plans follow the file again"
        } else {
            ", where an earlier shift left it: still held"
        }
    ));
    Ok(exit::OK)
}

/// `--release` and `--write`: stop holding (after writing the weight into the file).
fn release(args: &Args, mut team: Team, held: Option<Hold>, ctx: &mut Ctx) -> Result<u8, u8> {
    let Some(h) = held else {
        ctx.err(&format!("error: no weight of {} is held\n", args.service));
        return Err(exit::ERROR);
    };
    if args.write {
        write_weight(args, &h, ctx)?;
    }
    let mut holds = team.identity().holds;
    holds.remove(&args.service);
    write_holds(&mut team, holds, ctx)?;
    ctx.out(&format!(
        "Released: plans of {} follow the file again{}.\n",
        args.service,
        if args.write {
            ""
        } else {
            " (the next apply sets the file's weight)"
        }
    ));
    Ok(exit::OK)
}

/// Puts the held weight into the file that declares the region, keeping everything else.
fn write_weight(args: &Args, h: &Hold, ctx: &mut Ctx) -> Result<(), u8> {
    let sources = crate::source::Sources::load(&args.path).map_err(|e| {
        ctx.report(e);
        exit::ERROR
    })?;
    for (_, f) in sources.iter() {
        let file = PathBuf::from(&f.name);
        match shift::set_weight(&f.text, &args.service, &h.region, h.weight) {
            Ok(Some(new)) => {
                crate::atomic::write(&file, new.as_bytes()).map_err(|e| {
                    ctx.err(&format!("error: cannot write {}: {e}\n", file.display()));
                    exit::ERROR
                })?;
                ctx.out(&format!(
                    "Wrote weight = {} into region \"{}\" of service \"{}\" in {}.\n",
                    h.weight,
                    h.region,
                    args.service,
                    file.display()
                ));
                return Ok(());
            }
            Ok(None) => {}
            Err(e) => {
                ctx.err(&format!("error: cannot edit {}: {e}\n", file.display()));
                return Err(exit::ERROR);
            }
        }
    }
    ctx.err("error: no file of the topology declares that region\n");
    Err(exit::ERROR)
}

fn write_holds(team: &mut Team, holds: shift::Holds, ctx: &mut Ctx) -> Result<(), u8> {
    let Some(stored) = team.stored.clone() else {
        return Err(exit::ERROR);
    };
    let mut m = stored.manifest;
    m.holds = holds;
    m.record(crate::backend::Entry::bare(
        Operation::Shift,
        team.backend.who(),
    ));
    team.backend.write(&m, Some(&stored.version)).map_err(|e| {
        ctx.report(e);
        exit::ERROR
    })?;
    team.stored = team.backend.read().map_err(|e| {
        ctx.report(e);
        exit::ERROR
    })?;
    Ok(())
}
