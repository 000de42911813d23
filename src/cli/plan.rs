//! `meridian plan`: diff against live state, show it, save it.

use super::workspace::{fail, load, make_plan, open_provider, open_team, share, Common};
use super::{exit, Ctx};
use crate::plan::{self, Plan};
use crate::render;
use clap::ValueEnum;
use std::path::{Path, PathBuf};

/// Show what applying the topology would change in the live state, Terraform style.
///
/// Live state comes from the local state store (default `.meridian/state.json` beside the
/// topology) unless another provider is chosen. Never changes anything.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  meridian plan examples/active-passive\n  meridian plan examples/active-passive --out plan.json\n  meridian apply plan.json\n  meridian plan infra/ --detailed-exitcode --format json > plan.json; echo $?\n  meridian plan infra/ --detailed-exitcode --fail-on-objectives\n  meridian plan infra/ --target 'record.api[\"us-east-1\"]'\n\nExit codes: 0 no changes (or no --detailed-exitcode), 1 error, 2 changes present\n(--detailed-exitcode), 3 an objective breached or unknown, or a service with no recovery (--fail-on-objectives;
wins over 2)."
)]
pub struct PlanArgs {
    /// A topology file, a directory of .hcl files, or a tree of topologies (found at any depth).
    #[arg(default_value = ".")]
    pub(super) path: PathBuf,
    #[command(flatten)]
    pub(super) common: Common,
    /// Save the plan (with the topology and the live state it saw) for `meridian apply FILE`.
    #[arg(long, value_name = "FILE.json")]
    pub(super) out: Option<PathBuf>,
    /// Output: human, json (the plan document) or markdown.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub(super) format: Format,
    /// Exit 0 for no changes, 2 when changes are present, 1 on error (Terraform's contract).
    #[arg(long)]
    pub(super) detailed_exitcode: bool,
    /// Exit 3 when a recovery or cost objective is breached or cannot be shown to hold, or a
    /// service has no recovery from some region loss (as `check` does); 3 wins over 2.
    #[arg(long)]
    pub(super) fail_on_objectives: bool,
    /// Plan the deletion of everything the topology manages (what `meridian destroy` does).
    #[arg(long)]
    pub(super) destroy: bool,
    #[command(flatten)]
    pub(super) comment: super::comment::CommentArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(super) enum Format {
    Human,
    Json,
    Markdown,
}

pub(super) fn print_plan(
    p: &Plan,
    (format, comment): (Format, &super::comment::CommentArgs),
    ctx: &mut Ctx,
) -> Result<(), u8> {
    comment.check(format == Format::Markdown, ctx)?;
    match format {
        Format::Human => {
            let text = render::plan::human(p);
            ctx.out_colored(&text, render::color::plan);
        }
        Format::Markdown => super::comment::emit(
            &render::plan::markdown(p),
            "plan",
            comment,
            "the plan's JSON (`meridian show PLAN --format json`), or this command with `--max-chars 0`",
            ctx,
        )?,
        Format::Json => super::out_json(&plan::terraform::Document::of(p), ctx)?,
    }
    Ok(())
}

/// `plan`'s exit code: the one table of README.md.
fn plan_exit(p: &Plan, args: &PlanArgs) -> u8 {
    // The same gate as `check`.
    let r = &p.recovery;
    let gate = r.objectives_breached || r.objectives_unknown || !r.no_recovery.is_empty();
    if args.fail_on_objectives && gate {
        exit::GATE_FAILED
    } else if args.detailed_exitcode && p.has_changes() {
        exit::CHANGES
    } else {
        exit::OK
    }
}

pub fn run_plan(args: PlanArgs, ctx: &mut Ctx) -> u8 {
    if let Err(code) = args.comment.check(args.format == Format::Markdown, ctx) {
        return code;
    }
    let found = match super::tree::topologies(&args.path, ctx) {
        Ok(f) => f,
        Err(code) => return code,
    };
    // What names one topology's file or resources cannot be shared by several.
    let one = match (&args.out, &args.common.state, args.common.target.first()) {
        (Some(_), ..) => Some("--out saves one topology's plan"),
        (_, Some(_), _) => Some("--state names one topology's state store"),
        (.., Some(_)) => Some("--target names one topology's resources"),
        _ if args.format != Format::Human => {
            Some("--format json and markdown describe one topology")
        }
        _ => None,
    };
    if let (Some(why), true) = (one, found.len() > 1) {
        ctx.err(&format!(
            "error: {why}; {} holds {}:\n",
            args.path.display(),
            found.len()
        ));
        for t in &found {
            ctx.err(&format!("  {}\n", t.display()));
        }
        ctx.err("  help: plan each of them on its own (meridian plan DIR)\n");
        return exit::ERROR;
    }
    super::tree::each_of(
        &args.path,
        &found,
        super::tree::Many::Text,
        ctx,
        |path, ctx| match plan_command(path, &args, ctx) {
            Ok(code) | Err(code) => code,
        },
    )
}

fn plan_command(path: &Path, args: &PlanArgs, ctx: &mut Ctx) -> Result<u8, u8> {
    let mut l = load(path, ctx)?;
    let team = open_team(l.backend(), None, ctx)?;
    l.same_topology(&team, args.common.rename)
        .map_err(|e| fail(e, ctx))?;
    l.set_identity(team.identity());
    if args.destroy {
        l = l.for_destroy();
    }
    let state = args.common.state_path(path);
    let store = open_provider(&args.common, &l, &state, None, ctx)?;
    let mut p = make_plan(
        &l,
        store.as_ref(),
        &args.common,
        plan::new_plan_id(&l.name()),
        ctx,
    )?;
    share(&mut p, &l, &team, ctx);
    if p.identity.unfinished.is_some() {
        if let Ok(Some(h)) = team.backend.holder() {
            ctx.note(&format!(
                "note: the manifest's unfinished apply may be under way: the topology is locked ({})\n",
                h.describe()
            ));
        }
    }
    print_plan(&p, (args.format, &args.comment), ctx)?;
    if let Some(out) = &args.out {
        if let Err(e) = super::write_json(out, &plan::terraform::Document::of(&p)) {
            ctx.err(&format!("error: cannot write {}: {e}\n", out.display()));
            return Err(exit::ERROR);
        }
        ctx.note(&format!(
            "Saved the plan to {0}. To apply exactly this plan: meridian apply {0}\n",
            out.display()
        ));
    }
    let code = plan_exit(&p, args);
    // The process ends now: freeing a large plan and model piece by piece took a sixth of
    // the run at 70,000 resources, so they are left to the exit.
    std::mem::forget(p);
    std::mem::forget(l);
    Ok(code)
}
