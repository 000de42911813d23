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
pub mod import;
pub mod lint;
pub mod model;
pub mod ops;
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
/// assert_eq!(codes, ["meridian::unknown_attribute"]);
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

/// The stages and what each may import, written down once: a module may use only modules of a
/// lower rank (`crate::check`, the pipeline's entry, ranks with `graph`). `docs/architecture.md`
/// explains the table; the test below fails on any import that runs back up, which is how a
/// circle starts.
#[cfg(test)]
const LAYERS: &[(&str, u8)] = &[
    ("dns", 0),
    ("duration", 0),
    ("format", 0),
    ("hash", 0),
    ("order", 0),
    ("process", 0),
    ("atomic", 1),
    ("source", 2),
    ("diagnostics", 3),
    ("parse", 4),
    ("model", 5),
    ("check", 6),
    ("graph", 6),
    ("analysis", 7),
    ("provider", 7),
    ("shift", 7),
    ("alerts", 8),
    ("identity", 8),
    ("lint", 8),
    ("backend", 9),
    ("import", 9),
    ("simulate", 9),
    ("iam", 10),
    ("plan", 10),
    ("ops", 11),
    ("render", 11),
    ("cli", 12),
];

#[cfg(test)]
mod architecture {
    use super::LAYERS;
    use std::path::{Path, PathBuf};

    fn rank(module: &str) -> Option<u8> {
        LAYERS.iter().find(|(m, _)| *m == module).map(|(_, r)| *r)
    }

    fn files(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = entry.path();
            if p.is_dir() {
                files(&p, out);
            } else if p.extension().is_some_and(|e| e == "rs") {
                out.push(p);
            }
        }
    }

    /// Every `crate::X` a module uses (outside comments) names a module of lower rank, and
    /// every module of the crate is in the table.
    #[test]
    fn imports_only_run_down_the_layers() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut all = Vec::new();
        files(&src, &mut all);
        let mut wrong = Vec::new();
        for path in all {
            let rel = path.strip_prefix(&src).unwrap_or(&path);
            let first = rel
                .iter()
                .next()
                .and_then(|c| c.to_str())
                .unwrap_or_default();
            let module = first.trim_end_matches(".rs");
            if matches!(module, "lib" | "main") {
                continue;
            }
            let Some(own) = rank(module) else {
                wrong.push(format!("{module}: not in LAYERS"));
                continue;
            };
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            for (n, line) in text.lines().enumerate() {
                let code = line.split("//").next().unwrap_or_default();
                for (i, _) in code.match_indices("crate::") {
                    let used: String = code[i + 7..]
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    if used == module {
                        continue;
                    }
                    match rank(&used) {
                        Some(r) if r < own => {}
                        _ => {
                            wrong.push(format!("{}:{}: {module} uses {used}", rel.display(), n + 1))
                        }
                    }
                }
            }
        }
        assert!(
            wrong.is_empty(),
            "imports that run up the layers:\n{}",
            wrong.join("\n")
        );
    }

    /// Within one stage's folder, the files that use each other through `super::FILE` form
    /// no circle (as `cli/workspace.rs` and `cli/team.rs` once did).
    #[test]
    fn files_of_a_folder_use_each_other_without_circles() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut all = Vec::new();
        files(&src, &mut all);
        let mut folders: std::collections::BTreeMap<PathBuf, Vec<PathBuf>> = Default::default();
        for f in all
            .into_iter()
            .filter(|f| f.file_name().is_some_and(|n| n != "mod.rs"))
        {
            if let Some(dir) = f.parent().filter(|d| *d != src) {
                folders.entry(dir.to_path_buf()).or_default().push(f);
            }
        }
        for (dir, files) in folders {
            let stem = |f: &PathBuf| {
                f.file_stem()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned()
            };
            let names: Vec<String> = files.iter().map(stem).collect();
            let uses: Vec<Vec<usize>> = files
                .iter()
                .map(|f| {
                    let text = std::fs::read_to_string(f).unwrap_or_default();
                    let code: String = text
                        .lines()
                        .map(|l| l.split("//").next().unwrap_or_default())
                        .collect::<Vec<_>>()
                        .join("\n");
                    (0..names.len())
                        .filter(|i| names[*i] != stem(f))
                        .filter(|i| code.contains(&format!("super::{}::", names[*i])))
                        .collect()
                })
                .collect();
            for (i, name) in names.iter().enumerate() {
                let mut seen = vec![false; names.len()];
                assert!(
                    !reaches(i, i, &uses, &mut seen),
                    "{}: {name} reaches itself through its siblings",
                    dir.display()
                );
            }
        }
    }

    /// The files a DNS provider touches are its own folder plus the registration files
    /// `docs/architecture.md` lists (between its `provider-files` markers): the second
    /// provider, the zone files, is found in exactly those.
    #[test]
    fn a_provider_touches_its_folder_and_the_listed_registration_only() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let doc = std::fs::read_to_string(root.join("docs/architecture.md")).unwrap_or_default();
        let listed: Vec<String> = doc
            .split("<!-- provider-files -->")
            .nth(1)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.trim().strip_prefix("- `"))
            .filter_map(|l| l.split('`').next())
            .map(str::to_string)
            .collect();
        assert!(
            !listed.is_empty(),
            "docs/architecture.md lists no provider files"
        );
        let mut all = Vec::new();
        files(&root.join("src"), &mut all);
        let mut touched: Vec<String> = all
            .iter()
            .filter(|f| {
                let text = std::fs::read_to_string(f).unwrap_or_default();
                ["ZoneFiles", "zonefile", "Zonefile"]
                    .iter()
                    .any(|w| text.contains(w))
            })
            .filter_map(|f| f.strip_prefix(root).ok())
            .map(|f| f.to_string_lossy().into_owned())
            .filter(|f| !f.starts_with("src/provider/zonefile/") && f != "src/lib.rs")
            .collect();
        touched.sort();
        let mut expected: Vec<String> = listed
            .into_iter()
            .filter(|f| f.starts_with("src/") && !f.contains("NAME"))
            .collect();
        expected.sort();
        assert_eq!(
            touched, expected,
            "the files the zone-file provider touches"
        );
    }

    /// Whether `to` is reachable from `from` along `uses` (depth first).
    fn reaches(from: usize, to: usize, uses: &[Vec<usize>], seen: &mut [bool]) -> bool {
        uses[from].iter().any(|&n| {
            n == to
                || (!seen[n] && {
                    seen[n] = true;
                    reaches(n, to, uses, seen)
                })
        })
    }
}
