//! `registry` blocks and a service's `images`: repositories, destinations, ECR's limits.

use super::*;

/// ECR repository names: lower-case path components of letters and digits separated by
/// `.`, `_` or `-`, joined by `/`, 2 to 256 characters.
pub fn valid_repository(name: &str) -> bool {
    (2..=256).contains(&name.len())
        && name.split('/').all(|part| {
            !part.is_empty()
                && part.split(['.', '_', '-']).all(|w| {
                    !w.is_empty()
                        && w.chars()
                            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
                })
        })
}

pub(super) fn registries(blocks: &[Block], t: &mut Topology, diags: &mut Diagnostics) {
    let mut per_source: BTreeMap<String, Vec<&Block>> = BTreeMap::new();
    let mut repos: BTreeMap<(String, String), Loc> = BTreeMap::new();
    for b in blocks {
        if let Some(registry) = registry(b, &mut per_source, &mut repos, diags) {
            t.registries.insert(registry.name.clone(), registry);
        }
    }
}

/// One `registry` block, checked against the blocks before it: the rules already counted for
/// each source region (`per_source`) and the repositories already declared (`repos`).
pub(super) fn registry<'a>(
    b: &'a Block,
    per_source: &mut BTreeMap<String, Vec<&'a Block>>,
    repos: &mut BTreeMap<(String, String), Loc>,
    diags: &mut Diagnostics,
) -> Option<Registry> {
    let name = plain_label(b, "registry", diags)?;
    let source = b.str("source").and_then(|s| {
        region_name(s, b.value_loc("source"), "source")
            .map_err(|d| diags.push(*d))
            .ok()
    });
    let (mut destinations, destinations_ok) = registry_destinations(b, source.as_ref(), diags);
    let (mut repositories, repositories_ok) =
        registry_repositories(b, source.as_ref(), repos, diags);
    let rules_ok = match &source {
        Some(src) => replication_rule_fits(b, src, per_source, diags),
        None => true,
    };
    let ok = source.is_some() && destinations_ok && repositories_ok && rules_ok;
    if !(ok && b.is_written("destinations") && b.is_written("repositories")) {
        return None;
    }
    destinations.sort();
    repositories.sort();
    Some(Registry {
        name,
        source: source.unwrap_or_default(),
        destinations,
        repositories,
        storage_gb: b.num("storage_gb"),
        loc: b.header.clone(),
    })
}

/// The registry's destination regions; the flag is false when any problem was reported.
pub(super) fn registry_destinations(
    b: &Block,
    source: Option<&String>,
    diags: &mut Diagnostics,
) -> (Vec<String>, bool) {
    let mut ok = true;
    let mut destinations: Vec<String> = Vec::new();
    let Some(list) = b.list("destinations") else {
        return (destinations, ok);
    };
    if list.is_empty() {
        ok = false;
        diags.push(
            Diagnostic::error(
                Code::RegistryDestination,
                b.value_loc("destinations"),
                "`destinations` is empty",
            )
            .label("needs at least one region"),
        );
    }
    for (d, at) in list {
        match region_name(d, at.clone(), "destination") {
            Err(diag) => {
                ok = false;
                diags.push(*diag);
            }
            Ok(d) if Some(&d) == source => {
                ok = false;
                diags.push(
                    Diagnostic::error(
                        Code::RegistryDestination,
                        at.clone(),
                        format!("destination {d} is the source region"),
                    )
                    .label("same as source")
                    .with_secondary(b.value_loc("source"), "source")
                    .help("images already live in the source region; remove it from destinations"),
                );
            }
            Ok(d) if destinations.contains(&d) => {
                ok = false;
                diags.push(
                    Diagnostic::error(
                        Code::RegistryDestination,
                        at.clone(),
                        format!("destination {d} is listed twice"),
                    )
                    .label("repeated"),
                );
            }
            Ok(d) => destinations.push(d),
        }
    }
    (destinations, ok)
}

