//! Dependencies: `dependency` blocks, the services' `depends_on`, and the `lint` block.
//!
//! References are checked against every block written, valid or not, so a broken service does
//! not also make each reference to it "unknown" (one mistake, one diagnostic).

use super::decode::Block;
use super::names::{plain_label, region_name};
use super::{Dependency, DependencyKind, Fallback, Use};
use crate::diagnostics::rules::{Level, RuleId};
use crate::diagnostics::{suggest, Code, Diagnostic, Diagnostics};
use crate::source::Loc;
use std::collections::BTreeMap;

/// The valid `dependency` blocks by label.
pub fn dependencies(root: &Block, diags: &mut Diagnostics) -> BTreeMap<String, Dependency> {
    let mut out = BTreeMap::new();
    for b in root.blocks("dependency") {
        if let Some(d) = dependency(root, b, diags) {
            out.insert(d.name.clone(), d);
        }
    }
    out
}

fn dependency(root: &Block, b: &Block, diags: &mut Diagnostics) -> Option<Dependency> {
    let name = plain_label(b, "dependency", diags)?;
    if let Some(s) = root.blocks("service").iter().find(|s| s.label() == name) {
        diags.push(
            Diagnostic::error(
                Code::DuplicateLabel,
                b.label_loc(),
                format!("dependency \"{name}\" has the name of a service"),
            )
            .label("also a service")
            .with_secondary(s.label_loc(), "the service")
            .help("depends_on names services and dependencies alike: give the dependency another name"),
        );
        return None;
    }
    let regions = home_regions(b, diags);
    let fallback = b
        .str("fallback")
        .and_then(Fallback::parse)
        .unwrap_or(Fallback::None);
    if b.is_written("cache_ttl") && fallback != Fallback::LocalCache {
        diags.push(
            Diagnostic::error(
                Code::Dependency,
                b.loc_of("cache_ttl"),
                format!(
                    "`cache_ttl` without a local cache (fallback is \"{}\")",
                    fallback.as_str()
                ),
            )
            .label("no cache to expire")
            .help("set fallback = \"local-cache\", or remove cache_ttl"),
        );
    }
    let used_by = used_by(root, b, diags);
    Some(Dependency {
        name,
        kind: b.str("kind").and_then(DependencyKind::parse)?,
        regions: regions?,
        fallback,
        cache_ttl: b
            .dur("cache_ttl")
            .filter(|_| fallback == Fallback::LocalCache),
        cache_ttl_loc: b.field("cache_ttl").map(|f| f.loc.clone()),
        used_by,
        loc: b.label_loc(),
    })
}

/// `region` or `regions` (exactly one), as sorted AWS region names.
fn home_regions(b: &Block, diags: &mut Diagnostics) -> Option<Vec<String>> {
    let (one, many) = (b.is_written("region"), b.is_written("regions"));
    let empty = b.list("regions").is_some_and(<[_]>::is_empty);
    if one == many || empty {
        let what = match (one, many) {
            (true, true) => "a dependency with both `region` and `regions`",
            _ if empty => "a dependency with an empty `regions`",
            _ => "a dependency without `region` or `regions`",
        };
        diags.push(
            Diagnostic::error(Code::Dependency, b.label_loc(), what)
                .label("where does it live?")
                .help("region = \"us-east-1\" for one copy, regions = [\"us-east-1\", \"eu-west-1\"] for a replicated one"),
        );
        return None;
    }
    let written: Vec<(String, Loc)> = match (b.str("region"), b.list("regions")) {
        (Some(r), _) => vec![(r.to_string(), b.value_loc("region"))],
        (_, Some(list)) => list.to_vec(),
        _ => return None, // written with a wrong type: already reported
    };
    let mut ok = true;
    let mut regions = Vec::new();
    for (r, at) in written {
        match region_name(&r, at, "region") {
            Ok(r) if !regions.contains(&r) => regions.push(r),
            Ok(_) => {}
            Err(d) => {
                ok = false;
                diags.push(*d);
            }
        }
    }
    regions.sort();
    ok.then_some(regions)
}

/// The region labels of every service block written, valid or not.
fn service_labels(root: &Block) -> BTreeMap<&str, Vec<&str>> {
    root.blocks("service")
        .iter()
        .map(|s| {
            (
                s.label(),
                s.blocks("region").iter().map(Block::label).collect(),
            )
        })
        .collect()
}

fn used_by(root: &Block, b: &Block, diags: &mut Diagnostics) -> Vec<Use> {
    let services = service_labels(root);
    let mut out = Vec::new();
    for (entry, at) in b.list("used_by").unwrap_or(&[]) {
        let (service, region) = match entry.split_once(':') {
            Some((s, r)) => (s, Some(r)),
            None => (entry.as_str(), None),
        };
        let Some(labels) = services.get(service) else {
            diags.push(unknown(at, "service", service, services.keys().copied()));
            continue;
        };
        if let Some(r) = region.filter(|r| !labels.contains(r)) {
            let mut d = unknown(
                at,
                &format!("region of service \"{service}\""),
                r,
                labels.iter().copied(),
            );
            d.message = format!("service \"{service}\" has no region \"{r}\"");
            diags.push(d);
            continue;
        }
        out.push(Use {
            service: service.to_string(),
            region: region.map(str::to_string),
            loc: at.clone(),
        });
    }
    out
}

