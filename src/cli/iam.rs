//! `meridian iam-policy`: the least-privilege IAM policy of a topology.

use super::{exit, to_json, Ctx};
use crate::iam::{policy, Purpose};
use std::path::PathBuf;

/// Print the minimal IAM policy to plan or apply a topology (and use its S3 backend).
///
/// Record changes are limited to the topology's record names (Route 53's
/// ChangeResourceRecordSetsNormalizedRecordNames condition), repositories to the declared
/// ones, and the S3 backend to its manifest and lock objects.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  meridian iam-policy infra/ > meridian-apply.json\n  meridian iam-policy infra/ --for plan > meridian-plan.json\n  aws iam create-policy --policy-name meridian-infra \\\n      --policy-document file://meridian-apply.json"
)]
pub struct Args {
    /// A topology file or a directory of .hcl files.
    #[arg(default_value = ".")]
    path: PathBuf,
    /// plan (reads only) or apply (plan, apply, destroy, init).
    #[arg(long = "for", value_enum, default_value_t = For::Apply)]
    purpose: For,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum For {
    Plan,
    Apply,
}

pub fn run(args: Args, ctx: &mut Ctx) -> u8 {
    let Ok((_, topology)) = super::load_valid(&args.path, "no policy printed", ctx) else {
        return exit::ERROR;
    };
    let graph = crate::graph::ResourceGraph::build(&topology);
    let backend = crate::backend::BackendRef::of(
        topology.backend.as_ref(),
        &super::team::topology_dir(&args.path),
    );
    let purpose = match args.purpose {
        For::Plan => Purpose::Plan,
        For::Apply => Purpose::Apply,
    };
    // The names the last apply manages stay deletable (read from the manifest when it can be).
    let manifest = backend
        .open()
        .and_then(|b| b.read())
        .ok()
        .flatten()
        .map(|s| s.manifest);
    let managed_names = manifest
        .as_ref()
        .map(|m| m.names.clone())
        .unwrap_or_default();
    let input = crate::iam::Input {
        graph: &graph,
        backend: &backend,
        tags: topology.tag_health_checks,
        managed_names: &managed_names,
        managed_rules: manifest.is_some_and(|m| !m.rules.is_empty()),
    };
    let doc = policy(&input, purpose);
    match to_json(&doc, ctx) {
        Ok(text) => {
            ctx.out(&text);
            exit::OK
        }
        Err(code) => code,
    }
}
