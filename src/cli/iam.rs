//! `meridian iam-policy`: the least-privilege IAM policy of a topology.

use super::{exit, to_json, Ctx};
use crate::iam::{policies, NameForm, Purpose, MANAGED_POLICY_LIMIT};
use std::path::PathBuf;

/// Print the minimal IAM policy to plan or apply a topology (and use its S3 backend).
///
/// Record changes are limited to the topology's record names (Route 53's
/// ChangeResourceRecordSetsNormalizedRecordNames condition), repositories to the declared
/// ones, and the S3 backend to its manifest and lock objects. Within IAM's 6,144-character
/// limit for a managed policy: names become name patterns when listing them passes it, and the
/// output a JSON array of documents when even that does.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  meridian iam-policy infra/ > meridian-apply.json\n  meridian iam-policy infra/ --for plan > meridian-plan.json\n  aws iam create-policy --policy-name meridian-infra \\\n      --policy-document file://meridian-apply.json"
)]
pub struct Args {
    /// A topology file, a directory of .hcl files, or a tree of topologies (found at any depth).
    #[arg(default_value = ".")]
    path: PathBuf,
    /// plan (reads only), apply (plan, apply, destroy, init) or import (`meridian import` and
    /// `analyze --zone`: reads of any zone and registry; no topology needed).
    #[arg(long = "for", value_enum, default_value_t = For::Apply)]
    purpose: For,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum For {
    Plan,
    Apply,
    Import,
}

pub fn run(args: Args, ctx: &mut Ctx) -> u8 {
    if args.purpose == For::Import {
        return match to_json(&crate::iam::import_policy(), ctx) {
            Ok(text) => {
                ctx.out(&text);
                exit::OK
            }
            Err(code) => code,
        };
    }
    super::tree::each(&args.path, super::tree::Many::One, ctx, |path, ctx| {
        policy(path, args.purpose, ctx)
    })
}

fn policy(path: &std::path::Path, purpose: For, ctx: &mut Ctx) -> u8 {
    let Ok((_, topology)) = super::load_valid(path, "no policy printed", ctx) else {
        return exit::ERROR;
    };
    let graph = crate::graph::ResourceGraph::build(&topology);
    let backend = crate::backend::BackendRef::of(
        topology.backend.as_ref(),
        &crate::ops::workspace::topology_dir(path),
    );
    let purpose = match purpose {
        For::Plan => Purpose::Plan,
        For::Apply | For::Import => Purpose::Apply,
    };
    // The names the last apply manages stay deletable (read from the manifest when it can be).
    let manifest = backend
        .open(&super::workspace::backend_settings())
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
    let mut made = policies(&input, purpose);
    if made.names == NameForm::Patterns {
        ctx.note(&format!(
            "note: the record names are written as name patterns (prefix*.parent domain): listed one by one, the policy passes IAM's limit of {MANAGED_POLICY_LIMIT} characters for a managed policy\n"
        ));
    }
    let oversized = made.oversized();
    let doc = if made.documents.len() == 1 {
        made.documents.remove(0)
    } else {
        ctx.note(&format!(
            "note: the policy is {} documents (each within IAM's limit of {MANAGED_POLICY_LIMIT} characters): the output is a JSON array; create a managed policy from each element and attach them all{}\n",
            made.documents.len(),
            if made.documents.len() > 10 {
                " (a role takes 10 managed policies unless its quota is raised, at most 20)"
            } else {
                ""
            }
        ));
        serde_json::Value::Array(made.documents)
    };
    match to_json(&doc, ctx) {
        Ok(text) => ctx.out(&text),
        Err(code) => return code,
    }
    for (n, chars) in &oversized {
        ctx.err(&format!(
            "error: policy document {n} has {chars} characters, over IAM's limit of {MANAGED_POLICY_LIMIT}: its statements other than the record names (the declared repositories) do not fit one managed policy; split the registries over several topologies, or edit the repository list into prefixes\n"
        ));
    }
    if oversized.is_empty() {
        exit::OK
    } else {
        exit::ERROR
    }
}