fn unknown<'a>(
    at: &Loc,
    what: &str,
    name: &str,
    candidates: impl Iterator<Item = &'a str> + Clone,
) -> Diagnostic {
    let d = Diagnostic::error(
        Code::UnknownReference,
        at.clone(),
        format!("no {what} \"{name}\" in this topology"),
    )
    .label("unknown name");
    match suggest(name, candidates.clone()) {
        Some(s) => d.help(format!("did you mean \"{s}\"?")),
        None => {
            let all: Vec<&str> = candidates.collect();
            if all.is_empty() {
                d
            } else {
                d.help(format!("known: {}", all.join(", ")))
            }
        }
    }
}

/// Each service's `depends_on` names a dependency or another service, and the services'
/// dependencies on each other form no cycle.
pub fn depends_on(root: &Block, diags: &mut Diagnostics) {
    let deps: Vec<&str> = root.blocks("dependency").iter().map(Block::label).collect();
    let services: Vec<&str> = root.blocks("service").iter().map(Block::label).collect();
    let mut edges: BTreeMap<&str, Vec<(&str, &Loc)>> = BTreeMap::new();
    for s in root.blocks("service") {
        for (name, at) in s.list("depends_on").unwrap_or(&[]) {
            if deps.contains(&name.as_str()) {
                continue;
            }
            if services.contains(&name.as_str()) {
                edges.entry(s.label()).or_default().push((name, at));
                continue;
            }
            let all = deps.iter().chain(services.iter()).copied();
            let mut d = unknown(at, "dependency or service", name, all);
            d.message = format!(
                "`depends_on` names \"{name}\", which is no dependency or service of this topology"
            );
            diags.push(d);
        }
    }
    cycles(&edges, diags);
}

/// Reports each cycle of service-to-service `depends_on` once, at the edge that closes it.
fn cycles(edges: &BTreeMap<&str, Vec<(&str, &Loc)>>, diags: &mut Diagnostics) {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Active,
        Done,
    }
    fn visit<'a>(
        n: &'a str,
        edges: &BTreeMap<&'a str, Vec<(&'a str, &'a Loc)>>,
        marks: &mut BTreeMap<&'a str, Mark>,
        path: &mut Vec<&'a str>,
        diags: &mut Diagnostics,
    ) {
        marks.insert(n, Mark::Active);
        path.push(n);
        for (m, at) in edges.get(n).map_or(&[][..], Vec::as_slice) {
            match marks.get(m) {
                Some(Mark::Active) => {
                    let start = path.iter().position(|p| p == m).unwrap_or(0);
                    let mut ring: Vec<&str> = path[start..].to_vec();
                    ring.push(m);
                    diags.push(
                        Diagnostic::error(
                            Code::DependencyCycle,
                            (*at).clone(),
                            format!("services depend on each other in a cycle: {}", ring.join(" -> ")),
                        )
                        .label("closes the cycle")
                        .help("a cycle means none of them can start or recover alone; break it (a queue, a cache, or a call that is not in the request path)"),
                    );
                }
                Some(Mark::Done) => {}
                None => visit(m, edges, marks, path, diags),
            }
        }
        path.pop();
        marks.insert(n, Mark::Done);
    }
    let mut marks = BTreeMap::new();
    for n in edges.keys() {
        if !marks.contains_key(n) {
            visit(n, edges, &mut marks, &mut Vec::new(), diags);
        }
    }
}

/// The `lint` block: each rule id at most once, among the known rules.
pub fn lint_levels(root: &Block, diags: &mut Diagnostics) -> BTreeMap<RuleId, Level> {
    let mut out: BTreeMap<RuleId, (Level, Loc)> = BTreeMap::new();
    let Some(b) = root.block("lint") else {
        return BTreeMap::new();
    };
    for (attr, level) in [
        ("allow", Level::Allow),
        ("warn", Level::Warn),
        ("deny", Level::Deny),
    ] {
        for (id, at) in b.list(attr).unwrap_or(&[]) {
            let Some(rule) = RuleId::parse(id) else {
                let mut d =
                    Diagnostic::error(Code::LintRule, at.clone(), format!("no lint rule \"{id}\""))
                        .label("unknown rule");
                if let Some(s) = suggest(id, RuleId::ALL.iter().map(|r| r.as_str())) {
                    d = d.help(format!("did you mean \"{s}\"?"));
                } else {
                    d = d.help("`meridian lint --list` shows the rules");
                }
                diags.push(d);
                continue;
            };
            if let Some((_, first)) = out.get(&rule) {
                diags.push(
                    Diagnostic::error(
                        Code::LintRule,
                        at.clone(),
                        format!("rule {id} is given two levels"),
                    )
                    .label("again here")
                    .with_secondary(first.clone(), "first here")
                    .help("keep one of them"),
                );
                continue;
            }
            out.insert(rule, (level, at.clone()));
        }
    }
    out.into_iter().map(|(k, (l, _))| (k, l)).collect()
}
