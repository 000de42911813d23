//! `meridian shift`: move a weighted service's traffic gradually, step by step, under the
//! topology's lock, recording each step in the backend's manifest so it can stop and resume.

use super::apply::Watch;
use super::workspace::{confirm, fail, load, open_provider, open_team, Common};
use super::{exit, Ctx};
use crate::ops::shift::{self as ops, Session, Start, Stepped};
use crate::ops::Team;
use crate::shift::{self, Hold};
use std::io::IsTerminal;
use std::path::PathBuf;

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
    /// Where live state comes from: local (the state store) or aws (zone files hold no
    /// weights: refused). Default: aws when the topology has a `provider "aws"` block, else
    /// local.
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

pub fn run(args: Args, ctx: &mut Ctx) -> u8 {
    match command(&args, ctx) {
        Ok(code) | Err(code) => code,
    }
}

fn command(args: &Args, ctx: &mut Ctx) -> Result<u8, u8> {
    let mut ws = load(&args.path, ctx)?;
    if let Some(region) = &args.region {
        shift::shiftable(&ws.topology, &args.service, region).map_err(|e| {
            ctx.report(e);
            exit::ERROR
        })?;
    }
    if !args.release && !args.write && !args.auto_approve && !std::io::stdin().is_terminal() {
        ctx.err("error: shift changes records; pass --auto-approve when standard input is not a terminal\n");
        return Err(exit::ERROR);
    }
    let timeout = std::time::Duration::from_millis(args.lock_timeout.as_millis());
    let mut team = open_team(ws.backend(), Some(("shift", timeout)), ctx)?;
    ws.same_topology(&team, false).map_err(|e| fail(e, ctx))?;
    ops::applied_before(&team).map_err(|e| fail(e, ctx))?;
    let held = ops::held(&team, &args.service);
    if args.release || args.write {
        return release(args, &mut team, held, ctx);
    }
    let common = args.common();
    let state = common.state_path(&args.path);
    let provider = open_provider(&common, &ws, &state, Some(timeout), ctx)?;
    let mut s = Session {
        ws,
        team,
        provider,
        service: args.service.clone(),
    };
    if args.abort {
        return abort(&mut s, args, held, ctx);
    }
    let hold = start(&s, args, ctx)?;
    steps(&mut s, args, hold, ctx)
}

/// The shift to run, resumed or new; exit 0 at once when there is nothing to shift.
fn start(s: &Session, args: &Args, ctx: &mut Ctx) -> Result<Hold, u8> {
    let (Some(region), Some(to)) = (&args.region, args.to) else {
        return Err(exit::ERROR);
    };
    let over = args.over.as_millis() / 1000;
    match ops::start(s, region, to, (args.steps, over)).map_err(|e| fail(e, ctx))? {
        Start::Resume(h) => {
            ctx.out(&format!(
                "Resuming the shift of {}[\"{region}\"] to {to}: {} of {} steps applied (weight {}).\n",
                args.service, h.done, h.steps, h.weight
            ));
            Ok(h)
        }
        Start::New(h) => Ok(h),
        Start::Already => {
            ctx.out(&format!(
                "Nothing to shift: {}[\"{region}\"] is at weight {to} already.\n",
                args.service
            ));
            Err(exit::OK)
        }
    }
}

fn steps(s: &mut Session, args: &Args, hold: Hold, ctx: &mut Ctx) -> Result<u8, u8> {
    let weights = shift::weights(hold.from, hold.to, hold.steps);
    let pause = std::time::Duration::from_millis(args.over.as_millis() / u64::from(hold.steps));
    ctx.out(&format!(
        "Shift {}[\"{}\"] from weight {} to {} in {} step(s) ({}), a step every {} s.\n",
        args.service,
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
    if !args.auto_approve && !confirm(ctx) {
        ctx.err("Shift cancelled: nothing was changed.\n");
        return Err(exit::ERROR);
    }
    let watch = Watch::new();
    let observe = |e| watch.event(e);
    let mut on_step = |x: &Stepped| {
        let h = &x.hold;
        ctx.out(&format!(
            "step {}/{}: {}[\"{}\"] weight {} -> {} ({})\n",
            h.done, h.steps, args.service, h.region, x.before, h.weight, x.changes
        ));
        if let Some(next) = x.next_in {
            ctx.out(&format!("  next step in {} s\n", next.as_secs_f64()));
        }
    };
    let done = ops::steps(s, hold, pause, Watch::run(10, &observe), &mut on_step);
    let done = done.map_err(|e| fail(e, ctx))?;
    ctx.out(&format!(
        "Shift complete: {}[\"{}\"] holds weight {}. `meridian shift {} --write` puts it in the file; `--release` hands control back to the file.\n",
        args.service, done.region, done.weight, args.service
    ));
    Ok(exit::OK)
}

/// Returns to the starting weight in one step, then stops holding.
fn abort(s: &mut Session, args: &Args, held: Option<Hold>, ctx: &mut Ctx) -> Result<u8, u8> {
    let Some(h) = held else {
        ctx.err(&format!("error: no shift of {} to abort\n", args.service));
        return Err(exit::ERROR);
    };
    ctx.out(&format!(
        "Abort the shift of {}[\"{}\"]: weight {} -> {} in one step.\n",
        args.service, h.region, h.weight, h.from
    ));
    if !args.auto_approve && !confirm(ctx) {
        ctx.err("Abort cancelled: nothing was changed.\n");
        return Err(exit::ERROR);
    }
    let watch = Watch::new();
    let observe = |e| watch.event(e);
    let a = ops::abort(s, &h, Watch::run(10, &observe)).map_err(|e| fail(e, ctx))?;
    ctx.out(&format!(
        "Aborted: {}[\"{}\"] is back at weight {} ({}){}.\n",
        args.service,
        h.region,
        h.from,
        a.changes,
        if a.at_file_weight {
            "; plans follow the file again"
        } else {
            ", where an earlier shift left it: still held"
        }
    ));
    Ok(exit::OK)
}

/// `--release` and `--write`: stop holding (after writing the weight into the file).
fn release(args: &Args, team: &mut Team, held: Option<Hold>, ctx: &mut Ctx) -> Result<u8, u8> {
    let Some(h) = held else {
        ctx.err(&format!("error: no weight of {} is held\n", args.service));
        return Err(exit::ERROR);
    };
    if args.write {
        let file = ops::write_weight(&args.path, &args.service, &h).map_err(|e| fail(e, ctx))?;
        ctx.out(&format!(
            "Wrote weight = {} into region \"{}\" of service \"{}\" in {}.\n",
            h.weight,
            h.region,
            args.service,
            file.display()
        ));
    }
    ops::release(team, &args.service).map_err(|e| fail(e, ctx))?;
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