/// The registry's repositories, each recorded in `repos` under its source region; the flag is
/// false when any problem was reported.
pub(super) fn registry_repositories(
    b: &Block,
    source: Option<&String>,
    repos: &mut BTreeMap<(String, String), Loc>,
    diags: &mut Diagnostics,
) -> (Vec<String>, bool) {
    let mut ok = true;
    let mut repositories: Vec<String> = Vec::new();
    let Some(list) = b.list("repositories") else {
        return (repositories, ok);
    };
    ok &= repository_count_fits(b, list.len(), diags);
    for (r, at) in list {
        if !valid_repository(r) {
            ok = false;
            diags.push(
                Diagnostic::error(
                    Code::RepositoryName,
                    at.clone(),
                    format!("\"{r}\" is not a valid ECR repository name"),
                )
                .label("invalid name")
                .help("use 2-256 lower-case letters, digits and . _ - /, e.g. \"team/api\""),
            );
            continue;
        }
        let Some(src) = source.cloned() else {
            continue;
        };
        let key = (src, r.clone());
        if let Some(first) = repos.get(&key) {
            ok = false;
            diags.push(
                Diagnostic::error(
                    Code::DuplicateRepository,
                    at.clone(),
                    format!("repository \"{r}\" is declared twice in {}", key.0),
                )
                .label("again")
                .with_secondary(first.clone(), "first declared here"),
            );
        } else {
            repos.insert(key, at.clone());
            repositories.push(r.clone());
        }
    }
    (repositories, ok)
}

/// Reports an empty `repositories` list or one with more filters than an ECR rule takes;
/// false when it did.
pub(super) fn repository_count_fits(b: &Block, count: usize, diags: &mut Diagnostics) -> bool {
    let mut ok = true;
    if count == 0 {
        ok = false;
        diags.push(
            Diagnostic::error(
                Code::RepositoryName,
                b.value_loc("repositories"),
                "`repositories` is empty",
            )
            .label("needs at least one repository"),
        );
    }
    if count > MAX_REPOSITORY_FILTERS {
        ok = false;
        diags.push(
            Diagnostic::error(
                Code::RepositoryFilters,
                b.value_loc("repositories"),
                format!("{count} repositories in one registry; an ECR replication rule takes at most {MAX_REPOSITORY_FILTERS} filters"),
            )
            .label("too many filters")
            .help("split the repositories over several registry blocks, or share a common prefix"),
        );
    }
    ok
}

/// Counts the block as a replication rule of its source region and reports the first rule
/// over ECR's limit; false for that rule.
pub(super) fn replication_rule_fits<'a>(
    b: &'a Block,
    src: &str,
    per_source: &mut BTreeMap<String, Vec<&'a Block>>,
    diags: &mut Diagnostics,
) -> bool {
    let rules = per_source.entry(src.to_string()).or_default();
    rules.push(b);
    if rules.len() != MAX_REPLICATION_RULES + 1 {
        return true;
    }
    diags.push(
        Diagnostic::error(
            Code::ReplicationRules,
            b.header.clone(),
            format!("more than {MAX_REPLICATION_RULES} registry blocks replicate from {src}; ECR allows {MAX_REPLICATION_RULES} rules per region"),
        )
        .label("rule 11")
        .with_secondary(rules[0].header.clone(), "first rule for this region")
        .help("merge registries that share destinations"),
    );
    false
}

/// `images`: the label of a registry of the topology.
pub(super) fn images(b: &Block, registries: &[&str], diags: &mut Diagnostics) -> Option<String> {
    let name = b.str("images")?;
    if registries.contains(&name) {
        return Some(name.to_string());
    }
    let mut d = Diagnostic::error(
        Code::Images,
        b.value_loc("images"),
        format!("`images` names \"{name}\", which is not a registry of this topology"),
    )
    .label("no such registry");
    d = match suggest(name, registries.iter().copied()) {
        Some(s) => d.help(format!("did you mean \"{s}\"?")),
        None if registries.is_empty() => {
            d.help("declare the registry: registry \"NAME\" { source = ..., destinations = [...], repositories = [...] }")
        }
        None => d.help(format!("registries: {}", registries.join(", "))),
    };
    diags.push(d);
    None
}
