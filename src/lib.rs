//! Meridian: plan multi-region infrastructure from one declarative HCL file.
//!
//! The core is a pipeline of pure stages, each in its own module:
//! [`source`] (read files) -> [`parse`] (HCL syntax trees with spans) -> [`model`] (decode,
//! validate, typed topology) -> [`graph`] (cloud resources and their dependencies) ->
//! [`analysis`] (RTO floor, RPO, cost, objectives) -> [`plan`] (diff against live state, the
//! plan document, saved plans, apply in dependency order). [`dns`] holds the closed sets the
//! graph, plan and providers share (record types, routing policies, change actions).
//! [`provider`] is the I/O edge: the `Provider` trait, the local state store and AWS.
//! [`render`] turns results into text, JSON, Markdown, DOT or SVG; [`format`] is the canonical
//! formatter; [`cli`] is the thin command-line edge, the only place that prints or picks exit
//! codes.

pub mod alerts;
pub mod analysis;
pub mod atomic;
pub mod backend;
pub mod cli;
pub mod diagnostics;
pub mod dns;
pub mod duration;
pub mod format;
pub mod graph;
pub mod hash;
pub mod iam;
pub mod identity;
pub mod lint;
pub mod model;
pub mod order;
pub mod parse;
pub mod plan;
pub mod process;
pub mod provider;
pub mod render;
pub mod shift;
pub mod simulate;
pub mod source;

use diagnostics::Diagnostics;
use model::Topology;
use source::Sources;

/// The result of reading a topology: the model (meaningful only without errors) and every
/// diagnostic, sorted by position.
#[derive(Debug)]
pub struct Checked {
    pub topology: Topology,
    pub diagnostics: Diagnostics,
}

impl Checked {
    /// The topology, when no diagnostic is an error.
    pub fn valid(&self) -> Option<&Topology> {
        (!self.diagnostics.has_errors()).then_some(&self.topology)
    }
}

/// Parses, decodes and validates a topology: parse -> decode -> lower.
///
/// ```
/// use meridian::source::Sources;
///
/// let text = r#"
/// service "api" {
///   zone    = "example.com"
///   domain  = "api.example.com"
///   routing = "latency"
///   tll     = 60
///   region "us-east-1" {
///     target = "use1.example.com"
///   }
/// }
/// "#;
/// let checked = meridian::check(&Sources::from_texts([("main.hcl", text)]));
/// assert!(checked.valid().is_none());
/// let codes: Vec<&str> = checked.diagnostics.iter().map(|d| d.code.as_str()).collect();
/// assert_eq!(codes, ["meridian::unknown_attribute", "meridian::unchecked_region"]);
/// ```
pub fn check(sources: &Sources) -> Checked {
    let mut diagnostics = Diagnostics::default();
    let (bodies, var_files): (Vec<_>, Vec<_>) = parse::parse(sources, &mut diagnostics)
        .into_iter()
        .partition(|(id, _)| sources.get(*id).role == source::Role::Topology);
    let vars = model::variables::Bindings::bind(&bodies, &var_files, sources, &mut diagnostics);
    let root = model::decode::decode_root(bodies, &vars, &mut diagnostics);
    let mut topology = model::lower::lower(&root, &mut diagnostics);
    topology.variables = vars.values();
    drop(root);
    diagnostics.sort();
    Checked {
        topology,
        diagnostics,
    }
}
